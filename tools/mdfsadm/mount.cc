#include "mdfsadm/mount.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace mdfsadm {
namespace {

namespace fs = std::filesystem;

// /proc/mounts writes space, tab, newline and backslash as \ooo.
std::string unescape_mount_field(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isdigit(static_cast<unsigned char>(s[i + 2])) && std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::string> real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (!::realpath(path.c_str(), buf)) return std::nullopt;
  return std::string(buf);
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string read_link(const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  if (n < 0) return "";
  return std::string(buf, static_cast<std::size_t>(n));
}

std::vector<std::string> read_cmdline(const std::string& pid) {
  // The process may exit while it is read (ESRCH): as no arguments.
  std::string all;
  int fd = ::open(("/proc/" + pid + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) all.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
  }
  std::vector<std::string> args;
  std::string cur;
  for (char c : all) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) args.push_back(cur);
  return args;
}

// The recorded SOURCE without leading ./ and ../: what the folder's real
// path must end with.
std::string path_tail(const std::string& recorded) {
  std::string tail;
  for (const auto& part : fs::path(recorded).lexically_normal()) {
    std::string p = part.string();
    if (p == "." || p == ".." || p.empty()) continue;
    tail += "/" + p;
  }
  if (!tail.empty() && tail.back() == '/') tail.pop_back();
  return tail;
}

// The FUSE connection number of each /dev/fuse descriptor the process
// holds (recent kernels show it in fdinfo), and the folders it holds open.
struct ProcessFds {
  std::vector<long> fuse_connections;
  std::vector<std::string> dirs;
};
ProcessFds process_fds(const std::string& pid) {
  ProcessFds out;
  DIR* fds = ::opendir(("/proc/" + pid + "/fd").c_str());
  if (!fds) return out;
  while (dirent* fd = ::readdir(fds)) {
    std::string name = fd->d_name;
    if (name == "." || name == "..") continue;
    std::string target = read_link("/proc/" + pid + "/fd/" + name);
    if (target == "/dev/fuse") {
      std::ifstream info("/proc/" + pid + "/fdinfo/" + name);
      for (std::string line; std::getline(info, line);)
        if (line.starts_with("fuse_connection:")) out.fuse_connections.push_back(std::atol(line.c_str() + 16));
    } else if (target.starts_with("/") && is_dir(target)) {
      out.dirs.push_back(target);
    }
  }
  ::closedir(fds);
  return out;
}

// A relative SOURCE is relative to the directory mdfs was started in, which
// the mount table does not record, and mdfs has since moved to /. The mdfs
// process serving the mount still holds SOURCE open: find that process by
// its FUSE connection (the mount's device minor), or failing that by its
// arguments, and take the folder it holds whose path ends as SOURCE does.
std::string place_relative_source(const std::string& point, const std::string& recorded) {
  const std::string tail = path_tail(recorded);
  struct stat pst {};
  const long connection = ::stat(point.c_str(), &pst) == 0 ? static_cast<long>(minor(pst.st_dev)) : -1;
  std::set<std::string> by_connection, by_arguments;
  if (DIR* proc = ::opendir("/proc")) {
    while (dirent* de = ::readdir(proc)) {
      std::string pid = de->d_name;
      if (pid.empty() || !std::all_of(pid.begin(), pid.end(), ::isdigit)) continue;
      auto args = read_cmdline(pid);
      if (args.empty() || fs::path(args[0]).filename() != "mdfs") continue;
      if (std::find(args.begin(), args.end(), recorded) == args.end()) continue;
      auto fds = process_fds(pid);
      std::set<std::string> held;
      for (const auto& d : fds.dirs)
        if (!tail.empty() && d.size() >= tail.size() && d.compare(d.size() - tail.size(), tail.size(), tail) == 0)
          held.insert(d);
      if (std::find(fds.fuse_connections.begin(), fds.fuse_connections.end(), connection) !=
          fds.fuse_connections.end()) {
        by_connection.insert(held.begin(), held.end());
        continue;
      }
      if (!fds.fuse_connections.empty()) continue;  // it serves another mount
      // No connection numbers shown: the mount point argument must at
      // least end as the mount point does.
      const bool names_point = std::any_of(args.begin() + 1, args.end(), [&](const std::string& a) {
        if (a.starts_with("/")) return real_path(a) == point;
        const std::string t = path_tail(a);
        return !t.empty() && point.size() >= t.size() && point.compare(point.size() - t.size(), t.size(), t) == 0;
      });
      if (names_point) by_arguments.insert(held.begin(), held.end());
    }
    ::closedir(proc);
  }
  std::set<std::string> found = !by_connection.empty() ? by_connection : by_arguments;
  if (found.empty()) {
    if (auto rp = real_path(recorded); rp && is_dir(*rp)) found.insert(*rp);
  }
  if (found.size() == 1) return *found.begin();
  fail("the SOURCE of mount " + point + " is the relative path '" + recorded + "', which cannot be placed" +
       (found.empty() ? "" : " unambiguously") + ": give --source");
}

}  // namespace

