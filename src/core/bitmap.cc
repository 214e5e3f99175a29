#include "core/bitmap.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <thread>

namespace mdfs::core {

namespace {

// Sectors to chunks: a chunk of `chunk_bytes` (a power of two, at least a
// sector) is 1 << chunk_shift sectors.
unsigned chunk_shift(uint32_t chunk_bytes) {
  return static_cast<unsigned>(std::countr_zero(std::max<uint32_t>(chunk_bytes, 512) / 512));
}

}  // namespace

Bitmap::Bitmap(const format::BitmapSuper& sb, std::span<const std::byte> image, const BitmapStart& start)
    : sb_(sb) {
  shift_ = chunk_shift(sb.chunksize);
  chunks_ = format::bitmap_chunks(start.sync_sectors, sb.chunksize);
  bytes_ = format::kBitmapSuperBytes + (chunks_ + 7) / 8;
  file_pages_ = (bytes_ + kPageBytes - 1) / kPageBytes;
  image_.assign(file_pages_ * kPageBytes, std::byte{0xff});
  std::copy_n(image.begin(), std::min<size_t>(image.size(), image_.size()), image_.begin());
  file_flags_.assign(file_pages_, 0);
  page_seq_.assign(file_pages_, 0);
  const uint64_t counter_pages = (chunks_ + kCountersPerPage - 1) / kCountersPerPage;
  counters_.assign(chunks_, 0);
  page_count_.assign(counter_pages, 0);
  page_pending_.assign(counter_pages, 0);
  daemon_sleep_ms_ = uint64_t{sb.daemon_sleep} * 1000;
  sb_.sync_size = start.sync_sectors;
  events_ = start.events;
  // md_bitmap_read_sb: a bitmap behind the array (or marked stale) is out
  // of date, "forcing full recovery": every bit set and written back, and
  // events_cleared taken as the array's, so no member older than now can
  // be re-added through it.
  if (sb.events < start.events || (sb.state & format::kBitmapStale)) {
    sb_.events_cleared = start.events;
    std::fill(image_.begin() + format::kBitmapSuperBytes, image_.end(), std::byte{0xff});
    ++set_seq_;
    for (uint64_t p = 0; p < file_pages_; ++p) {
      file_flags_[p] |= kNeedWrite;
      page_seq_[p] = set_seq_;
    }
  }
  sb_.state = 0;
  write_behind_.store(sb_.write_behind);
  init_counters(start);
  put_super_locked();
}

std::unique_ptr<Bitmap> Bitmap::fresh(const format::BitmapSuper& sb, const BitmapStart& start) {
  format::BitmapSuper stale = sb;
  stale.events = 0;
  stale.events_cleared = 0;
  stale.state |= format::kBitmapStale;
  return std::make_unique<Bitmap>(stale, std::span<const std::byte>{}, start);
}

std::unique_ptr<Bitmap> Bitmap::resized(uint64_t sync_sectors, uint32_t chunk_bytes, const BitmapStart& start) const {
  format::BitmapSuper sb;
  std::vector<std::byte> image;
  {
    std::lock_guard lock(counts_mutex_);
    sb = sb_;
    sb.chunksize = chunk_bytes;
    sb.events = start.events;  // up to date: not loaded as stale
    const unsigned shift = chunk_shift(chunk_bytes);
    const uint64_t chunks = format::bitmap_chunks(sync_sectors, chunk_bytes);
    image.assign(format::kBitmapSuperBytes + (chunks + 7) / 8, std::byte{0});
    const auto set = [&image](uint64_t chunk) {
      const uint64_t bit = format::kBitmapSuperBytes * 8 + chunk;
      image[bit / 8] |= std::byte{static_cast<uint8_t>(1u << (bit % 8))};
    };
    for (uint64_t c = 0; c < chunks_; ++c) {
      const uint64_t bit = format::kBitmapSuperBytes * 8 + c;
      const bool on = ((std::to_integer<uint8_t>(image_[bit / 8]) >> (bit % 8)) & 1) != 0 || counters_[c] != 0;
      if (!on) continue;
      const uint64_t lo = c << shift_;
      if (lo >= sync_sectors) break;
      const uint64_t hi = std::min((c + 1) << shift_, sync_sectors);
      for (uint64_t n = lo >> shift; n <= (hi - 1) >> shift; ++n) set(n);
    }
    for (uint64_t n = sb_.sync_size >> shift; n < chunks; ++n) set(n);
  }
  auto bm = std::make_unique<Bitmap>(sb, image, BitmapStart{sync_sectors, start.events, start.recovery_cp,
                                                            start.degraded});
  bm->set_daemon_sleep_ms(daemon_sleep_ms_.load());
  bm->set_degraded(degraded_.load());
  bm->set_writable(writable_.load());
  bm->set_need_sync(need_sync());
  return bm;
}

// md_bitmap_load's start and md_bitmap_set_memory_bits for every set bit.
void Bitmap::init_counters(const BitmapStart& start) {
  const uint64_t from = (!start.degraded || sb_.events_cleared == start.events) ? start.recovery_cp : 0;
  for (uint64_t c = 0; c < chunks_; ++c) {
    const uint64_t bit = format::kBitmapSuperBytes * 8 + c;
    if (!(std::to_integer<uint8_t>(image_[bit / 8]) & (1u << (bit % 8)))) continue;
    counters_[c] = 2;
    if (((c + 1) << shift_) >= from) counters_[c] |= kNeeded;
    count_page_locked(c, +1);
    page_pending_[c / kCountersPerPage] = 1;
    all_clean_ = false;
  }
}

void Bitmap::put_super_locked() {
  sb_.daemon_sleep = static_cast<uint32_t>(std::max<uint64_t>(1, daemon_sleep_ms_.load() / 1000));
  auto head = format::serialize_bitmap_super(sb_);
  if (head) std::memcpy(image_.data(), head->data(), head->size());
}

void Bitmap::set_bit_locked(uint64_t chunk) {
  const uint64_t bit = format::kBitmapSuperBytes * 8 + chunk;
  image_[bit / 8] |= std::byte{static_cast<uint8_t>(1u << (bit % 8))};
  const uint64_t p = file_page(chunk);
  file_flags_[p] |= kDirty;
  page_seq_[p] = ++set_seq_;
}

void Bitmap::count_page_locked(uint64_t chunk, int delta) {
  page_count_[chunk / kCountersPerPage] += static_cast<uint32_t>(delta);
}

void Bitmap::mark_pending_locked(uint64_t chunk, bool& woke) {
  page_pending_[chunk / kCountersPerPage] = 1;
  if (all_clean_) woke = true;
  all_clean_ = false;
}

void Bitmap::notify_pending(bool woke) {
  if (!woke) return;
  std::function<void()> fn;
  {
    std::lock_guard lock(counts_mutex_);
    fn = on_pending_;
  }
  if (fn) fn();
}

void Bitmap::set_on_pending(std::function<void()> fn) {
  std::lock_guard lock(counts_mutex_);
  on_pending_ = std::move(fn);
}

uint64_t Bitmap::chunk_of(uint64_t sector) const { return std::min<uint64_t>(sector >> shift_, chunks_ - 1); }

int Bitmap::start_write(uint64_t lo, uint64_t hi, std::vector<BitmapArea*>& failed) {
  if (lo >= hi || chunks_ == 0) return 0;
  uint64_t need = 0;
  {
    std::unique_lock lock(counts_mutex_);
    for (uint64_t c = chunk_of(lo), last = chunk_of(hi - 1); c <= last; ++c) {
      // As md_bitmap_startwrite: a writer waits while the count is full.
      overflow_.wait(lock, [&] { return (counters_[c] & kCounterMax) != kCounterMax; });
      uint16_t& v = counters_[c];
      if (v == 0) {
        set_bit_locked(c);
        count_page_locked(c, +1);
      }
      if (v <= 1) v = 2;
      ++v;
      need = std::max(need, page_seq_[file_page(c)]);
    }
  }
  // Written whatever writable_ says: a write reaching the members means
  // the array is writable (read-auto switched on the way).
  if (durable_seq_.load(std::memory_order_acquire) >= need) return 0;
  std::lock_guard io(io_mutex_);
  // Another writer's flush may have carried these bits meanwhile.
  if (durable_seq_.load(std::memory_order_acquire) >= need) return 0;
  return write_pages_locked(failed);
}

void Bitmap::end_write(uint64_t lo, uint64_t hi, bool complete) {
  if (lo >= hi || chunks_ == 0) return;
  bool woke = false;
  {
    std::lock_guard lock(counts_mutex_);
    const bool degraded = degraded_.load();
    for (uint64_t c = chunk_of(lo), last = chunk_of(hi - 1); c <= last; ++c) {
      uint16_t& v = counters_[c];
      if ((v & kCounterMax) == 0) continue;  // never counted: nothing to undo
      if (complete && !degraded && sb_.events_cleared < events_) {
        sb_.events_cleared = events_;
        need_sync_ = true;
      }
      if (!complete) v |= kNeeded;
      if ((v & kCounterMax) == kCounterMax) overflow_.notify_all();
      --v;
      if (v <= 2) mark_pending_locked(c, woke);
    }
  }
  notify_pending(woke);
}

uint64_t Bitmap::next_needed(uint64_t pos, uint64_t end) const {
  std::lock_guard lock(counts_mutex_);
  for (uint64_t c = pos >> shift_; c < chunks_ && (c << shift_) < end;) {
    if (page_count_[c / kCountersPerPage] == 0) {
      c = (c / kCountersPerPage + 1) * kCountersPerPage;
      continue;
    }
    if (counters_[c] & (kNeeded | kResync)) return std::max(pos, c << shift_);
    ++c;
  }
  return end;
}

bool Bitmap::needed(uint64_t lo, uint64_t hi) const { return lo < hi && next_needed(lo, hi) < hi; }

void Bitmap::begin_sync(uint64_t lo, uint64_t hi, bool still_degraded) {
  if (lo >= hi || still_degraded) return;
  std::lock_guard lock(counts_mutex_);
  for (uint64_t c = lo >> shift_; c < chunks_ && (c << shift_) < hi; ++c) {
    uint16_t& v = counters_[c];
    if ((v & kNeeded) && !(v & kResync)) v = static_cast<uint16_t>((v & ~kNeeded) | kResync);
  }
}

void Bitmap::end_sync(uint64_t done, bool aborted) {
  bool woke = false;
  {
    std::lock_guard lock(counts_mutex_);
    for (uint64_t c = 0; c < chunks_; ++c) {
      if (page_count_[c / kCountersPerPage] == 0) {
        c = (c / kCountersPerPage + 1) * kCountersPerPage - 1;
        continue;
      }
      uint16_t& v = counters_[c];
      if (!(v & kResync)) continue;
      // The last chunk may end past the sync space (md_bitmap_close_sync
      // walks to resync_max_sectors): a pass that reached the end did it.
      const bool finished = std::min((c + 1) << shift_, sb_.sync_size) <= done;
      if (!finished && !aborted) continue;
      v &= static_cast<uint16_t>(~kResync);
      if (!finished) v |= kNeeded;
      else if (v <= 2) mark_pending_locked(c, woke);
    }
  }
  notify_pending(woke);
}

void Bitmap::clear_needed() {
  bool woke = false;
  {
    std::lock_guard lock(counts_mutex_);
    for (uint64_t c = 0; c < chunks_; ++c) {
      uint16_t& v = counters_[c];
      if (!(v & kNeeded)) continue;
      v &= static_cast<uint16_t>(~kNeeded);
      if (v <= 2) mark_pending_locked(c, woke);
    }
  }
  notify_pending(woke);
}

void Bitmap::daemon_pass(std::vector<BitmapArea*>& failed) {
  if (!writable_.load()) return;
  std::lock_guard io(io_mutex_);
  {
    std::lock_guard lock(counts_mutex_);
    if (all_clean_) return;
    all_clean_ = true;
    // Pages whose bits were cleared in the last pass are written now.
    for (auto& f : file_flags_) {
      if (f & kPending) f = static_cast<uint8_t>((f & ~kPending) | kNeedWrite);
    }
    // A new events_cleared reaches the superblock before (or with) the
    // first bit cleared under it.
    if (need_sync_) {
      need_sync_ = false;
      put_super_locked();
      file_flags_[0] |= kNeedWrite;
    }
    for (uint64_t page = 0; page < page_pending_.size(); ++page) {
      if (!page_pending_[page]) continue;
      page_pending_[page] = 0;
      const uint64_t end = std::min(chunks_, (page + 1) * kCountersPerPage);
      for (uint64_t c = page * kCountersPerPage; c < end; ++c) {
        uint16_t& v = counters_[c];
        if (v == 1) {
          v = 0;
          count_page_locked(c, -1);
          const uint64_t bit = format::kBitmapSuperBytes * 8 + c;
          image_[bit / 8] &= std::byte{static_cast<uint8_t>(~(1u << (bit % 8)))};
          const uint64_t p = file_page(c);
          if (!(file_flags_[p] & kNeedWrite)) file_flags_[p] |= kPending;
          all_clean_ = false;
        } else if (v != 0 && v <= 2) {
          v = 1;
          page_pending_[page] = 1;
          all_clean_ = false;
        }
      }
    }
  }
  write_pages_locked(failed);
}

bool Bitmap::all_clean() const {
  std::lock_guard lock(counts_mutex_);
  return all_clean_;
}

void Bitmap::update_sb(uint64_t events, std::vector<BitmapArea*>& failed) {
  std::lock_guard io(io_mutex_);
  {
    std::lock_guard lock(counts_mutex_);
    events_ = events;
    sb_.events = events;
    // "rocking back to read-only": a clean array's event count may step
    // back below events_cleared.
    if (events < sb_.events_cleared) sb_.events_cleared = events;
    sb_.state = 0;
    put_super_locked();
  }
  if (!writable_.load()) return;
  // Pages that must be rewritten (a stale bitmap's) go first, durably.
  bool rewrite = false;
  {
    std::lock_guard lock(counts_mutex_);
    for (auto f : file_flags_) rewrite = rewrite || (f & kNeedWrite);
  }
  if (rewrite) write_pages_locked(failed);
  write_super_locked(failed);
}

namespace {

// The last page only as far as the bits go, in whole sectors.
size_t page_length(uint64_t bytes, uint64_t page) {
  const uint64_t left = bytes - page * Bitmap::kPageBytes;
  return static_cast<size_t>(std::min<uint64_t>(Bitmap::kPageBytes, (left + 511) / 512 * 512));
}

}  // namespace

int Bitmap::write_pages_locked(std::vector<BitmapArea*>& failed) {
  std::vector<uint64_t> pages;
  std::vector<std::byte> copy;
  std::vector<std::byte> whole;
  uint64_t seq = 0;
  bool fresh_area = false;
  for (const auto& a : areas_) fresh_area = fresh_area || !a.has_pages;
  {
    std::lock_guard lock(counts_mutex_);
    for (uint64_t p = 0; p < file_pages_; ++p) {
      if (!(file_flags_[p] & (kDirty | kNeedWrite))) continue;
      pages.push_back(p);
      file_flags_[p] &= static_cast<uint8_t>(~(kDirty | kNeedWrite | kPending));
    }
    seq = set_seq_;
    copy.resize(pages.size() * kPageBytes);
    for (size_t i = 0; i < pages.size(); ++i)
      std::memcpy(copy.data() + i * kPageBytes, image_.data() + pages[i] * kPageBytes, kPageBytes);
    if (fresh_area) whole = image_;
  }
  // Each member's pages; the members are written at the same time, as md
  // submits its bitmap writes to every member before waiting for them.
  auto write_area = [&](AreaState& a) {
    int e = 0;
    if (!a.has_pages) {
      for (uint64_t p = 0; p < file_pages_ && !e; ++p)
        e = a.area->write(p * kPageBytes, std::span<const std::byte>(whole).subspan(p * kPageBytes, page_length(bytes_, p)),
                          true);
    } else {
      for (size_t i = 0; i < pages.size() && !e; ++i)
        e = a.area->write(pages[i] * kPageBytes,
                          std::span<const std::byte>(copy).subspan(i * kPageBytes, page_length(bytes_, pages[i])), true);
    }
    return e;
  };
  std::vector<int> errors(areas_.size(), 0);
  std::vector<std::thread> helpers;
  for (size_t i = 1; i < areas_.size(); ++i) helpers.emplace_back([&, i] { errors[i] = write_area(areas_[i]); });
  if (!areas_.empty()) errors[0] = write_area(areas_[0]);
  for (auto& t : helpers) t.join();
  size_t ok = 0;
  for (size_t i = 0; i < areas_.size(); ++i) {
    if (errors[i]) {
      failed.push_back(areas_[i].area.get());
      continue;
    }
    areas_[i].has_pages = true;
    ++ok;
  }
  durable_seq_.store(seq, std::memory_order_release);
  return areas_.empty() || ok > 0 ? 0 : EIO;
}

void Bitmap::write_super_locked(std::vector<BitmapArea*>& failed) {
  std::vector<std::byte> page0;
  std::vector<std::byte> whole;
  bool fresh_area = false;
  for (const auto& a : areas_) fresh_area = fresh_area || !a.has_pages;
  {
    std::lock_guard lock(counts_mutex_);
    page0.assign(image_.begin(), image_.begin() + kPageBytes);
    if (fresh_area) whole = image_;
  }
  for (auto& a : areas_) {
    int e = 0;
    if (!a.has_pages) {
      // Durable: start_write counts on what a member was given.
      for (uint64_t p = 0; p < file_pages_ && !e; ++p)
        e = a.area->write(p * kPageBytes, std::span<const std::byte>(whole).subspan(p * kPageBytes, page_length(bytes_, p)),
                          true);
    } else {
      e = a.area->write(0, std::span<const std::byte>(page0).first(page_length(bytes_, 0)), false);
    }
    if (e) {
      failed.push_back(a.area.get());
      continue;
    }
    a.has_pages = true;
  }
}

void Bitmap::set_areas(std::vector<std::shared_ptr<BitmapArea>> areas) {
  std::lock_guard io(io_mutex_);
  std::vector<AreaState> next;
  for (auto& a : areas) {
    auto it = std::find_if(areas_.begin(), areas_.end(), [&](const AreaState& s) { return s.area == a; });
    next.push_back(it != areas_.end() ? *it : AreaState{std::move(a), false});
  }
  areas_ = std::move(next);
}

format::BitmapSuper Bitmap::super() const {
  std::lock_guard lock(counts_mutex_);
  return sb_;
}

uint64_t Bitmap::events_cleared() const {
  std::lock_guard lock(counts_mutex_);
  return sb_.events_cleared;
}

bool Bitmap::need_sync() const {
  std::lock_guard lock(counts_mutex_);
  return need_sync_;
}

void Bitmap::set_need_sync(bool need_sync) {
  std::lock_guard lock(counts_mutex_);
  need_sync_ = need_sync;
}

void Bitmap::set_daemon_sleep_ms(uint64_t ms) {
  std::lock_guard lock(counts_mutex_);
  daemon_sleep_ms_ = ms;
  put_super_locked();
}

void Bitmap::set_write_behind(uint32_t backlog) {
  std::lock_guard lock(counts_mutex_);
  sb_.write_behind = backlog;
  write_behind_.store(backlog);
  put_super_locked();
}

void Bitmap::note_behind(uint32_t outstanding) {
  uint32_t used = behind_used_.load();
  while (outstanding > used && !behind_used_.compare_exchange_weak(used, outstanding)) {
  }
}

void Bitmap::set_sectors_reserved(uint32_t space) {
  std::lock_guard lock(counts_mutex_);
  sb_.sectors_reserved = space;
  put_super_locked();
}

void Bitmap::dirty_chunks(uint64_t first, uint64_t last, std::vector<BitmapArea*>& failed) {
  if (chunks_ == 0 || first >= chunks_) return;
  last = std::min(last, chunks_ - 1);
  bool woke = false;
  {
    std::lock_guard lock(counts_mutex_);
    for (uint64_t c = first; c <= last; ++c) {
      uint16_t& v = counters_[c];
      if (v == 0) {
        v = 2;
        count_page_locked(c, +1);
        mark_pending_locked(c, woke);
      }
      v |= kNeeded;
      set_bit_locked(c);
    }
  }
  notify_pending(woke);
  if (!writable_.load()) return;
  std::lock_guard io(io_mutex_);
  write_pages_locked(failed);
}

Bitmap::Pages Bitmap::pages() const {
  std::lock_guard lock(counts_mutex_);
  Pages p;
  p.total = page_count_.size();
  for (auto n : page_count_) p.used += n != 0;
  return p;
}

uint64_t Bitmap::dirty_bits() const {
  std::lock_guard lock(counts_mutex_);
  return format::bitmap_dirty_bits(std::span<const std::byte>(image_).subspan(format::kBitmapSuperBytes), chunks_);
}

uint16_t Bitmap::counter(uint64_t chunk) const {
  std::lock_guard lock(counts_mutex_);
  return chunk < chunks_ ? counters_[chunk] : 0;
}

}  // namespace mdfs::core
