#!/bin/bash
# The man pages render and mandoc -Tlint finds nothing at warning level or worse.
. "$(dirname "$0")/lib.sh"
requires mandoc
for page in "$(dirname "$0")"/../../man/*.8; do
  out=$(mandoc -Tlint -W warning "$page" 2>&1 | grep -v 'mandoc.db')
  check "$(basename "$page") lints clean" "" "$out"
  mandoc -Tutf8 "$page" | col -b | grep -q "SYNOPSIS" && pass "$(basename "$page") renders" || fail "$(basename "$page") does not render"
done
finish
