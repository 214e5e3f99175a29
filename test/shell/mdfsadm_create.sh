#!/bin/bash
# mdfsadm --create builds arrays of every level, layout and metadata through
# the mount's sysfs as mdadm would: the attributes hold what was asked, data
# written reads back, mdadm --examine agrees with mdfsadm --examine on every
# member (running, and after a clean unmount), and the arrays come back at
# remount. Wrong arguments: one line, mdadm's exit status, nothing made.
. "$(dirname "$0")/lib.sh"
requires mdadm cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
export TZ=UTC
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
first_difference() { diff <(echo "$1") <(echo "$2") | grep -m2 '^[<>]' | tr '\n' ' '; }
mount_mdfs -o assemble=none

# level:members:chunk KiB:layout name:layout number:metadata
SPECS="linear:2:::0:1.2 raid0:3:64:::1.2 raid1:2::::1.2 raid1:3::::1.0 raid1:2::::0.90 raid4:4:64::5:1.2
raid5:4:64:left-symmetric:2:1.2 raid5:3:32:left-asymmetric:0:1.1 raid5:3:64:ra:1:1.2 raid5:3:64:rs:3:0.90
raid5:3:64:parity-first:4:1.2 raid5:3:64:parity-last:5:1.0 raid6:5:64::2:1.2 raid6:4:64:right-asymmetric:1:1.2
raid10:4:64:n2:258:1.2 raid10:4:64:f2:513:1.2 raid10:4:64:o2:66049:1.1 raid10:3:64::258:0.90"
n=0
for spec in $SPECS; do
  IFS=: read -r level disks chunk layout number meta <<<"$spec"
  name=md$n; what="$name $level/$disks/${layout:-default}/$meta"
  members=()
  for d in $(seq 0 $((disks - 1))); do truncate -s 8M "$SRC/$name-$d.img"; members+=("$name-$d.img"); done
  # Members given as bare names and as paths inside SOURCE.
  members[0]="$SRC/${members[0]}"
  args=(--create "$MNT/dev/$name" --level="$level" --raid-devices="$disks" --metadata="$meta")
  [ -n "$chunk" ] && args+=(--chunk="$chunk")
  [ -n "$layout" ] && args+=(--layout="$layout")
  adm "${args[@]}" "${members[@]}"
  check "$what: created" "0 mdfsadm: array $MNT/dev/$name started." "$RC $(cat "$T/err")"
  check "$what: level" "$level" "$(cat "$(sys $name level)")"
  check "$what: raid_disks" "$disks" "$(cat "$(sys $name raid_disks)")"
  check "$what: metadata_version" "$meta" "$(cat "$(sys $name metadata_version)")"
  [ -n "$chunk" ] && check "$what: chunk_size" $((chunk * 1024)) "$(cat "$(sys $name chunk_size)")"
  [ -n "$number" ] && check "$what: layout" "$number" "$(cat "$(sys $name layout)")"
  check "$what: array_state" clean "$(cat "$(sys $name array_state)")"
  for d in $(seq 0 $((disks - 1))); do
    check "$what: member $d in slot $d" "$d" "$(cat "$(sys $name dev-$name-$d.img/slot)")"
  done
  size=$(stat -c %s "$MNT/dev/$name")
  head -c "$size" /dev/urandom > "$T/$name.ref"
  dd if="$T/$name.ref" of="$MNT/dev/$name" bs=1M conv=fsync status=none
  cmp -s "$MNT/dev/$name" "$T/$name.ref" && pass "$what: data reads back" || fail "$what: data differs"
  # The new array's first pass ends (it rewrites the superblocks as it
  # goes), then safe mode marks them clean again shortly after the writes.
  [ "$level" = raid0 ] || [ "$level" = linear ] || settled "$name"
  eventually "$what: clean after the writes" clean cat "$(sys $name array_state)"
  for d in $(seq 0 $((disks - 1))); do
    f=$SRC/$name-$d.img
    adm --examine "$f"
    check "$what: member $d examined as mdadm does" "" "$(first_difference "$(mdadm --examine "$f" 2>&1)" "$(cat "$T/out")")"
  done
  n=$((n + 1))
