// raid4, raid5 and raid6: striping with one (P) or two (P, Q) parity chunks
// per stripe, as the kernel's raid5.c. Reads go straight to the data chunks
// and rebuild a lost one from the rest of its stripe; writes keep each
// stripe's parity right by read-modify-write or reconstruct-write, whichever
// reads less, as handle_stripe_dirtying chooses.
#include "raid/raid5.h"

#include "raid/geometry.h"
#include "raid/parity.h"
#include "raid/raid5_impl.h"

namespace mdfs::raid::r5 {

namespace {

// The kernel's stripe heads work in pages: the bitmap is told of writes in
// whole pages of each member.
constexpr uint64_t kIntentPage = 4096;
constexpr uint64_t kIntentPageSectors = kIntentPage / kSectorSize;

// Failures this thread found during the current request, not yet told.
struct Failure {
  int role;
  int error;
};
thread_local std::vector<Failure> t_failures;

}  // namespace

void Raid5::member_error(int role, int error) {
  if (disks_[role] == nullptr) return;
  recovering_[role].store(false);
  if (!failed_[role].exchange(true)) t_failures.push_back({role, error});
}

void Raid5::report_failures() {
  std::vector<Failure> failures;
  failures.swap(t_failures);
  for (const Failure& f : failures) events_.member_failed(f.role, f.error);
}

void Raid5::bad_block_or_fail(int role, uint64_t lo, uint64_t hi, int error) {
  const uint64_t first = lo / kSectorSize;
  if (!events_.record_bad_block(role, first, (hi + kSectorSize - 1) / kSectorSize - first)) member_error(role, error);
}

int Raid5::degraded() const {
  int n = 0;
  for (size_t role = 0; role < disks_.size(); ++role) n += working(static_cast<int>(role)) ? 0 : 1;
  return n;
}

std::string Raid5::mdstat_status() const {
  const int n = layout_.raid_disks();
  std::string s = " level " + std::to_string(layout_.level()) + ", " +
                  std::to_string(layout_.chunk_sectors() / 2) + "k chunk, algorithm " +
                  std::to_string(layout_number_) + " [" + std::to_string(n) + "/" +
                  std::to_string(n - degraded()) + "] [";
  for (int role = 0; role < n; ++role) s += working(role) ? 'U' : '_';
  s += ']';
  return s;
}

int Raid5::sync() {
  for (size_t role = 0; role < disks_.size(); ++role) {
    const int r = static_cast<int>(role);
    if (!working(r)) continue;
    if (const int e = disks_[role]->sync(); e != 0) member_error(r, e);
  }
  report_failures();
  return degraded() > max_degraded_ ? EIO : 0;
}

bool Raid5::map_read(uint64_t offset, size_t length, std::vector<Extent>& out) {
  if (!in_array(offset, length)) return false;
  const size_t start = out.size();
  StripeRoles roles;
  const int r = for_each_stripe(offset, length, [&](uint64_t stripe, const Parts& parts) {
    layout_.roles(stripe, roles);
    for (int k = 0; k < data_disks_; ++k) {
      const ChunkPart& part = parts[k];
      if (part.empty()) continue;
      const int role = roles.data[k];
      if (!working(role) || disks_[role]->fd() < 0) return 1;
      const Extent e{disks_[role]->fd(), disks_[role]->data_start() + stripe * chunk_bytes_ + part.lo,
                     part.size(), role};
      if (out.size() > start && out.back().fd == e.fd &&
          out.back().file_offset + out.back().length == e.file_offset) {
        out.back().length += e.length;
      } else {
        out.push_back(e);
      }
    }
    return 0;
  });
  if (r != 0) out.resize(start);
  return r == 0;
}

int Raid5::read(uint64_t offset, std::span<std::byte> out) {
  const int r = do_read(offset, out);
  report_failures();
  return r;
}

int Raid5::do_read(uint64_t offset, std::span<std::byte> out) {
  if (!in_array(offset, out.size())) return EINVAL;
  // With every needed member working, one request per member: a member's
  // chunks of successive stripes continue each other on it.
  if (gathered_read(offset, out) == 0) return 0;
  // Else chunk by chunk: a lost member's chunks rebuilt from the rest, a
  // member's read error handled as md handles it.
  StripeRoles roles;
  return for_each_stripe(offset, out.size(), [&](uint64_t stripe, const Parts& parts) {
    layout_.roles(stripe, roles);
    bool lost = false;
    for (int k = 0; k < data_disks_; ++k) lost = lost || (!parts[k].empty() && !working(roles.data[k]));
    if (lost && degraded_stripe_read(stripe, roles, parts, out.data()) == 0) return 0;
    for (int k = 0; k < data_disks_; ++k) {
      const ChunkPart& part = parts[k];
      if (part.empty()) continue;
      std::byte* dst = out.data() + part.buf_off;
      const int role = roles.data[k];
      if (!working(role)) {
        if (const int r = rebuild_read(stripe, k, part, dst); r != 0) return r;
        continue;
      }
      if (disks_[role]->read(stripe * chunk_bytes_ + part.lo, {dst, part.size()}) == 0) continue;
      std::unique_lock lock(stripe_lock(stripe));
      if (const int r = read_column(stripe, roles, role, part.lo, part.size(), dst); r != 0) return r;
    }
    return 0;
  });
}

int Raid5::gathered_read(uint64_t offset, std::span<std::byte> out) {
  std::vector<Gather<std::byte>> gathers(disks_.size());
  StripeRoles roles;
  const int r = for_each_stripe(offset, out.size(), [&](uint64_t stripe, const Parts& parts) {
    layout_.roles(stripe, roles);
    for (int k = 0; k < data_disks_; ++k) {
      const ChunkPart& part = parts[k];
      if (part.empty()) continue;
      if (!working(roles.data[k])) return EIO;
      gathers[roles.data[k]].add(stripe * chunk_bytes_ + part.lo, out.subspan(part.buf_off, part.size()));
    }
    return 0;
  });
  if (r != 0) return r;
  // An error is handled on the slow path, chunk by chunk.
  for (size_t role = 0; role < disks_.size(); ++role) {
    if (gathers[role].empty()) continue;
    if (const int e = gathers[role].issue(*disks_[role]); e != 0) return e;
  }
  return 0;
}

// A stripe with a lost data chunk among those asked for, as the kernel's
// degraded read fetches each block of the stripe once: every member left
// is read once over the span of the stripe that is asked for (into the
// caller's buffer when its piece is exactly that span), the lost chunks are
// computed from those reads together, and the pieces asked for are copied
// out. Nonzero (nothing is to be trusted) when a member fails to read or
// too many are lost: the caller goes chunk by chunk, where md's read-error
// handling and EIO live.
int Raid5::degraded_stripe_read(uint64_t stripe, const StripeRoles& roles, const Parts& parts, std::byte* out) {
  size_t lo = chunk_bytes_, hi = 0;
  for (int k = 0; k < data_disks_; ++k) {
    if (parts[k].empty()) continue;
    lo = std::min(lo, parts[k].lo);
    hi = std::max(hi, parts[k].hi);
  }
  const size_t len = hi - lo;
  const uint64_t offset = stripe * chunk_bytes_ + lo;
  std::vector<int> missing;
  for (int k = 0; k < data_disks_; ++k)
    if (!working(roles.data[k])) missing.push_back(k);
  const bool use_p = working(roles.p);
  const bool use_q = working(roles.q) && (missing.size() > 1 || !use_p);
  if (missing.size() > static_cast<size_t>(use_p) + static_cast<size_t>(use_q)) return EIO;

  std::shared_lock lock(stripe_lock(stripe));
  Scratch scratch(Scratch::kWork, static_cast<size_t>(data_disks_ + 2) * round_up(len));
  if (!scratch.ok()) return ENOMEM;
  std::vector<std::byte*> data(data_disks_, nullptr);
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    const bool whole = part.lo == lo && part.hi == hi;
    data[k] = whole ? out + part.buf_off : scratch.take(len);
    if (working(roles.data[k]) && disks_[roles.data[k]]->read(offset, {data[k], len}) != 0) return EIO;
  }
  std::byte* p = use_p ? scratch.take(len) : nullptr;
  std::byte* q = use_q ? scratch.take(len) : nullptr;
  if (p && disks_[roles.p]->read(offset, {p, len}) != 0) return EIO;
  if (q && disks_[roles.q]->read(offset, {q, len}) != 0) return EIO;
  if (const int r = parity::recover(data, roles.q_exp, missing, p, q, len); r != 0) return r;
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    std::byte* dst = out + part.buf_off;
    if (!part.empty() && data[k] != dst) std::memcpy(dst, data[k] + (part.lo - lo), part.size());
  }
  return 0;
}

