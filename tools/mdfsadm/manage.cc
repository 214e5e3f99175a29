#include "mdfsadm/manage.h"

#include <fcntl.h>
#include <linux/major.h>
#include <linux/raid/md_u.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <set>

#include "mdfs/unique_fd.h"
#include "mdfsadm/bitmap.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/options.h"
#include "mdfsadm/super_facts.h"
#include "mdfsadm/update.h"

namespace mdfsadm {
namespace {


std::string member_in_array(const ArrayRef& arr, const std::string& member) {
  std::string name = member.find('/') == std::string::npos ? member : resolve_member(arr.mount, member);
  if (!read_attr(arr.md("dev-" + name + "/state")))
    fail(arr.mount.member_path(name) + " is not a member of " + arr.dev());
  return name;
}

// --replace and --with, as mdadm's Manage_replace and Manage_with: the
// array's recovery is frozen (when idle or recovering) while members are
// marked, so that a spare named by --with is in its slot before a recovery
// picks one; sync_action goes back to idle at the end.
class Replacing {
 public:
  Replacing(const ArrayRef& arr, std::size_t actions) : arr_(arr), paired_(actions, -1) {}
  ~Replacing() {
    if (frozen_) (void)write_attr(arr_.md("sync_action"), "idle");
  }
  Replacing(const Replacing&) = delete;
  Replacing& operator=(const Replacing&) = delete;

  // Marks the member want_replacement; answers its role.
  int mark(const std::string& member, int verbose) {
    freeze();
    const std::string name = member.find('/') == std::string::npos ? member : resolve_member(arr_.mount, member);
    const std::string path = arr_.mount.member_path(name);
    const auto slot = read_attr(arr_.md("dev-" + name + "/slot"));
    if (!slot) fail(path + " not found in " + arr_.dev() + " so cannot --replace it");
    if (*slot == "none") fail(path + " is not active and so cannot be replaced.");
    if (write_attr(arr_.md("dev-" + name + "/state"), "want_replacement") != 0)
      fail("Failed to request replacement for " + path);
    if (verbose >= 0) say("Marked " + path + " (device " + *slot + " in " + arr_.dev() + ") for replacement");
    return std::stoi(*slot);
  }

  // The action at `index` (a --with) takes `role`, unless already paired.
  bool pair(std::size_t index, int role) {
    if (paired_[index] >= 0) return false;
    paired_[index] = role;
    return true;
  }

  // A --with member: a spare of the array, put in the slot of the member
  // it replaces.
  void with(std::size_t index, const std::string& member, int verbose) {
    const std::string name = member.find('/') == std::string::npos ? member : resolve_member(arr_.mount, member);
    const std::string path = arr_.mount.member_path(name);
    if (paired_[index] < 0) fail("No matching --replace device for --with " + member);
    const auto state = read_attr(arr_.md("dev-" + name + "/state"));
    if (!state) fail(path + " not found in " + arr_.dev() + " so cannot make it preferred replacement");
    if (state->find("faulty") != std::string::npos) fail(path + " is faulty and cannot be a replacement");
    if (read_attr(arr_.md("dev-" + name + "/slot")).value_or("none") != "none")
      fail(path + " is active and cannot be a replacement");
    const std::string role = std::to_string(paired_[index]);
    if (write_attr(arr_.md("dev-" + name + "/slot"), role) != 0)
      fail("Failed to set " + path + " as preferred replacement.");
    if (verbose >= 0) say("Marked " + path + " in " + arr_.dev() + " as replacement for device " + role);
  }

 private:
  // mdadm's sysfs_freeze_array: only an idle or recovering array.
  void freeze() {
    if (frozen_) return;
    const auto action = read_attr(arr_.md("sync_action"));
    if (action && (*action == "idle" || *action == "recover"))
      frozen_ = write_attr(arr_.md("sync_action"), "frozen") == 0;
  }

