// Large reads and writes in ONE call: write(2) to a regular file is short only on a
// full disk or a signal, and read(2) of a regular file only at its end, so a call that
// moves megabytes must move them all (gpuos serves it in chunks of its request buffer:
// kernel/sys/marshal.h). Modes (argv[1]), each with a size in bytes (argv[2]):
//   file N    write, read, pwrite/pread at offsets, writev/readv with large iovecs
//   stdout N  one write of N bytes to fd 1
//   pipe N    one write of N bytes into a pipe; a forked child reads it with one
//             read() and then a loop, and reports what it got
//   crash N   write N bytes to crash.bin in one call, then die by SIGSEGV: the file
//             must hold them all
//   signal N  one write of N bytes into a pipe nobody reads: it blocks once the pipe
//             is full (65,536 bytes), and a signal with a handler then ends it with
//             the bytes written so far (write(2)), not with EINTR or a restart
// Compared with qemu-aarch64 (stdout, status, file effects) by scripts/conformance.sh.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned char pat(size_t i, unsigned seed) { return (unsigned char)(i * 131 + (i >> 12) + seed); }

static unsigned char* pattern(size_t n, unsigned seed) {
    unsigned char* b = malloc(n ? n : 1);
    if (!b) exit(3);
    for (size_t i = 0; i < n; i++) b[i] = pat(i, seed);
    return b;
}

static unsigned long sum(const unsigned char* b, size_t n) {
    unsigned long h = 5381;
    for (size_t i = 0; i < n; i++) h = h * 33 + b[i];
    return h;
}

static void report(const char* what, long got, size_t want) {
    printf("%s: %ld of %zu%s\n", what, got, want, got == (long)want ? "" : " SHORT");
}

static int file_mode(size_t n) {
    unsigned char* w = pattern(n, 1);
    int fd = open("big.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 4;
    report("write", (long)write(fd, w, n), n);
    unsigned char* r = calloc(n + 4096, 1);
    if (!r) return 3;
    lseek(fd, 0, SEEK_SET);
    // One read of more than the file holds: everything, then 0 at the end.
    long got = (long)read(fd, r, n + 4096);
    report("read", got, n);
    printf("read matches: %s\n", got == (long)n && !memcmp(r, w, n) ? "yes" : "NO");
    printf("read at end: %ld\n", (long)read(fd, r, n));
    // pwrite and pread at an odd offset, past the end: the file grows, the offset stays.
    off_t at = 12345;
    unsigned char* w2 = pattern(n, 2);
    report("pwrite", (long)pwrite(fd, w2, n, at), n);
    memset(r, 0, n);
    got = (long)pread(fd, r, n, at);
    report("pread", got, n);
    printf("pread matches: %s, offset now %ld\n", !memcmp(r, w2, n) ? "yes" : "NO", (long)lseek(fd, 0, SEEK_CUR));
    // writev of several large iovecs (sizes that do not divide the buffer evenly).
    size_t part[4] = {n / 3, 1, n / 2, n - n / 3 - 1 - n / 2};
    struct iovec iov[4];
    size_t o = 0;
    for (int k = 0; k < 4; k++) {
        iov[k].iov_base = w + o;
        iov[k].iov_len = part[k];
        o += part[k];
    }
    lseek(fd, 7, SEEK_SET);
    report("writev", (long)writev(fd, iov, 4), n);
    lseek(fd, 7, SEEK_SET);
    memset(r, 0, n);
    o = 0;
    for (int k = 0; k < 4; k++) {
        iov[k].iov_base = r + o;
        o += part[k];
    }
    got = (long)readv(fd, iov, 4);
    report("readv", got, n);
    printf("readv matches: %s, offset now %ld\n", !memcmp(r, w, n) ? "yes" : "NO", (long)lseek(fd, 0, SEEK_CUR));
    // The whole file in one read: its size and checksum.
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char* all = malloc((size_t)size);
    if (!all) return 3;
    got = (long)pread(fd, all, (size_t)size, 0);
    printf("file: %ld bytes, pread %ld, sum %lu\n", (long)size, got, sum(all, (size_t)size));
    close(fd);
    return 0;
}

static int pipe_mode(size_t n) {
    int p[2];
    if (pipe(p)) return 4;
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        unsigned char* r = malloc(n + 1);
        if (!r) _exit(3);
        // One read returns what the pipe holds, at most its capacity: never all of n
        // when n is larger, and never nothing.
        long first = (long)read(p[0], r, n);
        size_t total = first > 0 ? (size_t)first : 0;
        long k;
        while ((k = (long)read(p[0], r + total, n + 1 - total)) > 0) total += (size_t)k;
        int ok = first > 0 && first <= 65536 && total == n;
        unsigned char* w = pattern(n, 3);
        printf("child: first read %s, total %zu, data %s\n", ok ? "in range" : "OUT OF RANGE", total,
               !memcmp(r, w, n) ? "matches" : "DIFFERS");
        fflush(stdout);
        _exit(0);
    }
    close(p[0]);
    unsigned char* w = pattern(n, 3);
    long wrote = (long)write(p[1], w, n);
    close(p[1]);
    int st = 0;
    waitpid(c, &st, 0);
    report("pipe write", wrote, n);
    printf("child status %d\n", st);
    return 0;
}

static volatile int got_usr1;
static void on_usr1(int sig) { got_usr1 = sig; }

static int signal_mode(size_t n) {
    int p[2];
    if (pipe(p)) return 4;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, 0);
    pid_t parent = getpid();
    unsigned char* w = pattern(n, 6);
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        usleep(200000);  // the parent is blocked in its write by now
        kill(parent, SIGUSR1);
        _exit(0);
    }
    long wrote = (long)write(p[1], w, n);
    printf("write into a full pipe, interrupted: %ld (handler ran: %s)\n", wrote, got_usr1 ? "yes" : "no");
    int st = 0;
    waitpid(c, &st, 0);
    unsigned char* r = malloc(n);
    long got = 0, k;
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    while ((k = (long)read(p[0], r + got, n - (size_t)got)) > 0) got += k;
    printf("pipe held %ld bytes, %s\n", got, got == wrote && !memcmp(r, w, (size_t)got) ? "the ones written" : "WRONG");
    return 0;
}

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    size_t n = strtoul(argv[2], 0, 0);
    setvbuf(stdout, 0, _IONBF, 0);
    if (!strcmp(argv[1], "file")) return file_mode(n);
    if (!strcmp(argv[1], "pipe")) return pipe_mode(n);
    if (!strcmp(argv[1], "signal")) return signal_mode(n);
    if (!strcmp(argv[1], "stdout")) {
        unsigned char* w = pattern(n, 4);
        long got = (long)write(1, w, n);
        fprintf(stderr, "stdout write: %ld of %zu\n", got, n);
        return got == (long)n ? 0 : 1;
    }
    if (!strcmp(argv[1], "crash")) {
        unsigned char* w = pattern(n, 5);
        int fd = open("crash.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) return 4;
        (void)!write(fd, w, n);
        raise(SIGSEGV);
        return 9;
    }
    return 2;
}
