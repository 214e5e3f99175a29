#!/bin/bash
# Bad block logs as md keeps them: new members get a log where mdadm 4.2
# puts it, dev-*/bad_blocks and unacknowledged_bad_blocks read and take
# ranges as the kernel's, and the next superblock write puts them in the
# log, which Debian's mdadm --examine-badblocks reads back.
. "$(dirname "$0")/lib.sh"
requires mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}

bblog() { mdadm --examine "$1" | sed -n 's/^ *Bad Block Log : //p'; }

# New members: the log at mdadm's place for 1.2 (after the bitmap space),
# 1.0 (before the superblock) and raid0 (no bitmap space).
truncate -s 8M "$SRC"/a0.img "$SRC"/a1.img "$SRC"/b0.img "$SRC"/b1.img "$SRC"/c0.img "$SRC"/c1.img
mount_mdfs
"$ADM" --create "$MNT/dev/md0" --level=1 --raid-devices=2 a0.img a1.img >/dev/null 2>&1 || fail "create md0"
"$ADM" --create "$MNT/dev/md1" --level=1 --raid-devices=2 --metadata=1.0 b0.img b1.img >/dev/null 2>&1 || fail "create md1"
"$ADM" --create "$MNT/dev/md2" --level=0 --raid-devices=2 c0.img c1.img >/dev/null 2>&1 || fail "create md2"
check "1.2: log after the bitmap space" "512 entries available at offset 16 sectors" "$(bblog "$SRC/a0.img")"
check "1.0: log before the superblock" "512 entries available at offset -8 sectors" "$(bblog "$SRC/b1.img")"
check "raid0: log after the superblock" "512 entries available at offset 8 sectors" "$(bblog "$SRC/c1.img")"

D=$(sys md0 dev-a0.img)
check "no bad blocks yet" "" "$(cat "$D/bad_blocks")"
check "store a range" ok "$(sysw "$D/bad_blocks" "3000 8")"
check "store a touching range" ok "$(sysw "$D/bad_blocks" "3008 8")"
check "store an unacknowledged range" ok "$(sysw "$D/unacknowledged_bad_blocks" "5000 16")"
check "ranges merge and list in order" "$(printf '3000 16\n5000 16')" "$(cat "$D/bad_blocks")"
check "the unacknowledged one" "5000 16" "$(cat "$D/unacknowledged_bad_blocks")"
check "unacknowledged bad blocks: faulty and blocked, as the kernel shows them" "faulty,in_sync,blocked" "$(cat "$D/state")"
check "a range longer than 512 is cut" ok "$(sysw "$D/bad_blocks" "6000 600")"
cases=0
for bad in "100" "100 0" "100 -4" "100 8x" "-5 8" "100 8 " "x y"; do
  check "'$bad' refused" "Invalid argument" "$(sysw "$D/bad_blocks" "$bad")"
  cases=$((cases + 1))
done
check "refusals checked" 7 "$cases"
check "nothing changed by them" "$(printf '3000 16\n5000 16\n6000 512\n6512 88')" "$(cat "$D/bad_blocks")"

# A write makes the array dirty: the superblocks are written, with the log.
printf x | dd of="$MNT/dev/md0" bs=1 seek=4096 conv=notrunc status=none
check "acknowledged by the superblock write" "in_sync" "$(cat "$D/state")"
check "no unacknowledged block left" "" "$(cat "$D/unacknowledged_bad_blocks")"
# A member without a log (0.90) records nothing.
truncate -s 8M "$SRC"/z0.img "$SRC"/z1.img
"$ADM" --create "$MNT/dev/md3" --level=1 --raid-devices=2 --metadata=0.90 z0.img z1.img >/dev/null 2>&1 || fail "create md3"
check "0.90: no log, ENOSPC" "No space left on device" "$(sysw "$(sys md3 dev-z0.img)/bad_blocks" "100 8")"
check "0.90: empty" "" "$(cat "$(sys md3 dev-z0.img)/bad_blocks")"
unmount_mdfs

check "mdadm reads the log back" "$(printf 'Bad-blocks on %s:\n%20s for 16 sectors\n%20s for 16 sectors\n%20s for 512 sectors\n%20s for 88 sectors' \
  "$SRC/a0.img" 3000 5000 6000 6512)" "$(mdadm --examine-badblocks "$SRC/a0.img")"
check "the other member's log is empty" "Bad-blocks list is empty in $SRC/a1.img" "$(mdadm --examine-badblocks "$SRC/a1.img")"
check "mdadm: bad blocks present" "512 entries available at offset 16 sectors - bad blocks present." "$(bblog "$SRC/a0.img")"
check "feature map" "0x8" "$(mdadm --examine "$SRC/a0.img" | sed -n 's/^ *Feature Map : //p')"
finish
