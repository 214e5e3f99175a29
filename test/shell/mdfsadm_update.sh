#!/bin/bash
# mdfsadm --assemble --update=WHAT: mdadm 4.2's superblock updates, written
# before the array starts and read back by Debian's mdadm --examine (so the
# superblocks are valid, checksums included) and by the running array.
. "$(dirname "$0")/lib.sh"
requires mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
D=$MNT/dev/md_u
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
field() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n "s/^ *$2 : //p"; }
ran=0

truncate -s 32M "$SRC"/u{0,1}.img
"$ADM" -CR --assume-clean "$D" -l1 -n2 --bitmap=internal u0.img u1.img 2>/dev/null
old_uuid=$(field u0.img "Array UUID")
"$ADM" -S "$D" 2>/dev/null

# uuid: every member and the bitmap's superblock get the new one.
new=01234567:89abcdef:01234567:89abcdef
adm -A "$D" --update=uuid --uuid=$new u0.img u1.img
check "--update=uuid: assembled" "0 clean" "$RC $(cat "$(sys md_u array_state)" 2>/dev/null)"
check "--update=uuid: both members and the running array" "$new $new $new" \
  "$(field u0.img "Array UUID") $(field u1.img "Array UUID") $("$ADM" -D --export "$D" | sed -n 's/^MD_UUID=//p')"
check "--update=uuid: the bitmap's uuid too" "$new" "$("$ADM" -X "$SRC/u0.img" 2>/dev/null | sed -n 's/^ *UUID : //p')"
"$ADM" -S "$D" 2>/dev/null
ran=$((ran + 1))

# name: the host's name and the new one.
adm -A "$D" --update=name --name=renamed u0.img u1.img
check "--update=name: assembled" 0 "$RC"
check "--update=name: host:renamed on both" "$(hostname):renamed $(hostname):renamed" \
  "$(field u0.img Name | cut -d' ' -f1) $(field u1.img Name | cut -d' ' -f1)"
"$ADM" -S "$D" 2>/dev/null
ran=$((ran + 1))

# resync: a full resync at the start, which clears the bitmap of it.
adm -A "$D" --update=resync u0.img u1.img
"$ADM" --wait "$D" 2>/dev/null
check "--update=resync: one resync ran" 1 "$(grep -c "md: resync of RAID array md_u$" "$T/mdfs.log")"
"$ADM" -S "$D" 2>/dev/null
check "--update=resync: clean after it" "clean clean" "$(field u0.img State) $(field u1.img State)"
ran=$((ran + 1))

# no-bbl and bbl: the bad block log removed, then put back where mdadm puts it.
log_of() { mdadm --examine "$SRC/$1" 2>/dev/null | grep -c "Bad Block Log"; }
check "a new member has a bad block log" 1 "$(log_of u0.img)"
adm -A "$D" --update=no-bbl u0.img u1.img
"$ADM" -S "$D" 2>/dev/null
check "--update=no-bbl: no log" "0 0" "$(log_of u0.img) $(log_of u1.img)"
adm -A "$D" --update=bbl u0.img u1.img
check "--update=bbl: assembled" 0 "$RC"
"$ADM" -S "$D" 2>/dev/null
check "--update=bbl: the log is back" "1 1" "$(log_of u0.img) $(log_of u1.img)"
ran=$((ran + 1))

# devicesize: members that grew offer their new size.
before=$(field u0.img "Avail Dev Size" | cut -d' ' -f1)
truncate -s 48M "$SRC"/u{0,1}.img
adm -A "$D" --update=devicesize u0.img u1.img
"$ADM" -S "$D" 2>/dev/null
after=$(field u0.img "Avail Dev Size" | cut -d' ' -f1)
check "--update=devicesize: 16 MiB more available" $((before + 32768)) "$after"
ran=$((ran + 1))

# Refused: a raid0-only update on a mirror (nothing written), and a 0.90
# uuid without --uuid (mdadm hashes the host name into it).
sum=$(sha256sum <"$SRC/u0.img")
adm -A "$D" --update=layout-original u0.img u1.img
check "--update=layout-original on raid1: exit 1, mdadm's words" \
  "1 mdfsadm: $SRC/u0.img: layout-original only supported for RAID0|mdfsadm: --update=layout-original not understood for 1.2 metadata" \
  "$RC $(paste -sd'|' "$T/err")"
check "nothing written, no array" "$sum no" "$(sha256sum <"$SRC/u0.img") $(exists md_u)"
truncate -s 16M "$SRC"/z{0,1}.img
"$ADM" -CR --assume-clean "$MNT/dev/md3" -e0.90 -l1 -n2 z0.img z1.img 2>/dev/null
"$ADM" -S "$MNT/dev/md3" 2>/dev/null
adm -A "$MNT/dev/md3" --update=uuid z0.img z1.img
check "0.90 --update=uuid without --uuid: exit 1" 1 "$RC"
adm -A "$MNT/dev/md7" --update=super-minor z0.img z1.img
check "0.90 --update=super-minor: assembled as md7" 0 "$RC"
"$ADM" -S "$MNT/dev/md7" 2>/dev/null
check "0.90 --update=super-minor: Preferred Minor 7" "7 7" "$(field z0.img "Preferred Minor") $(field z1.img "Preferred Minor")"
adm -A "$MNT/dev/md7" --update=uuid --uuid=$new z0.img z1.img
"$ADM" -S "$MNT/dev/md7" 2>/dev/null
check "0.90 --update=uuid --uuid: mdadm reads it" "$new" "$(field z0.img UUID)"
ran=$((ran + 1))

