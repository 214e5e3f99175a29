#!/bin/bash
# The real Linux md driver agrees with mdfs's reshapes both ways: arrays
# mdfs reshaped (raid5 3 -> 4, raid6 4 -> 5, raid5 chunk 64K -> 128K,
# raid5 4 -> 3, raid10 n2 4 -> 5, raid10 chunk 64K -> 128K) are assembled
# by Debian's kernel (under qemu, one boot)
# with the sha256 mdfs shows, clean and idle, mismatch_cnt 0 after the
# kernel's check; and a raid5 grow mdfs left half-done (held at sync_max,
# then unmounted) is resumed by the kernel in the same boot, which finishes
# it with the content mdfs showed followed by zeros (oracle assemble
# --finish).
# The kernel's own half-done arrays finished by mdfs are in
# reshape_fixtures.sh.
# run-tests: once timeout=900 (a boot of the kernel; the bytes mdfs
# wrote are the same in both builds, the ASan build runs the other tests)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-oracle.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}

mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/k5-{0,1,2,3}.img "$SRC"/k6-{0,1,2,3,4}.img "$SRC"/kc-{0,1,2,3}.img \
  "$SRC"/ks-{0,1,2,3}.img "$SRC"/kh-{0,1,2,3}.img "$SRC"/kt-{0,1,2,3,4}.img "$SRC"/ku-{0,1,2,3}.img
"$ADM" --create "$MNT/dev/md_k5" -l5 -n3 -c64 k5-{0,1,2}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_k6" -l6 -n4 -c64 k6-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kc" -l5 -n4 -c64 kc-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_ks" -l5 -n4 -c64 ks-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kh" -l5 -n3 -c64 kh-{0,1,2}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kt" -l10 -n4 -c64 kt-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_ku" -l10 -n4 -c64 ku-{0,1,2,3}.img 2>/dev/null
ARRAYS="md_k5 md_k6 md_kc md_ks md_kt md_ku"
for a in $ARRAYS md_kh; do
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom >"$T/$a.data"
  dd if="$T/$a.data" of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
done
"$ADM" "$MNT/dev/md_k5" --add k5-3.img >/dev/null 2>&1
"$ADM" "$MNT/dev/md_k6" --add k6-4.img >/dev/null 2>&1
"$ADM" "$MNT/dev/md_kh" --add kh-3.img >/dev/null 2>&1
"$ADM" "$MNT/dev/md_kt" --add kt-4.img >/dev/null 2>&1
"$ADM" --grow "$MNT/dev/md_k5" --raid-devices=4
"$ADM" --grow "$MNT/dev/md_k6" --raid-devices=5
"$ADM" --grow "$MNT/dev/md_kc" --chunk=128
"$ADM" --grow "$MNT/dev/md_kt" --raid-devices=5
"$ADM" --grow "$MNT/dev/md_ku" --chunk=128
"$ADM" --grow "$MNT/dev/md_ks" --size=$(( $(cat "$(sys md_ks component_size)") - 128 ))
"$ADM" --grow "$MNT/dev/md_ks" --array-size=$(( $(cat "$(sys md_ks component_size)") * 2 ))
"$ADM" --grow "$MNT/dev/md_ks" --raid-devices=3
echo 8192 >"$(sys md_kh sync_max)"
"$ADM" --grow "$MNT/dev/md_kh" --raid-devices=4
declare -A SHA
for a in $ARRAYS; do
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  check "$a: reshaped in mdfs" "none idle" "$(cat "$(sys $a reshape_position)") $(cat "$(sys $a sync_action)")"
  SHA[$a]=$(sha256sum <"$MNT/dev/$a" | cut -d' ' -f1)
done
check "raid10 shapes after the reshapes" "5 65536 4 131072" \
  "$(cat "$(sys md_kt raid_disks)") $(cat "$(sys md_kt chunk_size)") $(cat "$(sys md_ku raid_disks)") $(cat "$(sys md_ku chunk_size)")"
eventually "md_kh: held half-way" "8192 / 30720" cat "$(sys md_kh sync_completed)"
kh_size=$(( $(stat -c %s "$T/md_kh.data") * 3 / 2 ))
unmount_mdfs

# One boot for all: the shrunk array keeps its spare out of the array (the
# kernel sees it as a spare too), and the half-done grow is resumed by the
# kernel, which finishes it (--finish) before the arrays are read.
want=$( (cat "$T/md_kh.data"; head -c $((kh_size - $(stat -c %s "$T/md_kh.data"))) /dev/zero) | sha256sum | cut -d' ' -f1)
images=()
for f in "$SRC"/k5-*.img "$SRC"/k6-*.img "$SRC"/kc-*.img "$SRC"/ks-*.img "$SRC"/kh-*.img "$SRC"/kt-*.img "$SRC"/ku-*.img; do
  images+=("$f")
done
run_oracle --finish "${images[@]}"
oracle_arrays
check "oracle exit status (every array assembled and checked clean)" 0 "$ORACLE_RC"
n=0
for a in $ARRAYS; do
  oracle_match "$a" "${SHA[$a]}" || continue
  k=$K
  check "$a: clean, nothing resumed, in the kernel" "clean idle" "${KSTATE[$k]} ${KRESUMED[$k]}"
  check "$a: the kernel's check finds no mismatch" 0 "${KMISMATCH[$k]:-missing}"
  n=$((n + 1))
done
check "reshaped arrays the kernel assembled" 6 "$n"

# The half-done grow: the content mdfs showed followed by zeros, once the
# kernel has finished the reshape it took up.
if oracle_match md_kh "$want"; then
  check "md_kh: the kernel took up the reshape at assembly" reshape "${KRESUMED[$K]}"
  oracle_section "kernel log" | grep -q "$K: reshape done" && pass "md_kh: the kernel finished the reshape" ||
    fail "md_kh: no reshape finished in the kernel: $(oracle_section "kernel log" | tail -5)"
  check "md_kh: the kernel's check finds no mismatch" 0 "${KMISMATCH[$K]:-missing}"
fi
[ "$FAILED" -ne 0 ] && { echo "--- oracle output:"; cat "$T/oracle.txt"; tail -20 "$T/oracle.err"; }
finish
