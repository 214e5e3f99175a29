#!/bin/bash
# raid10 reshapes, as md runs them (raid10.c's reshape_request): each
# member's data moves to a new data_offset (new_offset) while the array
# changes shape, no backup. mdfsadm --grow -n takes a near=2 array of 4
# members to 5 (held at sync_max while reads and writes go to both sides
# of the reshape position), 4 -> 5 under ext4 (e2fsck -fn clean, a file
# written before reads back after), 4 -> 6 and a chunk change 64K -> 128K with random data
# compared by cmp, near=2 -> offset=2, and 5 -> 4 after truncating the
# array; each ends with the new shape in every superblock, no reshape
# bits, mismatch_cnt 0 after a check. What md refuses is refused with the
# kernel's errno and changes nothing: far layouts, a change in the number
# of copies, a reshape whose data offsets do not move a chunk.
. "$(dirname "$0")/lib.sh"
requires mdadm cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
. "$(dirname "$0")/lib-reshape.sh"

mount_mdfs -o assemble=none

# make NAME N SPARES [LAYOUT]: a new raid10 of N 16 MiB members (64K
# chunk) filled with random data kept in $T/NAME.data, plus SPARES spares.
make() {
  local name=$1 n=$2 spares=$3 layout=${4:-n2} i members=""
  for i in $(seq 0 $((n + spares - 1))); do truncate -s 16M "$SRC/$name-$i.img"; done
  for i in $(seq 0 $((n - 1))); do members="$members $name-$i.img"; done
  # shellcheck disable=SC2086
  "$ADM" --create "$MNT/dev/$name" -l10 -n"$n" -p"$layout" -c64 $members 2>"$T/create.err" ||
    fail "$name: create: $(cat "$T/create.err")"
  settled "$name"
  head -c "$(stat -c %s "$MNT/dev/$name")" /dev/urandom >"$T/$name.data"
  dd if="$T/$name.data" of="$MNT/dev/$name" bs=1M conv=notrunc,fsync status=none
  for i in $(seq "$n" $((n + spares - 1))); do "$ADM" "$MNT/dev/$name" --add "$name-$i.img" >/dev/null 2>&1; done
}


kinds=0

# 4 -> 5 held at sync_max: I/O on both sides of the position.
make md_a 4 1
old=$(stat -c %s "$MNT/dev/md_a")
offset0=$(cat "$(sys md_a dev-md_a-0.img/offset)")
echo 4096 >"$(sys md_a sync_max)"
"$ADM" --grow "$MNT/dev/md_a" --raid-devices=5
check "md_a: --grow exit status" 0 "$?"
eventually "md_a: held at sync_max" "4096 / $((old * 5 / 4 / 512))" cat "$(sys md_a sync_completed)"
check "md_a: sync_action while it runs" reshape "$(cat "$(sys md_a sync_action)")"
check "md_a: raid_disks while it runs" "5 (4)" "$(cat "$(sys md_a raid_disks)")"
check "md_a: reshape_position" 4096 "$(cat "$(sys md_a reshape_position)")"
check "md_a: the old size while it runs" "$old" "$(stat -c %s "$MNT/dev/md_a")"
check "md_a: new_offset a chunk down" "$((offset0 - 128))" "$(cat "$(sys md_a dev-md_a-0.img/new_offset)")"
mdadm --examine "$SRC/md_a-0.img" >"$T/examine" 2>&1
grep -qE "Reshape pos'n : 2048([^0-9]|$)" "$T/examine" && pass "md_a: superblock records the position" ||
  fail "md_a: examine: $(grep -i reshape "$T/examine")"
grep -q "Delta Devices : 1 (4->5)" "$T/examine" && pass "md_a: superblock records the delta" ||
  fail "md_a: examine: $(grep -i delta "$T/examine")"
cmp -s "$T/md_a.data" "$MNT/dev/md_a" && pass "md_a: reads right on both sides of the position" ||
  fail "md_a: reads differ mid-reshape"
# Writes below, across and above the position (in sectors: 4096).
head -c 3M /dev/urandom >"$T/patch"
dd if="$T/patch" of="$MNT/dev/md_a" bs=512 seek=2048 conv=notrunc,fsync status=none
dd if="$T/patch" of="$T/md_a.data" bs=512 seek=2048 conv=notrunc status=none
cmp -s "$T/md_a.data" "$MNT/dev/md_a" && pass "md_a: a write across the position reads back" ||
  fail "md_a: a write across the position differs"
echo max >"$(sys md_a sync_max)"
finished md_a 5
check "md_a: dev/md_a grew by a quarter" "$((old * 5 / 4))" "$(stat -c %s "$MNT/dev/md_a")"
check "md_a: data_offset moved" "$((offset0 - 128))" "$(cat "$(sys md_a dev-md_a-0.img/offset)")"
kinds=$((kinds + 1))

