#!/bin/bash
# check and repair through sync_action, as the kernel's: a check counts the
# sectors whose copies or parity disagree into mismatch_cnt and changes
# nothing; repair rewrites them, so the next check finds none and a
# degraded raid5 reads the same data whichever member is missing. While a
# pass runs (slowed by sync_speed_max) sync_action, sync_completed,
# sync_speed and the mdstat progress line show it, a second request is
# refused (EBUSY), writes racing it are neither lost nor counted, idle and
# frozen interrupt it, and a stop or an unmount ends it at once.
. "$(dirname "$0")/lib.sh"
requires cmp sha256sum
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/m1-{0,1}.img "$SRC"/m5-{0,1,2,3}.img "$SRC"/m6-{0,1,2,3,4}.img "$SRC"/m10-{0,1,2,3}.img
"$ADM" --create --assume-clean "$MNT/dev/md1" -l1 -n2 m1-0.img m1-1.img 2>/dev/null
"$ADM" --create --assume-clean "$MNT/dev/md5" -l5 -n4 -c64 m5-{0,1,2,3}.img 2>/dev/null
"$ADM" --create --assume-clean "$MNT/dev/md6" -l6 -n5 -c64 m6-{0,1,2,3,4}.img 2>/dev/null
"$ADM" --create --assume-clean "$MNT/dev/md10" -l10 -n4 -c64 m10-{0,1,2,3}.img 2>/dev/null
ARRAYS="md1 md5 md6 md10"
for a in $ARRAYS; do
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom > "$T/$a.ref"
  dd if="$T/$a.ref" of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
done
members() { ls "$SRC" | grep "^m${1#md}-"; }
action() { sysw "$(sys "$1" sync_action)" "$2"; }
run() {  # array action: runs a pass to its end
  check "$1: $2 accepted" ok "$(action "$1" "$2")"
  "$ADM" --wait "$MNT/dev/$1" 2>/dev/null
  check "$1: idle after $2" "idle none" "$(cat "$(sys "$1" sync_action)") $(cat "$(sys "$1" sync_completed)")"
}

# Idle arrays read as the kernel's.
check "md1: idle" "idle none none none 0" "$(cat "$(sys md1 sync_action)") $(cat "$(sys md1 sync_completed)") $(cat "$(sys md1 sync_speed)") $(cat "$(sys md1 last_sync_action)") $(cat "$(sys md1 mismatch_cnt)")"
check "speed limits: the system's" "1000 (system) 200000 (system)" "$(cat "$(sys md1 sync_speed_min)") $(cat "$(sys md1 sync_speed_max)")"
check "sync_speed_max 5000" ok "$(sysw "$(sys md1 sync_speed_max)" 5000)"
check "reads as local" "5000 (local)" "$(cat "$(sys md1 sync_speed_max)")"
check "sync_speed_min 0: EINVAL" "Invalid argument" "$(sysw "$(sys md1 sync_speed_min)" 0)"
check "sync_speed_max garbage: EINVAL" "Invalid argument" "$(sysw "$(sys md1 sync_speed_max)" fast)"
check "unchanged by bad input" "5000 (local)" "$(cat "$(sys md1 sync_speed_max)")"
check "sync_speed_max system" ok "$(sysw "$(sys md1 sync_speed_max)" system)"
check "back to the system's" "200000 (system)" "$(cat "$(sys md1 sync_speed_max)")"
check "sync_action garbage: EINVAL" "Invalid argument" "$(action md1 sideways)"
check "sync_action reshape: EINVAL" "Invalid argument" "$(action md1 reshape)"

# Consistent arrays: a check finds nothing.
for a in $ARRAYS; do
  run $a check
  check "$a: consistent, mismatch_cnt 0" 0 "$(cat "$(sys $a mismatch_cnt)")"
  check "$a: last_sync_action" check "$(cat "$(sys $a last_sync_action)")"
done

