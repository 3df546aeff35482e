/* syscalls2: the syscalls that real programs need beyond the basics (issue 15 item 7),
 * each with its success and error cases: flock, fadvise64, fallocate, close_range,
 * memfd_create, preadv/pwritev and their *2 forms, getgroups, the xattr reads,
 * setpgid/getsid, getpriority/setpriority, mlock/munlock, msync, mincore, waitid,
 * pselect6, copy_file_range and splice; clone's CLONE_CHILD_SETTID for a fork. Prints results that qemu-aarch64 and gpuos must
 * agree on (no pids, no times). Writes its files in the working directory. Usage:
 * syscalls2 [SECTION...]. Exits 0 when the self-checks pass. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s (errno %d)\n", __LINE__, #cond, errno); failures++; } } while (0)

/* Print "what: ret" or "what: -1 ENAME" for a call that returns -1 and sets errno. */
static void show(const char *what, long r)
{
    if (r == -1) printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else printf("%s: %ld\n", what, r);
}
#define SHOW(expr) do { errno = 0; show(#expr, (long)(expr)); } while (0)

static void sleep_ms(long ms)
{
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, NULL);
}

static void test_flock(void)
{
    printf("-- flock\n");
    int a = open("lockfile", O_RDWR | O_CREAT, 0644), b = open("lockfile", O_RDWR);
    CHECK(a >= 0 && b >= 0);
    SHOW(flock(a, LOCK_EX));
    SHOW(flock(b, LOCK_EX | LOCK_NB));
    SHOW(flock(b, LOCK_SH | LOCK_NB));
    SHOW(flock(a, LOCK_UN));
    SHOW(flock(b, LOCK_SH | LOCK_NB));
    SHOW(flock(a, LOCK_SH | LOCK_NB));
    SHOW(flock(a, LOCK_EX | LOCK_NB));
    SHOW(flock(b, LOCK_UN));
    SHOW(flock(a, LOCK_EX | LOCK_NB));
    SHOW(flock(a, 0));
    SHOW(flock(a, LOCK_SH | LOCK_EX));
    SHOW(flock(99, LOCK_SH));
    int p[2];
    CHECK(pipe(p) == 0);
    SHOW(flock(p[0], LOCK_EX));
    close(p[0]);
    close(p[1]);
    /* A blocking lock waits until the holder lets go: the child's line comes second. */
    pid_t c = fork();
    if (c == 0) {
        int d = open("lockfile", O_RDWR);
        int r = flock(d, LOCK_EX);
        printf("child: flock(LOCK_EX) after the wait: %d\n", r);
        _exit(0);
    }
    sleep_ms(50);
    printf("parent: unlocking\n");
    int r = flock(a, LOCK_UN);
    int st;
    CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st));
    printf("parent: flock(LOCK_UN) was %d\n", r); /* after the child's line */
    close(a);
    close(b);
}

static void test_fadvise_fallocate(void)
{
    printf("-- fadvise64, fallocate\n");
    int fd = open("alloc", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    for (int adv = 0; adv <= 5; adv++) printf("fadvise advice %d: %ld\n", adv, syscall(SYS_fadvise64, fd, 0L, 4096L, adv));
    SHOW(syscall(SYS_fadvise64, fd, 0L, 4096L, 99));
    SHOW(syscall(SYS_fadvise64, fd, 0L, -1L, 0));
    SHOW(syscall(SYS_fadvise64, 99, 0L, 0L, 0));
    int p[2];
    CHECK(pipe(p) == 0);
    SHOW(syscall(SYS_fadvise64, p[0], 0L, 0L, 0));
    SHOW(fallocate(fd, 0, 0, 10000));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("size after fallocate: %lld\n", (long long)st.st_size);
    SHOW(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 20000));
    CHECK(fstat(fd, &st) == 0);
    printf("size after KEEP_SIZE: %lld\n", (long long)st.st_size);
    SHOW(fallocate(fd, 0, -1, 10));
    SHOW(fallocate(fd, 0, 0, 0));
    SHOW(fallocate(99, 0, 0, 10));
    SHOW(fallocate(p[1], 0, 0, 10));
    int ro = open("alloc", O_RDONLY);
    SHOW(fallocate(ro, 0, 0, 10));
    close(ro);
    close(p[0]);
    close(p[1]);
    close(fd);
}

