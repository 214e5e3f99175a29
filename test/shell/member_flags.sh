#!/bin/bash
# Write-mostly and failfast members as the kernel keeps them, on the array
# the kernel made (raid1-writemostly-failfast): the flags read back in
# dev-*/state and mdstat, raid1 reads never go to the write-mostly member
# while another mirror works (its data area is garbage here, and the
# content still reads right), and only then to it.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum
STATES=${FIXTURES_STATES:-$(dirname "$FIXTURES")/kernel-md-states}
FIX=$STATES/raid1-writemostly-failfast
[ -f "$FIX/manifest.json" ] || { fail "no fixture $FIX"; finish; }
manifest() { python3 -c "import json,sys; m=json.load(open('$FIX/manifest.json')); print(eval(sys.argv[1]))" "$1"; }
want_sha=$(manifest "m['sha256']")
for n in 0 1 2; do xz -dc "$FIX/member-$n.img.xz" > "$SRC/m$n.img"; done

mount_mdfs
A=md_oracle
check "assembled" yes "$(exists $A)"
check "the kernel's content" "$want_sha" "$(sha256sum < "$MNT/dev/$A" | cut -d' ' -f1)"
# kernel-sysfs.txt names the members vda, vdb, vdc.
n=0
for dev in vda vdb vdc; do
  want=$(sed -n "s/^dev-$dev\/state: //p" "$FIX/kernel-sysfs.txt")
  check "m$n: state as the kernel's ($want)" "$want" "$(cat "$(sys $A dev-m$n.img/state)")"
  n=$((n + 1))
done
check "mdstat marks the write-mostly member" "m2.img[2](W)" "$(grep -o 'm2.img\[[0-9]*\][(A-Z)]*' "$MNT/proc/mdstat")"
unmount_mdfs

# Garbage in the write-mostly member's data area: as long as another
# mirror works, no read goes there.
data_offset=$(manifest "m['members_in_role_order'][2]['data_offset'].split()[0]")
size=$(manifest "m['array_size_bytes']")
head -c "$size" /dev/urandom | dd of="$SRC/m2.img" bs=512 seek="$data_offset" conv=notrunc status=none
mount_mdfs
for round in 1 2 3; do
  check "round $round: reads avoid the write-mostly member" "$want_sha" "$(sha256sum < "$MNT/dev/$A" | cut -d' ' -f1)"
done
# Parallel readers would be balanced over every mirror that is not
# write-mostly, never onto it.
pids=
for i in 1 2 3 4; do sha256sum < "$MNT/dev/$A" > "$T/par$i" & pids="$pids $!"; done
wait $pids
for i in 1 2 3 4; do check "parallel reader $i" "$want_sha" "$(cut -d' ' -f1 < "$T/par$i")"; done
check "fail m0" ok "$(sysw "$(sys $A dev-m0.img/state)" faulty)"
check "with m1 left, still right" "$want_sha" "$(sha256sum < "$MNT/dev/$A" | cut -d' ' -f1)"
check "fail m1" ok "$(sysw "$(sys $A dev-m1.img/state)" faulty)"
got=$(sha256sum < "$MNT/dev/$A" | cut -d' ' -f1)
[ "$got" != "$want_sha" ] && pass "the last resort: the write-mostly member is read" ||
  fail "the write-mostly member was not read once it was the last mirror"
unmount_mdfs
finish
