"""One boot of Debian's own Linux kernel under qemu (TCG), with a small
initramfs that holds busybox-static, mdadm and the md modules; image files
are attached as virtio disks, a shell script runs in the guest, and the
files it leaves in /results come back to the host.

Inside the guest (see GUEST_LIB for the helpers every script can use):
  - member images are /dev/vda, /dev/vdb, ... in the order given, also named
    $D0, $D1, ... and all together $ALL; named disks (a pattern to copy
    from, say) are $NAME; every disk carries its name as its virtio serial
    and the init checks each one before the script runs, so a script can
    trust the names;
  - the script runs in /results with the helpers of GUEST_LIB defined; its
    stdout and stderr go to /results/console.txt; arrays it leaves running
    are stopped after it (mdadm --stop --scan), as at a shutdown;
  - at the end (or at save_results, before a simulated power cut) /results
    is written as a tar archive onto a scratch disk the host reads back.

The initramfs is built once per kernel and kept in the cache folder
($ORACLE_CACHE, else $XDG_CACHE_HOME/mdfs/kernel-oracle, else
~/.cache/mdfs/kernel-oracle; made when missing), under a name with the
kernel version and a digest of everything in it, so a new mdadm, busybox or
init script makes a new one.
"""
import glob
import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field

MODULES = ["md-mod", "linear", "raid0", "raid1", "raid10", "raid456", "virtio_blk", "virtio_pci"]
MIB = 1 << 20
RESULTS_DISK_BYTES = 256 * MIB  # sparse: only what the tar takes is written
# Disks go 8 to a PCI slot (functions 0-7), from slot 4 on: room for far
# more than a boot needs, in the order the guest's PCI scan finds them.
FIRST_SLOT, MAX_DISKS = 4, 8 * 24


class OracleError(Exception):
    """The oracle itself could not do what was asked (no kernel, a boot that
    never ran its script, a guest that timed out)."""


def cache_dir():
    d = os.environ.get("ORACLE_CACHE")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "mdfs", "kernel-oracle")
    os.makedirs(d, exist_ok=True)
    return d


def scratch_dir(prefix="kernel-oracle-"):
    """A fresh folder for one run's copies and disks (the caller removes it)."""
    return tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("ORACLE_TMP") or None)


def _version_key(v):
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", v)]


def kernel():
    """(version, vmlinuz path): $ORACLE_KERNEL, else the newest /boot/vmlinuz-*."""
    path = os.environ.get("ORACLE_KERNEL")
    if not path:
        found = sorted(glob.glob("/boot/vmlinuz-*"), key=_version_key)
        if not found:
            raise OracleError("no kernel in /boot: apt-get install linux-image-amd64 (tools/install-deps)")
        path = found[-1]
    if not os.access(path, os.R_OK):
        raise OracleError(f"cannot read {path}")
    return os.path.basename(path)[len("vmlinuz-"):], path


def _run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return (p.stdout + p.stderr).strip()


def versions():
    """What made a result: the kernel, mdadm, busybox and qemu, as their
    packages and the tools themselves name them."""
    kver, _ = kernel()
    pkg = _run(["dpkg-query", "-W", "-f=${Version}", "linux-image-" + kver])
    return {
        "kernel": kver + (f" (Debian package {pkg})" if pkg and "no packages" not in pkg else ""),
        "mdadm": _run(["mdadm", "--version"]),
        "busybox": _run(["busybox"]).splitlines()[0] if shutil.which("busybox") else "?",
        "qemu": _run(["qemu-system-x86_64", "--version"]).splitlines()[0],
    }


# --- the initramfs -----------------------------------------------------------

def _cpio(entries):
    """An uncompressed newc cpio archive of (name, mode, data) entries; a
    directory has data None."""
    out = bytearray()
    ino = 1
    for name, mode, data in list(entries) + [("TRAILER!!!", 0, b"")]:
        data = data or b""
        nm = name.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(nm), 0]
        out += b"070701" + b"".join(b"%08X" % f for f in fields) + nm
        out += b"\0" * (-len(out) % 4)
        out += data
        out += b"\0" * (-len(out) % 4)
        ino += 1
    return bytes(out)


