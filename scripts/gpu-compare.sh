#!/usr/bin/env bash
# Side-by-side timing of core variants on the device machine (builds nothing): each
# probe runs once per variant, in turn, GPU_COMPARE_REPEATS times, so that the
# variants see the same machine; the table gives each probe's execution time (as
# gpuos reports it: start kernel to last lane's end), guest instructions per second,
# and the lanes' summary (exit statuses, distinct stdouts) of the last repeat.
#
# Usage: scripts/gpu-compare.sh [CARRY_DIR] VARIANT...
#   VARIANT  a GPUOS_NVRTC_OPTS value (e.g. -DGPUOS_INDEPENDENT_LANES), or "default"
#            for the core as built; each must be in the carry's cache
#            (GPU_CARRY_VARIANTS of scripts/gpu-carry.sh), or it is compiled first
#
# Environment:
#   GPU_COMPARE_PROBES   ';'-separated probes "LANES [VAR=VALUE...] [--OPT=VALUE...]
#                        PROGRAM ARGS..." (PROGRAM in the carry's bin/; the
#                        variables go to the run's environment, the options to
#                        `gpuos run`, e.g. "16384 GPUOS_QUANTUM=16384 --mode=quantum
#                        --translate=auto bench_int 200"); default below
#   GPU_COMPARE_FRESH    1: every run from a fresh copy of the carry's cache (a
#                        translating run may add to it; default 0)
#   GPU_COMPARE_REPEATS  runs of each probe and variant (default 2)
#   GPU_COMPARE_TIMEOUT  seconds per run (default 120)
#   GPU_COMPARE_BACKEND  testing knob: the backend (default cuda; cpu runs the flow
#                        on a machine without a GPU)
# With OUT set, the logs are packed into $OUT/gpu-compare-logs.tar.gz.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
dir=.carry
if [ "$#" -gt 0 ] && [ -d "$1" ]; then dir=$1; shift; fi
[ "$#" -gt 0 ] || { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2; }
case $dir in /*) ;; *) dir=$root/$dir ;; esac
G=$dir/gpuos
[ -x "$G" ] || { echo "gpu-compare.sh: $G missing (scripts/gpu-carry.sh)" >&2; exit 2; }
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
export GPUOS_CACHE_DIR=$dir/cache
probes=${GPU_COMPARE_PROBES:-'1 int_arith;1 spin 3000000;1 sysloop 20000;1000 int_arith;1000 fp_math;1000 hello;10000 sysloop 100;100000 hello;100000 spin 10000'}
repeats=${GPU_COMPARE_REPEATS:-2}
limit=${GPU_COMPARE_TIMEOUT:-120}
logs=$(mktemp -d /tmp/gpu-compare.XXXXXX)
IFS=';' read -r -a plist <<<"$probes"
variants=("$@")
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1

secs() { sed -n 's/.* guest instructions in \([0-9.]*\) s = .*/\1/p' "$1" | head -1; }
mips() { sed -n 's/.* s = \([0-9.]*\) M instructions\/s.*/\1/p' "$1" | head -1; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }

for ((r = 1; r <= repeats; r++)); do
    for pi in "${!plist[@]}"; do
        # shellcheck disable=SC2086 # the probe's words
        set -- ${plist[$pi]}
        lanes=$1
        shift
        envs=() opts=()
        while [ "$#" -gt 0 ] && [[ $1 == [A-Z]*=* ]]; do envs+=("$1"); shift; done
        while [ "$#" -gt 0 ] && [[ $1 == --* ]]; do opts+=("$1"); shift; done
        prog=$1
        shift
        for vi in "${!variants[@]}"; do
            v=${variants[$vi]}
            [ "$v" = default ] && v=
            log=$logs/p$pi-v$vi-r$r.log
            cache=$dir/cache
            if [ "${GPU_COMPARE_FRESH:-0}" = 1 ]; then
                cache=$logs/cache && rm -rf "$cache" && cp -r "$dir/cache" "$cache"
            fi
            env "${envs[@]}" GPUOS_CACHE_DIR="$cache" GPUOS_NVRTC_OPTS="$v" timeout -k 5 "$limit" "$G" run \
                --backend "${GPU_COMPARE_BACKEND:-cuda}" -v --lanes "$lanes" "${opts[@]}" \
                "$dir/bin/$prog" "$@" >"$log.out" 2>"$log"
            echo "$? " >"$log.rc"
            echo "[gpu-compare] r$r ${plist[$pi]} [${variants[$vi]}]: $(secs "$log") s, $(mips "$log") M/s, exit $(cat "$log.rc")"
        done
    done
done

echo
echo "==== gpu-compare: median of $repeats (execution time s / M guest instructions/s); last run's lanes"
for pi in "${!plist[@]}"; do
    for vi in "${!variants[@]}"; do
        s=$(for ((r = 1; r <= repeats; r++)); do secs "$logs/p$pi-v$vi-r$r.log"; done | median)
        m=$(for ((r = 1; r <= repeats; r++)); do mips "$logs/p$pi-v$vi-r$r.log"; done | median)
        last=$logs/p$pi-v$vi-r$repeats.log
        sum=$(grep -o '[0-9]* lanes on [^:]*: .*' "$last" | head -1 | sed 's/ on [^:]*:/:/' | cut -c1-60)
        dist=$(grep -o '[0-9]* distinct stdout' "$last" | head -1)
        printf '%-26s %-32s %9s s %10s M/s  %s %s\n' "${plist[$pi]}" "[${variants[$vi]}]" "$s" "$m" \
            "${sum:-exit $(cat "$last.rc")}" "${dist:+; $dist}" | sed "s/; 0 distinct stdout//"
        stages=$(grep -o '[0-9]* host requests, mean us.*' "$last" | head -1 | cut -c1-150)
        [ -n "$stages" ] && [ "${plist[$pi]%% *}" = 1 ] && echo "    stages: $stages"
    done
done
[ -n "${OUT:-}" ] && tar -czf "$OUT/gpu-compare-logs.tar.gz" -C "$logs" . 2>/dev/null
exit 0
