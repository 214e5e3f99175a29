#!/bin/bash
# Arrays made by the Linux kernel assemble at mount and read back exactly
# (the manifest's size and sha256), healthy and degraded.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum
LEVELS=${LEVELS:-"linear raid0 raid1 raid10 raid4 raid5 raid6"}

# manifest DIR: the manifest's values as m_level, m_members, m_size, m_sha,
# m_options, m_missing (roles left out of the degraded read-back), m_dsha.
manifest() {
  eval "$(python3 - "$1/manifest.json" <<'EOF'
import json, shlex, sys
m = json.load(open(sys.argv[1]))
d = m.get("degraded", {})
for k, v in (("level", m["level"]), ("members", " ".join(m["members_in_role_order"])),
             ("size", m["array_size_bytes"]), ("sha", m["sha256"]), ("options", m["mdadm_create_options"]),
             ("missing", " ".join(str(r) for r in d.get("missing_roles", []))), ("dsha", d.get("sha256", ""))):
    print(f"m_{k}={shlex.quote(str(v))}")
EOF
)"
}

cases=$(fixture_cases) || exit 1
want=0 n=0
for case in $cases; do
  dir=$FIXTURES/$case
  manifest "$dir"
  case " $LEVELS " in *" $m_level "*) ;; *) continue ;; esac
  want=$((want + 1))
  for mode in healthy degraded; do
    missing=""
    if [ $mode = degraded ]; then
      missing=$m_missing
      [ -n "$missing" ] || continue
    fi
    rm -f "$SRC"/*
    i=0
    for member in $m_members; do
      case " $missing " in *" $i "*) ;; *) xz -dc "$dir/$member" > "$SRC/${member%.xz}" ;; esac
      i=$((i + 1))
    done
    mount_mdfs
    name=$(ls "$MNT/dev" | head -1)
    want_size=$m_size
    want_sha=$m_sha
    [ $mode = degraded ] && want_sha=$m_dsha
    want_name=md_oracle
    case "$m_options" in *0.90*) want_name=md0 ;; esac
    check "$case ($mode): assembled as $want_name" "$want_name" "$name"
    check "$case ($mode): size" "$want_size" "$(stat -c %s "$MNT/dev/$name" 2>/dev/null)"
    check "$case ($mode): sha256" "$want_sha" "$(sha256sum < "$MNT/dev/$name" | cut -d' ' -f1)"
    [ $mode = healthy ] && n=$((n + 1))
    if [ $mode = degraded ]; then
      check "$case ($mode): degraded count" "$(echo $missing | wc -w)" "$(cat "$(sys "$name" degraded)" 2>/dev/null)"
    fi
    unmount_mdfs
  done
done
checked_cases "kernel-md fixtures of levels $LEVELS" "$want" "$n"
finish
