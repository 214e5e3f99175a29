# Shared by the reshape tests (sourced after lib.sh, with ADM set): what
# every finished reshape must leave.

# finished NAME DISKS: the reshape ended with DISKS members, the data is
# intact up to the smaller of the two sizes, a check finds no mismatch, and
# no member's superblock still records a reshape.
finished() {
  local name=$1 disks=$2 size
  "$ADM" --wait "$MNT/dev/$name" 2>/dev/null
  check "$name: reshaped" "none idle $disks" \
    "$(cat "$(sys "$name" reshape_position)") $(cat "$(sys "$name" sync_action)") $(cat "$(sys "$name" raid_disks)")"
  size=$(stat -c %s "$MNT/dev/$name")
  [ "$size" -gt "$(stat -c %s "$T/$name.data")" ] && size=$(stat -c %s "$T/$name.data")
  cmp -s -n "$size" "$T/$name.data" "$MNT/dev/$name" && pass "$name: data intact" || fail "$name: data differs"
  echo check >"$(sys "$name" sync_action)"
  "$ADM" --wait "$MNT/dev/$name" 2>/dev/null
  check "$name: mismatch_cnt" 0 "$(cat "$(sys "$name" mismatch_cnt)")"
  local bits=0 f
  for f in "$SRC/$name"-*.img; do
    mdadm --examine "$f" 2>/dev/null | grep -qE "Reshape pos|New Offset" && bits=$((bits + 1))
  done
  check "$name: no superblock records a reshape" 0 "$bits"
}
