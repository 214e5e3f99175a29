// raid4/5/6's write path through the stripe cache (raid5_cache.h): whole
// stripes of a write go straight to write_range; its partial stripes (at
// most its first and last) join their stripe's entry, where the writes in
// flight to that stripe meet, and the first of them (the leader) writes the
// entry once it is full, or once nothing more is coming: as md's stripe
// heads wait on the delayed list until the stripe fills or the queue is
// unplugged, then handle_stripe_dirtying picks reconstruct-write (no reads
// when full) or read-modify-write by the reads each needs.
#include <chrono>

#include "raid/raid5_impl.h"

namespace mdfs::raid::r5 {

namespace {

// How long a leader waits for neighbours: it gives up once none joined for
// kIdle (kGrace when every write the array has in flight already waits in
// the cache, and more can only be on their way from the kernel), and at
// the latest after kMaxDelay (md's delayed stripes wait for the queue's
// unplug, a few ms at most). With no two writes in flight together lately
// (kConcurrent), as at queue depth 1, nobody can join: no wait at all.
constexpr auto kIdle = std::chrono::microseconds(400);
constexpr auto kGrace = std::chrono::microseconds(150);
constexpr auto kMaxDelay = std::chrono::milliseconds(4);
constexpr auto kPoll = std::chrono::microseconds(50);
constexpr auto kConcurrent = std::chrono::milliseconds(50);
constexpr int kMaxCredit = 16;
constexpr unsigned kProbe = 16;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Adds [lo, hi) to a chunk's sorted, disjoint ranges; answers the bytes
// newly covered.
size_t cover(std::vector<std::pair<size_t, size_t>>& ranges, size_t lo, size_t hi) {
  size_t before = 0;
  for (const auto& r : ranges) before += r.second - r.first;
  std::vector<std::pair<size_t, size_t>> out;
  out.reserve(ranges.size() + 1);
  bool placed = false;
  for (const auto& r : ranges) {
    if (r.second < lo) {
      out.push_back(r);
    } else if (hi < r.first) {
      if (!placed) out.emplace_back(lo, hi);
      placed = true;
      out.push_back(r);
    } else {  // touching or overlapping: merged into the new range
      lo = std::min(lo, r.first);
      hi = std::max(hi, r.second);
    }
  }
  if (!placed) out.emplace_back(lo, hi);
  std::sort(out.begin(), out.end());
  ranges.swap(out);
  size_t after = 0;
  for (const auto& r : ranges) after += r.second - r.first;
  return after - before;
}

}  // namespace

StripeCache::~StripeCache() {
  for (std::byte* p : free_) std::free(p);
}

std::byte* StripeCache::take_buffer() {
  {
    std::lock_guard lock(free_mutex_);
    if (!free_.empty()) {
      std::byte* p = free_.back();
      free_.pop_back();
      return p;
    }
  }
  return static_cast<std::byte*>(std::aligned_alloc(kAlign, round_up(stripe_bytes_)));
}

std::shared_ptr<CachedStripe> StripeCache::join(uint64_t stripe, unsigned limit, bool* leader) {
  Shard& shard = shards_[stripe % kShards];
  {
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.open.find(stripe); it != shard.open.end()) {
      it->second->copying.fetch_add(1);
      *leader = false;
      return it->second;
    }
  }
  // A new entry: counted first, so the limit holds however many race here.
  if (active_.fetch_add(1) >= limit) {
    active_.fetch_sub(1);
    return nullptr;
  }
  std::byte* buf = take_buffer();
  if (!buf) {
    active_.fetch_sub(1);
    return nullptr;
  }
  auto entry = std::make_shared<CachedStripe>(stripe, buf, chunks_);
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.open.find(stripe); it != shard.open.end()) {
    // Another write opened it meanwhile: join that one.
    it->second->copying.fetch_add(1);
    *leader = false;
    std::lock_guard free_lock(free_mutex_);
    free_.push_back(buf);
    active_.fetch_sub(1);
    return it->second;
  }
  entry->copying.store(1);
  shard.open.emplace(stripe, entry);
  *leader = true;
  return entry;
}

void StripeCache::close(const std::shared_ptr<CachedStripe>& entry) {
  Shard& shard = shards_[entry->stripe % kShards];
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.open.find(entry->stripe); it != shard.open.end() && it->second == entry) shard.open.erase(it);
}

