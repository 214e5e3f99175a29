#!/bin/bash
# proc/mdstat as the kernel prints it: the personalities line, then each
# array (newest first), then "unused devices".
. "$(dirname "$0")/lib.sh"
mount_mdfs -o assemble=none
check "empty mdstat" "Personalities : [linear] [raid0] [raid1] [raid10] [raid6] [raid5] [raid4] 
unused devices: <none>" "$(cat "$MNT/proc/mdstat")"
sysw "$(param new_array)" md_clear >/dev/null
check "a clear array is not shown" 2 "$(wc -l < "$MNT/proc/mdstat")"
truncate -s 8M "$SRC/a.img" "$SRC/b.img"
sysw "$(param new_array)" md9 >/dev/null
sysw "$(sys md9 metadata_version)" 1.2 >/dev/null
sysw "$(sys md9 new_dev)" a.img >/dev/null
check "an inactive array" "md9 : inactive a.img[0](S)
      7168 blocks super 1.2" "$(sed -n 2,3p "$MNT/proc/mdstat")"
sysw "$(sys md9 new_dev)" b.img >/dev/null
sysw "$(sys md9 level)" raid1 >/dev/null
sysw "$(sys md9 raid_disks)" 2 >/dev/null
sysw "$(sys md9 array_state)" readonly >/dev/null
check "a read-only raid1" "md9 : active (read-only) raid1 b.img[1] a.img[0]
      7168 blocks super 1.2 [2/2] [UU]" "$(sed -n 2,3p "$MNT/proc/mdstat")"
unmount_mdfs
finish
