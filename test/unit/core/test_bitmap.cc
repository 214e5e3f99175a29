// The write-intent bitmap's rules (core/bitmap.h), as md-bitmap.c keeps
// them, on areas in memory: a bit is on every member before a write goes
// on, the daemon clears it two passes after the chunk's last write and a
// pass later on the members, an incomplete write or a degraded array keeps
// it, a resync or recovery takes it back, and the load rules at start.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "core/bitmap.h"

using namespace mdfs;
using namespace mdfs::core;

namespace {

constexpr uint64_t kChunkSectors = 128;  // 64 KiB chunks
constexpr uint64_t kChunks = 40000;  // two pages of bits, 20 pages of counters
constexpr uint64_t kSyncSectors = kChunks * kChunkSectors;

// A member's copy of the bitmap in memory; writes and flushes counted,
// failing on demand.
class MemArea final : public BitmapArea {
 public:
  int write(uint64_t offset, std::span<const std::byte> bytes, bool durable) override {
    std::lock_guard lock(mutex_);
    ++writes;
    durable_writes += durable;
    if (fail) return EIO;
    if (data_.size() < offset + bytes.size()) data_.resize(offset + bytes.size());
    std::memcpy(data_.data() + offset, bytes.data(), bytes.size());
    return 0;
  }
  bool bit(uint64_t chunk) {
    std::lock_guard lock(mutex_);
    const uint64_t at = format::kBitmapSuperBytes + chunk / 8;
    return at < data_.size() && (std::to_integer<unsigned>(data_[at]) >> (chunk % 8)) & 1;
  }
  format::BitmapSuper super() {
    std::lock_guard lock(mutex_);
    auto sb = format::parse_bitmap_super(data_);
    REQUIRE(sb.ok());
    return *sb;
  }
  uint64_t dirty(uint64_t chunks) {
    std::lock_guard lock(mutex_);
    return format::bitmap_dirty_bits(std::span<const std::byte>(data_).subspan(format::kBitmapSuperBytes), chunks);
  }
  std::atomic<int> writes{0};
  std::atomic<int> durable_writes{0};
  std::atomic<bool> fail{false};

 private:
  std::mutex mutex_;
  std::vector<std::byte> data_;
};

format::BitmapSuper super_at(uint64_t events, uint64_t cleared) {
  format::BitmapSuper sb = format::new_bitmap_super({1, 2, 3}, kSyncSectors, kChunkSectors * 512);
  sb.events = events;
  sb.events_cleared = cleared;
  return sb;
}

// The image as a member holds it: superblock, then the bits.
std::vector<std::byte> image_with(const format::BitmapSuper& sb, std::initializer_list<uint64_t> set) {
  std::vector<std::byte> img(format::kBitmapSuperBytes + (sb.sync_size / (sb.chunksize / 512) + 7) / 8);
  auto head = format::serialize_bitmap_super(sb);
  std::memcpy(img.data(), head->data(), head->size());
  for (uint64_t c : set) img[format::kBitmapSuperBytes + c / 8] |= std::byte{static_cast<uint8_t>(1u << (c % 8))};
  return img;
}

struct Rig {
  explicit Rig(BitmapStart start = {kSyncSectors, 10, ~uint64_t{0}, false},
               std::vector<std::byte> image = image_with(super_at(10, 10), {}))
      : bitmap(super_at(10, 10), image, start) {
    for (int i = 0; i < 3; ++i) areas.push_back(std::make_shared<MemArea>());
    bitmap.set_areas({areas.begin(), areas.end()});
    update(start.events);
  }
  void update(uint64_t events) {
    std::vector<BitmapArea*> failed;
    bitmap.update_sb(events, failed);
    REQUIRE(failed.empty());
  }
  void pass() {
    std::vector<BitmapArea*> failed;
    bitmap.daemon_pass(failed);
    REQUIRE(failed.empty());
  }
  int start(uint64_t chunk) {
    std::vector<BitmapArea*> failed;
    return bitmap.start_write(chunk * kChunkSectors, chunk * kChunkSectors + 8, failed);
  }
  void end(uint64_t chunk, bool complete) { bitmap.end_write(chunk * kChunkSectors, chunk * kChunkSectors + 8, complete); }
  bool on_every_area(uint64_t chunk) {
    for (auto& a : areas)
      if (!a->bit(chunk)) return false;
    return true;
  }
  bool on_no_area(uint64_t chunk) {
    for (auto& a : areas)
      if (a->bit(chunk)) return false;
    return true;
  }
  Bitmap bitmap;
  std::vector<std::shared_ptr<MemArea>> areas;
};

}  // namespace