# metadata: clean 0.90 members without a bitmap become 1.0 (super1_make_v0):
# same uuid as mdadm shows it, the preferred minor as name, ctime one
# second on, events from 0, every role kept; the data stays where it was.
# The 0.90 superblock is left behind, as mdadm leaves it; the 1.0 one wins
# by its later ctime, for Debian's mdadm, mdfsadm and mdfs's own start.
SB_EDIT=$(cd "$(dirname "$0")/../.." && pwd)/tools/sb-edit
convert() {  # convert LEVEL FILES...: a 0.90 array md4 made, filled, stopped
  local level=$1
  shift
  rm -f "$SRC"/m*.img
  truncate -s 20M "${@/#/$SRC/}"
  local chunk=(-c64)
  [ "$level" = raid1 ] && chunk=()
  "$ADM" -CR --assume-clean "$MNT/dev/md4" -e0.90 -l"$level" -n$# "${chunk[@]}" "$@" 2>/dev/null ||
    fail "creating 0.90 $level"
  head -c 4M /dev/urandom >"$T/data"
  dd if="$T/data" of="$MNT/dev/md4" bs=1M conv=notrunc,fsync status=none
  "$ADM" -S "$MNT/dev/md4" 2>/dev/null
}
for level in raid5 raid0 linear raid1; do
  convert $level m0.img m1.img m2.img
  # mdadm copies the 0.90 uuid's words as they are in memory: on this
  # little-endian machine each word's bytes come out reversed in 1.0's
  # byte-wise uuid.
  uuid=$(field m0.img UUID | tr : '\n' | sed -E 's/(..)(..)(..)(..)/\4\3\2\1/' | paste -sd:)
  ctime=$(date -d "$(field m0.img "Creation Time")" +%s)
  adm -A "$MNT/dev/md4" --update=metadata m0.img m1.img m2.img
  check "$level --update=metadata: assembled as 1.0" "0 1.0" "$RC $(cat "$(sys md4 metadata_version)")"
  cmp -s <(head -c 4M "$MNT/dev/md4") "$T/data" && pass "$level 1.0: same data" || fail "$level 1.0: data differs"
  "$ADM" -S "$MNT/dev/md4" 2>/dev/null
  for f in m0.img m1.img m2.img; do
    adm --examine "$SRC/$f"
    check "$level $f: examined as mdadm does" "" "$(diff <(mdadm --examine "$SRC/$f" 2>&1) "$T/out" | head -2)"
  done
  check "$level: 1.0, uuid kept, name 4, ctime +1, clean" "1.0 $uuid 4 $((ctime + 1)) clean" \
    "$(field m0.img Version) $(field m0.img "Array UUID") $(field m0.img Name) \
$(date -d "$(field m0.img "Creation Time")" +%s) $(field m0.img State)"
  check "$level: the roles kept" "Active device 0 Active device 1 Active device 2" \
    "$(field m0.img "Device Role") $(field m1.img "Device Role") $(field m2.img "Device Role")"
  check "$level: the 0.90 superblock left in place" "90" "$("$SB_EDIT" --minor 90 "$SRC/m1.img" minor_version 2>&1)"
  ran=$((ran + 1))
done
# The array comes back at mount as 1.0 with the same data.
unmount_mdfs
mount_mdfs
check "converted raid1: assembled at mount as 1.0" "1.0" "$(cat "$(sys md_4 metadata_version)" 2>/dev/null || cat "$(sys md4 metadata_version)")"
unmount_mdfs
mount_mdfs -o assemble=none
# Refused, nothing written: 1.x members, a bitmap, an unclean array.
convert raid1 m0.img m1.img
adm -A "$MNT/dev/md4" --update=metadata "$SRC"/u0.img "$SRC"/u1.img
check "1.2 --update=metadata: exit 1, not understood" "1 mdfsadm: --update=metadata not understood for 1.2 metadata" \
  "$RC $(cat "$T/err")"
# Only the second member unclean: the first is not converted either.
"$SB_EDIT" --minor 90 "$SRC/m1.img" state=0 >/dev/null || fail "sb-edit state=0"
sum=$(cat "$SRC"/m*.img | sha256sum)
adm -A "$MNT/dev/md4" --update=metadata m0.img m1.img
check "unclean 0.90 --update=metadata: refused as mdadm, nothing written, no array" \
  "1 mdfsadm: Cannot update metadata on unclean array $sum no" "$RC $(cat "$T/err") $(cat "$SRC"/m*.img | sha256sum) $(exists md4)"
rm -f "$SRC"/m*.img
truncate -s 20M "$SRC"/m{0,1}.img
"$ADM" -CR --assume-clean "$MNT/dev/md4" -e0.90 -l1 -n2 --bitmap=internal m0.img m1.img 2>/dev/null
"$ADM" -S "$MNT/dev/md4" 2>/dev/null
sum=$(cat "$SRC"/m*.img | sha256sum)
adm -A "$MNT/dev/md4" --update=metadata m0.img m1.img
check "0.90 with a bitmap --update=metadata: refused as mdadm, nothing written" \
  "1 mdfsadm: Cannot update metadata when bitmap is present $sum" "$RC $(cat "$T/err") $(cat "$SRC"/m*.img | sha256sum)"
ran=$((ran + 1))

check "cases run" 11 "$ran"
unmount_mdfs
finish
