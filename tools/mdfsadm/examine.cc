#include "mdfsadm/examine.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/raid/md_p.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <map>
#include <span>

#include "format/bitmap.h"
#include "format/bytes.h"
#include "mdfs/unique_fd.h"
#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/mount.h"

namespace mdfsadm {
namespace {

namespace format = mdfs::format;
namespace bytes = mdfs::format::bytes;
constexpr uint64_t kSector = 512;

class File {
 public:
  explicit File(const std::string& path) : fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {}
  bool ok() const { return static_cast<bool>(fd_); }
  int fd() const { return fd_.get(); }
  // Bytes [offset, offset + len) clipped to the file; empty on error.
  std::vector<std::byte> read(uint64_t offset, std::size_t len) const {
    std::vector<std::byte> buf(len);
    ssize_t n = ::pread(fd_.get(), buf.data(), len, static_cast<off_t>(offset));
    buf.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return buf;
  }

 private:
  mdfs::UniqueFd fd_;
};


// A 1.<minor> superblock as mdadm's load_super1 accepts it: any checksum,
// and a bitmap that is not this array's drops the bitmap feature.
std::optional<FoundSuper> load1(const File& f, uint64_t dev_bytes, int minor, std::string* why) {
  const uint64_t dev_sectors = dev_bytes / kSector;
  auto at = format::superblock1_offset(minor, dev_sectors);
  if (!at) return std::nullopt;
  auto raw = f.read(*at * kSector, format::kSb1ReadBytes);
  if (raw.size() < format::kSb1HeaderBytes) return std::nullopt;
  if (bytes::load<uint32_t>(raw, offsetof(mdp_superblock_1, magic)) != MD_SB_MAGIC) return std::nullopt;
  const uint32_t max_dev = bytes::load<uint32_t>(raw, offsetof(mdp_superblock_1, max_dev));
  const uint32_t stored = bytes::load<uint32_t>(raw, offsetof(mdp_superblock_1, sb_csum));
  FoundSuper found;
  found.major = 1;
  found.minor = minor;
  found.device_sectors = dev_sectors;
  uint32_t features = bytes::load<uint32_t>(raw, offsetof(mdp_superblock_1, feature_map));
  if (features & MD_FEATURE_BITMAP_OFFSET) {
    const int32_t bm_off = static_cast<int32_t>(bytes::load<uint32_t>(raw, offsetof(mdp_superblock_1, bitmap_offset)));
    const int64_t bm_sector = static_cast<int64_t>(*at) + bm_off;
    auto bm = bm_sector >= 0 ? f.read(static_cast<uint64_t>(bm_sector) * kSector, 512) : std::vector<std::byte>{};
    bool belongs = bm.size() == 512 && bytes::load<uint32_t>(bm, 0) == format::kBitmapMagic &&
                   std::memcmp(bm.data() + format::bitmap_field::kUuid,
                               raw.data() + offsetof(mdp_superblock_1, set_uuid), 16) == 0;
    if (belongs) {
      found.bitmap_sync_size = bytes::load<uint64_t>(bm, format::bitmap_field::kSyncSize);
      found.bitmap_chunksize = bytes::load<uint32_t>(bm, format::bitmap_field::kChunksize);
      found.bitmap_nodes = bytes::load<uint32_t>(bm, format::bitmap_field::kNodes);
      const char* name = reinterpret_cast<const char*>(bm.data() + format::bitmap_field::kClusterName);
      found.bitmap_cluster_name.assign(name, strnlen(name, 64));
    } else {
      features &= ~uint32_t{MD_FEATURE_BITMAP_OFFSET};
      bytes::store<uint32_t>(raw, offsetof(mdp_superblock_1, feature_map), features);
    }
  }
  found.expected_csum = format::superblock1_checksum(raw, max_dev);
  // The codec checks the checksum as the kernel does; mdadm reports a wrong
  // one instead, so hand the codec the right one and keep the stored one.
  bytes::store<uint32_t>(raw, offsetof(mdp_superblock_1, sb_csum), found.expected_csum);
  auto sb = format::parse_superblock1(raw, minor, dev_sectors, why);
  if (!sb) return std::nullopt;
  sb->sb_csum = stored;
  found.sb1 = std::move(*sb);
  return found;
}

// `swapped`: mdadm's "0.swap" metadata, a superblock read byte-swapped
// (a big-endian machine's, on this little-endian one).
std::optional<FoundSuper> load0(const File& f, uint64_t dev_bytes, std::string* why, bool swapped = false) {
  auto at = format::superblock0_offset(dev_bytes);
  if (!at) return std::nullopt;
  auto raw = f.read(*at, format::kSb0Bytes);
  if (raw.size() < format::kSb0Bytes) return std::nullopt;
  // mdadm reads 0.90 in host order only, unless told to swap it: a
  // superblock of the other byte order is no superblock to it.
  const bytes::Order order = swapped ? bytes::Order::kBig : bytes::Order::kLittle;
  if (bytes::load<uint32_t>(raw, offsetof(mdp_super_t, md_magic), order) != MD_SB_MAGIC) return std::nullopt;
  const uint32_t stored = bytes::load<uint32_t>(raw, offsetof(mdp_super_t, sb_csum), order);
  FoundSuper found;
  found.major = 0;
  found.minor = 90;
  found.device_sectors = dev_bytes / kSector;
  found.expected_csum = format::superblock0_checksum(raw, swapped);
  bytes::store<uint32_t>(raw, offsetof(mdp_super_t, sb_csum), found.expected_csum, order);
  auto sb = format::parse_superblock0(raw, dev_bytes, why);
  if (!sb) return std::nullopt;
  sb->sb_csum = stored;
  found.minor = static_cast<int>(sb->minor_version);
  found.sb0 = std::move(*sb);
  return found;
}

std::string name_field(const std::string& set_name) { return set_name.substr(0, set_name.find('\0')); }

// "  (local to host H)" when the v1 name is "H:..." (mdadm's match_home1).
std::string local1(const std::string& set_name, const std::string& homehost) {
  const std::size_t l = homehost.size();
  if (l > 0 && l < 32 && set_name.size() > l && set_name[l] == ':' && set_name.compare(0, l, homehost) == 0)
    return "  (local to host " + homehost + ")";
  return "";
}

// " (local to host H)" when a 0.90 uuid carries the homehost's hash.
std::string local0(const format::Superblock0& sb, const std::string& homehost) {
  if (homehost.empty()) return "";
  auto hash = sha1(homehost);
  uint8_t words[8];
  for (int i = 0; i < 4; ++i) {
    words[i] = static_cast<uint8_t>(sb.set_uuid[2] >> (8 * i));
    words[4 + i] = static_cast<uint8_t>(sb.set_uuid[3] >> (8 * i));
  }
  return std::memcmp(words, hash.data(), 8) == 0 ? " (local to host " + homehost + ")" : "";
}

std::string level_text(int level) { return level_name(level).value_or("-unknown-"); }

void examine1(std::string& o, const FoundSuper& f, const std::string& homehost) {
  const auto& sb = *f.sb1;
  const uint32_t level_u = static_cast<uint32_t>(sb.level);
  const uint32_t max_dev = static_cast<uint32_t>(sb.dev_roles.size());
  int64_t delta_extra = 0;  // 64 bits: delta_disks may be any 32-bit value

  appendf(o, "          Magic : %08x\n", MD_SB_MAGIC);
  appendf(o, "        Version : 1%s\n", sb.super_offset <= 4 ? ".1" : sb.super_offset <= 8 ? ".2" : ".0");
  appendf(o, "    Feature Map : 0x%x\n", sb.feature_map);
  appendf(o, "     Array UUID : %s\n", uuid_text(sb.set_uuid).c_str());
  const std::string name = name_field(sb.set_name);
  appendf(o, "           Name : %s%s\n", name.c_str(), local1(name, homehost).c_str());
  if (f.bitmap_nodes > 0 && (sb.feature_map & MD_FEATURE_BITMAP_OFFSET))
    appendf(o, "   Cluster Name : %-64s\n", f.bitmap_cluster_name.c_str());
  appendf(o, "  Creation Time : %s\n", ctime24(static_cast<int64_t>(sb.ctime & 0xFFFFFFFFFFULL)).c_str());
  appendf(o, "     Raid Level : %s\n", level_text(sb.level).c_str());
  appendf(o, "   Raid Devices : %u\n", sb.raid_disks);
  o += "\n";
  appendf(o, " Avail Dev Size : %" PRIu64 " sectors%s\n", sb.data_size,
      human_size(static_cast<long long>(sb.data_size << 9)).c_str());
  // mdadm compares the level as unsigned: linear and multipath pass too.
  if (level_u > 0) {
    if (long long asize = array_bytes(sb.level, static_cast<int>(std::min<uint32_t>(sb.raid_disks, INT32_MAX)),
                                      static_cast<int>(sb.layout), sb.size << 9))
      appendf(o, "     Array Size : %llu KiB%s\n", static_cast<unsigned long long>(asize) >> 10, human_size(asize).c_str());
    if (sb.size != sb.data_size)
      appendf(o, "  Used Dev Size : %" PRIu64 " sectors%s\n", sb.size,
          human_size(static_cast<long long>(sb.size << 9)).c_str());
  }
  if (sb.data_offset) appendf(o, "    Data Offset : %" PRIu64 " sectors\n", sb.data_offset);
  if (sb.new_offset && (sb.feature_map & MD_FEATURE_NEW_OFFSET))
    appendf(o, "     New Offset : %" PRIu64 " sectors\n", sb.data_offset + static_cast<uint64_t>(int64_t{sb.new_offset}));
  appendf(o, "   Super Offset : %" PRIu64 " sectors\n", sb.super_offset);
  if (sb.feature_map & MD_FEATURE_RECOVERY_OFFSET)
    appendf(o, "Recovery Offset : %" PRIu64 " sectors\n", sb.recovery_offset);

  // getinfo_super1's space before and after the data.
  const bool ppl = (sb.feature_map & (MD_FEATURE_PPL | MD_FEATURE_MULTIPLE_PPLS)) != 0;
  int64_t bitmap_offset = 0, ppl_offset = 0, ppl_size_v = 0;
  if (sb.feature_map & MD_FEATURE_BITMAP_OFFSET) {
    bitmap_offset = sb.bitmap_offset;
  } else if (ppl) {
    ppl_offset = format::ppl_offset(sb);
    ppl_size_v = format::ppl_size(sb);
  }
  const uint64_t data_size = sb.level <= 0 ? sb.data_size : sb.size;
  uint64_t space_before = 0, space_after = 0;
  const uint64_t super_offset = sb.super_offset;
  if (sb.data_offset < super_offset) {
    space_before = sb.data_offset;
    uint64_t end = super_offset;
    if (sb.bblog_offset && sb.bblog_size) {
      uint64_t bb = super_offset + static_cast<uint64_t>(int64_t{sb.bblog_offset});
      if (bb < end) end = bb;
    }
    const uint64_t bm = super_offset + static_cast<uint64_t>(bitmap_offset) + static_cast<uint64_t>(ppl_offset);
    if (bm < end) end = bm;
    space_after = sb.data_offset + data_size < end ? end - data_size - sb.data_offset : 0;
  } else {
    uint64_t earliest = super_offset + (32 + 4) * 2;  // as the kernel
    if (bitmap_offset > 0) {
      // mdadm measures the bitmap's end from the superblock's offset, not
      // from the member's start; kept for the same numbers.
      uint64_t bits = f.bitmap_chunksize
                          ? (f.bitmap_sync_size * 512 + f.bitmap_chunksize - 1) / f.bitmap_chunksize
                          : 0;
      uint64_t bytes_v = ((bits + 7) >> 3) + 256;
      bytes_v = (bytes_v + 4095) / 4096 * 4096;
      uint64_t bmend = static_cast<uint64_t>(bitmap_offset) + bytes_v / 512;
      if (bmend > earliest) earliest = bmend;
    } else if (ppl_offset > 0) {
      uint64_t pplend = static_cast<uint64_t>(ppl_offset + ppl_size_v);
      if (pplend > earliest) earliest = pplend;
    }
    if (sb.bblog_offset && sb.bblog_size) {
      uint64_t bbend = super_offset + static_cast<uint64_t>(int64_t{sb.bblog_offset}) + sb.bblog_size;
      if (bbend > earliest) earliest = bbend;
    }
    space_before = earliest < sb.data_offset ? sb.data_offset - earliest : 0;
    space_after = f.device_sectors - data_size - sb.data_offset;
  }
  if (space_before == 0 && space_after == 0) space_after = 1;
  const uint16_t role = sb.dev_number < max_dev ? sb.dev_roles[sb.dev_number] : MD_DISK_ROLE_SPARE;
  if (role == MD_DISK_ROLE_JOURNAL) space_after = (f.device_sectors - sb.data_offset) % 8;
  if (space_after != 1 && !(sb.feature_map & MD_FEATURE_NEW_OFFSET)) {
    appendf(o, "   Unused Space : before=%" PRIu64 " sectors, ", space_before);
    if (space_after < static_cast<uint64_t>(INT64_MAX))
      appendf(o, "after=%" PRIu64 " sectors\n", space_after);
    else
      appendf(o, "after=-%" PRIu64 " sectors DEVICE TOO SMALL\n", UINT64_MAX - space_after);
  }
  appendf(o, "          State : %s%s\n", sb.resync_offset + 1 ? "active" : "clean",
      space_after > static_cast<uint64_t>(INT64_MAX) ? " TRUNCATED DEVICE" : "");
  appendf(o, "    Device UUID : %s\n", uuid_text(sb.device_uuid).c_str());
  o += "\n";
  if (sb.feature_map & MD_FEATURE_BITMAP_OFFSET) {
    appendf(o, "Internal Bitmap : %ld sectors from superblock\n", static_cast<long>(sb.bitmap_offset));
  } else if (ppl) {
    appendf(o, "            PPL : %u sectors at offset %d sectors from superblock\n", format::ppl_size(sb),
        format::ppl_offset(sb));
  }
  if (sb.feature_map & MD_FEATURE_RESHAPE_ACTIVE) {
    appendf(o, "  Reshape pos'n : %" PRIu64 "%s\n", sb.reshape_position / 2,
        human_size(static_cast<long long>(sb.reshape_position << 9)).c_str());
    if (sb.delta_disks) {
      appendf(o, "  Delta Devices : %d", sb.delta_disks);
      appendf(o, " (%lld->%d)\n", static_cast<long long>(static_cast<int>(sb.raid_disks)) - sb.delta_disks,
              static_cast<int>(sb.raid_disks));
      if (sb.delta_disks < 0) delta_extra = -int64_t{sb.delta_disks};
    }
    if (static_cast<int32_t>(sb.new_level) != sb.level)
      appendf(o, "      New Level : %s\n", level_text(static_cast<int32_t>(sb.new_level)).c_str());
    if (sb.new_layout != sb.layout) {
      if (sb.level == 5)
        appendf(o, "     New Layout : %s\n", raid5_layout_name(static_cast<int>(sb.new_layout)).value_or("-unknown-").c_str());
      if (sb.level == 6)
        appendf(o, "     New Layout : %s\n", raid6_layout_name(static_cast<int>(sb.new_layout)).value_or("-unknown-").c_str());
      if (sb.level == 10)
        appendf(o, "     New Layout :%s\n", r10_layout_text(static_cast<int>(sb.new_layout)).c_str());
    }
    if (sb.new_chunk != sb.chunksize) appendf(o, "  New Chunksize : %dK\n", static_cast<int>(sb.new_chunk / 2));
    o += "\n";
  }
  if (sb.devflags) {
    o += "          Flags :";
    if (sb.devflags & WriteMostly1) o += " write-mostly";
    if (sb.devflags & FailFast1) o += " failfast";
    o += "\n";
  }
  appendf(o, "    Update Time : %s\n", ctime24(static_cast<int64_t>(sb.utime & 0xFFFFFFFFFFULL)).c_str());
  if (sb.bblog_size && sb.bblog_offset) {
    appendf(o, "  Bad Block Log : %d entries available at offset %ld sectors", sb.bblog_size * 512 / 8,
        static_cast<long>(sb.bblog_offset));
    if (sb.feature_map & MD_FEATURE_BAD_BLOCKS) o += " - bad blocks present.";
    o += "\n";
  }
  if (f.expected_csum == sb.sb_csum)
    appendf(o, "       Checksum : %x - correct\n", sb.sb_csum);
  else
    appendf(o, "       Checksum : %x - expected %x\n", sb.sb_csum, f.expected_csum);
  appendf(o, "         Events : %" PRIu64 "\n", sb.events);
  o += "\n";
  if (sb.level == 0 && (sb.feature_map & MD_FEATURE_RAID0_LAYOUT))
    appendf(o, "         Layout : %s\n", raid0_layout_name(static_cast<int>(sb.layout)).value_or("-unknown-").c_str());
  if (sb.level == 5)
    appendf(o, "         Layout : %s\n", raid5_layout_name(static_cast<int>(sb.layout)).value_or("-unknown-").c_str());
  if (sb.level == 6)
    appendf(o, "         Layout : %s\n", raid6_layout_name(static_cast<int>(sb.layout)).value_or("-unknown-").c_str());
  if (sb.level == 10) appendf(o, "         Layout :%s\n", r10_layout_text(static_cast<int>(sb.layout)).c_str());
  switch (sb.level) {
    case 0:
    case 4:
    case 5:
    case 6:
    case 10: appendf(o, "     Chunk Size : %dK\n", static_cast<int>(sb.chunksize / 2)); break;
    case -1: appendf(o, "       Rounding : %dK\n", static_cast<int>(sb.chunksize / 2)); break;
    default: break;
  }
  o += "\n";
  o += "   Device Role : ";
  if (role >= MD_DISK_ROLE_FAULTY)
    o += "spare\n";
  else if (role == MD_DISK_ROLE_JOURNAL)
    o += "Journal\n";
  else if (sb.feature_map & MD_FEATURE_REPLACEMENT)
    appendf(o, "Replacement device %d\n", role);
  else
    appendf(o, "Active device %d\n", role);

  o += "   Array State : ";
  bool inconsistent = false;
  // One letter per role, as mdadm; no more roles than a v1 superblock can
  // describe, whatever raid_disks and delta_disks say (mdadm would spin).
  const uint64_t roles = uint64_t{sb.raid_disks} + static_cast<uint64_t>(delta_extra);
  for (uint32_t d = 0; d < std::min<uint64_t>(roles, format::kSb1MaxDisks); ++d) {
    int cnt = 0;
    for (uint32_t i = 0; i < max_dev; ++i)
      if (sb.dev_roles[i] == d) ++cnt;
    if (cnt == 2 && level_u > 0)
      o += "R";
    else if (cnt == 1)
      o += "A";
    else if (cnt == 0)
      o += ".";
    else {
      o += "?";
      inconsistent = true;
    }
  }
  o += " ('A' == active, '.' == missing, 'R' == replacing)\n";
  for (uint32_t d = 0; d < max_dev; ++d) {
    const uint32_t r = sb.dev_roles[d];
    if (r <= MD_DISK_ROLE_MAX && r > roles) inconsistent = true;
  }
  if (inconsistent) {
    o += "WARNING Array state is inconsistent - each number should appear only once\n";
    for (uint32_t d = 0; d < max_dev; ++d) {
      if (sb.dev_roles[d] >= MD_DISK_ROLE_FAULTY)
        appendf(o, " %u:-", d);
      else
        appendf(o, " %u:%d", d, sb.dev_roles[d]);
    }
    o += "\n";
  }
}

void examine0(std::string& o, const FoundSuper& f, const std::string& homehost) {
  const auto& sb = *f.sb0;
  int64_t delta_extra = 0;  // 64 bits: the counts may be any 32-bit value
  appendf(o, "          Magic : %08x\n", MD_SB_MAGIC);
  appendf(o, "        Version : %u.%02u.%02u\n", sb.major_version, sb.minor_version, sb.patch_version);
  appendf(o, "           UUID : %08x:%08x:%08x:%08x%s\n", sb.set_uuid[0], sb.set_uuid[1], sb.set_uuid[2], sb.set_uuid[3],
      local0(sb, homehost).c_str());
  if (sb.not_persistent) o += "           Eedk : not persistent\n";
  appendf(o, "  Creation Time : %s\n", ctime24(sb.ctime).c_str());
  appendf(o, "     Raid Level : %s\n", level_text(sb.level).c_str());
  if (sb.level > 0) {
    appendf(o, "  Used Dev Size : %d%s\n", static_cast<int>(sb.size),
        human_size(static_cast<long long>(sb.size) << 10).c_str());
    if (long long asize = array_bytes(sb.level, static_cast<int>(std::min<uint32_t>(sb.raid_disks, INT32_MAX)),
                                      static_cast<int>(sb.layout), uint64_t{sb.size} << 10))
      appendf(o, "     Array Size : %llu%s\n", static_cast<unsigned long long>(asize) >> 10, human_size(asize).c_str());
  }
  appendf(o, "   Raid Devices : %d\n", static_cast<int>(sb.raid_disks));
  appendf(o, "  Total Devices : %d\n", static_cast<int>(sb.nr_disks));
  appendf(o, "Preferred Minor : %d\n", static_cast<int>(sb.md_minor));
  o += "\n";
  if (sb.minor_version > 90 && sb.reshape_position + 1 != 0) {
    appendf(o, "  Reshape pos'n : %" PRIu64 "%s\n", sb.reshape_position / 2,
        human_size(static_cast<long long>(sb.reshape_position << 9)).c_str());
    if (sb.delta_disks) {
      appendf(o, "  Delta Devices : %d", sb.delta_disks);
      appendf(o, " (%lld->%d)\n", static_cast<long long>(static_cast<int>(sb.raid_disks)) - sb.delta_disks,
              static_cast<int>(sb.raid_disks));
      if (sb.delta_disks < 0) delta_extra = -int64_t{sb.delta_disks};
    }
    if (sb.new_level != sb.level) appendf(o, "      New Level : %s\n", level_text(sb.new_level).c_str());
    if (sb.new_layout != sb.layout) {
      if (sb.level == 5)
        appendf(o, "     New Layout : %s\n", raid5_layout_name(static_cast<int>(sb.new_layout)).value_or("-unknown-").c_str());
      if (sb.level == 6)
        appendf(o, "     New Layout : %s\n", raid6_layout_name(static_cast<int>(sb.new_layout)).value_or("-unknown-").c_str());
      if (sb.level == 10)
        appendf(o, "     New Layout : near=%u, %s=%u\n", sb.new_layout & 255, (sb.new_layout & 0x10000) ? "offset" : "far",
            (sb.new_layout >> 8) & 255);
    }
    if (sb.new_chunk != sb.chunk_size) appendf(o, "  New Chunksize : %u\n", sb.new_chunk);
    o += "\n";
  }
  appendf(o, "    Update Time : %s\n", ctime24(sb.utime).c_str());
  appendf(o, "          State : %s\n", (sb.state & (1u << MD_SB_CLEAN)) ? "clean" : "active");
  if (sb.state & (1u << MD_SB_BITMAP_PRESENT)) o += "Internal Bitmap : present\n";
  appendf(o, " Active Devices : %d\n", static_cast<int>(sb.active_disks));
  appendf(o, "Working Devices : %d\n", static_cast<int>(sb.working_disks));
  appendf(o, " Failed Devices : %d\n", static_cast<int>(sb.failed_disks));
  appendf(o, "  Spare Devices : %d\n", static_cast<int>(sb.spare_disks));
  if (f.expected_csum == sb.sb_csum)
    appendf(o, "       Checksum : %x - correct\n", sb.sb_csum);
  else
    appendf(o, "       Checksum : %x - expected %x\n", sb.sb_csum, f.expected_csum);
  appendf(o, "         Events : %" PRIu64 "\n", sb.events);
  o += "\n";
  if (sb.level == 5)
    appendf(o, "         Layout : %s\n", raid5_layout_name(static_cast<int>(sb.layout)).value_or("-unknown-").c_str());
  if (sb.level == 6)
    appendf(o, "         Layout : %s\n", raid6_layout_name(static_cast<int>(sb.layout)).value_or("-unknown-").c_str());
  if (sb.level == 10) appendf(o, "         Layout :%s\n", r10_layout_text(static_cast<int>(sb.layout)).c_str());
  switch (sb.level) {
    case 0:
    case 4:
    case 5:
    case 6:
    case 10: appendf(o, "     Chunk Size : %uK\n", sb.chunk_size / 1024); break;
    case -1: appendf(o, "       Rounding : %uK\n", sb.chunk_size / 1024); break;
    default: break;
  }
  o += "\n";
  o += "      Number   Major   Minor   RaidDevice State\n";
  // mdadm lists raid_disks + delta + spare_disks entries; the table has 27.
  const int64_t last = std::min<int64_t>(int64_t{sb.raid_disks} + delta_extra + int64_t{sb.spare_disks},
                                         static_cast<int64_t>(format::kSb0Disks));
  for (int d = -1; d < last; ++d) {
    if (d >= static_cast<int>(format::kSb0Disks)) break;
    const format::Disk0& dp = d >= 0 ? sb.disks[static_cast<std::size_t>(d)] : sb.this_disk;
    char nb[12];
    std::snprintf(nb, sizeof nb, "%4d", d);
    appendf(o, "%4s %5d   %5d    %5d    %5d     ", d < 0 ? "this" : nb, static_cast<int>(dp.number),
        static_cast<int>(dp.major), static_cast<int>(dp.minor), static_cast<int>(dp.raid_disk));
    const uint32_t wonly = dp.state & (1u << MD_DISK_WRITEMOSTLY);
    const uint32_t failfast = dp.state & (1u << MD_DISK_FAILFAST);
    const uint32_t state = dp.state & ~(wonly | failfast);
    if (state & (1u << MD_DISK_FAULTY)) o += " faulty";
    if (state & (1u << MD_DISK_ACTIVE)) o += " active";
    if (state & (1u << MD_DISK_SYNC)) o += " sync";
    if (state & (1u << MD_DISK_REMOVED)) o += " removed";
    if (wonly) o += " write-mostly";
    if (failfast) o += " failfast";
    if (state == 0) o += " spare";
    if (std::string dv = map_dev(dp.major, dp.minor); !dv.empty()) o += "   " + dv;
    o += "\n";
    if (d == -1) o += "\n";
  }
}

// mdadm's devlist: every block device under /dev, by number.
void scan_dev(const std::string& dir, int depth, std::multimap<dev_t, std::string>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n == "." || n == "..") continue;
    std::string path = dir + "/" + n;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth < 3 && n != "fd" && n != "pts" && n != "shm" && n != "mqueue" && n != "hugepages")
        scan_dev(path, depth + 1, out);
    } else if (S_ISBLK(st.st_mode) || S_ISLNK(st.st_mode)) {
      if (S_ISLNK(st.st_mode) && (::stat(path.c_str(), &st) != 0 || !S_ISBLK(st.st_mode))) continue;
      out.emplace(st.st_rdev, path);
    }
  }
  ::closedir(d);
}

}  // namespace

