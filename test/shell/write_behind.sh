#!/bin/bash
# raid1 write-behind (mdfsadm --create --bitmap=internal --write-behind=N,
# with a write-mostly member on a slow disk): a write returns once the
# other mirror has it, the write-mostly copy lands later, the chunk's bit
# stays set until it has and then clears; a read that must come from the
# write-mostly mirror waits for the writes behind on it, never sees stale
# data; a clean stop waits for them; kill -9 with writes still behind
# leaves their bits set, and the next assembly resyncs those chunks.
# bitmap/backlog reads and writes it as the kernel's (0..16383, a running
# bitmap needs a write-mostly member), and -X shows it as mdadm does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-faulty.sh"
mount_faulty
mount_mdfs -o assemble=none
dirty() { "$ADM" -X "$BACK/$1" 2>/dev/null | sed -n 's/.*(chunks), \([0-9]*\) dirty.*/\1/p'; }
# landed WHAT MEMBER OFFSET FILE: MEMBER's data at OFFSET comes to hold FILE
# (the slow disk's delays are seconds; 60 s at most).
landed() {
  local want got
  want=$(sha256sum <"$4" | cut -d' ' -f1)
  for _ in $(seq 600); do
    got=$(bytes "$2" "$((OFF + $3))" "$(stat -c %s "$4")")
    [ "$got" = "$want" ] && { pass "$1"; return; }
    sleep 0.1
  done
  fail "$1: never landed"
}
chunk() { head -c "${2:-64K}" /dev/urandom >"$T/$1"; }
put() { dd if="$T/$1" of="$MNT/dev/$ARRAY" bs=64K oflag=seek_bytes,direct seek="$2" conv=notrunc status=none; }
is() { [ "$(bytes "$1" "$((OFF + $2))" "$(stat -c %s "$T/$3")")" = "$(sha256sum <"$T/$3" | cut -d' ' -f1)" ] && echo yes || echo no; }

# ---- options and attributes ----
truncate -s 16M "$BACK"/{a,b,c,d}.img
"$ADM" --create "$MNT/dev/md_w" -l1 -n2 --assume-clean --bitmap=internal --bitmap-chunk=4M --write-behind=8 \
  a.img --write-mostly b.img 2>"$T/err" || { cat "$T/err"; fail "create with --write-behind=8"; }
ARRAY=md_w
MiB=1048576
OFF=$(data_at a.img 0)   # where the data starts in both members' files
check "both members' data at the same place" "$OFF" "$(data_at b.img 0)"
check "bitmap/backlog" 8 "$(md bitmap/backlog)"
check "-X: the bitmap superblock's write-behind" "      Write Mode : Allow write behind, max 8" \
  "$("$ADM" -X "$BACK/a.img" | grep 'Write Mode')"
grep -q write_mostly "$(sys md_w dev-b.img/state)" && pass "b.img is write-mostly" || fail "b.img not write-mostly"
check "backlog 16384: EINVAL" "Invalid argument" "$(sysw "$(sys md_w bitmap/backlog)" 16384)"
check "backlog text: EINVAL" "Invalid argument" "$(sysw "$(sys md_w bitmap/backlog)" many)"
check "backlog 16383" ok "$(sysw "$(sys md_w bitmap/backlog)" 16383)"
check "-X follows it" "      Write Mode : Allow write behind, max 16383" "$("$ADM" -X "$BACK/b.img" | grep 'Write Mode')"
check "backlog 2" ok "$(sysw "$(sys md_w bitmap/backlog)" 2)"
check "max_backlog_used: none yet" 0 "$(md bitmap/max_backlog_used)"
"$ADM" --create "$MNT/dev/md_n" -l1 -n2 --assume-clean --bitmap=internal c.img d.img 2>/dev/null
check "no write-mostly member: backlog refused (EINVAL)" "Invalid argument 0" \
  "$(sysw "$(sys md_n bitmap/backlog)" 4) $(cat "$(sys md_n bitmap/backlog)")"
check "-X: a bitmap without write-behind" "      Write Mode : Normal" "$("$ADM" -X "$BACK/c.img" | grep 'Write Mode')"
"$ADM" --stop "$MNT/dev/md_n" 2>/dev/null
out=$("$ADM" --create --run "$MNT/dev/md_x" -l1 -n2 --write-behind=4 c.img --write-mostly d.img 2>&1)
check "--write-behind without a bitmap" "mdfsadm: write-behind mode requires a bitmap. 1" "$out $?"
"$ADM" --create --run "$MNT/dev/md_x" -l1 -n2 --bitmap=internal --write-behind=16384 c.img d.img >/dev/null 2>&1
check "--write-behind=16384: mdadm's usage error" 2 "$?"
"$ADM" --create --run "$MNT/dev/md_x" -l1 -n2 --assume-clean --bitmap=none c.img --write-mostly d.img 2>/dev/null
"$ADM" --grow "$MNT/dev/md_x" --bitmap=internal --write-behind 2>/dev/null
check "--grow --bitmap=internal --write-behind: mdadm's default 256" 256 "$(cat "$(sys md_x bitmap/backlog)")"
check "--grow: -X shows it" "      Write Mode : Allow write behind, max 256" "$("$ADM" -X "$BACK/d.img" | grep 'Write Mode')"
"$ADM" --stop "$MNT/dev/md_x" 2>/dev/null

