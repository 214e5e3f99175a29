// Superblocks made by new_superblock1/0 on blank member files, read back
// by the real `mdadm --examine` (tools/install-deps installs it; without it these fail):
// mdadm must find them valid and print the values intended.
#include <fcntl.h>
#include <linux/raid/md_p.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "fixtures.h"
#include "format/bitmap.h"
#include "format/super_info.h"

using namespace mdfs::format;

namespace {

bool have_mdadm() { return std::system("command -v mdadm >/dev/null 2>&1") == 0; }

class TempDir {
 public:
  TempDir() {
    std::string t = (std::filesystem::temp_directory_path() / "mdfs-format-XXXXXX").string();
    if (mkdtemp(t.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = t;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A blank (sparse) member file of `bytes` with `data` written at `offset`.
void write_member(const std::filesystem::path& p, uint64_t bytes, uint64_t offset, std::span<const std::byte> data) {
  const int fd = ::open(p.c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::ftruncate(fd, static_cast<off_t>(bytes)) == 0);
  REQUIRE(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)) == static_cast<ssize_t>(data.size()));
  ::close(fd);
}

fixture::Section run(const std::string& args) {
  const std::string cmd = "mdadm " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  REQUIRE(p);
  std::string out = "== mdadm\n";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p.get())) > 0) out.append(buf, n);
  INFO(out);
  auto sections = fixture::parse_examine(out);
  REQUIRE(sections.size() == 1);
  return sections[0];
}

const std::array<uint8_t, 16> kUuid = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                       0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe};

std::array<uint8_t, 16> dev_uuid(int i) {
  auto u = kUuid;
  u[15] = static_cast<uint8_t>(i);
  return u;
}

}  // namespace

TEST_CASE("mdadm --examine accepts a new 1.2 raid5 left-symmetric 64K member set", "[mdadm]") {
  REQUIRE(have_mdadm());  // tools/install-deps installs it: missing is a failure, not a skip
  TempDir tmp;
  constexpr uint64_t kBytes = 4u << 20;
  PlaceRequest1 req;
  req.minor = 2;
  req.dev_sectors = kBytes / 512;
  req.chunk_sectors = 128;
  req.component_sectors = mdadm_avail_sectors1(2, req.dev_sectors, mdadm_data_offset1(2, req.dev_sectors, 128));
  auto where = place_member1(req);
  REQUIRE(where.ok());
  NewArray1 a;
  a.set_uuid = kUuid;
  a.set_name = "mdfs:test";
  a.ctime = 1800000000;
  a.level = 5;
  a.layout = 2;
  a.chunk_sectors = 128;
  a.raid_disks = 4;
  a.size = req.component_sectors;
  a.roles = {0, 1, 2, 3};
  for (int i = 0; i < 4; ++i) {
    auto sb = new_superblock1(a, static_cast<uint32_t>(i), dev_uuid(i), *where);
    auto bytes = serialize_superblock1(sb);
    REQUIRE(bytes.ok());
    const auto file = tmp.path() / ("m" + std::to_string(i));
    write_member(file, kBytes, where->super_offset * 512, *bytes);
    const auto s = run("--examine " + file.string());
    INFO("member " << i);
    CHECK(s.at("Version") == "1.2");
    CHECK(s.at("Feature Map") == "0x0");
    CHECK(s.at("Array UUID") == "01234567:89abcdef:10325476:98badcfe");
    CHECK(s.at("Name").rfind("mdfs:test", 0) == 0);
    CHECK(s.at("Raid Level") == "raid5");
    CHECK(s.at("Raid Devices") == "4");
    CHECK(fixture::leading_number(s.at("Avail Dev Size")) == 6144);
    CHECK(fixture::leading_number(s.at("Array Size")) == 9216);
    CHECK(fixture::leading_number(s.at("Data Offset")) == 2048);
    CHECK(fixture::leading_number(s.at("Super Offset")) == 8);
    CHECK(s.at("State") == "clean");
    CHECK(s.at("Bad Block Log") == "512 entries available at offset 16 sectors");
    CHECK(s.at("Checksum").find(" - correct") != std::string::npos);
    CHECK(s.at("Events") == "0");
    CHECK(s.at("Layout") == "left-symmetric");
    CHECK(s.at("Chunk Size") == "64K");
    CHECK(s.at("Device Role") == "Active device " + std::to_string(i));
    CHECK(s.at("Array State").rfind("AAAA ", 0) == 0);
  }
}

