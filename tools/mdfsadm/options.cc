#include "mdfsadm/options.h"

#include "mdfsadm/mdadm_text.h"
#include "mdfsadm/update.h"

#include <getopt.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace mdfsadm {
namespace {

constexpr int kNo = no_argument;
constexpr int kArg = required_argument;
constexpr int kOptional = optional_argument;
using S = Support;

// Missing md features, named once for the answers.
constexpr const char* kReshapeIssue = "mdfs resumes and freezes reshapes itself (sync_action)";

const OptionInfo kOptions[] = {
    {"manage", kNo, kOptManage, S::kYes, "manage mode: change an array's members", nullptr},
    {"misc", kNo, kOptMisc, S::kYes, "misc mode: report on or change arrays", nullptr},
    {"assemble", kNo, 'A', S::kYes, "assemble an array from its members' superblocks", nullptr},
    {"build", kNo, 'B', S::kYes, "build an array without superblocks", nullptr},
    {"create", kNo, 'C', S::kYes, "create a new array", nullptr},
    {"detail", kNo, 'D', S::kYes, "print the details of arrays", nullptr},
    {"examine", kNo, 'E', S::kYes, "print the md superblock of member files", nullptr},
    {"follow", kNo, 'F', S::kYes, "monitor arrays (as --monitor)", nullptr},
    {"grow", kNo, 'G', S::kYes, "change the shape, size or bitmap of a running array", nullptr},
    {"incremental", kNo, 'I', S::kYes, "add a member to the array it belongs to; start it when complete", nullptr},
    {"zero-superblock", kNo, kOptZero, S::kYes, "erase the md superblock of member files", nullptr},
    {"query", kNo, 'Q', S::kYes, "say how a file relates to md", nullptr},
    {"examine-bitmap", kNo, 'X', S::kYes, "print a member's write-intent bitmap", nullptr},
    {"auto-detect", kNo, kOptAutoDetect, S::kNever, "have the kernel start autodetected arrays",
     "the kernel's autodetection of 0.90 partitions (mdfs has no partitions)"},
    {"detail-platform", kNo, kOptDetailPlatform, S::kNever, "describe the RAID platform",
     "platform (imsm/ddf firmware RAID) details"},
    {"kill-subarray", kArg, kOptKillSubarray, S::kNever, "delete a subarray of a container",
     "containers (imsm/ddf external metadata)"},
    {"update-subarray", kArg, kOptUpdateSubarray, S::kNever, "update a subarray of a container",
     "containers (imsm/ddf external metadata)"},
    {"udev-rules", kOptional, kOptUdevRules, S::kNever, "print udev rules", "udev rules (mdfs sends no uevents)"},
    {"offroot", kNo, kOptOffroot, S::kIgnored, "(ignored, as by mdadm)", "an old option mdadm ignores"},
    {"examine-badblocks", kNo, kOptExamineBB, S::kYes, "print a member's bad-block list", nullptr},
    {"dump", kArg, kOptDump, S::kYes, "copy members' metadata into sparse files in this directory", nullptr},
    {"restore", kArg, kOptRestore, S::kYes, "copy members' metadata back from a --dump directory (or file)", nullptr},
    {"monitor", kNo, 'F', S::kYes, "monitor arrays and report events", nullptr},
    {"help", kNo, 'h', S::kYes, "this help, or the help of the mode given before it", nullptr},
    {"help-options", kNo, kOptHelpOptions, S::kYes, "every option, one a line", nullptr},
    {"version", kNo, 'V', S::kYes, "print the version", nullptr},
    {"verbose", kNo, 'v', S::kYes, "say more (twice: more still)", nullptr},
    {"quiet", kNo, 'q', S::kYes, "say only errors", nullptr},
    {"chunk", kArg, kOptChunk, S::kYes, "chunk size in KiB (or with K, M, G)", nullptr},
    {"rounding", kArg, kOptChunk, S::kYes, "linear's rounding (as --chunk)", nullptr},
    {"level", kArg, 'l', S::kYes, "RAID level: linear, 0, 1, 4, 5, 6, 10 and mdadm's other names", nullptr},
    {"parity", kArg, kOptLayout, S::kYes, "raid5/6 layout (as --layout)", nullptr},
    {"layout", kArg, kOptLayout, S::kYes, "layout: left-symmetric..., n2, f2, o2, or a number; grow: also preserve, normalise", nullptr},
    {"raid-disks", kArg, 'n', S::kYes, "number of active members (as --raid-devices)", nullptr},
    {"raid-devices", kArg, 'n', S::kYes, "number of active members", nullptr},
    {"spare-disks", kArg, 'x', S::kYes, "number of spares (as --spare-devices)", nullptr},
    {"spare-devices", kArg, 'x', S::kYes, "number of spares", nullptr},
    {"size", kArg, 'z', S::kYes, "KiB of each member to use (create, build, grow; or max)", nullptr},
    {"auto", kArg, kOptAuto, S::kIgnored, "device node creation (md, yes, no)", "mdfs makes its own array files"},
    {"assume-clean", kNo, kOptAssumeClean, S::kYes, "do not resync the new array", nullptr},
    {"write-zeroes", kNo, kOptWriteZeroes, S::kYes, "zero each member's data area, then start without a resync",
     nullptr},
    {"metadata", kArg, 'e', S::kYes, "superblock format: 1.2 (default), 1.1, 1.0, 0.90", nullptr},
    {"bitmap", kArg, kOptBitmap, S::kYes, "write-intent bitmap: internal or none (create, grow)", nullptr},
    {"bitmap-chunk", kArg, kOptBitmapChunk, S::kYes, "bitmap chunk size (KiB, or with K, M, G)", nullptr},
    {"write-behind", kOptional, kOptWriteBehind, S::kYes, "raid1 with a bitmap: up to N (256) writes behind on write-mostly members", nullptr},
    {"write-mostly", kNo, kOptWriteMostly, S::kYes, "the members that follow are write-mostly", nullptr},
    {"failfast", kNo, kOptFailFast, S::kYes, "the members that follow fail fast", nullptr},
    {"nofailfast", kNo, kOptNoFailFast, S::kYes, "the members that follow do not fail fast", nullptr},
    {"re-add", kNo, kOptReAdd, S::kYes, "re-add the members that follow (only their changes are rebuilt)", nullptr},
    {"homehost", kArg, kOptHomehost, S::kYes, "host name for 'local' arrays (<none>, <ignore>, <system>)", nullptr},
    {"symlinks", kArg, kOptSymlinks, S::kIgnored, "/dev/md/ symlinks (yes, no)", "mdfs makes no /dev symlinks"},
    {"data-offset", kArg, kOptDataOffset, S::kYes, "where data starts on each member (KiB, or with a suffix)", nullptr},
    {"nodes", kArg, kOptNodes, S::kNever, "cluster nodes", "clustered md (md-cluster)"},
    {"home-cluster", kArg, kOptHomeCluster, S::kNever, "cluster name", "clustered md (md-cluster)"},
    {"write-journal", kArg, kOptWriteJournal, S::kNever, "raid4/5/6 write journal device",
     "the raid4/5/6 write journal"},
    {"consistency-policy", kArg, 'k', S::kYes, "resync (the only policy mdfs has)", nullptr},
    {"uuid", kArg, 'u', S::kYes, "the array with this uuid", nullptr},
    {"super-minor", kArg, kOptSuperMinor, S::kYes, "the 0.90 array with this preferred minor", nullptr},
    {"name", kArg, 'N', S::kYes, "the array's name (create), or the array with this name (assemble)", nullptr},
    {"config", kArg, kOptConfig, S::kYes, "mdadm.conf file (ARRAY, DEVICE, AUTO, HOMEHOST, MAILADDR...)", nullptr},
    {"scan", kNo, 's', S::kYes, "every array (of the mounts, or of --config)", nullptr},
    {"force", kNo, kOptForce, S::kYes, "allow one member (create, build); start a dirty degraded array (assemble); grow without spares", nullptr},
    {"update", kArg, 'U', S::kYes, "update the superblocks (assemble; manage after --re-add) (?: the list)", nullptr},
    {"freeze-reshape", kNo, kOptFreezeReshape, S::kLater, "keep a reshape frozen", kReshapeIssue},
    {"add", kNo, kOptAdd, S::kYes, "add the members that follow", nullptr},
    {"add-spare", kNo, kOptAddSpare, S::kYes, "add the members that follow as spares, never re-add", nullptr},
    {"add-journal", kNo, kOptAddJournal, S::kNever, "add a journal device", "the raid4/5/6 write journal"},
    {"remove", kNo, kOptRemove, S::kYes, "remove the members that follow ('failed': every faulty one)", nullptr},
    {"fail", kNo, kOptFail, S::kYes, "mark the members that follow faulty", nullptr},
    {"set-faulty", kNo, kOptFail, S::kYes, "as --fail", nullptr},
    {"replace", kNo, kOptReplace, S::kYes, "rebuild the members that follow onto a spare, then fail them", nullptr},
    {"with", kNo, kOptWith, S::kYes, "the spares (already added) to rebuild the --replace members onto", nullptr},
    {"run", kNo, 'R', S::kYes, "start an array (also with --create, --assemble, --build, --incremental)", nullptr},
    {"stop", kNo, 'S', S::kYes, "stop arrays", nullptr},
    {"readonly", kNo, 'o', S::kYes, "make an array read-only (with --create/--assemble: start it so)", nullptr},
    {"readwrite", kNo, 'w', S::kYes, "make an array writable", nullptr},
    {"no-degraded", kNo, kOptNoDegraded, S::kYes, "--assemble --scan: do not start degraded arrays", nullptr},
    {"wait", kNo, kOptWait, S::kYes, "wait for resync, recovery or reshape to finish", nullptr},
    {"wait-clean", kNo, kOptWaitClean, S::kYes, "wait until the array is clean", nullptr},
    {"action", kArg, kOptAction, S::kYes, "start or stop a sync action: check, repair, idle, frozen", nullptr},
    {"cluster-confirm", kNo, kOptClusterConfirm, S::kNever, "confirm a cluster member", "clustered md (md-cluster)"},
    {"brief", kNo, kOptBrief, S::kYes, "one ARRAY line (--detail, --examine)", nullptr},
    {"no-devices", kNo, kOptNoDevices, S::kYes, "--detail without the member list", nullptr},
    {"export", kNo, 'Y', S::kYes, "KEY=value lines (--detail, --examine, --incremental)", nullptr},
    {"sparc2.2", kNo, kOptSparc22, S::kNever, "fix a SPARC 2.2 0.90 superblock", "the SPARC 2.2 kernel's superblock quirk"},
    {"test", kNo, 't', S::kYes, "exit status tells health (--detail); a test event (--monitor)", nullptr},
    {"prefer", kArg, kOptPrefer, S::kIgnored, "preferred device name prefix", "members are named by their files"},
    {"mail", kArg, kOptMail, S::kYes, "--monitor: mail events to this address (through sendmail)", nullptr},
    {"program", kArg, kOptProgram, S::kYes, "--monitor: run this program on each event", nullptr},
    {"alert", kArg, kOptProgram, S::kYes, "as --program", nullptr},
    {"increment", kArg, kOptIncrement, S::kYes, "--monitor: RebuildNN every NN percent (default 20)", nullptr},
    {"delay", kArg, 'd', S::kYes, "--monitor: seconds between checks when nothing wakes it (default 60)", nullptr},
    {"daemonise", kNo, kOptFork, S::kYes, "--monitor: run in the background", nullptr},
    {"daemonize", kNo, kOptFork, S::kYes, "as --daemonise", nullptr},
    {"oneshot", kNo, '1', S::kYes, "--monitor: check once, then exit", nullptr},
    {"pid-file", kArg, 'i', S::kYes, "--monitor --daemonise: write the daemon's pid here", nullptr},
    {"syslog", kNo, 'y', S::kYes, "--monitor: log events to syslog", nullptr},
    {"no-sharing", kNo, kOptNoSharing, S::kYes, "--monitor: no spare sharing between arrays", nullptr},
    {"backup-file", kArg, kOptBackupFile, S::kYes, "--grow: accepted; mdfs moves the data offset instead", nullptr},
    {"invalid-backup", kNo, kOptInvalidBackup, S::kLater, "ignore a bad reshape backup", kReshapeIssue},
    {"array-size", kArg, 'Z', S::kYes, "--grow: the array's size (KiB or K/M/G, or max)", nullptr},
    {"continue", kNo, kOptContinue, S::kLater, "continue a reshape", kReshapeIssue},
    {"rebuild-map", kNo, kOptRebuildMap, S::kYes, "--incremental: rebuild the array map", nullptr},
    {"path", kArg, kOptPath, S::kNever, "--incremental --fail: the udev id path", "udev device paths"},
    {"mount", kArg, kOptMount, S::kYes, "mdfs: the mount, when not found from the array or /proc/mounts", nullptr},
    {"source", kArg, kOptSource, S::kYes, "mdfs: the mount's SOURCE, when /proc/mounts records a relative path",
     nullptr},
};

// mdadm's short option strings: the plain one, the ones used once the mode
// makes -b mean --bitmap and -a take an argument (--auto), and --monitor's,
// where -r takes one (--increment). mdadm 4.2 gave -r an argument in the
// plain string too, so that "mdadm -ro DEV" read "o" as -r's argument and
// did nothing; mdadm fixed that after 4.2 (its own tests write -ro), and
// mdfsadm reads -ro as -r -o.
constexpr char kShort[] = "-ABCDEFGIQhVXYWZ:vqbc:i:l:p:m:n:x:u:c:d:z:U:N:sarfRSow1tye:k:";
constexpr char kShortMonitor[] = "-ABCDEFGIQhVXYWZ:vqbc:i:l:p:m:r:n:x:u:c:d:z:U:N:safRSow1tye:k:";
constexpr char kShortBitmap[] = "-ABCDEFGIQhVXYWZ:vqb:c:i:l:p:m:n:x:u:c:d:z:U:N:sarfRSow1tye:k:";
constexpr char kShortBitmapAuto[] = "-ABCDEFGIQhVXYWZ:vqb:c:i:l:p:m:n:x:u:c:d:z:U:N:sa:rfRSow1tye:k:";

const OptionInfo* info_of(int code, int index) {
  if (index >= 0) return &kOptions[index];
  for (const auto& o : kOptions)
    if (o.code == code) return &o;
  return nullptr;
}

std::string spelled(int opt, int index) {
  if (index >= 0) return std::string("--") + kOptions[index].name;
  return std::string("-") + static_cast<char>(opt);
}

// The answer for an option whose feature mdfs lacks.
[[noreturn]] void unsupported(const OptionInfo& o, const std::string& as) {
  if (o.support == Support::kLater) throw Failure(1, "not supported by mdfs yet: " + as + " (" + o.why + ")");
  throw Failure(2, "not supported by mdfs: " + as + " (" + o.why + ")");
}

bool parse_int(const std::string& text, int* out) {
  if (text.empty() || text.size() > 9) return false;
  std::size_t i = text[0] == '-' ? 1 : 0;
  if (i == text.size() || !std::all_of(text.begin() + static_cast<long>(i), text.end(), ::isdigit)) return false;
  *out = std::stoi(text);
  return true;
}

}  // namespace

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kNone: return "none";
    case Mode::kAssemble: return "assemble";
    case Mode::kBuild: return "build";
    case Mode::kCreate: return "create";
    case Mode::kManage: return "manage";
    case Mode::kMisc: return "misc";
    case Mode::kMonitor: return "monitor";
    case Mode::kGrow: return "grow";
    case Mode::kIncremental: return "incremental";
    case Mode::kAutoDetect: return "auto-detect";
  }
  return "";
}

