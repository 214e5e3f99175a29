// The raid4/5/6 personality: the kernel's arrays read back through it,
// healthy and degraded; random and concurrent writes keep every stripe's
// parity right; member failures are reported and served around.
#include <catch2/catch.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <set>
#include <thread>

#include "raid/parity.h"
#include "raid/raid5.h"
#include "raid/raid5_layout.h"
#include "raid5_fixtures.h"

using namespace mdfs::raid;
using namespace mdfs::raid::test;

namespace {

const PersonalityType& type_of(int level) { return level == 4 ? kRaid4Personality : level == 5 ? kRaid5Personality : kRaid6Personality; }

std::unique_ptr<Personality> start(const Geometry& g, const std::vector<Disk*>& roles, ArrayEvents& events) {
  auto r = type_of(g.level).run(g, roles, events);
  REQUIRE(r.ok());
  return std::move(r).value();
}

// An array on in-memory members (all present as MemDisks; `missing` roles
// are not given to the personality).
struct MemArray {
  MemArray(int level, int algorithm, int disks, uint32_t chunk_sectors, uint64_t stripes,
           const std::set<int>& missing = {})
      : layout(*Raid5Layout::make(level, algorithm, disks, chunk_sectors)),
        chunk(chunk_sectors * 512),
        stripes(stripes) {
    geometry.level = level;
    geometry.layout = algorithm;
    geometry.chunk_sectors = chunk_sectors;
    geometry.raid_disks = disks;
    for (int role = 0; role < disks; ++role) {
      members.push_back(std::make_unique<MemDisk>(stripes * chunk));
      geometry.member_sectors.push_back(missing.count(role) ? 0 : stripes * chunk_sectors);
    }
    personality = start(geometry, roles(missing), events);
  }
  std::vector<Disk*> roles(const std::set<int>& missing = {}) {
    std::vector<Disk*> r;
    for (size_t role = 0; role < members.size(); ++role) {
      r.push_back(missing.count(static_cast<int>(role)) ? nullptr : members[role].get());
    }
    return r;
  }
  uint64_t bytes() const { return personality->array_sectors() * 512; }

