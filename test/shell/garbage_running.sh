#!/bin/bash
# Garbage written to every attribute of a running raid5 (md/, bitmap/,
# dev-*/, the module parameters) is refused with an error and changes
# nothing; the data and the daemon are unharmed.
. "$(dirname "$0")/lib.sh"
mount_mdfs -o assemble=none
sysw "$(param new_array)" md_g >/dev/null
for kv in metadata_version=1.2 level=raid5 raid_disks=4 chunk_size=65536; do sysw "$(sys md_g ${kv%%=*})" "${kv#*=}" >/dev/null; done
for d in 0 1 2 3; do truncate -s 8M "$SRC/g$d.img"; sysw "$(sys md_g new_dev)" g$d.img >/dev/null; done
check "raid5 starts" ok "$(sysw "$(sys md_g array_state)" active)"
head -c 1M /dev/urandom > "$T/data"
dd if="$T/data" of="$MNT/dev/md_g" conv=notrunc,fsync status=none
snapshot() {
  find "$MNT/sys/block/md_g" "$MNT/sys/module" -type f | sort | while read -r f; do
    [ -r "$f" ] && printf '%s=%s\n' "${f#"$MNT"}" "$(cat "$f" 2>&1)"
  done
}
sleep 0.4   # let safe mode mark the array clean, so the snapshot is stable
before=$(snapshot)
count=0
while read -r f; do
  [ -w "$f" ] || continue
  for junk in "garbage" "-1" "99999999999999999999999" "$(printf '\001\002')" ""; do
    r=$(sysw "$f" "$junk")
    # Empty writes and a few values are legal somewhere; garbage never is,
    # except where the kernel takes any write: max_backlog_used resets on
    # one, bitmap_set_bits reads chunk numbers until it meets something
    # else (both change nothing here).
    case ${f#"$MNT"} in */bitmap/max_backlog_used | */bitmap_set_bits) continue ;; esac
    [ "$junk" = garbage ] && [ "$r" = ok ] && fail "${f#"$MNT"} took garbage"
  done
  count=$((count + 1))
done < <(find "$MNT/sys/block/md_g" "$MNT/sys/module" -type f | sort)
# start_dirty_degraded is an int, as in the kernel: "-1" is a legal value.
check "start_dirty_degraded took -1" "-1" "$(cat "$(param start_dirty_degraded)")"
sysw "$(param start_dirty_degraded)" 0 >/dev/null
[ "$count" -gt 30 ] && pass "garbage written to $count attributes" || fail "only $count attributes"
check "nothing changed" "$before" "$(snapshot)"
cmp <(head -c 1M "$MNT/dev/md_g") "$T/data" && pass "data intact" || fail "data changed"
kill -0 "$MDFS_PID" && pass "daemon alive" || fail "daemon died"
unmount_mdfs
finish
