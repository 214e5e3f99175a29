// Member: the rdev. One member image file of an array.
#pragma once

#include <cstdint>
#include <string>

namespace mdfs::core {

class Member {
 public:
  explicit Member(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  int desc_nr = 0;      // the superblock's dev_number
  int raid_disk = -1;   // role, -1 for a spare
  bool faulty = false;
  bool in_sync = false;
  uint64_t sectors = 0; // data sectors

 private:
  std::string name_;
};

}  // namespace mdfs::core
