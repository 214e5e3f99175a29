#include "fuse/server.h"

#include "fuse/splice_read.h"
#include <linux/fs.h>
#include <linux/major.h>
#include <linux/raid/md_u.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace mdfs::fuse {

namespace {

using sysfs::DirKind;
using sysfs::Entry;
using sysfs::NodeType;

// The fixed directories get fixed numbers; arrays' nodes count up from here
// and a number is never given twice, so no new incarnation reuses one.
constexpr fuse_ino_t kRootIno = FUSE_ROOT_ID;
constexpr fuse_ino_t kFirstDynamicIno = 16;

// The fixed tree never changes: the kernel may cache it for long. An
// array's own names (dev/<name>, sys/block/<name>) are never cached, so a
// path walk right after a clear or a create always reaches the current
// incarnation; what lies below them belongs to one incarnation and may be
// cached briefly. A device's attributes (its size) are never cached.
constexpr double kStaticTimeout = 86400.0;
constexpr double kArrayTimeout = 1.0;

constexpr size_t kMaxWrite = 1 << 20;
// libfuse copies replies under two pages instead of splicing them.
constexpr size_t kSpliceMin = 8192;
// readdir of a name not looked up yet: any number but 0 (which readers skip).
constexpr fuse_ino_t kUnknownIno = 0xffffffff;

Server* server_of(fuse_req_t req) { return static_cast<Server*>(fuse_req_userdata(req)); }

}  // namespace

// One open file. Devices count as md openers until release; attribute files
// keep the text shown at offset 0 so reads at later offsets are consistent,
// and what their writes stored, and what poll() compares: the event count
// seen at the last read from offset 0, and the poller's handle to wake (both
// under poll_mutex_).
struct Server::Handle {
  Entry entry;
  std::string text;
  sysfs::StoreMemory stored;
  std::optional<sysfs::Namespace::PollKey> poll_key;
  uint64_t event_seen = 0;
  fuse_pollhandle* ph = nullptr;
};

Server::Server(sysfs::Namespace& ns) : ns_(ns), uid_(getuid()), gid_(getgid()), next_ino_(kFirstDynamicIno) {
  clock_gettime(CLOCK_REALTIME, &mount_time_);
  auto root = std::make_shared<Inode>(Inode{kRootIno, kRootIno, "", ns_.root(), 1});
  inodes_[kRootIno] = root;
  // Number the fixed directories once, in a breadth-first walk.
  std::vector<std::shared_ptr<Inode>> todo{root};
  fuse_ino_t next = kRootIno + 1;
  while (!todo.empty()) {
    auto dir = todo.front();
    todo.erase(todo.begin());
    for (auto& [name, entry] : ns_.list(dir->entry)) {
      if (entry.type != NodeType::kDir || entry.array) continue;
      auto node = std::make_shared<Inode>(Inode{next++, dir->ino, name, entry, 1});
      inodes_[node->ino] = node;
      children_[{dir->ino, name}] = node->ino;
      todo.push_back(node);
    }
  }
}

// A RELEASE the kernel had not sent when the session ended never comes: the
// handles still open are freed here (their arrays are going away with the
// daemon, so no md_release is run for them).
Server::~Server() {
  for (Handle* h : handles_) {
    if (h->ph) fuse_pollhandle_destroy(h->ph);
    delete h;
  }
}

void Server::detach() { session_.store(nullptr); }

std::shared_ptr<Server::Inode> Server::find(fuse_ino_t ino) {
  std::lock_guard lock(mutex_);
  auto it = inodes_.find(ino);
  return it == inodes_.end() ? nullptr : it->second;
}

std::shared_ptr<Server::Inode> Server::remember(fuse_ino_t parent, const std::string& name, const Entry& entry) {
  std::lock_guard lock(mutex_);
  auto key = std::make_pair(parent, name);
  if (auto it = children_.find(key); it != children_.end()) {
    auto node = inodes_.find(it->second);
    if (node != inodes_.end() && node->second->entry.same_node(entry)) {
      ++node->second->nlookup;
      return node->second;
    }
  }
  auto node = std::make_shared<Inode>(Inode{next_ino_++, parent, name, entry, 1});
  inodes_[node->ino] = node;
  children_[key] = node->ino;
  return node;
}

