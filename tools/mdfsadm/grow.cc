// --grow: mdadm's Grow.c for what mdfs reshapes, as the attribute writes
// mdadm makes against the kernel. For raid4/5/6 member count, chunk and
// layout changes mdadm 4.2 (v1 metadata) moves each member's data offset
// by the reshape's smallest unit (new_offset) so that the kernel never
// writes where unmoved data lies, then sets chunk_size, layout and
// raid_disks and writes "reshape" to sync_action.
#include "mdfsadm/grow.h"

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
  if (o.level) fail("level changes (takeovers) are not supported by mdfsadm --grow yet");
  if (!o.raid_devices && !o.chunk && !o.layout) usage("--grow needs --raid-devices, --chunk, --layout, --size or --array-size");
  if (!level || !parity_level(*level))
    fail(arr.dev() + ": mdfs reshapes raid4, raid5 and raid6 only (this is " + *level_text + ")");

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
  const int parity = *level == 6 ? 2 : 1;
  const int delta = new_disks - old_disks;
  const uint64_t old_dd = static_cast<uint64_t>(old_disks - parity);
  const uint64_t new_dd = static_cast<uint64_t>(new_disks - parity);
  if (new_disks - parity < 1) fail("cannot reduce " + arr.dev() + " to " + std::to_string(new_disks) + " devices");
  // A smaller array must be truncated first (mdadm: --array-size).
  const uint64_t new_size = component / new_chunk * new_chunk * new_dd;
  const auto array_kib = read_attr(arr.md("array_size")).value_or("default");
  const uint64_t size_now = array_kib == "default" ? component / old_chunk * old_chunk * old_dd
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
  const uint64_t a = old_chunk * old_dd, b = new_chunk * new_dd;
  const uint64_t min = a / std::gcd(a, b) * b / old_dd;
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
