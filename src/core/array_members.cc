// An array's members: new_dev, the dev-<member>/ attributes (state, slot,
// offset, size, recovery_start), the rdN links, and md_error from the
// personality.
#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "core/array.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/registry.h"
#include "core/superblock.h"

namespace mdfs::core {

bool same_device(const format::SuperInfo& a, const format::SuperInfo& b) {
  if (a.uuid != b.uuid || a.major != b.major) return false;
  // v1 names each device by its own uuid; 0.90 has only its number, and
  // two members with one number and one event count are one device seen
  // twice (mdadm's "very similar superblocks").
  if (a.major == 1) return a.device_uuid == b.device_uuid;
  return a.dev_number == b.dev_number && a.events == b.events;
}


Result<void> Array::store_new_dev(std::string_view text) {
  std::string name(strip_newline(text));
  std::lock_guard lock(mutex_);
  auto file = registry_.shelf().claim(name);
  if (!file) {
    if (file.error() == EBUSY) {
      if (auto holder = registry_.shelf().holder(name); holder && *holder != name)
        md_log("%s: new_dev %s: busy: the same file is in use as %s", name_.c_str(), name.c_str(), holder->c_str());
    }
    return err(file.error());
  }
  auto member = std::make_shared<Member>(registry_.shelf(), name, std::move(*file));
  if (persistent_) {
    std::string why;
    member->super = superblock::load(*member, major_version_, minor_version_, &why);
    // As the kernel's load_super against the first member: another array's
    // member cannot join.
    for (const auto& other : members_)
      if (member->super && other->super && member->super->uuid != other->super->uuid) return err(EINVAL);
    // A copy of a member (another file with the same device identity) is
    // that member twice: the kernel's bind_rdev_to_array finds its
    // desc_nr taken and answers EBUSY.
    for (const auto& other : members_) {
      if (!member->super || !other->super || !same_device(*member->super, *other->super)) continue;
      md_log("%s: new_dev %s: busy: it carries the same device as %s", name_.c_str(), name.c_str(),
             other->name().c_str());
      return err(EBUSY);
    }
    if (pers_ && member->super && member->super->uuid != uuid_) return err(EINVAL);
  }
  // A member of this running array coming back: as ADD_NEW_DISK's
  // validate_super (mdfs does not carry that ioctl, so new_dev does it),
  // one the bitmap still covers keeps its role and recovers only the dirty
  // chunks; any other is a spare rebuilt in full.
  if (pers_ && member->super) member->saved_raid_disk = bitmap_readd_role(*member->super);
  std::set<int> used;
  for (const auto& m : members_) used.insert(m->desc_nr);
  if (member->super && !used.count(static_cast<int>(member->super->dev_number))) {
    member->desc_nr = static_cast<int>(member->super->dev_number);
  } else {
    // As bind_rdev_to_array: a member hot-added to a running array is
    // numbered from raid_disks up.
    int n = pers_ ? raid_disks_ : 0;
    while (used.count(n)) ++n;
    member->desc_nr = n;
  }
  if (member->super) {
    {
      std::lock_guard bb_lock(member->bb_mutex);
      member->bad_blocks = member->super->bad_blocks;  // as super_1_load reads the log
      member->bad_blocks_changed();
      if (!member->bad_blocks.empty()) bad_blocks_seen_ = true;
    }
    member->data_offset = member->super->data_offset;
    member->sectors = member->super->data_size;
    member->sb_offset = member->super->super_offset;
  } else if (persistent_) {
    // A blank member: where mdadm would put its data (mdstat counts it).
    if (auto where = superblock::place(major_version_, minor_version_, member->file_sectors(), std::nullopt,
                                       bitmap_room())) {
      member->data_offset = where->data_offset;
      member->sectors = where->data_size;
      member->sb_offset = where->sb_offset;
    }
  } else {
    member->sectors = member->file_sectors();
  }
  {
    std::lock_guard sb_lock(sb_mutex_);
    members_.push_back(std::move(member));  // a spare until placed
    if (pers_) update_superblocks();
  }
  update_configured();
  sync_blocked_ = false;
  md_new_event();  // as new_dev_store
  if (pers_) md_check_recovery();  // a degraded array recovers onto it
  return {};
}

void Array::export_members() {
  std::lock_guard sb_lock(sb_mutex_);
  members_.clear();  // each Member gives its name back to the shelf
}

std::vector<std::shared_ptr<Member>> Array::members() const {
  std::lock_guard lock(mutex_);
  return members_;
}

std::shared_ptr<Member> Array::member(std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (const auto& m : members_)
    if (m->name() == name) return m;
  return nullptr;
}

std::vector<std::pair<int, std::string>> Array::role_links() const {
  std::lock_guard lock(mutex_);
  std::lock_guard sb_lock(sb_mutex_);
  std::vector<std::pair<int, std::string>> out;
  if (!pers_) return out;
  // A replacement shares its role's number and gets no link of its own,
  // as sysfs_link_rdev's second rdN fails.
  for (const auto& m : members_)
    if (m->raid_disk >= 0 && !m->faulty && !m->replacement && !m->journal)
      out.emplace_back(m->raid_disk, "dev-" + m->name());
  std::sort(out.begin(), out.end());
  return out;
}

std::string Array::member_state_text(const Member& m) const {
  std::lock_guard lock(mutex_);
  std::lock_guard sb_lock(sb_mutex_);
  // state_show's words, in its order. Unacknowledged bad blocks show as
  // faulty and blocked, as the kernel shows them until they are written.
  bool unacknowledged = false;
  {
    std::lock_guard bb_lock(m.bb_mutex);
    unacknowledged = m.bad_blocks.unacknowledged();
  }
  std::vector<std::string> flags;
  if (m.faulty || unacknowledged) flags.push_back("faulty");
  if (!m.faulty && m.in_sync && m.raid_disk >= 0) flags.push_back("in_sync");
  if (m.journal) flags.push_back("journal");
  if (m.write_mostly) flags.push_back("write_mostly");
  if (unacknowledged && !m.faulty) flags.push_back("blocked");
  if (!m.faulty && !m.journal && !m.in_sync && pers_) flags.push_back("spare");
  if (m.write_error_seen) flags.push_back("write_error");
  if (m.want_replacement) flags.push_back("want_replacement");
  if (m.replacement) flags.push_back("replacement");
  if (m.failfast) flags.push_back("failfast");
  std::string out;
  for (const auto& f : flags) out += (out.empty() ? "" : ",") + f;
  return out + "\n";
}

Result<void> Array::store_member_state(Member& m, std::string_view text) {
  std::lock_guard lock(mutex_);
  std::unique_lock sb_lock(sb_mutex_);
  if (cmd_match(text, "faulty")) {
    // Once broken, every faulty write answers EBUSY, as state_store does.
    if (m.faulty) return pers_ && broken_ ? err(EBUSY) : Result<void>{};
    // md_error on a member the array cannot lose: the array is broken and
    // the write answers EBUSY. raid4/5/6 fail the member anyway (the array
    // has failed); raid0, linear and the last copy of raid1/10 keep it.
    bool breaks = pers_ && m.raid_disk >= 0 && m.in_sync &&
                  degraded_locked() + 1 > pers_type_->max_degraded(geometry_locked());
    if (breaks) {
      broken_ = true;
      const int level = pers_type_->level;
      if (level != 4 && level != 5 && level != 6) return err(EBUSY);
    }
    // A replacement fails alone; the role's member takes its replacement
    // with it into the role.
    if (pers_ && m.raid_disk >= 0 && !m.replacement) pers_->fail(m.raid_disk);
    m.faulty = true;
    m.in_sync = false;
    if (pers_ && m.raid_disk >= 0 && !m.replacement) promote_replacement_locked(m.raid_disk);
    // md_error: the member's state, the sync action (a recovery onto it
    // ends) and an md event.
    sysfs_notify(m, "state");
    sysfs_notify("sync_action");
    md_new_event();
    if (pers_) {
      update_superblocks();
      sb_lock.unlock();
      // A recovery onto this member ends; it leaves its role. A resync is
      // interrupted too (md_error's MD_RECOVERY_INTR) and starts again
      // from its checkpoint with the members left.
      if (sync_running_.load() == Sync::kRecover || sync_running_.load() == Sync::kResync) stop_sync_thread();
      md_check_recovery();
    }
    if (pers_ && broken_) return err(EBUSY);
    return {};
  }
  if (cmd_match(text, "remove")) {
    if (pers_ && ((m.raid_disk >= 0 && !m.faulty) || m.journal)) return err(EBUSY);
    auto it = std::find_if(members_.begin(), members_.end(), [&](const auto& p) { return p.get() == &m; });
    if (it == members_.end()) return err(ENOENT);
    (*it)->release_name();
    if (pers_) retired_.push_back(*it);
    members_.erase(it);
    update_configured();
    if (pers_) update_superblocks();
    md_new_event();
    return {};
  }
  // The member flags: kept in every superblock from now on, as state_store
  // updates them at once.
  struct Flag {
    std::string_view word;
    std::atomic<bool> Member::*field;
  };
  for (const Flag& f : {Flag{"writemostly", &Member::write_mostly}, Flag{"failfast", &Member::failfast}}) {
    const bool set = cmd_match(text, f.word);
    if (!set && !cmd_match(text, "-" + std::string(f.word))) continue;
    m.*f.field = set;
    if (pers_ && ro_ != ReadOnly::kReadOnly) update_superblocks();
    sysfs_notify(m, "state");
    return {};
  }
  // want_replacement: any member in a role that is not itself a
  // replacement or the journal may ask for one (state_store answers 0 in
  // every case); a spare is taken by the next recovery check.
  if (cmd_match(text, "want_replacement")) {
    if (m.raid_disk >= 0 && !m.journal && !m.replacement) m.want_replacement = true;
    if (pers_) {
      sb_lock.unlock();
      wake_md_thread();
    }
    return {};
  }
  if (cmd_match(text, "-want_replacement")) {
    m.want_replacement = false;
    return {};
  }
  // A replacement is named before the array starts; once it runs, only
  // spares become replacements.
  if (cmd_match(text, "replacement") || cmd_match(text, "-replacement")) {
    if (pers_) return err(EBUSY);
    m.replacement = cmd_match(text, "replacement");
    return {};
  }
  if (cmd_match(text, "insync")) {
    // state_store: only a member without a role; on a running array it
    // asks that a following slot write re-add it.
    if (pers_ && m.raid_disk >= 0) return err(EINVAL);
    m.in_sync = true;
    return {};
  }
  if (cmd_match(text, "-insync")) {
    if (pers_ && m.raid_disk >= 0) return err(EBUSY);
    m.in_sync = false;
    return {};
  }
  return err(EINVAL);
}

std::string Array::member_slot_text(const Member& m) const {
  std::lock_guard lock(mutex_);
  std::lock_guard sb_lock(sb_mutex_);
  if (m.journal) return "journal\n";
  return m.raid_disk < 0 ? "none\n" : std::to_string(m.raid_disk) + "\n";
}

Result<void> Array::store_member_slot(Member& m, std::string_view text) {
  int slot = -1;
  if (!cmd_match(text, "none")) {
    auto n = parse_kstrto<unsigned>(text);
    if (!n) return err(n.error());
    if (*n > static_cast<unsigned>(std::numeric_limits<int>::max())) return err(EINVAL);
    slot = static_cast<int>(*n);
  }
  std::lock_guard lock(mutex_);
  if (pers_) return store_running_slot(m, slot);
  if (slot >= 0 && raid_disks_ > 0 && slot >= raid_disks_) return err(ENOSPC);
  for (const auto& other : members_)
    if (other.get() != &m && slot >= 0 && other->raid_disk == slot && other->replacement == m.replacement)
      return err(EBUSY);
  m.raid_disk = slot;
  m.slot_set = true;  // "none" too: the member is a spare, whatever its superblock said
  m.faulty = false;
  m.in_sync = slot >= 0;
  return {};
}

std::string Array::member_offset_text(const Member& m) const {
  std::lock_guard lock(mutex_);
  return std::to_string(m.data_offset) + "\n";
}

Result<void> Array::store_member_offset(Member& m, std::string_view text) {
  auto n = parse_kstrto<uint64_t>(text);
  if (!n) return err(n.error());
  std::lock_guard lock(mutex_);
  if (pers_ && m.raid_disk >= 0) return err(EBUSY);
  if (*n >= m.file_sectors()) return err(EINVAL);
  m.data_offset = *n;
  m.offset_set = true;
  return {};
}

std::string Array::member_size_text(const Member& m) const {
  std::lock_guard lock(mutex_);
  return std::to_string(m.sectors / 2) + "\n";
}

Result<void> Array::store_member_size(Member& m, std::string_view text) {
  auto kib = parse_kstrto<uint64_t>(text);
  if (!kib || *kib > (kMaxSector >> 1)) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);
  if (m.data_offset + *kib * 2 > m.file_sectors()) return err(EINVAL);
  m.sectors = *kib * 2;
  m.size_set = true;
  return {};
}

