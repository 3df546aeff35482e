/* neon: Advanced SIMD through arm_neon.h intrinsics: integer and float
 * add/sub/mul/mla, compares, min/max, shifts (plain, rounding, saturating),
 * permutes (ZIP/UZP/TRN/EXT/TBL), widening and narrowing, across-lane
 * reductions, dup, loads/stores (vld1/vst1, vld2/vst2, vld3/vld4), float
 * sqrt/div/fma and conversions. Inputs come from volatile arrays; every result
 * is printed. Exits 0 when the self-checks pass, 1 otherwise. */
#include <arm_neon.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("CHECK FAILED line %d: %s\n", __LINE__, #cond); failures++; } } while (0)

static volatile uint8_t src8[64];
static volatile uint16_t src16[32];
static volatile uint32_t src32[16];
static volatile uint64_t src64[8];
static volatile float srcf[16];
static volatile double srcd[8];

static void p8(const char *name, uint8x16_t v)
{
    uint8_t b[16];
    vst1q_u8(b, v);
    printf("%-10s", name);
    for (int i = 0; i < 16; i++) printf(" %02x", b[i]);
    printf("\n");
}
static void p8d(const char *name, uint8x8_t v) { p8(name, vcombine_u8(v, vdup_n_u8(0))); }
static void p16(const char *name, uint16x8_t v)
{
    uint16_t b[8];
    vst1q_u16(b, v);
    printf("%-10s", name);
    for (int i = 0; i < 8; i++) printf(" %04x", b[i]);
    printf("\n");
}
static void p32(const char *name, uint32x4_t v)
{
    uint32_t b[4];
    vst1q_u32(b, v);
    printf("%-10s %08x %08x %08x %08x\n", name, b[0], b[1], b[2], b[3]);
}
static void p64(const char *name, uint64x2_t v)
{
    printf("%-10s %016" PRIx64 " %016" PRIx64 "\n", name, vgetq_lane_u64(v, 0), vgetq_lane_u64(v, 1));
}
static void pf(const char *name, float32x4_t v)
{
    float b[4];
    vst1q_f32(b, v);
    printf("%-10s %.9g %.9g %.9g %.9g\n", name, b[0], b[1], b[2], b[3]);
}
static void pd(const char *name, float64x2_t v)
{
    printf("%-10s %.17g %.17g\n", name, vgetq_lane_f64(v, 0), vgetq_lane_f64(v, 1));
}

static uint8x16_t ld8(int off) { uint8_t b[16]; for (int i = 0; i < 16; i++) b[i] = src8[(off + i) & 63]; return vld1q_u8(b); }
static uint16x8_t ld16(int off) { uint16_t b[8]; for (int i = 0; i < 8; i++) b[i] = src16[(off + i) & 31]; return vld1q_u16(b); }
static uint32x4_t ld32(int off) { uint32_t b[4]; for (int i = 0; i < 4; i++) b[i] = src32[(off + i) & 15]; return vld1q_u32(b); }
static uint64x2_t ld64(int off) { uint64_t b[2]; for (int i = 0; i < 2; i++) b[i] = src64[(off + i) & 7]; return vld1q_u64(b); }
static float32x4_t ldf(int off) { float b[4]; for (int i = 0; i < 4; i++) b[i] = srcf[(off + i) & 15]; return vld1q_f32(b); }
static float64x2_t ldd(int off) { double b[2]; for (int i = 0; i < 2; i++) b[i] = srcd[(off + i) & 7]; return vld1q_f64(b); }

static void init(void)
{
    uint32_t x = 0x12345678;
    for (int i = 0; i < 64; i++) { x = x * 1103515245u + 12345u; src8[i] = (uint8_t)(x >> 16); }
    src8[0] = 0; src8[1] = 0xff; src8[2] = 0x80; src8[3] = 0x7f;
    for (int i = 0; i < 32; i++) { x = x * 1103515245u + 12345u; src16[i] = (uint16_t)(x >> 8); }
    src16[0] = 0x8000; src16[1] = 0x7fff; src16[2] = 0xffff;
    for (int i = 0; i < 16; i++) { x = x * 1103515245u + 12345u; src32[i] = x ^ (x << 7); }
    src32[0] = 0x80000000u; src32[1] = 0x7fffffffu; src32[2] = 0xffffffffu; src32[3] = 1;
    for (int i = 0; i < 8; i++) { x = x * 1103515245u + 12345u; src64[i] = ((uint64_t)x << 32) ^ (x * 2654435761u); }
    src64[0] = 0x8000000000000000ULL; src64[1] = 0x7fffffffffffffffULL;
    const float fv[16] = { 1.0f, -2.5f, 3.25f, 0.1f, 100.0f, -0.0f, 1e-3f, 7.0f,
                           -1e10f, 2.0f, 0.5f, -3.75f, 1e30f, -1e-30f, 65536.5f, 9.0f };
    for (int i = 0; i < 16; i++) srcf[i] = fv[i];
    const double dv[8] = { 1.0, -2.5, 3.141592653589793, 1e-300, 1e300, -0.1, 2.0, 17.25 };
    for (int i = 0; i < 8; i++) srcd[i] = dv[i];
}

