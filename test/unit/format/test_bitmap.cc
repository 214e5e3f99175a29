// The write-intent bitmap superblock: the fixture byte for byte, mdadm's
// default geometry, and damaged input.
#include "format/bitmap.h"

#include <catch2/catch.hpp>
#include <random>

#include "fixtures.h"
#include "format/bytes.h"
#include "format/super_info.h"

using namespace mdfs::format;

namespace {

// The bitmap superblock of raid5-4-bitmap member n (8 sectors after the
// 1.2 superblock: byte 8192).
std::vector<std::byte> raw(int n) {
  auto b = fixture::member("raid5-4-bitmap", n).bytes(8192, kBitmapSuperBytes);
  REQUIRE(b.size() == kBitmapSuperBytes);
  return b;
}

std::string reject(const std::vector<std::byte>& b) {
  std::string why;
  auto bm = parse_bitmap_super(b, &why);
  REQUIRE_FALSE(bm.ok());
  CHECK(bm.error() == EINVAL);
  CHECK_FALSE(why.empty());
  return why;
}

}  // namespace

TEST_CASE("the fixture bitmap superblocks parse and serialize back exactly", "[bitmap][fixtures]") {
  // The event counts are the kernel's, as its mdadm -X printed them.
  const auto x = fixture::examine_text("raid5-4-bitmap", "kernel-examine-bitmap.txt");
  REQUIRE(x.size() == 4);
  for (int m = 0; m < 4; ++m) {
    const auto b = raw(m);
    auto bm = parse_bitmap_super(b);
    REQUIRE(bm.ok());
    CHECK(bm->version == kBitmapMajorHi);
    CHECK(bm->chunksize == 64u << 20);
    CHECK(bm->sync_size == 14336);
    CHECK(bm->daemon_sleep == 5);
    CHECK(bm->events == fixture::leading_number(x[static_cast<size_t>(m)].at("Events")));
    CHECK(bm->events_cleared == fixture::leading_number(x[static_cast<size_t>(m)].at("Events Cleared")));
    auto out = serialize_bitmap_super(*bm);
    REQUIRE(out.ok());
    CHECK(*out == b);
  }
}

TEST_CASE("mdadm's default bitmap for the fixture is one 64 MiB chunk in 4 KiB", "[bitmap][fixtures]") {
  const uint64_t size = 14336;
  const uint32_t chunk = mdadm_bitmap_chunk(size, 8 * 512);
  CHECK(chunk == 64u << 20);
  CHECK(bitmap_chunks(size, chunk) == 1);
  CHECK(bitmap_sectors(size, chunk) == 8);
  auto made = new_bitmap_super({}, size, chunk);
  auto fixture_bm = *parse_bitmap_super(raw(0));
  made.uuid = fixture_bm.uuid;
  made.events = fixture_bm.events;  // the kernel's later updates
  made.events_cleared = fixture_bm.events_cleared;
  CHECK(made == fixture_bm);
}

TEST_CASE("the bitmap chunk doubles until the bits fit the room", "[bitmap]") {
  // 128 KiB room holds (131072 - 256) * 8 bits.
  const uint64_t max_bits = (131072 - 256) * 8;
  const uint64_t tib = uint64_t{1} << 31;  // 1 TiB in sectors
  const uint32_t c = mdadm_bitmap_chunk(tib * 64, 131072);
  CHECK(bitmap_chunks(tib * 64, c) <= max_bits);
  CHECK(bitmap_chunks(tib * 64, c / 2) > max_bits);
  CHECK(mdadm_bitmap_chunk(1000, 256) == 0);
  CHECK(mdadm_bitmap_chunk(1000, 60 * 1024) == 64u << 20);
  // 2^30 sectors in 1 MiB chunks: 2^19 bits, 64 KiB, plus the superblock.
  CHECK(bitmap_sectors(1u << 30, 1u << 20, 512) == (256 + 65536 + 511) / 512);
  CHECK(bitmap_sectors(1u << 30, 1u << 20) == (256 + 65536 + 4095) / 4096 * 8);
}

