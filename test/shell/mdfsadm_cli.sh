#!/bin/bash
# mdfsadm reads mdadm's command line as mdadm does: combined short options
# (-CR, -Db), short options whose meaning depends on the mode (-f: --force
# when creating, --fail when managing), one mode only, a lone device meaning
# --query; mdadm's answers to what mdfs lacks; and the modes beyond create
# and assemble: --build, --query, --zero-superblock, --wait-clean,
# --add-spare, --write-mostly, --failfast, --detail --export/--brief
# -v/--no-devices.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/c{0,1,2,3,4}.img
D=$MNT/dev/md0

# -CR, -l5 attached, -f meaning --force when creating (one member).
adm -CR --assume-clean "$D" -l5 -n3 -c64 c0.img c1.img c2.img
check "-CR creates and runs" "0 mdfsadm: array $D started." "$RC $(cat "$T/err")"
adm -Db "$D"
check "-Db: one ARRAY line" "ARRAY $D metadata=1.2" "$(cut -d' ' -f1-3 "$T/out")"
adm -Dbv "$D"
check "-Dbv: level=, num-devices=, then devices=" \
  "ARRAY $D level=raid5 num-devices=3 metadata=1.2|   devices=$SRC/c0.img,$SRC/c1.img,$SRC/c2.img" \
  "$(cut -d' ' -f1-5 "$T/out" | paste -sd'|')"
adm --detail --export "$D"
check "--detail --export: mdadm's keys" \
  "MD_LEVEL=raid5 MD_DEVICES=3 MD_METADATA=1.2 MD_UUID MD_NAME MD_DEVICE_dev_c2_img_ROLE=2 MD_DEVICE_dev_c2_img_DEV=$SRC/c2.img MD_DEVICE_dev_c1_img_ROLE=1 MD_DEVICE_dev_c1_img_DEV=$SRC/c1.img MD_DEVICE_dev_c0_img_ROLE=0 MD_DEVICE_dev_c0_img_DEV=$SRC/c0.img" \
  "$(sed 's/^\(MD_UUID\|MD_NAME\)=.*/\1/' "$T/out" | paste -sd' ')"
adm --detail --no-devices "$D"
check "--no-devices: no member table" "0 0" "$RC $(grep -c 'RaidDevice' "$T/out")"
adm "$D"
check "a lone device: --query" "0 $D: 30.00MiB raid5 3 devices, 0 spares. Use mdadm --detail for more detail." \
  "$RC $(cat "$T/out")"
adm -Q "$SRC/c1.img"
check "--query of a member: what it is, which array" \
  "$SRC/c1.img: is not an md array|$SRC/c1.img: device 1 in 3 device active raid5 $D.  Use mdadm --examine for more detail." \
  "$(paste -sd'|' "$T/out")"
adm --wait-clean "$D"
check "--wait-clean: native metadata, nothing to wait for" 0 "$RC"
adm --wait-clean "$MNT/dev/md9"
check "--wait-clean of no array: 2" 2 "$RC"

# Manage mode: -f is --fail; --add-spare; --write-mostly for what follows;
# a mode after a mode is refused.
adm "$D" -f c2.img -r c2.img
check "-f then -r in manage mode" "0 mdfsadm: set $SRC/c2.img faulty in $D|mdfsadm: hot removed $SRC/c2.img from $D" \
  "$RC $(paste -sd'|' "$T/err")"
adm "$D" --add-spare --write-mostly c3.img
check "--add-spare: added (never re-added)" "0 mdfsadm: added $SRC/c3.img" "$RC $(cat "$T/err")"
check "--write-mostly: the member is write-mostly" yes \
  "$(grep -q write_mostly "$MNT/sys/block/md0/md/dev-c3.img/state" && echo yes)"
"$ADM" --wait "$D" 2>/dev/null
adm --detail "$D" --create
check "a second mode: exit 2, mdadm's words" "2 mdfsadm: --create would set mdadm mode to \"create\", but it is already set to \"misc\"." \
  "$RC $(cat "$T/err")"
adm --level=5 "$D"
check "an option that sets no mode first: exit 2" 2 "$RC"
adm "$D" "$MNT/dev/md1"
check "two devices and no mode: exit 2" 2 "$RC"
adm --detail --scan --chunk=64 "$D"
check "an option not valid in the mode: exit 2" "2 mdfsadm: :option --chunk not valid in misc mode" "$RC $(cat "$T/err")"

