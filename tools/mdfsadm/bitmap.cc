#include "mdfsadm/bitmap.h"

#include <fcntl.h>
#include <linux/raid/md_p.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "format/bitmap.h"
#include "format/bytes.h"
#include "format/superblock0.h"
#include "format/superblock1.h"
#include "format/super_info.h"
#include "mdfs/unique_fd.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/mdadm_text.h"

namespace mdfsadm {
namespace {

namespace format = mdfs::format;
namespace bytes = mdfs::format::bytes;
namespace f = mdfs::format::bitmap_field;

// mdadm's bitmap_states: 0 is "OK", 2 (stale) "Out of date".
const char* bitmap_state(uint32_t state) {
  if (state == 0) return "OK";
  if (state == format::kBitmapStale) return "Out of date";
  return "Unknown";
}

// mdadm's human_chunksize.
std::string human_chunksize(unsigned long bytes) {
  static const char* const kSuffixes[] = {"B", "KB", "MB", "GB", "TB"};
  size_t i = 0;
  while ((bytes >> 10) && i + 1 < std::size(kSuffixes)) {
    bytes >>= 10;
    ++i;
  }
  return std::to_string(bytes) + " " + kSuffixes[i];
}

uint64_t count_bits(const std::byte* p, uint64_t bits) {
  uint64_t n = 0;
  for (uint64_t i = 0; i < bits; ++i) n += (std::to_integer<unsigned>(p[i / 8]) >> (i % 8)) & 1;
  return n;
}

// Where -X reads a file's bitmap from: through its superblock (as mdadm's
// locate_bitmap for a block device), or from its start (a bitmap file).
// nullopt (said) when the member has no bitmap; *swap is mdadm's swapuuid.
std::optional<uint64_t> locate(const std::string& path, bool* swap, int* rc) {
  int error = 0;
  auto found = find_super(path, &error);
  *swap = true;
  if (!found) {
    if (error) {
      say("failed to open bitmap file " + path + ": " + errno_text(error));
      *rc = 1;
      return std::nullopt;
    }
    return 0;
  }
  if (found->sb0) {
    *swap = false;  // super0's swapuuid: the uuid's words in host order
    auto at = format::superblock0_offset(found->device_sectors * 512);
    return at ? std::optional<uint64_t>(*at + format::kSb0Bytes) : std::nullopt;
  }
  const auto& sb = *found->sb1;
  if (!(sb.feature_map & MD_FEATURE_BITMAP_OFFSET)) {
    say(path + " doesn't have bitmap");
    *rc = 1;
    return std::nullopt;
  }
  return (static_cast<int64_t>(sb.super_offset) + sb.bitmap_offset) * 512;
}

int examine_one(const std::string& path, bool brief) {
  int rc = 1;
  bool swap = true;
  auto at = locate(path, &swap, &rc);
  if (!at) return rc;
  mdfs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    say("failed to open bitmap file " + path + ": " + errno_text(errno));
    return 1;
  }
  // mdadm reads 8 KiB first, then 8 KiB at a time.
  std::vector<std::byte> buf(8192);
  ssize_t n = ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(*at));
  if (n < static_cast<ssize_t>(format::kBitmapSuperBytes)) {
    say("failed to read superblock of bitmap file: " + errno_text(n < 0 ? errno : 0));
    return 1;
  }
  const std::span<const std::byte> sb(buf.data(), format::kBitmapSuperBytes);
  const auto magic = bytes::load<uint32_t>(sb, f::kMagic);
  const auto version = bytes::load<uint32_t>(sb, f::kVersion);
  const auto events = bytes::load<uint64_t>(sb, f::kEvents);
  const auto cleared = bytes::load<uint64_t>(sb, f::kEventsCleared);
  const auto sync_size = bytes::load<uint64_t>(sb, f::kSyncSize);
  const auto state = bytes::load<uint32_t>(sb, f::kState);
  const auto chunksize = bytes::load<uint32_t>(sb, f::kChunksize);
  const auto daemon = bytes::load<uint32_t>(sb, f::kDaemonSleep);
  const auto behind = bytes::load<uint32_t>(sb, f::kWriteBehind);
  const auto nodes = bytes::load<uint32_t>(sb, f::kNodes);