void fail(const std::string& message) { throw Failure(1, message); }
void usage(const std::string& message) { throw Failure(2, message); }
void say(const std::string& message) { std::fprintf(stderr, "mdfsadm: %s\n", message.c_str()); }

std::string errno_text(int e) { return std::strerror(e); }

std::vector<std::pair<std::string, std::string>> mdfs_mounts() {
  std::vector<std::pair<std::string, std::string>> out;
  std::ifstream in("/proc/mounts");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string source, point, type;
    if (!(fields >> source >> point >> type)) continue;
    if (type != "fuse.mdfs") continue;
    out.emplace_back(unescape_mount_field(point), unescape_mount_field(source));
  }
  return out;
}

Mount mount_at(const std::string& point, const MountOptions& opts) {
  for (const auto& [p, source] : mdfs_mounts()) {
    if (p != point) continue;
    Mount m;
    m.point = p;
    if (!opts.source.empty()) {
      auto rp = real_path(opts.source);
      if (!rp || !is_dir(*rp)) fail("--source " + opts.source + ": not a folder");
      m.source = *rp;
    } else if (source.starts_with("/")) {
      auto rp = real_path(source);
      m.source = rp ? *rp : source;
    } else {
      m.source = place_relative_source(p, source);
    }
    return m;
  }
  fail(point + " is not an mdfs mount (no fuse.mdfs entry in /proc/mounts)");
}

Mount find_mount(const MountOptions& opts, const std::string& array) {
  if (!opts.mount.empty()) {
    auto rp = real_path(opts.mount);
    if (!rp) fail("--mount " + opts.mount + ": " + errno_text(errno));
    return mount_at(*rp, opts);
  }
  auto mounts = mdfs_mounts();
  if (mounts.empty()) fail("no mdfs mount found in /proc/mounts: mount one, or give --mount");
  if (mounts.size() == 1) return mount_at(mounts.front().first, opts);
  std::vector<std::string> holding;
  for (const auto& m : mounts) {
    struct stat st {};
    if (!array.empty() && ::stat((m.first + "/dev/" + array).c_str(), &st) == 0) holding.push_back(m.first);
  }
  if (holding.size() == 1) return mount_at(holding.front(), opts);
  fail("several mdfs mounts: give --mount, or the array as MNT/dev/NAME");
}

bool is_array_name(const std::string& name) {
  if (name.size() >= 32) return false;
  if (name.starts_with("md_")) return name.size() > 3 && name.find('/') == std::string::npos;
  if (!name.starts_with("md") || name.size() == 2) return false;
  const std::string digits = name.substr(2);
  if (!std::all_of(digits.begin(), digits.end(), ::isdigit)) return false;
  return digits == "0" || digits[0] != '0';
}

ArrayRef resolve_array(const std::string& dev, const MountOptions& opts) {
  if (dev.empty()) usage("an array must be given");
  if (dev.find('/') == std::string::npos) {
    std::string name = is_array_name(dev) ? dev : "md_" + dev;
    if (!is_array_name(name)) usage(dev + ": not an array name (mdN, md_NAME or NAME)");
    return {find_mount(opts, name), name};
  }
  // MNT/dev/NAME: the array file need not exist yet (--create).
  fs::path p(dev);
  std::string name = p.filename().string();
  auto parent = real_path(p.parent_path().empty() ? "." : p.parent_path().string());
  if (!parent) fail(dev + ": " + errno_text(errno));
  if (fs::path(*parent).filename() != "dev")
    fail(dev + ": not an array file of an mdfs mount (expected MNT/dev/NAME)");
  std::string point = fs::path(*parent).parent_path().string();
  bool mounted = false;
  for (const auto& m : mdfs_mounts())
    if (m.first == point) mounted = true;
  if (!mounted) fail(dev + ": " + point + " is not an mdfs mount");
  if (!is_array_name(name)) fail(dev + ": '" + name + "' is not an array name (mdN or md_NAME)");
  return {mount_at(point, opts), name};
}

std::string resolve_member(const Mount& mount, const std::string& member) {
  if (member.empty()) usage("empty member name");
  std::string name;
  if (member.find('/') == std::string::npos) {
    name = member;
  } else {
    fs::path p(member);
    name = p.filename().string();
    auto parent = real_path(p.parent_path().empty() ? "/" : p.parent_path().string());
    if (!parent) fail(member + ": " + errno_text(errno));
    if (*parent != mount.source)
      fail(member + ": not in the mount's SOURCE " + mount.source + " (mdfs opens members only there)");
  }
  if (name.empty() || name == "." || name == "..") fail(member + ": not a member file name");
  struct stat st {};
  const std::string path = mount.member_path(name);
  if (::lstat(path.c_str(), &st) != 0) fail(path + ": " + errno_text(errno));
  return name;
}

