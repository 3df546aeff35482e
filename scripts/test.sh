#!/usr/bin/env bash
# The test command (README): installs what it needs, builds the guest test
# programs and gpuos, runs the Rust tests, clippy and rustfmt, then the
# conformance suite against qemu-aarch64 on the CPU backend, and its lanes
# variant (--lanes 4 on a subset with interleaved frames, checked by gpuos's lane
# report; --lanes 60 with
# the lanes' files under a small open-file limit), the ELF loader's mutation
# fuzzer (2,000 mutants), a subset through tier 2 (--translate always), and the
# deb-* cases: programs of the Debian arm64 sysroot that scripts/fetch-deps.sh
# builds (.deps/sysroot), against qemu-aarch64 registered with binfmt_misc
# (scripts/deb-oracle.sh). Every step runs even when an earlier one
# failed (except those that need a build that failed); a summary comes last and
# the exit status is nonzero when any step failed.
#
# Environment:
#   TEST_SKIP_DEPS=1            skip apt installs and scripts/fetch-deps.sh
#   FETCH_DEPS_NO_SYSROOT=1     scripts/fetch-deps.sh builds no sysroot (the deb
#                               cases then run only if one is already there)
#   CONFORMANCE_JOBS=N          parallel conformance cases (default: nproc)
#   CONFORMANCE_ARGS="..."      extra arguments for scripts/conformance.sh
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

jobs=${CONFORMANCE_JOBS:-$(nproc 2>/dev/null || echo 2)}
read -r -a extra <<<"${CONFORMANCE_ARGS:-}"
translate_subset='^(hello|signals|process|crash_null|exit-42|setjmp|hostile_mem-prot)$'
lanes_subset='^(hello|hello-lane|hostile_mem-lane|hostile_mem-prot|int_arith|fp_math|neon|setjmp|atomics|strings|fileio|signals|process|fdmany|crash_null|exit-42|exit-lane|threads-[a-z_]+|bb-(echo|printf|cat|sort-k|awk-sum|sha256sum|factor|ls-l|find|sh-pipe|sh-devpipe|sh-subshell|cp|mv|tar-xzv|sh-redir|gzip))$'

# Known gaps (KNOWN_GAPS in scripts/conformance.sh) are left out of the conformance
# run until their features land; there are none at present (fork, exec, wait and
# pipes came with the process model: docs/ARCHITECTURE.md, "Processes"). The deb
# cases that gpuos cannot pass yet (DEB_GAPS: dynamic linking, exec of other
# programs) still run both sides and are reported as GAP, so the oracle side of
# each is checked.

steps=()
results=()
failed=0
step() {
    local name=$1
    shift
    echo
    echo "==== $name: $*"
    local t0=$SECONDS rc
    "$@"
    rc=$?
    steps+=("$name")
    if [ "$rc" = 0 ]; then
        results+=("ok ($((SECONDS - t0))s)")
    else
        results+=("FAILED, exit $rc ($((SECONDS - t0))s)")
        failed=1
    fi
    return "$rc"
}
skip() {
    steps+=("$1")
    results+=("skipped: $2")
    failed=1
}
# A step left out by the environment's choice, which fails nothing.
left_out() {
    steps+=("$1")
    results+=("left out: $2")
}

if [ "${TEST_SKIP_DEPS:-0}" != 1 ]; then
    step deps scripts/fetch-deps.sh
