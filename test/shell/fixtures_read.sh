#!/bin/bash
# Arrays made by the Linux kernel assemble at mount and read back exactly
# (the manifest's size and sha256), healthy and degraded.
. "$(dirname "$0")/lib.sh"
requires xz python3 sha256sum
LEVELS=${LEVELS:-"linear raid0 raid1 raid10 raid4 raid5 raid6"}

manifest() { python3 -c "import json,sys; m=json.load(open('$1/manifest.json')); print(eval(sys.argv[1]))" "$2"; }

cases=$(fixture_cases) || exit 1
want=0 n=0
for case in $cases; do
  dir=$FIXTURES/$case
  level=$(manifest "$dir" "m['level']")
  case " $LEVELS " in *" $level "*) ;; *) continue ;; esac
  want=$((want + 1))
  for mode in healthy degraded; do
    missing=""
    if [ $mode = degraded ]; then
      missing=$(manifest "$dir" "' '.join(str(r) for r in m.get('degraded',{}).get('missing_roles',[]))")
      [ -n "$missing" ] || continue
    fi
    rm -f "$SRC"/*
    i=0
    for member in $(manifest "$dir" "' '.join(m['members_in_role_order'])"); do
      case " $missing " in *" $i "*) ;; *) xz -dc "$dir/$member" > "$SRC/${member%.xz}" ;; esac
      i=$((i + 1))
    done
    mount_mdfs
    name=$(ls "$MNT/dev" | head -1)
    want_size=$(manifest "$dir" "m['array_size_bytes']")
    want_sha=$(manifest "$dir" "m['degraded']['sha256'] if '$mode' == 'degraded' else m['sha256']")
    want_name=md_oracle
    case "$(manifest "$dir" "m['mdadm_create_options']")" in *0.90*) want_name=md0 ;; esac
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
