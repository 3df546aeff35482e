// Advanced SIMD modified immediate: MOVI, MVNI, ORR, BIC (vector, immediate), FMOV
// (vector, immediate). One table line per cmode, all through vec_modimm.
#pragma once
#include "simd_common.h"

/// AdvSIMDExpandImm.
GFN u64 simd_expand_imm(u32 op, u32 cmode, u64 imm8) {
    switch (cmode >> 1) {
    case 0: return (imm8 << 32) | imm8;
    case 1: return (imm8 << 40) | (imm8 << 8);
    case 2: return (imm8 << 48) | (imm8 << 16);
    case 3: return (imm8 << 56) | (imm8 << 24);
    case 4: return 0x0001000100010001ull * imm8;
    case 5: return 0x0100010001000100ull * imm8;
    case 6: {
        u64 w = (cmode & 1) ? ((imm8 << 16) | 0xffff) : ((imm8 << 8) | 0xff);
        return (w << 32) | w;
    }
    default:
        if (!(cmode & 1)) {
            if (!op) return 0x0101010101010101ull * imm8;
            u64 r = 0;
            for (int b = 0; b < 8; b++)
                if ((imm8 >> b) & 1) r |= 0xffull << (8 * b);
            return r;
        }
        if (!op) {
            u64 s = fp_expand_imm((u32)imm8, 2);
            return (s << 32) | s;
        }
        return fp_expand_imm((u32)imm8, 3);
    }
}

GFN void vec_modimm(Core& c, u32 q, u32 op, u32 cmode, u32 imm8, u32 d) {
    if (cmode == 15 && op && !q) return undef(c);
    u64 imm = simd_expand_imm(op, cmode, imm8);
    bool logic = cmode < 12 && (cmode & 1);  // ORR (op 0) / BIC (op 1)
    u64 lo, hi;
    if (logic) {
        lo = op ? (V_lo(c, d) & ~imm) : (V_lo(c, d) | imm);
        hi = op ? (V_hi(c, d) & ~imm) : (V_hi(c, d) | imm);
    } else {
        if (op && cmode < 14) imm = ~imm;  // MVNI
        lo = hi = imm;
    }
    setV(c, d, lo, q ? hi : 0);
}

HANDLER void MOVI32_L0_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 0, i, d); }
HANDLER void ORRBIC32_L0_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 1, i, d); }
HANDLER void MOVI32_L8_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 2, i, d); }
HANDLER void ORRBIC32_L8_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 3, i, d); }
HANDLER void MOVI32_L16_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 4, i, d); }
HANDLER void ORRBIC32_L16_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 5, i, d); }
HANDLER void MOVI32_L24_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 6, i, d); }
HANDLER void ORRBIC32_L24_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 7, i, d); }
HANDLER void MOVI16_L0_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 8, i, d); }
HANDLER void ORRBIC16_L0_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 9, i, d); }
HANDLER void MOVI16_L8_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 10, i, d); }
HANDLER void ORRBIC16_L8_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 11, i, d); }
HANDLER void MOVI32_MSL8_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 12, i, d); }
HANDLER void MOVI32_MSL16_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 13, i, d); }
HANDLER void MOVI8_64_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 14, i, d); }
HANDLER void FMOV_imm_v(Core& c, u32 q, u32 o, u32 i, u32 d) { vec_modimm(c, q, o, 15, i, d); }
