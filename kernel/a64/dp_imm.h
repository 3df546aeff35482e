// Data processing -- immediate: PC-relative addressing, add/sub (immediate), logical
// (immediate), move wide, bitfield, extract.
// Arm ARM (DDI 0487) chapter C6, A64 base instructions.
#pragma once
#include "../mm/mm.h"
#include "a64_common.h"

/// Arm ARM ADR: Xd = PC + SignExtend(immhi:immlo).
HOT_HANDLER void ADR(Core& c, u32 immlo, u32 immhi, u32 d) {
    setX(c, d, c.pc + (u64)sext(((u64)immhi << 2) | immlo, 21));
}

/// Arm ARM ADRP: Xd = (PC AND NOT 0xfff) + SignExtend(immhi:immlo:Zeros(12)).
HOT_HANDLER void ADRP(Core& c, u32 immlo, u32 immhi, u32 d) {
    u64 off = (u64)sext(((u64)immhi << 2) | immlo, 21) << 12;
    setX(c, d, (c.pc & ~0xfffull) + off);
}

/// Arm ARM ADD, ADDS, SUB, SUBS (immediate);
/// shared/functions/integer/AddWithCarry. Rn is SP-capable; Rd is SP-capable unless S.
HOT_HANDLER void ADDSUB_imm(Core& c, u32 sf, u32 op, u32 s, u32 sh, u32 imm12, u32 n, u32 d) {
    u64 imm = (u64)imm12 << (sh ? 12 : 0);
    u64 x = XSP(c, n) & dmask(sf);
    u64 r = op ? add_with_carry(c, sf, x, ~imm, 1, s != 0) : add_with_carry(c, sf, x, imm, 0, s != 0);
    if (s) setR(c, sf, d, r);
    else setXSP(c, d, r & dmask(sf));
}

/// Arm ARM AND, ORR, EOR, ANDS (immediate);
/// aarch64/instrs/integer/bitmasks/DecodeBitMasks. Rd is SP-capable unless ANDS.
HANDLER void LOGIC_imm(Core& c, u32 sf, u32 opc, u32 N, u32 immr, u32 imms, u32 n, u32 d) {
    u64 imm, tmask;
    if (!sf && N) { undef(c); return; }
    if (!decode_bit_masks(N, imms, immr, true, sf ? 64 : 32, &imm, &tmask)) { undef(c); return; }
    u64 x = R(c, sf, n), r;
    switch (opc) {
    case 0: r = x & imm; break;
    case 1: r = x | imm; break;
    case 2: r = x ^ imm; break;
    default:
        r = x & imm;
        setNZCV(c, ((r >> (sf ? 63 : 31)) & 1) != 0, r == 0, false, false);
        setR(c, sf, d, r);
        return;
    }
    setXSP(c, d, r);
}

/// Arm ARM MOVN: Xd = NOT(imm16 << hw*16).
HOT_HANDLER void MOVN(Core& c, u32 sf, u32 hw, u32 imm16, u32 d) {
    if (!sf && (hw & 2)) { undef(c); return; }
    setR(c, sf, d, ~((u64)imm16 << (hw * 16)));
}

/// Arm ARM MOVZ: Xd = imm16 << hw*16.
HOT_HANDLER void MOVZ(Core& c, u32 sf, u32 hw, u32 imm16, u32 d) {
    if (!sf && (hw & 2)) { undef(c); return; }
    setR(c, sf, d, (u64)imm16 << (hw * 16));
}

/// Arm ARM MOVK: insert imm16 at bit hw*16, keep the other bits of Xd.
HOT_HANDLER void MOVK(Core& c, u32 sf, u32 hw, u32 imm16, u32 d) {
    if (!sf && (hw & 2)) { undef(c); return; }
    u32 pos = hw * 16;
    setR(c, sf, d, (R(c, sf, d) & ~(0xffffull << pos)) | ((u64)imm16 << pos));
}

/// aarch64/instrs/integer/bitfield: shared body of SBFM/BFM/UBFM.
/// inzero: start from zero (SBFM, UBFM); extend: sign-fill above the field (SBFM).
GFN void bitfield_op(Core& c, u32 sf, u32 N, u32 immr, u32 imms, u32 n, u32 d, bool inzero, bool extend) {
    if (sf != N) { undef(c); return; }
    if (!sf && ((immr | imms) & 0x20)) { undef(c); return; }
    u32 ds = sf ? 64 : 32;
    u64 wmask, tmask;
    if (!decode_bit_masks(N, imms, immr, false, ds, &wmask, &tmask)) { undef(c); return; }
    u64 dst = inzero ? 0 : R(c, sf, d);
    u64 src = R(c, sf, n);
    u64 bot = (dst & ~wmask) | (ror_n(src, immr, ds) & wmask);
    u64 top = extend ? (((src >> imms) & 1) ? dmask(sf) : 0) : dst;
    setR(c, sf, d, (top & ~tmask) | (bot & tmask));
}

/// Arm ARM SBFM.
HANDLER void SBFM(Core& c, u32 sf, u32 N, u32 immr, u32 imms, u32 n, u32 d) { bitfield_op(c, sf, N, immr, imms, n, d, true, true); }
/// Arm ARM BFM.
HANDLER void BFM(Core& c, u32 sf, u32 N, u32 immr, u32 imms, u32 n, u32 d) { bitfield_op(c, sf, N, immr, imms, n, d, false, false); }
/// Arm ARM UBFM.
HANDLER void UBFM(Core& c, u32 sf, u32 N, u32 immr, u32 imms, u32 n, u32 d) { bitfield_op(c, sf, N, immr, imms, n, d, true, false); }

/// Arm ARM EXTR: (Xn:Xm)<lsb+datasize-1:lsb>.
/// EXTR's value: bits lsb.. of hi:lo (X[n]:X[m]), of 64 or 32 bits (sf).
GFN u64 extr_value(u32 sf, u64 hi, u64 lo, u32 lsb) {
    if (sf) return lsb ? (lo >> lsb) | (hi << (64 - lsb)) : lo;
    return (u32)((((u64)(u32)hi << 32) | (u32)lo) >> lsb);
}
HANDLER void EXTR(Core& c, u32 sf, u32 N, u32 m, u32 lsb, u32 n, u32 d) {
    if (sf != N || (!sf && (lsb & 0x20))) { undef(c); return; }
    setX(c, d, extr_value(sf, X(c, n), X(c, m), lsb));
}
