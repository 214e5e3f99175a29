// --grow: mdadm's Grow.c for what mdfs reshapes, as the attribute writes
// mdadm makes against the kernel. For raid4/5/6 member count, chunk and
// layout changes mdadm 4.2 (v1 metadata) moves each member's data offset
// by the reshape's smallest unit (new_offset) so that the kernel never
// writes where unmoved data lies, then sets chunk_size, layout and
// raid_disks and writes "reshape" to sync_action. raid10 (raid10_reshape)
// the same, always moving the data offset, by the larger of the old and
// new chunk times the offset copies: the kernel needs no backup for it.
// A level change between raid5 and raid6 that moves data is a takeover
// and a reshape in mdadm's order (analyse_change's intermediate shape).
#include "mdfsadm/grow.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include <unistd.h>

#include "mdfsadm/manage.h"
#include "mdfsadm/mdadm_text.h"

namespace mdfsadm {

namespace {

uint64_t number(const ArrayRef& arr, const std::string& attr) {
  auto v = read_attr(arr.md(attr));
  if (!v) fail("cannot read " + arr.md(attr));
  try {
    return std::stoull(*v);
  } catch (const std::exception&) {
    fail(arr.md(attr) + ": unexpected value '" + *v + "'");
  }
}

bool parity_level(int level) { return level == 4 || level == 5 || level == 6; }

// The member folders of the array (dev-NAME) and whether each is a spare.
std::vector<std::pair<std::string, bool>> member_dirs(const ArrayRef& arr) {
  std::vector<std::pair<std::string, bool>> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(arr.mount.block(arr.name) + "/md", ec)) {
    const std::string name = e.path().filename();
    if (!name.starts_with("dev-")) continue;
    const std::string state = read_attr(e.path().string() + "/state").value_or("");
    if (state.find("faulty") != std::string::npos) continue;
    out.emplace_back(e.path().string(), read_attr(e.path().string() + "/slot").value_or("none") == "none");
  }
  return out;
}

// Puts every member's new_offset back to its offset (always allowed).
void reset_offsets(const std::vector<std::pair<std::string, bool>>& dirs) {
  for (const auto& [dir, spare] : dirs)
    if (auto off = read_attr(dir + "/offset")) write_attr(dir + "/new_offset", *off);
}

// --add on a linear array (Grow_Add_device, md's linear_add): the member
// joins (new_dev) and takes the role after the last (its slot), the
// array growing by its size at once. Elsewhere it joins as a spare.
void add_member(const ArrayRef& arr, const std::string& member, bool append) {
  const std::string name = resolve_member(arr.mount, member);
  const std::string path = arr.mount.member_path(name);
  if (int e = write_attr(arr.md("new_dev"), name)) fail("add new device failed for " + path + ": " + errno_text(e));
  if (!append) return;
  const uint64_t role = number(arr, "raid_disks");
  if (int e = write_attr(arr.md("dev-" + name + "/slot"), std::to_string(role))) {
    (void)write_attr(arr.md("dev-" + name + "/state"), "remove");
    fail("cannot add " + path + " to " + arr.dev() + ": " + errno_text(e));
  }
}

// raid1 --raid-devices (mdadm's Grow_reshape for a level that needs no
// restriping): raid_disks set at once. Growing without the spares to fill
// the new mirrors needs --force, as mdadm; shrinking is refused by md
// (EBUSY) while a mirror to drop is in use: fail and remove it first.
int grow_mirrors(const ArrayRef& arr, const std::string& text, bool force) {
  auto n = parse_num(text);
  if (!n || *n < 1) usage("invalid number of raid devices: " + text);
  const int old_disks = static_cast<int>(number(arr, "raid_disks"));
  if (*n == old_disks) {
    say(arr.dev() + ": no change requested");
    return 0;
  }
  if (*n > old_disks && !force) {
    int spares = 0;
    for (const auto& d : member_dirs(arr)) spares += d.second ? 1 : 0;
    const int need = *n - old_disks;
    if (spares < need)
      fail("Need " + std::to_string(need) + " spare" + (need > 1 ? "s" : "") + " to avoid degraded array, and only have " +
           std::to_string(spares) + ".\n       Use --force to over-ride this check.");
  }
  if (int e = write_attr(arr.md("raid_disks"), std::to_string(*n))) {
    if (e == EBUSY && *n < old_disks)
      fail("failed to set raid disks for " + arr.dev() + ": " + errno_text(e) +
           " (more than " + std::to_string(*n) + " members hold a mirror: --fail and --remove one first)");
    fail("failed to set raid disks for " + arr.dev() + ": " + errno_text(e));
  }
  say("raid_disks for " + arr.dev() + " set to " + std::to_string(*n));
  return 0;
}

// Fails and removes the member in `slot`, as mdadm's
// remove_disks_for_takeover: the takeovers to raid0 need the members it
// will not use gone first.
void drop_slot(const ArrayRef& arr, int slot) {
  for (const auto& [dir, spare] : member_dirs(arr)) {
    if (spare || read_attr(dir + "/slot").value_or("none") != std::to_string(slot)) continue;
    const std::string who = dir.substr(dir.rfind("/dev-") + 5);
    if (int e = write_attr(dir + "/state", "faulty")) fail("cannot fail " + who + ": " + errno_text(e));
    if (int e = write_attr(dir + "/state", "remove")) fail("cannot remove " + who + ": " + errno_text(e));
    say("removed " + who + " (slot " + std::to_string(slot) + ") from " + arr.dev());
  }
}

// --level: the takeovers md does without moving data (the kernel's
// level_store), with what mdadm does around them: raid1 <-> raid5 of two
// members; raid0 -> raid4/raid5 (parity-last, the new parity member
// recovered onto a spare) and raid4/raid5 (parity-last) -> raid0 after
// removing the parity member; raid4 <-> raid5 (parity-last); raid5 ->
// raid6 keeps the raid5 layout with Q on a new last member (the -6
// layouts, mdadm's --layout=preserve), raid6 (-6 layouts) -> raid5 drops
// it; raid0 -> raid10 (near=2, the new mirrors recovered onto spares) and
// raid10 (near=2) -> raid0 after removing one member of each pair; raid1
// -> raid0 after removing all mirrors but one.
int grow_level(const ArrayRef& arr, int from, int to, bool force) {
  const std::string to_name = level_name(to).value_or(std::to_string(to));
  const int disks = static_cast<int>(number(arr, "raid_disks"));
  const int layout = from == 1 || from == kLevelLinear ? 0 : static_cast<int>(number(arr, "layout"));
  const int degraded = from == 0 || from == kLevelLinear ? 0 : static_cast<int>(number(arr, "degraded"));
  int spares = 0;
  for (const auto& d : member_dirs(arr)) spares += d.second ? 1 : 0;
  if ((from == 1 && to == 5) || (from == 5 && to == 1)) {
    if (disks != 2) fail(std::string("Can only convert a 2-device array to ") + (to == 5 ? "RAID5" : "RAID1"));
  } else if (from == 6 && to == 5) {
    if (!(layout >= 16 && layout <= 20) && layout != 5)
      fail(arr.dev() + ": raid6 layout " + raid6_layout_name(layout).value_or(std::to_string(layout)) +
           " is not a -6 layout: --grow --layout=" + raid6_layout_name(layout).value_or("?") + "-6 first");
  } else if (from == 5 && to == 6) {
    if (spares < 1 && !force)
      fail("Need 1 spare to avoid degraded array, and only have 0.\n       Use --force to over-ride this check.");
  } else if ((from == 4 || from == 5) && to == 0) {
    if (from == 5 && layout != 5)
      fail(arr.dev() + ": raid5 becomes raid0 from the parity-last layout only: --grow --layout=parity-last first");
    if (degraded == 0) drop_slot(arr, disks - 1);
  } else if (from == 10 && to == 0) {
    if (layout != 0x102 || disks % 2) fail(arr.dev() + ": raid10 becomes raid0 from an even near=2 layout only");
    for (int pair = 0; pair < disks; pair += 2) {
      bool first = false;
      for (const auto& [dir, spare] : member_dirs(arr))
        if (!spare && read_attr(dir + "/slot").value_or("none") == std::to_string(pair)) first = true;
      if (first) drop_slot(arr, pair + 1);
    }
  } else if (from == 1 && to == 0) {
    // All mirrors but the first working one go.
    std::vector<int> working;
    for (const auto& [dir, spare] : member_dirs(arr))
      if (!spare) working.push_back(std::stoi(read_attr(dir + "/slot").value_or("0")));
    std::sort(working.begin(), working.end());
    for (size_t i = 1; i < working.size(); ++i) drop_slot(arr, working[i]);
  } else if (!((from == 0 && (to == 4 || to == 5 || to == 10)) || (from == 4 && to == 5) || (from == 5 && to == 4))) {
    fail(arr.dev() + ": md cannot take " + level_name(from).value_or("?") + " over to " + to_name +
         " without moving data, which mdfs does not do for a level change");
  }
  if (int e = write_attr(arr.md("level"), to_name)) {
    std::string why = arr.dev() + ": could not set level to " + to_name + ": " + errno_text(e);
    if (e == EBUSY && read_attr(arr.md("bitmap/location")).value_or("none") != "none")
      why += "\n       Bitmap must be removed before level can be changed";
    fail(why + " (the daemon's log says why)");
  }
  say("level of " + arr.dev() + " changed to " + to_name);
  return 0;
}

// The shape a reshape goes to: members, chunk (sectors), layout.
struct Target {
  int disks = 0;
  uint64_t chunk = 0;
  int layout = 0;
};

// Starts the reshape of a raid4/5/6 or raid10 to `t` (mdadm's
// reshape_array once analyse_change has chosen the shapes).
void restripe(const ArrayRef& arr, int level, const Target& t, const GrowOptions& o) {
  const bool raid10 = level == 10;
  const int old_disks = static_cast<int>(number(arr, "raid_disks"));
  const uint64_t old_chunk = number(arr, "chunk_size") / 512;
  const int old_layout = static_cast<int>(number(arr, "layout"));
  const uint64_t component = number(arr, "component_size") * 2;
  const int new_disks = t.disks;
  const uint64_t new_chunk = t.chunk;
  const int new_layout = t.layout;
  const int delta = new_disks - old_disks;
  // What each member holds of the array: raid4/5/6 a data member's chunk
  // per stripe; raid10 a chunk per near copy over the members, each far
  // (offset) copy a row of its own (analyse_change's rules for raid10).
  const auto copies = [](int layout) { return std::make_pair(layout & 255, std::max((layout >> 8) & 255, 1)); };
  const auto [old_near, old_far] = copies(old_layout);
  const auto [new_near, new_far] = copies(new_layout);
  if (raid10) {
    if (old_far > 1 && !(old_layout & 0x10000)) fail("Cannot reshape RAID10 in far-mode");
    if (new_far > 1 && !(new_layout & 0x10000)) fail("Cannot reshape RAID10 to far-mode");
    if (old_near * old_far != new_near * new_far) fail("Cannot change number of copies when reshaping RAID10");
    if (new_disks < new_near * new_far) fail("cannot reduce " + arr.dev() + " to " + std::to_string(new_disks) + " devices");
  }
  const int parity = level == 6 ? 2 : 1;
  if (!raid10 && new_disks - parity < 1) fail("cannot reduce " + arr.dev() + " to " + std::to_string(new_disks) + " devices");
  // raid10_reshape: a shrink moves the data up, for which each member
  // needs `min` sectors past its component; where one lacks them, every
  // component gives them up first (the new size counts without them).
  const uint64_t min10 = std::max(old_chunk * static_cast<uint64_t>(old_far), new_chunk * static_cast<uint64_t>(new_far));
  bool cut = false;
  if (raid10 && delta < 0)
    for (const auto& [dir, spare] : member_dirs(arr))
      if (std::stoull(read_attr(dir + "/size").value_or("0")) * 2 < component + min10) cut = true;
  const uint64_t new_component = cut ? component - min10 : component;
  const auto size_of = [&](uint64_t comp, int disks, uint64_t chunk, int near, int far) {
    if (raid10)
      return comp / chunk / static_cast<uint64_t>(far) * static_cast<uint64_t>(disks) / static_cast<uint64_t>(near) *
             chunk;
    return comp / chunk * chunk * static_cast<uint64_t>(disks - parity);
  };
  const uint64_t old_dd = static_cast<uint64_t>(old_disks - parity);
  const uint64_t new_dd = static_cast<uint64_t>(new_disks - parity);
  // A smaller array must be truncated first (mdadm: --array-size).
  const uint64_t new_size = size_of(new_component, new_disks, new_chunk, new_near, new_far);
  const auto array_kib = read_attr(arr.md("array_size")).value_or("default");
  const uint64_t size_now = array_kib == "default" ? size_of(component, old_disks, old_chunk, old_near, old_far)
                                                   : std::stoull(array_kib) * 2;
  if (new_size < size_now)
    fail("this change will reduce the size of the array.\n       use --grow --array-size first to truncate array.\n"
         "       e.g. mdfsadm --grow " + arr.dev() + " --array-size " + std::to_string(new_size / 2));
  auto dirs = member_dirs(arr);
  if (delta > 0) {
    int spares = 0;
    for (const auto& d : dirs) spares += d.second ? 1 : 0;
    if (spares < delta)
      fail("Need " + std::to_string(delta) + " spare" + (delta > 1 ? "s" : "") + " to avoid degraded array, and only have " +
           std::to_string(spares) + ".");
  }
  // compute_backup_blocks: the reshape's unit, a whole number of old and
  // new stripes; each member's data moves by that over the old data disks.
  // raid10: min_offset_change, the larger chunk times its offset copies.
  const uint64_t a = old_chunk * old_dd, b = new_chunk * new_dd;
  const uint64_t min = raid10 ? min10 : a / std::gcd(a, b) * b / old_dd;
  if (cut) {
    if (int e = write_attr(arr.md("component_size"), std::to_string(new_component / 2)))
      fail("cannot reduce component size: " + errno_text(e));
  }
  // Growing moves the data down (forwards); shrinking up (backwards); a
  // chunk or layout change down where there is room, else up.
  bool down = delta > 0 || (delta == 0);
  for (int attempt = 0; attempt < 2; ++attempt) {
    write_attr(arr.md("reshape_direction"), down ? "forwards" : "backwards");
    int error = 0;
    std::string who;
    for (const auto& [dir, spare] : dirs) {
      const uint64_t off = std::stoull(read_attr(dir + "/offset").value_or("0"));
      if (down && off < min) {
        error = E2BIG;
      } else {
        error = write_attr(dir + "/new_offset", std::to_string(down ? off - min : off + min));
      }
      if (error) {
        who = dir.substr(dir.rfind("/dev-") + 5);
        break;
      }
    }
    if (!error) break;
    reset_offsets(dirs);
    if (delta != 0 || attempt == 1) {
      if (o.backup_file)
        fail(arr.dev() + ": no room to move the data on " + who +
             ", and mdfs does not run a reshape through a backup file");
      fail(std::string(down ? "Insufficient head-space" : "Insufficient tail-space") + " for reshape on " + who);
    }
    down = !down;
  }
  auto step = [&](const std::string& attr, const std::string& value) {
    if (int e = write_attr(arr.md(attr), value)) {
      reset_offsets(dirs);
      fail("Cannot set " + attr + " of " + arr.dev() + " to " + value + ": " + errno_text(e));
    }
  };
  if (new_chunk != old_chunk) step("chunk_size", std::to_string(new_chunk * 512));
  if (new_layout != old_layout) step("layout", std::to_string(new_layout));
  if (delta != 0) step("raid_disks", std::to_string(new_disks));
  step("sync_action", "reshape");
}

// A raid5 layout's raid6 form with Q on a last member (its name with -6;
// parity-last is its own), or nullopt: analyse_change's table.
std::optional<int> raid6_form(int raid5_layout) {
  if (raid5_layout == 5) return 5;
  auto name = raid5_layout_name(raid5_layout);
  if (!name) return std::nullopt;
  return parse_layout(6, *name + "-6");
}

// The number of member folders that are spares.
int count_spares(const ArrayRef& arr) {
  int spares = 0;
  for (const auto& d : member_dirs(arr)) spares += d.second ? 1 : 0;
  return spares;
}

// Reshape_array's two spare checks: enough spares for the larger shape not
// to be degraded (--force overrides), and enough for it to work at all.
void check_spares(const ArrayRef& arr, int before_dd, int after_dd, int parity, int disks, bool force) {
  const int spares = count_spares(arr);
  const auto plural = [](int n) { return std::to_string(n) + " spare" + (n == 1 ? "" : "s"); };
  const int avoid = std::max(before_dd, after_dd) + parity - disks;
  if (!force && avoid > spares)
    fail("Need " + plural(avoid) + " to avoid degraded array, and only have " + std::to_string(spares) +
         ".\n       Use --force to over-ride this check.");
  const int work = std::max(before_dd, after_dd) - disks;
  if (work > spares)
    fail("Need " + plural(work) + " to create working array, and only have " + std::to_string(spares) + ".");
}

// The chunk --chunk asks for (sectors), or `old`.
uint64_t chunk_of(const GrowOptions& o, uint64_t old) {
  if (!o.chunk) return old;
  auto c = parse_size(*o.chunk);
  if (!c || *c < 8 || (*c & (*c - 1))) usage("invalid chunk/rounding value: " + *o.chunk);
  return *c;
}

// mdfs does not reshape under a write-intent bitmap (the daemon refuses
// with EBUSY): said before anything changes.
void refuse_bitmap(const ArrayRef& arr) {
  if (read_attr(arr.md("bitmap/location")).value_or("none") != "none")
    fail(arr.dev() + ": Bitmap must be removed before shape can be changed (mdfsadm --grow --bitmap=none)");
}

// raid5 -> raid6 and raid6 -> raid5 with a restripe, as mdadm 4.2's
// analyse_change and reshape_array: raid5 goes to raid6 by the takeover
// to the raid5 layout's -6 form (Q on a new last member) and then a
// reshape of that raid6 to the asked layout (by default the raid5
// layout's own name, parity rotating) and member count (by default one
// more, for Q), the data disks kept; --layout=preserve keeps the -6 form
// and so is the takeover alone. raid6 goes to raid5 by a reshape to the
// -6 form of the asked raid5 layout (by default the raid6 layout's name)
// with one member fewer by default, then, when the reshape is done, the
// takeover to raid5 (a child waits for it, as mdadm's). Where the data
// disks, layout and chunk stay, it is the takeover alone (grow_level).
int grow_parity_level(const ArrayRef& arr, int from, int to, const GrowOptions& o) {
  const int disks = static_cast<int>(number(arr, "raid_disks"));
  const int layout = static_cast<int>(number(arr, "layout"));
  const uint64_t chunk = number(arr, "chunk_size") / 512;
  const uint64_t component = number(arr, "component_size") * 2;
  const uint64_t new_chunk = chunk_of(o, chunk);
  int delta = to == 6 ? 1 : -1;  // analyse_change's delta_parity
  if (o.raid_devices) {
    auto n = parse_num(*o.raid_devices);
    if (!n || *n < 1) usage("invalid number of raid devices: " + *o.raid_devices);
    delta = *n - disks;
  }
  if (o.layout && (*o.layout == "normalise" || *o.layout == "normalize"))
    fail(*o.layout + " is only meaningful when reshaping a RAID6 array.");
  if (o.layout && *o.layout == "preserve" && to != 6) fail(*o.layout + " is only meaningful when reshaping to RAID6");
  const std::string dev = arr.dev();
  if (to == 6) {
    const int before_dd = disks - 1;
    const auto before = raid6_form(layout);
    if (!before) fail("Cannot convert an array with this layout");
    int after = layout;
    if (o.layout && *o.layout == "preserve") {
      after = *before;
    } else if (o.layout) {
      auto l = parse_layout(6, *o.layout);
      if (!l) usage("layout " + *o.layout + " not understood for raid6.");
      after = *l;
    }
    const int after_dd = before_dd + delta - 1;
    if (after_dd < 1) fail("cannot reduce " + dev + " to " + std::to_string(disks + delta) + " devices");
    if (after_dd == before_dd && after == *before && new_chunk == chunk) return grow_level(arr, from, to, o.force);
    check_spares(arr, before_dd, after_dd, 2, disks, o.force);
    refuse_bitmap(arr);
    if (component / new_chunk * new_chunk * static_cast<uint64_t>(after_dd) <
        component / chunk * chunk * static_cast<uint64_t>(before_dd))
      fail("this change will reduce the size of the array.\n       use --grow --array-size first to truncate array.");
    // Frozen first, so that no recovery takes a spare for the -6 form's Q
    // before the reshape starts (mdadm's sysfs_freeze_array).
    write_attr(arr.md("sync_action"), "frozen");
    if (int e = write_attr(arr.md("level"), "raid6")) {
      write_attr(arr.md("sync_action"), "idle");
      fail(dev + ": could not set level to raid6: " + errno_text(e) + " (the daemon's log says why)");
    }
    say("level of " + dev + " changed to raid6");
    try {
      restripe(arr, 6, Target{after_dd + 2, new_chunk, after}, o);
    } catch (const Failure&) {
      // Nothing has moved: the takeover back leaves the raid5 as it was.
      if (write_attr(arr.md("level"), "raid5") == 0) say("level of " + dev + " changed back to raid5");
      write_attr(arr.md("sync_action"), "idle");
      throw;
    }
    return 0;
  }
  // raid6 -> raid5: the reshape's layout is the -6 form of the raid5
  // layout asked for (or of the raid6 layout's name); a -6 layout stays.
  const int before_dd = disks - 2;
  int want = layout;
  if (o.layout) {
    auto l = parse_layout(5, *o.layout);
    if (!l) usage("layout " + *o.layout + " not understood for raid5.");
    want = *l;
  }
  int after = want;
  if (want != 5) {
    if (raid5_layout_name(want)) {
      auto l = raid6_form(want);
      if (!l) fail("Cannot find RAID6 layout to convert to");
      after = *l;
    } else {
      const std::string name = raid6_layout_name(want).value_or("");
      if (!name.ends_with("-6")) fail("Please specify new layout");
    }
  }
  const int after_dd = before_dd + delta + 1;
  if (after_dd < 1) fail("cannot reduce " + dev + " to " + std::to_string(disks + delta) + " devices");
  if (after_dd == before_dd && after == layout && new_chunk == chunk) return grow_level(arr, from, to, o.force);
  check_spares(arr, before_dd, after_dd, 2, disks, o.force);
  refuse_bitmap(arr);
  restripe(arr, 6, Target{after_dd + 2, new_chunk, after}, o);
  // The takeover waits for the reshape: a child reads reshape_position
  // each second until it is none (mdadm's wait_reshape), then sets the
  // level. It holds no file of the mount open meanwhile, so an unmount
  // is never kept busy by it; a read that fails (the array stopped, the
  // mount gone) ends it.
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid != 0) return 0;  // the parent (or no child: the level stays raid6)
  int rc = 1;
  try {
    for (;;) {
      auto pos = read_attr(arr.md("reshape_position"));
      if (!pos) break;
      if (*pos == "none") {
        if (int e = write_attr(arr.md("level"), "raid5")) {
          say(dev + ": could not set level to raid5: " + errno_text(e));
        } else {
          say("level of " + dev + " changed to raid5");
          rc = 0;
        }
        break;
      }
      ::sleep(1);
    }
  } catch (const Failure& f) {
    say(f.what());
  }
  if (rc != 0) say(dev + ": the reshape did not finish: mdfsadm --grow " + dev + " --level=5 once it has");
  std::fflush(stderr);
  ::_exit(rc);
}

}  // namespace

