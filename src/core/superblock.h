// The md core's side of the superblock formats, as md.c's super_types[]:
// load a member's superblock, place a new member's data, and write a
// member's superblock from the array's state (sync_super). The byte
// formats themselves are in src/format.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/super_info.h"
#include "mdfs/result.h"

namespace mdfs::core {

class Member;

// Whether two superblocks describe the same device of the same array: a
// file and its copy.
bool same_device(const format::SuperInfo& a, const format::SuperInfo& b);

namespace superblock {

// What every member's superblock says about the array: the mddev fields
// that super_1_sync and super_90_sync write.
struct ArrayInfo {
  int major = 1;
  int minor = 2;
  std::array<uint8_t, 16> uuid{};
  std::string set_name;  // v1 "homehost:name"
  int64_t ctime = 0;
  int64_t utime = 0;
  int level = 0;
  int layout = 0;
  uint32_t chunk_sectors = 0;
  int raid_disks = 0;
  uint64_t size = 0;           // component size, sectors
  uint64_t events = 0;
  // mddev->in_sync and mddev->recovery_cp: a superblock records
  // resync_offset = recovery_cp when in sync, else 0 (a resync is owed).
  bool in_sync = true;
  uint64_t recovery_cp = ~uint64_t{0};
  int md_minor = 0;            // 0.90's preferred minor
  // A reshape in progress (reshape_position ~0: none).
  uint64_t reshape_position = ~uint64_t{0};
  int new_level = 0;
  int new_layout = 0;
  uint32_t new_chunk_sectors = 0;
  int delta_disks = 0;
  bool reshape_backwards = false;
  // The members, each as every superblock's role table shows it.
  struct Desc {
    int desc_nr = 0;
    int raid_disk = -1;
    bool faulty = false;
    bool in_sync = false;
    bool journal = false;
    bool write_mostly = false;
    bool failfast = false;
  };
  std::vector<Desc> members;
  // The array's internal bitmap, at bitmap_offset sectors from each
  // member's superblock: the superblocks say so on the members it fits on
  // (core::Bitmap writes the bitmap itself).
  std::optional<format::BitmapSuper> bitmap;
  int64_t bitmap_offset = 0;
};

inline constexpr uint16_t kRoleSpare = 0xffff;
inline constexpr uint16_t kRoleFaulty = 0xfffe;

// The member's superblock of this version, if one is there and valid;
// `why` says what was wrong with one that was rejected.
std::optional<format::SuperInfo> load(const Member& member, int major, int minor, std::string* why);

// Every superblock found on a member (format::examine), best first;
// `rejected` says which positions held a damaged one and why.
Result<std::vector<format::SuperInfo>> examine(const Member& member, std::vector<std::string>* rejected);

struct Placement {
  uint64_t sb_offset;    // sectors
  uint64_t data_offset;  // sectors
  uint64_t data_size;    // sectors available for data
};
// Where a new member's superblock and data go, as mdadm 4.2 would put them
// (data_offset given by the user is kept), with `bitmap_sectors` kept for
// an internal bitmap; EINVAL if the member is too small.
Result<Placement> place(int major, int minor, uint64_t member_sectors, std::optional<uint64_t> data_offset,
                        uint32_t bitmap_sectors = 0);

// The bitmap's superblock and bits, in bytes.
uint64_t bitmap_bytes(const format::BitmapSuper& bitmap);
// Whether a bitmap of `bytes` at `offset` sectors from the member's
// superblock stays clear of its data, superblock and bad block log.
bool bitmap_fits(const Member& member, int major, int64_t offset, uint64_t bytes);

// A new array or device UUID.
std::array<uint8_t, 16> random_uuid();

// Writes `member`'s superblock for the array's state; 0 or an errno.
int write(Member& member, const ArrayInfo& array);

// Whether the array's bitmap, covering `sync_sectors`, fits where the
// member's superblock puts it (format::check_bitmap_room); EINVAL and *why
// when it would run into data or metadata.
Result<void> check_bitmap_room(const Member& member, const format::BitmapSuper& bitmap, uint64_t sync_sectors,
                               std::string* why);

}  // namespace superblock
}  // namespace mdfs::core
