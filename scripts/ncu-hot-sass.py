#!/usr/bin/env python3
"""The hottest SASS instructions of an ncu source-page export.

Usage: ncu-hot-sass.py FILE.sass.csv[.gz] [N] [CUBIN KERNEL]

FILE: `ncu -i REPORT --page source --csv --print-source sass` (scripts/gpu-profile.sh
writes it gzipped). Prints the columns found, then the N (default 40) instructions
with the most warp-stall samples (the column "Warp Stall Sampling (All Samples)", or
any column naming samples), each with its share of all samples, and the share of the
samples by opcode (the first word of the SASS text, predicate removed). With CUBIN and
KERNEL (the CUBIN the profiled run loaded, e.g. a translation from the carry's cache,
and the profiled kernel, gpuos_quantum or gpuos_persistent) also the samples by
function: the kernel's section as nvdisasm lays it out (the kernel itself, then each
function it calls that was not inlined, labelled $KERNEL$MANGLED), each instruction's
address taken as its offset from the lowest address of the export; tier 2's regions
(t2_r*) summed as one line too. nvdisasm: scripts/t2-sass-stats.sh fetches it.
"""
import csv
import gzip
import os
import subprocess
import sys
from collections import Counter


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", errors="replace") as f:
        lines = f.read().splitlines()
    # ncu prints a few lines before the table (the kernel's name): the header is the
    # first line that names a column "Address" or "Source".
    start = next((i for i, l in enumerate(lines) if '"Source"' in l or '"Address"' in l), None)
    if start is None:
        print("ncu-hot-sass: no table in", path)
        print("\n".join(lines[:10]))
        return 1
    rows = list(csv.reader(lines[start:]))
    head, body = rows[0], rows[1:]
    print("columns:", " | ".join(head))
    samp = next((i for i, h in enumerate(head) if "Sampling (All" in h), None)
    if samp is None:
        samp = next((i for i, h in enumerate(head) if "samp" in h.lower()), None)
    if samp is None:
        print("ncu-hot-sass: no sample column")
        return 1
    src = head.index("Source") if "Source" in head else 1
    addr = head.index("Address") if "Address" in head else 0

    def num(r, i):
        try:
            return float(r[i].replace(",", "")) if i < len(r) and r[i] else 0.0
        except ValueError:
            return 0.0

    total = sum(num(r, samp) for r in body) or 1.0
    print(f"{len(body)} instructions, {total:.0f} samples in '{head[samp]}'")
    ops = Counter()
    for r in body:
        words = [w for w in r[src].split() if not w.startswith("@")] if src < len(r) else []
        ops[words[0].split(".")[0] if words else "?"] += num(r, samp)
    print("by opcode:", ", ".join(f"{o} {v / total:.1%}" for o, v in ops.most_common(15)))
    for r in sorted(body, key=lambda r: -num(r, samp))[:n]:
        print(f"{num(r, samp) / total:6.2%}  {r[addr] if addr < len(r) else ''}  {r[src][:90] if src < len(r) else ''}")
    if len(sys.argv) > 4:
        by_function(sys.argv[3], sys.argv[4], [(r[addr], num(r, samp)) for r in body if addr < len(r)], total)
    return 0


def nvdisasm():
    """The nvdisasm binary that scripts/t2-sass-stats.sh unpacked under .deps/nvdisasm."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".deps", "nvdisasm")
    for d, _, files in os.walk(root):
        if "nvdisasm" in files:
            return os.path.join(d, "nvdisasm")
    sys.exit("ncu-hot-sass: no nvdisasm under .deps/nvdisasm (run scripts/t2-sass-stats.sh once)")


def functions(cubin, kernel):
    """[(offset, name)] of the functions in KERNEL's section, in address order."""
    text = subprocess.run([nvdisasm(), "-c", cubin], capture_output=True, text=True, check=True).stdout
    out, inside, name = [], False, None
    for line in text.splitlines():
        if line.startswith(".text."):
            inside = line == f".text.{kernel}:"
            name = kernel if inside else None
            continue
        if not inside:
            continue
        if line.startswith("$" + kernel + "$"):
            name = line[len(kernel) + 2:].rstrip(":")
            continue
        m = line.find("/*")
        if name and m >= 0 and line[m + 2:m + 6].strip() and line.strip().startswith("/*"):
            off = int(line[m + 2:line.index("*/", m)], 16)
            out.append((off, name))
            name = None
    return out


def by_function(cubin, kernel, samples, total):
    """Print the share of samples per function of KERNEL's section."""
    starts = functions(cubin, kernel)
    addrs = [int(a, 16) for a, _ in samples if a.startswith("0x") or a.isalnum()]
    if not starts or not addrs:
        print("ncu-hot-sass: no functions or addresses to match")
        return
    base = min(addrs)
    import bisect
    offs = [o for o, _ in starts]
    per, region = Counter(), 0.0
    for a, v in samples:
        try:
            off = int(a, 16) - base
        except ValueError:
            continue
        i = bisect.bisect_right(offs, off) - 1
        fn = starts[i][1] if i >= 0 else "?"
        per[fn] += v
        if "t2_r" in fn[:12]:
            region += v
    print(f"by function ({len(starts)} in .text.{kernel}); tier-2 regions together {region / total:.1%}:")
    for fn, v in per.most_common(25):
        print(f"{v / total:6.2%}  {fn[:100]}")


if __name__ == "__main__":
    sys.exit(main())
