#include "mdfsadm/update.h"

#include <fcntl.h>
#include <sys/random.h>
#include <linux/raid/md_p.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "format/superblock0.h"
#include "format/superblock1.h"
#include "mdfs/unique_fd.h"
#include "mdfsadm/force.h"

namespace mdfsadm {

namespace {

namespace format = mdfs::format;

constexpr const char* kValidList =
    "Valid --update options are:\n"
    "     'sparc2.2', 'super-minor', 'uuid', 'name', 'nodes', 'resync',\n"
    "     'summaries', 'homehost', 'home-cluster', 'byteorder', 'devicesize',\n"
    "     'bitmap', 'no-bitmap', 'metadata', 'revert-reshape'\n"
    "     'bbl', 'no-bbl', 'force-no-bbl', 'ppl', 'no-ppl'\n"
    "     'layout-original', 'layout-alternate', 'layout-unspecified'\n";

// The words mdadm takes that mdfsadm does not carry out, and why.
const char* unsupported_reason(const std::string& what) {
  if (what == "sparc2.2") return "the SPARC 2.2 kernel's superblock layout";
  if (what == "home-cluster" || what == "nodes" || what == "bitmap") return "clustered arrays";
  if (what == "revert-reshape") return "reverting a reshape";
  if (what == "ppl") return "PPL arrays are read, not written";
  return nullptr;
}

// mdadm's calc_bitmap_size with a 4 KiB boundary: the bitmap's sectors.
uint64_t bitmap_sectors(const FoundSuper& f) {
  if (f.bitmap_chunksize == 0) return 0;
  const uint64_t bits = (f.bitmap_sync_size * 512 + f.bitmap_chunksize - 1) / f.bitmap_chunksize;
  const uint64_t bytes = (bits + 7) / 8 + 256;
  return (bytes + 4095) / 4096 * 4096 / 512;
}

// "bbl": a bad block log of 8 sectors where mdadm puts one: after the
// bitmap (at least 32 KiB past the superblock when there is room) for 1.1
// and 1.2, just before the superblock (or the bitmap) for 1.0; nothing
// when there is no room.
void add_bad_block_log(format::Superblock1& sb, const FoundSuper& f) {
  int64_t bitmap_offset = 0, bm_sectors = 0;
  if (sb.feature_map & MD_FEATURE_BITMAP_OFFSET) {
    bitmap_offset = sb.bitmap_offset;
    bm_sectors = static_cast<int64_t>(bitmap_sectors(f));
  } else if (sb.feature_map & (MD_FEATURE_PPL | MD_FEATURE_MULTIPLE_PPLS)) {
    bitmap_offset = format::ppl_offset(sb);
    bm_sectors = format::ppl_size(sb);
  }
  const auto sb_offset = static_cast<int64_t>(sb.super_offset);
  const auto data_offset = static_cast<int64_t>(sb.data_offset);
  if (sb_offset < data_offset) {
    int64_t bb = sb_offset + 8;
    if (bm_sectors && bitmap_offset > 0) bb = bitmap_offset + bm_sectors;
    while (bb < sb_offset + 8 + 64 && bb + 16 <= data_offset) bb += 8;
    if (bb + 8 <= data_offset) {
      sb.bblog_size = 8;
      sb.bblog_offset = static_cast<int32_t>(bb);
    }
  } else {
    const int64_t space = bm_sectors && bitmap_offset < 0
                              ? -bitmap_offset - bm_sectors
                              : sb_offset - data_offset - static_cast<int64_t>(sb.data_size);
    if (space >= 8) {
      sb.bblog_size = 8;
      sb.bblog_offset = -8;
    }
  }
}

// The bitmap superblock carries the array's uuid too (bytes 8..23).
void write_bitmap_uuid(const std::string& path, uint64_t bitmap_byte, const std::array<uint8_t, 16>& uuid) {
  mdfs::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd || ::pwrite(fd.get(), uuid.data(), uuid.size(), static_cast<off_t>(bitmap_byte + 8)) != 16 ||
      ::fsync(fd.get()) != 0)
    fail("Could not update the bitmap's uuid on " + path);
}

std::string short_name(const std::string& set_name) {
  auto colon = set_name.find(':');
  return colon == std::string::npos ? set_name : set_name.substr(colon + 1);
}

// update_super1: false for a word 1.x superblocks have no update for.
bool update1(format::Superblock1& sb, const FoundSuper& f, const std::string& path, std::string what,
             const UpdateRequest& req, bool* bitmap_uuid) {
  std::string name = req.name;
  if (what == "homehost") {  // a name update keeping the name, with the new host
    name = short_name(sb.set_name);
    what = "name";
  }
  if (what == "resync") {
    sb.resync_offset = 0;
  } else if (what == "uuid") {
    sb.set_uuid = *req.uuid;
    *bitmap_uuid = (sb.feature_map & MD_FEATURE_BITMAP_OFFSET) != 0;
  } else if (what == "no-bitmap") {
    sb.feature_map &= ~uint32_t{MD_FEATURE_BITMAP_OFFSET};
  } else if (what == "bbl") {
    add_bad_block_log(sb, f);
  } else if (what == "no-bbl") {
    if (sb.feature_map & MD_FEATURE_BAD_BLOCKS) {
      say("Cannot remove active bbl from " + path);
    } else {
      sb.bblog_size = 0;
      sb.bblog_shift = 0;
      sb.bblog_offset = 0;
    }
  } else if (what == "force-no-bbl") {
    sb.feature_map &= ~uint32_t{MD_FEATURE_BAD_BLOCKS};
    sb.bblog_size = 0;
    sb.bblog_shift = 0;
    sb.bblog_offset = 0;
  } else if (what == "no-ppl") {
    sb.feature_map &= ~uint32_t{MD_FEATURE_PPL | MD_FEATURE_MULTIPLE_PPLS};
  } else if (what == "name") {
    if (name.empty()) name = std::to_string(req.md_minor);
    if (!req.homehost.empty() && name.find(':') == std::string::npos && req.homehost.size() + 1 + name.size() < 32)
      sb.set_name = req.homehost + ":" + name;
    else
      sb.set_name = name.substr(0, 31);
  } else if (what == "devicesize") {
    // 1.1 and 1.2 only: a 1.0 superblock sits at the end it would move.
    if (sb.super_offset < sb.data_offset) sb.data_size = f.device_sectors - sb.data_offset;
  } else if (what == "layout-original" || what == "layout-alternate" || what == "layout-unspecified") {
    if (sb.level != 0) {
      say(path + ": " + what + " only supported for RAID0");
      return false;
    }
    if (what == "layout-unspecified") {
      sb.feature_map &= ~uint32_t{MD_FEATURE_RAID0_LAYOUT};
      sb.layout = 0;
    } else {
      sb.feature_map |= MD_FEATURE_RAID0_LAYOUT;
      sb.layout = what == "layout-original" ? 1 : 2;
    }
  } else {
    return false;
  }
  return true;
}

// update_super0: false for a word 0.90 superblocks have no update for.
bool update0(format::Superblock0& sb, const std::string& what, const UpdateRequest& req, bool* bitmap_uuid) {
  if (what == "byteorder") {
    // Read byte-swapped (find_super's swapped0); written back in this
    // machine's order, which is all mdadm's byteorder update does.
    sb.big_endian = false;
  } else if (what == "super-minor") {
    sb.md_minor = static_cast<uint32_t>(req.md_minor);
  } else if (what == "summaries") {
    sb.nr_disks = sb.active_disks = sb.working_disks = sb.failed_disks = sb.spare_disks = 0;
    for (std::size_t i = 0; i < sb.disks.size(); ++i) {
      auto& d = sb.disks[i];
      if (d.major || d.minor) {
        if (d.state & (1u << MD_DISK_REMOVED)) continue;
        ++sb.nr_disks;
        if (d.state & (1u << MD_DISK_ACTIVE)) ++sb.active_disks;
        if (d.state & (1u << MD_DISK_FAULTY)) ++sb.failed_disks;
        else ++sb.working_disks;
        if (d.state == 0) ++sb.spare_disks;
      } else if (i >= sb.raid_disks && d.number == 0) {
        d.state = 0;
      }
    }
  } else if (what == "resync") {
    sb.state &= ~(1u << MD_SB_CLEAN);
    sb.recovery_cp = 0;
  } else if (what == "uuid") {
    // Each word as written in the uuid's text (mdadm's parse_uuid), which
    // is how --examine prints a 0.90 uuid back.
    for (int w = 0; w < 4; ++w) {
      uint32_t v = 0;
      for (int b = 0; b < 4; ++b) v = v << 8 | (*req.uuid)[static_cast<size_t>(w * 4 + b)];
      sb.set_uuid[static_cast<size_t>(w)] = v;
    }
    *bitmap_uuid = (sb.state & (1u << MD_SB_BITMAP_PRESENT)) != 0;
  } else if (what == "no-bitmap") {
    sb.state &= ~(1u << MD_SB_BITMAP_PRESENT);
  } else {
    return false;
  }
  return true;
}

// update_super0's "metadata" (super1_make_v0): the 1.0 superblock that
// takes over a clean 0.90 member without a bitmap. The data stays where it
// is (1.0 keeps it at 0, as 0.90); the 0.90 superblock is left in place, as
// mdadm leaves it, and the 1.0 one is found first by its later creation
// time (one second on). Events start again at 0; the name is the 0.90
// preferred minor; the roles are the 0.90 table's in-sync, non-faulty
// disks by their number, every other slot spare.
void check_convertible(const format::Superblock0& sb0) {
  if (sb0.state & (1u << MD_SB_BITMAP_PRESENT)) fail("Cannot update metadata when bitmap is present");
  if (sb0.state != 1u << MD_SB_CLEAN) fail("Cannot update metadata on unclean array");
}

format::Superblock1 superblock1_from0(const format::Superblock0& sb0, uint64_t device_sectors) {
  check_convertible(sb0);
  format::Superblock1 sb;
  sb.set_uuid = format::superblock0_uuid_bytes(sb0);
  sb.set_name = std::to_string(sb0.md_minor);
  sb.ctime = static_cast<uint64_t>(sb0.ctime) + 1;
  sb.level = sb0.level;
  sb.layout = sb0.layout;
  sb.size = static_cast<uint64_t>(sb0.size) * 2;
  sb.chunksize = sb0.chunk_size / 512;
  sb.raid_disks = sb0.raid_disks;
  // Levels without redundancy: what a 0.90 member offers (avail_size0).
  sb.data_size = sb0.level > 0 ? sb.size : (device_sectors & ~uint64_t{127}) - 128;
  sb.resync_offset = format::kMaxSector;
  sb.dev_number = sb0.this_disk.number;
  sb.utime = sb0.utime;
  sb.super_offset = (device_sectors - 16) & ~uint64_t{7};
  sb.device_uuid = random_uuid();
  sb.dev_roles.assign(sb0.disks.size(), 0xffff);
  for (std::size_t i = 0; i < sb0.disks.size(); ++i) {
    const uint32_t state = sb0.disks[i].state;
    if ((state & (1u << MD_DISK_SYNC)) && !(state & (1u << MD_DISK_FAULTY)))
      sb.dev_roles[i] = static_cast<uint16_t>(sb0.disks[i].raid_disk);
  }
  return sb;
}

}  // namespace

