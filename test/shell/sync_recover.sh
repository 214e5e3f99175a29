#!/bin/bash
# Recovery onto a spare, as the kernel's: a failed member leaves its role
# (slot none, recovery_start 0, (F) in mdstat); a blank spare added to the
# degraded array takes the missing role at once and is rebuilt, showing
# sync_action recover, its slot, state spare, recovery_start advancing, its
# role and recovery offset in its superblock, and the mdstat recovery line;
# then it is in sync, degraded is 0, and the array assembled from the
# rebuilt member with only the fewest others reads the same data (writes
# made during the rebuild included) on raid1, raid5, raid6 and raid10.
# Frozen keeps a spare waiting; a stop mid-recovery resumes it later.
. "$(dirname "$0")/lib.sh"
requires cmp sha256sum mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
examine() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n "s/^ *$2 : //p"; }
md() { cat "$(sys $1 $2)"; }
mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/m5-{0,1,2,3}.img "$SRC"/m1-{0,1}.img "$SRC"/m6-{0,1,2,3,4}.img "$SRC"/m10-{0,1,2,3}.img \
  "$SRC"/spare{1,5,6a,6b,10,x}.img
"$ADM" --create "$MNT/dev/md5" -l5 -n4 -c64 m5-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md1" -l1 -n2 m1-{0,1}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md6" -l6 -n5 -c64 m6-{0,1,2,3,4}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md10" -l10 -n4 -c64 m10-{0,1,2,3}.img 2>/dev/null
for a in md5 md1 md6 md10; do
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom > "$T/$a.ref"
  dd if="$T/$a.ref" of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
done

# raid5, step by step as in the kernel's transcript.
"$ADM" "$MNT/dev/md5" --fail m5-1.img 2>/dev/null
check "failed: state, slot, recovery_start" "faulty none 0" "$(md md5 dev-m5-1.img/state) $(md md5 dev-m5-1.img/slot) $(md md5 dev-m5-1.img/recovery_start)"
check "failed: degraded 1, idle" "1 idle" "$(md md5 degraded) $(md md5 sync_action)"
check "failed: mdstat" "md5 : active raid5 m5-3.img[3] m5-2.img[2] m5-1.img[1](F) m5-0.img[0] [4/3] [U_UU]" \
  "$(grep '^md5 :' "$MNT/proc/mdstat") $(grep -A1 '^md5 :' "$MNT/proc/mdstat" | grep -o '\[4/3\] \[U_UU\]')"
check "failed: no rd1 link" no "$([ -e "$(sys md5 rd1)" ] && echo yes || echo no)"
check "failed: the others' superblocks miss role 1" "A.AA" "$(examine m5-0.img 'Array State' | cut -c1-4)"
# dev_roles[1] of a v1.2 superblock (byte 256 + 2 * dev_number): faulty.
check "failed: its dev_roles entry is 0xfffe" 65534 "$(od -An -tu2 -j $((4096 + 256 + 2)) -N2 "$SRC/m5-0.img" | tr -d ' ')"
"$ADM" "$MNT/dev/md5" --remove m5-1.img 2>/dev/null
check "removed" no "$([ -e "$(sys md5 dev-m5-1.img)" ] && echo yes || echo no)"
sysw "$(sys md5 sync_speed_max)" 1000 >/dev/null
"$ADM" "$MNT/dev/md5" --add spare5.img 2>/dev/null
check "spare added: recovering" recover "$(md md5 sync_action)"
check "spare: slot 1, state spare" "1 spare" "$(md md5 dev-spare5.img/slot) $(md md5 dev-spare5.img/state)"
check "spare: rd1 link" dev-spare5.img "$(readlink "$(sys md5 rd1)")"
# Writes during the rebuild reach the spare too.
for at in 100000 3000000 9000000 20000000; do
  head -c 70000 /dev/urandom > "$T/patch"
  dd if="$T/patch" of="$MNT/dev/md5" bs=70000 seek=$at oflag=seek_bytes conv=notrunc,fsync status=none
  dd if="$T/patch" of="$T/md5.ref" bs=70000 seek=$at oflag=seek_bytes conv=notrunc status=none
done
sleep 2.2
rs=$(md md5 dev-spare5.img/recovery_start)
[[ "$rs" =~ ^[0-9]+$ ]] && [ "$rs" -gt 0 ] && pass "recovery_start advances ($rs)" || fail "recovery_start [$rs]"
[[ "$(md md5 sync_completed)" =~ ^[0-9]+\ /\ 14336$ ]] && pass "sync_completed in member sectors" || fail "sync_completed [$(md md5 sync_completed)]"
check "spare's superblock: its role and recovery offset" "Active device 1 $rs sectors" \
  "$(examine spare5.img 'Device Role') $(examine spare5.img 'Recovery Offset')"
