// Loads and stores of general registers: single register (unsigned offset, unscaled,
// pre/post-index, unprivileged, register offset, literal), pairs, exclusives with a
// global monitor between lanes, load-acquire/store-release.
// Arm ARM (DDI 0487) chapter C6, A64 base instructions.
//
// Writeback with Rn == Rt (CONSTRAINED UNPREDICTABLE): a store stores the value before
// the writeback; a load writes the base back and then the loaded value (the load wins).
// A faulting access leaves every register unchanged.
#pragma once
#include "../mm/mm.h"
#include "a64_common.h"

/// aarch64/instrs/memory/single-general: one access of 1 << size bytes at addr, then
/// writeback of wbaddr to Rn (SP-capable) when wback.
/// opc: 0 store, 1 load zero-extended, 2 load sign-extended to 64, 3 sign-extended to 32.
GFN void gpr_access(Core& c, u32 size, u32 opc, u32 n, u32 t, u64 addr, bool wback, u64 wbaddr) {
    int bytes = 1 << size;
    if (opc == 0) {
        mem_write(c, addr, bytes, X(c, t));
        if (wback && !faulted(c)) setXSP(c, n, wbaddr);
        return;
    }
    u64 v = mem_read(c, addr, bytes);
    if (faulted(c)) return;
    if (wback) setXSP(c, n, wbaddr);
    if (opc == 2) v = (u64)sext(v, 8 * bytes);
    else if (opc == 3) v = (u64)(u32)sext(v, 8 * bytes);
    setX(c, t, v);
}

/// True when (size, opc) names a load or store (not PRFM, not unallocated):
/// size=3 opc=2 is PRFM, size=3 opc=3 and size=2 opc=3 are unallocated.
GFN bool gpr_is_access(u32 size, u32 opc) { return !(size == 3 && opc >= 2) && !(size == 2 && opc == 3); }
/// size=3 opc=2: PRFM (prefetch: a no-op here).
GFN bool gpr_is_prfm(u32 size, u32 opc) { return size == 3 && opc == 2; }

/// Arm ARM LDR/STR/LDRB/.../LDRSW (immediate, unsigned offset): scaled imm12;
/// PRFM (immediate).
HOT_HANDLER void LDST_uimm(Core& c, u32 size, u32 opc, u32 imm12, u32 n, u32 t) {
    if (gpr_is_prfm(size, opc)) return;
    if (!gpr_is_access(size, opc)) { undef(c); return; }
    gpr_access(c, size, opc, n, t, XSP(c, n) + ((u64)imm12 << size), false, 0);
}

/// Arm ARM LDUR/STUR/LDURB/.../LDURSW (unscaled immediate); PRFUM.
HANDLER void LDST_unscaled(Core& c, u32 size, u32 opc, u32 imm9, u32 n, u32 t) {
    if (gpr_is_prfm(size, opc)) return;
    if (!gpr_is_access(size, opc)) { undef(c); return; }
    gpr_access(c, size, opc, n, t, XSP(c, n) + (u64)sext(imm9, 9), false, 0);
}

/// Arm ARM LDTR/STTR/LDTRB/.../LDTRSW (unprivileged): at EL0 a normal access.
HANDLER void LDST_unpriv(Core& c, u32 size, u32 opc, u32 imm9, u32 n, u32 t) {
    if (!gpr_is_access(size, opc)) { undef(c); return; }
    gpr_access(c, size, opc, n, t, XSP(c, n) + (u64)sext(imm9, 9), false, 0);
}

/// Arm ARM LDR/STR/... (immediate, post-index): access at Rn, then Rn += imm9.
HOT_HANDLER void LDST_post(Core& c, u32 size, u32 opc, u32 imm9, u32 n, u32 t) {
    if (!gpr_is_access(size, opc)) { undef(c); return; }
    u64 base = XSP(c, n);
    gpr_access(c, size, opc, n, t, base, true, base + (u64)sext(imm9, 9));
}

