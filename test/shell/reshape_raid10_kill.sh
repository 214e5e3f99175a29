#!/bin/bash
# kill -9 at random moments of a raid10 reshape loses nothing: a near=2
# grow (4 -> 5) and a chunk change (64K -> 128K) that mdfs started are
# each killed at five random moments (a few milliseconds after they were
# let go); each time the members, assembled read-only, read the data
# written before the reshape and the position never goes back; in the end
# both finish with that data, no reshape bits, mismatch_cnt 0.
. "$(dirname "$0")/lib.sh"
requires mdadm cmp sha256sum
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
sha_of() { head -c "$2" "$1" | sha256sum | cut -d' ' -f1; }

killed() {
  kill -9 "$MDFS_PID" 2>/dev/null
  wait "$MDFS_PID" 2>/dev/null
  MDFS_PID=
  fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
}

truncate -s 24M "$SRC"/kg-{0,1,2,3,4}.img "$SRC"/kc-{0,1,2,3}.img
mount_mdfs -o assemble=none
"$ADM" --create "$MNT/dev/md_kg" -l10 -n4 -pn2 -c64 "$SRC"/kg-{0,1,2,3}.img 2>"$T/create.err" ||
  fail "md_kg: create: $(cat "$T/create.err")"
"$ADM" --create "$MNT/dev/md_kc" -l10 -n4 -pn2 -c64 "$SRC"/kc-{0,1,2,3}.img 2>"$T/create.err" ||
  fail "md_kc: create: $(cat "$T/create.err")"
[ -s "$MNT/dev/md_kg" ] && [ -s "$MNT/dev/md_kc" ] && pass "both arrays made" || { fail "arrays missing"; finish; }
settled md_kg
settled md_kc
for a in md_kg md_kc; do
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom >"$T/$a.data"
  dd if="$T/$a.data" of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
done
"$ADM" "$MNT/dev/md_kg" --add "$SRC/kg-4.img" >/dev/null 2>&1
echo 0 >"$(sys md_kg sync_max)"
echo 0 >"$(sys md_kc sync_max)"
"$ADM" --grow "$MNT/dev/md_kg" --raid-devices=5
check "md_kg: --grow" 0 "$?"
"$ADM" --grow "$MNT/dev/md_kc" --chunk=128
check "md_kc: --grow" 0 "$?"
unmount_mdfs
declare -A last=([md_kg]=0 [md_kc]=0)
moved=0
for i in 1 2 3 4 5; do
  mount_mdfs -o assemble=none
  "$ADM" --assemble --readonly "$MNT/dev/md_kg" kg-{0,1,2,3,4}.img >/dev/null 2>&1
  "$ADM" --assemble --readonly "$MNT/dev/md_kc" kc-{0,1,2,3}.img >/dev/null 2>&1
  for a in md_kg md_kc; do
    n=$(stat -c %s "$T/$a.data")
    pos=$(cat "$(sys $a reshape_position)")
    check "$a kill $i: content at $pos" "$(sha256sum <"$T/$a.data" | cut -d' ' -f1)" "$(sha_of "$MNT/dev/$a" "$n")"
    if [ "$pos" != none ]; then
      [ "$pos" -ge "${last[$a]}" ] && pass "$a kill $i: not back from ${last[$a]}" || fail "$a kill $i: back from ${last[$a]} to $pos"
      [ "$pos" -gt "${last[$a]}" ] && moved=$((moved + 1))
      last[$a]=$pos
    fi
    # The grow is quick on an idle machine: throttled, the five kills land in it.
    [ "$a" = md_kg ] && echo 8000 >"$(sys $a sync_speed_max)"
    "$ADM" --readwrite "$MNT/dev/$a" 2>/dev/null
  done
  sleep "$(printf '0.%03d' $((RANDOM % 60 + 1)))"
  killed
done
[ "$moved" -gt 0 ] && pass "the reshapes moved between kills ($moved times)" || fail "the reshapes never moved"
mount_mdfs
for a in md_kg md_kc; do
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  check "$a: finished" none "$(cat "$(sys $a reshape_position)")"
  cmp -s -n "$(stat -c %s "$T/$a.data")" "$T/$a.data" "$MNT/dev/$a" && pass "$a: data intact" || fail "$a: data differs"
  echo check >"$(sys $a sync_action)"
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  check "$a: mismatch_cnt" 0 "$(cat "$(sys $a mismatch_cnt)")"
done
check "md_kg: 5 members" 5 "$(cat "$(sys md_kg raid_disks)")"
check "md_kc: chunk_size" 131072 "$(cat "$(sys md_kc chunk_size)")"
bits=0
for f in "$SRC"/kg-*.img "$SRC"/kc-*.img; do
  mdadm --examine "$f" 2>/dev/null | grep -qE "Reshape pos|New Offset" && bits=$((bits + 1))
done
check "no superblock records a reshape" 0 "$bits"
unmount_mdfs
finish
