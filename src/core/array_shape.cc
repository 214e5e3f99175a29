// Shape changes that move no data, done at once on a running array:
// raid1's member count (raid1.c's raid1_reshape, through update_raid_disks)
// and linear's append (md-linear.c's linear_add). The data stays where it
// is; the array swaps its personality for one of the new shape, with no
// request in flight, and writes the new shape to every superblock.
#include <algorithm>

#include "core/array.h"
#include "core/log.h"
#include "core/registry.h"
#include "format/superblock0.h"
#include "format/superblock1.h"

namespace mdfs::core {

// The personality of `type` over geometry `g` with `roles` (index: role),
// only members in sync and working taking part; the others are added by
// md_check_recovery (a spare's recovery resumes where it was).
Result<std::unique_ptr<raid::Personality>> Array::run_shape(const raid::PersonalityType& type, raid::Geometry g,
                                                            const std::vector<Member*>& roles) {
  g.raid_disks = static_cast<int>(roles.size());
  g.member_sectors.assign(roles.size(), 0);
  std::vector<raid::Disk*> disks(roles.size(), nullptr);
  for (size_t r = 0; r < roles.size(); ++r) {
    Member* m = roles[r];
    if (!m || !m->in_sync || m->faulty) continue;
    disks[r] = m;
    g.member_sectors[r] = m->sectors;
  }
  return type.run(g, disks, *this);
}

// Swaps in the personality of a new shape: no request in flight (the
// kernel's mddev_suspend), then the roles, what `apply` changes of the
// array's configuration (the data path reads it under sb_mutex_, so it
// changes with the personality), and the superblocks. A member in no role
// of the new shape becomes a spare.
void Array::install_shape(std::unique_ptr<raid::Personality> pers, const std::vector<Member*>& roles,
                          const std::function<void()>& apply) {
  // mutex_ (held by the caller) -> pers_lock_ exclusive: no request in
  // flight, the new mapping starts clean -> sb_mutex_: the configuration the
  // data path and the superblock writer read.
  std::unique_lock io_lock(pers_lock_);
  if (pers_) pers_->quiesce();  // nor a write behind, whose end takes sb_mutex_
  std::lock_guard sb_lock(sb_mutex_);
  pers_ = std::shared_ptr<raid::Personality>(std::move(pers));
  for (const auto& m : members_) {
    if (m->raid_disk < 0 || m->journal) continue;
    if (std::find(roles.begin(), roles.end(), m.get()) != roles.end()) continue;
    if (m->raid_disk < static_cast<int>(roles.size()) && !m->in_sync) continue;  // a spare recovering a role
    m->raid_disk = -1;
    m->in_sync = false;
    m->saved_raid_disk = -1;
  }
  for (size_t r = 0; r < roles.size(); ++r)
    if (roles[r]) roles[r]->raid_disk = static_cast<int>(r);
  raid_disks_ = static_cast<int>(roles.size());
  if (apply) apply();
  update_superblocks();
  md_new_event();
}

// raid1_reshape, after update_raid_disks' checks: the members holding a
// role are renumbered from 0 in role order, the new roles past them are
// empty, and spares fill those by recovery. A shrink that would drop a
// member still holding a role (in sync, recovering or failed but not yet
// removed) is EBUSY, as the kernel's count of conf->mirrors. While a
// replacement holds a role mdfs answers EBUSY too: the kernel's
// raid1_reshape does not carry replacements over, and mdfs will not drop
// one silently.
Result<void> Array::reshape_mirrors(int n) {
  for (const auto& m : members_)
    if (m->replacement && m->raid_disk >= 0) return err(EBUSY);
  std::vector<Member*> roles;
  for (int r = 0; r < raid_disks_; ++r)
    for (const auto& m : members_)
      if (m->raid_disk == r && !m->journal) roles.push_back(m.get());
  if (static_cast<int>(roles.size()) > n) {
    log_line(name_ + ": cannot reduce to " + std::to_string(n) + " mirrors: " + std::to_string(roles.size()) +
             " members hold a role (fail and remove one first)");
    return err(EBUSY);
  }
  roles.resize(static_cast<size_t>(n), nullptr);
  auto pers = run_shape(*pers_type_, geometry_locked(), roles);
  if (!pers) return err(pers.error());
  const int old = raid_disks_;
  install_shape(std::move(*pers), roles, nullptr);
  log_line(name_ + ": raid_disks changed from " + std::to_string(old) + " to " + std::to_string(n));
  sysfs_notify("degraded");
  md_check_recovery();  // the spares take the new roles
  return {};
}

// linear_add: a member appended as role raid_disks grows the array by its
// size at once. The kernel takes it through ADD_NEW_DISK with that role,
// which mdfs does not carry; mdfs takes it through the member's slot, as
// the kernel's slot_store takes a spare into a redundant array. Any other
// slot is refused as slot_store refuses it: a role past the end ENOSPC, a
// role in use EBUSY.
Result<void> Array::linear_append(Member& m, int slot) {
  if (slot > raid_disks_) return err(ENOSPC);
  if (slot < raid_disks_) return err(EBUSY);
  if (m.raid_disk != -1 || m.journal || m.faulty) return err(EBUSY);
  if (ro_ != ReadOnly::kReadWrite) return err(EROFS);
  const bool meta090 = persistent_ && major_version_ == 0;
  if (raid_disks_ + 1 > static_cast<int>(meta090 ? format::kSb0Disks : format::kSb1MaxDisks)) return err(ENOSPC);
  if (m.sectors == 0) return err(EINVAL);
  std::vector<Member*> roles(static_cast<size_t>(raid_disks_) + 1, nullptr);
  for (const auto& o : members_)
    if (o->raid_disk >= 0 && o->raid_disk < raid_disks_) roles[static_cast<size_t>(o->raid_disk)] = o.get();
  roles.back() = &m;
  const bool was_in_sync = m.in_sync;
  m.in_sync = true;  // linear_add: the new member is part of the array at once
  auto pers = run_shape(*pers_type_, geometry_locked(), roles);
  if (!pers) {
    m.in_sync = was_in_sync;
    return err(pers.error());
  }
  const uint64_t old = array_sectors_;
  m.recovery_offset = kMaxSector;
  m.saved_raid_disk = -1;
  const uint64_t sectors = (*pers)->array_sectors();
  install_shape(std::move(*pers), roles, [&] {
    if (!external_size_) array_sectors_ = sectors;
  });
  log_line(name_ + ": " + m.name() + " appended as role " + std::to_string(slot));
  if (array_sectors_ != old) {
    log_line(name_ + ": detected capacity change from " + std::to_string(old) + " to " + std::to_string(array_sectors_));
    registry_.array_resized(shared_from_this());
  }
  return {};
}

}  // namespace mdfs::core
