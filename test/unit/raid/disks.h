// Test members: a Disk in memory, one over a file, one that fails on
// demand (wholly, on bad sectors, or past the end of its file), and an
// ArrayEvents that records what it is told and answers read errors with a
// chosen policy.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "mdfs/personality.h"

namespace mdfs::raid::test {

// A member in memory. Any access outside it is EIO, so a layout that
// strays beyond a member shows as a failed request.
class MemDisk : public Disk {
 public:
  explicit MemDisk(uint64_t sectors) : data_(sectors * kSectorSize) {}
  int read(uint64_t offset, std::span<std::byte> buf) override {
    ++reads;
    if (!inside(offset, buf.size())) return EIO;
    std::memcpy(buf.data(), data_.data() + offset, buf.size());
    return 0;
  }
  int write(uint64_t offset, std::span<const std::byte> buf) override {
    ++writes;
    if (!inside(offset, buf.size())) return EIO;
    std::memcpy(data_.data() + offset, buf.data(), buf.size());
    return 0;
  }
  // One call for a scattered run, as a preadv-backed member makes.
  int readv(uint64_t offset, std::span<const std::span<std::byte>> bufs) override {
    ++reads;
    for (auto b : bufs) {
      if (!inside(offset, b.size())) return EIO;
      std::memcpy(b.data(), data_.data() + offset, b.size());
      offset += b.size();
    }
    return 0;
  }
  int writev(uint64_t offset, std::span<const std::span<const std::byte>> bufs) override {
    ++writes;
    for (auto b : bufs) {
      if (!inside(offset, b.size())) return EIO;
      std::memcpy(data_.data() + offset, b.data(), b.size());
      offset += b.size();
    }
    return 0;
  }
  int sync() override {
    ++syncs;
    return 0;
  }
  int fd() const override { return -1; }
  uint64_t data_start() const override { return 0; }
  std::vector<std::byte>& data() { return data_; }

  std::atomic<int> reads{0};
  std::atomic<int> writes{0};
  std::atomic<int> syncs{0};

