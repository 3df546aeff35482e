/* Hostile memory operations: isolation of shared frames and huge address ranges.
 *
 *   hostile_mem prot       mprotect its own .text and .rodata writable, fork, and write
 *                          there in the child (and a read-only heap page shared by the
 *                          fork): the parent must still see and execute the original.
 *   hostile_mem lane L     lane 0 makes its .text and .rodata writable and patches them;
 *                          the other lanes (gpuos --lanes) must see and run the original.
 *   hostile_mem huge [S]   mprotect, munmap, madvise, mmap, mremap and brk of huge ranges
 *                          (some of 2^S bytes, default 36; the output does not depend on
 *                          S, so qemu, whose munmap takes time per page, can check a run
 *                          with S 46 by one with S 36): each returns with Linux's answer.
 *   hostile_mem hog MIB    map MIB MiB (mmap, or malloc when MIB is "malloc") and touch
 *                          every page, then report; a process over its memory limit gets
 *                          ENOMEM or is killed.
 *   hostile_mem work       an innocent neighbour: a few MiB of malloc'd work.
 *   hostile_mem neighbour L ARG   lane 0 is "hog ARG", the others "work".
 *   hostile_mem rlimit     RLIMIT_AS: shown, lowered, enforced on mmap/brk/mremap, not
 *                          to be raised above the hard limit.
 * Output is independent of addresses, so it compares byte for byte with qemu-aarch64.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int __attribute__((noinline, aligned(64))) answer(void) { return 42; }
static const char msg[] = "original rodata";

static int (*volatile answer_fn)(void) = answer;
static const char *volatile msg_ptr = msg;

static const char *err_name(int e) {
    switch (e) {
    case 0: return "ok";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case EPERM: return "EPERM";
    default: return "other";
    }
}

/* The result of a call returning 0 or -1 with errno, as a word. */
static const char *res(long r) { return r == 0 ? "ok" : err_name(errno); }

static void protect_page_of(const void *p, int prot) {
    uintptr_t a = (uintptr_t)p & ~(uintptr_t)4095;
    if (mprotect((void *)a, 4096, prot) != 0) {
        printf("mprotect of %s page: %s\n", p == (const void *)msg ? "rodata" : "text", err_name(errno));
        exit(1);
    }
}

/* Make .text and .rodata writable. Both stay executable: in a static binary .rodata
 * shares the text segment, and its page may hold code too. */
static void unprotect_image(void) {
    protect_page_of((const void *)answer, PROT_READ | PROT_WRITE | PROT_EXEC);
    protect_page_of(msg, PROT_READ | PROT_WRITE | PROT_EXEC);
}

/* Patch answer() to return 7 and the rodata string's first byte. */
static void patch_image(void) {
    uint32_t *code = (uint32_t *)(uintptr_t)answer;
    code[0] = 0x528000e0u; /* mov w0, #7 */
    code[1] = 0xd65f03c0u; /* ret */
    __builtin___clear_cache((char *)code, (char *)(code + 2));
    ((volatile char *)msg_ptr)[0] = 'X';
}

static void show(const char *who) { printf("%s: answer=%d msg=%s\n", who, answer_fn(), msg_ptr); }

static int mode_prot(void) {
    /* A child makes the image's shared pages writable itself and writes there. */
    fflush(stdout);
    pid_t first = fork();
    if (first == 0) {
        unprotect_image();
        patch_image();
        show("first child");
        fflush(stdout);
        _exit(0);
    }
    waitpid(first, NULL, 0);
    show("parent after first child");
    unprotect_image();
    /* A private heap page, read-only and shared with the child by fork. */
    char *heap = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    strcpy(heap, "heap original");
    mprotect(heap, 4096, PROT_READ);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        patch_image();
        printf("child mprotect heap rw: %s\n", res(mprotect(heap, 4096, PROT_READ | PROT_WRITE)));
        heap[0] = 'H';
        show("child");
        printf("child heap=%s\n", heap);
        fflush(stdout);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("child status %d\n", st);
    show("parent");
    printf("parent heap=%s\n", heap);
    /* The parent's own write, then a child that reads (and writes) after it. */
    patch_image();
    show("parent patched");
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        show("second child");
        ((volatile char *)msg_ptr)[1] = 'Y';
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, &st, 0);
    show("parent at end");
    return 0;
}

static int mode_lane(int lane) {
    if (lane == 0) {
        unprotect_image();
        patch_image();
        show("lane 0 patched");
        return 0;
    }
    /* Keep running and checking while lane 0 patches its copy. */
    long bad = 0;
    for (long i = 0; i < 300000; i++) {
        if (answer_fn() != 42 || msg_ptr[0] != 'o') bad++;
    }
    printf("lane %s: changed %ld times\n", lane > 0 ? "other" : "?", bad);
    show("lane other");
    return 0;
}

