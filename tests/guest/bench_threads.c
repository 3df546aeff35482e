/* Benchmark workload: one process's threads computing in parallel (issue 16).
 * argv[1] threads (default 16) each run argv[2] rounds (default 1000) of 1,000 steps of
 * an LCG of their own, summed; the main thread joins them. Prints
 * "bench_threads threads=T rounds=R sum=S" (S the same on every machine, so the
 * bench checks it against qemu's). With spare lanes (gpuos run --spare-lanes) the
 * threads run on lanes of their own: the time for T threads against 1 thread doing
 * the same work per thread says how much of the parallelism gpuos delivers. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAXT 256

static long rounds;
static uint64_t sums[MAXT];

static void *worker(void *arg)
{
    long id = (long)arg;
    uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ull + 1, s = 0;
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < 1000; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            s += x >> 33;
        }
    }
    sums[id] = s;
    return 0;
}

int main(int argc, char **argv)
{
    long threads = argc > 1 ? atol(argv[1]) : 16;
    rounds = argc > 2 ? atol(argv[2]) : 1000;
    if (threads < 1 || threads > MAXT) return 2;
    pthread_t th[MAXT];
    for (long k = 0; k < threads; k++)
        if (pthread_create(&th[k], NULL, worker, (void *)k) != 0) return 2;
    uint64_t all = 0;
    for (long k = 0; k < threads; k++) {
        pthread_join(th[k], NULL);
        all += sums[k];
    }
    printf("bench_threads threads=%ld rounds=%ld sum=%llu\n", threads, rounds, (unsigned long long)all);
    return 0;
}
