// Every fixture member's superblock, found by examine(), against what the
// real mdadm --examine printed for it and against manifest.json.
#include <linux/raid/md_p.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>

#include "fixtures.h"
#include "format/super_info.h"

using namespace mdfs::format;

namespace {

std::string hex_uuid(const std::array<uint8_t, 16>& u) {
  std::string s;
  char b[4];
  for (size_t i = 0; i < 16; ++i) {
    if (i && i % 4 == 0) s += ':';
    std::snprintf(b, sizeof b, "%02x", u[i]);
    s += b;
  }
  return s;
}

std::string utc(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char b[64];
  std::strftime(b, sizeof b, "%a %b %e %H:%M:%S %Y", &tm);
  return b;
}

std::string level_name(int level) {
  switch (level) {
    case -1: return "linear";
    case 0: return "raid0";
    case 1: return "raid1";
    case 4: return "raid4";
    case 5: return "raid5";
    case 6: return "raid6";
    case 10: return "raid10";
    default: return "?";
  }
}

std::string r5_layout_name(int layout) {
  static const char* names[] = {"left-asymmetric", "right-asymmetric", "left-symmetric",
                                "right-symmetric", "parity-first",     "parity-last"};
  return layout >= 0 && layout < 6 ? names[layout] : "?";
}

std::string r10_layout_name(int layout) {
  const int near = layout & 255, far = (layout >> 8) & 255;
  std::string s;
  if (near != 1) s += "near=" + std::to_string(near);
  if (far != 1) s += std::string(s.empty() ? "" : ", ") + ((layout & 0x10000) ? "offset=" : "far=") + std::to_string(far);
  return s;
}

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "%x", v);
  return b;
}

// Data members per member, for the Array Size line.
uint64_t array_kib(const SuperInfo& i) {
  uint64_t disks = 0, denom = 1;
  switch (i.level) {
    case 1: disks = 1; break;
    case 4:
    case 5: disks = static_cast<uint64_t>(i.raid_disks) - 1; break;
    case 6: disks = static_cast<uint64_t>(i.raid_disks) - 2; break;
    case 10:
      disks = static_cast<uint64_t>(i.raid_disks);
      denom = static_cast<uint64_t>((i.layout & 255) * ((i.layout >> 8) & 255));
      break;
  }
  return i.size * disks / denom / 2;
}

std::string array_state(const SuperInfo& i) {
  std::string s;
  for (int d = 0; d < i.raid_disks; ++d) {
    int n = 0;
    for (uint16_t r : i.roles) n += r == d;
    s += n == 1 ? 'A' : n == 0 ? '.' : 'R';
  }
  return s;
}

SuperInfo examine_member(const std::string& c, int m) {
  const auto& mem = fixture::member(c, m);
  auto ex = examine(mem.size, mem.reader());
  REQUIRE(ex.ok());
  INFO(c << " member " << m);
  REQUIRE(ex->rejected.empty());
  REQUIRE(ex->found.size() == 1);
  return ex->found[0];
}