  Raid5Layout layout;
  size_t chunk;
  uint64_t stripes;
  Geometry geometry;
  std::vector<std::unique_ptr<MemDisk>> members;
  RecordingEvents events;
  std::unique_ptr<Personality> personality;
};

// Stripes whose stored P (and Q) differ from their data's.
int audit(const Raid5Layout& layout, const std::vector<std::vector<std::byte>*>& members, size_t chunk,
          uint64_t stripes) {
  const int d = layout.data_disks();
  std::vector<std::byte> p(chunk), q(chunk);
  int bad = 0;
  for (uint64_t s = 0; s < stripes; ++s) {
    const StripeRoles r = layout.roles(s);
    std::vector<const std::byte*> data;
    for (int k = 0; k < d; ++k) data.push_back(members[r.data[k]]->data() + s * chunk);
    if (r.q >= 0) {
      parity::gen_pq(data, r.q_exp, p.data(), q.data(), chunk);
      bad += std::memcmp(q.data(), members[r.q]->data() + s * chunk, chunk) != 0 ? 1 : 0;
    } else {
      parity::gen_p(data, p.data(), chunk);
    }
    bad += std::memcmp(p.data(), members[r.p]->data() + s * chunk, chunk) != 0 ? 1 : 0;
  }
  return bad;
}

int audit(MemArray& a) {
  std::vector<std::vector<std::byte>*> m;
  for (auto& disk : a.members) m.push_back(&disk->bytes());
  return audit(a.layout, m, a.chunk, a.stripes);
}

// What a recovery would write into `lost` roles: rebuilt from the others.
void rebuild(MemArray& a, const std::set<int>& lost) {
  const int d = a.layout.data_disks();
  for (uint64_t s = 0; s < a.stripes; ++s) {
    const StripeRoles r = a.layout.roles(s);
    auto at = [&](int role) { return a.members[role]->bytes().data() + s * a.chunk; };
    std::vector<std::byte*> data;
    std::vector<int> missing;
    for (int k = 0; k < d; ++k) {
      data.push_back(at(r.data[k]));
      if (lost.count(r.data[k])) missing.push_back(k);
    }
    const bool p_lost = lost.count(r.p) > 0;
    const bool q_lost = r.q >= 0 && lost.count(r.q) > 0;
    REQUIRE(parity::recover(data, r.q_exp, missing, p_lost ? nullptr : at(r.p),
                            r.q < 0 || q_lost ? nullptr : at(r.q), a.chunk) == 0);
    std::vector<const std::byte*> view(data.begin(), data.end());
    std::vector<std::byte> p(a.chunk), q(a.chunk);
    if (r.q >= 0) {
      parity::gen_pq(view, r.q_exp, p.data(), q.data(), a.chunk);
      if (q_lost) std::memcpy(at(r.q), q.data(), a.chunk);
    } else {
      parity::gen_p(view, p.data(), a.chunk);
    }
    if (p_lost) std::memcpy(at(r.p), p.data(), a.chunk);
  }
}

std::vector<std::byte> read_all(Personality& p) {
  std::vector<std::byte> out(p.array_sectors() * 512);
  REQUIRE(p.read(0, out) == 0);
  return out;
}

// One random write: unaligned pieces, sector-aligned runs, whole stripes.
void random_write(Personality& p, std::vector<std::byte>& reference, size_t stripe_bytes, std::mt19937_64& rng) {
  const uint64_t size = reference.size();
  uint64_t off = 0, len = 0;
  switch (rng() % 4) {
    case 0:  // anywhere, up to two and a half stripes
      off = rng() % size;
      len = 1 + rng() % (stripe_bytes * 5 / 2);
      break;
    case 1:  // small, inside a sector or across one
      off = rng() % size;
      len = 1 + rng() % 700;
      break;
    case 2:  // whole sectors
      off = (rng() % (size / 512)) * 512;
      len = (1 + rng() % 64) * 512;
      break;
    default:  // whole stripes
      off = (rng() % (size / stripe_bytes)) * stripe_bytes;
      len = stripe_bytes * (1 + rng() % 2);
      break;
  }
  len = std::min(len, size - off);
  std::vector<std::byte> data(len);
  for (auto& b : data) b = std::byte(rng() & 0xff);
  REQUIRE(p.write(off, data) == 0);
  std::memcpy(reference.data() + off, data.data(), len);
}

struct Shape {
  int level;
  int algorithm;
  int disks;
};

std::vector<Shape> write_shapes() {
  std::vector<Shape> shapes;
  for (int n : {2, 3, 5}) shapes.push_back({4, 0, n});
  for (int a = 0; a <= 5; ++a) {
    for (int n : {2, 3, 4, 6}) shapes.push_back({5, a, n});
  }
  for (int a : {0, 1, 2, 3, 4, 5, 8, 9, 10, 16, 17, 18, 19, 20}) {
    for (int n : {4, 5, 7}) shapes.push_back({6, a, n});
  }
  return shapes;
}

std::string describe(const Shape& s) {
  return "raid" + std::to_string(s.level) + " algorithm " + std::to_string(s.algorithm) + " disks " +
         std::to_string(s.disks);
}

struct FixtureArray {
  explicit FixtureArray(const Fixture& f, const std::set<int>& missing = {}, bool writable_copy = false) {
    for (int role = 0; role < f.raid_disks; ++role) {
      std::string path = f.members[role];
      if (writable_copy) {
        copy_dir = std::filesystem::temp_directory_path() / ("mdfs-raid5-rw-" + std::to_string(::getpid()));
        std::filesystem::create_directories(copy_dir);
        const auto dst = copy_dir / (f.name + "-" + std::to_string(role));
        std::filesystem::copy_file(path, dst, std::filesystem::copy_options::overwrite_existing);
        path = dst.string();
      }
      disks.push_back(std::make_unique<FileDisk>(path, f.data_offset_sectors * 512, writable_copy));
    }
    std::vector<Disk*> roles;
    for (int role = 0; role < f.raid_disks; ++role) roles.push_back(missing.count(role) ? nullptr : disks[role].get());
    Geometry g = f.geometry();
    for (int role : missing) g.member_sectors[role] = 0;
    personality = start(g, roles, events);
  }
  ~FixtureArray() {
    personality.reset();
    disks.clear();
    std::error_code ec;
    if (!copy_dir.empty()) std::filesystem::remove_all(copy_dir, ec);
  }
  std::filesystem::path copy_dir;
  std::vector<std::unique_ptr<FileDisk>> disks;
  RecordingEvents events;
  std::unique_ptr<Personality> personality;
};

}  // namespace

