// Where mdfsadm acts: an mdfs mount (found in /proc/mounts), its SOURCE,
// array names and member names resolved as a user gives them, and the
// mount's files (sysfs attributes, proc/mdstat, md ioctls on dev/<name>).
// mdfsadm changes arrays only through these, as mdadm through the kernel.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace mdfsadm {

// A failure to report: one line "mdfsadm: <message>" and mdadm's exit code
// (1 failure, 2 usage).
struct Failure : std::runtime_error {
  Failure(int code, const std::string& message) : std::runtime_error(message), exit_code(code) {}
  int exit_code;
};
[[noreturn]] void fail(const std::string& message);   // exit code 1
[[noreturn]] void usage(const std::string& message);  // exit code 2

// One error line on stderr, as mdadm's pr_err.
void say(const std::string& message);

// The device major mdfs gives members in GET_DISK_INFO (the minor is the
// member's descriptor number): 240, the first of Linux's experimental range.
inline constexpr int kMemberMajor = 240;

struct Mount {
  std::string point;   // absolute mount point
  std::string source;  // absolute SOURCE folder

  std::string dev(const std::string& name) const { return point + "/dev/" + name; }
  std::string block(const std::string& name) const { return point + "/sys/block/" + name; }
  std::string md(const std::string& name, const std::string& attr) const {
    return point + "/sys/block/" + name + "/md/" + attr;
  }
  std::string param(const std::string& p) const { return point + "/sys/module/md_mod/parameters/" + p; }
  std::string mdstat() const { return point + "/proc/mdstat"; }
  std::string member_path(const std::string& member) const { return source + "/" + member; }
};

struct MountOptions {
  std::string mount;   // --mount
  std::string source;  // --source: SOURCE when the mount table's is relative
};

// Every fuse.mdfs mount in /proc/mounts: (mount point, source as recorded).
std::vector<std::pair<std::string, std::string>> mdfs_mounts();

// The mount named by --mount, or the only mdfs mount; with several and
// `array` given, the one that has it.
Mount find_mount(const MountOptions& opts, const std::string& array = "");
// The mount whose point is `point` (absolute, resolved).
Mount mount_at(const std::string& point, const MountOptions& opts);

// An array as the user names it: MNT/dev/NAME, or NAME (md0, md_data) with
// the mount found as above; a bare word that is not an array name means
// md_WORD (mdadm's /dev/md/WORD).
struct ArrayRef {
  Mount mount;
  std::string name;
  std::string dev() const { return mount.dev(name); }
  std::string md(const std::string& attr) const { return mount.md(name, attr); }
};
ArrayRef resolve_array(const std::string& dev, const MountOptions& opts);
// Whether `name` is an array name as mdfs writes it (mdN, md_NAME).
bool is_array_name(const std::string& name);

// A member as the user names it: a path inside SOURCE, or a bare file name
// in SOURCE. Answers the file name inside SOURCE.
std::string resolve_member(const Mount& mount, const std::string& member);

// The attribute's value without its newline; nullopt with *error set to the
// errno when it cannot be read.
std::optional<std::string> read_attr(const std::string& path, int* error = nullptr);
// One write(2) of `value`, as `echo -n value > path`; 0 or the errno.
int write_attr(const std::string& path, const std::string& value);
// write_attr, failing with "PATH: reason (writing 'value')" on error.
void write_attr_or_fail(const std::string& path, const std::string& value);

// proc/mdstat: each array's members with their descriptor numbers and
// flags, and its sync progress, as mdadm's mdstat.c reads it.
struct MdstatMember {
  std::string name;
  int desc_nr = -1;
  bool faulty = false;
  bool spare = false;
};
struct MdstatEntry {
  std::string name;
  bool active = false;
  std::string level;
  std::vector<MdstatMember> members;
  int percent = -1;        // progress of resync/recovery/reshape/check, -1: none
  std::string action;      // "recovery", "resync", "reshape", "check"
  bool delayed = false;    // resync=DELAYED
  bool pending = false;    // resync=PENDING
};
std::vector<MdstatEntry> read_mdstat(const Mount& mount);
std::vector<MdstatEntry> parse_mdstat(const std::string& text);

// proc/mdstat held open, as mdadm's mdstat_read(hold) keeps it, to wait in
// poll() for the next md event (mdadm's mdstat_wait): mdfs wakes a reader
// that has read it whenever the kernel would call md_new_event.
class MdstatWatch {
 public:
  explicit MdstatWatch(const Mount& mount);
  ~MdstatWatch();
  MdstatWatch(const MdstatWatch&) = delete;
  MdstatWatch& operator=(const MdstatWatch&) = delete;
  // Reads it again from the start (which also clears the event seen).
  std::vector<MdstatEntry> read();
  // Waits until one of them has an event, or timeout_ms (-1: forever).
  // True when woken by an event.
  static bool wait(const std::vector<MdstatWatch*>& watches, int timeout_ms);

 private:
  int fd_;
};
std::optional<MdstatEntry> mdstat_entry(const Mount& mount, const std::string& name);

// The arrays under dev/, sorted.
std::vector<std::string> list_arrays(const Mount& mount);

// The regular files in SOURCE, sorted.
std::vector<std::string> source_files(const Mount& mount);

std::string errno_text(int e);

}  // namespace mdfsadm
