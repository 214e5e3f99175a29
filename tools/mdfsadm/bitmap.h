// The write-intent bitmap in mdfsadm: --examine-bitmap (-X) as mdadm 4.2's
// ExamineBitmap prints it, --create/--grow --bitmap and --bitmap-chunk
// through bitmap/ as mdadm uses sysfs, and --re-add.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mdfsadm/mount.h"

namespace mdfsadm {

// -X FILE...: a member's internal bitmap (found through its superblock, as
// mdadm finds it on a block device), or a file holding a bitmap from its
// start (mdadm's bitmap files). Exit status as mdadm's: 0, or 1 when a
// file cannot be read or its bitmap's version is unknown.
int examine_bitmap(const std::vector<std::string>& files, bool brief);

// --bitmap=internal|none and --bitmap-chunk as given.
struct BitmapOptions {
  std::optional<std::string> bitmap;
  std::optional<std::string> chunk;
  std::optional<uint32_t> write_behind;  // --write-behind: bitmap/backlog
};

// What --create writes before it starts the array: bitmap/chunksize and
// bitmap/location with the offset and chunk mdadm's add_internal_bitmap
// would choose for a new array, or nothing. `level` is md's level number;
// `member_sectors` the smallest member's size. Usage errors as mdadm's.
struct CreateBitmap {
  std::string location;  // "+8", "-16"; empty: no bitmap
  uint32_t chunk = 0;    // bytes; 0: mdfs's default (mdadm's)
  uint32_t write_behind = 0;  // the new bitmap's max write-behind
};
CreateBitmap create_bitmap(const BitmapOptions& opts, int level, const std::string& metadata,
                           uint64_t member_sectors);

// --grow DEV --bitmap=internal|none.
int grow_bitmap(const std::string& dev, const BitmapOptions& opts, const MountOptions& mopts);

// --re-add of `member` to the array: refused as mdadm refuses it ("--re-add
// for X to DEV is not possible") unless the array's bitmap still covers the
// member, which then recovers only what changed. `quiet_refusal`: for
// --add, which falls back to adding it as a new member.
enum class ReAdd { kReAdded, kNotPossible };
ReAdd re_add(const ArrayRef& arr, const std::string& name, bool quiet_refusal);

}  // namespace mdfsadm
