#!/bin/bash
# Bad blocks recorded as md records them (rdev_set_badblocks): a member
# write that fails on a raid1 and a raid5 whose members have a bad block log
# (mdfsadm --create reserves one, as mdadm) puts the range in that member's
# log instead of failing it; the member stays in sync, reads of the range
# come from the other copy or from parity (never from the member, even once
# its disk reads again), the log reaches the member file, where
# mdfsadm --examine-badblocks (and Debian's mdadm, when present) read it
# back, and the array assembles again with it. raid0 answers EIO for a
# recorded range.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faulty.sh"
mount_faulty
mount_mdfs -o assemble=none
ran=0

# put ARRAY_OFFSET LENGTH: new data there (also into $T/ref); the error.
put() {
  head -c "$2" /dev/urandom >"$T/new"
  dd if="$T/new" of="$T/ref" bs=64K oflag=seek_bytes seek="$1" conv=notrunc status=none
  dd if="$T/new" of="$MNT/dev/$ARRAY" bs=64K oflag=seek_bytes,direct seek="$1" conv=notrunc 2>&1 >/dev/null |
    sed -n 's/.*: //p'
}
# examine_bb FILE: mdfsadm --examine-badblocks, with its status.
examine_bb() { "$ADM" --examine-badblocks "$1" 2>&1; echo "rc=$?"; }

# recorded NAME BAD ARRAY_OFFSET: a 64 KiB write at ARRAY_OFFSET fails on
# member BAD at its data byte 1 MiB; the range is recorded, BAD stays.
recorded() {
  local name=$1 bad=$2 at=$3
  local off
  off=$(md "dev-$bad/offset")
  BB_LINE="$((off + 2048)) 128"
  check "$name: $bad has an empty log" "" "$(md "dev-$bad/bad_blocks")"
  rule weio "$bad" "$(data_at "$bad" 1048576)" 64K
  check "$name: the write goes through" "" "$(put "$at" 65536)"
  check "$name: the range is recorded in $bad's list" "$BB_LINE" "$(md "dev-$bad/bad_blocks")"
  check "$name: acknowledged (written to the log)" "" "$(md "dev-$bad/unacknowledged_bad_blocks")"
  check "$name: $bad stays in sync, write_error seen" "in_sync,write_error" "$(md "dev-$bad/state")"
  check "$name: nothing degraded" 0 "$(md degraded)"
  # The disk reads and writes again: the range is still not read from BAD
  # (whose file holds the data from before the write).
  rule clear
  check "$name: the array reads back right" "$(ref_sum)" "$(read_array 64K)"
  check "$name: and with 1 MiB reads" "$(ref_sum)" "$(read_array 1M)"
  check "$name: no read error counted on $bad" 0 "$(md "dev-$bad/errors")"
  check "$name: mdfsadm --examine-badblocks" \
    "$(printf 'Bad-blocks on %s:\n%20s for 128 sectors\nrc=0' "$SRC/$bad" "$((off + 2048))")" "$(examine_bb "$SRC/$bad")"
}

# raid1: r1-0 is role 0, which one-request-at-a-time reads go to first.
make_array md_r1 raid1 - r1-0.img r1-1.img && recorded md_r1 r1-0.img $((1024 * 1024)) && ran=$((ran + 1))
R1_LINE=$BB_LINE
# narrow_write_error: a 1 MiB write that fails in 8 KiB of r1-1 is written
# again a page at a time, and only those 8 KiB are recorded.
rule weio r1-1.img "$(data_at r1-1.img $(((8 << 20) + 4096)))" 8K
check "md_r1: a 1 MiB write failing in 8 KiB of r1-1 goes through" "" "$(put $((8 << 20)) 1048576)"
rule clear
NARROW_LINE="$(($(md dev-r1-1.img/offset) + 16384 + 8)) 16"
check "md_r1: only those 8 KiB recorded" "$NARROW_LINE" "$(md dev-r1-1.img/bad_blocks)"
check "md_r1: and it reads back" "$(ref_sum)" "$(read_array 1M)"
R1_REF=$(ref_sum)
cp "$T/ref" "$T/ref1"
# raid5, left-symmetric over 4 members, 64 KiB chunks: member byte 1 MiB is
# stripe 16, whose data chunk 1 is on r5-1 (array chunk 16 * 3 + 1).
make_array md_r5 raid5 left-symmetric r5-0.img r5-1.img r5-2.img r5-3.img &&
  recorded md_r5 r5-1.img $((49 * 65536)) && ran=$((ran + 1))
R5_LINE=$BB_LINE
R5_REF=$(ref_sum)

# A write that fails on every mirror is recorded on each, and the writer
# gets EIO (no mirror holds the data: raid1's R1BIO_Uptodate).
ARRAY=md_r1
rule weio r1-0.img "$(data_at r1-0.img 4194304)" 4K
rule weio r1-1.img "$(data_at r1-1.img 4194304)" 4K
check "md_r1: a write no mirror takes fails" "Input/output error" \
  "$(dd if=/dev/zero of="$MNT/dev/md_r1" bs=4K seek=1024 count=1 oflag=direct conv=notrunc 2>&1 >/dev/null | sed -n 's/.*: //p')"
rule clear
check "md_r1: both members keep their role" "in_sync,write_error in_sync,write_error 0" \
  "$(md dev-r1-0.img/state) $(md dev-r1-1.img/state) $(md degraded)"