std::string Array::member_bad_blocks_text(const Member& m, bool unacknowledged) const {
  std::lock_guard bb_lock(m.bb_mutex);
  return m.bad_blocks.show(unacknowledged);
}

// bb_store and ubb_store: a range recorded bad, acknowledged or not; the
// log reaches the member with the next superblock write (a write to the
// array, a stop), as md_update_sb writes it. A member without a log, or
// whose list is full: ENOSPC.
Result<void> Array::store_member_bad_blocks(Member& m, std::string_view text, bool unacknowledged) {
  auto range = format::parse_bad_block_write(text);
  if (!range) return err(range.error());
  std::lock_guard bb_lock(m.bb_mutex);
  const bool whole = m.bad_blocks.set(range->sector, range->length, !unacknowledged);
  m.bad_blocks_changed();  // what fitted is recorded, and avoided by reads from now on
  if (!m.bad_blocks.empty()) bad_blocks_seen_ = true;
  if (!whole) return err(ENOSPC);
  return {};
}

std::string Array::member_recovery_start_text(const Member& m) const {
  std::lock_guard lock(mutex_);
  if (m.faulty) return "0\n";
  if (m.recovery_offset == kMaxSector || m.in_sync) return "none\n";
  return std::to_string(m.recovery_offset) + "\n";
}

