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

// human_size: "" below 5000 KiB, else " (21.00 MiB 22.02 MB)".
std::string human_size(long long bytes);

// mdadm's "0.swap" (and "0.9"): 0.90 superblocks read byte-swapped.
bool swapped_metadata(std::string_view text);

// parse_size: a number of KiB, or with K, M, G, T (or s: sectors); in
// sectors. nullopt for anything else (a lower-case k included, as mdadm).
std::optional<uint64_t> parse_size(std::string_view text);
// parse_num: a whole number 0..INT_MAX, nothing after it.
std::optional<int> parse_num(std::string_view text);
// match_metadata_desc of 0.90 and 1.x: the metadata_version mdfs writes
// ("0.90", "1.0", "1.1", "1.2") for --metadata's text (0.91, 0.9 and
// 0.swap, mdadm's names for a 0.90 superblock mid-reshape or in the other
// byte order, are 0.90 here); nullopt when mdadm
// knows no such native format.
std::optional<std::string> native_metadata(std::string_view text);

// human_size_brief: "" below 5000 KiB, else "21.00MiB" (iec) or "22.02MB".
std::string human_size_brief(long long bytes, bool iec);

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
