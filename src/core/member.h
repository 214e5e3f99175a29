// Member: the rdev. One member image file of an array, and the data area
// the personality reads and writes (raid::Disk).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/shelf.h"
#include "format/super_info.h"
#include "mdfs/personality.h"
#include "mdfs/unique_fd.h"

namespace mdfs::core {

// Members have no device numbers; GET_DISK_INFO and SET_DISK_FAULTY name
// them by major 240 (the range devices.txt keeps for local use) and their
// desc_nr as minor.
inline constexpr int kMemberMajor = 240;

class Member : public raid::Disk {
 public:
  Member(Shelf& shelf, std::string name, Shelf::Claimed file);
  ~Member() override;
  Member(const Member&) = delete;
  Member& operator=(const Member&) = delete;

  const std::string& name() const { return name_; }
  // Gives the file back to the shelf (another array may take it); the file
  // itself stays open until the Member goes.
  void release_name();
  Shelf::FileId file_id() const { return id_; }
  uint64_t file_sectors() const { return file_bytes_ / 512; }
  bool writable() const { return writable_; }

  // raid::Disk
  int read(uint64_t offset, std::span<std::byte> buf) override;
  int write(uint64_t offset, std::span<const std::byte> buf) override;
  int readv(uint64_t offset, std::span<const std::span<std::byte>> bufs) override;
  int writev(uint64_t offset, std::span<const std::span<const std::byte>> bufs) override;
  int sync() override;
  int fd() const override { return fd_.get(); }
  uint64_t data_start() const override { return data_offset * 512; }
  bool write_mostly_member() const override { return write_mostly.load(std::memory_order_relaxed); }

  // ---- a replacement (md's Replacement) ----
  // While `by` replaces this member, every write to this member's data goes
  // to `by` as well, as md writes a role's replacement with the role; the
  // first write `by` fails is told to `failed` (it must take no lock a
  // request may hold), and later writes go to this member alone. Both are
  // called with no request in flight (the Array's pers_lock_ exclusive).
  void start_forwarding(Member* by, std::function<void(int error)> failed);
  void stop_forwarding();
  Member* forwarding_to() const { return forward_failed_.load() ? nullptr : replaced_by_.load(); }
  // The replacement's copy of [offset, offset + buf.size()) of the data
  // area: read from this member into `buf` and written to the replacement,
  // with writes to this member held off in between. 0; ENODEV when nothing
  // is replacing this member (or the replacement failed); else the errno
  // of reading this member.
  int copy_to_replacement(uint64_t offset, std::span<std::byte> buf);

  // Raw I/O at a byte offset in the file (superblocks, bitmaps).
  int pread_exact(uint64_t offset, std::span<std::byte> buf) const;
  int pwrite_exact(uint64_t offset, std::span<const std::byte> buf);
  // The same, on storage when it returns (RWF_DSYNC: this write only, not
  // the rest of the file's dirty data as fdatasync would).
  int pwrite_durable(uint64_t offset, std::span<const std::byte> buf);

