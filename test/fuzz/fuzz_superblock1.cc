// libFuzzer target: the v1 superblock parser. Input: the minor (1 byte),
// the member's size in sectors (8 bytes, little-endian), then the 4 KiB
// read at the superblock's position. A superblock that parses must
// serialize and parse back to the same fields, and its summary and bitmap
// checks must hold for any sizes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "format/bytes.h"
#include "format/super_info.h"
#include "format/superblock1.h"

using namespace mdfs::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 9) return 0;
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  const int minor = data[0] % 3;
  const auto dev_sectors = bytes::load<uint64_t>(in, 1);
  auto sb = parse_superblock1(in.subspan(9), minor, dev_sectors);
  if (!sb) return 0;
  auto out = serialize_superblock1(*sb);
  if (!out) __builtin_trap();  // what parsed must serialize
  auto again = parse_superblock1(*out, minor, dev_sectors);
  if (!again || !(*again == *sb)) __builtin_trap();
  const SuperInfo info = super_info(*sb, minor);
  if (info.bitmap_offset != 0) {
    (void)check_bitmap_room(info, bitmap_sectors(sb->size, 512, 512), sb->size, dev_sectors);
    (void)check_bitmap_room(info, dev_sectors, sb->data_size, dev_sectors);
  }
  return 0;
}