grep -A1 '^md5 :' "$MNT/proc/mdstat" | head -1 | grep -q 'spare5.img\[4\] m5-3.img\[3\]' && pass "mdstat: the spare numbered 4, no (S)" || fail "mdstat: $(grep '^md5 :' "$MNT/proc/mdstat")"
line=$(grep -A2 '^md5 :' "$MNT/proc/mdstat" | sed -n 3p)
[[ "$line" =~ ^\ {6}\[=*\>\.*\]\ \ recovery\ =\ *[0-9]+\.[0-9]%\ \([0-9]+/7168\)\ finish=[0-9]+\.[0-9]min\ speed=[0-9]+K/sec$ ]] &&
  pass "mdstat recovery line" || fail "mdstat recovery line [$line]"
check "still [4/3] [U_UU] while recovering" "[4/3] [U_UU]" "$(grep -A1 '^md5 :' "$MNT/proc/mdstat" | grep -o '\[4/3\] \[U_UU\]')"
check "check while recovering: EBUSY" "Device or resource busy" "$(sysw "$(sys md5 sync_action)" check)"
sysw "$(sys md5 sync_speed_max)" system >/dev/null
"$ADM" --wait "$MNT/dev/md5" 2>/dev/null
check "recovered: in_sync, slot 1, recovery_start none" "in_sync 1 none" "$(md md5 dev-spare5.img/state) $(md md5 dev-spare5.img/slot) $(md md5 dev-spare5.img/recovery_start)"
check "recovered: degraded 0, idle, last_sync_action recover" "0 idle recover" "$(md md5 degraded) $(md md5 sync_action) $(md md5 last_sync_action)"
check "recovered: [4/4] [UUUU]" "[4/4] [UUUU]" "$(grep -A1 '^md5 :' "$MNT/proc/mdstat" | grep -o '\[4/4\] \[UUUU\]')"
check "recovered: superblock without recovery offset" "Active device 1 0x0" "$(examine spare5.img 'Device Role') $(examine spare5.img 'Feature Map')"
cmp -s "$MNT/dev/md5" "$T/md5.ref" && pass "md5: data intact" || fail "md5: data differs"
sysw "$(sys md5 sync_action)" check >/dev/null
"$ADM" --wait "$MNT/dev/md5" 2>/dev/null
check "md5: check after recovery finds nothing" 0 "$(md md5 mismatch_cnt)"

# raid1, raid6 (two at once) and raid10 rebuild too.
"$ADM" "$MNT/dev/md1" --fail m1-0.img --remove m1-0.img --add spare1.img 2>/dev/null
"$ADM" "$MNT/dev/md6" --fail m6-1.img --remove m6-1.img --fail m6-3.img --remove m6-3.img 2>/dev/null
check "md6: two missing" 2 "$(md md6 degraded)"
"$ADM" "$MNT/dev/md6" --add spare6a.img spare6b.img 2>/dev/null
sysw "$(sys md10 sync_speed_max)" 1000 >/dev/null
"$ADM" "$MNT/dev/md10" --fail m10-1.img --remove m10-1.img --add spare10.img 2>/dev/null
sleep 2.2
# raid10 rebuilds member sectors too, recording how far it got.
[[ "$(md md10 sync_completed)" =~ ^[0-9]+\ /\ 14336$ ]] && pass "md10: sync_completed in member sectors" || fail "md10: sync_completed [$(md md10 sync_completed)]"
rs=$(md md10 dev-spare10.img/recovery_start)
[[ "$rs" =~ ^[0-9]+$ ]] && [ "$rs" -gt 0 ] && pass "md10: recovery_start advances ($rs)" || fail "md10: recovery_start [$rs]"
sysw "$(sys md10 sync_speed_max)" system >/dev/null
for a in md1 md6 md10; do
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  check "$a: recovered" "0 idle" "$(md $a degraded) $(md $a sync_action)"
done
check "md6: the spares took roles 1 and 3" "1 3" "$(md md6 dev-spare6a.img/slot) $(md md6 dev-spare6b.img/slot)"

