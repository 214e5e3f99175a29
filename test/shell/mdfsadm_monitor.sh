#!/bin/bash
# mdfsadm --monitor reports mdadm's events, woken by poll() on proc/mdstat:
# the program given with --program receives "EVENT MD-DEVICE [MEMBER]" in
# mdadm's order: NewArray for each array at start, Fail when a member fails,
# then, once a spare is added, RebuildStarted, RebuildFinished and
# SpareActive; DeviceDisappeared when the array stops. Also --oneshot with
# --test (TestMessage) and DegradedArray, SparesMissing from a config's
# spares=, --mail through a sendmail-compatible command, stdout without a
# program, --daemonise with --pid-file, and mdadm's refusals.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/m{0,1,2,3}.img

cat > "$T/program" <<EOF
#!/bin/sh
echo "\$*" >> "$T/events"
EOF
chmod +x "$T/program"
: > "$T/events"
D=$MNT/dev/md0

# events_are WANT...: the program has received exactly these lines, in this
# order, within 20 s.
events_are() {
  local name=$1 want=$2
  for _ in $(seq 400); do
    [ "$(cat "$T/events")" = "$want" ] && break
    sleep 0.05
  done
  check "$name" "$want" "$(cat "$T/events")"
}

adm -CR --assume-clean "$D" -l5 -n3 -c64 m0.img m1.img m2.img
check "raid5 created" 0 "$RC"
"$ADM" --monitor --scan --mount "$MNT" --program="$T/program" --delay=600 2>"$T/monitor.err" &
MON=$!
events_are "at start: NewArray" "NewArray $D"
# A recovery slow enough to be seen running (16 MiB at 4 MB/s).
printf 4000 > "$MNT/sys/block/md0/md/sync_speed_max"
adm "$D" --fail m1.img
events_are "a member fails: Fail, naming it" "NewArray $D
Fail $D $SRC/m1.img"
adm "$D" --remove m1.img --add m3.img
check "--remove, --add" 0 "$RC"
"$ADM" --wait "$D" 2>/dev/null
events_are "after --add: RebuildStarted, RebuildFinished, SpareActive" "NewArray $D
Fail $D $SRC/m1.img
RebuildStarted $D
RebuildFinished $D
SpareActive $D $SRC/m3.img"
check "the monitor never slept a whole --delay" "" "$(cat "$T/monitor.err")"
: > "$T/events"
adm --stop "$D"
events_are "the array stops: DeviceDisappeared" "DeviceDisappeared $D"
# Nothing with redundancy is left: mdadm's monitor stops by itself.
for _ in $(seq 100); do kill -0 "$MON" 2>/dev/null || break; sleep 0.05; done
wait "$MON"; rc=$?
check "no array left: the monitor ends, exit 0" "0 mdfsadm: No array with redundancy detected, stopping" \
  "$rc $(cat "$T/monitor.err")"

# --oneshot --test: TestMessage for each array, DegradedArray for a new one
# that is degraded, SparesMissing when a config wants more spares; output
# on stdout without a program (mdadm's "time: EVENT on DEV MEMBER" lines).
"$ADM" --zero-superblock "$SRC"/m{0,1,2,3}.img 2>/dev/null
adm -CR "$MNT/dev/md1" -l1 -n2 m0.img missing
uuid=$("$ADM" --detail --export "$MNT/dev/md1" | sed -n 's/^MD_UUID=//p')
printf 'ARRAY /dev/md1 UUID=%s spares=1\n' "$uuid" > "$T/mdadm.conf"
: > "$T/events"
adm --monitor --oneshot --test --config="$T/mdadm.conf" --program="$T/program" --mount "$MNT" "$MNT/dev/md1"
check "--oneshot: exit 0" 0 "$RC"
events_are "--oneshot --test: TestMessage, DegradedArray, SparesMissing" "TestMessage $MNT/dev/md1
DegradedArray $MNT/dev/md1
SparesMissing $MNT/dev/md1"
adm --monitor --oneshot --test --mount "$MNT" "$MNT/dev/md1"
check "no program: events on stdout" "TestMessage on $MNT/dev/md1 unknown device|DegradedArray on $MNT/dev/md1 unknown device" \
  "$(sed -E 's/^[A-Z][a-z]{2} +[0-9]+ [0-9:]{8}: //' "$T/out" | paste -sd'|')"

# --mail: the message goes to a sendmail-compatible command, with mdadm's
# headers and words; only Fail*, Test*, Spares* and Degrade* are mailed.
cat > "$T/sendmail" <<EOF
#!/bin/sh
echo "args: \$*" >> "$T/mail"
cat >> "$T/mail"
EOF
chmod +x "$T/sendmail"
MDFSADM_SENDMAIL="$T/sendmail -t" "$ADM" --monitor --oneshot --test --mail=ops@example.org --mount "$MNT" \
  "$MNT/dev/md1" 2>/dev/null
check "--mail: two messages (TestMessage, DegradedArray)" 2 "$(grep -c '^args: -t$' "$T/mail")"
check "--mail: mdadm's headers" "To: ops@example.org|Subject: TestMessage event on $MNT/dev/md1:$(hostname)" \
  "$(grep -m2 -E '^(To|Subject):' "$T/mail" | paste -sd'|')"
check "--mail: mdadm's words, mdstat attached" "yes yes" \
  "$(grep -q "A TestMessage event had been detected on md device $MNT/dev/md1." "$T/mail" && echo yes) $(grep -q '^md1 : active raid1' "$T/mail" && echo yes)"

# --daemonise --pid-file: the parent returns at once, the daemon's pid is in
# the file, and it reports as the foreground one did.
: > "$T/events"
adm --monitor --scan --daemonise --pid-file="$T/pid" --program="$T/program" --mount "$MNT"
check "--daemonise: exit 0" 0 "$RC"
DAEMON=$(cat "$T/pid" 2>/dev/null)
check "--daemonise: a pid in the file, a live process" yes "$([ -n "$DAEMON" ] && kill -0 "$DAEMON" 2>/dev/null && echo yes)"
events_are "the daemon: NewArray, DegradedArray" "NewArray $MNT/dev/md1
DegradedArray $MNT/dev/md1"
adm --stop "$MNT/dev/md1"
events_are "the daemon: DeviceDisappeared" "NewArray $MNT/dev/md1
DegradedArray $MNT/dev/md1
DeviceDisappeared $MNT/dev/md1"
for _ in $(seq 100); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.05; done
check "the daemon ends with no array left, its pid file gone" "no no" \
  "$(kill -0 "$DAEMON" 2>/dev/null && echo yes || echo no) $([ -e "$T/pid" ] && echo yes || echo no)"
adm --assemble --run "$MNT/dev/md1" m0.img

# mdadm's refusals.
adm --monitor --scan --mount "$MNT"
check "--scan with nowhere to report: exit 1" "1 mdfsadm: No mail address or alert command - not monitoring." "$RC $(cat "$T/err")"
adm --monitor --mount "$MNT"
check "no array, no --scan: exit 1" 1 "$RC"
adm --monitor --pid-file="$T/x" --program=/bin/true "$MNT/dev/md1"
check "--pid-file without --daemonise: exit 1" "1 mdfsadm: Cannot write a pid file when not in daemon mode" "$RC $(cat "$T/err")"
adm --monitor --increment=100 --program=/bin/true "$MNT/dev/md1"
check "--increment out of 1..99: exit 2" 2 "$RC"
adm --stop "$MNT/dev/md1"
unmount_mdfs
finish