int grow(const std::string& dev, const GrowOptions& o, const MountOptions& mopts) {
  ArrayRef arr = resolve_array(dev, mopts);
  auto level_text = read_attr(arr.md("level"));
  if (!level_text || level_text->empty()) fail(arr.dev() + " is not an active md array - aborting");
  const auto level = parse_level(*level_text);
  if (read_attr(arr.md("reshape_position")).value_or("none") != "none")
    fail(arr.dev() + " is in the middle of a reshape: wait for it (--wait) first");

  if (o.array_size) {
    const std::string v = *o.array_size == "max" ? "default" : *o.array_size;
    if (v != "default" && !parse_size(v)) usage("invalid array size: " + *o.array_size);
    const std::string kib = v == "default" ? v : std::to_string(*parse_size(v) / 2);
    if (int e = write_attr(arr.md("array_size"), kib)) fail("Cannot set array size for " + arr.dev() + ": " + errno_text(e));
    return 0;
  }
  if (o.size) {
    const std::string v = *o.size == "max" ? "max" : *o.size;
    if (v != "max" && !parse_size(v)) usage("invalid size: " + *o.size);
    // update_size: 0 asks for the largest size every member fits.
    const std::string kib = v == "max" ? "0" : std::to_string(*parse_size(v) / 2);
    if (int e = write_attr(arr.md("component_size"), kib))
      fail("Cannot set device size for " + arr.dev() + ": " + errno_text(e));
    return 0;
  }
  std::optional<int> to;
  if (o.level) {
    to = parse_level(*o.level);
    if (!to) usage("invalid raid level: " + *o.level);
    if (!level) fail(arr.dev() + ": unknown level " + *level_text);
  }
  // raid5 <-> raid6 may restripe: the array is frozen before members join
  // (mdadm's sysfs_freeze_array), so that no recovery takes them first.
  const bool parity_change = to && level && ((*level == 5 && *to == 6) || (*level == 6 && *to == 5));
  if (parity_change) write_attr(arr.md("sync_action"), "frozen");
  try {
    if (!o.add.empty()) {
      // Grow_Add_device: --add alone appends to a linear array; with a new
      // shape the members join as spares first (mdadm's devlist).
      const bool shape = o.raid_devices || o.chunk || o.layout || o.level;
      if (!shape && level != kLevelLinear) fail("can only add devices to linear arrays");
      for (const auto& member : o.add) add_member(arr, member, level == kLevelLinear && !shape);
      if (!shape) return 0;
    }
    if (parity_change) {
      grow_parity_level(arr, *level, *to, o);
      // A reshape started unfreezes the array; a takeover alone leaves
      // the new Q role to a recovery, which an unfrozen array starts.
      if (read_attr(arr.md("sync_action")).value_or("") == "frozen") write_attr(arr.md("sync_action"), "idle");
      return 0;
    }
  } catch (const Failure&) {
    if (parity_change) write_attr(arr.md("sync_action"), "idle");
    throw;
  }
  if (to) {
    if (*to != *level) {
      if (o.chunk || o.layout || o.raid_devices)
        fail("mdfsadm changes the level together with --chunk, --layout or --raid-devices between raid5 and "
             "raid6 only; other level changes go alone (a takeover)");
      return grow_level(arr, *level, *to, o.force);
    }
    if (!o.raid_devices && !o.chunk && !o.layout) {
      say(arr.dev() + ": no change requested");
      return 0;
    }
  }
  if (!o.raid_devices && !o.chunk && !o.layout)
    usage("--grow needs --raid-devices, --chunk, --layout, --level, --size, --array-size or --add");
  if (level == 1 && o.raid_devices && !o.chunk && !o.layout) return grow_mirrors(arr, *o.raid_devices, o.force);
  if (level == kLevelLinear) fail("Only --add is supported for LINEAR, other --grow options are not meaningful");
  if (!level || (!parity_level(*level) && *level != 10))
    fail(arr.dev() + ": mdfs reshapes raid4, raid5, raid6 and raid10 only (this is " + *level_text + ")");
  const int old_disks = static_cast<int>(number(arr, "raid_disks"));
  const uint64_t old_chunk = number(arr, "chunk_size") / 512;
  const int old_layout = static_cast<int>(number(arr, "layout"));
  Target t{old_disks, chunk_of(o, old_chunk), old_layout};
  if (o.raid_devices) {
    auto n = parse_num(*o.raid_devices);
    if (!n || *n < 1) usage("invalid number of raid devices: " + *o.raid_devices);
    t.disks = *n;
  }
  // Grow_reshape's layout words: normalise drops a raid6 layout's -6,
  // preserve keeps a raid6's layout; a raid6 in a -6 layout is reshaped
  // only with one of them or a layout named.
  const bool raid6 = *level == 6;
  if (o.layout && (*o.layout == "normalise" || *o.layout == "normalize")) {
    if (!raid6) fail(*o.layout + " is only meaningful when reshaping a RAID6 array.");
    const std::string name = raid6_layout_name(old_layout).value_or("");
    if (name.ends_with("-6")) t.layout = parse_layout(6, name.substr(0, name.size() - 2)).value_or(old_layout);
  } else if (o.layout && *o.layout == "preserve") {
    if (!raid6) fail(*o.layout + " is only meaningful when reshaping to RAID6");
  } else if (o.layout) {
    auto l = parse_layout(*level, *o.layout);
    if (!l) usage("layout " + *o.layout + " not understood for " + *level_text + ".");
    t.layout = *l;
  } else if (raid6 && old_layout >= 16) {
    fail(arr.dev() + " has a non-standard layout.  If you wish to preserve this\n"
         "       during the reshape, please specify --layout=preserve\n"
         "       If you want to change it, specify a layout or use --layout=normalise");
  }
  if (t.disks == old_disks && t.chunk == old_chunk && t.layout == old_layout) {
    say(arr.dev() + ": no change requested");
    return 0;
  }
  restripe(arr, *level, t, o);
  return 0;
}

}  // namespace mdfsadm
