// libFuzzer target: the sysfs tree's stores and shows through the core,
// without FUSE, on a shelf of sparse member files. Input: one command a
// line, run in order against a fresh Registry:
//   w PATH VALUE     write VALUE ("\n" for a newline) to PATH (sys/..., proc/...)
//   r PATH           read PATH
//   l PATH           list the folder PATH
//   o NAME           open dev/NAME with O_CREAT (the probe), kept open
//   c                close what `o` opened, last first
//   d NAME w|r OFF LEN   write (a pattern) or read LEN bytes of dev/NAME at OFF
//   f FILE KIB       make shelf file FILE (m0..m5) KIB KiB long, sparse
// Anything else is skipped. Every array is stopped at the end, as at unmount.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <algorithm>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "core/registry.h"
#include "scratch_shelf.h"
#include "sysfs/namespace.h"

using namespace mdfs;

namespace {

constexpr int kMaxCommands = 96;
constexpr uint64_t kMaxIo = 1 << 20;
constexpr uint64_t kMaxFileKib = 16 * 1024;

std::string shelf_dir;

void make_file(const std::string& name, uint64_t kib) {
  const std::string path = shelf_dir + "/" + name;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  // Sparse: zero bytes cost nothing, and nothing of the last run remains.
  if (::ftruncate(fd, 0) != 0 || ::ftruncate(fd, static_cast<off_t>(kib * 1024)) != 0) std::abort();
  ::close(fd);
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') {
      out += '\n';
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

Result<sysfs::Entry> resolve(const sysfs::Namespace& ns, const std::string& path) {
  sysfs::Entry e = ns.root();
  std::stringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    auto next = ns.lookup(e, part);
    if (!next) return next;
    e = std::move(*next);
  }
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  shelf_dir = make_scratch_shelf("mdfs-fuzz-sysfs");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The shelf: four 4 MiB members, two more left as the input makes them.
  for (const char* m : {"m0", "m1", "m2", "m3"}) make_file(m, 4096);
  for (const char* m : {"m4", "m5"}) std::filesystem::remove(shelf_dir + "/" + m);
  auto registry = std::make_unique<core::Registry>(UniqueFd(::open(shelf_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
  registry->start();
  sysfs::Namespace ns(*registry);
  std::vector<std::shared_ptr<core::Array>> opened;

  std::stringstream lines(std::string(reinterpret_cast<const char*>(data), size));
  std::string line;
  for (int n = 0; n < kMaxCommands && std::getline(lines, line); ++n) {
    std::stringstream words(line);
    std::string cmd, path;
    words >> cmd >> path;
    if (cmd == "w") {
      std::string value;
      std::getline(words, value);
      if (!value.empty() && value.front() == ' ') value.erase(0, 1);
      auto e = resolve(ns, path);
      if (e && e->type == sysfs::NodeType::kFile) {
        sysfs::StoreMemory memory;
        (void)ns.write(*e, unescape(value), &memory);
      }
    } else if (cmd == "r") {
      if (auto e = resolve(ns, path); e && e->type == sysfs::NodeType::kFile) (void)ns.read(*e);
    } else if (cmd == "l") {
      if (auto e = resolve(ns, path)) {
        for (auto& [name, child] : ns.list(*e))
          if (child.type == sysfs::NodeType::kFile && child.attr->show) (void)ns.read(child);
      }
    } else if (cmd == "o") {
      if (auto a = registry->create_and_open(path, false)) opened.push_back(*a);
    } else if (cmd == "c") {
      if (!opened.empty()) {
        registry->release(opened.back());
        opened.pop_back();
      }
    } else if (cmd == "d") {
      std::string op;
      uint64_t off = 0, len = 0;
      words >> op >> off >> len;
      auto array = registry->find(path);
      if (!array || len > kMaxIo) continue;
      std::vector<std::byte> buf(len, std::byte{0x5a});
      if (op == "w") {
        (void)array->write(off, buf);  // clamps to the array's end, as a FUSE write
      } else {
        // As the FUSE read: within the array only.
        auto io = array->io();
        if (!io || off >= io.size_bytes()) continue;
        (void)io->read(off, std::span(buf).first(std::min<uint64_t>(len, io.size_bytes() - off)));
      }
    } else if (cmd == "f") {
      uint64_t kib = 0;
      words >> kib;
      if ((path == "m4" || path == "m5") && kib <= kMaxFileKib) make_file(path, kib);
    }
  }
  for (auto& a : opened) registry->release(a);
  opened.clear();
  registry->shutdown();
  registry.reset();
  return 0;
}
