// Array names as the kernel makes and checks them (md.c add_named_array).
#pragma once

#include <string>
#include <string_view>

#include "mdfs/result.h"

namespace mdfs::core {

// The kernel's DISK_NAME_LEN: a name must be shorter than this.
inline constexpr size_t kDiskNameLen = 32;
// The largest minor number an mdN name can have (MINORMASK).
inline constexpr unsigned long kMaxMinor = (1UL << 20) - 1;

struct ArrayName {
  std::string name;  // as dev/ and sys/block/ show it: "md1", "md_foo"
  bool numbered;     // mdN (held until an ioctl) or md_NAME (held until stop)
  long minor;        // N for mdN, -1 for a named array
};

// What a write to new_array means: trailing newlines are dropped; "md01"
// names md1; "md_NAME" keeps NAME, with '/' shown as '!' (sysfs does so);
// E2BIG when 32 bytes or longer, EINVAL for anything else.
Result<ArrayName> parse_new_array_name(std::string_view text);

// A file name under dev/ that names an array exactly as mdfs would show it
// (no leading zeros, no '/'): what O_CREAT may create.
Result<ArrayName> parse_device_name(std::string_view name);

}  // namespace mdfs::core
