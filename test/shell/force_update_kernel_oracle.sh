#!/bin/bash
# What `mdfsadm --assemble --force` and `--assemble --update=...` write is
# read by the real Linux md driver as mdadm's would be: in one boot of the
# kernel (tools/kernel-oracle, assemble --finish) over the members mdfs
# left, every array assembles with mdfs's content, clean, and:
#   - a kernel-made raid5 (1.2) with a stale member forced in, then written
#     degraded: the kernel takes the forced member in its role, [4/3];
#   - the same on 0.90 metadata (descriptor restored in disks[]);
#   - --update=uuid then --update=name: the kernel reports the new uuid and
#     the new name;
#   - --update=resync (started read-only, so that mdfs runs no resync): the
#     kernel resyncs the array and a check finds mismatch_cnt 0;
#   - --update=devicesize on grown members and --update=no-bbl: assembled
#     clean, checked clean;
#   - a raid1 whose bitmap mdfs resized with --grow --size=max: assembled
#     clean at the new size, checked clean.
# run-tests: once timeout=600 (one boot of the kernel)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-oracle.sh"
requires xz mdadm sha256sum
SB_EDIT=$ROOT/tools/sb-edit
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
events() { "$SB_EDIT" "$@" events; }
field() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n "s/^ *$2 : //p"; }
array_sha() { sha256sum <"$1" | cut -d' ' -f1; }
R5=$FIXTURES/raid5-4-ls
[ -f "$R5/member-0.img.xz" ] || { fail "fixture raid5-4-ls missing in $FIXTURES"; finish; }
declare -A WANT=()  # case -> mdfs's sha256 of the array
IMAGES=()

# fill DEV: random data over the whole array, flushed.
fill() { head -c "$(stat -c %s "$1")" /dev/urandom | dd of="$1" bs=1M iflag=fullblock conv=notrunc,fsync status=none; }
# new_raid1 NAME FILE...: a clean raid1 with a bitmap, filled, stopped.
new_raid1() {
  local name=$1
  shift
  truncate -s 16M "${@/#/$SRC/}"
  adm -CR --assume-clean "$MNT/dev/$name" -l1 -n2 --bitmap=internal "$@"
  check "$name: created" 0 "$RC"
  fill "$MNT/dev/$name"
  "$ADM" -S "$MNT/dev/$name" 2>/dev/null
}

mount_mdfs -o assemble=none

# 1. Forced, 1.2: the kernel's raid5 of 4 with r3 missing, f2 three events
# behind f0 and f1, which recorded it failed. Written after the start.
for i in 0 1 2; do xz -dc "$R5/member-$i.img.xz" >"$SRC/f$i.img"; done
E=$(events "$SRC/f2.img")
for i in 0 1; do "$SB_EDIT" "$SRC/f$i.img" events=$((E + 3)) 'role[2]=0xfffe' >/dev/null || fail "sb-edit f$i.img"; done
adm --assemble --force "$MNT/dev/md5" f0.img f1.img f2.img
check "1.2 forced: started" 0 "$RC"
head -c 1M /dev/urandom | dd of="$MNT/dev/md5" bs=64K seek=3 iflag=fullblock conv=notrunc,fsync status=none
WANT[force12]=$(array_sha "$MNT/dev/md5")
"$ADM" -S "$MNT/dev/md5" 2>/dev/null
IMAGES+=("$SRC"/f{0,1,2}.img)

# 2. Forced, 0.90: a raid5 mdfs made, g3 gone, g2 two events behind and
# marked faulty in g0's and g1's disks[] tables.
truncate -s 8M "$SRC"/g{0,1,2,3}.img
adm --create --assume-clean -e0.90 "$MNT/dev/md6" -l5 -n4 -c64 g0.img g1.img g2.img g3.img
check "0.90: created" 0 "$RC"
fill "$MNT/dev/md6"
"$ADM" -S "$MNT/dev/md6" 2>/dev/null
rm -f "$SRC/g3.img"
E=$(events --minor 90 "$SRC/g2.img")
for i in 0 1; do
  "$SB_EDIT" --minor 90 "$SRC/g$i.img" events=$((E + 2)) 'disk[2].state=1' >/dev/null || fail "sb-edit g$i.img"
done
adm --assemble --force "$MNT/dev/md6" g0.img g1.img g2.img
check "0.90 forced: started" 0 "$RC"
WANT[force90]=$(array_sha "$MNT/dev/md6")
"$ADM" -S "$MNT/dev/md6" 2>/dev/null
IMAGES+=("$SRC"/g{0,1,2}.img)

# 3. --update=uuid, then --update=name.
NEW_UUID=0badc0de:12345678:9abcdef0:0fedcba9
new_raid1 md_u u0.img u1.img
adm -A "$MNT/dev/md_u" --update=uuid --uuid=$NEW_UUID u0.img u1.img
check "--update=uuid: assembled" 0 "$RC"
"$ADM" -S "$MNT/dev/md_u" 2>/dev/null
adm -A "$MNT/dev/md_u" --update=name --name=renamed u0.img u1.img
check "--update=name: assembled" 0 "$RC"
WANT[uuid_name]=$(array_sha "$MNT/dev/md_u")
"$ADM" -S "$MNT/dev/md_u" 2>/dev/null
IMAGES+=("$SRC"/u{0,1}.img)

