#!/bin/bash
# Members through sysfs: new_dev takes a file name inside SOURCE only;
# dev-<member>/ and rdN show the kernel's values; bad input changes nothing.
. "$(dirname "$0")/lib.sh"
mount_mdfs -o assemble=none
truncate -s 8M "$SRC/m0.img" "$SRC/m1.img" "$SRC/m2.img"
mkdir "$SRC/subdir"; ln -s /etc/passwd "$SRC/escape"; ln -s m2.img "$SRC/inside"
sysw "$(param new_array)" md_m >/dev/null
sysw "$(sys md_m metadata_version)" 1.2 >/dev/null
check "new_dev with a slash: EINVAL" "Invalid argument" "$(sysw "$(sys md_m new_dev)" ../m0.img)"
check "new_dev ..: EINVAL" "Invalid argument" "$(sysw "$(sys md_m new_dev)" ..)"
check "new_dev of a missing file: ENOENT" "No such file or directory" "$(sysw "$(sys md_m new_dev)" nothere.img)"
check "new_dev of a folder: EINVAL" "Invalid argument" "$(sysw "$(sys md_m new_dev)" subdir)"
check "new_dev of a symlink out of SOURCE: ENOENT" "No such file or directory" "$(sysw "$(sys md_m new_dev)" escape)"
check "nothing added" "" "$(ls "$MNT/sys/block/md_m/md" | grep '^dev-')"
check "still clear" clear "$(cat "$(sys md_m array_state)")"
check "new_dev m0.img" ok "$(sysw "$(sys md_m new_dev)" m0.img)"
check "inactive once a member is in" inactive "$(cat "$(sys md_m array_state)")"
check "new_dev m0.img twice: EBUSY" "Device or resource busy" "$(sysw "$(sys md_m new_dev)" m0.img)"
sysw "$(param new_array)" md_o >/dev/null
check "a member of another array: EBUSY" "Device or resource busy" "$(sysw "$(sys md_o new_dev)" m0.img)"
check "metadata_version with members: EBUSY" "Device or resource busy" "$(sysw "$(sys md_m metadata_version)" 1.0)"
check "new_dev m1.img" ok "$(sysw "$(sys md_m new_dev)" m1.img)"
check "dev-m0.img/slot before start" none "$(cat "$(sys md_m dev-m0.img/slot)")"
check "slot garbage: EINVAL" "Invalid argument" "$(sysw "$(sys md_m dev-m0.img/slot)" first)"
check "offset garbage: EINVAL" "Invalid argument" "$(sysw "$(sys md_m dev-m0.img/offset)" far)"
check "state garbage: EINVAL" "Invalid argument" "$(sysw "$(sys md_m dev-m0.img/state)" sleepy)"
check "level raid1" ok "$(sysw "$(sys md_m level)" raid1)"
check "raid_disks 2" ok "$(sysw "$(sys md_m raid_disks)" 2)"
check "start" ok "$(sysw "$(sys md_m array_state)" active)"
settled md_m  # the new mirror's first resync (slow under load)
check "dev-m0.img/state" in_sync "$(cat "$(sys md_m dev-m0.img/state)")"
check "dev-m0.img/slot" 0 "$(cat "$(sys md_m dev-m0.img/slot)")"
check "dev-m1.img/slot" 1 "$(cat "$(sys md_m dev-m1.img/slot)")"
check "dev-m0.img/offset (mdadm's 1 MiB)" 2048 "$(cat "$(sys md_m dev-m0.img/offset)")"
check "dev-m0.img/size" 7168 "$(cat "$(sys md_m dev-m0.img/size)")"
check "dev-m0.img/errors" 0 "$(cat "$(sys md_m dev-m0.img/errors)")"
check "dev-m0.img/recovery_start" none "$(cat "$(sys md_m dev-m0.img/recovery_start)")"
check "rd0 link" dev-m0.img "$(readlink "$MNT/sys/block/md_m/md/rd0")"
check "rd1 link" dev-m1.img "$(readlink "$MNT/sys/block/md_m/md/rd1")"
check "component_size" 7168 "$(cat "$(sys md_m component_size)")"
check "degraded" 0 "$(cat "$(sys md_m degraded)")"
check "size" 14336 "$(cat "$MNT/sys/block/md_m/size")"
check "safe_mode_delay of a running array" 0.204 "$(cat "$(sys md_m safe_mode_delay)")"
check "level" raid1 "$(cat "$(sys md_m level)")"
check "resync_start" none "$(cat "$(sys md_m resync_start)")"
grep -q "^md_m : active raid1 m1.img\[1\] m0.img\[0\]" "$MNT/proc/mdstat" && pass "mdstat line" || fail "mdstat: $(cat "$MNT/proc/mdstat")"
grep -q "      7168 blocks super 1.2 \[2/2\] \[UU\]" "$MNT/proc/mdstat" && pass "mdstat blocks line" || fail "mdstat: $(cat "$MNT/proc/mdstat")"
check "level no takeover reaches: EINVAL" "Invalid argument" "$(sysw "$(sys md_m level)" raid6)"
check "raid_disks below the mirrors in use: EBUSY" "Device or resource busy" "$(sysw "$(sys md_m raid_disks)" 1)"
check "GET_ARRAY_INFO" "level=1 raid_disks=2" "$("$MDFS_IOCTL" "$MNT/dev/md_m" GET_ARRAY_INFO | grep -o 'level=[0-9-]* ' | tr -d ' ') raid_disks=$("$MDFS_IOCTL" "$MNT/dev/md_m" GET_ARRAY_INFO | sed 's/.* raid_disks=\([0-9]*\).*/\1/')"
check "GET_DISK_INFO 1" "number=1 major=240 minor=1 raid_disk=1 state=6" "$("$MDFS_IOCTL" "$MNT/dev/md_m" GET_DISK_INFO 1)"
# Failing a member degrades the raid1; data still reads.
head -c 1M /dev/urandom > "$T/data"
dd if="$T/data" of="$MNT/dev/md_m" conv=notrunc,fsync status=none
check "fail m1.img" ok "$(sysw "$(sys md_m dev-m1.img/state)" faulty)"
check "m1 faulty" faulty "$(cat "$(sys md_m dev-m1.img/state)")"
check "degraded 1" 1 "$(cat "$(sys md_m degraded)")"
grep -q "m1.img\[1\](F)" "$MNT/proc/mdstat" && grep -q "\[2/1\] \[U_\]" "$MNT/proc/mdstat" && pass "mdstat shows (F) and [U_]" || fail "mdstat: $(cat "$MNT/proc/mdstat")"
check "the last working copy cannot fail: EBUSY" "Device or resource busy" "$(sysw "$(sys md_m dev-m0.img/state)" faulty)"
# As the kernel's MD_BROKEN: the copy stays in sync, the array reads broken
# and takes no more writes, and reads go on.
check "the last copy stays in sync" in_sync "$(cat "$(sys md_m dev-m0.img/state)")"
eventually "array_state after failing the last copy: broken" broken cat "$(sys md_m array_state)"
dd if=/dev/zero of="$MNT/dev/md_m" bs=4k count=1 conv=notrunc oflag=direct status=none 2>"$T/err"
check "a write to a broken array: EIO" 1 "$(grep -c 'Input/output error' "$T/err")"
cmp <(head -c 1M "$MNT/dev/md_m") "$T/data" && pass "degraded read" || fail "degraded read"
check "remove the faulty member" ok "$(sysw "$(sys md_m dev-m1.img/state)" remove)"
check "it is gone" no "$([ -e "$(sys md_m dev-m1.img)" ] && echo yes || echo no)"
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs
finish
