#!/bin/bash
# The README's quick start, recovery walk-through and rebuild, run as
# written (by tools/readme-run, as tools/demo runs them), then checked from
# outside: the ext4 came back after the remount and checks clean, every
# member's superblock says clean, the read-only degraded assembly changed no
# byte of the copied images and shows exactly the healthy array's contents,
# and the rebuilt member with either survivor holds those contents too.
. "$(dirname "$0")/lib.sh"
requires mkfs.ext4 fuse2fs e2fsck mdadm
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(dirname "$MDFS")
export PATH=$BIN:$BIN/tools:$PATH
QS=$T/qs
mkdir "$QS"

quickstart_cleanup() {
  for m in fs mnt rescue-mnt; do
    mountpoint -q "$QS/$m" 2>/dev/null && { fusermount3 -u "$QS/$m" 2>/dev/null || umount -l "$QS/$m"; }
  done
  cleanup
}
trap quickstart_cleanup EXIT

# run_block NAME LABEL: README's block NAME, its output in $T/NAME.out.
run_block() {
  "$ROOT/tools/readme-run" "$1" "$QS" >"$T/$1.out" 2>&1
  local rc=$?
  check "$2 runs to its end" 0 "$rc"
  [ "$rc" -eq 0 ] || tail -20 "$T/$1.out"
}

run_block quickstart "the quick start"
check "the file written before the stop is read after the remount" 1 \
  "$(grep -c '^hello from a raid5 of image files$' "$T/quickstart.out")"
check "mdstat after the create: a healthy raid5" 1 \
  "$(grep -c 'level 5, 512k chunk, algorithm 2 \[3/3\] \[UUU\]' "$T/quickstart.out")"
check "--detail after the remount: clean" 1 "$(grep -c '^ *State : clean *$' "$T/quickstart.out")"
check "--detail after the remount: 3 active members" 1 "$(grep -c '^ *Active Devices : 3$' "$T/quickstart.out")"
for d in disk1 disk2 disk3; do
  check "mdadm --examine $d.img: clean" "clean" \
    "$(mdadm --examine "$QS/shelf/$d.img" 2>/dev/null | sed -n 's/^ *State : //p')"
done

run_block recovery "the recovery walk-through"
check "the degraded copy shows the file" 1 "$(grep -c '^hello from a raid5 of image files$' "$T/recovery.out")"
check "the degraded copy runs read-only" 1 "$(grep -c '^md0 : active (read-only) raid5 ' "$T/recovery.out")"
check "the degraded copy misses its second member" 1 "$(grep -c 'algorithm 2 \[3/2\] \[U_U\]' "$T/recovery.out")"
for d in disk1 disk3; do
  cmp -s "$QS/shelf/$d.img" "$QS/rescue/$d.img"
  check "the read-only assembly wrote nothing to the copy of $d.img" 0 $?
done

# The healthy array and the degraded copy hold the same bytes, and the
# filesystem is consistent.
mdfs "$QS/shelf" "$QS/mnt"
healthy=$(sha256sum <"$QS/mnt/dev/md0")
mdfs -o assemble=none "$QS/rescue" "$QS/rescue-mnt"
mdfsadm --assemble --run --readonly "$QS/rescue-mnt/dev/md0" disk1.img disk3.img 2>/dev/null
check "the degraded copy assembles again" 0 $?
check "healthy and degraded arrays: same sha256" "$healthy" "$(sha256sum <"$QS/rescue-mnt/dev/md0")"
mdfsadm --stop "$QS/rescue-mnt/dev/md0" 2>/dev/null
fusermount3 -u "$QS/rescue-mnt"
e2fsck -fn "$QS/mnt/dev/md0" >"$T/fsck.out" 2>&1
check "e2fsck -fn on the remounted array: clean" 0 $?
mdfsadm --stop "$QS/mnt/dev/md0" 2>/dev/null
fusermount3 -u "$QS/mnt"

# The rebuild: disk4 recovered, and it alone with either survivor holds the
# healthy array's bytes.
run_block rebuild "the rebuild"
check "after --wait the copy is whole again" 1 "$(grep -c 'algorithm 2 \[3/3\] \[UUU\]' "$T/rebuild.out")"
check "mdadm --examine disk4.img: active device 1" "Active device 1" \
  "$(mdadm --examine "$QS/rescue/disk4.img" 2>/dev/null | sed -n 's/^ *Device Role : //p')"
for survivor in disk1 disk3; do
  mdfs -o assemble=none "$QS/rescue" "$QS/rescue-mnt"
  mdfsadm --assemble --run --readonly "$QS/rescue-mnt/dev/md0" "$survivor.img" disk4.img 2>/dev/null
  check "disk4 with $survivor assembles" 0 $?
  check "disk4 with $survivor: the healthy array's sha256" "$healthy" "$(sha256sum <"$QS/rescue-mnt/dev/md0")"
  mdfsadm --stop "$QS/rescue-mnt/dev/md0" 2>/dev/null
  fusermount3 -u "$QS/rescue-mnt"
done

# The scrub: a check of the rebuilt copy runs (the last pass was a check,
# not the rebuild) and finds every stripe consistent.
run_block scrub "the scrub"
check "the last pass was the check" check "$(sed -n '/^\$ cat .*last_sync_action$/{n;p}' "$T/scrub.out")"
check "the check found no mismatch" 0 "$(sed -n '/^\$ cat .*mismatch_cnt$/{n;p}' "$T/scrub.out")"
exit $FAILED
