#!/usr/bin/env bash
# Prepares the carry directory for scripts/gpu-check.sh on the build machine:
# the release binary, the guest programs, busybox, a static qemu-aarch64 and the
# core precompiled for sm_90 (H100/H200) with NVRTC from PyPI's
# nvidia-cuda-nvrtc wheel, so the GPU machine spends no time compiling.
#
# Usage: scripts/gpu-carry.sh [CARRY_DIR]   (default .carry, git-ignored)
# Environment: GPU_CARRY_VARIANTS, GPU_CARRY_TRANSLATE, GPU_CARRY_REGION_BLOCKS,
# GPU_CARRY_BINS, GPU_CARRY_SYSROOT, GPU_CARRY_XZ (below).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
dir=${1:-.carry}
# An absolute CARRY_DIR stays absolute (the cache goes inside it, never under the repo).
case $dir in /*) ;; *) dir=$root/$dir ;; esac
# It is emptied first: never the repository or a directory holding one.
if [ "$(cd "$dir" 2>/dev/null && pwd)" = "$root" ] || [ -e "$dir/.git" ]; then
    echo "gpu-carry.sh: $dir holds a repository; give a directory of its own" >&2
    exit 2
fi
scripts/fetch-deps.sh >/dev/null
tests/guest/build.sh >/dev/null
cargo build --release -q
rm -rf "$dir" && mkdir -p "$dir/bin" "$dir/cache"
strip -o "$dir/gpuos" target/release/gpuos  # debug info stays here: the carry limit is 64 MiB
# GPU_CARRY_BINS (space-separated names of tests/guest/bin) carries only those
# programs: the carry limit is 64 MiB, and each GPU translation adds about 9 MB.
if [ -n "${GPU_CARRY_BINS:-}" ]; then
    for b in $GPU_CARRY_BINS; do cp "tests/guest/bin/$b" "$dir/bin/"; done
else
    cp -r tests/guest/bin/* "$dir/bin/"
fi
cp .deps/busybox .deps/qemu-aarch64-static "$dir/"
# GPU_CARRY_SYSROOT=1: the Debian sysroot for gpu-check.sh's deb part, packed (about
# 18 MB: 98 MB unpacked is over the carry limit), without python3's own test suite.
if [ "${GPU_CARRY_SYSROOT:-0}" = 1 ]; then
    tar -C .deps/sysroot -cf - --exclude='usr/lib/python3*/test' \
        --exclude='usr/lib/python3*/unittest/test' . | xz -T0 -6 >"$dir/sysroot.tar.xz"
fi
nv=.deps/nvrtc
if [ ! -e "$nv/nvidia/cu13/lib/libnvrtc.so.13" ]; then
    mkdir -p "$nv"
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
        --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d "$nv" "nvidia-cuda-nvrtc==13.0.88"
    (cd "$nv" && unzip -q -o ./*.whl)
fi
# The core as gpuos runs it, plus the variants named in GPU_CARRY_VARIANTS (each a
# GPUOS_NVRTC_OPTS value, ';'-separated) for measuring changes side by side. NVRTC
# runs for each in parallel.
IFS=';' read -r -a variants <<<"${GPU_CARRY_VARIANTS:-}"
pids=()
for v in "" "${variants[@]}"; do
    LD_LIBRARY_PATH="$root/$nv/nvidia/cu13/lib" GPUOS_CACHE_DIR="$dir/cache" GPUOS_NVRTC_OPTS="$v" \
        "$dir/gpuos" compile-core --arch sm_90 &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || exit 1; done
# Tier 2: GPU translations (into the carried cache) of the command lines in
# GPU_CARRY_TRANSLATE ('|'-separated; each a program of bin/ or an absolute path, with
# its arguments), profiled here on the CPU backend and compiled by NVRTC (`gpuos run
# --translate auto --translate-for sm_90`: the blocks entered 1000 times or more;
# NVRTC takes about a third of a second per block on top of the core), so that GPU runs of those programs
# (`--translate auto` or `always`) start translated. About two minutes each on two cores.
# GPU_CARRY_PROFILE_LANES (default 64): the lanes of that profiling run. A GPU run's
# own profile sums its lanes' counts, so that a block every lane enters once is hot at
# 1,000 lanes; a 1-lane profile left CoreMark's start-up and libc's printf interpreted
# (235 blocks, 98.6 % translated: on the H100 the interpreted 1.4 % took most of the
# time), 64 lanes translate 512 blocks (99.7 %; converged 80 -> 102-114 G/s).
IFS='|' read -r -a t2jobs <<<"${GPU_CARRY_TRANSLATE:-}"
# GPU_CARRY_REGION_BLOCKS (space-separated sizes, e.g. "40 80"): each job translated
# once per region size (GPUOS_T2_REGION_BLOCKS, part of the cache key) too, to compare
# them on the device; empty: the default size only.
read -r -a sizes <<<"${GPU_CARRY_REGION_BLOCKS:-}"
[ "${#sizes[@]}" -gt 0 ] || sizes=("")
pids=()
# Each also for every variant of GPU_CARRY_VARIANTS (the translation is compiled into
# a copy of the core, so a variant needs its own).
for job in "${t2jobs[@]}"; do
    read -r -a argv <<<"$job"
    [ "${#argv[@]}" -gt 0 ] || continue
    case ${argv[0]} in /*) ;; *) argv[0]=$dir/bin/${argv[0]} ;; esac
    for v in "" "${variants[@]}"; do
        for rb in "${sizes[@]}"; do
            (cd "$(mktemp -d)" && LD_LIBRARY_PATH="$root/$nv/nvidia/cu13/lib" GPUOS_CACHE_DIR="$dir/cache" \
                GPUOS_NVRTC_OPTS="$v" env ${rb:+GPUOS_T2_REGION_BLOCKS=$rb} "$dir/gpuos" run --backend cpu \
                --translate auto --translate-for sm_90 --lanes "${GPU_CARRY_PROFILE_LANES:-64}" \
                "${argv[@]}" >/dev/null) &
            pids+=($!)
        done
    done
done
for p in "${pids[@]}"; do wait "$p" || exit 1; done
# GPU_CARRY_XZ=1 packs the cache as cache.tar.xz (CUBINs shrink about 8x: a core or a
# translation of 10-12 MB to 1.3-1.5 MB), so that more translations fit the carry;
# gpu-check.sh, gpu-probe.sh and gpu-tier2.sh unpack it on the device (carry-cache.sh). -9e: each
# translation is a copy of the core, and xz's 64 MiB window finds the copies (the core
# and seven translations: 13.4 MB at -3, 6.2 MB at -9e).
if [ "${GPU_CARRY_XZ:-0}" = 1 ]; then
    tar -C "$dir/cache" -cf - . | xz -T0 -9e >"$dir/cache.tar.xz" && rm -rf "$dir/cache"
fi
du -sh "$dir"
# The device tool carries at most 64 MiB in all (every carried path together).
kib=$(du -sk "$dir" | cut -f1)
if [ "$kib" -gt 65536 ]; then
    echo "gpu-carry.sh: $dir is $((kib / 1024)) MiB, over the device tool's 64 MiB carry limit:" \
        "name fewer programs in GPU_CARRY_BINS (each core variant adds about 10 MB)" >&2
fi
