#!/bin/bash
# mdfsadm --grow reshapes running arrays as mdadm does on the kernel, the
# data staying readable and intact: raid5 3 -> 4 under ext4 (fsck clean,
# files intact, dev/<name> and stat see the new size), raid6 4 -> 5, raid4
# 3 -> 4, raid5 chunk 64K -> 128K and 64K -> 32K, raid5 left-symmetric ->
# left-asymmetric, raid6 5 -> 4 and raid5 4 -> 3 after truncating the
# array (--array-size, --size); each ends with the new shape in every
# superblock (no reshape bits), random data compared with cmp, and
# mismatch_cnt 0 after a check. What md refuses is refused with the
# kernel's errno and changes nothing.
. "$(dirname "$0")/lib.sh"
requires mdadm cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
. "$(dirname "$0")/lib-reshape.sh"

mount_mdfs -o assemble=none

# make NAME LEVEL N SPARES: a new array of N 16 MiB members (64K chunk)
# filled with random data kept in $T/NAME.data, plus SPARES spares added.
make() {
  local name=$1 level=$2 n=$3 spares=$4 i members=""
  for i in $(seq 0 $((n + spares - 1))); do truncate -s 16M "$SRC/$name-$i.img"; done
  for i in $(seq 0 $((n - 1))); do members="$members $name-$i.img"; done
  # shellcheck disable=SC2086
  "$ADM" --create "$MNT/dev/$name" -l"$level" -n"$n" -c64 $members 2>/dev/null
  "$ADM" --wait "$MNT/dev/$name" 2>/dev/null  # the new array's rebuild first
  head -c "$(stat -c %s "$MNT/dev/$name")" /dev/urandom >"$T/$name.data"
  dd if="$T/$name.data" of="$MNT/dev/$name" bs=1M conv=notrunc,fsync status=none
  for i in $(seq "$n" $((n + spares - 1))); do "$ADM" "$MNT/dev/$name" --add "$name-$i.img" >/dev/null 2>&1; done
}


kinds=0

# raid5 3 -> 4 under a mounted-then-unmounted ext4 (fsck reads it all).
make md_g5 5 3 1
if command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null; then
  mkfs.ext4 -q -F "$MNT/dev/md_g5" 2>/dev/null
  cp "$MNT/dev/md_g5" "$T/md_g5.data"
fi
old=$(stat -c %s "$MNT/dev/md_g5")
echo 1024 >"$(sys md_g5 sync_max)"  # held there, to look at it
"$ADM" --grow "$MNT/dev/md_g5" --raid-devices=4
check "md_g5: --grow exit status" 0 "$?"
eventually "md_g5: held at sync_max" "1024 / $(( $(cat "$(sys md_g5 component_size)") * 2 ))" cat "$(sys md_g5 sync_completed)"
check "md_g5: sync_action while it runs" reshape "$(cat "$(sys md_g5 sync_action)")"
check "md_g5: raid_disks while it runs" "4 (3)" "$(cat "$(sys md_g5 raid_disks)")"
check "md_g5: the old size while it runs" "$old" "$(stat -c %s "$MNT/dev/md_g5")"
check "md_g5: a second --grow is refused" 1 "$("$ADM" --grow "$MNT/dev/md_g5" --raid-devices=5 2>/dev/null; echo $?)"
echo max >"$(sys md_g5 sync_max)"
finished md_g5 4
check "md_g5: dev/md_g5 grew by a third" "$((old * 3 / 2))" "$(stat -c %s "$MNT/dev/md_g5")"
check "md_g5: sys/block/md_g5/size" "$((old * 3 / 2 / 512))" "$(cat "$MNT/sys/block/md_g5/size")"
if command -v e2fsck >/dev/null; then
  e2fsck -fn "$MNT/dev/md_g5" >"$T/fsck" 2>&1 && pass "md_g5: e2fsck -fn clean" || fail "md_g5: e2fsck: $(tail -3 "$T/fsck")"
fi
kinds=$((kinds + 1))

make md_g6 6 4 1
"$ADM" --grow "$MNT/dev/md_g6" --raid-devices=5
finished md_g6 5
kinds=$((kinds + 1))

make md_g4 4 3 1
"$ADM" --grow "$MNT/dev/md_g4" -n 4
finished md_g4 4
kinds=$((kinds + 1))

