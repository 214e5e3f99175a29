// --create and --build: the sysfs writes mdadm makes to set up a new array,
// made against the mount.
#include <fcntl.h>
#include <linux/major.h>
#include <linux/raid/md_u.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <set>

#include "mdfs/unique_fd.h"
#include "mdfsadm/bitmap.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/manage.h"
#include "mdfsadm/misc.h"
#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/zero.h"

namespace mdfsadm {
namespace {

bool has_chunk(int level) { return level == 0 || level == 4 || level == 5 || level == 6 || level == 10; }

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

// The member files, resolved in SOURCE; "missing" stays empty. With
// `old`, the files that hold a superblock already are listed there with it.
std::vector<std::string> member_names(const ArrayRef& arr, const std::vector<std::string>& members,
                                      std::vector<std::pair<std::string, FoundSuper>>* old = nullptr) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  const auto running = read_mdstat(arr.mount);
  for (const auto& m : members) {
    if (m == "missing") {
      names.emplace_back();
      continue;
    }
    std::string name = resolve_member(arr.mount, m);
    if (!seen.insert(name).second) fail(arr.mount.member_path(name) + " is listed twice");
    // mdadm opens each member exclusively: one in use cannot be.
    for (const auto& e : running)
      for (const auto& mem : e.members)
        if (mem.name == name)
          fail("cannot open " + arr.mount.member_path(name) + ": Device or resource busy (a member of " +
               arr.mount.dev(e.name) + ")");
    int error = 0;
    if (old)
      if (auto found = find_super(arr.mount.member_path(name), &error)) old->emplace_back(name, std::move(*found));
    names.push_back(name);
  }
  return names;
}

// mdadm's ask(): a line from stdin, y or n (five tries); end of input is no.
bool ask(const std::string& question) {
  for (int tries = 0; tries < 5; ++tries) {
    std::fprintf(stderr, "%s", question.c_str());
    std::fflush(stderr);
    char line[64];
    if (!std::fgets(line, sizeof line, stdin)) return false;
    if (line[0] == 'y' || line[0] == 'Y') return true;
    if (line[0] == 'n' || line[0] == 'N') return false;
    say("assuming 'no'");  // mdadm keeps asking; after five it says no
  }
  return false;
}

// As mdadm's Create with members that were part of an array: each is named
// with what its superblock says, then mdadm asks to continue unless --run.
// Continuing, mdfsadm clears those superblocks (clear_old_superblocks,
// once the new array exists) so that the start creates the array afresh
// (mdadm overwrites them with the new ones).
bool confirm_old_superblocks(const ArrayRef& arr, const std::vector<std::pair<std::string, FoundSuper>>& old,
                             const CreateOptions& opts) {
  if (old.empty()) return true;
  for (const auto& [name, sb] : old) {
    const FoundSuper* found = &sb;
    const int raid_disks = found->sb1 ? static_cast<int>(found->sb1->raid_disks) : found->sb0->raid_disks;
    const std::time_t when = found->ctime();
    char ctime_text[64] = "?";
    std::strftime(ctime_text, sizeof ctime_text, "%a %b %e %H:%M:%S %Y", std::localtime(&when));
    say(arr.mount.member_path(name) + " appears to be part of a raid array:\n       level=" +
        level_name(found->level()).value_or(std::to_string(found->level())) + " devices=" + std::to_string(raid_disks) +
        " ctime=" + ctime_text);
  }
  if (!opts.run) {
    if (!ask("Continue creating array? ")) {
      say("create aborted.");
      return false;
    }
  } else if (opts.verbose > 0) {
    say("creation continuing despite oddities due to --run");
  }
  return true;
}

void clear_old_superblocks(const ArrayRef& arr, const std::vector<std::pair<std::string, FoundSuper>>& old) {
  for (const auto& [name, sb] : old)
    if (zero_superblock(arr.mount.member_path(name), false, 0) != 0)
      fail("cannot clear the old superblock of " + arr.mount.member_path(name));
}

// Members are added in slot order; `rebuilt` (if not -1) is the slot
// whose member is recovered after the start instead of taken as it is.
void add_members(const ArrayRef& arr, const std::vector<std::string>& given, const std::vector<std::string>& names,
                 int raid_disks, const CreateOptions& opts, std::optional<uint64_t> data_offset, int rebuilt = -1) {
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) continue;
    if (int e = write_attr(arr.md("new_dev"), names[i]))
      fail("cannot add " + arr.mount.member_path(names[i]) + " to " + arr.dev() + ": " + errno_text(e));
    const std::string dir = "dev-" + names[i] + "/";
    if (data_offset) write_attr_or_fail(arr.md(dir + "offset"), std::to_string(*data_offset));
    // Members past raid_disks are spares (slot none), not free roles.
    write_attr_or_fail(arr.md(dir + "slot"), static_cast<int>(i) < raid_disks ? std::to_string(i) : "none");
    if (static_cast<int>(i) == rebuilt) write_attr_or_fail(arr.md(dir + "recovery_start"), "0");
    if (opts.write_mostly.count(given[i])) write_attr_or_fail(arr.md(dir + "state"), "writemostly");
    if (opts.failfast.count(given[i])) write_attr_or_fail(arr.md(dir + "state"), "failfast");
  }
}

