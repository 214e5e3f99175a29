// The personalities' side of the write-intent bitmap (WriteIntent): every
// write is announced before any member sees it, in the sync space's units
// (raid1 and raid10 array sectors, raid5 member stripe sectors in 4 KiB
// pages), ended after the last member write, complete only when every
// role got it; a refused start writes nothing.
#include <catch2/catch.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "disks.h"
#include "mdfs/personality.h"

using namespace mdfs;
using namespace mdfs::raid;
using namespace mdfs::raid::test;

namespace {

// What happened, in order: "S lo hi", "W", "E lo hi complete".
struct Log {
  std::mutex mutex;
  std::vector<std::string> lines;
  void add(std::string s) {
    std::lock_guard lock(mutex);
    lines.push_back(std::move(s));
  }
};

class LoggedDisk final : public Disk {
 public:
  LoggedDisk(uint64_t sectors, Log& log) : mem_(sectors), log_(log) {}
  int read(uint64_t offset, std::span<std::byte> buf) override { return mem_.read(offset, buf); }
  int write(uint64_t offset, std::span<const std::byte> buf) override {
    log_.add("W");
    return mem_.write(offset, buf);
  }
  int writev(uint64_t offset, std::span<const std::span<const std::byte>> bufs) override {
    log_.add("W");
    return mem_.writev(offset, bufs);
  }
  int sync() override { return 0; }
  int fd() const override { return -1; }
  uint64_t data_start() const override { return 0; }

 private:
  MemDisk mem_;
  Log& log_;
};

class LoggedIntent final : public WriteIntent, public ArrayEvents {
 public:
  explicit LoggedIntent(Log& log) : log_(log) {}
  int start_write(uint64_t lo, uint64_t hi) override {
    log_.add("S " + std::to_string(lo) + " " + std::to_string(hi));
    return refuse;
  }
  void end_write(uint64_t lo, uint64_t hi, bool complete) override {
    log_.add("E " + std::to_string(lo) + " " + std::to_string(hi) + (complete ? " complete" : " incomplete"));
  }
  bool recovery_needed(uint64_t, uint64_t) override { return true; }
  void member_failed(int, int) override {}
  WriteIntent* write_intent() override { return this; }
  int refuse = 0;

 private:
  Log& log_;
};

struct Rig {
  Rig(int level, int raid_disks, int layout, uint32_t chunk, uint64_t sectors, int missing = -1) : intent(log) {
    Geometry geo;
    geo.level = level;
    geo.layout = layout;
    geo.chunk_sectors = chunk;
    geo.raid_disks = raid_disks;
    geo.member_sectors.assign(static_cast<size_t>(raid_disks), sectors);
    geo.dev_sectors = sectors;
    std::vector<Disk*> roles;
    for (int r = 0; r < raid_disks; ++r) {
      disks.push_back(std::make_unique<LoggedDisk>(sectors, log));
      roles.push_back(r == missing ? nullptr : disks.back().get());
      if (r == missing) geo.member_sectors[static_cast<size_t>(r)] = 0;
    }
    auto p = find_personality(level)->run(geo, roles, intent);
    REQUIRE(p.ok());
    pers = std::move(*p);
  }
  std::vector<std::string> write(uint64_t offset, size_t length, int expect = 0) {
    log.lines.clear();
    std::vector<std::byte> data(length, std::byte{0x5a});
    CHECK(pers->write(offset, data) == expect);
    return log.lines;
  }
  Log log;
  LoggedIntent intent;
  std::vector<std::unique_ptr<LoggedDisk>> disks;
  std::unique_ptr<Personality> pers;
};

// Announced first, ended last, member writes between.
void check_order(const std::vector<std::string>& lines, const std::string& start, const std::string& end) {
  REQUIRE(lines.size() >= 3);
  CHECK(lines.front() == start);
  CHECK(lines.back() == end);
  for (size_t i = 1; i + 1 < lines.size(); ++i) CHECK(lines[i] == "W");
}

}  // namespace

TEST_CASE("raid1 announces array sectors before writing the mirrors", "[intent]") {
  Rig rig(1, 2, 0, 0, 2048);
  check_order(rig.write(4096 + 512, 1024), "S 9 11", "E 9 11 complete");
}

TEST_CASE("raid1 with a mirror missing ends its writes incomplete", "[intent]") {
  Rig rig(1, 2, 0, 0, 2048, 1);
  check_order(rig.write(0, 4096), "S 0 8", "E 0 8 incomplete");
}

TEST_CASE("raid10 announces array sectors", "[intent]") {
  Rig rig(10, 4, 0x102, 128, 4096);
  check_order(rig.write(65536, 8192), "S 128 144", "E 128 144 complete");
  Rig degraded(10, 4, 0x102, 128, 4096, 3);
  // Chunk 0 lives on roles 0 and 1: whole; chunk 1 on 2 and 3: one copy missing.
  check_order(degraded.write(0, 4096), "S 0 8", "E 0 8 complete");
  check_order(degraded.write(65536, 4096), "S 128 136", "E 128 136 incomplete");
}

TEST_CASE("raid5 announces member stripe sectors in whole pages", "[intent]") {
  // 4 members, 64 KiB chunks: 3 data chunks a stripe, 128 sectors each.
  Rig rig(5, 4, 2, 128, 4096);
  // 1 KiB inside the second data chunk of stripe 2: its page only.
  check_order(rig.write(2 * 3 * 65536 + 65536 + 4096 + 100, 1024), "S 264 272", "E 264 272 complete");
  // From the middle of stripe 0 into stripe 1: the columns both touch.
  check_order(rig.write(65536 + 6000, 3 * 65536), "S 0 256", "E 0 256 complete");
  Rig degraded(5, 4, 2, 128, 4096, 2);
  check_order(degraded.write(0, 4096), "S 0 8", "E 0 8 incomplete");
}

TEST_CASE("a write the bitmap cannot record goes nowhere", "[intent]") {
  for (int level : {1, 5, 10}) {
    Rig rig(level, 4, level == 10 ? 0x102 : 2, level == 1 ? 0 : 128, 4096);
    rig.intent.refuse = EIO;
    const auto lines = rig.write(0, 4096, EIO);
    REQUIRE(lines.size() == 1);
    CHECK(lines.front() == "S 0 8");
  }
}
