#!/usr/bin/env bash
# Checks that conformance.sh's lanes check can fail: runs it with a gpuos wrapper
# that spoils one lane's row of the lane report (its stdout hash, its stderr hash,
# its exit status, or drops the row), or one lane's files in a case run in lane
# directories, and expects each to be reported as that failure.
# A check that passes whatever gpuos does would be worthless. Also that --shard K/N
# runs each case of a selection in exactly one shard.
#
# Usage: scripts/conformance-selftest.sh GPUOS   (the real binary; CPU backend)
# shellcheck disable=SC2016 # the wrapper's and awk's code is meant literally
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gpuos=${1:?usage: conformance-selftest.sh GPUOS}
case $gpuos in /*) ;; *) gpuos=$PWD/$gpuos ;; esac
work=$(mktemp -d "${TMPDIR:-/tmp}/conformance-selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT

# wrapper SPOIL [AFTER]: write $work/gpuos, the real gpuos followed by the awk
# program SPOIL applied to the lane report and the shell command AFTER run in its
# working directory (written into the wrapper: conformance.sh runs gpuos with a
# fixed environment).
wrapper() {
    {
        echo '#!/usr/bin/env bash'
        echo 'rep='
        echo 'args=("$@")'
        echo 'for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = --lane-report ] && rep=${args[$((i + 1))]}; done'
        printf '%q "$@"\n' "$gpuos"
        echo 'rc=$?'
        printf 'if [ -n "$rep" ] && [ -f "$rep" ]; then awk -F"\t" -v OFS="\t" %q "$rep" >"$rep.x" && mv "$rep.x" "$rep"; fi\n' "$1"
        echo "${2:-}"
        echo 'exit $rc'
    } >"$work/gpuos"
    chmod +x "$work/gpuos"
}
run_case() { # SPOIL [CASE [AFTER]]: conformance.sh's output for the one case
    wrapper "$1" "${3:-}"
    "$root/scripts/conformance.sh" --gpuos "$work/gpuos" --backend cpu --lanes 3 --filter "^${2:-bb-cat-missing}\$" 2>&1
}

fails=0
# expect NAME SPOIL WANT [CASE [AFTER]]: the case (default bb-cat-missing) must
# FAIL with WANT in its row.
expect() {
    local name=$1 spoil=$2 want=$3 case=${4:-bb-cat-missing} out
    out=$(run_case "$spoil" "$case" "${5:-}")
    if printf '%s\n' "$out" | grep -E "^$case +FAIL " | grep -qF "$want"; then
        echo "selftest: $name: reported ($want)"
    else
        echo "selftest: $name: NOT reported as \"$want\":"
        printf '%s\n' "$out" | sed 's/^/    /' | head -20
        fails=$((fails + 1))
    fi
}
expect 'stdout hash of lane 1' 'NR == 3 { $4 = "00" $4 } { print }' 'stdout of lanes 1'
expect 'stderr hash of lane 2' 'NR == 4 { $6 = "ff" } { print }' 'stderr of lanes 2'
expect 'exit status of lane 1' 'NR == 3 { $2 = 7 } { print }' 'exit status of lanes 1'
expect 'missing lane 2' 'NR != 4 { print }' 'stdout of lanes 2'
# A case that writes files runs each lane in its own directory (--lane-dir).
expect 'a file of lane 1' '{ print }' 'files of lanes 1' bb-cp 'echo x >>lane-1/copy.txt'
expect 'an extra file in lane 2' '{ print }' 'files of lanes 2' bb-cp ': >lane-2/extra'
# And the unspoilt run passes.
if run_case '{ print }' >"$work/ok.log"; then
    echo "selftest: unspoilt run: passed"
else
    echo "selftest: unspoilt run FAILED:"
    sed 's/^/    /' "$work/ok.log" | head -20
    fails=$((fails + 1))
fi
# --shard K/N: the shards of a selection run each of its cases once, and a bad shard
# is refused.
sel='^(hello|exit-42|setjmp|signals|bb-echo)$'
shard_cases() {
    "$root/scripts/conformance.sh" --gpuos "$gpuos" --backend cpu --filter "$sel" --shard "$1" 2>&1 |
        awk '$2 == "PASS" || $2 == "FAIL" || $2 == "SKIP" { print $1 }'
}
all=$(shard_cases 1/1 | sort | tr '\n' ' ')
parts=$( (shard_cases 1/2; shard_cases 2/2) | sort | tr '\n' ' ')
if [ "$all" = "$parts" ] && [ "$(echo "$all" | wc -w)" = 5 ] &&
    ! "$root/scripts/conformance.sh" --gpuos "$gpuos" --backend cpu --shard 3/2 >/dev/null 2>&1; then
    echo "selftest: --shard: 1/2 and 2/2 run the five cases of 1/1 once each, 3/2 refused"
else
    echo "selftest: --shard: 1/1 ran [$all], 1/2 and 2/2 [$parts]"
    fails=$((fails + 1))
fi
[ "$fails" = 0 ] && echo "selftest: all reported" || echo "selftest: $fails not reported"
[ "$fails" = 0 ]
