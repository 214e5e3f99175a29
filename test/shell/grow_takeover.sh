#!/bin/bash
# Level takeovers of running arrays, as md's level_store: mdfsadm --grow
# --level and `echo LEVEL > level` change the level without moving data.
# raid1 <-> raid5 of two members; raid5 -> raid6 (Q on a new last member,
# the -6 layout, recovered onto a spare) and back (the Q member a spare);
# raid0 -> raid5 (parity-last, the parity recovered; ext4 e2fsck clean)
# and back (the parity member removed); raid0 -> raid4 -> raid5 -> raid4;
# raid0 -> raid10 near=2 (the mirrors recovered) and back; raid1 -> raid0.
# Each keeps its data (cmp), a check after a recovery finds no mismatch,
# every superblock records the new level (mdadm --examine) and the array
# reassembles as it. What md refuses is refused with the kernel's errno
# (EINVAL, EROFS, EBUSY with a bitmap or during a recovery) and changes
# nothing.
. "$(dirname "$0")/lib.sh"
requires mdadm cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}

mount_mdfs -o assemble=none

# make NAME LEVEL N [SIZE]: a new array of N members (64K chunk) filled with
# random data kept in $T/NAME.data; SIZE of each member (16M).
make() {
  local name=$1 level=$2 n=$3 size=${4:-16M} i members=""
  for i in $(seq 0 $((n - 1))); do
    truncate -s "$size" "$SRC/$name-$i.img"
    members="$members $name-$i.img"
  done
  # shellcheck disable=SC2086
  if [ "$level" = 1 ]; then
    "$ADM" --create "$MNT/dev/$name" -l1 -n"$n" $members 2>/dev/null
  else
    "$ADM" --create "$MNT/dev/$name" -l"$level" -n"$n" -c64 $members 2>/dev/null
  fi
  settled "$name"
  head -c "$(stat -c %s "$MNT/dev/$name")" /dev/urandom >"$T/$name.data"
  dd if="$T/$name.data" of="$MNT/dev/$name" bs=1M conv=notrunc,fsync status=none
}

# spare NAME FILE: a blank spare added.
spare() {
  truncate -s 16M "$SRC/$2"
  "$ADM" "$MNT/dev/$1" --add "$2" >/dev/null 2>&1
}

# shape NAME: "level raid_disks layout degraded" as sysfs shows them
# (raid0 has no degraded, as the kernel drops its redundancy attributes).
shape() {
  local l d
  l=$(cat "$(sys "$1" layout)" 2>/dev/null)
  d=$(cat "$(sys "$1" degraded)" 2>/dev/null)
  echo "$(cat "$(sys "$1" level)") $(cat "$(sys "$1" raid_disks)") ${l:-none} ${d:-none}"
}

# intact NAME WHAT: the data reads back up to the smaller size.
intact() {
  local size
  size=$(stat -c %s "$MNT/dev/$1")
  [ "$size" -gt "$(stat -c %s "$T/$1.data")" ] && size=$(stat -c %s "$T/$1.data")
  cmp -s -n "$size" "$T/$1.data" "$MNT/dev/$1" && pass "$1: $2: data intact" || fail "$1: $2: data differs"
}

# checked NAME: a check finds nothing to mend.
checked() {
  echo check >"$(sys "$1" sync_action)"
  "$ADM" --wait "$MNT/dev/$1" 2>/dev/null
  check "$1: mismatch_cnt after a check" 0 "$(cat "$(sys "$1" mismatch_cnt)")"
}

# examined LEVEL FILE...: how many members' superblocks say Raid Level LEVEL.
examined() {
  local want=$1 f n=0
  shift
  for f in "$@"; do
    [ "$(mdadm --examine "$SRC/$f" 2>/dev/null | sed -n 's/^ *Raid Level : //p')" = "$want" ] && n=$((n + 1))
  done
  echo "$n"
}

kinds=0

# raid1 <-> raid5 of two members.
make md_t15 1 2
"$ADM" --grow "$MNT/dev/md_t15" --level=5 2>"$T/err"
check "md_t15: 1 -> 5: exit 0, mdadm's line" "0 mdfsadm: level of $MNT/dev/md_t15 changed to raid5" "$? $(cat "$T/err")"
check "md_t15: raid5 of 2, left-symmetric" "raid5 2 2 0" "$(shape md_t15)"
check "md_t15: the chunk raid5_takeover_raid1 picks" 65536 "$(cat "$(sys md_t15 chunk_size)")"
check "md_t15: superblocks say raid5" 2 "$(examined raid5 md_t15-0.img md_t15-1.img)"
intact md_t15 "1 -> 5"
checked md_t15
check "md_t15: 5 -> 1 through level" ok "$(sysw "$(sys md_t15 level)" raid1)"
check "md_t15: raid1 of 2" "raid1 2 0 0" "$(shape md_t15)"
intact md_t15 "5 -> 1"
kinds=$((kinds + 1))

