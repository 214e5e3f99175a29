#include "raid/io_plan.h"

namespace mdfs::raid {

void IoPlan::add(int stream, int role, uint64_t offset, size_t buf_offset, size_t length) {
  int& li = last_run_[stream];
  if (li >= 0 && runs_[li].role == role && runs_[li].offset + runs_[li].length == offset) {
    Run& run = runs_[li];
    run.length += length;
    Segment& tail = segments_[run.last];
    if (tail.buf_offset + tail.length == buf_offset) {
      tail.length += length;
      return;
    }
    int seg = static_cast<int>(segments_.size());
    tail.next = seg;
    run.last = seg;
    segments_.push_back({buf_offset, length});
    return;
  }
  segments_.push_back({buf_offset, length});
  int seg = static_cast<int>(segments_.size() - 1);
  runs_.push_back({role, offset, length, seg, seg});
  li = static_cast<int>(runs_.size() - 1);
}

int IoPlan::read(const Run& run, Disk& disk, std::span<std::byte> buf) {
  const Segment& first = segments_[run.first];
  if (first.next < 0) return disk.read(run.offset, buf.subspan(first.buf_offset, first.length));
  iov_.clear();
  for (int i = run.first; i >= 0; i = segments_[i].next)
    iov_.push_back(buf.subspan(segments_[i].buf_offset, segments_[i].length));
  return disk.readv(run.offset, iov_);
}

int IoPlan::write(const Run& run, Disk& disk, std::span<const std::byte> buf) {
  const Segment& first = segments_[run.first];
  if (first.next < 0) return disk.write(run.offset, buf.subspan(first.buf_offset, first.length));
  ciov_.clear();
  for (int i = run.first; i >= 0; i = segments_[i].next)
    ciov_.push_back(buf.subspan(segments_[i].buf_offset, segments_[i].length));
  return disk.writev(run.offset, ciov_);
}

void append_extent(std::vector<Extent>& out, int role, int fd, uint64_t offset, size_t length) {
  if (!out.empty() && out.back().fd == fd && out.back().file_offset + out.back().length == offset) {
    out.back().length += length;
    return;
  }
  out.push_back({fd, offset, length, role});
}

}  // namespace mdfs::raid
