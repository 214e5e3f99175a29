// The personality interface: one RAID level's data path, as the kernel's
// struct md_personality. The md core (src/core) owns members and lifecycle;
// a personality only maps array I/O onto member I/O and keeps redundancy.
// Adding a level is one new file in src/raid/ with one PersonalityType value.
#pragma once

#include <linux/major.h>
#include <linux/raid/md_u.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mdfs/result.h"

namespace mdfs::raid {

inline constexpr uint64_t kSectorSize = 512;

// The array's shape, as the md core knows it from sysfs or a superblock.
struct Geometry {
  int level = LEVEL_NONE;       // LEVEL_LINEAR (-1), 0, 1, 4, 5, 6, 10
  int layout = 0;               // the md layout number (raid5 algorithm, raid10 copies)
  uint32_t chunk_sectors = 0;   // chunk size in 512-byte sectors
  int raid_disks = 0;
  // Data sectors available on the member in each role (index = role), after
  // data_offset; 0 for a missing role. linear and raid0 use each member's own
  // size; the redundant levels use the smallest (see component_sectors()).
  std::vector<uint64_t> member_sectors;
  // component_size as set by the user or the superblock (sectors); 0 = derive.
  uint64_t dev_sectors = 0;
};

// A reshape in progress, as the kernel's mddev keeps it: the Geometry's
// level, layout and chunk are the old shape and its raid_disks the new
// count; these are the rest (see raid/reshape.h).
struct ReshapeGeometry {
  uint64_t position = ~uint64_t{0};  // array sectors moved (forwards: from 0); ~0 none
  bool backwards = false;
  int new_level = 0;
  int new_layout = 0;
  uint32_t new_chunk_sectors = 0;
  int delta_disks = 0;
  // Where the new shape's data lies against the old one's, over the
  // members (new_data_offset - data_offset, sectors): the least and the
  // greatest, as raid5.c's min_offset_diff.
  int64_t min_offset_diff = 0;
  int64_t max_offset_diff = 0;
  // Data sectors each role has from its new_data_offset (index = role).
  std::vector<uint64_t> new_member_sectors;
};

// One step of a reshape: an errno that ends it, and the sync-space sectors
// done after it.
struct ReshapeStep {
  int error = 0;
  uint64_t done = 0;
};
// Records a new reshape position (array sectors) in every superblock, with
// `done` sync-space sectors; 0 or an errno. Called with the moved window
// still closed to I/O, as the kernel holds reshape_safe behind the
// superblock write.
using ReshapeCheckpoint = std::function<int(uint64_t position, uint64_t done)>;

// What a Disk read answers when the member's file ends inside the data
// area (it was truncated, or a short read hit its end): the member is gone
// there. It is failed at once, never repaired by rewriting, which would
// leave a hole of zeros that reads back without an error.
inline constexpr int kMemberGone = ENXIO;

// What a Disk read answers, without touching the file, when the range
// meets a block recorded in the member's bad block log: the data there is
// not to be trusted, so it is served from another copy or from parity,
// never counted as a read error (md's read_balance and analyse_stripe skip
// such a member for the range). A non-redundant level passes it on; the
// array answers EIO for it.
inline constexpr int kBadBlock = EBADE;

// One member's data area. Offsets are bytes from the start of its data
// (the superblock's data_offset); implemented by the core over a file.
class Disk {
 public:
  virtual ~Disk() = default;
  // 0 or an errno; a read that meets the end of the file is kMemberGone, a
  // short write EIO.
  virtual int read(uint64_t offset, std::span<std::byte> buf) = 0;
  virtual int write(uint64_t offset, std::span<const std::byte> buf) = 0;
  virtual int sync() = 0;  // fsync: the data reached storage
  // One member request scattered over several buffers (the chunks one raid0
  // member holds for a large request): offset.. is contiguous on the member.
  // This default issues one read/write per buffer; a file-backed Disk
  // should override them with preadv/pwritev (IOV_MAX buffers a call).
  virtual int readv(uint64_t offset, std::span<const std::span<std::byte>> bufs) {
    for (auto b : bufs) {
      if (int e = read(offset, b)) return e;
      offset += b.size();
    }
    return 0;
  }
  virtual int writev(uint64_t offset, std::span<const std::span<const std::byte>> bufs) {
    for (auto b : bufs) {
      if (int e = write(offset, b)) return e;
      offset += b.size();
    }
    return 0;
  }
  // For zero-copy replies: the file and where the data area starts in it.
  virtual int fd() const = 0;
  virtual uint64_t data_start() const = 0;
  // A write-mostly member (WriteMostly): raid1 reads it only when no other
  // mirror can serve the read, as read_balance.
  virtual bool write_mostly_member() const { return false; }
};

// A piece of a read that can be sent straight from a member file.
struct Extent {
  int fd;
  uint64_t file_offset;
  size_t length;
  int role;  // the member it comes from
};

// What the md core's sync thread asks a personality to do over a window of
// the sync space (md_do_sync's MD_RECOVERY_* flags).
enum class SyncKind {
  kResync,   // make copies/parity agree after an unclean stop; nothing counted
  kRecover,  // rebuild the recovering roles from the others
  kCheck,    // count inconsistent sectors, change nothing
  kRepair,   // count them and rewrite them
};

struct SyncResult {
  int error = 0;            // an errno that ends the pass (no usable copy left)
  uint64_t mismatches = 0;  // sectors found inconsistent (mismatch_cnt's units)
};

// What the array lets a personality do about a member's read error: the
// first half of the kernel's fix_read_error (raid1/raid10) and of raid5's
// R5_ReadError handling.
enum class ReadErrorPolicy {
  kReadAround,  // the array is read-only: read another copy, write nothing
  kFix,         // rewrite the bad sectors from redundancy and read them back
  kFail,        // the member passed max_read_errors: fail it (md_error)
};

// The array's write-intent bitmap as a personality sees it (md_bitmap_
// startwrite and md_bitmap_endwrite). Ranges are in the sync space
// (sync_sectors(): raid1 and raid10 array sectors, raid4/5/6 member stripe
// sectors), [lo, hi).
class WriteIntent {
 public:
  virtual ~WriteIntent() = default;
  // Before any member write of the range: its chunks are marked dirty and
  // the marks have reached every member's storage. 0, or an errno when no
  // member could record them (the write must not go on).
  virtual int start_write(uint64_t lo, uint64_t hi) = 0;
  // After it: `complete` when every role of the array got the write (no
  // role missing, failed or failing on the way); otherwise the chunks stay
  // dirty until a resync or recovery covers them.
  virtual void end_write(uint64_t lo, uint64_t hi, bool complete) = 0;
  // For a recovery that walks member sectors (raid10): whether the range
  // of the sync space must be rebuilt, or the bitmap says it is clean.
  virtual bool recovery_needed(uint64_t lo, uint64_t hi) = 0;
  // raid1's write-behind: how many writes may be behind on write-mostly
  // members at once (bitmap/backlog, the bitmap's max_write_behind); 0
  // without a bitmap, as md writes behind only with one.
  virtual uint32_t write_behind() { return 0; }
  // A write went behind, `outstanding` with it (max_backlog_used); from
  // then until behind_ended() it counts as a write in flight (the array
  // is not marked clean while a mirror still misses it).
  virtual void behind_started(uint32_t /*outstanding*/) {}
  virtual void behind_ended() {}
};

// One write's intent, from start_write to end_write (which runs when it
// goes out of scope, incomplete unless complete() was called).
class IntentScope {
 public:
  IntentScope(WriteIntent* intent, uint64_t lo, uint64_t hi) : intent_(intent), lo_(lo), hi_(hi) {}
  ~IntentScope() {
    if (intent_ && started_) intent_->end_write(lo_, hi_, complete_);
  }
  IntentScope(const IntentScope&) = delete;
  IntentScope& operator=(const IntentScope&) = delete;
  int start() {
    if (!intent_) return 0;
    const int e = intent_->start_write(lo_, hi_);
    started_ = e == 0;
    return e;
  }
  void complete(bool complete) { complete_ = complete; }

