"""test/fixtures/kernel-md-states: md arrays the kernel brought into the
states real arrays are found in (mid-reshape, dirty bitmap, power cut,
member flags, write journal, replacement half done).

Each state takes two or three boots:
  make      blank members; the state's script creates the array, fills it
            with the sector-stamp pattern, brings it into the state and
            stops it (or cuts the power). The members as this boot left
            them are the fixture.
  read-back on copies: --examine (-X, --examine-badblocks) as found;
            assemble as the state says (mostly --readonly, so that nothing
            the kernel would resume moves before it is recorded); mdstat,
            --detail, sysfs and the sha256 of the content; then the state's
            `then` (mostly --readwrite), wait until the kernel is idle, a
            check, the content again.
  degraded  (some states) on fresh copies, without `degraded` members,
            read-only: the content.
A state is kept only when every content the kernel read is the one
expected: the pattern, with the second stamp over `second` (sectors the
state rewrote), and zeros in the space a grow adds.
"""
import os
import re
import shutil

import common
import guest

RO_ASSEMBLE = "mdadm --assemble --readonly $MD $ALL"
READWRITE = "x mdadm --readwrite $MD"


def reshape_held_at(create, add, grow, sync_max):
    """A grow the kernel runs up to SYNC_MAX (per-member sectors) and then
    waits at: mdadm 4.2 grows a 1.2 array by moving each member's data
    offset (no backup file) and starts the reshape through sync_action
    without touching sync_max, so a sync_max set first holds it there, with
    reshape_position checkpointed in the superblocks."""
    return f"""
x mdadm --create $MD --run --assume-clean {create} --name=oracle
fill $PAT
{add}
setv $SYS/sync_max {sync_max}
x mdadm --grow $MD {grow}
wait_paused
cat /proc/mdstat
snapshot made-
x mdadm --stop $MD
"""


