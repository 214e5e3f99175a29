#include "core/member.h"

#include <unistd.h>

#include <cerrno>

namespace mdfs::core {

Member::Member(Shelf& shelf, std::string name, Shelf::Claimed file)
    : shelf_(shelf), name_(std::move(name)), fd_(std::move(file.fd)), file_bytes_(file.bytes),
      writable_(file.writable) {}

Member::~Member() { release_name(); }

void Member::release_name() {
  if (named_) shelf_.release(name_);
  named_ = false;
}

int Member::pread_exact(uint64_t offset, std::span<std::byte> buf) const {
  size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::pread(fd_.get(), buf.data() + done, buf.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    done += static_cast<size_t>(n);
  }
  return 0;
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

int Member::read(uint64_t offset, std::span<std::byte> buf) {
  if (offset + buf.size() > sectors * 512) return EIO;
  return pread_exact(data_start() + offset, buf);
}

int Member::write(uint64_t offset, std::span<const std::byte> buf) {
  if (offset + buf.size() > sectors * 512) return EIO;
  return pwrite_exact(data_start() + offset, buf);
}

int Member::sync() { return ::fdatasync(fd_.get()) == 0 ? 0 : errno; }

}  // namespace mdfs::core
