// raid4/5/6's write path through the stripe cache (raid5_cache.h): whole
// stripes of a write go straight to write_range; its partial stripes (at
// most its first and last) join their stripe's entry, where the writes in
// flight to that stripe meet, and the first of them (the leader) writes the
// entry with what has joined by then, without waiting for more (measured:
// a wait for neighbours cost 64 KiB writes at queue depth 16 half their
// speed, and gained 1 MiB ones little); handle_stripe_dirtying's choice
// picks reconstruct-write (no reads when full) or read-modify-write by the
// reads each needs.

#include "raid/raid5_impl.h"

namespace mdfs::raid::r5 {

namespace {

// Adds [lo, hi) to a chunk's sorted, disjoint ranges.
void cover(std::vector<std::pair<size_t, size_t>>& ranges, size_t lo, size_t hi) {
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

int Raid5::do_write(uint64_t offset, std::span<const std::byte> in) {
  if (!in_array(offset, in.size())) return EINVAL;
  const uint64_t stripe_bytes = chunk_bytes_ * static_cast<uint64_t>(data_disks_);
  const unsigned limit = cache_on_ ? events_.stripe_cache_size() : 0;
  if (limit == 0 || stripe_bytes > kMaxCachedStripeBytes || in.empty()) return write_range(offset, in);

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
      r = cache_finish(p.entry, p.leader);
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
    cover(entry->covered[k], lo, hi);
    pos += hi - lo;
  }
  entry->copying.fetch_sub(1);
  entry->changed.notify_all();
  return true;
}

int Raid5::cache_finish(const std::shared_ptr<CachedStripe>& entry, bool leader) {
  if (!leader) {
    std::unique_lock lock(entry->mutex);
    entry->changed.wait(lock, [&] { return entry->done; });
    return entry->result;
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
