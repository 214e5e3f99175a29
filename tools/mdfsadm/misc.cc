#include "mdfsadm/misc.h"

#include <fcntl.h>
#include <linux/major.h>
#include <linux/fs.h>
#include <linux/raid/md_p.h>
#include <linux/raid/md_u.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <list>

#include "format/bytes.h"
#include "mdfs/unique_fd.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/super_facts.h"

namespace mdfsadm {
namespace {

void out(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::string uuid_words(const FoundSuper& sb) {
  if (sb.sb1) return uuid_text(sb.uuid());
  std::string o;
  appendf(o, "%08x:%08x:%08x:%08x", sb.sb0->set_uuid[0], sb.sb0->set_uuid[1], sb.sb0->set_uuid[2],
          sb.sb0->set_uuid[3]);
  return o;
}

// brief_examine_super: the ARRAY line, ending in a newline.
std::string brief_line(const FoundSuper& sb, bool verbose) {
  const std::string level = level_name(sb.level()).value_or("");
  std::string o = "ARRAY ";
  if (sb.sb0) {
    appendf(o, "/dev/md%u", sb.sb0->md_minor);
    if (verbose) o += " level=" + (level.empty() ? std::string("-unknown-") : level) + " num-devices=" +
                      std::to_string(sb.sb0->raid_disks);
    return o + " UUID=" + uuid_words(sb) + "\n";
  }
  const std::string name = sb.name();
  const std::string nm = name.find(':') != std::string::npos ? name.substr(name.find(':') + 1) : name;
  if (!nm.empty()) o += "/dev/md/" + escaped(nm) + " ";
  if (verbose && !level.empty()) o += " level=" + level;
  const uint64_t at = sb.sb1->super_offset;
  o += at <= 4 ? " metadata=1.1 " : at <= 8 ? " metadata=1.2 " : " metadata=1.0 ";
  if (verbose) o += "num-devices=" + std::to_string(sb.sb1->raid_disks) + " ";
  o += "UUID=" + uuid_words(sb);
  if (!name.empty()) o += " name=" + quoted(name);
  return o + "\n";
}

// export_examine_super.
std::string export_lines(const FoundSuper& sb) {
  std::string o;
  const std::string level = level_name(sb.level()).value_or("(null)");
  if (sb.sb0) {
    const auto& s = *sb.sb0;
    o += "MD_LEVEL=" + level + "\n";
    appendf(o, "MD_DEVICES=%u\n", s.raid_disks);
    o += "MD_UUID=" + uuid_words(sb) + "\n";
    // As mdadm: 0.90's "update time" is its creation time.
    appendf(o, "MD_UPDATE_TIME=%u\n", s.ctime);
    appendf(o, "MD_EVENTS=%llu\n", static_cast<unsigned long long>(s.events));
    return o;
  }
  const auto& s = *sb.sb1;
  o += "MD_LEVEL=" + level + "\n";
  appendf(o, "MD_DEVICES=%u\n", s.raid_disks);
  std::string name = s.set_name.substr(0, std::min<std::size_t>(32, s.set_name.find_first_of(std::string("\n\0", 2))));
  if (!name.empty()) o += "MD_NAME=" + name + "\n";
  if (s.level > 0) {
    if (long long bytes = sb_array_bytes(sb)) o += "MD_ARRAY_SIZE=" + human_size_brief(bytes, false) + "\n";
  }
  o += "MD_UUID=" + uuid_text(s.set_uuid) + "\n";
  appendf(o, "MD_UPDATE_TIME=%llu\n", static_cast<unsigned long long>(s.utime & 0xFFFFFFFFFFULL));
  o += "MD_DEV_UUID=" + uuid_text(s.device_uuid) + "\n";
  appendf(o, "MD_EVENTS=%llu\n", static_cast<unsigned long long>(s.events));
  return o;
}

bool real_dir_of(const std::string& path, std::string* dir, std::string* name) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return false;
  std::string p = buf;
  *dir = p.substr(0, p.rfind('/'));
  *name = p.substr(p.rfind('/') + 1);
  return true;
}

// The mount and array that use a file of some mount's SOURCE.
struct Use {
  Mount mount;
  std::string array;
  int desc_nr = -1;
};
std::optional<Use> used_by(const std::string& path, const MountOptions& mopts) {
  std::string dir, name;
  if (!real_dir_of(path, &dir, &name)) return std::nullopt;
  for (const auto& [point, source] : mdfs_mounts()) {
    Mount m;
    try {
      m = mount_at(point, mopts);
    } catch (const Failure&) {
      continue;
    }
    if (m.source != dir) continue;
    for (const auto& e : read_mdstat(m))
      for (const auto& mem : e.members)
        if (mem.name == name) return Use{m, e.name, mem.desc_nr};
  }
  return std::nullopt;
}

}  // namespace

int examine_mode(const std::vector<std::string>& files, const ExamineOptions& opts) {
  struct Group {
    FoundSuper sb;
    std::vector<std::string> devices;
    int spares = 0;
  };
  std::list<Group> groups;  // newest first, as mdadm's list of arrays
  int rv = 0;
  for (const auto& file : files) {
    int error = 0;
    std::string rejected;
    auto sb = find_super(file, &error, &rejected, opts.swapped0);
    if (!sb) {
      if (error) {
        if (!opts.scan) {
          say("cannot open " + file + ": " + errno_text(error));
          rv = 1;
        }
      } else if (!rejected.empty()) {
        // Out of bounds for mdfs: not printed (its counts may be hostile),
        // the reason instead, as mdfs gives it at mount.
        say("the md superblock on " + file + " is refused: " + rejected);
        rv = 1;
      } else if (!opts.brief) {
        say("No md superblock detected on " + file + ".");
        rv = 1;
      }
      continue;
    }
    if (opts.brief) {
      auto g = std::find_if(groups.begin(), groups.end(),
                            [&](const Group& x) { return x.sb.uuid() == sb->uuid() && !x.sb.sb0 == !sb->sb0; });
      if (g == groups.end()) {
        groups.push_front({*sb, {}, 0});
        g = groups.begin();
      }
      if (!sb_in_sync(*sb) && sb_role(*sb) < 0) ++g->spares;
      g->devices.push_back(file);
    } else if (opts.export_vars) {
      out(export_lines(*sb));
    } else {
      out(file + ":\n" + examine_text(*sb, opts.homehost));
    }
  }
  for (const auto& g : groups) {
    std::string o = brief_line(g.sb, opts.verbose > 0);
    if (g.spares) appendf(o, "   spares=%d", g.spares);
    if (opts.verbose > 0) {
      o += "   devices";
      char sep = '=';
      for (const auto& d : g.devices) {
        o += sep + d;
        sep = ',';
      }
    }
    if (g.spares || opts.verbose > 0) o += "\n";
    out(o);
  }
  return rv;
}

int examine_badblocks(const std::string& file, bool brief) {
  int error = 0;
  std::string rejected;
  auto found = find_super(file, &error, &rejected);
  if (!found) {
    if (error) say("cannot open " + file + ": " + errno_text(error));
    else if (!rejected.empty()) say("the md superblock on " + file + " is refused: " + rejected);
    else if (!brief) say("No md superblock detected on " + file);
    return 1;
  }
  if (!found->sb1) {
    say(found->version() + " metadata does not support badblocks");
    return 1;
  }
  const mdfs::format::Superblock1& sb = *found->sb1;
  // mdadm takes a log of more than 100 sectors for none.
  if (sb.bblog_size == 0 || sb.bblog_size > 100 || sb.bblog_offset == 0) {
    out("No bad-blocks list configured on " + file + "\n");
    return 0;
  }
  if (!(sb.feature_map & MD_FEATURE_BAD_BLOCKS)) {
    out("Bad-blocks list is empty in " + file + "\n");
    return 0;
  }
  const std::size_t size = std::size_t{sb.bblog_size} * 512;
  std::vector<std::byte> log(size);
  const int64_t at = (static_cast<int64_t>(sb.super_offset) + sb.bblog_offset) * 512;
  mdfs::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || at < 0 || ::pread(fd.get(), log.data(), size, at) != static_cast<ssize_t>(size)) {
    say("Cannot read bad-blocks list");
    return 1;
  }
  // Each 64-bit entry: the block count in the low 10 bits, the block in
  // the 54 above; blocks are 1 << bblog_shift sectors; all ones ends it.
  std::string text = "Bad-blocks on " + file + ":\n";
  for (std::size_t i = 0; i + 8 <= size; i += 8) {
    const uint64_t word = mdfs::format::bytes::load<uint64_t>(std::span<const std::byte>(log), i);
    if (word == ~uint64_t{0}) break;
    char line[64];
    std::snprintf(line, sizeof line, "%20llu for %d sectors\n",
                  static_cast<unsigned long long>((word >> 10) << sb.bblog_shift),
                  static_cast<int>((word & 0x3ff) << sb.bblog_shift));
    text += line;
  }
  out(text);
  return 0;
}

