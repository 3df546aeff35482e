/* Benchmark workload: spawns (issue 16). argv[1] rounds of 8 spawns, of threads
 * (default) or, with argv[2] "fork", of processes:
 * - threads: create 8 threads (pthread_create: clone with CLONE_THREAD,
 *   set_robust_list, a futex wake or two), each adding its index to a shared sum under
 *   a mutex, then join them (futex waits on the CLONE_CHILD_CLEARTID words);
 * - fork: fork 8 children, each ending with _exit(its index), then reap them with
 *   wait4 and add up their exit statuses.
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
        if (pid == 0) _exit(k);
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
    for (long r = 0; r < rounds; r++) {
        int rc = fork_mode ? fork_round() : thread_round();
        if (rc) return rc;
    }
    long want = rounds * (PER_ROUND * (PER_ROUND - 1) / 2);
    printf("bench_spawn rounds=%ld %s=%ld sum=%ld\n", rounds, fork_mode ? "processes" : "threads",
           rounds * PER_ROUND, sum);
    return sum == want ? 0 : 1;
}