TEST_CASE("mdadm --examine and -X accept a new 1.2 raid5 member with an internal bitmap", "[mdadm][bitmap]") {
  REQUIRE(have_mdadm());  // tools/install-deps installs it: missing is a failure, not a skip
  TempDir tmp;
  constexpr uint64_t kBytes = 8u << 20;
  PlaceRequest1 req;
  req.minor = 2;
  req.dev_sectors = kBytes / 512;
  req.chunk_sectors = 128;
  req.component_sectors = 14336;
  const uint32_t chunk =
      mdadm_bitmap_chunk(req.component_sectors, std::min<uint64_t>(mdadm_bitmap_space(req.component_sectors), 256) * 512);
  req.bitmap_sectors = static_cast<uint32_t>(bitmap_sectors(req.component_sectors, chunk));
  auto where = place_member1(req);
  REQUIRE(where.ok());
  NewArray1 a;
  a.set_uuid = kUuid;
  a.set_name = "mdfs:bm";
  a.ctime = 1800000000;
  a.level = 5;
  a.layout = 2;
  a.chunk_sectors = 128;
  a.raid_disks = 4;
  a.size = req.component_sectors;
  a.roles = {0, 1, 2, 3};
  auto sb = serialize_superblock1(new_superblock1(a, 0, dev_uuid(0), *where));
  REQUIRE(sb.ok());
  // The bitmap block: its superblock, then every bit set (as mdadm writes
  // a new bitmap) to the end of its 4 KiB.
  auto bm = serialize_bitmap_super(new_bitmap_super(kUuid, req.component_sectors, chunk));
  REQUIRE(bm.ok());
  std::vector<std::byte> block(req.bitmap_sectors * 512, std::byte{0xff});
  std::copy(bm->begin(), bm->end(), block.begin());
  const auto file = tmp.path() / "m0";
  write_member(file, kBytes, where->super_offset * 512, *sb);
  write_member(file, kBytes, (where->super_offset + static_cast<uint64_t>(where->bitmap_offset)) * 512, block);

  const auto s = run("--examine " + file.string());
  CHECK(s.at("Feature Map") == "0x1");
  CHECK(s.at("Internal Bitmap") == "8 sectors from superblock");
  CHECK(s.at("Bad Block Log") == "512 entries available at offset 16 sectors");
  CHECK(s.at("Checksum").find(" - correct") != std::string::npos);
  // On a regular file mdadm -X reads an external bitmap file from offset
  // 0, so give it the bitmap block on its own.
  const auto bitmap_file = tmp.path() / "bitmap";
  write_member(bitmap_file, block.size(), 0, block);
  const auto x = run("-X " + bitmap_file.string());
  CHECK(x.at("Magic") == "6d746962");
  CHECK(x.at("Version") == "4");
  CHECK(x.at("UUID") == "01234567:89abcdef:10325476:98badcfe");
  CHECK(x.at("Chunksize") == "64 MB");
  CHECK(x.at("Daemon") == "5s flush period");
  CHECK(fixture::leading_number(x.at("Sync Size")) == 7168);
  CHECK(x.at("Bitmap").rfind("1 bits (chunks), 1 dirty", 0) == 0);

  // And our own reader agrees.
  auto found = examine(kBytes, [&](uint64_t off, std::span<std::byte> out) -> mdfs::Result<void> {
    const int fd = ::open(file.c_str(), O_RDONLY);
    const auto n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(off));
    ::close(fd);
    if (n != static_cast<ssize_t>(out.size())) return mdfs::err(EIO);
    return {};
  });
  REQUIRE(found.ok());
  REQUIRE(found->found.size() == 1);
  CHECK(found->found[0].bitmap.has_value());
}

