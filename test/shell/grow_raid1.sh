#!/bin/bash
# raid1 mirrors added and removed on a running array, as the kernel's
# raid1_reshape: mdfsadm --grow --raid-devices=3 with a spare gives a
# third mirror that recovery fills (the two first mirrors failed and
# removed, the new one alone reads the ext4 back, e2fsck clean); a grow
# without spares needs --force and leaves an empty slot that an --add
# fills; a shrink while every mirror is in use is EBUSY (mdfsadm exits 1,
# nothing changed); after a --fail/--remove the shrink renumbers the
# mirrors left from 0 (rd0 follows); every superblock, v1.2 and 0.90,
# records the new count (mdadm --examine), the array reassembles with it,
# and raid_disks answers the kernel's errnos (EINVAL, EROFS, EBUSY during
# a recovery).
. "$(dirname "$0")/lib.sh"
requires mdadm cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}

mount_mdfs -o assemble=none
D=$MNT/dev/md_m

for i in 0 1 2 3 4 5; do truncate -s 24M "$SRC/m$i.img"; done
"$ADM" --create "$D" -l1 -n2 m0.img m1.img 2>/dev/null
settled md_m
have_ext4=no
if command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null; then
  mkfs.ext4 -q -F "$D" 2>/dev/null && have_ext4=yes
else
  head -c "$(stat -c %s "$D")" /dev/urandom | dd of="$D" bs=1M conv=notrunc,fsync status=none
fi
cp "$D" "$T/ref"
size=$(stat -c %s "$D")

# raid_disks of each member's superblock, as mdadm reads it.
examined() {
  local f out=""
  for f in "$@"; do out="$out $(mdadm --examine "$SRC/$f" 2>/dev/null | sed -n 's/^ *Raid Devices : //p')"; done
  echo "${out# }"
}

# Grow with a spare: the spare takes the new mirror and is rebuilt.
"$ADM" "$D" --add m2.img >/dev/null 2>&1
"$ADM" --grow "$D" --raid-devices=3 2>"$T/err"
check "--grow -n 3: exit 0, mdadm's line" "0 mdfsadm: raid_disks for $D set to 3" "$? $(cat "$T/err")"
"$ADM" --wait "$D" 2>/dev/null
check "-n 3: raid_disks, degraded, the spare's slot" "3 0 2" \
  "$(cat "$(sys md_m raid_disks)") $(cat "$(sys md_m degraded)") $(cat "$(sys md_m dev-m2.img/slot)")"
grep -q "\[3/3\] \[UUU\]" "$MNT/proc/mdstat" && pass "-n 3: mdstat [3/3] [UUU]" || fail "-n 3: $(cat "$MNT/proc/mdstat")"
check "-n 3: every superblock says 3" "3 3 3" "$(examined m0.img m1.img m2.img)"
check "-n 3: the size is the same" "$size" "$(stat -c %s "$D")"
# The new mirror alone holds everything.
"$ADM" "$D" --fail m0.img --remove m0.img >/dev/null 2>&1
"$ADM" "$D" --fail m1.img --remove m1.img >/dev/null 2>&1
check "the new mirror alone: degraded, its slot" "2 2" "$(cat "$(sys md_m degraded)") $(cat "$(sys md_m dev-m2.img/slot)")"
cmp -s "$D" "$T/ref" && pass "the new mirror alone reads the data" || fail "the new mirror alone: data differs"
if [ "$have_ext4" = yes ]; then
  e2fsck -fn "$D" >"$T/fsck" 2>&1 && pass "the new mirror alone: e2fsck -fn clean" || fail "e2fsck: $(tail -3 "$T/fsck")"
fi

# Shrinking below the mirrors in use: EBUSY, nothing changed. With one
# mirror left in role 2, 3 -> 1 is allowed and renumbers it to role 0.
check "-n 0: EINVAL" "Invalid argument" "$(sysw "$(sys md_m raid_disks)" 0)"
check "garbage: EINVAL" "Invalid argument" "$(sysw "$(sys md_m raid_disks)" two)"
"$ADM" --grow "$D" -n 1 2>"$T/err"
check "-n 1 with one mirror left: exit 0" 0 "$?"
check "-n 1: raid_disks, the mirror's slot" "1 0 0" \
  "$(cat "$(sys md_m raid_disks)") $(cat "$(sys md_m degraded)") $(cat "$(sys md_m dev-m2.img/slot)")"
mdadm --examine "$SRC/m2.img" 2>/dev/null | grep -q "Device Role : Active device 0" && pass "-n 1: m2's superblock: role 0" ||
  fail "-n 1: $(mdadm --examine "$SRC/m2.img" 2>&1 | grep Role)"
cmp -s "$D" "$T/ref" && pass "-n 1: data intact" || fail "-n 1: data differs"
check "-n 1: rd0 links to the mirror left" dev-m2.img "$(readlink "$MNT/sys/block/md_m/md/rd0")"
check "-n 1: no rd2 left" no "$([ -e "$MNT/sys/block/md_m/md/rd2" ] && echo yes || echo no)"

