/* malloc_stress: many malloc/realloc/free calls of varied sizes driven by a
 * deterministic LCG, with content checks; big allocations (> 1 MiB, served by
 * mmap, and grown by mremap through realloc); calloc zeroing; explicit
 * mmap/munmap/mprotect (reading after PROT_READ); madvise(MADV_DONTNEED)
 * zeroing of private anonymous pages; brk growth. Prints counts and checksums,
 * never addresses. Exits 0 when the self-checks pass, 1 otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

static uint64_t rng = 88172645463325252ULL;
static uint32_t next(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(rng >> 33);
}

/* Pattern bytes: the first 256, then every 61st (so every page is touched
 * while the instruction count stays modest); fill also writes the last 256.
 * verify checks the first set, which does not depend on the length filled. */
#define PAT(i) ((unsigned char)(seed + (i) * 131 + ((i) >> 8)))
static void fill(unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n && i < 256; i++) p[i] = PAT(i);
    for (size_t i = 256; i < n; i += 61) p[i] = PAT(i);
    for (size_t i = n > 256 ? n - 256 : 0; i < n; i++) p[i] = PAT(i);
}
static int verify(const unsigned char *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n && i < 256; i++)
        if (p[i] != PAT(i)) return 0;
    for (size_t i = 256; i < n; i += 61)
        if (p[i] != PAT(i)) return 0;
    return 1;
}

enum { SLOTS = 1024 };
static unsigned char *slot[SLOTS];
static size_t slot_size[SLOTS];
static uint32_t slot_seed[SLOTS];

static size_t pick_size(void)
{
    uint32_t r = next();
    switch (r % 32) {
    case 0: case 1: case 2: case 3: return r % 16;
    case 4: case 5: case 6: case 7: case 8: case 9: case 10: case 11: return 16 + r % 128;
    case 12: case 13: case 14: case 15: case 16: case 17: return 128 + r % 1024;
    case 18: case 19: return 1024 + r % 8192;
    case 20: return 8192 + r % 65536;
    case 21: return 100000 + r % 200000; /* above the mmap threshold at first */
    default: return 1 + (r % 32) * 24;
    }
}

static void stress(int rounds)
{
    unsigned long nmalloc = 0, nrealloc = 0, nfree = 0, bad = 0;
    uint64_t bytes = 0;
    for (int i = 0; i < rounds; i++) {
        int s = next() % SLOTS;
        uint32_t op = next() % 10;
        if (slot[s] == NULL || op < 3) {
            if (slot[s]) {
                if (!verify(slot[s], slot_size[s], slot_seed[s])) bad++;
                free(slot[s]);
                nfree++;
            }
            size_t n = pick_size();
            slot[s] = malloc(n ? n : 1);
            slot_size[s] = n;
            slot_seed[s] = next();
            fill(slot[s], n, slot_seed[s]);
            nmalloc++;
            bytes += n;
        } else if (op < 6) {
            size_t n = pick_size();
            size_t keep = n < slot_size[s] ? n : slot_size[s];
            unsigned char *p = realloc(slot[s], n ? n : 1);
            if (!p) { bad++; continue; }
            if (!verify(p, keep, slot_seed[s])) bad++;
            slot[s] = p;
            slot_size[s] = n;
            slot_seed[s] = next();
            fill(p, n, slot_seed[s]);
            nrealloc++;
        } else {
            if (!verify(slot[s], slot_size[s], slot_seed[s])) bad++;
            free(slot[s]);
            slot[s] = NULL;
            nfree++;
        }
    }
    for (int s = 0; s < SLOTS; s++) {
        if (slot[s]) {
            if (!verify(slot[s], slot_size[s], slot_seed[s])) bad++;
            free(slot[s]);
            slot[s] = NULL;
            nfree++;
        }
    }
    printf("stress %d: malloc=%lu realloc=%lu free=%lu bytes=%llu bad=%lu\n",
           rounds, nmalloc, nrealloc, nfree, (unsigned long long)bytes, bad);
    CHECK(bad == 0);
}

