#!/bin/bash
# mdfsadm --examine reads member files as Debian's mdadm --examine does: on
# every kernel fixture member its output is mdadm's, field for field, and
# the kernel's recorded transcript's (with the guest's homehost); --scan
# gives mdadm's ARRAY lines; bad files and arguments answer as mdadm.
. "$(dirname "$0")/lib.sh"
requires mdadm xz python3
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
export TZ=UTC

# adm ARGS...: runs mdfsadm; $T/out, $T/err, and $RC hold what it answered.
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
# first_difference A B: the first line where two outputs differ, or nothing.
first_difference() { diff <(echo "$1") <(echo "$2") | grep -m2 '^[<>]' | tr '\n' ' '; }

cases=$(fixture_cases) || exit 1
members=0
for case in $cases; do
  dir=$FIXTURES/$case/
  members=$((members + $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['members_in_role_order']))" "$dir/manifest.json")))
  for m in "$dir"member-*.img.xz; do
    xz -dc "$m" > "$SRC/$case-$(basename "$m" .img.xz).img"
  done
done
n=0
for f in "$SRC"/*.img; do
  n=$((n + 1))
  name=$(basename "$f" .img)
  adm --examine "$f"
  ours=$(cat "$T/out")
  theirs=$(mdadm --examine "$f" 2>&1)
  check "$name: exit status 0" 0 "$RC"
  check "$name: every field as mdadm --examine" "" "$(first_difference "$theirs" "$ours")"
  # The transcript the kernel's guest recorded (vda is member-0...), whose
  # homehost was "(none)"; device names of the 0.90 table are the guest's.
  case=${name%-member-*}; i=${name##*-member-}
  dev=/dev/vd$(printf "\\x$(printf %x $((97 + i)))")
  want=$(awk -v d="$dev" '$0 == "== " d {p = 1; next} /^== / {p = 0} p' "$FIXTURES/$case/kernel-examine.txt" |
         tail -n +2 | sed 's|   /dev/[a-z0-9]*$||')
  adm --examine --homehost='(none)' "$f"
  got=$(tail -n +2 "$T/out" | sed 's|   /dev/[a-z0-9]*$||')
  check "$name: every field as the kernel transcript" "" "$(first_difference "$want" "$got")"
done
checked_cases "kernel-md fixture members" "$members" "$n"

adm --examine --scan "$SRC"/*.img
check "--examine --scan: mdadm's ARRAY lines" "$(mdadm --examine --scan "$SRC"/*.img)" "$(cat "$T/out")"

# A damaged checksum is reported, not hidden, as mdadm does.
cp "$SRC/raid1-2-member-0.img" "$T/bad.img"
printf '\x01' | dd of="$T/bad.img" bs=1 seek=$((8 * 512 + 216)) conv=notrunc status=none
adm --examine "$T/bad.img"
check "wrong checksum: as mdadm" "" "$(first_difference "$(mdadm --examine "$T/bad.img" 2>&1)" "$(cat "$T/out")")"
grep -q 'Checksum : .* - expected' "$T/out" && pass "wrong checksum shown as expected" || fail "checksum: $(grep Checksum "$T/out")"

# Errors: one line naming the file, mdadm's exit status.
adm --examine /etc/hostname
check "no superblock: exit 1" 1 "$RC"
check "no superblock: one line naming the file" "mdfsadm: No md superblock detected on /etc/hostname." "$(cat "$T/err")"
adm --examine "$T/none.img"
check "missing file: exit 1" 1 "$RC"
check "missing file: one line" "mdfsadm: cannot open $T/none.img: No such file or directory" "$(cat "$T/err")"
adm --examine
check "no files: exit 2" 2 "$RC"
check "no files: one line" "mdfsadm: No devices to examine" "$(cat "$T/err")"
adm --examine --bogus "$SRC/linear-2-member-0.img"
check "unknown option: exit 2" 2 "$RC"
check "unknown option: one line" 1 "$(wc -l < "$T/err")"
adm --examine /etc/hostname "$SRC/linear-2-member-0.img"
check "one bad file of two: exit 1, the other examined" "1 yes" "$RC $(grep -q 'Raid Level : linear' "$T/out" && echo yes)"
finish
