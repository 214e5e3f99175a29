"""test/fixtures/kernel-md: md arrays made by the kernel on blank members,
filled with the sector-stamp pattern, with what the kernel and mdadm said
about them. One boot makes a case (create, fill, check, record, stop,
--examine); where the table names missing roles, a second boot, on copies,
assembles it without them and reads it back."""
import os
import shutil

import common
import guest

# name: (level, members, MiB per member, mdadm --create options,
#        roles left out for the degraded read-back)
# A new geometry is one more line here; `oracle regenerate` or
# `oracle make-fixtures test/fixtures/kernel-md NAME` makes it.
CASES = {
    "linear-2":         ("linear", 2, 4, "", []),
    "raid0-3-64k":      ("raid0", 3, 4, "--chunk=64", []),
    "raid1-2":          ("raid1", 2, 4, "", [1]),
    "raid1-3":          ("raid1", 3, 4, "", []),
    "raid1-2-meta1.0":  ("raid1", 2, 4, "--metadata=1.0", []),
    "raid1-2-meta0.90": ("raid1", 2, 4, "--metadata=0.90", []),
    "raid4-4":          ("raid4", 4, 4, "--chunk=64", [3]),
    "raid5-4-la":       ("raid5", 4, 4, "--chunk=64 --layout=left-asymmetric", []),
    "raid5-4-ra":       ("raid5", 4, 4, "--chunk=64 --layout=right-asymmetric", []),
    "raid5-4-ls":       ("raid5", 4, 4, "--chunk=64 --layout=left-symmetric", [2]),
    "raid5-4-rs":       ("raid5", 4, 4, "--chunk=64 --layout=right-symmetric", []),
    "raid5-4-pfirst":   ("raid5", 4, 4, "--chunk=64 --layout=parity-first", []),
    "raid5-4-plast":    ("raid5", 4, 4, "--chunk=64 --layout=parity-last", []),
    "raid5-4-meta1.1":  ("raid5", 4, 4, "--chunk=64 --metadata=1.1", []),
    "raid5-4-bitmap":   ("raid5", 4, 8, "--chunk=64 --bitmap=internal", []),
    "raid6-5-ls":       ("raid6", 5, 4, "--chunk=64 --layout=left-symmetric", [1, 3]),
    "raid6-5-ra":       ("raid6", 5, 4, "--chunk=64 --layout=right-asymmetric", []),
    "raid10-4-n2":      ("raid10", 4, 4, "--chunk=64 --layout=n2", [1]),
    "raid10-4-f2":      ("raid10", 4, 4, "--chunk=64 --layout=f2", [2]),
    "raid10-4-o2":      ("raid10", 4, 4, "--chunk=64 --layout=o2", []),
}

MAKE = r"""
mdadm --create $MD --run --assume-clean --level=@LEVEL@ --raid-devices=@N@ @OPTS@ --name=oracle $ALL > create.txt 2>&1
echo "mdadm-exit $?" >> create.txt
[ -e $SYS/array_state ] || { cat create.txt; exit 1; }
blockdev --getsize64 $MD > size.txt
fill $PAT > /dev/null
echo 3 > /proc/sys/vm/drop_caches
if [ -e $SYS/sync_action ]; then check_array > mismatch_cnt.txt; fi
cat /proc/mdstat > mdstat.txt
mdadm --detail $MD > detail.txt 2>&1
sysfs_blocks > sysfs.txt
sha256sum $MD | cut -d' ' -f1 > sha256.txt
mdadm --stop $MD > stop.txt 2>&1 || { cat stop.txt; exit 1; }
examine_all examine.txt
if grep -q "Internal Bitmap" examine.txt; then bitmaps_all examine-bitmap.txt; fi
exit 0
"""

DEGRADED = r"""
mdadm --assemble --run $MD $ALL > assemble.txt 2>&1
[ -e $SYS/array_state ] || { cat assemble.txt; exit 1; }
cat /proc/mdstat > mdstat.txt
mdadm --detail $MD > detail.txt 2>&1
sysfs_blocks > sysfs.txt
sha256sum $MD | cut -d' ' -f1 > sha256.txt
mdadm --stop $MD > stop.txt 2>&1
exit 0
"""

KEPT = ("create.txt", "detail.txt", "mdstat.txt", "sysfs.txt", "examine.txt", "examine-bitmap.txt")


def make_case(name, outroot, patterns):
    level, n, mib, opts, missing = CASES[name]
    pattern = patterns[0]
    work = guest.scratch_dir("kernel-oracle-case-")
    try:
        imgs = []
        for i in range(n):
            imgs.append(os.path.join(work, f"member-{i}.img"))
            common.blank(imgs[-1], mib)
        script = MAKE.replace("@LEVEL@", level).replace("@N@", str(n)).replace("@OPTS@", opts)
        made = guest.run(script, imgs, os.path.join(work, "made"), named=[guest.Disk(pattern, "PAT", True)])
        if made.script_exit != 0 or not made.read("sha256.txt").strip():
            raise RuntimeError(f"{name}: the guest failed:\n{made.read('console.txt')}")
        size = int(made.read("size.txt"))
        sha = made.read("sha256.txt").strip()
        # The kernel must have read back exactly the pattern it was given.
        want = common.file_sha(pattern, size)
        if sha != want:
            raise RuntimeError(f"{name}: the kernel read {sha}, the pattern's first {size} bytes are {want}")
        mismatch = made.read("mismatch_cnt.txt").strip() or None
        if mismatch not in (None, "0"):
            raise RuntimeError(f"{name}: the kernel's check found mismatch_cnt {mismatch}")
        out = os.path.join(outroot, f".{name}.tmp")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        common.copy_results(made.results, KEPT, out, "kernel-")
        man = {"case": name, "level": level, "raid_devices": n, "member_mib": [mib] * n,
               "mdadm_create_options": opts,
               "members_in_role_order": [f"member-{i}.img.xz" for i in range(n)],
               "array_size_bytes": size, "sha256": sha, "pattern": common.PATTERN_TEXT,
               "mismatch_cnt_after_check": mismatch}
        if missing:
            present = []
            for i in range(n):
                if i not in missing:
                    present.append(os.path.join(work, f"copy-{i}.img"))
                    shutil.copy(imgs[i], present[-1])
            deg = guest.run(DEGRADED, present, os.path.join(work, "degraded"))
            dsha = deg.read("sha256.txt").strip()
            if deg.script_exit != 0 or dsha != sha:
                raise RuntimeError(f"{name}: degraded read {dsha or 'nothing'}, expected {sha}:\n"
                                   + deg.read("console.txt") + deg.read("assemble.txt"))
            man["degraded"] = {"missing_roles": missing, "sha256": dsha,
                               "note": "assembled (mdadm --assemble --run, on copies) without the members "
                                       "of missing_roles; the kernel read back this sha256"}
            common.copy_results(deg.results, ("assemble.txt", "mdstat.txt", "detail.txt", "sysfs.txt"), out,
                                "kernel-degraded-")
        common.keep(out, outroot, name, imgs, man, "make-fixtures")
        return name
    finally:
        shutil.rmtree(work, ignore_errors=True)


def make(outroot, names, jobs):
    return common.make_set(outroot, names, jobs, CASES, "case", make_case)
