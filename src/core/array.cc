#include "core/array.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>
#include <set>

#include <boost/asio/steady_timer.hpp>
#include <sys/sysmacros.h>

#include "core/parse.h"
#include "core/registry.h"
#include "core/superblock.h"

namespace mdfs::core {

namespace {

constexpr std::string_view kArrayStates[] = {
    "clear", "inactive", "suspended", "readonly", "read-auto", "clean",
    "active", "write-pending", "active-idle", "broken",
};

// The kernel counts time in jiffies; Debian's kernels run at HZ=250, which
// is why a running array's default safe_mode_delay reads 0.204 (51 jiffies).
constexpr unsigned kHz = 250;
constexpr unsigned kDefaultSafemodeJiffies = 200 * kHz / 1000 + 1;

// How long a stop waits for RELEASEs of closes already made: FUSE sends
// RELEASE after close(2) has returned, where the kernel's md_release runs
// inside close. A holder that really keeps the array open gets EBUSY after it.
constexpr auto kCloseInFlightGrace = std::chrono::milliseconds(200);

// strict_strtoul_scaled(buf, 3): "S[.mmm]" in thousandths; extra decimals ignored.
Result<unsigned long> parse_scaled_thousandths(std::string_view text) {
  unsigned long value = 0;
  int decimals = -1;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.' && decimals < 0) {
      decimals = 0;
    } else if (c >= '0' && c <= '9') {
      if (decimals < 3) {
        value = value * 10 + static_cast<unsigned long>(c - '0');
        if (decimals >= 0) ++decimals;
      }
    } else {
      break;
    }
  }
  if (i < text.size() && text[i] == '\n') ++i;
  if (i != text.size()) return err(EINVAL);
  for (int d = std::max(decimals, 0); d < 3; ++d) value *= 10;
  return value;
}

// A size in KiB, as strict_blocks_to_sectors: returns sectors.
Result<uint64_t> parse_blocks_to_sectors(std::string_view text) {
  auto kib = parse_kstrto<uint64_t>(text);
  if (!kib || *kib > (kMaxSector >> 1)) return err(EINVAL);
  return *kib * 2;
}

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
        retired_.clear();
      }
      pers_type_ = nullptr;
      ro_ = ReadOnly::kReadWrite;
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
  bitmap_.reset();
  bitmap_offset_ = 0;
  reshape_position_ = kMaxSector;
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
  }
  return {};
}

Result<void> Array::restart_array() {
  if (members_.empty()) return err(ENXIO);
  if (!pers_) return err(EINVAL);
  if (ro_ == ReadOnly::kReadWrite) return err(EBUSY);
  ro_ = ReadOnly::kReadWrite;
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
  }
  return true;
}

int Array::running_level() const {
  std::lock_guard lock(mutex_);
  return pers_type_ ? pers_type_->level : LEVEL_NONE;
}

std::string Array::level_name() const {
  std::lock_guard lock(mutex_);
  if (pers_type_) return std::string(pers_type_->name);
  if (auto* p = raid::find_personality(level_)) return std::string(p->name);
  return clevel_;
}

std::string Array::level_text() const {
  std::lock_guard lock(mutex_);
  if (pers_type_) return std::string(pers_type_->name) + "\n";
  if (!clevel_.empty()) return clevel_ + "\n";
  if (level_ != LEVEL_NONE) return std::to_string(level_) + "\n";
  return "";
}

Result<void> Array::store_level(std::string_view text) {
  if (text.empty()) return {};
  if (text.size() >= 16) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (pers_) return ro_ == ReadOnly::kReadWrite ? err(EINVAL) : err(EROFS);  // no takeover
  clevel_ = std::string(strip_newline(text));
  level_ = LEVEL_NONE;
  return {};
}

std::string Array::raid_disks_text() const {
  std::lock_guard lock(mutex_);
  return raid_disks_ ? std::to_string(raid_disks_) + "\n" : "";
}

