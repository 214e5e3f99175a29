#!/bin/bash
# mdfsadm --create --write-zeroes (mdadm 4.3's option, used by mdadm's own
# test 00raid5-zero): members full of old data are zeroed where the array
# keeps its data, the array starts clean with no initial resync, reads as
# zeros, and a check finds no mismatch; the superblock and bitmap mdfs
# writes at the start are whole (Debian's mdadm reads them from the member
# files); --size shortens what is zeroed; on tmpfs, which has no
# FALLOC_FL_ZERO_RANGE, the range is punched instead.
. "$(dirname "$0")/lib.sh"
requires mdadm cmp od
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
MIB=$((1024 * 1024))

# junk FILE...: 16 MiB of non-zero bytes each.
junk() { for f in "$@"; do head -c $((16 * MIB)) /dev/urandom > "$SRC/$f"; done; }
# data_zero FILE OFFSET_SECTORS LEN_BYTES: whether the range reads as zeros.
data_zero() { cmp -s -n "$3" <(tail -c +$(($2 * 512 + 1)) "$1") /dev/zero && echo zero || echo data; }
# examine_field FILE FIELD: one field of Debian's mdadm --examine.
examine_field() { mdadm --examine "$1" 2>/dev/null | sed -n "s/^ *$2 : \([0-9]*\).*/\1/p"; }
# check_array NAME: clean, idle, no resync owed, all zeros, a check finds nothing.
check_array() {
  local md=$1
  check "$md: no resync owed" none "$(cat "$(sys "$md" resync_start)")"
  check "$md: idle" idle "$(cat "$(sys "$md" sync_action)")"
  grep -A3 "^$md " "$MNT/proc/mdstat" | grep -qE "resync|recovery" && fail "$md: a sync runs: $(cat "$MNT/proc/mdstat")"
  local size
  size=$(stat -c %s "$MNT/dev/$md")
  [ "$size" -gt 0 ] || fail "$md: size $size"
  cmp -s -n "$size" "$MNT/dev/$md" /dev/zero && pass "$md reads as zeros ($size bytes)" || fail "$md does not read as zeros"
  echo check > "$(sys "$md" sync_action)"
  "$ADM" --wait "$MNT/dev/$md" 2>/dev/null
  check "$md: a check finds no mismatch" 0 "$(cat "$(sys "$md" mismatch_cnt)")"
}

mount_mdfs -o assemble=none
# raid5, 1.2 with an internal bitmap: as 00raid5-zero, -CfR.
junk a.img b.img c.img
"$ADM" -CfR "$MNT/dev/md0" -l5 -n3 --bitmap=internal a.img b.img c.img --write-zeroes >"$T/out" 2>"$T/err"
check "raid5 --write-zeroes: exit status" 0 "$?"
check "raid5: mdadm's line that it implies --assume-clean" \
  "mdfsadm: Disk zeroing requested, setting --assume-clean to skip resync" "$(head -1 "$T/out")"
check "raid5: one zeroing line per member, then 'zeroing finished'" 4 \
  "$(grep -cE '^mdfsadm: zeroing (data from [0-9]+ to [0-9]+ on: .*[abc]\.img|finished)$' "$T/out")"
check_array md0
"$ADM" --stop "$MNT/dev/md0" 2>/dev/null

# raid1, 1.0 (superblock and bitmap after the data), with --size.
junk d.img e.img
"$ADM" -CR "$MNT/dev/md1" -e1.0 -l1 -n2 --bitmap=internal --size=8M d.img e.img --write-zeroes >"$T/out" 2>"$T/err" ||
  fail "raid1 1.0 --write-zeroes: $(cat "$T/err")"
check "raid1 1.0: zeroed up to --size" "mdfsadm: zeroing data from 0 to $((8 * MIB)) on: $SRC/d.img" \
  "$(grep 'on: .*d.img' "$T/out")"
check_array md1
"$ADM" --stop "$MNT/dev/md1" 2>/dev/null

