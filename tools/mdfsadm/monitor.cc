#include "mdfsadm/monitor.h"

#include <fcntl.h>
#include <linux/major.h>
#include <linux/raid/md_p.h>
#include <linux/raid/md_u.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <list>
#include <map>
#include <memory>
#include <set>

#include "mdfs/unique_fd.h"
#include "mdfsadm/mdadm_text.h"

namespace mdfsadm {
namespace {

// mdstat.h's percent values besides 0..100.
constexpr int kResyncNone = -1;
constexpr int kResyncDelayed = -2;
constexpr int kResyncPending = -3;
constexpr int kResyncUnknown = -5;

// The mail program, as mdadm's compiled-in Sendmail; any command that reads
// a message with its headers on standard input will do.
constexpr const char* kDefaultSendmail = "/usr/sbin/sendmail -t";

struct Alerts {
  std::string mailaddr;
  std::string mailfrom;
  std::string program;
  bool syslog = false;
  std::vector<Mount> mounts;  // whose mdstat a mail quotes
};

// One watched array: what the last pass saw (mdadm's struct state).
struct Watched {
  std::string devname;  // as events name it: MNT/dev/NAME
  std::optional<ArrayRef> array;
  unsigned utime = 0;
  int err = 0;
  int active = 0, working = 0, failed = 0, spare = 0, raid = 0;
  bool from_config = false, from_auto = false;
  int expected_spares = -1;
  int percent = kResyncUnknown;
  std::map<int, int> devstate;          // disk number -> MD_DISK_* state
  std::map<int, std::string> devid;     // disk number -> member file
};

int percent_of(const MdstatEntry& e) {
  if (e.percent >= 0) return e.percent;
  if (e.delayed) return kResyncDelayed;
  if (e.pending) return kResyncPending;
  return kResyncNone;
}

void alert(const std::string& event, const std::string& dev, const std::string* disc, const Alerts& a) {
  if (a.program.empty() && a.mailaddr.empty() && !a.syslog) {
    const std::time_t now = std::time(nullptr);
    char when[32];
    std::strftime(when, sizeof when, "%b %e %H:%M:%S", std::localtime(&now));
    std::printf("%s: %s on %s %s\n", when, event.c_str(), dev.c_str(), disc ? disc->c_str() : "unknown device");
    std::fflush(stdout);
  }
  if (!a.program.empty()) {
    // mdadm's order: PROGRAM EVENT MD-DEVICE [COMPONENT], run to completion.
    std::fflush(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
      if (disc) ::execl(a.program.c_str(), a.program.c_str(), event.c_str(), dev.c_str(), disc->c_str(), nullptr);
      else ::execl(a.program.c_str(), a.program.c_str(), event.c_str(), dev.c_str(), nullptr);
      ::_exit(2);
    }
    if (pid > 0) {
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  const bool mailed = event.starts_with("Fail") || event.starts_with("Test") || event.starts_with("Spares") ||
                      event.starts_with("Degrade");
  if (!a.mailaddr.empty() && mailed) {
    const char* env = std::getenv("MDFSADM_SENDMAIL");
    const std::string command = env && *env ? env : kDefaultSendmail;
    if (FILE* mp = ::popen(command.c_str(), "w")) {
      char host[256] = {};
      ::gethostname(host, sizeof host - 1);
      ::signal(SIGPIPE, SIG_IGN);
      std::string m;
      m += a.mailfrom.empty() ? "From: mdadm monitoring <root>\n" : "From: " + a.mailfrom + "\n";
      m += "To: " + a.mailaddr + "\n";
      m += "Subject: " + event + " event on " + dev + ":" + host + "\n\n";
      m += "This is an automatically generated mail message from mdadm\n";
      m += std::string("running on ") + host + "\n\n";
      m += "A " + event + " event had been detected on md device " + dev + ".\n\n";
      if (disc && !disc->empty() && (*disc)[0] != ' ') m += "It could be related to component device " + *disc + ".\n\n";
      if (disc && !disc->empty() && (*disc)[0] == ' ') m += "Extra information:" + *disc + ".\n\n";
      m += "Faithfully yours, etc.\n";
      for (const auto& mount : a.mounts) {
        if (auto text = read_attr(mount.mdstat())) {
          m += "\nP.S. The " + mount.mdstat() + " file currently contains the following:\n\n" + *text + "\n";
        }
      }
      std::fwrite(m.data(), 1, m.size(), mp);
      ::pclose(mp);
    }
  }
  if (a.syslog) {
    int priority = LOG_INFO;
    if (event.starts_with("Fail") || event.starts_with("Degrade") || event.starts_with("DeviceDisappeared"))
      priority = LOG_CRIT;
    else if (event.starts_with("Rebuild") || event.starts_with("MoveSpare") || !event.starts_with("Spares"))
      priority = LOG_WARNING;
    if (disc && !disc->empty() && (*disc)[0] != ' ')
      ::syslog(priority, "%s event detected on md device %s, component device %s", event.c_str(), dev.c_str(),
               disc->c_str());
    else if (disc)
      ::syslog(priority, "%s event detected on md device %s: %s", event.c_str(), dev.c_str(), disc->c_str());
    else
      ::syslog(priority, "%s event detected on md device %s", event.c_str(), dev.c_str());
  }
}

void alert(const std::string& event, const std::string& dev, const Alerts& a) { alert(event, dev, nullptr, a); }

// check_array: compare the array with what the last pass saw; true when it
// is degraded with no spare.
bool check_array(Watched& st, std::map<std::string, std::vector<MdstatEntry>>& mdstat,
                 std::map<std::string, std::set<std::string>>& seen, bool test, int increments, const Alerts& a) {
  const std::string& dev = st.devname;
  if (test) alert("TestMessage", dev, a);
  auto disappeared = [&] {
    if (!st.err) alert("DeviceDisappeared", dev, a);
    ++st.err;
    return false;
  };
  if (!st.array) return disappeared();
  const ArrayRef& arr = *st.array;
  mdfs::UniqueFd fd(::open(arr.dev().c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return disappeared();
  const MdstatEntry* mse = nullptr;
  for (const auto& e : mdstat[arr.mount.point])
    if (e.name == arr.name) mse = &e;
  if (!mse) {
    // Linux removes a stopped array's device; mdfs removes dev/<name>
    // once the array's deletion has run, which may be just after this
    // pass: an array that is gone from mdstat and clear is gone.
    auto state = read_attr(arr.md("array_state"));
    if (!state || *state == "clear") return disappeared();
  }
  if (!mse || seen[arr.mount.point].count(arr.name)) {
    ++st.err;  // a duplicate in the list, or re-made after mdstat was read
    return false;
  }
  seen[arr.mount.point].insert(arr.name);
  if (!mse->active) return disappeared();
  mdu_array_info_t array{};
  if (::ioctl(fd.get(), GET_ARRAY_INFO, &array) != 0) return disappeared();
  if (array.level == 0 || array.level == kLevelLinear) {
    if (!st.err && !st.from_config) {
      const std::string why = " Wrong-Level";
      alert("DeviceDisappeared", dev, &why, a);
    }
    ++st.err;
    return false;
  }
  bool new_array = false;
  if (st.err) {
    st.err = 0;
    st.percent = kResyncNone;
    new_array = true;
    alert("NewArray", dev, a);
  }
  const int percent = percent_of(*mse);
  if (st.utime == static_cast<unsigned>(array.utime) && st.failed == array.failed_disks &&
      st.working == array.working_disks && st.spare == array.spare_disks && percent == st.percent)
    return st.active < st.raid && st.spare == 0;
  // mdstat's [UU_] pattern has a '_': a role without an in-sync member.
  const bool degraded_pattern = array.active_disks < array.raid_disks;
  if (st.utime == 0 && degraded_pattern) alert("DegradedArray", dev, a);
  if (st.utime == 0 && st.expected_spares > 0 && array.spare_disks < st.expected_spares)
    alert("SparesMissing", dev, a);
  if (st.percent < 0 && st.percent != kResyncUnknown && percent >= 0) alert("RebuildStarted", dev, a);
  if (st.percent >= 0 && percent >= 0 && percent / increments > st.percent / increments) {
    char name[18];
    if (percent / increments == 0) std::snprintf(name, sizeof name, "RebuildStarted");
    else std::snprintf(name, sizeof name, "Rebuild%02d", percent);
    alert(name, dev, a);
  }
  if (percent == kResyncNone && st.percent >= 0) {
    auto mismatches = read_attr(arr.md("mismatch_cnt"));
    const long count = mismatches ? std::atol(mismatches->c_str()) : 0;
    if (count > 0) {
      const std::string extra = " mismatches found: " + std::to_string(count) + " (on raid level " +
                                std::to_string(array.level) + ")";
      alert("RebuildFinished", dev, &extra, a);
    } else {
      alert("RebuildFinished", dev, a);
    }
  }
  st.percent = percent;

  // The members by disk number: GET_DISK_INFO, named from mdstat.
  std::map<int, std::string> names;
  int last = 0;
  for (const auto& m : mse->members) {
    names[m.desc_nr] = m.name;
    last = std::max(last, m.desc_nr + 1);
  }
  for (const auto& [number, id] : st.devid) last = std::max(last, number + 1);
  for (int i = 0; i < last; ++i) {
    mdu_disk_info_t disc{};
    disc.number = i;
    int newstate = 1 << MD_DISK_REMOVED;
    std::string id;
    if (::ioctl(fd.get(), GET_DISK_INFO, &disc) == 0 && (disc.major || disc.minor)) {
      newstate = disc.state;
      if (auto it = names.find(disc.minor); it != names.end()) id = it->second;
    }
    std::string dv = !id.empty() ? arr.mount.member_path(id)
                                 : st.devid.count(i) && !st.devid[i].empty() ? arr.mount.member_path(st.devid[i]) : "";
    const std::string* dvp = dv.empty() ? nullptr : &dv;
    const int old = st.devstate.count(i) ? st.devstate[i] : 0;
    const int change = newstate ^ old;
    if (st.utime && change && !st.err && !new_array) {
      if ((old & change) & (1 << MD_DISK_SYNC))
        alert("Fail", dev, dvp, a);
      else if ((newstate & (1 << MD_DISK_FAULTY)) && !id.empty() && st.devid[i] == id)
        alert("FailSpare", dev, dvp, a);
      else if ((newstate & change) & (1 << MD_DISK_SYNC))
        alert("SpareActive", dev, dvp, a);
    }
    st.devstate[i] = newstate;
    st.devid[i] = id;
  }
  st.active = array.active_disks;
  st.working = array.working_disks;
  st.spare = array.spare_disks;
  st.failed = array.failed_disks;
  st.utime = static_cast<unsigned>(array.utime);
  st.raid = array.raid_disks;
  st.err = 0;
  return st.active < st.raid && st.spare == 0;
}

// add_new_arrays: arrays that appeared in mdstat (redundant ones).
bool add_new_arrays(std::list<Watched>& list, std::map<std::string, std::vector<MdstatEntry>>& mdstat,
                    std::map<std::string, std::set<std::string>>& seen, const std::vector<Mount>& mounts, bool test,
                    const Alerts& a) {
  bool found = false;
  for (const auto& m : mounts) {
    for (const auto& e : mdstat[m.point]) {
      if (seen[m.point].count(e.name) || e.level == "raid0" || e.level == "linear") continue;
      const ArrayRef arr{m, e.name};
      mdfs::UniqueFd fd(::open(arr.dev().c_str(), O_RDONLY | O_CLOEXEC));
      mdu_array_info_t array{};
      if (fd.get() < 0 || ::ioctl(fd.get(), GET_ARRAY_INFO, &array) != 0) continue;
      Watched w;
      w.devname = arr.dev();
      w.array = arr;
      w.err = 1;
      w.from_auto = true;
      list.push_front(std::move(w));
      seen[m.point].insert(e.name);
      if (test) alert("TestMessage", arr.dev(), a);
      found = true;
    }
  }
  return found;
}

// make_daemon: the parent prints the child's pid (or writes --pid-file)
// and exits 0; the child goes on, detached.
int daemonise(const std::string& pidfile) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("daemonise");
    return 1;
  }
  if (pid > 0) {
    if (pidfile.empty()) {
      std::printf("%d\n", pid);
    } else if (FILE* f = std::fopen(pidfile.c_str(), "w")) {
      std::fprintf(f, "%d\n", pid);
      std::fclose(f);
    } else {
      std::perror("cannot create pid file");
    }
    return 0;
  }
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(null, 2);
    if (null > 2) ::close(null);
  }
  ::setsid();
  return -1;
}

}  // namespace

int monitor_mode(const Command& cmd, const Config& config) {
  if (cmd.devices.empty() && !cmd.scan) {
    say("Cannot monitor: need --scan or at least one device");
    return 1;
  }
  if (!cmd.pidfile.empty() && !cmd.daemonise) {
    say("Cannot write a pid file when not in daemon mode");
    return 1;
  }
  int delay = cmd.delay ? cmd.delay : config.monitor_delay ? config.monitor_delay : 60;
  Alerts a;
  a.mailaddr = cmd.mailaddr;
  if (a.mailaddr.empty() && !config.mailaddr.empty()) {
    a.mailaddr = config.mailaddr;
    if (!cmd.scan) say("Monitor using email address \"" + a.mailaddr + "\" from config file");
  }
  a.mailfrom = config.mailfrom;
  a.program = cmd.program;
  if (a.program.empty() && !config.program.empty()) {
    a.program = config.program;
    if (!cmd.scan) say("Monitor using program \"" + a.program + "\" from config file");
  }
  a.syslog = cmd.syslog;
  if (cmd.scan && a.mailaddr.empty() && a.program.empty() && !a.syslog) {
    say("No mail address or alert command - not monitoring.");
    return 1;
  }
  if (a.syslog) ::openlog("mdfsadm", LOG_PID, LOG_DAEMON);

  std::vector<Mount> mounts;
  if (!cmd.mount.mount.empty()) {
    mounts.push_back(find_mount(cmd.mount));
  } else {
    for (const auto& [point, source] : mdfs_mounts()) {
      try {
        mounts.push_back(mount_at(point, cmd.mount));
      } catch (const Failure& f) {
        say(f.what());
      }
    }
  }
  a.mounts = mounts;

  std::list<Watched> list;
  auto watch = [&](const std::string& name, bool from_config, int spares) {
    Watched w;
    w.from_config = from_config;
    w.expected_spares = spares;
    try {
      w.array = resolve_array(name, cmd.mount);
      w.devname = w.array->dev();
    } catch (const Failure&) {
      w.devname = name;  // reported as disappeared
    }
    list.push_front(std::move(w));
  };
  if (cmd.devices.empty()) {
    for (const auto& ident : config.arrays) {
      if (ident.devname.empty() || ident.devname == "<ignore>") continue;
      watch(array_name_for(ident.devname), true, ident.spare_disks);
    }
  } else {
    for (const auto& d : cmd.devices) {
      int spares = -1;
      std::string name;
      try {
        name = resolve_array(d.name, cmd.mount).name;
      } catch (const Failure&) {
      }
      for (const auto& ident : config.arrays)
        if (!ident.devname.empty() && array_name_for(ident.devname) == name) spares = ident.spare_disks;
      watch(d.name, false, spares);
    }
  }
  if (cmd.daemonise) {
    if (int rv = daemonise(cmd.pidfile); rv >= 0) return rv;
  }

  std::vector<std::unique_ptr<MdstatWatch>> watches;
  std::vector<MdstatWatch*> waiting;
  for (const auto& m : mounts) {
    watches.push_back(std::make_unique<MdstatWatch>(m));
    waiting.push_back(watches.back().get());
  }
  bool test = cmd.test;
  for (;;) {
    std::map<std::string, std::vector<MdstatEntry>> mdstat;
    std::map<std::string, std::set<std::string>> seen;
    for (std::size_t i = 0; i < mounts.size(); ++i) mdstat[mounts[i].point] = watches[i]->read();
    bool any_redundant = false;
    for (auto& st : list) {
      check_array(st, mdstat, seen, test, cmd.increments, a);
      if (st.err == 0) any_redundant = true;
    }
    const bool new_found = cmd.scan && add_new_arrays(list, mdstat, seen, mounts, test, a);
    if (!new_found) {
      if (cmd.oneshot) break;
      if (!any_redundant) {
        say("No array with redundancy detected, stopping");
        break;
      }
      // mdstat_wait: until the next md event, or the delay.
      MdstatWatch::wait(waiting, delay * 1000);
    }
    test = false;
    list.remove_if([](const Watched& st) { return st.from_auto && st.err > 5; });
  }
  if (!cmd.pidfile.empty()) ::unlink(cmd.pidfile.c_str());
  return 0;
}

}  // namespace mdfsadm
