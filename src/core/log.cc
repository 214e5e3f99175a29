#include "core/log.h"

#include <syslog.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace mdfs::core {

namespace {
std::atomic<bool> g_syslog{false};
std::atomic<void (*)(const char*)> g_sink{nullptr};
}  // namespace

void log_line(const std::string& text) {
  // Names in a line come from files and superblocks: no control character
  // may forge or garble a log line.
  std::string line(text);
  for (char& c : line)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  if (auto sink = g_sink.load()) return sink(line.c_str());
  // One fprintf call: stdio locks the stream, so lines of threads do not mix.
  std::fprintf(stderr, "mdfs: %s\n", line.c_str());
  if (g_syslog.load()) syslog(LOG_DAEMON | LOG_NOTICE, "%s", line.c_str());
}

void md_log(const char* fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  log_line(line);
}

void log_to_syslog(bool on) { g_syslog.store(on); }

void set_log_sink(void (*sink)(const char* line)) { g_sink.store(sink); }

}  // namespace mdfs::core