// How a new array is made consistent, as mdadm's Create decides: a raid4/5
// with every member present has its last member rebuilt (recovery is
// faster than a resync); a raid6 missing one member has another rebuilt;
// raid1, raid10, a whole raid6 and a raid4/5 given --force are resynced;
// --assume-clean, striping without redundancy and parity arrays missing
// members start clean.
struct CreateSync {
  bool clean = false;
  int rebuilt = -1;
};

CreateSync create_sync(int level, int raid_disks, const std::vector<std::string>& names, const CreateOptions& opts) {
  int first_missing = raid_disks, second_missing = raid_disks;
  for (int i = 0; i < raid_disks && i < static_cast<int>(names.size()); ++i) {
    if (!names[static_cast<size_t>(i)].empty()) continue;
    if (first_missing == raid_disks) first_missing = i;
    else if (second_missing == raid_disks) second_missing = i;
  }
  CreateSync sync;
  if (!opts.assume_clean && !opts.force) {
    if ((level == 4 || level == 5) && first_missing == raid_disks) sync.rebuilt = raid_disks - 1;
    if (level == 6 && first_missing < raid_disks && second_missing == raid_disks)
      sync.rebuilt = first_missing == raid_disks - 1 ? raid_disks - 2 : raid_disks - 1;
  }
  const bool parity_missing = ((level == 4 || level == 5) && (sync.rebuilt >= 0 || first_missing < raid_disks)) ||
                              (level == 6 && (sync.rebuilt >= 0 || second_missing < raid_disks));
  sync.clean = opts.assume_clean || parity_missing || level <= 0;
  return sync;
}

// --size: KiB of each member ("max": all of it), as component_size takes it.
std::optional<uint64_t> component_kib(const CreateOptions& opts) {
  if (!opts.size || *opts.size == "max") return std::nullopt;
  auto sectors = parse_size(*opts.size);
  if (!sectors || *sectors < 8) usage("invalid size: " + *opts.size);
  return *sectors / 2;
}

// A whole number as an attribute shows it.
std::optional<uint64_t> attr_number(const std::optional<std::string>& text) {
  uint64_t n = 0;
  if (!text || text->empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return n;
}

// --write-zeroes: each member's data area, where mdfs has placed it
// (dev-*/offset, dev-*/size; --size shortens it), zeroed before the start,
// as mdadm zeroes before it writes the superblocks. The superblock and
// bitmap areas lie outside it; mdfs writes them when the array starts.
void zero_members(const ArrayRef& arr, const std::vector<std::string>& names, std::optional<uint64_t> size_kib) {
  ZeroingInterrupts interrupts;
  for (const auto& name : names) {
    if (name.empty()) continue;
    const std::string dir = "dev-" + name + "/";
    const auto offset_sectors = attr_number(read_attr(arr.md(dir + "offset")));
    auto kib = attr_number(read_attr(arr.md(dir + "size")));
    if (!offset_sectors || !kib) fail("cannot find the data area of " + arr.mount.member_path(name));
    if (size_kib) kib = std::min(*kib, *size_kib);
    ZeroRange r{arr.mount.member_path(name), *offset_sectors * 512, *kib * 1024};
    struct stat st;
    if (::stat(r.file.c_str(), &st) != 0) fail("zeroing " + r.file + " failed: " + errno_text(errno));
    const uint64_t file_bytes = static_cast<uint64_t>(st.st_size);
    r.length = r.offset >= file_bytes ? 0 : std::min(r.length, file_bytes - r.offset);
    // mdadm's line, on standard output; mdadm prints the length where this
    // says the end.
    std::printf("mdfsadm: zeroing data from %llu to %llu on: %s\n", static_cast<unsigned long long>(r.offset),
                static_cast<unsigned long long>(r.offset + r.length), r.file.c_str());
    std::fflush(stdout);
    zero_data(r);
  }
  std::printf("mdfsadm: zeroing finished\n");
  std::fflush(stdout);
}

// The 1.x superblock name mdadm 4.2 writes (Create, init_super1): --name,
// else the array's own name (md0 gives "0", md_data "data"); with a
// homehost and no ':' in it, "homehost:name" when that fits in 31 bytes,
// else the name alone, cut at 31 bytes. mdfs writes the superblocks, so
// mdfsadm tells it through the array's set_name.
std::string superblock_name(const ArrayRef& arr, const CreateOptions& opts) {
  std::string name = opts.name;
  if (name.empty()) name = arr.name.starts_with("md_") ? arr.name.substr(3) : arr.name.substr(2);
  if (!opts.homehost.empty() && name.find(':') == std::string::npos && opts.homehost.size() + 1 + name.size() < 32)
    return opts.homehost + ":" + name;
  return name.substr(0, 31);
}

}  // namespace

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