static void test_int_arith(void)
{
    printf("== integer arithmetic\n");
    uint8x16_t a8 = ld8(0), b8 = ld8(16), c8 = ld8(32);
    p8("a8", a8); p8("b8", b8);
    p8("add8", vaddq_u8(a8, b8));
    p8("sub8", vsubq_u8(a8, b8));
    p8("mul8", vmulq_u8(a8, b8));
    p8("mla8", vmlaq_u8(c8, a8, b8));
    p8("mls8", vmlsq_u8(c8, a8, b8));
    p8("qadd u8", vqaddq_u8(a8, b8));
    p8("qadd s8", vreinterpretq_u8_s8(vqaddq_s8(vreinterpretq_s8_u8(a8), vreinterpretq_s8_u8(b8))));
    p8("qsub u8", vqsubq_u8(a8, b8));
    p8("qsub s8", vreinterpretq_u8_s8(vqsubq_s8(vreinterpretq_s8_u8(a8), vreinterpretq_s8_u8(b8))));
    p8("hadd u8", vhaddq_u8(a8, b8));
    p8("rhadd u8", vrhaddq_u8(a8, b8));
    p8("abd u8", vabdq_u8(a8, b8));
    p8("aba u8", vabaq_u8(c8, a8, b8));
    p8("abs s8", vreinterpretq_u8_s8(vabsq_s8(vreinterpretq_s8_u8(a8))));
    p8("qabs s8", vreinterpretq_u8_s8(vqabsq_s8(vreinterpretq_s8_u8(a8))));
    p8("neg s8", vreinterpretq_u8_s8(vnegq_s8(vreinterpretq_s8_u8(a8))));
    p8("cnt", vcntq_u8(a8));
    p8("clz", vclzq_u8(a8));
    p8("rbit", vrbitq_u8(a8));
    p8("mvn", vmvnq_u8(a8));
    p8("and", vandq_u8(a8, b8));
    p8("orr", vorrq_u8(a8, b8));
    p8("eor", veorq_u8(a8, b8));
    p8("bic", vbicq_u8(a8, b8));
    p8("orn", vornq_u8(a8, b8));
    p8("bsl", vbslq_u8(c8, a8, b8));
    p8("pmul", vreinterpretq_u8_p8(vmulq_p8(vreinterpretq_p8_u8(a8), vreinterpretq_p8_u8(b8))));

    uint16x8_t a16 = ld16(0), b16 = ld16(8), c16 = ld16(16);
    p16("a16", a16); p16("b16", b16);
    p16("add16", vaddq_u16(a16, b16));
    p16("mul16", vmulq_u16(a16, b16));
    p16("mla16", vmlaq_u16(c16, a16, b16));
    p16("mul_lane", vmulq_laneq_u16(a16, b16, 3));
    p16("mla_lane 4h", vcombine_u16(vmla_laneq_u16(vget_low_u16(c16), vget_low_u16(a16), b16, 7), vdup_n_u16(0)));
    p16("mls_lane 8h", vmlsq_lane_u16(c16, a16, vget_low_u16(b16), 1));
    p16("qdmulh", vreinterpretq_u16_s16(vqdmulhq_s16(vreinterpretq_s16_u16(a16), vreinterpretq_s16_u16(b16))));
    p16("qrdmulh", vreinterpretq_u16_s16(vqrdmulhq_s16(vreinterpretq_s16_u16(a16), vreinterpretq_s16_u16(b16))));
    p16("qadd s16", vreinterpretq_u16_s16(vqaddq_s16(vreinterpretq_s16_u16(a16), vreinterpretq_s16_u16(b16))));
    p16("rev16", vreinterpretq_u16_u8(vrev16q_u8(vreinterpretq_u8_u16(a16))));

    uint32x4_t a32 = ld32(0), b32 = ld32(4), c32 = ld32(8);
    p32("a32", a32); p32("b32", b32);
    p32("add32", vaddq_u32(a32, b32));
    p32("sub32", vsubq_u32(a32, b32));
    p32("mul32", vmulq_u32(a32, b32));
    p32("mla32", vmlaq_u32(c32, a32, b32));
    p32("mls lane", vmlsq_laneq_u32(c32, a32, b32, 2));
    p32("mla lane 4s", vmlaq_laneq_u32(c32, a32, b32, 3));
    p32("mla lane 2s", vcombine_u32(vmla_lane_u32(vget_low_u32(c32), vget_low_u32(a32), vget_high_u32(b32), 1), vdup_n_u32(7)));
    p32("mul lane self", vmulq_laneq_u32(a32, a32, 1));
    p32("qadd s32", vreinterpretq_u32_s32(vqaddq_s32(vreinterpretq_s32_u32(a32), vreinterpretq_s32_u32(b32))));
    p32("qsub u32", vqsubq_u32(a32, b32));
    p32("rev64", vrev64q_u32(a32));
    p32("padd", vpaddq_u32(a32, b32));
    p32("qdmulh32", vreinterpretq_u32_s32(vqdmulhq_s32(vreinterpretq_s32_u32(a32), vreinterpretq_s32_u32(b32))));

    uint64x2_t a64 = ld64(0), b64 = ld64(2);
    p64("a64", a64); p64("b64", b64);
    p64("add64", vaddq_u64(a64, b64));
    p64("sub64", vsubq_u64(a64, b64));
    p64("qadd s64", vreinterpretq_u64_s64(vqaddq_s64(vreinterpretq_s64_u64(a64), vreinterpretq_s64_u64(b64))));
    p64("qadd u64", vqaddq_u64(a64, b64));
    p64("qsub s64", vreinterpretq_u64_s64(vqsubq_s64(vreinterpretq_s64_u64(a64), vreinterpretq_s64_u64(b64))));
    p64("abs64", vreinterpretq_u64_s64(vabsq_s64(vreinterpretq_s64_u64(a64))));
    printf("fpsr qc=%d\n", (int)((__builtin_aarch64_get_fpsr() >> 27) & 1));
}