# Growing without spares: mdadm's refusal, then --force: an empty slot.
"$ADM" --grow "$D" -n 2 2>"$T/err"
check "-n 2 without a spare: exit 1" 1 "$?"
grep -q "Need 1 spare to avoid degraded array, and only have 0" "$T/err" && pass "-n 2: mdadm's message" ||
  fail "-n 2: $(cat "$T/err")"
check "-n 2 refused: raid_disks unchanged" 1 "$(cat "$(sys md_m raid_disks)")"
"$ADM" --grow "$D" -n 2 --force 2>/dev/null
check "-n 2 --force: raid_disks, degraded" "2 1" "$(cat "$(sys md_m raid_disks)") $(cat "$(sys md_m degraded)")"
grep -q "\[2/1\] \[U_\]" "$MNT/proc/mdstat" && pass "-n 2 --force: mdstat [2/1] [U_]" || fail "mdstat: $(cat "$MNT/proc/mdstat")"
# A recovery held at sync_max: raid_disks is EBUSY while it runs.
echo 2048 >"$(sys md_m sync_max)"
mdadm --zero-superblock "$SRC/m3.img" 2>/dev/null
"$ADM" "$D" --add m3.img >/dev/null 2>&1
eventually "the added member recovers" recover cat "$(sys md_m sync_action)"
check "raid_disks during a recovery: EBUSY" "Device or resource busy" "$(sysw "$(sys md_m raid_disks)" 3)"
echo max >"$(sys md_m sync_max)"
"$ADM" --wait "$D" 2>/dev/null
check "the empty slot filled: degraded, m3's slot" "0 1" "$(cat "$(sys md_m degraded)") $(cat "$(sys md_m dev-m3.img/slot)")"

# 2 -> 1 with both mirrors in use: EBUSY, through the attribute and mdfsadm.
check "2 -> 1 in use: EBUSY" "Device or resource busy" "$(sysw "$(sys md_m raid_disks)" 1)"
"$ADM" --grow "$D" -n 1 2>"$T/err"
check "mdfsadm -n 1 in use: exit 1" 1 "$?"
grep -q "Device or resource busy" "$T/err" && pass "mdfsadm -n 1: says why" || fail "mdfsadm -n 1: $(cat "$T/err")"
check "refused: raid_disks, degraded" "2 0" "$(cat "$(sys md_m raid_disks)") $(cat "$(sys md_m degraded)")"
check "refused: superblocks" "2 2" "$(examined m2.img m3.img)"

# Read-only: EROFS.
"$ADM" --readonly "$D" 2>/dev/null
check "read-only: EROFS" "Read-only file system" "$(sysw "$(sys md_m raid_disks)" 3)"
"$ADM" --readwrite "$D" 2>/dev/null

# Reassembled, the array has the new count and the data; m3 alone too.
"$ADM" --stop "$D" 2>/dev/null
eventually "stopped" no exists md_m
"$ADM" --assemble "$D" m2.img m3.img 2>/dev/null
check "reassembled: raid_disks, degraded" "2 0" "$(cat "$(sys md_m raid_disks)") $(cat "$(sys md_m degraded)")"
cmp -s "$D" "$T/ref" && pass "reassembled: data intact" || fail "reassembled: data differs"
"$ADM" "$D" --fail m2.img --remove m2.img >/dev/null 2>&1
cmp -s "$D" "$T/ref" && pass "the recovered member alone reads the data" || fail "m3 alone: data differs"

# With a write-intent bitmap the count changes too (no data moves).
"$ADM" --create "$MNT/dev/md_b" -l1 -n2 --bitmap=internal m4.img m5.img 2>/dev/null
settled md_b
"$ADM" --grow "$MNT/dev/md_b" -n 3 --force 2>/dev/null
check "with a bitmap: -n 3" "3 1" "$(cat "$(sys md_b raid_disks)") $(cat "$(sys md_b degraded)")"

# 0.90 superblocks record the new count too (their disk table renumbered).
truncate -s 16M "$SRC"/z{0,1,2}.img
"$ADM" --create "$MNT/dev/md_z" -e 0.90 -l1 -n2 z0.img z1.img 2>/dev/null
settled md_z
"$ADM" "$MNT/dev/md_z" --add z2.img >/dev/null 2>&1
"$ADM" --grow "$MNT/dev/md_z" -n 3 2>/dev/null
"$ADM" --wait "$MNT/dev/md_z" 2>/dev/null
check "0.90: raid_disks, degraded" "3 0" "$(cat "$(sys md_z raid_disks)") $(cat "$(sys md_z degraded)")"
check "0.90: every superblock says 3" "3 3 3" "$(examined z0.img z1.img z2.img)"
mdadm --examine "$SRC/z2.img" 2>/dev/null | grep -qE "^this +2 .*active sync" && pass "0.90: z2 is disk 2, active sync" ||
  fail "0.90: $(mdadm --examine "$SRC/z2.img" 2>&1 | grep '^this')"
unmount_mdfs
finish