# 0.90 raid10.
junk f.img g.img h.img i.img
"$ADM" -CR "$MNT/dev/md2" -e0.90 -l10 -n4 f.img g.img h.img i.img --write-zeroes >/dev/null 2>"$T/err" ||
  fail "raid10 0.90 --write-zeroes: $(cat "$T/err")"
check_array md2
"$ADM" --stop "$MNT/dev/md2" 2>/dev/null
unmount_mdfs

# The members as Debian's mdadm sees them: superblocks and bitmaps intact,
# the data areas zero, the rest of each member (past --size) untouched.
n=0
for f in a b c d e f g h i; do
  file=$SRC/$f.img
  mdadm --examine "$file" >/dev/null 2>&1 || fail "$f.img: mdadm cannot examine it"
  off=$(examine_field "$file" "Data Offset")
  [ -n "$off" ] || off=0  # 0.90 prints none
  # Used Dev Size, or Avail Dev Size when they are one (mdadm prints one);
  # 1.x in sectors, 0.90 in KiB.
  used=$(mdadm --examine "$file" | sed -n 's/^ *\(Used\|Avail\) Dev Size : \([0-9]*\).*/\2/p' | tail -1)
  case $(mdadm --examine "$file" | sed -n 's/^ *Version : //p') in
    1.*) len=$((used * 512)) ;;
    *) len=$((used * 1024)) ;;
  esac
  [ "$len" -gt 0 ] || fail "$f.img: no Used Dev Size"
  check "$f.img: the data area is zeros" zero "$(data_zero "$file" "$off" "$len")"
  n=$((n + 1))
done
check "every member checked" 9 "$n"
# (Debian's mdadm -X takes a plain file for a bitmap file, so mdfsadm's.)
for f in a d; do
  "$ADM" -X "$SRC/$f.img" 2>/dev/null | grep -q "Magic : 6d746962" || fail "$f.img: -X finds no bitmap"
done
# d.img: 1.0 with --size=8M: past the data, before the bitmap, the old bytes.
check "d.img: the old data past --size is left" data "$(data_zero "$SRC/d.img" $((8 * 2048)) $MIB)"

# On tmpfs (no FALLOC_FL_ZERO_RANGE) the data area is punched.
if [ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ]; then
  SHM=$(mktemp -d /dev/shm/mdfs-test.XXXXXX)
  trap 'cleanup; rm -rf "$SHM"' EXIT
  SRC=$SHM
  for f in p.img q.img; do head -c $((16 * MIB)) /dev/urandom > "$SHM/$f"; done
  before=$(du -k "$SHM/p.img" | cut -f1)
  mount_mdfs -o assemble=none
  "$ADM" -CR "$MNT/dev/md3" -l1 -n2 p.img q.img --write-zeroes >/dev/null 2>"$T/err" ||
    fail "raid1 on tmpfs --write-zeroes: $(cat "$T/err")"
  check_array md3
  "$ADM" --stop "$MNT/dev/md3" 2>/dev/null
  unmount_mdfs
  after=$(du -k "$SHM/p.img" | cut -f1)
  [ "$after" -lt $((before / 2)) ] && pass "tmpfs: the data area was punched ($before KiB -> $after KiB)" ||
    fail "tmpfs: p.img still holds $after KiB (was $before)"
  mdadm --examine "$SHM/p.img" >/dev/null 2>&1 || fail "tmpfs: mdadm cannot examine p.img"
else
  fail "no tmpfs at /dev/shm to try the punched path on"
fi

# Where it does not apply: --build, and an unknown mode.
"$ADM" --build "$MNT/dev/md4" -l0 -n2 a.img b.img --write-zeroes >/dev/null 2>"$T/err"
check "--build --write-zeroes is refused as mdadm: exit 2" 2 "$?"
grep -q "option --write-zeroes not valid in build mode" "$T/err" || fail "--build: $(cat "$T/err")"
finish
