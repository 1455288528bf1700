#!/usr/bin/env python3
"""Makes the CJK font sscard ships (crates/sscard-photo/fonts/sscard-cjk.ttf).

A subset of WenQuanYi Micro Hei (Debian's fonts-wqy-microhei, Apache-2.0) holding:
  - every character of GB 2312 (the 6,763 hanzi and its symbols),
  - ASCII, Latin-1, general punctuation, CJK symbols, fullwidth forms,
  - every other character that appears in sscard's own sources and data (names in the test
    and demo data, labels of the console and documents), so nothing sscard prints falls back.

Run from the repository root:  python3 tools/gen-font-subset.py [--check]
Needs Debian's python3-fonttools and fonts-wqy-microhei. --check rebuilds in a temporary file
and fails if the committed subset lacks a character it would now hold.
"""
import pathlib
import subprocess
import sys
import tempfile

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = pathlib.Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
OUT = ROOT / "crates/sscard-photo/fonts/sscard-cjk.ttf"


def gb2312():
    chars = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def ranges():
    spans = [(0x20, 0x7E), (0xA0, 0xFF), (0x2000, 0x206F), (0x3000, 0x303F), (0xFF00, 0xFFEF),
             (0x2460, 0x24FF), (0x2190, 0x21FF), (0x25A0, 0x25FF)]
    return {chr(c) for a, b in spans for c in range(a, b + 1)}


def from_sources():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    chars = set()
    for f in files:
        if not f.endswith((".rs", ".toml", ".csv", ".md", ".html", ".txt", ".json")):
            continue
        try:
            text = (ROOT / f).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        chars.update(c for c in text if ord(c) > 0x7F)
    return chars


def build(out):
    font = TTCollection(str(SOURCE)).fonts[0]
    cmap = font.getBestCmap()
    wanted = gb2312() | ranges() | from_sources()
    unicodes = sorted(ord(c) for c in wanted if ord(c) in cmap)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.layout_features = ["*"]
    sub = subset.Subsetter(options)
    sub.populate(unicodes=unicodes)
    sub.subset(font)
    font.save(str(out))
    return len(unicodes)


def covered(path):
    return set(TTFont(str(path)).getBestCmap())


def main():
    if "--check" in sys.argv:
        with tempfile.TemporaryDirectory() as d:
            tmp = pathlib.Path(d) / "f.ttf"
            build(tmp)
            missing = sorted(covered(tmp) - covered(OUT))
            if missing:
                print(f"{OUT} is out of date: {len(missing)} characters missing, e.g. "
                      + "".join(map(chr, missing[:20])) + "; run tools/gen-font-subset.py",
                      file=sys.stderr)
                sys.exit(1)
        print(f"{OUT.name}: up to date")
        return
    n = build(OUT)
    print(f"{OUT}: {n} characters, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
