#!/usr/bin/env bash
# Unpacks a carry directory's packed cache (CARRY_DIR/cache.tar.xz, made by
# `GPU_CARRY_XZ=1 scripts/gpu-carry.sh`) into CARRY_DIR/cache, unless that exists; a
# carry without a packed cache is left as it is. Used by gpu-check.sh, gpu-probe.sh and
# gpu-tier2.sh on the device machine. Exit status non-zero when unpacking fails.
#
# Usage: scripts/carry-cache.sh CARRY_DIR
set -euo pipefail
dir=${1:?usage: scripts/carry-cache.sh CARRY_DIR}
if [ -f "$dir/cache.tar.xz" ] && [ ! -d "$dir/cache" ]; then
    mkdir -p "$dir/cache"
    tar -C "$dir/cache" -xJf "$dir/cache.tar.xz"
fi
