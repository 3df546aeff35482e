// Advanced SIMD three same (vector and scalar): integer arithmetic, compares, shifts by
// register, min/max, absolute difference, pairwise ops, logic, and the FP three-same
// operations. One element function per family; one line per instruction.
#pragma once
#include "fp_dp.h"

enum {
    I3_ADD, I3_SUB, I3_MUL, I3_PMUL, I3_MLA, I3_MLS,
    I3_SHADD, I3_UHADD, I3_SRHADD, I3_URHADD, I3_SHSUB, I3_UHSUB,
    I3_SQADD, I3_UQADD, I3_SQSUB, I3_UQSUB,
    I3_CMGT, I3_CMHI, I3_CMGE, I3_CMHS, I3_CMEQ, I3_CMTST,
    I3_SSHL, I3_USHL, I3_SQSHL, I3_UQSHL, I3_SRSHL, I3_URSHL, I3_SQRSHL, I3_UQRSHL,
    I3_SMAX, I3_UMAX, I3_SMIN, I3_UMIN, I3_SABD, I3_UABD, I3_SABA, I3_UABA,
    I3_SQDMULH, I3_SQRDMULH,
};

/// Polynomial (carry-less) multiply of two bytes, low 8 bits (PMUL) or 16 bits.
GFN u64 pmul8(u64 a, u64 b) {
    u64 r = 0;
    for (int i = 0; i < 8; i++)
        if ((b >> i) & 1) r ^= a << i;
    return r;
}

/// One element of a three-same integer operation (a = Vn, b = Vm, acc = Vd element).
GFN u64 int3_elem(Core& c, u32 op, u64 a, u64 b, u64 acc, u32 sz) {
    u32 bits = 8u << sz;
    u64 mask = ones(bits);
    i128 sa = sext(a, bits), sb = sext(b, bits), ua = (i128)a, ub = (i128)b;
    switch (op) {
    case I3_ADD: return (a + b) & mask;
    case I3_SUB: return (a - b) & mask;
    case I3_MUL: return (a * b) & mask;
    case I3_PMUL: return pmul8(a, b) & mask;
    case I3_MLA: return (acc + a * b) & mask;
    case I3_MLS: return (acc - a * b) & mask;
    case I3_SHADD: return (u64)((sa + sb) >> 1) & mask;
    case I3_UHADD: return (u64)((ua + ub) >> 1) & mask;
    case I3_SRHADD: return (u64)((sa + sb + 1) >> 1) & mask;
    case I3_URHADD: return (u64)((ua + ub + 1) >> 1) & mask;
    case I3_SHSUB: return (u64)((sa - sb) >> 1) & mask;
    case I3_UHSUB: return (u64)((ua - ub) >> 1) & mask;
    case I3_SQADD: return sat_s(c, sa + sb, bits);
    case I3_UQADD: return sat_u(c, ua + ub, bits);
    case I3_SQSUB: return sat_s(c, sa - sb, bits);
    case I3_UQSUB: return sat_u(c, ua - ub, bits);
    case I3_CMGT: return sa > sb ? mask : 0;
    case I3_CMHI: return ua > ub ? mask : 0;
    case I3_CMGE: return sa >= sb ? mask : 0;
    case I3_CMHS: return ua >= ub ? mask : 0;
    case I3_CMEQ: return a == b ? mask : 0;
    case I3_CMTST: return (a & b) ? mask : 0;
    case I3_SMAX: return (u64)(sa > sb ? sa : sb) & mask;
    case I3_UMAX: return a > b ? a : b;
    case I3_SMIN: return (u64)(sa < sb ? sa : sb) & mask;
    case I3_UMIN: return a < b ? a : b;
    case I3_SABD: return (u64)(sa > sb ? sa - sb : sb - sa) & mask;
    case I3_UABD: return (u64)(ua > ub ? ua - ub : ub - ua) & mask;
    case I3_SABA: return (acc + (u64)(sa > sb ? sa - sb : sb - sa)) & mask;
    case I3_UABA: return (acc + (u64)(ua > ub ? ua - ub : ub - ua)) & mask;
    case I3_SQDMULH: return sat_s(c, (2 * sa * sb) >> bits, bits);
    case I3_SQRDMULH: return sat_s(c, (2 * sa * sb + ((i128)1 << (bits - 1))) >> bits, bits);
    default: {  // shifts by register: shift amount is the signed low byte of b
        bool u = op == I3_USHL || op == I3_UQSHL || op == I3_URSHL || op == I3_UQRSHL;
        bool rnd = op == I3_SRSHL || op == I3_URSHL || op == I3_SQRSHL || op == I3_UQRSHL;
        bool sat_op = op == I3_SQSHL || op == I3_UQSHL || op == I3_SQRSHL || op == I3_UQRSHL;
        i128 r = shift_int(u ? ua : sa, (i32)(i8)(u8)b, rnd);
        return sat_op ? sat(c, r, bits, u) : ((u64)r & mask);
    }
    }
}