// A data chunk whose member is gone: computed from the rest of its stripe
// (degraded_stripe_read over that chunk alone). When another member fails
// to read, the chunk is done again page by page with the stripe held
// exclusively, as read_column handles a read error.
int Raid5::rebuild_read(uint64_t stripe, int k, const ChunkPart& part, std::byte* dst) {
  StripeRoles roles;
  layout_.roles(stripe, roles);
  Parts only(data_disks_);
  only[k] = ChunkPart{part.lo, part.hi, 0};
  const int r = degraded_stripe_read(stripe, roles, only, dst);
  if (r == 0 || r == ENOMEM) return r;
  std::unique_lock lock(stripe_lock(stripe));
  return read_column(stripe, roles, roles.data[k], part.lo, part.size(), dst);
}

int Raid5::write(uint64_t offset, std::span<const std::byte> in) {
  const int r = do_write(offset, in);
  report_failures();
  return r;
}

int Raid5::write_range(uint64_t offset, std::span<const std::byte> in) {
  const uint64_t stripe_bytes = chunk_bytes_ * static_cast<uint64_t>(data_disks_);
  const uint64_t batch_stripes = std::clamp<uint64_t>(kBatchBytes / stripe_bytes, 1, kMaxBatchStripes);
  uint64_t pos = offset;
  const uint64_t end = offset + in.size();
  while (pos < end) {
    const uint64_t batch_end = std::min(end, (pos / stripe_bytes + batch_stripes) * stripe_bytes);
    if (const int r = write_batch(pos, in.subspan(pos - offset, batch_end - pos)); r != 0) return r;
    pos = batch_end;
  }
  return 0;
}