void check_v1(const fixture::Section& s, const SuperInfo& i) {
  const auto& sb = std::get<Superblock1>(i.super);
  CHECK(s.at("Magic") == "a92b4efc");
  CHECK(s.at("Version") == version_string(i));
  CHECK(s.at("Feature Map") == "0x" + hex32(i.feature_map));
  CHECK(s.at("Array UUID") == hex_uuid(i.uuid));
  const std::string name = s.at("Name");
  CHECK(name.substr(0, name.find("  (local to host")) == i.name);
  CHECK(s.at("Creation Time") == utc(i.ctime));
  CHECK(s.at("Update Time") == utc(i.utime));
  CHECK(s.at("Raid Level") == level_name(i.level));
  CHECK(fixture::leading_number(s.at("Raid Devices")) == static_cast<uint64_t>(i.raid_disks));
  CHECK(fixture::leading_number(s.at("Avail Dev Size")) == i.data_size);
  if (s.has("Used Dev Size")) {
    CHECK(fixture::leading_number(s.at("Used Dev Size")) == i.size);
  } else if (i.level > 0) {
    CHECK(i.size == i.data_size);
  }
  if (s.has("Array Size")) CHECK(fixture::leading_number(s.at("Array Size")) == array_kib(i));
  if (s.has("Data Offset")) {
    CHECK(fixture::leading_number(s.at("Data Offset")) == i.data_offset);
  } else {
    CHECK(i.data_offset == 0);
  }
  CHECK(fixture::leading_number(s.at("Super Offset")) == i.super_offset);
  CHECK(s.at("State") == (i.clean ? "clean" : "active"));
  CHECK(s.at("Device UUID") == hex_uuid(i.device_uuid));
  if (s.has("Internal Bitmap")) {
    CHECK(s.at("Internal Bitmap") == std::to_string(i.bitmap_offset) + " sectors from superblock");
    CHECK(i.bitmap.has_value());
  } else {
    CHECK(i.bitmap_offset == 0);
  }
  CHECK(s.at("Bad Block Log") == std::to_string(sb.bblog_size * 512 / 8) + " entries available at offset " +
                                     std::to_string(sb.bblog_offset) + " sectors");
  CHECK(s.at("Checksum") == hex32(i.sb_csum) + " - correct");
  CHECK(fixture::leading_number(s.at("Events")) == i.events);
  if (i.level == 5 || i.level == 6) CHECK(s.at("Layout") == r5_layout_name(i.layout));
  if (i.level == 10) CHECK(s.at("Layout") == r10_layout_name(i.layout));
  if (!s.has("Layout")) CHECK((i.level != 5 && i.level != 6 && i.level != 10));
  if (s.has("Chunk Size")) CHECK(s.at("Chunk Size") == std::to_string(i.chunk_sectors / 2) + "K");
  if (s.has("Rounding")) CHECK(s.at("Rounding") == std::to_string(i.chunk_sectors / 2) + "K");
  CHECK(s.at("Device Role") == "Active device " + std::to_string(i.role));
  CHECK(s.at("Array State").substr(0, static_cast<size_t>(i.raid_disks)) == array_state(i));
}

void check_v0(const fixture::Section& s, const SuperInfo& i) {
  const auto& sb = std::get<Superblock0>(i.super);
  char version[32];
  std::snprintf(version, sizeof version, "%u.%02u.%02u", sb.major_version, sb.minor_version, sb.patch_version);
  CHECK(s.at("Version") == version);
  char uuid[64];
  std::snprintf(uuid, sizeof uuid, "%08x:%08x:%08x:%08x", sb.set_uuid[0], sb.set_uuid[1], sb.set_uuid[2],
                sb.set_uuid[3]);
  CHECK(s.at("UUID").substr(0, 35) == uuid);
  CHECK(s.at("Creation Time") == utc(i.ctime));
  CHECK(s.at("Update Time") == utc(i.utime));
  CHECK(s.at("Raid Level") == level_name(i.level));
  CHECK(fixture::leading_number(s.at("Used Dev Size")) == i.size / 2);
  CHECK(fixture::leading_number(s.at("Array Size")) == array_kib(i));
  CHECK(fixture::leading_number(s.at("Raid Devices")) == sb.raid_disks);
  CHECK(fixture::leading_number(s.at("Total Devices")) == sb.nr_disks);
  CHECK(fixture::leading_number(s.at("Preferred Minor")) == static_cast<uint64_t>(i.md_minor));
  CHECK(s.at("State") == (i.clean ? "clean" : "active"));
  CHECK(fixture::leading_number(s.at("Active Devices")) == sb.active_disks);
  CHECK(fixture::leading_number(s.at("Working Devices")) == sb.working_disks);
  CHECK(fixture::leading_number(s.at("Failed Devices")) == sb.failed_disks);
  CHECK(fixture::leading_number(s.at("Spare Devices")) == sb.spare_disks);
  CHECK(s.at("Checksum") == hex32(i.sb_csum) + " - correct");
  CHECK(fixture::leading_number(s.at("Events")) == i.events);
  // The disk table: "this" then one row per disk.
  int rows = 0;
  for (const auto& line : s.lines) {
    unsigned n = 0, num = 0, maj = 0, min = 0, rd = 0;
    char state[64] = {};
    Disk0 d;
    if (std::sscanf(line.c_str(), " this %u %u %u %u %63[a-z ]", &num, &maj, &min, &rd, state) == 5) {
      d = sb.this_disk;
    } else if (std::sscanf(line.c_str(), " %u %u %u %u %u %63[a-z ]", &n, &num, &maj, &min, &rd, state) == 6) {
      d = sb.disks.at(n);
    } else {
      continue;
    }
    ++rows;
    CHECK(d.number == num);
    CHECK(d.major == maj);
    CHECK(d.minor == min);
    CHECK(d.raid_disk == rd);
    if (std::string(state).find("active sync") == 0) {
      CHECK(d.state == ((1u << MD_DISK_ACTIVE) | (1u << MD_DISK_SYNC)));
    }
  }
  CHECK(rows == 1 + static_cast<int>(sb.raid_disks));
}

}  // namespace

