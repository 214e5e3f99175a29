#!/bin/bash
# mdfsadm and the bitmap as mdadm has them: -X prints what mdadm -X prints
# for the same bitmap (kernel-made members, as recorded by the kernel's
# mdadm and as Debian's mdadm reads the bitmap copied out to a plain file;
# members mdfs wrote in 1.2, 1.0 and 0.90), --create --bitmap and
# --bitmap-chunk (and mdadm's default: members over 100 GiB get one),
# --grow --bitmap=internal|none, with mdadm's errors and exit statuses.
. "$(dirname "$0")/lib.sh"
requires xz mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
for d in "$FIXTURES/raid5-4-bitmap" "$FIXTURES_STATES/raid1-bitmap-dirty" "$FIXTURES_STATES/raid1-bitmap-powercut"; do
  [ -f "$d/manifest.json" ] || { fail "no fixture $d"; finish; }
done
# The bitmap copied out of a member to a plain file, which mdadm -X reads
# from its start.
extract() {
  local sb off
  sb=$(mdadm --examine "$1" | sed -n 's/^ *Super Offset : \([0-9]*\) sectors.*/\1/p')
  off=$(mdadm --examine "$1" | sed -n 's/^ *Internal Bitmap : \(-*[0-9]*\) sectors.*/\1/p')
  [ -z "$sb" ] && sb=$(( ($(stat -c %s "$1") / 65536 - 1) * 128 )) && off=8   # 0.90
  dd if="$1" of="$2" bs=512 skip=$((sb + off)) count=256 status=none
}
# -X of a member against mdadm -X of its bitmap, every line but Filename.
same_as_mdadm() {
  extract "$1" "$T/bm"
  diff <("$ADM" -X "$1" 2>&1 | grep -v Filename) <(mdadm -X "$T/bm" 2>&1 | grep -v Filename) >"$T/diff" &&
    pass "$2: -X as mdadm -X" || { fail "$2: -X differs from mdadm -X"; cat "$T/diff"; }
}

# Kernel-made bitmaps: as the kernel's mdadm recorded them, and as mdadm
# reads them now.
cases=0
for d in "$FIXTURES/raid5-4-bitmap" "$FIXTURES_STATES/raid1-bitmap-dirty" "$FIXTURES_STATES/raid1-bitmap-powercut"; do
  i=0
  for f in "$d"/member-*.img.xz; do
    xz -dc "$f" >"$SRC/k.img"
    vd=/dev/vd$(printf "\\x$(printf %x $((97 + i)))")
    awk -v k="== $vd" '$0 == k { on = 1; next } /^== / { on = 0 } on' "$d/kernel-examine-bitmap.txt" | grep -v Filename >"$T/kernel"
    diff <("$ADM" -X "$SRC/k.img" | grep -v Filename) "$T/kernel" >"$T/diff" &&
      pass "$(basename "$d") $vd: -X as the kernel's mdadm recorded it" || { fail "$(basename "$d") $vd: -X"; cat "$T/diff"; }
    same_as_mdadm "$SRC/k.img" "$(basename "$d") $vd"
    i=$((i + 1)) cases=$((cases + 1))
  done
done
check "kernel-made members compared" 8 "$cases"
check "-X names the file" "        Filename : $SRC/k.img" "$("$ADM" -X "$SRC/k.img" | head -1)"
extract "$SRC/k.img" "$T/plain"
check "-X of a plain bitmap file" "$(mdadm -X "$T/plain" 2>&1)" "$("$ADM" -X "$T/plain" 2>&1 | sed 's/^mdfsadm:/mdadm:/')"
check "--examine-bitmap --brief stops at Sync Size" "       Sync Size : 7168 (7.00 MiB 7.34 MB)" \
  "$("$ADM" --examine-bitmap --brief "$SRC/k.img" | tail -1)"
xz -dc "$FIXTURES/raid5-4-ls/member-0.img.xz" >"$SRC/nobitmap.img"
"$ADM" -X "$SRC/nobitmap.img" >/dev/null 2>"$T/err"
check "a member without a bitmap: exit 1" 1 $?
check "... and mdadm's words" "mdfsadm: $SRC/nobitmap.img doesn't have bitmap" "$(cat "$T/err")"

# Bitmaps mdfs made, in each superblock format.
mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/a{0,1}.img "$SRC"/c{0,1}.img "$SRC"/e{0,1}.img "$SRC"/n{0,1}.img
"$ADM" --create "$MNT/dev/md_a" -l1 -n2 --bitmap=internal --bitmap-chunk=256K a{0,1}.img 2>/dev/null
check "1.2: created with a bitmap" "+8 262144" "$(cat "$(sys md_a bitmap/location)") $(cat "$(sys md_a bitmap/chunksize)")"
"$ADM" --create "$MNT/dev/md_c" -l1 -n2 -e1.0 --bitmap=internal c{0,1}.img 2>/dev/null
check "1.0: below the superblock, as mdadm puts it" "-16 67108864" \
  "$(cat "$(sys md_c bitmap/location)") $(cat "$(sys md_c bitmap/chunksize)")"