// As recovery_start_store: before the member has a role in a running
// array, where its recovery starts ("none": it is in sync); the start
// takes it over whatever the member's superblock says.
Result<void> Array::store_member_recovery_start(Member& m, std::string_view text) {
  auto n = parse_sector_or_none(text);
  if (!n) return err(n.error());
  std::lock_guard lock(mutex_);
  if (pers_ && m.raid_disk >= 0) return err(EBUSY);
  m.recovery_offset = *n;
  m.in_sync = *n == kMaxSector;
  m.recovery_set = true;
  return {};
}


Member* Array::member_in_role_locked(int role) const {
  for (const auto& m : members_)
    if (m->raid_disk == role && !m->faulty && !m->replacement) return m.get();
  return nullptr;
}

// "md/raid5:md0: ", as the personalities begin their lines.
std::string Array::md_prefix() const {
  return "md/" + std::string(pers_type_ ? pers_type_->name : "md") + ":" + name_ + ": ";
}

// md_error: the personality has failed the member in `role`. As the
// kernel's raid5_error, an array that has lost more members than its level
// survives is broken (MD_BROKEN); the member keeps its role then.
void Array::member_failed(int role, int error) {
  std::string name;
  {
    std::lock_guard sb_lock(sb_mutex_);
    // The role's member, not its replacement: that one takes its place.
    for (const auto& mm : members_) {
      if (mm->raid_disk != role || mm->faulty || mm->replacement) continue;
      Member* m = mm.get();
      m->faulty = true;
      m->in_sync = false;
      name = m->name();
      sysfs_notify(*m, "state");  // md_error
    }
    const int degraded = degraded_locked();
    if (pers_type_ && degraded > pers_type_->max_degraded(geometry_locked())) broken_ = true;
    promote_replacement_locked(role);
    update_superblocks();
    if (!name.empty()) {
      log_line(md_prefix() + "Disk failure on " + name + " (" + std::strerror(error) + "), disabling device.");
      log_line(md_prefix() + (broken_ ? "Cannot continue operation (" + std::to_string(degraded) + "/" +
                                            std::to_string(raid_disks_) + " failed)."
                                      : "Operation continuing on " + std::to_string(raid_disks_ - degraded) +
                                            " devices."));
    }
  }
  // md_error: a resync in flight is interrupted (MD_RECOVERY_INTR); the md
  // thread starts it again from its checkpoint with the members left.
  if (sync_running_.load() == Sync::kResync) {
    {
      std::lock_guard wait_lock(sync_wait_mutex_);
      sync_interrupt_ = true;
    }
    sync_wake_.notify_all();
  }
  sysfs_notify("sync_action");
  md_new_event();
  wake_md_thread();  // the member leaves its role; a spare may take it
}

