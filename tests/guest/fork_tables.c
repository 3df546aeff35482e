/*
 * Address spaces after fork(2), where gpuos shares page tables between parent and child
 * until one of them changes them (kernel/mm/mm.h, "leaf tables shared after fork"):
 * every write, mprotect, munmap, mremap, madvise and MAP_FIXED after a fork must stay
 * the writer's, whichever side changes a table first, whether the other side still
 * holds it or has ended, over several generations. Each step prints what each side
 * sees; the output is compared with qemu-aarch64 byte for byte.
 *
 * Usage: fork_tables [ROUNDS]   (default 3)
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGE 4096ul
/* A region across two 2 MiB leaf tables, so that steps meet two shared tables. */
#define REGION (4ul << 20)

static unsigned char data_pages[8 * PAGE] = {1};
static unsigned char bss_pages[8 * PAGE];

/* A checksum of n bytes: what a side sees of a region. */
static unsigned long sum(const unsigned char* p, size_t n) {
    unsigned long h = 1469598103934665603ul;
    for (size_t i = 0; i < n; i += 64) h = (h ^ p[i]) * 1099511628211ul;
    return h;
}

/* fork with nothing buffered: a child's copy of stdout's buffer would print twice. */
static pid_t fork_flushed(void) {
    fflush(stdout);
    return fork();
}