void Server::forget(fuse_ino_t ino, uint64_t nlookup) {
  if (ino < kFirstDynamicIno) return;
  std::lock_guard lock(mutex_);
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return;
  auto& node = it->second;
  node->nlookup -= std::min(node->nlookup, nlookup);
  if (node->nlookup > 0) return;
  auto child = children_.find({node->parent, node->name});
  if (child != children_.end() && child->second == ino) children_.erase(child);
  inodes_.erase(it);
}

Server::NodeAttr Server::device_attr(const core::Array& array) const {
  std::lock_guard lock(attr_mutex_);
  auto it = device_attrs_.find(array.id());
  if (it != device_attrs_.end()) return it->second;
  Entry device;
  device.type = NodeType::kDevice;
  return NodeAttr{device.mode(), uid_, gid_};
}

namespace {

bool in_group(fuse_req_t req, gid_t gid) {
  if (fuse_req_ctx(req)->gid == gid) return true;
  gid_t groups[64];
  int n = fuse_req_getgroups(req, 64, groups);
  for (int i = 0; i < std::min(n, 64); ++i)
    if (groups[i] == gid) return true;
  return false;
}

}  // namespace

int Server::change_device_attr(fuse_req_t req, const core::Array& array, const struct stat& attr, int to_set) {
  const fuse_ctx* ctx = fuse_req_ctx(req);
  NodeAttr a = device_attr(array);
  // As chown_ok, chgrp_ok and inode_owner_or_capable: root may do all; the
  // file's owner may change its mode, and its group to one of its own.
  const bool root = ctx->uid == 0, owner = ctx->uid == a.uid;
  if ((to_set & FUSE_SET_ATTR_UID) && !root && !(owner && attr.st_uid == a.uid)) return EPERM;
  if ((to_set & FUSE_SET_ATTR_GID) && !root && !(owner && (attr.st_gid == a.gid || in_group(req, attr.st_gid))))
    return EPERM;
  if ((to_set & FUSE_SET_ATTR_MODE) && !root && !owner) return EPERM;
  if (to_set & FUSE_SET_ATTR_MODE) a.mode = (a.mode & S_IFMT) | (attr.st_mode & 07777);
  if (to_set & FUSE_SET_ATTR_UID) a.uid = attr.st_uid;
  if (to_set & FUSE_SET_ATTR_GID) a.gid = attr.st_gid;
  std::lock_guard lock(attr_mutex_);
  device_attrs_[array.id()] = a;
  return 0;
}

struct stat Server::stat_of(const Inode& inode) const {
  struct stat st {};
  st.st_ino = inode.ino;
  st.st_mode = inode.entry.mode();
  st.st_nlink = inode.entry.type == NodeType::kDir ? 2 : 1;
  st.st_uid = uid_;
  st.st_gid = gid_;
  if (inode.entry.type == NodeType::kDevice) {
    const NodeAttr a = device_attr(*inode.entry.array);
    st.st_mode = a.mode;
    st.st_uid = a.uid;
    st.st_gid = a.gid;
  }
  st.st_blksize = 4096;
  st.st_atim = st.st_mtim = st.st_ctim = mount_time_;
  switch (inode.entry.type) {
    case NodeType::kDevice: st.st_size = static_cast<off_t>(inode.entry.array->size_bytes()); break;
    case NodeType::kFile: st.st_size = 4096; break;  // as sysfs shows its attributes
    case NodeType::kSymlink: st.st_size = static_cast<off_t>(inode.entry.link.size()); break;
    case NodeType::kDir: st.st_size = 0; break;
  }
  st.st_blocks = (st.st_size + 511) / 512;
  return st;
}

