// raid1: every working member holds the whole array (raid1.c).
#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "raid/geometry.h"
#include "raid/io_plan.h"
#include "raid/members.h"
#include "raid/sync_barrier.h"
#include "raid/write_behind.h"

namespace mdfs::raid {

namespace {

std::vector<std::vector<int>> all_roles(int raid_disks) {
  std::vector<int> set;
  for (int r = 0; r < raid_disks; ++r) set.push_back(r);
  return {set};
}

class Raid1 final : public Personality {
 public:
  Raid1(uint64_t sectors, std::vector<Disk*> roles, ArrayEvents& events)
      : sectors_(sectors), members_(roles, all_roles(int(roles.size())), events), intent_(events.write_intent()) {}

  uint64_t array_sectors() const override { return sectors_; }

  int read(uint64_t offset, std::span<std::byte> out) override {
    if (!in_array(offset, out.size())) return EINVAL;
    return read_from(choose(offset, out.size()), offset, out);
  }

  int reread(uint64_t offset, std::span<std::byte> out, int role) override {
    if (!in_array(offset, out.size())) return EINVAL;
    return read_from(members_.working(role) ? role : choose(offset, out.size()), offset, out);
  }

  int sync() override { return members_.sync_working(); }
  void quiesce() override { behind_.drain(); }

  int write(uint64_t offset, std::span<const std::byte> in) override {
    if (!in_array(offset, in.size())) return EINVAL;
    const uint64_t lo = offset / kSectorSize, hi = (offset + in.size() + kSectorSize - 1) / kSectorSize;
    // raid1_write_request: with a bitmap whose backlog allows it, the
    // write-mostly mirrors' copies go behind (on a copy of the data) and
    // the write returns once the other mirrors have it.
    if (const uint32_t backlog = intent_ ? intent_->write_behind() : 0; backlog > 0 && can_go_behind()) {
      uint32_t outstanding = 0;
      if (behind_.try_start(backlog, outstanding)) {
        intent_->behind_started(outstanding);
        return write_behind(offset, in, lo, hi);
      }
    }
    IntentScope intent(intent_, lo, hi);
    if (int e = intent.start()) return e;
    auto pass = barrier_.enter(lo, hi);
    auto writing = members_.writing();
    Outcome out;
    for (int r = 0; r < members_.raid_disks(); ++r)
      if (members_.writable(r)) write_mirror(r, offset, in, lo, hi, out);
    const int result = out.result(members_);
    // raid1's R1BIO_Degraded: a mirror missing or lost keeps the bits.
    intent.complete(!result && members_.all_writable());
    return result;
  }

  bool map_read(uint64_t offset, size_t length, std::vector<Extent>& out) override {
    if (!in_array(offset, length)) return false;
    int role = choose(offset, length);
    if (role < 0) return false;
    // Writes behind on it: read() waits for them.
    if (members_.disk(role)->write_mostly_member() && behind_.any_behind()) return false;
    Disk* d = members_.disk(role);
    if (length) append_extent(out, role, d->fd(), d->data_start() + offset, length);
    return true;
  }

  void fail(int role) override { members_.fail(role); }
  int degraded() const override { return members_.degraded(); }
  std::string mdstat_status() const override { return members_.mdstat_health(); }

  // raid1's sync space is the array; mismatches count whole resync blocks
  // (64 KiB, RESYNC_BLOCK_SIZE), as the kernel does.
  uint64_t sync_sectors() const override { return sectors_; }
  uint64_t sync_unit() const override { return kResyncBlock; }
  void set_syncing(bool on) override { on ? barrier_.begin() : barrier_.end(); }
  SyncResult sync_window(SyncKind kind, uint64_t start, uint64_t count) override {
    RaisedWindow window(barrier_, start, start + count);
    SyncResult result;
    std::vector<Copy> copies;
    for (uint64_t block = start; block < start + count && block < sectors_; block += kResyncBlock) {
      const uint64_t n = std::min({kResyncBlock, start + count - block, sectors_ - block});
      copies.clear();
      for (int r = 0; r < members_.raid_disks(); ++r) copies.push_back({r, block});
      bool differ = false;
      if (int e = members_.sync_copies(kind, copies, n, differ)) return {e, result.mismatches};
      if (differ && (kind == SyncKind::kCheck || kind == SyncKind::kRepair)) result.mismatches += n;
    }
    return result;
  }
  int add_disk(int role, Disk* disk) override {
    behind_.drain();  // the role's old behind writes are not the new member's
    return members_.add(role, disk);
  }
  void disk_recovered(int role) override { members_.recovered(role); }

