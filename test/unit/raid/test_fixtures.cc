// The personalities against arrays the kernel made (test/fixtures/kernel-md):
// the size, every sector's content, every copy, the sha256, mdstat's words,
// and the degraded assembly the kernel also read back.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "disks.h"
#include "mdfs/personality.h"
#include "raid/raid10_layout.h"

using namespace mdfs;
using namespace mdfs::raid;
using namespace mdfs::raid::test;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path fixtures_root() {
  const char* env = std::getenv("MDFS_FIXTURES");
  return env ? fs::path(env) : fs::path(MDFS_FIXTURES_DIR);
}

// One member's lines of kernel-examine.txt.
struct Examine {
  std::string version;
  std::string level;
  int raid_disks = 0;
  uint64_t data_offset = 0;  // sectors
  uint64_t avail = 0;        // sectors; 0 when not printed (0.90)
  std::optional<uint64_t> used;  // sectors
  uint32_t chunk_kib = 0;
  int layout = 0;
};

// The value of "NAME : VALUE" on a line of its own (std::regex trips
// GCC 12's -Wmaybe-uninitialized under the sanitizers; plain finds do).
std::optional<std::string> field(const std::string& block, const std::string& name) {
  size_t pos = 0;
  while ((pos = block.find(name + " : ", pos)) != std::string::npos) {
    size_t bol = block.rfind('\n', pos);
    bool own_line = bol != std::string::npos &&
                    block.find_first_not_of(' ', bol + 1) == pos;
    pos += name.size() + 3;
    if (!own_line) continue;
    return block.substr(pos, block.find('\n', pos) - pos);
  }
  return std::nullopt;
}

std::vector<Examine> parse_examine(const std::string& text) {
  std::vector<Examine> out;
  size_t pos = 0;
  while ((pos = text.find("== /dev/", pos)) != std::string::npos) {
    size_t end = text.find("== /dev/", pos + 1);
    std::string block = "\n" + text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    pos += 1;
    Examine e;
    e.version = field(block, "Version").value_or("");
    e.level = field(block, "Raid Level").value_or("");
    e.raid_disks = std::stoi(field(block, "Raid Devices").value_or("0"));
    if (auto v = field(block, "Data Offset")) e.data_offset = std::stoull(*v);
    if (auto v = field(block, "Avail Dev Size")) e.avail = std::stoull(*v);
    if (auto v = field(block, "Used Dev Size")) {
      // 1.x prints sectors; 0.90 prints KiB without a unit.
      uint64_t n = std::stoull(*v);
      e.used = v->find("sectors") != std::string::npos ? n : n * 2;
    }
    if (auto v = field(block, "Chunk Size")) e.chunk_kib = std::stoul(*v);
    if (auto v = field(block, "Rounding")) e.chunk_kib = std::stoul(*v);
    if (auto v = field(block, "Layout")) {
      int n = std::stoi(v->substr(v->find('=') + 1));
      if (v->rfind("near", 0) == 0) e.layout = n | 1 << 8;
      if (v->rfind("far", 0) == 0) e.layout = 1 | n << 8;
      if (v->rfind("offset", 0) == 0) e.layout = 1 | n << 8 | 1 << 16;
    }
    out.push_back(e);
  }
  return out;
}

int level_number(const std::string& name) {
  if (name == "linear") return LEVEL_LINEAR;
  if (name == "raid0") return 0;
  if (name == "raid1") return 1;
  if (name == "raid10") return 10;
  return LEVEL_NONE;
}

// The level-specific words of an mdstat "blocks" line: what follows
// "super X.Y" (or "blocks" for 0.90, which prints no super).
struct MdstatLine {
  uint64_t blocks = 0;
  std::string status;
};

