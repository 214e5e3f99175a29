// Misc mode's smaller actions: --examine's report forms (full, --brief and
// --scan's ARRAY lines, --export's KEY=value lines), --query,
// --zero-superblock and --wait-clean, each with mdadm's output and status.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "mdfsadm/config.h"
#include "mdfsadm/mount.h"

namespace mdfsadm {

struct ExamineOptions {
  std::string homehost;
  bool brief = false;   // --brief, or --scan
  bool scan = false;
  bool export_vars = false;
  int verbose = 0;
  bool swapped0 = false;  // --metadata=0.swap: byte-swapped 0.90 superblocks
};

// --examine FILE...: as mdadm's Examine(); 0, or 1 when a file could not be
// read (--scan and --brief stay quiet about files without superblocks).
int examine_mode(const std::vector<std::string>& files, const ExamineOptions& opts);

// The files --examine --scan looks at without a list: the config's DEVICE
// paths, else every file of each mount's SOURCE (or --mount's).
std::vector<std::string> scan_files(const Config& config, const MountOptions& mopts);

// --examine-badblocks FILE: the v1 bad block log as mdadm 4.2's
// examine_badblocks_super1 prints it ("Bad-blocks on FILE:", then one
// "%20llu for %d sectors" line per entry; or that the list is empty or
// not configured). 1 when the file cannot be read, holds no superblock, or
// holds a 0.90 one (which has no log), as mdadm's ExamineBadblocks.
int examine_badblocks(const std::string& file, bool brief);

// --query FILE-or-ARRAY: one line on what it is, and one on the superblock
// it holds; 0 unless it cannot be opened.
int query(const std::string& name, const MountOptions& mopts);

// The array (MNT/dev/NAME) of an mdfs mount whose running member `path`
// is, if any: such a file's superblock belongs to mdfs.
std::optional<std::string> member_in_use(const std::string& path);

// --zero-superblock FILE: every md superblock on it zeroed (as mdadm's Kill,
// repeated until none is left). Refused for a member of a running array.
// mdadm's status: 0 done, 1 write failed, 2 cannot open, and 2 when there
// was no superblock to zero.
int zero_superblock(const std::string& file, bool force, int verbose);

// --wait-clean: for native metadata the kernel marks the superblocks clean
// itself; mdadm returns at once with 0, and so does mdfsadm (after checking
// the array exists: 2 when it does not).
int wait_clean(const std::string& dev, const MountOptions& mopts, int verbose);
int wait_clean_scan(const MountOptions& mopts, int verbose);

}  // namespace mdfsadm
