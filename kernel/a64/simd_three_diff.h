// Advanced SIMD three different: widening (xADDL, xSUBL, xABAL, xABDL, xMLAL, xMLSL,
// xMULL, SQDMLAL, SQDMLSL, SQDMULL, PMULL 8-bit and 64-bit), wide (xADDW, xSUBW) and narrowing high
// half (ADDHN, SUBHN, RADDHN, RSUBHN) forms, plus the scalar SQDMxxL.
#pragma once
#include "simd_three_same.h"
#include "simd_two_reg_misc.h"

enum { L_ADD, L_SUB, L_ABA, L_ABD, L_MLA, L_MLS, L_MUL, L_SQDMLAL, L_SQDMLSL, L_SQDMULL, L_PMULL };
/// One widened element: a, b already extended; result of dbits bits.
GFN u64 long_elem(Core& c, u32 op, i128 a, i128 b, u64 acc, u32 dbits) {
    u64 mask = ones(dbits);
    i128 ad = a > b ? a - b : b - a;
    switch (op) {
    case L_ADD: return (u64)(a + b) & mask;
    case L_SUB: return (u64)(a - b) & mask;
    case L_ABA: return (acc + (u64)ad) & mask;
    case L_ABD: return (u64)ad & mask;
    case L_MLA: return (acc + (u64)(a * b)) & mask;
    case L_MLS: return (acc - (u64)(a * b)) & mask;
    case L_MUL: return (u64)(a * b) & mask;
    case L_PMULL: return pmul8((u64)a, (u64)b) & mask;
    default: {
        i128 p = (i128)sext(sat_s(c, 2 * a * b, dbits), dbits);
        if (op == L_SQDMULL) return (u64)p & mask;
        i128 s = (i128)sext(acc, dbits);
        return sat_s(c, op == L_SQDMLAL ? s + p : s - p, dbits);
    }
    }
}
GFN bool long_size_ok(u32 op, u32 sz) {
    if (op == L_PMULL) return sz == 0;
    if (op >= L_SQDMLAL) return sz == 1 || sz == 2;
    return sz != 3;
}
/// kind: 'L' long, 'W' wide, 'H' high narrow, 'R' rounding high narrow.
/// PMULL/PMULL2 .1Q (64x64 -> 128 carry-less, FEAT_PMULL).
GFN void pmull64(Core& c, u32 q, u32 m, u32 n, u32 d) {
    u64 a = q ? V_hi(c, n) : V_lo(c, n), b = q ? V_hi(c, m) : V_lo(c, m), lo = 0, hi = 0;
    for (int i = 0; i < 64; i++) {
        if ((b >> i) & 1) {
            lo ^= a << i;
            hi ^= i ? a >> (64 - i) : 0;
        }
    }
    setV(c, d, lo, hi);
}
GFN_NOINLINE void vec_3diff(Core& c, u32 q, u32 sz, u32 m, u32 n, u32 d, u32 op, bool u, char kind) {
    if (op == L_PMULL && sz == 3) return pmull64(c, q, m, n, d);
    if (!long_size_ok(op, sz)) return undef(c);
    VReg a = vget(c, n), b = vget(c, m), acc = vget(c, d), r = vzero();
    u32 lanes = 8u >> sz, half = q ? lanes : 0, bits = 8u << sz;
    for (u32 i = 0; i < lanes; i++) {
        if (kind == 'H' || kind == 'R') {
            u64 x = velt(a, i, sz + 1), y = velt(b, i, sz + 1);
            u64 s = (op == L_ADD ? x + y : x - y) + (kind == 'R' ? 1ull << (bits - 1) : 0);
            vset(r, i, sz, (s & ones(2 * bits)) >> bits);
        } else {
            i128 x = kind == 'W' ? vint(a, i, sz + 1, u) : vint(a, i + half, sz, u);
            vset(r, i, sz + 1, long_elem(c, op, x, vint(b, i + half, sz, u), velt(acc, i, sz + 1), 2 * bits));
        }
    }
    if (kind == 'H' || kind == 'R') vput_narrow(c, q, d, r.w[0]);
    else vput(c, d, r, 1);
}
GFN_NOINLINE void sc_3diff(Core& c, u32 sz, u32 m, u32 n, u32 d, u32 op) {
    if (!long_size_ok(op, sz)) return undef(c);
    u32 bits = 8u << sz;
    i128 a = sext(freg(c, n, sz), bits), b = sext(freg(c, m, sz), bits);
    set_freg(c, d, sz + 1, long_elem(c, op, a, b, freg(c, d, sz + 1), 2 * bits));
}

HANDLER void SADDL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ADD, false, 'L'); }
HANDLER void UADDL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ADD, true, 'L'); }
HANDLER void SADDW_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ADD, false, 'W'); }
HANDLER void UADDW_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ADD, true, 'W'); }
HANDLER void SSUBL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_SUB, false, 'L'); }
HANDLER void USUBL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_SUB, true, 'L'); }
HANDLER void SSUBW_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_SUB, false, 'W'); }
HANDLER void USUBW_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_SUB, true, 'W'); }
HANDLER void ADDHN_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ADD, true, 'H'); }
HANDLER void RADDHN_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ADD, true, 'R'); }
HANDLER void SABAL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ABA, false, 'L'); }
HANDLER void UABAL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ABA, true, 'L'); }
HANDLER void SUBHN_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_SUB, true, 'H'); }
HANDLER void RSUBHN_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_SUB, true, 'R'); }
HANDLER void SABDL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ABD, false, 'L'); }
HANDLER void UABDL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_ABD, true, 'L'); }
HANDLER void SMLAL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_MLA, false, 'L'); }
HANDLER void UMLAL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_MLA, true, 'L'); }
HANDLER void SQDMLAL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_SQDMLAL, false, 'L'); }
HANDLER void SMLSL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_MLS, false, 'L'); }
HANDLER void UMLSL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_MLS, true, 'L'); }
HANDLER void SQDMLSL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_SQDMLSL, false, 'L'); }
HANDLER void SMULL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_MUL, false, 'L'); }
HANDLER void UMULL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_MUL, true, 'L'); }
HANDLER void SQDMULL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_SQDMULL, false, 'L'); }
HANDLER void PMULL_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_3diff(c, q, z, m, n, d, L_PMULL, true, 'L'); }
HANDLER void SQDMLAL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_3diff(c, z, m, n, d, L_SQDMLAL); }
HANDLER void SQDMLSL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_3diff(c, z, m, n, d, L_SQDMLSL); }
HANDLER void SQDMULL_sc(Core& c, u32 z, u32 m, u32 n, u32 d) { sc_3diff(c, z, m, n, d, L_SQDMULL); }
