/* Benchmark workload: integer mix in the spirit of CoreMark (linked-list sort and
 * search, integer matrix multiply, a state machine over a string, CRC-16), repeated
 * argv[1] times. Each part's result is checked against an independent computation;
 * prints "bench_int iterations=N crc=0x...." and exits 0 only when every check holds.
 * Optional argv[2] = SEED (a decimal number): the generator that makes the list keys,
 * matrix values and string starts from a state derived from SEED, so the data, and
 * with it the outcome of the sort's comparisons, the search's length, the state
 * machine's transitions and the CRC's branches, differ from seed to seed (like
 * CoreMark's seeds); prints "bench_int iterations=N seed=SEED crc=0x....". Without
 * it the fixed start state of old gives the same output as before. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_N 128
#define MAT_N 16
#define STR_N 256

struct node { int32_t key, val; struct node *next; };

static uint16_t crc16(uint16_t crc, uint32_t v, int bits) {
    for (int i = 0; i < bits; i++) {
        uint16_t bit = (uint16_t)(((crc ^ (v >> i)) & 1));
        crc >>= 1;
        if (bit) crc ^= 0xA001;
    }
    return crc;
}

static uint32_t lcg(uint32_t *s) { *s = *s * 1103515245u + 12345u; return *s >> 8; }

/* The generator's start state for a seed: murmur3's 32-bit finalizer, so that
 * neighbouring seeds (lane indices) start far apart. */
static uint32_t seed_state(unsigned long seed) {
    uint32_t h = (uint32_t)seed + 0x9E3779B9u;
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* Merge sort of a linked list by key. */
static struct node *merge(struct node *a, struct node *b) {
    struct node head, *t = &head;
    while (a && b) {
        if (a->key <= b->key) { t->next = a; a = a->next; } else { t->next = b; b = b->next; }
        t = t->next;
    }
    t->next = a ? a : b;
    return head.next;
}
static struct node *msort(struct node *l) {
    if (!l || !l->next) return l;
    struct node *slow = l, *fast = l->next;
    while (fast && fast->next) { slow = slow->next; fast = fast->next->next; }
    struct node *r = slow->next;
    slow->next = NULL;
    return merge(msort(l), msort(r));
}

static int fail(const char *what, long it) {
    printf("bench_int: FAILED %s at iteration %ld\n", what, it);
    return 1;
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : 10;
    static struct node pool[LIST_N];
    static int32_t A[MAT_N][MAT_N], B[MAT_N][MAT_N], C[MAT_N][MAT_N];
    static char str[STR_N + 1];
    uint16_t crc = 0;
    int seeded = argc > 2;
    unsigned long seed_arg = seeded ? strtoul(argv[2], NULL, 10) : 0;
    uint32_t seed = seeded ? seed_state(seed_arg) : 0x1234567u;
    for (long it = 0; it < iters; it++) {
        /* 1. list: build, sort, verify order and sum, search. */
        int64_t sum = 0;
        for (int i = 0; i < LIST_N; i++) {
            pool[i].key = (int32_t)(lcg(&seed) % 1000) - 500;
            pool[i].val = i;
            pool[i].next = i + 1 < LIST_N ? &pool[i + 1] : NULL;
            sum += pool[i].key;
        }
        struct node *l = msort(&pool[0]);
        int64_t sum2 = 0;
        int n = 0;
        for (struct node *p = l; p; p = p->next, n++) {
            sum2 += p->key;
            if (p->next && p->next->key < p->key) return fail("list order", it);
        }
        if (n != LIST_N || sum != sum2) return fail("list content", it);
        int32_t want = pool[(it * 7) % LIST_N].key;
        int found = -1, pos = 0;
        for (struct node *p = l; p; p = p->next, pos++)
            if (p->key == want) { found = pos; break; }
        if (found < 0) return fail("list search", it);
        crc = crc16(crc, (uint32_t)found, 16);
        crc = crc16(crc, (uint32_t)l->key, 16);

        /* 2. matrix: C = A*B, check with row sums: sum_j C[i][j] = sum_k A[i][k]*rowsumB[k]. */
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                A[i][j] = (int32_t)(lcg(&seed) & 0xff) - 128;
                B[i][j] = (int32_t)(lcg(&seed) & 0xff) - 128;
            }
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                int32_t s = 0;
                for (int k = 0; k < MAT_N; k++) s += A[i][k] * B[k][j];
                C[i][j] = s;
            }
        for (int i = 0; i < MAT_N; i++) {
            int64_t lhs = 0, rhs = 0;
            for (int j = 0; j < MAT_N; j++) lhs += C[i][j];
            for (int k = 0; k < MAT_N; k++) {
                int64_t rs = 0;
                for (int j = 0; j < MAT_N; j++) rs += B[k][j];
                rhs += (int64_t)A[i][k] * rs;
            }
            if (lhs != rhs) return fail("matrix", it);
            crc = crc16(crc, (uint32_t)lhs, 32);
        }

        /* 3. state machine: classify tokens (ints, floats, idents, other). */
        for (int i = 0; i < STR_N; i++) {
            uint32_t r = lcg(&seed) % 16;
            str[i] = r < 6 ? (char)('0' + r) : r < 8 ? '.' : r < 10 ? ' ' : r < 12 ? ',' : (char)('a' + r);
        }
        str[STR_N] = 0;
        int counts[4] = {0, 0, 0, 0}; /* int, float, ident, invalid */
        int state = 0;                /* 0 start, 1 int, 2 float, 3 ident, 4 invalid */
        int chars = 0;
        for (int i = 0; i <= STR_N; i++) {
            char ch = str[i];
            int sep = ch == ' ' || ch == ',' || ch == 0;
            if (sep) {
                if (state) counts[state == 1 ? 0 : state == 2 ? 1 : state == 3 ? 2 : 3]++;
                state = 0;
                continue;
            }
            chars++;
            int digit = ch >= '0' && ch <= '9', dot = ch == '.', alpha = ch >= 'a' && ch <= 'z';
            switch (state) {
            case 0: state = digit ? 1 : dot ? 2 : alpha ? 3 : 4; break;
            case 1: state = digit ? 1 : dot ? 2 : 4; break;
            case 2: state = digit ? 2 : 4; break;
            case 3: state = (alpha || digit) ? 3 : 4; break;
            default: break;
            }
        }
        /* Check: token count equals the number of separator-run boundaries. */
        int tokens = 0, nonsep = 0;
        for (int i = 0; i < STR_N; i++) {
            int sep = str[i] == ' ' || str[i] == ',';
            if (!sep) { nonsep++; if (i == 0 || str[i - 1] == ' ' || str[i - 1] == ',') tokens++; }
        }
        if (tokens != counts[0] + counts[1] + counts[2] + counts[3] || nonsep != chars)
            return fail("state machine", it);
        for (int k = 0; k < 4; k++) crc = crc16(crc, (uint32_t)counts[k], 16);
    }
    /* CRC self-check: the bitwise CRC of a known string (CRC-16/ARC of "123456789" = 0xBB3D). */
    uint16_t chk = 0;
    for (const char *p = "123456789"; *p; p++) chk = crc16(chk, (uint8_t)*p, 8);
    if (chk != 0xBB3D) return fail("crc self-check", 0);
    if (seeded)
        printf("bench_int iterations=%ld seed=%lu crc=0x%04x\n", iters, seed_arg, crc);
    else
        printf("bench_int iterations=%ld crc=0x%04x\n", iters, crc);
    return 0;
}