MdstatLine parse_mdstat(const std::string& text) {
  size_t at = text.find(" blocks");
  REQUIRE(at != std::string::npos);
  size_t bol = text.rfind('\n', at) + 1;
  MdstatLine line;
  line.blocks = std::stoull(text.substr(bol, at - bol));
  size_t rest = at + 7;
  if (text.compare(rest, 7, " super ") == 0) rest = text.find(' ', rest + 7);
  line.status = text.substr(rest, text.find('\n', rest) - rest);
  return line;
}

struct Manifest {
  uint64_t array_size_bytes = 0;
  std::string sha256;
  std::vector<int> missing_roles;
};

// The text after `"key": ` in the manifest's JSON (its first occurrence).
std::string json_value(const std::string& text, const std::string& key) {
  size_t at = text.find("\"" + key + "\": ");
  if (at == std::string::npos) return "";
  at += key.size() + 4;
  return text.substr(at, text.find_first_of(",\n", at) - at);
}

Manifest parse_manifest(const std::string& text) {
  Manifest m;
  m.array_size_bytes = std::stoull(json_value(text, "array_size_bytes"));
  std::string sha = json_value(text, "sha256");
  REQUIRE(sha.size() == 66);
  m.sha256 = sha.substr(1, 64);
  size_t at = text.find("\"missing_roles\": [");
  if (at != std::string::npos) {
    at = text.find('[', at) + 1;
    std::stringstream list(text.substr(at, text.find(']', at) - at));
    std::string item;
    while (std::getline(list, item, ',')) m.missing_roles.push_back(std::stoi(item));
  }
  return m;
}

// A fixture's members, decompressed into a temporary folder that goes away
// with it.
class FixtureArray {
 public:
  explicit FixtureArray(const std::string& name) : src_(fixtures_root() / name) {
    char tmpl[] = "/tmp/mdfs-raid-fixture-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir_ = tmpl;
    manifest = parse_manifest(slurp(src_ / "manifest.json"));
    examine = parse_examine(slurp(src_ / "kernel-examine.txt"));
    REQUIRE(!examine.empty());
    for (int i = 0; i < examine[0].raid_disks; ++i) {
      fs::path img = dir_ / ("member-" + std::to_string(i) + ".img");
      std::string cmd = "xz -dc '" + (src_ / ("member-" + std::to_string(i) + ".img.xz")).string() + "' > '" +
                        img.string() + "'";
      REQUIRE(std::system(cmd.c_str()) == 0);
      images.push_back(img);
    }
  }
  ~FixtureArray() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  FixtureArray(const FixtureArray&) = delete;
  FixtureArray& operator=(const FixtureArray&) = delete;

  const fs::path& source() const { return src_; }
  const fs::path& dir() const { return dir_; }

  // The member data size: Avail Dev Size for 1.x; for 0.90 the superblock
  // sits in the last 64 KiB-aligned 64 KiB and the data runs up to it.
  uint64_t member_sectors(size_t role) const {
    const Examine& e = examine[role];
    if (e.avail) return e.avail;
    uint64_t sectors = fs::file_size(images[role]) / 512;
    return (sectors & ~uint64_t{127}) - 128;
  }

  Geometry geometry() const {
    const Examine& e = examine[0];
    Geometry g;
    g.level = level_number(e.level);
    g.layout = e.layout;
    g.chunk_sectors = e.chunk_kib * 2;
    g.raid_disks = e.raid_disks;
    for (size_t r = 0; r < images.size(); ++r) g.member_sectors.push_back(member_sectors(r));
    if (e.used && *e.used) g.dev_sectors = *e.used;
    return g;
  }

  Manifest manifest;
  std::vector<Examine> examine;
  std::vector<fs::path> images;

 private:
  fs::path src_;
  fs::path dir_;
};

std::string sha256_of_file(const fs::path& p) {
  std::string cmd = "sha256sum '" + p.string() + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(cmd.c_str(), "r"), ::pclose);
  REQUIRE(pipe);
  char buf[65] = {};
  REQUIRE(std::fread(buf, 1, 64, pipe.get()) == 64);
  return std::string(buf, 64);
}

