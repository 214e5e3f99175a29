// --dump=DIR and --restore=DIR: a member's md metadata copied into a sparse
// file of the member's size, at the same offsets, and back, as mdadm 4.2's
// Dump.c with the copy_metadata of super0.c and super1.c: for 1.x the 4 KiB
// at the superblock, the internal bitmap (its superblock and bits, rounded
// up to 512 bytes) and the bad block log; for 0.90 the 64 KiB reserved area
// at the end. Nothing else is copied, so a dump holds no data.
#pragma once

#include <string>

namespace mdfsadm {

// What --metadata asked for: major -1 for any kind (mdadm's guess),
// else 0 or 1; minor -1 for any 1.x.
struct MetadataKind {
  int major = -1;
  int minor = -1;
};
// mdadm's names: 0, 0.90, 1, 1.x, 1.0, 1.1, 1.2, default (1.2). nullopt
// otherwise.
MetadataKind metadata_kind(const std::string& text);

// Writes DIR/basename(member): mdadm's exit codes (16 when DIR is not a
// directory, 1 on any other failure); "MEMBER saved as FILE." unless quiet.
int dump_metadata(const std::string& member, const std::string& dir, MetadataKind kind, int verbose);

// Copies the metadata of DIR/basename(member), or of the file DIR itself
// when it is the only member given (`only`), back onto the member; the two
// must be the same size. A member of a running array in an mdfs mount is
// refused: mdfs holds its superblock and would write over the restored one.
int restore_metadata(const std::string& member, const std::string& dir, MetadataKind kind, bool only, int verbose);

}  // namespace mdfsadm
