#!/bin/bash
# Array names: new_array refuses control characters, and takes the writes
# of one open file as one name, so `printf 'md_a\nb'` (two writes) fails
# with EINVAL and leaves nothing. Names from superblocks are made safe as
# mdadm makes them: '/' becomes '-', blanks and control characters '_'.
. "$(dirname "$0")/lib.sh"
requires python3 xz
SB_EDIT=$(cd "$(dirname "$0")/../.." && pwd)/tools/sb-edit
R1=$FIXTURES/raid1-2
[ -f "$R1/member-0.img.xz" ] || { fail "fixture missing: $R1"; finish; }
NA=$(param new_array)
mount_mdfs -o assemble=none

out=$( (printf 'md_a\nb' >"$NA") 2>&1)
check "printf 'md_a\\nb': EINVAL" "Invalid argument" "${out##*: }"
check "printf 'md_a\\nb': no md_a" no "$(exists md_a)"
check "one write of 'md_a\\nb': EINVAL" "Invalid argument" "$(sysw "$NA" $'md_a\nb')"
check "still no md_a" "" "$(ls "$MNT/dev")"
n=0
for name in $'md_q\001' $'md_\tx' $'md_x\x7f' $'md_\033[31mred' $'md\r1'; do
  check "control character in $(printf %q "$name"): EINVAL" "Invalid argument" "$(sysw "$NA" "$name")"
  n=$((n + 1))
done
check "five names refused" 5 "$n"
check "nothing made" "" "$(ls "$MNT/dev")"
check "echo md_ok still works" ok "$(sysw "$NA" $'md_ok\n')"
check "md_ok made" yes "$(exists md_ok)"

# One open file, a name in pieces: the whole is the name.
python3 - "$NA" "$MNT" >"$T/py" 2>&1 <<'EOF'
import errno, os, sys
na, mnt = sys.argv[1], sys.argv[2]
def show(what, f):
    try:
        f(); print(what, "ok")
    except OSError as e:
        print(what, errno.errorcode[e.errno])
fd = os.open(na, os.O_WRONLY)
show("piece md_pi", lambda: os.write(fd, b"md_pi"))
print("md_pi made", os.path.exists(mnt + "/dev/md_pi"))
show("piece eces", lambda: os.write(fd, b"eces\n"))
print("md_pi gone", not os.path.exists(mnt + "/dev/md_pi"), "md_pieces made", os.path.exists(mnt + "/dev/md_pieces"))
os.close(fd)
# Someone opens what the first piece made: the next piece cannot take it back.
fd = os.open(na, os.O_WRONLY)
show("piece md_held", lambda: os.write(fd, b"md_held"))
holder = os.open(mnt + "/dev/md_held", os.O_RDONLY)
show("piece x while held", lambda: os.write(fd, b"x"))
print("md_held kept", os.path.exists(mnt + "/dev/md_held"), "md_heldx made", os.path.exists(mnt + "/dev/md_heldx"))
os.close(holder)
os.close(fd)
# Whole lines, one after the other on one open file (echo twice): two names.
fd = os.open(na, os.O_WRONLY)
show("line md_e1", lambda: os.write(fd, b"md_e1\n"))
show("line md_e2", lambda: os.write(fd, b"md_e2\n"))
print("md_e1", os.path.exists(mnt + "/dev/md_e1"), "md_e2", os.path.exists(mnt + "/dev/md_e2"))
os.close(fd)
EOF
check "pieces" "piece md_pi ok
md_pi made True
piece eces ok
md_pi gone True md_pieces made True
piece md_held ok
piece x while held EBUSY
md_held kept True md_heldx made False
line md_e1 ok
line md_e2 ok
md_e1 True md_e2 True" "$(cat "$T/py")"
unmount_mdfs

# Names from superblocks (three arrays of the raid1-2 fixture, each with
# its own uuid and name).
i=0
for name in 'oracle:a\x01b c' 'oracle:x/y' 'oracle:n\nl'; do
  xz -dc "$R1/member-0.img.xz" >"$SRC/n$i.img"
  "$SB_EDIT" "$SRC/n$i.img" "set_name=$name" "set_uuid=hex:$(printf '%032d' $((i + 1)))" >/dev/null ||
    fail "sb-edit n$i.img"
  i=$((i + 1))
done
mount_mdfs
check "names made safe as mdadm makes them" "md_a_b_c md_n_l md_x-y" "$(ls "$MNT/dev" | sort | tr '\n' ' ' | sed 's/ $//')"
check "no control character in the log" 0 "$(tr -d '\n' <"$T/mdfs.log" | LC_ALL=C grep -c '[[:cntrl:]]')"
unmount_mdfs
finish
