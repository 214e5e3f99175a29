#include "mdfsadm/detail.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/major.h>
#include <linux/raid/md_u.h>
#include <linux/raid/md_p.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <map>
#include <optional>

#include "mdfs/unique_fd.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/super_facts.h"

namespace mdfsadm {
namespace {



// The superblock of the first active member whose creation time and level
// match the array's, as Detail() loads one.
std::optional<FoundSuper> member_super(const Mount& mount, const std::vector<mdu_disk_info_t>& disks,
                                       const std::map<int, std::string>& names, const mdu_array_info_t* array) {
  for (const auto& d : disks) {
    if (!(d.state & (1 << MD_DISK_ACTIVE))) continue;
    auto it = names.find(d.minor);
    if (it == names.end()) continue;
    int error = 0;
    auto found = find_super(mount.member_path(it->second), &error);
    if (!found) continue;
    if (array && (found->ctime() != array->ctime || found->level() != array->level)) continue;
    return found;
  }
  return std::nullopt;
}

std::string detail_super_text(const FoundSuper& sb, const std::string& homehost) {
  std::string o;
  if (sb.sb1) {
    const std::string name = sb.name();
    std::string local;
    const std::size_t l = homehost.size();
    if (l > 0 && l < 32 && name.size() > l && name[l] == ':' && name.compare(0, l, homehost) == 0)
      local = "  (local to host " + homehost + ")";
    appendf(o, "              Name : %s%s\n", name.c_str(), local.c_str());
    if (sb.bitmap_nodes > 0 && (sb.sb1->feature_map & MD_FEATURE_BITMAP_OFFSET))
      appendf(o, "      Cluster Name : %-64s\n", sb.bitmap_cluster_name.c_str());
    appendf(o, "              UUID : %s\n", uuid_text(sb.uuid()).c_str());
    appendf(o, "            Events : %llu\n\n", static_cast<unsigned long long>(sb.events()));
  } else {
    const auto& s = *sb.sb0;
    std::string local;
    if (!homehost.empty()) {
      auto hash = sha1(homehost);
      bool match = true;
      for (int i = 0; i < 8; ++i)
        match = match && static_cast<uint8_t>(s.set_uuid[2 + i / 4] >> (8 * (i % 4))) == hash[static_cast<std::size_t>(i)];
      if (match) local = " (local to host " + homehost + ")";
    }
    appendf(o, "              UUID : %08x:%08x:%08x:%08x%s\n", s.set_uuid[0], s.set_uuid[1], s.set_uuid[2], s.set_uuid[3],
        local.c_str());
    appendf(o, "            Events : %u.%u\n\n", static_cast<unsigned>(s.events >> 32), static_cast<unsigned>(s.events));
  }
  return o;
}

std::string brief_super_text(const FoundSuper& sb) {
  if (sb.sb1) {
    std::string o;
    if (!sb.name().empty()) o += " name=" + quoted(sb.name());
    return o + " UUID=" + uuid_text(sb.uuid());
  }
  const auto& s = *sb.sb0;
  std::string o;
  appendf(o, " UUID=%08x:%08x:%08x:%08x", s.set_uuid[0], s.set_uuid[1], s.set_uuid[2], s.set_uuid[3]);
  return o;
}

// desc_nr -> member file name, from proc/mdstat ("name[desc_nr]").
std::map<int, std::string> member_names(const Mount& mount, const std::string& array) {
  std::map<int, std::string> names;
  if (auto e = mdstat_entry(mount, array))
    for (const auto& m : e->members) names[m.desc_nr] = m.name;
  return names;
}

// The members in the order mdadm's sysfs_read gathers them: it puts each
// dev-<member> it reads before the ones read earlier, so the last added
// (mdfs lists them in the order they were added) comes first, as mdstat
// lists them.
std::vector<std::string> sysfs_members(const ArrayRef& array) {
  std::vector<std::string> out;
  for (const auto& e : read_mdstat(array.mount))
    if (e.name == array.name)
      for (const auto& m : e.members) out.push_back(m.name);
  return out;
}

// --detail --export: Detail()'s KEY=value lines.
std::string export_text(const ArrayRef& array, const std::string& level, int devices, const std::string& metadata,
                        const std::optional<FoundSuper>& sb, const DetailOptions& opts) {
  std::string o;
  if (!level.empty()) o += "MD_LEVEL=" + level + "\n";
  o += "MD_DEVICES=" + std::to_string(devices) + "\n";
  o += "MD_METADATA=" + metadata + "\n";
  if (sb) {
    if (sb->sb1) {
      o += "MD_UUID=" + uuid_text(sb->uuid()) + "\n";
    } else {
      appendf(o, "MD_UUID=%08x:%08x:%08x:%08x\n", sb->sb0->set_uuid[0], sb->sb0->set_uuid[1], sb->sb0->set_uuid[2],
              sb->sb0->set_uuid[3]);
    }
    // mdadm's map names an array it made /dev/md/NAME: mdfs's md_NAME.
    if (array.name.starts_with("md_")) o += "MD_DEVNAME=" + escaped(array.name.substr(3)) + "\n";
    if (sb->sb1) {
      const std::string name = sb->name().substr(0, std::min<std::size_t>(32, sb->name().find('\n')));
      if (!name.empty()) o += "MD_NAME=" + name + "\n";
    }
  }
  if (!opts.no_devices) {
    for (const auto& m : sysfs_members(array)) {
      std::string sysdev = "dev-" + m;
      for (auto& ch : sysdev)
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      const std::string slot = read_attr(array.md("dev-" + m + "/slot")).value_or("none");
      o += "MD_DEVICE_" + sysdev + "_ROLE=" + (slot == "none" ? "spare" : slot) + "\n";
      o += "MD_DEVICE_" + sysdev + "_DEV=" + array.mount.member_path(m) + "\n";
    }
  }
  return o;
}

int detail_inactive(const ArrayRef& array, const DetailOptions& opts) {
  auto state = read_attr(array.md("array_state"));
  auto names = member_names(array.mount, array.name);
  if (!state || names.empty()) {
    say("Array associated with md device " + array.dev() + " does not exist.");
    return 1;
  }
  std::vector<mdu_disk_info_t> disks;
  for (const auto& [desc, name] : names) {
    mdu_disk_info_t d{};
    d.number = -1;
    d.major = kMemberMajor;
    d.minor = desc;
    d.raid_disk = -1;
    d.state = 1 << MD_DISK_ACTIVE;  // let member_super read it
    disks.push_back(d);
  }
  auto sb = member_super(array.mount, disks, names, nullptr);
  const std::string version = read_attr(array.md("metadata_version")).value_or("none");
  std::string o;
  if (opts.export_vars) {
    o = export_text(array, sb ? level_name(sb->level()).value_or("") : "", sb ? sb_raid_disks(*sb) : 0, version, sb,
                    opts);
    std::fwrite(o.data(), 1, o.size(), stdout);
    return 0;
  }
  if (opts.brief) {
    o = "INACTIVE-ARRAY " + array.dev() + " metadata=" + version;
    if (sb) o += brief_super_text(*sb);
    std::printf("%s\n", o.c_str());
    return 0;
  }
  o = array.dev() + ":\n";
  appendf(o, "           Version : %s\n", version.c_str());
  if (sb) appendf(o, "        Raid Level : %s\n", level_name(sb->level()).value_or("-unknown-").c_str());
  appendf(o, "     Total Devices : %zu\n", names.size());
  o += version == "none" ? "       Persistence : Superblock is not persistent\n"
                         : "       Persistence : Superblock is persistent\n";
  o += "\n";
  o += "             State : inactive\n";
  appendf(o, "   Working Devices : %zu\n", names.size());
  o += "\n";
  if (sb) o += detail_super_text(*sb, opts.homehost);
  o += "    Number   Major   Minor   RaidDevice\n";
  o += "\n";
  for (const auto& [desc, name] : names)
    appendf(o, "       -   %5d    %5d        -        %s\n", kMemberMajor, desc,
        array.mount.member_path(name).c_str());
  std::fwrite(o.data(), 1, o.size(), stdout);
  return 0;
}

}  // namespace

int detail(const ArrayRef& array, const DetailOptions& opts) {
  const std::string dev = array.dev();
  mdfs::UniqueFd fd(::open(dev.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    say("cannot open " + dev + ": " + errno_text(errno));
    return 1;
  }
  mdu_array_info_t a{};
  if (::ioctl(fd.get(), GET_ARRAY_INFO, &a) != 0) {
    if (errno == ENODEV) return detail_inactive(array, opts);
    say("cannot get array detail for " + dev + ": " + errno_text(errno));
    return 1;
  }
  const auto names = member_names(array.mount, array.name);
  const int max_disks = a.major_version == 0 ? MD_SB_DISKS : 1920;
  int last_desc = a.raid_disks;
  for (const auto& [desc, name] : names) last_desc = std::max(last_desc, desc + 1);

  // Detail(): slot d's member at disks[2d], its replacement at 2d+1, then
  // spares and faulty members in descriptor order.
  std::vector<mdu_disk_info_t> disks(static_cast<std::size_t>(std::max(max_disks, a.raid_disks) * 2));
  for (std::size_t d = 0; d < disks.size(); ++d) {
    disks[d].state = 1 << MD_DISK_REMOVED;
    disks[d].major = disks[d].minor = 0;
    disks[d].number = -1;
    disks[d].raid_disk = static_cast<int>(d / 2);
  }
  std::vector<mdu_disk_info_t> found;
  std::size_t next = static_cast<std::size_t>(a.raid_disks) * 2;
  for (int d = 0; d < std::min(max_disks, last_desc); ++d) {
    mdu_disk_info_t disk{};
    disk.number = d;
    if (::ioctl(fd.get(), GET_DISK_INFO, &disk) < 0) {
      if (d < a.raid_disks) say("cannot get device detail for device " + std::to_string(d) + ": " + errno_text(errno));
      continue;
    }
    if (disk.major == 0 && disk.minor == 0) continue;
    found.push_back(disk);
    const bool journal = disk.state & (1 << MD_DISK_JOURNAL);
    if (disk.raid_disk >= 0 && disk.raid_disk < a.raid_disks && !journal &&
        disks[static_cast<std::size_t>(disk.raid_disk) * 2].state == (1 << MD_DISK_REMOVED))
      disks[static_cast<std::size_t>(disk.raid_disk) * 2] = disk;
    else if (disk.raid_disk >= 0 && disk.raid_disk < a.raid_disks && !journal &&
             disks[static_cast<std::size_t>(disk.raid_disk) * 2 + 1].state == (1 << MD_DISK_REMOVED))
      disks[static_cast<std::size_t>(disk.raid_disk) * 2 + 1] = disk;
    else if (next < disks.size())
      disks[next++] = disk;
  }
  std::vector<bool> avail(static_cast<std::size_t>(a.raid_disks), false);
  int avail_disks = 0;
  for (int d = 0; d < a.raid_disks; ++d) {
    const auto& m = disks[static_cast<std::size_t>(d) * 2];
    const auto& r = disks[static_cast<std::size_t>(d) * 2 + 1];
    if ((m.state & (1 << MD_DISK_SYNC)) || (r.state & (1 << MD_DISK_SYNC))) {
      avail[static_cast<std::size_t>(d)] = true;
      ++avail_disks;
    }
  }
  auto sb = member_super(array.mount, found, names, &a);

  std::string o;
  if (opts.export_vars) {
    std::string metadata;
    appendf(metadata, "%d.%d", a.major_version, a.minor_version);
    if (a.not_persistent) metadata = "none";
    o = export_text(array, level_name(a.level).value_or(""), a.raid_disks, metadata, sb, opts);
    std::fwrite(o.data(), 1, o.size(), stdout);
    std::fflush(stdout);
    return 0;
  }
  if (opts.brief) {
    o = "ARRAY " + dev;
    if (opts.verbose > 0) o += " level=" + level_name(a.level).value_or("-unknown-") + " num-devices=" + std::to_string(a.raid_disks);
    if (a.not_persistent) o += " metadata=none";
    else appendf(o, " metadata=%d.%d", a.major_version, a.minor_version);
  } else {
    uint64_t size_bytes = 0;
    if (::ioctl(fd.get(), BLKGETSIZE64, &size_bytes) != 0) size_bytes = 0;
    auto mdstat = mdstat_entry(array.mount, array.name);
    o = dev + ":\n";
    appendf(o, "           Version : %d.%d\n", a.major_version, a.minor_version);
    if (a.ctime) appendf(o, "     Creation Time : %s\n", ctime24(a.ctime).c_str());
    if (auto level = level_name(a.level)) appendf(o, "        Raid Level : %s\n", level->c_str());
    if (size_bytes)
      appendf(o, "        Array Size : %llu%s\n", static_cast<unsigned long long>(size_bytes >> 10),
          human_size(static_cast<long long>(size_bytes)).c_str());
    if (a.level >= 1) {
      if (a.major_version != 0 && (size_bytes >= 0xFFFFFFFFULL || a.size == 0)) {
        auto kib = read_attr(array.md("component_size"));
        unsigned long long dsize = kib ? std::strtoull(kib->c_str(), nullptr, 10) * 2 : 0;
        if (dsize > 0)
          appendf(o, "     Used Dev Size : %llu%s\n", dsize / 2, human_size(static_cast<long long>(dsize << 9)).c_str());
        else
          o += "     Used Dev Size : unknown\n";
      } else {
        appendf(o, "     Used Dev Size : %lu%s\n", static_cast<unsigned long>(a.size),
            human_size(static_cast<long long>(static_cast<unsigned long long>(a.size) << 10)).c_str());
      }
    }
    if (a.raid_disks) appendf(o, "      Raid Devices : %d\n", a.raid_disks);
    appendf(o, "     Total Devices : %d\n", a.nr_disks);
    if (a.major_version == 0) appendf(o, "   Preferred Minor : %d\n", a.md_minor);
    appendf(o, "       Persistence : Superblock is %spersistent\n", a.not_persistent ? "not " : "");
    o += "\n";
    // GET_ARRAY_INFO marks an internal bitmap in its state, as the kernel's.
    if (a.state & (1 << MD_SB_BITMAP_PRESENT)) o += "     Intent Bitmap : Internal\n\n";
    if (a.utime) appendf(o, "       Update Time : %s\n", ctime24(a.utime).c_str());
    if (a.raid_disks) {
      std::string st;
      if (avail_disks == a.raid_disks)
        st = "";
      else if (!enough(a.level, a.raid_disks, a.layout, true, avail))
        st = ", FAILED";
      else
        st = ", degraded";
      std::string arrayst;
      if (a.state & (1 << MD_SB_CLEAN)) {
        if (a.level == 0 || a.level == kLevelLinear)
          arrayst = read_attr(array.md("array_state")).value_or("clean");
        else
          arrayst = "clean";
      } else {
        arrayst = "active";
      }
      std::string sync;
      if (mdstat && (mdstat->percent >= 0 || mdstat->delayed || mdstat->pending)) {
        if (mdstat->action == "recovery") sync = ", recovering";
        else if (mdstat->action == "resync") sync = ", resyncing";
        else if (mdstat->action == "reshape") sync = ", reshaping";
        else if (mdstat->action == "check") sync = ", checking";
      }
      appendf(o, "             State : %s%s%s%s%s%s \n", arrayst.c_str(), st.c_str(), sync.c_str(),
          size_bytes ? "" : ", Not Started", mdstat && mdstat->delayed ? " (DELAYED)" : "",
          mdstat && mdstat->pending ? " (PENDING)" : "");
    }
    appendf(o, "    Active Devices : %d\n", a.active_disks);
    appendf(o, "   Working Devices : %d\n", a.working_disks);
    appendf(o, "    Failed Devices : %d\n", a.failed_disks);
    appendf(o, "     Spare Devices : %d\n", a.spare_disks);
    o += "\n";
    if (a.level == 5) appendf(o, "            Layout : %s\n", raid5_layout_name(a.layout).value_or("-unknown-").c_str());
    if (a.level == 0 && a.layout)
      appendf(o, "            Layout : %s\n", raid0_layout_name(a.layout).value_or("-unknown-").c_str());
    if (a.level == 6) appendf(o, "            Layout : %s\n", raid6_layout_name(a.layout).value_or("-unknown-").c_str());
    if (a.level == 10) appendf(o, "            Layout :%s\n", r10_layout_text(a.layout).c_str());
    switch (a.level) {
      case 0:
      case 4:
      case 5:
      case 10:
      case 6:
        if (a.chunk_size) appendf(o, "        Chunk Size : %dK\n\n", a.chunk_size / 1024);
        break;
      case -1: appendf(o, "          Rounding : %dK\n\n", a.chunk_size / 1024); break;
      default: break;
    }
    if (a.raid_disks) {
      if (auto policy = read_attr(array.md("consistency_policy")); policy && !policy->empty())
        appendf(o, "Consistency Policy : %s\n\n", policy->c_str());
    }
    if (mdstat && mdstat->percent >= 0) {
      const char* what = mdstat->action == "recovery" ? "Rebuild"
                         : mdstat->action == "reshape" ? "Reshape"
                         : mdstat->action == "check"   ? "Check"
                                                       : "Resync";
      appendf(o, "    %7s Status : %d%% complete\n", what, mdstat->percent);
      o += "\n";
    }
    if (sb) o += detail_super_text(*sb, opts.homehost);
    if (!opts.no_devices)
      o += a.raid_disks ? "    Number   Major   Minor   RaidDevice State\n" : "    Number   Major   Minor   RaidDevice\n";
  }

  int spares = 0;
  std::vector<std::string> brief_devices;
  for (std::size_t d = 0; d < disks.size() && !opts.no_devices; ++d) {
    const mdu_disk_info_t& disk = disks[d];
    if (d >= static_cast<std::size_t>(a.raid_disks) * 2 && disk.major == 0 && disk.minor == 0) continue;
    if ((d & 1) && disk.major == 0 && disk.minor == 0) continue;
    if (!opts.brief) {
      if (d == static_cast<std::size_t>(a.raid_disks) * 2) o += "\n";
      if (disk.number < 0 && disk.raid_disk < 0)
        appendf(o, "       -   %5d    %5d        -     ", disk.major, disk.minor);
      else if (disk.raid_disk < 0 || (disk.state & (1 << MD_DISK_JOURNAL)))
        appendf(o, "   %5d   %5d    %5d        -     ", disk.number, disk.major, disk.minor);
      else if (disk.number < 0)
        appendf(o, "       -   %5d    %5d    %5d     ", disk.major, disk.minor, disk.raid_disk);
      else
        appendf(o, "   %5d   %5d    %5d    %5d     ", disk.number, disk.major, disk.minor, disk.raid_disk);
      if (a.raid_disks) {
        if (disk.state & (1 << MD_DISK_FAULTY)) o += " faulty";
        if (disk.state & (1 << MD_DISK_ACTIVE)) o += " active";
        if (disk.state & (1 << MD_DISK_SYNC)) {
          o += " sync";
          if (a.level == 10 && (a.layout & ~0x1FFFF) == 0) {
            const int nc = a.layout & 0xff, fc = (a.layout >> 8) & 0xff, copies = nc * fc;
            if (fc == 1 && copies > 0 && a.raid_disks % copies == 0 && copies <= 26)
              appendf(o, " set-%c", 'A' + disk.raid_disk % copies);
          }
        }
        if (disk.state & (1 << MD_DISK_REMOVED)) o += " removed";
        if (disk.state & (1 << MD_DISK_WRITEMOSTLY)) o += " writemostly";
        if (disk.state & (1 << MD_DISK_FAILFAST)) o += " failfast";
        if (disk.state & (1 << MD_DISK_JOURNAL)) o += " journal";
        if ((disk.state & ((1 << MD_DISK_ACTIVE) | (1 << MD_DISK_SYNC) | (1 << MD_DISK_REMOVED) |
                           (1 << MD_DISK_FAULTY) | (1 << MD_DISK_JOURNAL))) == 0) {
          o += " spare";
          if (disk.raid_disk < a.raid_disks && disk.raid_disk >= 0) o += " rebuilding";
        }
      }
    }
    if (disk.state == 0) ++spares;
    if (auto it = names.find(disk.minor); opts.brief && disk.major == kMemberMajor && it != names.end())
      brief_devices.push_back(array.mount.member_path(it->second));
    if (!opts.brief) {
      // The member's image file stands where mdadm prints /dev/sdX.
      auto it = names.find(disk.minor);
      if (disk.major == kMemberMajor && it != names.end())
        o += "   " + array.mount.member_path(it->second);
      else if (disk.major | disk.minor)
        o += "   missing";
      o += "\n";
    }
  }
  if (opts.brief) {
    if (spares && a.raid_disks) appendf(o, " spares=%d", spares);
    if (sb) o += brief_super_text(*sb);
    if (opts.verbose > 0 && !brief_devices.empty()) {
      std::sort(brief_devices.begin(), brief_devices.end());
      o += "\n   devices=";
      for (std::size_t i = 0; i < brief_devices.size(); ++i) o += (i ? "," : "") + brief_devices[i];
    }
    o += "\n";
  }
  std::fwrite(o.data(), 1, o.size(), stdout);
  std::fflush(stdout);
  if (opts.test && a.raid_disks) {
    if (!enough(a.level, a.raid_disks, a.layout, true, avail)) return 2;
    if (avail_disks != a.raid_disks) return 1;
  }
  return 0;
}

int detail_scan(const MountOptions& mopts, const DetailOptions& opts) {
  std::vector<Mount> mounts;
  if (!mopts.mount.empty()) {
    mounts.push_back(find_mount(mopts));
  } else {
    for (const auto& [point, source] : mdfs_mounts()) mounts.push_back(mount_at(point, mopts));
  }
  DetailOptions brief = opts;
  brief.brief = true;
  int rc = 0;
  for (const auto& m : mounts)
    for (const auto& e : read_mdstat(m))
      if (int r = detail(ArrayRef{m, e.name}, brief); r) rc = r;
  return rc;
}

}  // namespace mdfsadm
