#!/bin/bash
# `meson install` installs mdfs so that `mount -t fuse.mdfs SOURCE MNT`
# works through mount.fuse3, with mdfs options passed along.
. "$(dirname "$0")/lib.sh"
requires mount.fuse3 meson
# mount(8) runs helpers with a fixed PATH, so this installs for real (as
# root, into meson's prefix); a staged copy checks what gets installed.
BUILD=$(dirname "$MDFS")
meson install -C "$BUILD" --destdir "$T/stage" --no-rebuild --quiet >/dev/null 2>&1 || { fail "meson install --destdir"; finish; }
for f in sbin/mdfs share/man/man8/mdfs.8; do
  find "$T/stage" -path "*/$f" | grep -q . && pass "installs $f" || fail "does not install $f"
done
[ "$(id -u)" = 0 ] || skip "the real install needs root"
meson install -C "$BUILD" --no-rebuild --quiet >/dev/null 2>&1 || { fail "meson install"; finish; }
bin=$(command -v mdfs)
mount -t fuse.mdfs "$SRC" "$MNT" -o create_on_open=N || fail "mount -t fuse.mdfs"
grep -q " $MNT fuse.mdfs " /proc/mounts && pass "mounted as fuse.mdfs" || fail "not in /proc/mounts"
check "the mdfs option reached it" N "$(cat "$MNT/sys/module/md_mod/parameters/create_on_open")"
umount "$MNT" && pass "umount" || fail "umount"
# fstab form: the same through a line of an fstab file.
echo "$SRC $MNT fuse.mdfs defaults,noauto 0 0" > "$T/fstab"
mount -T "$T/fstab" "$MNT" && pass "mount from an fstab line" || fail "fstab mount"
check "mounted from fstab" Y "$(cat "$MNT/sys/module/md_mod/parameters/create_on_open" 2>/dev/null)"
umount "$MNT" 2>/dev/null
finish