static int mode_huge(int shift) {
    const unsigned long T47 = 1ul << 47, T46 = 1ul << shift, T36 = 1ul << 36;
    errno = 0;
    printf("mprotect(0, 2^47, R): %s\n", res(mprotect(NULL, T47, PROT_READ)));
    printf("mprotect(0, 2^47-4096, RW): %s\n", res(mprotect(NULL, T47 - 4096, PROT_READ | PROT_WRITE)));
    printf("mprotect(2^40, 2^46, R): %s\n", res(mprotect((void *)(1ul << 40), 1ul << 46, PROT_READ)));
    printf("munmap(2^40, big): %s\n", res(munmap((void *)(1ul << 40), T46)));
    printf("munmap(2^44, big): %s\n", res(munmap((void *)(1ul << 44), T46)));
    printf("madvise(2^40, big, DONTNEED): %s\n", res(madvise((void *)(1ul << 40), T46, MADV_DONTNEED)));
    printf("madvise(2^40, big, NORMAL): %s\n", res(madvise((void *)(1ul << 40), T46, MADV_NORMAL)));

    /* A 64 GiB lazy mapping: a few pages touched, protected, discarded, unmapped. */
    unsigned char *p = mmap(NULL, T36, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    printf("mmap(2^36): %s\n", p == MAP_FAILED ? err_name(errno) : "ok");
    if (p == MAP_FAILED) return 1;
    unsigned long offs[] = {0, 4096, 1ul << 21, 1ul << 30, (1ul << 35) + 12345, T36 - 1};
    unsigned sum = 0;
    for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) p[offs[i]] = (unsigned char)(i + 1);
    for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) sum += p[offs[i]] * (i + 1);
    printf("touched: sum %u, untouched byte %d\n", sum, p[(1ul << 33) + 7]);
    /* fork copies the reservation: the child sees the touched pages and zeros, and its
     * writes stay its own. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        p[1ul << 34] = 3;
        p[0] = 4;
        _exit(p[1ul << 34] + p[0] + p[(1ul << 35) + 12345] + p[(1ul << 34) + 4096]);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("fork: child saw %d, parent sees %d %d\n", WEXITSTATUS(st), p[1ul << 34], p[0]);
    printf("mprotect(half, R): %s\n", res(mprotect(p + (1ul << 35), 1ul << 35, PROT_READ)));
    printf("read after: %d %d\n", p[(1ul << 35) + 12345], p[T36 - 1]);
    printf("mprotect(all, RW): %s\n", res(mprotect(p, T36, PROT_READ | PROT_WRITE)));
    p[T36 - 2] = 9;
    printf("madvise(all, DONTNEED): %s\n", res(madvise(p, T36, MADV_DONTNEED)));
    printf("after discard: %d %d %d\n", p[0], p[1ul << 30], p[T36 - 2]);
    p[4096] = 5;
    printf("munmap(middle 2^35 + 4096): %s\n", res(munmap(p + 8192, (1ul << 35) + 4096)));
    printf("kept: %d %d\n", p[4096], p[T36 - 1]);
    /* mremap: grow by moving, contents kept. */
    unsigned char *q = mmap(NULL, 1ul << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    q[0] = 11, q[(1ul << 29) + 5] = 22, q[(1ul << 30) - 1] = 33;
    unsigned char *r = mremap(q, 1ul << 30, 1ul << 34, MREMAP_MAYMOVE);
    printf("mremap(2^30 -> 2^34): %s\n", r == MAP_FAILED ? err_name(errno) : "ok");
    if (r != MAP_FAILED) {
        printf("moved: %d %d %d %d\n", r[0], r[(1ul << 29) + 5], r[(1ul << 30) - 1], r[(1ul << 33) + 1]);
        r[(1ul << 34) - 1] = 44;
        printf("grown end: %d\n", r[(1ul << 34) - 1]);
        printf("mremap shrink: %s\n", mremap(r, 1ul << 34, 4096, 0) == r ? "ok" : err_name(errno));
        printf("munmap(mremapped): %s\n", res(munmap(r, 4096)));
    }
    printf("mremap(unmapped): %s\n", mremap((void *)(1ul << 44), 4096, 8192, MREMAP_MAYMOVE) == MAP_FAILED ? err_name(errno) : "ok");
    printf("munmap(2^36 map): %s\n", res(munmap(p, T36)));
    printf("mprotect(unmapped 2^36): %s\n", res(mprotect(p, T36, PROT_READ)));
    /* MAP_FIXED of a huge range over nothing, then gone. */
    unsigned long fl = T46 >> 4;
    void *f = mmap((void *)(1ul << 44), fl, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("mmap fixed big/16: %s\n", f == (void *)(1ul << 44) ? "ok" : err_name(errno));
    printf("mprotect(fixed, R): %s\n", res(mprotect(f, fl, PROT_READ)));
    printf("munmap(fixed): %s\n", res(munmap(f, fl)));
    /* brk: a huge break is refused (the old one comes back), a modest one works. (Not
     * +2^46: whether qemu-aarch64 refuses that depends on the host's memory settings.) */
    unsigned long cur = syscall(SYS_brk, 0);
    unsigned long up = cur + (1ul << 20);
    printf("brk(+1 MiB): %s\n", syscall(SYS_brk, up) == (long)up ? "ok" : "refused");
    ((volatile char *)cur)[(1ul << 19)] = 1;
    printf("brk back: %s\n", syscall(SYS_brk, cur) == (long)cur ? "ok" : "refused");
    printf("brk(+2^40) refused: %s\n", syscall(SYS_brk, cur + (1ul << 40)) == (long)cur ? "yes" : "no");
    return 0;
}

/* Map mib MiB and touch every page; with "malloc", malloc 1 MiB blocks until it fails. */
static int mode_hog(const char *arg) {
    if (strcmp(arg, "malloc") == 0) {
        long n = 0;
        for (; n < 4096; n++) {
            char *b = malloc(1 << 20);
            if (!b) break;
            memset(b, 1, 1 << 20);
        }
        printf("hog: %s after %s\n", n < 4096 ? "malloc failed" : "no failure", n < 4096 ? "some MiB" : "4 GiB");
        return 0;
    }
    unsigned long len = strtoul(arg, NULL, 0) << 20;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        printf("hog: mmap %s\n", err_name(errno));
        return 0;
    }
    for (unsigned long o = 0; o < len; o += 4096) p[o] = 1;
    printf("hog: touched %lu MiB\n", len >> 20);
    return 0;
}

