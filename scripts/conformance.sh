#!/usr/bin/env bash
# Conformance: run guest programs under qemu-aarch64 (the oracle) and under
# gpuos, and compare stdout byte for byte, the exit status, stderr (lines that
# start with "qemu:" or "gpuos:" left out) and the file effects (the scratch
# working directory's tree: types, modes, sizes, contents, link targets).
#
# Usage: scripts/conformance.sh --gpuos BIN [--backend cpu|cuda] [--mode M]
#            [--translate WHEN] [--qemu QEMU] [--lanes N] [--lane-check report|files]
#            [--busybox PATH] [--bin-dir DIR] [--cross-root DIR]
#            [--filter REGEX] [--exclude REGEX] [--timeout SECS] [--jobs N]
#            [--skip-known-gaps] [--serial-gpuos] [--no-stderr] [--keep] [--list]
#            [--sysroot DIR] [--deb-oracle auto|binfmt|fallback] [--oracle-self-check]
#
#   --gpuos BIN      the gpuos binary (required unless --list)
#   --backend B      passed as `run --backend B` (default: cpu)
#   --mode M         passed as `run --mode M` (default: gpuos's own default)
#   --spare-lanes N  passed as `run --spare-lanes N` (spare lanes that run a
#                    lane's other threads and processes beside it)
#   --translate WHEN passed as `run --translate WHEN` (tier 2). With "always",
#                    gpuos runs each case twice, first to profile it and fill the
#                    translation cache, then the run that is compared, which starts
#                    with every block the first one entered translated (single
#                    lane; set GPUOS_CACHE_DIR to keep the cache apart)
#   --qemu QEMU      qemu-aarch64 to use (default: $QEMU, qemu-aarch64 on PATH,
#                    then .deps/qemu-aarch64-static); run with -cpu cortex-a57
#   --lanes N        N>1: run gpuos with --lanes N and check every lane's exit
#                    status, stdout and stderr against qemu's, by sha256 (see
#                    --lane-check; a missing lane fails). The cases marked
#                    lane-safe (they write no files) run with every lane in the
#                    one working directory; stdin is fine (each lane reads its
#                    own copy). The cases that write files run at up to
#                    --lane-dir-lanes lanes with gpuos's --lane-dir: each lane
#                    in its own copy of the scratch directory, whose file
#                    effects must each be qemu's. Cases with
#                    {lane} need one qemu run per checked lane: up to 256 lanes
#                    every lane is checked, above that a sample (lanes 0..63,
#                    64 spread evenly and the last; the note says "sampled")
#   --lane-check HOW how --lanes gets the lanes' outcomes: "report" (default):
#                    gpuos's --lane-report, one line per lane with its exit
#                    status and the sha256 of its stdout and stderr (no lane
#                    files; a failing lane's row shows the hashes, lane 0's
#                    output is diffed); "files": --output-dir, every lane's
#                    files hashed (200,000 files at 100,000 lanes), a failing
#                    lane's output diffed, exit statuses of lane 0 only
#   --lane-dir-lanes N  with --lanes, the most lanes a case that writes files
#                    runs at (default 1000: each lane's scratch copy is made and
#                    listed by the script, a few ms per lane)
#   --busybox PATH   busybox-static for arm64 (default: .deps/busybox); its
#                    cases are skipped when it is missing
#   --bin-dir DIR    prebuilt guest programs (default: tests/guest/bin)
#   --cross-root DIR AArch64 libraries for the dyn-* cases (flag "cross"), given
#                    to both sides as -L DIR (default:
#                    /usr/aarch64-linux-gnu when it has lib/ld-linux-aarch64.so.1,
#                    the cross toolchain's); those cases are skipped without one
#   --filter REGEX   only cases whose name matches (grep -E)
#   --exclude REGEX  leave out cases whose name matches
#   --shard K/N      of the cases selected, only every Nth from the Kth (1 <= K <= N):
#                    N commands with K = 1..N run each case once, the heavy ones
#                    spread over all of them (a GPU check in several device calls)
#   --timeout SECS   per run (default 120)
#   --jobs N         cases run in parallel (default 1)
#   --skip-known-gaps  report the cases of KNOWN_GAPS (below) as SKIP with the
#                    reason instead of running them, and those of DEB_GAPS that
#                    differ from qemu as GAP, not FAIL (they still run: the
#                    oracle's exit status must be the case's; a gap that matches
#                    qemu is a PASS, noted "take it off DEB_GAPS")
#   --sysroot DIR    the Debian arm64 sysroot of the deb-* cases (default
#                    .deps/sysroot, made by scripts/fetch-deps.sh); they are left
#                    out when it is missing. gpuos runs them with --sysroot DIR,
#                    the oracle is scripts/deb-oracle.sh (see --deb-oracle)
#   --deb-oracle HOW how the deb-* cases' oracle runs: "binfmt": qemu-aarch64
#                    registered with binfmt_misc (flags PF) for this run, the case
#                    chrooted in the sysroot, so what it execs runs under qemu too;
#                    "fallback": qemu-aarch64 -L DIR, with the cases that exec
#                    (flag "exec") skipped, as qemu would run their children on
#                    the host; "auto" (default): binfmt when binfmt_misc can be
#                    had (root), else fallback
#   --oracle-self-check  run the oracle twice instead of qemu and gpuos: a case
#                    whose output is not deterministic fails (no --gpuos needed)
#   --serial-gpuos   with --jobs, run one gpuos at a time (flock) while qemu
#                    runs and the checks go on in parallel: processes on one GPU
#                    time-slice it, so parallel gpuos runs only slow each other
#   --no-stderr      do not compare stderr
#   --keep           keep the work directory (printed at the end)
#   --list           list the cases and exit
#
# Each case runs in a fresh scratch directory (the same path for both sides,
# so output that shows the working directory agrees), with a fixed environment
# (env -i; see ENV below), umask 022, no core dumps and stdin from /dev/null
# unless the case gives a file. Works without the cross compiler: it only needs
# the prebuilt programs, busybox and a qemu-aarch64.
#
# Prints a table (case, status, qemu exit, gpuos exit, note), diff heads for
# failures, and finally "conformance: P passed, F failed". Exit status 0 when
# nothing failed, 1 when something did, 2 on bad usage.

# shellcheck disable=SC2016 # the cases' single-quoted programs are for the guest
set -u
set -o pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

GPUOS=
BACKEND=cpu
MODE=
SPARE_LANES=
TRANSLATE=
QEMU_BIN=${QEMU:-}
LANES=1
LANE_CHECK=report
LANE_DIR_LANES=1000
BUSYBOX=$root/.deps/busybox
BIN_DIR=$root/tests/guest/bin
CROSS_ROOT=
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] && CROSS_ROOT=/usr/aarch64-linux-gnu
FILTER=
EXCLUDE=
SHARD=
# Cases that fail on every backend for want of a feature gpuos lacks, as a regex
# (empty: none at present). They are reported as SKIP with KNOWN_GAPS_WHY under
# --skip-known-gaps and still run with --filter.
KNOWN_GAPS=''
KNOWN_GAPS_WHY='known gap'
SYSROOT=$root/.deps/sysroot
DEB_ORACLE_HOW=auto
SELF_CHECK=0
SKIP_GAPS=0
SERIAL_GPUOS=0
TIMEOUT=120
JOBS=1
CMP_STDERR=1
KEEP=0
LIST=0

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2; exit 2; }
need() { [ "$#" -ge 2 ] || { echo "conformance.sh: $1 needs a value" >&2; exit 2; }; }
while [ "$#" -gt 0 ]; do
    case $1 in
    --gpuos) need "$@"; GPUOS=$2; shift 2 ;;
    --backend) need "$@"; BACKEND=$2; shift 2 ;;
    --mode) need "$@"; MODE=$2; shift 2 ;;
    --spare-lanes) need "$@"; SPARE_LANES=$2; shift 2 ;;
    --translate) need "$@"; TRANSLATE=$2; shift 2 ;;
    --qemu) need "$@"; QEMU_BIN=$2; shift 2 ;;
    --lanes) need "$@"; LANES=$2; shift 2 ;;
    --lane-check) need "$@"; LANE_CHECK=$2; shift 2 ;;
    --lane-dir-lanes) need "$@"; LANE_DIR_LANES=$2; shift 2 ;;
    --busybox) need "$@"; BUSYBOX=$2; shift 2 ;;
    --bin-dir) need "$@"; BIN_DIR=$2; shift 2 ;;
    --cross-root) need "$@"; CROSS_ROOT=$2; shift 2 ;;
    --filter) need "$@"; FILTER=$2; shift 2 ;;
    --exclude) need "$@"; EXCLUDE=$2; shift 2 ;;
    --shard) need "$@"; SHARD=$2; shift 2 ;;
    --timeout) need "$@"; TIMEOUT=$2; shift 2 ;;
    --jobs) need "$@"; JOBS=$2; shift 2 ;;
    --skip-known-gaps) SKIP_GAPS=1; shift ;;
    --sysroot) need "$@"; SYSROOT=$2; shift 2 ;;
    --deb-oracle) need "$@"; DEB_ORACLE_HOW=$2; shift 2 ;;
    --oracle-self-check) SELF_CHECK=1; shift ;;
    --serial-gpuos) SERIAL_GPUOS=1; shift ;;
    --no-stderr) CMP_STDERR=0; shift ;;
    --keep) KEEP=1; shift ;;
    --list) LIST=1; shift ;;
    -h | --help) usage ;;
    *) echo "conformance.sh: unknown argument: $1" >&2; usage ;;
    esac
done

abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
case $LANES in '' | *[!0-9]*) echo "conformance.sh: --lanes needs a number" >&2; exit 2 ;; esac
case $LANE_CHECK in report | files) ;; *) echo "conformance.sh: --lane-check is report or files" >&2; exit 2 ;; esac
case $JOBS in '' | *[!0-9]* | 0) echo "conformance.sh: --jobs needs a positive number" >&2; exit 2 ;; esac
case $TIMEOUT in '' | *[!0-9]* | 0) echo "conformance.sh: --timeout needs a positive number" >&2; exit 2 ;; esac
case $DEB_ORACLE_HOW in auto | binfmt | fallback) ;; *) echo "conformance.sh: --deb-oracle is auto, binfmt or fallback" >&2; exit 2 ;; esac
if [ "$SELF_CHECK" = 1 ] && [ "$LANES" -gt 1 ]; then echo "conformance.sh: --oracle-self-check runs one lane" >&2; exit 2; fi
if [ "$LANES" -gt 1 ] && [ "$LIST" = 0 ]; then
    for t in sha256sum xargs awk; do
        command -v "$t" >/dev/null 2>&1 || { echo "conformance.sh: --lanes needs $t" >&2; exit 2; }
    done
fi

if [ "$SERIAL_GPUOS" = 1 ] && ! command -v flock >/dev/null 2>&1; then
    echo "conformance.sh: --serial-gpuos needs flock (util-linux)" >&2
    exit 2
fi

# ---------------------------------------------------------------------------
# Inputs created in each scratch directory before a run (same on both sides).

FIXED_TIME='2021-03-04 05:06:07 UTC'

setup_files() {
    cat >words.txt <<'EOF'
the quick brown fox
jumps over the lazy dog
alpha beta gamma delta
Zebra zulu zero
apple banana cherry
abc def ghi
quartz quiet queue
hello world
mississippi river
The end
EOF
    cat >nums.txt <<'EOF'
42
7
-3
1000
0.5
19
7
-100
3.25
65536
EOF
    cat >table.txt <<'EOF'
pear 12 green 0.75
apple 7 red 1.20
fig 30 purple 2.50
banana 7 yellow 0.30
cherry 150 red 4.00
kiwi 12 brown 0.90
date 30 brown 3.10
EOF
    cat >dup.txt <<'EOF'
a
a
b
c
c
c
d
a
a
EOF
    cat >colon.txt <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
user:x:1000:1000:A User,,,:/home/user:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
    printf 'the quick brown fox\njumps over the lazy cat\nalpha beta gamma delta\n' >words2.txt
    # 256 bytes 0..255 then a short text tail.
    local i oct=''
    for i in $(seq 0 255); do oct="$oct\\$(printf '%03o' "$i")"; done
    printf '%b' "$oct" >bin.dat
    printf 'strings inside binary\n\001\002tail text here\n' >>bin.dat
    printf 'aGVsbG8sIGJhc2U2NCB3b3JsZAo=\n' >encoded.b64
    printf 'scale=20\n4*a(1)\ne(1)\nsqrt(2)\n2^100\n100/7\nl(10)\n-7%%3\n' >bc.in
    printf 'dos\r\nline endings\r\n' >crlf.txt
    printf '%s\n' \
        'H4sICL9qQGACA3NhbXBsZS50eHQAlZVbVsMwDAX/WYWXYEm2E7MbHgEKoYGW0sLqeUTK/3z3zFF1' \
        'Nb6Zd/spyXX6eJrS+2l395JuD8t5nx6WS3o+vb4d0/I5Hf5/nm++v9L98pjkav6jlFFlpYxRfaUK' \
        '/IdtxSrDtK5YY5j5tAEG4ruNDGseZGfY6FeTDKPM2UFqicZEKIoU31CMXt0TFapL9wsKFSaMkUZN' \
        'i4lQGh1jR6iNaaTaqd3x3qE5JcxRaE4pMZFWzOg7KjSnqqeq0Jw6+B0VmtPCHIXmtG0iNGfYdoTm' \
        'DFuqtHLijgbN6WGOQXN6uGq0c3I8D6Olk+NFGm0diRKwSqs17LFGyag6g/qIRbvaiPs8soUCSY1v' \
        'SKFfrfar0A/CYzgG3AgAAA==' | base64 -d >sample.txt.gz
    mkdir -p tree/sub/deeper tree/empty
    printf 'one\n' >tree/a.txt
    printf 'two two\n' >tree/b.txt
    printf 'three three three\n' >tree/sub/c.txt
    printf 'data' >tree/sub/deeper/d.bin
    printf '#!/bin/sh\necho hi\n' >tree/run.sh
    chmod 755 tree/run.sh
    chmod 600 tree/b.txt
    ln -s a.txt tree/link-to-a
    # Fixed times on everything (symlinks too), so ls -l, tar and gzip agree.
    find . -exec touch -h -d "$FIXED_TIME" {} +
    # A tarball made by the host's GNU tar, reproducibly (skipped without it).
    mkdir extract
    if tar --format=ustar --sort=name --mtime="$FIXED_TIME" --owner=0 --group=0 --numeric-owner \
        -cf - tree 2>/dev/null | gzip -n -9 >tree.tar.gz 2>/dev/null; then :; else rm -f tree.tar.gz; fi
    touch -h -d "$FIXED_TIME" extract tree.tar.gz . 2>/dev/null
}

# ---------------------------------------------------------------------------
# The cases. add NAME FLAGS STDIN -- ARGV...
#   FLAGS: comma list; "lanes": safe to run with --lanes (output independent of
#          the lane, no stdin, no file writes); "files": needs setup_files;
#          "nostderr": stderr not compared; "bb": a busybox case; "cross":
#          both sides get -L CROSS_ROOT (--cross-root); "tramp": both sides get -L
#          with a sysroot whose /lib/ld-gpuos-tramp.so.1 is $BIN_DIR/ld_tramp
#          (the interpreter tests/guest/build.sh's *_interp programs name);
#          "native": the oracle is the host kernel running the program's host build
#          ($BIN_DIR/native/NAME, tests/guest/build.sh), for syscalls that
#          qemu-aarch64 7.2 does not implement (openat2, execveat).
#   STDIN: "-" for /dev/null, else a file in the scratch directory.
#   ARGV:  @NAME is the guest program $BIN_DIR/NAME; @bb is busybox; any
#          argument @bin/NAME is $BIN_DIR/NAME and @cross/PATH is
#          CROSS_ROOT/PATH. {lane} is replaced by the lane index (qemu gets one
#          run per lane; such cases run only with --lanes).

C_NAME=()
C_FLAGS=()
C_STDIN=()
C_ARGV=()
add() {
    local name=$1 flags=$2 stdin=$3
    shift 3
    [ "$1" = -- ] && shift
    local argv='' a
    for a in "$@"; do argv="$argv $(printf '%q' "$a")"; done
    C_NAME+=("$name")
    C_FLAGS+=("$flags")
    C_STDIN+=("$stdin")
    C_ARGV+=("$argv")
}
bb() { local name=$1 flags=$2 stdin=$3; shift 3; [ "$1" = -- ] && shift; add "bb-$name" "bb,files,$flags" "$stdin" -- @bb "$@"; }

