#!/bin/bash
# Replacements as md runs them. The kernel's array caught half-way through
# a replacement (raid5-replacing) assembles with the replacement in its
# role, shown as the kernel shows it, reads the kernel's content, then
# resumes from its recovery offset and takes over: the member it replaced
# turns faulty and leaves the role. Without that member, the replacement
# stands in the role alone. On arrays mdfs made: want_replacement takes a
# spare, a spare's slot picks it (mdadm --replace --with), writes made
# during the replacement reach the replacement, and a member that fails
# while replaced leaves its replacement to be rebuilt in its place.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum mdadm
STATES=${FIXTURES_STATES:-$(dirname "$FIXTURES")/kernel-md-states}
FIX=$STATES/raid5-replacing
[ -f "$FIX/manifest.json" ] || { fail "no fixture $FIX"; finish; }
manifest() { python3 -c "import json,sys; m=json.load(open('$FIX/manifest.json')); print(eval(sys.argv[1]))" "$1"; }
want_sha=$(manifest "m['sha256']")
md() { cat "$(sys $1 $2)"; }
sha() { sha256sum < "$MNT/dev/$1" | cut -d' ' -f1; }
# wait_idle ARRAY: until no pass runs (at most 30 s).
wait_idle() {
  for _ in $(seq 300); do [ "$(md $1 sync_action)" = idle ] && return 0; sleep 0.1; done
  fail "$1 still busy: $(md $1 sync_action)"
}
# assemble NAME FILE...: as mdadm --assemble --readonly does through sysfs.
assemble_ro() {
  local name=$1 f
  shift
  echo "$name" > "$(param new_array)"
  echo 1.2 > "$(sys $name metadata_version)"
  for f in "$@"; do echo "$f" > "$(sys $name new_dev)"; done
  echo readonly > "$(sys $name array_state)"
}

for n in 0 1 2 3 4; do xz -dc "$FIX/member-$n.img.xz" > "$SRC/m$n.img"; done
mount_mdfs -o assemble=none
assemble_ro md_oracle m0.img m1.img m2.img m3.img m4.img
A=md_oracle
check "read-only assembly" readonly "$(md $A array_state)"
# kernel-sysfs.txt names member-N /dev/vd<a+N>.
n=0
for dev in vda vdb vdc vdd vde; do
  for attr in state slot recovery_start; do
    check "m$n $attr as the kernel's" "$(sed -n "s/^dev-$dev\/$attr: //p" "$FIX/kernel-sysfs.txt")" "$(md $A dev-m$n.img/$attr)"
  done
  n=$((n + 1))
done
check "mdstat: (R), all roles up" "m4.img[4](R) [4/4] [UUUU]" \
  "$(grep -o 'm4.img\[4\][(A-Z)]*' "$MNT/proc/mdstat") $(grep -o '\[4/4\] \[UUUU\]' "$MNT/proc/mdstat")"
check "one rd1 link, to the member replaced" dev-m1.img "$(readlink "$(sys $A rd1)")"
check "the kernel's content" "$want_sha" "$(sha $A)"
check "read-write" ok "$(sysw "$(sys $A array_state)" active)"
wait_idle $A
check "taken over: m4 in role 1, in sync" "in_sync 1 none" "$(md $A dev-m4.img/state) $(md $A dev-m4.img/slot) $(md $A dev-m4.img/recovery_start)"
check "the member replaced is faulty, out of its role" "faulty none" "$(md $A dev-m1.img/state) $(md $A dev-m1.img/slot)"
check "mdstat after, as the kernel's" "m4.img[4] m3.img[3] m2.img[2] m1.img[1](F) m0.img[0] [4/4] [UUUU]" \
  "$(grep "^$A :" "$MNT/proc/mdstat" | grep -o 'm[0-9].img\[[0-9]\][(A-Z)]*' | paste -sd' ') $(grep -o '\[4/4\] \[UUUU\]' "$MNT/proc/mdstat")"
check "rd1 now the replacement" dev-m4.img "$(readlink "$(sys $A rd1)")"
check "content after the takeover" "$want_sha" "$(sha $A)"
echo check > "$(sys $A sync_action)"
wait_idle $A
check "mismatch_cnt after a check" 0 "$(md $A mismatch_cnt)"
unmount_mdfs
role() { mdadm --examine "$SRC/$1" | sed -n 's/^ *Device Role : //p'; }
check "m4's superblock: role 1, no replacement bit" "Active device 1 0x0" \
  "$(role m4.img) $(mdadm --examine "$SRC/m4.img" | sed -n 's/^ *Feature Map : //p')"
check "array state as the kernel's after" "AAAA" "$(mdadm --examine "$SRC/m0.img" | sed -n 's/^ *Array State : \([^ ]*\).*/\1/p')"