TEST_CASE("the parity personalities are raid4, raid5 and raid6", "[raid5]") {
  CHECK(kRaid4Personality.name == "raid4");
  CHECK(kRaid5Personality.name == "raid5");
  CHECK(kRaid6Personality.name == "raid6");
  CHECK((kRaid4Personality.level == 4 && kRaid5Personality.level == 5 && kRaid6Personality.level == 6));
  CHECK((kRaid4Personality.min_disks == 2 && kRaid5Personality.min_disks == 2 && kRaid6Personality.min_disks == 4));
  Geometry g;
  CHECK(kRaid4Personality.max_degraded(g) == 1);
  CHECK(kRaid5Personality.max_degraded(g) == 1);
  CHECK(kRaid6Personality.max_degraded(g) == 2);
}

TEST_CASE("array size is the smallest member rounded to chunks times the data members", "[raid5]") {
  Geometry g;
  g.level = 5;
  g.layout = 2;
  g.chunk_sectors = 128;
  g.raid_disks = 3;
  g.member_sectors = {1000, 1100, 1030};
  CHECK(*kRaid5Personality.array_sectors(g) == 896 * 2);
  g.member_sectors = {1000, 0, 1030};  // a missing member does not count
  CHECK(*kRaid5Personality.array_sectors(g) == 896 * 2);
  g.dev_sectors = 600;  // component_size set
  CHECK(*kRaid5Personality.array_sectors(g) == 512 * 2);
  g.dev_sectors = 1020;  // more than the smallest member has
  CHECK(kRaid5Personality.array_sectors(g).error() == EINVAL);
  g.dev_sectors = 0;
  g.member_sectors = {1000, 1100};
  CHECK(kRaid5Personality.array_sectors(g).error() == EINVAL);
  g.member_sectors = {1000, 1100, 1030};
  g.chunk_sectors = 96;
  CHECK(kRaid5Personality.array_sectors(g).error() == EINVAL);
  g.chunk_sectors = 128;
  g.layout = 9;
  CHECK(kRaid5Personality.array_sectors(g).error() == EINVAL);
  CHECK(kRaid6Personality.array_sectors(g).error() == EINVAL);  // level 5 geometry, raid6 asked
  g.level = 6;
  g.raid_disks = 4;
  g.member_sectors = {1000, 1100, 1030, 4000};
  CHECK(*kRaid6Personality.array_sectors(g) == 896 * 2);
  for (const std::string& name : parity_fixture_names()) {
    const Fixture& f = fixture(name);
    INFO(name);
    CHECK(*type_of(f.level).array_sectors(f.geometry()) * 512 == f.array_size_bytes);
  }
}

TEST_CASE("run refuses more missing members than the level survives", "[raid5]") {
  RecordingEvents events;
  std::vector<std::unique_ptr<MemDisk>> disks;
  for (int i = 0; i < 5; ++i) disks.push_back(std::make_unique<MemDisk>(64 * 4096));
  Geometry g;
  g.level = 6;
  g.layout = 2;
  g.chunk_sectors = 8;
  g.raid_disks = 5;
  g.member_sectors.assign(5, 64 * 8);
  std::vector<Disk*> roles = {nullptr, disks[1].get(), nullptr, disks[3].get(), disks[4].get()};
  CHECK(kRaid6Personality.run(g, roles, events).ok());
  roles[3] = nullptr;
  CHECK(kRaid6Personality.run(g, roles, events).error() == EIO);
  g.level = 5;
  roles = {nullptr, disks[1].get(), nullptr, disks[3].get(), disks[4].get()};
  CHECK(kRaid5Personality.run(g, roles, events).error() == EIO);
  roles.pop_back();
  CHECK(kRaid5Personality.run(g, roles, events).error() == EINVAL);
}

