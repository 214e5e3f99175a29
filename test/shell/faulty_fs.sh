#!/bin/bash
# tools/faulty-fs, the failing disk the member-error tests stand on: each
# rule does what its --help says to a plain file, rules change while files
# are open, a command it cannot parse changes nothing, truncation shows at
# once, and the control file stays out of listings.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faulty.sh"
mount_faulty
F=$SRC/f.img
head -c 1048576 /dev/urandom >"$BACK/f.img"
cp "$BACK/f.img" "$T/f.ref"
exec 3<"$F"  # stays open across rule changes, as a member does

# rd OFFSET LENGTH: bytes read (direct I/O through fd 3's file) and the error.
rd() {
  local err
  err=$(dd if="$F" iflag=direct,skip_bytes,count_bytes skip="$1" count="$2" bs=64K of="$T/got" 2>&1 status=none)
  echo "$(stat -c %s "$T/got") ${err##*: }"
}
wr() {
  local err
  err=$(head -c "$2" /dev/zero | dd of="$F" oflag=seek_bytes seek="$1" bs=64K conv=notrunc,fsync 2>&1 status=none)
  echo "${err##*: }"
}

check "--help lists every rule" 7 "$("$FAULTY_FS" --help | grep -cE '^  (eio|bad|short|weio|enospc|delay|fsync) FILE')"
check "no rules at first" "" "$(cat "$SRC/.faulty")"
check "the control file is not listed" "f.img" "$(ls -A "$SRC")"

rule eio f.img 64K 64K
check "eio: a read touching the range fails" "0 Input/output error" "$(rd 60K 8K)"
check "eio: reads beside it do not" "65536 " "$(rd 0 64K)"
check "eio: listed with its hits" "eio f.img 65536 65536 hits=1" "$(cat "$SRC/.faulty")"
rule clear
check "clear: the read goes through, right" "8192 " "$(rd 60K 8K)"
cmp -s <(head -c 8192 "$T/got") <(dd if="$T/f.ref" bs=4K skip=15 count=2 status=none) && pass "clear: the bytes" ||
  fail "clear: the bytes differ"

rule short f.img 512K -
check "short: a read across the start stops there" "4096 " "$(rd 508K 8K)"
check "short: one inside reads nothing" "0 " "$(rd 600K 4K)"
rule clear

rule bad f.img 128K 8K
check "bad: reads fail" "0 Input/output error" "$(rd 128K 4K)"
check "bad: a write of the first half goes through" "" "$(wr 128K 4K)"
check "bad: that half reads, the other does not" "4096  0 Input/output error" "$(rd 128K 4K) $(rd 132K 4K)"
check "bad: listed with the bytes left" 1 "$(grep -c '^bad f.img 131072 8192 hits=[0-9]* bad_bytes=4096$' "$SRC/.faulty")"
rule clear

rule weio f.img 0 4K
rule enospc f.img 8K 4K
check "weio: EIO" "Input/output error" "$(wr 0 4K)"
check "enospc: ENOSPC" "No space left on device" "$(wr 8K 4K)"
check "writes beside them go through" "" "$(wr 4K 4K)"
rule clear
rule fsync f.img
check "fsync: a write's fsync fails" "Input/output error" "$(wr 4K 4K)"
rule clear

rule delay f.img 0 - 1
check "delay: the read goes through" "4096 " "$(rd 0 4K)"
check "delay: it struck" 1 "$(grep -c '^delay f.img 0 - 1 hits=1$' "$SRC/.faulty")"
rule clear

for bad in "eio f.img" "eio f.img x 4K" "eio f.img 0 0" "nosuch f.img 0 4K" "eio a/b 0 4K" "clear a b" "delay f.img 0 4K"; do
  check "refused: $bad" "Invalid argument" "$(sysw "$SRC/.faulty" "$bad")"
done
printf 'eio f.img 0 4K\nbogus\n' >"$T/two"
err=$(dd if="$T/two" of="$SRC/.faulty" bs=4K 2>&1 status=none)
check "one write of two lines, one bad: neither taken" "Invalid argument " "${err##*: } $(cat "$SRC/.faulty")"

truncate -s 256K "$BACK/f.img"
check "truncated in BACKING: seen at once" "262144 0 " "$(stat -c %s "$F") $(rd 300K 4K)"
truncate -s 128K "$F"
check "truncated through the mount" 131072 "$(stat -c %s "$BACK/f.img")"
exec 3<&-
finish
