#!/bin/bash
# raid4, raid5 in its six layouts and raid6 (with a -6 layout) built through
# sysfs: random writes read back, mdadm --examine agrees, remount reads the same.
LEVELS="raid4:4:0 raid5:4:0 raid5:4:1 raid5:4:2 raid5:4:3 raid5:4:4 raid5:4:5 raid5:5:2 raid6:5:2 raid6:6:1 raid6:5:18" \
  exec bash "$(dirname "$0")/build_levels.sh"
