#include "core/superblock.h"

#include <linux/raid/md_p.h>

#include <algorithm>
#include <cstdio>

#include "core/member.h"

namespace mdfs::core::superblock {

namespace {

format::ReadAt reader(const Member& member) {
  return [&member](uint64_t offset, std::span<std::byte> out) -> Result<void> {
    if (int e = member.pread_exact(offset, out)) return err(e);
    return {};
  };
}

uint64_t bitmap_area_sectors(const format::BitmapSuper& bitmap, uint64_t sync_sectors) {
  return format::bitmap_sectors(sync_sectors, bitmap.chunksize, 512);
}

// Where mdadm 4.2 puts a new member's bad block log (write_init_super1):
// after the bitmap or the space kept for one (1.1, 1.2), else just before
// the data; just before the superblock (1.0). None when that space meets
// the member's data or bitmap.
void place_bblog(const Member& member, const ArrayInfo& array, format::Placement1& where) {
  format::PlaceRequest1 req;
  req.minor = array.minor;
  req.dev_sectors = member.file_sectors();
  req.component_sectors = array.size;
  req.chunk_sectors = array.chunk_sectors;
  req.data_offset = where.data_offset;
  if (where.bitmap_offset != 0 && array.bitmap)
    req.bitmap_sectors = static_cast<uint32_t>(format::bitmap_sectors(array.bitmap->sync_size, array.bitmap->chunksize));
  auto placed = format::place_member1(req);
  if (!placed || placed->bblog_size == 0) return;
  const int64_t start = static_cast<int64_t>(where.super_offset) + placed->bblog_offset;
  const int64_t end = start + placed->bblog_size;
  const auto meets = [&](int64_t lo, int64_t hi) { return start < hi && lo < end; };
  const auto data = static_cast<int64_t>(where.data_offset);
  if (start < 0 || meets(data, data + static_cast<int64_t>(where.data_size))) return;
  if (meets(static_cast<int64_t>(where.super_offset), static_cast<int64_t>(where.super_offset) + 8)) return;
  if (where.bitmap_offset != 0) {
    const int64_t bm = static_cast<int64_t>(where.super_offset) + where.bitmap_offset;
    if (meets(bm, bm + static_cast<int64_t>(req.bitmap_sectors))) return;
  }
  where.bblog_offset = placed->bblog_offset;
  where.bblog_size = placed->bblog_size;
}

// The role every superblock's table gives a member, as super_1_sync:
// faulty, then in sync in its role, then the journal, then a role being
// recovered, else spare.
uint16_t role_of(const ArrayInfo::Desc& d) {
  if (d.faulty) return kRoleFaulty;
  if (d.in_sync && d.raid_disk >= 0) return static_cast<uint16_t>(d.raid_disk);
  if (d.journal) return format::kRoleJournal;
  if (d.raid_disk >= 0) return static_cast<uint16_t>(d.raid_disk);
  return kRoleSpare;
}

// super_1_sync: the member's own superblock (or mdadm's new one) brought
// up to the array's state. Every field the array does not own is kept as
// it was read (set_name, ctime, device_uuid, the bad block log's place, the
// PPL's, unknown device flags, the role table's length), and feature_map
// is rebuilt from the state that the bits describe, so that a bit read is
// a bit written as long as its state lasts.
int write_v1(Member& member, const ArrayInfo& array) {
  format::Superblock1 sb;
  // The bitmap itself is written by the array's core::Bitmap; the
  // superblock only says where it is, on a member it fits on.
  const bool bitmap = array.bitmap && bitmap_fits(member, 1, array.bitmap_offset, bitmap_bytes(*array.bitmap));
  if (member.super && std::holds_alternative<format::Superblock1>(member.super->super)) {
    sb = std::get<format::Superblock1>(member.super->super);
  } else {
    format::NewArray1 na;
    na.set_uuid = array.uuid;
    na.set_name = array.set_name.substr(0, 32);
    na.ctime = static_cast<uint64_t>(array.ctime);
    na.level = array.level;
    na.layout = static_cast<uint32_t>(array.layout);
    na.chunk_sectors = array.chunk_sectors;
    na.raid_disks = static_cast<uint32_t>(array.raid_disks);
    na.size = array.size;
    format::Placement1 where;
    where.super_offset = member.sb_offset;
    where.data_offset = member.data_offset;
    where.data_size = member.sectors;
    if (bitmap) where.bitmap_offset = static_cast<int32_t>(array.bitmap_offset);
    place_bblog(member, array, where);
    sb = format::new_superblock1(na, static_cast<uint32_t>(member.desc_nr), random_uuid(), where);
    // The new log starts empty (super_1_load of what mdadm wrote).
    std::lock_guard bb_lock(member.bb_mutex);
    if (where.bblog_size != 0 && !member.bad_blocks.enabled()) member.bad_blocks = format::BadBlocks(0);
  }
  const uint32_t kept_features = sb.feature_map & (MD_FEATURE_PPL | MD_FEATURE_MULTIPLE_PPLS |
                                                   MD_FEATURE_CLUSTERED | MD_FEATURE_RAID0_LAYOUT);
  sb.feature_map = kept_features;
  sb.set_uuid = array.uuid;
  sb.utime = static_cast<uint64_t>(array.utime);
  sb.events = array.events;
  sb.resync_offset = array.in_sync ? array.recovery_cp : 0;
  sb.cnt_corrected_read = member.corrected_errors.load();
  sb.raid_disks = static_cast<uint32_t>(array.raid_disks);
  sb.size = array.size;
  sb.chunksize = array.chunk_sectors;
  sb.level = array.level;
  sb.layout = static_cast<uint32_t>(array.layout);
  sb.devflags = static_cast<uint8_t>((sb.devflags & ~(WriteMostly1 | FailFast1)) | (member.write_mostly ? WriteMostly1 : 0) |
                                     (member.failfast ? FailFast1 : 0));
  sb.dev_number = static_cast<uint32_t>(member.desc_nr);
  sb.data_offset = member.data_offset;
  sb.data_size = member.sectors;
  sb.super_offset = member.sb_offset;
  // As super_1_sync: the bit and the offset while the array has a bitmap;
  // once it is removed the bit goes and the stale offset stays, unread.
  if (bitmap && !(sb.feature_map & (MD_FEATURE_PPL | MD_FEATURE_MULTIPLE_PPLS))) {
    sb.feature_map |= MD_FEATURE_BITMAP_OFFSET;
    sb.bitmap_offset = static_cast<int32_t>(array.bitmap_offset);
  }
  // As super_1_sync: a member being recovered records how far it got (a
  // journal's recovery_offset field is its journal_tail, kept as read).
  if (!member.journal) sb.recovery_offset = 0;
  if (member.raid_disk >= 0 && !member.journal && !member.in_sync && !member.faulty) {
    sb.feature_map |= MD_FEATURE_RECOVERY_OFFSET;
    sb.recovery_offset = member.recovery_offset == ~uint64_t{0} ? 0 : member.recovery_offset.load();
    if (member.saved_raid_disk >= 0 && bitmap) sb.feature_map |= MD_FEATURE_RECOVERY_BITMAP;
  }
  if (member.replacement) sb.feature_map |= MD_FEATURE_REPLACEMENT;
  if (array.reshape_position != ~uint64_t{0}) {
    sb.feature_map |= MD_FEATURE_RESHAPE_ACTIVE;
    sb.reshape_position = array.reshape_position;
    sb.new_layout = static_cast<uint32_t>(array.new_layout);
    sb.delta_disks = array.delta_disks;
    sb.new_level = static_cast<uint32_t>(array.new_level);
    sb.new_chunk = array.new_chunk_sectors;
    if (array.delta_disks == 0 && array.reshape_backwards) sb.feature_map |= MD_FEATURE_RESHAPE_BACKWARDS;
    if (member.new_data_offset != member.data_offset) {
      sb.feature_map |= MD_FEATURE_NEW_OFFSET;
      sb.new_offset = static_cast<int32_t>(static_cast<int64_t>(member.new_data_offset) -
                                           static_cast<int64_t>(member.data_offset));
    }
  }
  bool journal = false;
  for (const auto& d : array.members) journal = journal || (d.journal && !d.faulty);
  if (journal || (sb.feature_map & MD_FEATURE_JOURNAL)) sb.feature_map |= MD_FEATURE_JOURNAL;
  // The role table keeps its length (mdadm sizes it) unless it must grow.
  size_t max_dev = sb.dev_roles.size();
  for (const auto& d : array.members) max_dev = std::max(max_dev, static_cast<size_t>(d.desc_nr) + 1);
  sb.dev_roles.assign(max_dev, kRoleSpare);
  for (const auto& d : array.members) sb.dev_roles[static_cast<size_t>(d.desc_nr)] = role_of(d);
  // super_1_sync and md_update_sb: MD_FEATURE_BAD_BLOCKS while the member
  // has entries; the log is rewritten after the superblock when they
  // changed, and then they count as acknowledged. bb_mutex is held to the
  // end, so an entry recorded meanwhile is not acknowledged unwritten.
  std::unique_lock bb_lock(member.bb_mutex);
  const bool has_log = sb.bblog_offset != 0 && sb.bblog_size != 0;
  if (has_log && !member.bad_blocks.empty()) sb.feature_map |= MD_FEATURE_BAD_BLOCKS;
  auto bytes = format::serialize_superblock1(sb);
  if (!bytes) return bytes.error();
  if (int e = member.pwrite_exact(member.sb_offset * 512, *bytes)) return e;
  if (has_log && !member.bad_blocks.empty() && member.bad_blocks.changed) {
    const auto log = format::serialize_bblog(member.bad_blocks, std::size_t{sb.bblog_size} * 512);
    const int64_t at = static_cast<int64_t>(sb.super_offset) + sb.bblog_offset;
    if (int e = member.pwrite_exact(static_cast<uint64_t>(at) * 512, log)) return e;
    member.bad_blocks.changed = false;
    member.bad_blocks.acknowledge_all();
  }
  bb_lock.unlock();
  member.super = format::super_info(sb, array.minor);
  if (sb.feature_map & MD_FEATURE_BITMAP_OFFSET) member.super->bitmap = array.bitmap;
  return 0;
}

// super_90_sync: the kernel rebuilds the whole 0.90 superblock from the
// array's state, every member describing all of them. Its numbering is
// the kernel's: the caller has given members in sync in a role desc_nr =
// role and the others desc_nr from raid_disks up (number_members_090).
int write_v090(Member& member, const ArrayInfo& array) {
  format::NewArray0 na;
  for (size_t w = 0; w < 4; ++w)
    na.set_uuid[w] = static_cast<uint32_t>(array.uuid[4 * w]) | static_cast<uint32_t>(array.uuid[4 * w + 1]) << 8 |
                     static_cast<uint32_t>(array.uuid[4 * w + 2]) << 16 |
                     static_cast<uint32_t>(array.uuid[4 * w + 3]) << 24;
  na.ctime = static_cast<uint32_t>(array.ctime);
  na.level = array.level;
  na.layout = static_cast<uint32_t>(array.layout);
  na.chunk_bytes = array.chunk_sectors * 512;
  na.size_kib = static_cast<uint32_t>(array.size / 2);
  na.raid_disks = static_cast<uint32_t>(array.raid_disks);
  na.md_minor = static_cast<uint32_t>(array.md_minor);
  na.in_sync = array.in_sync;
  na.recovery_cp = array.recovery_cp;
  na.events = array.events;
  na.bitmap = array.bitmap.has_value() && array.bitmap_offset != 0;
  if (array.reshape_position != ~uint64_t{0}) {
    na.reshape = true;
    na.reshape_position = array.reshape_position;
    na.new_level = array.new_level;
    na.delta_disks = array.delta_disks;
    na.new_layout = static_cast<uint32_t>(array.new_layout);
    na.new_chunk_bytes = array.new_chunk_sectors * 512;
  }
  for (const auto& m : array.members) {
    // A member being recovered has nowhere to keep its progress in 0.90:
    // it is listed as a spare (and recovers from the start), except during
    // a reshape, where the kernel lists it active.
    bool active = m.raid_disk >= 0 && !m.faulty && (m.in_sync || na.reshape);
    format::Disk0 d;
    d.number = static_cast<uint32_t>(m.desc_nr);
    d.major = kMemberMajor;
    d.minor = static_cast<uint32_t>(m.desc_nr);
    d.raid_disk = active ? static_cast<uint32_t>(m.raid_disk) : static_cast<uint32_t>(m.desc_nr);
    if (m.faulty) {
      d.state = 1u << MD_DISK_FAULTY;
    } else if (active) {
      d.state = 1u << MD_DISK_ACTIVE;
      if (m.in_sync) d.state |= 1u << MD_DISK_SYNC;
    }
    if (m.write_mostly) d.state |= 1u << MD_DISK_WRITEMOSTLY;
    if (m.failfast) d.state |= 1u << MD_DISK_FAILFAST;
    na.members.push_back(d);
  }
  auto sb = format::new_superblock0(na, static_cast<uint32_t>(member.desc_nr));
  sb.utime = static_cast<uint32_t>(array.utime);
  auto bytes = format::serialize_superblock0(sb);
  if (int e = member.pwrite_exact(member.sb_offset * 512, bytes)) return e;
  member.super = format::super_info(sb, member.file_sectors() * 512);
  if (na.bitmap) member.super->bitmap = array.bitmap;
  return 0;
}

}  // namespace

uint64_t bitmap_bytes(const format::BitmapSuper& bitmap) {
  return format::kBitmapSuperBytes + (format::bitmap_chunks(bitmap.sync_size, bitmap.chunksize) + 7) / 8;
}

// format::check_bitmap_room for the member as it stands, with the bitmap
// at `offset`: a member without a superblock yet (a blank spare) as mdfs
// has placed it, with a role table of mdadm's usual 384 entries.
bool bitmap_fits(const Member& member, int major, int64_t offset, uint64_t bytes) {
  format::SuperInfo info;
  if (member.super) {
    info = *member.super;
  } else if (major == 0) {
    info.super = format::Superblock0{};
  } else {
    format::Superblock1 sb;
    sb.dev_roles.assign(384, kRoleSpare);
    info.super = sb;
  }
  info.major = major;
  info.super_offset = member.sb_offset;
  info.data_offset = member.data_offset;
  info.bitmap_offset = offset;
  return static_cast<bool>(
      format::check_bitmap_room(info, (bytes + 511) / 512, member.sectors, member.file_sectors(), nullptr));
}

std::array<uint8_t, 16> random_uuid() {
  std::array<uint8_t, 16> u{};
  if (FILE* f = std::fopen("/dev/urandom", "rb")) {
    if (std::fread(u.data(), 1, u.size(), f) != u.size()) u = {};
    std::fclose(f);
  }
  return u;
}

std::optional<format::SuperInfo> load(const Member& member, int major, int minor, std::string* why) {
  auto info = format::load_super(major, minor, member.file_sectors() * 512, reader(member), why);
  if (!info) return std::nullopt;
  return std::move(*info);
}

Result<std::vector<format::SuperInfo>> examine(const Member& member, std::vector<std::string>* rejected) {
  auto found = format::examine(member.file_sectors() * 512, reader(member));
  if (!found) return err(found.error());
  if (rejected) *rejected = found->rejected;
  return std::move(found->found);
}

Result<Placement> place(int major, int minor, uint64_t member_sectors, std::optional<uint64_t> data_offset,
                        uint32_t bitmap_sectors) {
  if (major == 0) {
    auto at = format::superblock0_offset(member_sectors * 512);
    if (!at) return err(EINVAL);
    uint64_t sb = *at / 512;
    uint64_t start = data_offset.value_or(0);
    if (start >= sb) return err(EINVAL);
    return Placement{sb, start, sb - start};
  }
  format::PlaceRequest1 req;
  req.minor = minor;
  req.dev_sectors = member_sectors;
  req.data_offset = data_offset;
  req.bitmap_sectors = bitmap_sectors;
  auto where = format::place_member1(req);
  if (!where) return err(EINVAL);
  return Placement{where->super_offset, where->data_offset, where->data_size};
}

Result<void> check_bitmap_room(const Member& member, const format::BitmapSuper& bitmap, uint64_t sync_sectors,
                               std::string* why) {
  if (!member.super) return err(EINVAL);
  // The array uses `sectors` of the member's data; the kernel checks the
  // component size (dev_sectors) against the bitmap's start.
  return format::check_bitmap_room(*member.super, bitmap_area_sectors(bitmap, sync_sectors), member.sectors,
                                   member.file_sectors(), why);
}

int write(Member& member, const ArrayInfo& array) {
  return array.major == 0 ? write_v090(member, array) : write_v1(member, array);
}

}  // namespace mdfs::core::superblock
