/* fp_math: floating point formatting (%f %e %g %a), libm functions, float<->int
 * conversions (including saturation of out-of-range values and NaN, as the
 * FCVTZS/FCVTZU instructions define it), strtod, rounding modes with rint,
 * exception flags and half precision. Prints every result; exits 0 when the
 * self-checks pass, 1 otherwise. */
#include <fenv.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

static volatile double vd[] = {
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 3.14159265358979323846,
    1e-300, 1e300, 123456789.987654321, -987654.321, 1e-5, 0.1, 2.0 / 3.0,
    4.9406564584124654e-324, 2.2250738585072014e-308, DBL_MAX, 9007199254740993.0,
    1e19, -1e19, 4294967296.5, -2147483648.5, 2147483647.5,
};
#define ND (int)(sizeof(vd) / sizeof(vd[0]))

static void test_printf(void)
{
    printf("== printf\n");
    for (int i = 0; i < ND; i++) {
        double d = vd[i];
        printf("%%f=%f %%.3e=%.3e %%g=%g %%.17g=%.17g %%a=%a\n", d, d, d, d, d);
    }
    volatile double inf = INFINITY, nan = NAN;
    printf("special: %f %f %e %g %a %F %E\n", inf, -inf, nan, -nan * 0 + inf, inf, inf, nan);
    volatile float vf[] = { 0.1f, 1.0f / 3.0f, 16777217.0f, 1e-40f, FLT_MAX, -FLT_MIN, 3.4e38f };
    for (int i = 0; i < 7; i++)
        printf("float %.9g %a %.20f\n", vf[i], vf[i], vf[i]);
    printf("widths: [%10.4f] [%-10.2e] [%+g] [% g] [%010.3f] [%#g] [%#.0f]\n",
           3.14159, 31415.9, 2.0, 2.0, -3.5, 1.0, 7.0);
    printf("long: %.40f\n", 1.0 / 3.0);
    printf("big: %.0f %.0f\n", 1e22, DBL_MAX);
}

static void test_libm(void)
{
    printf("== libm\n");
    volatile double xs[] = { 0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 10.0, 100.0, 1e-10, 12345.678, -0.75, -3.0, 710.0 };
    for (int i = 0; i < (int)(sizeof(xs) / sizeof(xs[0])); i++) {
        double x = xs[i];
        printf("x=%g sin=%.17g cos=%.17g tan=%.17g exp=%.17g log=%.17g log2=%.17g log10=%.17g\n",
               x, sin(x), cos(x), tan(x), exp(x), log(x), log2(x), log10(x));
        printf("  sqrt=%.17g cbrt=%.17g pow(x,1.5)=%.17g pow(1.1,x)=%.17g atan=%.17g asin=%.17g\n",
               sqrt(x), cbrt(x), pow(x, 1.5), pow(1.1, x), atan(x), asin(x / 1000.0));
        printf("  sinh=%.17g tanh=%.17g atan2=%.17g hypot=%.17g expm1=%.17g log1p=%.17g\n",
               sinh(x / 100), tanh(x), atan2(x, -2.0), hypot(x, 3.0), expm1(x / 50), log1p(x));
        printf("  floor=%g ceil=%g round=%g trunc=%g lrint=%ld lround=%ld fmod(x,0.7)=%.17g remainder=%.17g\n",
               floor(x), ceil(x), round(x), trunc(x), lrint(x), lround(x), fmod(x, 0.7), remainder(x, 0.7));
        float xf = (float)x;
        printf("  f: sinf=%.9g expf=%.9g logf=%.9g sqrtf=%.9g powf=%.9g\n",
               sinf(xf), expf(xf / 10), logf(xf), sqrtf(xf), powf(xf, 0.3f));
    }
    int e;
    double m = frexp(123.456, &e);
    printf("frexp: %.17g %d ldexp=%.17g modf:", m, e, ldexp(0.75, -1070));
    double ip;
    double fp = modf(-12.375, &ip);
    printf(" %g %g\n", ip, fp);
    printf("fma: %.17g %.17g\n", fma(0.1, 10.0, -1.0), fmaf(0.1f, 10.0f, -1.0f));
    printf("copysign=%g nextafter=%a fmin=%g fmax=%g fdim=%g\n",
           copysign(3.0, -0.0), nextafter(1.0, 2.0), fmin(NAN, 2.0), fmax(-1.0, NAN), fdim(5.0, 2.5));
    printf("classify: %d %d %d %d %d\n", fpclassify(0.0), fpclassify(1e-310), fpclassify(1.0),
           fpclassify(INFINITY), fpclassify(NAN));
    printf("isnan=%d isinf=%d signbit=%d\n", isnan(vd[0] / vd[0]), isinf(1 / vd[1]), signbit(vd[1]));
    CHECK(sqrt(2.0) * sqrt(2.0) != 2.0 || 1);
    CHECK(fabs(sin(3.14159265358979323846)) < 1e-15);
    CHECK(exp(log(10.0)) - 10.0 < 1e-14);
    /* A little numeric integration. */
    double sum = 0;
    for (int i = 0; i < 100000; i++) {
        double t = (i + 0.5) / 100000.0;
        sum += 4.0 / (1.0 + t * t);
    }
    printf("pi ~ %.15f\n", sum / 100000.0);
    float fs = 0;
    for (int i = 1; i < 20000; i++) fs += 1.0f / ((float)i * (float)i);
    printf("basel float ~ %.9g\n", fs);
}

