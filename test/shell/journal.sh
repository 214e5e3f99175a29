#!/bin/bash
# raid4/5/6 write journals as the kernel left them (raid5-journal: clean;
# raid5-journal-writeback-powercut: new data only in the journal). The
# journal member is known by its role (mdstat (J), state and slot
# "journal"), never made a data member or a spare; the array starts
# read-only (mdfs reads the journal but writes none) with consistency_policy
# and journal_mode as the kernel's, and reads what the kernel read after its
# replay. Without the journal: not started at mount, mdfsadm --assemble
# refuses as mdadm (consider --force) and --force starts it read-only; a
# degraded array whose journal holds stripes not yet on the members is
# refused. No member is ever written.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum
STATES=${FIXTURES_STATES:-$(dirname "$FIXTURES")/kernel-md-states}
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
A=md_oracle
md() { cat "$(sys $A $1)"; }
members_sha() { cat "$SRC"/*.img | sha256sum | cut -d' ' -f1; }
# unpack CASE N...: member-N of the fixture as mN.img, nothing else.
unpack() {
  local fix=$STATES/$1 n
  shift
  rm -f "$SRC"/*.img
  for n in "$@"; do xz -dc "$fix/member-$n.img.xz" >"$SRC/m$n.img" || fail "unpack $fix member-$n"; done
}
manifest() { python3 -c "import json,sys; print(eval(sys.argv[2], {'m': json.load(open(sys.argv[1]))}))" "$STATES/$1/manifest.json" "$2"; }
kernel() { sed -n "s|^$2: ||p" "$STATES/$1/kernel-sysfs.txt"; }

cases=0
for c in raid5-journal raid5-journal-writeback-powercut; do
  [ -f "$STATES/$c/manifest.json" ] || { fail "no fixture $STATES/$c"; continue; }
  cases=$((cases + 1))
  unpack $c 0 1 2 3
  before=$(members_sha)
  mount_mdfs
  check "$c: started read-only, as the kernel's assembly" "$(kernel $c array_state)" "$(md array_state)"
  for attr in consistency_policy journal_mode level raid_disks degraded; do
    check "$c: $attr as the kernel's" "$(kernel $c $attr)" "$(md $attr)"
  done
  # kernel-sysfs.txt: member-3 (the journal) is vdd.
  check "$c: journal member's state and slot" "$(kernel $c dev-vdd/state) $(kernel $c dev-vdd/slot)" \
    "$(md dev-m3.img/state) $(md dev-m3.img/slot)"
  check "$c: mdstat (J), three data members up" "m3.img[0](J) [3/3] [UUU]" \
    "$(grep -o 'm3.img\[0\](J)' "$MNT/proc/mdstat") $(grep -o '\[3/3\] \[UUU\]' "$MNT/proc/mdstat")"
  check "$c: the content the kernel read" "$(manifest $c "m['sha256']")" "$(sha256sum <"$MNT/dev/$A" | cut -d' ' -f1)"
  adm --detail "$MNT/dev/$A"
  for f in "Total Devices" "Active Devices" "Working Devices" "Spare Devices" "Consistency Policy"; do
    check "$c: --detail $f as the kernel's" "$(grep "^ *$f :" "$STATES/$c/kernel-detail.txt")" "$(grep "^ *$f :" "$T/out")"
  done
  check "$c: --detail's journal line as the kernel's (number, role, state)" \
    "$(awk '$5 == "journal" {print $1, $4, $5}' "$STATES/$c/kernel-detail.txt")" "$(awk '$5 == "journal" {print $1, $4, $5}' "$T/out")"
  check "$c: read-write refused" "Read-only file system" "$(sysw "$(sys $A array_state)" active)"
  check "$c: journal_mode garbage" "Invalid argument" "$(sysw "$(sys $A journal_mode)" write-around)"
  check "$c: no pass taking the journal" idle "$(md sync_action)"
  # What the kernel's recovery found in the journal when it assembled this.
  read -r data_only data_parity < <(sed -n 's/.*recovering \([0-9]*\) data-only stripes and \([0-9]*\) data-parity stripes.*/\1 \2/p' \
    "$STATES/$c"/kernel-*.txt | head -1)
  [ -n "${data_parity:-}" ] || fail "$c: no recovery line in the fixture's kernel log"
  grep -q "md_oracle: the journal m3.img holds $data_only data-only and $data_parity data-parity stripes" "$T/mdfs.log" &&
    pass "$c: the log counts the stripes the kernel recovered ($data_only, $data_parity)" || fail "$c: log: $(cat "$T/mdfs.log")"
  unmount_mdfs
  check "$c: members untouched" "$before" "$(members_sha)"
done
check "journal fixtures run" 2 "$cases"

# Journal missing: not at mount; mdfsadm as mdadm; --force read-only.
unpack raid5-journal 0 1 2
before=$(members_sha)
mount_mdfs
check "missing journal: not started at mount" "" "$(ls "$MNT/dev")"
grep -q "md_oracle: Not safe to assemble with missing or stale journal device, consider --force." "$T/mdfs.log" &&
  pass "missing journal: the log says why" || fail "log: $(cat "$T/mdfs.log")"
adm --assemble "$MNT/dev/$A" m0.img m1.img m2.img
check "missing journal: --assemble refused" "1 mdfsadm: Not safe to assemble with missing or stale journal device, consider --force." \
  "$RC $(tail -1 "$T/err")"
check "missing journal: members untouched" "$before" "$(members_sha)"
adm --assemble --force "$MNT/dev/$A" m0.img m1.img m2.img
check "missing journal: --force starts it" 0 "$RC"
grep -q "Journal is missing or stale, starting array read only." "$T/err" && pass "missing journal: --force says read-only" ||
  fail "stderr: $(cat "$T/err")"
check "missing journal: read-only, no journal_mode" "readonly journal " "$(md array_state) $(md consistency_policy) $(md journal_mode)"
check "missing journal: content" "$(manifest raid5-journal "m['sha256']")" "$(sha256sum <"$MNT/dev/$A" | cut -d' ' -f1)"
unmount_mdfs
check "missing journal: members untouched after" "$before" "$(members_sha)"

# Degraded, with stripes in the journal not yet on the members: refused.
unpack raid5-journal-writeback-powercut 0 1 3
before=$(members_sha)
mount_mdfs -o assemble=none
adm --assemble --run "$MNT/dev/$A" m0.img m1.img m3.img
check "degraded with a pending journal: refused" 1 "$RC"
grep -q "md_oracle: cannot start: degraded, and the journal m3.img holds $data_only data-only and $data_parity data-parity stripes" "$T/mdfs.log" &&
  pass "degraded with a pending journal: the log says why" || fail "log: $(cat "$T/mdfs.log")"
check "degraded with a pending journal: no array" "" "$(ls "$MNT/dev")"
unmount_mdfs
check "degraded with a pending journal: members untouched" "$before" "$(members_sha)"
finish