# name: images (MiB per member file), roles (what each file is), make (the
# guest script), second (array sector ranges rewritten with the second
# stamp), assemble / then / then_text (the read-back), degraded (files left
# out of the degraded read-back), post (host-side extra fields), how.
# A new state is one more entry; `oracle make-state-fixtures
# test/fixtures/kernel-md-states NAME` makes it.
STATES = {
    "raid5-reshape-3to4": dict(
        images=[8] * 4,
        roles=["active 0", "active 1", "active 2", "active 3 (added for the grow)"],
        make=reshape_held_at("--level=5 --raid-devices=3 --chunk=64 $D0 $D1 $D2", "x mdadm $MD --add $D3",
                             "--raid-devices=4", 6144),
        then_text="mdadm --readwrite: the kernel resumes the reshape",
        degraded=[1],
        how="A raid5 of 3 members (64K chunk, left-symmetric) filled with the pattern; member 3 added as a "
            "spare; sync_max set to 6144 (sectors per member) before `mdadm --grow --raid-devices=4`. mdadm "
            "4.2 needs no backup file for 1.2 metadata: it moves the members' data offset down (new_offset) "
            "and starts the reshape through sync_action without changing sync_max, so the kernel reshaped "
            "6144 sectors per member, checkpointed reshape_position in the superblocks and waited; then "
            "`mdadm --stop`. reshape_position 18432 array sectors ends both an old stripe (2 data chunks) "
            "and a new one (3 data chunks). Read back with `mdadm --assemble --readonly` (a read-only "
            "array does not resume a reshape; `--freeze-reshape` does not apply to a grow), the whole "
            "content read, then `mdadm --readwrite` lets the reshape finish. Until it ends the array has "
            "its old size (2 data members)."),
    "raid5-reshape-3to4-midstripe": dict(
        images=[8] * 4,
        roles=["active 0", "active 1", "active 2", "active 3 (added for the grow)"],
        make=reshape_held_at("--level=5 --raid-devices=3 --chunk=64 $D0 $D1 $D2", "x mdadm $MD --add $D3",
                             "--raid-devices=4", 6016),
        then_text="mdadm --readwrite: the kernel resumes the reshape",
        how="As raid5-reshape-3to4 with sync_max 6016 (47 chunks per member): reshape_position 18048 array "
            "sectors ends a new stripe (every checkpoint does) but falls inside an old one (70.5 old "
            "stripes): of the old stripe holding sectors 17920..18175, the first chunk has been moved and "
            "the second not. While the array is read-only, Linux 6.1 holds a read of that stripe until the "
            "reshape has passed it, which a read-only array never does (kernel_reads says so when it "
            "happened); the content was read once `mdadm --readwrite` let the reshape go on. Past "
            "reshape_position the data is still where the old geometry put it."),
    "raid5-reshape-3to4-backup": dict(
        images=[8] * 4,
        roles=["active 0", "active 1", "active 2", "active 3 (added for the grow)"],
        make=r"""
x mdadm --create $MD --run --assume-clean --level=5 --raid-devices=3 --chunk=64 --name=oracle $D0 $D1 $D2
fill $PAT
x mdadm $MD --add $D3
setv $SYS/sync_speed_min 10
setv $SYS/sync_speed_max 150
x mdadm --grow $MD --raid-devices=4 --backup-file=/run/md0-grow-backup
i=0
while [ $i -lt 900 ]; do
  c=$(cut -d' ' -f1 $SYS/sync_completed)
  case $c in *[!0-9]* | '') ;; *) [ "$c" -ge 5000 ] && break ;; esac
  sleep 0.2; i=$((i + 1))
done
echo "  sync_completed $(cat $SYS/sync_completed), reshape_position $(cat $SYS/reshape_position)"
setv $SYS/sync_action frozen
wait_paused
setv $SYS/sync_speed_min system
setv $SYS/sync_speed_max system
cat /proc/mdstat
snapshot made-
x mdadm --stop $MD
""",
        then_text="mdadm --readwrite: the kernel resumes the reshape",
        how="A raid5 of 3 members (64K chunk) filled; member 3 added; `mdadm --grow --raid-devices=4 "
            "--backup-file=/run/...` (a tmpfs). Given a backup file, mdadm 4.2 reshapes in place "
            "(new_offset equal to data_offset, feature map 0x4 without 0x40): it backs up the critical "
            "section (the first stripes, where old and new places overlap) and lets the kernel go on, here "
            "at 150 KiB/s (sync_speed_max 150, sync_speed_min 10). Past 5000 sectors per member, `echo "
            "frozen > sync_action` stopped the reshape at its last checkpoint, then `mdadm --stop`. Past the "
            "critical section the backup file is not needed to assemble (it is not part of the fixture). "
            "Read back `--readonly`, then `--readwrite` lets the reshape finish."),
    "raid1-bitmap-dirty": dict(
        images=[8] * 2,
        roles=["active 0", "active 1 in its own superblock; failed and removed (stale)"],
        make=r"""
x mdadm --create $MD --run --assume-clean --level=1 --raid-devices=2 --bitmap=internal --bitmap-chunk=64K --name=oracle $D0 $D1
fill $PAT
echo "+ wait for the bitmap daemon to clear the bits of the fill"; sleep 16
x mdadm $MD --fail $D1
x mdadm $MD --remove $D1
overwrite $PAT2 256 128
overwrite $PAT2 4096 1000
overwrite $PAT2 10000 8
sync
cat /proc/mdstat
snapshot made-
x mdadm --stop $MD
""",
        second=[[256, 128], [4096, 1000], [10000, 8]],
        assemble="mdadm --assemble --readonly --run $MD $D0",
        then="x mdadm --stop $MD; x mdadm --assemble --run $MD $ALL; sleep 1; cat /proc/mdstat; "
             "x mdadm -X $D0; x mdadm $MD --re-add $D1; sleep 1; cat /proc/mdstat",
        then_text="stop; `mdadm --assemble --run` of both members as a boot would (mdadm 4.2 leaves the stale "
                  "member out); `mdadm --re-add` it: the kernel recovers the dirty chunks",
        how="A raid1 of 2 with an internal bitmap of 64 KiB chunks, filled with the pattern; once the bitmap "
            "daemon had cleared the fill's bits, member 1 was failed and removed (`mdadm --fail`, "
            "`--remove`) and 3 ranges were written with the second stamp while degraded (array sectors "
            "256+128, 4096+1000, 10000+8: 10 bitmap chunks), then a clean stop. Member 0's bitmap keeps "
            "those bits dirty and its events_cleared stays at the failure; member 1 still calls itself "
            "active with an older event count. Read back: member 0 alone, `--readonly --run` (the "
            "content); then both members assembled as a boot would (kernel-after.txt shows what mdadm and "
            "the kernel did with the stale member). `oracle readd 1` does the --re-add on its own."),
    "raid1-bitmap-powercut": dict(
        images=[8] * 2,
        roles=["active 0", "active 1"],
        make=r"""
x mdadm --create $MD --run --assume-clean --level=1 --raid-devices=2 --bitmap=internal --bitmap-chunk=64K --name=oracle $D0 $D1
fill $PAT
echo "+ wait for the bitmap daemon to clear the bits of the fill"; sleep 16
overwrite $PAT2 512 256 oflag=direct
overwrite $PAT2 6000 40 oflag=direct
echo "+ rewrite array sectors 8192..10239 with the data they hold, O_DIRECT, in a loop (writes in flight)"
( while :; do dd if=$PAT of=$MD bs=4096 skip=1024 seek=1024 count=256 oflag=direct 2>/dev/null; done ) > /dev/null 2>&1 &
sleep 2
cat /proc/mdstat
snapshot made-
power_cut
""",
        second=[[512, 256], [6000, 40]],
        then_text="mdadm --readwrite: the kernel resyncs the dirty bitmap chunks",
        how="A raid1 of 2 with an internal bitmap of 64 KiB chunks, filled; once the bitmap daemon had "
            "cleared the fill's bits, two ranges were written with the second stamp (O_DIRECT, completed: "
            "array sectors 512+256 and 6000+40), then a loop kept rewriting array sectors 8192..10239 with "
            "the data they already held (O_DIRECT: writes in flight), and the power was cut (`echo b > "
            "/proc/sysrq-trigger`: no md shutdown). The superblocks say active, not clean; the bitmaps "
            "have the written chunks dirty. The rewrites carry the same data, so the content is known "
            "whichever of them reached which member. Read back `--readonly`, then `--readwrite` lets the "
            "kernel resync the dirty chunks."),
    "raid1-writemostly-failfast": dict(
        images=[8] * 3,
        roles=["active 0", "active 1 (failfast)", "active 2 (write-mostly)"],
        make=r"""
x mdadm --create $MD --run --assume-clean --level=1 --raid-devices=3 --bitmap=internal --write-behind=256 --name=oracle $D0 $D1 --write-mostly $D2
setv $SYS/dev-${D1#/dev/}/state failfast
fill $PAT
cat /proc/mdstat
snapshot made-
x mdadm --stop $MD
""",
        then_text="mdadm --readwrite",
        how="A raid1 of 3 with an internal bitmap and write-behind (at most 256), member 2 created "
            "--write-mostly, member 1 flagged failfast (`echo failfast > dev-vdb/state`), filled, clean "
            "stop. Both flags are in the members' superblocks (devflags: mdadm --examine's 'Flags'), "
            "write-behind in the bitmap superblock."),
    "raid5-journal": dict(
        images=[8] * 4,
        roles=["active 0", "active 1", "active 2", "journal"],
        make=r"""
x mdadm --create $MD --run --assume-clean --level=5 --raid-devices=3 --chunk=64 --name=oracle --write-journal $D3 $D0 $D1 $D2
fill $PAT
cat /proc/mdstat
snapshot made-
x mdadm --stop $MD
""",
        then_text="mdadm --readwrite",
        how="A raid5 of 3 (64K chunk) with a write journal on member 3 (`--write-journal`), journal_mode "
            "write-through (the default), filled, clean stop. The journal member's role is Journal "
            "(mdstat (J)); the data members have feature bit 0x200 (journal)."),
    "raid5-journal-writeback-powercut": dict(
        images=[8] * 4,
        roles=["active 0", "active 1", "active 2", "journal"],
        make=r"""
x mdadm --create $MD --run --assume-clean --level=5 --raid-devices=3 --chunk=64 --name=oracle --write-journal $D3 $D0 $D1 $D2
fill $PAT
setv $SYS/journal_mode write-back
overwrite $PAT2 1000 24 oflag=direct
overwrite $PAT2 4608 256 oflag=direct
overwrite $PAT2 20000 8 oflag=direct
cat /proc/mdstat
cat $SYS/journal_mode $SYS/stripe_cache_active
power_cut
""",
        second=[[1000, 24], [4608, 256], [20000, 8]],
        then_text="mdadm --readwrite",
        post=lambda imgs, man: journal_only_writes(imgs[:3], man),
        how="A raid5 of 3 (64K chunk) with a write journal on member 3, filled (write-through), then `echo "
            "write-back > journal_mode` and three writes of the second stamp (O_DIRECT, completed: array "
            "sectors 1000+24, 4608+256, 20000+8; in write-back mode a write completes once it is in the "
            "journal), and at once the power was cut (sysrq b). The new data is in the journal; the data "
            "members may not have it yet (journal_only_writes lists what they lack). The kernel replays "
            "the journal when it assembles the array."),
    "raid5-replacing": dict(
        images=[8] * 5,
        roles=["active 0", "active 1 (want_replacement)", "active 2", "active 3",
               "replacement for 1 (recovery_offset in its superblock)"],
        make=r"""
x mdadm --create $MD --run --assume-clean --level=5 --raid-devices=4 --chunk=64 --name=oracle $D0 $D1 $D2 $D3
fill $PAT
x mdadm $MD --add $D4
setv $SYS/sync_max 5120
x mdadm $MD --replace $D1 --with $D4
wait_paused
cat /proc/mdstat
snapshot made-
x mdadm --stop $MD
""",
        then_text="mdadm --readwrite: the kernel resumes the replacement",
        degraded=[1],
        how="A raid5 of 4 (64K chunk), filled; member 4 added as a spare, sync_max set to 5120, `mdadm "
            "--replace vdb --with vde`: the kernel copied role 1 onto member 4 up to 5120 sectors per member "
            "and waited; then `mdadm --stop` (recovery_offset 5120 in member 4's superblock, role "
            "'Replacement device 1', array state ARAA). Read back `--readonly`, then `--readwrite` lets the "
            "kernel finish the replacement (member 1 then turns faulty and is dropped). Degraded: without "
            "member 1 the replacement stands in role 1, in sync below its recovery_offset."),
}

