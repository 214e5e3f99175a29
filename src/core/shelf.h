// Shelf: the SOURCE folder of member image files. A member is named by its
// file name inside SOURCE, and nothing outside SOURCE is ever opened: names
// with '/' or "..", and symlinks leading out, are refused. A file is one
// member however it is reached: files in use are told apart by device and
// inode, so a symlink, a hard link or a bind mount of a member in use is
// busy too, as a block device is to the kernel once md holds it.
#pragma once

#include <sys/types.h>

#include <compare>
#include <map>
#include <mutex>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "mdfs/result.h"
#include "mdfs/unique_fd.h"

namespace mdfs::core {

class Shelf {
 public:
  // An empty shelf (no SOURCE): every member name is ENOENT.
  Shelf() = default;
  explicit Shelf(UniqueFd dir) : dir_(std::move(dir)) {}

  // What makes a file the same file.
  struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    auto operator<=>(const FileId&) const = default;
  };
  struct Claimed {
    UniqueFd fd;
    uint64_t bytes;
    bool writable;
    FileId id;
  };
  // Opens a member for an array and marks it in use: EINVAL for a name that
  // is not a plain file name or not a regular file, ENOENT when missing or
  // leading out of SOURCE, EBUSY when an array has this file, under this
  // name or any other.
  Result<Claimed> claim(std::string_view name);
  void release(FileId id);
  // The name under which `name`'s file is in use, if it is.
  std::optional<std::string> holder(std::string_view name) const;
  // The regular files in SOURCE, sorted, for assembly at mount.
  std::vector<std::string> files() const;
  const UniqueFd& dir() const { return dir_; }

 private:
  UniqueFd dir_;
  mutable std::mutex mutex_;  // in_use_; taken last, held only for the map
  std::map<FileId, std::string> in_use_;  // file -> the name it was claimed by
};

}  // namespace mdfs::core
