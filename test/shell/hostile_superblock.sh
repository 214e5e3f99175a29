#!/bin/bash
# Hostile superblocks: kernel-made members with one field set out of bounds
# (tools/sb-edit recomputes the checksum, so only the value can be refused).
# mdfs never writes outside a member's superblock and bitmap, never sizes
# anything by such a field, refuses what is out of bounds with a reason in
# its log, and changes nothing when it refuses. A bitmap's sync_size is not
# trusted (the kernel rewrites it too). mdfsadm --examine stays bounded.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum cmp od
SB_EDIT=$(cd "$(dirname "$0")/../.." && pwd)/tools/sb-edit
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
BM=$FIXTURES/raid5-4-bitmap R1=$FIXTURES/raid1-2 R0=$FIXTURES/raid1-2-meta0.90
for f in "$BM" "$R1" "$R0"; do [ -f "$f/member-0.img.xz" ] || { fail "fixture missing: $f"; finish; }; done
sha_of() { sed -n 's/^ "sha256": "\(.*\)",$/\1/p' "$1/manifest.json"; }

# unpack FIXTURE: its members into a fresh SOURCE, as m0.img, m1.img...
unpack() {
  rm -rf "$SRC" "$T/orig"; mkdir -p "$SRC" "$T/orig"
  local i=0
  for x in "$1"/member-*.img.xz; do xz -dc "$x" >"$SRC/m$i.img"; i=$((i + 1)); done
}
edit() { "$SB_EDIT" "$@" >/dev/null || fail "sb-edit $*"; }
keep() { cp "$SRC"/*.img "$T/orig/"; }
# unchanged NAME: every member byte for byte as kept.
unchanged() {
  local f bad=
  for f in "$T"/orig/*.img; do cmp -s "$f" "$SRC/$(basename "$f")" || bad="$bad $(basename "$f")"; done
  check "$1: nothing written" "" "$bad"
}
logged() { grep -qF -- "$2" "$T/mdfs.log" && pass "$1" || fail "$1: log has no [$2]: $(cat "$T/mdfs.log")"; }
u64_at() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }

# 1. A bitmap sync_size of 2^26 sectors on one member of a raid5: assembled
# as the kernel does (one bitmap for the array, covering the array), the
# member's data area byte for byte as before, its sync_size rewritten.
unpack "$BM"
edit "$SRC/m0.img" bitmap.sync_size=$((1 << 26))
keep
mount_mdfs
check "sync_size 2^26: the array runs" "$(sha_of "$BM")" "$(sha256sum <"$MNT/dev/md_oracle" | cut -d' ' -f1)"
unmount_mdfs
check "sync_size 2^26: member size unchanged" "$(stat -c %s "$T/orig/m0.img")" "$(stat -c %s "$SRC/m0.img")"
cmp -s <(tail -c +$((8192 + 512 + 1)) "$T/orig/m0.img") <(tail -c +$((8192 + 512 + 1)) "$SRC/m0.img") &&
  pass "sync_size 2^26: nothing written past the bitmap's first sector" || fail "sync_size 2^26: member data changed"
check "sync_size 2^26: rewritten as the array's 14336 sectors" 14336 "$(u64_at "$SRC/m0.img" $((8192 + 40)))"

# 2. 2^50 on every member (it aborted the daemon): the same.
unpack "$BM"
for i in 0 1 2 3; do edit "$SRC/m$i.img" bitmap.sync_size=$((1 << 50)); done
mount_mdfs
check "sync_size 2^50: the array runs" "$(sha_of "$BM")" "$(sha256sum <"$MNT/dev/md_oracle" | cut -d' ' -f1)"
unmount_mdfs

# 3. A bitmap that would run into a member's data: refused, nothing written.
unpack "$BM"
for i in 0 1 2 3; do edit "$SRC/m$i.img" bitmap.chunksize=512; done
edit "$SRC/m1.img" data_offset=19
keep
mount_mdfs
check "bitmap into data: not started" "" "$(ls "$MNT/dev")"
logged "bitmap into data: the log says why" \
  "cannot start: m1.img: bitmap of 4 sectors at sector 16 runs into the data (sectors 19 to 14355)"
unmount_mdfs
unchanged "bitmap into data"

# 4. A bitmap superblock the kernel refuses (bad magic): the start is refused.
unpack "$BM"
for i in 0 1 2 3; do edit "$SRC/m$i.img" bitmap.magic=0; done
keep
mount_mdfs
check "bad bitmap magic: not started" "" "$(ls "$MNT/dev")"
logged "bad bitmap magic: the log says why" "bitmap at sector 16: bad bitmap magic"
unmount_mdfs
unchanged "bad bitmap magic"

# 5. v1 raid_disks 0x7fffffff on one member (mdfs allocated without bound
# and hung): that member is refused with the reason, the other runs the
# array degraded; the refused member is not written.
unpack "$R1"
edit "$SRC/m0.img" raid_disks=0x7fffffff
keep
mount_mdfs
logged "raid_disks 0x7fffffff: the log says why" \
  "m0.img: 1.2: raid_disks 2147483647 exceeds the 1920 devices a v1 superblock can describe"
check "raid_disks 0x7fffffff: the other member runs it" "$(sha_of "$R1")" \
  "$(sha256sum <"$MNT/dev/md_oracle" | cut -d' ' -f1)"
check "mdstat answers" 1 "$(grep -c '^md_oracle : active raid1 m1.img\[1\]' "$MNT/proc/mdstat")"
unmount_mdfs
cmp -s "$T/orig/m0.img" "$SRC/m0.img" && pass "raid_disks 0x7fffffff: the refused member untouched" ||
  fail "raid_disks 0x7fffffff: m0.img written"

# 6. v1 raid_disks 0xffffffff on both, and 0.90 raid_disks 28: nothing runs,
# nothing is written; --examine refuses at once (it used to spin).
unpack "$R1"
edit "$SRC/m0.img" raid_disks=0xffffffff
edit "$SRC/m1.img" raid_disks=0xffffffff
keep
mount_mdfs
check "raid_disks 0xffffffff: nothing assembled" "" "$(ls "$MNT/dev")"
unmount_mdfs
unchanged "raid_disks 0xffffffff"
out=$(timeout 20 "$ADM" --examine "$SRC/m0.img" 2>&1)
check "--examine raid_disks 0xffffffff: refused at once, with the reason" \
  "mdfsadm: the md superblock on $SRC/m0.img is refused: 1.2: raid_disks 4294967295 exceeds the 1920 devices a v1 superblock can describe" \
  "$out"
# --assemble of such a member says the same and aborts, with nothing made.
mount_mdfs -o assemble=none
out=$(timeout 20 "$ADM" --assemble --run "$MNT/dev/md9" m0.img m1.img 2>&1)
check "--assemble raid_disks 0xffffffff: exit 1, the reason" \
  "1 mdfsadm: the superblock on $SRC/m0.img is refused: 1.2: raid_disks 4294967295 exceeds the 1920 devices a v1 superblock can describe - assembly aborted" \
  "$? $out"
check "--assemble raid_disks 0xffffffff: nothing made" "" "$(ls "$MNT/dev")"
unmount_mdfs
unchanged "raid_disks 0xffffffff after --assemble"
unpack "$R0"
edit --minor 90 "$SRC/m0.img" raid_disks=28
edit --minor 90 "$SRC/m1.img" raid_disks=28
keep
mount_mdfs
check "0.90 raid_disks 28: nothing assembled" "" "$(ls "$MNT/dev")"
logged "0.90 raid_disks 28: the log says why" "m0.img: 0.90: raid_disks 28 exceeds the 27 devices a 0.90 superblock can describe"
unmount_mdfs
unchanged "0.90 raid_disks 28"

# 7. 0.90 spare_disks 0x7fffffff (a count the kernel recomputes): the array
# runs, and --examine prints the superblock (UBSan saw a signed overflow).
unpack "$R0"
edit --minor 90 "$SRC/m0.img" spare_disks=0x7fffffff
out=$(timeout 20 "$ADM" --examine "$SRC/m0.img" 2>&1)
check "--examine spare_disks 0x7fffffff: exit 0" 0 "$?"
check "--examine spare_disks 0x7fffffff: prints it" 1 "$(grep -c '^  Spare Devices : 2147483647$' <<<"$out")"
mount_mdfs
check "spare_disks 0x7fffffff: the array runs" "$(sha_of "$R0")" "$(sha256sum <"$MNT/dev/md0" | cut -d' ' -f1)"
unmount_mdfs

# 8. raid_disks 2147483647 through sysfs before active (the kernel answers
# ENOMEM once its allocation fails): EINVAL at once, the mount answers.
rm -rf "$SRC"; mkdir -p "$SRC"
truncate -s 4M "$SRC/a.img" "$SRC/b.img"
mount_mdfs -o assemble=none
sysw "$(param new_array)" md_x >/dev/null
sysw "$(sys md_x metadata_version)" 1.2 >/dev/null
sysw "$(sys md_x level)" raid1 >/dev/null
check "raid_disks 2147483647 stored (as the kernel)" ok "$(sysw "$(sys md_x raid_disks)" 2147483647)"
sysw "$(sys md_x new_dev)" a.img >/dev/null
sysw "$(sys md_x new_dev)" b.img >/dev/null
check "active: EINVAL" "Invalid argument" "$(timeout 20 bash -c "$(declare -f sysw); sysw '$(sys md_x array_state)' active")"
check "still inactive" inactive "$(cat "$(sys md_x array_state)")"
logged "the log says why" "md_x: cannot start: raid_disks 2147483647 exceeds the 1920 devices md can describe"
check "mdstat answers" 1 "$(timeout 10 grep -c '^md_x : inactive' "$MNT/proc/mdstat")"
check "members still blank" "0 0" "$(tr -d '\0' <"$SRC/a.img" | wc -c) $(tr -d '\0' <"$SRC/b.img" | wc -c)"
check "raid_disks 2 then starts" "ok ok" "$(sysw "$(sys md_x raid_disks)" 2) $(sysw "$(sys md_x array_state)" active)"
unmount_mdfs
finish
