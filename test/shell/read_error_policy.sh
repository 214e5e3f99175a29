#!/bin/bash
# md's read-error policy around the fix: each read error of a member counts
# against the array's max_read_errors, and the error past it fails the
# member (the data still comes from redundancy); a read-only array reads
# around a bad member and writes nothing to it; errors takes a new count.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faulty.sh"
mount_faulty
mount_mdfs -o assemble=none

# Bad sectors on BAD at array bytes AT (BAD's data bytes OFF), armed again
# after each fix: with max_read_errors 2, two reads are fixed and the third
# fails the member. AT is read alone, so raid1 and raid10 read the first copy.
# limit_case NAME LEVEL LAYOUT BAD OFF AT MEMBERS...
limit_case() {
  local name=$1 level=$2 layout=$3 bad=$4 off=$5 at=$6
  shift 6
  make_array "$name" "$level" "$layout" "$@" || return 1
  check "$name: max_read_errors defaults to 20" 20 "$(md max_read_errors)"
  echo 2 >"$(sys "$name" max_read_errors)"
  local where want i
  where=$(data_at "$bad" "$off")
  want=$(dd if="$T/ref" bs=8K skip=$((at / 8192)) count=1 status=none | sha256sum)
  for i in 1 2 3; do
    rule clear
    rule bad "$bad" "$where" 8K
    check "$name: read $i is right" "$want" \
      "$(dd if="$MNT/dev/$name" bs=8K skip=$((at / 8192)) count=1 iflag=direct status=none | sha256sum)"
    [ $i -lt 3 ] && check "$name: after read $i, $bad in sync, errors $((16 * i))" "in_sync $((16 * i))" \
      "$(md "dev-$bad/state") $(md "dev-$bad/errors")"
  done
  check "$name: the third error fails $bad; no more corrected" "faulty 1 32" \
    "$(md "dev-$bad/state") $(md degraded) $(md "dev-$bad/errors")"
  rule clear
  check "$name: the array reads back right" "$(ref_sum)" "$(read_array)"
}
ran=0
limit_case md_l1 raid1 - l1-0.img 65536 65536 l1-0.img l1-1.img && ran=$((ran + 1))
limit_case md_l10 raid10 n2 l10-0.img 65536 131072 l10-0.img l10-1.img l10-2.img l10-3.img && ran=$((ran + 1))
# raid5 left-symmetric: member chunk 1 of l5-0 is stripe 1's second data chunk.
limit_case md_l5 raid5 left-symmetric l5-0.img 65536 262144 l5-0.img l5-1.img l5-2.img l5-3.img && ran=$((ran + 1))

# A read-only array: served around the bad sectors, which stay as they were.
make_array md_ro raid5 left-symmetric ro-0.img ro-1.img ro-2.img ro-3.img
"$ADM" --readonly "$MNT/dev/md_ro" >/dev/null 2>&1
check "md_ro: readonly" readonly "$(md array_state)"
bad_sectors ro-0.img 16384 32768
garbage=$(bytes ro-0.img "$BAD_AT" 32768)
check "md_ro: reads back right" "$(ref_sum)" "$(read_array)"
check "md_ro: nothing rewritten, nothing counted, ro-0 in sync" "$garbage 0 in_sync" \
  "$(bytes ro-0.img "$BAD_AT" 32768) $(md dev-ro-0.img/errors) $(md dev-ro-0.img/state)"
check "md_ro: faulty-fs saw no write" 1 \
  "$(grep -c "^bad ro-0.img $BAD_AT 32768 hits=[1-9][0-9]* bad_bytes=32768\$" "$SRC/.faulty")"
rule clear
ran=$((ran + 1))

# dev-*/errors takes a new count, as the kernel's errors_store.
check "errors: a new count" "ok 7" "$(sysw "$(sys md_l1 dev-l1-1.img/errors)" 7) $(ARRAY=md_l1 md dev-l1-1.img/errors)"
check "errors: garbage is EINVAL" "Invalid argument" "$(sysw "$(sys md_l1 dev-l1-1.img/errors)" many)"

check "every case ran" 4 $ran
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs
finish