// The first differing sector of `got` (array bytes from `offset`), or -1.
int64_t first_wrong_sector(uint64_t offset, std::span<const std::byte> got) {
  std::vector<std::byte> want(got.size());
  fill_pattern(offset, want);
  for (size_t i = 0; i < got.size(); ++i)
    if (got[i] != want[i]) return int64_t((offset + i) / kSectorSize);
  return -1;
}

// Reads the whole array through the personality, in 1 MiB requests and
// then in odd-sized unaligned ones, and through map_read's extents.
void check_contents(Personality& p, const fs::path& dump) {
  const uint64_t size = p.array_sectors() * kSectorSize;
  std::vector<std::byte> all(size);
  for (uint64_t off = 0; off < size; off += 1 << 20) {
    size_t n = std::min<uint64_t>(1 << 20, size - off);
    REQUIRE(p.read(off, std::span(all).subspan(off, n)) == 0);
  }
  CHECK(first_wrong_sector(0, all) == -1);

  std::vector<std::byte> buf(200003);
  for (uint64_t off = 77; off < size; off += buf.size()) {
    size_t n = std::min<uint64_t>(buf.size(), size - off);
    REQUIRE(p.read(off, std::span(buf).first(n)) == 0);
    REQUIRE(first_wrong_sector(off, std::span(buf).first(n)) == -1);
  }

  std::vector<Extent> extents;
  REQUIRE(p.map_read(333, size - 333 - 1, extents));
  uint64_t pos = 333;
  for (const Extent& e : extents) {
    std::vector<std::byte> piece(e.length);
    REQUIRE(::pread(e.fd, piece.data(), e.length, off_t(e.file_offset)) == ssize_t(e.length));
    REQUIRE(first_wrong_sector(pos, piece) == -1);
    pos += e.length;
  }
  CHECK(pos == size - 1);

  if (!dump.empty()) {
    std::ofstream out(dump, std::ios::binary);
    out.write(reinterpret_cast<const char*>(all.data()), std::streamsize(all.size()));
  }
}

struct Running {
  std::vector<std::unique_ptr<FileDisk>> disks;
  RecordingEvents events;
  std::unique_ptr<Personality> pers;
};

std::unique_ptr<Running> start(const FixtureArray& fx, const std::vector<int>& missing = {}) {
  auto run = std::make_unique<Running>();
  Geometry geo = fx.geometry();
  std::vector<Disk*> roles;
  for (size_t r = 0; r < fx.images.size(); ++r) {
    run->disks.push_back(std::make_unique<FileDisk>(fx.images[r], fx.examine[r].data_offset * kSectorSize));
    REQUIRE(run->disks.back()->ok());
    bool gone = std::find(missing.begin(), missing.end(), int(r)) != missing.end();
    roles.push_back(gone ? nullptr : run->disks.back().get());
    if (gone) geo.member_sectors[r] = 0;
  }
  const PersonalityType* type = find_personality(geo.level);
  REQUIRE(type != nullptr);
  auto size = type->array_sectors(geo);
  REQUIRE(size.ok());
  CHECK(*size * kSectorSize == fx.manifest.array_size_bytes);
  auto pers = type->run(geo, roles, run->events);
  REQUIRE(pers.ok());
  run->pers = std::move(*pers);
  return run;
}