std::optional<std::string> read_attr(const std::string& path, int* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (error) *error = errno;
    return std::nullopt;
  }
  // A sysfs attribute is one page at most: one read(2) answers it, as
  // sysfs answers it. Only a longer file (proc/mdstat) needs more reads.
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (error) *error = errno;
      ::close(fd);
      return std::nullopt;
    }
    out.append(buf, static_cast<std::size_t>(n));
    if (static_cast<std::size_t>(n) < sizeof buf) break;
  }
  ::close(fd);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

int write_attr(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t n = ::write(fd, value.data(), value.size());
  int e = n < 0 ? errno : 0;
  ::close(fd);
  return e;
}

void write_attr_or_fail(const std::string& path, const std::string& value) {
  if (int e = write_attr(path, value)) fail(path + ": " + errno_text(e) + " (writing '" + value + "')");
}

std::vector<MdstatEntry> read_mdstat(const Mount& mount) {
  auto text = read_attr(mount.mdstat());
  return text ? parse_mdstat(*text) : std::vector<MdstatEntry>{};
}

std::vector<MdstatEntry> parse_mdstat(const std::string& text) {
  std::vector<MdstatEntry> out;
  std::istringstream lines(text);
  std::string line;
  MdstatEntry* cur = nullptr;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string s; words >> s;) w.push_back(s);
    if (w.empty()) continue;
    if (w.size() >= 3 && w[1] == ":" && w[0] != "Personalities" && w[0] != "unused") {
      out.push_back({});
      cur = &out.back();
      cur->name = w[0];
      std::size_t i = 2;
      if (i < w.size()) cur->active = w[i++] == "active";
      while (i < w.size() && w[i].starts_with("(")) ++i;  // (read-only), (auto-read-only)
      if (cur->active && i < w.size()) cur->level = w[i++];
      for (; i < w.size(); ++i) {
        auto open = w[i].find('[');
        auto close = w[i].find(']', open == std::string::npos ? 0 : open);
        if (open == std::string::npos || close == std::string::npos) continue;
        MdstatMember m;
        m.name = w[i].substr(0, open);
        m.desc_nr = std::atoi(w[i].substr(open + 1, close - open - 1).c_str());
        const std::string flags = w[i].substr(close + 1);
        m.faulty = flags.find("(F)") != std::string::npos;
        m.spare = flags.find("(S)") != std::string::npos;
        cur->members.push_back(m);
      }
      continue;
    }
    if (!cur) continue;
    // As mdstat.c: "recovery = 12.6%", "resync=DELAYED", "resync=PENDING".
    for (std::size_t i = 0; i < w.size(); ++i) {
      for (const char* action : {"resync", "recovery", "reshape", "check"}) {
        const std::string a = action;
        if (w[i] == a + "=DELAYED") {
          cur->action = a;
          cur->delayed = true;
        } else if (w[i] == a + "=PENDING") {
          cur->action = a;
          cur->pending = true;
        } else if (w[i] == a && i + 2 < w.size() && w[i + 1] == "=") {
          cur->action = a;
          cur->percent = std::atoi(w[i + 2].c_str());
        } else if (w[i].starts_with(a + "=") && w[i].size() > a.size() + 1 &&
                   std::isdigit(static_cast<unsigned char>(w[i][a.size() + 1]))) {
          cur->action = a;
          cur->percent = std::atoi(w[i].c_str() + a.size() + 1);
        }
      }
    }
  }
  return out;
}

MdstatWatch::MdstatWatch(const Mount& mount) : fd_(::open(mount.mdstat().c_str(), O_RDONLY | O_CLOEXEC)) {}

MdstatWatch::~MdstatWatch() {
  if (fd_ >= 0) ::close(fd_);
}

std::vector<MdstatEntry> MdstatWatch::read() {
  std::string text;
  char buf[4096];
  if (fd_ < 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return {};
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  return parse_mdstat(text);
}

bool MdstatWatch::wait(const std::vector<MdstatWatch*>& watches, int timeout_ms) {
  std::vector<pollfd> fds;
  for (auto* w : watches)
    if (w->fd_ >= 0) fds.push_back({w->fd_, POLLPRI, 0});
  if (fds.empty()) {
    if (timeout_ms > 0) ::poll(nullptr, 0, timeout_ms);
    return false;
  }
  int n;
  do {
    n = ::poll(fds.data(), fds.size(), timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

std::optional<MdstatEntry> mdstat_entry(const Mount& mount, const std::string& name) {
  for (auto& e : read_mdstat(mount))
    if (e.name == name) return e;
  return std::nullopt;
}

std::vector<std::string> list_arrays(const Mount& mount) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir((mount.point + "/dev").c_str())) {
    while (dirent* de = ::readdir(d)) {
      std::string n = de->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> source_files(const Mount& mount) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(mount.source.c_str())) {
    while (dirent* de = ::readdir(d)) {
      std::string n = de->d_name;
      struct stat st {};
      if (n == "." || n == "..") continue;
      if (::stat(mount.member_path(n).c_str(), &st) == 0 && S_ISREG(st.st_mode)) out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mdfsadm