 private:
  WriteIntent* intent_;
  uint64_t lo_, hi_;
  bool started_ = false;
  bool complete_ = false;
};

// What a personality tells the array running it (the kernel's md_error and
// the per-member error accounting around it).
class ArrayEvents {
 public:
  virtual ~ArrayEvents() = default;
  // The member in `role` failed I/O with `error`; the core marks it Faulty.
  virtual void member_failed(int role, int error) = 0;
  // md_error on a member the array cannot lose (raid1_error and
  // raid10_error on the last copy of some data): the member stays and the
  // array is broken (MD_BROKEN).
  virtual void array_broken(int /*role*/, int /*error*/) {}
  // A read of the member in `role` failed: counted (rdev->read_errors,
  // halved for each hour since the last one, as check_decay_read_errors),
  // and past the array's max_read_errors the member is to be failed.
  virtual ReadErrorPolicy read_error(int /*role*/) { return ReadErrorPolicy::kFix; }
  // Member sectors [sector, sector + sectors) (from its data start) were
  // rewritten after a read error and read back: dev-<member>/errors
  // (rdev->corrected_errors) counts them.
  virtual void read_error_corrected(int /*role*/, uint64_t /*sector*/, uint64_t /*sectors*/) {}
  // rdev_set_badblocks: records member sectors [sector, sector + sectors)
  // (from its data start) as bad in the member's bad block log, where it
  // has one with room, writes the log, and answers whether it did; else
  // the caller fails the member instead (md_error), as the kernel does.
  virtual bool record_bad_block(int /*role*/, uint64_t /*sector*/, uint64_t /*sectors*/) { return false; }
  // A read met a recorded bad block of `role` (kBadBlock): nothing is
  // counted. kFix when the data, once computed from the rest, may be
  // written back there (raid5's analyse_stripe: the member has seen no
  // write error and the array is writable; a write that works clears the
  // range), else kReadAround.
  virtual ReadErrorPolicy bad_block_read(int /*role*/) { return ReadErrorPolicy::kReadAround; }
  // The array's write-intent bitmap, or nullptr for none. The same object
  // for the personality's whole life (it may have no bitmap behind it).
  virtual WriteIntent* write_intent() { return nullptr; }
  // raid4/5/6's stripe_cache_size: how many stripes its stripe cache may
  // gather writes in at once (read for each partial-stripe write).
  virtual unsigned stripe_cache_size() const { return 0; }
};

class Personality {
 public:
  virtual ~Personality() = default;
  virtual uint64_t array_sectors() const = 0;
  // Offsets and lengths in bytes, inside the array (the core checks bounds).
  virtual int read(uint64_t offset, std::span<std::byte> out) = 0;
  virtual int write(uint64_t offset, std::span<const std::byte> in) = 0;
  // Extents covering [offset, offset+length) in order when the data can be
  // read straight from working members; false when it must be computed.
  virtual bool map_read(uint64_t offset, size_t length, std::vector<Extent>& out) = 0;
  // After a reply made from map_read's extents is sent (only when map_read
  // answered true): a personality whose data moves (a reshape) holds it
  // still until then.
  virtual void map_read_done() {}
  // The member `role` failed a read of map_read's extents (an error or a
  // short transfer seen before the reply): read the range again, first from
  // that member, so that its error meets the read-error policy as in read().
  virtual int reread(uint64_t offset, std::span<std::byte> out, int /*role*/) { return read(offset, out); }
  virtual int sync() = 0;  // every working member's data reached storage
  // Returns once no member write is left in flight after the request that
  // made it returned (raid1's write-behind): before a stop, a read-only
  // switch or a bitmap's removal, as mddev_suspend and
  // md_bitmap_wait_behind_writes.
  virtual void quiesce() {}
  // The member in `role` is Faulty from now on: never read or written again.
  virtual void fail(int role) = 0;
  virtual int degraded() const = 0;  // roles without a working member
  // The level-specific part of a /proc/mdstat line, after "super X.Y":
  // raid0 " 64k chunks", raid5 " level 5, 64k chunk, algorithm 2 [4/4] [UUUU]".
  virtual std::string mdstat_status() const = 0;