done

# Members of terabytes (sparse): sizes printed in TiB as mdadm prints them.
truncate -s 3T "$SRC/big-0.img" "$SRC/big-1.img"
adm --create "$MNT/dev/md60" -l1 -n2 big-0.img big-1.img
check "3 TiB members: created" 0 "$RC"
adm --examine "$SRC/big-0.img"
check "3 TiB member examined as mdadm does" "" "$(first_difference "$(mdadm --examine "$SRC/big-0.img" 2>&1)" "$(cat "$T/out")")"
adm --detail "$MNT/dev/md60"
check "3 TiB array: detail in TiB" "3221093376 (3.00 TiB 3.30 TB)" "$(sed -n 's/^ *Array Size : //p' "$T/out")"
# Stopped: its first resync would read 3 TiB of holes for the rest of the test.
adm --stop "$MNT/dev/md60"
check "3 TiB array stopped" 0 "$RC"

# --name: the array is md_NAME and its superblocks carry the name.
truncate -s 8M "$SRC/named-0.img" "$SRC/named-1.img"
adm --create data --mount "$MNT" --name=data -l1 -n2 named-0.img named-1.img
check "--name data: created as md_data" "0 yes" "$RC $(exists md_data)"
check "--name data: superblock name" "$(hostname):data" "$(mdadm --examine "$SRC/named-0.img" | sed -n 's/^ *Name : \([^ ]*\).*/\1/p')"
# The name in the superblocks is mdadm 4.2's (init_super1), whatever DEV
# is: "homehost:name" when it fits in 31 bytes and the name has no ':',
# else the name alone, cut at 31 bytes; mdfsadm tells mdfs through
# md/set_name, and Debian's mdadm reads the same member as mdfsadm does.
sb_name() { mdadm --examine "$SRC/$1" | sed -n 's/^ *Name : //p'; }
host=$(hostname)
long=abcdefghijklmnopqrstuvwxyz0123456789
NAMES=("md90|--name=other|$host:other  (local to host $host)"
  "md91||$host:91  (local to host $host)"
  "md_dflt||$host:dflt  (local to host $host)"
  "md92|--name=x --homehost=elsewhere|elsewhere:x"
  "md93|--name=x --homehost=<none>|x"
  "md94|--name=site:x|site:x"
  "md95|--name=${long:0:$((31 - ${#host}))}|${long:0:$((31 - ${#host}))}"
  "md96|--name=${long:0:$((30 - ${#host}))}|$host:${long:0:$((30 - ${#host}))}  (local to host $host)"
  "md97|--name=${long:0:32}|${long:0:31}")
named=0
for spec in "${NAMES[@]}"; do
  IFS='|' read -r dev opts want <<<"$spec"
  truncate -s 8M "$SRC/$dev-0.img" "$SRC/$dev-1.img"
  # shellcheck disable=SC2086 # opts is words
  adm --create "$MNT/dev/$dev" $opts -l0 -n2 "$dev-0.img" "$dev-1.img"
  check "$dev ${opts:-(no --name)}: created" 0 "$RC"
  check "$dev ${opts:-(no --name)}: superblock name" "$want" "$(sb_name "$dev-0.img")"
  check "$dev: md/set_name" "${want%%  (local*}" "$(cat "$(sys "$dev" set_name)")"
  adm --examine "$SRC/$dev-1.img"
  check "$dev: examined as mdadm does" "" "$(first_difference "$(mdadm --examine "$SRC/$dev-1.img" 2>&1)" "$(cat "$T/out")")"
  named=$((named + 1))
