// raid4/5/6 layout math, checked sector by sector against arrays the kernel
// wrote and against the rules in md-facts section 6.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>
#include <set>

#include "raid/raid5_layout.h"
#include "raid5_fixtures.h"

using namespace mdfs::raid;
using namespace mdfs::raid::test;

namespace {

struct Shape {
  int level;
  int algorithm;
  int disks;
};

std::vector<int> algorithms_of(int level) {
  if (level == 4) return {0};
  if (level == 5) return {0, 1, 2, 3, 4, 5};
  return {0, 1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 18, 19, 20};
}

std::vector<Shape> all_shapes() {
  std::vector<Shape> shapes;
  for (int level : {4, 5, 6}) {
    for (int a : algorithms_of(level)) {
      for (int n = level == 6 ? 4 : 2; n <= 9; ++n) shapes.push_back({level, a, n});
    }
  }
  return shapes;
}

}  // namespace

TEST_CASE("every array sector of the kernel's raid4/5/6 arrays is where the layout puts it", "[raid5][layout]") {
  for (const std::string& name : parity_fixture_names()) {
    const Fixture& f = fixture(name);
    INFO(name);
    auto layout = Raid5Layout::make(f.level, f.layout, f.raid_disks, f.chunk_sectors);
    REQUIRE(layout.ok());
    const auto members = load_members(f);
    const uint64_t sectors = f.array_size_bytes / 512;
    REQUIRE(sectors == (f.avail_sectors & ~uint64_t{f.chunk_sectors - 1}) * layout->data_disks());
    uint64_t wrong = 0;
    uint64_t first_wrong = 0;
    std::byte expect[512];
    for (uint64_t s = 0; s < sectors; ++s) {
      const SectorLocation loc = layout->locate(s);
      pattern_sector(s, expect);
      const std::byte* got = members[loc.role].data() + loc.member_sector * 512;
      if (loc.member_sector >= f.avail_sectors || std::memcmp(got, expect, 512) != 0) {
        if (wrong++ == 0) first_wrong = s;
      }
    }
    INFO("first wrong sector " << first_wrong);
    CHECK(wrong == 0);
  }
}

TEST_CASE("every stripe gives each member exactly one role", "[raid5][layout]") {
  for (const Shape& shape : all_shapes()) {
    INFO("level " << shape.level << " algorithm " << shape.algorithm << " disks " << shape.disks);
    auto layout = Raid5Layout::make(shape.level, shape.algorithm, shape.disks, 128);
    REQUIRE(layout.ok());
    const int d = layout->data_disks();
    for (uint64_t s = 0; s < 3 * static_cast<uint64_t>(shape.disks); ++s) {
      const StripeRoles r = layout->roles(s);
      std::vector<int> all = r.data;
      all.push_back(r.p);
      if (shape.level == 6) all.push_back(r.q);
      std::sort(all.begin(), all.end());
      std::vector<int> expect(shape.disks);
      std::iota(expect.begin(), expect.end(), 0);
      REQUIRE(all == expect);
      if (shape.level != 6) {
        REQUIRE(r.q == -1);
        continue;
      }
      REQUIRE(static_cast<int>(r.q_exp.size()) == d);
      if (layout->ddf()) {
        REQUIRE(r.q_exp == r.data);  // DDF counts every member from 0
      } else {
        std::vector<int> exps = r.q_exp;
        std::sort(exps.begin(), exps.end());
        std::vector<int> expect_exps(d);
        std::iota(expect_exps.begin(), expect_exps.end(), 0);
        REQUIRE(exps == expect_exps);
      }
    }
  }
}

TEST_CASE("raid5 layouts follow md's rules", "[raid5][layout]") {
  const int n = 5, d = 4;
  for (uint64_t s = 0; s < 12; ++s) {
    const int r = static_cast<int>(s % n);
    const StripeRoles la = Raid5Layout::make(5, 0, n, 8)->roles(s);
    const StripeRoles ra = Raid5Layout::make(5, 1, n, 8)->roles(s);
    const StripeRoles ls = Raid5Layout::make(5, 2, n, 8)->roles(s);
    const StripeRoles rs = Raid5Layout::make(5, 3, n, 8)->roles(s);
    const StripeRoles pf = Raid5Layout::make(5, 4, n, 8)->roles(s);
    const StripeRoles pl = Raid5Layout::make(5, 5, n, 8)->roles(s);
    const StripeRoles r4 = Raid5Layout::make(4, 0, n, 8)->roles(s);
    CHECK(la.p == d - r);
    CHECK(ra.p == r);
    CHECK(ls.p == d - r);
    CHECK(rs.p == r);
    CHECK(pf.p == 0);
    CHECK(pl.p == d);
    CHECK(r4.p == d);
    for (int k = 0; k < d; ++k) {
      CHECK(la.data[k] == (k >= la.p ? k + 1 : k));
      CHECK(ra.data[k] == (k >= ra.p ? k + 1 : k));
      CHECK(ls.data[k] == (ls.p + 1 + k) % n);
      CHECK(rs.data[k] == (rs.p + 1 + k) % n);
      CHECK(pf.data[k] == k + 1);
      CHECK(pl.data[k] == k);
      CHECK(r4.data[k] == k);
    }
  }
}

