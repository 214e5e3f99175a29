// raid10 (raid10.c): near, far and offset copies of chunks.
// layout = near copies (bits 0-7) | far copies << 8 | offset (bit 16)
//        | far-sets mode << 17 (0: one set of all members; 1: the first,
//          buggy, far-sets; 2: sets of near*far members).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mdfs/result.h"
#include "raid/layout.h"

namespace mdfs::raid {

class Raid10Layout {
 public:
  // component_sectors: what each member may hold (mddev->dev_sectors). As
  // setup_geo/setup_conf: the chunk must be a power of two of at least a
  // page (4 KiB), and 2 <= near * far <= raid_disks; else EINVAL.
  static Result<Raid10Layout> make(int raid_disks, int layout, uint32_t chunk_sectors,
                                   uint64_t component_sectors);

  int raid_disks() const { return raid_disks_; }
  int copies() const { return near_ * far_; }
  int near_copies() const { return near_; }
  int far_copies() const { return far_; }
  bool far_offset() const { return far_offset_; }
  int far_set_size() const { return far_set_size_; }
  uint32_t chunk_sectors() const { return uint32_t{1} << chunk_shift_; }
  // Sectors used on each member (calc_sectors' dev_sectors: rounded up to
  // hold every copy) and the array's size (raid10_size).
  uint64_t dev_sectors() const { return dev_sectors_; }
  uint64_t array_sectors() const { return array_sectors_; }

  // Every copy of array sector `sector` (out.size() >= copies()), first the
  // near copies of the first far copy; returns how many sectors from there
  // stay contiguous in every copy (to the end of the chunk).
  uint64_t map(uint64_t sector, std::span<Copy> out) const;

  // The array chunk one of whose copies is member chunk `row` of `role`
  // (recovery walks a member); -1 for a row no chunk uses.
  int64_t chunk_at(int role, uint64_t row) const;

  // The sets of roles that hold the same chunks; the array loses data when
  // every role of one set is gone.
  std::vector<std::vector<int>> copy_sets() const;

  // The mdstat words between "super X.Y" and "[n/m]".
  std::string mdstat_words() const;

 private:
  int raid_disks_ = 0;
  int near_ = 1;
  int far_ = 1;
  bool far_offset_ = false;
  int far_set_size_ = 0;
  int chunk_shift_ = 0;
  uint64_t stride_ = 0;  // sectors between far copies
  uint64_t dev_sectors_ = 0;
  uint64_t array_sectors_ = 0;
};

}  // namespace mdfs::raid
