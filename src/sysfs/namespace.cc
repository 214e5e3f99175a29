#include "sysfs/namespace.h"

#include <sys/stat.h>

namespace mdfs::sysfs {

namespace {

Entry dir_entry(DirKind kind, std::shared_ptr<core::Array> array = nullptr) {
  Entry e;
  e.type = NodeType::kDir;
  e.dir = kind;
  e.array = std::move(array);
  return e;
}

Entry file_entry(const Attribute& attr, std::shared_ptr<core::Array> array = nullptr) {
  Entry e;
  e.type = NodeType::kFile;
  e.attr = &attr;
  e.array = std::move(array);
  return e;
}

struct StaticChild {
  std::string_view name;
  DirKind kind;
};

// The fixed part of the tree.
std::vector<StaticChild> static_children(DirKind dir) {
  switch (dir) {
    case DirKind::kRoot: return {{"dev", DirKind::kDev}, {"proc", DirKind::kProc}, {"sys", DirKind::kSys}};
    case DirKind::kSys: return {{"block", DirKind::kSysBlock}, {"module", DirKind::kSysModule}};
    case DirKind::kSysModule: return {{"md_mod", DirKind::kMdMod}};
    case DirKind::kMdMod: return {{"parameters", DirKind::kParameters}};
    case DirKind::kBlockArray: return {{"md", DirKind::kMd}};
    case DirKind::kMd: return {{"bitmap", DirKind::kBitmap}};
    default: return {};
  }
}

std::span<const Attribute> attributes_of(DirKind dir) {
  switch (dir) {
    case DirKind::kParameters: return module_parameters();
    case DirKind::kBlockArray: return block_attributes();
    case DirKind::kMd: return md_attributes();
    case DirKind::kBitmap: return bitmap_attributes();
    case DirKind::kMember: return member_attributes();
    default: return {};
  }
}

}  // namespace

mode_t Entry::mode() const {
  switch (type) {
    case NodeType::kDir: return S_IFDIR | 0755;
    case NodeType::kFile: return S_IFREG | attr->mode;
    case NodeType::kSymlink: return S_IFLNK | 0777;
    case NodeType::kDevice: return S_IFREG | 0660;
  }
  return 0;
}

bool Entry::same_node(const Entry& o) const {
  return type == o.type && dir == o.dir && attr == o.attr && array == o.array && member == o.member &&
         link == o.link;
}

Entry Namespace::root() const { return dir_entry(DirKind::kRoot); }

Target Namespace::target_of(const Entry& e, StoreMemory* memory) const {
  return Target{&registry_, e.array.get(), e.member.get(), memory};
}

bool Namespace::alive(const Entry& e) const {
  if (e.array && e.array->dying()) return false;
  if (e.member && e.array->member(e.member->name()) != e.member) return false;
  if (e.attr && e.attr->visible && !e.attr->visible(target_of(e))) return false;
  return true;
}

Result<Entry> Namespace::lookup(const Entry& dir, std::string_view name) const {
  if (dir.type != NodeType::kDir) return err(ENOTDIR);
  if (!alive(dir)) return err(ENOENT);
  for (const auto& child : static_children(dir.dir))
    if (child.name == name) return dir_entry(child.kind, dir.array);
  if (dir.dir == DirKind::kDev || dir.dir == DirKind::kSysBlock) {
    auto array = registry_.find(name);
    if (!array) return err(ENOENT);
    if (dir.dir == DirKind::kSysBlock) return dir_entry(DirKind::kBlockArray, array);
    Entry e;
    e.type = NodeType::kDevice;
    e.array = std::move(array);
    return e;
  }
  if (dir.dir == DirKind::kProc && name == "mdstat") return file_entry(mdstat_attribute());
  if (dir.dir == DirKind::kMd && name.starts_with("dev-")) {
    auto member = dir.array->member(name.substr(4));
    if (!member) return err(ENOENT);
    Entry e = dir_entry(DirKind::kMember, dir.array);
    e.member = std::move(member);
    return e;
  }
  if (dir.dir == DirKind::kMd && name.starts_with("rd")) {
    for (auto& [role, target] : dir.array->role_links()) {
      if (name != "rd" + std::to_string(role)) continue;
      Entry e;
      e.type = NodeType::kSymlink;
      e.array = dir.array;
      e.link = target;
      return e;
    }
  }
  for (const auto& attr : attributes_of(dir.dir)) {
    if (attr.name != name) continue;
    Entry e = file_entry(attr, dir.array);
    e.member = dir.member;
    if (!alive(e)) return err(ENOENT);
    return e;
  }
  return err(ENOENT);
}

std::vector<std::pair<std::string, Entry>> Namespace::list(const Entry& dir) const {
  std::vector<std::pair<std::string, Entry>> out;
  if (dir.type != NodeType::kDir || !alive(dir)) return out;
  for (const auto& child : static_children(dir.dir))
    out.emplace_back(std::string(child.name), dir_entry(child.kind, dir.array));
  if (dir.dir == DirKind::kDev || dir.dir == DirKind::kSysBlock) {
    for (const auto& array : registry_.arrays()) {
      Entry e = dir.dir == DirKind::kSysBlock ? dir_entry(DirKind::kBlockArray, array) : Entry{};
      if (dir.dir == DirKind::kDev) {
        e.type = NodeType::kDevice;
        e.array = array;
      }
      out.emplace_back(array->name(), std::move(e));
    }
  }
  if (dir.dir == DirKind::kProc) out.emplace_back("mdstat", file_entry(mdstat_attribute()));
  if (dir.dir == DirKind::kMd) {
    for (auto& member : dir.array->members()) {
      Entry e = dir_entry(DirKind::kMember, dir.array);
      e.member = member;
      out.emplace_back("dev-" + member->name(), std::move(e));
    }
    for (auto& [role, target] : dir.array->role_links()) {
      Entry e;
      e.type = NodeType::kSymlink;
      e.array = dir.array;
      e.link = target;
      out.emplace_back("rd" + std::to_string(role), std::move(e));
    }
  }
  for (const auto& attr : attributes_of(dir.dir)) {
    Entry e = file_entry(attr, dir.array);
    e.member = dir.member;
    if (alive(e)) out.emplace_back(std::string(attr.name), std::move(e));
  }
  return out;
}

Result<std::string> Namespace::read(const Entry& file) const {
  if (file.type != NodeType::kFile) return err(EISDIR);
  if (!file.attr->show) return err(EACCES);
  if (!file.array) return file.attr->show(target_of(file));
  auto ref = registry_.get(file.array);
  if (!ref || !alive(file)) return err(ENOENT);
  return file.attr->show(target_of(file));
}

Result<void> Namespace::write(const Entry& file, std::string_view text, StoreMemory* memory) const {
  if (file.type != NodeType::kFile) return err(EISDIR);
  if (!file.attr->store) return err(EACCES);
  if (!file.array) return file.attr->store(target_of(file, memory), text);
  auto ref = registry_.get(file.array);
  if (!ref || !alive(file)) return err(ENOENT);
  return file.attr->store(target_of(file, memory), text);
}

std::optional<Namespace::PollKey> Namespace::poll_key(const Entry& file) const {
  if (file.type != NodeType::kFile) return std::nullopt;
  if (is_mdstat(file)) return PollKey{0, "mdstat"};
  auto in = [&](std::span<const Attribute> table) {
    return file.attr >= table.data() && file.attr < table.data() + table.size();
  };
  const std::string name(file.attr->name);
  const uint64_t id = file.array ? file.array->id() : 0;
  if (file.member) return PollKey{id, "dev-" + file.member->name() + "/" + name};
  if (in(bitmap_attributes())) return PollKey{id, "bitmap/" + name};
  if (in(md_attributes())) return PollKey{id, name};
  if (in(block_attributes())) return PollKey{id, "../" + name};
  return PollKey{0, "parameters/" + name};
}

bool Namespace::is_mdstat(const Entry& file) { return file.attr == &mdstat_attribute(); }

}  // namespace mdfs::sysfs
