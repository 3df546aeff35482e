# Shared by the device scripts that run EEMBC CoreMark (gpu-tier2.sh,
# gpu-divergence.sh); sourced, not run.

# CoreMark's lines that depend on how long the run took (its own timing, and whether
# it lasted 10 s: under 10 s it counts an error, which for seeds it cannot validate
# brings the count from -1 to 0, "Correct operation validated"; over 10 s it says it
# cannot validate them). Compare outputs without them: grep -vE "$COREMARK_TIMING".
COREMARK_TIMING='Total ticks|Total time|Iterations/Sec|secs|Errors detected|Correct operation validated|Cannot validate|CoreMark 1.0 :'

# qemu_coremark QEMU COREMARK HOW ITERATIONS: 64 processes of COREMARK under QEMU on
# every host core, each ITERATIONS iterations, seed1 0x0 (HOW=same) or the process's
# index (HOW=seeds). Prints "64 x N iterations in S s = R iterations/s".
qemu_coremark() {
    local q=$1 cm=$2 how=$3 it=$4 a b
    a=$(date +%s.%N)
    seq 0 63 | xargs -P "$(nproc)" -I{} sh -c \
        "if [ $how = same ]; then s=0x0; else s=0x{}; fi; $q $cm \$s 0x0 0x66 $it 7 1 2000 >/dev/null"
    b=$(date +%s.%N)
    awk -v a="$a" -v b="$b" -v it="$it" \
        'BEGIN { printf "64 x %d iterations in %.2f s = %.0f iterations/s", it, b - a, 64 * it / (b - a) }'
}
