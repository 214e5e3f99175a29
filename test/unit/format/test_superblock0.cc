// The 0.90 superblock codec: the fixture byte for byte, both byte orders,
// a new superblock as the kernel writes it, and damaged input.
#include "format/superblock0.h"

#include <linux/raid/md_p.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <random>

#include "fixtures.h"
#include "format/bytes.h"
#include "format/super_info.h"

using namespace mdfs::format;

namespace {

constexpr uint64_t kDev = 4u << 20;  // the fixture's 4 MiB members

std::vector<std::byte> raw(int member) {
  const auto& m = fixture::member("raid1-2-meta0.90", member);
  REQUIRE(m.size == kDev);
  auto b = m.bytes(*superblock0_offset(m.size), kSb0Bytes);
  REQUIRE(b.size() == kSb0Bytes);
  return b;
}

// The same superblock as a big-endian machine would have written it:
// every 32-bit word byte-swapped, and the 64-bit counters' halves in the
// other order.
std::vector<std::byte> to_big_endian(const std::vector<std::byte>& le) {
  std::vector<std::byte> be(le.size());
  for (size_t w = 0; w < le.size(); w += 4) {
    bytes::store<uint32_t>(be, w, bytes::load<uint32_t>(le, w), bytes::Order::kBig);
  }
  for (size_t off : {size_t{(32 + 7) * 4}, size_t{(32 + 9) * 4}, size_t{(32 + 12) * 4}}) {
    for (size_t i = 0; i < 4; ++i) std::swap(be[off + i], be[off + 4 + i]);
  }
  return be;
}

void fix_checksum(std::vector<std::byte>& b, bool big = false) {
  bytes::store<uint32_t>(b, offsetof(mdp_super_t, sb_csum), superblock0_checksum(b, big),
                         big ? bytes::Order::kBig : bytes::Order::kLittle);
}

std::string reject(const std::vector<std::byte>& b, uint64_t dev = kDev) {
  std::string why;
  auto sb = parse_superblock0(b, dev, &why);
  REQUIRE_FALSE(sb.ok());
  CHECK(sb.error() == EINVAL);
  CHECK_FALSE(why.empty());
  return why;
}

}  // namespace

TEST_CASE("the superblock sits in the last 64 KiB-aligned 64 KiB", "[superblock0]") {
  CHECK(*superblock0_offset(kDev) == kDev - 65536);  // checked: raid1-2-meta0.90
  CHECK(*superblock0_offset(kDev + 65535) == kDev - 65536);
  CHECK(*superblock0_offset(kDev + 65536) == kDev);
  CHECK(superblock0_offset(131071).error() == EINVAL);
  CHECK(*superblock0_offset(131072) == 65536);
}

TEST_CASE("the fixture 0.90 superblocks serialize back to their exact bytes", "[superblock0][fixtures]") {
  // The event count is the kernel's, as its mdadm --examine printed it.
  const auto x = fixture::examine_text("raid1-2-meta0.90");
  REQUIRE(x.size() == 2);
  for (int m = 0; m < 2; ++m) {
    const auto b = raw(m);
    auto sb = parse_superblock0(b, kDev);
    REQUIRE(sb.ok());
    CHECK_FALSE(sb->big_endian);
    CHECK(sb->events == fixture::leading_number(x[static_cast<size_t>(m)].at("Events")));
    CHECK(sb->this_disk.number == static_cast<uint32_t>(m));
    CHECK(serialize_superblock0(*sb) == b);
  }
}

TEST_CASE("a big-endian superblock reads the same and is written little-endian", "[superblock0]") {
  const auto le = raw(0);
  const auto be = to_big_endian(le);
  auto a = parse_superblock0(le, kDev);
  auto b = parse_superblock0(be, kDev);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(b->big_endian);
  b->big_endian = false;
  CHECK(*a == *b);
  CHECK(serialize_superblock0(*b) == le);
}

TEST_CASE("64-bit counters of a big-endian superblock keep their high half", "[superblock0]") {
  auto le = raw(0);
  bytes::store<uint64_t>(le, (32 + 7) * 4, 0x0000000500000007ull);  // events
  bytes::store<uint64_t>(le, (32 + 12) * 4, 0x0000000300000009ull); // reshape_position
  fix_checksum(le);
  auto be = to_big_endian(le);
  auto sb = parse_superblock0(be, kDev);
  REQUIRE(sb.ok());
  CHECK(sb->events == 0x0000000500000007ull);
  CHECK(sb->reshape_position == 0x0000000300000009ull);
  // The events halves as a big-endian writer stores them: high word first.
  CHECK(bytes::load<uint32_t>(be, (32 + 7) * 4, bytes::Order::kBig) == 5);
}

TEST_CASE("a new 0.90 superblock matches the fixture the kernel wrote", "[superblock0][fixtures]") {
  for (int m = 0; m < 2; ++m) {
    const auto b = raw(m);
    auto want = parse_superblock0(b, kDev);
    REQUIRE(want.ok());
    NewArray0 a;
    a.set_uuid = want->set_uuid;
    a.ctime = want->ctime;
    a.level = want->level;
    a.layout = want->layout;
    a.chunk_bytes = want->chunk_size;
    a.size_kib = want->size;
    a.raid_disks = want->raid_disks;
    a.md_minor = want->md_minor;
    a.in_sync = true;
    a.events = want->events;
    const uint32_t sync = (1u << MD_DISK_ACTIVE) | (1u << MD_DISK_SYNC);
    a.members = {{0, 253, 0, 0, sync}, {1, 253, 16, 1, sync}};
    Superblock0 made = new_superblock0(a, static_cast<uint32_t>(m));
    made.utime = want->utime;  // the kernel's later update
    made.sb_csum = want->sb_csum;
    CHECK(made == *want);
    CHECK(serialize_superblock0(made) == b);
  }
}

