#!/bin/bash
# mdfsadm's manage and misc modes act through the mount as mdadm through
# the kernel: --fail/--remove/--add on members (also mdadm's
# "DEV --fail M --remove M" order), --readonly/--readwrite, --stop (refused
# while the array is open), --assemble (listed members, and --scan), --run,
# --action and --wait; a mount whose SOURCE is a relative path; errors as one
# line with mdadm's exit status.
. "$(dirname "$0")/lib.sh"
requires cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/a{0,1,2,3}.img "$SRC"/s{0,1}.img
D=$MNT/dev/md1
adm --create "$D" -l1 -n3 a0.img a1.img a2.img
check "raid1 created" 0 "$RC"
head -c "$(stat -c %s "$D")" /dev/urandom > "$T/ref"
dd if="$T/ref" of="$D" bs=1M conv=fsync status=none

adm "$D" --fail a1.img
check "--fail: exit 0, message" "0 mdfsadm: set $SRC/a1.img faulty in $D" "$RC $(cat "$T/err")"
check "--fail: member state faulty" faulty "$(cat "$(sys md1 dev-a1.img/state)")"
adm "$D" --remove "$SRC/a1.img"
check "--remove: exit 0, message" "0 mdfsadm: hot removed $SRC/a1.img from $D" "$RC $(cat "$T/err")"
check "--remove: member gone" no "$([ -e "$(sys md1 dev-a1.img)" ] && echo yes || echo no)"
adm "$D" --remove a2.img
check "--remove of a working member: exit 1 (EBUSY)" "1 mdfsadm: hot remove failed for $SRC/a2.img: Device or resource busy" "$RC $(cat "$T/err")"
adm "$D" --fail a3.img
check "--fail of a file not in the array: exit 1, one line" "1 1" "$RC $(wc -l < "$T/err")"
# mdadm's order: each op applies to the members after it.
adm "$D" --fail a2.img --remove a2.img
check "--fail M --remove M in one command" "0 no" "$RC $([ -e "$(sys md1 dev-a2.img)" ] && echo yes || echo no)"
check "one member left" "[3/1] [U__]" "$(grep -A1 '^md1 ' "$MNT/proc/mdstat" | grep -o '\[3/1\] \[U__\]')"
cmp -s "$D" "$T/ref" && pass "data intact on one member" || fail "data changed"
adm "$D" --fail a0.img
check "failing the last member: exit 1" 1 "$RC"
adm --add "$D" a3.img
check "--add: exit 0" 0 "$RC"
check "--add: message" "mdfsadm: added $SRC/a3.img" "$(head -1 "$T/err")"
check "--add: a member of the array" yes "$([ -e "$(sys md1 dev-a3.img)" ] && echo yes)"
# As the kernel, the degraded mirror is rebuilt onto it at once.
"$ADM" --wait "$D" 2>/dev/null
check "--add: rebuilt into the missing role" "in_sync 1 [3/2] [UU_]" \
  "$(cat "$(sys md1 dev-a3.img/state)") $(cat "$(sys md1 dev-a3.img/slot)") $(grep -A1 '^md1 ' "$MNT/proc/mdstat" | grep -o '\[3/2\] \[UU_\]')"
check "--add: no complaint about recovery" no "$(grep -q 'no recovery' "$T/err" && echo yes || echo no)"
cmp -s "$D" "$T/ref" && pass "--add: data intact after the rebuild" || fail "data changed by the rebuild"
# What follows wants the mirror on a0 alone, and the members that left it
# blank (a stale member alone would be assembled by --scan).
"$ADM" "$D" --fail a3.img --remove a3.img 2>/dev/null
truncate -s 0 "$SRC"/a{1,2,3}.img
truncate -s 8M "$SRC"/a{1,2,3}.img
adm "$D" --add nothere.img
check "--add of a missing file: exit 1, one line naming it" "1 1 yes" "$RC $(wc -l < "$T/err") $(grep -q nothere.img "$T/err" && echo yes)"
adm "$D" --add a0.img
check "--add of a member in use: exit 1" 1 "$RC"
adm "$D" a0.img
check "member without an op: exit 2" 2 "$RC"

# --readonly and --readwrite.
adm --readonly "$D"
check "--readonly: exit 0" 0 "$RC"
check "--readonly: array_state" readonly "$(cat "$(sys md1 array_state)")"
check "--readonly: ro" 1 "$(cat "$MNT/sys/block/md1/ro")"
dd if=/dev/zero of="$D" bs=4k count=1 conv=notrunc status=none 2>/dev/null && fail "write to a read-only array worked" || pass "read-only array refuses writes"
adm --readwrite "$D"
check "--readwrite: exit 0, writable" "0 0" "$RC $(cat "$MNT/sys/block/md1/ro")"

# --action writes sync_action; mdfsadm answers as that write does: a check
# (slowed down to be seen) runs, a repair meanwhile is refused (EBUSY), idle
# interrupts it.
printf 1000 > "$(sys md1 sync_speed_max)"
adm --action=check "$D"
check "--action=check: exit 0, running" "0 check" "$RC $(cat "$(sys md1 sync_action)")"
adm --action=repair "$D"
check "--action=repair while checking: exit 1, one line, EBUSY" "1 1 Device or resource busy" "$RC $(wc -l < "$T/err") $(sed 's/.*: //' "$T/err")"
adm --action=idle "$D"
check "--action=idle: exit 0, interrupted" "0 idle" "$RC $(cat "$(sys md1 sync_action)")"
printf system > "$(sys md1 sync_speed_max)"
adm --action=sideways "$D"
check "--action=sideways: exit 2" 2 "$RC"
adm --wait "$D"
check "--wait with nothing running: exit 1 at once" 1 "$RC"
adm --wait "$MNT/dev/md9"
check "--wait on no array: exit 2" 2 "$RC"

