#include "core/registry.h"

#include <algorithm>

#include "core/names.h"

namespace mdfs::core {

ArrayRef::ArrayRef(Registry& registry, std::shared_ptr<Array> array)
    : registry_(&registry), array_(std::move(array)) {}

ArrayRef::ArrayRef(ArrayRef&& other) noexcept
    : registry_(other.registry_), array_(std::move(other.array_)) {}

ArrayRef::~ArrayRef() {
  if (array_) registry_->put(array_);
}

Registry::Registry() = default;

Registry::~Registry() { misc_wq_.flush(); }

void Registry::set_delete_listener(DeleteListener listener) { listener_ = std::move(listener); }

Result<void> Registry::new_array(std::string_view text) {
  auto name = parse_new_array_name(text);
  if (!name) return err(name.error());
  for (;;) {
    // As md_alloc: wait for pending deletions, so a name being deleted is free.
    misc_wq_.flush();
    std::lock_guard lock(mutex_);
    auto it = arrays_.find(name->name);
    if (it != arrays_.end()) {
      if (it->second->deleted_) continue;  // deleted after our flush: flush again
      return err(EEXIST);
    }
    auto hold = name->numbered ? Hold::kUntilIoctl : Hold::kUntilStop;
    arrays_.emplace(name->name, std::make_shared<Array>(*this, name->name, name->minor, next_id_++, hold));
    return {};
  }
}

Result<std::shared_ptr<Array>> Registry::create_and_open(std::string_view device_name, bool exclusive) {
  auto name = parse_device_name(device_name);
  if (!name) return err(EINVAL);
  if (!create_on_open()) return err(ENXIO);
  for (;;) {
    misc_wq_.flush();
    std::shared_ptr<Array> array;
    {
      std::lock_guard lock(mutex_);
      auto it = arrays_.find(name->name);
      if (it != arrays_.end()) {
        if (it->second->deleted_) continue;
        if (exclusive) return err(EEXIST);
        array = it->second;
      } else {
        array = std::make_shared<Array>(*this, name->name, name->minor, next_id_++, Hold::kUntilIoctl);
        arrays_.emplace(name->name, array);
      }
      ++array->active_;
    }
    if (!add_opener(array)) return err(ENODEV);
    return array;
  }
}

Result<void> Registry::open(const std::shared_ptr<Array>& array) {
  {
    std::unique_lock lock(mutex_);
    if (array->deleted_) {
      // The lookup that found this array raced its deletion: let the
      // deletion finish, then have the kernel look the name up again.
      deletion_done_.wait(lock, [&] { return array->deletion_done_; });
      return err(ESTALE);
    }
    ++array->active_;
  }
  if (!add_opener(array)) return err(ENODEV);
  return {};
}

// Takes the opener count for a caller that holds a reference; drops the
// reference and fails while a STOP_ARRAY is closing the array (MD_CLOSING).
bool Registry::add_opener(const std::shared_ptr<Array>& array) {
  {
    std::lock_guard lock(array->open_mutex_);
    if (!array->closing_) {
      ++array->openers_;
      return true;
    }
  }
  put(array);
  return false;
}

void Registry::release(const std::shared_ptr<Array>& array) {
  {
    std::lock_guard lock(array->open_mutex_);
    --array->openers_;
  }
  array->released_.notify_all();
  put(array);
}

std::optional<ArrayRef> Registry::get(const std::shared_ptr<Array>& array) {
  std::lock_guard lock(mutex_);
  if (array->deleted_) return std::nullopt;
  ++array->active_;
  return ArrayRef(*this, array);
}

void Registry::put(const std::shared_ptr<Array>& array) {
  std::lock_guard lock(mutex_);
  if (--array->active_ > 0) return;
  // Nobody can change the configuration now: every store holds a reference.
  if (array->configured() || array->hold() != Hold::kNone || array->deleted_) return;
  array->deleted_ = true;
  // Queued under the lock, so a flush() by anyone who saw the mark waits for it.
  misc_wq_.post([this, array] { delayed_delete(array); });
}

void Registry::delayed_delete(const std::shared_ptr<Array>& array) {
  {
    std::lock_guard lock(mutex_);
    auto it = arrays_.find(array->name());
    if (it != arrays_.end() && it->second == array) arrays_.erase(it);
    array->deletion_done_ = true;
  }
  deletion_done_.notify_all();
  if (listener_) listener_(array);
}

std::shared_ptr<Array> Registry::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = arrays_.find(name);
  if (it == arrays_.end() || it->second->deleted_) return nullptr;
  return it->second;
}

std::vector<std::shared_ptr<Array>> Registry::arrays() const {
  std::vector<std::shared_ptr<Array>> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [name, array] : arrays_)
      if (!array->deleted_) out.push_back(array);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a->id() > b->id(); });
  return out;
}

size_t Registry::size() const {
  std::lock_guard lock(mutex_);
  return arrays_.size();
}

void Registry::flush() { misc_wq_.flush(); }

void Registry::shutdown() {
  for (const auto& array : arrays()) {
    if (auto ref = get(array)) (*ref)->shutdown();
  }
  misc_wq_.flush();
}

}  // namespace mdfs::core
