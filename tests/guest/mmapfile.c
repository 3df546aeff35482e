/* mmapfile: mmap(2) of files (issue 15 item 4): private read-only and copy-on-write
 * mappings, offsets, MAP_FIXED over other mappings, the bytes past the end of the file
 * in its last page, shared read-only mappings, mappings that outlive their descriptor,
 * large files (many page-cache reads), fork, and the errors (EBADF, EACCES, ENODEV,
 * EINVAL); the mappings' lines in /proc/self/maps (path, perms, offset). Prints what qemu-aarch64 and gpuos must agree on (no addresses). Writes its
 * files in the working directory. Usage: mmapfile [SECTION...]. Exits 0 when the
 * self-checks pass. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s (errno %d)\n", __LINE__, #cond, errno); failures++; } } while (0)

/* "what: ok" for a mapping, "what: -1 ENAME" for MAP_FAILED. */
static void *show_map(const char *what, void *p)
{
    if (p == MAP_FAILED) printf("%s: -1 %s\n", what, strerrorname_np(errno));
    else printf("%s: ok\n", what);
    return p;
}
#define MAP(expr) (errno = 0, show_map(#expr, (expr)))

/* The byte of the test files at offset i. */
static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + (i >> 12) * 13 + 1); }

/* Write a file of n pattern bytes. */
static void make_file(const char *name, size_t n)
{
    int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    unsigned char buf[4096];
    for (size_t off = 0; off < n;) {
        size_t k = n - off < sizeof buf ? n - off : sizeof buf;
        for (size_t i = 0; i < k; i++) buf[i] = pattern(off + i);
        CHECK(write(fd, buf, k) == (ssize_t)k);
        off += k;
    }
    close(fd);
}

/* FNV-1a of n bytes. */
static uint32_t fnv(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* Whether p[0..n) holds the file's bytes from offset off. */
static int matches(const unsigned char *p, size_t off, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(off + i)) return 0;
    return 1;
}

/* "what in maps: PERMS OFFSET NAME" of the /proc/self/maps line holding p (proc(5)),
 * the working directory shown as "." in the name. */
static void show_maps_line(const char *what, const void *p)
{
    char line[1024], cwd[512] = "", perms[5] = "?", name[512] = "";
    unsigned long lo, hi, off = 0;
    int at = 0;
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "%lx-%lx %4s %lx %*s %*s %n", &lo, &hi, perms, &off, &at) != 4) continue;
        if ((uintptr_t)p < lo || (uintptr_t)p >= hi) continue;
        line[strcspn(line, "\n")] = 0;
        size_t n = strlen(cwd);
        const char *path = at ? line + at : "";
        if (n && strncmp(path, cwd, n) == 0) snprintf(name, sizeof name, ".%s", path + n);
        else snprintf(name, sizeof name, "%s", path);
        break;
    }
    if (f) fclose(f);
    printf("%s in maps: %s %08lx %s\n", what, perms, off, name);
}

static void test_private(void)
{
    printf("-- private, read-only\n");
    make_file("m1", 10000);
    int fd = open("m1", O_RDONLY);
    unsigned char *p = MAP(mmap(NULL, 10000, PROT_READ, MAP_PRIVATE, fd, 0));
    if (p == MAP_FAILED) return;
    printf("bytes match: %d, hash %08x\n", matches(p, 0, 10000), fnv(p, 10000));
    int zeros = 1;
    for (size_t i = 10000; i < 12288; i++) zeros &= p[i] == 0;
    printf("rest of the last page is zero: %d\n", zeros);
    unsigned char *q = MAP(mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 4096));
    if (q != MAP_FAILED) printf("offset 4096 matches: %d\n", matches(q, 4096, 5904));
    unsigned char *r = MAP(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 8192));
    if (r != MAP_FAILED) printf("shared read-only matches: %d\n", matches(r, 8192, 1808));
    if (q != MAP_FAILED) show_maps_line("offset 4096", q + 4096);
    if (r != MAP_FAILED) show_maps_line("shared", r);
    close(fd);
    printf("after close still matches: %d\n", matches(p, 0, 10000));
    printf("munmap: %d\n", munmap(p, 10000));
    munmap(q, 8192);
    munmap(r, 4096);
}

static void test_cow(void)
{
    printf("-- private, copy on write\n");
    make_file("m2", 3 * 4096);
    int fd = open("m2", O_RDWR);
    unsigned char *p = MAP(mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
    unsigned char *q = MAP(mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE, fd, 0));
    if (p == MAP_FAILED || q == MAP_FAILED) return;
    memset(p + 4096, 0xAB, 100);
    p[0] = 'X';
    unsigned char b[100];
    CHECK(pread(fd, b, 100, 4096) == 100);
    printf("file unchanged: %d, other mapping unchanged: %d\n", matches(b, 4096, 100), matches(q, 0, 3 * 4096));
    printf("our copy: %c %02x, untouched page matches: %d\n", p[0], p[4096], matches(p + 8192, 8192, 4096));
    pid_t c = fork();
    if (c == 0) {
        printf("child sees parent's copy: %c, writes its own\n", p[0]);
        p[0] = 'C';
        unsigned char *k = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        printf("child's new mapping matches the file: %d\n", k != MAP_FAILED && matches(k, 0, 4096));
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    printf("parent's copy after child: %c\n", p[0]);
    unsigned char *ro = MAP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0));
    printf("mprotect rw: %d\n", mprotect(ro, 4096, PROT_READ | PROT_WRITE));
    ro[5] = 'Z';
    CHECK(pread(fd, b, 10, 0) == 10);
    printf("after mprotect write: ours %c, file matches %d\n", ro[5], matches(b, 0, 10));
    close(fd);
}

