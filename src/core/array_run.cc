// Starting an array (do_md_run) and writing its state into every member's
// superblock (md_update_sb).
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <set>
#include <tuple>

#include "core/array.h"
#include "core/jiffies.h"
#include "core/journal.h"
#include "core/log.h"
#include "format/feature_rules.h"
#include "core/registry.h"
#include "core/superblock.h"

namespace mdfs::core {

raid::Geometry Array::geometry_locked() const {
  raid::Geometry g;
  g.level = pers_type_ ? pers_type_->level : level_;
  g.layout = layout_;
  g.chunk_sectors = chunk_sectors_;
  g.raid_disks = raid_disks_;
  g.dev_sectors = dev_sectors_;
  g.member_sectors.assign(static_cast<size_t>(std::max(raid_disks_, 0)), 0);
  for (const auto& m : members_)
    if (m->raid_disk >= 0 && m->raid_disk < raid_disks_ && m->in_sync && !m->faulty)
      g.member_sectors[static_cast<size_t>(m->raid_disk)] = m->sectors;
  return g;
}

int Array::degraded_locked() const {
  int working = 0;
  for (const auto& m : members_)
    if (m->raid_disk >= 0 && m->raid_disk < raid_disks_ && m->in_sync && !m->faulty) ++working;
  return raid_disks_ - working;
}

namespace {

// mdadm's set_name (init_super1): "homehost:name", name being what follows
// md_ (or the number of mdN); when both do not fit in 31 bytes, the name
// alone.
std::string default_set_name(const std::string& array_name) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "localhost");
  std::string name = array_name.starts_with("md_") ? array_name.substr(3) : array_name.substr(2);
  if (std::strlen(host) + 1 + name.size() < 32) return std::string(host) + ":" + name;
  return name.substr(0, 31);
}

}  // namespace

