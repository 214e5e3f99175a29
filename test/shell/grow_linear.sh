#!/bin/bash
# A running linear array grows by a member appended at its end, as md's
# linear_add: mdfsadm --grow DEV --add NEW makes it the last role at once;
# dev/<name>, sys/block/<name>/size and stat see the new size; the old
# data is intact, new data written past the old end reads back, ext4
# grown into it (resize2fs) is e2fsck clean; every superblock records the
# new count (mdadm --examine) and the array reassembles with it. What md
# refuses: --add on another level, and slots other than the next role
# (ENOSPC past it, EBUSY on a role in use; raid0: EINVAL).
. "$(dirname "$0")/lib.sh"
requires mdadm cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}

mount_mdfs -o assemble=none
D=$MNT/dev/md_l

truncate -s 16M "$SRC/l0.img"
truncate -s 8M "$SRC/l1.img"
truncate -s 12M "$SRC/l2.img"
truncate -s 8M "$SRC/l3.img"
"$ADM" --create "$D" -l linear -n2 l0.img l1.img 2>/dev/null
old=$(stat -c %s "$D")
have_ext4=no
if command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null && command -v resize2fs >/dev/null; then
  mkfs.ext4 -q -F "$D" 2>/dev/null && have_ext4=yes
  echo "kept across the append" >"$T/kept"
  debugfs -w -R "write $T/kept kept" "$D" >/dev/null 2>&1
else
  head -c "$old" /dev/urandom | dd of="$D" bs=1M conv=notrunc,fsync status=none
fi
cp "$D" "$T/ref"

"$ADM" --grow "$D" --add l2.img 2>"$T/err"
check "--grow --add: exit 0" 0 "$?"
new=$(stat -c %s "$D")
check "raid_disks 3, l2 in role 2" "3 2" "$(cat "$(sys md_l raid_disks)") $(cat "$(sys md_l dev-l2.img/slot)")"
l2=$(( $(cat "$(sys md_l dev-l2.img/size)") * 1024 ))
check "the size grew by l2's data size" "$((old + l2))" "$new"
[ "$l2" -ge $((10 * 1024 * 1024)) ] && pass "l2 gives nearly all of its 12 MiB" || fail "l2 gives $l2 bytes"
check "sys/block/md_l/size" "$((new / 512))" "$(cat "$MNT/sys/block/md_l/size")"
cmp -s -n "$old" "$D" "$T/ref" && pass "the old data intact" || fail "the old data differs"
head -c $((l2 - 4096)) /dev/urandom >"$T/tail"
dd if="$T/tail" of="$D" bs=4096 seek=$((old / 4096 + 1)) conv=notrunc,fsync status=none
cmp -s -i 0:$((old + 4096)) -n $((l2 - 4096)) "$T/tail" "$D" && pass "data past the old end reads back" ||
  fail "data past the old end differs"
check "every superblock says 3" "3 3 3" \
  "$(for f in l0 l1 l2; do mdadm --examine "$SRC/$f.img" 2>/dev/null | sed -n 's/^ *Raid Devices : //p'; done | xargs)"
mdadm --examine "$SRC/l2.img" 2>/dev/null | grep -q "Device Role : Active device 2" && pass "l2's superblock: role 2" ||
  fail "l2: $(mdadm --examine "$SRC/l2.img" 2>&1 | grep Role)"

# What md refuses, with a spare added through new_dev.
echo l3.img >"$(sys md_l new_dev)"
check "slot past the next role: ENOSPC" "No space left on device" "$(sysw "$(sys md_l dev-l3.img/slot)" 4)"
check "slot of a role in use: EBUSY" "Device or resource busy" "$(sysw "$(sys md_l dev-l3.img/slot)" 1)"
check "refusals: raid_disks, size" "3 $new" "$(cat "$(sys md_l raid_disks)") $(stat -c %s "$D")"
echo remove >"$(sys md_l dev-l3.img/state)"
truncate -s 8M "$SRC"/r0-{0,1}.img "$SRC/r1-0.img" "$SRC/r1-1.img"
"$ADM" --create "$MNT/dev/md_r1" -l1 -n2 r1-0.img r1-1.img 2>/dev/null
"$ADM" --grow "$MNT/dev/md_r1" --add l3.img 2>"$T/err"
check "--grow --add on raid1: exit 1" 1 "$?"
check "--grow --add on raid1: mdadm's message" "mdfsadm: can only add devices to linear arrays" "$(cat "$T/err")"
"$ADM" --create "$MNT/dev/md_r0" -l0 -n2 r0-0.img r0-1.img 2>/dev/null
mdadm --zero-superblock "$SRC/l3.img" 2>/dev/null  # md_l's spare superblock
echo l3.img >"$(sys md_r0 new_dev)"
check "raid0: a slot: EINVAL" "Invalid argument" "$(sysw "$(sys md_r0 dev-l3.img/slot)" 2)"
echo remove >"$(sys md_r0 dev-l3.img/state)"

# ext4 grown into the new space; reassembled with the new count.
if [ "$have_ext4" = yes ]; then
  dd if="$T/ref" of="$D" bs=1M conv=notrunc,fsync status=none  # the tail test overwrote nothing ext4 used
  resize2fs "$D" >"$T/resize" 2>&1 && pass "resize2fs into the new space" || fail "resize2fs: $(tail -2 "$T/resize")"
  e2fsck -fn "$D" >"$T/fsck" 2>&1 && pass "e2fsck -fn clean" || fail "e2fsck: $(tail -3 "$T/fsck")"
fi
cp "$D" "$T/ref2"
"$ADM" --stop "$D" 2>/dev/null
eventually "stopped" no exists md_l
"$ADM" --assemble "$D" l0.img l1.img l2.img 2>/dev/null
check "reassembled: raid_disks, size" "3 $new" "$(cat "$(sys md_l raid_disks)") $(stat -c %s "$D")"
cmp -s "$D" "$T/ref2" && pass "reassembled: data intact" || fail "reassembled: data differs"
if [ "$have_ext4" = yes ]; then
  check "the file written before the append" "kept across the append" "$(debugfs -R "cat kept" "$D" 2>/dev/null)"
fi
unmount_mdfs
finish
