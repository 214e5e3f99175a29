#!/bin/bash
# One file, one member: a member in use is told by device and inode, so a
# symlink, a hard link or a bind mount of it is EBUSY in its array and in
# any other, and --add of such an alias to a degraded raid5 cannot "re-add"
# the member over itself. A copy of a member (another file, the same
# device) is EBUSY beside it; at mount, mdadm's choice between two files
# claiming one role is made (v1: the first; 0.90: neither, with mdadm's
# warning), and a file reached by two names is examined once.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
R1=$FIXTURES/raid1-2 R0=$FIXTURES/raid1-2-meta0.90
for f in "$R1" "$R0"; do [ -f "$f/member-0.img.xz" ] || { fail "fixture missing: $f"; finish; }; done
busy="Device or resource busy"

mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/a.img "$SRC"/b.img "$SRC"/c.img "$SRC"/x.img
ln -s a.img "$SRC/a-symlink"
ln "$SRC/a.img" "$SRC/a-hardlink"
sysw "$(param new_array)" md_r >/dev/null
sysw "$(sys md_r metadata_version)" 1.2 >/dev/null
sysw "$(sys md_r level)" raid5 >/dev/null
sysw "$(sys md_r raid_disks)" 3 >/dev/null
sysw "$(sys md_r chunk_size)" 65536 >/dev/null
for m in a b c; do sysw "$(sys md_r new_dev)" $m.img >/dev/null; done
check "raid5 started" ok "$(sysw "$(sys md_r array_state)" active)"
check "symlink of a member, same array: EBUSY" "$busy" "$(sysw "$(sys md_r new_dev)" a-symlink)"
check "hard link of a member, same array: EBUSY" "$busy" "$(sysw "$(sys md_r new_dev)" a-hardlink)"
sysw "$(param new_array)" md_o >/dev/null
sysw "$(sys md_o metadata_version)" 1.2 >/dev/null
check "symlink of a member, another array: EBUSY" "$busy" "$(sysw "$(sys md_o new_dev)" a-symlink)"
check "hard link of a member, another array: EBUSY" "$busy" "$(sysw "$(sys md_o new_dev)" a-hardlink)"
tested=4
if [ "$(id -u)" = 0 ] && touch "$T/bind-target" && mount --bind "$SRC/a.img" "$T/bind-target" 2>/dev/null; then
  # A bind mount inside SOURCE: the file a.img under another name.
  touch "$SRC/a-bind" && mount --bind "$SRC/a.img" "$SRC/a-bind"
  check "bind mount of a member: EBUSY" "$busy" "$(sysw "$(sys md_o new_dev)" a-bind)"
  umount "$SRC/a-bind" "$T/bind-target"
  tested=$((tested + 1))
else
  echo "note: no bind mount here (not root); the bind mount case is not run"
fi
check "alias cases run" "$([ "$(id -u)" = 0 ] && echo 5 || echo 4)" "$tested"
check "the log names the member in use" 2 "$(grep -c 'new_dev a-symlink: busy: the same file is in use as a.img' "$T/mdfs.log")"
check "nothing added to md_o" "" "$(ls "$MNT/sys/block/md_o/md" | grep '^dev-')"

# A degraded raid5: --add of an alias of a working member is refused, and
# that member's data stays (the rebuild used to overwrite a.img).
head -c 4M /dev/urandom >"$T/data"
dd if="$T/data" of="$MNT/dev/md_r" conv=notrunc,fsync status=none
sysw "$(sys md_r dev-c.img/state)" faulty >/dev/null
sysw "$(sys md_r dev-c.img/state)" remove >/dev/null
check "degraded" 1 "$(cat "$(sys md_r degraded)")"
# a.img's data area (its superblock changes with the array's state).
a_data() { tail -c +$(($(cat "$(sys md_r dev-a.img/offset)") * 512 + 1)) "$SRC/a.img" | sha256sum; }
a_before=$(a_data)
"$ADM" "$MNT/dev/md_r" --add a-hardlink >"$T/out" 2>&1
check "--add of a hard link of a member: exit 1" 1 "$?"
"$ADM" "$MNT/dev/md_r" --add a-symlink >"$T/out" 2>&1
check "--add of a symlink of a member: exit 1" 1 "$?"
check "still degraded, no spare" "1 0" "$(cat "$(sys md_r degraded)") $(ls "$MNT/sys/block/md_r/md" | grep -c '^dev-x')"
check "a.img's data untouched" "$a_before" "$(a_data)"
cmp -s <(head -c 4M "$MNT/dev/md_r") "$T/data" && pass "data reads back" || fail "data differs"
"$ADM" "$MNT/dev/md_r" --add x.img >"$T/out" 2>&1
check "--add of a real spare works" 0 "$?"
unmount_mdfs

# A copy of a member beside it (the same device uuid): EBUSY, nothing added.
rm -f "$SRC"/*
xz -dc "$R1/member-0.img.xz" >"$SRC/m0.img"
xz -dc "$R1/member-1.img.xz" >"$SRC/m1.img"
cp "$SRC/m0.img" "$T/m0-copy.img"
mount_mdfs
check "the raid1 runs" "md_oracle" "$(ls "$MNT/dev")"
cp "$T/m0-copy.img" "$SRC/m0-copy.img"
sysw "$(sys md_oracle dev-m1.img/state)" faulty >/dev/null
sysw "$(sys md_oracle dev-m1.img/state)" remove >/dev/null
check "new_dev of a copy of a member: EBUSY" "$busy" "$(sysw "$(sys md_oracle new_dev)" m0-copy.img)"
check "the log says which" 1 "$(grep -c 'new_dev m0-copy.img: busy: it carries the same device as m0.img' "$T/mdfs.log")"
unmount_mdfs

# At mount, v1: of the original and its copy (same role, same events) the
# first found (in name order) is used and the other left out, as mdadm; a
# hard link is examined once and does not stop the array.
rm -f "$SRC"/*
xz -dc "$R1/member-0.img.xz" >"$SRC/m0.img"
xz -dc "$R1/member-1.img.xz" >"$SRC/m1.img"
cp "$SRC/m0.img" "$SRC/m0.img.copy"
ln "$SRC/m1.img" "$SRC/m1.img.link"
copy_before=$(sha256sum <"$SRC/m0.img.copy")
mount_mdfs
check "v1 copy: the array runs with the first of each" "m0.img m1.img" \
  "$(ls "$MNT/sys/block/md_oracle/md" | sed -n 's/^dev-//p' | sort | tr '\n' ' ' | sed 's/ $//')"
check "v1 copy: the log says why the copy is out" 1 \
  "$(grep -c 'm0.img.copy: not added to md_oracle: role 0 is taken by m0.img' "$T/mdfs.log")"
check "hard link: examined once" 1 "$(grep -c 'm1.img.link: the same file as m1.img: examined once' "$T/mdfs.log")"
unmount_mdfs
check "v1 copy: the copy untouched" "$copy_before" "$(sha256sum <"$SRC/m0.img.copy")"

# At mount, 0.90: two members alike refuse the array with mdadm's warning.
rm -f "$SRC"/*
xz -dc "$R0/member-0.img.xz" >"$SRC/m0.img"
xz -dc "$R0/member-1.img.xz" >"$SRC/m1.img"
cp "$SRC/m0.img" "$SRC/m0.img.copy"
mount_mdfs
check "0.90 copy: not assembled" "" "$(ls "$MNT/dev")"
check "0.90 copy: mdadm's warning" 1 "$(grep -c 'WARNING m0.img and m0.img.copy appear to have very similar superblocks' "$T/mdfs.log")"
unmount_mdfs
finish
