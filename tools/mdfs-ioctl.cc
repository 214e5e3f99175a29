// mdfs-ioctl DEVICE COMMAND [ARG]: issue one md ioctl on an array file and
// print the answer, for scripts and tests (the kernel's md_u.h numbers).
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/major.h>
#include <linux/raid/md_u.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: mdfs-ioctl DEVICE COMMAND [ARG]\n"
               "COMMAND: RAID_VERSION GET_ARRAY_INFO GET_DISK_INFO N RUN_ARRAY STOP_ARRAY\n"
               "         STOP_ARRAY_RO RESTART_ARRAY_RW SET_DISK_FAULTY DEV BLKGETSIZE64\n"
               "Prints the answer, or the errno's name and text (exit 1).\n");
  return 2;
}

const char* errno_name(int e) {
  switch (e) {
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case ENOTTY: return "ENOTTY";
    case EROFS: return "EROFS";
    case ENOENT: return "ENOENT";
    case ESTALE: return "ESTALE";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EFAULT: return "EFAULT";
    default: return "E?";
  }
}

int report(const char* cmd, int rc) {
  if (rc == 0) return 0;
  int e = errno;
  std::printf("%s: %s (%d: %s)\n", cmd, errno_name(e), e, std::strerror(e));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string cmd = argv[2];
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) {
    std::printf("open: %s (%d: %s)\n", errno_name(errno), errno, std::strerror(errno));
    return 1;
  }
  unsigned long arg = argc > 3 ? std::strtoul(argv[3], nullptr, 0) : 0;
  if (cmd == "RAID_VERSION") {
    mdu_version_t v{};
    if (report(argv[2], ioctl(fd, RAID_VERSION, &v))) return 1;
    std::printf("%d.%d.%d\n", v.major, v.minor, v.patchlevel);
  } else if (cmd == "GET_ARRAY_INFO") {
    mdu_array_info_t a{};
    if (report(argv[2], ioctl(fd, GET_ARRAY_INFO, &a))) return 1;
    std::printf("version=%d.%d.%d ctime=%d level=%d size=%d nr_disks=%d raid_disks=%d md_minor=%d "
                "not_persistent=%d utime=%d state=%d active_disks=%d working_disks=%d failed_disks=%d "
                "spare_disks=%d layout=%d chunk_size=%d\n",
                a.major_version, a.minor_version, a.patch_version, a.ctime, a.level, a.size, a.nr_disks,
                a.raid_disks, a.md_minor, a.not_persistent, a.utime, a.state, a.active_disks,
                a.working_disks, a.failed_disks, a.spare_disks, a.layout, a.chunk_size);
  } else if (cmd == "GET_DISK_INFO") {
    mdu_disk_info_t d{};
    d.number = static_cast<int>(arg);
    if (report(argv[2], ioctl(fd, GET_DISK_INFO, &d))) return 1;
    std::printf("number=%d major=%d minor=%d raid_disk=%d state=%d\n", d.number, d.major, d.minor,
                d.raid_disk, d.state);
  } else if (cmd == "BLKGETSIZE64") {
    uint64_t size = 0;
    if (report(argv[2], ioctl(fd, BLKGETSIZE64, &size))) return 1;
    std::printf("%llu\n", static_cast<unsigned long long>(size));
  } else if (cmd == "RUN_ARRAY") {
    mdu_param_t p{};
    if (report(argv[2], ioctl(fd, RUN_ARRAY, &p))) return 1;
    std::printf("ok\n");
  } else {
    unsigned long request = 0;
    if (cmd == "STOP_ARRAY") request = STOP_ARRAY;
    else if (cmd == "STOP_ARRAY_RO") request = STOP_ARRAY_RO;
    else if (cmd == "RESTART_ARRAY_RW") request = RESTART_ARRAY_RW;
    else if (cmd == "SET_DISK_FAULTY") request = SET_DISK_FAULTY;
    else return usage();
    if (report(argv[2], ioctl(fd, request, arg))) return 1;
    std::printf("ok\n");
  }
  close(fd);
  return 0;
}
