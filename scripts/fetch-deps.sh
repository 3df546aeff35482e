#!/usr/bin/env bash
# Fetch what the tests need and do not build from this repository, into .deps/
# (gitignored). Idempotent: finished steps are skipped.
#   - apt packages gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
#     golang-go, when
#     missing (as root, or through sudo when available);
#   - .deps/busybox: Debian's busybox-static for arm64 (a static AArch64 ELF);
#   - .deps/qemu-aarch64-static: the static x86-64 qemu-aarch64 from Debian's
#     qemu-user-static, to carry to machines without qemu installed;
#   - .deps/sysroot: a Debian arm64 root made of the packages in SYSROOT_PACKAGES
#     and their dependencies (apt-get download + dpkg-deb -x, usr-merged as
#     Debian's own roots), for the deb-* conformance cases (scripts/conformance.sh,
#     scripts/deb-oracle.sh). Rebuilt only when the recipe below changes.
# Environment: FETCH_DEPS_NO_APT_INSTALL=1 skips installing apt packages;
#   FETCH_DEPS_NO_SYSROOT=1 skips the sysroot.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
deps=$root/.deps
mkdir -p "$deps"
log() { echo "fetch-deps.sh: $*" >&2; }

SUDO=
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=sudo
    else
        SUDO=none
    fi
fi
as_root() {
    if [ "$SUDO" = none ]; then
        log "need root for: $*"
        return 1
    fi
    $SUDO "$@"
}

apt_updated=0
apt_update() {
    if [ "$apt_updated" = 0 ]; then
        as_root apt-get update -qq
        apt_updated=1
    fi
}

# 1. Host packages.
missing=()
for p in gcc-aarch64-linux-gnu g++-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user golang-go; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "${FETCH_DEPS_NO_APT_INSTALL:-0}" = 1 ]; then
        log "missing packages (not installing): ${missing[*]}"
    else
        log "installing ${missing[*]}"
        apt_update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    fi
fi