done
check "superblock names: cases run" 9 "$named"
# The config's HOMEHOST, as mdadm reads it in every mode.
printf 'HOMEHOST confhost\n' >"$T/home.conf"
truncate -s 8M "$SRC/hc-0.img" "$SRC/hc-1.img"
adm --create "$MNT/dev/md89" --config="$T/home.conf" --name=x -l0 -n2 hc-0.img hc-1.img
check "--config with HOMEHOST: confhost:x" "0 confhost:x" "$RC $(sb_name hc-0.img)"
# mdadm's Create ignores the name for 0.90, which has no room for one.
truncate -s 8M "$SRC/n90-0.img" "$SRC/n90-1.img"
adm --create "$MNT/dev/md98" -e0.90 --name=other -l0 -n2 n90-0.img n90-1.img
check "0.90 --name: created, no name" "0 " "$RC $(cat "$(sys md98 set_name)")"
adm --examine "$SRC/n90-0.img"
check "0.90 --name: examined as mdadm does" "" "$(first_difference "$(mdadm --examine "$SRC/n90-0.img" 2>&1)" "$(cat "$T/out")")"
# set_name: only while inactive, at most the field's 32 bytes.
check "set_name on a running array: EBUSY" "Device or resource busy" "$(sysw "$(sys md90 set_name)" x)"
check "set_name kept" other "$(cat "$(sys md90 set_name)" | cut -d: -f2)"
echo md99 > "$(param new_array)"
check "set_name of 33 bytes: EINVAL" "Invalid argument" "$(sysw "$(sys md99 set_name)" "${long:0:33}")"
check "set_name of 32 bytes taken" "ok ${long:0:32}" "$(sysw "$(sys md99 set_name)" "${long:0:32}") $(cat "$(sys md99 set_name)")"
echo clear > "$(sys md99 array_state)"
# The name, not DEV, names the array at assembly: md90 comes back as
# md_other, found by --name too.
adm --stop "$MNT/dev/md90"
adm --assemble --scan --mount "$MNT" --name=other
check "assembled by --name as md_other" "0 yes no" "$RC $(exists md_other) $(exists md90)"
adm --stop "$MNT/dev/md_other"
adm --assemble "$MNT/dev/md90" --name=other "$SRC"/md9*-?.img
check "--assemble md90 --name=other among other arrays' members" "0 2" \
  "$RC $(ls -d "$MNT/sys/block/md90/md/"dev-* | wc -l)"

# missing: a degraded array from the start.
truncate -s 8M "$SRC/deg-0.img" "$SRC/deg-2.img"
adm --create "$MNT/dev/md80" -l5 -n3 -c64 deg-0.img missing deg-2.img
check "missing member: created" 0 "$RC"
check "missing member: degraded 1" 1 "$(cat "$(sys md80 degraded)")"
check "missing member: mdstat" "[3/2] [U_U]" "$(grep -A1 '^md80 ' "$MNT/proc/mdstat" | grep -o '\[3/2\] \[U_U\]')"
# On 0.90 the kernel numbers each disk by its role and marks the missing
# role's number faulty and removed (super_90_sync), as mdadm --examine shows.
truncate -s 8M "$SRC/deg90-0.img" "$SRC/deg90-2.img"
adm --create "$MNT/dev/md81" -e0.90 -l5 -n3 -c64 deg90-0.img missing deg90-2.img
check "0.90 missing member: created" 0 "$RC"
check "0.90 missing member: disk table as the kernel's" \
  "this 2 240 2 2 active sync|0 0 240 0 0 active sync|1 1 0 0 1 faulty removed|2 2 240 2 2 active sync" \
  "$(mdadm --examine "$SRC/deg90-2.img" | sed -n '/Number/,$p' | sed 1d | tr -s ' ' | sed 's/^ //; s/ $//' | grep . | paste -sd'|')"

