#!/bin/bash
# mdfs does not resize a write-intent bitmap while a reshape runs (the
# kernel's md_bitmap_resize), so a raid5 with an internal bitmap refuses a
# new shape with EBUSY (mdfsadm --grow says why, the log names the way
# out), changes nothing, and reshapes once the bitmap is removed.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
for i in 0 1 2 3; do truncate -s 16M "$SRC/b-$i.img"; done
"$ADM" --create "$MNT/dev/md_b" -l5 -n3 -c64 --bitmap=internal b-0.img b-1.img b-2.img 2>/dev/null
check "created with a bitmap" "+8" "$(cat "$(sys md_b bitmap/location)")"
head -c "$(stat -c %s "$MNT/dev/md_b")" /dev/urandom >"$T/data"
dd if="$T/data" of="$MNT/dev/md_b" bs=1M conv=notrunc,fsync status=none
"$ADM" "$MNT/dev/md_b" --add b-3.img >/dev/null 2>&1
check "raid_disks with a bitmap: EBUSY" "Device or resource busy" "$(sysw "$(sys md_b raid_disks)" 4)"
check "chunk_size with a bitmap: EBUSY" "Device or resource busy" "$(sysw "$(sys md_b chunk_size)" 131072)"
"$ADM" --grow "$MNT/dev/md_b" --raid-devices=4 2>"$T/err"
rc=$?
[ "$rc" -ne 0 ] && pass "--grow refused (exit $rc)" || fail "--grow took a new shape with a bitmap"
grep -q "remove it first" "$T/mdfs.log" && pass "the log says to remove the bitmap" || fail "no reason in the log"
check "nothing changed" "3 65536 none" \
  "$(cat "$(sys md_b raid_disks)") $(cat "$(sys md_b chunk_size)") $(cat "$(sys md_b reshape_position)")"
check "superblock: no reshape" "" "$(mdadm --examine "$SRC/b-0.img" 2>/dev/null | grep -i 'Reshape')"
"$ADM" --grow "$MNT/dev/md_b" --bitmap=none 2>/dev/null
check "bitmap removed" none "$(cat "$(sys md_b bitmap/location)")"
"$ADM" --grow "$MNT/dev/md_b" --raid-devices=4 2>/dev/null
"$ADM" --wait "$MNT/dev/md_b" 2>/dev/null
check "then the reshape runs" "4 none" "$(cat "$(sys md_b raid_disks)") $(cat "$(sys md_b reshape_position)")"
cmp -s -n "$(stat -c %s "$T/data")" "$T/data" "$MNT/dev/md_b" && pass "data intact" || fail "data differs"
unmount_mdfs
finish