# ext4 through the whole reshape: mkfs, files, grow, fsck, files compared.
make md_e 4 1
if command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null && command -v debugfs >/dev/null; then
  mkfs.ext4 -q -F "$MNT/dev/md_e" 2>/dev/null
  head -c 5M /dev/urandom >"$T/file"
  debugfs -w -R "write $T/file f" "$MNT/dev/md_e" >/dev/null 2>&1
  "$ADM" --grow "$MNT/dev/md_e" -n 5
  "$ADM" --wait "$MNT/dev/md_e" 2>/dev/null
  check "md_e: reshaped" "none 5" "$(cat "$(sys md_e reshape_position)") $(cat "$(sys md_e raid_disks)")"
  e2fsck -fn "$MNT/dev/md_e" >"$T/fsck" 2>&1 && pass "md_e: e2fsck -fn clean" || fail "md_e: e2fsck: $(tail -3 "$T/fsck")"
  debugfs -R "dump f $T/file.back" "$MNT/dev/md_e" >/dev/null 2>&1
  cmp -s "$T/file" "$T/file.back" && pass "md_e: the file survives" || fail "md_e: the file differs"
  kinds=$((kinds + 1))
else
  fail "mkfs.ext4, e2fsck and debugfs are needed"
fi

make md_b 4 2
"$ADM" --grow "$MNT/dev/md_b" --raid-devices=6
finished md_b 6
kinds=$((kinds + 1))

make md_c 4 0
"$ADM" --grow "$MNT/dev/md_c" --chunk=128
finished md_c 4
check "md_c: chunk_size" 131072 "$(cat "$(sys md_c chunk_size)")"
kinds=$((kinds + 1))

make md_o 4 0
"$ADM" --grow "$MNT/dev/md_o" --layout=o2
finished md_o 4
check "md_o: layout offset=2" $((0x10201)) "$(cat "$(sys md_o layout)")"
kinds=$((kinds + 1))

# 5 -> 4: the array truncated first; the data moves up (backwards).
make md_s 5 0
size4=$(( $(cat "$(sys md_s component_size)") * 2 - 64 * 2 ))
"$ADM" --grow "$MNT/dev/md_s" --raid-devices=4 2>"$T/err"
check "md_s: a shrink of a full array is refused" 1 "$?"
grep -q "array-size" "$T/err" && pass "md_s: told to truncate first" || fail "md_s: $(cat "$T/err")"
want=$(sed -n 's/.*--array-size \([0-9][0-9]*\).*/\1/p' "$T/err")
"$ADM" --grow "$MNT/dev/md_s" --array-size="$want"
"$ADM" --grow "$MNT/dev/md_s" --raid-devices=4
check "md_s: --grow exit status" 0 "$?"
check "md_s: reshaping backwards" backwards "$(cat "$(sys md_s reshape_direction)")"
finished md_s 4
check "md_s: the member left out is a spare" none "$(cat "$(sys md_s dev-md_s-4.img/slot)")"
[ "$want" -le "$size4" ] && pass "md_s: the new size fits" || fail "md_s: $want > $size4"
kinds=$((kinds + 1))
check "raid10 reshape kinds run" 6 "$kinds"

# What md refuses.
make md_f 4 1 f2
check "far copies: raid_disks EINVAL" "Invalid argument" "$(sysw "$(sys md_f raid_disks)" 5)"
"$ADM" --grow "$MNT/dev/md_f" -n 5 2>"$T/err"
check "far copies: --grow refused" 1 "$?"
grep -q "far-mode" "$T/err" && pass "far copies: says why" || fail "far copies: $(cat "$T/err")"
check "near=2 -> near=3: layout EINVAL" "Invalid argument" "$(sysw "$(sys md_c layout)" $((0x103)))"
check "near=2 -> far=2: layout EINVAL" "Invalid argument" "$(sysw "$(sys md_c layout)" $((0x201)))"
check "a chunk not a power of two: EINVAL" "Invalid argument" "$(sysw "$(sys md_c chunk_size)" 98304)"
truncate -s 16M "$SRC/md_c-4.img"
"$ADM" "$MNT/dev/md_c" --add md_c-4.img >/dev/null 2>&1
echo 5 >"$(sys md_c raid_disks)"
check "data offsets not moved: sync_action reshape EINVAL" "Invalid argument" "$(sysw "$(sys md_c sync_action)" reshape)"
check "md_c: still idle" "none idle" "$(cat "$(sys md_c reshape_position)") $(cat "$(sys md_c sync_action)")"
cmp -s -n "$(stat -c %s "$MNT/dev/md_c")" "$T/md_c.data" "$MNT/dev/md_c" && pass "refusals changed nothing" ||
  fail "refusals changed the data"
unmount_mdfs
finish
