#!/bin/bash
# Invocation: --help, --version, and one-line errors with exit status 1 for
# an unknown option, a missing SOURCE, a SOURCE that is not a folder.
. "$(dirname "$0")/lib.sh"

"$MDFS" --help > "$T/help" 2>&1; check "--help exits 0" 0 $?
grep -q "SOURCE" "$T/help" && grep -q "create_on_open" "$T/help" && pass "--help names SOURCE and the options" || fail "--help text"
check "--version" "mdfs 0.1.0" "$("$MDFS" --version | cut -d' ' -f1,2)"

expect_error() {  # name, expected message part, args...
  local name=$1 want=$2
  shift 2
  "$MDFS" "$@" > "$T/out" 2>&1
  local rc=$?
  check "$name: exit status 1" 1 "$rc"
  check "$name: one line" 1 "$(wc -l < "$T/out")"
  grep -q -- "$want" "$T/out" && pass "$name: says '$want'" || fail "$name: message was: $(cat "$T/out")"
  mountpoint -q "$MNT" && fail "$name: something got mounted"
}
expect_error "unknown -o option" "unknown option '-o bogus'" -o bogus "$SRC" "$MNT"
expect_error "bad create_on_open value" "create_on_open takes Y or N" -o create_on_open=maybe "$SRC" "$MNT"
expect_error "bad assemble value" "assemble takes auto or none" -o assemble=sometimes "$SRC" "$MNT"
expect_error "missing SOURCE" "No such file or directory" "$T/nonexistent" "$MNT"
touch "$T/file"
expect_error "SOURCE not a folder" "is not a folder" "$T/file" "$MNT"
expect_error "unknown flag" "--bogus" --bogus "$SRC" "$MNT"
expect_error "no MOUNTPOINT" "MOUNTPOINT" "$SRC"

# FUSE's own options pass through; mount(8)-only ones are ignored.
mount_mdfs -o default_permissions,noatime,nofail,x-systemd.automount
grep " $MNT fuse.mdfs " /proc/mounts | grep -q default_permissions && pass "FUSE options reach the mount" || fail "default_permissions not in /proc/mounts"
# max_read: by default half the largest pipe, so replies are spliced.
want=$(( $(cat /proc/sys/fs/pipe-max-size) / 2 ))
[ "$want" -gt 1048576 ] && want=1048576
[ "$want" -lt 131072 ] && want=131072
check "default max_read: half of fs.pipe-max-size" "$want" \
  "$(grep " $MNT fuse.mdfs " /proc/mounts | grep -o 'max_read=[0-9]*' | cut -d= -f2)"
unmount_mdfs
# A max_read given is kept, and 1 MiB reads of an array still come back whole.
for d in a b; do truncate -s 8M "$SRC/$d.img"; done
mount_mdfs -o max_read=65536
check "-o max_read=65536 reaches the mount" 65536 \
  "$(grep " $MNT fuse.mdfs " /proc/mounts | grep -o 'max_read=[0-9]*' | cut -d= -f2)"
echo md0 >"$MNT/sys/module/md_mod/parameters/new_array"
echo 1.2 >"$MNT/sys/block/md0/md/metadata_version"
echo raid0 >"$MNT/sys/block/md0/md/level"
echo 2 >"$MNT/sys/block/md0/md/raid_disks"
echo 65536 >"$MNT/sys/block/md0/md/chunk_size"
for d in a b; do echo "$d.img" >"$MNT/sys/block/md0/md/new_dev"; done
echo 0 >"$MNT/sys/block/md0/md/dev-a.img/slot"
echo 1 >"$MNT/sys/block/md0/md/dev-b.img/slot"
echo active >"$MNT/sys/block/md0/md/array_state"
head -c 4M /dev/urandom >"$T/data"
dd if="$T/data" of="$MNT/dev/md0" bs=1M oflag=direct status=none
dd if="$MNT/dev/md0" of="$T/back" bs=1M count=4 iflag=direct status=none
cmp -s "$T/data" "$T/back"; check "1 MiB direct reads with max_read=65536 return the data written" 0 $?
unmount_mdfs
rm -f "$SRC"/*.img

# Background mode (no -f): mounts, then unmount makes the daemon exit.
"$MDFS" "$SRC" "$MNT" || fail "background mount"
mountpoint -q "$MNT" && pass "mounted in the background" || fail "not mounted"
pid=$(pgrep -f -x -- "$MDFS $SRC $MNT")  # this test's daemon, not another test's
[ -n "$pid" ] && pass "the daemon runs in the background" || fail "no daemon serves $MNT"
fusermount3 -u "$MNT"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "daemon still running after unmount" || pass "daemon exits at unmount"
finish
