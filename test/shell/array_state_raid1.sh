#!/bin/bash
# Rule 8 for a raid1 with members: every array_state value written in every
# state answers as Linux 6.1 did (reference/kernel-lifecycle-detail-6.1.md:
# rows inactive_disks, clean, active, readonly, readauto, activeopen), each
# cell on a fresh array; STOP_ARRAY with another opener: EBUSY.
. "$(dirname "$0")/lib.sh"
mount_mdfs -o assemble=none

# Make the raid1 once (mdfs writes its superblocks), then stop it: each cell
# loads the members again, as mdadm --assemble through sysfs.
truncate -s 8M "$SRC/a.img" "$SRC/b.img"
sysw "$(param new_array)" md_make >/dev/null
for kv in metadata_version=1.2 level=raid1 raid_disks=2; do sysw "$(sys md_make ${kv%%=*})" "${kv#*=}" >/dev/null; done
sysw "$(sys md_make new_dev)" a.img >/dev/null
sysw "$(sys md_make new_dev)" b.img >/dev/null
check "raid1 starts" ok "$(sysw "$(sys md_make array_state)" active)"
check "clear it" ok "$(sysw "$(sys md_make array_state)" clear)"

VALUES="clear inactive suspended readonly read-auto clean active write-pending active-idle broken bogus"
declare -A inactive_disks=([clear]="ok absent" [inactive]="ok inactive" [readonly]="ok readonly" [read-auto]="ok read-auto" [active]="ok clean")
declare -A clean=([clear]="ok absent" [inactive]="ok inactive" [readonly]="ok readonly" [read-auto]="ok read-auto" [clean]="ok clean" [active]="ok clean")
declare -A active=([clear]="ok absent" [inactive]="ok inactive" [readonly]="ok readonly" [read-auto]="ok read-auto" [clean]="ok clean" [active]="ok active")
declare -A readonly=([clear]="ok absent" [inactive]="ok inactive" [readonly]="ENXIO readonly" [read-auto]="ok read-auto" [clean]="ok clean" [active]="ok clean")
declare -A readauto=([clear]="ok absent" [inactive]="ok inactive" [readonly]="ok readonly" [clean]="ok clean" [active]="ok clean")
declare -A activeopen=([clear]="EBUSY clean" [inactive]="EBUSY clean" [readonly]="EBUSY clean" [read-auto]="EBUSY clean" [clean]="ok clean" [active]="ok clean")
declare -A before=([inactive_disks]=inactive [clean]=clean [active]=active [readonly]=readonly [readauto]=read-auto [activeopen]=clean)

errtext() { case "$1" in ok) echo ok ;; EINVAL) echo "Invalid argument" ;; ENXIO) echo "No such device or address" ;; EBUSY) echo "Device or resource busy" ;; esac; }
state_of() { cat "$(sys "$1" array_state)" 2>/dev/null || echo absent; }

n=40
for row in inactive_disks clean active readonly readauto activeopen; do
  for v in $VALUES; do
    n=$((n + 1))
    name=md$n
    sysw "$(param new_array)" $name >/dev/null
    sysw "$(sys $name metadata_version)" 1.2 >/dev/null
    sysw "$(sys $name new_dev)" a.img >/dev/null
    sysw "$(sys $name new_dev)" b.img >/dev/null
    case $row in
      clean|activeopen) sysw "$(sys $name array_state)" active >/dev/null ;;
      active)
        sysw "$(sys $name array_state)" active >/dev/null
        sysw "$(sys $name safe_mode_delay)" 0 >/dev/null
        dd if=/dev/urandom of="$MNT/dev/$name" bs=4096 count=1 conv=notrunc status=none ;;
      readonly) sysw "$(sys $name array_state)" readonly >/dev/null ;;
      readauto) sysw "$(sys $name array_state)" read-auto >/dev/null ;;
    esac
    [ $row = activeopen ] && exec 3<"$MNT/dev/$name"
    declare -n cells=$row
    expect=${cells[$v]:-"EINVAL ${before[$row]}"}
    read -r want_result want_state <<<"$expect"
    check "$row: before" "${before[$row]}" "$(state_of $name)"
    check "$row/$v: result" "$(errtext "$want_result")" "$(sysw "$(sys $name array_state)" "$v")"
    check "$row/$v: state after" "$want_state" "$(state_of $name)"
    if [ $row = activeopen ]; then
      [ "$v" = clear ] && check "STOP_ARRAY with another opener: EBUSY" "STOP_ARRAY: EBUSY (16: Device or resource busy)" "$("$MDFS_IOCTL" "$MNT/dev/$name" STOP_ARRAY)"
      exec 3<&-
    fi
    # Each cell ends with the array gone, so the members are free for the next.
    [ "$(state_of $name)" != absent ] && sysw "$(sys $name array_state)" clear >/dev/null
    eventually "$row/$v: cleared" no exists $name
  done
done
unmount_mdfs
finish