/// Allowed sizes: 64-bit elements need Q=1, some ops have no 64-bit form at all.
GFN bool int3_size_ok(u32 op, u32 sz, u32 q) {
    switch (op) {
    case I3_PMUL: return sz == 0;
    case I3_SQDMULH: case I3_SQRDMULH: return sz == 1 || sz == 2;
    case I3_MUL: case I3_MLA: case I3_MLS:
    case I3_SHADD: case I3_UHADD: case I3_SRHADD: case I3_URHADD: case I3_SHSUB: case I3_UHSUB:
    case I3_SMAX: case I3_UMAX: case I3_SMIN: case I3_UMIN:
    case I3_SABD: case I3_UABD: case I3_SABA: case I3_UABA: return sz != 3;
    default: return sz != 3 || q;
    }
}

/// Bytes of a equal to bytes of b -> 0xff, else 0 (SWAR; hot in glibc's string routines).
GFN u64 swar_cmeq8(u64 a, u64 b) {
    u64 x = a ^ b;
    u64 nz = (((x & 0x7f7f7f7f7f7f7f7full) + 0x7f7f7f7f7f7f7f7full) | x) & 0x8080808080808080ull;
    return ((~nz & 0x8080808080808080ull) >> 7) * 0xff;
}

GFN_NOINLINE void vec_int3(Core& c, u32 q, u32 sz, u32 m, u32 n, u32 d, u32 op) {
    if (!int3_size_ok(op, sz, q)) return undef(c);
    if (op == I3_CMEQ && sz == 0) {
        u64 lo = swar_cmeq8(V_lo(c, n), V_lo(c, m));
        return setV(c, d, lo, q ? swar_cmeq8(V_hi(c, n), V_hi(c, m)) : 0);
    }
    VReg a = vget(c, n), b = vget(c, m), acc = vget(c, d), r = vzero();
    u32 lanes = vlanes(q, sz);
    for (u32 i = 0; i < lanes; i++) vset(r, i, sz, int3_elem(c, op, velt(a, i, sz), velt(b, i, sz), velt(acc, i, sz), sz));
    vput(c, d, r, q);
}
/// Pairwise: element i combines elements 2i and 2i+1 of the concatenation Vm:Vn.
GFN_NOINLINE void vec_int3p(Core& c, u32 q, u32 sz, u32 m, u32 n, u32 d, u32 op) {
    if (!int3_size_ok(op, sz, q)) return undef(c);
    VReg a = vget(c, n), b = vget(c, m), r = vzero();
    u32 lanes = vlanes(q, sz);
    for (u32 i = 0; i < lanes; i++)
        vset(r, i, sz, int3_elem(c, op, velt2(a, b, 2 * i, lanes, sz), velt2(a, b, 2 * i + 1, lanes, sz), 0, sz));
    vput(c, d, r, q);
}
/// Scalar three same: sizes allowed per op (only_d: 64-bit only).
GFN_NOINLINE void sc_int3(Core& c, u32 sz, u32 m, u32 n, u32 d, u32 op, bool only_d) {
    if ((only_d && sz != 3) || ((op == I3_SQDMULH || op == I3_SQRDMULH) && (sz == 0 || sz == 3))) return undef(c);
    set_freg(c, d, sz, int3_elem(c, op, freg(c, n, sz), freg(c, m, sz), 0, sz));
}

