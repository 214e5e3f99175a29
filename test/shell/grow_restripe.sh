#!/bin/bash
# Level changes that restripe, as mdadm 4.2's --grow: raid5 of 4 -> raid6
# of 5 goes through the takeover to left-symmetric-6 and a reshape to
# left-symmetric (Q rotating), the spare recovered into the Q role; raid6
# of 5 -> raid5 of 4 through a reshape to left-symmetric-6 and then the
# takeover (the Q member a spare). ext4 made with random files on the
# array stays byte for byte the same (cmp against a copy) and e2fsck -fn
# clean; sysfs and mdfsadm --examine (mdadm's agreeing) show each new
# shape; a check finds no mismatch. A raid6 layout changes between a -6
# layout and a normal one through mdfsadm (normalise) and through the
# attributes mdadm writes (new_offset, layout, sync_action). What mdadm
# refuses is refused with its message and changes nothing; what md
# refuses gets md's errno. --raid-devices and --layout go with a level
# change (raid5 of 3 -> raid6 of 5, raid6 of 5 -> raid5 of 4
# right-asymmetric). A raid5 -> raid6 restripe killed (kill -9) at random
# moments resumes each time and ends with the data and the raid6 shape; a
# raid6 -> raid5 whose reshape outlives the mount ends as raid6 in the -6
# layout, and the same command later is the takeover alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-reshape.sh"
requires mdadm cmp mkfs.ext4 e2fsck debugfs sha256sum
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}

mount_mdfs -o assemble=none

# shape NAME: "level raid_disks layout degraded" as sysfs shows them.
shape() {
  echo "$(cat "$(sys "$1" level)") $(cat "$(sys "$1" raid_disks)") $(cat "$(sys "$1" layout)") $(cat "$(sys "$1" degraded)")"
}
# examined NAME FIELD FILE...: FIELD of each member's superblock, counted,
# as mdfsadm --examine shows it; mdadm --examine must say the same.
examined() {
  local name=$1 field=$2 f ours theirs
  shift 2
  ours=$(for f in "$@"; do "$ADM" --examine "$SRC/$f" 2>/dev/null | sed -n "s/^ *$field : //p"; done | sort | uniq -c |
    sed 's/^ *//' | tr '\n' ';')
  theirs=$(for f in "$@"; do mdadm --examine "$SRC/$f" 2>/dev/null | sed -n "s/^ *$field : //p"; done | sort | uniq -c |
    sed 's/^ *//' | tr '\n' ';')
  [ "$ours" = "$theirs" ] && echo "$ours" || echo "mdfsadm [$ours] mdadm [$theirs]"
}
# fs_intact NAME WHAT: the array is the copy taken before, and ext4 on it
# checks clean with its random file intact.
fs_intact() {
  cmp -s "$T/$1.data" "$MNT/dev/$1" && pass "$1: $2: the array is the copy" || fail "$1: $2: the array differs"
  e2fsck -fn "$MNT/dev/$1" >"$T/fsck" 2>&1 && pass "$1: $2: e2fsck -fn clean" || fail "$1: $2: $(tail -3 "$T/fsck")"
  debugfs -R "dump /random.bin $T/dumped" "$MNT/dev/$1" 2>/dev/null
  cmp -s "$T/random.bin" "$T/dumped" && pass "$1: $2: the random file reads back" || fail "$1: $2: the file differs"
  rm -f "$T/dumped"
}

# raid5 of 4 (64K chunk) with ext4 holding 40 MiB of random data.
truncate -s 24M "$SRC"/md_r-{0,1,2,3,4}.img
"$ADM" --create "$MNT/dev/md_r" -l5 -n4 -c64 md_r-{0,1,2,3}.img 2>/dev/null
settled md_r
mkdir "$T/files"
head -c 40M /dev/urandom >"$T/files/random.bin"
cp "$T/files/random.bin" "$T/random.bin"
mkfs.ext4 -q -F -d "$T/files" "$MNT/dev/md_r" 2>"$T/mkfs.err" || fail "mkfs.ext4: $(cat "$T/mkfs.err")"
cp "$MNT/dev/md_r" "$T/md_r.data"
size_before=$(stat -c %s "$MNT/dev/md_r")