Result<void> Array::store_raid_disks(std::string_view text) {
  auto n = parse_kstrto<unsigned>(text);
  if (!n) return err(n.error());
  if (*n > static_cast<unsigned>(std::numeric_limits<int>::max())) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);  // no reshape
  raid_disks_ = static_cast<int>(*n);
  update_configured();
  return {};
}

std::string Array::chunk_size_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(uint64_t{chunk_sectors_} << 9) + "\n";
}

Result<void> Array::store_chunk_size(std::string_view text) {
  auto n = parse_kstrto<unsigned long>(text);
  if (!n) return err(n.error());
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);
  chunk_sectors_ = static_cast<uint32_t>(*n >> 9);
  return {};
}

std::string Array::layout_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(layout_) + "\n";
}

Result<void> Array::store_layout(std::string_view text) {
  auto n = parse_kstrto<unsigned>(text);
  if (!n) return err(n.error());
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);
  layout_ = static_cast<int>(*n);
  return {};
}

std::string Array::metadata_version_text() const {
  std::lock_guard lock(mutex_);
  if (!persistent_) return "none\n";
  return std::to_string(major_version_) + "." + std::to_string(minor_version_) + "\n";
}

Result<void> Array::store_metadata_version(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (!members_.empty()) return err(EBUSY);
  if (cmd_match(text, "none")) {
    persistent_ = false;
    major_version_ = 0;
    minor_version_ = 90;
    return {};
  }
  text = strip_newline(text);
  auto dot = text.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == text.size()) return err(EINVAL);
  auto major = parse_kstrto<unsigned>(text.substr(0, dot));
  auto minor = parse_kstrto<unsigned>(text.substr(dot + 1));
  if (!major || !minor) return err(EINVAL);
  if (*major > 1) return err(ENOENT);  // no such superblock type
  major_version_ = static_cast<int>(*major);
  minor_version_ = static_cast<int>(*minor);
  persistent_ = true;
  return {};
}

std::string Array::component_size_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(dev_sectors_ / 2) + "\n";
}

Result<void> Array::store_component_size(std::string_view text) {
  auto sectors = parse_blocks_to_sectors(text);
  if (!sectors) return err(sectors.error());
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);  // no resize of a running array
  if (dev_sectors_ != 0 && dev_sectors_ <= *sectors) return err(ENOSPC);
  dev_sectors_ = *sectors;
  return {};
}

std::string Array::array_size_text() const {
  std::lock_guard lock(mutex_);
  if (external_size_) return std::to_string(array_sectors_ / 2) + "\n";
  return "default\n";
}

Result<void> Array::store_array_size(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (strip_newline(text).starts_with("default")) {
    external_size_ = false;
    return {};
  }
  auto sectors = parse_blocks_to_sectors(text);
  if (!sectors) return err(EINVAL);
  if (pers_) return err(EBUSY);
  array_sectors_ = *sectors;
  external_size_ = true;
  return {};
}

std::string Array::resync_start_text() const {
  std::lock_guard lock(mutex_);
  if (recovery_cp_ == kMaxSector) return "none\n";
  return std::to_string(recovery_cp_) + "\n";
}

Result<void> Array::store_resync_start(std::string_view text) {
  uint64_t n = kMaxSector;
  if (!cmd_match(text, "none")) {
    auto v = parse_kstrto<uint64_t>(text);
    if (!v) return err(v.error());
    n = *v;
  }
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);
  recovery_cp_ = n;
  return {};
}

std::string Array::safe_mode_delay_text() const {
  std::lock_guard lock(mutex_);
  unsigned msec = safemode_delay_jiffies_ * (1000 / kHz);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%u.%03u\n", msec / 1000, msec % 1000);
  return buf;
}

