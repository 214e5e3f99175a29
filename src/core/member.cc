#include "core/member.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <shared_mutex>
#include <vector>

#include <cerrno>

namespace mdfs::core {

Member::Member(Shelf& shelf, std::string name, Shelf::Claimed file)
    : shelf_(shelf), name_(std::move(name)), fd_(std::move(file.fd)), file_bytes_(file.bytes),
      writable_(file.writable), id_(file.id) {}

Member::~Member() { release_name(); }

void Member::release_name() {
  if (named_) shelf_.release(id_);
  named_ = false;
}

namespace {

// pread until `buf` is full; short reads are continued, and the end of the
// file before that is kMemberGone.
int pread_full(int fd, uint64_t offset, std::span<std::byte> buf) {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : raid::kMemberGone;
    done += static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace

int Member::pread_exact(uint64_t offset, std::span<std::byte> buf) const {
  const int e = pread_full(fd_.get(), offset, buf);
  return e == raid::kMemberGone ? EIO : e;
}

int Member::pwrite_exact(uint64_t offset, std::span<const std::byte> buf) {
  if (!writable_) return EROFS;
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pwrite(fd_.get(), buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

int Member::pwrite_durable(uint64_t offset, std::span<const std::byte> buf) {
  if (!writable_) return EROFS;
  size_t done = 0;
  while (done < buf.size()) {
    iovec iov{const_cast<std::byte*>(buf.data() + done), buf.size() - done};
    ssize_t n = ::pwritev2(fd_.get(), &iov, 1, static_cast<off_t>(offset + done), RWF_DSYNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EOPNOTSUPP) {  // a file system without per-write sync
      if (int e = pwrite_exact(offset + done, buf.subspan(done))) return e;
      return sync();
    }
    if (n <= 0) return n < 0 ? errno : EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
}

bool Member::meets_bad_block(uint64_t offset, uint64_t length) const {
  if (!any_bad_.load(std::memory_order_acquire) || length == 0) return false;
  const uint64_t first = offset / 512, end = (offset + length + 511) / 512;
  std::lock_guard bb_lock(bb_mutex);
  return bad_blocks.check(first, end - first).state != 0;
}

void Member::narrow(uint64_t offset, std::span<const std::span<const std::byte>> bufs) {
  {
    std::lock_guard bb_lock(bb_mutex);
    if (!bad_blocks.enabled()) return;  // as narrow_write_error: no log, no retry
  }
  constexpr uint64_t kPage = 4096;
  constexpr std::size_t kMaxNarrowed = 64;
  uint64_t end = offset;
  for (const auto& b : bufs) end += b.size();
  Narrowed n{offset / 512, (end + 511) / 512, {}};
  std::byte page[kPage];
  std::size_t bi = 0, bo = 0;  // the buffer being copied, and how far
  for (uint64_t at = offset; at < end;) {
    const uint64_t next = std::min(end, (at / kPage + 1) * kPage);
    std::size_t len = 0;
    while (at + len < next) {
      const auto& b = bufs[bi];
      const std::size_t take = std::min<std::size_t>(b.size() - bo, next - at - len);
      std::memcpy(page + len, b.data() + bo, take);
      len += take;
      bo += take;
      if (bo == b.size()) {
        ++bi;
        bo = 0;
      }
    }
    if (pwrite_exact(at, {page, len}) != 0) {
      const uint64_t lo = at / 512, hi = (at + len + 511) / 512;
      if (!n.bad.empty() && n.bad.back().second == lo) n.bad.back().second = hi;
      else n.bad.emplace_back(lo, hi);
    }
    at = next;
  }
  std::lock_guard bb_lock(bb_mutex);
  if (narrowed_.size() >= kMaxNarrowed) narrowed_.erase(narrowed_.begin());
  narrowed_.push_back(std::move(n));
}

std::optional<std::vector<std::pair<uint64_t, uint64_t>>> Member::take_narrowed(uint64_t lo, uint64_t hi) {
  std::lock_guard bb_lock(bb_mutex);
  std::optional<std::vector<std::pair<uint64_t, uint64_t>>> out;
  for (auto it = narrowed_.begin(); it != narrowed_.end();) {
    if (it->hi <= lo || it->lo >= hi) {
      ++it;
      continue;
    }
    if (!out) out.emplace();
    for (const auto& [b_lo, b_hi] : it->bad)
      if (b_lo < hi && lo < b_hi) out->emplace_back(std::max(b_lo, lo), std::min(b_hi, hi));
    it = narrowed_.erase(it);
  }
  if (out) std::sort(out->begin(), out->end());
  return out;
}

int Member::wrote(uint64_t offset, std::span<const std::span<const std::byte>> bufs, int error) {
  uint64_t length = 0;
  for (const auto& b : bufs) length += b.size();
  if (error != 0) {
    write_error_seen = true;  // as the end_write_request of every level
    if (error != EROFS) narrow(offset, bufs);
    return error;
  }
  if (!any_bad_.load(std::memory_order_acquire) || write_error_seen.load()) return 0;
  std::lock_guard bb_lock(bb_mutex);
  const uint64_t first = offset / 512, end = (offset + length) / 512;
  // The list is rewritten in the log with the next superblock write, as
  // rdev_clear_badblocks leaves it.
  if (bad_blocks.check(first, end - first).state != 0 && bad_blocks.clear(first, end - first) == 0)
    bad_blocks_changed();
  return 0;
}

int Member::read(uint64_t offset, std::span<std::byte> buf) {
  if (offset + buf.size() > sectors * 512) return EIO;
  if (meets_bad_block(data_start() + offset, buf.size())) return raid::kBadBlock;
  return pread_full(fd_.get(), data_start() + offset, buf);
}

int Member::write(uint64_t offset, std::span<const std::byte> buf) {
  if (offset + buf.size() > sectors * 512) return EIO;
  const std::span<const std::byte> one[] = {buf};
  Member* by = forwarding_to();
  if (!by) return wrote(data_start() + offset, one, pwrite_exact(data_start() + offset, buf));
  std::shared_lock lock(forward_mutex_);
  const int e = wrote(data_start() + offset, one, pwrite_exact(data_start() + offset, buf));
  if (int f = by->write(offset, buf)) forward_error(f);
  return e;
}

void Member::start_forwarding(Member* by, std::function<void(int)> failed) {
  std::unique_lock lock(forward_mutex_);
  replacement_failed_ = std::move(failed);
  forward_failed_ = false;
  replaced_by_ = by;
}

void Member::stop_forwarding() {
  std::unique_lock lock(forward_mutex_);
  replaced_by_ = nullptr;
  forward_failed_ = false;
  replacement_failed_ = nullptr;
}

void Member::forward_error(int error) {
  if (forward_failed_.exchange(true)) return;
  if (replacement_failed_) replacement_failed_(error);
}

int Member::copy_to_replacement(uint64_t offset, std::span<std::byte> buf) {
  std::unique_lock lock(forward_mutex_);
  Member* by = forwarding_to();
  if (!by) return ENODEV;
  if (int e = read(offset, buf)) return e;
  if (int f = by->write(offset, buf)) forward_error(f);
  return 0;
}

namespace {

// preadv/pwritev of a scattered request, IOV_MAX buffers a call, short
// transfers continued. `io` is preadv or pwritev; a transfer of nothing
// (the end of the file, for a read) answers `at_end`.
template <class Span, class Io>
int vectored(int fd, uint64_t offset, std::span<const Span> bufs, Io io, int at_end) {
  std::vector<iovec> iov;
  iov.reserve(bufs.size());
  for (const auto& b : bufs)
    if (!b.empty()) iov.push_back({const_cast<std::byte*>(b.data()), b.size()});
  size_t i = 0;
  while (i < iov.size()) {
    int count = static_cast<int>(std::min<size_t>(iov.size() - i, IOV_MAX));
    ssize_t n = io(fd, &iov[i], count, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : at_end;
    offset += static_cast<uint64_t>(n);
    for (size_t left = static_cast<size_t>(n); left > 0;) {
      if (left >= iov[i].iov_len) {
        left -= iov[i].iov_len;
        ++i;
      } else {
        iov[i].iov_base = static_cast<std::byte*>(iov[i].iov_base) + left;
        iov[i].iov_len -= left;
        left = 0;
      }
    }
  }
  return 0;
}

size_t total(const auto& bufs) {
  size_t n = 0;
  for (const auto& b : bufs) n += b.size();
  return n;
}

}  // namespace

int Member::readv(uint64_t offset, std::span<const std::span<std::byte>> bufs) {
  if (offset + total(bufs) > sectors * 512) return EIO;
  if (meets_bad_block(data_start() + offset, total(bufs))) return raid::kBadBlock;
  return vectored(fd_.get(), data_start() + offset, bufs, ::preadv, raid::kMemberGone);
}

int Member::writev(uint64_t offset, std::span<const std::span<const std::byte>> bufs) {
  if (!writable_) return EROFS;
  if (offset + total(bufs) > sectors * 512) return EIO;
  Member* by = forwarding_to();
  if (!by) return wrote(data_start() + offset, bufs, vectored(fd_.get(), data_start() + offset, bufs, ::pwritev, EIO));
  std::shared_lock lock(forward_mutex_);
  const int e = wrote(data_start() + offset, bufs, vectored(fd_.get(), data_start() + offset, bufs, ::pwritev, EIO));
  if (int f = by->writev(offset, bufs)) forward_error(f);
  return e;
}

int MemberView::read(uint64_t offset, std::span<std::byte> buf) {
  if (offset + buf.size() > bytes_) return EIO;
  if (member_.meets_bad_block(start_ + offset, buf.size())) return raid::kBadBlock;
  return member_.pread_exact(start_ + offset, buf);
}

int MemberView::write(uint64_t offset, std::span<const std::byte> buf) {
  if (offset + buf.size() > bytes_) return EIO;
  const std::span<const std::byte> one[] = {buf};
  return member_.wrote(start_ + offset, one, member_.pwrite_exact(start_ + offset, buf));
}

int MemberView::readv(uint64_t offset, std::span<const std::span<std::byte>> bufs) {
  if (offset + total(bufs) > bytes_) return EIO;
  if (member_.meets_bad_block(start_ + offset, total(bufs))) return raid::kBadBlock;
  return vectored(member_.fd(), start_ + offset, bufs, ::preadv, raid::kMemberGone);
}

int MemberView::writev(uint64_t offset, std::span<const std::span<const std::byte>> bufs) {
  if (!member_.writable()) return EROFS;
  if (offset + total(bufs) > bytes_) return EIO;
  return member_.wrote(start_ + offset, bufs, vectored(member_.fd(), start_ + offset, bufs, ::pwritev, EIO));
}

// The replacement holds what was forwarded below its recovery offset, which
// its superblock trusts: it reaches storage with this member's data.
int Member::sync() {
  const int e = ::fdatasync(fd_.get()) == 0 ? 0 : errno;
  if (Member* by = forwarding_to(); by && by->sync() != 0) forward_error(EIO);
  return e;
}

}  // namespace mdfs::core
