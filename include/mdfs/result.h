// Result<T>: a value or an errno. What every operation a user's action can
// fail returns; errors travel as the kernel's errno values (EINVAL, EBUSY...)
// so the FUSE layer can answer with them unchanged.
#pragma once

#include <cerrno>
#include <utility>
#include <variant>

namespace mdfs {

struct Errno {
  int value;
};

inline constexpr Errno err(int e) { return Errno{e}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Errno e) : v_(e) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  int error() const { return ok() ? 0 : std::get<1>(v_).value; }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Errno> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Errno e) : errno_(e.value) {}

  bool ok() const { return errno_ == 0; }
  explicit operator bool() const { return ok(); }
  int error() const { return errno_; }

 private:
  int errno_ = 0;
};

// 0 on success, else the errno: the shape FUSE replies and ioctls want.
template <class T>
int errno_of(const Result<T>& r) {
  return r.error();
}

}  // namespace mdfs
