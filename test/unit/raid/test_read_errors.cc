// Member read errors in the personalities, as md handles them: bad sectors
// read from another copy or rebuilt from parity and rewritten (counted as
// corrected), the array's policy (fix, read around, fail) obeyed, a member
// whose file ended failed and never rewritten, and where nothing is left,
// EIO with the kernel's md_error without a bad block log.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "disks.h"
#include "raid/parity.h"
#include "raid/raid5_layout.h"
#include "rig.h"

using namespace mdfs::raid;
using namespace mdfs::raid::test;

namespace {

std::vector<std::byte> read_all(Rig& rig) {
  std::vector<std::byte> all(rig.size());
  REQUIRE(rig.pers->read(0, all) == 0);
  return all;
}

// The whole array, read first from `role` wherever it holds a copy (as
// after a failed zero-copy reply), so that its bad sectors are met.
std::vector<std::byte> read_from(Rig& rig, int role) {
  std::vector<std::byte> all(rig.size());
  REQUIRE(rig.pers->reread(0, all, role) == 0);
  return all;
}

// Member sectors [first, first + count) of `role` go bad, with garbage
// behind them unless `keep`.
void go_bad(Rig& rig, int role, uint64_t first, uint64_t count, bool keep = false) {
  auto& data = rig.mem[role]->data();
  if (!keep)
    for (uint64_t i = first * kSectorSize; i < (first + count) * kSectorSize; ++i) data[i] = std::byte(i * 7 + 1);
  rig.faulty[role]->add_bad(first, count);
}

bool same(const std::vector<std::byte>& a, size_t at, const std::vector<std::byte>& b, size_t bt, size_t n) {
  return std::memcmp(a.data() + at, b.data() + bt, n) == 0;
}

}  // namespace

TEST_CASE("raid1: bad sectors are read from another mirror and rewritten", "[read-error][raid1]") {
  Rig rig(geometry(1, 3, 0, {2048, 2048, 2048}));
  auto model = random_io(rig, 21, 10);
  go_bad(rig, 0, 100, 20);
  // One request starting mid-sector across the bad sectors, read first
  // from mirror 0.
  std::vector<std::byte> got(30000);
  REQUIRE(rig.pers->reread(99 * 512 + 17, got, 0) == 0);
  CHECK(same(got, 0, model, 99 * 512 + 17, got.size()));
  CHECK(rig.events.read_errors[0] == 1);
  // Each page that failed is rewritten and read back: the 20 sectors are in
  // three pages (8 sectors each, from the request's first sector).
  CHECK(rig.events.corrected[0] == 24);
  CHECK(rig.faulty[0]->bad_sectors() == 0);
  CHECK(rig.events.taken().empty());
  CHECK(rig.pers->degraded() == 0);
  check_copies(rig, model);
}

TEST_CASE("raid1: a read-only array reads around a bad member and writes nothing", "[read-error][raid1]") {
  Rig rig(geometry(1, 2, 0, {1024, 1024}));
  auto model = random_io(rig, 22, 10);
  rig.events.policy = ReadErrorPolicy::kReadAround;
  go_bad(rig, 0, 0, 1024);
  const int writes = rig.faulty[0]->writes;
  CHECK((read_from(rig, 0) == model));
  CHECK(rig.faulty[0]->writes == writes);
  CHECK(rig.faulty[0]->bad_sectors() == 1024);
  CHECK(rig.events.corrected.empty());
  CHECK(rig.events.taken().empty());
}

TEST_CASE("a member whose file ends is failed and never written back", "[read-error]") {
  for (int level : {1, 10}) {
    CAPTURE(level);
    Rig rig(level == 1 ? geometry(1, 2, 0, {2048, 2048}) : geometry(10, 4, 16, {2048, 2048, 2048, 2048}, 0x102));
    auto model = random_io(rig, 24, 10);
    rig.faulty[0]->end = 300 * 512;
    const int writes = rig.faulty[0]->writes;
    CHECK((read_from(rig, 0) == model));
    CHECK(rig.events.taken() == std::vector<std::pair<int, int>>{{0, kMemberGone}});
    CHECK(rig.events.read_errors.empty());  // failed at once, not counted
    CHECK(rig.faulty[0]->writes == writes);
  }
}

TEST_CASE("raid1: no mirror can read a sector: EIO, and the last mirror stays", "[read-error][raid1]") {
  Rig rig(geometry(1, 2, 0, {1024, 1024}));
  auto model = random_io(rig, 25, 10);
  rig.pers->fail(1);
  go_bad(rig, 0, 50, 1);
  std::vector<std::byte> got(4096);
  CHECK(rig.pers->read(48 * 512, got) == EIO);
  // Without a bad block log, md_error: raid1_error keeps the last mirror and
  // breaks the array.
  CHECK(rig.events.broken == std::vector<int>{0});
  CHECK(rig.events.taken().empty());
  CHECK(rig.pers->degraded() == 1);
  // The rest still reads.
  REQUIRE(rig.pers->read(0, got) == 0);
  CHECK(same(got, 0, model, 0, got.size()));
}

