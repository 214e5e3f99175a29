#!/bin/bash
# The bitmap on each level that has one (raid1, raid10 near and far,
# raid4, raid5, raid6): with a member failed and removed, a write leaves
# its chunks dirty on the members that stayed (and nothing else), the
# member --re-added in its slot recovers only those chunks (a chunk
# damaged on it meanwhile, where nothing was written, is still wrong
# after the recovery: the check finds it), and the array then reads what
# was written. raid10 recovers by member sectors and asks the bitmap which
# of them are needed; raid4/5/6 count stripe sectors; raid1 array sectors.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
wait_idle() { for _ in $(seq 600); do [ "$(cat "$(sys "$1" sync_action)")" = idle ] && return; sleep 0.1; done; fail "$1: never idle"; }
dirty() { "$ADM" -X "$SRC/$1" | sed -n 's/.*(chunks), \([0-9]*\) dirty.*/\1/p'; }

mount_mdfs -o assemble=none
cases=0
# lv (the case) level members at options: member 1 leaves, the others stay; the
# write goes to the 64 KiB block `at`, where member 1 holds a copy or a
# chunk of the stripe (raid10 far2 with 512 KiB chunks: array chunk 0 is
# on members 0 and 1).
while read -r lv level n at opt; do
  A=md_$lv
  for i in $(seq 0 $((n - 1))); do truncate -s 8M "$SRC/$lv$i.img"; done
  members=$(for i in $(seq 0 $((n - 1))); do echo "$lv$i.img"; done)
  # shellcheck disable=SC2086
  "$ADM" --create "$MNT/dev/$A" -l"$level" -n"$n" $opt --bitmap=internal --bitmap-chunk=64K $members 2>/dev/null ||
    { fail "$lv: create"; continue; }
  size=$(stat -c %s "$MNT/dev/$A")
  head -c "$size" /dev/urandom >"$T/$lv.expect"
  dd if="$T/$lv.expect" of="$MNT/dev/$A" bs=1M conv=notrunc,fsync status=none
  sysw "$(sys "$A" bitmap/time_base)" 0.1 >/dev/null
  both_clean() { sleep 0.2; echo "$(dirty "${lv}0.img") $(dirty "${lv}2.img")"; }
  eventually "$lv: every bit cleared on the members" "0 0" both_clean
  "$ADM" "$MNT/dev/$A" --fail "${lv}1.img" --remove "${lv}1.img" 2>/dev/null
  check "$lv: ${lv}1 removed" 1 "$(cat "$(sys "$A" degraded)")"
  head -c 64K /dev/urandom >"$T/new"
  dd if="$T/new" of="$MNT/dev/$A" bs=64K seek="$at" conv=notrunc,fsync status=none
  dd if="$T/new" of="$T/$lv.expect" bs=64K seek="$at" conv=notrunc status=none
  sleep 0.5   # five daemon passes: nothing is cleared while degraded
  d=$(dirty "${lv}0.img")
  [ "${d:-0}" -ge 1 ] && [ "${d:-0}" -le 3 ] && pass "$lv: degraded: $d chunks dirty" || fail "$lv: dirty: ${d:-none}"
  # 64 KiB of member 1's data far from what was written, kept to be put
  # back after the check has seen it.
  dd if="$SRC/${lv}1.img" of="$T/saved" bs=64K skip=$((8 * 16 - 2)) count=1 status=none
  dd if=/dev/urandom of="$SRC/${lv}1.img" bs=64K seek=$((8 * 16 - 2)) count=1 conv=notrunc status=none
  "$ADM" "$MNT/dev/$A" --re-add "${lv}1.img" 2>"$T/err"
  check "$lv: re-added" "mdfsadm: re-added $SRC/${lv}1.img" "$(cat "$T/err")"
  check "$lv: in its slot" 1 "$(cat "$(sys "$A" "dev-${lv}1.img/slot")")"
  wait_idle "$A"
  check "$lv: recovered" "0 in_sync" "$(cat "$(sys "$A" degraded)") $(cat "$(sys "$A" "dev-${lv}1.img/state")")"
  sysw "$(sys "$A" sync_action)" check >/dev/null
  wait_idle "$A"
  mm=$(cat "$(sys "$A" mismatch_cnt)")
  [ "$mm" -gt 0 ] && pass "$lv: the damaged clean chunk was not rebuilt ($mm)" ||
    fail "$lv: mismatch_cnt $mm: the recovery rebuilt more than the dirty chunks"
  dd if="$T/saved" of="$SRC/${lv}1.img" bs=64K seek=$((8 * 16 - 2)) count=1 conv=notrunc status=none
  sysw "$(sys "$A" sync_action)" check >/dev/null
  wait_idle "$A"
  check "$lv: with it put back, the check finds nothing" 0 "$(cat "$(sys "$A" mismatch_cnt)")"
  cmp "$MNT/dev/$A" "$T/$lv.expect" && pass "$lv: reads what was written" || fail "$lv: content differs"
  "$ADM" --stop "$MNT/dev/$A" 2>/dev/null
  cases=$((cases + 1))
done <<'LEVELS'
r1 1 3 16
r10n 10 4 16 -pn2
r10f 10 4 0 -pf2
r4 4 4 16 -c64
r6 6 5 16 -c64
LEVELS
check "levels run" 5 "$cases"
unmount_mdfs
finish
