#include "raid/geometry.h"

#include <algorithm>

namespace mdfs::raid {

uint64_t component_sectors(const Geometry& geo) {
  if (geo.dev_sectors) return geo.dev_sectors;
  uint64_t smallest = 0;
  for (uint64_t s : geo.member_sectors)
    if (s && (!smallest || s < smallest)) smallest = s;
  return smallest;
}

std::vector<uint64_t> role_sectors(const Geometry& geo, int min_disks) {
  if (geo.raid_disks < std::max(min_disks, 1) || geo.member_sectors.size() > size_t(geo.raid_disks)) return {};
  std::vector<uint64_t> sizes = geo.member_sectors;
  sizes.resize(geo.raid_disks, 0);
  return sizes;
}

uint64_t checked_component(const Geometry& geo) {
  uint64_t c = component_sectors(geo);
  for (uint64_t s : geo.member_sectors)
    if (s && s < c) return 0;
  return c;
}

}  // namespace mdfs::raid
