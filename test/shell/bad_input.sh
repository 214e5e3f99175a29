#!/bin/bash
# Bad input gets the kernel's errno, changes nothing, and the daemon lives.
. "$(dirname "$0")/lib.sh"
mount_mdfs
sysw "$(param new_array)" md_b >/dev/null

snapshot() { for f in "$MNT"/sys/block/md_b/md/*; do [ -f "$f" ] && [ -r "$f" ] && printf '%s=%s\n' "${f##*/}" "$(cat "$f" 2>&1)"; done; }
before=$(snapshot)
check "raid_disks -1: EINVAL" "Invalid argument" "$(sysw "$(sys md_b raid_disks)" -1)"
check "raid_disks huge: ERANGE" "Numerical result out of range" "$(sysw "$(sys md_b raid_disks)" 99999999999)"
check "raid_disks text: EINVAL" "Invalid argument" "$(sysw "$(sys md_b raid_disks)" four)"
check "layout text: EINVAL" "Invalid argument" "$(sysw "$(sys md_b layout)" ls)"
check "chunk_size text: EINVAL" "Invalid argument" "$(sysw "$(sys md_b chunk_size)" 64k)"
check "metadata_version bogus: EINVAL" "Invalid argument" "$(sysw "$(sys md_b metadata_version)" bogus)"
check "metadata_version 2.0: ENOENT" "No such file or directory" "$(sysw "$(sys md_b metadata_version)" 2.0)"
check "component_size text: EINVAL" "Invalid argument" "$(sysw "$(sys md_b component_size)" big)"
check "array_size text: EINVAL" "Invalid argument" "$(sysw "$(sys md_b array_size)" big)"
check "resync_start text: EINVAL" "Invalid argument" "$(sysw "$(sys md_b resync_start)" soon)"
check "safe_mode_delay text: EINVAL" "Invalid argument" "$(sysw "$(sys md_b safe_mode_delay)" 1s)"
check "level longer than 15: EINVAL" "Invalid argument" "$(sysw "$(sys md_b level)" raid5raid5raid5raid5)"
check "max_read_errors text: EINVAL" "Invalid argument" "$(sysw "$(sys md_b max_read_errors)" many)"
check "fail_last_dev text: EINVAL" "Invalid argument" "$(sysw "$(sys md_b fail_last_dev)" perhaps)"
check "reshape_direction sideways: EINVAL" "Invalid argument" "$(sysw "$(sys md_b reshape_direction)" sideways)"
check "array_state garbage: EINVAL" "Invalid argument" "$(sysw "$(sys md_b array_state)" garbage)"
check "uuid is read-only" "Permission denied" "$(sysw "$(sys md_b uuid)" 1234)"
check "size is read-only" "Permission denied" "$(sysw "$MNT/sys/block/md_b/size" 1)"
check "mdstat is read-only" "Permission denied" "$(sysw "$MNT/proc/mdstat" x)"
check "new_dev is write-only" "Permission denied" "$(cat "$(sys md_b new_dev)" 2>&1 | sed 's/.*: //')"
check "no file can be made in sys/" "Permission denied" "$( (: > "$MNT/sys/block/md_b/md/newfile") 2>&1 | sed 's/.*: //')"
check "nothing changed" "$before" "$(snapshot)"
check "safe_mode_delay 0.5 is 0.500" 0.500 "$(sysw "$(sys md_b safe_mode_delay)" 0.5 >/dev/null; cat "$(sys md_b safe_mode_delay)")"
check "safe_mode_delay rounds down to jiffies" 0.008 "$(sysw "$(sys md_b safe_mode_delay)" 0.0099 >/dev/null; cat "$(sys md_b safe_mode_delay)")"
check "level bogus is accepted while inactive" bogus "$(sysw "$(sys md_b level)" bogus >/dev/null; cat "$(sys md_b level)")"
check "chunk_size 1000 is accepted" 512 "$(sysw "$(sys md_b chunk_size)" 1000 >/dev/null; cat "$(sys md_b chunk_size)")"
check "truncate of a device: EINVAL" "Invalid argument" "$(truncate -s 1M "$MNT/dev/md_b" 2>&1 | sed 's/.*: //')"
check "ioctl that is not md's: ENOTTY" "Inappropriate ioctl for device" "$(python3 -c "
import fcntl,os
fd=os.open('$MNT/dev/md_b',os.O_RDONLY)
try: fcntl.ioctl(fd,0x5401)
except OSError as e: print(e.strerror)" 2>&1)"
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs
finish
