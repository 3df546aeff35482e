// Advanced SIMD two-register miscellaneous (vector and scalar): REV*, pairwise add long,
// CLS/CLZ/CNT/NOT/RBIT, saturating/plain ABS and NEG, compares with zero, narrowing
// (XTN, SQXTN, UQXTN, SQXTUN), SHLL, and the FP unary family (FABS, FNEG, FSQRT,
// FRINT*, FCVT*, SCVTF/UCVTF, FCMxx #0, estimates, FCVTN/FCVTXN/FCVTL).
#pragma once
#include "simd_three_same.h"

enum { M_CLS, M_CLZ, M_CNT, M_NOT, M_RBIT, M_SQABS, M_SQNEG, M_ABS, M_NEG,
       M_CMGT0, M_CMGE0, M_CMEQ0, M_CMLE0, M_CMLT0, M_SUQADD, M_USQADD };

GFN u64 misc_elem(Core& c, u32 op, u64 a, u64 acc, u32 sz) {
    u32 bits = 8u << sz;
    u64 mask = ones(bits);
    i128 sa = sext(a, bits);
    switch (op) {
    case M_CLS: {
        u64 y = ((a >> 1) ^ a) & ones(bits - 1);
        return (u64)(clz64(y) - (64 - (int)(bits - 1)));
    }
    case M_CLZ: return (u64)(clz64(a & mask) - (64 - (int)bits));
    case M_CNT: return (u64)popc64(a & mask);
    case M_NOT: return ~a & mask;
    case M_RBIT: return (rbit32((u32)a) >> (32 - bits)) & mask;
    case M_SQABS: return sat_s(c, sa < 0 ? -sa : sa, bits);
    case M_SQNEG: return sat_s(c, -sa, bits);
    case M_ABS: return (u64)(sa < 0 ? -sa : sa) & mask;
    case M_NEG: return (0 - a) & mask;
    case M_CMGT0: return sa > 0 ? mask : 0;
    case M_CMGE0: return sa >= 0 ? mask : 0;
    case M_CMEQ0: return (a & mask) == 0 ? mask : 0;
    case M_CMLE0: return sa <= 0 ? mask : 0;
    case M_CMLT0: return sa < 0 ? mask : 0;
    case M_SUQADD: return sat_s(c, (i128)sext(acc, bits) + (i128)(a & mask), bits);
    default: return sat_u(c, (i128)(acc & mask) + sa, bits);  // USQADD
    }
}
GFN_NOINLINE void vec_misc(Core& c, u32 q, u32 sz, u32 n, u32 d, u32 op) {
    if ((sz == 3 && !q) || (sz == 3 && (op == M_CLS || op == M_CLZ)) || (op == M_CNT && sz != 0)) return undef(c);
    if (op == M_CMEQ0 && sz == 0) {
        u64 lo = swar_cmeq8(V_lo(c, n), 0);
        return setV(c, d, lo, q ? swar_cmeq8(V_hi(c, n), 0) : 0);
    }
    VReg a = vget(c, n), acc = vget(c, d), r = vzero();
    for (u32 i = 0; i < vlanes(q, sz); i++) vset(r, i, sz, misc_elem(c, op, velt(a, i, sz), velt(acc, i, sz), sz));
    vput(c, d, r, q);
}
GFN_NOINLINE void sc_misc(Core& c, u32 sz, u32 n, u32 d, u32 op) {
    bool sat_op = op == M_SQABS || op == M_SQNEG || op == M_SUQADD || op == M_USQADD;
    if (!sat_op && sz != 3) return undef(c);
    set_freg(c, d, sz, misc_elem(c, op, freg(c, n, sz), freg(c, d, sz), sz));
}

