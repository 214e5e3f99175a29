#include "mdfsadm/manage.h"

#include <fcntl.h>
#include <linux/major.h>
#include <linux/raid/md_p.h>
#include <linux/raid/md_u.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <map>
#include <set>

#include "format/feature_rules.h"
#include "format/superblock0.h"
#include "format/superblock1.h"
#include "mdfs/unique_fd.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/force.h"
#include "mdfsadm/mdadm_text.h"

namespace mdfsadm {
namespace {

namespace format = mdfs::format;


std::optional<int> parse_count(const std::string& text) {
  if (text.empty() || text.size() > 6 || !std::all_of(text.begin(), text.end(), ::isdigit)) return std::nullopt;
  return std::stoi(text);
}

// mdadm's parse_size: a number of KiB, or with a K, M or G suffix; sectors.
std::optional<uint64_t> parse_size_sectors(const std::string& text) {
  std::size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 12) return std::nullopt;
  uint64_t n = std::stoull(text.substr(0, i));
  std::string suffix = text.substr(i);
  if (suffix.empty() || suffix == "K" || suffix == "k") n *= 2;
  else if (suffix == "M" || suffix == "m") n *= 2 * 1024;
  else if (suffix == "G" || suffix == "g") n *= 2 * 1024 * 1024;
  else return std::nullopt;
  return n;
}

bool has_chunk(int level) { return level == 0 || level == 4 || level == 5 || level == 6 || level == 10; }

// The metadata_version text for --metadata.
std::optional<std::string> parse_metadata(const std::string& text) {
  if (text == "1.2" || text == "1" || text == "default" || text == "1.x") return "1.2";
  if (text == "1.0" || text == "1.1") return text;
  if (text == "0.90" || text == "0" || text == "0.9") return "0.90";
  return std::nullopt;
}

// Makes the array with new_array, or takes over an empty one of that name
// (an open with O_CREAT probes one, as mdadm's open of /dev/mdN does).
void new_array(const ArrayRef& arr) {
  int e = write_attr(arr.mount.param("new_array"), arr.name);
  if (e == 0) return;
  if (e == EEXIST) {
    auto state = read_attr(arr.md("array_state"));
    auto entry = mdstat_entry(arr.mount, arr.name);
    if (state && *state == "clear" && (!entry || entry->members.empty())) return;
    fail(arr.dev() + " is already in use (array_state " + state.value_or("?") + ")");
  }
  fail(arr.mount.param("new_array") + ": " + errno_text(e) + " (writing '" + arr.name + "')");
}

// Undoes a half-built array, as mdadm stops it when a create fails.
void clear_array(const ArrayRef& arr) { (void)write_attr(arr.md("array_state"), "clear"); }

template <class F>
void building(const ArrayRef& arr, F&& steps) {
  try {
    steps();
  } catch (const Failure&) {
    clear_array(arr);
    throw;
  }
}

void start(const ArrayRef& arr, bool readonly) {
  const std::string state = readonly ? "readonly" : "active";
  if (int e = write_attr(arr.md("array_state"), state))
    fail("failed to start " + arr.dev() + ": " + errno_text(e) + " (array_state '" + state + "')");
}

std::string plural(int n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// `journals`: the journal members mdadm counts when its journal is clean.
void report_started(const ArrayRef& arr, int journals) {
  mdfs::UniqueFd fd(::open(arr.dev().c_str(), O_RDONLY | O_CLOEXEC));
  mdu_array_info_t a{};
  if (fd.get() < 0 || ::ioctl(fd.get(), GET_ARRAY_INFO, &a) != 0) {
    say(arr.dev() + " has been started.");
    return;
  }
  std::string msg = arr.dev() + " has been started with " + plural(a.active_disks, "drive");
  if (a.active_disks < a.raid_disks) msg += " (out of " + std::to_string(a.raid_disks) + ")";
  if (a.spare_disks) msg += " and " + plural(a.spare_disks, "spare");
  if (journals) msg += " and " + std::to_string(journals) + " journal";
  say(msg + ".");
}

// Files of SOURCE some array of the mount already uses.
std::set<std::string> members_in_use(const Mount& mount) {
  std::set<std::string> used;
  for (const auto& e : read_mdstat(mount))
    for (const auto& m : e.members) used.insert(m.name);
  return used;
}

// The superblock of each member, all of one array.
std::vector<FoundSuper> member_supers(const Mount& mount, const std::vector<std::string>& names) {
  std::vector<FoundSuper> out;
  for (const auto& name : names) {
    const std::string path = mount.member_path(name);
    int error = 0;
    std::string rejected;
    auto found = find_super(path, &error, &rejected);
    if (!found) {
      if (error) fail("cannot open " + path + ": " + errno_text(error));
      if (!rejected.empty()) fail("the superblock on " + path + " is refused: " + rejected + " - assembly aborted");
      fail(path + " has no superblock - assembly aborted");
    }
    if (!out.empty() && found->uuid() != out.front().uuid())
      fail(path + " has wrong uuid: it is not a member of the same array as " + mount.member_path(names.front()));
    out.push_back(std::move(*found));
  }
  return out;
}

// What the freshest superblocks say about starting the array.
struct StartView {
  size_t freshest = 0;
  bool clean = true;
  bool enough_dirty = true;  // enough members to start while not clean
  bool enough_clean = true;
  int okcnt = 0;  // roles filled by members as fresh as the freshest
};

StartView start_view(const std::vector<FoundSuper>& supers) {
  StartView v;
  for (size_t i = 0; i < supers.size(); ++i)
    if (supers[i].events() > supers[v.freshest].events()) v.freshest = i;
  const FoundSuper& f = supers[v.freshest];
  const int level = f.level();
  const int raid_disks = static_cast<int>(f.sb1 ? std::min<uint32_t>(f.sb1->raid_disks, format::kSb1MaxDisks)
                                                 : std::min<uint32_t>(f.sb0->raid_disks, format::kSb0Disks));
  const int layout = static_cast<int>(f.sb1 ? f.sb1->layout : f.sb0->layout);
  v.clean = f.sb1 ? f.sb1->resync_offset == format::kMaxSector : (f.sb0->state & (1u << MD_SB_CLEAN)) != 0;
  // As mdadm: the roles of the members as fresh as the freshest.
  std::vector<bool> avail(static_cast<size_t>(std::max(raid_disks, 0)), false);
  for (const auto& s : supers) {
    if (s.events() != f.events()) continue;
    int role = -1;
    if (s.sb1 && s.sb1->dev_number < s.sb1->dev_roles.size()) role = s.sb1->dev_roles[s.sb1->dev_number];
    if (s.sb0 && (s.sb0->this_disk.state & (1u << MD_DISK_SYNC))) role = static_cast<int>(s.sb0->this_disk.raid_disk);
    if (role >= 0 && role < raid_disks) avail[static_cast<size_t>(role)] = true;
  }
  v.okcnt = static_cast<int>(std::count(avail.begin(), avail.end(), true));
  v.enough_dirty = enough(level, raid_disks, layout, false, avail);
  v.enough_clean = enough(level, raid_disks, layout, true, avail);
  return v;
}

// mdadm's update_super "force-array": a raid4/5/6 superblock marked clean
// (v1: resync_offset MaxSector; 0.90: the clean state bit), written back
// with its checksum, before the member is handed to the array.
void mark_clean(const Mount& mount, const std::string& name, FoundSuper f) {
  if (f.sb1) f.sb1->resync_offset = format::kMaxSector;
  else f.sb0->state |= 1u << MD_SB_CLEAN;
  store_super(mount, name, f);
}

void assemble_members(const ArrayRef& arr, const std::vector<std::string>& names,
                      std::vector<FoundSuper> supers, bool readonly, bool force) {
  // mdadm's journal_clean: an array with a write journal whose journal
  // member is missing or stale starts only with --force, and then
  // read-only.
  std::vector<format::SuperInfo> infos;
  std::vector<const format::SuperInfo*> info_ptrs;
  for (const auto& s : supers)
    infos.push_back(s.sb1 ? format::super_info(*s.sb1, s.minor) : format::super_info(*s.sb0, s.device_sectors * 512));
  for (const auto& i : infos) info_ptrs.push_back(&i);
  const bool journal_missing = format::journal_missing(info_ptrs);
  const int journals = journal_missing ? 0 : static_cast<int>(std::count_if(infos.begin(), infos.end(), [](const auto& i) {
    return i.role == format::kRoleJournal && (i.feature_map & MD_FEATURE_JOURNAL);
  }));
  if (journal_missing) {
    if (!force) fail("Not safe to assemble with missing or stale journal device, consider --force.");
    say("Journal is missing or stale, starting array read only.");
    readonly = true;
  }
  if (force) force_members(arr.mount, names, supers, members_in_use(arr.mount));
  const StartView view = start_view(supers);
  const int level = supers[view.freshest].level();
  if (force && !view.clean && !view.enough_dirty && (level == 4 || level == 5 || level == 6)) {
    std::set<std::string> used = members_in_use(arr.mount);
    if (used.count(names[view.freshest])) fail(arr.mount.member_path(names[view.freshest]) + " is in use");
    mark_clean(arr.mount, names[view.freshest], supers[view.freshest]);
    say("Marking array " + arr.dev() + " as 'clean'");
  }
  new_array(arr);
  try {
    building(arr, [&] {
      write_attr_or_fail(arr.md("metadata_version"), supers[view.freshest].version());
      for (const auto& n : names) {
        if (int e = write_attr(arr.md("new_dev"), n))
          fail("cannot add " + arr.mount.member_path(n) + " to " + arr.dev() + ": " + errno_text(e));
      }
      start(arr, readonly);
    });
  } catch (const Failure& f) {
    if (!view.enough_clean) {
      say(f.what());
      fail(arr.dev() + " assembled from " + plural(view.okcnt, "drive") + " - not enough to start the array.");
    }
    if (force || view.clean || view.enough_dirty) throw;
    say(f.what());
    fail("Not enough devices to start the array while not clean - consider --force.");
  }
  report_started(arr, journals);
}

// The array name mdfs gives a member's array at mount: the v1 name after the
// homehost ("0" is md0, "data" is md_data), 0.90's preferred minor.
std::string name_for(const FoundSuper& sb) {
  if (sb.sb0) return "md" + std::to_string(sb.sb0->md_minor);
  std::string name = sb.name().substr(sb.name().find(':') + 1);
  if (!name.empty() && name.size() <= 6 && std::all_of(name.begin(), name.end(), ::isdigit))
    return "md" + std::to_string(std::stoul(name));
  return "md_" + name;
}

std::string member_in_array(const ArrayRef& arr, const std::string& member) {
  std::string name = member.find('/') == std::string::npos ? member : resolve_member(arr.mount, member);
  if (!read_attr(arr.md("dev-" + name + "/state")))
    fail(arr.mount.member_path(name) + " is not a member of " + arr.dev());
  return name;
}

}  // namespace

int create(const std::string& dev, const std::vector<std::string>& members, const CreateOptions& opts,
           const MountOptions& mopts) {
  if (opts.level.empty()) fail("a RAID level is needed to create an array.");
  auto level = parse_level(opts.level);
  if (!level) usage("invalid raid level: " + opts.level);
  if (!opts.raid_devices) fail("no raid-devices specified.");
  auto n = parse_count(*opts.raid_devices);
  if (!n || *n < 1) usage("invalid number of raid devices: " + *opts.raid_devices);
  int spares = 0;
  if (opts.spare_devices) {
    auto x = parse_count(*opts.spare_devices);
    if (!x) usage("invalid number of spare-devices: " + *opts.spare_devices);
    spares = *x;
  }
  uint64_t chunk_sectors = 0;
  if (opts.chunk) {
    auto c = parse_size_sectors(*opts.chunk);
    if (!c || *c < 8 || (*c & 1)) usage("invalid chunk/rounding value: " + *opts.chunk);
    if (!has_chunk(*level) && *level != kLevelLinear) fail("specifying chunk size is forbidden for this level");
    chunk_sectors = *c;
  } else if (has_chunk(*level)) {
    chunk_sectors = 512 * 2;  // mdadm 4.2's default chunk
  }
  std::optional<int> layout = default_layout(*level);
  if (opts.layout) {
    if (*level != 0 && *level != 4 && *level != 5 && *level != 6 && *level != 10)
      usage("layout not meaningful for " + level_name(*level).value_or("this") + " arrays.");
    layout = parse_layout(*level, *opts.layout);
    if (!layout) {
      if (*level == 10)
        usage("layout for raid10 must be 'nNN', 'oNN' or 'fNN' where NN is a number, not " + *opts.layout);
      usage("layout " + *opts.layout + " not understood for " + level_name(*level).value_or("this") + ".");
    }
  }
  auto metadata = parse_metadata(opts.metadata);
  if (!metadata) usage("unrecognised metadata identifier: " + opts.metadata);
  if (*n == 1 && *level != kLevelFaulty && !opts.force)
    usage("'1' is an unusual number of drives for an array, so it is probably a mistake: give --force");
  if (static_cast<int>(members.size()) > *n + spares)
    fail("You have listed more devices (" + std::to_string(members.size()) + ") than are in the array(" +
         std::to_string(*n + spares) + ")!");
  if (static_cast<int>(members.size()) < *n + spares)
    fail("You haven't given enough devices (real or missing) to create this array");

  ArrayRef arr = resolve_array(dev, mopts);
  if (!opts.name.empty()) {
    // mdfs writes the superblocks and names them after the array (md_NAME
    // gives "host:NAME"), so --name must agree with DEV.
    const std::string want = arr.name.starts_with("md_") ? arr.name.substr(3) : arr.name.substr(2);
    if (opts.name != want)
      fail("--name " + opts.name + " does not match " + arr.dev() + ": mdfs names an array's superblock after the array; create " +
           arr.mount.dev("md_" + opts.name) + " instead");
  }
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const auto& m : members) {
    if (m == "missing") {
      names.emplace_back();
      continue;
    }
    std::string name = resolve_member(arr.mount, m);
    if (!seen.insert(name).second) fail(arr.mount.member_path(name) + " is listed twice");
    int error = 0;
    if (auto found = find_super(arr.mount.member_path(name), &error))
      fail(arr.mount.member_path(name) + " appears to be part of a raid array (UUID " + uuid_text(found->uuid()) +
           ", metadata " + found->version() + "): mdfs would assemble it, not create a new one; give a blank file");
    names.push_back(name);
  }

