// Scalar floating point data processing: FMOV, FABS, FNEG, FSQRT, FCVT, FRINT*, the
// two-source arithmetic, the fused multiply-adds, FMOV (immediate) and FCSEL. Half
// precision (type 11) is accepted only by FCVT (FP16 arithmetic is ARMv8.2).
#pragma once
#include "simd_common.h"

/// Single or double from the type field; other types are UNDEFINED here.
GFN bool fp_sd(Core& c, u32 t, u32* sz) {
    if (t > 1) {
        undef(c);
        return false;
    }
    *sz = t + 2;
    return true;
}

HANDLER void FMOV_f_reg(Core& c, u32 t, u32 n, u32 d) {
    u32 sz;
    if (fp_sd(c, t, &sz)) set_freg(c, d, sz, freg(c, n, sz));
}
HANDLER void FABS_f(Core& c, u32 t, u32 n, u32 d) {
    u32 sz;
    if (fp_sd(c, t, &sz)) set_freg(c, d, sz, fp_abs(freg(c, n, sz), sz));
}
HANDLER void FNEG_f(Core& c, u32 t, u32 n, u32 d) {
    u32 sz;
    if (fp_sd(c, t, &sz)) set_freg(c, d, sz, fp_neg(freg(c, n, sz), sz));
}

/// The two-source family: op is FOP_* or one of the min/max codes below.
enum { FOP2_MAX = 16, FOP2_MIN, FOP2_MAXNM, FOP2_MINNM, FOP2_NMUL, FOP2_ABD, FOP2_MULX, FOP2_RECPS, FOP2_RSQRTS };
GFN u64 fp_op2(FPEnv& e, u32 op, u64 a, u64 b, u32 sz) {
    switch (op) {
    case FOP2_MAX: return fp_minmax(e, a, b, sz, true, false);
    case FOP2_MIN: return fp_minmax(e, a, b, sz, false, false);
    case FOP2_MAXNM: return fp_minmax(e, a, b, sz, true, true);
    case FOP2_MINNM: return fp_minmax(e, a, b, sz, false, true);
    case FOP2_NMUL: return fp_neg(fp_arith(e, FOP_MUL, a, b, sz), sz);
    case FOP2_ABD: return fp_abs(fp_arith(e, FOP_SUB, a, b, sz), sz);
    case FOP2_MULX: return fp_mulx_step(e, 0, a, b, sz);
    case FOP2_RECPS: return fp_mulx_step(e, 1, a, b, sz);
    case FOP2_RSQRTS: return fp_mulx_step(e, 2, a, b, sz);
    default: return fp_arith(e, op, a, b, sz);
    }
}
GFN_NOINLINE void fp_scalar2(Core& c, u32 t, u32 m, u32 n, u32 d, u32 op) {
    u32 sz;
    if (!fp_sd(c, t, &sz)) return;
    FPEnv e = fpenv(c);
    set_freg(c, d, sz, fp_op2(e, op, freg(c, n, sz), freg(c, m, sz), sz));
    fpdone(c, e);
}
HANDLER void FMUL_f(Core& c, u32 t, u32 m, u32 n, u32 d) { fp_scalar2(c, t, m, n, d, FOP_MUL); }
HANDLER void FDIV_f(Core& c, u32 t, u32 m, u32 n, u32 d) { fp_scalar2(c, t, m, n, d, FOP_DIV); }
HANDLER void FADD_f(Core& c, u32 t, u32 m, u32 n, u32 d) { fp_scalar2(c, t, m, n, d, FOP_ADD); }
HANDLER void FSUB_f(Core& c, u32 t, u32 m, u32 n, u32 d) { fp_scalar2(c, t, m, n, d, FOP_SUB); }
HANDLER void FMAX_f(Core& c, u32 t, u32 m, u32 n, u32 d) { fp_scalar2(c, t, m, n, d, FOP2_MAX); }
HANDLER void FMIN_f(Core& c, u32 t, u32 m, u32 n, u32 d) { fp_scalar2(c, t, m, n, d, FOP2_MIN); }
HANDLER void FMAXNM_f(Core& c, u32 t, u32 m, u32 n, u32 d) { fp_scalar2(c, t, m, n, d, FOP2_MAXNM); }
HANDLER void FMINNM_f(Core& c, u32 t, u32 m, u32 n, u32 d) { fp_scalar2(c, t, m, n, d, FOP2_MINNM); }
HANDLER void FNMUL_f(Core& c, u32 t, u32 m, u32 n, u32 d) { fp_scalar2(c, t, m, n, d, FOP2_NMUL); }
HANDLER void FSQRT_f(Core& c, u32 t, u32 n, u32 d) { fp_scalar2(c, t, n, n, d, FOP_SQRT); }

