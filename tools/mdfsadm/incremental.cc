// --incremental: one member at a time, as udev hands mdadm each new disk.
// mdadm keeps a map file of arrays being put together; mdfs needs none: an
// inactive array of the mount whose members carry the same uuid is the one
// to join.
#include <strings.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <tuple>

#include "mdfsadm/assemble.h"
#include "mdfsadm/manage.h"
#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/super_facts.h"

namespace mdfsadm {
namespace {

// The mount whose SOURCE holds the file, and the file's name there.
std::pair<Mount, std::string> mount_of_file(const std::string& path, const MountOptions& mopts) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) fail("cannot open " + path + ": " + errno_text(errno) + ".");
  const std::string real = buf;
  const std::string dir = real.substr(0, real.rfind('/')), name = real.substr(real.rfind('/') + 1);
  if (!mopts.mount.empty()) {
    Mount m = find_mount(mopts);
    if (m.source != dir) fail(path + ": not in the mount's SOURCE " + m.source + " (mdfs opens members only there)");
    return {m, name};
  }
  for (const auto& [point, source] : mdfs_mounts()) {
    try {
      Mount m = mount_at(point, mopts);
      if (m.source == dir) return {m, name};
    } catch (const Failure&) {
    }
  }
  fail(path + ": not in the SOURCE of an mdfs mount (give --mount)");
}

// The array of the mount that members of this uuid are joining, if any.
std::string joining_array(const Mount& mount, const FoundSuper& sb) {
  for (const auto& e : read_mdstat(mount))
    if (auto other = array_super(mount, e.name); other && other->uuid() == sb.uuid()) return e.name;
  return "";
}

int incremental_one(const AssembleContext& ctx, const std::string& path) {
  const Command& cmd = ctx.cmd;
  const bool quiet = cmd.verbose < 0;
  auto [mount, file] = mount_of_file(path, cmd.mount);
  const auto devices = config_devices(ctx.config, mount);
  if (std::find(devices.begin(), devices.end(), file) == devices.end()) {
    if (!quiet) say(path + " not permitted by mdadm.conf.");
    return 1;
  }
  int error = 0;
  auto sb = find_super(mount.member_path(file), &error);
  if (!sb) {
    if (!quiet) say("no recognisable superblock on " + path + ".");
    return 1;
  }
  const auto used = files_in_use(mount);
  const std::string existing = joining_array(mount, *sb);
  if (std::find(used.begin(), used.end(), file) != used.end()) {
    if (!quiet) say("cannot reopen " + path + ": " + errno_text(EBUSY) + ".");
    return 1;
  }
  const ArrayIdent* match = nullptr;
  for (const auto& a : ctx.config.arrays)
    if (a.matches(*sb, ctx.homehost)) {
      match = &a;
      break;
    }
  if (match && strcasecmp(match->devname.c_str(), "<ignore>") == 0) {
    if (!quiet) say("array containing " + path + " is explicitly ignored by mdadm.conf");
    return 1;
  }
  const bool local = match || sb_is_local(*sb, ctx.homehost);
  if (!match && !auto_allows(ctx.config, *sb, local)) {
    if (cmd.verbose >= 1) say(path + " has metadata type " + sb_kind(*sb) + " for which auto-assembly is disabled");
    return 1;
  }
  std::string name = existing;
  if (name.empty())
    name = match && !match->devname.empty() ? array_name_for(match->devname) : auto_array_name(mount, *sb);
  const ArrayRef arr{mount, name};
  bool active = false;
  if (!existing.empty()) {
    auto state = read_attr(arr.md("array_state"));
    active = state && *state != "inactive" && *state != "clear";
    // A member in its role joining a running array probably failed out of
    // it: mdadm leaves it alone without --run.
    if (active && sb_role(*sb) >= 0 && cmd.runstop < 1) {
      say("not adding " + path + " to active array (without --run) " + arr.dev());
      return 2;
    }
    if (int e = write_attr(arr.md("new_dev"), file)) {
      say("failed to add " + path + " to existing array " + arr.dev() + ": " + errno_text(e) + ".");
      return 2;
    }
  } else {
    new_array(arr);
    if (write_attr(arr.md("metadata_version"), sb->version()) != 0 || write_attr(arr.md("new_dev"), file) != 0) {
      say("failed to add " + path + " to new array " + arr.dev() + ": " + errno_text(EINVAL) + ".");
      clear_array(arr);
      return 2;
    }
  }
  if (cmd.export_vars) {
    const std::string devname = name.starts_with("md_") ? name.substr(3) : name;
    std::printf("MD_DEVICE=%s\nMD_DEVNAME=%s\nMD_FOREIGN=%s\n", name.c_str(), devname.c_str(), local ? "no" : "yes");
  }
  auto report = [&](const char* exported, const std::string& line) {
    if (cmd.export_vars) std::printf("MD_STARTED=%s\n", exported);
    else if (!quiet) say(line);
  };
  if (active) {
    report("already", path + " attached to " + arr.dev() + " which is already active.");
    return 0;
  }
  // count_active: the fresh members in sync, against what the freshest
  // superblock expects.
  std::vector<FoundSuper> supers;
  if (auto entry = mdstat_entry(mount, name))
    for (const auto& m : entry->members)
      if (auto s = find_super(mount.member_path(m.name), &error)) supers.push_back(std::move(*s));
  const FoundSuper* freshest = &supers.front();
  for (const auto& s : supers)
    if (s.events() > freshest->events()) freshest = &s;
  const int raid_disks = sb_raid_disks(*freshest);
  std::vector<bool> avail(static_cast<std::size_t>(std::max(raid_disks, 0)), false);
  int active_disks = 0;
  for (const auto& s : supers) {
    const int role = sb_role(s);
    if (s.events() + 1 < freshest->events() || !sb_in_sync(s) || role >= raid_disks) continue;
    if (!avail[static_cast<std::size_t>(role)]) ++active_disks;
    avail[static_cast<std::size_t>(role)] = true;
  }
  if (!enough(freshest->level(), raid_disks, sb_layout(*freshest), sb_clean(*freshest), avail)) {
    report("no", path + " attached to " + arr.dev() + ", not enough to start (" + std::to_string(active_disks) + ").");
    return 0;
  }
  const int working = sb_working_disks(*freshest);
  if (cmd.runstop > 0 || active_disks >= working) {
    // All there (and local): run it; else, with --run, read-auto.
    const std::string state = active_disks >= working && local ? "active" : "read-auto";
    if (int e = write_attr(arr.md("array_state"), state)) {
      say(path + " attached to " + arr.dev() + ", but failed to start: " + errno_text(e) + ".");
      return 1;
    }
    report("yes", path + " attached to " + arr.dev() + ", which has been started.");
    return 0;
  }
  report("unsafe", path + " attached to " + arr.dev() + ", not enough to start safely.");
  return 0;
}

