#!/bin/bash
# Bitmaps mdfs created are the real Linux md driver's to use: a raid5 made
# by mdfsadm --create --bitmap=internal (64 KiB bitmap chunks), with a
# member failed and removed and 1 MiB written while degraded, is re-added
# by the kernel (`mdadm --re-add`, tools/kernel-oracle/oracle readd) with
# mismatch_cnt 0 and mdfs's content; the same kind of array left by
# `kill -9` with writes in flight is resynced by the kernel from the
# bitmap mdfs kept and checks clean.
# run-tests: once timeout=900 (two boots of the kernel, each a recovery or a resync and a check)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-oracle.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
md() { cat "$(sys "$A" "$1")"; }
dirty() { "$ADM" -X "$1" | sed -n 's/.*(chunks), \([0-9]*\) dirty.*/\1/p'; }
# make NAME: a raid5 of four 8 MiB members with a bitmap, filled, its
# bits cleared.
make() {
  A=md_$1
  truncate -s 8M "$SRC/$1"-{0,1,2,3}.img
  "$ADM" --create "$MNT/dev/$A" -l5 -n4 -c64 --bitmap=internal --bitmap-chunk=64K "$1"-{0,1,2,3}.img 2>/dev/null
  head -c "$(stat -c %s "$MNT/dev/$A")" /dev/urandom | dd of="$MNT/dev/$A" bs=1M conv=notrunc,fsync status=none
  sysw "$(sys "$A" bitmap/time_base)" 0.1 >/dev/null
  eventually "$A: bits cleared" "      bitmap: 0/1 pages [0KB], 64KB chunk" sh -c "grep -A3 '^$A ' '$MNT/proc/mdstat' | grep bitmap:"
  sleep 0.5
  sysw "$(sys "$A" bitmap/time_base)" 5 >/dev/null
}

mount_mdfs -o assemble=none
make r
"$ADM" "$MNT/dev/md_r" --fail r-2.img --remove r-2.img 2>/dev/null
head -c 1M /dev/urandom | dd of="$MNT/dev/md_r" bs=1M seek=5 conv=notrunc,fsync status=none
sha_r=$(sha256sum <"$MNT/dev/md_r" | cut -d' ' -f1)
make k
sysw "$(sys md_k safe_mode_delay)" 0 >/dev/null
(while :; do head -c 256K /dev/urandom | dd of="$MNT/dev/md_k" bs=256K seek=9 oflag=direct conv=notrunc status=none 2>/dev/null || break; done) &
loop=$!
sleep 0.5
kill -9 "$MDFS_PID"; wait "$MDFS_PID" 2>/dev/null; MDFS_PID=
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
wait "$loop" 2>/dev/null

# 1 MiB of a raid5 of 3 data members: 6 member chunks of 64 KiB.
n=$(dirty "$SRC/r-0.img")
[ "$n" -ge 6 ] && [ "$n" -le 8 ] && pass "md_r: the degraded writes' chunks dirty ($n)" || fail "md_r: dirty chunks: $n"
run_readd readd 2 "$SRC"/r-{0,1,2,3}.img
check "md_r: the kernel's --re-add" 0 "$(result rc)"
grep -q "re-added /dev/vdc" "$T/oracle.txt" && pass "md_r: mdadm says re-added" || fail "md_r: not re-added"
check "md_r: the kernel's check after its recovery" 0 "$(result mismatch_cnt)"
check "md_r: the content mdfs wrote" "$sha_r" "$(result sha256)"
[ "$FAILED" -ne 0 ] && { echo "--- oracle:"; cat "$T/oracle.txt"; }

n=$(dirty "$SRC/k-0.img")
[ "$n" -ge 2 ] && [ "$n" -le 6 ] && pass "md_k: chunks being written dirty after the kill ($n)" || fail "md_k: dirty chunks: $n"
check "md_k: left active" active "$(mdadm --examine "$SRC/k-0.img" | sed -n 's/^ *State : //p')"
run_readd resume "$SRC"/k-{0,1,2,3}.img
check "md_k: the kernel assembles and finishes" 0 "$(result rc)"
grep -q "md: resync of RAID array" "$T/oracle.txt" && pass "md_k: the kernel resynced it" || fail "md_k: no resync"
check "md_k: the kernel's check after its resync" 0 "$(result mismatch_cnt)"
[ "$FAILED" -ne 0 ] && { echo "--- oracle:"; cat "$T/oracle.txt"; }
finish
