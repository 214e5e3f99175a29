// Registry: every array of the mount (the kernel's all_mddevs) and the
// lifecycle rules of md.c: md_alloc with its flush of pending deletions,
// mddev_get/mddev_put, md_open/md_release, and the deletion of an array
// that nobody configures, holds or opens, queued on a work queue.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/array.h"
#include "core/shelf.h"
#include "core/work_queue.h"
#include "mdfs/result.h"

namespace mdfs::core {

class Registry;

// A counted reference (mddev_get ... mddev_put) for the length of one
// sysfs access or ioctl; its end may queue the array's deletion.
class ArrayRef {
 public:
  ArrayRef(Registry& registry, std::shared_ptr<Array> array);
  ~ArrayRef();
  ArrayRef(ArrayRef&& other) noexcept;
  ArrayRef(const ArrayRef&) = delete;
  ArrayRef& operator=(const ArrayRef&) = delete;
  ArrayRef& operator=(ArrayRef&&) = delete;
  Array* operator->() const { return array_.get(); }
  Array& operator*() const { return *array_; }
  const std::shared_ptr<Array>& array() const { return array_; }

 private:
  Registry* registry_;
  std::shared_ptr<Array> array_;
};

class Registry {
 public:
  // Called on the work queue once an array is deleted, so the namespace can
  // tell the kernel's caches; it must not block on FUSE requests.
  using DeleteListener = std::function<void(const std::shared_ptr<Array>&)>;

  explicit Registry(UniqueFd source = UniqueFd());
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void set_delete_listener(DeleteListener listener);

  // Readers that poll() an attribute or proc/mdstat are told what changed:
  // sysfs_notify names an array's attribute by its path below
  // sys/block/<name>/md/ ("array_state", "dev-a.img/state"), md_new_event
  // is proc/mdstat's (array id 0, "mdstat"). The kernel's points of
  // sysfs_notify and md_new_event call these, with core locks held: the
  // listener must not block. An empty listener stops the telling.
  using NotifyListener = std::function<void(uint64_t array_id, std::string_view path)>;
  void set_notify_listener(NotifyListener listener);
  void sysfs_notify(uint64_t array_id, std::string_view path);
  void md_new_event() { sysfs_notify(0, "mdstat"); }
  // Starts the deferred-work thread (after the daemon has forked).
  void start() {
    misc_wq_.start();
    md_wq_.start();
  }
  Shelf& shelf() { return shelf_; }
  // The md thread: timers of the arrays (safe mode).
  WorkQueue& md_thread() { return md_wq_; }
  // At mount: every array found on the shelf's members, assembled and
  // started as `mdadm --assemble --scan --run` would, saying in the log
  // what it did.
  void assemble_all();

  // A write to parameters/new_array (rule 2); the new array's id.
  Result<uint64_t> new_array(std::string_view text);
  // Takes back the array `name` that new_array made as `id`, if nobody has
  // touched it since (no reference, no opener, no configuration): the
  // first part of a name written in pieces (see sysfs's store memory).
  // false, and nothing changed, otherwise.
  bool withdraw_new_array(const std::string& name, uint64_t id);
  // O_CREAT of dev/<name>: the probe, then md_open (rule 1). An existing
  // array is just opened (EEXIST when `exclusive`).
  Result<std::shared_ptr<Array>> create_and_open(std::string_view name, bool exclusive);
  // md_open: ESTALE, after waiting for the deletion, for a dying array (rule 5).
  Result<void> open(const std::shared_ptr<Array>& array);
  // md_release: the last reference of an unconfigured, unheld array deletes it.
  void release(const std::shared_ptr<Array>& array);
  // mddev_get: nothing for an array whose deletion has begun.
  std::optional<ArrayRef> get(const std::shared_ptr<Array>& array);

  // Arrays the namespace shows: present and not dying.
  std::shared_ptr<Array> find(std::string_view name) const;
  std::vector<std::shared_ptr<Array>> arrays() const;  // newest first, as mdstat

  bool create_on_open() const { return create_on_open_.load(); }
  void set_create_on_open(bool value) { create_on_open_.store(value); }
  // md_mod's start_dirty_degraded: non-zero lets a raid4/5/6 start while
  // both dirty and degraded (the kernel refuses, as its parity may be stale).
  int start_dirty_degraded() const { return start_dirty_degraded_.load(); }
  void set_start_dirty_degraded(int value) { start_dirty_degraded_.store(value); }

  // Waits for every deletion queued so far (flush_workqueue(md_misc_wq)).
  void flush();
  // At unmount: stop every array cleanly and finish every queued deletion.
  void shutdown();
  size_t size() const;

 private:
  friend class ArrayRef;
  void put(const std::shared_ptr<Array>& array);
  void delayed_delete(const std::shared_ptr<Array>& array);
  bool add_opener(const std::shared_ptr<Array>& array);

  Shelf shelf_;  // first: outlives the arrays, whose members give names back to it
  // all_mddevs_lock: arrays_, next_id_, and each Array's active_ and
  // deletion_done_. Taken after any Array::mutex_ and open_mutex_.
  mutable std::mutex mutex_;
  std::condition_variable deletion_done_;
  std::map<std::string, std::shared_ptr<Array>, std::less<>> arrays_;
  uint64_t next_id_ = 1;
  std::atomic<bool> create_on_open_{true};
  std::atomic<int> start_dirty_degraded_{0};
  DeleteListener listener_;
  // Guards notify_: a leaf, taken after any other core lock.
  std::mutex notify_mutex_;
  NotifyListener notify_;
  WorkQueue md_wq_{"md_thread"};
  WorkQueue misc_wq_{"md_misc_wq"};  // last: destroyed first, after draining
};

}  // namespace mdfs::core
