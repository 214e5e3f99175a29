#!/bin/bash
# The man pages render and mandoc -Tlint finds nothing at warning level or
# worse; --help, the man pages and mdfsadm's parser name the same options
# and agree on what mdfs does with each.
. "$(dirname "$0")/lib.sh"
requires mandoc col
for page in "$(dirname "$0")"/../../man/*.8; do
  out=$(mandoc -Tlint -W warning "$page" 2>&1 | grep -v 'mandoc.db')
  check "$(basename "$page") lints clean" "" "$out"
  mandoc -Tutf8 "$page" | col -b | grep -q "SYNOPSIS" && pass "$(basename "$page") renders" || fail "$(basename "$page") does not render"
done

# Every option --help lists is in the man page, and every long option the
# page's MODES and OPTIONS sections name is one --help lists.
MAN=$(dirname "$0")/../../man
OPT_RE='--[a-z][a-z0-9.-]*[a-z0-9]'
for tool in "$MDFS" "$(dirname "$MDFS")/tools/mdfsadm"; do
  name=$(basename "$tool")
  help=$("$tool" --help)
  for o in $(grep -oE -- "$OPT_RE" <<<"$help" | sort -u); do
    grep -q -- "Fl ${o#-}\b" "$MAN/$name.8" || fail "$name --help lists $o, $name.8 does not"
  done
  options=$(awk '/^\.Sh / { keep = ($2 == "OPTIONS" || $2 == "MODES") } keep' "$MAN/$name.8")
  for o in $(grep -oE "Fl $OPT_RE" <<<"$options" | sed 's/^Fl //' | sort -u); do
    grep -q -- "-$o\b" <<<"$help" || fail "$name.8 names -$o, $name --help does not"
  done
  pass "$name --help and $name.8 list the same options"
done

# mdfsadm: --help-options is the parser's own table. Each option there is
# one getopt knows; its mark in --help ('*' not supported by mdfs yet, '-'
# not supported by mdfs) is what its entry in the man page's OPTIONS begins
# with; and the parser answers it so, with exit status 1 and 2, in the first
# mode that takes it.
ADM=$(dirname "$MDFS")/tools/mdfsadm
table=$("$ADM" --help-options | grep -E '^  --')
count=0
while read -r spec rest; do
  o=${spec%%[=[]*}
  arg=; [[ $spec == *= ]] && arg==x
  "$ADM" "$o$arg" >/dev/null 2>"$T/err"
  grep -q "unrecognized option" "$T/err" && fail "the parser does not know $o"
  mark=none
  [[ $rest == '* '* || $rest == *' * '* ]] && mark=later
  [[ $rest == '- '* || $rest == *' - '* ]] && mark=never
  # The first text line of the page's OPTIONS entry that names the option.
  para=$(awk -v fl="Fl ${o#-}" '
    /^\.Sh / { keep = ($2 == "OPTIONS") }
    !keep { next }
    /^\.It / { s = $0 " "; if (index(s, fl " ") || index(s, fl ",")) found = 1; next }
    found && !/^\./ { print; exit }' "$MAN/mdfsadm.8")
  page=none
  [[ $para == "Not supported by mdfs yet"* ]] && page=later
  [[ $para == "Not supported by mdfs:"* ]] && page=never
  [ "$page" = "$mark" ] || fail "$o: --help says $mark, the man page's OPTIONS entry [$para] says $page"
  if [ "$mark" != none ]; then
    want="1 not supported by mdfs yet"; [ "$mark" = never ] && want="2 not supported by mdfs:"
    got=
    for mode in "" --create --assemble --misc --incremental --monitor "md0 --manage"; do
      # shellcheck disable=SC2086
      "$ADM" $mode "$o$arg" md0 a.img >/dev/null 2>"$T/err"; rc=$?
      if grep -q "${want#* }" "$T/err"; then got="$rc ${want#* }"; break; fi
    done
    check "$o answered: $want" "$want" "$got"
  fi
  count=$((count + 1))
done <<<"$table"
# mdadm 4.2's long_options (ReadMe.c) are 103, mdadm 4.3 adds --write-zeroes,
# and mdfs adds --mount and --source.
check "mdadm 4.2's options, 4.3's --write-zeroes and mdfs's two, all checked" 106 "$count"
finish
