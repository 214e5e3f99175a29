#!/bin/bash
# mdfsadm --wait on a terminal draws a progress bar from sync_completed
# while a recovery runs, returns 0 when it is done, and on a pipe prints
# nothing at all (as mdadm --wait).
. "$(dirname "$0")/lib.sh"
requires script
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/w{0,1,2,3}.img
D=$MNT/dev/md1
"$ADM" --create "$D" -l1 -n2 w0.img w1.img 2>/dev/null
head -c "$(stat -c %s "$D")" /dev/urandom >"$T/ref"
dd if="$T/ref" of="$D" bs=1M conv=notrunc,fsync status=none
"$ADM" "$D" --fail w1.img --remove w1.img 2>/dev/null
# 16 MiB at 4000 KiB/s: about four seconds of recovery to watch.
echo 4000 >"$(sys md1 sync_speed_max)"
"$ADM" "$D" --add w2.img 2>/dev/null
script -qec "$ADM --wait $D" /dev/null >"$T/tty.out" 2>&1
check "--wait on a terminal: exit 0 after waiting" 0 $?
check "the recovery is over" "idle 0" "$(cat "$(sys md1 sync_action)") $(cat "$(sys md1 degraded)")"
bars=$(tr '\r' '\n' <"$T/tty.out" | grep -c 'md1 recover \[=*>\.*\] *[0-9.]*%')
[ "$bars" -ge 2 ] && pass "--wait drew the progress bar $bars times" ||
  fail "no progress bar on the terminal: $(tr '\r' '\n' <"$T/tty.out" | head -3)"
first=$(tr '\r' '\n' <"$T/tty.out" | grep -o '[0-9.]*%' | head -1 | tr -d %)
last=$(tr '\r' '\n' <"$T/tty.out" | grep -o '[0-9.]*%' | tail -1 | tr -d %)
awk -v a="$first" -v b="$last" 'BEGIN { exit !(b > a) }' && pass "the bar advanced ($first% to $last%)" ||
  fail "the bar did not advance ($first% to $last%)"

# On a pipe: no bar, the same exit status.
"$ADM" "$D" --fail w0.img --remove w0.img 2>/dev/null
"$ADM" "$D" --add w3.img 2>/dev/null
"$ADM" --wait "$D" >"$T/pipe.out" 2>&1
check "--wait on a pipe: exit 0, silent" "0 0" "$? $(wc -c <"$T/pipe.out")"
cmp -s "$T/ref" "$D"; check "the data survived both recoveries" 0 $?
unmount_mdfs
exit $FAILED