# Guest programs (tests/guest/*.c).
add hello lanes - -- @hello "first arg" second '' 'with "quotes"'
add hello-lane lanes - -- @hello 'lane={lane}' '{lane}'
add int_arith lanes - -- @int_arith
add fp_math lanes - -- @fp_math
add neon lanes - -- @neon
add setjmp lanes - -- @setjmp
add malloc_stress lanes - -- @malloc_stress
add atomics lanes - -- @atomics
add strings lanes - -- @strings
add fileio lanes - -- @fileio
add signals lanes - -- @signals
add syscalls lanes - -- @syscalls
# tests/guest/threads.c: pthreads (issue 16), one case per section.
for t in create mutex cond barrier tls once_key detach_sem churn kill cancel fork exit_thread exit_group gettid futex altstack sigwait litmus; do
    add "threads-$t" lanes - -- @threads "$t"
done
# tests/guest/cpp/cxx_threads.cpp: C++ std::thread, std::async, mutexes, condition
# variables, atomics, futures, thread_local, exceptions across threads (issue 16).
for t in threads async sync future tls except churn; do
    add "cxx-threads-$t" lanes - -- @cxx_threads "$t"
done
# tests/guest/go/goroutines.go: a static Go program (goroutines, channels, a worker
# pool, mutexes, select with timers, a parallel merge sort) on the Go runtime's threads.
for t in chan pool mutex select sort; do
    add "go-goroutines-$t" lanes - -- @goroutines "$t"
done
# tests/guest/bench_pipe.c: a pipeline of 6 processes (feeder, 4 computing stages, the
# summing parent) through 5 pipes, as the bench's pipeline workload runs it (issue 16).
add pipeline lanes - -- @bench_pipe 4 300 500
# tests/guest/spare.c: threads that compute while their process maps, unmaps, forks,
# changes protections, signals them or exits (spare lanes, kernel/proc/spare.h).
for t in compute churn fork mprotect signal exit forks; do
    add "spare-$t" lanes - -- @spare "$t"
done
# tests/guest/epoll.c: epoll over pipes (level, edge, one-shot, errors, blocking).
add epoll lanes - -- @epoll
# tests/guest/procfs.c: the guest's /proc/self/status and maps (issue 15).
add procfs lanes - -- @procfs
# ... and the file mappings maps names (path, perms, offset, size), static and dynamic
# (qemu -L shows the sysroot's host path: the program strips it).
add procfs-maps lanes - -- @procfs maps
add dyn-procfs-maps lanes,cross - -- @procfs_dyn maps @cross/
# tests/guest/omp/openmp.c: OpenMP with a team of four (libgomp).
add openmp lanes - -- @openmp
# tests/guest/syscalls2.c: one case per section (the calls of issue 15 item 7).
add syscalls2-flock - - -- @syscalls2 flock
add syscalls2-fadvise - - -- @syscalls2 fadvise
add syscalls2-close_range lanes - -- @syscalls2 close_range
add syscalls2-memfd lanes - -- @syscalls2 memfd
add syscalls2-preadv - - -- @syscalls2 preadv
add syscalls2-groups lanes - -- @syscalls2 groups
add syscalls2-xattr - - -- @syscalls2 xattr
add syscalls2-pgid lanes - -- @syscalls2 pgid
add syscalls2-priority lanes - -- @syscalls2 priority
add syscalls2-mm lanes - -- @syscalls2 mm
add syscalls2-waitid lanes - -- @syscalls2 waitid
add syscalls2-settid lanes - -- @syscalls2 settid
add syscalls2-select lanes - -- @syscalls2 select
add syscalls2-copy_range - - -- @syscalls2 copy_range
add syscalls2-splice - - -- @syscalls2 splice
add syscalls2-sock lanes - -- @syscalls2 sock
# tests/guest/mmapfile.c: mmap(2) of files through the device's page cache.
add mmapfile-private files - -- @mmapfile private
add mmapfile-cow files - -- @mmapfile cow
add mmapfile-fixed files - -- @mmapfile fixed
add mmapfile-large files - -- @mmapfile large
add mmapfile-errors files - -- @mmapfile errors
add mmapfile-sigbus files - -- @mmapfile sigbus
# tests/guest/mmapshared.c: writable MAP_SHARED file mappings and their write-back.
for t in msync fork end eof errors; do
    add "mmapshared-$t" files - -- @mmapshared "$t"
done
# tests/guest/openat2.c, execveat.c: checked against the host kernel (flag native).
add openat2 native,files - -- @openat2
add execveat native,files - -- @execveat
add clocks lanes - -- @clocks
add ptimers lanes - -- @ptimers
add compute lanes - -- @compute 2
add demo lanes - -- @demo
add demo-zoom lanes - -- @demo zoom 31415
add demo-zoom-lane lanes - -- @demo zoom '{lane}'
add process lanes - -- @process
add fdmany lanes - -- @fdmany
add crash_null lanes,nostderr - -- @crash_null
add abort lanes,nostderr - -- @abort
add asm-spin lanes - -- @spin 100000
add exit-42 lanes - -- @exit_codes 42
add exit-0 lanes - -- @exit_codes
add exit-255 lanes - -- @exit_codes 255
add exit-256 lanes - -- @exit_codes 256
add exit-neg1 lanes - -- @exit_codes -1
add exit-_exit lanes - -- @exit_codes _exit 3
add exit-return lanes - -- @exit_codes return 7
add exit-atexit lanes - -- @exit_codes atexit 9
add exit-lane lanes - -- @exit_codes none '{lane}'
# Hostile memory use (tests/guest/hostile_mem*.c): writes to the image's own pages made
# writable must stay the writer's (with --lanes, lane 0 writes and the others must not
# see it); huge ranges must be answered at once; a 3 GiB .bss costs what is touched.
add hostile_mem-prot lanes - -- @hostile_mem prot
add hostile_mem-lane lanes - -- @hostile_mem lane '{lane}'
add hostile_mem-huge lanes - -- @hostile_mem huge
add hostile_mem-bss lanes - -- @hostile_mem_bss
# Address spaces after fork (tests/guest/fork_tables.c): writes and table changes on
# either side, with the other side still holding the page tables or gone, over three
# generations; MAP_SHARED|MAP_ANONYMOUS pages shared with the children.
add fork_tables lanes - -- @fork_tables 2
# One read or write of megabytes moves it all (tests/guest/hostile_io.c); crash: the
# file a write made before the guest died holds every byte. Not lane-safe: megabytes
# of memory and output per lane.
add io-file-1m - - -- @hostile_io file 1048576
add io-file-3m1 - - -- @hostile_io file 3145729
add io-stdout-1m - - -- @hostile_io stdout 1048576
add io-stdout-3m1 - - -- @hostile_io stdout 3145729
add io-pipe-1m - - -- @hostile_io pipe 1048576
add io-pipe-3m1 - - -- @hostile_io pipe 3145729
add io-crash-1m nostderr - -- @hostile_io crash 1048576
add io-signal - - -- @hostile_io signal 1048576
# Host-side corners (issue 12): futimens (utimensat with a NULL path), sendfile with a
# bad offset pointer, forked children whose sleeps overlap.
add hostile-futimens - - -- @hostile_host futimens
add hostile-sendfile - - -- @hostile_host sendfile
add hostile-sleepkids lanes - -- @hostile_host sleepkids 8 300
# Dynamically linked programs: the interpreter (PT_INTERP) found in the sysroot
# and started with the auxv that tells it where the program is (tests/guest/auxv.c
# prints what must hold wherever qemu and gpuos put them); glibc's ld.so, named by
# the program or run as the program.
add dyn-auxv lanes,tramp - -- @auxv_interp one two
add dyn-auxv-pie lanes,tramp - -- @auxv_pie_interp
add dyn-hello lanes,cross - -- @hello_dyn "first arg" second
add dyn-ld-so lanes,cross - -- @cross/lib/ld-linux-aarch64.so.1 @bin/hello_dyn arg

# Busybox applets (Debian's busybox-static, arm64).
bb echo lanes - -- echo hello world
bb echo-e lanes - -- echo -e 'tab\there\nnewline \x41\0102 \\ end'
bb printf lanes - -- printf '%5d|%-4s|%x|%o|%c|%.3f|%e|%g\n' 42 ab 255 8 xyz 3.14159 0.000123 1e20
bb cat lanes - -- cat words.txt nums.txt
bb cat-n lanes words.txt -- cat -n
bb cat-missing lanes - -- cat words.txt missing.txt
bb wc lanes - -- wc words.txt nums.txt table.txt bin.dat
bb wc-l-stdin lanes words.txt -- wc -l
bb head lanes - -- head -n 3 words.txt
bb head-c lanes - -- head -c 50 table.txt
bb tail lanes - -- tail -n 4 words.txt
bb tail-c lanes - -- tail -c 25 words.txt
bb sort lanes - -- sort words.txt
bb sort-n lanes - -- sort -n nums.txt
bb sort-rn lanes - -- sort -r -n nums.txt
bb sort-k lanes - -- sort -k2,2n -k1,1 table.txt
bb sort-k-r lanes - -- sort -k4 -r table.txt
bb sort-u lanes dup.txt -- sort -u
bb uniq-c lanes - -- uniq -c dup.txt
bb uniq-d lanes - -- uniq -d dup.txt
bb cut lanes - -- cut -d: -f1,3,7 colon.txt
bb cut-c lanes - -- cut -c 2-6,9 words.txt
bb tr lanes words.txt -- tr a-z A-Z
bb tr-d lanes words.txt -- tr -d aeiou
bb tr-s lanes dup.txt -- tr -s 'a\n' 'A\n'
bb sed lanes - -- sed -e 's/o/0/g' -e '2d' -e '/alpha/a\appended line' words.txt
bb sed-n lanes - -- sed -n -E 's/^([a-z]+) ([a-z]+).*/\2 \1/p' words.txt
bb awk-sum lanes - -- awk '{ s += $2; n[$3]++ } END { printf "%d %d %.2f\n", s, NR, s / NR; print n["red"], n["brown"] }' table.txt
bb awk-arith lanes - -- awk 'BEGIN { x = 1; for (i = 1; i <= 12; i++) { x = x * 3.7 + 1 / i; printf "%d %.6f %.6e %g %d %s\n", i, i / 7, x, 1 / (i * 3), int(i * 7 / 3), i % 5 } }'
bb awk-fields lanes - -- awk -F: '$3 >= 1000 { print $1, length($5), toupper($7) } END { print NR }' colon.txt
bb grep-E lanes - -- grep -E 'qu[a-z]+|^[A-Z]' words.txt
bb grep-cvn lanes - -- grep -v -n -i 'the' words.txt
bb grep-c lanes - -- grep -c o words.txt
bb grep-none lanes - -- grep nomatch words.txt
bb sha256sum lanes - -- sha256sum bin.dat words.txt sample.txt.gz
bb sha1sum lanes - -- sha1sum bin.dat
bb sha512sum lanes - -- sha512sum bin.dat words.txt
bb md5sum lanes - -- md5sum bin.dat words.txt table.txt
bb crc32 lanes - -- crc32 bin.dat words.txt
bb sha3sum lanes - -- sha3sum bin.dat
bb base64 lanes - -- base64 bin.dat
bb base64-d lanes - -- base64 -d encoded.b64
bb od lanes - -- od -A x -t x1 bin.dat
bb od-c lanes - -- od -c words.txt
bb od-t lanes - -- od -t d4 -t f8 -t u2 -N 64 bin.dat
bb hexdump lanes - -- hexdump -C words.txt
bb xxd lanes - -- xxd -g 4 bin.dat
bb uuencode lanes - -- uuencode bin.dat name
bb seq lanes - -- seq 1 3 40
bb seq-w lanes - -- seq -w -s , 0 0.25 3
bb expr lanes - -- expr 12345 '*' 6789 + 3
bb expr-str lanes - -- expr substr mississippi 3 4
bb expr-false lanes - -- expr 0 '&' 1
bb factor lanes - -- factor 1234567890 600851475143 4294967297 1000000007 97 65536
bb dc lanes - -- dc -e '2 64 ^ p 7 3 / p 20 k 2 v p 17 5 % p'
bb bc lanes bc.in -- bc -l
bb gzip - - -- gzip -9 words.txt
bb gzip-k - - -- gzip -k -1 table.txt
bb gzip-c lanes - -- gzip -c -n nums.txt
bb gunzip - - -- gunzip sample.txt.gz
bb gunzip-c lanes - -- gunzip -c sample.txt.gz
bb zcat-stdin lanes sample.txt.gz -- zcat
bb ls-l lanes - -- ls -l tree
bb ls-lR lanes - -- ls -lnR tree
bb ls-a lanes - -- ls -a -1 -F tree
bb find lanes - -- find tree
bb find-name lanes - -- find tree -name '*.txt' -type f
bb find-size lanes - -- find tree -type f -size -2
bb stat lanes - -- stat -c '%n %s %a %F' words.txt tree tree/run.sh tree/link-to-a
bb date lanes - -- date -u -d @1700000000 '+%Y-%m-%d %H:%M:%S %a %j %s'
bb cal lanes - -- cal 2 2024
bb rev lanes words.txt -- rev
bb nl lanes - -- nl -b a words.txt
bb fold lanes - -- fold -w 9 words.txt
bb paste lanes - -- paste -d '|' words.txt nums.txt
bb tac lanes - -- tac words.txt
bb diff lanes - -- diff words.txt words2.txt
bb cmp lanes - -- cmp words.txt words2.txt
bb strings lanes - -- strings bin.dat
bb basename lanes - -- basename /usr/lib/libc.so.6 .6
bb true lanes - -- true
bb false lanes - -- false
bb test lanes - -- test 3 -lt 4
bb cp - - -- cp -p words.txt copy.txt
bb mkdir-p - - -- mkdir -p a/b/c
bb mv - - -- mv nums.txt tree/sub/moved.txt
bb rm - - -- rm -r tree/sub
bb ln-s - - -- ln -s words.txt link.txt
bb truncate - - -- truncate -s 1000 table.txt
bb dd - - -- dd if=bin.dat of=dd.out bs=7 count=5 skip=1 status=none
bb dos2unix - - -- dos2unix crlf.txt
bb unix2dos-stdin lanes words.txt -- unix2dos
bb tar-c - - -- tar -cf out.tar tree words.txt
bb tar-cv-stdout lanes - -- tar -cvf - tree
bb tar-xzv - - -- tar -xzvf tree.tar.gz -C extract
bb sh-arith lanes - -- sh -c 'i=0; s=0; while [ $i -lt 200 ]; do s=$((s + i * i)); i=$((i + 1)); done; echo "$s ${#s}"; x=abcdef; echo ${x#ab} ${x%ef} ${x:-d}; set -- a b c; echo $# "$@"'
# The sh cases fork, exec and wait. Busybox sh runs an applet such as tr by exec'ing
# /proc/self/exe, which qemu-aarch64 cannot (its /proc/self/exe is an aarch64 file
# the host kernel does not run): it then searches PATH, where a plain `tr` would be
# the host's own x86 program. So the cases call `busybox tr` etc., and PATH starts
# with a directory whose `busybox` runs the same aarch64 busybox under qemu (see
# BB_WRAP_DIR below); gpuos execs /proc/self/exe itself and never gets that far.
bb sh-pipe lanes - -- sh -c 'echo abc | busybox tr a-c x-z; busybox seq 5 | busybox wc -l; echo done'
# Pipes kept in device memory (kernel/sys/dpipe.h): a pipeline's bytes past the ring's
# 64 KiB both ways, read and write with the other end gone (EOF, EPIPE), a subshell
# reading line by line, redirections through fds 3-9 (dup3 onto a pipe and off it), a
# pipe whose ends outlive an exec, and a pipe handed back to the host by an open of
# /dev/stdin (busybox sh's applets run in the same process). About 30 M guest
# instructions (busybox seq costs about 2,600 a number: `seq 1 150000` alone was 392 M,
# beyond conformance's 120 s for one interpreted lane on the GPU).
bb sh-devpipe lanes - -- sh -c 'busybox yes 0123456789 | busybox head -c 150000 | busybox md5sum; busybox yes abcdefghijklmnopqrstuvwxyz | busybox head -c 100000 | busybox wc -c
busybox seq 1 3000 | (read a; read b; echo $a $b; busybox wc -l); exec 3>&1; (echo to3 >&3; echo x; exit 4) | busybox cat; echo "${?}"
{ echo e1; echo e2 >&2; } 2>&1 | busybox sort -r; exec 5<&0; busybox seq 3 | { busybox cat /dev/stdin; busybox echo after; }
for i in 1 2 3; do echo "$i$i"; done | busybox tac | busybox tr 1-3 a-c | (exec 6>&1; busybox cat >&6); busybox yes 0123456789abc | busybox head -n 9000 | busybox tail -n 2'
bb sh-redir - - -- sh -c 'echo one >out.txt; echo two >>out.txt; busybox cat out.txt; read x <out.txt; echo "read $x"'
bb sh-exit lanes - -- sh -c 'exit 17'
# getuid(2), geteuid(2), getgid(2), getegid(2), answered on the device from the ids gpuos
# runs with (qemu's are the same host process's).
bb id-ug lanes - -- sh -c 'busybox id -u; busybox id -g; busybox id -ru; busybox id -rg'
# readlink of /proc/self/exe, answered on the device for the run's own program (each
# applet busybox sh runs is an exec of it, which reads the link back; after an exec of
# another program the host answers: deb-bash-pipeline's coreutils).
bb readlink-exe lanes - -- sh -c 'busybox readlink /proc/self/exe; busybox readlink -f /proc/self/exe | busybox wc -c'
bb sh-subshell lanes - -- sh -c '(exit 3); echo $?; x=$(busybox echo nested | busybox tr a-z A-Z); echo $x'

