// The write-intent bitmap of a running array, as md-bitmap.c keeps it: one
// 16-bit counter per bitmap chunk of the sync space (writes in flight, and
// whether the chunk needs or is getting a resync), the on-disk image
// (bitmap superblock and one bit per chunk, in 4 KiB pages) that every
// member in a role carries, the flush that puts set bits on those members'
// storage before data is written under them, and the daemon that clears
// bits lazily once their chunks have been clean for a while.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "format/bitmap.h"

namespace mdfs::core {

// Where one member keeps its copy of the bitmap: byte offsets count from
// the bitmap superblock's start.
class BitmapArea {
 public:
  virtual ~BitmapArea() = default;
  // `durable`: on the member's storage when this returns, as md writes
  // its bitmap pages (REQ_PREFLUSH | REQ_FUA), without waiting for the
  // rest of the member's data.
  virtual int write(uint64_t offset, std::span<const std::byte> bytes, bool durable) = 0;
};

// The array as md_bitmap_load sees it when the bitmap starts.
struct BitmapStart {
  uint64_t sync_sectors = 0;        // resync_max_sectors: what the bits cover
  uint64_t events = 0;              // the array's event count
  uint64_t recovery_cp = ~uint64_t{0};  // resync_start; ~0 when in sync
  bool degraded = false;            // some role missing, failed or recovering
};

class Bitmap {
 public:
  // The counter's bits (md-bitmap.h): NEEDED, RESYNC, and a 14-bit count
  // of writes in flight, biased by 2 while the chunk's bit is set (2 and 1
  // are the daemon's two steps towards clearing it).
  static constexpr uint16_t kNeeded = 0x8000;
  static constexpr uint16_t kResync = 0x4000;
  static constexpr uint16_t kCounterMax = 0x3fff;
  static constexpr size_t kPageBytes = 4096;
  // In-memory counters per page (mdstat's "pages").
  static constexpr uint64_t kCountersPerPage = kPageBytes / sizeof(uint16_t);

  // md_bitmap_read_sb and md_bitmap_load: `sb` and `image` (the bitmap as
  // read from a member, from its superblock on; missing bytes read as set
  // bits) taken over. A bitmap behind the array's events (or marked stale)
  // cannot be trusted: every bit is set, events_cleared becomes the
  // array's events, and every page is rewritten. Then each set bit gives
  // its chunk a count of 2, NEEDED when the chunk ends at or after the
  // point a resync has reached, or in every case when the array is
  // degraded and events_cleared is behind (the bits are kept for a
  // re-add).
  Bitmap(const format::BitmapSuper& sb, std::span<const std::byte> image, const BitmapStart& start);
  // A bitmap as mdadm writes one for --bitmap=internal: every bit set,
  // events 0, so it loads as stale (and its bits clear lazily).
  static std::unique_ptr<Bitmap> fresh(const format::BitmapSuper& sb, const BitmapStart& start);
  // md_bitmap_resize: this bitmap for an array of `sync_sectors` tracked
  // in chunks of `chunk_bytes`, for the array quiesced (no write in
  // flight). A chunk of the new is set where any chunk of the old it
  // covers had its bit set or a count; the space past the old end is set
  // (it is resynced from start.recovery_cp). events_cleared carries over,
  // so a member removed before the resize can still be re-added.
  std::unique_ptr<Bitmap> resized(uint64_t sync_sectors, uint32_t chunk_bytes, const BitmapStart& start) const;
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;

  uint64_t chunks() const { return chunks_; }
  uint64_t chunk_sectors() const { return uint64_t{1} << shift_; }
  // Bytes of superblock and bits (the kernel's storage.bytes).
  uint64_t bytes() const { return bytes_; }

  // ---- the write path ----
  // md_bitmap_startwrite and md_bitmap_unplug: counts the write in every
  // chunk of [lo, hi) (waiting while a counter is at its maximum), sets
  // the bits of chunks that had none, and returns once every bit the
  // write depends on has reached every area's storage. One flush runs at
  // a time; a writer whose bits another flush is writing waits for it.
  // Areas whose write or flush failed are added to `failed`; EIO when
  // every area failed.
  int start_write(uint64_t lo, uint64_t hi, std::vector<BitmapArea*>& failed);
  // md_bitmap_endwrite: an incomplete write leaves its chunks NEEDED; a
  // complete one to an array that is not degraded moves events_cleared up
  // to the array's events (written before any bit is cleared).
  void end_write(uint64_t lo, uint64_t hi, bool complete);

  // ---- the sync thread (md_bitmap_start_sync, end_sync, close_sync) ----
  // The first sector at or after `pos` (below `end`) of a chunk that needs
  // syncing (NEEDED or RESYNC); `end` when there is none.
  uint64_t next_needed(uint64_t pos, uint64_t end) const;
  bool needed(uint64_t lo, uint64_t hi) const;
  // The chunks of [lo, hi) are being synced: NEEDED becomes RESYNC, unless
  // some role will still be missing afterwards (the bits are kept).
  void begin_sync(uint64_t lo, uint64_t hi, bool still_degraded);
  // The pass reached `done`: chunks wholly below it lose RESYNC (and
  // become clearable); with `aborted`, the chunks being synced at or after
  // it are NEEDED again.
  void end_sync(uint64_t done, bool aborted);
  // Every NEEDED chunk is in sync (a recovery that walked member sectors
  // finished and left no role missing).
  void clear_needed();

