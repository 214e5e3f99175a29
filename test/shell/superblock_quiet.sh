#!/bin/bash
# A clean array that nothing changes is left as found, as the kernel leaves
# it (md_run writes the superblocks only for a change it made, and
# __md_stop_writes only for an active array or a pending change; the kernel
# oracle assembled and stopped a 0.90 linear and a 1.2 raid1 without a
# write): assembling and stopping, by mdfsadm or by mount and unmount, keeps
# every member's bytes, so a 0.90 array assembled under another minor keeps
# its preferred minor (mdadm's test 04r0update). What is a change still
# reaches the superblocks: the first write (and with it the 0.90 minor of
# the array that wrote), a check that ran, bad blocks recorded through
# sysfs.
. "$(dirname "$0")/lib.sh"
requires mdadm sha256sum
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
examine() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n "s/^ *$2 : //p"; }
sums() { (cd "$SRC" && sha256sum -- *.img); }
mount_mdfs -o assemble=none
truncate -s 20M "$SRC"/l{0,1,2}.img "$SRC"/r{0,1}.img "$SRC"/b{0,1}.img "$SRC"/p{0,1,2}.img
"$ADM" -CR "$MNT/dev/md0" -e0.90 -llinear -n3 l0.img l1.img l2.img 2>/dev/null || fail "creating md0"
"$ADM" -CR --assume-clean "$MNT/dev/md2" -l1 -n2 r0.img r1.img 2>/dev/null || fail "creating md2"
"$ADM" -CR --assume-clean "$MNT/dev/md3" -l1 -n2 --bitmap=internal b0.img b1.img 2>/dev/null || fail "creating md3"
"$ADM" -CR --assume-clean "$MNT/dev/md4" -l5 -n3 p0.img p1.img p2.img 2>/dev/null || fail "creating md4"
"$ADM" -S --scan --mount "$MNT" 2>/dev/null
cases=0

# Assembled (the 0.90 one as md1) and stopped: every member as it was.
before=$(sums)
"$ADM" -A "$MNT/dev/md1" l0.img l1.img l2.img --mount "$MNT" 2>/dev/null || fail "assembling md1"
"$ADM" -A "$MNT/dev/md2" r0.img r1.img --mount "$MNT" 2>/dev/null || fail "assembling md2"
"$ADM" -A "$MNT/dev/md4" p0.img p1.img p2.img --mount "$MNT" 2>/dev/null || fail "assembling md4"
check "assembled: the members untouched" "$before" "$(sums)"
"$ADM" -S --scan --mount "$MNT" 2>/dev/null
check "stopped: the members untouched" "$before" "$(sums)"
check "0.90 assembled as md1: preferred minor still 0" 0 "$(examine l0.img "Preferred Minor")"
cases=$((cases + 1))

# With a bitmap: the md superblocks keep their events and update time.
ev=$(examine b0.img Events) ut=$(examine b0.img "Update Time")
"$ADM" -A "$MNT/dev/md3" b0.img b1.img --mount "$MNT" 2>/dev/null || fail "assembling md3"
"$ADM" -S "$MNT/dev/md3" 2>/dev/null
check "bitmap array assembled and stopped: events, update time" "$ev $ut" \
  "$(examine b0.img Events) $(examine b0.img "Update Time")"
cases=$((cases + 1))

# Mount (auto-assembly) and unmount: the same.
before=$(sums)
unmount_mdfs
mount_mdfs
check "auto-assembled at mount" "yes yes yes" "$(exists md0) $(exists md2) $(exists md4)"
unmount_mdfs
check "mount and unmount: the members untouched" "$before" "$(sums)"
cases=$((cases + 1))

mount_mdfs -o assemble=none
# The first write is a change: the superblocks record it, and a 0.90
# superblock takes the minor of the array that wrote (super_90_sync).
"$ADM" -A "$MNT/dev/md1" l0.img l1.img l2.img --mount "$MNT" 2>/dev/null
# (Its events are back where they were: the return to clean undoes the
# switch to active's count, as md_update_sb does.)
printf x | dd of="$MNT/dev/md1" conv=notrunc status=none
"$ADM" -S "$MNT/dev/md1" 2>/dev/null
check "a write: preferred minor 1 on every member, clean" "1 1 1 clean" \
  "$(examine l0.img "Preferred Minor") $(examine l1.img "Preferred Minor") $(examine l2.img "Preferred Minor") $(examine l0.img State)"
cases=$((cases + 1))

# A check that ran leaves its superblock write for the stop at the latest
# (md_do_sync's MD_SB_CHANGE_DEVS).
"$ADM" -A "$MNT/dev/md2" r0.img r1.img --mount "$MNT" 2>/dev/null
ev=$(examine r0.img Events)
echo check > "$(sys md2 sync_action)"
"$ADM" --wait "$MNT/dev/md2" 2>/dev/null
"$ADM" -S "$MNT/dev/md2" 2>/dev/null
check "a check, then a stop: one superblock write" $((ev + 1)) "$(examine r0.img Events)"
cases=$((cases + 1))

# Bad blocks recorded through sysfs reach the log at the stop.
"$ADM" -A "$MNT/dev/md2" r0.img r1.img --mount "$MNT" 2>/dev/null
check "bad blocks recorded" ok "$(sysw "$(sys md2 dev-r1.img/bad_blocks)" "1024 8")"
"$ADM" -S "$MNT/dev/md2" 2>/dev/null
check "bad blocks in the log after the stop" "1024 for 8 sectors" \
  "$("$ADM" --examine-badblocks "$SRC/r1.img" 2>/dev/null | grep -o '[0-9]* for [0-9]* sectors')"
cases=$((cases + 1))

check "cases run" 6 "$cases"
unmount_mdfs
finish