 private:
  bool in_array(uint64_t offset, size_t length) const {
    uint64_t size = sectors_ * kSectorSize;
    return offset <= size && length <= size - offset;
  }

  // Reads the mirror `role`; an error goes to md's read-error handling,
  // which serves the data from another mirror (and rewrites the bad one).
  int read_from(int role, uint64_t offset, std::span<std::byte> out) {
    if (role < 0) return EIO;
    before_reading(role);
    int e;
    {
      Members::PendingRead pending(members_, role);
      e = members_.disk(role)->read(offset, out);
    }
    if (e == 0) return 0;
    std::vector<Copy> copies;
    size_t bad = 0;
    for (int r = 0; r < members_.raid_disks(); ++r) {
      if (r == role) bad = copies.size();
      copies.push_back({r, offset / kSectorSize});
    }
    // The other copies may be write-mostly ones.
    behind_.wait_landed();
    return members_.read_error(copies, bad, e, offset % kSectorSize, out);
  }

  // The working mirror with the fewest reads in flight; among equals the
  // one whose last read ended nearest (raid1's read_balance, in short). A
  // write-mostly mirror is not balanced over: the first one is read only
  // when no other mirror works.
  int choose(uint64_t offset, size_t length) {
    int best = -1;
    int last_resort = -1;
    int best_pending = 0;
    uint64_t best_distance = 0;
    for (int r = 0; r < members_.raid_disks(); ++r) {
      if (!members_.working(r)) continue;
      if (members_.disk(r)->write_mostly_member()) {
        if (last_resort < 0) last_resort = r;
        continue;
      }
      int pending = members_.pending(r);
      uint64_t head = members_.head(r);
      uint64_t distance = head > offset ? head - offset : offset - head;
      if (best < 0 || pending < best_pending || (pending == best_pending && distance < best_distance)) {
        best = r;
        best_pending = pending;
        best_distance = distance;
      }
    }
    if (best < 0) best = last_resort;
    if (best >= 0) members_.set_head(best, offset + length);
    return best;
  }

  // One array write whose write-mostly copies are behind: the bitmap's
  // count of its chunks and its barrier passes are held until they land
  // (md keeps the r1_bio, and its bitmap bits, until every mirror is done;
  // raid_end_bio_io's allow_barrier comes after the behind writes).
  struct Behind {
    Behind(WriteIntent* intent, uint64_t lo, uint64_t hi, std::span<const std::byte> in)
        : scope(intent, lo, hi), data(in.begin(), in.end()) {}
    struct Passes {
      SyncBarrier::Pass barrier;
      WriteFreeze::Pass writing;
    };
    IntentScope scope;
    std::unique_ptr<Passes> passes;
    std::vector<std::byte> data;  // alloc_behind_master_bio's copy
    bool complete = false;        // the mirrors that are not behind got it
  };

  // Write-behind needs a mirror to wait for and one to leave behind.
  bool can_go_behind() const {
    bool mostly = false, other = false;
    for (int r = 0; r < members_.raid_disks(); ++r) {
      if (!members_.writable(r)) continue;
      (members_.disk(r)->write_mostly_member() ? mostly : other) = true;
    }
    return mostly && other;
  }

  // What the mirrors made of one array write.
  struct Outcome {
    bool written = false;  // R1BIO_Uptodate: a working mirror took the data
    bool failed = false;   // the last mirror failed it (kept, as raid1_error)
    // raid_end_bio_io: EIO when the last mirror failed, when no working
    // mirror took the data, or when every mirror is gone or recorded it as
    // bad blocks instead.
    int result(const Members& m) const { return failed || !written || m.degraded() == m.raid_disks() ? EIO : 0; }
  };

