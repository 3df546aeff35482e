/* int_arith: integer arithmetic on 64/32/16/8-bit values, signed and unsigned
 * division (including by zero, which AArch64 defines as 0, and INT_MIN / -1),
 * shifts, rotates, bit operations, __int128 multiply/divide, popcount/clz/ctz
 * builtins and byte swaps. Every input goes through a volatile so the compiler
 * cannot fold the operations away. Prints every result; exits 0 when the
 * self-checks pass, 1 otherwise. */
#include <stdint.h>
#include <stdio.h>
#include <limits.h>
#include <inttypes.h>

static int failures;
static uint64_t hash = 1469598103934665603ULL;

static void mix(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        hash ^= (v >> (8 * i)) & 0xff;
        hash *= 1099511628211ULL;
    }
}

#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

static volatile int64_t vs64[] = {
    0, 1, -1, 2, -2, 3, 7, -7, 10, 100, -100, 12345, -12345, 0x7fffffff,
    -0x7fffffff - 1, 0x100000000LL, INT64_MAX, INT64_MIN, INT64_MIN + 1,
    0x123456789abcdefLL, -0x123456789abcdefLL, 1000000007, 65536, -65536,
};
#define NS64 (int)(sizeof(vs64) / sizeof(vs64[0]))

static volatile uint32_t vu32[] = {
    0, 1, 2, 3, 5, 0x7fffffff, 0x80000000u, 0xffffffffu, 0xdeadbeefu,
    0x12345678u, 1000, 65535, 65536, 0xfffffffeu,
};
#define NU32 (int)(sizeof(vu32) / sizeof(vu32[0]))

static void test_add_sub_mul(void)
{
    printf("== add/sub/mul 64\n");
    for (int i = 0; i < NS64; i++) {
        for (int j = 0; j < NS64; j += 3) {
            int64_t a = vs64[i], b = vs64[j];
            uint64_t s = (uint64_t)a + (uint64_t)b;
            uint64_t d = (uint64_t)a - (uint64_t)b;
            uint64_t m = (uint64_t)a * (uint64_t)b;
            int64_t mh = (int64_t)(((__int128)a * b) >> 64);
            uint64_t umh = (uint64_t)(((unsigned __int128)(uint64_t)a * (uint64_t)b) >> 64);
            mix(s); mix(d); mix(m); mix(mh); mix(umh);
            if (j % 9 == 0)
                printf("%" PRId64 " %" PRId64 ": +%" PRIx64 " -%" PRIx64 " *%" PRIx64
                       " smulh=%" PRIx64 " umulh=%" PRIx64 "\n",
                       a, b, s, d, m, (uint64_t)mh, umh);
        }
    }
    printf("== add/sub/mul 32\n");
    for (int i = 0; i < NU32; i++) {
        for (int j = 0; j < NU32; j++) {
            uint32_t a = vu32[i], b = vu32[j];
            uint32_t s = a + b, d = a - b, m = a * b;
            int64_t sm = (int64_t)(int32_t)a * (int32_t)b;
            uint64_t um = (uint64_t)a * b;
            mix(s); mix(d); mix(m); mix(sm); mix(um);
            if ((i + j) % 5 == 0)
                printf("%08x %08x: +%08x -%08x *%08x smull=%016" PRIx64 " umull=%016" PRIx64 "\n",
                       a, b, s, d, m, (uint64_t)sm, um);
        }
    }
    /* Overflow detection builtins (ADDS/SUBS flags). */
    int64_t r;
    int o1 = __builtin_add_overflow(vs64[16], vs64[1], &r);
    int o2 = __builtin_sub_overflow(vs64[17], vs64[1], &r);
    int o3 = __builtin_mul_overflow(vs64[15], vs64[15], &r);
    int o4 = __builtin_mul_overflow(vs64[13], vs64[3], &r);
    uint32_t ur;
    int o5 = __builtin_add_overflow(vu32[7], vu32[1], &ur);
    int o6 = __builtin_sub_overflow(vu32[0], vu32[1], &ur);
    printf("overflow: %d %d %d %d %d %d\n", o1, o2, o3, o4, o5, o6);
    CHECK(o1 == 1 && o2 == 1 && o3 == 1 && o4 == 0 && o5 == 1 && o6 == 1);
}