/// Arm ARM LDR/STR/... (immediate, pre-index): Rn += imm9, access at the new Rn.
HOT_HANDLER void LDST_pre(Core& c, u32 size, u32 opc, u32 imm9, u32 n, u32 t) {
    if (!gpr_is_access(size, opc)) { undef(c); return; }
    u64 addr = XSP(c, n) + (u64)sext(imm9, 9);
    gpr_access(c, size, opc, n, t, addr, true, addr);
}

/// Arm ARM LDR/STR/... (register): address = Rn + ExtendReg(Rm, option, S ? size : 0);
/// option must be UXTW (010), LSL/UXTX (011), SXTW (110) or SXTX (111). PRFM
/// (register).
HOT_HANDLER void LDST_reg(Core& c, u32 size, u32 opc, u32 m, u32 option, u32 s, u32 n, u32 t) {
    if (!(option & 2)) { undef(c); return; }
    if (gpr_is_prfm(size, opc)) return;
    if (!gpr_is_access(size, opc)) { undef(c); return; }
    u64 off = extend_reg(X(c, m), option, s ? size : 0);
    gpr_access(c, size, opc, n, t, XSP(c, n) + off, false, 0);
}

/// Arm ARM LDR (literal), LDRSW (literal), PRFM (literal).
HANDLER void LDR_lit(Core& c, u32 opc, u32 imm19, u32 t) {
    u64 addr = c.pc + ((u64)sext(imm19, 19) << 2);
    switch (opc) {
    case 0: gpr_access(c, 2, 1, 0, t, addr, false, 0); return;  // LDR Wt
    case 1: gpr_access(c, 3, 1, 0, t, addr, false, 0); return;  // LDR Xt
    case 2: gpr_access(c, 2, 2, 0, t, addr, false, 0); return;  // LDRSW
    default: return;                                             // PRFM
    }
}

/// aarch64/instrs/memory/pair/general: two registers of `bytes` (4 or 8) each.
/// mode: 0 non-temporal offset (LDNP/STNP), 1 post-index, 2 signed offset, 3 pre-index.
GFN void gpr_pair(Core& c, u32 bytes, bool sign, u32 mode, u32 load, u32 imm7, u32 t2, u32 n, u32 t) {
    u64 base = XSP(c, n);
    u64 wbaddr = base + ((u64)sext(imm7, 7) * bytes);
    u64 addr = mode == 1 ? base : wbaddr;
    bool wback = mode == 1 || mode == 3;
    u64 a, b;
    if (!load) {
        a = X(c, t);
        b = X(c, t2);
        if (bytes == 4) {
            mem_write(c, addr, 8, (a & 0xffffffffull) | (b << 32));
        } else {
            // Check the last page first so that a fault leaves memory unchanged.
            if ((addr & (PAGE_SZ - 1)) + 16 > PAGE_SZ && !mm_translate(c, addr + 15, PTE_W)) return;
            st64(c, addr, a);
            if (!faulted(c)) st64(c, addr + 8, b);
        }
        if (wback && !faulted(c)) setXSP(c, n, wbaddr);
        return;
    }
    if (bytes == 4) {
        u64 v = mem_read(c, addr, 8);
        a = v & 0xffffffffull;
        b = v >> 32;
        if (sign) { a = (u64)sext(a, 32); b = (u64)sext(b, 32); }
    } else {
        a = ld64(c, addr);
        b = ld64(c, addr + 8);
    }
    if (faulted(c)) return;
    if (wback) setXSP(c, n, wbaddr);
    setX(c, t, a);
    setX(c, t2, b);
}

/// Arm ARM STP, LDP, STNP, LDNP (general registers).
HOT_HANDLER void LDSTP(Core& c, u32 sf, u32 mode, u32 load, u32 imm7, u32 t2, u32 n, u32 t) {
    gpr_pair(c, sf ? 8 : 4, false, mode, load, imm7, t2, n, t);
}

/// Arm ARM LDPSW: two words, sign-extended (no non-temporal form).
HANDLER void LDPSW(Core& c, u32 mode, u32 imm7, u32 t2, u32 n, u32 t) {
    if (mode == 0) { undef(c); return; }
    gpr_pair(c, 4, true, mode, 1, imm7, t2, n, t);
}