# Refusals first: each changes nothing.
"$ADM" --grow "$MNT/dev/md_r" --level=6 2>"$T/err"
check "5 -> 6 without a spare: exit 1, mdadm's message" "1 Need 1 spare to avoid degraded array, and only have 0." \
  "$? $(head -1 "$T/err" | sed 's/^mdfsadm: //')"
"$ADM" --grow "$MNT/dev/md_r" --level=6 --layout=normalise 2>"$T/err"
check "--layout=normalise with a level change: exit 1, mdadm's message" \
  "1 normalise is only meaningful when reshaping a RAID6 array." "$? $(sed 's/^mdfsadm: //' "$T/err")"
"$ADM" --grow "$MNT/dev/md_r" --layout=preserve 2>"$T/err"
check "--layout=preserve on a raid5: exit 1" "1 preserve is only meaningful when reshaping to RAID6" \
  "$? $(sed 's/^mdfsadm: //' "$T/err")"
check "a raid5 takes no -6 layout: EINVAL" "Invalid argument" "$(sysw "$(sys md_r layout)" 18)"
check "md_r: nothing changed" "raid5 4 2 0 idle" "$(shape md_r) $(cat "$(sys md_r sync_action)")"

# raid5 of 4 -> raid6 of 5, the spare added in the same command.
"$ADM" --grow "$MNT/dev/md_r" --level=6 --add md_r-4.img 2>"$T/err"
check "5 -> 6: exit 0, mdadm's line" "0 mdfsadm: level of $MNT/dev/md_r changed to raid6" "$? $(cat "$T/err")"
settled md_r
check "md_r: raid6 of 5, left-symmetric, Q recovered" "raid6 5 2 0" "$(shape md_r)"
check "md_r: the same size" "$size_before" "$(stat -c %s "$MNT/dev/md_r")"
check "md_r: the superblocks say raid6 of 5, left-symmetric" "5 raid6;5 5;5 left-symmetric;" \
  "$(examined md_r "Raid Level" md_r-{0,1,2,3,4}.img)$(examined md_r "Raid Devices" md_r-{0,1,2,3,4}.img)$(examined md_r Layout md_r-{0,1,2,3,4}.img)"
finished md_r 5
fs_intact md_r "5 -> 6"
check "md: a plain raid6 layout -> raid5 through level: EINVAL" "Invalid argument" "$(sysw "$(sys md_r level)" raid5)"

# raid6 of 5 -> raid5 of 4: a reshape to left-symmetric-6, then (a child
# of mdfsadm, once the reshape is done) the takeover.
"$ADM" --grow "$MNT/dev/md_r" --level=5 2>"$T/err"
check "6 -> 5: exit 0" 0 "$?"
"$ADM" --wait "$MNT/dev/md_r" 2>/dev/null
for _ in $(seq 100); do [ "$(cat "$(sys md_r level)")" = raid5 ] && break; sleep 0.1; done
check "md_r: raid5 of 4, left-symmetric" "raid5 4 2 0" "$(shape md_r)"
check "md_r: the Q member is a spare" "none" "$(cat "$(sys md_r dev-md_r-4.img/slot)")"
check "md_r: the child's line" "mdfsadm: level of $MNT/dev/md_r changed to raid5" "$(cat "$T/err")"
check "md_r: the superblocks say raid5 of 4" "5 raid5;5 4;" \
  "$(examined md_r "Raid Level" md_r-{0,1,2,3,4}.img)$(examined md_r "Raid Devices" md_r-{0,1,2,3,4}.img)"
finished md_r 4
fs_intact md_r "6 -> 5"

# raid5 -> raid6 keeping the -6 layout (--layout=preserve, the takeover
# alone), then raid6 layouts: a -6 raid6 is reshaped only with a layout
# named (mdadm's message), normalise goes to left-symmetric, and the
# attributes take it back to left-symmetric-6.
"$ADM" --grow "$MNT/dev/md_r" --level=6 --layout=preserve 2>/dev/null
settled md_r
check "md_r: preserve: raid6 of 5, left-symmetric-6" "raid6 5 18 0" "$(shape md_r)"
"$ADM" --grow "$MNT/dev/md_r" --chunk=128 2>"$T/err"
check "a -6 raid6 reshaped without a layout: exit 1, mdadm's message" \
  "1 mdfsadm: $MNT/dev/md_r has a non-standard layout.  If you wish to preserve this" "$? $(head -1 "$T/err")"