TEST_CASE("every fixture member's superblock reads as mdadm --examine printed it", "[fixtures]") {
  size_t checked = 0;
  for (const auto& c : fixture::cases()) {
    const auto sections = fixture::examine_text(c);
    const auto man = fixture::manifest(c);
    REQUIRE(static_cast<int>(sections.size()) == man.members);
    for (int m = 0; m < man.members; ++m) {
      INFO(c << " member-" << m << " (" << sections[static_cast<size_t>(m)].device << ")");
      REQUIRE(sections[static_cast<size_t>(m)].device == std::string("/dev/vd") + static_cast<char>('a' + m));
      const SuperInfo i = examine_member(c, m);
      if (i.major == 1) {
        check_v1(sections[static_cast<size_t>(m)], i);
      } else {
        check_v0(sections[static_cast<size_t>(m)], i);
      }
    }
    ++checked;
  }
  CHECK(checked == fixture::cases().size());
}

TEST_CASE("every fixture member agrees with manifest.json on level, members, role and size", "[fixtures]") {
  size_t checked = 0;
  for (const auto& c : fixture::cases()) {
    const auto man = fixture::manifest(c);
    INFO(c);
    REQUIRE(man.members == man.raid_devices);
    uint64_t data_sectors = 0;  // linear and raid0 sum what each member gives
    for (int m = 0; m < man.members; ++m) {
      const auto& mem = fixture::member(c, m);
      CHECK(mem.size == uint64_t(man.member_mib.at(static_cast<size_t>(m))) << 20);
      const SuperInfo i = examine_member(c, m);
      CHECK(level_name(i.level) == man.level);
      CHECK(i.raid_disks == man.raid_devices);
      // The members are listed in role order.
      CHECK(i.role == m);
      CHECK(i.data_offset + i.data_size <= mem.size / 512);
      uint64_t use = i.data_size;
      if (i.chunk_sectors) use -= use % i.chunk_sectors;
      data_sectors += use;
      if (i.level >= 1) CHECK(array_kib(i) * 1024 == man.array_size_bytes);
    }
    if (man.level == "linear" || man.level == "raid0") CHECK(data_sectors * 512 == man.array_size_bytes);
    ++checked;
  }
  CHECK(checked == fixture::cases().size());
}

