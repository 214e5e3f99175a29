#include "raid/members.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mdfs::raid {

Members::Members(std::vector<Disk*> roles, std::vector<std::vector<int>> copy_sets, ArrayEvents& events)
    : disks_(std::move(roles)),
      copy_sets_(std::move(copy_sets)),
      events_(events),
      state_(std::make_unique<RoleState[]>(disks_.size())) {
  for (size_t i = 0; i < disks_.size(); ++i) state_[i].working.store(disks_[i] != nullptr);
}

int Members::degraded() const {
  int n = 0;
  for (int r = 0; r < raid_disks(); ++r) n += !working(r);
  return n;
}

bool Members::all_writable() const {
  for (int r = 0; r < raid_disks(); ++r)
    if (!writable(r)) return false;
  return true;
}

bool Members::enough() const {
  return std::all_of(copy_sets_.begin(), copy_sets_.end(), [this](const std::vector<int>& set) {
    return std::any_of(set.begin(), set.end(), [this](int r) { return working(r); });
  });
}

void Members::fail(int role) {
  if (role < 0 || role >= raid_disks()) return;
  std::lock_guard lock(fail_mutex_);
  state_[role].working.store(false, std::memory_order_release);
  state_[role].recovering.store(false, std::memory_order_release);
}

int Members::add(int role, Disk* disk) {
  if (role < 0 || role >= raid_disks() || !disk) return EINVAL;
  std::lock_guard lock(fail_mutex_);
  if (working(role)) return EBUSY;
  disks_[role] = disk;
  state_[role].recovering.store(true, std::memory_order_release);
  return 0;
}

void Members::recovered(int role) {
  if (role < 0 || role >= raid_disks()) return;
  std::lock_guard lock(fail_mutex_);
  if (!recovering(role)) return;
  state_[role].recovering.store(false, std::memory_order_release);
  state_[role].working.store(true, std::memory_order_release);
}

bool Members::last_copy_locked(int role) const {
  for (const auto& set : copy_sets_) {
    if (std::find(set.begin(), set.end(), role) == set.end()) continue;
    if (std::none_of(set.begin(), set.end(), [&](int r) { return r != role && working(r); })) return true;
  }
  return false;
}

bool Members::io_error(int role, int error) {
  bool keep = false;
  {
    std::lock_guard lock(fail_mutex_);
    if (recovering(role)) {
      // A member being rebuilt holds no copy anything depends on.
      state_[role].recovering.store(false, std::memory_order_release);
    } else if (!working(role)) {
      return true;  // failed meanwhile: already reported
    } else if (last_copy_locked(role)) {
      keep = true;
    } else {
      state_[role].working.store(false, std::memory_order_release);
    }
  }
  if (keep) {
    // raid1_error/raid10_error: the last copy stays and the array is broken.
    events_.array_broken(role, error);
    return false;
  }
  events_.member_failed(role, error);
  return true;
}

WriteFreeze::Pass WriteFreeze::enter() {
  for (;;) {
    // Dekker's handshake with Frozen: either this write sees the freeze, or
    // the freezer sees it counted and waits for it.
    writers_.fetch_add(1);
    if (!frozen_.load()) return Pass(*this);
    leave();
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !frozen_.load(); });
  }
}

void WriteFreeze::leave() {
  if (writers_.fetch_sub(1) == 1 && frozen_.load()) {
    std::lock_guard lock(mutex_);
    changed_.notify_all();
  }
}

WriteFreeze::Frozen::Frozen(WriteFreeze& f) : f_(f) {
  f_.fixer_.lock();
  f_.frozen_.store(true);
  std::unique_lock lock(f_.mutex_);
  f_.changed_.wait(lock, [&] { return f_.writers_.load() == 0; });
}

WriteFreeze::Frozen::~Frozen() {
  {
    std::lock_guard lock(f_.mutex_);
    f_.frozen_.store(false);
  }
  f_.changed_.notify_all();
  f_.fixer_.unlock();
}

bool Members::write_error(int role, uint64_t sector, uint64_t sectors, int error) {
  // narrow_write_error: with a bad block log the member keeps its role.
  if (events_.record_bad_block(role, sector, sectors)) return true;
  return io_error(role, error);
}

