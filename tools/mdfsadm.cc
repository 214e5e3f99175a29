// mdfsadm: mdadm's command line over a mounted mdfs. Every change goes
// through the mount's files (sys/, dev/, proc/mdstat) and md ioctls on
// dev/<name>, as mdadm goes through the kernel; member image files are read
// directly for their superblocks (--examine, --query, the name/uuid/events
// of --detail, what --assemble and --incremental put together), and written
// only by --zero-superblock, as mdadm writes them.
#include <strings.h>
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "mdfsadm/assemble.h"
#include "mdfsadm/bitmap.h"
#include "mdfsadm/config.h"
#include "mdfsadm/detail.h"
#include "mdfsadm/dump.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/grow.h"
#include "mdfsadm/manage.h"
#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/misc.h"
#include "mdfsadm/monitor.h"
#include "mdfsadm/mount.h"
#include "mdfsadm/options.h"

namespace {

using namespace mdfsadm;

std::string system_hostname() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "";
  return host;
}

// mdadm's order: --homehost, the config's HOMEHOST, the system's name;
// <system> is the system's name, <none> (or empty) none.
std::string resolve_homehost(const Command& cmd, const Config& config) {
  std::optional<std::string> h = cmd.homehost;
  if (!h && cmd.require_homehost) h = config.homehost;
  if (!h || strcasecmp(h->c_str(), "<system>") == 0) return system_hostname();
  if (h->empty() || strcasecmp(h->c_str(), "<none>") == 0) return "";
  return *h;
}

std::vector<std::string> names_of(const std::vector<Device>& devices, std::size_t from = 0) {
  std::vector<std::string> out;
  for (std::size_t i = from; i < devices.size(); ++i) out.push_back(devices[i].name);
  return out;
}

int manage_mode(const Command& cmd) {
  if (cmd.devices.empty()) usage("an md device must be given in this mode");
  const std::string& dev = cmd.devices.front().name;
  int rv = 0;
  if (cmd.readonly) rv = array_op(ArrayOp::kReadonly, {dev}, cmd.mount);
  if (!rv && cmd.devices.size() > 1) {
    std::vector<MemberAction> actions;
    for (std::size_t i = 1; i < cmd.devices.size(); ++i) {
      const Device& d = cmd.devices[i];
      MemberOp op = MemberOp::kAdd;
      switch (d.disposition) {
        case 'a': op = MemberOp::kAdd; break;
        case 'S': op = MemberOp::kAddSpare; break;
        case 'A': op = MemberOp::kReAdd; break;
        case 'r': op = MemberOp::kRemove; break;
        case 'f': op = MemberOp::kFail; break;
        case 'R': op = MemberOp::kReplace; break;
        case 'W': op = MemberOp::kWith; break;
        default: usage("Must give one of -a/-r/-f for subsequent devices at " + d.name);
      }
      actions.push_back({op, d.name, d.write_mostly, d.failfast, cmd.update});
    }
    rv = manage(dev, actions, cmd.mount, cmd.verbose);
  }
  if (!rv && cmd.runstop > 0) rv = array_op(ArrayOp::kRun, {dev}, cmd.mount);
  if (!rv && cmd.runstop < 0) rv = stop({dev}, false, cmd.mount);
  return rv;
}

int misc_mode(const Command& cmd, const std::string& homehost) {
  const int devmode = cmd.devmode;
  if (devmode == 'E') {
    ExamineOptions e{homehost, cmd.brief, cmd.scan, cmd.export_vars, cmd.verbose,
                     cmd.create.metadata_set && swapped_metadata(cmd.create.metadata)};
    if (cmd.devices.empty() && !cmd.scan) usage("No devices to examine");
    std::vector<std::string> files = names_of(cmd.devices);
    if (files.empty()) {
      files = scan_files(load_config(cmd.config), cmd.mount);
      if (files.empty()) fail("No devices listed in " + (cmd.config.empty() ? std::string("SOURCE") : cmd.config));
    }
    return examine_mode(files, e);
  }
  DetailOptions d{homehost, cmd.brief, cmd.test};
  d.export_vars = cmd.export_vars;
  d.verbose = cmd.verbose;
  d.no_devices = cmd.no_devices;
  if (cmd.devices.empty()) {
    if (devmode == 'S' && cmd.scan) return stop({}, true, cmd.mount);
    if (devmode == 'D' && cmd.scan) return detail_scan(cmd.mount, d);
    if (devmode == kOptWaitClean && cmd.scan) return wait_clean_scan(cmd.mount, cmd.verbose);
    usage("No devices given.");
  }
  int rv = 0;
  for (const auto& dv : cmd.devices) {
    switch (dv.disposition) {
      case 'D': rv |= detail(resolve_array(dv.name, cmd.mount), d); break;
      case 'X': rv |= examine_bitmap({dv.name}, cmd.brief); break;
      case kOptExamineBB: rv |= examine_badblocks(dv.name, cmd.brief); break;
      case kOptZero: rv |= zero_superblock(dv.name, cmd.force, cmd.verbose); break;
      case 'Q': rv |= query(dv.name, cmd.mount); break;
      case 'W': rv |= wait({dv.name}, cmd.mount); break;
      case kOptWaitClean: rv |= wait_clean(dv.name, cmd.mount, cmd.verbose); break;
      case kOptAction: rv |= action(cmd.action, {dv.name}, cmd.mount); break;
      case kOptDump:
        rv |= dump_metadata(dv.name, cmd.dump_dir, metadata_kind(cmd.create.metadata_set ? cmd.create.metadata : ""),
                            cmd.verbose);
        break;
      case kOptRestore:
        rv |= restore_metadata(dv.name, cmd.dump_dir,
                               metadata_kind(cmd.create.metadata_set ? cmd.create.metadata : ""),
                               cmd.devices.size() == 1, cmd.verbose);
        break;
      case 'R': rv |= array_op(ArrayOp::kRun, {dv.name}, cmd.mount); break;
      case 'S':
        if (cmd.scan) {
          say("--stop not meaningful with both a --scan assembly and a device name.");
          rv |= 1;
          break;
        }
        rv |= stop({dv.name}, false, cmd.mount);
        break;
      case 'o': rv |= array_op(ArrayOp::kReadonly, {dv.name}, cmd.mount); break;
      case 'w': rv |= array_op(ArrayOp::kReadwrite, {dv.name}, cmd.mount); break;
      default: usage("No action given for " + dv.name + " in --misc mode");
    }
  }
  return rv;
}