Result<void> Array::store_safe_mode_delay(std::string_view text) {
  auto msec = parse_scaled_thousandths(text);
  if (!msec || *msec > std::numeric_limits<unsigned>::max() / kHz) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (*msec == 0) {
    safemode_delay_jiffies_ = 0;
  } else {
    safemode_delay_jiffies_ = std::max<unsigned>(1, static_cast<unsigned>(*msec * kHz / 1000));
  }
  return {};
}

std::string Array::fail_last_dev_text() const {
  std::lock_guard lock(mutex_);
  return fail_last_dev_ ? "1\n" : "0\n";
}

Result<void> Array::store_fail_last_dev(std::string_view text) {
  auto v = parse_kstrtobool(text);
  if (!v) return err(v.error());
  std::lock_guard lock(mutex_);
  fail_last_dev_ = *v;
  return {};
}

std::string Array::max_read_errors_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(max_read_errors_) + "\n";
}

Result<void> Array::store_max_read_errors(std::string_view text) {
  auto n = parse_kstrto<unsigned>(text);
  if (!n) return err(n.error());
  if (*n > static_cast<unsigned>(std::numeric_limits<int>::max())) return err(EINVAL);
  std::lock_guard lock(mutex_);
  max_read_errors_ = *n;
  return {};
}

std::string Array::reshape_direction_text() const {
  std::lock_guard lock(mutex_);
  return reshape_backwards_ ? "backwards\n" : "forwards\n";
}

Result<void> Array::store_reshape_direction(std::string_view text) {
  bool backwards = false;
  if (cmd_match(text, "backwards")) backwards = true;
  else if (!cmd_match(text, "forwards")) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);
  reshape_backwards_ = backwards;
  return {};
}

std::string Array::reshape_position_text() const {
  std::lock_guard lock(mutex_);
  if (reshape_position_ == kMaxSector) return "none\n";
  return std::to_string(reshape_position_) + "\n";
}

Result<void> Array::store_reshape_position(std::string_view text) {
  uint64_t position = kMaxSector;
  if (!cmd_match(text, "none")) {
    auto v = parse_kstrto<uint64_t>(text);
    if (!v) return err(v.error());
    position = *v;
  }
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);
  reshape_position_ = position;
  return {};
}

std::string Array::uuid_text() const {
  std::lock_guard lock(mutex_);
  char buf[40];
  const auto& u = uuid_;
  std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x\n",
                u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12],
                u[13], u[14], u[15]);
  return buf;
}

std::string Array::consistency_policy_text() const {
  std::lock_guard lock(mutex_);
  if (!pers_type_) return "unknown\n";
  if (bitmap_) return "bitmap\n";
  return pers_type_->level == 0 || pers_type_->level == LEVEL_LINEAR ? "none\n" : "resync\n";
}

std::string Array::serialize_policy_text() const {
  std::lock_guard lock(mutex_);
  return pers_type_ && pers_type_->level == 1 ? "0\n" : "n/a\n";
}

int Array::degraded() const {
  auto io = this->io();
  return io ? io->degraded() : 0;
}

bool Array::read_only_disk() const {
  std::lock_guard lock(mutex_);
  return pers_ && ro_ == ReadOnly::kReadOnly;
}

uint64_t Array::size_bytes() const { return io().size_bytes(); }