int Members::read_error(std::span<const Copy> copies, size_t bad, int error, size_t in_sector,
                        std::span<std::byte> out) {
  std::vector<bool> tried(copies.size(), false);
  size_t cur = bad;
  int e = error;
  bool around = false;  // some copy has a recorded bad block in the piece
  for (;;) {
    tried[cur] = true;
    const int role = copies[cur].role;
    // A recorded bad block is read around, nothing counted (read_balance).
    if (e == kBadBlock) {
      around = true;
    } else if (working(role)) {
      // A member whose file ended is gone, never rewritten (kMemberGone).
      const ReadErrorPolicy policy = e == kMemberGone ? ReadErrorPolicy::kFail : events_.read_error(role);
      if (policy == ReadErrorPolicy::kFix) return fix_read_error(copies, cur, in_sector, out);
      if (policy == ReadErrorPolicy::kFail) io_error(role, e);
    }
    // raid1_read_request again: another working copy.
    size_t next = copies.size();
    for (size_t i = 0; i < copies.size() && next == copies.size(); ++i)
      if (!tried[i] && working(copies[i].role)) next = i;
    if (next == copies.size()) return around ? read_around(copies, in_sector, out) : EIO;
    cur = next;
    PendingRead pending(*this, copies[cur].role);
    e = disk(copies[cur].role)->read(copies[cur].sector * kSectorSize + in_sector, out);
    if (e == 0) return 0;
  }
}

// As the kernel's fix_read_error, a page (8 sectors) at a time: the page is
// read from the first copy that can, starting with the bad one; the copies
// that could not are rewritten with it and read back, and each that reads
// back counts the page as corrected. A page no copy reads is a bad block of
// the bad copy, or without a log the bad copy is failed.
int Members::fix_read_error(std::span<const Copy> copies, size_t bad, size_t in_sector, std::span<std::byte> out) {
  constexpr uint64_t kPageSectors = 8;
  WriteFreeze::Frozen frozen(freeze_);
  fix_page_.resize(kPageSectors * kSectorSize);
  fix_check_.resize(kPageSectors * kSectorSize);
  const uint64_t sectors = (in_sector + out.size() + kSectorSize - 1) / kSectorSize;
  std::vector<size_t> failed;
  for (uint64_t s = 0; s < sectors; s += kPageSectors) {
    const uint64_t n = std::min(kPageSectors, sectors - s);
    const std::span page(fix_page_.data(), n * kSectorSize);
    size_t good = copies.size();
    failed.clear();
    for (size_t k = 0; k < copies.size() && good == copies.size(); ++k) {
      const size_t i = (bad + k) % copies.size();
      const int role = copies[i].role;
      if (!working(role)) continue;
      const int e = disk(role)->read((copies[i].sector + s) * kSectorSize, page);
      if (e == 0) good = i;
      else if (e == kMemberGone) io_error(role, e);
      else failed.push_back(i);
    }
    if (good == copies.size()) {
      bad_block_or_fail(copies[bad].role, copies[bad].sector + s, n, EIO);
      return EIO;
    }
    // The part of the page inside `out`.
    const uint64_t page_lo = s * kSectorSize, page_hi = page_lo + page.size();
    const uint64_t lo = std::max<uint64_t>(page_lo, in_sector), hi = std::min<uint64_t>(page_hi, in_sector + out.size());
    std::memcpy(out.data() + (lo - in_sector), page.data() + (lo - page_lo), hi - lo);
    for (size_t i : failed) {
      const Copy& c = copies[i];
      if (!working(c.role)) continue;
      if (const int e = disk(c.role)->write((c.sector + s) * kSectorSize, page); e != 0)
        bad_block_or_fail(c.role, c.sector + s, n, e);
    }
    for (size_t i : failed) {
      const Copy& c = copies[i];
      if (!working(c.role)) continue;
      if (disk(c.role)->read((c.sector + s) * kSectorSize, std::span(fix_check_.data(), page.size())) == 0)
        events_.read_error_corrected(c.role, c.sector + s, n);
      else
        bad_block_or_fail(c.role, c.sector + s, n, EIO);
    }
  }
  return 0;
}

