// Replacements, as md runs them (want_replacement, the personalities'
// Replacement devices, spare_active): a spare takes the role of a working
// member that wants replacing, every write to that member goes to it as
// well (Member::start_forwarding), the recovery pass copies the member's
// data onto it from where it got to, and when it is whole it takes the
// role while the member it replaced becomes faulty. The personalities are
// not involved until the takeover, which swaps the role's disk with no
// request in flight.
#include <algorithm>

#include "core/array.h"
#include "core/log.h"
#include "core/registry.h"

namespace mdfs::core {

Member* Array::replacement_in(int role) const {
  for (const auto& m : members_)
    if (m->replacement && !m->faulty && m->raid_disk == role && role >= 0) return m.get();
  return nullptr;
}

Member* Array::original_in(int role) const {
  for (const auto& m : members_)
    if (!m->replacement && !m->faulty && !m->journal && m->raid_disk == role && role >= 0) return m.get();
  return nullptr;
}

// The replacement's writes fail: it is faulty from now on, as md_error on
// a replacement (the role keeps its member). Called from the data path
// with no Array lock held, so the work goes to the md thread.
std::function<void(int)> Array::replacement_failure_handler(Member& replacement) {
  return [weak = weak_from_this(), who = &replacement](int) {
    auto self = weak.lock();
    if (!self) return;
    self->registry_.md_thread().post([weak = std::weak_ptr<Array>(self), who] {
      auto array = weak.lock();
      if (!array) return;
      std::lock_guard lock(array->mutex_);
      {
        std::lock_guard sb_lock(array->sb_mutex_);
        for (const auto& m : array->members_) {
          if (m.get() != who || m->faulty) continue;
          log_line(array->name_ + ": replacement " + m->name() + " failed a write: faulty");
          m->faulty = true;
          m->in_sync = false;
          array->update_superblocks();
        }
      }
      array->md_check_recovery();
    });
  };
}

// The role's member failed while a replacement was being rebuilt for it
// (sb_mutex_ held): the replacement stands in the role from now on, as
// raid5_remove_disk moves it into place. Writes between the failure and
// its being added to the personality reached neither, so its recovery
// starts again from the beginning (md goes on from its offset, as its
// personalities write the replacement apart from the member).
void Array::promote_replacement_locked(int role) {
  Member* r = replacement_in(role);
  if (!r || original_in(role)) return;
  r->replacement = false;
  r->recovery_offset = 0;
  r->recovery_restarted = true;
  sync_interrupt_ = true;  // the pass in flight must not checkpoint it
  log_line(name_ + ": " + r->name() + " takes role " + std::to_string(role) + " of the failed member, recovered anew");
}

// remove_and_add_spares for replacements (mutex_ held): a member that
// wants replacing gets the newest spare whole enough, once no role lacks a
// member (raid*_add_disk fills missing roles first). True while some
// replacement is still to be rebuilt.
bool Array::add_replacements(bool failed) {
  if (!pers_ || pers_type_->level == 0 || pers_type_->level == LEVEL_LINEAR) return false;
  if (reshape_position_ != kMaxSector) return false;  // replacements and reshape do not mix
  std::vector<std::pair<Member*, Member*>> pairs;
  if (!failed && !sync_blocked_ && degraded_locked() == 0) {
    for (const auto& o : members_) {
      if (!o->want_replacement || o->replacement || o->faulty || !o->in_sync || o->raid_disk < 0) continue;
      if (replacement_in(o->raid_disk)) continue;
      // Newest spare first, as remove_and_add_spares walks the kernel's list.
      for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
        const auto& s = *it;
        if (s->raid_disk >= 0 || s->faulty || s->journal || s->sectors < dev_sectors_) continue;
        if (std::any_of(pairs.begin(), pairs.end(), [&](const auto& p) { return p.second == s.get(); })) continue;
        pairs.emplace_back(o.get(), s.get());
        break;
      }
    }
  }
  if (!pairs.empty()) {
    {
      std::unique_lock io_lock(pers_lock_);  // no request in flight while forwarding starts
      for (auto [o, s] : pairs) o->start_forwarding(s, replacement_failure_handler(*s));
    }
    std::lock_guard sb_lock(sb_mutex_);
    for (auto [o, s] : pairs) {
      s->raid_disk = o->raid_disk;
      s->replacement = true;
      s->in_sync = false;
      s->saved_raid_disk = -1;  // copied whole, never through the bitmap
      s->recovery_offset = 0;
      log_line(name_ + ": " + s->name() + " replaces " + o->name() + " in role " + std::to_string(o->raid_disk));
    }
    update_superblocks();
  }
  for (const auto& m : members_)
    if (m->replacement && !m->faulty && m->raid_disk >= 0 && m->recovery_offset != kMaxSector) return true;
  return false;
}

