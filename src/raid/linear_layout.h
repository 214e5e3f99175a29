// linear (md-linear.c): members concatenated in role order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "mdfs/result.h"
#include "raid/layout.h"

namespace mdfs::raid {

class LinearLayout {
 public:
  // member_sectors in role order. rounding (the chunk size, "Nk rounding" in
  // mdstat) trims each member down to a multiple of it, as linear_conf does;
  // 0 keeps the sizes as they are.
  static Result<LinearLayout> make(std::span<const uint64_t> member_sectors, uint32_t rounding);

  uint64_t array_sectors() const { return ends_.empty() ? 0 : ends_.back(); }
  int raid_disks() const { return static_cast<int>(ends_.size()); }
  uint32_t rounding() const { return rounding_; }
  // The member holding array sector `sector` (< array_sectors()); the run
  // reaches to that member's end.
  MemberRun map(uint64_t sector) const;

 private:
  std::vector<uint64_t> ends_;  // array sector just past each member
  uint32_t rounding_ = 0;
};

}  // namespace mdfs::raid
