// What a member's superblock says, whatever its format: the summary the
// rest of mdfs works with (as mdadm's struct mdinfo), plus finding the
// superblock on a member. The member is read through a callback, so this
// code still does no I/O of its own.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "format/badblocks.h"
#include "format/bitmap.h"
#include "format/superblock0.h"
#include "format/superblock1.h"
#include "mdfs/result.h"

namespace mdfs::format {

// Roles in a role table (v1 dev_roles; derived from the disk table for
// 0.90). Values below kRoleMax are active roles (slot numbers).
inline constexpr uint16_t kRoleSpare = 0xffff;    // MD_DISK_ROLE_SPARE
inline constexpr uint16_t kRoleFaulty = 0xfffe;   // MD_DISK_ROLE_FAULTY
inline constexpr uint16_t kRoleJournal = 0xfffd;  // MD_DISK_ROLE_JOURNAL
inline constexpr uint16_t kRoleMax = 0xff00;      // MD_DISK_ROLE_MAX

struct SuperInfo {
  int major = 1;  // 0 or 1
  int minor = 2;  // 90 (91 mid-reshape) for 0.90; 0, 1 or 2 for 1.x
  std::array<uint8_t, 16> uuid{};  // as sysfs `uuid` shows it
  std::string name;                // v1 set_name up to its first NUL; empty for 0.90
  int level = 0;
  int layout = 0;
  uint32_t chunk_sectors = 0;
  int raid_disks = 0;
  uint64_t size = 0;  // component sectors; v1 linear/raid0 record 0 (use data_size)
  int64_t ctime = 0;  // seconds
  int64_t utime = 0;  // seconds
  uint64_t events = 0;
  // First sector not known to be in sync; kMaxSector when in sync. For 0.90
  // derived as the kernel does: in sync when clean, else recovery_cp if it
  // was checkpointed at the current event count, else 0.
  uint64_t resync_offset = kMaxSector;
  bool clean = true;
  uint64_t data_offset = 0;   // sectors
  uint64_t data_size = 0;     // sectors usable for data
  uint64_t super_offset = 0;  // sectors
  uint32_t dev_number = 0;    // v1 dev_number; 0.90 this_disk.number
  uint16_t role = kRoleSpare; // this member's entry of `roles`
  std::vector<uint16_t> roles;  // role of each dev_number
  std::array<uint8_t, 16> device_uuid{};  // v1 only
  uint32_t feature_map = 0;   // v1 only
  bool write_mostly = false;
  bool failfast = false;
  bool replacement = false;      // v1 MD_FEATURE_REPLACEMENT
  uint32_t corrected_reads = 0;  // v1 cnt_corrected_read
  // A reshape in progress (reshape_position kMaxSector: none), as v1 and
  // 0.91 record it: the geometry it goes to, and where each member's data
  // goes (new_offset, v1 MD_FEATURE_NEW_OFFSET; sectors from data_offset).
  uint64_t reshape_position = kMaxSector;
  int new_level = 0;
  int new_layout = 0;
  uint32_t new_chunk_sectors = 0;
  int delta_disks = 0;
  bool reshape_backwards = false;
  int64_t new_offset = 0;
  int64_t bitmap_offset = 0;  // sectors from the superblock; 0: no internal bitmap
  uint64_t recovery_offset = kMaxSector;  // kMaxSector: fully recovered
  // A journal member's checkpoint in its log (v1 journal_tail, the same
  // field as recovery_offset), as super_1_validate loads it for role
  // 0xfffd with MD_FEATURE_JOURNAL; 0 otherwise.
  uint64_t journal_tail = 0;
  int md_minor = -1;          // 0.90's preferred minor; -1 for v1
  uint32_t sb_csum = 0;       // the checksum as stored
  // The internal bitmap's superblock when bitmap_offset says there is one
  // and it is valid and belongs to this array; else bitmap_problem says why.
  std::optional<BitmapSuper> bitmap;
  std::string bitmap_problem;
  // The bad block list, read from the log as super_1_load reads it:
  // enabled (shift >= 0) when the superblock has a log, loaded when
  // MD_FEATURE_BAD_BLOCKS says it holds entries. Disabled for 0.90.
  BadBlocks bad_blocks;
  // The decoded superblock itself, for rewriting it.
  std::variant<Superblock1, Superblock0> super;
};

// Metadata version as text: "0.90", "1.0", "1.1", "1.2".
std::string version_string(const SuperInfo& info);

SuperInfo super_info(const Superblock1& sb, int minor);
SuperInfo super_info(const Superblock0& sb, uint64_t dev_bytes);

// Reads `out.size()` bytes at byte `offset` of the member; an errno result
// on failure (a short read is EIO).
using ReadAt = std::function<Result<void>(uint64_t offset, std::span<std::byte> out)>;

// The superblock of version major.minor (0.90, 1.0, 1.1, 1.2) on a member
// of `device_bytes`, checked, with its bitmap superblock if it has one.
// EINVAL with *why when there is none or it is invalid; the read's errno
// when reading fails.
Result<SuperInfo> load_super(int major, int minor, uint64_t device_bytes, const ReadAt& read,
                             std::string* why = nullptr);

struct Examined {
  // Every valid superblock, the one mdadm --examine would report first:
  // mdadm tries 0.90, then 1.0, 1.1, 1.2 and keeps the one with the latest
  // creation time, the earlier tried winning a tie. The rest follow in the
  // order tried.
  std::vector<SuperInfo> found;
  // For each position holding the md magic whose superblock was rejected:
  // "1.2: superblock checksum mismatch (stored 0x..., computed 0x...)".
  std::vector<std::string> rejected;
};

// Whether an internal bitmap of `bitmap_sectors` (its superblock and bits,
// bitmap_sectors(sync, chunk, 512)) fits at the member's bitmap position
// without running into anything else: after the superblock and before the
// data and a bad block log (1.1, 1.2), between the data the array uses
// (`data_sectors` from data_offset) and the bad block log or superblock
// (1.0), inside the 64 KiB reserved at the end of a 0.90 member; never past
// the member's `device_sectors`. The kernel's write_sb_page refuses to
// write a bitmap page that would run into the data or the metadata.
// EINVAL with *why when it does not fit.
Result<void> check_bitmap_room(const SuperInfo& info, uint64_t bitmap_sectors, uint64_t data_sectors,
                               uint64_t device_sectors, std::string* why = nullptr);

// Looks for every kind of md superblock on a member of `device_bytes`.
// An errno only when a read fails; no superblock at all is an empty
// `found`.
Result<Examined> examine(uint64_t device_bytes, const ReadAt& read);

}  // namespace mdfs::format