check "md_r1: its range is on both" "$(printf '%s\n%s 8' "$R1_LINE" "$(($(md dev-r1-0.img/offset) + 8192))") $(printf '%s 8\n%s' "$(($(md dev-r1-1.img/offset) + 8192))" "$NARROW_LINE")" \
  "$(md dev-r1-0.img/bad_blocks) $(md dev-r1-1.img/bad_blocks)"
check "md_r1: reading it: EIO, never old data" "Input/output error" \
  "$(dd if="$MNT/dev/md_r1" of=/dev/null bs=4K skip=1024 count=1 iflag=direct 2>&1 | sed -n 's/.*: //p')"

# Garbage to bad_blocks changes nothing.
D=$(sys md_r5 dev-r5-1.img)
cases=0
for bad in "x" "100" "100 0" "100 -8" "1 2 3" "100 8x"; do
  check "'$bad' to bad_blocks refused" "Invalid argument" "$(sysw "$D/bad_blocks" "$bad")"
  cases=$((cases + 1))
done
check "refusals checked" 6 "$cases"
check "md_r5: the list as it was" "$R5_LINE" "$(cat "$D/bad_blocks")"

# raid0: a recorded range has no other copy: EIO; the rest reads.
make_array md_r0 raid0 - r0-0.img r0-1.img
check "md_r0: a range stored as bad" ok "$(sysw "$(sys md_r0 dev-r0-0.img/bad_blocks)" "$(($(md dev-r0-0.img/offset) + 128)) 8")"
# Member 0's data byte 64 KiB is its second chunk: array chunk 2.
check "md_r0: reading it: EIO" "Input/output error" \
  "$(dd if="$MNT/dev/md_r0" of=/dev/null bs=4K skip=32 count=1 iflag=direct 2>&1 | sed -n 's/.*: //p')"
check "md_r0: the first 64 KiB read" "$(head -c 65536 "$T/ref" | sha256sum | cut -d' ' -f1)" \
  "$(dd if="$MNT/dev/md_r0" bs=64K count=1 iflag=direct status=none | sha256sum | cut -d' ' -f1)"
check "md_r0: so does a cached (zero-copy) read beside it" "$(tail -c +1048577 "$T/ref" | head -c 1048576 | sha256sum | cut -d' ' -f1)" \
  "$(dd if="$MNT/dev/md_r0" bs=1M skip=1 count=1 status=none | sha256sum | cut -d' ' -f1)"
unmount_mdfs

# The logs on the member files, as mdadm reads them.
if command -v mdadm >/dev/null; then
  for f in r1-0.img r5-1.img; do
    check "mdadm reads $f's log as mdfsadm does" "$(mdadm --examine-badblocks "$BACK/$f" 2>&1)" \
      "$("$ADM" --examine-badblocks "$BACK/$f" 2>&1)"
  done
  check "mdadm: an empty list" "$(mdadm --examine-badblocks "$BACK/r5-0.img" 2>&1)" \
    "$("$ADM" --examine-badblocks "$BACK/r5-0.img" 2>&1)"
fi
check "mdfsadm: an empty list" "Bad-blocks list is empty in $BACK/r5-0.img" "$("$ADM" --examine-badblocks "$BACK/r5-0.img")"
truncate -s 1M "$T/blank.img"
check "mdfsadm: no superblock: status 1" "$(printf 'mdfsadm: No md superblock detected on %s\nrc=1' "$T/blank.img")" \
  "$("$ADM" --examine-badblocks "$T/blank.img" 2>&1; echo "rc=$?")"

# Assembled again: the logs are read, the arrays run, the ranges are still
# read around.
mount_mdfs
check "md_r1 and md_r5 assembled" "yes yes" "$(exists md_r1) $(exists md_r5)"
ARRAY=md_r5
check "md_r5: the list read back" "$R5_LINE" "$(md dev-r5-1.img/bad_blocks)"
check "md_r5: in sync" "in_sync" "$(md dev-r5-1.img/state)"
cp "$T/ref" "$T/ref5"
check "md_r5: reads right" "$R5_REF" "$(read_array 64K)"
# No write error seen in this run: the page computed from parity is
# written back, and that clears the range (analyse_stripe's R5_ReadError,
# then MadeGood), to reach the log with the next superblock write.
check "md_r5: the range rewritten and cleared" "" "$(md dev-r5-1.img/bad_blocks)"
check "md_r5: counted as corrected" 128 "$(md dev-r5-1.img/errors)"
ARRAY=md_r1
check "md_r1: in sync" "in_sync" "$(md dev-r1-0.img/state)"
check "md_r1: reads right outside the lost 4 KiB" "$(head -c 4194304 "$T/ref1" | sha256sum | cut -d' ' -f1)" \
  "$(dd if="$MNT/dev/md_r1" bs=64K count=64 iflag=direct status=none | sha256sum | cut -d' ' -f1)"
# A write over a range a member recorded in an earlier run (no write error
# seen since) that works clears it, as md's MadeGood.
head -c 4096 /dev/urandom >"$T/blk"
dd if="$T/blk" of="$MNT/dev/md_r1" bs=4K seek=1024 oflag=direct conv=notrunc status=none
check "md_r1: a working write clears the range on both" "$R1_LINE|$NARROW_LINE" \
  "$(md dev-r1-0.img/bad_blocks)|$(md dev-r1-1.img/bad_blocks)"
check "md_r1: and it reads back" "$(sha256sum <"$T/blk" | cut -d' ' -f1)" \
  "$(dd if="$MNT/dev/md_r1" bs=4K skip=1024 count=1 iflag=direct status=none | sha256sum | cut -d' ' -f1)"
unmount_mdfs
check "arrays run" 2 "$ran"
finish
