// mdfsadm: mdadm's command line over a mounted mdfs. Every change goes
// through the mount's files (sys/, dev/, proc/mdstat) and md ioctls on
// dev/<name>, as mdadm goes through the kernel; only --examine (and, as in
// mdadm, the name/uuid/events of --detail and the superblocks --assemble
// reads) looks at member image files directly, read-only.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "mdfsadm/detail.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/manage.h"
#include "mdfsadm/mount.h"

namespace {

using namespace mdfsadm;

std::string default_homehost() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "";
  return host;
}

int run(int argc, char** argv) {
  CLI::App app{"mdfsadm - manage md arrays of a mounted mdfs, as mdadm manages the kernel's", "mdfsadm"};
  app.set_version_flag("-V,--version", std::string("mdfsadm - mdfs ") + MDFS_VERSION);
  app.footer(
      "Arrays: MNT/dev/NAME, or NAME (md0, md_data) with the mount from --mount or /proc/mounts.\n"
      "Members: image files in the mount's SOURCE, as paths or bare names.\n"
      "Examples:\n"
      "  mdfsadm --create MNT/dev/md0 --level=5 --raid-devices=3 a.img b.img c.img\n"
      "  mdfsadm --detail md0      mdfsadm --examine SOURCE/a.img\n"
      "  mdfsadm md0 --fail a.img --remove a.img\n"
      "See mdfsadm(8).");

  bool m_create = false, m_assemble = false, m_stop = false, m_detail = false, m_examine = false;
  bool m_run = false, m_readonly = false, m_readwrite = false, m_wait = false, m_manage = false, m_misc = false;
  std::optional<std::string> m_action;
  bool add = false, fail_flag = false, remove = false;
  CreateOptions copts;
  MountOptions mopts;
  bool scan = false, brief = false, test = false;
  std::optional<std::string> homehost;
  std::vector<std::string> devices;

  app.add_flag("-C,--create", m_create, "create a new array from blank member files");
  app.add_flag("-A,--assemble", m_assemble, "assemble an array from its members' superblocks");
  app.add_flag("-S,--stop", m_stop, "stop arrays (STOP_ARRAY)");
  app.add_flag("-D,--detail", m_detail, "print the details of arrays");
  app.add_flag("-E,--examine", m_examine, "print the md superblock of member files");
  app.add_flag("-R,--run", m_run, "start an assembled array (RUN_ARRAY)");
  app.add_flag("-o,--readonly", m_readonly, "make an array read-only (with --create/--assemble: start it so)");
  app.add_flag("-w,--readwrite", m_readwrite, "make an array writable");
  app.add_flag("-W,--wait", m_wait, "wait for resync, recovery or reshape to finish");
  app.add_option("--action", m_action, "start or stop a sync action: check, repair, idle, frozen")
      ->type_name("ACTION");
  app.add_flag("--manage", m_manage, "manage mode (implied by --add, --fail, --remove)");
  app.add_flag("--misc", m_misc, "misc mode (implied by its options)");
  app.add_flag("-a,--add", add, "add the members that follow to the array");
  app.add_flag("-f,--fail", fail_flag, "mark the members that follow faulty");
  app.add_flag("-r,--remove", remove, "remove the members that follow ('failed': every faulty one)");

  app.add_option("-l,--level", copts.level, "RAID level: linear, raid0, raid1, raid4, raid5, raid6, raid10");
  app.add_option("-n,--raid-devices", copts.raid_devices, "number of active members")->type_name("N");
  app.add_option("-x,--spare-devices", copts.spare_devices, "number of spare members")->type_name("N");
  app.add_option("-c,--chunk", copts.chunk, "chunk size in KiB (or with K, M, G)")->type_name("SIZE");
  app.add_option("-p,--layout,--parity", copts.layout, "layout: left-symmetric..., n2, f2, o2, or a number")
      ->type_name("LAYOUT");
  app.add_option("-e,--metadata", copts.metadata, "superblock format: 1.2 (default), 1.1, 1.0, 0.90")
      ->type_name("VERSION");
  app.add_option("-N,--name", copts.name, "array name (the array is md_NAME)");
  app.add_flag("--assume-clean", copts.assume_clean, "do not resync the new array (mdfs never does)");
  app.add_flag("--force", copts.force,
               "--create: allow a one-member array; --assemble: start a dirty degraded array, marking it clean");

  app.add_flag("-s,--scan", scan, "all arrays (--detail, --stop, --assemble, --examine)");
  app.add_flag("-b,--brief", brief, "--detail as one ARRAY line");
  app.add_flag("-t,--test", test, "--detail exit status: 1 degraded, 2 unusable");
  app.add_option("--homehost", homehost, "host name for 'local to host' (default: this host's name)");
  app.add_option("--mount", mopts.mount, "the mdfs mount point, when not found from the array or /proc/mounts")
      ->type_name("MNT");
  app.add_option("--source", mopts.source, "the mount's SOURCE, when /proc/mounts records it as a relative path")
      ->type_name("DIR");
  CLI::Option* positional = app.add_option("devices", devices, "arrays and members")->type_name("DEV");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "mdfsadm: %s (see mdfsadm --help)\n", e.what());
    return 2;
  }

  const bool manage_op = add || fail_flag || remove || m_manage;
  struct Mode {
    bool on;
    const char* name;
  };
  const Mode modes[] = {{m_create, "--create"},   {m_assemble, "--assemble"}, {m_stop, "--stop"},
                        {m_detail, "--detail"},   {m_examine, "--examine"},   {m_run, "--run"},
                        {m_wait, "--wait"},       {m_action.has_value(), "--action"},
                        {manage_op, "--add/--fail/--remove"},
                        {m_readwrite, "--readwrite"},
                        {m_readonly && !m_create && !m_assemble, "--readonly"}};
  const char* mode = nullptr;
  for (const auto& m : modes) {
    if (!m.on) continue;
    if (mode) usage(std::string(m.name) + " cannot be combined with " + mode);
    mode = m.name;
  }
  if (!mode) {
    if (m_misc && !devices.empty()) usage("--misc needs one of --detail, --examine, --stop, --run, --readonly...");
    usage("no mode given: --create, --assemble, --detail, --examine, --stop, --add... (see mdfsadm --help)");
  }
  const std::string host = homehost ? (*homehost == "<none>" ? "" : *homehost) : default_homehost();

  if (m_examine) {
    if (scan) return examine_scan(devices);
    return examine_files(devices, host);
  }
  if (m_detail) {
    DetailOptions d{host, brief || scan, test};
    if (scan && devices.empty()) return detail_scan(mopts, d);
    if (devices.empty()) usage("No devices given.");
    int rc = 0;
    for (const auto& dev : devices) rc = std::max(rc, detail(resolve_array(dev, mopts), d));
    return rc;
  }
  if (m_create) {
    if (devices.empty()) usage("an md device must be given in this mode");
    return create(devices.front(), {devices.begin() + 1, devices.end()}, copts, mopts);
  }
  if (m_assemble) {
    if (scan && devices.empty()) return assemble_scan(m_readonly, mopts, copts.force);
    if (devices.empty()) usage("an md device must be given in this mode");
    return assemble(devices.front(), {devices.begin() + 1, devices.end()}, m_readonly, mopts, copts.force);
  }
  if (m_stop) return stop(devices, scan, mopts);
  if (m_run) return array_op(ArrayOp::kRun, devices, mopts);
  if (m_readonly) return array_op(ArrayOp::kReadonly, devices, mopts);
  if (m_readwrite) return array_op(ArrayOp::kReadwrite, devices, mopts);
  if (m_wait) return wait(devices, mopts);
  if (m_action) return action(*m_action, devices, mopts);

  // Manage mode: the first device is the array; each --add, --fail or
  // --remove applies to the members after it, in command-line order.
  if (devices.empty()) usage("an md device must be given in this mode");
  std::vector<MemberAction> actions;
  std::optional<MemberOp> op;
  std::size_t next = 0;
  for (const CLI::Option* o : app.parse_order()) {
    if (o == positional) {
      const std::string& dev = devices[next++];
      if (next == 1) continue;
      if (!op) usage(dev + ": give --add, --fail or --remove before the members");
      actions.push_back({*op, dev});
    } else if (o->check_name("--add")) {
      op = MemberOp::kAdd;
    } else if (o->check_name("--fail")) {
      op = MemberOp::kFail;
    } else if (o->check_name("--remove")) {
      op = MemberOp::kRemove;
    }
  }
  return manage(devices.front(), actions, mopts);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Failure& f) {
    say(f.what());
    return f.exit_code;
  }
}
