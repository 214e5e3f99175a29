// A reshape in progress: the kernel's raid5.c with conf->reshape_progress
// set. Each request is split at the reshape position and each side goes to
// its shape (raid5_compute_sector with `previous`); the sync thread moves
// the data window by window (reshape_request): it closes the window to I/O,
// reads the old shape, writes the new one, makes it durable, records the
// new position in every superblock, and only then opens the window again,
// so a kill at any moment leaves superblocks that describe the data.
#include "raid/reshape.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>

namespace mdfs::raid {

namespace {

// A window moves about this many member sectors (1 MiB) when the room
// between the shapes allows it.
constexpr uint64_t kWindowMemberSectors = 8192;

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

bool parity_level(int level) { return level == 4 || level == 5 || level == 6; }

// raid10's reshape moves at most this many sectors at once and never
// across a chunk of either shape (reshape_request's RESYNC_BLOCK_SIZE and
// chunk masks): positions the kernel records fall on these.
constexpr uint64_t kRaid10Block = 128;

// The sectors a window of `g` grows by: raid4/5/6 a whole stripe of the
// larger chunk (raid5's run() wants the position on one), raid10 the
// smaller chunk, at most kRaid10Block.
uint64_t unit_of(const Geometry& o, const Geometry& n) {
  const Rows nr = rows_of(n);
  if (n.level == 10)
    return std::min<uint64_t>(kRaid10Block, std::min(o.chunk_sectors, n.chunk_sectors));
  return static_cast<uint64_t>(std::max(o.chunk_sectors, n.chunk_sectors)) * (nr.data / nr.member);
}

class Reshaping final : public Personality {
 public:
  Reshaping(std::unique_ptr<Personality> old_pers, std::unique_ptr<Personality> new_pers, const Geometry& old_geo,
            const Geometry& new_geo, const ReshapeGeometry& r, std::vector<std::unique_ptr<Disk>> old_disks,
            std::vector<std::unique_ptr<Disk>> new_disks)
      : old_views_(std::move(old_disks)),
        new_views_(std::move(new_disks)),
        old_(std::move(old_pers)),
        new_(std::move(new_pers)),
        old_rows_(rows_of(old_geo)),
        new_rows_(rows_of(new_geo)),
        old_disks_(old_geo.raid_disks),
        old_layout_(old_geo.layout),
        reshape_(r),
        unit_(unit_of(old_geo, new_geo)),
        old_size_(old_->array_sectors()),
        new_size_(new_->array_sectors()),
        progress_(r.position) {}

  uint64_t array_sectors() const override { return std::min(old_size_, new_size_); }
  int read(uint64_t offset, std::span<std::byte> out) override;
  int write(uint64_t offset, std::span<const std::byte> in) override;
  // Straight from the member files, route_ held shared until the reply is
  // sent (map_read_done): no window closes meanwhile, so no data the
  // extents point at is moved or overwritten under the reply.
  bool map_read(uint64_t offset, size_t length, std::vector<Extent>& out) override;
  void map_read_done() override { route_.unlock_shared(); }
  int sync() override {
    const int a = old_->sync();
    const int b = new_->sync();
    return a ? a : b;
  }
  void fail(int role) override {
    if (role < old_disks_) old_->fail(role);
    new_->fail(role);
  }
  // As raid5_calc_degraded during a reshape: the worse of the two shapes.
  int degraded() const override { return std::max(old_->degraded(), new_->degraded()); }
  // raid5's status: the new chunk and member count, the old layout number.
  std::string mdstat_status() const override {
    std::string s = new_->mdstat_status();
    const std::string key = ", algorithm ";
    const size_t at = s.find(key);
    if (at != std::string::npos) {
      const size_t end = s.find(' ', at + key.size());
      s.replace(at + key.size(), end - at - key.size(), std::to_string(old_layout_));
    }
    return s;
  }
  uint64_t sync_sectors() const override { return new_->sync_sectors(); }
  uint64_t sync_unit() const override { return unit_ / (new_rows_.data / new_rows_.member); }
  void set_syncing(bool on) override {
    old_->set_syncing(on);
    new_->set_syncing(on);
  }
  // No resync, check or recovery while the shapes differ: md runs the
  // reshape first.
  SyncResult sync_window(SyncKind, uint64_t, uint64_t) override { return {EBUSY, 0}; }
  int add_disk(int, Disk*) override { return EBUSY; }

  bool reshaping() const override { return true; }
  uint64_t reshape_sectors() const override { return new_->sync_sectors(); }
  uint64_t reshape_done() const override { return done_at(progress_.load()); }
  uint64_t reshape_position() const override { return progress_.load(); }
  ReshapeStep reshape_step(uint64_t limit, const ReshapeCheckpoint& checkpoint) override;