# ---------------------------------------------------------------------------
# deb-*: programs of a Debian arm64 sysroot (--sysroot, default .deps/sysroot, made
# by scripts/fetch-deps.sh from Debian's packages), dynamically linked, many of them
# exec'ing others. gpuos runs them as `gpuos run --sysroot DIR PROGRAM ...` with
# PROGRAM a path in the sysroot (/usr/bin/python3); the oracle is
# scripts/deb-oracle.sh (see --deb-oracle). Each scratch directory also gets the
# files of tests/deb/. Flags beyond add's: "exec": the case runs other programs
# (skipped by the qemu -L fallback oracle); "rc=N": the exit status the oracle must
# give (default 0): a case whose oracle answers otherwise fails, gap or not, so a
# broken sysroot or oracle is never mistaken for gpuos's gap.
#   deb NAME FLAGS STDIN -- PROGRAM ARGS...   (the case deb-NAME)

# The deb cases gpuos cannot pass yet, as a regex of names: under --skip-known-gaps
# a difference from qemu is reported as GAP. Empty: every deb case must pass.
DEB_GAPS=''

# How the deb cases' oracle runs this time (deb_setup): binfmt, fallback, or empty
# (no sysroot: the cases are left out); the binfmt_misc registration to remove.
DEB_ORACLE=
DEB_REGISTERED=

# deb_setup: picks the oracle for --deb-oracle and registers qemu-aarch64 with
# binfmt_misc for it (removed by deb_teardown, from cleanup).
deb_setup() {
    local why static=$QEMU_BIN
    SYSROOT=$(abspath "$SYSROOT")
    DEB_ORACLE=fallback
    # binfmt_misc's qemu runs inside the sysroot: a static one (qemu-user-static).
    [ -x "$root/.deps/qemu-aarch64-static" ] && static=$root/.deps/qemu-aarch64-static
    if [ "$DEB_ORACLE_HOW" != fallback ]; then
        if why=$("$root/scripts/deb-oracle.sh" setup "$static" $$ 2>&1); then
            DEB_ORACLE=binfmt DEB_REGISTERED=$why
        elif [ "$DEB_ORACLE_HOW" = binfmt ]; then
            echo "conformance.sh: --deb-oracle binfmt: $why" >&2
            exit 2
        else
            echo "conformance.sh: deb cases: $why; the oracle is qemu-aarch64 -L, the cases that exec are skipped" >&2
        fi
    fi
    # A probe: the oracle must run the sysroot's programs as an arm64 machine does.
    local probe=$work/deb-probe out
    mkdir -p "$probe"
    oracle_argv 1 "$probe"
    out=$(cd "$probe" && env -i "${ENV[@]}" "${ORACLE[@]}" /usr/bin/uname -m 2>&1)
    if [ "$out" != aarch64 ]; then
        echo "conformance.sh: the deb oracle ($DEB_ORACLE) does not work: /usr/bin/uname -m gave: $out" >&2
        exit 2
    fi
    echo "conformance: deb cases: sysroot $SYSROOT, oracle $DEB_ORACLE${DEB_REGISTERED:+ (binfmt_misc entry $DEB_REGISTERED)}"
}
deb_teardown() {
    [ -n "$DEB_REGISTERED" ] && "$root/scripts/deb-oracle.sh" teardown "$DEB_REGISTERED"
    DEB_REGISTERED=
}
# deb_case NAME: run_case's settings for a deb case (its locals GPUOS_OPTS and ENV):
# gpuos gets --sysroot, the guest a Debian PATH; whether NAME is a gap (gap=1).
deb_case() {
    GPUOS_OPTS+=(--sysroot "$SYSROOT" --private-tmp)
    local k
    for k in "${!ENV[@]}"; do
        case ${ENV[$k]} in PATH=*) ENV[$k]=PATH=/usr/local/bin:/usr/bin:/bin ;; esac
    done
    [ "$SKIP_GAPS" = 1 ] && [ -n "$DEB_GAPS" ] && printf '%s\n' "$1" | grep -q -E -- "$DEB_GAPS" && gap=1
    return 0
}
# oracle_argv DEB DIR [FLAGS]: the oracle's command line (before the case's argv) in
# ORACLE: qemu-aarch64, the host itself for a case flagged "native", or for a deb case
# (DEB=1) deb-oracle.sh running in DIR.
oracle_argv() {
    if [ "$1" = 0 ] && has_flag "${3:-}" native; then
        # The host kernel itself runs the program's host build (ARGV[0] made
        # $BIN_DIR/native/NAME): qemu-aarch64 7.2 answers ENOSYS to what it tests.
        ORACLE=()
        ARGV[0]=$BIN_DIR/native/$(basename "${ARGV[0]}")
    elif [ "$1" = 0 ]; then
        ORACLE=("$QEMU_BIN" -cpu cortex-a57)
    elif [ "$DEB_ORACLE" = binfmt ]; then
        ORACLE=("$root/scripts/deb-oracle.sh" run --sysroot "$SYSROOT" --cwd "$2" --)
    else
        ORACLE=("$root/scripts/deb-oracle.sh" run --sysroot "$SYSROOT" --cwd "$2" --qemu "$QEMU_BIN" --)
    fi
}
# deb_verdict FLAGS QRC: run_case's status and note for a deb case: the oracle's exit
# status must be the case's rc=N (0 by default), whatever gpuos did; a known gap that
# differs is GAP, one that passes is noted (and listed at the end).
deb_verdict() {
    local want=0
    case ",$1," in *,rc=*) want=${1#*rc=}; want=${want%%,*} ;; esac
    if [ "$2" != "$want" ]; then
        status=FAIL note="oracle: exit $2, the case expects $want${note:+; $note}"
        details+="$(sed -n '1,6s/^/    oracle stderr: /p' "$d/q0.stderr")"$'\n'
    elif [ "$gap" = 1 ] && [ "$status" = FAIL ]; then
        status=GAP note="known gap: $note"
    elif [ "$gap" = 1 ]; then
        note="known gap passes: take it off DEB_GAPS"
        echo "$name" >>"$work/gaps-closed"
    fi
}
# deb_files DIR: the files of tests/deb in a deb case's scratch directory, with the
# fixed time of the others.
deb_files() {
    local f
    for f in "$root"/tests/deb/*; do
        cp "$f" "$1/" && touch -d "$FIXED_TIME" "$1/${f##*/}" || return 1
    done
    touch -d "$FIXED_TIME" "$1"
}

deb() {
    local name=$1 flags=$2 stdin=$3
    shift 3
    [ "$1" = -- ] && shift
    add "deb-$name" "deb,files${flags:+,$flags}" "$stdin" -- "$@"
}
PY=/usr/bin/python3
BASH_=/usr/bin/bash

# python3: the standard library's modules (C and pure Python), errors.
deb py-json lanes - -- $PY -c 'import json; d = {"b": [1, 2.5, None, True], "a": {"x": "é\u2603", "y": -0.0}, "c": 1e300}
s = json.dumps(d, sort_keys=True); print(s); print(json.dumps(json.loads(s), indent=2, ensure_ascii=False))
print(json.loads("[1e400, -1e400, 12345678901234567890]"), json.dumps(float("nan")))'
deb py-re lanes - -- $PY -c 'import re; t = open("words.txt").read()
print(re.findall(r"\b(\w)\w*\1\b", t)); print(re.sub(r"(?P<a>\w+) (?P<b>\w+)", r"\g<b>_\g<a>", t, count=3))
m = re.search(r"(?i)(?P<w>QU\w+)\s+(\w+)", t); print(m.group("w"), m.span(), m.groups())
print(re.split(r"[\s,]+", "a, b  c,d"), len(re.findall("(?m)^[a-z]", t)), re.fullmatch(r"[0-9a-f]+", "dead") is not None)'
deb py-hashlib lanes - -- $PY -c 'import hashlib; data = open("bin.dat", "rb").read()
for n in ("md5", "sha1", "sha224", "sha256", "sha512", "sha3_256", "blake2b", "blake2s"): print(n, hashlib.new(n, data).hexdigest())
h = hashlib.sha256(); [h.update(open(f, "rb").read()) for f in ("words.txt", "nums.txt")]; print(h.hexdigest())
print(hashlib.pbkdf2_hmac("sha256", b"pw", b"salt", 1000).hex(), hashlib.shake_128(b"x").hexdigest(20))'
deb py-struct lanes - -- $PY -c 'import struct; b = struct.pack("<hHiIqQfd?5sx", -2, 65535, -7, 2**32 - 1, -2**63, 2**64 - 1, 1.5, -2.25, True, b"abc")
print(b.hex(), struct.calcsize("<hHiIqQfd?5sx"), struct.calcsize("@bhiqd")); print(struct.unpack("<hHiIqQfd?5sx", b))
print(list(struct.iter_unpack(">HB", bytes(range(12))))); print(struct.unpack("<4I", open("bin.dat", "rb").read(16)))'
deb py-decimal lanes - -- $PY -c 'from decimal import Decimal as D, getcontext, ROUND_DOWN; getcontext().prec = 50
print(D(2).sqrt()); print(D(1) / D(7)); print(D("1.10") + D("2.205"), D("3.14159").quantize(D("0.01"), ROUND_DOWN))
print(D(10).ln(), D("1e-30").exp(), D(-0.0), D("123.4500").normalize(), sum(D(x) for x in ["0.1"] * 10))
from fractions import Fraction as F; print(F(3, 4) + F(5, 6), F("0.125") ** 3, F(355, 113).limit_denominator(50))'
deb py-sort lanes - -- $PY -c 'import bisect, heapq, itertools
rows = [l.split() for l in open("table.txt")]
for r in sorted(rows, key=lambda r: (int(r[1]), r[0])): print(*r)
print(sorted(open("words.txt").read().split(), key=str.lower)[:8]); print(sorted([3, 1, 2], reverse=True))
h = [int(float(x)) for x in open("nums.txt")]; heapq.heapify(h); print([heapq.heappop(h) for _ in range(4)], heapq.nlargest(3, h))
a = [1, 3, 3, 5, 9]; print(bisect.bisect_left(a, 3), bisect.bisect_right(a, 3)); print(list(itertools.permutations("abc", 2))[:4])'
deb py-fileio - - -- $PY -c 'import os, shutil
with open("out.txt", "w") as f: f.writelines(f"line {i}\n" for i in range(100))
with open("out.txt", "r+b") as f: f.seek(10); f.write(b"XX"); f.seek(0, 2); print(f.tell())
os.mkdir("d"); os.makedirs("d/e/f"); shutil.copy("words.txt", "d/e/w.txt"); os.rename("out.txt", "d/moved.txt")
os.symlink("moved.txt", "d/link"); os.remove("nums.txt"); os.chmod("d/e/w.txt", 0o640)
print(sorted(os.listdir("d")), os.path.getsize("d/moved.txt"), os.readlink("d/link"), oct(os.stat("d/e/w.txt").st_mode))
for root, dirs, files in sorted(os.walk("tree")): print(root, sorted(dirs), sorted(files))
print(open("d/link").read()[:20].split())'
deb py-zlib - - -- $PY -c 'import zlib, gzip, bz2, lzma
data = open("words.txt", "rb").read() * 50
for lvl in (1, 6, 9): c = zlib.compress(data, lvl); print(lvl, len(c), zlib.crc32(c), zlib.decompress(c) == data)
print(zlib.crc32(data), zlib.adler32(data)); print(gzip.decompress(open("sample.txt.gz", "rb").read()).decode()[:60])
with gzip.GzipFile("w.gz", "wb", mtime=0) as g: g.write(data)
print(len(bz2.compress(data)), len(lzma.compress(data)), lzma.decompress(lzma.compress(data)) == data)'
deb py-base64 lanes - -- $PY -c 'import base64, binascii; data = open("bin.dat", "rb").read()
print(base64.b64encode(data[:60]).decode()); print(base64.urlsafe_b64encode(data[240:]).decode()); print(base64.b32encode(b"gpuos!").decode())
print(base64.b16encode(b"\x00\xff").decode(), base64.a85encode(b"hello world").decode(), base64.b85encode(b"hello").decode())
print(base64.b64decode(open("encoded.b64").read()).decode(), end=""); print(binascii.hexlify(data[:8], "-").decode(), binascii.crc_hqx(data, 0))'
deb py-math lanes - -- $PY -c 'import math, cmath, statistics
print(math.pi, math.e, math.tau, math.inf, -math.inf, math.nan); print(math.sqrt(2), math.exp(1.5), math.log(10), math.log2(3), math.log10(7))
print(math.sin(1), math.cos(2), math.tan(3), math.atan2(1, -1), math.hypot(3, 4, 12), math.gamma(5.5), math.lgamma(100), math.erf(0.5))
print(math.factorial(30), math.comb(50, 25), math.gcd(462, 1071), math.isqrt(10**40 + 1), 2**200, -7 // 2, -7 % 3, divmod(-17, 5))
print(1e16 + 1, 0.1 + 0.2, 1 / 3, 2.5e-310, float.hex(0.1), round(2.675, 2), f"{math.pi:.30f}", format(1234567.891, ",.2f"))
print(cmath.sqrt(-4), cmath.exp(1j * math.pi), statistics.mean([1, 2, 4]), statistics.median([5, 1, 3, 2]), statistics.pstdev([2, 4, 4, 4, 5, 5, 7, 9]))'
deb py-collections lanes - -- $PY -c 'import collections, itertools, functools, operator
c = collections.Counter(open("words.txt").read().lower().split()); print(c.most_common(3), c["the"])
d = collections.defaultdict(list); [d[len(w)].append(w) for w in sorted(c)]; print(dict(sorted(d.items()))[5])
q = collections.deque(range(10), maxlen=5); q.rotate(2); print(q); P = collections.namedtuple("P", "x y"); print(P(1, 2)._replace(y=5))
print(list(itertools.accumulate(range(1, 8), operator.mul)), list(itertools.groupby("aaabccdd"))[1][0], functools.reduce(operator.xor, range(100)))
print(list(itertools.islice(itertools.cycle("xyz"), 7)), list(zip(*[iter(range(9))] * 3)), {k: v for k, v in zip("abc", range(3))})'
deb py-stdin lanes words.txt -- $PY -c 'import sys; lines = sys.stdin.read().splitlines()
print(len(lines), max(lines, key=len), sum(map(len, lines))); sys.stdout.write("".join(l[::-1] + "\n" for l in lines[:3])); print("é", file=sys.stderr)'
deb py-datetime lanes - -- $PY -c 'import datetime as dt, calendar, time
t = dt.datetime.fromtimestamp(1700000000, dt.timezone.utc); print(t.isoformat(), t.strftime("%A %j %U"), t + dt.timedelta(days=100, hours=5))
print(dt.date(2024, 2, 29).isoweekday(), (dt.date(2030, 1, 1) - dt.date(2000, 1, 1)).days, dt.datetime.strptime("2021-03-04 05:06", "%Y-%m-%d %H:%M"))
print(calendar.isleap(2100), calendar.monthrange(2024, 2), time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(2**31)), calendar.timegm((2021, 3, 4, 5, 6, 7)))'
deb py-sqlite3 lanes - -- $PY -c 'import sqlite3; db = sqlite3.connect(":memory:")
db.execute("create table t(name text, qty int, colour text, price real)")
db.executemany("insert into t values (?, ?, ?, ?)", [l.split() for l in open("table.txt")])
print(db.execute("select colour, count(*), sum(qty), round(avg(price), 3) from t group by colour order by colour").fetchall())
print(db.execute("select name from t where qty > ? order by name", (10,)).fetchall(), sqlite3.sqlite_version_info >= (3, 0, 0))'
deb py-script - - -- $PY inventory.py
deb py-exit lanes,rc=3 - -- $PY -c 'import sys; print("before"); sys.stdout.flush(); sys.exit(3)'
deb py-exit-msg lanes,rc=1 - -- $PY -c 'raise SystemExit("fatal: a message to stderr")'
deb py-exception lanes,rc=1 - -- $PY -c 'def f(x): return 10 // x
print(f(5)); print(f(0))'
deb py-missing-file lanes,rc=1 - -- $PY -c 'print(open("missing.txt").read())'
deb py-missing-script lanes,rc=2 - -- $PY missing.py
deb py-subprocess exec - -- $PY -c 'import subprocess, os
r = subprocess.run(["sort", "-r", "words.txt"], capture_output=True, text=True); print(r.returncode, r.stdout.splitlines()[:3])
print(subprocess.run(["sh", "-c", "exit 5"]).returncode, subprocess.check_output("echo $((6 * 7)) | tr 4 X", shell=True))
print(os.system("uname -m"), subprocess.run(["gawk", "BEGIN { print 2 ^ 10 }"], stdout=subprocess.PIPE).stdout)'

