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
unmount_mdfs

# Background mode (no -f): mounts, then unmount makes the daemon exit.
"$MDFS" "$SRC" "$MNT" || fail "background mount"
mountpoint -q "$MNT" && pass "mounted in the background" || fail "not mounted"
pid=$(pgrep -n -x mdfs)
fusermount3 -u "$MNT"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$pid" 2>/dev/null && fail "daemon still running after unmount" || pass "daemon exits at unmount"
finish
