// The v1.x superblock codec: fixtures byte for byte, mdadm's placement of a
// new member, and rejection of damaged input.
#include "format/superblock1.h"

#include <linux/raid/md_p.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdio>
#include <random>
#include <set>

#include "fixtures.h"
#include "format/bitmap.h"
#include "format/bytes.h"
#include "format/super_info.h"

using namespace mdfs::format;

namespace {

struct Found {
  std::string name;
  int member;
  int minor;
  uint64_t dev_sectors;
  std::vector<std::byte> raw;  // the 4 KiB read at the superblock position
};

// Every v1 superblock among the fixtures, by where examine() found it.
const std::vector<Found>& v1_fixtures() {
  static const std::vector<Found> all = [] {
    std::vector<Found> out;
    for (const auto& c : fixture::cases()) {
      const auto man = fixture::manifest(c);
      for (int m = 0; m < man.members; ++m) {
        const auto& mem = fixture::member(c, m);
        auto ex = examine(mem.size, mem.reader());
        if (!ex || ex->found.empty() || ex->found[0].major != 1) continue;
        const auto& i = ex->found[0];
        out.push_back({c, m, i.minor, mem.size / 512, mem.bytes(i.super_offset * 512, kSb1ReadBytes)});
      }
    }
    return out;
  }();
  return all;
}

const Found& ls_member0() {
  for (const auto& f : v1_fixtures()) {
    if (f.name == "raid5-4-ls" && f.member == 0) return f;
  }
  throw std::runtime_error("raid5-4-ls missing");
}

void put32(std::vector<std::byte>& b, size_t off, uint32_t v) { bytes::store<uint32_t>(b, off, v); }
void fix_checksum(std::vector<std::byte>& b) {
  const uint32_t max_dev = bytes::load<uint32_t>(b, offsetof(mdp_superblock_1, max_dev));
  if (max_dev > kSb1MaxDev) return;  // no checksum to fix: the table cannot fit
  put32(b, offsetof(mdp_superblock_1, sb_csum), superblock1_checksum(b, max_dev));
}

std::string reject(const std::vector<std::byte>& b, int minor, uint64_t dev_sectors) {
  std::string why;
  auto sb = parse_superblock1(b, minor, dev_sectors, &why);
  REQUIRE_FALSE(sb.ok());
  CHECK(sb.error() == EINVAL);
  CHECK_FALSE(why.empty());
  return why;
}

}  // namespace

TEST_CASE("the fixtures hold v1 superblocks of all three minors", "[superblock1][fixtures]") {
  std::set<int> minors;
  for (const auto& f : v1_fixtures()) minors.insert(f.minor);
  CHECK(minors == std::set<int>{0, 1, 2});
  CHECK(v1_fixtures().size() >= 60);
}

TEST_CASE("every fixture v1 superblock serializes back to its exact bytes", "[superblock1][fixtures]") {
  for (const auto& f : v1_fixtures()) {
    INFO(f.name << " member-" << f.member);
    std::string why;
    auto sb = parse_superblock1(f.raw, f.minor, f.dev_sectors, &why);
    REQUIRE(sb.ok());
    auto out = serialize_superblock1(*sb);
    REQUIRE(out.ok());
    REQUIRE(out->size() == superblock1_bytes(static_cast<uint32_t>(sb->dev_roles.size())));
    CHECK(std::equal(out->begin(), out->end(), f.raw.begin()));
    // The rest of the 4 KiB block is untouched zeroes in the fixtures.
    CHECK(std::all_of(f.raw.begin() + static_cast<std::ptrdiff_t>(out->size()), f.raw.end(),
                      [](std::byte x) { return x == std::byte{0}; }));
  }
}

TEST_CASE("the superblock position follows the minor version", "[superblock1]") {
  CHECK(*superblock1_offset(0, 8192) == 8176);  // checked: raid1-2-meta1.0
  CHECK(*superblock1_offset(0, 8195) == 8176);
  CHECK(*superblock1_offset(0, 8200) == 8184);
  CHECK(*superblock1_offset(1, 8192) == 0);
  CHECK(*superblock1_offset(2, 8192) == 8);
  CHECK(superblock1_offset(3, 8192).error() == EINVAL);
  CHECK(superblock1_offset(2, 23).error() == EINVAL);
}

