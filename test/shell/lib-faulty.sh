# Members on a failing disk: SOURCE is a faulty-fs mount (tools/faulty-fs)
# of $BACK, whose files fail chosen ranges on demand. Sourced after lib.sh.
FAULTY_FS=${FAULTY_FS:-$(dirname "$MDFS")/tools/faulty-fs}
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
BACK=$T/back
mkdir -p "$BACK"
FAULTY_PID=

# mdfs goes first, then the disk under it, then lib.sh's cleanup.
faulty_cleanup() {
  if mountpoint -q "$MNT" 2>/dev/null; then
    fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
  fi
  if [ -n "${MDFS_PID:-}" ]; then
    # It lets go of the members before their disk goes; a daemon that does
    # not end is killed.
    kill "$MDFS_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$MDFS_PID" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$MDFS_PID" 2>/dev/null
    wait "$MDFS_PID" 2>/dev/null
    MDFS_PID=
  fi
  if mountpoint -q "$SRC" 2>/dev/null; then
    fusermount3 -u "$SRC" 2>/dev/null || umount -l "$SRC" 2>/dev/null
  fi
  [ -n "$FAULTY_PID" ] && kill "$FAULTY_PID" 2>/dev/null
  cleanup
}
trap faulty_cleanup EXIT

# mount_faulty: $BACK shown at $SRC through faulty-fs.
mount_faulty() {
  "$FAULTY_FS" -f "$BACK" "$SRC" 2>"$T/faulty.log" &
  FAULTY_PID=$!
  wait_up faulty-fs "$FAULTY_PID" "$SRC/.faulty" "$T/faulty.log"
}

# rule COMMAND...: one faulty-fs command (eio, bad, short, weio, enospc,
# delay, clear); a command it refuses fails the test at once.
rule() {
  printf '%s\n' "$*" >"$SRC/.faulty" || { fail "faulty-fs refused: $*"; exit 1; }
}

md() { cat "$(sys "$ARRAY" "$1")"; }

# make_array NAME LEVEL LAYOUT MEMBERS...: a new array of blank 16 MiB
# members (64 KiB chunks), filled with random data kept in $T/ref.
make_array() {
  local name=$1 level=$2 layout=$3
  shift 3
  ARRAY=$name
  local m
  for m in "$@"; do truncate -s 16M "$BACK/$m"; done
  local args=(-l "$level" -n $#)
  [ "$level" != raid1 ] && args+=(-c 64)
  [ "$layout" != - ] && args+=(-p "$layout")
  "$ADM" --create "$MNT/dev/$name" "${args[@]}" "$@" >/dev/null 2>&1 || { fail "mdfsadm --create $name $level"; return 1; }
  # The new array's first resync or rebuild, done before the test begins.
  "$ADM" --wait "$MNT/dev/$name" >/dev/null 2>&1
  head -c "$(stat -c %s "$MNT/dev/$name")" /dev/urandom >"$T/ref"
  dd if="$T/ref" of="$MNT/dev/$name" bs=1M conv=notrunc,fsync status=none
}

# no_log MEMBER: writes to MEMBER's bad block log fail (EIO), so that
# nothing can be recorded there and md's policy without a log applies
# (md_error). make_array's members are 1.2: the superblock at 4 KiB, the log
# 16 sectors after it (12 KiB), as mdadm 4.2 puts them.
no_log() { rule weio "$1" 12288 4K; }

# data_at MEMBER BYTES: where byte BYTES of MEMBER's data area is in its file.
data_at() { echo $(( $(md "dev-$1/offset") * 512 + $2 )); }

# read_array [BS]: the whole array read with direct I/O, one request at a
# time from the start (so raid1 and raid10 read the first copy), hashed.
read_array() { dd if="$MNT/dev/$ARRAY" bs="${1:-512K}" iflag=direct status=none | sha256sum | cut -d' ' -f1; }
ref_sum() { sha256sum <"$T/ref" | cut -d' ' -f1; }

# bytes FILE OFFSET LENGTH: a hash of that part of a member file in $BACK.
bytes() { dd if="$BACK/$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" status=none | sha256sum | cut -d' ' -f1; }
# scribble FILE OFFSET LENGTH: garbage there, behind the array's back.
scribble() {
  head -c "$3" /dev/urandom | dd of="$BACK/$1" bs=64K oflag=seek_bytes seek="$2" conv=notrunc status=none
}

# bad_sectors MEMBER DATA_BYTE LENGTH: that part of MEMBER's data goes bad
# (faulty-fs "bad") with garbage behind it; BAD_AT and BAD_HELD keep where
# it is in the file and what it held.
bad_sectors() {
  BAD_AT=$(data_at "$1" "$2")
  BAD_HELD=$(bytes "$1" "$BAD_AT" "$3")
  scribble "$1" "$BAD_AT" "$3"
  rule bad "$1" "$BAD_AT" "$3"
}

# check_fixed WHAT MEMBER LENGTH [BS]: after bad_sectors, a whole read of
# the array (BS requests) is right, MEMBER's errors count the LENGTH bytes
# as rewritten sectors, and they hold what they held again.
check_fixed() {
  check "$1: the array reads back right (${4:-512K} reads)" "$(ref_sum)" "$(read_array "${4:-512K}")"
  check "$1: errors counts the $(($3 / 512)) sectors rewritten" $(($3 / 512)) "$(md "dev-$2/errors")"
  check "$1: the bad sectors hold their data again" "$BAD_HELD" "$(bytes "$2" "$BAD_AT" "$3")"
}