READBACK = r"""
examine_all examine.txt
if grep -q "Internal Bitmap" examine.txt; then bitmaps_all examine-bitmap.txt; fi
for d in $ALL; do echo "== $d"; mdadm --examine-badblocks $d 2>&1; done > examine-badblocks.txt
( @ASSEMBLE@ ) > assemble.txt 2>&1
sleep 1
[ -e $SYS/array_state ] && [ "$(cat $SYS/array_state)" != inactive ] || { cat assemble.txt; exit 1; }
snapshot ""
SIZE=$(blockdev --getsize64 $MD); echo $SIZE > size.txt
sha_of $SIZE sha256.txt 120 || echo "no data within 120 s" > read-blocked.txt
{
  echo "## then: @THEN_TEXT@"
  @THEN@
  sleep 2; cat /proc/mdstat
  wait_file sha256.txt 900 && echo "the first read is done"
  wait_idle
  echo "## idle: sync_action=$(cat $SYS/sync_action) reshape_position=$(cat $SYS/reshape_position) array_state=$(cat $SYS/array_state) degraded=$(cat $SYS/degraded)"
  cat /proc/mdstat
  if [ -w $SYS/sync_action ]; then
    check_array > after-mismatch_cnt.txt
    echo "## check: mismatch_cnt=$(cat after-mismatch_cnt.txt)"
  fi
  blockdev --getsize64 $MD > after-size.txt
  sha_of $SIZE after-sha256-prefix.txt 900
  sha_of $(cat after-size.txt) after-sha256.txt 900
  echo "## content: first $SIZE bytes $(cat after-sha256-prefix.txt); all $(cat after-size.txt) bytes $(cat after-sha256.txt)"
  mdadm --detail $MD
  x mdadm --stop $MD
  for d in $ALL; do echo "== $d"; mdadm --examine $d 2>&1; done
  echo "## kernel log"; md_log
} > after.txt 2>&1
exit 0
"""