static void test_fixed(void)
{
    printf("-- MAP_FIXED, larger than the file\n");
    make_file("m3", 5000);
    int fd = open("m3", O_RDONLY);
    /* As ld.so maps a library: the whole span first, then parts over it. */
    unsigned char *span = MAP(mmap(NULL, 5 * 4096, PROT_READ, MAP_PRIVATE, fd, 0));
    if (span == MAP_FAILED) return;
    printf("span's second page matches: %d\n", matches(span + 4096, 4096, 904));
    unsigned char *a = MAP(mmap(span + 2 * 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0));
    printf("at the asked address: %d, zero: %d\n", a == span + 2 * 4096, a != MAP_FAILED && a[0] == 0);
    unsigned char *f = MAP(mmap(span + 3 * 4096, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    printf("file over the span at the asked address: %d, matches %d\n", f == span + 3 * 4096, f != MAP_FAILED && matches(f, 0, 4096));
    unsigned char *anon = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    anon[0] = 1;
    unsigned char *g = MAP(mmap(anon, 8192, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0));
    printf("file over anonymous memory matches: %d\n", g != MAP_FAILED && matches(g, 0, 5000));
    /* (Not MAP_FIXED_NOREPLACE over a mapping: Linux answers EEXIST, gpuos too,
     * while qemu-aarch64 maps it elsewhere.) */
    close(fd);
}

static void test_large(void)
{
    printf("-- a large file\n");
    size_t n = (1 << 20) + 12345;
    make_file("m4", n);
    int fd = open("m4", O_RDONLY);
    unsigned char *p = MAP(mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0));
    if (p == MAP_FAILED) return;
    printf("hash %08x, matches %d\n", fnv(p, n), matches(p, 0, n));
    unsigned char *q = MAP(mmap(NULL, n - 65536, PROT_READ, MAP_PRIVATE, fd, 65536));
    if (q != MAP_FAILED) printf("second mapping from 64 KiB: hash %08x\n", fnv(q, n - 65536));
    close(fd);
}

static void test_errors(void)
{
    printf("-- errors\n");
    make_file("m5", 100);
    int ro = open("m5", O_RDONLY), wo = open("m5", O_WRONLY), rw = open("m5", O_RDWR);
    MAP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 99, 0));
    MAP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, -1, 0));
    MAP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, wo, 0));
    MAP(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
    MAP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, ro, 100));
    MAP(mmap(NULL, 0, PROT_READ, MAP_PRIVATE, ro, 0));
    MAP(mmap(NULL, 4096, PROT_READ, 0, ro, 0));
    int pfd[2];
    CHECK(pipe(pfd) == 0);
    MAP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, pfd[0], 0));
    int dir = open(".", O_RDONLY | O_DIRECTORY);
    MAP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, dir, 0));
    int path = open("m5", O_PATH);
    MAP(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, path, 0));
    MAP(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0));
    close(ro);
    close(wo);
    close(rw);
    close(dir);
    close(path);
}

static sigjmp_buf bus_jump;
static volatile int bus_signal;
static void on_fault(int sig) { bus_signal = sig; siglongjmp(bus_jump, 1); }

/* Which signal reading p[off] raises (0: none). */
static int touch(const volatile unsigned char *p, size_t off)
{
    bus_signal = 0;
    if (!sigsetjmp(bus_jump, 1)) (void)p[off];
    return bus_signal;
}

static void test_sigbus(void)
{
    printf("-- past the end of the file\n");
    make_file("m6", 5000);
    int fd = open("m6", O_RDONLY);
    signal(SIGBUS, on_fault);
    signal(SIGSEGV, on_fault);
    unsigned char *p = MAP(mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0));
    if (p == MAP_FAILED) return;
    printf("in the file: %d, rest of its last page: %d\n", touch(p, 4999), touch(p, 8191));
    printf("the page after: %d, the last page: %d\n", touch(p, 8192), touch(p, 4 * 4096 - 1));
    int pf[2];
    CHECK(pipe(pf) == 0);
    errno = 0;
    printf("write(2) from there: %zd %s\n", write(pf[1], p + 8192, 10), strerrorname_np(errno));
    unsigned char *a = MAP(mmap(p + 8192, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0));
    printf("anonymous over it: %d, the next still: %d\n", touch(a, 0), touch(p, 3 * 4096));
    CHECK(mprotect(p + 3 * 4096, 4096, PROT_NONE) == 0);
    printf("PROT_NONE past the end: %d\n", touch(p, 3 * 4096));
    pid_t c = fork();
    if (c == 0) _exit(touch(p, 3 * 4096 + 8) == 0 ? 0 : 3);
    CHECK(mprotect(p + 3 * 4096, 4096, PROT_READ) == 0);
    pid_t c2 = fork();
    if (c2 == 0) _exit(touch(p, 3 * 4096 + 8));
    int st, st2;
    waitpid(c, &st, 0);
    waitpid(c2, &st2, 0);
    printf("child of a fork: %d %d\n", WEXITSTATUS(st), WEXITSTATUS(st2));
    signal(SIGBUS, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    close(pf[0]);
    close(pf[1]);
    close(fd);
}

static const struct {
    const char *name;
    void (*run)(void);
} sections[] = {
    { "private", test_private },
    { "cow", test_cow },
    { "fixed", test_fixed },
    { "large", test_large },
    { "errors", test_errors },
    { "sigbus", test_sigbus },
};

#include "sections.h"