// Starts the array: from its members' superblocks when they have them (the
// freshest decides, stale members are left out), else as a new array with
// the configuration written through sysfs, whose superblocks mdfs writes.
// Anything wrong: EINVAL, and nothing is changed or written.
Result<void> Array::do_md_run() {
  if (members_.empty()) return err(EINVAL);
  const format::SuperInfo* freshest = nullptr;
  for (const auto& m : members_)
    if (m->super && (!freshest || m->super->events > freshest->events)) freshest = &*m->super;
  const bool creating = freshest == nullptr;
  if (creating && reshape_position_ != kMaxSector) return err(EINVAL);
  // Mid-reshape, the superblock's raid_disks is the new count and the old
  // shape may have more roles (a shrink).
  const bool reshaping = !creating && freshest->reshape_position != kMaxSector;

  // Every feature a member's superblock carries is kept, makes the array
  // read-only, or refuses it (format/feature_rules.h), before anything is
  // written; as the kernel refuses a member it cannot honour.
  std::string read_only_reason;
  for (const auto& m : members_) {
    if (!m->super) continue;
    const format::Verdict v = format::judge(*m->super);
    if (v.support == format::Support::kRefused) {
      log_line(name_ + ": cannot start: " + m->name() + ": " + v.reason);
      return err(EINVAL);
    }
    if (v.support == format::Support::kReadOnly && read_only_reason.empty())
      read_only_reason = m->name() + ": " + v.reason;
    if (m->super->bitmap_offset != 0 && !m->super->bitmap && m->super->events == freshest->events) {
      log_line(name_ + ": cannot start: " + m->name() + ": " + m->super->bitmap_problem);
      return err(EINVAL);
    }
  }

  int level = level_, layout = layout_, raid_disks = raid_disks_;
  uint32_t chunk = chunk_sectors_;
  if (!creating && raid_disks == 0) {
    level = freshest->level;
    layout = static_cast<int>(freshest->layout);
    // super_1_validate: a v1 raid0 without the raid0-layout feature has no
    // layout (-1), which the kernel shows as such.
    if (level == 0 && freshest->major == 1 && !(freshest->feature_map & MD_FEATURE_RAID0_LAYOUT)) layout = -1;
    chunk = static_cast<uint32_t>(freshest->chunk_sectors);
    raid_disks = static_cast<int>(freshest->raid_disks);
  }
  const raid::PersonalityType* type =
      level != LEVEL_NONE ? raid::find_personality(level) : raid::find_personality(clevel_);
  if (!type) {
    md_log("%s: cannot start: no personality for level %s", name_.c_str(),
           clevel_.empty() ? std::to_string(level).c_str() : clevel_.c_str());
    return err(EINVAL);
  }
  if (raid_disks <= 0) return err(EINVAL);
  if (!creating && type->level != freshest->level) return err(EINVAL);
  // md's limit: the devices a superblock can describe, 27 for 0.90 and
  // 1920 for v1 (and for arrays without metadata). The kernel takes more
  // until its allocation fails (ENOMEM after a warning); mdfs refuses
  // first, so a hostile raid_disks never sizes anything.
  const bool meta090 = persistent_ && major_version_ == 0;
  const int max_disks = static_cast<int>(meta090 ? format::kSb0Disks : format::kSb1MaxDisks);
  if (raid_disks > max_disks) {
    md_log("%s: cannot start: raid_disks %d exceeds the %d devices %s can describe", name_.c_str(), raid_disks,
           max_disks, meta090 ? "a 0.90 superblock" : "md");
    return err(EINVAL);
  }
  const int roles = reshaping ? std::max(raid_disks, raid_disks - freshest->delta_disks) : raid_disks;
  if (roles > max_disks || roles <= 0) return err(EINVAL);

  struct Plan {
    Member* member;
    int role;
    bool in_sync;
    uint64_t data_offset, sectors, sb_offset;
    bool kicked;
    int64_t new_offset;  // sectors from data_offset, mid-reshape
    bool replacement = false;  // replacing the member in `role`
    bool journal = false;      // the array's write journal
    uint64_t recovery_offset = kMaxSector;  // a new member's dev-*/recovery_start
  };
  std::vector<Plan> plans;
  std::set<int> taken, replaced;
  for (const auto& m : members_) {
    Plan p{m.get(), -1, false, m->data_offset, m->sectors, m->sb_offset, false, 0};
    p.replacement = m->super ? m->super->replacement : m->replacement;
    if (m->super) {
      const auto& sb = *m->super;
      // As super_1_validate and super_90_validate: a member one event
      // behind is still fresh (a superblock update cut short), but only
      // while the freshest superblock still gives it the same role, as
      // mdadm's assembly and later kernels (which consult the freshest
      // superblock's role table) decide: a member failed out of a running
      // array missed exactly that one update and holds stale data.
      const bool one_behind = sb.events + 1 == freshest->events;
      const bool freshest_agrees = sb.dev_number < freshest->roles.size() &&
                                   freshest->roles[sb.dev_number] == sb.role;
      if (sb.events + 1 < freshest->events || sb.role == format::kRoleFaulty || (one_behind && !freshest_agrees)) {
        p.kicked = true;  // "kicking non-fresh member from array"
      } else if (sb.role == format::kRoleJournal) {
        // super_1_validate: a journal needs the journal feature.
        p.journal = (sb.feature_map & MD_FEATURE_JOURNAL) != 0;
        if (!p.journal) {
          md_log("md: journal device provided without journal feature, ignoring the device");
          p.kicked = true;
        }
        p.sb_offset = sb.super_offset;
        if (!m->offset_set) p.data_offset = sb.data_offset;
        if (!m->size_set) p.sectors = sb.data_size;
      } else {
        int role = m->slot_set ? m->raid_disk : (sb.role < roles ? static_cast<int>(sb.role) : -1);
        if (reshaping) p.new_offset = sb.new_offset;
        p.role = role;
        p.recovery_offset = m->recovery_set ? m->recovery_offset.load() : sb.recovery_offset;
        p.in_sync = role >= 0 && p.recovery_offset == kMaxSector;
        if (!m->offset_set) p.data_offset = sb.data_offset;
        if (!m->size_set) p.sectors = sb.data_size;
        // A superblock update cut short at either end of a reshape: one
        // event behind, this member still records the reshape that the
        // freshest says is over (its data is at its new offset now), or
        // does not record the one the freshest says has begun (where its
        // new shape goes is unknown: it is left out).
        if (!reshaping && sb.reshape_position != kMaxSector && !m->offset_set) {
          p.data_offset = static_cast<uint64_t>(static_cast<int64_t>(sb.data_offset) + sb.new_offset);
          if (!m->size_set) p.sectors = static_cast<uint64_t>(static_cast<int64_t>(sb.data_size) - sb.new_offset);
        }
        if (reshaping && sb.reshape_position == kMaxSector) {
          p.kicked = true;
          p.role = -1;
        }
        p.sb_offset = sb.super_offset;
      }
    } else {
      std::optional<uint64_t> offset;
      if (m->offset_set) offset = m->data_offset;
      superblock::Placement where{0, offset.value_or(0), m->file_sectors() - offset.value_or(0)};
      if (persistent_) {
        auto placed = superblock::place(major_version_, minor_version_, m->file_sectors(), offset, bitmap_room());
        if (!placed) return err(EINVAL);
        where = *placed;
      }
      p.data_offset = where.data_offset;
      p.sb_offset = where.sb_offset;
      p.sectors = m->size_set ? m->sectors : where.data_size;
      if (p.data_offset + p.sectors > m->file_sectors()) return err(EINVAL);
      if (creating && m->slot_set) p.role = m->raid_disk;
      // A new array's member is in sync unless recovery_start said where
      // its recovery starts (as mdadm --create makes a raid5's last member
      // a spare to rebuild).
      p.recovery_offset = m->recovery_offset;
      p.in_sync = creating && p.recovery_offset == kMaxSector;
    }
    if (p.role >= roles) return err(EINVAL);
    p.replacement = p.replacement && p.role >= 0 && !p.kicked;
    if (p.role >= 0 && !(p.replacement ? replaced : taken).insert(p.role).second) return err(EINVAL);
    plans.push_back(p);
  }
  // raid5_run: a replacement whose role has no member is all the role has
  // yet, and stands in it; beside its member it is rebuilt, never read.
  for (auto& p : plans) {
    if (!p.replacement) continue;
    if (taken.insert(p.role).second) p.replacement = false;
    else p.in_sync = false;
  }
  if (creating) {  // members never given a slot fill the free roles in the order they were added
    int next = 0;
    for (auto& p : plans) {
      if (p.role >= 0) continue;
      if (p.member->slot_set) {  // slot "none": a spare
        p.in_sync = false;
        continue;
      }
      while (taken.count(next)) ++next;
      if (next < raid_disks) {
        p.role = next;
        taken.insert(next);
      } else {
        p.in_sync = false;  // a spare
      }
    }
  }

  raid::Geometry g;
  g.level = type->level;
  g.layout = layout;
  g.chunk_sectors = chunk;
  g.raid_disks = raid_disks;
  g.member_sectors.assign(static_cast<size_t>(roles), 0);
  std::vector<raid::Disk*> disks(static_cast<size_t>(roles), nullptr);
  std::vector<std::pair<Member*, int64_t>> reshape_members(static_cast<size_t>(roles), {nullptr, 0});
  int working = 0, recovering = 0;
  bool all_writable = true;
  for (const auto& p : plans) {
    if (!p.kicked && p.role >= 0 && !p.in_sync && !p.replacement) ++recovering;
    if (p.kicked || p.role < 0 || !p.in_sync || p.replacement) continue;
    g.member_sectors[static_cast<size_t>(p.role)] = p.sectors;
    disks[static_cast<size_t>(p.role)] = p.member;
    reshape_members[static_cast<size_t>(p.role)] = {p.member, p.new_offset};
    all_writable = all_writable && p.member->writable();
    ++working;
  }
  if (!creating) {
    g.dev_sectors = freshest->size;
  } else if (dev_sectors_) {
    g.dev_sectors = dev_sectors_;
  } else if (type->level != 0 && type->level != LEVEL_LINEAR) {
    // As mdadm --create: the smallest member, rounded down to the chunk
    // (64 KiB for raid1, which has none).
    uint64_t smallest = kMaxSector;
    for (auto s : g.member_sectors)
      if (s) smallest = std::min(smallest, s);
    uint64_t unit = type->level == 1 || chunk == 0 ? 128 : chunk;
    if (smallest != kMaxSector) g.dev_sectors = smallest / unit * unit;
  }
  // Mid-reshape the size is the smaller shape's, known once it runs.
  auto sectors = reshaping ? Result<uint64_t>(0) : type->array_sectors(g);
  if (!sectors) return err(EINVAL);
  std::optional<format::R5logReplay> journal;
  if (!creating && (freshest->feature_map & MD_FEATURE_JOURNAL)) {
    Member* j = nullptr;
    for (const auto& p : plans)
      if (p.journal && !p.kicked) j = p.member;
    if (auto r = start_journal(j, g, working < roles, *freshest, read_only_reason); r) journal = std::move(*r);
    else if (r.error() != ENOENT) return err(r.error());
  }
  if (working == 0 || roles - working > type->max_degraded(g)) {
    md_log("%s: cannot start: not enough operational devices (%d/%d failed)", name_.c_str(), roles - working,
           roles);
    return err(EINVAL);
  }
  if (!all_writable && ro_ != ReadOnly::kReadOnly) return err(EROFS);
  // mdfs resizes no bitmap during a reshape (md_bitmap_resize): an array
  // found mid-reshape with one is read, never written.
  if (freshest && freshest->reshape_position != kMaxSector && freshest->bitmap_offset != 0 && read_only_reason.empty())
    read_only_reason = "a reshape with a write-intent bitmap (mdfs does not resize the bitmap during a reshape)";
  if (!read_only_reason.empty() && ro_ != ReadOnly::kReadOnly) {
    log_line(name_ + ": started read-only: " + read_only_reason);
    ro_ = ReadOnly::kReadOnly;
  }
  // As raid5_run: a parity array both degraded and dirty may hold stale
  // parity where a member is missing, so it does not start unless
  // start_dirty_degraded says so (members still being recovered do not
  // count: they hold what was rebuilt, and the rest is rebuilt again).
  const bool parity = type->level == 4 || type->level == 5 || type->level == 6;
  if (parity && !creating && freshest->resync_offset != kMaxSector && roles - working > recovering) {
    if (!registry_.start_dirty_degraded()) {
      md_log("md/raid:%s: cannot start dirty degraded array.", name_.c_str());
      return err(EIO);
    }
    md_log("md/raid:%s: starting dirty degraded array - data corruption possible.", name_.c_str());
  }

  // The plan holds: apply it, start the personality, write superblocks.
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> saved;
  for (const auto& p : plans) {
    saved.emplace_back(p.member->data_offset, p.member->sectors, p.member->sb_offset);
    p.member->data_offset = p.data_offset;
    p.member->sectors = p.sectors;
    p.member->sb_offset = p.sb_offset;
  }
  auto restore = [&] {
    for (size_t i = 0; i < plans.size(); ++i)
      std::tie(plans[i].member->data_offset, plans[i].member->sectors, plans[i].member->sb_offset) = saved[i];
  };
  auto pers = reshaping ? run_reshaping(g, reshape_of(*freshest), reshape_members) : type->run(g, disks, *this);
  if (pers && reshaping) sectors = (*pers)->array_sectors();
  if (!pers) {
    restore();
    return err(EINVAL);
  }
  // The journal's unreplayed pages are what the array holds (read-only).
  if (journal && !journal->data.empty()) *pers = with_journal_pages(std::move(*pers), std::move(journal->data));
  // The internal bitmap, as md_bitmap_create: the freshest member's (valid,
  // as checked above) covers what the array resyncs (its on-disk sync_size
  // is not trusted), at each member's own position, where it must not run
  // into data or metadata (the kernel's write_sb_page refuses that).
  const uint64_t sync_sectors = (*pers)->sync_sectors();
  if (!creating && freshest->bitmap) {
    for (const auto& p : plans) {
      if (p.kicked || !p.member->super || p.member->super->bitmap_offset == 0) continue;
      std::string why;
      if (!superblock::check_bitmap_room(*p.member, *freshest->bitmap, sync_sectors, &why)) {
        md_log("%s: cannot start: %s: %s", name_.c_str(), p.member->name().c_str(), why.c_str());
        restore();
        return err(EINVAL);
      }
    }
  }
  // A new array owes the resync resync_start says (0, the whole array,
  // unless it was written: mdadm writes "none" for --assume-clean), as
  // md_run with the mddev's recovery_cp. Levels without redundancy have
  // nothing to sync, a parity array created without some member has no
  // parity to make consistent (both start clean, as mdadm creates them),
  // and neither has a mirror of one copy (the kernel's resync of it ends
  // at once: nowhere to write).
  const bool redundant = type->level != 0 && type->level != LEVEL_LINEAR;
  const bool nothing_to_sync = !redundant || (parity && working < raid_disks) || (type->level == 1 && working <= 1);
  const uint64_t create_cp = !creating || nothing_to_sync ? kMaxSector : recovery_cp_.load();
  // The write-intent bitmap, read (or made) before anything is changed.
  const auto uuid = creating ? superblock::random_uuid() : freshest->uuid;
  BitmapOpen o;
  o.freshest = freshest;
  o.creating = creating;
  o.uuid = uuid;
  o.start = BitmapStart{sync_sectors, creating ? 0 : freshest->events, creating ? create_cp : freshest->resync_offset,
                        working < raid_disks};
  for (const auto& p : plans) {
    if (p.kicked || p.role < 0) continue;
    o.carriers.push_back(p.member);
    if (p.in_sync) o.readers.push_back(p.member);
  }
  auto opened = open_bitmap(o);
  if (!opened) {
    restore();
    return err(EINVAL);
  }
  std::lock_guard sb_lock(sb_mutex_);
  for (const auto& p : plans) {
    p.member->raid_disk = p.kicked ? -1 : p.role;
    p.member->in_sync = p.in_sync && !p.kicked;
    p.member->faulty = false;
    p.member->new_data_offset = p.member->data_offset + static_cast<uint64_t>(p.new_offset);
    if (p.member->super && !p.kicked) {
      const auto& sb = *p.member->super;
      p.member->write_mostly = sb.write_mostly;
      p.member->failfast = sb.failfast;
      p.member->corrected_errors = sb.corrected_reads;
    }
    p.member->replacement = p.replacement;
    p.member->journal = p.journal && !p.kicked;
    // A member whose recovery was interrupted resumes it from its offset,
    // through the bitmap if it was recovering that way (super_1_validate).
    // A replacement is always copied whole (the kernel's conf->fullsync):
    // it never recovers through the bitmap.
    p.member->recovery_offset = kMaxSector;
    p.member->saved_raid_disk = -1;
    if (!p.kicked && p.role >= 0 && !p.in_sync) {
      p.member->recovery_offset = p.recovery_offset;
      if (p.member->super && !p.member->recovery_set && (p.member->super->feature_map & MD_FEATURE_RECOVERY_BITMAP) &&
          !p.replacement)
        p.member->saved_raid_disk = p.role;
    }
    p.member->recovery_set = false;
    if (p.replacement && p.member->recovery_offset == kMaxSector) p.member->recovery_offset = 0;  // copied again
    if (p.journal && !p.kicked) p.member->recovery_offset = p.member->super->journal_tail;
    if (p.kicked) {
      md_log("%s: kicking %s %s from array!", name_.c_str(), p.member->super->role == format::kRoleFaulty ? "faulty" : "non-fresh",
             p.member->name().c_str());
      p.member->release_name();
    }
  }
  std::erase_if(members_, [&](const auto& m) {
    return std::any_of(plans.begin(), plans.end(), [&](const Plan& p) { return p.kicked && p.member == m.get(); });
  });
  level_ = type->level;
  clevel_.clear();
  layout_ = layout;
  chunk_sectors_ = chunk;
  raid_disks_ = raid_disks;
  uuid_ = uuid;
  if (creating) {
    ctime_ = static_cast<int64_t>(std::time(nullptr));
    events_ = 0;
    recovery_cp_ = create_cp;
    // A name told through set_name (mdfsadm --create --name) wins.
    if (major_version_ == 0) set_name_.clear();  // 0.90 has no name
    else if (set_name_.empty()) set_name_ = default_set_name(name_);
    // Striping without redundancy keeps no component size (as mdadm writes).
    dev_sectors_ = type->level == 0 || type->level == LEVEL_LINEAR ? 0 : g.dev_sectors;
  } else {
    ctime_ = static_cast<int64_t>(freshest->ctime);
    utime_ = freshest->utime;  // until the next superblock write
    events_ = freshest->events;
    recovery_cp_ = freshest->resync_offset;
    set_name_ = freshest->name;
    dev_sectors_ = freshest->size;
    reshape_position_ = freshest->reshape_position;
    new_level_ = freshest->new_level;
    new_layout_ = freshest->new_layout;
    new_chunk_sectors_ = freshest->new_chunk_sectors;
    delta_disks_ = freshest->delta_disks;
    // super_1_validate: a shrink always runs backwards.
    reshape_backwards_ = freshest->delta_disks < 0 || freshest->reshape_backwards;
  }
  if (reshape_position_ == kMaxSector) {  // nothing pending: the new shape is this one
    new_level_ = type->level;
    new_layout_ = layout;
    new_chunk_sectors_ = chunk;
    delta_disks_ = 0;
    reshape_backwards_ = false;
  }
  has_journal_ = !creating && (freshest->feature_map & MD_FEATURE_JOURNAL) != 0;
  journal_log_ = journal.has_value();
  journal_write_back_ = false;
  if (!external_size_) array_sectors_ = *sectors;
  size_limit_ = external_size_ ? std::min(array_sectors_, *sectors) : kMaxSector;
  read_only_reason_ = read_only_reason;
  pers_type_ = type;
  // raid5's setup_conf: a fresh stripe cache of NR_STRIPES.
  stripe_cache_size_ = 256;
  preread_bypass_threshold_ = 1;
  // As md_run: clean until the first write; a resync owed stays recorded
  // in resync_offset until the sync thread has done it.
  in_sync_ = true;
  safemode_delay_jiffies_ = kDefaultSafemodeJiffies;
  {
    std::unique_lock io_lock(pers_lock_);
    // Writes to a member being replaced reach its replacement too.
    for (const auto& r : plans) {
      if (!r.replacement) continue;
      for (const auto& o : plans)
        if (!o.replacement && !o.kicked && o.role == r.role) o.member->start_forwarding(r.member, replacement_failure_handler(*r.member));
    }
    bitmap_info_ = opened->info;
    if (opened->bitmap) opened->bitmap->set_writable(ro_ == ReadOnly::kReadWrite);
    set_live_bitmap(std::move(opened->bitmap));
    pers_ = std::shared_ptr<raid::Personality>(std::move(*pers));
  }
  // As md_run: the superblocks are written at the start only when it
  // changed what they record (the kernel's sb_flags). A clean array
  // assembled whole and unchanged is left as found until its first write
  // or change: an assemble and a stop leave events, the update time and a
  // 0.90 preferred minor as they were. mdfs writes at once, as before,
  // wherever the start is not that plain (a new array, a member left out,
  // recovering or replaced, a member behind the others, degraded, dirty,
  // mid-reshape, a journal); a bitmap's own superblock is written as
  // md_bitmap_load writes it.
  can_decrease_events_ = false;
  sb_change_pending_ = false;
  bool plain = !creating && !reshaping && !has_journal_ && recovery_cp_ == kMaxSector && degraded_locked() == 0;
  for (const auto& p : plans)
    if (p.kicked || p.replacement || (p.role >= 0 && !p.in_sync) || !p.member->super ||
        p.member->super->events != freshest->events)
      plain = false;
  if (ro_ != ReadOnly::kReadOnly) {
    if (plain) bitmap_update_sb();
    else update_superblocks();
  }
  update_configured();
  // As md_run: the array's start is an event, its state and sync_action
  // changed, and so did degraded.
  md_new_event();
  sysfs_notify("array_state");
  sysfs_notify("sync_action");
  sysfs_notify("degraded");
  wake_md_thread();
  return {};
}

