// fuse-floor FILE MOUNTPOINT [MAX_READ]: the FUSE floor for tools/bench. A
// minimal low-level passthrough that shows FILE as MOUNTPOINT/file, served
// with the same loop and init choices as mdfs (multi-threaded, splice
// write/move, 1 MiB max_write, no writeback cache, the max_read mdfs chose
// when given): reads are answered with
// fuse_reply_data from FILE (libfuse splices when its pipe can hold the
// reply, else copies), writes are one pwrite. Attributes are cached for 1 s,
// as a plain passthrough would. It is the best a FUSE file can do here.
#define FUSE_USE_VERSION 314
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr fuse_ino_t kFileIno = 2;
constexpr const char* kName = "file";
int g_fd = -1;
unsigned g_max_read = 0;  // 0: the kernel's default

int stat_of(fuse_ino_t ino, struct stat* st) {
  *st = {};
  if (ino == FUSE_ROOT_ID) {
    st->st_ino = ino;
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
  } else if (ino == kFileIno) {
    if (fstat(g_fd, st) != 0) return errno;
    st->st_ino = ino;
    st->st_mode = S_IFREG | 0644;
    st->st_nlink = 1;
  } else {
    return ENOENT;
  }
  st->st_uid = getuid();
  st->st_gid = getgid();
  return 0;
}

void init(void*, fuse_conn_info* conn) {
  if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
  if (conn->capable & FUSE_CAP_SPLICE_MOVE) conn->want |= FUSE_CAP_SPLICE_MOVE;
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->max_write = 1 << 20;
  if (g_max_read != 0) conn->max_read = g_max_read;
}

void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID || std::strcmp(name, kName) != 0) return (void)fuse_reply_err(req, ENOENT);
  fuse_entry_param e{};
  e.ino = kFileIno;
  e.generation = 1;
  if (int err = stat_of(kFileIno, &e.attr)) return (void)fuse_reply_err(req, err);
  e.attr_timeout = e.entry_timeout = 1.0;
  fuse_reply_entry(req, &e);
}

void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st;
  if (int err = stat_of(ino, &st)) return (void)fuse_reply_err(req, err);
  fuse_reply_attr(req, &st, 1.0);
}

void setattr(fuse_req_t req, fuse_ino_t ino, struct stat*, int, fuse_file_info* fi) {
  getattr(req, ino, fi);  // like a block device: nothing changes
}

void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOTDIR);
  const char* names[] = {".", "..", kName};
  const fuse_ino_t inos[] = {FUSE_ROOT_ID, FUSE_ROOT_ID, kFileIno};
  char buf[512];
  size_t used = 0;
  for (off_t i = off; i < 3; ++i) {
    struct stat st {};
    st.st_ino = inos[i];
    st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
    size_t n = fuse_add_direntry(req, buf + used, std::min(size, sizeof buf) - used, names[i], &st, i + 1);
    if (n > std::min(size, sizeof buf) - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf, used);
}

void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kFileIno) return (void)fuse_reply_err(req, EISDIR);
  fi->keep_cache = 0;
  fuse_reply_open(req, fi);
}

void read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info*) {
  fuse_bufvec bufv{};
  bufv.count = 1;
  bufv.buf[0].size = size;
  bufv.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK);
  bufv.buf[0].fd = g_fd;
  bufv.buf[0].pos = off;
  fuse_reply_data(req, &bufv, FUSE_BUF_SPLICE_MOVE);
}

void write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t off, fuse_file_info*) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(g_fd, buf + done, size - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return (void)fuse_reply_err(req, n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  fuse_reply_write(req, size);
}

void fsync(fuse_req_t req, fuse_ino_t, int datasync, fuse_file_info*) {
  fuse_reply_err(req, (datasync ? fdatasync(g_fd) : ::fsync(g_fd)) == 0 ? 0 : errno);
}

void flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::fprintf(stderr, "usage: fuse-floor FILE MOUNTPOINT [MAX_READ]\n");
    return 2;
  }
  std::string mount_options = "fsname=fuse-floor,subtype=floor";
  if (argc == 4) {
    g_max_read = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
    mount_options += ",max_read=" + std::to_string(g_max_read);
  }
  g_fd = ::open(argv[1], O_RDWR | O_CLOEXEC);
  if (g_fd < 0) {
    std::perror(argv[1]);
    return 1;
  }
  fuse_lowlevel_ops ops{};
  ops.init = init;
  ops.lookup = lookup;
  ops.getattr = getattr;
  ops.setattr = setattr;
  ops.readdir = readdir;
  ops.open = open;
  ops.read = read;
  ops.write = write;
  ops.fsync = fsync;
  ops.flush = flush;

  char arg0[] = "fuse-floor", opt[] = "-o";
  char* args_v[] = {arg0, opt, mount_options.data()};
  fuse_args args = FUSE_ARGS_INIT(3, args_v);
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  if (!se) return 1;
  int rc = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, argv[2]) == 0) {
      fuse_loop_config* config = fuse_loop_cfg_create();
      fuse_loop_cfg_set_max_threads(config, 64);
      fuse_loop_cfg_set_idle_threads(config, 8);
      rc = fuse_session_loop_mt(se, config) < 0 ? 1 : 0;
      fuse_loop_cfg_destroy(config);
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  close(g_fd);
  return rc;
}