  new_array(arr);
  building(arr, [&] {
    write_attr_or_fail(arr.md("metadata_version"), *metadata);
    write_attr_or_fail(arr.md("level"), level_name(*level).value_or(opts.level));
    write_attr_or_fail(arr.md("raid_disks"), std::to_string(*n));
    if (chunk_sectors) write_attr_or_fail(arr.md("chunk_size"), std::to_string(chunk_sectors * 512));
    if (layout) write_attr_or_fail(arr.md("layout"), std::to_string(*layout));
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i].empty()) continue;
      if (int e = write_attr(arr.md("new_dev"), names[i]))
        fail("cannot add " + arr.mount.member_path(names[i]) + " to " + arr.dev() + ": " + errno_text(e));
      if (static_cast<int>(i) < *n) write_attr_or_fail(arr.md("dev-" + names[i] + "/slot"), std::to_string(i));
    }
    // Without --assume-clean mdadm has the kernel resync the new array;
    // mdfs writes every new array clean (its members are taken as they
    // are), so both cases end the same.
    start(arr, opts.readonly);
  });
  say("array " + arr.dev() + " started.");
  return 0;
}

int assemble(const std::string& dev, const std::vector<std::string>& members, bool readonly,
             const MountOptions& mopts, bool force) {
  if (members.empty()) fail("no devices given for " + dev);
  ArrayRef arr = resolve_array(dev, mopts);
  std::vector<std::string> names;
  for (const auto& m : members) {
    std::string name = resolve_member(arr.mount, m);
    if (std::find(names.begin(), names.end(), name) != names.end())
      fail(arr.mount.member_path(name) + " is listed twice");
    names.push_back(name);
  }
  auto supers = member_supers(arr.mount, names);
  // The same verdicts mdfs gives at the start (mdfs(8) SUPERBLOCK FEATURES),
  // said here before anything is asked of the array.
  for (size_t i = 0; i < supers.size(); ++i) {
    const FoundSuper& f = supers[i];
    mdfs::format::SuperInfo info =
        f.sb1 ? mdfs::format::super_info(*f.sb1, f.minor) : mdfs::format::super_info(*f.sb0, f.device_sectors * 512);
    const mdfs::format::Verdict v = mdfs::format::judge(info);
    if (v.support == mdfs::format::Support::kRefused)
      fail("cannot assemble " + arr.dev() + ": " + arr.mount.member_path(names[i]) + ": " + v.reason);
    if (v.support == mdfs::format::Support::kReadOnly && !readonly) {
      say(arr.dev() + " will start read-only: " + arr.mount.member_path(names[i]) + ": " + v.reason);
      readonly = true;
    }
  }
  assemble_members(arr, names, supers, readonly, force);
  return 0;
}

