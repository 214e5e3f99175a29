// faulty-fs: a failing disk for tests. A small FUSE passthrough of one
// folder whose files fail chosen byte ranges on demand: reads with EIO or
// short, writes with EIO or ENOSPC, either delayed; a "bad" range behaves as
// a disk's bad sectors, failing reads until the sectors are written. Rules
// are added and removed while it runs, by writing commands to the hidden
// control file MOUNTPOINT/.faulty (see --help), so a member of an mdfs
// array on it can start failing in the middle of a test. Every file is
// opened with direct I/O, so each read and write reaches the rules.
#define FUSE_USE_VERSION 314
#include <dirent.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr const char* kHelp = R"(usage: faulty-fs [options] BACKING MOUNTPOINT

Shows the files of the folder BACKING at MOUNTPOINT, failing chosen byte
ranges of chosen files on demand: a disk that fails, for tests.

Rules are commands written to MOUNTPOINT/.faulty (a file hidden from
listings), one per line; reading it lists the rules with how often each
struck. OFFSET and LENGTH are bytes, with an optional K, M or G (powers of
1024); LENGTH "-" reaches the end of the file. A request that touches any
byte of a rule's range meets the rule.

  eio FILE OFFSET LENGTH         reads fail with EIO
  bad FILE OFFSET LENGTH         reads fail with EIO until written: each
                                 512-byte sector a write covers heals, as a
                                 disk remaps a bad sector on write
  short FILE OFFSET LENGTH       reads end where the range starts: the bytes
                                 before it, and none from inside it (as at
                                 the end of the file)
  weio FILE OFFSET LENGTH        writes fail with EIO
  enospc FILE OFFSET LENGTH      writes fail with ENOSPC
  delay FILE OFFSET LENGTH MS    reads and writes wait MS milliseconds first
  fsync FILE                     fsync and fdatasync fail with EIO
  clear [FILE]                   removes every rule (of FILE)

A write(2) whose lines do not all parse fails with EINVAL and changes
nothing. Truncating a file (truncate(1) at MOUNTPOINT, or in BACKING) takes
effect at once: nothing is cached.

Example:
  faulty-fs back mnt &
  echo 'eio a.img 1M 512K' > mnt/.faulty    # a.img fails from 1 MiB on
  echo 'clear a.img' > mnt/.faulty          # and reads again

Options:
  -h, --help      this text
  -f              stay in the foreground
  -d              debug output (implies -f)
  -o OPTION,...   FUSE mount options
)";

constexpr fuse_ino_t kControlIno = 2;
constexpr fuse_ino_t kFirstFileIno = 3;
constexpr const char* kControlName = ".faulty";
constexpr uint64_t kToEnd = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kSector = 512;

enum class Kind { kEio, kBad, kShort, kWeio, kEnospc, kDelay, kFsync };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kEio: return "eio";
    case Kind::kBad: return "bad";
    case Kind::kShort: return "short";
    case Kind::kWeio: return "weio";
    case Kind::kEnospc: return "enospc";
    case Kind::kDelay: return "delay";
    case Kind::kFsync: return "fsync";
  }
  return "?";
}

struct Range {
  uint64_t lo, hi;  // [lo, hi)
};

struct Rule {
  Kind kind;
  std::string file;
  uint64_t lo, hi;
  unsigned delay_ms = 0;
  std::vector<Range> bad;  // kBad: the sectors not yet written
  uint64_t hits = 0;
  bool touches(uint64_t off, uint64_t len) const { return off < hi && lo < off + len; }
};

// What the rules say about one request.
struct Verdict {
  int error = 0;
  unsigned delay_ms = 0;
  uint64_t limit = kToEnd;  // a read returns at most this many bytes
};

int g_dir = -1;  // BACKING

// g_mutex guards the rules and the inode table; never held across I/O or
// a delay.
std::mutex g_mutex;
std::vector<Rule> g_rules;
std::map<std::string, fuse_ino_t> g_inos;
std::vector<std::string> g_names;  // by ino - kFirstFileIno

