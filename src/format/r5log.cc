#include "format/r5log.h"

#include <linux/raid/md_p.h>

#include <cstddef>
#include <set>

#include "format/bytes.h"

namespace mdfs::format {

namespace {

// Offsets inside a meta block and its payloads, from md_p.h's structs.
constexpr std::size_t kMetaHeader = sizeof(r5l_meta_block);
constexpr std::size_t kPayloadHeader = sizeof(r5l_payload_data_parity);
constexpr std::size_t kFlushHeader = sizeof(r5l_payload_flush);
static_assert(kMetaHeader == 32 && kPayloadHeader == 16 && kFlushHeader == 8);

struct Crc32cTable {
  uint32_t t[256];
  constexpr Crc32cTable() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
      t[i] = c;
    }
  }
};
constexpr Crc32cTable kCrc32c;

struct Ring {
  uint64_t size;  // sectors, whole pages
  uint64_t add(uint64_t at, uint64_t n) const {
    at += n;
    return at >= size ? at - size : at;
  }
};

// One 4 KiB page of the ring.
Result<std::vector<std::byte>> page_at(const ReadAt& read, uint64_t sector) {
  std::vector<std::byte> page(kR5logPageBytes);
  if (auto r = read(sector * 512, page); !r) return err(r.error());
  return page;
}

// A meta block at `pos`: magic, version, position, its own checksum and
// size (r5l_recovery_read_meta_block; `seq` checked by the caller).
bool meta_valid(std::span<std::byte> mb, uint64_t pos, uint32_t seed) {
  const uint32_t stored = bytes::load<uint32_t>(mb, offsetof(r5l_meta_block, checksum));
  if (bytes::load<uint32_t>(mb, offsetof(r5l_meta_block, magic)) != R5LOG_MAGIC) return false;
  if (std::to_integer<uint8_t>(mb[offsetof(r5l_meta_block, version)]) != R5LOG_VERSION) return false;
  if (bytes::load<uint64_t>(mb, offsetof(r5l_meta_block, position)) != pos) return false;
  if (bytes::load<uint32_t>(mb, offsetof(r5l_meta_block, meta_size)) > kR5logPageBytes) return false;
  bytes::store<uint32_t>(mb, offsetof(r5l_meta_block, checksum), 0);
  const bool ok = crc32c(seed, mb) == stored;
  bytes::store<uint32_t>(mb, offsetof(r5l_meta_block, checksum), stored);
  return ok;
}

struct Payload {
  uint16_t type;
  uint32_t size;          // sectors (data, parity) or bytes (flush)
  uint64_t location;
  std::size_t at;         // offset of the payload in the meta block
};

// The payloads of a meta block, or false when one is of an unknown type or
// runs past meta_size.
bool payloads(std::span<const std::byte> mb, std::vector<Payload>& out) {
  out.clear();
  const std::size_t end = bytes::load<uint32_t>(mb, offsetof(r5l_meta_block, meta_size));
  std::size_t at = kMetaHeader;
  while (at < end) {
    if (at + kFlushHeader > end) return false;
    Payload p{bytes::load<uint16_t>(mb, at), bytes::load<uint32_t>(mb, at + 4), 0, at};
    if (p.type == R5LOG_PAYLOAD_FLUSH) {
      at += kFlushHeader + p.size;
    } else if (p.type == R5LOG_PAYLOAD_DATA || p.type == R5LOG_PAYLOAD_PARITY) {
      if (at + kPayloadHeader > end) return false;
      p.location = bytes::load<uint64_t>(mb, at + 8);
      at += kPayloadHeader + sizeof(uint32_t) * (p.size >> 3);
    } else {
      return false;
    }
    if (at > end) return false;
    out.push_back(p);
  }
  return true;
}

}  // namespace

uint32_t crc32c(uint32_t seed, std::span<const std::byte> data) {
  uint32_t c = seed;
  for (std::byte b : data) c = kCrc32c.t[(c ^ std::to_integer<uint8_t>(b)) & 0xff] ^ (c >> 8);
  return c;
}

