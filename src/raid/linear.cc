// linear: the members one after another (md-linear.c).
#include <algorithm>

#include "raid/geometry.h"
#include "raid/linear_layout.h"
#include "raid/non_redundant.h"

namespace mdfs::raid {

namespace {

Result<LinearLayout> layout_of(const Geometry& geo) {
  std::vector<uint64_t> sizes = role_sectors(geo, 1);
  // Every member is needed (linear_conf: "not enough drives present").
  if (sizes.empty() || std::count(sizes.begin(), sizes.end(), 0)) return err(EINVAL);
  return LinearLayout::make(sizes, geo.chunk_sectors);
}

class Linear final : public NonRedundant<LinearLayout> {
 public:
  using NonRedundant::NonRedundant;

  // The chunk size is linear's rounding of member sizes.
  std::string mdstat_status() const override {
    return " " + std::to_string(layout().rounding() / 2) + "k rounding";
  }
};

}  // namespace

extern const PersonalityType kLinearPersonality = {
    .name = "linear",
    .level = LEVEL_LINEAR,
    .min_disks = 1,
    .max_degraded = [](const Geometry&) { return 0; },
    .array_sectors = non_redundant_array_sectors<layout_of>,
    .run = run_non_redundant<Linear, layout_of>,
};

}  // namespace mdfs::raid
