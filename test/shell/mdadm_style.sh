#!/bin/bash
# In the style of mdadm's own tests (00raid1, 00raid5...): each level with
# each metadata version made with "mdfsadm -CR", checked in proc/mdstat,
# written and read back, stopped, assembled from its members, examined,
# and stopped again; then assembled once more by --assemble --scan from
# --examine --scan's lines.
. "$(dirname "$0")/lib.sh"
requires cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
truncate -s 20000K "$SRC"/loop{0,1,2,3,4}
D=$MNT/dev/md0
count=0
# level raid-devices mdstat-level
for spec in "linear 3 linear" "raid0 3 raid0" "raid1 3 raid1" "raid4 3 raid4" "raid5 3 raid5" "raid6 4 raid6" \
            "raid10 4 raid10"; do
  set -- $spec
  level=$1 n=$2 shown=$3
  for meta in 0.90 1.0 1.1 1.2; do
    name="$level -e$meta"
    devs=()
    for ((i = 0; i < n; i++)); do devs+=("$SRC/loop$i"); done
    "$ADM" --zero-superblock "${devs[@]}" 2>/dev/null
    if ! "$ADM" -CR "$D" -e"$meta" -l "$level" -n"$n" "${devs[@]}" 2>"$T/err"; then
      fail "$name: -CR failed: $(cat "$T/err")"
      continue
    fi
    line=$(grep '^md0 :' "$MNT/proc/mdstat")
    [[ $line == "md0 : active $shown "* ]] && pass "$name: mdstat says active $shown" || fail "$name: mdstat: $line"
    if [ "$level" != linear ] && [ "$level" != raid0 ]; then
      # As mdadm's tests ("check wait"): the new array's resync or rebuild
      # runs to its end first.
      "$ADM" --wait "$D" 2>/dev/null
      want="[$n/$n] [$(printf 'U%.0s' $(seq "$n"))]"
      grep -A1 '^md0 :' "$MNT/proc/mdstat" | grep -qF "$want" && pass "$name: $want" || fail "$name: no $want in mdstat"
    fi
    size=$(stat -c %s "$D")
    head -c "$size" /dev/urandom > "$T/ref"
    dd if="$T/ref" of="$D" bs=64k conv=notrunc,fsync status=none
    cmp -s "$D" "$T/ref" && pass "$name: reads what was written" || fail "$name: data differs"
    "$ADM" -S "$D" 2>/dev/null || fail "$name: -S failed"
    "$ADM" -A "$D" "${devs[@]}" 2>"$T/err" || fail "$name: -A failed: $(cat "$T/err")"
    check "$name: the same size assembled" "$size" "$(stat -c %s "$D" 2>/dev/null)"
    cmp -s "$D" "$T/ref" && pass "$name: the same data assembled" || fail "$name: data differs after -A"
    "$ADM" -E "${devs[0]}" > "$T/examine"
    version=$meta; [ "$meta" = 0.90 ] && version=0.90.00
    check "$name: --examine" "$version $level $n" \
      "$(sed -n 's/^ *Version : //p' "$T/examine") $(sed -n 's/^ *Raid Level : //p' "$T/examine") $(sed -n 's/^ *Raid Devices : //p' "$T/examine")"
    "$ADM" -S "$D" 2>/dev/null
    count=$((count + 1))
  done
done
check "seven levels, four metadata versions" 28 "$count"

# --examine --scan's lines as mdadm.conf: --assemble --scan finds them.
"$ADM" --zero-superblock "$SRC"/loop{0,1,2,3,4} 2>/dev/null
"$ADM" -CR "$MNT/dev/md1" -l1 -n2 "$SRC/loop0" "$SRC/loop1" 2>/dev/null
"$ADM" -CR "$MNT/dev/md2" -e0.90 -l5 -n3 "$SRC/loop2" "$SRC/loop3" "$SRC/loop4" 2>/dev/null
"$ADM" -Ss --mount "$MNT" 2>/dev/null
"$ADM" -Es "$SRC"/loop* > "$T/mdadm.conf"
"$ADM" -As --config="$T/mdadm.conf" --mount "$MNT" 2>/dev/null
check "-As from -Es: both arrays" "md1 md2" "$(grep -o '^md[0-9]*' "$MNT/proc/mdstat" | sort | paste -sd' ')"
"$ADM" -Ss --mount "$MNT" 2>/dev/null
unmount_mdfs
finish
