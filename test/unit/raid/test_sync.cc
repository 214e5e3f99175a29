// The personalities' sync entry points (sync_window, add_disk,
// disk_recovered) on in-memory members: check counts damage in the
// kernel's units and changes nothing, repair makes copies and parity agree,
// recovery rebuilds a role exactly, and writes racing a pass are never
// counted or undone.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "disks.h"
#include "mdfs/personality.h"
#include "raid/raid10_layout.h"

using namespace mdfs;
using namespace mdfs::raid;
using namespace mdfs::raid::test;

namespace {

struct SyncRig {
  // `missing` roles start without a member (a degraded start).
  SyncRig(int level, int raid_disks, int layout, uint32_t chunk, uint64_t sectors, std::vector<int> missing = {}) {
    geo.level = level;
    geo.layout = layout;
    geo.chunk_sectors = chunk;
    geo.raid_disks = raid_disks;
    geo.member_sectors.assign(static_cast<size_t>(raid_disks), sectors);
    std::vector<Disk*> roles;
    for (int r = 0; r < raid_disks; ++r) {
      mem.push_back(std::make_unique<MemDisk>(sectors));
      bool gone = std::find(missing.begin(), missing.end(), r) != missing.end();
      roles.push_back(gone ? nullptr : mem.back().get());
      if (gone) geo.member_sectors[static_cast<size_t>(r)] = 0;
    }
    geo.dev_sectors = sectors;
    auto p = find_personality(level)->run(geo, roles, events);
    REQUIRE(p.ok());
    pers = std::move(*p);
  }
  SyncResult pass(SyncKind kind) {
    pers->set_syncing(true);
    SyncResult total;
    const uint64_t step = pers->sync_unit() * 4;
    const uint64_t end = kind == SyncKind::kRecover ? pers->recovery_sectors() : pers->sync_sectors();
    for (uint64_t at = 0; at < end && total.error == 0; at += step) {
      SyncResult r = pers->sync_window(kind, at, std::min(step, end - at));
      total.error = r.error;
      total.mismatches += r.mismatches;
    }
    pers->set_syncing(false);
    return total;
  }
  std::vector<std::byte> fill(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::byte> data(pers->array_sectors() * kSectorSize);
    for (auto& b : data) b = std::byte(rng());
    REQUIRE(pers->write(0, data) == 0);
    return data;
  }
  std::vector<std::byte> read_all() {
    std::vector<std::byte> out(pers->array_sectors() * kSectorSize);
    REQUIRE(pers->read(0, out) == 0);
    return out;
  }
  void damage(int role, uint64_t sector, uint64_t sectors) {
    auto& d = mem[static_cast<size_t>(role)]->data();
    for (uint64_t i = sector * kSectorSize; i < (sector + sectors) * kSectorSize; ++i) d[i] ^= std::byte{0x5a};
  }

  Geometry geo;
  std::vector<std::unique_ptr<MemDisk>> mem;
  RecordingEvents events;
  std::unique_ptr<Personality> pers;
};

struct Level {
  const char* what;
  int level, disks, layout;
  uint32_t chunk;
  uint64_t unit;  // mismatch_cnt per damaged 4 KiB page: raid5/6 count 8, raid1/10 a 128-sector block
};
const Level kLevels[] = {
    {"raid1", 1, 2, 0, 0, 128},
    {"raid10 n2", 10, 4, 0x102, 16, 128},
    {"raid10 f2", 10, 4, 0x201, 16, 128},
    {"raid10 o2", 10, 4, 0x10201, 16, 128},
    {"raid10 n2 on 3", 10, 3, 0x102, 16, 128},
    {"raid4", 4, 3, 5, 16, 8},
    {"raid5 ls", 5, 4, 2, 16, 8},
    {"raid6 ls", 6, 5, 2, 16, 8},
};

}  // namespace

TEST_CASE("check counts damage in the kernel's units, changes nothing; repair fixes it", "[sync]") {
  for (const Level& l : kLevels) {
    SECTION(l.what) {
      SyncRig rig(l.level, l.disks, l.layout, l.chunk, 2048);
      auto data = rig.fill(7);
      REQUIRE(rig.pass(SyncKind::kCheck).mismatches == 0);
      // 8 sectors (one 4 KiB page) inside one 64 KiB block of member 1.
      rig.damage(1, 264, 8);
      std::vector<std::vector<std::byte>> before;
      for (auto& m : rig.mem) before.push_back(m->data());
      CHECK(rig.pass(SyncKind::kCheck).mismatches == l.unit);
      for (size_t r = 0; r < rig.mem.size(); ++r) CHECK((rig.mem[r]->data() == before[r]));
      CHECK(rig.pass(SyncKind::kRepair).mismatches == l.unit);
      CHECK(rig.pass(SyncKind::kCheck).mismatches == 0);
      CHECK(rig.events.taken().empty());
    }
  }
}

TEST_CASE("resync makes copies and parity agree without counting", "[sync]") {
  for (const Level& l : kLevels) {
    SECTION(l.what) {
      SyncRig rig(l.level, l.disks, l.layout, l.chunk, 2048);
      rig.fill(3);
      rig.damage(0, 100, 40);
      CHECK(rig.pass(SyncKind::kResync).mismatches == 0);
      CHECK(rig.pass(SyncKind::kCheck).mismatches == 0);
    }
  }
}