TEST_CASE("raid10: bad sectors of every layout are fixed from the other copy", "[read-error][raid10]") {
  for (int layout : {0x102, 0x201, 0x10201}) {
    CAPTURE(layout);
    Rig rig(geometry(10, 4, 16, {2048, 2048, 2048, 2048}, layout));
    auto model = random_io(rig, 26, 30);
    // Two pages of each member, read by the pieces (chunks) that hold them.
    for (int role = 0; role < 4; ++role) go_bad(rig, role, 40 + 96 * role, 16);
    for (int role = 0; role < 4; ++role) CHECK((read_from(rig, role) == model));
    for (int role = 0; role < 4; ++role) {
      CHECK(rig.faulty[role]->bad_sectors() == 0);
      CHECK(rig.events.corrected[role] == 16);
    }
    CHECK(rig.events.taken().empty());
    check_copies(rig, model);
  }
}

namespace {

// 32 KiB chunks (8 pages), left-symmetric.
Geometry parity_geometry(int level, int disks) {
  return geometry(level, disks, 64, std::vector<uint64_t>(disks, 1024), 2);
}

// Stripes whose P (and Q) disagree with their data (chunk 16 sectors).
int bad_stripes(Rig& rig) {
  auto layout = *Raid5Layout::make(rig.geo.level, rig.geo.layout, rig.geo.raid_disks, rig.geo.chunk_sectors);
  const size_t chunk = rig.geo.chunk_sectors * kSectorSize;
  std::vector<std::byte> p(chunk), q(chunk);
  int bad = 0;
  for (uint64_t s = 0; s < rig.geo.member_sectors[0] / rig.geo.chunk_sectors; ++s) {
    const StripeRoles r = layout.roles(s);
    std::vector<const std::byte*> data;
    for (int k = 0; k < layout.data_disks(); ++k) data.push_back(rig.mem[r.data[k]]->data().data() + s * chunk);
    if (r.q >= 0) parity::gen_pq(data, r.q_exp, p.data(), q.data(), chunk);
    else parity::gen_p(data, p.data(), chunk);
    bad += std::memcmp(p.data(), rig.mem[r.p]->data().data() + s * chunk, chunk) != 0;
    if (r.q >= 0) bad += std::memcmp(q.data(), rig.mem[r.q]->data().data() + s * chunk, chunk) != 0;
  }
  return bad;
}

}  // namespace

TEST_CASE("raid4/5/6: a bad data sector is rebuilt from parity and rewritten", "[read-error][raid5]") {
  for (int level : {4, 5, 6}) {
    CAPTURE(level);
    // Seven members, so that a one-sector write reads old data and parity
    // (read-modify-write) on every level.
    Rig rig(parity_geometry(level, 7));
    auto model = random_io(rig, 27, 20);
    auto layout = *Raid5Layout::make(level, 2, 7, 64);
    const StripeRoles r = layout.roles(0);
    // Three sectors of page `role` of stripe 0 on each member: no page is
    // bad on two members. Q (never read here) keeps its bytes.
    for (int role = 0; role < 7; ++role) go_bad(rig, role, 8 * role + 3, 3, role == r.q);
    CHECK((read_all(rig) == model));
    for (int k = 0; k < layout.data_disks(); ++k) {
      // The data pages were read, rebuilt and rewritten: a page each.
      CHECK(rig.faulty[r.data[k]]->bad_sectors() == 0);
      CHECK(rig.events.corrected[r.data[k]] == 8);
    }
    // Parity is not read by reads: it stays bad.
    CHECK(rig.faulty[r.p]->bad_sectors() == 3);
    CHECK(rig.events.taken().empty());
    CHECK(rig.pers->degraded() == 0);
    // A write of one sector of P's bad page reads the old parity there:
    // its page is computed from the data and rewritten first.
    const uint64_t at = (8 * r.p + 4) * 512;
    std::vector<std::byte> one(512, std::byte{0x42});
    REQUIRE(rig.pers->write(at, one) == 0);
    std::copy(one.begin(), one.end(), model.begin() + at);
    CHECK(rig.faulty[r.p]->bad_sectors() == 0);
    CHECK(rig.events.corrected[r.p] == 8);
    CHECK((read_all(rig) == model));
    CHECK(bad_stripes(rig) == 0);
  }
}

TEST_CASE("raid6: two members bad in one page are both rebuilt; raid5 fails both", "[read-error][raid5]") {
  for (int level : {5, 6}) {
    CAPTURE(level);
    Rig rig(parity_geometry(level, 5));
    auto model = random_io(rig, 28, 20);
    auto layout = *Raid5Layout::make(level, 2, 5, 16);
    const StripeRoles r = layout.roles(0);
    go_bad(rig, r.data[0], 0, 8);
    go_bad(rig, r.data[1], 0, 8);
    std::vector<std::byte> got(2 * 64 * 512);
    if (level == 6) {
      REQUIRE(rig.pers->read(0, got) == 0);
      CHECK(same(got, 0, model, 0, got.size()));
      CHECK(rig.events.corrected[r.data[0]] == 8);
      CHECK(rig.events.corrected[r.data[1]] == 8);
      CHECK(rig.events.taken().empty());
      CHECK(bad_stripes(rig) == 0);
    } else {
      // More lost than parity covers: EIO, and each member that failed the
      // page gets md_error (handle_failed_stripe, no bad block log).
      CHECK(rig.pers->read(0, got) == EIO);
      auto failed = rig.events.taken();
      std::sort(failed.begin(), failed.end());
      std::vector<std::pair<int, int>> want{{r.data[0], EIO}, {r.data[1], EIO}};
      std::sort(want.begin(), want.end());
      CHECK(failed == want);
    }
  }
}