void Array::array_broken(int role, int error) {
  broken_ = true;
  std::lock_guard sb_lock(sb_mutex_);
  if (Member* m = member_in_role_locked(role))
    log_line(md_prefix() + m->name() + " failed (" + std::strerror(error) +
             ") and holds the last copy: kept, the array is broken.");
}

// The prologue of the kernel's fix_read_error (raid10's; raid1 and raid5
// count the same way here): nothing is rewritten on an array that is not
// writable; else the error is counted, the count halved for every hour
// since the last one (check_decay_read_errors), and a member past
// max_read_errors is failed.
raid::ReadErrorPolicy Array::read_error(int role) {
  if (ro_ != ReadOnly::kReadWrite) return raid::ReadErrorPolicy::kReadAround;
  const int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::lock_guard sb_lock(sb_mutex_);
  Member* m = member_in_role_locked(role);
  if (!m) return raid::ReadErrorPolicy::kReadAround;
  if (m->last_read_error != 0) {
    const int64_t hours = (now - m->last_read_error) / 3600;
    m->read_errors = hours >= 32 ? 0 : m->read_errors >> hours;
  }
  m->last_read_error = now == 0 ? 1 : now;
  ++m->read_errors;
  const unsigned max = max_read_errors_.load();
  if (m->read_errors <= max) return raid::ReadErrorPolicy::kFix;
  log_line(md_prefix() + m->name() + ": Raid device exceeded read_error threshold [cur " +
           std::to_string(m->read_errors) + ":max " + std::to_string(max) + "]");
  return raid::ReadErrorPolicy::kFail;
}