# Damage one member of each while stopped: 16 sectors of raid1's second
# copy, and for the others a run of sectors inside the data area.
"$ADM" --stop $(for a in $ARRAYS; do echo "$MNT/dev/$a"; done) 2>/dev/null
dd if=/dev/urandom of="$SRC/m1-1.img" bs=512 seek=$((2048 + 1000)) count=16 conv=notrunc status=none
dd if=/dev/urandom of="$SRC/m5-2.img" bs=512 seek=$((2048 + 700)) count=20 conv=notrunc status=none
dd if=/dev/urandom of="$SRC/m6-3.img" bs=512 seek=$((2048 + 300)) count=20 conv=notrunc status=none
dd if=/dev/urandom of="$SRC/m10-1.img" bs=512 seek=$((2048 + 5000)) count=4 conv=notrunc status=none
for a in $ARRAYS; do
  "$ADM" --assemble --run "$MNT/dev/$a" $(members $a) 2>/dev/null
  (cd "$SRC" && sha256sum $(members $a)) > "$T/$a.before"
  run $a check
  # raid1/10 count whole 64 KiB resync blocks, raid5/6 4 KiB pages.
  case $a in
    md1) want=128 ;;  # 16 sectors in one block: the kernel's answer
    md10) want=128 ;;
    md5) want=$((3 * 8)) ;;  # sectors 700..719: pages 87, 88 and 89
    md6) want=$((3 * 8)) ;;  # sectors 300..319: pages 37, 38 and 39
  esac
  check "$a: check counts the damage" $want "$(cat "$(sys $a mismatch_cnt)")"
  (cd "$SRC" && sha256sum $(members $a)) | cmp -s - "$T/$a.before" && pass "$a: check wrote nothing" || fail "$a: check changed a member"
  run $a repair
  check "$a: repair counts what it rewrote" $want "$(cat "$(sys $a mismatch_cnt)")"
  check "$a: last_sync_action repair" repair "$(cat "$(sys $a last_sync_action)")"
  run $a check
  check "$a: check after repair finds nothing" 0 "$(cat "$(sys $a mismatch_cnt)")"
done
cmp -s "$MNT/dev/md1" "$T/md1.ref" && pass "md1: repair copied the first mirror" || fail "md1: data differs after repair"

# After repair, raid5 and raid6 read the same data whichever member is
# missing: the parity agrees with the data everywhere. (A degraded start
# leaves the missing member stale, so each try starts from a copy.)
mkdir "$T/keep"
for a in md5 md6; do
  sha256sum < "$MNT/dev/$a" > "$T/$a.full"
  "$ADM" --stop "$MNT/dev/$a" 2>/dev/null
  for m in $(members $a); do cp --sparse=always "$SRC/$m" "$T/keep/"; done
  for m in $(members $a); do
    "$ADM" --assemble --run "$MNT/dev/$a" $(members $a | grep -v "^$m$") 2>/dev/null
    sha256sum < "$MNT/dev/$a" | cmp -s - "$T/$a.full" && pass "$a without $m: same data" || fail "$a without $m: differs"
    "$ADM" --stop "$MNT/dev/$a" 2>/dev/null
    cp --sparse=always "$T/keep/"* "$SRC/"
  done
  rm -f "$T/keep/"*
  "$ADM" --assemble --run "$MNT/dev/$a" $(members $a) 2>/dev/null
done

