#!/usr/bin/env python3
"""Writes the fuzzers' seed corpus (test/fuzz/corpus/<target>/) from the
kernel-made fixtures: every fixture's superblocks and bitmap superblock in
the input format of each target (see the targets' first comments).

    make_seeds.py FIXTURES_DIR      (the folder of kernel-md/<case>/)

The seeds are committed; run this again only when the fixtures or an
input format change. fuzz_sysfs's seeds are written by hand."""
import lzma, os, struct, sys

HERE = os.path.dirname(os.path.abspath(__file__))
MD_MAGIC = 0xa92b4efc


def members(case_dir):
    out = []
    for name in sorted(os.listdir(case_dir)):
        if name.startswith("member-") and name.endswith(".img.xz"):
            with lzma.open(os.path.join(case_dir, name)) as f:
                out.append(f.read())
    return out


def find_super(img):
    """(kind, byte offset) as mdfs's examine looks: 1.2, 1.1, 1.0, 0.90."""
    size = len(img)
    places = [(3, 4096), (2, 0), (1, ((size // 512 - 16) & ~7) * 512), (0, (size & ~65535) - 65536)]
    for kind, at in places:
        if struct.unpack_from("<I", img, at)[0] == MD_MAGIC:
            return kind, at
    return None, None


def bitmap_at(img, kind, at):
    if kind == 0:
        state = struct.unpack_from("<I", img, at + 132)[0]
        return at + 4096 if state & 8 else None
    if struct.unpack_from("<I", img, at + 8)[0] & 1:
        return at + struct.unpack_from("<i", img, at + 96)[0] * 512
    return None


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    fixtures = sys.argv[1]
    for case in sorted(os.listdir(fixtures)):
        case_dir = os.path.join(fixtures, case)
        if not os.path.isdir(case_dir):
            continue
        imgs = members(case_dir)
        records = []
        for n, img in enumerate(imgs):
            kind, at = find_super(img)
            if kind is None:
                continue
            sb = img[at:at + 4096]
            bm = bitmap_at(img, kind, at)
            bitmap = img[bm:bm + 256] if bm is not None else bytes(256)
            if n == 0:
                if kind == 0:
                    write("fuzz_superblock0", case, struct.pack("<Q", len(img)) + sb)
                else:
                    write("fuzz_superblock1", case, bytes([kind - 1]) + struct.pack("<Q", len(img) // 512) + sb)
                if bm is not None:
                    write("fuzz_bitmap", case, img[bm:bm + 256 + 64])
            size_code = {4: 0, 8: 1, 1: 2, 16: 3}.get(len(img) >> 20)
            if size_code is not None and len(records) < 4:
                records.append(bytes([kind, size_code << 2]) + sb + bitmap)
        if records:
            write("fuzz_assemble", case, b"".join(records))


if __name__ == "__main__":
    main()
