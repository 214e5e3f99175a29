#include "raid/members.h"

#include <algorithm>

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

bool Members::enough() const {
  return std::all_of(copy_sets_.begin(), copy_sets_.end(), [this](const std::vector<int>& set) {
    return std::any_of(set.begin(), set.end(), [this](int r) { return working(r); });
  });
}

void Members::fail(int role) {
  if (role < 0 || role >= raid_disks()) return;
  std::lock_guard lock(fail_mutex_);
  state_[role].working.store(false, std::memory_order_release);
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
    if (!working(role)) return true;  // failed meanwhile: already reported
    if (last_copy_locked(role)) return false;
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

int Members::sync_working() {
  int result = 0;
  for (int r = 0; r < raid_disks(); ++r) {
    if (!working(r)) continue;
    int e = disk(r)->sync();
    if (e && !io_error(r, e)) result = e;
  }
  return result;
}

}  // namespace mdfs::raid
