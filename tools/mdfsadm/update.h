// --assemble --update=WHAT: the superblock updates of mdadm 4.2 (super1.c's
// and super0.c's update_super) that apply to mdfs's native metadata, made
// to each selected member before it is given to the array.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "mdfsadm/examine.h"
#include "mdfsadm/mount.h"

namespace mdfsadm {

// What an update needs besides the superblock.
struct UpdateRequest {
  std::string what;                             // --update's word
  std::optional<std::array<uint8_t, 16>> uuid;  // --uuid (the new one for "uuid")
  std::string name;                             // for "name": --name, else from the array's
  std::string homehost;                         // for "name" and "homehost"
  int md_minor = 0;                             // for "super-minor"
};

// A new random uuid (mdadm's random_uuid), for --update=uuid without --uuid.
std::array<uint8_t, 16> random_uuid();

// Checks --update's word as mdadm's option parser does: "?" and "help"
// print the list (exit 0), an unknown word is a usage error (exit 2), and
// the words mdfs does not do fail with "not supported by mdfs" (exit 1).
void check_update_word(const std::string& what);

// Fails, before anything is written, as apply_update would on this member
// for a reason of its own superblock (--update=metadata of an unclean 0.90
// member or one with a bitmap), so that no member of the array is changed
// when one of them would be refused.
void check_update(const FoundSuper& found, const UpdateRequest& req);

// Applies the update to `found` (in memory) and writes it to the member
// file `name` (with the bitmap superblock's uuid for "uuid"). Fails, as
// mdadm, with "--update=WHAT not understood for VERSION metadata".
void apply_update(const Mount& mount, const std::string& name, FoundSuper& found, const UpdateRequest& req);

}  // namespace mdfsadm
