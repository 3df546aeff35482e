/* Memory shared between lanes (issue 16's global monitor): every copy of this program
 * maps the same file MAP_SHARED (one frame of gpuos's page cache in every lane that
 * maps it) and updates counters in it ITERS times with the exclusives and atomics a
 * compiler emits: LDXR/STXR of 8, 4 (acquire/release), 2 and 1 bytes, LDXP/STXP of a
 * pair of X registers, GCC's __atomic_fetch_add (its outline helpers, LL/SC without
 * LSE) and a test-and-set spinlock around a plain increment. Run as N lanes (or N
 * qemu processes at once), each counter must end at N * ITERS (the byte and halfword
 * modulo their size): a store-exclusive that another lane's store did not fail, or a
 * lock that two lanes held at once, loses updates.
 *
 * Usage: xlane FILE ITERS        update the counters; prints "updated ITERS"
 *        xlane FILE check N ITERS print each counter and whether it is N * ITERS
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct shared {
    uint64_t x64;
    uint32_t w32;
    uint16_t h16;
    uint8_t b8;
    uint8_t pad0;
    uint64_t pair[2] __attribute__((aligned(16)));
    uint64_t fetch_add;
    uint32_t lock;
    uint32_t pad1;
    uint64_t locked;
};

/* An increment by a load/store-exclusive loop: NAME(TYPE* p) with the loads and
 * stores LD and ST and the register width R ("" for X, "w" for W). */
#define LLSC_INC(name, type, ld, st, r)                                      \
    static void name(type* p) {                                              \
        uint64_t v;                                                          \
        uint32_t fail;                                                       \
        __asm__ volatile("1: " ld " %" r "0, [%2]\n"                         \
                         "   add %" r "0, %" r "0, #1\n"                      \
                         "   " st " %w1, %" r "0, [%2]\n"                    \
                         "   cbnz %w1, 1b\n"                                 \
                         : "=&r"(v), "=&r"(fail)                             \
                         : "r"(p)                                            \
                         : "memory");                                        \
    }
LLSC_INC(inc64, uint64_t, "ldxr", "stxr", "")
LLSC_INC(inc32_acq_rel, uint32_t, "ldaxr", "stlxr", "w")
LLSC_INC(inc16, uint16_t, "ldxrh", "stxrh", "w")
LLSC_INC(inc8, uint8_t, "ldxrb", "stxrb", "w")

/* The pair: the first word counts, the second adds 2 each time. */
static void inc_pair(uint64_t* p) {
    uint64_t a, b;
    uint32_t fail;
    __asm__ volatile("1: ldaxp %0, %1, [%3]\n"
                     "   add %0, %0, #1\n"
                     "   add %1, %1, #2\n"
                     "   stlxp %w2, %0, %1, [%3]\n"
                     "   cbnz %w2, 1b\n"
                     : "=&r"(a), "=&r"(b), "=&r"(fail)
                     : "r"(p)
                     : "memory");
}

static struct shared* map(const char* path) {
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    if (fd < 0) { perror("open"); exit(2); }
    if (lseek(fd, 0, SEEK_END) < 4096 && ftruncate(fd, 4096) != 0) { perror("ftruncate"); exit(2); }
    void* m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) { perror("mmap"); exit(2); }
    close(fd);
    return (struct shared*)m;
}

int main(int argc, char** argv) {
    if (argc == 3) {
        long iters = atol(argv[2]);
        struct shared* s = map(argv[1]);
        for (long i = 0; i < iters; i++) {
            inc64(&s->x64);
            inc32_acq_rel(&s->w32);
            inc16(&s->h16);
            inc8(&s->b8);
            inc_pair(s->pair);
            __atomic_fetch_add(&s->fetch_add, 1, __ATOMIC_SEQ_CST);
            while (__atomic_exchange_n(&s->lock, 1, __ATOMIC_ACQUIRE)) {
            }
            s->locked++;
            __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
        }
        if (msync(s, 4096, MS_SYNC) != 0) { perror("msync"); return 2; }
        printf("updated %ld\n", iters);
        return 0;
    }
    if (argc == 5 && !strcmp(argv[2], "check")) {
        uint64_t want = (uint64_t)atol(argv[3]) * (uint64_t)atol(argv[4]);
        struct shared* s = map(argv[1]);
        int ok = s->x64 == want && s->w32 == (uint32_t)want && s->h16 == (uint16_t)want &&
                 s->b8 == (uint8_t)want && s->pair[0] == want && s->pair[1] == 2 * want &&
                 s->fetch_add == want && s->locked == want && s->lock == 0;
        printf("x64 %llu w32 %u h16 %u b8 %u pair %llu %llu fetch_add %llu locked %llu: %s\n",
               (unsigned long long)s->x64, s->w32, s->h16, s->b8, (unsigned long long)s->pair[0],
               (unsigned long long)s->pair[1], (unsigned long long)s->fetch_add,
               (unsigned long long)s->locked, ok ? "all exact" : "UPDATES LOST");
        return ok ? 0 : 1;
    }
    fprintf(stderr, "usage: xlane FILE ITERS | xlane FILE check N ITERS\n");
    return 2;
}
