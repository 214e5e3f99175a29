// Checks on a Geometry shared by the personalities.
#pragma once

#include <cstdint>
#include <vector>

#include "mdfs/personality.h"

namespace mdfs::raid {

// Each role's member size, one entry per role (0 for a missing role); empty
// when the geometry is malformed (more sizes than roles, fewer than
// min_disks roles).
std::vector<uint64_t> role_sectors(const Geometry& geo, int min_disks);

// The component size of a redundant level, or 0 when no member can hold it
// (md_run's "data overlaps metadata": a component beyond a present member).
uint64_t checked_component(const Geometry& geo);

}  // namespace mdfs::raid
