// --grow: mdadm's Grow.c for what mdfs reshapes, as the attribute writes
// mdadm makes against the kernel. For raid4/5/6 member count, chunk and
// layout changes mdadm 4.2 (v1 metadata) moves each member's data offset
// by the reshape's smallest unit (new_offset) so that the kernel never
// writes where unmoved data lies, then sets chunk_size, layout and
// raid_disks and writes "reshape" to sync_action. raid10 (raid10_reshape)
// the same, always moving the data offset, by the larger of the old and
// new chunk times the offset copies: the kernel needs no backup for it.
#include "mdfsadm/grow.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

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
  if (!o.add.empty()) {
    // Grow_Add_device: --add alone appends to a linear array; with a new
    // shape the members join as spares first (mdadm's devlist).
    const bool shape = o.raid_devices || o.chunk || o.layout || o.level;
    if (!shape && level != kLevelLinear) fail("can only add devices to linear arrays");
    for (const auto& member : o.add) add_member(arr, member, level == kLevelLinear && !shape);
    if (!shape) return 0;
  }
  if (o.level) {
    auto to = parse_level(*o.level);
    if (!to) usage("invalid raid level: " + *o.level);
    if (!level) fail(arr.dev() + ": unknown level " + *level_text);
    if (*to != *level) {
      if (o.chunk || o.layout || o.raid_devices)
        fail("mdfsadm changes the level alone (a takeover); --chunk, --layout and --raid-devices in a second --grow");
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
  const bool raid10 = *level == 10;

  const int old_disks = static_cast<int>(number(arr, "raid_disks"));
  const uint64_t old_chunk = number(arr, "chunk_size") / 512;
  const int old_layout = static_cast<int>(number(arr, "layout"));
  const uint64_t component = number(arr, "component_size") * 2;
  int new_disks = old_disks;
  if (o.raid_devices) {
    auto n = parse_num(*o.raid_devices);
    if (!n || *n < 1) usage("invalid number of raid devices: " + *o.raid_devices);
    new_disks = *n;
  }
  uint64_t new_chunk = old_chunk;
  if (o.chunk) {
    auto c = parse_size(*o.chunk);
    if (!c || *c < 8 || (*c & (*c - 1))) usage("invalid chunk/rounding value: " + *o.chunk);
    new_chunk = *c;
  }
  int new_layout = old_layout;
  if (o.layout) {
    auto l = parse_layout(*level, *o.layout);
    if (!l) usage("layout " + *o.layout + " not understood for " + *level_text + ".");
    new_layout = *l;
  }
  if (new_disks == old_disks && new_chunk == old_chunk && new_layout == old_layout) {
    say(arr.dev() + ": no change requested");
    return 0;
  }
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
  const int parity = *level == 6 ? 2 : 1;
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
  return 0;
}

}  // namespace mdfsadm
