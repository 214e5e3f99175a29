#!/usr/bin/env python3
"""Edit fields of an md superblock (0.90 or 1.x) or of its write-intent
bitmap's superblock in a member image, then recompute the superblock's
checksum, so that a parser can only reject the image for the edited value.

    sbedit.py IMAGE [--metadata 0.90|1.0|1.1|1.2] [--keep-csum] FIELD=VALUE...

FIELD is a field name of struct mdp_superblock_1 or mdp_super_t
(<linux/raid/md_p.h>: raid_disks, data_offset, set_name, ...), `role[N]`
(v1 dev_roles), `disk[N].F` and `this_disk.F` (0.90 descriptors), or
`bitmap.F` for the bitmap superblock (sync_size, chunksize, ...). VALUE is
an integer (0x... allowed; negative for signed fields) or, for set_name,
text with Python escapes (`set_name=md\\x01x`). Prints what it changed.
Exit 1 if the image holds no superblock of the asked kind, or the stored
checksum was wrong before the edit (the offsets below would be wrong).
"""
import argparse
import os
import struct
import sys

# Byte offset and width of each field, as offsetof/sizeof report them for
# the UAPI structs (checked at run time: the stored checksum must match the
# one computed with these offsets before anything is written).
SB1 = {
    "magic": (0, 4), "major_version": (4, 4), "feature_map": (8, 4), "pad0": (12, 4),
    "set_uuid": (16, 16), "set_name": (32, 32), "ctime": (64, 8), "level": (72, 4),
    "layout": (76, 4), "size": (80, 8), "chunksize": (88, 4), "raid_disks": (92, 4),
    "bitmap_offset": (96, 4), "new_level": (100, 4), "reshape_position": (104, 8),
    "delta_disks": (112, 4), "new_layout": (116, 4), "new_chunk": (120, 4),
    "new_offset": (124, 4), "data_offset": (128, 8), "data_size": (136, 8),
    "super_offset": (144, 8), "recovery_offset": (152, 8), "dev_number": (160, 4),
    "cnt_corrected_read": (164, 4), "device_uuid": (168, 16), "devflags": (184, 1),
    "bblog_shift": (185, 1), "bblog_size": (186, 2), "bblog_offset": (188, 4),
    "utime": (192, 8), "events": (200, 8), "resync_offset": (208, 8),
    "sb_csum": (216, 4), "max_dev": (220, 4),
}
SB1_CSUM = 216
SB1_HEADER = 256

SB0 = {
    "md_magic": (0, 4), "major_version": (4, 4), "minor_version": (8, 4),
    "patch_version": (12, 4), "gvalid_words": (16, 4), "set_uuid0": (20, 4),
    "ctime": (24, 4), "level": (28, 4), "size": (32, 4), "nr_disks": (36, 4),
    "raid_disks": (40, 4), "md_minor": (44, 4), "not_persistent": (48, 4),
    "set_uuid1": (52, 4), "set_uuid2": (56, 4), "set_uuid3": (60, 4),
    "utime": (128, 4), "state": (132, 4), "active_disks": (136, 4),
    "working_disks": (140, 4), "failed_disks": (144, 4), "spare_disks": (148, 4),
    "sb_csum": (152, 4), "events": (156, 8), "cp_events": (164, 8),
    "recovery_cp": (172, 4), "reshape_position": (176, 8), "new_level": (184, 4),
    "delta_disks": (188, 4), "new_layout": (192, 4), "new_chunk": (196, 4),
    "layout": (256, 4), "chunk_size": (260, 4), "root_pv": (264, 4), "root_block": (268, 4),
}
SB0_CSUM = 152
SB0_BYTES = 4096
SB0_DISKS = 512        # 27 descriptors of 128 bytes
SB0_THIS_DISK = 3968
DISK0 = {"number": 0, "major": 4, "minor": 8, "raid_disk": 12, "state": 16}

# bitmap_super_t (md-bitmap.h; not in the UAPI headers)
BITMAP = {
    "magic": (0, 4), "version": (4, 4), "uuid": (8, 16), "events": (24, 8),
    "events_cleared": (32, 8), "sync_size": (40, 8), "state": (48, 4),
    "chunksize": (52, 4), "daemon_sleep": (56, 4), "write_behind": (60, 4),
    "sectors_reserved": (64, 4), "nodes": (68, 4),
}
MD_MAGIC = 0xa92b4efc
MD_FEATURE_BITMAP_OFFSET = 1
MD_SB_BITMAP_PRESENT = 8


def folded_sum(buf, skip):
    total = 0
    n = len(buf) // 4 * 4
    for i in range(0, n, 4):
        if i != skip:
            total += struct.unpack_from("<I", buf, i)[0]
    if len(buf) - n >= 2:
        total += struct.unpack_from("<H", buf, n)[0]
    return ((total & 0xffffffff) + (total >> 32)) & 0xffffffff


