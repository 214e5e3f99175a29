// --detail: an array as mdadm 4.2's Detail() prints it, from what the mount
// shows (GET_ARRAY_INFO and GET_DISK_INFO on dev/<name>, sysfs, mdstat)
// plus, as mdadm does, the superblock of one active member for the name,
// uuid and events.
#pragma once

#include <string>
#include <vector>

#include "mdfsadm/mount.h"

namespace mdfsadm {

struct DetailOptions {
  std::string homehost;
  bool brief = false;  // --brief / --scan: one ARRAY line
  bool test = false;   // --test: exit status tells degraded (1) or failed (2)
  bool export_vars = false;  // --export: MD_LEVEL=... lines
  int verbose = 0;           // with --brief: level=, num-devices= and devices=
  bool no_devices = false;   // --no-devices: no member list
};

int detail(const ArrayRef& array, const DetailOptions& opts);

// --detail --scan: an ARRAY line for every array of every mdfs mount (or of
// the mount given).
int detail_scan(const MountOptions& mopts, const DetailOptions& opts);

}  // namespace mdfsadm
