#include "mdfsadm/force.h"

#include <fcntl.h>
#include <linux/raid/md_p.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "format/feature_rules.h"
#include "format/super_info.h"
#include "format/superblock0.h"
#include "format/superblock1.h"
#include "mdfs/unique_fd.h"
#include "mdfsadm/mdadm_text.h"

namespace mdfsadm {

namespace format = mdfs::format;

void store_super(const Mount& mount, const std::string& name, const FoundSuper& found) {
  const std::string path = mount.member_path(name);
  mdfs::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!fd) fail("Could not open " + path + " for write - cannot Assemble array.");
  std::vector<std::byte> bytes;
  uint64_t at = 0;
  if (found.sb1) {
    auto out = format::serialize_superblock1(*found.sb1);
    if (!out) fail("Could not re-write superblock on " + path);
    bytes = std::move(*out);
    at = found.sb1->super_offset * 512;
  } else {
    bytes = format::serialize_superblock0(*found.sb0);
    auto where = format::superblock0_offset(found.device_sectors * 512);
    if (!where) fail("Could not re-write superblock on " + path);
    at = *where;
  }
  if (::pwrite(fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(at)) != static_cast<ssize_t>(bytes.size()) ||
      ::fsync(fd.get()) != 0)
    fail("Could not re-write superblock on " + path);
}

namespace {

format::SuperInfo info_of(const FoundSuper& f) {
  return f.sb1 ? format::super_info(*f.sb1, f.minor) : format::super_info(*f.sb0, f.device_sectors * 512);
}

void set_events(FoundSuper& f, uint64_t events) {
  if (f.sb1) f.sb1->events = events;
  else f.sb0->events = events;
}

}  // namespace

int force_members(const Mount& mount, const std::vector<std::string>& names, std::vector<FoundSuper>& supers,
                  const std::set<std::string>& in_use) {
  if (supers.empty()) return 0;
  std::vector<format::SuperInfo> info;
  for (const auto& s : supers) info.push_back(info_of(s));
  // Nothing is written for an array mdfs would refuse anyway.
  for (const auto& i : info)
    if (format::judge(i).support == format::Support::kRefused) return 0;
  size_t most_recent = 0;
  for (size_t i = 0; i < info.size(); ++i)
    if (info[i].events > info[most_recent].events) most_recent = i;
  const format::SuperInfo& fresh = info[most_recent];
  const int raid_disks = static_cast<int>(fresh.raid_disks);
  if (raid_disks <= 0) return 0;
  const uint64_t events = fresh.events;

  // mdadm's best[]: per role, the newest member that claims it as its own
  // (not a replacement, which sits beside its role and is never forced).
  std::map<int, size_t> best;
  for (size_t i = 0; i < info.size(); ++i) {
    const auto& s = info[i];
    if (s.role >= raid_disks || s.events > events) continue;  // spare, faulty, journal; a stray newer one
    if (s.feature_map & MD_FEATURE_REPLACEMENT) continue;
    auto [it, fresh_slot] = best.emplace(s.role, i);
    if (!fresh_slot && s.events > info[it->second].events) it->second = i;
  }
  // A member may stand in for the array's data as is when it is as fresh
  // as the freshest and fully recovered in its role.
  const auto usable = [&](size_t i) {
    const auto& s = info[i];
    return s.recovery_offset == format::kMaxSector && s.reshape_position == fresh.reshape_position;
  };
  std::vector<bool> avail(static_cast<size_t>(raid_disks), false);
  std::vector<bool> uptodate(info.size(), false);
  for (const auto& [role, i] : best)
    if (info[i].events == events && usable(i)) avail[static_cast<size_t>(role)] = uptodate[i] = true;

  int forced = 0;
  const auto bring_in = [&](size_t i) {
    if (in_use.count(names[i])) fail(mount.member_path(names[i]) + " is in use");
    say("forcing event count in " + mount.member_path(names[i]) + "(" + std::to_string(info[i].role) + ") from " +
        std::to_string(info[i].events) + " up to " + std::to_string(events));
    set_events(supers[i], events);
    store_super(mount, names[i], supers[i]);
    info[i].events = events;
    uptodate[i] = true;
    avail[static_cast<size_t>(info[i].role)] = true;
    ++forced;
  };
  // mdadm takes a member one event behind as it is (the kernel's
  // super_1_validate allows that much at assembly); mdfs starts only
  // members as fresh as the freshest, so with --force such a member's
  // event count is raised as well: the array gets the same members.
  for (const auto& [role, i] : best)
    if (!uptodate[i] && info[i].events + 1 == events && usable(i)) bring_in(i);
  // force_array: while the array cannot run, the newest member not up to
  // date (fully recovered, same reshape) and every other member of that
  // same vintage are brought up to the freshest's events.
  while (!enough(fresh.level, raid_disks, static_cast<int>(fresh.layout), true, avail)) {
    std::optional<size_t> chosen;
    for (const auto& [role, i] : best)
      if (!uptodate[i] && usable(i) && (!chosen || info[i].events > info[*chosen].events)) chosen = i;
    if (!chosen) break;
    const uint64_t vintage = info[*chosen].events;
    for (const auto& [role, i] : best)
      if (!uptodate[i] && usable(i) && info[i].events == vintage) bring_in(i);
  }
  if (!forced) return 0;
  // update_super "assemble" on the freshest member, whose superblock the
  // array starts from: the roles it marked faulty for members now brought
  // in are given back ("clearing FAULTY flag"). 1.x: the role in
  // dev_roles; 0.90: the member's disks[] descriptor made active and in
  // sync in its role again, keeping its write-mostly and failfast bits
  // (during a reshape, minor 91, mdadm does not insist on the sync bit).
  FoundSuper& chosen = supers[most_recent];
  bool change = false;
  const auto cleared = [&](uint32_t d, size_t i) {
    say("clearing FAULTY flag for device " + std::to_string(d) + " in " + mount.member_path(names[most_recent]) +
        " for " + mount.member_path(names[i]));
    change = true;
  };
  for (const auto& [role, i] : best) {
    if (!uptodate[i] || i == most_recent) continue;
    if (chosen.sb1 && supers[i].sb1) {
      const uint32_t d = supers[i].sb1->dev_number;
      if (d >= chosen.sb1->dev_roles.size() || chosen.sb1->dev_roles[d] == role) continue;
      chosen.sb1->dev_roles[d] = static_cast<uint16_t>(role);
      cleared(d, i);
    } else if (chosen.sb0 && supers[i].sb0) {
      const uint32_t d = supers[i].sb0->this_disk.number;
      if (d >= chosen.sb0->disks.size()) continue;
      auto& desc = chosen.sb0->disks[d];
      const uint32_t keep = (1u << MD_DISK_WRITEMOSTLY) | (1u << MD_DISK_FAILFAST);
      const uint32_t want = (1u << MD_DISK_ACTIVE) | (1u << MD_DISK_SYNC);
      const uint32_t add = chosen.sb0->minor_version >= 91 ? (1u << MD_DISK_SYNC) : 0;
      if (((desc.state & ~keep) | add) == want && desc.raid_disk == static_cast<uint32_t>(role)) continue;
      desc.state = want | (desc.state & keep);
      desc.raid_disk = static_cast<uint32_t>(role);
      cleared(d, i);
    }
  }
  if (change) store_super(mount, names[most_recent], chosen);
  return forced;
}

}  // namespace mdfsadm