DEGRADED = r"""
mdadm --assemble --readonly --run $MD $ALL > assemble.txt 2>&1
sleep 1
[ -e $SYS/array_state ] && [ "$(cat $SYS/array_state)" != inactive ] || { cat assemble.txt; exit 1; }
snapshot ""
SIZE=$(blockdev --getsize64 $MD); echo $SIZE > size.txt
sha_of $SIZE sha256.txt 120 || echo "no data within 120 s" > read-blocked.txt
exit 0
"""

# Superblock fields each member's manifest entry carries (mdadm --examine
# key -> manifest key).
MEMBER_FIELDS = (("Device Role", "role"), ("Events", "events"), ("Feature Map", "feature_map"),
                 ("State", "superblock_state"), ("Data Offset", "data_offset"), ("New Offset", "new_offset"),
                 ("Recovery Offset", "recovery_offset"), ("Flags", "flags"), ("Array State", "array_state"),
                 ("Device UUID", "device_uuid"))
SYSFS_KEPT = ("array_state", "level", "raid_disks", "chunk_size", "layout", "component_size", "reshape_position",
              "reshape_direction", "sync_action", "resync_start", "degraded", "consistency_policy", "journal_mode",
              "bitmap/location", "bitmap/chunksize", "sync_completed")
# Result files kept, as the fixture names them.
KEPT = (("made", "console.txt", "kernel-make.txt"), ("made", "made-mdstat.txt", "kernel-made-mdstat.txt"),
        ("made", "made-sysfs.txt", "kernel-made-sysfs.txt"), ("made", "made-detail.txt", "kernel-made-detail.txt"),
        ("readback", "examine.txt", "kernel-examine.txt"),
        ("readback", "examine-bitmap.txt", "kernel-examine-bitmap.txt"),
        ("readback", "assemble.txt", "kernel-assemble.txt"), ("readback", "mdstat.txt", "kernel-mdstat.txt"),
        ("readback", "detail.txt", "kernel-detail.txt"), ("readback", "sysfs.txt", "kernel-sysfs.txt"),
        ("readback", "after.txt", "kernel-after.txt"))


