// raid10: near, far and offset copies of striped chunks (raid10.c).
#include <algorithm>
#include <cerrno>

#include "raid/geometry.h"
#include "raid/io_plan.h"
#include "raid/members.h"
#include "raid/raid10_layout.h"
#include "raid/sync_barrier.h"

namespace mdfs::raid {

namespace {

Result<Raid10Layout> layout_of(const Geometry& geo) {
  if (role_sectors(geo, 2).empty()) return err(EINVAL);
  uint64_t c = checked_component(geo);
  if (!c) return err(EINVAL);
  return Raid10Layout::make(geo.raid_disks, geo.layout, geo.chunk_sectors, c);
}

class Raid10 final : public Personality {
 public:
  Raid10(Raid10Layout layout, std::vector<Disk*> roles, ArrayEvents& events)
      : layout_(std::move(layout)), members_(roles, layout_.copy_sets(), events), intent_(events.write_intent()) {}

  bool enough() const { return members_.enough(); }

  uint64_t array_sectors() const override { return layout_.array_sectors(); }

  int read(uint64_t offset, std::span<std::byte> out) override {
    if (!in_array(offset, out.size())) return EINVAL;
    return read_range(offset, out, -1);
  }

  int reread(uint64_t offset, std::span<std::byte> out, int role) override {
    if (!in_array(offset, out.size())) return EINVAL;
    return read_range(offset, out, role);
  }

  int write(uint64_t offset, std::span<const std::byte> in) override {
    if (!in_array(offset, in.size())) return EINVAL;
    const uint64_t lo = offset / kSectorSize, hi = (offset + in.size() + kSectorSize - 1) / kSectorSize;
    IntentScope intent(intent_, lo, hi);
    if (int e = intent.start()) return e;
    auto pass = barrier_.enter(lo, hi);
    auto writing = members_.writing();
    const int copies = layout_.copies();
    bool all_copies = true;  // raid10's R10BIO_Degraded, inverted
    std::vector<Copy> where(copies);
    // One stream per (role, copy), so that each copy's pieces continue
    // each other even where a member holds two copies (far layouts).
    IoPlan plan(members_.raid_disks() * copies);
    uint64_t end = offset + in.size();
    for (uint64_t pos = offset; pos < end;) {
      uint64_t in_sector = pos % kSectorSize;
      uint64_t run = layout_.map(pos / kSectorSize, where);
      uint64_t n = std::min(end - pos, run * kSectorSize - in_sector);
      bool any = false;
      for (int j = 0; j < copies; ++j) {
        if (!members_.writable(where[j].role)) {
          all_copies = false;
          continue;
        }
        plan.add(where[j].role * copies + j, where[j].role, where[j].sector * kSectorSize + in_sector,
                 pos - offset, n);
        any = any || members_.working(where[j].role);
      }
      if (!any) return EIO;
      pos += n;
    }
    int result = 0;
    bool dropped = false;
    std::vector<Failed> failed;  // runs a working member recorded as bad blocks
    for (const auto& run : plan.runs()) {
      if (!members_.writable(run.role)) {
        dropped = true;
        continue;
      }
      if (int e = plan.write(run, *members_.disk(run.role), in)) {
        const uint64_t first = run.offset / kSectorSize;
        if (members_.write_error(run.role, first, (run.offset + run.length + kSectorSize - 1) / kSectorSize - first, e)) {
          dropped = true;
          if (members_.working(run.role)) failed.push_back({run.role, run.offset, run.offset + run.length});
        } else {
          result = EIO;  // the last copy of some chunk: kept, and the write fails (raid_end_bio_io)
        }
      }
    }
    // Copies were dropped on the way: every piece needs a copy that is still
    // working and took it, as R10BIO_Uptodate.
    if (!result && dropped && !covered(offset, in.size(), failed)) result = EIO;
    intent.complete(!result && all_copies && !dropped);
    return result;
  }

  bool map_read(uint64_t offset, size_t length, std::vector<Extent>& out) override {
    if (!in_array(offset, length)) return false;
    size_t first = out.size();
    std::vector<Copy> where(layout_.copies());
    uint64_t end = offset + length;
    for (uint64_t pos = offset; pos < end;) {
      uint64_t in_sector = pos % kSectorSize;
      uint64_t run = layout_.map(pos / kSectorSize, where);
      uint64_t n = std::min(end - pos, run * kSectorSize - in_sector);
      const Copy* c = choose(where, n, -1);
      if (!c) {
        out.resize(first);
        return false;
      }
      Disk* d = members_.disk(c->role);
      append_extent(out, c->role, d->fd(), d->data_start() + c->sector * kSectorSize + in_sector, n);
      pos += n;
    }
    return true;
  }

  int sync() override { return members_.sync_working(); }

  void fail(int role) override { members_.fail(role); }
  int degraded() const override { return members_.degraded(); }
  std::string mdstat_status() const override { return layout_.mdstat_words() + members_.mdstat_health(); }