# Download one Debian package into a scratch dir and extract it; prints the dir.
download_extract() {
    local pkg=$1 work
    work=$(mktemp -d "$deps/.fetch.XXXXXX")
    chmod 755 "$work" # lets apt's _apt user write there (no unsandboxed warning)
    if ! (cd "$work" && apt-get download -qq "$pkg" >/dev/null 2>&1); then
        apt_update
        (cd "$work" && apt-get download -qq "$pkg" >/dev/null)
    fi
    local deb
    deb=$(ls "$work"/*.deb)
    dpkg-deb -x "$deb" "$work/x"
    log "downloaded $(basename "$deb")"
    echo "$work"
}

# An executable ELF file (so a half-written or wrong file is fetched again).
is_elf() { [ -x "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# apt knows arm64 packages (dpkg's foreign architecture arm64, its lists fetched).
ensure_arm64() {
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        log "adding dpkg architecture arm64"
        as_root dpkg --add-architecture arm64
        apt_updated=0
        apt_update
    fi
}

# 2. busybox-static:arm64
if ! is_elf "$deps/busybox"; then
    ensure_arm64
    work=$(download_extract busybox-static:arm64)
    # Install through a temporary name so an interrupted run never leaves a
    # half-written file behind under the real name.
    install -m 755 "$work/x/bin/busybox" "$deps/busybox.tmp" && mv -f "$deps/busybox.tmp" "$deps/busybox"
    rm -rf "$work"
fi

# 3. qemu-user-static (amd64): qemu-aarch64-static
if ! is_elf "$deps/qemu-aarch64-static"; then
    work=$(download_extract qemu-user-static)
    q=
    for c in "$work/x/usr/bin/qemu-aarch64-static" "$work/x/usr/bin/qemu-aarch64"; do
        if [ -f "$c" ] && [ ! -L "$c" ]; then q=$c; break; fi
    done
    [ -n "$q" ] || { log "qemu-aarch64 not found in qemu-user-static"; exit 1; }
    install -m 755 "$q" "$deps/qemu-aarch64-static.tmp" && mv -f "$deps/qemu-aarch64-static.tmp" "$deps/qemu-aarch64-static"
    rm -rf "$work"
fi

# 4. The Debian arm64 sysroot: .deps/sysroot.
# The programs the deb-* conformance cases run (scripts/conformance.sh); sysroot_closure
# adds what they depend on.
SYSROOT_PACKAGES=(libc6 base-files dash bash coreutils findutils sed grep gawk diffutils
    tar gzip xz-utils bzip2 zstd sqlite3 lua5.4 bc perl-base python3-minimal python3.11-minimal
    libpython3.11-stdlib)
# Dependencies left out: what only maintainer scripts run (the packages are unpacked,
# never configured) and awk's other providers (gawk is the awk).
SYSROOT_EXCLUDE=(dpkg debianutils install-info mawk original-awk)

# sysroot_closure: SYSROOT_PACKAGES and their Depends and Pre-Depends, recursively
# (an OR group's first alternative not excluded; a virtual package's first provider),
# one a line, sorted: NAME:arm64, or NAME for an Architecture: all package.
sysroot_closure() {
    local -A seen=()
    local frontier=() all=() arm n
    for n in "${SYSROOT_PACKAGES[@]}"; do seen[$n]=1; frontier+=("$n"); done
    while [ "${#frontier[@]}" -gt 0 ]; do
        # The names with an arm64 candidate; the others are Architecture: all.
        arm=$(apt-cache show --no-all-versions "${frontier[@]/%/:arm64}" 2>/dev/null |
            awk '/^Package: / { p = $2 } /^Architecture: arm64$/ { print p }')
        local q=()
        for n in "${frontier[@]}"; do
            if grep -qxF -- "$n" <<<"$arm"; then q+=("$n:arm64"); else q+=("$n"); fi
        done
        all+=("${q[@]}")
        frontier=()
        for n in $(apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances "${q[@]}" | awk -v ex=" ${SYSROOT_EXCLUDE[*]} " '
            function base(x) { sub(/:arm64$/, "", x); return x }
            function take(x) { x = base(x); if (!done && index(ex, " " x " ") == 0) { print x; done = 1 } }
            /^  ?[ |][A-Za-z]+: / {
                if (!more) done = 0
                more = substr($0, 2, 1) == "|"
                virt = $2 ~ /^</
                if (!virt) take($2)
                next
            }
            /^    [^ ]/ { if (virt) take($1); next }'); do
            [ -n "${seen[$n]:-}" ] && continue
            seen[$n]=1
            frontier+=("$n")
        done
    done
    printf '%s\n' "${all[@]}" | LC_ALL=C sort
}

# sysroot_download DIR NAMES...: the packages' .deb files (apt's candidates) into DIR,
# where those already there with the right SHA-256 are kept; prints their paths.
sysroot_download() {
    local dir=$1 uris
    shift
    mkdir -p "$dir"
    # As root, apt downloads as its _apt user, which may not reach DIR (a parent
    # directory it cannot search): it then warns and downloads as root anyway.
    local sandbox=()
    [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
    # What apt would fetch, asked in an empty directory (apt lists nothing that is
    # already in the current one): "'URL' FILE SIZE SHA256:HEX".
    local empty
    empty=$(mktemp -d "$deps/.fetch.XXXXXX")
    uris=$(cd "$empty" && apt-get download --print-uris "$@" 2>/dev/null) || {
        apt_update
        uris=$(cd "$empty" && apt-get download --print-uris "$@")
    }
    rmdir "$empty"
    [ -n "$uris" ] || return 1
    local get=() url file size sum
    while read -r url file size sum; do
        if [ ! -f "$dir/$file" ] || [ "$(sha256sum <"$dir/$file" | cut -d' ' -f1)" != "${sum#SHA256:}" ]; then
            rm -f "$dir/$file"
            get+=("$(sed -E 's/_[^_]+_([a-z0-9]+)\.deb$/:\1/; s/:all$//' <<<"$file")")
        fi
    done <<<"$uris"
    if [ "${#get[@]}" -gt 0 ]; then
        log "downloading ${#get[@]} packages for the sysroot"
        (cd "$dir" && apt-get download -qq "${sandbox[@]}" "${get[@]}" >/dev/null) || return 1
    fi
    awk -v d="$dir" '{ print d "/" $2 }' <<<"$uris"
}

# sysroot_usrmerge ROOT: /bin, /sbin and /lib as Debian's merged-/usr roots have them,
# symlinks to usr/bin, usr/sbin and usr/lib (bookworm's packages still ship files there).
sysroot_usrmerge() {
    local d
    for d in bin sbin lib; do
        mkdir -p "$1/usr/$d"
        if [ -d "$1/$d" ] && [ ! -L "$1/$d" ]; then
            (cd "$1/$d" && tar -cf - .) | (cd "$1/usr/$d" && tar -xf -) || return 1
            rm -rf "${1:?}/$d"
        fi
        ln -sfn "usr/$d" "$1/$d"
    done
}

# sysroot_configure ROOT: what the packages' maintainer scripts would have made and the
# programs read: awk (the alternative), a minimal passwd and group, and the standard
# library's bytecode (py3compile), compiled by the host's python3 when it is 3.11 too
# (bytecode is the same on every machine; without it python3 compiles what it imports
# on every run).
sysroot_configure() {
    local root=$1
    # Documentation and translations, left out as Debian's slim images do (dpkg's
    # path-exclude): nothing here reads them under LC_ALL=C.
    rm -rf "${root:?}"/usr/share/{doc,man,info,locale}
    ln -sfn gawk "$root/usr/bin/awk"
    printf '%s\n' 'root:x:0:0:root:/root:/bin/bash' 'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' \
        >"$root/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$root/etc/group"
    if command -v python3 >/dev/null 2>&1 && [ "$(python3 -c 'import sys; print(sys.version_info[:2] == (3, 11))')" = True ]; then
        python3 -m compileall -q -j 0 -s "$root" -p / "$root/usr/lib/python3.11" >/dev/null ||
            log "warning: compiling the sysroot's python3 library failed"
    else
        log "note: no host python3.11: the sysroot's python3 library stays uncompiled"
    fi
}

# sysroot_check ROOT: every ELF file's DT_NEEDED libraries are in ROOT's library
# directories (the closure is complete); prints the missing ones.
sysroot_check() {
    local root=$1 readelf
    readelf=$(command -v readelf || command -v aarch64-linux-gnu-readelf) || return 0
    local libs
    libs=$(find "$root/usr/lib" -name '*.so*' -printf '%f\n')
    find "$root/usr" -type f \( -path '*/bin/*' -o -name '*.so*' \) -print0 |
        xargs -0 "$readelf" -d 2>/dev/null | awk -v root="$root" '
            /^File: / { f = $2; sub("^" root, "", f) }
            /\(NEEDED\)/ { lib = $NF; gsub(/[][]/, "", lib); need[lib] = need[lib] " " f }
            END { for (l in need) print l "\t" need[l] }' |
        while IFS=$'\t' read -r lib users; do
            # Anywhere under /usr/lib: gconv's modules find theirs beside them (RUNPATH).
            grep -qxF -- "$lib" <<<"$libs" || printf 'missing %s, needed by%s\n' "$lib" "$users"
        done
}

# The recipe's hash: the sysroot is rebuilt when it changes.
sysroot_recipe() {
    printf '%s\n' "${SYSROOT_PACKAGES[*]}" "${SYSROOT_EXCLUDE[*]}"
    declare -f sysroot_closure sysroot_usrmerge sysroot_configure
}
build_sysroot() {
    local sysroot=$deps/sysroot hash t0=$SECONDS
    hash=$(sysroot_recipe | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$sysroot/.complete" 2>/dev/null)" = "$hash" ]; then return 0; fi
    ensure_arm64
    # arm64 added before, but its package lists never fetched.
    apt-cache show --no-all-versions libc6:arm64 >/dev/null 2>&1 || apt_update
    local names debs stage=$deps/sysroot.new deb
    names=$(sysroot_closure) || return 1
    # shellcheck disable=SC2086 # one name a word
    debs=$(sysroot_download "$deps/sysroot-debs" $names) || return 1
    rm -rf "$stage"
    mkdir -p "$stage"
    while IFS= read -r deb; do
        dpkg-deb -x "$deb" "$stage" || return 1
    done <<<"$debs"
    sysroot_usrmerge "$stage" && sysroot_configure "$stage" || return 1
    local missing
    missing=$(sysroot_check "$stage")
    [ -z "$missing" ] || log "warning: the sysroot lacks libraries:"$'\n'"$missing"
    echo "$hash" >"$stage/.complete"
    rm -rf "$sysroot"
    mv "$stage" "$sysroot"
    log "built $sysroot: $(wc -l <<<"$debs") packages, $(du -sh "$sysroot" | cut -f1), $((SECONDS - t0)) s"
}
if [ "${FETCH_DEPS_NO_SYSROOT:-0}" != 1 ]; then
    build_sysroot || { log "building the sysroot failed"; exit 1; }
fi

is_elf "$deps/busybox" || { log "bad $deps/busybox"; exit 1; }
# A truncated busybox (from an older, interrupted run) still starts with the ELF magic:
# check that it runs, and fetch it again once if not.
if ! "$deps/qemu-aarch64-static" "$deps/busybox" true >/dev/null 2>&1; then
    log "$deps/busybox does not run; fetching it again"
    rm -f "$deps/busybox"
    exec "$0" "$@"
fi
"$deps/qemu-aarch64-static" --version >/dev/null || { log "bad $deps/qemu-aarch64-static"; exit 1; }
log "ok: $deps/busybox, $deps/qemu-aarch64-static ($("$deps/qemu-aarch64-static" --version | head -n 1))"
