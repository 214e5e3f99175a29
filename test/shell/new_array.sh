#!/bin/bash
# Rule 2: new_array makes arrays named as the kernel names them.
. "$(dirname "$0")/lib.sh"
mount_mdfs

N=$(param new_array)
check "new_array md_t" ok "$(sysw "$N" md_t)"
check "md_t appears clear" clear "$(cat "$(sys md_t array_state)")"
check "md_t has a device file" yes "$(exists md_t)"
check "new_array md_t again: EEXIST" "File exists" "$(sysw "$N" md_t)"
check "new_array md: EINVAL" "Invalid argument" "$(sysw "$N" md)"
check "new_array md01 makes md1" ok "$(sysw "$N" md01)"
check "md1 exists" yes "$(exists md1)"
check "md01 is not a name of its own" no "$(exists md01)"
check "new_array foo: EINVAL" "Invalid argument" "$(sysw "$N" foo)"
check "new_array mdx1: EINVAL" "Invalid argument" "$(sysw "$N" mdx1)"
check "new_array md1048576: EINVAL" "Invalid argument" "$(sysw "$N" md1048576)"
check "new_array md1048575" ok "$(sysw "$N" md1048575)"
check "new_array md_" ok "$(sysw "$N" md_)"
check "new_array md_a/b shows md_a!b" ok "$(sysw "$N" md_a/b)"
check "md_a!b exists" yes "$(exists 'md_a!b')"
long31=md_$(printf 'x%.0s' $(seq 28))
check "a 32-byte name: E2BIG" "Argument list too long" "$(sysw "$N" "${long31}x")"
check "a 31-byte name is fine" ok "$(sysw "$N" "$long31")"
check "trailing newline is ignored" ok "$(sysw "$N" "md300
")"
check "new_array is write-only" "Permission denied" "$(cat "$N" 2>&1 | sed 's/.*: //')"
check "listing" "md1 md1048575 md300 md_ md_a!b md_t $long31" "$(ls "$MNT/sys/block" | tr '\n' ' ' | sed 's/ $//')"
check "dev/ lists the same" "$(ls "$MNT/sys/block")" "$(ls "$MNT/dev")"

# A named array is held until stopped: inactive keeps it, clear removes it.
check "inactive on md_t" ok "$(sysw "$(sys md_t array_state)" inactive)"
sleep 0.2
check "md_t survives inactive" yes "$(exists md_t)"
check "clear on md_t" ok "$(sysw "$(sys md_t array_state)" clear)"
check "md_t gone at once after clear" no "$(exists md_t)"
# A numbered one made by new_array goes away on inactive.
check "inactive on md300" ok "$(sysw "$(sys md300 array_state)" inactive)"
eventually "md300 gone after inactive" no exists md300
check "new_array md_t again after clear" ok "$(sysw "$N" md_t)"
check "md_t is fresh" clear "$(cat "$(sys md_t array_state)")"
kill -0 "$MDFS_PID" || fail "daemon died"
unmount_mdfs
finish