def raid5_ls_sector(imgs, s, data_offset, chunk=128):
    """Array sector S of a left-symmetric raid5 read straight from the
    member images (what a reader that ignores the journal gets)."""
    n = len(imgs)
    c, within = divmod(s, chunk)
    stripe, k = divmod(c, n - 1)
    parity = (n - 1) - stripe % n
    disk = (parity + 1 + k) % n
    with open(imgs[disk], "rb") as f:
        f.seek((data_offset + stripe * chunk + within) * 512)
        return f.read(512)


def journal_only_writes(data_imgs, man):
    """The second-stamp sectors the data members do not hold yet."""
    off = int(str(man["members_in_role_order"][0]["data_offset"]).split()[0])
    ranges = []
    for a, n in man["second_stamp"]["array_sector_ranges"]:
        for s in range(a, a + n):
            if raid5_ls_sector(data_imgs, s, off) == common.sector_bytes(common.SECOND_LINE, s):
                continue
            if ranges and ranges[-1][0] + ranges[-1][1] == s:
                ranges[-1][1] += 1
            else:
                ranges.append([s, 1])
    man["journal_only_writes"] = {
        "array_sector_ranges": ranges,
        "note": "the data members hold the old pattern in these ranges; the second stamp is only in the "
                "journal, which the kernel replays when it assembles the array (kernel-after.txt: "
                "'recovering N data-only stripes')"}


