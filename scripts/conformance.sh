#!/usr/bin/env bash
# Conformance: run guest programs under qemu-aarch64 (the oracle) and under
# gpuos, and compare stdout byte for byte, the exit status, stderr (lines that
# start with "qemu:" or "gpuos:" left out) and the file effects (the scratch
# working directory's tree: types, modes, sizes, contents, link targets).
#
# Usage: scripts/conformance.sh --gpuos BIN [--backend cpu|cuda] [--mode M]
#            [--translate WHEN] [--qemu QEMU] [--lanes N] [--lane-check report|files]
#            [--busybox PATH] [--bin-dir DIR] [--sysroot DIR]
#            [--filter REGEX] [--exclude REGEX] [--timeout SECS] [--jobs N]
#            [--skip-known-gaps] [--serial-gpuos] [--no-stderr] [--keep] [--list]
#
#   --gpuos BIN      the gpuos binary (required unless --list)
#   --backend B      passed as `run --backend B` (default: cpu)
#   --mode M         passed as `run --mode M` (default: gpuos's own default)
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
#   --sysroot DIR    AArch64 libraries for the dynamically linked cases (flag
#                    "sysroot"), given to both sides as -L DIR (default:
#                    /usr/aarch64-linux-gnu when it has lib/ld-linux-aarch64.so.1,
#                    the cross toolchain's); those cases are skipped without one
#   --filter REGEX   only cases whose name matches (grep -E)
#   --exclude REGEX  leave out cases whose name matches
#   --timeout SECS   per run (default 120)
#   --jobs N         cases run in parallel (default 1)
#   --skip-known-gaps  report the cases of KNOWN_GAPS (below) as SKIP with the
#                    reason instead of running them
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
TRANSLATE=
QEMU_BIN=${QEMU:-}
LANES=1
LANE_CHECK=report
LANE_DIR_LANES=1000
BUSYBOX=$root/.deps/busybox
BIN_DIR=$root/tests/guest/bin
SYSROOT=
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] && SYSROOT=/usr/aarch64-linux-gnu
FILTER=
EXCLUDE=
# Cases that fail on every backend for want of a feature gpuos lacks, as a regex
# (empty: none). They are reported as SKIP with KNOWN_GAPS_WHY under
# --skip-known-gaps and still run with --filter. The dynamically linked programs
# need file-backed mmap: glibc's ld.so maps libc.so.6 (and, run directly, the
# program) from its file descriptor.
KNOWN_GAPS='^dyn-(hello|ld-so)'
KNOWN_GAPS_WHY='known gap: file-backed mmap (ld.so maps libc.so.6)'
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
    --translate) need "$@"; TRANSLATE=$2; shift 2 ;;
    --qemu) need "$@"; QEMU_BIN=$2; shift 2 ;;
    --lanes) need "$@"; LANES=$2; shift 2 ;;
    --lane-check) need "$@"; LANE_CHECK=$2; shift 2 ;;
    --lane-dir-lanes) need "$@"; LANE_DIR_LANES=$2; shift 2 ;;
    --busybox) need "$@"; BUSYBOX=$2; shift 2 ;;
    --bin-dir) need "$@"; BIN_DIR=$2; shift 2 ;;
    --sysroot) need "$@"; SYSROOT=$2; shift 2 ;;
    --filter) need "$@"; FILTER=$2; shift 2 ;;
    --exclude) need "$@"; EXCLUDE=$2; shift 2 ;;
    --timeout) need "$@"; TIMEOUT=$2; shift 2 ;;
    --jobs) need "$@"; JOBS=$2; shift 2 ;;
    --skip-known-gaps) SKIP_GAPS=1; shift ;;
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
#          "nostderr": stderr not compared; "bb": a busybox case; "sysroot":
#          both sides get -L SYSROOT (--sysroot); "tramp": both sides get -L
#          with a sysroot whose /lib/ld-gpuos-tramp.so.1 is $BIN_DIR/ld_tramp
#          (the interpreter tests/guest/build.sh's *_interp programs name).
#   STDIN: "-" for /dev/null, else a file in the scratch directory.
#   ARGV:  @NAME is the guest program $BIN_DIR/NAME; @bb is busybox; any
#          argument @bin/NAME is $BIN_DIR/NAME and @sysroot/PATH is
#          SYSROOT/PATH. {lane} is replaced by the lane index (qemu gets one
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
add syscalls2-select lanes - -- @syscalls2 select
add syscalls2-copy_range - - -- @syscalls2 copy_range
add syscalls2-splice - - -- @syscalls2 splice
# tests/guest/mmapfile.c: mmap(2) of files through the device's page cache.
add mmapfile-private files - -- @mmapfile private
add mmapfile-cow files - -- @mmapfile cow
add mmapfile-fixed files - -- @mmapfile fixed
add mmapfile-large files - -- @mmapfile large
add mmapfile-errors files - -- @mmapfile errors
add clocks lanes - -- @clocks
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
add dyn-hello lanes,sysroot - -- @hello_dyn "first arg" second
add dyn-ld-so lanes,sysroot - -- @sysroot/lib/ld-linux-aarch64.so.1 @bin/hello_dyn arg

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
bb sh-redir - - -- sh -c 'echo one >out.txt; echo two >>out.txt; busybox cat out.txt; read x <out.txt; echo "read $x"'
bb sh-exit lanes - -- sh -c 'exit 17'
bb sh-subshell lanes - -- sh -c '(exit 3); echo $?; x=$(busybox echo nested | busybox tr a-z A-Z); echo $x'

