// raid4, raid5 and raid6: striping with one (P) or two (P, Q) parity chunks
// per stripe, as the kernel's raid5.c. Reads go straight to the data chunks
// and rebuild a lost one from the rest of its stripe; writes keep each
// stripe's parity right by read-modify-write or reconstruct-write, whichever
// reads less, as handle_stripe_dirtying chooses.
#include "raid/raid5.h"

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

#include "raid/geometry.h"
#include "raid/parity.h"
#include "raid/raid5_layout.h"

namespace mdfs::raid {

namespace {

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

// The kernel's stripe heads work in pages: the bitmap is told of writes in
// whole pages of each member.
constexpr uint64_t kIntentPage = 4096;
constexpr uint64_t kIntentPageSectors = kIntentPage / kSectorSize;

// Memory for the data path. Each thread keeps one aligned block per use,
// grown on demand, so requests do not allocate; buffers taken from a
// Scratch live until the next Scratch of the same use on the same thread.
// kParity holds a write batch's new parity until it is written; kWork holds
// one stripe's reads at a time.
class Scratch {
 public:
  enum Use { kParity, kWork };
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
  static std::array<Block, 2>& blocks() {
    thread_local std::array<Block, 2> b;
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
  // Issues every run; stops at the first error and returns it.
  int issue(Disk& disk) const {
    for (const Run& run : runs_) {
      int e;
      if constexpr (std::is_const_v<Byte>) {
        e = run.bufs.size() == 1 ? disk.write(run.start, run.bufs[0]) : disk.writev(run.start, run.bufs);
      } else {
        e = run.bufs.size() == 1 ? disk.read(run.start, run.bufs[0]) : disk.readv(run.start, run.bufs);
      }
      if (e != 0) return e;
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
        intent_(events.write_intent()) {}

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
  int read_member(int role, uint64_t offset, std::span<std::byte> buf);

  int do_read(uint64_t offset, std::span<std::byte> out);
  int gathered_read(uint64_t offset, std::span<std::byte> out);
  int rebuild_read(uint64_t stripe, int k, const ChunkPart& part, std::byte* dst);

  int do_write(uint64_t offset, std::span<const std::byte> in);
  int write_batch(uint64_t offset, std::span<const std::byte> in);
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
  WriteIntent* const intent_;

  // Each lock guards the parity relation of the stripes hashed to it
  // (stripe number mod kStripeLocks, so a batch's stripes never share one).
  // A write holds the locks of all stripes of its batch exclusively, from
  // reading old data or parity until the new parity is written; it takes
  // them in ascending lock index order, before any I/O, so writers cannot
  // deadlock. A read that rebuilds a chunk holds that one stripe's lock
  // shared, so it never sees a half-updated stripe. Reads that need no
  // rebuild take no lock, as a disk orders nothing between overlapping reads
  // and writes. Nothing else is locked under these: ArrayEvents is called
  // after they are released (report_failures).
  static constexpr size_t kStripeLocks = 1024;
  static_assert(kMaxBatchStripes <= kStripeLocks);
  std::array<std::shared_mutex, kStripeLocks> stripe_locks_;
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

// Failures this thread found during the current request, not yet told.
struct Failure {
  int role;
  int error;
};
thread_local std::vector<Failure> t_failures;

void Raid5::member_error(int role, int error) {
  if (disks_[role] == nullptr) return;
  recovering_[role].store(false);
  if (!failed_[role].exchange(true)) t_failures.push_back({role, error});
}

void Raid5::report_failures() {
  std::vector<Failure> failures;
  failures.swap(t_failures);
  for (const Failure& f : failures) events_.member_failed(f.role, f.error);
}

int Raid5::read_member(int role, uint64_t offset, std::span<std::byte> buf) {
  if (buf.empty()) return 0;
  if (!working(role)) return EIO;
  const int r = disks_[role]->read(offset, buf);
  if (r != 0) member_error(role, r);
  return r;
}

int Raid5::degraded() const {
  int n = 0;
  for (size_t role = 0; role < disks_.size(); ++role) n += working(static_cast<int>(role)) ? 0 : 1;
  return n;
}

std::string Raid5::mdstat_status() const {
  const int n = layout_.raid_disks();
  std::string s = " level " + std::to_string(layout_.level()) + ", " +
                  std::to_string(layout_.chunk_sectors() / 2) + "k chunk, algorithm " +
                  std::to_string(layout_number_) + " [" + std::to_string(n) + "/" +
                  std::to_string(n - degraded()) + "] [";
  for (int role = 0; role < n; ++role) s += working(role) ? 'U' : '_';
  s += ']';
  return s;
}

int Raid5::sync() {
  for (size_t role = 0; role < disks_.size(); ++role) {
    const int r = static_cast<int>(role);
    if (!working(r)) continue;
    if (const int e = disks_[role]->sync(); e != 0) member_error(r, e);
  }
  report_failures();
  return degraded() > max_degraded_ ? EIO : 0;
}

bool Raid5::map_read(uint64_t offset, size_t length, std::vector<Extent>& out) {
  if (!in_array(offset, length)) return false;
  const size_t start = out.size();
  StripeRoles roles;
  const int r = for_each_stripe(offset, length, [&](uint64_t stripe, const Parts& parts) {
    layout_.roles(stripe, roles);
    for (int k = 0; k < data_disks_; ++k) {
      const ChunkPart& part = parts[k];
      if (part.empty()) continue;
      const int role = roles.data[k];
      if (!working(role) || disks_[role]->fd() < 0) return 1;
      const Extent e{disks_[role]->fd(), disks_[role]->data_start() + stripe * chunk_bytes_ + part.lo,
                     part.size()};
      if (out.size() > start && out.back().fd == e.fd &&
          out.back().file_offset + out.back().length == e.file_offset) {
        out.back().length += e.length;
      } else {
        out.push_back(e);
      }
    }
    return 0;
  });
  if (r != 0) out.resize(start);
  return r == 0;
}

int Raid5::read(uint64_t offset, std::span<std::byte> out) {
  const int r = do_read(offset, out);
  report_failures();
  return r;
}

int Raid5::do_read(uint64_t offset, std::span<std::byte> out) {
  if (!in_array(offset, out.size())) return EINVAL;
  // With every needed member working, one request per member: a member's
  // chunks of successive stripes continue each other on it.
  if (gathered_read(offset, out) == 0) return 0;
  // Else chunk by chunk, rebuilding what a lost member held.
  StripeRoles roles;
  return for_each_stripe(offset, out.size(), [&](uint64_t stripe, const Parts& parts) {
    layout_.roles(stripe, roles);
    for (int k = 0; k < data_disks_; ++k) {
      const ChunkPart& part = parts[k];
      if (part.empty()) continue;
      std::byte* dst = out.data() + part.buf_off;
      if (read_member(roles.data[k], stripe * chunk_bytes_ + part.lo, {dst, part.size()}) == 0) continue;
      if (const int r = rebuild_read(stripe, k, part, dst); r != 0) return r;
    }
    return 0;
  });
}

int Raid5::gathered_read(uint64_t offset, std::span<std::byte> out) {
  std::vector<Gather<std::byte>> gathers(disks_.size());
  StripeRoles roles;
  const int r = for_each_stripe(offset, out.size(), [&](uint64_t stripe, const Parts& parts) {
    layout_.roles(stripe, roles);
    for (int k = 0; k < data_disks_; ++k) {
      const ChunkPart& part = parts[k];
      if (part.empty()) continue;
      if (!working(roles.data[k])) return EIO;
      gathers[roles.data[k]].add(stripe * chunk_bytes_ + part.lo, out.subspan(part.buf_off, part.size()));
    }
    return 0;
  });
  if (r != 0) return r;
  for (size_t role = 0; role < disks_.size(); ++role) {
    if (gathers[role].empty()) continue;
    if (const int e = gathers[role].issue(*disks_[role]); e != 0) {
      member_error(static_cast<int>(role), e);
      return e;
    }
  }
  return 0;
}

// A data chunk whose member is gone: computed from the rest of its stripe
// (the kernel's degraded read: fetch the others, compute the block).
int Raid5::rebuild_read(uint64_t stripe, int k, const ChunkPart& part, std::byte* dst) {
  std::shared_lock lock(stripe_lock(stripe));
  StripeRoles roles;
  layout_.roles(stripe, roles);
  const size_t len = part.size();
  const uint64_t offset = stripe * chunk_bytes_ + part.lo;
  std::vector<std::byte*> data(data_disks_, nullptr);
  std::vector<int> missing;
  // Each failed attempt loses a member for good; when too many are gone
  // recover() answers EIO.
  for (size_t attempt = 0; attempt <= disks_.size(); ++attempt) {
    if (working(roles.data[k]) && read_member(roles.data[k], offset, {dst, len}) == 0) return 0;
    Scratch scratch(Scratch::kWork, static_cast<size_t>(data_disks_ + 2) * round_up(len));
    if (!scratch.ok()) return ENOMEM;
    missing.clear();
    bool retry = false;
    for (int j = 0; j < data_disks_ && !retry; ++j) {
      data[j] = nullptr;
      if (j == k) {
        data[j] = dst;
        missing.push_back(j);
      } else if (working(roles.data[j])) {
        data[j] = scratch.take(len);
        retry = read_member(roles.data[j], offset, {data[j], len}) != 0;
      } else {
        missing.push_back(j);
      }
    }
    if (retry) continue;
    const bool use_p = working(roles.p);
    const bool use_q = working(roles.q) && (missing.size() > 1 || !use_p);
    std::byte* p = use_p ? scratch.take(len) : nullptr;
    std::byte* q = use_q ? scratch.take(len) : nullptr;
    if ((p && read_member(roles.p, offset, {p, len}) != 0) || (q && read_member(roles.q, offset, {q, len}) != 0)) {
      continue;
    }
    return parity::recover(data, roles.q_exp, missing, p, q, len);
  }
  return EIO;
}

int Raid5::write(uint64_t offset, std::span<const std::byte> in) {
  const int r = do_write(offset, in);
  report_failures();
  return r;
}

int Raid5::do_write(uint64_t offset, std::span<const std::byte> in) {
  if (!in_array(offset, in.size())) return EINVAL;
  const uint64_t stripe_bytes = chunk_bytes_ * static_cast<uint64_t>(data_disks_);
  const uint64_t batch_stripes = std::clamp<uint64_t>(kBatchBytes / stripe_bytes, 1, kMaxBatchStripes);
  uint64_t pos = offset;
  const uint64_t end = offset + in.size();
  while (pos < end) {
    const uint64_t batch_end = std::min(end, (pos / stripe_bytes + batch_stripes) * stripe_bytes);
    if (const int r = write_batch(pos, in.subspan(pos - offset, batch_end - pos)); r != 0) return r;
    pos = batch_end;
  }
  return 0;
}

// Writes [offset, offset + in.size()) of a few whole stripes: locks them,
// reads what each stripe's parity update needs and computes the new parity
// (prepare), then sends each member one request for the whole batch where
// its pieces continue each other. Every read happens before any write, so a
// member failing a read lets the stripe be planned again from scratch.
int Raid5::write_batch(uint64_t offset, std::span<const std::byte> in) {
  std::vector<StripeJob> jobs;
  Parts parts;
  size_t parity_bytes = 0;
  for_each_stripe(offset, in.size(), [&](uint64_t stripe, const Parts& stripe_parts) {
    StripeJob job{stripe, parts.size(), chunk_bytes_, 0};
    for (const ChunkPart& part : stripe_parts) {
      parts.push_back(part);
      if (part.empty()) continue;
      job.lo = std::min(job.lo, part.lo);
      job.hi = std::max(job.hi, part.hi);
    }
    parity_bytes += static_cast<size_t>(layout_.parity_disks()) * round_up(job.hi - job.lo);
    jobs.push_back(job);
    return 0;
  });

  // md_bitmap_startwrite: the columns the batch touches, in whole 4 KiB
  // pages as the kernel's stripe heads count them, are dirty in the bitmap
  // before any of its reads or writes.
  const uint64_t chunk_sectors = layout_.chunk_sectors();
  IntentScope intent(intent_,
                     jobs.front().stripe * chunk_sectors + jobs.front().lo / kIntentPage * kIntentPageSectors,
                     jobs.back().stripe * chunk_sectors +
                         (jobs.back().hi + kIntentPage - 1) / kIntentPage * kIntentPageSectors);
  if (const int e = intent.start()) return e;

  std::vector<size_t> lock_indexes;
  for (const StripeJob& job : jobs) lock_indexes.push_back(job.stripe % kStripeLocks);
  std::sort(lock_indexes.begin(), lock_indexes.end());
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  locks.reserve(lock_indexes.size());
  for (size_t i : lock_indexes) locks.emplace_back(stripe_locks_[i]);

  Scratch parity(Scratch::kParity, parity_bytes);
  if (!parity.ok()) return ENOMEM;
  StripeRoles roles;
  for (StripeJob& job : jobs) {
    const size_t width = job.hi - job.lo;
    job.p = parity.take(width);
    if (layout_.level() == 6) job.q = parity.take(width);
    layout_.roles(job.stripe, roles);
    int r = kRetry;
    for (size_t attempt = 0; r == kRetry && attempt <= disks_.size(); ++attempt) {
      r = prepare(job, roles, parts.data() + job.first_part, in.data());
    }
    if (r != 0) return r == kRetry ? EIO : r;
  }

  std::vector<Gather<const std::byte>> gathers(disks_.size());
  for (const StripeJob& job : jobs) {
    layout_.roles(job.stripe, roles);
    const uint64_t base = job.stripe * chunk_bytes_;
    for (int k = 0; k < data_disks_; ++k) {
      const ChunkPart& part = parts[job.first_part + k];
      if (!part.empty()) gathers[roles.data[k]].add(base + part.lo, in.subspan(part.buf_off, part.size()));
    }
    gathers[roles.p].add(base + job.lo, {job.p, job.hi - job.lo});
    if (job.q) gathers[roles.q].add(base + job.lo, {job.q, job.hi - job.lo});
  }
  for (size_t role = 0; role < disks_.size(); ++role) {
    // A member failing here is dropped; its stripes stay consistent for the
    // others, since the parity already holds the new data.
    const int r = static_cast<int>(role);
    if (gathers[role].empty() || !writable(r)) continue;
    if (const int e = gathers[role].issue(*disks_[role]); e != 0) member_error(r, e);
  }
  // STRIPE_DEGRADED: a member missing or lost keeps the bits.
  intent.complete(all_writable());
  return degraded() > max_degraded_ ? EIO : 0;
}

// Chooses how to bring a stripe's parity up to date, as the kernel's
// handle_stripe_dirtying: read-modify-write (read the old data being
// replaced and the old parity) or reconstruct-write (read the data not
// being replaced), whichever reads fewer bytes; a write covering the stripe
// reads nothing. Both work over [lo, hi), the columns the write touches.
// When a lost data member's old bytes are needed and neither applies, they
// are rebuilt first (degraded_write).
int Raid5::prepare(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts, const std::byte* src) {
  const size_t width = job.hi - job.lo;
  const bool p_ok = working(roles.p);
  const bool q_ok = roles.q < 0 || working(roles.q);
  int lost = (p_ok ? 0 : 1) + (q_ok ? 0 : 1);

  bool rmw_ok = p_ok && q_ok;
  size_t rmw_reads = width * static_cast<size_t>(layout_.parity_disks());
  bool rcw_ok = true;
  size_t rcw_reads = 0;
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    const bool ok = working(roles.data[k]);
    lost += ok ? 0 : 1;
    if (!part.empty()) {
      rmw_ok = rmw_ok && ok;
      rmw_reads += part.size();
    }
    if (ok) {
      rcw_reads += width - part.size();
    } else if (part.lo != job.lo || part.hi != job.hi) {
      rcw_ok = false;  // its old bytes beside the new ones are unknown
    }
  }
  if (lost > max_degraded_) return EIO;
  if (rmw_ok && (!rcw_ok || rmw_reads < rcw_reads)) return read_modify_write(job, roles, parts, src);
  if (rcw_ok) return reconstruct_write(job, roles, parts, src);
  return degraded_write(job, roles, parts, src);
}

int Raid5::read_modify_write(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts,
                             const std::byte* src) {
  const size_t width = job.hi - job.lo;
  const uint64_t base = job.stripe * chunk_bytes_;
  size_t bytes = 0;
  for (int k = 0; k < data_disks_; ++k) bytes += round_up(parts[k].size());
  Scratch scratch(Scratch::kWork, bytes);
  if (!scratch.ok()) return ENOMEM;
  if (read_member(roles.p, base + job.lo, {job.p, width}) != 0) return kRetry;
  if (job.q && read_member(roles.q, base + job.lo, {job.q, width}) != 0) return kRetry;
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    if (part.empty()) continue;
    std::byte* old = scratch.take(part.size());
    if (read_member(roles.data[k], base + part.lo, {old, part.size()}) != 0) return kRetry;
    parity::xor_into(old, src + part.buf_off, part.size());  // old ^ new
    const size_t at = part.lo - job.lo;
    parity::apply_delta(old, job.q ? roles.q_exp[k] : 0, job.p + at, job.q ? job.q + at : nullptr, part.size());
  }
  return 0;
}

int Raid5::reconstruct_write(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts,
                             const std::byte* src) {
  const size_t width = job.hi - job.lo;
  const uint64_t base = job.stripe * chunk_bytes_;
  size_t bytes = 0;
  for (int k = 0; k < data_disks_; ++k) bytes += parts[k].size() == width ? 0 : round_up(width);
  Scratch scratch(Scratch::kWork, bytes);
  if (!scratch.ok()) return ENOMEM;
  std::vector<const std::byte*> data(data_disks_, nullptr);
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    if (part.size() == width) {
      data[k] = src + part.buf_off;  // wholly new: parity straight from the caller's buffer
      continue;
    }
    std::byte* buf = scratch.take(width);
    const int role = roles.data[k];
    if (part.empty()) {
      if (read_member(role, base + job.lo, {buf, width}) != 0) return kRetry;
    } else {
      if (read_member(role, base + job.lo, {buf, part.lo - job.lo}) != 0) return kRetry;
      if (read_member(role, base + part.hi, {buf + (part.hi - job.lo), job.hi - part.hi}) != 0) return kRetry;
      std::memcpy(buf + (part.lo - job.lo), src + part.buf_off, part.size());
    }
    data[k] = buf;
  }
  if (job.q) {
    parity::gen_pq(data, roles.q_exp, job.p, job.q, width);
  } else {
    parity::gen_p(data, job.p, width);
  }
  return 0;
}

// A write into a stripe that lost a data member whose old bytes are still
// needed: read what is left, rebuild the lost chunk, lay the new data over
// it and take the parity of the result, so that a later rebuild of the
// member finds the new data.
int Raid5::degraded_write(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts, const std::byte* src) {
  const size_t width = job.hi - job.lo;
  const uint64_t base = job.stripe * chunk_bytes_;
  Scratch scratch(Scratch::kWork, static_cast<size_t>(data_disks_ + 2) * round_up(width));
  if (!scratch.ok()) return ENOMEM;
  std::vector<std::byte*> data(data_disks_, nullptr);
  std::vector<int> missing;
  for (int k = 0; k < data_disks_; ++k) {
    data[k] = scratch.take(width);
    if (!working(roles.data[k])) {
      missing.push_back(k);
    } else if (read_member(roles.data[k], base + job.lo, {data[k], width}) != 0) {
      return kRetry;
    }
  }
  std::byte* old_p = nullptr;
  std::byte* old_q = nullptr;
  if (working(roles.p)) {
    old_p = scratch.take(width);
    if (read_member(roles.p, base + job.lo, {old_p, width}) != 0) return kRetry;
  }
  if (working(roles.q)) {
    old_q = scratch.take(width);
    if (read_member(roles.q, base + job.lo, {old_q, width}) != 0) return kRetry;
  }
  if (parity::recover(data, roles.q_exp, missing, old_p, old_q, width) != 0) return EIO;
  std::vector<const std::byte*> view(data_disks_);
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    if (!part.empty()) std::memcpy(data[k] + (part.lo - job.lo), src + part.buf_off, part.size());
    view[k] = data[k];
  }
  if (job.q) {
    parity::gen_pq(view, roles.q_exp, job.p, job.q, width);
  } else {
    parity::gen_p(view, job.p, width);
  }
  return 0;
}

int Raid5::add_disk(int role, Disk* disk) {
  if (role < 0 || static_cast<size_t>(role) >= disks_.size() || !disk) return EINVAL;
  if (working(role)) return EBUSY;
  disks_[role] = disk;
  recovering_[role].store(true);
  failed_[role].store(false);
  return 0;
}

SyncResult Raid5::sync_window(SyncKind kind, uint64_t start, uint64_t count) {
  const uint64_t chunk = layout_.chunk_sectors();
  SyncResult result;
  for (uint64_t stripe = start / chunk; stripe * chunk < start + count && stripe * chunk < sync_sectors(); ++stripe) {
    SyncResult r;
    {
      std::unique_lock lock(stripe_lock(stripe));
      r = kind == SyncKind::kRecover ? recover_stripe(stripe) : sync_stripe(kind, stripe);
    }
    report_failures();
    result.mismatches += r.mismatches;
    if (r.error != 0) return {r.error, result.mismatches};
  }
  return result;
}

// Check, repair and resync of one stripe: the parity computed from the data
// is compared with the parity on the members page by page (4 KiB, the
// kernel's STRIPE_SIZE, counted as 8 sectors), and rewritten unless only
// checking. A stripe missing a member has nothing to compare: skipped, as
// the kernel skips a sync it cannot do.
SyncResult Raid5::sync_stripe(SyncKind kind, uint64_t stripe) {
  constexpr size_t kPage = 4096;
  if (degraded() > 0) return {};
  StripeRoles roles;
  layout_.roles(stripe, roles);
  const size_t len = chunk_bytes_;
  const uint64_t base = stripe * chunk_bytes_;
  const bool q = roles.q >= 0;
  Scratch scratch(Scratch::kWork, static_cast<size_t>(data_disks_ + 4) * round_up(len));
  if (!scratch.ok()) return {ENOMEM, 0};
  std::vector<const std::byte*> data(data_disks_);
  for (int k = 0; k < data_disks_; ++k) {
    std::byte* buf = scratch.take(len);
    if (read_member(roles.data[k], base, {buf, len}) != 0) return {};
    data[k] = buf;
  }
  std::byte* old_p = scratch.take(len);
  std::byte* old_q = q ? scratch.take(len) : nullptr;
  std::byte* new_p = scratch.take(len);
  std::byte* new_q = q ? scratch.take(len) : nullptr;
  if (read_member(roles.p, base, {old_p, len}) != 0) return {};
  if (q && read_member(roles.q, base, {old_q, len}) != 0) return {};
  if (q) parity::gen_pq(data, roles.q_exp, new_p, new_q, len);
  else parity::gen_p(data, new_p, len);
  uint64_t mismatches = 0;
  for (size_t at = 0; at < len; at += kPage) {
    const bool bad = std::memcmp(old_p + at, new_p + at, kPage) != 0 ||
                     (q && std::memcmp(old_q + at, new_q + at, kPage) != 0);
    if (bad) mismatches += kPage / kSectorSize;
  }
  if (mismatches && kind != SyncKind::kCheck) {
    if (const int e = disks_[roles.p]->write(base, {new_p, len}); e != 0) member_error(roles.p, e);
    if (q) {
      if (const int e = disks_[roles.q]->write(base, {new_q, len}); e != 0) member_error(roles.q, e);
    }
  }
  return {0, kind == SyncKind::kResync ? 0 : mismatches};
}

// Recovery of one stripe: every chunk of a recovering role computed from
// the working members (lost data through the parity, lost parity from the
// data) and written to it.
SyncResult Raid5::recover_stripe(uint64_t stripe) {
  StripeRoles roles;
  layout_.roles(stripe, roles);
  const size_t len = chunk_bytes_;
  const uint64_t base = stripe * chunk_bytes_;
  const bool q = roles.q >= 0;
  auto rebuilding = [&](int role) { return writable(role) && recovering_[role].load(); };
  bool any = rebuilding(roles.p) || (q && rebuilding(roles.q));
  for (int k = 0; k < data_disks_; ++k) any = any || rebuilding(roles.data[k]);
  if (!any) return {};
  Scratch scratch(Scratch::kWork, static_cast<size_t>(data_disks_ + 2) * round_up(len));
  if (!scratch.ok()) return {ENOMEM, 0};
  std::vector<std::byte*> data(data_disks_);
  std::vector<int> missing;
  for (int k = 0; k < data_disks_; ++k) {
    data[k] = scratch.take(len);
    if (!working(roles.data[k])) missing.push_back(k);
    else if (read_member(roles.data[k], base, {data[k], len}) != 0) return {EIO, 0};
  }
  std::byte* p = scratch.take(len);
  std::byte* qb = q ? scratch.take(len) : nullptr;
  const bool have_p = working(roles.p) && read_member(roles.p, base, {p, len}) == 0;
  const bool have_q = q && working(roles.q) && read_member(roles.q, base, {qb, len}) == 0;
  if (!missing.empty() &&
      parity::recover(data, roles.q_exp, missing, have_p ? p : nullptr, have_q ? qb : nullptr, len) != 0)
    return {EIO, 0};
  std::vector<const std::byte*> view(data.begin(), data.end());
  if (q) parity::gen_pq(view, roles.q_exp, p, qb, len);
  else parity::gen_p(view, p, len);
  auto put = [&](int role, const std::byte* buf) {
    if (!rebuilding(role)) return;
    if (const int e = disks_[role]->write(base, {buf, len}); e != 0) member_error(role, e);
  };
  for (int k = 0; k < data_disks_; ++k) put(roles.data[k], data[k]);
  put(roles.p, p);
  if (q) put(roles.q, qb);
  return {};
}

template <int Level>
int max_degraded_of(const Geometry&) {
  return Level == 6 ? 2 : 1;
}

// raid5_size: every member gives the component size rounded down to whole
// chunks.
template <int Level>
Result<uint64_t> array_sectors_of(const Geometry& g) {
  if (g.level != Level) return err(EINVAL);
  auto layout = Raid5Layout::make(Level, g.layout, g.raid_disks, g.chunk_sectors);
  if (!layout) return err(layout.error());
  if (g.member_sectors.size() != static_cast<size_t>(g.raid_disks)) return err(EINVAL);
  const uint64_t component = checked_component(g);
  if (component == 0) return err(EINVAL);
  const uint64_t sectors = component & ~(static_cast<uint64_t>(g.chunk_sectors) - 1);
  return sectors * static_cast<uint64_t>(layout->data_disks());
}

template <int Level>
Result<std::unique_ptr<Personality>> run_of(const Geometry& g, std::vector<Disk*> roles, ArrayEvents& events) {
  auto sectors = array_sectors_of<Level>(g);
  if (!sectors) return err(sectors.error());
  if (roles.size() != static_cast<size_t>(g.raid_disks)) return err(EINVAL);
  // As raid5's run(): not enough operational devices.
  if (std::count(roles.begin(), roles.end(), nullptr) > max_degraded_of<Level>(g)) return err(EIO);
  auto layout = Raid5Layout::make(Level, g.layout, g.raid_disks, g.chunk_sectors);
  return std::unique_ptr<Personality>(std::make_unique<Raid5>(g, *layout, *sectors, std::move(roles), events));
}

}  // namespace

extern const PersonalityType kRaid4Personality = {
    .name = "raid4",
    .level = 4,
    .min_disks = 2,
    .max_degraded = max_degraded_of<4>,
    .array_sectors = array_sectors_of<4>,
    .run = run_of<4>,
};

extern const PersonalityType kRaid5Personality = {
    .name = "raid5",
    .level = 5,
    .min_disks = 2,
    .max_degraded = max_degraded_of<5>,
    .array_sectors = array_sectors_of<5>,
    .run = run_of<5>,
};

extern const PersonalityType kRaid6Personality = {
    .name = "raid6",
    .level = 6,
    .min_disks = 4,
    .max_degraded = max_degraded_of<6>,
    .array_sectors = array_sectors_of<6>,
    .run = run_of<6>,
};

}  // namespace mdfs::raid
