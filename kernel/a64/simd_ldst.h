// SIMD&FP loads and stores: LDR/STR of B/H/S/D/Q registers (unsigned offset, unscaled,
// pre/post-index, register offset, literal), LDP/STP/LDNP/STNP, and the structure
// loads/stores LD1-LD4/ST1-ST4 (multiple, single lane, replicate), with post-index.
// Loads of a scalar B/H/S/D zero the rest of the register.
#pragma once
#include "simd_common.h"

// Out-of-line guest accesses: the translation path (mm_translate) is large, so every
// access here goes through one copy of it instead of an inlined one per call site.
GFN_NOINLINE u64 vmem_read(Core& c, u64 va, u32 size) { return mem_read(c, va, (int)size); }
GFN_NOINLINE void vmem_write(Core& c, u64 va, u32 size, u64 v) { mem_write(c, va, (int)size, v); }
/// Check that [va, va+len) is writable (raising SIGSEGV if not) before a multi-part store.
GFN_NOINLINE bool vmem_writable(Core& c, u64 va, u64 len) {
    return mm_translate(c, va, PTE_W) && mm_translate(c, va + len - 1, PTE_W);
}

/// Load 1 << scale bytes (scale 0..4) into Vt, zeroing the upper bits.
GFN_NOINLINE void simd_load(Core& c, u32 t, u64 addr, u32 scale) {
    if (scale == 4) {
        u64 lo = vmem_read(c, addr, 8), hi = vmem_read(c, addr + 8, 8);
        if (c.exc == EXC_NONE) setV(c, t, lo, hi);
    } else {
        u64 v = vmem_read(c, addr, 1u << scale);
        if (c.exc == EXC_NONE) set_freg(c, t, scale, v);
    }
}
GFN_NOINLINE void simd_store(Core& c, u32 t, u64 addr, u32 scale) {
    if (scale == 4) {
        if (!vmem_writable(c, addr, 16)) return;
        vmem_write(c, addr, 8, V_lo(c, t));
        vmem_write(c, addr + 8, 8, V_hi(c, t));
    } else {
        vmem_write(c, addr, 1u << scale, V_lo(c, t));
    }
}
/// size:opc -> access scale (0..4) or -1 when unallocated; *load set.
GFN int simd_ldst_scale(u32 size, u32 opc, bool* load) {
    *load = (opc & 1) != 0;
    if (opc & 2) return size == 0 ? 4 : -1;
    return (int)size;
}

