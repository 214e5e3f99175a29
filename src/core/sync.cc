// The md core's sync thread, as md.c's md_check_recovery, md_do_sync and
// md_reap_sync_thread: recovery onto spares, resync after an unclean stop,
// and the check and repair passes asked for through sync_action. The
// personality does the work window by window (Personality::sync_window);
// this file decides what runs, walks the sync space, throttles it,
// checkpoints it into the superblocks and shows its progress.
#include <algorithm>
#include <cstdio>

#include "core/array.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/registry.h"

namespace mdfs::core {

namespace {

using Clock = std::chrono::steady_clock;

// The kernel's system-wide speed_limit_min and speed_limit_max (KiB/s).
constexpr unsigned kSystemSpeedMin = 1000;
constexpr unsigned kSystemSpeedMax = 200000;
// Speed marks: ten, three seconds apart (SYNC_MARKS, SYNC_MARK_STEP).
constexpr size_t kSyncMarks = 10;
constexpr auto kSyncMarkStep = std::chrono::seconds(3);
// The pass walks windows of at most this many sectors (512 KiB): small
// enough for the throttle and an interrupt to act quickly.
constexpr uint64_t kWindowSectors = 1024;
// Checkpoints: each sixteenth of the pass, as md_do_sync, and at least
// this often.
constexpr auto kCheckpointEvery = std::chrono::seconds(5);
// How long the pass gives way to a busy array before it looks again.
constexpr auto kBusyYield = std::chrono::milliseconds(50);

std::string_view action_name(int sync) {
  constexpr std::string_view kNames[] = {"idle", "resync", "recover", "check", "repair", "reshape"};
  return kNames[sync];
}

}  // namespace

// What md_do_sync calls each kind of pass in the kernel's log.
const char* Array::sync_description(Sync kind) {
  switch (kind) {
    case Sync::kCheck: return "data-check";
    case Sync::kRepair: return "requested-resync";
    case Sync::kRecover: return "recovery";
    case Sync::kReshape: return "reshape";
    default: return "resync";
  }
}

std::string Array::sync_action_text() const {
  std::lock_guard lock(mutex_);
  if (sync_frozen_) return "frozen\n";
  Sync running = sync_running_.load();
  // A check asked of a read-only array waits, showing idle, until it is
  // writable (the kernel keeps the request the same way).
  if (running == Sync::kNone && ro_ == ReadOnly::kReadWrite) running = sync_requested_;
  return std::string(action_name(static_cast<int>(running))) + "\n";
}

// action_store: idle and frozen interrupt a running pass (frozen also keeps
// new ones from starting); anything else while a pass runs is EBUSY; check
// and repair ask for a pass; resync and recover only unfreeze.
Result<void> Array::store_sync_action(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (!pers_ || pers_->sync_sectors() == 0) return err(EINVAL);
  const bool idle = cmd_match(text, "idle");
  if (idle || cmd_match(text, "frozen")) {
    sync_frozen_ = !idle;
    sync_blocked_ = false;
    stop_sync_thread();
    sync_requested_ = Sync::kNone;
    if (idle) md_check_recovery();
    sysfs_notify("sync_action");
    return {};
  }
  if (cmd_match(text, "reshape")) return start_reshape();
  if (sync_thread_.joinable()) return err(EBUSY);
  if (cmd_match(text, "check")) {
    sync_requested_ = Sync::kCheck;
  } else if (cmd_match(text, "repair")) {
    sync_requested_ = Sync::kRepair;
  } else if (!cmd_match(text, "resync") && !cmd_match(text, "recover")) {
    return err(EINVAL);
  }
  sync_frozen_ = false;
  sync_blocked_ = false;
  // A write to sync_action ends read-auto, as the kernel's.
  if (ro_ == ReadOnly::kAutoRead) ro_ = ReadOnly::kReadWrite;
  md_check_recovery();
  sysfs_notify("sync_action");  // as action_store
  return {};
}

std::string Array::last_sync_action_text() const {
  std::lock_guard lock(mutex_);
  if (last_sync_ == Sync::kNone) return "none\n";
  return std::string(action_name(static_cast<int>(last_sync_))) + "\n";
}

std::string Array::sync_completed_text() const {
  std::lock_guard lock(mutex_);
  if (!sync_thread_.joinable()) return "none\n";
  return std::to_string(curr_resync_completed_.load()) + " / " + std::to_string(sync_total_.load()) + "\n";
}

// Sectors synced (not skipped) since the oldest speed mark, and the whole
// seconds since it (at least one), as sync_speed_show and status_resync
// count them.
Array::Rate Array::sync_rate(uint64_t done) const {
  std::lock_guard wait_lock(sync_wait_mutex_);
  Rate rate;
  if (sync_marks_.empty()) return rate;
  const Mark& mark = sync_marks_.front();
  rate.seconds = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - mark.when).count()));
  rate.sectors = done > mark.io ? done - mark.io : 0;
  return rate;
}