static void test_div(void)
{
    printf("== div 64\n");
    for (int i = 0; i < NS64; i++) {
        for (int j = 0; j < NS64; j++) {
            int64_t a = vs64[i], b = vs64[j];
            int64_t q, rm;
            uint64_t uq, ur;
            /* Inline asm so the behaviour is the instruction's (C calls these UB). */
            __asm__ volatile("sdiv %0, %1, %2" : "=r"(q) : "r"(a), "r"(b));
            __asm__ volatile("udiv %0, %1, %2" : "=r"(uq) : "r"(a), "r"(b));
            rm = a - q * b;
            ur = (uint64_t)a - uq * (uint64_t)b;
            mix(q); mix(uq); mix(rm); mix(ur);
            if (b == 0) {
                CHECK(q == 0 && uq == 0);
            } else if (!(a == INT64_MIN && b == -1)) {
                CHECK(q == a / b && rm == a % b);
                CHECK(uq == (uint64_t)a / (uint64_t)b);
            } else {
                CHECK(q == INT64_MIN);
            }
            if (j % 4 == 0 || b == 0 || b == -1)
                printf("%" PRId64 " / %" PRId64 " = %" PRId64 " r %" PRId64 "; u: %" PRIu64 " r %" PRIu64 "\n",
                       a, b, q, rm, uq, ur);
        }
    }
    printf("== div 32\n");
    for (int i = 0; i < NU32; i++) {
        for (int j = 0; j < NU32; j++) {
            uint32_t a = vu32[i], b = vu32[j];
            int32_t q;
            uint32_t uq;
            __asm__ volatile("sdiv %w0, %w1, %w2" : "=r"(q) : "r"(a), "r"(b));
            __asm__ volatile("udiv %w0, %w1, %w2" : "=r"(uq) : "r"(a), "r"(b));
            mix(q); mix(uq);
            if (b == 0)
                CHECK(q == 0 && uq == 0);
            else if (!((int32_t)a == INT32_MIN && (int32_t)b == -1))
                CHECK(q == (int32_t)a / (int32_t)b && uq == a / b);
            else
                CHECK(q == INT32_MIN);
            if ((i * 3 + j) % 7 == 0 || b == 0)
                printf("%d / %d = %d; %u / %u = %u\n", (int32_t)a, (int32_t)b, q, a, b, uq);
        }
    }
    /* Through C with volatile divisors: compiles to sdiv/udiv and msub. */
    volatile int zero = 0, minus1 = -1, imin = INT_MIN;
    volatile long lzero = 0, lminus1 = -1, lmin = LONG_MIN;
    printf("c div by zero: %d %u %ld\n", 5 / zero, 5u / (unsigned)zero, 5L / lzero);
    printf("c mod by zero: %d %ld\n", 5 % zero, -5L % lzero);
    printf("c INT_MIN/-1: %d %d\n", imin / minus1, imin % minus1);
    printf("c LONG_MIN/-1: %ld %ld\n", lmin / lminus1, lmin % lminus1);
    /* Division by constants (multiply-high sequences). */
    for (int i = 0; i < NS64; i++) {
        int64_t a = vs64[i];
        printf("const div %" PRId64 ": /3=%" PRId64 " /7=%" PRId64 " /10=%" PRId64 " %%10=%" PRId64
               " u/10=%" PRIu64 " /-9=%" PRId64 "\n",
               a, a / 3, a / 7, a / 10, a % 10, (uint64_t)a / 10, a / -9);
    }
}