/// FMADD family: negate_a / negate_n select FMSUB, FNMADD, FNMSUB (Arm: operands are
/// negated before FPMulAdd, so a NaN operand's sign flips too).
GFN_NOINLINE void fp_madd(Core& c, u32 t, u32 m, u32 a, u32 n, u32 d, bool neg_a, bool neg_n) {
    u32 sz;
    if (!fp_sd(c, t, &sz)) return;
    FPEnv e = fpenv(c);
    u64 va = freg(c, a, sz), vn = freg(c, n, sz);
    if (neg_a) va = fp_neg(va, sz);
    if (neg_n) vn = fp_neg(vn, sz);
    set_freg(c, d, sz, fp_muladd(e, va, vn, freg(c, m, sz), sz));
    fpdone(c, e);
}
HANDLER void FMADD_f(Core& c, u32 t, u32 m, u32 a, u32 n, u32 d) { fp_madd(c, t, m, a, n, d, false, false); }
HANDLER void FMSUB_f(Core& c, u32 t, u32 m, u32 a, u32 n, u32 d) { fp_madd(c, t, m, a, n, d, false, true); }
HANDLER void FNMADD_f(Core& c, u32 t, u32 m, u32 a, u32 n, u32 d) { fp_madd(c, t, m, a, n, d, true, true); }
HANDLER void FNMSUB_f(Core& c, u32 t, u32 m, u32 a, u32 n, u32 d) { fp_madd(c, t, m, a, n, d, true, false); }

HANDLER void FCVT_f(Core& c, u32 t, u32 o, u32 n, u32 d) {
    u32 sz = ftype_sz(t), dsz = ftype_sz(o);
    if (sz == 0 || dsz == 0 || sz == dsz) {
        undef(c);
        return;
    }
    FPEnv e = fpenv(c);
    set_freg(c, d, dsz, fp_convert(e, freg(c, n, sz), sz, dsz));
    fpdone(c, e);
}

/// FRINT rounding field (opcode<2:0>): N P M Z A - X I.
HANDLER void FRINT_f(Core& c, u32 t, u32 r, u32 n, u32 d) {
    u32 sz;
    if (r == 5) {
        undef(c);
        return;
    }
    if (!fp_sd(c, t, &sz)) return;
    FPEnv e = fpenv(c);
    u32 rm = r < 5 ? r : fp_rmode(e);
    set_freg(c, d, sz, fp_rint(e, freg(c, n, sz), sz, rm, r == 6));
    fpdone(c, e);
}

HANDLER void FMOV_f_imm(Core& c, u32 t, u32 i, u32 d) {
    u32 sz;
    if (fp_sd(c, t, &sz)) set_freg(c, d, sz, fp_expand_imm(i, sz));
}
HANDLER void FCSEL_f(Core& c, u32 t, u32 m, u32 cond, u32 n, u32 d) {
    u32 sz;
    if (fp_sd(c, t, &sz)) set_freg(c, d, sz, freg(c, cond_holds(c, cond) ? n : m, sz));
}
