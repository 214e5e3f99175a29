// Starting a reshape of a running array through the attributes mdadm
// --grow writes, as the kernel answers them: md.c's update_raid_disks,
// chunk_size_store, layout_store, new_offset_store and action_store
// "reshape", with raid5.c's check_reshape and raid5_start_reshape.
#include <algorithm>

#include "core/array.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/registry.h"
#include "format/superblock0.h"
#include "format/superblock1.h"
#include "raid/raid10_layout.h"
#include "raid/raid5_layout.h"
#include "raid/reshape.h"

namespace mdfs::core {

namespace {

bool parity_level(int level) { return level == 4 || level == 5 || level == 6; }

// The levels whose data a reshape moves: raid4/5/6 (raid5.c) and raid10.
bool restripes(int level) { return parity_level(level) || level == 10; }

}  // namespace

// raid5.c's check_reshape: the new shape is one raid4/5/6 can take, and the
// array can afford it (not failed, enough members left after a shrink).
// mdfs does not resize a write-intent bitmap as a reshape goes on (the
// kernel's md_bitmap_resize): a new shape waits until the bitmap is
// removed, as older mdadm asked ("Bitmap must be removed before shape can
// be changed").
Result<void> Array::refuse_reshape_with_bitmap() const {
  log_line(name_ + ": cannot change the shape while the array has a write-intent bitmap: remove it first "
           "(mdfsadm --grow --bitmap=none)");
  return err(EBUSY);
}

int Array::check_reshape_locked() const {
  if (!pers_type_ || !restripes(pers_type_->level)) return EINVAL;
  const int level = pers_type_->level;
  if (level == 10) return check_raid10_reshape_locked();
  if (new_layout_ != layout_ && level != 4 && !raid::Raid5Layout::make(level, new_layout_, 4, 8)) return EINVAL;
  if (new_chunk_sectors_ != chunk_sectors_) {
    const uint32_t c = new_chunk_sectors_;
    if (c < 8 || (c & (c - 1)) != 0) return EINVAL;
    if (array_sectors_ % c != 0) return EINVAL;  // not a factor of the array size
  }
  if (delta_disks_ == 0 && new_layout_ == layout_ && new_chunk_sectors_ == chunk_sectors_) return 0;
  if (degraded_locked() > pers_type_->max_degraded(geometry_locked())) return EINVAL;
  if (delta_disks_ < 0 && raid_disks_ + delta_disks_ < (level == 6 ? 4 : 2)) return EINVAL;
  return 0;
}

// raid10_check_reshape: not from (nor to) far copies, offset copies
// allowed; the number of copies stays; the new chunk (a power of two of a
// page at least, setup_geo) a factor of the array's size; at least as
// many members as copies.
int Array::check_raid10_reshape_locked() const {
  const auto shape = [&](int disks, int layout, uint32_t chunk) {
    return raid::Raid10Layout::make(disks, layout, chunk, dev_sectors_ ? dev_sectors_ : 2 * uint64_t{chunk});
  };
  const auto from = shape(raid_disks_, layout_, chunk_sectors_);
  const auto to = shape(raid_disks_ + delta_disks_, new_layout_, new_chunk_sectors_);
  if (!from || !to) return EINVAL;
  const auto far_only = [](const raid::Raid10Layout& l) { return l.far_copies() > 1 && !l.far_offset(); };
  if (far_only(*from) || far_only(*to) || (layout_ >> 17) != 0 || (new_layout_ >> 17) != 0) return EINVAL;
  if (from->copies() != to->copies()) return EINVAL;
  if (array_sectors_ % new_chunk_sectors_ != 0) return EINVAL;  // not a factor of the array size
  return 0;
}

// update_raid_disks: a running array records the new count (delta_disks)
// for the reshape that sync_action "reshape" starts.
// raid1 changes its count at once (reshape_mirrors, array_shape.cc). A
// level mdfs does not reshape answers EBUSY, as chunk_size and layout do:
// "not now", never a silent half-change.
Result<void> Array::update_raid_disks(int n) {
  const bool mirrors = pers_type_ && pers_type_->level == 1;
  if (!pers_type_ || (!restripes(pers_type_->level) && !mirrors)) return err(EBUSY);
  if (bitmap_ && !mirrors) return refuse_reshape_with_bitmap();
  if (ro_ != ReadOnly::kReadWrite) return err(EROFS);
  const bool meta090 = persistent_ && major_version_ == 0;
  if (n <= 0 || n >= static_cast<int>(meta090 ? format::kSb0Disks : format::kSb1MaxDisks)) return err(EINVAL);
  if (sync_thread_.joinable() || reshape_position_ != kMaxSector) return err(EBUSY);
  if (mirrors) return n == raid_disks_ ? Result<void>{} : reshape_mirrors(n);
  for (const auto& m : members_) {
    if (raid_disks_ < n && m->data_offset < m->new_data_offset) return err(EINVAL);
    if (raid_disks_ > n && m->data_offset > m->new_data_offset) return err(EINVAL);
  }
  std::lock_guard sb_lock(sb_mutex_);
  delta_disks_ = n - raid_disks_;
  if (delta_disks_ < 0) reshape_backwards_ = true;
  else if (delta_disks_ > 0) reshape_backwards_ = false;
  if (const int e = check_reshape_locked()) {
    delta_disks_ = 0;
    reshape_backwards_ = false;
    return err(e);
  }
  return {};
}

// chunk_size_store and layout_store on a running array: the value the
// reshape goes to, checked by check_reshape (EBUSY for a level that does
// not reshape, EROFS read-only).
Result<void> Array::store_new_shape(std::optional<uint32_t> chunk, std::optional<int> layout) {
  if (!pers_type_ || !restripes(pers_type_->level)) return err(EBUSY);
  if (bitmap_) return refuse_reshape_with_bitmap();
  if (ro_ != ReadOnly::kReadWrite) return err(EROFS);
  std::lock_guard sb_lock(sb_mutex_);
  const uint32_t old_chunk = new_chunk_sectors_;
  const int old_layout = new_layout_;
  if (chunk) new_chunk_sectors_ = *chunk;
  if (layout) new_layout_ = *layout;
  if (const int e = check_reshape_locked()) {
    new_chunk_sectors_ = chunk ? chunk_sectors_ : old_chunk;
    new_layout_ = layout ? layout_ : old_layout;
    return err(e);
  }
  return {};
}

std::string Array::member_new_offset_text(const Member& m) const {
  std::lock_guard lock(mutex_);
  return std::to_string(m.new_data_offset) + "\n";
}

// new_offset_store: where the member's data goes in the reshape. Lower
// is a forwards reshape, higher a backwards one; 0.90 cannot move it;
// v1.1/1.2 must keep clear of the superblock, the bitmap and the bad block
// log (super_1_allow_new_offset); the component must still fit (E2BIG).
Result<void> Array::store_member_new_offset(Member& m, std::string_view text) {
  auto n = parse_kstrto<uint64_t>(text);
  if (!n) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (sync_thread_.joinable()) return err(EBUSY);
  const uint64_t offset = *n;
  if (offset > m.data_offset && offset - m.data_offset + dev_sectors_ > m.sectors) return err(E2BIG);
  if (offset < m.data_offset && reshape_backwards_) return err(EINVAL);
  if (offset > m.data_offset && !reshape_backwards_) return err(EINVAL);
  if (pers_ && persistent_ && offset != m.data_offset) {
    if (major_version_ == 0) return err(E2BIG);
    if (offset < m.data_offset && minor_version_ != 0) {
      uint64_t floor = m.sb_offset + (32 + 4) * 2;
      if (bitmap_ && bitmap_info_.offset > 0)
        floor = std::max(floor, m.sb_offset + static_cast<uint64_t>(bitmap_info_.offset) + (bitmap_->bytes() + 511) / 512);
      if (m.super) {
        if (const auto* sb = std::get_if<format::Superblock1>(&m.super->super); sb && sb->bblog_size)
          floor = std::max(floor, m.sb_offset + static_cast<uint64_t>(static_cast<int64_t>(sb->bblog_offset)) +
                                      sb->bblog_size);
      }
      if (offset < floor) return err(E2BIG);
    }
  }
  std::lock_guard sb_lock(sb_mutex_);
  m.new_data_offset = offset;
  if (offset > m.data_offset) reshape_backwards_ = true;
  else if (offset < m.data_offset) reshape_backwards_ = false;
  return {};
}

// action_store "reshape": a reshape already recorded goes on; otherwise
// raid5_start_reshape (raid10_start_reshape for raid10). The spares take
// the new roles (in sync: the reshape writes them), the new shape runs
// below position 0 (or above the new end, backwards), and the sync thread
// moves the data.
Result<void> Array::start_reshape() {
  if (!pers_type_ || !restripes(pers_type_->level)) return err(EINVAL);
  if (sync_thread_.joinable()) return err(EBUSY);
  sync_frozen_ = false;
  if (reshape_position_ != kMaxSector) {
    md_check_recovery();
    return {};
  }
  if (ro_ != ReadOnly::kReadWrite) return err(EROFS);
  if (delta_disks_ == 0 && new_layout_ == layout_ && new_chunk_sectors_ == chunk_sectors_) return err(EINVAL);
  if (bitmap_) return refuse_reshape_with_bitmap();
  if (recovery_cp_ != kMaxSector) return err(EBUSY);  // no reshape and resync at once
  const int max_degraded = pers_type_->max_degraded(geometry_locked());
  const int degraded = degraded_locked();
  if (degraded > max_degraded) return err(EINVAL);
  int spares = 0;
  for (const auto& m : members_) spares += !m->in_sync && !m->faulty ? 1 : 0;
  if (spares - degraded < delta_disks_ - max_degraded) return err(EINVAL);
  // raid10_start_reshape: a spare for every new member; that each
  // member's data moves far enough is run_reshape's check (EINVAL).
  if (pers_type_->level == 10 && spares < delta_disks_) return err(EINVAL);
  if (pers_type_->level == 10 && check_raid10_reshape_locked() != 0) return err(EINVAL);

  const int old_disks = raid_disks_;
  const int new_disks = raid_disks_ + delta_disks_;
  raid::Geometry g = geometry_locked();
  g.raid_disks = new_disks;
  // The members of the new roles: spares, in the order they were added.
  std::vector<std::pair<Member*, int64_t>> roles(static_cast<size_t>(std::max(old_disks, new_disks)), {nullptr, 0});
  for (const auto& m : members_)
    if (!m->faulty && m->in_sync && m->raid_disk >= 0 && m->raid_disk < old_disks)
      roles[static_cast<size_t>(m->raid_disk)].first = m.get();
  std::vector<Member*> added;
  for (const auto& m : members_) {
    if (m->faulty || m->in_sync || m->raid_disk >= 0) continue;
    auto free = std::find_if(roles.begin() + old_disks, roles.end(), [](const auto& r) { return !r.first; });
    if (free == roles.end()) break;
    free->first = m.get();
    added.push_back(m.get());
  }
  g.member_sectors.assign(roles.size(), 0);
  for (size_t role = 0; role < roles.size(); ++role) {
    Member* m = roles[role].first;
    if (!m) continue;
    roles[role].second = static_cast<int64_t>(m->new_data_offset) - static_cast<int64_t>(m->data_offset);
    g.member_sectors[role] = m->sectors;
  }
  // raid5_start_reshape refuses to shrink the array under its user: a
  // smaller array_size must be set first.
  raid::ReshapeGeometry r;
  r.backwards = reshape_backwards_;
  r.new_level = pers_type_->level;
  r.new_layout = new_layout_;
  r.new_chunk_sectors = new_chunk_sectors_;
  r.delta_disks = delta_disks_;
  raid::Geometry shape = raid::new_shape(g, r);
  shape.member_sectors.assign(static_cast<size_t>(new_disks), dev_sectors_);
  auto new_size = pers_type_->array_sectors(shape);
  if (!new_size) return err(EINVAL);
  if (*new_size < array_sectors_) {
    log_line(name_ + ": array size must be reduced before number of disks");
    return err(EINVAL);
  }
  r.position = r.backwards ? std::min(*new_size, pers_->array_sectors()) : 0;
  auto pers = run_reshaping(g, r, roles);
  if (!pers) return err(pers.error());
  {
    std::unique_lock io_lock(pers_lock_);  // no request in flight: the new mapping starts clean
    pers_->quiesce();  // nor a write behind, whose end takes sb_mutex_
    std::lock_guard sb_lock(sb_mutex_);
    pers_ = std::shared_ptr<raid::Personality>(std::move(*pers));
    for (Member* m : added) {
      auto it = std::find_if(roles.begin(), roles.end(), [&](const auto& x) { return x.first == m; });
      m->raid_disk = static_cast<int>(it - roles.begin());
      m->in_sync = true;
      m->recovery_offset = kMaxSector;
    }
    raid_disks_ = new_disks;
    new_level_ = pers_type_->level;
    reshape_position_ = r.position;
    update_superblocks();
  }
  md_check_recovery();
  return {};
}

// array_size_store on a running array: "default" is the personality's
// size again; a size above it is E2BIG; the device's size follows at once
// (set_capacity_and_notify). How mdadm shrinks an array before a reshape
// that reduces it.
Result<void> Array::store_running_array_size(std::string_view text) {
  const uint64_t full = pers_->array_sectors();
  uint64_t sectors = full;
  const bool external = !strip_newline(text).starts_with("default");
  if (external) {
    auto n = parse_blocks_to_sectors(text);
    if (!n) return err(EINVAL);
    if (*n > full) return err(E2BIG);
    sectors = *n;
  }
  const uint64_t old = size_limit_ == kMaxSector ? full : size_limit_.load();
  external_size_ = external;
  array_sectors_ = sectors;
  size_limit_ = external ? sectors : kMaxSector;
  if (sectors != old) {
    log_line(name_ + ": detected capacity change from " + std::to_string(old) + " to " + std::to_string(sectors));
    registry_.array_resized(shared_from_this());
  }
  return {};
}

// update_size and the personalities' resize (raid5_resize, raid1_resize,
// raid10_resize): each member gives `sectors` (0: as much as every member
// has); the array's size follows, and space that grows is resynced
// (recovery_cp moves back to the old end). A bitmap is resized with it,
// its dirty chunks kept (md_bitmap_resize).
Result<void> Array::update_size(uint64_t sectors) {
  if (!pers_type_ || pers_type_->level == 0 || pers_type_->level == LEVEL_LINEAR) return err(EINVAL);
  if (sync_thread_.joinable() || reshape_position_ != kMaxSector) return err(EBUSY);
  if (ro_ != ReadOnly::kReadWrite) return err(EROFS);
  const bool fit = sectors == 0;
  for (const auto& m : members_) {
    if (m->raid_disk < 0 || m->faulty) continue;
    if (fit && (sectors == 0 || sectors > m->sectors)) sectors = m->sectors;
    if (m->sectors < sectors) return err(ENOSPC);
  }
  if (pers_type_->level != 1 && chunk_sectors_) sectors &= ~(static_cast<uint64_t>(chunk_sectors_) - 1);
  raid::Geometry g = geometry_locked();
  g.dev_sectors = sectors;
  auto size = pers_type_->array_sectors(g);
  if (!size || sectors == 0) return err(EINVAL);
  if (external_size_ && array_sectors_ > *size) return err(EINVAL);
  std::vector<raid::Disk*> disks(static_cast<size_t>(raid_disks_), nullptr);
  for (const auto& m : members_)
    if (m->raid_disk >= 0 && m->raid_disk < raid_disks_ && m->in_sync && !m->faulty)
      disks[static_cast<size_t>(m->raid_disk)] = m.get();
  auto pers = pers_type_->run(g, disks, *this);
  if (!pers) return err(pers.error());
  const uint64_t sync_sectors = (*pers)->sync_sectors();
  auto chunk = resized_bitmap_chunk(sync_sectors);
  if (!chunk) return err(chunk.error());
  const uint64_t old = array_sectors_;
  {
    std::unique_lock io_lock(pers_lock_);  // no request in flight
    pers_->quiesce();  // nor a write behind, whose end takes sb_mutex_
    std::lock_guard sb_lock(sb_mutex_);
    pers_ = std::shared_ptr<raid::Personality>(std::move(*pers));
    if (sectors > dev_sectors_ && recovery_cp_ > dev_sectors_) recovery_cp_ = dev_sectors_;
    dev_sectors_ = sectors;
    if (bitmap_) {
      // The bitmap follows before any superblock records the new size.
      set_live_bitmap(bitmap_->resized(sync_sectors, *chunk,
                                       BitmapStart{sync_sectors, events_, recovery_cp_.load(), degraded_locked() > 0}));
      bitmap_info_.chunksize = *chunk;
    }
    if (!external_size_) array_sectors_ = *size;
    update_superblocks();
  }
  if (array_sectors_ != old) {
    log_line(name_ + ": detected capacity change from " + std::to_string(old) + " to " + std::to_string(array_sectors_));
    registry_.array_resized(shared_from_this());
  }
  md_check_recovery();
  return {};
}

}  // namespace mdfs::core
