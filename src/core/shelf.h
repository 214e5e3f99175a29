// Shelf: the SOURCE folder of member image files. A member is named by its
// file name inside SOURCE, and nothing outside SOURCE is ever opened: names
// with '/' or "..", and symlinks leading out, are refused.
#pragma once

#include <mutex>
#include <set>
#include <string>
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

  struct Claimed {
    UniqueFd fd;
    uint64_t bytes;
    bool writable;
  };
  // Opens a member for an array and marks it in use: EINVAL for a name that
  // is not a plain file name or not a regular file, ENOENT when missing or
  // leading out of SOURCE, EBUSY when another array has it.
  Result<Claimed> claim(std::string_view name);
  void release(const std::string& name);
  // The regular files in SOURCE, sorted, for assembly at mount.
  std::vector<std::string> files() const;
  const UniqueFd& dir() const { return dir_; }

 private:
  UniqueFd dir_;
  std::mutex mutex_;  // in_use_
  std::set<std::string, std::less<>> in_use_;
};

}  // namespace mdfs::core
