// raid0 (raid0.c): chunk striping over zones. Members of unequal size form
// zones: zone 0 stripes over every member up to the smallest size, the next
// over the members that are larger, and so on.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mdfs/result.h"
#include "raid/layout.h"

namespace mdfs::raid {

// The md layout numbers for multi-zone raid0 (MD_FEATURE_RAID0_LAYOUT).
inline constexpr int kRaid0OrigLayout = 1;  // 3.14 and earlier: chunk index counted from array start
inline constexpr int kRaid0AltLayout = 2;   // chunk index counted from the zone start

struct Raid0Zone {
  uint64_t zone_end;       // array sector just past the zone
  uint64_t dev_start;      // member sector where the zone starts on each of its members
  std::vector<int> roles;  // its members, in role order
};

class Raid0Layout {
 public:
  // member_sectors in role order (every role present). Any chunk size of at
  // least one sector works (raid0 does not need a power of two). A layout
  // is only needed when the second zone stripes over several members; the
  // kernel (with default_layout 0) refuses to guess one, so do we (EINVAL).
  static Result<Raid0Layout> make(std::span<const uint64_t> member_sectors, uint32_t chunk_sectors,
                                   int layout);

  // As raid0_size: every member's size, rounded down to a chunk multiple,
  // masked with ~(chunk - 1). For a power-of-two chunk that is the zones'
  // total; for other chunks it can be less (never more).
  uint64_t array_sectors() const { return array_sectors_; }
  // The layout used: kRaid0OrigLayout when there is no choice to make.
  int layout() const { return layout_; }
  uint32_t chunk_sectors() const { return chunk_; }
  const std::vector<Raid0Zone>& zones() const { return zones_; }
  // sector < array_sectors(); the run ends with the chunk (or, in a zone of
  // one member, with the zone).
  MemberRun map(uint64_t sector) const;

 private:
  std::vector<Raid0Zone> zones_;
  uint32_t chunk_ = 0;
  int layout_ = kRaid0OrigLayout;
  uint64_t array_sectors_ = 0;
};

}  // namespace mdfs::raid