static void test_close_range(void)
{
    printf("-- close_range\n");
    for (int fd = 10; fd <= 12; fd++) CHECK(dup2(1, fd) == fd);
    CHECK(dup2(1, 20) == 20);
    SHOW(syscall(SYS_close_range, 10, 12, 0));
    SHOW(fcntl(10, F_GETFD));
    SHOW(fcntl(12, F_GETFD));
    SHOW(fcntl(20, F_GETFD));
    SHOW(syscall(SYS_close_range, 20, 20, 4 /* CLOSE_RANGE_CLOEXEC */));
    SHOW(fcntl(20, F_GETFD));
    SHOW(syscall(SYS_close_range, 5, 4, 0));
    SHOW(syscall(SYS_close_range, 10, 12, 0x80));
    SHOW(syscall(SYS_close_range, 20, ~0U, 0));
    SHOW(fcntl(20, F_GETFD));
    SHOW(fcntl(1, F_GETFD));
}

static void test_memfd(void)
{
    printf("-- memfd_create\n");
    int fd = memfd_create("gpuos-test", MFD_CLOEXEC);
    CHECK(fd >= 0);
    SHOW(write(fd, "hello memfd", 11));
    SHOW(lseek(fd, 6, SEEK_SET));
    char buf[32] = { 0 };
    SHOW(read(fd, buf, sizeof buf));
    printf("read back: %s\n", buf);
    SHOW(ftruncate(fd, 4096));
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    printf("size %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    SHOW(pread(fd, buf, 4, 0));
    printf("pread: %.4s\n", buf);
    SHOW(fcntl(fd, F_GETFD));
    SHOW(fcntl(fd, F_GETFL) & O_ACCMODE);
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    if (n >= 0) buf[n] = 0;
    printf("link: %s\n", n >= 0 ? buf : "?");
    close(fd);
    SHOW(memfd_create("x", 0x100));
    char longname[300];
    memset(longname, 'n', sizeof longname);
    longname[250] = 0;
    SHOW(memfd_create(longname, 0));
    int plain = memfd_create("plain", 0);
    SHOW(fcntl(plain, F_GETFD));
    close(plain);
}

static unsigned sum(const unsigned char *p, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

static void test_preadv(void)
{
    printf("-- preadv, pwritev, preadv2, pwritev2\n");
    int fd = open("vec", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    struct iovec w[2] = { { "hello ", 6 }, { "world", 5 } };
    SHOW(pwritev(fd, w, 2, 100));
    SHOW(lseek(fd, 0, SEEK_CUR));
    char a[5], b[7] = { 0 };
    struct iovec r[2] = { { a, 5 }, { b, 6 } };
    SHOW(preadv(fd, r, 2, 100));
    printf("preadv: %.5s|%s\n", a, b);
    SHOW(preadv(fd, r, 2, 108));
    SHOW(preadv(fd, r, 2, 5000));
    SHOW(preadv(fd, r, 2, -1));
    SHOW(pwritev(fd, w, 2, -5));
    SHOW(preadv(99, r, 2, 0));
    volatile int minus1 = -1;
    SHOW(preadv(fd, r, minus1, 0));
    int p[2];
    CHECK(pipe(p) == 0);
    SHOW(pwritev(p[1], w, 2, 0));
    close(p[0]);
    close(p[1]);
    /* *2: offset -1 is the file's own, which moves; flags other than 0 are refused. */
    SHOW(lseek(fd, 100, SEEK_SET));
    SHOW(preadv2(fd, r, 1, -1, 0));
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(preadv2(fd, r, 2, 100, 0));
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(pwritev2(fd, w, 1, -1, 0));
    SHOW(lseek(fd, 0, SEEK_CUR));
    SHOW(pwritev2(fd, w + 1, 1, 0, 0));
    SHOW(preadv2(fd, r, 2, 0, 0x1000));
    SHOW(pwritev2(fd, w, 2, 0, 0x1000));
    char all[128] = { 0 };
    SHOW(pread(fd, all, sizeof all, 0));
    printf("start: %.5s at 100: %.17s\n", all, all + 100);
    /* Larger than one host request: moved whole, at the right offsets. */
    size_t big = 3 << 19;
    unsigned char *src = malloc(big), *dst = malloc(big);
    for (size_t i = 0; i < big; i++) src[i] = (unsigned char)(i * 7 + (i >> 12));
    struct iovec bw[3] = { { src, 1000 }, { src + 1000, big / 2 }, { src + 1000 + big / 2, big / 2 - 1000 } };
    SHOW(pwritev(fd, bw, 3, 4096));
    memset(dst, 0, big);
    struct iovec br[2] = { { dst, 12345 }, { dst + 12345, big - 12345 } };
    SHOW(preadv(fd, br, 2, 4096));
    printf("big round trip equal: %d sum %08x\n", memcmp(src, dst, big) == 0, sum(dst, big));
    free(src);
    free(dst);
    close(fd);
}

static void test_groups(void)
{
    printf("-- getgroups\n");
    int n = getgroups(0, NULL);
    printf("count >= 0: %d\n", n >= 0);
    gid_t g[256];
    CHECK(getgroups(256, g) == n);
    volatile int minus1 = -1;
    SHOW(getgroups(minus1, g));
    if (n >= 2) CHECK(getgroups(1, g) == -1 && errno == EINVAL);
}

/* ENODATA and EOPNOTSUPP both say the file has no such attribute. */
static void show_xattr(const char *what, long r)
{
    if (r == -1 && (errno == ENODATA || errno == EOPNOTSUPP)) printf("%s: none\n", what);
    else show(what, r);
}
#define SHOWX(expr) do { errno = 0; show_xattr(#expr, (long)(expr)); } while (0)

static void test_xattr(void)
{
    printf("-- xattr reads\n");
    int fd = open("xfile", O_RDWR | O_CREAT, 0644);
    CHECK(fd >= 0);
    CHECK(symlink("xfile", "xlink") == 0);
    char buf[256];
    SHOWX(getxattr("xfile", "user.gpuos", buf, sizeof buf));
    SHOWX(getxattr("xlink", "user.gpuos", buf, 0));
    SHOWX(lgetxattr("xfile", "user.gpuos", buf, sizeof buf));
    SHOWX(fgetxattr(fd, "user.gpuos", buf, sizeof buf));
    SHOWX(getxattr("missing", "user.gpuos", buf, sizeof buf));
    SHOWX(lgetxattr("missing", "user.gpuos", buf, sizeof buf));
    SHOWX(getxattr("xfile/sub", "user.gpuos", buf, sizeof buf));
    SHOWX(getxattr("xfile", "", buf, sizeof buf));
    SHOWX(fgetxattr(99, "user.gpuos", buf, sizeof buf));
    SHOW(listxattr("xfile", buf, sizeof buf));
    SHOW(listxattr("xfile", NULL, 0));
    SHOW(llistxattr("xlink", buf, sizeof buf));
    SHOW(flistxattr(fd, buf, sizeof buf));
    SHOW(listxattr("missing", buf, sizeof buf));
    SHOW(llistxattr("missing", buf, sizeof buf));
    SHOW(flistxattr(99, buf, sizeof buf));
    close(fd);
}


static void test_pgid_sid(void)
{
    printf("-- setpgid, getsid\n");
    SHOW(setpgid(0, 0));
    printf("getpgid(0) == getpid(): %d\n", getpgid(0) == getpid());
    SHOW(setpgid(getpid(), 0));
    SHOW(setpgid(0, getpid()));
    SHOW(setpgid(0, -1));
    SHOW(setpgid(-1, 0));
    SHOW(setpgid(1 << 30, 0));
    pid_t sid = getsid(0);
    /* (Not sid > 0: in a PID namespace whose session leader is outside it, as in a
     * container, Linux answers 0, so the value depends on where the test runs.) */
    printf("getsid(0) >= 0: %d, == getsid(getpid()): %d\n", sid >= 0, getsid(getpid()) == sid);
    SHOW(getsid(1 << 30));
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t c = fork();
    if (c == 0) {
        char x;
        close(p[1]);
        read(p[0], &x, 1);
        _exit(0);
    }
    printf("child's session is ours: %d\n", getsid(c) == sid);
    SHOW(setpgid(c, c));
    printf("getpgid(child) == child: %d\n", getpgid(c) == c);
    close(p[1]);
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    close(p[0]);
}

static void test_priority(void)
{
    printf("-- getpriority, setpriority\n");
    errno = 0;
    int p0 = getpriority(PRIO_PROCESS, 0);
    CHECK(errno == 0);
    printf("raw getpriority is 20 - nice: %d\n", syscall(SYS_getpriority, PRIO_PROCESS, 0) == 20 - p0);
    SHOW(setpriority(PRIO_PROCESS, 0, p0 + 5));
    printf("nice - start: %d\n", getpriority(PRIO_PROCESS, 0) - p0);
    printf("by pid: %d\n", getpriority(PRIO_PROCESS, getpid()) - p0);
    /* (PRIO_PGRP is left out: qemu's own threads, at the old nice, are in the group.) */
    pid_t c = fork();
    if (c == 0) {
        printf("child inherits: %d\n", getpriority(PRIO_PROCESS, 0) - p0);
        _exit(0);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    SHOW(setpriority(PRIO_PROCESS, 0, 100));
    printf("clamped to 19: %d\n", getpriority(PRIO_PROCESS, 0) == 19);
    errno = 0;
    int r = setpriority(PRIO_PROCESS, 0, p0);
    /* Raising needs privilege: root may, others get EACCES (same answer for both). */
    printf("raise back: %s\n", r == 0 ? (geteuid() == 0 ? "ok as root" : "ok?") : (geteuid() != 0 && errno == EACCES ? "EACCES as non-root" : strerrorname_np(errno)));
    SHOW(getpriority(5, 0));
    SHOW(setpriority(5, 0, 0));
    SHOW(getpriority(PRIO_PROCESS, 1 << 30));
    SHOW(setpriority(PRIO_PROCESS, 1 << 30, 0));
}

static void test_mm(void)
{
    printf("-- mlock, munlock, msync, mincore\n");
    long pg = sysconf(_SC_PAGESIZE);
    unsigned char *m = mmap(NULL, 8 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED);
    CHECK(munmap(m + 6 * pg, pg) == 0); /* a hole at page 6 */
    m[0] = 1;
    m[2 * pg + 5] = 1;
    m[5 * pg] = 1;
    unsigned char vec[8];
    memset(vec, 9, sizeof vec);
    SHOW(mincore(m, 6 * pg, vec));
    printf("resident:");
    for (int i = 0; i < 6; i++) printf(" %d", vec[i] & 1);
    printf("\n");
    SHOW(mincore(m, 5 * pg + 1, vec));
    SHOW(mincore(m + 1, pg, vec));
    SHOW(mincore(m, 8 * pg, vec));
    printf("before the hole:");
    for (int i = 0; i < 6; i++) printf(" %d", vec[i] & 1);
    printf("\n");
    SHOW(mincore(m, 0, vec));
    SHOW(mincore(m, pg, NULL));
    SHOW(msync(m, 2 * pg, MS_SYNC));
    SHOW(msync(m, 2 * pg, MS_ASYNC | MS_INVALIDATE));
    SHOW(msync(m + 1, pg, MS_SYNC));
    SHOW(msync(m, pg, MS_SYNC | MS_ASYNC));
    SHOW(msync(m, pg, 0x40));
    SHOW(msync(m, 8 * pg, MS_SYNC));
    SHOW(msync(m + 6 * pg, 0, MS_SYNC));
    SHOW(mlock(m, 2 * pg));
    SHOW(munlock(m, 2 * pg));
    SHOW(mlock(m + 1, 10));
    SHOW(munlock(m + 1, 10));
    SHOW(mlock(m, 8 * pg));
    SHOW(munlock(m + 6 * pg, pg));
    SHOW(mlock(m, 0));
    CHECK(munmap(m, 6 * pg) == 0);
    CHECK(munmap(m + 7 * pg, pg) == 0);
}

static void show_siginfo(const char *what, int r, const siginfo_t *si, pid_t expect)
{
    if (r == -1) printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else
        /* With WNOHANG and nothing to report the rest is the implementation's (waitid(2)). */
        printf("%s: %d signo %d code %d pid %s uid==getuid %d status %d\n", what, r, si->si_signo, si->si_code,
               si->si_pid == 0 ? "0" : si->si_pid == expect ? "child" : "other", si->si_uid == getuid(),
               si->si_pid ? si->si_status : 0);
}
#define WAITID(what, idtype, id, opt, expect) do { siginfo_t si; memset(&si, 0x55, sizeof si); errno = 0; int r_ = waitid(idtype, id, &si, opt); show_siginfo(what, r_, &si, expect); } while (0)

/* clone(2) as fork with CLONE_CHILD_SETTID (glibc's fork passes it, with its TCB's
 * tid): the child finds its pid at child_tid in its own memory while the parent's copy
 * keeps its value. (Not CLONE_PARENT_SETTID: for a fork qemu-user stores the child's
 * tid in the child's memory, Linux the child's pid in the parent's.) */
static volatile pid_t settid_child;
static void test_settid(void)
{
    printf("-- settid\n");
    settid_child = -7;
    long r = syscall(SYS_clone, (long)(CLONE_CHILD_SETTID | SIGCHLD), 0L, (pid_t *)0, 0L, (pid_t *)&settid_child);
    if (r == 0) {
        printf("child: child_tid is its pid %d\n", settid_child == getpid());
        _exit(0);
    }
    CHECK(r > 0);
    int st = -1;
    CHECK(waitpid((pid_t)r, &st, 0) == (pid_t)r);
    printf("parent: child_tid %d, child exit %d\n", (int)settid_child, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void test_waitid(void)
{
    printf("-- waitid\n");
    WAITID("no children", P_ALL, 0, WEXITED, 0);
    pid_t a = fork();
    if (a == 0) _exit(7);
    WAITID("P_PID WEXITED|WNOWAIT", P_PID, a, WEXITED | WNOWAIT, a);
    WAITID("P_PID WEXITED", P_PID, a, WEXITED, a);
    WAITID("reaped", P_PID, a, WEXITED, a);
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t b = fork();
    if (b == 0) {
        char x;
        close(p[1]);
        read(p[0], &x, 1);
        _exit(3);
    }
    WAITID("P_ALL WNOHANG running", P_ALL, 0, WEXITED | WNOHANG, b);
    close(p[1]);
    WAITID("P_ALL blocks", P_ALL, 0, WEXITED, b);
    close(p[0]);
    pid_t k = fork();
    if (k == 0) {
        for (;;) pause();
    }
    kill(k, SIGKILL);
    WAITID("P_PGID killed", P_PGID, 0, WEXITED, k);
    WAITID("no options", P_ALL, 0, 0, 0);
    WAITID("bad idtype", 7, 0, WEXITED, 0);
    WAITID("P_PID 0", P_PID, 0, WEXITED, 0);
    WAITID("P_PGID -1", P_PGID, -1, WEXITED, 0);
    WAITID("bad option", P_ALL, 0, WEXITED | 0x100, 0);
    pid_t s = fork();
    if (s == 0) _exit(0);
    WAITID("WSTOPPED only, WNOHANG", P_PID, s, WSTOPPED | WNOHANG, s);
    WAITID("then WEXITED", P_PID, s, WEXITED, s);
}

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

static void test_select(void)
{
    printf("-- pselect6 (select, pselect)\n");
    int p[2];
    CHECK(pipe(p) == 0);
    fd_set r, w, e;
    struct timeval zero = { 0, 0 };
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(select(p[0] + 1, &r, NULL, NULL, &zero));
    printf("empty pipe readable: %d\n", FD_ISSET(p[0], &r));
    CHECK(write(p[1], "x", 1) == 1);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(select(p[0] + 1, &r, NULL, NULL, &zero));
    printf("readable: %d\n", FD_ISSET(p[0], &r));
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET(p[0], &r);
    FD_SET(p[1], &r);
    FD_SET(p[0], &w);
    FD_SET(p[1], &w);
    FD_SET(p[0], &e);
    int n = p[1] + 1;
    SHOW(select(n, &r, &w, &e, &zero));
    printf("r %d%d w %d%d e %d\n", FD_ISSET(p[0], &r), FD_ISSET(p[1], &r), FD_ISSET(p[0], &w), FD_ISSET(p[1], &w),
           FD_ISSET(p[0], &e));
    struct timespec ts0 = { 0, 0 };
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(pselect(p[0] + 1, &r, NULL, NULL, &ts0, NULL));
    FD_ZERO(&r);
    FD_SET(50, &r);
    SHOW(select(51, &r, NULL, NULL, &zero));
    volatile int minus1 = -1;
    SHOW(select(minus1, NULL, NULL, NULL, &zero));
    struct timeval bad = { 0, -1 };
    SHOW(select(0, NULL, NULL, NULL, &bad));
    /* A ready descriptor answers at once; the timeout keeps the time left. */
    struct timeval five = { 5, 0 };
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(select(p[0] + 1, &r, NULL, NULL, &five));
    printf("time left in (4s, 5s]: %d\n", five.tv_sec == 4 || (five.tv_sec == 5 && five.tv_usec == 0));
    long long t = now_ms();
    struct timeval ms30 = { 0, 30000 };
    SHOW(select(0, NULL, NULL, NULL, &ms30));
    printf("timeout waited >= 30 ms: %d, left 0: %d\n", now_ms() - t >= 30, ms30.tv_sec == 0 && ms30.tv_usec == 0);
    char c;
    CHECK(read(p[0], &c, 1) == 1);
    /* Blocking until another process writes. */
    pid_t k = fork();
    if (k == 0) {
        sleep_ms(30);
        write(p[1], "y", 1);
        _exit(0);
    }
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(select(p[0] + 1, &r, NULL, NULL, NULL));
    printf("readable after the write: %d\n", FD_ISSET(p[0], &r));
    int st;
    CHECK(waitpid(k, &st, 0) == k);
    CHECK(read(p[0], &c, 1) == 1);
    close(p[1]);
    FD_ZERO(&r);
    FD_SET(p[0], &r);
    SHOW(select(p[0] + 1, &r, NULL, NULL, NULL));
    printf("end of file readable: %d\n", FD_ISSET(p[0], &r));
    close(p[0]);
}

static void test_copy_range(void)
{
    printf("-- copy_file_range\n");
    int src = open("cfsrc", O_RDWR | O_CREAT | O_TRUNC, 0644);
    unsigned char buf[10000];
    for (int i = 0; i < 10000; i++) buf[i] = (unsigned char)(i * 13 + (i >> 8));
    CHECK(write(src, buf, sizeof buf) == (ssize_t)sizeof buf);
    close(src);
    int in = open("cfsrc", O_RDONLY), in2 = open("cfsrc", O_RDONLY);
    int out = open("cfdst", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(in >= 0 && in2 >= 0 && out >= 0);
    SHOW(copy_file_range(in, NULL, out, NULL, 4000, 0));
    SHOW(lseek(in, 0, SEEK_CUR));
    SHOW(lseek(in2, 0, SEEK_CUR));
    SHOW(lseek(out, 0, SEEK_CUR));
    loff_t oi = 100, oo = 8000;
    SHOW(copy_file_range(in, &oi, out, &oo, 500, 0));
    printf("offsets now %lld %lld, file offsets %lld %lld\n", (long long)oi, (long long)oo,
           (long long)lseek(in, 0, SEEK_CUR), (long long)lseek(out, 0, SEEK_CUR));
    oi = 9990;
    SHOW(copy_file_range(in, &oi, out, NULL, 100, 0));
    printf("in offset %lld\n", (long long)oi);
    oi = 10000;
    SHOW(copy_file_range(in, &oi, out, NULL, 100, 0));
    SHOW(copy_file_range(in2, NULL, out, &oo, 100000, 0));
    printf("out offset %lld, in2 at %lld\n", (long long)oo, (long long)lseek(in2, 0, SEEK_CUR));
    SHOW(copy_file_range(in, NULL, out, NULL, 10, 1));
    SHOW(copy_file_range(99, NULL, out, NULL, 10, 0));
    SHOW(copy_file_range(in, NULL, in2, NULL, 10, 0));
    oi = -1;
    SHOW(copy_file_range(in, &oi, out, NULL, 10, 0));
    int app = open("cfdst", O_WRONLY | O_APPEND);
    SHOW(copy_file_range(in, NULL, app, NULL, 10, 0));
    close(app);
    int d = open(".", O_RDONLY | O_DIRECTORY);
    SHOW(copy_file_range(d, NULL, out, NULL, 10, 0));
    close(d);
    struct stat st;
    CHECK(fstat(out, &st) == 0);
    unsigned char got[20000];
    ssize_t n = pread(out, got, sizeof got, 0);
    printf("dst size %lld read %zd sum %08x\n", (long long)st.st_size, n, sum(got, n > 0 ? n : 0));
    close(in);
    close(in2);
    close(out);
}

static void test_splice(void)
{
    printf("-- splice\n");
    int src = open("spsrc", O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(write(src, "0123456789abcdef", 16) == 16);
    CHECK(lseek(src, 0, SEEK_SET) == 0);
    int out = open("spout", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int p[2], q[2];
    CHECK(pipe(p) == 0 && pipe(q) == 0);
    loff_t off = 4;
    SHOW(splice(src, &off, p[1], NULL, 6, 0));
    printf("offset %lld, file offset %lld\n", (long long)off, (long long)lseek(src, 0, SEEK_CUR));
    SHOW(splice(src, NULL, p[1], NULL, 3, 0));
    SHOW(lseek(src, 0, SEEK_CUR));
    SHOW(splice(p[0], NULL, out, NULL, 100, 0));
    loff_t oo = 100;
    SHOW(splice(p[0], NULL, out, &oo, 5, SPLICE_F_NONBLOCK));
    SHOW(splice(src, NULL, out, NULL, 5, 0));
    SHOW(splice(p[0], &off, out, NULL, 5, 0));
    SHOW(splice(src, NULL, p[1], NULL, 5, 0x100));
    SHOW(splice(99, NULL, p[1], NULL, 5, 0));
    SHOW(splice(src, NULL, p[1], NULL, 0, 0));
    CHECK(write(p[1], "hello", 5) == 5);
    SHOW(splice(p[0], NULL, q[1], NULL, 100, 0));
    char buf[64] = { 0 };
    SHOW(read(q[0], buf, sizeof buf - 1));
    printf("through two pipes: %s\n", buf);
    int ro = open("spsrc", O_RDONLY);
    CHECK(write(p[1], "x", 1) == 1);
    SHOW(splice(p[0], NULL, ro, NULL, 1, 0));
    SHOW(read(p[0], buf, 1));
    close(ro);
    /* An empty pipe makes splice wait for a writer. */
    pid_t k = fork();
    if (k == 0) {
        sleep_ms(30);
        write(p[1], "abc", 3);
        _exit(0);
    }
    oo = 200;
    SHOW(splice(p[0], NULL, out, &oo, 100, 0));
    int st;
    CHECK(waitpid(k, &st, 0) == k);
    signal(SIGPIPE, SIG_IGN);
    close(q[0]);
    SHOW(splice(src, NULL, q[1], NULL, 5, 0));
    signal(SIGPIPE, SIG_DFL);
    memset(buf, 0, sizeof buf);
    ssize_t n = pread(out, buf, 9, 0);
    printf("out starts: %.*s, size %lld\n", (int)n, buf, (long long)lseek(out, 0, SEEK_END));
    close(p[0]);
    close(p[1]);
    close(q[1]);
    close(src);
    close(out);
}

static void test_sock(void)
{
    printf("-- getsockname, getpeername on what is not a socket\n");
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    int fd = open(".", O_RDONLY | O_DIRECTORY);
    SHOW(getpeername(fd, (struct sockaddr *)&sa, &len));
    SHOW(getsockname(fd, (struct sockaddr *)&sa, &len));
    SHOW(getpeername(99, (struct sockaddr *)&sa, &len));
    int p[2];
    CHECK(pipe(p) == 0);
    SHOW(getsockname(p[0], (struct sockaddr *)&sa, &len));
    close(p[0]);
    close(p[1]);
    close(fd);
}

static const struct {
    const char *name;
    void (*run)(void);
} sections[] = {
    { "flock", test_flock },
    { "fadvise", test_fadvise_fallocate },
    { "close_range", test_close_range },
    { "memfd", test_memfd },
    { "preadv", test_preadv },
    { "groups", test_groups },
    { "xattr", test_xattr },
    { "pgid", test_pgid_sid },
    { "priority", test_priority },
    { "mm", test_mm },
    { "waitid", test_waitid },
    { "settid", test_settid },
    { "select", test_select },
    { "copy_range", test_copy_range },
    { "splice", test_splice },
    { "sock", test_sock },
};

#include "sections.h"