TEST_CASE("a write's bit is on every member before start_write returns, once per chunk", "[bitmap]") {
  Rig rig;
  const int writes = rig.areas[0]->writes;
  REQUIRE(rig.on_no_area(7));
  const int durable = rig.areas[0]->durable_writes;
  REQUIRE(rig.start(7) == 0);
  CHECK(rig.on_every_area(7));
  CHECK(rig.bitmap.counter(7) == 3);
  CHECK(rig.areas[0]->writes == writes + 1);
  CHECK(rig.areas[0]->durable_writes == durable + 1);
  // A second write to the dirty chunk needs no I/O.
  REQUIRE(rig.start(7) == 0);
  CHECK(rig.areas[0]->writes == writes + 1);
  CHECK(rig.bitmap.counter(7) == 4);
  // A write spanning chunks counts in each.
  std::vector<BitmapArea*> failed;
  REQUIRE(rig.bitmap.start_write(9 * kChunkSectors + 100, 11 * kChunkSectors + 1, failed) == 0);
  for (uint64_t c : {9, 10, 11}) CHECK(rig.on_every_area(c));
  CHECK(rig.bitmap.pages().used == 1);
  CHECK(rig.bitmap.pages().total == 20);  // 2048 counters a page
}

TEST_CASE("the daemon clears a chunk two passes after its last write, on the members one pass later", "[bitmap]") {
  Rig rig;
  REQUIRE(rig.start(3) == 0);
  rig.end(3, true);
  CHECK(rig.bitmap.counter(3) == 2);
  rig.pass();
  CHECK(rig.bitmap.counter(3) == 1);
  CHECK(rig.on_every_area(3));
  rig.pass();
  CHECK(rig.bitmap.counter(3) == 0);
  CHECK(rig.on_every_area(3));  // cleared in memory, written with the next pass
  CHECK(rig.bitmap.dirty_bits() == 0);
  rig.pass();
  CHECK(rig.on_no_area(3));
  CHECK(rig.bitmap.all_clean());
  CHECK(rig.bitmap.pages().used == 0);
  const int writes = rig.areas[0]->writes;
  rig.pass();  // nothing left to do: no I/O
  CHECK(rig.areas[0]->writes == writes);
}

TEST_CASE("a chunk with a write in flight is never cleared", "[bitmap]") {
  Rig rig;
  REQUIRE(rig.start(5) == 0);
  REQUIRE(rig.start(5) == 0);
  rig.end(5, true);
  for (int i = 0; i < 5; ++i) rig.pass();
  CHECK(rig.on_every_area(5));
  CHECK(rig.bitmap.counter(5) == 3);
  rig.end(5, true);
  rig.pass();
  rig.pass();
  rig.pass();
  CHECK(rig.on_no_area(5));
}

