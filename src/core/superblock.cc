#include "core/superblock.h"

#include <linux/raid/md_p.h>

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

// The internal write-intent bitmap kept in step with the superblock: its
// events follow the array's (a bitmap behind the superblock would make the
// kernel resync everything), and mdfs, which does not track dirty regions,
// marks every chunk dirty while the array is active and none once clean, so
// a resync after an unclean stop covers the whole array.
int write_bitmap(Member& member, const format::Superblock1& sb, format::BitmapSuper& bitmap, const ArrayInfo& array) {
  bitmap.events = array.events;
  auto head = format::serialize_bitmap_super(bitmap);
  if (!head) return head.error();
  uint64_t at = static_cast<uint64_t>(static_cast<int64_t>(sb.super_offset) + sb.bitmap_offset) * 512;
  uint64_t bits = format::bitmap_chunks(bitmap.sync_size, bitmap.chunksize);
  std::vector<std::byte> area(*head);
  area.resize(head->size() + (bits + 7) / 8, array.clean ? std::byte{0} : std::byte{0xff});
  if (int e = member.pwrite_exact(at, area)) return e;
  member.super->bitmap = bitmap;
  return 0;
}

// Whether the array's bitmap fits on a new member between its superblock
// and its data (1.1, 1.2) or between its data and its superblock (1.0).
bool bitmap_fits(const format::BitmapSuper& bitmap, int64_t offset, const format::Placement1& where) {
  const auto start = static_cast<int64_t>(where.super_offset) + offset;
  const auto length = static_cast<int64_t>(format::bitmap_sectors(bitmap.sync_size, bitmap.chunksize, 512));
  if (where.data_offset > where.super_offset)
    return start >= static_cast<int64_t>(where.super_offset) + 8 && start + length <= static_cast<int64_t>(where.data_offset);
  return start >= static_cast<int64_t>(where.data_offset + where.data_size) &&
         start + length <= static_cast<int64_t>(where.super_offset);
}

// super_1_sync: the member's own superblock (or mdadm's new one) brought up
// to the array's state.
int write_v1(Member& member, const ArrayInfo& array) {
  format::Superblock1 sb;
  std::optional<format::BitmapSuper> bitmap;
  if (member.super) bitmap = member.super->bitmap;
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
    na.roles = array.roles;
    format::Placement1 where;
    where.super_offset = member.sb_offset;
    where.data_offset = member.data_offset;
    where.data_size = member.sectors;
    if (array.bitmap && bitmap_fits(*array.bitmap, array.bitmap_offset, where)) {
      where.bitmap_offset = static_cast<int32_t>(array.bitmap_offset);
      bitmap = array.bitmap;
    }
    sb = format::new_superblock1(na, static_cast<uint32_t>(member.desc_nr), random_uuid(), where);
  }
  sb.set_uuid = array.uuid;
  sb.level = array.level;
  sb.layout = static_cast<uint32_t>(array.layout);
  sb.chunksize = array.chunk_sectors;
  sb.raid_disks = static_cast<uint32_t>(array.raid_disks);
  sb.size = array.size;
  sb.utime = static_cast<uint64_t>(array.utime);
  sb.events = array.events;
  sb.resync_offset = array.resync_offset;
  sb.dev_number = static_cast<uint32_t>(member.desc_nr);
  sb.data_offset = member.data_offset;
  sb.data_size = member.sectors;
  sb.super_offset = member.sb_offset;
  sb.devflags = member.write_mostly ? 1 : 0;
  // As super_1_sync: a member being recovered records how far it got.
  const size_t me = static_cast<size_t>(member.desc_nr);
  if (me < array.recovering.size() && array.recovering[me]) {
    sb.feature_map |= MD_FEATURE_RECOVERY_OFFSET;
    sb.recovery_offset = member.recovery_offset == ~uint64_t{0} ? 0 : member.recovery_offset.load();
  } else {
    sb.feature_map &= ~static_cast<uint32_t>(MD_FEATURE_RECOVERY_OFFSET);
    sb.recovery_offset = 0;
  }
  // The role table keeps its length (mdadm sizes it) unless it must grow.
  size_t max_dev = std::max(sb.dev_roles.size(), array.roles.size());
  sb.dev_roles.assign(max_dev, kRoleSpare);
  std::copy(array.roles.begin(), array.roles.end(), sb.dev_roles.begin());
  auto bytes = format::serialize_superblock1(sb);
  if (!bytes) return bytes.error();
  if (int e = member.pwrite_exact(member.sb_offset * 512, *bytes)) return e;
  member.super = format::super_info(sb, array.minor);
  member.super->bitmap = bitmap;
  if (bitmap && (sb.feature_map & MD_FEATURE_BITMAP_OFFSET)) return write_bitmap(member, sb, *bitmap, array);
  return 0;
}

// super_90_sync: every member's superblock describes all members.
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
  na.clean = array.clean;
  na.events = array.events;
  for (size_t number = 0; number < array.roles.size(); ++number) {
    uint16_t role = array.roles[number];
    if (number < array.recovering.size() && array.recovering[number]) role = kRoleSpare;
    format::Disk0 d;
    d.number = static_cast<uint32_t>(number);
    d.major = kMemberMajor;
    d.minor = static_cast<uint32_t>(number);
    if (role == kRoleFaulty) {
      d.raid_disk = static_cast<uint32_t>(number);
      d.state = 1 << MD_DISK_FAULTY;
    } else if (role == kRoleSpare) {
      d.raid_disk = static_cast<uint32_t>(number);
      d.state = 0;
    } else {
      d.raid_disk = role;
      d.state = (1 << MD_DISK_ACTIVE) | (1 << MD_DISK_SYNC);
    }
    na.members.push_back(d);
  }
  auto sb = format::new_superblock0(na, static_cast<uint32_t>(member.desc_nr));
  sb.utime = static_cast<uint32_t>(array.utime);
  auto bytes = format::serialize_superblock0(sb);
  if (int e = member.pwrite_exact(member.sb_offset * 512, bytes)) return e;
  member.super = format::super_info(sb, member.file_sectors() * 512);
  return 0;
}

}  // namespace

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

Result<Placement> place(int major, int minor, uint64_t member_sectors, std::optional<uint64_t> data_offset) {
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
  auto where = format::place_member1(req);
  if (!where) return err(EINVAL);
  return Placement{where->super_offset, where->data_offset, where->data_size};
}

int write(Member& member, const ArrayInfo& array) {
  return array.major == 0 ? write_v090(member, array) : write_v1(member, array);
}

}  // namespace mdfs::core::superblock
