#!/bin/bash
# A spare added to an array with an internal bitmap gets the bitmap too, as
# the kernel writes it to every member: on the kernel's raid5-4-bitmap
# fixture, fail and remove a member, rebuild onto a blank one, and the new
# member's superblock names the bitmap at the same place as the others,
# with the bitmap's magic there and its events following the superblock's;
# the array assembled with the rebuilt member and without member-0 holds
# the fixture's recorded contents.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
DIR=$FIXTURES/raid5-4-bitmap
[ -f "$DIR/manifest.json" ] || { echo "FAIL: no fixture $DIR"; exit 1; }
want_sha=$(python3 -c "import json; print(json.load(open('$DIR/manifest.json'))['sha256'])")
for f in "$DIR"/member-*.img.xz; do xz -dc "$f" >"$SRC/$(basename "${f%.xz}")"; done
truncate -s "$(stat -c %s "$SRC/member-0.img")" "$SRC/spare.img"
examine() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n "s/^ *$2 : //p"; }

mount_mdfs
D=$MNT/dev/$(ls "$MNT/dev" | head -1)
check "the fixture has a bitmap" "8 sectors from superblock" "$(examine member-1.img 'Internal Bitmap')"
"$ADM" "$D" --fail member-1.img --remove member-1.img 2>/dev/null
check "member-1 failed and removed" 1 "$(cat "$(sys "$(basename "$D")" degraded)")"
"$ADM" "$D" --add spare.img 2>/dev/null
"$ADM" --wait "$D" 2>/dev/null
check "rebuilt onto the spare" "0 in_sync" "$(cat "$(sys "$(basename "$D")" degraded)") $(cat "$(sys "$(basename "$D")" dev-spare.img/state)")"
check "the array reads the fixture's contents" "$want_sha" "$(sha256sum <"$D" | cut -d' ' -f1)"
"$ADM" --stop "$D" 2>/dev/null
unmount_mdfs

check "spare: bitmap where the others have it" "$(examine member-0.img 'Internal Bitmap')" "$(examine spare.img 'Internal Bitmap')"
check "spare: feature map as the others'" "$(examine member-0.img 'Feature Map')" "$(examine spare.img 'Feature Map')"
sb=$(($(examine spare.img 'Super Offset' | cut -d' ' -f1) * 512))
check "spare: bitmap magic 8 sectors after its superblock" 6269746d "$(od -An -tx1 -j $((sb + 4096)) -N 4 "$SRC/spare.img" | tr -d ' ')"
check "spare: bitmap events follow its superblock" "$(examine spare.img Events)" \
  "$(od -An -tu8 -j $((sb + 4096 + 24)) -N 8 "$SRC/spare.img" | tr -d ' ')"
check "spare: no dirty chunk after a clean stop" 0 "$(($(od -An -tu1 -j $((sb + 4096 + 256)) -N 1 "$SRC/spare.img") & 1))"

# The rebuilt member carries the data: assemble it without member-0.
mount_mdfs -o assemble=none
"$ADM" --assemble --run --readonly "$MNT/dev/md0" member-2.img member-3.img spare.img 2>/dev/null
check "assembled with the spare, without member-0" 0 $?
check "degraded 1" 1 "$(cat "$(sys md0 degraded)")"
check "the fixture's contents, from the rebuilt member" "$want_sha" "$(sha256sum <"$MNT/dev/md0" | cut -d' ' -f1)"
unmount_mdfs
exit $FAILED
