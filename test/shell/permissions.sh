#!/bin/bash
# Permissions with -o allow_other: default_permissions is on unless
# no_default_permissions says otherwise, so another user meets the modes
# shown, as on sysfs: dev/* 0660, attributes 0644, new_array 0200 (the
# mount's owner only). chmod and chown work on dev/* (the owner's or root's
# to make, kept while the array exists) and are EPERM elsewhere. The md
# ioctls that change an array are the mount owner's (and root's) alone,
# EACCES for anyone else (the kernel wants CAP_SYS_ADMIN), whatever the modes.
. "$(dirname "$0")/lib.sh"
requires setpriv
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root, to act as another user"; exit 77; }
chmod 755 "$T"  # the other user must reach the mount point
as_other() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# other_w PATH VALUE: one write as the other user, ok or the error's text.
other_w() {
  local out
  if out=$(as_other sh -c 'printf "%s" "$2" > "$1"' sh "$1" "$2" 2>&1); then echo ok; else echo "${out##*: }"; fi
}
denied="Permission denied"
build_md() {  # a running raid1 md_p on a.img b.img
  sysw "$(param new_array)" md_p >/dev/null
  sysw "$(sys md_p metadata_version)" 1.2 >/dev/null
  sysw "$(sys md_p level)" raid1 >/dev/null
  sysw "$(sys md_p raid_disks)" 2 >/dev/null
  sysw "$(sys md_p new_dev)" a.img >/dev/null
  sysw "$(sys md_p new_dev)" b.img >/dev/null
  sysw "$(sys md_p array_state)" active >/dev/null
}
truncate -s 8M "$SRC/a.img" "$SRC/b.img"

mount_mdfs -o allow_other
grep -q " $MNT fuse.mdfs .*default_permissions" /proc/mounts && pass "allow_other turns on default_permissions" ||
  fail "mount options: $(grep " $MNT " /proc/mounts)"
build_md
check "dev/md_p shown 0660 root" "-rw-rw---- 0 0" "$(stat -c '%A %u %g' "$MNT/dev/md_p")"
check "other user: read dev/md_p denied" 1 "$(as_other cat "$MNT/dev/md_p" 2>&1 >/dev/null | grep -c "$denied")"
check "other user: array_state denied" "$denied" "$(other_w "$(sys md_p array_state)" clear)"
check "other user: sync_action denied" "$denied" "$(other_w "$(sys md_p sync_action)" check)"
check "other user: new_array denied" "$denied" "$(other_w "$(param new_array)" md_q)"
check "other user: create_on_open denied" "$denied" "$(other_w "$(param create_on_open)" N)"
check "other user may read what is 0644" clean "$(as_other cat "$(sys md_p array_state)")"
check "the array still runs, no md_q" "clean no" "$(cat "$(sys md_p array_state)") $(exists md_q)"
check "other user: chmod dev/md_p: EPERM" 1 "$(as_other chmod 0666 "$MNT/dev/md_p" 2>&1 | grep -c 'Operation not permitted')"
check "root: chmod of an attribute: EPERM" 1 "$(chmod 0666 "$(sys md_p array_state)" 2>&1 | grep -c 'Operation not permitted')"
check "root: chown of a folder: EPERM" 1 "$(chown 65534 "$MNT/sys" 2>&1 | grep -c 'Operation not permitted')"

# chmod by root: shown and enforced, and kept.
chmod 0664 "$MNT/dev/md_p" || fail "chmod 0664"
check "chmod 0664 shown" "-rw-rw-r--" "$(stat -c %A "$MNT/dev/md_p")"
size=$(stat -c %s "$MNT/dev/md_p")
check "other user may read now" "$size" "$(as_other cat "$MNT/dev/md_p" | wc -c)"
check "but not write" 1 "$(as_other dd if=/dev/zero of="$MNT/dev/md_p" bs=4k count=1 conv=notrunc 2>&1 | grep -c "$denied")"
# The md ioctls that change an array: not for the other user, even with a
# mode that lets it open the array file.
"$MDFS_IOCTL" "$MNT/dev/md_p" GET_ARRAY_INFO >/dev/null && pass "owner: GET_ARRAY_INFO" || fail "owner: GET_ARRAY_INFO"
as_other "$MDFS_IOCTL" "$MNT/dev/md_p" GET_ARRAY_INFO >/dev/null && pass "other user may ask GET_ARRAY_INFO" ||
  fail "other user: GET_ARRAY_INFO"
check "other user: STOP_ARRAY: EACCES" 1 "$(as_other "$MDFS_IOCTL" "$MNT/dev/md_p" STOP_ARRAY 2>&1 | grep -c "$denied")"
check "other user: SET_DISK_FAULTY: EACCES" 1 \
  "$(as_other "$MDFS_IOCTL" "$MNT/dev/md_p" SET_DISK_FAULTY $(((240 << 8) | 0)) 2>&1 | grep -c "$denied")"
check "the array still runs, in sync" "clean in_sync" "$(cat "$(sys md_p array_state)") $(cat "$(sys md_p dev-a.img/state)")"

# chown to the other user: it owns the file now and may chmod it; the mode
# is kept while the array lives (stopped to inactive and started again),
# and a new array of the name starts afresh.
chown 65534:65534 "$MNT/dev/md_p" || fail "chown"
check "chown shown" "65534 65534" "$(stat -c '%u %g' "$MNT/dev/md_p")"
as_other chmod 0600 "$MNT/dev/md_p" && pass "the new owner may chmod" || fail "the new owner: chmod"
check "other user, owner: writes" 1 "$(as_other dd if=/dev/zero of="$MNT/dev/md_p" bs=4k count=1 conv=notrunc status=none && echo 1)"
check "other user may not give it back (chown)" 1 "$(as_other chown 0 "$MNT/dev/md_p" 2>&1 | grep -c 'Operation not permitted')"
sysw "$(sys md_p array_state)" inactive >/dev/null
sysw "$(sys md_p array_state)" active >/dev/null
check "kept while the array exists" "-rw------- 65534" "$(stat -c '%A %u' "$MNT/dev/md_p")"
sysw "$(sys md_p array_state)" clear >/dev/null
eventually "cleared away" no exists md_p
build_md
check "a new md_p starts afresh" "-rw-rw---- 0" "$(stat -c '%A %u' "$MNT/dev/md_p")"
unmount_mdfs

# Turned off in so many words: modes are not enforced by the kernel, but
# the md ioctls stay the owner's.
mount_mdfs -o allow_other,no_default_permissions
grep -q " $MNT fuse.mdfs .*default_permissions" /proc/mounts && fail "default_permissions despite no_default_permissions" ||
  pass "no_default_permissions: off"
check "no_default_permissions: the other user reads dev/*" "$size" "$(as_other cat "$MNT/dev/md_p" | wc -c)"
check "no_default_permissions: STOP_ARRAY still EACCES" 1 \
  "$(as_other "$MDFS_IOCTL" "$MNT/dev/md_p" STOP_ARRAY 2>&1 | grep -c "$denied")"
check "still running" clean "$(cat "$(sys md_p array_state)")"
unmount_mdfs
"$MDFS" -o default_permissions,no_default_permissions "$SRC" "$MNT" 2>"$T/err"
check "both: exit 1, one line" "1 1" "$? $(wc -l <"$T/err")"
finish
