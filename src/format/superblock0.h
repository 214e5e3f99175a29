// The version-0.90 md superblock: `mdp_super_t` of <linux/raid/md_p.h>,
// 4 KiB of 32-bit words in the byte order of the machine that wrote it, in
// the last 64 KiB-aligned 64 KiB of the member. Read in either byte order,
// written little-endian (what x86 and its kernel write).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mdfs/result.h"

namespace mdfs::format {

inline constexpr std::size_t kSb0Bytes = 4096;
inline constexpr std::size_t kSb0Disks = 27;  // MD_SB_DISKS
inline constexpr uint64_t kSb0ReservedBytes = 64 * 1024;

// One descriptor of the disks[] table (and this_disk); `state` holds
// 1 << MD_DISK_FAULTY, _ACTIVE, _SYNC, _REMOVED, _WRITEMOSTLY...
struct Disk0 {
  uint32_t number = 0;
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t raid_disk = 0;
  uint32_t state = 0;
  bool operator==(const Disk0&) const = default;
};

// The superblock's fields in host byte order. Reserved words are not kept:
// the kernel zeroes the whole superblock before writing it.
struct Superblock0 {
  bool big_endian = false;  // byte order found on disk
  uint32_t major_version = 0;
  uint32_t minor_version = 90;  // 91 while a reshape is in progress
  uint32_t patch_version = 0;
  uint32_t gvalid_words = 0;
  std::array<uint32_t, 4> set_uuid{};  // set_uuid0..3
  uint32_t ctime = 0;
  int32_t level = 0;
  uint32_t size = 0;  // KiB of each member used
  uint32_t nr_disks = 0;
  uint32_t raid_disks = 0;
  uint32_t md_minor = 0;
  uint32_t not_persistent = 0;
  uint32_t utime = 0;
  uint32_t state = 0;  // 1 << MD_SB_CLEAN, MD_SB_ERRORS, MD_SB_BITMAP_PRESENT
  uint32_t active_disks = 0;
  uint32_t working_disks = 0;
  uint32_t failed_disks = 0;
  uint32_t spare_disks = 0;
  uint32_t sb_csum = 0;  // as read; serialize_superblock0 computes its own
  uint64_t events = 0;
  uint64_t cp_events = 0;
  uint32_t recovery_cp = 0;
  uint64_t reshape_position = 0;
  int32_t new_level = 0;
  int32_t delta_disks = 0;
  uint32_t new_layout = 0;
  uint32_t new_chunk = 0;
  uint32_t layout = 0;
  uint32_t chunk_size = 0;  // bytes
  uint32_t root_pv = 0;
  uint32_t root_block = 0;
  std::array<Disk0, kSb0Disks> disks{};
  Disk0 this_disk;

  bool operator==(const Superblock0&) const = default;
};

// The set uuid as 16 bytes, each word little-endian: what the kernel on a
// little-endian machine reports (sysfs `uuid`) for an x86-written array.
std::array<uint8_t, 16> superblock0_uuid_bytes(const Superblock0& sb);

// Byte offset of the superblock on a member of `dev_bytes`:
// (dev_bytes rounded down to 64 KiB) - 64 KiB. EINVAL below 128 KiB.
Result<uint64_t> superblock0_offset(uint64_t dev_bytes);

// Checksum of the 4 KiB superblock read in `order`-endian words, word 38
// (sb_csum) taken as zero.
uint32_t superblock0_checksum(std::span<const std::byte> sb, bool big_endian);

// Decodes the 4 KiB at superblock0_offset(dev_bytes) of a member of
// `dev_bytes`, in whichever byte order its magic shows, and rejects what
// the kernel's super_90_load would (version, checksum, no raid disks, a
// this_disk outside the table, a component larger than the member), and a
// raid_disks beyond the 27 descriptors of the disk table (the kernel runs
// more while memory allows, but no 0.90 superblock can record them).
// EINVAL with *why on failure.
Result<Superblock0> parse_superblock0(std::span<const std::byte> bytes, uint64_t dev_bytes,
                                      std::string* why = nullptr);

// The 4 KiB little-endian superblock with its checksum.
std::vector<std::byte> serialize_superblock0(const Superblock0& sb);

// What a new 0.90 array's superblocks share.
struct NewArray0 {
  std::array<uint32_t, 4> set_uuid{};
  uint32_t ctime = 0;
  int32_t level = 0;
  uint32_t layout = 0;
  uint32_t chunk_bytes = 0;
  uint32_t size_kib = 0;
  uint32_t raid_disks = 0;
  uint32_t md_minor = 0;
  // mddev->in_sync and recovery_cp: in sync, the superblock records the
  // resync checkpoint (clean when there is none); else a resync is owed.
  bool in_sync = true;
  uint64_t recovery_cp = ~uint64_t{0};
  bool bitmap = false;  // MD_SB_BITMAP_PRESENT: a bitmap 4 KiB after the superblock
  uint64_t events = 1;
  // A reshape in progress: the superblock becomes 0.91 and records it.
  bool reshape = false;
  uint64_t reshape_position = 0;
  int32_t new_level = 0;
  int32_t delta_disks = 0;
  uint32_t new_layout = 0;
  uint32_t new_chunk_bytes = 0;
  // The members present, each at disks[number]; state as MD_DISK_* bits.
  std::vector<Disk0> members;
};

// The superblock of member `this_number`, filled as the kernel's
// super_90_sync does: counts of active, working, failed and spare disks,
// removed+faulty placeholders for missing roles, this_disk a copy of its
// disks[] entry, and recovery_cp / cp_events from the clean state.
Superblock0 new_superblock0(const NewArray0& array, uint32_t this_number);

}  // namespace mdfs::format
