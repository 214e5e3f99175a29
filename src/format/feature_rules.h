// What mdfs does with every feature an md superblock can carry: each v1
// feature_map bit, the v1 device flags, and the 0.90 superblock's state and
// disk-state bits. The kernel refuses a superblock with a feature bit it
// does not know and honours every bit it does; mdfs does the same for the
// bits it implements, starts an array read-only when a feature is
// understood for reading but not kept up when writing, and refuses the rest
// with the reason. This table is the one mdfs(8) prints.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "format/super_info.h"

namespace mdfs::format {

enum class Support {
  kKept,      // implemented as the kernel does: read, honoured, written back
  kReadOnly,  // understood for reading; an array with it starts read-only
  kRefused,   // a member with it is refused, nothing written
};

std::string_view to_string(Support s);

struct FeatureRule {
  uint32_t mask;           // the bit in its field
  std::string_view field;  // "feature_map", "devflags", "0.90 state", "0.90 disk state"
  std::string_view name;   // the md_p.h name
  Support support;
  std::string_view what;   // what mdfs does, or why it does not (one sentence)
};

// Every rule, in the order mdfs(8) lists them.
std::span<const FeatureRule> feature_rules();

// The verdict on one member's superblock: the most restrictive support of
// the features it carries, and the reason ("feature_map bit 0x200
// (MD_FEATURE_JOURNAL): ..."); kKept with an empty reason when mdfs keeps
// everything the superblock says.
struct Verdict {
  Support support = Support::kKept;
  std::string reason;
};
Verdict judge(const SuperInfo& info);

// mdadm's journal_clean: the members say the array has a write journal
// (MD_FEATURE_JOURNAL) but none of them is an up-to-date journal member.
// mdadm then assembles only with --force, read-only; the kernel starts
// such an array read-only. mdadm and the kernel take a journal one event
// behind the freshest; mdfs starts no member behind the freshest, so here
// such a journal counts as stale (refused rather than read without it).
bool journal_missing(std::span<const SuperInfo* const> members);

}  // namespace mdfs::format