fuse_entry_param Server::entry_param(const Inode& inode) const {
  fuse_entry_param e{};
  e.ino = inode.ino;
  e.generation = 1;
  e.attr = stat_of(inode);
  bool fixed = !inode.entry.array;
  // Members and role links come and go while the array lives: never cached either.
  bool array_name = inode.entry.type == NodeType::kDevice || inode.entry.dir == DirKind::kBlockArray ||
                    inode.entry.dir == DirKind::kMember || inode.entry.type == NodeType::kSymlink;
  e.entry_timeout = fixed ? kStaticTimeout : (array_name ? 0.0 : kArrayTimeout);
  e.attr_timeout = array_name ? 0.0 : (fixed ? kStaticTimeout : kArrayTimeout);
  return e;
}

void Server::init(fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // Otherwise the kernel asks for a device's attributes (never cached) before
  // every read. It still asks when a read goes past the size it knows, and
  // an open drops cached pages, so a started or stopped array is seen.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  conn->max_write = kMaxWrite;
  if (max_read_ != 0) conn->max_read = max_read_;
}

void Server::lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto dir = find(parent);
  if (!dir) return (void)fuse_reply_err(req, ESTALE);
  auto entry = ns_.lookup(dir->entry, name);
  if (!entry) return (void)fuse_reply_err(req, entry.error());
  auto node = remember(parent, name, *entry);
  auto param = entry_param(*node);
  if (fuse_reply_entry(req, &param) != 0) forget(node->ino, 1);
}

void Server::getattr(fuse_req_t req, fuse_ino_t ino) {
  auto node = find(ino);
  if (!node || !ns_.alive(node->entry)) return (void)fuse_reply_err(req, ENOENT);
  auto st = stat_of(*node);
  fuse_reply_attr(req, &st, entry_param(*node).attr_timeout);
}

void Server::setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set) {
  auto node = find(ino);
  if (!node || !ns_.alive(node->entry)) return (void)fuse_reply_err(req, ENOENT);
  if ((to_set & FUSE_SET_ATTR_SIZE) && node->entry.type == NodeType::kDevice &&
      static_cast<uint64_t>(attr->st_size) != node->entry.array->size_bytes()) {
    // Like a block device: its size is the array's, truncate cannot change it.
    return (void)fuse_reply_err(req, EINVAL);
  }
  // chmod and chown: a device file keeps what they set while its array
  // exists; the rest of the tree has fixed modes (EPERM), as mdfs(8) says.
  constexpr int kOwnership = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID;
  if (to_set & kOwnership) {
    if (node->entry.type != NodeType::kDevice) return (void)fuse_reply_err(req, EPERM);
    if (int e = change_device_attr(req, *node->entry.array, *attr, to_set)) return (void)fuse_reply_err(req, e);
  }
  // Other changes (times, an attribute's truncation by O_TRUNC) are accepted
  // and change nothing, as on sysfs.
  auto st = stat_of(*node);
  fuse_reply_attr(req, &st, entry_param(*node).attr_timeout);
}

void Server::readlink(fuse_req_t req, fuse_ino_t ino) {
  auto node = find(ino);
  if (!node || !ns_.alive(node->entry)) return (void)fuse_reply_err(req, ENOENT);
  if (node->entry.type != NodeType::kSymlink) return (void)fuse_reply_err(req, EINVAL);
  fuse_reply_readlink(req, node->entry.link.c_str());
}

// A directory handle holds the listing taken at opendir, so a readdir
// continued at an offset sees the same entries.
struct DirListing {
  std::vector<std::tuple<std::string, fuse_ino_t, mode_t>> entries;
};

void Server::opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto node = find(ino);
  if (!node || !ns_.alive(node->entry)) return (void)fuse_reply_err(req, ENOENT);
  if (node->entry.type != NodeType::kDir) return (void)fuse_reply_err(req, ENOTDIR);
  auto listing = std::make_unique<DirListing>();
  listing->entries.emplace_back(".", ino, S_IFDIR);
  listing->entries.emplace_back("..", node->parent, S_IFDIR);
  for (auto& [name, entry] : ns_.list(node->entry)) {
    fuse_ino_t child_ino = kUnknownIno;
    {
      std::lock_guard lock(mutex_);
      if (auto it = children_.find({ino, name}); it != children_.end()) {
        auto child = inodes_.find(it->second);
        if (child != inodes_.end() && child->second->entry.same_node(entry)) child_ino = it->second;
      }
    }
    listing->entries.emplace_back(name, child_ino, entry.mode());
  }
  fi->fh = reinterpret_cast<uint64_t>(listing.release());  // owned by the kernel's handle until releasedir
  fuse_reply_open(req, fi);
}

