#!/bin/bash
# Arrays the kernel left mid-reshape (raid5 3 -> 4: frozen at a stripe of
# both shapes, in the middle of an old stripe, and an in-place reshape made
# with a backup file) read back the kernel's content when assembled
# read-only, with the sysfs values the kernel showed; made writable, mdfs
# resumes the reshape as the kernel did (held at sync_max with the mdstat
# reshape line, writes on either side of the position landing right) and
# ends with the kernel's content, the new size, mismatch_cnt 0.
# run-tests: timeout=900 (three fixtures resumed twice each; slow in ASan)
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
STATES=$FIXTURES_STATES

manifest() { python3 -c "import json,sys; m=json.load(open(sys.argv[2])); print(eval(sys.argv[1]))" "$1" "$FIX/manifest.json"; }
sha_of() { head -c "$2" "$1" | sha256sum | cut -d' ' -f1; }

cases=0
for state in raid5-reshape-3to4 raid5-reshape-3to4-midstripe raid5-reshape-3to4-backup; do
  FIX=$STATES/$state
  [ -f "$FIX/manifest.json" ] || { fail "no fixture $FIX"; continue; }
  rm -f "$SRC"/*
  members=""
  for n in 0 1 2 3; do
    xz -dc "$FIX/member-$n.img.xz" >"$SRC/m$n.img"
    members="$members m$n.img"
  done
  mount_mdfs -o assemble=none
  # shellcheck disable=SC2086
  "$ADM" --assemble --readonly "$MNT/dev/md0" $members >/dev/null 2>&1
  size=$(manifest "m['array_size_bytes']")
  check "$state: size read-only" "$size" "$(stat -c %s "$MNT/dev/md0")"
  check "$state: content read-only" "$(manifest "m['sha256']")" "$(sha_of "$MNT/dev/md0" "$size")"
  n=0
  for attr in $(manifest "' '.join(m['sysfs_after_assembly'])"); do
    [ "$attr" = journal_mode ] && continue  # no journals yet (issue 11)
    check "$state: $attr" "$(manifest "m['sysfs_after_assembly']['$attr']")" "$(cat "$(sys md0 "$attr")")"
    n=$((n + 1))
  done
  check "$state: sysfs values compared" 15 "$n"
  check "$state: mdstat as the kernel's" \
    "$(sed -n 3p "$FIX/kernel-mdstat.txt")" "$(sed -n 3p "$MNT/proc/mdstat")"

  # Held at sync_max: the reshape goes that far, checkpoints, and waits.
  pos=$(manifest "m['reshape']['reshape_position_sectors']")
  hold=$(( (pos / 3 / 128 + 8) * 128 ))
  echo "$hold" >"$(sys md0 sync_max)"
  "$ADM" --readwrite "$MNT/dev/md0" 2>/dev/null
  eventually "$state: held at sync_max" "$hold / 14336" cat "$(sys md0 sync_completed)"
  check "$state: sync_action" reshape "$(cat "$(sys md0 sync_action)")"
  check "$state: reshape_position checkpointed" "$((hold * 3))" "$(cat "$(sys md0 reshape_position)")"
  grep -q "reshape = .*($((hold / 2))/7168)" "$MNT/proc/mdstat" && pass "$state: mdstat reshape line" ||
    fail "$state: mdstat: $(cat "$MNT/proc/mdstat")"
  # One write below the position (new shape), one above (old shape).
  head -c 65536 /dev/urandom >"$T/low"
  head -c 65536 /dev/urandom >"$T/high"
  dd if="$T/low" of="$MNT/dev/md0" bs=64k seek=10 conv=notrunc status=none
  dd if="$T/high" of="$MNT/dev/md0" bs=64k seek=200 conv=notrunc status=none

  echo max >"$(sys md0 sync_max)"
  "$ADM" --wait "$MNT/dev/md0" 2>/dev/null
  check "$state: reshape done" "none idle 4" \
    "$(cat "$(sys md0 reshape_position)") $(cat "$(sys md0 sync_action)") $(cat "$(sys md0 raid_disks)")"
  after=$(manifest "m['after']['array_size_bytes']")
  check "$state: the new size" "$after" "$(stat -c %s "$MNT/dev/md0")"
  cmp -s -n 65536 -i 0:655360 "$T/low" "$MNT/dev/md0" && pass "$state: the write below landed" ||
    fail "$state: the write below the position is lost"
  cmp -s -n 65536 -i 0:13107200 "$T/high" "$MNT/dev/md0" && pass "$state: the write above landed" ||
    fail "$state: the write above the position is lost"
  echo check >"$(sys md0 sync_action)"
  "$ADM" --wait "$MNT/dev/md0" 2>/dev/null
  check "$state: mismatch_cnt after a check" 0 "$(cat "$(sys md0 mismatch_cnt)")"
  unmount_mdfs

  # Without the two writes, the finished array is the kernel's.
  rm -f "$SRC"/*
  for n in 0 1 2 3; do xz -dc "$FIX/member-$n.img.xz" >"$SRC/m$n.img"; done
  mount_mdfs
  "$ADM" --wait "$MNT/dev/md_oracle" 2>/dev/null
  check "$state: resumed at mount, the kernel's content" "$(manifest "m['after']['sha256']")" \
    "$(sha_of "$MNT/dev/md_oracle" "$after")"
  unmount_mdfs
  cases=$((cases + 1))
done
check "fixtures reshaped" 3 "$cases"

# Degraded: the kernel read the same content without member 1.
FIX=$STATES/raid5-reshape-3to4
rm -f "$SRC"/*
for n in 0 2 3; do xz -dc "$FIX/member-$n.img.xz" >"$SRC/m$n.img"; done
mount_mdfs -o assemble=none
"$ADM" --assemble --run --readonly "$MNT/dev/md0" m0.img m2.img m3.img >/dev/null 2>&1
size=$(manifest "m['array_size_bytes']")
check "degraded: content" "$(manifest "m['degraded']['sha256']")" "$(sha_of "$MNT/dev/md0" "$size")"
"$ADM" --readwrite "$MNT/dev/md0" 2>/dev/null
"$ADM" --wait "$MNT/dev/md0" 2>/dev/null
check "degraded: reshaped with a member missing" "$(manifest "m['after']['sha256']")" \
  "$(sha_of "$MNT/dev/md0" "$(manifest "m['after']['array_size_bytes']")")"
check "degraded: still degraded" 1 "$(cat "$(sys md0 degraded)")"
unmount_mdfs
finish
