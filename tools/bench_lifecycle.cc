// bench-lifecycle MOUNTPOINT PLAINFILE: times 1000 create/clear cycles and
// 10000 open/close pairs of an array through the mount, beside 10000
// open/close pairs of PLAINFILE (a file in the filesystem holding SOURCE).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

void write_or_die(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY);
  if (fd < 0 || write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::perror(path.c_str());
    std::exit(1);
  }
  close(fd);
}

double open_close(const std::string& path, int n) {
  auto start = Clock::now();
  for (int i = 0; i < n; ++i) {
    int fd = open(path.c_str(), O_RDONLY);
    if (fd < 0) {
      std::perror(path.c_str());
      std::exit(1);
    }
    close(fd);
  }
  return n / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench-lifecycle MOUNTPOINT PLAINFILE\n");
    return 2;
  }
  const std::string mnt = argv[1];
  const std::string new_array = mnt + "/sys/module/md_mod/parameters/new_array";
  const std::string state = mnt + "/sys/block/md_bench/md/array_state";

  auto start = Clock::now();
  const int cycles = 1000;
  for (int i = 0; i < cycles; ++i) {
    write_or_die(new_array, "md_bench");
    write_or_die(state, "clear");
  }
  double cycle_rate = cycles / std::chrono::duration<double>(Clock::now() - start).count();

  write_or_die(new_array, "md_bench");
  double array_rate = open_close(mnt + "/dev/md_bench", 10000);
  write_or_die(state, "clear");
  double plain_rate = open_close(argv[2], 10000);

  std::printf("create/clear cycles       %10.0f /s\n", cycle_rate);
  std::printf("open/close of dev/<name>  %10.0f /s\n", array_rate);
  std::printf("open/close of plain file  %10.0f /s\n", plain_rate);
  std::printf("ratio lifecycle-open-close-vs-plain %.3f\n", array_rate / plain_rate);
  return 0;
}
