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

check "cases run" 6 "$ran"
unmount_mdfs
finish
