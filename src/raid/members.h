// The members a personality runs on, by role, and their health: what the
// kernel keeps in conf->mirrors[] (rdev, In_sync/Faulty, nr_pending,
// head_position). Shared by every level.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mdfs/personality.h"
#include "raid/layout.h"

namespace mdfs::raid {

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
  std::vector<std::byte> sync_first_, sync_other_;
};

}  // namespace mdfs::raid