// Every copy the layout names holds the sector it should, read straight
// from the member images.
void check_every_copy(const FixtureArray& fx, const Geometry& geo, uint64_t array_sectors) {
  std::vector<FileDisk*> raw;
  std::vector<std::unique_ptr<FileDisk>> own;
  for (size_t r = 0; r < fx.images.size(); ++r) {
    own.push_back(std::make_unique<FileDisk>(fx.images[r], fx.examine[r].data_offset * kSectorSize));
    raw.push_back(own.back().get());
  }
  std::vector<std::byte> got(kSectorSize);
  std::vector<std::byte> want(kSectorSize);
  if (geo.level == 1) {
    for (FileDisk* d : raw)
      for (uint64_t s = 0; s < array_sectors; ++s) {
        REQUIRE(d->read(s * kSectorSize, got) == 0);
        fill_pattern(s * kSectorSize, want);
        REQUIRE((got == want));
      }
    return;
  }
  auto l = Raid10Layout::make(geo.raid_disks, geo.layout, geo.chunk_sectors, component_sectors(geo));
  REQUIRE(l.ok());
  std::vector<Copy> copies(l->copies());
  for (uint64_t s = 0; s < array_sectors; ++s) {
    l->map(s, copies);
    fill_pattern(s * kSectorSize, want);
    for (const Copy& c : copies) {
      REQUIRE(raw[c.role]->read(c.sector * kSectorSize, got) == 0);
      INFO("sector " << s << " copy on role " << c.role);
      REQUIRE((got == want));
    }
  }
}

void check_fixture(const std::string& name) {
  fs::path root = fixtures_root() / name;
  if (!fs::exists(root / "manifest.json")) FAIL("fixture " << name << " not found under " << fixtures_root());
  FixtureArray fx(name);
  auto run = start(fx);
  Personality& p = *run->pers;
  CHECK(p.array_sectors() * kSectorSize == fx.manifest.array_size_bytes);
  CHECK(p.degraded() == 0);

  MdstatLine line = parse_mdstat(slurp(fx.source() / "kernel-mdstat.txt"));
  CHECK(line.blocks == p.array_sectors() / 2);
  CHECK(p.mdstat_status() == line.status);

  fs::path dump = fx.dir() / "array.img";
  check_contents(p, dump);
  CHECK(sha256_of_file(dump) == fx.manifest.sha256);
  if (fx.geometry().level >= 1) check_every_copy(fx, fx.geometry(), p.array_sectors());
  CHECK(run->events.taken().empty());

  if (!fx.manifest.missing_roles.empty()) {
    auto degraded = start(fx, fx.manifest.missing_roles);
    Personality& d = *degraded->pers;
    CHECK(d.degraded() == int(fx.manifest.missing_roles.size()));
    MdstatLine dline = parse_mdstat(slurp(fx.source() / "kernel-degraded-mdstat.txt"));
    CHECK(d.mdstat_status() == dline.status);
    fs::path ddump = fx.dir() / "degraded.img";
    check_contents(d, ddump);
    CHECK(sha256_of_file(ddump) == fx.manifest.sha256);
    // Nothing was read from the missing members.
    for (int r : fx.manifest.missing_roles) CHECK(degraded->disks[r]->reads == 0);
  }
}

}  // namespace

TEST_CASE("linear-2: the kernel's linear array, sector by sector", "[fixture][linear]") { check_fixture("linear-2"); }
TEST_CASE("raid0-3-64k: the kernel's raid0 array, sector by sector", "[fixture][raid0]") { check_fixture("raid0-3-64k"); }
TEST_CASE("raid1-2: the kernel's raid1 array, whole and degraded", "[fixture][raid1]") { check_fixture("raid1-2"); }
TEST_CASE("raid1-3: the kernel's three-way mirror", "[fixture][raid1]") { check_fixture("raid1-3"); }
TEST_CASE("raid1-2-meta1.0: data at sector 0, size from the superblock", "[fixture][raid1]") {
  check_fixture("raid1-2-meta1.0");
}
TEST_CASE("raid1-2-meta0.90: data at sector 0, size from the 0.90 superblock", "[fixture][raid1]") {
  check_fixture("raid1-2-meta0.90");
}
TEST_CASE("raid10-4-n2: near copies, whole and degraded", "[fixture][raid10]") { check_fixture("raid10-4-n2"); }
TEST_CASE("raid10-4-f2: far copies, whole and degraded", "[fixture][raid10]") { check_fixture("raid10-4-f2"); }
TEST_CASE("raid10-4-o2: offset copies", "[fixture][raid10]") { check_fixture("raid10-4-o2"); }
