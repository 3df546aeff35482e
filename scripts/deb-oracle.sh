#!/usr/bin/env bash
# The oracle for programs of a Debian arm64 sysroot (.deps/sysroot, made by
# scripts/fetch-deps.sh): runs a guest command as on an arm64 Debian machine whose
# root is the sysroot, under qemu-aarch64.
#
# `qemu-aarch64 -L SYSROOT` alone is not that: -L redirects the paths the guest opens,
# but a program the guest execs is run by the host kernel, so an arm64 bash under
# `qemu-aarch64 -L` runs the host's own x86 `uname`. Here qemu-aarch64 is registered
# with binfmt_misc (flags PF: P keeps the guest's argv[0], F opens qemu now, so it
# need not be inside the guest's root) and the command runs chrooted in the sysroot,
# in a private mount namespace: every AArch64 ELF it execs, at any depth, runs under
# qemu with the sysroot as its root.
#
# Usage:
#   deb-oracle.sh setup QEMU OWNER
#       Registers QEMU (a static qemu-aarch64: it runs inside the guest's root,
#       without the host's libraries) with binfmt_misc, mounting it at
#       /proc/sys/fs/binfmt_misc when it is not mounted (left mounted). Prints the
#       registration's name, gpuos-aarch64-OWNER (OWNER: the pid of the caller,
#       which tears it down), and exits 0, or prints why it cannot and exits 3
#       (then run with --qemu). Registrations whose owner has died are removed.
#   deb-oracle.sh teardown NAME
#       Removes the registration NAME.
#   deb-oracle.sh run --sysroot DIR --cwd CWD [--qemu QEMU] -- PROGRAM [ARGS...]
#       Runs PROGRAM (a path in the sysroot, e.g. /usr/bin/python3) with ARGS in
#       CWD. Without --qemu (binfmt mode, after setup): in a private mount
#       namespace whose root is a read-only tmpfs holding the sysroot's entries
#       (bind-mounted read-only), CWD at its own path (read-write), a fresh /proc
#       and a /dev of null, zero, full, random, urandom and tty; the guest gets
#       exactly this script's environment, in its order. With --qemu (the fallback
#       where binfmt_misc cannot be had): `QEMU -L DIR -0 PROGRAM DIR/PROGRAM ARGS`
#       in CWD, which is faithful only for commands that exec nothing.
#       The exit status is the guest's (128+signal when it was killed); 125 when
#       the namespace could not be set up.
#   deb-oracle.sh exec --sysroot DIR --qemu QEMU -- PROGRAM [ARGS...]
#       setup, run in the current directory (binfmt mode, or the -L fallback with
#       a warning), teardown: for trying a command by hand.
#
# Needs root (mount, unshare, binfmt_misc) for binfmt mode; util-linux's unshare.
set -uo pipefail

self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
die() { echo "deb-oracle.sh: $*" >&2; exit 125; }

BINFMT=/proc/sys/fs/binfmt_misc
# AArch64 ELF executables (little endian, ET_EXEC or ET_DYN), as qemu's
# scripts/qemu-binfmt-conf.sh matches them.
AARCH64_MAGIC='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
AARCH64_MASK='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'

# binfmt_ready: binfmt_misc is mounted (mounting it if needed) and enabled; else why not.
binfmt_ready() {
    if [ ! -e "$BINFMT/register" ]; then
        [ "$(id -u)" = 0 ] || { echo "not root: cannot mount binfmt_misc"; return 1; }
        [ -d "$BINFMT" ] || { echo "no $BINFMT (kernel without binfmt_misc)"; return 1; }
        local err
        err=$(mount -t binfmt_misc binfmt_misc "$BINFMT" 2>&1) || { echo "cannot mount binfmt_misc: $err"; return 1; }
    fi
    [ -w "$BINFMT/register" ] || { echo "$BINFMT/register is not writable"; return 1; }
    [ "$(cat "$BINFMT/status" 2>/dev/null)" = enabled ] || { echo "binfmt_misc is disabled"; return 1; }
}

# remove_stale: registrations gpuos-aarch64-PID whose PID no longer runs (a caller
# killed before its teardown).
remove_stale() {
    local e pid
    for e in "$BINFMT"/gpuos-aarch64-*; do
        [ -e "$e" ] || continue
        pid=${e##*-}
        case $pid in '' | *[!0-9]*) continue ;; esac
        kill -0 "$pid" 2>/dev/null || echo -1 >"$e" 2>/dev/null || true
    done
}