# What mdfs lacks: answered in one line, exit 1 (yet) or 2 (never).
adm "$D" --re-add c2.img
check "--re-add of a member of no array: not possible, exit 1" 1 "$RC"
grep -q "^mdfsadm: --re-add for $SRC/c2.img to $D is not possible" "$T/err" && pass "--re-add: mdadm's answer" || fail "--re-add: $(cat "$T/err")"
adm --grow "$D" --raid-devices=4
check "--grow --raid-devices: not supported by mdfs yet, exit 1" 1 "$RC"
adm -CR "$MNT/dev/md1" -e imsm -l1 -n2 c3.img c4.img
check "imsm metadata: not supported by mdfs, exit 2" 2 "$RC"
adm --detail-platform
check "--detail-platform: not supported by mdfs, exit 2" 2 "$RC"
adm -CR "$MNT/dev/md1" --bitmap=/tmp/bitmap-file -l1 -n2 c3.img c4.img
check "--bitmap=FILE: refused, exit 1, nothing made" "1 no" "$RC $(exists md1)"
adm -A "$D" --update=sparc2.2 c0.img
check "--assemble --update=sparc2.2: not supported by mdfs, exit 1" 1 "$RC"
grep -q "^mdfsadm: not supported by mdfs: --update=sparc2.2" "$T/err" && pass "--update: the answer" || fail "--update: $(cat "$T/err")"
adm -A "$D" --update=sideways c0.img
check "--update=sideways: mdadm's usage error, exit 2" "2 mdfsadm: '--update=sideways' is invalid.  Valid --update options are:" \
  "$RC $(head -1 "$T/err")"
adm -A --update=?
check "--update=?: the list on stdout, exit 0" "0 mdfsadm: Valid --update options are:" "$RC $(head -1 "$T/out")"
adm --stop "$D"
"$ADM" --zero-superblock "$SRC/c2.img" "$SRC/c3.img" 2>/dev/null

# --zero-superblock: where mdadm writes zeros; a member of a running array
# is refused; a file without one says so (exit 0, as mdadm).
adm -CR "$MNT/dev/md1" -l1 -n2 c3.img c4.img
adm --zero-superblock "$SRC/c3.img"
check "--zero-superblock of a running member: exit 2" 2 "$RC"
adm --stop "$MNT/dev/md1"
adm --zero-superblock "$SRC/c3.img" "$SRC/c4.img"
check "--zero-superblock: exit 0, quiet" "0 " "$RC $(cat "$T/err")"
nonzero() { tail -c +4097 "$1" | head -c 512 | tr -d '\000' | wc -c; }
check "--zero-superblock: the 1.2 superblocks are zeros" "0 0" "$(nonzero "$SRC/c3.img") $(nonzero "$SRC/c4.img")"
adm --examine "$SRC/c3.img"
check "then no superblock" 1 "$RC"
adm --zero-superblock "$SRC/c3.img"
check "nothing to zero: mdadm's line, exit 0" "0 mdfsadm: Unrecognised md component device - $SRC/c3.img" "$RC $(cat "$T/err")"

# --build: no superblocks, members in their slots, the data reads back.
adm -B "$MNT/dev/md2" -l0 -n2 c3.img c4.img
check "--build raid0: started, 64 KiB chunk, no superblock" "0 65536 none" \
  "$RC $(cat "$MNT/sys/block/md2/md/chunk_size") $(cat "$MNT/sys/block/md2/md/metadata_version")"
head -c 1M /dev/urandom > "$T/ref"
dd if="$T/ref" of="$MNT/dev/md2" bs=1M conv=notrunc,fsync status=none
adm --examine "$SRC/c3.img"
check "--build wrote no superblock" 1 "$RC"
adm --stop "$MNT/dev/md2"
adm -B "$MNT/dev/md2" -l0 -n2 c3.img c4.img
cmp -s <(head -c 1M "$MNT/dev/md2") "$T/ref" && pass "--build again: same data" || fail "--build again: data differs"
adm -B "$MNT/dev/md3" -l5 -n2 c0.img c1.img
check "--build raid5: refused, exit 2" 2 "$RC"
adm --stop "$MNT/dev/md2"

# --failfast: the members that follow fail fast (their state, --detail).
"$ADM" --zero-superblock "$SRC/c3.img" "$SRC/c4.img" 2>/dev/null
adm -CR "$MNT/dev/md4" -l1 -n2 c3.img --failfast c4.img
check "--failfast at create: only the member after it" "in_sync in_sync,failfast" \
  "$(cat "$MNT/sys/block/md4/md/dev-c3.img/state") $(cat "$MNT/sys/block/md4/md/dev-c4.img/state")"
adm --detail "$MNT/dev/md4"
check "--detail: failfast" 1 "$(grep -c 'active sync failfast' "$T/out")"
adm --stop "$MNT/dev/md4"
unmount_mdfs
finish