// Faulty members have left their roles (remove_and_add_spares): whatever
// forwarded to or from them stops, with no request in flight.
void Array::drop_forwarding_of_faulty() {
  std::vector<Member*> stop;
  for (const auto& m : members_) {
    Member* to = m->forwarding_to();
    bool gone = m->faulty || m->raid_disk < 0;
    for (const auto& r : members_)
      if (r.get() == to && (r->faulty || !r->replacement)) gone = true;
    if (to && gone) stop.push_back(m.get());
  }
  if (stop.empty()) return;
  std::unique_lock io_lock(pers_lock_);
  for (Member* m : stop) m->stop_forwarding();
}

// The pairs the next recovery pass copies (mutex_ held, no pass running).
void Array::plan_replacement_copies() {
  replace_pairs_.clear();
  sync_pers_recovers_ = false;
  replace_max_degraded_ = pers_type_ ? pers_type_->max_degraded(geometry_locked()) : 0;
  for (const auto& m : members_) {
    if (m->faulty || m->in_sync || m->raid_disk < 0 || m->journal) continue;
    if (!m->replacement) {
      sync_pers_recovers_ = true;
      continue;
    }
    for (const auto& o : members_)
      if (o->forwarding_to() == m.get()) replace_pairs_.emplace_back(o, m);
  }
}

// md_do_sync's work for replacements: member sectors [pos, pos + n) of
// each replaced member copied onto its replacement. A member that cannot
// be read fails, if the array can lose it; its replacement then stands in
// its role. False when the pass must end.
bool Array::copy_replacements(raid::Personality& pers, uint64_t pos, uint64_t n) {
  if (replace_pairs_.empty()) return true;
  replace_buffer_.resize(n * 512);
  for (auto& [o, r] : replace_pairs_) {
    const int e = o->copy_to_replacement(pos * 512, replace_buffer_);
    if (e == 0 || e == ENODEV) continue;
    const int role = o->raid_disk;
    if (pers.degraded() >= replace_max_degraded_) return false;
    pers.fail(role);
    member_failed(role, e);
    return false;
  }
  return true;
}

// spare_active for replacements, after a recovery pass that completed
// (mutex_ held, sb_mutex_ not): each whole replacement takes its role's
// disk in the personality and the member it replaced becomes faulty.
void Array::replacements_done() {
  std::vector<std::pair<Member*, Member*>> done;
  for (const auto& r : members_) {
    if (!r->replacement || r->faulty || r->raid_disk < 0 || r->recovery_restarted) continue;
    done.emplace_back(original_in(r->raid_disk), r.get());
  }
  if (done.empty()) return;
  {
    std::unique_lock io_lock(pers_lock_);
    for (auto [o, r] : done) {
      if (o) {
        o->stop_forwarding();
        pers_->fail(r->raid_disk);
      }
      if (pers_->add_disk(r->raid_disk, r) == 0) pers_->disk_recovered(r->raid_disk);
    }
  }
  std::lock_guard sb_lock(sb_mutex_);
  for (auto [o, r] : done) {
    r->replacement = false;
    r->in_sync = true;
    r->recovery_offset = kMaxSector;
    if (o) {
      o->faulty = true;
      o->in_sync = false;
      o->want_replacement = false;
      log_line(name_ + ": " + r->name() + " has replaced " + o->name() + " in role " + std::to_string(r->raid_disk));
    }
  }
  update_superblocks();
}