// md_update_sb. Events count every change, except that a return to clean
// right after the switch to dirty undoes that switch's count, as the kernel
// does for a pure clean/dirty toggle.
int Array::update_superblocks() {
  if (!persistent_ || members_.empty()) return 0;
  sb_change_pending_ = false;
  if (in_sync_ && recovery_cp_ == kMaxSector && can_decrease_events_ && events_ > 1) {
    --events_;
    can_decrease_events_ = false;
  } else {
    ++events_;
    can_decrease_events_ = !in_sync_;
  }
  utime_ = static_cast<int64_t>(std::time(nullptr));
  superblock::ArrayInfo info;
  info.major = major_version_;
  info.minor = minor_version_;
  info.uuid = uuid_;
  info.set_name = set_name_;
  info.ctime = ctime_;
  info.utime = utime_;
  info.level = level_;
  info.layout = layout_;
  info.chunk_sectors = chunk_sectors_;
  info.raid_disks = raid_disks_;
  info.size = dev_sectors_;
  info.events = events_;
  info.in_sync = in_sync_;
  info.recovery_cp = recovery_cp_.load();
  info.md_minor = minor_ < 0 ? 0 : static_cast<int>(minor_);
  if (bitmap_) info.bitmap = bitmap_->super();
  info.bitmap_offset = bitmap_info_.offset;
  info.reshape_position = reshape_position_;
  info.new_level = new_level_;
  info.new_layout = new_layout_;
  info.new_chunk_sectors = new_chunk_sectors_;
  info.delta_disks = delta_disks_;
  info.reshape_backwards = reshape_backwards_;
  if (major_version_ == 0) number_members_090();
  // md_bitmap_update_sb comes first: a bitmap is never behind the
  // superblocks that point at it.
  bitmap_update_sb();
  for (const auto& m : members_) {
    superblock::ArrayInfo::Desc d;
    d.desc_nr = m->desc_nr;
    d.raid_disk = m->raid_disk;
    d.faulty = m->faulty;
    d.in_sync = m->in_sync;
    d.journal = m->journal;
    d.write_mostly = m->write_mostly;
    d.failfast = m->failfast;
    info.members.push_back(d);
  }
  int first_error = 0;
  for (const auto& m : members_) {
    if (m->faulty) continue;
    if (int e = superblock::write(*m, info); e && !first_error) first_error = e;
  }
  // md_update_sb: a pass running has a new checkpoint to show.
  if (sync_running_.load() != Sync::kNone) sysfs_notify("sync_completed");
  return first_error;
}

// super_90_sync numbers the members as it writes them: a member in sync in
// a role takes the role's number, every other one the next number from
// raid_disks up, in the order the members joined.
void Array::number_members_090() {
  int next_spare = raid_disks_;
  for (const auto& m : members_) {
    bool active = m->raid_disk >= 0 && !m->faulty && (m->in_sync || reshape_position_ != kMaxSector);
    m->desc_nr = active ? m->raid_disk : next_spare++;
  }
}
}  // namespace mdfs::core
