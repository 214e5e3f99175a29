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
  {
    std::lock_guard lock(fail_mutex_);
    if (recovering(role)) {
      // A member being rebuilt holds no copy anything depends on.
      state_[role].recovering.store(false, std::memory_order_release);
    } else if (!working(role)) {
      return true;  // failed meanwhile: already reported
    } else if (last_copy_locked(role)) {
      return false;
    }
    state_[role].working.store(false, std::memory_order_release);
  }
  events_.member_failed(role, error);
  return true;
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
    if (e == 0) src = i;
    else if (!io_error(c.role, e)) return e;
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
        io_error(c.role, e);
        continue;
      }
      if (std::memcmp(sync_first_.data(), sync_other_.data(), len) != 0) {
        differ = true;
        rewrite = kind != SyncKind::kCheck;
      }
    }
    if (!rewrite) continue;
    if (const int e = disk(c.role)->write(c.sector * kSectorSize, sync_first_); e != 0) io_error(c.role, e);
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