// The array's size in bytes from one member's, as mdadm's --examine derives
// it (data members, raid10 divided by its copies); 0 when not derivable.
// Computed wide and clamped: a hostile member size may not overflow.
long long array_bytes(int level, int raid_disks, int layout, unsigned long long member_bytes) {
  long long ddsks = 0, denom = 1;
  switch (level) {
    case 1: ddsks = 1; break;
    case 4:
    case 5: ddsks = raid_disks - 1; break;
    case 6: ddsks = raid_disks - 2; break;
    case 10:
      ddsks = raid_disks;
      denom = (layout & 255) * ((layout >> 8) & 255);
      break;
    default: break;
  }
  if (ddsks <= 0 || denom <= 0) return 0;
  const unsigned __int128 bytes = static_cast<unsigned __int128>(member_bytes) * static_cast<unsigned long long>(ddsks) /
                                  static_cast<unsigned long long>(denom);
  return bytes > static_cast<unsigned __int128>(INT64_MAX) ? INT64_MAX : static_cast<long long>(bytes);
}

std::string map_dev(unsigned major, unsigned minor) {
  static const std::multimap<dev_t, std::string> devices = [] {
    std::multimap<dev_t, std::string> m;
    scan_dev("/dev", 0, m);
    return m;
  }();
  // As map_dev_preferred: the shortest name.
  std::string best;
  auto [lo, hi] = devices.equal_range(makedev(major, minor));
  for (auto it = lo; it != hi; ++it)
    if (best.empty() || it->second.size() < best.size()) best = it->second;
  return best;
}