# Without the member being replaced: the replacement stands in role 1,
# in sync up to its recovery offset, as the kernel's degraded assembly.
for n in 0 2 3 4; do xz -dc "$FIX/member-$n.img.xz" > "$SRC/m$n.img"; done
rm -f "$SRC/m1.img"
mount_mdfs -o assemble=none
assemble_ro md_oracle m0.img m2.img m3.img m4.img
check "degraded: m4 as the kernel's (vdd there)" \
  "$(sed -n 's/^dev-vdd\/state: //p;s/^dev-vdd\/slot: //p;s/^dev-vdd\/recovery_start: //p' "$FIX/kernel-degraded-sysfs.txt" | paste -sd' ')" \
  "$(md $A dev-m4.img/recovery_start) $(md $A dev-m4.img/slot) $(md $A dev-m4.img/state)"
check "degraded: mdstat" "[4/3] [U_UU]" "$(grep -o '\[4/3\] \[U_UU\]' "$MNT/proc/mdstat")"
check "degraded: the kernel's content" "$(manifest "m['degraded']['sha256']")" "$(sha $A)"
check "degraded: read-write" ok "$(sysw "$(sys $A array_state)" active)"
wait_idle $A
check "degraded: rebuilt in role 1" "in_sync 1 0" "$(md $A dev-m4.img/state) $(md $A dev-m4.img/slot) $(md $A degraded)"
check "degraded: content" "$want_sha" "$(sha $A)"
unmount_mdfs

