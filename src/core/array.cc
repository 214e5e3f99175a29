#include "core/array.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/parse.h"
#include "core/registry.h"

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

Array::~Array() = default;

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
      std::unique_lock io_lock(pers_lock_);  // waits for requests in flight
      pers_.reset();
      pers_type_ = nullptr;
      ro_ = ReadOnly::kReadWrite;
    }
  }
  if (mode == 0) {
    members_.clear();
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
  recovery_cp_ = 0;
  safemode_delay_jiffies_ = 0;
  in_sync_ = false;
  uuid_ = {};
}

Result<void> Array::md_set_readonly(bool caller_is_opener) {
  std::lock_guard open_lock(open_mutex_);
  if (openers_beyond(caller_is_opener ? 1 : 0)) return err(EBUSY);
  if (pers_) {
    if (ro_ == ReadOnly::kReadOnly) return err(ENXIO);
    ro_ = ReadOnly::kReadOnly;
  }
  return {};
}

Result<void> Array::restart_array() {
  if (members_.empty()) return err(ENXIO);
  if (!pers_) return err(EINVAL);
  if (ro_ == ReadOnly::kReadWrite) return err(EBUSY);
  ro_ = ReadOnly::kReadWrite;
  return {};
}

bool Array::set_in_sync() {
  if (writes_in_flight_.load() > 0) return false;
  in_sync_ = true;
  return true;
}

Result<void> Array::do_md_run() {
  if (members_.empty()) return err(EINVAL);
  return err(EINVAL);
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
  } else {
    out += "\n       ";
  }
  out += "\n";
  return out;
}

Result<mdu_array_info_t> Array::get_array_info() const {
  std::lock_guard lock(mutex_);
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
  info.layout = layout_;
  info.chunk_size = static_cast<int>(chunk_sectors_ << 9);
  return info;
}

Result<mdu_disk_info_t> Array::get_disk_info(int number) const {
  std::lock_guard lock(mutex_);
  if (raid_disks_ == 0) return err(ENODEV);
  mdu_disk_info_t info{};
  info.number = number;
  info.raid_disk = -1;
  info.state = 1 << MD_DISK_REMOVED;
  for (const auto& m : members_) {
    if (m->desc_nr != number) continue;
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
  (void)dev;
  std::lock_guard lock(mutex_);
  return err(ENODEV);
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
  size_t n = std::min<uint64_t>(in.size(), io.size_bytes() - offset);
  if (int e = io->write(offset, in.first(n))) return err(e);
  return n;
}

int Array::sync() {
  auto io = this->io();
  return io ? io->sync() : 0;
}

void Array::shutdown() {
  std::lock_guard lock(mutex_);
  std::unique_lock io_lock(pers_lock_);
  pers_.reset();
}

void Array::member_failed(int role, int error) {
  (void)role;
  (void)error;
}

}  // namespace mdfs::core