// ---- exclusives and acquire/release ---------------------------------------------------

/// Exclusive and acquire/release accesses must be aligned to their size: SIGBUS.
GFN bool check_align_bus(Core& c, u64 addr, u32 bytes) {
    if (addr & (bytes - 1)) {
        raise_signal(c, SIG_BUS, addr);
        return false;
    }
    return true;
}

// Lanes share writable memory: a MAP_SHARED page of a file is one frame of the page
// cache in every process that maps it, on any lane (kernel/sys/mm_shared.h). So the
// exclusives keep a global monitor as QEMU's user mode does: a load-exclusive records
// the value it read (`CpuState::excl_val`), and a store-exclusive that passes the local
// monitor stores with an atomic compare-and-swap against that value, failing when
// another lane (or process) stored something else to the granule meanwhile (a store
// of the same value goes unnoticed, which the algorithms built on LL/SC do not tell
// apart). The exclusive and acquire loads are coherent loads (on the GPU, L1 is not
// coherent between multiprocessors: volatile, served by L2), acquire and release add
// a device-scope fence, and DMB and DSB are one (kernel/a64/system.h).
//
// Because the monitor compares values, a store-exclusive may succeed after other lanes
// wrote the granule and wrote it back (A-B-A): a lock taken and released by another
// thread between this thread's LDAXR and its STXR. On Arm the STXR would fail; here it
// succeeds, so the acquire that LDAXR did (its fence, which on the GPU also empties the
// multiprocessor's L1) comes too early: what the other thread wrote inside its critical
// section may reach this multiprocessor's L1 afterwards as a stale line (a neighbouring
// lane whose interleaved frame shares the cache line loads it) and be read after the
// STXR. A store-exclusive that succeeds after an acquiring load-exclusive therefore
// fences again (`EXCL_ACQUIRE`): the acquire then takes effect where the lock was taken.
// (The H200 showed it as glibc's `mutex->__data.__owner == 0` assertion in a contended
// mutex at 100 lanes with spare lanes, never at one lane, where frames are not
// interleaved.)

/// `CpuState::excl_size`'s flag for a reservation made by an acquiring load-exclusive
/// (LDAXR, LDAXP): its store-exclusive's success fences (see above).
#define EXCL_ACQUIRE (1ull << 63)

/// shared/functions/exclusive: AArch64.ExclusiveMonitorsPass for the local monitor:
/// passes iff the monitor holds exactly (addr, bytes); always clears it. `acquire`:
/// whether the marking load was an acquiring one (EXCL_ACQUIRE).
GFN bool excl_pass(Core& c, u64 addr, u32 bytes, bool* acquire) {
    bool ok = (c.s.excl_size & ~EXCL_ACQUIRE) == bytes && c.s.excl_addr == addr;
    *acquire = (c.s.excl_size & EXCL_ACQUIRE) != 0;
    c.s.excl_addr = 0;
    c.s.excl_size = 0;
    return ok;
}

/// Mark (addr, bytes) in the local monitor (`acquire`: by LDAXR or LDAXP).
GFN void excl_mark(Core& c, u64 addr, u32 bytes, u32 acquire) {
    c.s.excl_addr = addr;
    c.s.excl_size = bytes | (acquire ? EXCL_ACQUIRE : 0);
}

/// After a store-exclusive through the global monitor: when it stored (`ok`) and the
/// reservation was an acquiring one, the acquire again (see EXCL_ACQUIRE).
GFN void excl_acquired(bool ok, bool acquire) {
    if (ok && acquire) atomic_fence_dev();
}

/// A coherent load of `bytes` (1, 2, 4, 8) at host pointer p, aligned to its size (so
/// within one word of an interleaved frame).
GFN u64 load_excl(const u8* p, u32 bytes) {
    if (bytes == 8) return load_coherent_u64((const u64*)p);
    const u32* w = (const u32*)((uintptr_t)p & ~(uintptr_t)3);
    u32 v = load_coherent_u32(w);
    if (bytes == 4) return v;
    u32 sh = (u32)((uintptr_t)p & 3) * 8;
    return (v >> sh) & (bytes == 2 ? 0xffffu : 0xffu);
}