TEST_CASE("the kernel's raid4/5/6 arrays read back exactly", "[raid5][fixtures]") {
  std::mt19937_64 rng(1);
  for (const std::string& name : parity_fixture_names()) {
    const Fixture& f = fixture(name);
    INFO(name);
    FixtureArray a(f);
    Personality& p = *a.personality;
    REQUIRE(p.array_sectors() * 512 == f.array_size_bytes);
    CHECK(p.degraded() == 0);
    CHECK(p.mdstat_status() == mdstat_status_of(f.mdstat));
    CHECK(read_all(p) == pattern(0, f.array_size_bytes));
    // Random unaligned pieces.
    for (int i = 0; i < 200; ++i) {
      const uint64_t off = rng() % f.array_size_bytes;
      const size_t len = std::min<uint64_t>(1 + rng() % 300000, f.array_size_bytes - off);
      std::vector<std::byte> buf(len);
      REQUIRE(p.read(off, buf) == 0);
      REQUIRE(buf == pattern(off, len));
    }
    CHECK(a.events.failed.empty());
  }
}

TEST_CASE("map_read points at the members' bytes of the kernel's arrays", "[raid5][fixtures]") {
  std::mt19937_64 rng(2);
  for (const std::string& name : parity_fixture_names()) {
    const Fixture& f = fixture(name);
    INFO(name);
    FixtureArray a(f);
    for (int i = 0; i < 100; ++i) {
      const uint64_t off = rng() % f.array_size_bytes;
      const size_t len = std::min<uint64_t>(1 + rng() % 400000, f.array_size_bytes - off);
      std::vector<Extent> extents;
      REQUIRE(a.personality->map_read(off, len, extents));
      std::vector<std::byte> got;
      for (const Extent& e : extents) {
        std::vector<std::byte> piece(e.length);
        REQUIRE(::pread(e.fd, piece.data(), e.length, static_cast<off_t>(e.file_offset)) ==
                static_cast<ssize_t>(e.length));
        got.insert(got.end(), piece.begin(), piece.end());
      }
      REQUIRE(got == pattern(off, len));
    }
    // A whole chunk is one extent.
    std::vector<Extent> extents;
    REQUIRE(a.personality->map_read(0, f.chunk_sectors * 512, extents));
    CHECK(extents.size() == 1);
  }
}

TEST_CASE("the kernel's arrays read back exactly without the manifest's missing roles", "[raid5][fixtures]") {
  // raid4-4, raid5-4-ls and raid6-5-ls have degraded variants
  // (tools/kernel-oracle/fixtures.py): a manifest without them fails.
  size_t checked = 0;
  for (const std::string& name : parity_fixture_names()) {
    const Fixture& f = fixture(name);
    if (f.missing_roles.empty()) continue;
    ++checked;
    INFO(name);
    const std::set<int> missing(f.missing_roles.begin(), f.missing_roles.end());
    FixtureArray a(f, missing);
    Personality& p = *a.personality;
    CHECK(p.degraded() == static_cast<int>(missing.size()));
    CHECK(p.mdstat_status() == mdstat_status_of(f.degraded_mdstat));
    CHECK(read_all(p) == pattern(0, f.array_size_bytes));
    // Zero-copy only when no data lives on a missing member: raid4 without
    // its parity member.
    const bool parity_only = f.level == 4 && missing == std::set<int>{f.raid_disks - 1};
    std::vector<Extent> extents;
    CHECK(p.map_read(0, f.array_size_bytes, extents) == parity_only);
    CHECK(extents.empty() == !parity_only);
  }
  CHECK(checked == 3);
}

TEST_CASE("the kernel's arrays read back exactly with any one (raid6: any two) members missing",
          "[raid5][fixtures]") {
  for (const std::string& name : parity_fixture_names()) {
    const Fixture& f = fixture(name);
    std::vector<std::set<int>> cases;
    for (int x = 0; x < f.raid_disks; ++x) {
      cases.push_back({x});
      if (f.level == 6) {
        for (int y = x + 1; y < f.raid_disks; ++y) cases.push_back({x, y});
      }
    }
    for (const auto& missing : cases) {
      INFO(name << " missing " << *missing.begin() << (missing.size() > 1 ? " and another" : ""));
      FixtureArray a(f, missing);
      CHECK(read_all(*a.personality) == pattern(0, f.array_size_bytes));
    }
  }
}

