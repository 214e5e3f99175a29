#!/bin/bash
# raid4/5/6's tunables answer as the kernel's raid5.c: stripe_cache_size
# 17..32768 (256 at start), preread_bypass_threshold up to it (1 at start),
# group_thread_cnt and skip_copy fixed at 0 (0 accepted), errors as EINVAL,
# values reset when the array starts again, none of them on raid1. And
# sync_speed_min: a recovery on a busy array still goes on.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/t{0,1,2,3}.img "$SRC"/m{0,1}.img
"$ADM" -CR "$MNT/dev/md5" -l5 -n3 -c64 t0.img t1.img t2.img 2>/dev/null
"$ADM" -CR "$MNT/dev/md1" -l1 -n2 m0.img m1.img 2>/dev/null
A=$MNT/sys/block/md5/md
check "defaults" "256 1 0 0" "$(cat "$A/stripe_cache_size") $(cat "$A/preread_bypass_threshold") $(cat "$A/group_thread_cnt") $(cat "$A/skip_copy")"
check "stripe_cache_size 16: EINVAL" "Invalid argument" "$(sysw "$A/stripe_cache_size" 16)"
check "stripe_cache_size 17" ok "$(sysw "$A/stripe_cache_size" 17)"
check "stripe_cache_size 32768" ok "$(sysw "$A/stripe_cache_size" 32768)"
check "stripe_cache_size 32769: EINVAL" "Invalid argument" "$(sysw "$A/stripe_cache_size" 32769)"
check "stripe_cache_size text: EINVAL" "Invalid argument" "$(sysw "$A/stripe_cache_size" lots)"
check "stripe_cache_size kept" 32768 "$(cat "$A/stripe_cache_size")"
check "stripe_cache_size with a newline" ok "$(sysw "$A/stripe_cache_size" $'512\n')"
check "preread_bypass_threshold up to the cache" ok "$(sysw "$A/preread_bypass_threshold" 512)"
check "preread_bypass_threshold above it: EINVAL" "Invalid argument" "$(sysw "$A/preread_bypass_threshold" 513)"
check "preread_bypass_threshold 0" ok "$(sysw "$A/preread_bypass_threshold" 0)"
check "group_thread_cnt 0 accepted" ok "$(sysw "$A/group_thread_cnt" 0)"
check "group_thread_cnt 4: fixed, EINVAL" "Invalid argument" "$(sysw "$A/group_thread_cnt" 4)"
check "group_thread_cnt 8193: EINVAL" "Invalid argument" "$(sysw "$A/group_thread_cnt" 8193)"
check "skip_copy 0 accepted" ok "$(sysw "$A/skip_copy" 0)"
check "skip_copy 1: fixed, EINVAL" "Invalid argument" "$(sysw "$A/skip_copy" 1)"
check "values shown" "512 0 0 0" "$(cat "$A/stripe_cache_size") $(cat "$A/preread_bypass_threshold") $(cat "$A/group_thread_cnt") $(cat "$A/skip_copy")"
"$ADM" -S "$MNT/dev/md5" 2>/dev/null
"$ADM" -A "$MNT/dev/md5" t0.img t1.img t2.img 2>/dev/null
check "a new start: the defaults again" "256 1" "$(cat "$A/stripe_cache_size") $(cat "$A/preread_bypass_threshold")"
check "raid1 has none of them" "no no" \
  "$([ -e "$MNT/sys/block/md1/md/stripe_cache_size" ] && echo yes || echo no) $([ -e "$MNT/sys/block/md1/md/group_thread_cnt" ] && echo yes || echo no)"

# A recovery on a busy array (reads all the while) goes on: the throttle
# gives way to the reads only above sync_speed_min.
"$ADM" "$MNT/dev/md5" --fail t1.img --remove t1.img 2>/dev/null
printf 100000 > "$A/sync_speed_min"
( while [ ! -e "$T/stop" ]; do cat "$MNT/dev/md5" > /dev/null; done ) &
READER=$!
"$ADM" "$MNT/dev/md5" --add t3.img 2>/dev/null
"$ADM" --wait "$MNT/dev/md5" 2>/dev/null
touch "$T/stop"
wait "$READER"
check "recovered while busy" "in_sync 0" "$(cat "$A/dev-t3.img/state") $(cat "$A/degraded")"
"$ADM" -Ss --mount "$MNT" 2>/dev/null
unmount_mdfs
finish
