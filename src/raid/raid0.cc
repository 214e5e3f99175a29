// raid0: striping without redundancy (raid0.c).
#include <algorithm>

#include "raid/geometry.h"
#include "raid/non_redundant.h"
#include "raid/raid0_layout.h"

namespace mdfs::raid {

namespace {

Result<Raid0Layout> layout_of(const Geometry& geo) {
  std::vector<uint64_t> sizes = role_sectors(geo, 1);
  // Every member is needed (create_strip_zones: "too few disks").
  if (sizes.empty() || std::count(sizes.begin(), sizes.end(), 0)) return err(EINVAL);
  return Raid0Layout::make(sizes, geo.chunk_sectors, geo.layout);
}

class Raid0 final : public NonRedundant<Raid0Layout> {
 public:
  using NonRedundant::NonRedundant;

  std::string mdstat_status() const override {
    return " " + std::to_string(layout().chunk_sectors() / 2) + "k chunks";
  }
};

}  // namespace

extern const PersonalityType kRaid0Personality = {
    .name = "raid0",
    .level = 0,
    .min_disks = 1,
    .max_degraded = [](const Geometry&) { return 0; },
    .array_sectors = non_redundant_array_sectors<layout_of>,
    .run = run_non_redundant<Raid0, layout_of>,
};

}  // namespace mdfs::raid