static void test_compare_minmax(void)
{
    printf("== compare / min / max\n");
    uint8x16_t a8 = ld8(3), b8 = ld8(40);
    int8x16_t s8a = vreinterpretq_s8_u8(a8), s8b = vreinterpretq_s8_u8(b8);
    p8("ceq", vceqq_u8(a8, b8));
    p8("cgt u", vcgtq_u8(a8, b8));
    p8("cge u", vcgeq_u8(a8, b8));
    p8("cgt s", vcgtq_s8(s8a, s8b));
    p8("cle s", vcleq_s8(s8a, s8b));
    p8("clt0 s", vcltzq_s8(s8a));
    p8("ceqz", vceqzq_u8(vandq_u8(a8, vdupq_n_u8(3))));
    p8("tst", vtstq_u8(a8, b8));
    p8("max u", vmaxq_u8(a8, b8));
    p8("min u", vminq_u8(a8, b8));
    p8("max s", vreinterpretq_u8_s8(vmaxq_s8(s8a, s8b)));
    p8("min s", vreinterpretq_u8_s8(vminq_s8(s8a, s8b)));
    p8("pmax u", vpmaxq_u8(a8, b8));
    p8("pmin s", vreinterpretq_u8_s8(vpminq_s8(s8a, s8b)));
    uint32x4_t a32 = ld32(1), b32 = ld32(9);
    p32("cgt s32", vcgtq_s32(vreinterpretq_s32_u32(a32), vreinterpretq_s32_u32(b32)));
    p32("max s32", vreinterpretq_u32_s32(vmaxq_s32(vreinterpretq_s32_u32(a32), vreinterpretq_s32_u32(b32))));
    p64("cgt s64", vcgtq_s64(vreinterpretq_s64_u64(ld64(0)), vreinterpretq_s64_u64(ld64(3))));
    p64("cgt u64", vcgtq_u64(ld64(0), ld64(3)));
    float32x4_t fa = ldf(0), fb = ldf(4);
    float32x4_t fnan = vsetq_lane_f32(__builtin_nanf(""), fa, 2);
    p32("fceq", vceqq_f32(fnan, fa));
    p32("fcgt", vcgtq_f32(fa, fb));
    p32("fcge", vcgeq_f32(fnan, fb));
    p32("fcagt", vcagtq_f32(fa, fb));
    pf("fmax", vmaxq_f32(fa, fb));
    pf("fmin", vminq_f32(fa, fb));
    pf("fmax nan", vmaxq_f32(fnan, fb));
    pf("fmaxnm nan", vmaxnmq_f32(fnan, fb));
    pf("fminnm nan", vminnmq_f32(fnan, fb));
    pf("fmin -0", vminq_f32(vdupq_n_f32(0.0f), vdupq_n_f32(-0.0f)));
}

