#!/bin/bash
# 0.90 superblocks of the other byte order (a big-endian machine's, made as
# mdadm's test 04r5swap makes them: every 32-bit word reversed, the halves
# of the event counters exchanged): mdfsadm --examine --metadata=0.swap
# prints them as Debian's mdadm does, and as the superblock read before the
# swap; a plain --assemble does not take them (as mdadm); --assemble
# --update=byteorder writes them back in this machine's order and starts
# the array with its data.
. "$(dirname "$0")/lib.sh"
requires mdadm python3 cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
MD=$MNT/dev/md0

# swap FILE: the 0.90 superblock byte-swapped in place.
swap() {
  python3 - "$1" <<'EOF'
import os, sys
path = sys.argv[1]
at = (os.stat(path).st_size // 65536 - 1) * 65536
with open(path, "r+b") as f:
    f.seek(at)
    sb = bytearray(f.read(4096))
    for i in range(0, 4096, 4):
        sb[i:i + 4] = sb[i:i + 4][::-1]
    for a, b in ((39 * 4, 40 * 4), (41 * 4, 42 * 4)):  # events, cp_events
        sb[a:a + 4], sb[b:b + 4] = sb[b:b + 4], sb[a:a + 4]
    f.seek(at)
    f.write(sb)
EOF
}

mount_mdfs -o assemble=none
truncate -s 20M "$SRC"/l{0,1,2,3}.img
"$ADM" -CR "$MD" -e0.90 -l5 -n4 --assume-clean l0.img l1.img l2.img l3.img 2>"$T/err" || fail "create: $(cat "$T/err")"
head -c 8M /dev/urandom > "$T/data"
dd if="$T/data" of="$MD" bs=1M conv=notrunc,fsync status=none
"$ADM" --stop "$MD" 2>/dev/null
n=0
for f in "$SRC"/l?.img; do
  mdadm --examine "$f" > "$T/$(basename "$f").before"
  swap "$f"
  mdadm --examine "$f" >/dev/null 2>&1 && fail "$f: still a host-order superblock after the swap"
  mdadm --examine --metadata=0.swap "$f" > "$T/m.out" 2>&1
  "$ADM" --examine --metadata=0.swap "$f" > "$T/a.out" 2>&1
  cmp -s "$T/m.out" "$T/a.out" || { fail "$f: -E --metadata=0.swap differs from mdadm's"; diff "$T/m.out" "$T/a.out" | head; }
  cmp -s "$T/$(basename "$f").before" "$T/a.out" && n=$((n + 1)) || fail "$f: the swapped superblock examines differently"
done
check "swapped superblocks examined as before the swap, and as mdadm" 4 "$n"

"$ADM" --assemble "$MD" l0.img l1.img l2.img l3.img >/dev/null 2>"$T/err"
check "a plain --assemble does not take swapped superblocks: exit 1" 1 "$?"
grep -q "no recogniseable superblock on $SRC/l0.img" "$T/err" || fail "plain assemble: $(cat "$T/err")"
"$ADM" --assemble -e0.90 --update=byteorder "$MD" l0.img l1.img l2.img l3.img >/dev/null 2>"$T/err"
check "--update=byteorder with --metadata: exit 2" 2 "$?"
grep -q "must not set metadata type with --update=byteorder." "$T/err" || fail "$(cat "$T/err")"

"$ADM" --assemble --update=byteorder "$MD" l0.img l1.img l2.img l3.img 2>"$T/err"
check "--assemble --update=byteorder: exit 0" 0 "$?"
check "the array is whole" "[UUUU]" "$(grep -o '\[[U_]*\]' "$MNT/proc/mdstat")"
cmp -s -n 8388608 "$MD" "$T/data" && pass "the array holds its data" || fail "the data differs"
"$ADM" --stop "$MD" 2>/dev/null
unmount_mdfs
n=0
for f in "$SRC"/l?.img; do
  mdadm --examine "$f" > "$T/after" 2>&1 || { fail "$f: no host-order superblock after byteorder"; continue; }
  # Only the update time, events and checksum moved.
  diff <(grep -vE "Update Time|Events|Checksum" "$T/$(basename "$f").before") \
    <(grep -vE "Update Time|Events|Checksum" "$T/after") >/dev/null && n=$((n + 1)) ||
    fail "$f: the superblock changed: $(diff "$T/$(basename "$f").before" "$T/after")"
done
check "every member in this machine's order again" 4 "$n"
finish
