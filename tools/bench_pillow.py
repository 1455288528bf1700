#!/usr/bin/env python3
"""The peer for `sscard bench photos`: Pillow doing the same decode-resize-encode work as
`sscard_photo::normalize` with the face check off, one process (Pillow's usual deployment).

For each input: decode, turn upright by EXIF orientation, centre-crop to 358:441, bilinear resize
to 358x441 (bilinear, as sscard), encode a 350 dpi 4:2:0 JPEG at quality 90 -- moving the quality by binary search
only when the file falls outside 15-100 KB -- then the 102x126 chip photo at quality 70, lowered
until it is at most 4,096 bytes.

Pillow's usual deployment for a batch is one process per core (the GIL keeps one process to
one core for this work), so PROCESSES worker processes share the photos, started before the
clock runs; the figure is the wall time of all of them.

Usage: bench_pillow.py DIR_OF_JPEGS [REPEAT] [PROCESSES]   prints one JSON line with
photos_per_second.
"""
import io
import json
import os
import sys
import time

from PIL import Image, ImageOps

W, H, DPI = 358, 441, 350
MIN_B, MAX_B = 15 * 1024, 100 * 1024


def encode(img, q):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q, dpi=(DPI, DPI), subsampling="4:2:0")
    return buf.getvalue()


def in_window(img, start, floor, lo_b, hi_b):
    first = encode(img, start)
    if lo_b <= len(first) <= hi_b:
        return first
    if len(first) > hi_b:
        lo, hi, best = floor, start - 1, None
        while lo <= hi:
            q = (lo + hi) // 2
            data = encode(img, q)
            if len(data) <= hi_b:
                best, lo = data, q + 1
            else:
                hi = q - 1
        return best
    lo, hi, best = start + 1, 100, None
    while lo <= hi:
        q = (lo + hi) // 2
        data = encode(img, q)
        if len(data) >= lo_b:
            best, hi = data, q - 1
        else:
            lo = q + 1
    return best


def normalize(data):
    img = Image.open(io.BytesIO(data))
    img = ImageOps.exif_transpose(img).convert("RGB")
    w, h = img.size
    aspect = W / H
    if w / h > aspect:
        cw = h * aspect
        box = ((w - cw) / 2, 0, (w + cw) / 2, h)
    else:
        ch = w / aspect
        box = (0, (h - ch) / 2, w, (h + ch) / 2)
    out = img.resize((W, H), Image.Resampling.BILINEAR, box=box)
    card = in_window(out, 90, 30, MIN_B, MAX_B)
    chip = in_window(out.resize((102, 126), Image.Resampling.BILINEAR), 70, 5, 0, 4096)
    return card, chip


def work(inputs, repeat):
    n = 0
    for _ in range(repeat):
        for data in inputs:
            card, chip = normalize(data)
            assert card is not None and chip is not None
            n += 1
    return n


def worker(inputs, repeat, start, done):
    start.wait()
    try:
        done.put(work(inputs, repeat))
    except Exception as e:  # the parent must not wait for ever on a failed worker
        done.put(f"{type(e).__name__}: {e}")


def main():
    folder = sys.argv[1]
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    processes = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    files = sorted(os.listdir(folder))
    inputs = [open(os.path.join(folder, f), "rb").read() for f in files]
    if processes <= 1:
        t0 = time.perf_counter()
        n = work(inputs, repeat)
        seconds = time.perf_counter() - t0
    else:
        import multiprocessing as mp
        ctx = mp.get_context("fork")
        start, done = ctx.Event(), ctx.Queue()
        shares = [inputs[i::processes] for i in range(processes)]
        procs = [ctx.Process(target=worker, args=(share, repeat, start, done)) for share in shares]
        for p in procs:
            p.start()
        time.sleep(0.2)
        t0 = time.perf_counter()
        start.set()
        counts = [done.get() for _ in procs]
        seconds = time.perf_counter() - t0
        for p in procs:
            p.join()
        failed = [c for c in counts if not isinstance(c, int)]
        if failed:
            sys.exit("a Pillow worker failed: " + failed[0])
        n = sum(counts)
    import PIL
    print(json.dumps({"peer": "Pillow " + PIL.__version__, "processes": processes, "photos": n,
                      "seconds": seconds, "photos_per_second": n / seconds}))


if __name__ == "__main__":
    main()