void clear_array(const ArrayRef& arr) { (void)write_attr(arr.md("array_state"), "clear"); }

void report_started(const ArrayRef& arr) {
  mdfs::UniqueFd fd(::open(arr.dev().c_str(), O_RDONLY | O_CLOEXEC));
  mdu_array_info_t a{};
  if (fd.get() < 0 || ::ioctl(fd.get(), GET_ARRAY_INFO, &a) != 0) {
    say(arr.dev() + " has been started.");
    return;
  }
  std::string msg = arr.dev() + " has been started with " + plural(a.active_disks, "drive");
  if (a.active_disks < a.raid_disks) msg += " (out of " + std::to_string(a.raid_disks) + ")";
  if (a.spare_disks) msg += " and " + plural(a.spare_disks, "spare");
  say(msg + ".");
}

int create(const std::string& dev, const std::vector<std::string>& members, const CreateOptions& opts,
           const MountOptions& mopts) {
  if (opts.level.empty()) fail("a RAID level is needed to create an array.");
  auto level = parse_level(opts.level);
  if (!level) usage("invalid raid level: " + opts.level);
  // mdadm.c checks these before Create looks at the members.
  if (opts.write_behind && *opts.write_behind && !opts.bitmap) fail("write-behind mode requires a bitmap.");
  if (!opts.raid_devices) fail("no raid-devices specified.");
  auto n = parse_num(*opts.raid_devices);
  if (!n || *n < 1) usage("invalid number of raid devices: " + *opts.raid_devices);
  int spares = 0;
  if (opts.spare_devices) {
    auto x = parse_num(*opts.spare_devices);
    if (!x) usage("invalid number of spare-devices: " + *opts.spare_devices);
    spares = *x;
  }
  uint64_t chunk_sectors = 0;
  if (opts.chunk) {
    auto c = parse_size(*opts.chunk);
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
  auto metadata = native_metadata(opts.metadata);
  if (!metadata) usage("unrecognised metadata identifier: " + opts.metadata);
  if (*metadata == "0.90" && *level == 0 && opts.layout) fail("0.90 metadata does not support layouts for RAID0");
  if (*level == 10 && layout && (*layout & 255) * ((*layout >> 8) & 255) > *n)
    fail("that layout requires at least " + std::to_string((*layout & 255) * ((*layout >> 8) & 255)) + " devices");
  if (*n == 1 && *level != kLevelFaulty && !opts.force)
    usage("'1' is an unusual number of drives for an array, so it is probably a mistake: give --force");
  const auto size_kib = component_kib(opts);
  std::optional<uint64_t> data_offset;
  if (opts.data_offset) {
    data_offset = parse_size(*opts.data_offset);
    if (!data_offset) usage("invalid data-offset: " + *opts.data_offset);
    if (*metadata == "0.90") fail("data-offset not support for 0.90");
  }
  if (static_cast<int>(members.size()) > *n + spares)
    fail("You have listed more devices (" + std::to_string(members.size()) + ") than are in the array(" +
         std::to_string(*n + spares) + ")!");
  if (static_cast<int>(members.size()) < *n + spares)
    fail("You haven't given enough devices (real or missing) to create this array");

  ArrayRef arr = resolve_array(dev, mopts);
  const std::string set_name = *metadata == "0.90" ? std::string() : superblock_name(arr, opts);
  std::vector<std::pair<std::string, FoundSuper>> old;
  const auto names = member_names(arr, members, &old);
  if (!confirm_old_superblocks(arr, old, opts)) return 1;
  // The bitmap mdadm would give the array (mdfsadm/bitmap.h), sized on the
  // smallest member, or on --size.
  uint64_t member_sectors = size_kib ? *size_kib * 2 : 0;
  for (const auto& name : names) {
    struct stat st;
    if (size_kib || name.empty() || ::stat(arr.mount.member_path(name).c_str(), &st) != 0) continue;
    const uint64_t sectors = static_cast<uint64_t>(st.st_size) / 512;
    member_sectors = member_sectors ? std::min(member_sectors, sectors) : sectors;
  }
  const CreateBitmap bitmap =
      create_bitmap({opts.bitmap, opts.bitmap_chunk, opts.write_behind}, *level, *metadata, member_sectors);

  const CreateSync sync = create_sync(*level, *n, names, opts);
  new_array(arr);
  building(arr, [&] {
    clear_old_superblocks(arr, old);
    write_attr_or_fail(arr.md("metadata_version"), *metadata);
    if (!set_name.empty()) write_attr_or_fail(arr.md("set_name"), set_name);
    write_attr_or_fail(arr.md("level"), level_name(*level).value_or(opts.level));
    write_attr_or_fail(arr.md("raid_disks"), std::to_string(*n));
    if (chunk_sectors) write_attr_or_fail(arr.md("chunk_size"), std::to_string(chunk_sectors * 512));
    if (layout) write_attr_or_fail(arr.md("layout"), std::to_string(*layout));
    if (size_kib) write_attr_or_fail(arr.md("component_size"), std::to_string(*size_kib));
    add_members(arr, members, names, *n, opts, data_offset, sync.rebuilt);
    // mdadm writes the bitmap with the superblocks; mdfs writes it when
    // the array starts, where bitmap/location says.
    if (bitmap.chunk) write_attr_or_fail(arr.md("bitmap/chunksize"), std::to_string(bitmap.chunk));
    if (bitmap.write_behind) write_attr_or_fail(arr.md("bitmap/backlog"), std::to_string(bitmap.write_behind));
    if (!bitmap.location.empty()) write_attr_or_fail(arr.md("bitmap/location"), bitmap.location);
    if (opts.write_zeroes) zero_members(arr, names, size_kib);
    if (sync.clean) write_attr_or_fail(arr.md("resync_start"), "none");
    start(arr, opts.readonly);
  });
  if (opts.verbose >= 0) say("array " + arr.dev() + " started.");
  return 0;
}

int build(const std::string& dev, const std::vector<std::string>& members, const CreateOptions& opts,
          const MountOptions& mopts) {
  if (opts.level.empty()) fail("a RAID level is needed to Build an array.");
  auto level = parse_level(opts.level);
  if (!level) usage("invalid raid level: " + opts.level);
  if (*level != 0 && *level != kLevelLinear && *level != 1 && *level != 10)
    usage("Raid level " + opts.level + " not permitted with --build.");
  if (!opts.raid_devices) fail("no raid-devices specified.");
  auto n = parse_num(*opts.raid_devices);
  if (!n || *n < 1) usage("invalid number of raid devices: " + *opts.raid_devices);
  if (*n == 1 && !opts.force)
    usage("'1' is an unusual number of drives for an array, so it is probably a mistake: give --force");
  if (static_cast<int>(members.size()) != *n)
    fail("requested " + std::to_string(*n) + " devices in array but listed " + std::to_string(members.size()));
  // Build.c: linear and raid0 default to a 64 KiB chunk; raid10 to n2.
  uint64_t chunk_sectors = *level == 0 || *level == kLevelLinear || *level == 10 ? 128 : 0;
  if (opts.chunk) {
    auto c = parse_size(*opts.chunk);
    if (!c || *c < 8 || (*c & 1)) usage("invalid chunk/rounding value: " + *opts.chunk);
    chunk_sectors = *c;
  }
  int layout = *level == 10 ? 0x102 : 0;
  if (opts.layout) {
    if (*level != 10) usage("layout not meaningful for " + level_name(*level).value_or("this") + " arrays.");
    auto l = parse_layout(*level, *opts.layout);
    if (!l) usage("layout for raid10 must be 'nNN', 'oNN' or 'fNN' where NN is a number, not " + *opts.layout);
    layout = *l;
  }
  const auto size_kib = component_kib(opts);
  ArrayRef arr = resolve_array(dev, mopts);
  const auto names = member_names(arr, members);
  new_array(arr);
  building(arr, [&] {
    write_attr_or_fail(arr.md("metadata_version"), "none");
    write_attr_or_fail(arr.md("level"), level_name(*level).value_or(opts.level));
    write_attr_or_fail(arr.md("raid_disks"), std::to_string(*n));
    if (chunk_sectors) write_attr_or_fail(arr.md("chunk_size"), std::to_string(chunk_sectors * 512));
    write_attr_or_fail(arr.md("layout"), std::to_string(layout));
    if (size_kib) write_attr_or_fail(arr.md("component_size"), std::to_string(*size_kib));
    add_members(arr, members, names, *n, opts, std::nullopt);
    // As mdadm's Build: a mirror is resynced unless --assume-clean.
    if (opts.assume_clean) write_attr_or_fail(arr.md("resync_start"), "none");
    start(arr, opts.readonly);
  });
  if (opts.verbose >= 0) say("array " + arr.dev() + " built and started.");
  return 0;
}

}  // namespace mdfsadm
