#!/bin/bash
# mdfsadm DEV --re-add FILE --update=WHAT, as mdadm 4.2's manage mode: only
# after --re-add, only devicesize, bbl, no-bbl and force-no-bbl; the
# member's superblock is updated before it goes back (Debian's mdadm reads
# the result from the file), and it is re-added through the bitmap.
. "$(dirname "$0")/lib.sh"
requires mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
MD=$MNT/dev/md0
field() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n "s/^ *$2 : //p"; }

# The parser's answers, as mdadm's (exit status and message).
c=0
answer() {  # answer NAME STATUS MESSAGE ARGS...
  local name=$1 want=$2 msg=$3
  shift 3
  "$ADM" "$@" >/dev/null 2>"$T/err"
  local rc=$?
  check "$name: exit $want" "$want" "$rc"
  grep -qF -- "$msg" "$T/err" && c=$((c + 1)) || fail "$name: [$(cat "$T/err")], want [$msg]"
}
answer "--update before --re-add" 1 "mdfsadm: --update in Manage mode only allowed with --re-add." \
  --manage md0 --update=devicesize --re-add b.img
answer "--update with --add" 1 "--update in Manage mode only allowed with --re-add." md0 --add b.img --update=bbl
answer "--update=uuid with --re-add" 2 \
  "only 'devicesize', 'bbl', 'no-bbl', and 'force-no-bbl' can be updated with --re-add" \
  md0 --re-add b.img --update=uuid
answer "two updates" 2 "Can only update one aspect of superblock, both bbl and no-bbl given." \
  md0 --re-add b.img --update=bbl --update=no-bbl
check "parser answers checked" 4 "$c"

mount_mdfs -o assemble=none
truncate -s 16M "$SRC/a.img" "$SRC/b.img"
"$ADM" -CR "$MD" -l1 -n2 --bitmap=internal --assume-clean a.img b.img 2>"$T/err" || fail "create: $(cat "$T/err")"
readd() {  # readd WHAT: fail, remove, write, re-add with --update=WHAT
  "$ADM" "$MD" --fail b.img --remove b.img >/dev/null 2>&1 || fail "$1: fail/remove b.img"
  head -c 64K /dev/urandom | dd of="$MD" bs=64K conv=notrunc,fsync status=none
  [ -n "${2:-}" ] && truncate -s "$2" "$SRC/b.img"
  "$ADM" "$MD" --re-add b.img --update="$1" >"$T/out" 2>"$T/err"
  check "--re-add --update=$1: exit 0" 0 "$?"
  grep -q "re-added $SRC/b.img" "$T/err" || fail "--update=$1: $(cat "$T/err")"
  "$ADM" --wait "$MD" 2>/dev/null
  check "--update=$1: b.img back in its role" "in_sync" "$(cut -d, -f1 < "$(sys md0 dev-b.img/state)")"
}

# devicesize: b.img grew; 1.2's Avail Dev Size takes all of it after the
# data offset.
before=$(field a.img "Avail Dev Size")
readd devicesize 32M
offset=$(field b.img "Data Offset" | cut -d' ' -f1)
check "devicesize: b.img's Avail Dev Size is its new size after the data offset" \
  "$((32 * 2048 - offset))" "$(field b.img "Avail Dev Size" | cut -d' ' -f1)"
check "devicesize: a.img's is unchanged" "$before" "$(field a.img "Avail Dev Size")"

# no-bbl: no bad block log on b.img from then on; bbl brings one back.
[ -n "$(field b.img "Bad Block Log")" ] || fail "b.img had no bad block log to remove"
readd no-bbl
"$ADM" --stop "$MD" 2>/dev/null
check "no-bbl: b.img has no bad block log" "" "$(field b.img "Bad Block Log")"
check "no-bbl: its checksum is right" correct "$(field b.img Checksum | sed 's/.* - //')"
"$ADM" --assemble "$MD" a.img b.img 2>/dev/null || fail "assemble after no-bbl"
readd bbl
"$ADM" --stop "$MD" 2>/dev/null
# (Where mdadm's update puts it: past the bitmap, 32 KiB after the superblock.)
check "bbl: b.img has a bad block log again" "512 entries available at offset 80 sectors" "$(field b.img "Bad Block Log")"

# A member whose superblock is not of this array is neither updated nor added.
"$ADM" --assemble "$MD" a.img b.img 2>/dev/null || fail "assemble"
"$ADM" "$MD" --fail b.img --remove b.img >/dev/null 2>&1
truncate -s 16M "$SRC/x.img" "$SRC/y.img"
"$ADM" -CR "$MNT/dev/md1" -l1 -n2 --bitmap=internal --assume-clean x.img y.img 2>/dev/null
"$ADM" --stop "$MNT/dev/md1" 2>/dev/null
sum=$(md5sum < "$SRC/x.img")
"$ADM" "$MD" --re-add x.img --update=no-bbl >/dev/null 2>"$T/err"
check "another array's member: exit 1" 1 "$?"
grep -q -- "--re-add for $SRC/x.img to $MD is not possible" "$T/err" || fail "other member: $(cat "$T/err")"
check "another array's member is not written" "$sum" "$(md5sum < "$SRC/x.img")"
"$ADM" --stop "$MD" 2>/dev/null
unmount_mdfs
finish
