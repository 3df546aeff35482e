// Data processing -- register: logical and add/sub (shifted/extended register), add/sub
// with carry, conditional compare, conditional select, data-processing 1, 2 and 3
// source.
// Arm ARM (DDI 0487) chapter C6, A64 base instructions.
#pragma once
#include "../mm/mm.h"
#include "a64_common.h"

/// Arm ARM AND, BIC, ORR, ORN, EOR, EON, ANDS, BICS (shifted register).
HOT_HANDLER void LOGIC_shift(Core& c, u32 sf, u32 opc, u32 shift, u32 N, u32 m, u32 imm6, u32 n, u32 d) {
    if (!sf && (imm6 & 0x20)) { undef(c); return; }
    u64 op2 = shift_reg(X(c, m), shift, imm6, sf);
    if (N) op2 = ~op2 & dmask(sf);
    u64 x = R(c, sf, n), r;
    switch (opc) {
    case 0: r = x & op2; break;
    case 1: r = x | op2; break;
    case 2: r = x ^ op2; break;
    default:
        r = x & op2;
        setNZCV(c, ((r >> (sf ? 63 : 31)) & 1) != 0, r == 0, false, false);
        break;
    }
    setR(c, sf, d, r);
}

/// Arm ARM ADD, ADDS, SUB, SUBS (shifted register);
/// shared/functions/integer/AddWithCarry. Shift type ROR (3) is reserved.
HOT_HANDLER void ADDSUB_shift(Core& c, u32 sf, u32 op, u32 s, u32 shift, u32 m, u32 imm6, u32 n, u32 d) {
    if (shift == 3 || (!sf && (imm6 & 0x20))) { undef(c); return; }
    u64 op2 = shift_reg(X(c, m), shift, imm6, sf);
    u64 x = R(c, sf, n);
    u64 r = op ? add_with_carry(c, sf, x, ~op2, 1, s != 0) : add_with_carry(c, sf, x, op2, 0, s != 0);
    setR(c, sf, d, r);
}

/// Arm ARM ADD, ADDS, SUB, SUBS (extended register);
/// aarch64/instrs/extendreg/ExtendReg. Rn is SP-capable, Rd too unless S.
HANDLER void ADDSUB_ext(Core& c, u32 sf, u32 op, u32 s, u32 m, u32 option, u32 imm3, u32 n, u32 d) {
    if (imm3 > 4) { undef(c); return; }
    u64 op2 = extend_reg(X(c, m), option, imm3) & dmask(sf);
    u64 x = XSP(c, n) & dmask(sf);
    u64 r = op ? add_with_carry(c, sf, x, ~op2, 1, s != 0) : add_with_carry(c, sf, x, op2, 0, s != 0);
    if (s) setR(c, sf, d, r);
    else setXSP(c, d, r);
}

/// Arm ARM ADC, ADCS, SBC, SBCS.
HANDLER void ADDSUB_carry(Core& c, u32 sf, u32 op, u32 s, u32 m, u32 n, u32 d) {
    u64 y = R(c, sf, m);
    if (op) y = ~y;
    setR(c, sf, d, add_with_carry(c, sf, R(c, sf, n), y, flagC(c) ? 1 : 0, s != 0));
}

/// CCMN/CCMP's flags from the flags `nz` before: if cond holds, those of x +/- op2
/// (op 1: CCMP), else the instruction's `nzcv` field. (Tier 2 calls it on its locals.)
GFN u64 ccmp_nzcv(u64 nz, u32 sf, u32 op, u32 cond, u64 x, u64 op2, u32 nzcv) {
    if (!cond_holds_w(nz, cond)) return (u64)nzcv << 28;
    u64 f = 0;
    add_with_carry_w(sf, x, op ? ~op2 : op2, op, &f);
    return f;
}
/// Shared body of CCMN/CCMP.
GFN void ccmp_op(Core& c, u32 sf, u32 op, u32 cond, u32 n, u32 nzcv, u64 op2) {
    c.s.nzcv = ccmp_nzcv(c.s.nzcv, sf, op, cond, R(c, sf, n), op2, nzcv);
}
/// Arm ARM CCMN, CCMP (register).
HOT_HANDLER void CCMP_reg(Core& c, u32 sf, u32 op, u32 m, u32 cond, u32 n, u32 nzcv) { ccmp_op(c, sf, op, cond, n, nzcv, R(c, sf, m)); }
/// Arm ARM CCMN, CCMP (immediate).
HOT_HANDLER void CCMP_imm(Core& c, u32 sf, u32 op, u32 imm5, u32 cond, u32 n, u32 nzcv) { ccmp_op(c, sf, op, cond, n, nzcv, imm5); }

/// Arm ARM CSEL, CSINC, CSINV, CSNEG.
HOT_HANDLER void CSEL(Core& c, u32 sf, u32 op, u32 m, u32 cond, u32 o2, u32 n, u32 d) {
    u64 r;
    if (cond_holds(c, cond)) {
        r = X(c, n);
    } else {
        r = X(c, m);
        if (op) r = ~r;
        if (o2) r = r + 1;
    }
    setR(c, sf, d, r);
}

