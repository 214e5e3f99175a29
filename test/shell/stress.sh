#!/bin/bash
# A bounded stress (about 20 s): one name created and cleared over and over
# (new_array and O_CREAT) while others open it. Nothing hangs, no daemon
# crash, every open works or answers ENOENT, nothing is left afterwards.
. "$(dirname "$0")/lib.sh"
mount_mdfs
"$(dirname "$MDFS")/lifecycle-stress" "$MNT" md_s "${STRESS_SECONDS:-20}" && pass "stress" || fail "stress"
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
# Whatever survived is cleared; then nothing may be left.
[ -e "$MNT/sys/block/md_s" ] && sysw "$(sys md_s array_state)" clear >/dev/null
eventually "nothing left" "" ls "$MNT/dev"
check "mdstat empty" 2 "$(wc -l < "$MNT/proc/mdstat")"
unmount_mdfs
finish