TEST_CASE("a write that missed a member leaves its chunk NEEDED until a sync covers it", "[bitmap]") {
  Rig rig;
  REQUIRE(rig.start(8) == 0);
  rig.end(8, false);
  CHECK(rig.bitmap.counter(8) == (Bitmap::kNeeded | 2));
  for (int i = 0; i < 5; ++i) rig.pass();
  CHECK(rig.on_every_area(8));
  CHECK(rig.bitmap.next_needed(0, kSyncSectors) == 8 * kChunkSectors);
  CHECK(rig.bitmap.needed(8 * kChunkSectors, 9 * kChunkSectors));
  CHECK_FALSE(rig.bitmap.needed(0, 8 * kChunkSectors));
  // A recovery that leaves a role missing keeps it NEEDED.
  rig.bitmap.begin_sync(0, kSyncSectors, true);
  rig.bitmap.end_sync(kSyncSectors, false);
  CHECK(rig.bitmap.counter(8) == (Bitmap::kNeeded | 2));
  // One that makes the array whole: RESYNC while it runs, then clearable.
  rig.bitmap.begin_sync(8 * kChunkSectors, 8 * kChunkSectors + 64, false);
  CHECK(rig.bitmap.counter(8) == (Bitmap::kResync | 2));
  CHECK(rig.bitmap.next_needed(0, kSyncSectors) == 8 * kChunkSectors);
  rig.bitmap.end_sync(8 * kChunkSectors + 64, false);  // the chunk is not finished yet
  CHECK(rig.bitmap.counter(8) == (Bitmap::kResync | 2));
  rig.bitmap.end_sync(9 * kChunkSectors, false);
  CHECK(rig.bitmap.counter(8) == 2);
  for (int i = 0; i < 3; ++i) rig.pass();
  CHECK(rig.on_no_area(8));
}

TEST_CASE("a sync that reaches the end finishes a last chunk the sync space cuts short", "[bitmap]") {
  // 40 chunks and a half: the last chunk ends 64 sectors past the array.
  const uint64_t sectors = 40 * kChunkSectors + 64;
  format::BitmapSuper sb = format::new_bitmap_super({1, 2, 3}, sectors, kChunkSectors * 512);
  sb.events = sb.events_cleared = 10;
  std::vector<std::byte> image(format::kBitmapSuperBytes + 6);
  std::memcpy(image.data(), format::serialize_bitmap_super(sb)->data(), format::kBitmapSuperBytes);
  Bitmap bitmap(sb, image, {sectors, 10, ~uint64_t{0}, false});
  std::vector<BitmapArea*> failed;
  REQUIRE(bitmap.start_write(40 * kChunkSectors, 40 * kChunkSectors + 8, failed) == 0);
  bitmap.end_write(40 * kChunkSectors, 40 * kChunkSectors + 8, false);
  REQUIRE(bitmap.counter(40) == (Bitmap::kNeeded | 2));
  bitmap.begin_sync(0, sectors, false);
  bitmap.end_sync(sectors, false);
  CHECK(bitmap.counter(40) == 2);  // clearable, not RESYNC for ever
}

TEST_CASE("an aborted sync gives the unfinished chunks back to NEEDED", "[bitmap]") {
  Rig rig;
  for (uint64_t c : {2, 3, 4}) {
    REQUIRE(rig.start(c) == 0);
    rig.end(c, false);
  }
  rig.bitmap.begin_sync(2 * kChunkSectors, 5 * kChunkSectors, false);
  rig.bitmap.end_sync(3 * kChunkSectors + 10, true);
  CHECK(rig.bitmap.counter(2) == 2);                        // finished
  CHECK(rig.bitmap.counter(3) == (Bitmap::kNeeded | 2));    // half done
  CHECK(rig.bitmap.counter(4) == (Bitmap::kNeeded | 2));    // begun, not reached
  rig.bitmap.clear_needed();
  CHECK(rig.bitmap.counter(3) == 2);
}

