#!/bin/bash
# Arrays of every level built through sysfs as mdadm does (metadata_version,
# level, raid_disks, chunk_size, layout, new_dev, slot, array_state), on
# blank member files: random writes at random offsets and sizes read back
# with cmp, again after a remount; mdadm --examine agrees with mdfs.
. "$(dirname "$0")/lib.sh"
requires mdadm cmp
LEVELS=${LEVELS:-"linear:2:0 raid0:3:0 raid1:2:0 raid1:3:0 raid10:4:258 raid10:4:513 raid10:4:66049 raid10:3:258"}
META=${META:-1.2}
mount_mdfs -o assemble=none

# random_writes DEV REF COUNT: the same dd writes to the array and a reference file.
random_writes() {
  local dev=$1 ref=$2 size
  size=$(stat -c %s "$ref")
  for _ in $(seq "$3"); do
    local len=$(( (RANDOM * 32768 + RANDOM) % 200000 + 1 ))
    local off=$(( (RANDOM * 32768 + RANDOM) % (size - len) ))
    head -c "$len" /dev/urandom > "$T/chunk"
    dd if="$T/chunk" of="$dev" bs=1 seek="$off" conv=notrunc,fsync oflag=seek_bytes bs=65536 status=none 2>&1
    dd if="$T/chunk" of="$ref" bs=1 seek="$off" conv=notrunc oflag=seek_bytes bs=65536 status=none
  done
}

n=0
for spec in $LEVELS; do
  IFS=: read -r level disks layout <<<"$spec"
  n=$((n + 1))
  name=md$n
  sysw "$(param new_array)" $name >/dev/null
  check "$level/$layout: metadata_version" ok "$(sysw "$(sys $name metadata_version)" $META)"
  check "$level/$layout: level" ok "$(sysw "$(sys $name level)" $level)"
  check "$level/$layout: raid_disks" ok "$(sysw "$(sys $name raid_disks)" $disks)"
  check "$level/$layout: chunk_size" ok "$(sysw "$(sys $name chunk_size)" 65536)"
  check "$level/$layout: layout" ok "$(sysw "$(sys $name layout)" $layout)"
  # Blank members are consistent: no resync (a new array owes one otherwise).
  check "$level/$layout: resync_start none" ok "$(sysw "$(sys $name resync_start)" none)"
  for d in $(seq 0 $((disks - 1))); do
    truncate -s 8M "$SRC/$name-$d.img"
    check "$level/$layout: new_dev $d" ok "$(sysw "$(sys $name new_dev)" $name-$d.img)"
    check "$level/$layout: slot $d" ok "$(sysw "$(sys $name dev-$name-$d.img/slot)" $d)"
  done
  check "$level/$layout: start" ok "$(sysw "$(sys $name array_state)" active)"
  check "$level/$layout: clean after start" clean "$(cat "$(sys $name array_state)")"
  size=$(stat -c %s "$MNT/dev/$name")
  [ "$size" -gt 0 ] && pass "$level/$layout: size $size" || fail "$level/$layout: size 0"
  check "$level/$layout: sys size" $((size / 512)) "$(cat "$MNT/sys/block/$name/size")"
  grep -q "^$name : active $level" "$MNT/proc/mdstat" && pass "$level/$layout: in mdstat" || fail "$level/$layout: mdstat: $(cat "$MNT/proc/mdstat")"
  head -c "$size" /dev/zero > "$T/$name.ref"
  random_writes "$MNT/dev/$name" "$T/$name.ref" 25
  cmp "$MNT/dev/$name" "$T/$name.ref" && pass "$level/$layout: random writes read back" || fail "$level/$layout: contents differ"
  # mdadm reads the superblocks mdfs wrote and sees the same array.
  ex=$(mdadm --examine "$SRC/$name-0.img" 2>&1)
  check "$level/$layout: mdadm sees the level" "$level" "$(echo "$ex" | sed -n 's/^ *Raid Level : //p')"
  check "$level/$layout: mdadm sees the members" "$disks" "$(echo "$ex" | sed -n 's/^ *Raid Devices : //p')"
  uuid=$(cat "$(sys $name uuid)" | tr -d '-')
  # 0.90 keeps the uuid as four host-order words: mdadm prints the words,
  # sysfs the bytes (as the kernel fixture raid1-2-meta0.90 shows).
  [ "$META" = 0.90 ] && uuid=$(echo "$uuid" | sed 's/\(..\)\(..\)\(..\)\(..\)/\4\3\2\1/g')
  check "$level/$layout: mdadm sees the uuid" "$uuid" "$(echo "$ex" | sed -n 's/^ *\(Array \)\?UUID : \([0-9a-f:]*\).*/\2/p' | tr -d ':')"
  check "$level/$layout: checksum correct" "correct" "$(echo "$ex" | sed -n 's/^ *Checksum : [0-9a-f]* - //p')"
done
# Stop cleanly, remount: every array assembles from its superblocks and reads the same.
unmount_mdfs
for f in "$SRC"/*.img; do
  mdadm --examine "$f" 2>/dev/null | grep -q "State : clean" || fail "$(basename "$f") not clean after unmount"
done
mount_mdfs
n=0
for spec in $LEVELS; do
  IFS=: read -r level disks layout <<<"$spec"
  n=$((n + 1))
  got=$(ls "$MNT/dev" | tr '\n' ' ')
  name=md$n
  [ -e "$MNT/dev/$name" ] || { fail "$level/$layout: not assembled at remount (dev: $got)"; continue; }
  cmp "$MNT/dev/$name" "$T/$name.ref" && pass "$level/$layout: same after remount" || fail "$level/$layout: differs after remount"
done
unmount_mdfs
finish
