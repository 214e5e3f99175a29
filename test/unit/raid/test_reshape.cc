// The reshape's window rule (raid/reshape.h) against what the kernel did
// with the fixtures of kernel-md-states: raid5 3 -> 4 with 64K chunks,
// mdadm's new_offset 384 sectors below data_offset (raid5-reshape-3to4),
// and the same in place with a backup file (raid5-reshape-3to4-backup).
#include <catch2/catch.hpp>

#include "raid/reshape.h"

using namespace mdfs::raid;

namespace {

Geometry raid5(int disks) {
  Geometry g;
  g.level = 5;
  g.layout = 2;
  g.chunk_sectors = 128;
  g.raid_disks = disks;
  return g;
}

}  // namespace

TEST_CASE("raid5 rows: a stripe's data and its place on each member") {
  CHECK(rows_of(raid5(3)).data == 256);
  CHECK(rows_of(raid5(4)).data == 384);
  CHECK(rows_of(raid5(4)).member == 128);
  Geometry g6 = raid5(5);
  g6.level = 6;
  CHECK(rows_of(g6).data == 384);
  Geometry r1 = raid5(2);
  r1.level = 1;
  CHECK(rows_of(r1).data == 0);  // not a shape the reshape moves
}

TEST_CASE("a grow with new_offset 384 below: three new stripes fit before the first checkpoint") {
  ReshapeGeometry r;
  r.delta_disks = 1;
  r.min_offset_diff = r.max_offset_diff = -384;
  const Rows o = rows_of(raid5(3)), n = rows_of(raid5(4));
  const uint64_t old_size = 28672;
  CHECK(window_safe(o, n, r, old_size, 0, 0, 3 * 384));
  CHECK_FALSE(window_safe(o, n, r, old_size, 0, 0, 4 * 384));
  // Where the kernel stopped (18432, a whole stripe of both shapes) the
  // room is far larger: the new data ends 384 sectors before the old.
  CHECK(window_safe(o, n, r, old_size, 18432, 18432, 18432 + 8 * 384));
  // Past the old shape's end nothing is left to overwrite.
  CHECK(window_safe(o, n, r, old_size, old_size, old_size, 43008));
}

TEST_CASE("an in-place grow needs a backup at the start and none where the kernel left it") {
  ReshapeGeometry r;
  r.delta_disks = 1;
  const Rows o = rows_of(raid5(3)), n = rows_of(raid5(4));
  CHECK_FALSE(window_safe(o, n, r, 28672, 0, 0, 384));  // mdadm's critical section
  CHECK(window_safe(o, n, r, 28672, 16896, 16896, 16896 + 384));
}

TEST_CASE("a shrink moves backwards from the new end, its data moving up") {
  ReshapeGeometry r;
  r.delta_disks = -1;
  r.backwards = true;
  r.min_offset_diff = r.max_offset_diff = 256;
  const Rows o = rows_of(raid5(4)), n = rows_of(raid5(3));
  const uint64_t old_size = 3 * 7168, new_size = 2 * 7168;
  CHECK(window_safe(o, n, r, old_size, new_size, new_size - 256, new_size));
  r.min_offset_diff = r.max_offset_diff = 0;
  // In place, a window reaching too far down would overwrite old stripes
  // still needed below the position.
  CHECK(window_safe(o, n, r, old_size, 768, 512, 768));
  CHECK_FALSE(window_safe(o, n, r, old_size, 768, 256, 768));
}