# A slow pass shows its progress, refuses a second one, and keeps writes
# racing it: they land, and are not counted as mismatches.
for a in md1 md5; do
  sysw "$(sys $a sync_speed_max)" 1000 >/dev/null
  check "$a: slow check starts" ok "$(action $a check)"
  check "$a: sync_action check" check "$(cat "$(sys $a sync_action)")"
  check "$a: check while checking: EBUSY" "Device or resource busy" "$(action $a check)"
  check "$a: repair while checking: EBUSY" "Device or resource busy" "$(action $a repair)"
  for _ in 1 2 3 4; do
    head -c 1500000 /dev/urandom > "$T/patch"
    at=$((RANDOM * 100))
    dd if="$T/patch" of="$MNT/dev/$a" bs=1500000 seek=$at oflag=seek_bytes conv=notrunc,fsync status=none
    dd if="$T/patch" of="$T/$a.ref" bs=1500000 seek=$at oflag=seek_bytes conv=notrunc status=none
  done
  sleep 1.2
  total=$(cat "$(sys $a component_size)")
  [ $a = md1 ] || total=$((total / 64 * 64))
  [[ "$(cat "$(sys $a sync_completed)")" =~ ^[0-9]+\ /\ $((total * 2))$ ]] && pass "$a: sync_completed DONE / TOTAL" || fail "$a: sync_completed [$(cat "$(sys $a sync_completed)")]"
  [[ "$(cat "$(sys $a sync_speed)")" =~ ^[0-9]+$ ]] && pass "$a: sync_speed a number" || fail "$a: sync_speed [$(cat "$(sys $a sync_speed)")]"
  line=$(grep -A2 "^$a :" "$MNT/proc/mdstat" | sed -n 3p)
  [[ "$line" =~ ^\ {6}\[=*\>\.*\]\ \ check\ =\ *[0-9]+\.[0-9]%\ \([0-9]+/$total\)\ finish=[0-9]+\.[0-9]min\ speed=[0-9]+K/sec$ ]] &&
    pass "$a: mdstat progress line" || fail "$a: mdstat progress line [$line]"
  sysw "$(sys $a sync_speed_max)" system >/dev/null
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  check "$a: racing writes are no mismatch" 0 "$(cat "$(sys $a mismatch_cnt)")"
  cmp -s "$MNT/dev/$a" "$T/$a.ref" && pass "$a: racing writes landed" || fail "$a: data differs"
done
check "md1: mdstat without progress when idle" 0 "$(grep -c ' check = ' "$MNT/proc/mdstat")"

# idle interrupts a pass, frozen too and keeps it frozen until idle.
sysw "$(sys md1 sync_speed_max)" 1000 >/dev/null
action md1 check >/dev/null
check "idle interrupts" ok "$(action md1 idle)"
check "interrupted: idle at once" "idle none" "$(cat "$(sys md1 sync_action)") $(cat "$(sys md1 sync_completed)")"
action md1 repair >/dev/null
check "frozen interrupts" ok "$(action md1 frozen)"
check "frozen reads frozen" "frozen none" "$(cat "$(sys md1 sync_action)") $(cat "$(sys md1 sync_completed)")"
check "idle unfreezes" "ok idle" "$(action md1 idle) $(cat "$(sys md1 sync_action)")"

# mdfsadm --action and --wait drive it as mdadm does.
"$ADM" --action=check "$MNT/dev/md1" 2>/dev/null
check "mdfsadm --action=check: running" check "$(cat "$(sys md1 sync_action)")"
sysw "$(sys md1 sync_speed_max)" system >/dev/null
"$ADM" --wait "$MNT/dev/md1" 2>/dev/null
check "mdfsadm --wait: returns when idle" idle "$(cat "$(sys md1 sync_action)")"

# A stop or an unmount ends a running pass promptly.
sysw "$(sys md5 sync_speed_max)" 1000 >/dev/null
action md5 check >/dev/null
start=$(date +%s%N)
"$ADM" --stop "$MNT/dev/md5" 2>/dev/null
check "stop during a check: stopped" no "$(exists md5)"
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ] && pass "stop was prompt" || fail "stop took too long"
sysw "$(sys md6 sync_speed_max)" 1000 >/dev/null
action md6 repair >/dev/null
start=$(date +%s%N)
unmount_mdfs
[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 3000 ] && pass "unmount during a repair was prompt" || fail "unmount took too long"
mdadm_state() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n 's/^ *State : //p'; }
if command -v mdadm >/dev/null; then
  check "superblocks clean after unmount" clean "$(mdadm_state m6-0.img)"
fi
finish
