// libFuzzer target: the 0.90 superblock parser. Input: the member's size in
// bytes (8 bytes, little-endian), then the 4 KiB superblock, in either byte
// order. A superblock that parses must serialize (little-endian) and parse
// back to the same fields, and its summary must be derivable.
#include <cstddef>
#include <cstdint>
#include <span>

#include "format/bytes.h"
#include "format/super_info.h"
#include "format/superblock0.h"

using namespace mdfs::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  const auto dev_bytes = bytes::load<uint64_t>(in, 0);
  auto sb = parse_superblock0(in.subspan(8), dev_bytes);
  if (!sb) return 0;
  auto again = parse_superblock0(serialize_superblock0(*sb), dev_bytes);
  if (!again) __builtin_trap();
  again->big_endian = sb->big_endian;
  again->sb_csum = sb->sb_csum;
  if (!(*again == *sb)) __builtin_trap();
  const SuperInfo info = super_info(*sb, dev_bytes);
  if (info.bitmap_offset != 0)
    (void)check_bitmap_room(info, bitmap_sectors(info.size, 512, 512), info.size, dev_bytes / 512);
  // What a new superblock made from these fields looks like.
  NewArray0 na;
  na.level = sb->level;
  na.raid_disks = sb->raid_disks;
  na.size_kib = sb->size;
  for (const Disk0& d : sb->disks) na.members.push_back(d);
  (void)serialize_superblock0(new_superblock0(na, sb->this_disk.number));
  return 0;
}