"$ADM" --grow "$MNT/dev/md_r" --layout=normalise 2>/dev/null
check "normalise: exit 0" 0 "$?"
finished md_r 5
check "md_r: normalised to left-symmetric" "raid6 5 2 0" "$(shape md_r)"
fs_intact md_r "normalise"
# Each member's data moves by 128 KiB, down where every member has the room
# (reshape_direction forwards), else up, as mdadm's set_new_data_offset.
dir=forwards
for f in "$MNT"/sys/block/md_r/md/dev-*; do [ "$(cat "$f/offset")" -ge 1024 ] || dir=backwards; done
echo "$dir" >"$(sys md_r reshape_direction)"
for f in "$MNT"/sys/block/md_r/md/dev-*; do
  if [ "$dir" = forwards ]; then to=$(( $(cat "$f/offset") - 256 )); else to=$(( $(cat "$f/offset") + 256 )); fi
  check "sysfs: $(basename "$f") new_offset $to" ok "$(sysw "$f/new_offset" "$to")"
done
check "sysfs: a layout raid6 does not have: EINVAL (and new_layout back to layout, as md)" "Invalid argument" "$(sysw "$(sys md_r layout)" 7)"
check "sysfs: layout 18 on a raid6" ok "$(sysw "$(sys md_r layout)" 18)"
check "sysfs: reshape" ok "$(sysw "$(sys md_r sync_action)" reshape)"
finished md_r 5
check "md_r: sysfs: left-symmetric-6" "raid6 5 18 0" "$(shape md_r)"
fs_intact md_r "sysfs layout 2 -> 18"
"$ADM" --grow "$MNT/dev/md_r" --level=5 2>/dev/null
check "md_r: from -6, the takeover alone" "raid5 4 2 0" "$(shape md_r)"
fs_intact md_r "6 -> 5 takeover"

# The member count and the layout as asked: raid5 of 3 -> raid6 of 5 (two
# spares: the data members grow from 2 to 3), then raid6 of 5 -> raid5 of
# 4 right-asymmetric (through right-asymmetric-6). A bitmap is refused
# before anything changes (mdfs does not reshape under one).
truncate -s 16M "$SRC"/md_g-{0,1,2,3,4}.img
"$ADM" --create "$MNT/dev/md_g" -l5 -n3 -c64 md_g-{0,1,2}.img 2>/dev/null
settled md_g
head -c "$(stat -c %s "$MNT/dev/md_g")" /dev/urandom >"$T/md_g.data"
dd if="$T/md_g.data" of="$MNT/dev/md_g" bs=1M conv=notrunc,fsync status=none
"$ADM" --grow "$MNT/dev/md_g" --bitmap=internal 2>/dev/null
"$ADM" --grow "$MNT/dev/md_g" --level=6 --raid-devices=5 --add md_g-3.img md_g-4.img 2>"$T/err"
check "md_g: with a bitmap: exit 1, says so, still raid5" \
  "1 mdfsadm: $MNT/dev/md_g: Bitmap must be removed before shape can be changed (mdfsadm --grow --bitmap=none) raid5 3 2 0" \
  "$? $(cat "$T/err") $(shape md_g)"
"$ADM" --grow "$MNT/dev/md_g" --bitmap=none 2>/dev/null
"$ADM" --grow "$MNT/dev/md_g" --level=6 --raid-devices=5 2>/dev/null
check "md_g: 3 -> 6 of 5: exit 0" 0 "$?"
settled md_g
check "md_g: raid6 of 5, left-symmetric" "raid6 5 2 0" "$(shape md_g)"
finished md_g 5
"$ADM" --grow "$MNT/dev/md_g" --level=5 --raid-devices=4 --layout=ra 2>/dev/null
"$ADM" --wait "$MNT/dev/md_g" 2>/dev/null
for _ in $(seq 100); do [ "$(cat "$(sys md_g level)")" = raid5 ] && break; sleep 0.1; done
check "md_g: raid5 of 4, right-asymmetric" "raid5 4 1 0" "$(shape md_g)"
finished md_g 4
unmount_mdfs

