// Array: the mddev. One md array, its configuration, its state machine
// (array_state) and its lifecycle counters. Lifecycle rules live in
// Registry (registry.h); this class holds what one array knows.
#pragma once

#include <linux/raid/md_p.h>
#include <linux/raid/md_u.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/bitmap.h"
#include "core/member.h"
#include "format/r5log.h"
#include "mdfs/personality.h"
#include "mdfs/result.h"

namespace mdfs::core {

class Registry;

// hold_active: why an array with no configuration is kept.
enum class Hold : int {
  kNone = 0,
  kUntilIoctl = 1,  // made by an open (the probe) or by new_array mdN
  kUntilStop = 2,   // made by new_array md_NAME
};

// The values of sys/block/<name>/md/array_state, in the kernel's order.
enum class ArrayState {
  kClear, kInactive, kSuspended, kReadonly, kReadAuto, kClean, kActive,
  kWritePending, kActiveIdle, kBroken, kBad,
};
std::string_view to_string(ArrayState s);
ArrayState parse_array_state(std::string_view word);  // kBad when unknown

// mddev->ro
enum class ReadOnly : int { kReadWrite = 0, kReadOnly = 1, kAutoRead = 2 };

inline constexpr uint64_t kMaxSector = ~uint64_t{0};

class Array : public raid::ArrayEvents, public std::enable_shared_from_this<Array> {
 public:
  Array(Registry& registry, std::string name, long minor, uint64_t id, Hold hold);
  ~Array() override;
  Array(const Array&) = delete;
  Array& operator=(const Array&) = delete;

  const std::string& name() const { return name_; }
  long minor() const { return minor_; }
  // A number no other incarnation of any array ever had in this process.
  uint64_t id() const { return id_; }

  // Lifecycle facts, readable without locks (Registry changes them).
  Hold hold() const { return hold_.load(); }
  int openers() const { return openers_.load(); }
  bool dying() const { return deleted_.load(); }
  // raid_disks, members or a creation time: an array like this is never
  // deleted by its last close (mddev_put).
  bool configured() const { return configured_.load(); }

  // ---- sysfs shows and stores (take mutex_) ----
  ArrayState array_state() const;
  Result<void> store_array_state(std::string_view text);
  std::string level_text() const;
  Result<void> store_level(std::string_view text);
  std::string raid_disks_text() const;
  Result<void> store_raid_disks(std::string_view text);
  std::string chunk_size_text() const;
  Result<void> store_chunk_size(std::string_view text);
  std::string layout_text() const;
  Result<void> store_layout(std::string_view text);
  std::string metadata_version_text() const;
  Result<void> store_metadata_version(std::string_view text);
  std::string component_size_text() const;
  Result<void> store_component_size(std::string_view text);
  std::string array_size_text() const;
  Result<void> store_array_size(std::string_view text);
  std::string resync_start_text() const;
  Result<void> store_resync_start(std::string_view text);
  std::string safe_mode_delay_text() const;
  Result<void> store_safe_mode_delay(std::string_view text);
  std::string uuid_text() const;
  std::string set_name_text() const;
  Result<void> store_set_name(std::string_view text);
  std::string fail_last_dev_text() const;
  Result<void> store_fail_last_dev(std::string_view text);
  std::string max_read_errors_text() const;
  Result<void> store_max_read_errors(std::string_view text);
  std::string reshape_direction_text() const;
  Result<void> store_reshape_direction(std::string_view text);
  std::string reshape_position_text() const;
  Result<void> store_reshape_position(std::string_view text);
  std::string consistency_policy_text() const;
  std::string serialize_policy_text() const;
  std::string journal_mode_text() const;
  Result<void> store_journal_mode(std::string_view text);
  int degraded() const;
  bool running() const;
  bool read_only_disk() const;  // sys/block/<name>/ro
  uint64_t size_bytes() const;  // dev/<name>'s size: 0 unless running
  std::string mdstat_entry() const;  // this array's part of /proc/mdstat