TEST_CASE("mdadm's placement reproduces every fixture superblock byte for byte", "[superblock1][fixtures]") {
  // What was checked: data_offset 2048 (1.1/1.2, 4 and 8 MiB members, 64K
  // chunk or none), data_size, bad block log at +8 (no bitmap space for
  // linear/raid0 whose size is 0), +16, or -8 (1.0), bitmap at +8 for 1.2,
  // max_dev 128, unused roles spare. Events, utime and resync_offset are
  // the kernel's later updates, copied from the fixture.
  for (const auto& f : v1_fixtures()) {
    INFO(f.name << " member-" << f.member);
    auto got = parse_superblock1(f.raw, f.minor, f.dev_sectors);
    REQUIRE(got.ok());
    const Superblock1& want = *got;

    PlaceRequest1 req;
    req.minor = f.minor;
    req.dev_sectors = f.dev_sectors;
    req.component_sectors = want.size;
    req.chunk_sectors = want.chunksize;
    if (want.feature_map & MD_FEATURE_BITMAP_OFFSET) {
      const uint64_t room = std::min<uint64_t>(mdadm_bitmap_space(want.size), 256) * 512;
      const uint32_t chunk = mdadm_bitmap_chunk(want.size, room);
      CHECK(chunk == 64u << 20);
      req.bitmap_sectors = static_cast<uint32_t>(bitmap_sectors(want.size, chunk));
    }
    auto where = place_member1(req);
    REQUIRE(where.ok());
    if (f.minor != 0) {
      CHECK(mdadm_data_offset1(f.minor, f.dev_sectors, want.chunksize) == want.data_offset);
      CHECK(mdadm_avail_sectors1(f.minor, f.dev_sectors, want.data_offset) == want.data_size);
    } else {
      // mdadm offered 8160 sectors and rounded raid1's size to 64 KiB.
      CHECK(mdadm_avail_sectors1(0, f.dev_sectors, 0) == 8160);
      CHECK(want.size == 8160 / 128 * 128);
    }

    NewArray1 a;
    a.set_uuid = want.set_uuid;
    a.set_name = want.set_name;
    a.ctime = want.ctime;
    a.level = want.level;
    a.layout = want.layout;
    a.chunk_sectors = want.chunksize;
    a.raid_disks = want.raid_disks;
    a.size = want.size;
    a.clean = true;
    for (uint32_t r = 0; r < want.raid_disks; ++r) a.roles.push_back(static_cast<uint16_t>(r));
    Superblock1 made = new_superblock1(a, want.dev_number, want.device_uuid, *where);
    made.events = want.events;
    made.utime = want.utime;
    made.resync_offset = want.resync_offset;
    made.sb_csum = want.sb_csum;
    CHECK(made == want);
    auto bytes_made = serialize_superblock1(made);
    REQUIRE(bytes_made.ok());
    CHECK(std::equal(bytes_made->begin(), bytes_made->end(), f.raw.begin()));
  }
}

TEST_CASE("mdadm's data offset grows with the member up to 128 MiB of headroom", "[superblock1]") {
  // Derived from mdadm 4.2's rule (not from fixtures beyond 4-8 MiB).
  CHECK(mdadm_data_offset1(2, 8192, 128) == 2048);
  CHECK(mdadm_data_offset1(2, 16384, 128) == 2048);
  CHECK(mdadm_data_offset1(1, 8192, 0) == 2048);
  CHECK(mdadm_data_offset1(0, 8192, 128) == 0);
  // A 512 KiB chunk keeps at least two chunks of headroom.
  CHECK(mdadm_data_offset1(2, 200 * 2048, 1024) == 4096);
  // 1 TiB raid1 member: the full 128 MiB, plus 64 KiB of bitmap space and
  // 12 KiB, rounded up to 1 MiB: 129 MiB.
  CHECK(mdadm_data_offset1(2, uint64_t{1} << 31, 0) == 264192);
  // Headroom at most about 1/1024 of the member: 64 GiB gets 64 MiB.
  CHECK(mdadm_data_offset1(2, uint64_t{64} << 21, 0) == (64 + 1) * 2048);
  CHECK(mdadm_bitmap_space(100) == 0);
  CHECK(mdadm_bitmap_space(8192) == 8);
  CHECK(mdadm_bitmap_space((uint64_t{8} << 21) + 9) == 128);
  CHECK(mdadm_bitmap_space((uint64_t{200} << 21) + 128) == 256);
}

TEST_CASE("a member too small for its component is refused a placement", "[superblock1]") {
  PlaceRequest1 r;
  r.minor = 2;
  r.dev_sectors = 8192;
  r.component_sectors = 6145;
  CHECK(place_member1(r).error() == EINVAL);
  r.component_sectors = 6144;
  CHECK(place_member1(r).ok());
  r.minor = 0;
  // mdadm gives up bitmap and bad block log space before refusing.
  r.component_sectors = 8170;
  auto squeezed = place_member1(r);
  REQUIRE(squeezed.ok());
  CHECK(squeezed->data_size == 8170);
  CHECK(squeezed->bblog_offset == 0);
  r.component_sectors = 8177;
  CHECK(place_member1(r).error() == EINVAL);
  r.data_offset = 100;  // the data would end past the superblock
  r.component_sectors = 8100;
  CHECK(place_member1(r).error() == EINVAL);
}

