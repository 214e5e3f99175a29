#!/bin/bash
# How a new array is made consistent, as mdadm 4.2 and the kernel do it:
# mdfsadm --create rebuilds a raid4/5's last member (recovery) and resyncs
# raid1/raid6/raid10 and a raid5 given --force; --assume-clean, raid0 and
# parity arrays created without a member start clean. Through sysfs, a new
# array's resync_start reads 0 until written (the kernel's mddev), and
# dev-*/recovery_start marks a member to rebuild. The members start full of
# random bytes, so only a pass that really ran leaves them consistent.
. "$(dirname "$0")/lib.sh"
requires sha256sum cmp
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
mount_mdfs -o assemble=none
md() { cat "$(sys "$1" "$2")"; }
# data_sum ARRAY MEMBER: sha256 of MEMBER's file from its data offset on.
data_sum() { tail -c +$(($(md "$1" "dev-$2/offset") * 512 + 1)) "$SRC/$2" | sha256sum | cut -d' ' -f1; }
passes() { grep -c "md: $1 of RAID array $2\$" "$T/mdfs.log"; }
check_clean() {  # ARRAY: a check finds nothing to fix
  sysw "$(sys "$1" sync_action)" check >/dev/null
  "$ADM" --wait "$MNT/dev/$1" 2>/dev/null
  check "$1: a check after it finds no mismatch" 0 "$(md "$1" mismatch_cnt)"
}
random_members() { for f in "$@"; do head -c 16M /dev/urandom > "$SRC/$f"; done; }
ran=0

# raid5: the last member is rebuilt, the others are not written.
random_members a0 a1 a2 a3
"$ADM" -CR "$MNT/dev/md_a" -l5 -n4 -c64 a0 a1 a2 a3 2>/dev/null
# (The rebuild itself shows in the log below: it may be over already.)
check "raid5: nothing to resync" none "$(md md_a resync_start)"
sums=$(for f in a0 a1 a2; do data_sum md_a "$f"; done)
"$ADM" --wait "$MNT/dev/md_a" 2>/dev/null
check "raid5: one recovery ran, no resync" "1 0" "$(passes recovery md_a) $(passes resync md_a)"
check "raid5: then healthy" "in_sync 0" "$(md md_a dev-a3/state) $(md md_a degraded)"
check "raid5: the first three members untouched" "$sums" "$(for f in a0 a1 a2; do data_sum md_a "$f"; done)"
check_clean md_a
ran=$((ran + 1))

# raid1, and raid5 with --force: a resync from the start.
random_members b0 b1 c0 c1 c2
"$ADM" -CR "$MNT/dev/md_b" -l1 -n2 b0 b1 2>/dev/null
"$ADM" -CR --force "$MNT/dev/md_c" -l5 -n3 -c64 c0 c1 c2 2>/dev/null
"$ADM" --wait "$MNT/dev/md_b" "$MNT/dev/md_c" 2>/dev/null
for a in md_b md_c; do
  check "$a: one resync ran, no recovery" "1 0" "$(passes resync $a) $(passes recovery $a)"
  check "$a: resync_start none after it" none "$(md $a resync_start)"
  check_clean $a
  ran=$((ran + 1))
done
check "raid1: both mirrors hold the same data" "$(data_sum md_b b0)" "$(data_sum md_b b1)"

# raid6 missing one member: another is rebuilt (no resync of a degraded raid6).
random_members d0 d1 d2 d3
"$ADM" -CR "$MNT/dev/md_d" -l6 -n4 -c64 d0 d1 d2 missing 2>/dev/null
check "raid6 with one missing: the last given member rebuilds" "spare 2" "$(md md_d dev-d2/state) $(md md_d degraded)"
"$ADM" --wait "$MNT/dev/md_d" 2>/dev/null
check "raid6 with one missing: a recovery, no resync" "1 0" "$(passes recovery md_d) $(passes resync md_d)"
"$ADM" "$MNT/dev/md_d" --add d3 2>/dev/null
"$ADM" --wait "$MNT/dev/md_d" 2>/dev/null
check_clean md_d
ran=$((ran + 1))

# --assume-clean and raid0: no pass at all; the random parity stays wrong.
random_members e0 e1 e2 z0 z1
"$ADM" -CR --assume-clean "$MNT/dev/md_e" -l5 -n3 -c64 e0 e1 e2 2>/dev/null
"$ADM" -CR "$MNT/dev/md_z" -l0 -n2 -c64 z0 z1 2>/dev/null
check "--assume-clean, raid0: clean at once" "none none idle idle" \
  "$(md md_e resync_start) $(md md_z resync_start 2>/dev/null || echo none) $(md md_e sync_action) $(md md_e dev-e2/state | sed 's/in_sync/idle/')"
check "--assume-clean, raid0: no pass ran" "0 0 0 0" \
  "$(passes resync md_e) $(passes recovery md_e) $(passes resync md_z) $(passes recovery md_z)"
sysw "$(sys md_e sync_action)" check >/dev/null
"$ADM" --wait "$MNT/dev/md_e" 2>/dev/null
[ "$(md md_e mismatch_cnt)" -gt 0 ] && pass "--assume-clean: a check finds the random parity wrong" ||
  fail "--assume-clean: mismatch_cnt $(md md_e mismatch_cnt) on random members"
