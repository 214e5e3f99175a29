// A check shared by the layout tests of the levels with one copy.
#pragma once

#include <catch2/catch.hpp>

#include <set>
#include <utility>
#include <vector>

#include "raid/layout.h"

namespace mdfs::raid::test {

// Every array sector lands inside its member, no two on the same member
// sector, and a run reported for sector s is what mapping s+1.. gives.
template <class Layout>
inline void check_one_copy_layout(const Layout& l, const std::vector<uint64_t>& member_sectors) {
  std::set<std::pair<int, uint64_t>> seen;
  for (uint64_t s = 0; s < l.array_sectors(); ++s) {
    MemberRun r = l.map(s);
    REQUIRE(r.role >= 0);
    REQUIRE(size_t(r.role) < member_sectors.size());
    REQUIRE(r.sector < member_sectors[r.role]);
    REQUIRE(r.sectors >= 1);
    REQUIRE(seen.insert({r.role, r.sector}).second);
    if (s + 1 < l.array_sectors() && r.sectors > 1) {
      MemberRun next = l.map(s + 1);
      REQUIRE(next.role == r.role);
      REQUIRE(next.sector == r.sector + 1);
      REQUIRE(next.sectors == r.sectors - 1);
    }
  }
}

}  // namespace mdfs::raid::test
