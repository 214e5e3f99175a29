#include "fixtures.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace fixture {
namespace {

constexpr uint64_t kHead = 64 * 1024;
constexpr uint64_t kTail = 128 * 1024;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// Streams `xz -dc FILE`, keeping the first kHead and last kTail bytes.
Member decompress(const std::filesystem::path& xz) {
  const std::string cmd = "xz -dc '" + xz.string() + "'";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) throw std::runtime_error("cannot run " + cmd);
  Member m;
  std::vector<std::byte> ring(kTail);
  std::vector<std::byte> buf(1 << 20);
  for (;;) {
    const size_t n = fread(buf.data(), 1, buf.size(), p.get());
    if (n == 0) break;
    if (m.size < kHead) {
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, kHead - m.size));
      m.head.insert(m.head.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(take));
    }
    for (size_t i = 0; i < n;) {
      const size_t at = static_cast<size_t>(m.size % kTail);
      const size_t run = std::min(n - i, static_cast<size_t>(kTail) - at);
      std::copy(buf.begin() + static_cast<std::ptrdiff_t>(i), buf.begin() + static_cast<std::ptrdiff_t>(i + run),
                ring.begin() + static_cast<std::ptrdiff_t>(at));
      i += run;
      m.size += run;
    }
  }
  const uint64_t keep = std::min(m.size, kTail);
  m.tail.resize(keep);
  for (uint64_t i = 0; i < keep; ++i) m.tail[i] = ring[(m.size - keep + i) % kTail];
  if (m.size == 0) throw std::runtime_error("empty decompression of " + xz.string());
  return m;
}

}  // namespace

std::string dir() {
  const char* env = std::getenv("MDFS_FIXTURES");
  return env ? env : MDFS_FIXTURES_DIR;
}

std::vector<std::string> cases() {
  // The index the oracle writes from its table: a missing index, an empty
  // one or a case without its folder fails the test instead of leaving a
  // loop with nothing to check.
  std::istringstream index(read_file(std::filesystem::path(dir()) / "cases.txt"));
  std::vector<std::string> out;
  for (std::string name; std::getline(index, name);) {
    if (name.empty()) continue;
    if (!std::filesystem::exists(std::filesystem::path(dir()) / name / "manifest.json")) {
      throw std::runtime_error("fixture " + name + " has no manifest.json in " + dir());
    }
    out.push_back(name);
  }
  if (out.empty()) throw std::runtime_error("no fixture cases in " + dir() + "/cases.txt");
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::byte> Member::bytes(uint64_t offset, uint64_t len) const {
  if (offset + len <= head.size()) return {head.begin() + offset, head.begin() + offset + len};
  const uint64_t tail_start = size - tail.size();
  if (offset >= tail_start && offset + len <= size) {
    return {tail.begin() + (offset - tail_start), tail.begin() + (offset - tail_start + len)};
  }
  return {};
}

mdfs::format::ReadAt Member::reader() const {
  return [this](uint64_t offset, std::span<std::byte> out) -> mdfs::Result<void> {
    auto b = bytes(offset, out.size());
    if (b.size() != out.size()) return mdfs::err(EIO);
    std::copy(b.begin(), b.end(), out.begin());
    return {};
  };
}

const Member& member(const std::string& name, int n) {
  static std::mutex mu;
  static std::map<std::pair<std::string, int>, Member> cache;
  std::lock_guard lock(mu);
  auto key = std::make_pair(name, n);
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto path = std::filesystem::path(dir()) / name / ("member-" + std::to_string(n) + ".img.xz");
    it = cache.emplace(key, decompress(path)).first;
  }
  return it->second;
}

const std::string& Section::at(const std::string& key) const {
  auto it = fields.find(key);
  if (it == fields.end()) throw std::runtime_error(device + ": no field '" + key + "'");
  return it->second;
}

std::string text(const std::string& name, const std::string& file) {
  return read_file(std::filesystem::path(dir()) / name / file);
}

std::string sysfs_value(const std::string& name, const std::string& key) {
  std::istringstream in(text(name, "kernel-sysfs.txt"));
  for (std::string line; std::getline(in, line);) {
    if (line == "== " + key && std::getline(in, line)) return line;
  }
  throw std::runtime_error(name + ": no " + key + " in kernel-sysfs.txt");
}

std::vector<Section> examine_text(const std::string& name, const std::string& file) {
  return parse_examine(read_file(std::filesystem::path(dir()) / name / file));
}

std::vector<Section> parse_examine(const std::string& text) {
  std::istringstream in(text);
  std::vector<Section> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("== ", 0) == 0) {
      out.push_back(Section{line.substr(3), {}, {}});
      continue;
    }
    if (out.empty()) continue;
    out.back().lines.push_back(line);
    const auto colon = line.find(" : ");
    if (colon != std::string::npos) out.back().fields.emplace(trim(line.substr(0, colon)), trim(line.substr(colon + 3)));
  }
  return out;
}

// The text after `"key":` in a flat JSON object (manifest.json has no
// nesting we need), up to the end of its value.
std::string json_value(const std::string& j, const std::string& key) {
  const auto k = j.find("\"" + key + "\"");
  if (k == std::string::npos) return "";
  auto v = j.find(':', k);
  if (v == std::string::npos) return "";
  v = j.find_first_not_of(" \t\n", v + 1);
  if (v == std::string::npos) return "";
  size_t e;
  if (j[v] == '"') {
    e = j.find('"', v + 1);
    return j.substr(v + 1, e - v - 1);
  }
  if (j[v] == '[') {
    e = j.find(']', v);
    return j.substr(v + 1, e - v - 1);
  }
  e = j.find_first_of(",}\n", v);
  return trim(j.substr(v, e - v));
}

Manifest manifest(const std::string& name) {
  const std::string j = read_file(std::filesystem::path(dir()) / name / "manifest.json");
  Manifest out;
  out.level = json_value(j, "level");
  out.raid_devices = static_cast<int>(leading_number(json_value(j, "raid_devices")));
  out.array_size_bytes = leading_number(json_value(j, "array_size_bytes"));
  std::istringstream mib(json_value(j, "member_mib"));
  for (std::string item; std::getline(mib, item, ',');) out.member_mib.push_back(static_cast<int>(leading_number(trim(item))));
  const std::string members = json_value(j, "members_in_role_order");
  out.members = static_cast<int>(std::count(members.begin(), members.end(), '"') / 2);
  return out;
}

uint64_t leading_number(const std::string& value) {
  size_t i = 0;
  while (i < value.size() && value[i] == ' ') ++i;
  uint64_t v = 0;
  bool any = false;
  for (; i < value.size() && value[i] >= '0' && value[i] <= '9'; ++i) {
    v = v * 10 + static_cast<uint64_t>(value[i] - '0');
    any = true;
  }
  if (!any) throw std::runtime_error("no number in '" + value + "'");
  return v;
}

}  // namespace fixture