TEST_CASE("random writes keep every stripe's parity on every layout", "[raid5][write]") {
  for (const Shape& shape : write_shapes()) {
    INFO(describe(shape));
    std::mt19937_64 rng(static_cast<uint64_t>(shape.level * 1000 + shape.algorithm * 10 + shape.disks));
    const uint64_t stripes = 2 * static_cast<uint64_t>(shape.disks) + 3;
    MemArray a(shape.level, shape.algorithm, shape.disks, 8, stripes);
    std::vector<std::byte> reference(a.bytes());
    const size_t stripe_bytes = a.chunk * a.layout.data_disks();
    for (int i = 0; i < 80; ++i) random_write(*a.personality, reference, stripe_bytes, rng);
    CHECK(audit(a) == 0);
    CHECK(read_all(*a.personality) == reference);
    CHECK(a.events.failed.empty());
  }
}

TEST_CASE("writes to a degraded array leave stripes a rebuild restores exactly", "[raid5][write]") {
  for (const Shape& shape : write_shapes()) {
    std::mt19937_64 rng(static_cast<uint64_t>(shape.level * 1000 + shape.algorithm * 10 + shape.disks + 1));
    const uint64_t stripes = 2 * static_cast<uint64_t>(shape.disks) + 3;
    // Missing from the start: each role in turn (and for raid6 a second one
    // failed by the core half way through).
    for (int missing_role = 0; missing_role < shape.disks; ++missing_role) {
      INFO(describe(shape) << " missing role " << missing_role);
      std::set<int> lost = {missing_role};
      MemArray a(shape.level, shape.algorithm, shape.disks, 8, stripes, lost);
      CHECK(a.personality->degraded() == 1);
      std::vector<std::byte> reference(a.bytes());
      const size_t stripe_bytes = a.chunk * a.layout.data_disks();
      for (int i = 0; i < 30; ++i) random_write(*a.personality, reference, stripe_bytes, rng);
      if (shape.level == 6) {
        const int second = (missing_role + 1 + static_cast<int>(rng() % (shape.disks - 1))) % shape.disks;
        a.personality->fail(second);
        lost.insert(second);
        CHECK(a.personality->degraded() == 2);
        for (int i = 0; i < 30; ++i) random_write(*a.personality, reference, stripe_bytes, rng);
      }
      CHECK(read_all(*a.personality) == reference);
      // What survives is consistent: rebuilding the lost roles gives an
      // array whose every stripe checks and whose data is what was written.
      for (int role : lost) std::fill(a.members[role]->bytes().begin(), a.members[role]->bytes().end(), std::byte{0x5a});
      rebuild(a, lost);
      CHECK(audit(a) == 0);
      RecordingEvents events;
      auto whole = start(a.geometry, a.roles(), events);
      CHECK(read_all(*whole) == reference);
    }
  }
}

TEST_CASE("random writes on the kernel's arrays keep the kernel's parity rule", "[raid5][write][fixtures]") {
  std::mt19937_64 rng(3);
  for (const std::string name : {"raid6-5-ra", "raid5-4-la", "raid4-4", "raid5-4-ls"}) {
    const Fixture& f = fixture(name);
    INFO(name);
    const std::set<int> missing(f.missing_roles.begin(), f.missing_roles.end());
    for (const std::set<int>& lost : {std::set<int>{}, missing}) {
      FixtureArray a(f, lost, /*writable_copy=*/true);
      std::vector<std::byte> reference = pattern(0, f.array_size_bytes);
      auto layout = *Raid5Layout::make(f.level, f.layout, f.raid_disks, f.chunk_sectors);
      const size_t chunk = f.chunk_sectors * 512;
      for (int i = 0; i < 60; ++i) random_write(*a.personality, reference, chunk * layout.data_disks(), rng);
      CHECK(read_all(*a.personality) == reference);
      if (!lost.empty()) continue;
      Fixture copy = f;
      for (int role = 0; role < f.raid_disks; ++role) {
        copy.members[role] = (a.copy_dir / (f.name + "-" + std::to_string(role))).string();
      }
      auto members = load_members(copy);
      std::vector<std::vector<std::byte>*> m;
      for (auto& v : members) m.push_back(&v);
      CHECK(audit(layout, m, chunk, f.avail_sectors / f.chunk_sectors) == 0);
    }
  }
}

