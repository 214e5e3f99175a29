// The attribute tables of the sysfs-like tree: name, mode, show, store,
// beside the state they expose, as md.c declares its md_sysfs_entry tables.
// Text formats and errno values are the kernel's.
#pragma once

#include <sys/types.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/array.h"
#include "core/registry.h"
#include "mdfs/result.h"

namespace mdfs::sysfs {

// What the writes of one open file have stored so far. sysfs takes each
// write(2) as a store of its own; new_array takes the writes of one open
// file that continue each other as one name, so that a name a shell writes
// in pieces (`printf 'md_a\nb'` is two writes) is refused whole instead of
// half made. A whole line after a whole line is a name of its own.
struct StoreMemory {
  std::string text;      // every byte written so far
  std::string made;      // the array the text made so far, if any
  uint64_t made_id = 0;  // and its incarnation
};

// What an attribute shows: the whole mount (module parameters, mdstat),
// one array, or one member of an array.
struct Target {
  core::Registry* registry = nullptr;
  core::Array* array = nullptr;
  core::Member* member = nullptr;
  StoreMemory* memory = nullptr;  // a store's open file, when it has one
};

struct Attribute {
  std::string_view name;
  mode_t mode;                                               // permission bits
  std::string (*show)(const Target&);                        // nullptr: write-only
  Result<void> (*store)(const Target&, std::string_view);    // nullptr: read-only
  bool (*visible)(const Target&) = nullptr;                  // nullptr: always there
};

std::span<const Attribute> module_parameters();   // sys/module/md_mod/parameters/
std::span<const Attribute> block_attributes();    // sys/block/<name>/
std::span<const Attribute> md_attributes();       // sys/block/<name>/md/
std::span<const Attribute> bitmap_attributes();   // sys/block/<name>/md/bitmap/
std::span<const Attribute> member_attributes();   // sys/block/<name>/md/dev-<member>/
const Attribute& mdstat_attribute();              // proc/mdstat

std::string render_mdstat(core::Registry& registry);

}  // namespace mdfs::sysfs
