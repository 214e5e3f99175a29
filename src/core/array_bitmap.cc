// The array's side of the write-intent bitmap (core/bitmap.h holds the
// bitmap itself): starting it with the array (md_bitmap_create and
// md_bitmap_load), the members that carry it, the personality's
// WriteIntent, the daemon's timer on the md thread, how a sync pass uses
// it, the re-add rule, and bitmap/ with its array attributes as md.c and
// md-bitmap.c show and store them.
#include <linux/raid/md_p.h>

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <limits>

#include "core/array.h"
#include "core/jiffies.h"
#include "core/log.h"
#include "core/parse.h"
#include "core/registry.h"
#include "core/superblock.h"

namespace mdfs::core {

namespace {

// One member's copy of the bitmap: its file at the bitmap's place.
class MemberArea final : public BitmapArea {
 public:
  MemberArea(std::shared_ptr<Member> member, uint64_t base) : member_(std::move(member)), base_(base) {}
  int write(uint64_t offset, std::span<const std::byte> bytes, bool durable) override {
    return durable ? member_->pwrite_durable(base_ + offset, bytes) : member_->pwrite_exact(base_ + offset, bytes);
  }
  const Member* member() const { return member_.get(); }

 private:
  std::shared_ptr<Member> member_;
  uint64_t base_;  // bytes
};

// mdadm's chunk when none is asked for, with `room_sectors` free for the
// bitmap (mdadm limits itself to 128 KiB then).
uint32_t default_chunk(uint64_t sync_sectors, uint64_t room_sectors) {
  return format::mdadm_bitmap_chunk(sync_sectors, std::min<uint64_t>(room_sectors, 256) * 512);
}

// Sectors free for a bitmap at `offset` from the member's superblock: up
// to its data, superblock or bad block log, whichever comes first.
uint64_t room_at(const Member& m, int major, int64_t offset) {
  if (major == 0) return (MD_RESERVED_BYTES - format::kSb0Bytes) / 512;
  uint64_t room = 0;
  for (uint64_t n = 8; n <= 1 << 16; n *= 2) {
    if (!superblock::bitmap_fits(m, major, offset, n * 512)) break;
    room = n;
  }
  return room;
}

}  // namespace

struct Array::BitmapDaemon {
  std::weak_ptr<Bitmap> bitmap;
  std::mutex mutex;  // guards armed and timer; taken under no other lock
  bool armed = false;
  std::unique_ptr<boost::asio::steady_timer> timer;
};

int Array::Intent::start_write(uint64_t lo, uint64_t hi) {
  Bitmap* bm = array_.live_bitmap_.load(std::memory_order_acquire);
  if (!bm) return 0;
  std::vector<BitmapArea*> failed;
  const int e = bm->start_write(lo, hi, failed);
  // The writer holds the personality (Array::io): it outlives the call.
  if (!failed.empty()) array_.bitmap_areas_failed(failed, array_.pers_.get());
  return e;
}

void Array::Intent::end_write(uint64_t lo, uint64_t hi, bool complete) {
  if (Bitmap* bm = array_.live_bitmap_.load(std::memory_order_acquire)) bm->end_write(lo, hi, complete);
}

uint32_t Array::Intent::write_behind() {
  Bitmap* bm = array_.live_bitmap_.load(std::memory_order_acquire);
  return bm ? bm->write_behind() : 0;
}

// Called inside the array write that goes behind (md_write_start has run):
// the count keeps safe mode from marking the array clean until the
// write-mostly mirrors have it, so that a crash meanwhile leaves the
// resync of its dirty chunks owed.
void Array::Intent::behind_started(uint32_t outstanding) {
  ++array_.writes_in_flight_;
  if (Bitmap* bm = array_.live_bitmap_.load(std::memory_order_acquire)) bm->note_behind(outstanding);
}

void Array::Intent::behind_ended() { array_.md_write_end(); }

bool Array::Intent::recovery_needed(uint64_t lo, uint64_t hi) {
  Bitmap* bm = array_.live_bitmap_.load(std::memory_order_acquire);
  return !bm || array_.recovery_full_.load() || bm->needed(lo, hi);
}

uint32_t Array::bitmap_room() const {
  if (bitmap_info_.offset >= -8) return 0;
  return static_cast<uint32_t>(-bitmap_info_.offset - 8);
}

Result<Array::OpenedBitmap> Array::open_bitmap(const BitmapOpen& o) {
  OpenedBitmap out;
  out.info = bitmap_info_;
  BitmapInfo& info = out.info;
  const BitmapStart& start = o.start;
  if (start.sync_sectors == 0) return out;  // md_run makes no bitmap for raid0 and linear
  if (o.creating) {
    if (info.offset == 0) return out;
    // mdadm writes a new bitmap (every bit set, events 0) before the
    // kernel starts the array; mdfs does it here.
    uint32_t chunk = info.chunksize;
    if (chunk == 0 && !o.carriers.empty())
      chunk = default_chunk(start.sync_sectors, room_at(*o.carriers.front(), major_version_, info.offset));
    if (chunk == 0) {
      log_line(name_ + ": cannot start: no room for a bitmap at " + std::to_string(info.offset));
      return err(EINVAL);
    }
    format::BitmapSuper sb = format::new_bitmap_super(o.uuid, start.sync_sectors, chunk);
    sb.write_behind = info.max_write_behind;
    out.bitmap = Bitmap::fresh(sb, start);
  } else {
    if (!o.freshest || o.freshest->bitmap_offset == 0) {
      // bitmap/location written before an assembly points at a bitmap
      // the members do not have: md_bitmap_read_sb finds no magic there.
      if (info.offset == 0) return out;
      log_line(name_ + ": cannot start: no bitmap at " + std::to_string(info.offset) + " on its members");
      return err(EINVAL);
    }
    // As read_sb_page: the first member in sync that reads.
    std::string why = "no member in sync holds it";
    for (const Member* m : o.readers) {
      if (!m->super || !m->super->bitmap) continue;
      const format::BitmapSuper& sb = *m->super->bitmap;
      const uint64_t chunks = format::bitmap_chunks(start.sync_sectors, sb.chunksize);
      std::vector<std::byte> image(format::kBitmapSuperBytes + (chunks + 7) / 8);
      const int64_t at = static_cast<int64_t>(m->sb_offset) + m->super->bitmap_offset;
      if (int e = m->pread_exact(static_cast<uint64_t>(at) * 512, image)) {
        why = m->name() + ": " + std::strerror(e);
        continue;
      }
      if (sb.events < start.events || (sb.state & format::kBitmapStale))
        log_line(name_ + ": bitmap file is out of date (" + std::to_string(sb.events) + " < " +
                 std::to_string(start.events) + ") -- forcing full recovery");
      out.bitmap = std::make_shared<Bitmap>(sb, image, start);
      info.offset = m->super->bitmap_offset;
      info.daemon_sleep_ms = uint64_t{sb.daemon_sleep} * 1000;
      info.max_write_behind = sb.write_behind;
      if (info.space == 0 || info.space > sb.sectors_reserved) info.space = sb.sectors_reserved;
      break;
    }
    if (!out.bitmap) {
      log_line(name_ + ": cannot start: cannot read its bitmap: " + why);
      return err(EINVAL);
    }
  }
  if (info.daemon_sleep_ms) out.bitmap->set_daemon_sleep_ms(info.daemon_sleep_ms);
  info.daemon_sleep_ms = out.bitmap->daemon_sleep_ms();
  info.chunksize = static_cast<uint32_t>(out.bitmap->chunk_sectors() * 512);
  const uint64_t bytes = out.bitmap->bytes();
  for (const Member* m : o.carriers) {
    if (!superblock::bitmap_fits(*m, major_version_, info.offset, bytes)) {
      log_line(name_ + ": cannot start: its bitmap (" + std::to_string(bytes) + " bytes at " +
               std::to_string(info.offset) + ") would overlap " + m->name() + "'s data or metadata");
      return err(EINVAL);
    }
  }
  return out;
}

void Array::set_live_bitmap(std::shared_ptr<Bitmap> bitmap) {
  live_bitmap_.store(bitmap.get(), std::memory_order_release);
  bitmap_ = std::move(bitmap);
  bitmap_areas_.clear();
  bitmap_daemon_.reset();
  if (!bitmap_) return;
  auto daemon = std::make_shared<BitmapDaemon>();
  daemon->bitmap = bitmap_;
  bitmap_daemon_ = daemon;
  std::weak_ptr<BitmapDaemon> weak_daemon = daemon;
  bitmap_->set_on_pending([weak = weak_from_this(), weak_daemon] {
    auto self = weak.lock();
    auto d = weak_daemon.lock();
    if (self && d) self->arm_bitmap_daemon(d, false);
  });
  if (!bitmap_->all_clean()) arm_bitmap_daemon(daemon, false);
}

// The next pass daemon_sleep from now; `restart` moves an armed timer (a
// new time_base applies at once, as timeout_store wakes the md thread).
void Array::arm_bitmap_daemon(const std::shared_ptr<BitmapDaemon>& daemon, bool restart) {
  auto bm = daemon->bitmap.lock();
  if (!bm) return;
  std::lock_guard lock(daemon->mutex);
  if (daemon->armed != restart) return;
  daemon->armed = true;
  if (!daemon->timer) daemon->timer = std::make_unique<boost::asio::steady_timer>(registry_.md_thread().context());
  daemon->timer->expires_after(std::chrono::milliseconds(bm->daemon_sleep_ms()));  // cancels a wait
  daemon->timer->async_wait([weak = weak_from_this(), weak_daemon = std::weak_ptr<BitmapDaemon>(daemon)](
                                const boost::system::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    auto d = weak_daemon.lock();
    if (self && d) self->bitmap_daemon_fired(d);
  });
}

// The md thread's periodic md_bitmap_daemon_work, while there is work.
void Array::bitmap_daemon_fired(const std::shared_ptr<BitmapDaemon>& daemon) {
  {
    std::lock_guard lock(daemon->mutex);
    daemon->armed = false;
  }
  auto bm = daemon->bitmap.lock();
  auto io = this->io();  // a stopped array's bitmap is gone with it
  if (!bm || !io) return;
  std::vector<BitmapArea*> failed;
  bm->daemon_pass(failed);
  if (!failed.empty()) bitmap_areas_failed(failed, io.operator->());
  if (!bm->all_clean()) arm_bitmap_daemon(daemon, false);
}

void Array::bitmap_update_sb() {
  if (!bitmap_) return;
  const uint64_t bytes = bitmap_->bytes();
  std::vector<std::pair<const Member*, std::shared_ptr<BitmapArea>>> areas;
  std::vector<std::shared_ptr<BitmapArea>> list;
  for (const auto& m : members_) {
    if (m->raid_disk < 0 || m->faulty || m->journal) continue;
    if (!superblock::bitmap_fits(*m, major_version_, bitmap_info_.offset, bytes)) continue;
    auto it = std::find_if(bitmap_areas_.begin(), bitmap_areas_.end(), [&](const auto& a) { return a.first == m.get(); });
    std::shared_ptr<BitmapArea> area =
        it != bitmap_areas_.end()
            ? it->second
            : std::make_shared<MemberArea>(m, static_cast<uint64_t>(static_cast<int64_t>(m->sb_offset) + bitmap_info_.offset) * 512);
    areas.emplace_back(m.get(), area);
    list.push_back(area);
  }
  bitmap_areas_ = std::move(areas);
  bitmap_->set_areas(std::move(list));
  bitmap_->set_degraded(degraded_locked() > 0);
  bitmap_->set_writable(ro_ == ReadOnly::kReadWrite);
  std::vector<BitmapArea*> failed;
  bitmap_->update_sb(events_, failed);
  for (BitmapArea* a : failed)
    log_line(name_ + ": writing the bitmap to " + static_cast<MemberArea*>(a)->member()->name() + " failed");
}

void Array::bitmap_areas_failed(const std::vector<BitmapArea*>& failed, raid::Personality* pers) {
  std::vector<int> roles;
  {
    std::lock_guard sb_lock(sb_mutex_);
    int lost = degraded_locked();
    const int max = pers_type_ ? pers_type_->max_degraded(geometry_locked()) : 0;
    for (BitmapArea* a : failed) {
      for (const auto& [member, area] : bitmap_areas_) {
        if (area.get() != a || member->raid_disk < 0 || member->faulty) continue;
        log_line(name_ + ": writing the bitmap to " + member->name() + " failed");
        // As md_error on a bitmap write: the member goes, unless the array
        // cannot lose it (then its copy of the bitmap lags).
        if (member->in_sync && lost + 1 > max) continue;
        if (member->in_sync) ++lost;
        roles.push_back(member->raid_disk);
      }
    }
  }
  for (int role : roles) {
    if (pers) pers->fail(role);
    member_failed(role, EIO);
  }
}

void Array::bitmap_flush_for_stop() {
  if (!bitmap_ || ro_ != ReadOnly::kReadWrite) return;
  std::vector<BitmapArea*> failed;
  for (int pass = 0; pass < 3; ++pass) bitmap_->daemon_pass(failed);
}

int Array::bitmap_readd_role(const format::SuperInfo& super) const {
  if (!bitmap_ || super.uuid != uuid_) return -1;
  // super_1_validate on a running array with a bitmap: older than the
  // last clearing is too old; a recovery that was not through the bitmap
  // restarts from scratch.
  if (super.events < bitmap_->events_cleared()) return -1;
  if (super.role >= format::kRoleMax || super.role >= raid_disks_) return -1;
  if ((super.feature_map & MD_FEATURE_RECOVERY_OFFSET) && !(super.feature_map & MD_FEATURE_RECOVERY_BITMAP)) return -1;
  return super.role;
}

Array::SyncBitmap Array::sync_bitmap_locked(Sync kind) {
  SyncBitmap sb;
  recovery_full_ = true;
  if (!bitmap_ || (kind != Sync::kResync && kind != Sync::kRecover)) return sb;
  // conf->fullsync: a member rebuilt into a role it did not have (a fresh
  // spare) needs everything, whatever the bitmap says; so does a
  // replacement (raid1/5/10_add_disk set fullsync for one), whose copy of
  // the member it replaces must be whole. still_degraded counts the roles'
  // own members only, not their replacements nor the journal.
  bool fullsync = false;
  int covered = 0;
  for (const auto& m : members_) {
    if (m->raid_disk < 0 || m->raid_disk >= raid_disks_ || m->faulty || m->journal) continue;
    if (m->replacement) {
      if (!m->in_sync) fullsync = true;
      continue;
    }
    ++covered;
    if (!m->in_sync && m->saved_raid_disk != m->raid_disk) fullsync = true;
  }
  sb.bitmap = bitmap_;
  sb.still_degraded = kind == Sync::kRecover ? covered < raid_disks_ : degraded_locked() > 0;
  sb.skip = kind == Sync::kResync || !fullsync;
  sb.member_space = kind == Sync::kRecover && pers_type_ && pers_type_->level == 10;
  if (sb.member_space) recovery_full_ = fullsync;
  return sb;
}

void Array::sync_bitmap_done(bool complete) {
  if (sync_bitmap_.bitmap && sync_bitmap_.member_space && complete && !sync_bitmap_.still_degraded)
    sync_bitmap_.bitmap->clear_needed();
  sync_bitmap_ = {};
  recovery_full_ = true;
}

std::string Array::mdstat_bitmap_line() const {
  if (!bitmap_) return "";
  const Bitmap::Pages pages = bitmap_->pages();
  const uint64_t chunk = bitmap_info_.chunksize;
  char buf[128];
  std::snprintf(buf, sizeof buf, "bitmap: %llu/%llu pages [%lluKB], %llu%s chunk\n",
                static_cast<unsigned long long>(pages.used), static_cast<unsigned long long>(pages.total),
                static_cast<unsigned long long>(pages.used * (Bitmap::kPageBytes / 1024)),
                static_cast<unsigned long long>(chunk >= 1024 ? chunk >> 10 : chunk), chunk >= 1024 ? "KB" : "B");
  return buf;
}

// ---- sysfs ----

std::string Array::bitmap_location_text() const {
  std::lock_guard lock(mutex_);
  if (bitmap_info_.offset == 0) return "none\n";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+lld\n", static_cast<long long>(bitmap_info_.offset));
  return buf;
}

// location_store: "none" removes the bitmap, "+N" or "-N" (sectors from
// the superblock) adds one; only one at a time, not while a sync runs.
// On a running array mdfs writes the new bitmap itself (mdadm's part).
Result<void> Array::store_bitmap_location(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (pers_) {
    if (sync_thread_.joinable() || sync_frozen_ || sync_requested_ != Sync::kNone) return err(EBUSY);
    if (pers_->sync_sectors() == 0) return err(EINVAL);  // raid0, linear: nothing to track
  }
  const bool none = strip_newline(text).starts_with("none");
  if (bitmap_ || bitmap_info_.offset != 0) {
    if (!none) return err(EBUSY);
    if (pers_) {
      std::unique_lock io_lock(pers_lock_);  // mddev_suspend: no write in flight
      pers_->quiesce();  // nor behind: their ends go to this bitmap
      std::lock_guard sb_lock(sb_mutex_);
      set_live_bitmap(nullptr);
      bitmap_info_.offset = 0;
      update_superblocks();
    } else {
      bitmap_info_.offset = 0;
    }
    return {};
  }
  if (none) return {};
  std::string_view t = strip_newline(text);
  if (t.starts_with("file:")) return err(EINVAL);  // a bitmap file: not carried
  bool negative = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  auto magnitude = parse_kstrto<uint32_t>(t);
  if (!magnitude) return err(magnitude.error() == ERANGE ? ERANGE : EINVAL);
  const int64_t offset = negative ? -static_cast<int64_t>(*magnitude) : static_cast<int64_t>(*magnitude);
  if (offset == 0) return err(EINVAL);
  // 0.90 keeps its bitmap 4 KiB after the superblock, nowhere else.
  if (persistent_ && major_version_ == 0 && offset != format::kSb0Bytes / 512) return err(EINVAL);
  if (!pers_) {
    bitmap_info_.offset = offset;
    return {};
  }
  const uint64_t sync_sectors = pers_->sync_sectors();
  const Member* first = nullptr;
  for (const auto& m : members_)
    if (m->raid_disk >= 0 && !m->faulty) first = first ? first : m.get();
  if (!first) return err(EINVAL);
  uint32_t chunk = bitmap_info_.chunksize;
  if (chunk == 0) chunk = default_chunk(sync_sectors, room_at(*first, major_version_, offset));
  if (chunk == 0) return err(ENOSPC);
  format::BitmapSuper sb = format::new_bitmap_super(uuid_, sync_sectors, chunk);
  sb.write_behind = bitmap_info_.max_write_behind;
  const uint64_t bytes = superblock::bitmap_bytes(sb);
  for (const auto& m : members_) {
    if (m->raid_disk < 0 || m->faulty) continue;
    if (!superblock::bitmap_fits(*m, major_version_, offset, bytes)) {
      log_line(name_ + ": no room for a bitmap of " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
               " on " + m->name());
      return err(ENOSPC);
    }
  }
  std::unique_lock io_lock(pers_lock_);
  std::lock_guard sb_lock(sb_mutex_);
  auto bm = Bitmap::fresh(sb, BitmapStart{sync_sectors, events_, recovery_cp_.load(), degraded_locked() > 0});
  if (bitmap_info_.daemon_sleep_ms) bm->set_daemon_sleep_ms(bitmap_info_.daemon_sleep_ms);
  else bitmap_info_.daemon_sleep_ms = bm->daemon_sleep_ms();
  bm->set_writable(ro_ == ReadOnly::kReadWrite);
  bitmap_info_.offset = offset;
  bitmap_info_.chunksize = chunk;
  set_live_bitmap(std::move(bm));
  // The bitmap reaches every member before a superblock points at it.
  update_superblocks();
  return {};
}

// md_bitmap_resize's chunk for a bitmap tracking `sync_sectors`: the
// bitmap's own while its bits fit the room at its place on every member,
// else doubled until they do. 0 without a bitmap; ENOSPC when no chunk up
// to 1 GiB fits.
Result<uint32_t> Array::resized_bitmap_chunk(uint64_t sync_sectors) const {
  if (!bitmap_) return 0u;
  format::BitmapSuper sb = bitmap_->super();
  sb.sync_size = sync_sectors;
  for (uint64_t chunk = bitmap_->chunk_sectors() * 512; chunk <= (uint64_t{1} << 30); chunk *= 2) {
    sb.chunksize = static_cast<uint32_t>(chunk);
    const uint64_t bytes = superblock::bitmap_bytes(sb);
    if (std::all_of(members_.begin(), members_.end(), [&](const auto& m) {
          return m->raid_disk < 0 || m->faulty || superblock::bitmap_fits(*m, major_version_, bitmap_info_.offset, bytes);
        }))
      return sb.chunksize;
  }
  log_line(name_ + ": no room for the bitmap of the new size");
  return err(ENOSPC);
}

std::string Array::bitmap_chunksize_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(bitmap_info_.chunksize) + "\n";
}