TEST_CASE("past max_read_errors the member is failed, its data read elsewhere", "[read-error]") {
  for (int level : {1, 5}) {
    CAPTURE(level);
    Rig rig(level == 1 ? geometry(1, 2, 0, {1024, 1024}) : parity_geometry(5, 4));
    auto model = random_io(rig, 23, 10);
    rig.events.policy = ReadErrorPolicy::kFail;
    // raid5 left-symmetric: member sector 100 of role 1 is stripe 1's data.
    go_bad(rig, 1, 100, 1);
    const int writes = rig.faulty[1]->writes;
    CHECK((read_from(rig, 1) == model));
    CHECK(rig.events.taken() == std::vector<std::pair<int, int>>{{1, EIO}});
    CHECK(rig.faulty[1]->writes == writes);
    CHECK(rig.pers->degraded() == 1);
  }
}

// raid1 and raid10 fix with array writes frozen (raid4/5/6 with the stripe
// held): a fix must never put back bytes older than a write that raced it.
// One reader makes sectors of member 0 bad and reads them (so no other fix
// rewrites a page between its making and its reading); two writers rewrite
// the array in rounds meanwhile.
TEST_CASE("fixes never write back data older than a racing write", "[read-error][threads]") {
  for (int level : {1, 10}) {
    CAPTURE(level);
    Rig rig(level == 1 ? geometry(1, 2, 0, {512, 512}) : geometry(10, 2, 16, {512, 512}, 0x102));
    const uint64_t size = rig.size();
    std::vector<std::byte> zero(size);
    REQUIRE(rig.pers->write(0, zero) == 0);
    std::atomic<bool> stop{false};
    std::atomic<int> fixes{0};
    std::thread reader([&] {
      std::mt19937_64 rng(100);
      std::vector<std::byte> buf(4096);
      while (!stop) {
        const uint64_t off = rng() % (size / 4096) * 4096;
        rig.faulty[0]->add_bad(off / kSectorSize, 8);
        CHECK(rig.pers->reread(off, buf, 0) == 0);
        ++fixes;
      }
    });
    // Each writer goes on until the reader has fixed 200 pages.
    std::vector<std::thread> writers;
    std::byte last[2];
    for (int t = 0; t < 2; ++t) {
      writers.emplace_back([&, t] {
        std::vector<std::byte> buf(4096);
        for (int round = 1; round <= 50 || fixes < 200; ++round) {
          last[t] = std::byte(round);
          std::fill(buf.begin(), buf.end(), last[t]);
          for (uint64_t off = t * 4096; off + 4096 <= size; off += 8192) CHECK(rig.pers->write(off, buf) == 0);
        }
      });
    }
    for (auto& w : writers) w.join();
    stop = true;
    reader.join();
    CHECK(rig.events.taken().empty());
    std::vector<std::byte> model(size);
    for (uint64_t off = 0; off < size; off += 4096) std::fill_n(model.begin() + off, 4096, last[off / 4096 % 2]);
    CHECK((read_all(rig) == model));
    check_copies(rig, model);
  }
}

TEST_CASE("a check meets bad sectors: rewritten from redundancy, no mismatch, nothing failed", "[read-error][sync]") {
  struct Case {
    const char* what;
    Geometry geo;
  };
  const Case cases[] = {
      {"raid1", geometry(1, 3, 0, {1024, 1024, 1024})},
      {"raid10 near", geometry(10, 4, 16, {1024, 1024, 1024, 1024}, 0x102)},
      {"raid5", parity_geometry(5, 4)},
      {"raid6", parity_geometry(6, 5)},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    Rig rig(c.geo);
    auto model = random_io(rig, 30, 10);
    // A page of each member: the sync reads every copy and every chunk.
    for (int role = 0; role < rig.geo.raid_disks; ++role) go_bad(rig, role, 64 + 8 * role, 8);
    rig.pers->set_syncing(true);
    const SyncResult r = rig.pers->sync_window(SyncKind::kCheck, 0, rig.pers->sync_sectors());
    rig.pers->set_syncing(false);
    CHECK(r.error == 0);
    CHECK(r.mismatches == 0);
    for (int role = 0; role < rig.geo.raid_disks; ++role) {
      CHECK(rig.faulty[role]->bad_sectors() == 0);
      CHECK(rig.events.corrected[role] == 8);
    }
    CHECK(rig.events.taken().empty());
    CHECK((read_all(rig) == model));
  }
}
