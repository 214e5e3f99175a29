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
// E2BIG when 32 bytes or longer, EINVAL for anything else, and for a control
// character anywhere (the kernel takes one, but the name becomes a file
// name in dev/ and a line in every listing; mdadm 4.3 refuses them too).
Result<ArrayName> parse_new_array_name(std::string_view text);

// The array name mdadm 4.2 derives from a v1 superblock's name (the part
// after "homehost:"): '/' becomes '-', space and tab '_'; mdfs also turns
// every other control character into '_'.
std::string sanitize_metadata_name(std::string_view name);

// A file name under dev/ that names an array exactly as mdfs would show it
// (no leading zeros, no '/'): what O_CREAT may create.
Result<ArrayName> parse_device_name(std::string_view name);

}  // namespace mdfs::core