Result<R5logReplay> read_r5log(uint64_t ring_sectors, uint64_t journal_tail, const std::array<uint8_t, 16>& uuid,
                               const ReadAt& read, const std::function<uint64_t(uint64_t)>& stripe_of) {
  R5logReplay out;
  const Ring ring{ring_sectors / kR5logBlockSectors * kR5logBlockSectors};
  if (ring.size < 2 * kR5logBlockSectors) {
    out.fresh = true;
    return out;
  }
  std::vector<std::byte> id(uuid.size());
  for (std::size_t i = 0; i < uuid.size(); ++i) id[i] = std::byte{uuid[i]};
  const uint32_t seed = crc32c(~uint32_t{0}, id);

  // r5l_load_log: the checkpoint, or a fresh log when it holds no valid
  // meta block.
  uint64_t pos = journal_tail;
  if (pos >= ring_sectors || pos % kR5logBlockSectors != 0) pos = 0;
  auto first = page_at(read, pos);
  if (!first) return err(first.error());
  if (!meta_valid(*first, pos, seed)) {
    out.fresh = true;
    out.end = pos;
    return out;
  }
  uint64_t seq = bytes::load<uint64_t>(*first, offsetof(r5l_meta_block, seq));

  // r5c_recovery_flush_log: stripes as the recovery's cached list sees
  // them: data logged (caching: data only), or data and parity.
  struct Stripe {
    bool caching = false;
    bool parity = false;
    bool data = false;
  };
  std::map<uint64_t, Stripe> stripes;
  const auto replay = [&](std::map<uint64_t, Stripe>::iterator it) {
    if (it->second.data) ++out.data_parity_stripes;
    stripes.erase(it);
  };
  std::vector<Payload> list;
  std::vector<std::pair<uint64_t, std::vector<std::byte>>> pages;
  for (uint64_t blocks = 0; blocks < ring.size / kR5logBlockSectors; ++blocks) {
    auto mb = page_at(read, pos);
    if (!mb) return err(mb.error());
    if (!meta_valid(*mb, pos, seed) || bytes::load<uint64_t>(*mb, offsetof(r5l_meta_block, seq)) != seq) break;
    if (!payloads(*mb, list)) break;
    // Every page must match its checksum, else the whole meta block's
    // pages are dropped and the scan goes on one block further.
    uint64_t at = ring.add(pos, kR5logBlockSectors);
    bool match = true;
    pages.clear();
    for (const Payload& p : list) {
      if (p.type == R5LOG_PAYLOAD_FLUSH) continue;
      for (uint32_t k = 0; k < (p.size >> 3); ++k) {
        auto page = page_at(read, ring.add(at, uint64_t{k} * kR5logBlockSectors));
        if (!page) return err(page.error());
        const uint32_t want = bytes::load<uint32_t>(*mb, p.at + kPayloadHeader + 4 * k);
        if (crc32c(seed, *page) != want) match = false;
        if (p.type == R5LOG_PAYLOAD_DATA && k == 0) pages.emplace_back(p.location, std::move(*page));
      }
      at = ring.add(at, p.size);
    }
    ++out.meta_blocks;
    if (!match) {
      ++seq;
      pos = ring.add(pos, kR5logBlockSectors);
      continue;
    }
    std::size_t next_page = 0;
    uint64_t used = kR5logBlockSectors;
    for (const Payload& p : list) {
      if (p.type == R5LOG_PAYLOAD_FLUSH) {
        for (uint32_t off = 0; off + 8 <= p.size; off += 8)
          stripes.erase(bytes::load<uint64_t>(*mb, p.at + kFlushHeader + off));
        continue;
      }
      used += p.size;
      if (p.type == R5LOG_PAYLOAD_DATA) {
        const uint64_t stripe = stripe_of(p.location);
        auto it = stripes.find(stripe);
        // Data after a stripe's parity: that stripe was complete and is
        // written out first (r5l_recovery_replay_one_stripe).
        if (it != stripes.end() && !it->second.caching && it->second.parity) {
          replay(it);
          it = stripes.end();
        }
        Stripe& s = stripes[stripe];
        s.caching = true;
        s.data = true;
        if (p.size >= kR5logBlockSectors && next_page < pages.size()) out.data[p.location] = std::move(pages[next_page++].second);
      } else {
        Stripe& s = stripes[p.location];
        s.parity = true;
        s.caching = false;
      }
    }
    ++seq;
    pos = ring.add(pos, used);
  }
  for (auto it = stripes.begin(); it != stripes.end();) {
    auto next = std::next(it);
    if (it->second.caching) {
      ++out.data_only_stripes;
      stripes.erase(it);
    } else {
      replay(it);
    }
    it = next;
  }
  out.end = pos;
  return out;
}

}  // namespace mdfs::format
