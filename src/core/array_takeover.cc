// Level takeovers of a running array (md.c's level_store with the
// personalities' takeover): the levels whose data already lies where the
// new level reads it, so nothing moves; a role the new level adds (raid5's
// parity after raid0, raid6's Q after raid5, raid10's second copies) is
// empty and recovered onto a spare. The rules and the errors are the
// kernel's: raid5.c's raid5_takeover (raid45_takeover_raid0,
// raid5_takeover_raid1, raid5_takeover_raid6), raid4_takeover,
// raid6_takeover; raid0.c's raid0_takeover (from raid4/5, raid10, raid1);
// raid1.c's raid1_takeover; raid10.c's raid10_takeover_raid0.
#include <algorithm>
#include <charconv>
#include <utility>

#include "core/array.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/registry.h"
#include "raid/raid5_layout.h"

namespace mdfs::core {

namespace {

constexpr int kRaid10Near2 = (1 << 8) + 2;

// raid5_takeover_raid1 and raid0_takeover_raid1: a raid1 has no chunk; the
// largest power of two up to 64K that divides the array size, at least a
// page (0: none).
uint32_t chunk_for_mirror(uint64_t array_sectors) {
  uint32_t c = 128;
  while (c && (array_sectors & (c - 1))) c >>= 1;
  return c < 8 ? 0 : c;
}

// raid6_takeover's layout: raid5's with Q on a new last member.
int raid6_layout_of(int raid5_layout) {
  if (raid5_layout >= raid::kLeftAsymmetric && raid5_layout <= raid::kParityFirst) return raid5_layout + 16;
  if (raid5_layout == raid::kParityLast) return raid::kParityLast;
  return -1;
}

// raid5_takeover_raid6: a -6 layout (or parity-last) without its Q member.
int raid5_layout_of(int raid6_layout) {
  if (raid6_layout >= raid::kLeftAsymmetric6 && raid6_layout <= raid::kParityFirst6) return raid6_layout - 16;
  if (raid6_layout == raid::kParityLast) return raid::kParityLast;
  return -1;
}

}  // namespace

// What a takeover makes of the array: the new level's shape and the role
// each member takes (-1: it leaves its role and becomes a spare).
struct Array::Takeover {
  const raid::PersonalityType* type = nullptr;
  int layout = 0;
  uint32_t chunk_sectors = 0;
  int raid_disks = 0;
  uint64_t dev_sectors = 0;
  bool member_sectors_to_dev = false;  // rdev->sectors = dev_sectors (raid0 from raid4/5, raid10 from raid0)
  bool clean = false;                  // recovery_cp = MaxSector (from and to raid0)
  std::vector<std::pair<Member*, int>> roles;  // each member in a role now, with its new role
};

// raid0's single strip zone (the takeovers from raid0 need one): every
// member gives the same chunk-rounded size. That size, or 0.
uint64_t Array::raid0_zone_sectors() const {
  uint64_t size = 0;
  for (const auto& m : members_) {
    if (m->raid_disk < 0) continue;
    const uint64_t s = chunk_sectors_ ? m->sectors / chunk_sectors_ * chunk_sectors_ : m->sectors;
    if (size && s != size) return 0;
    size = s;
  }
  return size;
}

// The takeover to `type`, as the kernel's personality would accept it, or
// its errno (logged with the kernel's reason).
Result<Array::Takeover> Array::plan_takeover(const raid::PersonalityType& type) const {
  Takeover t;
  t.type = &type;
  t.layout = layout_;
  t.chunk_sectors = chunk_sectors_;
  t.raid_disks = raid_disks_;
  t.dev_sectors = dev_sectors_;
  const int from = pers_type_->level;
  const int degraded = degraded_locked();
  auto refuse = [&](const std::string& why) -> Result<Takeover> {
    log_line(name_ + ": cannot take over " + std::string(pers_type_->name) + " as " + std::string(type.name) + ": " +
             why);
    return err(EINVAL);
  };
  // The members holding roles, and whether any is not a plain working one.
  bool stray = false;
  for (const auto& m : members_) {
    if (m->journal) continue;
    if (m->raid_disk >= 0 && m->in_sync && !m->faulty && !m->replacement) t.roles.emplace_back(m.get(), m->raid_disk);
    else stray = true;
  }
  switch (type.level) {
    case 0:
      if (bitmap_) {
        log_line(name_ + ": raid0 cannot take over an array with a bitmap: remove it first");
        return err(EBUSY);
      }
      if (stray) return refuse("remove inactive devices (spares, failed members) before converting to RAID0");
      if (from == 4 || (from == 5 && layout_ == raid::kParityLast)) {
        if (degraded != 1) return refuse("raid5 must be degraded, by one member");
        for (auto [m, role] : t.roles)
          if (role == raid_disks_ - 1) return refuse("raid5 must have its parity member missing");
        t.raid_disks = raid_disks_ - 1;
        t.layout = 0;
        t.member_sectors_to_dev = true;
        t.clean = true;
        return t;
      }
      if (from == 5) return refuse("raid0 can only take over raid5 with layout parity-last (5)");
      if (from == 10) {
        if (layout_ != kRaid10Near2) return refuse("raid0 cannot take over raid10 layout " + std::to_string(layout_));
        if (raid_disks_ & 1) return refuse("raid0 cannot take over raid10 with an odd number of members");
        if (degraded != raid_disks_ / 2) return refuse("every mirror must be degraded already (one member of each pair)");
        std::vector<bool> seen(static_cast<size_t>(raid_disks_ / 2), false);
        for (auto& [m, role] : t.roles) {
          role /= 2;
          if (seen[static_cast<size_t>(role)]) return refuse("two members for role " + std::to_string(role));
          seen[static_cast<size_t>(role)] = true;
        }
        t.raid_disks = raid_disks_ / 2;
        t.layout = 0;
        t.clean = true;
        return t;
      }
      if (from == 1) {
        if (degraded != raid_disks_ - 1) return refuse("all mirrors but one must be failed and removed already");
        t.chunk_sectors = chunk_for_mirror(array_sectors_);
        if (!t.chunk_sectors) return refuse("the array size allows no chunk size");
        for (auto& [m, role] : t.roles) role = 0;
        t.raid_disks = 1;
        t.layout = 0;
        t.clean = true;
        return t;
      }
      return refuse("not a level raid0 takes over");
    case 1:
      if (from != 5 || raid_disks_ != 2) return refuse("raid1 takes over a raid5 of two members only");
      t.layout = 0;
      t.chunk_sectors = 0;
      return t;
    case 4:
    case 5:
      if (from == 0) {
        const uint64_t zone = raid0_zone_sectors();
        if (!zone) return refuse("cannot take over raid0 with more than one zone (members of different sizes)");
        if (degraded > 0) return refuse("raid0 is degraded");
        t.raid_disks = raid_disks_ + 1;
        t.layout = raid::kParityLast;
        t.dev_sectors = zone;
        t.clean = true;
        return t;
      }
      if (type.level == 4) {
        if (from == 5 && layout_ == raid::kParityLast) {
          t.layout = 0;
          return t;
        }
        return refuse("raid4 takes over raid0, or raid5 with layout parity-last (5)");
      }
      if (from == 4) {
        t.layout = raid::kParityLast;
        return t;
      }
      if (from == 1) {
        if (raid_disks_ != 2 || degraded > 1) return refuse("raid5 takes over a raid1 of two members only");
        t.chunk_sectors = chunk_for_mirror(array_sectors_);
        if (!t.chunk_sectors) return refuse("the array size allows no chunk size");
        t.layout = raid::kLeftSymmetric;
        return t;
      }
      if (from == 6) {
        t.layout = raid5_layout_of(layout_);
        if (t.layout < 0) return refuse("raid6 layout " + std::to_string(layout_) + " is not a -6 layout");
        t.raid_disks = raid_disks_ - 1;
        for (auto& [m, role] : t.roles)
          if (role >= t.raid_disks) role = -1;  // the Q member becomes a spare
        return t;
      }
      return refuse("not a level raid5 takes over");
    case 6:
      if (from != 5) return refuse("raid6 takes over raid5 only");
      if (degraded > 1) return refuse("the array is degraded by more than one member");
      if (raid_disks_ < 3 || raid_disks_ > 253) return refuse("raid6 needs 3 to 253 raid5 members");
      t.layout = raid6_layout_of(layout_);
      if (t.layout < 0) return refuse("raid5 layout " + std::to_string(layout_) + " has no -6 form");
      t.raid_disks = raid_disks_ + 1;
      return t;
    case 10: {
      if (from != 0) return refuse("raid10 takes over raid0 only");
      const uint64_t zone = raid0_zone_sectors();
      if (!zone) return refuse("cannot take over raid0 with more than one zone (members of different sizes)");
      if (degraded > 0) return refuse("degraded raid0");
      t.layout = kRaid10Near2;
      t.raid_disks = raid_disks_ * 2;
      t.dev_sectors = zone;
      t.member_sectors_to_dev = true;
      t.clean = true;
      for (auto& [m, role] : t.roles) role *= 2;
      return t;
    }
    default:
      return refuse("it does not support personality takeover");
  }
}

// level_store on a running array: EROFS read-only, EBUSY while a sync or
// reshape runs (or a replacement waits: mdfs's rule), EINVAL for a level
// that does not exist or will not take the array; the same level changes
// nothing.
Result<void> Array::takeover(std::string_view text) {
  if (ro_ != ReadOnly::kReadWrite) return err(EROFS);
  if (sync_thread_.joinable() || reshape_position_ != kMaxSector) return err(EBUSY);
  for (const auto& m : members_)
    if (m->replacement && m->raid_disk >= 0) return err(EBUSY);
  const std::string clevel(strip_newline(text));
  const raid::PersonalityType* type = nullptr;
  int number = 0;
  const auto [end, ec] = std::from_chars(clevel.data(), clevel.data() + clevel.size(), number);
  if (ec == std::errc() && end == clevel.data() + clevel.size()) type = raid::find_personality(number);
  if (!type) type = raid::find_personality(clevel);
  if (!type) {
    log_line("md: personality " + clevel + " not loaded");
    return err(EINVAL);
  }
  if (type == pers_type_) return {};
  auto plan = plan_takeover(*type);
  if (!plan) return err(plan.error());
  Takeover& t = *plan;
  if (t.member_sectors_to_dev && t.dev_sectors == 0) return err(EINVAL);
  std::vector<Member*> roles(static_cast<size_t>(t.raid_disks), nullptr);
  for (auto [m, role] : t.roles)
    if (role >= 0) roles[static_cast<size_t>(role)] = m;
  raid::Geometry g;
  g.level = type->level;
  g.layout = t.layout;
  g.chunk_sectors = t.chunk_sectors;
  g.dev_sectors = t.dev_sectors;
  // raid0 sizes itself by each member's sectors: from raid4/5 those are the
  // component size (the kernel's rdev->sectors = dev_sectors).
  // Member sizes change with sb_mutex_ held, as the superblock writer reads
  // them; the old shape never reaches past dev_sectors.
  std::vector<std::pair<Member*, uint64_t>> old_sectors;
  if (t.member_sectors_to_dev) {
    std::lock_guard sb_lock(sb_mutex_);
    for (Member* m : roles)
      if (m) old_sectors.emplace_back(m, std::exchange(m->sectors, t.dev_sectors));
  }
  auto pers = run_shape(*type, g, roles);
  if (!pers) {
    std::lock_guard sb_lock(sb_mutex_);
    for (auto [m, s] : old_sectors) m->sectors = s;
    log_line(name_ + ": " + std::string(type->name) + " would not accept array");
    return err(EINVAL);
  }
  const uint64_t old_size = array_sectors_;
  const std::string old_name(pers_type_->name);
  const uint64_t new_size = (*pers)->array_sectors();
  install_shape(std::move(*pers), roles, [&] {
    level_ = new_level_ = type->level;
    layout_ = new_layout_ = t.layout;
    chunk_sectors_ = new_chunk_sectors_ = t.chunk_sectors;
    dev_sectors_ = t.dev_sectors;
    delta_disks_ = 0;
    reshape_backwards_ = false;
    pers_type_ = type;
    clevel_.clear();
    // The takeovers from and to raid0 start clean (recovery_cp =
    // MaxSector), and an array without redundancy is always in sync.
    if (t.clean) recovery_cp_ = kMaxSector;
    if (type->level == 0) in_sync_ = true;
    if (!external_size_) array_sectors_ = new_size;
  });
  log_line(name_ + ": level changed from " + old_name + " to " + std::string(type->name));
  sysfs_notify("level");
  sysfs_notify("degraded");
  if (array_sectors_ != old_size) {
    log_line(name_ + ": detected capacity change from " + std::to_string(old_size) + " to " +
             std::to_string(array_sectors_));
    registry_.array_resized(shared_from_this());
  }
  md_check_recovery();  // a new parity, Q or mirror role is recovered onto a spare
  return {};
}

}  // namespace mdfs::core