  // One mirror's part of an array write. The last mirror stays when its
  // write fails, and the write fails with EIO, whatever the member said.
  void write_mirror(int r, uint64_t offset, std::span<const std::byte> in, uint64_t lo, uint64_t hi, Outcome& out) {
    const int e = write_member(r, offset, in);
    out.written = out.written || (e == 0 && members_.working(r));
    if (e && !members_.write_error(r, lo, hi - lo, e)) out.failed = true;
  }

  // A write-mostly mirror's writes keep their order behind earlier behind
  // writes (md's serialization of write-mostly members, CollisionCheck).
  int write_member(int r, uint64_t offset, std::span<const std::byte> in) {
    if (!members_.disk(r)->write_mostly_member()) return members_.disk(r)->write(offset, in);
    int e = 0;
    behind_.run_in_order([&] { e = members_.disk(r)->write(offset, in); });
    return e;
  }

  int write_behind(uint64_t offset, std::span<const std::byte> in, uint64_t lo, uint64_t hi) {
    auto job = std::make_shared<Behind>(intent_, lo, hi, in);
    if (int e = job->scope.start()) {
      end_behind();
      return e;
    }
    job->passes.reset(new Behind::Passes{barrier_.enter(lo, hi), members_.writing()});
    Outcome out;
    std::vector<int> later;
    for (int r = 0; r < members_.raid_disks(); ++r) {
      if (!members_.writable(r)) continue;
      if (members_.disk(r)->write_mostly_member()) later.push_back(r);
      else write_mirror(r, offset, job->data, lo, hi, out);
    }
    if (!out.written) {
      // No mirror that is not behind took it: the write waits for the
      // write-mostly ones, as md returns only once some mirror has it.
      for (int r : later) write_mirror(r, offset, job->data, lo, hi, out);
      const int result = out.result(members_);
      job->scope.complete(!result && members_.all_writable());
      job.reset();
      end_behind();
      return result;
    }
    const int result = out.result(members_);
    job->complete = !result;
    behind_.queue([this, job, later = std::move(later), offset, lo, hi]() mutable {
      bool ok = true;
      for (int r : later) {
        if (!members_.writable(r)) {
          ok = false;
          continue;
        }
        if (int e = members_.disk(r)->write(offset, job->data)) {
          members_.write_error(r, lo, hi - lo, e);
          ok = false;
        }
      }
      job->scope.complete(job->complete && ok && members_.all_writable());
      job.reset();  // the bits' count and the barrier go before the count of behind writes
      end_behind();
    });
    return result;
  }

  void end_behind() {
    intent_->behind_ended();
    behind_.end();
  }

  // A write-mostly mirror is read only once no write is behind on it
  // (raid1_read_request's wait on behind_wait).
  void before_reading(int role) {
    if (role >= 0 && members_.disk(role)->write_mostly_member()) behind_.wait_landed();
  }

  static constexpr uint64_t kResyncBlock = 128;

  const uint64_t sectors_;
  Members members_;
  WriteIntent* const intent_;
  SyncBarrier barrier_;
  // Last: destroyed first, waiting for the behind writes that use the rest.
  WriteBehind behind_;
};

Result<uint64_t> array_sectors(const Geometry& geo) {
  // raid1 has no chunks and one layout: both are ignored, as the kernel does.
  if (role_sectors(geo, 1).empty()) return err(EINVAL);
  uint64_t c = checked_component(geo);
  if (!c) return err(EINVAL);
  return c;  // raid1_size: the component size
}

Result<std::unique_ptr<Personality>> run(const Geometry& geo, std::vector<Disk*> roles, ArrayEvents& events) {
  auto sectors = array_sectors(geo);
  if (!sectors) return err(sectors.error());
  if (roles.size() != size_t(geo.raid_disks) || std::count(roles.begin(), roles.end(), nullptr) == geo.raid_disks)
    return err(EINVAL);
  return std::unique_ptr<Personality>(std::make_unique<Raid1>(*sectors, std::move(roles), events));
}

}  // namespace

extern const PersonalityType kRaid1Personality = {
    .name = "raid1",
    .level = 1,
    .min_disks = 1,
    .max_degraded = [](const Geometry& geo) { return std::max(geo.raid_disks - 1, 0); },
    .array_sectors = array_sectors,
    .run = run,
};

}  // namespace mdfs::raid
