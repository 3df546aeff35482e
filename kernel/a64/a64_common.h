// Helpers shared by the base integer instruction handlers (dp_imm.h, dp_reg.h,
// branch.h, system.h, ldst.h). Each mirrors a function of the Arm ARM (DDI 0487)
// shared pseudocode; the name is given in the comment.
#pragma once
#include "../mm/mm.h"

/// Mask of a datasize-bit result: sf=1 -> 64 bits, sf=0 -> 32 bits.
GFN u64 dmask(u32 sf) { return sf ? ~0ull : 0xffffffffull; }

/// True once a memory access of the current instruction faulted (the handler must then
/// leave registers alone: the instruction has no architectural effect).
GFN bool faulted(Core& c) { return c.exc == EXC_SIGNAL; }

/// shared/functions/integer/AddWithCarry: x + y + carry over 64 (sf=1) or 32 bits;
/// writes the NZCV word to *nzcv unless nzcv is null. Returns the (zero-extended) result.
GFN u64 add_with_carry_w(u32 sf, u64 x, u64 y, u32 carry, u64* nzcv) {
    if (sf) {
        u64 r = x + y + carry;
        if (nzcv) {
            bool cf = carry ? (r <= x) : (r < x);
            bool vf = ((~(x ^ y) & (x ^ r)) >> 63) != 0;
            *nzcv = nzcv_word((r >> 63) != 0, r == 0, cf, vf);
        }
        return r;
    }
    u32 x32 = (u32)x, y32 = (u32)y;
    u64 wide = (u64)x32 + y32 + carry;
    u32 r = (u32)wide;
    if (nzcv) {
        bool vf = ((~(x32 ^ y32) & (x32 ^ r)) >> 31) != 0;
        *nzcv = nzcv_word((r >> 31) != 0, r == 0, (wide >> 32) != 0, vf);
    }
    return r;
}
/// AddWithCarry with the flags written to c when setflags.
GFN u64 add_with_carry(Core& c, u32 sf, u64 x, u64 y, u32 carry, bool setflags) {
    return add_with_carry_w(sf, x, y, carry, setflags ? &c.s.nzcv : (u64*)0);
}

/// Bits 127..64 of the unsigned 128-bit product x * y (no __int128 needed on the device:
/// NVRTC accepts it only with --device-int128).
GFN u64 umulh64(u64 x, u64 y) {
#if defined(__CUDA_ARCH__)
    return __umul64hi(x, y);
#else
    return (u64)(((u128)x * (u128)y) >> 64);
#endif
}

/// shared/functions/common/ROR within datasize bits (amount < datasize).
GFN u64 ror_n(u64 x, u32 amount, u32 datasize) {
    if (amount == 0) return x;
    if (datasize == 64) return (x >> amount) | (x << (64 - amount));
    x &= 0xffffffffull;
    return ((x >> amount) | (x << (datasize - amount))) & 0xffffffffull;
}

/// aarch64/instrs/integer/shiftreg/ShiftReg: LSL (0), LSR (1), ASR (2), ROR (3) of a
/// datasize-bit value by amount (< datasize). Result zero-extended to 64 bits.
GFN u64 shift_reg(u64 v, u32 type, u32 amount, u32 sf) {
    u32 ds = sf ? 64 : 32;
    v &= dmask(sf);
    switch (type) {
    case 0: return (v << amount) & dmask(sf);
    case 1: return v >> amount;
    case 2: return sf ? (u64)((i64)v >> amount) : (u64)(u32)((i32)(u32)v >> amount);
    default: return ror_n(v, amount, ds);
    }
}

/// aarch64/instrs/extendreg/ExtendReg: UXTB/UXTH/UXTW/UXTX/SXTB/SXTH/SXTW/SXTX (option
/// 0..7) then LSL shift (0..4). The result is 64 bits (the caller truncates for sf=0).
GFN u64 extend_reg(u64 v, u32 option, u32 shift) {
    u64 r;
    switch (option) {
    case 0: r = v & 0xff; break;
    case 1: r = v & 0xffff; break;
    case 2: r = v & 0xffffffffull; break;
    case 3: r = v; break;
    case 4: r = (u64)sext(v, 8); break;
    case 5: r = (u64)sext(v, 16); break;
    case 6: r = (u64)sext(v, 32); break;
    default: r = v; break;
    }
    return r << shift;
}

/// aarch64/instrs/integer/bitmasks/DecodeBitMasks. Returns false for a reserved
/// encoding (the caller raises UNDEFINED). `immediate` is true for logical (immediate).
GFN bool decode_bit_masks(u32 immN, u32 imms, u32 immr, bool immediate, u32 datasize,
                          u64* wmask, u64* tmask) {
    u32 v = (immN << 6) | (~imms & 0x3f);
    if (v == 0) return false;
    int len = 31 - clz32(v);  // HighestSetBit(immN:NOT(imms))
    if (len < 1) return false;
    if ((1u << len) > datasize) return false;
    u32 levels = (u32)ones(len);
    if (immediate && (imms & levels) == levels) return false;
    u32 S = imms & levels;
    u32 R = immr & levels;
    u32 d = (S - R) & levels;
    u32 esize = 1u << len;
    u64 welem = ones((int)S + 1);
    u64 telem = ones((int)d + 1);
    if (R != 0) welem = ((welem >> R) | (welem << (esize - R))) & ones((int)esize);
    for (u32 e = esize; e < 64; e *= 2) {  // Replicate()
        welem |= welem << e;
        telem |= telem << e;
    }
    *wmask = welem & ones((int)datasize);
    *tmask = telem & ones((int)datasize);
    return true;
}