int assemble_scan(bool readonly, const MountOptions& mopts, bool force) {
  Mount mount = find_mount(mopts);
  auto used = members_in_use(mount);
  struct Group {
    std::vector<std::string> names;
    std::vector<FoundSuper> supers;
  };
  std::vector<Group> groups;
  for (const auto& file : source_files(mount)) {
    if (used.count(file)) continue;
    int error = 0;
    auto found = find_super(mount.member_path(file), &error);
    if (!found) continue;
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const Group& g) { return g.supers.front().uuid() == found->uuid(); });
    if (it == groups.end()) {
      groups.push_back({});
      it = groups.end() - 1;
    }
    it->names.push_back(file);
    it->supers.push_back(std::move(*found));
  }
  if (groups.empty()) {
    say("No arrays found in " + mount.source + " that are not already assembled");
    return 1;
  }
  int rc = 0;
  for (const auto& g : groups) {
    // The freshest member names the array, as at mount.
    std::size_t fresh = 0;
    for (std::size_t i = 0; i < g.supers.size(); ++i)
      if (g.supers[i].events() > g.supers[fresh].events()) fresh = i;
    std::string name = name_for(g.supers[fresh]);
    auto arrays = list_arrays(mount);
    if (!is_array_name(name) || std::count(arrays.begin(), arrays.end(), name)) {
      for (int k = 127; k >= 0; --k)
        if (!std::count(arrays.begin(), arrays.end(), "md" + std::to_string(k))) {
          name = "md" + std::to_string(k);
          break;
        }
    }
    try {
      assemble_members(ArrayRef{mount, name}, g.names, g.supers, readonly, force);
    } catch (const Failure& f) {
      say(f.what());
      rc = 1;
    }
  }
  return rc;
}

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

