#!/usr/bin/env bash
# Nsight Compute profile of gpuos lanes on the device machine (builds nothing; uses the
# carry directory made by scripts/gpu-carry.sh). Quantum mode, so that one kernel launch
# is short (QUANTUM instructions per lane) and ncu can replay it for every section.
# Writes, under $OUT (or /tmp/gpu-profile):
#   <name>.ncu-rep          the report (open with ncu-ui)
#   <name>.details.txt      every section's table (ncu --page details)
#   <name>.sass.csv.gz      per-SASS-instruction samples and counters (--page source)
#
# Usage: scripts/gpu-profile.sh [CARRY_DIR] [PROGRAM [LANES [ARGS...]]]
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
dir=${1:-.carry}
prog=${2:-int_arith}
lanes=${3:-1}
shift 3 2>/dev/null || shift $#
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
export GPUOS_CACHE_DIR=$root/$dir/cache
export PATH=$PATH:/usr/local/cuda/bin:/opt/nvidia/nsight-compute/2025.3.1
out=${OUT:-/tmp/gpu-profile}
mkdir -p "$out"
name=$prog-$lanes
ncu --clock-control none --set full --import-source yes -k regex:gpuos_quantum \
    --launch-skip 2 --launch-count 1 -f -o "$out/$name" \
    "$dir/gpuos" run --backend cuda --mode quantum --lanes "$lanes" "$dir/bin/$prog" "$@" \
    >"$out/$name.run.txt" 2>&1
tail -3 "$out/$name.run.txt"
ncu -i "$out/$name.ncu-rep" --page details >"$out/$name.details.txt" 2>&1
ncu -i "$out/$name.ncu-rep" --page source --csv --print-source sass 2>&1 | gzip >"$out/$name.sass.csv.gz"
grep -E "Duration|Registers Per|Achieved Occupancy|Executed Ipc A|Local Memory|L1/TEX Hit|Warp Cycles Per Issued|No Eligible" "$out/$name.details.txt" | head -20
