// The mddev's lifecycle and state machine: array_state, stopping, read-only
// and read-write switches, the md ioctls, and the data path's clean/active
// bookkeeping (md_write_start, md_write_end, safe mode).
#include "core/array.h"

#include <sys/sysmacros.h>

#include <algorithm>
#include <chrono>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/jiffies.h"
#include "core/parse.h"
#include "core/registry.h"

namespace mdfs::core {

namespace {

constexpr std::string_view kArrayStates[] = {
    "clear", "inactive", "suspended", "readonly", "read-auto", "clean",
    "active", "write-pending", "active-idle", "broken",
};

// How long a stop waits for RELEASEs of closes already made: FUSE sends
// RELEASE after close(2) has returned, where the kernel's md_release runs
// inside close. A holder that really keeps the array open gets EBUSY after it.
constexpr auto kCloseInFlightGrace = std::chrono::milliseconds(200);

}  // namespace

std::string_view to_string(ArrayState s) {
  auto i = static_cast<size_t>(s);
  return i < std::size(kArrayStates) ? kArrayStates[i] : "";
}

ArrayState parse_array_state(std::string_view word) {
  word = strip_newline(word);
  for (size_t i = 0; i < std::size(kArrayStates); ++i)
    if (kArrayStates[i] == word) return static_cast<ArrayState>(i);
  return ArrayState::kBad;
}

Array::Array(Registry& registry, std::string name, long minor, uint64_t id, Hold hold)
    : registry_(registry), name_(std::move(name)), minor_(minor), id_(id), hold_(hold) {}

Array::~Array() {
  if (sync_thread_.joinable()) {
    sync_interrupt_ = true;
    sync_wake_.notify_all();
    sync_thread_.join();
  }
}

void Array::update_configured() {
  configured_.store(raid_disks_ != 0 || !members_.empty() || ctime_ != 0);
}

void Array::sysfs_notify(std::string_view attr) const { registry_.sysfs_notify(id_, attr); }

void Array::sysfs_notify(const Member& member, std::string_view attr) const {
  registry_.sysfs_notify(id_, "dev-" + member.name() + "/" + std::string(attr));
}

void Array::md_new_event() const { registry_.md_new_event(); }

bool Array::running() const {
  std::lock_guard lock(mutex_);
  return pers_ != nullptr;
}

ArrayState Array::array_state() const {
  std::lock_guard lock(mutex_);
  if (pers_) {
    ArrayState st = ArrayState::kActive;
    switch (ro_) {
      case ReadOnly::kReadOnly: st = ArrayState::kReadonly; break;
      case ReadOnly::kAutoRead: st = ArrayState::kReadAuto; break;
      case ReadOnly::kReadWrite: st = in_sync_ ? ArrayState::kClean : ArrayState::kActive; break;
    }
    if (broken_ && st == ArrayState::kClean) st = ArrayState::kBroken;
    return st;
  }
  if (members_.empty() && raid_disks_ == 0 && dev_sectors_ == 0) return ArrayState::kClear;
  return ArrayState::kInactive;
}

Result<void> Array::store_array_state(std::string_view text) {
  ArrayState st = parse_array_state(text);
  std::lock_guard lock(mutex_);
  if (pers_ && (st == ArrayState::kActive || st == ArrayState::kClean) && ro_ != ReadOnly::kReadOnly) {
    // Toggling a writable array between clean and active: the kernel's fast
    // path, which answers without ending an UNTIL_IOCTL hold.
    (void)restart_array();
    if (st == ArrayState::kClean && !set_in_sync()) return err(EBUSY);
    sysfs_notify("array_state");
    return {};
  }
  Result<void> r = err(EINVAL);
  const ReadOnly old_ro = ro_;
  switch (st) {
    case ArrayState::kClear:
      r = do_md_stop(0, false);
      break;
    case ArrayState::kInactive:
      r = pers_ ? do_md_stop(2, false) : Result<void>{};
      break;
    case ArrayState::kReadonly:
      if (pers_) {
        r = md_set_readonly(false);
      } else {
        ro_ = ReadOnly::kReadOnly;
        r = do_md_run();
      }
      break;
    case ArrayState::kReadAuto:
      if (pers_) {
        if (ro_ == ReadOnly::kReadWrite) r = md_set_readonly(false);
        else if (ro_ == ReadOnly::kReadOnly) r = restart_array();
        if (r) ro_ = ReadOnly::kAutoRead;
      } else {
        ro_ = ReadOnly::kAutoRead;
        r = do_md_run();
      }
      break;
    case ArrayState::kClean:
      if (pers_) {
        r = restart_array();
        if (r && !set_in_sync()) r = err(EBUSY);
      }
      break;
    case ArrayState::kActive:
      if (pers_) {
        r = restart_array();
      } else {
        ro_ = ReadOnly::kReadWrite;
        r = do_md_run();
        if (r) md_check_recovery();  // a pass owed starts before the write returns
      }
      break;
    default:  // suspended, write-pending, active-idle, broken, garbage
      break;
  }
  if (!r) {
    if (!pers_) ro_ = old_ro;  // a start that failed leaves nothing changed
    return r;
  }
  Hold expected = Hold::kUntilIoctl;
  hold_.compare_exchange_strong(expected, Hold::kNone);
  update_configured();
  sysfs_notify("array_state");  // as array_state_store
  return {};
}

// Whether more than `allowed` openers keep the array open. open_mutex_ held.
bool Array::openers_beyond(int allowed) {
  std::unique_lock lock(open_mutex_, std::adopt_lock);
  released_.wait_for(lock, kCloseInFlightGrace, [&] { return openers_.load() <= allowed; });
  lock.release();
  return openers_.load() > allowed;
}

Result<void> Array::do_md_stop(int mode, bool caller_is_opener) {
  {
    std::lock_guard open_lock(open_mutex_);
    if (pers_ && openers_beyond(caller_is_opener ? 1 : 0)) return err(EBUSY);
    if (pers_) {
      stop_sync_thread();
      {
        std::unique_lock io_lock(pers_lock_);  // waits for requests in flight
        mark_clean_for_stop();
        pers_.reset();
        set_live_bitmap(nullptr);
        retired_.clear();
      }
      pers_type_ = nullptr;
      ro_ = ReadOnly::kReadWrite;
      sysfs_notify("array_state");
      md_new_event();
    }
  }
  if (mode == 0) {
    export_members();
    md_clean();
    Hold expected = Hold::kUntilStop;
    hold_.compare_exchange_strong(expected, Hold::kNone);
  }
  update_configured();
  return {};
}

// Forgets the configuration, as the kernel's md_clean after a final stop.
void Array::md_clean() {
  level_ = LEVEL_NONE;
  clevel_.clear();
  layout_ = 0;
  chunk_sectors_ = 0;
  raid_disks_ = 0;
  dev_sectors_ = 0;
  array_sectors_ = 0;
  size_limit_ = kMaxSector;
  external_size_ = false;
  persistent_ = false;
  major_version_ = 0;
  minor_version_ = 90;
  ctime_ = 0;
  utime_ = 0;
  events_ = 0;
  broken_ = false;
  resync_min_ = 0;
  resync_max_ = kMaxSector;
  set_name_.clear();
  recovery_cp_ = 0;
  safemode_delay_jiffies_ = 0;
  sync_frozen_ = false;
  sync_blocked_ = false;
  sync_requested_ = Sync::kNone;
  last_sync_ = Sync::kNone;
  resync_mismatches_ = 0;
  in_sync_ = false;
  uuid_ = {};
  bitmap_info_ = {};
  reshape_position_ = kMaxSector;
  new_level_ = LEVEL_NONE;
  new_layout_ = 0;
  new_chunk_sectors_ = 0;
  delta_disks_ = 0;
  reshape_backwards_ = false;
  read_only_reason_.clear();
  has_journal_ = journal_log_ = journal_write_back_ = false;
}

Result<void> Array::md_set_readonly(bool caller_is_opener) {
  std::lock_guard open_lock(open_mutex_);
  if (openers_beyond(caller_is_opener ? 1 : 0)) return err(EBUSY);
  if (pers_) {
    if (ro_ == ReadOnly::kReadOnly) return err(ENXIO);
    stop_sync_thread();
    {
      std::unique_lock io_lock(pers_lock_);  // __md_stop_writes: drain, then clean
      mark_clean_for_stop();
    }
    ro_ = ReadOnly::kReadOnly;
    sysfs_notify("array_state");
    if (bitmap_) bitmap_->set_writable(false);
  }
  return {};
}

Result<void> Array::restart_array() {
  if (members_.empty()) return err(ENXIO);
  if (!pers_) return err(EINVAL);
  if (ro_ == ReadOnly::kReadWrite) return err(EBUSY);
  // As restart_array with a read-only member: such an array stays read-only.
  if (!read_only_reason_.empty()) return err(EROFS);
  ro_ = ReadOnly::kReadWrite;
  sysfs_notify("array_state");
  if (bitmap_) bitmap_->set_writable(true);
  md_check_recovery();  // a resync or recovery owed starts now
  return {};
}

bool Array::set_in_sync() {
  std::lock_guard sb_lock(sb_mutex_);
  if (writes_in_flight_.load() > 0) return false;
  if (!in_sync_) {
    in_sync_ = true;
    ++safemode_generation_;
    update_superblocks();
    sysfs_notify("array_state");
  }
  return true;
}

Result<mdu_array_info_t> Array::get_array_info() const {
  std::lock_guard lock(mutex_);
  std::lock_guard sb_lock(sb_mutex_);
  if (raid_disks_ == 0) return err(ENODEV);
  mdu_array_info_t info{};
  info.major_version = major_version_;
  info.minor_version = minor_version_;
  info.patch_version = 0;
  info.ctime = static_cast<int>(ctime_);
  info.level = level_;
  info.size = static_cast<int>(std::min<uint64_t>(dev_sectors_ / 2, std::numeric_limits<int>::max()));
  info.not_persistent = !persistent_;
  info.raid_disks = raid_disks_;
  info.md_minor = static_cast<int>(minor_ < 0 ? 0 : minor_);
  for (const auto& m : members_) {
    ++info.nr_disks;
    if (m->faulty) ++info.failed_disks;
    else if (m->raid_disk >= 0 && m->in_sync) { ++info.active_disks; ++info.working_disks; }
    else if (m->journal) ++info.working_disks;  // the kernel counts a journal as working, not a spare
    else { ++info.spare_disks; ++info.working_disks; }
  }
  info.state = in_sync_ ? (1 << MD_SB_CLEAN) : 0;
  if (bitmap_) info.state |= 1 << MD_SB_BITMAP_PRESENT;
  info.utime = static_cast<int>(utime_);
  info.layout = layout_;
  info.chunk_size = static_cast<int>(chunk_sectors_ << 9);
  return info;
}

Result<mdu_disk_info_t> Array::get_disk_info(int number) const {
  std::lock_guard lock(mutex_);
  std::lock_guard sb_lock(sb_mutex_);
  if (raid_disks_ == 0) return err(ENODEV);
  mdu_disk_info_t info{};
  info.number = number;
  info.raid_disk = -1;
  info.state = 1 << MD_DISK_REMOVED;
  for (const auto& m : members_) {
    if (m->desc_nr != number) continue;
    info.major = kMemberMajor;
    info.minor = m->desc_nr;
    info.raid_disk = m->journal ? 0 : m->raid_disk;  // the kernel's journal rdev has raid_disk 0
    info.state = 0;
    if (m->faulty) info.state |= 1 << MD_DISK_FAULTY;
    else if (m->in_sync) info.state |= (1 << MD_DISK_ACTIVE) | (1 << MD_DISK_SYNC);
    // get_disk_info: the member flags too.
    if (m->journal) info.state |= 1 << MD_DISK_JOURNAL;
    if (m->write_mostly) info.state |= 1 << MD_DISK_WRITEMOSTLY;
    if (m->failfast) info.state |= 1 << MD_DISK_FAILFAST;
  }
  return info;
}

// The part of md_ioctl under the reconfig mutex: an UNTIL_IOCTL hold ends
// unless the answer is EINVAL. Without configuration only RUN_ARRAY and
// STOP_ARRAY get through (others answer ENODEV).
template <class F>
Result<void> Array::locked_ioctl(F&& body) {
  Result<void> r = body();
  if (r.error() != EINVAL) {
    Hold expected = Hold::kUntilIoctl;
    hold_.compare_exchange_strong(expected, Hold::kNone);
  }
  update_configured();
  return r;
}

Result<void> Array::ioctl_run_array() {
  std::lock_guard lock(mutex_);
  return locked_ioctl([&]() -> Result<void> {
    if (pers_) return err(EBUSY);
    auto r = do_md_run();
    // As do_md_run's md_wakeup_thread: a pass the array owes has started
    // when RUN_ARRAY returns, so a `--wait` right after it sees it.
    if (r) md_check_recovery();
    return r;
  });
}

Result<void> Array::ioctl_stop_array(bool read_only) {
  {
    // Before the locked section, as md_ioctl: another opener means EBUSY,
    // and MD_CLOSING keeps new opens out while the stop runs.
    std::lock_guard open_lock(open_mutex_);
    if (openers_beyond(1) || closing_) return err(EBUSY);
    closing_ = true;
  }
  Result<void> r;
  {
    std::lock_guard lock(mutex_);
    r = locked_ioctl([&]() -> Result<void> {
      if (!read_only) return do_md_stop(0, true);
      if (raid_disks_ == 0) return err(ENODEV);
      return md_set_readonly(true);
    });
  }
  std::lock_guard open_lock(open_mutex_);
  closing_ = false;
  return r;
}

Result<void> Array::ioctl_restart_array_rw() {
  std::lock_guard lock(mutex_);
  return locked_ioctl([&]() -> Result<void> {
    if (raid_disks_ == 0) return err(ENODEV);
    return restart_array();
  });
}

Result<void> Array::ioctl_set_disk_faulty(uint32_t dev) {
  // Answered before the locked section, as the kernel does (no hold change).
  std::shared_ptr<Member> target;
  {
    std::lock_guard lock(mutex_);
    for (const auto& m : members_)
      if (static_cast<uint32_t>(makedev(kMemberMajor, m->desc_nr)) == dev) target = m;
  }
  if (!target) return err(ENODEV);
  return store_member_state(*target, "faulty");
}

Result<void> Array::ioctl_unsupported() {
  std::lock_guard lock(mutex_);
  return locked_ioctl([&]() -> Result<void> {
    if (raid_disks_ == 0) return err(ENODEV);
    return err(EINVAL);
  });
}

Array::Io Array::io() const {
  io_requests_.fetch_add(1, std::memory_order_relaxed);
  Io io;
  io.array_ = this;
  io.lock_ = std::shared_lock(pers_lock_);
  io.pers_ = pers_;
  if (io.pers_) io.size_bytes_ = std::min(io.pers_->array_sectors(), size_limit_.load()) * raid::kSectorSize;
  return io;
}

bool Array::Io::meets_bad_block(std::span<const raid::Extent> extents) const {
  if (!array_ || !array_->bad_blocks_seen_.load(std::memory_order_acquire)) return false;
  // sb_mutex_: the member list, as the data path reads it; each member's
  // bb_mutex is taken under it (meets_bad_block).
  std::lock_guard sb_lock(array_->sb_mutex_);
  for (const raid::Extent& x : extents)
    for (const auto& m : array_->members_)
      if (m->fd() == x.fd && m->meets_bad_block(x.file_offset, x.length)) return true;
  return false;
}

int Array::read(uint64_t offset, std::span<std::byte> out) {
  auto io = this->io();
  if (!io || offset >= io.size_bytes()) return 0;
  const int e = io->read(offset, out);
  return e == raid::kBadBlock ? EIO : e;  // raid0 and linear have no other copy
}

Result<size_t> Array::write(uint64_t offset, std::span<const std::byte> in) {
  auto io = this->io();
  if (!io || offset >= io.size_bytes()) return err(ENOSPC);
  if (ro_ == ReadOnly::kReadOnly) return err(EROFS);
  if (broken_) return err(EIO);
  size_t n = std::min<uint64_t>(in.size(), io.size_bytes() - offset);
  md_write_start();
  int e = io->write(offset, in.first(n));
  md_write_end();
  if (e) return err(e);
  return n;
}

// As the kernel's md_write_start: a read-auto array becomes writable, and
// a clean one is marked active in every superblock before data is written.
void Array::md_write_start() {
  ++writes_in_flight_;
  if (ro_ == ReadOnly::kAutoRead || in_sync_) {
    std::lock_guard sb_lock(sb_mutex_);
    if (ro_ == ReadOnly::kAutoRead) {
      ro_ = ReadOnly::kReadWrite;
      if (Bitmap* bm = live_bitmap_.load()) bm->set_writable(true);
      wake_md_thread();  // as the kernel: a resync owed starts on the first write
    }
    if (in_sync_) {
      in_sync_ = false;
      update_superblocks();
    }
    sysfs_notify("array_state");  // read-auto or clean became active
  }
}

// The last write in flight arms the safe-mode timer: after safe_mode_delay
// without writes the array is marked clean again.
void Array::md_write_end() {
  if (--writes_in_flight_ > 0) return;
  std::lock_guard sb_lock(sb_mutex_);
  uint64_t generation = ++safemode_generation_;
  unsigned jiffies = safemode_delay_jiffies_;
  if (jiffies == 0) return;  // safe mode off: stays active until stopped
  auto timer = std::make_shared<boost::asio::steady_timer>(registry_.md_thread().context());
  timer->expires_after(std::chrono::milliseconds(jiffies * (1000 / kHz)));
  timer->async_wait([weak = weak_from_this(), timer, generation](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->safemode_fired(generation);
  });
  // The newest timer is the one that matters; an older one fires into a
  // stale generation. Cancelling the previous one keeps the md thread
  // from waiting on it.
  if (cancel_safemode_) cancel_safemode_();
  cancel_safemode_ = [&context = registry_.md_thread().context(), timer] {
    boost::asio::post(context, [timer] { timer->cancel(); });
  };
}

void Array::safemode_fired(uint64_t generation) {
  auto io = this->io();  // the array may have stopped meanwhile
  if (!io) return;
  std::lock_guard sb_lock(sb_mutex_);
  if (generation != safemode_generation_ || writes_in_flight_ > 0 || in_sync_) return;
  if (ro_ != ReadOnly::kReadWrite) return;
  in_sync_ = true;
  update_superblocks();
  sysfs_notify("array_state");
}

// Before the personality goes (stop, read-only): superblocks marked clean.
// pers_lock_ held exclusively: no request is in flight.
void Array::mark_clean_for_stop() {
  // Before sb_mutex_: a member whose sync (or behind write) fails is
  // failed through member_failed, which takes it. Writes behind land
  // first, and their bits with them (md_bitmap_wait_behind_writes).
  if (pers_) pers_->quiesce();
  if (pers_) pers_->sync();
  std::lock_guard sb_lock(sb_mutex_);
  ++safemode_generation_;
  // As __md_stop_writes' del_timer_sync: no safe-mode timer outlives the
  // writes it was for (nor keeps the md thread busy at unmount).
  if (cancel_safemode_) {
    cancel_safemode_();
    cancel_safemode_ = nullptr;
  }
  if (ro_ != ReadOnly::kReadWrite) return;  // nothing was written
  // __md_stop_writes: the superblocks are written (marked clean) only when
  // the array is active or a change is pending; a clean array the
  // superblocks already describe is left as it is. mdfs stays conservative
  // and writes for any array that is not whole and in sync (a failed or
  // missing member, a resync owed, a reshape), as it always did.
  const bool whole = degraded_locked() == 0 && !broken_ && recovery_cp_ == kMaxSector &&
                     reshape_position_ == kMaxSector &&
                     std::none_of(members_.begin(), members_.end(), [](const auto& m) { return m->faulty; });
  const bool write = !in_sync_ || !whole || sb_change_pending_ || bad_blocks_pending();
  if (!in_sync_ && recovery_cp_ == kMaxSector) in_sync_ = true;
  bitmap_flush_for_stop();
  if (write) update_superblocks();
}

// A member's bad block log changed since it was last written (bb_store
// records ranges that reach the member with the next superblock write).
bool Array::bad_blocks_pending() const {
  for (const auto& m : members_) {
    std::lock_guard bb_lock(m->bb_mutex);
    if (m->bad_blocks.changed) return true;
  }
  return false;
}

int Array::sync() {
  auto io = this->io();
  return io ? io->sync() : 0;
}

void Array::shutdown() {
  std::lock_guard lock(mutex_);
  stop_sync_thread();
  std::unique_lock io_lock(pers_lock_);
  if (!pers_) return;
  mark_clean_for_stop();
  pers_.reset();
  set_live_bitmap(nullptr);
  pers_type_ = nullptr;
}

}  // namespace mdfs::core
