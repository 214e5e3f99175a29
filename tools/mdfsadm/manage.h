// The modes that change arrays: each is the sequence of sysfs writes and md
// ioctls mdadm would make against the kernel, made against the mount.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mdfsadm/mount.h"

namespace mdfsadm {

struct CreateOptions {
  std::string level;
  std::optional<std::string> raid_devices;
  std::optional<std::string> spare_devices;
  std::optional<std::string> chunk;   // KiB, or with a K/M/G suffix
  std::optional<std::string> layout;
  std::optional<std::string> size;         // --size: KiB of each member (or "max")
  std::optional<std::string> data_offset;  // --data-offset
  std::string metadata = "1.2";
  bool metadata_set = false;
  std::string name;
  std::string homehost;                    // the resolved homehost ("" for none)
  bool assume_clean = false;
  bool write_zeroes = false;               // --write-zeroes (implies assume_clean)
  bool readonly = false;
  bool force = false;
  bool run = false;                        // --run: mdadm asks nothing then; nor does mdfsadm
  int verbose = 0;
  std::set<std::string> write_mostly;      // members given after --write-mostly
  std::set<std::string> failfast;          // members given after --failfast
  std::optional<std::string> bitmap;        // --bitmap=internal|none
  std::optional<std::string> bitmap_chunk;  // --bitmap-chunk
  std::optional<uint32_t> write_behind;     // --write-behind
};

// --create DEV MEMBERS...: new_array, metadata_version, level, raid_disks,
// chunk_size, layout, new_dev and slot for each member, array_state.
int create(const std::string& dev, const std::vector<std::string>& members, const CreateOptions& opts,
           const MountOptions& mopts);

// --build DEV MEMBERS...: as --create with metadata_version "none": no
// superblocks, every member in its slot in the order given.
int build(const std::string& dev, const std::vector<std::string>& members, const CreateOptions& opts,
          const MountOptions& mopts);

// Shared by the modes that make arrays: new_array (or taking over an empty
// array of that name, as an open of /dev/mdN would), clearing one whose
// making failed, and mdadm's "DEV has been started with N drives" line.
void new_array(const ArrayRef& arr);
void clear_array(const ArrayRef& arr);
void report_started(const ArrayRef& arr);

// --stop DEV... (STOP_ARRAY), or every array with --scan.
int stop(const std::vector<std::string>& devs, bool scan, const MountOptions& mopts);

// --run (RUN_ARRAY), --readonly (STOP_ARRAY_RO), --readwrite
// (RESTART_ARRAY_RW) on each DEV.
enum class ArrayOp { kRun, kReadonly, kReadwrite };
int array_op(ArrayOp op, const std::vector<std::string>& devs, const MountOptions& mopts);

// Manage mode: DEV then --add/--fail/--remove/--replace applied to the members that
// follow each, in order (mdadm /dev/md0 --fail sdb --remove sdb).
// --add-spare adds as --add does but never re-adds; --re-add only re-adds
// (through the bitmap, mdfsadm/bitmap.h); --write-mostly marks the member
// write-mostly as it joins.
// --replace marks a member want_replacement (a spare then rebuilds its
// role beside it); --with names the spare to use, as mdadm pairs each
// --with member with the --replace member before it.
enum class MemberOp { kAdd, kAddSpare, kReAdd, kFail, kRemove, kReplace, kWith };
struct MemberAction {
  MemberOp op;
  std::string member;
  bool write_mostly = false;
  int failfast = 0;  // 1: set the flag, -1: clear it
  std::string update = {};  // --re-add --update=WHAT: devicesize, bbl, no-bbl, force-no-bbl
};
int manage(const std::string& dev, const std::vector<MemberAction>& actions, const MountOptions& mopts,
           int verbose = 0);

// --action=check|repair|idle|frozen|resync|recover on each DEV.
int action(const std::string& what, const std::vector<std::string>& devs, const MountOptions& mopts);

// --wait DEV...: until no resync, recovery or reshape runs; a progress bar
// on a terminal. 0 if it waited for every array, else 1 (as mdadm).
int wait(const std::vector<std::string>& devs, const MountOptions& mopts);

}  // namespace mdfsadm
