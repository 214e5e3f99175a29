#!/bin/bash
# raid1 bitmaps mdfs created are the real Linux md driver's to use: raid1s
# made by mdfsadm --create --bitmap=internal (1.2, bitmap after the
# superblock; 1.0, bitmap below it; two and three mirrors), with a mirror
# failed and removed and 1 MiB written while degraded, then stopped. In one
# boot the kernel assembles each without that mirror and `mdadm --re-add`s
# it: it recovers the dirty chunks only (a clean chunk scribbled on one
# removed mirror behind md's back is left alone, and a check counts exactly
# its 64 KiB), a check finds the others' mirrors equal, and every array
# reads back what mdfs wrote.
# run-tests: once timeout=900 (one boot of the kernel, three recoveries and their checks)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-oracle.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
dirty() { "$ADM" -X "$1" | sed -n 's/.*(chunks), \([0-9]*\) dirty.*/\1/p'; }
declare -A SHA=() OFF=()
# make NAME METADATA MIRRORS: a raid1 of 8 MiB members with a bitmap of
# 64 KiB chunks, filled, its bits cleared; then its last mirror failed and
# removed, 1 MiB written at 5 MiB, and stopped.
make() {
  local a=md_$1 last=$1-$(($3 - 1)).img m
  local members=()
  for ((m = 0; m < $3; m++)); do truncate -s 8M "$SRC/$1-$m.img"; members+=("$1-$m.img"); done
  "$ADM" --create "$MNT/dev/$a" -l1 -n"$3" -e "$2" --bitmap=internal --bitmap-chunk=64K "${members[@]}" 2>/dev/null ||
    fail "$a: create"
  settled "$a"
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom | dd of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
  sysw "$(sys "$a" bitmap/time_base)" 0.1 >/dev/null
  for _ in $(seq 100); do [ "$(grep -A3 "^$a " "$MNT/proc/mdstat" | grep -c 'bitmap: 0/')" = 1 ] && break; sleep 0.1; done
  sleep 0.5   # the last pass writes the cleared bits
  OFF[$1]=$(($(cat "$(sys "$a" "dev-$last/offset")") * 512))
  "$ADM" "$MNT/dev/$a" --fail "$last" --remove "$last" 2>/dev/null
  head -c 1M /dev/urandom | dd of="$MNT/dev/$a" bs=1M seek=5 conv=notrunc,fsync status=none
  SHA[$1]=$(sha256sum <"$MNT/dev/$a" | cut -d' ' -f1)
  "$ADM" --stop "$MNT/dev/$a" 2>/dev/null
  # 1 MiB is 16 chunks.
  check "$a: the degraded write's chunks dirty on the mirrors left" 16 "$(dirty "$SRC/$1-0.img")"
}

mount_mdfs -o assemble=none
make a 1.2 2
make b 1.2 3
make c 1.0 2
unmount_mdfs
# b's removed mirror: 4 KiB of garbage at array byte 2 MiB, a clean chunk.
head -c 4096 /dev/urandom | dd of="$SRC/b-2.img" bs=4096 oflag=seek_bytes seek=$((OFF[b] + 2097152)) conv=notrunc status=none

# In the guest (/dev/vda.. are the images in the order given): each array
# assembled without its last mirror, which is re-added; the recovery, a
# check (b: then a repair and a check), the content.
cat >"$T/script.sh" <<'EOF'
one() {  # NAME MD READD MEMBER...
  name=$1 md=$2 readd=$3; shift 3
  s=/sys/block/${md#/dev/}/md
  mdadm --assemble --run $md "$@" >>assemble.txt 2>&1
  sleep 1
  mdadm $md --re-add $readd >>assemble.txt 2>&1
  echo "READD $name $?"
  sleep 1; wait_idle 900 $s
  echo "STATES $name $(cat $s/dev-*/state | tr '\n' ' ')"
  echo "CHECK $name $(check_array $s)"
  if [ $name = b ]; then
    echo repair > $s/sync_action; sleep 1; wait_idle 900 $s
    echo "RECHECK $name $(check_array $s)"
  fi
  echo "SHA $name $(sha256sum $md | cut -d' ' -f1)"
  mdadm --stop $md >>assemble.txt 2>&1
}
one a /dev/md0 /dev/vdb /dev/vda
one b /dev/md1 /dev/vde /dev/vdc /dev/vdd
one c /dev/md2 /dev/vdg /dev/vdf
md_log
EOF
start=$SECONDS
"$ORACLE" run --copy "$T/script.sh" "$SRC"/a-{0,1}.img "$SRC"/b-{0,1,2}.img "$SRC"/c-{0,1}.img \
  >"$T/oracle.txt" 2>"$T/oracle.err"
rc=$?
echo "oracle: exit $rc in $((SECONDS - start)) s"
[ "$rc" -eq 0 ] || { cat "$T/oracle.err"; fail "the kernel oracle could not run"; }
got() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { $1 = ""; $2 = ""; sub(/^ +/, ""); print }' "$T/oracle.txt"; }
for n in a b c; do
  check "md_$n: mdadm --re-add in the kernel" 0 "$(got READD $n)"
  check "md_$n: every mirror in sync after the recovery" 0 "$(got STATES $n | tr ' ' '\n' | grep -vc '^in_sync$')"
  check "md_$n: the content mdfs wrote" "${SHA[$n]}" "$(got SHA $n)"
done
check "md_a: the kernel's check after its recovery" 0 "$(got CHECK a)"
check "md_c (1.0): the kernel's check after its recovery" 0 "$(got CHECK c)"
# A recovery of everything would have rewritten the scribbled chunk.
check "md_b: only the dirty chunks recovered: the clean chunk scribbled is left (one 64 KiB block)" 128 "$(got CHECK b)"
check "md_b: after a repair, the mirrors agree" 0 "$(got RECHECK b)"
grep -q "md: recovery of RAID array" "$T/oracle.txt" && pass "the kernel ran recoveries" || fail "no recovery in the kernel's log"
[ "$FAILED" -ne 0 ] && { echo "--- oracle:"; cat "$T/oracle.txt"; }
finish