void Server::readdir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  auto* listing = reinterpret_cast<DirListing*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t i = static_cast<size_t>(off); i < listing->entries.size(); ++i) {
    const auto& [name, ino, mode] = listing->entries[i];
    struct stat st {};
    st.st_ino = ino;
    st.st_mode = mode;
    size_t n = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st,
                                 static_cast<off_t>(i + 1));
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void Server::releasedir(fuse_req_t req, fuse_file_info* fi) {
  std::unique_ptr<DirListing>(reinterpret_cast<DirListing*>(fi->fh));
  fuse_reply_err(req, 0);
}

void Server::open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto node = find(ino);
  if (!node) return (void)fuse_reply_err(req, ESTALE);
  const Entry& entry = node->entry;
  if (entry.type == NodeType::kDir) return (void)fuse_reply_err(req, EISDIR);
  if (entry.type == NodeType::kDevice) {
    // md_open; a dying array answers ESTALE once its deletion is complete.
    if (auto r = ns_.registry().open(entry.array); !r) return (void)fuse_reply_err(req, r.error());
    fi->keep_cache = 0;
    fi->fh = adopt(std::make_unique<Handle>(Handle{entry, {}, {}, {}, 0, nullptr}));
    if (fuse_reply_open(req, fi) != 0) release(nullptr, fi);
    return;
  }
  if (!ns_.alive(entry)) return (void)fuse_reply_err(req, ENOENT);
  int mode = fi->flags & O_ACCMODE;
  // As kernfs: opening for a direction the attribute has no handler for.
  if ((mode != O_WRONLY && !entry.attr->show) || (mode != O_RDONLY && !entry.attr->store))
    return (void)fuse_reply_err(req, EACCES);
  fi->direct_io = 1;
  auto handle = std::make_unique<Handle>(Handle{entry, {}, {}, {}, 0, nullptr});
  handle->poll_key = ns_.poll_key(entry);
  if (handle->poll_key && sysfs::Namespace::is_mdstat(entry)) {
    // md_seq_open: a new reader of mdstat has seen every event so far. An
    // attribute's reader has seen none until it reads (kernfs).
    std::lock_guard lock(poll_mutex_);
    handle->event_seen = event_count(*handle->poll_key);
  }
  fi->fh = adopt(std::move(handle));
  if (fuse_reply_open(req, fi) != 0) release(nullptr, fi);
}

void Server::create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t, fuse_file_info* fi) {
  auto dir = find(parent);
  if (!dir || !ns_.alive(dir->entry)) return (void)fuse_reply_err(req, ENOENT);
  if (dir->entry.dir != DirKind::kDev) return (void)fuse_reply_err(req, EACCES);
  // The probe: O_CREAT of a missing array creates it held, then opens it.
  auto array = ns_.registry().create_and_open(name, (fi->flags & O_EXCL) != 0);
  if (!array) return (void)fuse_reply_err(req, array.error());
  Entry entry;
  entry.type = NodeType::kDevice;
  entry.array = *array;
  auto node = remember(parent, name, entry);
  auto param = entry_param(*node);
  fi->keep_cache = 0;
  fi->fh = adopt(std::make_unique<Handle>(Handle{entry, {}, {}, {}, 0, nullptr}));
  if (fuse_reply_create(req, &param, fi) != 0) {
    forget(node->ino, 1);
    release(nullptr, fi);
  }
}