# 4. --update=resync, started read-only: mdfs leaves the resync owed.
new_raid1 md_r r0.img r1.img
adm -A --readonly "$MNT/dev/md_r" --update=resync r0.img r1.img
check "--update=resync: assembled read-only" "0 readonly" "$RC $(cat "$(sys md_r array_state)")"
check "--update=resync: a resync owed from the start" 0 "$(cat "$(sys md_r resync_start)")"
WANT[resync]=$(array_sha "$MNT/dev/md_r")
"$ADM" -S "$MNT/dev/md_r" 2>/dev/null
check "--update=resync: the superblock says so (mdadm: active)" active "$(field r0.img State)"
IMAGES+=("$SRC"/r{0,1}.img)

# 5. --update=devicesize on members grown by 16 MiB.
new_raid1 md_d d0.img d1.img
avail=$(field d0.img "Avail Dev Size" | cut -d' ' -f1)
truncate -s 32M "$SRC"/d{0,1}.img
adm -A "$MNT/dev/md_d" --update=devicesize d0.img d1.img
check "--update=devicesize: assembled" 0 "$RC"
WANT[devicesize]=$(array_sha "$MNT/dev/md_d")
"$ADM" -S "$MNT/dev/md_d" 2>/dev/null
check "--update=devicesize: 16 MiB more available" $((avail + 32768)) "$(field d0.img "Avail Dev Size" | cut -d' ' -f1)"
IMAGES+=("$SRC"/d{0,1}.img)

# 6. --update=no-bbl.
new_raid1 md_b b0.img b1.img
adm -A "$MNT/dev/md_b" --update=no-bbl b0.img b1.img
check "--update=no-bbl: assembled" 0 "$RC"
WANT[nobbl]=$(array_sha "$MNT/dev/md_b")
"$ADM" -S "$MNT/dev/md_b" 2>/dev/null
check "--update=no-bbl: no log" "" "$(field b0.img "Bad Block Log")"
IMAGES+=("$SRC"/b{0,1}.img)

# 7. A raid1 grown with its bitmap (md_bitmap_resize): 8 of 16 MiB, then all.
truncate -s 16M "$SRC"/e{0,1}.img
adm -CR --assume-clean "$MNT/dev/md_e" -l1 -n2 --size=8M --bitmap=internal --bitmap-chunk=1M e0.img e1.img
check "bitmap grown: created" 0 "$RC"
fill "$MNT/dev/md_e"
adm --grow "$MNT/dev/md_e" --size=max
check "bitmap grown: --grow --size=max" 0 "$RC"
"$ADM" --wait "$MNT/dev/md_e" 2>/dev/null
fill "$MNT/dev/md_e"
WANT[bitmap_grown]=$(array_sha "$MNT/dev/md_e")
"$ADM" -S "$MNT/dev/md_e" 2>/dev/null
IMAGES+=("$SRC"/e{0,1}.img)
unmount_mdfs

run_oracle --finish "${IMAGES[@]}"
oracle_arrays
# The uuid and the degraded count of each, by kernel name.
declare -A KUUID=() KDEGRADED=()
while read -r k _ _ _ _ degraded uuid _; do KDEGRADED[$k]=$degraded KUUID[$k]=$uuid; done < <(oracle_section arrays)

n=0
for c in force12 force90 uuid_name resync devicesize nobbl bitmap_grown; do
  oracle_match "$c" "${WANT[$c]:-none}" || continue
  n=$((n + 1))
  check "$c: clean" clean "${KSTATE[$K]}"
  case $c in
    force12 | force90)
      check "$c: degraded by the one member missing" 1 "${KDEGRADED[$K]}" ;;
    *)
      check "$c: checked clean" 0 "${KMISMATCH[$K]}"
      check "$c: nothing degraded" 0 "${KDEGRADED[$K]}" ;;
  esac
  case $c in
    uuid_name)
      check "uuid_name: the kernel's uuid" "${NEW_UUID//:/}" "${KUUID[$K]//-/}"
      check "uuid_name: the kernel's name" renamed \
        "$(oracle_section detail | awk -v k="$K" '/^== /{on = ($2 == k)} on && / Name : / {print $3}' | sed 's/^.*://')" ;;
    resync) check "resync: the kernel resynced it at assembly" resync "${KRESUMED[$K]}" ;;
    *) check "$c: nothing owed at assembly" idle "${KRESUMED[$K]}" ;;
  esac
done
checked_cases "arrays the kernel assembled with mdfs's content" 7 "$n"
if [ "$FAILED" -ne 0 ]; then
  echo "--- oracle output:"; cat "$T/oracle.txt"; tail -20 "$T/oracle.err"
fi
finish