  const ArrayRef& arr_;
  std::vector<int> paired_;  // per action: the role a --with takes, -1 unpaired
  bool frozen_ = false;
};

// --re-add --update=WHAT: as mdadm's attempt_re_add, the member's
// superblock is updated once it looks worth a try (it was active in this
// array and is not faulty), before the array is asked to take it back;
// whether the array does (its bitmap) is decided after.
void update_for_re_add(const ArrayRef& arr, const std::string& name, const std::string& what) {
  const std::string path = arr.mount.member_path(name);
  int error = 0;
  auto found = find_super(path, &error);
  if (!found) return;
  const auto array_uuid = parse_uuid(read_attr(arr.md("uuid")).value_or(""));
  if (sb_role(*found) < 0 || !array_uuid || *array_uuid != found->uuid()) return;
  if (read_attr(arr.md("dev-" + name + "/state"))) return;  // still in the array: nothing to re-add
  UpdateRequest req;
  req.what = what;
  try {
    apply_update(arr.mount, name, *found, req);
  } catch (const Failure& f) {
    say(f.what());
    fail("failed to update superblock during re-add");
  }
}

}  // namespace

int stop(const std::vector<std::string>& devs, bool scan, const MountOptions& mopts) {
  std::vector<ArrayRef> arrays;
  if (scan) {
    std::vector<Mount> mounts;
    if (!mopts.mount.empty())
      mounts.push_back(find_mount(mopts));
    else
      for (const auto& [point, source] : mdfs_mounts()) mounts.push_back(mount_at(point, mopts));
    for (const auto& m : mounts)
      for (const auto& e : read_mdstat(m)) arrays.push_back({m, e.name});
  } else {
    if (devs.empty()) usage("No devices given.");
    for (const auto& d : devs) arrays.push_back(resolve_array(d, mopts));
  }
  int rc = 0;
  for (const auto& arr : arrays) {
    mdfs::UniqueFd fd(::open(arr.dev().c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      say("error opening " + arr.dev() + ": " + errno_text(errno));
      rc = 1;
      continue;
    }
    // As mdadm does: an opener that is closing (a filesystem daemon that
    // is exiting, udev) gets about a second before EBUSY is final.
    int err = 0;
    for (int tries = 1;; ++tries) {
      err = ::ioctl(fd.get(), STOP_ARRAY, nullptr) == 0 ? 0 : errno;
      if (err != EBUSY || tries == 5) break;
      const timespec pause{0, 200'000'000};
      ::nanosleep(&pause, nullptr);
    }
    if (err != 0) {
      if (err == EBUSY)
        say("Cannot get exclusive access to " + arr.dev() +
            ":Perhaps a running process, mounted filesystem or active volume group?");
      else
        say("failed to stop array " + arr.dev() + ": " + errno_text(err));
      rc = 1;
      continue;
    }
    say("stopped " + arr.dev());
  }
  return rc;
}

int array_op(ArrayOp op, const std::vector<std::string>& devs, const MountOptions& mopts) {
  if (devs.empty()) usage("No devices given.");
  int rc = 0;
  for (const auto& d : devs) {
    ArrayRef arr = resolve_array(d, mopts);
    mdfs::UniqueFd fd(::open(arr.dev().c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) {
      say("error opening " + arr.dev() + ": " + errno_text(errno));
      rc = 1;
      continue;
    }
    int r = 0;
    const char* what = "";
    switch (op) {
      case ArrayOp::kRun: {
        mdu_param_t param{};
        r = ::ioctl(fd.get(), RUN_ARRAY, &param);
        what = "failed to run array";
        break;
      }
      case ArrayOp::kReadonly:
        r = ::ioctl(fd.get(), STOP_ARRAY_RO, nullptr);
        what = "failed to set readonly for";
        break;
      case ArrayOp::kReadwrite:
        r = ::ioctl(fd.get(), RESTART_ARRAY_RW, nullptr);
        what = "failed to set writable for";
        break;
    }
    if (r != 0) {
      say(std::string(what) + " " + arr.dev() + ": " + errno_text(errno));
      rc = 1;
    } else if (op == ArrayOp::kRun) {
      say("started array " + arr.dev());
    }
  }
  return rc;
}

int manage(const std::string& dev, const std::vector<MemberAction>& actions, const MountOptions& mopts,
           int verbose) {
  ArrayRef arr = resolve_array(dev, mopts);
  if (!read_attr(arr.md("array_state"))) fail("error opening " + arr.dev() + ": " + errno_text(ENOENT));
  if (actions.empty()) usage("no devices given to --add, --fail or --remove");
  int rc = 0;
  Replacing replacing(arr, actions.size());
  for (std::size_t i = 0; i < actions.size(); ++i) {
    const MemberAction& a = actions[i];
    try {
      switch (a.op) {
        case MemberOp::kReplace: {
          const int role = replacing.mark(a.member, verbose);
          // The --with member after it (not yet paired) takes its role.
          for (std::size_t j = i + 1; j < actions.size(); ++j)
            if (actions[j].op == MemberOp::kWith && replacing.pair(j, role)) break;
          break;
        }
        case MemberOp::kWith:
          replacing.with(i, a.member, verbose);
          break;
        case MemberOp::kReAdd: {
          const std::string name = resolve_member(arr.mount, a.member);
          if (!a.update.empty()) update_for_re_add(arr, name, a.update);
          if (re_add(arr, name, false) == ReAdd::kNotPossible) rc = 1;
          break;
        }
        case MemberOp::kAdd:
        case MemberOp::kAddSpare: {
          std::string name = resolve_member(arr.mount, a.member);
          const std::string path = arr.mount.member_path(name);
          // As mdadm: a member that was in this array is re-added when the
          // bitmap allows, else added as a new one (rebuilt in full);
          // --add-spare never re-adds.
          if (a.op == MemberOp::kAdd && re_add(arr, name, true) == ReAdd::kReAdded) break;
          if (int e = write_attr(arr.md("new_dev"), name))
            fail("add new device failed for " + path + ": " + errno_text(e));
          if (a.write_mostly) (void)write_attr(arr.md("dev-" + name + "/state"), "writemostly");
          if (a.failfast) (void)write_attr(arr.md("dev-" + name + "/state"), a.failfast > 0 ? "failfast" : "-failfast");
          if (verbose >= 0) say("added " + path);
          // The kernel rebuilds a degraded array onto a spare at once.
          auto slot = read_attr(arr.md("dev-" + name + "/slot"));
          auto degraded = read_attr(arr.md("degraded"));
          if (slot.value_or("none") == "none" && degraded && *degraded != "0")
            say(path + " is a spare of degraded " + arr.dev() + ", but no recovery onto it started");
          break;
        }
        case MemberOp::kFail: {
          std::string name = member_in_array(arr, a.member);
          const std::string path = arr.mount.member_path(name);
          if (int e = write_attr(arr.md("dev-" + name + "/state"), "faulty"))
            fail("set device faulty failed for " + path + ":  " + errno_text(e));
          if (verbose >= 0) say("set " + path + " faulty in " + arr.dev());
          break;
        }
        case MemberOp::kRemove: {
          std::vector<std::string> names;
          if (a.member == "failed") {
            // mdadm's keyword: every faulty member.
            if (auto e = mdstat_entry(arr.mount, arr.name))
              for (const auto& m : e->members)
                if (m.faulty) names.push_back(m.name);
          } else {
            names.push_back(member_in_array(arr, a.member));
          }
          for (const auto& name : names) {
            const std::string path = arr.mount.member_path(name);
            if (int e = write_attr(arr.md("dev-" + name + "/state"), "remove"))
              fail("hot remove failed for " + path + ": " + errno_text(e));
            if (verbose >= 0) say("hot removed " + path + " from " + arr.dev());
          }
          break;
        }
      }
    } catch (const Failure& f) {
      say(f.what());
      rc = 1;
    }
  }
  return rc;
}

int action(const std::string& what, const std::vector<std::string>& devs, const MountOptions& mopts) {
  static const std::set<std::string> kActions{"idle", "frozen", "check", "repair"};
  if (!kActions.count(what)) usage("action must be one of idle, frozen, check, repair");
  if (devs.empty()) usage("No devices given.");
  int rc = 0;
  for (const auto& d : devs) {
    ArrayRef arr = resolve_array(d, mopts);
    if (int e = write_attr(arr.md("sync_action"), what)) {
      say("could not set action for " + arr.dev() + " to " + what + ": " + errno_text(e));
      rc = 1;
    }
  }
  return rc;
}

int wait(const std::vector<std::string>& devs, const MountOptions& mopts) {
  if (devs.empty()) usage("No devices given.");
  int rc = 0;
  const bool tty = ::isatty(STDERR_FILENO);
  for (const auto& d : devs) {
    ArrayRef arr = resolve_array(d, mopts);
    if (!read_attr(arr.md("array_state"))) {
      say("stat failed for " + arr.dev() + ": " + errno_text(ENOENT));
      rc = 2;
      continue;
    }
    bool waited = false;
    // As mdadm's Wait: proc/mdstat held open, read again after each md
    // event (a pass starting or ending wakes the poll), or every few
    // seconds; on a terminal, every second for the progress bar.
    MdstatWatch watch(arr.mount);
    for (;;) {
      (void)watch.read();
      auto sync = read_attr(arr.md("sync_action"));
      if (!sync || *sync == "idle" || *sync == "frozen") break;
      waited = true;
      if (tty) {
        // sync_completed: "done / total" sectors.
        auto done = read_attr(arr.md("sync_completed")).value_or("");
        unsigned long long a = 0, b = 0;
        if (std::sscanf(done.c_str(), "%llu / %llu", &a, &b) == 2 && b > 0) {
          const int width = 40;
          const int fill = static_cast<int>(a * width / b);
          std::fprintf(stderr, "\r%s %s [%s>%s] %5.1f%%", arr.name.c_str(), sync->c_str(),
                       std::string(static_cast<std::size_t>(fill), '=').c_str(),
                       std::string(static_cast<std::size_t>(width - fill), '.').c_str(), 100.0 * a / b);
        }
      }
      MdstatWatch::wait({&watch}, tty ? 1000 : 5000);
    }
    if (tty && waited) std::fprintf(stderr, "\n");
    if (!waited) rc = std::max(rc, 1);
  }
  return rc;
}

}  // namespace mdfsadm
