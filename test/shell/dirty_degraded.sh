#!/bin/bash
# A raid5 that is both dirty and degraded does not start by itself: the
# kernel's raid5_run refuses it (EIO, "cannot start dirty degraded array"),
# as its parity may not match the data where a member is missing, unless
# md_mod's start_dirty_degraded is set (the parameter, or -o
# start_dirty_degraded=1). mdfsadm --assemble answers as mdadm 4.2 (consider
# --force), and --force marks the array clean first. A dirty raid1 missing a
# member starts, and the start message lists a stale member as left out.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum
SB_EDIT=$(cd "$(dirname "$0")/../.." && pwd)/tools/sb-edit
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
R5=$FIXTURES/raid5-4-ls R1=$FIXTURES/raid1-2
[ -f "$R5/member-0.img.xz" ] && [ -f "$R1/member-0.img.xz" ] || { fail "fixtures missing in $FIXTURES"; finish; }
want=$(sed -n 's/^ "sha256": "\(.*\)",$/\1/p' "$R5/manifest.json")

# Role 2 missing, the others marked dirty (resync_offset 0), checksums right.
dirty_r5() {
  rm -f "$SRC"/*.img
  for i in 0 1 3; do
    xz -dc "$R5/member-$i.img.xz" >"$SRC/r5-$i.img"
    "$SB_EDIT" "$SRC/r5-$i.img" resync_offset=0 >/dev/null || fail "sb-edit r5-$i.img"
  done
}
members_sha() { cat "$SRC"/r5-*.img | sha256sum; }

dirty_r5
before=$(members_sha)
mount_mdfs
check "start_dirty_degraded reads 0" 0 "$(cat "$(param start_dirty_degraded)")"
check "not started at mount" "" "$(ls "$MNT/dev")"
grep -q "md/raid:md_oracle: cannot start dirty degraded array." "$T/mdfs.log" && pass "the log says why" ||
  fail "log: $(cat "$T/mdfs.log")"
grep -q "md_oracle: cannot start (Input/output error)" "$T/mdfs.log" && pass "the log says EIO" ||
  fail "log: $(cat "$T/mdfs.log")"
check "members untouched" "$before" "$(members_sha)"
check "start_dirty_degraded garbage: EINVAL" "Invalid argument" "$(sysw "$(param start_dirty_degraded)" yes)"
check "still 0" 0 "$(cat "$(param start_dirty_degraded)")"

# Through sysfs, as the kernel: active answers EIO and changes nothing.
sysw "$(param new_array)" md_d >/dev/null
sysw "$(sys md_d metadata_version)" 1.2 >/dev/null
for i in 0 1 3; do sysw "$(sys md_d new_dev)" "r5-$i.img" >/dev/null; done
check "active: EIO" "Input/output error" "$(sysw "$(sys md_d array_state)" active)"
check "still inactive" inactive "$(cat "$(sys md_d array_state)")"
check "members still untouched" "$before" "$(members_sha)"
check "start_dirty_degraded 1" ok "$(sysw "$(param start_dirty_degraded)" 1)"
check "active now starts it" ok "$(sysw "$(sys md_d array_state)" active)"
grep -q "md/raid:md_d: starting dirty degraded array - data corruption possible." "$T/mdfs.log" &&
  pass "the log warns" || fail "log: $(cat "$T/mdfs.log")"
check "degraded content" "$want" "$(sha256sum <"$MNT/dev/md_d" | cut -d' ' -f1)"
# As the kernel, whose resync of a raid5 missing a member has nothing to do:
# the array ends in sync.
eventually "then in sync" none cat "$(sys md_d resync_start)"
check "and the content unchanged" "$want" "$(sha256sum <"$MNT/dev/md_d" | cut -d' ' -f1)"
sysw "$(sys md_d array_state)" clear >/dev/null
check "start_dirty_degraded 0x0 (kstrtoint, base 0)" ok "$(sysw "$(param start_dirty_degraded)" 0x0)"
unmount_mdfs

# mdfsadm --assemble: refused with mdadm's words, nothing written; --force
# marks the array clean and starts it.
dirty_r5
before=$(members_sha)
mount_mdfs -o assemble=none
# Without --run mdadm does not try (a member is missing): it says why.
adm --assemble "$MNT/dev/md5" r5-0.img r5-1.img r5-3.img
check "--assemble: exit 1" 1 "$RC"
check "--assemble: mdadm's words" "mdfsadm: $MNT/dev/md5 assembled from 3 drives - not enough to start the array while not clean - consider --force." "$(cat "$T/err")"
check "--assemble: no array left" no "$(exists md5)"
# With --run it tries, and the start fails as the kernel's.
adm --assemble --run "$MNT/dev/md5" r5-0.img r5-1.img r5-3.img
check "--assemble --run: exit 1" 1 "$RC"
grep -q "^mdfsadm: Not enough devices to start the array while not clean - consider --force.$" "$T/err" &&
  pass "--assemble --run says consider --force" || fail "--assemble --run said: $(cat "$T/err")"
check "--assemble --run: no array left" no "$(exists md5)"
check "--assemble: members untouched" "$before" "$(members_sha)"
adm --assemble --force "$MNT/dev/md5" r5-0.img r5-1.img r5-3.img
check "--assemble --force: exit 0" 0 "$RC"
check "--assemble --force: messages" "mdfsadm: Marking array $MNT/dev/md5 as 'clean'
mdfsadm: $MNT/dev/md5 has been started with 3 drives (out of 4)." "$(cat "$T/err")"
check "--force: content" "$want" "$(sha256sum <"$MNT/dev/md5" | cut -d' ' -f1)"
check "--force: clean" clean "$(cat "$(sys md5 array_state)")"
unmount_mdfs

# -o start_dirty_degraded=1 starts it at mount.
dirty_r5
mount_mdfs -o start_dirty_degraded=1
check "-o start_dirty_degraded=1: parameter" 1 "$(cat "$(param start_dirty_degraded)")"
check "-o start_dirty_degraded=1: started at mount" "$want" "$(sha256sum <"$MNT/dev/md_oracle" | cut -d' ' -f1)"
unmount_mdfs
"$MDFS" -o start_dirty_degraded=maybe "$SRC" "$MNT" 2>"$T/err"
check "-o start_dirty_degraded=maybe: exit 1" "1" "$?"
check "-o start_dirty_degraded=maybe: one line" 1 "$(wc -l <"$T/err")"

# A dirty raid1 missing a member starts (the kernel's check is raid4/5/6's);
# a stale member (fewer events) is kicked and left out of the start message.
rm -f "$SRC"/*.img
xz -dc "$R1/member-0.img.xz" >"$SRC/a.img"
xz -dc "$R1/member-1.img.xz" >"$SRC/b.img"
"$SB_EDIT" "$SRC/a.img" resync_offset=0 events=30 >/dev/null
"$SB_EDIT" "$SRC/b.img" events=20 >/dev/null
mount_mdfs
grep -q "^mdfs: md_oracle: started with a.img$" "$T/mdfs.log" && pass "start message: only the fresh member" ||
  fail "log: $(cat "$T/mdfs.log")"
grep -q "^mdfs: md_oracle: kicking non-fresh b.img from array!$" "$T/mdfs.log" && pass "the stale member is logged" ||
  fail "log: $(cat "$T/mdfs.log")"
check "the dirty raid1 runs degraded" "$(sed -n 's/^ "sha256": "\(.*\)",$/\1/p' "$R1/manifest.json")" \
  "$(sha256sum <"$MNT/dev/md_oracle" | cut -d' ' -f1)"
unmount_mdfs
finish