  // As raid10's sync_request: resync, check and repair walk the array's
  // sectors, recovery the rebuilt members' (each chunk there found through
  // chunk_at); mismatches count whole 64 KiB resync blocks.
  uint64_t sync_sectors() const override { return layout_.array_sectors(); }
  uint64_t recovery_sectors() const override { return layout_.dev_sectors(); }
  uint64_t sync_unit() const override { return kResyncBlock; }
  void set_syncing(bool on) override { on ? barrier_.begin() : barrier_.end(); }
  SyncResult sync_window(SyncKind kind, uint64_t start, uint64_t count) override {
    if (kind == SyncKind::kRecover) return recover_window(start, count);
    RaisedWindow window(barrier_, start, start + count);
    SyncResult result;
    std::vector<Copy> where(layout_.copies());
    const uint64_t end = std::min(start + count, layout_.array_sectors());
    for (uint64_t block = start; block < end; block += kResyncBlock) {
      const uint64_t block_end = std::min(block + kResyncBlock, end);
      bool block_differs = false;
      for (uint64_t pos = block; pos < block_end;) {
        const uint64_t n = std::min(layout_.map(pos, where), block_end - pos);
        bool differ = false;
        if (int e = members_.sync_copies(kind, where, n, differ)) return {e, result.mismatches};
        block_differs = block_differs || differ;
        pos += n;
      }
      if (block_differs && (kind == SyncKind::kCheck || kind == SyncKind::kRepair))
        result.mismatches += block_end - block;
    }
    return result;
  }
  int add_disk(int role, Disk* disk) override { return members_.add(role, disk); }
  void disk_recovered(int role) override { members_.recovered(role); }

 private:
  // Member sectors [start, start + count) of every recovering role: each
  // piece is the copy of some array range, rebuilt from a working copy
  // with that array range held against writes.
  SyncResult recover_window(uint64_t start, uint64_t count) {
    const uint64_t chunk = layout_.chunk_sectors();
    const uint64_t end = std::min(start + count, layout_.dev_sectors());
    std::vector<Copy> where(layout_.copies());
    for (int role = 0; role < members_.raid_disks(); ++role) {
      if (!members_.recovering(role)) continue;
      for (uint64_t pos = start; pos < end;) {
        const uint64_t row = pos / chunk;
        const uint64_t n = std::min(end, (row + 1) * chunk) - pos;
        const int64_t c = layout_.chunk_at(role, row);
        const uint64_t at = c < 0 ? 0 : static_cast<uint64_t>(c) * chunk + pos % chunk;
        // The bitmap covers array sectors: a clean chunk is skipped there.
        if (c >= 0 && (!intent_ || intent_->recovery_needed(at, at + n))) {
          RaisedWindow window(barrier_, at, at + n);
          layout_.map(at, where);
          bool differ = false;
          if (int e = members_.sync_copies(SyncKind::kRecover, where, n, differ)) return {e, 0};
        }
        pos += n;
      }
    }
    return {};
  }

  bool in_array(uint64_t offset, size_t length) const {
    uint64_t size = layout_.array_sectors() * kSectorSize;
    return offset <= size && length <= size - offset;
  }

  // As raid10's read_balance: a working copy with the fewest reads in
  // flight; among equals, for far copies the lowest address (the start of
  // every member is the fast part), else the nearest head. Marks the head.
  // The copy on `prefer`, when it has a working one.
  const Copy* choose(std::span<const Copy> where, uint64_t length, int prefer) {
    const bool far = layout_.far_copies() > 1 && !layout_.far_offset();
    const Copy* best = nullptr;
    for (const Copy& c : where)
      if (c.role == prefer && members_.working(c.role)) best = &c;
    if (best) {
      members_.set_head(best->role, best->sector * kSectorSize + length);
      return best;
    }
    int best_pending = 0;
    uint64_t best_distance = 0;
    for (const Copy& c : where) {
      if (!members_.working(c.role)) continue;
      uint64_t at = c.sector * kSectorSize;
      uint64_t head = members_.head(c.role);
      uint64_t distance = far ? at : (head > at ? head - at : at - head);
      int pending = members_.pending(c.role);
      if (!best || pending < best_pending || (pending == best_pending && distance < best_distance)) {
        best = &c;
        best_pending = pending;
        best_distance = distance;
      }
    }
    if (best) members_.set_head(best->role, best->sector * kSectorSize + length);
    return best;
  }

