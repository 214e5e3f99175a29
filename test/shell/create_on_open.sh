#!/bin/bash
# Rule 1: O_CREAT of dev/<name> creates an array held until an ioctl or an
# array_state write; opens without O_CREAT of a missing array: ENOENT.
. "$(dirname "$0")/lib.sh"
mount_mdfs

check "no md5 at first" no "$(exists md5)"
check "open without O_CREAT: ENOENT" "No such file or directory" "$( (exec 3<"$MNT/dev/md5") 2>&1 | sed 's/.*: //')"
check "still no md5" no "$(exists md5)"
exec 3<>"$MNT/dev/md5" || fail "open O_CREAT of md5"
check "md5 made by the open" clear "$(cat "$(sys md5 array_state)")"
check "size 0" 0 "$(cat "$MNT/sys/block/md5/size")"
check "stat size 0" 0 "$(stat -c %s "$MNT/dev/md5")"
check "read at 0 returns nothing" 0 "$(dd if="$MNT/dev/md5" bs=512 count=1 2>/dev/null | wc -c)"
check "level empty" "" "$(cat "$(sys md5 level)")"
check "raid_disks empty" "" "$(cat "$(sys md5 raid_disks)")"
exec 3<&-
sleep 0.3
check "held after close" yes "$(exists md5)"
for i in 1 2 3; do exec 3<"$MNT/dev/md5"; exec 3<&-; done
sleep 0.3
check "held after more opens and closes" yes "$(exists md5)"
check "GET_ARRAY_INFO: ENODEV" "GET_ARRAY_INFO: ENODEV (19: No such device)" "$("$MDFS_IOCTL" "$MNT/dev/md5" GET_ARRAY_INFO)"
check "RAID_VERSION" "0.90.3" "$("$MDFS_IOCTL" "$MNT/dev/md5" RAID_VERSION)"
sleep 0.3
check "GET_ARRAY_INFO and RAID_VERSION keep the hold" yes "$(exists md5)"
check "RUN_ARRAY on nothing: EINVAL" "RUN_ARRAY: EINVAL (22: Invalid argument)" "$("$MDFS_IOCTL" "$MNT/dev/md5" RUN_ARRAY)"
sleep 0.3
check "EINVAL keeps the hold" yes "$(exists md5)"
check "STOP_ARRAY ends the hold" ok "$("$MDFS_IOCTL" "$MNT/dev/md5" STOP_ARRAY)"
eventually "md5 gone after STOP_ARRAY and its close" no exists md5

# A sysfs write other than array_state keeps the hold; an array_state write ends it.
: > "$MNT/dev/md6"
check "metadata_version while held" ok "$(sysw "$(sys md6 metadata_version)" 1.2)"
sleep 0.3
check "md6 still there" clear "$(cat "$(sys md6 array_state)")"
check "metadata 1.2 kept" 1.2 "$(cat "$(sys md6 metadata_version)")"
check "inactive on probed md6" ok "$(sysw "$(sys md6 array_state)" inactive)"
eventually "md6 gone after inactive" no exists md6

# STOP_ARRAY_RO on an unconfigured array: ENODEV, which ends the hold.
: > "$MNT/dev/md7"
check "STOP_ARRAY_RO: ENODEV" "STOP_ARRAY_RO: ENODEV (19: No such device)" "$("$MDFS_IOCTL" "$MNT/dev/md7" STOP_ARRAY_RO)"
eventually "md7 gone after ENODEV" no exists md7

# new_array of a name an open made: EEXIST.
exec 3<>"$MNT/dev/md8"
check "new_array md8 while open: EEXIST" "File exists" "$(sysw "$(param new_array)" md8)"
exec 3<&-

# Names.
check "O_CREAT of foo: EINVAL" "Invalid argument" "$( (: > "$MNT/dev/foo") 2>&1 | sed 's/.*: //')"
check "O_CREAT of md01: EINVAL" "Invalid argument" "$( (: > "$MNT/dev/md01") 2>&1 | sed 's/.*: //')"
check "O_CREAT of md_named" ok "$( (: > "$MNT/dev/md_named") 2>&1 && echo ok)"
check "create_on_open reads Y" Y "$(cat "$(param create_on_open)")"
check "create_on_open N" ok "$(sysw "$(param create_on_open)" N)"
check "create_on_open reads N" N "$(cat "$(param create_on_open)")"
check "O_CREAT with create_on_open N: ENXIO" "No such device or address" "$( (: > "$MNT/dev/md9") 2>&1 | sed 's/.*: //')"
check "no md9" no "$(exists md9)"
check "create_on_open garbage: EINVAL" "Invalid argument" "$(sysw "$(param create_on_open)" garbage)"
check "create_on_open unchanged" N "$(cat "$(param create_on_open)")"
check "create_on_open yes" ok "$(sysw "$(param create_on_open)" yes)"
check "create_on_open reads Y again" Y "$(cat "$(param create_on_open)")"
unmount_mdfs

# The mount option.
mount_mdfs -o create_on_open=N
check "-o create_on_open=N" N "$(cat "$(param create_on_open)")"
check "O_CREAT refused" "No such device or address" "$( (: > "$MNT/dev/md1") 2>&1 | sed 's/.*: //')"
unmount_mdfs
finish
