#!/usr/bin/env python3
"""The hottest SASS instructions of an ncu source-page export.

Usage: ncu-hot-sass.py FILE.sass.csv[.gz] [N]

FILE: `ncu -i REPORT --page source --csv --print-source sass` (scripts/gpu-profile.sh
writes it gzipped). Prints the columns found, then the N (default 40) instructions
with the most warp-stall samples (the column "Warp Stall Sampling (All Samples)", or
any column naming samples), each with its share of all samples, and the share of the
samples by opcode (the first word of the SASS text, predicate removed).
"""
import csv
import gzip
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