std::string Array::sync_speed_text() const {
  std::lock_guard lock(mutex_);
  if (!sync_thread_.joinable()) return "none\n";
  const Rate rate = sync_rate(sync_io_.load());
  return std::to_string(rate.sectors / rate.seconds / 2) + "\n";
}

namespace {

std::string speed_text(unsigned local, unsigned system) {
  return std::to_string(local ? local : system) + (local ? " (local)\n" : " (system)\n");
}

// sync_min_store/sync_max_store: "system", or a positive number of KiB/s.
Result<unsigned> parse_speed(std::string_view text) {
  if (strip_newline(text).starts_with("system")) return 0u;
  auto n = parse_kstrto<unsigned>(text);
  if (!n) return err(n.error());
  if (*n == 0 || *n > static_cast<unsigned>(std::numeric_limits<int>::max())) return err(EINVAL);
  return *n;
}

}  // namespace

std::string Array::sync_speed_min_text() const { return speed_text(speed_min_.load(), kSystemSpeedMin); }
std::string Array::sync_speed_max_text() const { return speed_text(speed_max_.load(), kSystemSpeedMax); }

std::string Array::sync_min_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(resync_min_) + "\n";
}

std::string Array::sync_max_text() const {
  const uint64_t max = resync_max_.load();
  return max == kMaxSector ? "max\n" : std::to_string(max) + "\n";
}

// min_sync_store: at most sync_max, not while a pass runs, rounded down to
// 4 KiB.
Result<void> Array::store_sync_min(std::string_view text) {
  auto n = parse_kstrto<uint64_t>(text);
  if (!n) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (*n > resync_max_.load()) return err(EINVAL);
  if (sync_thread_.joinable()) return err(EBUSY);
  resync_min_ = *n & ~uint64_t{7};
  return {};
}

// max_sync_store: "max", or at least sync_min and a whole number of chunks;
// a running pass may not be pulled back. A pass waiting at the old value
// goes on.
Result<void> Array::store_sync_max(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (strip_newline(text).starts_with("max")) {
    resync_max_ = kMaxSector;
  } else {
    auto n = parse_kstrto<uint64_t>(text);
    if (!n || *n < resync_min_) return err(EINVAL);
    if (*n < resync_max_.load() && ro_ == ReadOnly::kReadWrite && sync_thread_.joinable()) return err(EBUSY);
    if (chunk_sectors_ != 0 && *n % chunk_sectors_ != 0) return err(EINVAL);
    resync_max_ = *n;
  }
  {
    std::lock_guard wait_lock(sync_wait_mutex_);
  }
  sync_wake_.notify_all();
  return {};
}

Result<void> Array::store_sync_speed_min(std::string_view text) {
  auto n = parse_speed(text);
  if (!n) return err(n.error());
  speed_min_.store(*n);
  return {};
}

Result<void> Array::store_sync_speed_max(std::string_view text) {
  auto n = parse_speed(text);
  if (!n) return err(n.error());
  {
    std::lock_guard wait_lock(sync_wait_mutex_);
    speed_max_.store(*n);
  }
  sync_wake_.notify_all();
  return {};
}

std::string Array::mismatch_cnt_text() const { return std::to_string(resync_mismatches_.load()) + "\n"; }

void Array::wake_md_thread() {
  registry_.md_thread().post([weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      std::lock_guard lock(self->mutex_);
      self->md_check_recovery();
    }
  });
}

