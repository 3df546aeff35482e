#!/usr/bin/env bash
# Build every tests/guest/*.c into tests/guest/bin/<name> as a static AArch64 ELF.
# Idempotent: a program is rebuilt only when its source (or this script) is newer.
# Then runs tests/guest/asm/build.sh (freestanding assembly programs) if present.
# Usage: tests/guest/build.sh [-f]   (-f: rebuild everything)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CC=${CC:-aarch64-linux-gnu-gcc}
CFLAGS=${CFLAGS:-"-static -O2 -Wall -Wextra -Wno-unused-parameter"}
out=$here/bin
force=0
[ "${1:-}" = "-f" ] && force=1

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "build.sh: $CC not found (apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)" >&2
    exit 1
fi

mkdir -p "$out"
built=0
up=0
for src in "$here"/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    bin=$out/$name
    if [ "$force" = 0 ] && [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "${BASH_SOURCE[0]}" ]; then
        up=$((up + 1))
        continue
    fi
    # shellcheck disable=SC2086
    "$CC" $CFLAGS -o "$bin.tmp" "$src" -lm
    mv -f "$bin.tmp" "$bin"
    built=$((built + 1))
done
echo "build.sh: $built built, $up up to date in $out"
# Freestanding assembly programs (tests/guest/asm/*.S) have their own script.
if [ -x "$here/asm/build.sh" ]; then
    "$here/asm/build.sh"
fi
# stale SRC BIN...: a BIN is missing or older than SRC or this script.
stale() {
    local src=$1 bin
    shift
    for bin in "$@"; do
        if [ ! -x "$bin" ] || [ "$bin" -ot "$src" ] || [ "$bin" -ot "${BASH_SOURCE[0]}" ]; then return 0; fi
    done
    return 1
}
# Programs whose conformance oracle is the host kernel itself (flag "native" in
# scripts/conformance.sh: qemu-aarch64 7.2 answers ENOSYS to the syscalls they test),
# built for the host too, into bin/native/.
HOST_CC=${HOST_CC:-cc}
mkdir -p "$out/native"
for name in openat2 execveat; do
    if stale "$here/$name.c" "$out/native/$name"; then
        "$HOST_CC" -O2 -Wall -Wextra -Wno-unused-parameter -o "$out/native/$name.tmp" "$here/$name.c"
        mv -f "$out/native/$name.tmp" "$out/native/$name"
    fi
done
# OpenMP (GCC's libgomp, static: its dlopen warning is libgomp's offloading plugin
# loader, never called here).
if stale "$here/omp/openmp.c" "$out/openmp"; then
    # shellcheck disable=SC2086
    "$CC" $CFLAGS -fopenmp -o "$out/openmp.tmp" "$here/omp/openmp.c" 2>&1 | grep -v -e "dlopen" -e "goacc_profiling" >&2 || true
    mv -f "$out/openmp.tmp" "$out/openmp"
fi
# C++ (libstdc++'s std::thread, std::async and friends, static): needs the C++ cross
# compiler (g++-aarch64-linux-gnu, which scripts/fetch-deps.sh installs).
CXX=${CXX:-aarch64-linux-gnu-g++}
if stale "$here/cpp/cxx_threads.cpp" "$out/cxx_threads"; then
    if command -v "$CXX" >/dev/null 2>&1; then
        # -Wl,--whole-archive for libpthread: static glibc needs every pthread symbol
        # libstdc++ looks up weakly, or std::thread believes threads are unavailable.
        "$CXX" -static -O2 -std=c++17 -Wall -Wextra -pthread -o "$out/cxx_threads.tmp" "$here/cpp/cxx_threads.cpp" \
            -Wl,--whole-archive -lpthread -Wl,--no-whole-archive
        mv -f "$out/cxx_threads.tmp" "$out/cxx_threads"
    else
        echo "build.sh: $CXX not found (apt-get install g++-aarch64-linux-gnu): no cxx_threads" >&2
    fi
fi
# Go (a static arm64 program of the Go runtime's own threads, signals and timers):
# needs Debian's golang-go (scripts/fetch-deps.sh installs it), which cross-builds
# with GOARCH=arm64 CGO_ENABLED=0.
if stale "$here/go/goroutines.go" "$out/goroutines"; then
    if command -v go >/dev/null 2>&1; then
        (cd "$here/go" && GOARCH=arm64 CGO_ENABLED=0 GO111MODULE=off \
            GOCACHE=${GOCACHE:-$(cd "$here/../.." && pwd)/.deps/go-cache} \
            GOPATH=${GOPATH:-$(cd "$here/../.." && pwd)/.deps/gopath} \
            go build -trimpath -o "$out/goroutines.tmp" goroutines.go)
        mv -f "$out/goroutines.tmp" "$out/goroutines"
    else
        echo "build.sh: go not found (apt-get install golang-go): no goroutines" >&2
    fi
fi
# A dynamically linked program (PT_INTERP /lib/ld-linux-aarch64.so.1, libc.so.6): runs
# with a sysroot that has them (-L /usr/aarch64-linux-gnu, the cross toolchain's).
if stale "$here/hello.c" "$out/hello_dyn"; then
    "$CC" -O2 -o "$out/hello_dyn" "$here/hello.c"
fi
# The same for /proc/self/maps of a dynamic program (its interpreter, libc).
if stale "$here/procfs.c" "$out/procfs_dyn"; then
    "$CC" -O2 -o "$out/procfs_dyn" "$here/procfs.c"
fi
# The smallest interpreter (ET_DYN; ld_tramp_interp names an interpreter of its own),
# and the auxv program static and static-PIE with a PT_INTERP naming it: they run with
# a sysroot holding ld_tramp as $TRAMP (the loader's CLI tests and conformance cases
# make one).
TRAMP=/lib/ld-gpuos-tramp.so.1
if stale "$here/ld_tramp.S" "$out/ld_tramp" "$out/ld_tramp_interp"; then
    "$CC" -nostdlib -shared -Wl,-e,_start -o "$out/ld_tramp" "$here/ld_tramp.S"
    "$CC" -nostdlib -shared -Wl,-e,_start -DWITH_INTERP -o "$out/ld_tramp_interp" "$here/ld_tramp.S"
fi
if stale "$here/auxv.c" "$out/auxv_interp" "$out/auxv_pie_interp"; then
    # shellcheck disable=SC2086
    "$CC" $CFLAGS -DINTERP="\"$TRAMP\"" -o "$out/auxv_interp" "$here/auxv.c"
    # shellcheck disable=SC2086
    "$CC" ${CFLAGS/-static/-static-pie} -DINTERP="\"$TRAMP\"" -o "$out/auxv_pie_interp" "$here/auxv.c"
fi
# A static-PIE program (ET_DYN, no interpreter: placed at the loader's PIE base), for
# the loader's tests and the ELF fuzzer's seeds.
if stale "$here/hello.c" "$out/hello_pie"; then
    "$CC" -O2 -static-pie -o "$out/hello_pie" "$here/hello.c"
fi
