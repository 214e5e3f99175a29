// --assemble and --incremental: arrays put together from their members'
// superblocks, found in the files listed, in the config's DEVICE files or
// in SOURCE, selected as mdadm's Assemble selects them (--uuid, --name,
// --super-minor, ARRAY lines), and started through the mount as mdadm
// starts them (new_array, metadata_version, new_dev, array_state).
#pragma once

#include <string>
#include <vector>

#include "mdfsadm/config.h"
#include "mdfsadm/examine.h"
#include "mdfsadm/mount.h"
#include "mdfsadm/options.h"

namespace mdfsadm {

// What the command line and the config say about assembling.
struct AssembleContext {
  const Command& cmd;
  const Config& config;
  std::string homehost;  // "" for none
};

// --assemble in all its forms; mdadm's exit status.
int assemble_mode(const AssembleContext& ctx);

// --incremental FILE..., --incremental --scan --run, --incremental --fail.
int incremental_mode(const AssembleContext& ctx);

// One member file with its superblock.
struct FoundMember {
  std::string file;  // in SOURCE
  FoundSuper sb;
};

// The files of SOURCE that arrays of the mount use (from proc/mdstat).
std::vector<std::string> files_in_use(const Mount& mount);

// The mdfs name of an array found by its superblock, as mdfs names arrays
// at mount ("0" is md0, "data" is md_data, 0.90's preferred minor), or the
// highest free mdN from md127 down when that name is taken or not valid.
std::string auto_array_name(const Mount& mount, const FoundSuper& sb);

// The superblock of an inactive or running array of the mount, read from
// one of its members; nullopt when it has none.
std::optional<FoundSuper> array_super(const Mount& mount, const std::string& array);

}  // namespace mdfsadm