static int wait_child(pid_t pid) {
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The child writes first, the parent after the child has ended (the child's copy and
 * then the parent's table alone again). */
static void child_writes_first(unsigned char* r, int round) {
    pid_t pid = fork_flushed();
    if (pid == 0) {
        for (size_t i = 0; i < REGION; i += PAGE) r[i] = (unsigned char)(i / PAGE + round);
        data_pages[PAGE] = 77;
        bss_pages[3 * PAGE] = 66;
        printf("  child-first: child sees %lx %d %d\n", sum(r, REGION), data_pages[PAGE], bss_pages[3 * PAGE]);
        fflush(stdout);
        _exit(3);
    }
    int st = wait_child(pid);
    printf("  child-first: parent sees %lx %d %d (child %d)\n", sum(r, REGION), data_pages[PAGE],
           bss_pages[3 * PAGE], st);
    r[PAGE] = (unsigned char)(200 + round);
    printf("  child-first: parent wrote, sees %lx\n", sum(r, REGION));
}

/* The parent writes while the child still holds the tables; the child reads after. */
static void parent_writes_first(unsigned char* r, int round) {
    int go[2], done[2];
    if (pipe(go) || pipe(done)) exit(10);
    pid_t pid = fork_flushed();
    if (pid == 0) {
        char b;
        if (read(go[0], &b, 1) != 1) _exit(11);
        printf("  parent-first: child sees %lx %d\n", sum(r, REGION), data_pages[2 * PAGE]);
        r[5 * PAGE] ^= 0x5a;
        printf("  parent-first: child wrote, sees %lx\n", sum(r, REGION));
        fflush(stdout);
        if (write(done[1], "x", 1) != 1) _exit(12);
        _exit(4);
    }
    memset(r + 2 * PAGE, 0x40 + round, 3 * PAGE);
    data_pages[2 * PAGE] = (unsigned char)(9 + round);
    printf("  parent-first: parent wrote, sees %lx\n", sum(r, REGION));
    fflush(stdout);
    if (write(go[1], "x", 1) != 1) exit(13);
    char b;
    if (read(done[0], &b, 1) != 1) exit(14);
    int st = wait_child(pid);
    printf("  parent-first: parent sees %lx (child %d)\n", sum(r, REGION), st);
    close(go[0]);
    close(go[1]);
    close(done[0]);
    close(done[1]);
}

/* Table-changing calls on either side after a fork: mprotect, munmap of part,
 * MAP_FIXED over part, madvise(DONTNEED), mremap of a piece. */
static void range_calls(unsigned char* r) {
    pid_t pid = fork_flushed();
    if (pid == 0) {
        mprotect(r + 8 * PAGE, 4 * PAGE, PROT_READ);
        munmap(r + 16 * PAGE, 2 * PAGE);
        unsigned char* f = mmap(r + 32 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        f[0] = 1;
        madvise(r + 40 * PAGE, 4 * PAGE, MADV_DONTNEED);
        unsigned char* m = mremap(r + 48 * PAGE, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
        printf("  ranges: child %lx %lx %d %s\n", sum(r, 16 * PAGE), sum(r + 32 * PAGE, 16 * PAGE), r[40 * PAGE],
               m == MAP_FAILED ? "mremap failed" : "mremap ok");
        fflush(stdout);
        _exit(5);
    }
    int st = wait_child(pid);
    printf("  ranges: parent %lx %d %d %d (child %d)\n", sum(r, REGION), r[8 * PAGE], r[16 * PAGE], r[40 * PAGE], st);
    r[8 * PAGE] = 1;  /* still writable here */
    munmap(r + 3 * (REGION / 4), PAGE);
    printf("  ranges: parent after %lx\n", sum(r, 3 * (REGION / 4)));
    mmap(r + 3 * (REGION / 4), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

/* Three generations: each writes its own mark after forking the next, then each reads. */
static void generations(unsigned char* r, int depth) {
    if (depth == 0) return;
    pid_t pid = fork_flushed();
    if (pid == 0) {
        generations(r, depth - 1);
        r[(size_t)depth * 7 * PAGE] = (unsigned char)(100 + depth);
        printf("  generation %d sees %lx\n", depth, sum(r, REGION));
        fflush(stdout);
        _exit(depth);
    }
    r[(size_t)depth * 7 * PAGE + 1] = (unsigned char)(50 + depth);
    int st = wait_child(pid);
    printf("  generation %d parent sees %lx (child %d)\n", depth + 1, sum(r, REGION), st);
}

/* Several children hold the tables at once while the parent writes between forks:
 * each child must see the parent's memory as it was at its own fork. */
static void many_holders(unsigned char* r) {
    pid_t kids[6];
    for (int k = 0; k < 6; k++) {
        r[9 * PAGE] = (unsigned char)k;
        r[REGION - PAGE] = (unsigned char)(k * 3);
        kids[k] = fork_flushed();
        if (kids[k] == 0) {
            int ok = r[9 * PAGE] == k && r[REGION - PAGE] == k * 3;
            r[9 * PAGE + 1] = (unsigned char)k;  /* its own */
            _exit(ok ? 20 + k : 1);
        }
    }
    for (int k = 0; k < 6; k++) printf("  holders: child %d -> %d\n", k, wait_child(kids[k]));
    printf("  holders: parent %d %d %d\n", r[9 * PAGE], r[9 * PAGE + 1], r[REGION - PAGE]);
}

/* A shared anonymous mapping stays shared through the tables either side holds. */
static void shared_anon(void) {
    unsigned char* s = mmap(0, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED) { printf("  shared: mmap failed\n"); return; }
    s[0] = 1;
    pid_t pid = fork_flushed();
    if (pid == 0) {
        s[PAGE] = 2;  /* the parent sees this */
        _exit(s[0]);
    }
    int st = wait_child(pid);
    s[2 * PAGE] = 3;
    printf("  shared: %d %d %d (child %d)\n", s[0], s[PAGE], s[2 * PAGE], st);
    munmap(s, 4 * PAGE);
}

int main(int argc, char** argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    unsigned char* r = mmap(0, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) return 1;
    for (size_t i = 0; i < REGION; i += 2 * PAGE) r[i] = (unsigned char)(i >> 13);
    for (int k = 0; k < rounds; k++) {
        printf("round %d\n", k);
        child_writes_first(r, k);
        parent_writes_first(r, k);
        range_calls(r);
        generations(r, 3);
        many_holders(r);
        shared_anon();
    }
    printf("end %lx %lx %lx\n", sum(r, REGION), sum(data_pages, sizeof data_pages), sum(bss_pages, sizeof bss_pages));
    return 0;
}