TEST_CASE("events_cleared follows a complete write on a whole array, reaching the members first", "[bitmap]") {
  BitmapStart start{kSyncSectors, 12, ~uint64_t{0}, false};
  format::BitmapSuper sb = super_at(12, 4);
  Bitmap bitmap(sb, image_with(sb, {}), start);
  auto area = std::make_shared<MemArea>();
  bitmap.set_areas({area});
  std::vector<BitmapArea*> failed;
  bitmap.update_sb(12, failed);
  CHECK(area->super().events_cleared == 4);
  CHECK(bitmap.start_write(0, 8, failed) == 0);
  bitmap.end_write(0, 8, true);
  CHECK(bitmap.need_sync());
  CHECK(bitmap.events_cleared() == 12);
  bitmap.daemon_pass(failed);
  CHECK_FALSE(bitmap.need_sync());
  CHECK(area->super().events_cleared == 12);
  // Degraded: a complete write does not move it.
  bitmap.set_degraded(true);
  bitmap.update_sb(15, failed);
  CHECK(bitmap.start_write(0, 8, failed) == 0);
  bitmap.end_write(0, 8, true);
  CHECK(bitmap.events_cleared() == 12);
  CHECK_FALSE(bitmap.need_sync());
  // A clean array's events stepping back pull it back with them.
  bitmap.update_sb(11, failed);
  CHECK(bitmap.events_cleared() == 11);
  CHECK(area->super().events_cleared == 11);
  CHECK(area->super().events == 11);
}

TEST_CASE("load: set bits of a clean array are cleared, of an unclean one resynced", "[bitmap]") {
  const auto img = image_with(super_at(10, 10), {1, 4000});
  Rig clean({kSyncSectors, 10, ~uint64_t{0}, false}, img);
  CHECK(clean.bitmap.counter(1) == 2);
  CHECK(clean.bitmap.counter(4000) == 2);
  CHECK(clean.bitmap.next_needed(0, kSyncSectors) == kSyncSectors);
  CHECK(clean.bitmap.pages().used == 2);
  for (int i = 0; i < 3; ++i) clean.pass();
  CHECK(clean.on_no_area(1));
  CHECK(clean.on_no_area(4000));

  // Resync stopped at chunk 100: set bits from there on are NEEDED.
  Rig unclean({kSyncSectors, 10, 100 * kChunkSectors, false}, img);
  CHECK(unclean.bitmap.counter(1) == 2);
  CHECK(unclean.bitmap.counter(4000) == (Bitmap::kNeeded | 2));
}

TEST_CASE("load: a degraded array keeps every set bit for a re-add", "[bitmap]") {
  format::BitmapSuper sb = super_at(10, 4);  // cleared at 4, array at 10
  Bitmap bitmap(sb, image_with(sb, {6, 7}), BitmapStart{kSyncSectors, 10, ~uint64_t{0}, true});
  CHECK(bitmap.counter(6) == (Bitmap::kNeeded | 2));
  CHECK(bitmap.counter(7) == (Bitmap::kNeeded | 2));
  CHECK(bitmap.events_cleared() == 4);
  // events_cleared caught up: nothing to keep for anyone.
  format::BitmapSuper current = super_at(10, 10);
  Bitmap caught_up(current, image_with(current, {6}), BitmapStart{kSyncSectors, 10, ~uint64_t{0}, true});
  CHECK(caught_up.counter(6) == 2);
}

TEST_CASE("load: a bitmap behind the array is out of date: all set, rewritten, events_cleared now", "[bitmap]") {
  format::BitmapSuper sb = super_at(7, 3);
  Bitmap bitmap(sb, image_with(sb, {}), BitmapStart{kSyncSectors, 9, 0, false});
  CHECK(bitmap.dirty_bits() == kChunks);
  CHECK(bitmap.events_cleared() == 9);
  CHECK(bitmap.counter(0) == (Bitmap::kNeeded | 2));  // unclean: a full resync
  auto area = std::make_shared<MemArea>();
  bitmap.set_areas({area});
  std::vector<BitmapArea*> failed;
  bitmap.update_sb(9, failed);
  CHECK(area->dirty(kChunks) == kChunks);
  CHECK(area->super().state == 0);
  CHECK(area->super().events == 9);
  // mdadm's new bitmap (events 0) loads the same way.
  auto fresh = Bitmap::fresh(super_at(0, 0), BitmapStart{kSyncSectors, 9, ~uint64_t{0}, false});
  CHECK(fresh->dirty_bits() == kChunks);
  CHECK(fresh->counter(kChunks - 1) == 2);
}