 private:
  // Sync-space sectors done with the reshape at `position` (as
  // reshape_request counts sector_nr: from the start forwards, from the
  // new size backwards).
  uint64_t done_at(uint64_t position) const {
    const uint64_t moved = reshape_.backwards ? new_size_ - std::min(position, new_size_) : position;
    return moved / new_rows_.data * new_rows_.member + moved % new_rows_.data / (new_rows_.data / new_rows_.member);
  }
  bool in_window(uint64_t lo, uint64_t hi) const { return lo < window_hi_ && window_lo_ < hi; }
  // Waits until [offset, offset+length) (bytes) is out of the moving
  // window; `lock` holds route_ shared.
  // A window about to close keeps new requests out (closing_), so a
  // stream of requests cannot starve the sync thread.
  void wait_window(std::shared_lock<std::shared_mutex>& lock, uint64_t offset, uint64_t length) {
    const uint64_t lo = offset / kSectorSize;
    const uint64_t hi = ceil_div(offset + length, kSectorSize);
    moved_.wait(lock, [&] { return !closing_.load() && !in_window(lo, hi); });
  }
  // Takes route_ exclusively, ahead of requests that arrive meanwhile.
  std::unique_lock<std::shared_mutex> close_route() {
    closing_ = true;
    std::unique_lock lock(route_);
    closing_ = false;
    return lock;
  }
  // Calls fn(personality, offset, length) for the part of each shape, in
  // array order.
  template <class Fn>
  int split(uint64_t offset, uint64_t length, Fn&& fn);
  int move(uint64_t start, uint64_t end);

  // The member views the two shapes run on; declared first, so they go last.
  const std::vector<std::unique_ptr<Disk>> old_views_;
  const std::vector<std::unique_ptr<Disk>> new_views_;
  const std::unique_ptr<Personality> old_;
  const std::unique_ptr<Personality> new_;
  const Rows old_rows_;
  const Rows new_rows_;
  const int old_disks_;
  const int old_layout_;
  const ReshapeGeometry reshape_;
  const uint64_t unit_;  // array sectors a window grows by (unit_of)
  const uint64_t old_size_;
  const uint64_t new_size_;
  std::vector<std::byte> buffer_;  // the sync thread's window; only it touches it

