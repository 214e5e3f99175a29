// Number parsing as the kernel's sysfs stores parse (kstrtoul & co.):
// base 10, an optional leading '+', one optional trailing newline;
// EINVAL for anything else, ERANGE when the value does not fit.
#pragma once

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string_view>

#include "mdfs/result.h"

namespace mdfs::core {

inline std::string_view strip_newline(std::string_view s) {
  if (!s.empty() && s.back() == '\n') s.remove_suffix(1);
  return s;
}

template <class T>
Result<T> parse_kstrto(std::string_view text) {
  text = strip_newline(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty() || text.front() == '-' || text.front() == ' ') return err(EINVAL);
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return err(ERANGE);
  if (ec != std::errc() || end != text.data() + text.size()) return err(EINVAL);
  if (value > std::numeric_limits<T>::max()) return err(ERANGE);
  return static_cast<T>(value);
}

// A signed int as kstrtoint(text, 0): an optional sign, then decimal, 0x
// hex or 0 octal; one trailing newline; ERANGE outside int.
inline Result<int> parse_kstrtoint(std::string_view text) {
  text = strip_newline(text);
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 1 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  } else if (text.size() > 1 && text[0] == '0') {
    base = 8;
    text.remove_prefix(1);
  }
  if (text.empty()) return err(EINVAL);
  unsigned long long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec == std::errc::result_out_of_range) return err(ERANGE);
  if (ec != std::errc() || end != text.data() + text.size()) return err(EINVAL);
  const unsigned long long limit = negative ? 1ULL + std::numeric_limits<int>::max() : std::numeric_limits<int>::max();
  if (value > limit) return err(ERANGE);
  return negative ? static_cast<int>(-static_cast<long long>(value)) : static_cast<int>(value);
}

// strict_strtoul_scaled(buf, scale): "N[.ddd]" as an integer in units of
// 10^-scale; decimals beyond `scale` are ignored, one trailing newline
// allowed.
inline Result<unsigned long> parse_scaled(std::string_view text, int scale) {
  unsigned long value = 0;
  int decimals = -1;
  size_t i = 0;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && decimals < 0) {
      decimals = 0;
    } else if (c >= '0' && c <= '9') {
      if (decimals < scale) {
        if (value > (std::numeric_limits<unsigned long>::max() - 9) / 10) return err(EINVAL);
        value = value * 10 + static_cast<unsigned long>(c - '0');
        if (decimals >= 0) ++decimals;
      }
    } else {
      break;
    }
  }
  if (i < text.size() && text[i] == '\n') ++i;
  if (i != text.size()) return err(EINVAL);
  for (int d = decimals < 0 ? 0 : decimals; d < scale; ++d) {
    if (value > std::numeric_limits<unsigned long>::max() / 10) return err(EINVAL);
    value *= 10;
  }
  return value;
}

// "Y"/"N" and friends, as kstrtobool (only the first characters count).
inline Result<bool> parse_kstrtobool(std::string_view text) {
  if (text.empty()) return err(EINVAL);
  switch (text[0]) {
    case 'y': case 'Y': case '1': return true;
    case 'n': case 'N': case '0': return false;
    case 'o': case 'O':
      if (text.size() > 1 && (text[1] == 'n' || text[1] == 'N')) return true;
      if (text.size() > 1 && (text[1] == 'f' || text[1] == 'F')) return false;
      break;
    default: break;
  }
  return err(EINVAL);
}

// Whether `text` is `word`, allowing one trailing newline (cmd_match).
inline bool cmd_match(std::string_view text, std::string_view word) { return strip_newline(text) == word; }

// A size in KiB, as strict_blocks_to_sectors: returns sectors.
inline Result<uint64_t> parse_blocks_to_sectors(std::string_view text) {
  auto kib = parse_kstrto<uint64_t>(text);
  if (!kib || *kib > (~uint64_t{0} >> 1)) return err(EINVAL);
  return *kib * 2;
}

// A sector, or "none" (~0: no sector), as resync_start, reshape_position
// and recovery_start take them.
inline Result<uint64_t> parse_sector_or_none(std::string_view text) {
  if (cmd_match(text, "none")) return ~uint64_t{0};
  return parse_kstrto<uint64_t>(text);
}

}  // namespace mdfs::core