/// REV16/REV32/REV64: reverse the elements inside each container of `container` bits.
GFN void vec_rev(Core& c, u32 q, u32 sz, u32 n, u32 d, u32 container) {
    u32 per = container >> (sz + 3);
    if (per < 2) return undef(c);
    VReg a = vget(c, n), r = vzero();
    for (u32 i = 0; i < vlanes(q, sz); i++) vset(r, i, sz, velt(a, (i / per) * per + per - 1 - i % per, sz));
    vput(c, d, r, q);
}
/// SADDLP/UADDLP (acc: SADALP/UADALP): add adjacent pairs into double-width elements.
GFN void vec_addlp(Core& c, u32 q, u32 sz, u32 n, u32 d, bool u, bool acc) {
    if (sz == 3) return undef(c);
    VReg a = vget(c, n), old = vget(c, d), r = vzero();
    for (u32 i = 0; i < vlanes(q, sz + 1); i++) {
        u64 x = (u64)(vint(a, 2 * i, sz, u) + vint(a, 2 * i + 1, sz, u));
        if (acc) x += velt(old, i, sz + 1);
        vset(r, i, sz + 1, x);
    }
    vput(c, d, r, q);
}

enum { N_XTN, N_SQXTN, N_UQXTN, N_SQXTUN };
/// Narrow one double-width element (sz is the narrow size).
GFN u64 narrow_elem(Core& c, u32 op, u64 x, u32 sz) {
    u32 bits = 8u << sz;
    i128 sx = sext(x, 2 * bits), ux = (i128)(x & ones(2 * bits));
    switch (op) {
    case N_XTN: return x & ones(bits);
    case N_SQXTN: return sat_s(c, sx, bits);
    case N_UQXTN: return sat_u(c, ux, bits);
    default: return sat_u(c, sx, bits);  // SQXTUN
    }
}
/// Write narrowed elements to the low half (Q=0, upper zeroed) or the high half (Q=1).
GFN void vput_narrow(Core& c, u32 q, u32 d, u64 lo64) {
    if (q) setV(c, d, V_lo(c, d), lo64);
    else setV(c, d, lo64, 0);
}
GFN_NOINLINE void vec_narrow(Core& c, u32 q, u32 sz, u32 n, u32 d, u32 op) {
    if (sz == 3) return undef(c);
    VReg a = vget(c, n), r = vzero();
    for (u32 i = 0; i < (8u >> sz); i++) vset(r, i, sz, narrow_elem(c, op, velt(a, i, sz + 1), sz));
    vput_narrow(c, q, d, r.w[0]);
}
GFN void sc_narrow(Core& c, u32 sz, u32 n, u32 d, u32 op) {
    if (sz == 3) return undef(c);
    set_freg(c, d, sz, narrow_elem(c, op, freg(c, n, sz + 1), sz));
}
/// SHLL/SHLL2: widen the low/high half and shift left by the element size.
GFN void vec_shll(Core& c, u32 q, u32 sz, u32 n, u32 d) {
    if (sz == 3) return undef(c);
    VReg a = vget(c, n), r = vzero();
    u32 lanes = 8u >> sz;
    for (u32 i = 0; i < lanes; i++) vset(r, i, sz + 1, velt(a, i + (q ? lanes : 0), sz) << (8 << sz));
    vput(c, d, r, 1);
}

// ---- floating point unary ----------------------------------------------------------------

enum { MF_ABS, MF_NEG, MF_SQRT, MF_RINT, MF_RINTX, MF_RINTI, MF_CVTS, MF_CVTU, MF_SCVTF, MF_UCVTF,
       MF_CMGT0, MF_CMGE0, MF_CMEQ0, MF_CMLE0, MF_CMLT0, MF_RECPE, MF_RSQRTE, MF_RECPX, MF_URECPE, MF_URSQRTE };
