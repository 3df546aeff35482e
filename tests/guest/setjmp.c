/* setjmp: setjmp/longjmp through several frames (and back out of nested
 * handlers), deep recursion of about 100k frames (the volatile keeps the call
 * from becoming a loop), qsort and bsearch with callbacks, and function
 * pointer tables. Exits 0 when the self-checks pass, 1 otherwise. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

static jmp_buf env;
static int depth_reached;

static __attribute__((noinline)) void dive(int depth, int target)
{
    volatile char pad[64];
    pad[depth & 63] = (char)depth;
    depth_reached = depth;
    if (depth > 100000)
        return;
    if (depth == target)
        longjmp(env, depth * 10 + pad[depth & 63] % 7 + 1);
    dive(depth + 1, target);
    pad[0]++;
}

static jmp_buf outer, inner;
static volatile int trace;

static __attribute__((noinline)) void level3(void) { trace = trace * 10 + 3; longjmp(inner, 7); }
static __attribute__((noinline)) void level2(void)
{
    trace = trace * 10 + 2;
    int r = setjmp(inner);
    if (r == 0) level3();
    trace = trace * 10 + r;
    longjmp(outer, 0); /* 0 becomes 1 */
}

static volatile uint64_t sink;
static __attribute__((noinline)) uint64_t rsum(uint64_t n)
{
    volatile uint64_t local = n;
    if (n == 0) return 0;
    uint64_t r = rsum(n - 1) + local;
    sink = r;
    return r;
}

static __attribute__((noinline)) uint64_t ackermann(uint64_t m, uint64_t n)
{
    if (m == 0) return n + 1;
    if (n == 0) return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

struct rec { char name[12]; int key; double val; };
static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return (x->val > y->val) - (x->val < y->val); /* total order: any sort algorithm agrees */
}
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int op_add(int a, int b) { return a + b; }
static int op_sub(int a, int b) { return a - b; }
static int op_mul(int a, int b) { return a * b; }
static int op_xor(int a, int b) { return a ^ b; }

int main(void)
{
    printf("== setjmp/longjmp\n");
    for (int t = 1; t <= 200; t += 37) {
        volatile int calls = 0;
        int r = setjmp(env);
        calls++;
        if (r == 0) {
            dive(0, t);
            printf("not reached\n");
        }
        printf("target %d: longjmp value %d, depth %d, calls %d\n", t, r, depth_reached, calls);
        CHECK(calls == 2 && depth_reached == t);
    }
    volatile int saved = 5;
    int r = setjmp(outer);
    if (r == 0) {
        saved = 6;
        level2();
    }
    printf("nested: r=%d trace=%d saved=%d\n", r, trace, saved);
    CHECK(r == 1 && trace == 237 && saved == 6);
    sigjmp_buf sj;
    volatile int n = 0;
    if (sigsetjmp(sj, 1) < 3) { n++; siglongjmp(sj, n); }
    printf("sigsetjmp loops: %d\n", n);

    printf("== recursion\n");
    uint64_t s = rsum(100000);
    printf("rsum(100000) = %llu\n", (unsigned long long)s);
    CHECK(s == 5000050000ULL);
    printf("ackermann(2,3)=%llu ackermann(3,5)=%llu\n",
           (unsigned long long)ackermann(2, 3), (unsigned long long)ackermann(3, 5));

    printf("== qsort\n");
    enum { N = 5000 };
    static int arr[N];
    uint32_t x = 12345;
    for (int i = 0; i < N; i++) { x = x * 1103515245u + 12345u; arr[i] = (int)(x >> 8) % 100000 - 50000; }
    qsort(arr, N, sizeof arr[0], cmp_int);
    long chk = 0;
    int sorted = 1;
    for (int i = 0; i < N; i++) { chk = chk * 31 + arr[i]; if (i && arr[i - 1] > arr[i]) sorted = 0; }
    printf("sorted=%d min=%d max=%d median=%d chk=%ld\n", sorted, arr[0], arr[N - 1], arr[N / 2], chk);
    CHECK(sorted);
    int key = arr[1234];
    int *found = bsearch(&key, arr, N, sizeof arr[0], cmp_int);
    printf("bsearch found=%d value=%d\n", found != NULL, found ? *found : 0);
    static struct rec recs[300];
    for (int i = 0; i < 300; i++) {
        x = x * 1103515245u + 12345u;
        recs[i].key = (int)((x >> 16) % 17);
        snprintf(recs[i].name, sizeof recs[i].name, "r%03u", (x >> 4) % 997);
        recs[i].val = i * 0.5;
    }
    qsort(recs, 300, sizeof recs[0], cmp_rec);
    for (int i = 0; i < 300; i += 23)
        printf("rec[%d] = %d %s %g\n", i, recs[i].key, recs[i].name, recs[i].val);
    const char *words[] = { "pear", "apple", "fig", "banana", "kiwi", "cherry", "date", "grape", "lemon", "lime", "Apple", "" };
    qsort(words, 12, sizeof words[0], cmp_str);
    for (int i = 0; i < 12; i++) printf("%s%s", words[i], i < 11 ? "," : "\n");

    printf("== function pointers\n");
    int (*ops[])(int, int) = { op_add, op_sub, op_mul, op_xor };
    int acc = 1;
    for (int i = 0; i < 1000; i++) acc = ops[(i * 7) % 4](acc, i + 1) & 0xfffff;
    printf("acc=%d\n", acc);

    printf("setjmp: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