  // One member request per role for the pieces chosen on it. A request
  // that fails is taken apart into its pieces: each is read from that
  // member again, and a piece that still fails goes to md's read-error
  // handling, which serves it from another copy (raid10's handle_read_error
  // works on one chunk's r10_bio at a time, too).
  int read_range(uint64_t offset, std::span<std::byte> out, int prefer) {
    std::vector<Copy> where(layout_.copies());
    IoPlan plan(members_.raid_disks());
    uint64_t end = offset + out.size();
    for (uint64_t pos = offset; pos < end;) {
      uint64_t in_sector = pos % kSectorSize;
      uint64_t run = layout_.map(pos / kSectorSize, where);
      uint64_t n = std::min(end - pos, run * kSectorSize - in_sector);
      const Copy* c = choose(where, n, prefer);
      if (!c) return EIO;
      plan.add(c->role, c->role, c->sector * kSectorSize + in_sector, pos - offset, n);
      pos += n;
    }
    for (const auto& run : plan.runs()) {
      if (members_.working(run.role)) {
        Members::PendingRead pending(members_, run.role);
        if (plan.read(run, *members_.disk(run.role), out) == 0) continue;
      }
      for (int s = run.first; s >= 0; s = plan.segment(s).next) {
        const auto& seg = plan.segment(s);
        if (int e = read_pieces(run.role, offset + seg.buf_offset, out.subspan(seg.buf_offset, seg.length)))
          return e;
      }
    }
    return 0;
  }

  // [offset, offset + out.size()), planned on `role`, chunk piece by piece.
  int read_pieces(int role, uint64_t offset, std::span<std::byte> out) {
    std::vector<Copy> where(layout_.copies());
    const uint64_t end = offset + out.size();
    for (uint64_t pos = offset; pos < end;) {
      const uint64_t in_sector = pos % kSectorSize;
      const uint64_t n = std::min(end - pos, layout_.map(pos / kSectorSize, where) * kSectorSize - in_sector);
      const auto piece = out.subspan(pos - offset, n);
      size_t bad = where.size();
      for (size_t i = 0; i < where.size(); ++i)
        if (where[i].role == role) bad = i;
      int e = EIO;
      if (bad < where.size() && members_.working(role)) {
        Members::PendingRead pending(members_, role);
        e = members_.disk(role)->read(where[bad].sector * kSectorSize + in_sector, piece);
      } else if (const Copy* c = choose(where, n, -1)) {
        // The member was failed meanwhile: another copy, as a new read.
        bad = static_cast<size_t>(c - where.data());
        Members::PendingRead pending(members_, c->role);
        e = members_.disk(c->role)->read(c->sector * kSectorSize + in_sector, piece);
      } else {
        return EIO;
      }
      if (e != 0) {
        if (const int r = members_.read_error(where, bad, e, in_sector, piece)) return r;
      }
      pos += n;
    }
    return 0;
  }

  // Whether every piece of the range has a working copy.
  // A member's bytes [lo, hi) whose write failed and were recorded bad.
  struct Failed {
    int role;
    uint64_t lo, hi;
  };
  // Whether every piece of the range has a working copy outside `failed`.
  bool covered(uint64_t offset, size_t length, std::span<const Failed> failed = {}) const {
    std::vector<Copy> where(layout_.copies());
    uint64_t first = offset / kSectorSize;
    uint64_t last = (offset + length + kSectorSize - 1) / kSectorSize;
    for (uint64_t s = first; s < last;) {
      uint64_t run = std::min(layout_.map(s, where), last - s);
      const auto took = [&](const Copy& c) {
        if (!members_.working(c.role)) return false;
        const uint64_t lo = c.sector * kSectorSize, hi = lo + run * kSectorSize;
        return std::none_of(failed.begin(), failed.end(),
                            [&](const Failed& f) { return f.role == c.role && f.lo < hi && lo < f.hi; });
      };
      if (std::none_of(where.begin(), where.end(), took)) return false;
      s += run;
    }
    return true;
  }

  static constexpr uint64_t kResyncBlock = 128;

  Raid10Layout layout_;
  Members members_;
  WriteIntent* const intent_;
  SyncBarrier barrier_;
};

Result<uint64_t> array_sectors(const Geometry& geo) {
  auto l = layout_of(geo);
  if (!l) return err(l.error());
  return l->array_sectors();
}

Result<std::unique_ptr<Personality>> run(const Geometry& geo, std::vector<Disk*> roles, ArrayEvents& events) {
  auto l = layout_of(geo);
  if (!l) return err(l.error());
  if (roles.size() != size_t(geo.raid_disks)) return err(EINVAL);
  auto p = std::make_unique<Raid10>(std::move(*l), std::move(roles), events);
  // raid10_run: "not enough operational mirrors".
  if (!p->enough()) return err(EIO);
  return std::unique_ptr<Personality>(std::move(p));
}

// The most roles that can be missing with every chunk still on a member
// (at best; which roles matters, and run() checks the actual ones).
int max_degraded(const Geometry& geo) {
  auto l = layout_of(geo);
  if (!l) return 0;
  int n = geo.raid_disks;
  return n - (n + l->copies() - 1) / l->copies();
}

}  // namespace

extern const PersonalityType kRaid10Personality = {
    .name = "raid10",
    .level = 10,
    .min_disks = 2,
    .max_degraded = max_degraded,
    .array_sectors = array_sectors,
    .run = run,
};

}  // namespace mdfs::raid
