/* Benchmark workload: a pipeline of processes (issue 16), shaped like a shell's
 * `seq N | f | f | ... | sum`. argv[1] stages (default 4, at most 16), argv[2] items
 * (default 1000), argv[3] work per item and stage (default 1000 LCG steps):
 * - a feeder child writes the items 1..N as 8-byte words into the first pipe;
 * - each stage child reads a word, runs `work` steps of an LCG seeded with it, and
 *   writes the result to the next pipe;
 * - the parent reads N words from the last pipe, adds them up, reaps every child, and
 *   prints "bench_pipe stages=S items=N work=W sum=X" (X the same on every machine: the
 *   bench checks it against qemu's). Exits 0 when every child exited 0.
 * Every stage computes while the others wait in pipe reads and writes, so with spare
 * lanes (gpuos run --spare-lanes) the stages run side by side, as a shell pipeline's
 * processes run on a machine's cores. Words move with whole-word reads and writes
 * (a pipe delivers writes of up to PIPE_BUF bytes whole, pipe(7)); a short read is
 * completed before the word is used. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STAGES 16

static uint64_t step(uint64_t x, long work)
{
    for (long i = 0; i < work; i++) x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x ^ (x >> 29);
}

/* Read exactly one word; 0 at the end of the pipe, -1 on an error. */
static int read_word(int fd, uint64_t *w)
{
    size_t got = 0;
    while (got < sizeof *w) {
        ssize_t n = read(fd, (char *)w + got, sizeof *w - got);
        if (n == 0) return got ? -1 : 0;
        if (n < 0) return -1;
        got += (size_t)n;
    }
    return 1;
}

static int write_word(int fd, uint64_t w)
{
    return write(fd, &w, sizeof w) == (ssize_t)sizeof w ? 0 : -1;
}

int main(int argc, char **argv)
{
    long stages = argc > 1 ? atol(argv[1]) : 4;
    long items = argc > 2 ? atol(argv[2]) : 1000;
    long work = argc > 3 ? atol(argv[3]) : 1000;
    if (stages < 1 || stages > MAX_STAGES || items < 0 || work < 0) return 2;
    int fds[MAX_STAGES + 1][2];
    for (long k = 0; k <= stages; k++)
        if (pipe(fds[k]) != 0) return 2;
    /* Process k < stages reads pipe k and writes pipe k + 1; the feeder writes pipe 0. */
    for (long k = -1; k < stages; k++) {
        pid_t pid = fork();
        if (pid < 0) return 2;
        if (pid > 0) continue;
        int in = k >= 0 ? fds[k][0] : -1, out = fds[k + 1][1];
        for (long j = 0; j <= stages; j++) {
            if (fds[j][0] != in) close(fds[j][0]);
            if (fds[j][1] != out) close(fds[j][1]);
        }
        if (k < 0) {
            for (long i = 1; i <= items; i++)
                if (write_word(out, (uint64_t)i)) _exit(3);
            _exit(0);
        }
        uint64_t w;
        int r;
        while ((r = read_word(in, &w)) > 0)
            if (write_word(out, step(w, work))) _exit(3);
        _exit(r < 0 ? 4 : 0);
    }
    for (long j = 0; j <= stages; j++) {
        if (j != stages) close(fds[j][0]);
        close(fds[j][1]);
    }
    uint64_t sum = 0, w;
    long n = 0;
    int r;
    while ((r = read_word(fds[stages][0], &w)) > 0) {
        sum += w;
        n++;
    }
    int failed = r < 0 || n != items;
    for (long k = 0; k <= stages; k++) {
        int status;
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = 1;
    }
    printf("bench_pipe stages=%ld items=%ld work=%ld sum=%llu\n", stages, items, work,
           (unsigned long long)sum);
    return failed;
}
