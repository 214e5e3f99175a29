#!/bin/bash
# The real Linux md driver accepts what mdfs's sync thread leaves behind:
# arrays whose member was failed, removed and rebuilt onto a blank spare
# (raid1, raid5, raid6 two at once, raid10, and the kernel's raid5 with an
# internal bitmap), one repaired after damage, two resynced after the
# daemon was killed (a raid5 after a write, a raid6 under random partial
# writes through the stripe cache), one whose member was replaced
# (want_replacement) with writes during the copy, are assembled by Debian's kernel (under
# qemu, tools/kernel-oracle/oracle assemble, one boot) with the sha256 mdfs
# shows, clean and idle (no recovery or resync owed), and mismatch_cnt 0
# after the kernel's own check; the write-mostly and failfast flags mdfs
# set show in the kernel's --detail. A raid5 stopped half-way through a
# replacement is taken up by the kernel, which finishes the copy
# (--finish) with mdfs's content and checks it clean.
# run-tests: once timeout=600 (the kernel judges the bytes mdfs wrote, the
# same in both builds; the ASan build runs every other test)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-oracle.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
requires fio

mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/k1-{0,1,s}.img "$SRC"/k5-{0,1,2,3,s}.img "$SRC"/k6-{0,1,2,3,4,s,t}.img \
  "$SRC"/k10-{0,1,2,3,s}.img "$SRC"/kr-{0,1,2}.img "$SRC"/ks-{0,1,2}.img \
  "$SRC"/kq-{0,1,2,s}.img "$SRC"/kp-{0,1,2,s}.img "$SRC"/kl-{0,1,2,3,4}.img
"$ADM" --create "$MNT/dev/md_k1" -l1 -n2 k1-{0,1}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_k5" -l5 -n4 -c64 k5-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_k6" -l6 -n5 -c64 k6-{0,1,2,3,4}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_k10" -l10 -n4 -c64 k10-{0,1,2,3}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kr" -l5 -n3 -c64 kr-{0,1,2}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_ks" -l5 -n3 -c64 ks-{0,1,2}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kq" -l5 -n3 -c64 kq-{0,1,2}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kp" -l5 -n3 -c64 kp-{0,1,2}.img 2>/dev/null
"$ADM" --create "$MNT/dev/md_kl" -l6 -n5 -c64 kl-{0,1,2,3,4}.img 2>/dev/null
ARRAYS="md_k1 md_k5 md_k6 md_k10 md_kr md_ks md_kq md_kp md_kl"
for a in $ARRAYS; do
  head -c "$(stat -c %s "$MNT/dev/$a")" /dev/urandom | dd of="$MNT/dev/$a" bs=1M conv=notrunc,fsync status=none
done
# md_oracle (the name in its superblock): the kernel's raid5 with an
# internal bitmap, rebuilt onto a blank member, which must get the bitmap too.
for f in "$FIXTURES"/raid5-4-bitmap/member-*.img.xz; do xz -dc "$f" >"$SRC/kb-$(basename "${f%.xz}")"; done
truncate -s "$(stat -c %s "$SRC/kb-member-0.img")" "$SRC/kb-spare.img"
"$ADM" --assemble --run "$MNT/dev/md_oracle" kb-member-{0,1,2,3}.img 2>/dev/null
"$ADM" "$MNT/dev/md_oracle" --fail kb-member-1.img --remove kb-member-1.img --add kb-spare.img 2>/dev/null
ARRAYS="$ARRAYS md_oracle"
"$ADM" "$MNT/dev/md_k1" --fail k1-1.img --remove k1-1.img --add k1-s.img 2>/dev/null
"$ADM" "$MNT/dev/md_k5" --fail k5-2.img --remove k5-2.img --add k5-s.img 2>/dev/null
"$ADM" "$MNT/dev/md_k6" --fail k6-0.img --remove k6-0.img --fail k6-3.img --remove k6-3.img --add k6-s.img k6-t.img 2>/dev/null
"$ADM" "$MNT/dev/md_k10" --fail k10-3.img --remove k10-3.img --add k10-s.img 2>/dev/null
for a in md_k1 md_k5 md_k6 md_k10 md_oracle; do
  "$ADM" --wait "$MNT/dev/$a" 2>/dev/null
  check "$a: rebuilt in mdfs" "0 idle" "$(cat "$(sys $a degraded)") $(cat "$(sys $a sync_action)")"
done
# Member flags mdfs keeps in the superblocks: md_k1's first mirror
# write-mostly, its rebuilt one failfast.
check "md_k1: writemostly" ok "$(sysw "$(sys md_k1 dev-k1-0.img/state)" writemostly)"
check "md_k1: failfast" ok "$(sysw "$(sys md_k1 dev-k1-s.img/state)" failfast)"
# md_kq: kq-1 replaced by kq-s (want_replacement), with writes during the
# copy; md_kp: the same held half-way (sync_max) and stopped there, so the
# kernel finds kp-s in the replacement role and finishes the copy.
for a in md_kq md_kp; do "$ADM" --wait "$MNT/dev/$a" 2>/dev/null; done
echo 4096 >"$(sys md_kp sync_max)"
for x in q p; do
  echo k$x-s.img >"$(sys md_k$x new_dev)"
  check "md_k$x: want_replacement" ok "$(sysw "$(sys md_k$x dev-k$x-1.img/state)" want_replacement)"