static void test_shifts(void)
{
    printf("== shifts\n");
    uint8x16_t a8 = ld8(5);
    int8x16_t s8 = vreinterpretq_s8_u8(a8);
    int8x16_t amt8 = { 0, 1, 2, 3, 7, 8, 9, -1, -2, -3, -7, -8, -9, 5, -5, 127 };
    p8("shl3", vshlq_n_u8(a8, 3));
    p8("ushr3", vshrq_n_u8(a8, 3));
    p8("sshr3", vreinterpretq_u8_s8(vshrq_n_s8(s8, 3)));
    p8("ursh3", vrshrq_n_u8(a8, 3));
    p8("srsra3", vreinterpretq_u8_s8(vrsraq_n_s8(s8, s8, 3)));
    p8("ushl reg", vshlq_u8(a8, amt8));
    p8("sshl reg", vreinterpretq_u8_s8(vshlq_s8(s8, amt8)));
    p8("urshl reg", vrshlq_u8(a8, amt8));
    p8("srshl reg", vreinterpretq_u8_s8(vrshlq_s8(s8, amt8)));
    p8("uqshl reg", vqshlq_u8(a8, amt8));
    p8("sqshl reg", vreinterpretq_u8_s8(vqshlq_s8(s8, amt8)));
    p8("uqrshl", vqrshlq_u8(a8, amt8));
    p8("sqrshl", vreinterpretq_u8_s8(vqrshlq_s8(s8, amt8)));
    p8("uqshl #5", vqshlq_n_u8(a8, 5));
    p8("sqshlu #2", vqshluq_n_s8(s8, 2));
    p8("sli #4", vsliq_n_u8(a8, ld8(20), 4));
    p8("sri #3", vsriq_n_u8(a8, ld8(20), 3));
    uint16x8_t a16 = ld16(3);
    int16x8_t amt16 = { 0, 1, 15, 16, -1, -15, -16, -17 };
    p16("shl16", vshlq_u16(a16, amt16));
    p16("sshl16", vreinterpretq_u16_s16(vshlq_s16(vreinterpretq_s16_u16(a16), amt16)));
    p16("urshr16", vrshrq_n_u16(a16, 16));
    p16("sqrshl16", vreinterpretq_u16_s16(vqrshlq_s16(vreinterpretq_s16_u16(a16), amt16)));
    uint32x4_t a32 = ld32(0);
    int32x4_t amt32 = { 31, -31, 32, -32 };
    p32("ushl32", vshlq_u32(a32, amt32));
    p32("sshl32", vreinterpretq_u32_s32(vshlq_s32(vreinterpretq_s32_u32(a32), amt32)));
    p32("sqshl32", vreinterpretq_u32_s32(vqshlq_s32(vreinterpretq_s32_u32(a32), amt32)));
    p32("ushr #32", vshrq_n_u32(a32, 32));
    p32("sshr #32", vreinterpretq_u32_s32(vshrq_n_s32(vreinterpretq_s32_u32(a32), 32)));
    uint64x2_t a64 = ld64(1);
    int64x2_t amt64 = { 63, -64 };
    p64("ushl64", vshlq_u64(a64, amt64));
    p64("srshr64", vreinterpretq_u64_s64(vrshrq_n_s64(vreinterpretq_s64_u64(a64), 17)));
    p64("usra64", vsraq_n_u64(a64, a64, 33));
    p64("shl64 #63", vshlq_n_u64(a64, 63));
}