static void test_shifts(void)
{
    printf("== shifts and rotates\n");
    volatile uint64_t x = 0x8123456789abcdefULL;
    volatile uint32_t y = 0x89abcdefu;
    for (volatile int s = 0; s < 70; s += 3) {
        int sh = s & 63, sh32 = s & 31;
        uint64_t l = x << sh, r = x >> sh;
        int64_t ar = (int64_t)x >> sh;
        uint64_t rot = (x >> sh) | (x << ((64 - sh) & 63));
        uint32_t l32 = y << sh32, r32 = y >> sh32, rot32 = (y >> sh32) | (y << ((32 - sh32) & 31));
        int32_t ar32 = (int32_t)y >> sh32;
        /* Register shifts use the amount modulo the width (LSLV etc.). */
        uint64_t lv, rv;
        uint32_t lv32;
        int sv = s;
        __asm__ volatile("lslv %0, %1, %2" : "=r"(lv) : "r"(x), "r"((uint64_t)sv));
        __asm__ volatile("rorv %0, %1, %2" : "=r"(rv) : "r"(x), "r"((uint64_t)sv + 64));
        __asm__ volatile("lsrv %w0, %w1, %w2" : "=r"(lv32) : "r"(y), "r"((uint32_t)sv));
        printf("s=%2d %016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64
               " | %08x %08x %08x %08x | %016" PRIx64 " %016" PRIx64 " %08x\n",
               sv, l, r, (uint64_t)ar, rot, l32, r32, (uint32_t)ar32, rot32, lv, rv, lv32);
        mix(l ^ r ^ ar ^ rot ^ lv ^ rv ^ lv32);
    }
}

static void test_bitops(void)
{
    printf("== bit ops\n");
    for (int i = 0; i < NS64; i++) {
        uint64_t a = (uint64_t)vs64[i];
        uint64_t b = (uint64_t)vs64[(i * 7 + 3) % NS64];
        uint64_t rb;
        __asm__ volatile("rbit %0, %1" : "=r"(rb) : "r"(a));
        int clz = a ? __builtin_clzll(a) : 64;
        int ctz = a ? __builtin_ctzll(a) : 64;
        int clrsb = __builtin_clrsbll((long long)a);
        printf("%016" PRIx64 " %016" PRIx64 ": and=%" PRIx64 " or=%" PRIx64 " xor=%" PRIx64
               " bic=%" PRIx64 " orn=%" PRIx64 " eon=%" PRIx64 " not=%" PRIx64
               " pop=%d clz=%d ctz=%d clrsb=%d parity=%d rbit=%" PRIx64
               " bswap64=%" PRIx64 " bswap32=%x bswap16=%x\n",
               a, b, a & b, a | b, a ^ b, a & ~b, a | ~b, a ^ ~b, ~a,
               __builtin_popcountll(a), clz, ctz, clrsb, __builtin_parityll(a), rb,
               __builtin_bswap64(a), __builtin_bswap32((uint32_t)a), __builtin_bswap16((uint16_t)a));
        mix(rb);
        CHECK(__builtin_popcountll(a) == __builtin_popcountll(rb));
        CHECK(__builtin_bswap64(__builtin_bswap64(a)) == a);
    }
    for (int i = 0; i < NU32; i++) {
        uint32_t a = vu32[i];
        printf("%08x: pop=%d clz=%d ctz=%d rev16=%08x\n", a, __builtin_popcount(a),
               a ? __builtin_clz(a) : 32, a ? __builtin_ctz(a) : 32,
               ((a & 0x00ff00ffu) << 8) | ((a >> 8) & 0x00ff00ffu));
    }
    /* Bitfield extract/insert (UBFX/SBFX/BFI). */
    struct { unsigned a : 3; signed b : 5; unsigned c : 13; signed d : 11; } bf;
    volatile uint32_t src = 0xdeadbeefu;
    bf.a = src; bf.b = src >> 3; bf.c = src >> 8; bf.d = src >> 21;
    printf("bitfields: %u %d %u %d\n", bf.a, bf.b, bf.c, bf.d);
    CHECK(bf.a == 7 && bf.b == -3 && bf.c == 0xdbe && bf.d == -267);
    /* Sign/zero extension. */
    volatile uint64_t w = 0xfedcba9876543210ULL;
    printf("ext: %" PRId64 " %" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
           (int64_t)(int8_t)w, (int64_t)(int16_t)w, (int64_t)(int32_t)w,
           (uint64_t)(uint8_t)w, (uint64_t)(uint16_t)w, (uint64_t)(uint32_t)w);
    /* Conditional select and compare chains. */
    int csel = 0;
    for (int i = 0; i < NS64; i++)
        for (int j = 0; j < NS64; j++) {
            int64_t a = vs64[i], b = vs64[j];
            csel = csel * 3 + (a < b) + 2 * ((uint64_t)a < (uint64_t)b) + 4 * (a == b);
            csel ^= (a >= b) ? 1 : 0;
            csel &= 0xffffff;
        }
    printf("compare hash: %d\n", csel);
}