HANDLER void LDST_simd_uimm(Core& c, u32 z, u32 o, u32 i, u32 n, u32 t) {
    bool load;
    int scale = simd_ldst_scale(z, o, &load);
    if (scale < 0) return undef(c);
    u64 addr = XSP(c, n) + ((u64)i << scale);
    if (load) simd_load(c, t, addr, scale);
    else simd_store(c, t, addr, scale);
}
/// x: 00 unscaled (LDUR/STUR), 01 post-index, 11 pre-index, 10 unallocated.
HANDLER void LDST_simd_imm9(Core& c, u32 z, u32 o, u32 i, u32 x, u32 n, u32 t) {
    bool load;
    int scale = simd_ldst_scale(z, o, &load);
    if (scale < 0 || x == 2) return undef(c);
    i64 off = sext(i, 9);
    u64 base = XSP(c, n);
    u64 addr = x == 1 ? base : base + off;
    if (load) simd_load(c, t, addr, scale);
    else simd_store(c, t, addr, scale);
    if (x != 0 && c.exc == EXC_NONE) setXSP(c, n, base + off);
}
/// Extend a register offset: option 010 UXTW, 011 LSL, 110 SXTW, 111 SXTX.
GFN u64 simd_ext_reg(u64 v, u32 option) {
    if ((option & 3) == 2) v = (option & 4) ? (u64)(i64)(i32)(u32)v : (u64)(u32)v;
    return v;
}
HANDLER void LDST_simd_reg(Core& c, u32 z, u32 o, u32 m, u32 x, u32 s, u32 n, u32 t) {
    bool load;
    int scale = simd_ldst_scale(z, o, &load);
    if (scale < 0 || !(x & 2)) return undef(c);
    u64 addr = XSP(c, n) + (simd_ext_reg(X(c, m), x) << (s ? scale : 0));
    if (load) simd_load(c, t, addr, scale);
    else simd_store(c, t, addr, scale);
}
HANDLER void LDR_simd_lit(Core& c, u32 o, u32 i, u32 t) {
    if (o == 3) return undef(c);
    simd_load(c, t, c.pc + (u64)(sext(i, 19) << 2), o + 2);
}
/// Pairs: o = 00 S, 01 D, 10 Q; x = 00 no-allocate, 01 post, 10 offset, 11 pre.
GFN_NOINLINE void LDSTP_simd(Core& c, u32 o, u32 x, u32 l, u32 i, u32 u, u32 n, u32 t) {
    if (o == 3) return undef(c);
    u32 scale = o + 2;
    i64 off = sext(i, 7) << scale;
    u64 base = XSP(c, n);
    u64 addr = x == 1 ? base : base + off;
    u64 step = 1ull << scale;
    if (l) {
        // Read both before writing (Vt == Vt2 is CONSTRAINED UNPREDICTABLE; the second wins).
        u64 a0 = 0, a1 = 0, b0 = 0, b1 = 0;
        if (scale == 4) {
            a0 = vmem_read(c, addr, 8);
            a1 = vmem_read(c, addr + 8, 8);
            b0 = vmem_read(c, addr + 16, 8);
            b1 = vmem_read(c, addr + 24, 8);
        } else {
            a0 = vmem_read(c, addr, (u32)step);
            b0 = vmem_read(c, addr + step, (u32)step);
        }
        if (c.exc != EXC_NONE) return;
        setV(c, t, a0, a1);
        setV(c, u, b0, b1);
    } else {
        if (!vmem_writable(c, addr, 2 * step)) return;
        simd_store(c, t, addr, scale);
        simd_store(c, u, addr + step, scale);
    }
    if ((x & 1) && c.exc == EXC_NONE) setXSP(c, n, base + off);
}

// ---- structure loads/stores ---------------------------------------------------------------

/// LD1-4/ST1-4 multiple structures. Returns the bytes transferred (0 if UNDEFINED).
GFN_NOINLINE u64 ldst_multi(Core& c, u32 q, u32 l, u32 o, u32 z, u32 n, u32 t) {
    u32 rpt, selem;
    switch (o) {
    case 0: rpt = 1; selem = 4; break;
    case 2: rpt = 4; selem = 1; break;
    case 4: rpt = 1; selem = 3; break;
    case 6: rpt = 3; selem = 1; break;
    case 7: rpt = 1; selem = 1; break;
    case 8: rpt = 1; selem = 2; break;
    case 10: rpt = 2; selem = 1; break;
    default: undef(c); return 0;
    }
    if (z == 3 && !q && selem != 1) {
        undef(c);
        return 0;
    }
    u64 addr = XSP(c, n);
    u32 bytes = q ? 16 : 8;
    if (selem == 1) {  // whole registers, contiguous
        for (u32 r = 0; r < rpt; r++) {
            u32 tt = (t + r) & 31;
            u64 a = addr + r * bytes;
            if (l) {
                u64 lo = vmem_read(c, a, 8), hi = q ? vmem_read(c, a + 8, 8) : 0;
                if (c.exc != EXC_NONE) return 0;
                setV(c, tt, lo, hi);
            } else {
                vmem_write(c, a, 8, V_lo(c, tt));
                if (q) vmem_write(c, a + 8, 8, V_hi(c, tt));
            }
        }
        return (u64)rpt * bytes;
    }
    // Interleaved: element e of register t+s at addr + (e * selem + s) * ebytes.
    u32 lanes = vlanes(q, z), eb = 1u << z;
    VReg v[4];
    for (u32 s = 0; s < selem; s++) v[s] = l ? vzero() : vget(c, (t + s) & 31);
    u64 a = addr;
    for (u32 e = 0; e < lanes; e++) {
        for (u32 s = 0; s < selem; s++) {
            if (l) vset(v[s], e, z, vmem_read(c, a, eb));
            else vmem_write(c, a, eb, velt(v[s], e, z));
            a += eb;
        }
    }
    if (l) {
        if (c.exc != EXC_NONE) return 0;
        for (u32 s = 0; s < selem; s++) vput(c, (t + s) & 31, v[s], q);
    }
    return a - addr;
}
HANDLER void LDST_multi(Core& c, u32 q, u32 l, u32 o, u32 z, u32 n, u32 t) { ldst_multi(c, q, l, o, z, n, t); }
HANDLER void LDST_multi_post(Core& c, u32 q, u32 l, u32 m, u32 o, u32 z, u32 n, u32 t) {
    u64 base = XSP(c, n);
    u64 bytes = ldst_multi(c, q, l, o, z, n, t);
    if (bytes && c.exc == EXC_NONE) setXSP(c, n, base + (m == 31 ? bytes : X(c, m)));
}

