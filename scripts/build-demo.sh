#!/usr/bin/env bash
# Build the demo guest (tests/guest/demo.c) into crates/gpuos-cli/assets/demo.elf,
# the prebuilt static AArch64 program `gpuos` runs when given no program. The
# result is committed, so keep it small (< 1 MiB; falls back to -Os) and
# reproducible (no build id). Rebuilds only when demo.c is newer; -f forces.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CC=${CC:-aarch64-linux-gnu-gcc}
src=$root/tests/guest/demo.c
out=$root/crates/gpuos-cli/assets/demo.elf
limit=$((1024 * 1024))

if [ "${1:-}" != "-f" ] && [ -f "$out" ] && [ "$out" -nt "$src" ]; then
    echo "build-demo.sh: $out is up to date"
    exit 0
fi
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "build-demo.sh: $CC not found (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)" >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
for opt in -O2 -Os; do
    "$CC" -static "$opt" -s -Wl,--build-id=none -o "$out.tmp" "$src"
    size=$(wc -c <"$out.tmp")
    if [ "$size" -lt "$limit" ]; then
        mv -f "$out.tmp" "$out"
        echo "build-demo.sh: built $out ($size bytes, $opt)"
        exit 0
    fi
done
rm -f "$out.tmp"
echo "build-demo.sh: demo.elf is $size bytes even with -Os (limit $limit)" >&2
exit 1
