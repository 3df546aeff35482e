// Advanced SIMD across lanes (ADDV, SADDLV/UADDLV, SMAXV/UMAXV/SMINV/UMINV, FMAXV/FMINV/
// FMAXNMV/FMINNMV) and scalar pairwise (ADDP, FADDP, FMAXP, FMINP, FMAXNMP, FMINNMP).
#pragma once
#include "fp_dp.h"

enum { A_ADD, A_SADDL, A_UADDL, A_SMAX, A_UMAX, A_SMIN, A_UMIN };
GFN_NOINLINE void vec_across(Core& c, u32 q, u32 sz, u32 n, u32 d, u32 op) {
    if (sz == 3 || (sz == 2 && !q)) return undef(c);
    VReg a = vget(c, n);
    bool u = op == A_UADDL || op == A_UMAX || op == A_UMIN;
    i128 acc = vint(a, 0, sz, u);
    for (u32 i = 1; i < vlanes(q, sz); i++) {
        i128 x = vint(a, i, sz, u);
        switch (op) {
        case A_SMAX: case A_UMAX: if (x > acc) acc = x; break;
        case A_SMIN: case A_UMIN: if (x < acc) acc = x; break;
        default: acc += x; break;
        }
    }
    u32 rsz = (op == A_SADDL || op == A_UADDL) ? sz + 1 : sz;
    set_freg(c, d, rsz, (u64)acc);
}
/// FP reductions pair elements as a balanced tree, like the Arm ARM's Reduce().
GFN_NOINLINE void vec_across_fp(Core& c, u32 q, u32 s, u32 n, u32 d, u32 op) {
    if (s || !q) return undef(c);
    FPEnv e = fpenv(c);
    VReg a = vget(c, n);
    u64 lo = fp_op2(e, op, velt(a, 0, 2), velt(a, 1, 2), 2);
    u64 hi = fp_op2(e, op, velt(a, 2, 2), velt(a, 3, 2), 2);
    set_freg(c, d, 2, fp_op2(e, op, lo, hi, 2));
    fpdone(c, e);
}
GFN void sc_pair_fp(Core& c, u32 s, u32 n, u32 d, u32 op) {
    u32 sz = s + 2;
    FPEnv e = fpenv(c);
    VReg a = vget(c, n);
    set_freg(c, d, sz, fp_op2(e, op, velt(a, 0, sz), velt(a, 1, sz), sz));
    fpdone(c, e);
}

HANDLER void SADDLV_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_across(c, q, z, n, d, A_SADDL); }
HANDLER void UADDLV_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_across(c, q, z, n, d, A_UADDL); }
HANDLER void SMAXV_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_across(c, q, z, n, d, A_SMAX); }
HANDLER void UMAXV_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_across(c, q, z, n, d, A_UMAX); }
HANDLER void SMINV_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_across(c, q, z, n, d, A_SMIN); }
HANDLER void UMINV_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_across(c, q, z, n, d, A_UMIN); }
HANDLER void ADDV_v(Core& c, u32 q, u32 z, u32 n, u32 d) { vec_across(c, q, z, n, d, A_ADD); }
HANDLER void FMAXNMV_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_across_fp(c, q, s, n, d, FOP2_MAXNM); }
HANDLER void FMINNMV_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_across_fp(c, q, s, n, d, FOP2_MINNM); }
HANDLER void FMAXV_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_across_fp(c, q, s, n, d, FOP2_MAX); }
HANDLER void FMINV_v(Core& c, u32 q, u32 s, u32 n, u32 d) { vec_across_fp(c, q, s, n, d, FOP2_MIN); }
HANDLER void ADDP_sc(Core& c, u32 z, u32 n, u32 d) {
    if (z != 3) return undef(c);
    set_freg(c, d, 3, V_lo(c, n) + V_hi(c, n));
}
HANDLER void FMAXNMP_sc(Core& c, u32 s, u32 n, u32 d) { sc_pair_fp(c, s, n, d, FOP2_MAXNM); }
HANDLER void FADDP_sc(Core& c, u32 s, u32 n, u32 d) { sc_pair_fp(c, s, n, d, FOP_ADD); }
HANDLER void FMAXP_sc(Core& c, u32 s, u32 n, u32 d) { sc_pair_fp(c, s, n, d, FOP2_MAX); }
HANDLER void FMINNMP_sc(Core& c, u32 s, u32 n, u32 d) { sc_pair_fp(c, s, n, d, FOP2_MINNM); }
HANDLER void FMINP_sc(Core& c, u32 s, u32 n, u32 d) { sc_pair_fp(c, s, n, d, FOP2_MIN); }
