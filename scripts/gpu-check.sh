#!/usr/bin/env bash
# The GPU check: run on the device machine (no Rust, no cross compiler there).
# Builds nothing. Expects a carry directory (default .carry, made by
# scripts/gpu-carry.sh on the build machine) holding:
#   gpuos                 the release binary
#   bin/                  prebuilt guest programs (tests/guest/bin)
#   busybox               Debian's busybox-static for arm64
#   qemu-aarch64-static   the oracle, from Debian's qemu-user-static
#   cache/                the core precompiled by `gpuos compile-core --arch sm_90`
#
# Usage: scripts/gpu-check.sh [CARRY_DIR] [--part PART] [--quick]
#
# PART (default all) picks what runs; one part fits one device command (its
# steps share a budget of GPU_CHECK_BUDGET seconds, default 520, below the
# 600 s limit of a command; a step cut off by the budget says so in its row):
#   conformance  scripts/conformance.sh --backend cuda, every case (C programs
#                and busybox applets; known gaps, none at present, would be
#                counted as skipped), --jobs 4: --mode persistent (step
#                conformance-persistent), then --mode quantum (conformance-quantum).
#                At one lane the 146 cases take about 455 s of the H200 in each
#                mode (the demo-zoom cases and malloc_stress run tens of seconds at
#                1.5 M instructions/s), so run the two steps as two device commands
#                (--part conformance-persistent, --part conformance-quantum, each
#                with GPU_CHECK_BUDGET=560); the part cuts each off at half
#   lanes        lanes-1000: every lane-safe case at --lanes 1000 (persistent),
#                then hello and bb-echo at --lanes 1000 in quantum mode;
#                lanes-100000: every lane-safe case of at most about 1 M guest
#                instructions per lane (all but GPU_CHECK_HEAVY and the cases of
#                GPU_CHECK_MOST) at --lanes 100000 (persistent)
#   lanes-heavy  lanes-100000-heavy: the cases of GPU_CHECK_HEAVY (2-13 M guest
#                instructions per lane) at --lanes 100000
#   lanes-dirs   the cases that write files (not lane-safe in one directory) at
#                GPU_CHECK_DIR_LANES (10000) lanes, each lane in its own copy of the
#                scratch directory (gpuos --lane-dir; conformance.sh
#                --lane-dir-lanes); at 1000 lanes they also run in lanes-1000
#   lanes-most   each case of GPU_CHECK_MOST at the most lanes that fit (memory,
#                process slots or the host's descriptors), one conformance run each
#   figures      figures-runs: module start, single-lane guest instructions/s
#                (int_arith; spin 3000000), all-lanes instructions/s (spin
#                100000 at 1000 lanes, spin 10000 at 100000 lanes), hello at
#                100000 lanes, syscall round trip (1 lane, sysloop 20000 less
#                sysloop 0 in gpuos's execution time, with and without the
#                completion poller, and the -v stage means; 10000 lanes x 100
#                getgroups); figures-bench: `gpuos bench --backend cuda --quick
#                --json` with GPU_CHECK_BENCH_ARGS (default: the tiny workloads
#                at lanes 1 to 100000, no cold NVRTC compile) (bench.json, and a
#                row per figure)
#   deb          the deb-* cases (programs of the Debian arm64 sysroot: python3,
#                perl, bash, gawk, sqlite3, lua5.4, bc...), from the carry's
#                sysroot.tar.xz (GPU_CARRY_SYSROOT=1 scripts/gpu-carry.sh) unpacked
#                on the device: deb-1 at one lane, then deb-1000 (the lane-safe
#                ones at 1000 lanes); GPU_CHECK_DEB_FILTER picks the cases (grep
#                -E; default a dozen of the kinds: one lane of python3 runs about
#                1 M instructions/s, 70 s for `import json`). The oracle is
#                qemu-aarch64-static through binfmt_misc where the device lets us
#                register it (root), else `qemu -L`, with the exec cases skipped
#                (conformance.sh --deb-oracle auto)
#   spare        the threaded cases (spare-*, threads-*, cxx-threads-*,
#                go-goroutines-*, openmp, pipeline) with their threads on spare lanes
#                (kernel/proc/spare.h): spare-1 at 1 lane with --spare-lanes 64,
#                spare-100 at 100 lanes with --spare-lanes 1024 (persistent)
#   python3-startup  `gpuos bench --quick --sysroot ... --workloads python3` at
#                GPU_CHECK_PY_LANES lanes (default 1,1000,10000): issue 15's start-up
#                figure, the time of `python3 -c` (its one line of output is its last
#                act), checked against qemu -L; from the carry's sysroot.tar.xz. Run
#                it alone: at 10,000 lanes it takes minutes ($out/bench-python3.json)
#   all          conformance, lanes, lanes-heavy, lanes-dirs, lanes-most and
#                figures, each with its own budget (so up to 6 x GPU_CHECK_BUDGET:
#                more than one device command)
# A part's steps run in that order, each given an equal share of what is left
# of the budget (unused time passes on). A step name (conformance-persistent,
# ..., figures-bench) runs that step alone with the whole budget (lanes-100000
# may need that; split it further with GPU_CHECK_BIG_FILTER). The lanes steps
# check every lane's exit status, stdout and stderr from gpuos's --lane-report
# (conformance.sh --lane-check report), not from lane files.
# Cases run four at a time (two at 100000 lanes) but gpuos one at a time
# (conformance.sh --serial-gpuos: processes time-slice the GPU); in the lanes
# steps each case's row ends with where its time went (qemu, gpuos, check).
#
# --quick: a short smoke run: conformance persistent on the C programs only;
# lanes 1000 / 100000 on a handful of cases; the figures without the bench.
#
# Each step prints its rows as it goes ("[gpu-check] ..."); the script ends with
# the table of every row of the steps that ran, also written to
# $OUT/gpu-check-table.txt when OUT is set (rewritten after each row, so a run
# killed from outside still leaves it). Logs go to $GPU_CHECK_LOGS (default
# /tmp/gpu-check); with OUT set they are also packed into one file,
# $OUT/gpu-check-logs.tar.gz, after every step (the device tool brings back a
# limited number of files), and the bench's JSON is copied to $OUT/bench.json.
#
# Environment:
#   GPU_CHECK_TIMEOUT      seconds per gpuos run (conformance --timeout too); 240
#                          (the heaviest single-lane cases, malloc_stress and demo,
#                          take 50-75 M guest instructions: 30-45 s at 1.7 M/s)
#   GPU_CHECK_POOL_MIB     frame pool of each gpuos run (GPUOS_POOL_MIB); default 80 %
#                          of the GPU's memory
#   GPU_CHECK_BUDGET       seconds per part (or per step run alone); 520
#   GPU_CHECK_SHARD        K/N: every conformance step runs only every Nth of its cases
#                          from the Kth (conformance.sh --shard), so that N device
#                          commands with K = 1..N cover a part no budget covers at once
#                          (lanes-1000: 32 of 220 cases in 143 s on an H100)
#   GPU_CHECK_CONF_ARGS    extra scripts/conformance.sh arguments for every
#                          conformance step (split on spaces; e.g. '--spare-lanes 16'
#                          to run the cases with that many spare lanes)
#   GPU_CHECK_HEAVY        the lane-safe cases of 2 M guest instructions per lane or
#                          more that fit 100000 lanes (grep -E): neon, bb-bc, fp_math,
#                          bb-sh-arith, int_arith, compute, strings (0.2-1.3 T
#                          instructions each at 100000 lanes)
#   GPU_CHECK_MOST         "CASE=LANES ..." for the cases that do not fit 100000 lanes,
#                          run in this order (the cheap first: each gets an equal share
#                          of what is left of the budget, unused time passes on):
#                          process=10000 (20 children each at once: 200,000 child
#                          slots, of the 320,000 a run of 10,000 lanes has);
#                          fdmany=2000 (800 guest fds per lane at once: 1.6 M open
#                          file descriptions; its 2,500 host requests per lane make it
#                          host-bound: about 200,000 requests/s are served);
#                          fileio=10000 (about 250 host file syscalls per lane, fsync,
#                          renames and directory scans in the one working directory:
#                          at 100000 lanes the host's filesystem, not the GPU, took
#                          over 240 s); setjmp=15000 (3.2 MiB of stack per process:
#                          at 100000 lanes the 115 GiB pool of an H200 ran out and the
#                          stack growth of 65,815 lanes ended in SIGSEGV);
#                          malloc_stress=6000 (8.4 MiB per process) and demo=25000 (2
#                          MiB per process, 50 M instructions; both sized for the 64
#                          GiB pool of an H100). The cases that hold several files,
#                          directories or pipes at once (bb-find, bb-ls-l, bb-paste,
#                          bb-sh-pipe...) run at 100000 lanes: read-only opens share
#                          one host descriptor per file and pipes use none
#   GPU_CHECK_DIR_LANES    lanes of the lanes-dirs step; 10000 (the script copies and
#                          lists every lane's directory: about 10 s a case at 10,000
#                          lanes). Every lane's files are its own, so they share no host
#                          descriptor; gpuos closes idle ones when the host runs short
#                          and reopens them on use (50,000 lanes of tar -c, rm -r and sh
#                          redirections passed against the host's 20,000)
#   GPU_CHECK_MID_FILTER   (lanes-1000) only these cases at 1000 lanes (grep -E), to
#                          split the step over two device commands
#   GPU_CHECK_BIG_FILTER   (lanes-100000) further restrict its cases (grep -E)
#   GPU_CHECK_SPARE_FILTER (spare) the threaded cases it runs (grep -E; default all of
#                          spare-*, threads-*, cxx-threads-*, go-goroutines-*, openmp, pipeline)
#   GPU_CHECK_BIG_EXCLUDE  (lanes-100000) leave out these cases too (grep -E)
#   GPU_CHECK_BENCH_ARGS   extra `gpuos bench` arguments of figures-bench; default
#                          '--tiny --lanes 1,32,1024,10000,100000 --skip-cold-compile'
#                          (--quick's workloads at 100000 lanes take minutes each)
#   GPU_CHECK_SMOKE        1 (default): first run hello in both modes and stop at
#                          once if either fails; 0 skips that probe
#   GPU_CHECK_BACKEND      testing knob: the backend passed to gpuos (default
#                          cuda); GPU_CHECK_BACKEND=cpu runs the whole flow on a
#                          machine without a GPU (slowly), to test this script
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