ran=$((ran + 1))

# Through sysfs: resync_start reads 0 on a new array (as the kernel's), and
# recovery_start marks a member to rebuild.
printf md_f > "$(param new_array)"
check "a new array's resync_start is 0" 0 "$(md md_f resync_start)"
random_members f0 f1
echo 1.2 > "$(sys md_f metadata_version)"
echo raid1 > "$(sys md_f level)"
echo 2 > "$(sys md_f raid_disks)"
for i in 0 1; do
  printf f$i > "$(sys md_f new_dev)"
  echo $i > "$(sys md_f dev-f$i/slot)"
done
check "recovery_start garbage: EINVAL" "Invalid argument" "$(sysw "$(sys md_f dev-f1/recovery_start)" soon)"
check "recovery_start 0 before the start" ok "$(sysw "$(sys md_f dev-f1/recovery_start)" 0)"
check "resync_start none" ok "$(sysw "$(sys md_f resync_start)" none)"
echo active > "$(sys md_f array_state)"
# The pass the array owes has begun when the write that starts it returns
# (as md_run's wake of the md thread), so a --wait straight after cannot
# miss it.
check "sysfs: the rebuild began before the start returned" 1 "$(passes recovery md_f)"
check "recovery_start of a member in a running array: EBUSY" "Device or resource busy" \
  "$(sysw "$(sys md_f dev-f0/recovery_start)" 0)"
"$ADM" --wait "$MNT/dev/md_f" 2>/dev/null
check "sysfs: f1 was rebuilt, nothing resynced" "1 0 in_sync" "$(passes recovery md_f) $(passes resync md_f) $(md md_f dev-f1/state)"
check "sysfs: the mirrors agree" "$(data_sum md_f f0)" "$(data_sum md_f f1)"
ran=$((ran + 1))

# The superblocks a finished creation leaves: clean, nothing owed.
for a in md_a md_b md_c md_d md_f; do "$ADM" -S "$MNT/dev/$a" 2>/dev/null; done
check "every superblock clean after the passes" "a0 clean|b0 clean|c0 clean|d0 clean|f0 clean" \
  "$(for f in a0 b0 c0 d0 f0; do echo "$f $("$ADM" -E "$SRC/$f" | sed -n 's/^ *State : //p')"; done | paste -sd'|')"
# A member failed during the resync interrupts it (md_error); it starts
# again with the members left, and ends at once when one copy is left.
random_members r0 r1 r2
"$ADM" -CR "$MNT/dev/md_r" -l1 -n4 r0 r1 r2 missing 2>/dev/null
echo 1000 > "$(sys md_r sync_speed_max)"
"$ADM" "$MNT/dev/md_r" --fail r2 2>/dev/null
eventually "failing r2: the resync goes on from where it was" "2 1 resync" \
  bash -c "echo \$(grep -c 'md: resync of RAID array md_r\$' '$T/mdfs.log') \$(grep -c 'md: md_r: resync interrupted' '$T/mdfs.log') \$(cat '$(sys md_r sync_action)')"
"$ADM" "$MNT/dev/md_r" --fail r1 2>/dev/null
eventually "failing r1 too: one copy left, nothing to sync" "idle none" bash -c "echo \$(cat '$(sys md_r sync_action)') \$(cat '$(sys md_r resync_start)')"
"$ADM" -S "$MNT/dev/md_r" 2>/dev/null
ran=$((ran + 1))

# Creating over members of an old array: mdadm's question; no answer
# (end of input) aborts and changes nothing, "y" or --run go on.
"$ADM" -S "$MNT/dev/md_e" 2>/dev/null
"$ADM" -E "$SRC/e0" > "$T/e0.before"
"$ADM" -C "$MNT/dev/md_g" -l1 -n2 e0 e1 </dev/null 2>"$T/err"
check "over old superblocks, no answer: exit 1, aborted" "1|mdfsadm: $SRC/e0 appears to be part of a raid array:|       level=raid5 devices=3 ctime|Continue creating array? mdfsadm: create aborted." \
  "$?|$(sed 's/ctime=.*/ctime/' "$T/err" | sed -n '1,2p;5p' | paste -sd'|')"
"$ADM" -E "$SRC/e0" | cmp -s - "$T/e0.before" && pass "aborted: the old superblock unchanged" || fail "aborted: e0's superblock changed"
check "no array left behind" no "$(exists md_g)"
echo y | "$ADM" -C --assume-clean "$MNT/dev/md_g" -l1 -n2 e0 e1 2>/dev/null
check "answered y: created" "clean raid1" "$(md md_g array_state) $(md md_g level)"
"$ADM" -S "$MNT/dev/md_g" 2>/dev/null
"$ADM" -CR --assume-clean "$MNT/dev/md_h" -l0 -n2 -c64 e0 e1 2>/dev/null
check "--run: created without asking" "clean raid0" "$(md md_h array_state) $(md md_h level)"
"$ADM" -S "$MNT/dev/md_h" 2>/dev/null
ran=$((ran + 1))
check "cases run" 8 "$ran"
unmount_mdfs
finish
