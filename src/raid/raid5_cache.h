// raid4/5/6's stripe cache (raid5.c's stripe heads), write-through: partial
// writes to one stripe that are in flight together are gathered into one
// stripe entry and written as one, so a stripe that fills is written by
// reconstruct-write with no member reads and one that does not needs one
// read-modify-write or reconstruct-write for all of them. Nothing is kept
// after it is written: a write is answered only once its stripe is on the
// members, so fsync, FUA and a kill -9 mean what they meant without the
// cache. Raid5 (raid5_cache.cc) drives it; this file holds the entries.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace mdfs::raid::r5 {

// Stripes larger than this (huge chunks on many members) are not cached:
// each entry holds the stripe's data in memory.
constexpr uint64_t kMaxCachedStripeBytes = 16 << 20;

// One stripe's gathered writes. Found through StripeCache while open; the
// writes that joined it hold it (shared_ptr) until it is written.
struct CachedStripe {
  CachedStripe(uint64_t s, std::byte* buf, size_t chunks) : stripe(s), data(buf), covered(chunks) {}
  const uint64_t stripe;
  std::byte* const data;  // the stripe's data chunks in array order

  // Guards what follows; taken without any other lock held (the cache's
  // shard locks are never held while waiting for it, nor it for them).
  std::mutex mutex;
  std::condition_variable changed;  // a write copied in, copies ended, or done
  // Per data chunk, the bytes written so far: sorted, disjoint, not
  // touching [lo, hi) ranges.
  std::vector<std::vector<std::pair<size_t, size_t>>> covered;
  bool done = false;
  int result = 0;
  // Writes that found the entry open and have not copied yet; raised under
  // the shard lock while the entry is in the map, so once the leader took
  // it out only falls.
  std::atomic<int> copying{0};
};

class StripeCache {
 public:
  StripeCache(size_t stripe_bytes, size_t chunks) : stripe_bytes_(stripe_bytes), chunks_(chunks) {}
  ~StripeCache();
  StripeCache(const StripeCache&) = delete;
  StripeCache& operator=(const StripeCache&) = delete;

  // The open entry of `stripe`, with its copying count raised; else a new
  // one (*leader set) when fewer than `limit` are in use; else nullptr.
  std::shared_ptr<CachedStripe> join(uint64_t stripe, unsigned limit, bool* leader);
  // The leader takes its entry out of the map: later writes to the stripe
  // open a new one, written after this one (the stripe lock orders them).
  void close(const std::shared_ptr<CachedStripe>& entry);
  // The leader is done with the entry: its buffer is kept for the next.
  void release(CachedStripe& entry);
  unsigned active() const { return active_.load(std::memory_order_relaxed); }

 private:
  std::byte* take_buffer();

  const size_t stripe_bytes_;
  const size_t chunks_;  // data chunks of a stripe
  // Entries in use (open or being written): stripe_cache_active.
  std::atomic<unsigned> active_{0};
  // Each shard's mutex guards its map of open entries (stripe number mod
  // kShards); held only to look up, add or remove, never with an entry's
  // mutex, so writes to different stripes meet only here, briefly.
  static constexpr size_t kShards = 64;
  struct Shard {
    std::mutex mutex;
    std::unordered_map<uint64_t, std::shared_ptr<CachedStripe>> open;
  };
  std::array<Shard, kShards> shards_;
  // free_mutex_ guards free_: a few stripe buffers kept for reuse, so a
  // write does not map and fault in fresh memory. A leaf lock.
  static constexpr size_t kFreeBuffers = 16;
  std::mutex free_mutex_;
  std::vector<std::byte*> free_;
};

}  // namespace mdfs::raid::r5