# raid5 -> raid6 -> raid5 with the -6 layout.
make md_t56 5 3
"$ADM" --grow "$MNT/dev/md_t56" --level=6 2>"$T/err"
check "md_t56: 5 -> 6 without a spare: exit 1" 1 "$?"
grep -q "Need 1 spare" "$T/err" && pass "md_t56: mdadm's message" || fail "md_t56: $(cat "$T/err")"
spare md_t56 md_t56-3.img
"$ADM" --grow "$MNT/dev/md_t56" --level=6 --layout=preserve 2>/dev/null
"$ADM" --wait "$MNT/dev/md_t56" 2>/dev/null
check "md_t56: raid6 of 4, left-symmetric-6, Q recovered" "raid6 4 18 0" "$(shape md_t56)"
check "md_t56: the spare holds Q (the last role)" 3 "$(cat "$(sys md_t56 dev-md_t56-3.img/slot)")"
check "md_t56: superblocks say raid6" 4 "$(examined raid6 md_t56-{0,1,2,3}.img)"
intact md_t56 "5 -> 6"
checked md_t56
"$ADM" --stop "$MNT/dev/md_t56" 2>/dev/null
"$ADM" --assemble "$MNT/dev/md_t56" md_t56-{0,1,2,3}.img 2>/dev/null
check "md_t56: reassembled as raid6" "raid6 4 18 0" "$(shape md_t56)"
intact md_t56 "reassembled"
"$ADM" --grow "$MNT/dev/md_t56" --level=raid5 2>/dev/null
check "md_t56: 6 -> 5: raid5 of 3, left-symmetric" "raid5 3 2 0" "$(shape md_t56)"
check "md_t56: the Q member is a spare" none "$(cat "$(sys md_t56 dev-md_t56-3.img/slot)")"
intact md_t56 "6 -> 5"
checked md_t56
kinds=$((kinds + 1))

# raid0 -> raid5 (parity-last) under ext4, and back.
make md_t05 0 2
if command -v mkfs.ext4 >/dev/null && command -v e2fsck >/dev/null; then
  mkfs.ext4 -q -F "$MNT/dev/md_t05" 2>/dev/null
  cp "$MNT/dev/md_t05" "$T/md_t05.data"
fi
truncate -s 16M "$SRC/md_t05-2.img"
"$ADM" --grow "$MNT/dev/md_t05" --level=5 --add md_t05-2.img 2>/dev/null
check "md_t05: 0 -> 5: exit 0" 0 "$?"
"$ADM" --wait "$MNT/dev/md_t05" 2>/dev/null
check "md_t05: raid5 of 3, parity-last, parity recovered" "raid5 3 5 0" "$(shape md_t05)"
check "md_t05: the spare holds parity" 2 "$(cat "$(sys md_t05 dev-md_t05-2.img/slot)")"
intact md_t05 "0 -> 5"
checked md_t05
if command -v e2fsck >/dev/null; then
  e2fsck -fn "$MNT/dev/md_t05" >"$T/fsck" 2>&1 && pass "md_t05: e2fsck -fn clean" || fail "md_t05: $(tail -3 "$T/fsck")"
fi
# The parity member alone gives the same data back with another member gone.
"$ADM" "$MNT/dev/md_t05" --fail md_t05-0.img >/dev/null 2>&1
intact md_t05 "rebuilt from the new parity"
"$ADM" "$MNT/dev/md_t05" --remove md_t05-0.img >/dev/null 2>&1
check "md_t05: degraded raid5 (a data member gone) -> raid0: EINVAL" "Invalid argument" \
  "$(sysw "$(sys md_t05 level)" raid0)"
mdadm --zero-superblock "$SRC/md_t05-0.img" 2>/dev/null
"$ADM" "$MNT/dev/md_t05" --add md_t05-0.img >/dev/null 2>&1
"$ADM" --wait "$MNT/dev/md_t05" 2>/dev/null
"$ADM" --grow "$MNT/dev/md_t05" --level=0 2>"$T/err"
check "md_t05: 5 -> 0: exit 0" 0 "$?"
check "md_t05: raid0 of 2" "raid0 2 0 none" "$(shape md_t05)"
check "md_t05: the parity member left" none "$(cat "$(sys md_t05 dev-md_t05-2.img/slot)" 2>/dev/null || echo none)"
intact md_t05 "5 -> 0"
kinds=$((kinds + 1))

# raid0 -> raid4 -> raid5 -> raid4 through the attribute.
make md_t04 0 3
spare md_t04 md_t04-3.img
check "md_t04: 0 -> 4" ok "$(sysw "$(sys md_t04 level)" 4)"
"$ADM" --wait "$MNT/dev/md_t04" 2>/dev/null
check "md_t04: raid4 of 4" "raid4 4 5 0" "$(shape md_t04)"
intact md_t04 "0 -> 4"
checked md_t04
check "md_t04: 4 -> 5" ok "$(sysw "$(sys md_t04 level)" raid5)"
check "md_t04: raid5 of 4, parity-last" "raid5 4 5 0" "$(shape md_t04)"
intact md_t04 "4 -> 5"
checked md_t04
check "md_t04: 5 -> 4" ok "$(sysw "$(sys md_t04 level)" raid4)"
check "md_t04: raid4 again" "raid4 4 0 0" "$(shape md_t04)"
intact md_t04 "5 -> 4"
kinds=$((kinds + 1))

