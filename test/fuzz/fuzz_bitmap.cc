// libFuzzer target: the write-intent bitmap superblock parser and the
// bitmap arithmetic. Input: the 256-byte bitmap superblock, then bitmap
// bits. A superblock that parses must serialize back byte for byte (its
// padding is zero in what mdadm and the kernel write, so only those
// inputs are compared), and the sizes it implies must be computable.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "format/bitmap.h"

using namespace mdfs::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
  auto bm = parse_bitmap_super(in);
  if (!bm) return 0;
  auto out = serialize_bitmap_super(*bm);
  if (!out) __builtin_trap();
  auto again = parse_bitmap_super(*out);
  if (!again || !(*again == *bm)) __builtin_trap();
  const uint64_t chunks = bitmap_chunks(bm->sync_size, bm->chunksize);
  (void)bitmap_sectors(bm->sync_size, bm->chunksize);
  (void)bitmap_sectors(bm->sync_size, bm->chunksize, bm->write_behind);
  (void)bitmap_dirty_bits(in.subspan(kBitmapSuperBytes), chunks);
  (void)mdadm_bitmap_chunk(bm->sync_size, uint64_t{bm->sectors_reserved} * 512);
  return 0;
}
