// Zero-copy array reads that see a member's error before the reply. The
// extents a personality maps a read to are spliced from the member files
// into a pipe of the calling thread's own; only when every splice moved all
// its bytes is the reply sent from that pipe (libfuse moves the pages on to
// /dev/fuse). A splice that fails or comes up short (a member file that
// ended) empties the pipe, and the caller reads through the personality,
// which meets the member's error and serves the data from redundancy.
#pragma once

#include <cstddef>
#include <span>

#include "mdfs/personality.h"
#include "mdfs/unique_fd.h"

namespace mdfs::fuse {

class SplicePipe {
 public:
  enum class Fill {
    kFilled,  // the pipe holds exactly the extents' bytes
    kNoRoom,  // the pipe cannot hold them: read with a copy instead
    kFailed,  // a member failed its splice (failed_role): read again through the personality
  };

  // The calling thread's pipe (request handlers run on several threads).
  static SplicePipe& local();

  // Splices `extents` into the empty pipe.
  Fill fill(std::span<const raid::Extent> extents, int& failed_role);
  // The read end, for the reply's buffer.
  int fd() const { return read_.get(); }
  // After the reply: whatever it left behind (a reply that could not be
  // sent) is dropped, so the next reply starts from an empty pipe.
  void settle();

 private:
  SplicePipe() = default;
  bool ensure(size_t pages);
  void reset();

  UniqueFd read_;
  UniqueFd write_;
  size_t pages_ = 0;  // the pipe's capacity in pages (buffer slots)
};

// The extents read into `out` with pread, each whole; false at the first
// that fails or comes up short, whose member is `failed_role`.
bool read_extents(std::span<const raid::Extent> extents, std::span<std::byte> out, int& failed_role);

}  // namespace mdfs::fuse
