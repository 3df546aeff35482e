/* atomics: __atomic and __sync builtins and C11 <stdatomic.h> on 8/16/32/64-bit
 * values, compare-exchange loops, fetch_add/sub/and/or/xor/nand, exchange,
 * test-and-set, fences, and raw exclusive loops (LDXR/STXR, LDAXR/STLXR on all
 * sizes, LDAXP/STLXP, CLREX) and LDAR/STLR. gcc's outline atomics pick LL/SC
 * or LSE at run time from HWCAP; cortex-a57 (and gpuos) have no LSE.
 * Single-threaded: checks the values and the returned old values.
 * Exits 0 when the self-checks pass, 1 otherwise. */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

#define TEST_TYPE(T, FMT, NAME)                                                                  \
    static void test_##NAME(void)                                                                \
    {                                                                                            \
        static T v;                                                                              \
        T old, exp, r;                                                                           \
        __atomic_store_n(&v, (T)0x5a, __ATOMIC_SEQ_CST);                                         \
        old = __atomic_fetch_add(&v, (T)0x30, __ATOMIC_SEQ_CST);                                 \
        printf(#NAME " fetch_add old=" FMT " new=" FMT "\n", old, v);                            \
        old = __atomic_fetch_sub(&v, (T)0x100, __ATOMIC_ACQ_REL);                                \
        printf(#NAME " fetch_sub old=" FMT " new=" FMT "\n", old, v);                            \
        old = __atomic_fetch_and(&v, (T)0xf0f0f0f0f0f0f0f0ULL, __ATOMIC_RELAXED);                \
        printf(#NAME " fetch_and old=" FMT " new=" FMT "\n", old, v);                            \
        old = __atomic_fetch_or(&v, (T)0x0102030405060708ULL, __ATOMIC_RELEASE);                 \
        printf(#NAME " fetch_or old=" FMT " new=" FMT "\n", old, v);                             \
        old = __atomic_fetch_xor(&v, (T)-1, __ATOMIC_ACQUIRE);                                   \
        printf(#NAME " fetch_xor old=" FMT " new=" FMT "\n", old, v);                            \
        old = __atomic_fetch_nand(&v, (T)0x3c, __ATOMIC_SEQ_CST);                                \
        printf(#NAME " fetch_nand old=" FMT " new=" FMT "\n", old, v);                           \
        r = __atomic_add_fetch(&v, (T)1, __ATOMIC_SEQ_CST);                                      \
        printf(#NAME " add_fetch " FMT "\n", r);                                                 \
        old = __atomic_exchange_n(&v, (T)0x77, __ATOMIC_SEQ_CST);                                \
        printf(#NAME " exchange old=" FMT " new=" FMT "\n", old, v);                             \
        exp = (T)0x76;                                                                           \
        int ok = __atomic_compare_exchange_n(&v, &exp, (T)0x11, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
        printf(#NAME " cas(wrong) ok=%d exp=" FMT " v=" FMT "\n", ok, exp, v);                   \
        CHECK(!ok && exp == (T)0x77);                                                            \
        ok = __atomic_compare_exchange_n(&v, &exp, (T)0x11, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
        printf(#NAME " cas(right) ok=%d v=" FMT "\n", ok, v);                                    \
        CHECK(ok && v == (T)0x11);                                                               \
        /* CAS loop: multiply atomically. */                                                     \
        for (int i = 0; i < 20; i++) {                                                           \
            T cur = __atomic_load_n(&v, __ATOMIC_RELAXED);                                       \
            while (!__atomic_compare_exchange_n(&v, &cur, (T)(cur * 3 + 1), 1, __ATOMIC_ACQ_REL, \
                                                __ATOMIC_RELAXED))                               \
                ;                                                                                \
        }                                                                                        \
        printf(#NAME " cas loop v=" FMT "\n", v);                                                \
        old = __sync_fetch_and_add(&v, (T)5);                                                    \
        r = __sync_sub_and_fetch(&v, (T)3);                                                      \
        printf(#NAME " sync old=" FMT " r=" FMT "\n", old, r);                                   \
        T prev = __sync_val_compare_and_swap(&v, r, (T)0x42);                                    \
        int bok = __sync_bool_compare_and_swap(&v, (T)0x41, (T)0x43);                            \
        printf(#NAME " sync cas prev=" FMT " bok=%d v=" FMT "\n", prev, bok, v);                 \
        old = __sync_lock_test_and_set(&v, (T)9);                                                \
        __sync_lock_release(&v);                                                                 \
        printf(#NAME " tas old=" FMT " after release=" FMT "\n", old, v);                        \
        CHECK(v == 0);                                                                           \
    }
TEST_TYPE(uint8_t, "%02x", u8)
TEST_TYPE(uint16_t, "%04x", u16)
TEST_TYPE(uint32_t, "%08x", u32)
TEST_TYPE(uint64_t, "%016" PRIx64, u64)

static void test_c11(void)
{
    printf("== C11 stdatomic\n");
    static _Atomic int8_t a8 = -3;
    static _Atomic int16_t a16 = 1000;
    static _Atomic int32_t a32 = -100000;
    static _Atomic int64_t a64 = 1LL << 40;
    static _Atomic unsigned long counter;
    atomic_flag flag = ATOMIC_FLAG_INIT;
    for (int i = 0; i < 1000; i++) {
        atomic_fetch_add(&a8, 7);
        atomic_fetch_sub_explicit(&a16, 3, memory_order_relaxed);
        atomic_fetch_xor(&a32, i);
        atomic_fetch_add_explicit(&a64, (int64_t)i * i, memory_order_acq_rel);
        atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
    }
    printf("a8=%d a16=%d a32=%d a64=%" PRId64 " counter=%lu\n", atomic_load(&a8), atomic_load(&a16),
           atomic_load(&a32), atomic_load(&a64), atomic_load(&counter));
    CHECK(atomic_load(&counter) == 1000);
    int32_t e = 5;
    int ok = atomic_compare_exchange_strong(&a32, &e, 6);
    printf("strong cas fail: ok=%d expected now %d\n", ok, e);
    ok = atomic_compare_exchange_strong(&a32, &e, 6);
    printf("strong cas ok=%d a32=%d\n", ok, atomic_load(&a32));
    int64_t cur = atomic_load(&a64);
    while (!atomic_compare_exchange_weak(&a64, &cur, cur / 3 * 2))
        ;
    printf("weak cas loop a64=%" PRId64 "\n", atomic_load(&a64));
    printf("exchange old=%d\n", atomic_exchange(&a16, 12345));
    printf("flag: %d %d ", atomic_flag_test_and_set(&flag), atomic_flag_test_and_set(&flag));
    atomic_flag_clear(&flag);
    printf("%d\n", atomic_flag_test_and_set(&flag));
    atomic_thread_fence(memory_order_seq_cst);
    atomic_signal_fence(memory_order_acquire);
    printf("lock free: %d %d %d %d\n", atomic_is_lock_free(&a8), atomic_is_lock_free(&a16),
           atomic_is_lock_free(&a32), atomic_is_lock_free(&a64));
    /* An 8-byte struct through the generic builtins. */
    struct pair { uint32_t a, b; } p = { 1, 2 }, q = { 3, 4 }, got;
    static struct pair sp;
    __atomic_store(&sp, &p, __ATOMIC_SEQ_CST);
    __atomic_exchange(&sp, &q, &got, __ATOMIC_SEQ_CST);
    printf("struct exchange got=%u,%u now=%u,%u\n", got.a, got.b, sp.a, sp.b);
}

static void test_exclusive(void)
{
    printf("== exclusives\n");
    static uint64_t word = 10;
    static uint32_t w32 = 0xfffffff0u;
    static uint16_t w16 = 0x8000;
    static uint8_t w8 = 250;
    unsigned long fails = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t v;
        uint32_t st;
        do {
            __asm__ volatile("ldaxr %0, [%2]\n\tadd %0, %0, #3\n\tstlxr %w1, %0, [%2]" : "=&r"(v), "=&r"(st) : "r"(&word) : "memory");
            fails += st;
        } while (st);
        uint32_t v32;
        do {
            __asm__ volatile("ldxr %w0, [%2]\n\tadd %w0, %w0, #1\n\tstxr %w1, %w0, [%2]" : "=&r"(v32), "=&r"(st) : "r"(&w32) : "memory");
        } while (st);
        uint32_t v16;
        do {
            __asm__ volatile("ldxrh %w0, [%2]\n\tadd %w0, %w0, #0x101\n\tstxrh %w1, %w0, [%2]" : "=&r"(v16), "=&r"(st) : "r"(&w16) : "memory");
        } while (st);
        uint32_t v8;
        do {
            __asm__ volatile("ldaxrb %w0, [%2]\n\tadd %w0, %w0, #1\n\tstlxrb %w1, %w0, [%2]" : "=&r"(v8), "=&r"(st) : "r"(&w8) : "memory");
        } while (st);
    }
    printf("word=%" PRIu64 " w32=%08x w16=%04x w8=%02x\n", word, w32, w16, w8);
    CHECK(word == 310 && w32 == 0x54 && w16 == (uint16_t)(0x8000 + 100 * 0x101) && w8 == (uint8_t)(250 + 100));
    /* clrex then a store-exclusive must fail. */
    uint32_t st, v;
    __asm__ volatile("ldxr %w0, [%2]\n\tclrex\n\tstxr %w1, %w0, [%2]" : "=&r"(v), "=&r"(st) : "r"(&w32) : "memory");
    printf("stxr after clrex failed=%u\n", st);
    /* Exclusive pair. */
    static uint64_t pair[2] __attribute__((aligned(16))) = { 1, 2 };
    uint64_t lo, hi;
    do {
        __asm__ volatile("ldaxp %0, %1, [%3]\n\tadd %0, %0, #10\n\tadd %1, %1, #20\n\tstlxp %w2, %0, %1, [%3]"
                         : "=&r"(lo), "=&r"(hi), "=&r"(st) : "r"(pair) : "memory");
    } while (st);
    printf("pair=%" PRIu64 ",%" PRIu64 "\n", pair[0], pair[1]);
    /* load-acquire / store-release */
    uint64_t x;
    __asm__ volatile("ldar %0, [%1]" : "=r"(x) : "r"(&word) : "memory");
    __asm__ volatile("stlr %0, [%1]" : : "r"(x + 1), "r"(&word) : "memory");
    printf("ldar/stlr word=%" PRIu64 "\n", word);
    (void)fails;
}

int main(void)
{
    printf("== builtins\n");
    test_u8();
    test_u16();
    test_u32();
    test_u64();
    test_c11();
    test_exclusive();
    printf("atomics: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
