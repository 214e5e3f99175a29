#include "format/badblocks.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>

#include "format/bytes.h"
#include "format/reason.h"

namespace mdfs::format {

namespace {

constexpr std::size_t kPageBytes = 4096;
constexpr uint64_t kEnd = ~uint64_t{0};
constexpr uint64_t kLengthBits = 10;  // the log's length field
constexpr uint64_t kLengthMask = (uint64_t{1} << kLengthBits) - 1;

uint64_t end_of(const BadBlock& b) { return b.start + b.length; }

}  // namespace

// The union of the new range with every entry it overlaps or touches,
// recut from its start into entries of at most kBadBlockMaxLength, as
// badblocks_set merges. An entry the new range covers whole takes the new
// acknowledgement; one it only touches keeps a lack of it (badblocks_set's
// "ack = ack && acknowledged"). Linux 6.1 inserts the pieces of a range
// longer than 512 blocks in descending order and can drop the end of a
// range that swallows the next entry; mdfs keeps the list sorted and whole.
bool BadBlocks::set(uint64_t sector, uint64_t sectors, bool acknowledged) {
  if (shift_ < 0) return false;
  if (sectors == 0) return true;
  const uint64_t unit = uint64_t{1} << shift_;
  const uint64_t new_start = sector >> shift_;
  const uint64_t new_end = (sector + sectors + unit - 1) >> shift_;
  uint64_t s = new_start, e = new_end;
  bool ack = acknowledged;
  auto first = std::find_if(entries_.begin(), entries_.end(), [&](const BadBlock& b) { return end_of(b) >= s; });
  auto last = first;
  for (; last != entries_.end() && last->start <= e; ++last) {
    const bool covered = last->start >= new_start && end_of(*last) <= new_end;
    if (!covered) ack = ack && last->acknowledged;
    s = std::min(s, last->start);
    e = std::max(e, end_of(*last));
  }
  std::vector<BadBlock> pieces;
  for (uint64_t at = s; at < e; at += kBadBlockMaxLength)
    pieces.push_back({at, std::min(kBadBlockMaxLength, e - at), ack});
  const std::size_t replaced = static_cast<std::size_t>(last - first);
  bool whole = true;
  if (entries_.size() - replaced + pieces.size() > kBadBlocksMax) {
    // As badblocks_set on a full list: what fits is recorded.
    const std::size_t room = kBadBlocksMax + replaced - entries_.size();
    if (room < replaced) return false;  // not even the merge fits: the list stays as it was
    pieces.resize(room);
    whole = false;
  }
  first = entries_.erase(first, last);
  entries_.insert(first, pieces.begin(), pieces.end());
  changed = true;
  return whole;
}

int BadBlocks::clear(uint64_t sector, uint64_t sectors) {
  if (shift_ < 0) return 0;
  const uint64_t unit = uint64_t{1} << shift_;
  // Round inwards: better to think a block bad that is not than the reverse.
  const uint64_t s = (sector + unit - 1) >> shift_;
  const uint64_t e = (sector + sectors) >> shift_;
  if (e <= s) return 0;
  std::vector<BadBlock> out;
  out.reserve(entries_.size() + 1);
  for (const BadBlock& b : entries_) {
    if (end_of(b) <= s || b.start >= e) {
      out.push_back(b);
      continue;
    }
    if (b.start < s) out.push_back({b.start, s - b.start, b.acknowledged});
    if (end_of(b) > e) out.push_back({e, end_of(b) - e, b.acknowledged});
  }
  if (out.size() > kBadBlocksMax) return ENOSPC;
  entries_ = std::move(out);
  changed = true;
  return 0;
}

BadBlocks::Hit BadBlocks::check(uint64_t sector, uint64_t sectors) const {
  Hit hit;
  if (shift_ < 0 || entries_.empty() || sectors == 0) return hit;
  const uint64_t unit = uint64_t{1} << shift_;
  const uint64_t s = sector >> shift_;
  const uint64_t e = (sector + sectors + unit - 1) >> shift_;
  for (const BadBlock& b : entries_) {
    if (end_of(b) <= s || b.start >= e) continue;
    if (hit.state == 0) {
      hit.first_bad = b.start << shift_;
      hit.bad_sectors = b.length << shift_;
    }
    hit.state = (hit.state != -1 && b.acknowledged) ? 1 : -1;
  }
  return hit;
}

uint64_t BadBlocks::next_bad(uint64_t sector) const {
  uint64_t best = kEnd;
  if (shift_ < 0) return best;
  for (const BadBlock& b : entries_) {
    const uint64_t lo = b.start << shift_, hi = end_of(b) << shift_;
    if (hi <= sector) continue;
    best = std::min(best, std::max(lo, sector));
  }
  return best;
}

void BadBlocks::acknowledge_all() {
  for (BadBlock& b : entries_) b.acknowledged = true;
}

bool BadBlocks::unacknowledged() const {
  return std::any_of(entries_.begin(), entries_.end(), [](const BadBlock& b) { return !b.acknowledged; });
}

std::string BadBlocks::show(bool unacknowledged_only) const {
  std::string out;
  if (shift_ < 0) return out;
  for (const BadBlock& b : entries_) {
    if (out.size() >= kPageBytes) break;
    if (unacknowledged_only && b.acknowledged) continue;
    char line[48];
    const int n = std::snprintf(line, sizeof line, "%llu %llu\n", static_cast<unsigned long long>(b.start << shift_),
                                static_cast<unsigned long long>(b.length << shift_));
    out.append(line, static_cast<std::size_t>(n));
  }
  // A sysfs show is one page, its last byte the terminating NUL.
  if (out.size() >= kPageBytes) out.resize(kPageBytes - 1);
  return out;
}

Result<BadBlockWrite> parse_bad_block_write(std::string_view text) {
  // The kernel's sscanf "%llu %d%c": white space before each number, digits
  // only for the sector, an optional minus for the length, then nothing or
  // a newline (what follows the newline is not read).
  std::size_t i = 0;
  const auto digits = [&](uint64_t& value) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    const char* begin = text.data() + i;
    auto [ptr, ec] = std::from_chars(begin, text.data() + text.size(), value);
    if (ec != std::errc() || ptr == begin) return false;
    i += static_cast<std::size_t>(ptr - begin);
    return true;
  };
  uint64_t sector = 0, length = 0;
  if (!digits(sector)) return err(EINVAL);
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  if (i < text.size() && text[i] == '-') return err(EINVAL);  // a length below 1
  if (!digits(length) || length == 0 || length > 0x7fffffff) return err(EINVAL);
  if (i < text.size() && text[i] != '\n') return err(EINVAL);
  return BadBlockWrite{sector, length};
}

Result<BadBlocks> parse_bblog(std::span<const std::byte> log, uint8_t shift, std::string* why) {
  Reason r(why);
  BadBlocks list(shift);
  for (std::size_t at = 0; at + 8 <= log.size(); at += 8) {
    const uint64_t word = bytes::load<uint64_t>(log, at);
    if (word == kEnd) break;
    const uint64_t length = (word & kLengthMask) << shift;
    const uint64_t start = (word >> kLengthBits) << shift;
    if (!list.set(start, length, true)) return r.fail("bad block log holds more than %zu entries", kBadBlocksMax);
  }
  list.changed = false;
  return list;
}

std::vector<std::byte> serialize_bblog(const BadBlocks& list, std::size_t bytes) {
  std::vector<std::byte> out(bytes, std::byte{0xff});
  std::size_t at = 0;
  for (const BadBlock& b : list.entries()) {
    if (at + 8 > bytes) break;
    bytes::store<uint64_t>(out, at, (b.start << kLengthBits) | b.length);
    at += 8;
  }
  return out;
}

}  // namespace mdfs::format