"$ADM" --create "$MNT/dev/md_e" -l1 -n2 -e0.90 --bitmap=internal e{0,1}.img 2>/dev/null
check "0.90: 4 KiB after the superblock" "+8" "$(cat "$(sys md_e bitmap/location)")"
"$ADM" --create "$MNT/dev/md_n" -l1 -n2 n{0,1}.img 2>/dev/null
check "8 MiB members: no bitmap unless asked" none "$(cat "$(sys md_n bitmap/location)")"
for a in md_a md_c md_e; do dd if=/dev/urandom of="$MNT/dev/$a" bs=64k count=3 seek=7 conv=notrunc,fsync status=none; done
"$ADM" --stop "$MNT/dev/md_a" "$MNT/dev/md_c" "$MNT/dev/md_e" 2>/dev/null
same_as_mdadm "$SRC/a0.img" "mdfs 1.2"
same_as_mdadm "$SRC/c1.img" "mdfs 1.0"
check "mdfs 1.0: mdadm --examine" "-16 sectors from superblock" "$(mdadm --examine "$SRC/c0.img" | sed -n 's/^ *Internal Bitmap : //p')"
# 0.90 keeps the uuid's words in host order, which mdadm prints only when
# it knows the superblock (a block device): the plain copy's UUID differs.
extract "$SRC/e0.img" "$T/bm"
diff <("$ADM" -X "$SRC/e0.img" | grep -v -e Filename -e UUID) <(mdadm -X "$T/bm" | grep -v -e Filename -e UUID) &&
  pass "mdfs 0.90: -X as mdadm -X" || fail "mdfs 0.90: -X differs"
check "mdfs 0.90: the bitmap's UUID is the array's" "$(mdadm --examine "$SRC/e0.img" | sed -n 's/^ *UUID : //p')" \
  "$("$ADM" -X "$SRC/e0.img" | sed -n 's/^ *UUID : //p')"
check "after a clean stop: nothing dirty" "0 dirty" "$("$ADM" -X "$SRC/a1.img" | grep -o '0 dirty')"

# --grow.
"$ADM" --assemble "$MNT/dev/md_a" a{0,1}.img 2>/dev/null
"$ADM" --grow "$MNT/dev/md_a" --bitmap=internal 2>"$T/err"
check "--grow --bitmap=internal with one: exit 1" 1 $?
check "... bitmap already present" "mdfsadm: bitmap already present on $MNT/dev/md_a" "$(cat "$T/err")"
"$ADM" --grow "$MNT/dev/md_a" --bitmap=none 2>/dev/null
check "--grow --bitmap=none removes it" none "$(cat "$(sys md_a bitmap/location)")"
"$ADM" --grow "$MNT/dev/md_a" --bitmap=none 2>"$T/err"
check "--grow --bitmap=none without one: exit 1" 1 $?
check "... no bitmap found" "mdfsadm: no bitmap found on $MNT/dev/md_a" "$(cat "$T/err")"
"$ADM" --grow "$MNT/dev/md_n" --bitmap=internal 2>/dev/null
check "--grow --bitmap=internal adds one (mdadm's chunk)" "+8 67108864" \
  "$(cat "$(sys md_n bitmap/location)") $(cat "$(sys md_n bitmap/chunksize)")"
"$ADM" --grow "$MNT/dev/md_n" 2>/dev/null
check "--grow without --bitmap: usage, exit 2" 2 $?

# mdadm's errors at --create.
truncate -s 8M "$SRC"/z{0,1}.img
"$ADM" --create "$MNT/dev/md_z" -l0 -n2 --bitmap=internal z{0,1}.img 2>"$T/err"
check "raid0 with a bitmap: exit 1" 1 $?
check "... not meaningful" "mdfsadm: bitmaps not meaningful with level raid0" "$(cat "$T/err")"
"$ADM" --create "$MNT/dev/md_z" -l1 -n2 --bitmap=internal --bitmap-chunk=3K z{0,1}.img 2>"$T/err"
check "--bitmap-chunk 3K: exit 2" 2 $?
check "... invalid" "mdfsadm: invalid bitmap chunksize: 3K" "$(cat "$T/err")"
"$ADM" --create "$MNT/dev/md_z" -l1 -n2 --bitmap=/tmp/bm z{0,1}.img 2>/dev/null
check "a bitmap file: exit 1" 1 $?
check "nothing was made" "" "$(ls "$MNT/dev" | grep md_z)"

# mdadm's default: members over 100 GiB get a bitmap (sparse files).
truncate -s 101G "$SRC"/g{0,1}.img "$SRC"/h{0,1}.img
"$ADM" --create "$MNT/dev/md_g" -l1 -n2 g{0,1}.img 2>/dev/null
check "over 100 GiB: a bitmap by default, mdadm's 64 MiB chunk" "+8 67108864" \
  "$(cat "$(sys md_g bitmap/location)") $(cat "$(sys md_g bitmap/chunksize)")"
"$ADM" --create "$MNT/dev/md_h" -l1 -n2 --bitmap=none h{0,1}.img 2>/dev/null
check "... unless --bitmap=none" none "$(cat "$(sys md_h bitmap/location)")"
unmount_mdfs
finish
