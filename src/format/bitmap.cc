#include "format/bitmap.h"

#include <algorithm>
#include <bit>

#include "format/bytes.h"
#include "format/reason.h"

namespace mdfs::format {
namespace {

namespace f = bitmap_field;
constexpr std::size_t kClusterNameBytes = 64;
static_assert(f::kClusterName + kClusterNameBytes <= kBitmapSuperBytes);

}  // namespace

Result<BitmapSuper> parse_bitmap_super(std::span<const std::byte> b, std::string* why) {
  Reason r(why);
  if (b.size() < kBitmapSuperBytes) {
    return r.fail("bitmap superblock truncated: %zu bytes, need %zu", b.size(), kBitmapSuperBytes);
  }
  const auto magic = bytes::load<uint32_t>(b, f::kMagic);
  if (magic != kBitmapMagic) return r.fail("bad bitmap magic 0x%08x, want 0x%08x", magic, kBitmapMagic);
  BitmapSuper bm;
  bm.version = bytes::load<uint32_t>(b, f::kVersion);
  for (std::size_t i = 0; i < 16; ++i) bm.uuid[i] = std::to_integer<uint8_t>(b[f::kUuid + i]);
  bm.events = bytes::load<uint64_t>(b, f::kEvents);
  bm.events_cleared = bytes::load<uint64_t>(b, f::kEventsCleared);
  bm.sync_size = bytes::load<uint64_t>(b, f::kSyncSize);
  bm.state = bytes::load<uint32_t>(b, f::kState);
  bm.chunksize = bytes::load<uint32_t>(b, f::kChunksize);
  bm.daemon_sleep = bytes::load<uint32_t>(b, f::kDaemonSleep);
  bm.write_behind = bytes::load<uint32_t>(b, f::kWriteBehind);
  bm.sectors_reserved = bytes::load<uint32_t>(b, f::kSectorsReserved);
  bm.nodes = bytes::load<uint32_t>(b, f::kNodes);
  std::size_t n = kClusterNameBytes;
  while (n > 0 && b[f::kClusterName + n - 1] == std::byte{0}) --n;
  bm.cluster_name.resize(n);
  for (std::size_t i = 0; i < n; ++i) bm.cluster_name[i] = static_cast<char>(b[f::kClusterName + i]);

  if (bm.version < kBitmapMajorLo || bm.version > kBitmapMajorClustered) {
    return r.fail("unknown bitmap version %u (want %u..%u)", bm.version, kBitmapMajorLo, kBitmapMajorClustered);
  }
  if (bm.chunksize < 512) return r.fail("bitmap chunk of %u bytes is below 512", bm.chunksize);
  if (!std::has_single_bit(bm.chunksize)) return r.fail("bitmap chunk of %u bytes is not a power of 2", bm.chunksize);
  if (bm.daemon_sleep == 0) return r.fail("bitmap daemon period is 0");
  if (bm.write_behind > kBitmapMaxWriteBehind) {
    return r.fail("bitmap write-behind %u out of range (0..%u)", bm.write_behind, kBitmapMaxWriteBehind);
  }
  return bm;
}

Result<std::vector<std::byte>> serialize_bitmap_super(const BitmapSuper& bm) {
  if (bm.cluster_name.size() > kClusterNameBytes) return err(EINVAL);
  std::vector<std::byte> out(kBitmapSuperBytes, std::byte{0});
  std::span<std::byte> b(out);
  bytes::store<uint32_t>(b, f::kMagic, kBitmapMagic);
  bytes::store<uint32_t>(b, f::kVersion, bm.version);
  for (std::size_t i = 0; i < 16; ++i) b[f::kUuid + i] = std::byte{bm.uuid[i]};
  bytes::store<uint64_t>(b, f::kEvents, bm.events);
  bytes::store<uint64_t>(b, f::kEventsCleared, bm.events_cleared);
  bytes::store<uint64_t>(b, f::kSyncSize, bm.sync_size);
  bytes::store<uint32_t>(b, f::kState, bm.state);
  bytes::store<uint32_t>(b, f::kChunksize, bm.chunksize);
  bytes::store<uint32_t>(b, f::kDaemonSleep, bm.daemon_sleep);
  bytes::store<uint32_t>(b, f::kWriteBehind, bm.write_behind);
  bytes::store<uint32_t>(b, f::kSectorsReserved, bm.sectors_reserved);
  bytes::store<uint32_t>(b, f::kNodes, bm.nodes);
  for (std::size_t i = 0; i < bm.cluster_name.size(); ++i) {
    b[f::kClusterName + i] = static_cast<std::byte>(bm.cluster_name[i]);
  }
  return out;
}

Result<void> check_bitmap_owner(const BitmapSuper& bm, const std::array<uint8_t, 16>& uuid, std::string* why) {
  if (bm.uuid == uuid) return {};
  return Reason(why).fail("bitmap uuid %02x%02x%02x%02x... does not match the array's %02x%02x%02x%02x...",
                          bm.uuid[0], bm.uuid[1], bm.uuid[2], bm.uuid[3], uuid[0], uuid[1], uuid[2], uuid[3]);
}

uint64_t bitmap_chunks(uint64_t sync_sectors, uint32_t chunk_bytes) {
  const uint64_t chunk_sectors = chunk_bytes / 512;
  if (chunk_sectors == 0) return 0;
  return sync_sectors / chunk_sectors + (sync_sectors % chunk_sectors != 0 ? 1 : 0);
}

uint64_t bitmap_sectors(uint64_t sync_sectors, uint32_t chunk_bytes, uint32_t boundary_bytes) {
  const uint64_t bytes = kBitmapSuperBytes + (bitmap_chunks(sync_sectors, chunk_bytes) + 7) / 8;
  const uint64_t boundary = boundary_bytes == 0 ? 512 : boundary_bytes;
  return (bytes + boundary - 1) / boundary * boundary / 512;
}

uint64_t bitmap_dirty_bits(std::span<const std::byte> bits, uint64_t nbits) {
  uint64_t dirty = 0;
  const uint64_t whole = std::min<uint64_t>(nbits / 8, bits.size());
  for (uint64_t i = 0; i < whole; ++i) dirty += std::popcount(std::to_integer<uint8_t>(bits[i]));
  if (nbits % 8 != 0 && whole < bits.size()) {
    const auto last = std::to_integer<uint8_t>(bits[whole]);
    dirty += std::popcount(static_cast<uint8_t>(last & ((1u << (nbits % 8)) - 1)));
  }
  return dirty;
}

uint32_t mdadm_bitmap_chunk(uint64_t sync_sectors, uint64_t room_bytes) {
  if (room_bytes <= kBitmapSuperBytes) return 0;
  const uint64_t max_bits = (room_bytes - kBitmapSuperBytes) * 8;
  uint64_t chunk = 4096;
  uint64_t bits = sync_sectors / (chunk / 512) + 1;
  while (bits > max_bits) {
    chunk *= 2;
    bits = (bits + 1) / 2;
  }
  constexpr uint64_t kMinDefault = 64 * 1024 * 1024;
  if (chunk < kMinDefault) chunk = kMinDefault;
  return chunk > (uint64_t{1} << 31) ? 0 : static_cast<uint32_t>(chunk);
}

BitmapSuper new_bitmap_super(const std::array<uint8_t, 16>& uuid, uint64_t sync_sectors, uint32_t chunk_bytes) {
  BitmapSuper bm;
  bm.version = kBitmapMajorHi;
  bm.uuid = uuid;
  bm.sync_size = sync_sectors;
  bm.chunksize = chunk_bytes;
  bm.daemon_sleep = 5;
  return bm;
}

}  // namespace mdfs::format
