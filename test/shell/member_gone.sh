#!/bin/bash
# A member whose file ends early: truncated while the array runs (a plain
# file), or a read that comes back short (faulty-fs "short"). A redundant
# array fails that member (a gone disk is not rewritten: the hole would read
# back as zeros) and the reader gets the whole, right data; raid0 and linear
# answer EIO, never a short read or wrong bytes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faulty.sh"
mount_faulty
mount_mdfs -o assemble=none
ran=0

# truncated NAME LEVEL LAYOUT GONE MEMBERS...: GONE is cut to 8 MiB in
# $BACK (faulty-fs passes it through, caching nothing).
truncated() {
  local name=$1 level=$2 layout=$3 gone=$4
  shift 4
  make_array "$name" "$level" "$layout" "$@" || return 1
  truncate -s 8M "$BACK/$gone"
  check "$name: sha256sum of the array is the data's" "$(ref_sum)" "$(sha256sum <"$MNT/dev/$name" | cut -d' ' -f1)"
  check "$name: and read with direct I/O" "$(ref_sum)" "$(read_array)"
  check "$name: $gone faulty, degraded 1, nothing counted as corrected" "faulty 1 0" \
    "$(md "dev-$gone/state") $(md degraded) $(md "dev-$gone/errors")"
  check "$name: $gone was not written back to" 8388608 "$(stat -c %s "$BACK/$gone")"
}
truncated md_t1 raid1 - t1-0.img t1-0.img t1-1.img && ran=$((ran + 1))
truncated md_t10 raid10 n2 t10-0.img t10-0.img t10-1.img t10-2.img t10-3.img && ran=$((ran + 1))
truncated md_t5 raid5 left-symmetric t5-1.img t5-0.img t5-1.img t5-2.img t5-3.img && ran=$((ran + 1))
truncated md_t6 raid6 left-symmetric t6-2.img t6-0.img t6-1.img t6-2.img t6-3.img && ran=$((ran + 1))

# A short read from 4 MiB into the data of raid4's first member.
make_array md_s4 raid4 - s4-0.img s4-1.img s4-2.img s4-3.img
rule short s4-0.img "$(data_at s4-0.img $((4 << 20)))" -
check "md_s4: reads back right past a short read" "$(ref_sum)" "$(read_array)"
check "md_s4: s4-0 faulty, degraded 1" "faulty 1" "$(md dev-s4-0.img/state) $(md degraded)"
rule clear
ran=$((ran + 1))

# No redundancy: EIO where the member is gone, the data before it intact.
# eio NAME LEVEL GONE MEMBERS...: GONE is cut to 4 MiB.
eio() {
  local name=$1 level=$2 gone=$3
  shift 3
  make_array "$name" "$level" - "$@" || return 1
  truncate -s $((4 << 20)) "$BACK/$gone"
  local err bytes
  err=$(dd if="$MNT/dev/$name" bs=512K iflag=direct 2>&1 of="$T/got")
  check "$name: the read stops with EIO" 1 "$(grep -c 'Input/output error' <<<"$err")"
  bytes=$(stat -c %s "$T/got")
  check "$name: what came before is right" "$(head -c "$bytes" "$T/ref" | sha256sum)" "$(sha256sum <"$T/got")"
  check "$name: cat fails too" 1 "$(cat "$MNT/dev/$name" 2>&1 >/dev/null | grep -c 'Input/output error')"
  # A faulty-fs error on a member that is all there: EIO as well.
  truncate -s 16M "$BACK/$gone"
  rule eio "$gone" 0 -
  check "$name: an EIO member gives EIO" 1 \
    "$(dd if="$MNT/dev/$name" bs=512K iflag=direct 2>&1 of=/dev/null | grep -c 'Input/output error')"
  rule clear
  check "$name: the member stays in sync" in_sync "$(md "dev-$gone/state")"
}
eio md_lin linear lin-1.img lin-0.img lin-1.img && ran=$((ran + 1))
eio md_r0 raid0 r0-0.img r0-0.img r0-1.img && ran=$((ran + 1))

check "every case ran" 7 $ran
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs
finish