TEST_CASE("full-stripe writes read nothing and write each member once", "[raid5][write]") {
  // 4 data chunks of 256 KiB: a 1 MiB stripe.
  for (int level : {5, 6}) {
    INFO("raid" << level);
    MemArray a(level, 2, level == 5 ? 5 : 6, 512, 4);
    for (auto& m : a.members) m->reset_counts();
    std::vector<std::byte> data(1 << 20, std::byte{0x42});
    REQUIRE(a.personality->write(1 << 20, data) == 0);
    for (auto& m : a.members) {
      CHECK(m->reads == 0);
      CHECK(m->writes == 1);
    }
    CHECK(audit(a) == 0);
  }
}

TEST_CASE("partial writes choose read-modify-write or reconstruct-write by bytes read", "[raid5][write]") {
  MemArray a(5, 2, 6, 8, 12);  // 5 data chunks of 4 KiB
  auto reads = [&] {
    uint64_t bytes = 0;
    for (auto& m : a.members) bytes += m->read_bytes;
    return bytes;
  };
  auto reset = [&] {
    for (auto& m : a.members) m->reset_counts();
  };
  std::vector<std::byte> data(5 * 4096, std::byte{7});
  SECTION("one sector: the old sector and the old parity") {
    reset();
    REQUIRE(a.personality->write(0, std::span(data).first(512)) == 0);
    CHECK(reads() == 1024);
  }
  SECTION("all but the last sector of a stripe: only that sector") {
    reset();
    REQUIRE(a.personality->write(0, std::span(data).first(5 * 4096 - 512)) == 0);
    CHECK(reads() == 512);
  }
  SECTION("three of five chunks: the other two") {
    reset();
    REQUIRE(a.personality->write(4096, std::span(data).first(3 * 4096)) == 0);
    CHECK(reads() == 2 * 4096);
  }
  SECTION("raid6: one sector reads it, P and Q") {
    MemArray b(6, 2, 6, 8, 12);
    REQUIRE(b.personality->write(100, std::span(data).first(1)) == 0);
    uint64_t bytes = 0;
    for (auto& m : b.members) bytes += m->read_bytes;
    CHECK(bytes == 3);
    CHECK(audit(b) == 0);
  }
  CHECK(audit(a) == 0);
}

namespace {

// A fixture's members in memory, so that they can be made to fail.
struct FailingArray {
  explicit FailingArray(const Fixture& f) {
    for (auto& image : load_members(f)) {
      disks.push_back(std::make_unique<MemDisk>(std::move(image)));
      roles.push_back(disks.back().get());
    }
    personality = start(f.geometry(), roles, events);
  }
  std::vector<std::unique_ptr<MemDisk>> disks;
  std::vector<Disk*> roles;
  RecordingEvents events;
  std::unique_ptr<Personality> personality;
};

}  // namespace

TEST_CASE("a member failing reads is reported once and its data comes from parity", "[raid5][errors]") {
  for (const std::string name : {"raid5-4-ls", "raid6-5-ra", "raid4-4"}) {
    const Fixture& f = fixture(name);
    INFO(name);
    FailingArray a(f);
    Personality& p = *a.personality;
    a.disks[1]->fail_reads = true;
    CHECK(read_all(p) == pattern(0, f.array_size_bytes));
    REQUIRE(a.events.failed.size() == 1);
    CHECK(a.events.failed[0] == std::pair{1, EIO});
    CHECK(p.degraded() == 1);
    const std::string health = " [" + std::to_string(f.raid_disks) + "/" + std::to_string(f.raid_disks - 1) +
                               "] [U_" + std::string(f.raid_disks - 2, 'U') + "]";
    CHECK(p.mdstat_status().ends_with(health));
    a.disks[1]->reset_counts();
    CHECK(read_all(p) == pattern(0, f.array_size_bytes));
    CHECK(a.disks[1]->reads == 0);  // never used again

    std::vector<std::byte> buf(f.array_size_bytes);
    a.disks[3]->fail_reads = true;
    if (f.level == 6) {
      CHECK(read_all(p) == pattern(0, f.array_size_bytes));
      CHECK(p.degraded() == 2);
      a.disks[4]->fail_reads = true;  // a third is one too many
    }
    CHECK(p.read(0, buf) == EIO);
    CHECK(p.write(0, std::span(buf).first(4096)) == EIO);
    CHECK(static_cast<int>(a.events.failed.size()) == p.degraded());
  }
}

