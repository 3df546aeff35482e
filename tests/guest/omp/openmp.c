/* openmp: GCC's OpenMP runtime (libgomp, on pthreads and futex) with a fixed team of
 * four threads: a reduction, a critical section, single and barrier, tasks, an
 * ordered loop, and a dynamic schedule. Output is the same whatever the interleaving. */
#include <omp.h>
#include <stdio.h>

static long fib(int n)
{
    if (n < 15) return n < 2 ? n : fib(n - 1) + fib(n - 2);
    long a, b;
#pragma omp task shared(a)
    a = fib(n - 1);
#pragma omp task shared(b)
    b = fib(n - 2);
#pragma omp taskwait
    return a + b;
}

int main(void)
{
    long sum = 0;
    int team = 0;
#pragma omp parallel for num_threads(4) reduction(+ : sum)
    for (long i = 1; i <= 1000000; i++) sum += i % 7 == 0 ? i : 0;
#pragma omp parallel num_threads(4)
    {
#pragma omp single
        team = omp_get_num_threads();
    }
    printf("reduction %ld, team of %d\n", sum, team);

    long hist[4] = { 0, 0, 0, 0 }, crit = 0;
#pragma omp parallel num_threads(4)
    {
        int me = omp_get_thread_num();
        for (int k = 0; k < 1000; k++) {
#pragma omp critical
            crit += k;
        }
#pragma omp barrier
#pragma omp atomic
        hist[me] += 1;
    }
    printf("critical %ld, each thread once: %ld %ld %ld %ld\n", crit, hist[0], hist[1], hist[2], hist[3]);

    long f = 0;
#pragma omp parallel num_threads(4)
#pragma omp single
    f = fib(24);
    printf("tasks: fib(24) = %ld\n", f);

    printf("ordered:");
#pragma omp parallel for ordered schedule(dynamic, 3) num_threads(4)
    for (int i = 0; i < 20; i++) {
#pragma omp ordered
        printf(" %d", i * i);
    }
    printf("\n");

    double dot = 0;
#pragma omp parallel for schedule(guided) reduction(+ : dot) num_threads(4)
    for (int i = 0; i < 4096; i++) dot += (double)i * 0.5;
    printf("guided dot %.1f\n", dot);
    return 0;
}
