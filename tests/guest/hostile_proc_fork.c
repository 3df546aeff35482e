// Many children at once: the parent forks N children (argv[1], default 2000), each
// of which _exits at once with a status of its own, then reaps them all with wait4,
// checking that every pid comes back exactly once with its status. The family holds
// N + 1 processes at its largest, so fork, wait and the scheduler's handling of
// ends must not cost in proportion to the family's size (docs/BENCHMARKS.md).
// Optional argv[2] "order" / "reverse": reap with waitpid(pid) in fork order, or
// newest first, instead of -1.
// Compared with qemu-aarch64 by crates/gpuos-cli/tests/cli.rs.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
    int n = argc > 1 ? atoi(argv[1]) : 2000;
    int in_order = argc > 2 && !strcmp(argv[2], "order");
    int reverse = argc > 2 && !strcmp(argv[2], "reverse");
    if (n < 1 || n > 1000000) return 2;
    // pid -> fork index, an open-addressing table (a scan per reap would make the
    // guest itself quadratic).
    unsigned cap = 1;
    while (cap < 2u * (unsigned)n) cap <<= 1;
    pid_t* pids = calloc((size_t)n, sizeof(pid_t));
    char* seen = calloc((size_t)n, 1);
    int* slot_pid = calloc(cap, sizeof(int));
    int* slot_idx = calloc(cap, sizeof(int));
    if (!pids || !seen || !slot_pid || !slot_idx) return 3;
    for (int i = 0; i < n; i++) {
        pid_t c = fork();
        if (c < 0) {
            printf("fork %d failed: %s\n", i, strerror(errno));
            return 4;
        }
        if (c == 0) _exit(i & 0xff);
        pids[i] = c;
        unsigned h = ((unsigned)c * 2654435761u) & (cap - 1);
        while (slot_pid[h]) h = (h + 1) & (cap - 1);
        slot_pid[h] = c;
        slot_idx[h] = i;
    }
    long sum = 0;
    int reaped = 0, bad = 0;
    for (int k = 0; k < n; k++) {
        int st = 0;
        pid_t w = waitpid(in_order ? pids[k] : reverse ? pids[n - 1 - k] : -1, &st, 0);
        if (w < 0) {
            printf("wait %d failed: %s\n", k, strerror(errno));
            return 5;
        }
        unsigned h = ((unsigned)w * 2654435761u) & (cap - 1);
        while (slot_pid[h] && slot_pid[h] != w) h = (h + 1) & (cap - 1);
        int i = slot_pid[h] ? slot_idx[h] : n;
        if (i == n || seen[i] || !WIFEXITED(st) || WEXITSTATUS(st) != (i & 0xff)) bad++;
        else seen[i] = 1;
        sum += WEXITSTATUS(st);
        reaped++;
    }
    pid_t extra = wait(0);
    printf("forked %d, reaped %d, bad %d, status sum %ld, then wait: %d %s\n", n, reaped, bad, sum,
           (int)extra, extra < 0 && errno == ECHILD ? "ECHILD" : "?");
    return bad != 0;
}