  // ---- members (new_dev and dev-<member>/) ----
  Result<void> store_new_dev(std::string_view name);
  std::vector<std::shared_ptr<Member>> members() const;
  std::shared_ptr<Member> member(std::string_view name) const;
  // rdN -> dev-<member> for the roles of a running array.
  std::vector<std::pair<int, std::string>> role_links() const;
  std::string member_state_text(const Member& m) const;
  Result<void> store_member_state(Member& m, std::string_view text);
  std::string member_slot_text(const Member& m) const;
  Result<void> store_member_slot(Member& m, std::string_view text);
  std::string member_offset_text(const Member& m) const;
  Result<void> store_member_offset(Member& m, std::string_view text);
  Result<void> store_member_recovery_start(Member& m, std::string_view text);
  std::string member_size_text(const Member& m) const;
  Result<void> store_member_size(Member& m, std::string_view text);
  std::string member_recovery_start_text(const Member& m) const;
  std::string member_new_offset_text(const Member& m) const;
  Result<void> store_member_new_offset(Member& m, std::string_view text);
  std::string member_bad_blocks_text(const Member& m, bool unacknowledged) const;
  Result<void> store_member_bad_blocks(Member& m, std::string_view text, bool unacknowledged);
  // The sync thread (sync.cc): sync_action and its companions.
  std::string sync_action_text() const;
  Result<void> store_sync_action(std::string_view text);
  std::string last_sync_action_text() const;
  std::string sync_completed_text() const;
  std::string sync_speed_text() const;
  std::string sync_speed_min_text() const;
  Result<void> store_sync_speed_min(std::string_view text);
  std::string sync_speed_max_text() const;
  Result<void> store_sync_speed_max(std::string_view text);
  std::string sync_min_text() const;
  Result<void> store_sync_min(std::string_view text);
  std::string sync_max_text() const;
  Result<void> store_sync_max(std::string_view text);
  std::string mismatch_cnt_text() const;
  // raid4/5/6's stripe cache tunables (raid5.c's conf): stripe_cache_size
  // sizes the personality's stripe cache (raid5_cache.h) and
  // stripe_cache_active shows its use; preread_bypass_threshold is kept
  // with the kernel's range and errors. A start resets them.
  std::string stripe_cache_size_text() const;
  std::string stripe_cache_active_text() const;
  Result<void> store_stripe_cache_size(std::string_view text);
  std::string preread_bypass_threshold_text() const;
  Result<void> store_preread_bypass_threshold(std::string_view text);
  // The write-intent bitmap (array_bitmap.cc): bitmap/ and its array
  // attributes, as md-bitmap.c and md.c show and store them.
  std::string bitmap_location_text() const;
  Result<void> store_bitmap_location(std::string_view text);
  std::string bitmap_chunksize_text() const;
  Result<void> store_bitmap_chunksize(std::string_view text);
  std::string bitmap_time_base_text() const;
  Result<void> store_bitmap_time_base(std::string_view text);
  std::string bitmap_backlog_text() const;
  Result<void> store_bitmap_backlog(std::string_view text);
  std::string bitmap_space_text() const;
  Result<void> store_bitmap_space(std::string_view text);
  std::string bitmap_metadata_text() const;
  Result<void> store_bitmap_metadata(std::string_view text);
  std::string bitmap_can_clear_text() const;
  Result<void> store_bitmap_can_clear(std::string_view text);
  std::string bitmap_max_backlog_used_text() const;
  Result<void> store_bitmap_max_backlog_used(std::string_view text);
  Result<void> store_bitmap_set_bits(std::string_view text);
  Result<void> store_consistency_policy(std::string_view text);
  std::string level_name() const;  // "raid5"; empty when unknown
  int running_level() const;        // the personality's level, LEVEL_NONE when stopped

  // ---- md ioctls (the caller's own open counts as one opener) ----
  Result<mdu_array_info_t> get_array_info() const;
  Result<mdu_disk_info_t> get_disk_info(int number) const;
  Result<void> ioctl_run_array();
  Result<void> ioctl_stop_array(bool read_only);
  Result<void> ioctl_restart_array_rw();
  Result<void> ioctl_set_disk_faulty(uint32_t dev);
  // An md ioctl mdfs does not carry: answered as the kernel's locked
  // section answers it (ENODEV without configuration, else EINVAL).
  Result<void> ioctl_unsupported();

  // ---- data path (no mutex_; a shared lock on the running personality) ----
  class Io {
   public:
    explicit operator bool() const { return pers_ != nullptr; }
    raid::Personality* operator->() const { return pers_.get(); }
    uint64_t size_bytes() const { return size_bytes_; }
    // Whether map_read's extents meet a member's recorded bad block: the
    // read must then go through the personality, which reads around it.
    bool meets_bad_block(std::span<const raid::Extent> extents) const;