# On arrays mdfs made: want_replacement, writes during the replacement, the
# takeover, and what the data on the replacement is.
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
rm -f "$SRC"/*
truncate -s 8M "$SRC"/r5-{0,1,2}.img "$SRC"/s{1,2,3}.img "$SRC"/r1-{0,1}.img
mount_mdfs -o assemble=none
"$ADM" --create --assume-clean "$MNT/dev/md5" -l5 -n3 -c64 r5-{0,1,2}.img >/dev/null 2>&1 || fail "create md5"
head -c "$(stat -c %s "$MNT/dev/md5")" /dev/urandom > "$T/md5.ref"
dd if="$T/md5.ref" of="$MNT/dev/md5" bs=1M conv=notrunc,fsync status=none
echo 4096 > "$(sys md5 sync_max)"  # the replacement waits half-way
echo s1.img > "$(sys md5 new_dev)"
check "want_replacement" ok "$(sysw "$(sys md5 dev-r5-1.img/state)" want_replacement)"
for _ in $(seq 50); do [ "$(md md5 dev-s1.img/slot)" = 1 ] && break; sleep 0.1; done
check "the spare replaces r5-1" "1 spare,replacement" "$(md md5 dev-s1.img/slot) $(md md5 dev-s1.img/state)"
check "r5-1 wants replacement" "in_sync,want_replacement" "$(md md5 dev-r5-1.img/state)"
check "recovering" recover "$(md md5 sync_action)"
# Writes while it is half done, below and above where it got.
for at in 4096 2000000 6000000 12000000; do
  head -c 70000 /dev/urandom > "$T/patch"
  dd if="$T/patch" of="$MNT/dev/md5" bs=70000 seek=$at oflag=seek_bytes conv=notrunc,fsync status=none
  dd if="$T/patch" of="$T/md5.ref" bs=70000 seek=$at oflag=seek_bytes conv=notrunc status=none
done
echo max > "$(sys md5 sync_max)"
wait_idle md5
check "taken over" "in_sync 1 faulty none" "$(md md5 dev-s1.img/state) $(md md5 dev-s1.img/slot) $(md md5 dev-r5-1.img/state) $(md md5 dev-r5-1.img/slot)"
check "remove the member replaced" ok "$(sysw "$(sys md5 dev-r5-1.img/state)" remove)"
cmp -s "$T/md5.ref" "$MNT/dev/md5" && pass "content after the replacement" || fail "content after the replacement"
# The replacement holds its role's data: with another member failed the
# array is rebuilt from it.
echo faulty > "$(sys md5 dev-r5-0.img/state)"
cmp -s "$T/md5.ref" "$MNT/dev/md5" && pass "degraded reads through the replacement" || fail "degraded reads through the replacement"

# mdadm --replace X --with Y: with the array frozen, Y's slot picks it.
"$ADM" --create --assume-clean "$MNT/dev/md1" -l1 -n2 r1-{0,1}.img >/dev/null 2>&1 || fail "create md1"
head -c "$(stat -c %s "$MNT/dev/md1")" /dev/urandom > "$T/md1.ref"
dd if="$T/md1.ref" of="$MNT/dev/md1" bs=1M conv=notrunc,fsync status=none
echo s2.img > "$(sys md1 new_dev)"
echo s3.img > "$(sys md1 new_dev)"
echo frozen > "$(sys md1 sync_action)"
check "slot of a working role without want_replacement" "File exists" "$(sysw "$(sys md1 dev-s3.img/slot)" 0)"
echo want_replacement > "$(sys md1 dev-r1-0.img/state)"
check "slot beyond the roles" "No space left on device" "$(sysw "$(sys md1 dev-s3.img/slot)" 2)"
check "the spare given by its slot" ok "$(sysw "$(sys md1 dev-s3.img/slot)" 0)"
check "s3 replaces r1-0, s2 stays a spare" "spare,replacement 0 spare none" \
  "$(md md1 dev-s3.img/state) $(md md1 dev-s3.img/slot) $(md md1 dev-s2.img/state) $(md md1 dev-s2.img/slot)"
check "a member in a role cannot move" "Device or resource busy" "$(sysw "$(sys md1 dev-r1-1.img/slot)" 0)"
# The member being replaced fails before the replacement is whole: the
# replacement takes the role and is rebuilt from the other mirror.
echo 1000 > "$(sys md1 sync_speed_max)"
echo idle > "$(sys md1 sync_action)"
sleep 0.5
check "half-way when the member fails" "spare,replacement" "$(md md1 dev-s3.img/state)"
check "fail the member being replaced" ok "$(sysw "$(sys md1 dev-r1-0.img/state)" faulty)"
echo system > "$(sys md1 sync_speed_max)"
sleep 0.2
wait_idle md1
check "the replacement took the role" "in_sync 0 0" "$(md md1 dev-s3.img/state) $(md md1 dev-s3.img/slot) $(md md1 degraded)"
cmp -s "$T/md1.ref" "$MNT/dev/md1" && pass "raid1 content" || fail "raid1 content"
echo faulty > "$(sys md1 dev-r1-1.img/state)"
cmp -s "$T/md1.ref" "$MNT/dev/md1" && pass "the rebuilt replacement alone holds the data" || fail "the replacement alone"

# With a write-intent bitmap, a replacement is still copied whole (the
# kernel's fullsync), even one the bitmap would re-add: b-1 fails and
# leaves, the array is written while degraded, a fresh spare takes role 1,
# then b-1 comes back (its role taken: a spare) and replaces that spare.
# Skipping the clean chunks would leave b-1's stale data in its role.
truncate -s 8M "$SRC"/b-{0,1}.img "$SRC"/bs.img
"$ADM" --create --assume-clean "$MNT/dev/md2" -l1 -n2 --bitmap=internal --bitmap-chunk=64K b-{0,1}.img >/dev/null 2>&1 || fail "create md2"
wait_idle md2
head -c "$(stat -c %s "$MNT/dev/md2")" /dev/urandom > "$T/md2.ref"
dd if="$T/md2.ref" of="$MNT/dev/md2" bs=1M conv=notrunc,fsync status=none
echo faulty > "$(sys md2 dev-b-1.img/state)"
echo remove > "$(sys md2 dev-b-1.img/state)"
for at in 0 1000000 3000000 5000000; do
  head -c 70000 /dev/urandom > "$T/patch"
  dd if="$T/patch" of="$MNT/dev/md2" bs=70000 seek=$at oflag=seek_bytes conv=notrunc,fsync status=none
  dd if="$T/patch" of="$T/md2.ref" bs=70000 seek=$at oflag=seek_bytes conv=notrunc status=none
done
echo bs.img > "$(sys md2 new_dev)"
sleep 0.2
wait_idle md2
check "bitmap: the fresh spare rebuilt into role 1" "in_sync 1 0" "$(md md2 dev-bs.img/state) $(md md2 dev-bs.img/slot) $(md md2 degraded)"
echo b-1.img > "$(sys md2 new_dev)"
check "bitmap: b-1 back, its role taken" "spare none" "$(md md2 dev-b-1.img/state) $(md md2 dev-b-1.img/slot)"
check "bitmap: want_replacement" ok "$(sysw "$(sys md2 dev-bs.img/state)" want_replacement)"
for _ in $(seq 50); do [ "$(md md2 dev-b-1.img/slot)" = 1 ] && break; sleep 0.1; done
sleep 0.2
wait_idle md2
check "bitmap: b-1 took over from the spare" "in_sync 1 faulty" \
  "$(md md2 dev-b-1.img/state) $(md md2 dev-b-1.img/slot) $(md md2 dev-bs.img/state)"
echo faulty > "$(sys md2 dev-b-0.img/state)"
cmp -s "$T/md2.ref" "$MNT/dev/md2" && pass "bitmap: the replacement was copied whole" || fail "bitmap: the replacement was copied whole"
unmount_mdfs
finish
