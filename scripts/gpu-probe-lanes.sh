#!/usr/bin/env bash
# Where the time of one many-lanes run goes, on the device machine: runs gpuos -v
# at N lanes for each probe and prints one row per run with gpuos's own phase
# timings (host set-up, process start, start and run, results read back) and the
# process's wall time and peak memory.
#
# Usage: scripts/gpu-probe-lanes.sh [CARRY_DIR] [LANES]   (defaults .carry, 100000)
# Probes (GPU_PROBES, ';'-separated "LABEL|OUTPUT|PROGRAM ARGS"; OUTPUT is
# "report" for --lane-report, "files" for --output-dir, "none" for neither;
# PROGRAM is a name in CARRY_DIR/bin or "busybox"): by default exit_codes and
# hello with each kind of output, then a few conformance programs.
# GPU_PROBE_BACKEND=cpu runs the probes on the CPU backend (to test this script).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-.carry}
case $dir in /*) ;; *) dir=$root/$dir ;; esac
lanes=${2:-100000}
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
export GPUOS_CACHE_DIR=$dir/cache
probes=${GPU_PROBES:-'exit0|report|exit_codes;exit0|files|exit_codes;exit0|none|exit_codes;hello|report|hello;hello|files|hello;atomics|report|atomics;signals|report|signals;bb-echo|report|busybox echo hi;bb-sort|report|busybox sort /etc/passwd'}
work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-probe.XXXXXX")
trap 'rm -rf "$work"' EXIT
printf '%-10s %-7s %7s %7s %7s %7s %7s %9s  %s\n' probe output setup start run results wall 'rss MiB' summary
IFS=';' read -r -a list <<<"$probes"
for p in "${list[@]}"; do
    IFS='|' read -r label output cmd <<<"$p"
    read -r -a argv <<<"$cmd"
    prog=${argv[0]}
    if [ "$prog" = busybox ]; then argv[0]=$dir/busybox; else argv[0]=$dir/bin/$prog; fi
    out=()
    case $output in
    report) out=(--lane-report "$work/r.tsv") ;;
    files) out=(--output-dir "$work/o") ;;
    esac
    log=$work/log
    (cd "$work" && /usr/bin/time -f 'TIME %e %M' "$dir/gpuos" run --backend "${GPU_PROBE_BACKEND:-cuda}" -v --lanes "$lanes" "${out[@]}" "${argv[@]}" >/dev/null 2>"$log")
    num() { sed -n "s/.*$1 \([0-9.]*\) s.*/\1/p" "$log" | head -1; }
    setup=$(num 'host set-up')
    start=$(num 'process start (gpuos_start)')
    run=$(num 'start and run')
    results=$(sed -n 's/.*closed in \([0-9.]*\) s.*/\1/p' "$log" | head -1)
    read -r _ wall rss < <(grep '^TIME' "$log")
    summary=$(grep -E '^gpuos: [0-9]+ lanes on' "$log" | sed 's/.*): //' | cut -c1-60)
    printf '%-10s %-7s %7s %7s %7s %7s %7s %9s  %s\n' "$label" "$output" "${setup:--}" "${start:--}" "${run:--}" \
        "${results:--}" "${wall:--}" "$(( ${rss:-0} / 1024 ))" "${summary:-$(tail -1 "$log" | cut -c1-60)}"
    rm -rf "$work/o" "$work/r.tsv"
done