// Writes [offset, offset + in.size()) of a few whole stripes.
int Raid5::write_batch(uint64_t offset, std::span<const std::byte> in) {
  std::vector<StripeJob> jobs;
  Parts parts;
  for_each_stripe(offset, in.size(), [&](uint64_t stripe, const Parts& stripe_parts) {
    StripeJob job{stripe, parts.size(), chunk_bytes_, 0};
    for (const ChunkPart& part : stripe_parts) {
      parts.push_back(part);
      if (part.empty()) continue;
      job.lo = std::min(job.lo, part.lo);
      job.hi = std::max(job.hi, part.hi);
    }
    jobs.push_back(job);
    return 0;
  });
  return write_jobs(jobs, parts, in.data());
}

// Locks the jobs' stripes, reads what each stripe's parity update needs and
// computes the new parity (prepare), then sends each member one request for
// the whole batch where its pieces continue each other. Every read happens
// before any write, so a member failing a read lets the stripe be planned
// again from scratch.
int Raid5::write_jobs(std::vector<StripeJob>& jobs, const Parts& parts, const std::byte* src) {
  size_t parity_bytes = 0;
  for (const StripeJob& job : jobs)
    parity_bytes += static_cast<size_t>(layout_.parity_disks()) * round_up(job.hi - job.lo);

  // md_bitmap_startwrite: the columns the batch touches, in whole 4 KiB
  // pages as the kernel's stripe heads count them, are dirty in the bitmap
  // before any of its reads or writes.
  const uint64_t chunk_sectors = layout_.chunk_sectors();
  IntentScope intent(intent_,
                     jobs.front().stripe * chunk_sectors + jobs.front().lo / kIntentPage * kIntentPageSectors,
                     jobs.back().stripe * chunk_sectors +
                         (jobs.back().hi + kIntentPage - 1) / kIntentPage * kIntentPageSectors);
  if (const int e = intent.start()) return e;

  std::vector<size_t> lock_indexes;
  for (const StripeJob& job : jobs) lock_indexes.push_back(job.stripe % kStripeLocks);
  std::sort(lock_indexes.begin(), lock_indexes.end());
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  locks.reserve(lock_indexes.size());
  for (size_t i : lock_indexes) locks.emplace_back(stripe_locks_[i]);

  Scratch parity(Scratch::kParity, parity_bytes);
  if (!parity.ok()) return ENOMEM;
  StripeRoles roles;
  for (StripeJob& job : jobs) {
    const size_t width = job.hi - job.lo;
    job.p = parity.take(width);
    if (layout_.level() == 6) job.q = parity.take(width);
    layout_.roles(job.stripe, roles);
    int r = kRetry;
    for (size_t attempt = 0; r == kRetry && attempt <= disks_.size(); ++attempt) {
      r = prepare(job, roles, parts.data() + job.first_part, src);
    }
    if (r != 0) return r == kRetry ? EIO : r;
  }

  std::vector<Gather<const std::byte>> gathers(disks_.size());
  for (const StripeJob& job : jobs) {
    layout_.roles(job.stripe, roles);
    const uint64_t base = job.stripe * chunk_bytes_;
    for (int k = 0; k < data_disks_; ++k) {
      const ChunkPart& part = parts[job.first_part + k];
      if (!part.empty()) gathers[roles.data[k]].add(base + part.lo, {src + part.buf_off, part.size()});
    }
    gathers[roles.p].add(base + job.lo, {job.p, job.hi - job.lo});
    if (job.q) gathers[roles.q].add(base + job.lo, {job.q, job.hi - job.lo});
  }
  bool write_failed = false;
  for (size_t role = 0; role < disks_.size(); ++role) {
    // A member failing here is dropped; its stripes stay consistent for the
    // others, since the parity already holds the new data.
    const int r = static_cast<int>(role);
    if (gathers[role].empty() || !writable(r)) continue;
    uint64_t lo = 0, hi = 0;
    if (const int e = gathers[role].issue(*disks_[role], &lo, &hi); e != 0) {
      bad_block_or_fail(r, lo, hi, e);
      write_failed = true;
    }
  }
  // STRIPE_DEGRADED: a member missing or lost, or a member write that
  // failed (even one kept by its bad block log), keeps the bits.
  intent.complete(!write_failed && all_writable());
  return degraded() > max_degraded_ ? EIO : 0;
}

