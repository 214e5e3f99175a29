// The bad block list (format/badblocks.h) as Linux 6.1's badblocks.c keeps
// it, and the v1 bad block log as super_1_load and super_1_sync read and
// write it, checked on a kernel fixture's member with a log written in.
#include <linux/raid/md_p.h>

#include <catch2/catch.hpp>

#include <cstring>

#include "fixtures.h"
#include "format/badblocks.h"
#include "format/bytes.h"
#include "format/super_info.h"

using namespace mdfs::format;

TEST_CASE("recorded ranges merge with the ranges they touch and show as the kernel prints them") {
  BadBlocks bb(0);
  REQUIRE(bb.set(100, 100, true));
  CHECK(bb.show(false) == "100 100\n");
  REQUIRE(bb.set(200, 8, true));  // touching: one range
  CHECK(bb.show(false) == "100 108\n");
  REQUIRE(bb.set(10, 5, true));
  CHECK(bb.show(false) == "10 5\n100 108\n");
  REQUIRE(bb.set(12, 90, true));  // bridges the two
  CHECK(bb.show(false) == "10 198\n");
  CHECK(bb.entries().size() == 1);
}

TEST_CASE("a range longer than 512 sectors is cut into entries of at most 512") {
  BadBlocks bb(0);
  REQUIRE(bb.set(0, 600, true));
  CHECK(bb.show(false) == "0 512\n512 88\n");
  REQUIRE(bb.set(1000, 8, true));
  REQUIRE(bb.set(590, 420, true));
  CHECK(bb.show(false) == "0 512\n512 498\n");
}

TEST_CASE("acknowledgement: a range covered whole takes the new one, a range extended keeps a missing one") {
  BadBlocks bb(0);
  REQUIRE(bb.set(0, 8, true));
  REQUIRE(bb.set(4, 8, false));
  CHECK(bb.show(true) == "0 12\n");
  CHECK(bb.unacknowledged());
  REQUIRE(bb.set(0, 12, true));
  CHECK(bb.show(true).empty());
  REQUIRE(bb.set(100, 4, false));
  CHECK(bb.show(true) == "100 4\n");
  bb.acknowledge_all();
  CHECK(bb.show(true).empty());
  CHECK(bb.show(false) == "0 12\n100 4\n");
}

TEST_CASE("clearing trims, removes and splits ranges") {
  BadBlocks bb(0);
  REQUIRE(bb.set(0, 100, true));
  REQUIRE(bb.set(200, 10, true));
  CHECK(bb.clear(10, 10) == 0);
  CHECK(bb.show(false) == "0 10\n20 80\n200 10\n");
  CHECK(bb.clear(90, 200) == 0);
  CHECK(bb.show(false) == "0 10\n20 70\n");
  CHECK(bb.clear(0, 1000) == 0);
  CHECK(bb.empty());
}

TEST_CASE("check finds the first recorded range a request meets, and whether all are acknowledged") {
  BadBlocks bb(0);
  REQUIRE(bb.set(100, 8, true));
  REQUIRE(bb.set(120, 8, false));
  CHECK(bb.check(0, 100).state == 0);
  CHECK(bb.check(108, 12).state == 0);
  auto hit = bb.check(90, 20);
  CHECK(hit.state == 1);
  CHECK(hit.first_bad == 100);
  CHECK(hit.bad_sectors == 8);
  hit = bb.check(104, 20);
  CHECK(hit.state == -1);
  CHECK(hit.first_bad == 100);
  CHECK(bb.next_bad(0) == 100);
  CHECK(bb.next_bad(104) == 104);
  CHECK(bb.next_bad(108) == 120);
  CHECK(bb.next_bad(128) == ~uint64_t{0});
}

TEST_CASE("a full list records no more, and a member without a log records nothing") {
  BadBlocks bb(0);
  for (uint64_t i = 0; i < kBadBlocksMax; ++i) REQUIRE(bb.set(i * 10, 1, true));
  CHECK_FALSE(bb.set(100000, 1, true));
  CHECK(bb.entries().size() == kBadBlocksMax);
  CHECK(bb.set(10, 2, true));  // merging needs no new entry
  CHECK(bb.clear(20, 1) == 0);
  CHECK(bb.set(100000, 1, true));
  CHECK(bb.clear(3000, 0) == 0);

  BadBlocks none;
  CHECK_FALSE(none.enabled());
  CHECK_FALSE(none.set(0, 8, true));
  CHECK(none.show(false).empty());
  CHECK(none.check(0, 8).state == 0);
}

