// Conversions between floating point and general registers: FCVT{N,P,M,Z,A}{S,U},
// fixed-point FCVTZS/FCVTZU, SCVTF/UCVTF (integer and fixed-point), FMOV (general).
#pragma once
#include "fp_dp.h"

/// Convert FP register n to a 32/64-bit integer (fbits fraction bits) in Xd/Wd.
GFN_NOINLINE void fp_cvt_to_int(Core& c, u32 s, u32 t, u32 u, u32 n, u32 d, u32 fbits, u32 rm) {
    u32 sz;
    if (!fp_sd(c, t, &sz)) return;
    FPEnv e = fpenv(c);
    u64 r = fp_to_fixed(e, freg(c, n, sz), sz, fbits, u != 0, s ? 64 : 32, rm);
    setR(c, s, d, r);
    fpdone(c, e);
}
GFN_NOINLINE void fp_cvt_from_int(Core& c, u32 s, u32 t, u32 u, u32 n, u32 d, u32 fbits) {
    u32 sz;
    if (!fp_sd(c, t, &sz)) return;
    FPEnv e = fpenv(c);
    set_freg(c, d, sz, fp_from_fixed(e, R(c, s, n), u == 0, s ? 64 : 32, fbits, sz));
    fpdone(c, e);
}

HANDLER void SCVTF_fix(Core& c, u32 s, u32 t, u32 u, u32 i, u32 n, u32 d) {
    if (!s && i < 32) return undef(c);
    fp_cvt_from_int(c, s, t, u, n, d, 64 - i);
}
HANDLER void FCVTZ_fix(Core& c, u32 s, u32 t, u32 u, u32 i, u32 n, u32 d) {
    if (!s && i < 32) return undef(c);
    fp_cvt_to_int(c, s, t, u, n, d, 64 - i, FPRM_ZERO);
}
HANDLER void FCVT_int(Core& c, u32 s, u32 t, u32 r, u32 u, u32 n, u32 d) { fp_cvt_to_int(c, s, t, u, n, d, 0, r); }
HANDLER void FCVTA_int(Core& c, u32 s, u32 t, u32 u, u32 n, u32 d) { fp_cvt_to_int(c, s, t, u, n, d, 0, FPRM_TIEAWAY); }
HANDLER void SCVTF_int(Core& c, u32 s, u32 t, u32 u, u32 n, u32 d) { fp_cvt_from_int(c, s, t, u, n, d, 0); }

/// FMOV (general): o = 0 FP -> general, o = 1 general -> FP. r selects V.D[1] (with t=10).
HANDLER void FMOV_gen(Core& c, u32 s, u32 t, u32 r, u32 o, u32 n, u32 d) {
    u32 kind = (s << 3) | (t << 1) | r;
    if (kind == 0) {  // W <-> S
        if (o) set_freg(c, d, 2, W(c, n));
        else setW(c, d, (u32)V_lo(c, n));
    } else if (kind == 0xa) {  // X <-> D
        if (o) set_freg(c, d, 3, X(c, n));
        else setX(c, d, V_lo(c, n));
    } else if (kind == 0xd) {  // X <-> V.D[1]
        if (o) setV(c, d, V_lo(c, d), X(c, n));
        else setX(c, d, V_hi(c, n));
    } else {
        undef(c);  // FP16 forms (ARMv8.2) and unallocated combinations
    }
}