/// Store v (`bytes`: 1, 2, 4, 8) at p, aligned, iff p still holds `expect`, as one atomic
/// step: whether it did. Bytes and halfwords compare-and-swap their word, again while
/// only the word's other bytes changed.
GFN bool cas_excl(u8* p, u32 bytes, u64 expect, u64 v) {
    if (bytes == 8) return atomic_cas_u64_dev((u64*)p, expect, v) == expect;
    u32* w = (u32*)((uintptr_t)p & ~(uintptr_t)3);
    if (bytes == 4) return atomic_cas_u32_dev(w, (u32)expect, (u32)v) == (u32)expect;
    u32 sh = (u32)((uintptr_t)p & 3) * 8;
    u32 mask = (bytes == 2 ? 0xffffu : 0xffu) << sh;
    NO_UNROLL for (;;) {
        u32 cur = load_coherent_u32(w);
        if ((cur & mask) != (((u32)expect << sh) & mask)) return false;
        u32 next = (cur & ~mask) | (((u32)v << sh) & mask);
        if (atomic_cas_u32_dev(w, cur, next) == cur) return true;
    }
}

/// An aligned load of `bytes` (1, 2, 4, 8) at guest address va, coherent when another
/// lane may write it (mem_shared): 0 after a fault (raised).
GFN u64 mem_read_coherent(Core& c, u64 va, u32 bytes) {
    if (!mem_shared(c)) return mem_read(c, va, (int)bytes);
    u8* p = mm_translate(c, va, PTE_R);
    return p ? load_excl(p, bytes) : 0;
}

/// Arm ARM LDXRB/LDXRH/LDXR, LDAXRB/LDAXRH/LDAXR: load coherently and mark (addr, size)
/// in the monitor with the value read.
HANDLER void LDXR(Core& c, u32 size, u32 acquire, u32 n, u32 t) {
    u64 addr = XSP(c, n);
    u32 bytes = 1u << size;
    if (!check_align_bus(c, addr, bytes)) return;
    u64 v = mem_read_coherent(c, addr, bytes);
    if (faulted(c)) return;
    if (acquire) fence_shared(c);
    excl_mark(c, addr, bytes, acquire);
    c.s.excl_val[0] = v;
    setX(c, t, v);
}

/// Arm ARM STXRB/STXRH/STXR, STLXRB/STLXRH/STLXR: store iff the monitor passes and
/// memory still holds what the load-exclusive read; Ws = 0 on success, 1 on failure.
HANDLER void STXR(Core& c, u32 size, u32 s, u32 release, u32 n, u32 t) {
    u64 addr = XSP(c, n);
    u32 bytes = 1u << size;
    if (!check_align_bus(c, addr, bytes)) return;
    u64 data = X(c, t);
    bool acq;
    if (!excl_pass(c, addr, bytes, &acq)) { setW(c, s, 1); return; }
    if (!mem_shared(c)) {  // no other lane writes here: the local monitor decides
        mem_write(c, addr, (int)bytes, data);
        if (!faulted(c)) setW(c, s, 0);
        return;
    }
    u8* p = mm_translate(c, addr, PTE_W);
    if (!p) return;  // faulted
    if (release) atomic_fence_dev();
    bool ok = cas_excl(p, bytes, c.s.excl_val[0], data);
    excl_acquired(ok, acq);
    setW(c, s, ok ? 0 : 1);
}