bool parse_bytes(const std::string& text, uint64_t& out, bool length) {
  if (length && text == "-") {
    out = kToEnd;
    return true;
  }
  if (text.empty() || text[0] < '0' || text[0] > '9') return false;
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0) return false;
  int shift = 0;
  if (*end == 'K' || *end == 'k') shift = 10, ++end;
  else if (*end == 'M' || *end == 'm') shift = 20, ++end;
  else if (*end == 'G' || *end == 'g') shift = 30, ++end;
  if (*end != '\0' || (shift && v > (kToEnd >> shift))) return false;
  out = v << shift;
  return true;
}

// One command line; false when it does not parse.
bool parse_command(const std::string& line, std::vector<Rule>& rules) {
  std::istringstream in(line);
  std::string word, file, off_text, len_text, extra;
  if (!(in >> word)) return true;  // a blank line
  if (word == "clear") {
    in >> file;
    if (in >> extra) return false;
    std::erase_if(rules, [&](const Rule& r) { return file.empty() || r.file == file; });
    return true;
  }
  Rule rule{};
  if (word == "eio") rule.kind = Kind::kEio;
  else if (word == "bad") rule.kind = Kind::kBad;
  else if (word == "short") rule.kind = Kind::kShort;
  else if (word == "weio") rule.kind = Kind::kWeio;
  else if (word == "enospc") rule.kind = Kind::kEnospc;
  else if (word == "delay") rule.kind = Kind::kDelay;
  else if (word == "fsync") rule.kind = Kind::kFsync;
  else return false;
  if (rule.kind == Kind::kFsync) {
    if (!(in >> file) || file.find('/') != std::string::npos || (in >> extra)) return false;
    rule.file = file;
    rule.lo = 0;
    rule.hi = kToEnd;
    rules.push_back(std::move(rule));
    return true;
  }
  uint64_t off = 0, len = 0;
  if (!(in >> file >> off_text >> len_text) || file.find('/') != std::string::npos) return false;
  if (!parse_bytes(off_text, off, false) || !parse_bytes(len_text, len, true) || len == 0) return false;
  if (rule.kind == Kind::kDelay) {
    std::string ms;
    uint64_t v = 0;
    if (!(in >> ms) || !parse_bytes(ms, v, false) || v > 3600000) return false;
    rule.delay_ms = static_cast<unsigned>(v);
  }
  if (in >> extra) return false;
  rule.file = file;
  rule.lo = off;
  rule.hi = len > kToEnd - off ? kToEnd : off + len;
  if (rule.kind == Kind::kBad) rule.bad.push_back({rule.lo, rule.hi});
  rules.push_back(std::move(rule));
  return true;
}

std::string control_text() {
  std::lock_guard lock(g_mutex);
  std::string out;
  for (const Rule& r : g_rules) {
    out += std::string(kind_name(r.kind)) + " " + r.file;
    if (r.kind != Kind::kFsync)
      out += " " + std::to_string(r.lo) + " " + (r.hi == kToEnd ? "-" : std::to_string(r.hi - r.lo));
    if (r.kind == Kind::kDelay) out += " " + std::to_string(r.delay_ms);
    out += " hits=" + std::to_string(r.hits);
    if (r.kind == Kind::kBad) {
      uint64_t left = 0;
      for (const Range& b : r.bad) left += b.hi - b.lo;
      out += " bad_bytes=" + (r.hi == kToEnd ? std::string("-") : std::to_string(left));
    }
    out += "\n";
  }
  return out;
}

Verdict judge_read(const std::string& file, uint64_t off, uint64_t len) {
  std::lock_guard lock(g_mutex);
  Verdict v;
  for (Rule& r : g_rules) {
    if (r.file != file || !r.touches(off, len)) continue;
    switch (r.kind) {
      case Kind::kEio:
        v.error = EIO;
        ++r.hits;
        break;
      case Kind::kBad:
        if (std::any_of(r.bad.begin(), r.bad.end(), [&](const Range& b) { return off < b.hi && b.lo < off + len; })) {
          v.error = EIO;
          ++r.hits;
        }
        break;
      case Kind::kShort:
        v.limit = std::min(v.limit, r.lo > off ? r.lo - off : 0);
        ++r.hits;
        break;
      case Kind::kDelay:
        v.delay_ms = std::max(v.delay_ms, r.delay_ms);
        ++r.hits;
        break;
      default:
        break;
    }
  }
  return v;
}

