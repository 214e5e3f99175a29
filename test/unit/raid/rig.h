// An array of any level over in-memory members, each behind a FaultyDisk,
// and what the personality tests check on it: random I/O against a model
// and the copies of raid1/raid10 kept equal.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "disks.h"
#include "mdfs/personality.h"
#include "raid/raid10_layout.h"

namespace mdfs::raid::test {

inline Geometry geometry(int level, int raid_disks, uint32_t chunk_sectors, std::vector<uint64_t> sizes, int layout = 0) {
  Geometry g;
  g.level = level;
  g.layout = layout;
  g.chunk_sectors = chunk_sectors;
  g.raid_disks = raid_disks;
  g.member_sectors = std::move(sizes);
  return g;
}

// An array over in-memory members, each behind a FaultyDisk.
struct Rig {
  explicit Rig(Geometry g, std::vector<int> missing = {}) : geo(std::move(g)) {
    std::vector<Disk*> roles;
    for (int r = 0; r < geo.raid_disks; ++r) {
      mem.push_back(std::make_unique<MemDisk>(geo.member_sectors[r]));
      faulty.push_back(std::make_unique<FaultyDisk>(*mem.back()));
      bool gone = std::find(missing.begin(), missing.end(), r) != missing.end();
      roles.push_back(gone ? nullptr : faulty.back().get());
    }
    for (int r : missing) geo.member_sectors[r] = 0;
    type = find_personality(geo.level);
    REQUIRE(type);
    auto p = type->run(geo, roles, events);
    REQUIRE(p.ok());
    pers = std::move(*p);
  }
  uint64_t size() const { return pers->array_sectors() * kSectorSize; }

  Geometry geo;
  const PersonalityType* type = nullptr;
  std::vector<std::unique_ptr<MemDisk>> mem;
  std::vector<std::unique_ptr<FaultyDisk>> faulty;
  RecordingEvents events;
  std::unique_ptr<Personality> pers;
};

inline std::vector<std::byte> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<std::byte> out(n);
  for (auto& b : out) b = std::byte(rng());
  return out;
}

// Random unaligned writes (up to a few chunks long), each read back at once
// and again, with other random reads, against a model of the array.
inline std::vector<std::byte> random_io(Rig& rig, uint64_t seed, int rounds) {
  std::mt19937_64 rng(seed);
  const uint64_t size = rig.size();
  std::vector<std::byte> model(size);
  REQUIRE(rig.pers->write(0, model) == 0);
  const uint64_t max_len = std::min<uint64_t>(size, 3 * std::max<uint32_t>(rig.geo.chunk_sectors, 64) * kSectorSize);
  for (int i = 0; i < rounds; ++i) {
    uint64_t len = 1 + rng() % max_len;
    uint64_t off = rng() % (size - len + 1);
    auto data = random_bytes(rng, len);
    REQUIRE(rig.pers->write(off, data) == 0);
    std::copy(data.begin(), data.end(), model.begin() + off);
    std::vector<std::byte> back(len);
    REQUIRE(rig.pers->read(off, back) == 0);
    REQUIRE((back == data));

    uint64_t rlen = 1 + rng() % max_len;
    uint64_t roff = rng() % (size - rlen + 1);
    std::vector<std::byte> got(rlen);
    REQUIRE(rig.pers->read(roff, got) == 0);
    REQUIRE(std::equal(got.begin(), got.end(), model.begin() + roff));
  }
  std::vector<std::byte> all(size);
  REQUIRE(rig.pers->read(0, all) == 0);
  REQUIRE((all == model));
  return model;
}

// Every copy of every sector holds the model's bytes (raid1 and raid10).
inline void check_copies(Rig& rig, const std::vector<std::byte>& model, bool skip_failed = false) {
  auto working = [&](int r) {
    return !skip_failed || std::none_of(rig.events.failed.begin(), rig.events.failed.end(),
                                        [&](auto& f) { return f.first == r; });
  };
  if (rig.geo.level == 1) {
    for (int r = 0; r < rig.geo.raid_disks; ++r) {
      if (!working(r)) continue;
      REQUIRE(std::equal(model.begin(), model.end(), rig.mem[r]->data().begin()));
    }
    return;
  }
  auto l = Raid10Layout::make(rig.geo.raid_disks, rig.geo.layout, rig.geo.chunk_sectors, component_sectors(rig.geo));
  REQUIRE(l.ok());
  std::vector<Copy> copies(l->copies());
  for (uint64_t s = 0; s < l->array_sectors(); ++s) {
    l->map(s, copies);
    for (const Copy& c : copies) {
      if (!working(c.role)) continue;
      auto at = rig.mem[c.role]->data().begin() + c.sector * kSectorSize;
      INFO("sector " << s << " role " << c.role);
      REQUIRE(std::equal(at, at + kSectorSize, model.begin() + s * kSectorSize));
    }
  }
}

}  // namespace mdfs::raid::test