fi
guests_ok=0
step guests tests/guest/build.sh && guests_ok=1
build_ok=0
step build cargo build --release && build_ok=1
step test cargo test --release --workspace
step clippy cargo clippy --workspace --all-targets -- -D warnings
step fmt cargo fmt --all --check
if [ "$build_ok" = 1 ] && [ "$guests_ok" = 1 ]; then
    step conformance scripts/conformance.sh --gpuos target/release/gpuos --backend cpu --jobs "$jobs" \
        --exclude '^deb-' --skip-known-gaps "${extra[@]}"
    # The deb cases: each checked against the binfmt_misc oracle (or qemu -L without
    # the cases that exec, where binfmt_misc cannot be had); DEB_GAPS report GAP.
    if [ -d .deps/sysroot ]; then
        step conformance-deb scripts/conformance.sh --gpuos target/release/gpuos --backend cpu --jobs "$jobs" \
            --filter '^deb-' --skip-known-gaps "${extra[@]}"
        # 8 lanes of dynamically linked programs at once: one page cache, filled by
        # lanes racing for the same pages of libc and python3, and for the stat cache's
        # entries of paths missing for good.
        step conformance-deb-lanes scripts/conformance.sh --gpuos target/release/gpuos --backend cpu --lanes 8 \
            --filter '^deb-(py-json|py-hashlib|py-stat-absent|py-devclose|py-devdents|py-devopen|py-devpipe|py-devsleep|perl-regex|sqlite-sql|gawk-math|grep-P|lua|bc-l)$' \
            --skip-known-gaps --jobs "$jobs" "${extra[@]}"
    else
        left_out conformance-deb "no .deps/sysroot (scripts/fetch-deps.sh builds it)"
        left_out conformance-deb-lanes "no .deps/sysroot"
    fi
    # With interleaved frames at any lane count (GPUOS_INTERLEAVE=always: on by default
    # only from 32 lanes), so that their paths run on the CPU backend too.
    step conformance-lanes env GPUOS_INTERLEAVE=always scripts/conformance.sh --gpuos target/release/gpuos --backend cpu --lanes 4 \
        --filter "$lanes_subset" --skip-known-gaps --jobs "$jobs" "${extra[@]}"
    # Threads at 100 lanes (issue 16): every lane's process makes and ends its own
    # threads from the shared slot pool, at once (pthreads, C++ and Go's runtime).
    step conformance-threads-lanes scripts/conformance.sh --gpuos target/release/gpuos --backend cpu --lanes 100 \
        --filter '^(threads-|cxx-threads-|go-goroutines-|spare-|pipeline$)' --skip-known-gaps --jobs "$jobs" "${extra[@]}"
    # The spare lanes' run queue in shards (kernel/proc/spare.h; on this machine's
    # few cores the default is one shard, as many as the GPU gets from 32 spare lanes).
    step conformance-runq-shards env GPUOS_RUNQ_SHARDS=4 scripts/conformance.sh --gpuos target/release/gpuos --backend cpu \
        --spare-lanes 8 --filter '^(threads-(mutex|cond|churn|futex|barrier|fork)|spare-.*|pipeline)$' --skip-known-gaps \
        --jobs "$jobs" "${extra[@]}"
    # The lanes check must be able to fail: a spoilt lane report is caught.
    step conformance-selftest scripts/conformance-selftest.sh target/release/gpuos
    # Tier 2 (--translate always: each case profiled, then run fully translated) on a
    # subset small enough for CI's compile time, with a translation cache of its own.
    # Each run may end with a g++ compile of the image's blocks (60-80 s for about
    # 1,000 blocks on a quiet 2-core machine, twice that with two cases at once; more
    # since the translations take in the blocks up to three edges past the profile's),
    # so the runs get 900 s instead of 120 (process ran past 400 s once).
    # Interleaved frames too, so that the translations' fast paths meet them.
    step conformance-translate env GPUOS_INTERLEAVE=always bash -c 'd=$(mktemp -d) && GPUOS_CACHE_DIR=$d "$@"; rc=$?; rm -rf "$d"; exit $rc' _ \
        scripts/conformance.sh --gpuos target/release/gpuos --backend cpu --translate always \
        --filter "$translate_subset" --timeout 900 --jobs "$jobs" "${extra[@]}"
    # Lanes under an open-file limit (soft and hard: gpuos raises soft to hard, and
    # with GPUOS_NOFILE_KEEP=1 not the hard one even where it could) too
    # small for two files per lane (60 lanes, 96 files): each lane's output is then kept
    # in memory and written when it ends (machine::lane_files_fit; the CUDA backend
    # holds every lane's files at once, so 100,000 lanes need this path).
    step conformance-lanes-captured env GPUOS_NOFILE_KEEP=1 bash -c 'ulimit -n 96 && exec "$@"' _ \
        scripts/conformance.sh --gpuos target/release/gpuos --backend cpu --lanes 60 --lane-check files \
        --filter '^(hello|hello-lane|exit-lane|process|bb-echo|bb-cat|bb-sh-pipe)$' --jobs "$jobs" "${extra[@]}"
    # The ELF loader's mutation fuzzer: 2,000 mutants (fixed seed) of a static, a
    # static-PIE and busybox; none may panic, hang or pass 512 MiB of host memory.
    step fuzz-elf target/release/gpuos fuzz --elf --seed 1 --count 2000 --jobs 2 --max-insns 20000 \
        --timeout 20 --keep target/fuzz-elf-bad tests/guest/bin/hello tests/guest/bin/hello_pie .deps/busybox
else
    skip conformance "build or guests failed"
    skip conformance-deb "build or guests failed"
    skip conformance-deb-lanes "build or guests failed"
    skip conformance-lanes "build or guests failed"
    skip conformance-threads-lanes "build or guests failed"
    skip conformance-selftest "build or guests failed"
    skip conformance-translate "build or guests failed"
    skip conformance-lanes-captured "build or guests failed"
    skip fuzz-elf "build or guests failed"
fi

echo
echo "==== summary"
for i in "${!steps[@]}"; do
    printf '  %-18s %s\n' "${steps[$i]}" "${results[$i]}"
done
if [ "$failed" = 0 ]; then
    echo "test.sh: all passed"
else
    echo "test.sh: FAILED"
fi
exit "$failed"