# The device's stat cache (kernel/sys/statcache.h): the same sysroot paths stat'ed and
# lstat'ed again, by the same and by another process, with symlinks, a trailing slash,
# '..', missing names, and paths relative to a working directory in the sysroot.
deb py-stat-cache lanes - -- $PY -c 'import os, stat
ps = ["/usr/bin/python3", "/usr/lib/python3.11/os.py", "/usr/lib/", "/usr/lib", "/usr/bin/../lib/python3.11/json/__init__.py", "/bin/sh", "/usr/bin/python3/", "/nonexistent/x", "/usr/lib/python3.11/zzz.py", "python3.11/os.py", "../lib/python3.11/json"]
def show(tag):
    for p in ps:
        for f in (os.stat, os.lstat):
            try:
                s = f(p); d = stat.S_ISDIR(s.st_mode)
                print(tag, p, f.__name__, stat.filemode(s.st_mode), "-" if d else s.st_size, "-" if d else s.st_nlink, int(s.st_mtime), s.st_ino == os.stat(p).st_ino)
            except OSError as e: print(tag, p, f.__name__, e.errno, e.strerror)
os.chdir("/usr/lib"); show("first"); show("again")
pid = os.fork()
if pid == 0: show("child"); os._exit(0)
print(os.waitpid(pid, 0)[1]); show("parent")'
# Reads of the sysroot's read-only files served on the device (kernel/sys/devread.h):
# read, pread, lseek, fstat and isatty of such descriptors, their offsets shared with a
# dup, a forked child and a thread (handed back to the host first), more of them open
# than the device keeps, a file past the device's size limit, mmap beside reads, and a
# directory (its fstat on the device, its listing and reads the host's).
deb py-devread lanes - -- $PY -c 'import os, stat, threading, mmap
L = "/usr/lib/python3.11/"
fd = os.open(L + "os.py", os.O_RDONLY); st = os.fstat(fd)
print(stat.S_ISREG(st.st_mode), st.st_size, os.isatty(fd), len(os.read(fd, 100)), os.lseek(fd, 0, os.SEEK_CUR))
print(os.lseek(fd, -10, os.SEEK_END), os.read(fd, 100), os.read(fd, 10), os.lseek(fd, 5, os.SEEK_SET), os.read(fd, 7))
print(os.lseek(fd, 100000, os.SEEK_SET), os.read(fd, 5), os.pread(fd, 12, 30), os.lseek(fd, 0, os.SEEK_CUR), os.pread(fd, 5, 10**6))
for w, o in ((os.SEEK_SET, -1), (os.SEEK_CUR, -10**6), (9, 0)):
    try: print(os.lseek(fd, o, w))
    except OSError as e: print("lseek", w, e.errno)
try: os.pread(fd, 4, -1)
except OSError as e: print("pread", e.errno)
os.lseek(fd, 40, os.SEEK_SET); d = os.dup(fd); print(os.read(d, 6), os.lseek(fd, 0, os.SEEK_CUR), os.read(fd, 6), os.lseek(d, 0, os.SEEK_CUR))
print(os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE), os.readv(fd, [bytearray(4), bytearray(3)]), os.lseek(d, 0, os.SEEK_CUR))
os.close(d); os.close(fd)
fs = [os.open(L + n, os.O_RDONLY) for n in ("os.py", "typing.py", "_pydecimal.py", "json/__init__.py", "abc.py", "stat.py", "io.py")]
got = [os.read(f, 3000) for f in fs] + [os.read(f, 70000) for f in fs] + [os.read(f, 10**6) for f in fs]
print([len(g) for g in got], sum(map(sum, got)), [os.lseek(f, 0, os.SEEK_CUR) for f in fs], [os.fstat(f).st_size for f in fs])
[os.close(f) for f in fs]
fd = os.open(L + "typing.py", os.O_RDONLY); os.read(fd, 1000)
pid = os.fork()
if pid == 0: os.read(fd, 500); os._exit(0)
os.waitpid(pid, 0); print("after child", os.lseek(fd, 0, os.SEEK_CUR), os.read(fd, 8))
t = threading.Thread(target=lambda: print("thread", os.read(fd, 9), os.lseek(fd, 0, os.SEEK_CUR))); t.start(); t.join()
print("main", os.read(fd, 9), os.lseek(fd, 0, os.SEEK_CUR)); os.close(fd)
big = os.open("/usr/bin/python3.11", os.O_RDONLY); b = os.read(big, 64); os.lseek(big, -16, os.SEEK_END)
print(b[:4], os.read(big, 100).hex(), os.fstat(big).st_size, os.isatty(big)); os.close(big)
with open(L + "stat.py", "rb") as f:
    f.read(10); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ); print(m[:10], f.read(10), f.tell(), len(m)); m.close()
    m = mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ); c = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
    c[0:3] = b"XYZ"; print(m[100:120], c[:12], m[:3], os.pread(f.fileno(), 3, 0), m.find(b"import"), len(c)); m.close(); c.close()
    import fcntl; fl = fcntl.fcntl(f.fileno(), fcntl.F_GETFD); fcntl.fcntl(f.fileno(), fcntl.F_SETFD, 0)
    print(fl, fcntl.fcntl(f.fileno(), fcntl.F_GETFD), fcntl.fcntl(f.fileno(), fcntl.F_GETFL) & 3, f.read(6), f.tell())
with open(L + "abc.py") as f: print(len(f.read()), f.readline() == "", f.seek(3), f.read(5))
dfd = os.open(L + "json", os.O_RDONLY | os.O_DIRECTORY); print(stat.S_ISDIR(os.fstat(dfd).st_mode), os.isatty(dfd), sorted(os.listdir(dfd)))
try: os.read(dfd, 10)
except OSError as e: print("read dir", e.errno)
print(os.lseek(dfd, 0, os.SEEK_SET), sorted(os.listdir(dfd)) == sorted(os.listdir(L + "json")), os.fstat(dfd).st_nlink); os.close(dfd)'
# close(2) of such a descriptor answered on the device (the host closes its own with
# the lane's next request, kernel/sys/devread.h): the number free again for the next
# open, a pipe and dup2, EBADF on the closed one, a forked child without it.
deb py-devclose lanes - -- $PY -c 'import os
L = "/usr/lib/python3.11/"
fds = []
for n in ("os.py", "abc.py", "stat.py", "io.py", "json/__init__.py"):
    fd = os.open(L + n, os.O_RDONLY); fds.append(fd); os.read(fd, 10); os.close(fd)
print(len(set(fds)))
a = os.open(L + "os.py", os.O_RDONLY); b = os.open(L + "abc.py", os.O_RDONLY); os.close(a)
for f in (lambda: os.read(a, 4), lambda: os.fstat(a), lambda: os.lseek(a, 0, 0), lambda: os.close(a)):
    try: print(f())
    except OSError as e: print("closed", e.errno)
r, w = os.pipe(); print(r == a, os.read(b, 3)); os.close(r); os.close(w)
c = os.open(L + "io.py", os.O_RDONLY); print(c == a); os.close(c); os.dup2(b, c); print(os.read(c, 3), os.lseek(b, 0, os.SEEK_CUR)); os.close(c)
d = os.open(L + "stat.py", os.O_RDONLY); os.close(d)
pid = os.fork()
if pid == 0:
    try: os.fstat(d); print("child has it")
    except OSError as e: print("child", e.errno)
    os._exit(0)
