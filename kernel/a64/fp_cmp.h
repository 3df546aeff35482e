// Scalar floating point compares: FCMP, FCMPE (also with #0.0), FCCMP, FCCMPE. NZCV per
// Arm FPCompare: unordered 0011, equal 0110, less 1000, greater 0010.
#pragma once
#include "fp_dp.h"

HANDLER void FCMP_f(Core& c, u32 t, u32 m, u32 n, u32 e, u32 z) {
    u32 sz;
    if (!fp_sd(c, t, &sz)) return;
    FPEnv env = fpenv(c);
    u64 b = z ? 0 : freg(c, m, sz);
    c.s.nzcv = (u64)fp_compare(env, freg(c, n, sz), b, sz, e != 0) << 28;
    fpdone(c, env);
}
HANDLER void FCCMP_f(Core& c, u32 t, u32 m, u32 cond, u32 n, u32 e, u32 v) {
    u32 sz;
    if (!fp_sd(c, t, &sz)) return;
    if (!cond_holds(c, cond)) {
        c.s.nzcv = (u64)v << 28;
        return;
    }
    FPEnv env = fpenv(c);
    c.s.nzcv = (u64)fp_compare(env, freg(c, n, sz), freg(c, m, sz), sz, e != 0) << 28;
    fpdone(c, env);
}