# Wrong arguments: one line, mdadm's exit status, no array left behind.
truncate -s 8M "$SRC/x0.img" "$SRC/x1.img" "$SRC/x2.img"
truncate -s 100K "$SRC/tiny0.img" "$SRC/tiny1.img"
outside=$(mktemp /tmp/outside.XXXXXX.img); truncate -s 8M "$outside"
bad() {  # NAME STATUS ARGS...: fails with STATUS and one line, md70 not made
  local what=$1 status=$2; shift 2
  adm "$@"
  check "$what: exit $status" "$status" "$RC"
  check "$what: one line on stderr" 1 "$(wc -l < "$T/err")"
  check "$what: starts with mdfsadm:" "mdfsadm:" "$(cut -c1-8 < "$T/err")"
  check "$what: no array left" no "$(exists md70)"
}
D=$MNT/dev/md70
bad "no level" 1 --create "$D" -n2 x0.img x1.img
bad "unknown level" 2 --create "$D" -l raid7 -n2 x0.img x1.img
bad "raid devices not a number" 2 --create "$D" -l1 -n two x0.img x1.img
bad "no raid devices" 1 --create "$D" -l1 x0.img x1.img
bad "too many members" 1 --create "$D" -l1 -n2 x0.img x1.img x2.img
bad "too few members" 1 --create "$D" -l1 -n3 x0.img x1.img
bad "chunk for raid1" 1 --create "$D" -l1 -n2 -c64 x0.img x1.img
bad "bad chunk" 2 --create "$D" -l5 -n3 -c 3 x0.img x1.img x2.img
bad "unknown raid5 layout" 2 --create "$D" -l5 -n3 -p sideways x0.img x1.img x2.img
bad "unknown raid10 layout" 2 --create "$D" -l10 -n2 -p x2 x0.img x1.img
bad "layout for raid1" 2 --create "$D" -l1 -n2 -p n2 x0.img x1.img
bad "unknown metadata" 2 --create "$D" -l1 -n2 -e 2.0 x0.img x1.img
bad "no device" 2 --create
bad "member outside SOURCE" 1 --create "$D" -l1 -n2 "$outside" x1.img
check "member outside SOURCE: names the file" yes "$(grep -q "$outside" "$T/err" && echo yes)"
bad "missing member file" 1 --create "$D" -l1 -n2 nothere.img x1.img
check "missing member file: names it" yes "$(grep -q "nothere.img" "$T/err" && echo yes)"
bad "member of another array" 1 --create "$D" -l1 -n2 md0-0.img x1.img
check "member of another array: says so" yes "$(grep -q "cannot open .*md0-0.img: Device or resource busy (a member of .*md0)" "$T/err" && echo yes)"
bad "members too small for mdfs" 1 --create "$D" -l1 -n2 tiny0.img tiny1.img
adm --create "$MNT/dev/md0" -l1 -n2 x0.img x1.img
check "array already running: exit 1" 1 "$RC"
check "array already running: untouched" clean "$(cat "$(sys md0 array_state)")"
adm --create "$MNT/dev/md71" -l1 -n2 x0.img x0.img
check "member listed twice: exit 1" 1 "$RC"
adm --create "$T/elsewhere/md0" -l1 -n2 x0.img x1.img
check "DEV not under a mount: exit 1" 1 "$RC"
rm -f "$outside"

# Stopped cleanly, every member still agrees with mdadm and says clean;
# at remount the arrays come back with the same data.
unmount_mdfs
for f in "$SRC"/md*-*.img; do
  adm --examine "$f"
  check "$(basename "$f") after unmount: as mdadm" "" "$(first_difference "$(mdadm --examine "$f" 2>&1)" "$(cat "$T/out")")"
  grep -q "State : clean" "$T/out" || fail "$(basename "$f"): not clean after unmount"
done
mount_mdfs
for i in $(seq 0 $((n - 1))); do
  cmp -s "$MNT/dev/md$i" "$T/md$i.ref" && pass "md$i: same data after remount" || fail "md$i: differs after remount ($(ls "$MNT/dev" | tr '\n' ' '))"
done
unmount_mdfs
finish