# raid0 -> raid10 near=2 -> raid0.
make md_t010 0 2
spare md_t010 md_t010-2.img
spare md_t010 md_t010-3.img
"$ADM" --grow "$MNT/dev/md_t010" --level=10 2>/dev/null
"$ADM" --wait "$MNT/dev/md_t010" 2>/dev/null
check "md_t010: raid10 of 4, near=2, mirrors recovered" "raid10 4 258 0" "$(shape md_t010)"
check "md_t010: the old members in roles 0 and 2" "0 2" \
  "$(cat "$(sys md_t010 dev-md_t010-0.img/slot)") $(cat "$(sys md_t010 dev-md_t010-1.img/slot)")"
intact md_t010 "0 -> 10"
checked md_t010
# The new mirrors alone hold the data.
"$ADM" "$MNT/dev/md_t010" --fail md_t010-0.img --remove md_t010-0.img >/dev/null 2>&1
"$ADM" "$MNT/dev/md_t010" --fail md_t010-1.img --remove md_t010-1.img >/dev/null 2>&1
intact md_t010 "the new mirrors alone"
"$ADM" --grow "$MNT/dev/md_t010" --level=0 2>/dev/null
check "md_t010: 10 -> 0" "raid0 2 0 none" "$(shape md_t010)"
check "md_t010: superblocks say raid0" 2 "$(examined raid0 md_t010-2.img md_t010-3.img)"
intact md_t010 "10 -> 0"
kinds=$((kinds + 1))

# raid1 -> raid0: all mirrors but one removed first.
make md_t10 1 3
"$ADM" --grow "$MNT/dev/md_t10" --level=0 2>/dev/null
check "md_t10: raid0 of 1" "raid0 1 0 none" "$(shape md_t10)"
check "md_t10: chunk_size" 65536 "$(cat "$(sys md_t10 chunk_size)")"
intact md_t10 "1 -> 0"
kinds=$((kinds + 1))
check "takeover kinds run" 6 "$kinds"

# What md refuses.
make md_tr 5 3
before=$(shape md_tr)
check "raid5 left-symmetric -> raid0: EINVAL" "Invalid argument" "$(sysw "$(sys md_tr level)" raid0)"
check "raid5 of 3 -> raid1: EINVAL" "Invalid argument" "$(sysw "$(sys md_tr level)" raid1)"
check "raid5 -> raid10: EINVAL" "Invalid argument" "$(sysw "$(sys md_tr level)" raid10)"
check "raid5 -> linear: EINVAL" "Invalid argument" "$(sysw "$(sys md_tr level)" linear)"
check "an unknown level: EINVAL" "Invalid argument" "$(sysw "$(sys md_tr level)" raid7)"
check "the same level: ok, nothing" ok "$(sysw "$(sys md_tr level)" raid5)"
"$ADM" --readonly "$MNT/dev/md_tr" 2>/dev/null
check "read-only: EROFS" "Read-only file system" "$(sysw "$(sys md_tr level)" raid6)"
"$ADM" --readwrite "$MNT/dev/md_tr" 2>/dev/null
echo 1024 >"$(sys md_tr sync_max)"
echo check >"$(sys md_tr sync_action)"
check "during a check: EBUSY" "Device or resource busy" "$(sysw "$(sys md_tr level)" raid6)"
echo idle >"$(sys md_tr sync_action)"
echo max >"$(sys md_tr sync_max)"
"$ADM" --wait "$MNT/dev/md_tr" 2>/dev/null
check "refusals: the shape unchanged" "$before" "$(shape md_tr)"
intact md_tr "refusals"
make md_tb 1 2
"$ADM" --grow "$MNT/dev/md_tb" --bitmap=internal 2>/dev/null
"$ADM" "$MNT/dev/md_tb" --fail md_tb-1.img --remove md_tb-1.img >/dev/null 2>&1
check "raid1 with a bitmap -> raid0: EBUSY" "Device or resource busy" "$(sysw "$(sys md_tb level)" raid0)"
truncate -s 16M "$SRC/md_tz-0.img"
truncate -s 24M "$SRC/md_tz-1.img"
"$ADM" --create "$MNT/dev/md_tz" -l0 -n2 -c64 md_tz-0.img md_tz-1.img 2>/dev/null
check "raid0 of two zones -> raid5: EINVAL" "Invalid argument" "$(sysw "$(sys md_tz level)" raid5)"
check "raid0 -> raid6: EINVAL" "Invalid argument" "$(sysw "$(sys md_tz level)" raid6)"
"$ADM" --grow "$MNT/dev/md_tz" --level=1 2>"$T/err"
check "mdfsadm raid0 -> raid1: exit 1" 1 "$?"
unmount_mdfs
finish
