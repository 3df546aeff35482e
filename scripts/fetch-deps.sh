#!/usr/bin/env bash
# Fetch what the tests need and do not build from this repository, into .deps/
# (gitignored). Idempotent: finished steps are skipped.
#   - apt packages gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user, when
#     missing (as root, or through sudo when available);
#   - .deps/busybox: Debian's busybox-static for arm64 (a static AArch64 ELF);
#   - .deps/qemu-aarch64-static: the static x86-64 qemu-aarch64 from Debian's
#     qemu-user-static, to carry to machines without qemu installed.
# Environment: FETCH_DEPS_NO_APT_INSTALL=1 skips installing apt packages.
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
for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user; do
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

# 2. busybox-static:arm64
if ! is_elf "$deps/busybox"; then
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        log "adding dpkg architecture arm64"
        as_root dpkg --add-architecture arm64
        apt_updated=0
        apt_update
    fi
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
