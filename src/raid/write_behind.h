// raid1's write-behind (raid1.c's R1BIO_BehindIO and md-bitmap.c's
// behind_writes): the writes of write-mostly members run on one thread,
// in the order they were issued, while the array write that made them has
// already returned; how many are behind at once, and the wait of a reader
// that must not overtake them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace mdfs::raid {

class WriteBehind {
 public:
  WriteBehind() = default;
  // Waits for every job queued (a stop's md_bitmap_wait_behind_writes).
  ~WriteBehind();
  WriteBehind(const WriteBehind&) = delete;
  WriteBehind& operator=(const WriteBehind&) = delete;

  // One more write goes behind: false (nothing counted) when `limit`
  // (bitmap/backlog) are behind already or a reader waits for them to
  // land, as raid1_write_request's test before alloc_behind_master_bio.
  // `outstanding` is the count with this one (max_backlog_used).
  bool try_start(uint32_t limit, uint32_t& outstanding);
  // A behind write landed (or failed): md_bitmap_endwrite's
  // behind_writes-- and wake_up(behind_wait).
  void end();
  // raid1_read_request before reading a write-mostly member: waits until
  // no write is behind; new writes are not put behind meanwhile.
  void wait_landed();
  bool any_behind() const;

  // Runs `job` on the write-behind thread after every job queued before.
  void queue(std::function<void()> job);
  // Runs `job` in that order and returns when it is done; at once on the
  // caller's thread when nothing is queued (a member write that is not
  // behind must not overtake one that is).
  void run_in_order(const std::function<void()>& job);
  // Returns when every job queued so far is done (quiesce).
  void drain();

 private:
  void work();

  // mutex_ guards everything below; it is innermost: jobs run without it,
  // and nothing else is taken under it.
  mutable std::mutex mutex_;
  std::condition_variable changed_;  // a job queued or done, a count moved
  std::deque<std::function<void()>> jobs_;
  bool running_ = false;   // the thread runs a job taken off jobs_
  bool stopping_ = false;
  uint32_t behind_ = 0;    // bitmap->behind_writes
  int readers_waiting_ = 0;  // waitqueue_active(&bitmap->behind_wait)
  std::thread thread_;     // started with the first job
};

}  // namespace mdfs::raid