def subst(text, devs):
    return (text.replace("$MD", "/dev/md0").replace("$ALL", " ".join(devs))
            .replace("$D0", devs[0]))


def boot(script, imgs, res, patterns, **kw):
    b = guest.run(script, imgs, res, named=[guest.Disk(patterns[0], "PAT", True), guest.Disk(patterns[1], "PAT2", True)],
                  timeout=2400, **kw)
    if b.script_exit != 0:
        raise RuntimeError("the guest failed:\n" + b.read("console.txt")[-3000:])
    return b


def make_state(name, outroot, patterns):
    st = STATES[name]
    n = len(st["images"])
    devs = ["/dev/" + guest.disk_name(i) for i in range(n)]
    work = guest.scratch_dir("kernel-oracle-state-")
    try:
        imgs = [os.path.join(work, f"member-{i}.img") for i in range(n)]
        for p, mib in zip(imgs, st["images"]):
            common.blank(p, mib)
        boot(st["make"] + '\necho "## kernel log"; md_log\nexit 0\n', imgs, os.path.join(work, "made"), patterns)

        def copies():
            out = []
            for i, p in enumerate(imgs):
                out.append(os.path.join(work, f"copy-{i}.img"))
                shutil.copy(p, out[-1])
            return out

        assemble = st.get("assemble", RO_ASSEMBLE)
        then = st.get("then", READWRITE)
        then_text = st.get("then_text", "")
        script = (READBACK.replace("@ASSEMBLE@", assemble).replace("@THEN@", then)
                  .replace("@THEN_TEXT@", re.sub(r"[`$\\\"]", "'", then_text)))
        rb = boot(script, copies(), os.path.join(work, "readback"), patterns)
        size = int(rb.read("size.txt") or 0)
        if not size:
            raise RuntimeError(f"{name}: the read-back assembled nothing:\n{rb.read('console.txt')}")
        second = st.get("second", [])
        overrides = [(common.SECOND_LINE, second)] if second else []
        want = common.pattern_sha(common.SECTOR_LINE, size, overrides)
        first = rb.read("sha256.txt").strip()
        reads = {"right_after_assembly": first or "blocked: no data within 120 s, nor later"}
        if first and os.path.exists(os.path.join(rb.results, "read-blocked.txt")):
            reads["right_after_assembly_note"] = "blocked while read-only; completed once the array went read-write"
        if first and first != want:
            reads["right_after_assembly_differs_from_content"] = True
        later = rb.read("after-sha256-prefix.txt").strip()
        reads["after_kernel_finished_first_array_size_bytes"] = later
        if later != want:
            raise RuntimeError(f"{name}: once done the kernel read {later or 'nothing'}, expected {want}")

        examine = common.examine_sections(rb.read("examine.txt"))
        sysfs = common.sysfs_lines_dict(rb.read("sysfs.txt"))
        members = []
        for i in range(n):
            e = examine.get(devs[i], {})
            m = {"file": f"member-{i}.img.xz", "guest_device": devs[i], "state": st["roles"][i],
                 "member_mib": st["images"][i]}
            for key, mkey in MEMBER_FIELDS:
                if key in e:
                    m[mkey] = int(e[key]) if e[key].isdigit() else e[key]
            members.append(m)
        active = next((examine[d] for d in devs if "Active device" in examine.get(d, {}).get("Device Role", "")), {})
        level_new, level_old = common.new_old(sysfs.get("level"))
        disks_new, disks_old = common.new_old(sysfs.get("raid_disks"))
        chunk_new, chunk_old = common.new_old(sysfs.get("chunk_size"))
        layout_new, layout_old = common.new_old(sysfs.get("layout"))
        man = {"case": name, "level": level_old, "layout": active.get("Layout"), "chunk": active.get("Chunk Size"),
               "raid_devices": int(disks_old) if (disks_old or "").isdigit() else disks_old,
               "members_in_role_order": members, "array_size_bytes": size, "sha256": want,
               "kernel_reads": reads,
               "read_back": {"assemble": subst(assemble, devs), "then": then_text},
               "how": st["how"],
               "guest_devices": "kernel-*.txt name the members as the guest saw them: member-N is /dev/vd<a+N>",
               "sysfs_after_assembly": {k: sysfs[k] for k in SYSFS_KEPT if k in sysfs},
               "pattern": common.PATTERN_TEXT}
        if second:
            man["second_stamp"] = {"line": "mdfs-oracle second %012d\\n", "array_sector_ranges": second,
                                   "note": "array sectors [start, start+count) hold the second stamp for their "
                                           "own number instead of the pattern"}
        if sysfs.get("reshape_position", "none") != "none":
            man["reshape"] = {
                "reshape_position_sectors": int(sysfs["reshape_position"]),
                "reshape_direction": sysfs.get("reshape_direction"),
                "examine_reshape_pos": active.get("Reshape pos'n"),
                "examine_delta_devices": active.get("Delta Devices"),
                "old": {"level": level_old, "raid_devices": disks_old, "chunk_bytes": chunk_old, "layout": layout_old},
                "new": {"level": level_new, "raid_devices": disks_new, "chunk_bytes": chunk_new, "layout": layout_new},
                "examine_new_fields": {k: v for k, v in active.items() if k.startswith("New ")}}
        after_size = int(rb.read("after-size.txt") or 0)
        man["after"] = {"what": then_text, "array_size_bytes": after_size,
                        "sha256": rb.read("after-sha256.txt").strip(),
                        "mismatch_cnt_after_check": rb.read("after-mismatch_cnt.txt").strip() or None}
        if man["after"]["mismatch_cnt_after_check"] not in (None, "0"):
            raise RuntimeError(f"{name}: the kernel's check after finishing found mismatches")
        if after_size > size and level_old in ("raid4", "raid5", "raid6"):
            man["after"]["grown_space_reads_zero"] = (
                man["after"]["sha256"] == common.pattern_sha(common.SECTOR_LINE, after_size, overrides, zero_from=size))

        out = os.path.join(outroot, f".{name}.tmp")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        if st.get("degraded"):
            left = [c for i, c in enumerate(copies()) if i not in st["degraded"]]
            dg = boot(DEGRADED, left, os.path.join(work, "degraded"), patterns)
            dsha = dg.read("sha256.txt").strip()
            if dsha != want:
                raise RuntimeError(f"{name}: degraded, the kernel read {dsha or 'nothing'}, expected {want}")
            kept = [i for i in range(n) if i not in st["degraded"]]
            man["degraded"] = {"missing_roles": st["degraded"], "sha256": dsha,
                               "note": "assembled read-only without these member files; the kernel read back "
                                       "this sha256",
                               "guest_devices": {"/dev/" + guest.disk_name(j): f"member-{i}.img.xz"
                                                 for j, i in enumerate(kept)}}
            common.copy_results(dg.results, ("assemble.txt", "mdstat.txt", "detail.txt", "sysfs.txt"), out,
                                "kernel-degraded-")
        if st.get("post"):
            st["post"](imgs, man)
        for boot_dir, src, dst in KEPT:
            p = os.path.join(work, boot_dir, src)
            if os.path.exists(p):
                with open(p, errors="replace") as i, open(os.path.join(out, dst), "w") as o:
                    o.write("".join(line for line in i if not line.startswith("ORACLE-SCRIPT-EXIT")))
        badblocks = rb.read("examine-badblocks.txt")
        if "Bad-blocks on" in badblocks:
            with open(os.path.join(out, "kernel-examine-badblocks.txt"), "w") as f:
                f.write(badblocks)
        common.keep(out, outroot, name, imgs, man, "make-state-fixtures")
        return name
    finally:
        shutil.rmtree(work, ignore_errors=True)


def make(outroot, names, jobs):
    return common.make_set(outroot, names, jobs, STATES, "state", make_state)