# ---------------------------------------------------------------------------

if [ "$LIST" = 1 ]; then
    for i in "${!C_NAME[@]}"; do
        printf '%-16s %-20s %-14s%s\n' "${C_NAME[$i]}" "${C_FLAGS[$i]}" "${C_STDIN[$i]}" "${C_ARGV[$i]}"
    done
    echo "${#C_NAME[@]} cases"
    exit 0
fi

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
[ -n "$SYSROOT" ] && SYSROOT=$(abspath "$SYSROOT")
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
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$work" "$lane_tmp"; }
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
        @sysroot/*) a=$SYSROOT/${a#@sysroot/} ;;
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
    # --serial-gpuos: gpuos waits for the lock before its timeout starts.
    local lock=()
    [ "$SERIAL_GPUOS" = 1 ] && [ "$1" = "$GPUOS" ] && lock=(flock "$work/gpuos.lock")
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
    local root=$1 flags=$2 n=$3 l=0
    rm -rf "$root" && mkdir -p "$root/lanes"
    prepare_cwd "$root/tmpl" "$flags"
    if command -v python3 >/dev/null 2>&1; then
        # One process for every copy (a cp per lane costs milliseconds each).
        python3 -c 'import shutil, sys
shutil.copytree(sys.argv[1], sys.argv[2] + "/q", symlinks=True)
for l in range(int(sys.argv[3])):
    shutil.copytree(sys.argv[1], "%s/lanes/lane-%d" % (sys.argv[2], l), symlinks=True)' "$root/tmpl" "$root" "$n"
    else
        cp -a "$root/tmpl" "$root/q"
        while [ "$l" -lt "$n" ]; do
            cp -a "$root/tmpl" "$root/lanes/lane-$l"
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
    has_flag "$flags" sysroot && lopt=(-L "$SYSROOT")
    has_flag "$flags" tramp && lopt=(-L "$TRAMP_ROOT")
    # {lane} cases: with --lanes, qemu runs once per lane with {lane} replaced
    # by the lane's index; without, both sides get 0.
    [ "$LANES" -gt 1 ] && is_perlane "$i" && perlane=1

    if [ "$SKIP_GAPS" = 1 ] && [ -n "$KNOWN_GAPS" ] && printf '%s\n' "$name" | grep -q -E -- "$KNOWN_GAPS"; then
        status=SKIP note=$KNOWN_GAPS_WHY
    elif has_flag "$flags" bb && [ "$HAVE_BB" = 0 ]; then
        status=SKIP note='no busybox'
    elif has_flag "$flags" sysroot && [ -z "$SYSROOT" ]; then
        status=SKIP note='no sysroot (--sysroot DIR)'
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
        if [ "${ARGV[0]}" != "$BUSYBOX" ] && [ ! -f "${ARGV[0]}" ]; then
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
        run_in "$d/q0" "$lroot/q" "$lin" "$QEMU_BIN" -cpu cortex-a57 "${lopt[@]}" "${ARGV[@]}"
        tree_listing "$lroot/q" >"$d/q0.tree"
    fi
    while [ "$ldirs" = 0 ] && IFS= read -r l; do
        expand_argv "$i" "$l"
        run_side "$d/q$l" "$cwd" "$stdin" "$flags" "$QEMU_BIN" -cpu cortex-a57 "${lopt[@]}" "${ARGV[@]}" </dev/null
    done <"$d/qlanes"
    qrc=$(cat "$d/q0.rc")
    t_g=$SECONDS

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
    [ -n "$sampled" ] && note="${note:+$note; }$sampled"
    # With many lanes, where the case's time went (whole seconds).
    [ "$LANES" -gt 1 ] && note="${note:+$note; }qemu $((t_g - t_q)) s, gpuos $((t_c - t_g)) s, check $((SECONDS - t_c)) s"
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
failed=()
for i in "${SEL[@]}"; do
    case $(cat "$work/status.$i" 2>/dev/null) in
    PASS) pass=$((pass + 1)) ;;
    SKIP) skip=$((skip + 1)) ;;
    *) fail=$((fail + 1)); failed+=("${C_NAME[$i]}") ;;
    esac
done
[ "$KEEP" = 1 ] && echo "conformance: work directory kept: $work"
[ "$skip" -gt 0 ] && echo "conformance: $skip skipped"
[ "$fail" -gt 0 ] && echo "conformance: failed: ${failed[*]}"
echo "conformance: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