std::string Array::mdstat_entry() const {
  std::lock_guard lock(mutex_);
  std::lock_guard sb_lock(sb_mutex_);
  if (!pers_ && raid_disks_ == 0 && members_.empty()) return "";
  std::string out = name_ + " : " + (pers_ ? "active" : "inactive");
  if (pers_) {
    if (ro_ == ReadOnly::kReadOnly) out += " (read-only)";
    if (ro_ == ReadOnly::kAutoRead) out += " (auto-read-only)";
    out += " ";
    out += pers_type_->name;
  }
  uint64_t sectors = 0;
  for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
    const Member& m = **it;
    out += " " + m.name() + "[" + std::to_string(m.desc_nr) + "]";
    if (m.faulty) {
      out += "(F)";
      continue;
    }
    if (m.raid_disk < 0) out += "(S)";
    sectors += m.sectors;
  }
  if (!members_.empty()) out += "\n      " + std::to_string((pers_ ? array_sectors_ : sectors) / 2) + " blocks";
  if (persistent_ && !(major_version_ == 0 && minor_version_ == 90))
    out += " super " + std::to_string(major_version_) + "." + std::to_string(minor_version_);
  else if (!persistent_)
    out += " super non-persistent";
  if (pers_) {
    out += pers_->mdstat_status();
    out += "\n      ";
    if (std::string progress = mdstat_progress(); !progress.empty()) out += progress + "\n      ";
  } else {
    out += "\n       ";
  }
  out += "\n";
  return out;
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
    info.raid_disk = m->raid_disk;
    info.state = 0;
    if (m->faulty) info.state |= 1 << MD_DISK_FAULTY;
    else if (m->in_sync) info.state |= (1 << MD_DISK_ACTIVE) | (1 << MD_DISK_SYNC);
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
    return do_md_run();
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
  Io io;
  io.lock_ = std::shared_lock(pers_lock_);
  io.pers_ = pers_;
  if (io.pers_) io.size_bytes_ = io.pers_->array_sectors() * raid::kSectorSize;
  return io;
}

int Array::read(uint64_t offset, std::span<std::byte> out) {
  auto io = this->io();
  if (!io || offset >= io.size_bytes()) return 0;
  return io->read(offset, out);
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
      wake_md_thread();  // as the kernel: a resync owed starts on the first write
    }
    if (in_sync_) {
      in_sync_ = false;
      update_superblocks();
    }
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
}

void Array::safemode_fired(uint64_t generation) {
  auto io = this->io();  // the array may have stopped meanwhile
  if (!io) return;
  std::lock_guard sb_lock(sb_mutex_);
  if (generation != safemode_generation_ || writes_in_flight_ > 0 || in_sync_) return;
  if (ro_ != ReadOnly::kReadWrite) return;
  in_sync_ = true;
  update_superblocks();
}

// Before the personality goes (stop, read-only): superblocks marked clean.
// pers_lock_ held exclusively: no request is in flight.
void Array::mark_clean_for_stop() {
  std::lock_guard sb_lock(sb_mutex_);
  ++safemode_generation_;
  if (pers_) pers_->sync();
  if (ro_ != ReadOnly::kReadWrite) return;  // nothing was written
  if (!in_sync_ && recovery_cp_ == kMaxSector) in_sync_ = true;
  update_superblocks();
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
  pers_type_ = nullptr;
}

// ---- starting an array (do_md_run) ----

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

// mdadm's set_name: "homehost:name", name being what follows md_ (or the
// number of mdN).
std::string default_set_name(const std::string& array_name) {
  char host[64] = {};
  if (gethostname(host, sizeof host - 1) != 0 || !host[0]) std::snprintf(host, sizeof host, "localhost");
  std::string name = array_name.starts_with("md_") ? array_name.substr(3) : array_name.substr(2);
  return std::string(host).substr(0, 31 - std::min<size_t>(name.size(), 30)) + ":" + name;
}

}  // namespace