Verdict judge_write(const std::string& file, uint64_t off, uint64_t len) {
  std::lock_guard lock(g_mutex);
  Verdict v;
  for (Rule& r : g_rules) {
    if (r.file != file || !r.touches(off, len)) continue;
    if (r.kind == Kind::kWeio || r.kind == Kind::kEnospc) {
      v.error = r.kind == Kind::kWeio ? EIO : ENOSPC;
      ++r.hits;
    } else if (r.kind == Kind::kDelay) {
      v.delay_ms = std::max(v.delay_ms, r.delay_ms);
      ++r.hits;
    }
  }
  return v;
}

// A write landed: the whole sectors it covered are no longer bad.
void heal(const std::string& file, uint64_t off, uint64_t len) {
  const uint64_t lo = (off + kSector - 1) / kSector * kSector, hi = (off + len) / kSector * kSector;
  if (lo >= hi) return;
  std::lock_guard lock(g_mutex);
  for (Rule& r : g_rules) {
    if (r.kind != Kind::kBad || r.file != file) continue;
    std::vector<Range> left;
    for (const Range& b : r.bad) {
      if (b.hi <= lo || hi <= b.lo) {
        left.push_back(b);
        continue;
      }
      if (b.lo < lo) left.push_back({b.lo, lo});
      if (hi < b.hi) left.push_back({hi, b.hi});
    }
    r.bad = std::move(left);
  }
}

fuse_ino_t ino_of(const std::string& name) {
  std::lock_guard lock(g_mutex);
  auto [it, added] = g_inos.try_emplace(name, kFirstFileIno + g_names.size());
  if (added) g_names.push_back(name);
  return it->second;
}

bool name_of(fuse_ino_t ino, std::string& name) {
  std::lock_guard lock(g_mutex);
  if (ino < kFirstFileIno || ino - kFirstFileIno >= g_names.size()) return false;
  name = g_names[ino - kFirstFileIno];
  return true;
}

int stat_of(fuse_ino_t ino, struct stat* st) {
  *st = {};
  if (ino == FUSE_ROOT_ID) {
    if (fstat(g_dir, st) != 0) return errno;
  } else if (ino == kControlIno) {
    st->st_mode = S_IFREG | 0600;
    st->st_nlink = 1;
    st->st_uid = getuid();
    st->st_gid = getgid();
  } else {
    std::string name;
    if (!name_of(ino, name)) return ENOENT;
    if (fstatat(g_dir, name.c_str(), st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  }
  st->st_ino = ino;
  return 0;
}

void reply_entry(fuse_req_t req, fuse_ino_t ino) {
  fuse_entry_param e{};
  e.ino = ino;
  e.generation = 1;
  if (int err = stat_of(ino, &e.attr)) return (void)fuse_reply_err(req, err);
  fuse_reply_entry(req, &e);  // nothing cached: truncation is seen at once
}

void init(void*, fuse_conn_info* conn) {
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  conn->max_write = 1 << 20;
}

void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOTDIR);
  if (std::strcmp(name, kControlName) == 0) return reply_entry(req, kControlIno);
  struct stat st;
  if (fstatat(g_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return (void)fuse_reply_err(req, errno);
  reply_entry(req, ino_of(name));
}

void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  struct stat st;
  if (int err = stat_of(ino, &st)) return (void)fuse_reply_err(req, err);
  fuse_reply_attr(req, &st, 0.0);
}

void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  std::string name;
  if (ino == kControlIno) return getattr(req, ino, fi);  // `>` truncates it: nothing to do
  if (!name_of(ino, name)) return (void)fuse_reply_err(req, ino == FUSE_ROOT_ID ? EPERM : ENOENT);
  if (to_set & FUSE_SET_ATTR_SIZE) {
    int r = fi ? ::ftruncate(static_cast<int>(fi->fh), attr->st_size) : -1;
    if (!fi) {
      int fd = openat(g_dir, name.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        r = ::ftruncate(fd, attr->st_size);
        close(fd);
      }
    }
    if (r != 0) return (void)fuse_reply_err(req, errno);
  }
  if ((to_set & FUSE_SET_ATTR_MODE) && fchmodat(g_dir, name.c_str(), attr->st_mode & 07777, 0) != 0)
    return (void)fuse_reply_err(req, errno);
  if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) {
    struct timespec t[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    if (to_set & FUSE_SET_ATTR_ATIME) t[0] = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? timespec{0, UTIME_NOW} : attr->st_atim;
    if (to_set & FUSE_SET_ATTR_MTIME) t[1] = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? timespec{0, UTIME_NOW} : attr->st_mtim;
    if (utimensat(g_dir, name.c_str(), t, AT_SYMLINK_NOFOLLOW) != 0) return (void)fuse_reply_err(req, errno);
  }
  getattr(req, ino, fi);
}

