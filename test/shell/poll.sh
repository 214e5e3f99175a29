#!/bin/bash
# poll() as on sysfs and /proc/mdstat: a reader that has read an attribute
# and polls it for POLLPRI|POLLERR is woken by the next change the kernel
# would announce (array_state, sync_action, sync_completed, degraded,
# dev-*/state, proc/mdstat), and reads the new value from offset 0; a
# reader that has not read yet is answered at once (kernfs), a new mdstat
# reader is not (md_seq_open), and nothing wakes a reader without a change.
# The poller is a small Python program, through the real mount.
. "$(dirname "$0")/lib.sh"
requires python3
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/p{0,1,2,3}.img

# poller FILE [READ_FIRST]: opens FILE, reads it (unless READ_FIRST is no),
# prints "ready", polls for POLLPRI|POLLERR up to 20 s, then prints what
# woke it and the file's text read again from offset 0.
cat > "$T/poller.py" <<'EOF'
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
if len(sys.argv) < 3 or sys.argv[2] != "no":
    os.read(fd, 4096)
print("ready", flush=True)
p = select.poll()
p.register(fd, select.POLLPRI | select.POLLERR)
events = p.poll(int(sys.argv[3]) if len(sys.argv) > 3 else 20000)
woke = events and events[0][1] & (select.POLLPRI | select.POLLERR) == select.POLLPRI | select.POLLERR
os.lseek(fd, 0, os.SEEK_SET)
text = os.read(fd, 65536).decode(errors="replace")
print("woken" if woke else "not woken", text.splitlines()[0] if text else "")
EOF

# poller_start ID FILE: a poller on FILE in the background, once it has
# read; poller_check ID NAME PATTERN: it was woken, then read a first line
# matching PATTERN (an extended regular expression).
declare -A PIDS
poller_start() {
  # A fresh file: a "ready" left by an earlier poller must not be taken
  # for this one's (its shell may not have opened the file yet).
  rm -f "$T/poll.$1"
  python3 "$T/poller.py" "$2" >"$T/poll.$1.tmp" 2>&1 &
  PIDS[$1]=$!
  for _ in $(seq 200); do
    grep -qs '^ready' "$T/poll.$1.tmp" && return
    sleep 0.05
  done
  fail "poller $1 did not start"
}
poller_check() {
  wait "${PIDS[$1]}"
  mv "$T/poll.$1.tmp" "$T/poll.$1"
  local got
  got=$(sed -n 2p "$T/poll.$1")
  if [[ $got =~ ^woken\ $3$ ]]; then pass "$2"; else fail "$2: expected [woken $3], got [$got]"; fi
}
# watch NAME FILE PATTERN COMMAND...: one poller, woken by COMMAND.
watch() {
  local name=$1 file=$2 want=$3
  shift 3
  poller_start w "$file"
  "$@" >/dev/null 2>&1
  poller_check w "$name" "$want"
}

"$ADM" -CR "$MNT/dev/md0" -l5 -n3 -c64 p0.img p1.img p2.img 2>/dev/null
A=$MNT/sys/block/md0/md
watch "array_state: readonly wakes it" "$A/array_state" readonly "$ADM" --readonly "$MNT/dev/md0"
watch "array_state: read-write wakes it" "$A/array_state" clean "$ADM" --readwrite "$MNT/dev/md0"
# A write makes a clean array active; safe mode (here after 2 s) marks it
# clean again by itself.
printf 2 > "$A/safe_mode_delay"
watch "array_state: a write makes it active" "$A/array_state" active \
  dd if=/dev/zero of="$MNT/dev/md0" bs=4k count=1 conv=notrunc status=none
watch "array_state: safe mode marks it clean" "$A/array_state" clean true
watch "dev-p1.img/state: failing it" "$A/dev-p1.img/state" faulty "$ADM" "$MNT/dev/md0" --fail p1.img
printf 2000 > "$A/sync_speed_max"
"$ADM" "$MNT/dev/md0" --remove p1.img 2>/dev/null
watch "sync_action: the recovery onto an added spare starts" "$A/sync_action" recover \
  "$ADM" "$MNT/dev/md0" --add p3.img
watch "sync_completed: a checkpoint" "$A/sync_completed" "[0-9]+ / [0-9]+" true
poller_start state "$A/dev-p3.img/state"
poller_start degraded "$A/degraded"
printf system > "$A/sync_speed_max"
poller_check state "dev-p3.img/state: in sync when the recovery ends" in_sync
poller_check degraded "degraded: back to 0 once recovered" 0
printf 1000 > "$A/sync_speed_max"
"$ADM" --action=check "$MNT/dev/md0" 2>/dev/null
watch "sync_action: a check interrupted" "$A/sync_action" idle "$ADM" --action=idle "$MNT/dev/md0"
printf system > "$A/sync_speed_max"
check "recovered" "in_sync 0" "$(cat "$A/dev-p3.img/state") $(cat "$A/degraded")"

# proc/mdstat: md events.
watch "mdstat: a member failing is an md event" "$MNT/proc/mdstat" "Personalities : .*" \
  "$ADM" "$MNT/dev/md0" --fail p0.img
watch "mdstat: removing it is one" "$MNT/proc/mdstat" "Personalities : .*" \
  "$ADM" "$MNT/dev/md0" --remove p0.img
watch "mdstat: stopping an array is one" "$MNT/proc/mdstat" "Personalities : .*" \
  "$ADM" --stop "$MNT/dev/md0"
truncate -s 0 "$SRC/p0.img"
truncate -s 16M "$SRC/p0.img"
"$ADM" --zero-superblock "$SRC/p1.img" 2>/dev/null
watch "mdstat: starting one is one" "$MNT/proc/mdstat" "Personalities : .*" \
  "$ADM" -CR "$MNT/dev/md1" -l1 -n2 p0.img p1.img

settled md1  # its first resync's end would be an event of its own

# An attribute's reader that has not read is answered at once; a new
# mdstat reader has seen the events before it opened; without a change,
# nothing wakes a reader that has read (the poll times out).
check "unread attribute: POLLPRI at once" "ready woken clean" \
  "$(python3 "$T/poller.py" "$MNT/sys/block/md1/md/array_state" no 1000 | tr '\n' ' ' | sed 's/ $//')"
check "new mdstat reader: nothing pending" "ready not woken Personalities" \
  "$(python3 "$T/poller.py" "$MNT/proc/mdstat" no 300 | tr '\n' ' ' | cut -d' ' -f1-4)"
check "no change: not woken" "ready not woken clean" \
  "$(python3 "$T/poller.py" "$MNT/sys/block/md1/md/array_state" yes 300 | tr '\n' ' ' | sed 's/ $//')"
# A device file polls as a block device: always ready, never POLLPRI.
check "device file: readable, no POLLPRI" "ready not woken" \
  "$(python3 "$T/poller.py" "$MNT/dev/md1" yes 300 | tr '\n' ' ' | cut -d' ' -f1-3)"
"$ADM" --stop "$MNT/dev/md1" 2>/dev/null
unmount_mdfs
finish