Result<void> Array::store_bitmap_chunksize(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (bitmap_) return err(EBUSY);
  auto n = parse_kstrto<uint32_t>(text);
  if (!n) return err(n.error());
  if (*n < 512 || (*n & (*n - 1)) != 0) return err(EINVAL);
  bitmap_info_.chunksize = *n;
  return {};
}

// timeout_show: seconds, and thousandths when the jiffies do not divide.
std::string Array::bitmap_time_base_text() const {
  std::lock_guard lock(mutex_);
  const uint64_t jiffies = bitmap_info_.daemon_sleep_ms * kHz / 1000;
  std::string out = std::to_string(jiffies / kHz);
  if (jiffies % kHz) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03u", static_cast<unsigned>(jiffies % kHz * 1000 / kHz));
    out += buf;
  }
  return out + "\n";
}

// timeout_store: seconds with up to four decimals, at least one jiffy.
// The bitmap superblock records whole seconds (at least one, where the
// kernel would write a 0 it then refuses to load).
Result<void> Array::store_bitmap_time_base(std::string_view text) {
  auto tenths_ms = parse_scaled(text, 4);
  if (!tenths_ms || *tenths_ms >= std::numeric_limits<long>::max() / kHz) return err(EINVAL);
  const uint64_t jiffies = std::max<uint64_t>(1, *tenths_ms * kHz / 10000);
  std::lock_guard lock(mutex_);
  bitmap_info_.daemon_sleep_ms = jiffies * 1000 / kHz;
  if (bitmap_) bitmap_->set_daemon_sleep_ms(bitmap_info_.daemon_sleep_ms);
  if (bitmap_daemon_) arm_bitmap_daemon(bitmap_daemon_, true);
  return {};
}

