#include "core/registry.h"

#include <algorithm>

#include "core/names.h"
#include "core/superblock.h"

#include <cstring>

namespace mdfs::core {

ArrayRef::ArrayRef(Registry& registry, std::shared_ptr<Array> array)
    : registry_(&registry), array_(std::move(array)) {}

ArrayRef::ArrayRef(ArrayRef&& other) noexcept
    : registry_(other.registry_), array_(std::move(other.array_)) {}

ArrayRef::~ArrayRef() {
  if (array_) registry_->put(array_);
}

Registry::Registry(UniqueFd source) : shelf_(std::move(source)) {}

Registry::~Registry() { misc_wq_.flush(); }

void Registry::set_delete_listener(DeleteListener listener) { listener_ = std::move(listener); }

void Registry::set_notify_listener(NotifyListener listener) {
  std::lock_guard lock(notify_mutex_);
  notify_ = std::move(listener);
}

void Registry::sysfs_notify(uint64_t array_id, std::string_view path) {
  std::lock_guard lock(notify_mutex_);
  if (notify_) notify_(array_id, path);
}

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

namespace {

// The array name mdadm would give a member's array: the v1 name after the
// homehost ("0" is md0, "data" is md_data), 0.90's preferred minor.
std::string name_for(const format::SuperInfo& sb) {
  if (sb.major == 0) return "md" + std::to_string(std::max(sb.md_minor, 0));
  std::string name = sb.name.substr(sb.name.find(':') + 1);
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return "md" + std::to_string(std::stoul(name.substr(0, 6)));
  return "md_" + name;
}

}  // namespace

std::vector<std::string> Registry::assemble_all() {
  std::vector<std::string> log;
  struct Found {
    std::string file;
    format::SuperInfo sb;
  };
  // Every member file, examined as mdadm --examine would: 1.2, 1.1, 1.0, 0.90.
  std::map<std::array<uint8_t, 16>, std::vector<Found>> groups;
  for (const auto& file : shelf_.files()) {
    auto claimed = shelf_.claim(file);
    if (!claimed) continue;
    Member probe(shelf_, file, std::move(*claimed));
    std::vector<std::string> rejected;
    auto found = superblock::examine(probe, &rejected);
    for (const auto& why : rejected) log.push_back(file + ": " + why);
    if (found && !found->empty()) groups[found->front().uuid].push_back({file, found->front()});
  }
  for (auto& [uuid, found] : groups) {
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) { return a.sb.events > b.sb.events; });
    const auto& sb = found.front().sb;
    std::string name = name_for(sb);
    if (!parse_device_name(name) || find(name)) {
      for (int n = 127; n >= 0; --n)
        if (!find("md" + std::to_string(n))) {
          name = "md" + std::to_string(n);
          break;
        }
    }
    auto parsed = parse_device_name(name);
    if (!parsed) continue;
    std::shared_ptr<Array> array;
    {
      std::lock_guard lock(mutex_);
      array = std::make_shared<Array>(*this, parsed->name, parsed->minor, next_id_++, Hold::kNone);
      array->active_ = 1;
      arrays_.emplace(parsed->name, array);
    }
    ArrayRef ref(*this, array);
    std::string version = format::version_string(sb);
    (void)array->store_metadata_version(version);
    std::string members;
    for (const auto& f : found) {
      if (auto r = array->store_new_dev(f.file); !r) log.push_back(f.file + ": not added to " + name + ": " + std::strerror(r.error()));
      else members += " " + f.file;
    }
    if (auto r = array->store_array_state("active"); r) {
      log.push_back(name + ": started with" + members);
    } else {
      log.push_back(name + ": cannot start (" + std::string(std::strerror(r.error())) + "), left out:" + members);
      (void)array->store_array_state("clear");
    }
  }
  return log;
}

void Registry::shutdown() {
  for (const auto& array : arrays()) {
    if (auto ref = get(array)) (*ref)->shutdown();
  }
  misc_wq_.flush();
}

}  // namespace mdfs::core
