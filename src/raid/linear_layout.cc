#include "raid/linear_layout.h"

#include <algorithm>

namespace mdfs::raid {

Result<LinearLayout> LinearLayout::make(std::span<const uint64_t> member_sectors, uint32_t rounding) {
  if (member_sectors.empty()) return err(EINVAL);
  LinearLayout l;
  l.rounding_ = rounding;
  uint64_t end = 0;
  for (uint64_t s : member_sectors) {
    if (rounding) s -= s % rounding;
    end += s;
    l.ends_.push_back(end);
  }
  return l;
}

MemberRun LinearLayout::map(uint64_t sector) const {
  // The first member whose end lies beyond the sector; members trimmed to
  // nothing are skipped because their end equals the previous one.
  auto it = std::upper_bound(ends_.begin(), ends_.end(), sector);
  int role = static_cast<int>(it - ends_.begin());
  uint64_t start = role ? ends_[role - 1] : 0;
  return {role, sector - start, *it - sector};
}

}  // namespace mdfs::raid