// Copies whose recorded bad blocks lie in different places still hold the
// piece between them: read_balance's max_sectors, read a page at a time
// from the first copy that has it.
int Members::read_around(std::span<const Copy> copies, size_t in_sector, std::span<std::byte> out) {
  constexpr uint64_t kPage = 8 * kSectorSize;
  for (uint64_t at = 0; at < out.size();) {
    const uint64_t n = std::min<uint64_t>(kPage - (in_sector + at) % kPage, out.size() - at);
    const auto part = out.subspan(at, n);
    int e = EIO;
    for (size_t i = 0; i < copies.size() && e != 0; ++i) {
      if (!working(copies[i].role)) continue;
      PendingRead pending(*this, copies[i].role);
      e = disk(copies[i].role)->read(copies[i].sector * kSectorSize + in_sector + at, part);
    }
    if (e != 0) return EIO;
    at += n;
  }
  return 0;
}

void Members::rewrite_copy(const Copy& c, std::span<const std::byte> good) {
  constexpr size_t kPage = 8 * kSectorSize;
  sync_page_.resize(kPage);
  for (size_t at = 0; at < good.size() && working(c.role); at += kPage) {
    const size_t n = std::min(kPage, good.size() - at);
    const uint64_t sector = c.sector + at / kSectorSize;
    const std::span page(sync_page_.data(), n);
    const int e = disk(c.role)->read(sector * kSectorSize, page);
    if (e == 0) continue;
    if (e == kMemberGone) {
      io_error(c.role, e);
      return;
    }
    if (const int w = disk(c.role)->write(sector * kSectorSize, good.subspan(at, n)); w != 0)
      bad_block_or_fail(c.role, sector, n / kSectorSize, w);
    else if (disk(c.role)->read(sector * kSectorSize, page) == 0)
      events_.read_error_corrected(c.role, sector, n / kSectorSize);
    else
      bad_block_or_fail(c.role, sector, n / kSectorSize, EIO);
  }
}

std::string Members::mdstat_health() const {
  std::string flags;
  for (int r = 0; r < raid_disks(); ++r) flags += working(r) ? 'U' : '_';
  return " [" + std::to_string(raid_disks()) + "/" + std::to_string(raid_disks() - degraded()) + "] [" +
         flags + "]";
}

int Members::sync_copies(SyncKind kind, std::span<const Copy> copies, uint64_t sectors, bool& differ) {
  const size_t len = sectors * kSectorSize;
  sync_first_.resize(len);
  sync_other_.resize(len);
  differ = false;
  size_t src = copies.size();
  for (size_t i = 0; i < copies.size() && src == copies.size(); ++i) {
    const Copy& c = copies[i];
    if (!working(c.role)) continue;
    const int e = disk(c.role)->read(c.sector * kSectorSize, sync_first_);
    if (e == 0) {
      src = i;
    } else if (e != kMemberGone) {
      // fix_sync_read_error: the block from the copies that read, page by
      // page, rewritten onto those that did not.
      if (fix_read_error(copies, i, 0, sync_first_) != 0) return EIO;
      src = i;
    } else if (!io_error(c.role, e)) {
      return e;
    }
  }
  if (src == copies.size()) return EIO;
  for (size_t i = 0; i < copies.size(); ++i) {
    const Copy& c = copies[i];
    if (i == src) continue;
    bool rewrite = false;
    if (recovering(c.role)) {
      rewrite = kind == SyncKind::kRecover;
    } else if (working(c.role) && kind != SyncKind::kRecover) {
      if (const int e = disk(c.role)->read(c.sector * kSectorSize, sync_other_); e != 0) {
        if (e == kMemberGone) io_error(c.role, e);
        else rewrite_copy(c, sync_first_);
        continue;
      }
      if (std::memcmp(sync_first_.data(), sync_other_.data(), len) != 0) {
        differ = true;
        rewrite = kind != SyncKind::kCheck;
      }
    }
    if (!rewrite) continue;
    if (const int e = disk(c.role)->write(c.sector * kSectorSize, sync_first_); e != 0)
      bad_block_or_fail(c.role, c.sector, sectors, e);
  }
  return 0;
}

int Members::sync_working() {
  int result = 0;
  for (int r = 0; r < raid_disks(); ++r) {
    if (!writable(r)) continue;
    int e = disk(r)->sync();
    if (e && !io_error(r, e)) result = e;
  }
  return result;
}

}  // namespace mdfs::raid
