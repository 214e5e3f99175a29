#!/bin/bash
# Every superblock feature is kept, makes the array read-only, or refuses
# it with the reason in the log and nothing written (mdfs(8) SUPERBLOCK
# FEATURES); what mdfs writes back keeps what it read.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum mdadm
SB_EDIT=$(cd "$(dirname "$0")/../.." && pwd)/tools/sb-edit
FIX=$FIXTURES/raid5-4-ls
[ -f "$FIX/manifest.json" ] || { fail "no fixture $FIX"; finish; }
manifest() { python3 -c "import json,sys; m=json.load(open('$FIX/manifest.json')); print(eval(sys.argv[1]))" "$1"; }
want_sha=$(manifest "m['sha256']")

unpack() {
  rm -f "$SRC"/*
  for n in 0 1 2 3; do xz -dc "$FIX/member-$n.img.xz" > "$SRC/m$n.img"; done
}
sums() { (cd "$SRC" && sha256sum m*.img); }

# Bits mdfs does not keep: the array is refused, whichever member has it.
cases=0
for bit in CLUSTERED:0x100; do
  name=${bit%%:*} mask=${bit#*:}
  unpack
  features=$("$SB_EDIT" "$SRC/m1.img" feature_map)
  "$SB_EDIT" "$SRC/m1.img" feature_map=$((features | mask))
  before=$(sums)
  mount_mdfs
  check "$name: the array is not started" "" "$(ls "$MNT/dev")"
  grep -q "cannot start: m1.img: feature_map bit $mask (MD_FEATURE_$name)" "$T/mdfs.log" &&
    pass "$name: the log names the member and the bit" || fail "$name: log: $(cat "$T/mdfs.log")"
  unmount_mdfs
  check "$name: nothing written" "$before" "$(sums)"
  cases=$((cases + 1))
done
check "refused bits checked" 1 "$cases"

# A member whose role is the journal in an array without a journal is
# ignored, as super_1_validate: never taken for data or a spare, and never
# written.
unpack
"$SB_EDIT" "$SRC/m3.img" role[3]=0xfffd
m3=$(sha256sum <"$SRC/m3.img")
mount_mdfs
check "journal role: the others run the array degraded" "1 [4/3] [UUU_]" \
  "$(cat "$(sys md_oracle degraded)") $(grep -o '\[4/3\] \[UUU_\]' "$MNT/proc/mdstat")"
grep -q "md: journal device provided without journal feature, ignoring the device" "$T/mdfs.log" &&
  pass "journal role: logged" || fail "journal role: log: $(cat "$T/mdfs.log")"
check "journal role: no pass takes it" idle "$(cat "$(sys md_oracle sync_action)")"
unmount_mdfs
check "journal role: m3 not written" "$m3" "$(sha256sum <"$SRC/m3.img")"

# A bit the kernel does not know: the superblock itself is rejected.
unpack
"$SB_EDIT" "$SRC/m0.img" feature_map=$(( $("$SB_EDIT" "$SRC/m0.img" feature_map) | 0x100000 ))
mount_mdfs
grep -q "m0.img: 1.2: unknown feature bits 0x100000" "$T/mdfs.log" && pass "unknown bit: logged" || fail "unknown bit: log: $(cat "$T/mdfs.log")"
check "unknown bit: the other three run the array degraded" "1" "$(cat "$(sys md_oracle degraded)" 2>/dev/null)"
unmount_mdfs

# PPL: understood for reading, never written: the array starts read-only
# and stays so.
unpack
for n in 0 1 2 3; do "$SB_EDIT" "$SRC/m$n.img" feature_map=0x400 ppl_offset=8 ppl_size=8; done
before=$(sums)
mount_mdfs
check "PPL: started read-only" readonly "$(cat "$(sys md_oracle array_state)" 2>/dev/null)"
grep -q "started read-only: m0.img: feature_map bit 0x400 (MD_FEATURE_PPL)" "$T/mdfs.log" &&
  pass "PPL: the log says why" || fail "PPL: log: $(cat "$T/mdfs.log")"
check "PPL: the content reads right" "$want_sha" "$(sha256sum < "$MNT/dev/md_oracle" | cut -d' ' -f1)"
check "PPL: active is refused" "Read-only file system" "$(sysw "$(sys md_oracle array_state)" active)"
check "PPL: read-auto is refused" "Read-only file system" "$(sysw "$(sys md_oracle array_state)" read-auto)"
check "PPL: still read-only" readonly "$(cat "$(sys md_oracle array_state)")"
dd if=/dev/zero of="$MNT/dev/md_oracle" bs=4k count=1 conv=notrunc status=none 2>/dev/null &&
  fail "PPL: a write went through" || pass "PPL: writes fail"
unmount_mdfs
check "PPL: nothing written" "$before" "$(sums)"

# mdfsadm --assemble says the same before it asks anything of the array.
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
unpack
"$SB_EDIT" "$SRC/m2.img" feature_map=$(( $("$SB_EDIT" "$SRC/m2.img" feature_map) | 0x100 ))
mount_mdfs -o assemble=none
"$ADM" --assemble "$MNT/dev/md0" m0.img m1.img m2.img m3.img >"$T/out" 2>"$T/err"
check "mdfsadm --assemble of a clustered array: exit 1" 1 "$?"
grep -q "cannot assemble $MNT/dev/md0: $SRC/m2.img: feature_map bit 0x100 (MD_FEATURE_CLUSTERED)" "$T/err" &&
  pass "mdfsadm names the member and the bit" || fail "mdfsadm said: $(cat "$T/err")"
check "no array left behind" "" "$(ls "$MNT/dev")"
for n in 0 1 2 3; do "$SB_EDIT" "$SRC/m$n.img" feature_map=0x400 ppl_offset=8 ppl_size=8; done
"$ADM" --assemble "$MNT/dev/md0" m0.img m1.img m2.img m3.img >"$T/out" 2>"$T/err"
check "mdfsadm --assemble of a PPL array: exit 0" 0 "$?"
grep -q "will start read-only: $SRC/m0.img: feature_map bit 0x400 (MD_FEATURE_PPL)" "$T/err" &&
  pass "mdfsadm says why it starts read-only" || fail "mdfsadm said: $(cat "$T/err")"
check "the PPL array runs read-only" readonly "$(cat "$(sys md0 array_state)")"
unmount_mdfs

# Flags and fields mdfs does not own survive its superblock writes.
unpack
"$SB_EDIT" "$SRC/m1.img" devflags=0x83 cnt_corrected_read=7
"$SB_EDIT" "$SRC/m2.img" devflags=0x01
uuid1=$(mdadm --examine "$SRC/m1.img" | sed -n 's/^ *Device UUID : //p')
mount_mdfs
check "flags shown in dev-m1.img/state" "in_sync,write_mostly,failfast" "$(cat "$(sys md_oracle dev-m1.img/state)")"
check "flags shown in dev-m2.img/state" "in_sync,write_mostly" "$(cat "$(sys md_oracle dev-m2.img/state)")"
check "-failfast" ok "$(sysw "$(sys md_oracle dev-m1.img/state)" -failfast)"
check "failfast" ok "$(sysw "$(sys md_oracle dev-m1.img/state)" failfast)"
check "-writemostly on m2" ok "$(sysw "$(sys md_oracle dev-m2.img/state)" -writemostly)"
dd if=/dev/urandom of="$MNT/dev/md_oracle" bs=64k count=4 conv=notrunc,fsync status=none
unmount_mdfs
check "m1's device flags kept (unknown bit 0x80 too)" 131 "$("$SB_EDIT" "$SRC/m1.img" devflags)"
check "m1's corrected read count kept" 7 "$("$SB_EDIT" "$SRC/m1.img" cnt_corrected_read)"
check "m2's write-mostly cleared as asked" 0 "$("$SB_EDIT" "$SRC/m2.img" devflags)"
check "m1's device uuid kept" "$uuid1" "$(mdadm --examine "$SRC/m1.img" | sed -n 's/^ *Device UUID : //p')"
check "mdadm sees the flags" "write-mostly failfast" \
  "$(mdadm --examine "$SRC/m1.img" | sed -n 's/^ *Flags : //p' | tr -s ' ' | sed 's/ *$//')"
finish
