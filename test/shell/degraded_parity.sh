#!/bin/bash
# raid5 without one member and raid6 without two, after a remount: degraded
# assembly (degraded count, [UU_U] in mdstat), reads reconstruct everything
# exactly, writes still work, and ext4 lives on a degraded raid6.
. "$(dirname "$0")/lib.sh"
requires mkfs.ext4 e2fsck cmp
mount_mdfs -o assemble=none

make_array() {  # name level disks layout
  sysw "$(param new_array)" $1 >/dev/null
  for kv in metadata_version=1.2 level=$2 raid_disks=$3 chunk_size=65536 layout=$4; do
    sysw "$(sys $1 ${kv%%=*})" "${kv#*=}" >/dev/null
  done
  for d in $(seq 0 $(($3 - 1))); do
    truncate -s 12M "$SRC/$1-$d.img"
    sysw "$(sys $1 new_dev)" $1-$d.img >/dev/null
  done
  check "$1: starts" ok "$(sysw "$(sys $1 array_state)" active)"
}
make_array md_r5 raid5 4 2
make_array md_r6 raid6 5 2
make_array md_fs raid6 5 0
for a in md_r5 md_r6; do
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom > "$T/$a.ref"
  dd if="$T/$a.ref" of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
  cmp "$MNT/dev/$a" "$T/$a.ref" && pass "$a: written" || fail "$a: write"
done
mkfs.ext4 -q -F "$MNT/dev/md_fs" && pass "mkfs.ext4 on raid6" || fail "mkfs.ext4"
unmount_mdfs

rm "$SRC/md_r5-2.img" "$SRC/md_r6-1.img" "$SRC/md_r6-3.img" "$SRC/md_fs-0.img" "$SRC/md_fs-4.img"
mount_mdfs
check "raid5 degraded count" 1 "$(cat "$(sys md_r5 degraded)")"
check "raid6 degraded count" 2 "$(cat "$(sys md_r6 degraded)")"
grep -A1 "^md_r5 :" "$MNT/proc/mdstat" | grep -q "\[4/3\] \[UU_U\]" && pass "mdstat [4/3] [UU_U]" || fail "mdstat: $(cat "$MNT/proc/mdstat")"
grep -A1 "^md_r6 :" "$MNT/proc/mdstat" | grep -q "\[5/3\] \[U_U_U\]" && pass "mdstat [5/3] [U_U_U]" || fail "mdstat: $(cat "$MNT/proc/mdstat")"
for a in md_r5 md_r6; do
  cmp "$MNT/dev/$a" "$T/$a.ref" && pass "$a: degraded read exact" || fail "$a: degraded read differs"
  # A degraded write, at an odd offset over a stripe boundary.
  head -c 300000 /dev/urandom > "$T/patch"
  dd if="$T/patch" of="$MNT/dev/$a" bs=300000 seek=123457 oflag=seek_bytes conv=notrunc,fsync status=none
  dd if="$T/patch" of="$T/$a.ref" bs=300000 seek=123457 oflag=seek_bytes conv=notrunc status=none
  cmp "$MNT/dev/$a" "$T/$a.ref" && pass "$a: degraded write reads back" || fail "$a: degraded write"
done
e2fsck -fn "$MNT/dev/md_fs" >"$T/fsck" 2>&1 && pass "e2fsck -fn on a raid6 missing two members" || { fail "e2fsck"; cat "$T/fsck"; }
unmount_mdfs
# The degraded writes persist: remount (still degraded) and compare again.
mount_mdfs
for a in md_r5 md_r6; do
  cmp "$MNT/dev/$a" "$T/$a.ref" && pass "$a: same after remount" || fail "$a: differs after remount"
done
unmount_mdfs
finish
