#!/usr/bin/env bash
# Prepares the carry directory for scripts/gpu-check.sh on the build machine:
# the release binary, the guest programs, busybox, a static qemu-aarch64 and the
# core precompiled for sm_90 (H100/H200) with NVRTC from PyPI's
# nvidia-cuda-nvrtc wheel, so the GPU machine spends no time compiling.
#
# Usage: scripts/gpu-carry.sh [CARRY_DIR]   (default .carry, git-ignored)
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
cp tests/guest/bin/* "$dir/bin/"
cp .deps/busybox .deps/qemu-aarch64-static "$dir/"
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
du -sh "$dir"