TEST_CASE("a member whose bitmap write fails is reported; the others still get the bit", "[bitmap]") {
  Rig rig;
  rig.areas[1]->fail = true;
  std::vector<BitmapArea*> failed;
  REQUIRE(rig.bitmap.start_write(0, 8, failed) == 0);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0] == rig.areas[1].get());
  CHECK(rig.areas[0]->bit(0));
  CHECK(rig.areas[2]->bit(0));
  for (auto& a : rig.areas) a->fail = true;
  failed.clear();
  CHECK(rig.bitmap.start_write(kChunkSectors, kChunkSectors + 8, failed) == EIO);
}

TEST_CASE("a new member gets every page, then only what changes", "[bitmap]") {
  Rig rig;
  REQUIRE(rig.start(35000) == 0);  // the second page of bits
  auto late = std::make_shared<MemArea>();
  std::vector<std::shared_ptr<BitmapArea>> areas(rig.areas.begin(), rig.areas.end());
  areas.push_back(late);
  rig.bitmap.set_areas(areas);
  rig.update(10);
  CHECK(late->bit(35000));
  CHECK(late->super().events == 10);
  CHECK(late->writes == 2);
}

TEST_CASE("writers racing on the same chunks never go on before their bit is on the members", "[bitmap]") {
  Rig rig;
  std::atomic<int> early{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<BitmapArea*> failed;
      for (int i = 0; i < 400; ++i) {
        const uint64_t c = rng() % 64;
        if (rig.bitmap.start_write(c * kChunkSectors, c * kChunkSectors + 8, failed) != 0) ++errors;
        if (!rig.on_every_area(c)) ++early;
        rig.end(c, true);
        if (i % 50 == 0) rig.bitmap.daemon_pass(failed);
      }
      if (!failed.empty()) ++errors;
    });
  }
  for (auto& th : threads) th.join();
  CHECK(errors == 0);
  CHECK(early == 0);
  // Every count went back: three passes clear everything.
  for (int i = 0; i < 3; ++i) rig.pass();
  CHECK(rig.bitmap.all_clean());
  CHECK(rig.areas[0]->dirty(kChunks) == 0);
}