void Server::read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
  auto* h = reinterpret_cast<Handle*>(fi->fh);
  if (h->entry.type == NodeType::kDevice) {
    auto& array = *h->entry.array;
    auto io = array.io();
    uint64_t offset = static_cast<uint64_t>(off);
    if (!io || offset >= io.size_bytes()) return (void)fuse_reply_buf(req, nullptr, 0);
    size = static_cast<size_t>(std::min<uint64_t>(size, io.size_bytes() - offset));
    // Where the data can be read straight from members: zero copy for
    // reads libfuse would splice (two pages and more), the member files'
    // pages going to a pipe first, so that a member's error is seen before
    // the reply; smaller ones read from the member files into the reply.
    // `io` keeps the members open until it is sent.
    std::vector<raid::Extent> extents;
    int failed_role = -1;
    bool mapped = io->map_read(offset, size, extents);
    // Recorded bad blocks are read around by the personality.
    if (mapped && io.meets_bad_block(extents)) {
      io->map_read_done();
      mapped = false;
    }
    if (mapped && size >= kSpliceMin) {
      auto& pipe = SplicePipe::local();
      const auto filled = pipe.fill(extents, failed_role);
      if (filled == SplicePipe::Fill::kFilled) {
        fuse_bufvec bufv = FUSE_BUFVEC_INIT(size);
        bufv.buf[0].flags = FUSE_BUF_IS_FD;
        bufv.buf[0].fd = pipe.fd();
        fuse_reply_data(req, &bufv, FUSE_BUF_SPLICE_MOVE);
        io->map_read_done();
        pipe.settle();
        return;
      }
    }
    auto buf = std::make_unique_for_overwrite<std::byte[]>(size);  // filled by the read
    const std::span out(buf.get(), size);
    if (mapped && size < kSpliceMin && read_extents(extents, out, failed_role)) {
      fuse_reply_buf(req, reinterpret_cast<const char*>(buf.get()), size);
      io->map_read_done();
      return;
    }
    // A route map_read gave is let go before the personality reads (a
    // reshape holds its window still until then).
    if (mapped) io->map_read_done();
    // After a member failed, the personality reads that member again
    // first, so that its error meets md's read-error handling.
    // A recorded bad block with no other copy (raid0, linear) is EIO.
    if (int e = failed_role >= 0 ? io->reread(offset, out, failed_role) : io->read(offset, out))
      return (void)fuse_reply_err(req, e == raid::kBadBlock ? EIO : e);
    fuse_reply_buf(req, reinterpret_cast<const char*>(buf.get()), size);
    return;
  }
  if (off == 0 || h->text.empty()) {
    if (h->poll_key) {
      // kernfs_seq_show and md_seq_show: what poll() compares is the count
      // when the text was made; an event while making it wakes the next.
      std::lock_guard lock(poll_mutex_);
      h->event_seen = event_count(*h->poll_key);
    }
    auto text = ns_.read(h->entry);
    if (!text) return (void)fuse_reply_err(req, text.error());
    h->text = std::move(*text);
  }
  if (static_cast<size_t>(off) >= h->text.size()) return (void)fuse_reply_buf(req, nullptr, 0);
  size = std::min(size, h->text.size() - static_cast<size_t>(off));
  // A copy: a RELEASE on another thread may free the handle during the reply.
  std::string reply = h->text.substr(static_cast<size_t>(off), size);
  fuse_reply_buf(req, reply.data(), reply.size());
}

void Server::write(fuse_req_t req, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  auto* h = reinterpret_cast<Handle*>(fi->fh);
  if (h->entry.type == NodeType::kDevice) {
    auto n = h->entry.array->write(static_cast<uint64_t>(off),
                                   std::span(reinterpret_cast<const std::byte*>(buf), size));
    if (!n) return (void)fuse_reply_err(req, n.error());
    fuse_reply_write(req, *n);
    return;
  }
  // One write(2) is one store, as sysfs: the whole buffer, whatever the
  // offset. A write that does not continue the ones before it (at 0, or
  // elsewhere than where they ended) starts a new value.
  if (off == 0 || static_cast<size_t>(off) != h->stored.text.size()) h->stored = {};
  auto r = ns_.write(h->entry, std::string_view(buf, size), &h->stored);
  if (!r) return (void)fuse_reply_err(req, r.error());
  fuse_reply_write(req, size);
}

