#!/usr/bin/env bash
# Nsight Compute profile of gpuos lanes on the device machine (builds nothing; uses the
# carry directory made by scripts/gpu-carry.sh). Quantum mode, so that one kernel launch
# is short (QUANTUM instructions per lane) and ncu can replay it for every section.
# Writes, under $OUT (or /tmp/gpu-profile):
#   <name>.ncu-rep          the report (open with ncu-ui)
#   <name>.details.txt      every section's table (ncu --page details)
#   <name>.sass.csv.gz      per-SASS-instruction samples and counters (--page source)
#
# Also prints the registers and stack (spill) bytes of the kernels and of tier 2's
# region functions in every CUBIN of the cache (cuobjdump -res-usage).
#
# Usage: scripts/gpu-profile.sh [CARRY_DIR] [PROGRAM [LANES [ARGS...]]]
# PROGRAM: a name under CARRY_DIR/bin or a path. Env: PROF_TRANSLATE (--translate,
# default never), PROF_SECTIONS (ncu sections; default hardware counters only, `full`
# ncu's full set), PROF_METRICS (extra metrics, e.g.
# `group:smsp__pcsamp_warp_stall_reasons`: stall samples per SASS instruction, read
# without patching the SASS; scripts/ncu-hot-sass.py lists the hottest),
# PROF_SKIP (launches skipped, default 2; a quantum launch runs up to 4 slices of
# GPUOS_QUANTUM instructions, 64 K, so the launch profiled starts near a lane's
# 4 x 64 K x PROF_SKIP-th instruction: skip past the program's start-up), PROF_TIMEOUT
# (seconds, default 300).
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
case $prog in */*) path=$prog ;; *) path=$dir/bin/$prog ;; esac
t=${PROF_TRANSLATE:-never}
name=$(basename "$prog")-$lanes-$t
for f in "$root/$dir"/cache/*.cubin "$root/$dir"/cache/t2/*.cubin; do
    cuobjdump -res-usage "$f" 2>/dev/null | awk -v file="$(basename "$f")" '
        /Function/ { name = $2; sub(":$", "", name) }
        /REG:/ {
            reg = stack = 0
            for (i = 1; i <= NF; i++) {
                if ($i ~ /^REG:/) { split($i, a, ":"); reg = a[2] }
                if ($i ~ /^STACK:/) { split($i, a, ":"); stack = a[2] }
            }
            if (name ~ /^t2_r[0-9]+/) { n++; if (reg > mr) mr = reg; if (stack > ms) ms = stack; sr += reg; ss += stack }
            else if (name ~ /gpuos_(quantum|persistent)$/) printf "%s %s: REG %d STACK %d\n", file, name, reg, stack
        }
        END { if (n) printf "%s: %d region functions: REG max %d mean %.0f, STACK max %d mean %.0f\n", file, n, mr, sr / n, ms, ss / n }'
done
# The default sections read hardware counters only. `PROF_SECTIONS=full` is ncu's full
# set, whose source counters patch the kernel's SASS: with a translation compiled in
# (2.7 MB of SASS in one kernel) the patched launch hung past 200 s (thirtieth session).
PROF_SECTIONS=${PROF_SECTIONS:-SpeedOfLight Occupancy LaunchStats WarpStateStats InstructionStats SchedulerStats MemoryWorkloadAnalysis_Tables}
if [ "$PROF_SECTIONS" = full ]; then
    what=(--set full --import-source yes)
else
    what=()
    for s in $PROF_SECTIONS; do what+=(--section "$s"); done
fi
for mt in ${PROF_METRICS:-}; do what+=(--metrics "$mt"); done
timeout "${PROF_TIMEOUT:-300}" ncu --clock-control none "${what[@]}" -k regex:gpuos_quantum \
    --launch-skip "${PROF_SKIP:-2}" --launch-count 1 -f -o "$out/$name" \
    "$dir/gpuos" run --backend cuda --mode quantum --lanes "$lanes" --translate "$t" "$path" "$@" \
    >"$out/$name.run.txt" 2>&1
# A timeout stops ncu, not the program it launched, which would keep the GPU's memory
# (the next profile's context then fails: CUDA_ERROR_OUT_OF_MEMORY).
pkill -9 -f "$dir/gpuos run --backend cuda --mode quantum" 2>/dev/null
tail -3 "$out/$name.run.txt"
ncu -i "$out/$name.ncu-rep" --page details --print-details all >"$out/$name.details.txt" 2>&1
ncu -i "$out/$name.ncu-rep" --page source --csv --print-source sass 2>&1 | gzip >"$out/$name.sass.csv.gz"
grep -E "Duration|Registers Per|Achieved Occupancy|Theoretical Occupancy|Executed Ipc A|Local Memory|L1/TEX Hit|L2 Hit|DRAM Throughput|Memory Throughput|Mem Busy|Max Bandwidth|Warp Cycles Per Issued|No Eligible|Block Limit" "$out/$name.details.txt" | head -40
