#!/usr/bin/env python3
"""Generate crates/sscard-core/data/strokes.bin, the compact stroke table used by the
surname stroke-order comparator (姓氏笔画排序).

Inputs (Debian packages, installed by `apt-get install unicode-data rime-data-stroke`):
  * /usr/share/unicode/Unihan_IRGSources.txt.bz2  -- kTotalStrokes (Unicode licence). When the
    field has two values the first is the mainland (G-source) count, which we use.
  * /usr/share/rime-data/stroke.dict.yaml          -- the rime-stroke "五筆畫" table (LGPL-3):
    each character's stroke sequence in five classes h s p n z = 横 竖 撇 点(捺) 折. Characters
    with several sequences (Taiwan CNS 11643 order and the mainland list) prefer the sequence
    whose length equals the mainland total stroke count, then the last one listed (the mainland
    supplementary list comes after the CNS table).

Output: little-endian u32 per code point for U+3400..U+9FFF (27,648 entries):
  bits 24..31  total strokes (0 = unknown)
  bits  0..23  the first eight strokes, 3 bits each, first stroke in the highest bits,
               1..5 = 横 竖 撇 点 折, 0 = no further stroke
so comparing two entries as integers orders by total strokes, then stroke by stroke.
Run from the repository root: python3 tools/gen-stroke-table.py
With --check, compare with the committed file instead of writing it (exit 1 if they differ).
"""
import bz2
import struct
import sys

FIRST, LAST = 0x3400, 0x9FFF
CLASSES = {"h": 1, "s": 2, "p": 3, "n": 4, "z": 5}

def total_strokes():
    out = {}
    with bz2.open("/usr/share/unicode/Unihan_IRGSources.txt.bz2", "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or "\tkTotalStrokes\t" not in line:
                continue
            cp, _, value = line.rstrip("\n").split("\t")
            out[int(cp[2:], 16)] = int(value.split()[0])
    return out

def stroke_sequences():
    out = {}
    in_body = False
    with open("/usr/share/rime-data/stroke.dict.yaml", encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line == "...":
                in_body = True
                continue
            if not in_body or not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 2 or len(parts[0]) != 1:
                continue
            if not all(c in CLASSES for c in parts[1]):
                continue
            out.setdefault(ord(parts[0]), []).append(parts[1])
    return out

def main():
    totals = total_strokes()
    sequences = stroke_sequences()
    data = bytearray()
    known = with_seq = 0
    for cp in range(FIRST, LAST + 1):
        total = totals.get(cp, 0)
        seqs = sequences.get(cp, [])
        seq = ""
        if seqs:
            matching = [s for s in seqs if len(s) == total]
            seq = (matching or seqs)[-1]
        packed = 0
        for i in range(8):
            packed = packed * 8 + (CLASSES[seq[i]] if i < len(seq) else 0)
        if total > 255:
            sys.exit(f"U+{cp:04X}: {total} strokes do not fit")
        known += total > 0
        with_seq += bool(seq)
        data += struct.pack("<I", (total << 24) | packed)
    path = "crates/sscard-core/data/strokes.bin"
    summary = f"{LAST - FIRST + 1} code points, {known} with total strokes, {with_seq} with stroke order"
    if "--check" in sys.argv[1:]:
        with open(path, "rb") as f:
            committed = f.read()
        if committed != bytes(data):
            sys.exit(f"{path} differs from what the sources generate; re-run tools/gen-stroke-table.py")
        print(f"{path} is reproducible: {summary}")
        return
    with open(path, "wb") as f:
        f.write(data)
    print(summary)

if __name__ == "__main__":
    main()
