"""The oracle's one-boot commands: assemble what is on some images, run any
script, re-add a member, resume what the kernel owes."""
import os
import shutil
import sys

import guest

# Exit statuses (the same for every command; --help lists them).
OK, NOTHING, USAGE, MISMATCH, BROKEN = 0, 1, 2, 3, 4

ASSEMBLE = r"""
mdadm --examine --scan > examine-scan.txt 2>&1
( @ASSEMBLE@ ) > assemble.txt 2>&1
sleep 1
arrays=$(ls /sys/block | grep '^md' | sort)
if [ -n "$FINISH" ]; then
  for a in $arrays; do [ -e /sys/block/$a/md/sync_action ] && wait_idle 1800 /sys/block/$a/md; done
fi
# What the kernel took up at assembly, before any check: the first pass its
# log names for the array (md_do_sync's "md: recovery of RAID array mdX";
# a replacement is a recovery), else the sync_action it shows now.
for a in $arrays; do
  r=$(dmesg | sed -n "s/.*md: \([a-z-]*\) of RAID array $a\$/\1/p" | head -1)
  echo "$a ${r:-$(cat /sys/block/$a/md/sync_action 2>/dev/null || echo none)}" >> resumed.txt
done
cat /proc/mdstat > mdstat.txt
for a in $arrays; do
  { echo "== $a"; mdadm --detail /dev/$a 2>&1; } >> detail.txt
done
for a in $arrays; do
  s=/sys/block/$a/md
  echo "$a $(blockdev --getsize64 /dev/$a) $(sha256sum /dev/$a | cut -d' ' -f1) $(cat $s/array_state)" \
       "$(cat $s/sync_action 2>/dev/null || echo none) $(cat $s/degraded 2>/dev/null || echo 0)" \
       "$(cat $s/uuid 2>/dev/null || echo -)" >> arrays.txt
done
if [ -z "$NOCHECK" ]; then
  # Every idle array with redundancy checks at once: md runs checks of
  # arrays on different disks in parallel.
  for a in $arrays; do
    [ "$(cat /sys/block/$a/md/sync_action 2>/dev/null)" = idle ] && echo check > /sys/block/$a/md/sync_action
  done
  sleep 1
  for a in $arrays; do [ -e /sys/block/$a/md/sync_action ] && wait_idle 1800 /sys/block/$a/md; done
  for a in $arrays; do
    [ -e /sys/block/$a/md/mismatch_cnt ] && echo "$a $(cat /sys/block/$a/md/last_sync_action) $(cat /sys/block/$a/md/mismatch_cnt)" >> check.txt
  done
fi
md_log > kernel-log.txt
exit 0
"""


def copies_of(images, work):
    out = []
    for i, p in enumerate(images):
        if not os.path.isfile(p):
            raise guest.OracleError(f"no image {p}")
        out.append(os.path.join(work, f"m{i}.img"))
        shutil.copy(p, out[-1])
    return out


def assemble(images, outdir=None, check=True, readonly=False, finish=False, timeout=1800):
    """mdadm --assemble --scan --run on copies of IMAGES; prints the report
    and returns the exit status. With finish, every pass the kernel resumed
    at assembly runs to its end before the arrays are read and checked."""
    work = guest.scratch_dir()
    try:
        res = outdir or os.path.join(work, "res")
        script = ASSEMBLE.replace("@ASSEMBLE@", "mdadm --assemble --scan --run" + (" --readonly" if readonly else ""))
        if not check:
            script = "NOCHECK=1\n" + script
        if finish:
            script = "FINISH=1\n" + script
        boot = guest.run(script, copies_of(images, work), res, timeout=timeout)
        print(f"# kernel {guest.kernel()[0]}, {boot.attempts} boot(s), {boot.seconds:.0f} s")
        print("# images: " + "  ".join(f"/dev/{guest.disk_name(i)}={p}" for i, p in enumerate(images)))
        for title, f in (("examine --scan", "examine-scan.txt"), ("assemble", "assemble.txt"),
                         ("mdstat", "mdstat.txt"), ("detail", "detail.txt"), ("kernel log", "kernel-log.txt")):
            print(f"# {title}\n{boot.read(f).rstrip()}\n")
        resumed = dict(line.split(None, 1) for line in boot.read("resumed.txt").splitlines() if " " in line)
        checks = {}
        for line in boot.read("check.txt").splitlines():
            a, action, n = line.split()
            checks[a] = n if action == "check" else "-"
        rows = []
        for line in boot.read("arrays.txt").splitlines():
            w = line.split()
            rows.append(w + [checks.get(w[0], "-"), resumed.get(w[0], "none").strip()])
        print("# arrays (name size sha256 array_state sync_action degraded uuid mismatch_cnt resumed)")
        for r in rows:
            print(" ".join(r))
        if boot.script_exit != 0:
            print(boot.read("console.txt"), file=sys.stderr)
            return BROKEN
        if not rows:
            print("kernel-oracle: the kernel assembled nothing", file=sys.stderr)
            return NOTHING
        if any(r[-2] not in ("-", "0") for r in rows):
            return MISMATCH
        return OK
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_script(script_path, images, outdir=None, named=(), timeout=1800, copy=False):
    """Runs a script file in the guest; prints what it printed; returns its
    exit status (BROKEN when it never ended)."""
    with open(script_path) as f:
        script = f.read()
    work = guest.scratch_dir()
    try:
        res = outdir or os.path.join(work, "res")
        disks = copies_of(images, work) if copy else list(images)
        for p in disks:
            if not os.path.isfile(p):
                raise guest.OracleError(f"no image {p}")
        extra = []
        for spec in named:
            name, _, path = spec.partition("=")
            if not name.isidentifier() or not os.path.isfile(path):
                raise guest.OracleError(f"--disk {spec}: want NAME=IMAGE with an existing image")
            extra.append(guest.Disk(path, name))
        boot = guest.run(script, disks, res, named=extra, timeout=timeout)
        sys.stdout.write("".join(line for line in boot.read("console.txt").splitlines(True)
                                 if not line.startswith("ORACLE-SCRIPT-EXIT ")))
        return boot.script_exit if boot.script_exit is not None else BROKEN
    finally:
        shutil.rmtree(work, ignore_errors=True)


