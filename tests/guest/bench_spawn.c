/* Benchmark workload: thread spawns (issue 16). argv[1] rounds of: create 8 threads
 * (pthread_create: clone with CLONE_THREAD, set_robust_list, a futex wake or two),
 * each adding its index to a shared sum under a mutex, then join them (futex waits on
 * the CLONE_CHILD_CLEARTID words). Prints "bench_spawn rounds=N threads=T sum=S" and
 * exits 0 only when the sum is right: the bench divides T by the time for spawns/s. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define PER_ROUND 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long sum;

static void *worker(void *arg)
{
    pthread_mutex_lock(&lock);
    sum += (long)arg;
    pthread_mutex_unlock(&lock);
    return arg;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 100;
    pthread_t th[PER_ROUND];
    for (long r = 0; r < rounds; r++) {
        for (long k = 0; k < PER_ROUND; k++)
            if (pthread_create(&th[k], NULL, worker, (void *)k) != 0) return 2;
        for (long k = 0; k < PER_ROUND; k++) pthread_join(th[k], NULL);
    }
    long want = rounds * (PER_ROUND * (PER_ROUND - 1) / 2);
    printf("bench_spawn rounds=%ld threads=%ld sum=%ld\n", rounds, rounds * PER_ROUND, sum);
    return sum == want ? 0 : 1;
}
