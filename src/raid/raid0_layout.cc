#include "raid/raid0_layout.h"

#include <algorithm>

namespace mdfs::raid {

Result<Raid0Layout> Raid0Layout::make(std::span<const uint64_t> member_sectors, uint32_t chunk_sectors,
                                      int layout) {
  if (member_sectors.empty() || chunk_sectors == 0) return err(EINVAL);
  Raid0Layout l;
  l.chunk_ = chunk_sectors;
  std::vector<uint64_t> rounded;
  for (uint64_t s : member_sectors) {
    uint64_t r = s - s % chunk_sectors;
    rounded.push_back(r);
    l.array_sectors_ += r & ~uint64_t{chunk_sectors - 1};
  }
  // One zone per distinct member size, smallest first.
  std::vector<uint64_t> sizes = rounded;
  std::sort(sizes.begin(), sizes.end());
  sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  uint64_t end = 0;
  uint64_t dev_start = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    Raid0Zone z;
    z.dev_start = dev_start;
    for (size_t role = 0; role < rounded.size(); ++role)
      if (i == 0 || rounded[role] > dev_start) z.roles.push_back(static_cast<int>(role));
    end += (sizes[i] - dev_start) * z.roles.size();
    z.zone_end = end;
    dev_start = sizes[i];
    l.zones_.push_back(std::move(z));
  }
  // As create_strip_zones: with one zone, or a second zone of one member,
  // both mappings agree and the layout number does not matter.
  if (l.zones_.size() == 1 || l.zones_[1].roles.size() == 1)
    l.layout_ = kRaid0OrigLayout;
  else if (layout == kRaid0OrigLayout || layout == kRaid0AltLayout)
    l.layout_ = layout;
  else
    return err(EINVAL);
  return l;
}

MemberRun Raid0Layout::map(uint64_t sector) const {
  size_t i = 0;
  while (sector >= zones_[i].zone_end) ++i;
  const Raid0Zone& z = zones_[i];
  uint64_t zone_start = i ? zones_[i - 1].zone_end : 0;
  uint64_t in_zone = sector - zone_start;
  uint64_t nb = z.roles.size();
  // The original layout picks the member from the chunk number counted
  // from the array's start, the alternate one from the zone's start. Zone
  // starts are chunk multiples, so the offset inside the chunk is the same.
  uint64_t chunk = (layout_ == kRaid0OrigLayout ? sector : in_zone) / chunk_;
  uint64_t in_chunk = in_zone % chunk_;
  uint64_t row = in_zone / (chunk_ * nb);
  uint64_t run = nb == 1 ? z.zone_end - sector : chunk_ - in_chunk;
  return {z.roles[chunk % nb], z.dev_start + row * chunk_ + in_chunk, run};
}

}  // namespace mdfs::raid
