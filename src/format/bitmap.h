// The write-intent bitmap's superblock (the kernel's and mdadm's
// bitmap_super_t, not in the UAPI headers): 256 bytes, little-endian, at
// the md superblock's position plus its bitmap offset, followed by one bit
// per bitmap chunk of the member's data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "mdfs/result.h"

namespace mdfs::format {

inline constexpr uint32_t kBitmapMagic = 0x6d746962;  // "bitm" on disk
inline constexpr std::size_t kBitmapSuperBytes = 256;
// Versions: 3 keeps the bits in host order, 4 in little-endian order (what
// mdadm writes), 5 is a clustered bitmap.
inline constexpr uint32_t kBitmapMajorLo = 3;
inline constexpr uint32_t kBitmapMajorHi = 4;
inline constexpr uint32_t kBitmapMajorClustered = 5;
// `state` bits.
inline constexpr uint32_t kBitmapStale = 1u << 1;       // bits cannot be trusted: full resync
inline constexpr uint32_t kBitmapWriteError = 1u << 2;  // a bitmap write failed
// The largest write_behind the kernel accepts (its COUNTER_MAX).
inline constexpr uint32_t kBitmapMaxWriteBehind = 16383;

// Byte offsets of the on-disk fields.
namespace bitmap_field {
inline constexpr std::size_t kMagic = 0;            // u32
inline constexpr std::size_t kVersion = 4;          // u32
inline constexpr std::size_t kUuid = 8;             // u8[16]
inline constexpr std::size_t kEvents = 24;          // u64
inline constexpr std::size_t kEventsCleared = 32;   // u64
inline constexpr std::size_t kSyncSize = 40;        // u64, sectors
inline constexpr std::size_t kState = 48;           // u32
inline constexpr std::size_t kChunksize = 52;       // u32, bytes
inline constexpr std::size_t kDaemonSleep = 56;     // u32, seconds
inline constexpr std::size_t kWriteBehind = 60;     // u32
inline constexpr std::size_t kSectorsReserved = 64; // u32
inline constexpr std::size_t kNodes = 68;           // u32
inline constexpr std::size_t kClusterName = 72;     // u8[64]; then zero padding to 256
}  // namespace bitmap_field

struct BitmapSuper {
  uint32_t version = kBitmapMajorHi;
  std::array<uint8_t, 16> uuid{};  // the array's set uuid
  uint64_t events = 0;
  uint64_t events_cleared = 0;
  uint64_t sync_size = 0;   // sectors the bitmap covers (the component size)
  uint32_t state = 0;
  uint32_t chunksize = 0;   // bytes of data per bit
  uint32_t daemon_sleep = 0;  // seconds between flushes of cleared bits
  uint32_t write_behind = 0;
  uint32_t sectors_reserved = 0;
  uint32_t nodes = 0;
  std::string cluster_name;  // up to 64 bytes, trailing NULs dropped

  bool operator==(const BitmapSuper&) const = default;
};

// Decodes and checks as the kernel's md_bitmap_read_sb: magic, a known
// version, a power-of-two chunk of at least 512 bytes, a daemon period,
// write_behind within range. EINVAL with *why on failure.
Result<BitmapSuper> parse_bitmap_super(std::span<const std::byte> bytes, std::string* why = nullptr);

// The 256 bytes; EINVAL if cluster_name exceeds 64 bytes.
Result<std::vector<std::byte>> serialize_bitmap_super(const BitmapSuper& bm);

// Whether this bitmap belongs to the array with `uuid`; the kernel refuses
// a bitmap whose uuid differs. EINVAL with *why otherwise.
Result<void> check_bitmap_owner(const BitmapSuper& bm, const std::array<uint8_t, 16>& uuid,
                                std::string* why = nullptr);

// Bits (chunks) covering `sync_sectors` with `chunk_bytes` per bit.
uint64_t bitmap_chunks(uint64_t sync_sectors, uint32_t chunk_bytes);

// Sectors the superblock and bits take, rounded up to `boundary_bytes`
// (mdadm reserves in 4 KiB units).
uint64_t bitmap_sectors(uint64_t sync_sectors, uint32_t chunk_bytes, uint32_t boundary_bytes = 4096);

// Dirty bits among the first `nbits` of `bits` (the area after the
// bitmap superblock), little-endian bit order.
uint64_t bitmap_dirty_bits(std::span<const std::byte> bits, uint64_t nbits);

// mdadm's default bitmap chunk: the smallest power of two from 4 KiB whose
// bits fit in `room_bytes` after the 256-byte superblock, but at least
// 64 MiB. For v1 metadata mdadm's room is min(mdadm_bitmap_space(size),
// 256 sectors) * 512; for 0.90 it is 60 KiB. 0 if nothing fits.
uint32_t mdadm_bitmap_chunk(uint64_t sync_sectors, uint64_t room_bytes);

// A new bitmap superblock as mdadm writes it for --bitmap=internal
// (version 4, events 0, daemon_sleep 5 s, no write-behind).
BitmapSuper new_bitmap_super(const std::array<uint8_t, 16>& uuid, uint64_t sync_sectors, uint32_t chunk_bytes);

}  // namespace mdfs::format