static void test_permute(void)
{
    printf("== permutes\n");
    uint8x16_t a = ld8(0), b = ld8(16);
    p8("zip1", vzip1q_u8(a, b));
    p8("zip2", vzip2q_u8(a, b));
    p8("uzp1", vuzp1q_u8(a, b));
    p8("uzp2", vuzp2q_u8(a, b));
    p8("trn1", vtrn1q_u8(a, b));
    p8("trn2", vtrn2q_u8(a, b));
    p8("ext3", vextq_u8(a, b, 3));
    p8("ext15", vextq_u8(a, b, 15));
    uint8x16_t idx = { 0, 31, 16, 5, 255, 32, 15, 1, 2, 3, 17, 18, 64, 7, 8, 30 };
    uint8x16x2_t tab2 = { { a, b } };
    p8("tbl1", vqtbl1q_u8(a, idx));
    p8("tbl2", vqtbl2q_u8(tab2, idx));
    p8("tbx1", vqtbx1q_u8(b, a, idx));
    uint8x16x4_t tab4 = { { a, b, ld8(32), ld8(48) } };
    p8("tbl4", vqtbl4q_u8(tab4, idx));
    p8("tbx4", vqtbx4q_u8(a, tab4, vaddq_u8(idx, vdupq_n_u8(40))));
    p8d("tbl d", vtbl1_u8(vget_low_u8(a), vget_low_u8(idx)));
    uint16x8_t a16 = ld16(0), b16 = ld16(8);
    p16("zip1.16", vzip1q_u16(a16, b16));
    p16("uzp2.16", vuzp2q_u16(a16, b16));
    p16("trn1.16", vtrn1q_u16(a16, b16));
    p16("ext.16", vextq_u16(a16, b16, 5));
    uint32x4_t a32 = ld32(0), b32 = ld32(4);
    p32("zip2.32", vzip2q_u32(a32, b32));
    p32("uzp1.32", vuzp1q_u32(a32, b32));
    p32("trn2.32", vtrn2q_u32(a32, b32));
    p64("zip1.64", vzip1q_u64(ld64(0), ld64(2)));
    p64("trn2.64", vtrn2q_u64(ld64(0), ld64(2)));
    p8("rev32", vrev32q_u8(a));
    p8("rev64", vrev64q_u8(a));
    p32("dup lane", vdupq_laneq_u32(a32, 2));
    p8("dup n", vdupq_n_u8(src8[7]));
    p16("dup n16", vdupq_n_u16(src16[5]));
    p64("dup n64", vdupq_n_u64(src64[4]));
    p32("ins", vsetq_lane_u32(src32[9], a32, 1));
    p32("copy lane", vcopyq_laneq_u32(a32, 3, b32, 0));
    p32("movi", vdupq_n_u32(0x00ff0000));
    p64("movi64", vdupq_n_u64(0xff00ff0000ffff00ULL));
    printf("umov: %u %d %u %" PRIu64 "\n", vgetq_lane_u8(a, 9), vgetq_lane_s8(vreinterpretq_s8_u8(a), 1),
           vgetq_lane_u16(a16, 7), vgetq_lane_u64(ld64(5), 1));
}