TEST_CASE("the fixture with a bitmap has the bitmap superblock mdadm -X printed", "[fixtures][bitmap]") {
  const std::string c = "raid5-4-bitmap";
  const auto sections = fixture::examine_text(c, "kernel-examine-bitmap.txt");
  for (int m = 0; m < 4; ++m) {
    INFO("member-" << m);
    const SuperInfo i = examine_member(c, m);
    REQUIRE(i.bitmap.has_value());
    const BitmapSuper& bm = *i.bitmap;
    const auto& s = sections.at(static_cast<size_t>(m));
    CHECK(s.at("Magic") == "6d746962");
    CHECK(fixture::leading_number(s.at("Version")) == bm.version);
    CHECK(s.at("UUID") == hex_uuid(bm.uuid));
    CHECK(bm.uuid == i.uuid);
    CHECK(fixture::leading_number(s.at("Events")) == bm.events);
    CHECK(fixture::leading_number(s.at("Events Cleared")) == bm.events_cleared);
    CHECK(s.at("State") == (bm.state & kBitmapStale ? "Out of date" : "OK"));
    CHECK(s.at("Chunksize") == std::to_string(bm.chunksize >> 20) + " MB");
    CHECK(s.at("Daemon") == std::to_string(bm.daemon_sleep) + "s flush period");
    CHECK(s.at("Write Mode") == (bm.write_behind ? "Allow write behind" : "Normal"));
    CHECK(fixture::leading_number(s.at("Sync Size")) == bm.sync_size / 2);
    CHECK(bm.sync_size == i.size);
    const uint64_t bits = bitmap_chunks(bm.sync_size, bm.chunksize);
    const auto& mem = fixture::member(c, m);
    const uint64_t at = (i.super_offset + static_cast<uint64_t>(i.bitmap_offset)) * 512 + kBitmapSuperBytes;
    const auto area = mem.bytes(at, (bits + 7) / 8);
    REQUIRE(area.size() == (bits + 7) / 8);
    char expect[96];
    std::snprintf(expect, sizeof expect, "%llu bits (chunks), %llu dirty", static_cast<unsigned long long>(bits),
                  static_cast<unsigned long long>(bitmap_dirty_bits(area, bits)));
    CHECK(s.at("Bitmap").rfind(expect, 0) == 0);
  }
}

TEST_CASE("a fixture without a bitmap reports none", "[fixtures][bitmap]") {
  const SuperInfo i = examine_member("raid5-4-ls", 0);
  CHECK(i.bitmap_offset == 0);
  CHECK_FALSE(i.bitmap.has_value());
  CHECK(i.bitmap_problem.empty());
}

TEST_CASE("0.90 fields reach the summary as the kernel reads them", "[fixtures]") {
  const SuperInfo i = examine_member("raid1-2-meta0.90", 1);
  CHECK(version_string(i) == "0.90");
  CHECK(i.name.empty());
  CHECK(i.size == 4032 * 2);
  CHECK(i.dev_number == 1);
  CHECK(i.role == 1);
  CHECK(i.md_minor == 0);
  CHECK(i.resync_offset == kMaxSector);
  CHECK(i.data_offset == 0);
  CHECK(i.super_offset == ((4u << 20) - 65536) / 512);
  CHECK(i.data_size == i.super_offset);
  // sysfs `uuid` of this array, as the fixture's kernel-sysfs.txt shows it
  // (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).
  std::string hex = fixture::sysfs_value("raid1-2-meta0.90", "uuid");
  hex.erase(std::remove(hex.begin(), hex.end(), '-'), hex.end());
  REQUIRE(hex.size() == 32);
  std::array<uint8_t, 16> sysfs_uuid{};
  for (size_t k = 0; k < 16; ++k) sysfs_uuid[k] = static_cast<uint8_t>(std::stoul(hex.substr(2 * k, 2), nullptr, 16));
  CHECK(i.uuid == sysfs_uuid);
}

namespace {

// An in-memory member for probing tests.
struct Disk {
  std::vector<std::byte> bytes;
  explicit Disk(uint64_t size) : bytes(size) {}
  void put(uint64_t off, std::span<const std::byte> b) { std::copy(b.begin(), b.end(), bytes.begin() + static_cast<std::ptrdiff_t>(off)); }
  ReadAt reader() const {
    return [this](uint64_t off, std::span<std::byte> out) -> mdfs::Result<void> {
      if (off > bytes.size() || out.size() > bytes.size() - off) return mdfs::err(EIO);
      std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(off), out.size(), out.begin());
      return {};
    };
  }
};

Superblock1 small_sb1(int minor, uint64_t dev_sectors, uint64_t ctime) {
  PlaceRequest1 r;
  r.minor = minor;
  r.dev_sectors = dev_sectors;
  r.component_sectors = 4096;
  auto where = place_member1(r);
  REQUIRE(where.ok());
  NewArray1 a;
  a.set_name = "h:n";
  a.ctime = ctime;
  a.level = 1;
  a.raid_disks = 2;
  a.size = 4096;
  a.roles = {0, 1};
  return new_superblock1(a, 1, {}, *where);
}

