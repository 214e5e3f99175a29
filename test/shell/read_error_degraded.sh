#!/bin/bash
# Bad sectors on degraded and rebuilding arrays. Where a copy or enough
# parity is left (raid1 of three, raid10, raid6 down one member, and while a
# spare is rebuilt into them) the reader gets the right data and the sectors
# are rewritten; where none is (raid5 down one, raid1 down to one member)
# the read fails with EIO, never short or wrong, and md's policy without a
# bad block log (here one that cannot be written) applies: raid5 fails the member and the array is broken,
# raid1 keeps its last member and the array is broken; the rest reads on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faulty.sh"
mount_faulty
mount_mdfs -o assemble=none

# fix_case NAME LEVEL LAYOUT BAD FAILED MEMBERS...: FAILED is failed and
# removed, BAD has 32 KiB of bad sectors 8 MiB into its data.
fix_case() {
  local name=$1 level=$2 layout=$3 bad=$4 failed=$5
  shift 5
  make_array "$name" "$level" "$layout" "$@" || return 1
  "$ADM" "$MNT/dev/$name" --fail "$failed" --remove "$failed" >/dev/null 2>&1
  check "$name: degraded 1" 1 "$(md degraded)"
  bad_sectors "$bad" $((8 << 20)) 32768
  check_fixed "$name" "$bad" 32768
  check "$name: $bad in sync, still degraded 1" "in_sync 1" "$(md "dev-$bad/state") $(md degraded)"
  rule clear
}
ran=0
fix_case md_r1 raid1 - r1-0.img r1-2.img r1-0.img r1-1.img r1-2.img && ran=$((ran + 1))
fix_case md_r10 raid10 n2 r10-0.img r10-3.img r10-0.img r10-1.img r10-2.img r10-3.img && ran=$((ran + 1))
fix_case md_r6 raid6 left-symmetric r6-1.img r6-3.img r6-0.img r6-1.img r6-2.img r6-3.img && ran=$((ran + 1))

# Rebuilding: a spare is recovered up to 1 MiB (sync_max) and waits there
# while the bad sectors are read; then the recovery ends and the rebuilt
# member holds the data.
rebuild_case() {
  local name=$1 level=$2 layout=$3 bad=$4 failed=$5 spare=$6
  shift 6
  make_array "$name" "$level" "$layout" "$@" || return 1
  "$ADM" "$MNT/dev/$name" --fail "$failed" --remove "$failed" >/dev/null 2>&1
  echo 2048 >"$(sys "$name" sync_max)"
  truncate -s 16M "$BACK/$spare"
  "$ADM" "$MNT/dev/$name" --add "$spare" >/dev/null 2>&1
  eventually "$name: recovering" recover md sync_action
  bad_sectors "$bad" $((8 << 20)) 32768
  check_fixed "$name (rebuilding)" "$bad" 32768
  check "$name: still recovering, up to sync_max" "recover 2048" "$(md sync_action) $(md sync_completed | cut -d' ' -f1)"
  rule clear
  echo max >"$(sys "$name" sync_max)"
  for _ in $(seq 200); do [ "$(md sync_action)" = idle ] && break; sleep 0.05; done
  check "$name: recovered, nothing degraded" "idle 0 in_sync" "$(md sync_action) $(md degraded) $(md "dev-$spare/state")"
  # The rebuilt member alone with the others it needs: fail the bad one.
  "$ADM" "$MNT/dev/$name" --fail "$bad" >/dev/null 2>&1
  check "$name: reads back right from the rebuilt member" "$(ref_sum)" "$(read_array)"
}
rebuild_case md_b1 raid1 - b1-0.img b1-2.img b1-3.img b1-0.img b1-1.img b1-2.img && ran=$((ran + 1))
rebuild_case md_b10 raid10 n2 b10-0.img b10-3.img b10-4.img b10-0.img b10-1.img b10-2.img b10-3.img && ran=$((ran + 1))
rebuild_case md_b6 raid6 left-symmetric b6-1.img b6-3.img b6-4.img b6-0.img b6-1.img b6-2.img b6-3.img &&
  ran=$((ran + 1))

# No redundancy left: EIO, nothing short or wrong.
# eio_case NAME LEVEL LAYOUT BAD FAILED AT MEMBERS...: BAD's data at 8 MiB
# is array bytes AT.
eio_case() {
  local name=$1 level=$2 layout=$3 bad=$4 failed=$5 at=$6
  shift 6
  make_array "$name" "$level" "$layout" "$@" || return 1
  "$ADM" "$MNT/dev/$name" --fail "$failed" --remove "$failed" >/dev/null 2>&1
  local off
  off=$(data_at "$bad" $((8 << 20)))
  rule bad "$bad" "$off" 32K
  no_log "$bad"
  local got
  got=$(dd if="$MNT/dev/$name" bs=64K skip=$((at / 65536)) count=1 iflag=direct 2>&1 >"$T/got")
  check "$name: the read fails with EIO" 1 "$(grep -c 'Input/output error' <<<"$got")"
  check "$name: nothing returned" 0 "$(stat -c %s "$T/got")"
  check "$name: errors counts nothing" 0 "$(md "dev-$bad/errors")"
  rule clear
  eventually "$name: array_state broken" broken md array_state
  # What the members left hold still reads (array chunk 1 is on member 1).
  check "$name: array chunk 1 reads back" "$(dd if="$T/ref" bs=64K skip=1 count=1 status=none | sha256sum)" \
    "$(dd if="$MNT/dev/$name" bs=64K skip=1 count=1 iflag=direct status=none | sha256sum)"
}
# raid5: the member is failed too (raid5_error), two are down. Member
# chunk 128 is stripe 128, whose parity was on e5-3 and first data chunk on
# e5-0: array bytes 128 * 3 * 64 KiB.
eio_case md_e5 raid5 left-symmetric e5-0.img e5-3.img $((24 << 20)) e5-0.img e5-1.img e5-2.img e5-3.img && ran=$((ran + 1))
check "md_e5: e5-0 faulty, degraded 2" "faulty 2" "$(ARRAY=md_e5 md dev-e5-0.img/state) $(ARRAY=md_e5 md degraded)"
# raid1: the last member stays (raid1_error).
eio_case md_e1 raid1 - e1-0.img e1-1.img $((8 << 20)) e1-0.img e1-1.img && ran=$((ran + 1))
# (The bad block the failed read left is acknowledged though its log could
# not be written, as md_update_sb acknowledges after any superblock write:
# not "faulty,in_sync,blocked".)
check "md_e1: e1-0 stays in sync, degraded 1" "in_sync 1" "$(ARRAY=md_e1 md dev-e1-0.img/state) $(ARRAY=md_e1 md degraded)"
check "md_e1: a write fails with EIO" 1 \
  "$(dd if=/dev/zero of="$MNT/dev/md_e1" bs=4K count=1 oflag=direct conv=notrunc 2>&1 | grep -c 'Input/output error')"

check "every case ran" 8 $ran
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs
finish