def _module_plan(kver):
    """The modules to load, dependencies first, as (path, options)."""
    seen, plan = set(), []
    for m in MODULES:
        p = subprocess.run(["modprobe", "-S", kver, "--show-depends", "--ignore-install", m],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise OracleError(f"modprobe cannot resolve {m} for {kver}: {p.stderr.strip()}")
        for line in p.stdout.splitlines():
            parts = line.split()
            if len(parts) < 2 or parts[0] != "insmod" or parts[1] in seen:
                continue
            seen.add(parts[1])
            if "crc32c-intel" in parts[1]:
                continue  # needs SSE4.2, which TCG's CPU lacks; crc32c_generic serves
            # The host's modprobe.d options (Debian's mdadm sets start_ro=1)
            # are not the guest's: new arrays start writable.
            plan.append((parts[1], "start_ro=0" if parts[1].endswith("/md-mod.ko") else ""))
    return plan


def _libs(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    libs = []
    for line in out.splitlines():
        for w in line.split():
            if w.startswith("/") and os.path.exists(w):
                libs.append(w)
    return libs


INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /usr/bin /usr/sbin
/bin/busybox --install -s
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /run/mdadm
echo 1 > /proc/sys/kernel/printk
@INSMOD@
# Resyncs and recoveries at full speed: under TCG the kernel's idle-time
# throttle would otherwise keep them at speed_limit_min.
echo 200000 > /proc/sys/dev/raid/speed_limit_min
set -a
. /oracle/env
set +a
bad=
i=0
while [ $i -lt 300 ]; do
  bad=
  for d in $ORACLE_DISKS; do
    s=$(cat /sys/block/${d%%=*}/serial 2>/dev/null)
    [ "$s" = "${d#*=}" ] || bad="$bad ${d%%=*}(${s:-absent}!=${d#*=})"
  done
  [ -z "$bad" ] && break
  sleep 0.1; i=$((i + 1))
done
if [ -n "$bad" ]; then
  echo "ORACLE-DISKS-WRONG:$bad"
  ls /sys/block
  poweroff -f
fi
echo ORACLE-SCRIPT-START
cd /results
sh -c '. /oracle/lib.sh; . /oracle/script.sh' > /results/console.txt 2>&1
rc=$?
echo "ORACLE-SCRIPT-EXIT $rc" >> /results/console.txt
echo "$rc" > /results/.script-exit
# As a shutdown would: arrays still running are stopped (their superblocks
# written clean) before the power goes.
mdadm --stop --scan > /dev/null 2>&1
sync
. /oracle/lib.sh
save_results
echo ORACLE-DONE
poweroff -f
"""

# Helpers every guest script has (sourced before it). $MD and $SYS name
# the array a script works on (md0 unless it sets them).
GUEST_LIB = r"""
MD=${MD:-/dev/md0}; SYS=${SYS:-/sys/block/md0/md}
# x CMD...: echo the command, run it, note a non-zero exit.
x() { echo "+ $*"; "$@"; r=$?; [ $r -eq 0 ] || echo "  (exit $r)"; return $r; }
# setv FILE VALUE: write VALUE to FILE, saying so.
setv() { echo "+ echo $2 > $1"; echo "$2" > "$1" || echo "  (write failed)"; }
# fill SOURCE: copy SOURCE (a pattern disk) over the whole of $MD.
fill() {
  size=$(blockdev --getsize64 $MD)
  echo "+ fill $MD from $1 ($size bytes)"
  if [ $((size % 65536)) -eq 0 ]; then dd if=$1 of=$MD bs=65536 count=$((size / 65536)) 2>/dev/null
  else dd if=$1 of=$MD bs=512 count=$((size / 512)) 2>/dev/null; fi
  sync
}
# overwrite SOURCE START COUNT [dd options]: array sectors [START, START+COUNT)
# from the same sectors of SOURCE; noted in overwritten.txt.
overwrite() {
  echo "+ sectors $2..$(($2 + $3 - 1)) from $1 $4"
  dd if=$1 of=$MD bs=512 skip=$2 seek=$2 count=$3 $4 2>/dev/null
  echo "$2 $3" >> overwritten.txt
}
# sysfs_blocks [DIR]: every file under DIR ($SYS) as "== name" then its value.
sysfs_blocks() {
  ( d=${1:-$SYS}; cd $d && find . -type f | sed 's|^\./||' | sort | while read -r f; do
      echo "== $f"; cat "$d/$f" 2>&1; done )
}
# sysfs_lines [DIR]: every file under DIR ($SYS) as "name: value", one line
# per line of the value.
sysfs_lines() {
  ( cd ${1:-$SYS} && find . -type f | sed 's|^\./||' | sort | while read -r f; do
      if v=$(cat "$f" 2>/dev/null); then
        if [ -z "$v" ]; then echo "$f: "; else printf '%s\n' "$v" | while IFS= read -r l; do echo "$f: $l"; done; fi
      else echo "$f: (not readable)"; fi
    done )
}
# examine_all FILE [DEVS]: mdadm --examine of each device as "== dev" sections.
examine_all() { for d in ${2:-$ALL}; do echo "== $d"; mdadm --examine $d 2>&1; done > $1; }
# bitmaps_all FILE [DEVS]: mdadm -X of each device.
bitmaps_all() { for d in ${2:-$ALL}; do echo "== $d"; mdadm --examine-bitmap $d 2>&1; done > $1; }
# snapshot PREFIX: mdstat, mdadm --detail and sysfs ("name: value") of $MD.
snapshot() { cat /proc/mdstat > ${1}mdstat.txt; mdadm --detail $MD > ${1}detail.txt 2>&1; sysfs_lines > ${1}sysfs.txt; }
# wait_idle [SECONDS] [SYSDIR]: until sync_action is idle.
wait_idle() {
  i=0; while [ "$(cat ${2:-$SYS}/sync_action 2>/dev/null)" != idle ] && [ $i -lt ${1:-900} ]; do sleep 1; i=$((i + 1)); done
}
# wait_paused: until a reshape or recovery held at sync_max stops moving.
wait_paused() {
  p=; n=0; i=0
  while [ $n -lt 3 ] && [ $i -lt 300 ]; do
    c="$(cat $SYS/sync_completed) $(cat $SYS/reshape_position)"
    if [ "$c" = "$p" ]; then n=$((n + 1)); else n=0; fi
    p=$c; sleep 1; i=$((i + 1))
  done
  echo "  paused: sync_action=$(cat $SYS/sync_action) sync_completed=$(cat $SYS/sync_completed) reshape_position=$(cat $SYS/reshape_position)"
}
# check_array [SYSDIR]: run a check and wait; prints mismatch_cnt.
check_array() {
  echo check > ${1:-$SYS}/sync_action; sleep 1; wait_idle 900 ${1:-$SYS}; cat ${1:-$SYS}/mismatch_cnt
}
# sha_of BYTES OUT SECONDS [DEV]: sha256 of the first BYTES of DEV ($MD) into
# OUT, read in the background; fails when not done within SECONDS (a read
# the kernel blocks).
sha_of() {
  rm -f $2 $2.part
  ( if [ $(($1 % 65536)) -eq 0 ]; then dd if=${4:-$MD} bs=65536 count=$(($1 / 65536)) 2>/dev/null
    else dd if=${4:-$MD} bs=512 count=$(($1 / 512)) 2>/dev/null; fi | sha256sum | cut -d' ' -f1 > $2.part && mv $2.part $2 ) > /dev/null 2>&1 &
  wait_file $2 $3
}
wait_file() { i=0; while [ ! -s $1 ] && [ $i -lt $(($2 * 2)) ]; do sleep 0.5; i=$((i + 1)); done; [ -s $1 ]; }
md_log() { dmesg | grep -E "md:|md/|md[0-9]+:"; }
# save_results: /results onto the results disk (also done after the script).
save_results() { ( cd / && tar cf "$RESULTS_DISK" results && sync ); }
# power_cut: keep /results, then reset at once: no md shutdown, no flush.
power_cut() {
  echo "## kernel log"; md_log
  echo "POWER-CUT now (sysrq b)"
  echo 0 > /results/.script-exit
  save_results
  echo 1 > /proc/sys/kernel/sysrq; echo b > /proc/sysrq-trigger; sleep 30
}
"""


def disk_name(i):
    """The kernel's name for the i-th virtio disk: vda..vdz, vdaa, ..."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(ord("a") + r) + s
    return "vd" + s


def build_initramfs():
    """(kernel version, vmlinuz, path of the cached initramfs)."""
    kver, vmlinuz = kernel()
    for tool in ("/bin/busybox", "/usr/sbin/mdadm"):
        if not os.path.exists(tool):
            raise OracleError(f"no {tool}: apt-get install busybox-static mdadm (tools/install-deps)")
    plan = _module_plan(kver)
    init = INIT.replace("@INSMOD@", "\n".join(
        f"insmod /lib/modules/{os.path.basename(p)} {o}".rstrip() for p, o in plan))
    files = {"bin/busybox": "/bin/busybox", "sbin/mdadm": "/usr/sbin/mdadm"}
    for lib in _libs("/usr/sbin/mdadm"):
        files[lib.lstrip("/")] = lib
    for p, _ in plan:
        files["lib/modules/" + os.path.basename(p)] = p
    digest = hashlib.sha256(init.encode() + GUEST_LIB.encode())
    for dst in sorted(files):
        digest.update(dst.encode())
        with open(files[dst], "rb") as f:
            digest.update(hashlib.sha256(f.read()).digest())
    out = os.path.join(cache_dir(), f"initramfs-{kver}-{digest.hexdigest()[:12]}.cpio")
    if os.path.exists(out):
        return kver, vmlinuz, out
    entries, dirs = [], set()

    def add_dirs(path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in dirs:
                dirs.add(d)
                entries.append((d, stat.S_IFDIR | 0o755, None))

    for d in ("dev", "proc", "sys", "run", "tmp", "results", "etc/mdadm", "oracle", "sbin", "bin"):
        add_dirs(d + "/x")
    for dst in sorted(files):
        add_dirs(dst)
        with open(files[dst], "rb") as f:
            entries.append((dst, stat.S_IFREG | 0o755, f.read()))
    entries.append(("init", stat.S_IFREG | 0o755, init.encode()))
    entries.append(("oracle/lib.sh", stat.S_IFREG | 0o644, GUEST_LIB.encode()))
    # mdadm --assemble --scan looks at every virtio disk; new arrays get
    # 1.2 metadata unless a script says otherwise.
    entries.append(("etc/mdadm/mdadm.conf", stat.S_IFREG | 0o644, b"DEVICE /dev/vd*\nCREATE metadata=1.2\n"))
    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(_cpio(entries))
    os.replace(tmp, out)
    return kver, vmlinuz, out


# --- one boot ----------------------------------------------------------------

@dataclass
class Disk:
    path: str
    name: str = ""         # for named disks: the shell variable (PAT, ...)
    readonly: bool = False


@dataclass
class Boot:
    console: str                      # the guest's serial console (kernel and init)
    results: str                      # folder with what the script left in /results
    script_exit: object = None        # the script's exit status (None: it never ended)
    attempts: int = 1
    seconds: float = 0.0
    files: dict = field(default_factory=dict)

    def read(self, name, default=""):
        p = os.path.join(self.results, name)
        if not os.path.exists(p):
            return default
        with open(p, errors="replace") as f:
            return f.read()


def run(script, members, outdir, named=(), timeout=900, mem=512, attempts=None):
    """Boot once: MEMBERS (paths or Disks, attached in order as $D0...),
    NAMED Disks ($NAME), run SCRIPT; the guest's /results land in OUTDIR.
    A boot that never reached the script (an overloaded host can make the
    emulated kernel panic before init: "IO-APIC + timer doesn't work") is
    retried up to ORACLE_BOOT_ATTEMPTS times (3); a guest that started the
    script is never booted again (the images may have changed)."""
    kver, vmlinuz, base = build_initramfs()
    members = [m if isinstance(m, Disk) else Disk(m) for m in members]
    disks = members + list(named)
    if len(disks) + 1 > MAX_DISKS:
        raise OracleError(f"{len(disks)} disks: at most {MAX_DISKS - 1} fit one boot")
    attempts = attempts or int(os.environ.get("ORACLE_BOOT_ATTEMPTS", "3"))
    os.makedirs(outdir, exist_ok=True)
    work = scratch_dir("kernel-oracle-boot-")
    try:
        env = []
        for i, d in enumerate(members):
            env.append(f"D{i}=/dev/{disk_name(i)}")
        env.append('ALL="%s"' % " ".join("/dev/" + disk_name(i) for i in range(len(members))))
        for j, d in enumerate(named):
            env.append(f"{d.name}=/dev/{disk_name(len(members) + j)}")
        res_dev = disk_name(len(disks))
        env.append(f"RESULTS_DISK=/dev/{res_dev}")
        serials = [f"m{i}" for i in range(len(members))] + [d.name.lower() for d in named] + ["results"]
        env.append('ORACLE_DISKS="%s"' % " ".join(f"{disk_name(i)}={s}" for i, s in enumerate(serials)))
        extra = _cpio([("oracle/env", stat.S_IFREG | 0o644, ("\n".join(env) + "\n").encode()),
                       ("oracle/script.sh", stat.S_IFREG | 0o644, script.encode())])
        initrd = os.path.join(work, "initrd")
        with open(base, "rb") as i, open(initrd, "wb") as o:
            shutil.copyfileobj(i, o)
            o.write(extra)
        res_img = os.path.join(work, "results.img")
        cmd = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-m", str(mem), "-smp", "1",
               "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
               "-kernel", vmlinuz, "-initrd", initrd,
               "-append", "console=ttyS0 panic=-1 no_timer_check mitigations=off quiet loglevel=4"]
        for i, (d, s) in enumerate(zip(disks + [Disk(res_img)], serials)):
            ro = ",readonly=on" if d.readonly else ""
            slot, fn = divmod(i, 8)
            addr = f"addr={FIRST_SLOT + slot:#x}.{fn}" + (",multifunction=on" if fn == 0 else "")
            cmd += ["-drive", f"file={d.path},format=raw,if=none,id={s},cache=unsafe{ro}",
                    "-device", f"virtio-blk-pci,drive={s},serial={s},{addr}"]
        t0 = time.monotonic()
        for attempt in range(1, attempts + 1):
            with open(res_img, "wb") as f:
                f.truncate(RESULTS_DISK_BYTES)
            try:
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
                console = (p.stdout + p.stderr).decode(errors="replace")
            except subprocess.TimeoutExpired as e:
                console = ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
                console += f"\nORACLE-TIMEOUT: qemu killed after {timeout} s\n"
            if "ORACLE-SCRIPT-START" in console:
                break
            if "ORACLE-DISKS-WRONG" in console:
                break  # not a boot problem: retrying would not help
            print(f"kernel-oracle: boot {attempt} never ran the script; console ends:\n"
                  + "\n".join(console.splitlines()[-5:]), file=sys.stderr)
        boot = Boot(console=console, results=outdir, attempts=attempt, seconds=time.monotonic() - t0)
        with open(os.path.join(outdir, "boot-console.txt"), "w") as f:
            f.write(console)
        if "ORACLE-SCRIPT-START" not in console:
            raise OracleError(f"the guest never ran its script ({attempt} boots); console in "
                              f"{outdir}/boot-console.txt:\n" + "\n".join(console.splitlines()[-15:]))
        try:
            with tarfile.open(res_img) as t:
                for m in t.getmembers():
                    if not m.isfile() or not m.name.startswith("results/"):
                        continue
                    dst = os.path.join(outdir, m.name[len("results/"):])
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    with t.extractfile(m) as src, open(dst, "wb") as o:
                        shutil.copyfileobj(src, o)
        except tarfile.TarError:
            raise OracleError("the guest wrote no results (it died in its script?); console in "
                              f"{outdir}/boot-console.txt:\n" + "\n".join(console.splitlines()[-15:]))
        rc = boot.read(".script-exit").strip()
        boot.script_exit = int(rc) if rc.isdigit() else None
        return boot
    finally:
        shutil.rmtree(work, ignore_errors=True)