  // route_ guards the reshape position and the moving window: requests
  // hold it shared while they run (so a window is closed only once the
  // requests inside it are done), the sync thread holds it exclusively
  // only to close a window and to move the position past it. moved_ wakes
  // requests waiting for a window to open. Nothing is taken under it.
  std::shared_mutex route_;
  std::condition_variable_any moved_;
  std::atomic<uint64_t> progress_;  // changed with route_ exclusive
  std::atomic<bool> closing_{false};
  uint64_t window_lo_ = 0;
  uint64_t window_hi_ = 0;
};

template <class Fn>
int Reshaping::split(uint64_t offset, uint64_t length, Fn&& fn) {
  const uint64_t at = progress_.load() * kSectorSize;
  const uint64_t end = offset + length;
  // Forwards the moved part is below the position, backwards above it.
  Personality* low = reshape_.backwards ? old_.get() : new_.get();
  Personality* high = reshape_.backwards ? new_.get() : old_.get();
  if (offset < at) {
    if (int e = fn(*low, offset, std::min(end, at) - offset, 0)) return e;
  }
  if (end > at) {
    const uint64_t from = std::max(offset, at);
    if (int e = fn(*high, from, end - from, from - offset)) return e;
  }
  return 0;
}

int Reshaping::read(uint64_t offset, std::span<std::byte> out) {
  std::shared_lock lock(route_);
  wait_window(lock, offset, out.size());
  return split(offset, out.size(), [&](Personality& p, uint64_t at, uint64_t n, uint64_t buf_off) {
    return p.read(at, out.subspan(buf_off, n));
  });
}

bool Reshaping::map_read(uint64_t offset, size_t length, std::vector<Extent>& out) {
  std::shared_lock lock(route_);
  wait_window(lock, offset, length);
  const size_t start = out.size();
  const int r = split(offset, length, [&](Personality& p, uint64_t at, uint64_t n, uint64_t) {
    return p.map_read(at, n, out) ? 0 : 1;
  });
  if (r != 0) {
    out.resize(start);
    return false;
  }
  lock.release();  // map_read_done unlocks it
  return true;
}

int Reshaping::write(uint64_t offset, std::span<const std::byte> in) {
  std::shared_lock lock(route_);
  wait_window(lock, offset, in.size());
  return split(offset, in.size(), [&](Personality& p, uint64_t at, uint64_t n, uint64_t buf_off) {
    return p.write(at, in.subspan(buf_off, n));
  });
}

// Copies array sectors [start, end) from the old shape to the new one:
// whole new stripes, written without reads; past the old shape's end the
// new stripes hold zeros, as reshape_request fills them.
int Reshaping::move(uint64_t start, uint64_t end) {
  const size_t bytes = static_cast<size_t>((end - start) * kSectorSize);
  if (buffer_.size() < bytes) buffer_.resize(bytes);
  std::span<std::byte> buf(buffer_.data(), bytes);
  const uint64_t have = std::min(end, old_size_) > start ? std::min(end, old_size_) - start : 0;
  if (have) {
    if (int e = old_->read(start * kSectorSize, buf.first(have * kSectorSize))) return e;
  }
  std::memset(buf.data() + have * kSectorSize, 0, bytes - have * kSectorSize);
  if (int e = new_->write(start * kSectorSize, buf)) return e;
  return new_->sync();
}

ReshapeStep Reshaping::reshape_step(uint64_t limit, const ReshapeCheckpoint& checkpoint) {
  const uint64_t p = progress_.load();
  const uint64_t done = done_at(p);
  const uint64_t units = std::max<uint64_t>(1, kWindowMemberSectors / sync_unit());
  const uint64_t ratio = new_rows_.data / new_rows_.member;  // array sectors per member sector
  const uint64_t room = limit > done ? std::max<uint64_t>((limit - done) * ratio, unit_) : unit_;
  uint64_t start, end;
  if (!reshape_.backwards) {
    if (p >= new_size_) return {0, done};
    end = std::min({new_size_, p + units * unit_, p + room});
    while (end > p && !window_safe(old_rows_, new_rows_, reshape_, old_size_, p, p, end))
      end = end - p > unit_ ? end - unit_ : p;
    start = p;
    if (end == p) return {ENOSPC, done};
  } else {
    if (p == 0) return {0, done};
    start = p - std::min({p, units * unit_, room});
    while (start < p && !window_safe(old_rows_, new_rows_, reshape_, old_size_, p, start, p))
      start = p - start > unit_ ? start + unit_ : p;
    end = p;
    if (start == p) return {ENOSPC, done};
  }
  {
    auto lock = close_route();
    window_lo_ = start;
    window_hi_ = end;
  }
  moved_.notify_all();
  const uint64_t next = reshape_.backwards ? start : end;
  int e = move(start, end);
  if (e == 0) e = checkpoint(next, done_at(next));
  {
    auto lock = close_route();
    if (e == 0) progress_ = next;
    window_lo_ = window_hi_ = 0;
  }
  moved_.notify_all();
  return {e, done_at(progress_.load())};
}

}  // namespace

Rows rows_of(const Geometry& g) {
  Rows r;
  if (g.level == 10) {
    r.data = r.member = 1;
    r.near = g.layout & 255;
    r.far = (g.layout >> 8) & 255;
    r.disks = g.raid_disks;
    r.chunk = g.chunk_sectors;
    return r;
  }
  if (!parity_level(g.level)) return r;
  const int parity = g.level == 6 ? 2 : 1;
  r.data = static_cast<uint64_t>(g.chunk_sectors) * static_cast<uint64_t>(g.raid_disks - parity);
  r.member = g.chunk_sectors;
  return r;
}

uint64_t Rows::first(uint64_t s) const {
  if (near == 0) return s / data * member;
  // The row of the chunk's first near copy; offset copies take far rows each.
  return s / chunk * static_cast<uint64_t>(near) / static_cast<uint64_t>(disks) * static_cast<uint64_t>(far) * chunk;
}

uint64_t Rows::last(uint64_t end) const {
  if (near == 0) return ceil_div(end, data) * member;
  const uint64_t slots = ceil_div(end, chunk) * static_cast<uint64_t>(near);
  return ceil_div(slots, static_cast<uint64_t>(disks)) * static_cast<uint64_t>(far) * chunk;
}

namespace {

// raid10_check_reshape's rules: no far copies (offset copies are allowed),
// the same number of copies.
bool raid10_reshapes(const Geometry& o, const Geometry& n) {
  const int o_near = o.layout & 255, o_far = (o.layout >> 8) & 255, o_offset = (o.layout >> 16) & 1;
  const int n_near = n.layout & 255, n_far = (n.layout >> 8) & 255, n_offset = (n.layout >> 16) & 1;
  if ((o.layout >> 17) != 0 || (n.layout >> 17) != 0) return false;  // far sets: far copies
  if ((o_far > 1 && !o_offset) || (n_far > 1 && !n_offset)) return false;
  return o_near * o_far == n_near * n_far && o_near * o_far >= 2;
}

}  // namespace

Geometry old_shape(const Geometry& geo, const ReshapeGeometry& r) {
  Geometry g = geo;
  g.raid_disks = geo.raid_disks - r.delta_disks;
  g.member_sectors.resize(static_cast<size_t>(std::max(g.raid_disks, 0)), 0);
  return g;
}

Geometry new_shape(const Geometry& geo, const ReshapeGeometry& r) {
  Geometry g = geo;
  g.level = r.new_level;
  g.layout = r.new_layout;
  g.chunk_sectors = r.new_chunk_sectors;
  g.member_sectors = r.new_member_sectors;
  g.member_sectors.resize(static_cast<size_t>(std::max(g.raid_disks, 0)), 0);
  return g;
}

Result<void> check_reshape(const Geometry& geo, const ReshapeGeometry& r) {
  const Geometry o = old_shape(geo, r);
  const Geometry n = new_shape(geo, r);
  const bool raid10 = o.level == 10 && n.level == 10;
  if (!raid10 && (!parity_level(o.level) || !parity_level(n.level))) return err(EINVAL);
  if (raid10 && !raid10_reshapes(o, n)) return err(EINVAL);
  if (o.raid_disks <= 0 || n.raid_disks <= 0) return err(EINVAL);
  if (o.chunk_sectors == 0 || n.chunk_sectors == 0) return err(EINVAL);
  return {};
}

bool window_safe(const Rows& old_rows, const Rows& new_rows, const ReshapeGeometry& r, uint64_t old_size,
                 uint64_t safe, uint64_t start, uint64_t end) {
  if (!r.backwards) {
    if (safe >= old_size) return true;  // the old shape holds nothing still needed
    const int64_t write_end = static_cast<int64_t>(new_rows.last(end)) + r.max_offset_diff;
    const auto read_start = static_cast<int64_t>(old_rows.first(safe));
    return write_end <= read_start;
  }
  const int64_t write_start = static_cast<int64_t>(new_rows.first(start)) + r.min_offset_diff;
  const auto read_end = static_cast<int64_t>(old_rows.last(std::min(safe, old_size)));
  return write_start >= read_end;
}

Result<std::unique_ptr<Personality>> run_reshape(const Geometry& geo, const ReshapeGeometry& r,
                                                 std::vector<std::unique_ptr<Disk>> old_disks,
                                                 std::vector<std::unique_ptr<Disk>> new_disks, ArrayEvents& events) {
  if (auto ok = check_reshape(geo, r); !ok) return err(ok.error());
  const Geometry o = old_shape(geo, r);
  const Geometry n = new_shape(geo, r);
  const PersonalityType* old_type = find_personality(o.level);
  const PersonalityType* new_type = find_personality(n.level);
  if (!old_type || !new_type) return err(EINVAL);
  std::vector<Disk*> old_roles(static_cast<size_t>(o.raid_disks), nullptr);
  std::vector<Disk*> new_roles(static_cast<size_t>(n.raid_disks), nullptr);
  for (size_t i = 0; i < old_roles.size() && i < old_disks.size(); ++i) old_roles[i] = old_disks[i].get();
  for (size_t i = 0; i < new_roles.size() && i < new_disks.size(); ++i) new_roles[i] = new_disks[i].get();
  auto old_pers = old_type->run(o, old_roles, events);
  if (!old_pers) return err(old_pers.error());
  auto new_pers = new_type->run(n, new_roles, events);
  if (!new_pers) return err(new_pers.error());
  // Writes during a reshape bypass raid5's stripe cache: each goes to one
  // shape or the other, whole, as the reshape window decides.
  (*old_pers)->no_stripe_cache();
  (*new_pers)->no_stripe_cache();
  // As raid5's run(): the position must fall on a whole new stripe of the
  // larger chunk, and be inside the array. raid10's run() asks only that
  // every member's data moves by a chunk of either shape (times its
  // offset copies) in the reshape's direction, so that no window is ever
  // written over data not yet moved.
  const uint64_t unit = unit_of(o, n);
  const uint64_t limit = std::max((*old_pers)->array_sectors(), (*new_pers)->array_sectors());
  if (r.position > limit) return err(EINVAL);
  if (n.level == 10) {
    const auto length = [](const Geometry& g) {
      return static_cast<int64_t>(g.chunk_sectors) * std::max((g.layout >> 8) & 255, 1);
    };
    const int64_t need = std::max(length(o), length(n));
    if ((r.backwards ? r.min_offset_diff : -r.max_offset_diff) < need) return err(EINVAL);
  } else if (r.position % unit != 0 && r.position != (*new_pers)->array_sectors()) {
    return err(EINVAL);
  }
  return std::unique_ptr<Personality>(
      std::make_unique<Reshaping>(std::move(*old_pers), std::move(*new_pers), o, n, r, std::move(old_disks), std::move(new_disks)));
}

}  // namespace mdfs::raid
