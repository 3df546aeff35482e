#!/usr/bin/env bash
# Tier 2 on the GPU, in one device command (docs/ARCHITECTURE.md, "Tier 2"): runs on
# the device machine from a carry made by
#   GPU_CARRY_TRANSLATE='/path/coremark 0x0 0x0 0x66 20 7 1 2000|int_arith|strings' \
#       scripts/gpu-carry.sh .carry && cp /path/coremark .carry/bin/
# whose cache holds the GPU translations of those programs (built on the CPU backend
# with --translate-for sm_90), so nothing is compiled here.
#
# Usage: scripts/gpu-tier2.sh [CARRY_DIR] [PART...]   (PART: correct, swap, fast,
# diverge; default the first three)
#
# 1. correct: the translated programs against qemu (scripts/conformance.sh --translate
#    auto: the runs start from the cached translation) at 1 lane in persistent and
#    quantum mode and at 1000 lanes;
# 2. swap: the same cases with GPUOS_T2_SWAP_AFTER_MS=300, so the translated core
#    replaces the running interpreter part way (the persistent kernel stopped and
#    relaunched; the next quantum);
# 3. fast: CoreMark (if bin/coremark is there) and int_arith interpreted and
#    translated side by side, at 1 lane and at many, with gpuos -v's figures;
# 4. diverge: CoreMark (bin/coremark) translated with a seed1 per lane (T2_DIV_LANES
#    lanes, default 1024, 4 iterations: lanes whose paths part, the warp scheduler's
#    case), every lane's output against qemu with the same seed.
# Env: T2_LANES (lane counts), T2_SEEDS (lanes of the divergent run), T2_MODES
# (--translate values), T2_RUN_MODE (--mode of the fast part: persistent, the default,
# or quantum), T2_TIMEOUT (s per run), T2_QEMU=0 (no qemu figures);
# GPUOS_INTERLEAVE passes through (0: every frame contiguous, to compare).
# Prints a table; with OUT set, also $OUT/gpu-tier2.txt and the logs.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
# shellcheck source=scripts/coremark-lib.sh
. scripts/coremark-lib.sh
dir=${1:-.carry}
shift || true
parts=${*:-correct swap fast}
want() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
case $dir in /*) ;; *) dir=$root/$dir ;; esac
G=$dir/gpuos
# A cache packed by gpu-carry.sh (GPU_CARRY_XZ=1) is unpacked first.
"$root/scripts/carry-cache.sh" "$dir" || exit 1
export GPUOS_CACHE_DIR=$dir/cache
out=${OUT:-/tmp/gpu-tier2}
mkdir -p "$out"
table=$out/gpu-tier2.txt
: >"$table"
row() { printf '%-34s %s\n' "$1" "$2" | tee -a "$table"; }

conf() {
    local label=$1
    shift
    local log=$out/conf-$label.log
    timeout 200 scripts/conformance.sh --gpuos "$G" --backend cuda --bin-dir "$dir/bin" \
        --busybox "$dir/busybox" --qemu "$dir/qemu-aarch64-static" --timeout 120 \
        --translate auto --filter '^(int_arith|strings)$' "$@" >"$log" 2>&1
    row "$label" "$(grep -E '^conformance: [0-9]+ passed' "$log" || echo "no result (see $log)")"
    grep -E ' FAIL ' "$log" | head -5
}

if want correct; then
    conf correct-persistent --mode persistent
    conf correct-quantum --mode quantum
    conf correct-1000-lanes --mode persistent --lanes 1000 --lane-check report
fi
if want diverge && [ -x "$dir/bin/coremark" ]; then
    n=${T2_DIV_LANES:-1024}
    cm=$dir/bin/coremark
    for i in $(seq 0 $((n - 1))); do echo "$cm 0x$i 0x0 0x66 4 7 1 2000"; done >"$out/jobs-div.txt"
    rm -rf "$out/div" "$out/divq" && mkdir -p "$out/div" "$out/divq"
    timeout "${T2_TIMEOUT:-150}" "$G" run --backend cuda --jobs "$out/jobs-div.txt" --translate auto -v \
        --output-dir "$out/div" >/dev/null 2>"$out/div.err"
    rc=$?
    seq 0 $((n - 1)) | xargs -P "$(nproc)" -I{} sh -c "$dir/qemu-aarch64-static $cm 0x{} 0x0 0x66 4 7 1 2000 >$out/divq/{}.out"
    bad=0
    for i in $(seq 0 $((n - 1))); do
        diff <(grep -vE "$COREMARK_TIMING" "$out/divq/$i.out") \
            <(grep -vE "$COREMARK_TIMING" "$out/div/lane-$i.stdout" 2>/dev/null) \
            >/dev/null || bad=$((bad + 1))
    done
    row "diverge $n lanes" "gpuos rc=$rc, $((n - bad)) of $n lanes equal to qemu $(grep -oE '[0-9.]+% of [0-9]+ guest instructions ran translated' "$out/div.err")"
fi
if want swap; then
    GPUOS_T2_SWAP_AFTER_MS=300 conf swap-persistent --mode persistent
    GPUOS_T2_SWAP_AFTER_MS=300 conf swap-quantum --mode quantum
fi
want fast || { cat "$table"; exit 0; }

# fast LABEL LANES PROGRAM ARGS...: interpreted, then translated; gpuos -v's rate and
# tier 2's share, and the stdout of lane 0 compared. LANES "jobs:FILE" runs the job
# list FILE instead (one lane per line).
fast() {
    local label=$1 lanes=$2
    shift 2
    local t how
    case $lanes in jobs:*) how=(--jobs "${lanes#jobs:}") ;; *) how=(--lanes "$lanes") ;; esac
    for t in ${T2_MODES:-never auto}; do
        timeout "${T2_TIMEOUT:-150}" "$G" run --backend cuda ${T2_RUN_MODE:+--mode "$T2_RUN_MODE"} "${how[@]}" --translate "$t" -v "$@" \
            >"$out/fast-$label-$t.out" 2>"$out/fast-$label-$t.err"
        local rate share
        rate=$(grep -oE '[0-9]+ guest instructions in [0-9.]+ s = [0-9.]+ [MG] instructions/s' "$out/fast-$label-$t.err")
        share=$(grep -oE '[0-9.]+% of [0-9]+ guest instructions ran translated' "$out/fast-$label-$t.err")
        groups=$(grep -oE '[0-9]+ interleaved groups' "$out/fast-$label-$t.err")
        together=$(grep -oE '[0-9.]+ lanes together on average' "$out/fast-$label-$t.err")
        row "$label $t" "${rate:-failed} ${share:+($share)} ${groups:+[$groups]} ${together:+[$together]}"
    done
    # CoreMark prints its own timing: compare the lines that do not depend on it.
    if diff <(grep -vE "$COREMARK_TIMING" "$out/fast-$label-never.out") \
        <(grep -vE "$COREMARK_TIMING" "$out/fast-$label-auto.out") >/dev/null; then
        row "$label output" "same interpreted and translated"
    else
        row "$label output" "DIFFERS (see $out/fast-$label-*.out)"
    fi
}

if [ -x "$dir/bin/coremark" ]; then
    fast coremark-1 1 "$dir/bin/coremark" 0x0 0x0 0x66 20 7 1 2000
    for n in ${T2_LANES:-16384}; do
        fast "coremark-$n" "$n" "$dir/bin/coremark" 0x0 0x0 0x66 20 7 1 2000
    done
    # A different seed per lane (a real sweep): the lanes' paths diverge. seed1 (the
    # list's and the matrix's data) varies; seed3 would scale the work with its value.
    n=${T2_SEEDS:-16384}
    for i in $(seq 0 $((n - 1))); do echo "$dir/bin/coremark 0x$i 0x0 0x66 20 7 1 2000"; done >"$out/jobs-coremark.txt"
    fast "coremark-seeds-$n" "jobs:$out/jobs-coremark.txt"
    # qemu-aarch64 on every host core, the same program: 64 processes of 4000
    # iterations (the performance seeds, then a seed1 each), iterations/s.
    q=$dir/qemu-aarch64-static
    if [ -x "$q" ] && [ "${T2_QEMU:-1}" != 0 ]; then
        for how in same seeds; do
            row "qemu coremark-$how $(nproc) cores" "$(qemu_coremark "$q" "$dir/bin/coremark" $how 4000)"
        done
    fi
fi
fast int_arith-1 1 "$dir/bin/int_arith"
fast int_arith-10000 10000 "$dir/bin/int_arith"
echo "--- table"
cat "$table"
