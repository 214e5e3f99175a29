// mdfs SOURCE MOUNTPOINT: options (CLI11), the mount, and a clean stop of
// every array at unmount.
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/parse.h"
#include "core/registry.h"
#include "fuse/server.h"
#include "sysfs/namespace.h"

namespace {

struct Options {
  std::string source;
  std::string mountpoint;
  std::vector<std::string> o;  // every -o, comma lists split
  bool foreground = false;
  bool debug = false;
  bool single_thread = false;
  bool create_on_open = true;
  bool assemble = true;
  int start_dirty_degraded = 0;
  bool allow_other = false;
  bool default_permissions = false;
  bool no_default_permissions = false;
  std::vector<std::string> fuse_options;  // passed on to libfuse
};

// Options of mount(8)/fstab that mean nothing to a FUSE server.
bool is_mount_only_option(const std::string& opt) {
  static const char* const kNames[] = {"defaults", "user", "nouser", "users", "auto", "noauto", "_netdev", "nofail"};
  for (const char* n : kNames)
    if (opt == n) return true;
  return opt.starts_with("x-") || opt.starts_with("comment=");
}

// The FUSE mount and session options libfuse 3.14 takes.
bool is_fuse_option(const std::string& opt) {
  static const char* const kFlags[] = {
      "allow_other", "allow_root", "auto_unmount", "default_permissions", "rw", "ro", "suid", "nosuid",
      "dev", "nodev", "exec", "noexec", "async", "sync", "atime", "noatime", "diratime", "nodiratime",
      "relatime", "norelatime", "strictatime", "nostrictatime", "lazytime", "nolazytime", "dirsync",
      "symfollow", "nosymfollow", "debug", "clone_fd", "blkdev"};
  static const char* const kValued[] = {"fsname=", "subtype=", "max_read=", "blksize=", "context=",
                                        "fscontext=", "defcontext=", "rootcontext=",
                                        "max_idle_threads=", "max_threads="};
  for (const char* f : kFlags)
    if (opt == f) return true;
  for (const char* v : kValued)
    if (opt.starts_with(v)) return true;
  return false;
}

// The largest read whose reply still fits in one pipe, so that libfuse
// splices it from the member files instead of copying it: half the pipe
// size an unprivileged process may set (fs.pipe-max-size), at most 1 MiB.
unsigned spliceable_read_size() {
  constexpr unsigned kLargest = 1u << 20;
  constexpr unsigned kSmallest = 128u << 10;  // the kernel's default (32 pages)
  unsigned long pipe_max = 0;
  if (FILE* f = std::fopen("/proc/sys/fs/pipe-max-size", "r")) {
    if (std::fscanf(f, "%lu", &pipe_max) != 1) pipe_max = 0;
    std::fclose(f);
  }
  return static_cast<unsigned>(std::clamp<unsigned long>(pipe_max / 2, kSmallest, kLargest));
}

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "mdfs: %s\n", message.c_str());
  std::exit(1);
}

