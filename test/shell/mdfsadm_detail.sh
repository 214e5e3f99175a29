#!/bin/bash
# mdfsadm --detail prints mdadm's --detail layout: on the kernel fixtures,
# assembled at mount, every field the kernel recorded except those a start
# changes (update time, events) and the device numbers; on an array made by
# mdfsadm, the values sysfs shows; degraded and failed states; --scan's
# ARRAY lines; --test's exit status; errors as mdadm's.
. "$(dirname "$0")/lib.sh"
requires xz
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
export TZ=UTC
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
first_difference() { diff <(echo "$1") <(echo "$2") | grep -m2 '^[<>]' | tr '\n' ' '; }
field() { sed -n "s/^ *$1 : //p" "$T/out"; }

cases=$(fixture_cases) || exit 1
for case in $cases; do
  dir=$FIXTURES/$case/
  for m in "$dir"member-*.img.xz; do xz -dc "$m" > "$SRC/$case-$(basename "$m" .img.xz).img"; done
done
mount_mdfs
# The array each fixture became, by uuid (0.90 prints host-order words).
array_of() {
  local want=$1 meta=$2 a u
  for a in $(ls "$MNT/dev"); do
    u=$(tr -d '-' < "$(sys $a uuid)")
    [ "$meta" = 0.90 ] && u=$(echo "$u" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/g')
    [ "$u" = "$want" ] && { echo "$a"; return; }
  done
}
# What a start changes, and the guest's device numbers and names.
mask() { sed -e 's/^\( *Update Time :\).*/\1 -/' -e 's/^\( *Events :\).*/\1 -/' \
             -e 's/^\( *[0-9-]* *\)[0-9]* *[0-9]*\( .*\)/\1 M m \2/' -e 's|   /[^ ]*$||'; }
n=0
for case in $cases; do
  dir=$FIXTURES/$case/
  meta=$(sed -n 's/^ *Version : //p' "$dir/kernel-detail.txt")
  uuid=$(sed -n 's/^ *UUID : \([0-9a-f:]*\).*/\1/p' "$dir/kernel-detail.txt" | tr -d ':')
  a=$(array_of "$uuid" "$meta")
  [ -n "$a" ] || { fail "$case: not assembled"; continue; }
  adm --detail --homehost='(none)' "$MNT/dev/$a"
  check "$case: exit 0" 0 "$RC"
  check "$case: every field as the kernel's mdadm --detail" "" \
        "$(first_difference "$(tail -n +2 "$dir/kernel-detail.txt" | mask)" "$(tail -n +2 "$T/out" | mask)")"
  check "$case: first line names the array file" "$MNT/dev/$a:" "$(head -1 "$T/out")"
  n=$((n + 1))
done
checked_cases "kernel-md fixtures" "$(echo "$cases" | wc -l)" "$n"
unmount_mdfs
rm -f "$SRC"/*.img

# An array made by mdfsadm: --detail shows what sysfs shows.
mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/m{0,1,2,3}.img
"$ADM" --create --assume-clean "$MNT/dev/md3" -l5 -n4 -c128 -p la m0.img m1.img m2.img m3.img 2>/dev/null
adm --detail "$MNT/dev/md3"
check "detail: exit 0" 0 "$RC"
check "Version is metadata_version" "$(cat "$(sys md3 metadata_version)")" "$(field Version)"
check "Raid Level is level" "$(cat "$(sys md3 level)")" "$(field 'Raid Level')"
check "Raid Devices is raid_disks" "$(cat "$(sys md3 raid_disks)")" "$(field 'Raid Devices')"
check "Array Size is size in KiB" "$(( $(cat "$MNT/sys/block/md3/size") / 2 ))" "$(field 'Array Size' | cut -d' ' -f1)"
check "Used Dev Size is component_size" "$(cat "$(sys md3 component_size)")" "$(field 'Used Dev Size' | cut -d' ' -f1)"
check "Chunk Size is chunk_size" "$(( $(cat "$(sys md3 chunk_size)") / 1024 ))K" "$(field 'Chunk Size')"
check "Layout is layout 0" left-asymmetric "$(field Layout)"
check "State is array_state" "$(cat "$(sys md3 array_state)") " "$(field State)"
check "UUID is uuid" "$(tr -d '-' < "$(sys md3 uuid)" | sed 's/\(.\{8\}\)/\1:/g; s/:$//')" "$(field UUID)"
check "Consistency Policy is consistency_policy" "$(cat "$(sys md3 consistency_policy)")" "$(field 'Consistency Policy')"
check "Name is host:3" "$(hostname):3  (local to host $(hostname))" "$(field Name)"
check "Total Devices" 4 "$(field 'Total Devices')"
for d in 0 1 2 3; do
  check "member m$d row: slot and file" "$(cat "$(sys md3 dev-m$d.img/slot)") active sync $SRC/m$d.img" \
        "$(grep "$SRC/m$d.img\$" "$T/out" | awk '{print $4, $5, $6, $7}')"
done
check "Creation Time is the superblock's" "$(mdadm --examine "$SRC/m0.img" 2>/dev/null | sed -n 's/^ *Creation Time : //p')" "$(field 'Creation Time')"

# Degraded: the state, the counts, the removed slot, --test's status.
printf faulty > "$(sys md3 dev-m2.img/state)"
adm --detail --test "$MNT/dev/md3"
check "degraded: --test exit 1" 1 "$RC"
check "degraded: state" "clean, degraded " "$(field State)"
check "degraded: failed devices" 1 "$(field 'Failed Devices')"
# The kernel takes a faulty member out of its slot (RaidDevice "-"); the
# column shows whatever slot sysfs gives it.
slot=$(cat "$(sys md3 dev-m2.img/slot)"); [ "$slot" = none ] && slot=-
check "degraded: faulty member row, slot as sysfs" "$slot faulty $SRC/m2.img" "$(grep "m2.img\$" "$T/out" | awk '{print $4, $5, $6}')"
printf remove > "$(sys md3 dev-m2.img/state)"
adm --detail "$MNT/dev/md3"
check "removed: the slot shows removed" "- 0 0 2 removed" "$(grep removed "$T/out" | awk '{print $1, $2, $3, $4, $5}')"

# --detail --scan and --brief: mdadm's ARRAY line.
truncate -s 8M "$SRC"/r{0,1}.img
"$ADM" --create --assume-clean "$MNT/dev/md_mirror" -l1 -n2 r0.img r1.img 2>/dev/null
adm --detail --scan --mount "$MNT"
check "--scan: one line per array" 2 "$(wc -l < "$T/out")"
check "--scan: md3's line" "ARRAY $MNT/dev/md3 metadata=1.2 name=$(hostname):3 UUID=$(tr -d '-' < "$(sys md3 uuid)" | sed 's/\(.\{8\}\)/\1:/g; s/:$//')" \
      "$(grep "dev/md3 " "$T/out")"
adm --detail --brief "$MNT/dev/md_mirror"
check "--brief: the mirror's name" "name=$(hostname):mirror" "$(grep -o 'name=[^ ]*' "$T/out")"

# An inactive array: its members, "inactive".
printf md_idle > "$(param new_array)"
printf 1.2 > "$(sys md_idle metadata_version)"
printf m2.img > "$(sys md_idle new_dev)"
adm --detail "$MNT/dev/md_idle"
check "inactive: state" inactive "$(field State)"
check "inactive: the member" "$SRC/m2.img" "$(tail -1 "$T/out" | awk '{print $NF}')"

# Errors: one line, mdadm's exit status.
adm --detail "$MNT/dev/md44"
check "no such array: exit 1" 1 "$RC"
check "no such array: one line" "mdfsadm: cannot open $MNT/dev/md44: No such file or directory" "$(cat "$T/err")"
adm --detail
check "no array: exit 2" 2 "$RC"
adm --detail /etc/hostname
check "not an array file: exit 1" "1 1" "$RC $(wc -l < "$T/err")"
unmount_mdfs
finish
