/* Benchmark workload: syscall round trips. argv[1] iterations of: write 64 bytes to a
 * file in the working directory, lseek back, read them back and compare, then
 * clock_gettime. The file (bench_sys.<pid as 8 hex digits>.tmp, so that every process
 * runs the same instruction count) is removed at the end. Prints
 * "bench_sys iterations=N syscalls=S bytes=B sum=..." and exits 0 only when every read
 * returned what was written and the file had the expected size.
 * With argv[2] = "timing", it also brackets each syscall with clock_gettime and prints
 * on stderr the guest-measured p50/p99 nanoseconds of one syscall (the bracket, which
 * includes a clock_gettime, served on the device) and of a bare clock_gettime pair:
 * "bench_sys timing samples=K p50_ns=.. p99_ns=.. clock_p50_ns=.. clock_p99_ns=..".
 * With argv[3] = "busy" and argv[4] = the lane index (gpuos's {lane}), every lane but
 * lane 0 first computes for a while (about 2,000 instructions per iteration, no
 * syscalls), so that lane 0's round trips are timed with the other lanes busy; then it
 * does the same work as lane 0 and prints the same stdout. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Keeps the busy loop's result alive. */
volatile uint64_t busy_sink;

static void busy(long iters) {
    uint64_t x = 88172645463325252ull;
    for (long i = 0; i < iters * 300; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    busy_sink = x;
}

static int cmp64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, long n, int p) {
    long i = (long)((double)p / 100.0 * (double)(n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 1000;
    int timing = argc > 2 && strcmp(argv[2], "timing") == 0;
    if (argc > 4 && strcmp(argv[3], "busy") == 0 && atol(argv[4]) != 0) {
        timing = 0;  /* only lane 0 times */
        busy(iters);
    }
    char name[32] = "bench_sys.00000000.tmp";
    unsigned pid = (unsigned)getpid();
    for (int k = 0; k < 8; k++) name[10 + k] = "0123456789abcdef"[(pid >> (28 - 4 * k)) & 15];
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) { printf("bench_sys: FAILED open\n"); return 1; }
    int64_t *sys_ns = timing ? malloc(sizeof(int64_t) * 3 * (size_t)(iters + 1)) : NULL;
    int64_t *clk_ns = timing ? malloc(sizeof(int64_t) * (size_t)(iters + 1)) : NULL;
    long ns = 0, nc = 0;
    char buf[64], back[64];
    uint64_t sum = 0, calls = 0;
    struct timespec ts;
    for (long i = 0; i < iters; i++) {
        for (int k = 0; k < 64; k++) buf[k] = (char)(i * 31 + k);
        int64_t t0 = timing ? now_ns() : 0;
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) { printf("bench_sys: FAILED write\n"); return 1; }
        int64_t t1 = timing ? now_ns() : 0;
        if (lseek(fd, -64, SEEK_CUR) < 0) { printf("bench_sys: FAILED lseek\n"); return 1; }
        int64_t t2 = timing ? now_ns() : 0;
        if (read(fd, back, sizeof back) != (ssize_t)sizeof back || memcmp(buf, back, 64)) {
            printf("bench_sys: FAILED read back at %ld\n", i);
            return 1;
        }
        int64_t t3 = timing ? now_ns() : 0;
        if (clock_gettime(CLOCK_MONOTONIC, &ts)) { printf("bench_sys: FAILED clock_gettime\n"); return 1; }
        if (timing) {
            int64_t t4 = now_ns();
            sys_ns[ns++] = t1 - t0;
            sys_ns[ns++] = t2 - t1;
            sys_ns[ns++] = t3 - t2;
            clk_ns[nc++] = t4 - t3;
        }
        calls += 4;
        for (int k = 0; k < 64; k++) sum += (uint8_t)back[k];
    }
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    if (unlink(name)) { printf("bench_sys: FAILED unlink\n"); return 1; }
    if (size != 64 * iters) { printf("bench_sys: FAILED size\n"); return 1; }
    if (timing && ns > 0) {
        qsort(sys_ns, (size_t)ns, sizeof(int64_t), cmp64);
        qsort(clk_ns, (size_t)nc, sizeof(int64_t), cmp64);
        fprintf(stderr, "bench_sys timing samples=%ld p50_ns=%lld p99_ns=%lld clock_p50_ns=%lld clock_p99_ns=%lld\n",
                ns, (long long)pct(sys_ns, ns, 50), (long long)pct(sys_ns, ns, 99),
                (long long)pct(clk_ns, nc, 50), (long long)pct(clk_ns, nc, 99));
    }
    printf("bench_sys iterations=%ld syscalls=%llu bytes=%lld sum=%llu\n", iters,
           (unsigned long long)calls, (long long)size, (unsigned long long)sum);
    return 0;
}