void Array::read_error_corrected(int role, uint64_t sector, uint64_t sectors) {
  std::lock_guard sb_lock(sb_mutex_);
  Member* m = member_in_role_locked(role);
  if (!m) return;
  m->corrected_errors += static_cast<uint32_t>(sectors);
  // The count reaches the superblocks with the next write, at the latest
  // the stop (the kernel would leave it to a write that may never come).
  sb_change_pending_ = true;
  log_line(md_prefix() + "read error corrected (" + std::to_string(sectors) + " sectors at " +
           std::to_string(m->data_offset + sector) + " on " + m->name() + ")");
}

// rdev_set_badblocks: the member keeps its role, with member sectors
// [sector, sector + sectors) of its data recorded bad (or, for a write the
// member narrowed, the pages of it that failed again), unacknowledged; then
// md_update_sb writes the superblocks and the log (super_1_sync) before the
// request that failed completes, as the kernel holds it until the log is
// written (MD_SB_CHANGE_PENDING), and the range counts as acknowledged.
// False (the caller fails the member, md_error) without a log (0.90, a v1
// member without bblog_offset), when the list is full, or when the log
// cannot be written (the entry is then kept in memory, acknowledged).
bool Array::record_bad_block(int role, uint64_t sector, uint64_t sectors) {
  std::lock_guard sb_lock(sb_mutex_);
  Member* m = member_in_role_locked(role);
  if (!m || sectors == 0) return false;
  const auto* sb = m->super ? std::get_if<format::Superblock1>(&m->super->super) : nullptr;
  if (!sb || sb->bblog_offset == 0 || sb->bblog_size == 0) return false;
  // A failed write was narrowed (narrow_write_error): only the pages that
  // failed again are bad; none, and the write is done after all.
  const uint64_t lo = m->data_offset + sector, hi = lo + sectors;
  auto ranges = m->take_narrowed(lo, hi).value_or(std::vector<std::pair<uint64_t, uint64_t>>{{lo, hi}});
  if (ranges.empty()) {
    log_line(md_prefix() + m->name() + ": a failed write at sector " + std::to_string(lo) +
             " went through a page at a time: nothing recorded");
    return true;
  }
  uint64_t count = 0;
  {
    std::lock_guard bb_lock(m->bb_mutex);
    bool whole = true;
    for (const auto& [r_lo, r_hi] : ranges) {
      whole = m->bad_blocks.set(r_lo, r_hi - r_lo, false) && whole;
      count += r_hi - r_lo;
    }
    m->bad_blocks_changed();
    bad_blocks_seen_ = true;
    if (!whole) return false;
  }
  update_superblocks();
  bool written = false;
  {
    // md_update_sb acknowledges every entry once the superblock writes are
    // over, whether they reached storage or not (a member whose write
    // failed meets md_error, here the caller's): the member reads as its
    // role again, not as blocked. The log stays marked changed, so the
    // next superblock write that works writes the entry.
    std::lock_guard bb_lock(m->bb_mutex);
    written = !m->bad_blocks.unacknowledged();
    m->bad_blocks.acknowledge_all();
  }
  log_line(md_prefix() + m->name() + ": " + std::to_string(count) + " sectors from " +
           std::to_string(ranges.front().first) +
           (written ? " recorded in the bad block log" : " not recorded: the bad block log was not written"));
  sysfs_notify(*m, "state");
  md_new_event();
  return written;
}

// analyse_stripe on a member with a recorded bad block: a member that has
// seen no write error gets the computed data written back (which clears
// the range when it works); one that has is only read around.
raid::ReadErrorPolicy Array::bad_block_read(int role) {
  if (ro_ != ReadOnly::kReadWrite) return raid::ReadErrorPolicy::kReadAround;
  std::lock_guard sb_lock(sb_mutex_);
  Member* m = member_in_role_locked(role);
  if (!m || m->write_error_seen.load()) return raid::ReadErrorPolicy::kReadAround;
  return raid::ReadErrorPolicy::kFix;
}

}  // namespace mdfs::core
