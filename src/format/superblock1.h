// The version-1 md superblock (metadata 1.0, 1.1, 1.2): `struct
// mdp_superblock_1` of <linux/raid/md_p.h>, every field little-endian, 256
// bytes followed by one 16-bit role per device number (max_dev of them).
// Decoding, checking as the kernel's super_1_load does, encoding, and where
// mdadm 4.2 puts the superblock, the data, the bitmap and the bad block log
// on a new member.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mdfs/result.h"

namespace mdfs::format {

inline constexpr std::size_t kSb1HeaderBytes = 256;
// The kernel reads 4 KiB at the superblock's sector, so the role table can
// hold at most (4096 - 256) / 2 entries.
inline constexpr std::size_t kSb1ReadBytes = 4096;
inline constexpr uint32_t kSb1MaxDev = (kSb1ReadBytes - kSb1HeaderBytes) / 2;
inline constexpr uint64_t kMaxSector = ~uint64_t{0};
// The smallest member mdadm will place a v1 superblock on.
inline constexpr uint64_t kSb1MinDeviceSectors = 24;
// The most devices a v1 array can have: one role entry each in the 4 KiB
// superblock (the kernel's max_disks for v1). The kernel itself runs a
// larger raid_disks while memory allows, but no superblock can record it.
inline constexpr uint32_t kSb1MaxDisks = kSb1MaxDev;

// Every field of the superblock in host byte order.
struct Superblock1 {
  uint32_t feature_map = 0;
  std::array<uint8_t, 16> set_uuid{};
  // The 32-byte set_name field with its trailing NULs removed (so the field
  // round-trips exactly); mdadm writes "homehost:name".
  std::string set_name;
  uint64_t ctime = 0;  // low 40 bits seconds, high 24 bits microseconds
  int32_t level = 0;   // -1 linear, -4 multipath, 0, 1, 4, 5, 6, 10
  uint32_t layout = 0;
  uint64_t size = 0;   // sectors of each member used by the array
  uint32_t chunksize = 0;  // sectors
  uint32_t raid_disks = 0;
  // Sectors from the superblock to the bitmap (signed), when feature_map
  // has MD_FEATURE_BITMAP_OFFSET; with MD_FEATURE_PPL the same 32 bits hold
  // the PPL offset and size (see ppl_offset, ppl_size).
  int32_t bitmap_offset = 0;
  uint32_t new_level = 0;
  uint64_t reshape_position = 0;
  int32_t delta_disks = 0;
  uint32_t new_layout = 0;
  uint32_t new_chunk = 0;
  int32_t new_offset = 0;
  uint64_t data_offset = 0;  // sectors
  uint64_t data_size = 0;    // sectors
  uint64_t super_offset = 0; // sectors
  uint64_t recovery_offset = 0;  // also journal_tail on a journal device
  uint32_t dev_number = 0;
  uint32_t cnt_corrected_read = 0;
  std::array<uint8_t, 16> device_uuid{};
  uint8_t devflags = 0;  // WriteMostly1, FailFast1
  uint8_t bblog_shift = 0;
  uint16_t bblog_size = 0;    // sectors
  int32_t bblog_offset = 0;   // sectors from the superblock
  uint64_t utime = 0;
  uint64_t events = 0;
  uint64_t resync_offset = 0;  // kMaxSector: in sync
  uint32_t sb_csum = 0;  // as read; serialize_superblock1 computes its own
  std::vector<uint16_t> dev_roles;  // max_dev entries, indexed by dev_number