std::vector<std::string> scan_files(const Config& config, const MountOptions& mopts) {
  if (!config.device_words.empty()) return config_device_paths(config);
  std::vector<Mount> mounts;
  if (!mopts.mount.empty()) {
    mounts.push_back(find_mount(mopts));
  } else {
    for (const auto& [point, source] : mdfs_mounts()) {
      try {
        mounts.push_back(mount_at(point, mopts));
      } catch (const Failure&) {
      }
    }
  }
  std::vector<std::string> files;
  for (const auto& m : mounts)
    for (const auto& f : source_files(m)) files.push_back(m.member_path(f));
  return files;
}

int query(const std::string& name, const MountOptions& mopts) {
  // An array (MNT/dev/NAME, or a bare array name with a mount), else a file.
  std::string path = name;
  std::optional<ArrayRef> arr;
  try {
    if (name.find('/') == std::string::npos ? is_array_name(name) : true) arr = resolve_array(name, mopts);
  } catch (const Failure&) {
  }
  if (arr) path = arr->dev();
  mdfs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    say("cannot open " + name + ": " + errno_text(errno));
    return 1;
  }
  mdu_array_info_t a{};
  int ioctl_error = 0;
  if (!arr || ::ioctl(fd.get(), GET_ARRAY_INFO, &a) != 0) ioctl_error = arr ? errno : ENOTTY;
  std::string o;
  if (ioctl_error == ENODEV) {
    o = name + ": is an md device which is not active\n";
  } else if (ioctl_error && !arr) {
    o = name + ": is not an md array\n";
  } else if (ioctl_error) {
    o = name + ": is an md device, but gives \"" + errno_text(ioctl_error) + "\" when queried\n";
  } else {
    uint64_t bytes = 0;
    if (::ioctl(fd.get(), BLKGETSIZE64, &bytes) != 0) bytes = 0;
    appendf(o, "%s: %s %s %d devices, %d spare%s. Use mdadm --detail for more detail.\n", name.c_str(),
            human_size_brief(static_cast<long long>(bytes), true).c_str(),
            level_name(a.level).value_or("(null)").c_str(), a.raid_disks, a.spare_disks,
            a.spare_disks == 1 ? "" : "s");
  }
  fd = mdfs::UniqueFd();
  int error = 0;
  if (auto sb = find_super(path, &error)) {
    std::string activity = "inactive", mddev = "array";
    if (auto use = used_by(path, mopts)) {
      mddev = use->mount.dev(use->array);
      auto state = read_attr(use->mount.md(use->array, "array_state"));
      activity = state && *state != "inactive" && *state != "clear" ? "active" : "undetected";
    }
    appendf(o, "%s: device %d in %d device %s %s %s.  Use mdadm --examine for more detail.\n", name.c_str(),
            sb_dev_number(*sb), sb_raid_disks(*sb), activity.c_str(), level_name(sb->level()).value_or("(null)").c_str(),
            mddev.c_str());
  }
  out(o);
  return 0;
}