void StripeCache::release(CachedStripe& entry) {
  {
    std::lock_guard lock(free_mutex_);
    if (free_.size() < kFreeBuffers) {
      free_.push_back(entry.data);
    } else {
      std::free(entry.data);
    }
  }
  active_.fetch_sub(1);
}

bool Raid5::near_recent_write(uint64_t lo, uint64_t hi) {
  const uint64_t stripe_bytes = chunk_bytes_ * static_cast<uint64_t>(data_disks_);
  bool near = false;
  for (size_t i = 0; i < kRecent && !near; ++i) {
    const uint64_t rlo = recent_lo_[i].load(std::memory_order_relaxed);
    const uint64_t rhi = recent_hi_[i].load(std::memory_order_relaxed);
    near = rhi != 0 && rhi + stripe_bytes >= lo && rlo <= hi + stripe_bytes;
  }
  const size_t slot = recent_next_.fetch_add(1, std::memory_order_relaxed) % kRecent;
  recent_lo_[slot].store(lo, std::memory_order_relaxed);
  recent_hi_[slot].store(hi, std::memory_order_relaxed);
  return near;
}

int Raid5::do_write(uint64_t offset, std::span<const std::byte> in) {
  if (!in_array(offset, in.size())) return EINVAL;
  const uint64_t stripe_bytes = chunk_bytes_ * static_cast<uint64_t>(data_disks_);
  const unsigned limit = cache_on_ ? events_.stripe_cache_size() : 0;
  if (limit == 0 || stripe_bytes > kMaxCachedStripeBytes || in.empty()) return write_range(offset, in);

  struct InFlight {
    std::atomic<int>& n;
    explicit InFlight(std::atomic<int>& c) : n(c) { n.fetch_add(1); }
    ~InFlight() { n.fetch_sub(1); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
  } inflight(writes_inflight_);
  if (writes_inflight_.load() > 1) last_concurrent_ns_.store(now_ns(), std::memory_order_relaxed);
  const bool stream = near_recent_write(offset, offset + in.size());

  // The write's partial stripes (its first and last) and its whole ones.
  const uint64_t end = offset + in.size();
  struct Piece {
    uint64_t lo, hi;
    std::shared_ptr<CachedStripe> entry;
    bool leader = false;
  };
  std::array<Piece, 2> pieces{};
  size_t npieces = 0;
  uint64_t pos = offset;
  if (offset % stripe_bytes != 0) {
    pos = std::min(end, (offset / stripe_bytes + 1) * stripe_bytes);
    pieces[npieces++] = {offset, pos, nullptr, false};
  }
  const uint64_t whole_end = end / stripe_bytes * stripe_bytes;
  const uint64_t whole_lo = pos;
  const uint64_t whole_hi = std::max(pos, whole_end);
  if (whole_hi < end) pieces[npieces++] = {whole_hi, end, nullptr, false};

  // Joined first, so the whole stripes are written while neighbours gather.
  for (size_t i = 0; i < npieces; ++i) {
    Piece& p = pieces[i];
    cache_join(p.lo, in.subspan(p.lo - offset, p.hi - p.lo), p.entry, &p.leader);
  }
  int result = 0;
  if (whole_lo < whole_hi) result = write_range(whole_lo, in.subspan(whole_lo - offset, whole_hi - whole_lo));
  // Entries this write leads first: a leader waiting as a joiner elsewhere
  // would hold up its own joiners.
  if (npieces == 2 && pieces[1].leader && !pieces[0].leader) std::swap(pieces[0], pieces[1]);
  for (size_t i = 0; i < npieces; ++i) {
    Piece& p = pieces[i];
    int r;
    if (p.entry) {
      writes_parked_.fetch_add(1);
      r = cache_finish(p.entry, p.leader, stream);
      writes_parked_.fetch_sub(1);
    } else {
      r = write_range(p.lo, in.subspan(p.lo - offset, p.hi - p.lo));
    }
    if (result == 0) result = r;
  }
  return result;
}

bool Raid5::cache_join(uint64_t offset, std::span<const std::byte> in, std::shared_ptr<CachedStripe>& entry,
                       bool* leader) {
  const uint64_t stripe_bytes = chunk_bytes_ * static_cast<uint64_t>(data_disks_);
  const uint64_t stripe = offset / stripe_bytes;
  entry = cache_.join(stripe, events_.stripe_cache_size(), leader);
  if (!entry) return false;
  const size_t at = static_cast<size_t>(offset - stripe * stripe_bytes);
  std::lock_guard lock(entry->mutex);
  std::memcpy(entry->data + at, in.data(), in.size());
  for (size_t pos = at; pos < at + in.size();) {
    const size_t k = pos / chunk_bytes_;
    const size_t lo = pos % chunk_bytes_;
    const size_t hi = std::min(chunk_bytes_, lo + (at + in.size() - pos));
    entry->covered_bytes += cover(entry->covered[k], lo, hi);
    pos += hi - lo;
  }
  ++entry->writers;
  entry->copying.fetch_sub(1);
  entry->changed.notify_all();
  return true;
}

int Raid5::cache_finish(const std::shared_ptr<CachedStripe>& entry, bool leader, bool wait_for_more) {
  const size_t stripe_bytes = chunk_bytes_ * static_cast<size_t>(data_disks_);
  if (!leader) {
    std::unique_lock lock(entry->mutex);
    entry->changed.wait(lock, [&] { return entry->done; });
    return entry->result;
  }
  {
    // Neighbours may join while the stripe is not full, writes came
    // together lately, and one joined lately.
    std::unique_lock lock(entry->mutex);
    const auto start = std::chrono::steady_clock::now();
    const bool concurrent =
        now_ns() - last_concurrent_ns_.load(std::memory_order_relaxed) <
        std::chrono::duration_cast<std::chrono::nanoseconds>(kConcurrent).count();
    auto last_join = start;
    int seen = entry->writers;
    // Waiting pays only while neighbours do come: after leaders waited in
    // vain, only every kProbe-th waits, until one finds company again.
    const int credit = gather_credit_.load(std::memory_order_relaxed);
    const bool worth = credit > 0 || probe_next_.fetch_add(1, std::memory_order_relaxed) % kProbe == 0;
    while (wait_for_more && concurrent && worth && entry->covered_bytes < stripe_bytes) {
      const auto now = std::chrono::steady_clock::now();
      if (entry->writers != seen) {
        seen = entry->writers;
        last_join = now;
      }
      const auto idle = writes_parked_.load() < writes_inflight_.load() ? kIdle : kGrace;
      if (now - last_join >= idle || now - start >= kMaxDelay) break;
      entry->changed.wait_for(lock, kPoll);
    }
  }
  {
    std::lock_guard lock(entry->mutex);
    const int credit = gather_credit_.load(std::memory_order_relaxed);
    gather_credit_.store(entry->writers > 1 ? std::min(kMaxCredit, credit + 2) : std::max(0, credit - 1),
                         std::memory_order_relaxed);
  }
  cache_.close(entry);
  int result;
  {
    // Writes that found the entry before it closed copy in first.
    std::unique_lock lock(entry->mutex);
    entry->changed.wait(lock, [&] { return entry->copying.load() == 0; });
  }
  // Nothing else touches the entry's data or coverage now.
  result = cache_flush(*entry);
  cache_.release(*entry);
  std::lock_guard lock(entry->mutex);
  entry->result = result;
  entry->done = true;
  entry->changed.notify_all();
  return result;
}

// Writes the entry's bytes. Each data chunk usually holds one range; where
// one holds several (writes with gaps between them), the entry is written
// in rounds, round r taking each chunk's r-th range, so that each round is
// a stripe write of one range per chunk as write_jobs plans them.
int Raid5::cache_flush(CachedStripe& entry) {
  size_t rounds = 0;
  for (const auto& ranges : entry.covered) rounds = std::max(rounds, ranges.size());
  for (size_t round = 0; round < rounds; ++round) {
    std::vector<StripeJob> jobs{StripeJob{entry.stripe, 0, chunk_bytes_, 0}};
    Parts parts(static_cast<size_t>(data_disks_));
    for (size_t k = 0; k < parts.size(); ++k) {
      if (round >= entry.covered[k].size()) continue;
      const auto [lo, hi] = entry.covered[k][round];
      parts[k] = ChunkPart{lo, hi, k * chunk_bytes_ + lo};
      jobs[0].lo = std::min(jobs[0].lo, lo);
      jobs[0].hi = std::max(jobs[0].hi, hi);
    }
    if (const int r = write_jobs(jobs, parts, entry.data); r != 0) return r;
  }
  return 0;
}

}  // namespace mdfs::raid::r5
