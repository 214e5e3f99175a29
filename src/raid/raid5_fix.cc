// Member read errors of raid4, raid5 and raid6, as the kernel's
// raid5_end_read_request and handle_stripe handle them: a chunk that does
// not read is read again a page at a time (R5_ReadNoMerge, the kernel's
// 4 KiB stripe pages); a page that still fails is computed from the rest of
// its stripe, written back onto the member and read again (R5_ReadError,
// R5_ReWrite). A page on a recorded bad block is computed the same way,
// nothing counted, and written back only to a member that has seen no
// write error (analyse_stripe). A stripe that has lost more than its
// parity can cover fails the read, and each member that failed it gets a
// bad block where it has a log, else md_error (handle_failed_stripe).
#include "raid/parity.h"
#include "raid/raid5_impl.h"

namespace mdfs::raid::r5 {

namespace {

constexpr size_t kPage = 4096;

}  // namespace

// What the array decided about each member that failed a read during one
// read_column: a member's error counts once for the request, however many
// of its pages fail (raid1 and raid10 count once per request piece too).
// Also the pages a fix works in, taken once per read_column.
struct Raid5::FixState {
  ReadErrorPolicy policy(ArrayEvents& events, int role) {
    for (const auto& [r, p] : decided)
      if (r == role) return p;
    decided.emplace_back(role, events.read_error(role));
    return decided.back().second;
  }
  // The same for a read that met a recorded bad block: nothing counted.
  ReadErrorPolicy bad_block(ArrayEvents& events, int role) {
    for (const auto& [r, p] : decided)
      if (r == role) return p;
    decided.emplace_back(role, events.bad_block_read(role));
    return decided.back().second;
  }
  std::vector<std::pair<int, ReadErrorPolicy>> decided;
  std::vector<std::byte*> data;  // a page per data chunk
  std::byte* p = nullptr;
  std::byte* q = nullptr;
  std::byte* new_p = nullptr;  // parity computed from the data
  std::byte* new_q = nullptr;
  std::byte* check = nullptr;  // a rewritten page read back
};

int Raid5::read_column(uint64_t stripe, const StripeRoles& roles, int role, size_t lo, size_t len, std::byte* dst) {
  if (len == 0) return 0;
  FixState fix;
  if (working(role)) {
    const int e = disks_[role]->read(stripe * chunk_bytes_ + lo, {dst, len});
    if (e == 0) return 0;
    // A member whose file ended is gone there: failed, never rewritten. A
    // recorded bad block is computed from the rest, and counts nothing.
    const ReadErrorPolicy policy = e == kMemberGone ? ReadErrorPolicy::kFail
                                   : e == kBadBlock ? fix.bad_block(events_, role)
                                                    : fix.policy(events_, role);
    if (policy == ReadErrorPolicy::kFail) member_error(role, e);
  }
  return rebuild_pages(stripe, roles, role, lo, len, dst, fix);
}

// Bytes [lo, lo + len) of `role`'s chunk, page by page: each page read from
// the member once more if it still works, else computed by compute_page.
int Raid5::rebuild_pages(uint64_t stripe, const StripeRoles& roles, int role, size_t lo, size_t len,
                         std::byte* dst, FixState& fix) {
  Scratch scratch(Scratch::kFix, static_cast<size_t>(data_disks_ + 6) * round_up(kPage));
  if (!scratch.ok()) return ENOMEM;
  fix.data.resize(static_cast<size_t>(data_disks_));
  for (auto& page : fix.data) page = scratch.take(kPage);
  fix.p = scratch.take(kPage);
  fix.q = scratch.take(kPage);
  fix.new_p = scratch.take(kPage);
  fix.new_q = scratch.take(kPage);
  fix.check = scratch.take(kPage);
  std::byte* mine = scratch.take(kPage);
  const uint64_t base = stripe * chunk_bytes_;
  for (size_t at = lo / kPage * kPage; at < lo + len; at += kPage) {
    bool have = false;
    if (working(role)) {
      const int e = disks_[role]->read(base + at, {mine, kPage});
      if (e == 0) have = true;
      else if (e == kMemberGone) member_error(role, e);
    }
    if (!have) {
      if (const int r = compute_page(stripe, roles, role, at, mine, fix); r != 0) return r;
    }
    const size_t from = std::max(at, lo), to = std::min(at + kPage, lo + len);
    std::memcpy(dst + (from - lo), mine + (from - at), to - from);
  }
  return 0;
}

// Page `at` of `role`'s chunk from the rest of the stripe, into `out`.
// Every other member that fails to read the page is counted (FixState)
// and, unless failed for it, rebuilt along; when the array's policy is to
// fix, each member that failed the page and still works gets it written
// back and read again, and counts as corrected when it reads.
int Raid5::compute_page(uint64_t stripe, const StripeRoles& roles, int role, size_t at, std::byte* out,
                        FixState& fix) {
  const uint64_t off = stripe * chunk_bytes_ + at;
  const bool has_q = roles.q >= 0;
  std::vector<int> bad;  // members that failed the page and stay
  // Whether the page of member `r` is known after reading it into `buf`.
  auto fetch = [&](int r, std::byte* buf) {
    if (!working(r)) return false;
    if (r == role) {
      bad.push_back(r);
      return false;
    }
    const int e = disks_[r]->read(off, {buf, kPage});
    if (e == 0) return true;
    if (e == kBadBlock) {
      fix.bad_block(events_, r);
      bad.push_back(r);
      return false;
    }
    if (e == kMemberGone || fix.policy(events_, r) == ReadErrorPolicy::kFail) member_error(r, e);
    else bad.push_back(r);
    return false;
  };
  std::vector<std::byte*> data(fix.data.begin(), fix.data.end());
  std::vector<int> missing;
  for (int k = 0; k < data_disks_; ++k) {
    if (!fetch(roles.data[k], data[k])) missing.push_back(k);
  }
  const bool have_p = fetch(roles.p, fix.p);
  const bool have_q = has_q && fetch(roles.q, fix.q);
  const size_t lost = missing.size() + (have_p ? 0 : 1) + (has_q && !have_q ? 1 : 0);
  if (lost > static_cast<size_t>(max_degraded_)) {
    for (int r : bad) bad_block_or_fail(r, off, off + kPage, EIO);
    return EIO;
  }
  if (parity::recover(data, roles.q_exp, missing, have_p ? fix.p : nullptr, have_q ? fix.q : nullptr, kPage) != 0)
    return EIO;
  const std::vector<const std::byte*> view(data.begin(), data.end());
  if (has_q) parity::gen_pq(view, roles.q_exp, fix.new_p, fix.new_q, kPage);
  else parity::gen_p(view, fix.new_p, kPage);
  auto page_of = [&](int r) -> const std::byte* {
    if (r == roles.p) return fix.new_p;
    if (r == roles.q) return fix.new_q;
    for (int k = 0; k < data_disks_; ++k)
      if (roles.data[k] == r) return data[k];
    return nullptr;
  };
  for (int r : bad) {
    if (!working(r) || fix.policy(events_, r) != ReadErrorPolicy::kFix) continue;
    if (const int e = disks_[r]->write(off, {page_of(r), kPage}); e != 0) {
      bad_block_or_fail(r, off, off + kPage, e);
    } else if (disks_[r]->read(off, {fix.check, kPage}) == 0) {
      events_.read_error_corrected(r, off / kSectorSize, kPage / kSectorSize);
    } else {
      bad_block_or_fail(r, off, off + kPage, EIO);  // "read error NOT corrected"
    }
  }
  std::memcpy(out, page_of(role), kPage);
  return 0;
}

}  // namespace mdfs::raid::r5
