#include "mdfsadm/assemble.h"

#include <fcntl.h>
#include <linux/raid/md_p.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "format/feature_rules.h"
#include "format/superblock0.h"
#include "format/superblock1.h"
#include "mdfs/unique_fd.h"
#include "mdfsadm/force.h"
#include "mdfsadm/update.h"
#include "mdfsadm/manage.h"
#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/super_facts.h"

namespace mdfsadm {
namespace {

struct Selection {
  std::vector<FoundMember> members;
  bool aborted = false;
};

// Which identity a superblock fails, for mdadm's "X has wrong uuid." lines.
std::string mismatch(const ArrayIdent& ident, const FoundSuper& sb, const std::string& homehost) {
  ArrayIdent one;
  one.uuid = ident.uuid;
  if (!one.matches(sb, homehost)) return "has wrong uuid.";
  one = {};
  one.name = ident.name;
  if (!one.matches(sb, homehost)) return "has wrong name.";
  one = {};
  one.super_minor = ident.super_minor;
  if (!one.matches(sb, homehost)) return "has wrong super-minor.";
  one = {};
  one.level = ident.level;
  if (!one.matches(sb, homehost)) return "has wrong raid level.";
  return "requires wrong number of drives.";
}

// select_devices: the candidates whose superblocks belong to the array.
// Listed files (inargv) that cannot take part abort the assembly; files
// found by scanning are skipped quietly.
Selection select_members(const AssembleContext& ctx, const Mount& mount, ArrayIdent ident,
                         const std::vector<std::string>& candidates, bool inargv, bool auto_assem) {
  Selection s;
  const int verbose = ctx.cmd.verbose;
  const bool report = (inargv && verbose >= 0) || verbose > 0;
  const auto used = files_in_use(mount);
  const bool wants_one = !ident.name.empty() || ident.super_minor || ident.uuid;
  const auto wanted = ident.devices.empty() ? std::vector<std::string>{}
                                            : match_devices(split_commas(ident.devices), mount);
  for (const auto& file : candidates) {
    const std::string path = mount.member_path(file);
    if (!ident.devices.empty() && std::find(wanted.begin(), wanted.end(), file) == wanted.end()) {
      if (report) say(path + " is not one of " + ident.devices);
      continue;
    }
    // A file that cannot take part: skipped when scanning, or when the
    // command line says which array it wants; else it ends the assembly.
    auto unusable = [&](const std::string& why, const std::string& abort_line = "") {
      if (!inargv || auto_assem || wants_one) {
        if (report && !why.empty()) say(why);
        return false;
      }
      if (abort_line.empty()) {
        if (report && !why.empty()) say(why);
        say(path + " has no superblock - assembly aborted");
      } else {
        say(abort_line);
      }
      s.aborted = true;
      return true;
    };
    if (std::find(used.begin(), used.end(), file) != used.end()) {
      if (unusable("cannot open device " + path + ": " + errno_text(EBUSY))) return s;
      continue;
    }
    int error = 0;
    std::string rejected;
    // --update=byteorder: only byte-swapped 0.90 superblocks, as mdadm's
    // "0.swap" metadata reads them.
    auto sb = find_super(path, &error, &rejected, ctx.cmd.update == "byteorder");
    if (!sb) {
      // A superblock mdfs refuses (a value out of bounds) is named with the
      // reason mdfs would give at mount.
      if (!rejected.empty()) {
        const std::string why = "the superblock on " + path + " is refused: " + rejected;
        if (unusable(why, why + " - assembly aborted")) return s;
        continue;
      }
      if (unusable(error ? "cannot open device " + path + ": " + errno_text(error) : "no recogniseable superblock on " + path)) return s;
      continue;
    }
    if (auto_assem && s.members.empty() &&
        !auto_allows(ctx.config, *sb, sb_is_local(*sb, ctx.homehost))) {
      if (report) say(path + " has metadata type " + sb_kind(*sb) + " for which auto-assembly is disabled");
      continue;
    }
    if (!ident.matches(*sb, ctx.homehost)) {
      if (report) say(path + " " + mismatch(ident, *sb, ctx.homehost));
      continue;
    }
    if (!s.members.empty() && sb->uuid() != s.members.front().sb.uuid()) {
      // No identity given: the first member decides, as mdadm's compare_super.
      if (inargv) {
        say("superblock on " + path + " doesn't match others - assembly aborted");
        s.aborted = true;
        return s;
      }
      continue;
    }
    s.members.push_back({file, std::move(*sb)});
  }
  return s;
}

std::string plural(unsigned n, const char* word) { return std::to_string(n) + " " + word + (n == 1 ? "" : "s"); }

// start_array's decision, from the superblocks: which members are fresh,
// which roles they fill, how many the superblock expects.
struct Census {
  std::size_t freshest = 0;  // index of the member with the most events
  unsigned okcnt = 0, sparecnt = 0, rebuilding = 0;
  int req_cnt = 0;
  int level = 0, raid_disks = 0, layout = 0;
  bool clean = true;
  std::vector<bool> avail;
};

Census census(const std::vector<FoundMember>& members) {
  Census c;
  for (std::size_t i = 0; i < members.size(); ++i)
    if (members[i].sb.events() > members[c.freshest].sb.events()) c.freshest = i;
  const FoundSuper* freshest = &members[c.freshest].sb;
  c.level = freshest->level();
  c.raid_disks = sb_raid_disks(*freshest);
  c.layout = sb_layout(*freshest);
  c.clean = sb_clean(*freshest);
  c.req_cnt = sb_working_disks(*freshest);
  c.avail.assign(static_cast<std::size_t>(std::max(c.raid_disks, 0)), false);
  for (const auto& m : members) {
    // As the kernel starts the array: a member behind the freshest is left out.
    if (m.sb.events() < freshest->events()) continue;
    const int role = sb_role(m.sb);
    if (role == kRoleSpare) {
      ++c.sparecnt;
    } else if (role >= 0 && role < c.raid_disks) {
      if (sb_in_sync(m.sb)) {
        if (!c.avail[static_cast<std::size_t>(role)]) ++c.okcnt;
        c.avail[static_cast<std::size_t>(role)] = true;
      } else {
        ++c.rebuilding;
      }
    }
  }
  return c;
}

// mdadm's update_super "force-array": a raid4/5/6 superblock marked clean
// (v1: resync_offset MaxSector; 0.90: the clean state bit), written back
// with its checksum before the member is handed to the array.
void mark_clean(const Mount& mount, const FoundMember& m) {
  FoundSuper sb = m.sb;
  if (sb.sb1) sb.sb1->resync_offset = mdfs::format::kMaxSector;
  else sb.sb0->state |= 1u << MD_SB_CLEAN;
  store_super(mount, m.file, sb);
}

// --update: each member's superblock rewritten before anything else, as
// mdadm does while it loads them (mdfsadm/update.h).
void update_members(const AssembleContext& ctx, const ArrayRef& arr, std::vector<FoundMember>& members) {
  UpdateRequest req;
  req.what = ctx.cmd.update;
  req.uuid = ctx.cmd.uuid;
  if (req.what == "uuid" && !req.uuid && members.front().sb.sb1) req.uuid = random_uuid();
  req.homehost = ctx.homehost;
  // mdadm names the array after its minor when --name is not given; an
  // mdfs array's name stands for it (md0: "0", md_home: "home").
  const std::string& n = arr.name;
  const bool numbered = n.size() > 2 && n.starts_with("md") && std::all_of(n.begin() + 2, n.end(), ::isdigit);
  req.name = !ctx.cmd.name.empty() ? ctx.cmd.name : n.starts_with("md_") ? n.substr(3) : numbered ? n.substr(2) : n;
  if (req.what == "super-minor") {
    if (!numbered) fail("--update=super-minor needs an array named mdN, not " + arr.dev());
    req.md_minor = std::stoi(n.substr(2));
  }
  for (const auto& m : members) check_update(m.sb, req);
  for (auto& m : members) apply_update(arr.mount, m.file, m.sb, req);
}

// Assemble() for one array: 0 started, 1 failed or not started (and
// cleared again), 2 nothing found (auto-assembly) or left inactive
// (--no-degraded).
int assemble_one(const AssembleContext& ctx, const Mount& mount, std::string name, const ArrayIdent& ident,
                 const std::vector<std::string>& candidates, bool inargv, bool auto_assem) {
  const Command& cmd = ctx.cmd;
  Selection s = select_members(ctx, mount, ident, candidates, inargv, auto_assem);
  if (s.aborted) return 1;
  if (s.members.empty()) {
    if (auto_assem) return 2;
    say("no devices found for " + (name.empty() ? std::string("the array") : mount.dev(name)));
    return 1;
  }
  if (name.empty()) name = auto_array_name(mount, s.members.front().sb);
  const ArrayRef arr{mount, name};
  // The same verdicts mdfs gives at the start (mdfs(8) SUPERBLOCK FEATURES),
  // said here before anything is asked of the array.
  bool readonly = cmd.readonly;
  for (const auto& m : s.members) {
    const FoundSuper& f = m.sb;
    const mdfs::format::SuperInfo info =
        f.sb1 ? mdfs::format::super_info(*f.sb1, f.minor) : mdfs::format::super_info(*f.sb0, f.device_sectors * 512);
    const mdfs::format::Verdict v = mdfs::format::judge(info);
    if (v.support == mdfs::format::Support::kRefused)
      fail("cannot assemble " + arr.dev() + ": " + mount.member_path(m.file) + ": " + v.reason);
    if (v.support == mdfs::format::Support::kReadOnly && !readonly) {
      say(arr.dev() + " will start read-only: " + mount.member_path(m.file) + ": " + v.reason);
      readonly = true;
    }
  }
  // mdadm's journal_clean: an array with a write journal whose journal
  // member is missing or stale starts only with --force, and then
  // read-only.
  {
    std::vector<mdfs::format::SuperInfo> infos;
    std::vector<const mdfs::format::SuperInfo*> ptrs;
    for (const auto& m : s.members)
      infos.push_back(m.sb.sb1 ? mdfs::format::super_info(*m.sb.sb1, m.sb.minor)
                               : mdfs::format::super_info(*m.sb.sb0, m.sb.device_sectors * 512));
    for (const auto& i : infos) ptrs.push_back(&i);
    if (mdfs::format::journal_missing(ptrs)) {
      if (!cmd.force) {
        say("Not safe to assemble with missing or stale journal device, consider --force.");
        return 1;
      }
      say("Journal is missing or stale, starting array read only.");
      readonly = true;
    }
  }
  if (!cmd.update.empty()) update_members(ctx, arr, s.members);
  // mdadm's force_array: out-of-date members brought in (mdfsadm/force.h).
  if (cmd.force) {
    std::vector<std::string> files;
    std::vector<FoundSuper> supers;
    for (const auto& m : s.members) {
      files.push_back(m.file);
      supers.push_back(m.sb);
    }
    const auto used = files_in_use(mount);
    if (force_members(mount, files, supers, std::set<std::string>(used.begin(), used.end())))
      for (std::size_t i = 0; i < supers.size(); ++i) s.members[i].sb = supers[i];
  }
  Census c = census(s.members);
  // As mdadm with --force: a raid4/5/6 too short of members to start while
  // dirty has its freshest superblock marked clean (what was being written
  // when it stopped may be wrong where the missing member is rebuilt from
  // parity; the user asked for it).
  if (cmd.force && !c.clean && !enough(c.level, c.raid_disks, c.layout, false, c.avail)) {
    if (c.level == 4 || c.level == 5 || c.level == 6) {
      mark_clean(mount, s.members[c.freshest]);
      if (cmd.verbose >= 0) say("Marking array " + arr.dev() + " as 'clean'");
    }
    c.clean = true;
  }
  const bool start_partial_ok = cmd.runstop >= 0 && (cmd.force || !inargv || auto_assem);
  const bool enough_now = enough(c.level, c.raid_disks, c.layout, c.clean, c.avail);
  const bool start = cmd.runstop == 1 ||
                     (cmd.runstop <= 0 && enough_now &&
                      (static_cast<int>(c.okcnt + c.rebuilding) >= c.req_cnt || start_partial_ok));
  new_array(arr);
  try {
    write_attr_or_fail(arr.md("metadata_version"), s.members[c.freshest].sb.version());
    for (const auto& m : s.members) {
      if (int e = write_attr(arr.md("new_dev"), m.file))
        fail("failed to add " + mount.member_path(m.file) + " to " + arr.dev() + ": " + errno_text(e));
    }
  } catch (const Failure&) {
    clear_array(arr);
    throw;
  }
  if (start) {
    const std::string state = readonly ? "readonly" : "active";
    if (int e = write_attr(arr.md("array_state"), state)) {
      say("failed to RUN_ARRAY " + arr.dev() + ": " + errno_text(e));
      if (!enough(c.level, c.raid_disks, c.layout, true, c.avail)) say("Not enough devices to start the array.");
      else if (!enough_now) say("Not enough devices to start the array while not clean - consider --force.");
      clear_array(arr);
      return 1;
    }
    if (cmd.verbose >= 0) report_started(arr);
    return 0;
  }
  std::string msg = arr.dev() + " assembled from " + plural(c.okcnt, "drive");
  if (cmd.runstop == -1) {
    if (static_cast<int>(c.okcnt) != c.raid_disks) msg += " (out of " + std::to_string(c.raid_disks) + ")";
    say(msg + ", but not started.");
    return 2;
  }
  if (c.rebuilding) msg += std::string(c.sparecnt ? "," : " and") + " " + std::to_string(c.rebuilding) + " rebuilding";
  if (c.sparecnt) msg += " and " + plural(c.sparecnt, "spare");
  if (!enough(c.level, c.raid_disks, c.layout, true, c.avail)) msg += " - not enough to start the array.";
  else if (!enough_now) msg += " - not enough to start the array while not clean - consider --force.";
  else if (c.req_cnt == c.raid_disks) msg += " - need all " + std::to_string(c.req_cnt) + " to start it (use --run to insist).";
  else msg += " - need " + std::to_string(c.req_cnt) + " to start (use --run to insist).";
  if (cmd.verbose >= -1) say(msg);
  clear_array(arr);
  return 1;
}

// The identity the command line gives.
ArrayIdent command_ident(const Command& cmd) {
  // With --update=uuid or --update=name, --uuid and --name are what the
  // superblocks get, not what selects them (as mdadm's ident_matches).
  ArrayIdent ident;
  if (cmd.update != "uuid") ident.uuid = cmd.uuid;
  if (cmd.update != "name") ident.name = cmd.name;
  if (cmd.super_minor && *cmd.super_minor >= 0) ident.super_minor = cmd.super_minor;
  return ident;
}

const ArrayIdent* config_ident(const Config& config, const Mount& mount, const std::string& name) {
  for (const auto& a : config.arrays)
    if (!a.devname.empty() && strcasecmp(a.devname.c_str(), "<ignore>") != 0 && array_name_for(a.devname) == name)
      return &a;
  (void)mount;
  return nullptr;
}

// scan_assemble: the ARRAY lines, again while some succeed and some fail
// (one may need another); without any, every array found that AUTO allows.
int scan_assemble(const AssembleContext& ctx, const Mount& mount) {
  const auto devices = config_devices(ctx.config, mount);
  std::vector<bool> done(ctx.config.arrays.size(), false);
  int rv = 0, tried = 0;
  for (;;) {
    int failures = 0, successes = 0;
    rv = 0;
    for (std::size_t i = 0; i < ctx.config.arrays.size(); ++i) {
      const ArrayIdent& a = ctx.config.arrays[i];
      if (done[i] || strcasecmp(a.devname.c_str(), "<ignore>") == 0) continue;
      ++tried;
      int r = 0;
      const std::string name = a.devname.empty() ? "" : array_name_for(a.devname);
      try {
        auto state = name.empty() ? std::nullopt : read_attr(mount.md(name, "array_state"));
        if (state && *state != "clear" && *state != "inactive") {
          // Already running: nothing to do, as a second mdadm -As finds.
          if (ctx.cmd.verbose > 0) say(mount.dev(name) + " is already active.");
          done[i] = true;
          continue;
        }
        r = assemble_one(ctx, mount, name, a, devices, false, false);
      } catch (const Failure& f) {
        say(f.what());
        r = 1;
      }
      if (r == 0) {
        done[i] = true;
        ++successes;
      } else {
        ++failures;
      }
      rv |= r;
    }
    if (!failures || !successes) break;
  }
  if (tried) return rv;
  if (ctx.homehost.empty() && ctx.config.require_homehost) {
    say("No arrays found in config file");
    return 1;
  }
  // Auto-assembly: each array whose members are here, in the order its
  // first member is found, as mdadm's Assemble called until it finds none.
  int count = 0;
  std::set<std::array<uint8_t, 16>> seen;
  const auto used = files_in_use(mount);
  for (const auto& file : devices) {
    if (std::find(used.begin(), used.end(), file) != used.end()) continue;
    int error = 0;
    auto sb = find_super(mount.member_path(file), &error);
    if (!sb || !seen.insert(sb->uuid()).second) continue;
    ArrayIdent ident;
    ident.uuid = sb_uuid_as_text(*sb);
    int r = 2;
    try {
      r = assemble_one(ctx, mount, "", ident, devices, false, true);
    } catch (const Failure& f) {
      say(f.what());
      r = 1;
    }
    if (r == 0) ++count;
    else if (r == 1) rv = 1;
  }
  if (count == 0 && rv == 0) {
    say("No arrays found in config file or automatically");
    return 1;
  }
  return count ? 0 : rv;
}

}  // namespace

std::vector<std::string> files_in_use(const Mount& mount) {
  std::vector<std::string> used;
  for (const auto& e : read_mdstat(mount))
    for (const auto& m : e.members) used.push_back(m.name);
  return used;
}

std::string auto_array_name(const Mount& mount, const FoundSuper& sb) {
  std::string name;
  if (sb.sb0) {
    name = "md" + std::to_string(sb.sb0->md_minor);
  } else {
    const std::string n = sb_short_name(sb);
    if (!n.empty() && n.size() <= 6 && std::all_of(n.begin(), n.end(), ::isdigit))
      name = "md" + std::to_string(std::stoul(n));
    else
      name = "md_" + n;
  }
  auto arrays = list_arrays(mount);
  if (is_array_name(name) && !std::count(arrays.begin(), arrays.end(), name)) return name;
  for (int k = 127; k >= 0; --k)
    if (!std::count(arrays.begin(), arrays.end(), "md" + std::to_string(k))) return "md" + std::to_string(k);
  fail("no free array name for " + name);
}

std::optional<FoundSuper> array_super(const Mount& mount, const std::string& array) {
  auto entry = mdstat_entry(mount, array);
  if (!entry) return std::nullopt;
  for (const auto& m : entry->members) {
    int error = 0;
    if (auto sb = find_super(mount.member_path(m.name), &error)) return sb;
  }
  return std::nullopt;
}

int assemble_mode(const AssembleContext& ctx) {
  const Command& cmd = ctx.cmd;
  if (!cmd.scan && cmd.runstop == -1) fail("--no-degraded not meaningful without a --scan assembly.");
  const ArrayIdent ident = command_ident(cmd);
  if (!cmd.scan) {
    if (cmd.devices.empty()) usage("an md device must be given in this mode");
    ArrayRef arr = resolve_array(cmd.devices.front().name, cmd.mount);
    std::vector<std::string> listed;
    for (std::size_t i = 1; i < cmd.devices.size(); ++i) {
      std::string name = resolve_member(arr.mount, cmd.devices[i].name);
      if (std::find(listed.begin(), listed.end(), name) != listed.end())
        fail(arr.mount.member_path(name) + " is listed twice");
      listed.push_back(name);
    }
    if (listed.empty()) {
      // Only the array: what it is comes from the config file, or from
      // the identity given, found among the config's devices.
      if (ident.has_identity())
        return assemble_one(ctx, arr.mount, arr.name, ident, config_devices(ctx.config, arr.mount), false, false);
      const ArrayIdent* a = config_ident(ctx.config, arr.mount, arr.name);
      if (!a) {
        say(arr.dev() + " not identified in config file.");
        return 1;
      }
      return assemble_one(ctx, arr.mount, arr.name, *a, config_devices(ctx.config, arr.mount), false, false);
    }
    return assemble_one(ctx, arr.mount, arr.name, ident, listed, true, false);
  }
  if (!cmd.devices.empty()) {
    int rv = 0;
    for (const auto& d : cmd.devices) {
      ArrayRef arr = resolve_array(d.name, cmd.mount);
      const ArrayIdent* a = config_ident(ctx.config, arr.mount, arr.name);
      if (!a) {
        say(arr.dev() + " not identified in config file.");
        rv |= 1;
        continue;
      }
      rv |= assemble_one(ctx, arr.mount, arr.name, *a, config_devices(ctx.config, arr.mount), false, false);
    }
    return rv;
  }
  return scan_assemble(ctx, find_mount(cmd.mount));
}

}  // namespace mdfsadm
