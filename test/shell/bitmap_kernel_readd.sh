#!/bin/bash
# The real Linux md driver re-adds a member through the bitmap mdfs kept:
# on the kernel's own raid5 with an internal bitmap (raid5-4-bitmap) and
# its raid1 (raid1-bitmap-powercut, resynced by mdfs first), a member is
# failed and removed in mdfs, 1 MiB is written while degraded and the
# array stopped; the kernel (tools/kernel-oracle/oracle readd, one boot
# each) then `mdadm --re-add`s the member, recovers the dirty chunks, and
# its check finds mismatch_cnt 0 with the content mdfs wrote.
# run-tests: once timeout=900 (two boots of the kernel, each a recovery or a resync and a check)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-oracle.sh"
requires xz
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
md() { cat "$(sys md_oracle "$1")"; }
wait_idle() { for _ in $(seq 600); do [ "$(md sync_action)" = idle ] && return; sleep 0.1; done; fail "$1: never idle"; }
dirty() { "$ADM" -X "$1" | sed -n 's/.*(chunks), \([0-9]*\) dirty.*/\1/p'; }

cases=0
for dir in "$FIXTURES/raid5-4-bitmap" "$FIXTURES_STATES/raid1-bitmap-powercut"; do
  name=$(basename "$dir")
  [ -f "$dir/manifest.json" ] || { fail "no fixture $dir"; continue; }
  rm -rf "$SRC"/*
  for f in "$dir"/member-*.img.xz; do xz -dc "$f" >"$SRC/$(basename "${f%.xz}")"; done
  mount_mdfs
  wait_idle "$name: assembly"   # raid1-bitmap-powercut resyncs its dirty chunks first
  "$ADM" "$MNT/dev/md_oracle" --fail member-1.img --remove member-1.img 2>/dev/null
  check "$name: member-1 removed" 1 "$(md degraded)"
  head -c 1M /dev/urandom | dd of="$MNT/dev/md_oracle" bs=1M seek=2 conv=notrunc,fsync status=none
  sha=$(sha256sum <"$MNT/dev/md_oracle" | cut -d' ' -f1)
  unmount_mdfs
  case $name in
    raid5-4-bitmap) want=1 ;;   # one 64 MiB chunk covers it all
    *) want=16 ;;               # 1 MiB of 64 KiB chunks
  esac
  check "$name: the written chunks dirty on a member that stayed" "$want" "$(dirty "$SRC/member-0.img")"
  run_readd readd 1 "$SRC"/member-*.img
  check "$name: the kernel's --re-add" 0 "$(result rc)"
  grep -q "re-added /dev/vdb" "$T/oracle.txt" && pass "$name: mdadm says re-added" || fail "$name: not re-added"
  check "$name: the kernel's check after its recovery" 0 "$(result mismatch_cnt)"
  check "$name: the content mdfs wrote" "$sha" "$(result sha256)"
  [ "$FAILED" -ne 0 ] && { echo "--- oracle:"; cat "$T/oracle.txt"; tail -5 "$T/oracle.err"; }
  cases=$((cases + 1))
done
check "arrays re-added by the kernel" 2 "$cases"
finish