   private:
    friend class Array;
    const Array* array_ = nullptr;
    std::shared_lock<std::shared_mutex> lock_;
    std::shared_ptr<raid::Personality> pers_;
    uint64_t size_bytes_ = 0;
  };
  // Holds the personality for the duration of one request: a stop waits for it.
  Io io() const;
  int read(uint64_t offset, std::span<std::byte> out);
  Result<size_t> write(uint64_t offset, std::span<const std::byte> in);
  int sync();

  // Stops a running array and marks superblocks clean (at unmount).
  void shutdown();

  // raid::ArrayEvents
  void member_failed(int role, int error) override;
  void array_broken(int role, int error) override;
  raid::ReadErrorPolicy read_error(int role) override;
  void read_error_corrected(int role, uint64_t sector, uint64_t sectors) override;
  bool record_bad_block(int role, uint64_t sector, uint64_t sectors) override;
  raid::ReadErrorPolicy bad_block_read(int role) override;
  raid::WriteIntent* write_intent() override { return &intent_; }
  unsigned stripe_cache_size() const override { return stripe_cache_size_.load(std::memory_order_relaxed); }

 private:
  friend class Registry;

  // sysfs_notify on one of this array's attributes, or a member's, and
  // md_new_event: wake the readers that poll them. Any lock may be held.
  void sysfs_notify(std::string_view attr) const;
  void sysfs_notify(const Member& member, std::string_view attr) const;
  void md_new_event() const;

  // All below guarded by mutex_ unless said otherwise.
  Result<void> do_md_run();
  Result<void> store_running_slot(Member& m, int slot);
  Result<void> check_member_name_free(const std::string& name) const;
  void export_members();
  // md_update_sb: writes every working member's superblock from the
  // array's state (events counted as the kernel counts them). mutex_ or
  // sb_mutex_ held; returns the first error.
  int update_superblocks();
  void number_members_090();
  bool bad_blocks_pending() const;
  raid::Geometry geometry_locked() const;
  int degraded_locked() const;
  // The working member in `role` of the running array; sb_mutex_ held.
  Member* member_in_role_locked(int role) const;
  // "md/raid1:md0: ", how the kernel's personalities begin their lines.
  std::string md_prefix() const;
  void md_write_start();
  void md_write_end();
  void safemode_fired(uint64_t generation);
  void mark_clean_for_stop();
  Result<void> do_md_stop(int mode, bool caller_is_opener);
  Result<void> md_set_readonly(bool caller_is_opener);
  Result<void> restart_array();
  bool set_in_sync();
  void md_clean();
  bool openers_beyond(int allowed);

  // ---- the sync thread (sync.cc); mutex_ held unless said ----
  // What md_do_sync does (MD_RECOVERY_SYNC/RECOVER/CHECK/REQUESTED).
  enum class Sync : int { kNone, kResync, kRecover, kCheck, kRepair, kReshape };
  static const char* sync_description(Sync kind);  // as md_do_sync names the pass in the log
  // How a pass uses the bitmap (array_bitmap.cc): a resync or recovery
  // walking the sync space keeps its counters (NEEDED to RESYNC to clean)
  // and, unless it is a full sync, skips clean chunks; raid10's recovery
  // walks member sectors and asks the bitmap through the WriteIntent.
  struct SyncBitmap {
    std::shared_ptr<Bitmap> bitmap;  // nullptr: the pass leaves it alone
    bool skip = false;               // clean chunks are not synced
    bool still_degraded = false;     // a role stays missing after the pass
    bool member_space = false;       // raid10 recovery
  };
  SyncBitmap sync_bitmap_locked(Sync kind);
  void sync_bitmap_done(bool complete);  // at reap; mutex_ held
  // md_check_recovery: reaps a finished pass, gives spares missing roles,
  // and starts the pass the array needs (recover, a requested check or
  // repair, resync), unless frozen, read-only or stopped.
  void md_check_recovery();
  // Runs md_check_recovery on the md thread (no lock needed).
  void wake_md_thread();
  // Interrupts a running pass, waits for it and reaps it (MD_RECOVERY_INTR
  // and md_reap_sync_thread); recover and resync keep their checkpoint.
  void stop_sync_thread();
  void reap_sync_thread(bool wait = false);
  // remove_and_add_spares: faulty members leave their roles; spares take
  // missing ones. Returns whether a role is being recovered.
  bool remove_and_add_spares();
  // The thread body (md_do_sync), without mutex_.
  void md_do_sync(Sync kind, std::shared_ptr<raid::Personality> pers, uint64_t start, uint64_t total,
                  SyncBitmap bitmap);
  void sync_checkpoint(Sync kind, uint64_t done);  // takes sb_mutex_

