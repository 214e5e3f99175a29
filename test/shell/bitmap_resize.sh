#!/bin/bash
# A write-intent bitmap follows the array's size (md_bitmap_resize, as
# raid1_resize and raid5_resize call it): `mdfsadm --grow --size` on an
# array with a bitmap resizes it instead of refusing. The chunks dirty
# before the resize stay dirty after it (a member removed before it is
# re-added and recovers them), the space a grow adds is set for its
# resync, a shrink drops the bits past the new end, and a raid5 grows
# with its data kept and its parity checked clean.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
md() { cat "$(sys md0 "$1")"; }
bits() { "$ADM" -X "$SRC/$1" 2>/dev/null | sed -n 's/^ *Bitmap : \([0-9]*\) bits (chunks), \([0-9]*\) dirty.*/\1 \2/p'; }
sync_size() { "$ADM" -X "$SRC/$1" 2>/dev/null | sed -n 's/^ *Sync Size : \([0-9]*\).*/\1/p'; }
# clean NAME: the bitmap's lazy clearing has run (time_base 1 s).
clean() {
  for _ in $(seq 50); do [ "$(bits "$1" | cut -d' ' -f2)" = 0 ] && return 0; sleep 0.2; done
  fail "$1: the bitmap never cleared: $(bits "$1")"
}
mount_mdfs -o assemble=none

# raid1, 1 MiB chunks, 8 MiB used of 32 MiB members.
truncate -s 32M "$SRC"/a.img "$SRC"/b.img
"$ADM" -CR --assume-clean "$MNT/dev/md0" -l1 -n2 --size=8M --bitmap=internal --bitmap-chunk=1M a.img b.img 2>/dev/null
echo 1 >"$(sys md0 bitmap/time_base)"
clean a.img
check "raid1: 8 chunks, all clean" "8 0" "$(bits a.img)"
sysw "$(sys md0 dev-b.img/state)" faulty >/dev/null
sysw "$(sys md0 dev-b.img/state)" remove >/dev/null
head -c 1M /dev/urandom >"$T/w"
dd if="$T/w" of="$MNT/dev/md0" bs=1M seek=2 conv=notrunc,fsync status=none
check "degraded: the written chunk dirty" "8 1" "$(bits a.img)"
"$ADM" --grow "$MNT/dev/md0" --size=max 2>"$T/err"
check "--grow --size=max with a bitmap: done" "0 " "$? $(cat "$T/err")"
check "component_size" 31744 "$(md component_size)"
check "the bitmap tracks the new size" 31744 "$(sync_size a.img)"
check "the dirty chunk kept, the 23 new chunks set" "31 24" "$(bits a.img)"
check "mdadm reads the new size from the superblock" 31744 "$(mdadm --examine "$SRC/a.img" | sed -n 's/^ *Array Size : \([0-9]*\) .*/\1/p')"
"$ADM" "$MNT/dev/md0" --re-add b.img 2>/dev/null
check "the removed member re-added" 0 $?
"$ADM" --wait "$MNT/dev/md0" 2>/dev/null
clean a.img
check "in sync, nothing degraded" "idle 0" "$(md sync_action) $(md degraded)"
cmp -s <(dd if="$SRC/a.img" bs=1M skip=1 count=31 status=none) <(dd if="$SRC/b.img" bs=1M skip=1 count=31 status=none) &&
  pass "the members agree over the grown array" || fail "the members differ"
cmp -s "$T/w" <(dd if="$MNT/dev/md0" bs=1M skip=2 count=1 status=none) && pass "the degraded write reads back" ||
  fail "the degraded write is lost"
echo check >"$(sys md0 sync_action)"
"$ADM" --wait "$MNT/dev/md0" 2>/dev/null
check "check: mismatch_cnt 0" 0 "$(md mismatch_cnt)"

# Shrink: the bits past the new end go with it.
dd if=/dev/urandom of="$MNT/dev/md0" bs=1M seek=20 count=1 conv=notrunc,fsync status=none
"$ADM" --grow "$MNT/dev/md0" --size=16M 2>/dev/null
check "--size=16M: done" "0 16384 16384" "$? $(md component_size) $(sync_size a.img)"
check "16 chunks" 16 "$(bits a.img | cut -d' ' -f1)"
"$ADM" -S "$MNT/dev/md0" 2>/dev/null

# raid5 of 3: grown with its bitmap, the data kept, parity checked.
truncate -s 24M "$SRC"/r{0,1,2}.img
"$ADM" -CR --assume-clean "$MNT/dev/md1" -l5 -n3 -c64 --size=8M --bitmap=internal r0.img r1.img r2.img 2>/dev/null
head -c "$(stat -c %s "$MNT/dev/md1")" /dev/urandom >"$T/r5"
dd if="$T/r5" of="$MNT/dev/md1" bs=1M conv=notrunc,fsync status=none
"$ADM" --grow "$MNT/dev/md1" --size=max 2>/dev/null
check "raid5 --size=max with a bitmap: done" 0 $?
"$ADM" --wait "$MNT/dev/md1" 2>/dev/null
check "raid5: grown" 23552 "$(cat "$(sys md1 component_size)")"
check "raid5: the bitmap tracks it" 23552 "$(sync_size r0.img)"
cmp -s "$T/r5" <(head -c "$(stat -c %s "$T/r5")" "$MNT/dev/md1") && pass "raid5: the data kept" || fail "raid5: data changed"
echo check >"$(sys md1 sync_action)"
"$ADM" --wait "$MNT/dev/md1" 2>/dev/null
check "raid5: check: mismatch_cnt 0" 0 "$(cat "$(sys md1 mismatch_cnt)")"
unmount_mdfs
finish
