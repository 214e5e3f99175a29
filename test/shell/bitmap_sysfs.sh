#!/bin/bash
# bitmap/ and the bitmap's array attributes read and write as md-bitmap.c
# and md.c have them: the values without a bitmap, the errnos, a bitmap
# added through bitmap/location on a running array (on the members before
# their superblocks name it: mdadm --examine sees it) and removed again,
# can_clear, bitmap_set_bits, consistency_policy, and mdstat's bitmap line.
. "$(dirname "$0")/lib.sh"
requires mdadm
ADM=${MDFSADM:-$(dirname "$MDFS")/tools/mdfsadm}
b() { cat "$(sys md_s "bitmap/$1")"; }
w() { sysw "$(sys md_s "bitmap/$1")" "$2"; }
examine() { mdadm --examine "$SRC/$1" 2>/dev/null | sed -n "s/^ *$2 : //p"; }

mount_mdfs -o assemble=none
truncate -s 8M "$SRC"/s{0,1}.img "$SRC"/p{0,1,2}.img "$SRC"/z{0,1}.img "$SRC"/o{0,1}.img
"$ADM" --create "$MNT/dev/md_s" -l1 -n2 --bitmap=none s0.img s1.img 2>/dev/null
check "without a bitmap: the kernel's values" "none 0 0 0 0 internal 0 [] resync" \
  "$(b location) $(b chunksize) $(b time_base) $(b backlog) $(b space) $(b metadata) $(b max_backlog_used) [$(b can_clear)] $(cat "$(sys md_s consistency_policy)")"
check "mdstat: no bitmap line" "" "$(grep bitmap: "$MNT/proc/mdstat")"
check "can_clear without a bitmap: ENOENT" "No such file or directory" "$(w can_clear true)"
check "chunksize 511: EINVAL" "Invalid argument" "$(w chunksize 511)"
check "chunksize 3000 (not a power of 2): EINVAL" "Invalid argument" "$(w chunksize 3000)"
check "chunksize 131072" "ok 131072" "$(w chunksize 131072) $(b chunksize)"
check "metadata external: EINVAL (internal bitmaps only)" "Invalid argument" "$(w metadata external)"
check "metadata internal" ok "$(w metadata internal)"
check "time_base garbage: EINVAL" "Invalid argument" "$(w time_base soon)"
check "time_base 2.5" "ok 2.500" "$(w time_base 2.5) $(b time_base)"
check "backlog 16384: EINVAL" "Invalid argument" "$(w backlog 16384)"
check "backlog 100" "ok 100" "$(w backlog 100) $(b backlog)"
check "location 0: EINVAL" "Invalid argument" "$(w location 0)"
check "location file:: EINVAL (no bitmap files)" "Invalid argument" "$(w location file:/tmp/bm)"
check "location garbage: EINVAL" "Invalid argument" "$(w location here)"

# Added on the running array.
check "location +8 adds one" ok "$(w location +8)"
check "location, chunk, time_base, backlog" "+8 131072 2.500 100" "$(b location) $(b chunksize) $(b time_base) $(b backlog)"
check "consistency_policy" bitmap "$(cat "$(sys md_s consistency_policy)")"
check "mdstat: the bitmap line" "      bitmap: 1/1 pages [4KB], 128KB chunk" "$(grep bitmap: "$MNT/proc/mdstat")"
state=$("$MDFS_IOCTL" "$MNT/dev/md_s" GET_ARRAY_INFO | sed 's/.* state=\([0-9]*\) .*/\1/')
check "GET_ARRAY_INFO: MD_SB_BITMAP_PRESENT" 1 "$(( (state >> 8) & 1 ))"
check "mdadm --examine sees it" "8 sectors from superblock 0x1" "$(examine s0.img 'Internal Bitmap') $(examine s0.img 'Feature Map')"
"$ADM" -X "$SRC/s1.img" > "$T/x" 2>&1
check "the bitmap on the other member" "128 KB|2s flush period|Allow write behind, max 100" \
  "$(sed -n 's/^ *Chunksize : //p; s/^ *Daemon : //p; s/^ *Write Mode : //p' "$T/x" | paste -sd'|')"