GFN u64 mfp_elem(FPEnv& e, u32 op, u64 x, u32 sz, u32 rm) {
    u64 m = ones(8 << sz);
    switch (op) {
    case MF_ABS: return fp_abs(x, sz);
    case MF_NEG: return fp_neg(x, sz);
    case MF_SQRT: return fp_arith(e, FOP_SQRT, x, x, sz);
    case MF_RINT: return fp_rint(e, x, sz, rm, false);
    case MF_RINTX: return fp_rint(e, x, sz, fp_rmode(e), true);
    case MF_RINTI: return fp_rint(e, x, sz, fp_rmode(e), false);
    case MF_CVTS: return fp_to_fixed(e, x, sz, 0, false, 8 << sz, rm);
    case MF_CVTU: return fp_to_fixed(e, x, sz, 0, true, 8 << sz, rm);
    case MF_SCVTF: return fp_from_fixed(e, x, true, 8 << sz, 0, sz);
    case MF_UCVTF: return fp_from_fixed(e, x, false, 8 << sz, 0, sz);
    case MF_CMGT0: return fp_cmp_pred(e, 2, x, 0, sz, false) ? m : 0;
    case MF_CMGE0: return fp_cmp_pred(e, 1, x, 0, sz, false) ? m : 0;
    case MF_CMEQ0: return fp_cmp_pred(e, 0, x, 0, sz, false) ? m : 0;
    case MF_CMLE0: return fp_cmp_pred(e, 1, 0, x, sz, false) ? m : 0;
    case MF_CMLT0: return fp_cmp_pred(e, 2, 0, x, sz, false) ? m : 0;
    case MF_RECPE: return fp_recpe(e, x, sz);
    case MF_RSQRTE: return fp_rsqrte(e, x, sz);
    case MF_RECPX: return fp_recpx(e, x, sz);
    case MF_URECPE: return (x >> 31) == 0 ? 0xffffffffull : (u64)fp_recip_est((u32)(x >> 23) & 511) << 23;
    default: return (x >> 30) == 0 ? 0xffffffffull : (u64)fp_rsqrt_est((u32)(x >> 23) & 511) << 23;  // URSQRTE
    }
}
GFN_NOINLINE void vec_mfp(Core& c, u32 q, u32 s, u32 n, u32 d, u32 op, u32 rm) {
    if ((s && !q) || (s && (op == MF_URECPE || op == MF_URSQRTE))) return undef(c);
    u32 sz = s + 2;
    FPEnv e = fpenv(c);
    VReg a = vget(c, n), r = vzero();
    for (u32 i = 0; i < vlanes(q, sz); i++) vset(r, i, sz, mfp_elem(e, op, velt(a, i, sz), sz, rm));
    vput(c, d, r, q);
    fpdone(c, e);
}
GFN_NOINLINE void sc_mfp(Core& c, u32 s, u32 n, u32 d, u32 op, u32 rm) {
    u32 sz = s + 2;
    FPEnv e = fpenv(c);
    set_freg(c, d, sz, mfp_elem(e, op, freg(c, n, sz), sz, rm));
    fpdone(c, e);
}
/// FCVTN/FCVTN2 (s=0: single->half, s=1: double->single), FCVTXN (round to odd).
GFN_NOINLINE void vec_fcvtn(Core& c, u32 q, u32 s, u32 n, u32 d, bool odd) {
    if (odd && !s) return undef(c);
    FPEnv e = fpenv(c);
    VReg a = vget(c, n), r = vzero();
    u32 ssz = s + 2, lanes = 8u >> (ssz - 1);
    for (u32 i = 0; i < lanes; i++) {
        u64 x = velt(a, i, ssz);
        vset(r, i, ssz - 1, odd ? fp_d2f_odd(e, x) : fp_convert(e, x, ssz, ssz - 1));
    }
    vput_narrow(c, q, d, r.w[0]);
    fpdone(c, e);
}
GFN void sc_fcvtxn(Core& c, u32 s, u32 n, u32 d) {
    if (!s) return undef(c);
    FPEnv e = fpenv(c);
    set_freg(c, d, 2, fp_d2f_odd(e, freg(c, n, 3)));
    fpdone(c, e);
}
/// FCVTL/FCVTL2 (s=0: half->single, s=1: single->double) from the low/high half.
GFN_NOINLINE void vec_fcvtl(Core& c, u32 q, u32 s, u32 n, u32 d) {
    FPEnv e = fpenv(c);
    VReg a = vget(c, n), r = vzero();
    u32 dsz = s + 2, lanes = 8u >> (dsz - 1);
    for (u32 i = 0; i < lanes; i++) vset(r, i, dsz, fp_convert(e, velt(a, i + (q ? lanes : 0), dsz - 1), dsz - 1, dsz));
    vput(c, d, r, 1);
    fpdone(c, e);
}

