// The personalities' data paths on in-memory and file members: the
// registry, geometry checks, random unaligned I/O against a model, copies
// kept identical, member failures, request gathering and zero-copy maps.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "disks.h"
#include "mdfs/personality.h"
#include "raid/raid10_layout.h"

using namespace mdfs;
using namespace mdfs::raid;
using namespace mdfs::raid::test;
namespace fs = std::filesystem;

namespace {

Geometry geometry(int level, int raid_disks, uint32_t chunk_sectors, std::vector<uint64_t> sizes, int layout = 0) {
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

std::vector<std::byte> random_bytes(std::mt19937_64& rng, size_t n) {
  std::vector<std::byte> out(n);
  for (auto& b : out) b = std::byte(rng());
  return out;
}

// Random unaligned writes (up to a few chunks long), each read back at once
// and again, with other random reads, against a model of the array.
std::vector<std::byte> random_io(Rig& rig, uint64_t seed, int rounds) {
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
void check_copies(Rig& rig, const std::vector<std::byte>& model, bool skip_failed = false) {
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

}  // namespace

TEST_CASE("personalities are listed in the kernel's /proc/mdstat order", "[registry]") {
  // The kernel's line, from a fixture: ours must be a subsequence of it.
  const char* env = std::getenv("MDFS_FIXTURES");
  fs::path mdstat = fs::path(env ? env : MDFS_FIXTURES_DIR) / "raid1-2" / "kernel-mdstat.txt";
  std::ifstream in(mdstat);
  std::string line;
  REQUIRE(std::getline(in, line));
  REQUIRE(line.rfind("Personalities :", 0) == 0);
  size_t pos = 0;
  std::vector<std::string> names;
  for (const PersonalityType* p : personalities()) {
    names.emplace_back(p->name);
    size_t at = line.find("[" + std::string(p->name) + "]", pos);
    INFO(p->name);
    REQUIRE(at != std::string::npos);
    pos = at + 1;
  }
  for (const char* want : {"linear", "raid0", "raid1", "raid10"})
    CHECK(std::find(names.begin(), names.end(), want) != names.end());
}

TEST_CASE("personalities are found by level and by name", "[registry]") {
  CHECK(find_personality(LEVEL_LINEAR)->name == "linear");
  CHECK(find_personality(0)->name == "raid0");
  CHECK(find_personality(1)->name == "raid1");
  CHECK(find_personality(10)->name == "raid10");
  CHECK(find_personality("linear")->level == LEVEL_LINEAR);
  CHECK(find_personality("raid0")->level == 0);
  CHECK(find_personality("raid1")->level == 1);
  CHECK(find_personality("raid10")->level == 10);
  CHECK(find_personality(2) == nullptr);
  CHECK(find_personality(LEVEL_MULTIPATH) == nullptr);
  CHECK(find_personality(LEVEL_NONE) == nullptr);
  CHECK(find_personality("raid11") == nullptr);
  CHECK(find_personality("") == nullptr);
  CHECK(find_personality("multipath") == nullptr);
}

TEST_CASE("array sizes and invalid geometries answer as the kernel", "[geometry]") {
  auto size = [](const Geometry& g) { return find_personality(g.level)->array_sectors(g); };
  // linear: the sum, each member rounded down to the rounding.
  CHECK(*size(geometry(LEVEL_LINEAR, 2, 0, {6144, 6000})) == 12144);
  CHECK(*size(geometry(LEVEL_LINEAR, 2, 128, {6144, 6000})) == 6144 + 5888);
  CHECK(size(geometry(LEVEL_LINEAR, 2, 0, {6144, 0})).error() == EINVAL);
  CHECK(size(geometry(LEVEL_LINEAR, 0, 0, {})).error() == EINVAL);
  // raid0: members rounded to chunks; a chunk is needed.
  CHECK(*size(geometry(0, 3, 128, {6144, 6144, 6200})) == 3 * 6144);
  CHECK(size(geometry(0, 2, 0, {6144, 6144})).error() == EINVAL);
  CHECK(size(geometry(0, 2, 128, {6144, 6144, 6144})).error() == EINVAL);  // more sizes than roles
  CHECK(size(geometry(0, 2, 128, {6144})).error() == EINVAL);               // a missing member
  CHECK(size(geometry(0, 3, 8, {8, 24, 24}, 0)).error() == EINVAL);         // multi-zone, no layout
  CHECK(*size(geometry(0, 3, 8, {8, 24, 24}, 2)) == 56);
  // raid1: the component size; the chunk and layout do not matter.
  CHECK(*size(geometry(1, 2, 0, {6144, 6000})) == 6000);
  CHECK(*size(geometry(1, 2, 3, {6144, 6000}, 77)) == 6000);
  CHECK(*size(geometry(1, 3, 0, {6144, 0, 6100})) == 6100);
  Geometry from_super = geometry(1, 2, 0, {8160, 8160});
  from_super.dev_sectors = 8064;
  CHECK(*size(from_super) == 8064);
  from_super.dev_sectors = 8200;  // would overlap the superblock
  CHECK(size(from_super).error() == EINVAL);
  CHECK(size(geometry(1, 0, 0, {})).error() == EINVAL);
  // raid10.
  CHECK(*size(geometry(10, 4, 128, {6144, 6144, 6144, 6144}, 0x102)) == 12288);
  CHECK(*size(geometry(10, 4, 128, {6144, 6144, 6000, 6144}, 0x201)) == 2 * (6000 / 128 / 2) * 128 * 2);
  CHECK(size(geometry(10, 4, 4, {6144, 6144, 6144, 6144}, 0x102)).error() == EINVAL);
  CHECK(size(geometry(10, 4, 96, {6144, 6144, 6144, 6144}, 0x102)).error() == EINVAL);
  CHECK(size(geometry(10, 2, 128, {6144, 6144}, 0x103)).error() == EINVAL);
  CHECK(size(geometry(10, 1, 128, {6144}, 0x101)).error() == EINVAL);
}

TEST_CASE("how many members each level can lose", "[geometry]") {
  CHECK(find_personality(LEVEL_LINEAR)->max_degraded(geometry(LEVEL_LINEAR, 3, 0, {8, 8, 8})) == 0);
  CHECK(find_personality(0)->max_degraded(geometry(0, 3, 8, {8, 8, 8})) == 0);
  CHECK(find_personality(1)->max_degraded(geometry(1, 3, 0, {8, 8, 8})) == 2);
  CHECK(find_personality(10)->max_degraded(geometry(10, 4, 8, {64, 64, 64, 64}, 0x102)) == 2);
  CHECK(find_personality(10)->max_degraded(geometry(10, 3, 8, {64, 64, 64}, 0x102)) == 1);
  CHECK(find_personality(10)->max_degraded(geometry(10, 6, 8, {64, 64, 64, 64, 64, 64}, 0x103)) == 4);
}

TEST_CASE("levels without redundancy do not run with a member missing", "[run]") {
  RecordingEvents ev;
  MemDisk a(64), b(64);
  auto g = geometry(0, 2, 8, {64, 64});
  CHECK(find_personality(0)->run(g, {&a, nullptr}, ev).error() == EINVAL);
  CHECK(find_personality(0)->run(g, {&a}, ev).error() == EINVAL);
  CHECK(find_personality(0)->run(g, {&a, &b}, ev).ok());
  auto lg = geometry(LEVEL_LINEAR, 2, 0, {64, 64});
  CHECK(find_personality(LEVEL_LINEAR)->run(lg, {nullptr, &b}, ev).error() == EINVAL);
  auto mg = geometry(1, 2, 0, {64, 64});
  CHECK(find_personality(1)->run(mg, {nullptr, nullptr}, ev).error() == EINVAL);
}

TEST_CASE("raid10 runs only while every chunk has a member", "[run][raid10]") {
  auto g = geometry(10, 4, 8, {256, 256, 256, 256}, 0x102);
  RecordingEvents ev;
  MemDisk d0(256), d1(256), d2(256), d3(256);
  CHECK(find_personality(10)->run(g, {nullptr, nullptr, &d2, &d3}, ev).error() == EIO);
  auto p = find_personality(10)->run(g, {nullptr, &d1, nullptr, &d3}, ev);
  REQUIRE(p.ok());
  CHECK((*p)->degraded() == 2);
  CHECK((*p)->mdstat_status() == " 4K chunks 2 near-copies [4/2] [_U_U]");
  auto f2 = geometry(10, 4, 8, {256, 256, 256, 256}, 0x201);
  CHECK(find_personality(10)->run(f2, {nullptr, &d1, nullptr, &d3}, ev).ok());
  CHECK(find_personality(10)->run(f2, {&d0, nullptr, nullptr, &d3}, ev).error() == EIO);
}

TEST_CASE("random unaligned writes read back on every level", "[io]") {
  struct Case {
    const char* what;
    Geometry geo;
  };
  const Case cases[] = {
      {"linear, unequal members", geometry(LEVEL_LINEAR, 3, 0, {1000, 17, 2049})},
      {"linear, rounded", geometry(LEVEL_LINEAR, 2, 64, {1000, 2049})},
      {"raid0, 3 members", geometry(0, 3, 128, {2048, 2048, 2048})},
      {"raid0, 1 member", geometry(0, 1, 16, {2048})},
      {"raid0, zones, original layout", geometry(0, 4, 16, {512, 1024, 256, 1024}, 1)},
      {"raid0, zones, alternate layout", geometry(0, 4, 16, {512, 1024, 256, 1024}, 2)},
      {"raid0, odd chunk", geometry(0, 3, 24, {1000, 1000, 1000})},
      {"raid1, 2", geometry(1, 2, 0, {2048, 2100})},
      {"raid1, 3", geometry(1, 3, 0, {2048, 2048, 2048})},
      {"raid10 n2 on 4", geometry(10, 4, 16, {2048, 2048, 2048, 2048}, 0x102)},
      {"raid10 f2 on 4", geometry(10, 4, 16, {2048, 2048, 2048, 2048}, 0x201)},
      {"raid10 o2 on 4", geometry(10, 4, 16, {2048, 2048, 2048, 2048}, 0x10201)},
      {"raid10 n2 on 3", geometry(10, 3, 8, {2048, 2048, 2048}, 0x102)},
      {"raid10 n2 on 2", geometry(10, 2, 8, {2048, 2048}, 0x102)},
      {"raid10 f3 on 5", geometry(10, 5, 8, {2000, 2048, 2048, 2048, 2048}, 0x301)},
      {"raid10 n2 o2 on 4", geometry(10, 4, 8, {2048, 2048, 2048, 2048}, 0x10202)},
      {"raid10 f2 far-sets on 5", geometry(10, 5, 8, {2048, 2048, 2048, 2048, 2048}, 0x40201)},
  };
  int seed = 1;
  for (const Case& c : cases) {
    SECTION(c.what) {
      Rig rig(c.geo);
      auto model = random_io(rig, seed, 300);
      if (c.geo.level >= 1) check_copies(rig, model);
      CHECK(rig.events.taken().empty());
      CHECK(rig.pers->degraded() == 0);
    }
    ++seed;
  }
}

TEST_CASE("requests outside the array are refused", "[io]") {
  Rig rig(geometry(0, 2, 8, {64, 64}));
  std::vector<std::byte> buf(10);
  CHECK(rig.pers->read(rig.size() - 5, buf) == EINVAL);
  CHECK(rig.pers->write(rig.size() + 1, buf) == EINVAL);
  std::vector<Extent> ex;
  CHECK_FALSE(rig.pers->map_read(rig.size() - 5, 10, ex));
  CHECK(rig.pers->read(rig.size(), std::span(buf).first(0)) == 0);
}

TEST_CASE("a large request is one member request per member", "[io][gather]") {
  SECTION("raid0: each member's chunks in one scattered request") {
    Rig rig(geometry(0, 3, 128, {6144, 6144, 6144}));
    std::vector<std::byte> buf(1 << 20);
    REQUIRE(rig.pers->read(0, buf) == 0);
    for (auto& m : rig.mem) CHECK(m->reads == 1);
    REQUIRE(rig.pers->write(512 * 7, buf) == 0);  // unaligned to chunks: still one each
    for (auto& m : rig.mem) CHECK(m->writes == 1);
  }
  SECTION("linear: one request each side of the boundary") {
    Rig rig(geometry(LEVEL_LINEAR, 2, 0, {2048, 2048}));
    std::vector<std::byte> buf(1 << 20);
    REQUIRE(rig.pers->read(512 * 1024, buf) == 0);
    CHECK(rig.mem[0]->reads == 1);
    CHECK(rig.mem[1]->reads == 1);
  }
  SECTION("raid1: one member request") {
    Rig rig(geometry(1, 2, 0, {4096, 4096}));
    std::vector<std::byte> buf(1 << 20);
    REQUIRE(rig.pers->read(0, buf) == 0);
    CHECK(rig.mem[0]->reads + rig.mem[1]->reads == 1);
    REQUIRE(rig.pers->write(0, buf) == 0);
    CHECK(rig.mem[0]->writes == 1);
    CHECK(rig.mem[1]->writes == 1);
  }
  SECTION("raid10 near on two members: contiguous chunks join") {
    Rig rig(geometry(10, 2, 16, {4096, 4096}, 0x102));
    std::vector<std::byte> buf(1 << 20);
    REQUIRE(rig.pers->read(4096, buf) == 0);
    CHECK(rig.mem[0]->reads + rig.mem[1]->reads == 1);
  }
  SECTION("raid10 far: one request per member and copy") {
    Rig rig(geometry(10, 4, 128, {6144, 6144, 6144, 6144}, 0x201));
    std::vector<std::byte> buf(1 << 20);
    REQUIRE(rig.pers->write(0, buf) == 0);
    for (auto& m : rig.mem) CHECK(m->writes == 2);
    REQUIRE(rig.pers->read(0, buf) == 0);
    for (auto& m : rig.mem) CHECK(m->reads == 1);  // far copies read the first copy, the fast part
  }
}

TEST_CASE("raid1: a read error fails the member and reads another mirror", "[failure][raid1]") {
  Rig rig(geometry(1, 2, 0, {2048, 2048}));
  auto model = random_io(rig, 7, 20);
  rig.faulty[0]->fail_reads = true;
  rig.faulty[1]->fail_reads = false;
  std::vector<std::byte> all(rig.size());
  // Whichever mirror the balancer picks first, the data comes back.
  for (int i = 0; i < 4; ++i) {
    REQUIRE(rig.pers->read(0, all) == 0);
    REQUIRE((all == model));
  }
  auto failed = rig.events.taken();
  REQUIRE(failed.size() == 1);
  CHECK(failed[0] == std::pair{0, EIO});
  CHECK(rig.pers->degraded() == 1);
  CHECK(rig.pers->mdstat_status() == " [2/1] [_U]");
  int before = rig.faulty[0]->reads + rig.faulty[0]->writes;
  REQUIRE(rig.pers->write(100, std::span(model).first(1000)) == 0);
  REQUIRE(rig.pers->read(0, all) == 0);
  CHECK(rig.faulty[0]->reads + rig.faulty[0]->writes == before);  // never touched again

  // The last mirror is kept: its errors go to the caller.
  rig.faulty[1]->fail_reads = true;
  CHECK(rig.pers->read(0, all) == EIO);
  CHECK(rig.events.taken().size() == 1);
  CHECK(rig.pers->degraded() == 1);
  rig.faulty[1]->fail_reads = false;
  REQUIRE(rig.pers->read(0, all) == 0);
}

TEST_CASE("raid1: a member that fails a write is dropped; the last one fails the write", "[failure][raid1]") {
  Rig rig(geometry(1, 3, 0, {2048, 2048, 2048}));
  auto model = random_io(rig, 8, 20);
  rig.faulty[1]->fail_writes = true;
  auto data = std::vector<std::byte>(5000, std::byte{0x5a});
  REQUIRE(rig.pers->write(777, data) == 0);
  std::copy(data.begin(), data.end(), model.begin() + 777);
  CHECK(rig.events.taken() == std::vector<std::pair<int, int>>{{1, EIO}});
  CHECK(rig.pers->mdstat_status() == " [3/2] [U_U]");
  check_copies(rig, model, true);
  rig.faulty[0]->fail_writes = true;
  REQUIRE(rig.pers->write(0, data) == 0);  // role 2 still takes it
  std::copy(data.begin(), data.end(), model.begin());
  rig.faulty[2]->fail_writes = true;
  CHECK(rig.pers->write(0, data) == EIO);
  CHECK(rig.pers->degraded() == 2);
  CHECK(rig.events.taken().size() == 2);
  rig.faulty[2]->fail_writes = false;
  std::vector<std::byte> all(rig.size());
  REQUIRE(rig.pers->read(0, all) == 0);
  CHECK((all == model));
}

TEST_CASE("raid10: read errors are read around per chunk", "[failure][raid10]") {
  for (int layout : {0x102, 0x201, 0x10201}) {
    CAPTURE(layout);
    Rig rig(geometry(10, 4, 16, {2048, 2048, 2048, 2048}, layout));
    auto model = random_io(rig, 9, 50);
    rig.faulty[2]->fail_reads = true;
    std::vector<std::byte> all(rig.size());
    for (int i = 0; i < 3; ++i) {
      REQUIRE(rig.pers->read(0, all) == 0);
      REQUIRE((all == model));
    }
    CHECK(rig.events.taken() == std::vector<std::pair<int, int>>{{2, EIO}});
    CHECK(rig.pers->degraded() == 1);
    std::vector<Extent> ex;
    // A neighbour holding the other copies of role 2's chunks is now the
    // last copy: it is kept, and reads of those chunks fail.
    int partner = layout == 0x102 ? 3 : 1;
    rig.faulty[partner]->fail_reads = true;
    CHECK(rig.pers->read(0, all) == EIO);
    CHECK(rig.pers->degraded() == 1);
    rig.faulty[partner]->fail_reads = false;
    REQUIRE(rig.pers->read(0, all) == 0);
    CHECK((all == model));
  }
}

TEST_CASE("raid10: a failed write drops the member; copies stay equal", "[failure][raid10]") {
  Rig rig(geometry(10, 4, 16, {2048, 2048, 2048, 2048}, 0x201));
  auto model = random_io(rig, 10, 30);
  rig.faulty[3]->fail_writes = true;
  std::mt19937_64 rng(11);
  auto data = random_bytes(rng, 100000);
  REQUIRE(rig.pers->write(12345, data) == 0);
  std::copy(data.begin(), data.end(), model.begin() + 12345);
  CHECK(rig.events.taken() == std::vector<std::pair<int, int>>{{3, EIO}});
  CHECK(rig.pers->mdstat_status() == " 8K chunks 2 far-copies [4/3] [UUU_]");
  check_copies(rig, model, true);
  // Role 3's chunks now live only on roles 0 and 2: a write there fails
  // when those fail too.
  rig.faulty[2]->fail_writes = true;
  CHECK(rig.pers->write(0, data) == EIO);
  rig.faulty[2]->fail_writes = false;
}

TEST_CASE("fail() stops all I/O to the member; raid0 cannot read around it", "[failure]") {
  Rig r0(geometry(0, 2, 8, {64, 64}));
  std::vector<std::byte> buf(4096 * 2);
  r0.pers->fail(1);
  CHECK(r0.pers->degraded() == 1);
  CHECK(r0.pers->read(0, buf) == EIO);
  CHECK(r0.pers->read(0, std::span(buf).first(4096)) == 0);  // chunk 0 is on role 0
  std::vector<Extent> ex;
  CHECK_FALSE(r0.pers->map_read(0, buf.size(), ex));
  CHECK(r0.mem[1]->reads == 0);

  Rig r1(geometry(1, 3, 0, {64, 64, 64}));
  r1.pers->fail(0);
  r1.pers->fail(0);
  CHECK(r1.pers->degraded() == 1);
  CHECK(r1.pers->mdstat_status() == " [3/2] [_UU]");
  REQUIRE(r1.pers->write(0, buf) == 0);
  REQUIRE(r1.pers->read(0, buf) == 0);
  CHECK(r1.mem[0]->reads + r1.mem[0]->writes == 0);
  CHECK(r1.events.taken().empty());  // the core's own fail() is not reported back
}

TEST_CASE("sync reaches every working member", "[io]") {
  Rig rig(geometry(10, 4, 16, {256, 256, 256, 256}, 0x102));
  rig.pers->fail(1);
  REQUIRE(rig.pers->sync() == 0);
  CHECK(rig.mem[0]->syncs == 1);
  CHECK(rig.mem[1]->syncs == 0);
  CHECK(rig.mem[2]->syncs == 1);
  Rig r1(geometry(1, 2, 0, {256, 256}));
  r1.faulty[0]->fail_writes = true;
  CHECK(r1.pers->sync() == 0);  // a member whose flush fails is dropped
  CHECK(r1.events.taken() == std::vector<std::pair<int, int>>{{0, EIO}});
}

TEST_CASE("mdstat words of linear and raid0", "[mdstat]") {
  CHECK(Rig(geometry(LEVEL_LINEAR, 2, 0, {64, 64})).pers->mdstat_status() == " 0k rounding");
  CHECK(Rig(geometry(LEVEL_LINEAR, 2, 64, {64, 64})).pers->mdstat_status() == " 32k rounding");
  CHECK(Rig(geometry(0, 2, 1024, {4096, 4096})).pers->mdstat_status() == " 512k chunks");
  CHECK(Rig(geometry(1, 3, 0, {64, 64, 64}), {1}).pers->mdstat_status() == " [3/2] [U_U]");
}

namespace {

// Members in temporary files, for map_read's extents.
struct FileRig {
  explicit FileRig(Geometry g) : geo(std::move(g)) {
    char tmpl[] = "/tmp/mdfs-raid-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl));
    dir = tmpl;
    std::vector<Disk*> roles;
    for (int r = 0; r < geo.raid_disks; ++r) {
      fs::path p = dir / ("m" + std::to_string(r));
      uint64_t start = 4096 * (r + 1);  // data offsets differ per member
      std::ofstream(p).close();
      fs::resize_file(p, start + geo.member_sectors[r] * kSectorSize);
      disks.push_back(std::make_unique<FileDisk>(p.string(), start, true));
      REQUIRE(disks.back()->ok());
      roles.push_back(disks.back().get());
    }
    auto p = find_personality(geo.level)->run(geo, roles, events);
    REQUIRE(p.ok());
    pers = std::move(*p);
  }
  ~FileRig() {
    pers.reset();
    disks.clear();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  Geometry geo;
  fs::path dir;
  std::vector<std::unique_ptr<FileDisk>> disks;
  RecordingEvents events;
  std::unique_ptr<Personality> pers;
};

void check_extents(Personality& p, uint64_t off, uint64_t len, const std::vector<std::byte>& model) {
  std::vector<Extent> ex;
  REQUIRE(p.map_read(off, len, ex));
  uint64_t pos = off;
  for (const Extent& e : ex) {
    std::vector<std::byte> got(e.length);
    REQUIRE(::pread(e.fd, got.data(), e.length, off_t(e.file_offset)) == ssize_t(e.length));
    REQUIRE(std::equal(got.begin(), got.end(), model.begin() + pos));
    pos += e.length;
  }
  REQUIRE(pos == off + len);
}

}  // namespace

TEST_CASE("map_read's extents hold the array's bytes", "[map_read]") {
  const Geometry cases[] = {
      geometry(LEVEL_LINEAR, 2, 0, {300, 500}),
      geometry(0, 3, 16, {256, 512, 512}, 2),
      geometry(1, 2, 0, {512, 512}),
      geometry(10, 4, 16, {512, 512, 512, 512}, 0x102),
      geometry(10, 4, 16, {512, 512, 512, 512}, 0x201),
      geometry(10, 3, 8, {512, 512, 512}, 0x10201),
  };
  for (const Geometry& g : cases) {
    CAPTURE(g.level, g.layout);
    FileRig rig(g);
    std::mt19937_64 rng(g.level + g.layout);
    uint64_t size = rig.pers->array_sectors() * kSectorSize;
    auto model = random_bytes(rng, size);
    REQUIRE(rig.pers->write(0, model) == 0);
    check_extents(*rig.pers, 0, size, model);
    for (int i = 0; i < 50; ++i) {
      uint64_t len = 1 + rng() % (size / 3);
      uint64_t off = rng() % (size - len + 1);
      check_extents(*rig.pers, off, len, model);
    }
    if (g.level >= 1) {
      // Extents avoid a failed member.
      rig.pers->fail(1);
      std::vector<Extent> ex;
      REQUIRE(rig.pers->map_read(0, size, ex));
      for (const Extent& e : ex) CHECK(e.fd != rig.disks[1]->fd());
      check_extents(*rig.pers, 0, size, model);
    }
  }
}

TEST_CASE("concurrent readers and writers while a member is failed", "[threads]") {
  for (const Geometry& g : {geometry(1, 3, 0, {4096, 4096, 4096}),
                            geometry(10, 4, 16, {4096, 4096, 4096, 4096}, 0x102),
                            geometry(10, 3, 16, {4096, 4096, 4096}, 0x201)}) {
    CAPTURE(g.level, g.layout);
    Rig rig(g);
    const uint64_t size = rig.size();
    std::vector<std::byte> model(size);
    REQUIRE(rig.pers->write(0, model) == 0);
    const int threads = 4;
    const uint64_t slice = size / threads;
    std::atomic<int> errors{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        std::mt19937_64 rng(100 + t);
        uint64_t base = slice * t;
        for (int i = 0; i < 200; ++i) {
          uint64_t len = 1 + rng() % 20000;
          uint64_t off = base + rng() % (slice - len);
          auto data = random_bytes(rng, len);
          if (rig.pers->write(off, data)) ++errors;
          std::copy(data.begin(), data.end(), model.begin() + off);  // this thread's slice only
          std::vector<std::byte> back(len);
          if (rig.pers->read(off, back) || back != data) ++errors;
        }
      });
    }
    std::thread failer([&] {
      std::this_thread::yield();
      rig.pers->fail(1);
    });
    for (auto& th : pool) th.join();
    failer.join();
    CHECK(errors == 0);
    CHECK(rig.pers->degraded() == 1);
    std::vector<std::byte> all(size);
    REQUIRE(rig.pers->read(0, all) == 0);
    CHECK((all == model));
  }
}
