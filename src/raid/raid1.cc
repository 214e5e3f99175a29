// raid1: every working member holds the whole array (raid1.c).
#include <algorithm>
#include <cerrno>

#include "raid/geometry.h"
#include "raid/io_plan.h"
#include "raid/members.h"
#include "raid/sync_barrier.h"

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

  int write(uint64_t offset, std::span<const std::byte> in) override {
    if (!in_array(offset, in.size())) return EINVAL;
    const uint64_t lo = offset / kSectorSize, hi = (offset + in.size() + kSectorSize - 1) / kSectorSize;
    IntentScope intent(intent_, lo, hi);
    if (int e = intent.start()) return e;
    auto pass = barrier_.enter(lo, hi);
    auto writing = members_.writing();
    int result = 0;
    bool written = false;  // R1BIO_Uptodate: some mirror took the data
    for (int r = 0; r < members_.raid_disks(); ++r) {
      if (!members_.writable(r)) continue;
      int e = members_.disk(r)->write(offset, in);
      written = written || (e == 0 && members_.working(r));
      // The last mirror stays, and the write fails as raid_end_bio_io
      // fails it: EIO, whatever the member said.
      if (e && !members_.write_error(r, lo, hi - lo, e)) result = EIO;
    }
    // A member still working got the data: a failed write fails it. So
    // does one that every mirror recorded as bad blocks instead.
    if (!result && (!written || members_.degraded() == members_.raid_disks())) result = EIO;
    // raid1's R1BIO_Degraded: a mirror missing or lost keeps the bits.
    intent.complete(!result && members_.all_writable());
    return result;
  }

  bool map_read(uint64_t offset, size_t length, std::vector<Extent>& out) override {
    if (!in_array(offset, length)) return false;
    int role = choose(offset, length);
    if (role < 0) return false;
    Disk* d = members_.disk(role);
    if (length) append_extent(out, role, d->fd(), d->data_start() + offset, length);
    return true;
  }

  int sync() override { return members_.sync_working(); }

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
  int add_disk(int role, Disk* disk) override { return members_.add(role, disk); }
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

  static constexpr uint64_t kResyncBlock = 128;

  const uint64_t sectors_;
  Members members_;
  WriteIntent* const intent_;
  SyncBarrier barrier_;
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
