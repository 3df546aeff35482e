// Tier 2, the interpreter's side: profile counts at block entries and the call into a
// translation (docs/ARCHITECTURE.md, "Tier 2"). The translation itself is generated C++
// (crates/gpuos/src/translate/): one function per guest basic block calling the decode
// table's handlers with constant fields, and `t2_enter`, its dispatcher.
#pragma once
#include "../mm/mm.h"

/// A translation's entry (the generated dispatcher). If a translated block starts at
/// c.pc on the current code page (the same template frame it was translated from) and
/// holds at most `left` instructions, run it, then the blocks that follow on the same
/// page while the budget covers them, and return the instructions executed (> 0);
/// otherwise return 0 and change nothing. Afterwards either c.exc is EXC_NONE, every
/// returned instruction retired and c.s.pc is the next PC; or the last returned
/// instruction (at c.pc = c.s.pc, with c.npc and c.insn set) raised c.exc and the ones
/// before it retired: exactly the state `a64_exec_id` leaves for the run loop.
typedef u32 (*T2EnterFn)(Core& c, u64 left);

/// Whether insn is a conditional branch (B.cond, CBZ/CBNZ, TBZ/TBNZ): the next
/// instruction starts a block even when the branch is not taken.
GFN bool t2_cond_branch(u32 insn) {
    return (insn & 0x7c000000u) == 0x34000000u || (insn & 0xff000010u) == 0x54000000u;
}