cmd_setup() {
    [ "$#" = 2 ] || die "setup needs QEMU and OWNER"
    local qemu why name
    qemu=$(readlink -f "$1") || die "no $1"
    [ -x "$qemu" ] || die "$qemu is not executable"
    # Run inside the guest's root, where the host's libraries are not.
    if LC_ALL=C readelf -l "$qemu" 2>/dev/null | grep -q 'program interpreter'; then
        die "$qemu is dynamically linked: binfmt_misc needs a static qemu-aarch64 (qemu-user-static)"
    fi
    why=$(binfmt_ready) || { echo "binfmt_misc unavailable: $why"; exit 3; }
    remove_stale
    case $2 in '' | *[!0-9]*) die "OWNER is a pid: $2" ;; esac
    name=gpuos-aarch64-$2
    [ -e "$BINFMT/$name" ] && echo -1 >"$BINFMT/$name"
    printf ':%s:M::%s:%s:%s:PF' "$name" "$AARCH64_MAGIC" "$AARCH64_MASK" "$qemu" >"$BINFMT/register" ||
        { echo "binfmt_misc unavailable: registering $name failed"; exit 3; }
    echo "$name"
}

cmd_teardown() {
    [ "$#" = 1 ] || die "teardown needs NAME"
    case $1 in gpuos-aarch64-*) ;; *) die "not a registration of this script: $1" ;; esac
    [ -e "$BINFMT/$1" ] && echo -1 >"$BINFMT/$1"
    return 0
}

# ro_bind SRC DST: bind SRC at DST, read-only.
ro_bind() { mount --bind "$1" "$2" && mount -o remount,bind,ro "$2"; }

# make_root R SYSROOT CWD: in the current (private) mount namespace, R becomes the
# guest's root: a tmpfs with the sysroot's top-level entries (directories and files
# bound read-only, symlinks copied), CWD bound read-write at its own path, /proc and
# a small /dev; then R itself is made read-only.
make_root() {
    local r=$1 sysroot=$2 cwd=$3 e name top
    mount -t tmpfs -o mode=755,size=16m gpuos-oracle "$r" || return 1
    top=${cwd#/}
    top=${top%%/*}
    for e in "$sysroot"/* "$sysroot"/.[!.]*; do
        [ -e "$e" ] || [ -L "$e" ] || continue
        name=${e##*/}
        case $name in .complete | proc | dev) continue ;; esac
        if [ -L "$e" ]; then
            cp -P "$e" "$r/$name" || return 1
        elif [ "$name" = "$top" ]; then
            # CWD lies below this directory (as /tmp): an empty one is a tmpfs to
            # make CWD's path in; over a full one the sysroot would be hidden.
            [ -z "$(ls -A "$e")" ] || { echo "deb-oracle.sh: $cwd is below the sysroot's non-empty /$name" >&2; return 1; }
            mkdir "$r/$name" && mount -t tmpfs -o mode=1777,size=16m gpuos-oracle "$r/$name" || return 1
        elif [ -d "$e" ]; then
            mkdir "$r/$name" && ro_bind "$e" "$r/$name" || return 1
        else
            : >"$r/$name" && ro_bind "$e" "$r/$name" || return 1
        fi
    done
    mkdir -p "$r/proc" && mount -t proc proc "$r/proc" || return 1
    mkdir -p "$r/dev" && mount -t tmpfs -o mode=755,size=64k gpuos-oracle "$r/dev" || return 1
    local dev
    for dev in null zero full random urandom tty; do
        : >"$r/dev/$dev" && mount --bind "/dev/$dev" "$r/dev/$dev" || return 1
    done
    ln -s /proc/self/fd "$r/dev/fd" && ln -s /proc/self/fd/0 "$r/dev/stdin" &&
        ln -s /proc/self/fd/1 "$r/dev/stdout" && ln -s /proc/self/fd/2 "$r/dev/stderr" &&
        mkdir "$r/dev/shm" && mount -t tmpfs -o mode=1777,size=16m gpuos-oracle "$r/dev/shm" || return 1
    # CWD last: a working directory below /dev/shm (conformance.sh's lane copies) would
    # be hidden by the mounts above.
    mkdir -p "$r$cwd" && mount --bind "$cwd" "$r$cwd" || return 1
    mount -o remount,ro "$r"
}