bool Array::remove_and_add_spares() {
  const int max_degraded = pers_type_->max_degraded(geometry_locked());
  // A faulty member leaves its role, unless the array has failed (the
  // kernel keeps the role of the member that broke it); a failed array
  // has nothing to rebuild from.
  const bool failed = degraded_locked() > max_degraded;
  bool changed = false;
  std::vector<std::pair<Member*, int>> added;
  {
    std::lock_guard sb_lock(sb_mutex_);
    for (const auto& m : members_) {
      if (failed || !m->faulty || m->raid_disk < 0) continue;
      m->raid_disk = -1;
      changed = true;
    }
  }
  drop_forwarding_of_faulty();
  if (changed) sysfs_notify("degraded");  // a member left its role
  std::vector<bool> taken(static_cast<size_t>(raid_disks_), false);
  for (const auto& m : members_)
    if (!m->faulty && m->raid_disk >= 0 && m->raid_disk < raid_disks_) taken[static_cast<size_t>(m->raid_disk)] = true;
  // rdev_for_each: the kernel's list of members holds the newest first
  // (bind_rdev_to_array adds at its head, as mdstat shows), so of several
  // spares the one added last is taken first.
  for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
    const auto& m = *it;
    if (failed || sync_blocked_) break;
    if (m->faulty || m->in_sync || m->replacement || m->journal || m->sectors < dev_sectors_) continue;
    int role = m->raid_disk;
    // As raid1_add_disk and raid5_add_disk: a member coming back takes its
    // old role when that is free, any free one otherwise.
    const int saved = m->saved_raid_disk;
    if (role < 0 && saved >= 0 && saved < raid_disks_ && !taken[static_cast<size_t>(saved)]) role = saved;
    if (role < 0) {
      auto free = std::find(taken.begin(), taken.end(), false);
      if (free == taken.end()) continue;
      role = static_cast<int>(free - taken.begin());
    }
    int e = 0;
    {
      // hot_add_disk with no request in flight, as the kernel quiesces;
      // sb_mutex_ is not held, as requests in flight may wait for it.
      std::unique_lock io_lock(pers_lock_);
      e = pers_->add_disk(role, m.get());
    }
    if (e != 0) continue;
    taken[static_cast<size_t>(role)] = true;
    added.emplace_back(m.get(), role);
  }
  {
    std::lock_guard sb_lock(sb_mutex_);
    for (auto [m, role] : added) {
      if (m->raid_disk < 0 || m->recovery_offset == kMaxSector) m->recovery_offset = 0;
      m->raid_disk = role;
      changed = true;
      md_new_event();  // a spare taken into a role (hot_add_disk)
    }
    if (changed) update_superblocks();
  }
  return add_replacements(failed) || !added.empty();
}

