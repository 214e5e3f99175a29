#!/bin/bash
# What mdfsadm prints as mdadm does, compared with Debian's mdadm 4.2 on the
# same member files (mdadm reads superblocks from plain files): --examine,
# --examine --brief, --examine --export, --examine --brief --verbose and
# --examine --scan over every array, --query of a member, and the bytes
# --zero-superblock leaves. The members come from arrays mdfs made (every
# level, each metadata version, a spare, a degraded and a failed member)
# and from the kernel-made fixtures when they are there.
. "$(dirname "$0")/lib.sh"
requires mdadm xz python3
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
make() {  # make NAME ARGS... FILES...: an array of blank 16 MiB files
  local name=$1
  shift
  "$ADM" -CR "$MNT/dev/$name" "$@" >/dev/null 2>"$T/err" || fail "creating $name: $(cat "$T/err")"
}
blank() { for f in "$@"; do truncate -s 16M "$SRC/$f"; done; }
blank r1-{0,1}.img r5-{0,1,2,3}.img r6-{0,1,2,3}.img r10-{0,1,2,3}.img r0-{0,1}.img lin-{0,1}.img \
  r4-{0,1,2}.img d1-{0,1}.img f5-{0,1,2}.img
make md1 -l1 -n2 r1-0.img r1-1.img
make md5 -l5 -n3 -x1 -c64 r5-0.img r5-1.img r5-2.img r5-3.img
make md6 -e1.1 -l6 -n4 -c128 r6-0.img r6-1.img r6-2.img r6-3.img
make md10 -e1.0 -l10 -pf2 -n4 -c64 r10-0.img r10-1.img r10-2.img r10-3.img
make md_zero -l0 -n2 -c64 r0-0.img r0-1.img
make md_lin -e1.0 -llinear -n2 lin-0.img lin-1.img
make md4 -e0.90 -l4 -n3 -c64 r4-0.img r4-1.img r4-2.img
make md11 -e0.90 -l1 -n3 d1-0.img d1-1.img missing
make md15 -l5 -n3 f5-0.img f5-1.img f5-2.img
"$ADM" "$MNT/dev/md15" --fail f5-1.img >/dev/null 2>&1
"$ADM" --stop --scan --mount "$MNT" 2>/dev/null
unmount_mdfs

# The kernel's own members: every member of every fixture case.
FILES=("$SRC"/*.img)
cases=$(fixture_cases) || exit 1
want_members=0 kernel_members=0
for case in $cases; do
  want_members=$((want_members + $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['members_in_role_order']))" "$FIXTURES/$case/manifest.json")))
  for x in "$FIXTURES/$case"/member-*.img.xz; do
    [ -e "$x" ] || continue
    out="$T/k-$case-$(basename "${x%.xz}")"
    xz -dc "$x" > "$out" && FILES+=("$out") && kernel_members=$((kernel_members + 1))
  done
done
checked_cases "kernel-md fixture members unpacked" "$want_members" "$kernel_members"

# same NAME ARGS...: mdfsadm ARGS and mdadm ARGS print the same (stdout,
# then stderr with mdadm's name for the tool) and exit the same.
cases=0
same() {
  local name=$1
  shift
  "$ADM" "$@" >"$T/a.out" 2>"$T/a.err"; local ra=$?
  mdadm "$@" >"$T/m.out" 2>"$T/m.err"; local rm=$?
  sed -i 's/^mdfsadm:/mdadm:/' "$T/a.err"
  cases=$((cases + 1))
  if cmp -s "$T/a.out" "$T/m.out" && cmp -s "$T/a.err" "$T/m.err" && [ "$ra" = "$rm" ]; then
    return 0
  fi
  fail "$name: mdfsadm $* differs from mdadm (exit $ra, $rm):"
  diff "$T/m.out" "$T/a.out" | head -20
  diff "$T/m.err" "$T/a.err" | head -5
}
for f in "${FILES[@]}"; do
  same "$(basename "$f") --examine" --examine "$f"
  same "$(basename "$f") --examine --brief" --examine --brief "$f"
  same "$(basename "$f") --examine --export" --examine --export "$f"
  same "$(basename "$f") --query" --query "$f"
done
same "--examine --scan" --examine --scan "${FILES[@]}"
same "--examine --brief --verbose" --examine --brief --verbose "${FILES[@]}"
truncate -s 16M "$T/blank.img"
same "--examine of a blank file" --examine "$T/blank.img"
same "--examine --brief of a blank file" --examine --brief "$T/blank.img"
same "--examine of no file" --examine "$T/nothere.img"
check "every file examined four ways" $(( ${#FILES[@]} * 4 + 5 )) "$cases"
[ "${#FILES[@]}" -ge 24 ] && pass "${#FILES[@]} member files" || fail "only ${#FILES[@]} member files"

# --zero-superblock writes what mdadm writes.
for f in r5-3.img r4-0.img r6-0.img r10-0.img; do
  cp "$SRC/$f" "$T/z-mdadm"
  cp "$SRC/$f" "$T/z-mdfsadm"
  mdadm --zero-superblock "$T/z-mdadm" 2>/dev/null
  "$ADM" --zero-superblock "$T/z-mdfsadm" 2>/dev/null
  cmp -s "$T/z-mdadm" "$T/z-mdfsadm" && pass "--zero-superblock $f: the same bytes as mdadm's" ||
    fail "--zero-superblock $f: bytes differ from mdadm's"
done
finish