  // ---- reshape (array_reshape.cc) ----
  // The personality of an array found mid-reshape: each role's member
  // and its new_offset (sectors from data_offset).
  Result<std::unique_ptr<raid::Personality>> run_reshaping(
      const raid::Geometry& g, raid::ReshapeGeometry r, const std::vector<std::pair<Member*, int64_t>>& role_members);
  // ---- starting one (array_grow.cc), mutex_ held ----
  int check_reshape_locked() const;
  int check_raid10_reshape_locked() const;
  Result<void> refuse_reshape_with_bitmap() const;
  Result<void> update_raid_disks(int n);
  Result<void> store_new_shape(std::optional<uint32_t> chunk, std::optional<int> layout);
  Result<void> start_reshape();
  Result<void> store_running_array_size(std::string_view text);
  Result<void> update_size(uint64_t sectors);
  Result<uint32_t> resized_bitmap_chunk(uint64_t sync_sectors) const;
  // ---- shapes that move no data (array_shape.cc), mutex_ held ----
  Result<std::unique_ptr<raid::Personality>> run_shape(const raid::PersonalityType& type, raid::Geometry g,
                                                       const std::vector<Member*>& roles);
  void install_shape(std::unique_ptr<raid::Personality> pers, const std::vector<Member*>& roles,
                     const std::function<void()>& apply);
  Result<void> reshape_mirrors(int n);
  Result<void> linear_append(Member& m, int slot);
  // ---- level takeovers (array_takeover.cc), mutex_ held ----
  struct Takeover;
  uint64_t raid0_zone_sectors() const;
  Result<Takeover> plan_takeover(const raid::PersonalityType& type) const;
  Result<void> takeover(std::string_view text);
  // md_do_sync's reshape pass, without mutex_.
  void md_do_reshape(std::shared_ptr<raid::Personality> pers, uint64_t total);
  // A reshape checkpoint: the position in every superblock (sb_mutex_).
  int reshape_checkpoint(uint64_t position, uint64_t done);
  // end_reshape and raid5_finish_reshape: the new shape everywhere.
  void finish_reshape();
  void sync_throttle(uint64_t io);                  // waits on sync_wait_mutex_
  bool sync_wait_below_max(uint64_t pos);          // waits on sync_wait_mutex_
  std::string mdstat_progress() const;
  struct Rate {
    uint64_t seconds = 1;
    uint64_t sectors = 0;
  };
  Rate sync_rate(uint64_t io) const;  // takes sync_wait_mutex_
  void update_configured();
  // ---- the raid4/5/6 write journal (journal.cc); mutex_ held ----
  // At start, with the journal member (nullptr: missing): the replay of its
  // log, or ENOENT when it is missing (the array then runs read-only, as
  // raid5_run's "journal disk is missing"), or EINVAL when the array cannot
  // start with it. Either way the array runs read-only: read_only_reason.
  Result<format::R5logReplay> start_journal(Member* journal, const raid::Geometry& g, bool degraded,
                                            const format::SuperInfo& freshest, std::string& read_only_reason);
  // ---- replacements (array_replace.cc); mutex_ held unless said ----
  Member* replacement_in(int role) const;
  Member* original_in(int role) const;
  std::function<void(int)> replacement_failure_handler(Member& replacement);
  void promote_replacement_locked(int role);  // sb_mutex_ held
  bool add_replacements(bool failed);
  void drop_forwarding_of_faulty();
  void plan_replacement_copies();
  bool copy_replacements(raid::Personality& pers, uint64_t pos, uint64_t n);  // the sync thread
  void replacements_done();
  template <class F>
  Result<void> locked_ioctl(F&& body);

  // ---- the write-intent bitmap (array_bitmap.cc) ----
  // The personality's WriteIntent: the running bitmap, if any.
  class Intent final : public raid::WriteIntent {
   public:
    explicit Intent(Array& array) : array_(array) {}
    int start_write(uint64_t lo, uint64_t hi) override;
    void end_write(uint64_t lo, uint64_t hi, bool complete) override;
    bool recovery_needed(uint64_t lo, uint64_t hi) override;
    uint32_t write_behind() override;
    void behind_started(uint32_t outstanding) override;
    void behind_ended() override;