void Array::md_check_recovery() {
  reap_sync_thread();
  if (!pers_ || pers_->sync_sectors() == 0 || sync_thread_.joinable()) return;
  if (ro_ != ReadOnly::kReadWrite || sync_frozen_) return;
  Sync kind = Sync::kNone;
  uint64_t start = 0;
  // md_check_recovery: a reshape in progress goes before anything else,
  // and nothing else runs until it is done.
  if (pers_->reshaping()) {
    kind = Sync::kReshape;
    start = pers_->reshape_done();
  } else if (remove_and_add_spares()) {
    kind = Sync::kRecover;
    plan_replacement_copies();
    {
      std::lock_guard sb_lock(sb_mutex_);
      for (const auto& m : members_) m->recovery_restarted = false;
    }
    start = kMaxSector;
    for (const auto& m : members_)
      if (!m->faulty && !m->in_sync && m->raid_disk >= 0) start = std::min<uint64_t>(start, m->recovery_offset);
    if (start == kMaxSector) start = 0;
  } else if (sync_requested_ != Sync::kNone) {
    kind = sync_requested_;
    start = resync_min_;
  } else if (recovery_cp_ != kMaxSector && !sync_blocked_) {
    kind = Sync::kResync;
    start = recovery_cp_;
    // Nothing left to make consistent: a mirror with one working copy, or
    // a raid4/5/6 missing as many members as its parity covers. The
    // kernel's sync_request skips all of it, and the pass ends at once.
    std::lock_guard sb_lock(sb_mutex_);
    const int level = pers_type_->level;
    if ((level == 1 || level == 4 || level == 5 || level == 6) &&
        degraded_locked() >= pers_type_->max_degraded(geometry_locked())) {
      md_log("md: resync of RAID array %s", name_.c_str());
      md_log("md: %s: resync done.", name_.c_str());
      recovery_cp_ = kMaxSector;
      update_superblocks();
      sysfs_notify("sync_completed");
      kind = Sync::kNone;
    }
  }
  sync_requested_ = Sync::kNone;
  if (kind == Sync::kNone) return;
  const uint64_t total = kind == Sync::kRecover   ? pers_->recovery_sectors()
                         : kind == Sync::kReshape ? pers_->reshape_sectors()
                                                  : pers_->sync_sectors();
  start = std::min(start, total);
  sync_bitmap_ = sync_bitmap_locked(kind);
  last_sync_ = kind;
  if (kind != Sync::kRecover) resync_mismatches_ = 0;
  sync_interrupt_ = false;
  sync_failed_ = false;
  sync_finished_ = false;
  sync_total_ = total;
  curr_resync_ = start;
  curr_resync_completed_ = start;
  sync_io_ = 0;
  sync_running_ = kind;
  {
    std::lock_guard wait_lock(sync_wait_mutex_);
    sync_marks_.assign(1, Mark{Clock::now(), 0});
  }
  md_log("md: %s of RAID array %s", sync_description(kind), name_.c_str());
  sync_thread_ = std::thread([this, kind, pers = pers_, start, total, bitmap = sync_bitmap_] {
    if (kind == Sync::kReshape) md_do_reshape(pers, total);
    else md_do_sync(kind, pers, start, total, bitmap);
  });
  // md_start_sync and md_do_sync's start: a pass runs, from this checkpoint.
  sysfs_notify("sync_action");
  sysfs_notify("sync_completed");
  md_new_event();
}

void Array::md_do_sync(Sync kind, std::shared_ptr<raid::Personality> pers, uint64_t start, uint64_t total,
                       SyncBitmap bitmap) {
  raid::SyncKind what = raid::SyncKind::kResync;
  if (kind == Sync::kRecover) what = raid::SyncKind::kRecover;
  if (kind == Sync::kCheck) what = raid::SyncKind::kCheck;
  if (kind == Sync::kRepair) what = raid::SyncKind::kRepair;
  const uint64_t unit = std::max<uint64_t>(pers->sync_unit(), 1);
  const uint64_t window = std::max(unit, kWindowSectors / unit * unit);
  // The bitmap's counters follow a pass over the sync space; raid10's
  // recovery (member sectors) asks the bitmap itself.
  Bitmap* bm = bitmap.member_space ? nullptr : bitmap.bitmap.get();
  pers->set_syncing(true);
  auto last_checkpoint = Clock::now();
  uint64_t pos = start;
  while (pos < total && !sync_interrupt_.load()) {
    if (pos >= resync_max_.load()) {
      sync_checkpoint(kind, pos);
      if (!sync_wait_below_max(pos)) break;
    }
    const uint64_t max = std::max(resync_max_.load(), pos + 1);
    uint64_t n = std::min({window - pos % window, total - pos, max - pos});
    // md_bitmap_start_sync: clean chunks are skipped in whole units, and
    // count as done (in sync_completed and mdstat, not in the speed). A
    // pass with a replacement to fill never skips (sync_bitmap_locked).
    uint64_t skip = 0;
    if (bm && bitmap.skip) {
      const uint64_t next = bm->next_needed(pos, std::min(total, max));
      skip = next > pos ? std::max(pos, next / unit * unit) - pos : 0;
    }
    if (skip > 0) {
      n = skip;
    } else {
      if (bm) bm->begin_sync(pos, pos + n, bitmap.still_degraded);
      raid::SyncResult r;
      if (kind != Sync::kRecover || sync_pers_recovers_) r = pers->sync_window(what, pos, n);
      resync_mismatches_ += r.mismatches;
      if (r.error != 0 || (kind == Sync::kRecover && !copy_replacements(*pers, pos, n))) {
        sync_failed_ = true;
        break;
      }
      sync_io_ += n;
    }
    // The first window done: the earliest the pass shows in mdstat.
    if (pos == start) md_new_event();
    pos += n;
    curr_resync_ = pos;
    if (pos - curr_resync_completed_.load() > (total >> 4) || Clock::now() - last_checkpoint >= kCheckpointEvery) {
      if (bm) bm->end_sync(pos, false);  // md_bitmap_cond_end_sync
      if (pos < total) sync_checkpoint(kind, pos);
      last_checkpoint = Clock::now();
    }
    if (skip == 0) sync_throttle(sync_io_.load());
  }
  pers->set_syncing(false);
  // md_bitmap_close_sync: an aborted pass leaves its unfinished chunks
  // NEEDED for the next one.
  if (bm) bm->end_sync(pos, pos < total);
  curr_resync_completed_ = pos;
  sysfs_notify("sync_completed");
  sync_finished_ = true;
  // md_reap_sync_thread runs on the md thread, which takes mutex_.
  wake_md_thread();
}

