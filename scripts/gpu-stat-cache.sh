#!/usr/bin/env bash
# The device's stat cache (kernel/sys/statcache.h) on the device machine: busybox sh
# running `stat` and `stat -L` on sysroot paths (symlinks, '..', a trailing slash,
# missing names) at 1, 1,000 (persistent and quantum) and 10,000 lanes, every lane's
# stdout compared with qemu-aarch64 -L's, and the host requests per lane (115 without
# the cache; 97 with it at 1,000 lanes on an H200, nineteenth session). Builds nothing:
# the carry of scripts/gpu-carry.sh (gpuos, busybox, qemu-aarch64-static, bin/hello,
# the cached core).
#
# Usage: scripts/gpu-stat-cache.sh [CARRY_DIR]
# Environment: GPU_STAT_LANES (default "1 1000 10000"), GPU_STAT_BACKEND (default cuda;
# cpu runs the flow without a GPU).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${1:-.carry}
case $dir in /*) ;; *) dir=$root/$dir ;; esac
for f in gpuos busybox qemu-aarch64-static bin/hello; do
    [ -e "$dir/$f" ] || { echo "gpu-stat-cache.sh: $dir/$f missing (scripts/gpu-carry.sh)" >&2; exit 2; }
done
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
export GPUOS_CACHE_DIR=${GPUOS_CACHE_DIR:-$dir/cache}
backend=${GPU_STAT_BACKEND:-cuda}
tmp=$(mktemp -d /tmp/gpu-stat.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
sr=$tmp/sysroot
mkdir -p "$sr/usr/bin" "$sr/usr/lib/x"
cp "$dir/bin/hello" "$sr/usr/bin/"
ln -s hello "$sr/usr/bin/hi"
ln -s ../../bin/hi "$sr/usr/lib/x/up"
script='for p in /usr/bin/hi /usr/bin/hello /usr/bin/hi /usr/bin /usr/bin/ /usr/lib/x/up /usr/lib/x/../../bin/hello /usr/bin/hi/ /nonexist /usr/lib/x/up /usr/bin/hello; do stat -c "%n %s %a %F %i %h" $p; stat -L -c "%n %s %a %F %i %h" $p; done 2>&1'
"$dir/qemu-aarch64-static" -L "$sr" "$dir/busybox" sh -c "$script" >"$tmp/ref.txt"
ref=$(sha256sum "$tmp/ref.txt" | cut -c1-64)
rc=0
# run LANES MODE: one run; its line.
run() {
    local t0=$SECONDS
    timeout 120 "$dir/gpuos" run --backend "$backend" --mode "$2" --lanes "$1" --sysroot "$sr" \
        --lane-report "$tmp/report" -v "$dir/busybox" sh -c "$script" >/dev/null 2>"$tmp/log"
    local st=$? same
    same=$(grep -c "$ref" "$tmp/report" 2>/dev/null)
    [ "$st" = 0 ] && [ "$same" = "$1" ] || rc=1
    printf '%6s lanes %-10s exit %s, %s of %s lanes equal to qemu -L, %s, %s s\n' "$1" "$2" "$st" \
        "${same:-0}" "$1" "$(grep -o '[0-9]* host requests' "$tmp/log" | head -1)" $((SECONDS - t0))
}
for l in ${GPU_STAT_LANES:-1 1000 10000}; do
    run "$l" persistent
    [ "$l" = 1000 ] && run "$l" quantum
done
exit $rc
