// raid10's map, sector by sector, against md-facts.md section 6 (checked
// there on the kernel's n2, f2 and o2 arrays) and raid10.c's rules.
#include <catch2/catch.hpp>

#include <set>
#include <utility>
#include <vector>

#include "raid/raid10_layout.h"

using namespace mdfs;
using namespace mdfs::raid;

namespace {

// md-facts.md section 6, for 4 members of `chunks` data chunks each.
std::vector<Copy> facts_raid10(int layout, uint64_t chunk, uint64_t chunks_per_member, uint64_t in_chunk) {
  const uint64_t n = 4;
  const uint64_t cs = 128;
  std::vector<Copy> out;
  if (layout == 0x102) {
    for (uint64_t j = 0; j < 2; ++j) {
      uint64_t x = chunk * 2 + j;
      out.push_back({int(x % n), (x / n) * cs + in_chunk});
    }
  } else if (layout == 0x201) {
    for (uint64_t j = 0; j < 2; ++j)
      out.push_back({int((chunk % n + j) % n), (chunk / n + j * (chunks_per_member / 2)) * cs + in_chunk});
  } else {
    for (uint64_t j = 0; j < 2; ++j)
      out.push_back({int((chunk % n + j) % n), ((chunk / n) * 2 + j) * cs + in_chunk});
  }
  return out;
}

// Copies on distinct roles, every (role, sector) used at most once, all
// inside the used part of the members.
void check_raid10(const Raid10Layout& l) {
  std::set<std::pair<int, uint64_t>> seen;
  std::vector<Copy> c(l.copies());
  for (uint64_t s = 0; s < l.array_sectors(); ++s) {
    uint64_t run = l.map(s, c);
    REQUIRE(run == l.chunk_sectors() - s % l.chunk_sectors());
    std::set<int> roles;
    for (const Copy& x : c) {
      REQUIRE(x.role >= 0);
      REQUIRE(x.role < l.raid_disks());
      REQUIRE(x.sector < l.dev_sectors());
      REQUIRE(seen.insert({x.role, x.sector}).second);
      roles.insert(x.role);
    }
    REQUIRE(roles.size() == size_t(l.copies()));
  }
}

}  // namespace

TEST_CASE("raid10 near, far and offset copies follow md's rules", "[layout][raid10]") {
  for (int layout : {0x102, 0x201, 0x10201}) {
    CAPTURE(layout);
    auto l = Raid10Layout::make(4, layout, 128, 6144);
    REQUIRE(l.ok());
    CHECK(l->array_sectors() == 12288);
    CHECK(l->dev_sectors() == 6144);
    std::vector<Copy> c(2);
    for (uint64_t s = 0; s < l->array_sectors(); s += 7) {
      l->map(s, c);
      auto want = facts_raid10(layout, s / 128, 48, s % 128);
      for (int j = 0; j < 2; ++j) {
        CHECK(c[j].role == want[j].role);
        CHECK(c[j].sector == want[j].sector);
      }
    }
    check_raid10(*l);
  }
}

TEST_CASE("raid10 accepts any copies count up to the members", "[layout][raid10]") {
  struct Case {
    int disks, layout;
    uint64_t component, array;
  };
  // component 10 chunks of 8 sectors.
  const Case cases[] = {
      {2, 0x102, 80, 80},      // n2 on 2: a mirror
      {3, 0x102, 80, 120},     // n2 on 3
      {3, 0x103, 80, 80},      // n3 on 3
      {5, 0x103, 80, 128},     // n3 on 5
      {3, 0x201, 80, 120},     // f2 on 3
      {3, 0x301, 80, 72},      // f3 on 3
      {5, 0x202, 80, 96},      // n2 f2 on 5
      {3, 0x10201, 80, 120},   // o2 on 3
      {4, 0x10202, 80, 80},    // n2 o2 on 4
      {6, 0x10203, 80, 80},    // n3 o2 on 6
      {5, 0x20201, 80, 200},   // f2, first far-sets (sets of 5 / 2 members)
      {6, 0x40201, 80, 240},   // f2, far-sets of near * far members
      {7, 0x40201, 80, 280},   // ... with a bigger last set
  };
  for (const Case& k : cases) {
    CAPTURE(k.disks, k.layout);
    auto l = Raid10Layout::make(k.disks, k.layout, 8, k.component);
    REQUIRE(l.ok());
    CHECK(l->array_sectors() == k.array);
    check_raid10(*l);
  }
}