/// Arm ARM LDXP, LDAXP: a pair, aligned to its total size (8 or 16).
HANDLER void LDXP(Core& c, u32 sf, u32 acquire, u32 t2, u32 n, u32 t) {
    u64 addr = XSP(c, n);
    u32 total = sf ? 16 : 8;
    if (!check_align_bus(c, addr, total)) return;
    u64 a, b;
    u64 v = mem_read_coherent(c, addr, 8);
    if (sf) {
        a = v;
        b = faulted(c) ? 0 : mem_read_coherent(c, addr + 8, 8);
    } else {
        a = v & 0xffffffffull;
        b = v >> 32;
    }
    if (faulted(c)) return;
    if (acquire) fence_shared(c);
    excl_mark(c, addr, total, acquire);
    c.s.excl_val[0] = sf ? a : v;
    c.s.excl_val[1] = b;
    setX(c, t, a);
    setX(c, t2, b);
}

/// The 16-byte store-exclusive's lock for the pair at addr (MachineHdr::excl_locks):
/// take it (spinning: the holder is inside one STXP, never preempted) or give it back.
GFN void excl_lock(Core& c, u64 addr) {
    u32* l = &c.m->excl_locks[(addr >> 4) % EXCL_LOCKS];
    NO_UNROLL while (atomic_cas_u32_dev(l, 0, 1) != 0) {
    }
    atomic_fence_dev();
}
GFN void excl_unlock(Core& c, u64 addr) {
    atomic_fence_dev();
    *(volatile u32*)&c.m->excl_locks[(addr >> 4) % EXCL_LOCKS] = 0;
}

/// Arm ARM STXP, STLXP. A pair of W registers is one 8-byte compare-and-swap; a pair of
/// X registers (two words, not adjacent on an interleaved frame) is compared and stored
/// under the pair's lock, so that two lanes' 16-byte store-exclusives are one step each
/// (a plain store by another lane between the compare and the store goes unnoticed).
HANDLER void STXP(Core& c, u32 sf, u32 s, u32 release, u32 t2, u32 n, u32 t) {
    u64 addr = XSP(c, n);
    u32 total = sf ? 16 : 8;
    if (!check_align_bus(c, addr, total)) return;
    u64 a = X(c, t), b = X(c, t2);
    bool acq;
    if (!excl_pass(c, addr, total, &acq)) { setW(c, s, 1); return; }
    if (!mem_shared(c)) {  // no other lane writes here: the local monitor decides
        if (sf) st128(c, addr, a, b);
        else st64(c, addr, (a & 0xffffffffull) | (b << 32));
        if (!faulted(c)) setW(c, s, 0);
        return;
    }
    // Both halves translated for writing first, so that a fault stores nothing.
    u8* lo = mm_translate(c, addr, PTE_W);
    u8* hi = lo && sf ? mm_translate(c, addr + 8, PTE_W) : 0;
    if (!lo || (sf && !hi)) return;  // faulted
    if (release) atomic_fence_dev();
    bool ok;
    if (sf) {
        excl_lock(c, addr);
        ok = load_excl(lo, 8) == c.s.excl_val[0] && load_excl(hi, 8) == c.s.excl_val[1];
        if (ok) {
            *(volatile u64*)lo = a;
            *(volatile u64*)hi = b;
        }
        excl_unlock(c, addr);
    } else {
        ok = cas_excl(lo, 8, c.s.excl_val[0], (a & 0xffffffffull) | (b << 32));
    }
    excl_acquired(ok, acq);
    setW(c, s, ok ? 0 : 1);
}

/// Arm ARM STLRB/STLRH/STLR: store-release (aligned): a fence, then the store.
HANDLER void STLR(Core& c, u32 size, u32 n, u32 t) {
    u64 addr = XSP(c, n);
    if (!check_align_bus(c, addr, 1u << size)) return;
    fence_shared(c);
    mem_write(c, addr, 1 << size, X(c, t));
}

/// Arm ARM LDARB/LDARH/LDAR: load-acquire (aligned): a coherent load, then a fence.
HANDLER void LDAR(Core& c, u32 size, u32 n, u32 t) {
    u64 addr = XSP(c, n);
    if (!check_align_bus(c, addr, 1u << size)) return;
    u64 v = mem_read_coherent(c, addr, 1u << size);
    if (faulted(c)) return;
    fence_shared(c);
    setX(c, t, v);
}