void Server::flush(fuse_req_t req, fuse_file_info*) { fuse_reply_err(req, 0); }

uint64_t Server::adopt(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(handles_mutex_);
  handles_.insert(handle.get());
  return reinterpret_cast<uint64_t>(handle.release());
}

void Server::release(fuse_req_t req, fuse_file_info* fi) {
  std::unique_ptr<Handle> h(reinterpret_cast<Handle*>(fi->fh));
  {
    std::lock_guard lock(handles_mutex_);
    handles_.erase(h.get());
  }
  if (h->poll_key) forget_poller(h.get());
  if (h->entry.type == NodeType::kDevice) ns_.registry().release(h->entry.array);  // md_release
  if (req) fuse_reply_err(req, 0);
}

void Server::fsync(fuse_req_t req, fuse_file_info* fi) {
  auto* h = reinterpret_cast<Handle*>(fi->fh);
  int e = h->entry.type == NodeType::kDevice ? h->entry.array->sync() : 0;
  fuse_reply_err(req, e);
}

void Server::ioctl(fuse_req_t req, unsigned int cmd, void* arg, fuse_file_info* fi, unsigned flags,
                   const void* in_buf, size_t in_bufsz, size_t out_bufsz) {
  auto* h = reinterpret_cast<Handle*>(fi->fh);
  if (h->entry.type != NodeType::kDevice) return (void)fuse_reply_err(req, ENOTTY);
  if (flags & FUSE_IOCTL_COMPAT) return (void)fuse_reply_err(req, ENOSYS);
  auto& array = *h->entry.array;
  // As md_ioctl: every md ioctl but the three that only ask needs
  // CAP_SYS_ADMIN, which on a mount is its owner's (and root's); others
  // get EACCES, whatever the file's mode let them open.
  switch (cmd) {
    case RUN_ARRAY: case STOP_ARRAY: case STOP_ARRAY_RO: case RESTART_ARRAY_RW: case SET_DISK_FAULTY:
    case ADD_NEW_DISK: case HOT_REMOVE_DISK: case SET_ARRAY_INFO: case HOT_ADD_DISK: case SET_BITMAP_FILE:
    case GET_BITMAP_FILE: case CLUSTERED_DISK_NACK:
      if (const fuse_ctx* ctx = fuse_req_ctx(req); ctx->uid != 0 && ctx->uid != uid_)
        return (void)fuse_reply_err(req, EACCES);
      break;
    default: break;
  }
  auto answer = [&](const Result<void>& r) {
    if (!r) return (void)fuse_reply_err(req, r.error());
    fuse_reply_ioctl(req, 0, nullptr, 0);
  };
  auto answer_out = [&](const void* data, size_t size) {
    if (out_bufsz < size) return (void)fuse_reply_err(req, EFAULT);
    fuse_reply_ioctl(req, 0, data, size);
  };
  switch (cmd) {
    case RAID_VERSION: {
      mdu_version_t v{MD_MAJOR_VERSION, MD_MINOR_VERSION, MD_PATCHLEVEL_VERSION};
      return answer_out(&v, sizeof v);
    }
    case GET_ARRAY_INFO: {
      auto info = array.get_array_info();
      if (!info) return (void)fuse_reply_err(req, info.error());
      return answer_out(&*info, sizeof *info);
    }
    case GET_DISK_INFO: {
      // The kernel hands a restricted FUSE ioctl no input for an _IOR
      // command, but GET_DISK_INFO reads `number` from the caller's struct:
      // fetch it from the caller's memory (it is the mount owner's process).
      int number = 0;
      iovec local{&number, sizeof number};
      iovec remote{arg, sizeof number};
      if (process_vm_readv(fuse_req_ctx(req)->pid, &local, 1, &remote, 1, 0) != sizeof number) number = 0;
      auto info = array.get_disk_info(number);
      if (!info) return (void)fuse_reply_err(req, info.error());
      return answer_out(&*info, sizeof *info);
    }
    case BLKGETSIZE64: {
      uint64_t size = array.size_bytes();
      return answer_out(&size, sizeof size);
    }
    case RUN_ARRAY: return answer(array.ioctl_run_array());
    case STOP_ARRAY: return answer(array.ioctl_stop_array(false));
    case STOP_ARRAY_RO: return answer(array.ioctl_stop_array(true));
    case RESTART_ARRAY_RW: return answer(array.ioctl_restart_array_rw());
    case SET_DISK_FAULTY:
      return answer(array.ioctl_set_disk_faulty(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(arg))));
    case ADD_NEW_DISK:
    case HOT_REMOVE_DISK:
    case SET_ARRAY_INFO:
    case HOT_ADD_DISK:
    case SET_BITMAP_FILE:
    case GET_BITMAP_FILE:
    case CLUSTERED_DISK_NACK:
      return answer(array.ioctl_unsupported());
    default:
      (void)in_buf;
      (void)in_bufsz;
      return (void)fuse_reply_err(req, ENOTTY);
  }
}

