#!/bin/bash
# kill -9 at random moments of a reshape loses nothing: the kernel's raid5
# left mid-grow (3 -> 4) is resumed by mdfs, which is killed five times at
# random points; after each kill the members, assembled again, read the
# array's content and the reshape has gone on from its last checkpoint;
# in the end it finishes with the kernel's content, mismatch_cnt 0. The
# first kills come a few milliseconds into an unthrottled reshape (inside
# a window's move or its checkpoint), the others while it is throttled.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
STATES=$FIXTURES_STATES
FIX=$STATES/raid5-reshape-3to4
[ -f "$FIX/manifest.json" ] || { fail "no fixture $FIX"; finish; }
manifest() { python3 -c "import json,sys; m=json.load(open(sys.argv[2])); print(eval(sys.argv[1]))" "$1" "$FIX/manifest.json"; }
sha_of() { head -c "$2" "$1" | sha256sum | cut -d' ' -f1; }
size=$(manifest "m['array_size_bytes']")
want=$(manifest "m['sha256']")
for n in 0 1 2 3; do xz -dc "$FIX/member-$n.img.xz" >"$SRC/m$n.img"; done

killed() {
  kill -9 "$MDFS_PID" 2>/dev/null
  wait "$MDFS_PID" 2>/dev/null
  MDFS_PID=
  fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
}

last=$(manifest "m['reshape']['reshape_position_sectors']")
kills=0
for i in 1 2 3 4 5 6 7 8; do
  mount_mdfs -o assemble=none
  "$ADM" --assemble --readonly "$MNT/dev/md0" m0.img m1.img m2.img m3.img >/dev/null 2>&1
  check "kill $i: content before resuming" "$want" "$(sha_of "$MNT/dev/md0" "$size")"
  pos=$(cat "$(sys md0 reshape_position)")
  # An idle machine can finish the small fixture's reshape within the
  # slowed-down kills; the five fast ones must all land in it.
  if [ "$pos" = none ]; then
    [ "$i" -gt 5 ] && pass "the reshape finished after $kills kills" || fail "kill $i: the reshape finished too early to be killed"
    last=none
    unmount_mdfs  # else the next mount would stack on this one
    break
  fi
  [ "$pos" -ge "$last" ] && pass "kill $i: resumes at $pos, not before $last" || fail "kill $i: position went back from $last to $pos"
  last=$pos
  if [ "$i" -le 5 ]; then
    delay=$(printf '0.%03d' $((RANDOM % 20 + 1)))
  else
    echo 700 >"$(sys md0 sync_speed_max)"
    delay=0.$((RANDOM % 5 + 1))
  fi
  echo "kill $i: after $delay s"
  # Writable through array_state (no process to start: the delay counts
  # from the moment the reshape may go on).
  echo active >"$(sys md0 array_state)"
  sleep "$delay"
  # The seventh kill waits (a minute at most) for a checkpoint past where it
  # resumed, so that a loaded machine, where the random delays can all end
  # before the first window, still shows the reshape moving between kills.
  if [ "$i" -eq 7 ]; then
    for _ in $(seq 1200); do
      p=$(cat "$(sys md0 reshape_position)")
      [ "$p" = none ] || [ "$p" -gt "$pos" ] && break
      sleep 0.05
    done
  fi
  killed
  kills=$((kills + 1))
done
[ "$kills" -ge 5 ] && pass "$kills kills (at least the five fast ones)" || fail "only $kills kills"
[ "$last" = none ] || [ "$last" -gt "$(manifest "m['reshape']['reshape_position_sectors']")" ] && pass "the reshape moved between kills" ||
  fail "the reshape never moved: $last"

mount_mdfs
"$ADM" --wait "$MNT/dev/md_oracle" 2>/dev/null
check "finished: the kernel's content" "$(manifest "m['after']['sha256']")" \
  "$(sha_of "$MNT/dev/md_oracle" "$(manifest "m['after']['array_size_bytes']")")"
echo check >"$(sys md_oracle sync_action)"
"$ADM" --wait "$MNT/dev/md_oracle" 2>/dev/null
check "finished: mismatch_cnt" 0 "$(cat "$(sys md_oracle mismatch_cnt)")"
unmount_mdfs

# The same for reshapes mdfs starts: a raid6 grow (4 -> 5) and a raid5
# chunk change (64K -> 256K), each killed at five random moments (a few
# milliseconds after it was let go); each time the members, assembled
# read-only, read the data written before the reshape.
rm -f "$SRC"/*
truncate -s 24M "$SRC"/k6-{0,1,2,3,4}.img "$SRC"/kc-{0,1,2}.img
mount_mdfs -o assemble=none
"$ADM" --create "$MNT/dev/md_k6" -l6 -n4 -c64 "$SRC"/k6-{0,1,2,3}.img 2>"$T/create.err" ||
  fail "md_k6: create: $(cat "$T/create.err")"
"$ADM" --create "$MNT/dev/md_kc" -l5 -n3 -c64 "$SRC"/kc-{0,1,2}.img 2>"$T/create.err" ||
  fail "md_kc: create: $(cat "$T/create.err")"
[ -s "$MNT/dev/md_k6" ] && [ -s "$MNT/dev/md_kc" ] && pass "both arrays made" || { fail "arrays missing"; finish; }
for a in md_k6 md_kc; do
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom >"$T/$a.data"
  dd if="$T/$a.data" of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
done
"$ADM" "$MNT/dev/md_k6" --add "$SRC/k6-4.img" >/dev/null 2>&1
echo 0 >"$(sys md_k6 sync_max)"
echo 0 >"$(sys md_kc sync_max)"
"$ADM" --grow "$MNT/dev/md_k6" --raid-devices=5
"$ADM" --grow "$MNT/dev/md_kc" --chunk=256
unmount_mdfs
for i in 1 2 3 4 5; do
  mount_mdfs -o assemble=none
  "$ADM" --assemble --readonly "$MNT/dev/md_k6" k6-{0,1,2,3,4}.img >/dev/null 2>&1
  "$ADM" --assemble --readonly "$MNT/dev/md_kc" kc-{0,1,2}.img >/dev/null 2>&1
  for a in md_k6 md_kc; do
    n=$(stat -c %s "$T/$a.data")
    check "$a kill $i: content at $(cat "$(sys $a reshape_position)")" \
      "$(sha256sum <"$T/$a.data" | cut -d' ' -f1)" "$(sha_of "$MNT/dev/$a" "$n")"
    "$ADM" --readwrite "$MNT/dev/$a" 2>/dev/null
  done
  sleep "$(printf '0.%03d' $((RANDOM % 60 + 1)))"
  killed
done
mount_mdfs
for a in md_k6 md_kc; do
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  check "$a: finished" none "$(cat "$(sys $a reshape_position)")"
  cmp -s -n "$(stat -c %s "$T/$a.data")" "$T/$a.data" "$MNT/dev/$a" && pass "$a: data intact" || fail "$a: data differs"
  echo check >"$(sys $a sync_action)"
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  check "$a: mismatch_cnt" 0 "$(cat "$(sys $a mismatch_cnt)")"
done
unmount_mdfs
finish