void Array::sync_checkpoint(Sync kind, uint64_t done) {
  std::lock_guard sb_lock(sb_mutex_);
  curr_resync_completed_ = done;
  sysfs_notify("sync_completed");
  if (kind == Sync::kResync && done > recovery_cp_) recovery_cp_ = done;
  if (kind == Sync::kRecover) {
    for (const auto& m : members_)
      if (!m->faulty && !m->in_sync && m->raid_disk >= 0 && !m->recovery_restarted && done > m->recovery_offset)
        m->recovery_offset = done;
  }
  if (kind == Sync::kResync || kind == Sync::kRecover) update_superblocks();
}

// As md_do_sync's throttle, counting the sectors the pass really synced
// (chunks the bitmap skips are not I/O): at or below sync_speed_min the pass never
// waits; above sync_speed_max it waits until the speed since the oldest
// mark falls back to the maximum; in between it gives way while the array
// is busy (is_mddev_idle: requests came in since the last look), a short
// while at a time, until it is idle again or has slowed to the minimum.
void Array::sync_throttle(uint64_t io) {
  std::unique_lock lock(sync_wait_mutex_);
  const auto now = Clock::now();
  if (sync_marks_.empty() || now - sync_marks_.back().when >= kSyncMarkStep) {
    sync_marks_.push_back({now, io});
    if (sync_marks_.size() > kSyncMarks) sync_marks_.erase(sync_marks_.begin());
  }
  for (;;) {
    if (sync_interrupt_.load()) return;
    const unsigned max = speed_max_.load() ? speed_max_.load() : kSystemSpeedMax;
    const unsigned min = speed_min_.load() ? speed_min_.load() : kSystemSpeedMin;
    const Mark& mark = sync_marks_.front();
    // currspeed as the kernel counts it: KiB since the mark over whole
    // seconds plus one.
    const auto since = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - mark.when).count();
    const uint64_t currspeed = (io - mark.io) / 2 / (static_cast<uint64_t>(since) + 1) + 1;
    if (currspeed <= min) return;
    // When the KiB done since the mark, at `max` KiB/s, are due.
    const auto due = mark.when + std::chrono::microseconds((io - mark.io) / 2 * 1'000'000 / max);
    if (Clock::now() < due) {
      sync_wake_.wait_until(lock, due);
      continue;
    }
    const uint64_t requests = io_requests_.load(std::memory_order_relaxed);
    const bool busy = requests != io_requests_seen_;
    io_requests_seen_ = requests;
    if (!busy) return;
    sync_wake_.wait_for(lock, kBusyYield);
  }
}

// A pass that reached sync_max waits until sync_max is raised; false when
// it was interrupted instead.
bool Array::sync_wait_below_max(uint64_t pos) {
  std::unique_lock lock(sync_wait_mutex_);
  sync_wake_.wait(lock, [&] { return sync_interrupt_.load() || pos < resync_max_.load(); });
  return !sync_interrupt_.load();
}

void Array::stop_sync_thread() {
  if (!sync_thread_.joinable()) return;
  {
    std::lock_guard wait_lock(sync_wait_mutex_);
    sync_interrupt_ = true;
  }
  sync_wake_.notify_all();
  reap_sync_thread(true);
}

