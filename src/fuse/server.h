// The FUSE adapter: low-level FUSE requests -> Namespace/Registry/Array
// calls -> replies. It owns inode numbers, file handles and the kernel
// cache notifications; everything md lives below it.
#pragma once

#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "core/work_queue.h"
#include "sysfs/namespace.h"

namespace mdfs::fuse {

class Server {
 public:
  explicit Server(sysfs::Namespace& ns);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  static const fuse_lowlevel_ops& operations();
  void set_session(fuse_session* session) { session_.store(session); }
  // The largest read the kernel may send (the mount's max_read option:
  // libfuse refuses an init that disagrees with it). 0 = the kernel's.
  void set_max_read(unsigned bytes) { max_read_ = bytes; }
  // Starts the notification thread (after the daemon has forked).
  void start() { notify_wq_.start(); }
  // From the registry's work queue: the array is gone, tell the kernel's
  // dentry caches (asynchronously, never from a request handler).
  void array_deleted(const std::shared_ptr<core::Array>& array);
  // The array's size changed: the kernel drops its cached attributes of
  // dev/<name> (and its pages), so stat and reads see the new size.
  void array_resized(const std::shared_ptr<core::Array>& array);
  // Stops sending notifications (before the session is destroyed).
  void detach();
  // From the core (Registry's notify listener, any thread, core locks
  // held): the attribute changed, as sysfs_notify or md_new_event. Wakes
  // the poll()s waiting on it, through the notification thread.
  void notify(uint64_t array_id, std::string_view path);

  // Request handlers (static trampolines in server.cc call these).
  void init(fuse_conn_info* conn);
  void lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void forget(fuse_ino_t ino, uint64_t nlookup);
  void getattr(fuse_req_t req, fuse_ino_t ino);
  void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set);
  void readlink(fuse_req_t req, fuse_ino_t ino);
  void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi);
  void releasedir(fuse_req_t req, fuse_file_info* fi);
  void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
  void read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi);
  void write(fuse_req_t req, const char* buf, size_t size, off_t off, fuse_file_info* fi);
  void flush(fuse_req_t req, fuse_file_info* fi);
  void release(fuse_req_t req, fuse_file_info* fi);
  void fsync(fuse_req_t req, fuse_file_info* fi);
  void ioctl(fuse_req_t req, unsigned int cmd, void* arg, fuse_file_info* fi, unsigned flags,
             const void* in_buf, size_t in_bufsz, size_t out_bufsz);
  void poll(fuse_req_t req, fuse_file_info* fi, fuse_pollhandle* ph);

 private:
  struct Inode {
    fuse_ino_t ino;
    fuse_ino_t parent;
    std::string name;
    sysfs::Entry entry;
    uint64_t nlookup = 0;
  };
  struct Handle;
  // Every handle given to the kernel as fi->fh and not yet released, so the
  // ones whose RELEASE never arrives are freed with the server.
  uint64_t adopt(std::unique_ptr<Handle> handle);
  std::mutex handles_mutex_;  // a leaf
  std::unordered_set<Handle*> handles_;
  // What chmod and chown set on a dev/<name> file: kept as long as that
  // array (that incarnation) exists, in memory only.
  struct NodeAttr {
    mode_t mode;
    uid_t uid;
    gid_t gid;
  };
  NodeAttr device_attr(const core::Array& array) const;
  // chmod/chown of a device file by the caller of `req`, as the kernel's
  // setattr_prepare allows them: 0 or EPERM.
  int change_device_attr(fuse_req_t req, const core::Array& array, const struct stat& attr, int to_set);

  std::shared_ptr<Inode> find(fuse_ino_t ino);
  // The inode for `entry` under (parent, name), counting one lookup: the
  // same node keeps its number, a new incarnation gets a new one.
  std::shared_ptr<Inode> remember(fuse_ino_t parent, const std::string& name, const sysfs::Entry& entry);
  struct stat stat_of(const Inode& inode) const;
  fuse_entry_param entry_param(const Inode& inode) const;

  sysfs::Namespace& ns_;
  uid_t uid_;
  gid_t gid_;
  struct timespec mount_time_;

  // Guards inodes_, children_ and next_ino_. Taken by handlers only; never
  // held while calling into the core or the kernel.
  std::mutex mutex_;
  std::unordered_map<fuse_ino_t, std::shared_ptr<Inode>> inodes_;
  std::map<std::pair<fuse_ino_t, std::string>, fuse_ino_t> children_;
  fuse_ino_t next_ino_;

  // poll(): each attribute's event count (as kernfs's open node counts
  // sysfs_notify; absent means 1, the count a node starts with) and the
  // handles whose pollers wait for the next. Guarded by poll_mutex_, a leaf:
  // taken after Registry's notify lock, never while calling libfuse.
  using PollKey = sysfs::Namespace::PollKey;
  std::mutex poll_mutex_;
  std::map<PollKey, uint64_t> events_;
  std::multimap<PollKey, Handle*> pollers_;
  uint64_t event_count(const PollKey& key) const;  // poll_mutex_ held
  void forget_poller(Handle* h);                    // takes poll_mutex_

  // Guards device_attrs_; taken alone, never with mutex_.
  mutable std::mutex attr_mutex_;
  std::map<uint64_t, NodeAttr> device_attrs_;  // by Array::id()

  unsigned max_read_ = 0;
  std::atomic<fuse_session*> session_{nullptr};
  core::WorkQueue notify_wq_{"mdfs_notify"};
};

}  // namespace mdfs::fuse
