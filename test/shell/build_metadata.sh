#!/bin/bash
# The same with metadata 1.0, 1.1 and 0.90 superblocks.
for meta in 1.0 1.1 0.90; do
  META=$meta LEVELS="raid1:2:0 raid5:4:2 raid10:4:258" bash "$(dirname "$0")/build_levels.sh" || exit 1
done
