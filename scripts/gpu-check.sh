#!/usr/bin/env bash
# The GPU check: run on the device machine (no Rust, no cross compiler there).
# Builds nothing. Expects a carry directory (default .carry, made by
# scripts/gpu-carry.sh on the build machine) holding:
#   gpuos                 the release binary
#   bin/                  prebuilt guest programs (tests/guest/bin)
#   busybox               Debian's busybox-static for arm64
#   qemu-aarch64-static   the oracle, from Debian's qemu-user-static
#   cache/                the core precompiled by `gpuos compile-core --arch sm_90`
# Runs the conformance suite with --backend cuda in both modes, the lanes checks
# (1000 and 100000 lanes), and the figures (single-lane and all-lanes guest
# instructions per second, syscall round trip), then prints a table last.
#
# Usage: scripts/gpu-check.sh [CARRY_DIR] [--quick]
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
dir=${1:-.carry}
quick=0
[ "${2:-}" = --quick ] && quick=1
G=$dir/gpuos
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
export GPUOS_CACHE_DIR=$root/$dir/cache
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
rows=()
row() {
    rows+=("$(printf '%-34s %s' "$1" "$2")")
    echo "[gpu-check] $(printf '%-34s %s' "$1" "$2")"
}
T=${GPU_CHECK_TIMEOUT:-60}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1
t0=$SECONDS
if timeout 120 "$G" run --backend cuda -v "$dir/bin/hello" first second >"$out/hello.out" 2>"$out/hello.err"; then
    row "start (module load)" "ok $((SECONDS - t0))s: $(grep -o 'cache hit\|compiled[^(]*' "$out/hello.err" | head -1)"
else
    row "start (module load)" "FAILED: $(tail -1 "$out/hello.err")"
fi
cat "$out/hello.err" | head -5

big() { # label, lanes, args...
    local label=$1 lanes=$2
    shift 2
    local log="$out/big-$lanes.log"
    if timeout "$T" "$G" run --backend cuda --lanes "$lanes" "$@" >"$log.out" 2>"$log"; then :; fi
    row "$label" "$(grep -o '[0-9]* lanes on cuda.*' "$log" | head -1 | cut -c1-90); $(grep -o '[0-9]* distinct stdout' "$log")"
    row "  ips" "$(grep -o '[0-9.]* M instructions/s.*' "$log" | head -1)"
}
big "spin x100000 lanes" 100000 "$dir/bin/spin" 1000
big "hello x100000 lanes" 100000 "$dir/bin/hello" x
big "spin x1000 lanes (IPS)" 1000 "$dir/bin/spin" 100000

# Single lane: 3M iterations of an 10-instruction loop.
timeout "$T" "$G" run --backend cuda -v "$dir/bin/spin" 3000000 >/dev/null 2>"$out/single.log"
row "single lane spin" "$(grep -o '[0-9.]* M instructions/s' "$out/single.log" | head -1)"
# Syscall round trip: N host syscalls (getuid) in one lane; wall time / N.
for n in 2000; do
    s=$(date +%s.%N)
    timeout "$T" "$G" run --backend cuda "$dir/bin/sysloop" 0 >/dev/null 2>&1
    e=$(date +%s.%N)
    timeout "$T" "$G" run --backend cuda "$dir/bin/sysloop" $n >/dev/null 2>&1
    f=$(date +%s.%N)
    row "syscall round trip (1 lane)" "$(python3 -c "print('%.2f' % ((($f - $e) - ($e - $s)) / $n * 1e6))") us per getuid (wall, incl. nothing else)"
done
timeout "$T" "$G" run --backend cuda --lanes 10000 "$dir/bin/sysloop" 100 >/dev/null 2>"$out/sys10k.log"
row "10000 lanes x 100 getuid" "$(grep -o '[0-9.]* s = ' "$out/sys10k.log" | head -1)"

conf() { # name, extra args...
    local name=$1
    shift
    local log="$out/conf-$name.log"
    timeout 400 scripts/conformance.sh --gpuos "$G" --backend cuda --bin-dir "$dir/bin" \
        --busybox "$dir/busybox" --qemu "$dir/qemu-aarch64-static" --timeout $T --jobs 4 "$@" >"$log" 2>&1
    row "$name" "$(grep -o 'conformance: .*' "$log" | tail -1)"
    grep -E 'FAIL' "$log" | head -8
}
if [ "$quick" = 1 ]; then
    conf persistent --mode persistent --exclude '^bb-'
else
    conf persistent --mode persistent
    conf quantum --mode quantum --exclude '^bb-'
    conf lanes-1000 --mode persistent --lanes 1000 --filter '^(hello|hello-lane|int_arith|neon|strings|exit-42|asm-spin|bb-echo|bb-sha256sum)$'
fi

echo
echo "==== gpu-check ($(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1), $((SECONDS - t0)) s)"
printf '%s\n' "${rows[@]}"
