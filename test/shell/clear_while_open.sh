#!/bin/bash
# Rules 3 and 4: open and release are md_open and md_release; clear on an
# array that is not running succeeds even while it is open, and the array
# goes when the last opener releases it; a new incarnation of the name is a
# new inode; nothing stale is listed.
. "$(dirname "$0")/lib.sh"
mount_mdfs

sysw "$(param new_array)" md_keep >/dev/null
exec 3<"$MNT/dev/md_keep"
exec 4<"$MNT/dev/md_keep"
ino1=$(stat -c %i "$MNT/dev/md_keep")
check "clear while open" ok "$(sysw "$(sys md_keep array_state)" clear)"
check "still there while open" clear "$(cat "$(sys md_keep array_state)")"
check "new_array of its name while it is open: EEXIST" "File exists" "$(sysw "$(param new_array)" md_keep)"
check "reads still answer 0 bytes" 0 "$(dd bs=512 count=1 <&3 2>/dev/null | wc -c)"
exec 3<&-
sleep 0.3
check "one opener left: still there" yes "$(exists md_keep)"
exec 4<&-
eventually "gone after the last release" no exists md_keep
check "not listed in dev/" "" "$(ls "$MNT/dev")"
check "not listed in sys/block/" "" "$(ls "$MNT/sys/block")"
check "not in mdstat" 2 "$(wc -l < "$MNT/proc/mdstat")"
check "stat says gone" no "$(stat "$MNT/dev/md_keep" >/dev/null 2>&1 && echo yes || echo no)"

check "new incarnation" ok "$(sysw "$(param new_array)" md_keep)"
ino2=$(stat -c %i "$MNT/dev/md_keep")
[ "$ino1" != "$ino2" ] && pass "a new incarnation has a new inode number ($ino1 -> $ino2)" || fail "inode reused: $ino1"
dirino1=$(stat -c %i "$MNT/sys/block/md_keep")
sysw "$(sys md_keep array_state)" clear >/dev/null
sysw "$(param new_array)" md_keep >/dev/null
dirino2=$(stat -c %i "$MNT/sys/block/md_keep")
[ "$dirino1" != "$dirino2" ] && pass "sys/block/<name> is renumbered too" || fail "dir inode reused"

# clear of a numbered array that nobody holds: gone at once, no ghost in ls.
for i in $(seq 10); do
  sysw "$(param new_array)" md$i >/dev/null
  sysw "$(sys md$i array_state)" clear >/dev/null
  [ -e "$MNT/dev/md$i" ] && fail "md$i still listed right after clear"
done
check "no ghosts after ten clears" "md_keep" "$(ls "$MNT/dev" | tr '\n' ' ' | sed 's/ $//')"

# An open through a cached name of a deleted array: ENOENT, not a dead handle.
sysw "$(param new_array)" md_x >/dev/null
stat "$MNT/dev/md_x" >/dev/null
sysw "$(sys md_x array_state)" clear >/dev/null
check "open of a cleared name: ENOENT" "No such file or directory" "$( (exec 3<"$MNT/dev/md_x") 2>&1 | sed 's/.*: //')"
# O_CREAT after the clear gets a fresh array.
exec 3<>"$MNT/dev/md_x"
check "O_CREAT after clear makes a fresh one" clear "$(cat "$(sys md_x array_state)")"
check "it is held by the probe" 0 "$(cat "$MNT/sys/block/md_x/size")"
exec 3<&-
unmount_mdfs
finish