  bool operator==(const Superblock1&) const = default;
};

inline int16_t ppl_offset(const Superblock1& sb) { return static_cast<int16_t>(sb.bitmap_offset & 0xffff); }
inline uint16_t ppl_size(const Superblock1& sb) { return static_cast<uint16_t>(static_cast<uint32_t>(sb.bitmap_offset) >> 16); }

// Bytes the superblock occupies on disk: 256 + 2 * max_dev rounded up to a
// 512-byte sector, as the kernel writes it.
std::size_t superblock1_bytes(uint32_t max_dev);

// The checksum over the first 256 + 2 * max_dev bytes of `sb` (fewer if
// `sb` is shorter) with the sb_csum field taken as zero.
uint32_t superblock1_checksum(std::span<const std::byte> sb, uint32_t max_dev);

// Sector of a 1.<minor> superblock on a member of `dev_sectors`: 1.0 near
// the end, (dev_sectors - 16) rounded down to 4 KiB; 1.1 at 0; 1.2 at 8.
// EINVAL for another minor or a member smaller than kSb1MinDeviceSectors.
Result<uint64_t> superblock1_offset(int minor, uint64_t dev_sectors);

// Decodes the superblock from `bytes`, read at superblock1_offset(minor,
// dev_sectors) of a member of `dev_sectors`, and rejects what the kernel
// would reject (magic, version, checksum, unknown features, non-zero
// padding, max_dev beyond 4 KiB or the buffer, a superblock that does not
// record its own position, dev_number outside the role table, data or
// bitmap or bad block log outside the member or over the superblock), and
// a raid_disks beyond kSb1MaxDisks. On failure the error is EINVAL and
// *why, if given, says what was wrong.
Result<Superblock1> parse_superblock1(std::span<const std::byte> bytes, int minor, uint64_t dev_sectors,
                                      std::string* why = nullptr);

// The superblock's bytes, superblock1_bytes(dev_roles.size()) long, with
// the checksum computed; role slots past max_dev in the last sector are
// 0xff as mdadm leaves them. EINVAL if set_name is longer than 32 bytes or
// there are more than kSb1MaxDev roles.
Result<std::vector<std::byte>> serialize_superblock1(const Superblock1& sb);

// mdadm's choose_bm_space: sectors kept free for a write-intent bitmap on
// an array whose members use `sectors` (0 below 64 KiB, 4 KiB up to 8 GiB,
// 64 KiB up to 200 GiB, then 128 KiB).
uint64_t mdadm_bitmap_space(uint64_t sectors);

// Where mdadm 4.2 starts the data on a new 1.1/1.2 member of `dev_sectors`
// when --data-offset is not given: 12 KiB for superblock and bad block
// log, the bitmap space, and reshape headroom (128 MiB, halved while more
// than 1/1024 of the member and while half of it is still at least two
// chunks), rounded up to 1 MiB. `chunk_sectors` is the array's chunk (0
// for levels without one). For 1.0 the data starts at 0.
uint64_t mdadm_data_offset1(int minor, uint64_t dev_sectors, uint32_t chunk_sectors);

// The member sectors mdadm 4.2 offers to the array (its validate_geometry
// "freesize") on a new member: what is left after the data offset (1.1,
// 1.2), or before the superblock, bad block log and bitmap space (1.0).
// 0 if the member is too small.
uint64_t mdadm_avail_sectors1(int minor, uint64_t dev_sectors, uint64_t data_offset);

// Where everything goes on one new member.
struct Placement1 {
  uint64_t super_offset = 0;  // sectors
  uint64_t data_offset = 0;   // sectors
  uint64_t data_size = 0;     // sectors
  int32_t bitmap_offset = 0;  // sectors from the superblock; 0: no bitmap
  int32_t bblog_offset = 0;   // sectors from the superblock; 0: no log
  uint16_t bblog_size = 0;    // sectors
};

struct PlaceRequest1 {
  int minor = 2;
  uint64_t dev_sectors = 0;
  uint64_t component_sectors = 0;  // the array's `size` (0 for linear/raid0)
  uint32_t chunk_sectors = 0;
  std::optional<uint64_t> data_offset;  // --data-offset; else mdadm's choice
  uint32_t bitmap_sectors = 0;  // space of an internal bitmap; 0: none
};

// As mdadm 4.2's write_init_super1 lays out a member of a new array.
// EINVAL if the member cannot hold the superblock, bitmap and component.
Result<Placement1> place_member1(const PlaceRequest1& req);

// What a new array's superblocks share.
struct NewArray1 {
  std::array<uint8_t, 16> set_uuid{};
  std::string set_name;  // "homehost:name", at most 32 bytes
  uint64_t ctime = 0;    // seconds
  int32_t level = 0;
  uint32_t layout = 0;
  uint32_t chunk_sectors = 0;
  uint32_t raid_disks = 0;
  uint64_t size = 0;     // component sectors; mdadm writes 0 for linear/raid0
  bool clean = true;     // resync_offset MaxSector, else 0 (resync needed)
  uint32_t extra_features = 0;  // e.g. MD_FEATURE_RAID0_LAYOUT
  std::vector<uint16_t> roles;  // by dev_number: role, 0xffff spare, 0xfffe faulty
};

// The superblock mdadm 4.2 writes on member `dev_number` of a new array:
// events 0 (the kernel counts from there), utime = ctime, max_dev the role
// table rounded up to fill whole 512-byte sectors (128 for up to 128
// devices), unused roles spare, and the bitmap feature when the placement
// has a bitmap.
Superblock1 new_superblock1(const NewArray1& array, uint32_t dev_number,
                            const std::array<uint8_t, 16>& device_uuid, const Placement1& where);

}  // namespace mdfs::format