   private:
    Array& array_;
  };
  // md_bitmap_create and md_bitmap_load at do_md_run: from the members'
  // bitmap, or a new one when bitmap/location was set on a new array.
  // Nothing is changed: do_md_run applies the result. EINVAL (logged)
  // when the bitmap cannot be read or would not fit.
  struct BitmapInfo;
  struct BitmapOpen {
    const format::SuperInfo* freshest = nullptr;  // nullptr when creating
    bool creating = false;
    std::array<uint8_t, 16> uuid{};
    BitmapStart start;
    std::vector<const Member*> readers;   // in sync, in the order added
    std::vector<const Member*> carriers;  // every member taking a role
  };
  struct OpenedBitmap;
  Result<OpenedBitmap> open_bitmap(const BitmapOpen& open);
  // Makes `bitmap` the running one (nullptr: none); pers_lock_ exclusive
  // or no personality yet.
  void set_live_bitmap(std::shared_ptr<Bitmap> bitmap);
  // Inside md_update_sb, before the superblocks: the members that carry
  // the bitmap, its superblock and waiting pages written. sb_mutex_ held.
  void bitmap_update_sb();
  // Members whose bitmap writes failed are failed (unless the array cannot
  // lose them). No lock held; `pers` is alive for the call.
  void bitmap_areas_failed(const std::vector<BitmapArea*>& failed, raid::Personality* pers);
  // The bitmap daemon's timer on the md thread, one per bitmap.
  struct BitmapDaemon;
  void arm_bitmap_daemon(const std::shared_ptr<BitmapDaemon>& daemon, bool restart);
  void bitmap_daemon_fired(const std::shared_ptr<BitmapDaemon>& daemon);
  // md_bitmap_flush before a stop or read-only switch: three daemon passes;
  // the superblock write that follows writes the rest. sb_mutex_ held.
  void bitmap_flush_for_stop();
  // The rule by which a member coming back recovers only the bitmap's
  // dirty chunks (super_1_validate for a running array): its role, or -1.
  int bitmap_readd_role(const format::SuperInfo& super) const;
  // The room a new 1.0 member keeps below its superblock for a bitmap at
  // a negative offset (sectors; its bad block log comes after); 0 else.
  uint32_t bitmap_room() const;
  std::string mdstat_bitmap_line() const;  // mutex_ held

  Registry& registry_;
  const std::string name_;
  const long minor_;
  const uint64_t id_;

  // Lifecycle, changed by Registry under its mutex_.
  std::atomic<Hold> hold_;
  std::atomic<int> openers_{0};
  std::atomic<bool> deleted_{false};      // MD_DELETED: its deletion is queued
  std::atomic<bool> configured_{false};
  int active_ = 0;                        // references (mddev->active); Registry::mutex_
  bool deletion_done_ = false;            // Registry::mutex_
  bool closing_ = false;                  // MD_CLOSING, during STOP_ARRAY; open_mutex_

  // open_mutex: orders md_open against a stop's openers check. Order:
  // mutex_ -> open_mutex_ -> Registry::mutex_.
  mutable std::mutex open_mutex_;
  std::condition_variable released_;      // signalled on every release (open_mutex_)