// IncrementalScan: start every array of the mount being put together.
int incremental_scan(const AssembleContext& ctx) {
  Mount mount = find_mount(ctx.cmd.mount);
  int rv = 0;
  for (const auto& e : read_mdstat(mount)) {
    if (e.active || e.members.empty()) continue;
    const ArrayRef arr{mount, e.name};
    if (int err = write_attr(arr.md("array_state"), "active")) {
      say("failed to start array " + arr.dev() + ": " + errno_text(err));
      rv = 1;
    } else if (ctx.cmd.verbose >= 0) {
      say("started array " + arr.dev());
    }
  }
  return rv;
}

// IncrementalRemove: the member fails out of its array and leaves it.
int incremental_remove(const AssembleContext& ctx, const std::string& path) {
  std::string file = path;
  Mount mount;
  if (path.find('/') != std::string::npos) {
    std::tie(mount, file) = mount_of_file(path, ctx.cmd.mount);
  } else {
    mount = find_mount(ctx.cmd.mount);
  }
  for (const auto& e : read_mdstat(mount))
    for (const auto& m : e.members)
      if (m.name == file) {
        std::vector<MemberAction> actions{{MemberOp::kFail, file}, {MemberOp::kRemove, file}};
        return manage(mount.dev(e.name), actions, ctx.cmd.mount, ctx.cmd.verbose);
      }
  say(path + " does not appear to be a component of any array");
  return 1;
}

}  // namespace

int incremental_mode(const AssembleContext& ctx) {
  const Command& cmd = ctx.cmd;
  int rv = 0;
  if (cmd.scan) {
    if (!cmd.devices.empty()) {
      say("In --incremental mode, a device cannot be given with --scan.");
      return 1;
    }
    if (cmd.runstop <= 0) {
      say("--incremental --scan meaningless without --run.");
      return 1;
    }
    if (cmd.devmode == 'f') {
      say("--incremental --scan --fail not supported.");
      return 1;
    }
    rv = incremental_scan(ctx);
  }
  if (cmd.devices.empty()) {
    // --rebuild-map: mdfs keeps no map file (the mount is the map).
    if (!cmd.rebuild_map && !cmd.scan) {
      say("--incremental requires a device.");
      return 1;
    }
    return rv;
  }
  if (cmd.devmode == 'f') {
    if (cmd.devices.size() > 1) {
      say("'--incremental --fail' can only handle one device.");
      return 1;
    }
    return incremental_remove(ctx, cmd.devices.front().name);
  }
  if (cmd.devices.size() > 1) {
    say("can only add one device at a time with --incremental");
    return 1;
  }
  return incremental_one(ctx, cmd.devices.front().name);
}

}  // namespace mdfsadm