HANDLER void REV64_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_rev(c, q, z, n, d, 64); }
HANDLER void REV32_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_rev(c, q, z, n, d, 32); }
HANDLER void REV16_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_rev(c, q, z, n, d, 16); }
HANDLER void SADDLP_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_addlp(c, q, z, n, d, false, false); }
HANDLER void UADDLP_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_addlp(c, q, z, n, d, true, false); }
HANDLER void SUQADD_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_SUQADD); }
HANDLER void USQADD_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_USQADD); }
HANDLER void CLS_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_CLS); }
HANDLER void CLZ_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_CLZ); }
HANDLER void CNT_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_CNT); }
HANDLER void SADALP_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_addlp(c, q, z, n, d, false, true); }
HANDLER void UADALP_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_addlp(c, q, z, n, d, true, true); }
HANDLER void SQABS_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_SQABS); }
HANDLER void SQNEG_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_SQNEG); }
HANDLER void CMGT0_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_CMGT0); }
HANDLER void CMGE0_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_CMGE0); }
HANDLER void CMEQ0_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_CMEQ0); }
HANDLER void CMLE0_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_CMLE0); }
HANDLER void CMLT0_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_CMLT0); }
HANDLER void ABS_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_ABS); }
HANDLER void NEG_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_misc(c, q, z, n, d, M_NEG); }
HANDLER void XTN_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_narrow(c, q, z, n, d, N_XTN); }
HANDLER void SQXTUN_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_narrow(c, q, z, n, d, N_SQXTUN); }
HANDLER void SHLL_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_shll(c, q, z, n, d); }
HANDLER void SQXTN_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_narrow(c, q, z, n, d, N_SQXTN); }
HANDLER void UQXTN_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_narrow(c, q, z, n, d, N_UQXTN); }
HANDLER void NOT_v(Core& c, u32 q, u32 n, u32 d) { vec_misc(c, q, 0, n, d, M_NOT); }
HANDLER void RBIT_v(Core& c, u32 q, u32 n, u32 d) { vec_misc(c, q, 0, n, d, M_RBIT); }
HANDLER void FCVTN_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_fcvtn(c, q, s, n, d, false); }
HANDLER void FCVTXN_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_fcvtn(c, q, s, n, d, true); }
HANDLER void FCVTL_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_fcvtl(c, q, s, n, d); }
HANDLER void FRINTN_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_RINT, FPRM_TIEEVEN); }
HANDLER void FRINTM_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_RINT, FPRM_NEGINF); }
HANDLER void FRINTP_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_RINT, FPRM_POSINF); }
HANDLER void FRINTZ_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_RINT, FPRM_ZERO); }
HANDLER void FRINTA_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_RINT, FPRM_TIEAWAY); }
HANDLER void FRINTX_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_RINTX, 0); }
HANDLER void FRINTI_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_RINTI, 0); }
HANDLER void FCVTNS_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTS, FPRM_TIEEVEN); }
HANDLER void FCVTMS_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTS, FPRM_NEGINF); }
HANDLER void FCVTAS_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTS, FPRM_TIEAWAY); }
HANDLER void SCVTF_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_SCVTF, 0); }
HANDLER void FCVTPS_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTS, FPRM_POSINF); }
HANDLER void FCVTZS_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTS, FPRM_ZERO); }
HANDLER void URECPE_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_URECPE, 0); }
HANDLER void FRECPE_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_RECPE, 0); }
HANDLER void FCVTNU_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTU, FPRM_TIEEVEN); }
HANDLER void FCVTMU_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTU, FPRM_NEGINF); }
HANDLER void FCVTAU_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTU, FPRM_TIEAWAY); }
HANDLER void UCVTF_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_UCVTF, 0); }
HANDLER void FCVTPU_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTU, FPRM_POSINF); }
HANDLER void FCVTZU_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CVTU, FPRM_ZERO); }
HANDLER void URSQRTE_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_URSQRTE, 0); }
HANDLER void FRSQRTE_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_RSQRTE, 0); }
HANDLER void FCMGT0_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CMGT0, 0); }
HANDLER void FCMGE0_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CMGE0, 0); }
HANDLER void FCMEQ0_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CMEQ0, 0); }
HANDLER void FCMLE0_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CMLE0, 0); }
HANDLER void FCMLT0_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_CMLT0, 0); }
HANDLER void FABS_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_ABS, 0); }
HANDLER void FNEG_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_NEG, 0); }
HANDLER void FSQRT_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_mfp(c, q, s, n, d, MF_SQRT, 0); }
HANDLER void SUQADD_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_SUQADD); }
HANDLER void USQADD_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_USQADD); }
HANDLER void SQABS_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_SQABS); }
HANDLER void SQNEG_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_SQNEG); }
HANDLER void CMGT0_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_CMGT0); }
HANDLER void CMGE0_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_CMGE0); }
HANDLER void CMEQ0_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_CMEQ0); }
HANDLER void CMLE0_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_CMLE0); }
HANDLER void CMLT0_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_CMLT0); }
HANDLER void ABS_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_ABS); }
HANDLER void NEG_sc(Core& c, u32 z, u32 n, u32 d) { sc_misc(c, z, n, d, M_NEG); }
HANDLER void SQXTUN_sc(Core& c, u32 z, u32 n, u32 d) { sc_narrow(c, z, n, d, N_SQXTUN); }
HANDLER void SQXTN_sc(Core& c, u32 z, u32 n, u32 d) { sc_narrow(c, z, n, d, N_SQXTN); }
HANDLER void UQXTN_sc(Core& c, u32 z, u32 n, u32 d) { sc_narrow(c, z, n, d, N_UQXTN); }
HANDLER void FCVTXN_sc(Core& c, u32 s, u32 n, u32 d) { sc_fcvtxn(c, s, n, d); }
HANDLER void FCVTNS_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTS, FPRM_TIEEVEN); }
HANDLER void FCVTMS_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTS, FPRM_NEGINF); }
HANDLER void FCVTAS_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTS, FPRM_TIEAWAY); }
HANDLER void SCVTF_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_SCVTF, 0); }
HANDLER void FCVTPS_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTS, FPRM_POSINF); }
HANDLER void FCVTZS_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTS, FPRM_ZERO); }
HANDLER void FRECPE_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_RECPE, 0); }
HANDLER void FCVTNU_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTU, FPRM_TIEEVEN); }
HANDLER void FCVTMU_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTU, FPRM_NEGINF); }
HANDLER void FCVTAU_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTU, FPRM_TIEAWAY); }
HANDLER void UCVTF_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_UCVTF, 0); }
HANDLER void FCVTPU_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTU, FPRM_POSINF); }
HANDLER void FCVTZU_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CVTU, FPRM_ZERO); }
HANDLER void FRSQRTE_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_RSQRTE, 0); }
HANDLER void FCMGT0_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CMGT0, 0); }
HANDLER void FCMGE0_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CMGE0, 0); }
HANDLER void FCMEQ0_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CMEQ0, 0); }
HANDLER void FCMLE0_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CMLE0, 0); }
HANDLER void FCMLT0_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_CMLT0, 0); }
HANDLER void FRECPX_sc(Core& c, u32 s, u32 n, u32 d) { sc_mfp(c, s, n, d, MF_RECPX, 0); }
