// linear's map: members one after another, as md-linear.c.
#include <catch2/catch.hpp>

#include <vector>

#include "layout_checks.h"
#include "raid/linear_layout.h"

using namespace mdfs;
using namespace mdfs::raid;
using mdfs::raid::test::check_one_copy_layout;

TEST_CASE("linear concatenates members in role order", "[layout][linear]") {
  std::vector<uint64_t> sizes{100, 0, 37, 64};
  auto l = LinearLayout::make(sizes, 0);
  REQUIRE(l.ok());
  CHECK(l->array_sectors() == 201);
  MemberRun r = l->map(0);
  CHECK((r.role == 0 && r.sector == 0 && r.sectors == 100));
  r = l->map(99);
  CHECK((r.role == 0 && r.sector == 99 && r.sectors == 1));
  r = l->map(100);  // role 1 is empty: skipped
  CHECK((r.role == 2 && r.sector == 0 && r.sectors == 37));
  r = l->map(137);
  CHECK((r.role == 3 && r.sector == 0 && r.sectors == 64));
  check_one_copy_layout(*l, sizes);
}

TEST_CASE("linear rounds each member down to the rounding", "[layout][linear]") {
  std::vector<uint64_t> sizes{100, 37, 64};
  auto l = LinearLayout::make(sizes, 16);
  REQUIRE(l.ok());
  CHECK(l->array_sectors() == 96 + 32 + 64);
  CHECK(l->map(96).role == 1);
  CHECK(l->map(128).role == 2);
  check_one_copy_layout(*l, sizes);
}