done
eventually "md_kp: the replacement held half-way" "4096 /" bash -c "cut -d' ' -f1,2 '$(sys md_kp sync_completed)'"
head -c 200000 /dev/urandom | dd of="$MNT/dev/md_kq" bs=100000 seek=7 conv=notrunc,fsync status=none
head -c 200000 /dev/urandom | dd of="$MNT/dev/md_kp" bs=100000 seek=7 conv=notrunc,fsync status=none
head -c 200000 /dev/urandom | dd of="$MNT/dev/md_kp" bs=100000 seek=120 conv=notrunc,fsync status=none
"$ADM" --wait "$MNT/dev/md_kq" 2>/dev/null
check "md_kq: replaced in mdfs" "in_sync 1 faulty" \
  "$(cat "$(sys md_kq dev-kq-s.img/state)") $(cat "$(sys md_kq dev-kq-s.img/slot)") $(cat "$(sys md_kq dev-kq-1.img/state)")"
check "md_kp: kp-s is the replacement of role 1" "spare,replacement 1" \
  "$(cat "$(sys md_kp dev-kp-s.img/state)") $(cat "$(sys md_kp dev-kp-s.img/slot)")"
# md_kr: damaged parity, repaired.
"$ADM" --stop "$MNT/dev/md_kr" 2>/dev/null
dd if=/dev/urandom of="$SRC/kr-1.img" bs=512 seek=$((2048 + 300)) count=64 conv=notrunc status=none
"$ADM" --assemble --run "$MNT/dev/md_kr" kr-{0,1,2}.img 2>/dev/null
sysw "$(sys md_kr sync_action)" repair >/dev/null
"$ADM" --wait "$MNT/dev/md_kr" 2>/dev/null
[ "$(cat "$(sys md_kr mismatch_cnt)")" -gt 0 ] && pass "md_kr: repair found the damage" || fail "md_kr: repair found nothing"
# md_ks: the daemon killed while it is active, then resynced at the next mount.
sysw "$(sys md_ks safe_mode_delay)" 0 >/dev/null
head -c 65536 /dev/urandom | dd of="$MNT/dev/md_ks" bs=64k seek=3 conv=notrunc,fsync status=none
declare -A SHA
for a in $ARRAYS; do SHA[$a]=$(sha256sum < "$MNT/dev/$a" | cut -d' ' -f1); done
# md_kl: the daemon killed under random partial-stripe writes (four fio
# jobs at queue depth 16 through the stripe cache); resynced at the next
# mount, then judged by the kernel as it is.
"$ADM" --wait "$MNT/dev/md_kl" 2>/dev/null
fio --name=load --filename="$MNT/dev/md_kl" --rw=randwrite --bsrange=4k-96k --bs_unaligned --iodepth=16 \
  --numjobs=4 --direct=1 --ioengine=libaio --time_based --runtime=30 --group_reporting >"$T/fio.log" 2>&1 &
fio_pid=$!
sleep 2
kill -0 "$fio_pid" 2>/dev/null && pass "md_kl: killed with fio writing" || fail "md_kl: fio ended early: $(tail -5 "$T/fio.log")"
# md_kp stopped cleanly mid-replacement, and kept out of the next mount
# (which would finish the copy itself).
"$ADM" --stop "$MNT/dev/md_kp" 2>/dev/null
mkdir "$T/kp" && mv "$SRC"/kp-*.img "$T/kp/"
kill -9 "$MDFS_PID"; wait "$MDFS_PID" 2>/dev/null; MDFS_PID=
wait "$fio_pid" 2>/dev/null
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
mount_mdfs
eventually "md_ks: resynced at the next mount" none cat "$(sys md_ks resync_start)"
"$ADM" --wait "$MNT/dev/md_kl" 2>/dev/null
eventually "md_kl: resynced at the next mount" none cat "$(sys md_kl resync_start)"
SHA[md_kl]=$(sha256sum < "$MNT/dev/md_kl" | cut -d' ' -f1)
for a in $ARRAYS; do
  [ $a = md_kp ] || [ $a = md_kl ] && continue
  check "$a: same data after the remount" "${SHA[$a]}" "$(sha256sum < "$MNT/dev/$a" | cut -d' ' -f1)"
done
unmount_mdfs
mv "$T"/kp/*.img "$SRC/"

images=()
for f in "$SRC"/*.img; do
  case $f in *k1-1.img | *k5-2.img | *k6-0.img | *k6-3.img | *k10-3.img | *kb-member-1.img | *kq-1.img) continue ;; esac
  images+=("$f")
done
# --finish: the replacement the kernel takes up runs to its end before the
# arrays are read and checked.
run_oracle --finish "${images[@]}"
oracle_arrays
check "oracle exit status (every array assembled and checked clean)" 0 "$ORACLE_RC"
n=0
for a in $ARRAYS; do
  oracle_match "$a" "${SHA[$a]}" || continue
  k=$K
  check "$a: kernel array_state" clean "${KSTATE[$k]}"
  if [ $a = md_kp ]; then
    check "$a: the kernel took up the replacement (a recovery)" recovery "${KRESUMED[$k]}"
  else
    check "$a: kernel sync_action (nothing owed)" idle "${KRESUMED[$k]}"
  fi
  check "$a: kernel mismatch_cnt after check" 0 "${KMISMATCH[$k]:-missing}"
  n=$((n + 1))
done
k1=${KSHA[${SHA[md_k1]}]:-none}
check "md_k1: the kernel's --detail shows the flags mdfs wrote" "failfast writemostly" \
  "$(oracle_section detail | awk -v k="== $k1" '/^== / { on = ($0 == k) } on' | grep -o -w -E 'writemostly|failfast' | sort | paste -sd' ')"
checked_cases "arrays the kernel assembled" "$(echo $ARRAYS | wc -w)" "$n"
oracle_section detail | grep -q "State : .*degraded" && fail "the kernel finds an array degraded: $(oracle_section detail | grep -B30 degraded | grep '^==')"
if [ "$FAILED" -ne 0 ]; then
  echo "--- oracle output:"; cat "$T/oracle.txt"; tail -20 "$T/oracle.err"
fi
finish
