#!/bin/bash
# A raid5 member failed and removed, the array written while degraded:
# mdfsadm --re-add puts it back in its slot and recovers only the chunks
# the bitmap kept dirty (a parity chunk damaged on it meanwhile, in a clean
# stripe, is still wrong after the recovery: a check counts its 16
# sectors), and the array then reads what was written, from that member
# too. A member too old for the bitmap (re-created since it left) cannot be
# re-added (mdadm's error, nothing changed); --add rebuilds it in full.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
md() { cat "$(sys md_b "$1")"; }
wait_idle() { for _ in $(seq 600); do [ "$(md sync_action)" = idle ] && return; sleep 0.1; done; fail "$1: never idle"; }
# Member sector offset of the array's 64 KiB chunk row `s` on a member.
row() { echo $(( (2048 + $1 * 128) * 512 )); }
damage() { dd if=/dev/urandom of="$SRC/$1" bs=4k seek=$(( $(row "$2") / 4096 )) count=2 conv=notrunc status=none; }
# xfield MEMBER FIELD: a field of mdfsadm -X (Events, Events Cleared, dirty).
xfield() {
  case $2 in
    dirty) "$ADM" -X "$SRC/$1" | sed -n 's/.*(chunks), \([0-9]*\) dirty.*/\1/p' ;;
    *) "$ADM" -X "$SRC/$1" | sed -n "s/^ *$2 : //p" ;;
  esac
}
clean_soon() {
  sysw "$(sys md_b bitmap/time_base)" 0.1 >/dev/null
  eventually "$1: the daemon clears every chunk" "      bitmap: 0/1 pages [0KB], 64KB chunk" grep bitmap: "$MNT/proc/mdstat"
  sleep 0.5   # and its last pass writes them out
}

mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/m{0,1,2,3}.img "$SRC/new.img"
"$ADM" --create "$MNT/dev/md_b" -l5 -n4 -c64 --bitmap=internal --bitmap-chunk=64K m{0,1,2,3}.img 2>/dev/null
size=$(stat -c %s "$MNT/dev/md_b")
head -c "$size" /dev/urandom > "$T/expect"
dd if="$T/expect" of="$MNT/dev/md_b" bs=1M conv=notrunc,fsync status=none
clean_soon "filled"

# Part 1: a re-add through the bitmap.
cleared=$(xfield m0.img "Events Cleared")
check "whole and written: events_cleared is the array's events" "$(xfield m0.img Events)" "$cleared"
"$ADM" "$MNT/dev/md_b" --fail m1.img --remove m1.img 2>/dev/null
check "m1 failed and removed" 1 "$(md degraded)"
head -c 300K /dev/urandom > "$T/new"
dd if="$T/new" of="$MNT/dev/md_b" bs=100K seek=25 conv=notrunc,fsync status=none
dd if="$T/new" of="$T/expect" bs=100K seek=25 conv=notrunc status=none
sleep 1   # ten daemon passes at 0.1 s
check "degraded: the written chunks stay dirty" "      bitmap: 1/1 pages [4KB], 64KB chunk" "$(grep bitmap: "$MNT/proc/mdstat")"
# 300 KiB at 2500 KiB, with 192 KiB stripes (3 data chunks of 64 KiB):
# stripes 13 and 14, which are bitmap chunks 13 and 14 (member sectors).
check "degraded: the two written chunks dirty on the members that stayed" "2 2" \
  "$(xfield m0.img dirty) $(xfield m3.img dirty)"