usage() { sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2; }
dir=
part=all
quick=0
while [ "$#" -gt 0 ]; do
    case $1 in
    --part) [ "$#" -ge 2 ] || usage; part=$2; shift 2 ;;
    --part=*) part=${1#--part=}; shift ;;
    --quick) quick=1; shift ;;
    -h | --help) usage ;;
    -*) echo "gpu-check.sh: unknown option: $1" >&2; usage ;;
    *) [ -z "$dir" ] || usage; dir=$1; shift ;;
    esac
done
dir=${dir:-.carry}
case $dir in /*) ;; *) dir=$root/$dir ;; esac

steps_of() {
    case $1 in
    conformance) echo conformance-persistent conformance-quantum ;;
    lanes) echo lanes-1000 lanes-100000 ;;
    lanes-heavy) echo lanes-100000-heavy ;;
    figures) echo figures-runs figures-bench ;;
    deb) echo deb-1 deb-1000 ;;
    spare) echo spare-1 spare-100 ;;
    *) echo "$1" ;;
    esac
}
case $part in
all) parts="conformance lanes lanes-heavy lanes-dirs lanes-most figures" ;;
conformance | lanes | lanes-heavy | lanes-dirs | lanes-most | figures | deb | spare | python3-startup) parts=$part ;;
conformance-persistent | conformance-quantum | lanes-1000 | lanes-100000 | lanes-100000-heavy | figures-runs | figures-bench | deb-1 | deb-1000 | spare-1 | spare-100) parts=$part ;;
*) echo "gpu-check.sh: unknown part: $part" >&2; usage ;;
esac

G=$dir/gpuos
B=${GPU_CHECK_BACKEND:-cuda}
T=${GPU_CHECK_TIMEOUT:-240}
BUDGET=${GPU_CHECK_BUDGET:-520}
HEAVY=${GPU_CHECK_HEAVY:-'^(neon|bb-bc|fp_math|bb-sh-arith|int_arith|compute|strings)$'}
MOST=${GPU_CHECK_MOST:-'process=10000 fdmany=2000 fileio=10000 setjmp=15000 malloc_stress=6000 demo=25000'}
BIG_FILTER=${GPU_CHECK_BIG_FILTER:-}
MID_FILTER=${GPU_CHECK_MID_FILTER:-}
DIR_LANES=${GPU_CHECK_DIR_LANES:-10000}
BIG_EXCLUDE=${GPU_CHECK_BIG_EXCLUDE:-}
for f in "$G" "$dir/qemu-aarch64-static"; do
    [ -x "$f" ] || { echo "gpu-check.sh: $f missing (scripts/gpu-carry.sh makes the carry directory)" >&2; exit 2; }
done
export LD_LIBRARY_PATH=/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}
# A cache packed by gpu-carry.sh (GPU_CARRY_XZ=1) is unpacked first.
"$root/scripts/carry-cache.sh" "$dir" || exit 1
export GPUOS_CACHE_DIR=$dir/cache
out=${GPU_CHECK_LOGS:-/tmp/gpu-check}
# Fresh each run: a machine kept warm between device commands keeps /tmp.
rm -rf "$out" && mkdir -p "$out"
pack_logs() { # the logs, as one file under $OUT
    [ -n "${OUT:-}" ] || return 0
    tar -czf "$OUT/gpu-check-logs.tar.gz" -C "$out" . 2>/dev/null
    [ -s "$out/bench.json" ] && cp "$out/bench.json" "$OUT/bench.json"
    return 0
}
table=
[ -n "${OUT:-}" ] && mkdir -p "$OUT" && table=$OUT/gpu-check-table.txt
gpu=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
gpu_mib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -1)
t_start=$SECONDS

rows=()
heading() {
    echo "==== gpu-check (${gpu:-no nvidia-smi}; backend $B; part $part$([ "$quick" = 1 ] && echo ', quick'); $((SECONDS - t_start)) s)"
}
save_table() { [ -z "$table" ] || { heading; printf '%s\n' "${rows[@]}"; } >"$table"; }
row() { # label, value: a row of the table, printed now
    rows+=("$(printf '%-34s %s' "$1" "$2")")
    echo "[gpu-check] $(printf '%-34s %s' "$1" "$2")"
    save_table
}
line() { # a line under the last row (a FAIL line), printed now
    rows+=("    $1")
    echo "[gpu-check]     $1"
    save_table
}
slug() { printf '%s' "$1" | tr -c 'A-Za-z0-9.' '-'; }

# bounded SECS LOG CMD...: CMD with stdout and stderr to LOG, in a session of
# its own; after SECS seconds everything in that session is stopped (TERM,
# then KILL), so no run outlives its budget. Status: CMD's, or 124 if cut off.
session_pids() { # SID: the processes of session SID
    local p s
    for p in /proc/[0-9]*; do
        read -r s 2>/dev/null <"$p/stat" || continue
        s=${s##*) }
        # shellcheck disable=SC2086 # split the fields after the command name
        set -- $s
        [ "${4:-}" = "$SID" ] && echo "${p#/proc/}"
    done
}
kill_session() { # SID SIGNAL
    local SID=$1 p
    for p in $(session_pids); do kill -s "$2" "$p" 2>/dev/null; done
}
bounded() {
    local secs=$1 log=$2
    shift 2
    [ "$secs" -lt 1 ] && secs=1
    if ! command -v setsid >/dev/null 2>&1; then
        timeout -k 10 "$secs" "$@" >"$log" 2>&1 </dev/null
        return
    fi
    setsid "$@" >"$log" 2>&1 </dev/null &
    local pid=$! end=$((SECONDS + secs))
    while kill -0 "$pid" 2>/dev/null; do
        if [ "$SECONDS" -ge "$end" ]; then
            kill_session "$pid" TERM
            sleep 5
            kill_session "$pid" KILL
            wait "$pid" 2>/dev/null
            return 124
        fi
        sleep 1
    done
    wait "$pid"
}

# conf LABEL SECS CONFORMANCE-ARGS...: one conformance run, bounded by SECS;
# a row with the counts, then its FAIL lines.
conf() {
    local label=$1 secs=$2
    shift 2
    [ "$secs" -lt 1 ] && secs=1
    local log rc
    log=$out/conf-$(slug "$label").log
    echo "[gpu-check] $label: scripts/conformance.sh $* (budget ${secs} s)"
    # Its work directory in one of ours, removed even when the run is cut off
    # (with --lane-check files, 100000 lanes leave 200000 files).
    local tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
    # Four cases at a time, but one gpuos at a time (--serial-gpuos): processes on
    # one GPU time-slice it, and a persistent kernel keeps its slice while its lanes
    # wait for the host. The one gpuos may take 80 % of the GPU's memory.
    local pool=${GPU_CHECK_POOL_MIB:-$((${gpu_mib:-16000} * 8 / 10))}
    # shellcheck disable=SC2086 # GPU_CHECK_CONF_ARGS splits into arguments
    GPUOS_POOL_MIB=$pool TMPDIR=$tmp bounded "$secs" "$log" scripts/conformance.sh --gpuos "$G" --backend "$B" --bin-dir "$dir/bin" \
        --busybox "$dir/busybox" --qemu "$dir/qemu-aarch64-static" --timeout "$T" --jobs 4 --serial-gpuos --skip-known-gaps \
        ${GPU_CHECK_SHARD:+--shard "$GPU_CHECK_SHARD"} ${GPU_CHECK_CONF_ARGS:-} "$@"
    rc=$?
    rm -rf "$tmp"
    local pass fail skip total
    pass=$(grep -cE '^[^ ]+ +PASS ' "$log")
    fail=$(grep -cE '^[^ ]+ +FAIL ' "$log")
    skip=$(grep -cE '^[^ ]+ +SKIP ' "$log")
    total=$(sed -n 's/^conformance: \([0-9]*\) cases.*/\1/p' "$log" | head -1)
    if [ "$rc" = 124 ]; then
        row "$label" "CUT OFF by its ${secs} s budget after $((pass + fail + skip)) of ${total:-?} cases: $pass passed, $fail failed, $skip skipped"
    elif grep -q '^conformance: [0-9]* passed' "$log"; then
        row "$label" "$pass passed, $fail failed, $skip skipped (of ${total:-?}; exit $rc)"
    else
        row "$label" "ERROR (exit $rc): $(tail -1 "$log")"
    fi
    local n=0 l
    while IFS= read -r l; do
        n=$((n + 1))
        if [ "$n" -le 40 ]; then line "$(printf '%s' "$l" | cut -c1-160)"; fi
    done < <(grep -E '^[^ ]+ +FAIL ' "$log")
    [ "$n" -gt 40 ] && line "... $((n - 40)) more FAIL lines in $log"
}

