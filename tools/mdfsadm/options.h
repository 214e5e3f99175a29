// mdadm's command line: every mdadm 4.2 option, read as mdadm reads it
// (getopt_long, a mode set by the first mode option, short options whose
// meaning depends on the mode: -f is --fail when managing and --force when
// creating, -c --chunk or --config, -p --layout or --program...). The table
// of options is the one source of --help, --help-options and the parser;
// options whose md feature mdfs lacks are parsed and answered.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mdfsadm/manage.h"
#include "mdfsadm/mount.h"

namespace mdfsadm {

enum class Mode { kNone, kAssemble, kBuild, kCreate, kManage, kMisc, kMonitor, kGrow, kIncremental, kAutoDetect };
const char* mode_name(Mode mode);  // mdadm's words: "assemble", "misc"...

// Codes of the options that have no short form (mdadm numbers them from 256).
enum OptionCode : int {
  kOptManage = 256, kOptMisc, kOptZero, kOptAutoDetect, kOptDetailPlatform, kOptKillSubarray,
  kOptUpdateSubarray, kOptUdevRules, kOptOffroot, kOptExamineBB, kOptDump, kOptRestore, kOptHelpOptions,
  kOptChunk, kOptLayout, kOptAuto, kOptAssumeClean, kOptBitmap, kOptBitmapChunk, kOptWriteBehind,
  kOptWriteMostly, kOptFailFast, kOptNoFailFast, kOptReAdd, kOptHomehost, kOptSymlinks, kOptDataOffset,
  kOptNodes, kOptHomeCluster, kOptWriteJournal, kOptSuperMinor, kOptConfig, kOptForce, kOptFreezeReshape,
  kOptAdd, kOptAddSpare, kOptAddJournal, kOptRemove, kOptFail, kOptReplace, kOptWith, kOptNoDegraded,
  kOptWait, kOptWaitClean, kOptAction, kOptClusterConfirm, kOptBrief, kOptNoDevices, kOptSparc22,
  kOptPrefer, kOptMail, kOptProgram, kOptIncrement, kOptFork, kOptNoSharing, kOptBackupFile,
  kOptInvalidBackup, kOptContinue, kOptRebuildMap, kOptPath, kOptMount, kOptSource, kOptWriteZeroes,
};

// What mdfsadm does with an option.
enum class Support {
  kYes,      // as mdadm
  kIgnored,  // accepted; it changes nothing on mdfs (the man page says why)
  kLater,    // "not supported by mdfs yet: ...", exit 1: its md feature comes with its own issue
  kNever,    // "not supported by mdfs: ...", exit 2: external metadata, clusters, udev, kernel devices
};

struct OptionInfo {
  const char* name;   // long name
  int has_arg;        // no_argument, required_argument, optional_argument
  int code;           // the short letter, or an OptionCode
  Support support;
  const char* help;   // one line for --help-options
  const char* why;    // kLater/kNever/kIgnored: what is missing, for the answer
};

// Every long option, in mdadm's order.
std::span<const OptionInfo> option_table();

// A device as listed, with what to do with it (mdadm's disposition: 'a'
// add, 'S' add-spare, 'r' remove, 'f' fail in manage mode; in misc mode
// the action: 'D', 'E', 'Q', 'S', 'R', 'o', 'w', 'W', or an OptionCode).
struct Device {
  std::string name;
  int disposition = 0;
  bool write_mostly = false;
  int failfast = 0;  // --failfast 1, --nofailfast -1, as given before it
};

struct Command {
  Mode mode = Mode::kNone;
  std::vector<Device> devices;
  int devmode = 0;  // the last action option
  int verbose = 0;
  bool brief = false;
  bool export_vars = false;  // --export
  bool test = false;
  bool scan = false;
  bool force = false;
  std::string update;        // --update=WHAT (assemble; manage after --re-add)
  bool no_devices = false;
  bool readonly = false;     // -o with --create/--assemble/--manage
  int runstop = 0;           // 1: --run; -1: --stop, or --no-degraded when assembling
  std::optional<std::string> homehost;  // --homehost
  bool require_homehost = true;         // false for --homehost=<ignore>
  std::string config;        // --config
  CreateOptions create;      // --create and --build
  // Which array (--assemble, --create): --uuid, --name, --super-minor.
  std::optional<std::array<uint8_t, 16>> uuid;
  std::string name;
  std::optional<int> super_minor;  // -2: "dev", the minor of the array named
  std::string action;        // --action
  std::string dump_dir;      // --dump, --restore
  // --grow (with create.raid_devices, chunk, layout, size, bitmap)
  std::optional<std::string> array_size;   // --array-size
  std::optional<std::string> backup_file;  // --backup-file
  std::optional<std::string> grow_level;   // --level: a takeover
  // --monitor
  std::string mailaddr;
  std::string program;
  std::string pidfile;
  int increments = 20;
  int delay = 0;
  bool daemonise = false;
  bool oneshot = false;
  bool syslog = false;
  bool rebuild_map = false;  // --incremental --rebuild-map
  int print_help = 0;        // 1 --help, 2 --help-options
  MountOptions mount;
};

// Reads argv as mdadm does. Usage errors throw Failure (exit 2); options
// whose feature mdfs lacks throw Failure with their answer.
Command parse_command(int argc, char** argv);

// --help (for the mode given, as mdadm's mode help) and --help-options.
std::string help_text(const Command& cmd);

// mdadm's parse_uuid: 32 hex digits, any ':', '.', ' ', '-' between them.
std::optional<std::array<uint8_t, 16>> parse_uuid(const std::string& text);

}  // namespace mdfsadm
