// The data path of the levels without redundancy (linear, raid0): every
// array sector lives on exactly one member, so a request is split by the
// layout map and sent on. A missing or failed member cannot be read around:
// its pieces fail, and a member's read error reaches the reader as EIO, as
// raid0 and linear pass a bio's error up without md_error.
#pragma once

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "mdfs/personality.h"
#include "raid/io_plan.h"
#include "raid/layout.h"
#include "raid/members.h"

namespace mdfs::raid {

// Each role is its own copy set: losing any member loses data.
inline std::vector<std::vector<int>> singleton_sets(int raid_disks) {
  std::vector<std::vector<int>> sets;
  for (int r = 0; r < raid_disks; ++r) sets.push_back({r});
  return sets;
}

// Layout: array_sectors(), map(sector) -> MemberRun.
template <class Layout>
class NonRedundant : public Personality {
 public:
  NonRedundant(Layout layout, std::vector<Disk*> roles, ArrayEvents& events)
      : layout_(std::move(layout)), members_(roles, singleton_sets(int(roles.size())), events) {}

  uint64_t array_sectors() const override { return layout_.array_sectors(); }

  int read(uint64_t offset, std::span<std::byte> out) override {
    if (!in_array(offset, out.size())) return EINVAL;
    IoPlan plan(members_.raid_disks());
    this->plan(offset, out.size(), plan);
    for (const auto& run : plan.runs()) {
      if (!members_.working(run.role)) return EIO;
      if (plan.read(run, *members_.disk(run.role), out) != 0) return EIO;
    }
    return 0;
  }

  int write(uint64_t offset, std::span<const std::byte> in) override {
    if (!in_array(offset, in.size())) return EINVAL;
    IoPlan plan(members_.raid_disks());
    this->plan(offset, in.size(), plan);
    for (const auto& run : plan.runs())
      if (!members_.working(run.role)) return EIO;
    for (const auto& run : plan.runs())
      if (int e = plan.write(run, *members_.disk(run.role), in)) return e;
    return 0;
  }

  bool map_read(uint64_t offset, size_t length, std::vector<Extent>& out) override {
    if (!in_array(offset, length)) return false;
    size_t first = out.size();
    uint64_t end = offset + length;
    for (uint64_t pos = offset; pos < end;) {
      MemberRun r = layout_.map(pos / kSectorSize);
      uint64_t n = std::min(end - pos, r.sectors * kSectorSize - pos % kSectorSize);
      if (!members_.working(r.role)) {
        out.resize(first);
        return false;
      }
      Disk* d = members_.disk(r.role);
      append_extent(out, r.role, d->fd(), d->data_start() + r.sector * kSectorSize + pos % kSectorSize, n);
      pos += n;
    }
    return true;
  }

  int sync() override {
    int first_error = 0;
    for (int r = 0; r < members_.raid_disks(); ++r) {
      if (!members_.working(r)) continue;
      if (int e = members_.disk(r)->sync(); e && !first_error) first_error = e;
    }
    return first_error;
  }

  void fail(int role) override { members_.fail(role); }
  int degraded() const override { return members_.degraded(); }

 protected:
  const Layout& layout() const { return layout_; }

 private:
  bool in_array(uint64_t offset, size_t length) const {
    uint64_t size = layout_.array_sectors() * kSectorSize;
    return offset <= size && length <= size - offset;
  }

  void plan(uint64_t offset, size_t length, IoPlan& plan) const {
    uint64_t end = offset + length;
    for (uint64_t pos = offset; pos < end;) {
      MemberRun r = layout_.map(pos / kSectorSize);
      uint64_t in = pos % kSectorSize;
      uint64_t n = std::min(end - pos, r.sectors * kSectorSize - in);
      plan.add(r.role, r.role, r.sector * kSectorSize + in, pos - offset, n);
      pos += n;
    }
  }

  Layout layout_;
  Members members_;
};

// The PersonalityType entry points of a non-redundant level P, whose
// layout comes from LayoutOf(geometry): every role must be present.
template <auto LayoutOf>
Result<uint64_t> non_redundant_array_sectors(const Geometry& geo) {
  auto l = LayoutOf(geo);
  if (!l) return err(l.error());
  return l->array_sectors();
}

template <class P, auto LayoutOf>
Result<std::unique_ptr<Personality>> run_non_redundant(const Geometry& geo, std::vector<Disk*> roles,
                                                       ArrayEvents& events) {
  auto l = LayoutOf(geo);
  if (!l) return err(l.error());
  if (roles.size() != size_t(geo.raid_disks) || std::count(roles.begin(), roles.end(), nullptr))
    return err(EINVAL);
  return std::unique_ptr<Personality>(std::make_unique<P>(std::move(*l), std::move(roles), events));
}

}  // namespace mdfs::raid