  uint64_t total = 0, dirty = 0;
  if (!brief && sync_size != 0 && chunksize != 0) {
    total = (sync_size * 512 + chunksize - 1) / chunksize;  // bitmap_bits
    uint64_t read = 0;
    size_t skip = format::kBitmapSuperBytes;
    uint64_t pos = *at + static_cast<uint64_t>(n);
    while (read < total) {
      const uint64_t remaining = std::min<uint64_t>(total - read, (static_cast<uint64_t>(n) - skip) * 8);
      dirty += count_bits(buf.data() + skip, remaining);
      read += remaining;
      if (read >= total) break;
      n = ::pread(fd.get(), buf.data(), buf.size(), static_cast<off_t>(pos));
      if (n <= 0) break;
      pos += static_cast<uint64_t>(n);
      skip = 0;
    }
    if (read < total) {
      say("WARNING: bitmap file is not large enough for array size " + std::to_string(sync_size) + "!\n");
      total = read;
    }
  }

  if (magic != format::kBitmapMagic) {
    say("This is an md array.  To view a bitmap you need to examine");
    say("a member device, not the array.");
    say("Reporting bitmap that would be used if this array were used");
    say("as a member of some other array");
  }
  std::printf("        Filename : %s\n", path.c_str());
  std::printf("           Magic : %08x\n", magic);
  if (magic != format::kBitmapMagic) {
    char line[80];
    std::snprintf(line, sizeof line, "invalid bitmap magic 0x%x, the bitmap file appears", magic);
    say(line);
    say("to be corrupted or missing.");
  }
  std::printf("         Version : %d\n", static_cast<int>(version));
  if (version < format::kBitmapMajorLo || version > format::kBitmapMajorClustered) {
    say("unknown bitmap version " + std::to_string(static_cast<int>(version)) + ", either the bitmap file");
    say("is corrupted or you need to upgrade your tools");
    return 1;
  }
  uint32_t words[4];
  std::memcpy(words, sb.data() + f::kUuid, sizeof words);
  for (auto& w : words)
    if (swap) w = __builtin_bswap32(w);
  std::printf("            UUID : %08x:%08x:%08x:%08x\n", words[0], words[1], words[2], words[3]);
  if (nodes == 0) {
    std::printf("          Events : %llu\n", static_cast<unsigned long long>(events));
    std::printf("  Events Cleared : %llu\n", static_cast<unsigned long long>(cleared));
    std::printf("           State : %s\n", bitmap_state(state));
  }
  std::printf("       Chunksize : %s\n", human_chunksize(chunksize).c_str());
  std::printf("          Daemon : %ds flush period\n", static_cast<int>(daemon));
  if (behind)
    std::printf("      Write Mode : Allow write behind, max %d\n", static_cast<int>(behind));
  else
    std::printf("      Write Mode : Normal\n");
  std::printf("       Sync Size : %llu%s\n", static_cast<unsigned long long>(sync_size / 2),
              human_size(static_cast<long long>(sync_size * 512)).c_str());
  if (nodes == 0) {
    if (!brief)
      std::printf("          Bitmap : %llu bits (chunks), %llu dirty (%2.1f%%)\n", static_cast<unsigned long long>(total),
                  static_cast<unsigned long long>(dirty), 100.0 * static_cast<double>(dirty) / static_cast<double>(total ? total : 1));
  } else {
    // A clustered bitmap: one per node, which mdfs does not run.
    std::string name(reinterpret_cast<const char*>(sb.data() + f::kClusterName), 64);
    name.resize(strnlen(name.c_str(), 64));
    std::printf("   Cluster nodes : %d\n", static_cast<int>(nodes));
    std::printf("    Cluster name : %-64s\n", name.c_str());
  }
  std::fflush(stdout);
  return 0;
}

// mdadm's --bitmap-chunk: a power-of-two size in KiB (or with a suffix).
uint32_t parse_chunk(const std::optional<std::string>& text) {
  if (!text) return 0;
  auto sectors = parse_size(*text);
  if (!sectors || (*sectors & (*sectors - 1)) != 0 || *sectors * 512 > (uint64_t{1} << 31))
    usage("invalid bitmap chunksize: " + *text);
  return static_cast<uint32_t>(*sectors * 512);
}

// The chunk mdadm's add_internal_bitmap1 picks for `sync_sectors` with
// `room` sectors free (limited to 128 KiB when none was asked for), and
// the sectors a bitmap of it takes in whole 4 KiB.
struct Choice {
  uint32_t chunk = 0;
  uint64_t sectors = 0;
};
Choice choose(uint64_t sync_sectors, uint64_t room, uint32_t chunk) {
  Choice c;
  if (chunk == 0) room = std::min<uint64_t>(room, 256);
  if (room <= 1) fail("failed to create internal bitmap - chunksize problem.");
  const uint32_t min_chunk = format::mdadm_bitmap_chunk(sync_sectors, room * 512);
  uint64_t min_needed = 4096, bits = sync_sectors * 512 / min_needed + 1;
  const uint64_t max_bits = (room * 512 - format::kBitmapSuperBytes) * 8;
  while (bits > max_bits) {
    min_needed *= 2;
    bits = (bits + 1) / 2;
  }
  c.chunk = chunk ? chunk : min_chunk;
  if (c.chunk == 0 || c.chunk < min_needed) usage("Given bitmap chunk size not supported.");
  const uint64_t b = sync_sectors * 512 / c.chunk + 1;
  c.sectors = ((b + 7) / 8 + format::kBitmapSuperBytes + 4095) / 4096 * 8;
  return c;
}