/* An innocent neighbour: allocate, fill and checksum a few MiB, check RLIMIT_AS reads. */
static int mode_work(void) {
    unsigned long sum = 0;
    for (int round = 0; round < 4; round++) {
        unsigned *b = malloc(1 << 20);
        if (!b) {
            printf("work: malloc failed\n");
            return 1;
        }
        for (unsigned i = 0; i < (1 << 18); i++) b[i] = i * 2654435761u + round;
        for (unsigned i = 0; i < (1 << 18); i += 97) sum += b[i];
        free(b);
    }
    printf("work: sum %lu\n", sum);
    return 0;
}

static void show_as(const char *when) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0) {
        printf("%s: getrlimit %s\n", when, err_name(errno));
        return;
    }
    printf("%s: RLIMIT_AS soft ", when);
    if (rl.rlim_cur == RLIM_INFINITY) printf("unlimited"); else printf("%lu", (unsigned long)rl.rlim_cur);
    printf(" hard ");
    if (rl.rlim_max == RLIM_INFINITY) printf("unlimited\n"); else printf("%lu\n", (unsigned long)rl.rlim_max);
}

static int mode_rlimit(void) {
    show_as("start");
    struct rlimit rl = {64ul << 20, 96ul << 20};
    printf("setrlimit(64M, 96M): %s\n", res(setrlimit(RLIMIT_AS, &rl)));
    show_as("lowered");
    void *big = mmap(NULL, 128ul << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 128M: %s\n", big == MAP_FAILED ? err_name(errno) : "ok");
    void *small = mmap(NULL, 16ul << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("mmap 16M: %s\n", small == MAP_FAILED ? err_name(errno) : "ok");
    void *grown = small == MAP_FAILED ? MAP_FAILED : mremap(small, 16ul << 20, 128ul << 20, MREMAP_MAYMOVE);
    printf("mremap 16M -> 128M: %s\n", grown == MAP_FAILED ? err_name(errno) : "ok");
    unsigned long cur = syscall(SYS_brk, 0);
    printf("brk +100M refused: %s\n", syscall(SYS_brk, cur + (100ul << 20)) == (long)cur ? "yes" : "no");
    struct rlimit up = {96ul << 20, 1ul << 40};
    printf("setrlimit(hard 1T): %s\n", res(setrlimit(RLIMIT_AS, &up)));
    struct rlimit bad = {96ul << 20, 64ul << 20};
    printf("setrlimit(soft > hard): %s\n", res(setrlimit(RLIMIT_AS, &bad)));
    struct rlimit old, lower = {32ul << 20, 32ul << 20};
    printf("prlimit(32M): %s\n", res(prlimit(0, RLIMIT_AS, &lower, &old)));
    printf("prlimit old soft %luM hard %luM\n", (unsigned long)old.rlim_cur >> 20, (unsigned long)old.rlim_max >> 20);
    show_as("end");
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "prot") == 0) return mode_prot();
    if (argc >= 3 && strcmp(argv[1], "lane") == 0) return mode_lane(atoi(argv[2]));
    if (argc >= 2 && strcmp(argv[1], "huge") == 0) return mode_huge(argc >= 3 ? atoi(argv[2]) : 36);
    if (argc >= 3 && strcmp(argv[1], "hog") == 0) return mode_hog(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "work") == 0) return mode_work();
    if (argc >= 4 && strcmp(argv[1], "neighbour") == 0) return atoi(argv[2]) == 0 ? mode_hog(argv[3]) : mode_work();
    if (argc >= 2 && strcmp(argv[1], "rlimit") == 0) return mode_rlimit();
    fprintf(stderr, "usage: hostile_mem prot | lane L | huge [S] | hog MIB|malloc | work | neighbour L ARG | rlimit\n");
    return 2;
}
