#!/bin/sh
# meson's test for one fuzz target: replay its corpus, then mutate it for
# FUZZ_REPLAY_SECONDS (default 5; 0: the corpus only), in a scratch folder
# that keeps the last input if it crashed.
# usage: run_replay.sh REPLAY_BINARY CORPUS_DIR
set -u
bin=$1 corpus=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/mdfs-replay.XXXXXX") || exit 1
"$bin" --mutate "${FUZZ_REPLAY_SECONDS:-5}" --last "$work/last-input" "$corpus"
status=$?
if [ "$status" -ne 0 ] && [ -f "$work/last-input" ]; then
  echo "the input that failed: $work/last-input (replay it: $bin $work/last-input)"
else
  rm -rf "$work"
fi
exit "$status"
