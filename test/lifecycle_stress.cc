// lifecycle-stress MOUNTPOINT NAME SECONDS: creators make and clear one
// array name (new_array, O_CREAT, clear) while openers open it. Every open
// must give a working handle (fstat, RAID_VERSION) or ENOENT (ESTALE at
// most rarely); new_array answers ok or EEXIST; no call may hang.
#include <fcntl.h>
#include <linux/major.h>
#include <linux/raid/md_u.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::mutex tally_mutex;
std::map<std::string, long> tally;
std::atomic<bool> bad{false};
std::atomic<double> slowest{0};

void count(const std::string& what) {
  std::lock_guard lock(tally_mutex);
  ++tally[what];
}

void unexpected(const std::string& what) {
  count("UNEXPECTED " + what);
  bad = true;
}

// Runs one call, noting how long it took (a hang shows as a huge number).
template <class F>
auto timed(F&& f) {
  auto start = Clock::now();
  auto r = f();
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  double old = slowest.load();
  while (s > old && !slowest.compare_exchange_weak(old, s)) {}
  return r;
}

int write_text(const std::string& path, const std::string& text) {
  return timed([&] {
    int fd = open(path.c_str(), O_WRONLY);
    if (fd < 0) return errno;
    int e = write(fd, text.data(), text.size()) < 0 ? errno : 0;
    close(fd);
    return e;
  });
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: lifecycle-stress MOUNTPOINT NAME SECONDS\n");
    return 2;
  }
  const std::string mnt = argv[1], name = argv[2];
  const auto deadline = Clock::now() + std::chrono::seconds(std::stoi(argv[3]));
  const std::string dev = mnt + "/dev/" + name, state = mnt + "/sys/block/" + name + "/md/array_state";
  const std::string new_array = mnt + "/sys/module/md_mod/parameters/new_array";

  std::vector<std::thread> threads;
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&, c] {
      while (Clock::now() < deadline) {
        if (c == 0) {
          int e = write_text(new_array, name);
          if (e == 0) count("new_array ok");
          else if (e == EEXIST) count("new_array EEXIST");
          else unexpected("new_array " + std::string(strerror(e)));
        } else {
          int fd = timed([&] { return open(dev.c_str(), O_RDWR | O_CREAT, 0600); });
          if (fd >= 0) { count("create ok"); close(fd); }
          // The array a lookup found was cleared before the open, twice over.
          else if (errno == ESTALE) count("open ESTALE (O_CREAT)");
          else unexpected("O_CREAT open " + std::string(strerror(errno)));
        }
        int e = write_text(state, "clear");
        if (e == 0) count("clear ok");
        else if (e == ENOENT) count("clear ENOENT");
        else unexpected("clear " + std::string(strerror(e)));
      }
    });
  }
  for (int o = 0; o < 4; ++o) {
    threads.emplace_back([&] {
      while (Clock::now() < deadline) {
        int fd = timed([&] { return open(dev.c_str(), O_RDONLY); });
        if (fd < 0) {
          if (errno == ENOENT) count("open ENOENT");
          else if (errno == ESTALE) count("open ESTALE");
          else unexpected("open " + std::string(strerror(errno)));
          continue;
        }
        struct stat st {};
        mdu_version_t v{};
        if (fstat(fd, &st) != 0) unexpected("fstat " + std::string(strerror(errno)));
        else if (ioctl(fd, RAID_VERSION, &v) != 0 || v.minor != 90) unexpected("RAID_VERSION " + std::string(strerror(errno)));
        else count("open ok, handle works");
        close(fd);
      }
    });
  }
  for (auto& t : threads) t.join();
  long opens = 0, stale = 0;
  for (const auto& [what, n] : tally) {
    std::printf("%8ld %s\n", n, what.c_str());
    if (what.starts_with("open")) opens += n;
    if (what.starts_with("open ESTALE")) stale += n;
  }
  std::printf("slowest call: %.3f s\n", slowest.load());
  if (slowest.load() > 3.0) { std::printf("FAIL: a call took over 3 s\n"); bad = true; }
  if (opens == 0 || stale * 100 > opens) { std::printf("FAIL: ESTALE reached callers too often\n"); bad = true; }
  return bad ? 1 : 0;
}