static int64_t fcvtzs_d(double d) { int64_t r; __asm__ volatile("fcvtzs %0, %d1" : "=r"(r) : "w"(d)); return r; }
static uint64_t fcvtzu_d(double d) { uint64_t r; __asm__ volatile("fcvtzu %0, %d1" : "=r"(r) : "w"(d)); return r; }
static int32_t fcvtzs_dw(double d) { int32_t r; __asm__ volatile("fcvtzs %w0, %d1" : "=r"(r) : "w"(d)); return r; }
static uint32_t fcvtzu_dw(double d) { uint32_t r; __asm__ volatile("fcvtzu %w0, %d1" : "=r"(r) : "w"(d)); return r; }
static int32_t fcvtzs_sw(float f) { int32_t r; __asm__ volatile("fcvtzs %w0, %s1" : "=r"(r) : "w"(f)); return r; }
static int64_t fcvtas_d(double d) { int64_t r; __asm__ volatile("fcvtas %0, %d1" : "=r"(r) : "w"(d)); return r; }
static int64_t fcvtms_d(double d) { int64_t r; __asm__ volatile("fcvtms %0, %d1" : "=r"(r) : "w"(d)); return r; }
static int64_t fcvtps_d(double d) { int64_t r; __asm__ volatile("fcvtps %0, %d1" : "=r"(r) : "w"(d)); return r; }
static int64_t fcvtns_d(double d) { int64_t r; __asm__ volatile("fcvtns %0, %d1" : "=r"(r) : "w"(d)); return r; }

static void test_conversions(void)
{
    printf("== conversions\n");
    volatile double nan = NAN, inf = INFINITY;
    for (int i = 0; i < ND; i++) {
        double d = vd[i];
        printf("%.17g: s64=%" PRId64 " u64=%" PRIu64 " s32=%d u32=%u s32f=%d as=%" PRId64
               " ms=%" PRId64 " ps=%" PRId64 " ns=%" PRId64 " f=%.9g\n",
               d, fcvtzs_d(d), fcvtzu_d(d), fcvtzs_dw(d), fcvtzu_dw(d), fcvtzs_sw((float)d),
               fcvtas_d(d), fcvtms_d(d), fcvtps_d(d), fcvtns_d(d), (float)d);
        printf("   neg: s64=%" PRId64 " u64=%" PRIu64 " s32=%d u32=%u\n",
               fcvtzs_d(-d), fcvtzu_d(-d), fcvtzs_dw(-d), fcvtzu_dw(-d));
    }
    printf("nan: %" PRId64 " %" PRIu64 " %d %u\n", fcvtzs_d(nan), fcvtzu_d(nan), fcvtzs_dw(nan), fcvtzu_dw(nan));
    printf("inf: %" PRId64 " %" PRIu64 " %d %u\n", fcvtzs_d(inf), fcvtzu_d(inf), fcvtzs_dw(inf), fcvtzu_dw(inf));
    printf("-inf: %" PRId64 " %" PRIu64 " %d %u\n", fcvtzs_d(-inf), fcvtzu_d(-inf), fcvtzs_dw(-inf), fcvtzu_dw(-inf));
    CHECK(fcvtzs_d(nan) == 0 && fcvtzs_d(inf) == INT64_MAX && fcvtzs_d(-inf) == INT64_MIN);
    CHECK(fcvtzu_d(-1.0) == 0 && fcvtzu_dw(1e10) == UINT32_MAX && fcvtzs_dw(-1e10) == INT32_MIN);
    /* int -> float, with rounding of large values. */
    volatile int64_t is[] = { 0, 1, -1, 16777217, 9007199254740993LL, INT64_MAX, INT64_MIN, -123456789 };
    volatile uint64_t us[] = { 0, 1, 16777217, 9007199254740993ULL, UINT64_MAX, 1ULL << 63 };
    for (int i = 0; i < 8; i++)
        printf("i64 %" PRId64 " -> %.17g %.9g\n", is[i], (double)is[i], (float)is[i]);
    for (int i = 0; i < 6; i++)
        printf("u64 %" PRIu64 " -> %.17g %.9g\n", us[i], (double)us[i], (float)us[i]);
    volatile int32_t i32 = -7;
    volatile uint32_t u32 = 4000000000u;
    printf("i32 %.17g u32 %.17g\n", (double)i32, (double)u32);
    /* double <-> float narrowing (round to nearest even), denormals, overflow. */
    volatile double nd[] = { 1.0000000596046448, 1.0000001788139343, 1e-45, 1e-46, 3.5e38, -3.5e38, 1e-39 };
    for (int i = 0; i < 7; i++) {
        float f = (float)nd[i];
        printf("narrow %.17g -> %a\n", nd[i], f);
    }
    /* Half precision. */
    volatile float hs[] = { 1.0f, 0.1f, 65504.0f, 65520.0f, 1e-7f, -2.5f, 6.1e-5f };
    for (int i = 0; i < 7; i++) {
        __fp16 h = (__fp16)hs[i];
        uint16_t bits;
        memcpy(&bits, &h, 2);
        printf("half %.9g -> %04x -> %.9g\n", hs[i], bits, (float)h);
    }
}

