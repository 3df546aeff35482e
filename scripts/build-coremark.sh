#!/usr/bin/env bash
# Builds EEMBC CoreMark (github.com/eembc/coremark, Apache-2.0; not kept in this
# repository) as a static AArch64 program for the issue-14 measurements
# (docs/BENCHMARKS.md, twenty-ninth session): the benchmark's own sources with its
# POSIX port, -O2, timing by clock_gettime, iterations and seeds from the command line
# (`coremark SEED1 SEED2 SEED3 ITERATIONS 7 1 2000`: 0x0 0x0 0x66 is the performance
# run; a seed per lane gives each lane its own list and matrix data).
#
# Usage: scripts/build-coremark.sh SRC_DIR [OUT]   (OUT default .deps/coremark)
# SRC_DIR: a checkout or archive of eembc/coremark (core_main.c, posix/core_portme.c).
set -euo pipefail
src=${1:?usage: scripts/build-coremark.sh SRC_DIR [OUT]}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${2:-$root/.deps/coremark}
for f in core_list_join.c core_main.c core_matrix.c core_state.c core_util.c posix/core_portme.c; do
    [ -f "$src/$f" ] || { echo "build-coremark.sh: $src/$f not found (give the eembc/coremark sources)" >&2; exit 2; }
done
mkdir -p "$(dirname "$out")"
(cd "$src" && ${CC:-aarch64-linux-gnu-gcc} -static -O2 -Iposix -I. -DPERFORMANCE_RUN=1 -DITERATIONS=0 \
    -DFLAGS_STR='"-O2 -static"' -o "$out" core_list_join.c core_main.c core_matrix.c core_state.c \
    core_util.c posix/core_portme.c)
echo "$out"
