#include "mdfsadm/config.h"

#include <fnmatch.h>
#include <glob.h>
#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>

#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/options.h"
#include "mdfsadm/super_facts.h"

namespace mdfsadm {
namespace {

enum class Line { kDevice, kArray, kMailaddr, kMailfrom, kProgram, kCreate, kHomehost, kHomecluster, kAuto,
                  kPolicy, kPartPolicy, kSysfs, kMonitorDelay, kUnknown };

// match_keyword: at least three letters of a keyword, any case.
Line keyword(const std::string& word) {
  static const std::pair<const char*, Line> kWords[] = {
      {"devices", Line::kDevice},   {"array", Line::kArray},         {"mailaddr", Line::kMailaddr},
      {"mailfrom", Line::kMailfrom}, {"program", Line::kProgram},     {"create", Line::kCreate},
      {"homehost", Line::kHomehost}, {"homecluster", Line::kHomecluster}, {"auto", Line::kAuto},
      {"policy", Line::kPolicy},     {"part-policy", Line::kPartPolicy}, {"sysfs", Line::kSysfs},
      {"monitordelay", Line::kMonitorDelay},
  };
  if (word.size() < 3) return Line::kUnknown;
  for (const auto& [name, line] : kWords)
    if (strncasecmp(word.c_str(), name, word.size()) == 0) return line;
  return Line::kUnknown;
}

// One logical line's words: '#' starts a comment, a line that starts with
// white space continues the one before, quotes keep spaces in a word.
std::vector<std::vector<std::string>> read_lines(std::istream& in) {
  std::vector<std::vector<std::string>> lines;
  std::string raw;
  while (std::getline(in, raw)) {
    std::vector<std::string> words;
    std::string cur;
    bool have = false;
    char quote = 0;
    for (char ch : raw) {
      if (quote) {
        if (ch == quote) quote = 0;
        else cur += ch;
        continue;
      }
      if (ch == '#') break;
      if (ch == '"' || ch == '\'') {
        quote = ch;
        have = true;
        continue;
      }
      if (std::isspace(static_cast<unsigned char>(ch))) {
        if (have) words.push_back(cur);
        cur.clear();
        have = false;
        continue;
      }
      cur += ch;
      have = true;
    }
    if (have) words.push_back(cur);
    if (words.empty()) continue;
    const bool continues = !raw.empty() && std::isspace(static_cast<unsigned char>(raw[0]));
    if (continues && !lines.empty())
      lines.back().insert(lines.back().end(), words.begin(), words.end());
    else
      lines.push_back(std::move(words));
  }
  return lines;
}

bool is_number(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), ::isdigit);
}

void array_line(Config& config, const std::vector<std::string>& words) {
  ArrayIdent a;
  auto has = [](const std::string& w, const char* key) { return strncasecmp(w.c_str(), key, std::strlen(key)) == 0; };
  for (std::size_t i = 1; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w[0] == '/' || w.find('=') == std::string::npos) {
      // mdadm's names, and an array's file under a mount (MNT/dev/md0).
      const bool ok = strcasecmp(w.c_str(), "<ignore>") == 0 || w.starts_with("/dev/md/") ||
                      (w[0] != '/' && w[0] != '<') || (w.starts_with("/dev/md") && is_number(w.substr(7))) ||
                      (w.starts_with("/dev/md_d") && is_number(w.substr(9))) || mount_array_file(w);
      if (!ok) say(w + " is an invalid name for an md device - ignored.");
      else if (!a.devname.empty()) say("only give one device per ARRAY line: " + a.devname + " and " + w);
      else a.devname = w;
    } else if (has(w, "uuid=")) {
      if (a.uuid) say("only specify uuid once, " + w + " ignored.");
      else if (!(a.uuid = parse_uuid(w.substr(5)))) say("bad uuid: " + w);
    } else if (has(w, "super-minor=")) {
      const std::string n = w.substr(12);
      if (a.super_minor) say("only specify super-minor once, " + w + " ignored.");
      else if (!is_number(n) || n.size() > 9) say("invalid super-minor number: " + w);
      else a.super_minor = std::stoi(n);
    } else if (has(w, "name=")) {
      if (!a.name.empty()) say("only specify name once, " + w + " ignored.");
      else if (w.size() - 5 > 32) say("name too long, ignoring " + w);
      else a.name = w.substr(5);
    } else if (has(w, "bitmap=")) {
      say("not supported by mdfs yet: " + w + " (external bitmap files); ignored");
    } else if (has(w, "devices=")) {
      if (!a.devices.empty()) say("only specify devices once (use a comma separated list). " + w + " ignored");
      else a.devices = w.substr(8);
    } else if (has(w, "spare-group=")) {
      a.spare_group = w.substr(12);
    } else if (has(w, "level=")) {
      a.level = parse_level(w.substr(6));
    } else if (has(w, "disks=") || has(w, "num-devices=")) {
      const std::string n = w.substr(w.find('=') + 1);
      if (is_number(n) && n.size() < 9) a.raid_disks = std::stoi(n);
    } else if (has(w, "spares=")) {
      const std::string n = w.substr(7);
      if (is_number(n) && n.size() < 9) a.spare_disks = std::stoi(n);
    } else if (has(w, "metadata=")) {
      a.metadata = w.substr(9);
    } else if (has(w, "auto=")) {
      // device node creation: nothing to do on mdfs
    } else if (has(w, "member=") || has(w, "container=")) {
      say("not supported by mdfs: " + w + " (containers of external metadata); ignored");
    } else {
      say("unrecognised word on ARRAY line: " + w);
    }
  }
  if (!a.has_identity())
    say("ARRAY line " + a.devname + " has no identity information.");
  else
    config.arrays.push_back(std::move(a));
}