static void test_widen_narrow(void)
{
    printf("== widen / narrow\n");
    uint8x16_t a8 = ld8(8), b8 = ld8(24);
    p16("movl u8", vmovl_u8(vget_low_u8(a8)));
    p16("movl s8", vreinterpretq_u16_s16(vmovl_s8(vreinterpret_s8_u8(vget_high_u8(a8)))));
    p16("addl u8", vaddl_u8(vget_low_u8(a8), vget_low_u8(b8)));
    p16("addl2 s8", vreinterpretq_u16_s16(vaddl_high_s8(vreinterpretq_s8_u8(a8), vreinterpretq_s8_u8(b8))));
    p16("subl u8", vsubl_u8(vget_low_u8(a8), vget_low_u8(b8)));
    p16("addw u8", vaddw_u8(ld16(0), vget_low_u8(b8)));
    p16("addw2 s8", vreinterpretq_u16_s16(vaddw_high_s8(vreinterpretq_s16_u16(ld16(0)), vreinterpretq_s8_u8(b8))));
    p32("subw2 s16", vreinterpretq_u32_s32(vsubw_high_s16(vreinterpretq_s32_u32(ld32(0)), vreinterpretq_s16_u16(ld16(8)))));
    p32("subw u16", vsubw_u16(ld32(4), vget_low_u16(ld16(3))));
    {
        int64x2_t w = vaddw_s32(vreinterpretq_s64_u32(ld32(0)), vreinterpret_s32_u32(vget_high_u32(ld32(5))));
        w = vaddw_high_s32(w, vreinterpretq_s32_u32(ld32(1)));
        p32("addw s32", vreinterpretq_u32_s64(w));
        p32("addw2 u32", vreinterpretq_u32_u64(vaddw_high_u32(vreinterpretq_u64_u32(ld32(2)), ld32(6))));
    }
    p16("mull u8", vmull_u8(vget_low_u8(a8), vget_low_u8(b8)));
    p16("mull2 s8", vreinterpretq_u16_s16(vmull_high_s8(vreinterpretq_s8_u8(a8), vreinterpretq_s8_u8(b8))));
    p16("mlal u8", vmlal_u8(ld16(8), vget_low_u8(a8), vget_low_u8(b8)));
    p16("abdl u8", vabdl_u8(vget_low_u8(a8), vget_low_u8(b8)));
    p16("pmull", vreinterpretq_u16_p16(vmull_p8(vreinterpret_p8_u8(vget_low_u8(a8)), vreinterpret_p8_u8(vget_low_u8(b8)))));
    p16("paddl u8", vpaddlq_u8(a8));
    p16("shll", vshll_n_u8(vget_low_u8(a8), 8));
    p16("ushll #3", vshll_n_u8(vget_low_u8(a8), 3));
    uint16x8_t a16 = ld16(4), b16 = ld16(12);
    p32("movl u16", vmovl_u16(vget_low_u16(a16)));
    p32("mull s16", vreinterpretq_u32_s32(vmull_s16(vreinterpret_s16_u16(vget_low_u16(a16)), vreinterpret_s16_u16(vget_low_u16(b16)))));
    p32("qdmull", vreinterpretq_u32_s32(vqdmull_s16(vreinterpret_s16_u16(vget_low_u16(a16)), vreinterpret_s16_u16(vget_low_u16(b16)))));
    p32("padal u16", vpadalq_u16(ld32(0), a16));
    uint32x4_t a32 = ld32(2), b32 = ld32(6);
    p64("movl u32", vmovl_u32(vget_low_u32(a32)));
    p64("mull u32", vmull_u32(vget_low_u32(a32), vget_low_u32(b32)));
    p64("mull2 s32", vreinterpretq_u64_s64(vmull_high_s32(vreinterpretq_s32_u32(a32), vreinterpretq_s32_u32(b32))));
    p64("addl2 u32", vaddl_high_u32(a32, b32));
    /* Narrowing. */
    p8d("movn 16", vmovn_u16(a16));
    p8("movn2", vmovn_high_u16(vmovn_u16(a16), b16));
    p8d("qmovn u16", vqmovn_u16(a16));
    p8d("qmovn s16", vreinterpret_u8_s8(vqmovn_s16(vreinterpretq_s16_u16(a16))));
    p8d("qmovun", vqmovun_s16(vreinterpretq_s16_u16(a16)));
    p8d("shrn #4", vshrn_n_u16(a16, 4));
    p8d("rshrn #4", vrshrn_n_u16(a16, 4));
    p8d("qshrn u #3", vqshrn_n_u16(a16, 3));
    p8d("qrshrn s", vreinterpret_u8_s8(vqrshrn_n_s16(vreinterpretq_s16_u16(a16), 5)));
    p8d("qrshrun", vqrshrun_n_s16(vreinterpretq_s16_u16(a16), 2));
    p8d("addhn", vaddhn_u16(a16, b16));
    p8d("raddhn", vraddhn_u16(a16, b16));
    p8d("subhn", vsubhn_u16(a16, b16));
    uint32x4_t w32 = ld32(3);
    uint16x4_t n16 = vqmovn_u32(w32);
    printf("qmovn u32: %04x %04x %04x %04x\n", vget_lane_u16(n16, 0), vget_lane_u16(n16, 1), vget_lane_u16(n16, 2), vget_lane_u16(n16, 3));
    int32x2_t n32 = vqmovn_s64(vreinterpretq_s64_u64(ld64(0)));
    printf("qmovn s64: %08x %08x\n", (uint32_t)vget_lane_s32(n32, 0), (uint32_t)vget_lane_s32(n32, 1));
    uint32x2_t m32 = vmovn_u64(ld64(4));
    printf("movn u64: %08x %08x\n", vget_lane_u32(m32, 0), vget_lane_u32(m32, 1));
}

static void test_reductions(void)
{
    printf("== reductions\n");
    for (int off = 0; off < 64; off += 13) {
        uint8x16_t a = ld8(off);
        int8x16_t s = vreinterpretq_s8_u8(a);
        uint16x8_t h = ld16(off / 2);
        uint32x4_t w = ld32(off / 4);
        printf("off %2d: addv8=%u maxv8=%u minv8=%u smaxv8=%d sminv8=%d addlv8=%u saddlv8=%d"
               " addv16=%u maxv16=%u addlv16=%u addv32=%u maxv32=%u minv32=%u addlv32=%" PRIu64
               " addp64=%" PRIu64 "\n",
               off, vaddvq_u8(a), vmaxvq_u8(a), vminvq_u8(a), vmaxvq_s8(s), vminvq_s8(s),
               vaddlvq_u8(a), vaddlvq_s8(s), vaddvq_u16(h), vmaxvq_u16(h), vaddlvq_u16(h),
               vaddvq_u32(w), vmaxvq_u32(w), vminvq_u32(w), vaddlvq_u32(w), vaddvq_u64(ld64(off / 8)));
    }
    float32x4_t f = ldf(0);
    printf("f: addv=%.9g maxv=%.9g minv=%.9g maxnmv=%.9g\n", vaddvq_f32(f), vmaxvq_f32(f), vminvq_f32(f), vmaxnmvq_f32(f));
    float64x2_t d = ldd(2);
    printf("d: addv=%.17g maxv=%.17g\n", vaddvq_f64(d), vmaxvq_f64(d));
    uint8_t sum = 0;
    for (int i = 0; i < 16; i++) sum += src8[i];
    CHECK(sum == vaddvq_u8(ld8(0)));
}

