#include "format/super_info.h"

#include <linux/raid/md_p.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "format/bytes.h"
#include "format/reason.h"

namespace mdfs::format {
namespace {

constexpr uint64_t kSectorBytes = 512;

int64_t seconds1(uint64_t t) { return static_cast<int64_t>(t & MD_SUPERBLOCK_1_TIME_SEC_MASK); }

// A 0.90 disk descriptor as a role, as super_90_validate reads it.
uint16_t role0(const Disk0& d) {
  if (d.state & (1u << MD_DISK_FAULTY)) return kRoleFaulty;
  if ((d.state & (1u << MD_DISK_SYNC)) && d.raid_disk < kRoleMax) return static_cast<uint16_t>(d.raid_disk);
  return kRoleSpare;
}

// Reads [offset, offset + len) clipped to the member.
Result<std::vector<std::byte>> read_clipped(const ReadAt& read, uint64_t device_bytes, uint64_t offset,
                                            uint64_t len) {
  if (offset >= device_bytes) return std::vector<std::byte>{};
  std::vector<std::byte> buf(std::min(len, device_bytes - offset));
  if (auto r = read(offset, buf); !r) return err(r.error());
  return buf;
}

// The bitmap superblock at `sector` of the member, checked against the
// array's uuid.
void attach_bitmap(SuperInfo& info, uint64_t sector, uint64_t device_bytes, const ReadAt& read) {
  auto buf = read_clipped(read, device_bytes, sector * kSectorBytes, kBitmapSuperBytes);
  if (!buf) {
    info.bitmap_problem = "cannot read the bitmap superblock";
    return;
  }
  std::string why;
  auto bm = parse_bitmap_super(*buf, &why);
  if (bm && !check_bitmap_owner(*bm, info.uuid, &why)) bm = err(EINVAL);
  if (!bm) {
    info.bitmap_problem = "bitmap at sector " + std::to_string(sector) + ": " + why;
    return;
  }
  info.bitmap = std::move(*bm);
}

// super_1_load's reading of the bad block log: a log with entries must be
// at most one page and somewhere; a log without entries (or whose
// superblock says it has none) starts empty, as the kernel's.
Result<void> attach_bblog(SuperInfo& info, uint64_t device_bytes, const ReadAt& read, std::string* why) {
  const auto* sb = std::get_if<Superblock1>(&info.super);
  if (!sb) return {};
  Reason r(why);
  if (!(sb->feature_map & MD_FEATURE_BAD_BLOCKS)) {
    if (sb->bblog_offset != 0) info.bad_blocks = BadBlocks(0);
    return {};
  }
  if (sb->bblog_size > kBblogMaxSectors)
    return r.fail("bad block log of %u sectors, more than the %u the kernel reads", sb->bblog_size, kBblogMaxSectors);
  const int64_t at = static_cast<int64_t>(sb->super_offset) + sb->bblog_offset;
  if (sb->bblog_offset == 0 || at < 0) return r.fail("bad block log offset %d is not on the member", sb->bblog_offset);
  auto log = read_clipped(read, device_bytes, static_cast<uint64_t>(at) * kSectorBytes, uint64_t{sb->bblog_size} * kSectorBytes);
  if (!log) return err(log.error());
  if (log->size() != uint64_t{sb->bblog_size} * kSectorBytes) return r.fail("bad block log runs past the member's end");
  auto list = parse_bblog(*log, sb->bblog_shift, why);
  if (!list) return err(list.error());
  info.bad_blocks = std::move(*list);
  return {};
}

}  // namespace

std::string version_string(const SuperInfo& info) {
  char buf[32];
  if (info.major == 0) {
    std::snprintf(buf, sizeof buf, "0.%d", info.minor);
  } else {
    std::snprintf(buf, sizeof buf, "%d.%d", info.major, info.minor);
  }
  return buf;
}

SuperInfo super_info(const Superblock1& sb, int minor) {
  SuperInfo i;
  i.major = 1;
  i.minor = minor;
  i.uuid = sb.set_uuid;
  i.name = sb.set_name.substr(0, sb.set_name.find('\0'));
  i.level = sb.level;
  i.layout = static_cast<int>(sb.layout);
  i.chunk_sectors = sb.chunksize;
  i.raid_disks = static_cast<int>(sb.raid_disks);
  i.size = sb.size;
  i.ctime = seconds1(sb.ctime);
  i.utime = seconds1(sb.utime);
  i.events = sb.events;
  i.resync_offset = sb.resync_offset;
  i.clean = sb.resync_offset == kMaxSector;
  i.data_offset = sb.data_offset;
  i.data_size = sb.data_size;
  i.super_offset = sb.super_offset;
  i.dev_number = sb.dev_number;
  i.roles = sb.dev_roles;
  i.role = sb.dev_number < sb.dev_roles.size() ? sb.dev_roles[sb.dev_number] : kRoleSpare;
  i.device_uuid = sb.device_uuid;
  i.feature_map = sb.feature_map;
  i.write_mostly = (sb.devflags & WriteMostly1) != 0;
  i.failfast = (sb.devflags & FailFast1) != 0;
  i.replacement = (sb.feature_map & MD_FEATURE_REPLACEMENT) != 0;
  i.corrected_reads = sb.cnt_corrected_read;
  if (sb.feature_map & MD_FEATURE_RESHAPE_ACTIVE) {
    i.reshape_position = sb.reshape_position;
    i.new_level = static_cast<int>(sb.new_level);
    i.new_layout = static_cast<int>(sb.new_layout);
    i.new_chunk_sectors = sb.new_chunk;
    i.delta_disks = sb.delta_disks;
    i.reshape_backwards = (sb.feature_map & MD_FEATURE_RESHAPE_BACKWARDS) != 0;
    if (sb.feature_map & MD_FEATURE_NEW_OFFSET) i.new_offset = sb.new_offset;
  }
  if (sb.feature_map & MD_FEATURE_BITMAP_OFFSET) i.bitmap_offset = sb.bitmap_offset;
  if (sb.feature_map & MD_FEATURE_RECOVERY_OFFSET) i.recovery_offset = sb.recovery_offset;
  if ((sb.feature_map & MD_FEATURE_JOURNAL) && i.role == kRoleJournal) i.journal_tail = sb.recovery_offset;
  i.sb_csum = sb.sb_csum;
  i.super = sb;
  return i;
}

SuperInfo super_info(const Superblock0& sb, uint64_t dev_bytes) {
  SuperInfo i;
  i.major = 0;
  i.minor = static_cast<int>(sb.minor_version);
  i.uuid = superblock0_uuid_bytes(sb);
  i.level = sb.level;
  i.layout = static_cast<int>(sb.layout);
  i.chunk_sectors = sb.chunk_size / kSectorBytes;
  i.raid_disks = static_cast<int>(sb.raid_disks);
  i.size = uint64_t{sb.size} * 2;
  i.ctime = sb.ctime;
  i.utime = sb.utime;
  i.events = sb.events;
  i.clean = (sb.state & (1u << MD_SB_CLEAN)) != 0;
  if (i.clean) {
    i.resync_offset = kMaxSector;
  } else {
    i.resync_offset = sb.events == sb.cp_events ? sb.recovery_cp : 0;
  }
  const uint64_t sb_bytes = superblock0_offset(dev_bytes).ok() ? *superblock0_offset(dev_bytes) : 0;
  i.super_offset = sb_bytes / kSectorBytes;
  i.data_offset = 0;
  i.data_size = i.super_offset;
  // As super_90_load: a redundant level cannot address more than 2^33 - 2
  // sectors of a member through the 32-bit KiB size.
  if (sb.level >= 1) i.data_size = std::min<uint64_t>(i.data_size, (uint64_t{2} << 32) - 2);
  i.dev_number = sb.this_disk.number;
  i.roles.resize(kSb0Disks);
  for (std::size_t d = 0; d < kSb0Disks; ++d) i.roles[d] = role0(sb.disks[d]);
  i.role = i.dev_number < kSb0Disks ? i.roles[i.dev_number] : kRoleSpare;
  if (i.dev_number < kSb0Disks) {
    i.write_mostly = (sb.disks[i.dev_number].state & (1u << MD_DISK_WRITEMOSTLY)) != 0;
    i.failfast = (sb.disks[i.dev_number].state & (1u << MD_DISK_FAILFAST)) != 0;
  }
  if (sb.minor_version >= 91) {
    i.reshape_position = sb.reshape_position;
    i.new_level = sb.new_level;
    i.new_layout = static_cast<int>(sb.new_layout);
    i.new_chunk_sectors = sb.new_chunk / kSectorBytes;
    i.delta_disks = sb.delta_disks;
  }
  if (sb.state & (1u << MD_SB_BITMAP_PRESENT)) i.bitmap_offset = kSb0Bytes / kSectorBytes;
  i.md_minor = static_cast<int>(sb.md_minor);
  i.sb_csum = sb.sb_csum;
  i.super = sb;
  return i;
}

Result<SuperInfo> load_super(int major, int minor, uint64_t device_bytes, const ReadAt& read, std::string* why) {
  const uint64_t dev_sectors = device_bytes / kSectorBytes;
  SuperInfo info;
  if (major == 0 && (minor == 90 || minor == 91)) {
    auto at = superblock0_offset(device_bytes);
    if (!at) {
      if (why) *why = "member too small for a 0.90 superblock";
      return err(EINVAL);
    }
    auto buf = read_clipped(read, device_bytes, *at, kSb0Bytes);
    if (!buf) return err(buf.error());
    auto sb = parse_superblock0(*buf, device_bytes, why);
    if (!sb) return err(sb.error());
    info = super_info(*sb, device_bytes);
  } else if (major == 1 && minor >= 0 && minor <= 2) {
    auto at = superblock1_offset(minor, dev_sectors);
    if (!at) {
      if (why) *why = "member too small for a 1.x superblock";
      return err(EINVAL);
    }
    auto buf = read_clipped(read, device_bytes, *at * kSectorBytes, kSb1ReadBytes);
    if (!buf) return err(buf.error());
    auto sb = parse_superblock1(*buf, minor, dev_sectors, why);
    if (!sb) return err(sb.error());
    info = super_info(*sb, minor);
    if (auto bb = attach_bblog(info, device_bytes, read, why); !bb) return err(bb.error());
  } else {
    if (why) *why = "unknown metadata version " + std::to_string(major) + "." + std::to_string(minor);
    return err(EINVAL);
  }
  if (info.bitmap_offset != 0) {
    const int64_t sector = static_cast<int64_t>(info.super_offset) + info.bitmap_offset;
    if (sector < 0) {
      info.bitmap_problem = "bitmap offset points before the start of the member";
    } else {
      attach_bitmap(info, static_cast<uint64_t>(sector), device_bytes, read);
    }
  }
  return info;
}

Result<void> check_bitmap_room(const SuperInfo& info, uint64_t bitmap_sectors, uint64_t data_sectors,
                               uint64_t device_sectors, std::string* why) {
  Reason r(why);
  const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  const auto sb = static_cast<int64_t>(info.super_offset);
  const int64_t start = sb + info.bitmap_offset;
  if (info.bitmap_offset == 0 || start < 0) return r.fail("no bitmap position on the member");
  const auto first = static_cast<uint64_t>(start);
  if (bitmap_sectors > device_sectors || first > device_sectors - bitmap_sectors) {
    return r.fail("bitmap of %llu sectors at sector %llu runs past the member's end (%llu sectors)",
                  u(bitmap_sectors), u(first), u(device_sectors));
  }
  const uint64_t end = first + bitmap_sectors;
  // The superblock's own sectors: 4 KiB for 0.90, the role table's length for v1.
  uint64_t sb_sectors = kSb0Bytes / kSectorBytes;
  if (const auto* sb1 = std::get_if<Superblock1>(&info.super))
    sb_sectors = superblock1_bytes(static_cast<uint32_t>(sb1->dev_roles.size())) / kSectorBytes;
  const uint64_t sb_end = info.super_offset + sb_sectors;
  if (first < sb_end && end > info.super_offset) {
    return r.fail("bitmap at sector %llu overlaps the superblock at sector %llu", u(first), u(info.super_offset));
  }
  if (info.major == 0) {
    // The bitmap shares the 64 KiB reserved at the end with the superblock.
    const uint64_t reserved_end = info.super_offset + kSb0ReservedBytes / kSectorBytes;
    if (first < sb_end || end > reserved_end) {
      return r.fail("bitmap of %llu sectors at sector %llu leaves the 64 KiB reserved for 0.90 metadata",
                    u(bitmap_sectors), u(first));
    }
    return {};
  }
  // The data the array uses must not meet the bitmap, on either side.
  const uint64_t data_end = info.data_offset + data_sectors;
  if (first < data_end && end > info.data_offset) {
    return r.fail("bitmap of %llu sectors at sector %llu runs into the data (sectors %llu to %llu)",
                  u(bitmap_sectors), u(first), u(info.data_offset), u(data_end));
  }
  // Nor the bad block log.
  if (const auto* sb1 = std::get_if<Superblock1>(&info.super); sb1 && sb1->bblog_offset != 0 && sb1->bblog_size != 0) {
    const int64_t bb = sb + sb1->bblog_offset;
    if (bb >= 0) {
      const auto bb_first = static_cast<uint64_t>(bb);
      if (first < bb_first + sb1->bblog_size && end > bb_first) {
        return r.fail("bitmap of %llu sectors at sector %llu runs into the bad block log at sector %llu",
                      u(bitmap_sectors), u(first), u(bb_first));
      }
    }
  }
  return {};
}

Result<Examined> examine(uint64_t device_bytes, const ReadAt& read) {
  struct Kind {
    int major;
    int minor;
  };
  // mdadm's order: its superblock list starts with 0.90, then 1.x tries
  // minor 0, 1, 2.
  constexpr Kind kKinds[] = {{0, 90}, {1, 0}, {1, 1}, {1, 2}};
  Examined out;
  for (const Kind& k : kKinds) {
    // Only a position that holds the md magic is worth a report.
    uint64_t at = 0;
    if (k.major == 0) {
      auto o = superblock0_offset(device_bytes);
      if (!o) continue;
      at = *o;
    } else {
      auto o = superblock1_offset(k.minor, device_bytes / kSectorBytes);
      if (!o) continue;
      at = *o * kSectorBytes;
    }
    auto head = read_clipped(read, device_bytes, at, 4);
    if (!head) return err(head.error());
    if (head->size() < 4) continue;
    const bool magic = bytes::load<uint32_t>(*head, 0) == MD_SB_MAGIC ||
                       (k.major == 0 && bytes::load<uint32_t>(*head, 0, bytes::Order::kBig) == MD_SB_MAGIC);
    if (!magic) continue;

    std::string why;
    auto info = load_super(k.major, k.minor, device_bytes, read, &why);
    if (info) {
      out.found.push_back(std::move(*info));
    } else if (info.error() == EINVAL) {
      out.rejected.push_back((k.major == 0 ? std::string("0.90") : "1." + std::to_string(k.minor)) + ": " + why);
    } else {
      return err(info.error());
    }
  }
  std::stable_sort(out.found.begin(), out.found.end(),
                   [](const SuperInfo& a, const SuperInfo& b) { return a.ctime > b.ctime; });
  return out;
}

}  // namespace mdfs::format