// A member whose bitmap writes wait at a gate once it is closed.
class GateArea final : public BitmapArea {
 public:
  int write(uint64_t, std::span<const std::byte>, bool) override {
    std::unique_lock lock(mutex_);
    ++writes_;
    entered_.notify_all();
    opened_.wait(lock, [&] { return open_; });
    return 0;
  }
  void set_open(bool open) {
    {
      std::lock_guard lock(mutex_);
      open_ = open;
    }
    opened_.notify_all();
  }
  void wait_writes(int n) {
    std::unique_lock lock(mutex_);
    entered_.wait(lock, [&] { return writes_ >= n; });
  }
  int writes() {
    std::lock_guard lock(mutex_);
    return writes_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable entered_, opened_;
  bool open_ = true;
  int writes_ = 0;
};

TEST_CASE("writes that set bits while a flush is in flight share the next one", "[bitmap]") {
  // md_bitmap_unplug: one bitmap write carries every bit set before it.
  Bitmap bitmap(super_at(10, 10), image_with(super_at(10, 10), {}), {kSyncSectors, 10, ~uint64_t{0}, false});
  auto gate = std::make_shared<GateArea>();
  bitmap.set_areas({gate});
  std::vector<BitmapArea*> failed;
  bitmap.update_sb(10, failed);  // the new area gets every page
  const int base = gate->writes();
  gate->set_open(false);
  std::thread first([&] {
    std::vector<BitmapArea*> f;
    CHECK(bitmap.start_write(kChunkSectors, kChunkSectors + 8, f) == 0);
  });
  gate->wait_writes(base + 1);  // its flush is at the member
  std::vector<std::thread> later;
  for (uint64_t c = 2; c < 8; ++c) {
    later.emplace_back([&, c] {
      std::vector<BitmapArea*> f;
      CHECK(bitmap.start_write(c * kChunkSectors, c * kChunkSectors + 8, f) == 0);
    });
  }
  // Every later writer has counted its chunk (and set its bit) before the
  // gate opens.
  for (uint64_t c = 2; c < 8; ++c)
    while (bitmap.counter(c) != 3) std::this_thread::yield();
  gate->set_open(true);
  first.join();
  for (auto& t : later) t.join();
  CHECK(gate->writes() == base + 2);  // the first flush, then one for the six
}

TEST_CASE("a writer waits while its chunk's counter is full", "[bitmap]") {
  Rig rig;
  // The count starts at 2 with the bit set: 16381 writes fill it.
  for (int i = 0; i < Bitmap::kCounterMax - 2; ++i) REQUIRE(rig.start(1) == 0);
  CHECK(rig.bitmap.counter(1) == Bitmap::kCounterMax);
  std::atomic<bool> started{false};
  std::thread waiter([&] {
    std::vector<BitmapArea*> failed;
    rig.bitmap.start_write(kChunkSectors, kChunkSectors + 8, failed);
    started = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK_FALSE(started);
  rig.end(1, true);
  waiter.join();
  CHECK(started);
  CHECK(rig.bitmap.counter(1) == Bitmap::kCounterMax);
}

TEST_CASE("bitmap_set_bits: chunks NEEDED and written", "[bitmap]") {
  Rig rig;
  std::vector<BitmapArea*> failed;
  rig.bitmap.dirty_chunks(10, 12, failed);
  for (uint64_t c : {10, 11, 12}) {
    CHECK(rig.on_every_area(c));
    CHECK(rig.bitmap.counter(c) == (Bitmap::kNeeded | 2));
  }
  rig.bitmap.dirty_chunks(kChunks, kChunks + 10, failed);  // past the end: nothing
  CHECK(rig.bitmap.dirty_bits() == 3);
}

TEST_CASE("a resized bitmap keeps every dirty chunk, sets the grown space and drops what a shrink cuts", "[bitmap]") {
  // Chunks 3 and 10 on storage, 21 being written (a count, its bit set).
  Rig rig({kSyncSectors, 10, ~uint64_t{0}, false}, image_with(super_at(10, 10), {3, 10}));
  REQUIRE(rig.start(21) == 0);
  rig.end(21, true);
  const uint64_t events_cleared = rig.bitmap.events_cleared();

  SECTION("same chunk, grown by 100 chunks: the new space set from the old end on") {
    const uint64_t grown = kSyncSectors + 100 * kChunkSectors;
    auto bm = rig.bitmap.resized(grown, kChunkSectors * 512, {grown, 10, kSyncSectors, false});
    CHECK(bm->chunks() == kChunks + 100);
    CHECK(bm->dirty_bits() == 3 + 100);
    for (uint64_t c : {3, 10, 21}) CHECK(bm->counter(c) != 0);
    CHECK(bm->counter(4) == 0);
    CHECK(bm->counter(kChunks) == (Bitmap::kNeeded | 2));  // resynced from the old end
    CHECK(!bm->needed(3 * kChunkSectors, 4 * kChunkSectors));  // dirty, not owed a resync
    CHECK(bm->events_cleared() == events_cleared);
  }
  SECTION("chunk doubled: each old chunk's bit lands in the chunk that now covers it") {
    auto bm = rig.bitmap.resized(kSyncSectors, kChunkSectors * 1024, {kSyncSectors, 10, ~uint64_t{0}, false});
    CHECK(bm->chunk_sectors() == 2 * kChunkSectors);
    CHECK(bm->chunks() == kChunks / 2);
    CHECK(bm->dirty_bits() == 3);
    for (uint64_t c : {1, 5, 10}) CHECK(bm->counter(c) != 0);
  }
  SECTION("shrunk below chunk 10: only chunk 3 is left") {
    const uint64_t shrunk = 8 * kChunkSectors;
    auto bm = rig.bitmap.resized(shrunk, kChunkSectors * 512, {shrunk, 10, ~uint64_t{0}, false});
    CHECK(bm->chunks() == 8);
    CHECK(bm->dirty_bits() == 1);
    CHECK(bm->counter(3) != 0);
  }
}