std::array<uint8_t, 16> FoundSuper::uuid() const {
  if (sb1) return sb1->set_uuid;
  return format::superblock0_uuid_bytes(*sb0);
}

std::string FoundSuper::version() const {
  return major == 0 ? "0." + std::to_string(minor) : "1." + std::to_string(minor);
}

std::string FoundSuper::name() const { return sb1 ? name_field(sb1->set_name) : ""; }
int64_t FoundSuper::ctime() const {
  return sb1 ? static_cast<int64_t>(sb1->ctime & 0xFFFFFFFFFFULL) : static_cast<int64_t>(sb0->ctime);
}
int FoundSuper::level() const { return sb1 ? sb1->level : sb0->level; }
uint64_t FoundSuper::events() const { return sb1 ? sb1->events : sb0->events; }

std::optional<uint64_t> member_bytes(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  if (S_ISREG(st.st_mode)) return static_cast<uint64_t>(st.st_size);
  errno = 0;
  if (!S_ISBLK(st.st_mode)) return std::nullopt;
  const off_t end = ::lseek(fd, 0, SEEK_END);
  return end > 0 ? static_cast<uint64_t>(end) : 0;
}

std::optional<FoundSuper> find_super(const std::string& path, int* error, std::string* rejected, bool swapped0) {
  *error = 0;
  File f(path);
  if (!f.ok()) {
    *error = errno;
    return std::nullopt;
  }
  const auto size = member_bytes(f.fd());
  if (!size) {
    *error = errno;
    return std::nullopt;
  }
  const uint64_t dev_bytes = *size;
  std::string why;
  if (swapped0) {
    auto found = load0(f, dev_bytes, &why, true);
    if (!found && !why.empty() && rejected) *rejected = "0.90: " + why;
    return found;
  }
  // guess_super: 0.90, then 1.x (1.0, 1.1, 1.2); the latest creation time
  // wins, the earlier tried on a tie.
  std::optional<FoundSuper> best = load0(f, dev_bytes, &why);
  if (!best && !why.empty() && rejected) *rejected = "0.90: " + why;
  for (int minor : {0, 1, 2}) {
    why.clear();
    auto s = load1(f, dev_bytes, minor, &why);
    if (!s && !why.empty() && rejected && rejected->empty()) *rejected = "1." + std::to_string(minor) + ": " + why;
    if (s && (!best || best->ctime() < s->ctime())) best = std::move(s);
  }
  if (best && rejected) rejected->clear();
  return best;
}

std::optional<FoundSuper> find_super_as(const std::string& path, int major, int minor, int* error) {
  auto best = find_super(path, error);
  if (!best || (best->major == major && (minor < 0 || best->minor == minor))) return best;
  // Not the best kind on the file: the one asked for, if it is there.
  File f(path);
  const auto size = f.ok() ? member_bytes(f.fd()) : std::nullopt;
  if (!size) {
    *error = errno;
    return std::nullopt;
  }
  const uint64_t dev_bytes = *size;
  std::string why;
  if (major == 0) return load0(f, dev_bytes, &why);
  std::optional<FoundSuper> found;
  for (int m : {0, 1, 2}) {
    if (minor >= 0 && m != minor) continue;
    auto s = load1(f, dev_bytes, m, &why);
    if (s && (!found || found->ctime() < s->ctime())) found = std::move(s);
  }
  return found;
}

std::string examine_text(const FoundSuper& found, const std::string& homehost) {
  std::string out;
  if (found.sb1)
    examine1(out, found, homehost);
  else
    examine0(out, found, homehost);
  return out;
}

}  // namespace mdfsadm
