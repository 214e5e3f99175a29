#!/bin/bash
# The real Linux md driver agrees with mdfs's reshapes both ways: arrays
# mdfs reshaped (raid5 3 -> 4, raid6 4 -> 5, raid5 chunk 64K -> 128K,
# raid5 4 -> 3, raid10 n2 4 -> 5, raid10 chunk 64K -> 128K, the level
# changes that restripe: raid5 of 4 -> raid6 of 5 left-symmetric, raid6
# of 5 -> raid5 of 4 (through left-symmetric-6), raid6 left-symmetric ->
# left-symmetric-6) are assembled
# by Debian's kernel (under qemu, one boot)
# with the sha256 mdfs shows, clean and idle, mismatch_cnt 0 after the
# kernel's check; and a raid5 grow mdfs left half-done (held at sync_max,
# then unmounted) is resumed by the kernel in the same boot, which finishes
# it with the content mdfs showed followed by zeros (oracle assemble
# --finish); so is a raid5 -> raid6 restripe held half-way (left-
# symmetric-6 below, left-symmetric above the position), which the kernel
# finishes with the content unchanged.
# The kernel's own half-done arrays finished by mdfs are in
# reshape_fixtures.sh.
# run-tests: once timeout=900 (a boot of the kernel; the bytes mdfs
# wrote are the same in both builds, the ASan build runs the other tests)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-oracle.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}

mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/k5-{0,1,2,3}.img "$SRC"/k6-{0,1,2,3,4}.img "$SRC"/kc-{0,1,2,3}.img \
  "$SRC"/ks-{0,1,2,3}.img "$SRC"/kh-{0,1,2,3}.img "$SRC"/kt-{0,1,2,3,4}.img "$SRC"/ku-{0,1,2,3}.img \
  "$SRC"/kp-{0,1,2,3,4}.img "$SRC"/kq-{0,1,2,3,4}.img "$SRC"/kl-{0,1,2,3,4}.img "$SRC"/kr-{0,1,2,3,4}.img
"$ADM" --create "$MNT/dev/md_k5" -l5 -n3 -c64 k5-{0,1,2}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_k6" -l6 -n4 -c64 k6-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kc" -l5 -n4 -c64 kc-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_ks" -l5 -n4 -c64 ks-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kh" -l5 -n3 -c64 kh-{0,1,2}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kt" -l10 -n4 -c64 kt-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_ku" -l10 -n4 -c64 ku-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kp" -l5 -n4 -c64 kp-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kq" -l6 -n5 -c64 kq-{0,1,2,3,4}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kl" -l6 -n5 -c64 kl-{0,1,2,3,4}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kr" -l5 -n4 -c64 kr-{0,1,2,3}.img 2>/dev/null
for a in md_kp md_kq md_kl md_kr; do settled $a; done
ARRAYS="md_k5 md_k6 md_kc md_ks md_kt md_ku md_kp md_kq md_kl"
for a in $ARRAYS md_kh md_kr; do
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
"$ADM" --grow "$MNT/dev/md_kp" --level=6 --add kp-4.img 2>/dev/null
"$ADM" --grow "$MNT/dev/md_kq" --level=5 2>/dev/null
"$ADM" --grow "$MNT/dev/md_kl" --layout=left-symmetric-6
"$ADM" "$MNT/dev/md_kr" --add kr-4.img >/dev/null 2>&1
echo 8192 >"$(sys md_kr sync_max)"
"$ADM" --grow "$MNT/dev/md_kr" --level=6 2>/dev/null
declare -A SHA
for a in $ARRAYS; do
  settled "$a"
  check "$a: reshaped in mdfs" "none idle" "$(cat "$(sys $a reshape_position)") $(cat "$(sys $a sync_action)")"
  SHA[$a]=$(sha256sum <"$MNT/dev/$a" | cut -d' ' -f1)
done
check "raid10 shapes after the reshapes" "5 65536 4 131072" \
  "$(cat "$(sys md_kt raid_disks)") $(cat "$(sys md_kt chunk_size)") $(cat "$(sys md_ku raid_disks)") $(cat "$(sys md_ku chunk_size)")"
for _ in $(seq 100); do [ "$(cat "$(sys md_kq level)")" = raid5 ] && break; sleep 0.1; done
check "restriping level changes: shapes in mdfs" "raid6 5 2 raid5 4 2 raid6 5 18" \
  "$(for a in md_kp md_kq md_kl; do echo "$(cat "$(sys $a level)") $(cat "$(sys $a raid_disks)") $(cat "$(sys $a layout)")"; done | tr '\n' ' ' | sed 's/ $//')"
eventually "md_kh: held half-way" "8192 / 30720" cat "$(sys md_kh sync_completed)"
eventually "md_kr: held half-way (layout: new, then old)" "8192 raid6 2 (18)" \
  sh -c "echo \$(cut -d' ' -f1 '$(sys md_kr sync_completed)') \$(cat '$(sys md_kr level)') \$(cat '$(sys md_kr layout)')"
kh_size=$(( $(stat -c %s "$T/md_kh.data") * 3 / 2 ))
unmount_mdfs

# One boot for all: the shrunk array keeps its spare out of the array (the
# kernel sees it as a spare too), and the half-done grow is resumed by the
# kernel, which finishes it (--finish) before the arrays are read.
want=$( (cat "$T/md_kh.data"; head -c $((kh_size - $(stat -c %s "$T/md_kh.data"))) /dev/zero) | sha256sum | cut -d' ' -f1)
images=()
for f in "$SRC"/k5-*.img "$SRC"/k6-*.img "$SRC"/kc-*.img "$SRC"/ks-*.img "$SRC"/kh-*.img "$SRC"/kt-*.img "$SRC"/ku-*.img \
  "$SRC"/kp-*.img "$SRC"/kq-*.img "$SRC"/kl-*.img "$SRC"/kr-*.img; do
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
check "reshaped arrays the kernel assembled" 9 "$n"

# The half-done grow: the content mdfs showed followed by zeros, once the
# kernel has finished the reshape it took up.
if oracle_match md_kh "$want"; then
  check "md_kh: the kernel took up the reshape at assembly" reshape "${KRESUMED[$K]}"
  oracle_section "kernel log" | grep -q "$K: reshape done" && pass "md_kh: the kernel finished the reshape" ||
    fail "md_kh: no reshape finished in the kernel: $(oracle_section "kernel log" | tail -5)"
  check "md_kh: the kernel's check finds no mismatch" 0 "${KMISMATCH[$K]:-missing}"
fi
# The half-done raid5 -> raid6 restripe: the content unchanged once the
# kernel has finished it (and recovered Q onto the spare).
if oracle_match md_kr "$(sha256sum <"$T/md_kr.data" | cut -d' ' -f1)"; then
  check "md_kr: the kernel took up the reshape at assembly" reshape "${KRESUMED[$K]}"
  oracle_section "kernel log" | grep -q "$K: reshape done" && pass "md_kr: the kernel finished the reshape" ||
    fail "md_kr: no reshape finished in the kernel: $(oracle_section "kernel log" | tail -5)"
  check "md_kr: the kernel's check finds no mismatch" 0 "${KMISMATCH[$K]:-missing}"
fi
[ "$FAILED" -ne 0 ] && { echo "--- oracle output:"; cat "$T/oracle.txt"; tail -20 "$T/oracle.err"; }
finish
