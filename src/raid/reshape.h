// An array part-way through a reshape, as the kernel's raid5.c runs one:
// two shapes over the same members, the new one on one side of
// reshape_position and the old one on the other, and the window by window
// move from the old to the new (reshape_request). The old and the new
// shape are each an ordinary personality; this file routes between them.
#pragma once

#include <memory>
#include <vector>

#include "mdfs/personality.h"
#include "mdfs/result.h"

namespace mdfs::raid {

// The two shapes of a reshape: `geo` as the kernel's mddev keeps it
// (level, layout and chunk of the old shape, raid_disks the new count).
Geometry old_shape(const Geometry& geo, const ReshapeGeometry& r);
Geometry new_shape(const Geometry& geo, const ReshapeGeometry& r);

// Whether mdfs moves data between these two shapes: raid4/5/6 to raid4/5/6
// (member count, chunk, layout, and the -6 layouts' level change), and
// raid10 to raid10 with near or offset copies and the same number of
// copies (raid10_check_reshape). EINVAL otherwise.
Result<void> check_reshape(const Geometry& geo, const ReshapeGeometry& r);

// Starts an array mid-reshape. old_roles are the members seen at their
// data_offset, new_roles the same members seen at their new_data_offset;
// both indexed by role, nullptr for a missing one. The personality keeps
// them for as long as it runs.
Result<std::unique_ptr<Personality>> run_reshape(const Geometry& geo, const ReshapeGeometry& r,
                                                 std::vector<std::unique_ptr<Disk>> old_roles,
                                                 std::vector<std::unique_ptr<Disk>> new_roles, ArrayEvents& events);

// The shape of rows the reshape moves: array sectors of data in one row
// (a stripe) and member sectors it takes on each member. raid10 counts
// its reshape in array sectors (its resync_max_sectors is the array's
// size), so its row is one sector of each; where its data lies on the
// members is raid10.c's first_dev_address and last_dev_address over
// near, far, disks and chunk (near 0 for raid4/5/6).
struct Rows {
  uint64_t data = 0;
  uint64_t member = 0;
  int near = 0;
  int far = 1;
  int disks = 0;
  uint64_t chunk = 0;
  // The first member sector (from the data offset) that may hold array
  // sector `s`, and the member sector past every one that holds array
  // sectors below `end`.
  uint64_t first(uint64_t s) const;
  uint64_t last(uint64_t end) const;
};
Rows rows_of(const Geometry& g);

// The kernel's rule for moving a window without a backup: the new shape's
// writes for array sectors up to `end` (forwards; from `start` backwards)
// must stay clear of where the old shape still holds data that the
// superblocks' position `safe` says is not moved. Member sectors are
// counted from the old data_offset. `old_size`: array sectors the old
// shape holds.
bool window_safe(const Rows& old_rows, const Rows& new_rows, const ReshapeGeometry& r, uint64_t old_size,
                 uint64_t safe, uint64_t start, uint64_t end);

}  // namespace mdfs::raid