TEST_CASE("dirty bits are counted in little-endian bit order", "[bitmap]") {
  std::vector<std::byte> bits = {std::byte{0x81}, std::byte{0xff}};
  CHECK(bitmap_dirty_bits(bits, 1) == 1);
  CHECK(bitmap_dirty_bits(bits, 7) == 1);
  CHECK(bitmap_dirty_bits(bits, 8) == 2);
  CHECK(bitmap_dirty_bits(bits, 12) == 6);
  CHECK(bitmap_dirty_bits(bits, 100) == 10);
}

TEST_CASE("a bitmap superblock with bad values is rejected with the reason", "[bitmap]") {
  auto edit = [](size_t off, uint32_t v) {
    auto b = raw(0);
    bytes::store<uint32_t>(b, off, v);
    return b;
  };
  CHECK(reject(edit(bitmap_field::kMagic, 0)) == "bad bitmap magic 0x00000000, want 0x6d746962");
  CHECK(reject(edit(bitmap_field::kVersion, 2)) == "unknown bitmap version 2 (want 3..5)");
  CHECK(reject(edit(bitmap_field::kVersion, 6)) == "unknown bitmap version 6 (want 3..5)");
  CHECK(reject(edit(bitmap_field::kChunksize, 256)) == "bitmap chunk of 256 bytes is below 512");
  CHECK(reject(edit(bitmap_field::kChunksize, 3 << 20)) == "bitmap chunk of 3145728 bytes is not a power of 2");
  CHECK(reject(edit(bitmap_field::kDaemonSleep, 0)) == "bitmap daemon period is 0");
  CHECK(reject(edit(bitmap_field::kWriteBehind, 16384)) == "bitmap write-behind 16384 out of range (0..16383)");
  auto b = raw(0);
  b.resize(255);
  CHECK(reject(b) == "bitmap superblock truncated: 255 bytes, need 256");
}

TEST_CASE("a bitmap of another array is refused", "[bitmap]") {
  auto bm = *parse_bitmap_super(raw(0));
  std::array<uint8_t, 16> other{};
  std::string why;
  CHECK_FALSE(check_bitmap_owner(bm, other, &why).ok());
  CHECK(why.find("does not match") != std::string::npos);
  CHECK(check_bitmap_owner(bm, bm.uuid).ok());
}

TEST_CASE("a member whose bitmap superblock is damaged is kept and the problem reported", "[bitmap]") {
  const auto& m = fixture::member("raid5-4-bitmap", 0);
  auto base = m.reader();
  mdfs::format::ReadAt damaged = [&](uint64_t off, std::span<std::byte> out) -> mdfs::Result<void> {
    auto r = base(off, out);
    if (r && off <= 8192 && off + out.size() > 8192) out[8192 - off] = std::byte{0};
    return r;
  };
  auto ex = examine(m.size, damaged);
  REQUIRE(ex.ok());
  REQUIRE(ex->found.size() == 1);
  CHECK_FALSE(ex->found[0].bitmap.has_value());
  CHECK(ex->found[0].bitmap_problem.find("bitmap at sector 16: bad bitmap magic") == 0);
}

TEST_CASE("random bitmap superblocks fail with a reason or round-trip", "[bitmap][fuzz]") {
  std::mt19937_64 rng(4);
  int accepted = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    auto b = raw(0);
    for (int k = 0; k < 3; ++k) b[rng() % b.size()] = static_cast<std::byte>(rng());
    if (iter % 2) {
      for (auto& x : b) x = static_cast<std::byte>(rng());
      bytes::store<uint32_t>(b, 0, kBitmapMagic);
    }
    std::string why;
    auto bm = parse_bitmap_super(b, &why);
    if (!bm) {
      CHECK_FALSE(why.empty());
      continue;
    }
    ++accepted;
    auto out = serialize_bitmap_super(*bm);
    REQUIRE(out.ok());
    CHECK(*parse_bitmap_super(*out) == *bm);
  }
  CHECK(accepted > 0);
}