std::span<const OptionInfo> option_table() { return kOptions; }

std::optional<std::array<uint8_t, 16>> parse_uuid(const std::string& text) {
  std::array<uint8_t, 16> out{};
  int digits = 0;
  for (char c : text) {
    if (c == ':' || c == '.' || c == ' ' || c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)) || digits == 32) return std::nullopt;
    const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    out[static_cast<std::size_t>(digits / 2)] = static_cast<uint8_t>(out[static_cast<std::size_t>(digits / 2)] << 4 | v);
    ++digits;
  }
  if (digits != 32) return std::nullopt;
  return out;
}

Command parse_command(int argc, char** argv) {
  Command c;
  std::vector<option> longopts;
  for (const auto& o : kOptions) longopts.push_back({o.name, o.has_arg, nullptr, o.code});
  longopts.push_back({nullptr, 0, nullptr, 0});
  const char* shortopt = kShort;
  bool write_mostly = false;
  int failfast = 0;
  int spares = 0;
  auto add_device = [&](const std::string& name, int disposition) {
    c.devices.push_back({name, disposition, write_mostly, failfast});
  };
  ::opterr = 0;
  ::optind = 0;  // a full reset, as the table is new
  for (;;) {
    int index = -1;
    const int opt = ::getopt_long(argc, argv, shortopt, longopts.data(), &index);
    if (opt == -1) break;
    const std::string arg = ::optarg ? ::optarg : "";
    if (opt == '?' || opt == ':') {
      const std::string bad = ::optopt > 0 && ::optopt < 256
                                  ? std::string("-") + static_cast<char>(::optopt)
                                  : std::string(argv[::optind - 1]);
      if (opt == ':' || (::optopt > 0 && ::optopt != '?' && std::strchr(shortopt, ::optopt)))
        usage("option " + bad + " requires an argument (see mdfsadm --help)");
      usage("unrecognized option '" + bad + "' (see mdfsadm --help)");
    }
    const OptionInfo* info = opt == 1 ? nullptr : info_of(opt, index);
    // Mode-independent options first.
    switch (opt) {
      case kOptHelpOptions: c.print_help = 2; continue;
      case 'h': c.print_help = 1; continue;
      case 'V': c.print_help = 3; continue;
      case 'v': ++c.verbose; continue;
      case 'q': --c.verbose; continue;
      case 'b':
        if (c.mode == Mode::kAssemble || c.mode == Mode::kBuild || c.mode == Mode::kCreate ||
            c.mode == Mode::kGrow || c.mode == Mode::kIncremental || c.mode == Mode::kManage)
          break;  // -b means --bitmap here
        [[fallthrough]];
      case kOptBrief: c.brief = true; continue;
      case kOptNoDevices: c.no_devices = true; continue;
      case 'Y': c.export_vars = true; continue;
      case kOptHomehost:
        if (strcasecmp(arg.c_str(), "<ignore>") == 0) c.require_homehost = false;
        else c.homehost = arg;
        continue;
      case kOptOffroot: continue;
      case kOptPrefer: continue;
      case kOptMount: c.mount.mount = arg; continue;
      case kOptSource: c.mount.source = arg; continue;
      default: break;
    }
    // Then the mode: some options set it, others only when none is set yet.
    Mode newmode = c.mode;
    switch (opt) {
      case kOptManage: newmode = Mode::kManage; shortopt = kShortBitmap; break;
      case 'a': case kOptAdd: case kOptAddSpare: case kOptAddJournal: case 'r': case kOptRemove:
      case kOptReplace: case kOptWith: case 'f': case kOptFail: case kOptReAdd: case kOptClusterConfirm:
        if (c.mode == Mode::kNone) { newmode = Mode::kManage; shortopt = kShortBitmap; }
        break;
      case 'A': newmode = Mode::kAssemble; shortopt = kShortBitmapAuto; break;
      case 'B': newmode = Mode::kBuild; shortopt = kShortBitmapAuto; break;
      case 'C': newmode = Mode::kCreate; shortopt = kShortBitmapAuto; break;
      case 'F': newmode = Mode::kMonitor; shortopt = kShortMonitor; break;
      case 'G': newmode = Mode::kGrow; shortopt = kShortBitmap; break;
      case 'I': newmode = Mode::kIncremental; shortopt = kShortBitmapAuto; break;
      case kOptAutoDetect: newmode = Mode::kAutoDetect; break;
      case kOptMisc: case 'D': case 'E': case 'X': case 'Q': case kOptExamineBB: case kOptDump:
      case kOptRestore: case kOptAction:
        newmode = Mode::kMisc;
        break;
      case 'R': case 'S': case 'o': case 'w': case 'W': case kOptWait: case kOptWaitClean:
      case kOptDetailPlatform: case kOptKillSubarray: case kOptUpdateSubarray: case kOptUdevRules: case kOptZero:
        if (c.mode == Mode::kNone) newmode = Mode::kMisc;
        break;
      case kOptNoSharing: newmode = Mode::kMonitor; shortopt = kShortMonitor; break;
      default: break;
    }
    if (c.mode != Mode::kNone && newmode != c.mode) {
      usage(spelled(opt, index) + " would set mdadm mode to \"" + mode_name(newmode) + "\", but it is already set to \"" +
            mode_name(c.mode) + "\".");
    } else if (c.mode == Mode::kNone && newmode != Mode::kNone) {
      c.mode = newmode;
      if (c.mode == Mode::kMisc && !c.devices.empty())
        usage("No action given for " + c.devices.front().name +
              " in --misc mode\n       Action options must come before device names");
    } else if (c.mode == Mode::kNone) {
      if (opt == 1) {
        if (c.devices.empty()) {
          add_device(arg, 0);
          continue;
        }
        usage("An option must be given to set the mode before a second device\n       (" + arg + ") is listed");
      }
      usage(spelled(opt, index) + " does not set the mode, and so cannot be the first option.");
    }
    if (info && info->support == Support::kNever) unsupported(*info, spelled(opt, index));
    switch (opt) {
      case kOptManage: case kOptMisc: case 'A': case 'B': case 'C': case 'F': case 'I': case kOptAutoDetect:
        continue;
      case 'G': continue;
      default: break;
    }
    if (opt == 1) {
      if (!c.devices.empty() && c.mode == Mode::kManage && !c.devmode)
        usage("Must give one of -a/-r/-f for subsequent devices at " + arg);
      add_device(arg, c.devmode);
      continue;
    }

    // What the option means in this mode.
    const Mode m = c.mode;
    auto in = [&](std::initializer_list<Mode> modes) { return std::find(modes.begin(), modes.end(), m) != modes.end(); };
    using enum Mode;
    if ((opt == 'c' || opt == kOptChunk) && in({kCreate, kBuild})) {
      if (c.create.chunk) usage("chunk/rounding may only be specified once. Second value is " + arg + ".");
      auto sectors = parse_size(arg);
      if (!sectors || *sectors < 8 || (*sectors & 1)) usage("invalid chunk/rounding value: " + arg);
      c.create.chunk = arg;
      continue;
    }
    if (opt == 'e' && in({kIncremental, kCreate, kAssemble, kMisc})) {
      if (c.create.metadata_set) usage("metadata information already given");
      const std::string lower = [&] { std::string s = arg; for (auto& ch : s) ch = static_cast<char>(std::tolower(ch)); return s; }();
      if (lower == "imsm" || lower == "ddf")
        throw Failure(2, "not supported by mdfs: --metadata=" + arg + " (external metadata: mdfs has native md superblocks only)");
      if (!native_metadata(arg)) usage("unrecognised metadata identifier: " + arg);
      c.create.metadata = arg;
      c.create.metadata_set = true;
      continue;
    }
    if ((opt == 'W' || opt == kOptWriteMostly) && in({kManage, kBuild, kCreate})) {
      write_mostly = true;
      continue;
    }
    if (opt == 'w' && m == kManage) {
      write_mostly = false;
      continue;
    }
    if (opt == kOptFailFast && in({kManage, kCreate})) {
      failfast = 1;
      continue;
    }
    if (opt == kOptNoFailFast && m == kManage) {
      failfast = -1;
      continue;
    }
    if (opt == 'z' && in({kCreate, kBuild})) {
      if (c.create.size) usage("size may only be specified once. Second value is " + arg + ".");
      if (arg != "max" && (!parse_size(arg) || *parse_size(arg) < 8)) usage("invalid size: " + arg);
      c.create.size = arg;
      continue;
    }
    if (opt == kOptDataOffset && m == kCreate) {
      if (c.create.data_offset) usage("data-offset may only be specified one. Second value is " + arg + ".");
      if (!parse_size(arg)) usage("invalid data-offset: " + arg);
      c.create.data_offset = arg;
      continue;
    }
    if (opt == 'l' && in({kCreate, kBuild})) {
      if (!c.create.level.empty()) usage("raid level may only be set once.  Second value is " + arg + ".");
      auto level = parse_level(arg);
      if (!level) usage("invalid raid level: " + arg);
      if (m == kBuild && *level != 0 && *level != kLevelLinear && *level != 1 && *level != kLevelMultipath &&
          *level != kLevelFaulty && *level != 10)
        usage("Raid level " + arg + " not permitted with --build.");
      if (spares > 0 && *level < 1 && *level >= -1)
        usage("raid level " + arg + " is incompatible with spare-devices setting.");
      c.create.level = arg;
      continue;
    }
    if ((opt == 'p' || opt == kOptLayout) && in({kCreate, kBuild})) {
      if (c.create.layout) usage("layout may only be sent once.  Second value was " + arg);
      if (c.create.level.empty()) usage("raid level must be given before layout.");
      // As mdadm: layouts of raid0, raid5, raid6 and raid10 only.
      const int level = *parse_level(c.create.level);
      const std::string lname = level_name(level).value_or(c.create.level);
      if (level != 0 && level != 5 && level != 6 && level != 10 && level != kLevelFaulty)
        usage("layout not meaningful for " + lname + " arrays.");
      if (!parse_layout(level, arg)) {
        if (level == 10) usage("layout for raid10 must be 'nNN', 'oNN' or 'fNN' where NN is a number, not " + arg);
        usage("layout " + arg + " not understood for " + lname + ".");
      }
      c.create.layout = arg;
      continue;
    }
    if (opt == kOptAssumeClean && in({kCreate, kBuild})) {
      c.create.assume_clean = true;
      continue;
    }
    if (opt == kOptWriteZeroes && m == kCreate) {
      c.create.write_zeroes = true;
      continue;
    }
    if (opt == 'n' && in({kCreate, kBuild})) {
      if (c.create.raid_devices) usage("raid-devices set twice: " + *c.create.raid_devices + " and " + arg);
      auto n = parse_num(arg);
      if (!n || *n <= 0) usage("invalid number of raid devices: " + arg);
      c.create.raid_devices = arg;
      continue;
    }
    if (opt == 'x' && m == kCreate) {
      if (c.create.spare_devices) usage("spare-devices set twice: " + *c.create.spare_devices + " and " + arg);
      if (auto level = parse_level(c.create.level); !c.create.level.empty() && level && *level <= 0 && *level >= -1)
        usage("spare-devices setting is incompatible with raid level " + std::to_string(*level));
      auto x = parse_num(arg);
      if (!x) usage("invalid number of spare-devices: " + arg);
      spares = *x;
      c.create.spare_devices = arg;
      continue;
    }
    if ((opt == 'a' || opt == kOptAuto) && in({kCreate, kBuild, kIncremental, kAssemble})) {
      // Device node creation: mdfs's array files need none. Partitionable
      // arrays (mdp) do not exist in mdfs.
      std::string lower = arg;
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(ch));
      if (lower.starts_with("mdp") || lower.starts_with("part") || lower == "p")
        throw Failure(2, "not supported by mdfs: --auto=" + arg + " (partitionable arrays)");
      continue;
    }
    if (opt == kOptSymlinks && in({kCreate, kBuild, kAssemble})) {
      if (strcasecmp(arg.c_str(), "yes") != 0 && strcasecmp(arg.c_str(), "no") != 0)
        usage("option --symlinks must be 'no' or 'yes'");
      continue;
    }
    if ((opt == 'f' || opt == kOptForce) && in({kBuild, kCreate, kMisc})) {
      c.force = c.create.force = true;
      continue;
    }
    if (opt == kOptForce && m == kManage) {
      c.force = true;  // mdadm: add a device that is too large; mdfs adds any that fits
      continue;
    }
    if ((opt == 'f' || opt == kOptForce) && m == kGrow) {
      c.force = true;  // mdadm: grow a member count without the spares to fill it
      continue;
    }
    if ((opt == 'f' || opt == kOptForce) && m == kAssemble) {
      // mdadm's start_partial_ok, and a dirty degraded raid4/5/6 marked
      // clean; bringing members that fell behind back in is not done.
      c.force = true;
      continue;
    }
    if (opt == 'u' && in({kCreate, kAssemble})) {
      if (c.uuid) usage("uuid cannot be set twice.  Second value " + arg + ".");
      c.uuid = parse_uuid(arg);
      if (!c.uuid) usage("Bad uuid: " + arg);
      continue;
    }
    if (opt == 'N' && in({kCreate, kAssemble, kMisc})) {
      if (!c.name.empty()) usage("name cannot be set twice.   Second value " + arg + ".");
      if (m == kMisc) usage("-N/--name only valid with --update-subarray in misc mode");
      if (arg.size() > 32) usage("name '" + arg + "' is too long, 32 chars max.");
      c.name = c.create.name = arg;
      continue;
    }
    if ((opt == 'm' || opt == kOptSuperMinor) && m == kAssemble) {
      if (c.super_minor) usage("super-minor cannot be set twice.  Second value: " + arg + ".");
      int n = 0;
      if (arg == "dev") c.super_minor = -2;
      else if (parse_int(arg, &n) && n >= 0) c.super_minor = n;
      else usage("Bad super-minor number: " + arg + ".");
      continue;
    }
    if (opt == 'o' && in({kAssemble, kManage, kCreate})) {
      c.readonly = c.create.readonly = true;
      continue;
    }
    if (opt == 'U' && m == kAssemble) {
      if (!c.update.empty())
        usage("Can only update one aspect of superblock, both " + c.update + " and " + arg + " given.");
      check_update_word(arg);
      c.update = arg;
      continue;
    }
    if (opt == 'U' && m == kMisc) usage("Only subarrays can be updated in misc mode");
    if (opt == 'U' && m == kManage) {
      // As mdadm: after --re-add only, and only the updates a member being
      // re-added can take.
      if (c.devmode != 'A') throw Failure(1, "--update in Manage mode only allowed with --re-add.");
      if (!c.update.empty())
        usage("Can only update one aspect of superblock, both " + c.update + " and " + arg + " given.");
      if (arg != "devicesize" && arg != "bbl" && arg != "force-no-bbl" && arg != "no-bbl")
        usage("only 'devicesize', 'bbl', 'no-bbl', and 'force-no-bbl' can be updated with --re-add");
      c.update = arg;
      continue;
    }
    if (opt == kOptNoDegraded && in({kAssemble, kIncremental})) {
      if (m == kIncremental) say("--no-degraded is deprecated in Incremental mode");
      c.runstop = -1;
      continue;
    }
    if ((opt == 'c' || opt == kOptConfig) && in({kAssemble, kIncremental, kMisc, kMonitor, kCreate})) {
      if (!c.config.empty()) usage("configfile cannot be set twice.  Second value is " + arg + ".");
      c.config = arg;
      continue;
    }
    if (opt == 's' && in({kAssemble, kMisc, kMonitor, kIncremental})) {
      c.scan = true;
      continue;
    }
    if ((opt == 'm' || opt == kOptMail) && m == kMonitor) {
      if (!c.mailaddr.empty()) say("only specify one mailaddress. " + arg + " ignored.");
      else c.mailaddr = arg;
      continue;
    }
    if ((opt == 'p' || opt == kOptProgram) && m == kMonitor) {
      if (!c.program.empty()) say("only specify one alter program. " + arg + " ignored.");
      else c.program = arg;
      continue;
    }
    if ((opt == 'r' || opt == kOptIncrement) && m == kMonitor) {
      if (!parse_int(arg, &c.increments) || c.increments > 99 || c.increments < 1)
        usage("please specify positive integer between 1 and 99 as rebuild increments.");
      continue;
    }
    if (opt == 'd' && in({kMonitor, kBuild, kCreate})) {
      if (c.delay) say("only specify delay once. " + arg + " ignored.");
      else if (!parse_int(arg, &c.delay) || c.delay < 1) usage("invalid delay: " + arg);
      continue;
    }
    if ((opt == 'f' || opt == kOptFork) && m == kMonitor) {
      c.daemonise = true;
      continue;
    }
    if (opt == 'i' && m == kMonitor) {
      if (!c.pidfile.empty()) say("only specify one pid file. " + arg + " ignored.");
      else c.pidfile = arg;
      continue;
    }
    if (opt == '1' && m == kMonitor) {
      c.oneshot = true;
      continue;
    }
    if (opt == 't' && in({kMonitor, kManage, kMisc})) {
      c.test = true;
      continue;
    }
    if (opt == 'y' && m == kMonitor) {
      c.syslog = true;
      continue;
    }
    if (opt == kOptNoSharing && m == kMonitor) continue;
    if ((opt == 'a' || opt == kOptAdd) && m == kManage) {
      c.devmode = 'a';
      continue;
    }
    if (opt == kOptAddSpare && m == kManage) {
      c.devmode = 'S';
      continue;
    }
    if ((opt == 'r' || opt == kOptRemove) && m == kManage) {
      c.devmode = 'r';
      continue;
    }
    if ((opt == 'f' || opt == kOptFail) && m == kManage) {
      c.devmode = 'f';
      continue;
    }
    if ((opt == 'f' || opt == kOptFail || opt == kOptRemove) && m == kIncremental) {
      c.devmode = 'f';
      continue;
    }
    if (opt == kOptReAdd && m == kManage) {
      c.devmode = 'A';  // mdadm's disposition for --re-add
      continue;
    }
    if (opt == kOptReplace && m == kManage) {
      c.devmode = 'R';
      continue;
    }
    if (opt == kOptWith && m == kManage) {
      if (c.devmode != 'R') usage("--with must follow --replace");
      c.devmode = 'W';
      continue;
    }
    if (opt == 'R' && in({kIncremental, kManage, kAssemble, kBuild, kCreate})) {
      if (c.runstop < 0) usage("Cannot both Stop and Run an array");
      c.runstop = 1;
      c.create.run = true;
      continue;
    }
    if (opt == 'S' && m == kManage) {
      if (c.runstop > 0) usage("Cannot both Run and Stop an array");
      c.runstop = -1;
      continue;
    }
    if (m == kMisc && (opt == 'Q' || opt == 'D' || opt == 'E' || opt == kOptZero || opt == 'R' || opt == 'S' ||
                       opt == 'X' || opt == kOptExamineBB || opt == 'o' || opt == 'w' || opt == 'W' ||
                       opt == kOptWait || opt == kOptWaitClean || opt == kOptDump || opt == kOptRestore ||
                       opt == kOptAction)) {
      if (info && info->support == Support::kLater) unsupported(*info, spelled(opt, index));
      const int action = opt == kOptWait ? 'W' : opt;
      if (opt == kOptDump || opt == kOptRestore) {
        if (!c.dump_dir.empty())
          usage("dump/restore directory specified twice: " + c.dump_dir + " and " + arg);
        c.dump_dir = arg;
      }
      if (opt == kOptAction) {
        if (!c.action.empty()) usage("Only one --action can be specified");
        if (arg != "idle" && arg != "frozen" && arg != "check" && arg != "repair")
          usage("action must be one of idle, frozen, check, repair");
        c.action = arg;
      }
      if (c.devmode && c.devmode != action && (c.devmode == 'E' || (action == 'E' && c.devmode != 'Q'))) {
        if (c.devmode == 'E') usage("--examine/-E cannot be given with " + spelled(opt, index));
        usage(std::string("--examine/-E cannot be given with ") +
              (std::isalpha(c.devmode) ? std::string("-") + static_cast<char>(c.devmode) : "previous option"));
      }
      c.devmode = action;
      continue;
    }
    if (info && info->support == Support::kLater) unsupported(*info, spelled(opt, index));
    if (m == kGrow) {
      // mdadm's Grow options; grow() checks them against the array.
      std::optional<std::string>* slot = nullptr;
      if (opt == 'n') slot = &c.create.raid_devices;
      if (opt == 'c' || opt == kOptChunk) slot = &c.create.chunk;
      if (opt == 'p' || opt == kOptLayout) slot = &c.create.layout;
      if (opt == 'z') slot = &c.create.size;
      if (opt == 'Z') slot = &c.array_size;
      if (opt == kOptBackupFile) slot = &c.backup_file;
      if (opt == 'l') slot = &c.grow_level;
      if (slot) {
        if (*slot) usage(spelled(opt, index) + " may only be given once. Second value is " + arg + ".");
        *slot = arg;
        continue;
      }
      if (opt == 'a' || opt == kOptAdd) {
        c.devmode = 'a';  // the members that follow are added (linear: appended)
        continue;
      }
    }
    if ((opt == 'b' || opt == kOptBitmap) && in({kCreate, kGrow})) {
      if (c.create.bitmap) usage("bitmap cannot be set twice. Second value: " + arg + ".");
      c.create.bitmap = arg;
      continue;
    }
    if (opt == kOptBitmapChunk && in({kCreate, kGrow})) {
      if (c.create.bitmap_chunk) usage("bitmap-chunk cannot be set twice. Second value: " + arg + ".");
      c.create.bitmap_chunk = arg;
      continue;
    }
    if (opt == kOptWriteBehind && in({kCreate, kGrow})) {
      // mdadm's DEFAULT_MAX_WRITE_BEHIND when no value is given (mdadm 4.2
      // itself refuses a bare --write-behind: its parse_num gets none).
      uint32_t n = 256;
      if (::optarg) {
        auto v = parse_num(arg);
        if (!v || *v < 0 || *v > 16383)
          usage("Invalid value for maximum outstanding write-behind writes: " + arg +
                ".\n\tMust be between 0 and 16383.");
        n = static_cast<uint32_t>(*v);
      }
      c.create.write_behind = n;
      continue;
    }
    if (opt == 'k' && in({kCreate})) {
      if (arg != "resync")
        throw Failure(arg == "bitmap" ? 1 : 2, std::string("not supported by mdfs") + (arg == "bitmap" ? " yet" : "") +
                                                   ": --consistency-policy=" + arg +
                                                   " (mdfs arrays keep consistency by resync)");
      continue;
    }
    if (opt == kOptRebuildMap || (opt == 'r' && m == kIncremental)) {
      c.rebuild_map = true;
      continue;
    }
    if (index >= 0) usage(":option --" + std::string(kOptions[index].name) + " not valid in " + mode_name(m) + " mode");
    usage(std::string("option -") + static_cast<char>(opt) + " not valid in " + mode_name(m) + " mode");
  }
  if (c.print_help) return c;
  if (c.mode == Mode::kNone && !c.devices.empty()) {
    c.mode = Mode::kMisc;
    c.devmode = 'Q';
    if (c.devices.front().disposition == 0) c.devices.front().disposition = 'Q';
  }
  if (c.mode == Mode::kNone) usage("no mode given: --create, --assemble, --detail, --examine, --stop, --add... (see mdfsadm --help)");
  if (c.mode == Mode::kAutoDetect) unsupported(*info_of(kOptAutoDetect, -1), "--auto-detect");
  if (c.update == "byteorder" && c.create.metadata_set) usage("must not set metadata type with --update=byteorder.");
  if (c.scan && c.verbose < 2) c.brief = true;  // --scan implies --brief unless -vv
  if (c.create.write_zeroes && !c.create.assume_clean) {
    // As mdadm (pr_info, on standard output): zeroed members are consistent.
    std::printf("mdfsadm: Disk zeroing requested, setting --assume-clean to skip resync\n");
    std::fflush(stdout);
    c.create.assume_clean = true;
  }
  return c;
}

