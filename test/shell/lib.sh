# Shared by the behaviour tests: mount a shelf, act on it as a user would,
# and always unmount and kill what was started, even when a test fails.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MDFS=${MDFS:-$ROOT/build/mdfs}
MDFS_IOCTL=${MDFS_IOCTL:-$(dirname "$MDFS")/tools/mdfs-ioctl}
# The project's kernel-made arrays (test/fixtures/README.md; made by
# tools/kernel-oracle/oracle regenerate).
FIXTURES=${FIXTURES:-$ROOT/test/fixtures/kernel-md}
FIXTURES_STATES=${FIXTURES_STATES:-$ROOT/test/fixtures/kernel-md-states}

T=$(mktemp -d /tmp/mdfs-test.XXXXXX)
SRC=$T/src
MNT=$T/mnt
mkdir -p "$SRC" "$MNT"
FAILED=0

# cleanup: every mount on $MNT goes, even mounts stacked on one another (a
# failing test may mount again without unmounting), before the folder is
# removed: rm must never walk into a live mount.
cleanup() {
  local n
  for n in 1 2 3 4 5 6 7 8; do
    mountpoint -q "$MNT" 2>/dev/null || break
    fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
  done
  [ -n "${MDFS_PID:-}" ] && kill "$MDFS_PID" 2>/dev/null
  if mountpoint -q "$MNT" 2>/dev/null; then
    echo "FAIL: $MNT is still mounted; $T left in place"
    exit 1
  fi
  rm -rf "$T"
}
trap cleanup EXIT

# requires TOOL...: every tool a test uses comes with tools/install-deps,
# so a missing one fails the test (it never passes or skips unseen).
requires() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FAIL: needs $tool (tools/install-deps installs it)"; exit 1; }
  done
}

# skip WHY: exit 77, for what cannot exist on some machines (not a tool
# tools/install-deps would install); tools/run-tests names every skip.
skip() { echo "SKIP: $*"; exit 77; }

# fixture_cases [DIR]: the cases of a fixture set (DIR/cases.txt, written by
# the oracle from its table), one a line; the test fails at once when the
# index is missing or empty or a case's folder lacks its manifest.
fixture_cases() {
  local dir=${1:-$FIXTURES} c n=0
  [ -s "$dir/cases.txt" ] || { echo "FAIL: no fixture index $dir/cases.txt" >&2; exit 1; }
  while read -r c; do
    [ -n "$c" ] || continue
    [ -f "$dir/$c/manifest.json" ] || { echo "FAIL: fixture $dir/$c has no manifest.json" >&2; exit 1; }
    echo "$c"
    n=$((n + 1))
  done < "$dir/cases.txt"
  [ "$n" -gt 0 ] || { echo "FAIL: no fixture cases in $dir" >&2; exit 1; }
}

# checked_cases WHAT WANT GOT: a fixture loop checked as many cases as it
# should have (and some): a loop that checks nothing fails.
checked_cases() {
  if [ "$3" -gt 0 ] && [ "$2" = "$3" ]; then pass "$1: $3 cases checked"; else fail "$1: $3 cases checked, want ${2}"; fi
}

# wait_up NAME PID PATH LOG: waits (5 s at most) until PATH exists under
# the FUSE daemon PID; a daemon that exits meanwhile, or a mount that never
# answers, fails the test at once (LOG shown).
wait_up() {
  for _ in $(seq 100); do
    [ -e "$3" ] && return 0
    kill -0 "$2" 2>/dev/null || { cat "$4"; fail "$1 exited at mount"; exit 1; }
    sleep 0.05
  done
  fail "$1 did not come up"
  exit 1
}

# mount_mdfs [mdfs options...]: mounts $SRC on $MNT in the foreground
# process $MDFS_PID, waiting until the mount answers.
mount_mdfs() {
  "$MDFS" -f "$@" "$SRC" "$MNT" 2>"$T/mdfs.log" &
  MDFS_PID=$!
  wait_up mdfs "$MDFS_PID" "$MNT/dev" "$T/mdfs.log"
}

# unmount_mdfs: unmounts and checks the daemon exits with status 0.
unmount_mdfs() {
  fusermount3 -u "$MNT" || fail "fusermount3 -u failed"
  local rc=0
  wait "$MDFS_PID" || rc=$?
  MDFS_PID=
  [ "$rc" -eq 0 ] || { fail "mdfs exited with status $rc"; daemon_log; }
}

# daemon_log: the mount's log, from a sanitizer's report when there is one.
daemon_log() {
  if grep -q "ERROR: .*Sanitizer\|runtime error" "$T/mdfs.log" 2>/dev/null; then
    sed -n '/ERROR: .*Sanitizer\|runtime error/,$p' "$T/mdfs.log" | head -80
  else
    tail -30 "$T/mdfs.log" 2>/dev/null
  fi
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

# settled NAME: a new array's first resync or recovery has run (mdfsadm
# --create may return before it starts): idle, nothing owed, nothing missing.
settled() {
  local adm=${ADM:-$(dirname "$MDFS")/tools/mdfsadm} state
  for _ in $(seq 100); do
    "$adm" --wait "$MNT/dev/$1" 2>/dev/null
    state="$(cat "$(sys "$1" sync_action)" 2>/dev/null || echo idle) $(cat "$(sys "$1" resync_start)" 2>/dev/null ||
      echo none) $(cat "$(sys "$1" degraded)" 2>/dev/null || echo 0)"
    [ "$state" = "idle none 0" ] && return 0
    sleep 0.1
  done
  fail "$1: the new array never settled: $state"
}

finish() {
  [ "$FAILED" -eq 0 ] && exit 0
  echo "--- mdfs log:"; cat "$T/mdfs.log" 2>/dev/null | tail -20
  exit 1
}