os.waitpid(pid, 0)
os.close(b); print(os.open(L + "os.py", os.O_RDONLY) == a, os.open(L + "abc.py", os.O_RDONLY) == a + 1)'
# openat(2) of a path whose open lasts answered on the device after its first open
# (kernel/sys/devread.h devread_open; the host makes its description with the lane's
# next request, host/noted.rs): the lowest free number (a hole, fd 0), other flags than
# the first open's, O_DIRECTORY of a file, more descriptors than the device keeps and
# past 31, the status and descriptor flags, /proc/self/fd, a forked child sharing the
# offset, and an exec'd program inheriting one without O_CLOEXEC.
deb py-devopen lanes - -- $PY -c 'import os, sys, fcntl
L = "/usr/lib/python3.11/"; P = [L + n for n in ("os.py", "abc.py", "stat.py", "io.py", "types.py", "json/__init__.py")]
for p in P: os.close(os.open(p, os.O_RDONLY | os.O_CLOEXEC))
fl = lambda f: (fcntl.fcntl(f, fcntl.F_GETFL), fcntl.fcntl(f, fcntl.F_GETFD))
a, b, c = (os.open(p, os.O_RDONLY | os.O_CLOEXEC) for p in P[:3]); os.close(b); d = os.open(P[3], os.O_RDONLY | os.O_CLOEXEC)
print(a, b, c, d, d == b, os.read(d, 12), os.read(a, 9), fl(a), os.readlink("/proc/self/fd/%d" % d))
n = os.open(P[4], os.O_RDONLY | os.O_NONBLOCK); m = os.open(P[4], os.O_RDONLY)
print(n, m, fl(n), fl(m), os.read(n, 5), os.read(m, 7), os.lseek(n, 0, os.SEEK_CUR))
try: os.open(P[1], os.O_RDONLY | os.O_DIRECTORY)
except OSError as e: print("dir", e.errno)
l = os.open("/lib/aarch64-linux-gnu/libc.so.6", os.O_RDONLY); l2 = os.open("/lib/aarch64-linux-gnu/libc.so.6", os.O_RDONLY)
print(l2 - l, os.readlink("/proc/self/fd/%d" % l2), os.read(l2, 4), os.fstat(l2).st_size == os.fstat(l).st_size)
many = [os.open(P[k % 6], os.O_RDONLY | os.O_CLOEXEC) for k in range(34)]
print(many[0] > l2, sorted(set(many)) == many, [len(os.read(f, 100)) for f in many[-6:]], os.lseek(many[29], 0, os.SEEK_CUR)); [os.close(f) for f in many]  # (qemu itself holds a number near here)
dd = os.open(L + "json", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC); de = os.open(L + "json", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
print(de - dd, sorted(os.listdir(de)) == sorted(os.listdir(L + "json")), fl(de)); os.close(dd); os.close(de)
os.close(0); z = os.open(P[2], os.O_RDONLY); print("fd0", z, os.read(z, 6))
pid = os.fork()
if pid == 0: os.read(a, 100); k = os.open(P[5], os.O_RDONLY); print("child", k, os.read(k, 4)); os._exit(0)
os.waitpid(pid, 0); print("parent", os.lseek(a, 0, os.SEEK_CUR), os.read(a, 5))
x = os.open(P[0], os.O_RDONLY); os.lseek(x, 17, os.SEEK_SET); os.set_inheritable(x, True); sys.stdout.flush()
pid = os.fork()
if pid == 0: os.execv(sys.executable, [sys.executable, "-c", "import os; print(\"exec\", os.lseek(%d, 0, 1), os.read(%d, 8)); os.close(%d)" % (x, x, a)])
print("waited", os.waitpid(pid, 0)[1])'
# Pipes kept in device memory (kernel/sys/dpipe.h) from python3: EOF, EPIPE (python
# ignores SIGPIPE), O_NONBLOCK's EAGAIN both ways, a blocking write past 64 KiB to a
# forked reader, readv and writev, poll and sendfile from a sysroot file (served on the
# device), dup2 onto stdout for an exec'd program, fstat, isatty, lseek's ESPIPE,
# F_GETFD, and the pipe handed back to the host by select and F_GETPIPE_SZ mid-stream.
deb py-devpipe lanes - -- $PY -c 'import os, sys, stat, select, fcntl
r, w = os.pipe(); os.write(w, b"hello"); print(os.read(r, 3), os.read(r, 10)); os.close(w); print(os.read(r, 5))
r3, w3 = os.pipe(); print(os.writev(w3, [b"ab", b"", b"cdef", b"ghij"])); x, y = bytearray(3), bytearray(10); print(os.readv(r3, [x, y]), x, y)
p = select.poll(); p.register(r3, select.POLLIN); p.register(w3, select.POLLOUT); print(sorted(p.poll(0)), os.write(w3, b"pq"), sorted(p.poll(0)))
print(os.read(r3, 2), sorted(p.poll(30))); os.close(w3); print([(f, e) for f, e in sorted(p.poll(0)) if f == r3]); os.close(r3)
f = os.open("/usr/lib/python3.11/os.py", os.O_RDONLY); r4, w4 = os.pipe(); print(os.sendfile(w4, f, None, 1000), os.sendfile(w4, f, 5, 10), os.lseek(f, 0, 1), os.read(r4, 2000)[-12:])
os.lseek(f, -20, 2); print(os.sendfile(w4, f, None, 100), os.sendfile(w4, f, None, 100), os.read(r4, 100)); os.close(f); os.close(r4); os.close(w4)
import ctypes; libc = ctypes.CDLL(None, use_errno=True); r5, w5 = os.pipe(); os.write(w5, b"abc"); b5 = ctypes.create_string_buffer(8)
print(libc.read(r5, b5, ctypes.c_size_t(2**63 + 5)), ctypes.get_errno(), libc.write(w5, b"xy", ctypes.c_size_t(2**64 - 1)), libc.read(r5, b5, ctypes.c_size_t(8)), b5.raw[:3])
r2, w2 = os.pipe(); os.close(r2)
try: os.write(w2, b"x")
except BrokenPipeError as e: print("EPIPE", e.errno)
os.set_blocking(r, False); a, b = os.pipe(); os.set_blocking(a, False); os.set_blocking(b, False)
try: os.read(a, 4)
except BlockingIOError as e: print("EAGAIN read", e.errno)
def fill(b):
    n = 0
    try:
        while True: n += os.write(b, b"z" * 1000)
    except BlockingIOError as e: return n, e.errno
def again(b, k):
    try: return os.write(b, b"y" * k)
    except BlockingIOError: return "EAGAIN"
# Linux keeps 16 slots of a page: 1,000-byte writes fill them at 64,000; a slot read part way
# stays taken; one read empty takes a write again, and small writes merge into it.
n, e = fill(b); print("EAGAIN write", e, n, len(os.read(a, 1000)), again(b, 1000), len(os.read(a, 3000)), again(b, 1000), again(b, 3000), again(b, 96), again(b, 1))
print(len(os.read(a, 100000)), stat.S_ISFIFO(os.fstat(a).st_mode), os.isatty(a), fcntl.fcntl(b, fcntl.F_GETFD))
a2, b2 = os.pipe(); os.set_blocking(a2, False); os.set_blocking(b2, False); select.select([a2], [b2], [], 0)  # handed to the host
print("host pipe", fill(b2), len(os.read(a2, 1000)), again(b2, 1000), len(os.read(a2, 3000)), again(b2, 4096), again(b2, 1), len(os.read(a2, 100000)))
try: os.lseek(a, 0, 0)
except OSError as e: print("lseek", e.errno)
r, w = os.pipe(); pid = os.fork()
if pid == 0:
    os.close(w); got = b""
    while (c := os.read(r, 7000)): got += c
    print("child", len(got), got[:3], got[-3:]); os._exit(0)
os.close(r); print("wrote", os.write(w, bytes(range(256)) * 1000)); os.close(w); os.waitpid(pid, 0)
r, w = os.pipe(); sys.stdout.flush(); pid = os.fork()
if pid == 0: os.dup2(w, 1); os.close(w); os.close(r); os.execv("/usr/bin/seq", ["seq", "1", "20000"])
os.close(w); data = b""
while (c := os.read(r, 65536)): data += c
print("seq", len(data), data[-12:], os.waitpid(pid, 0)[1])
r, w = os.pipe(); os.write(w, b"before"); print(select.select([r], [], [], 0)[0] == [r], os.read(r, 3))
os.write(w, b"tail"); print(os.read(r, 10), fcntl.fcntl(w, 1032)); os.write(w, b"more"); os.close(w); print(os.read(r, 10), os.read(r, 10))'
# Sleeps beside other members of the family served on the device (kernel/sys/time_sys.h):
# a forked child's and its parent's, a nanosleep a SIGALRM handler interrupts (EINTR, the
# time left), clock_nanosleep relative and absolute, EINVAL.
deb py-devsleep lanes - -- $PY -c 'import os, time, signal, ctypes
t = time.monotonic(); pid = os.fork()
if pid == 0: time.sleep(0.3); os._exit(3)
time.sleep(0.1); print("parent", time.monotonic() - t >= 0.1, os.waitpid(pid, 0)[1] >> 8, time.monotonic() - t >= 0.3)
class TS(ctypes.Structure): _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
libc = ctypes.CDLL(None, use_errno=True); pid = os.fork()
if pid == 0:
    got = []; signal.signal(signal.SIGALRM, lambda s, f: got.append(s)); signal.setitimer(signal.ITIMER_REAL, 0.1)
    rem = TS(0, 0); r = libc.nanosleep(ctypes.byref(TS(2, 0)), ctypes.byref(rem)); print("child", r, ctypes.get_errno(), got, 1 <= rem.s <= 2, flush=True)
    now = TS(0, 0); libc.clock_gettime(1, ctypes.byref(now)); now.ns += 50000000
    if now.ns >= 10**9: now.s += 1; now.ns -= 10**9
    print("clock", libc.clock_nanosleep(1, 0, ctypes.byref(TS(0, 50000000)), None), libc.clock_nanosleep(1, 1, ctypes.byref(now), None), libc.clock_nanosleep(1, 0, ctypes.byref(TS(0, 2 * 10**9)), None), flush=True)
    os._exit(0)
os.waitpid(pid, 0); print("done")'
# Paths missing for good (ENOENT, ENOTDIR below the sysroot's directories) answered from
# the device's stat cache (stat and open), in the parent and a forked child; then (its
# own case: it writes) a missing path in the working directory (writable) and one
# reached through a symlink there are not kept: they appear once made.
deb py-stat-absent lanes - -- $PY -c 'import os
def st(p, follow=True):
    try: s = os.stat(p, follow_symlinks=follow); return "dir" if os.path.isdir(p) else s.st_size
    except OSError as e: return e.errno
gone = ["/usr/lib/python311.zip", "/usr/lib/python3.11/os.py/x", "/usr/nothere/a/b", "/etc/nothere", "/usr/lib/python3.11/json/nothere.py"]
def op(p, fl=os.O_RDONLY):
    try: os.close(os.open(p, fl)); return "opened"
    except OSError as e: return e.errno
print([st(p) for p in gone], [st(p, False) for p in gone], [st(p) for p in gone])
print([op(p) for p in gone], [op(p, os.O_RDONLY | os.O_NOFOLLOW) for p in gone], op("/usr/lib/nothere.cfg"), op("/usr/lib/nothere.cfg"), st("/usr/lib/nothere.cfg"))
f = "/usr/lib/python3.11/stat.py"; print(op(f, os.O_RDONLY | os.O_DIRECTORY), st(f), op(f), op(f + "/", os.O_RDONLY), st(f + "/"), st(f))
try: os.open("/usr/lib/python311.zip", os.O_CREAT | os.O_WRONLY)
except OSError as e: print("create", e.errno, st("/usr/lib/python311.zip"))
pid = os.fork()
if pid == 0: print("child", [st(p) for p in gone], [op(p) for p in gone]); os._exit(0)
os.waitpid(pid, 0)'
deb py-stat-absent-made - - -- $PY -c 'import os
def st(p, follow=True):
    try: s = os.stat(p, follow_symlinks=follow); return "dir" if os.path.isdir(p) else s.st_size
    except OSError as e: return e.errno
here = os.getcwd(); new = here + "/made-later"; lnk = here + "/lnk"
print(st(new), st(new + "/f")); os.mkdir(new); print(st(new), st(new + "/f"))
open(new + "/f", "w").write("abc"); print(st(new + "/f"), st(new + "/f/x"))
os.symlink("/usr/lib", lnk); print(st(lnk + "/nothere"), st(lnk + "/python3.11/os.py") > 0)
os.remove(lnk); os.mkdir(lnk); open(lnk + "/nothere", "w").write("12345"); print(st(lnk + "/nothere"))'
# getdents64 of a sysroot directory served on the device from its listing (the host's
# records): EINVAL when the next record does not fit, whole records only, the position
# handed back to the host (lseek SEEK_CUR is the last record's d_off), the listing
# continued by the host and by a forked child, a rewind.
deb py-devdents lanes - -- $PY -c 'import os, ctypes, struct
libc = ctypes.CDLL(None, use_errno=True)
def dents(fd, n):
    b = ctypes.create_string_buffer(n); r = libc.syscall(61, fd, b, n)
    if r < 0: return ctypes.get_errno()
    out, at = [], 0
    while at < r:
        off, rl = struct.unpack_from("<qH", b.raw, at + 8); out.append((b.raw[at + 19:at + rl].split(b"\0")[0].decode(), off)); at += rl
    return out
d = "/usr/lib/python3.11/json"; want = sorted(os.listdir(d) + [".", ".."])
def rest(fd):
    out = []
    while r := dents(fd, 4096): out += r
    return out
names = lambda rs: sorted(n for n, _ in rs)
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
print(dents(fd, 10), dents(fd, 18))
a = dents(fd, 64); b = dents(fd, 100); os.lseek(fd, 0, os.SEEK_CUR); c = rest(fd)
print(len(a), len(b), names(a + b + c) == want, dents(fd, 4096))
os.lseek(fd, 0, os.SEEK_SET); full = rest(fd); print(names(full) == want); os.close(fd)
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY); a = dents(fd, 100)
pid = os.fork()
if pid == 0: print("child", names(a + rest(fd)) == want); os._exit(0)
os.waitpid(pid, 0); print("parent", dents(fd, 4096)); os.close(fd)
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY); x = dents(fd, 1 << 16); y = dents(fd, 1 << 16); os.close(fd)
fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY); z = []
while (r := dents(fd, 40 + len(z) * 7)) not in ([], 22): z += r
print(x == full, y, [n for n, _ in z] == [n for n, _ in full], r); os.close(fd)
big = "/usr/lib/python3.11"; fd = os.open(big, os.O_RDONLY | os.O_DIRECTORY); w = []
while r := dents(fd, 333): w += r
print(len(w) > 100, names(w) == sorted(os.listdir(big) + [".", ".."])); os.close(fd)'
deb py-threading lanes - -- $PY -c 'import threading, queue, concurrent.futures as cf
lock = threading.Lock(); total = [0]
def add(n):
    for i in range(n):
        with lock: total[0] += i
ts = [threading.Thread(target=add, args=(2000,)) for _ in range(4)]; [t.start() for t in ts]; [t.join() for t in ts]
q = queue.Queue(maxsize=3); out = []
def prod():
    for i in range(50): q.put(i)
    q.put(None)
def cons():
    while (x := q.get()) is not None: out.append(x * x)
a = threading.Thread(target=prod); b = threading.Thread(target=cons); a.start(); b.start(); a.join(); b.join()
with cf.ThreadPoolExecutor(max_workers=4) as ex: pool = list(ex.map(lambda k: sum(range(k)), [10, 100, 1000, 10000]))
loc = threading.local(); res = {}; ev = threading.Event()
def tl(k):
    loc.v = k * 7; ev.wait(); res[k] = loc.v
ts = [threading.Thread(target=tl, args=(k,)) for k in range(3)]; [t.start() for t in ts]; ev.set(); [t.join() for t in ts]
print("locked", total[0], "queue", len(out), sum(out), "pool", pool, "local", sorted(res.items()), threading.active_count())'

# asyncio: its event loop on epoll, woken through a socketpair, with a thread pool.
deb py-asyncio lanes - -- $PY -c 'import asyncio
async def worker(q, out):
    while (item := await q.get()) is not None:
        await asyncio.sleep(0.001 * (item % 3)); out.append(item * item); q.task_done()
    q.task_done()
async def main():
    q = asyncio.Queue(); out = []; ws = [asyncio.create_task(worker(q, out)) for _ in range(3)]
    for i in range(12): await q.put(i)
    for _ in ws: await q.put(None)
    await q.join(); await asyncio.gather(*ws); print("squares", sorted(out))
    print("executor", await asyncio.get_running_loop().run_in_executor(None, sum, range(1000)))
    try: await asyncio.wait_for(asyncio.sleep(5), timeout=0.02)
    except asyncio.TimeoutError: print("timeout")
    ev = asyncio.Event(); asyncio.get_running_loop().call_later(0.01, ev.set); await ev.wait(); print("event")
asyncio.run(main())'

