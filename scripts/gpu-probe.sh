#!/usr/bin/env bash
# Quick A/B probes on the device machine (builds nothing): the measurements the
# sessions of docs/BENCHMARKS.md repeat, each a line or a few, for one or more carry
# directories side by side in one device command (compare only within one command).
#
# Usage: scripts/gpu-probe.sh PROBE[,PROBE...] CARRY_DIR [CARRY_DIR...]
#   (each CARRY_DIR made by scripts/gpu-carry.sh, e.g. with
#    GPU_CARRY_BINS="sysloop bench_int fdmany spin")
# Probes:
#   rt        the host round trip's stages at one lane (`sysloop 20000`, -v means)
#   tput      host syscalls/s: 10,000 lanes x sysloop 200 and 30,000 x sysloop 100
#   fdmany    fdmany at 1,000 lanes (many short file calls per lane), every lane checked
#             against lane 0's output hash and exit status
#   t2cold    16,384 x bench_int 1500 from no cached translation (--translate auto):
#             when the translation is swapped in, the run's time and share translated
#   democold  `gpuos demo -v` with an empty cache (the ladder of cores)
#   spawn     issue 16's spawn figures: `gpuos bench --quick --workloads
#             spawn,spawn-fork,xargs` at PROBE_SPAWN_LANES lanes (default 1024; the
#             carry needs bench_spawn, and busybox for xargs): thread and process
#             spawns/s, the device's us per spawn, each workload's time against qemu
#             (with GPUOS_NVRTC_OPTS in PROBE_ENV a core variant of the carry)
#   spawnus   the device's time per spawn (`gpuos run -v`'s mean from the clone call to
#             the child runnable) of `bench_spawn 50` (threads) and `bench_spawn 50
#             fork` at PROBE_SPAWNUS_LANES lanes (default "1 32"), interpreted: a
#             spawn's own cost at one lane, a warp's at 32 (with GPUOS_NVRTC_OPTS in
#             PROBE_ENV a core variant of the carry)
#   t2        tier 2 from the carry's cached translation of `bench_int 200`
#             (GPU_CARRY_TRANSLATE='bench_int 200'), each run from a fresh copy of the
#             cache: 1 lane, 16,384 lanes, 16,384 lanes of `bench_int 20 {lane}` (a
#             seed per lane); instructions/s and the share translated
# Environment: PROBE_ENV (assignments, space-separated, put before every gpuos command,
# e.g. "GPUOS_SUB_RINGS=1"), PROBE_TIMEOUT (seconds per command, default 120),
# PROBE_BACKEND (default cuda; cpu to try the script without a GPU).
set -uo pipefail
[ "$#" -ge 2 ] || { sed -n '2,/^set /p' "$0" | sed '$d'; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
probes=$1
shift
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
T=${PROBE_TIMEOUT:-120}
B=${PROBE_BACKEND:-cuda}
read -r -a penv <<<"${PROBE_ENV:-}"
nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
# g CARRY ARGS...: gpuos of CARRY with its cache, stdout to /tmp/probe.out, stderr to
# /tmp/probe.err; prints the exit status and the milliseconds.
g() {
    local c=$1 s
    shift
    s=$(date +%s%N)
    env "${penv[@]}" GPUOS_CACHE_DIR="$c/cache" timeout "$T" "$c/gpuos" "$@" >/tmp/probe.out 2>/tmp/probe.err
    echo "rc=$? ms=$(ms_since "$s")"
}
pick() { grep -oE "$1" /tmp/probe.err | tr '\n' ' '; }
for c in "$@"; do
    c=$(cd "$c" && pwd) || exit 2
    # A cache packed by gpu-carry.sh (GPU_CARRY_XZ=1) is unpacked first.
    "$here/carry-cache.sh" "$c" || exit 1
    for p in ${probes//,/ }; do
        case $p in
        rt)
            r=$(g "$c" run --backend "$B" --mode persistent --translate never -v "$c/bin/sysloop" 20000)
            echo "[$p] $c: $r $(grep -h 'mean us' /tmp/probe.err)"
            ;;
        spawn)
            r=$(g "$c" bench --backend "$B" --quick --skip-cold-compile --workloads spawn,spawn-fork,xargs \
                --lanes "${PROBE_SPAWN_LANES:-1024}" --bin-dir "$c/bin" --busybox "$c/busybox" \
                --qemu "$c/qemu-aarch64-static")
            echo "[$p] $c: $r"
            grep -E '^(spawn|spawn-fork|xargs) |spawns/s|^  (spawn|spawn-fork|xargs) ' /tmp/probe.out | sed "s|^|[$p]   |"
            ;;
        spawnus)
            for lanes in ${PROBE_SPAWNUS_LANES:-1 32}; do
                for kind in "" fork; do
                    r=$(g "$c" run --backend "$B" --translate never --lanes "$lanes" -v "$c/bin/bench_spawn" 50 $kind)
                    echo "[$p] $c: $lanes lanes bench_spawn 50 ${kind:-(threads)}: $r $(pick '[0-9]+ processes and threads spawned on the device, [0-9.]+ us each')"
                done
            done
            ;;
        tput)
            for ln in "10000 200" "30000 100"; do
                read -r lanes n <<<"$ln"
                r=$(g "$c" run --backend "$B" --lanes "$lanes" --translate never -v "$c/bin/sysloop" "$n")
                echo "[$p] $c: $lanes lanes x $n: $r $(pick '[0-9]+ exit 0|in [0-9.]+ s =|poller saw completion [0-9.]+')"
            done
            ;;
        fdmany)
            r=$(g "$c" run --backend "$B" --lanes 1000 -v --lane-report /tmp/probe.lr "$c/bin/fdmany")
            echo "[$p] $c: $r $(pick '[0-9]+ exit 0|lane resumed [0-9.]+')"
            awk -F'\t' 'NR>1{print $2,$3,$4}' /tmp/probe.lr 2>/dev/null | sort | uniq -c | sed "s|^|[$p]   |"
            ;;
        t2cold)
            rm -rf "$c/cache/t2"
            s=$(date +%s%N)
            env "${penv[@]}" GPUOS_CACHE_DIR="$c/cache" timeout "$T" "$c/gpuos" run --backend "$B" --lanes 16384 \
                --translate auto -v --lane-report /tmp/probe.lr "$c/bin/bench_int" 1500 >/tmp/probe.out \
                2> >(while IFS= read -r l; do echo "[$(ms_since "$s") ms] $l"; done >/tmp/probe.err)
            echo "[$p] $c: rc=$? ms=$(ms_since "$s")"
            sleep 1
            grep -E 'loaded in|tier 2:|instructions in' /tmp/probe.err | sed "s|^|[$p]   |"
            awk -F'\t' 'NR>1{print $2,$3,$4}' /tmp/probe.lr 2>/dev/null | sort | uniq -c | sed "s|^|[$p]   |"
            ;;
        t2)
            for run in "1 200" "16384 200" "16384 20 {lane}"; do
                read -r lanes n seed <<<"$run"
                rm -rf /tmp/probe-t2 && cp -r "$c/cache" /tmp/probe-t2
                s=$(date +%s%N)
                env "${penv[@]}" GPUOS_CACHE_DIR=/tmp/probe-t2 timeout "$T" "$c/gpuos" run --backend "$B" \
                    --lanes "$lanes" --translate auto -v "$c/bin/bench_int" "$n" ${seed:+"$seed"} \
                    >/tmp/probe.out 2>/tmp/probe.err
                echo "[$p] $c: $lanes lanes x bench_int $n ${seed:-}: rc=$? ms=$(ms_since "$s")" \
                    "$(pick '[0-9]+ exit 0|= [0-9.]+ [MG] instructions/s|[0-9.]+% of [0-9]+ guest')"
            done
            ;;
        democold)
            rm -rf /tmp/probe-cold && mkdir -p /tmp/probe-cold
            s=$(date +%s%N)
            env "${penv[@]}" GPUOS_CACHE_DIR=/tmp/probe-cold timeout "$T" "$c/gpuos" demo -v >/tmp/probe.out 2>&1
            echo "[$p] $c: rc=$? ms=$(ms_since "$s")"
            grep -E 'loaded in|gpuos demo:' /tmp/probe.out | sed "s|^|[$p]   |"
            ;;
        *)
            echo "gpu-probe.sh: unknown probe $p" >&2
            exit 2
            ;;
        esac
    done
done