  // Guarded by the owning Array's mutex_.
  int desc_nr = -1;          // the superblock's dev_number
  int raid_disk = -1;        // role; -1 spare or not yet placed
  bool faulty = false;
  bool in_sync = false;
  // WriteMostly1 / MD_DISK_WRITEMOSTLY and FailFast1 / MD_DISK_FAILFAST:
  // changed under the Array's locks, read by the data path (raid1 reads
  // avoid a write-mostly member, raid::Disk::write_mostly).
  std::atomic<bool> write_mostly{false};
  std::atomic<bool> failfast{false};
  bool journal = false;       // the array's write journal (role 0xfffd)
  bool replacement = false;   // replacing the member in its role
  bool want_replacement = false;  // WantReplacement: a spare is to replace it
  // A replacement that took its failed member's role while a pass ran:
  // that pass does not count its progress (sb_mutex_).
  bool recovery_restarted = false;
  // WriteErrorSeen: a write failed and was recorded as bad blocks.
  std::atomic<bool> write_error_seen{false};
  // The role a re-added member had (the kernel's saved_raid_disk): it
  // recovers through the bitmap instead of from scratch; -1 otherwise.
  int saved_raid_disk = -1;
  bool offset_set = false;   // dev-*/offset was written: keep it
  bool slot_set = false;     // dev-*/slot was written: keep it
  bool size_set = false;     // dev-*/size was written
  bool recovery_set = false; // dev-*/recovery_start was written before the start
  uint64_t data_offset = 0;  // sectors
  uint64_t sectors = 0;      // data sectors the array may use
  uint64_t sb_offset = 0;    // sectors
  // Where the data goes once a reshape that moves it is done (sectors);
  // equal to data_offset otherwise.
  uint64_t new_data_offset = 0;
  // Sectors rebuilt while recovering (~0: none owed); the sync thread
  // advances it under the Array's sb_mutex_.
  std::atomic<uint64_t> recovery_offset{~uint64_t{0}};
  std::optional<format::SuperInfo> super;  // what was on the member when added
  // The bad block list (rdev->badblocks), in member sectors from the start
  // of the file; disabled (shift < 0) without a log. bb_mutex guards it: the
  // data path checks and records through it, so it has a lock of its own,
  // taken after the Array's locks and never with another member's.
  mutable std::mutex bb_mutex;
  format::BadBlocks bad_blocks;
  // After any change to bad_blocks (bb_mutex held): lets the data path skip
  // the lock while the list is empty.
  void bad_blocks_changed() { any_bad_.store(!bad_blocks.empty(), std::memory_order_release); }
  // Whether bytes [offset, offset + length) of the file meet a recorded
  // bad block (is_badblock).
  bool meets_bad_block(uint64_t offset, uint64_t length) const;
  // What narrowing found for failed writes that meet file sectors [lo, hi):
  // the sector ranges inside it that failed again, a page at a time
  // (empty: every page was written then); nullopt when no such write was
  // narrowed. Forgets those writes. Takes bb_mutex.
  std::optional<std::vector<std::pair<uint64_t, uint64_t>>> take_narrowed(uint64_t lo, uint64_t hi);
  // Sectors rewritten after read errors and read back (rdev->
  // corrected_errors): dev-<member>/errors, and the v1 superblock's
  // cnt_corrected_read, which it is loaded from and saved to.
  std::atomic<uint32_t> corrected_errors{0};
  // Read errors counted against max_read_errors (rdev->read_errors) and
  // when the last one came (last_read_error, seconds of the steady clock;
  // 0: none yet). Guarded by the owning Array's sb_mutex_.
  unsigned read_errors = 0;
  int64_t last_read_error = 0;

 private:
  Shelf& shelf_;
  std::string name_;
  UniqueFd fd_;
  uint64_t file_bytes_;
  bool writable_;
  Shelf::FileId id_;
  bool named_ = true;
  // The replacement and what to tell when it fails a write (see
  // start_forwarding). forward_mutex_: writes that forward hold it shared,
  // copy_to_replacement exclusively; taken after every Array lock.
  std::atomic<Member*> replaced_by_{nullptr};
  std::atomic<bool> forward_failed_{false};
  std::function<void(int)> replacement_failed_;
  std::shared_mutex forward_mutex_;
  std::atomic<bool> any_bad_{false};  // bad_blocks has entries
  void forward_error(int error);
  // After a write of file bytes [offset, offset + length): a failure sets
  // WriteErrorSeen; a success over recorded bad blocks of a member that has
  // seen no write error clears them (raid1/raid10/raid5's R*_MadeGood and
  // rdev_clear_badblocks). Returns `error`.
  int wrote(uint64_t offset, std::span<const std::span<const std::byte>> bufs, int error);
  // narrow_write_error: a write that failed on a member with a log is
  // written again a 4 KiB page (of the file) at a time, and the pages that
  // fail again are kept in narrowed_ for the array's record_bad_block.
  void narrow(uint64_t offset, std::span<const std::span<const std::byte>> bufs);
  struct Narrowed {
    uint64_t lo, hi;                                 // the write, file sectors
    std::vector<std::pair<uint64_t, uint64_t>> bad;  // what failed again
  };
  std::vector<Narrowed> narrowed_;  // bb_mutex; the last few writes
  friend class MemberView;
};

// A member's data seen from another data offset: during a reshape that
// moves the data (new_offset), one shape lives at data_offset and the other
// at new_data_offset, as raid5.c's use_new_offset picks per stripe.
class MemberView : public raid::Disk {
 public:
  MemberView(Member& member, uint64_t start_sectors, uint64_t sectors)
      : member_(member), start_(start_sectors * 512), bytes_(sectors * 512) {}
  int read(uint64_t offset, std::span<std::byte> buf) override;
  int write(uint64_t offset, std::span<const std::byte> buf) override;
  int readv(uint64_t offset, std::span<const std::span<std::byte>> bufs) override;
  int writev(uint64_t offset, std::span<const std::span<const std::byte>> bufs) override;
  int sync() override { return member_.sync(); }
  int fd() const override { return member_.fd(); }
  uint64_t data_start() const override { return start_; }

 private:
  Member& member_;
  const uint64_t start_;  // bytes into the file
  const uint64_t bytes_;  // the data area's size
};

}  // namespace mdfs::core
