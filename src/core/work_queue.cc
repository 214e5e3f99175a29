#include "core/work_queue.h"

#include <boost/asio/post.hpp>

#include <future>
#include <pthread.h>

namespace mdfs::core {

WorkQueue::WorkQueue(std::string name)
    : name_(std::move(name)), guard_(boost::asio::make_work_guard(io_)) {}

void WorkQueue::start() {
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
    io_.run();
  });
}

WorkQueue::~WorkQueue() {
  guard_.reset();
  if (started_) thread_.join();
  else io_.poll();
}

void WorkQueue::post(std::function<void()> work) { boost::asio::post(io_, std::move(work)); }

void WorkQueue::flush() {
  if (!started_) {
    io_.poll();
    return;
  }
  std::promise<void> done;
  auto ready = done.get_future();
  boost::asio::post(io_, [&done] { done.set_value(); });
  ready.wait();
}

}  // namespace mdfs::core