  // ---- the daemon and the superblock ----
  // md_bitmap_daemon_work, due or not: a chunk at 2 steps to 1, one at 1
  // is cleared (its page goes out with the next pass); an events_cleared
  // that moved is written first. Nothing when everything is clean.
  void daemon_pass(std::vector<BitmapArea*>& failed);
  // Whether the daemon has nothing left to do.
  bool all_clean() const;
  // Called (with no lock held) when the daemon has work again after
  // everything was clean, to schedule it.
  void set_on_pending(std::function<void()> fn);
  // md_bitmap_update_sb with the array's current events: the superblock
  // page goes to every area (every page to an area that has not had them
  // yet), with any page waiting to be written. Nothing while read-only.
  void update_sb(uint64_t events, std::vector<BitmapArea*>& failed);
  // The members that carry the bitmap: those in a role and not faulty. A
  // new one gets every page at the next write.
  void set_areas(std::vector<std::shared_ptr<BitmapArea>> areas);
  // mddev->degraded != 0 (events_cleared does not advance).
  void set_degraded(bool degraded) { degraded_.store(degraded); }
  // A read-only array writes nothing; the pages wait.
  void set_writable(bool writable) { writable_.store(writable); }

  // ---- sysfs and mdstat ----
  format::BitmapSuper super() const;   // as it would be written now
  uint64_t events_cleared() const;
  bool need_sync() const;               // can_clear shows the opposite
  void set_need_sync(bool need_sync);
  void set_daemon_sleep_ms(uint64_t ms);
  uint64_t daemon_sleep_ms() const { return daemon_sleep_ms_.load(); }
  void set_write_behind(uint32_t backlog);
  uint32_t write_behind() const { return write_behind_.load(std::memory_order_relaxed); }
  // behind_writes_used: the most writes behind at once since the bitmap
  // started or max_backlog_used was written.
  void note_behind(uint32_t outstanding);
  uint32_t behind_used() const { return behind_used_.load(); }
  void reset_behind_used() { behind_used_.store(0); }
  void set_sectors_reserved(uint32_t space);
  // bitmap_set_bits: chunks [first, last] NEEDED, their bits set and
  // written (md_bitmap_dirty_bits, md_bitmap_unplug).
  void dirty_chunks(uint64_t first, uint64_t last, std::vector<BitmapArea*>& failed);
  struct Pages {
    uint64_t used = 0;   // pages of counters holding a non-zero counter
    uint64_t total = 0;
  };
  Pages pages() const;
  uint64_t dirty_bits() const;         // set bits in the image
  uint16_t counter(uint64_t chunk) const;

 private:
  void init_counters(const BitmapStart& start);
  void put_super_locked();
  void set_bit_locked(uint64_t chunk);
  void count_page_locked(uint64_t chunk, int delta);
  void mark_pending_locked(uint64_t chunk, bool& woke);
  uint64_t file_page(uint64_t chunk) const { return (format::kBitmapSuperBytes * 8 + chunk) / (kPageBytes * 8); }
  uint64_t chunk_of(uint64_t sector) const;
  // Writes the pages marked dirty or to be written, durably, every page
  // to new areas; io_mutex_ held.
  int write_pages_locked(std::vector<BitmapArea*>& failed);
  // The superblock's page (every page to new areas), not waited for, no
  // page's flags changed: what start_write relies on is written durably.
  void write_super_locked(std::vector<BitmapArea*>& failed);
  void notify_pending(bool woke);

  // Fixed at construction.
  uint64_t chunks_ = 0;
  unsigned shift_ = 0;      // chunk = sector >> shift_
  uint64_t bytes_ = 0;      // superblock and bits
  uint64_t file_pages_ = 0;

  // io_mutex_: one flush at a time, and the areas. Taken before
  // counts_mutex_ (a flush snapshots the pages under it); never held by
  // anything that calls into the array. The array's sb_mutex_ is taken
  // before it (update_sb runs inside md_update_sb).
  std::mutex io_mutex_;
  struct AreaState {
    std::shared_ptr<BitmapArea> area;
    bool has_pages = false;  // has had every page written
  };
  std::vector<AreaState> areas_;
  // Set bits up to this sequence number are on every area's storage.
  std::atomic<uint64_t> durable_seq_{0};

  // counts_mutex_ (the kernel's counts.lock): the counters, the image and
  // the page flags, and the fields below. Innermost: nothing is taken
  // under it.
  mutable std::mutex counts_mutex_;
  std::condition_variable overflow_;  // a counter left kCounterMax
  format::BitmapSuper sb_;
  std::vector<uint16_t> counters_;
  std::vector<uint32_t> page_count_;   // non-zero counters per counter page
  std::vector<uint8_t> page_pending_;  // counter page has counters at 1 or 2
  std::vector<std::byte> image_;       // file_pages_ * kPageBytes
  enum : uint8_t { kDirty = 1, kPending = 2, kNeedWrite = 4 };
  std::vector<uint8_t> file_flags_;    // per file page
  std::vector<uint64_t> page_seq_;     // per file page: when a bit was last set
  uint64_t set_seq_ = 0;
  uint64_t events_ = 0;                // the array's, as last told
  bool need_sync_ = false;
  bool all_clean_ = true;
  std::function<void()> on_pending_;

  std::atomic<bool> degraded_{false};
  std::atomic<bool> writable_{true};
  std::atomic<uint64_t> daemon_sleep_ms_{5000};
  std::atomic<uint32_t> write_behind_{0};  // sb_.write_behind, read by every raid1 write
  std::atomic<uint32_t> behind_used_{0};
};

}  // namespace mdfs::core
