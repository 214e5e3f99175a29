#include "core/names.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>

namespace mdfs::core {

namespace {

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

Result<ArrayName> parse_new_array_name(std::string_view text) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  if (text.size() >= kDiskNameLen) return err(E2BIG);
  if (std::any_of(text.begin(), text.end(), is_control)) return err(EINVAL);
  if (text.starts_with("md_")) {
    std::string name(text);
    std::replace(name.begin(), name.end(), '/', '!');
    return ArrayName{name, false, -1};
  }
  if (text.starts_with("md") && all_digits(text.substr(2))) {
    unsigned long n = 0;
    auto digits = text.substr(2);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || n > kMaxMinor) return err(EINVAL);
    return ArrayName{"md" + std::to_string(n), true, static_cast<long>(n)};
  }
  return err(EINVAL);
}

std::string sanitize_metadata_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '/') c = '-';
    else if (is_control(c) || c == ' ') c = '_';
  }
  return out;
}

Result<ArrayName> parse_device_name(std::string_view name) {
  if (name.find('/') != std::string_view::npos || name.find('\n') != std::string_view::npos)
    return err(EINVAL);
  auto parsed = parse_new_array_name(name);
  if (!parsed) return parsed;
  if (parsed->name != name) return err(EINVAL);  // "md01" is md1's alias, not a file name
  return parsed;
}

}  // namespace mdfs::core