// Chooses how to bring a stripe's parity up to date, as the kernel's
// handle_stripe_dirtying: read-modify-write (read the old data being
// replaced and the old parity) or reconstruct-write (read the data not
// being replaced), whichever reads fewer bytes; a write covering the stripe
// reads nothing. Both work over [lo, hi), the columns the write touches.
// When a lost data member's old bytes are needed and neither applies, they
// are rebuilt first (degraded_write).
int Raid5::prepare(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts, const std::byte* src) {
  const size_t width = job.hi - job.lo;
  const bool p_ok = working(roles.p);
  const bool q_ok = roles.q < 0 || working(roles.q);
  int lost = (p_ok ? 0 : 1) + (q_ok ? 0 : 1);

  bool rmw_ok = p_ok && q_ok;
  size_t rmw_reads = width * static_cast<size_t>(layout_.parity_disks());
  bool rcw_ok = true;
  size_t rcw_reads = 0;
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    const bool ok = working(roles.data[k]);
    lost += ok ? 0 : 1;
    if (!part.empty()) {
      rmw_ok = rmw_ok && ok;
      rmw_reads += part.size();
    }
    if (ok) {
      rcw_reads += width - part.size();
    } else if (part.lo != job.lo || part.hi != job.hi) {
      rcw_ok = false;  // its old bytes beside the new ones are unknown
    }
  }
  if (lost > max_degraded_) return EIO;
  if (rmw_ok && (!rcw_ok || rmw_reads < rcw_reads)) return read_modify_write(job, roles, parts, src);
  if (rcw_ok) return reconstruct_write(job, roles, parts, src);
  return degraded_write(job, roles, parts, src);
}

