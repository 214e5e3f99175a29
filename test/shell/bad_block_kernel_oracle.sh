#!/bin/bash
# Bad block logs mdfs wrote are the real Linux md driver's: a raid1 and a
# raid5 whose member failed a write in mdfs (the range recorded in its log,
# the member kept) are assembled by the kernel (tools/kernel-oracle/oracle
# run), which shows the same ranges in dev-*/bad_blocks, the members in
# sync, nothing degraded, and reads mdfs's content around the ranges; then
# raid1 keeps its range and raid5 has rewritten and cleared it, as mdfs.
# run-tests: once timeout=600 (one boot of the kernel)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faulty.sh"
. "$(dirname "$0")/lib-oracle.sh"
mount_faulty
mount_mdfs -o assemble=none

# fail_write NAME BAD ARRAY_OFFSET: a 64 KiB write at ARRAY_OFFSET fails on
# BAD at its data byte 1 MiB and is recorded there; the array's hash.
fail_write() {
  local name=$1 bad=$2 at=$3
  rule weio "$bad" "$(data_at "$bad" 1048576)" 64K
  head -c 65536 /dev/urandom >"$T/new"
  dd if="$T/new" of="$T/ref" bs=64K oflag=seek_bytes seek="$at" conv=notrunc status=none
  dd if="$T/new" of="$MNT/dev/$name" bs=64K oflag=seek_bytes,direct seek="$at" conv=notrunc status=none ||
    fail "$name: the write failed"
  rule clear
  WANT_BB[$name]="$(($(md "dev-$bad/offset") + 2048)) 128"
  check "$name: recorded in mdfs" "${WANT_BB[$name]}" "$(md "dev-$bad/bad_blocks")"
  WANT_SHA[$name]=$(ref_sum)
}
declare -A WANT_BB=() WANT_SHA=()
make_array md_k1 raid1 - k1-0.img k1-1.img && fail_write md_k1 k1-0.img $((1 << 20))
make_array md_k5 raid5 left-symmetric k5-0.img k5-1.img k5-2.img k5-3.img &&
  fail_write md_k5 k5-1.img $((49 * 65536))
unmount_mdfs

# In the guest: each array's hash and degraded count, and each member's
# bad_blocks and state (/dev/vda.. are the images in the order given).
cat >"$T/script.sh" <<'EOF'
mdadm --assemble --scan --run > assemble.txt 2>&1
sleep 1
for a in $(ls /sys/block | grep '^md'); do
  s=/sys/block/$a/md
  for d in $s/dev-*; do
    echo "DEV $a ${d##*/dev-} $(cat $d/state) bb=$(cat $d/bad_blocks | tr '\n' ,)"
  done
  echo "ARRAY $a $(sha256sum /dev/$a | cut -d' ' -f1) $(cat $s/degraded)"
  for d in $s/dev-*; do
    echo "AFTER $a ${d##*/dev-} $(cat $d/state) bb=$(cat $d/bad_blocks | tr '\n' ,)"
  done
done
EOF
IMAGES=("$BACK"/k1-0.img "$BACK"/k1-1.img "$BACK"/k5-{0,1,2,3}.img)
start=$SECONDS
"$ORACLE" run --copy "$T/script.sh" "${IMAGES[@]}" >"$T/oracle.txt" 2>"$T/oracle.err"
rc=$?
echo "oracle: exit $rc in $((SECONDS - start)) s"
[ "$rc" -eq 0 ] || { cat "$T/oracle.err"; fail "the kernel oracle could not run"; }

# kernel_array SHA: the kernel's md device that read that content.
kernel_array() { awk -v s="$1" '$1 == "ARRAY" && $3 == s { print $2 }' "$T/oracle.txt"; }
# kernel_dev MD DISK [AFTER]: "state bb=..." of that member, as assembled
# (or after the array was read).
kernel_dev() {
  awk -v w="${3:-DEV}" -v a="$1" -v d="$2" '$1 == w && $2 == a && $3 == d { $1 = $2 = $3 = ""; sub(/^ +/, ""); print }' \
    "$T/oracle.txt"
}
ran=0
for name in md_k1 md_k5; do
  k=$(kernel_array "${WANT_SHA[$name]}")
  [ -n "$k" ] || { fail "$name: no kernel array read mdfs's content"; continue; }
  pass "$name: the kernel assembled it ($k) and reads mdfs's content"
  check "$name: nothing degraded" 0 "$(awk -v a="$k" '$1 == "ARRAY" && $2 == a { print $4 }' "$T/oracle.txt")"
  case $name in md_k1) bad=vda; others="vdb" ;; md_k5) bad=vdd; others="vdc vde vdf" ;; esac
  check "$name: the kernel shows the range mdfs recorded" "in_sync bb=${WANT_BB[$name]}," "$(kernel_dev "$k" $bad)"
  for o in $others; do check "$name: $o in sync, no bad blocks" "in_sync bb=" "$(kernel_dev "$k" $o)"; done
  # Read, raid1 keeps the range (read_balance reads around it); raid5
  # writes the page it computed back to a member without a write error
  # and clears it, as mdfs does.
  after="bb=${WANT_BB[$name]},"; [ $name = md_k5 ] && after="bb="
  check "$name: after the kernel read it: $after" "in_sync $after" "$(kernel_dev "$k" $bad AFTER)"
  ran=$((ran + 1))
done
check "both arrays checked" 2 "$ran"
finish
