#!/bin/bash
# mkfs.ext4 on a raid10's array file, e2fsck -fn finds it clean, before and
# after a remount.
. "$(dirname "$0")/lib.sh"
requires mkfs.ext4 e2fsck
mount_mdfs
for d in 0 1 2 3; do truncate -s 32M "$SRC/r10-$d.img"; done
sysw "$(param new_array)" md_fs >/dev/null
for kv in metadata_version=1.2 level=raid10 raid_disks=4 chunk_size=65536 layout=258; do
  sysw "$(sys md_fs ${kv%%=*})" "${kv#*=}" >/dev/null
done
for d in 0 1 2 3; do sysw "$(sys md_fs new_dev)" r10-$d.img >/dev/null; done
check "raid10 starts" ok "$(sysw "$(sys md_fs array_state)" active)"
mkfs.ext4 -q -F "$MNT/dev/md_fs" && pass "mkfs.ext4" || fail "mkfs.ext4"
e2fsck -fn "$MNT/dev/md_fs" >"$T/fsck" 2>&1 && pass "e2fsck -fn clean" || { fail "e2fsck"; cat "$T/fsck"; }
unmount_mdfs
mount_mdfs
check "assembled again" yes "$(exists md_fs)"
e2fsck -fn "$MNT/dev/md_fs" >"$T/fsck" 2>&1 && pass "e2fsck -fn clean after remount" || { fail "e2fsck after remount"; cat "$T/fsck"; }
unmount_mdfs
finish