TEST_CASE("a bitmap must fit between the superblock and the bad block log and data", "[bitmap][bounds]") {
  // raid5-4-bitmap: superblock at 8, bitmap at 16, bad block log at 24,
  // data from 2048; the array uses 14336 sectors of each member.
  const auto& m = fixture::member("raid5-4-bitmap", 0);
  auto ex = examine(m.size, m.reader());
  REQUIRE(ex.ok());
  REQUIRE(ex->found.size() == 1);
  const SuperInfo& info = ex->found[0];
  const uint64_t dev = m.size / 512;
  CHECK(check_bitmap_room(info, 1, 14336, dev).ok());
  CHECK(check_bitmap_room(info, 8, 14336, dev).ok());
  std::string why;
  CHECK(check_bitmap_room(info, 9, 14336, dev, &why).error() == EINVAL);
  CHECK(why == "bitmap of 9 sectors at sector 16 runs into the bad block log at sector 24");
  CHECK_FALSE(check_bitmap_room(info, 3000, 14336, dev, &why).ok());
  CHECK(why == "bitmap of 3000 sectors at sector 16 runs into the data (sectors 2048 to 16384)");
  CHECK_FALSE(check_bitmap_room(info, uint64_t{1} << 40, 14336, dev, &why).ok());
  CHECK(why.find("runs past the member's end") != std::string::npos);
  // What a hostile sync_size would have asked: 2^26 sectors in 512-byte
  // chunks is 2^26 bits, 16 MiB of bitmap.
  CHECK_FALSE(check_bitmap_room(info, bitmap_sectors(uint64_t{1} << 26, 512, 512), 14336, dev).ok());
  // The fixture's own bitmap covers 14336 sectors in one 64 MiB chunk.
  CHECK(check_bitmap_room(info, bitmap_sectors(14336, 64u << 20, 512), 14336, dev).ok());
}

TEST_CASE("a 1.0 bitmap must lie between the data and the superblock", "[bitmap][bounds]") {
  SuperInfo info;
  info.major = 1;
  info.minor = 0;
  info.super_offset = 8176;  // a 4 MiB member
  info.bitmap_offset = -16;  // bitmap at 8160, bad block log at 8168
  info.data_offset = 0;
  Superblock1 sb;
  sb.dev_roles.assign(128, 0xffff);
  sb.bblog_offset = -8;
  sb.bblog_size = 8;
  info.super = sb;
  std::string why;
  CHECK(check_bitmap_room(info, 8, 8160, 8192).ok());
  CHECK_FALSE(check_bitmap_room(info, 8, 8161, 8192, &why).ok());
  CHECK(why == "bitmap of 8 sectors at sector 8160 runs into the data (sectors 0 to 8161)");
  CHECK_FALSE(check_bitmap_room(info, 9, 8160, 8192, &why).ok());
  CHECK(why == "bitmap of 9 sectors at sector 8160 runs into the bad block log at sector 8168");
  info.bitmap_offset = -1;
  CHECK_FALSE(check_bitmap_room(info, 2, 0, 8192, &why).ok());
  CHECK(why == "bitmap at sector 8175 overlaps the superblock at sector 8176");
}

TEST_CASE("a 0.90 bitmap must stay in the 64 KiB reserved at the member's end", "[bitmap][bounds]") {
  SuperInfo info;
  info.major = 0;
  info.minor = 90;
  info.super_offset = 8064;  // a 4 MiB member
  info.bitmap_offset = 8;
  info.super = Superblock0{};
  CHECK(check_bitmap_room(info, 120, 8064, 8192).ok());
  std::string why;
  CHECK_FALSE(check_bitmap_room(info, 121, 8064, 8192, &why).ok());
  CHECK(why.find("runs past the member's end") != std::string::npos);
}
