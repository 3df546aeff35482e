#!/usr/bin/env bash
# Builds the freestanding assembly test programs into tests/guest/bin/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../bin"
mkdir -p "$out"
for s in "$here"/*.S; do
    n=$(basename "$s" .S)
    aarch64-linux-gnu-gcc -nostdlib -static -o "$out/$n" "$s"
done
