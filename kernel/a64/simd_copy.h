// Advanced SIMD copy: DUP (element, general, scalar), SMOV, UMOV, INS (general, element).
#pragma once
#include "simd_common.h"

/// imm5 -> element size (0..3) and index; false for the reserved encodings.
GFN bool imm5_decode(u32 imm5, u32* sz, u32* index) {
    if ((imm5 & 15) == 0) return false;
    u32 s = 0;
    while (!((imm5 >> s) & 1)) s++;
    *sz = s;
    *index = imm5 >> (s + 1);
    return true;
}
GFN VReg vdup(u64 x, u32 sz) {
    VReg r = vzero();
    for (u32 i = 0; i < vlanes(1, sz); i++) vset(r, i, sz, x);
    return r;
}

HANDLER void DUP_elem_v(Core& c, u32 q, u32 i, u32 n, u32 d) {
    u32 sz, idx;
    if (!imm5_decode(i, &sz, &idx) || (sz == 3 && !q)) return undef(c);
    vput(c, d, vdup(velt(vget(c, n), idx, sz), sz), q);
}
HANDLER void DUP_gen_v(Core& c, u32 q, u32 i, u32 n, u32 d) {
    u32 sz, idx;
    if (!imm5_decode(i, &sz, &idx) || (sz == 3 && !q)) return undef(c);
    vput(c, d, vdup(X(c, n) & ones(8 << sz), sz), q);
}
HANDLER void SMOV_v(Core& c, u32 q, u32 i, u32 n, u32 d) {
    u32 sz, idx;
    if (!imm5_decode(i, &sz, &idx) || sz == 3 || (sz == 2 && !q)) return undef(c);
    setR(c, q, d, (u64)vselt(vget(c, n), idx, sz));
}
HANDLER void UMOV_v(Core& c, u32 q, u32 i, u32 n, u32 d) {
    u32 sz, idx;
    if (!imm5_decode(i, &sz, &idx) || (q ? sz != 3 : sz == 3)) return undef(c);
    setX(c, d, velt(vget(c, n), idx, sz));
}
HANDLER void INS_gen_v(Core& c, u32 i, u32 n, u32 d) {
    u32 sz, idx;
    if (!imm5_decode(i, &sz, &idx)) return undef(c);
    VReg v = vget(c, d);
    vset(v, idx, sz, X(c, n));
    vput(c, d, v, 1);
}
HANDLER void INS_elem_v(Core& c, u32 i, u32 j, u32 n, u32 d) {
    u32 sz, idx;
    if (!imm5_decode(i, &sz, &idx)) return undef(c);
    VReg v = vget(c, d);
    vset(v, idx, sz, velt(vget(c, n), j >> sz, sz));
    vput(c, d, v, 1);
}
HANDLER void DUP_elem_sc(Core& c, u32 i, u32 n, u32 d) {
    u32 sz, idx;
    if (!imm5_decode(i, &sz, &idx)) return undef(c);
    set_freg(c, d, sz, velt(vget(c, n), idx, sz));
}
