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
"$ADM" "$MNT/dev/md_b" --fail m1.img --remove m1.img 2>/dev/null
check "m1 failed and removed" 1 "$(md degraded)"
head -c 300K /dev/urandom > "$T/new"
dd if="$T/new" of="$MNT/dev/md_b" bs=100K seek=25 conv=notrunc,fsync status=none
dd if="$T/new" of="$T/expect" bs=100K seek=25 conv=notrunc status=none
sleep 1   # ten daemon passes at 0.1 s
check "degraded: the written chunks stay dirty" "      bitmap: 1/1 pages [4KB], 64KB chunk" "$(grep bitmap: "$MNT/proc/mdstat")"
# Stripe 50 keeps its parity on m1 (left-symmetric, 4 members): damaged
# there, in a chunk nothing wrote since m1 left.
damage m1.img 50
"$ADM" "$MNT/dev/md_b" --re-add m1.img 2>"$T/err"
check "--re-add: exit 0" 0 $?
check "--re-add says so" "mdfsadm: re-added $SRC/m1.img" "$(cat "$T/err")"
check "back in its slot" 1 "$(md dev-m1.img/slot)"
wait_idle "recovery"
check "recovered" "0 in_sync" "$(md degraded) $(md dev-m1.img/state)"
sysw "$(sys md_b sync_action)" check >/dev/null
wait_idle "check"
check "check: only the damaged clean parity (16 sectors)" 16 "$(md mismatch_cnt)"
sysw "$(sys md_b sync_action)" repair >/dev/null
wait_idle "repair"
cmp "$MNT/dev/md_b" "$T/expect" && pass "the array reads what was written" || fail "the array's content differs"
"$ADM" --stop "$MNT/dev/md_b" 2>/dev/null
"$ADM" --assemble --readonly "$MNT/dev/md_b" m1.img m2.img m3.img 2>/dev/null
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
