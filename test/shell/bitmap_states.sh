#!/bin/bash
# The kernel-made arrays with dirty bitmaps assemble in mdfs as the kernel
# assembles them and read back the manifest's content: raid1-bitmap-
# powercut (power cut with writes in flight) is resynced over its 20 dirty
# chunks only (a clean chunk damaged on one mirror is left for the check to
# find, 128 sectors) and checks clean after a repair; raid1-bitmap-dirty (member failed and
# removed, written while degraded) runs without the stale member, shows the
# kernel's mdstat and sysfs, keeps its 10 dirty chunks, and takes the
# member back with --re-add, recovering just those.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
md() { cat "$(sys md_oracle "$1")"; }
wait_idle() { for _ in $(seq 600); do [ "$(md sync_action)" = idle ] && return; sleep 0.1; done; fail "$1: never idle"; }
cases=0
for state in raid1-bitmap-powercut raid1-bitmap-dirty; do
  dir=$FIXTURES_STATES/$state
  [ -f "$dir/manifest.json" ] || { fail "no fixture $dir"; continue; }
  manifest() { python3 -c "import json,sys; m=json.load(open('$dir/manifest.json')); print(eval(sys.argv[1]))" "$1"; }
  rm -f "$SRC"/*
  for f in "$dir"/member-*.img.xz; do xz -dc "$f" >"$SRC/$(basename "${f%.xz}")"; done
  dirty=$("$ADM" -X "$SRC/member-0.img" | sed -n 's/.*(chunks), \([0-9]*\) dirty.*/\1/p')
  # As the kernel's read-back: read-only first, nothing moves.
  mount_mdfs -o assemble=none
  "$ADM" --assemble --readonly "$MNT/dev/md_oracle" member-0.img member-1.img 2>/dev/null
  # Its lines after the array's first: blocks and health, resync=PENDING
  # for a resync owed, the bitmap line.
  check "$state: the kernel's mdstat" "$(sed -n '3,/^$/p' "$dir/kernel-mdstat.txt")" "$(sed -n '3,/^$/p' "$MNT/proc/mdstat")"
  for a in bitmap/location bitmap/chunksize bitmap/time_base bitmap/can_clear consistency_policy degraded resync_start; do
    check "$state: $a" "$(sed -n "s|^$a: ||p" "$dir/kernel-sysfs.txt")" "$(md "$a")"
  done
  check "$state: the manifest's content" "$(manifest "m['sha256']")" "$(sha256sum <"$MNT/dev/md_oracle" | cut -d' ' -f1)"
  check "$state: nothing written while read-only" "$dirty" \
    "$("$ADM" -X "$SRC/member-0.img" | sed -n 's/.*(chunks), \([0-9]*\) dirty.*/\1/p')"
  if [ "$state" = raid1-bitmap-powercut ]; then
    # Chunk 100 (64 KiB) was clean when the power went.
    dd if=/dev/urandom of="$SRC/member-1.img" bs=512 seek=$((2048 + 100 * 128)) count=16 conv=notrunc status=none
    "$ADM" --readwrite "$MNT/dev/md_oracle" 2>/dev/null
    wait_idle "$state: resync"
    check "$state: resynced" "none resync" "$(md resync_start) $(md last_sync_action)"
    sysw "$(sys md_oracle sync_action)" check >/dev/null
    wait_idle "$state: check"
    check "$state: the resync left the clean chunk alone" 128 "$(md mismatch_cnt)"
    sysw "$(sys md_oracle sync_action)" repair >/dev/null
    wait_idle "$state: repair"
  else
    "$ADM" --readwrite "$MNT/dev/md_oracle" 2>/dev/null
    check "$state: the stale member is left out" "1 no" \
      "$(md degraded) $([ -e "$(sys md_oracle dev-member-1.img)" ] && echo yes || echo no)"
    "$ADM" "$MNT/dev/md_oracle" --re-add member-1.img 2>"$T/err"
    check "$state: --re-add" "mdfsadm: re-added $SRC/member-1.img" "$(cat "$T/err")"
    wait_idle "$state: recovery"
    check "$state: recovered" "0 in_sync" "$(md degraded) $(md dev-member-1.img/state)"
  fi
  sysw "$(sys md_oracle sync_action)" check >/dev/null
  wait_idle "$state: check"
  check "$state: check finds nothing" 0 "$(md mismatch_cnt)"
  check "$state: the content after it" "$(manifest "m['after']['sha256']")" "$(sha256sum <"$MNT/dev/md_oracle" | cut -d' ' -f1)"
  unmount_mdfs
  # The member that came back read alone: what it holds now is right.
  if [ "$state" = raid1-bitmap-dirty ]; then
    mount_mdfs -o assemble=none
    "$ADM" --assemble --readonly --run "$MNT/dev/md_oracle" member-1.img 2>/dev/null ||
      "$ADM" --assemble --readonly "$MNT/dev/md_oracle" member-1.img 2>/dev/null
    check "$state: member-1 alone reads the content" "$(manifest "m['sha256']")" \
      "$(sha256sum <"$MNT/dev/md_oracle" | cut -d' ' -f1)"
    unmount_mdfs
  fi
  cases=$((cases + 1))
done
check "states checked" 2 "$cases"
finish
