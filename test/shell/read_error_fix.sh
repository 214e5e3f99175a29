#!/bin/bash
# A member's bad sectors (faulty-fs "bad": reads fail until written, with
# garbage behind them) on healthy raid1, raid10, raid4, raid5 and raid6, as
# md's read-error handling: the reader gets the right data, from the other
# copy or rebuilt from parity; the bad sectors are rewritten with it and
# read back (dev-*/errors counts them); the member stays in sync. Once
# through the zero-copy path (512 KiB requests) and, after a new mount (so
# that raid1 and raid10 read the first copy again), through copies (4 KiB
# requests).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faulty.sh"
mount_faulty
mount_mdfs -o assemble=none

# level layout bad-member members...: the bad member holds data chunk 0.
CASES=(
  "raid1 - r1-0.img r1-0.img r1-1.img"
  "raid10 n2 r10-0.img r10-0.img r10-1.img r10-2.img r10-3.img"
  "raid4 - r4-0.img r4-0.img r4-1.img r4-2.img r4-3.img"
  "raid5 left-symmetric r5-0.img r5-0.img r5-1.img r5-2.img r5-3.img"
  "raid6 left-symmetric r6-1.img r6-0.img r6-1.img r6-2.img r6-3.img"
)
ran=0
for c in "${CASES[@]}"; do
  read -r level layout bad members <<<"$c"
  make_array "md_$level" "$level" "$layout" $members || continue
  # 32 KiB of bad sectors 16 KiB into the member's data, read as 512 KiB requests.
  bad_sectors "$bad" 16384 32768
  check_fixed "$level" "$bad" 32768
  check "$level: $bad stays in sync, nothing degraded" "in_sync 0" "$(md "dev-$bad/state") $(md degraded)"
  check "$level: faulty-fs saw every bad sector written" 1 \
    "$(grep -c "^bad $bad $BAD_AT 32768 hits=[1-9][0-9]* bad_bytes=0\$" "$SRC/.faulty")"
  rule clear
  # 8 KiB more, read as 4 KiB requests (no zero copy) by a new mount, which
  # has the count from the superblock (cnt_corrected_read).
  unmount_mdfs
  mount_mdfs
  check "$level: errors kept across the mount" 64 "$(md "dev-$bad/errors")"
  echo 0 >"$(sys "md_$level" "dev-$bad/errors")"
  bad_sectors "$bad" 49152 8192
  check_fixed "$level" "$bad" 8192 4K
  rule clear
  check "$level: array_state clean, no member down" "clean 0" \
    "$(md array_state) $(grep -A1 "^md_$level :" "$MNT/proc/mdstat" | grep -o '\[[U_]*\]' | grep -c _)"
  ran=$((ran + 1))
done
check "every level ran" ${#CASES[@]} $ran
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs
finish
