#!/bin/bash
# SIGTERM to an mdfs mounted on a relative path (as a daemon, whose folder
# becomes /) unmounts it and stops its arrays cleanly: no dead mount
# ("Transport endpoint is not connected") is left behind, and the
# superblocks are marked clean. The same in the foreground with SIGHUP
# (SIGINT is ignored by a job a script starts in the background).
. "$(dirname "$0")/lib.sh"
requires xz od mountpoint
R1=$FIXTURES/raid1-2
[ -f "$R1/member-0.img.xz" ] || { fail "fixture missing: $R1"; finish; }
# Names of this test's own, so that the daemon's command line is its alone.
tag=$(basename "$T")
shelf=shelf.$tag mnt=mnt.$tag
cd "$T" && mkdir "$shelf" "$mnt" || exit 1
trap 'mountpoint -q "$T/$mnt" && { fusermount3 -u "$T/$mnt" 2>/dev/null || umount -l "$T/$mnt"; }; cleanup' EXIT
xz -dc "$R1/member-0.img.xz" >"$shelf/m0.img"
xz -dc "$R1/member-1.img.xz" >"$shelf/m1.img"
resync_offset() { od -An -t x8 -j $((4096 + 208)) -N 8 "$shelf/$1" | tr -d ' '; }

# stop_with SIGNAL PID: sends it and waits (10 s at most) for the exit.
stop_with() {
  kill -"$1" "$2"
  for _ in $(seq 200); do kill -0 "$2" 2>/dev/null || return 0; sleep 0.05; done
  return 1
}
up() { for _ in $(seq 100); do [ -d "$mnt/dev" ] && return 0; sleep 0.05; done; return 1; }

"$MDFS" "$shelf" "$mnt" 2>"$T/mdfs.log" || fail "daemon did not start"
up || fail "the daemon's mount did not come up"
pid=$(pgrep -x -f "$MDFS $shelf $mnt")
check "one daemon" 1 "$(echo "$pid" | wc -w)"
# A write leaves the array dirty (active) until it is stopped.
dd if=/dev/zero of="$mnt/dev/md_oracle" bs=4k count=1 seek=10 conv=notrunc status=none
check "dirty while written" 0000000000000000 "$(resync_offset m0.img)"
stop_with TERM "$pid" && pass "SIGTERM: the daemon exits" || fail "SIGTERM: still running"
mountpoint -q "$mnt" && fail "SIGTERM: still mounted" || pass "SIGTERM: unmounted"
stat "$mnt" >/dev/null 2>"$T/err" && pass "SIGTERM: the mount point is a plain folder again" ||
  fail "SIGTERM: $(cat "$T/err")"
check "SIGTERM: superblocks clean" "ffffffffffffffff ffffffffffffffff" "$(resync_offset m0.img) $(resync_offset m1.img)"

"$MDFS" -f "$shelf" "$mnt" 2>"$T/mdfs.log" &
fg=$!
up || fail "the foreground mount did not come up"
dd if=/dev/zero of="$mnt/dev/md_oracle" bs=4k count=1 seek=10 conv=notrunc status=none
stop_with HUP "$fg" && pass "SIGHUP: exits" || fail "SIGHUP: still running"
wait "$fg"
check "SIGHUP: exit status 0" 0 "$?"
mountpoint -q "$mnt" && fail "SIGHUP: still mounted" || pass "SIGHUP: unmounted"
check "SIGHUP: superblocks clean" "ffffffffffffffff ffffffffffffffff" "$(resync_offset m0.img) $(resync_offset m1.img)"
finish