check "chunksize with a bitmap: EBUSY" "Device or resource busy" "$(w chunksize 65536)"
check "location with a bitmap: EBUSY" "Device or resource busy" "$(w location +16)"
check "metadata with a bitmap: EBUSY" "Device or resource busy" "$(w metadata internal)"
check "space 0: EINVAL" "Invalid argument" "$(w space 0)"
check "space 100" "ok 100" "$(w space 100) $(b space)"
check "can_clear garbage: EINVAL" "Invalid argument" "$(w can_clear maybe)"
check "can_clear false, then true" "ok false ok true" "$(w can_clear false) $(b can_clear) $(w can_clear true) $(b can_clear)"
check "max_backlog_used resets on any write" "ok 0" "$(w max_backlog_used 7) $(b max_backlog_used)"
check "consistency_policy on raid1: EBUSY (no policy switch)" "Device or resource busy" \
  "$(sysw "$(sys md_s consistency_policy)" resync)"

# bitmap_set_bits: the chunks dirty on the members, and resynced.
w time_base 0.1 >/dev/null
eventually "the new bitmap's bits clear" "      bitmap: 0/1 pages [0KB], 128KB chunk" grep bitmap: "$MNT/proc/mdstat"
sysw "$(sys md_s sync_speed_max)" 1000 >/dev/null
check "bitmap_set_bits 3-5 9" ok "$(sysw "$(sys md_s bitmap_set_bits)" "3-5 9")"
dirty=$("$ADM" -X "$SRC/s0.img" | sed -n 's/.*(chunks), \([0-9]*\) dirty.*/\1/p')
check "four chunks dirty on the member" 4 "$dirty"
check "a resync of them was owed" resync "$(cat "$(sys md_s last_sync_action)")"
sysw "$(sys md_s sync_speed_max)" system >/dev/null
eventually "and runs" none cat "$(sys md_s resync_start)"

# can_clear true on a degraded array: EBUSY.
"$ADM" "$MNT/dev/md_s" --fail s1.img 2>/dev/null
check "can_clear true while degraded: EBUSY" "Device or resource busy" "$(w can_clear true)"
"$ADM" "$MNT/dev/md_s" --remove s1.img 2>/dev/null
check "location while frozen: EBUSY" "ok Device or resource busy" \
  "$(sysw "$(sys md_s sync_action)" frozen) $(w location none)"
sysw "$(sys md_s sync_action)" idle >/dev/null

# Removed: the superblocks no longer name it.
check "location none removes it" "ok none 128" "$(w location none) $(b location) $(( $(b chunksize) / 1024 ))"
check "consistency_policy back to resync" resync "$(cat "$(sys md_s consistency_policy)")"
check "mdstat: no bitmap line" "" "$(grep bitmap: "$MNT/proc/mdstat")"
check "mdadm --examine: no bitmap" " 0x0" "$(examine s0.img 'Internal Bitmap') $(examine s0.img 'Feature Map')"
check "can_clear empty again" "" "$(b can_clear)"

# raid5: consistency_policy EINVAL; raid0: no bitmap; 0.90: only at +8.
"$ADM" --create --assume-clean "$MNT/dev/md_p" -l5 -n3 -c64 --bitmap=none p{0,1,2}.img 2>/dev/null
check "consistency_policy on raid5: EINVAL" "Invalid argument" "$(sysw "$(sys md_p consistency_policy)" bitmap)"
"$ADM" --create "$MNT/dev/md_z" -l0 -n2 -c64 z{0,1}.img 2>/dev/null
check "raid0: location EINVAL" "Invalid argument" "$(sysw "$(sys md_z bitmap/location)" +8)"
"$ADM" --create --assume-clean "$MNT/dev/md_o" -l1 -n2 -e0.90 --bitmap=none o{0,1}.img 2>/dev/null
check "0.90: location +16 EINVAL" "Invalid argument" "$(sysw "$(sys md_o bitmap/location)" +16)"
sysw "$(sys md_o bitmap/chunksize)" 512 >/dev/null   # 14336 bits: 4 sectors with the superblock
check "0.90: location +8" ok "$(sysw "$(sys md_o bitmap/location)" +8)"
check "space below the bitmap: EFBIG" "File too large" "$(sysw "$(sys md_o bitmap/space)" 3)"
check "0.90: mdadm --examine sees it" present "$(examine o0.img 'Internal Bitmap')"
unmount_mdfs
finish
