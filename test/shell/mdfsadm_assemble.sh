#!/bin/bash
# --assemble as mdadm's Assemble: members selected by --uuid, --name or
# --super-minor among the files given; a degraded array started only with
# --run (else mdadm's "need all N" and nothing left), --no-degraded; an
# mdadm.conf (--config) with ARRAY lines (uuid=, name=, devices=, <ignore>),
# DEVICE lines mapped onto SOURCE, AUTO and HOMEHOST; --examine --scan's
# output used as the config; --incremental one member at a time (started
# when complete, with --run when enough), --incremental --scan --run,
# --incremental --fail, --export.
. "$(dirname "$0")/lib.sh"
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
adm() { "$ADM" "$@" >"$T/out" 2>"$T/err"; RC=$?; }
mount_mdfs -o assemble=none
truncate -s 16M "$SRC"/a{0,1,2}.img "$SRC"/g{0,1,2}.img "$SRC"/b{0,1}.img "$SRC"/z{0,1}.img "$SRC"/blank.img
state() { cat "$MNT/sys/block/$1/md/array_state" 2>/dev/null || echo gone; }
"$ADM" -CR "$MNT/dev/md_alpha" -l5 -n3 -c64 a0.img a1.img a2.img 2>/dev/null
"$ADM" -CR "$MNT/dev/md_beta" -l1 -n2 b0.img b1.img 2>/dev/null
"$ADM" -CR "$MNT/dev/md7" -e0.90 -l1 -n2 z0.img z1.img 2>/dev/null
"$ADM" --wait "$MNT/dev/md_alpha" "$MNT/dev/md_beta" "$MNT/dev/md7" 2>/dev/null
ALPHA=$("$ADM" -D --export "$MNT/dev/md_alpha" | sed -n 's/^MD_UUID=//p')
adm --examine --scan "$SRC"/a0.img "$SRC"/b0.img "$SRC"/z0.img
cp "$T/out" "$T/scan.conf"
check "--examine --scan: three ARRAY lines" 3 "$(grep -c '^ARRAY' "$T/scan.conf")"
adm --stop --scan --mount "$MNT"
check "all stopped" "gone gone gone" "$(state md_alpha) $(state md_beta) $(state md7)"

# Selection among the files given: --uuid, --name, --super-minor; blank
# files and other arrays' members are passed over.
all=("$SRC"/a0.img "$SRC"/a1.img "$SRC"/a2.img "$SRC"/b0.img "$SRC"/b1.img "$SRC"/z0.img "$SRC"/z1.img "$SRC"/blank.img)
adm -A "$MNT/dev/md_alpha" --uuid="$ALPHA" "${all[@]}"
check "--uuid: alpha from the three of its members" "0 mdfsadm: $MNT/dev/md_alpha has been started with 3 drives." \
  "$RC $(tail -1 "$T/err")"
check "--uuid: the others reported" yes "$(grep -q "b0.img has wrong uuid." "$T/err" && echo yes)"
adm -A "$MNT/dev/md_beta" --name=beta "$SRC"/b0.img "$SRC"/b1.img "$SRC"/z0.img
check "--name: beta" "0 clean" "$RC $(state md_beta)"
adm -A "$MNT/dev/md7" --super-minor=7 "$SRC"/z0.img "$SRC"/z1.img "$SRC"/blank.img
check "--super-minor: the 0.90 array" "0 clean" "$RC $(state md7)"
adm --stop --scan --mount "$MNT"
adm -A "$MNT/dev/md_alpha" "$SRC"/a0.img "$SRC"/b0.img
check "no identity, two arrays: aborted, nothing left" "1 gone" "$RC $(state md_alpha)"
grep -q "doesn't match others - assembly aborted" "$T/err" && pass "no identity: mdadm's words" || fail "no identity: $(cat "$T/err")"

# Degraded: listed members start only with --run.
adm -A "$MNT/dev/md_alpha" a0.img a1.img
check "degraded without --run: exit 1, nothing left" \
  "1 gone mdfsadm: $MNT/dev/md_alpha assembled from 2 drives - need all 3 to start it (use --run to insist)." \
  "$RC $(state md_alpha) $(cat "$T/err")"
adm -A --run "$MNT/dev/md_alpha" a0.img a1.img
check "degraded with --run: started" "0 clean mdfsadm: $MNT/dev/md_alpha has been started with 2 drives (out of 3)." \
  "$RC $(state md_alpha) $(cat "$T/err")"
adm --stop "$MNT/dev/md_alpha"

# A config file: --examine --scan's lines find every array in SOURCE.
adm --assemble --scan --config="$T/scan.conf" --mount "$MNT"
check "--scan with --examine --scan's config: all three" "0 clean clean clean" \
  "$RC $(state md_alpha) $(state md_beta) $(state md7)"
