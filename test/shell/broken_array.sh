#!/bin/bash
# A member the array cannot lose, failed through its state attribute, as
# the kernel's transcript "sysfs state writes": the write answers EBUSY; a
# raid5 marks the member faulty anyway, keeping its slot, and reads broken
# with degraded 2; writes then fail with EIO; a new mount does not start
# the array with two members missing, and nothing crashes.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
md() { cat "$(sys md0 "$1")"; }
member() { echo "state=$(md "dev-$1/state") slot=$(md "dev-$1/slot") recovery_start=$(md "dev-$1/recovery_start")"; }
mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/vd{a,b,c,d}.img
"$ADM" --create "$MNT/dev/md0" -l5 -n4 -c64 vda.img vdb.img vdc.img vdd.img 2>/dev/null
# The new raid5 builds its last member first (mdadm's create): until that
# ends, failing vdc would lose the array's second member.
"$ADM" --wait "$MNT/dev/md0" 2>/dev/null
check "the new array's recovery has ended" "idle 0" "$(md sync_action) $(md degraded)"
head -c "$(stat -c %s "$MNT/dev/md0")" /dev/urandom >"$T/ref"
dd if="$T/ref" of="$MNT/dev/md0" bs=1M conv=notrunc,fsync status=none

check "echo faulty > dev-vdc.img/state" ok "$(sysw "$(sys md0 dev-vdc.img/state)" faulty)"
check "vdc: faulty, out of its slot" "state=faulty slot=none recovery_start=0" "$(member vdc.img)"
check "degraded 1" 1 "$(md degraded)"
check "echo remove > dev-vdc.img/state" ok "$(sysw "$(sys md0 dev-vdc.img/state)" remove)"

check "failing a second member: EBUSY" "Device or resource busy" "$(sysw "$(sys md0 dev-vdd.img/state)" faulty)"
check "vdd: faulty, keeps slot 3" "state=faulty slot=3 recovery_start=0" "$(member vdd.img)"
check "vda stays in sync" "state=in_sync slot=0 recovery_start=none" "$(member vda.img)"
check "degraded 2, idle" "2 idle none" "$(md degraded) $(md sync_action) $(md sync_completed)"
eventually "array_state: broken" broken md array_state
check "mdstat: vdd (F), [4/2] [UU__]" "md0 : active raid5 vdd.img[3](F) vdb.img[1] vda.img[0] [4/2] [UU__]" \
  "$(grep '^md0 :' "$MNT/proc/mdstat") $(grep -A1 '^md0 :' "$MNT/proc/mdstat" | grep -o '\[4/2\] \[UU__\]')"
dd if=/dev/zero of="$MNT/dev/md0" bs=64k count=1 conv=notrunc oflag=direct status=none 2>"$T/err"
check "a write to the broken array: EIO" 1 "$(grep -c 'Input/output error' "$T/err")"
# The chunks of the two members left still read as written.
cmp -s <(head -c 65536 "$MNT/dev/md0") <(head -c 65536 "$T/ref"); check "vda's first chunk reads back" 0 $?
check "again: EBUSY, nothing new" "Device or resource busy state=faulty slot=3 recovery_start=0" \
  "$(sysw "$(sys md0 dev-vdd.img/state)" faulty) $(member vdd.img)"
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs

# Two of four members missing: a mount does not start it; the array is stopped
# cleanly, so no member's superblock says it is still running.
mount_mdfs
check "not started by a mount" no "$(exists md0)"
unmount_mdfs
for d in vda vdb; do
  check "$d.img: superblock clean" clean "$(mdadm --examine "$SRC/$d.img" 2>/dev/null | sed -n 's/^ *State : //p')"
done
exit $FAILED
