#include "format/superblock0.h"

#include <linux/raid/md_p.h>

#include <algorithm>
#include <cstddef>
#include <utility>

#include "format/bytes.h"
#include "format/reason.h"

// Offsets and widths from the UAPI struct. The 64-bit counters are kept
// there as two 32-bit halves whose order follows the writer's byte order
// (events_lo first on little-endian), which is exactly a 64-bit integer in
// that byte order at the lower of the two offsets.
#define SB0_OFF(field) offsetof(mdp_super_t, field)
#define SB0_TYPE(field) decltype(std::declval<mdp_super_t>().field)
#define SB0_GET(buf, order, field) bytes::load<SB0_TYPE(field)>(buf, SB0_OFF(field), order)
#define SB0_PUT(buf, field, value) \
  bytes::store<SB0_TYPE(field)>(buf, SB0_OFF(field), static_cast<SB0_TYPE(field)>(value))

namespace mdfs::format {
namespace {

static_assert(sizeof(mdp_super_t) == kSb0Bytes);
static_assert(MD_SB_DISKS == kSb0Disks);
static_assert(SB0_OFF(sb_csum) == 38 * 4);

constexpr std::size_t kEventsOff = std::min(SB0_OFF(events_lo), SB0_OFF(events_hi));
constexpr std::size_t kCpEventsOff = std::min(SB0_OFF(cp_events_lo), SB0_OFF(cp_events_hi));
static_assert(kEventsOff == (32 + 7) * 4 && kCpEventsOff == kEventsOff + 8);

Disk0 load_disk(std::span<const std::byte> b, std::size_t at, bytes::Order o) {
  Disk0 d;
  d.number = bytes::load<uint32_t>(b, at + offsetof(mdp_disk_t, number), o);
  d.major = bytes::load<uint32_t>(b, at + offsetof(mdp_disk_t, major), o);
  d.minor = bytes::load<uint32_t>(b, at + offsetof(mdp_disk_t, minor), o);
  d.raid_disk = bytes::load<uint32_t>(b, at + offsetof(mdp_disk_t, raid_disk), o);
  d.state = bytes::load<uint32_t>(b, at + offsetof(mdp_disk_t, state), o);
  return d;
}

void store_disk(std::span<std::byte> b, std::size_t at, const Disk0& d) {
  bytes::store<uint32_t>(b, at + offsetof(mdp_disk_t, number), d.number);
  bytes::store<uint32_t>(b, at + offsetof(mdp_disk_t, major), d.major);
  bytes::store<uint32_t>(b, at + offsetof(mdp_disk_t, minor), d.minor);
  bytes::store<uint32_t>(b, at + offsetof(mdp_disk_t, raid_disk), d.raid_disk);
  bytes::store<uint32_t>(b, at + offsetof(mdp_disk_t, state), d.state);
}

}  // namespace

std::array<uint8_t, 16> superblock0_uuid_bytes(const Superblock0& sb) {
  std::array<uint8_t, 16> out{};
  for (std::size_t w = 0; w < 4; ++w) {
    for (std::size_t i = 0; i < 4; ++i) out[4 * w + i] = static_cast<uint8_t>(sb.set_uuid[w] >> (8 * i));
  }
  return out;
}

Result<uint64_t> superblock0_offset(uint64_t dev_bytes) {
  if (dev_bytes < 2 * kSb0ReservedBytes) return err(EINVAL);
  return (dev_bytes & ~(kSb0ReservedBytes - 1)) - kSb0ReservedBytes;
}

uint32_t superblock0_checksum(std::span<const std::byte> sb, bool big_endian) {
  return bytes::folded_word_sum(sb.first(kSb0Bytes), big_endian ? bytes::Order::kBig : bytes::Order::kLittle,
                                SB0_OFF(sb_csum));
}

Result<Superblock0> parse_superblock0(std::span<const std::byte> b, uint64_t dev_bytes, std::string* why) {
  Reason r(why);
  const auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  auto where = superblock0_offset(dev_bytes);
  if (!where) return r.fail("member of %llu bytes is too small for a 0.90 superblock", u(dev_bytes));
  if (b.size() < kSb0Bytes) return r.fail("superblock truncated: %zu bytes, need %zu", b.size(), kSb0Bytes);

  bytes::Order o = bytes::Order::kLittle;
  const uint32_t magic = SB0_GET(b, o, md_magic);
  if (magic != MD_SB_MAGIC) {
    if (bytes::load<uint32_t>(b, SB0_OFF(md_magic), bytes::Order::kBig) != MD_SB_MAGIC) {
      return r.fail("no md superblock at byte %llu (magic 0x%08x, want 0x%08x)", u(*where), magic, MD_SB_MAGIC);
    }
    o = bytes::Order::kBig;
  }
  Superblock0 sb;
  sb.big_endian = o == bytes::Order::kBig;
  sb.major_version = SB0_GET(b, o, major_version);
  sb.minor_version = SB0_GET(b, o, minor_version);
  if (sb.major_version != 0 || sb.minor_version < 90 || sb.minor_version > 91) {
    return r.fail("superblock version %u.%u, want 0.90 or 0.91", sb.major_version, sb.minor_version);
  }
  sb.sb_csum = SB0_GET(b, o, sb_csum);
  const uint32_t computed = superblock0_checksum(b, sb.big_endian);
  if (sb.sb_csum != computed) {
    return r.fail("superblock checksum mismatch (stored 0x%08x, computed 0x%08x)", sb.sb_csum, computed);
  }
  sb.patch_version = SB0_GET(b, o, patch_version);
  sb.gvalid_words = SB0_GET(b, o, gvalid_words);
  sb.set_uuid = {SB0_GET(b, o, set_uuid0), SB0_GET(b, o, set_uuid1), SB0_GET(b, o, set_uuid2),
                 SB0_GET(b, o, set_uuid3)};
  sb.ctime = SB0_GET(b, o, ctime);
  sb.level = static_cast<int32_t>(SB0_GET(b, o, level));
  sb.size = SB0_GET(b, o, size);
  sb.nr_disks = SB0_GET(b, o, nr_disks);
  sb.raid_disks = SB0_GET(b, o, raid_disks);
  sb.md_minor = SB0_GET(b, o, md_minor);
  sb.not_persistent = SB0_GET(b, o, not_persistent);
  sb.utime = SB0_GET(b, o, utime);
  sb.state = SB0_GET(b, o, state);
  sb.active_disks = SB0_GET(b, o, active_disks);
  sb.working_disks = SB0_GET(b, o, working_disks);
  sb.failed_disks = SB0_GET(b, o, failed_disks);
  sb.spare_disks = SB0_GET(b, o, spare_disks);
  sb.events = bytes::load<uint64_t>(b, kEventsOff, o);
  sb.cp_events = bytes::load<uint64_t>(b, kCpEventsOff, o);
  sb.recovery_cp = SB0_GET(b, o, recovery_cp);
  sb.reshape_position = SB0_GET(b, o, reshape_position);
  sb.new_level = static_cast<int32_t>(SB0_GET(b, o, new_level));
  sb.delta_disks = static_cast<int32_t>(SB0_GET(b, o, delta_disks));
  sb.new_layout = SB0_GET(b, o, new_layout);
  sb.new_chunk = SB0_GET(b, o, new_chunk);
  sb.layout = SB0_GET(b, o, layout);
  sb.chunk_size = SB0_GET(b, o, chunk_size);
  sb.root_pv = SB0_GET(b, o, root_pv);
  sb.root_block = SB0_GET(b, o, root_block);
  for (std::size_t i = 0; i < kSb0Disks; ++i) sb.disks[i] = load_disk(b, SB0_OFF(disks) + i * sizeof(mdp_disk_t), o);
  sb.this_disk = load_disk(b, SB0_OFF(this_disk), o);

  if (sb.raid_disks == 0) return r.fail("raid_disks is 0");
  if (sb.raid_disks > kSb0Disks) {
    return r.fail("raid_disks %u exceeds the %zu devices a 0.90 superblock can describe", sb.raid_disks, kSb0Disks);
  }
  if (sb.this_disk.number >= kSb0Disks) {
    return r.fail("this_disk number %u outside the %zu-entry disk table", sb.this_disk.number, kSb0Disks);
  }
  // As super_90_load: the superblock's position is the end of the data, and
  // a redundant level's component must fit before it.
  const uint64_t data_sectors = *where / 512;
  if (sb.level >= 1 && uint64_t{sb.size} * 2 > data_sectors) {
    return r.fail("component size %u KiB exceeds the %llu KiB before the superblock", sb.size,
                  u(data_sectors / 2));
  }
  return sb;
}

std::vector<std::byte> serialize_superblock0(const Superblock0& sb) {
  std::vector<std::byte> out(kSb0Bytes, std::byte{0});
  std::span<std::byte> b(out);
  SB0_PUT(b, md_magic, MD_SB_MAGIC);
  SB0_PUT(b, major_version, sb.major_version);
  SB0_PUT(b, minor_version, sb.minor_version);
  SB0_PUT(b, patch_version, sb.patch_version);
  SB0_PUT(b, gvalid_words, sb.gvalid_words);
  SB0_PUT(b, set_uuid0, sb.set_uuid[0]);
  SB0_PUT(b, set_uuid1, sb.set_uuid[1]);
  SB0_PUT(b, set_uuid2, sb.set_uuid[2]);
  SB0_PUT(b, set_uuid3, sb.set_uuid[3]);
  SB0_PUT(b, ctime, sb.ctime);
  SB0_PUT(b, level, sb.level);
  SB0_PUT(b, size, sb.size);
  SB0_PUT(b, nr_disks, sb.nr_disks);
  SB0_PUT(b, raid_disks, sb.raid_disks);
  SB0_PUT(b, md_minor, sb.md_minor);
  SB0_PUT(b, not_persistent, sb.not_persistent);
  SB0_PUT(b, utime, sb.utime);
  SB0_PUT(b, state, sb.state);
  SB0_PUT(b, active_disks, sb.active_disks);
  SB0_PUT(b, working_disks, sb.working_disks);
  SB0_PUT(b, failed_disks, sb.failed_disks);
  SB0_PUT(b, spare_disks, sb.spare_disks);
  bytes::store<uint64_t>(b, kEventsOff, sb.events);
  bytes::store<uint64_t>(b, kCpEventsOff, sb.cp_events);
  SB0_PUT(b, recovery_cp, sb.recovery_cp);
  SB0_PUT(b, reshape_position, sb.reshape_position);
  SB0_PUT(b, new_level, sb.new_level);
  SB0_PUT(b, delta_disks, sb.delta_disks);
  SB0_PUT(b, new_layout, sb.new_layout);
  SB0_PUT(b, new_chunk, sb.new_chunk);
  SB0_PUT(b, layout, sb.layout);
  SB0_PUT(b, chunk_size, sb.chunk_size);
  SB0_PUT(b, root_pv, sb.root_pv);
  SB0_PUT(b, root_block, sb.root_block);
  for (std::size_t i = 0; i < kSb0Disks; ++i) store_disk(b, SB0_OFF(disks) + i * sizeof(mdp_disk_t), sb.disks[i]);
  store_disk(b, SB0_OFF(this_disk), sb.this_disk);
  SB0_PUT(b, sb_csum, superblock0_checksum(b, false));
  return out;
}

Superblock0 new_superblock0(const NewArray0& array, uint32_t this_number) {
  Superblock0 sb;
  sb.minor_version = 90;
  sb.set_uuid = array.set_uuid;
  sb.ctime = array.ctime;
  sb.level = array.level;
  sb.size = array.size_kib;
  sb.raid_disks = array.raid_disks;
  sb.md_minor = array.md_minor;
  sb.utime = array.ctime;
  sb.events = array.events;
  if (array.in_sync) {
    // MaxSector truncates to the 32-bit field's all-ones.
    sb.recovery_cp = static_cast<uint32_t>(std::min<uint64_t>(array.recovery_cp, 0xffffffffu));
    sb.cp_events = array.events;
    if (array.recovery_cp == ~uint64_t{0}) sb.state |= 1u << MD_SB_CLEAN;
  }
  if (array.reshape) {
    sb.minor_version = 91;
    sb.reshape_position = array.reshape_position;
    sb.new_level = array.new_level;
    sb.delta_disks = array.delta_disks;
    sb.new_layout = array.new_layout;
    sb.new_chunk = array.new_chunk_bytes;
  }
  if (array.bitmap) sb.state |= 1u << MD_SB_BITMAP_PRESENT;
  sb.layout = array.layout;
  sb.chunk_size = array.chunk_bytes;

  // super_90_sync's bookkeeping, quirks included: slot 0 starts out
  // "removed", faulty members count in nr_disks only, and only the
  // placeholders for missing roles count as failed.
  sb.disks[0].state = 1u << MD_DISK_REMOVED;
  uint32_t nr = 0, active = 0, working = 0, failed = 0, spare = 0;
  for (const Disk0& m : array.members) {
    if (m.number >= kSb0Disks) continue;
    sb.disks[m.number] = m;
    ++nr;
    if (m.state & (1u << MD_DISK_FAULTY)) continue;
    if (m.state & (1u << MD_DISK_ACTIVE)) {
      ++active;
      ++working;
    } else {
      ++spare;
      ++working;
    }
  }
  for (uint32_t i = 0; i < array.raid_disks && i < kSb0Disks; ++i) {
    Disk0& d = sb.disks[i];
    if (d.state == 0 && d.number == 0) {
      d.number = i;
      d.raid_disk = i;
      d.state = (1u << MD_DISK_REMOVED) | (1u << MD_DISK_FAULTY);
      ++failed;
    }
  }
  sb.nr_disks = nr;
  sb.active_disks = active;
  sb.working_disks = working;
  sb.failed_disks = failed;
  sb.spare_disks = spare;
  if (this_number < kSb0Disks) sb.this_disk = sb.disks[this_number];
  return sb;
}

}  // namespace mdfs::format