 private:
  bool inside(uint64_t offset, size_t length) const { return offset <= data_.size() && length <= data_.size() - offset; }
  std::vector<std::byte> data_;
};

// A member over a file: the data starts `data_start` bytes in.
class FileDisk : public Disk {
 public:
  FileDisk(const std::string& path, uint64_t data_start, bool writable = false)
      : fd_(::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC)), start_(data_start) {}
  ~FileDisk() override {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDisk(const FileDisk&) = delete;
  FileDisk& operator=(const FileDisk&) = delete;
  bool ok() const { return fd_ >= 0; }
  int read(uint64_t offset, std::span<std::byte> buf) override {
    ++reads;
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done, off_t(start_ + offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return n < 0 ? errno : EIO;
      done += size_t(n);
    }
    return 0;
  }
  int write(uint64_t offset, std::span<const std::byte> buf) override {
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pwrite(fd_, buf.data() + done, buf.size() - done, off_t(start_ + offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return n < 0 ? errno : EIO;
      done += size_t(n);
    }
    return 0;
  }
  int sync() override { return ::fsync(fd_) ? errno : 0; }
  int fd() const override { return fd_; }
  uint64_t data_start() const override { return start_; }

  std::atomic<int> reads{0};

 private:
  int fd_;
  uint64_t start_;
};

// Passes through to another Disk; fails reads while fail_reads is set,
// writes and syncs while fail_writes is, with EIO. Reads touching a bad
// sector fail with EIO until a write covers that sector (a disk remaps a bad
// sector on write); reads reaching `end` find the end of the file
// (kMemberGone).
class FaultyDisk : public Disk {
 public:
  explicit FaultyDisk(Disk& inner) : inner_(inner) {}
  int read(uint64_t offset, std::span<std::byte> buf) override {
    ++reads;
    if (int e = check_read(offset, buf.size())) return e;
    return inner_.read(offset, buf);
  }
  int write(uint64_t offset, std::span<const std::byte> buf) override {
    ++writes;
    if (fail_writes) return EIO;
    int e = inner_.write(offset, buf);
    if (e == 0) heal(offset, buf.size());
    return e;
  }
  int readv(uint64_t offset, std::span<const std::span<std::byte>> bufs) override {
    ++reads;
    size_t len = 0;
    for (auto b : bufs) len += b.size();
    if (int e = check_read(offset, len)) return e;
    return inner_.readv(offset, bufs);
  }
  int writev(uint64_t offset, std::span<const std::span<const std::byte>> bufs) override {
    ++writes;
    if (fail_writes) return EIO;
    int e = inner_.writev(offset, bufs);
    size_t len = 0;
    for (auto b : bufs) len += b.size();
    if (e == 0) heal(offset, len);
    return e;
  }
  int sync() override { return fail_writes ? EIO : inner_.sync(); }
  int fd() const override { return inner_.fd(); }
  uint64_t data_start() const override { return inner_.data_start(); }

  // Sectors [first, first + count) go bad.
  void add_bad(uint64_t first, uint64_t count) {
    std::lock_guard lock(mutex_);
    for (uint64_t s = first; s < first + count; ++s) bad_[s] = true;
  }
  size_t bad_sectors() const {
    std::lock_guard lock(mutex_);
    return bad_.size();
  }

  std::atomic<bool> fail_reads{false};
  std::atomic<bool> fail_writes{false};
  std::atomic<uint64_t> end{std::numeric_limits<uint64_t>::max()};
  std::atomic<int> reads{0};
  std::atomic<int> writes{0};

 private:
  int check_read(uint64_t offset, size_t len) const {
    if (fail_reads) return EIO;
    if (offset + len > end) return kMemberGone;
    std::lock_guard lock(mutex_);
    auto it = bad_.lower_bound(offset / kSectorSize);
    if (it != bad_.end() && it->first * kSectorSize < offset + len) return EIO;
    return 0;
  }
  void heal(uint64_t offset, size_t len) {
    std::lock_guard lock(mutex_);
    const uint64_t first = (offset + kSectorSize - 1) / kSectorSize, last = (offset + len) / kSectorSize;
    bad_.erase(bad_.lower_bound(first), bad_.lower_bound(last));
  }

  Disk& inner_;
  mutable std::mutex mutex_;
  std::map<uint64_t, bool> bad_;  // bad sectors; guarded by mutex_
};

class RecordingEvents : public ArrayEvents {
 public:
  void member_failed(int role, int error) override {
    std::lock_guard lock(mutex);
    failed.emplace_back(role, error);
  }
  void array_broken(int role, int) override {
    std::lock_guard lock(mutex);
    broken.push_back(role);
  }
  ReadErrorPolicy read_error(int role) override {
    std::lock_guard lock(mutex);
    ++read_errors[role];
    return policy;
  }
  void read_error_corrected(int role, uint64_t, uint64_t sectors) override {
    std::lock_guard lock(mutex);
    corrected[role] += sectors;
  }
  std::vector<std::pair<int, int>> taken() {
    std::lock_guard lock(mutex);
    return failed;
  }
  std::mutex mutex;
  // All guarded by mutex.
  std::vector<std::pair<int, int>> failed;
  std::vector<int> broken;
  std::map<int, int> read_errors;
  std::map<int, uint64_t> corrected;
  ReadErrorPolicy policy = ReadErrorPolicy::kFix;  // set before I/O starts
};

// The fixtures' data: array sector s holds "mdfs-oracle sector %012d\n"
// (32 bytes) 16 times.
inline void fill_pattern(uint64_t offset, std::span<std::byte> out) {
  char line[40];
  uint64_t pos = offset;
  size_t done = 0;
  while (done < out.size()) {
    uint64_t sector = pos / kSectorSize;
    std::snprintf(line, sizeof line, "mdfs-oracle sector %012llu\n", static_cast<unsigned long long>(sector));
    uint64_t in_line = pos % 32;
    size_t n = std::min<size_t>(32 - in_line, out.size() - done);
    std::memcpy(out.data() + done, line + in_line, n);
    done += n;
    pos += n;
  }
}

}  // namespace mdfs::raid::test