uint64_t Server::event_count(const PollKey& key) const {
  auto it = events_.find(key);
  return it == events_.end() ? 1 : it->second;
}

void Server::forget_poller(Handle* h) {
  std::lock_guard lock(poll_mutex_);
  for (auto [it, end] = pollers_.equal_range(*h->poll_key); it != end; ++it) {
    if (it->second != h) continue;
    pollers_.erase(it);
    break;
  }
  if (h->ph) fuse_pollhandle_destroy(h->ph);
  h->ph = nullptr;
}

// As kernfs_fop_poll and mdstat_poll: always ready to read (an attribute
// also to write), and POLLERR|POLLPRI once the attribute changed since the
// handle last read it from offset 0. With a poll handle, the next change
// wakes the waiting poll() (fuse_lowlevel_notify_poll), which asks again.
void Server::poll(fuse_req_t req, fuse_file_info* fi, fuse_pollhandle* ph) {
  auto* h = reinterpret_cast<Handle*>(fi->fh);
  unsigned revents = POLLIN | POLLRDNORM;
  if (!h->poll_key) {
    // A device file: a block device's default mask.
    if (ph) fuse_pollhandle_destroy(ph);
    fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
    return;
  }
  if (!sysfs::Namespace::is_mdstat(h->entry)) revents |= POLLOUT | POLLWRNORM;
  {
    std::lock_guard lock(poll_mutex_);
    if (h->event_seen != event_count(*h->poll_key)) revents |= POLLERR | POLLPRI;
    if (ph) {
      // One waiting poller a handle: the kernel asks again after each wake.
      if (h->ph) fuse_pollhandle_destroy(h->ph);
      else pollers_.emplace(*h->poll_key, h);
      h->ph = ph;
    }
  }
  fuse_reply_poll(req, revents);
}

void Server::notify(uint64_t array_id, std::string_view path) {
  std::vector<fuse_pollhandle*> wake;
  {
    std::lock_guard lock(poll_mutex_);
    PollKey key{array_id, std::string(path)};
    auto [it, inserted] = events_.try_emplace(key, 1);
    ++it->second;
    auto [first, last] = pollers_.equal_range(key);
    for (auto p = first; p != last; ++p) {
      wake.push_back(p->second->ph);
      p->second->ph = nullptr;
    }
    pollers_.erase(first, last);
  }
  if (wake.empty()) return;
  notify_wq_.post([this, wake] {
    fuse_session* se = session_.load();
    for (fuse_pollhandle* ph : wake) {
      if (se) fuse_lowlevel_notify_poll(ph);
      fuse_pollhandle_destroy(ph);
    }
  });
}

