// --grow: change a running array's shape or size, as mdadm --grow.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mdfsadm/mount.h"

namespace mdfsadm {

struct GrowOptions {
  std::optional<std::string> raid_devices;
  std::optional<std::string> chunk;
  std::optional<std::string> layout;
  std::optional<std::string> level;
  std::optional<std::string> size;        // component size, or "max"
  std::optional<std::string> array_size;  // or "max"
  std::optional<std::string> backup_file;
  std::vector<std::string> add;  // --add: members appended to a linear array
  bool force = false;            // grow a member count without spares
};

// --grow DEV: for raid4/5/6 --raid-devices, --chunk and --layout start a
// reshape (new_offset of each member, chunk_size, layout, raid_disks,
// sync_action reshape); for raid1 --raid-devices sets raid_disks at once
// (spares fill new mirrors by recovery); --add appends members to a
// linear array; --level takes the array over to another level (raid5 <->
// raid6 with a reshape where the data moves); --size
// writes component_size, --array-size array_size.
int grow(const std::string& dev, const GrowOptions& opts, const MountOptions& mopts);

}  // namespace mdfsadm
