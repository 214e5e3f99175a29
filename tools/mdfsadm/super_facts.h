// What mdadm's getinfo_super tells of one member's superblock, for either
// format: the array's shape, this member's role and freshness, whether the
// array is "local" to a homehost. Assembly, --incremental, --query and the
// brief reports read superblocks through these.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "mdfsadm/examine.h"

namespace mdfsadm {

// This member's role: a slot, or one of these.
inline constexpr int kRoleSpare = -1;
inline constexpr int kRoleFaulty = -2;

int sb_role(const FoundSuper& sb);
// The uuid in the order its text shows it (mdadm's ARRAY lines, --uuid):
// 1.x's bytes, 0.90's four words each most significant byte first.
std::array<uint8_t, 16> sb_uuid_as_text(const FoundSuper& sb);
// In its role and fully recovered (mdadm's MD_DISK_SYNC).
bool sb_in_sync(const FoundSuper& sb);
// A member whose recovery into its role was interrupted.
bool sb_rebuilding(const FoundSuper& sb);
int sb_raid_disks(const FoundSuper& sb);
int sb_layout(const FoundSuper& sb);
bool sb_clean(const FoundSuper& sb);
// The members in their roles, as the superblock counts them (working_disks).
int sb_working_disks(const FoundSuper& sb);
// This member's descriptor number.
int sb_dev_number(const FoundSuper& sb);
// 0.90's preferred minor; -1 for 1.x.
int sb_md_minor(const FoundSuper& sb);
uint64_t sb_utime(const FoundSuper& sb);
// The name without a homehost ("data" of "host:data"); "" for 0.90.
std::string sb_short_name(const FoundSuper& sb);
// mdadm's match_home: a v1 name "HOMEHOST:...", a 0.90 uuid holding the
// homehost's hash.
bool sb_is_local(const FoundSuper& sb, const std::string& homehost);
// "0.90" or "1.x": mdadm's name for the metadata kind (AUTO lines).
std::string sb_kind(const FoundSuper& sb);

// The array size mdadm derives from one member (bytes; 0 when it cannot).
long long sb_array_bytes(const FoundSuper& sb);

// mdadm's print_quoted: the text, quoted when it holds blanks or quotes.
std::string quoted(const std::string& text);
// print_escape: blanks and specials as _ and \ooo, as in /dev/md/ names.
std::string escaped(const std::string& text);

}  // namespace mdfsadm
