#!/bin/bash
# The real Linux md driver agrees with the shape changes mdfs makes without
# moving data: a raid1 grown to three mirrors, a linear array with a member
# appended, and the takeovers raid0 -> raid5 (parity-last, parity
# recovered), raid5 -> raid6 (left-symmetric-6, Q recovered) and raid0 ->
# raid10 (near=2, mirrors recovered) are assembled by Debian's kernel
# (under qemu, one boot) with the sha256 mdfs shows, clean and idle, and
# the kernel's check finds no mismatch.
# run-tests: once timeout=900 (one boot of the kernel; the bytes mdfs
# wrote are the same in both builds, the ASan build runs the other tests)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-oracle.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}

mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/o1-{0,1,2}.img "$SRC"/ol-{0,1,2}.img "$SRC"/o05-{0,1,2}.img "$SRC"/o56-{0,1,2,3}.img \
  "$SRC"/o010-{0,1,2,3}.img
"$ADM" --create "$MNT/dev/md_o1" -l1 -n2 o1-0.img o1-1.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_ol" -l linear -n2 ol-0.img ol-1.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_o05" -l0 -n2 -c64 o05-0.img o05-1.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_o56" -l5 -n3 -c64 o56-0.img o56-1.img o56-2.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_o010" -l0 -n2 -c64 o010-0.img o010-1.img 2>/dev/null
ARRAYS="md_o1 md_ol md_o05 md_o56 md_o010"
for a in $ARRAYS; do
  settled "$a"
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom | dd of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
done
"$ADM" "$MNT/dev/md_o1" --add o1-2.img >/dev/null 2>&1
"$ADM" --grow "$MNT/dev/md_o1" --raid-devices=3 2>/dev/null
"$ADM" --grow "$MNT/dev/md_ol" --add ol-2.img 2>/dev/null
"$ADM" --grow "$MNT/dev/md_o05" --level=5 --add o05-2.img 2>/dev/null
"$ADM" "$MNT/dev/md_o56" --add o56-3.img >/dev/null 2>&1
"$ADM" --grow "$MNT/dev/md_o56" --level=6 2>/dev/null
"$ADM" "$MNT/dev/md_o010" --add o010-2.img >/dev/null 2>&1
"$ADM" "$MNT/dev/md_o010" --add o010-3.img >/dev/null 2>&1
"$ADM" --grow "$MNT/dev/md_o010" --level=10 2>/dev/null
declare -A SHA
for a in $ARRAYS; do
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  [ "$a" = md_ol ] || check "$a: changed in mdfs, nothing missing" "idle 0" \
    "$(cat "$(sys $a sync_action)") $(cat "$(sys $a degraded)")"
  SHA[$a]=$(sha256sum <"$MNT/dev/$a" | cut -d' ' -f1)
done
check "the shapes" "raid1 3|linear 3|raid5 3|raid6 4|raid10 4" \
  "$(for a in $ARRAYS; do printf '%s %s|' "$(cat "$(sys $a level)")" "$(cat "$(sys $a raid_disks)")"; done | sed 's/|$//')"
unmount_mdfs

# Every image in SOURCE is a member of one of the arrays.
run_oracle "$SRC"/*.img
oracle_arrays
n=0
for a in $ARRAYS; do
  oracle_match "$a" "${SHA[$a]}" || continue
  # linear has no sync_action and no check.
  want=idle
  [ "$a" = md_ol ] && want=none
  check "$a: clean and idle in the kernel" "clean $want" "${KSTATE[$K]} ${KSYNC[$K]}"
  [ "$a" = md_ol ] || check "$a: the kernel's check finds no mismatch" 0 "${KMISMATCH[$K]:-missing}"
  n=$((n + 1))
done
check "arrays the kernel assembled" 5 "$n"
check "oracle exit status (every array assembled and checked clean)" 0 "$ORACLE_RC"
finish
