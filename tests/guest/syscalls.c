/* syscalls: assorted system calls whose results can be printed
 * deterministically: uname's sysname/machine, ids (compared, not printed),
 * clock_gettime monotonicity, nanosleep, getrandom lengths, sched_yield,
 * getrlimit(RLIMIT_STACK) sanity, prctl name, sysinfo sanity, umask round trip,
 * write/writev to stdout with partial buffers, isatty on a pipe/file, fcntl
 * flags, syncfs, and errno for bad arguments. Exits 0 when the self-checks pass. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s (errno %d)\n", __LINE__, #cond, errno); failures++; } } while (0)

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0); /* every printf is a write() */
    struct utsname u;
    CHECK(uname(&u) == 0);
    printf("uname: sysname=%s machine=%s\n", u.sysname, u.machine);
    printf("ids: uid==euid %d gid==egid %d pid>0 %d ppid>=0 %d tid==pid %d\n", getuid() == geteuid(),
           getgid() == getegid(), getpid() > 0, getppid() >= 0, gettid() == getpid());
    struct timespec a, b, r;
    CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0);
    struct timespec ts = { 0, 2000000 };
    CHECK(nanosleep(&ts, NULL) == 0);
    CHECK(clock_gettime(CLOCK_MONOTONIC, &b) == 0);
    long long dt = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
    printf("monotonic advanced >= 2ms: %d\n", dt >= 2000000);
    CHECK(clock_getres(CLOCK_MONOTONIC, &r) == 0);
    struct timespec rt;
    CHECK(clock_gettime(CLOCK_REALTIME, &rt) == 0);
    printf("realtime after 2020: %d time() agrees: %d\n", rt.tv_sec > 1577836800, (long)time(NULL) - rt.tv_sec <= 1);
    unsigned char rnd[64];
    memset(rnd, 0, sizeof rnd);
    printf("getrandom: %zd ", getrandom(rnd, sizeof rnd, 0));
    int nz = 0;
    for (int i = 0; i < 64; i++) nz += rnd[i] != 0;
    printf("nonzero bytes > 32: %d\n", nz > 32);
    {  /* getrandom: a large draw, two draws differ, the flags, a bad buffer */
        static unsigned char big[9000];  /* several pages, many blocks; small at 100,000 lanes */
        unsigned char a[32], b[32];
        printf("getrandom big: %zd; ", getrandom(big, sizeof big, 0));
        int zero_run = 0, run = 0;
        for (size_t i = 0; i < sizeof big; i++) run = big[i] ? 0 : run + 1, zero_run = run > zero_run ? run : zero_run;
        printf("longest zero run < 8: %d; ", zero_run < 8);
        CHECK(getrandom(a, sizeof a, GRND_NONBLOCK) == 32 && getrandom(b, sizeof b, GRND_INSECURE) == 32);
        printf("two draws differ: %d\n", memcmp(a, b, sizeof a) != 0);
        /* Each call before the printf that shows its errno (argument order is unspecified). */
        errno = 0;
        ssize_t r = getrandom(a, 8, 8);
        printf("getrandom flags 8: %zd %s; ", r, strerrorname_np(errno));
        errno = 0;
        r = getrandom(a, 8, GRND_RANDOM | GRND_INSECURE);
        printf("RANDOM|INSECURE: %zd %s; ", r, strerrorname_np(errno));
        errno = 0;
        r = getrandom(NULL, 16, 0);
        printf("NULL buffer: %zd %s; ", r, strerrorname_np(errno));
        r = getrandom(a, 0, 0);
        printf("zero length: %zd\n", r);
    }
    printf("sched_yield: %d\n", sched_yield());
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_STACK, &rl) == 0);
    printf("stack limit >= 1MiB: %d\n", rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (1 << 20));
    CHECK(prctl(PR_SET_NAME, "gpuos-test", 0, 0, 0) == 0);
    char name[32] = { 0 };
    CHECK(prctl(PR_GET_NAME, name, 0, 0, 0) == 0);
    printf("prctl name: %s\n", name);
    struct sysinfo si;
    CHECK(sysinfo(&si) == 0);
    printf("sysinfo: totalram>0 %d\n", si.totalram > 0);
    mode_t old = umask(027);
    mode_t mid = umask(old);
    printf("umask round trip: %03o\n", (unsigned)mid);
    struct iovec iov[3] = { { "writev ", 7 }, { "to ", 3 }, { "stdout\n", 7 } };
    printf("writev returned %zd\n", writev(1, iov, 3));
    printf("write returned %zd\n", write(1, "raw write\n", 10));
    int fl = fcntl(1, F_GETFL);
    printf("stdout flags valid: %d\n", fl >= 0);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    printf("pipe: isatty=%d cloexec=%d\n", isatty(p[0]), (fcntl(p[0], F_GETFD) & FD_CLOEXEC) != 0);
    CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
    printf("nonblock set: %d\n", (fcntl(p[1], F_GETFL) & O_NONBLOCK) != 0);
    char buf[8];
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    errno = 0;
    printf("empty nonblocking read: %zd EAGAIN=%d\n", read(p[0], buf, sizeof buf), errno == EAGAIN);
    int d = fcntl(p[0], F_DUPFD, 100);
    printf("F_DUPFD >= 100: %d\n", d >= 100);
    close(d);
    close(p[0]);
    close(p[1]);
    errno = 0;
    printf("close(-1): %d EBADF=%d\n", close(-1), errno == EBADF);
    errno = 0;
    static volatile uintptr_t eight = 8;
    printf("write(bad buf): %zd EFAULT=%d\n", write(1, (void *)eight, 4), errno == EFAULT);
    errno = 0;
    printf("open(\"\"): %d ENOENT=%d\n", open("", O_RDONLY), errno == ENOENT);
    // syncfs(2): 0 for an open fd (the filesystem it is on is flushed), EBADF else.
    printf("syncfs(stdout): %d\n", syncfs(1));
    errno = 0;
    printf("syncfs(99): %d EBADF=%d\n", syncfs(99), errno == EBADF);
    errno = 0;
    printf("unknown syscall: %ld ENOSYS=%d\n", syscall(4000), errno == ENOSYS);
    printf("syscalls: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