# perl (perl-base): one-liners.
deb perl-print lanes - -- /usr/bin/perl -e 'my %h = (pear => 12, fig => 30, kiwi => 12); for (sort { $h{$b} <=> $h{$a} || $a cmp $b } keys %h) { printf "%-5s %3d %s\n", $_, $h{$_}, "*" x ($h{$_} / 6) }
print join(",", map { $_ ** 2 } 1 .. 10), "\n", 2 ** 0.5, " ", 10 / 3, " ", int(-7 / 2), " ", -7 % 3, " ", 1e21, " ", 0.1 + 0.2, "\n";
printf "%.15g %e %x %o %b %s\n", atan2(1, 1) * 4, 12345.678, 255, 8, 10, scalar reverse "gpuos"'
deb perl-regex lanes - -- /usr/bin/perl -ne 'chomp; my @w = split; $n += @w; s/(\w+) (\w+)/$2 $1/; tr/a-z/A-Z/ if /qu/; print "$.: $_\n" if /^[A-Za-z]+ [a-z]/ } END { print "words $n\n"' words.txt
deb perl-lane lanes - -- /usr/bin/perl -lane '$s{$F[2]} += $F[1] * $F[3]; END { printf "%-7s %8.2f\n", $_, $s{$_} for sort keys %s }' table.txt
deb perl-pack lanes - -- /usr/bin/perl -e 'my $b = pack("NnC a4 Z5 H4", 0xdeadbeef, 513, 7, "ab", "xyz", "ff00"); print unpack("H*", $b), " ", length $b, "\n";
my @u = unpack("NnC a4 Z5 H4", $b); print "@u\n"; print join(" ", map { sprintf "%02x", ord } split //, "AZaz"), " ", hex("ff"), " ", oct("0755"), " ", oct("0b101"), "\n";
my @s = sort { $a <=> $b } (10, 9, 100, -3); print "@s ", scalar(@s), " ", join("|", reverse 1 .. 4), " ", lc("ABC") . uc("def"), "\n"'
deb perl-file - - -- /usr/bin/perl -e 'open my $o, ">", "out.txt" or die; print $o "$_\n" for 1 .. 5; close $o; open my $i, "<", "out.txt" or die; my @l = <$i>; print scalar(@l), " lines, last $l[-1]";
mkdir "d" or die; rename "out.txt", "d/out.txt" or die; unlink "nums.txt" or die; opendir my $dh, "tree" or die; print join(" ", sort grep { !/^\./ } readdir $dh), "\n"; print -s "words.txt", " ", (-d "tree" ? "dir" : "?"), "\n"'
deb perl-die lanes,rc=2 - -- /usr/bin/perl -e 'print "start\n"; $! = 2; die "fatal error\n"'
deb perl-exit lanes,rc=7 - -- /usr/bin/perl -e 'print "bye\n"; exit 7'
deb perl-missing lanes,rc=1 - -- /usr/bin/perl -e 'open(my $f, "<", "missing.txt") or do { print STDERR "cannot open: $!\n"; exit 1 }'

# bash: builtins alone, then pipelines of coreutils (exec).
deb bash-builtins lanes - -- $BASH_ -c 'declare -A m=([b]=2 [a]=1 [c]=3); for k in $(printf "%s\n" "${!m[@]}" | { readarray -t x; printf "%s\n" "${x[@]}"; }); do :; done
a=(one two three four); echo "${#a[@]} ${a[*]:1:2} ${a[-1]} ${a[@]/o/0}"; s="Hello, World"; echo "${s,,} ${s^^} ${s//o/0} ${s:7} ${#s} ${s%%,*}"
i=0; sum=0; while ((i < 100)); do ((sum += i * i, i++)); done; echo $sum $((2 ** 40)) $((-7 / 2)) $((-7 % 3)) $((0x1f << 3)) $((10 > 3 ? 1 : 0))
printf "%5s|%-5s|%05d|%x|%o|%e|%q\n" ab cd 42 255 8 1234.5 "a b"; f() { local x=$1; echo "f:$x:$#"; return 4; }; f 1 2 3; echo "rc $?"
case "$s" in H*d) echo glob-match ;; *) echo none ;; esac; [[ "abc123" =~ ^([a-z]+)([0-9]+)$ ]] && echo "${BASH_REMATCH[2]}${BASH_REMATCH[1]}"
set -- x y z; shift; echo "$# $@"; echo ${BASH_VERSINFO[0]} $(( ${#BASH_VERSION} > 0 ))'
deb bash-redirect - - -- $BASH_ -c 'echo one >out.txt; echo two >>out.txt; printf "%s\n" three >>out.txt; while read -r l; do echo "got $l"; done <out.txt
cat_() { while IFS= read -r l; do echo "[$l]"; done; }; cat_ <<EOF
here $((1 + 2)) doc
EOF
cat_ <<<"here string"; exec 3>fd3.txt; echo via-fd3 >&3; exec 3>&-; { echo err >&2; echo out; } 2>err.txt; mapfile -t L <out.txt; echo "${#L[@]} ${L[1]}"'
deb bash-status lanes,rc=1 - -- $BASH_ -c '(exit 3); echo "sub $?"; false | true; echo "pipe ${PIPESTATUS[*]}"; set -o pipefail; true | false | true; echo "pipefail $?"
! true; echo "not $?"; f() { return 200; }; f; echo "f $?"; set -e; echo before; false; echo never'
deb bash-missing-cmd lanes,rc=127 - -- $BASH_ -c 'echo start; nosuchcommand arg; echo "rc $?"; nosuchcommand2'
deb bash-syntax lanes,rc=2 - -- $BASH_ -c 'echo ok; if then fi'
deb bash-pipeline exec - -- $BASH_ -c 'tr -s " " "\n" <words.txt | tr A-Z a-z | sort | uniq -c | sort -k1,1nr -k2 | head -n 5; seq 1 20 | paste -sd+ | bc
cut -d: -f1,7 colon.txt | sort -t: -k2 | sed "s/:/ -> /"; join <(sort words.txt) <(sort words2.txt) | wc -l'
# xz's multi-threaded mode (-T4, small blocks: four encoder threads and a pool).
deb xz-threads exec - -- $BASH_ -c 'seq 1 6000 | xz -T4 --block-size=4KiB -6 -c > n.xz; xz -l --robot n.xz | cut -f1-5 | head -n 3
xz -T4 -dc n.xz | md5sum; xz -T4 -tv n.xz 2>&1 | tail -n 1; cat n.xz | md5sum'
# zstd's worker threads (-T4: Debian's zstd builds its I/O pool at start, which failed
# with "error 104 : Failed creating I/O thread pool" before threads), its long mode and
# a dictionary, then the round trips.
deb zstd-threads exec - -- $BASH_ -c 'seq 1 40000 > n.txt; zstd -q -T4 -19 -B64KiB n.txt -o n.zst && zstd -lv n.zst 2>&1 | grep -E "Frames|Decompressed|Check"
zstd -q -T4 -dc n.zst | md5sum; zstd -q -T4 --long=20 -c n.txt | zstd -q -d --long=20 | cmp - n.txt && echo long-ok
mkdir s && split -l 100 n.txt s/p. && zstd -q --train s/p.* -o dict --maxdict=8192 && md5sum dict && zstd -q -D dict -c words.txt | zstd -q -d -D dict | cmp - words.txt && echo dict-ok
zstd -t n.zst && echo tested; zstd -q -d missing.zst; echo "missing $?"'
deb bash-coreutils exec - -- $BASH_ -c 'wc -l words.txt nums.txt; sort -n nums.txt | head -n 3; sort -g nums.txt | tail -n 2; head -c 20 bin.dat | od -An -tx1
sha256sum words.txt table.txt; md5sum bin.dat; b2sum -l 128 words.txt; expr 6 \* 7; basename /a/b/c.txt .txt; dirname /a/b/c.txt; factor 600851475143 97
printf "%s\n" b a c | sort -r | tac | nl; echo "hello world" | fold -w 4; date -u -d @1700000000 "+%F %T %a %j"; seq -w 8 11 | paste -sd,
stat -c "%n %s %a %F" words.txt tree tree/run.sh tree/link-to-a; ls -l --time-style=+%F tree | tail -n +2; du -b tree/sub; true && echo t; false || echo f'
deb bash-script exec - -- $BASH_ report.sh
deb bash-subshell exec - -- $BASH_ -c 'x=$(echo nested | tr a-z A-Z); echo "$x $(basename $(dirname /p/q/r))"; (cd tree && ls); echo "$(pwd)" | sed "s|.*/||"
for f in tree/*.txt; do echo "$f $(wc -c <"$f")"; done; cat words.txt | while read -r a b; do [ "$a" = hello ] && echo "found $b"; done; echo "${PIPESTATUS[0]}"'
deb bash-exit-status exec,rc=2 - -- $BASH_ -c 'ls missing.txt; echo "ls $?"; cat missing.txt 2>&1; grep -q nomatch words.txt; echo "grep $?"; ls -d tree missing; exit $?'

# find, xargs.
deb find-print lanes - -- /usr/bin/find tree -name '*.txt' -printf '%p %s %m %y\n'
deb find-exec exec - -- /usr/bin/find tree -type f -exec wc -c {} ';' -exec sh -c 'echo "sh: $1"' sh {} ';'
deb find-exec-plus exec - -- /usr/bin/find tree -type f -name '*.txt' -exec cat {} +
deb find-delete - - -- /usr/bin/find tree -name '*.txt' -print -delete
deb find-missing lanes,rc=1 - -- /usr/bin/find tree missing -maxdepth 0
deb xargs exec words.txt -- /usr/bin/xargs -n 3 echo
deb xargs-0 exec - -- $BASH_ -c 'find tree -type f -print0 | sort -z | xargs -0 wc -c; printf "%s\n" a b c d e | xargs -I{} echo "<{}>"; echo 1 2 3 | xargs -n 1 expr 10 +'
deb xargs-fail exec,rc=123 - -- $BASH_ -c 'printf "%s\n" words.txt missing.txt nums.txt | xargs -n 1 wc -l'

# sed, grep.
deb sed-E lanes - -- /usr/bin/sed -E -e 's/^([a-z]+) ([a-z]+)/\2 \1/' -e 's/[aeiou]{2,}/<&>/g' -e '/^Zebra/d' -e '3a\appended' words.txt
deb sed-script lanes - -- /usr/bin/sed -n -e '/^a/,/^h/{s/ /_/g;p}' -e '$=' -e '2{h;d}' -e '${x;p}' words.txt
deb sed-inplace - - -- /usr/bin/sed -i -E 's/[0-9]+/<&>/g; 1i\# table' table.txt
deb sed-missing lanes,rc=2 - -- /usr/bin/sed p missing.txt
deb grep-E lanes - -- /usr/bin/grep -E -n 'qu[a-z]+|^[A-Z]' words.txt
deb grep-P lanes - -- /usr/bin/grep -P -o '\b\w{5}\b(?=\s)|(?<=:)\d+(?=:)' words.txt colon.txt
deb grep-P-unicode lanes - -- /usr/bin/grep -P -c '^(?:(?!the).)*$' words.txt
deb grep-r lanes - -- /usr/bin/grep -r -n --include='*.txt' -e three -e one tree
deb grep-none lanes,rc=1 - -- /usr/bin/grep -c nomatch words.txt
deb grep-missing lanes,rc=2 - -- /usr/bin/grep -s -e x missing.txt words.txt

# gawk.
deb gawk-math lanes - -- /usr/bin/gawk 'BEGIN { srand(1); for (i = 1; i <= 5; i++) printf "%.10f %.8e %d\n", sin(i) * cos(i / 2), exp(i) / atan2(i, 3), int(rand() * 1000)
printf "%.12f %.12f %.6f %d %s\n", log(10), sqrt(2), 2 ^ 0.5 ^ 2, 2 ^ 53 + 1, 1e300 * 1e10; print 7 % 3, -7 % 3, int(-3.7), 017, 0x11, 1 / 3 }'
deb gawk-fields lanes - -- /usr/bin/gawk -F: -v OFS=' | ' '{ $2 = toupper($1); n[$7]++ } NR % 2 { print NR, $1, $2, NF } END { PROCINFO["sorted_in"] = "@val_num_desc"; for (s in n) print s, n[s] }' colon.txt
deb gawk-bignum lanes - -- /usr/bin/gawk -M 'BEGIN { print 2 ^ 200; print 3 ^ 100 % 1000007; x = 1; for (i = 1; i <= 40; i++) x *= i; print x; PREC = 100; printf "%.25f\n", atan2(0, -1) }'
deb gawk-strings lanes - -- /usr/bin/gawk 'BEGIN { print strftime("%Y-%m-%d %H:%M:%S %a", 1700000000, 1), mktime("2021 03 04 05 06 07", 1) }
{ print gensub(/([a-z]+) ([a-z]+)/, "\\2-\\1", "g"), length(), index($0, "o"), match($0, /[aeiou]+/), RSTART, RLENGTH; n = split($0, w, /[ ]+/, seps) } END { printf "%c%c %s\n", 65, "hello", sprintf("%5.1f%%", 42.25) }' words.txt
deb gawk-script lanes - -- /usr/bin/gawk -f stats.awk table.txt
deb gawk-syntax lanes,rc=1 - -- /usr/bin/gawk 'BEGIN { print "x" ( }'
deb gawk-exit lanes,rc=4 - -- /usr/bin/gawk '{ if (NR == 3) exit 4; print } END { print "end ran" }' words.txt

# diffutils.
deb diff-u lanes,rc=1 - -- /usr/bin/diff -u words.txt words2.txt
deb diff-same lanes - -- /usr/bin/diff -s words.txt words.txt
deb diff-r lanes,rc=1 - -- /usr/bin/diff -r -u tree extract
deb diff-missing lanes,rc=2 - -- /usr/bin/diff words.txt missing.txt
deb cmp lanes,rc=1 - -- /usr/bin/cmp -l words.txt words2.txt

# tar with gzip, xz and bzip2 (tar runs the compressor: exec), and the compressors alone.
TAR_FIXED='--sort=name --mtime=@1000000000 --owner=0 --group=0 --numeric-owner'
for z in gz:z xz:J bz2:j; do
    x=${z%:*} o=${z#*:}
    deb "tar-$x" exec - -- $BASH_ -c "tar $TAR_FIXED -c${o}f t.$x tree words.txt && tar -t${o}vf t.$x && mkdir out && tar -x${o}f t.$x -C out && diff -r tree out/tree && cmp words.txt out/words.txt && ls -lnR --time-style=+%s out && rm t.$x"
done
deb tar-x-host exec - -- /usr/bin/tar -xzvf tree.tar.gz -C extract
deb tar-c - - -- /usr/bin/tar $TAR_FIXED -cvf out.tar tree words.txt
deb tar-missing lanes,rc=2 - -- /usr/bin/tar -xf missing.tar
deb gzip - - -- /usr/bin/gzip -9 -n -v words.txt
deb gunzip lanes - -- /usr/bin/gzip -d -c sample.txt.gz
deb xz - - -- /usr/bin/xz -6 -k -v table.txt
deb bzip2 - - -- /usr/bin/bzip2 -9 -k words.txt
deb gzip-corrupt lanes,rc=1 - -- /usr/bin/gzip -d -c words.txt

# sqlite3, lua5.4, bc.
deb sqlite-sql lanes - -- /usr/bin/sqlite3 :memory: "create table t(a integer, b text); insert into t values (3, 'c'), (1, 'a'), (2, 'b'), (2, 'bb');" \
    "select a, group_concat(b, '+'), count(*) from t group by a order by a desc;" \
    "select printf('%.3f', avg(a)), max(b), total(a) / 3.0, 7 / 2, 7 % 3, -7 / 2, abs(-5), upper('x'), length('héllo'), typeof(1.0), 1e308 * 10 from t;"
deb sqlite-file - sales.sql -- /usr/bin/sqlite3 shop.db
deb sqlite-csv lanes - -- /usr/bin/sqlite3 -csv -header :memory: "create table t(n, v); insert into t values ('a,b', 1.5), ('q\"uote', NULL), ('x', 1e-7);" \
    'select * from t;' "select json_array(1, 'two', 3.0, null) as j, json_extract('{\"a\": [1, {\"b\": 2}]}', '\$.a[1].b') as e;"
deb sqlite-error lanes,rc=1 - -- /usr/bin/sqlite3 :memory: 'select 1;' 'selec 2;' 'select 3;'
deb lua lanes - -- /usr/bin/lua5.4 -e 'local t = {} for i = 1, 10 do t[i] = i * i end print(#t, table.concat(t, ","), select("#", 1, 2, 3), math.type(1), math.type(1.0), 1 // 0.0, -1 // 0.0, 0 / 0 ~= 0 / 0)
print(string.format("%5.2f|%-5d|%x|%q|%g", math.pi, 42, 255, "a\nb", 1e20), ("abc"):rep(3, "-"), ("hello world"):gsub("o", "0"), ("x=1, y=22"):match("y=(%d+)"))
print(math.maxinteger + 1 == math.mininteger, 7 // 2, 7.0 // 2, 2 ^ 10, 10 % -3, math.floor(-3.5), math.tointeger(3.0), tostring(nil), tonumber("0x1F"), tonumber("z", 36))'
deb lua-script lanes - -- /usr/bin/lua5.4 shapes.lua
deb lua-error lanes,rc=1 - -- /usr/bin/lua5.4 -e 'print("before") local function f() error("boom: " .. 42) end f()'
deb lua-file - - -- /usr/bin/lua5.4 -e 'local f = assert(io.open("out.txt", "w")) for i = 1, 5 do f:write(i, "\n") end f:close() local n = 0 for l in io.lines("out.txt") do n = n + tonumber(l) end print(n)
os.rename("out.txt", "renamed.txt") os.remove("nums.txt") print(io.open("missing.txt")) print(os.getenv("TZ"), os.time({year = 2021, month = 3, day = 4, hour = 5}))'
deb bc-l lanes bc.in -- /usr/bin/bc -l
deb bc-script lanes - -- /usr/bin/bc -l -q funcs.bc
deb bc-error lanes bc-error.in -- /usr/bin/bc -l -q

# coreutils one at a time, and their errors.
deb sort-k lanes - -- /usr/bin/sort -t ' ' -k2,2n -k1,1r table.txt
deb sort-check lanes,rc=1 - -- /usr/bin/sort -c words.txt
deb od lanes - -- /usr/bin/od -A x -t x1z -N 96 bin.dat
deb ls-l lanes - -- /usr/bin/ls -ln --time-style=+%s tree tree/sub
deb cp-a - - -- /usr/bin/cp -a tree tree2
deb cat-missing lanes,rc=1 - -- /usr/bin/cat words.txt missing.txt
deb printenv lanes - -- /usr/bin/printenv TZ LC_ALL GPUOS_TEST_VAR PATH
deb uname lanes - -- /usr/bin/uname -m -s

# ---------------------------------------------------------------------------

if [ "$LIST" = 1 ]; then
    for i in "${!C_NAME[@]}"; do
        printf '%-16s %-20s %-14s%s\n' "${C_NAME[$i]}" "${C_FLAGS[$i]}" "${C_STDIN[$i]}" "${C_ARGV[$i]}"
    done
    echo "${#C_NAME[@]} cases"
    exit 0
fi

[ "$SELF_CHECK" = 1 ] && [ -z "$GPUOS" ] && GPUOS=/bin/false
[ -n "$GPUOS" ] || { echo "conformance.sh: --gpuos BIN is required" >&2; usage; }
GPUOS=$(abspath "$GPUOS")
[ -x "$GPUOS" ] || { echo "conformance.sh: $GPUOS is not executable" >&2; exit 2; }
if [ -z "$QEMU_BIN" ]; then
    if command -v qemu-aarch64 >/dev/null 2>&1; then
        QEMU_BIN=$(command -v qemu-aarch64)
    elif [ -x "$root/.deps/qemu-aarch64-static" ]; then
        QEMU_BIN=$root/.deps/qemu-aarch64-static
    elif command -v qemu-aarch64-static >/dev/null 2>&1; then
        QEMU_BIN=$(command -v qemu-aarch64-static)
    else
        echo "conformance.sh: no qemu-aarch64 found (use --qemu, or scripts/fetch-deps.sh)" >&2
        exit 2
    fi
fi
case $QEMU_BIN in */*) QEMU_BIN=$(abspath "$QEMU_BIN") ;; *) QEMU_BIN=$(command -v "$QEMU_BIN") ;; esac
[ -x "$QEMU_BIN" ] || { echo "conformance.sh: $QEMU_BIN is not executable" >&2; exit 2; }
BIN_DIR=$(abspath "$BIN_DIR")
BUSYBOX=$(abspath "$BUSYBOX")
[ -n "$CROSS_ROOT" ] && CROSS_ROOT=$(abspath "$CROSS_ROOT")
HAVE_BB=1
if [ ! -x "$BUSYBOX" ]; then
    HAVE_BB=0
    echo "conformance.sh: warning: no busybox at $BUSYBOX: busybox cases skipped (scripts/fetch-deps.sh fetches it)" >&2
fi
HAVE_DIFF=1
command -v diff >/dev/null 2>&1 || HAVE_DIFF=0

work=$(mktemp -d "${TMPDIR:-/tmp}/gpuos-conformance.XXXXXX")
# The lane directories' copies go to memory where it can be had: thousands of
# small files a case, which a disk's filesystem makes ten times slower.
lane_tmp=$work/lanedirs
if [ "$LANES" -gt 1 ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    lane_tmp=$(mktemp -d /dev/shm/gpuos-conformance.XXXXXX) || lane_tmp=$work/lanedirs
fi
cleanup() {
    deb_teardown
    [ "$KEEP" = 1 ] || rm -rf "$work" "$lane_tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A directory with `busybox` running the aarch64 busybox under qemu, first on the
# guests' PATH (both sides): what busybox sh finds when qemu cannot exec
# /proc/self/exe (the sh cases above).
BB_WRAP_DIR=$work/bin
mkdir -p "$BB_WRAP_DIR"
printf '#!/bin/sh\nexec %q -cpu cortex-a57 %q "$@"\n' "$QEMU_BIN" "$BUSYBOX" >"$BB_WRAP_DIR/busybox"
chmod 755 "$BB_WRAP_DIR/busybox"

# The sysroot of the "tramp" cases: the smallest interpreter where the programs
# built to use it look for it.
TRAMP_ROOT=$work/tramproot
mkdir -p "$TRAMP_ROOT/lib"
[ -f "$BIN_DIR/ld_tramp" ] && cp "$BIN_DIR/ld_tramp" "$TRAMP_ROOT/lib/ld-gpuos-tramp.so.1"

# The environment both sides (and so the guest) see. Variables a GPU run may
# need are passed through unchanged, to both sides alike.
ENV=(PATH="$BB_WRAP_DIR":/usr/local/bin:/usr/bin:/bin HOME="${HOME:-/}" TZ=UTC LC_ALL=C LANG=C
    GPUOS_TEST_VAR='value with spaces = and ; symbols')
while IFS= read -r v; do
    case $v in
    LD_LIBRARY_PATH=* | CUDA_* | NVIDIA_* | GPUOS_* | RUST_LOG=* | RUST_BACKTRACE=* | XDG_CACHE_HOME=* | TMPDIR=*)
        case $v in GPUOS_TEST_VAR=*) ;; *) ENV+=("$v") ;; esac ;;
    esac