# run_ns TMP SYSROOT CWD PROGRAM ARGS: inside the new mount namespace (this script
# re-entered by cmd_run through unshare -m): TMP/root becomes the guest's root, the
# guest gets the environment in TMP/env.
run_ns() {
    local tmp=$1 sysroot=$2 cwd=$3
    shift 3
    local genv=()
    mapfile -d '' genv <"$tmp/env"
    make_root "$tmp/root" "$sysroot" "$cwd" || exit 125
    exec env -i "${genv[@]}" unshare --root="$tmp/root" --wd="$cwd" -- "$@"
}

cmd_run() {
    local sysroot='' cwd='' qemu=''
    while [ "$#" -gt 0 ]; do
        case $1 in
        --sysroot) sysroot=$2; shift 2 ;;
        --cwd) cwd=$2; shift 2 ;;
        --qemu) qemu=$2; shift 2 ;;
        --) shift; break ;;
        *) die "run: unknown argument $1" ;;
        esac
    done
    [ -n "$sysroot" ] && [ -n "$cwd" ] && [ "$#" -ge 1 ] || die "run needs --sysroot, --cwd and PROGRAM"
    sysroot=$(readlink -f "$sysroot") && [ -d "$sysroot" ] || die "no sysroot $sysroot"
    cwd=$(readlink -f "$cwd") && [ -d "$cwd" ] || die "no directory $cwd"
    local prog=$1
    case $prog in /*) ;; *) die "PROGRAM must be an absolute path in the sysroot: $prog" ;; esac
    if [ -n "$qemu" ]; then
        shift
        cd "$cwd" || exit 125
        # The environment as it came (bash adds PWD, SHLVL and _ to what it exports).
        local genv=()
        mapfile -d '' genv </proc/$$/environ
        exec env -i "${genv[@]}" "$qemu" -L "$sysroot" -0 "$prog" "$sysroot$prog" "$@"
    fi
    # The environment as it came, in its order, to the guest through a file (what
    # bash exports to the re-entered script is in its own order, with PWD, SHLVL, _);
    # beside it the directory the guest's root is mounted on (in the namespace only).
    local tmp
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpuos-oracle.XXXXXX") || exit 125
    cat /proc/$$/environ >"$tmp/env" && mkdir "$tmp/root" || exit 125
    unshare -m --propagation private -- "$self" _ns "$tmp" "$sysroot" "$cwd" "$@"
    local rc=$?
    rm -rf "$tmp"
    exit "$rc"
}

cmd_exec() {
    local args=("$@") qemu='' i rest=() genv=()
    for ((i = 0; i < ${#args[@]}; i++)); do
        case ${args[$i]} in
        --qemu) qemu=${args[$((i + 1))]}; i=$((i + 1)); continue ;;
        --) rest+=("${args[@]:$i}"); break ;;
        esac
        rest+=("${args[$i]}")
    done
    [ -n "$qemu" ] || die "exec needs --qemu"
    # The guest gets the environment this script was started with.
    mapfile -d '' genv </proc/$$/environ
    if REGISTERED=$("$self" setup "$qemu" $$ 2>&1); then
        trap '"$self" teardown "$REGISTERED"' EXIT
        trap 'exit 130' INT TERM
        env -i "${genv[@]}" "$self" run --cwd "$PWD" "${rest[@]}"
    else
        echo "deb-oracle.sh: ${REGISTERED#deb-oracle.sh: }; running under qemu -L, which runs what the guest execs on the host" >&2
        env -i "${genv[@]}" "$self" run --cwd "$PWD" --qemu "$qemu" "${rest[@]}"
    fi
}

[ "$#" -ge 1 ] || { sed -n '2,/^$/s/^# \{0,1\}//p' "$self" >&2; exit 2; }
sub=$1
shift
case $sub in
setup) cmd_setup "$@" ;;
teardown) cmd_teardown "$@" ;;
run) cmd_run "$@" ;;
exec) cmd_exec "$@" ;;
_ns) run_ns "$@" ;;
*) die "unknown command $sub" ;;
esac
