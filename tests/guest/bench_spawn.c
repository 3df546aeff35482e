/* Benchmark workload: spawns (issue 16). argv[1] rounds of 8 spawns, of threads
 * (default) or, with argv[2] "fork", of processes:
 * - threads: create 8 threads (pthread_create: clone with CLONE_THREAD,
 *   set_robust_list, a futex wake or two), each adding its index to a shared sum under
 *   a mutex, then join them (futex waits on the CLONE_CHILD_CLEARTID words);
 * - fork: fork 8 children, each ending with _exit(its index), then reap them with
 *   wait4 and add up their exit statuses.
 * With argv[3] = M (fork only), the parent first writes M MiB of heap of its own, as
 * a shell with a large environment or an interpreter holds, which every child reads
 * one page of: what a fork copies or shares grows with it.
 * Prints "bench_spawn rounds=N threads=T sum=S" (or "processes=T") and exits 0 only
 * when the sum is right: the bench divides T by the time for spawns/s. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PER_ROUND 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long sum;
/* The parent's own data (argv[3] MiB), written before the forks; page k holds k % 7. */
static volatile unsigned char *heap;
static size_t heap_pages;

static void *worker(void *arg)
{
    pthread_mutex_lock(&lock);
    sum += (long)arg;
    pthread_mutex_unlock(&lock);
    return arg;
}

static int thread_round(void)
{
    pthread_t th[PER_ROUND];
    for (long k = 0; k < PER_ROUND; k++)
        if (pthread_create(&th[k], NULL, worker, (void *)k) != 0) return 2;
    for (long k = 0; k < PER_ROUND; k++) pthread_join(th[k], NULL);
    return 0;
}

static int fork_round(void)
{
    for (int k = 0; k < PER_ROUND; k++) {
        pid_t pid = fork();
        if (pid < 0) return 2;
        if (pid == 0) _exit(k + (heap_pages ? heap[(size_t)k * 4096 % (heap_pages * 4096)] : 0));
    }
    for (int k = 0; k < PER_ROUND; k++) {
        int status;
        if (wait(&status) < 0 || !WIFEXITED(status)) return 3;
        sum += WEXITSTATUS(status);
    }
    return 0;
}

int main(int argc, char **argv)
{
    long rounds = argc > 1 ? atol(argv[1]) : 100;
    int fork_mode = argc > 2 && strcmp(argv[2], "fork") == 0;
    heap_pages = argc > 3 ? (size_t)atol(argv[3]) * 256 : 0;
    if (heap_pages) {
        heap = malloc(heap_pages * 4096);
        if (!heap) return 4;
        for (size_t k = 0; k < heap_pages; k++) heap[k * 4096] = (unsigned char)(k % 7);
    }
    for (long r = 0; r < rounds; r++) {
        int rc = fork_mode ? fork_round() : thread_round();
        if (rc) return rc;
    }
    long want = 0;
    for (int k = 0; k < PER_ROUND; k++)
        want += k + (fork_mode && heap_pages ? (long)((size_t)k % heap_pages % 7) : 0);
    want *= rounds;
    printf("bench_spawn rounds=%ld %s=%ld sum=%ld\n", rounds, fork_mode ? "processes" : "threads",
           rounds * PER_ROUND, sum);
    return sum == want ? 0 : 1;
}
