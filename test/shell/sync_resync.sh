#!/bin/bash
# Resync after an unclean stop, as the kernel's: an array whose daemon was
# killed while it was active comes back owing a resync (resync_start not
# none, superblocks active); a read-only array keeps owing it
# (mdstat "resync=PENDING"); once writable the resync runs from
# resync_start, shows its progress (sync_action resync, the mdstat line,
# resync_start checkpointed), reads clean meanwhile, and ends with
# resync_start none, clean superblocks, and copies/parity that agree. A
# read-auto array starts it at its first write.
. "$(dirname "$0")/lib.sh"
requires cmp sha256sum mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
examine() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n "s/^ *$2 : //p"; }
# The v1.2 superblock's resync_offset (byte 208 of the superblock at 4 KiB).
resync_offset() { od -An -tu8 -j $((4096 + 208)) -N8 "$SRC/$1" | tr -d ' '; }
mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/r5-{0,1,2}.img "$SRC"/r1-{0,1}.img
"$ADM" --create "$MNT/dev/md5" -l5 -n3 -c64 r5-{0,1,2}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md1" -l1 -n2 r1-{0,1}.img 2>/dev/null
for a in md5 md1; do
  sysw "$(sys $a safe_mode_delay)" 0 >/dev/null  # stays active after a write
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom > "$T/$a.ref"
  dd if="$T/$a.ref" of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
  check "$a: active after writes" active "$(cat "$(sys $a array_state)")"
done
kill -9 "$MDFS_PID"; wait "$MDFS_PID" 2>/dev/null; MDFS_PID=
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
check "killed while active: superblock active" active "$(examine r5-0.img State)"
# What the crash could leave: parity (and a mirror) that disagree with the
# data. Damage r5's P chunk of stripe 1 (left-symmetric: role 1) and r1's
# second copy.
dd if=/dev/urandom of="$SRC/r5-1.img" bs=512 seek=$((2048 + 128 + 10)) count=30 conv=notrunc status=none
dd if=/dev/urandom of="$SRC/r1-1.img" bs=512 seek=$((2048 + 4000)) count=8 conv=notrunc status=none

mount_mdfs -o assemble=none
# Read-only: the resync stays owed.
"$ADM" --assemble --run --readonly "$MNT/dev/md5" r5-{0,1,2}.img 2>/dev/null
check "read-only: resync owed from 0" "readonly 0 idle" "$(cat "$(sys md5 array_state)") $(cat "$(sys md5 resync_start)") $(cat "$(sys md5 sync_action)")"
grep -A2 '^md5 :' "$MNT/proc/mdstat" | grep -q $'^      \tresync=PENDING$' && pass "mdstat: resync=PENDING" || fail "mdstat: $(cat "$MNT/proc/mdstat")"
cmp -s "$MNT/dev/md5" "$T/md5.ref" && pass "md5: data readable before the resync" || fail "md5: data differs"
# Writable: the resync runs (slowed down to be watched).
sysw "$(sys md5 sync_speed_max)" 1000 >/dev/null
"$ADM" --readwrite "$MNT/dev/md5" 2>/dev/null
check "writable: resyncing" resync "$(cat "$(sys md5 sync_action)")"
check "clean while resyncing, as the kernel" clean "$(cat "$(sys md5 array_state)")"
check "last_sync_action resync" resync "$(cat "$(sys md5 last_sync_action)")"
sleep 2.2
# A checkpoint may land between two reads: take the three values again
# until resync_start reads the same before and after them.
for try in 1 2 3 4 5; do
  start=$(cat "$(sys md5 resync_start)")
  completed=$(cat "$(sys md5 sync_completed)")
  recorded=$(resync_offset r5-0.img)
  [ "$start" = "$(cat "$(sys md5 resync_start)")" ] && break
done
[ "$start" != none ] && [ "$start" -gt 0 ] && pass "resync_start checkpointed ($start)" || fail "resync_start [$start]"
check "sync_completed is the checkpoint" "$start / 14336" "$completed"
check "superblock records the checkpoint" "$start" "$recorded"
line=$(grep -A2 '^md5 :' "$MNT/proc/mdstat" | sed -n 3p)
[[ "$line" =~ ^\ {6}\[=*\>\.*\]\ \ resync\ =\ *[0-9]+\.[0-9]%\ \([0-9]+/7168\)\ finish=[0-9]+\.[0-9]min\ speed=[0-9]+K/sec$ ]] &&
  pass "mdstat resync line" || fail "mdstat resync line [$line]"
check "a check while resyncing: EBUSY" "Device or resource busy" "$(sysw "$(sys md5 sync_action)" check)"
sysw "$(sys md5 sync_speed_max)" system >/dev/null
"$ADM" --wait "$MNT/dev/md5" 2>/dev/null
check "resync done: resync_start none, idle" "none idle none" "$(cat "$(sys md5 resync_start)") $(cat "$(sys md5 sync_action)") $(cat "$(sys md5 sync_completed)")"
check "superblocks clean" "clean clean clean" "$(examine r5-0.img State) $(examine r5-1.img State) $(examine r5-2.img State)"
cmp -s "$MNT/dev/md5" "$T/md5.ref" && pass "md5: data unchanged by the resync" || fail "md5: data differs"
sysw "$(sys md5 sync_action)" check >/dev/null
"$ADM" --wait "$MNT/dev/md5" 2>/dev/null
check "md5: parity agrees after the resync" 0 "$(cat "$(sys md5 mismatch_cnt)")"
# The member whose parity was damaged is rebuilt from the others exactly.
"$ADM" --stop "$MNT/dev/md5" 2>/dev/null
"$ADM" --assemble --run "$MNT/dev/md5" r5-0.img r5-2.img 2>/dev/null
cmp -s "$MNT/dev/md5" "$T/md5.ref" && pass "md5 without r5-1: same data" || fail "md5 without r5-1: differs"
"$ADM" --stop "$MNT/dev/md5" 2>/dev/null

# read-auto (built through sysfs): nothing until the first write.
printf md1 > "$(param new_array)"
printf 1.2 > "$(sys md1 metadata_version)"
printf r1-0.img > "$(sys md1 new_dev)"
printf r1-1.img > "$(sys md1 new_dev)"
check "read-auto start" ok "$(sysw "$(sys md1 array_state)" read-auto)"
check "read-auto: resync owed, none running" "0 idle" "$(cat "$(sys md1 resync_start)") $(cat "$(sys md1 sync_action)")"
head -c 4096 /dev/urandom > "$T/patch"
dd if="$T/patch" of="$MNT/dev/md1" bs=4096 seek=100 conv=notrunc,fsync status=none
dd if="$T/patch" of="$T/md1.ref" bs=4096 seek=100 conv=notrunc status=none
eventually "the first write starts the resync, which ends" none cat "$(sys md1 resync_start)"
sysw "$(sys md1 sync_action)" check >/dev/null
"$ADM" --wait "$MNT/dev/md1" 2>/dev/null
check "md1: mirrors agree after the resync" 0 "$(cat "$(sys md1 mismatch_cnt)")"
cmp -s "$MNT/dev/md1" "$T/md1.ref" && pass "md1: data as written" || fail "md1: data differs"
unmount_mdfs
check "md1: clean after unmount" "clean clean" "$(examine r1-0.img State) $(examine r1-1.img State)"
finish
