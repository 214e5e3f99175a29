#include "core/log.h"

#include <syslog.h>

#include <atomic>
#include <cstdio>

namespace mdfs::core {

namespace {
std::atomic<bool> g_syslog{false};
}  // namespace

void log_line(const std::string& line) {
  std::fprintf(stderr, "mdfs: %s\n", line.c_str());
  if (g_syslog.load()) syslog(LOG_DAEMON | LOG_NOTICE, "%s", line.c_str());
}

void log_to_syslog(bool on) { g_syslog.store(on); }

}  // namespace mdfs::core