  // ---- resync, check, repair and recovery (the kernel's sync_request) ----
  // Levels without redundancy keep these defaults: nothing to sync.
  // The sync space of resync, check and repair: what md_do_sync walks, in
  // sectors (the kernel's resync_max_sectors; raid5 counts member sectors,
  // raid1/10 array sectors). Recovery walks the member sectors of the
  // roles it rebuilds (dev_sectors).
  virtual uint64_t sync_sectors() const { return 0; }
  virtual uint64_t recovery_sectors() const { return sync_sectors(); }
  // Windows are multiples of this (a stripe, raid1's 64 KiB resync block).
  virtual uint64_t sync_unit() const { return 128; }
  // While a pass runs, windows being synced keep out the array writes that
  // map into them (raise_barrier); between passes writes skip that cost.
  virtual void set_syncing(bool) {}
  // Brings [start, start + count) of the sync space into agreement.
  virtual SyncResult sync_window(SyncKind, uint64_t, uint64_t) { return {EINVAL, 0}; }
  // hot_add_disk: `disk` takes the missing `role` and is written by array
  // writes but never read until disk_recovered(role). The caller excludes
  // every request in flight. EBUSY when the role has a working member.
  virtual int add_disk(int, Disk*) { return EINVAL; }
  // spare_active: a rebuilt role is read from now on.
  virtual void disk_recovered(int) {}

