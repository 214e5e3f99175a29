// The raid4/5/6 write journal (raid5-cache.c's r5l log) as Linux 6.1
// writes it on the journal member: a ring over the member's data area of
// 4 KiB blocks, each meta block (struct r5l_meta_block of md_p.h) followed
// by the data and parity pages its payloads describe, every block
// checksummed with CRC32C seeded by the array's uuid. The journal member's
// superblock says where the ring's last checkpoint is (journal_tail).
//
// What recovery would write to the array is read here as r5l_load_log and
// r5c_recovery_flush_log read it: from the checkpoint, meta block after
// meta block while magic, version, sequence, position and checksums hold;
// the data pages found, in log order, are what the array holds once the
// kernel has replayed the journal (later pages over earlier ones).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "format/super_info.h"
#include "mdfs/result.h"

namespace mdfs::format {

inline constexpr uint32_t kR5logBlockSectors = 8;  // BLOCK_SECTORS: one 4 KiB page
inline constexpr std::size_t kR5logPageBytes = 4096;

// CRC32C (Castagnoli) as the kernel's crc32c_le: `seed` goes in as is and
// the result comes out without a final inversion.
uint32_t crc32c(uint32_t seed, std::span<const std::byte> data);

struct R5logReplay {
  // The data pages recovery would put into the array: array sector of the
  // page -> its 4 KiB, the last one logged for each page.
  std::map<uint64_t, std::vector<std::byte>> data;
  uint64_t meta_blocks = 0;          // valid meta blocks read
  uint64_t data_parity_stripes = 0;  // stripes with data and parity logged
  uint64_t data_only_stripes = 0;    // stripes with data only (write-back)
  uint64_t end = 0;                  // where the valid log ends (ring sector)
  bool fresh = false;                // no valid meta block at the checkpoint: an empty log
};

// Reads the journal member's log. `ring_sectors` is the member's data size
// (the ring is its data area rounded down to 4 KiB); `journal_tail` the
// checkpoint its superblock records; `read` reads bytes of the data area.
// `stripe_of(array_sector)` gives the member sector of the stripe that
// holds an array sector (raid5_compute_sector), to tell stripes apart. An
// errno when the member cannot be read.
Result<R5logReplay> read_r5log(uint64_t ring_sectors, uint64_t journal_tail, const std::array<uint8_t, 16>& uuid,
                               const ReadAt& read, const std::function<uint64_t(uint64_t)>& stripe_of);

}  // namespace mdfs::format
