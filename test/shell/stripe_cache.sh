#!/bin/bash
# raid4/5/6's stripe cache: partial-stripe writes in flight together are
# gathered per stripe and written as one. What a user sees: every write
# lands (fio --verify=crc32c with several jobs at queue depth 16, mixed
# sizes that split stripes and chunks; many concurrent dd pieces against an
# expected image compared with cmp), the parity stays right (a check
# counts no mismatch; a degraded read rebuilds the same bytes), on healthy
# and degraded arrays and while a check runs and a member is re-added.
# stripe_cache_active shows entries in use during the load, never more
# than stripe_cache_size, and none once it ends.
. "$(dirname "$0")/lib.sh"
requires fio cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
truncate -s 12M "$SRC"/m4-{0,1,2,3}.img "$SRC"/m5-{0,1,2,3,4}.img "$SRC"/m6-{0,1,2,3,4}.img "$SRC"/spare{4,5,6}.img
"$ADM" -CR "$MNT/dev/md4" -l4 -n4 -c64 --bitmap=internal "$SRC"/m4-{0,1,2,3}.img 2>/dev/null
"$ADM" -CR "$MNT/dev/md5" -l5 -n5 -c64 --bitmap=internal "$SRC"/m5-{0,1,2,3,4}.img 2>/dev/null
"$ADM" -CR "$MNT/dev/md6" -l6 -n5 -c64 --bitmap=none "$SRC"/m6-{0,1,2,3,4}.img 2>/dev/null
ARRAYS="md4 md5 md6"
for a in $ARRAYS; do
  [ -e "$MNT/dev/$a" ] || { fail "$a not created"; finish; }
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
done

# The attributes: the kernel's default and range, EINVAL for the rest.
A=$(sys md5 "")
check "stripe_cache_size: 256 at start" 256 "$(cat "$A/stripe_cache_size")"
check "stripe_cache_active: 0 when idle" 0 "$(cat "$A/stripe_cache_active")"
check "stripe_cache_size 16: EINVAL" "Invalid argument" "$(sysw "$A/stripe_cache_size" 16)"
check "stripe_cache_size 32769: EINVAL" "Invalid argument" "$(sysw "$A/stripe_cache_size" 32769)"
check "stripe_cache_size -1: EINVAL" "Invalid argument" "$(sysw "$A/stripe_cache_size" -1)"
check "stripe_cache_size garbage: EINVAL" "Invalid argument" "$(sysw "$A/stripe_cache_size" 17x)"
check "unchanged by bad input" 256 "$(cat "$A/stripe_cache_size")"
check "stripe_cache_active is read-only" "Permission denied" "$(sysw "$A/stripe_cache_active" 3)"
check "stripe_cache_size 17 on md4" ok "$(sysw "$(sys md4 stripe_cache_size)" 17)"

# fio_verify ARRAY: four jobs on their own quarter each, random writes of
# 4 KiB to 96 KiB (64 KiB chunks: partial stripes, pieces straddling chunk
# and stripe ends) at queue depth 16, then every block read back and its
# crc32c checked; meanwhile stripe_cache_active is sampled: its largest
# value goes to $T/active.
fio_verify() {
  local dev=$MNT/dev/$1 size quarter
  size=$(stat -c %s "$dev")
  quarter=$((size / 4 / 65536 * 65536))
  ( max=0
    while [ ! -e "$T/fio.done" ]; do
      v=$(cat "$(sys "$1" stripe_cache_active)")
      [ "$v" -gt "$max" ] && max=$v
    done
    echo "$max" > "$T/active" ) &
  local sampler=$!
  rm -f "$T/fio.done"
  if fio --name=verify --filename="$dev" --rw=randwrite --bsrange=4k-96k --bs_unaligned --iodepth=16 --numjobs=4 \
    --direct=1 --ioengine=libaio --size="$quarter" --offset_increment="$quarter" --verify=crc32c --do_verify=1 \
    --verify_fatal=1 --verify_state_save=0 --randrepeat=0 --group_reporting >"$T/fio.log" 2>&1; then
    pass "$1: fio --verify=crc32c, 4 jobs at queue depth 16, $2"
  else
    fail "$1: fio --verify=crc32c, $2"; tail -20 "$T/fio.log"
  fi
  touch "$T/fio.done"
  wait "$sampler"
  rm -f "$T/fio.done"
}

# pieces ARRAY: the expected image written as 20 KiB pieces in shuffled
# order by 16 dd at a time (O_DIRECT, so they are in flight together and
# meet in stripes), then the array compared with it.
pieces() {
  local dev=$MNT/dev/$1 size n
  size=$(stat -c %s "$dev")
  n=$((size / 20480))
  head -c "$size" /dev/urandom > "$T/$1.ref"
  seq 0 $((n - 1)) | shuf | xargs -P 16 -I{} dd if="$T/$1.ref" of="$dev" bs=20480 skip={} seek={} count=1 \
    oflag=direct conv=notrunc status=none
  # The tail that is not a whole piece.
  dd if="$T/$1.ref" of="$dev" bs=4096 skip=$((n * 5)) seek=$((n * 5)) oflag=direct conv=notrunc status=none
  if cmp -s "$T/$1.ref" "$dev"; then
    pass "$1: $n concurrent pieces read back as written, $2"
  else
    fail "$1: pieces differ from the image, $2"
  fi
}