HANDLER void SHADD_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SHADD); }
HANDLER void UHADD_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UHADD); }
HANDLER void SQADD_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SQADD); }
HANDLER void UQADD_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UQADD); }
HANDLER void SRHADD_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SRHADD); }
HANDLER void URHADD_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_URHADD); }
HANDLER void SHSUB_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SHSUB); }
HANDLER void UHSUB_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UHSUB); }
HANDLER void SQSUB_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SQSUB); }
HANDLER void UQSUB_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UQSUB); }
HANDLER void CMGT_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_CMGT); }
HANDLER void CMHI_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_CMHI); }
HANDLER void CMGE_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_CMGE); }
HANDLER void CMHS_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_CMHS); }
HANDLER void SSHL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SSHL); }
HANDLER void USHL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_USHL); }
HANDLER void SQSHL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SQSHL); }
HANDLER void UQSHL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UQSHL); }
HANDLER void SRSHL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SRSHL); }
HANDLER void URSHL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_URSHL); }
HANDLER void SQRSHL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SQRSHL); }
HANDLER void UQRSHL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UQRSHL); }
HANDLER void SMAX_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SMAX); }
HANDLER void UMAX_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UMAX); }
HANDLER void SMIN_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SMIN); }
HANDLER void UMIN_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UMIN); }
HANDLER void SABD_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SABD); }
HANDLER void UABD_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UABD); }
HANDLER void SABA_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SABA); }
HANDLER void UABA_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_UABA); }
HANDLER void ADD_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_ADD); }
HANDLER void SUB_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SUB); }
HANDLER void CMTST_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_CMTST); }
HANDLER void CMEQ_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_CMEQ); }
HANDLER void MLA_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_MLA); }
HANDLER void MLS_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_MLS); }
HANDLER void MUL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_MUL); }
HANDLER void PMUL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_PMUL); }
HANDLER void SMAXP_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3p(c, q, z, m, n, d, I3_SMAX); }
HANDLER void UMAXP_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3p(c, q, z, m, n, d, I3_UMAX); }
HANDLER void SMINP_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3p(c, q, z, m, n, d, I3_SMIN); }
HANDLER void UMINP_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3p(c, q, z, m, n, d, I3_UMIN); }
HANDLER void SQDMULH_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SQDMULH); }
HANDLER void SQRDMULH_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3(c, q, z, m, n, d, I3_SQRDMULH); }
HANDLER void ADDP_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_int3p(c, q, z, m, n, d, I3_ADD); }

// ---- logic (whole 64-bit words) ----------------------------------------------------------

enum { L3_AND, L3_BIC, L3_ORR, L3_ORN, L3_EOR, L3_BSL, L3_BIT, L3_BIF };
GFN u64 logic_word(u32 op, u64 n, u64 m, u64 d) {
    switch (op) {
    case L3_AND: return n & m;
    case L3_BIC: return n & ~m;
    case L3_ORR: return n | m;
    case L3_ORN: return n | ~m;
    case L3_EOR: return n ^ m;
    case L3_BSL: return (d & n) | (~d & m);
    case L3_BIT: return (m & n) | (~m & d);
    default: return (m & d) | (~m & n);  // BIF
    }
}
GFN void vec_logic(Core& c, u32 q, u32 m, u32 n, u32 d, u32 op) {
    u64 lo = logic_word(op, V_lo(c, n), V_lo(c, m), V_lo(c, d));
    u64 hi = q ? logic_word(op, V_hi(c, n), V_hi(c, m), V_hi(c, d)) : 0;
    setV(c, d, lo, hi);
}
HANDLER void AND_v(Core& c, u32 q, u32 m, u32 n, u32 d) { vec_logic(c, q, m, n, d, L3_AND); }
HANDLER void BIC_v(Core& c, u32 q, u32 m, u32 n, u32 d) { vec_logic(c, q, m, n, d, L3_BIC); }
HANDLER void ORR_v(Core& c, u32 q, u32 m, u32 n, u32 d) { vec_logic(c, q, m, n, d, L3_ORR); }
HANDLER void ORN_v(Core& c, u32 q, u32 m, u32 n, u32 d) { vec_logic(c, q, m, n, d, L3_ORN); }
HANDLER void EOR_v(Core& c, u32 q, u32 m, u32 n, u32 d) { vec_logic(c, q, m, n, d, L3_EOR); }
HANDLER void BSL_v(Core& c, u32 q, u32 m, u32 n, u32 d) { vec_logic(c, q, m, n, d, L3_BSL); }
HANDLER void BIT_v(Core& c, u32 q, u32 m, u32 n, u32 d) { vec_logic(c, q, m, n, d, L3_BIT); }
HANDLER void BIF_v(Core& c, u32 q, u32 m, u32 n, u32 d) { vec_logic(c, q, m, n, d, L3_BIF); }