int Raid5::read_modify_write(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts,
                             const std::byte* src) {
  const size_t width = job.hi - job.lo;
  size_t bytes = 0;
  for (int k = 0; k < data_disks_; ++k) bytes += round_up(parts[k].size());
  Scratch scratch(Scratch::kWork, bytes);
  if (!scratch.ok()) return ENOMEM;
  if (read_column(job.stripe, roles, roles.p, job.lo, width, job.p) != 0) return kRetry;
  if (job.q && read_column(job.stripe, roles, roles.q, job.lo, width, job.q) != 0) return kRetry;
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    if (part.empty()) continue;
    std::byte* old = scratch.take(part.size());
    if (read_column(job.stripe, roles, roles.data[k], part.lo, part.size(), old) != 0) return kRetry;
    parity::xor_into(old, src + part.buf_off, part.size());  // old ^ new
    const size_t at = part.lo - job.lo;
    parity::apply_delta(old, job.q ? roles.q_exp[k] : 0, job.p + at, job.q ? job.q + at : nullptr, part.size());
  }
  return 0;
}

int Raid5::reconstruct_write(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts,
                             const std::byte* src) {
  const size_t width = job.hi - job.lo;
  size_t bytes = 0;
  for (int k = 0; k < data_disks_; ++k) bytes += parts[k].size() == width ? 0 : round_up(width);
  Scratch scratch(Scratch::kWork, bytes);
  if (!scratch.ok()) return ENOMEM;
  std::vector<const std::byte*> data(data_disks_, nullptr);
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    if (part.size() == width) {
      data[k] = src + part.buf_off;  // wholly new: parity straight from the caller's buffer
      continue;
    }
    std::byte* buf = scratch.take(width);
    const int role = roles.data[k];
    if (part.empty()) {
      if (read_column(job.stripe, roles, role, job.lo, width, buf) != 0) return kRetry;
    } else {
      if (read_column(job.stripe, roles, role, job.lo, part.lo - job.lo, buf) != 0) return kRetry;
      if (read_column(job.stripe, roles, role, part.hi, job.hi - part.hi, buf + (part.hi - job.lo)) != 0)
        return kRetry;
      std::memcpy(buf + (part.lo - job.lo), src + part.buf_off, part.size());
    }
    data[k] = buf;
  }
  if (job.q) {
    parity::gen_pq(data, roles.q_exp, job.p, job.q, width);
  } else {
    parity::gen_p(data, job.p, width);
  }
  return 0;
}

// A write into a stripe that lost a data member whose old bytes are still
// needed: read what is left, rebuild the lost chunk, lay the new data over
// it and take the parity of the result, so that a later rebuild of the
// member finds the new data.
int Raid5::degraded_write(StripeJob& job, const StripeRoles& roles, const ChunkPart* parts, const std::byte* src) {
  const size_t width = job.hi - job.lo;
  Scratch scratch(Scratch::kWork, static_cast<size_t>(data_disks_ + 2) * round_up(width));
  if (!scratch.ok()) return ENOMEM;
  std::vector<std::byte*> data(data_disks_, nullptr);
  std::vector<int> missing;
  for (int k = 0; k < data_disks_; ++k) {
    data[k] = scratch.take(width);
    if (!working(roles.data[k])) {
      missing.push_back(k);
    } else if (read_column(job.stripe, roles, roles.data[k], job.lo, width, data[k]) != 0) {
      return kRetry;
    }
  }
  std::byte* old_p = nullptr;
  std::byte* old_q = nullptr;
  if (working(roles.p)) {
    old_p = scratch.take(width);
    if (read_column(job.stripe, roles, roles.p, job.lo, width, old_p) != 0) return kRetry;
  }
  if (working(roles.q)) {
    old_q = scratch.take(width);
    if (read_column(job.stripe, roles, roles.q, job.lo, width, old_q) != 0) return kRetry;
  }
  if (parity::recover(data, roles.q_exp, missing, old_p, old_q, width) != 0) return EIO;
  std::vector<const std::byte*> view(data_disks_);
  for (int k = 0; k < data_disks_; ++k) {
    const ChunkPart& part = parts[k];
    if (!part.empty()) std::memcpy(data[k] + (part.lo - job.lo), src + part.buf_off, part.size());
    view[k] = data[k];
  }
  if (job.q) {
    parity::gen_pq(view, roles.q_exp, job.p, job.q, width);
  } else {
    parity::gen_p(view, job.p, width);
  }
  return 0;
}

