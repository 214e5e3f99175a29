#!/bin/bash
# After mdfs is killed (kill -9) with an array active and writes in flight,
# the resync walks only the chunks the write-intent bitmap says are dirty:
# a clean chunk damaged on one mirror meanwhile is left alone (a check
# counts exactly its 128 sectors), a dirty chunk damaged the same way is
# made to agree again, the skipped chunks count as done in mdstat and
# sync_completed while the dirty ones are synced, and the data written
# before the kill reads back.
. "$(dirname "$0")/lib.sh"
requires mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
md() { cat "$(sys md_r "$1")"; }
wait_idle() { for _ in $(seq 600); do [ "$(md sync_action)" = idle ] && return; sleep 0.1; done; fail "$1: never idle"; }

mount_mdfs -o assemble=none
truncate -s 8M "$SRC/a.img" "$SRC/b.img"
"$ADM" --create "$MNT/dev/md_r" -l1 -n2 --bitmap=internal --bitmap-chunk=64K a.img b.img 2>/dev/null
check "created with a bitmap of 64 KiB chunks" "+8 65536" "$(md bitmap/location) $(md bitmap/chunksize)"
check "mdstat: one page of counters" "      bitmap: 1/1 pages [4KB], 64KB chunk" "$(grep bitmap: "$MNT/proc/mdstat")"
head -c 7M /dev/urandom > "$T/fill"
dd if="$T/fill" of="$MNT/dev/md_r" bs=1M conv=notrunc,fsync status=none
# Let the daemon clear everything quickly, then keep what follows dirty.
sysw "$(sys md_r bitmap/time_base)" 0.1 >/dev/null
eventually "the daemon clears every chunk" "      bitmap: 0/1 pages [0KB], 64KB chunk" grep bitmap: "$MNT/proc/mdstat"
check "time_base shows thousandths" 0.100 "$(md bitmap/time_base)"
sleep 0.5   # the last pass writes the cleared bits
check "time_base 60" ok "$(sysw "$(sys md_r bitmap/time_base)" 60)"
sysw "$(sys md_r safe_mode_delay)" 0 >/dev/null   # stays active: a resync is owed after a kill
# 2 MiB at 4 MiB (chunks 64 to 95) written and on disk, then 64 KiB rewritten
# over and over (chunk 20) while mdfs is killed.
head -c 2M /dev/urandom > "$T/new"
dd if="$T/new" of="$MNT/dev/md_r" bs=1M seek=4 conv=notrunc,fsync status=none
head -c 64K /dev/urandom > "$T/c20"
(while :; do dd if="$T/c20" of="$MNT/dev/md_r" bs=64k seek=20 conv=notrunc oflag=direct status=none 2>/dev/null || break; done) &
loop=$!
sleep 0.3
kill -9 "$MDFS_PID"; wait "$MDFS_PID" 2>/dev/null; MDFS_PID=
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
wait "$loop" 2>/dev/null
dirty=$("$ADM" -X "$SRC/a.img" 2>/dev/null | sed -n 's/.*bits (chunks), \([0-9]*\) dirty.*/\1/p')
[ "${dirty:-0}" -ge 33 ] && [ "${dirty:-0}" -le 40 ] && pass "on disk after the kill: $dirty dirty chunks" ||
  fail "dirty chunks on disk after the kill: ${dirty:-none}, want 33 or a few more"
# Bits before data: wherever the mirrors differ after the kill (a write
# that reached one of them), that chunk's bit is set on both, as is the bit
# of every chunk written since the daemon's last pass.
unsynced=$(python3 - "$SRC/a.img" "$SRC/b.img" <<'PY'
import sys
a, b = (open(f, "rb").read() for f in sys.argv[1:3])
bits = [int.from_bytes(x[8192 + 256:8192 + 256 + 14], "little") for x in (a, b)]
chunk = 64 * 1024
bad = [c for c in range(112)
       if a[1048576 + c * chunk:1048576 + (c + 1) * chunk] != b[1048576 + c * chunk:1048576 + (c + 1) * chunk]
       and not all(m >> c & 1 for m in bits)]
written = [c for c in list(range(64, 96)) + [20] if not all(m >> c & 1 for m in bits)]
print(len(bad) + len(written))
PY
)
check "every chunk written or differing between the mirrors has its bit on both" 0 "$unsynced"
check "the superblock says active" active "$(mdadm --examine "$SRC/a.img" | sed -n 's/^ *State : //p')"
# b.img differs from a.img in a clean chunk (50) and a dirty one (70).
data_at() { echo $(( (2048 + $1 * 128) * 512 )); }
dd if=/dev/urandom of="$SRC/b.img" bs=4k seek=$(( $(data_at 50) / 4096 )) count=2 conv=notrunc status=none
dd if=/dev/urandom of="$SRC/b.img" bs=4k seek=$(( $(data_at 70) / 4096 )) count=2 conv=notrunc status=none

mount_mdfs -o assemble=none
"$ADM" --assemble --readonly "$MNT/dev/md_r" a.img b.img 2>/dev/null
check "assembled read-only, resync owed" "0 readonly" "$(md resync_start) $(md array_state)"
check "mdstat: the dirty chunks counted" "      bitmap: 1/1 pages [4KB], 64KB chunk" "$(grep bitmap: "$MNT/proc/mdstat")"
sysw "$(sys md_r sync_speed_max)" 1000 >/dev/null
"$ADM" --readwrite "$MNT/dev/md_r" 2>/dev/null
# 1000 KiB/s over 2 MiB of dirty chunks: the pass is seen at work, with the
# clean chunks before them already counted as done.
seen=
for _ in $(seq 100); do
  line=$(grep -o 'resync =.*(\([0-9]*\)/7168)' "$MNT/proc/mdstat")
  done_kib=$(sed -n 's/.*(\([0-9]*\)\/7168)/\1/p' <<<"$line")
  if [ -n "$done_kib" ] && [ "$done_kib" -ge 4096 ]; then
    seen="$done_kib $(md sync_completed)"
    break
  fi
  sleep 0.05
done
[ -n "$seen" ] && pass "resync seen past the skipped clean chunks: $seen" || fail "resync never seen past 4 MiB"
completed=${seen#* }
[ "${completed%% *}" -ge 8192 ] 2>/dev/null && pass "sync_completed counts them too" ||
  fail "sync_completed: ${completed:-none}"
sysw "$(sys md_r sync_speed_max)" system >/dev/null
wait_idle resync
check "resync done" none "$(md resync_start)"
sysw "$(sys md_r sync_action)" check >/dev/null
wait_idle check
check "check: only the damaged clean chunk differs (128 sectors)" 128 "$(md mismatch_cnt)"
cmp <(dd if="$MNT/dev/md_r" bs=1M skip=4 count=2 status=none) "$T/new" && pass "data written before the kill" ||
  fail "data written before the kill differs"
cmp <(dd if="$MNT/dev/md_r" bs=64k count=20 status=none) <(head -c 1280K "$T/fill") && pass "data before it" ||
  fail "data before it differs"
sysw "$(sys md_r bitmap/time_base)" 0.1 >/dev/null
eventually "bits cleared after the resync" "      bitmap: 0/1 pages [0KB], 64KB chunk" grep bitmap: "$MNT/proc/mdstat"
unmount_mdfs
finish