# --stop: refused while someone holds the array open, as the kernel.
exec 3<"$D"
adm --stop "$D"
check "--stop while open: exit 1" 1 "$RC"
check "--stop while open: mdadm's message" "mdfsadm: Cannot get exclusive access to $D:Perhaps a running process, mounted filesystem or active volume group?" "$(cat "$T/err")"
exec 3<&-
# An opener that closes within the retries (as a filesystem daemon exiting
# after its unmount) does not make the stop fail.
exec 3<"$D"
sleep 0.4 &  # holds the open file until it exits
CLOSER=$!
exec 3<&-
adm --stop "$D"
check "--stop while an opener closes: exit 0, message" "0 mdfsadm: stopped $D" "$RC $(cat "$T/err")"
wait "$CLOSER"
eventually "--stop: the array is gone" no exists md1
adm --stop "$D"
check "--stop of no array: exit 1" 1 "$RC"
adm --stop
check "--stop without an array: exit 2" 2 "$RC"

# --assemble from listed members: the data is back.
adm --assemble "$D" a0.img
check "--assemble: exit 0" 0 "$RC"
check "--assemble: message" "mdfsadm: $D has been started with 1 drive (out of 3)." "$(cat "$T/err")"
cmp -s "$D" "$T/ref" && pass "--assemble: same data" || fail "--assemble: data differs"
"$ADM" --stop "$D" 2>/dev/null
adm --assemble "$D" s0.img
check "--assemble of a blank file: exit 1, no array" "1 no" "$RC $(exists md1)"
check "--assemble of a blank file: mdadm's two lines" "mdfsadm: no recogniseable superblock on $SRC/s0.img
mdfsadm: $SRC/s0.img has no superblock - assembly aborted" "$(cat "$T/err")"

# --assemble --scan: every array in SOURCE not yet running, named as mdfs
# names them at mount (host:1 is md1).
adm --create "$MNT/dev/md_pair" -l1 -n2 s0.img s1.img
"$ADM" --stop "$MNT/dev/md_pair" 2>/dev/null
eventually "pair stopped" no exists md_pair
adm --assemble --scan --mount "$MNT"
check "--assemble --scan: exit 0" 0 "$RC"
check "--assemble --scan: both arrays" "yes yes" "$(exists md1) $(exists md_pair)"
cmp -s "$D" "$T/ref" && pass "--assemble --scan: same data" || fail "--assemble --scan: data differs"
adm --assemble --scan --mount "$MNT"
check "--assemble --scan with nothing left: exit 1" 1 "$RC"

# --run starts an array assembled through sysfs but not started.
adm --stop --scan --mount "$MNT"
check "--stop --scan: exit 0" 0 "$RC"
eventually "--stop --scan: all gone" "" ls "$MNT/dev"
printf md_pair > "$(param new_array)"
printf 1.2 > "$(sys md_pair metadata_version)"
printf s0.img > "$(sys md_pair new_dev)"
printf s1.img > "$(sys md_pair new_dev)"
adm --run "$MNT/dev/md_pair"
check "--run: exit 0, running" "0 clean" "$RC $(cat "$(sys md_pair array_state)")"

# Bare array names need the mount; with several mounts, --mount says which.
adm --detail md_pair --mount "$MNT"
check "bare name with --mount" 0 "$RC"
adm --detail "$MNT/dev/md_pair" --fail s0.img
check "two modes: exit 2" 2 "$RC"
adm md_pair --mount "$MNT"
check "a device and no mode: --query, as mdadm" "0 md_pair: raid1 2 devices, 0 spares. Use mdadm --detail for more detail." \
  "$RC $(head -1 "$T/out" | sed 's/ [0-9.]*MiB//')"
adm md_pair s0.img --mount "$MNT"
check "two devices and no mode: exit 2" 2 "$RC"
unmount_mdfs

# A SOURCE given to mdfs as a relative path: mdfsadm finds the folder.
mkdir -p "$T/rel/src" "$T/rel/mnt"
truncate -s 8M "$T/rel/src/r0.img" "$T/rel/src/r1.img"
(cd "$T/rel" && exec "$MDFS" -f src mnt 2>"$T/rel.log") &
REL_PID=$!
for _ in $(seq 100); do [ -d "$T/rel/mnt/dev" ] && break; sleep 0.05; done
check "relative mount recorded as such" src "$(awk -v m="$T/rel/mnt" '$2 == m {print $1}' /proc/mounts)"
adm --create "$T/rel/mnt/dev/md0" -l1 -n2 r0.img "$T/rel/src/r1.img"
check "relative SOURCE: create with bare and full member names" 0 "$RC"
adm --detail "$T/rel/mnt/dev/md0"
check "relative SOURCE: detail names the member files" "$T/rel/src/r0.img" "$(grep -o "$T/rel/src/r0.img" "$T/out")"
fusermount3 -u "$T/rel/mnt"
wait "$REL_PID"
finish