int Raid5::add_disk(int role, Disk* disk) {
  if (role < 0 || static_cast<size_t>(role) >= disks_.size() || !disk) return EINVAL;
  if (working(role)) return EBUSY;
  disks_[role] = disk;
  recovering_[role].store(true);
  failed_[role].store(false);
  return 0;
}

SyncResult Raid5::sync_window(SyncKind kind, uint64_t start, uint64_t count) {
  const uint64_t chunk = layout_.chunk_sectors();
  SyncResult result;
  for (uint64_t stripe = start / chunk; stripe * chunk < start + count && stripe * chunk < sync_sectors(); ++stripe) {
    SyncResult r;
    {
      std::unique_lock lock(stripe_lock(stripe));
      r = kind == SyncKind::kRecover ? recover_stripe(stripe) : sync_stripe(kind, stripe);
    }
    report_failures();
    result.mismatches += r.mismatches;
    if (r.error != 0) return {r.error, result.mismatches};
  }
  return result;
}

// Check, repair and resync of one stripe: the parity computed from the data
// is compared with the parity on the members page by page (4 KiB, the
// kernel's STRIPE_SIZE, counted as 8 sectors), and rewritten unless only
// checking. A stripe missing a member has nothing to compare: skipped, as
// the kernel skips a sync it cannot do.
SyncResult Raid5::sync_stripe(SyncKind kind, uint64_t stripe) {
  constexpr size_t kPage = 4096;
  if (degraded() > 0) return {};
  StripeRoles roles;
  layout_.roles(stripe, roles);
  const size_t len = chunk_bytes_;
  const uint64_t base = stripe * chunk_bytes_;
  const bool q = roles.q >= 0;
  Scratch scratch(Scratch::kWork, static_cast<size_t>(data_disks_ + 4) * round_up(len));
  if (!scratch.ok()) return {ENOMEM, 0};
  std::vector<const std::byte*> data(data_disks_);
  for (int k = 0; k < data_disks_; ++k) {
    std::byte* buf = scratch.take(len);
    if (read_column(stripe, roles, roles.data[k], 0, len, buf) != 0) return {};
    data[k] = buf;
  }
  std::byte* old_p = scratch.take(len);
  std::byte* old_q = q ? scratch.take(len) : nullptr;
  std::byte* new_p = scratch.take(len);
  std::byte* new_q = q ? scratch.take(len) : nullptr;
  if (read_column(stripe, roles, roles.p, 0, len, old_p) != 0) return {};
  if (q && read_column(stripe, roles, roles.q, 0, len, old_q) != 0) return {};
  if (q) parity::gen_pq(data, roles.q_exp, new_p, new_q, len);
  else parity::gen_p(data, new_p, len);
  uint64_t mismatches = 0;
  for (size_t at = 0; at < len; at += kPage) {
    const bool bad = std::memcmp(old_p + at, new_p + at, kPage) != 0 ||
                     (q && std::memcmp(old_q + at, new_q + at, kPage) != 0);
    if (bad) mismatches += kPage / kSectorSize;
  }
  if (mismatches && kind != SyncKind::kCheck) {
    if (const int e = disks_[roles.p]->write(base, {new_p, len}); e != 0) bad_block_or_fail(roles.p, base, base + len, e);
    if (q) {
      if (const int e = disks_[roles.q]->write(base, {new_q, len}); e != 0)
        bad_block_or_fail(roles.q, base, base + len, e);
    }
  }
  return {0, kind == SyncKind::kResync ? 0 : mismatches};
}

