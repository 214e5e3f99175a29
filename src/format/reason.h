// Why a parser rejected its input: every failure is EINVAL plus a sentence
// for the daemon's log ("superblock checksum mismatch (stored 0x..,
// computed 0x..)"), written only when the caller asked for it.
#pragma once

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <string>

#include "mdfs/result.h"

namespace mdfs::format {

class Reason {
 public:
  explicit Reason(std::string* out) : out_(out) {}

  [[gnu::format(printf, 2, 3)]] Errno fail(const char* fmt, ...) const {
    if (out_ != nullptr) {
      char buf[256];
      va_list ap;
      va_start(ap, fmt);
      std::vsnprintf(buf, sizeof buf, fmt, ap);
      va_end(ap);
      *out_ = buf;
    }
    return err(EINVAL);
  }

 private:
  std::string* out_;
};

}  // namespace mdfs::format