def v1_csum(sb):
    max_dev = struct.unpack_from("<I", sb, 220)[0]
    return folded_sum(sb[:SB1_HEADER + 2 * min(max_dev, (4096 - 256) // 2)], SB1_CSUM)


def locate(f, size, metadata):
    """(kind, byte offset) of the superblock asked for, or the first found."""
    sectors = size // 512
    where = {
        "1.2": 4096,
        "1.1": 0,
        "1.0": ((sectors - 16) & ~7) * 512 if sectors >= 24 else None,
        "0.90": (size & ~65535) - 65536 if size >= 131072 else None,
    }
    for kind in ([metadata] if metadata else ["1.2", "1.1", "1.0", "0.90"]):
        at = where[kind]
        if at is None:
            continue
        f.seek(at)
        magic = f.read(4)
        if len(magic) == 4 and struct.unpack("<I", magic)[0] == MD_MAGIC:
            return kind, at
    return None, None


def put(buf, off, width, value, name):
    if isinstance(value, bytes):
        if len(value) > width:
            raise SystemExit(f"{name}: {len(value)} bytes do not fit in {width}")
        buf[off:off + width] = value.ljust(width, b"\0")
        return
    fmt = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}[width]
    buf[off:off + width] = struct.pack(fmt, value % (1 << (8 * width)))


def parse_value(field, text):
    if field.endswith("set_name") or field.endswith("uuid"):
        if text.startswith("hex:"):
            return bytes.fromhex(text[4:])
        return text.encode("latin-1").decode("unicode_escape").encode("latin-1")
    return int(text, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("image")
    ap.add_argument("edits", nargs="+", metavar="FIELD=VALUE")
    ap.add_argument("--metadata", choices=["0.90", "1.0", "1.1", "1.2"])
    ap.add_argument("--keep-csum", action="store_true", help="leave the stored checksum as it is")
    args = ap.parse_args()

    size = os.path.getsize(args.image)
    with open(args.image, "r+b") as f:
        kind, at = locate(f, size, args.metadata)
        if kind is None:
            print(f"{args.image}: no md superblock{' ' + args.metadata if args.metadata else ''}", file=sys.stderr)
            return 1
        f.seek(at)
        sb = bytearray(f.read(4096 if kind != "0.90" else SB0_BYTES))
        if kind == "0.90":
            stored, computed = struct.unpack_from("<I", sb, SB0_CSUM)[0], folded_sum(sb, SB0_CSUM)
            bm_at = at + SB0_BYTES if struct.unpack_from("<I", sb, 132)[0] & MD_SB_BITMAP_PRESENT else None
        else:
            stored, computed = struct.unpack_from("<I", sb, SB1_CSUM)[0], v1_csum(sb)
            bm_at = None
            if struct.unpack_from("<I", sb, 8)[0] & MD_FEATURE_BITMAP_OFFSET:
                rel = struct.unpack_from("<i", sb, 96)[0]
                bm_at = at + rel * 512
        if stored != computed:
            print(f"{args.image}: {kind} checksum 0x{stored:08x} is not 0x{computed:08x} before editing",
                  file=sys.stderr)
            return 1
        bitmap = None
        for edit in args.edits:
            field, _, text = edit.partition("=")
            value = parse_value(field, text)
            if field.startswith("bitmap."):
                if bm_at is None:
                    raise SystemExit(f"{args.image}: no internal bitmap")
                if bitmap is None:
                    f.seek(bm_at)
                    bitmap = bytearray(f.read(256))
                off, width = BITMAP[field[7:]]
                put(bitmap, off, width, value, field)
            elif kind == "0.90" and (field.startswith("disk[") or field.startswith("this_disk.")):
                name, _, member = field.partition(".")
                base = SB0_THIS_DISK if name == "this_disk" else SB0_DISKS + 128 * int(name[5:-1])
                put(sb, base + DISK0[member], 4, value, field)
            elif kind != "0.90" and field.startswith("role["):
                put(sb, SB1_HEADER + 2 * int(field[5:-1]), 2, value, field)
            else:
                table = SB0 if kind == "0.90" else SB1
                if field not in table:
                    raise SystemExit(f"unknown {kind} field {field}")
                off, width = table[field]
                put(sb, off, width, value, field)
            print(f"{args.image}: {kind} {field} = {text}")
        if not args.keep_csum:
            if kind == "0.90":
                put(sb, SB0_CSUM, 4, folded_sum(sb, SB0_CSUM), "sb_csum")
            else:
                put(sb, SB1_CSUM, 4, v1_csum(sb), "sb_csum")
        f.seek(at)
        f.write(sb)
        if bitmap is not None:
            f.seek(bm_at)
            f.write(bitmap)
    return 0


if __name__ == "__main__":
    sys.exit(main())
