// Gathers the pieces of one array request into as few member requests as
// possible: pieces that continue each other on a member become one request,
// scattered over the caller's buffer when they are not adjacent in it (the
// chunks of one raid0 member, one far copy of successive raid10 chunks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "mdfs/personality.h"

namespace mdfs::raid {

class IoPlan {
 public:
  struct Segment {
    size_t buf_offset;  // in the request's buffer = array offset - request offset
    size_t length;
    int next = -1;  // the run's next segment
  };
  struct Run {
    int role;
    uint64_t offset;  // bytes on the member
    uint64_t length;
    int first;  // segments, in buffer order
    int last;
  };

  // Pieces are merged per stream: a level with several copies on one member
  // (raid10 far copies) uses one stream per (role, copy) so each copy's
  // pieces continue each other.
  explicit IoPlan(int streams) : last_run_(streams, -1) {}

  void add(int stream, int role, uint64_t offset, size_t buf_offset, size_t length);

  const std::vector<Run>& runs() const { return runs_; }
  const Segment& segment(int i) const { return segments_[i]; }

  // Issues run `i` as one member request over `buf` (the request's buffer).
  int read(const Run& run, Disk& disk, std::span<std::byte> buf);
  int write(const Run& run, Disk& disk, std::span<const std::byte> buf);

 private:
  std::vector<Run> runs_;
  std::vector<Segment> segments_;
  std::vector<int> last_run_;  // per stream
  std::vector<std::span<std::byte>> iov_;
  std::vector<std::span<const std::byte>> ciov_;
};

// Appends [offset, offset+length) of `fd` (the member in `role`) to
// extents, joining it to the last extent when it continues it.
void append_extent(std::vector<Extent>& out, int role, int fd, uint64_t offset, size_t length);

}  // namespace mdfs::raid