TEST_CASE("raid6 layouts follow md's rules", "[raid5][layout]") {
  const int n = 6, d = 4;
  for (uint64_t s = 0; s < 14; ++s) {
    INFO("stripe " << s);
    for (int a : {0, 1}) {  // left/right asymmetric
      const StripeRoles x = Raid5Layout::make(6, a, n, 8)->roles(s);
      const int p = a == 0 ? n - 1 - static_cast<int>(s % n) : static_cast<int>(s % n);
      CHECK(x.p == p);
      if (p == n - 1) {
        CHECK(x.q == 0);
        for (int k = 0; k < d; ++k) CHECK(x.data[k] == k + 1);
      } else {
        CHECK(x.q == p + 1);
        for (int k = 0; k < d; ++k) CHECK(x.data[k] == (k >= p ? k + 2 : k));
      }
    }
    for (int a : {2, 3}) {  // left/right symmetric
      const StripeRoles x = Raid5Layout::make(6, a, n, 8)->roles(s);
      const int p = a == 2 ? n - 1 - static_cast<int>(s % n) : static_cast<int>(s % n);
      CHECK(x.p == p);
      CHECK(x.q == (p + 1) % n);
      for (int k = 0; k < d; ++k) CHECK(x.data[k] == (p + 2 + k) % n);
      // Q's count starts at the member after Q: the data's own order.
      for (int k = 0; k < d; ++k) CHECK(x.q_exp[k] == k);
    }
    const StripeRoles pf = Raid5Layout::make(6, 4, n, 8)->roles(s);
    CHECK((pf.p == 0 && pf.q == 1 && pf.data[0] == 2));
    const StripeRoles pl = Raid5Layout::make(6, 5, n, 8)->roles(s);
    CHECK((pl.p == d && pl.q == d + 1 && pl.data[0] == 0));
  }
}

TEST_CASE("raid6 Q counts the data members from the one after Q, wrapping", "[raid5][layout]") {
  // right-asymmetric, 5 members, stripe 1: D P Q D D; after Q come members
  // 3, 4, then 0.
  const StripeRoles ra = Raid5Layout::make(6, 1, 5, 8)->roles(1);
  CHECK(ra.p == 1);
  CHECK(ra.q == 2);
  CHECK(ra.data == std::vector<int>{0, 3, 4});
  CHECK(ra.q_exp == std::vector<int>{2, 0, 1});
  // left-asymmetric stripe 0: Q D D D P.
  const StripeRoles la = Raid5Layout::make(6, 0, 5, 8)->roles(0);
  CHECK(la.p == 4);
  CHECK(la.q == 0);
  CHECK(la.data == std::vector<int>{1, 2, 3});
  CHECK(la.q_exp == std::vector<int>{0, 1, 2});
}

TEST_CASE("raid6 -6 layouts are the raid5 rule over all but the last member, Q last", "[raid5][layout]") {
  for (int n = 4; n <= 8; ++n) {
    for (int a = 0; a <= 4; ++a) {
      auto six = Raid5Layout::make(6, 16 + a, n, 8);
      auto five = Raid5Layout::make(5, a, n - 1, 8);
      REQUIRE(six.ok());
      REQUIRE(five.ok());
      for (uint64_t s = 0; s < 20; ++s) {
        const StripeRoles x = six->roles(s);
        const StripeRoles y = five->roles(s);
        CHECK(x.q == n - 1);
        CHECK(x.p == y.p);
        CHECK(x.data == y.data);
        // After Q (the last member) the count wraps to member 0.
        int next = 0;
        for (int role = 0; role < n - 1; ++role) {
          if (role == x.p) continue;
          const auto k = std::find(x.data.begin(), x.data.end(), role) - x.data.begin();
          CHECK(x.q_exp[k] == next++);
        }
      }
    }
  }
}