Superblock0 small_sb0(uint32_t ctime) {
  NewArray0 a;
  a.ctime = ctime;
  a.level = 1;
  a.size_kib = 2048;
  a.raid_disks = 2;
  a.members = {{1, 9, 1, 1, (1u << MD_DISK_ACTIVE) | (1u << MD_DISK_SYNC)}};
  return new_superblock0(a, 1);
}

}  // namespace

TEST_CASE("a blank or random member has no superblock and nothing rejected", "[examine]") {
  Disk blank(4u << 20);
  auto ex = examine(blank.bytes.size(), blank.reader());
  REQUIRE(ex.ok());
  CHECK(ex->found.empty());
  CHECK(ex->rejected.empty());
  std::mt19937_64 rng(5);
  for (auto& b : blank.bytes) b = static_cast<std::byte>(rng());
  ex = examine(blank.bytes.size(), blank.reader());
  REQUIRE(ex.ok());
  CHECK(ex->found.empty());
}

TEST_CASE("examine reports the latest-created superblock first, 0.90 winning a tie", "[examine]") {
  constexpr uint64_t kSize = 4u << 20;
  for (uint32_t t0 : {100u, 200u, 300u}) {
    Disk d(kSize);
    d.put(*superblock0_offset(kSize), serialize_superblock0(small_sb0(t0)));
    d.put(8 * 512, *serialize_superblock1(small_sb1(2, kSize / 512, 200)));
    auto ex = examine(kSize, d.reader());
    REQUIRE(ex.ok());
    REQUIRE(ex->found.size() == 2);
    INFO("0.90 ctime " << t0);
    CHECK(version_string(ex->found[0]) == (t0 >= 200 ? "0.90" : "1.2"));
    CHECK(version_string(ex->found[1]) == (t0 >= 200 ? "1.2" : "0.90"));
  }
}

TEST_CASE("examine finds each 1.x minor at its own position", "[examine]") {
  constexpr uint64_t kSize = 4u << 20;
  for (int minor : {0, 1, 2}) {
    Disk d(kSize);
    auto sb = small_sb1(minor, kSize / 512, 7);
    d.put(sb.super_offset * 512, *serialize_superblock1(sb));
    auto ex = examine(kSize, d.reader());
    REQUIRE(ex.ok());
    REQUIRE(ex->found.size() == 1);
    CHECK(ex->found[0].minor == minor);
    CHECK(ex->found[0].name == "h:n");
    CHECK(ex->found[0].role == 1);
    CHECK(ex->found[0].dev_number == 1);
    auto direct = load_super(1, minor, kSize, d.reader());
    REQUIRE(direct.ok());
    CHECK(direct->super_offset == sb.super_offset);
  }
}

TEST_CASE("a damaged superblock is listed as rejected with its reason", "[examine]") {
  constexpr uint64_t kSize = 4u << 20;
  Disk d(kSize);
  auto b = *serialize_superblock1(small_sb1(2, kSize / 512, 7));
  b[400] ^= std::byte{1};
  d.put(8 * 512, b);
  auto ex = examine(kSize, d.reader());
  REQUIRE(ex.ok());
  CHECK(ex->found.empty());
  REQUIRE(ex->rejected.size() == 1);
  CHECK(ex->rejected[0].rfind("1.2: superblock checksum mismatch (stored 0x", 0) == 0);
  std::string why;
  CHECK(load_super(1, 2, kSize, d.reader(), &why).error() == EINVAL);
  CHECK(why.rfind("superblock checksum mismatch", 0) == 0);
  CHECK(load_super(2, 0, kSize, d.reader(), &why).error() == EINVAL);
  CHECK(why == "unknown metadata version 2.0");
}

TEST_CASE("a failing read is answered with its errno", "[examine]") {
  ReadAt broken = [](uint64_t, std::span<std::byte>) -> mdfs::Result<void> { return mdfs::err(EIO); };
  CHECK(examine(4u << 20, broken).error() == EIO);
  CHECK(load_super(1, 2, 4u << 20, broken).error() == EIO);
}

TEST_CASE("a member too small for any superblock examines to nothing", "[examine]") {
  Disk d(8192);
  auto ex = examine(d.bytes.size(), d.reader());
  REQUIRE(ex.ok());
  CHECK(ex->found.empty());
  Disk tiny(0);
  CHECK(examine(0, tiny.reader()).ok());
}