static void test_int128(void)
{
    printf("== __int128\n");
    unsigned __int128 f = 1;
    for (volatile int i = 1; i <= 34; i++) {
        f *= (unsigned)i;
        printf("%2d! = %016" PRIx64 "%016" PRIx64 "\n", i, (uint64_t)(f >> 64), (uint64_t)f);
    }
    /* 34! / k for several k, with remainder (calls __udivti3). */
    for (volatile uint64_t k = 3; k < 1000000000000ULL; k = k * 37 + 11) {
        unsigned __int128 q = f / k, r = f % k;
        printf("34!/%" PRIu64 " = %016" PRIx64 "%016" PRIx64 " r %" PRIu64 "\n",
               (uint64_t)k, (uint64_t)(q >> 64), (uint64_t)q, (uint64_t)r);
        CHECK(q * k + r == f);
    }
    __int128 s = -((__int128)1 << 100) + 12345;
    volatile int64_t dv = -7;
    __int128 sq = s / dv, sr = s % dv;
    printf("signed: q=%016" PRIx64 "%016" PRIx64 " r=%" PRId64 "\n",
           (uint64_t)((unsigned __int128)sq >> 64), (uint64_t)sq, (int64_t)sr);
    CHECK(sq * dv + sr == s);
    /* Decimal printing of a 128-bit value. */
    char buf[64];
    int n = 0;
    unsigned __int128 t = f;
    do { buf[n++] = '0' + (int)(t % 10); t /= 10; } while (t);
    printf("34! = ");
    while (n) putchar(buf[--n]);
    putchar('\n');
}

static void test_small_types(void)
{
    printf("== 8/16-bit\n");
    volatile uint8_t a8 = 200, b8 = 100;
    volatile int8_t c8 = -100, d8 = 100;
    volatile uint16_t a16 = 60000, b16 = 10000;
    volatile int16_t c16 = -30000;
    uint8_t s8 = a8 + b8;
    int8_t t8 = (int8_t)(c8 - d8);
    uint16_t s16 = a16 + b16;
    int16_t t16 = (int16_t)(c16 - 10000);
    printf("%u %d %u %d %d %d\n", s8, t8, s16, t16, a8 * b8, c16 * c16);
    CHECK(s8 == 44 && t8 == 56 && s16 == 4464 && t16 == 25536);
}

static void test_loops(void)
{
    printf("== loop kernels\n");
    /* Collatz lengths, gcd, isqrt: branches and data-dependent control flow. */
    uint64_t total = 0, maxlen = 0, maxn = 0;
    for (uint64_t n = 1; n < 10000; n++) {
        uint64_t x = n, len = 0;
        while (x != 1) { x = (x & 1) ? 3 * x + 1 : x / 2; len++; }
        total += len;
        if (len > maxlen) { maxlen = len; maxn = n; }
    }
    printf("collatz: total=%" PRIu64 " max=%" PRIu64 " at %" PRIu64 "\n", total, maxlen, maxn);
    CHECK(maxn == 6171 && maxlen == 261);
    uint64_t g = 0;
    for (uint64_t a = 1; a < 300; a++)
        for (uint64_t b = 1; b < 300; b += 7) {
            uint64_t x = a * 1000003, y = b * 999983;
            while (y) { uint64_t t = x % y; x = y; y = t; }
            g += x;
        }
    printf("gcd sum: %" PRIu64 "\n", g);
    uint64_t sq = 0;
    for (uint64_t n = 0; n < 100000; n += 37) {
        uint64_t r = 0, bit = 1ULL << 62, v = n * n + n;
        while (bit > v) bit >>= 2;
        while (bit) {
            if (v >= r + bit) { v -= r + bit; r = (r >> 1) + bit; } else r >>= 1;
            bit >>= 2;
        }
        sq += r;
        CHECK(r == n);
    }
    printf("isqrt sum: %" PRIu64 "\n", sq);
}

int main(void)
{
    test_add_sub_mul();
    test_div();
    test_shifts();
    test_bitops();
    test_int128();
    test_small_types();
    test_loops();
    printf("hash: %016" PRIx64 "\n", hash);
    printf("int_arith: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
