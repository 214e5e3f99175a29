// The members a personality runs on, by role, and their health: what the
// kernel keeps in conf->mirrors[] (rdev, In_sync/Faulty, nr_pending,
// head_position). Shared by every level.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mdfs/personality.h"
#include "raid/layout.h"

namespace mdfs::raid {

// freeze_array for read-error fixes: while a fix rewrites a member from
// another copy, array writes wait, so it never writes back data older than
// a write that raced it. A write passes with one atomic increment and one
// load; fixes run one at a time.
class WriteFreeze {
 public:
  // One array write, from enter() to destruction.
  class Pass {
   public:
    explicit Pass(WriteFreeze& f) : f_(f) {}
    ~Pass() { f_.leave(); }
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;

   private:
    WriteFreeze& f_;
  };
  // Writes are held out for its lifetime.
  class Frozen {
   public:
    explicit Frozen(WriteFreeze& f);
    ~Frozen();
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;

   private:
    WriteFreeze& f_;
  };

  [[nodiscard]] Pass enter();

 private:
  void leave();

  std::atomic<int> writers_{0};      // writes holding a Pass
  std::atomic<bool> frozen_{false};  // a fix runs: new writes wait
  // fixer_ makes fixes take turns; it is taken before mutex_, which guards
  // the waits on changed_. A write never takes fixer_, and a thread holding
  // a Pass never freezes, so neither waits for the other in a circle.
  std::mutex fixer_;
  std::mutex mutex_;
  std::condition_variable changed_;
};

class Members {
 public:
  // roles[i] is the member in role i, nullptr when missing. copy_sets lists
  // the groups of roles that hold the same data (raid1: one group of all
  // roles; raid0: one group per role): losing all of one group loses data.
  Members(std::vector<Disk*> roles, std::vector<std::vector<int>> copy_sets, ArrayEvents& events);
  Members(const Members&) = delete;
  Members& operator=(const Members&) = delete;

  int raid_disks() const { return static_cast<int>(disks_.size()); }
  Disk* disk(int role) const { return disks_[role]; }
  bool working(int role) const { return state_[role].working.load(std::memory_order_acquire); }
  // Being rebuilt: written by array writes, never read (not yet In_sync).
  bool recovering(int role) const { return state_[role].recovering.load(std::memory_order_acquire); }
  // Whether array writes go to the role.
  bool writable(int role) const { return working(role) || recovering(role); }
  int degraded() const;
  // Every role has a member that array writes reach (none missing or failed).
  bool all_writable() const;
  // Whether every copy set still has a working member (raid10's enough()).
  bool enough() const;

  // The core marks the member Faulty: unconditional.
  void fail(int role);
  // A spare takes a missing role to be rebuilt (the caller excludes every
  // request in flight); EBUSY when the role is working.
  int add(int role, Disk* disk);
  // The rebuilt role is read from now on.
  void recovered(int role);
  // A member I/O failed with `error`. As md_error with raid1_error and
  // raid10_error: the member is failed and reported to the array, unless it
  // holds the last working copy of some data, which is kept (the I/O fails
  // instead). Returns true when the member was failed, so the caller can
  // retry on another copy.
  bool io_error(int role, int error);
  // One piece of data several roles hold (a raid1 block, a run of a raid10
  // chunk): reads the first working copy and, by `kind`, compares the other
  // working copies with it (check, repair, resync) and rewrites those that
  // differ (repair, resync), or writes it to the recovering roles (recover).
  // `differ` says whether a working copy differed. 0, or the errno of the
  // last readable copy.
  int sync_copies(SyncKind kind, std::span<const Copy> copies, uint64_t sectors, bool& differ);

  // fsync of every working member; a member whose sync fails is handled as
  // io_error; the error is returned when that member cannot be let go.
  int sync_working();