/// Arm ARM RBIT.
HANDLER void RBIT(Core& c, u32 sf, u32 n, u32 d) {
    setR(c, sf, d, sf ? rbit64(X(c, n)) : (u64)rbit32(W(c, n)));
}
/// Arm ARM REV16: swap the bytes of each halfword.
HANDLER void REV16(Core& c, u32 sf, u32 n, u32 d) {
    u64 x = X(c, n);
    setR(c, sf, d, ((x >> 8) & 0x00ff00ff00ff00ffull) | ((x & 0x00ff00ff00ff00ffull) << 8));
}
/// Arm ARM REV32 (sf=1) / REV (sf=0): reverse the bytes of each word.
HANDLER void REV32(Core& c, u32 sf, u32 n, u32 d) {
    u64 x = X(c, n);
    setR(c, sf, d, ((u64)bswap32((u32)(x >> 32)) << 32) | bswap32((u32)x));
}
/// Arm ARM REV (64-bit).
HANDLER void REV64(Core& c, u32 n, u32 d) { setX(c, d, bswap64(X(c, n))); }
/// Arm ARM CLZ.
HANDLER void CLZ(Core& c, u32 sf, u32 n, u32 d) {
    setR(c, sf, d, sf ? (u64)clz64(X(c, n)) : (u64)clz32(W(c, n)));
}
/// Arm ARM CLS; shared/functions/integer/CountLeadingSignBits.
HANDLER void CLS(Core& c, u32 sf, u32 n, u32 d) {
    u64 x = X(c, n);
    if (sf) setX(c, d, (u64)(clz64((x >> 1) ^ (x & 0x7fffffffffffffffull)) - 1));
    else setW(c, d, (u32)(clz32(((u32)x >> 1) ^ ((u32)x & 0x7fffffffu)) - 1));
}

/// Arm ARM UDIV / SDIV. Division by zero gives 0; SDIV of the most
/// negative value by -1 gives the most negative value (the quotient wraps).
GFN u64 div_value(u32 sf, u32 is_signed, u64 a, u64 b) {
    if (b == 0) return 0;
    if (!is_signed) return a / b;
    if (sf) return a == 0x8000000000000000ull && b == ~0ull ? a : (u64)((i64)a / (i64)b);
    if (a == 0x80000000ull && b == 0xffffffffull) return a;
    return (u64)(u32)((i32)(u32)a / (i32)(u32)b);
}
HANDLER void DIV(Core& c, u32 sf, u32 m, u32 is_signed, u32 n, u32 d) {
    setR(c, sf, d, div_value(sf, is_signed, R(c, sf, n), R(c, sf, m)));
}

/// Arm ARM LSLV, LSRV, ASRV, RORV: shift by Rm mod
/// datasize.
HANDLER void SHIFTV(Core& c, u32 sf, u32 m, u32 type, u32 n, u32 d) {
    u32 amount = (u32)(X(c, m) & (sf ? 63 : 31));
    setR(c, sf, d, shift_reg(X(c, n), type, amount, sf));
}

/// Arm ARM CRC32B/H/W/X, CRC32CB/H/W/X (reflected CRC-32 polynomial
/// 0x04C11DB7 or CRC-32C 0x1EDC6F41, no pre/post inversion). sf must be 1 iff size=X.
HANDLER void CRC32(Core& c, u32 sf, u32 m, u32 castagnoli, u32 sz, u32 n, u32 d) {
    if ((sz == 3) != (sf != 0)) { undef(c); return; }
    u32 poly = castagnoli ? 0x82f63b78u : 0xedb88320u;  // bit-reversed polynomials
    u32 crc = W(c, n);
    u64 val = X(c, m);
    int nbits = 8 << sz;
    for (int i = 0; i < nbits; i++) {
        u32 bit = (crc ^ (u32)(val >> i)) & 1;
        crc = (crc >> 1) ^ (bit ? poly : 0);
    }
    setW(c, d, crc);
}

/// Arm ARM MADD, MSUB: Ra +/- Rn*Rm.
HANDLER void MADD(Core& c, u32 sf, u32 m, u32 sub, u32 a, u32 n, u32 d) {
    u64 p = X(c, n) * X(c, m);
    setR(c, sf, d, sub ? X(c, a) - p : X(c, a) + p);
}

/// Arm ARM SMADDL, SMSUBL, UMADDL, UMSUBL:
/// Xa +/- Wn*Wm with the 32-bit operands sign- (u=0) or zero-extended (u=1).
/// The product of SMADDL/UMADDL and friends: the low words of xn and xm, sign- or
/// zero-extended (u), multiplied.
GFN u64 mull_value(u32 u, u64 xn, u64 xm) {
    u64 x = u ? (u64)(u32)xn : (u64)sext((u32)xn, 32);
    u64 y = u ? (u64)(u32)xm : (u64)sext((u32)xm, 32);
    return x * y;
}
HANDLER void MADDL(Core& c, u32 u, u32 m, u32 sub, u32 a, u32 n, u32 d) {
    u64 p = mull_value(u, X(c, n), X(c, m));
    setX(c, d, sub ? X(c, a) - p : X(c, a) + p);
}

/// Arm ARM SMULH, UMULH: bits 127..64 of the 128-bit product.
GFN u64 mulh_value(u32 u, u64 x, u64 y) {
    u64 hi = umulh64(x, y);
    if (!u) {  // signed: correct the unsigned high half
        if ((i64)x < 0) hi -= y;
        if ((i64)y < 0) hi -= x;
    }
    return hi;
}
HANDLER void MULH(Core& c, u32 u, u32 m, u32 n, u32 d) { setX(c, d, mulh_value(u, X(c, n), X(c, m))); }
