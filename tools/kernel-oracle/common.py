"""What the fixture makers share: the data patterns, provenance, the
parsing of mdadm's and sysfs's text, compression, a pool of boots."""
import concurrent.futures
import datetime
import hashlib
import json
import lzma
import os
import re
import shutil
import sys

import guest

MIB = 1 << 20
PATTERN_BYTES = 64 * MIB
# Every 512-byte array sector s holds the 32-byte line for s, 16 times: any
# byte of an array is predictable from its offset, and a wrong mapping
# names the sector it came from.
SECTOR_LINE = "mdfs-oracle sector %012d\n"
# New data written to bring an array into a state: same length, same
# sector number, other words, so old and new data differ everywhere.
SECOND_LINE = "mdfs-oracle second %012d\n"
PATTERN_TEXT = "every 512-byte array sector s holds 'mdfs-oracle sector %012d\\n' % s, 16 times"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def sector_bytes(line, s):
    return (line % s).encode() * 16


def pattern_file(line=SECTOR_LINE, size=PATTERN_BYTES):
    """The pattern as a file in the cache, made (and checked) on first use."""
    name = "pattern-%s-%d.img" % (hashlib.sha256(line.encode()).hexdigest()[:8], size)
    path = os.path.join(guest.cache_dir(), name)
    want = pattern_sha(line, size)
    if os.path.exists(path) and file_sha(path) == want:
        return path
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        for s in range(size // 512):
            f.write(sector_bytes(line, s))
    os.replace(tmp, path)
    return path


def pattern_sha(line, size, overrides=(), zero_from=None):
    """sha256 of SIZE bytes of LINE's pattern, with the sectors of OVERRIDES
    ((line, [[start, count]...]) pairs) holding another line, and zeros from
    byte ZERO_FROM on."""
    h = hashlib.sha256()
    over = {}
    for other, ranges in overrides:
        for a, n in ranges:
            for s in range(a, a + n):
                over[s] = other
    for s in range(size // 512):
        if zero_from is not None and s * 512 >= zero_from:
            h.update(bytes(512))
        else:
            h.update(sector_bytes(over.get(s, line), s))
    return h.hexdigest()


def file_sha(path, limit=None):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        left = limit if limit is not None else float("inf")
        while left > 0:
            b = f.read(int(min(left, MIB)))
            if not b:
                break
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def blank(path, mib):
    with open(path, "wb") as f:
        f.truncate(mib * MIB)


def compress(src, dst):
    with open(src, "rb") as i, lzma.open(dst, "wb", preset=9 | lzma.PRESET_EXTREME) as o:
        shutil.copyfileobj(i, o)


def rel(path):
    """PATH relative to the repository when inside it."""
    p = os.path.abspath(path)
    return os.path.relpath(p, REPO) if p.startswith(REPO + os.sep) else p


def provenance(subcommand, outdir, name):
    v = guest.versions()
    return {
        "command": f"tools/kernel-oracle/oracle {subcommand} {rel(outdir)} {name}",
        "regenerate_all": "tools/kernel-oracle/oracle regenerate",
        "kernel": v["kernel"], "mdadm": v["mdadm"], "busybox": v["busybox"], "qemu": v["qemu"],
        "made": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d"),
    }


def examine_sections(text):
    """mdadm --examine text in '== DEV' sections -> {dev: {key: value}} (the
    first of each key)."""
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith("== "):
            cur = out.setdefault(line[3:].strip(), {})
            continue
        m = re.match(r"^\s*([A-Za-z][^:]*?) : (.*)$", line)
        if m and cur is not None:
            cur.setdefault(m.group(1).strip(), m.group(2).strip())
    return out


def sysfs_lines_dict(text):
    """'name: value' lines -> {name: value} (a value of several lines joined)."""
    d = {}
    for line in text.splitlines():
        k, sep, v = line.partition(": ")
        if not sep:
            k, v = line.rstrip(":"), ""
        d[k] = v if k not in d else d[k] + "\n" + v
    return d


def new_old(v):
    """sysfs 'new (old)' during a reshape -> (new, old); a plain value -> (v, v)."""
    m = re.match(r"^(\S+) \((\S+)\)$", v or "")
    return (m.group(1), m.group(2)) if m else (v, v)


def replace_dir(tmp, final):
    shutil.rmtree(final, ignore_errors=True)
    os.rename(tmp, final)


def keep(out, outroot, name, imgs, man, subcommand):
    """Finish fixture NAME: the provenance into its manifest, the members
    compressed, the manifest written, and the folder OUT (beside it, made
    whole first) renamed into place."""
    man["made_by"] = "the Linux md driver under qemu, by tools/kernel-oracle (see provenance)"
    man["provenance"] = provenance(subcommand, outroot, name)
    for i, p in enumerate(imgs):
        compress(p, os.path.join(out, f"member-{i}.img.xz"))
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(man, f, indent=1)
        f.write("\n")
    replace_dir(out, os.path.join(outroot, name))


def copy_results(src_dir, names, out, prefix):
    """The result files NAMES of a boot that exist, as OUT/PREFIX+name."""
    for f in names:
        if os.path.exists(os.path.join(src_dir, f)):
            shutil.copy(os.path.join(src_dir, f), os.path.join(out, prefix + f))


def write_index(outroot, names):
    """OUTROOT/cases.txt: every case the table defines, one a line. Tests
    check each is there, so a lost folder fails instead of being skipped."""
    with open(os.path.join(outroot, "cases.txt"), "w") as f:
        f.write("".join(n + "\n" for n in names))


def make_set(outroot, names, jobs, table, what, make_one):
    """Make the NAMES of TABLE (all when none) into OUTROOT, JOBS at a time:
    make_one(name, outroot, (pattern, second pattern)). Returns how many
    failed."""
    unknown = [n for n in names if n not in table]
    if unknown:
        raise SystemExit(f"unknown {what} {' '.join(unknown)}; the {what}s: {' '.join(table)}")
    os.makedirs(outroot, exist_ok=True)
    write_index(outroot, table)
    guest.build_initramfs()
    patterns = (pattern_file(SECTOR_LINE), pattern_file(SECOND_LINE))
    return pool(lambda n: make_one(n, outroot, patterns), names or list(table), jobs)


def pool(fn, names, jobs):
    """Run FN(name) for every name, JOBS at a time; print each outcome; the
    number that failed."""
    failed = 0
    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as ex:
        futures = {ex.submit(fn, n): n for n in names}
        for fu in concurrent.futures.as_completed(futures):
            try:
                print("made", fu.result(), flush=True)
            except Exception as e:  # one case's failure must not stop the others
                failed += 1
                print(f"FAILED {futures[fu]}: {e}", file=sys.stderr, flush=True)
    return failed
