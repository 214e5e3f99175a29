#include "raid/raid10_layout.h"

#include <algorithm>
#include <bit>

namespace mdfs::raid {

namespace {
constexpr uint32_t kPageSectors = 4096 / 512;
}

Result<Raid10Layout> Raid10Layout::make(int raid_disks, int layout, uint32_t chunk_sectors,
                                        uint64_t component_sectors) {
  if (raid_disks <= 0 || layout < 0 || (layout >> 19) != 0) return err(EINVAL);
  if (chunk_sectors < kPageSectors || !std::has_single_bit(chunk_sectors)) return err(EINVAL);
  Raid10Layout l;
  l.raid_disks_ = raid_disks;
  l.near_ = layout & 255;
  l.far_ = (layout >> 8) & 255;
  l.far_offset_ = (layout >> 16) & 1;
  switch (layout >> 17) {
    case 0: l.far_set_size_ = raid_disks; break;
    case 1: l.far_set_size_ = raid_disks / std::max(l.far_, 1); break;
    case 2: l.far_set_size_ = l.far_ * l.near_; break;
    default: return err(EINVAL);
  }
  int copies = l.near_ * l.far_;
  if (copies < 2 || copies > raid_disks || l.far_set_size_ < 1) return err(EINVAL);
  l.chunk_shift_ = std::countr_zero(chunk_sectors);

  // As calc_sectors: the chunks the array can hold from each member's
  // component, then per member the chunks that holding them takes, rounded
  // up; far copies sit one stride (that / far) apart, offset copies one chunk.
  uint64_t chunks = (component_sectors >> l.chunk_shift_) / l.far_ * raid_disks / l.near_;
  uint64_t used = (chunks * copies + raid_disks - 1) / raid_disks;
  l.dev_sectors_ = used << l.chunk_shift_;
  l.stride_ = l.far_offset_ ? chunk_sectors : (used / l.far_) << l.chunk_shift_;
  // As raid10_size, from the rounded dev_sectors.
  l.array_sectors_ = ((used / l.far_) * raid_disks / l.near_) << l.chunk_shift_;
  return l;
}

uint64_t Raid10Layout::map(uint64_t sector, std::span<Copy> out) const {
  uint64_t in_chunk = sector & ((uint64_t{1} << chunk_shift_) - 1);
  // The near copies of chunk c are the consecutive slots c*near .. c*near +
  // near-1 of a raid0-like striping over all members.
  uint64_t slot = (sector >> chunk_shift_) * near_;
  int dev = static_cast<int>(slot % raid_disks_);
  uint64_t row = slot / raid_disks_;
  if (far_offset_) row *= far_;  // offset copies take the rows below
  uint64_t base = (row << chunk_shift_) + in_chunk;

  // Far copies move `near` members on inside their set of members; a last
  // set made bigger by the leftover members wraps over all of its members.
  int last_set_start = (raid_disks_ / far_set_size_ - 1) * far_set_size_;
  int last_set_size = far_set_size_ + raid_disks_ % far_set_size_;
  size_t n = 0;
  for (int i = 0; i < near_; ++i) {
    int d = dev;
    uint64_t s = base;
    out[n++] = {d, s};
    for (int f = 1; f < far_; ++f) {
      int set = d / far_set_size_;
      d += near_;
      if (raid_disks_ % far_set_size_ && d > last_set_start)
        d = (d - last_set_start) % last_set_size + last_set_start;
      else
        d = d % far_set_size_ + far_set_size_ * set;
      s += stride_;
      out[n++] = {d, s};
    }
    if (++dev == raid_disks_) {
      dev = 0;
      base += uint64_t{1} << chunk_shift_;
    }
  }
  return (uint64_t{1} << chunk_shift_) - in_chunk;
}

int64_t Raid10Layout::chunk_at(int role, uint64_t row) const {
  // The row holding the first far (or offset) copy, whose slots are the
  // raid0-like striping of map(): chunk c has slots c*near .. c*near+near-1,
  // so only the few chunks whose slots touch that row can be there; map()
  // says which of them is.
  const uint64_t stride_rows = stride_ >> chunk_shift_;
  uint64_t base = row;
  if (far_offset_) base = row / far_;
  else if (far_ > 1 && stride_rows) base = row % stride_rows;
  const uint64_t n = static_cast<uint64_t>(raid_disks_);
  const uint64_t first_slot = base * n;
  const uint64_t lo = first_slot >= uint64_t(near_) ? (first_slot - near_ + 1) / near_ : 0;
  const uint64_t hi = (first_slot + n - 1) / near_;
  std::vector<Copy> copies(this->copies());
  for (uint64_t c = lo; c <= hi && (c << chunk_shift_) < array_sectors_; ++c) {
    map(c << chunk_shift_, copies);
    for (const Copy& x : copies)
      if (x.role == role && (x.sector >> chunk_shift_) == row) return static_cast<int64_t>(c);
  }
  return -1;
}

std::vector<std::vector<int>> Raid10Layout::copy_sets() const {
  // The member pattern repeats every raid_disks chunks.
  std::vector<std::vector<int>> sets;
  std::vector<Copy> copies(this->copies());
  for (int c = 0; c < raid_disks_; ++c) {
    map(uint64_t(c) << chunk_shift_, copies);
    std::vector<int> roles;
    for (const Copy& x : copies) roles.push_back(x.role);
    std::sort(roles.begin(), roles.end());
    roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
    if (std::find(sets.begin(), sets.end(), roles) == sets.end()) sets.push_back(std::move(roles));
  }
  return sets;
}

std::string Raid10Layout::mdstat_words() const {
  // As raid10_status: the chunk is only worth naming when it stripes.
  std::string out;
  if (near_ < raid_disks_) out += " " + std::to_string(chunk_sectors() / 2) + "K chunks";
  if (near_ > 1) out += " " + std::to_string(near_) + " near-copies";
  if (far_ > 1) {
    out += " " + std::to_string(far_) + (far_offset_ ? " offset-copies" : " far-copies");
    if (far_set_size_ != raid_disks_) out += " " + std::to_string(far_set_size_) + " devices per set";
  }
  return out;
}

}  // namespace mdfs::raid
