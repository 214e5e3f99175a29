#include "raid/write_behind.h"

namespace mdfs::raid {

WriteBehind::~WriteBehind() {
  drain();
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool WriteBehind::try_start(uint32_t limit, uint32_t& outstanding) {
  std::lock_guard lock(mutex_);
  if (behind_ >= limit || readers_waiting_ > 0) return false;
  outstanding = ++behind_;
  return true;
}

void WriteBehind::end() {
  {
    std::lock_guard lock(mutex_);
    --behind_;
  }
  changed_.notify_all();
}

void WriteBehind::wait_landed() {
  std::unique_lock lock(mutex_);
  if (behind_ == 0) return;
  ++readers_waiting_;
  changed_.wait(lock, [&] { return behind_ == 0; });
  --readers_waiting_;
}

bool WriteBehind::any_behind() const {
  std::lock_guard lock(mutex_);
  return behind_ > 0;
}

void WriteBehind::queue(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back(std::move(job));
    if (!thread_.joinable()) thread_ = std::thread([this] { work(); });
  }
  changed_.notify_all();
}

void WriteBehind::run_in_order(const std::function<void()>& job) {
  std::unique_lock lock(mutex_);
  if (jobs_.empty() && !running_) {
    lock.unlock();
    job();
    return;
  }
  // The queue has a thread: it was started with the job ahead of this one.
  bool done = false;
  jobs_.push_back([&] {
    job();
    std::lock_guard inner(mutex_);
    done = true;  // the thread notifies once the job is off its hands
  });
  changed_.notify_all();
  changed_.wait(lock, [&] { return done; });
}

void WriteBehind::drain() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return jobs_.empty() && !running_; });
}

void WriteBehind::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping, nothing left
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    running_ = true;
    lock.unlock();
    job();
    job = nullptr;  // what it held (a behind write's copy, its passes) goes first
    lock.lock();
    running_ = false;
    changed_.notify_all();
  }
}

}  // namespace mdfs::raid