check "degraded: events_cleared does not advance" "$cleared" "$(xfield m0.img "Events Cleared")"
[ "$(xfield m0.img Events)" -gt "$cleared" ] && pass "degraded: events moved on past it" || fail "events did not move"
# Stripe 50 keeps its parity on m1 (left-symmetric, 4 members): damaged
# there, in a chunk nothing wrote since m1 left.
damage m1.img 50
"$ADM" "$MNT/dev/md_b" --re-add m1.img 2>"$T/err"
check "--re-add: exit 0" 0 $?
check "--re-add says so" "mdfsadm: re-added $SRC/m1.img" "$(cat "$T/err")"
check "back in its slot" 1 "$(md dev-m1.img/slot)"
wait_idle "recovery"
check "recovered" "0 in_sync" "$(md degraded) $(md dev-m1.img/state)"
# As the kernel after a re-add: the counters drop to 0, the bits follow on
# the members a daemon pass later, and events_cleared stays where it was
# until the next write to the whole array.
eventually "after the recovery: no counter left" "      bitmap: 0/1 pages [0KB], 64KB chunk" grep bitmap: "$MNT/proc/mdstat"
both_dirty() { echo "$(xfield m0.img dirty) $(xfield m1.img dirty)"; }
eventually "after the recovery: no dirty bit on the members" "0 0" both_dirty
check "after the recovery: events_cleared still the old one" "$cleared $cleared" \
  "$(xfield m0.img "Events Cleared") $(xfield m1.img "Events Cleared")"
dd if="$T/expect" of="$MNT/dev/md_b" bs=4k count=1 conv=notrunc,fsync status=none
caught_up() { [ "$(xfield m1.img "Events Cleared")" = "$(xfield m1.img Events)" ] && echo yes || echo no; }
eventually "the next write moves events_cleared up to the array's events" yes caught_up
sysw "$(sys md_b sync_action)" check >/dev/null
wait_idle "check"
check "check: only the damaged clean parity (16 sectors)" 16 "$(md mismatch_cnt)"
sysw "$(sys md_b sync_action)" repair >/dev/null
wait_idle "repair"
cmp "$MNT/dev/md_b" "$T/expect" && pass "the array reads what was written" || fail "the array's content differs"
"$ADM" --stop "$MNT/dev/md_b" 2>/dev/null
"$ADM" --assemble --run --readonly "$MNT/dev/md_b" m1.img m2.img m3.img 2>/dev/null
check "assembled without m0" 1 "$(md degraded)"
cmp "$MNT/dev/md_b" "$T/expect" && pass "m1 holds what was written while it was away" || fail "m1's content differs"
"$ADM" --stop "$MNT/dev/md_b" 2>/dev/null
"$ADM" --assemble "$MNT/dev/md_b" m{0,1,2,3}.img 2>/dev/null
check "assembled whole again" 0 "$(md degraded)"

# Part 2: a member older than the bitmap gets a full recovery.
"$ADM" "$MNT/dev/md_b" --fail m2.img --remove m2.img 2>/dev/null
dd if="$T/new" of="$MNT/dev/md_b" bs=100K seek=40 conv=notrunc,fsync status=none
dd if="$T/new" of="$T/expect" bs=100K seek=40 conv=notrunc status=none
"$ADM" --grow "$MNT/dev/md_b" --bitmap=none 2>/dev/null
check "bitmap removed" none "$(md bitmap/location)"
"$ADM" --grow "$MNT/dev/md_b" --bitmap=internal --bitmap-chunk=64K 2>/dev/null
check "bitmap added again" "+8" "$(md bitmap/location)"
damage m2.img 49   # stripe 49's parity lives on m2
"$ADM" "$MNT/dev/md_b" --re-add m2.img 2>"$T/err"
check "--re-add of a member too old: exit 1" 1 $?
check "--re-add refused as mdadm refuses it" "mdfsadm: --re-add for $SRC/m2.img to $MNT/dev/md_b is not possible" "$(cat "$T/err")"
check "nothing changed" "1 no" "$(md degraded) $([ -e "$(sys md_b dev-m2.img)" ] && echo yes || echo no)"
"$ADM" "$MNT/dev/md_b" --add m2.img 2>"$T/err"
check "--add: added, as a new member" "mdfsadm: added $SRC/m2.img" "$(cat "$T/err")"
wait_idle "full recovery"
check "recovered" "0 in_sync" "$(md degraded) $(md dev-m2.img/state)"
sysw "$(sys md_b sync_action)" check >/dev/null
wait_idle "check"
check "check after a full recovery: 0" 0 "$(md mismatch_cnt)"
cmp "$MNT/dev/md_b" "$T/expect" && pass "the array reads what was written" || fail "the array's content differs"
unmount_mdfs
finish
