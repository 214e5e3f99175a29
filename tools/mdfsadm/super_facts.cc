#include "mdfsadm/super_facts.h"

#include <linux/raid/md_p.h>

#include <cstring>

#include "mdfsadm/mdadm_text.h"

namespace mdfsadm {

int sb_role(const FoundSuper& sb) {
  if (sb.sb1) {
    const auto& s = *sb.sb1;
    if (s.dev_number >= s.dev_roles.size()) return kRoleFaulty;
    const uint16_t role = s.dev_roles[s.dev_number];
    if (role == 0xffff) return kRoleSpare;
    if (role >= 0xfffe) return kRoleFaulty;  // faulty, or a journal (mdfs has none)
    return role;
  }
  const auto& d = sb.sb0->this_disk;
  if (d.state & (1 << MD_DISK_FAULTY)) return kRoleFaulty;
  if (!(d.state & (1 << MD_DISK_ACTIVE)) || d.raid_disk >= sb.sb0->raid_disks) return kRoleSpare;
  return static_cast<int>(d.raid_disk);
}

std::array<uint8_t, 16> sb_uuid_as_text(const FoundSuper& sb) {
  if (sb.sb1) return sb.sb1->set_uuid;
  std::array<uint8_t, 16> out{};
  for (int w = 0; w < 4; ++w)
    for (int b = 0; b < 4; ++b)
      out[static_cast<std::size_t>(w * 4 + b)] = static_cast<uint8_t>(sb.sb0->set_uuid[static_cast<std::size_t>(w)] >> (8 * (3 - b)));
  return out;
}

bool sb_in_sync(const FoundSuper& sb) {
  if (sb_role(sb) < 0) return false;
  if (sb.sb1) return !(sb.sb1->feature_map & MD_FEATURE_RECOVERY_OFFSET);
  return sb.sb0->this_disk.state & (1 << MD_DISK_SYNC);
}

bool sb_rebuilding(const FoundSuper& sb) { return sb_role(sb) >= 0 && !sb_in_sync(sb); }

int sb_raid_disks(const FoundSuper& sb) {
  return sb.sb1 ? static_cast<int>(sb.sb1->raid_disks) : static_cast<int>(sb.sb0->raid_disks);
}

int sb_layout(const FoundSuper& sb) {
  return sb.sb1 ? static_cast<int>(sb.sb1->layout) : static_cast<int>(sb.sb0->layout);
}

bool sb_clean(const FoundSuper& sb) {
  if (sb.sb1) return sb.sb1->resync_offset == ~uint64_t{0};
  return sb.sb0->state & (1 << MD_SB_CLEAN);
}

int sb_working_disks(const FoundSuper& sb) {
  int working = 0;
  const int raid_disks = sb_raid_disks(sb);
  if (sb.sb1) {
    for (uint16_t role : sb.sb1->dev_roles)
      if (role < raid_disks) ++working;
    return working;
  }
  for (const auto& d : sb.sb0->disks)
    if ((d.state & (1 << MD_DISK_SYNC)) && d.raid_disk < static_cast<uint32_t>(raid_disks) &&
        (d.state & (1 << MD_DISK_ACTIVE)) && !(d.state & (1 << MD_DISK_FAULTY)))
      ++working;
  return working;
}

int sb_dev_number(const FoundSuper& sb) {
  return sb.sb1 ? static_cast<int>(sb.sb1->dev_number) : static_cast<int>(sb.sb0->this_disk.number);
}

int sb_md_minor(const FoundSuper& sb) { return sb.sb0 ? static_cast<int>(sb.sb0->md_minor) : -1; }

uint64_t sb_utime(const FoundSuper& sb) {
  return sb.sb1 ? sb.sb1->utime & 0xFFFFFFFFFFULL : sb.sb0->utime;
}

std::string sb_short_name(const FoundSuper& sb) {
  const std::string name = sb.name();
  const auto colon = name.find(':');
  return colon == std::string::npos ? name : name.substr(colon + 1);
}

bool sb_is_local(const FoundSuper& sb, const std::string& homehost) {
  if (homehost.empty()) return false;
  if (sb.sb1) {
    const std::string name = sb.name();
    return homehost.size() < 32 && name.size() > homehost.size() && name[homehost.size()] == ':' &&
           name.compare(0, homehost.size(), homehost) == 0;
  }
  const auto hash = sha1(homehost);
  uint8_t words[8];
  for (int i = 0; i < 4; ++i) {
    words[i] = static_cast<uint8_t>(sb.sb0->set_uuid[2] >> (8 * i));
    words[4 + i] = static_cast<uint8_t>(sb.sb0->set_uuid[3] >> (8 * i));
  }
  return std::memcmp(words, hash.data(), 8) == 0;
}

std::string sb_kind(const FoundSuper& sb) { return sb.sb0 ? "0.90" : "1.x"; }

long long sb_array_bytes(const FoundSuper& sb) {
  const unsigned long long member = sb.sb1 ? static_cast<unsigned long long>(sb.sb1->size) << 9
                                           : static_cast<unsigned long long>(sb.sb0->size) << 10;
  return array_bytes(sb.level(), sb_raid_disks(sb), sb_layout(sb), member);
}

std::string quoted(const std::string& text) {
  char first = 0;
  for (char c : text) {
    if (c == '\'' || c == '"') {
      first = c;
      break;
    }
    if ((c == ' ' || c == '\t') && !first) first = c;
  }
  if (!first) return text;
  char q = first == '"' ? '\'' : '"';
  std::string out(1, q);
  for (char c : text) {
    if (c == q) {
      out += q;
      q = q == '"' ? '\'' : '"';
      out += q;
    }
    out += c;
  }
  return out + q;
}

std::string escaped(const std::string& text) {
  std::string out;
  for (char c : text) out += c == ' ' || c == '\t' ? '_' : c == '/' ? '-' : c;
  return out;
}

}  // namespace mdfsadm