# kill -9 during a raid5 -> raid6 restripe: held at sync_max 0, stopped,
# then let go and killed at five random moments; each time the members,
# assembled read-only, read the data, and the reshape resumes.
rm -f "$SRC"/*
truncate -s 24M "$SRC"/kl-{0,1,2,3,4}.img
mount_mdfs -o assemble=none
"$ADM" --create "$MNT/dev/md_kl" -l5 -n4 -c64 kl-{0,1,2,3}.img 2>/dev/null
settled md_kl
head -c "$(stat -c %s "$MNT/dev/md_kl")" /dev/urandom >"$T/md_kl.data"
dd if="$T/md_kl.data" of="$MNT/dev/md_kl" bs=1M conv=notrunc,fsync status=none
want=$(sha256sum <"$T/md_kl.data" | cut -d' ' -f1)
"$ADM" "$MNT/dev/md_kl" --add kl-4.img >/dev/null 2>&1
echo 0 >"$(sys md_kl sync_max)"
"$ADM" --grow "$MNT/dev/md_kl" --level=6 2>/dev/null
check "md_kl: held at 0, raid6, left-symmetric-6 going to left-symmetric" "0 raid6 2 (18)" \
  "$(cat "$(sys md_kl reshape_position)") $(cat "$(sys md_kl level)") $(cat "$(sys md_kl layout)")"
check "md: the level mid-reshape: EBUSY" "Device or resource busy" "$(sysw "$(sys md_kl level)" raid5)"
"$ADM" --grow "$MNT/dev/md_kl" --level=5 2>"$T/err"
check "mdfsadm --level mid-reshape: exit 1, says so" "1 mdfsadm: $MNT/dev/md_kl is in the middle of a reshape: wait for it (--wait) first" \
  "$? $(cat "$T/err")"
unmount_mdfs
killed() {
  kill -9 "$MDFS_PID" 2>/dev/null
  wait "$MDFS_PID" 2>/dev/null
  MDFS_PID=
  fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
}
last=0
for i in 1 2 3 4 5; do
  mount_mdfs -o assemble=none
  "$ADM" --assemble --readonly "$MNT/dev/md_kl" kl-{0,1,2,3,4}.img >/dev/null 2>&1
  pos=$(cat "$(sys md_kl reshape_position)")
  check "md_kl kill $i: content at $pos" "$want" "$(head -c "$(stat -c %s "$T/md_kl.data")" "$MNT/dev/md_kl" | sha256sum | cut -d' ' -f1)"
  [ "$pos" = none ] || [ "$pos" -ge "$last" ] && pass "md_kl kill $i: not before $last" || fail "md_kl kill $i: went back to $pos"
  [ "$pos" = none ] || last=$pos
  "$ADM" --readwrite "$MNT/dev/md_kl" 2>/dev/null
  sleep "$(printf '0.%03d' $((RANDOM % 60 + 1)))"
  killed
done
mount_mdfs
settled md_kl
check "md_kl: raid6 of 5, left-symmetric, Q recovered" "raid6 5 2 0" "$(shape md_kl)"
finished md_kl 5

# raid6 -> raid5 whose reshape outlives the mount: the child mdfsadm left
# says the reshape did not finish and ends; mounted again, the reshape
# goes on, and the same command is then the takeover alone.
echo 0 >"$(sys md_kl sync_max)"
"$ADM" --grow "$MNT/dev/md_kl" --level=5 2>"$T/err"
check "md_kl: 6 -> 5 held: raid6 going to left-symmetric-6" "0 raid6 18 (2)" \
  "$(cat "$(sys md_kl reshape_position)") $(cat "$(sys md_kl level)") $(cat "$(sys md_kl layout)")"
unmount_mdfs
for _ in $(seq 100); do grep -q "did not finish" "$T/err" && break; sleep 0.1; done
check "md_kl: the child's word" "mdfsadm: $MNT/dev/md_kl: the reshape did not finish: mdfsadm --grow $MNT/dev/md_kl --level=5 once it has" \
  "$(tail -1 "$T/err")"
mount_mdfs
settled md_kl
check "md_kl: the reshape finished after the mount, still raid6" "raid6 5 18 0" "$(shape md_kl)"
"$ADM" --grow "$MNT/dev/md_kl" --level=5 2>"$T/err"
check "md_kl: then --level=5 is the takeover alone" "0 mdfsadm: level of $MNT/dev/md_kl changed to raid5" "$? $(cat "$T/err")"
check "md_kl: raid5 of 4" "raid5 4 2 0" "$(shape md_kl)"
finished md_kl 4
unmount_mdfs
finish