// The files of SOURCE a pattern names: a glob of paths (kept when they lie
// in SOURCE), or of file names in SOURCE.
void add_matches(const std::string& pattern, const Mount& mount, std::set<std::string>& out) {
  if (pattern == "partitions" || pattern == "containers") {
    for (const auto& f : source_files(mount)) out.insert(f);
    return;
  }
  if (pattern.find('/') == std::string::npos) {
    for (const auto& f : source_files(mount))
      if (::fnmatch(pattern.c_str(), f.c_str(), 0) == 0) out.insert(f);
    return;
  }
  glob_t g{};
  if (::glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      char buf[PATH_MAX];
      if (!::realpath(g.gl_pathv[i], buf)) continue;
      const std::string path = buf;
      const auto slash = path.rfind('/');
      if (path.substr(0, slash) == mount.source) out.insert(path.substr(slash + 1));
    }
  }
  ::globfree(&g);
}

}  // namespace

bool mount_array_file(const std::string& path) {
  const auto slash = path.rfind('/');
  if (path.empty() || path[0] != '/' || slash == std::string::npos || slash < 4) return false;
  return path.compare(slash - 4, 5, "/dev/") == 0 && !path.starts_with("/dev/") && is_array_name(path.substr(slash + 1));
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool ArrayIdent::matches(const FoundSuper& sb, const std::string& homehost) const {
  if (uuid && *uuid != sb_uuid_as_text(sb)) return false;
  if (!name.empty()) {
    // name_matches: the whole name, or what follows a homehost that is ours.
    const std::string found = sb.name();
    if (found != name) {
      const auto colon = found.find(':');
      if (colon == std::string::npos) return false;
      const std::string host = found.substr(0, colon);
      const bool ours = host == "any" || homehost == "any" || host == homehost;
      if (!ours || found.substr(colon + 1) != name) return false;
    }
  }
  if (super_minor && (!sb.sb0 || static_cast<int>(sb.sb0->md_minor) != *super_minor)) return false;
  if (level && *level != sb.level()) return false;
  if (raid_disks) {
    const int n = sb.sb1 ? static_cast<int>(sb.sb1->raid_disks) : static_cast<int>(sb.sb0->raid_disks);
    if (n != 0 && n != *raid_disks) return false;
  }
  return true;
}

Config load_config(const std::string& file) {
  Config config;
  if (file.empty() || file == "none" || file == "partitions") return config;
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) fail("cannot open config file " + file + ": " + errno_text(errno));
  std::vector<std::string> files;
  if (S_ISDIR(st.st_mode)) {
    // mdadm reads the *.conf files of a folder, in order.
    glob_t g{};
    if (::glob((file + "/*.conf").c_str(), 0, nullptr, &g) == 0)
      for (std::size_t i = 0; i < g.gl_pathc; ++i) files.push_back(g.gl_pathv[i]);
    ::globfree(&g);
  } else {
    files.push_back(file);
  }
  config.file = file;
  bool auto_seen = false;
  for (const auto& f : files) {
    std::ifstream in(f);
    if (!in) fail("cannot open config file " + f + ": " + errno_text(errno));
    for (const auto& words : read_lines(in)) {
      switch (keyword(words[0])) {
        case Line::kDevice:
          config.device_words.insert(config.device_words.end(), words.begin() + 1, words.end());
          break;
        case Line::kArray: array_line(config, words); break;
        case Line::kMailaddr:
          if (words.size() > 1 && config.mailaddr.empty()) config.mailaddr = words[1];
          break;
        case Line::kMailfrom:
          for (std::size_t i = 1; i < words.size(); ++i)
            config.mailfrom += (config.mailfrom.empty() ? "" : " ") + words[i];
          break;
        case Line::kProgram:
          if (words.size() > 1 && config.program.empty()) config.program = words[1];
          break;
        case Line::kHomehost:
          for (std::size_t i = 1; i < words.size(); ++i) {
            if (strcasecmp(words[i].c_str(), "<ignore>") == 0) config.require_homehost = false;
            else if (!config.homehost) config.homehost = strcasecmp(words[i].c_str(), "<none>") == 0 ? "" : words[i];
          }
          break;
        case Line::kAuto:
          if (!auto_seen) config.auto_words.assign(words.begin() + 1, words.end());
          auto_seen = true;
          break;
        case Line::kMonitorDelay:
          if (words.size() > 1 && config.monitor_delay == 0) config.monitor_delay = std::atoi(words[1].c_str());
          break;
        case Line::kCreate:
        case Line::kHomecluster:
        case Line::kPolicy:
        case Line::kPartPolicy:
        case Line::kSysfs:
          break;  // device ownership, clusters, udev policy, sysfs tuning at assembly: nothing for mdfs
        case Line::kUnknown: say("Unknown keyword " + words[0]); break;
      }
    }
  }
  return config;
}