  // reconfig_mutex: configuration and state; every store and ioctl.
  mutable std::mutex mutex_;
  int level_ = LEVEL_NONE;
  std::string clevel_;                    // a level name written while inactive
  int layout_ = 0;
  uint32_t chunk_sectors_ = 0;
  int raid_disks_ = 0;
  uint64_t dev_sectors_ = 0;              // component size
  uint64_t array_sectors_ = 0;
  bool external_size_ = false;
  bool persistent_ = false;
  int major_version_ = 0;
  int minor_version_ = 90;
  int64_t ctime_ = 0;
  // resync_start; also advanced by the sync thread's checkpoints (sb_mutex_).
  std::atomic<uint64_t> recovery_cp_{0};
  unsigned safemode_delay_jiffies_ = 0;
  // Read by the data path without mutex_: changed with sb_mutex_ held.
  std::atomic<ReadOnly> ro_{ReadOnly::kReadWrite};
  std::atomic<bool> in_sync_{false};
  // MD_BROKEN: a member the array could not lose was failed. array_state
  // reads broken instead of clean, and every write fails with EIO (the
  // kernel's md_submit_bio) until the array stops.
  std::atomic<bool> broken_{false};
  std::array<uint8_t, 16> uuid_{};
  bool fail_last_dev_ = false;
  // Why the array runs read-only whatever is asked (a feature mdfs reads
  // but does not keep up, format/features.h); empty when it may be
  // switched to read-write.
  std::string read_only_reason_;
  // max_read_errors (mddev->max_corr_read_errors); read by the data path.
  std::atomic<unsigned> max_read_errors_{20};
  // MD_HAS_JOURNAL (consistency_policy journal), and whether the journal
  // member is there (the kernel's conf->log: journal_mode shows); the mode
  // journal_mode was last set to, which mdfs shows but, writing no
  // journal, does not act on.
  bool has_journal_ = false;
  bool journal_log_ = false;
  bool journal_write_back_ = false;
  // A reshape in progress (reshape_position_ kMaxSector: none): the
  // geometry it goes to, as the kernel's mddev; level_, layout_ and
  // chunk_sectors_ are the old shape's and raid_disks_ the new count.
  bool reshape_backwards_ = false;
  // The sync thread's checkpoints move it under sb_mutex_ alone.
  std::atomic<uint64_t> reshape_position_{kMaxSector};
  int new_level_ = LEVEL_NONE;
  int new_layout_ = 0;
  uint32_t new_chunk_sectors_ = 0;
  int delta_disks_ = 0;
  std::vector<std::shared_ptr<Member>> members_;  // in order of adding
  // Members removed while the personality may still hold them: kept until it stops.
  std::vector<std::shared_ptr<Member>> retired_;
  uint64_t events_ = 0;
  // mddev->bitmap_info: where the bitmap is (sectors from the superblock;
  // 0: none) and its tunables, kept without a bitmap too (set before one
  // is added, shown as the kernel shows them).
  struct BitmapInfo {
    int64_t offset = 0;
    uint32_t chunksize = 0;         // bytes
    uint64_t daemon_sleep_ms = 0;   // time_base
    uint32_t max_write_behind = 0;  // backlog
    uint64_t space = 0;             // sectors
  };
  BitmapInfo bitmap_info_;
  struct OpenedBitmap {
    std::shared_ptr<Bitmap> bitmap;  // nullptr: the array runs without one
    BitmapInfo info;
  };
  // The running bitmap. Replaced only with mutex_, sb_mutex_ and pers_lock_
  // (exclusive) held, so the data path (pers_lock_ shared) reads
  // live_bitmap_ without locks and the md thread's daemon holds its own
  // reference.
  std::shared_ptr<Bitmap> bitmap_;
  std::atomic<Bitmap*> live_bitmap_{nullptr};
  std::shared_ptr<BitmapDaemon> bitmap_daemon_;  // its timer; with bitmap_
  // The area object each bitmap-carrying member keeps (sb_mutex_).
  std::vector<std::pair<const Member*, std::shared_ptr<BitmapArea>>> bitmap_areas_;
  Intent intent_{*this};
  // raid10's recovery asks whether a range is needed: every range during a
  // full recovery (a fresh spare), the bitmap's dirty ones otherwise.
  std::atomic<bool> recovery_full_{true};
  SyncBitmap sync_bitmap_;                // the running pass's; mutex_
  bool can_decrease_events_ = false;
  // The kernel's sb_flags for what mdfs does not write at once (a check
  // that ran, corrected read errors): a change the superblocks have yet to
  // record (sb_mutex_). update_superblocks clears it; a stop of a clean
  // array writes only with it set.
  bool sb_change_pending_ = false;
  std::string set_name_;                  // v1 set_name, "homehost:name"
  int64_t utime_ = 0;
  const raid::PersonalityType* pers_type_ = nullptr;

  // The running personality; swapped only with pers_lock_ held exclusively,
  // which waits for in-flight requests (their Io holds it shared).
  mutable std::shared_mutex pers_lock_;
  std::shared_ptr<raid::Personality> pers_;
  std::atomic<int> writes_in_flight_{0};
  // Some member has had a bad block recorded (set, never cleared): until
  // then zero-copy reads skip the bad block check.
  std::atomic<bool> bad_blocks_seen_{false};
  // array_size set by the user on a running array (kMaxSector: the
  // personality's size): the data path ends there.
  std::atomic<uint64_t> size_limit_{kMaxSector};

