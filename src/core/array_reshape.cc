// Reshape in the md core: starting an array found mid-reshape, the sync
// thread's reshape pass with its checkpoints (md_do_sync with
// MD_RECOVERY_RESHAPE, raid5.c's reshape_request), and the end of a
// reshape (end_reshape, md_finish_reshape, raid5_finish_reshape). The data
// moves in src/raid/reshape.cc.
#include <algorithm>

#include "core/array.h"
#include "core/log.h"
#include "core/registry.h"
#include "raid/reshape.h"

namespace mdfs::core {

raid::ReshapeGeometry reshape_of(const format::SuperInfo& sb) {
  raid::ReshapeGeometry r;
  r.position = sb.reshape_position;
  r.backwards = sb.delta_disks < 0 || sb.reshape_backwards;
  r.new_level = sb.new_level;
  r.new_layout = sb.new_layout;
  r.new_chunk_sectors = sb.new_chunk_sectors;
  r.delta_disks = sb.delta_disks;
  return r;
}

Result<std::unique_ptr<raid::Personality>> Array::run_reshaping(
    const raid::Geometry& g, raid::ReshapeGeometry r, const std::vector<std::pair<Member*, int64_t>>& role_members) {
  r.new_member_sectors.assign(role_members.size(), 0);
  // Only the members holding the old shape's data limit how far a window
  // may go: a new member has nothing to overwrite.
  const auto old_count = static_cast<size_t>(std::max(g.raid_disks - r.delta_disks, 0));
  std::vector<std::unique_ptr<raid::Disk>> old_disks(role_members.size());
  std::vector<std::unique_ptr<raid::Disk>> new_disks(role_members.size());
  bool first = true;
  for (size_t role = 0; role < role_members.size(); ++role) {
    auto [m, new_offset] = role_members[role];
    if (!m) continue;
    if (static_cast<int64_t>(m->data_offset) + new_offset < 0 ||
        static_cast<int64_t>(m->sectors) - new_offset <= 0) {
      log_line(name_ + ": cannot start: " + m->name() + ": new_offset outside the member");
      return err(EINVAL);
    }
    if (role < old_count) {
      r.min_offset_diff = first ? new_offset : std::min(r.min_offset_diff, new_offset);
      r.max_offset_diff = first ? new_offset : std::max(r.max_offset_diff, new_offset);
      first = false;
    }
    const uint64_t new_start = static_cast<uint64_t>(static_cast<int64_t>(m->data_offset) + new_offset);
    const uint64_t new_sectors = static_cast<uint64_t>(static_cast<int64_t>(m->sectors) - new_offset);
    r.new_member_sectors[role] = new_sectors;
    old_disks[role] = std::make_unique<MemberView>(*m, m->data_offset, m->sectors);
    new_disks[role] = std::make_unique<MemberView>(*m, new_start, new_sectors);
  }
  if (auto ok = raid::check_reshape(g, r); !ok) {
    log_line(name_ + ": cannot start: a reshape between these shapes is not one mdfs runs");
    return err(EINVAL);
  }
  auto pers = raid::run_reshape(g, r, std::move(old_disks), std::move(new_disks), *this);
  if (!pers) {
    log_line(name_ + ": cannot start: reshape_position " + std::to_string(r.position) +
             (g.level == 10 ? " outside the array, or the data offsets do not move by a chunk (raid10)"
                            : " is not on a stripe of the new shape"));
    return err(EINVAL);
  }
  return std::move(*pers);
}

// reshape_request's checkpoint: the moved window is durable on the
// members; the superblocks now say so, and reach storage before the
// window is opened again (the kernel's md_update_sb with FUA).
int Array::reshape_checkpoint(uint64_t position, uint64_t done) {
  std::lock_guard sb_lock(sb_mutex_);
  reshape_position_ = position;
  curr_resync_completed_ = done;
  int e = update_superblocks();
  for (const auto& m : members_)
    if (!m->faulty && m->raid_disk >= 0 && e == 0) e = m->sync();
  return e;
}

// md_do_sync for MD_RECOVERY_RESHAPE: window by window, each one
// checkpointed; waits at sync_max, throttled by sync_speed_max, stopped by
// an interrupt (frozen, idle, a stop).
void Array::md_do_reshape(std::shared_ptr<raid::Personality> pers, uint64_t total) {
  log_line(name_ + ": reshape of RAID array " + name_);
  raid::ReshapeCheckpoint checkpoint = [this](uint64_t position, uint64_t done) {
    return reshape_checkpoint(position, done);
  };
  uint64_t pos = pers->reshape_done();
  while (pos < total && !sync_interrupt_.load()) {
    if (pos >= resync_max_.load()) {
      if (!sync_wait_below_max(pos)) break;
    }
    const raid::ReshapeStep step = pers->reshape_step(resync_max_.load(), checkpoint);
    if (step.error != 0) {
      if (step.error == ENOSPC) {
        log_line(name_ + ": reshape cannot go on at " + std::to_string(pers->reshape_position()) +
                 ": the new shape would overwrite data not yet moved (a backup of the critical section is needed)");
      } else {
        log_line(name_ + ": reshape stopped: error " + std::to_string(step.error));
      }
      sync_failed_ = true;
      break;
    }
    if (step.done <= pos) break;
    sync_io_ += step.done - pos;
    pos = step.done;
    curr_resync_ = pos;
    sync_throttle(sync_io_.load());
  }
  curr_resync_completed_ = pos;
  log_line(name_ + (pos >= total ? ": reshape done." : ": reshape interrupted."));
  sync_finished_ = true;
  wake_md_thread();
}

// The reshape is done: every member's data where the new shape put it
// (md_finish_reshape), the new shape in the array (raid5_finish_reshape),
// the members a shrink left out become spares, and the array runs the new
// shape as an ordinary personality, with its new size.
void Array::finish_reshape() {
  raid::Geometry g;
  const uint64_t old_sectors = array_sectors_;
  {
    std::unique_lock io_lock(pers_lock_);  // no request in flight
    std::lock_guard sb_lock(sb_mutex_);
    for (const auto& m : members_) {
      if (m->new_data_offset < m->data_offset) m->sectors += m->data_offset - m->new_data_offset;
      else m->sectors -= m->new_data_offset - m->data_offset;
      m->data_offset = m->new_data_offset;
      if (m->raid_disk >= raid_disks_) {
        m->raid_disk = -1;
        m->in_sync = false;
      }
    }
    level_ = new_level_;
    layout_ = new_layout_;
    chunk_sectors_ = new_chunk_sectors_;
    reshape_position_ = kMaxSector;
    delta_disks_ = 0;
    reshape_backwards_ = false;
    pers_type_ = raid::find_personality(level_);
    g = geometry_locked();
    std::vector<raid::Disk*> disks(static_cast<size_t>(raid_disks_), nullptr);
    for (const auto& m : members_)
      if (m->raid_disk >= 0 && m->raid_disk < raid_disks_ && m->in_sync && !m->faulty)
        disks[static_cast<size_t>(m->raid_disk)] = m.get();
    auto pers = pers_type_ ? pers_type_->run(g, disks, *this) : Result<std::unique_ptr<raid::Personality>>(err(EINVAL));
    if (!pers) {
      // Cannot happen for a shape the reshape ran; keep the array readable.
      log_line(name_ + ": the new shape does not run: stopped read-only");
      ro_ = ReadOnly::kReadOnly;
      return;
    }
    pers_ = std::shared_ptr<raid::Personality>(std::move(*pers));
    if (!external_size_) array_sectors_ = pers_->array_sectors();
    update_superblocks();
  }
  if (array_sectors_ != old_sectors) {
    log_line(name_ + ": detected capacity change from " + std::to_string(old_sectors) + " to " +
             std::to_string(array_sectors_));
    registry_.array_resized(shared_from_this());
  }
}

}  // namespace mdfs::core
