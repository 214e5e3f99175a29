#include "format/feature_rules.h"

#include <linux/raid/md_p.h>

#include <cstdio>
#include <variant>

namespace mdfs::format {
namespace {

constexpr std::string_view kFeatureMap = "feature_map";
constexpr std::string_view kDevflags = "devflags";
constexpr std::string_view kState0 = "0.90 state";
constexpr std::string_view kDiskState0 = "0.90 disk state";

constexpr FeatureRule kRules[] = {
    {MD_FEATURE_BITMAP_OFFSET, kFeatureMap, "MD_FEATURE_BITMAP_OFFSET", Support::kKept,
     "an internal write-intent bitmap at bitmap_offset: its chunks dirty while written or while a member is "
     "missing, cleared lazily, resync and re-add limited to them"},
    {MD_FEATURE_RECOVERY_OFFSET, kFeatureMap, "MD_FEATURE_RECOVERY_OFFSET", Support::kKept,
     "a member part-way through recovery: it resumes from recovery_offset"},
    {MD_FEATURE_RESHAPE_ACTIVE, kFeatureMap, "MD_FEATURE_RESHAPE_ACTIVE", Support::kKept,
     "a reshape in progress: each side of reshape_position read in its shape, and the reshape resumed"},
    {MD_FEATURE_BAD_BLOCKS, kFeatureMap, "MD_FEATURE_BAD_BLOCKS", Support::kKept,
     "a bad block log with entries: reads avoid them, failed writes add to them, the log is kept"},
    {MD_FEATURE_REPLACEMENT, kFeatureMap, "MD_FEATURE_REPLACEMENT", Support::kKept,
     "a member replacing another: it resumes from recovery_offset and then takes the role"},
    {MD_FEATURE_RESHAPE_BACKWARDS, kFeatureMap, "MD_FEATURE_RESHAPE_BACKWARDS", Support::kKept,
     "a reshape running backwards: the moved part is above reshape_position"},
    {MD_FEATURE_NEW_OFFSET, kFeatureMap, "MD_FEATURE_NEW_OFFSET", Support::kKept,
     "a reshape moving the data: the new shape is read and written at new_offset"},
    {MD_FEATURE_RECOVERY_BITMAP, kFeatureMap, "MD_FEATURE_RECOVERY_BITMAP", Support::kKept,
     "a re-added member recovering through the bitmap: it resumes from recovery_offset, rebuilding only the "
     "bitmap's dirty chunks"},
    {MD_FEATURE_CLUSTERED, kFeatureMap, "MD_FEATURE_CLUSTERED", Support::kRefused,
     "a clustered array (md-cluster): it needs a cluster's locking, which mdfs does not have"},
    {MD_FEATURE_JOURNAL, kFeatureMap, "MD_FEATURE_JOURNAL", Support::kReadOnly,
     "a raid4/5/6 write journal: its unreplayed stripes are read, but mdfs does not write it, so the array is read-only"},
    {MD_FEATURE_PPL, kFeatureMap, "MD_FEATURE_PPL", Support::kReadOnly,
     "partial parity log: read, but mdfs does not write PPL, so the array is read-only"},
    {MD_FEATURE_MULTIPLE_PPLS, kFeatureMap, "MD_FEATURE_MULTIPLE_PPLS", Support::kReadOnly,
     "several partial parity logs: read, but mdfs does not write PPL, so the array is read-only"},
    {MD_FEATURE_RAID0_LAYOUT, kFeatureMap, "MD_FEATURE_RAID0_LAYOUT", Support::kKept,
     "raid0 with a layout: the layout is honoured and kept"},
    {WriteMostly1, kDevflags, "WriteMostly1", Support::kKept, "a write-mostly member: the flag is shown and kept"},
    {FailFast1, kDevflags, "FailFast1", Support::kKept, "a failfast member: the flag is shown and kept"},
    {1u << MD_SB_CLEAN, kState0, "MD_SB_CLEAN", Support::kKept, "the array was stopped cleanly"},
    {1u << MD_SB_ERRORS, kState0, "MD_SB_ERRORS", Support::kKept, "set by old kernels; ignored, as the kernel does"},
    {1u << MD_SB_CLUSTERED, kState0, "MD_SB_CLUSTERED", Support::kRefused,
     "a clustered array (md-cluster): it needs a cluster's locking, which mdfs does not have"},
    {1u << MD_SB_BITMAP_PRESENT, kState0, "MD_SB_BITMAP_PRESENT", Support::kKept,
     "an internal write-intent bitmap 4 KiB after the superblock, kept as MD_FEATURE_BITMAP_OFFSET's"},
    {1u << MD_DISK_FAULTY, kDiskState0, "MD_DISK_FAULTY", Support::kKept, "a faulty member"},
    {1u << MD_DISK_ACTIVE, kDiskState0, "MD_DISK_ACTIVE", Support::kKept, "a member in a role"},
    {1u << MD_DISK_SYNC, kDiskState0, "MD_DISK_SYNC", Support::kKept, "a member in sync"},
    {1u << MD_DISK_REMOVED, kDiskState0, "MD_DISK_REMOVED", Support::kKept, "a removed member's slot"},
    {1u << MD_DISK_WRITEMOSTLY, kDiskState0, "MD_DISK_WRITEMOSTLY", Support::kKept,
     "a write-mostly member: the flag is shown and kept"},
    {1u << MD_DISK_FAILFAST, kDiskState0, "MD_DISK_FAILFAST", Support::kKept,
     "a failfast member: the flag is shown and kept"},
    {1u << MD_DISK_JOURNAL, kDiskState0, "MD_DISK_JOURNAL", Support::kRefused,
     "a journal member in a 0.90 array, which the kernel never writes"},
};

void worsen(Verdict& v, const FeatureRule& rule) {
  if (static_cast<int>(rule.support) <= static_cast<int>(v.support)) return;
  char bits[64];
  std::snprintf(bits, sizeof bits, "%.*s bit 0x%x (", static_cast<int>(rule.field.size()), rule.field.data(),
                rule.mask);
  v.support = rule.support;
  v.reason = std::string(bits) + std::string(rule.name) + "): " + std::string(rule.what);
}

void judge_bits(Verdict& v, std::string_view field, uint32_t bits) {
  for (const FeatureRule& rule : kRules)
    if (rule.field == field && (bits & rule.mask)) worsen(v, rule);
}

}  // namespace

std::string_view to_string(Support s) {
  switch (s) {
    case Support::kKept: return "kept";
    case Support::kReadOnly: return "read-only";
    case Support::kRefused: return "refused";
  }
  return "";
}

std::span<const FeatureRule> feature_rules() { return kRules; }

Verdict judge(const SuperInfo& info) {
  Verdict v;
  if (const auto* sb = std::get_if<Superblock1>(&info.super)) {
    judge_bits(v, kFeatureMap, sb->feature_map);
    judge_bits(v, kDevflags, sb->devflags);
    // super_1_validate: PPL goes with neither a bitmap nor a journal, and
    // the two PPL kinds exclude each other.
    const uint32_t ppl = sb->feature_map & (MD_FEATURE_PPL | MD_FEATURE_MULTIPLE_PPLS);
    if (ppl && ((sb->feature_map & (MD_FEATURE_BITMAP_OFFSET | MD_FEATURE_JOURNAL)) ||
                ppl == (MD_FEATURE_PPL | MD_FEATURE_MULTIPLE_PPLS))) {
      v.support = Support::kRefused;
      v.reason = "feature_map: PPL together with a bitmap, a journal or the other PPL kind, which the kernel refuses";
    }
  } else if (const auto* sb0 = std::get_if<Superblock0>(&info.super)) {
    judge_bits(v, kState0, sb0->state);
    for (const Disk0& d : sb0->disks) judge_bits(v, kDiskState0, d.state);
    judge_bits(v, kDiskState0, sb0->this_disk.state);
  }
  return v;
}

bool journal_missing(std::span<const SuperInfo* const> members) {
  const SuperInfo* freshest = nullptr;
  for (const SuperInfo* m : members)
    if (m && (!freshest || m->events > freshest->events)) freshest = m;
  if (!freshest || !(freshest->feature_map & MD_FEATURE_JOURNAL)) return false;
  for (const SuperInfo* m : members)
    if (m && m->role == kRoleJournal && m->events >= freshest->events) return false;
  return true;
}

}  // namespace mdfs::format