  // ---- read and write errors (raid1's and raid10's handle_read_error,
  // fix_read_error and narrow_write_error) ----
  // A read of one piece that every entry of `copies` holds failed on
  // copies[bad] with `error`. `out` starts `in_sector` bytes into the
  // copies' first sector. As md: the array decides (ArrayEvents::read_error)
  // whether the bad sectors are rewritten from another copy and read back
  // (fix_read_error), the member is failed (past max_read_errors; at once
  // for kMemberGone), or, on a read-only array, only read around; a
  // recorded bad block (kBadBlock) is only read around. Fills
  // `out` from a copy that reads; 0, or EIO when no copy can.
  int read_error(std::span<const Copy> copies, size_t bad, int error, size_t in_sector,
                 std::span<std::byte> out);
  // A write of member sectors [sector, sector + sectors) of `role` failed:
  // recorded in its bad block log where one exists, else the member is
  // failed (io_error). False when it holds the last copy and stays.
  bool write_error(int role, uint64_t sector, uint64_t sectors, int error);
  // Array writes hold this while they write members (after any SyncBarrier
  // pass), so that a read-error fix can hold them out.
  [[nodiscard]] WriteFreeze::Pass writing() { return freeze_.enter(); }

  // The " [n/m] [UU_U]" of raid1 and raid10 in /proc/mdstat.
  std::string mdstat_health() const;

  // Read balancing state: reads in flight and where the last one ended
  // (bytes on the member; the head position).
  int pending(int role) const { return state_[role].pending.load(std::memory_order_relaxed); }
  uint64_t head(int role) const { return state_[role].head.load(std::memory_order_relaxed); }
  void set_head(int role, uint64_t pos) { state_[role].head.store(pos, std::memory_order_relaxed); }

  // Counts a read in flight on `role` while alive.
  class PendingRead {
   public:
    PendingRead(Members& m, int role) : m_(m), role_(role) {
      m_.state_[role_].pending.fetch_add(1, std::memory_order_relaxed);
    }
    ~PendingRead() { m_.state_[role_].pending.fetch_sub(1, std::memory_order_relaxed); }
    PendingRead(const PendingRead&) = delete;
    PendingRead& operator=(const PendingRead&) = delete;

   private:
    Members& m_;
    int role_;
  };

 private:
  struct RoleState {
    std::atomic<bool> working{false};
    std::atomic<bool> recovering{false};
    std::atomic<int> pending{0};
    std::atomic<uint64_t> head{0};
  };
  bool last_copy_locked(int role) const;
  // The rewrite half of fix_read_error over the piece, page by page, with
  // writes frozen: 0, or EIO when some page reads from no copy.
  int fix_read_error(std::span<const Copy> copies, size_t bad, size_t in_sector, std::span<std::byte> out);
  // A piece every copy fails with kBadBlock, read page by page from the
  // copies that have each page; nothing written. 0 or EIO.
  int read_around(std::span<const Copy> copies, size_t in_sector, std::span<std::byte> out);
  // sync_copies' copy that failed a read while another one read: each page
  // of it that still fails is rewritten with the good data and read back
  // (fix_sync_read_error).
  void rewrite_copy(const Copy& c, std::span<const std::byte> good);
  // rdev_set_badblocks, else md_error.
  void bad_block_or_fail(int role, uint64_t sector, uint64_t sectors, int error) {
    if (!events_.record_bad_block(role, sector, sectors)) io_error(role, error);
  }

  std::vector<Disk*> disks_;
  std::vector<std::vector<int>> copy_sets_;
  ArrayEvents& events_;
  std::unique_ptr<RoleState[]> state_;
  // Guards the decisions that turn `working` off (io_error, fail), so two
  // members failing at once cannot both find the other still working.
  // Readers of `working` take no lock. No other lock is taken under it, and
  // the array is told (member_failed) only after it is released.
  std::mutex fail_mutex_;
  // sync_copies' buffers: one sync thread at a time uses them.
  std::vector<std::byte> sync_first_, sync_other_, sync_page_;
  WriteFreeze freeze_;
  // fix_read_error's pages; used only while freeze_ is frozen.
  std::vector<std::byte> fix_page_, fix_check_;
};

}  // namespace mdfs::raid
