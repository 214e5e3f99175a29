// The member files of the fuzz targets that run the core: a scratch
// folder, in memory when /dev/shm is there, removed at exit; and the
// daemon's log kept out of libFuzzer's output.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/log.h"

inline std::string make_scratch_shelf(const std::string& name) {
  static std::string dir;
  mdfs::core::set_log_sink([](const char*) {});
  const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/" + name + ".XXXXXX";
  if (!mkdtemp(tmpl.data())) std::abort();
  dir = tmpl;
  std::atexit([] { std::filesystem::remove_all(dir); });
  return dir;
}