void apply_options(Options& opts) {
  for (const auto& list : opts.o) {
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string opt = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      start = comma == std::string::npos ? list.size() + 1 : comma + 1;
      if (opt.empty()) continue;
      if (opt.starts_with("create_on_open=")) {
        auto v = opt.substr(15);
        if (v == "Y" || v == "y" || v == "1") opts.create_on_open = true;
        else if (v == "N" || v == "n" || v == "0") opts.create_on_open = false;
        else fail("bad value in '-o " + opt + "': create_on_open takes Y or N");
      } else if (opt.starts_with("start_dirty_degraded=")) {
        auto v = mdfs::core::parse_kstrtoint(opt.substr(21));
        if (!v) fail("bad value in '-o " + opt + "': start_dirty_degraded takes a number (0: refuse, 1: start)");
        opts.start_dirty_degraded = *v;
      } else if (opt == "no_default_permissions") {
        opts.no_default_permissions = true;
      } else if (opt.starts_with("assemble=")) {
        auto v = opt.substr(9);
        if (v == "auto") opts.assemble = true;
        else if (v == "none") opts.assemble = false;
        else fail("bad value in '-o " + opt + "': assemble takes auto or none");
      } else if (is_mount_only_option(opt)) {
        continue;
      } else if (is_fuse_option(opt)) {
        if (opt == "debug") opts.debug = true;
        if (opt == "allow_other") opts.allow_other = true;
        if (opt == "default_permissions") opts.default_permissions = true;
        opts.fuse_options.push_back(opt);
      } else {
        fail("unknown option '-o " + opt + "' (see mdfs --help)");
      }
    }
  }
  if (opts.default_permissions && opts.no_default_permissions)
    fail("'-o default_permissions' and '-o no_default_permissions' contradict each other");
  // Other users let in by allow_other meet the modes mdfs shows (0660 for
  // dev/*, 0200 for new_array...), checked by the kernel as on sysfs,
  // unless the user asked for the contrary in so many words.
  if (opts.allow_other && !opts.default_permissions && !opts.no_default_permissions) {
    opts.default_permissions = true;
    opts.fuse_options.push_back("default_permissions");
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opts;
  CLI::App app{"mdfs: Linux md software RAID in userspace, served as a FUSE filesystem.\n"
               "Member image files in SOURCE are assembled into arrays shown under\n"
               "MOUNTPOINT/dev, controlled through MOUNTPOINT/sys and MOUNTPOINT/proc/mdstat."};
  app.set_version_flag("-V,--version", std::string("mdfs ") + MDFS_VERSION + " (libfuse " + fuse_pkgversion() + ")");
  app.add_option("SOURCE", opts.source, "folder of member image files (the shelf)")->required();
  app.add_option("MOUNTPOINT", opts.mountpoint, "where to mount")->required();
  app.add_option("-o", opts.o,
                 "comma-separated options: create_on_open=Y|N (default Y), assemble=auto|none "
                 "(default auto), start_dirty_degraded=N (default 0), no_default_permissions, and FUSE "
                 "mount options (allow_other, which turns on default_permissions, ...)")
      ->type_name("OPTIONS")
      ->allow_extra_args(false);
  app.add_flag("-f,--foreground", opts.foreground, "stay in the foreground");
  app.add_flag("-d,--debug", opts.debug, "print every FUSE request (implies -f)");
  app.add_flag("-s", opts.single_thread, "serve requests on one thread");
  app.footer("Unmounting (fusermount3 -u MOUNTPOINT, or umount) stops every array cleanly.\n"
             "See mdfs(8).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::fprintf(stderr, "mdfs: %s (see mdfs --help)\n", e.what());
    return 1;
  }
  apply_options(opts);
  if (opts.debug) opts.foreground = true;

  struct stat st {};
  if (stat(opts.source.c_str(), &st) != 0) fail("SOURCE '" + opts.source + "': " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) fail("SOURCE '" + opts.source + "' is not a folder");

  mdfs::UniqueFd source_dir(open(opts.source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!source_dir) fail("SOURCE '" + opts.source + "': " + std::strerror(errno));
  // The mount point as an absolute path: libfuse unmounts by this name
  // at exit, after the daemon has changed its directory to /, so a
  // relative one would leave a dead mount behind (SIGTERM, SIGINT).
  char* real = realpath(opts.mountpoint.c_str(), nullptr);
  if (!real) fail("MOUNTPOINT '" + opts.mountpoint + "': " + std::strerror(errno));
  opts.mountpoint = real;
  std::free(real);

  mdfs::core::Registry registry(std::move(source_dir));
  registry.set_create_on_open(opts.create_on_open);
  registry.set_start_dirty_degraded(opts.start_dirty_degraded);
  mdfs::sysfs::Namespace ns(registry);
  mdfs::fuse::Server server(ns);
  registry.set_delete_listener([&server](const auto& array) { server.array_deleted(array); });
  registry.set_notify_listener([&server](uint64_t id, std::string_view path) { server.notify(id, path); });
  if (opts.assemble) {
    // mdadm --assemble --scan --run, before the mount appears.
    registry.assemble_all();
  }

  unsigned max_read = 0;
  for (const auto& o : opts.fuse_options)
    if (o.starts_with("max_read=")) max_read = static_cast<unsigned>(std::strtoul(o.c_str() + 9, nullptr, 10));
  if (max_read == 0) {
    max_read = spliceable_read_size();
    opts.fuse_options.push_back("max_read=" + std::to_string(max_read));
  }
  server.set_max_read(max_read);

  std::vector<std::string> fuse_argv_storage{argv[0]};
  if (opts.debug) fuse_argv_storage.push_back("-d");
  std::string fsname = "fsname=" + opts.source;
  for (char& c : fsname)
    if (c == ',') c = '_';
  std::vector<std::string> mount_opts{fsname, "subtype=mdfs"};
  mount_opts.insert(mount_opts.end(), opts.fuse_options.begin(), opts.fuse_options.end());
  std::string joined;
  for (const auto& m : mount_opts) joined += (joined.empty() ? "" : ",") + m;
  fuse_argv_storage.push_back("-o");
  fuse_argv_storage.push_back(joined);
  std::vector<char*> fuse_argv;
  for (auto& s : fuse_argv_storage) fuse_argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(fuse_argv.size()), fuse_argv.data());

  const auto& ops = mdfs::fuse::Server::operations();
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, &server);
  if (!se) fail("could not start a FUSE session with options '" + joined + "'");
  server.set_session(se);
  if (fuse_set_signal_handlers(se) != 0) fail("could not install signal handlers");
  if (fuse_session_mount(se, opts.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return 1;
  }
  if (fuse_daemonize(opts.foreground ? 1 : 0) != 0) fail("could not go to the background");
  if (!opts.foreground) mdfs::core::log_to_syslog(true);  // stderr is /dev/null from here
  registry.start();
  server.start();

  int rc;
  if (opts.single_thread) {
    rc = fuse_session_loop(se);
  } else {
    fuse_loop_config* config = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(config, 64);
    fuse_loop_cfg_set_idle_threads(config, 8);
    rc = fuse_session_loop_mt(se, config);
    fuse_loop_cfg_destroy(config);
  }

  // Every array stopped with clean superblocks, every deletion finished.
  registry.shutdown();
  registry.set_notify_listener(nullptr);
  server.detach();
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  fuse_opt_free_args(&args);
  return rc < 0 ? 1 : 0;
}
