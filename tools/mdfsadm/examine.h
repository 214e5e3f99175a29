// --examine: the md superblock of member image files, printed as mdadm
// 4.2's examine_super0/examine_super1 print it. Reads the files directly
// (no mount needed), through the project's format codecs.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/superblock0.h"
#include "format/superblock1.h"

namespace mdfsadm {

// The superblock mdadm would report for a member file: the kind with the
// latest creation time (0.90, then 1.0, 1.1, 1.2 on a tie), as mdadm's
// guess_super. The checksum is not held against it (mdadm reports a wrong
// one), and an internal bitmap that does not belong drops the bitmap
// feature, as mdadm's load_super1 does.
struct FoundSuper {
  int major = 1;
  int minor = 2;
  std::optional<mdfs::format::Superblock1> sb1;
  std::optional<mdfs::format::Superblock0> sb0;
  uint32_t expected_csum = 0;   // what the checksum should be
  uint64_t device_sectors = 0;  // the member's size
  // The bitmap superblock's raw fields mdadm uses (zero without a bitmap).
  uint64_t bitmap_sync_size = 0;
  uint32_t bitmap_chunksize = 0;
  uint32_t bitmap_nodes = 0;
  std::string bitmap_cluster_name;

  std::array<uint8_t, 16> uuid() const;
  std::string version() const;  // "1.2", "0.90"
  std::string name() const;     // v1 set_name up to its NUL; "" for 0.90
  int64_t ctime() const;
  int level() const;
  uint64_t events() const;
};

// Reads `path`. nullopt with *error (an errno) when it cannot be read;
// nullopt with *error 0 when it has no md superblock, and *rejected (if
// given) says why a superblock found there was refused ("1.2: raid_disks
// 4294967295 exceeds ..."): the bounds mdfs assembles by.
// With `swapped0`, only a byte-swapped 0.90 superblock is looked for
// (mdadm's --metadata=0.swap, and --update=byteorder).
std::optional<FoundSuper> find_super(const std::string& path, int* error, std::string* rejected = nullptr,
                                     bool swapped0 = false);

// As find_super, only the superblock of one kind: major 0 (0.90) or 1,
// minor -1 for any 1.x (--metadata given with --dump or --restore).
std::optional<FoundSuper> find_super_as(const std::string& path, int major, int minor, int* error);
// The bytes of a member: a regular file's length, a block device's end.
// Nothing for another kind of file (errno 0) or when fstat fails (errno).
std::optional<uint64_t> member_bytes(int fd);

// The array's size in bytes from one member's, as mdadm's --examine derives
// it (data members, raid10 divided by its copies); 0 when not derivable,
// clamped to INT64_MAX.
long long array_bytes(int level, int raid_disks, int layout, unsigned long long member_bytes);

// mdadm's examine_super for the superblock, without the "FILE:" line.
std::string examine_text(const FoundSuper& found, const std::string& homehost);

// The block device name mdadm's map_dev finds under /dev for major:minor
// ("" when none), for the 0.90 disk table.
std::string map_dev(unsigned major, unsigned minor);

}  // namespace mdfsadm