void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOTDIR);
  // The listing is taken afresh; entries are numbered by position.
  std::vector<std::string> names{".", ".."};
  int fd = openat(g_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (DIR* d = fd >= 0 ? fdopendir(fd) : nullptr) {
    while (dirent* e = ::readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.emplace_back(e->d_name);
    closedir(d);
  } else if (fd >= 0) {
    close(fd);
  }
  std::vector<char> buf(std::min<size_t>(size, 1 << 16));
  size_t used = 0;
  for (size_t i = static_cast<size_t>(off); i < names.size(); ++i) {
    struct stat st {};
    st.st_ino = i < 2 ? FUSE_ROOT_ID : ino_of(names[i]);
    st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
    size_t n = fuse_add_direntry(req, buf.data() + used, buf.size() - used, names[i].c_str(), &st,
                                 static_cast<off_t>(i + 1));
    if (n > buf.size() - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void open_file(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  fi->direct_io = 1;  // every read and write reaches the rules
  fi->keep_cache = 0;
  if (ino == kControlIno) {
    fi->fh = 0;
    return (void)fuse_reply_open(req, fi);
  }
  std::string name;
  if (!name_of(ino, name)) return (void)fuse_reply_err(req, ENOENT);
  // Direct I/O is the FUSE mount's (direct_io): the backing file is read
  // and written through any buffer.
  int fd = openat(g_dir, name.c_str(), (fi->flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_DIRECT)) | O_CLOEXEC);
  if (fd < 0) return (void)fuse_reply_err(req, errno);
  fi->fh = static_cast<uint64_t>(fd);
  if (fuse_reply_open(req, fi) != 0) close(fd);
}

void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  if (parent != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOTDIR);
  if (std::strcmp(name, kControlName) == 0) return (void)fuse_reply_err(req, EEXIST);
  int fd = openat(g_dir, name, (fi->flags & ~O_DIRECT) | O_CREAT | O_CLOEXEC, mode);
  if (fd < 0) return (void)fuse_reply_err(req, errno);
  fi->fh = static_cast<uint64_t>(fd);
  fi->direct_io = 1;
  fuse_entry_param e{};
  e.ino = ino_of(name);
  e.generation = 1;
  if (int err = stat_of(e.ino, &e.attr)) {
    close(fd);
    return (void)fuse_reply_err(req, err);
  }
  if (fuse_reply_create(req, &e, fi) != 0) close(fd);
}

void unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID || std::strcmp(name, kControlName) == 0) return (void)fuse_reply_err(req, EPERM);
  fuse_reply_err(req, unlinkat(g_dir, name, 0) == 0 ? 0 : errno);
}