int manage(const std::string& dev, const std::vector<MemberAction>& actions, const MountOptions& mopts) {
  ArrayRef arr = resolve_array(dev, mopts);
  if (!read_attr(arr.md("array_state"))) fail("error opening " + arr.dev() + ": " + errno_text(ENOENT));
  if (actions.empty()) usage("no devices given to --add, --fail or --remove");
  int rc = 0;
  for (const auto& a : actions) {
    try {
      switch (a.op) {
        case MemberOp::kAdd: {
          std::string name = resolve_member(arr.mount, a.member);
          const std::string path = arr.mount.member_path(name);
          int error = 0;
          auto found = find_super(path, &error);
          if (int e = write_attr(arr.md("new_dev"), name))
            fail("add new device failed for " + path + ": " + errno_text(e));
          say(std::string(found ? "re-added " : "added ") + path);
          // The kernel rebuilds a degraded array onto a spare at once.
          auto state = read_attr(arr.md("dev-" + name + "/state"));
          auto degraded = read_attr(arr.md("degraded"));
          auto sync = read_attr(arr.md("sync_action"));
          if (state && state->find("spare") != std::string::npos && degraded && *degraded != "0" &&
              sync.value_or("idle") == "idle")
            say(path + " is a spare of degraded " + arr.dev() + ", but no recovery onto it started");
          break;
        }
        case MemberOp::kFail: {
          std::string name = member_in_array(arr, a.member);
          const std::string path = arr.mount.member_path(name);
          if (int e = write_attr(arr.md("dev-" + name + "/state"), "faulty"))
            fail("set device faulty failed for " + path + ":  " + errno_text(e));
          say("set " + path + " faulty in " + arr.dev());
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
            say("hot removed " + path + " from " + arr.dev());
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
    for (;;) {
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
      // Polled: sysfs change notifications do not reach a FUSE mount.
      timespec ts{0, 200 * 1000 * 1000};
      ::nanosleep(&ts, nullptr);
    }
    if (tty && waited) std::fprintf(stderr, "\n");
    if (!waited) rc = std::max(rc, 1);
  }
  return rc;
}

}  // namespace mdfsadm