static void test_strtod(void)
{
    printf("== strtod\n");
    const char *ss[] = {
        "0", "-0", "1", "3.14159", "1e10", "1.7976931348623157e308", "1.8e308", "4.9e-324",
        "2.4703282292062327e-324", "2.4703282292062328e-324", "0x1.8p3", "0x1p-1074", "inf",
        "-Infinity", "nan", "  +12.5e-3xyz", "1.00000000000000011102230246251565404236316680908203125",
        "123456789012345678901234567890", ".5", "5.", "-.e3", "1e-400", "0.1e1", "9007199254740993",
    };
    for (int i = 0; i < (int)(sizeof(ss) / sizeof(ss[0])); i++) {
        char *end;
        double d = strtod(ss[i], &end);
        float f = strtof(ss[i], NULL);
        printf("strtod(\"%s\") = %.17g %a consumed=%d f=%a\n", ss[i], d, d, (int)(end - ss[i]), f);
    }
    CHECK(strtod("0x1.8p3", NULL) == 12.0);
    printf("atof=%g strtol=%ld strtoul=%lu\n", atof("2.5e2"), strtol("-0x7f", NULL, 16), strtoul("777", NULL, 8));
}

static void test_rounding(void)
{
    printf("== rounding modes\n");
    const int modes[] = { FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO };
    const char *names[] = { "nearest", "upward", "downward", "towardzero" };
    volatile double xs[] = { 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6, 1e16 + 1 };
    for (int m = 0; m < 4; m++) {
        CHECK(fesetround(modes[m]) == 0);
        CHECK(fegetround() == modes[m]);
        printf("%-10s:", names[m]);
        for (int i = 0; i < 9; i++)
            printf(" %g/%ld", rint(xs[i]), lrint(xs[i]));
        volatile double a = 1.0, b = 3.0;
        volatile float fa = 1.0f, fb = 3.0f;
        printf(" | 1/3=%.17g -1/3=%.17g f=%.9g sqrt2=%.17g nearbyint=%g\n",
               a / b, -a / b, fa / fb, sqrt(b - a), nearbyint(2.5));
    }
    fesetround(FE_TONEAREST);
}

static void test_flags(void)
{
    printf("== exception flags\n");
    volatile double z = 0.0, one = 1.0, big = 1e308, tiny = 1e-308;
    volatile double r;
    feclearexcept(FE_ALL_EXCEPT);
    r = one / z;
    printf("1/0: %g divbyzero=%d\n", r, !!fetestexcept(FE_DIVBYZERO));
    feclearexcept(FE_ALL_EXCEPT);
    r = z / z;
    printf("0/0: invalid=%d\n", !!fetestexcept(FE_INVALID));
    feclearexcept(FE_ALL_EXCEPT);
    r = big * 10;
    printf("overflow=%d inexact=%d\n", !!fetestexcept(FE_OVERFLOW), !!fetestexcept(FE_INEXACT));
    feclearexcept(FE_ALL_EXCEPT);
    r = tiny / 1e10;
    printf("underflow=%d\n", !!fetestexcept(FE_UNDERFLOW));
    feclearexcept(FE_ALL_EXCEPT);
    r = one + one;
    printf("exact: %d\n", fetestexcept(FE_ALL_EXCEPT));
    feclearexcept(FE_ALL_EXCEPT);
    r = sqrt(-one);
    printf("sqrt(-1): invalid=%d isnan=%d\n", !!fetestexcept(FE_INVALID), isnan(r));
    (void)r;
}

int main(void)
{
    test_printf();
    test_libm();
    test_conversions();
    test_strtod();
    test_rounding();
    test_flags();
    printf("fp_math: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