done < <(env | grep -E '^[A-Za-z_][A-Za-z0-9_]*=' || true)

GPUOS_OPTS=(--backend "$BACKEND")
[ -n "$MODE" ] && GPUOS_OPTS+=(--mode "$MODE")
[ -n "$SPARE_LANES" ] && GPUOS_OPTS+=(--spare-lanes "$SPARE_LANES")
[ -n "$TRANSLATE" ] && GPUOS_OPTS+=(--translate "$TRANSLATE")

has_flag() { case ",$1," in *",$2,"*) return 0 ;; esac; return 1; }

# Expand a case's argv into the array ARGV: the first word @bb is busybox,
# @NAME is $BIN_DIR/NAME; any word @bin/NAME is $BIN_DIR/NAME, @sysroot/PATH is
# $SYSROOT/PATH; {lane} is replaced by $2 unless $2 is "keep".
expand_argv() {
    local i=$1 lane=$2 a first=1
    eval "local raw=(${C_ARGV[$i]})"
    ARGV=()
    # shellcheck disable=SC2154
    for a in "${raw[@]}"; do
        case $a in
        @bin/*) a=$BIN_DIR/${a#@bin/} ;;
        @cross/*) a=$CROSS_ROOT/${a#@cross/} ;;
        esac
        if [ "$first" = 1 ]; then
            case $a in
            @bb) a=$BUSYBOX ;;
            @*) a=$BIN_DIR/${a#@} ;;
            esac
            first=0
        fi
        [ "$lane" != keep ] && a=${a//\{lane\}/$lane}
        ARGV+=("$a")
    done
}
# True when a case's arguments contain {lane}.
is_perlane() {
    local a
    expand_argv "$1" keep
    for a in "${ARGV[@]}"; do
        case $a in *'{lane}'*) return 0 ;; esac
    done
    return 1
}

prepare_cwd() {
    local cwd=$1 flags=$2
    rm -rf "$cwd"
    mkdir -p "$cwd"
    if has_flag "$flags" files; then (cd "$cwd" && umask 022 && setup_files); fi
    has_flag "$flags" deb && deb_files "$cwd"
}
tree_listing() {
    (
        cd "$1" || exit 1
        find . -mindepth 1 -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' p; do
            if [ -L "$p" ]; then
                printf 'l %s -> %s\n' "$p" "$(readlink "$p")"
            elif [ -d "$p" ]; then
                printf 'd %s %s\n' "$(stat -c %a "$p")" "$p"
            elif [ -f "$p" ]; then
                printf 'f %s %s %s\n' "$(stat -c '%a %s' "$p")" "$(cksum <"$p" | cut -d' ' -f1)" "$p"
            else
                printf 'o %s\n' "$p"
            fi
        done
    )
}
# run_side OUT CWD STDIN FLAGS CMD...: CMD in a fresh scratch directory CWD (set
# up as FLAGS say), with stdin from the scratch file STDIN ("-": /dev/null);
# OUT.stdout, .stderr, .rc and .tree (the scratch directory's listing after).
run_side() {
    local out=$1 cwd=$2 stdin=$3 flags=$4
    shift 4
    prepare_cwd "$cwd" "$flags"
    local in=/dev/null
    [ "$stdin" != - ] && in=$cwd/$stdin
    run_in "$out" "$cwd" "$in" "$@"
    tree_listing "$cwd" >"$out.tree"
    rm -rf "$cwd"
}
# run_in OUT DIR IN CMD...: CMD in DIR with stdin from IN, the fixed environment,
# umask 022 and no core dumps; OUT.stdout, OUT.stderr and OUT.rc.
run_in() {
    local out=$1 dir=$2 in=$3
    shift 3
    # --serial-gpuos: gpuos waits for the lock before its timeout starts, and notes
    # when it got it (OUT.locked, epoch seconds: the lanes' note leaves the wait out).
    local lock=()
    [ "$SERIAL_GPUOS" = 1 ] && [ "$1" = "$GPUOS" ] &&
        lock=(flock "$work/gpuos.lock" sh -c 'date +%s >"$0"; exec "$@"' "$out.locked")
    (
        cd "$dir" || exit 99
        ulimit -c 0
        umask 022
        # No exec: this subshell reports a guest killed by a signal (to
        # /dev/null) and exits 128+signal like gpuos does.
        "${lock[@]}" env -i "${ENV[@]}" timeout -k 10 "$TIMEOUT" "$@" <"$in" >"$out.stdout" 2>"$out.stderr"
    ) 2>/dev/null
    echo $? >"$out.rc"
}
# lane_copies ROOT FLAGS N: the scratch directory made once (ROOT/tmpl) and copied
# to ROOT/q (qemu's) and ROOT/lanes/lane-0 .. lane-N-1 (gpuos --lane-dir
# 'lane-{lane}' from ROOT/lanes), all the same way on one filesystem: the order
# of a directory's entries depends on the filesystem and on the order they were
# made (tar -c and find show it), so qemu's copy is made as the lanes' are. The
# lanes' directories are not at qemu's path, so a case whose output shows its
# working directory cannot run this way.
lane_copies() {
    # (`dir`, not `root`: deb_files, through prepare_cwd, reads the repository's $root)
    local dir=$1 flags=$2 n=$3 l=0
    rm -rf "$dir" && mkdir -p "$dir/lanes"
    prepare_cwd "$dir/tmpl" "$flags"
    if command -v python3 >/dev/null 2>&1; then
        # One process for every copy (a cp per lane costs milliseconds each).
        python3 -c 'import shutil, sys
shutil.copytree(sys.argv[1], sys.argv[2] + "/q", symlinks=True)
for l in range(int(sys.argv[3])):
    shutil.copytree(sys.argv[1], "%s/lanes/lane-%d" % (sys.argv[2], l), symlinks=True)' "$dir/tmpl" "$dir" "$n"
    else
        cp -a "$dir/tmpl" "$dir/q"
        while [ "$l" -lt "$n" ]; do
            cp -a "$dir/tmpl" "$dir/lanes/lane-$l"
            l=$((l + 1))
        done
    fi
}
# lane_trees ROOT: tree_listing's lines for every ROOT/lane-L, as
# "L<TAB>PATH<TAB>LINE" sorted by lane and path (one find and one batched cksum
# for all lanes, not a stat and a cksum per file).
lane_trees() {
    (
        cd "$1" || exit 1
        find . -mindepth 2 -type f -print0 | xargs -0 -r cksum | sed 's/^/c /'
        find . -mindepth 2 -printf 'e %y %m %s %p\t%l\n'
    ) | awk '
        $1 == "c" { p = $0; sub(/^c [0-9]+ [0-9]+ /, "", p); crc[p] = $2; next }
        {
            rest = $0; sub(/^e [^ ]+ [^ ]+ [^ ]+ /, "", rest)
            t = index(rest, "\t"); p = substr(rest, 1, t - 1); target = substr(rest, t + 1)
            lane = p; sub(/^\.\/lane-/, "", lane); sub(/\/.*/, "", lane)
            rel = p; sub(/^\.\/lane-[0-9]+/, ".", rel)
            if ($2 == "l") line = "l " rel " -> " target
            else if ($2 == "d") line = "d " $3 " " rel
            else if ($2 == "f") line = "f " $3 " " $4 " " crc[p] " " rel
            else line = "o " rel
            print lane "\t" rel "\t" line
        }' | LC_ALL=C sort -t "$(printf '\t')" -k1,1n -k2,2
}
# check_trees QTREE TREES N BAD: the lanes 0..N-1 whose tree (in TREES, from
# lane_trees) is not qemu's (QTREE, from tree_listing), one per line, to BAD.
check_trees() {
    awk -F '\t' -v n="$3" -v bad="$4" '
        FILENAME == ARGV[1] { want = want $0 "\n"; next }
        { got[$1] = got[$1] $3 "\n" }
        END { printf "" > bad; for (l = 0; l < n; l++) if (got[l] != want) print l > bad }
    ' "$1" "$2"
}

filtered_stderr() { grep -v -E '^(qemu|gpuos)[:-]' "$1" || true; }

# diff_head LABEL A B: show the first lines of the difference.
diff_head() {
    echo "    --- $1 (qemu vs gpuos):"
    if [ "$HAVE_DIFF" = 1 ]; then
        diff -a -u "$2" "$3" | sed -n '3,22s/^/    /p'
    else
        echo "    qemu:"; head -n 8 "$2" | sed 's/^/      /'
        echo "    gpuos:"; head -n 8 "$3" | sed 's/^/      /'
    fi
}

# --- Lanes: every lane's files are hashed in one pass, not compared one by one.

# With more lanes than this, {lane} cases check a sample of the lanes.
SAMPLE_ALL=256
# lane_sample N: the lanes a {lane} case runs qemu for and checks, ascending:
# all N up to SAMPLE_ALL, else 0..63, 64 spread evenly and the last.
lane_sample() {
    local n=$1
    if [ "$n" -le "$SAMPLE_ALL" ]; then
        seq 0 $((n - 1))
        return
    fi
    {
        seq 0 63
        awk -v n="$n" 'BEGIN { for (k = 1; k <= 64; k++) printf "%d\n", k * (n - 1) / 65 }'
        echo $((n - 1))
    } | sort -n -u
}
sha_of() { sha256sum | cut -d' ' -f1; }
# lane_hashes DIR EXT: "LANE SHA256" for each DIR/lane-LANE.EXT (any order).
lane_hashes() {
    (
        cd "$1" || exit 1
        find . -maxdepth 1 -name "lane-*.$2" -print0 | xargs -0 -r sha256sum
    ) | awk -v ext=".$2" '{ f = $2; sub(/^\.\/lane-/, "", f); sub(ext "$", "", f); print f, $1 }'
}
# lanes_note WHAT FILE: "WHAT of lanes 3 7" for the lane numbers in FILE, or
# "WHAT of 5000 lanes: 0 1 ... 9 ..." with only the first ten when there are more.
lanes_note() {
    awk -v what="$1" '
        { n++; if (n <= 10) first = first " " $1 }
        END {
            if (n <= 10) printf "%s of lanes%s\n", what, first
            else printf "%s of %d lanes:%s ...\n", what, n, first
        }' "$2"
}
# check_lanes D PERLANE CMP_ERR: compare gpuos's D/lanes/lane-L.{stdout,stderr}
# with qemu's D/qQ.{stdout,stderr}, where Q is 0, or L itself for {lane}
# cases (which check only the lanes qemu ran for, listed in D/qlanes). Leaves
# the failing lanes, as "LANE Q" in check order, in D/bad.out and D/bad.err.
check_lanes() {
    local d=$1 perlane=$2 cmp_err=$3 q
    # qemu's side: "Q stdout-sha filtered-stderr-sha raw-stderr-sha".
    while IFS= read -r q; do
        printf '%s %s %s %s\n' "$q" "$(sha_of <"$d/q$q.stdout")" \
            "$(filtered_stderr "$d/q$q.stderr" | sha_of)" "$(sha_of <"$d/q$q.stderr")"
    done <"$d/qlanes" >"$d/qhash"
    lane_hashes "$d/lanes" stdout >"$d/ghash.out"
    : >"$d/ghash.err"
    [ "$cmp_err" = 1 ] && lane_hashes "$d/lanes" stderr >"$d/ghash.err"
    # A lane's stderr matches when its raw sha is qemu's filtered or raw one
    # (then filtering it changes nothing or gives qemu's filtered stderr);
    # others ("x") are filtered, once per distinct raw sha, below.
    awk -v n="${CHECK_N:-$LANES}" -v perlane="$perlane" -v cmp_err="$cmp_err" -v out="$d/bad.out" -v maybe="$d/maybe.err" '
        FILENAME == ARGV[1] { qo[$1] = $2; qf[$1] = $3; qr[$1] = $4; order[++m] = $1; next }
        FILENAME == ARGV[2] { go[$1] = $2; next }
        FILENAME == ARGV[3] { ge[$1] = $2; next }
        function check(l, q) {
            if (!(l in go) || go[l] != qo[q]) print l, q > out
            if (cmp_err != 1) return
            if (!(l in ge)) print l, q, "missing" > maybe
            else if (ge[l] != qf[q] && ge[l] != qr[q]) print l, q, ge[l] > maybe
        }
        END {
            printf "" > out; printf "" > maybe
            if (perlane == 1) { for (k = 1; k <= m; k++) check(order[k], order[k]) }
            else { for (l = 0; l < n; l++) check(l, 0) }
        }' "$d/qhash" "$d/ghash.out" "$d/ghash.err"
    # Filter one stderr per distinct raw sha: "RAW-SHA FILTERED-SHA".
    local l raw
    : >"$d/filtered.err"
    awk '$3 != "missing" && !seen[$3]++ { print $1, $3 }' "$d/maybe.err" | while read -r l raw; do
        printf '%s %s\n' "$raw" "$(filtered_stderr "$d/lanes/lane-$l.stderr" | sha_of)"
    done >"$d/filtered.err"
    awk 'FILENAME == ARGV[1] { qf[$1] = $3; next }
        FILENAME == ARGV[2] { f[$1] = $2; next }
        $3 == "missing" || f[$3] != qf[$2] { print $1, $2 }' \
        "$d/qhash" "$d/filtered.err" "$d/maybe.err" >"$d/bad.err"
}

# check_report D PERLANE CMP_ERR: like check_lanes, from gpuos's --lane-report
# D/lanes.tsv (lane, status, signal, stdout sha, bytes, stderr sha, bytes, ...)
# instead of lane files: a lane's stderr matches when its sha is qemu's raw
# or filtered one (a lane's stderr holds only what its guest wrote). Also
# checks every lane's exit status (D/bad.rc: "LANE Q GPUOS-STATUS").
check_report() {
    local d=$1 perlane=$2 cmp_err=$3 q
    while IFS= read -r q; do
        printf '%s %s %s %s %s\n' "$q" "$(sha_of <"$d/q$q.stdout")" \
            "$(filtered_stderr "$d/q$q.stderr" | sha_of)" "$(sha_of <"$d/q$q.stderr")" \
            "$(cat "$d/q$q.rc")"
    done <"$d/qlanes" >"$d/qhash"
    awk -v n="${CHECK_N:-$LANES}" -v perlane="$perlane" -v cmp_err="$cmp_err" \
        -v out="$d/bad.out" -v err="$d/bad.err" -v rc="$d/bad.rc" '
        FILENAME == ARGV[1] { qo[$1] = $2; qf[$1] = $3; qr[$1] = $4; qs[$1] = $5; order[++m] = $1; next }
        FNR > 1 { gs[$1] = $2; go[$1] = $4; ge[$1] = $6; next }
        function check(l, q) {
            if (!(l in go)) { print l, q > out; print l, q > err; print l, q, "missing" > rc; return }
            if (go[l] != qo[q]) print l, q > out
            if (cmp_err == 1 && ge[l] != qf[q] && ge[l] != qr[q]) print l, q > err
            if (gs[l] != qs[q]) print l, q, gs[l] > rc
        }
        END {
            printf "" > out; printf "" > err; printf "" > rc
            if (perlane == 1) { for (k = 1; k <= m; k++) check(order[k], order[k]) }
            else { for (l = 0; l < n; l++) check(l, 0) }
        }' "$d/qhash" "$d/lanes.tsv"
}

# report_row D L: lane L's row of D/lanes.tsv, for a failure's details.
report_row() { awk -v l="$2" 'FNR > 1 && $1 == l { print; exit }' "$1/lanes.tsv"; }

