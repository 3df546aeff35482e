#!/usr/bin/env bash
# Persistent mode's relaunch policy (crates/gpuos/src/backend/cuda/relaunch.rs) on the
# device machine, off against on (GPUOS_RELAUNCH_MS=0 / =PERIOD), alternated, each
# run from a fresh copy of the carried cache. Builds nothing: the carry must hold the
# translation of `bench_int 200` (GPU_CARRY_TRANSLATE='bench_int 200'
# scripts/gpu-carry.sh).
#
# Usage: scripts/gpu-launch-policy.sh [CARRY_DIR]
# Environment: GPU_POLICY_PERIOD (ms, default 10), GPU_POLICY_REPEATS (default 2),
# GPU_POLICY_PROBES (';'-separated "LANES PROGRAM ARGS...", default below),
# GPU_POLICY_BACKEND (testing knob: the backend, default cuda; cpu runs the flow on a
# machine without a GPU, where the policy never acts).
#
# Each probe's row: guest instructions/s off and on (every repeat), the relaunches, the
# changes of slice length and the split steps per 1,000 translated instructions of the
# last run with the policy on,
# and "same" when the two runs' lane reports (every lane's status, stdout and stderr
# hashes and instructions retired) are equal, else "DIFFERENT" (the policy must change
# nothing but the time).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
dir=${1:-.carry}
case $dir in /*) ;; *) dir=$root/$dir ;; esac
G=$dir/gpuos
[ -x "$G" ] || { echo "gpu-launch-policy.sh: $G missing (scripts/gpu-carry.sh)" >&2; exit 2; }
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
period=${GPU_POLICY_PERIOD:-10}
repeats=${GPU_POLICY_REPEATS:-2}
probes=${GPU_POLICY_PROBES:-'16384 bench_int 200;16384 bench_int 20 {lane};65536 bench_int 50;4096 bench_int 200;1 bench_int 10'}
zeros=$(printf '%0*d' "${#period}" 0)
tmp=$(mktemp -d /tmp/gpu-policy.XXXXXX)
IFS=';' read -r -a plist <<<"$probes"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1

# run LABEL LANES PROGRAM ARGS...: one run; the log and the lane report under $tmp.
run() {
    local label=$1 lanes=$2 prog=$3
    shift 3
    rm -rf "$tmp/cache" && cp -r "$dir/cache" "$tmp/cache"
    GPUOS_CACHE_DIR=$tmp/cache timeout 120 "$G" run --backend "${GPU_POLICY_BACKEND:-cuda}" --lanes "$lanes" --translate auto -v \
        --lane-report "$tmp/$label.report" "$dir/bin/$prog" "$@" >/dev/null 2>"$tmp/$label.log"
}
ips() { sed -n 's/.* = \([0-9.]*\) M instructions\/s.*/\1/p' "$1" | head -1 | awk '{ printf "%.3f", $1 / 1000 }'; }

printf '%-34s %-22s %-22s %-10s %-7s %-8s %s\n' probe "off G/s" "on G/s" relaunches slices splits/k lanes
for p in "${plist[@]}"; do
    read -r -a argv <<<"$p"
    off="" on=""
    for ((i = 0; i < repeats; i++)); do
        # The guests inherit the environment: "off" sets the variable to zeros of the
        # same width, so that both runs' guests see environments of the same size and
        # retire the same instructions.
        GPUOS_RELAUNCH_MS=$zeros run off "${argv[@]}"
        off="$off $(ips "$tmp/off.log")"
        GPUOS_RELAUNCH_MS=$period run on "${argv[@]}"
        on="$on $(ips "$tmp/on.log")"
    done
    rel=$(sed -n 's/.*relaunched \([0-9]*\) times.*/\1/p' "$tmp/on.log" | head -1)
    changes=$(sed -n 's/.*slices changed length \([0-9]*\) times.*/\1/p' "$tmp/on.log" | head -1)
    split=$(sed -n 's/.*: \([0-9.]*\) split steps per 1000.*/\1/p' "$tmp/on.log" | head -1)
    same=DIFFERENT
    cmp -s "$tmp/off.report" "$tmp/on.report" && same=same
    printf '%-34s %-22s %-22s %-10s %-7s %-8s %s\n' "$p" "$off" "$on" "${rel:-0}" "${changes:-0}" "${split:--}" "$same"
done
[ -n "${GPU_POLICY_KEEP:-}" ] && echo "logs in $tmp" || rm -rf "$tmp"