checked() {  # ARRAY WHEN: a check finds parity and data agree
  check "$1: check accepted ($2)" ok "$(sysw "$(sys "$1" sync_action)" check)"
  "$ADM" --wait "$MNT/dev/$1" 2>/dev/null
  check "$1: mismatch_cnt 0 after a check ($2)" 0 "$(cat "$(sys "$1" mismatch_cnt)")"
}

ran=0
for a in $ARRAYS; do
  fio_verify $a healthy
  active=$(cat "$T/active")
  if [ "$active" -gt 0 ]; then
    pass "$a: stripe_cache_active rose under load ($active)"
  else
    fail "$a: stripe_cache_active stayed 0 under load"
  fi
  limit=$(cat "$(sys $a stripe_cache_size)")
  if [ "$active" -le "$limit" ]; then
    pass "$a: at most stripe_cache_size ($limit) in use"
  else
    fail "$a: $active in use, more than $limit"
  fi
  eventually "$a: stripe_cache_active 0 after the load" 0 cat "$(sys $a stripe_cache_active)"
  checked $a "after fio"
  pieces $a healthy
  checked $a "after the pieces"
  # A degraded read rebuilds each chunk of the failed member from the rest:
  # the same bytes only if every gathered write kept its stripe's parity.
  m=$(ls "$SRC" | grep "^m${a#md}-" | sed -n 2p)
  "$ADM" "$MNT/dev/$a" --fail "$SRC/$m" >/dev/null 2>&1
  check "$a: degraded" 1 "$(cat "$(sys $a degraded)")"
  if cmp -s "$T/$a.ref" "$MNT/dev/$a"; then
    pass "$a: degraded reads rebuild the image"
  else
    fail "$a: degraded reads differ"
  fi
  fio_verify $a degraded
  pieces $a degraded
  # Writes while the member comes back (recovery) and then while a check runs.
  "$ADM" "$MNT/dev/$a" --remove "$SRC/$m" >/dev/null 2>&1
  "$ADM" "$MNT/dev/$a" --add "$SRC/spare${a#md}.img" >/dev/null 2>&1
  pieces $a "during recovery"
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  check "$a: recovered" 0 "$(cat "$(sys $a degraded)")"
  echo 2000 > "$(sys $a sync_speed_max)"
  check "$a: check started under load" ok "$(sysw "$(sys $a sync_action)" check)"
  fio_verify $a "during a check"
  pieces $a "during a check"
  echo system > "$(sys $a sync_speed_max)"
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  checked $a "after the load"
  cmp -s "$T/$a.ref" "$MNT/dev/$a" && pass "$a: image intact" || fail "$a: image changed"
  ran=$((ran + 1))
done
checked_cases "arrays loaded" 3 "$ran"

# The data is on the members, not in the cache: a new mount assembles the
# arrays and reads the same images.
assemble() {  # ARRAY: its members now (the second was failed and replaced by the spare)
  local m
  m=$(ls "$SRC" | grep "^m${1#md}-" | sed -n 2p)
  # shellcheck disable=SC2046
  "$ADM" --assemble "$MNT/dev/$1" $(ls "$SRC"/m${1#md}-*.img "$SRC/spare${1#md}.img" | grep -v "/$m\$") >/dev/null 2>&1
}
unmount_mdfs
mount_mdfs -o assemble=none
for a in $ARRAYS; do assemble $a; done
n=0
for a in $ARRAYS; do
  [ -e "$MNT/dev/$a" ] || { fail "$a not assembled after the remount"; continue; }
  cmp -s "$T/$a.ref" "$MNT/dev/$a" && pass "$a: the image after a remount" || fail "$a: differs after a remount"
  n=$((n + 1))
done
checked_cases "arrays after the remount" 3 "$n"

# kill -9 under load: what was answered is on the members. The first half
# of md5 is written as concurrent pieces; then mdfs is killed while pieces
# go to the second half. Assembled again, md5 holds the first half, and
# after the bitmap's resync a check finds the parity right.
dev=$MNT/dev/md5
size=$(stat -c %s "$dev")
half=$((size / 2 / 20480))
head -c "$size" /dev/urandom > "$T/kill.ref"
seq 0 $((half - 1)) | shuf | xargs -P 16 -I{} dd if="$T/kill.ref" of="$dev" bs=20480 skip={} seek={} count=1 \
  oflag=direct conv=notrunc status=none
seq "$half" $((size / 20480 - 1)) | shuf | xargs -P 16 -I{} dd if=/dev/urandom of="$dev" bs=20480 seek={} count=1 \
  oflag=direct conv=notrunc status=none 2>/dev/null &
load=$!
# Killed once the load is under way (some of the second half differs from
# the image), whenever that is.
for _ in $(seq 1000); do
  cmp -s -i $((half * 20480)) "$T/kill.ref" "$dev" 2>/dev/null || break
  sleep 0.01
done
cmp -s -i $((half * 20480)) "$T/kill.ref" "$dev" 2>/dev/null && fail "md5: the load before the kill changed nothing"
kill -9 "$MDFS_PID"
wait "$MDFS_PID" 2>/dev/null
MDFS_PID=
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
wait "$load" 2>/dev/null
mount_mdfs -o assemble=none
assemble md5
if cmp -s -n $((half * 20480)) "$T/kill.ref" "$dev"; then
  pass "md5: every answered write survived kill -9"
else
  fail "md5: answered writes lost at kill -9"
fi
"$ADM" --wait "$dev" 2>/dev/null
checked md5 "after kill -9"
unmount_mdfs
finish
