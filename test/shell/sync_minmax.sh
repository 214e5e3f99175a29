#!/bin/bash
# sync_min and sync_max, as the kernel's: a check or repair starts at
# sync_min; any pass waits at sync_max (sync_action still check, progress
# checkpointed) until it is raised; a pass that completes forgets both, one
# cut short leaves sync_min where it stopped. Bad values (garbage, below
# sync_min, not a whole number of chunks) are EINVAL, sync_min while a pass
# runs and pulling sync_max back under it are EBUSY, and change nothing.
. "$(dirname "$0")/lib.sh"
requires mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
md() { cat "$(sys md5 "$1")"; }
mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/s{0,1,2,3}.img
D=$MNT/dev/md5
"$ADM" --create --assume-clean "$D" -l5 -n4 -c64 s0.img s1.img s2.img s3.img 2>/dev/null
head -c "$(stat -c %s "$D")" /dev/urandom | dd of="$D" bs=1M conv=notrunc,fsync status=none 2>/dev/null
check "at rest: 0 and max" "0 max" "$(md sync_min) $(md sync_max)"
check "sync_min garbage: EINVAL" "Invalid argument" "$(sysw "$(sys md5 sync_min)" soon)"
check "sync_max garbage: EINVAL" "Invalid argument" "$(sysw "$(sys md5 sync_max)" -5)"
check "sync_max not a whole chunk (128 sectors): EINVAL" "Invalid argument" "$(sysw "$(sys md5 sync_max)" 1000)"
check "sync_max 4096" ok "$(sysw "$(sys md5 sync_max)" 4096)"
check "sync_min above sync_max: EINVAL" "Invalid argument" "$(sysw "$(sys md5 sync_min)" 8192)"
check "sync_min 1001: rounded down to 4 KiB" "ok 1000" "$(sysw "$(sys md5 sync_min)" 1001) $(md sync_min)"
check "sync_max below sync_min: EINVAL" "Invalid argument" "$(sysw "$(sys md5 sync_max)" 896)"
check "nothing changed by the refusals" "1000 4096" "$(md sync_min) $(md sync_max)"
check "sync_min back to 0" ok "$(sysw "$(sys md5 sync_min)" 0)"

# Damage one page early (member sector 100) and one late (member sector
# 10000) on s2, inside its data area, while the array is stopped.
"$ADM" --stop "$D" 2>/dev/null
data=$(mdadm --examine "$SRC/s2.img" | sed -n 's/^ *Data Offset : \([0-9]*\) sectors/\1/p')
dd if=/dev/urandom of="$SRC/s2.img" bs=512 seek=$((data + 96)) count=8 conv=notrunc status=none
dd if=/dev/urandom of="$SRC/s2.img" bs=512 seek=$((data + 10000)) count=8 conv=notrunc status=none
"$ADM" --assemble --run "$D" s0.img s1.img s2.img s3.img 2>/dev/null
check "assembled again: sync_min and sync_max forgotten at stop" "0 max" "$(md sync_min) $(md sync_max)"
total=$(($(mdadm --examine "$SRC/s2.img" | sed -n 's/^ *Avail Dev Size : \([0-9]*\) sectors.*/\1/p')))

# A check stops at sync_max 4096 and waits there, having found the early page.
sysw "$(sys md5 sync_max)" 4096 >/dev/null
check "check" ok "$(sysw "$(sys md5 sync_action)" check)"
eventually "waits at sync_max: 4096 done" "4096 / $(md sync_completed | cut -d' ' -f3)" md sync_completed
check "still a check, the early page counted" "check 8" "$(md sync_action) $(md mismatch_cnt)"
check "sync_min while it runs: EBUSY" "Device or resource busy" "$(sysw "$(sys md5 sync_min)" 0)"
check "pulling sync_max back while it runs: EBUSY" "Device or resource busy" "$(sysw "$(sys md5 sync_max)" 2048)"
check "raising sync_max to max" ok "$(sysw "$(sys md5 sync_max)" max)"
"$ADM" --wait "$D" 2>/dev/null
check "done: both pages counted, min and max forgotten" "idle 16 0 max" "$(md sync_action) $(md mismatch_cnt) $(md sync_min) $(md sync_max)"

# A check from sync_min 8192 finds only the late page.
sysw "$(sys md5 sync_min)" 8192 >/dev/null
check "check from 8192" ok "$(sysw "$(sys md5 sync_action)" check)"
"$ADM" --wait "$D" 2>/dev/null
check "from sync_min: only the late page" "idle 8 0" "$(md sync_action) $(md mismatch_cnt) $(md sync_min)"

# A check cut short at sync_max leaves sync_min where it stopped.
sysw "$(sys md5 sync_max)" 4096 >/dev/null
sysw "$(sys md5 sync_action)" check >/dev/null
eventually "waits at 4096 again" 4096 sh -c "cut -d' ' -f1 '$(sys md5 sync_completed)'"
check "idle interrupts it" ok "$(sysw "$(sys md5 sync_action)" idle)"
check "interrupted: sync_min is where it stopped, sync_max kept" "idle 4096 4096" "$(md sync_action) $(md sync_min) $(md sync_max)"
[ "$total" -gt 8192 ] && pass "the member has $total sectors" || fail "member size $total"
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs
exit $FAILED