  // sb_mutex_: superblock writes, events_, the clean/active and read-auto
  // transitions of the data path, member failures. While the array runs its
  // configuration changes only with both mutex_ and sb_mutex_ held, so the
  // data path reads it under sb_mutex_ alone; and as member failures and
  // superblock writes (events, utime) happen under sb_mutex_ alone, what
  // shows them takes it after mutex_. Order: mutex_ -> sb_mutex_;
  // never held while waiting for pers_lock_.
  mutable std::mutex sb_mutex_;
  uint64_t safemode_generation_ = 0;      // sb_mutex_: cancels older timers
  // sb_mutex_: cancels the pending safe-mode timer (on the md thread, which
  // owns timers); called when a newer one replaces it or the array stops.
  std::function<void()> cancel_safemode_;

  // The sync thread. sync_thread_, sync_requested_, sync_frozen_ and
  // last_sync_ are guarded by mutex_; the thread itself never takes mutex_
  // (a stop holding it joins the thread), only sb_mutex_ for checkpoints
  // and sync_wait_mutex_ for its throttle.
  std::thread sync_thread_;
  Sync sync_requested_ = Sync::kNone;     // a check or repair asked for
  bool sync_frozen_ = false;              // MD_RECOVERY_FROZEN
  // A resync or recovery that failed (a read with no copy left) is not
  // started again by itself, until a member is added or sync_action written.
  bool sync_blocked_ = false;
  Sync last_sync_ = Sync::kNone;          // last_sync_action
  std::atomic<Sync> sync_running_{Sync::kNone};  // the pass the thread runs
  std::atomic<bool> sync_interrupt_{false};      // MD_RECOVERY_INTR
  std::atomic<bool> sync_failed_{false};         // a window failed: the pass ended early
  std::atomic<bool> sync_finished_{false};       // the thread is done: reap it
  std::atomic<uint64_t> sync_total_{0};          // the pass's last sector (max_sectors)
  std::atomic<uint64_t> curr_resync_{0};         // sectors done
  std::atomic<uint64_t> curr_resync_completed_{0};  // checkpointed (sync_completed)
  std::atomic<uint64_t> sync_io_{0};             // sectors synced, not skipped (the speed)
  std::atomic<uint64_t> resync_mismatches_{0};   // mismatch_cnt
  // sync_min, sync_max: where a check or repair starts, and where any pass
  // waits until sync_max is raised (sectors of the sync space).
  uint64_t resync_min_ = 0;
  std::atomic<uint64_t> resync_max_{kMaxSector};
  std::atomic<unsigned> speed_min_{0};           // KiB/s; 0: the system's
  std::atomic<unsigned> speed_max_{0};
  // Array requests (reads, writes, flushes) counted by io(): the sync
  // throttle's measure of whether the array is busy (is_mddev_idle).
  mutable std::atomic<uint64_t> io_requests_{0};
  uint64_t io_requests_seen_ = 0;                // the sync thread's alone
  // raid5.c's conf tunables; mutex_ for stores, the size read without it
  // by the data path.
  std::atomic<unsigned> stripe_cache_size_{256};  // NR_STRIPES
  unsigned long preread_bypass_threshold_ = 1;   // IO_THRESHOLD
  // sync_wait_mutex_: the speed marks; the throttle waits on sync_wake_,
  // which an interrupt or a speed change signals. Taken after the others.
  mutable std::mutex sync_wait_mutex_;
  std::condition_variable sync_wake_;
  struct Mark {
    std::chrono::steady_clock::time_point when;
    uint64_t io;  // sync_io_ then
  };
  std::vector<Mark> sync_marks_;          // the last ten, every 3 s (SYNC_MARKS)
  // A recovery pass's replacements: set by md_check_recovery before the
  // thread starts, read by it, left alone until it is reaped.
  std::vector<std::pair<std::shared_ptr<Member>, std::shared_ptr<Member>>> replace_pairs_;
  std::vector<std::byte> replace_buffer_;  // the sync thread's
  bool sync_pers_recovers_ = false;        // the personality rebuilds some role
  int replace_max_degraded_ = 0;
};

}  // namespace mdfs::core
