// The raid4/5/6 write journal of an array mdfs runs: the journal member's
// log is read at start (format/r5log.h) and the data pages the kernel's
// recovery would replay are shown over what the data members hold, in a
// personality wrapped around the array's own. mdfs writes no journal, so
// an array with one runs read-only (the kernel replays and keeps it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/r5log.h"
#include "mdfs/personality.h"
#include "mdfs/result.h"

namespace mdfs::core {

class Member;

// The journal's replay for an array of this geometry, from its journal
// member (whose superblock gives the checkpoint). EINVAL with *why when
// the geometry is not a parity level's; the read's errno.
Result<format::R5logReplay> read_journal(const Member& journal, const std::array<uint8_t, 16>& uuid,
                                         const raid::Geometry& geometry, std::string* why);

// `inner` with the replay's data pages shown over its reads.
std::unique_ptr<raid::Personality> with_journal_pages(std::unique_ptr<raid::Personality> inner,
                                                      std::map<uint64_t, std::vector<std::byte>> pages);

}  // namespace mdfs::core