// The array's uuid as sysfs shows it, for comparing with a member's.
std::string sysfs_uuid(const std::array<uint8_t, 16>& u) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
                u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return buf;
}

format::SuperInfo info_of(const FoundSuper& f) {
  return f.sb1 ? format::super_info(*f.sb1, f.minor) : format::super_info(*f.sb0, f.device_sectors * 512);
}

// events_cleared of the array's bitmap, from a member in sync (the bitmap
// superblock on disk; the kernel's may be a few seconds ahead of it).
std::optional<uint64_t> events_cleared(const ArrayRef& arr) {
  auto entry = mdstat_entry(arr.mount, arr.name);
  if (!entry) return std::nullopt;
  for (const auto& m : entry->members) {
    auto state = read_attr(arr.md("dev-" + m.name + "/state"));
    if (!state || state->find("in_sync") == std::string::npos) continue;
    const std::string path = arr.mount.member_path(m.name);
    bool swap = true;
    int rc = 0;
    auto at = locate(path, &swap, &rc);
    if (!at) continue;
    mdfs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    std::byte buf[format::kBitmapSuperBytes];
    if (!fd || ::pread(fd.get(), buf, sizeof buf, static_cast<off_t>(*at)) != static_cast<ssize_t>(sizeof buf)) continue;
    if (bytes::load<uint32_t>(std::span<const std::byte>(buf), f::kMagic) != format::kBitmapMagic) continue;
    return bytes::load<uint64_t>(std::span<const std::byte>(buf), f::kEventsCleared);
  }
  return std::nullopt;
}

}  // namespace

int examine_bitmap(const std::vector<std::string>& files, bool brief) {
  if (files.empty()) usage("No devices to examine");
  int rc = 0;
  for (const auto& file : files) rc |= examine_one(file, brief);
  return rc;
}

CreateBitmap create_bitmap(const BitmapOptions& opts, int level, const std::string& metadata,
                           uint64_t member_sectors) {
  CreateBitmap out;
  const uint32_t chunk = parse_chunk(opts.chunk);
  bool want = false;
  if (opts.bitmap) {
    if (*opts.bitmap == "internal") want = true;
    else if (*opts.bitmap != "none")
      fail("--bitmap=" + *opts.bitmap + ": mdfs keeps internal bitmaps only (internal or none)");
  } else {
    // As mdadm: arrays whose members give over 100 GiB get one.
    want = level >= 1 && member_sectors / 2 > uint64_t{100} * 1024 * 1024;
  }
  if (!want) {
    if (opts.chunk && opts.bitmap) usage("--bitmap-chunk needs --bitmap=internal");
    return out;
  }
  if (level <= 0) fail("bitmaps not meaningful with level " + level_name(level).value_or("given"));
  // mdadm's new array: room for the bitmap is choose_bm_space(size).
  const uint64_t room = metadata == "0.90" ? (MD_RESERVED_BYTES - format::kSb0Bytes) / 512
                                           : std::max<uint64_t>(format::mdadm_bitmap_space(member_sectors), 8);
  const Choice c = choose(member_sectors, room, chunk);
  out.chunk = c.chunk;
  out.write_behind = opts.write_behind.value_or(0);
  // 1.0 keeps it just below its bad block log, below the superblock.
  out.location = metadata == "1.0" ? "-" + std::to_string(c.sectors + 8) : "+8";
  return out;
}

