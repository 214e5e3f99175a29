#include "fuse/splice_read.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

namespace mdfs::fuse {

namespace {

constexpr size_t kPage = 4096;

}  // namespace

SplicePipe& SplicePipe::local() {
  thread_local SplicePipe pipe;
  return pipe;
}

// A pipe with room for `pages` buffer slots: made on first use and grown
// with F_SETPIPE_SZ (refused beyond fs.pipe-max-size, or the user's pipe
// page limits, for an unprivileged daemon: then the read is copied).
bool SplicePipe::ensure(size_t pages) {
  if (!read_) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return false;
    read_ = UniqueFd(fds[0]);
    write_ = UniqueFd(fds[1]);
    const int size = ::fcntl(write_.get(), F_GETPIPE_SZ);
    pages_ = size > 0 ? static_cast<size_t>(size) / kPage : 0;
  }
  if (pages_ >= pages) return true;
  const int size = ::fcntl(write_.get(), F_SETPIPE_SZ, static_cast<int>(pages * kPage));
  if (size < 0) return false;
  pages_ = static_cast<size_t>(size) / kPage;
  return pages_ >= pages;
}

void SplicePipe::reset() {
  read_.reset();
  write_.reset();
  pages_ = 0;
}

SplicePipe::Fill SplicePipe::fill(std::span<const raid::Extent> extents, int& failed_role) {
  // Each page of a member file the extents touch takes one slot.
  size_t pages = 0;
  for (const auto& e : extents) pages += (e.file_offset % kPage + e.length + kPage - 1) / kPage + 1;
  if (!ensure(pages)) return Fill::kNoRoom;
  for (const auto& e : extents) {
    loff_t at = static_cast<loff_t>(e.file_offset);
    size_t left = e.length;
    while (left > 0) {
      const ssize_t n = ::splice(e.fd, &at, write_.get(), nullptr, left, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        left -= static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      const bool full = n < 0 && errno == EAGAIN;
      // What is in the pipe is not a whole reply: dropped with the pipe.
      reset();
      if (full) return Fill::kNoRoom;
      failed_role = e.role;  // an error, or 0 bytes: the member's file ended
      return Fill::kFailed;
    }
  }
  return Fill::kFilled;
}

bool read_extents(std::span<const raid::Extent> extents, std::span<std::byte> out, int& failed_role) {
  size_t at = 0;
  for (const auto& e : extents) {
    size_t done = 0;
    while (done < e.length) {
      const ssize_t n = ::pread(e.fd, out.data() + at + done, e.length - done, static_cast<off_t>(e.file_offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failed_role = e.role;
        return false;
      }
      done += static_cast<size_t>(n);
    }
    at += e.length;
  }
  return true;
}

void SplicePipe::settle() {
  int left = 0;
  if (read_ && (::ioctl(read_.get(), FIONREAD, &left) != 0 || left != 0)) reset();
}

}  // namespace mdfs::fuse
