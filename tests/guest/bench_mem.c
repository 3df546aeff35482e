/* Benchmark workload: a 64 MiB working set (argv[2] MiB when given, a power of two).
 * Each pass streams over the whole buffer (sum, then a copy between its halves) and
 * chases a random cyclic permutation of pointers through it, one hop per 64-byte line.
 * argv[1] passes. Validates the stream sums and that the chase walks the full cycle;
 * prints "bench_mem mib=M passes=N sum=... chase=..." and exits 0 only when valid.
 * The buffer is not freed, so the process's peak memory is its working set. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MIB (1024u * 1024u)

int main(int argc, char **argv) {
    long passes = argc > 1 ? atol(argv[1]) : 1;
    long mib = argc > 2 ? atol(argv[2]) : 64;
    if (mib < 1 || mib > 4096 || (mib & (mib - 1))) { printf("bench_mem: bad size\n"); return 1; }
    const uint64_t WORDS = (uint64_t)mib * MIB / 8u; /* 64-bit words */
    const uint32_t SLOTS = (uint32_t)(WORDS / 8u);   /* one chase slot per 64-byte line */
    long steps = (long)SLOTS;
    uint64_t *w = malloc((size_t)WORDS * 8);
    if (!w) { printf("bench_mem: malloc failed\n"); return 1; }
    /* Random cyclic permutation over the slots (Sattolo's algorithm) stored in the first
     * word of each line; other words hold their index. */
    uint32_t *perm = malloc(SLOTS * sizeof(uint32_t));
    if (!perm) { printf("bench_mem: malloc failed\n"); return 1; }
    for (uint32_t i = 0; i < SLOTS; i++) perm[i] = i;
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (uint32_t i = SLOTS - 1; i > 0; i--) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        uint32_t j = (uint32_t)(s % i);
        uint32_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
    for (uint64_t i = 0; i < WORDS; i++) w[i] = i;
    for (uint32_t i = 0; i < SLOTS; i++) w[(uint64_t)i * 8] = perm[i];
    free(perm);
    uint64_t total = 0, chase_acc = 0;
    for (long p = 0; p < passes; p++) {
        /* Stream: sum of all words; the expected value is known in closed form. */
        uint64_t sum = 0;
        for (uint64_t i = 0; i < WORDS; i++) sum += w[i];
        uint64_t want = 0;
        /* Non-slot words hold i; slot words hold a permutation of 0..SLOTS-1. */
        want = (uint64_t)WORDS * (WORDS - 1) / 2;
        for (uint64_t i = 0; i < SLOTS; i++) want -= i * 8;
        want += (uint64_t)SLOTS * (SLOTS - 1) / 2;
        if (sum != want) { printf("bench_mem: FAILED stream sum pass %ld\n", p); return 1; }
        total += sum;
        /* Streaming copy: second half's non-slot words += 1 then -= 1 (restores). */
        for (uint64_t i = WORDS / 2; i < WORDS; i++) if (i & 7) w[i] = w[i - WORDS / 2] + WORDS / 2 + 1;
        for (uint64_t i = WORDS / 2; i < WORDS; i++) if (i & 7) w[i] -= 1;
        /* Chase: follow the cycle; a full cycle returns to the start. */
        uint64_t cur = 0, visited = 0;
        for (long k = 0; k < steps; k++) {
            cur = w[cur * 8];
            visited += cur;
        }
        if (steps == (long)SLOTS && cur != 0) { printf("bench_mem: FAILED chase cycle pass %ld\n", p); return 1; }
        if (steps == (long)SLOTS && visited != (uint64_t)SLOTS * (SLOTS - 1) / 2) {
            printf("bench_mem: FAILED chase sum pass %ld\n", p);
            return 1;
        }
        chase_acc += visited ^ cur;
    }
    printf("bench_mem mib=%ld passes=%ld sum=%llu chase=%llu\n", mib, passes, (unsigned long long)total,
           (unsigned long long)chase_acc);
    return 0;
}
