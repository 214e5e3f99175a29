// A member's bad block list, as the kernel keeps it (block/badblocks.c of
// Linux 6.1) and as a v1 superblock's bad block log stores it. Sectors are
// the member's own, from its start (not from data_offset), as md records
// them; the list holds at most one page of entries, each at most 512
// blocks long, sorted, with an "acknowledged" flag (the entry reached the
// log on disk, or was written through `bad_blocks`).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mdfs/result.h"

namespace mdfs::format {

inline constexpr std::size_t kBadBlocksMax = 512;       // MAX_BADBLOCKS: one 4 KiB page of 8-byte entries
inline constexpr uint64_t kBadBlockMaxLength = 512;     // BB_MAX_LEN, in blocks
inline constexpr uint16_t kBblogMaxSectors = 8;         // the kernel reads at most one page of log

struct BadBlock {
  uint64_t start = 0;   // in blocks of 1 << shift sectors
  uint64_t length = 0;  // blocks, 1..kBadBlockMaxLength
  bool acknowledged = false;
  bool operator==(const BadBlock&) const = default;
};

class BadBlocks {
 public:
  // shift < 0: the member has no log (0.90, a v1 superblock without one):
  // nothing can be recorded, as badblocks_init(bb, 0) leaves it.
  explicit BadBlocks(int shift = -1) : shift_(shift) {}

  bool enabled() const { return shift_ >= 0; }
  int shift() const { return shift_; }
  const std::vector<BadBlock>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

  // badblocks_set: records [sector, sector + sectors) (start rounded down
  // and end up to blocks), merged with the entries it touches. False when
  // the list is disabled or full (what fitted is recorded).
  bool set(uint64_t sector, uint64_t sectors, bool acknowledged);
  // badblocks_clear: forgets [sector, sector + sectors) (start rounded up,
  // end down), splitting an entry it cuts in two. ENOSPC when a split
  // needs an entry the full list has not.
  int clear(uint64_t sector, uint64_t sectors);
  // badblocks_check: 0 when no recorded block meets [sector, sector +
  // sectors); else 1 (all met entries acknowledged) or -1 (one is not),
  // with the first met entry in sectors.
  struct Hit {
    int state = 0;
    uint64_t first_bad = 0;
    uint64_t bad_sectors = 0;
  };
  Hit check(uint64_t sector, uint64_t sectors) const;
  // The first sector at or after `sector` that is recorded bad, or
  // ~0 when none is.
  uint64_t next_bad(uint64_t sector) const;
  // ack_all_badblocks, after the log has reached the disk.
  void acknowledge_all();
  bool unacknowledged() const;

  // badblocks_show: "SECTOR LENGTH\n" per entry, in sectors; only the
  // unacknowledged ones when asked. Stops at 4 KiB, as a sysfs page.
  std::string show(bool unacknowledged_only) const;

  // Set by every change; the log is rewritten at the next superblock write.
  bool changed = false;

 private:
  int shift_;
  std::vector<BadBlock> entries_;
};

// What badblocks_store accepts: "SECTOR LENGTH", optionally followed by one
// newline (sscanf "%llu %d%c"); LENGTH above 0. EINVAL otherwise.
struct BadBlockWrite {
  uint64_t sector = 0;
  uint64_t length = 0;
};
Result<BadBlockWrite> parse_bad_block_write(std::string_view text);

// The on-disk log (super_1_load): 64-bit little-endian words, the low 10
// bits a length and the high 54 a start, both in blocks of 1 << shift
// sectors, ended by an all-ones word or the log's end. The entries are
// loaded acknowledged; EINVAL (and *why) when they do not fit one page.
Result<BadBlocks> parse_bblog(std::span<const std::byte> log, uint8_t shift, std::string* why = nullptr);

// The log's bytes as super_1_sync writes them: `bytes` long, the entries
// in blocks as the list holds them, 0xff where no entry is.
std::vector<std::byte> serialize_bblog(const BadBlocks& list, std::size_t bytes);

}  // namespace mdfs::format