std::string Array::bitmap_backlog_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(bitmap_info_.max_write_behind) + "\n";
}

// backlog_store: how many writes raid1 may leave behind on write-mostly
// members, 0..16383, written to the bitmap superblock. As the kernel's, a
// running bitmap takes it only when some member is write-mostly; before
// a bitmap runs it is what the next one is made with (mdadm's --create
// and --grow --write-behind write it into the new bitmap's superblock
// whatever the members are).
Result<void> Array::store_bitmap_backlog(std::string_view text) {
  auto n = parse_kstrto<uint64_t>(text);
  if (!n) return err(n.error());
  if (*n > format::kBitmapMaxWriteBehind) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (bitmap_ && std::none_of(members_.begin(), members_.end(), [](const auto& m) { return m->write_mostly.load(); }))
    return err(EINVAL);
  const bool changed = bitmap_info_.max_write_behind != *n;
  bitmap_info_.max_write_behind = static_cast<uint32_t>(*n);
  if (bitmap_ && changed) {
    bitmap_->set_write_behind(bitmap_info_.max_write_behind);
    std::lock_guard sb_lock(sb_mutex_);
    std::vector<BitmapArea*> failed;
    bitmap_->update_sb(events_, failed);
  }
  return {};
}

std::string Array::bitmap_space_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(bitmap_info_.space) + "\n";
}