TEST_CASE("a member failing writes is reported and the write lands on the rest", "[raid5][errors]") {
  for (const std::string name : {"raid5-4-ls", "raid6-5-ls", "raid4-4"}) {
    const Fixture& f = fixture(name);
    INFO(name);
    for (int role = 0; role < f.raid_disks; ++role) {
      INFO("failing role " << role);
      FailingArray a(f);
      a.disks[role]->fail_writes = true;
      std::vector<std::byte> reference = pattern(0, f.array_size_bytes);
      std::mt19937_64 rng(4 + role);
      const size_t stripe_bytes = f.chunk_sectors * 512 * (f.raid_disks - (f.level == 6 ? 2 : 1));
      for (int i = 0; i < 20; ++i) random_write(*a.personality, reference, stripe_bytes, rng);
      REQUIRE(a.events.failed.size() == 1);
      CHECK(a.events.failed[0] == std::pair{role, EIO});
      CHECK(read_all(*a.personality) == reference);
      a.disks[role]->fail_writes = false;
      // The member missed writes; rebuilt from the others it agrees again.
      auto layout = *Raid5Layout::make(f.level, f.layout, f.raid_disks, f.chunk_sectors);
      const size_t chunk = f.chunk_sectors * 512;
      const uint64_t stripes = f.avail_sectors / f.chunk_sectors;
      std::vector<std::vector<std::byte>*> m;
      for (auto& d : a.disks) m.push_back(&d->bytes());
      CHECK(audit(layout, m, chunk, stripes) > 0);
      const int d = layout.data_disks();
      for (uint64_t s = 0; s < stripes; ++s) {
        const StripeRoles r = layout.roles(s);
        std::vector<std::byte*> data;
        std::vector<int> lost;
        for (int k = 0; k < d; ++k) {
          data.push_back(m[r.data[k]]->data() + s * chunk);
          if (r.data[k] == role) lost.push_back(k);
        }
        std::vector<const std::byte*> view(data.begin(), data.end());
        if (!lost.empty()) {
          REQUIRE(parity::recover(data, r.q_exp, lost, m[r.p]->data() + s * chunk,
                                  r.q >= 0 ? m[r.q]->data() + s * chunk : nullptr, chunk) == 0);
        } else if (r.p == role || r.q == role) {
          std::vector<std::byte> p(chunk), q(chunk);
          if (r.q >= 0) {
            parity::gen_pq(view, r.q_exp, p.data(), q.data(), chunk);
          } else {
            parity::gen_p(view, p.data(), chunk);
          }
          std::memcpy(m[role]->data() + s * chunk, (r.p == role ? p : q).data(), chunk);
        }
      }
      CHECK(audit(layout, m, chunk, stripes) == 0);
    }
  }
}

TEST_CASE("fail() takes a member out of service at once", "[raid5][errors]") {
  MemArray a(5, 2, 4, 8, 8);
  std::vector<std::byte> reference(a.bytes());
  std::mt19937_64 rng(9);
  for (int i = 0; i < 10; ++i) random_write(*a.personality, reference, 3 * 4096, rng);
  a.personality->fail(2);
  CHECK(a.personality->degraded() == 1);
  CHECK(a.personality->mdstat_status() == " level 5, 4k chunk, algorithm 2 [4/3] [UU_U]");
  a.members[2]->reset_counts();
  for (int i = 0; i < 10; ++i) random_write(*a.personality, reference, 3 * 4096, rng);
  CHECK(read_all(*a.personality) == reference);
  CHECK(a.members[2]->reads == 0);
  CHECK(a.members[2]->writes == 0);
  CHECK(a.events.failed.empty());  // the core failed it; nothing to report
}

