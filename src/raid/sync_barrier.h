// The range barrier between a sync pass and array writes (raid1's and
// raid10's raise_barrier/wait_barrier): while the sync thread works on a
// window of the sync space, writes that map into it wait, and the window
// is raised only once the writes already inside it are done, so a check
// never sees half of a write and a repair never undoes one. Between passes
// a write costs one atomic increment and one load.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

namespace mdfs::raid {

class SyncBarrier {
 public:
  // A write over [lo, hi) of the sync space, from enter() to destruction.
  class Pass {
   public:
    Pass(SyncBarrier& b, bool slow, uint64_t lo, uint64_t hi) : b_(&b), slow_(slow), lo_(lo), hi_(hi) {}
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    ~Pass() { b_->leave(*this); }

   private:
    friend class SyncBarrier;
    SyncBarrier* b_;
    bool slow_;
    uint64_t lo_, hi_;
  };

  Pass enter(uint64_t lo, uint64_t hi) {
    // Dekker's handshake with begin(): either this write sees the pass
    // active, or begin() sees it counted in fast_ and waits for it.
    fast_.fetch_add(1);
    if (!active_.load()) return Pass(*this, false, lo, hi);
    leave_fast();
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !(raised_ && lo < hi_ && lo_ < hi); });
    inflight_.push_back({lo, hi});
    return Pass(*this, true, lo, hi);
  }

  // A pass starts: from now on writes register their range; waits for the
  // writes that entered without doing so.
  void begin() {
    active_.store(true);
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return fast_.load() == 0; });
  }
  void end() {
    std::lock_guard lock(mutex_);
    raised_ = false;
    active_.store(false);
    changed_.notify_all();
  }

  // The window [lo, hi): new writes into it wait; returns once the writes
  // already in it are done. Between begin() and end() only.
  void raise(uint64_t lo, uint64_t hi) {
    std::unique_lock lock(mutex_);
    lo_ = lo;
    hi_ = hi;
    raised_ = true;
    changed_.wait(lock, [&] {
      return std::none_of(inflight_.begin(), inflight_.end(),
                          [&](const Range& r) { return r.lo < hi && lo < r.hi; });
    });
  }
  void lower() {
    std::lock_guard lock(mutex_);
    raised_ = false;
    changed_.notify_all();
  }

 private:
  struct Range {
    uint64_t lo, hi;
  };
  void leave_fast() {
    if (fast_.fetch_sub(1) == 1 && active_.load()) {
      std::lock_guard lock(mutex_);
      changed_.notify_all();
    }
  }
  void leave(const Pass& p) {
    if (!p.slow_) return leave_fast();
    std::lock_guard lock(mutex_);
    auto it = std::find_if(inflight_.begin(), inflight_.end(),
                           [&](const Range& r) { return r.lo == p.lo_ && r.hi == p.hi_; });
    if (it != inflight_.end()) inflight_.erase(it);
    changed_.notify_all();
  }

  std::atomic<int> fast_{0};         // writes in flight that did not register
  std::atomic<bool> active_{false};  // a pass runs: writes register
  // mutex_ guards the window and inflight_; nothing else is locked under it.
  std::mutex mutex_;
  std::condition_variable changed_;
  bool raised_ = false;
  uint64_t lo_ = 0, hi_ = 0;
  std::vector<Range> inflight_;      // registered writes' ranges
};

// Holds a window raised for its lifetime.
class RaisedWindow {
 public:
  RaisedWindow(SyncBarrier& b, uint64_t lo, uint64_t hi) : b_(b) { b_.raise(lo, hi); }
  ~RaisedWindow() { b_.lower(); }
  RaisedWindow(const RaisedWindow&) = delete;
  RaisedWindow& operator=(const RaisedWindow&) = delete;

 private:
  SyncBarrier& b_;
};

}  // namespace mdfs::raid
