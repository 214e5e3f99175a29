#include "mdfsadm/zero.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "mdfs/unique_fd.h"
#include "mdfsadm/mount.h"

namespace mdfsadm {
namespace {

// Set by SIGINT while ZeroingInterrupts is alive.
volatile sig_atomic_t g_interrupted = 0;

void on_interrupt(int) { g_interrupted = 1; }

// mdadm's step: one fallocate is not interruptible, so a Ctrl-C waits at
// most for one of these.
constexpr uint64_t kStep = uint64_t{1} << 30;

// The zeroes written where the file system can neither zero nor punch.
int write_zeroes(int fd, uint64_t offset, uint64_t length) {
  static const std::vector<char> zeroes(1 << 20, 0);
  while (length) {
    const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(length, zeroes.size()));
    const ssize_t done = ::pwrite(fd, zeroes.data(), n, static_cast<off_t>(offset));
    if (done < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (done == 0) return EIO;
    offset += static_cast<uint64_t>(done);
    length -= static_cast<uint64_t>(done);
  }
  return 0;
}

}  // namespace

ZeroingInterrupts::ZeroingInterrupts() {
  g_interrupted = 0;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, &old_);
}

ZeroingInterrupts::~ZeroingInterrupts() { ::sigaction(SIGINT, &old_, nullptr); }

bool ZeroingInterrupts::interrupted() { return g_interrupted != 0; }

void zero_data(const ZeroRange& r) {
  mdfs::UniqueFd fd(::open(r.file.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) fail("zeroing " + r.file + " failed: " + errno_text(errno));
  // Once the file system has said no to a way, the next is tried for the
  // rest of the range.
  int way = 0;  // 0 zero range, 1 punch a hole, 2 write zeroes
  uint64_t offset = r.offset, left = r.length;
  while (left) {
    if (ZeroingInterrupts::interrupted()) fail("zeroing interrupted!");
    const uint64_t step = std::min(left, kStep);
    int e = 0;
    if (way == 0 && ::fallocate(fd.get(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                                static_cast<off_t>(step)) != 0)
      e = errno;
    if (way == 1 && ::fallocate(fd.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                                static_cast<off_t>(step)) != 0)
      e = errno;
    if (way == 2) e = write_zeroes(fd.get(), offset, step);
    if (e == EINTR) continue;
    if ((e == EOPNOTSUPP || e == ENOSYS) && way < 2) {
      ++way;
      continue;
    }
    if (e) fail("zeroing " + r.file + " failed: " + errno_text(e));
    offset += step;
    left -= step;
  }
  if (::fsync(fd.get()) != 0) fail("zeroing " + r.file + " failed: " + errno_text(errno));
}

}  // namespace mdfsadm