TEST_CASE("with a shift, ranges round out to whole blocks and show in sectors") {
  BadBlocks bb(3);
  REQUIRE(bb.set(5, 2, true));
  CHECK(bb.show(false) == "0 8\n");
  REQUIRE(bb.set(14, 4, true));
  CHECK(bb.show(false) == "0 24\n");
  CHECK(bb.clear(9, 8) == 0);  // rounds inwards: no whole block inside
  CHECK(bb.show(false) == "0 24\n");
  CHECK(bb.clear(8, 9) == 0);
  CHECK(bb.show(false) == "0 8\n16 8\n");
}

TEST_CASE("the sysfs write takes SECTOR LENGTH and one newline, as the kernel's sscanf") {
  auto ok = [](const char* text, uint64_t sector, uint64_t length) {
    auto w = parse_bad_block_write(text);
    INFO(text);
    REQUIRE(w);
    CHECK(w->sector == sector);
    CHECK(w->length == length);
  };
  ok("100 100", 100, 100);
  ok("100 100\n", 100, 100);
  ok("  7\n8\n", 7, 8);
  for (const char* bad : {"100", "100 0", "100 -5", "100 100x", "-1 5", "x 5", "", "100 100 \n"}) {
    INFO(bad);
    CHECK(parse_bad_block_write(bad).error() == EINVAL);
  }
}

TEST_CASE("the on-disk log reads as super_1_load and is written as super_1_sync") {
  std::vector<std::byte> log(4096, std::byte{0xff});
  bytes::store<uint64_t>(log, 0, (uint64_t{100} << 10) | 8);
  bytes::store<uint64_t>(log, 8, (uint64_t{4096} << 10) | 512);
  auto list = parse_bblog(log, 0);
  REQUIRE(list);
  CHECK(list->show(false) == "100 8\n4096 512\n");
  CHECK(list->show(true).empty());
  CHECK_FALSE(list->changed);
  CHECK(serialize_bblog(*list, 4096) == log);

  // A zeroed log holds no entry; shifts apply to both fields.
  std::vector<std::byte> zeros(512, std::byte{0});
  auto none = parse_bblog(zeros, 0);
  REQUIRE(none);
  CHECK(none->empty());
  auto shifted = parse_bblog(std::span(log).first(8), 3);
  REQUIRE(shifted);
  CHECK(shifted->show(false) == "800 64\n");

  // More than one page of separate entries cannot be loaded.
  std::vector<std::byte> big(8 * 600, std::byte{0});
  for (uint64_t i = 0; i < 600; ++i) bytes::store<uint64_t>(big, i * 8, ((i * 10) << 10) | 1);
  std::string why;
  CHECK(parse_bblog(big, 0, &why).error() == EINVAL);
  CHECK(why.find("512") != std::string::npos);
}

TEST_CASE("a kernel member with bad blocks written into its log loads them; a broken log refuses the member") {
  const fixture::Member& m = fixture::member("raid1-2", 0);
  auto info = load_super(1, 2, m.size, m.reader());
  REQUIRE(info);
  auto sb = std::get<Superblock1>(info->super);
  REQUIRE(sb.bblog_offset == 16);
  REQUIRE(sb.bblog_size == 8);
  CHECK(info->bad_blocks.enabled());
  CHECK(info->bad_blocks.empty());

  fixture::Member copy = m;
  const uint64_t log_at = (sb.super_offset + 16) * 512;
  std::vector<std::byte> log(4096, std::byte{0xff});
  bytes::store<uint64_t>(log, 0, (uint64_t{2048} << 10) | 8);
  std::memcpy(copy.head.data() + log_at, log.data(), log.size());
  sb.feature_map |= MD_FEATURE_BAD_BLOCKS;
  auto raw = serialize_superblock1(sb);
  REQUIRE(raw);
  std::memcpy(copy.head.data() + sb.super_offset * 512, raw->data(), raw->size());
  auto loaded = load_super(1, 2, copy.size, copy.reader());
  REQUIRE(loaded);
  CHECK(loaded->bad_blocks.show(false) == "2048 8\n");

  sb.bblog_size = 16;  // more than the page the kernel reads
  raw = serialize_superblock1(sb);
  std::memcpy(copy.head.data() + sb.super_offset * 512, raw->data(), raw->size());
  std::string why;
  CHECK(load_super(1, 2, copy.size, copy.reader(), &why).error() == EINVAL);
  CHECK(why.find("bad block log") != std::string::npos);
}
