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

namespace superblock {

// What every member's superblock says about the array.
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
  uint64_t resync_offset = 0;  // ~0 when clean and in sync
  bool clean = true;
  int md_minor = 0;            // 0.90's preferred minor
  // role of each desc_nr (dev_number): >= 0 active, kRoleSpare, kRoleFaulty
  std::vector<uint16_t> roles;
  // per desc_nr: listed in its role but still being recovered (v1 records
  // the member's recovery_offset; 0.90 lists it as a spare)
  std::vector<bool> recovering;
  // The array's internal bitmap (v1): a member that has no superblock yet
  // gets it too, at bitmap_offset sectors from its superblock.
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
// (data_offset given by the user is kept); EINVAL if the member is too small.
Result<Placement> place(int major, int minor, uint64_t member_sectors, std::optional<uint64_t> data_offset);

// A new array or device UUID.
std::array<uint8_t, 16> random_uuid();

// Writes `member`'s superblock for the array's state; 0 or an errno.
int write(Member& member, const ArrayInfo& array);

}  // namespace superblock
}  // namespace mdfs::core