TEST_CASE("mdadm --examine accepts a new 1.0 raid1 member set", "[mdadm]") {
  REQUIRE(have_mdadm());  // tools/install-deps installs it: missing is a failure, not a skip
  TempDir tmp;
  constexpr uint64_t kBytes = 4u << 20;
  PlaceRequest1 req;
  req.minor = 0;
  req.dev_sectors = kBytes / 512;
  // mdadm rounds raid1's component size down to 64 KiB.
  req.component_sectors = mdadm_avail_sectors1(0, req.dev_sectors, 0) / 128 * 128;
  auto where = place_member1(req);
  REQUIRE(where.ok());
  NewArray1 a;
  a.set_uuid = kUuid;
  a.set_name = "mdfs:mirror";
  a.ctime = 1800000000;
  a.level = 1;
  a.raid_disks = 2;
  a.size = req.component_sectors;
  a.roles = {0, 1};
  for (int i = 0; i < 2; ++i) {
    auto bytes = serialize_superblock1(new_superblock1(a, static_cast<uint32_t>(i), dev_uuid(i), *where));
    REQUIRE(bytes.ok());
    const auto file = tmp.path() / ("m" + std::to_string(i));
    write_member(file, kBytes, where->super_offset * 512, *bytes);
    const auto s = run("--examine " + file.string());
    INFO("member " << i);
    CHECK(s.at("Version") == "1.0");
    CHECK(s.at("Raid Level") == "raid1");
    CHECK(fixture::leading_number(s.at("Avail Dev Size")) == 8160);
    CHECK(fixture::leading_number(s.at("Used Dev Size")) == 8064);
    CHECK(fixture::leading_number(s.at("Super Offset")) == 8176);
    CHECK_FALSE(s.has("Data Offset"));
    CHECK(s.at("Bad Block Log") == "512 entries available at offset -8 sectors");
    CHECK(s.at("Checksum").find(" - correct") != std::string::npos);
    CHECK(s.at("Device Role") == "Active device " + std::to_string(i));
    CHECK(s.at("Array State").rfind("AA ", 0) == 0);
  }
}

TEST_CASE("mdadm --examine accepts a new 0.90 raid1 member set", "[mdadm]") {
  REQUIRE(have_mdadm());  // tools/install-deps installs it: missing is a failure, not a skip
  TempDir tmp;
  constexpr uint64_t kBytes = 4u << 20;
  NewArray0 a;
  a.set_uuid = {0x01234567, 0x89abcdef, 0x10325476, 0x98badcfe};
  a.ctime = 1800000000;
  a.level = 1;
  a.size_kib = static_cast<uint32_t>(*superblock0_offset(kBytes) / 1024);
  a.raid_disks = 2;
  a.md_minor = 3;
  a.events = 1;
  const uint32_t sync = (1u << MD_DISK_ACTIVE) | (1u << MD_DISK_SYNC);
  a.members = {{0, 9, 100, 0, sync}, {1, 9, 101, 1, sync}};
  for (uint32_t i = 0; i < 2; ++i) {
    const auto bytes = serialize_superblock0(new_superblock0(a, i));
    const auto file = tmp.path() / ("m" + std::to_string(i));
    write_member(file, kBytes, *superblock0_offset(kBytes), bytes);
    const auto s = run("--examine " + file.string());
    INFO("member " << i);
    CHECK(s.at("Version") == "0.90.00");
    CHECK(s.at("UUID").rfind("01234567:89abcdef:10325476:98badcfe", 0) == 0);
    CHECK(s.at("Raid Level") == "raid1");
    CHECK(fixture::leading_number(s.at("Used Dev Size")) == 4032);
    CHECK(s.at("Raid Devices") == "2");
    CHECK(s.at("Total Devices") == "2");
    CHECK(s.at("Preferred Minor") == "3");
    CHECK(s.at("State") == "clean");
    CHECK(s.at("Active Devices") == "2");
    CHECK(s.at("Failed Devices") == "0");
    CHECK(s.at("Checksum").find(" - correct") != std::string::npos);
    CHECK(s.at("Events") == "1");
    bool this_row = false;
    for (const auto& line : s.lines) {
      unsigned num, maj, min, rd;
      if (std::sscanf(line.c_str(), " this %u %u %u %u", &num, &maj, &min, &rd) == 4) {
        this_row = true;
        CHECK(num == i);
        CHECK(maj == 9);
        CHECK(min == 100 + i);
        CHECK(rd == i);
        CHECK(line.find("active sync") != std::string::npos);
      }
    }
    CHECK(this_row);
  }
}
