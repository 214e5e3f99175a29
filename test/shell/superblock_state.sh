#!/bin/bash
# Superblock bookkeeping as the kernel's: a write marks the array active in
# every superblock before the data lands, safe_mode_delay later it is clean
# again; stop and unmount leave clean superblocks with equal events; an
# array the daemon could not stop keeps its dirty state until a resync.
. "$(dirname "$0")/lib.sh"
requires mdadm
examine() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n "s/^ *$2 : //p"; }
mount_mdfs -o assemble=none
truncate -s 8M "$SRC/a.img" "$SRC/b.img"
sysw "$(param new_array)" md_s >/dev/null
# resync_start none: blank members are consistent (a new array owes a resync otherwise).
for kv in metadata_version=1.2 level=raid1 raid_disks=2 resync_start=none; do sysw "$(sys md_s ${kv%%=*})" "${kv#*=}" >/dev/null; done
sysw "$(sys md_s new_dev)" a.img >/dev/null
sysw "$(sys md_s new_dev)" b.img >/dev/null
sysw "$(sys md_s array_state)" active >/dev/null
check "clean after start" clean "$(cat "$(sys md_s array_state)")"
check "superblock clean after start" clean "$(examine a.img State)"
ev0=$(examine a.img Events)
check "safe_mode_delay 1 s" ok "$(sysw "$(sys md_s safe_mode_delay)" 1)"
exec 3<>"$MNT/dev/md_s"
head -c 4096 /dev/urandom >&3
check "active right after a write" active "$(cat "$(sys md_s array_state)")"
check "superblock active while dirty" active "$(examine a.img State)"
check "resync_start stays none" none "$(cat "$(sys md_s resync_start)")"
ev1=$(examine a.img Events)
[ "$ev1" -gt "$ev0" ] && pass "events counted the switch to active ($ev0 -> $ev1)" || fail "events $ev0 -> $ev1"
eventually "clean again after safe_mode_delay" clean cat "$(sys md_s array_state)"
check "superblock clean again" clean "$(examine a.img State)"
check "both members agree on events" "$(examine a.img Events)" "$(examine b.img Events)"
exec 3<&-
# Killed while dirty: the superblocks stay active, and the next assembly
# keeps the resync it needs (resync_start is not none).
sysw "$(sys md_s safe_mode_delay)" 0 >/dev/null
head -c 4096 /dev/urandom | dd of="$MNT/dev/md_s" conv=notrunc status=none
check "active with safe mode off" active "$(cat "$(sys md_s array_state)")"
kill -9 "$MDFS_PID"; wait "$MDFS_PID" 2>/dev/null; MDFS_PID=
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
check "an unclean stop leaves the superblock active" active "$(examine a.img State)"
mount_mdfs
check "reassembled" yes "$(exists md_s)"
# As the kernel, the owed resync runs at once and leaves the array in sync
# (sync_resync.sh watches it on its way).
eventually "the resync ran: resync_start none" none cat "$(sys md_s resync_start)"
unmount_mdfs
check "clean after the resync and a clean unmount" clean "$(examine a.img State)"
check "both members say so" clean "$(examine b.img State)"
finish