Result<void> Array::store_bitmap_space(std::string_view text) {
  auto n = parse_kstrto<uint64_t>(text);
  if (!n) return err(n.error());
  if (*n == 0) return err(EINVAL);
  std::lock_guard lock(mutex_);
  if (bitmap_ && *n < (bitmap_->bytes() + 511) / 512) return err(EFBIG);
  bitmap_info_.space = *n;
  return {};
}

std::string Array::bitmap_metadata_text() const { return "internal\n"; }

// metadata_store: only before a bitmap is placed. mdfs keeps internal
// bitmaps only: "external" (user-space managed) and "clustered" are EINVAL.
Result<void> Array::store_bitmap_metadata(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (bitmap_ || bitmap_info_.offset != 0) return err(EBUSY);
  if (text.starts_with("internal")) return {};
  return err(EINVAL);
}

std::string Array::bitmap_can_clear_text() const {
  std::lock_guard lock(mutex_);
  if (!bitmap_) return "\n";
  return bitmap_->need_sync() ? "false\n" : "true\n";
}

Result<void> Array::store_bitmap_can_clear(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (!bitmap_) return err(ENOENT);
  if (text.starts_with("false")) {
    bitmap_->set_need_sync(true);
  } else if (text.starts_with("true")) {
    if (degraded_locked() > 0) return err(EBUSY);
    bitmap_->set_need_sync(false);
  } else {
    return err(EINVAL);
  }
  return {};
}