  // ---- raid4/5/6's stripe cache ----
  // Stripes in use (stripe_cache_active).
  virtual unsigned stripe_cache_active() const { return 0; }
  // Writes bypass the stripe cache (the shapes of a reshape); called
  // before any I/O.
  virtual void no_stripe_cache() {}

  // ---- reshape (raid5.c's reshape_request), for a personality made by
  // raid::run_reshape; the others keep these defaults ----
  virtual bool reshaping() const { return false; }
  // The reshape's sync space (member sectors of the new shape, as md's
  // resync_max_sectors) and how much of it is done.
  virtual uint64_t reshape_sectors() const { return 0; }
  virtual uint64_t reshape_done() const { return 0; }
  // Where the reshape stands (array sectors, the kernel's reshape_progress).
  virtual uint64_t reshape_position() const { return ~uint64_t{0}; }
  // Moves the next window, no further than `limit` sync-space sectors.
  virtual ReshapeStep reshape_step(uint64_t, const ReshapeCheckpoint&) { return {EINVAL, 0}; }
};

struct PersonalityType {
  std::string_view name;  // "raid0"; as /proc/mdstat and sysfs `level` print it
  int level;
  int min_disks;
  // How many roles may be missing while the array still runs.
  int (*max_degraded)(const Geometry&);
  // Checks layout, chunk and member count; the array size in sectors or EINVAL.
  Result<uint64_t> (*array_sectors)(const Geometry&);
  // Starts the data path; roles[i] is the member in role i, nullptr if missing.
  Result<std::unique_ptr<Personality>> (*run)(const Geometry&, std::vector<Disk*> roles,
                                              ArrayEvents& events);
};

// The sectors each member gives a redundant level (the kernel's
// mddev->dev_sectors): dev_sectors when set, else the smallest present
// member, as bind_rdev_to_array derives it.
uint64_t component_sectors(const Geometry& geo);

// The registered personalities; nullptr for a level mdfs does not have.
const PersonalityType* find_personality(int level);
const PersonalityType* find_personality(std::string_view name);
// Every registered personality, in /proc/mdstat's "Personalities" order.
std::span<const PersonalityType* const> personalities();

}  // namespace mdfs::raid