std::array<uint8_t, 16> random_uuid() {
  std::array<uint8_t, 16> uuid{};
  if (::getrandom(uuid.data(), uuid.size(), 0) != static_cast<ssize_t>(uuid.size())) fail("cannot make a random uuid");
  return uuid;
}

void check_update_word(const std::string& what) {
  static const std::set<std::string> kValid = {
      "sparc2.2", "super-minor", "summaries", "resync",   "uuid",         "name",    "homehost",
      "home-cluster", "nodes", "devicesize", "bitmap", "no-bitmap",       "bbl",     "no-bbl",
      "force-no-bbl", "ppl", "no-ppl", "metadata", "revert-reshape", "layout-original", "layout-alternate",
      "layout-unspecified", "byteorder"};
  if (what == "?" || what == "help") {
    std::printf("mdfsadm: %s", kValidList);
    std::fflush(stdout);
    std::exit(0);
  }
  if (!kValid.count(what)) usage("'--update=" + what + "' is invalid.  " + std::string(kValidList, std::strlen(kValidList) - 1));
  if (const char* why = unsupported_reason(what)) fail("not supported by mdfs: --update=" + what + " (" + why + ")");
}

void check_update(const FoundSuper& found, const UpdateRequest& req) {
  if (req.what == "metadata" && found.sb0) check_convertible(*found.sb0);
}

