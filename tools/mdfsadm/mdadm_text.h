// The words and numbers mdadm 4.2 prints and parses: its maps of level and
// layout names (maps.c), human_size and print_r10_layout (util.c), its
// "enough" rule for a degraded array, and the homehost hash of 0.90 uuids.
// mdfsadm's output must agree with mdadm's field by field, so these follow
// mdadm's text exactly.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdfsadm {

// The sentinel levels of md_u.h / mdadm.h.
inline constexpr int kLevelLinear = -1;
inline constexpr int kLevelMultipath = -4;
inline constexpr int kLevelFaulty = -5;

// mdadm's map_num(pers, level): "raid5", "linear"...; nullopt for a level
// mdadm has no name for (it prints "-unknown-").
std::optional<std::string> level_name(int level);
// map_name(pers, text): "raid5", "5", "mirror", "stripe"...
std::optional<int> parse_level(std::string_view text);

// map_num(r5layout / r6layout / r0layout, layout).
std::optional<std::string> raid5_layout_name(int layout);
std::optional<std::string> raid6_layout_name(int layout);
std::optional<std::string> raid0_layout_name(int layout);

// A --layout value for `level`: a name (left-symmetric, ls, parity-last...),
// raid10's n2/f2/o2, or a plain number. nullopt when mdadm would refuse it.
std::optional<int> parse_layout(int level, std::string_view text);

// The layout mdadm --create picks when none is given (nullopt: none is
// written, as for linear, raid0 and raid1).
std::optional<int> default_layout(int level);

// print_r10_layout: " near=2", " far=2", " offset=2", " near=2, far=2".
std::string r10_layout_text(int layout);

// mdadm's parse_size: a number of KiB, or with a K, M or G suffix; in
// sectors. nullopt for anything else.
std::optional<uint64_t> parse_size_sectors(const std::string& text);

// human_size: "" below 5000 KiB, else " (21.00 MiB 22.02 MB)".
std::string human_size(long long bytes);

// ctime(3) without its newline, as mdadm's "%.24s".
std::string ctime24(int64_t seconds);

// "9dba2cf4:248cf345:bcdb32db:7614444f" from the 16 uuid bytes.
std::string uuid_text(const std::array<uint8_t, 16>& uuid);

// mdadm's enough(): whether the members marked in `avail` (one per slot)
// can run the array.
bool enough(int level, int raid_disks, int layout, bool clean, const std::vector<bool>& avail);

// printf onto the end of `out`, for mdadm's printf-shaped reports.
void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// SHA-1 of `text`: mdadm puts the first 8 bytes of the homehost's hash in
// a 0.90 uuid's last two words to mark the array local.
std::array<uint8_t, 20> sha1(std::string_view text);

}  // namespace mdfsadm