// behind_writes_used_show and _reset: 0 without a bitmap; any write
// resets it.
std::string Array::bitmap_max_backlog_used_text() const {
  std::lock_guard lock(mutex_);
  return std::to_string(bitmap_ ? bitmap_->behind_used() : 0) + "\n";
}

Result<void> Array::store_bitmap_max_backlog_used(std::string_view) {
  std::lock_guard lock(mutex_);
  if (bitmap_) bitmap_->reset_behind_used();
  return {};
}

// bitmap_store: "CHUNK" or "FIRST-LAST" (simple_strtoul, any base),
// separated by spaces; the chunks become NEEDED with their bits written,
// and a resync is owed from the first of them. Parsing stops at the first
// word it cannot read; the write always succeeds, as the kernel's.
Result<void> Array::store_bitmap_set_bits(std::string_view text) {
  std::lock_guard lock(mutex_);
  if (!bitmap_) return {};
  std::string buf(text);
  const char* p = buf.c_str();
  uint64_t from = kMaxSector;
  // simple_strtoul: digits only (no sign), base from the prefix.
  auto number = [](const char* at, char** end) -> unsigned long long {
    *end = const_cast<char*>(at);
    return std::isdigit(static_cast<unsigned char>(*at)) ? std::strtoull(at, end, 0) : 0;
  };
  while (*p) {
    char* end = nullptr;
    unsigned long long first = number(p, &end), last = first;
    if (end == p) break;
    if (*end == '-') {
      p = end + 1;
      last = number(p, &end);
      if (end == p) break;
    }
    if (*end && !std::isspace(static_cast<unsigned char>(*end))) break;
    // Chunks past the bitmap's end have nothing to mark.
    if (first < bitmap_->chunks() && first <= last) {
      std::vector<BitmapArea*> failed;
      {
        std::lock_guard sb_lock(sb_mutex_);
        bitmap_->dirty_chunks(first, last, failed);
      }
      from = std::min<uint64_t>(from, first * bitmap_->chunk_sectors());
    }
    p = end;
    while (std::isspace(static_cast<unsigned char>(*p))) ++p;
  }
  if (from != kMaxSector && from < recovery_cp_ && from < pers_->sync_sectors()) {
    std::lock_guard sb_lock(sb_mutex_);
    recovery_cp_ = from;
  }
  if (pers_) md_check_recovery();
  return {};
}

// consistency_policy_store: switching needs the personality's
// change_consistency_policy, which only raid4/5/6 have (for PPL and the
// journal, which mdfs does not write): EINVAL there, EBUSY elsewhere.
// A bitmap is added and removed through bitmap/location.
Result<void> Array::store_consistency_policy(std::string_view) {
  std::lock_guard lock(mutex_);
  if (!pers_) return err(EINVAL);
  const int level = pers_type_->level;
  return err(level == 4 || level == 5 || level == 6 ? EINVAL : EBUSY);
}

}  // namespace mdfs::core
