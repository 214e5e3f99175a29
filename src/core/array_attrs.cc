// The array's configuration attributes under sys/block/<name>/md/ (the
// kernel's md_sysfs_attrs: level, raid_disks, chunk_size, ... shows and
// stores), /proc/mdstat's entry and the GET_*_INFO ioctls' answers.
#include <cstdio>
#include <limits>

#include "core/array.h"
#include "core/jiffies.h"
#include "core/parse.h"

namespace mdfs::core {

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
  if (pers_) return takeover(text);  // array_takeover.cc
  clevel_ = std::string(strip_newline(text));
  level_ = LEVEL_NONE;
  return {};
}

std::string Array::raid_disks_text() const {
  std::lock_guard lock(mutex_);
  if (!raid_disks_) return "";
  // raid_disks_show mid-reshape: "new (old)".
  if (reshape_position_ != kMaxSector && delta_disks_ != 0)
    return std::to_string(raid_disks_) + " (" + std::to_string(raid_disks_ - delta_disks_) + ")\n";
  return std::to_string(raid_disks_) + "\n";
}

Result<void> Array::store_raid_disks(std::string_view text) {
  auto n = parse_kstrto<unsigned>(text);
  if (!n) return err(n.error());
  if (*n > static_cast<unsigned>(std::numeric_limits<int>::max())) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (pers_) return update_raid_disks(static_cast<int>(*n));
  raid_disks_ = static_cast<int>(*n);
  update_configured();
  return {};
}

std::string Array::chunk_size_text() const {
  std::lock_guard lock(mutex_);
  if (reshape_position_ != kMaxSector && chunk_sectors_ != new_chunk_sectors_)
    return std::to_string(uint64_t{new_chunk_sectors_} << 9) + " (" + std::to_string(uint64_t{chunk_sectors_} << 9) + ")\n";
  return std::to_string(uint64_t{chunk_sectors_} << 9) + "\n";
}

Result<void> Array::store_chunk_size(std::string_view text) {
  auto n = parse_kstrto<unsigned long>(text);
  if (!n) return err(n.error());
  std::lock_guard lock(mutex_);
  if (pers_) return store_new_shape(static_cast<uint32_t>(*n >> 9), std::nullopt);
  chunk_sectors_ = static_cast<uint32_t>(*n >> 9);
  return {};
}

std::string Array::stripe_cache_size_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(stripe_cache_size_.load()) + "\n";
}

std::string Array::stripe_cache_active_text() const {
  std::shared_lock lock(pers_lock_);
  return std::to_string(pers_ ? pers_->stripe_cache_active() : 0) + "\n";
}

// raid5_store_stripe_cache_size: 17 to 32768 stripes; ENODEV once the
// array has no raid4/5/6 personality.
Result<void> Array::store_stripe_cache_size(std::string_view text) {
  auto n = parse_kstrto<unsigned long>(text);
  if (!n) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (!pers_type_ || (pers_type_->level != 4 && pers_type_->level != 5 && pers_type_->level != 6)) return err(ENODEV);
  if (*n <= 16 || *n > 32768) return err(EINVAL);
  stripe_cache_size_.store(static_cast<unsigned>(*n));
  return {};
}

std::string Array::preread_bypass_threshold_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(preread_bypass_threshold_) + "\n";
}

// raid5_store_preread_threshold: at most the stripe cache's size.
Result<void> Array::store_preread_bypass_threshold(std::string_view text) {
  auto n = parse_kstrto<unsigned long>(text);
  if (!n) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (!pers_type_ || (pers_type_->level != 4 && pers_type_->level != 5 && pers_type_->level != 6)) return err(ENODEV);
  if (*n > stripe_cache_size_) return err(EINVAL);
  preread_bypass_threshold_ = *n;
  return {};
}

std::string Array::layout_text() const {
  std::lock_guard lock(mutex_);
  if (reshape_position_ != kMaxSector && layout_ != new_layout_)
    return std::to_string(new_layout_) + " (" + std::to_string(layout_) + ")\n";
  return std::to_string(layout_) + "\n";
}

