// What the layout maps answer: where a run of array sectors lives on a
// member. Pure arithmetic shared by every level; no I/O.
#pragma once

#include <cstdint>

namespace mdfs::raid {

struct MemberRun {
  int role;
  uint64_t sector;   // on the member, counted from its data start
  uint64_t sectors;  // array sectors from there that stay contiguous on it
};

// One copy of a redundant level's data (raid1, raid10): role and sector.
struct Copy {
  int role;
  uint64_t sector;
};

}  // namespace mdfs::raid