# run_case I: runs case I; writes $work/report.I (table row + details) and
# $work/status.I (PASS, FAIL or SKIP).
run_case() {
    local i=$1
    local name=${C_NAME[$i]} flags=${C_FLAGS[$i]} stdin=${C_STDIN[$i]}
    local d=$work/case.$i cwd rep=$work/report.$i
    cwd=$work/c/$name
    mkdir -p "$d" "$work/c"
    local status=PASS note='' qrc=- grc=- details='' sampled=''
    local perlane=0 ldirs=0 nl=$LANES
    # The lanes the checks expect (fewer for a case run in lane directories).
    local CHECK_N=$LANES
    # Both sides' sysroot option (qemu's -L, gpuos's the same).
    local lopt=()
    has_flag "$flags" cross && lopt=(-L "$CROSS_ROOT")
    has_flag "$flags" tramp && lopt=(-L "$TRAMP_ROOT")
    # {lane} cases: with --lanes, qemu runs once per lane with {lane} replaced
    # by the lane's index; without, both sides get 0.
    [ "$LANES" -gt 1 ] && is_perlane "$i" && perlane=1
    # The deb-* cases: their own oracle, gpuos's --sysroot and their environment
    # (deb_case, in the deb block), for this case only.
    local -a GPUOS_OPTS=("${GPUOS_OPTS[@]}") ENV=("${ENV[@]}")
    local deb=0 gap=0
    has_flag "$flags" deb && deb_case "$name" && deb=1

    if [ "$SKIP_GAPS" = 1 ] && [ -n "$KNOWN_GAPS" ] && printf '%s\n' "$name" | grep -q -E -- "$KNOWN_GAPS"; then
        status=SKIP note=$KNOWN_GAPS_WHY
    elif has_flag "$flags" bb && [ "$HAVE_BB" = 0 ]; then
        status=SKIP note='no busybox'
    elif has_flag "$flags" cross && [ -z "$CROSS_ROOT" ]; then
        status=SKIP note='no AArch64 libraries (--cross-root DIR)'
    elif [ "$deb" = 1 ] && [ "$DEB_ORACLE" = fallback ] && has_flag "$flags" exec; then
        status=SKIP note='execs: the qemu -L oracle would run its children on the host (no binfmt_misc)'
    elif [ "$LANES" -gt 1 ] && ! has_flag "$flags" lanes && ! has_flag "$flags" files; then
        status=SKIP note='not lane-safe'
    else
        # Cases that write files: each lane in its own copy of the scratch directory.
        if [ "$LANES" -gt 1 ] && ! has_flag "$flags" lanes; then
            ldirs=1
            [ "$nl" -gt "$LANE_DIR_LANES" ] && nl=$LANE_DIR_LANES
            CHECK_N=$nl
        fi
        expand_argv "$i" 0
        if [ "$deb" = 1 ]; then
            [ -e "$SYSROOT${ARGV[0]}" ] || status=FAIL note="missing ${ARGV[0]} in $SYSROOT"
        elif [ "${ARGV[0]}" != "$BUSYBOX" ] && [ ! -f "${ARGV[0]}" ]; then
            status=FAIL note="missing ${ARGV[0]}"
        fi
    fi
    if [ "$status" != PASS ]; then
        # The report before the status: the status file says the report is complete.
        printf '%-22s %-5s %5s %5s  %s\n' "$name" "$status" - - "$note" >"$rep"
        printf '%s\n' "$status" >"$work/status.$i"
        return
    fi

    # qemu: one run, or one per checked lane for {lane} cases.
    local l t_q=$SECONDS t_g t_c
    if [ "$perlane" = 1 ]; then lane_sample "$LANES" >"$d/qlanes"; else echo 0 >"$d/qlanes"; fi
    local lroot=$lane_tmp/$name lin=/dev/null
    if [ "$ldirs" = 1 ]; then
        lane_copies "$lroot" "$flags" "$nl"
        [ "$stdin" != - ] && lin=$lroot/tmpl/$stdin
        expand_argv "$i" 0
        oracle_argv "$deb" "$lroot/q" "$flags"
        run_in "$d/q0" "$lroot/q" "$lin" "${ORACLE[@]}" "${lopt[@]}" "${ARGV[@]}"
        tree_listing "$lroot/q" >"$d/q0.tree"
    fi
    while [ "$ldirs" = 0 ] && IFS= read -r l; do
        expand_argv "$i" "$l"
        oracle_argv "$deb" "$cwd" "$flags"
        run_side "$d/q$l" "$cwd" "$stdin" "$flags" "${ORACLE[@]}" "${lopt[@]}" "${ARGV[@]}" </dev/null
    done <"$d/qlanes"
    qrc=$(cat "$d/q0.rc")
    t_g=$SECONDS
    local t_ge
    t_ge=$(date +%s)

    # gpuos
    if [ "$LANES" -gt 1 ]; then
        if [ "$perlane" = 1 ]; then expand_argv "$i" keep; else expand_argv "$i" 0; fi
        local lane_out=(--lane-report "$d/lanes.tsv")
        if [ "$LANE_CHECK" = files ]; then mkdir -p "$d/lanes"; lane_out=(--output-dir "$d/lanes"); fi
        if [ "$ldirs" = 1 ]; then
            run_in "$d/g" "$lroot/lanes" "$lin" "$GPUOS" run "${GPUOS_OPTS[@]}" "${lopt[@]}" \
                --lanes "$nl" --lane-dir 'lane-{lane}' "${lane_out[@]}" "${ARGV[@]}"
            lane_trees "$lroot/lanes" >"$d/g.trees"
            rm -rf "$lroot"
        else
            run_side "$d/g" "$cwd" "$stdin" "$flags" "$GPUOS" run "${GPUOS_OPTS[@]}" "${lopt[@]}" \
                --lanes "$LANES" "${lane_out[@]}" "${ARGV[@]}"
        fi
    elif [ "$SELF_CHECK" = 1 ]; then
        # The oracle against itself: what differs between two runs is not deterministic.
        expand_argv "$i" 0
        oracle_argv "$deb" "$cwd" "$flags"
        run_side "$d/g" "$cwd" "$stdin" "$flags" "${ORACLE[@]}" "${ARGV[@]}"
    else
        expand_argv "$i" 0
        # --translate always: a first run profiles the case and caches its translation.
        [ "$TRANSLATE" = always ] &&
            run_side "$d/gwarm" "$cwd" "$stdin" "$flags" "$GPUOS" run "${GPUOS_OPTS[@]}" "${lopt[@]}" "${ARGV[@]}"
        run_side "$d/g" "$cwd" "$stdin" "$flags" "$GPUOS" run "${GPUOS_OPTS[@]}" "${lopt[@]}" "${ARGV[@]}"
    fi
    grc=$(cat "$d/g.rc")
    t_c=$SECONDS

    local fails=()
    if [ "$grc" = 124 ] || [ "$grc" = 137 ]; then fails+=("timeout"); fi
    if [ "$qrc" != "$grc" ]; then
        fails+=("exit status")
        details+="    --- exit status: qemu $qrc, gpuos $grc"$'\n'
        local gerr
        gerr=$(sed -n '1,6s/^/    gpuos stderr: /p' "$d/g.stderr")
        [ -n "$gerr" ] && details+="$gerr"$'\n'
    fi
    local cmp_err=$CMP_STDERR
    has_flag "$flags" nostderr && cmp_err=0
    if [ "$LANES" -gt 1 ]; then
        if ! cmp -s "$d/q0.stdout" "$d/g.stdout"; then
            fails+=("stdout (pass-through)")
            details+="$(diff_head 'stdout of lane 0 passed through' "$d/q0.stdout" "$d/g.stdout")"$'\n'
        fi
        local q lo le
        if [ "$LANE_CHECK" = report ]; then
            check_report "$d" "$perlane" "$cmp_err"
            local what g
            for what in out err; do
                [ -s "$d/bad.$what" ] || continue
                read -r l q <"$d/bad.$what"
                g=$(report_row "$d" "$l")
                details+="    --- std$what of lane $l differs from qemu's (sha256 $(awk -v q="$q" -v w="$what" '$1 == q { print (w == "out" ? $2 : $3) }' "$d/qhash")):"$'\n'
                details+="    gpuos lane report: ${g:-(no row)}"$'\n'
                fails+=("$(lanes_note "std$what" "$d/bad.$what")")
            done
            if [ -s "$d/bad.rc" ]; then
                local s
                read -r l q s <"$d/bad.rc"
                details+="    --- exit status of lane $l: qemu $(cat "$d/q$q.rc"), gpuos $s"$'\n'
                fails+=("$(lanes_note 'exit status' "$d/bad.rc")")
            fi
        else
            check_lanes "$d" "$perlane" "$cmp_err"
        fi
        if [ "$LANE_CHECK" = files ] && [ -s "$d/bad.out" ]; then
            read -r l q <"$d/bad.out"
            lo=$d/lanes/lane-$l.stdout
            [ -f "$lo" ] || lo=/dev/null
            details+="$(diff_head "stdout of lane $l" "$d/q$q.stdout" "$lo")"$'\n'
            fails+=("$(lanes_note stdout "$d/bad.out")")
        fi
        if [ "$LANE_CHECK" = files ] && [ -s "$d/bad.err" ]; then
            read -r l q <"$d/bad.err"
            le=$d/lanes/lane-$l.stderr
            filtered_stderr "$d/q$q.stderr" >"$d/qe"
            if [ -f "$le" ]; then filtered_stderr "$le" >"$d/ge"; else : >"$d/ge"; fi
            details+="$(diff_head "stderr of lane $l$([ -f "$le" ] || echo ' (missing)')" "$d/qe" "$d/ge")"$'\n'
            fails+=("$(lanes_note stderr "$d/bad.err")")
        fi
        [ "$perlane" = 1 ] && [ "$LANES" -gt "$SAMPLE_ALL" ] && sampled="sampled $(wc -l <"$d/qlanes") of $LANES lanes"
        # Every lane's files are two inodes each: do not let them pile up.
        [ "$KEEP" = 1 ] || rm -rf "$d/lanes"
    else
        if ! cmp -s "$d/q0.stdout" "$d/g.stdout"; then
            fails+=("stdout")
            details+="$(diff_head stdout "$d/q0.stdout" "$d/g.stdout")"$'\n'
        fi
        if [ "$cmp_err" = 1 ]; then
            filtered_stderr "$d/q0.stderr" >"$d/qe"
            filtered_stderr "$d/g.stderr" >"$d/ge"
            if ! cmp -s "$d/qe" "$d/ge"; then
                fails+=("stderr")
                details+="$(diff_head stderr "$d/qe" "$d/ge")"$'\n'
            fi
        fi
    fi
    if [ "$ldirs" = 1 ]; then
        check_trees "$d/q0.tree" "$d/g.trees" "$nl" "$d/bad.tree"
        if [ -s "$d/bad.tree" ]; then
            read -r l <"$d/bad.tree"
            awk -F '\t' -v l="$l" '$1 == l { print $3 }' "$d/g.trees" >"$d/g.tree"
            details+="$(diff_head "files of lane $l (type mode size cksum path)" "$d/q0.tree" "$d/g.tree")"$'\n'
            fails+=("$(lanes_note files "$d/bad.tree")")
        fi
        sampled="in lane directories, $nl lanes"
    elif ! cmp -s "$d/q0.tree" "$d/g.tree"; then
        fails+=("files")
        details+="$(diff_head 'files (type mode size cksum path)' "$d/q0.tree" "$d/g.tree")"$'\n'
    fi
    if [ "${#fails[@]}" -gt 0 ]; then
        status=FAIL
        note=$(IFS=,; echo "${fails[*]}")
        note="differs: ${note//,/, }"
    fi
    [ "$deb" = 1 ] && deb_verdict "$flags" "$qrc"
    [ -n "$sampled" ] && note="${note:+$note; }$sampled"
    # With many lanes, where the case's time went (whole seconds; gpuos's without its
    # wait for the GPU under --serial-gpuos).
    if [ "$LANES" -gt 1 ]; then
        local wait=0 gtime
        [ -s "$d/g.locked" ] && wait=$(($(cat "$d/g.locked") - t_ge))
        [ "$wait" -lt 0 ] && wait=0
        gtime="gpuos $((t_c - t_g - wait)) s"
        [ "$wait" -gt 0 ] && gtime+=" (after $wait s waiting for the GPU)"
        note="${note:+$note; }qemu $((t_g - t_q)) s, $gtime, check $((SECONDS - t_c)) s"
    fi
    {
        printf '%-22s %-5s %5s %5s  %s\n' "$name" "$status" "$qrc" "$grc" "$note"
        [ "$status" = FAIL ] && printf '%s' "$details"
    } >"$rep"
    printf '%s\n' "$status" >"$work/status.$i"
}

# Select the cases.
SEL=()
for i in "${!C_NAME[@]}"; do
    n=${C_NAME[$i]}
    if [ -n "$FILTER" ] && ! printf '%s\n' "$n" | grep -q -E -- "$FILTER"; then continue; fi
    if [ -n "$EXCLUDE" ] && printf '%s\n' "$n" | grep -q -E -- "$EXCLUDE"; then continue; fi
    SEL+=("$i")
done
if [ -n "$SHARD" ]; then
    k=${SHARD%/*} n=${SHARD#*/}
    if ! [[ "$k" =~ ^[0-9]+$ && "$n" =~ ^[0-9]+$ ]] || [ "$k" -lt 1 ] || [ "$k" -gt "$n" ]; then
        echo "conformance.sh: --shard wants K/N with 1 <= K <= N, not $SHARD" >&2
        exit 2
    fi
    kept=()
    for j in "${!SEL[@]}"; do
        [ $((j % n)) -eq $((k - 1)) ] && kept+=("${SEL[$j]}")
    done
    SEL=("${kept[@]}")
fi
# The deb cases need the sysroot; their oracle is set up once for the run.
if [ -d "$SYSROOT" ]; then
    for i in "${SEL[@]}"; do
        if has_flag "${C_FLAGS[$i]}" deb; then deb_setup; break; fi
    done
else
    n=${#SEL[@]}
    for i in "${!SEL[@]}"; do has_flag "${C_FLAGS[${SEL[$i]}]}" deb && unset "SEL[$i]"; done
    SEL=("${SEL[@]}")
    [ "$n" != "${#SEL[@]}" ] && echo "conformance.sh: no sysroot at $SYSROOT: $((n - ${#SEL[@]})) deb cases left out (scripts/fetch-deps.sh makes it)" >&2
fi

echo "conformance: gpuos=$GPUOS backend=$BACKEND${MODE:+ mode=$MODE} lanes=$LANES qemu=$QEMU_BIN"
echo "conformance: ${#SEL[@]} cases, bin-dir=$BIN_DIR busybox=$([ "$HAVE_BB" = 1 ] && echo "$BUSYBOX" || echo none)"
printf '%-22s %-5s %5s %5s  %s\n' CASE STATUS QEMU GPUOS NOTE

if [ "$JOBS" -le 1 ]; then
    for i in "${SEL[@]}"; do
        run_case "$i"
        cat "$work/report.$i"
    done
else
    running=0
    next_print=0
    for i in "${SEL[@]}"; do
        run_case "$i" &
        running=$((running + 1))
        if [ "$running" -ge "$JOBS" ]; then
            wait -n 2>/dev/null || true
            running=$((running - 1))
        fi
        # Print finished reports in order.
        while [ "$next_print" -lt "${#SEL[@]}" ] && [ -f "$work/status.${SEL[$next_print]}" ]; do
            cat "$work/report.${SEL[$next_print]}"
            next_print=$((next_print + 1))
        done
    done
    wait
    while [ "$next_print" -lt "${#SEL[@]}" ]; do
        cat "$work/report.${SEL[$next_print]}" 2>/dev/null || echo "${C_NAME[${SEL[$next_print]}]} (no report)"
        next_print=$((next_print + 1))
    done
fi

pass=0
fail=0
skip=0
gaps=0
failed=()
for i in "${SEL[@]}"; do
    case $(cat "$work/status.$i" 2>/dev/null) in
    PASS) pass=$((pass + 1)) ;;
    SKIP) skip=$((skip + 1)) ;;
    GAP) gaps=$((gaps + 1)) ;;
    *) fail=$((fail + 1)); failed+=("${C_NAME[$i]}") ;;
    esac
done
[ "$KEEP" = 1 ] && echo "conformance: work directory kept: $work"
[ "$skip" -gt 0 ] && echo "conformance: $skip skipped"
[ "$gaps" -gt 0 ] && echo "conformance: $gaps known gaps (differ from qemu as DEB_GAPS expects; not counted as passed)"
[ -s "$work/gaps-closed" ] && echo "conformance: known gaps that now pass (take them off DEB_GAPS): $(sort "$work/gaps-closed" | tr '\n' ' ')"
[ "$fail" -gt 0 ] && echo "conformance: failed: ${failed[*]}"
echo "conformance: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
