// Test helpers for the parity personalities: the kernel-made raid4/5/6
// arrays of test/fixtures/kernel-md (members decompressed once per run
// into a temporary folder), the fixtures' data pattern, and in-memory and
// file-backed Disks.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mdfs/personality.h"

namespace mdfs::raid::test {

inline std::string fixtures_dir() {
  if (const char* dir = std::getenv("MDFS_FIXTURES")) return dir;
  return MDFS_FIXTURES_DIR;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The 512 bytes the fixtures hold in array sector s.
inline void pattern_sector(uint64_t s, std::byte* out) {
  char line[64];
  std::snprintf(line, sizeof line, "mdfs-oracle sector %012llu\n", static_cast<unsigned long long>(s % 1000000000000));
  for (int i = 0; i < 16; ++i) std::memcpy(out + i * 32, line, 32);
}

inline std::vector<std::byte> pattern(uint64_t offset, size_t length) {
  std::vector<std::byte> v(length);
  std::byte sector[512];
  for (size_t i = 0; i < length;) {
    const uint64_t pos = offset + i;
    pattern_sector(pos / 512, sector);
    const size_t in = pos % 512;
    const size_t n = std::min<size_t>(512 - in, length - i);
    std::memcpy(v.data() + i, sector + in, n);
    i += n;
  }
  return v;
}

// One kernel-made array, as its manifest and kernel-*.txt describe it.
struct Fixture {
  std::string name;
  int level = 0;
  int layout = 0;
  int raid_disks = 0;
  uint32_t chunk_sectors = 0;
  uint64_t data_offset_sectors = 0;
  uint64_t avail_sectors = 0;
  uint64_t array_size_bytes = 0;
  std::vector<int> missing_roles;  // the manifest's degraded assembly
  std::string mdstat;              // kernel-mdstat.txt
  std::string degraded_mdstat;     // kernel-degraded-mdstat.txt, if any
  std::vector<std::string> members;  // decompressed images, by role

  Geometry geometry() const {
    Geometry g;
    g.level = level;
    g.layout = layout;
    g.chunk_sectors = chunk_sectors;
    g.raid_disks = raid_disks;
    g.member_sectors.assign(raid_disks, avail_sectors);
    return g;
  }
};

// The mdstat status after "super X.Y" on the array's line: " level 5, ...".
inline std::string mdstat_status_of(const std::string& mdstat) {
  const size_t super = mdstat.find("blocks super ");
  if (super == std::string::npos) return "";
  const size_t level = mdstat.find(" level ", super);
  const size_t eol = mdstat.find('\n', super);
  if (level == std::string::npos || level > eol) return "";
  return mdstat.substr(level, eol - level);
}

// The number that follows the first `key` in `text` (after spaces and
// quotes), e.g. number_after(examine, "Data Offset :").
inline uint64_t number_after(const std::string& text, const std::string& key) {
  size_t at = text.find(key);
  if (at == std::string::npos) throw std::runtime_error("no " + key);
  at += key.size();
  while (at < text.size() && !std::isdigit(static_cast<unsigned char>(text[at]))) {
    if (text[at] == '\n' && key.back() != '\n') throw std::runtime_error("no number after " + key);
    ++at;
  }
  return std::stoull(text.substr(at));
}

class FixtureStore {
 public:
  static FixtureStore& get() {
    static FixtureStore store;
    return store;
  }
  const Fixture& fixture(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = fixtures_.find(name);
    if (it != fixtures_.end()) return it->second;
    return fixtures_.emplace(name, load(name)).first->second;
  }
  ~FixtureStore() {
    std::error_code ec;
    if (!tmp_.empty()) std::filesystem::remove_all(tmp_, ec);
  }

 private:
  FixtureStore() {
    std::string templ = (std::filesystem::temp_directory_path() / "mdfs-raid5-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    tmp_ = templ;
  }

  Fixture load(const std::string& name) {
    const std::string dir = fixtures_dir() + "/" + name;
    Fixture f;
    f.name = name;
    const std::string manifest = slurp(dir + "/manifest.json");
    const std::string examine = slurp(dir + "/kernel-examine.txt");
    const std::string sysfs = slurp(dir + "/kernel-sysfs.txt");
    f.level = static_cast<int>(number_after(manifest, "\"level\": \"raid"));
    f.raid_disks = static_cast<int>(number_after(manifest, "\"raid_devices\":"));
    f.array_size_bytes = number_after(manifest, "\"array_size_bytes\":");
    f.layout = static_cast<int>(number_after(sysfs, "== layout\n"));
    f.chunk_sectors = static_cast<uint32_t>(number_after(sysfs, "== chunk_size\n") / 512);
    f.data_offset_sectors = number_after(examine, "Data Offset :");
    f.avail_sectors = number_after(examine, "Avail Dev Size :");
    if (size_t at = manifest.find("\"missing_roles\": ["); at != std::string::npos) {
      const size_t end = manifest.find(']', at);
      std::istringstream list(manifest.substr(at + 18, end - at - 18));
      std::string item;
      while (std::getline(list, item, ',')) f.missing_roles.push_back(std::stoi(item));
    }
    f.mdstat = slurp(dir + "/kernel-mdstat.txt");
    if (std::filesystem::exists(dir + "/kernel-degraded-mdstat.txt")) {
      f.degraded_mdstat = slurp(dir + "/kernel-degraded-mdstat.txt");
    }
    for (int role = 0; role < f.raid_disks; ++role) {
      const std::string src = dir + "/member-" + std::to_string(role) + ".img.xz";
      const std::string dst = tmp_ + "/" + name + "-member-" + std::to_string(role) + ".img";
      const std::string cmd = "xz -dc '" + src + "' > '" + dst + "'";
      if (std::system(cmd.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
      f.members.push_back(dst);
    }
    return f;
  }

  std::mutex mutex_;  // guards fixtures_ (tests may run cases from threads)
  std::map<std::string, Fixture> fixtures_;
  std::string tmp_;
};

inline const Fixture& fixture(const std::string& name) { return FixtureStore::get().fixture(name); }

inline const std::vector<std::string>& parity_fixture_names() {
  static const std::vector<std::string> names = {
      "raid4-4",        "raid5-4-la",   "raid5-4-ra",      "raid5-4-ls",      "raid5-4-rs",  "raid5-4-pfirst",
      "raid5-4-plast",  "raid5-4-meta1.1", "raid5-4-bitmap", "raid6-5-ls",     "raid6-5-ra"};
  return names;
}

// A member's data area in memory. Optionally fails reads or writes with EIO
// (a dying disk) and counts the requests it served.
class MemDisk final : public Disk {
 public:
  explicit MemDisk(size_t bytes) : data_(bytes) {}
  explicit MemDisk(std::vector<std::byte> data) : data_(std::move(data)) {}

  int read(uint64_t offset, std::span<std::byte> buf) override {
    reads.fetch_add(1);
    read_bytes.fetch_add(buf.size());
    if (fail_reads.load() || offset + buf.size() > data_.size()) return EIO;
    std::memcpy(buf.data(), data_.data() + offset, buf.size());
    return 0;
  }
  int write(uint64_t offset, std::span<const std::byte> buf) override {
    writes.fetch_add(1);
    if (fail_writes.load() || offset + buf.size() > data_.size()) return EIO;
    std::memcpy(data_.data() + offset, buf.data(), buf.size());
    return 0;
  }
  int sync() override { return 0; }
  int fd() const override { return -1; }
  uint64_t data_start() const override { return 0; }

  std::vector<std::byte>& bytes() { return data_; }
  void reset_counts() {
    reads = 0;
    writes = 0;
    read_bytes = 0;
  }

  std::atomic<bool> fail_reads{false};
  std::atomic<bool> fail_writes{false};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> writes{0};
  std::atomic<uint64_t> read_bytes{0};

 private:
  std::vector<std::byte> data_;
};

// A member image file, its data area starting at data_start.
class FileDisk final : public Disk {
 public:
  FileDisk(const std::string& path, uint64_t data_start, bool writable)
      : fd_(::open(path.c_str(), writable ? O_RDWR : O_RDONLY)), start_(data_start) {
    if (fd_ < 0) throw std::runtime_error("cannot open " + path);
  }
  ~FileDisk() override { ::close(fd_); }
  FileDisk(const FileDisk&) = delete;
  FileDisk& operator=(const FileDisk&) = delete;

  int read(uint64_t offset, std::span<std::byte> buf) override {
    const ssize_t n = ::pread(fd_, buf.data(), buf.size(), static_cast<off_t>(start_ + offset));
    if (n < 0) return errno;
    return static_cast<size_t>(n) == buf.size() ? 0 : EIO;
  }
  int write(uint64_t offset, std::span<const std::byte> buf) override {
    const ssize_t n = ::pwrite(fd_, buf.data(), buf.size(), static_cast<off_t>(start_ + offset));
    if (n < 0) return errno;
    return static_cast<size_t>(n) == buf.size() ? 0 : EIO;
  }
  int sync() override { return ::fsync(fd_) == 0 ? 0 : errno; }
  int fd() const override { return fd_; }
  uint64_t data_start() const override { return start_; }

 private:
  int fd_;
  uint64_t start_;
};

// The data areas of a fixture's members, in memory.
inline std::vector<std::vector<std::byte>> load_members(const Fixture& f) {
  std::vector<std::vector<std::byte>> out;
  for (const std::string& path : f.members) {
    const std::string image = slurp(path);
    const size_t start = f.data_offset_sectors * 512;
    const size_t len = f.avail_sectors * 512;
    if (image.size() < start + len) throw std::runtime_error("short member " + path);
    std::vector<std::byte> v(len);
    std::memcpy(v.data(), image.data() + start, len);
    out.push_back(std::move(v));
  }
  return out;
}

// Records what the personality reports.
struct RecordingEvents final : ArrayEvents {
  void member_failed(int role, int error) override {
    std::lock_guard lock(mutex);
    failed.emplace_back(role, error);
  }
  std::mutex mutex;
  std::vector<std::pair<int, int>> failed;
};

}  // namespace mdfs::raid::test