/// Single structure / replicate. Returns the bytes transferred (0 if UNDEFINED).
GFN_NOINLINE u64 ldst_single(Core& c, u32 q, u32 l, u32 r, u32 o, u32 s, u32 z, u32 n, u32 t) {
    u32 scale = o >> 1, selem = (((o & 1) << 1) | r) + 1, index = 0;
    bool replicate = false;
    switch (scale) {
    case 3:
        if (!l || s) { undef(c); return 0; }
        scale = z;
        replicate = true;
        break;
    case 0: index = (q << 3) | (s << 2) | z; break;
    case 1:
        if (z & 1) { undef(c); return 0; }
        index = (q << 2) | (s << 1) | (z >> 1);
        break;
    default:
        if (z & 2) { undef(c); return 0; }
        if (z == 0) {
            index = (q << 1) | s;
        } else {
            if (s) { undef(c); return 0; }
            index = q;
            scale = 3;
        }
        break;
    }
    u64 addr = XSP(c, n);
    u32 eb = 1u << scale;
    if (replicate) {
        VReg v[4];
        for (u32 k = 0; k < selem; k++) {
            u64 x = vmem_read(c, addr + k * eb, eb);
            for (u32 e = 0; e < vlanes(q, scale); e++) vset(v[k], e, scale, x);
        }
        if (c.exc != EXC_NONE) return 0;
        for (u32 k = 0; k < selem; k++) vput(c, (t + k) & 31, v[k], q);
        return (u64)selem * eb;
    }
    for (u32 k = 0; k < selem; k++) {
        u32 tt = (t + k) & 31;
        VReg v = vget(c, tt);
        if (l) {
            u64 x = vmem_read(c, addr + k * eb, eb);
            if (c.exc != EXC_NONE) return 0;
            vset(v, index, scale, x);
            vput(c, tt, v, 1);
        } else {
            vmem_write(c, addr + k * eb, eb, velt(v, index, scale));
        }
    }
    return (u64)selem * eb;
}
HANDLER void LDST_single(Core& c, u32 q, u32 l, u32 r, u32 o, u32 s, u32 z, u32 n, u32 t) {
    ldst_single(c, q, l, r, o, s, z, n, t);
}
HANDLER void LDST_single_post(Core& c, u32 q, u32 l, u32 r, u32 m, u32 o, u32 s, u32 z, u32 n, u32 t) {
    u64 base = XSP(c, n);
    u64 bytes = ldst_single(c, q, l, r, o, s, z, n, t);
    if (bytes && c.exc == EXC_NONE) setXSP(c, n, base + (m == 31 ? bytes : X(c, m)));
}
