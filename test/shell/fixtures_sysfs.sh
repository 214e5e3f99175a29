#!/bin/bash
# Kernel-made arrays assembled by mdfs show the kernel's sysfs values
# (kernel-sysfs.txt of each fixture; member vdX is member-N.img) and its
# /proc/mdstat blocks and status line.
. "$(dirname "$0")/lib.sh"
requires xz python3
ATTRS="array_state level raid_disks chunk_size layout metadata_version component_size array_size resync_start degraded uuid safe_mode_delay consistency_policy sync_action reshape_position max_read_errors bitmap/location bitmap/chunksize bitmap/time_base bitmap/backlog bitmap/metadata bitmap/space bitmap/max_backlog_used"
MEMBER_ATTRS="offset size slot state errors recovery_start"
cases=$(fixture_cases) || exit 1
n=0
for case in $cases; do
  dir=$FIXTURES/$case
  rm -f "$SRC"/*
  for f in "$dir"/member-*.img.xz; do xz -dc "$f" > "$SRC/$(basename "${f%.xz}")"; done
  mount_mdfs
  name=$(ls "$MNT/dev" | head -1)
  kernel() { awk -v k="== $1" '$0 == k { getline; print; exit }' "$dir/kernel-sysfs.txt"; }
  for a in $ATTRS; do
    want=$(kernel "$a")
    # The oracle ran a check before dumping sysfs; a fresh assembly is idle.
    [ -f "$MNT/sys/block/$name/md/$a" ] || { [ -z "$want" ] || fail "$case: $a missing"; continue; }
    check "$case: $a" "$want" "$(cat "$(sys "$name" "$a")")"
  done
  i=0
  for m in "$SRC"/member-*.img; do
    vd=vd$(printf "\\x$(printf %x $((97 + i)))")
    for a in $MEMBER_ATTRS; do
      check "$case: dev-$(basename "$m")/$a" "$(kernel "dev-$vd/$a")" "$(cat "$(sys "$name" "dev-$(basename "$m")/$a")")"
    done
    i=$((i + 1))
  done
  # can_clear is "false" between a write and the bitmap daemon's next pass
  # (need_sync): the kernel had just written the fixture; mdfs has not.
  check "$case: bitmap/can_clear" "$([ "$(kernel bitmap/location)" = none ] && echo "" || echo true)" \
    "$(cat "$(sys "$name" bitmap/can_clear)")"
  # GET_ARRAY_INFO marks an internal bitmap (MD_SB_BITMAP_PRESENT, bit 8).
  state=$("$MDFS_IOCTL" "$MNT/dev/$name" GET_ARRAY_INFO | sed 's/.* state=\([0-9]*\) .*/\1/')
  check "$case: GET_ARRAY_INFO bitmap bit" "$([ "$(kernel bitmap/location)" = none ] && echo 0 || echo 1)" \
    "$(( (state >> 8) & 1 ))"
  want_status=$(sed -n 3p "$dir/kernel-mdstat.txt")
  check "$case: mdstat blocks and status" "$want_status" "$(sed -n 3p "$MNT/proc/mdstat")"
  n=$((n + 1))
  unmount_mdfs
  if [ "$case" = raid5-4-bitmap ]; then
    # The bitmap (superblock at sector 8, bitmap 8 sectors further: sector
    # 16) follows the superblock's events, so the kernel sees it current,
    # and its one chunk is not dirty after a clean unmount (bit 0; the
    # bits past the end stay as mdadm wrote them). (mdadm -X cannot read
    # plain files, so the fields are read directly.)
    m0=$(ls "$SRC"/member-*.img | head -1)
    check "$case: bitmap magic" 6269746d "$(od -An -tx1 -j 8192 -N 4 "$m0" | tr -d ' ')"
    check "$case: bitmap events follow the superblock" "$(mdadm --examine "$m0" | sed -n 's/^ *Events : //p')" \
      "$(od -An -tu8 -j $((8192 + 24)) -N 8 "$m0" | tr -d ' ')"
    check "$case: no dirty chunk after unmount" 0 "$(($(od -An -tu1 -j $((8192 + 256)) -N 1 "$m0") & 1))"
  fi
done
checked_cases "kernel-md fixtures" "$(echo "$cases" | wc -l)" "$n"
finish