int grow_bitmap(const std::string& dev, const BitmapOptions& opts, const MountOptions& mopts) {
  if (!opts.bitmap && opts.write_behind) fail("write-behind mode requires a bitmap.");
  if (!opts.bitmap) usage("--grow: mdfsadm changes only the bitmap (--bitmap=internal or --bitmap=none)");
  ArrayRef arr = resolve_array(dev, mopts);
  auto location = read_attr(arr.md("bitmap/location"));
  if (!location) fail("cannot get array status for " + arr.dev());
  if (*opts.bitmap == "none") {
    if (*location == "none") fail("no bitmap found on " + arr.dev());
    if (write_attr(arr.md("bitmap/location"), "none") != 0) fail("failed to remove internal bitmap.");
    return 0;
  }
  if (*opts.bitmap != "internal")
    fail("--bitmap=" + *opts.bitmap + ": mdfs keeps internal bitmaps only (internal or none)");
  if (*location != "none") fail("bitmap already present on " + arr.dev());
  const std::string level = read_attr(arr.md("level")).value_or("");
  if (level == "raid0" || level == "linear") fail("Bitmaps not meaningful with level " + level);
  uint32_t chunk = parse_chunk(opts.chunk);
  std::string offset = "+8";
  if (read_attr(arr.md("metadata_version")).value_or("") == "1.0") {
    // add_internal_bitmap1 on a running 1.0 array: the room left between
    // the data and the superblock's bad block log.
    auto entry = mdstat_entry(arr.mount, arr.name);
    std::optional<FoundSuper> sb;
    for (const auto& m : entry ? entry->members : std::vector<MdstatMember>{}) {
      int error = 0;
      if (!m.faulty && !m.spare) sb = find_super(arr.mount.member_path(m.name), &error);
      if (sb && sb->sb1) break;
    }
    if (!sb || !sb->sb1) fail("failed to load super-block.");
    const auto& s1 = *sb->sb1;
    int64_t bbl = std::max<int64_t>(8, s1.bblog_size);
    bbl = std::max<int64_t>(bbl, -static_cast<int64_t>(s1.bblog_offset));
    const int64_t room = static_cast<int64_t>(s1.super_offset) - static_cast<int64_t>(s1.data_offset + s1.data_size) - bbl;
    uint64_t size = std::stoull(read_attr(arr.md("component_size")).value_or("0")) * 2;
    if (level == "raid10") size = std::stoull(read_attr(arr.mount.block(arr.name) + "/size").value_or("0"));
    const Choice c = choose(size, room > 0 ? static_cast<uint64_t>(room) : 0, chunk);
    chunk = c.chunk;
    offset = "-" + std::to_string(c.sectors + static_cast<uint64_t>(bbl));
  }
  if (chunk != 0) {
    if (int e = write_attr(arr.md("bitmap/chunksize"), std::to_string(chunk)))
      fail("failed to set the bitmap chunk: " + errno_text(e));
  }
  // mdadm writes it into the new bitmap's superblock; mdfs makes the
  // bitmap from bitmap/backlog.
  if (int e = write_attr(arr.md("bitmap/backlog"), std::to_string(opts.write_behind.value_or(0))))
    fail("failed to set write-behind: " + errno_text(e));
  if (int e = write_attr(arr.md("bitmap/location"), offset)) {
    if (e == EBUSY) say("Cannot add bitmap while array is resyncing or reshaping etc.");
    if (e == ENOSPC) say("no room for a bitmap on " + arr.dev() + "'s members");
    fail("failed to set internal bitmap.");
  }
  return 0;
}

ReAdd re_add(const ArrayRef& arr, const std::string& name, bool quiet_refusal) {
  const std::string path = arr.mount.member_path(name);
  auto not_possible = [&] {
    if (!quiet_refusal) say("--re-add for " + path + " to " + arr.dev() + " is not possible");
    return ReAdd::kNotPossible;
  };
  int error = 0;
  auto found = find_super(path, &error);
  if (!found) return not_possible();
  const format::SuperInfo info = info_of(*found);
  // attempt_re_add: a member of this array that was active, not faulty;
  // the kernel then needs a bitmap that still covers it (events at least
  // its events_cleared), its role free, and a recovery that was (if any)
  // through the bitmap.
  if (read_attr(arr.md("uuid")).value_or("") != sysfs_uuid(info.uuid)) return not_possible();
  if (read_attr(arr.md("bitmap/location")).value_or("none") == "none") return not_possible();
  const int raid_disks = std::stoi(read_attr(arr.md("raid_disks")).value_or("0"));
  if (info.role >= format::kRoleMax || info.role >= raid_disks) return not_possible();
  struct stat st;
  if (::lstat(arr.md("rd" + std::to_string(info.role)).c_str(), &st) == 0) return not_possible();
  if ((info.feature_map & MD_FEATURE_RECOVERY_OFFSET) && !(info.feature_map & MD_FEATURE_RECOVERY_BITMAP))
    return not_possible();
  auto cleared = events_cleared(arr);
  if (!cleared || info.events < *cleared) return not_possible();
  if (int e = write_attr(arr.md("new_dev"), name)) fail("add new device failed for " + path + ": " + errno_text(e));
  say("re-added " + path);
  return ReAdd::kReAdded;
}

}  // namespace mdfsadm
