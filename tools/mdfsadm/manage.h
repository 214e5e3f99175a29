// The modes that change arrays: each is the sequence of sysfs writes and md
// ioctls mdadm would make against the kernel, made against the mount.
#pragma once

#include <optional>
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
  std::string metadata = "1.2";
  std::string name;
  bool assume_clean = false;
  bool readonly = false;
  bool force = false;
};

// --create DEV MEMBERS...: new_array, metadata_version, level, raid_disks,
// chunk_size, layout, new_dev and slot for each member, array_state.
int create(const std::string& dev, const std::vector<std::string>& members, const CreateOptions& opts,
           const MountOptions& mopts);

// --assemble DEV MEMBERS...: the members' superblocks decide; new_array,
// metadata_version, new_dev each, array_state active (readonly with -o).
// A raid4/5/6 both dirty and short of members does not start (mdfs answers
// EIO, as the kernel); with `force` its freshest superblock is first
// marked clean, as mdadm --assemble --force does.
int assemble(const std::string& dev, const std::vector<std::string>& members, bool readonly,
             const MountOptions& mopts, bool force = false);
// --assemble --scan: every array whose members lie in SOURCE and are not in
// use, named as mdfs names arrays at mount.
int assemble_scan(bool readonly, const MountOptions& mopts, bool force = false);

// --stop DEV... (STOP_ARRAY), or every array with --scan.
int stop(const std::vector<std::string>& devs, bool scan, const MountOptions& mopts);

// --run (RUN_ARRAY), --readonly (STOP_ARRAY_RO), --readwrite
// (RESTART_ARRAY_RW) on each DEV.
enum class ArrayOp { kRun, kReadonly, kReadwrite };
int array_op(ArrayOp op, const std::vector<std::string>& devs, const MountOptions& mopts);

// Manage mode: DEV then --add/--fail/--remove applied to the members that
// follow each, in order (mdadm /dev/md0 --fail sdb --remove sdb).
enum class MemberOp { kAdd, kFail, kRemove };
struct MemberAction {
  MemberOp op;
  std::string member;
};
int manage(const std::string& dev, const std::vector<MemberAction>& actions, const MountOptions& mopts);

// --action=check|repair|idle|frozen|resync|recover on each DEV.
int action(const std::string& what, const std::vector<std::string>& devs, const MountOptions& mopts);

// --wait DEV...: until no resync, recovery or reshape runs; a progress bar
// on a terminal. 0 if it waited for every array, else 1 (as mdadm).
int wait(const std::vector<std::string>& devs, const MountOptions& mopts);

}  // namespace mdfsadm