# Bitmap chunks of 4 MiB: each part below writes into one chunk, so that
# only its first write sets a bit (whose flush to b.img would wait behind
# a write faulty-fs holds there, the FUSE file's lock).

# ---- writes return before the slow write-mostly member has them ----
sysw "$(sys md_w bitmap/time_base)" 0.1 >/dev/null
sysw "$(sys md_w safe_mode_delay)" 0 >/dev/null   # stays active: the kill below owes a resync
rule delay b.img "$OFF" - 3000
chunk x
put x $((1 * MiB))
check "the write returned: a.img has it" yes "$(is a.img $((1 * MiB)) x)"
check "the write-mostly b.img has not yet" no "$(is b.img $((1 * MiB)) x)"
check "max_backlog_used" 1 "$(md bitmap/max_backlog_used)"
sleep 1   # ten daemon periods: a clean chunk would be cleared by now
check "its bit stays set while b.img misses it" 1 "$(dirty a.img)"
landed "the write lands on b.img" b.img $((1 * MiB)) "$T/x"
for _ in $(seq 100); do [ "$(dirty a.img)" = 0 ] && break; sleep 0.1; done
check "then the bit clears" 0 "$(dirty a.img)"
check "max_backlog_used reset" "ok 0" "$(sysw "$(sys md_w bitmap/max_backlog_used)" 0) $(md bitmap/max_backlog_used)"

# ---- more than backlog (2) at once: the third waits for b.img ----
chunk y1; chunk y2; chunk y3
put y1 $((4 * MiB)); put y2 $((4 * MiB + 65536))
check "two went behind" "no no" "$(is b.img $((4 * MiB)) y1) $(is b.img $((4 * MiB + 65536)) y2)"
put y3 $((4 * MiB + 131072))
check "the third waited for the write-mostly member" "yes 2" "$(is b.img $((4 * MiB + 131072)) y3) $(md bitmap/max_backlog_used)"

# ---- kill -9 with writes behind: their bits stay, the next assembly resyncs ----
sysw "$(sys md_w bitmap/backlog)" 16 >/dev/null
for i in 0 1 2 3; do chunk k$i; put k$i $((8 * MiB + i * 65536)); done
sleep 0.5
kill -9 "$MDFS_PID"; wait "$MDFS_PID" 2>/dev/null; MDFS_PID=
fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
sleep 3.5   # the write faulty-fs was delaying when mdfs died ends
rule clear
check "a.img has every write" "yes yes yes yes" "$(for i in 0 1 2 3; do is a.img $((8 * MiB + i * 65536)) k$i; done | xargs)"
check "b.img misses the last, still behind at the kill" no "$(is b.img $((8 * MiB + 3 * 65536)) k3)"
n=$(dirty a.img)
[ "${n:-0}" -ge 1 ] && [ "${n:-0}" -le 2 ] && pass "their chunks' bits are set on disk ($n)" || fail "dirty after the kill: ${n:-none}"
mount_mdfs -o assemble=none
"$ADM" --assemble "$MNT/dev/md_w" a.img b.img 2>/dev/null
settled md_w
check "the resync brought b.img up to date" "yes yes yes yes" "$(for i in 0 1 2 3; do is b.img $((8 * MiB + i * 65536)) k$i; done | xargs)"
sysw "$(sys md_w sync_action)" check >/dev/null
settled md_w
check "a check finds the mirrors equal" 0 "$(md mismatch_cnt)"

# ---- a read served by the write-mostly mirror waits for what is behind ----
rule delay b.img "$OFF" - 3000
chunk r 256K
put r $((12 * MiB))
check "behind: b.img misses it" no "$(is b.img $((12 * MiB)) r)"
"$ADM" "$MNT/dev/md_w" --fail a.img >/dev/null 2>&1
got=$(dd if="$MNT/dev/md_w" bs=256K skip=48 count=1 iflag=direct status=none | sha256sum | cut -d' ' -f1)
check "with only b.img left, the read waits and sees the new data" "$(sha256sum <"$T/r" | cut -d' ' -f1)" "$got"
check "and b.img has it" yes "$(is b.img $((12 * MiB)) r)"
rule clear

# ---- a clean stop waits for the writes behind ----
"$ADM" "$MNT/dev/md_w" --remove a.img >/dev/null 2>&1
"$ADM" "$MNT/dev/md_w" --re-add a.img >/dev/null 2>&1
settled md_w
rule delay b.img "$OFF" - 2000
chunk s
put s $((13 * MiB))
check "behind before the stop" no "$(is b.img $((13 * MiB)) s)"
"$ADM" --stop "$MNT/dev/md_w" 2>/dev/null
check "the stop waited: b.img has it" yes "$(is b.img $((13 * MiB)) s)"
check "and the bitmap is clean on both" "0 0" "$(dirty a.img) $(dirty b.img)"
rule clear
unmount_mdfs
finish