// ---- floating point ----------------------------------------------------------------------

enum { F3_MLA = 32, F3_MLS, F3_CMEQ, F3_CMGE, F3_CMGT, F3_ACGE, F3_ACGT };
/// One FP element: op is FOP_* / FOP2_* (fp_dp.h) or F3_*; acc is the Vd element.
GFN u64 fp3_elem(FPEnv& e, u32 op, u64 a, u64 b, u64 acc, u32 sz) {
    switch (op) {
    case F3_MLA: return fp_muladd(e, acc, a, b, sz);
    case F3_MLS: return fp_muladd(e, acc, fp_neg(a, sz), b, sz);
    case F3_CMEQ: return fp_cmp_pred(e, 0, a, b, sz, false) ? ones(8 << sz) : 0;
    case F3_CMGE: return fp_cmp_pred(e, 1, a, b, sz, false) ? ones(8 << sz) : 0;
    case F3_CMGT: return fp_cmp_pred(e, 2, a, b, sz, false) ? ones(8 << sz) : 0;
    case F3_ACGE: return fp_cmp_pred(e, 1, a, b, sz, true) ? ones(8 << sz) : 0;
    case F3_ACGT: return fp_cmp_pred(e, 2, a, b, sz, true) ? ones(8 << sz) : 0;
    default: return fp_op2(e, op, a, b, sz);
    }
}
GFN_NOINLINE void vec_fp3(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d, u32 op) {
    if (s && !q) return undef(c);
    u32 sz = s + 2, lanes = vlanes(q, sz);
    FPEnv e = fpenv(c);
    VReg a = vget(c, n), b = vget(c, m), acc = vget(c, d), r = vzero();
    for (u32 i = 0; i < lanes; i++) vset(r, i, sz, fp3_elem(e, op, velt(a, i, sz), velt(b, i, sz), velt(acc, i, sz), sz));
    vput(c, d, r, q);
    fpdone(c, e);
}
GFN_NOINLINE void vec_fp3p(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d, u32 op) {
    if (s && !q) return undef(c);
    u32 sz = s + 2, lanes = vlanes(q, sz);
    FPEnv e = fpenv(c);
    VReg a = vget(c, n), b = vget(c, m), r = vzero();
    for (u32 i = 0; i < lanes; i++)
        vset(r, i, sz, fp_op2(e, op, velt2(a, b, 2 * i, lanes, sz), velt2(a, b, 2 * i + 1, lanes, sz), sz));
    vput(c, d, r, q);
    fpdone(c, e);
}
GFN_NOINLINE void sc_fp3(Core& c, u32 s, u32 m, u32 n, u32 d, u32 op) {
    u32 sz = s + 2;
    FPEnv e = fpenv(c);
    set_freg(c, d, sz, fp3_elem(e, op, freg(c, n, sz), freg(c, m, sz), 0, sz));
    fpdone(c, e);
}

