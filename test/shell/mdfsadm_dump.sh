#!/bin/bash
# mdfsadm --dump and --restore against Debian's mdadm 4.2 on the same member
# files: for every member (mdfs-made arrays of each metadata version, with
# and without a bitmap, one with a bad block log, and every kernel-made
# fixture member) both tools' dumps are the same bytes, the same size, and
# print the same; a member whose superblock was wiped is restored byte for
# byte from mdadm's dump and from mdfsadm's; the refusals (no directory, no
# metadata, a dump file already there, sizes that differ, a file with
# several members) exit and say as mdadm's; a member of a running array is
# not restored; restored members assemble and hold their data.
. "$(dirname "$0")/lib.sh"
requires mdadm xz cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}

mount_mdfs -o assemble=none
make() {  # make NAME ARGS... FILES...: an array of blank 16 MiB files
  local name=$1
  shift
  "$ADM" -CR "$MNT/dev/$name" "$@" >/dev/null 2>"$T/err" || fail "creating $name: $(cat "$T/err")"
}
for f in b12-{0,1} b10-{0,1,2} m11-{0,1} o90-{0,1} p90-{0,1,2} bb-{0,1}; do truncate -s 16M "$SRC/$f.img"; done
make md1 -l1 -n2 --bitmap=internal b12-0.img b12-1.img
make md2 -e1.0 -l5 -n3 --bitmap=internal b10-0.img b10-1.img b10-2.img
make md3 -e1.1 -l0 -n2 m11-0.img m11-1.img
make md4 -e0.90 -l1 -n2 --bitmap=internal o90-0.img o90-1.img
make md5 -e0.90 -l5 -n3 p90-0.img p90-1.img p90-2.img
make md6 -l1 -n2 bb-0.img bb-1.img
for md in md1 md2 md4 md5 md6; do settled "$md"; done
# After the first resync: its write over the range would clear it (a
# write that succeeds clears a bad block, as md's).
check "a bad block recorded" ok "$(sysw "$(sys md6 dev-bb-0.img/bad_blocks)" "4096 8")"
# Data to find again after a restore.
head -c 4M /dev/urandom > "$T/data"
dd if="$T/data" of="$MNT/dev/md1" bs=1M conv=notrunc,fsync status=none
"$ADM" --stop --scan --mount "$MNT" 2>/dev/null
unmount_mdfs
bblog=$(mdadm --examine-badblocks "$SRC/bb-0.img" 2>/dev/null | grep -c "4096 for 8 sectors")
check "bb-0.img has a bad block log with the entry" 1 "$bblog"

