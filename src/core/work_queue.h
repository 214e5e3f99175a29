// A work queue on its own thread (Boost.Asio), as the kernel's md_misc_wq:
// deferred work runs in order, and flush() waits for everything queued
// before it, which is how creating an array waits for pending deletions.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <string>
#include <thread>

namespace mdfs::core {

class WorkQueue {
 public:
  explicit WorkQueue(std::string name);
  ~WorkQueue();  // runs what is queued, then joins the thread
  // Starts the thread. Separate from construction because a daemon forks
  // (fuse_daemonize) after setting up, and threads do not survive a fork;
  // until then flush() runs queued work on the caller's thread.
  void start();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void post(std::function<void()> work);
  // Waits until all work posted before this call has run. Must not be
  // called from the queue's own thread (it would wait for itself).
  void flush();
  bool on_queue_thread() const { return std::this_thread::get_id() == thread_.get_id(); }
  boost::asio::io_context& context() { return io_; }

 private:
  std::string name_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
  bool started_ = false;
};

}  // namespace mdfs::core
