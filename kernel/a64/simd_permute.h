// Advanced SIMD permutes: UZP1/2, TRN1/2, ZIP1/2, EXT, TBL/TBX.
#pragma once
#include "simd_common.h"

enum { PERM_UZP, PERM_TRN, PERM_ZIP };
GFN_NOINLINE void vec_permute(Core& c, u32 q, u32 sz, u32 m, u32 n, u32 d, u32 kind, u32 part) {
    if (sz == 3 && !q) return undef(c);
    VReg a = vget(c, n), b = vget(c, m), r = vzero();
    u32 lanes = vlanes(q, sz), half = lanes / 2;
    for (u32 i = 0; i < lanes; i++) {
        u64 x;
        if (kind == PERM_UZP) x = velt2(a, b, 2 * i + part, lanes, sz);
        else if (kind == PERM_TRN) x = velt((i & 1) ? b : a, (i & ~1u) + part, sz);
        else x = velt((i & 1) ? b : a, part * half + i / 2, sz);
        vset(r, i, sz, x);
    }
    vput(c, d, r, q);
}
HANDLER void UZP1_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_permute(c, q, z, m, n, d, PERM_UZP, 0); }
HANDLER void TRN1_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_permute(c, q, z, m, n, d, PERM_TRN, 0); }
HANDLER void ZIP1_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_permute(c, q, z, m, n, d, PERM_ZIP, 0); }
HANDLER void UZP2_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_permute(c, q, z, m, n, d, PERM_UZP, 1); }
HANDLER void TRN2_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_permute(c, q, z, m, n, d, PERM_TRN, 1); }
HANDLER void ZIP2_v(Core& c, u32 q, u32 z, u32 m, u32 n, u32 d) { vec_permute(c, q, z, m, n, d, PERM_ZIP, 1); }

HANDLER void EXT_v(Core& c, u32 q, u32 m, u32 i, u32 n, u32 d) {
    if (!q && (i & 8)) return undef(c);
    VReg a = vget(c, n), b = vget(c, m), r = vzero();
    u32 lanes = q ? 16 : 8;
    for (u32 k = 0; k < lanes; k++) vset(r, k, 0, velt2(a, b, i + k, lanes, 0));
    vput(c, d, r, q);
}

GFN_NOINLINE void vec_tbl(Core& c, u32 q, u32 m, u32 l, u32 n, u32 d, bool tbx) {
    VReg idx = vget(c, m), r = tbx ? vget(c, d) : vzero();
    u32 lanes = q ? 16 : 8, limit = 16 * (l + 1);
    for (u32 k = 0; k < lanes; k++) {
        u32 x = (u32)velt(idx, k, 0);
        if (x < limit) {
            u32 reg = (n + x / 16) & 31;
            u64 w = (x & 8) ? V_hi(c, reg) : V_lo(c, reg);
            vset(r, k, 0, (w >> ((x & 7) * 8)) & 0xff);
        } else if (!tbx) {
            vset(r, k, 0, 0);
        }
    }
    vput(c, d, r, q);
}
HANDLER void TBL_v(Core& c, u32 q, u32 m, u32 l, u32 n, u32 d) { vec_tbl(c, q, m, l, n, d, false); }
HANDLER void TBX_v(Core& c, u32 q, u32 m, u32 l, u32 n, u32 d) { vec_tbl(c, q, m, l, n, d, true); }