# Each array assembled from its rebuilt members and the fewest others.
"$ADM" --stop "$MNT/dev/md5" "$MNT/dev/md1" "$MNT/dev/md6" "$MNT/dev/md10" 2>/dev/null
assemble_check() {  # array members...
  local a=$1
  shift
  "$ADM" --assemble --run "$MNT/dev/$a" "$@" 2>/dev/null
  cmp -s "$MNT/dev/$a" "$T/$a.ref" && pass "$a from $*: same data" || fail "$a from $*: differs"
  "$ADM" --stop "$MNT/dev/$a" 2>/dev/null
}
assemble_check md5 spare5.img m5-0.img m5-3.img
assemble_check md1 spare1.img
assemble_check md6 spare6a.img spare6b.img m6-4.img
assemble_check md10 spare10.img m10-2.img

# Frozen: a spare waits; idle lets the recovery start.
"$ADM" --assemble --run "$MNT/dev/md1" spare1.img 2>/dev/null
check "md1 on one mirror" "1 [2/1] [U_]" "$(md md1 degraded) $(grep -A1 '^md1 :' "$MNT/proc/mdstat" | grep -o '\[2/1\] \[U_\]')"
check "frozen" ok "$(sysw "$(sys md1 sync_action)" frozen)"
"$ADM" "$MNT/dev/md1" --add sparex.img 2>/dev/null
check "frozen: the spare waits" "frozen none spare" "$(md md1 sync_action) $(md md1 dev-sparex.img/slot) $(md md1 dev-sparex.img/state)"
sysw "$(sys md1 sync_action)" idle >/dev/null
"$ADM" --wait "$MNT/dev/md1" 2>/dev/null
check "idle: recovered" "0 in_sync 1" "$(md md1 degraded) $(md md1 dev-sparex.img/state) $(md md1 dev-sparex.img/slot)"
cmp -s "$MNT/dev/md1" "$T/md1.ref" && pass "md1: data intact" || fail "md1: data differs"
# A hot spare waits in a whole array, and takes over when a member fails.
truncate -s 8M "$SRC/hot.img"
"$ADM" "$MNT/dev/md1" --add hot.img 2>/dev/null
check "hot spare: waits" "spare none idle" "$(md md1 dev-hot.img/state) $(md md1 dev-hot.img/slot) $(md md1 sync_action)"
grep '^md1 :' "$MNT/proc/mdstat" | grep -qE 'hot.img\[[0-9]+\]\(S\)' && pass "mdstat: hot.img[N](S)" || fail "mdstat: $(grep '^md1 :' "$MNT/proc/mdstat")"
"$ADM" "$MNT/dev/md1" --fail spare1.img 2>/dev/null
eventually "hot spare: rebuilt into role 0" "in_sync 0 0" eval 'echo $(md md1 dev-hot.img/state) $(md md1 dev-hot.img/slot) $(md md1 degraded)'
cmp -s "$MNT/dev/md1" "$T/md1.ref" && pass "md1: data intact after the hot spare took over" || fail "md1: data differs"
"$ADM" --stop "$MNT/dev/md1" 2>/dev/null

# A recovery stopped half way resumes at the next assembly.
"$ADM" --assemble --run "$MNT/dev/md5" spare5.img m5-0.img m5-2.img m5-3.img 2>/dev/null
"$ADM" "$MNT/dev/md5" --fail m5-2.img --remove m5-2.img 2>/dev/null
truncate -s 0 "$SRC/m5-2.img"
truncate -s 8M "$SRC/m5-2.img"
sysw "$(sys md5 sync_speed_max)" 1000 >/dev/null
"$ADM" "$MNT/dev/md5" --add m5-2.img 2>/dev/null
sleep 2.2
"$ADM" --stop "$MNT/dev/md5" 2>/dev/null
check "stopped mid-recovery" no "$(exists md5)"
offset=$(examine m5-2.img 'Recovery Offset')
[[ "$offset" =~ ^[0-9]+\ sectors$ ]] && [ "${offset% sectors}" -gt 0 ] && [ "${offset% sectors}" -lt 14336 ] &&
  pass "its superblock keeps the offset ($offset)" || fail "recovery offset [$offset]"
"$ADM" --assemble --run "$MNT/dev/md5" spare5.img m5-0.img m5-2.img m5-3.img 2>/dev/null
"$ADM" --wait "$MNT/dev/md5" 2>/dev/null
check "resumed and finished" "0 in_sync 2" "$(md md5 degraded) $(md md5 dev-m5-2.img/state) $(md md5 dev-m5-2.img/slot)"
"$ADM" --stop "$MNT/dev/md5" 2>/dev/null
assemble_check md5 m5-2.img spare5.img m5-3.img
unmount_mdfs
finish
