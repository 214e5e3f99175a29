// The raid4/5/6 personality's insides, shared by its files: raid5.cc (the
// data path, sync and recovery) and raid5_fix.cc (member read errors).
// Nothing outside src/raid/raid5*.cc includes this; the personality is
// reached through raid5.h.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "mdfs/personality.h"
#include "raid/raid5_cache.h"
#include "raid/raid5_layout.h"

namespace mdfs::raid::r5 {

constexpr size_t kAlign = 64;
constexpr size_t round_up(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Not an errno: the stripe met a newly failed member and must be planned
// again without it.
constexpr int kRetry = -1;

// A write is handled in batches of whole stripes of about this many data
// bytes (at most kMaxBatchStripes), which bounds the parity kept in memory
// while the batch's member writes are gathered.
constexpr uint64_t kBatchBytes = 8 << 20;
constexpr uint64_t kMaxBatchStripes = 256;

// Memory for the data path. Each thread keeps one aligned block per use,
// grown on demand, so requests do not allocate; buffers taken from a
// Scratch live until the next Scratch of the same use on the same thread.
// kParity holds a write batch's new parity until it is written; kWork holds
// one stripe's reads at a time; kFix the pages of a read-error fix, which
// runs while a kWork block is in use.
class Scratch {
 public:
  enum Use { kParity, kWork, kFix };
  Scratch(Use use, size_t bytes) {
    Block& b = blocks()[use];
    if (b.size < bytes) {
      b.mem.reset(static_cast<std::byte*>(std::aligned_alloc(kAlign, round_up(bytes))));
      b.size = b.mem ? round_up(bytes) : 0;
    }
    base_ = b.mem.get();
    cap_ = b.size;
    ok_ = bytes == 0 || base_ != nullptr;
  }
  bool ok() const { return ok_; }
  // `n` bytes, 64-byte aligned; the Scratch was sized with round_up(n).
  std::byte* take(size_t n) {
    std::byte* p = base_ + used_;
    used_ += round_up(n);
    return used_ <= cap_ ? p : nullptr;
  }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  struct Block {
    std::unique_ptr<std::byte, Free> mem;
    size_t size = 0;
  };
  static std::array<Block, 3>& blocks() {
    thread_local std::array<Block, 3> b;
    return b;
  }
  std::byte* base_ = nullptr;
  size_t cap_ = 0;
  size_t used_ = 0;
  bool ok_ = false;
};

// The part of a request inside one data chunk of a stripe: bytes [lo, hi)
// of the chunk (none when lo == hi), at buf_off in the caller's buffer.
struct ChunkPart {
  size_t lo = 0;
  size_t hi = 0;
  size_t buf_off = 0;
  bool empty() const { return lo == hi; }
  size_t size() const { return hi - lo; }
};

// Pieces bound for one member in ascending member order; those that
// continue each other go out as one readv/writev.
template <class Byte>
class Gather {
 public:
  void add(uint64_t offset, std::span<Byte> buf) {
    if (buf.empty()) return;
    if (runs_.empty() || runs_.back().end != offset) runs_.push_back({offset, offset, {}});
    runs_.back().end += buf.size();
    runs_.back().bufs.push_back(buf);
  }
  bool empty() const { return runs_.empty(); }
  void clear() { runs_.clear(); }
  // Issues every run; stops at the first error and returns it, with the
  // bytes [*lo, *hi) of the run that failed.
  int issue(Disk& disk, uint64_t* lo = nullptr, uint64_t* hi = nullptr) const {
    for (const Run& run : runs_) {
      int e;
      if constexpr (std::is_const_v<Byte>) {
        e = run.bufs.size() == 1 ? disk.write(run.start, run.bufs[0]) : disk.writev(run.start, run.bufs);
      } else {
        e = run.bufs.size() == 1 ? disk.read(run.start, run.bufs[0]) : disk.readv(run.start, run.bufs);
      }
      if (e != 0) {
        if (lo) *lo = run.start;
        if (hi) *hi = run.end;
        return e;
      }
    }
    return 0;
  }

 private:
  struct Run {
    uint64_t start;
    uint64_t end;
    std::vector<std::span<Byte>> bufs;
  };
  std::vector<Run> runs_;
};

// One stripe of a write batch: the request's parts in it, the columns
// [lo, hi) of the stripe they touch, and the new parity over those columns.
struct StripeJob {
  uint64_t stripe;
  size_t first_part;  // parts_[first_part .. + data disks)
  size_t lo;
  size_t hi;
  std::byte* p = nullptr;
  std::byte* q = nullptr;
};

class Raid5 final : public Personality {
 public:
  Raid5(const Geometry& g, Raid5Layout layout, uint64_t array_sectors, std::vector<Disk*> roles,
        ArrayEvents& events)
      : layout_(layout),
        layout_number_(g.layout),
        chunk_bytes_(static_cast<size_t>(layout.chunk_sectors()) * kSectorSize),
        data_disks_(layout.data_disks()),
        max_degraded_(layout.parity_disks()),
        array_sectors_(array_sectors),
        disks_(std::move(roles)),
        failed_(std::make_unique<std::atomic<bool>[]>(disks_.size())),
        recovering_(std::make_unique<std::atomic<bool>[]>(disks_.size())),
        events_(events),
        intent_(events.write_intent()),
        cache_(chunk_bytes_ * static_cast<size_t>(data_disks_), static_cast<size_t>(data_disks_)) {}

  Raid5(const Raid5&) = delete;
  Raid5& operator=(const Raid5&) = delete;

  uint64_t array_sectors() const override { return array_sectors_; }
  int read(uint64_t offset, std::span<std::byte> out) override;
  int write(uint64_t offset, std::span<const std::byte> in) override;
  bool map_read(uint64_t offset, size_t length, std::vector<Extent>& out) override;
  int sync() override;
  void fail(int role) override {
    if (role >= 0 && static_cast<size_t>(role) < disks_.size()) failed_[role].store(true);
  }
  int degraded() const override;
  std::string mdstat_status() const override;

  // The sync space is the members' stripes (the kernel's dev_sectors, in
  // whole chunks); a window is one stripe, held like a write holds it.
  uint64_t sync_sectors() const override { return array_sectors_ / static_cast<uint64_t>(data_disks_); }
  uint64_t sync_unit() const override { return layout_.chunk_sectors(); }
  SyncResult sync_window(SyncKind kind, uint64_t start, uint64_t count) override;
  int add_disk(int role, Disk* disk) override;
  void disk_recovered(int role) override { recovering_[role].store(false); }
  unsigned stripe_cache_active() const override { return cache_.active(); }
  void no_stripe_cache() override { cache_on_ = false; }

 private:
  using Parts = std::vector<ChunkPart>;

  bool in_array(uint64_t offset, uint64_t length) const {
    const uint64_t size = array_sectors_ * kSectorSize;
    return offset <= size && length <= size - offset;
  }
  // Calls fn(stripe, parts) for each stripe [offset, offset+length) touches,
  // in order; parts[k] is the request's share of data chunk k. Stops at the
  // first nonzero result and returns it.
  template <class Fn>
  int for_each_stripe(uint64_t offset, uint64_t length, Fn&& fn) const;

  // Read and written: in sync and not failed.
  bool working(int role) const { return writable(role) && !recovering_[role].load(); }
  // Written by array writes: working, or being rebuilt.
  bool writable(int role) const { return role >= 0 && disks_[role] != nullptr && !failed_[role].load(); }
  bool all_writable() const {
    for (size_t role = 0; role < disks_.size(); ++role)
      if (!writable(static_cast<int>(role))) return false;
    return true;
  }
  // md_error: the first error of a member marks it failed at once; the
  // array is told by report_failures(), once this thread holds no stripe
  // lock, so ArrayEvents may take the array's locks.
  void member_error(int role, int error);
  void report_failures();
  // rdev_set_badblocks for member bytes [lo, hi), else md_error.
  void bad_block_or_fail(int role, uint64_t lo, uint64_t hi, int error);

  int do_read(uint64_t offset, std::span<std::byte> out);
  int gathered_read(uint64_t offset, std::span<std::byte> out);
  int rebuild_read(uint64_t stripe, int k, const ChunkPart& part, std::byte* dst);
  int degraded_stripe_read(uint64_t stripe, const StripeRoles& roles, const Parts& parts, std::byte* out);

  // ---- read errors (raid5_end_read_request's R5_ReadError, in
  // raid5_fix.cc); the stripe lock is held exclusively ----
  struct FixState;
  // Bytes [lo, lo + len) of `role`'s chunk of `stripe` (data or parity):
  // read from the member; where that fails, as md: the error is counted
  // and, by the array's policy, the member failed, or the pages that do
  // not read again rebuilt from the rest of the stripe, rewritten onto the
  // member and read back. 0 with `dst` filled, or EIO.
  int read_column(uint64_t stripe, const StripeRoles& roles, int role, size_t lo, size_t len, std::byte* dst);
  int rebuild_pages(uint64_t stripe, const StripeRoles& roles, int role, size_t lo, size_t len, std::byte* dst,
                    FixState& fix);
  int compute_page(uint64_t stripe, const StripeRoles& roles, int role, size_t at, std::byte* dst, FixState& fix);

  // ---- writes: do_write (raid5_cache.cc) sends whole stripes to
  // write_range and gathers the partial ones in the stripe cache ----
  int do_write(uint64_t offset, std::span<const std::byte> in);
  int write_range(uint64_t offset, std::span<const std::byte> in);
  int write_batch(uint64_t offset, std::span<const std::byte> in);
  // Writes the stripes of `jobs`, whose parts are in `parts` and whose
  // data is at src + part.buf_off.
  int write_jobs(std::vector<StripeJob>& jobs, const Parts& parts, const std::byte* src);
  // A partial stripe [offset, offset + in.size()) joins the stripe's entry;
  // false when the cache has no room (then it is written directly).
  bool cache_join(uint64_t offset, std::span<const std::byte> in, std::shared_ptr<CachedStripe>& entry,
                  bool* leader);
  // Waits for the entry to be written (a joiner) or writes it (its leader).
  int cache_finish(const std::shared_ptr<CachedStripe>& entry, bool leader);
  int cache_flush(CachedStripe& entry);
  int prepare(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts, const std::byte* src);
  int read_modify_write(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts, const std::byte* src);
  int reconstruct_write(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts, const std::byte* src);
  int degraded_write(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts, const std::byte* src);
  SyncResult sync_stripe(SyncKind kind, uint64_t stripe);
  SyncResult recover_stripe(uint64_t stripe);

  std::shared_mutex& stripe_lock(uint64_t stripe) { return stripe_locks_[stripe % kStripeLocks]; }

  const Raid5Layout layout_;
  const int layout_number_;  // as given: raid4 prints its own, not parity-last's
  const size_t chunk_bytes_;
  const int data_disks_;
  const int max_degraded_;
  const uint64_t array_sectors_;
  // By role; nullptr for a missing role. Changed only by add_disk, which
  // runs with no request in flight.
  std::vector<Disk*> disks_;
  // failed_[role]: the member is Faulty, never used again. Set once, by
  // fail() or by the first I/O error; read without locks.
  const std::unique_ptr<std::atomic<bool>[]> failed_;
  // recovering_[role]: a spare being rebuilt into the role: written, not read.
  const std::unique_ptr<std::atomic<bool>[]> recovering_;
  ArrayEvents& events_;
  WriteIntent* const intent_;  // the array's write-intent bitmap (md_bitmap_startwrite/endwrite)

  // Each lock guards the parity relation of the stripes hashed to it
  // (stripe number mod kStripeLocks, so a batch's stripes never share one).
  // A write holds the locks of all stripes of its batch exclusively, from
  // reading old data or parity until the new parity is written; it takes
  // them in ascending lock index order, before any I/O, so writers cannot
  // deadlock. A read that rebuilds a chunk holds that one stripe's lock
  // shared, so it never sees a half-updated stripe. Reads that need no
  // rebuild take no lock, as a disk orders nothing between overlapping reads
  // and writes; so does a read-error fix, exclusively. Nothing else is
  // locked under these: member failures reach ArrayEvents after they are
  // released (report_failures); the read-error accounting (read_error,
  // read_error_corrected, record_bad_block) takes only the array's
  // sb_mutex_, which is never held while waiting for a stripe lock.
  //
  // The stripe cache's entries (raid5_cache.h) are flushed through
  // write_jobs: their leader takes the stripe lock as any write does, and
  // holds no entry or cache lock while it waits for it.
  static constexpr size_t kStripeLocks = 1024;
  static_assert(kMaxBatchStripes <= kStripeLocks);
  std::array<std::shared_mutex, kStripeLocks> stripe_locks_;

  StripeCache cache_;
  // False for the two shapes of a reshape (run_reshape): their writes go
  // straight to write_range. Set before any I/O.
  bool cache_on_ = true;
};

template <class Fn>
int Raid5::for_each_stripe(uint64_t offset, uint64_t length, Fn&& fn) const {
  const uint64_t chunk = chunk_bytes_;
  const uint64_t stripe_bytes = chunk * static_cast<uint64_t>(data_disks_);
  Parts parts(data_disks_);
  uint64_t pos = offset;
  const uint64_t end = offset + length;
  while (pos < end) {
    const uint64_t stripe = pos / stripe_bytes;
    const uint64_t row_start = stripe * stripe_bytes;
    std::fill(parts.begin(), parts.end(), ChunkPart{});
    while (pos < end && pos < row_start + stripe_bytes) {
      const uint64_t k = (pos - row_start) / chunk;
      const uint64_t in_chunk = (pos - row_start) % chunk;
      const uint64_t n = std::min(chunk - in_chunk, end - pos);
      parts[k] = ChunkPart{in_chunk, in_chunk + n, pos - offset};
      pos += n;
    }
    if (int r = fn(stripe, parts); r != 0) return r;
  }
  return 0;
}

}  // namespace mdfs::raid::r5
