#!/bin/bash
# Rule 8: every array_state value written to an array without members, from
# each way of making one, answers as Linux 6.1 did (reference/
# kernel-lifecycle-detail-6.1.md, rows clear_new, clear_named, clear_open,
# inactive_nodisk). Cells: "result state-after present-later [present-after-close]".
. "$(dirname "$0")/lib.sh"
mount_mdfs

VALUES="clear inactive suspended readonly read-auto clean active write-pending active-idle broken bogus"
E=EINVAL
declare -A clear_new=([clear]="ok absent no" [inactive]="ok absent no")
declare -A clear_named=([clear]="ok absent no" [inactive]="ok clear yes")
declare -A clear_open=([clear]="ok clear yes no" [inactive]="ok clear yes no")
declare -A inactive_nodisk=([clear]="ok absent no" [inactive]="ok inactive yes")

errtext() { case "$1" in ok) echo ok ;; EINVAL) echo "Invalid argument" ;; esac; }
state_of() { cat "$(sys "$1" array_state)" 2>/dev/null || echo absent; }

n=20
for row in clear_new clear_named clear_open inactive_nodisk; do
  for v in $VALUES; do
    n=$((n + 1))
    declare -n cells=$row
    expect=${cells[$v]:-}
    case $row in
      clear_new) name=md$n; sysw "$(param new_array)" "$name" >/dev/null; [ -z "$expect" ] && expect="$E clear yes" ;;
      clear_named) name=md_t$n; sysw "$(param new_array)" "$name" >/dev/null; [ -z "$expect" ] && expect="$E clear yes" ;;
      clear_open) name=md$n; exec 3<>"$MNT/dev/$name"; [ -z "$expect" ] && expect="$E clear yes yes" ;;
      inactive_nodisk)
        name=md$n; sysw "$(param new_array)" "$name" >/dev/null
        sysw "$(sys "$name" metadata_version)" 1.2 >/dev/null
        sysw "$(sys "$name" level)" raid5 >/dev/null
        sysw "$(sys "$name" raid_disks)" 4 >/dev/null
        [ -z "$expect" ] && expect="$E inactive yes" ;;
    esac
    read -r want_result want_state want_later want_after_close <<<"$expect"
    got_result=$(sysw "$(sys "$name" array_state)" "$v")
    got_state=$(state_of "$name")
    check "$row/$v: result" "$(errtext "$want_result")" "$got_result"
    check "$row/$v: state after" "$want_state" "$got_state"
    if [ "$want_later" = no ]; then
      eventually "$row/$v: gone" no exists "$name"
    else
      sleep 0.1
      check "$row/$v: still there" yes "$(exists "$name")"
    fi
    if [ "$row" = clear_open ]; then
      exec 3<&-
      if [ "$want_after_close" = no ]; then
        eventually "$row/$v: gone after close" no exists "$name"
      else
        sleep 0.1
        check "$row/$v: there after close" yes "$(exists "$name")"
      fi
    fi
  done
done
unmount_mdfs
finish