Result<void> Array::store_layout(std::string_view text) {
  auto n = parse_kstrto<unsigned>(text);
  if (!n) return err(n.error());
  std::lock_guard lock(mutex_);
  if (pers_) return store_new_shape(std::nullopt, static_cast<int>(*n));
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
  if (pers_) return update_size(*sectors);
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
  if (pers_) return store_running_array_size(text);
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
  auto n = parse_sector_or_none(text);
  if (!n) return err(n.error());
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);
  recovery_cp_ = *n;
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
  auto msec = parse_scaled(text, 3);
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
  return std::to_string(max_read_errors_.load()) + "\n";
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
  if (reshape_backwards_ == backwards) return {};
  // reshape_direction_store: not once a member count change is recorded,
  // never for 0.90 (it has no backwards bit).
  if (delta_disks_ != 0 || reshape_position_ != kMaxSector) return err(EBUSY);
  if (persistent_ && major_version_ == 0) return err(EINVAL);
  std::lock_guard sb_lock(sb_mutex_);
  reshape_backwards_ = backwards;
  return {};
}

std::string Array::reshape_position_text() const {
  std::lock_guard lock(mutex_);
  const uint64_t position = reshape_position_.load();
  if (position == kMaxSector) return "none\n";
  return std::to_string(position) + "\n";
}

Result<void> Array::store_reshape_position(std::string_view text) {
  auto position = parse_sector_or_none(text);
  if (!position) return err(position.error());
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);
  reshape_position_ = *position;
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

// set_name is mdfs's own attribute: with the kernel, mdadm writes the 1.x
// superblocks (and their name) before it hands the members over; mdfs
// writes a new array's superblocks itself, so the name it gives them is
// told here, as mdadm would have written it. It only counts while the
// array is created (members without superblocks); an assembled array keeps
// its superblocks' name.
std::string Array::set_name_text() const {
  std::lock_guard lock(mutex_);
  return set_name_ + "\n";
}

Result<void> Array::store_set_name(std::string_view text) {
  text = strip_newline(text);
  // The 1.x superblock's 32-byte field, NUL-padded: a NUL or a newline
  // inside could not be read back as written.
  if (text.size() > 32 || text.find_first_of(std::string_view("\0\n", 2)) != std::string_view::npos)
    return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (pers_) return err(EBUSY);
  set_name_ = std::string(text);
  return {};
}

std::string Array::consistency_policy_text() const {
  std::lock_guard lock(mutex_);
  if (!pers_type_) return "unknown\n";
  if (has_journal_) return "journal\n";
  if (bitmap_) return "bitmap\n";
  return pers_type_->level == 0 || pers_type_->level == LEVEL_LINEAR ? "none\n" : "resync\n";
}

// r5c_journal_mode_show: the modes, the current one bracketed, while the
// array runs with its journal member; nothing otherwise.
std::string Array::journal_mode_text() const {
  std::lock_guard lock(mutex_);
  if (!pers_ || !journal_log_) return "";
  return journal_write_back_ ? "write-through [write-back]\n" : "[write-through] write-back\n";
}

// r5c_journal_mode_store: one of the two words (one newline allowed);
// ENODEV without a journal; write-back on a degraded array EINVAL.
Result<void> Array::store_journal_mode(std::string_view text) {
  std::lock_guard lock(mutex_);
  const bool back = cmd_match(text, "write-back");
  if (!back && !cmd_match(text, "write-through")) return err(EINVAL);
  if (!pers_ || !journal_log_) return err(ENODEV);
  if (back && degraded_locked() > 0) return err(EINVAL);
  journal_write_back_ = back;
  return {};
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
    // md_seq_show's marks, in its order.
    out += " " + m.name() + "[" + std::to_string(m.desc_nr) + "]";
    if (m.write_mostly) out += "(W)";
    if (m.journal) out += "(J)";
    if (m.faulty) {
      out += "(F)";
      continue;
    }
    if (m.raid_disk < 0 && !m.journal) out += "(S)";
    if (m.replacement) out += "(R)";
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
  out += mdstat_bitmap_line();
  out += "\n";
  return out;
}

}  // namespace mdfs::core
