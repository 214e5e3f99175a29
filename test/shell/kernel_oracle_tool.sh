#!/bin/bash
# The kernel oracle as a tool, without a real boot: its --help names every
# command and exit status, usage errors exit 2 and a missing image 4 with
# the reason, a kernel that never boots is tried again and reported (exit
# 4), and the fixtures in the repository are exactly the cases of its
# tables, each recording the command, kernel and mdadm that made it, and
# small (a few MiB in all).
# run-tests: once (it runs no mdfs)
. "$(dirname "$0")/lib.sh"
requires python3 du qemu-system-x86_64 modprobe busybox mdadm
ORACLE=${ORACLE:-$ROOT/tools/kernel-oracle/oracle}

help=$("$ORACLE" --help 2>&1)
check "--help: exit 0" 0 $?
for cmd in assemble run readd resume make-fixtures make-state-fixtures regenerate list info; do
  grep -qE "^    $cmd( |$)" <<<"$help" && pass "--help names $cmd" || fail "--help does not name $cmd"
done
for rc in 0 1 2 3 4; do
  grep -q "^  $rc  " <<<"$help" && pass "--help explains exit $rc" || fail "--help does not explain exit $rc"
done
for cmd in assemble run readd resume make-fixtures make-state-fixtures regenerate; do
  "$ORACLE" "$cmd" --help >/dev/null 2>&1 && pass "$cmd --help" || fail "$cmd --help"
done

"$ORACLE" >/dev/null 2>&1
check "no command: exit 2" 2 $?
"$ORACLE" assemble >/dev/null 2>"$T/err"
check "assemble without images: exit 2" 2 $?
"$ORACLE" readd 5 "$T/a.img" >/dev/null 2>"$T/err"
check "readd N out of range: exit 2" 2 $?
"$ORACLE" assemble "$T/none.img" >/dev/null 2>"$T/err"
check "assemble of a missing image: exit 4" 4 $?
check "... saying which" "kernel-oracle: no image $T/none.img" "$(cat "$T/err")"
# A kernel that never boots (here: not a kernel) is tried again, then
# reported with exit 4; the initramfs goes to a cache folder made for it.
kernel=$(ls /boot/vmlinuz-* | sort -V | tail -1)
head -c 4096 /dev/urandom > "$T/${kernel##*/}"
truncate -s 1M "$T/a.img"
ORACLE_KERNEL=$T/${kernel##*/} ORACLE_BOOT_ATTEMPTS=2 ORACLE_CACHE=$T/cache ORACLE_TMP=$T \
  "$ORACLE" assemble "$T/a.img" >/dev/null 2>"$T/err"
check "a boot that never runs its script: exit 4" 4 $?
check "... tried twice" 1 "$(grep -c "boot 1 never ran the script" "$T/err")"
grep -q "the guest never ran its script (2 boots)" "$T/err" && pass "... and said so" || fail "no reason: $(cat "$T/err")"
ls "$T/cache"/initramfs-"${kernel#/boot/vmlinuz-}"-*.cpio >/dev/null 2>&1 && pass "initramfs cached by kernel version" ||
  fail "no initramfs in $T/cache: $(ls "$T/cache")"

"$ORACLE" make-fixtures "$T/out" no-such-case >/dev/null 2>"$T/err"
check "an unknown case: exit 1" 1 $?
grep -q "unknown case no-such-case" "$T/err" && pass "unknown case named" || fail "unknown case: $(cat "$T/err")"

# The fixtures are the tables' cases, each with its provenance.
list=$("$ORACLE" list)
for set in kernel-md kernel-md-states; do
  dir=$ROOT/test/fixtures/$set
  want=$(sed -n "s/^$set: *//p" <<<"$list" | tr ' ' '\n' | sort)
  check "$set: cases.txt is the table" "$want" "$(sort "$dir/cases.txt" 2>/dev/null)"
  check "$set: a folder for each case, no other" "$want" "$(cd "$dir" && ls -d */ | tr -d / | sort)"
  fixture_cases "$dir" >/dev/null || exit 1
done
# One line per fixture: "SET/CASE ok" or what is wrong with its provenance.
python3 - "$ROOT/test/fixtures" >"$T/provenance" <<'EOF'
import json, os, sys
root = sys.argv[1]
for s, sub in (("kernel-md", "make-fixtures"), ("kernel-md-states", "make-state-fixtures")):
    for c in open(os.path.join(root, s, "cases.txt")).read().split():
        m = json.load(open(os.path.join(root, s, c, "manifest.json")))
        p = m.get("provenance", {})
        want = f"tools/kernel-oracle/oracle {sub} test/fixtures/{s} {c}"
        bad = [k for k in ("kernel", "mdadm", "qemu", "busybox") if not p.get(k)]
        ok = p.get("command") == want and not bad and m.get("case") == c
        print(f"{s}/{c}", "ok" if ok else f"command {p.get('command')!r}, want {want!r}; missing {bad}")
EOF
n=0
while read -r c verdict; do
  check "$c: provenance" ok "$verdict"
  n=$((n + 1))
done < "$T/provenance"
checked_cases "fixtures with provenance" "$(echo "$list" | sed 's/^[^:]*: *//' | wc -w)" "$n"
kib=$(du -sk "$ROOT/test/fixtures" | cut -f1)
[ "$kib" -le 5120 ] && pass "test/fixtures is $kib KiB" || fail "test/fixtures is $kib KiB, over 5 MiB"
finish
