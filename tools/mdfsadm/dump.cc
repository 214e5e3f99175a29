#include "mdfsadm/dump.h"

#include <fcntl.h>
#include <linux/raid/md_p.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <vector>

#include "format/bitmap.h"
#include "format/bytes.h"
#include "format/superblock0.h"
#include "format/superblock1.h"
#include "mdfs/unique_fd.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/misc.h"
#include "mdfsadm/mount.h"

namespace mdfsadm {
namespace {

namespace format = mdfs::format;
namespace bytes = mdfs::format::bytes;
constexpr uint64_t kSector = 512;

bool read_exact(int fd, std::vector<std::byte>& buf, uint64_t at) {
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool write_exact(int fd, std::span<const std::byte> buf, uint64_t at) {
  std::size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::pwrite(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// `len` bytes at `at` from one file to the other, at the same offset.
bool copy_range(int from, int to, uint64_t at, std::size_t len) {
  std::vector<std::byte> buf(len);
  return read_exact(from, buf, at) && write_exact(to, buf, at);
}

// super1.c's copy_metadata1. The superblock is taken from the bytes on the
// source as they are (not as --examine presents them), and must be sound:
// the magic, major version 1, the position it records, its checksum.
bool copy_metadata1(int minor, int from, int to) {
  const auto dev_bytes = member_bytes(from);
  if (!dev_bytes) return false;
  const auto sb_sector = format::superblock1_offset(minor, *dev_bytes / kSector);
  if (!sb_sector) return false;
  const uint64_t sb_at = *sb_sector * kSector;
  std::vector<std::byte> sb(format::kSb1ReadBytes);
  if (!read_exact(from, sb, sb_at)) return false;
  const uint32_t max_dev = bytes::load<uint32_t>(sb, offsetof(mdp_superblock_1, max_dev));
  if (bytes::load<uint32_t>(sb, offsetof(mdp_superblock_1, magic)) != MD_SB_MAGIC ||
      bytes::load<uint32_t>(sb, offsetof(mdp_superblock_1, major_version)) != 1 ||
      bytes::load<uint64_t>(sb, offsetof(mdp_superblock_1, super_offset)) != *sb_sector ||
      format::superblock1_checksum(sb, max_dev) != bytes::load<uint32_t>(sb, offsetof(mdp_superblock_1, sb_csum)))
    return false;
  if (!write_exact(to, sb, sb_at)) return false;

  const uint32_t features = bytes::load<uint32_t>(sb, offsetof(mdp_superblock_1, feature_map));
  // Where a region the superblock points at (signed sectors from it) lies,
  // if on the member.
  auto region = [&](int32_t sectors, uint64_t len) -> std::optional<uint64_t> {
    const int64_t at = static_cast<int64_t>(*sb_sector) + sectors;
    if (at < 0 || static_cast<uint64_t>(at) * kSector + len > *dev_bytes) return std::nullopt;
    return static_cast<uint64_t>(at) * kSector;
  };
  if (features & MD_FEATURE_BITMAP_OFFSET) {
    // The bitmap's superblock and its bits, rounded up to 512 bytes (mdadm's
    // calc_bitmap_size), after reading at least the first 4 KiB.
    const int32_t off = static_cast<int32_t>(bytes::load<uint32_t>(sb, offsetof(mdp_superblock_1, bitmap_offset)));
    const auto head_at = region(off, 4096);
    if (!head_at) return false;
    std::vector<std::byte> head(4096);
    if (!read_exact(from, head, *head_at)) return false;
    const uint64_t sync_sectors = bytes::load<uint64_t>(head, format::bitmap_field::kSyncSize);
    const uint32_t chunk = bytes::load<uint32_t>(head, format::bitmap_field::kChunksize);
    if (chunk == 0 || sync_sectors > (uint64_t{1} << 54)) return false;
    const uint64_t bits = (sync_sectors * kSector + chunk - 1) / chunk;
    const uint64_t len = ((bits + 7) / 8 + format::kBitmapSuperBytes + kSector - 1) / kSector * kSector;
    if (!region(off, len)) return false;
    if (!copy_range(from, to, *head_at, static_cast<std::size_t>(len))) return false;
  }
  const uint16_t bb_sectors = bytes::load<uint16_t>(sb, offsetof(mdp_superblock_1, bblog_size));
  const int32_t bb_off = static_cast<int32_t>(bytes::load<uint32_t>(sb, offsetof(mdp_superblock_1, bblog_offset)));
  if (bb_sectors != 0 && bb_sectors <= 100 && bb_off != 0 && (features & MD_FEATURE_BAD_BLOCKS)) {
    const auto at = region(bb_off, bb_sectors * kSector);
    if (!at || !copy_range(from, to, *at, bb_sectors * kSector)) return false;
  }
  return true;
}

// super0.c's copy_metadata0: the 64 KiB reserved area holding a sound 0.90
// superblock (as mdadm reads it: in host order, x86's little-endian).
bool copy_metadata0(int from, int to) {
  const auto dev_bytes = member_bytes(from);
  if (!dev_bytes) return false;
  const auto at = format::superblock0_offset(*dev_bytes);
  if (!at) return false;
  std::vector<std::byte> area(format::kSb0ReservedBytes);
  if (!read_exact(from, area, *at)) return false;
  const std::span<const std::byte> sb(area.data(), format::kSb0Bytes);
  if (bytes::load<uint32_t>(sb, offsetof(mdp_super_t, md_magic)) != MD_SB_MAGIC ||
      bytes::load<uint32_t>(sb, offsetof(mdp_super_t, major_version)) != 0 ||
      format::superblock0_checksum(sb, false) != bytes::load<uint32_t>(sb, offsetof(mdp_super_t, sb_csum)))
    return false;
  return write_exact(to, area, *at);
}

// mdadm's guess_super_type and load_super: the kind --metadata names, or
// the one --examine would show.
std::optional<FoundSuper> metadata_of(const std::string& path, MetadataKind kind) {
  int error = 0;
  if (kind.major < 0) return find_super(path, &error);
  return find_super_as(path, kind.major, kind.minor, &error);
}

std::string kind_name(MetadataKind kind) { return kind.major == 0 ? "0.90" : "1.x"; }

bool copy_metadata(const FoundSuper& found, int from, int to) {
  return found.major == 0 ? copy_metadata0(from, to) : copy_metadata1(found.minor, from, to);
}

std::string base_name(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

MetadataKind metadata_kind(const std::string& text) {
  if (text.empty()) return {};
  auto name = native_metadata(text);
  if (!name) return {};
  if (*name == "0.90") return {0, 90};
  std::string_view t = text;
  while (!t.empty() && t[0] == '0') t.remove_prefix(1);
  if (t == "1") return {1, -1};  // mdadm's match_metadata_desc1: any 1.x
  return {1, (*name)[2] - '0'};
}

int dump_metadata(const std::string& member, const std::string& dir, MetadataKind kind, int verbose) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    say("--dump requires an existing directory, not: " + dir);
    return 16;
  }
  mdfs::UniqueFd fd(::open(member.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    say("Cannot open " + member + " to dump metadata: " + errno_text(errno));
    return 1;
  }
  const auto size = member_bytes(fd.get());
  if (!size) {
    say("Cannot get size of " + member + ": " + errno_text(errno));
    return 1;
  }
  const auto found = metadata_of(member, kind);
  if (!found) {
    if (kind.major < 0) say("Cannot find RAID metadata on " + member);
    else say("No " + kind_name(kind) + " metadata found on " + member);
    return 1;
  }
  const std::string fname = dir + "/" + base_name(member);
  mdfs::UniqueFd out(::open(fname.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (out.get() < 0) {
    say("Cannot create dump file " + fname + ": " + errno_text(errno));
    return 1;
  }
  if (::ftruncate(out.get(), static_cast<off_t>(*size)) != 0) {
    say("failed to set size of dump file: " + errno_text(errno));
    return 1;
  }
  if (!copy_metadata(*found, fd.get(), out.get()) || ::fsync(out.get()) != 0) {
    say("Failed to copy metadata from " + member + " to " + fname);
    ::unlink(fname.c_str());
    return 1;
  }
  // mdadm also links each /dev/disk/by-id name of a block device; a member
  // file has none.
  if (verbose >= 0) std::printf("%s saved as %s.\n", member.c_str(), fname.c_str());
  return 0;
}

int restore_metadata(const std::string& member, const std::string& dir, MetadataKind kind, bool only, int verbose) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    say(dir + " does not exist: cannot restore from there.");
    return 16;
  }
  if (!S_ISDIR(st.st_mode) && !only) {
    say("--restore requires a directory when multiple devices given");
    return 16;
  }
  if (auto use = member_in_use(member)) {
    say("Cannot open " + member + " to restore metadata: " + errno_text(EBUSY) + " (a member of " + *use + ")");
    return 1;
  }
  mdfs::UniqueFd fd(::open(member.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) {
    say("Cannot open " + member + " to restore metadata: " + errno_text(errno));
    return 1;
  }
  const auto size = member_bytes(fd.get());
  if (!size) {
    say("Cannot get size of " + member + ": " + errno_text(errno));
    return 1;
  }
  // mdadm first looks for a /dev/disk/by-id name of a block device; a
  // member file has none, so the file named after the member is chosen.
  std::string fname = dir;
  if (S_ISDIR(st.st_mode)) {
    fname = dir + "/" + base_name(member);
    if (::stat(fname.c_str(), &st) != 0) {
      say("Cannot find suitable file in " + dir + " for " + member);
      return 1;
    }
  }
  mdfs::UniqueFd in(::open(fname.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) {
    say("Could not open " + fname + " for --restore.");
    return 1;
  }
  if (::fstat(in.get(), &st) != 0) {
    say("Could not stat " + fname + " for --restore.");
    return 1;
  }
  if (static_cast<uint64_t>(st.st_size) != *size) {
    say(fname + " is not the same size as " + member + " - cannot restore.");
    return 1;
  }
  const auto found = metadata_of(fname, kind);
  if (!found) {
    if (kind.major < 0) say("Cannot find metadata on " + fname);
    else say("No " + kind_name(kind) + " metadata found on " + fname);
    return 1;
  }
  if (!copy_metadata(*found, in.get(), fd.get()) || ::fsync(fd.get()) != 0) {
    say("Failed to copy metadata from " + fname + " to " + member);
    return 1;
  }
  if (verbose >= 0) std::printf("%s restored from %s.\n", member.c_str(), fname.c_str());
  return 0;
}

}  // namespace mdfsadm
