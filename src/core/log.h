// The daemon's log, where the kernel writes to its ring buffer: why an
// array was refused or started read-only, members left out, failures.
// Lines go to stderr ("mdfs: ..."), and to syslog once the daemon runs in
// the background (main.cc turns that on).
#pragma once

#include <string>

namespace mdfs::core {

void log_line(const std::string& line);
// The same, printf-style.
[[gnu::format(printf, 1, 2)]] void md_log(const char* fmt, ...);
// After daemonising: stderr is /dev/null, lines go to syslog as well.
void log_to_syslog(bool on);
// Lines go to `sink` instead (a fuzzer keeps its output for its own
// reports); nullptr: back to stderr and syslog.
void set_log_sink(void (*sink)(const char* line));

}  // namespace mdfs::core
