#!/usr/bin/env bash
# What a GPU translation compiled to, offline (no GPU): for each CUBIN given (a core
# with tier 2's regions, e.g. GPUOS_CACHE_DIR/t2/KEY.cubin, or one inside a carry's
# cache.tar.xz unpacked), the SASS instructions of the region functions (t2_r*) of one
# kernel, and how many of them are register moves (IMAD.MOV, MOV), local-memory loads
# and stores (LDL, STL: spills and the Core), calls and branches; then the same for the
# interpreter's loop (lane_run). The thirty-second session found 42 % of the regions'
# SASS to be moves and a spill of half the guest registers at every region entry
# (docs/BENCHMARKS.md): count these before spending device time on a change to the
# generated code.
#
# Usage: scripts/t2-sass-stats.sh CUBIN... (env KERNEL: gpuos_persistent, the default,
# or gpuos_quantum). nvdisasm comes from PyPI's nvidia-cuda-nvdisasm wheel, downloaded
# once into .deps/nvdisasm.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -gt 0 ] || { sed -n '2,15p' "$0"; exit 2; }
nvd=$root/.deps/nvdisasm
bin=$(find "$nvd" -name nvdisasm -type f 2>/dev/null | head -1 || true)
if [ -z "$bin" ]; then
    mkdir -p "$nvd"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$nvd" nvidia-cuda-nvdisasm
    (cd "$nvd" && unzip -q -o ./*.whl)
    bin=$(find "$nvd" -name nvdisasm -type f | head -1)
    chmod +x "$bin"
fi
kernel=${KERNEL:-gpuos_persistent}
for cubin in "$@"; do
    echo "== $cubin ($kernel)"
    "$bin" -c "$cubin" | awk -v k="$kernel" '
        # Function labels look like $KERNEL$MANGLED:, e.g. $gpuos_persistent$_Z5t2_r1R4Core...
        /^\$/ {
            fn = ""
            if (index($0, "$" k "$") == 1) {
                name = substr($0, length(k) + 3)
                if (name ~ /^_Z[0-9]+t2_r[0-9]+/) fn = "regions"
                else if (name ~ /^_Z[0-9]+lane_run/) fn = "lane_run"
            }
            next
        }
        /^\./ { next }
        fn != "" && /\/\*[0-9a-f]+\*\// {
            n[fn]++
            if ($0 ~ /IMAD\.MOV|[^A-Z]MOV /) mov[fn]++
            if ($0 ~ /LDL/) ldl[fn]++
            if ($0 ~ /STL/) stl[fn]++
            if ($0 ~ /CALL/) call[fn]++
            if ($0 ~ /BRA/) bra[fn]++
        }
        END {
            for (f in n)
                printf "%-9s %7d SASS: %6d moves (%.0f %%), %5d LDL, %5d STL, %4d CALL, %5d BRA\n",
                    f, n[f], mov[f], 100 * mov[f] / n[f], ldl[f], stl[f], call[f], bra[f]
        }'
done