FILES=("$SRC"/*.img)
want=0 unpacked=0
for set in "$FIXTURES" "$FIXTURES_STATES"; do
  for case in $(fixture_cases "$set"); do
    for x in "$set/$case"/member-*.img.xz; do
      [ -e "$x" ] || continue
      want=$((want + 1))
      out="$T/k-$case-$(basename "${x%.xz}")"
      xz -dc "$x" > "$out" && FILES+=("$out") && unpacked=$((unpacked + 1))
    done
  done
done
checked_cases "fixture members unpacked" "$want" "$unpacked"

# same NAME ARGS...: mdfsadm and mdadm print the same (mdadm's dump folder
# names written as mdfsadm's) and exit the same.
same() {
  local name=$1
  shift
  local args=() a
  for a in "$@"; do args+=("${a/#--dump=$T\/a/--dump=$T/m}"); done
  "$ADM" "$@" >"$T/a.out" 2>"$T/a.err"; local ra=$?
  mdadm "${args[@]}" >"$T/m.out" 2>"$T/m.err"; local rm=$?
  sed -i 's/^mdfsadm:/mdadm:/' "$T/a.err"
  sed -i "s|$T/m|$T/a|g" "$T/m.out" "$T/m.err"
  if cmp -s "$T/a.out" "$T/m.out" && cmp -s "$T/a.err" "$T/m.err" && [ "$ra" = "$rm" ]; then return 0; fi
  fail "$name: mdfsadm $* differs from mdadm (exit $ra, $rm):"
  diff "$T/m.out" "$T/a.out" | head -5
  diff "$T/m.err" "$T/a.err" | head -5
  return 1
}

# Dumps: identical bytes and sizes, for every file.
mkdir "$T/a" "$T/m"
n=0
for f in "${FILES[@]}"; do
  b=$(basename "$f")
  same "$b --dump" --dump="$T/a" "$f" || continue
  [ -e "$T/a/$b" ] || { fail "$b: mdfsadm wrote no dump"; continue; }
  cmp -s "$T/a/$b" "$T/m/$b" || fail "$b: the dumps differ: $(cmp "$T/a/$b" "$T/m/$b" 2>&1 | head -1)"
  check "$b: the dump is as large as the member" "$(stat -c %s "$f")" "$(stat -c %s "$T/a/$b")"
  n=$((n + 1))
done
check "every member dumped by both" "${#FILES[@]}" "$n"
[ "${#FILES[@]}" -ge 40 ] && pass "${#FILES[@]} members" || fail "only ${#FILES[@]} members"
# A dump holds the metadata and nothing else: mdadm examines it as the member.
for b in b12-0.img b10-1.img o90-0.img bb-0.img; do
  mdadm --examine "$T/a/$b" | grep -v "^/" > "$T/dump.ex"
  mdadm --examine "$SRC/$b" | grep -v "^/" > "$T/member.ex"
  cmp -s "$T/dump.ex" "$T/member.ex" && pass "$b: the dump examines as the member" || fail "$b: --examine differs"
done
check "the dump holds no data" 0 "$(tail -c +$((1024 * 1024 + 1)) "$T/a/b12-0.img" | head -c 4M | tr -d '\0' | wc -c)"

# wipe_metadata FILE: zeroes where its superblock is (and, for 1.2, the
# 4 KiB after it: the bitmap or the bad block log), never its data.
wipe_metadata() {
  local size version at count=1
  size=$(stat -c %s "$1")
  version=$(mdadm --examine "$1" | sed -n 's/^ *Version : //p')
  case $version in
    1.2) at=1 count=2 ;;
    1.1) at=0 ;;
    1.0) at=$(( (size / 512 - 16) / 8 )) ;;
    0.90*) at=$(( (size / 65536 - 1) * 16 )) count=16 ;;
    *) fail "$1: version [$version]"; return ;;
  esac
  dd if=/dev/zero of="$1" bs=4096 count=$count seek="$at" conv=notrunc status=none
  mdadm --examine "$1" >/dev/null 2>&1 && fail "$1: a superblock is left after the wipe"
}

# Restores: a member whose metadata was wiped comes back byte for byte,
# from mdadm's dump (mdfsadm restoring) and from mdfsadm's (mdadm restoring).
n=0
for b in b12-0.img b12-1.img b10-0.img b10-2.img m11-0.img o90-0.img p90-1.img bb-0.img; do
  for way in a m; do
    cp "$SRC/$b" "$T/w-$b"
    wipe_metadata "$T/w-$b"
    mkdir -p "$T/r"
    rm -f "$T/r/w-$b"
    if [ $way = a ]; then
      ln "$T/m/$b" "$T/r/w-$b" && "$ADM" --restore="$T/r" "$T/w-$b" >"$T/out" 2>"$T/err" ||
        fail "$b: mdfsadm --restore: $(cat "$T/err")"
      check "$b: mdfsadm says it restored" "$T/w-$b restored from $T/r/w-$b." "$(cat "$T/out")"
    else
      ln "$T/a/$b" "$T/r/w-$b" && mdadm --restore="$T/r" "$T/w-$b" >/dev/null 2>"$T/err" ||
        fail "$b: mdadm --restore of mdfsadm's dump: $(cat "$T/err")"
    fi
    cmp -s "$T/w-$b" "$SRC/$b" && n=$((n + 1)) ||
      fail "$b: restored by $way, differs from the member: $(cmp "$T/w-$b" "$SRC/$b" | head -1)"
    rm -f "$T/w-$b"
  done
done
check "members restored byte for byte, both ways" 16 "$n"
# --restore=FILE with one member: that file.
cp "$SRC/o90-1.img" "$T/w.img"
dd if=/dev/zero of="$T/w.img" bs=64K count=1 seek=$(( $(stat -c %s "$T/w.img") / 65536 - 1 )) conv=notrunc status=none
"$ADM" --restore="$T/a/o90-1.img" "$T/w.img" >/dev/null 2>"$T/err" || fail "--restore=FILE: $(cat "$T/err")"
cmp -s "$T/w.img" "$SRC/o90-1.img" && pass "--restore=FILE restores from that file" || fail "--restore=FILE differs"

# Refusals, as mdadm.
c=0
same "--dump to no folder" --dump="$T/a/none" "$SRC/b12-0.img" && c=$((c + 1))
same "--dump of a file without metadata" --dump="$T/a" "$T/data" && c=$((c + 1))
same "--dump where the dump exists" --dump="$T/a" "$SRC/b12-0.img" && c=$((c + 1))
same "--dump of no file" --dump="$T/a" "$T/nothere.img" && c=$((c + 1))
truncate -s 8M "$T/small.img"
mkdir "$T/s"
cp "$T/a/b12-0.img" "$T/s/small.img"
"$ADM" --restore="$T/s" "$T/small.img" >/dev/null 2>"$T/err"
check "--restore of another size: exit 1" 1 "$?"
grep -q "is not the same size as $T/small.img - cannot restore" "$T/err" && c=$((c + 1)) || fail "size: $(cat "$T/err")"
"$ADM" --restore="$T/a/b12-0.img" "$T/small.img" "$T/data" >/dev/null 2>"$T/err"
check "--restore=FILE with two members: exit 16" 16 "$?"
grep -q -- "--restore requires a directory when multiple devices given" "$T/err" && c=$((c + 1)) || fail "$(cat "$T/err")"
"$ADM" --restore="$T/nowhere" "$T/small.img" >/dev/null 2>"$T/err"
check "--restore from nowhere: exit 16" 16 "$?"
c=$((c + 1))
"$ADM" --restore="$T/a" "$T/small.img" >/dev/null 2>"$T/err"
check "--restore with no dump of that name: exit 1" 1 "$?"
grep -q "Cannot find suitable file in $T/a for $T/small.img" "$T/err" && c=$((c + 1)) || fail "$(cat "$T/err")"
"$ADM" --dump="$T/a" --restore="$T/a" "$SRC/b12-0.img" >/dev/null 2>"$T/err"
check "--dump and --restore together: exit 2" 2 "$?"
c=$((c + 1))
check "refusals checked" 9 "$c"

# A member of a running array is not restored; restored members assemble.
mount_mdfs -o assemble=none
"$ADM" --assemble "$MNT/dev/md1" b12-0.img b12-1.img 2>"$T/err" || fail "assemble md1: $(cat "$T/err")"
sum=$(md5sum < "$SRC/b12-0.img")
"$ADM" --restore="$T/m" "$SRC/b12-0.img" >/dev/null 2>"$T/err"
check "--restore onto a running member: exit 1" 1 "$?"
grep -q "a member of $MNT/dev/md1" "$T/err" || fail "running member: $(cat "$T/err")"
check "the running member is untouched" "$sum" "$(md5sum < "$SRC/b12-0.img")"
"$ADM" --stop "$MNT/dev/md1" 2>/dev/null
# Wipe both members' superblocks, restore them, assemble, read the data back.
for b in b12-0.img b12-1.img; do
  dd if=/dev/zero of="$SRC/$b" bs=4096 count=1 seek=1 conv=notrunc status=none
  "$ADM" --restore="$T/m" "$SRC/$b" >/dev/null 2>"$T/err" || fail "restore $b: $(cat "$T/err")"
done
"$ADM" --assemble "$MNT/dev/md1" b12-0.img b12-1.img 2>"$T/err" || fail "assemble restored md1: $(cat "$T/err")"
cmp -s -n 4194304 "$MNT/dev/md1" "$T/data" && pass "the restored array holds its data" || fail "md1's data differs"
"$ADM" --stop "$MNT/dev/md1" 2>/dev/null
unmount_mdfs
finish