TEST_CASE("raid6 DDF layouts", "[raid5][layout]") {
  const int n = 5;
  // N-restart: left-asymmetric one stripe on; the first stripe is D D D P Q.
  const StripeRoles first = Raid5Layout::make(6, kDdfNRestart, n, 8)->roles(0);
  CHECK(first.data == std::vector<int>{0, 1, 2});
  CHECK(first.p == 3);
  CHECK(first.q == 4);
  for (uint64_t s = 0; s < 12; ++s) {
    const StripeRoles nr = Raid5Layout::make(6, kDdfNRestart, n, 8)->roles(s);
    const StripeRoles la_next = Raid5Layout::make(6, kLeftAsymmetric, n, 8)->roles(s + 1);
    CHECK(nr.p == n - 1 - static_cast<int>((s + 1) % n));
    CHECK((nr.p == la_next.p && nr.q == la_next.q && nr.data == la_next.data));
    CHECK(nr.q_exp == nr.data);
    // Zero-restart: right-asymmetric's placement.
    const StripeRoles zr = Raid5Layout::make(6, kDdfZeroRestart, n, 8)->roles(s);
    const StripeRoles ra = Raid5Layout::make(6, kRightAsymmetric, n, 8)->roles(s);
    CHECK((zr.p == ra.p && zr.q == ra.q && zr.data == ra.data));
    CHECK(zr.q_exp == zr.data);
    // N-continue: left-symmetric's P, Q just before P, data after P.
    const StripeRoles nc = Raid5Layout::make(6, kDdfNContinue, n, 8)->roles(s);
    const int p = n - 1 - static_cast<int>(s % n);
    CHECK(nc.p == p);
    CHECK(nc.q == (p + n - 1) % n);
    for (int k = 0; k < n - 2; ++k) CHECK(nc.data[k] == (p + 1 + k) % n);
    CHECK(nc.q_exp == nc.data);
  }
}

TEST_CASE("locate gives the member sector inside the stripe's chunk row", "[raid5][layout]") {
  auto layout = Raid5Layout::make(5, kLeftSymmetric, 4, 128);
  REQUIRE(layout.ok());
  // Array sector 1000: chunk 7 (sectors 896..1023), stripe 2, data index 1.
  const SectorLocation loc = layout->locate(1000);
  CHECK(loc.stripe == 2);
  CHECK(loc.data_index == 1);
  CHECK(loc.p_role == 1);  // left-symmetric: p = 3 - 2 % 4
  CHECK(loc.role == 3);    // (p + 1 + 1) % 4
  CHECK(loc.q_role == -1);
  CHECK(loc.member_sector == 2 * 128 + 1000 % 128);
}

TEST_CASE("the layout rejects what the kernel refuses to run", "[raid5][layout]") {
  CHECK(Raid5Layout::make(5, 2, 4, 0).error() == EINVAL);
  CHECK(Raid5Layout::make(5, 2, 4, 4).error() == EINVAL);   // 2 KiB: less than a page
  CHECK(Raid5Layout::make(5, 2, 4, 24).error() == EINVAL);  // not a power of two
  CHECK(Raid5Layout::make(5, 2, 4, 8).ok());
  CHECK(Raid5Layout::make(5, 2, 1, 128).error() == EINVAL);
  CHECK(Raid5Layout::make(5, 2, 2, 128).ok());
  CHECK(Raid5Layout::make(4, 0, 1, 128).error() == EINVAL);
  CHECK(Raid5Layout::make(4, 0, 2, 128).ok());
  CHECK(Raid5Layout::make(6, 2, 3, 128).error() == EINVAL);
  CHECK(Raid5Layout::make(6, 2, 4, 128).ok());
  for (int a : {-1, 6, 7, 8, 9, 10, 16, 20, 21}) CHECK(Raid5Layout::make(5, a, 4, 128).error() == EINVAL);
  for (int a : {-1, 6, 7, 11, 15, 21, 100}) CHECK(Raid5Layout::make(6, a, 5, 128).error() == EINVAL);
  for (int a : {8, 9, 10, 16, 17, 18, 19, 20}) CHECK(Raid5Layout::make(6, a, 5, 128).ok());
  CHECK(Raid5Layout::make(1, 0, 4, 128).error() == EINVAL);
  CHECK(Raid5Layout::make(0, 0, 4, 128).error() == EINVAL);
  CHECK(Raid5Layout::make(6, 2, 257, 128).error() == EINVAL);  // Q's coefficients would repeat
}
