// Shared helpers for the scalar FP and Advanced SIMD handlers: a 128-bit register value
// with element access by size (sz = log2 of the element's byte width: 0 B, 1 H, 2 S,
// 3 D), scalar FP register access with the upper bits zeroed (Arm ARM V[] writes),
// saturation with FPSR.QC, and the FP environment of a handler.
#pragma once
#include "../mm/mm.h"
#include "../fp.h"
#include "../fp_conv.h"

struct VReg {
    u64 w[2];
};

GFN VReg vget(Core& c, u32 n) {
    VReg r;
    r.w[0] = V_lo(c, n);
    r.w[1] = V_hi(c, n);
    return r;
}
/// Write a vector result: q == 0 (64-bit arrangement) zeroes bits 127..64.
GFN void vput(Core& c, u32 d, const VReg& r, u32 q) { setV(c, d, r.w[0], q ? r.w[1] : 0); }
GFN VReg vzero() {
    VReg r;
    r.w[0] = 0;
    r.w[1] = 0;
    return r;
}
GFN u32 vlanes(u32 q, u32 sz) { return (q ? 16u : 8u) >> sz; }
GFN u64 velt(const VReg& v, u32 i, u32 sz) {
    if (sz == 3) return v.w[i & 1];
    u32 pos = i << (sz + 3);
    return (v.w[(pos >> 6) & 1] >> (pos & 63)) & ones(8 << sz);
}
GFN i64 vselt(const VReg& v, u32 i, u32 sz) { return sext(velt(v, i, sz), 8 << sz); }
GFN void vset(VReg& v, u32 i, u32 sz, u64 x) {
    if (sz == 3) {
        v.w[i & 1] = x;
        return;
    }
    u32 pos = i << (sz + 3);
    u64 m = ones(8 << sz) << (pos & 63);
    u64& w = v.w[(pos >> 6) & 1];
    w = (w & ~m) | ((x << (pos & 63)) & m);
}
/// Element i of the 256-bit concatenation hi:lo (pairwise operations).
GFN u64 velt2(const VReg& lo, const VReg& hi, u32 i, u32 n, u32 sz) { return i < n ? velt(lo, i, sz) : velt(hi, i - n, sz); }

// ---- scalar FP registers ------------------------------------------------------------------

GFN u64 freg(Core& c, u32 n, u32 sz) { return V_lo(c, n) & ones(8 << sz); }
/// Write an H/S/D/B scalar: the rest of the 128-bit register becomes zero.
GFN void set_freg(Core& c, u32 d, u32 sz, u64 v) { setV(c, d, v & ones(8 << sz), 0); }

/// Scalar FP type field -> sz: 00 single, 01 double, 11 half; 10 -> 0 (unallocated).
GFN u32 ftype_sz(u32 type) { return type == 0 ? 2 : type == 1 ? 3 : type == 3 ? 1 : 0; }

GFN FPEnv fpenv(Core& c) {
    FPEnv e;
    e.fpcr = (u32)c.s.fpcr;
    e.flags = 0;
    return e;
}
GFN void fpdone(Core& c, const FPEnv& e) { c.s.fpsr |= e.flags; }

/// VFPExpandImm: the 8-bit FP immediate as a single (sz 2) or double (sz 3).
GFN u64 fp_expand_imm(u32 imm8, u32 sz) {
    u64 sign = (imm8 >> 7) & 1, b6 = (imm8 >> 6) & 1, e54 = (imm8 >> 4) & 3, f = imm8 & 15;
    if (sz == 2) return (sign << 31) | ((b6 ^ 1) << 30) | ((b6 ? 0x1full : 0) << 25) | (e54 << 23) | (f << 19);
    return (sign << 63) | ((b6 ^ 1) << 62) | ((b6 ? 0xffull : 0) << 54) | (e54 << 52) | (f << 48);
}

// ---- saturation ---------------------------------------------------------------------------

GFN void set_qc(Core& c) { c.s.fpsr |= FPSR_QC; }
/// Saturate v to a signed integer of `bits` bits (FPSR.QC on saturation); result masked.
GFN u64 sat_s(Core& c, i128 v, u32 bits) {
    i128 hi = ((i128)1 << (bits - 1)) - 1, lo = -((i128)1 << (bits - 1));
    if (v > hi) { set_qc(c); v = hi; }
    if (v < lo) { set_qc(c); v = lo; }
    return (u64)v & ones(bits);
}
GFN u64 sat_u(Core& c, i128 v, u32 bits) {
    i128 hi = ((i128)1 << bits) - 1;
    if (v > hi) { set_qc(c); v = hi; }
    if (v < 0) { set_qc(c); v = 0; }
    return (u64)v & ones(bits);
}
GFN u64 sat(Core& c, i128 v, u32 bits, bool is_unsigned) { return is_unsigned ? sat_u(c, v, bits) : sat_s(c, v, bits); }
/// Element value as a 128-bit integer, signed or unsigned.
GFN i128 vint(const VReg& v, u32 i, u32 sz, bool is_unsigned) {
    return is_unsigned ? (i128)velt(v, i, sz) : (i128)vselt(v, i, sz);
}

/// Shift `a` (an integer of esize bits, sign per is_unsigned) by a signed amount: left
/// when sh > 0, right when sh < 0, with optional rounding of right shifts. The result
/// is exact (no truncation to esize): callers mask or saturate. Amounts of any
/// magnitude (the register forms use -128..127) are handled.
GFN i128 shift_int(i128 a, i32 sh, bool round) {
    if (sh >= 0) {
        if (a == 0) return 0;
        // >= 64: the low 64 bits are zero and the value saturates any esize.
        if (sh >= 64) return a < 0 ? -((i128)1 << 100) : ((i128)1 << 100);
        return (i128)((u128)a << sh);
    }
    i32 r = -sh;
    if (round) {
        if (r > 65) return 0;
        return (a + ((i128)1 << (r - 1))) >> r;
    }
    if (r > 64) r = 64;
    return a >> r;
}
