# Shared by the behaviour tests: mount a shelf, act on it as a user would,
# and always unmount and kill what was started, even when a test fails.
set -u

MDFS=${MDFS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/mdfs}
MDFS_IOCTL=${MDFS_IOCTL:-$(dirname "$MDFS")/tools/mdfs-ioctl}
FIXTURES=${FIXTURES:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/../shared/fixtures/kernel-md}

T=$(mktemp -d /tmp/mdfs-test.XXXXXX)
SRC=$T/src
MNT=$T/mnt
mkdir -p "$SRC" "$MNT"
FAILED=0

cleanup() {
  if mountpoint -q "$MNT" 2>/dev/null; then
    fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
  fi
  [ -n "${MDFS_PID:-}" ] && kill "$MDFS_PID" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT

# Skip the test (exit 77) when a tool it needs is missing.
requires() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: needs $tool"; exit 77; }
  done
}

# mount_mdfs [mdfs options...]: mounts $SRC on $MNT in the foreground
# process $MDFS_PID, waiting until the mount answers.
mount_mdfs() {
  "$MDFS" -f "$@" "$SRC" "$MNT" 2>"$T/mdfs.log" &
  MDFS_PID=$!
  for _ in $(seq 100); do
    [ -d "$MNT/dev" ] && return 0
    kill -0 "$MDFS_PID" 2>/dev/null || { cat "$T/mdfs.log"; fail "mdfs exited at mount"; exit 1; }
    sleep 0.05
  done
  fail "mount did not come up"
  exit 1
}

# unmount_mdfs: unmounts and checks the daemon exits with status 0.
unmount_mdfs() {
  fusermount3 -u "$MNT" || fail "fusermount3 -u failed"
  local rc=0
  wait "$MDFS_PID" || rc=$?
  MDFS_PID=
  [ "$rc" -eq 0 ] || fail "mdfs exited with status $rc"
}

fail() { echo "FAIL: $*"; FAILED=1; }
pass() { echo "ok: $*"; }

# check NAME EXPECTED ACTUAL
check() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected [$2], got [$3]"; fi
}

# sysw PATH VALUE: one write(2) of VALUE, printing ok or the error's text.
sysw() {
  local out
  if out=$( (printf '%s' "$2" > "$1") 2>&1); then echo ok; else echo "${out##*: }"; fi
}

sys() { echo "$MNT/sys/block/$1/md/$2"; }
param() { echo "$MNT/sys/module/md_mod/parameters/$1"; }
exists() { [ -e "$MNT/sys/block/$1" ] && [ -e "$MNT/dev/$1" ] && echo yes || echo no; }

# eventually NAME EXPECTED COMMAND...: the command's output becomes EXPECTED
# within 2 s (a release reaches the daemon just after close(2) returns).
eventually() {
  local name=$1 want=$2 got
  shift 2
  for _ in $(seq 40); do
    got=$("$@")
    [ "$got" = "$want" ] && { pass "$name"; return; }
    sleep 0.05
  done
  fail "$name: expected [$want], got [$got]"
}

finish() {
  [ "$FAILED" -eq 0 ] && exit 0
  echo "--- mdfs log:"; cat "$T/mdfs.log" 2>/dev/null | tail -20
  exit 1
}
