#!/usr/bin/env bash
# One device command for CoreMark's divergence questions (docs/BENCHMARKS.md, thirtieth
# session, "Next"): on the device machine, with a carry made by
#   GPU_CARRY_XZ=1 GPU_CARRY_BINS=int_arith GPU_CARRY_REGION_BLOCKS="40 80" \
#   GPU_CARRY_TRANSLATE="$PWD/.deps/coremark 0x0 0x0 0x66 20 7 1 2000" scripts/gpu-carry.sh .carry
#   cp .deps/coremark .carry/bin/   (scripts/build-coremark.sh makes .deps/coremark)
# runs CoreMark translated at LANES lanes (default 16,384; DIV_LANES: several counts),
# converged (seed 0x0, 20 iterations) and with a seed per lane (0x{lane}, 6
# iterations), for each core variant of DIV_VARIANTS (below) and each region size in
# DIV_REGION_BLOCKS (default "40 80") and each mode of DIV_MODES (default persistent;
# "persistent quantum": both), alternated, DIV_RUNS times (default 2); qemu
# on every host core with the same program (carried qemu-aarch64-static, or its .xz;
# 64 processes of DIV_QEMU_IT iterations, default 4000);
# then the ncu counters (scripts/gpu-profile.sh's default sections) of both runs at the
# default region size (DIV_PROF=0: none). Prints one line per run (guest instructions/s, lanes together,
# split steps, share translated, lane 0 against qemu) and the profiles' key lines;
# writes the profiles' details to $OUT (at most four files: the device tool returns
# few).
#
# Usage: scripts/gpu-divergence.sh [CARRY_DIR]
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
dir=${1:-.carry}
out=${OUT:-/tmp/gpu-divergence}
mkdir -p "$out"
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
scripts/carry-cache.sh "$dir"
if [ ! -x "$dir/qemu-aarch64-static" ] && [ -f "$dir/qemu-aarch64-static.xz" ]; then
    xz -dk "$dir/qemu-aarch64-static.xz" && chmod +x "$dir/qemu-aarch64-static"
fi
q=$root/$dir/qemu-aarch64-static
cm=$root/$dir/bin/coremark
[ -x "$cm" ] || { echo "gpu-divergence.sh: $cm missing (see the usage above)" >&2; exit 2; }
lanes=${LANES:-16384}
t0=$(date +%s)
nvidia-smi --query-gpu=name,clocks.max.sm --format=csv,noheader
# shellcheck source=scripts/coremark-lib.sh
. scripts/coremark-lib.sh
# CoreMark's timing-dependent lines (and its complaint about runs under 10 s), left
# out of the comparison with qemu.
timing="$COREMARK_TIMING|ERROR! Must"
# DIV_CONV_IT, DIV_SEED_IT: iterations of the converged and seed-per-lane runs.
cit=${DIV_CONV_IT:-20} sit=${DIV_SEED_IT:-6}
"$q" "$cm" 0x0 0x0 0x66 "$cit" 7 1 2000 >/tmp/div-q20.out
"$q" "$cm" 0x0 0x0 0x66 "$sit" 7 1 2000 >/tmp/div-q6.out