void sleep_ms(unsigned ms) {
  if (ms) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  if (ino == kControlIno) {
    std::string text = control_text();
    if (static_cast<size_t>(off) >= text.size()) return (void)fuse_reply_buf(req, nullptr, 0);
    return (void)fuse_reply_buf(req, text.data() + off, std::min(size, text.size() - static_cast<size_t>(off)));
  }
  std::string name;
  if (!name_of(ino, name)) return (void)fuse_reply_err(req, ENOENT);
  const Verdict v = judge_read(name, static_cast<uint64_t>(off), size);
  sleep_ms(v.delay_ms);
  if (v.error) return (void)fuse_reply_err(req, v.error);
  size = static_cast<size_t>(std::min<uint64_t>(size, v.limit));
  std::vector<char> buf(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(static_cast<int>(fi->fh), buf.data() + done, size - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return (void)fuse_reply_err(req, errno);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  fuse_reply_buf(req, buf.data(), done);
}

void write(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  if (ino == kControlIno) {
    // Every line parses or nothing changes.
    std::lock_guard lock(g_mutex);
    std::vector<Rule> rules = g_rules;
    std::istringstream in(std::string(buf, size));
    for (std::string line; std::getline(in, line);)
      if (!parse_command(line, rules)) return (void)fuse_reply_err(req, EINVAL);
    g_rules = std::move(rules);
    return (void)fuse_reply_write(req, size);
  }
  std::string name;
  if (!name_of(ino, name)) return (void)fuse_reply_err(req, ENOENT);
  const Verdict v = judge_write(name, static_cast<uint64_t>(off), size);
  sleep_ms(v.delay_ms);
  if (v.error) return (void)fuse_reply_err(req, v.error);
  size_t done = 0;
  while (done < size) {
    ssize_t n = pwrite(static_cast<int>(fi->fh), buf + done, size - done, off + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return (void)fuse_reply_err(req, n < 0 ? errno : EIO);
    done += static_cast<size_t>(n);
  }
  heal(name, static_cast<uint64_t>(off), size);
  fuse_reply_write(req, size);
}

void flush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kControlIno) close(static_cast<int>(fi->fh));
  fuse_reply_err(req, 0);
}

// Whether an fsync rule strikes FILE.
bool fsync_fails(const std::string& file) {
  std::lock_guard lock(g_mutex);
  bool fails = false;
  for (Rule& r : g_rules) {
    if (r.kind != Kind::kFsync || r.file != file) continue;
    ++r.hits;
    fails = true;
  }
  return fails;
}

void fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  if (ino == kControlIno) return (void)fuse_reply_err(req, 0);
  std::string name;
  if (name_of(ino, name) && fsync_fails(name)) return (void)fuse_reply_err(req, EIO);
  const int fd = static_cast<int>(fi->fh);
  fuse_reply_err(req, (datasync ? fdatasync(fd) : ::fsync(fd)) == 0 ? 0 : errno);
}

void statfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs st;
  if (fstatvfs(g_dir, &st) != 0) return (void)fuse_reply_err(req, errno);
  fuse_reply_statfs(req, &st);
}

struct Args {
  const char* backing = nullptr;
};

// BACKING is the first argument that is not an option; libfuse takes the
// rest (the mount point and the options).
int take_backing(void* data, const char* arg, int key, fuse_args*) {
  auto* a = static_cast<Args*>(data);
  if (key != FUSE_OPT_KEY_NONOPT) return 1;
  if (!a->backing) {
    a->backing = arg;
    return 0;
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
      std::fputs(kHelp, stdout);
      return 0;
    }
  }
  fuse_args args = FUSE_ARGS_INIT(argc, argv);
  Args a;
  if (fuse_opt_parse(&args, &a, nullptr, take_backing) != 0) return 2;
  fuse_cmdline_opts opts{};
  if (fuse_parse_cmdline(&args, &opts) != 0 || !a.backing || !opts.mountpoint) {
    std::fputs("usage: faulty-fs [options] BACKING MOUNTPOINT (see --help)\n", stderr);
    return 2;
  }
  g_dir = ::open(a.backing, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (g_dir < 0) {
    std::fprintf(stderr, "faulty-fs: %s: %s\n", a.backing, std::strerror(errno));
    return 1;
  }
  fuse_opt_add_arg(&args, "-ofsname=faulty-fs,subtype=faulty");
  fuse_lowlevel_ops ops{};
  ops.init = init;
  ops.lookup = lookup;
  ops.getattr = getattr;
  ops.setattr = setattr;
  ops.readdir = readdir;
  ops.open = open_file;
  ops.create = create;
  ops.unlink = unlink;
  ops.read = read;
  ops.write = write;
  ops.flush = flush;
  ops.release = release;
  ops.fsync = fsync;
  ops.statfs = statfs;
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  if (!se) return 1;
  int rc = 1;
  if (fuse_set_signal_handlers(se) == 0) {
    if (fuse_session_mount(se, opts.mountpoint) == 0) {
      fuse_daemonize(opts.foreground);
      fuse_loop_config* config = fuse_loop_cfg_create();
      fuse_loop_cfg_set_max_threads(config, 16);
      rc = fuse_session_loop_mt(se, config) < 0 ? 1 : 0;
      fuse_loop_cfg_destroy(config);
      fuse_session_unmount(se);
    }
    fuse_remove_signal_handlers(se);
  }
  fuse_session_destroy(se);
  free(opts.mountpoint);
  fuse_opt_free_args(&args);
  close(g_dir);
  return rc;
}