/// Count one entry at `slot` of the current code page (a template frame: code_t2) in the
/// image's profile. Relaxed and not atomic as a whole: two lanes may lose an increment,
/// which only delays a translation.
GFN void t2_count(Core& c, u32* counts, u32 slot) {
    u32* e = counts + (c.code_ids - (const u16*)(uintptr_t)c.m->dcache) + slot;
#if GPUOS_DEVICE
    *e = *e + 1;
#else
    __atomic_store_n(e, __atomic_load_n(e, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
#endif
}

/// The template frame holding the current code page (code_t2 != 0).
GFN u64 t2_code_frame(Core& c) {
    return (u64)(c.code_ids - (const u16*)(uintptr_t)c.m->dcache) >> (PAGE_SHIFT - 2);
}

/// Constant tables of a translation (its block-start hash): device memory on the GPU.
#if GPUOS_DEVICE
#define T2_DATA static __device__ const
#else
#define T2_DATA static const
#endif

/// Warp votes of the meeting points where lanes whose paths parted come together again,
/// the furthest behind first (core_run in kernel/exec.h; a translation's regions,
/// crates/gpuos/src/translate/gen.rs gen_region; docs/ARCHITECTURE.md, "Lanes whose
/// paths part"): the lanes executing together now (`T2_ACTIVE`), the lanes of `m`
/// whose p holds (`T2_BALLOT`: every lane of m must reach it, the point where they
/// meet again), the least v over m (`T2_MIN`), and whether every lane of m is here
/// (`T2_TOGETHER`: its jumps may then stay direct). CUDA Programming Guide, "Warp Vote
/// Functions" and "Warp Reduce Functions" (__reduce_min_sync: compute capability 8.0
/// and up; before that each lane counts as the least, and the scheduler only gathers).
/// On the host a lane runs alone: constants. `-DGPUOS_T2_NO_SCHED` gives the GPU the
/// constants too (jumps always direct, no scheduler: the former code, to measure).
#if GPUOS_DEVICE && !defined(GPUOS_T2_NO_SCHED)
#define T2_ACTIVE() __activemask()
#define T2_BALLOT(m, p) __ballot_sync((m), (p))
#define T2_TOGETHER(m) (__activemask() == (m))
#define T2_SOLO(m) (__popc(m) == 1)
#if __CUDA_ARCH__ >= 800
#define T2_MIN(m, v) __reduce_min_sync((m), (v))
#else
#define T2_MIN(m, v) (v)
#endif
#else
#define T2_ACTIVE() 1u
#define T2_BALLOT(m, p) ((p) ? 1u : 0u)
#ifdef GPUOS_T2_FORCE_SCHED  // testing aid: every jump of a region through its scheduler
#define T2_TOGETHER(m) false
#else
#define T2_TOGETHER(m) true
#endif
#define T2_MIN(m, v) (v)
#define T2_SOLO(m) true
#endif

/// A region's jump to its block `label`, number `kk` (gen.rs jump_code): a `goto` while
/// every lane of the group the scheduler last chose (`grp`: all of the region's `mask`
/// while they are together) is here and `kk` lies before `lim`, the least block another
/// lane waits at (~0 while none waits); else through the scheduler, which would choose
/// the same group again for a jump below `lim` (a group catching up through a loop's
/// iterations passed it at every block: 83 % of the passes while lanes were apart, for
/// CoreMark with a seed per lane under `warp_sim`'s least-PC policy). Where the
/// scheduler is never taken (the host, -DGPUOS_T2_NO_SCHED) a plain `goto`, so that the
/// compiler never sees the scheduler's paths: g++ took about twice as long over
/// regions whose every jump could also go to `t2_next`.
/// `T2_SCHED`: whether the regions' scheduler is compiled in at all (the exits then
/// pass `t2_next`); without it a region is the plain graph of gotos and returns.
#if (GPUOS_DEVICE && !defined(GPUOS_T2_NO_SCHED)) || defined(GPUOS_T2_FORCE_SCHED)
#define T2_SCHED 1
#define T2_GOTO(label, kk) { if ((kk) < lim && T2_TOGETHER(grp)) goto label; split++; k = (kk); goto t2_next; }
#else
#define T2_SCHED 0
#define T2_GOTO(label, kk) goto label;
#endif

/// `T2_GROUP(n)` at each block's start (gen.rs gen_block): with
/// `-DGPUOS_T2_GROUP_STATS` (a measuring variant; the GPU only) the first of the lanes
/// that execute the block together (`__activemask()`) counts its `n` instructions once
/// for them all (Core::t2grp, MachineHdr::t2_group_insns), so that `t2_insns` over
/// that sum is how many lanes ran each translated instruction together on average
/// (`gpuos run -v`): ncu's "average active threads per warp" for the translated code
/// alone, in any mode. Default: nothing.
#if GPUOS_DEVICE && defined(GPUOS_T2_GROUP_STATS)
#define T2_GROUP(n) { u32 am_ = __activemask(); if ((u32)(__ffs(am_) - 1) == (threadIdx.x & 31)) c.t2grp += (n); }
#else
#define T2_GROUP(n)
#endif

/// `T2_BUDGET(n, need, pc)` at each block's start (gen.rs gen_block; `n` its
/// instructions, `pc` its start): the lane leaves the translation for the run loop at
/// this block when the budget left cannot cover its `n` instructions. Every block
/// checks: on the H100 (docs/BENCHMARKS.md, thirty-eighth session) CoreMark with a
/// seed per lane ran 14 % slower with the checks at loop heads only
/// (`-DGPUOS_T2_LOOP_BUDGET`, a measuring variant: the lane leaves when the budget
/// cannot cover `need`, the most that the block and the blocks its jumps reach before
/// the next check may run, gen.rs `budget_plan`; only the heads of a region's loops
/// check, and its scheduler checks the block it enters, `t2_need`; `need` 0 elsewhere),
/// though it has fewer instructions; why is not known yet.
#ifdef GPUOS_T2_LOOP_BUDGET
#define T2_BUDGET(n, need, pc_) if ((need) && left - done < (need)) { pc = (pc_); goto t2_out; }
#else
#define T2_BUDGET(n, need, pc_) if (left - done < (n)) { pc = (pc_); goto t2_out; }
#endif

/// `T2_SIDE_EXIT`: a translated load or store that neither the region's soft-TLB entry
/// nor the Core's soft TLB answers leaves the translation at that instruction (the
/// blocks before it and the instructions of its block before it counted) and the
/// interpreter runs it: the page's first touch, an access across pages, a fault,
/// copy-on-write (crates/gpuos/src/translate/emit.rs, `Call::slow_path`). Without it
/// (`-DGPUOS_T2_HANDLER_SLOW`, the former code, to measure) each access calls the
/// instruction's handler from the region with the registers written back and read
/// again around the call.
#ifdef GPUOS_T2_HANDLER_SLOW
#define T2_SIDE_EXIT 0
#else
#define T2_SIDE_EXIT 1
#endif

/// `T2_FRONTIER` (`-DGPUOS_T2_FRONTIER`, the GPU; off by default until measured): one
/// frontier for the whole warp. When some of the lanes in a region leave it (for
/// another region or the run loop), the others leave too, at the start of their next
/// block, and when some leave the translation, all do: the lanes meet again where the
/// least region (`t2_enter`) or the least PC (`core_run`) runs first. Without it, the
/// lanes still inside run on ahead while the ones that left wait, and groups of a warp
/// that parted can pass each other at every exit without meeting. The cost: a region's
/// registers stored and loaded again at each such exit, only while lanes are apart.
#if T2_SCHED && defined(GPUOS_T2_FRONTIER)
#define T2_FRONTIER 1
#else
#define T2_FRONTIER 0
#endif

/// A region's copy of a soft-TLB entry (the Core's `TlbEntry` of a page it hit, packed
/// by t2_pack): `tag`, the page's address with, in the bits below PAGE_SHIFT, the
/// entry's permissions (PTE_R, PTE_W, PTE_X, shifted by T2_PERM_SHIFT) and in bits 0-4
/// the shift of its words' stride (T2_IL_SHIFT on an interleaved frame, else 0: bit 0
/// is then T2_IL), 0 when empty (no permission: every access misses); `host`, the
/// frame's start. Two 64-bit
/// words, four registers on the GPU instead of the TlbEntry's six: the region keeps
/// three of them live across all its blocks, and with the pair of T2Ways the
/// TlbEntry copies grew CoreMark's regions by 13 % of SASS, most of it register moves
/// (thirty-fourth session, docs/BENCHMARKS.md). Packed, with the inline tests below,
/// the 512-block translation's regions went from 85,423 SASS instructions to 77,528,
/// their moves from 39,757 to 32,950 and local-memory loads from 4,345 to 3,086
/// (scripts/t2-sass-stats.sh).
struct T2Tlb {
    u64 tag;
    u8* host;
};

/// log2(IL_GROUP): on an interleaved frame a page's 8-byte words lie IL_WORD <<
/// T2_IL_SHIFT bytes apart (IL_ROW), so that t2_at and t2_word2 shift by it instead of
/// selecting the stride and multiplying.
#define T2_IL_SHIFT 5u
static_assert((1ull << T2_IL_SHIFT) == IL_GROUP && (IL_WORD << T2_IL_SHIFT) == IL_ROW, "T2_IL_SHIFT");

/// T2Tlb::tag's low five bits: the stride's shift (0 or T2_IL_SHIFT), which t2_at takes
/// straight from the tag as a funnel shift's count (the count's low five bits: one
/// instruction, where extracting an interleaved bit and multiplying by T2_IL_SHIFT took
/// three at every access); its bit 0 (`T2_IL`) says whether the frame is interleaved.
/// The permissions sit above it, PTE_* << T2_PERM_SHIFT.
#define T2_STRIDE_BITS 31u
#define T2_IL 1ull
#define T2_PERM_SHIFT 4u
static_assert((T2_IL_SHIFT & T2_IL) == T2_IL && T2_IL_SHIFT <= T2_STRIDE_BITS &&
                  ((PTE_PERM << T2_PERM_SHIFT) & T2_STRIDE_BITS) == 0 && (PTE_PERM << T2_PERM_SHIFT) < PAGE_SZ,
              "T2Tlb::tag's low bits");

/// The region entry of the page of a, packed from the Core's entry t that holds that
/// page (t.vpn == (a >> PAGE_SHIFT) + 1, a permission granted; a refill after a hit).
/// In the misses (t2_load_miss, t2_store_miss), which return it.
GFN T2Tlb t2_pack(const TlbEntry& t, u64 a) {
    return {(a & ~(PAGE_SZ - 1)) | ((u64)t.perm << T2_PERM_SHIFT) | (t.il ? (u64)T2_IL_SHIFT : 0), t.host};
}

/// Whether r is an entry of a's page (maybe without the access's permission). An empty
/// entry is one of page 0 without any permission: an access there only misses.
GFN bool t2_holds(const T2Tlb& r, u64 a) { return ((a ^ r.tag) >> PAGE_SHIFT) == 0; }

/// Whether r holds a's page with permission `acc` (PTE_R, PTE_W or PTE_X).
GFN bool t2_grants(const T2Tlb& r, u64 a, u64 acc) { return t2_holds(r, a) && (r.tag & (acc << T2_PERM_SHIFT)); }

/// 1 when r's frame is interleaved (page_at, t2_run), else 0.
GFN u32 t2_il(const T2Tlb& r) { return (u32)r.tag & (u32)T2_IL; }

/// A region's soft-TLB entries for the accesses not based on SP: two, either holding any
/// page (t2_pick), refilled first in, first out. With one entry (`-DGPUOS_T2_ONE_ENTRY`,
/// to measure), `t2_load_miss` and `t2_store_miss` took 28 % of the warp-state samples
/// of CoreMark converged on the H100 (thirty-third session, docs/BENCHMARKS.md): its hot
/// loops touch two pages in turn through registers other than SP (the state machine's
/// string on the heap and its counters in the caller's frame; matrices across a page
/// boundary), and each access evicted the other page (CPU backend: 57 misses per 1,000
/// translated instructions, 99 % of them back to the page of the miss before last).
/// With two: 0.55 on the CPU backend, 0.07 on the H100, and CoreMark 16,384 lanes
/// +22-26 % converged, +3-7 % with a seed each, though the regions' code grew 13 %
/// (thirty-fourth session). Two entries chosen by the page number's parity (57 -> 27) or
/// by the base register's number (57 -> 47) were tried and dropped.
struct T2Ways {
    T2Tlb e0;
#ifndef GPUOS_T2_ONE_ENTRY
    T2Tlb e1;
    /// The entry the next refill replaces (0: e0, 1: e1; t2_refill).
    u32 next;
#endif
};

/// What an access based on a register other than SP passes to t2_load and the others
/// (emit.rs `tlb_of`): the T2Ways (the overloads below pick the entry that holds the
/// page), or with `-DGPUOS_T2_ONE_ENTRY` its one entry.
#ifdef GPUOS_T2_ONE_ENTRY
#define T2_D(t) ((t).e0)
#else
#define T2_D(t) (t)
#endif

/// What one region hands the next within a `t2_enter` (crates/gpuos/src/translate/gen.rs):
/// its soft-TLB entries (the last SP-based page, the last two other pages: T2Ways), so
/// that a region entered from another starts with them instead of empty, and its lazy flags
/// (`fa`, `fb`, kind `fk`; 0: NZCV is in `c.s.nzcv`), unsettled. CoreMark's state
/// machine and CRC functions, each a region of its own at 40 blocks a region, were entered every 20-odd
/// guest instructions; their first loads missed (t2_load_miss: a call and the Core's
/// TLB in local memory) after every entry, and every exit computed NZCV
/// (t2_nzcv_any) that the next region mostly set again before reading. Valid only
/// until t2_enter returns, which settles the flags into `c.s.nzcv`: nothing between two
/// regions changes a mapping or reads NZCV, and a region drops its TLB entries after
/// any handler that may change a mapping. A region that writes NZCV takes the flags
/// over (and hands them on, or settles them at an exception); one that does not leaves
/// them to the next.
struct T2Carry {
    T2Tlb s;
    T2Ways d;
    u64 fa, fb;
    u32 fk;
};

/// Whether a translation may access `bytes` bytes at page offset off in one go: one run
/// of memory (page_run), or on an interleaved frame also 16 bytes from an 8-aligned
/// offset within the page, as two words (the second at t2_word2): the pairs of X
/// registers that every function's prologue and epilogue store and load.
GFN bool t2_run(bool il, u64 off, u32 bytes) {
    return page_run(il, off, bytes) || (il && bytes == 16 && off % IL_WORD == 0 && off + 16 <= PAGE_SZ);
}

/// Tier 2's fast path of a guest load or store (crates/gpuos/src/translate/emit.rs):
/// the pointer to `bytes` bytes at va when the soft TLB already holds va's page with
/// permission `acc` (PTE_R or PTE_W) and the access stays in one run (t2_run), else 0 with
/// nothing changed; the interpreter then runs the instruction (T2_SIDE_EXIT), which
/// takes mm_translate's slow path and raises any fault. The fast path of mm_translate.
GFN u8* t2_tlb_hit(Core& c, u64 va, u32 bytes, u64 acc) {
    u64 vpn = va >> PAGE_SHIFT, off = va & (PAGE_SZ - 1);
    TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
    return t.vpn == vpn + 1 && (t.perm & acc) && t2_run(t.il, off, bytes) ? page_at(t.host, t.il, off) : 0;
}

/// The second 8-byte word of a 16-byte access whose first is at p, on a page whose
/// frame is interleaved (il 1) or not (0; t2_run: 8-aligned on an interleaved frame).
GFN u8* t2_word2(u32 il, u8* p) { return p + (IL_WORD << (il * T2_IL_SHIFT)); }

/// The four words of a 32-byte access at a (LDP/STP of two Q registers, translated:
/// crates/gpuos/src/translate/emit.rs) in `w`, through region entry r, else the Core's
/// soft-TLB entry of a's page (which then refills r, t2_pack), when that entry holds
/// the page with permission `acc` (PTE_R or PTE_W), the access stays on the page and each
/// 16-byte half is one run (t2_run; on an interleaved frame, 8-aligned). Else false
/// with nothing changed: the interpreter runs it (T2_SIDE_EXIT; slow path, faults), so
/// a store pair writes nothing unless it writes all, as the handler checks both halves
/// before it stores either. Out of line: the site keeps only the call.
GFN_NOINLINE bool t2_quad(Core& c, T2Tlb& r, u64 a, u64 acc, u8** w) {
    u64 vpn = a >> PAGE_SHIFT, off = a & (PAGE_SZ - 1);
    T2Tlb e = r;
    if (!t2_grants(r, a, acc)) {
        c.t2miss++;
        const TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
        if (!(t.vpn == vpn + 1 && (t.perm & acc))) return false;
        e = t2_pack(t, a);
    }
    u32 il = t2_il(e);
    if (off + 32 > PAGE_SZ || !t2_run(il, off, 16) || !t2_run(il, off + 16, 16)) return false;
    u8* p = page_at(e.host, il, off);
    u8* q = page_at(e.host, il, off + 16);
    w[0] = p;
    w[1] = t2_word2(il, p);
    w[2] = q;
    w[3] = t2_word2(il, q);
    r = e;
    return true;
}

/// LDP of two Q registers (32 bytes at a) into v[0..3] (low, high of the first, then of
/// the second), as t2_quad: whether it was read.
GFN bool t2_load_q2(Core& c, T2Tlb& r, u64 a, u64* v) {
    u8* w[4];
    if (!t2_quad(c, r, a, PTE_R, w)) return false;
    for (int i = 0; i < 4; i++) v[i] = load_le(w[i], 8);
    return true;
}

/// STP of two Q registers (v0, v1 the first's low and high words; v2, v3 the second's)
/// at a, as t2_quad: whether all 32 bytes were written (none were when not).
GFN bool t2_store_q2(Core& c, T2Tlb& r, u64 a, u64 v0, u64 v1, u64 v2, u64 v3) {
    u8* w[4];
    if (!t2_quad(c, r, a, PTE_W, w)) return false;
    store_le(w[0], 8, v0);
    store_le(w[1], 8, v1);
    store_le(w[2], 8, v2);
    store_le(w[3], 8, v3);
    return true;
}

// ---- lazy flags of translated code -------------------------------------------------
//
// A flag-setting ADDS, SUBS or ANDS of translated code stores its operands in the
// region's locals fa, fb and its kind in fk (T2F_* << 1 | sf) instead of computing NZCV
// (crates/gpuos/src/translate/emit.rs, `Flags`); fk 0: the flags are in the local nz.

/// SUBS (CMP): fa - fb; ADDS (CMN): fa + fb; ANDS (TST): fa is the result.
#define T2F_SUB 1u
#define T2F_ADD 2u
#define T2F_AND 3u

/// The NZCV word (as nzcv_word) of lazy flags of kind k over a and b: AddWithCarry's
/// flags for SUBS and ADDS (Arm ARM C6.2), N and Z of the result with C and V clear
/// for ANDS.
GFN u64 t2_nzcv(u32 k, u64 a, u64 b) {
    u32 sf = k & 1, kind = k >> 1;
    u64 nz = 0;
    if (kind == T2F_SUB) {
        add_with_carry_w(sf, a, ~b, 1u, &nz);
    } else if (kind == T2F_ADD) {
        add_with_carry_w(sf, a, b, 0u, &nz);
    } else {
        u64 r = sf ? a : (u64)(u32)a;
        nz = nzcv_word(((r >> (sf ? 63 : 31)) & 1) != 0, r == 0, false, false);
    }
    return nz;
}

/// t2_nzcv of a kind known only at run time (a block's start, the exits): out of line,
/// so that each such site is a call, not a copy of every kind's code.
GFN_NOINLINE u64 t2_nzcv_any(u32 k, u64 a, u64 b) { return t2_nzcv(k, a, b); }

/// ConditionHolds(cond) (Arm ARM shared/functions/system/ConditionHolds) of lazy flags
/// of kind k over a and b; for a compare (SUBS) straight from the operands: EQ is
/// a == b, HS unsigned a >= b, GE signed a >= b, and so on, at the operation's width.
GFN bool t2_cond(u32 k, u64 a, u64 b, u32 cond) {
    if ((k >> 1) != T2F_SUB) return cond_holds_w(t2_nzcv(k, a, b), cond);
    bool sf = k & 1;
    u64 ua = sf ? a : (u64)(u32)a, ub = sf ? b : (u64)(u32)b;
    i64 sa = sf ? (i64)a : (i64)(i32)(u32)a, sb = sf ? (i64)b : (i64)(i32)(u32)b;
    u64 d = a - b;
    bool r;
    switch (cond >> 1) {
    case 0: r = ua == ub; break;                                  // EQ: Z
    case 1: r = ua >= ub; break;                                  // CS: C (no borrow)
    case 2: r = ((d >> (sf ? 63 : 31)) & 1) != 0; break;          // MI: N
    case 3: r = (((a ^ b) & (a ^ d)) >> (sf ? 63 : 31)) & 1; break;  // VS: V
    case 4: r = ua > ub; break;                                   // HI: C and not Z
    case 5: r = sa >= sb; break;                                  // GE: N == V
    case 6: r = sa > sb; break;                                   // GT: N == V and not Z
    default: r = true; break;                                     // AL
    }
    if ((cond & 1) && cond != 15) r = !r;
    return r;
}

// ---- SIMD&FP data processing of translated code ------------------------------------

/// One 64-bit half of MUL, MLA or MLS (by element; `op` 0, 1, 2), Arm ARM C7.2: each
/// element of `bits` (16 or 32) bits of a times b, alone, added to acc's or subtracted
/// from it, modulo 2^bits (`vec_idx` in kernel/a64/simd_indexed.h, the handler).
GFN u64 t2_mla_half(u64 a, u64 b, u64 acc, u32 op, u32 bits) {
    u64 r = 0, m = bits == 32 ? 0xffffffffull : 0xffffull;
    for (u32 i = 0; i < 64; i += bits) {
        u64 p = ((a >> i) & m) * b;
        u64 e = op == 1 ? (acc >> i) + p : op == 2 ? (acc >> i) - p : p;
        r |= (e & m) << i;
    }
    return r;
}

/// MUL, MLA or MLS (by element) of H or S elements (sz 1, 2): Vd = Vn x Vm[idx] (op 0),
/// Vd + it (1) or Vd - it (2), 64 bits (q 0, the upper half zeroed) or 128. Every
/// operand read before Vd is written (d may be n or m).
GFN void t2_mla_el(Core& c, u32 q, u32 sz, u32 idx, u32 m, u32 n, u32 d, u32 op) {
    u32 bits = 8u << sz, per = 64 / bits;
    u64 b = ((idx < per ? V_lo(c, m) : V_hi(c, m)) >> (idx % per * bits)) & (bits == 32 ? 0xffffffffull : 0xffffull);
    u64 lo = t2_mla_half(V_lo(c, n), b, V_lo(c, d), op, bits);
    u64 hi = q ? t2_mla_half(V_hi(c, n), b, V_hi(c, d), op, bits) : 0;
    setV(c, d, lo, hi);
}

/// SADDW, UADDW, SSUBW, USUBW (and the '2' forms, q 1), Arm ARM C7.2: each element of
/// Vn (2 x `bits` wide, sz = log2(bits / 8), 0 to 2) plus or minus (`sub`) the
/// element of the same number of the low (q 0) or high (q 1) half of Vm, sign- or
/// zero-extended (`u`), modulo 2^(2 bits) (`vec_3diff` in kernel/a64/simd_three_diff.h,
/// the handler). Every operand read before Vd is written.
GFN void t2_addw(Core& c, u32 q, u32 sz, u32 m, u32 n, u32 d, bool u, bool sub) {
    u32 bits = 8u << sz, wide = 2 * bits, per = 64 / wide;
    u64 src = q ? V_hi(c, m) : V_lo(c, m), nm = ones(bits), wm = ones(wide);
    u64 half[2] = {V_lo(c, n), V_hi(c, n)}, r[2] = {0, 0};
    for (u32 i = 0; i < 64 / bits; i++) {
        u64 e = (src >> (i * bits)) & nm;
        if (!u && (e >> (bits - 1))) e |= ~nm;
        u32 h = i / per, at = i % per * wide;
        u64 w = half[h] >> at;
        r[h] |= ((sub ? w - e : w + e) & wm) << at;
    }
    setV(c, d, r[0], r[1]);
}

/// Make the page of pc current (c.code, c.code_vpn, c.code_ids) for a translation's
/// jump to another page, when pc is 4-aligned and the soft TLB already holds its page
/// executable on a template frame (the only frames with translations). Else false with
/// nothing changed: the translation returns and the run loop's fetch_page takes the
/// slow path (a TLB miss, a fault, code outside the image).
GFN bool t2_code_page(Core& c, u64 pc) {
    if (pc & 3) return false;
    u8* p = t2_tlb_hit(c, pc & ~(u64)(PAGE_SZ - 1), PAGE_SZ, PTE_X);
    if (!p || !code_tmpl(c, p) || !c.m->dcache) return false;
    set_code_page(c, pc, p, false);  // template frames: contiguous
    return true;
}

// ---- loads and stores of translated code -----------------------------------------
//
// A region keeps soft-TLB entries of its own in registers (`r`: the last page an
// SP-based access hit, and for any other base register the last page or two, T2Ways),
// valid until the next handler call, the only code of a region that can change a
// mapping or the soft TLB (syscalls, signals and other lanes' work happen outside it).
// What is inlined at each access is only the hit in that entry of a naturally aligned
// access (t2_fast, t2_at: a few logic operations, a shift and an add, and the load or
// store itself) and the refill from the Core's entry; the rest (the Core's soft TLB,
// unaligned accesses) is one out-of-line function for all sites (t2_load_miss,
// t2_store_miss), and what misses there leaves the translation for the interpreter at
// that instruction (T2_SIDE_EXIT). The eighteenth and nineteenth sessions measured
// warps that run the same translated code out of step at half the speed of warps in
// step: the hot code did not fit the SM's instruction cache (44 SASS instructions per
// guest instruction of translated bench_int, most of them each access's inlined TLB
// lookups, refill and byte-by-byte unaligned paths), so the inline part is kept small.
// docs/BENCHMARKS.md.
//
// `bytes` is 1, 2, 4, 8, or 16 for two 8-byte words (LDP/STP of X registers; the
// second word at t2_word2).

/// What keeps region entry r, if it holds a's page, from answering an access of `bytes`
/// bytes at guest address a, as bits (0: nothing): the permission `acc` (PTE_R or
/// PTE_W) not granted, a not aligned to min(bytes, 8) (so that the access is one run
/// even on an interleaved frame), a 16-byte pair across the page's end. One word tested
/// once: as `&&` of the tests nvcc branched on each, as `&` it tested each bit in 64
/// bits.
GFN u32 t2_misfit(const T2Tlb& r, u64 a, u32 bytes, u64 acc) {
    u32 align = bytes > 8 ? 8 : bytes, off = (u32)a & (u32)(PAGE_SZ - 1);
    u32 across = bytes > 8 && off + bytes > PAGE_SZ;
    return (~(u32)r.tag & (u32)(acc << T2_PERM_SHIFT)) | (off & (align - 1)) | across;
}

/// Whether region entry r answers an access of `bytes` bytes at a with permission
/// `acc`: it holds a's page, and nothing misfits (t2_misfit).
GFN bool t2_fast(const T2Tlb& r, u64 a, u32 bytes, u64 acc) {
    return t2_holds(r, a) & (t2_misfit(r, a, bytes, acc) == 0);
}

/// Where byte a of r's page is (r holds the page): page_at, in 32 bits, the word's
/// offset shifted by the tag's stride bits (T2_STRIDE_BITS: one funnel shift on the
/// GPU), where nvcc selected the stride and multiplied in 64 bits at every inline
/// access.
GFN u8* t2_at(const T2Tlb& r, u64 a) {
    u32 off = (u32)a & (u32)(PAGE_SZ - 1), word = off & ~(u32)(IL_WORD - 1);
#if GPUOS_DEVICE
    u32 at = __funnelshift_l(0u, word, (u32)r.tag);  // word << (tag & 31)
#else
    u32 at = word << ((u32)r.tag & T2_STRIDE_BITS);
#endif
    return r.host + at + off % (u32)IL_WORD;
}

/// The Core's soft-TLB entry of a's page when it holds the page with permission `acc`
/// and the `bytes` bytes at a stay on that page, else 0. Any alignment: the misses of
/// t2_fast are mostly accesses that are not one run of an interleaved frame (a 16-byte
/// SIMD&FP load or an 8-byte load at a 4-aligned address spans two words there),
/// which page_load and page_store take word by word instead of sending them to the
/// instruction's handler (its slow path costs several times as much).
GFN const TlbEntry* t2_entry(Core& c, u64 a, u32 bytes, u64 acc) {
    u64 vpn = a >> PAGE_SHIFT;
    const TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
    bool hit = t.vpn == vpn + 1 && (t.perm & acc) && (a & (PAGE_SZ - 1)) + bytes <= PAGE_SZ;
    return hit ? &t : 0;
}

/// The n (1..8) bytes at page offset off of the page at base (frame_base; within the
/// page), little-endian: one access when they are one run, else byte by byte. Out of
/// line: the misses' rare path.
GFN_NOINLINE u64 page_load(u8* base, bool il, u64 off, u64 n) {
    if (page_run(il, off, n)) return load_le(page_at(base, il, off), (int)n);
    u64 v = 0;
    for (u64 i = n; i-- > 0;) v = (v << 8) | *page_at(base, il, off + i);
    return v;
}

/// Store the n (1..8) low bytes of v at page offset off (as page_load).
GFN_NOINLINE void page_store(u8* base, bool il, u64 off, u64 n, u64 v) {
    if (page_run(il, off, n)) {
        store_le(page_at(base, il, off), (int)n, v);
        return;
    }
    for (u64 i = 0; i < n; i++, v >>= 8) *page_at(base, il, off + i) = (u8)v;
}

/// What t2_load_miss read: the word(s) (v1 only for 16 bytes), whether it could, and
/// then the region entry of the page (the Core's soft-TLB entry that answered, packed:
/// the refill). Returned in registers: when the site read the Core's entry again
/// after the call, nvcc computed that entry's address at every access's hit path
/// (three instructions) to have it ready for the refill.
struct T2Loaded {
    u64 v0, v1;
    T2Tlb e;
    u32 ok;
};

/// What t2_store_miss did: whether it stored, and then the refill (as T2Loaded's).
struct T2Stored {
    T2Tlb e;
    u32 ok;
};

/// A load that missed the region's entry: through the Core's soft TLB (t2_tlb_hit: any
/// alignment within one run of the page), or nothing read (ok 0; the handler then
/// takes mm_translate's slow path and raises any fault).
GFN_NOINLINE T2Loaded t2_load_miss(Core& c, u64 a, u32 bytes) {
    T2Loaded l = {0, 0, {0, 0}, 0};
    c.t2miss++;
    const TlbEntry* e = t2_entry(c, a, bytes, PTE_R);
    if (!e) return l;
    l.e = t2_pack(*e, a);
    u64 off = a & (PAGE_SZ - 1), n = bytes > 8 ? 8 : bytes;
    if (t2_run(e->il, off, bytes)) {  // the usual miss: another page, or unaligned
        u8* p = page_at(e->host, e->il, off);
        l.v0 = load_le(p, (int)n);
        if (bytes > 8) l.v1 = load_le(t2_word2(e->il, p), 8);
    } else {
        l.v0 = page_load(e->host, e->il, off, n);
        if (bytes > 8) l.v1 = page_load(e->host, e->il, off + 8, 8);
    }
    l.ok = 1;
    return l;
}

/// A store that missed the region's entry (as t2_load_miss): whether it was done, and
/// the refill.
GFN_NOINLINE T2Stored t2_store_miss(Core& c, u64 a, u32 bytes, u64 v0, u64 v1) {
    T2Stored r = {{0, 0}, 0};
    c.t2miss++;
    const TlbEntry* e = t2_entry(c, a, bytes, PTE_W);
    if (!e) return r;
    r = {t2_pack(*e, a), 1};
    u64 off = a & (PAGE_SZ - 1), n = bytes > 8 ? 8 : bytes;
    if (t2_run(e->il, off, bytes)) {
        u8* p = page_at(e->host, e->il, off);
        store_le(p, (int)n, v0);
        if (bytes > 8) store_le(t2_word2(e->il, p), 8, v1);
    } else {
        page_store(e->host, e->il, off, n, v0);
        if (bytes > 8) page_store(e->host, e->il, off + 8, 8, v1);
    }
    return r;
}

#ifdef GPUOS_T2_INLINE_MISS
// Measuring aid (-DGPUOS_T2_INLINE_MISS): the former accesses, everything inline at
// each site (the Core's soft TLB, the refill, unaligned bytes one by one), through the
// former single entry.
#ifndef GPUOS_T2_ONE_ENTRY
#error "-DGPUOS_T2_INLINE_MISS goes with -DGPUOS_T2_ONE_ENTRY (the pair has no inline miss)"
#endif
GFN u8* t2_tlb_hit_r(Core& c, T2Tlb& r, u64 va, u32 bytes, u64 acc) {
    u64 vpn = va >> PAGE_SHIFT, off = va & (PAGE_SZ - 1);
    if (t2_grants(r, va, acc) && t2_run(t2_il(r), off, bytes)) return page_at(r.host, t2_il(r), off);
    u8* p = t2_tlb_hit(c, va, bytes, acc);
    if (p) r = t2_pack(c.tlb[vpn & (TLB_ENTRIES - 1)], va);
    return p;
}
GFN bool t2_load(Core& c, T2Tlb& r, u64 a, u32 bytes, u64& v0, u64& v1) {
    u8* p = t2_tlb_hit_r(c, r, a, bytes, PTE_R);
    if (!p) return false;
    v0 = load_le(p, bytes > 8 ? 8 : (int)bytes);
    if (bytes > 8) v1 = load_le(t2_word2(t2_il(r), p), 8);
    return true;
}
GFN bool t2_store(Core& c, T2Tlb& r, u64 a, u32 bytes, u64 v0, u64 v1) {
    u8* p = t2_tlb_hit_r(c, r, a, bytes, PTE_W);
    if (!p) return false;
    store_le(p, bytes > 8 ? 8 : (int)bytes, v0);
    if (bytes > 8) store_le(t2_word2(t2_il(r), p), 8, v1);
    return true;
}
#else
/// The `bytes` at a (a hit of t2_fast in entry r) into v0 (and v1 for 16 bytes).
GFN void t2_read(const T2Tlb& r, u64 a, u32 bytes, u64& v0, u64& v1) {
    u8* p = t2_at(r, a);
    v0 = load_aligned(p, bytes > 8 ? 8 : (int)bytes);
    if (bytes > 8) v1 = *(const u64*)t2_word2(t2_il(r), p);
}

/// v0 (and v1 for 16 bytes) to the `bytes` at a (a hit of t2_fast in entry r).
GFN void t2_write(const T2Tlb& r, u64 a, u32 bytes, u64 v0, u64 v1) {
    u8* p = t2_at(r, a);
    store_aligned(p, bytes > 8 ? 8 : (int)bytes, v0);
    if (bytes > 8) *(u64*)t2_word2(t2_il(r), p) = v1;
}

/// A translated load of `bytes` at a into v0 (and v1 for 16 bytes): whether it was
/// done without the handler. A hit in the Core's soft TLB refills region entry r.
GFN bool t2_load(Core& c, T2Tlb& r, u64 a, u32 bytes, u64& v0, u64& v1) {
    if (t2_fast(r, a, bytes, PTE_R)) {
        t2_read(r, a, bytes, v0, v1);
        return true;
    }
    T2Loaded l = t2_load_miss(c, a, bytes);
    if (!l.ok) return false;
    r = l.e;
    v0 = l.v0;
    v1 = l.v1;
    return true;
}

/// A translated store of v0 (and v1 for 16 bytes) at a, as t2_load.
GFN bool t2_store(Core& c, T2Tlb& r, u64 a, u32 bytes, u64 v0, u64 v1) {
    if (t2_fast(r, a, bytes, PTE_W)) {
        t2_write(r, a, bytes, v0, v1);
        return true;
    }
    T2Stored m = t2_store_miss(c, a, bytes, v0, v1);
    if (!m.ok) return false;
    r = m.e;
    return true;
}
#endif

#ifndef GPUOS_T2_ONE_ENTRY
/// The entry of t that an access at a reads: a copy of `e1` when it holds a's page, else
/// of `e0` (which may not hold it either: t2_fast then misses). Selects in registers: a
/// reference chosen at run time would keep both entries in local memory.
GFN T2Tlb t2_pick(const T2Ways& t, u64 a) { return t2_holds(t.e1, a) ? t.e1 : t.e0; }

/// t2_fast through either entry of t, on r = t2_pick's copy: whether one of them holds
/// a's page (a test of the copy's page after the pick took nvcc five more instructions
/// at every inline access) and nothing misfits in r.
GFN bool t2_fast(const T2Ways& t, u64 a, u32 bytes, u64 acc, T2Tlb& r) {
    r = t2_pick(t, a);
    return (t2_holds(t.e1, a) | t2_holds(t.e0, a)) & (t2_misfit(r, a, bytes, acc) == 0);
}

/// A refill of t with n (the Core's soft-TLB entry that answered a miss, packed): n
/// replaces the entry filled before the other (first in, first out: `next` says which,
/// round robin), so that two pages used in turn both stay. Each entry keeps its
/// registers: when a refill moved `e0` to `e1` and n to `e0`, nvcc's register
/// allocation renamed the pair on the refill path and paid with moves back on every
/// hit path after it (about eight moves an access in CoreMark's list loop, thirty-
/// seventh session). `-DGPUOS_T2_WAYS_SHIFT`: that former refill, to measure.
GFN void t2_refill(T2Ways& t, const T2Tlb& n) {
#ifdef GPUOS_T2_WAYS_SHIFT
    t.e1 = t.e0;
    t.e0 = n;
#else
    bool one = t.next != 0;
    t.e0.tag = one ? t.e0.tag : n.tag;
    t.e0.host = one ? t.e0.host : n.host;
    t.e1.tag = one ? n.tag : t.e1.tag;
    t.e1.host = one ? n.host : t.e1.host;
    t.next ^= 1u;
#endif
}

/// t2_load through either entry of t: the fast path reads t2_pick's copy, and only a
/// refill writes t.
GFN bool t2_load(Core& c, T2Ways& t, u64 a, u32 bytes, u64& v0, u64& v1) {
    {
        T2Tlb r;
        if (t2_fast(t, a, bytes, PTE_R, r)) {
            t2_read(r, a, bytes, v0, v1);
            return true;
        }
    }
    T2Loaded l = t2_load_miss(c, a, bytes);
    if (!l.ok) return false;
    t2_refill(t, l.e);
    v0 = l.v0;
    v1 = l.v1;
    return true;
}

/// t2_store through either entry of t, as the t2_load above.
GFN bool t2_store(Core& c, T2Ways& t, u64 a, u32 bytes, u64 v0, u64 v1) {
    {
        T2Tlb r;
        if (t2_fast(t, a, bytes, PTE_W, r)) {
            t2_write(r, a, bytes, v0, v1);
            return true;
        }
    }
    T2Stored m = t2_store_miss(c, a, bytes, v0, v1);
    if (!m.ok) return false;
    t2_refill(t, m.e);
    return true;
}

/// The 32-byte accesses through either entry of t: on t2_pick's copy, a refill (t2_quad
/// took the Core's entry: another page, or new permissions) written back by t2_refill.
GFN bool t2_load_q2(Core& c, T2Ways& t, u64 a, u64* v) {
    T2Tlb r = t2_pick(t, a);
    u64 was = r.tag;
    bool ok = t2_load_q2(c, r, a, v);
    if (r.tag != was) t2_refill(t, r);
    return ok;
}

GFN bool t2_store_q2(Core& c, T2Ways& t, u64 a, u64 v0, u64 v1, u64 v2, u64 v3) {
    T2Tlb r = t2_pick(t, a);
    u64 was = r.tag;
    bool ok = t2_store_q2(c, r, a, v0, v1, v2, v3);
    if (r.tag != was) t2_refill(t, r);
    return ok;
}
#endif

/// Drop every entry of a region (after a handler that may change a mapping).
GFN void t2_drop(T2Tlb& s, T2Ways& d) {
    s.tag = d.e0.tag = 0;
#ifndef GPUOS_T2_ONE_ENTRY
    d.e1.tag = 0;
#endif
}
