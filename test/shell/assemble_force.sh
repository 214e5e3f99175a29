#!/bin/bash
# mdfsadm --assemble --force brings out-of-date members in as mdadm 4.2
# does: only while the members as fresh as the freshest cannot run the
# array, the newest stale member (and those of its vintage) gets the
# freshest's event count, and the freshest's superblock gives back the role
# it had marked faulty. Without --force nothing is written and mdadm's
# message says why. A raid1 that one fresh member can run leaves its stale
# member out. 0.90 metadata as well as 1.x.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum
SB_EDIT=$(cd "$(dirname "$0")/../.." && pwd)/tools/sb-edit
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
R5=$FIXTURES/raid5-4-ls R1=$FIXTURES/raid1-3
[ -f "$R5/member-0.img.xz" ] && [ -f "$R1/member-0.img.xz" ] || { fail "fixtures missing in $FIXTURES"; finish; }
sha_of() { sed -n 's/^ "sha256": "\(.*\)",$/\1/p' "$1/manifest.json"; }
sums() { (cd "$SRC" && sha256sum ./*.img); }
events() { "$SB_EDIT" "$SRC/$1" events; }
D=$MNT/dev/md5

# raid5 of 4: r3 missing, r2 BEHIND events behind the others, which
# recorded it as failed (role 0xfffe in their tables). E: r2's events.
stale_r5() {
  local behind=$1 i
  rm -f "$SRC"/*.img
  for i in 0 1 2; do xz -dc "$R5/member-$i.img.xz" >"$SRC/r$i.img"; done
  E=$(events r2.img)
  for i in 0 1; do
    "$SB_EDIT" "$SRC/r$i.img" events=$((E + behind)) 'role[2]=0xfffe' >/dev/null || fail "sb-edit r$i.img"
  done
}

cases=0
for behind in 3 1; do
  stale_r5 $behind
  before=$(sums)
  mount_mdfs -o assemble=none
  adm --assemble "$D" r0.img r1.img r2.img
  check "$behind behind, no --force: refused as mdadm" \
    "1 mdfsadm: $D assembled from 2 drives - not enough to start the array." "$RC $(tail -1 "$T/err")"
  check "$behind behind, no --force: no array" "" "$(ls "$MNT/dev")"
  check "$behind behind, no --force: nothing written" "$before" "$(sums)"
  adm --assemble --force "$D" r0.img r1.img r2.img
  check "$behind behind, --force: started" 0 "$RC"
  check "$behind behind, --force: what mdadm says" \
"mdfsadm: forcing event count in $SRC/r2.img(2) from $E up to $((E + behind))
mdfsadm: clearing FAULTY flag for device 2 in $SRC/r0.img for $SRC/r2.img
mdfsadm: $D has been started with 3 drives (out of 4)." "$(cat "$T/err")"
  check "$behind behind, --force: degraded, r2 in role 2" "[4/3] [UUU_] 2 in_sync" \
    "$(grep -o '\[4/3\] \[UUU_\]' "$MNT/proc/mdstat") $(cat "$(sys md5 dev-r2.img/slot)") $(cat "$(sys md5 dev-r2.img/state)")"
  check "$behind behind, --force: the array's content" "$(sha_of "$R5")" "$(sha256sum <"$D" | cut -d' ' -f1)"
  unmount_mdfs
  check "$behind behind: all three at the same events after" "1" \
    "$(for i in 0 1 2; do events r$i.img; done | sort -u | wc -l)"
  check "$behind behind: r0's table has r2 in role 2 again" 2 "$("$SB_EDIT" "$SRC/r0.img" 'role[2]')"
  cases=$((cases + 1))
done
check "raid5 cases run" 2 "$cases"

# The same with 0.90 metadata (a raid5 mdfs made): r0 and r1 two events
# ahead, r2's descriptor in their disks[] tables marked faulty. --force
# raises r2's events and makes its descriptor in r0, the freshest, active
# and in sync in role 2 again.
rm -f "$SRC"/*.img
truncate -s 8M "$SRC"/r0.img "$SRC"/r1.img "$SRC"/r2.img "$SRC"/r3.img
mount_mdfs -o assemble=none
adm --create --assume-clean -e0.90 "$D" -l5 -n4 -c64 r0.img r1.img r2.img r3.img
check "0.90: created" 0 "$RC"
head -c "$(stat -c %s "$D")" /dev/urandom >"$T/r5.ref"
dd if="$T/r5.ref" of="$D" bs=1M conv=notrunc,fsync status=none
unmount_mdfs
rm -f "$SRC/r3.img"
E=$("$SB_EDIT" --minor 90 "$SRC/r2.img" events)
for i in 0 1; do
  "$SB_EDIT" --minor 90 "$SRC/r$i.img" events=$((E + 2)) 'disk[2].state=1' >/dev/null || fail "sb-edit r$i.img"
done
mount_mdfs -o assemble=none
adm --assemble --force "$D" r0.img r1.img r2.img
check "0.90, --force: what mdadm says" \
"mdfsadm: forcing event count in $SRC/r2.img(2) from $E up to $((E + 2))
mdfsadm: clearing FAULTY flag for device 2 in $SRC/r0.img for $SRC/r2.img
mdfsadm: $D has been started with 3 drives (out of 4)." "$(cat "$T/err")"
check "0.90, --force: degraded, r2 in role 2" "[4/3] [UUU_] 2 in_sync" \
  "$(grep -o '\[4/3\] \[UUU_\]' "$MNT/proc/mdstat") $(cat "$(sys md5 dev-r2.img/slot)") $(cat "$(sys md5 dev-r2.img/state)")"
cmp -s "$T/r5.ref" "$D" && pass "0.90, --force: the array's content" || fail "0.90, --force: content differs"
unmount_mdfs
check "0.90: r0's descriptor of r2 active and in sync in role 2" "6 2" \
  "$("$SB_EDIT" --minor 90 "$SRC/r0.img" 'disk[2].state') $("$SB_EDIT" --minor 90 "$SRC/r0.img" 'disk[2].raid_disk')"

# raid1 of 3: r2 missing, r1 stale. r0 alone runs the array, so --force
# brings nothing in (mdadm's force_array only acts while the array could
# not run) and writes nothing to r1.
rm -f "$SRC"/*.img
for i in 0 1; do xz -dc "$R1/member-$i.img.xz" >"$SRC/r$i.img"; done
E=$(events r1.img)
"$SB_EDIT" "$SRC/r0.img" events=$((E + 4)) >/dev/null
r1=$(sha256sum <"$SRC/r1.img")
mount_mdfs -o assemble=none
adm --assemble --force "$MNT/dev/md1" r0.img r1.img
check "raid1, --force: started with one drive" "0 mdfsadm: $MNT/dev/md1 has been started with 1 drive (out of 3)." \
  "$RC $(cat "$T/err")"
check "raid1: the stale member is not in a role" "[3/1] [U__]" "$(grep -o '\[3/1\] \[U__\]' "$MNT/proc/mdstat")"
check "raid1: the content" "$(sha_of "$R1")" "$(sha256sum <"$MNT/dev/md1" | cut -d' ' -f1)"
unmount_mdfs
check "raid1: the stale member's events not raised" "$E" "$(events r1.img)"
finish