std::vector<std::string> match_devices(const std::vector<std::string>& patterns, const Mount& mount) {
  std::set<std::string> out;
  for (const auto& p : patterns) add_matches(p, mount, out);
  return {out.begin(), out.end()};
}

std::vector<std::string> config_devices(const Config& config, const Mount& mount) {
  if (config.device_words.empty()) return source_files(mount);
  return match_devices(config.device_words, mount);
}

std::vector<std::string> config_device_paths(const Config& config) {
  std::vector<std::string> out;
  for (const auto& w : config.device_words) {
    if (w.find('/') == std::string::npos) continue;
    glob_t g{};
    if (::glob(w.c_str(), 0, nullptr, &g) == 0)
      for (std::size_t i = 0; i < g.gl_pathc; ++i) out.push_back(g.gl_pathv[i]);
    ::globfree(&g);
  }
  return out;
}

bool auto_allows(const Config& config, const FoundSuper& sb, bool local) {
  // autoline/conf_test_metadata: the first word that speaks for this
  // metadata decides; "homehost" before a refusal lets local arrays in.
  const std::string version = sb.sb0 ? "0.90" : "1.x";
  bool homehost = false;
  auto refused = [&] { return homehost && local; };
  for (const auto& w : config.auto_words) {
    if (strcasecmp(w.c_str(), "yes") == 0) return true;
    if (strcasecmp(w.c_str(), "no") == 0) return refused();
    if (strcasecmp(w.c_str(), "homehost") == 0) {
      homehost = true;
      continue;
    }
    if (w.size() < 2 || (w[0] != '+' && w[0] != '-')) continue;
    const std::string what = w.substr(1);
    const bool ours = strcasecmp(what.c_str(), "all") == 0 || what == version || (version == "1.x" && what.starts_with("1")) ||
                      (version == "0.90" && (what == "0" || what == "0.9"));
    if (!ours) continue;
    return w[0] == '+' ? true : refused();
  }
  return true;
}

std::string array_name_for(const std::string& devname) {
  if (mount_array_file(devname)) return devname.substr(devname.rfind('/') + 1);
  std::string n = devname;
  if (n.starts_with("/dev/md/")) n = n.substr(8);
  else if (n.starts_with("/dev/")) n = n.substr(5);
  if (n.empty()) return n;
  if (n.starts_with("md") && is_number(n.substr(2))) return is_array_name(n) ? n : "md" + std::to_string(std::stoul(n.substr(2)));
  if (n.starts_with("md_")) return n;
  if (is_number(n) && n.size() <= 6) return "md" + std::to_string(std::stoul(n));
  return "md_" + n;
}

}  // namespace mdfsadm