READD = r"""
examine_all examine-before.txt
bitmaps_all bitmap-before.txt
{
echo "## assemble"
if [ -n "$N" ]; then x mdadm --assemble --run $MD $OTHERS; else x mdadm --assemble --run $MD $ALL; fi
sleep 1
[ -e $SYS/array_state ] && [ "$(cat $SYS/array_state)" != inactive ] || { echo "NOTHING-ASSEMBLED"; exit 0; }
cat /proc/mdstat
echo "## $ACTION"
case $ACTION in
  readd) x mdadm $MD --re-add $DN; echo $? > action-rc.txt ;;
  add) x mdadm --zero-superblock $DN; x mdadm $MD --add $DN; echo $? > action-rc.txt ;;
  resume) echo 0 > action-rc.txt ;;
esac
sleep 1
cat /proc/mdstat
for d in $SYS/dev-*; do echo "${d##*/}: state=$(cat $d/state) slot=$(cat $d/slot) recovery_start=$(cat $d/recovery_start)"; done
echo "## the kernel at work (sync_action=$(cat $SYS/sync_action))"
i=0; last=
while [ "$(cat $SYS/sync_action)" != idle ] && [ $i -lt 1800 ]; do
  c="$(cat $SYS/sync_action) $(cat $SYS/sync_completed)"; [ "$c" != "$last" ] && echo "  t=${i}s $c"; last=$c; sleep 1; i=$((i + 1))
done
echo "## idle after ${i}s"
cat /proc/mdstat
for d in $SYS/dev-*; do echo "${d##*/}: state=$(cat $d/state) slot=$(cat $d/slot)"; done
if [ -e $SYS/sync_action ]; then
  echo "## check"; check_array > mismatch_cnt.txt; echo "mismatch_cnt = $(cat mismatch_cnt.txt)"
fi
blockdev --getsize64 $MD > size.txt
sha256sum $MD | cut -d' ' -f1 > sha256.txt
echo "## detail"; mdadm --detail $MD
x mdadm --stop $MD
echo "## kernel log"; md_log
} > report.txt 2>&1
bitmaps_all bitmap-after.txt
examine_all examine-after.txt
exit 0
"""


def readd(action, n, images, keep=None, outdir=None, timeout=1800):
    """Assemble copies of IMAGES without image N, then re-add it (or zero it
    and add it: action 'add'); or, action 'resume', assemble all and let the
    kernel finish what it resumes. Then a check."""
    work = guest.scratch_dir()
    try:
        copies = copies_of(images, work)
        devs = ["/dev/" + guest.disk_name(i) for i in range(len(images))]
        head = f"ACTION={action}\n"
        if n is not None:
            others = " ".join(d for i, d in enumerate(devs) if i != n)
            head += f'N={n}\nDN={devs[n]}\nOTHERS="{others}"\n'
        res = outdir or os.path.join(work, "res")
        boot = guest.run(head + READD, copies, res, timeout=timeout)
        print("# images: " + "  ".join(f"{d}={p}" for d, p in zip(devs, images)))
        for title, f in (("mdadm --examine before", "examine-before.txt"), ("mdadm -X before", "bitmap-before.txt"),
                         (None, "report.txt"), ("mdadm -X after", "bitmap-after.txt"),
                         ("mdadm --examine after", "examine-after.txt")):
            print((f"# {title}\n" if title else "") + boot.read(f).rstrip() + "\n")
        rc = boot.read("action-rc.txt").strip()
        mm = boot.read("mismatch_cnt.txt").strip()
        size = boot.read("size.txt").strip()
        print(f"RESULT action={action} rc={rc or '-'} mismatch_cnt={mm or '-'} size={size or '-'} "
              f"sha256={boot.read('sha256.txt').strip() or '-'}")
        if keep:
            os.makedirs(keep, exist_ok=True)
            for i, c in enumerate(copies):
                shutil.copy(c, os.path.join(keep, f"member-{i}.img"))
        if boot.script_exit != 0:
            return BROKEN
        if "NOTHING-ASSEMBLED" in boot.read("report.txt") or not size or rc != "0":
            return NOTHING
        return MISMATCH if mm not in ("", "0") else OK
    finally:
        shutil.rmtree(work, ignore_errors=True)