// Recovery of one stripe: every chunk of a recovering role computed from
// the working members (lost data through the parity, lost parity from the
// data) and written to it.
SyncResult Raid5::recover_stripe(uint64_t stripe) {
  StripeRoles roles;
  layout_.roles(stripe, roles);
  const size_t len = chunk_bytes_;
  const uint64_t base = stripe * chunk_bytes_;
  const bool q = roles.q >= 0;
  auto rebuilding = [&](int role) { return writable(role) && recovering_[role].load(); };
  bool any = rebuilding(roles.p) || (q && rebuilding(roles.q));
  for (int k = 0; k < data_disks_; ++k) any = any || rebuilding(roles.data[k]);
  if (!any) return {};
  Scratch scratch(Scratch::kWork, static_cast<size_t>(data_disks_ + 2) * round_up(len));
  if (!scratch.ok()) return {ENOMEM, 0};
  std::vector<std::byte*> data(data_disks_);
  std::vector<int> missing;
  for (int k = 0; k < data_disks_; ++k) {
    data[k] = scratch.take(len);
    if (!working(roles.data[k])) missing.push_back(k);
    else if (read_column(stripe, roles, roles.data[k], 0, len, data[k]) != 0) return {EIO, 0};
  }
  std::byte* p = scratch.take(len);
  std::byte* qb = q ? scratch.take(len) : nullptr;
  const bool have_p = working(roles.p) && read_column(stripe, roles, roles.p, 0, len, p) == 0;
  const bool have_q = q && working(roles.q) && read_column(stripe, roles, roles.q, 0, len, qb) == 0;
  if (!missing.empty() &&
      parity::recover(data, roles.q_exp, missing, have_p ? p : nullptr, have_q ? qb : nullptr, len) != 0)
    return {EIO, 0};
  std::vector<const std::byte*> view(data.begin(), data.end());
  if (q) parity::gen_pq(view, roles.q_exp, p, qb, len);
  else parity::gen_p(view, p, len);
  auto put = [&](int role, const std::byte* buf) {
    if (!rebuilding(role)) return;
    if (const int e = disks_[role]->write(base, {buf, len}); e != 0) bad_block_or_fail(role, base, base + len, e);
  };
  for (int k = 0; k < data_disks_; ++k) put(roles.data[k], data[k]);
  put(roles.p, p);
  if (q) put(roles.q, qb);
  return {};
}

}  // namespace mdfs::raid::r5

namespace mdfs::raid {

namespace {

using r5::Raid5;

template <int Level>
int max_degraded_of(const Geometry&) {
  return Level == 6 ? 2 : 1;
}

// raid5_size: every member gives the component size rounded down to whole
// chunks.
template <int Level>
Result<uint64_t> array_sectors_of(const Geometry& g) {
  if (g.level != Level) return err(EINVAL);
  auto layout = Raid5Layout::make(Level, g.layout, g.raid_disks, g.chunk_sectors);
  if (!layout) return err(layout.error());
  if (g.member_sectors.size() != static_cast<size_t>(g.raid_disks)) return err(EINVAL);
  const uint64_t component = checked_component(g);
  if (component == 0) return err(EINVAL);
  const uint64_t sectors = component & ~(static_cast<uint64_t>(g.chunk_sectors) - 1);
  return sectors * static_cast<uint64_t>(layout->data_disks());
}

template <int Level>
Result<std::unique_ptr<Personality>> run_of(const Geometry& g, std::vector<Disk*> roles, ArrayEvents& events) {
  auto sectors = array_sectors_of<Level>(g);
  if (!sectors) return err(sectors.error());
  if (roles.size() != static_cast<size_t>(g.raid_disks)) return err(EINVAL);
  // As raid5's run(): not enough operational devices.
  if (std::count(roles.begin(), roles.end(), nullptr) > max_degraded_of<Level>(g)) return err(EIO);
  auto layout = Raid5Layout::make(Level, g.layout, g.raid_disks, g.chunk_sectors);
  return std::unique_ptr<Personality>(std::make_unique<Raid5>(g, *layout, *sectors, std::move(roles), events));
}

}  // namespace

extern const PersonalityType kRaid4Personality = {
    .name = "raid4",
    .level = 4,
    .min_disks = 2,
    .max_degraded = max_degraded_of<4>,
    .array_sectors = array_sectors_of<4>,
    .run = run_of<4>,
};

extern const PersonalityType kRaid5Personality = {
    .name = "raid5",
    .level = 5,
    .min_disks = 2,
    .max_degraded = max_degraded_of<5>,
    .array_sectors = array_sectors_of<5>,
    .run = run_of<5>,
};

extern const PersonalityType kRaid6Personality = {
    .name = "raid6",
    .level = 6,
    .min_disks = 4,
    .max_degraded = max_degraded_of<6>,
    .array_sectors = array_sectors_of<6>,
    .run = run_of<6>,
};

}  // namespace mdfs::raid