int run(int argc, char** argv) {
  Command cmd = parse_command(argc, argv);
  if (cmd.print_help == 3) {
    // As mdadm: the version on standard error.
    std::fprintf(stderr, "mdfsadm - mdfs %s - mdadm 4.2's command line\n", MDFS_VERSION);
    return 0;
  }
  if (cmd.print_help) {
    std::fputs(help_text(cmd).c_str(), stdout);
    return 0;
  }
  const bool reads_config = cmd.mode == Mode::kAssemble || cmd.mode == Mode::kIncremental ||
                            cmd.mode == Mode::kMonitor ||
                            ((cmd.mode == Mode::kMisc || cmd.mode == Mode::kCreate) && !cmd.config.empty());
  const Config config = reads_config ? load_config(cmd.config) : Config{};
  const std::string homehost = resolve_homehost(cmd, config);
  switch (cmd.mode) {
    case Mode::kManage: return manage_mode(cmd);
    case Mode::kMisc: return misc_mode(cmd, homehost);
    case Mode::kCreate:
    case Mode::kBuild: {
      if (cmd.devices.empty()) usage("an md device must be given in this mode");
      CreateOptions copts = cmd.create;
      copts.homehost = homehost;
      copts.verbose = cmd.verbose;
      for (std::size_t i = 1; i < cmd.devices.size(); ++i)
        if (cmd.devices[i].write_mostly) copts.write_mostly.insert(cmd.devices[i].name);
      for (std::size_t i = 1; i < cmd.devices.size(); ++i)
        if (cmd.devices[i].failfast > 0) copts.failfast.insert(cmd.devices[i].name);
      const auto members = names_of(cmd.devices, 1);
      if (cmd.mode == Mode::kBuild) return build(cmd.devices.front().name, members, copts, cmd.mount);
      return create(cmd.devices.front().name, members, copts, cmd.mount);
    }
    case Mode::kAssemble: return assemble_mode({cmd, config, homehost});
    case Mode::kIncremental: return incremental_mode({cmd, config, homehost});
    case Mode::kMonitor: return monitor_mode(cmd, config);
    case Mode::kGrow: {
      if (cmd.devices.empty()) usage("--grow needs an array");
      const CreateOptions& c = cmd.create;
      const bool shape = c.raid_devices || c.chunk || c.layout || c.size || cmd.array_size || cmd.grow_level;
      std::vector<std::string> add;
      for (std::size_t i = 1; i < cmd.devices.size(); ++i) {
        if (cmd.devices[i].disposition != 'a') usage("--grow needs exactly one array; members to add follow --add");
        add.push_back(cmd.devices[i].name);
      }
      if (c.bitmap && (shape || !add.empty()))
        usage("--bitmap cannot be changed together with the shape or size: one --grow at a time");
      if (c.bitmap || c.bitmap_chunk || c.write_behind)
        return grow_bitmap(cmd.devices.front().name, {c.bitmap, c.bitmap_chunk, c.write_behind}, cmd.mount);
      GrowOptions g{c.raid_devices, c.chunk, c.layout, cmd.grow_level, c.size, cmd.array_size, cmd.backup_file,
                    add, cmd.force};
      return grow(cmd.devices.front().name, g, cmd.mount);
    }
    default: usage(std::string("mode ") + mode_name(cmd.mode) + " is not available");
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    say(f.what());
    return f.exit_code;
  } catch (const std::exception& e) {
    say(std::string("unexpected error: ") + e.what());
    return 1;
  }
}