# ---------------------------------------------------------------------------
# Steps; each gets its deadline (SECONDS) as $1.

step_conformance-persistent() {
    if [ "$quick" = 1 ]; then
        conf "conformance persistent (C only)" $(($1 - SECONDS)) --mode persistent --exclude '^bb-'
    else
        conf "conformance persistent" $(($1 - SECONDS)) --mode persistent
    fi
}
step_conformance-quantum() {
    if [ "$quick" = 1 ]; then
        row "conformance quantum" "skipped (--quick)"
        return
    fi
    conf "conformance quantum" $(($1 - SECONDS)) --mode quantum
}
step_lanes-1000() {
    # The quantum runs get 60 s, or a quarter of a budget under 240 s.
    local q=$((($1 - SECONDS) / 4))
    [ "$q" -gt 60 ] && q=60
    if [ "$quick" = 1 ]; then
        conf "lanes 1000 persistent (smoke)" $(($1 - SECONDS - q)) --mode persistent --lanes 1000 \
            --filter '^(hello|hello-lane|exit-lane|exit-42|bb-echo)$'
    else
        conf "lanes 1000 persistent" $(($1 - SECONDS - q)) --mode persistent --lanes 1000 \
            ${MID_FILTER:+--filter "$MID_FILTER"}
    fi
    conf "lanes 1000 quantum (hello, bb-echo)" $(($1 - SECONDS)) --mode quantum --lanes 1000 \
        --filter '^(hello|bb-echo)$'
}
# Spare lanes (kernel/proc/spare.h): the threaded cases with their threads on spare
# lanes of the persistent kernel, at 1 lane with 64 spare lanes, then at 100 lanes
# with 1024.
SPARE_FILTER=${GPU_CHECK_SPARE_FILTER:-'^(spare-|threads-|cxx-threads-|go-goroutines-|openmp|pipeline$)'}
step_spare-1() {
    conf "spare lanes: threaded cases, 1 lane + 64 spare" $(($1 - SECONDS)) --mode persistent \
        --spare-lanes 64 --filter "$SPARE_FILTER"
}
step_spare-100() {
    conf "spare lanes: threaded cases, 100 lanes + 1024 spare" $(($1 - SECONDS)) --mode persistent \
        --lanes 100 --spare-lanes 1024 --filter "$SPARE_FILTER"
}
# The cases of GPU_CHECK_MOST, as one regex.
most_names() {
    local w r=
    for w in $MOST; do r+="${r:+|}${w%%=*}"; done
    printf '^(%s)$' "$r"
}
step_lanes-100000() {
    if [ "$quick" = 1 ]; then
        conf "lanes 100000 persistent (smoke)" $(($1 - SECONDS)) --mode persistent --lanes 100000 \
            --jobs 2 --filter '^(hello|bb-echo)$'
        return
    fi
    local ex
    ex="$HEAVY|$(most_names)|$(dir_names)${BIG_EXCLUDE:+|$BIG_EXCLUDE}"
    conf "lanes 100000 persistent" $(($1 - SECONDS)) --mode persistent --lanes 100000 \
        --jobs 2 ${BIG_FILTER:+--filter "$BIG_FILTER"} --exclude "$ex"
}
# The cases that write files (not marked lane-safe), as one regex.
dir_names() {
    scripts/conformance.sh --list | awk '$2 !~ /(^|,)lanes(,|$)/ && NF > 2 { r = r (r ? "|" : "") $1 }
        END { printf "^(%s)$", r }'
}
step_lanes-dirs() {
    conf "lanes $DIR_LANES persistent, in lane directories" $(($1 - SECONDS)) --mode persistent \
        --lanes "$DIR_LANES" --lane-dir-lanes "$DIR_LANES" --jobs 2 --filter "$(dir_names)"
}
step_lanes-100000-heavy() {
    conf "lanes 100000 persistent, heavy" $(($1 - SECONDS)) --mode persistent --lanes 100000 \
        --jobs 2 --filter "$HEAVY"
}
step_lanes-most() {
    local w n
    # shellcheck disable=SC2086 # the words of MOST
    set -- "$1" $MOST
    n=$(($# - 1))
    local end=$1
    shift
    for w in "$@"; do
        conf "lanes ${w#*=} persistent, ${w%%=*}" $(((end - SECONDS) / n)) --mode persistent \
            --lanes "${w#*=}" --filter "^${w%%=*}\$"
        n=$((n - 1))
    done
}

# run_fig LOG SECS ARGS...: one `gpuos run --backend B ARGS`, bounded by SECS
# (and by the per-run timeout). Status: gpuos's.
run_fig() {
    local log=$1 secs=$2
    shift 2
    [ "$secs" -gt "$T" ] && secs=$T
    [ "$secs" -lt 1 ] && secs=1
    timeout -k 5 "$secs" "$G" run --backend "$B" "$@" >"$log.out" 2>"$log"
}
ips() { grep -o '= [^;]*instructions/s' "$1" | head -1 | cut -c3-; }
lanes_summary() { # LOG RC: "N lanes on ...: counts; D distinct stdout"
    local s
    case $2 in
    124 | 137) echo "TIMED OUT (limit $T s or the step's budget)"; return ;;
    esac
    s=$(grep -o '[0-9]* lanes on .*' "$1" | head -1 | cut -c1-90)
    printf '%s; %s' "${s:-no summary (exit $2): $(tail -1 "$1" | cut -c1-80)}" "$(grep -o '[0-9]* distinct stdout' "$1" | head -1)"
}
step_figures-runs() {
    local end=$1 t0 rc
    t0=$SECONDS
    if run_fig "$out/start.log" $((end - SECONDS)) -v "$dir/bin/hello" first second; then
        row "start (module load)" "ok $((SECONDS - t0)) s: $(grep -o 'cache hit\|compiled[^(]*' "$out/start.log" | head -1)"
    else
        row "start (module load)" "FAILED: $(tail -1 "$out/start.log")"
    fi
    head -5 "$out/start.log"

    # Single lane, compute-heavy.
    run_fig "$out/single-int_arith.log" $((end - SECONDS)) -v "$dir/bin/int_arith"
    rc=$?
    row "single lane int_arith" "$(ips "$out/single-int_arith.log") (exit $rc)"
    # 3M iterations of a 10-instruction loop.
    run_fig "$out/single-spin.log" $((end - SECONDS)) -v "$dir/bin/spin" 3000000
    rc=$?
    row "single lane spin 3000000" "$(ips "$out/single-spin.log") (exit $rc)"

    # All lanes.
    local lanes args label log
    for spec in "1000 spin 100000" "100000 spin 10000" "100000 hello x"; do
        # shellcheck disable=SC2086 # the spec's words
        set -- $spec
        lanes=$1 label="$2 x$1 lanes"
        args=("$dir/bin/$2" "${@:3}")
        if [ "$quick" = 1 ] && [ "$lanes" -gt 1000 ] && [ "$2" = spin ]; then continue; fi
        log=$out/lanes-$1-$2.log
        run_fig "$log" $((end - SECONDS)) --lanes "$lanes" "${args[@]}"
        rc=$?
        row "$label (${args[*]:1})" "$(lanes_summary "$log" "$rc")"
        [ -n "$(ips "$log")" ] && row "  ips" "$(ips "$log")"
    done

    # Syscall round trip: N host syscalls (getgroups(0, NULL)) in one lane: gpuos's execution
    # time (kernel start to end, not the process's wall time) less that of the same
    # program with 0 calls, / N; with and without the completion poller. -v adds
    # the device-clock stage means.
    local n=20000 t0 tn label env
    for label in poller no-poller; do
        env=()
        [ "$label" = no-poller ] && env=(GPUOS_NO_POLLER=1)
        env "${env[@]}" timeout -k 5 "$T" "$G" run --backend "$B" -v "$dir/bin/sysloop" 0 >/dev/null 2>"$out/sys0-$label.log"
        env "${env[@]}" timeout -k 5 "$T" "$G" run --backend "$B" -v "$dir/bin/sysloop" $n >/dev/null 2>"$out/sys$n-$label.log"
        rc=$?
        t0=$(sed -n 's/.* guest instructions in \([0-9.]*\) s = .*/\1/p' "$out/sys0-$label.log" | head -1)
        tn=$(sed -n 's/.* guest instructions in \([0-9.]*\) s = .*/\1/p' "$out/sys$n-$label.log" | head -1)
        row "syscall round trip, 1 lane ($label)" "$(awk -v a="${t0:-0}" -v b="${tn:-0}" -v n=$n \
            'BEGIN { printf "%.2f", (b - a) / n * 1e6 }') us per getgroups (execution time; exit $rc)"
        [ "$label" = poller ] && row "  stages" "$(grep -o '[0-9]* host requests, mean us.*' "$out/sys$n-$label.log" | head -1 | cut -c1-170)"
    done
    run_fig "$out/sys10k.log" $((end - SECONDS)) --lanes 10000 "$dir/bin/sysloop" 100
    rc=$?
    row "10000 lanes x 100 getgroups" "$(grep -o '[0-9.]* s = ' "$out/sys10k.log" | head -1 | sed 's/ = $//') (exit $rc)"
}
# The sysroot of the deb steps, unpacked once from the carry (empty when it has none).
deb_sysroot() {
    local sr=${TMPDIR:-/tmp}/gpu-check-sysroot
    if [ ! -e "$sr/usr/bin" ] && [ -f "$dir/sysroot.tar.xz" ]; then
        mkdir -p "$sr" && tar -C "$sr" -xJf "$dir/sysroot.tar.xz" || return 1
    fi
    [ -e "$sr/usr/bin" ] && echo "$sr"
}
DEB_FILTER=${GPU_CHECK_DEB_FILTER:-'^deb-(py-json|py-exit|perl-regex|perl-die|bash-pipeline|bash-coreutils|find-exec|grep-P|gawk-math|sqlite-sql|lua|bc-l|tar-c|diff-u)$'}
step_deb-1() {
    local sr
    if ! sr=$(deb_sysroot); then
        row "deb 1 lane" "skipped: no sysroot.tar.xz in the carry (GPU_CARRY_SYSROOT=1)"
        return
    fi
    conf "deb 1 lane" $(($1 - SECONDS)) --mode persistent --sysroot "$sr" --deb-oracle auto --filter "$DEB_FILTER"
}
step_deb-1000() {
    local sr
    if ! sr=$(deb_sysroot); then
        row "deb 1000 lanes" "skipped: no sysroot.tar.xz in the carry (GPU_CARRY_SYSROOT=1)"
        return
    fi
    conf "deb 1000 lanes" $(($1 - SECONDS)) --mode persistent --lanes 1000 --lane-check report \
        --sysroot "$sr" --deb-oracle auto --filter "$DEB_FILTER"
}
step_python3-startup() {
    local sr secs=$(($1 - SECONDS)) log=$out/bench-python3.log rc
    if ! sr=$(deb_sysroot); then
        row "python3 start-up" "skipped: no sysroot.tar.xz in the carry (GPU_CARRY_SYSROOT=1)"
        return
    fi
    rm -f "$out/bench-python3.json"
    echo "[gpu-check] python3 start-up: $G bench --backend $B --workloads python3 (budget ${secs} s)"
    bounded "$secs" "$log" "$G" bench --backend "$B" --quick --skip-cold-compile --workloads python3 \
        --lanes "${GPU_CHECK_PY_LANES:-1,1000,10000}" --sysroot "$sr" --json "$out/bench-python3.json" \
        --bin-dir "$dir/bin" --busybox "$dir/busybox" --qemu "$dir/qemu-aarch64-static"
    rc=$?
    if [ "$rc" = 124 ]; then
        row "python3 start-up" "CUT OFF by its $secs s budget; log: $log"
    elif [ ! -s "$out/bench-python3.json" ]; then
        row "python3 start-up" "FAILED (exit $rc): $(grep -m1 -i 'refused\|error' "$log" || tail -1 "$log")"
    fi
    local l
    while IFS= read -r l; do
        row "  python3 start-up" "$l"
    done < <(grep -E '^python3 |^memory .*python3|ratio' "$log" | cut -c1-150)
}
step_figures-bench() {
    if [ "$quick" = 1 ]; then
        row "bench --quick" "skipped (--quick)"
        return
    fi
    local secs=$(($1 - SECONDS)) log=$out/bench.log rc
    rm -f "$out/bench.json"
    local bench_args=${GPU_CHECK_BENCH_ARGS-"--tiny --lanes 1,32,1024,10000,100000 --skip-cold-compile"}
    # shellcheck disable=SC2086 # GPU_CHECK_BENCH_ARGS is a list of words
    set -- --quick --json "$out/bench.json" $bench_args
    echo "[gpu-check] bench: $G bench --backend $B $* (budget ${secs} s)"
    bounded "$secs" "$log" "$G" bench --backend "$B" "$@" \
        --bin-dir "$dir/bin" --busybox "$dir/busybox" --qemu "$dir/qemu-aarch64-static"
    rc=$?
    if [ "$rc" = 124 ]; then
        row "bench --quick" "CUT OFF by its $secs s budget (no JSON); log: $log"
        return
    elif [ ! -s "$out/bench.json" ]; then
        row "bench --quick" "FAILED (exit $rc): $(grep -m1 -i 'refused\|error' "$log" || tail -1 "$log")"
        return
    fi
    row "bench --quick" "ok (exit $rc): $out/bench.json"
    command -v python3 >/dev/null 2>&1 || return
    local l
    while IFS= read -r l; do
        row "  ${l%%|*}" "${l#*|}"
    done < <(python3 - "$out/bench.json" <<'EOF' 2>/dev/null
import json, sys
d = json.load(open(sys.argv[1]))
def si(x):
    for u, k in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if x >= k:
            return "%.2f %s" % (x / k, u)
    return "%.0f" % x
for r in d.get("results", []):
    print("bench %s %s x%d|%s instructions/s (%.3f s)" % (r["workload"], r["backend"], r["lanes"], si(r["ips"]), r["seconds"]))
for k, v in (d.get("syscall", {}).get("per_backend") or {}).items():
    b = v.get("busy") or {}
    print("bench syscall %s|p50 %s ns, p99 %s ns; %s lanes busy: p50 %s ns, p99 %s ns" % (k, v.get("p50_ns"), v.get("p99_ns"), b.get("lanes"), b.get("p50_ns"), b.get("p99_ns")))
for k, v in (d.get("startup") or {}).items():
    print("bench startup %s|load %s s, compile cold %s, warm %s" % (k, round(v.get("load_seconds", 0), 4), v.get("compile_cold_seconds"), v.get("compile_warm_seconds")))
for n in d.get("notes", []):
    print("bench note|%s" % n)
EOF
    )
}

# ---------------------------------------------------------------------------

[ -n "$gpu" ] && echo "$gpu"

# Smoke probe first (GPU_CHECK_SMOKE=0 skips it): hello in both modes, 30 s each.
# A broken core or machine then costs a minute, not the whole budget of a part.
if [ "${GPU_CHECK_SMOKE:-1}" = 1 ]; then
    "$dir/qemu-aarch64-static" "$dir/bin/hello" >"$out/smoke.ref" 2>/dev/null
    for m in persistent quantum; do
        timeout -k 5 30 "$G" run --backend "$B" --mode "$m" -v "$dir/bin/hello" >"$out/smoke-$m.out" 2>"$out/smoke-$m.log"
        rc=$?
        if [ "$rc" != 0 ] || ! cmp -s "$out/smoke.ref" "$out/smoke-$m.out"; then
            row "smoke ($m, hello)" "FAILED (exit $rc): $(grep -v '^gpuos: [0-9]* \|cache hit' "$out/smoke-$m.log" | tail -1 | cut -c1-120); nothing else run"
            pack_logs
            heading
            printf '%s\n' "${rows[@]}"
            exit 1
        fi
    done
    row "smoke (hello, both modes)" "ok"
fi
# run_part PART-OR-STEP: its steps, each given an equal share of what is left
# of the budget (a step that finishes early leaves its time to the next).
run_part() {
    local end=$((SECONDS + BUDGET)) n s
    # shellcheck disable=SC2046 # the step names
    set -- $(steps_of "$1")
    n=$#
    for s in "$@"; do
        "step_$s" $((SECONDS + (end - SECONDS) / n))
        n=$((n - 1))
        pack_logs
    done
}
for p in $parts; do run_part "$p"; done

echo
heading
printf '%s\n' "${rows[@]}"
save_table
