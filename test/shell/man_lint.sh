#!/bin/bash
# The man pages render and mandoc -Tlint finds nothing at warning level or worse.
. "$(dirname "$0")/lib.sh"
requires mandoc
for page in "$(dirname "$0")"/../../man/*.8; do
  out=$(mandoc -Tlint -W warning "$page" 2>&1 | grep -v 'mandoc.db')
  check "$(basename "$page") lints clean" "" "$out"
  mandoc -Tutf8 "$page" | col -b | grep -q "SYNOPSIS" && pass "$(basename "$page") renders" || fail "$(basename "$page") does not render"
done

# Every option --help lists is in the man page, and every long option the
# page's MODES and OPTIONS sections name is one --help lists.
MAN=$(dirname "$0")/../../man
for tool in "$MDFS" "$(dirname "$MDFS")/tools/mdfsadm"; do
  name=$(basename "$tool")
  help=$("$tool" --help)
  for o in $(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u); do
    grep -q -- "Fl ${o#-}\b" "$MAN/$name.8" || fail "$name --help lists $o, $name.8 does not"
  done
  options=$(awk '/^\.Sh / { keep = ($2 == "OPTIONS" || $2 == "MODES") } keep' "$MAN/$name.8")
  for o in $(grep -o 'Fl -[a-z][a-z-]*' <<<"$options" | sed 's/^Fl //' | sort -u); do
    grep -q -- "-$o\b" <<<"$help" || fail "$name.8 names -$o, $name --help does not"
  done
  pass "$name --help and $name.8 list the same options"
done
finish