std::string help_text(const Command& cmd) {
  std::string o;
  if (cmd.print_help == 1) {
    o += "mdfsadm - mdadm's command line for the md arrays of a mounted mdfs\n"
         "Usage: mdfsadm --create DEV --level=L --raid-devices=N [options] MEMBER...\n"
         "       mdfsadm --build DEV --level=L --raid-devices=N MEMBER...\n"
         "       mdfsadm --assemble DEV [MEMBER...] | --assemble --scan [--config=FILE]\n"
         "       mdfsadm DEV --add|--add-spare|--re-add|--fail|--remove MEMBER...\n"
         "       mdfsadm DEV --replace MEMBER... [--with SPARE...]\n"
         "       mdfsadm --detail|--stop|--run|--readonly|--readwrite|--wait|--wait-clean DEV...\n"
         "       mdfsadm --examine|--query|--zero-superblock FILE...\n"
         "       mdfsadm --dump=DIR|--restore=DIR FILE...\n"
         "       mdfsadm --incremental FILE | --monitor [--scan] [--program=P] [--mail=ADDR] [DEV...]\n"
         "Arrays: MNT/dev/NAME, or NAME (md0, md_data) with the mount from --mount or /proc/mounts.\n"
         "Members: image files in the mount's SOURCE, as paths or bare names.\n"
         "Options (mdadm 4.2's; '*' not supported by mdfs yet, '-' not supported by mdfs):\n";
  } else {
    o += "Every option (mdadm 4.2's, and mdfs's --mount and --source):\n";
  }
  for (const auto& opt : kOptions) {
    std::string line = "  --";
    line += opt.name;
    if (opt.has_arg == required_argument) line += "=";
    if (opt.has_arg == optional_argument) line += "[=]";
    // The short form, which for some options depends on the mode (-f is
    // --fail when managing, --force when creating...).
    static const std::pair<const char*, const char*> kModeShorts[] = {
        {"chunk", "-c"}, {"parity", "-p"}, {"layout", "-p"}, {"force", "-f"}, {"add", "-a"}, {"remove", "-r"},
        {"fail", "-f"}, {"auto", "-a"}, {"brief", "-b"}, {"config", "-c"}, {"super-minor", "-m"}, {"mail", "-m"},
        {"program", "-p"}, {"increment", "-r"}, {"daemonise", "-f"}, {"bitmap", "-b"}, {"rebuild-map", "-r"},
        {"write-mostly", "-W"}};
    if (opt.code < 256) line += std::string(" -") + static_cast<char>(opt.code);
    if (opt.code == kOptWait) line += " -W";
    for (const auto& [name, letter] : kModeShorts)
      if (std::strcmp(name, opt.name) == 0) line += std::string(" ") + letter;
    if (line.size() < 28) line.resize(28, ' ');
    else line += " ";
    line += opt.support == Support::kLater ? "* " : opt.support == Support::kNever ? "- " : "  ";
    line += opt.help;
    o += line + "\n";
  }
  if (cmd.print_help == 1) o += "See mdfsadm(8): the option table says what each option does on mdfs.\n";
  return o;
}

}  // namespace mdfsadm