// Starts the array: from its members' superblocks when they have them (the
// freshest decides, stale members are left out), else as a new array with
// the configuration written through sysfs, whose superblocks mdfs writes.
// Anything wrong: EINVAL, and nothing is changed or written.
Result<void> Array::do_md_run() {
  if (members_.empty()) return err(EINVAL);
  if (reshape_position_ != kMaxSector) return err(EINVAL);
  const format::SuperInfo* freshest = nullptr;
  for (const auto& m : members_)
    if (m->super && (!freshest || m->super->events > freshest->events)) freshest = &*m->super;
  const bool creating = freshest == nullptr;

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
  if (!type || raid_disks <= 0) return err(EINVAL);
  if (!creating && type->level != freshest->level) return err(EINVAL);

  struct Plan {
    Member* member;
    int role;
    bool in_sync;
    uint64_t data_offset, sectors, sb_offset;
    bool kicked;
  };
  std::vector<Plan> plans;
  std::set<int> taken;
  for (const auto& m : members_) {
    Plan p{m.get(), -1, false, m->data_offset, m->sectors, m->sb_offset, false};
    if (m->super) {
      const auto& sb = *m->super;
      if (sb.events < freshest->events || sb.role == format::kRoleFaulty) {
        p.kicked = true;  // "kicking non-fresh member from array"
      } else {
        int role = m->slot_set ? m->raid_disk : (sb.role < raid_disks ? static_cast<int>(sb.role) : -1);
        p.role = role;
        p.in_sync = role >= 0 && sb.recovery_offset == kMaxSector;
        if (!m->offset_set) p.data_offset = sb.data_offset;
        if (!m->size_set) p.sectors = sb.data_size;
        p.sb_offset = sb.super_offset;
      }
    } else {
      std::optional<uint64_t> offset;
      if (m->offset_set) offset = m->data_offset;
      superblock::Placement where{0, offset.value_or(0), m->file_sectors() - offset.value_or(0)};
      if (persistent_) {
        auto placed = superblock::place(major_version_, minor_version_, m->file_sectors(), offset);
        if (!placed) return err(EINVAL);
        where = *placed;
      }
      p.data_offset = where.data_offset;
      p.sb_offset = where.sb_offset;
      p.sectors = m->size_set ? m->sectors : where.data_size;
      if (p.data_offset + p.sectors > m->file_sectors()) return err(EINVAL);
      if (creating && m->slot_set) p.role = m->raid_disk;
      p.in_sync = creating;
    }
    if (p.role >= raid_disks) return err(EINVAL);
    if (p.role >= 0 && !taken.insert(p.role).second) return err(EINVAL);
    plans.push_back(p);
  }
  if (creating) {  // members without a slot fill the free roles in the order they were added
    int next = 0;
    for (auto& p : plans) {
      if (p.role >= 0) continue;
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
  g.member_sectors.assign(static_cast<size_t>(raid_disks), 0);
  std::vector<raid::Disk*> disks(static_cast<size_t>(raid_disks), nullptr);
  int working = 0;
  bool all_writable = true;
  for (const auto& p : plans) {
    if (p.kicked || p.role < 0 || !p.in_sync) continue;
    g.member_sectors[static_cast<size_t>(p.role)] = p.sectors;
    disks[static_cast<size_t>(p.role)] = p.member;
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
  auto sectors = type->array_sectors(g);
  if (!sectors) return err(EINVAL);
  if (working == 0 || raid_disks - working > type->max_degraded(g)) return err(EINVAL);
  if (!all_writable && ro_ != ReadOnly::kReadOnly) return err(EROFS);

  // The plan holds: apply it, start the personality, write superblocks.
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t>> saved;
  for (const auto& p : plans) {
    saved.emplace_back(p.member->data_offset, p.member->sectors, p.member->sb_offset);
    p.member->data_offset = p.data_offset;
    p.member->sectors = p.sectors;
    p.member->sb_offset = p.sb_offset;
  }
  auto pers = type->run(g, disks, *this);
  if (!pers) {
    for (size_t i = 0; i < plans.size(); ++i)
      std::tie(plans[i].member->data_offset, plans[i].member->sectors, plans[i].member->sb_offset) = saved[i];
    return err(EINVAL);
  }
  std::lock_guard sb_lock(sb_mutex_);
  for (const auto& p : plans) {
    p.member->raid_disk = p.kicked ? -1 : p.role;
    p.member->in_sync = p.in_sync && !p.kicked;
    p.member->faulty = false;
    // A member whose recovery was interrupted resumes it from its offset.
    p.member->recovery_offset = kMaxSector;
    if (!p.kicked && p.role >= 0 && !p.in_sync && p.member->super) p.member->recovery_offset = p.member->super->recovery_offset;
    if (p.kicked) p.member->release_name();
  }
  std::erase_if(members_, [&](const auto& m) {
    return std::any_of(plans.begin(), plans.end(), [&](const Plan& p) { return p.kicked && p.member == m.get(); });
  });
  level_ = type->level;
  clevel_.clear();
  layout_ = layout;
  chunk_sectors_ = chunk;
  raid_disks_ = raid_disks;
  if (creating) {
    uuid_ = superblock::random_uuid();
    ctime_ = static_cast<int64_t>(std::time(nullptr));
    events_ = 0;
    recovery_cp_ = kMaxSector;  // members taken as consistent (mdadm --assume-clean)
    set_name_ = default_set_name(name_);
    // Striping without redundancy keeps no component size (as mdadm writes).
    dev_sectors_ = type->level == 0 || type->level == LEVEL_LINEAR ? 0 : g.dev_sectors;
  } else {
    uuid_ = freshest->uuid;
    ctime_ = static_cast<int64_t>(freshest->ctime);
    events_ = freshest->events;
    recovery_cp_ = freshest->resync_offset;
    set_name_ = freshest->name;
    dev_sectors_ = freshest->size;
    bitmap_ = freshest->bitmap;
    bitmap_offset_ = freshest->bitmap ? freshest->bitmap_offset : 0;
  }
  if (!external_size_) array_sectors_ = *sectors;
  pers_type_ = type;
  // As md_run: clean until the first write; a resync owed stays recorded
  // in resync_offset until the sync thread has done it.
  in_sync_ = true;
  safemode_delay_jiffies_ = kDefaultSafemodeJiffies;
  {
    std::unique_lock io_lock(pers_lock_);
    pers_ = std::shared_ptr<raid::Personality>(std::move(*pers));
  }
  if (ro_ != ReadOnly::kReadOnly) update_superblocks();
  update_configured();
  wake_md_thread();
  return {};
}

// md_update_sb. Events count every change, except that a return to clean
// right after the switch to dirty undoes that switch's count, as the kernel
// does for a pure clean/dirty toggle.
int Array::update_superblocks() {
  if (!persistent_ || members_.empty()) return 0;
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
  info.clean = in_sync_ && recovery_cp_ == kMaxSector;
  info.resync_offset = in_sync_ ? recovery_cp_.load() : 0;
  info.md_minor = minor_ < 0 ? 0 : static_cast<int>(minor_);
  info.bitmap = bitmap_;
  info.bitmap_offset = bitmap_offset_;
  int max_desc = 0;
  for (const auto& m : members_) max_desc = std::max(max_desc, m->desc_nr + 1);
  info.roles.assign(static_cast<size_t>(max_desc), superblock::kRoleSpare);
  info.recovering.assign(static_cast<size_t>(max_desc), false);
  for (const auto& m : members_) {
    uint16_t role = superblock::kRoleSpare;
    // As super_1_sync: a member being recovered is listed in its role.
    if (m->faulty) role = superblock::kRoleFaulty;
    else if (m->raid_disk >= 0) role = static_cast<uint16_t>(m->raid_disk);
    info.roles[static_cast<size_t>(m->desc_nr)] = role;
    info.recovering[static_cast<size_t>(m->desc_nr)] = !m->faulty && m->raid_disk >= 0 && !m->in_sync;
  }
  int first_error = 0;
  for (const auto& m : members_) {
    if (m->faulty) continue;
    if (int e = superblock::write(*m, info); e && !first_error) first_error = e;
  }
  return first_error;
}

// ---- members ----

Result<void> Array::store_new_dev(std::string_view text) {
  std::string name(strip_newline(text));
  std::lock_guard lock(mutex_);
  auto file = registry_.shelf().claim(name);
  if (!file) return err(file.error());
  auto member = std::make_shared<Member>(registry_.shelf(), name, std::move(*file));
  if (persistent_) {
    std::string why;
    member->super = superblock::load(*member, major_version_, minor_version_, &why);
    // As the kernel's load_super against the first member: another array's
    // member cannot join.
    for (const auto& other : members_)
      if (member->super && other->super && member->super->uuid != other->super->uuid) return err(EINVAL);
  }
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
    member->data_offset = member->super->data_offset;
    member->sectors = member->super->data_size;
    member->sb_offset = member->super->super_offset;
  } else if (persistent_) {
    // A blank member: where mdadm would put its data (mdstat counts it).
    if (auto where = superblock::place(major_version_, minor_version_, member->file_sectors(), std::nullopt)) {
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
  for (const auto& m : members_)
    if (m->raid_disk >= 0 && !m->faulty) out.emplace_back(m->raid_disk, "dev-" + m->name());
  std::sort(out.begin(), out.end());
  return out;
}

std::string Array::member_state_text(const Member& m) const {
  std::lock_guard lock(mutex_);
  std::lock_guard sb_lock(sb_mutex_);
  std::vector<std::string> flags;
  if (m.faulty) flags.push_back("faulty");
  else if (m.in_sync && m.raid_disk >= 0) flags.push_back("in_sync");
  if (m.write_mostly) flags.push_back("write_mostly");
  if (!m.faulty && !m.in_sync && pers_) flags.push_back("spare");
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
    if (pers_ && m.raid_disk >= 0) pers_->fail(m.raid_disk);
    m.faulty = true;
    m.in_sync = false;
    if (pers_) {
      update_superblocks();
      sb_lock.unlock();
      // A recovery onto this member ends; it leaves its role.
      if (sync_running_.load() == Sync::kRecover) stop_sync_thread();
      md_check_recovery();
    }
    if (pers_ && broken_) return err(EBUSY);
    return {};
  }
  if (cmd_match(text, "remove")) {
    if (pers_ && m.raid_disk >= 0 && !m.faulty) return err(EBUSY);
    auto it = std::find_if(members_.begin(), members_.end(), [&](const auto& p) { return p.get() == &m; });
    if (it == members_.end()) return err(ENOENT);
    (*it)->release_name();
    if (pers_) retired_.push_back(*it);
    members_.erase(it);
    update_configured();
    if (pers_) update_superblocks();
    return {};
  }
  if (cmd_match(text, "writemostly")) {
    m.write_mostly = true;
    return {};
  }
  if (cmd_match(text, "-writemostly")) {
    m.write_mostly = false;
    return {};
  }
  if (cmd_match(text, "insync")) {
    if (pers_) return err(EINVAL);
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
  if (pers_) return err(EBUSY);  // no hot add into a running array
  if (slot >= 0 && raid_disks_ > 0 && slot >= raid_disks_) return err(ENOSPC);
  for (const auto& other : members_)
    if (other.get() != &m && slot >= 0 && other->raid_disk == slot) return err(EBUSY);
  m.raid_disk = slot;
  m.slot_set = slot >= 0;
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

std::string Array::member_recovery_start_text(const Member& m) const {
  std::lock_guard lock(mutex_);
  if (m.faulty) return "0\n";
  if (m.recovery_offset == kMaxSector || m.in_sync) return "none\n";
  return std::to_string(m.recovery_offset) + "\n";
}


std::optional<format::BitmapSuper> Array::bitmap() const {
  std::lock_guard lock(mutex_);
  return pers_ ? bitmap_ : std::nullopt;
}

int64_t Array::bitmap_offset() const {
  std::lock_guard lock(mutex_);
  return bitmap_offset_;
}

void Array::member_failed(int role, int error) {
  (void)error;
  {
    std::lock_guard sb_lock(sb_mutex_);
    for (const auto& m : members_) {
      if (m->raid_disk != role || m->faulty) continue;
      m->faulty = true;
      m->in_sync = false;
      ++m->errors;
    }
    update_superblocks();
  }
  wake_md_thread();  // the member leaves its role; a spare may take it
}

}  // namespace mdfs::core