# run TAG REF_OUTPUT [env...] -- gpuos-args...
run() {
    local tag=$1 ref=$2 envs=()
    shift 2
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    local d
    d=$(mktemp -d)
    (cd "$d" && env GPUOS_CACHE_DIR="$root/$dir/cache" "${envs[@]}" timeout -k 5 150 "$root/$dir/gpuos" run \
        --backend cuda --translate auto -v "$@" >o.out 2>o.err)
    local rc=$? same=DIFFERS
    diff <(grep -vE "$timing" "$ref") <(grep -vE "$timing" "$d/o.out" | head -"$(grep -vcE "$timing" "$ref")") \
        >/dev/null && same=same
    echo "$tag rc=$rc :: $(grep -oE '= [0-9.]+ [MG] instructions/s|[0-9.]+ lanes together on average|[0-9.]+ lanes together per translated instruction|[0-9.]+ split steps|[0-9.]+ region soft-TLB misses|[0-9.]+% of [0-9]+ guest instructions ran translated|[0-9]+ compiles in [0-9.]+ s|relaunched [0-9]+ times|[0-9]+ distinct stdout' "$d/o.err" | tr '\n' ' ') lane 0 vs qemu: $same"
    rm -rf "$d"
}
# DIV_VARIANTS: core variants (GPUOS_NVRTC_OPTS values, ';'-separated; an empty one
# is the default core), each translated in the carry (GPU_CARRY_VARIANTS).
IFS=';' read -r -a variants <<<"${DIV_VARIANTS:-}"
[ "${#variants[@]}" -gt 0 ] || variants=("")
# DIV_ENVS: host-side variants, ';'-separated, each VAR=VALUE words for gpuos's
# environment (an empty one: none), e.g. ';GPUOS_PERSISTENT_SLICE=262144'.
IFS=';' read -r -a hostenvs <<<"${DIV_ENVS:-}"
[ "${#hostenvs[@]}" -gt 0 ] || hostenvs=("")
for r in $(seq 1 "${DIV_RUNS:-2}"); do
    for n in ${DIV_LANES:-$lanes}; do
        for v in "${variants[@]}"; do
            vt=${v:+-$(echo "$v" | tr -d ' ' | sed 's/^-D//; s/=/_/g')}
            for rb in ${DIV_REGION_BLOCKS:-40 80}; do
                for mode in ${DIV_MODES:-persistent}; do
                    for he in "${hostenvs[@]}"; do
                        read -r -a hev <<<"$he"
                        mt=${mode/persistent/}
                        [ -n "$he" ] && mt=${mt:+$mt-}${he// /-}
                        run "converged-$n-rb$rb$vt${mt:+-$mt}-$r" /tmp/div-q20.out GPUOS_T2_REGION_BLOCKS="$rb" \
                            GPUOS_NVRTC_OPTS="$v" "${hev[@]}" -- --mode "$mode" --lanes "$n" "$cm" 0x0 0x0 0x66 "$cit" 7 1 2000
                        run "seeds-$n-rb$rb$vt${mt:+-$mt}-$r" /tmp/div-q6.out GPUOS_T2_REGION_BLOCKS="$rb" \
                            GPUOS_NVRTC_OPTS="$v" "${hev[@]}" -- --mode "$mode" --lanes "$n" "$cm" '0x{lane}' 0x0 0x66 "$sit" 7 1 2000
                    done
                done
            done
        done
    done
done
qit=${DIV_QEMU_IT:-4000}  # iterations per qemu process (64 processes)
echo "=== $(($(date +%s) - t0)) s: qemu-aarch64, $(nproc) processes at once, 64 x $qit iterations"
for how in same seeds; do
    echo "qemu $how: $(qemu_coremark "$q" "$cm" $how "$qit")"
done
[ "${DIV_PROF:-1}" = 1 ] || { echo "=== end $(($(date +%s) - t0)) s"; exit 0; }
echo "=== $(($(date +%s) - t0)) s: ncu counters, quantum mode"
# The launch profiled: one in the steady state. A quantum launch runs 4 slices of 64 K
# instructions, so CoreMark's 20 converged iterations make about 24 launches and its 6 with
# a seed each about 8; the fourth launch (the former skip of 3) was still start-up for much
# of the grid: the interpreter's loop took 38 % of its samples against 2 % in the steady
# state (thirty-third session, docs/BENCHMARKS.md). DIV_PROF_SKIP_CONV, DIV_PROF_SKIP_SEEDS:
# launches skipped (default 15 and 5).
for cfg in "converged 0x0 20 ${DIV_PROF_SKIP_CONV:-15}" "seeds 0x{lane} 6 ${DIV_PROF_SKIP_SEEDS:-5}"; do
    read -r tag seed it skip <<<"$cfg"
    OUT=/tmp/div-prof-$tag PROF_TRANSLATE=auto PROF_TIMEOUT=${DIV_PROF_TIMEOUT:-90} PROF_SKIP=$skip \
        scripts/gpu-profile.sh "$dir" "$cm" "$lanes" "$seed" 0x0 0x66 "$it" 7 1 2000 >/dev/null 2>&1
    cp "/tmp/div-prof-$tag/coremark-$lanes-auto.details.txt" "$out/$tag.details.txt" 2>/dev/null
    echo "--- $tag"
    grep -E "Duration|Executed Ipc Active|Executed Instructions  |Avg. Active Threads|Avg. Not Predicated|Warp Cycles Per Issued|L1/TEX Hit|L2 Hit|Mem Busy|stalled|Stall" \
        "$out/$tag.details.txt" 2>/dev/null | head -30
done
echo "=== end $(($(date +%s) - t0)) s"