TEST_CASE("a 1.0 member with a bitmap keeps bitmap and log below the superblock", "[superblock1]") {
  PlaceRequest1 r;
  r.minor = 0;
  r.dev_sectors = 8192;
  r.component_sectors = 8064;
  r.bitmap_sectors = 8;
  auto p = place_member1(r);
  REQUIRE(p.ok());
  CHECK(p->super_offset == 8176);
  CHECK(p->bitmap_offset == -16);
  CHECK(p->bblog_offset == -8);
  CHECK(p->data_size == 8160);
}

TEST_CASE("a corrupt checksum is rejected with the stored and computed values", "[superblock1]") {
  auto b = ls_member0().raw;
  b[300] ^= std::byte{0x01};  // inside the role table
  const uint32_t stored = bytes::load<uint32_t>(b, offsetof(mdp_superblock_1, sb_csum));
  char want[96];
  std::snprintf(want, sizeof want, "superblock checksum mismatch (stored 0x%08x, computed 0x%08x)", stored,
                superblock1_checksum(b, 128));
  CHECK(reject(b, 2, 8192) == want);
}

TEST_CASE("a wrong magic or major version is rejected", "[superblock1]") {
  auto b = ls_member0().raw;
  put32(b, 0, 0x12345678);
  CHECK(reject(b, 2, 8192).find("magic 0x12345678") != std::string::npos);
  b = ls_member0().raw;
  put32(b, offsetof(mdp_superblock_1, major_version), 2);
  fix_checksum(b);
  CHECK(reject(b, 2, 8192) == "superblock major version 2, want 1");
}

TEST_CASE("a huge max_dev is rejected before anything is read past the buffer", "[superblock1]") {
  auto b = ls_member0().raw;
  put32(b, offsetof(mdp_superblock_1, max_dev), 0xffffffff);
  CHECK(reject(b, 2, 8192).find("max_dev 4294967295 exceeds 1920") != std::string::npos);
  b = ls_member0().raw;
  put32(b, offsetof(mdp_superblock_1, max_dev), 1920);
  fix_checksum(b);
  CHECK(parse_superblock1(b, 2, 8192).ok());  // the largest table that fits 4 KiB is legal
  std::vector<std::byte> short_buf(b.begin(), b.begin() + 1024);
  CHECK(reject(short_buf, 2, 8192).find("truncated") != std::string::npos);
}

TEST_CASE("every truncation of a superblock is rejected as truncated", "[superblock1]") {
  const auto& raw = ls_member0().raw;
  for (size_t n = 0; n < 512; ++n) {
    std::vector<std::byte> b(raw.begin(), raw.begin() + static_cast<std::ptrdiff_t>(n));
    INFO(n);
    CHECK(reject(b, 2, 8192).find("truncated") != std::string::npos);
  }
  std::vector<std::byte> exact(raw.begin(), raw.begin() + 512);
  CHECK(parse_superblock1(exact, 2, 8192).ok());
}

TEST_CASE("a superblock at the wrong position is rejected", "[superblock1]") {
  const auto& raw = ls_member0().raw;
  CHECK(reject(raw, 1, 8192) == "super_offset 8 does not match the 1.1 position 0");
  CHECK(reject(raw, 2, 20).find("no 1.2 superblock") != std::string::npos);
}

TEST_CASE("inconsistent fields are rejected with what is wrong", "[superblock1]") {
  const auto& raw = ls_member0().raw;
  auto edit = [&](size_t off, uint64_t v, int width) {
    auto b = raw;
    if (width == 8) bytes::store<uint64_t>(b, off, v);
    else bytes::store<uint32_t>(b, off, static_cast<uint32_t>(v));
    fix_checksum(b);
    return b;
  };
  CHECK(reject(edit(offsetof(mdp_superblock_1, dev_number), 128, 4), 2, 8192) ==
        "dev_number 128 outside the role table (max_dev 128)");
  CHECK(reject(edit(offsetof(mdp_superblock_1, feature_map), 1u << 30, 4), 2, 8192)
            .find("unknown feature bits 0x40000000") != std::string::npos);
  CHECK(reject(edit(offsetof(mdp_superblock_1, pad0), 1, 4), 2, 8192) == "non-zero pad0");
  CHECK(reject(edit(offsetof(mdp_superblock_1, pad3) + 4, 1, 4), 2, 8192) == "non-zero pad3 byte 4");
  CHECK(reject(edit(offsetof(mdp_superblock_1, data_offset), 8, 8), 2, 8192).find("overlaps the superblock") !=
        std::string::npos);
  CHECK(reject(edit(offsetof(mdp_superblock_1, data_size), 6145, 8), 2, 8192).find("extends past") !=
        std::string::npos);
  CHECK(reject(raw, 2, 8191).find("extends past the member's 8191 sectors") != std::string::npos);
  CHECK(reject(edit(offsetof(mdp_superblock_1, size), 6145, 8), 2, 8192) ==
        "component size 6145 exceeds data_size 6144");
  CHECK(reject(edit(offsetof(mdp_superblock_1, feature_map), MD_FEATURE_BITMAP_OFFSET, 4), 2, 8192) ==
        "bitmap feature set but bitmap_offset is 0");
  CHECK(reject(edit(offsetof(mdp_superblock_1, data_size), 9, 8), 2, 8192) == "data_size 9 too small");
}

