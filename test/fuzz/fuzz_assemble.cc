// libFuzzer target: assembly at mount from hostile members. Input: up to
// four records of 2 + 4096 + 256 bytes, one member each: the superblock
// kind (0.90, 1.0, 1.1, 1.2), flags, the superblock, and the bitmap
// superblock that goes where the superblock puts its bitmap. Each record
// becomes a sparse member file (1, 4, 8 or 16 MiB, as its flags say);
// unless a flag says not to, its position field and checksum are made
// right, so that mutations reach what lies past them. Then Registry::assemble_all(), reads and a write of each
// array that started, every md attribute shown, and a clean stop.
#include <fcntl.h>
#include <linux/raid/md_p.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/registry.h"
#include "format/bytes.h"
#include "format/superblock0.h"
#include "format/superblock1.h"
#include "scratch_shelf.h"
#include "sysfs/namespace.h"

using namespace mdfs;
namespace bytes = mdfs::format::bytes;

namespace {

constexpr size_t kSb = 4096;
constexpr size_t kBitmap = 256;
constexpr size_t kRecord = 2 + kSb + kBitmap;
constexpr uint8_t kKeepChecksum = 1;  // flag: leave the checksum as given
constexpr uint8_t kKeepOffset = 2;    // flag: leave v1 super_offset as given
// flags bits 2-3: the member's size
constexpr uint64_t kMemberMiB[] = {4, 8, 1, 16};

std::string shelf_dir;

void pwrite_all(int fd, std::span<const std::byte> b, uint64_t at) {
  if (::pwrite(fd, b.data(), b.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(b.size())) std::abort();
}

void make_member(int n, std::span<const uint8_t> record) {
  const std::string path = shelf_dir + "/m" + std::to_string(n) + ".img";
  const int kind = record[0] % 4;  // 0.90, 1.0, 1.1, 1.2
  const uint8_t flags = record[1];
  const uint64_t kMemberBytes = kMemberMiB[(flags >> 2) & 3] << 20;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(kMemberBytes)) != 0) std::abort();
  std::vector<std::byte> sb(kSb);
  std::memcpy(sb.data(), record.data() + 2, kSb);
  std::vector<std::byte> bitmap(kBitmap);
  std::memcpy(bitmap.data(), record.data() + 2 + kSb, kBitmap);
  uint64_t at = 0, bitmap_at = 0;
  if (kind == 0) {
    at = *format::superblock0_offset(kMemberBytes);
    bitmap_at = at + kSb;
    if (!(flags & kKeepChecksum))
      bytes::store<uint32_t>(sb, offsetof(mdp_super_t, sb_csum), format::superblock0_checksum(sb, false));
  } else {
    const uint64_t sector = *format::superblock1_offset(kind - 1, kMemberBytes / 512);
    at = sector * 512;
    if (!(flags & kKeepOffset)) bytes::store<uint64_t>(sb, offsetof(mdp_superblock_1, super_offset), sector);
    const auto max_dev = bytes::load<uint32_t>(sb, offsetof(mdp_superblock_1, max_dev));
    if (!(flags & kKeepChecksum) && max_dev <= format::kSb1MaxDev)
      bytes::store<uint32_t>(sb, offsetof(mdp_superblock_1, sb_csum), format::superblock1_checksum(sb, max_dev));
    const auto rel = static_cast<int32_t>(bytes::load<uint32_t>(sb, offsetof(mdp_superblock_1, bitmap_offset)));
    const int64_t bm = static_cast<int64_t>(sector) + rel;
    bitmap_at = bm >= 0 && static_cast<uint64_t>(bm) * 512 + kBitmap <= kMemberBytes ? static_cast<uint64_t>(bm) * 512
                                                                                      : at + kSb;
  }
  pwrite_all(fd, bitmap, bitmap_at);
  pwrite_all(fd, sb, at);  // last: a bitmap position over it does not hide it
  ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  shelf_dir = make_scratch_shelf("mdfs-fuzz-assemble");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const size_t members = std::min<size_t>(size / kRecord, 4);
  if (members == 0) return 0;
  for (const auto& e : std::filesystem::directory_iterator(shelf_dir)) std::filesystem::remove(e.path());
  for (size_t i = 0; i < members; ++i) make_member(static_cast<int>(i), std::span(data + i * kRecord, kRecord));

  auto registry = std::make_unique<core::Registry>(UniqueFd(::open(shelf_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)));
  registry->start();
  registry->assemble_all();
  sysfs::Namespace ns(*registry);
  for (const auto& array : registry->arrays()) {
    {
      auto io = array->io();
      if (io && io.size_bytes() > 0) {
        std::vector<std::byte> buf(std::min<uint64_t>(io.size_bytes(), 64 * 1024));
        (void)io->read(0, buf);
        (void)io->read(io.size_bytes() - buf.size(), buf);
      }
    }
    std::vector<std::byte> block(4096, std::byte{0xa5});
    (void)array->write(8192, block);
    auto md = ns.lookup(ns.root(), "sys");
    for (const char* part : {"block", array->name().c_str(), "md"})
      if (md) md = ns.lookup(*md, part);
    if (md) {
      for (auto& [name, child] : ns.list(*md))
        if (child.type == sysfs::NodeType::kFile && child.attr->show) (void)ns.read(child);
    }
  }
  registry->shutdown();
  registry.reset();
  return 0;
}
