#include "mdfsadm/mdadm_text.h"

#include <algorithm>
#include <cctype>
#include <cstdarg>
#include <limits>
#include <cstdio>
#include <cstring>

namespace mdfsadm {
namespace {

struct Mapping {
  const char* name;
  int value;
};

// maps.c, in mdadm's order: map_num answers the first name of a value.
constexpr Mapping kPers[] = {
    {"linear", kLevelLinear}, {"raid0", 0},  {"0", 0},   {"stripe", 0},   {"raid1", 1},
    {"1", 1},                 {"mirror", 1}, {"raid4", 4}, {"4", 4},      {"raid5", 5},
    {"5", 5},                 {"multipath", kLevelMultipath}, {"mp", kLevelMultipath},
    {"raid6", 6},             {"6", 6},      {"raid10", 10}, {"10", 10},  {"faulty", kLevelFaulty},
};

constexpr Mapping kR5Layout[] = {
    {"left-asymmetric", 0}, {"right-asymmetric", 1}, {"left-symmetric", 2}, {"right-symmetric", 3},
    {"default", 2},         {"la", 0},               {"ra", 1},             {"ls", 2},
    {"rs", 3},              {"parity-first", 4},     {"parity-last", 5},    {"ddf-zero-restart", 1},
    {"ddf-N-restart", 0},   {"ddf-N-continue", 2},
};

constexpr Mapping kR6Layout[] = {
    {"left-asymmetric", 0},     {"right-asymmetric", 1},    {"left-symmetric", 2},
    {"right-symmetric", 3},     {"default", 2},             {"la", 0},
    {"ra", 1},                  {"ls", 2},                  {"rs", 3},
    {"parity-first", 4},        {"parity-last", 5},         {"ddf-zero-restart", 8},
    {"ddf-N-restart", 9},       {"ddf-N-continue", 10},     {"left-asymmetric-6", 16},
    {"right-asymmetric-6", 17}, {"left-symmetric-6", 18},   {"right-symmetric-6", 19},
    {"parity-first-6", 20},
};

constexpr Mapping kR0Layout[] = {
    {"original", 1}, {"alternate", 2}, {"1", 1}, {"2", 2}, {"dangerous", 0},
};

template <std::size_t N>
std::optional<std::string> map_num(const Mapping (&map)[N], int value) {
  for (const auto& m : map)
    if (m.value == value) return std::string(m.name);
  return std::nullopt;
}

template <std::size_t N>
std::optional<int> map_name(const Mapping (&map)[N], std::string_view name) {
  for (const auto& m : map)
    if (name == m.name) return m.value;
  return std::nullopt;
}

std::optional<int> parse_int(std::string_view text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  int v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::optional<std::string> level_name(int level) { return map_num(kPers, level); }
std::optional<int> parse_level(std::string_view text) { return map_name(kPers, text); }
std::optional<std::string> raid5_layout_name(int layout) { return map_num(kR5Layout, layout); }
std::optional<std::string> raid6_layout_name(int layout) { return map_num(kR6Layout, layout); }
std::optional<std::string> raid0_layout_name(int layout) { return map_num(kR0Layout, layout); }

std::optional<int> parse_layout(int level, std::string_view text) {
  switch (level) {
    case 5:
      if (auto v = map_name(kR5Layout, text)) return v;
      break;
    case 6:
      if (auto v = map_name(kR6Layout, text)) return v;
      break;
    case 4:
      // mdadm's raid4 knows only parity-first and parity-last.
      if (text == "parity-first") return 4;
      if (text == "parity-last" || text == "default") return 5;
      break;
    case 0:
      if (auto v = map_name(kR0Layout, text)) return v;
      break;
    case 10: {
      // parse_layout_10: n, f or o followed by the copies, 1..64.
      if (text == "default") return 0x102;
      if (text.size() < 2) break;
      auto copies = parse_int(text.substr(1));
      if (!copies || *copies < 1 || *copies > 64) break;
      if (text[0] == 'n') return 0x100 | *copies;
      if (text[0] == 'f') return 1 | (*copies << 8);
      if (text[0] == 'o') return 0x10000 | 1 | (*copies << 8);
      break;
    }
    default:
      break;
  }
  return parse_int(text);
}

std::optional<int> default_layout(int level) {
  switch (level) {
    case 4: return 5;       // parity-last: the only raid4 layout
    case 5:
    case 6: return 2;       // left-symmetric
    case 10: return 0x102;  // n2
    default: return std::nullopt;
  }
}

std::string r10_layout_text(int layout) {
  const int near = layout & 255;
  const int far = (layout >> 8) & 255;
  const bool offset = (layout & 0x10000) != 0;
  std::string out;
  const char* sep = "";
  if (near != 1) {
    out += std::string(sep) + " near=" + std::to_string(near);
    sep = ",";
  }
  if (far != 1) out += std::string(sep) + " " + (offset ? "offset" : "far") + "=" + std::to_string(far);
  if (near * far == 1) out += "NO REDUNDANCY";
  return out;
}

std::string human_size(long long bytes) {
  char buf[64];
  if (bytes < 5000 * 1024) return "";
  if (bytes < 2 * 1024LL * 1024LL * 1024LL) {
    long cmib = static_cast<long>((bytes * 200LL / (1LL << 20) + 1) / 2);
    long cmb = static_cast<long>((bytes / (1000000LL / 200LL) + 1) / 2);
    std::snprintf(buf, sizeof buf, " (%ld.%02ld MiB %ld.%02ld MB)", cmib / 100, cmib % 100, cmb / 100, cmb % 100);
  } else if (bytes < 2 * 1024LL * 1024LL * 1024LL * 1024LL) {
    long cgib = static_cast<long>((bytes * 200LL / (1LL << 30) + 1) / 2);
    long cgb = static_cast<long>((bytes / (1000000000LL / 200LL) + 1) / 2);
    std::snprintf(buf, sizeof buf, " (%ld.%02ld GiB %ld.%02ld GB)", cgib / 100, cgib % 100, cgb / 100, cgb % 100);
  } else {
    // 128 bits: a size read from a hostile superblock may be near 2^63.
    long ctib = static_cast<long>((static_cast<__int128>(bytes) * 200 / (1LL << 40) + 1) / 2);
    long ctb = static_cast<long>((bytes / (1000000000000LL / 200LL) + 1) / 2);
    std::snprintf(buf, sizeof buf, " (%ld.%02ld TiB %ld.%02ld TB)", ctib / 100, ctib % 100, ctb / 100, ctb % 100);
  }
  return buf;
}

std::string ctime24(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  char buf[32];
  if (!ctime_r(&t, buf)) return "";
  return std::string(buf, strnlen(buf, 24));
}

std::string uuid_text(const std::array<uint8_t, 16>& uuid) {
  std::string out;
  char hex[3];
  for (std::size_t i = 0; i < uuid.size(); ++i) {
    if (i != 0 && i % 4 == 0) out += ':';
    std::snprintf(hex, sizeof hex, "%02x", uuid[i]);
    out += hex;
  }
  return out;
}

std::optional<uint64_t> parse_size(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 15) return std::nullopt;
  uint64_t n = std::stoull(std::string(text.substr(0, i)));
  if (n == 0) return std::nullopt;
  const std::string_view suffix = text.substr(i);
  if (suffix.empty() || suffix == "K") return n * 2;
  if (suffix == "M") return n * 2 * 1024;
  if (suffix == "G") return n * 2 * 1024 * 1024;
  if (suffix == "T") return n * 2 * 1024 * 1024 * 1024;
  if (suffix == "s") return n;
  return std::nullopt;
}

std::optional<int> parse_num(std::string_view text) {
  if (text.empty() || text.size() > 10 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  const unsigned long long n = std::stoull(std::string(text));
  if (n > static_cast<unsigned long long>(std::numeric_limits<int>::max())) return std::nullopt;
  return static_cast<int>(n);
}

bool swapped_metadata(std::string_view text) {
  while (text.size() > 1 && text[0] == '0' && text[1] == '0') text.remove_prefix(1);
  return text == "0.swap" || text == "0.9";
}

std::optional<std::string> native_metadata(std::string_view text) {
  std::string_view t = text;
  while (t.size() > 1 && t[0] == '0' && t[1] == '0') t.remove_prefix(1);
  // 0.91 (a reshape) and 0.9 (mdadm's byte-swapped 0.90) are 0.90 to mdfs.
  if (t == "0" || t == "0.90" || t.empty() || t == "0.91" || t == "0.9" || t == "0.swap") return "0.90";
  while (!t.empty() && t[0] == '0') t.remove_prefix(1);
  if (t == "1.0" || t == "1.00") return "1.0";
  if (t == "1.1" || t == "1.01") return "1.1";
  if (t == "1.2" || t == "1.02" || t == "1" || text == "default") return "1.2";
  return std::nullopt;
}

std::string human_size_brief(long long bytes, bool iec) {
  if (bytes < 5000 * 1024) return "";
  // Hundredths of the unit, rounded half up; mega below 2 GiB, giga below
  // 2 TiB, then tera.
  const long long two_gib = 2LL << 30, two_tib = 2LL << 40;
  long long centi = 0;
  const char* unit = "";
  if (iec) {
    const int shift = bytes < two_gib ? 20 : bytes < two_tib ? 30 : 40;
    centi = (bytes * 200LL / (1LL << shift) + 1) / 2;
    unit = shift == 20 ? "MiB" : shift == 30 ? "GiB" : "TiB";
  } else {
    const long long base = bytes < two_gib ? 1000000LL : bytes < two_tib ? 1000000000LL : 1000000000000LL;
    centi = (bytes / (base / 200LL) + 1) / 2;
    unit = bytes < two_gib ? "MB" : bytes < two_tib ? "GB" : "TB";
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%lld.%02lld%s", centi / 100, centi % 100, unit);
  return buf;
}

bool enough(int level, int raid_disks, int layout, bool clean, const std::vector<bool>& avail) {
  auto has = [&](int d) { return d >= 0 && static_cast<std::size_t>(d) < avail.size() && avail[static_cast<std::size_t>(d)]; };
  int avail_disks = 0;
  for (int i = 0; i < raid_disks; ++i) avail_disks += has(i) ? 1 : 0;
  switch (level) {
    case 10: {
      // One of each run of `copies` devices, stepping by the near copies.
      const int copies = (layout & 255) * ((layout >> 8) & 255);
      if (raid_disks <= 0 || copies <= 0) return false;
      int first = 0;
      do {
        int cnt = 0;
        int d = first;
        for (int n = 0; n < copies; ++n) {
          if (has(d)) ++cnt;
          d = (d + 1) % raid_disks;
        }
        if (cnt == 0) return false;
        first = (first + (layout & 255)) % raid_disks;
      } while (first != 0);
      return true;
    }
    case kLevelMultipath: return avail_disks >= 1;
    case kLevelLinear:
    case 0: return avail_disks == raid_disks;
    case 1: return avail_disks >= 1;
    case 4:
      // Only the parity device missing: enough, even unclean.
      if (avail_disks == raid_disks - 1 && !has(raid_disks - 1)) return true;
      [[fallthrough]];
    case 5: return clean ? avail_disks >= raid_disks - 1 : avail_disks >= raid_disks;
    case 6: return clean ? avail_disks >= raid_disks - 2 : avail_disks >= raid_disks;
    default: return false;
  }
}

void appendf(std::string& out, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  out += buf;
}

// FIPS 180-1, for the few bytes of a host name.
std::array<uint8_t, 20> sha1(std::string_view text) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::vector<uint8_t> msg(text.begin(), text.end());
  const uint64_t bits = static_cast<uint64_t>(msg.size()) * 8;
  msg.push_back(0x80);
  while (msg.size() % 64 != 56) msg.push_back(0);
  for (int i = 7; i >= 0; --i) msg.push_back(static_cast<uint8_t>(bits >> (8 * i)));
  auto rol = [](uint32_t v, int n) { return (v << n) | (v >> (32 - n)); };
  for (std::size_t off = 0; off < msg.size(); off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i)
      w[i] = static_cast<uint32_t>(msg[off + 4 * i]) << 24 | static_cast<uint32_t>(msg[off + 4 * i + 1]) << 16 |
             static_cast<uint32_t>(msg[off + 4 * i + 2]) << 8 | msg[off + 4 * i + 3];
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5A827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ED9EBA1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8F1BBCDC;
      } else {
        f = b ^ c ^ d;
        k = 0xCA62C1D6;
      }
      uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d;
      d = c;
      c = rol(b, 30);
      b = a;
      a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
  }
  std::array<uint8_t, 20> out{};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) out[static_cast<std::size_t>(4 * i + j)] = static_cast<uint8_t>(h[i] >> (24 - 8 * j));
  return out;
}

}  // namespace mdfsadm