TEST_CASE("raid_disks beyond the 1920 roles a v1 superblock holds is rejected", "[superblock1][bounds]") {
  auto with_raid_disks = [](uint32_t n) {
    auto b = ls_member0().raw;
    put32(b, offsetof(mdp_superblock_1, raid_disks), n);
    fix_checksum(b);
    return b;
  };
  CHECK(parse_superblock1(with_raid_disks(kSb1MaxDisks), 2, 8192).ok());
  CHECK(reject(with_raid_disks(kSb1MaxDisks + 1), 2, 8192) ==
        "raid_disks 1921 exceeds the 1920 devices a v1 superblock can describe");
  CHECK(reject(with_raid_disks(0x7fffffff), 2, 8192).find("raid_disks 2147483647 exceeds") == 0);
  CHECK(reject(with_raid_disks(0xffffffff), 2, 8192).find("raid_disks 4294967295 exceeds") == 0);
}

TEST_CASE("random bytes are never taken for a superblock", "[superblock1][fuzz]") {
  std::mt19937_64 rng(1);
  std::vector<std::byte> b(kSb1ReadBytes);
  for (int iter = 0; iter < 3000; ++iter) {
    for (auto& x : b) x = static_cast<std::byte>(rng());
    const int minor = iter % 3;
    if (iter % 2) {
      // Past the magic and version checks, with a matching checksum.
      put32(b, 0, MD_SB_MAGIC);
      put32(b, offsetof(mdp_superblock_1, major_version), 1);
      put32(b, offsetof(mdp_superblock_1, max_dev), static_cast<uint32_t>(rng() % 2000));
      if (bytes::load<uint32_t>(b, offsetof(mdp_superblock_1, max_dev)) <= kSb1MaxDev) fix_checksum(b);
    }
    const size_t len = iter % 5 == 0 ? static_cast<size_t>(rng() % b.size()) : b.size();
    std::string why;
    auto sb = parse_superblock1(std::span<const std::byte>(b).first(len), minor, rng() % (uint64_t{1} << 40), &why);
    CHECK_FALSE(sb.ok());
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("mutated fixture superblocks either fail with a reason or round-trip", "[superblock1][fuzz]") {
  std::mt19937_64 rng(2);
  const auto& raw = ls_member0().raw;
  int accepted = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    auto b = raw;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % 512] = static_cast<std::byte>(rng());
    if (rng() % 4) fix_checksum(b);
    const uint64_t dev = 8192 + rng() % 3;
    std::string why;
    auto sb = parse_superblock1(b, 2, dev, &why);
    if (!sb) {
      CHECK_FALSE(why.empty());
      continue;
    }
    ++accepted;
    auto out = serialize_superblock1(*sb);
    REQUIRE(out.ok());
    auto again = parse_superblock1(*out, 2, dev);
    REQUIRE(again.ok());
    CHECK(*again == *sb);
  }
  CHECK(accepted > 0);
}

TEST_CASE("serializing refuses a name or role table that does not fit", "[superblock1]") {
  Superblock1 sb;
  sb.set_name = std::string(33, 'x');
  CHECK(serialize_superblock1(sb).error() == EINVAL);
  sb.set_name = std::string(32, 'x');
  sb.dev_roles.assign(kSb1MaxDev + 1, 0xffff);
  CHECK(serialize_superblock1(sb).error() == EINVAL);
  sb.dev_roles.assign(127, 0xffff);  // odd max_dev: a 2-byte tail in the checksum
  auto out = serialize_superblock1(sb);
  REQUIRE(out.ok());
  CHECK(out->size() == 512);
  CHECK(bytes::load<uint32_t>(*out, offsetof(mdp_superblock_1, sb_csum)) == superblock1_checksum(*out, 127));
}

TEST_CASE("a name with bytes after its NUL survives the round trip", "[superblock1]") {
  auto b = ls_member0().raw;
  b[offsetof(mdp_superblock_1, set_name) + 20] = std::byte{'z'};
  fix_checksum(b);
  auto sb = parse_superblock1(b, 2, 8192);
  REQUIRE(sb.ok());
  CHECK(super_info(*sb, 2).name == "(none):oracle");
  auto out = serialize_superblock1(*sb);
  REQUIRE(out.ok());
  CHECK(std::equal(out->begin(), out->end(), b.begin()));
}
