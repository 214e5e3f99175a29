// mdadm 4.2's assemble --force (Assemble.c force_array and the superblock
// updates it asks for): when the members as fresh as the freshest cannot
// run the array, the newest out-of-date members are brought up to the
// freshest's event count, their superblocks rewritten, until they can.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "mdfsadm/examine.h"
#include "mdfsadm/mount.h"

namespace mdfsadm {

// Rewrites `found` (changed in memory) onto the member `name` with its
// checksum, as mdadm's store_super; fails with mdadm's message.
void store_super(const Mount& mount, const std::string& name, const FoundSuper& found);

// The --force step for the members `names` (superblocks `supers`, all of
// one array): raises the events of the out-of-date members mdadm would
// bring in, writes them, and updates `supers` to what was written. Members
// in `in_use` are not written (mdfsadm fails instead). Says what it does
// as mdadm does; returns the number of members it brought in.
int force_members(const Mount& mount, const std::vector<std::string>& names, std::vector<FoundSuper>& supers,
                  const std::set<std::string>& in_use);

}  // namespace mdfsadm