TEST_CASE("recovery rebuilds a missing role exactly from the others", "[sync][recover]") {
  for (const Level& l : kLevels) {
    SECTION(l.what) {
      SyncRig rig(l.level, l.disks, l.layout, l.chunk, 2048, {1});
      auto data = rig.fill(11);  // written degraded
      MemDisk spare(2048);
      REQUIRE(rig.pers->add_disk(1, &spare) == 0);
      CHECK(rig.pers->add_disk(0, &spare) == EBUSY);  // a working role
      CHECK(rig.pers->degraded() == 1);
      // A write while recovering reaches the spare.
      std::vector<std::byte> patch(3000, std::byte{0x42});
      REQUIRE(rig.pers->write(5000, patch) == 0);
      std::copy(patch.begin(), patch.end(), data.begin() + 5000);
      REQUIRE(rig.pass(SyncKind::kRecover).error == 0);
      rig.pers->disk_recovered(1);
      CHECK(rig.pers->degraded() == 0);
      CHECK(rig.pass(SyncKind::kCheck).mismatches == 0);
      // The array without another role reads back through the rebuilt one.
      rig.pers->fail(l.level == 10 ? 2 : 0);
      CHECK((rig.read_all() == data));
    }
  }
}

TEST_CASE("writes racing check and repair are neither counted nor undone", "[sync][threads]") {
  for (const Level& l : kLevels) {
    SECTION(l.what) {
      SyncRig rig(l.level, l.disks, l.layout, l.chunk, 4096);
      auto data = rig.fill(5);
      std::atomic<bool> stop{false};
      std::thread writer([&] {
        std::mt19937_64 rng(99);
        const uint64_t size = data.size();
        while (!stop.load()) {
          const uint64_t len = 1 + rng() % 40000;
          const uint64_t off = rng() % (size - len);
          std::vector<std::byte> buf(len, std::byte(rng()));
          REQUIRE(rig.pers->write(off, buf) == 0);
          std::copy(buf.begin(), buf.end(), data.begin() + static_cast<std::ptrdiff_t>(off));
        }
      });
      uint64_t counted = 0;
      for (int i = 0; i < 3; ++i) {
        counted += rig.pass(SyncKind::kCheck).mismatches;
        counted += rig.pass(SyncKind::kRepair).mismatches;
      }
      stop = true;
      writer.join();
      CHECK(counted == 0);
      CHECK((rig.read_all() == data));
      CHECK(rig.pass(SyncKind::kCheck).mismatches == 0);
    }
  }
}

TEST_CASE("a copy that fails reads during a check is failed and the pass goes on", "[sync][failure]") {
  Geometry g;
  g.level = 1;
  g.raid_disks = 3;
  g.member_sectors = {1024, 1024, 1024};
  std::vector<std::unique_ptr<MemDisk>> mem;
  std::vector<std::unique_ptr<FaultyDisk>> faulty;
  std::vector<Disk*> roles;
  for (int r = 0; r < 3; ++r) {
    mem.push_back(std::make_unique<MemDisk>(1024));
    faulty.push_back(std::make_unique<FaultyDisk>(*mem.back()));
    roles.push_back(faulty.back().get());
  }
  RecordingEvents events;
  auto p = find_personality(1)->run(g, roles, events);
  REQUIRE(p.ok());
  std::vector<std::byte> data(1024 * kSectorSize, std::byte{7});
  REQUIRE((*p)->write(0, data) == 0);
  faulty[0]->fail_reads = true;
  SyncResult r = (*p)->sync_window(SyncKind::kCheck, 0, 1024);
  CHECK(r.error == 0);
  CHECK(r.mismatches == 0);
  REQUIRE(events.taken().size() == 1);
  CHECK(events.taken()[0].first == 0);
  CHECK((*p)->degraded() == 1);
  // With one copy left there is nothing to compare, and nothing fails.
  faulty[1]->fail_reads = true;
  r = (*p)->sync_window(SyncKind::kRepair, 0, 1024);
  CHECK(r.error == 0);
  CHECK((*p)->degraded() == 2);
  faulty[2]->fail_reads = true;
  CHECK((*p)->sync_window(SyncKind::kCheck, 0, 128).error == EIO);  // the last copy stays, the pass ends
  CHECK((*p)->degraded() == 2);
}

TEST_CASE("raid10's chunk_at finds the array chunk of every member chunk", "[sync][raid10]") {
  const struct {
    int disks, layout;
  } geometries[] = {{4, 0x102}, {3, 0x102}, {5, 0x103}, {4, 0x201}, {5, 0x301}, {4, 0x10201},
                    {4, 0x10202}, {5, 0x40201}, {6, 0x20201}, {7, 0x40201}};
  for (const auto& g : geometries) {
    auto l = Raid10Layout::make(g.disks, g.layout, 8, 4096);
    REQUIRE(l.ok());
    INFO("disks " << g.disks << " layout " << g.layout);
    std::vector<std::vector<int64_t>> seen(static_cast<size_t>(g.disks),
                                           std::vector<int64_t>(l->dev_sectors() / 8, -1));
    std::vector<Copy> copies(l->copies());
    for (uint64_t c = 0; c * 8 < l->array_sectors(); ++c) {
      l->map(c * 8, copies);
      for (const Copy& x : copies) seen[static_cast<size_t>(x.role)][x.sector / 8] = static_cast<int64_t>(c);
    }
    for (int r = 0; r < g.disks; ++r)
      for (uint64_t row = 0; row < seen[static_cast<size_t>(r)].size(); ++row)
        REQUIRE(l->chunk_at(r, row) == seen[static_cast<size_t>(r)][row]);
  }
}