TEST_CASE("concurrent overlapping writers never leave a stripe with wrong parity", "[raid5][concurrency]") {
  struct Case {
    int level, algorithm, disks;
    std::set<int> missing;
  };
  for (const Case& c : {Case{5, 2, 5, {}}, Case{6, 2, 6, {}}, Case{6, 1, 5, {}}, Case{5, 0, 4, {1}},
                        Case{6, 18, 6, {0, 3}}}) {
    INFO("raid" << c.level << " algorithm " << c.algorithm << " missing " << c.missing.size());
    MemArray a(c.level, c.algorithm, c.disks, 8, 12, c.missing);
    const size_t stripe_bytes = a.chunk * a.layout.data_disks();
    // All writers aim at the first four stripes so that they collide.
    const uint64_t window = 4 * stripe_bytes;
    std::vector<std::thread> threads;
    std::atomic<int> errors{0};
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(100 + t);
        std::vector<std::byte> data(2 * stripe_bytes);
        for (int i = 0; i < 300; ++i) {
          const uint64_t off = rng() % window;
          const size_t len = std::min<uint64_t>(1 + rng() % (2 * stripe_bytes), window - off);
          for (size_t j = 0; j < len; j += 64) data[j] = std::byte(rng() & 0xff);
          if (a.personality->write(off, std::span(data).first(len)) != 0) errors++;
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(errors == 0);
    if (!c.missing.empty()) {
      const auto before = read_all(*a.personality);
      rebuild(a, c.missing);
      RecordingEvents events;
      auto whole = start(a.geometry, a.roles(), events);
      CHECK(read_all(*whole) == before);
    }
    CHECK(audit(a) == 0);
  }
}

TEST_CASE("a read rebuilding a chunk never sees a stripe half written", "[raid5][concurrency]") {
  // Every write fills whole stripes with content derived from a write id
  // stored in each chunk's first bytes; a rebuilt chunk must be exactly the
  // chunk some write (or the initial zeros) put there.
  for (const auto& c : {std::pair{5, std::set<int>{0}}, std::pair{6, std::set<int>{0, 2}}}) {
    const int level = c.first;
    const std::set<int> missing = c.second;
    INFO("raid" << level);
    const int disks = level == 5 ? 4 : 6;
    MemArray a(level, 2, disks, 8, 3, missing);
    const int d = a.layout.data_disks();
    const size_t chunk = a.chunk;
    const size_t stripe_bytes = chunk * d;
    auto fill_chunk = [&](uint64_t id, int k, std::byte* out) {
      std::mt19937_64 g(id * 131 + k);
      std::memcpy(out, &id, 8);
      for (size_t i = 8; i < chunk; i += 8) {
        const uint64_t v = g();
        std::memcpy(out + i, &v, 8);
      }
    };
    std::atomic<bool> stop{false};
    std::atomic<int> torn{0}, failures{0}, reads_done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(t);
        std::vector<std::byte> buf(stripe_bytes);
        for (uint64_t n = 1; !stop; ++n) {
          const uint64_t id = (n << 8) | static_cast<uint64_t>(t + 1);
          for (int k = 0; k < d; ++k) fill_chunk(id, k, buf.data() + k * chunk);
          const uint64_t s = rng() % a.stripes;
          if (a.personality->write(s * stripe_bytes, buf) != 0) failures++;
        }
      });
    }
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937_64 rng(50 + t);
        std::vector<std::byte> got(chunk), expect(chunk);
        for (int i = 0; i < 6000; ++i) {
          const uint64_t s = rng() % a.stripes;
          const StripeRoles r = a.layout.roles(s);
          for (int k = 0; k < d; ++k) {
            if (!missing.count(r.data[k])) continue;
            if (a.personality->read(s * stripe_bytes + k * chunk, got) != 0) {
              failures++;
              continue;
            }
            uint64_t id;
            std::memcpy(&id, got.data(), 8);
            if (id == 0) {
              std::fill(expect.begin(), expect.end(), std::byte{0});
            } else {
              fill_chunk(id, k, expect.data());
            }
            if (got != expect) torn++;
            reads_done++;
          }
        }
      });
    }
    for (size_t i = 3; i < threads.size(); ++i) threads[i].join();
    stop = true;
    for (size_t i = 0; i < 3; ++i) threads[i].join();
    CHECK(reads_done > 0);
    CHECK(failures == 0);
    CHECK(torn == 0);
  }
}
