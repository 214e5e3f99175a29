// Access to the kernel-made arrays in $MDFS_FIXTURES (see its README.md):
// the members' superblock areas (decompressed with xz), and what mdadm
// --examine and manifest.json say about them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "format/super_info.h"

namespace fixture {

std::string dir();
// The fixture cases (linear-2, raid0-3-64k, ...) of dir()/cases.txt, sorted;
// throws when the index is missing or empty or a case has no folder.
std::vector<std::string> cases();

// A member image as far as the codecs need it: its size and its first
// 64 KiB and last 128 KiB (every superblock, bitmap and bad block log of
// the fixtures lies there). Reads elsewhere fail with EIO.
struct Member {
  uint64_t size = 0;
  std::vector<std::byte> head;
  std::vector<std::byte> tail;
  mdfs::format::ReadAt reader() const;
  std::vector<std::byte> bytes(uint64_t offset, uint64_t len) const;  // empty if out of the kept areas
};
// Member n of a case, decompressed once per process.
const Member& member(const std::string& name, int n);

// One "== /dev/vdX" section of kernel-examine*.txt: "Key : value" pairs
// and every line.
struct Section {
  std::string device;
  std::map<std::string, std::string> fields;
  std::vector<std::string> lines;
  bool has(const std::string& key) const { return fields.count(key) != 0; }
  const std::string& at(const std::string& key) const;
};
std::vector<Section> examine_text(const std::string& name, const std::string& file = "kernel-examine.txt");
// A text file of a case (kernel-sysfs.txt, ...), whole.
std::string text(const std::string& name, const std::string& file);
// The value of `== KEY` in a case's kernel-sysfs.txt (the line after it).
std::string sysfs_value(const std::string& name, const std::string& key);
// The same from text: sections start at lines "== NAME".
std::vector<Section> parse_examine(const std::string& text);

struct Manifest {
  std::string level;
  int raid_devices = 0;
  std::vector<int> member_mib;
  uint64_t array_size_bytes = 0;
  int members = 0;  // entries of members_in_role_order
};
Manifest manifest(const std::string& name);

// Leading unsigned number of a value ("14336 sectors (7.00 MiB ...)").
uint64_t leading_number(const std::string& value);

}  // namespace fixture