static void test_loadstore(void)
{
    printf("== loads / stores\n");
    uint8_t buf[64], out[80];
    for (int i = 0; i < 64; i++) buf[i] = src8[i];
    memset(out, 0xee, sizeof out);
    uint8x16x2_t l2 = vld2q_u8(buf);
    p8("ld2 0", l2.val[0]); p8("ld2 1", l2.val[1]);
    uint8x16x3_t l3 = vld3q_u8(buf);
    p8("ld3 2", l3.val[2]);
    uint8x16x4_t l4 = vld4q_u8(buf);
    p8("ld4 3", l4.val[3]);
    vst2q_u8(out + 1, l2);
    vst1q_u8(out + 40, vld1q_u8(buf + 3));
    for (int i = 0; i < 80; i++) printf("%02x%s", out[i], (i % 40 == 39) ? "\n" : "");
    uint16_t h[24];
    for (int i = 0; i < 24; i++) h[i] = src16[i];
    uint16x8x3_t h3 = vld3q_u16(h);
    p16("ld3.16 0", h3.val[0]);
    p16("ld3.16 1", h3.val[1]);
    uint16_t hout[24];
    vst3q_u16(hout, h3);
    CHECK(memcmp(h, hout, sizeof h) == 0);
    uint32_t w[8];
    for (int i = 0; i < 8; i++) w[i] = src32[i];
    uint32x4x2_t w2 = vld2q_u32(w);
    p32("ld2.32 0", w2.val[0]);
    uint32x4_t lane = vld1q_lane_u32(&w[5], ld32(0), 2);
    p32("ld1 lane", lane);
    uint32x4_t dupl = vld1q_dup_u32(&w[6]);
    p32("ld1r", dupl);
    uint32_t wout[8] = { 0 };
    vst1q_lane_u32(&wout[3], w2.val[1], 3);
    printf("st1 lane: %08x\n", wout[3]);
    uint64_t q[4];
    for (int i = 0; i < 4; i++) q[i] = src64[i];
    uint64x2x2_t q2 = vld1q_u64_x2(q);
    p64("ld1x2 1", q2.val[1]);
    /* Unaligned vector load/store. */
    uint8_t ua[40];
    for (int i = 0; i < 40; i++) ua[i] = (uint8_t)(i * 7);
    uint8x16_t u = vld1q_u8(ua + 5);
    vst1q_u8(ua + 17, u);
    p8("unaligned", vld1q_u8(ua + 17));
}