HANDLER void FMAXNM_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP2_MAXNM); }
HANDLER void FMINNM_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP2_MINNM); }
HANDLER void FMAXNMP_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3p(c, q, s, m, n, d, FOP2_MAXNM); }
HANDLER void FMINNMP_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3p(c, q, s, m, n, d, FOP2_MINNM); }
HANDLER void FMLA_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, F3_MLA); }
HANDLER void FMLS_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, F3_MLS); }
HANDLER void FADD_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP_ADD); }
HANDLER void FSUB_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP_SUB); }
HANDLER void FADDP_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3p(c, q, s, m, n, d, FOP_ADD); }
HANDLER void FABD_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP2_ABD); }
HANDLER void FMULX_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP2_MULX); }
HANDLER void FMUL_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP_MUL); }
HANDLER void FCMEQ_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, F3_CMEQ); }
HANDLER void FCMGE_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, F3_CMGE); }
HANDLER void FCMGT_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, F3_CMGT); }
HANDLER void FACGE_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, F3_ACGE); }
HANDLER void FACGT_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, F3_ACGT); }
HANDLER void FMAX_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP2_MAX); }
HANDLER void FMIN_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP2_MIN); }
HANDLER void FMAXP_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3p(c, q, s, m, n, d, FOP2_MAX); }
HANDLER void FMINP_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3p(c, q, s, m, n, d, FOP2_MIN); }
HANDLER void FRECPS_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP2_RECPS); }
HANDLER void FRSQRTS_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP2_RSQRTS); }
HANDLER void FDIV_v(Core& c, u32 q, u32 s, u32 m, u32 n, u32 d) { vec_fp3(c, q, s, m, n, d, FOP_DIV); }

// ---- scalar three same -------------------------------------------------------------------

HANDLER void SQADD_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_SQADD, false); }
HANDLER void UQADD_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_UQADD, false); }
HANDLER void SQSUB_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_SQSUB, false); }
HANDLER void UQSUB_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_UQSUB, false); }
HANDLER void CMGT_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_CMGT, true); }
HANDLER void CMHI_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_CMHI, true); }
HANDLER void CMGE_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_CMGE, true); }
HANDLER void CMHS_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_CMHS, true); }
HANDLER void SSHL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_SSHL, true); }
HANDLER void USHL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_USHL, true); }
HANDLER void SQSHL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_SQSHL, false); }
HANDLER void UQSHL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_UQSHL, false); }
HANDLER void SRSHL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_SRSHL, true); }
HANDLER void URSHL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_URSHL, true); }
HANDLER void SQRSHL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_SQRSHL, false); }
HANDLER void UQRSHL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_UQRSHL, false); }
HANDLER void ADD_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_ADD, true); }
HANDLER void SUB_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_SUB, true); }
HANDLER void CMTST_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_CMTST, true); }
HANDLER void CMEQ_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_CMEQ, true); }
HANDLER void SQDMULH_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_SQDMULH, false); }
HANDLER void SQRDMULH_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_int3(c, z, m, n, d, I3_SQRDMULH, false); }
HANDLER void FMULX_sc(Core& c, u32 s, u32 m, u32 n, u32 d) { sc_fp3(c, s, m, n, d, FOP2_MULX); }
HANDLER void FCMEQ_sc(Core& c, u32 s, u32 m, u32 n, u32 d) { sc_fp3(c, s, m, n, d, F3_CMEQ); }
HANDLER void FRECPS_sc(Core& c, u32 s, u32 m, u32 n, u32 d) { sc_fp3(c, s, m, n, d, FOP2_RECPS); }
HANDLER void FRSQRTS_sc(Core& c, u32 s, u32 m, u32 n, u32 d) { sc_fp3(c, s, m, n, d, FOP2_RSQRTS); }
HANDLER void FCMGE_sc(Core& c, u32 s, u32 m, u32 n, u32 d) { sc_fp3(c, s, m, n, d, F3_CMGE); }
HANDLER void FACGE_sc(Core& c, u32 s, u32 m, u32 n, u32 d) { sc_fp3(c, s, m, n, d, F3_ACGE); }
HANDLER void FABD_sc(Core& c, u32 s, u32 m, u32 n, u32 d) { sc_fp3(c, s, m, n, d, FOP2_ABD); }
HANDLER void FCMGT_sc(Core& c, u32 s, u32 m, u32 n, u32 d) { sc_fp3(c, s, m, n, d, F3_CMGT); }
HANDLER void FACGT_sc(Core& c, u32 s, u32 m, u32 n, u32 d) { sc_fp3(c, s, m, n, d, F3_ACGT); }