// md_reap_sync_thread, once the thread has ended (`wait`: after telling it
// to): a finished recovery puts its members in sync, a finished resync
// leaves the array in sync; an unfinished one keeps its checkpoint.
void Array::reap_sync_thread(bool wait) {
  if (!sync_thread_.joinable() || (!wait && !sync_finished_.load())) return;
  sync_thread_.join();
  const Sync kind = sync_running_.load();
  const uint64_t done = curr_resync_completed_.load();
  const bool complete = done >= sync_total_.load() && !sync_failed_.load();
  md_log("md: %s: %s %s.", name_.c_str(), sync_description(kind), complete ? "done" : "interrupted");
  if (sync_failed_.load() && (kind == Sync::kResync || kind == Sync::kRecover)) sync_blocked_ = true;
  // A check or repair cut short resumes where it stopped; a pass that
  // completed forgets sync_min and sync_max.
  const bool requested = kind == Sync::kCheck || kind == Sync::kRepair;
  if (complete) {
    if (requested) resync_min_ = 0;
    resync_max_ = kMaxSector;
  } else if (requested) {
    resync_min_ = done & ~uint64_t{7};
  }
  {
    std::lock_guard sb_lock(sb_mutex_);
    if (kind == Sync::kResync) {
      if (complete) recovery_cp_ = kMaxSector;
      else if (done > recovery_cp_) recovery_cp_ = done;
    }
    if (kind == Sync::kRecover) {
      for (const auto& m : members_) {
        if (m->faulty || m->in_sync || m->raid_disk < 0 || m->recovery_restarted) continue;
        if (complete && !m->replacement) {
          pers_->disk_recovered(m->raid_disk);
          m->in_sync = true;
          m->recovery_offset = kMaxSector;
          // spare_active: the member is in sync, the array less degraded.
          sysfs_notify(*m, "state");
          sysfs_notify("degraded");
          m->saved_raid_disk = -1;
        } else if (done > m->recovery_offset) {
          m->recovery_offset = done;
        }
      }
    }
    if (kind == Sync::kResync || kind == Sync::kRecover) update_superblocks();
    // md_do_sync ends every pass with MD_SB_CHANGE_DEVS set: a check or
    // repair leaves its write for later (at the latest the stop).
    else sb_change_pending_ = true;
  }
  if (kind == Sync::kRecover && complete) replacements_done();
  replace_pairs_.clear();
  sync_bitmap_done(complete);
  sync_running_ = Sync::kNone;
  if (kind == Sync::kReshape && complete) finish_reshape();
  // md_reap_sync_thread: the pass is over.
  sysfs_notify("sync_completed");
  sysfs_notify("sync_action");
  md_new_event();
}

// The progress line of /proc/mdstat (status_resync): a bar of twenty, the
// pass, the per mille done, DONE/TOTAL in KiB, the time left and the speed.
std::string Array::mdstat_progress() const {
  const Sync running = sync_running_.load();
  if (!sync_thread_.joinable() || running == Sync::kNone) {
    return recovery_cp_ != kMaxSector ? "\tresync=PENDING" : "";
  }
  const uint64_t total = sync_total_.load();
  const uint64_t done = std::min(curr_resync_.load(), total);
  const uint64_t per_milli = (done >> 10) * 1000 / ((total >> 10) + 1);
  const int filled = static_cast<int>(per_milli / 50);
  std::string bar = "[" + std::string(static_cast<size_t>(filled), '=') + ">" +
                    std::string(static_cast<size_t>(20 - filled), '.') + "] ";
  const char* what = running == Sync::kReshape ? "reshape"
                     : running == Sync::kCheck  ? "check"
                     : running == Sync::kRecover ? "recovery"
                                                 : "resync";
  const Rate rate = sync_rate(sync_io_.load());
  const uint64_t seconds = rate.seconds, db = rate.sectors;
  const uint64_t left = (total - done) * seconds / std::max<uint64_t>(db, 1);
  char buf[160];
  std::snprintf(buf, sizeof buf, " %s =%3u.%u%% (%llu/%llu) finish=%llu.%llumin speed=%lluK/sec", what,
                static_cast<unsigned>(per_milli / 10), static_cast<unsigned>(per_milli % 10),
                static_cast<unsigned long long>(done / 2), static_cast<unsigned long long>(total / 2),
                static_cast<unsigned long long>(left / 60), static_cast<unsigned long long>(left % 60 / 6),
                static_cast<unsigned long long>(db / 2 / seconds));
  return bar + buf;
}

}  // namespace mdfs::core
