#include "core/shelf.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace mdfs::core {

namespace {

// openat2 with RESOLVE_BENEATH: symlinks may not lead out of SOURCE.
int open_beneath(int dir, const std::string& name, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, dir, name.c_str(), &how, sizeof how));
}

}  // namespace

Result<Shelf::Claimed> Shelf::claim(std::string_view name_view) {
  std::string name(name_view);
  while (!name.empty() && name.back() == '\n') name.pop_back();
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos ||
      name.find('\0') != std::string::npos)
    return err(EINVAL);
  if (!dir_) return err(ENOENT);
  bool writable = true;
  int fd = open_beneath(dir_.get(), name, O_RDWR);
  if (fd < 0 && (errno == EACCES || errno == EROFS || errno == EPERM)) {
    writable = false;
    fd = open_beneath(dir_.get(), name, O_RDONLY);
  }
  if (fd < 0) {
    if (errno == EXDEV || errno == ELOOP) return err(ENOENT);  // leads out of SOURCE
    if (errno == EISDIR) return err(EINVAL);
    return err(errno);
  }
  UniqueFd owned(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) return err(errno);
  if (!S_ISREG(st.st_mode)) return err(EINVAL);
  // The file, not the name: the open above followed whatever alias led here.
  const FileId id{st.st_dev, st.st_ino};
  std::lock_guard lock(mutex_);
  if (!in_use_.emplace(id, name).second) return err(EBUSY);
  return Claimed{std::move(owned), static_cast<uint64_t>(st.st_size), writable, id};
}

void Shelf::release(FileId id) {
  std::lock_guard lock(mutex_);
  in_use_.erase(id);
}

std::optional<std::string> Shelf::holder(std::string_view name) const {
  if (!dir_ || name.empty() || name.find('/') != std::string_view::npos) return std::nullopt;
  struct stat st {};
  if (fstatat(dir_.get(), std::string(name).c_str(), &st, 0) != 0) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = in_use_.find(FileId{st.st_dev, st.st_ino});
  if (it == in_use_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> Shelf::files() const {
  std::vector<std::string> out;
  if (!dir_) return out;
  int fd = openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return out;
  DIR* d = fdopendir(fd);
  if (!d) {
    close(fd);
    return out;
  }
  while (dirent* e = readdir(d)) {
    struct stat st {};
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
      out.emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mdfs::core
