// Advanced SIMD (vector and scalar) x indexed element: MUL, MLA, MLS, SQDMULH, SQRDMULH,
// the widening S/U MULL/MLAL/MLSL and SQDMULL/SQDMLAL/SQDMLSL, FMUL, FMULX, FMLA, FMLS.
#pragma once
#include "simd_three_diff.h"

enum { IX_INT, IX_LONG, IX_ULONG };
/// q == 2 selects the scalar form. Index and Rm per size: H (sz 1): H:L:M, Rm<3:0>;
/// S (sz 2): H:L, M:Rm.
GFN_NOINLINE void vec_idx(Core& c, u32 q, u32 sz, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d, u32 kind, u32 op) {
    u32 idx, rm;
    if (sz == 1) {
        idx = (h << 2) | (l << 1) | x;
        rm = m;
    } else if (sz == 2) {
        idx = (h << 1) | l;
        rm = (x << 4) | m;
    } else {
        return undef(c);
    }
    bool u = kind == IX_ULONG;
    VReg va = vget(c, n), acc = vget(c, d), r = vzero();
    u32 bits = 8u << sz;
    if (kind == IX_INT) {
        u64 b = velt(vget(c, rm), idx, sz);
        if (q == 2) return set_freg(c, d, sz, int3_elem(c, op, velt(va, 0, sz), b, 0, sz));
        for (u32 i = 0; i < vlanes(q, sz); i++) vset(r, i, sz, int3_elem(c, op, velt(va, i, sz), b, velt(acc, i, sz), sz));
        return vput(c, d, r, q);
    }
    i128 b = vint(vget(c, rm), idx, sz, u);
    if (q == 2) return set_freg(c, d, sz + 1, long_elem(c, op, vint(va, 0, sz, u), b, velt(acc, 0, sz + 1), 2 * bits));
    u32 lanes = 8u >> sz;
    for (u32 i = 0; i < lanes; i++)
        vset(r, i, sz + 1, long_elem(c, op, vint(va, i + (q ? lanes : 0), sz, u), b, velt(acc, i, sz + 1), 2 * bits));
    vput(c, d, r, 1);
}
/// FP by element: S: index H:L, Rm = M:Rm; D: index H (L must be 0, vector needs Q=1).
GFN_NOINLINE void vec_idx_fp(Core& c, u32 q, u32 s, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d, u32 op, bool scalar) {
    u32 sz = s + 2, idx = s ? h : (h << 1) | l, rm = (x << 4) | m;
    if (s && (l || (!q && !scalar))) return undef(c);
    FPEnv e = fpenv(c);
    u64 b = velt(vget(c, rm), idx, sz);
    VReg va = vget(c, n), acc = vget(c, d), r = vzero();
    if (scalar) {
        set_freg(c, d, sz, fp3_elem(e, op, velt(va, 0, sz), b, velt(acc, 0, sz), sz));
    } else {
        for (u32 i = 0; i < vlanes(q, sz); i++) vset(r, i, sz, fp3_elem(e, op, velt(va, i, sz), b, velt(acc, i, sz), sz));
        vput(c, d, r, q);
    }
    fpdone(c, e);
}

HANDLER void MLA_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_INT, I3_MLA); }
HANDLER void MLS_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_INT, I3_MLS); }
HANDLER void MUL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_INT, I3_MUL); }
HANDLER void SQDMULH_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_INT, I3_SQDMULH); }
HANDLER void SQRDMULH_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_INT, I3_SQRDMULH); }
HANDLER void SMLAL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_LONG, L_MLA); }
HANDLER void UMLAL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_ULONG, L_MLA); }
HANDLER void SMLSL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_LONG, L_MLS); }
HANDLER void UMLSL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_ULONG, L_MLS); }
HANDLER void SMULL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_LONG, L_MUL); }
HANDLER void UMULL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_ULONG, L_MUL); }
HANDLER void SQDMLAL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_LONG, L_SQDMLAL); }
HANDLER void SQDMLSL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_LONG, L_SQDMLSL); }
HANDLER void SQDMULL_el(Core& c, u32 q, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, q, z, l, x, m, h, n, d, IX_LONG, L_SQDMULL); }
HANDLER void FMLA_el(Core& c, u32 q, u32 s, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx_fp(c, q, s, l, x, m, h, n, d, F3_MLA, false); }
HANDLER void FMLS_el(Core& c, u32 q, u32 s, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx_fp(c, q, s, l, x, m, h, n, d, F3_MLS, false); }
HANDLER void FMUL_el(Core& c, u32 q, u32 s, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx_fp(c, q, s, l, x, m, h, n, d, FOP_MUL, false); }
HANDLER void FMULX_el(Core& c, u32 q, u32 s, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx_fp(c, q, s, l, x, m, h, n, d, FOP2_MULX, false); }
HANDLER void SQDMULH_elsc(Core& c, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, 2, z, l, x, m, h, n, d, IX_INT, I3_SQDMULH); }
HANDLER void SQRDMULH_elsc(Core& c, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, 2, z, l, x, m, h, n, d, IX_INT, I3_SQRDMULH); }
HANDLER void SQDMLAL_elsc(Core& c, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, 2, z, l, x, m, h, n, d, IX_LONG, L_SQDMLAL); }
HANDLER void SQDMLSL_elsc(Core& c, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, 2, z, l, x, m, h, n, d, IX_LONG, L_SQDMLSL); }
HANDLER void SQDMULL_elsc(Core& c, u32 z, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx(c, 2, z, l, x, m, h, n, d, IX_LONG, L_SQDMULL); }
HANDLER void FMLA_elsc(Core& c, u32 s, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx_fp(c, 0, s, l, x, m, h, n, d, F3_MLA, true); }
HANDLER void FMLS_elsc(Core& c, u32 s, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx_fp(c, 0, s, l, x, m, h, n, d, F3_MLS, true); }
HANDLER void FMUL_elsc(Core& c, u32 s, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx_fp(c, 0, s, l, x, m, h, n, d, FOP_MUL, true); }
HANDLER void FMULX_elsc(Core& c, u32 s, u32 l, u32 x, u32 m, u32 h, u32 n, u32 d) { vec_idx_fp(c, 0, s, l, x, m, h, n, d, FOP2_MULX, true); }
