#!/bin/bash
# The real Linux md driver accepts what mdfs writes: arrays of several levels
# and metadata versions built through sysfs on blank members, filled with
# random data and stopped cleanly, are assembled by Debian's kernel (under
# qemu, by tools/kernel-oracle/oracle assemble, one boot for all of them)
# with the same size and sha256, clean, idle (no resync) and mismatch_cnt 0
# after a check.
# run-tests: once timeout=600 (the kernel judges the bytes mdfs wrote, the
# same in both builds; the ASan build runs every other test)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-oracle.sh"

# name:level:members:layout:metadata (raid5/6 layout 2 is left-symmetric,
# raid10 258 is n2): every level and every metadata version mdfs writes,
# all in one boot.
ARRAYS=${ARRAYS:-"md_r1:raid1:2:0:1.2 md_r5:raid5:4:2:1.2 md_r6:raid6:5:2:1.2 md_r10:raid10:4:258:1.2
  md_r0:raid0:3:0:1.2 md_r5m10:raid5:4:2:1.0 md_r1m090:raid1:2:0:0.90 md_lin:linear:2:0:1.2
  md_r4m11:raid4:3:0:1.1"}
MEMBER_SIZE=${MEMBER_SIZE:-8M}

t0=$(date +%s)
mount_mdfs -o assemble=none
declare -A SIZE SHA UUID
images=()
for spec in $ARRAYS; do
  IFS=: read -r name level disks layout meta <<<"$spec"
  w="$name ($level/$meta)"
  check "$w: new_array" ok "$(sysw "$(param new_array)" "$name")"
  check "$w: metadata_version" ok "$(sysw "$(sys "$name" metadata_version)" "$meta")"
  check "$w: level" ok "$(sysw "$(sys "$name" level)" "$level")"
  check "$w: raid_disks" ok "$(sysw "$(sys "$name" raid_disks)" "$disks")"
  check "$w: chunk_size" ok "$(sysw "$(sys "$name" chunk_size)" 65536)"
  check "$w: layout" ok "$(sysw "$(sys "$name" layout)" "$layout")"
  for d in $(seq 0 $((disks - 1))); do
    truncate -s "$MEMBER_SIZE" "$SRC/$name-$d.img"
    images+=("$SRC/$name-$d.img")
    check "$w: new_dev $d" ok "$(sysw "$(sys "$name" new_dev)" "$name-$d.img")"
    check "$w: slot $d" ok "$(sysw "$(sys "$name" "dev-$name-$d.img/slot")" "$d")"
  done
  check "$w: start" ok "$(sysw "$(sys "$name" array_state)" active)"
  size=$(stat -c %s "$MNT/dev/$name")
  [ "$size" -gt 0 ] || { fail "$w: size 0"; continue; }
  # Random data over the whole array.
  head -c "$size" /dev/urandom > "$T/data"
  dd if="$T/data" of="$MNT/dev/$name" bs=1M conv=notrunc,fsync status=none || fail "$w: dd failed"
  SIZE[$name]=$size
  SHA[$name]=$(sha256sum < "$MNT/dev/$name" | cut -d' ' -f1)
  check "$w: reads back what was written" "$(sha256sum < "$T/data" | cut -d' ' -f1)" "${SHA[$name]}"
done
rm -f "$T/data"
unmount_mdfs
echo "mdfs: built, filled and stopped in $(( $(date +%s) - t0 )) s"

for spec in $ARRAYS; do
  IFS=: read -r name level disks layout meta <<<"$spec"
  ex=$(mdadm --examine "$SRC/$name-0.img" 2>&1)
  UUID[$name]=$(echo "$ex" | sed -n 's/^ *\(Array \)\?UUID : \([0-9a-f:]*\).*/\2/p')
  [ -n "${UUID[$name]}" ] || fail "$name: mdadm --examine finds no uuid: $ex"
  for f in "$SRC/$name"-*.img; do
    mdadm --examine "$f" 2>/dev/null | grep -q "State : clean" || fail "$(basename "$f") not clean after unmount"
  done
done

run_oracle "${images[@]}"

# Kernel name -> uuid from the `== mdX` blocks of mdadm --detail.
declare -A KUUID KSIZE KSHA KSTATE KSYNC KMISMATCH
while read -r k u; do KUUID[$u]=$k; done < <(oracle_section detail |
  awk '/^== /{k=$2} /^ *UUID : /{print k, $3}')
while read -r k size sha state sync _ _ mismatch _; do
  KSIZE[$k]=$size KSHA[$k]=$sha KSTATE[$k]=$state KSYNC[$k]=$sync KMISMATCH[$k]=$mismatch
done < <(oracle_section arrays)
check "oracle exit status (every array assembled and checked clean)" 0 "$ORACLE_RC"

n=0
for spec in $ARRAYS; do
  IFS=: read -r name level disks layout meta <<<"$spec"
  w="$name ($level/$meta)"
  k=${KUUID[${UUID[$name]:-none}]:-}
  if [ -z "$k" ] || [ -z "${KSIZE[$k]:-}" ]; then
    fail "$w: the kernel did not assemble uuid ${UUID[$name]:-?}"
    continue
  fi
  pass "$w: assembled by the kernel as $k"
  check "$w: kernel size" "${SIZE[$name]}" "${KSIZE[$k]}"
  check "$w: kernel sha256" "${SHA[$name]}" "${KSHA[$k]}"
  check "$w: kernel array_state" clean "${KSTATE[$k]}"
  if [ "$level" = raid0 ] || [ "$level" = linear ]; then
    check "$w: no sync_action on $level" none "${KSYNC[$k]}"
  else
    check "$w: kernel sync_action (no resync)" idle "${KSYNC[$k]}"
    check "$w: kernel mismatch_cnt after check" 0 "${KMISMATCH[$k]:-missing}"
  fi
  n=$((n + 1))
done
checked_cases "arrays the kernel assembled" "$(echo $ARRAYS | wc -w)" "$n"
if [ "$FAILED" -ne 0 ]; then
  echo "--- oracle output:"; cat "$T/oracle.txt"; tail -20 "$T/oracle.err"
fi
finish