// slot_store on a running array (mutex_ held), never while a pass runs
// (MD_RECOVERY_RUNNING). "none" takes a faulty or recovering member out of
// its role (a replacement stops receiving its role's writes). A number
// puts a spare into that role (hot_add_disk): a missing role is rebuilt
// onto it, through the bitmap when it was marked insync and the bitmap
// covers it, else in full (mdfs holds it to the events rule the kernel
// leaves to user space); a working member that wants replacing gets it as
// its replacement (mdadm --replace ... --with), copied in full; else
// EEXIST. The pass starts at once.
Result<void> Array::store_running_slot(Member& m, int slot) {
  const bool redundant = pers_type_->level != 0 && pers_type_->level != LEVEL_LINEAR;
  if (sync_thread_.joinable()) return err(EBUSY);
  if (slot < 0) {
    if (m.raid_disk < 0) return err(EEXIST);
    if (!redundant) return err(EINVAL);
    if (m.journal || (!m.faulty && m.in_sync)) return err(EBUSY);
    if (m.replacement && !m.faulty) {
      std::unique_lock io_lock(pers_lock_);  // no request in flight while forwarding stops
      for (const auto& o : members_)
        if (o->forwarding_to() == &m) o->stop_forwarding();
    } else if (!m.faulty) {
      pers_->fail(m.raid_disk);
    }
    std::lock_guard sb_lock(sb_mutex_);
    m.raid_disk = -1;
    m.in_sync = false;
    m.replacement = false;
    m.saved_raid_disk = -1;
    update_superblocks();
    return {};
  }
  if (pers_type_->level == LEVEL_LINEAR) return linear_append(m, slot);
  if (m.raid_disk != -1 || m.journal || m.faulty) return err(EBUSY);
  if (!redundant) return err(EINVAL);
  if (slot >= raid_disks_) return err(ENOSPC);
  if (m.sectors < dev_sectors_) return err(ENOSPC);
  Member* o = original_in(slot);
  bool in_role = o != nullptr;
  for (const auto& other : members_)
    if (other.get() != &m && other->raid_disk == slot && !other->faulty) in_role = true;
  if (!in_role) {
    const bool readd = m.in_sync && m.super && bitmap_readd_role(*m.super) == slot;
    {
      std::unique_lock io_lock(pers_lock_);  // hot_add_disk with no request in flight
      if (int e = pers_->add_disk(slot, &m)) return err(e == EBUSY ? EEXIST : e);
    }
    std::lock_guard sb_lock(sb_mutex_);
    m.raid_disk = slot;
    m.in_sync = false;
    m.saved_raid_disk = readd ? slot : -1;
    m.recovery_offset = 0;
    update_superblocks();
  } else {
    if (!o || !o->want_replacement || !o->in_sync || replacement_in(slot) || reshape_position_ != kMaxSector)
      return err(EEXIST);
    {
      std::unique_lock io_lock(pers_lock_);
      o->start_forwarding(&m, replacement_failure_handler(m));
    }
    std::lock_guard sb_lock(sb_mutex_);
    m.raid_disk = slot;
    m.replacement = true;
    m.in_sync = false;
    m.saved_raid_disk = -1;  // copied whole, never through the bitmap
    m.recovery_offset = 0;
    update_superblocks();
    log_line(name_ + ": " + m.name() + " replaces " + o->name() + " in role " + std::to_string(slot));
  }
  sync_blocked_ = false;
  md_check_recovery();
  return {};
}

}  // namespace mdfs::core
