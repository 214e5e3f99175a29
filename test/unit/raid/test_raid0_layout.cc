// raid0's map, sector by sector: zones and the two multi-zone layouts of
// raid0.c (md-facts.md section 6).
#include <catch2/catch.hpp>

#include <vector>

#include "layout_checks.h"
#include "raid/raid0_layout.h"

using namespace mdfs;
using namespace mdfs::raid;
using mdfs::raid::test::check_one_copy_layout;

TEST_CASE("raid0 with equal members stripes chunks round the members", "[layout][raid0]") {
  std::vector<uint64_t> sizes{6144, 6144, 6144};
  auto l = Raid0Layout::make(sizes, 128, 0);  // one zone: the layout number is ignored
  REQUIRE(l.ok());
  CHECK(l->zones().size() == 1);
  CHECK(l->array_sectors() == 3 * 6144);
  for (uint64_t s = 0; s < l->array_sectors(); s += 37) {
    uint64_t chunk = s / 128;
    MemberRun r = l->map(s);
    CHECK(r.role == int(chunk % 3));
    CHECK(r.sector == (chunk / 3) * 128 + s % 128);
    CHECK(r.sectors == 128 - s % 128);
  }
  check_one_copy_layout(*l, sizes);
}

TEST_CASE("raid0 members are rounded down to whole chunks", "[layout][raid0]") {
  std::vector<uint64_t> sizes{1000, 1000};
  auto l = Raid0Layout::make(sizes, 128, 0);
  REQUIRE(l.ok());
  CHECK(l->array_sectors() == 2 * 896);
  check_one_copy_layout(*l, sizes);
}

TEST_CASE("raid0 zones: the original and the alternate multi-zone layouts", "[layout][raid0]") {
  // Chunks of 8 sectors; members of 1, 3 and 3 chunks. Zone 0 stripes over
  // all three (3 chunks), zone 1 over roles 1 and 2 from their chunk 1.
  std::vector<uint64_t> sizes{8, 24, 24};
  auto orig = Raid0Layout::make(sizes, 8, kRaid0OrigLayout);
  auto alt = Raid0Layout::make(sizes, 8, kRaid0AltLayout);
  REQUIRE(orig.ok());
  REQUIRE(alt.ok());
  REQUIRE(orig->zones().size() == 2);
  CHECK(orig->zones()[0].zone_end == 24);
  CHECK(orig->zones()[1].zone_end == 56);
  CHECK(orig->zones()[1].dev_start == 8);
  CHECK(orig->zones()[1].roles == std::vector<int>{1, 2});
  CHECK(orig->array_sectors() == 56);
  // Array chunk 3 is the first of zone 1. The original layout counts
  // chunks from the array's start (3 % 2 = 1: role 2), the alternate one
  // from the zone's (0: role 1); both at the zone's first row.
  MemberRun o = orig->map(3 * 8 + 5);
  CHECK((o.role == 2 && o.sector == 8 + 5));
  MemberRun a = alt->map(3 * 8 + 5);
  CHECK((a.role == 1 && a.sector == 8 + 5));
  CHECK(orig->map(4 * 8).role == 1);
  CHECK(alt->map(4 * 8).role == 2);
  CHECK(orig->map(5 * 8).sector == 16);
  CHECK(alt->map(5 * 8).sector == 16);
  check_one_copy_layout(*orig, sizes);
  check_one_copy_layout(*alt, sizes);
}

TEST_CASE("raid0 multi-zone arrays need a layout unless zone 1 has one member", "[layout][raid0]") {
  std::vector<uint64_t> three_zones{8, 24, 24};
  CHECK(Raid0Layout::make(three_zones, 8, 0).error() == EINVAL);
  CHECK(Raid0Layout::make(three_zones, 8, -1).error() == EINVAL);
  CHECK(Raid0Layout::make(three_zones, 8, 3).error() == EINVAL);
  std::vector<uint64_t> tail_of_one{8, 8, 40};
  auto l = Raid0Layout::make(tail_of_one, 8, 0);
  REQUIRE(l.ok());
  CHECK(l->zones()[1].roles == std::vector<int>{2});
  MemberRun r = l->map(24);  // the single-member zone is one run to its end
  CHECK((r.role == 2 && r.sector == 8 && r.sectors == 32));
  check_one_copy_layout(*l, tail_of_one);
}

TEST_CASE("raid0 with many zones covers every member sector once", "[layout][raid0]") {
  std::vector<uint64_t> sizes{40, 8, 72, 40, 24};
  for (int layout : {kRaid0OrigLayout, kRaid0AltLayout}) {
    auto l = Raid0Layout::make(sizes, 8, layout);
    REQUIRE(l.ok());
    CHECK(l->zones().size() == 4);
    CHECK(l->array_sectors() == 40 + 8 + 72 + 40 + 24);
    check_one_copy_layout(*l, sizes);
  }
}

TEST_CASE("raid0 takes any chunk size; the size is the kernel's masked sum", "[layout][raid0]") {
  std::vector<uint64_t> sizes{100, 100};
  auto l = Raid0Layout::make(sizes, 24, 0);
  REQUIRE(l.ok());
  // raid0_size: (96 & ~23) per member = 64 + 0 ... = 64 each.
  CHECK(l->array_sectors() == 2 * (96 & ~uint64_t{23}));
  check_one_copy_layout(*l, sizes);
  CHECK(Raid0Layout::make(sizes, 0, 0).error() == EINVAL);
}