void Server::array_deleted(const std::shared_ptr<core::Array>& array) {
  {
    // A new incarnation of the name is a new node: its counts start again.
    std::lock_guard lock(poll_mutex_);
    std::erase_if(events_, [&](const auto& e) { return e.first.array_id == array->id(); });
  }
  {
    std::lock_guard lock(attr_mutex_);
    device_attrs_.erase(array->id());  // a new array of that name starts afresh
  }
  notify_wq_.post([this, array] {
    fuse_session* se = session_.load();
    if (!se) return;
    std::vector<std::tuple<fuse_ino_t, fuse_ino_t, bool>> gone;  // (parent, child, is a directory)
    {
      std::lock_guard lock(mutex_);
      for (const auto& [key, ino] : children_) {
        if (key.second != array->name()) continue;
        auto node = inodes_.find(ino);
        if (node != inodes_.end() && node->second->entry.array == array)
          gone.emplace_back(key.first, ino, node->second->entry.type == NodeType::kDir);
      }
    }
    const auto& name = array->name();
    for (auto [parent, child, is_dir] : gone) {
      // A directory may still have cached children: invalidating its entry
      // drops them too; a device file is deleted outright.
      if (is_dir || fuse_lowlevel_notify_delete(se, parent, child, name.c_str(), name.size()) != 0)
        fuse_lowlevel_notify_inval_entry(se, parent, name.c_str(), name.size());
    }
  });
}

void Server::array_resized(const std::shared_ptr<core::Array>& array) {
  notify_wq_.post([this, array] {
    fuse_session* se = session_.load();
    if (!se) return;
    std::vector<fuse_ino_t> nodes;
    {
      std::lock_guard lock(mutex_);
      for (const auto& [ino, node] : inodes_)
        if (node->entry.array == array && node->entry.type == NodeType::kDevice) nodes.push_back(ino);
    }
    for (fuse_ino_t ino : nodes) fuse_lowlevel_notify_inval_inode(se, ino, 0, 0);
  });
}

// The low-level operations table: trampolines into the Server.
const fuse_lowlevel_ops& Server::operations() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o{};
    o.init = [](void* userdata, fuse_conn_info* conn) { static_cast<Server*>(userdata)->init(conn); };
    o.lookup = [](fuse_req_t req, fuse_ino_t parent, const char* name) { server_of(req)->lookup(req, parent, name); };
    o.forget = [](fuse_req_t req, fuse_ino_t ino, uint64_t n) {
      server_of(req)->forget(ino, n);
      fuse_reply_none(req);
    };
    o.forget_multi = [](fuse_req_t req, size_t count, fuse_forget_data* forgets) {
      for (size_t i = 0; i < count; ++i) server_of(req)->forget(forgets[i].ino, forgets[i].nlookup);
      fuse_reply_none(req);
    };
    o.getattr = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info*) { server_of(req)->getattr(req, ino); };
    o.setattr = [](fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
      server_of(req)->setattr(req, ino, attr, to_set);
    };
    o.readlink = [](fuse_req_t req, fuse_ino_t ino) { server_of(req)->readlink(req, ino); };
    o.opendir = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) { server_of(req)->opendir(req, ino, fi); };
    o.readdir = [](fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
      server_of(req)->readdir(req, ino, size, off, fi);
    };
    o.releasedir = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) { server_of(req)->releasedir(req, fi); };
    o.open = [](fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) { server_of(req)->open(req, ino, fi); };
    o.create = [](fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
      server_of(req)->create(req, parent, name, mode, fi);
    };
    o.read = [](fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
      server_of(req)->read(req, size, off, fi);
    };
    o.write = [](fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
      server_of(req)->write(req, buf, size, off, fi);
    };
    o.flush = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) { server_of(req)->flush(req, fi); };
    o.release = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi) { server_of(req)->release(req, fi); };
    o.fsync = [](fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) { server_of(req)->fsync(req, fi); };
    o.ioctl = [](fuse_req_t req, fuse_ino_t, unsigned int cmd, void* arg, fuse_file_info* fi, unsigned flags,
                 const void* in_buf, size_t in_bufsz, size_t out_bufsz) {
      server_of(req)->ioctl(req, cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
    };
    o.poll = [](fuse_req_t req, fuse_ino_t, fuse_file_info* fi, fuse_pollhandle* ph) {
      server_of(req)->poll(req, fi, ph);
    };
    return o;
  }();
  return ops;
}

}  // namespace mdfs::fuse