TEST_CASE("a new 0.90 superblock marks missing roles removed and counts them failed", "[superblock0]") {
  NewArray0 a;
  a.raid_disks = 3;
  a.level = 5;
  a.in_sync = false;
  const uint32_t sync = (1u << MD_DISK_ACTIVE) | (1u << MD_DISK_SYNC);
  a.members = {{0, 9, 1, 0, sync}, {2, 9, 3, 2, sync}, {3, 9, 4, 3, 0}};
  auto sb = new_superblock0(a, 2);
  CHECK(sb.disks[1].state == ((1u << MD_DISK_REMOVED) | (1u << MD_DISK_FAULTY)));
  CHECK(sb.disks[1].number == 1);
  CHECK(sb.nr_disks == 3);
  CHECK(sb.active_disks == 2);
  CHECK(sb.working_disks == 3);
  CHECK(sb.spare_disks == 1);
  CHECK(sb.failed_disks == 1);
  CHECK(sb.this_disk == sb.disks[2]);
  CHECK((sb.state & (1u << MD_SB_CLEAN)) == 0);
  CHECK(sb.recovery_cp == 0);
  auto info = super_info(sb, 8u << 20);
  CHECK_FALSE(info.clean);
  CHECK(info.resync_offset == 0);
  CHECK(info.roles[0] == 0);
  CHECK(info.roles[1] == kRoleFaulty);
  CHECK(info.roles[3] == kRoleSpare);
}

TEST_CASE("an unclean 0.90 superblock resumes at recovery_cp only if checkpointed now", "[superblock0]") {
  auto sb = *parse_superblock0(raw(0), kDev);
  sb.state = 0;
  sb.recovery_cp = 1000;
  sb.cp_events = sb.events;
  CHECK(super_info(sb, kDev).resync_offset == 1000);
  sb.cp_events = sb.events - 1;
  CHECK(super_info(sb, kDev).resync_offset == 0);
}

TEST_CASE("a corrupt 0.90 checksum is rejected with the stored and computed values", "[superblock0]") {
  auto b = raw(0);
  const uint32_t stored = bytes::load<uint32_t>(b, offsetof(mdp_super_t, sb_csum));  // the kernel's
  b[2000] ^= std::byte{0x80};
  char want[96];
  std::snprintf(want, sizeof want, "superblock checksum mismatch (stored 0x%08x, computed 0x%08x)", stored,
                superblock0_checksum(b, false));
  CHECK(reject(b) == want);
}

TEST_CASE("0.90 superblocks of other versions, without disks or too big are rejected", "[superblock0]") {
  auto edit = [](size_t word, uint32_t v) {
    auto b = raw(0);
    bytes::store<uint32_t>(b, word * 4, v);
    fix_checksum(b);
    return b;
  };
  CHECK(reject(edit(1, 1)) == "superblock version 1.90, want 0.90 or 0.91");
  CHECK(reject(edit(2, 92)) == "superblock version 0.92, want 0.90 or 0.91");
  CHECK(reject(edit(10, 0)) == "raid_disks is 0");
  CHECK(reject(edit(10, 28)) == "raid_disks 28 exceeds the 27 devices a 0.90 superblock can describe");
  CHECK(reject(edit(10, 0x7fffffff)).find("raid_disks 2147483647 exceeds") == 0);
  CHECK(parse_superblock0(edit(10, 27), kDev).ok());
  CHECK(reject(edit(8, 4033)) == "component size 4033 KiB exceeds the 4032 KiB before the superblock");
  CHECK(reject(edit(992, 27)).find("this_disk number 27") != std::string::npos);
  auto b = raw(0);
  b[0] = std::byte{0};
  CHECK(reject(b).find("no md superblock") != std::string::npos);
  CHECK(reject(raw(0), 100000).find("too small") != std::string::npos);
}

TEST_CASE("every truncation of a 0.90 superblock is rejected", "[superblock0]") {
  const auto b = raw(0);
  for (size_t n = 0; n < kSb0Bytes; n += 7) {
    std::vector<std::byte> t(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    CHECK(reject(t).find("truncated") != std::string::npos);
  }
}

TEST_CASE("random and mutated 0.90 superblocks fail with a reason or round-trip", "[superblock0][fuzz]") {
  std::mt19937_64 rng(3);
  const auto base = raw(0);
  int accepted = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::vector<std::byte> b;
    const bool big = iter % 3 == 0;
    if (iter % 2) {
      b.resize(kSb0Bytes);
      for (auto& x : b) x = static_cast<std::byte>(rng());
      bytes::store<uint32_t>(b, 0, MD_SB_MAGIC, big ? bytes::Order::kBig : bytes::Order::kLittle);
    } else {
      b = big ? to_big_endian(base) : base;
      for (int k = 0; k < 3; ++k) b[rng() % kSb0Bytes] = static_cast<std::byte>(rng());
    }
    if (rng() % 4) fix_checksum(b, big);
    const uint64_t dev = rng() % 2 ? kDev : rng() % (uint64_t{1} << 44);
    std::string why;
    auto sb = parse_superblock0(b, dev, &why);
    if (!sb) {
      CHECK_FALSE(why.empty());
      continue;
    }
    ++accepted;
    auto again = parse_superblock0(serialize_superblock0(*sb), dev);
    REQUIRE(again.ok());
    again->big_endian = sb->big_endian;
    again->sb_csum = sb->sb_csum;
    // Reserved words are dropped; every decoded field survives.
    CHECK(*again == *sb);
  }
  CHECK(accepted > 0);
}