std::optional<std::string> member_in_use(const std::string& path) {
  if (auto use = used_by(path, {})) return use->mount.dev(use->array);
  return std::nullopt;
}

int zero_superblock(const std::string& file, bool force, int verbose) {
  (void)force;  // mdadm's --force skips O_EXCL; a member in use is never zeroed here
  if (auto use = used_by(file, {})) {
    if (verbose >= 0)
      say("Couldn't open " + file + " for write - not zeroing (a member of " + use->mount.dev(use->array) + ")");
    return 2;
  }
  int rv = 0;
  for (int round = 0;; ++round) {
    mdfs::UniqueFd fd(::open(file.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) {
      if (verbose >= 0 && round == 0) say("Couldn't open " + file + " for write - not zeroing");
      return round == 0 ? 2 : rv;
    }
    int error = 0;
    auto sb = find_super(file, &error);
    if (!sb) {
      // mdadm: the first Kill that finds nothing says so; its status 4 is
      // then masked out, so the exit status is 0.
      if (round == 0 && verbose >= 0) say("Unrecognised md component device - " + file);
      return rv;
    }
    // store_super after init_super(NULL): a zeroed superblock where this
    // one was, 512 bytes for 1.x (its header rounded up), 4 KiB for 0.90.
    uint64_t at = 0;
    std::size_t len = 0;
    if (sb->sb1) {
      at = sb->sb1->super_offset * 512;
      len = 512;
    } else {
      at = (sb->device_sectors & ~uint64_t{127}) * 512 - 64 * 1024;
      len = 4096;
    }
    std::vector<char> zeros(len, 0);
    if (::pwrite(fd.get(), zeros.data(), len, static_cast<off_t>(at)) != static_cast<ssize_t>(len) ||
        ::fsync(fd.get()) != 0) {
      if (verbose >= 0) say("Could not zero superblock on " + file);
      return 1;
    }
  }
}

int wait_clean(const std::string& dev, const MountOptions& mopts, int verbose) {
  ArrayRef arr = resolve_array(dev, mopts);
  if (!read_attr(arr.md("array_state"))) {
    if (verbose) say("Couldn't open " + arr.dev() + ": " + errno_text(ENOENT));
    return 2;
  }
  // Native metadata: the kernel (here mdfs) writes the clean state itself
  // after safe_mode_delay; mdadm's WaitClean has nothing to wait for.
  return 0;
}

int wait_clean_scan(const MountOptions& mopts, int verbose) {
  int rv = 0;
  for (const auto& [point, source] : mdfs_mounts()) {
    if (!mopts.mount.empty()) {
      char buf[PATH_MAX];
      if (!::realpath(mopts.mount.c_str(), buf) || point != buf) continue;
    }
    Mount m;
    try {
      m = mount_at(point, mopts);
    } catch (const Failure&) {
      continue;
    }
    for (const auto& e : read_mdstat(m)) rv |= wait_clean(m.dev(e.name), mopts, verbose);
  }
  return rv;
}

}  // namespace mdfsadm
