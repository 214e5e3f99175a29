#!/bin/bash
# Write errors as md: a member that fails a write, and whose bad block log
# cannot take the range (bad_block_record.sh has one that can), is failed
# and the array goes on while its level allows (the data reads back); once
# no member can take a write (ENOSPC on all of them), the array is broken
# as the kernel's MD_BROKEN: array_state reads broken (where it would read
# clean), later writes fail with EIO, reads go on wherever a member still
# holds the data.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faulty.sh"
mount_faulty
mount_mdfs -o assemble=none
ran=0

# write_1m NAME: 1 MiB of new data at 2 MiB (also into $T/ref); the
# error's text, or nothing.
write_1m() {
  head -c 1048576 /dev/urandom >"$T/new"
  dd if="$T/new" of="$T/ref" bs=1M seek=2 conv=notrunc status=none
  dd if="$T/new" of="$MNT/dev/$1" bs=1M seek=2 oflag=direct conv=notrunc 2>&1 >/dev/null | sed -n 's/.*: //p'
}

# one_fails NAME LEVEL LAYOUT BAD MEMBERS...: ENOSPC on BAD's data only.
one_fails() {
  local name=$1 level=$2 layout=$3 bad=$4
  shift 4
  make_array "$name" "$level" "$layout" "$@" || return 1
  rule enospc "$bad" "$(data_at "$bad" 0)" -
  no_log "$bad"  # nowhere to record the range: md_error
  check "$name: the write goes through" "" "$(write_1m "$name")"
  check "$name: $bad faulty (write error seen), degraded 1" "faulty,write_error 1" "$(md "dev-$bad/state") $(md degraded)"
  check "$name: the data reads back" "$(ref_sum)" "$(read_array)"
  eventually "$name: array_state clean" clean md array_state
  rule clear
}
one_fails md_o1 raid1 - o1-1.img o1-0.img o1-1.img && ran=$((ran + 1))
one_fails md_o10 raid10 n2 o10-2.img o10-0.img o10-1.img o10-2.img o10-3.img && ran=$((ran + 1))
one_fails md_o5 raid5 left-symmetric o5-0.img o5-0.img o5-1.img o5-2.img o5-3.img && ran=$((ran + 1))
one_fails md_o6 raid6 left-symmetric o6-3.img o6-0.img o6-1.img o6-2.img o6-3.img && ran=$((ran + 1))

# all_fail NAME LEVEL LAYOUT WANT MEMBERS...: ENOSPC on every member's data;
# WANT is the first write's error.
all_fail() {
  local name=$1 level=$2 layout=$3 want=$4
  shift 4
  make_array "$name" "$level" "$layout" "$@" || return 1
  local m
  for m in "$@"; do rule enospc "$m" "$(data_at "$m" 0)" -; no_log "$m"; done
  check "$name: the write fails: $want" "$want" "$(write_1m "$name")"
  eventually "$name: array_state broken" broken md array_state
  check "$name: a later write fails with EIO" "Input/output error" "$(write_1m "$name")"
  check "$name: a faulty write answers EBUSY" "Device or resource busy" "$(sysw "$(sys "$name" "dev-$1/state")" faulty)"
  rule clear
  check "$name: and EIO still, the array stays broken" "Input/output error broken" "$(write_1m "$name") $(md array_state)"
}
# first_64k NAME: the hash of array bytes [0, 64 KiB) (never rewritten),
# or the read's error.
first_64k() {
  local err
  err=$(dd if="$MNT/dev/$1" of="$T/got" bs=64K count=1 iflag=direct 2>&1 status=none) &&
    sha256sum <"$T/got" | cut -d' ' -f1 || echo "${err##*: }"
}
# raid1 keeps its last member (raid1_error); the write fails with EIO.
all_fail md_a1 raid1 - "Input/output error" a1-0.img a1-1.img && ran=$((ran + 1))
# The kept one keeps its range in memory, acknowledged though its log was
# not written (md_update_sb acknowledges after the superblock writes, a
# failed one meeting md_error): state_show shows it in sync, not blocked.
check "md_a1: one member failed, the last one kept" "faulty,write_error in_sync,write_error 1" \
  "$(ARRAY=md_a1 md dev-a1-0.img/state) $(ARRAY=md_a1 md dev-a1-1.img/state) $(ARRAY=md_a1 md degraded)"
check "md_a1: reads go on" "$(head -c 65536 "$T/ref" | sha256sum | cut -d' ' -f1)" "$(first_64k md_a1)"
# raid5 fails every member whose write failed (raid5_error), all four.
all_fail md_a5 raid5 left-symmetric "Input/output error" a5-0.img a5-1.img a5-2.img a5-3.img && ran=$((ran + 1))
check "md_a5: degraded 4, mdstat [4/0]" "4 [4/0] [____]" \
  "$(ARRAY=md_a5 md degraded) $(grep -A1 '^md_a5 :' "$MNT/proc/mdstat" | grep -o '\[4/0\] \[____\]')"
check "md_a5: nothing left to read: EIO" "Input/output error" "$(first_64k md_a5)"

# A member whose flush fails is failed like one that fails a write: through
# fsync(2) of the array, and when the array stops (whose superblocks then
# list it faulty).
make_array md_f1 raid1 - f1-0.img f1-1.img f1-2.img
rule fsync f1-0.img
check "md_f1: an fsync goes through" "" \
  "$(dd if=/dev/zero of="$MNT/dev/md_f1" bs=4K count=1 conv=notrunc,fsync 2>&1 >/dev/null | sed -n 's/.*: //p')"
check "md_f1: f1-0 faulty, degraded 1" "faulty 1" "$(md dev-f1-0.img/state) $(md degraded)"
rule fsync f1-1.img
check "md_f1: the stop answers" ok "$(timeout 30 bash -c "$(declare -f sysw); sysw '$(sys md_f1 array_state)' inactive")"
rule clear
check "md_f1: f1-2's superblock has f1-0 and f1-1 failed" "..A" \
  "$(mdadm --examine "$BACK/f1-2.img" 2>/dev/null | sed -n 's/^ *Array State : \([.A]*\) .*/\1/p')"
ran=$((ran + 1))

check "every case ran" 7 $ran
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs
finish