make md_gc 5 4 0
"$ADM" --grow "$MNT/dev/md_gc" --chunk=128
finished md_gc 4
check "md_gc: chunk_size" 131072 "$(cat "$(sys md_gc chunk_size)")"
"$ADM" --grow "$MNT/dev/md_gc" --chunk=32K
finished md_gc 4
check "md_gc: chunk_size again" 32768 "$(cat "$(sys md_gc chunk_size)")"
kinds=$((kinds + 1))

make md_gl 5 4 0
"$ADM" --grow "$MNT/dev/md_gl" --layout=left-asymmetric
finished md_gl 4
check "md_gl: layout" 0 "$(cat "$(sys md_gl layout)")"
kinds=$((kinds + 1))

# Shrinks: mdadm's order. The array is truncated first; each member must
# then give up the reshape's unit so the data can move up.
make md_s5 5 4 0
"$ADM" --grow "$MNT/dev/md_s5" --raid-devices=3 2>"$T/err"
check "md_s5: a shrink of a full array is refused" 1 "$?"
grep -q "array-size" "$T/err" && pass "md_s5: told to truncate first" || fail "md_s5: $(cat "$T/err")"
"$ADM" --grow "$MNT/dev/md_s5" --size=$(( $(cat "$(sys md_s5 component_size)") - 128 ))
"$ADM" --grow "$MNT/dev/md_s5" --array-size=$(( ($(cat "$(sys md_s5 component_size)")) * 2 ))
"$ADM" --grow "$MNT/dev/md_s5" --raid-devices=3
check "md_s5: --grow exit status" 0 "$?"
check "md_s5: reshaping backwards" backwards "$(cat "$(sys md_s5 reshape_direction)")"
finished md_s5 3
check "md_s5: the member left out is a spare" none "$(cat "$(sys md_s5 dev-md_s5-3.img/slot)")"
kinds=$((kinds + 1))

make md_s6 6 5 0
"$ADM" --grow "$MNT/dev/md_s6" --size=$(( $(cat "$(sys md_s6 component_size)") - 128 ))
"$ADM" --grow "$MNT/dev/md_s6" --array-size=$(( ($(cat "$(sys md_s6 component_size)")) * 2 ))
"$ADM" --grow "$MNT/dev/md_s6" --raid-devices=4
finished md_s6 4
kinds=$((kinds + 1))
check "reshape kinds run" 7 "$kinds"

# What md refuses.
truncate -s 16M "$SRC"/md_r1-{0,1}.img
"$ADM" --create "$MNT/dev/md_r1" -l1 -n2 md_r1-0.img md_r1-1.img 2>/dev/null
check "raid1 chunk_size: EBUSY" "Device or resource busy" "$(sysw "$(sys md_r1 chunk_size)" 131072)"
check "raid5: sync_action reshape with nothing to change: EINVAL" "Invalid argument" \
  "$(sysw "$(sys md_gl sync_action)" reshape)"
check "raid5: a chunk that is not a power of two: EINVAL" "Invalid argument" "$(sysw "$(sys md_gl chunk_size)" 98304)"
check "raid5: an unknown layout: EINVAL" "Invalid argument" "$(sysw "$(sys md_gl layout)" 7)"
check "raid5: more members than spares: EINVAL" "Invalid argument" \
  "$( (echo 6 >"$(sys md_gl raid_disks)" && echo reshape >"$(sys md_gl sync_action)") 2>&1 | sed 's/.*: //')"
echo 4 >"$(sys md_gl raid_disks)"
check "raid5: array_size above the array: E2BIG" "Argument list too long" \
  "$(sysw "$(sys md_gl array_size)" $(( $(stat -c %s "$MNT/dev/md_gl") / 1024 + 64 )))"
check "raid5: new_offset raised in a forwards reshape: EINVAL" "Invalid argument" \
  "$(sysw "$(sys md_gl dev-md_gl-0.img/new_offset)" $(( $(cat "$(sys md_gl dev-md_gl-0.img/offset)") + 128 )))"
check "raid5: new_offset into the superblock: E2BIG" "Argument list too long" \
  "$(sysw "$(sys md_gl dev-md_gl-0.img/new_offset)" 16)"
cmp -s -n "$(stat -c %s "$MNT/dev/md_gl")" "$T/md_gl.data" "$MNT/dev/md_gl" && pass "refusals changed nothing" ||
  fail "refusals changed the data"
unmount_mdfs
finish
