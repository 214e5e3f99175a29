#include "format/superblock1.h"

#include <linux/raid/md_p.h>

#include <algorithm>
#include <cstddef>
#include <utility>

#include "format/bytes.h"
#include "format/reason.h"

// Field offsets and widths come from the UAPI struct itself; the codec only
// chooses the byte order (always little-endian for v1).
#define SB1_OFF(field) offsetof(mdp_superblock_1, field)
#define SB1_TYPE(field) decltype(std::declval<mdp_superblock_1>().field)
#define SB1_GET(buf, field) bytes::load<SB1_TYPE(field)>(buf, SB1_OFF(field))
#define SB1_PUT(buf, field, value) \
  bytes::store<SB1_TYPE(field)>(buf, SB1_OFF(field), static_cast<SB1_TYPE(field)>(value))

namespace mdfs::format {
namespace {

static_assert(sizeof(mdp_superblock_1) == kSb1HeaderBytes);
static_assert(SB1_OFF(data_offset) == 128 && SB1_OFF(utime) == 192);
static_assert(sizeof(mdp_superblock_1::set_name) == 32 && sizeof(mdp_superblock_1::set_uuid) == 16);

constexpr uint64_t kSectorBytes = 512;

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

// The set_name field with trailing NULs dropped; embedded bytes after a NUL
// are kept so that the field is written back unchanged.
std::string name_field(std::span<const std::byte> b) {
  std::size_t n = sizeof(mdp_superblock_1::set_name);
  while (n > 0 && b[SB1_OFF(set_name) + n - 1] == std::byte{0}) --n;
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(b[SB1_OFF(set_name) + i]);
  return s;
}

// Sectors covered by [start, start + len) relative to the superblock,
// checked against the member: false when it leaves the member.
bool region_inside(uint64_t sb_start, int64_t rel, uint64_t len, uint64_t dev_sectors) {
  if (rel < 0 && static_cast<uint64_t>(-rel) > sb_start) return false;
  const uint64_t start = rel < 0 ? sb_start - static_cast<uint64_t>(-rel) : sb_start + static_cast<uint64_t>(rel);
  return start <= dev_sectors && len <= dev_sectors - start;
}

}  // namespace

std::size_t superblock1_bytes(uint32_t max_dev) {
  return static_cast<std::size_t>(round_up(kSb1HeaderBytes + 2 * uint64_t{max_dev}, kSectorBytes));
}

uint32_t superblock1_checksum(std::span<const std::byte> sb, uint32_t max_dev) {
  static_assert(SB1_OFF(sb_csum) % 4 == 0);
  const std::size_t len = std::min(sb.size(), kSb1HeaderBytes + 2 * std::size_t{max_dev});
  return bytes::folded_word_sum(sb.first(len), bytes::Order::kLittle, SB1_OFF(sb_csum));
}

Result<uint64_t> superblock1_offset(int minor, uint64_t dev_sectors) {
  if (dev_sectors < kSb1MinDeviceSectors) return err(EINVAL);
  switch (minor) {
    case 0: return (dev_sectors - 16) & ~uint64_t{7};
    case 1: return uint64_t{0};
    case 2: return uint64_t{8};
    default: return err(EINVAL);
  }
}

Result<Superblock1> parse_superblock1(std::span<const std::byte> b, int minor, uint64_t dev_sectors,
                                      std::string* why) {
  Reason r(why);
  auto where = superblock1_offset(minor, dev_sectors);
  if (!where) {
    return r.fail("no 1.%d superblock on a member of %llu sectors", minor,
                  static_cast<unsigned long long>(dev_sectors));
  }
  const uint64_t sb_start = *where;
  if (b.size() < kSb1HeaderBytes) {
    return r.fail("superblock truncated: %zu bytes, need at least %zu", b.size(), kSb1HeaderBytes);
  }
  const uint32_t magic = SB1_GET(b, magic);
  if (magic != MD_SB_MAGIC) {
    return r.fail("no md superblock at sector %llu (magic 0x%08x, want 0x%08x)",
                  static_cast<unsigned long long>(sb_start), magic, MD_SB_MAGIC);
  }
  const uint32_t major = SB1_GET(b, major_version);
  if (major != 1) return r.fail("superblock major version %u, want 1", major);

  const uint32_t max_dev = SB1_GET(b, max_dev);
  if (max_dev > kSb1MaxDev) return r.fail("max_dev %u exceeds %u (4 KiB superblock)", max_dev, kSb1MaxDev);
  const std::size_t need = kSb1HeaderBytes + 2 * std::size_t{max_dev};
  if (b.size() < need) {
    return r.fail("superblock truncated: max_dev %u needs %zu bytes, have %zu", max_dev, need, b.size());
  }
  const uint32_t stored = SB1_GET(b, sb_csum);
  const uint32_t computed = superblock1_checksum(b, max_dev);
  if (stored != computed) {
    return r.fail("superblock checksum mismatch (stored 0x%08x, computed 0x%08x)", stored, computed);
  }
  const uint32_t features = SB1_GET(b, feature_map);
  if (features & ~uint32_t{MD_FEATURE_ALL}) {
    return r.fail("unknown feature bits 0x%x in feature_map 0x%x", features & ~uint32_t{MD_FEATURE_ALL}, features);
  }
  // As super_1_load: non-zero padding may be a feature we do not know.
  if (SB1_GET(b, pad0) != 0) return r.fail("non-zero pad0");
  for (std::size_t i = 0; i < sizeof(mdp_superblock_1::pad3); ++i) {
    if (b[SB1_OFF(pad3) + i] != std::byte{0}) return r.fail("non-zero pad3 byte %zu", i);
  }

  Superblock1 sb;
  sb.feature_map = features;
  for (std::size_t i = 0; i < 16; ++i) sb.set_uuid[i] = std::to_integer<uint8_t>(b[SB1_OFF(set_uuid) + i]);
  sb.set_name = name_field(b);
  sb.ctime = SB1_GET(b, ctime);
  sb.level = static_cast<int32_t>(SB1_GET(b, level));
  sb.layout = SB1_GET(b, layout);
  sb.size = SB1_GET(b, size);
  sb.chunksize = SB1_GET(b, chunksize);
  sb.raid_disks = SB1_GET(b, raid_disks);
  sb.bitmap_offset = static_cast<int32_t>(SB1_GET(b, bitmap_offset));
  sb.new_level = SB1_GET(b, new_level);
  sb.reshape_position = SB1_GET(b, reshape_position);
  sb.delta_disks = static_cast<int32_t>(SB1_GET(b, delta_disks));
  sb.new_layout = SB1_GET(b, new_layout);
  sb.new_chunk = SB1_GET(b, new_chunk);
  sb.new_offset = static_cast<int32_t>(SB1_GET(b, new_offset));
  sb.data_offset = SB1_GET(b, data_offset);
  sb.data_size = SB1_GET(b, data_size);
  sb.super_offset = SB1_GET(b, super_offset);
  sb.recovery_offset = SB1_GET(b, recovery_offset);
  sb.dev_number = SB1_GET(b, dev_number);
  sb.cnt_corrected_read = SB1_GET(b, cnt_corrected_read);
  for (std::size_t i = 0; i < 16; ++i) sb.device_uuid[i] = std::to_integer<uint8_t>(b[SB1_OFF(device_uuid) + i]);
  sb.devflags = SB1_GET(b, devflags);
  sb.bblog_shift = SB1_GET(b, bblog_shift);
  sb.bblog_size = SB1_GET(b, bblog_size);
  sb.bblog_offset = static_cast<int32_t>(SB1_GET(b, bblog_offset));
  sb.utime = SB1_GET(b, utime);
  sb.events = SB1_GET(b, events);
  sb.resync_offset = SB1_GET(b, resync_offset);
  sb.sb_csum = stored;
  sb.dev_roles.resize(max_dev);
  for (uint32_t i = 0; i < max_dev; ++i) sb.dev_roles[i] = bytes::load<uint16_t>(b, kSb1HeaderBytes + 2 * i);

  const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  if (sb.super_offset != sb_start) {
    return r.fail("super_offset %llu does not match the 1.%d position %llu", u(sb.super_offset), minor, u(sb_start));
  }
  if (sb.dev_number >= max_dev) {
    return r.fail("dev_number %u outside the role table (max_dev %u)", sb.dev_number, max_dev);
  }
  if (sb.raid_disks > kSb1MaxDisks) {
    return r.fail("raid_disks %u exceeds the %u devices a v1 superblock can describe", sb.raid_disks, kSb1MaxDisks);
  }
  if (sb.data_size < 10) return r.fail("data_size %llu too small", u(sb.data_size));
  const uint64_t sb_sectors = superblock1_bytes(max_dev) / kSectorBytes;
  if (minor != 0) {
    // Data after the superblock (as super_1_load), also after a reshape's
    // new offset.
    if (sb.data_offset < sb_start + sb_sectors) {
      return r.fail("data_offset %llu overlaps the superblock at %llu", u(sb.data_offset), u(sb_start));
    }
    if ((sb.feature_map & MD_FEATURE_RESHAPE_ACTIVE) && (sb.feature_map & MD_FEATURE_NEW_OFFSET)) {
      const int64_t moved = static_cast<int64_t>(sb.data_offset) + sb.new_offset;
      if (moved < static_cast<int64_t>(sb_start + sb_sectors)) {
        return r.fail("new data offset %lld overlaps the superblock", static_cast<long long>(moved));
      }
    }
    if (sb.data_offset > dev_sectors || sb.data_size > dev_sectors - sb.data_offset) {
      return r.fail("data (offset %llu, size %llu) extends past the member's %llu sectors", u(sb.data_offset),
                    u(sb.data_size), u(dev_sectors));
    }
  } else {
    // 1.0: the data lies before the superblock.
    if (sb.data_offset >= sb_start || sb.data_size > sb_start) {
      return r.fail("data (offset %llu, size %llu) runs into the superblock at %llu", u(sb.data_offset),
                    u(sb.data_size), u(sb_start));
    }
  }
  // The array's per-member size must fit the data area (redundant levels;
  // linear and raid0 record 0 and use data_size).
  if (sb.level >= 1 && sb.size > sb.data_size && !(sb.feature_map & MD_FEATURE_JOURNAL)) {
    return r.fail("component size %llu exceeds data_size %llu", u(sb.size), u(sb.data_size));
  }
  if (sb.feature_map & MD_FEATURE_BITMAP_OFFSET) {
    if (sb.bitmap_offset == 0) return r.fail("bitmap feature set but bitmap_offset is 0");
    if (!region_inside(sb_start, sb.bitmap_offset, 1, dev_sectors)) {
      return r.fail("bitmap offset %d puts the bitmap outside the member", sb.bitmap_offset);
    }
  }
  if (sb.feature_map & MD_FEATURE_BAD_BLOCKS) {
    if (sb.bblog_offset == 0 || sb.bblog_size == 0) return r.fail("bad block feature set but no bad block log");
  }
  if (sb.bblog_offset != 0 && sb.bblog_size != 0 &&
      !region_inside(sb_start, sb.bblog_offset, sb.bblog_size, dev_sectors)) {
    return r.fail("bad block log (offset %d, %u sectors) outside the member", sb.bblog_offset, sb.bblog_size);
  }
  return sb;
}

Result<std::vector<std::byte>> serialize_superblock1(const Superblock1& sb) {
  if (sb.set_name.size() > sizeof(mdp_superblock_1::set_name)) return err(EINVAL);
  if (sb.dev_roles.size() > kSb1MaxDev) return err(EINVAL);
  const auto max_dev = static_cast<uint32_t>(sb.dev_roles.size());
  std::vector<std::byte> out(superblock1_bytes(max_dev), std::byte{0});
  std::span<std::byte> b(out);
  std::fill(out.begin() + kSb1HeaderBytes, out.end(), std::byte{0xff});

  SB1_PUT(b, magic, MD_SB_MAGIC);
  SB1_PUT(b, major_version, 1);
  SB1_PUT(b, feature_map, sb.feature_map);
  for (std::size_t i = 0; i < 16; ++i) b[SB1_OFF(set_uuid) + i] = std::byte{sb.set_uuid[i]};
  for (std::size_t i = 0; i < sb.set_name.size(); ++i) {
    b[SB1_OFF(set_name) + i] = static_cast<std::byte>(sb.set_name[i]);
  }
  SB1_PUT(b, ctime, sb.ctime);
  SB1_PUT(b, level, sb.level);
  SB1_PUT(b, layout, sb.layout);
  SB1_PUT(b, size, sb.size);
  SB1_PUT(b, chunksize, sb.chunksize);
  SB1_PUT(b, raid_disks, sb.raid_disks);
  SB1_PUT(b, bitmap_offset, sb.bitmap_offset);
  SB1_PUT(b, new_level, sb.new_level);
  SB1_PUT(b, reshape_position, sb.reshape_position);
  SB1_PUT(b, delta_disks, sb.delta_disks);
  SB1_PUT(b, new_layout, sb.new_layout);
  SB1_PUT(b, new_chunk, sb.new_chunk);
  SB1_PUT(b, new_offset, sb.new_offset);
  SB1_PUT(b, data_offset, sb.data_offset);
  SB1_PUT(b, data_size, sb.data_size);
  SB1_PUT(b, super_offset, sb.super_offset);
  SB1_PUT(b, recovery_offset, sb.recovery_offset);
  SB1_PUT(b, dev_number, sb.dev_number);
  SB1_PUT(b, cnt_corrected_read, sb.cnt_corrected_read);
  for (std::size_t i = 0; i < 16; ++i) b[SB1_OFF(device_uuid) + i] = std::byte{sb.device_uuid[i]};
  SB1_PUT(b, devflags, sb.devflags);
  SB1_PUT(b, bblog_shift, sb.bblog_shift);
  SB1_PUT(b, bblog_size, sb.bblog_size);
  SB1_PUT(b, bblog_offset, sb.bblog_offset);
  SB1_PUT(b, utime, sb.utime);
  SB1_PUT(b, events, sb.events);
  SB1_PUT(b, resync_offset, sb.resync_offset);
  SB1_PUT(b, max_dev, max_dev);
  for (uint32_t i = 0; i < max_dev; ++i) bytes::store<uint16_t>(b, kSb1HeaderBytes + 2 * i, sb.dev_roles[i]);
  SB1_PUT(b, sb_csum, superblock1_checksum(b, max_dev));
  return out;
}

uint64_t mdadm_bitmap_space(uint64_t sectors) {
  // Thresholds in sectors: 64 KiB, 200 GiB, 8 GiB (+4 KiB), as choose_bm_space.
  if (sectors < 64 * 2) return 0;
  if (sectors - 64 * 2 >= uint64_t{200} * 1024 * 1024 * 2) return 128 * 2;
  if (sectors - 4 * 2 > uint64_t{8} * 1024 * 1024 * 2) return 64 * 2;
  return 4 * 2;
}

uint64_t mdadm_data_offset1(int minor, uint64_t dev_sectors, uint32_t chunk_sectors) {
  if (minor == 0) return 0;
  uint64_t headroom = 128 * 1024 * 2;  // 128 MiB
  while ((headroom << 10) > dev_sectors && (chunk_sectors == 0 || headroom / 2 >= uint64_t{chunk_sectors} * 2)) {
    headroom >>= 1;
  }
  const uint64_t want = 12 * 2 + mdadm_bitmap_space(dev_sectors) + headroom;
  return round_up(want, 2 * 1024);
}

uint64_t mdadm_avail_sectors1(int minor, uint64_t dev_sectors, uint64_t data_offset) {
  if (minor == 0) {
    // Superblock area (8 KiB), bad block log (4 KiB) and bitmap space come
    // off the end of the member rounded down to 4 KiB.
    const uint64_t end = dev_sectors & ~uint64_t{7};
    const uint64_t overhead = 8 * 2 + 8 + mdadm_bitmap_space(dev_sectors);
    return end < overhead ? 0 : end - overhead;
  }
  return dev_sectors < data_offset ? 0 : dev_sectors - data_offset;
}

Result<Placement1> place_member1(const PlaceRequest1& req) {
  auto where = superblock1_offset(req.minor, req.dev_sectors);
  if (!where) return err(EINVAL);
  Placement1 p;
  p.super_offset = *where;
  // Space reserved for the bitmap (and where it starts), as mdadm: the
  // bitmap's own size when there is one, else choose_bm_space of the
  // component size so that a bitmap can be added later.
  const bool bitmap = req.bitmap_sectors != 0;
  uint64_t bm_space = bitmap ? req.bitmap_sectors : mdadm_bitmap_space(req.component_sectors);
  constexpr uint16_t kBblogSectors = 8;

  if (req.minor == 0) {
    p.data_offset = req.data_offset.value_or(0);
    // The bad block log sits just below the superblock, the bitmap below it.
    bm_space += kBblogSectors;
    if (p.super_offset < req.component_sectors + bm_space) {
      if (bitmap || p.super_offset < req.component_sectors) return err(EINVAL);
      bm_space = p.super_offset - req.component_sectors;
    }
    // mdadm does not subtract a --data-offset here; we do, so that the data
    // never runs into the bitmap or superblock (equal for the usual 0).
    if (p.data_offset + bm_space > p.super_offset) return err(EINVAL);
    p.data_size = p.super_offset - bm_space - p.data_offset;
    if (req.component_sectors > p.data_size) return err(EINVAL);
    if (bitmap) p.bitmap_offset = -static_cast<int32_t>(req.bitmap_sectors) - kBblogSectors;
    if (bm_space >= kBblogSectors) {
      p.bblog_size = kBblogSectors;
      p.bblog_offset = -kBblogSectors;
    }
    return p;
  }

  const uint64_t bm_offset = 8;  // the bitmap starts 4 KiB after the superblock
  p.data_offset = req.data_offset ? *req.data_offset
                                  : mdadm_data_offset1(req.minor, req.dev_sectors, req.chunk_sectors);
  if (p.data_offset < p.super_offset + bm_offset || p.data_offset >= req.dev_sectors) return err(EINVAL);
  if (bitmap && p.data_offset < p.super_offset + bm_offset + bm_space) return err(EINVAL);
  p.data_size = req.dev_sectors - p.data_offset;
  if (req.component_sectors > p.data_size) return err(EINVAL);
  if (bitmap) p.bitmap_offset = static_cast<int32_t>(bm_offset);
  if (p.data_offset >= p.super_offset + bm_offset + bm_space + kBblogSectors) {
    p.bblog_size = kBblogSectors;
    p.bblog_offset = static_cast<int32_t>(bm_offset + bm_space);
  } else if (p.data_offset >= p.super_offset + 16) {
    // No room after the bitmap space: the log goes just before the data.
    p.bblog_size = kBblogSectors;
    p.bblog_offset = static_cast<int32_t>(p.data_offset - kBblogSectors - p.super_offset);
  }
  return p;
}

Superblock1 new_superblock1(const NewArray1& array, uint32_t dev_number,
                            const std::array<uint8_t, 16>& device_uuid, const Placement1& where) {
  Superblock1 sb;
  sb.feature_map = array.extra_features;
  if (where.bitmap_offset != 0) sb.feature_map |= MD_FEATURE_BITMAP_OFFSET;
  sb.set_uuid = array.set_uuid;
  sb.set_name = array.set_name.substr(0, sizeof(mdp_superblock_1::set_name));
  sb.ctime = array.ctime & MD_SUPERBLOCK_1_TIME_SEC_MASK;
  sb.level = array.level;
  sb.layout = array.layout;
  sb.size = array.size;
  sb.chunksize = array.chunk_sectors;
  sb.raid_disks = array.raid_disks;
  sb.bitmap_offset = where.bitmap_offset;
  sb.data_offset = where.data_offset;
  sb.data_size = where.data_size;
  sb.super_offset = where.super_offset;
  sb.dev_number = dev_number;
  sb.device_uuid = device_uuid;
  sb.bblog_size = where.bblog_size;
  sb.bblog_offset = where.bblog_offset;
  sb.utime = sb.ctime;
  sb.events = 0;
  sb.resync_offset = array.clean ? kMaxSector : 0;
  // mdadm sizes the role table to fill whole sectors: 256 + 2 * devices
  // rounded up to 512 bytes.
  const uint64_t devices = std::max<uint64_t>(array.roles.size(), uint64_t{dev_number} + 1);
  const uint64_t max_dev = std::min<uint64_t>((round_up(kSb1HeaderBytes + 2 * devices, kSectorBytes) - kSb1HeaderBytes) / 2,
                                              kSb1MaxDev);
  sb.dev_roles.assign(max_dev, MD_DISK_ROLE_SPARE);
  for (std::size_t i = 0; i < array.roles.size() && i < max_dev; ++i) sb.dev_roles[i] = array.roles[i];
  return sb;
}

}  // namespace mdfs::format