adm --assemble --scan --config="$T/scan.conf" --mount "$MNT"
check "again: already running, nothing to do" 0 "$RC"
adm --stop --scan --mount "$MNT"
# ARRAY lines with devices= and <ignore>; DEVICE lines limit the files.
cat > "$T/one.conf" <<EOF
# only alpha, found among the a*.img files
DEVICE $SRC/a*.img
ARRAY /dev/md/alpha uuid=$ALPHA
ARRAY <ignore> name=beta
EOF
adm --assemble --scan --config="$T/one.conf" --mount "$MNT"
check "DEVICE and <ignore>: alpha only" "0 clean gone gone" "$RC $(state md_alpha) $(state md_beta) $(state md7)"
adm --stop "$MNT/dev/md_alpha"
printf 'DEVICE b*.img\nARRAY /dev/md3 devices=b0.img,b1.img\n' > "$T/dev.conf"
adm --assemble --scan --config="$T/dev.conf" --mount "$MNT"
check "devices=: beta as md3" "0 clean" "$RC $(state md3)"
adm --stop "$MNT/dev/md3"
adm --assemble "$MNT/dev/md_alpha" --config="$T/one.conf"
check "--assemble DEV alone: its ARRAY line" "0 clean" "$RC $(state md_alpha)"
adm --stop "$MNT/dev/md_alpha"
adm --assemble "$MNT/dev/md_gamma" --config="$T/one.conf"
check "an array the config does not know: exit 1" "1 mdfsadm: $MNT/dev/md_gamma not identified in config file." "$RC $(cat "$T/err")"
# AUTO: no 1.x array auto-assembled, 0.90 still; HOMEHOST of another host
# with "homehost" makes this host's arrays foreign.
printf 'AUTO +0.90 -all\n' > "$T/auto.conf"
adm --assemble --scan --config="$T/auto.conf" --mount "$MNT"
check "AUTO +0.90 -all: only the 0.90 array" "0 gone gone clean" "$RC $(state md_alpha) $(state md_beta) $(state md7)"
adm --stop "$MNT/dev/md7"
printf 'HOMEHOST elsewhere\nAUTO homehost -all\n' > "$T/home.conf"
adm --assemble --scan --config="$T/home.conf" --mount "$MNT"
check "AUTO homehost -all on another homehost: nothing" "1 gone gone" "$RC $(state md_alpha) $(state md_beta)"

# --no-degraded: a degraded array found by --scan is assembled, not started.
printf 'DEVICE b0.img\nARRAY /dev/md/beta name=beta\n' > "$T/half.conf"
adm --assemble --scan --no-degraded --config="$T/half.conf" --mount "$MNT"
check "--no-degraded: left inactive, exit 2" "2 inactive" "$RC $(state md_beta)"
adm --run "$MNT/dev/md_beta"
check "then --run starts it" "0 clean" "$RC $(state md_beta)"
adm --stop "$MNT/dev/md_beta"

# --incremental: one member at a time; started when all are there.
"$ADM" -CR --assume-clean "$MNT/dev/md_gamma" -l5 -n3 -c64 g0.img g1.img g2.img 2>/dev/null
"$ADM" --stop "$MNT/dev/md_gamma" 2>/dev/null
adm --incremental "$SRC/g0.img"
check "-I first member: attached, not enough" "0 mdfsadm: $SRC/g0.img attached to $MNT/dev/md_gamma, not enough to start (1)." \
  "$RC $(cat "$T/err")"
adm -I "$SRC/g1.img"
check "-I second: enough, not all: not started" "0 inactive mdfsadm: $SRC/g1.img attached to $MNT/dev/md_gamma, not enough to start safely." \
  "$RC $(state md_gamma) $(cat "$T/err")"
adm -I --export "$SRC/g2.img"
check "-I --export last: started" "0 clean MD_DEVICE=md_gamma|MD_DEVNAME=gamma|MD_FOREIGN=no|MD_STARTED=yes" \
  "$RC $(state md_gamma) $(paste -sd'|' "$T/out")"
adm -I --fail "$SRC/g2.img"
check "-I --fail: failed and removed" "0 no" "$RC $([ -e "$MNT/sys/block/md_gamma/md/dev-g2.img" ] && echo yes || echo no)"
adm --stop "$MNT/dev/md_gamma"
adm -I "$SRC/b0.img"
adm -I --run "$SRC/z0.img"
adm -I --scan --run --mount "$MNT"
check "-I --scan --run: the partial arrays started" "0 clean read-auto" "$RC $(state md_beta) $(state md7)"
adm -I "$SRC/blank.img"
check "-I of a blank file: exit 1" "1 mdfsadm: no recognisable superblock on $SRC/blank.img." "$RC $(cat "$T/err")"
adm --stop --scan --mount "$MNT"
unmount_mdfs
finish
