#!/bin/bash
# mdfsadm DEV --replace MEMBER [--with SPARE], as mdadm 4.2's manage mode:
# the member is rebuilt onto a spare while it keeps its role, then fails
# out; --with picks which spare; the array's data stays whole throughout;
# the refusals say and exit as mdadm's.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
MD=$MNT/dev/md5
md() { cat "$(sys md5 "$1")"; }
# wait_over: until the replacement is done (no pass runs, no replacement left).
wait_over() {
  for _ in $(seq 300); do
    "$ADM" --wait "$MD" 2>/dev/null
    [ "$(md sync_action)" = idle ] && ! grep -q replacement "$MNT"/sys/block/md5/md/dev-*/state && return 0
    sleep 0.1
  done
  fail "the replacement never finished: $(cat "$MNT"/sys/block/md5/md/dev-*/state | tr '\n' ' ')"
}

answer() {  # answer NAME STATUS MESSAGE ARGS...
  local name=$1 want=$2 msg=$3
  shift 3
  "$ADM" "$@" >/dev/null 2>"$T/err"
  check "$name: exit $want" "$want" "$?"
  grep -qF -- "$msg" "$T/err" || fail "$name: [$(cat "$T/err")], want [$msg]"
}
answer "--with before --replace" 2 "mdfsadm: --with must follow --replace" md5 --with s1.img

truncate -s 12M "$SRC"/r{0,1,2}.img "$SRC"/s{1,2,3}.img
mount_mdfs -o assemble=none
"$ADM" -CR "$MD" -l5 -n3 -c64 --assume-clean r0.img r1.img r2.img 2>"$T/err" || fail "create: $(cat "$T/err")"
head -c "$(stat -c %s "$MD")" /dev/urandom > "$T/ref"
dd if="$T/ref" of="$MD" bs=1M conv=notrunc,fsync status=none
"$ADM" "$MD" --add s1.img s2.img 2>/dev/null || fail "adding spares"

# --replace r1 --with s2: s2 (not s1) takes role 1; r1 fails out.
"$ADM" "$MD" --replace r1.img --with s2.img >"$T/out" 2>"$T/err"
check "--replace --with: exit 0" 0 "$?"
check "--replace --with: mdadm's lines" "mdfsadm: Marked $SRC/r1.img (device 1 in $MD) for replacement
mdfsadm: Marked $SRC/s2.img in $MD as replacement for device 1" "$(cat "$T/err")"
wait_over
check "s2 took role 1, r1 is faulty, s1 still a spare" "in_sync 1 faulty spare none" \
  "$(md dev-s2.img/state) $(md dev-s2.img/slot) $(md dev-r1.img/state) $(md dev-s1.img/state) $(md dev-s1.img/slot)"
check "sync_action idle again (unfrozen)" idle "$(md sync_action)"
cmp -s "$T/ref" "$MD" && pass "the data after --replace --with" || fail "the data differs after --replace --with"
"$ADM" "$MD" --remove r1.img 2>/dev/null || fail "removing r1"

# --replace alone: the array picks the spare, the newest first as the
# kernel's member list runs (s3, added after s1).
"$ADM" "$MD" --add s3.img 2>/dev/null || fail "adding s3"
"$ADM" "$MD" --replace "$SRC/r0.img" 2>"$T/err" || fail "--replace r0: $(cat "$T/err")"
wait_over
check "s3 took role 0, r0 is faulty, s1 still a spare" "in_sync 0 faulty spare" \
  "$(md dev-s3.img/state) $(md dev-s3.img/slot) $(md dev-r0.img/state) $(md dev-s1.img/state)"
"$ADM" "$MD" --remove r0.img 2>/dev/null || fail "removing r0"
"$ADM" "$MD" --replace "$SRC/r2.img" 2>"$T/err" || fail "--replace r2: $(cat "$T/err")"
wait_over
check "s1 took role 2" "in_sync 2 faulty" "$(md dev-s1.img/state) $(md dev-s1.img/slot) $(md dev-r2.img/state)"
cmp -s "$T/ref" "$MD" && pass "the data after --replace" || fail "the data differs after --replace"
check "three in sync" "[UUU]" "$(grep -o '\[[U_]*\]' "$MNT/proc/mdstat")"

# Refusals.
answer "--replace of a faulty member no longer in a role" 1 "$SRC/r2.img is not active and so cannot be replaced." \
  "$MD" --replace r2.img
answer "--replace of a file not in the array" 1 "$SRC/r1.img not found in $MD so cannot --replace it" \
  "$MD" --replace r1.img
answer "--with a file not in the array" 1 "$SRC/r1.img not found in $MD so cannot make it preferred replacement" \
  "$MD" --replace s2.img --with r1.img
echo -want_replacement > "$(sys md5 dev-s2.img/state)"
answer "--with an active member" 1 "$SRC/s1.img is active and cannot be a replacement" \
  "$MD" --replace s2.img --with s1.img
echo -want_replacement > "$(sys md5 dev-s2.img/state)"
check "no replacement left wanted" "" "$(grep -l want_replacement "$MNT"/sys/block/md5/md/dev-*/state)"
check "sync_action idle after the refusals" idle "$(md sync_action)"
cmp -s "$T/ref" "$MD" && pass "the data after the refusals" || fail "the data differs after the refusals"
"$ADM" --stop "$MD" 2>/dev/null
unmount_mdfs
finish