void apply_update(const Mount& mount, const std::string& name, FoundSuper& found, const UpdateRequest& req) {
  const std::string path = mount.member_path(name);
  bool bitmap_uuid = false;
  bool understood = false;
  uint64_t bitmap_byte = 0;
  if (found.sb1) {
    if (req.what == "uuid" && !req.uuid) fail("internal: --update=uuid without a uuid");
    understood = update1(*found.sb1, found, path, req.what, req, &bitmap_uuid);
    bitmap_byte = static_cast<uint64_t>(static_cast<int64_t>(found.sb1->super_offset) + found.sb1->bitmap_offset) * 512;
  } else {
    if (req.what == "uuid" && !req.uuid)
      fail("--update=uuid of 0.90 metadata needs --uuid (mdadm derives half of it from the host name)");
    if (req.what == "homehost")
      fail("not supported by mdfs: --update=homehost of 0.90 metadata (mdadm hashes the host name into the uuid)");
    if (req.what == "metadata") {
      found.sb1 = superblock1_from0(*found.sb0, found.device_sectors);
      found.sb0.reset();
      found.major = 1;
      found.minor = 0;
      store_super(mount, name, found);
      return;
    }
    understood = update0(*found.sb0, req.what, req, &bitmap_uuid);
    if (auto at = format::superblock0_offset(found.device_sectors * 512)) bitmap_byte = *at + 4096;
  }
  if (!understood) fail("--update=" + req.what + " not understood for " + found.version() + " metadata");
  store_super(mount, name, found);
  // The bitmap holds the uuid as the kernel reports it (a 0.90 array's
  // words in this machine's order).
  if (bitmap_uuid)
    write_bitmap_uuid(path, bitmap_byte, found.sb1 ? found.sb1->set_uuid : format::superblock0_uuid_bytes(*found.sb0));
}

}  // namespace mdfsadm