static void big(void)
{
    printf("== big allocations\n");
    size_t sizes[] = { 1 << 20, (1 << 20) + 1, 3 << 20, 2500000 };
    for (int i = 0; i < 4; i++) {
        unsigned char *p = malloc(sizes[i]);
        CHECK(p != NULL);
        fill(p, sizes[i], i);
        int ok = verify(p, sizes[i], i);
        /* Grow across sizes: glibc uses mremap for mmapped chunks. */
        size_t n2 = sizes[i] * 2 + 4096;
        p = realloc(p, n2);
        int ok2 = verify(p, sizes[i], i);
        memset(p + sizes[i], 0x5a, n2 - sizes[i]);
        uint64_t sum = 0;
        for (size_t k = 0; k < n2; k += 4093) sum += p[k];
        p = realloc(p, 1000);
        int ok3 = verify(p, 1000, i);
        printf("size %zu: ok=%d grown=%d shrunk=%d sum=%llu\n", sizes[i], ok, ok2, ok3, (unsigned long long)sum);
        CHECK(ok && ok2 && ok3);
        free(p);
    }
    unsigned char *c = calloc(3 << 20, 1);
    size_t nz = 0;
    for (size_t i = 0; i < (3u << 20); i += 61) nz += c[i] != 0;
    printf("calloc 3MiB nonzero=%zu\n", nz);
    CHECK(nz == 0);
    free(c);
    for (int r = 0; r < 50; r++) {
        size_t n = 1000 + next() % 5000;
        unsigned *q = calloc(n, sizeof *q);
        for (size_t i = 0; i < n; i++) if (q[i]) nz++;
        for (size_t i = 0; i < n; i++) q[i] = (unsigned)i;
        free(q);
    }
    printf("calloc reuse nonzero=%zu\n", nz);
    CHECK(nz == 0);
    void *al = aligned_alloc(4096, 10000);
    void *al2 = NULL;
    int pm = posix_memalign(&al2, 256, 333);
    printf("aligned: %d %d %d\n", ((uintptr_t)al & 4095) == 0, pm, ((uintptr_t)al2 & 255) == 0);
    free(al);
    free(al2);
}

static void mapping(void)
{
    printf("== mmap / mprotect / madvise\n");
    long pg = sysconf(_SC_PAGESIZE);
    printf("page size %ld\n", pg);
    size_t len = 64 * 4096;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    size_t nz = 0;
    for (size_t i = 0; i < len; i++) nz += p[i] != 0;
    printf("fresh mmap nonzero=%zu aligned=%d\n", nz, ((uintptr_t)p & 4095) == 0);
    fill(p, len, 99);
    CHECK(mprotect(p, len, PROT_READ) == 0);
    printf("after PROT_READ verify=%d\n", verify(p, len, 99));
    CHECK(mprotect(p, len, PROT_READ | PROT_WRITE) == 0);
    ((volatile unsigned char *)p)[256] = p[256]; /* writable again */
    CHECK(madvise(p + 8 * 4096, 4 * 4096, MADV_DONTNEED) == 0);
    nz = 0;
    size_t z = 0;
    for (size_t i = 8 * 4096; i < 12 * 4096; i++) nz += p[i] != 0;
    for (size_t i = 0; i < len; i++) z += p[i] == 0; /* includes the gaps of the sparse pattern */
    printf("after DONTNEED: nonzero in range=%zu zeros total=%zu\n", nz, z);
    CHECK(nz == 0);
    /* Unmap the middle, keep the ends. */
    CHECK(munmap(p + 16 * 4096, 16 * 4096) == 0);
    printf("ends intact: %d %d\n", verify(p, 8 * 4096, 99), p[len - 1] == (unsigned char)(99 + (len - 1) * 131 + ((len - 1) >> 8)));
    CHECK(munmap(p, 16 * 4096) == 0);
    CHECK(munmap(p + 32 * 4096, 32 * 4096) == 0);
    /* Fixed mapping over a reserved PROT_NONE region. */
    unsigned char *r = mmap(NULL, 16 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r != MAP_FAILED);
    unsigned char *f = mmap(r + 4 * 4096, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("MAP_FIXED at requested address: %d\n", f == r + 4 * 4096);
    f[100] = 42;
    printf("fixed page value %d\n", f[100]);
    munmap(r, 16 * 4096);
    /* Many small mappings. */
    unsigned char *maps[64];
    for (int i = 0; i < 64; i++) {
        maps[i] = mmap(NULL, (i % 5 + 1) * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        memset(maps[i], i, (i % 5 + 1) * 4096);
    }
    unsigned long s = 0;
    for (int i = 0; i < 64; i++) {
        for (int k = 0; k < (i % 5 + 1) * 4096; k += 512) s += maps[i][k];
        munmap(maps[i], (i % 5 + 1) * 4096);
    }
    printf("small maps sum=%lu\n", s);
    /* brk */
    void *b0 = sbrk(0);
    void *b1 = sbrk(100000);
    void *b2 = sbrk(0);
    printf("sbrk grew by %ld\n", (long)((char *)b2 - (char *)b0));
    memset(b1, 7, 100000);
    sbrk(-100000);
    printf("sbrk restored %d\n", sbrk(0) == b0);
}

int main(void)
{
    stress(2000);
    stress(8000);
    big();
    mapping();
    stress(2000);
    printf("malloc_stress: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
