// Advanced SIMD shift by immediate (vector and scalar): SSHR/USHR, SSRA/USRA, rounding
// forms, SRI/SLI, SHL, SQSHL/UQSHL/SQSHLU, the narrowing shifts (SHRN, RSHRN, SQ[R]SHR[U]N,
// UQ[R]SHRN), SSHLL/USHLL, and the fixed-point conversions SCVTF/UCVTF/FCVTZS/FCVTZU.
// One family function dispatches on the opcode (bits 15..11) and U.
#pragma once
#include "fp_dp.h"
#include "simd_two_reg_misc.h"

/// Non-narrowing element: a = Vn element, acc = Vd element.
GFN u64 shift_imm_elem(Core& c, u32 op, bool u, u64 a, u64 acc, u32 sz, i32 shr, i32 shl) {
    u32 bits = 8u << sz;
    u64 mask = ones(bits);
    i128 x = u ? (i128)a : (i128)sext(a, bits);
    switch (op) {
    case 0x00: return (u64)shift_int(x, -shr, false) & mask;
    case 0x02: return (acc + (u64)shift_int(x, -shr, false)) & mask;
    case 0x04: return (u64)shift_int(x, -shr, true) & mask;
    case 0x06: return (acc + (u64)shift_int(x, -shr, true)) & mask;
    case 0x08: {  // SRI
        u64 m2 = shr >= 64 ? 0 : mask >> shr;
        return (acc & ~m2) | ((shr >= 64 ? 0 : a >> shr) & m2);
    }
    case 0x0a: {  // SHL (U=0), SLI (U=1)
        if (!u) return (a << shl) & mask;
        u64 m2 = (mask << shl) & mask;
        return (acc & ~m2) | ((a << shl) & m2);
    }
    case 0x0c: return sat_u(c, shift_int((i128)sext(a, bits), shl, false), bits);  // SQSHLU
    default: return sat(c, shift_int(x, shl, false), bits, u);                     // SQSHL/UQSHL
    }
}
/// Narrowing element from a double-width source (sz = narrow size).
GFN u64 shift_narrow_elem(Core& c, u32 op, bool u, u64 x, u32 sz, i32 shr) {
    u32 bits = 8u << sz;
    bool src_signed = (op >= 0x12) ? !u : u;  // SQSHRUN/SQRSHRUN (U=1, op 1000x) read signed
    i128 v = src_signed ? (i128)sext(x, 2 * bits) : (i128)(x & ones(2 * bits));
    v = shift_int(v, -shr, (op & 1) != 0);
    if (op < 0x12) return u ? sat_u(c, v, bits) : ((u64)v & ones(bits));  // SQ[R]SHRUN : [R]SHRN
    return sat(c, v, bits, u);
}

GFN_NOINLINE void shift_imm(Core& c, u32 q, u32 u, u32 imm7, u32 n, u32 d, u32 op, bool scalar) {
    u32 immh = imm7 >> 3;
    if (immh == 0) return undef(c);
    u32 sz = 31 - clz32(immh), bits = 8u << sz;
    i32 shr = (i32)(2 * bits) - (i32)imm7, shl = (i32)imm7 - (i32)bits;
    bool narrow = op >= 0x10 && op <= 0x13, widen = op == 0x14, fp = op == 0x1c || op == 0x1f;
    if ((op == 0x08 || op == 0x0c) && !u) return undef(c);
    if ((narrow || widen) && sz == 3) return undef(c);
    if (fp && sz < 2) return undef(c);
    if (!narrow && !widen && !scalar && sz == 3 && !q) return undef(c);
    if (scalar && !narrow && !fp && op < 0x0c && sz != 3) return undef(c);
    VReg a = vget(c, n), acc = vget(c, d), r = vzero();
    u32 lanes = scalar ? 1 : narrow || widen ? (8u >> sz) : vlanes(q, sz);
    if (fp) {
        FPEnv e = fpenv(c);
        for (u32 i = 0; i < lanes; i++) {
            u64 x = velt(a, i, sz);
            vset(r, i, sz, op == 0x1c ? fp_from_fixed(e, x, !u, bits, shr, sz) : fp_to_fixed(e, x, sz, shr, u != 0, bits, FPRM_ZERO));
        }
        fpdone(c, e);
    } else if (narrow) {
        for (u32 i = 0; i < lanes; i++) vset(r, i, sz, shift_narrow_elem(c, op, u != 0, velt(a, i, sz + 1), sz, shr));
        if (!scalar) return vput_narrow(c, q, d, r.w[0]);
    } else if (widen) {
        for (u32 i = 0; i < lanes; i++) vset(r, i, sz + 1, (u64)(vint(a, i + (q ? lanes : 0), sz, u != 0) << shl));
        return vput(c, d, r, 1);
    } else {
        for (u32 i = 0; i < lanes; i++) vset(r, i, sz, shift_imm_elem(c, op, u != 0, velt(a, i, sz), velt(acc, i, sz), sz, shr, shl));
    }
    if (scalar) set_freg(c, d, sz, r.w[0]);
    else vput(c, d, r, q);
}

HANDLER void SI_SHR_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b00000, false); }
HANDLER void SI_SRA_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b00010, false); }
HANDLER void SI_RSHR_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b00100, false); }
HANDLER void SI_RSRA_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b00110, false); }
HANDLER void SI_SRI_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b01000, false); }
HANDLER void SI_SHL_SLI_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b01010, false); }
HANDLER void SI_SQSHLU_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b01100, false); }
HANDLER void SI_QSHL_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b01110, false); }
HANDLER void SI_SHRN_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b10000, false); }
HANDLER void SI_RSHRN_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b10001, false); }
HANDLER void SI_QSHRN_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b10010, false); }
HANDLER void SI_QRSHRN_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b10011, false); }
HANDLER void SI_SHLL_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b10100, false); }
HANDLER void SI_CVTF_fix_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b11100, false); }
HANDLER void SI_FCVTZ_fix_v(Core& c, u32 q, u32 u, u32 i, u32 n, u32 d) { shift_imm(c, q, u, i, n, d, 0b11111, false); }
HANDLER void SSHR_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b00000, true); }
HANDLER void USHR_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b00000, true); }
HANDLER void SSRA_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b00010, true); }
HANDLER void USRA_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b00010, true); }
HANDLER void SRSHR_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b00100, true); }
HANDLER void URSHR_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b00100, true); }
HANDLER void SRSRA_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b00110, true); }
HANDLER void URSRA_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b00110, true); }
HANDLER void SRI_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b01000, true); }
HANDLER void SHL_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b01010, true); }
HANDLER void SLI_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b01010, true); }
HANDLER void SQSHLU_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b01100, true); }
HANDLER void SQSHL_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b01110, true); }
HANDLER void UQSHL_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b01110, true); }
HANDLER void SQSHRUN_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b10000, true); }
HANDLER void SQRSHRUN_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b10001, true); }
HANDLER void SQSHRN_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b10010, true); }
HANDLER void UQSHRN_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b10010, true); }
HANDLER void SQRSHRN_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b10011, true); }
HANDLER void UQRSHRN_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b10011, true); }
HANDLER void SCVTF_fix_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b11100, true); }
HANDLER void UCVTF_fix_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b11100, true); }
HANDLER void FCVTZS_fix_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 0, i, n, d, 0b11111, true); }
HANDLER void FCVTZU_fix_si(Core& c, u32 i, u32 n, u32 d) { shift_imm(c, 0, 1, i, n, d, 0b11111, true); }