TEST_CASE("raid10 sizes are the kernel's calc_sectors and raid10_size", "[layout][raid10]") {
  auto size = [](int disks, int layout, uint64_t component) {
    auto l = Raid10Layout::make(disks, layout, 8, component);
    REQUIRE(l.ok());
    return l->array_sectors();
  };
  CHECK(size(3, 0x102, 80) == 15 * 8);
  CHECK(size(3, 0x201, 80) == 15 * 8);
  CHECK(size(3, 0x301, 80) == 9 * 8);
  CHECK(size(5, 0x103, 80) == 16 * 8);
  // n2 f2 on 5: 10/2 * 5/2 = 12 chunks need 48 chunk copies: 10 a member
  // (rounded up from 9.6), so the stride is 5 chunks and the array
  // 10/2 * 5 / 2 = 12 chunks.
  CHECK(size(5, 0x202, 80) == 12 * 8);
  CHECK(size(4, 0x102, 87) == 20 * 8);  // a partial chunk is not used
}

TEST_CASE("raid10 rejects what setup_geo rejects", "[layout][raid10]") {
  CHECK(Raid10Layout::make(4, 0x102, 4, 6144).error() == EINVAL);     // below a page
  CHECK(Raid10Layout::make(4, 0x102, 24, 6144).error() == EINVAL);    // not a power of two
  CHECK(Raid10Layout::make(4, 0x101, 128, 6144).error() == EINVAL);   // one copy
  CHECK(Raid10Layout::make(4, 0x100, 128, 6144).error() == EINVAL);   // no near copy
  CHECK(Raid10Layout::make(2, 0x103, 128, 6144).error() == EINVAL);   // more copies than members
  CHECK(Raid10Layout::make(4, 0x202, 128, 6144).ok());
  CHECK(Raid10Layout::make(4, 0x203, 128, 6144).error() == EINVAL);
  CHECK(Raid10Layout::make(4, 0x60102, 128, 6144).error() == EINVAL); // far-sets mode 3
  CHECK(Raid10Layout::make(4, 0x80102, 128, 6144).error() == EINVAL); // bit 19
}

TEST_CASE("raid10 copy sets name the members holding the same chunks", "[layout][raid10]") {
  auto n2 = Raid10Layout::make(4, 0x102, 128, 6144);
  CHECK(n2->copy_sets() == std::vector<std::vector<int>>{{0, 1}, {2, 3}});
  auto f2 = Raid10Layout::make(4, 0x201, 128, 6144);
  CHECK(f2->copy_sets() == std::vector<std::vector<int>>{{0, 1}, {1, 2}, {2, 3}, {0, 3}});
  auto n2_3 = Raid10Layout::make(3, 0x102, 128, 6144);
  CHECK(n2_3->copy_sets() == std::vector<std::vector<int>>{{0, 1}, {0, 2}, {1, 2}});
}

TEST_CASE("raid10 mdstat words are raid10_status's", "[layout][raid10]") {
  CHECK(Raid10Layout::make(4, 0x102, 128, 6144)->mdstat_words() == " 64K chunks 2 near-copies");
  CHECK(Raid10Layout::make(4, 0x201, 128, 6144)->mdstat_words() == " 64K chunks 2 far-copies");
  CHECK(Raid10Layout::make(4, 0x10201, 128, 6144)->mdstat_words() == " 64K chunks 2 offset-copies");
  CHECK(Raid10Layout::make(2, 0x102, 1024, 6144)->mdstat_words() == " 2 near-copies");
  CHECK(Raid10Layout::make(4, 0x40201, 8, 6144)->mdstat_words() ==
        " 4K chunks 2 far-copies 2 devices per set");
}