static void test_float(void)
{
    printf("== float vectors\n");
    float32x4_t a = ldf(0), b = ldf(4), c = ldf(8);
    pf("a", a); pf("b", b);
    pf("fadd", vaddq_f32(a, b));
    pf("fsub", vsubq_f32(a, b));
    pf("fmul", vmulq_f32(a, b));
    pf("fdiv", vdivq_f32(a, b));
    pf("fmla", vmlaq_f32(c, a, b));
    pf("fma", vfmaq_f32(c, a, b));
    pf("fms", vfmsq_f32(c, a, b));
    pf("fma lane", vfmaq_laneq_f32(c, a, b, 1));
    pf("fmul n", vmulq_n_f32(a, 0.3f));
    pf("fsqrt", vsqrtq_f32(vabsq_f32(a)));
    pf("fabs", vabsq_f32(a));
    pf("fneg", vnegq_f32(a));
    pf("fabd", vabdq_f32(a, b));
    pf("fpadd", vpaddq_f32(a, b));
    pf("frecpe", vrecpeq_f32(b));
    pf("frsqrte", vrsqrteq_f32(vabsq_f32(b)));
    pf("frecps", vrecpsq_f32(a, b));
    pf("frsqrts", vrsqrtsq_f32(a, b));
    pf("frinta", vrndaq_f32(c));
    pf("frintn", vrndnq_f32(c));
    pf("frintm", vrndmq_f32(c));
    pf("frintp", vrndpq_f32(c));
    pf("frintz", vrndq_f32(c));
    pf("frintx", vrndxq_f32(c));
    pf("mulx", vmulxq_f32(a, b));
    float64x2_t da = ldd(0), db = ldd(2), dc = ldd(4);
    pd("dadd", vaddq_f64(da, db));
    pd("dmul", vmulq_f64(da, db));
    pd("ddiv", vdivq_f64(da, db));
    pd("dfma", vfmaq_f64(dc, da, db));
    pd("dsqrt", vsqrtq_f64(vabsq_f64(db)));
    pd("dmax", vmaxq_f64(dc, db));
    pd("drnd", vrndnq_f64(vmulq_n_f64(db, 1e-0)));
    /* Conversions. */
    float32x4_t big = { 3e9f, -3e9f, __builtin_nanf(""), -0.7f };
    p32("fcvtzs", vreinterpretq_u32_s32(vcvtq_s32_f32(c)));
    p32("fcvtzu", vcvtq_u32_f32(c));
    p32("fcvtzs sat", vreinterpretq_u32_s32(vcvtq_s32_f32(big)));
    p32("fcvtzu sat", vcvtq_u32_f32(big));
    p32("fcvtns", vreinterpretq_u32_s32(vcvtnq_s32_f32(c)));
    p32("fcvtas", vreinterpretq_u32_s32(vcvtaq_s32_f32(c)));
    p32("fcvtms", vreinterpretq_u32_s32(vcvtmq_s32_f32(c)));
    p32("fcvtpu", vcvtpq_u32_f32(c));
    p32("fcvtzs #8", vreinterpretq_u32_s32(vcvtq_n_s32_f32(a, 8)));
    pf("scvtf", vcvtq_f32_s32(vreinterpretq_s32_u32(ld32(0))));
    pf("ucvtf", vcvtq_f32_u32(ld32(0)));
    pf("ucvtf #16", vcvtq_n_f32_u32(ld32(0), 16));
    pd("scvtf64", vcvtq_f64_s64(vreinterpretq_s64_u64(ld64(0))));
    p64("fcvtzs64", vreinterpretq_u64_s64(vcvtq_s64_f64(vmulq_n_f64(ldd(3), 1e3))));
    pd("fcvtl", vcvt_f64_f32(vget_low_f32(a)));
    pd("fcvtl2", vcvt_high_f64_f32(a));
    float32x2_t n = vcvt_f32_f64(ldd(4));
    printf("fcvtn: %.9g %.9g\n", vget_lane_f32(n, 0), vget_lane_f32(n, 1));
    float16x4_t hf = vcvt_f16_f32(a);
    pf("f16 round", vcvt_f32_f16(hf));
}

static void test_kernel(void)
{
    printf("== kernels\n");
    /* A dot product and a saxpy over 1000 elements, vector vs scalar. */
    static float x[1000], y[1000];
    for (int i = 0; i < 1000; i++) { x[i] = (float)((i * 37) % 101) * 0.01f; y[i] = (float)((i * 53) % 97) * 0.02f; }
    float32x4_t acc = vdupq_n_f32(0);
    for (int i = 0; i < 1000; i += 4) acc = vfmaq_f32(acc, vld1q_f32(x + i), vld1q_f32(y + i));
    float dot = vaddvq_f32(acc);
    printf("dot=%.9g\n", dot);
    for (int i = 0; i < 1000; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), 2.5f));
    double s = 0;
    for (int i = 0; i < 1000; i++) s += y[i];
    printf("saxpy sum=%.17g\n", s);
    /* Byte histogram-ish checksum with widening adds. */
    uint8_t data[4096];
    uint32_t x32 = 7;
    for (int i = 0; i < 4096; i++) { x32 = x32 * 1664525u + 1013904223u; data[i] = (uint8_t)(x32 >> 24); }
    uint32x4_t sum = vdupq_n_u32(0);
    for (int i = 0; i < 4096; i += 16) sum = vpadalq_u16(sum, vpaddlq_u8(vld1q_u8(data + i)));
    uint32_t ssum = 0;
    for (int i = 0; i < 4096; i++) ssum += data[i];
    printf("bytesum=%u scalar=%u\n", vaddvq_u32(sum), ssum);
    CHECK(vaddvq_u32(sum) == ssum);
}

int main(void)
{
    init();
    test_int_arith();
    test_compare_minmax();
    test_shifts();
    test_permute();
    test_widen_narrow();
    test_reductions();
    test_loadstore();
    test_float();
    test_kernel();
    printf("neon: %s (%d failures)\n", failures ? "FAIL" : "ok", failures);
    return failures ? 1 : 0;
}
