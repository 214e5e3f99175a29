// mdadm.conf, as mdadm 4.2 reads it (mdadm.conf(5)): ARRAY lines that
// identify arrays (uuid=, name=, super-minor=, devices=...), DEVICE lines
// naming the files to look at, AUTO, HOMEHOST, MAILADDR, MAILFROM, PROGRAM
// and MONITORDELAY. Device names map onto the mount's SOURCE: a DEVICE or
// devices= pattern with a '/' is a path glob, one without names files in
// SOURCE, and "partitions" (mdadm's default) is every file of SOURCE.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mdfsadm/examine.h"
#include "mdfsadm/mount.h"

namespace mdfsadm {

// An ARRAY line (or the --uuid/--name/--super-minor of the command line).
struct ArrayIdent {
  std::string devname;  // /dev/md0, /dev/md/NAME, NAME, <ignore>; "" when not given
  std::optional<std::array<uint8_t, 16>> uuid;
  std::string name;
  std::optional<int> super_minor;
  std::string devices;  // devices=: comma-separated patterns
  std::optional<int> level;
  std::optional<int> raid_disks;
  int spare_disks = 0;
  std::string metadata;
  std::string spare_group;

  bool has_identity() const { return uuid || !name.empty() || super_minor || !devices.empty(); }
  // Whether a member's superblock belongs to this array, as mdadm's
  // Assemble selects (uuid, name, super-minor, level, raid-disks).
  bool matches(const FoundSuper& sb, const std::string& homehost) const;
};

struct Config {
  std::string file;                        // what was read ("" for none)
  std::vector<std::string> device_words;   // DEVICE words; empty: partitions
  std::vector<ArrayIdent> arrays;
  std::optional<std::string> homehost;     // HOMEHOST ("" for <none>)
  bool require_homehost = true;            // false for HOMEHOST <ignore>
  std::vector<std::string> auto_words;     // the AUTO line
  std::string mailaddr;
  std::string mailfrom;
  std::string program;
  int monitor_delay = 0;
};

// Reads FILE ("" reads none, as do "none" and "partitions"). A missing file
// given by the user is an error; a bad word is reported and skipped, as
// mdadm does.
Config load_config(const std::string& file);

// The DEVICE lines' files, mapped into SOURCE (file names, sorted); every
// file of SOURCE when there are none.
std::vector<std::string> config_devices(const Config& config, const Mount& mount);
// Files named by a devices= list (or DEVICE words), mapped into SOURCE.
std::vector<std::string> match_devices(const std::vector<std::string>& patterns, const Mount& mount);
// DEVICE lines' paths without a mount (--examine --scan): absolute globs.
std::vector<std::string> config_device_paths(const Config& config);

// The AUTO line's verdict for a superblock: may it be auto-assembled?
bool auto_allows(const Config& config, const FoundSuper& sb, bool local);

// The mdfs array name for an ARRAY line's device (/dev/md0 -> md0,
// /dev/md/data -> md_data, /dev/md/3 -> md3, data -> md_data).
std::string array_name_for(const std::string& devname);

// Whether a path names an array's file under a mount (MNT/dev/md0).
bool mount_array_file(const std::string& path);

// Splits "a,b,c".
std::vector<std::string> split_commas(const std::string& text);

}  // namespace mdfsadm
