// Virtual memory: the frame pool, per-process page tables, the per-lane TLB, and every
// guest load and store. A guest access is always translated and permission-checked; a
// failed check raises SIGSEGV for that process (or SIGBUS for misaligned exclusives).
//
// Page tables are 4 levels of 512 64-bit entries held in frames (48-bit VA, 4 KiB
// pages, like Linux AArch64 with 4 KiB granule). Leaf entry format:
//   bit 0 P (frame present), 1 R, 2 W, 3 X, 4 COW (copy before writing), 5 LAZY
//   (reserved: a zero frame is allocated on first touch), bits 12..51 frame index.
// Interior entries: bit 0 P, bits 12..51 frame index of the next-level table (a level-2
// entry's also bit 9 TSHARED: the leaf table may be another process's too, see "leaf
// tables shared after fork" below); or, with
// P clear, LAZY plus R/W/X: every page of the entry's span (2 MiB, 1 GiB, 512 GiB) is
// reserved with those permissions, so a huge lazy mapping costs no tables until a page
// of it is touched or part of it changed (then the entry is split into a table of
// entries reserving the same, one level down; see "mapping ranges" below).
//
// Each process's resident set (`Proc::frames_private`: its tables and the pool frames
// they map) is bounded by `Proc::rss_limit`; a page fault that needs a frame beyond it,
// or finds the pool empty, kills that process (SIGKILL, `Proc::kill_cause`), never
// another.
#pragma once
#include "../core.h"

#define PAGE_SHIFT 12
#define PAGE_SZ 4096ull
#define PTE_P 1ull
#define PTE_R 2ull
#define PTE_W 4ull
#define PTE_X 8ull
#define PTE_COW 16ull
#define PTE_LAZY 32ull
/// With LAZY: pages of a file mapping wholly past the end of the file; touching one
/// raises SIGBUS (mmap(2)). Kept by splits, fork and mprotect; any new mapping clears it.
#define PTE_BUS 64ull
// A page of a MAP_SHARED file mapping (kernel/sys/mm_shared.h): its frame is the page
// cache's frame of the file's shared identity, written in place, never copied on write.
// COW on such a page means "writable but clean": the first write faults and sets DIRTY
// instead of copying; write-back clears DIRTY and sets COW again.
#define PTE_SHARED 128ull
#define PTE_DIRTY 256ull
/// In a level-2 entry that holds a leaf table: the table may be mapped by other processes
/// too (fork shares leaf tables, `pt_clone`): nothing writes its entries, and none of
/// its pages is writable through it, before `pt_unshare` gives this process a table of
/// its own (or finds it the last holder).
#define PTE_TSHARED 512ull
#define PTE_PERM (PTE_R | PTE_W | PTE_X)
#define PTE_FRAME(e) (((e) >> 12) & 0xffffffffffull)
#define VA_BITS 48
#define NO_FRAME 0xffffffffffffffffull

GFN u32* frame_refcnt(MachineHdr* m, u64 f) { return (u32*)(uintptr_t)m->refcnt + f; }
/// Frames of the image template are shared by every process and never freed.
GFN bool frame_immortal(MachineHdr* m, u64 f) { return f < m->tmpl_frames; }

/// Whether frame f is an immutable page-cache frame (MachineHdr::dcache_map nonzero:
/// a file version's page, held by the cache for the whole run, shared by every lane
/// that maps it). Fixed while anyone maps f: the mark is made before the frame enters
/// the cache and never cleared after (mm_file.h `mmap_file_fresh`). Such frames count
/// to a process's resident set (Proc::frames_cached) but not against its limit.
GFN bool frame_cached(MachineHdr* m, u64 f) {
    return m->dcache_map && f < m->nframes && load_relaxed_u32((u32*)(uintptr_t)m->dcache_map + f) != 0;
}

/// Whether p may take no further frame: its resident set, less the page cache's frames
/// it maps (shared by every lane: they take nothing from its neighbours), has reached
/// its limit (Proc::rss_limit, by default the lanes' fair share of the pool). Charging
/// them killed python3 at 10,000 lanes on the H100 (thirty-sixth session): its resident
/// set is about 7 MiB, 2.9 MiB of it its libraries' cached pages; the share was 7.1 MiB.
GFN bool rss_full(const Proc* p) {
    return p->rss_limit && p->frames_private - p->frames_cached >= p->rss_limit;
}

/// Count frame f, just mapped (or held) by p, to its resident set.
GFN void rss_charge(MachineHdr* m, Proc* p, u64 f) {
    p->frames_private++;
    if (frame_cached(m, f)) p->frames_cached++;
}

/// Undo rss_charge(m, p, f).
GFN void rss_uncharge(MachineHdr* m, Proc* p, u64 f) {
    p->frames_private--;
    if (frame_cached(m, f)) p->frames_cached--;
}

// ---- interleaved frames --------------------------------------------------------------
// The lanes of a warp run one instruction stream, so their guest accesses come 32 at a
// time, and copies of one program access the same guest address. With each lane's page
// in a frame of its own, those 32 accesses touch 32 cache lines; native CoreMark on the
// H200 runs 4.5 times faster with the data of a warp's threads interleaved word by word
// (issue 14). So where the pool allows, a lane's private pages (anonymous memory,
// copy-on-write copies) go in interleaved frames: a group of IL_GROUP frames whose
// memory holds 8-byte words of its frames in turn (column k, frame `first + k`: word i
// of its page at byte i * IL_ROW + k * IL_WORD of the group), and lane l takes column
// l mod IL_GROUP of the group its warp uses for that guest page (the placement hints,
// MachineHdr::il_slots). An access within one 8-byte word is one access; a longer one
// goes byte by byte. Page tables, the template, the page cache and files' pages stay in
// contiguous frames (frame_ptr), taken from the bottom of the pool; groups are taken
// from its top (MachineHdr::bump).

#define IL_WORD 8ull
#define IL_ROW (IL_GROUP * IL_WORD)
/// The fewest lanes of a warp that fault a page together for which a new group is made
/// (il_alloc); fewer take a contiguous frame. A group made for few lanes keeps its other
/// columns for their lanes only while the warp's hint names it, and lanes that drifted
/// apart (host calls answered at different times) fault their pages one by one, each
/// into a group of its own: on the CPU backend with every lane apart (`GPUOS_INTERLEAVE=
/// always`, 32 lanes of a python3 start-up) 123 MiB a lane against 0.6 MiB contiguous,
/// and on the H100 a python3 start-up at 10,000 lanes ran out of frames. With at least
/// half the warp, a group wastes at most half its columns.
#ifndef IL_MIN_PEERS
#define IL_MIN_PEERS (IL_GROUP / 2)
#endif
/// The reference count of an interleaved frame on its column's free list (0: never
/// used since its group was made, free for its column's lane through the hints).
#define IL_FREE 0xffffffffu
#define BUMP_UP(w) ((w) & 0xffffffffull)
#define BUMP_DOWN(w) ((w) >> 32)

/// Whether frame f is a column of an interleaved group.
GFN bool frame_il(MachineHdr* m, u64 f) {
    const u32* map = (const u32*)(uintptr_t)m->il_map;
    if (!map) return false;
    u64 g = f / IL_GROUP;
    return (load_relaxed_u32(map + g / 32) >> (g % 32)) & 1;
}

/// Where frame f's page starts (`il`: frame_il(m, f)): its first byte, or for an
/// interleaved frame its first word; page_at gives the others. A frame index beyond
/// the pool is gpuos's own bug (page tables hold only indices it allocated): stop with
/// a PanicRecord rather than touch memory outside the pool.
GFN u8* frame_base(MachineHdr* m, u64 f, bool il) {
    if (f >= m->nframes) gpuos_panic(m, PANIC_FRAME_RANGE, f);
    u8* pool = (u8*)(uintptr_t)m->frames;
    if (!il) return pool + (f << PAGE_SHIFT);
    return pool + ((f & ~((u64)IL_GROUP - 1)) << PAGE_SHIFT) + (f & ((u64)IL_GROUP - 1)) * IL_WORD;
}

/// The first byte of contiguous frame f (tables, the template, the page cache).
GFN u8* frame_ptr(MachineHdr* m, u64 f) { return frame_base(m, f, false); }

/// Byte `off` (< PAGE_SZ) of the page that starts at `base` (frame_base).
GFN u8* page_at(u8* base, bool il, u64 off) {
    // One multiply-add either way (off / 8 * 8 + off % 8 == off): no branch, less code
    // at each of translated code's inlined accesses.
    return base + off / IL_WORD * (il ? IL_ROW : IL_WORD) + off % IL_WORD;
}

/// Whether bytes [off, off + n) of such a page are one run of memory from page_at(off):
/// within the page, and for an interleaved frame within one word.
GFN bool page_run(bool il, u64 off, u64 n) {
    return il ? off % IL_WORD + n <= IL_WORD : off + n <= PAGE_SZ;
}

/// Word i (0..511) of frame f's page.
GFN u64* frame_word(MachineHdr* m, u64 f, u64 i) {
    bool il = frame_il(m, f);
    return (u64*)page_at(frame_base(m, f, il), il, i * 8);
}

/// Fill frame f's page with zeros.
GFN_NOINLINE void frame_zero(MachineHdr* m, u64 f) {
    bool il = frame_il(m, f);
    u8* b = frame_base(m, f, il);
    if (!il) {
        rt_memset(b, 0, PAGE_SZ);
        return;
    }
    NO_UNROLL for (u64 i = 0; i < PAGE_SZ / 8; i++) *(u64*)(b + i * IL_ROW) = 0;
}

/// Copy frame s's page into frame d's (either layout).
GFN_NOINLINE void frame_copy(MachineHdr* m, u64 d, u64 s) {
    bool dil = frame_il(m, d), sil = frame_il(m, s);
    u8 *db = frame_base(m, d, dil), *sb = frame_base(m, s, sil);
    if (!dil && !sil) {
        rt_memcpy(db, sb, PAGE_SZ);
        return;
    }
#ifdef GPUOS_MEMCPY_NARROW
    NO_UNROLL for (u64 i = 0; i < PAGE_SZ / 8; i++)
        *(u64*)page_at(db, dil, i * 8) = *(const u64*)page_at(sb, sil, i * 8);
#else
    // 32 words' loads before their stores, as rt_memcpy's groups: a word at a time, a
    // copy-on-write break of an interleaved page waited 512 memory latencies.
    NO_UNROLL for (u64 i = 0; i < PAGE_SZ / 8; i += 32) {
        u64 a[32];
        UNROLL_ALL for (int k = 0; k < 32; k++) a[k] = *(const u64*)page_at(sb, sil, (i + k) * 8);
        UNROLL_ALL for (int k = 0; k < 32; k++) *(u64*)page_at(db, dil, (i + k) * 8) = a[k];
    }
#endif
}

/// Copy n bytes at offset off of frame f's page to dst (`to_page` false) or from dst
/// into the page (`to_page` true); off + n <= PAGE_SZ.
GFN_NOINLINE void page_copy(MachineHdr* m, u64 f, u64 off, u8* dst, u64 n, bool to_page) {
    bool il = frame_il(m, f);
    u8* b = frame_base(m, f, il);
    NO_UNROLL while (n) {
        u64 k = il ? IL_WORD - off % IL_WORD : n;
        if (k > n) k = n;
        u8* p = page_at(b, il, off);
        if (to_page) rt_memcpy(p, dst, k);
        else rt_memcpy(dst, p, k);
        dst += k, off += k, n -= k;
    }
}

// ---- the frame pool ------------------------------------------------------------------
// Frames never handed out are taken from `bump` (one atomic add). Freed frames go onto
// FREE_SHARDS lock-free stacks (Treiber stacks with a change counter in the head against
// ABA), linked through their own first 4 bytes. Lane n uses list n mod FREE_SHARDS: at
// 100,000 lanes a single locked list was the bottleneck of the whole GPU (lanes of a
// warp spinning on a lock that one of them held, docs/BENCHMARKS.md), and a lock-free
// list never waits for a thread that the scheduler does not run.

GFN u64* free_head(MachineHdr* m, u32 shard) { return (u64*)(uintptr_t)m->free_heads + shard; }
/// The link word of a free frame: index + 1 of the next free frame, 0 at the end.
GFN u32* free_link(MachineHdr* m, u64 f) { return (u32*)frame_word(m, f, 0); }

#ifndef __CUDA_ARCH__
/// Host only: list + 1 this thread uses first, 0 for one derived from the thread (set by
/// the frame pool's tests, so that threads contend for one list).
static __thread u32 tls_frame_shard;
#endif
/// The free list this thread uses first: lanes of a warp land on different lists.
GFN u32 frame_shard() {
#ifdef __CUDA_ARCH__
    return (blockIdx.x * blockDim.x + threadIdx.x) & (u32)(FREE_SHARDS - 1);
#else
    if (tls_frame_shard) return tls_frame_shard - 1;
    static __thread u8 tls_marker;  // distinct per host thread
    return (u32)((((uintptr_t)&tls_marker) >> 4) * 2654435761u >> 7) & (u32)(FREE_SHARDS - 1);
#endif
}

/// Push the chain first..last (already linked through free_link) onto list `shard`.
GFN_NOINLINE void free_list_push(MachineHdr* m, u32 shard, u64 first, u64 last) {
    tstack_push(free_head(m, shard), (u32)first, free_link(m, last));
}

/// Pop one frame from list `shard`; NO_FRAME when it is empty.
GFN_NOINLINE u64 free_list_pop(MachineHdr* m, u32 shard) {
    u32 top = tstack_pop(free_head(m, shard), [m](u32 f) { return free_link(m, f); });
    return top ? (u64)top - 1 : NO_FRAME;
}

/// A never-used frame from the bottom of the pool, below the interleaved groups (which
/// come down from the top, il_group_alloc), not zeroed and without a count; NO_FRAME
/// when none is left.
GFN u64 frame_bump(MachineHdr* m) {
    u64 limit = m->il_map ? m->nframes & ~((u64)IL_GROUP - 1) : m->nframes;
    u64 w = load_relaxed_u64(&m->bump);
    if (BUMP_UP(w) + BUMP_DOWN(w) >= limit) return NO_FRAME;
    w = atomic_add_u64(&m->bump, 1);
    return BUMP_UP(w) + BUMP_DOWN(w) < limit ? BUMP_UP(w) : NO_FRAME;
}

/// Allocate one zeroed frame with reference count 1; NO_FRAME when the pool is empty.
/// Order: this thread's list, never-used frames, then the other lists.
GFN_NOINLINE u64 frame_alloc(MachineHdr* m) {
    u32 shard = frame_shard();
    u64 f = free_list_pop(m, shard);
    if (f == NO_FRAME) f = frame_bump(m);
    NO_UNROLL for (u32 i = 1; f == NO_FRAME && i < FREE_SHARDS; i++)
        f = free_list_pop(m, (shard + i) & (u32)(FREE_SHARDS - 1));
    if (f == NO_FRAME) return NO_FRAME;
    *frame_refcnt(m, f) = 1;
    rt_memset(frame_ptr(m, f), 0, PAGE_SZ);
    return f;
}

/// Frames whose last reference is gone, returned to the pool together: one list
/// operation per FREE_BATCH frames when a process ends.
#define FREE_BATCH 32
struct FreeBatch {
    u32 f[FREE_BATCH];
    u32 n;
};

GFN_NOINLINE void free_batch_flush(MachineHdr* m, FreeBatch& b) {
    if (!b.n) return;
    NO_UNROLL for (u32 i = 0; i + 1 < b.n; i++) *(volatile u32*)free_link(m, b.f[i]) = b.f[i + 1] + 1;
    free_list_push(m, frame_shard(), b.f[0], b.f[b.n - 1]);
    b.n = 0;
}

/// Drop one reference to the interleaved frame f; when none remain, it goes onto its
/// column's free list (marked IL_FREE, so that the placement hints do not hand it out).
GFN_NOINLINE void il_unref(MachineHdr* m, u64 f) {
    u32* rc = frame_refcnt(m, f);
    for (;;) {
        u32 v = load_relaxed_u32(rc);
        if (v == 0 || v == IL_FREE) gpuos_panic(m, PANIC_REFCNT, f);
        if (atomic_cas_u32_dev(rc, v, v == 1 ? IL_FREE : v - 1) != v) continue;
        if (v == 1) free_list_push(m, (u32)(FREE_SHARDS + f % IL_GROUP), f, f);
        return;
    }
}

/// Drop one reference; when none remain, the frame goes into the batch `b`.
GFN void frame_unref_into(MachineHdr* m, FreeBatch& b, u64 f) {
    if (frame_immortal(m, f)) return;
    if (frame_il(m, f)) {
        il_unref(m, f);
        return;
    }
    u32 before = atomic_sub_u32(frame_refcnt(m, f), 1);
    if (before == 0) gpuos_panic(m, PANIC_REFCNT, f);
    if (before != 1) return;
    b.f[b.n++] = (u32)f;
    if (b.n == FREE_BATCH) free_batch_flush(m, b);
}

/// Drop one reference; the frame returns to the pool when none remain.
GFN_NOINLINE void frame_unref(MachineHdr* m, u64 f) {
    FreeBatch b;
    b.n = 0;
    frame_unref_into(m, b, f);
    free_batch_flush(m, b);
}

GFN u64* pt_table(MachineHdr* m, u64 f) { return (u64*)frame_ptr(m, f); }
GFN u32 pt_index(u64 va, int level) { return (u32)((va >> (39 - 9 * level)) & 511); }
/// log2 of the bytes one entry of a level-`level` table covers: 512 GiB, 1 GiB, 2 MiB, 4 KiB.
GFN u32 pt_span_shift(int level) { return (u32)(39 - 9 * level); }
/// True when the entry maps something: a present page, a lazy page, or (interior
/// entries) a lazy reservation of its whole span. Tables (P in an interior entry) are
/// not mappings themselves.
GFN bool pte_mapped(u64 e) { return (e & (PTE_P | PTE_LAZY)) != 0; }

/// A fresh interleaved group: its first frame, or NO_FRAME when groups would take more
/// than three quarters of the pool (the rest stays for contiguous frames: tables, files)
/// or the pool is exhausted. The reference count of column k is bit k of `cols`.
GFN_NOINLINE u64 il_group_alloc(MachineHdr* m, u32 cols) {
    u64 top = m->nframes & ~((u64)IL_GROUP - 1);
    u64 w = load_relaxed_u64(&m->bump);
    if (BUMP_UP(w) + BUMP_DOWN(w) + IL_GROUP > top - top / 4) return NO_FRAME;
    w = atomic_add_u64(&m->bump, (u64)IL_GROUP << 32);
    if (BUMP_UP(w) + BUMP_DOWN(w) + IL_GROUP > top) return NO_FRAME;
    u64 first = top - BUMP_DOWN(w) - IL_GROUP;
    NO_UNROLL for (u64 k = 0; k < IL_GROUP; k++) *frame_refcnt(m, first + k) = (cols >> k) & 1;
    u64 g = first / IL_GROUP;
    atomic_or_u32_dev((u32*)(uintptr_t)m->il_map + g / 32, 1u << (g % 32));
    return first;
}

/// The placement hint of the warp of `lane` for guest page vpn.
GFN u64* il_slot(MachineHdr* m, u32 lane, u64 vpn) {
    u64 h = (vpn * 0x9e3779b97f4a7c15ull) >> 58;  // 64 = IL_SLOTS hints per warp
    return (u64*)(uintptr_t)m->il_slots + (u64)(lane / IL_GROUP) * IL_SLOTS + h % IL_SLOTS;
}

/// Make the hint at `slot` (which held `seen`) name the new group at frame `first` for
/// guest page vpn, once the group's counts and bitmap are visible.
GFN void il_publish(u64* slot, u64 seen, u64 first, u64 vpn) {
    atomic_fence_dev();  // release: the counts and the bitmap before the hint
    atomic_cas_u64_dev(slot, seen, ((first / IL_GROUP + 1) << 36) | vpn);
}

/// An interleaved frame for guest page vpn of a process on `lane`, zeroed, with
/// reference count 1: column lane mod IL_GROUP of the group the warp's hint names for
/// vpn when that column is unused, else a free one of that column, else one of a new
/// group (which the hint then names). NO_FRAME when interleaving is off, when fewer than
/// IL_MIN_PEERS lanes of the warp would share a new group (on the GPU), or no group is
/// to be had. A hint is only a hint: losing a race for it costs locality, not safety.
/// On the GPU the lanes of a warp that need a new group for the same page at the same
/// time (copies of one program fault together) share one, made by the first of them;
/// a lane's column is then its lane index in the warp (lanes are thread indices).
GFN_NOINLINE u64 il_alloc(MachineHdr* m, u32 lane, u64 vpn) {
    if (!m->il_slots) return NO_FRAME;
    u64 col = lane % IL_GROUP;
    u64* slot = il_slot(m, lane, vpn);
    u64 e = *(volatile u64*)slot;
    u64 f = NO_FRAME;
    if (e && (e & ((1ull << 36) - 1)) == vpn) {
        atomic_fence_dev();  // acquire: the group's counts are read after its hint
        u64 cand = ((e >> 36) - 1) * IL_GROUP + col;
        if (atomic_cas_u32_dev(frame_refcnt(m, cand), 0, 1) == 0) f = cand;
    }
    if (f == NO_FRAME) {
        f = free_list_pop(m, (u32)(FREE_SHARDS + col));
        if (f != NO_FRAME) *frame_refcnt(m, f) = 1;
    }
    if (f == NO_FRAME) {
        u64 first = NO_FRAME;
#if GPUOS_DEVICE
        u32 peers = __match_any_sync(__activemask(), vpn);
        if (__popc(peers) < IL_MIN_PEERS) return NO_FRAME;  // too few together: contiguous
        u32 leader = __ffs(peers) - 1;
        bool lead = (threadIdx.x & 31) == leader;
        if (lead) {
            first = il_group_alloc(m, peers);
            if (first != NO_FRAME) il_publish(slot, e, first, vpn);
        }
        __syncwarp(peers);
        first = __shfl_sync(peers, first, leader);
#else
        first = il_group_alloc(m, 1u << col);
        if (first != NO_FRAME) il_publish(slot, e, first, vpn);
#endif
        if (first == NO_FRAME) return NO_FRAME;
        f = first + col;
    }
    frame_zero(m, f);
    return f;
}

/// Allocate a frame charged to process p (0: the image template, charged to nobody):
/// refused when p has reached its resident limit (`Proc::rss_limit`) or the pool is
/// empty; `p->oom` then says which. Returns NO_FRAME on refusal. With a guest page
/// `vpn` (not NO_FRAME), the frame is for that page of p's and interleaved where it can
/// be (il_alloc); else contiguous.
GFN_NOINLINE u64 frame_alloc_for(MachineHdr* m, Proc* p, u64 vpn = NO_FRAME) {
    if (p && rss_full(p)) {
        p->oom = OOM_RESIDENT;
        return NO_FRAME;
    }
    u64 f = p && vpn != NO_FRAME ? il_alloc(m, p->lane, vpn) : NO_FRAME;
    if (f == NO_FRAME) f = frame_alloc(m);
    if (f == NO_FRAME) {
        if (p) p->oom = OOM_POOL;
        return NO_FRAME;
    }
    if (p) p->frames_private++;
    return f;
}

/// Drop p's reference to a frame its tables mapped (a leaf) or held (a table), into the
/// batch `b`; the frame no longer counts to p's resident set.
GFN void frame_release_into(MachineHdr* m, FreeBatch& b, Proc* p, u64 f) {
    if (p && !frame_immortal(m, f)) rss_uncharge(m, p, f);
    frame_unref_into(m, b, f);
}

/// Store v, which maps a frame just filled (a zeroed or read page, a new table), into
/// entry *e of the tables of the space led by p: when tasks of the space run on spare
/// lanes (kernel/proc/spare.h), which walk the tables while this lane changes them, the
/// frame's contents reach them before the entry does (the GPU orders plain stores to
/// other multiprocessors only through a fence). An offer fences itself, so a space
/// with nothing away needs none.
GFN void pte_publish(Proc* p, u64* e, u64 v) {
    if (p && load_relaxed_u32(&p->away)) atomic_fence_dev();
    *(volatile u64*)e = v;
}

/// Give the interior entry *e a table of its own, charged to p: a lazy reservation is
/// split into 512 entries reserving the same permissions one level down; an empty
/// entry gets an empty table. Returns false when no frame is to be had.
GFN_NOINLINE bool pt_split(MachineHdr* m, u64* e, Proc* p) {
    u64 f = frame_alloc_for(m, p);
    if (f == NO_FRAME) return false;
    if (*e & PTE_LAZY) {
        u64* t = pt_table(m, f);
        NO_UNROLL for (int i = 0; i < 512; i++) t[i] = *e;
    }
    pte_publish(p, e, (f << 12) | PTE_P);
    return true;
}

/// The entry that maps va: a leaf (`*level` 3) or an interior lazy reservation or empty
/// interior entry (`*level` < 3); 0 when va is beyond the address space. `*ro`, when
/// given: the leaf's table is shared (PTE_TSHARED): read it, never write it or a page
/// through it (pt_lookup_own).
GFN_NOINLINE u64* pt_lookup(MachineHdr* m, u64 root, u64 va, int* level, bool* ro = 0) {
    if (va >> VA_BITS) return 0;
    u64 t = root;
    bool shared = false;
    for (int l = 0;; l++) {
        u64* e = pt_table(m, t) + pt_index(va, l);
        if (l == 3 || !(*e & PTE_P)) {
            *level = l;
            if (ro) *ro = shared;
            return e;
        }
        shared = (*e & PTE_TSHARED) != 0;  // at level 2: the leaf table's
        t = PTE_FRAME(*e);
    }
}

GFN_NOINLINE bool pt_unshare(MachineHdr* m, Proc* p, u64* e);

/// pt_lookup's entry for va in the tables of the space led by p, to be written: a shared
/// leaf table on the way is made p's own first (pt_unshare). 0 when va is beyond the
/// address space, or no frame is to be had for a copy (`p->oom`).
GFN_NOINLINE u64* pt_lookup_own(MachineHdr* m, Proc* p, u64 va, int* level) {
    if (va >> VA_BITS) return 0;
    u64 t = p->pt_root;
    for (int l = 0;; l++) {
        u64* e = pt_table(m, t) + pt_index(va, l);
        if (l == 3 || !(*e & PTE_P)) {
            *level = l;
            return e;
        }
        if ((*e & PTE_TSHARED) && !pt_unshare(m, p, e)) return 0;
        t = PTE_FRAME(*e);
    }
}

/// Find the leaf entry for va. With `create`, allocate missing tables, split lazy
/// reservations and make a shared leaf table p's own (pt_unshare) on the way, for an
/// entry to be written (charged to p, see `frame_alloc_for`); without, return 0 where
/// no leaf table exists. Returns 0 when absent (or out of frames).
GFN_NOINLINE u64* pt_walk(MachineHdr* m, u64 root, u64 va, bool create, Proc* p) {
    if (va >> VA_BITS) return 0;
    u64 t = root;
    for (int level = 0; level < 3; level++) {
        u64* e = pt_table(m, t) + pt_index(va, level);
        if (!(*e & PTE_P)) {
            if (!create || !pt_split(m, e, p)) return 0;
        } else if (create && (*e & PTE_TSHARED) && !pt_unshare(m, p, e)) {
            return 0;
        }
        t = PTE_FRAME(*e);
    }
    return pt_table(m, t) + pt_index(va, 3);
}

/// The index of the first nonzero entry of the page table t at or after index i, or 512
/// when there is none. A zero entry maps nothing (no page, no lazy reservation, no
/// table), so the walks over whole tables (fork's copy, an exit's release) skip it.
/// Entries are read 32 at a time (256 bytes) with their loads issued together: one
/// GPU thread walking a table entry by entry waited a memory latency for each of its
/// 512 entries, most of them empty in a sparse address space. (The entry at i is read
/// alone first: in a dense table the next entry is mostly used.)
/// -DGPUOS_PT_WALK_EACH (a variant to measure): every entry visited, as before.
GFN_NOINLINE u32 pt_next_used(const u64* t, u32 i) {
#ifdef GPUOS_PT_WALK_EACH
    return i;
#endif
    // A walk of the table begins: the whole table is asked for at once, so that the
    // groups below find it in L1 (`rt_prefetch`).
    if (i == 0) rt_prefetch(t, PAGE_SZ);
    // A used entry first, alone: a dense table (a program's pages) costs a load an
    // entry, as before, instead of a group's 32 loads each.
    if (i < 512 && t[i]) return i;
    NO_UNROLL while (i < 512) {
        u32 base = i & ~31u;
        u64 a[32];
        UNROLL_ALL for (int k = 0; k < 32; k++) a[k] = t[base + k];
        u32 used = 0;  // bit k: entry base + k is nonzero
        UNROLL_ALL for (int k = 0; k < 32; k++) used |= (u32)(a[k] != 0) << k;
        used &= ~0u << (i - base);
        if (used) return base + (u32)(31 - clz32(used & (0u - used)));
        i = base + 32;
    }
    return 512;
}

// ---- leaf tables shared after fork ----------------------------------------------------
// fork(2) copies the interior tables and shares each leaf table: one more reference to
// the table's frame, PTE_TSHARED in both processes' level-2 entries (`pt_clone`), no
// entry read or written. The frames a shared table maps keep one reference for the
// table, whoever maps it. Readers walk shared tables as they are (a page's write
// permission does not count through one); whatever writes a leaf entry, or writes a
// page through one, first gets a table of its own (`pt_unshare`, through `pt_walk` with
// create, `pt_lookup_own`, `pt_range` and `mm_fault_in_pte`): a copy whose frames take a
// reference each and whose writable pages become copy-on-write on both sides, or, for
// the last holder, the table itself. A process letting go of a shared table
// (`pt_drop_leaves`: exit, exec, munmap) drops the table's reference; the last frees
// its pages. A fork then costs a few interior tables instead of a walk of every page
// (H100: 445 us of one GPU thread for a static glibc program's 700 entries), and the
// tables neither side writes (text, libraries, read-only data) are never copied, as
// Linux's on-demand-fork proposals do for its page tables.

/// What a leaf table's entries map, summed: pages mapped (present or lazily reserved),
/// frames with a reference count (present, not an image-template frame), and of those
/// the page cache's (frame_cached).
struct LeafCounts {
    u64 mapped, priv, cached;
};

/// Load entries base..base+31 of leaf table t into e, their loads issued together (one
/// GPU thread reading a table entry by entry waited a memory latency for each), and add
/// their mapped pages to n.mapped. Returns the bits k of the entries that map a frame
/// with a reference count.
GFN u32 leaf_group_load(MachineHdr* m, const u64* t, u32 base, u64* e, LeafCounts& n) {
    UNROLL_ALL for (int k = 0; k < 32; k++) e[k] = t[base + k];
    u32 live = 0;
    UNROLL_ALL for (int k = 0; k < 32; k++) {
        n.mapped += pte_mapped(e[k]);
        live |= (u32)((e[k] & PTE_P) && !frame_immortal(m, PTE_FRAME(e[k]))) << k;
    }
    n.priv += popc64(live);
    return live;
}

/// The bits of `live` (leaf_group_load) whose frames are page-cache frames, their loads
/// issued together; added to n.cached.
GFN u32 leaf_group_cached(MachineHdr* m, const u64* e, u32 live, LeafCounts& n) {
    u32 cmark = 0;
    UNROLL_ALL for (int k = 0; k < 32; k++)
        if (((live >> k) & 1) && frame_cached(m, PTE_FRAME(e[k]))) cmark |= 1u << k;
    n.cached += popc64(cmark);
    return cmark;
}

/// Take what leaf table t maps out of p's counts (`*pages` up by its mapped pages, when
/// given), changing nothing else: p lets go of a table that others still hold.
GFN_NOINLINE void pt_uncount_leaves(MachineHdr* m, const u64* t, Proc* p, u64* pages) {
    LeafCounts n = {0, 0, 0};
    rt_prefetch(t, PAGE_SZ);  // its groups' loads find it in L1
    NO_UNROLL for (u32 base = 0; base < 512; base += 32) {
        u64 e[32];
        u32 live = leaf_group_load(m, t, base, e, n);
        if (live && p) leaf_group_cached(m, e, live, n);
    }
    if (pages) *pages += n.mapped;
    if (p) {
        p->frames_private -= n.priv;
        p->frames_cached -= n.cached;
    }
}

/// Release what the leaf table t (level 3) maps into the batch `b`, as
/// `frame_release_into` does for each present entry (p 0: nobody's), adding the pages it
/// maps to `*pages` when given; the table's own frame stays the caller's. 32 entries at
/// a time, with each group's loads (entries, page-cache marks, interleaving bits) and
/// its returning atomics issued together: one GPU thread releasing a table entry by
/// entry waited several memory latencies for each of its used entries (an exit of a
/// static glibc program: about 700).
GFN_NOINLINE void pt_free_leaves(MachineHdr* m, const u64* t, FreeBatch& b, Proc* p, u64* pages) {
    LeafCounts n = {0, 0, 0};
    rt_prefetch(t, PAGE_SZ);  // its groups' loads find it in L1
    NO_UNROLL for (u32 base = 0; base < 512; base += 32) {
        u64 e[32];
        u32 live = leaf_group_load(m, t, base, e, n);
        if (!live) continue;
        if (p) leaf_group_cached(m, e, live, n);  // only p's counts need the marks
        u32 il = 0;  // interleaved frames
        UNROLL_ALL for (int k = 0; k < 32; k++)
            if (((live >> k) & 1) && frame_il(m, PTE_FRAME(e[k]))) il |= 1u << k;
        u32 plain = live & ~il;
        u32 before[32];
        UNROLL_ALL for (int k = 0; k < 32; k++)
            before[k] = (plain >> k) & 1 ? atomic_sub_u32(frame_refcnt(m, PTE_FRAME(e[k])), 1) : 2;
        NO_UNROLL for (int k = 0; k < 32; k++) {
            u64 f = PTE_FRAME(e[k]);
            if ((il >> k) & 1) il_unref(m, f);
            if (before[k] == 0) gpuos_panic(m, PANIC_REFCNT, f);
            if (before[k] != 1) continue;
            b.f[b.n++] = (u32)f;
            if (b.n == FREE_BATCH) free_batch_flush(m, b);
        }
    }
    if (pages) *pages += n.mapped;
    if (p) {
        p->frames_private -= n.priv;
        p->frames_cached -= n.cached;
    }
}

/// Let go of the leaf table at frame `tf` of process p's tree (p 0: nobody's counts),
/// into the batch `b`, adding the pages it mapped to `*pages` when given: a table p
/// alone holds is released with its pages; a shared one (fork, `pt_clone`) is counted
/// out of p's counts while still held (no holder changes it then) and loses a reference,
/// its pages released by its last holder.
GFN_NOINLINE void pt_drop_leaves(MachineHdr* m, u64 tf, FreeBatch& b, Proc* p, u64* pages) {
    u64* t = pt_table(m, tf);
    if (frame_immortal(m, tf)) {  // the template's: counted out, never released
        if (p || pages) pt_uncount_leaves(m, t, p, pages);
        if (p) p->frames_private--;
        return;
    }
    u32* rc = frame_refcnt(m, tf);
    if (load_relaxed_u32(rc) == 1) {
        pt_free_leaves(m, t, b, p, pages);
        frame_release_into(m, b, p, tf);
        return;
    }
    if (p || pages) pt_uncount_leaves(m, t, p, pages);
    if (p) rss_uncharge(m, p, tf);
    u32 before = atomic_sub_u32(rc, 1);
    if (before == 0) gpuos_panic(m, PANIC_REFCNT, tf);
    if (before != 1) return;
    pt_free_leaves(m, t, b, 0, 0);  // the others let go meanwhile: its pages go with it
    b.f[b.n++] = (u32)tf;
    if (b.n == FREE_BATCH) free_batch_flush(m, b);
}

/// Release the table `table` of level `level` and everything below it into the batch
/// `b` (frames released for p, see `frame_release_into`; p 0: nobody's). Adds the
/// pages it mapped to `*pages` when given. Iterative, with an explicit path of at most
/// three interior tables; leaf tables go through pt_drop_leaves.
GFN_NOINLINE void pt_free_tree(MachineHdr* m, u64 table, int level, FreeBatch& b, Proc* p, u64* pages) {
    if (level == 3) {
        pt_drop_leaves(m, table, b, p, pages);
        return;
    }
    u64 tab[3];
    u32 idx[3];
    int d = level;
    tab[d] = table;
    idx[d] = 0;
    NO_UNROLL for (; d >= level;) {
        idx[d] = pt_next_used(pt_table(m, tab[d]), idx[d]);
        if (idx[d] == 512) {  // this table is done: release it, back to its parent
            frame_release_into(m, b, p, tab[d]);
            d--;
            if (d >= level) idx[d]++;
            continue;
        }
        u64 e = pt_table(m, tab[d])[idx[d]];
        if (d == 2 && (e & PTE_P)) {
            pt_drop_leaves(m, PTE_FRAME(e), b, p, pages);
        } else if (e & PTE_P) {
            tab[d + 1] = PTE_FRAME(e);
            idx[d + 1] = 0;
            d++;
            continue;
        } else if (pages && pte_mapped(e)) {
            *pages += 1ull << (pt_span_shift(d) - PAGE_SHIFT);
        }
        idx[d]++;
    }
}

/// Release every frame reachable from the tables of `root` (the process exits).
GFN_NOINLINE void pt_free_all(MachineHdr* m, u64 root) {
    FreeBatch b;
    b.n = 0;
    pt_free_tree(m, root, 0, b, 0, 0);
    free_batch_flush(m, b);
}

/// Copy the leaf table st (level 3) into the zeroed table dt: each present page shared
/// (one more reference) and made copy-on-write where writable (not MAP_SHARED), in st
/// too with `share_src`. 32 entries at a time, with each group's loads and reference
/// counts' atomics issued together. Returns what the copy maps (its page-cache frames
/// counted only with `marks`).
GFN_NOINLINE LeafCounts pt_clone_leaves(MachineHdr* m, u64* st, u64* dt, bool share_src, bool marks) {
    LeafCounts n = {0, 0, 0};
    rt_prefetch(st, PAGE_SZ);  // its groups' loads find it in L1
    NO_UNROLL for (u32 base = 0; base < 512; base += 32) {
        u64 e[32];
        u32 live = leaf_group_load(m, st, base, e, n);
        u32 used = 0;
        UNROLL_ALL for (int k = 0; k < 32; k++) used |= (u32)(e[k] != 0) << k;
        if (!used) continue;  // the copy's zero entries stay
        if (marks && live) leaf_group_cached(m, e, live, n);
        UNROLL_ALL for (int k = 0; k < 32; k++)
            if ((live >> k) & 1) atomic_add_u32(frame_refcnt(m, PTE_FRAME(e[k])), 1);
        UNROLL_ALL for (int k = 0; k < 32; k++) {
            u64 x = e[k];
            if ((x & PTE_P) && (x & PTE_W) && !(x & PTE_SHARED)) {  // shared now: copy before writing
                x |= PTE_COW;
                if (share_src) st[base + k] = x;
            }
            dt[base + k] = x;
        }
    }
    return n;
}

/// Give the space led by p a leaf table of its own in place of the shared one its
/// level-2 entry *e holds (PTE_TSHARED): the last holder keeps the table (the mark
/// goes); another gets a copy (pt_clone_leaves), the pages still mapped through the
/// shared table copy-on-write on both sides where writable, and lets go of the table.
/// p's counts stay: it maps the same frames, and the copy's frame takes the table's
/// place in its resident set. A table of the template (immortal, the leaf tables every
/// process starts with) is always copied and stays as it is. False when no frame is to
/// be had (`p->oom`).
GFN_NOINLINE bool pt_unshare(MachineHdr* m, Proc* p, u64* e) {
    u64 tf = PTE_FRAME(*e);
    bool tmpl = frame_immortal(m, tf);  // the template's: always copied, never written
    u32* rc = frame_refcnt(m, tf);
    if (!tmpl && load_acquire_u32(rc) == 1) {  // the others let go (after their copies' COW marks)
        *e &= ~PTE_TSHARED;
        return true;
    }
    u64 f = frame_alloc(m);  // in the shared table's place: no resident limit applies
    if (f == NO_FRAME) {
        p->oom = OOM_POOL;
        return false;
    }
    pt_clone_leaves(m, pt_table(m, tf), pt_table(m, f), !tmpl, false);
    pte_publish(p, e, (f << 12) | PTE_P);
    if (tmpl) return true;
    u32 before = atomic_sub_u32(rc, 1);
    if (before == 0) gpuos_panic(m, PANIC_REFCNT, tf);
    if (before == 1) {  // the others let go meanwhile: the table and its pages go
        space_quiesce(m, p);  // tasks on spare lanes may still walk it
        FreeBatch b;
        b.n = 0;
        pt_free_leaves(m, pt_table(m, tf), b, 0, 0);
        b.f[b.n++] = (u32)tf;
        free_batch_flush(m, b);
    }
    return true;
}

/// A zeroed frame for a table of pt_clone's copy (`frame_alloc`); a fork's time here
/// is its SPAWN_TABLE_FRAMES stage under -DGPUOS_SPAWN_SPLIT.
GFN u64 pt_clone_frame(MachineHdr* m, bool fork) {
    SPAWN_T0(t);
    u64 f = frame_alloc(m);
    if (fork) SPAWN_STAGE(m, SPAWN_TABLE_FRAMES, t);
    return f;
}

/// Copy the page-table tree of `src_root` into fresh tables for process p: the interior
/// tables are copied, the leaf tables shared (PTE_TSHARED in the copy's level-2
/// entries, see "leaf tables shared after fork"), lazy reservations copied as they are.
/// With `share_src` (fork(2): the source is a running process) each leaf table takes a
/// reference and the source's level-2 entries are marked too; the caller flushes the
/// source's TLB and sets p's counts to the source's (the trees map the same). Else the
/// source is the image template, whose tables are immortal and never written: p's
/// counts grow by the copy's tables (`frames_private`, the shared leaf tables included,
/// as a fork's child counts them) and by the template's pages (`MachineHdr::tmpl_pages`,
/// `vm_pages`), no leaf entry read. -DGPUOS_PT_COPY_LEAVES (a variant to measure) copies
/// every leaf table instead, its writable entries made copy-on-write (and the source's
/// with `share_src`). Returns the new root, or NO_FRAME when the pool is out of frames
/// (whatever was copied so far is released again). The resident limit is not applied:
/// the copy shares its pages (fork(2) does not fail on RSS).
GFN_NOINLINE u64 pt_clone(MachineHdr* m, u64 src_root, Proc* p, bool share_src = false) {
    u64 root = pt_clone_frame(m, share_src);
    if (root == NO_FRAME) { p->oom = OOM_POOL; return NO_FRAME; }
    p->frames_private++;
    u64 st[3], dt[3];
    u32 idx[3];
    st[0] = src_root;
    dt[0] = root;
    idx[0] = 0;
    int d = 0;
    bool ok = true;
    NO_UNROLL for (; d >= 0 && ok;) {
        idx[d] = pt_next_used(pt_table(m, st[d]), idx[d]);  // the copy's zero entries stay
        if (idx[d] == 512) {
            d--;
            if (d >= 0) idx[d]++;
            continue;
        }
        u64* s = pt_table(m, st[d]) + idx[d];
        u64* t = pt_table(m, dt[d]) + idx[d];
        if (!(*s & PTE_P)) {  // a lazy reservation of the entry's whole span
            *t = *s;
            idx[d]++;
            continue;
        }
#ifndef GPUOS_PT_COPY_LEAVES
        if (d == 2) {  // a leaf table: shared
            u64 tf = PTE_FRAME(*s);
            if (!frame_immortal(m, tf)) atomic_add_u32(frame_refcnt(m, tf), 1);
            if (share_src) *s |= PTE_TSHARED;
            else p->frames_private++;
            *t = *s | PTE_TSHARED;
            idx[d]++;
            continue;
        }
#endif
        u64 f = pt_clone_frame(m, share_src);
        if (f == NO_FRAME) { p->oom = OOM_POOL; ok = false; break; }
        p->frames_private++;
        *t = (f << 12) | PTE_P;
        if (d == 2) {  // a leaf table: copied in groups
            LeafCounts n = pt_clone_leaves(m, pt_table(m, PTE_FRAME(*s)), pt_table(m, f), share_src, true);
            p->frames_private += n.priv;
            p->frames_cached += n.cached;
            idx[d]++;
            continue;
        }
        st[d + 1] = PTE_FRAME(*s);
        dt[d + 1] = f;
        idx[d + 1] = 0;
        d++;
    }
    if (!ok) {
        pt_free_all(m, root);  // the partial copy is a consistent tree
        return NO_FRAME;
    }
    if (!share_src) p->vm_pages += m->tmpl_pages;
    return root;
}

GFN void tlb_flush(Core& c) {
    for (int i = 0; i < TLB_ENTRIES; i++) c.tlb[i].vpn = 0;
    c.code_vpn = 0;
}

/// Drop c's soft-TLB entry and code page for the page of va, if it holds them (a
/// copy-on-write break moved the page to another frame: `mm_fault_in_pte`), keeping
/// the others, which a fault-in of another page does not change: a shared leaf
/// table's copy (`pt_unshare`) maps the same frames, and the entries filled through the
/// shared table lack write permission.
GFN void tlb_drop(Core& c, u64 va) {
    u64 vpn = va >> PAGE_SHIFT;
    TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
    if (t.vpn == vpn + 1) t.vpn = 0;
    if (c.code_vpn == vpn + 1) c.code_vpn = 0;
}

/// Drop c's soft-TLB entries (and its code page) for the pages of [va, va + len), len >
/// 0, keeping the others: an operation over the range (`mm_range`: unmap, protect,
/// replace, discard) changes entries in it only (a lazy span it splits stays lazy
/// outside it, unmaterialised, so never in a TLB; a shared leaf table it copies maps
/// the same frames).
GFN void tlb_drop_range(Core& c, u64 va, u64 len) {
    u64 lo = va >> PAGE_SHIFT, n = ((va + len - 1) >> PAGE_SHIFT) - lo;  // pages - 1
    for (int i = 0; i < TLB_ENTRIES; i++)
        if (c.tlb[i].vpn - 1 - lo <= n) c.tlb[i].vpn = 0;  // vpn 0 (empty) wraps: kept
    if (c.code_vpn - 1 - lo <= n) c.code_vpn = 0;
}

/// Take write permission from every entry of c's soft TLB (fork: the pages are
/// copy-on-write now, the frames the same): reads keep their translations, the next
/// write to each page faults.
GFN void tlb_write_protect(Core& c) {
    for (int i = 0; i < TLB_ENTRIES; i++) c.tlb[i].perm &= ~(u32)PTE_W;
}

/// Make the page at va accessible for `acc` (PTE_R, PTE_W or PTE_X): split a lazy
/// reservation down to the page, allocate lazy pages, break copy-on-write. Returns the
/// page's last-level entry (present) or 0: no permission or unmapped (`p->oom` 0), or
/// no frame to be had (`p->oom` says why: the process's resident limit or the pool).
/// `c.pte_ro`: the entry is in a shared leaf table (a read of a page there needs no
/// copy of the table), so the page is not writable through it.
GFN_NOINLINE u64* mm_fault_in_pte(Core& c, u64 va, u64 acc) {
    MachineHdr* m = c.m;
    Proc* p = c.mm;
    p->oom = 0;
    c.bus = 0;
    int level;
    bool ro;
    u64* e = pt_lookup(m, p->pt_root, va, &level, &ro);
    if (!e || !pte_mapped(*e) || !(*e & acc)) return 0;
    if (*e & PTE_BUS) {  // past the end of a mapped file
        c.bus = 1;
        return 0;
    }
    if (level < 3) {  // inside a lazy reservation: tables down to the page
        e = pt_walk(m, p->pt_root, va, true, p);
        if (!e) return 0;
    } else if (ro && (acc == PTE_W || !(*e & PTE_P))) {  // the entry or its page is written
        e = pt_lookup_own(m, p, va, &level);
        if (!e) return 0;
        ro = false;
    }
    c.pte_ro = ro;
    if (!(*e & PTE_P)) {
        // LAZY: first touch of reserved anonymous memory.
        u64 f = frame_alloc_for(m, p, va >> PAGE_SHIFT);
        if (f == NO_FRAME) return 0;
        pte_publish(p, e, (f << 12) | (*e & PTE_PERM) | PTE_P);
    }
    if (acc == PTE_W && (*e & PTE_COW) && (*e & PTE_SHARED)) {
        *e = (*e & ~PTE_COW) | PTE_DIRTY;  // a shared file page: dirty, to be written back
    } else if (acc == PTE_W && (*e & PTE_COW)) {
        u64 old = PTE_FRAME(*e);
        if (!frame_immortal(m, old) && load_relaxed_u32(frame_refcnt(m, old)) == 1) {
            *e &= ~PTE_COW;  // last user: take the frame over
        } else {
            // The page moves to a copy: tasks on spare lanes may hold the old frame.
            space_quiesce(m, p);
            // The copy takes the shared frame's place in this process's resident set.
            bool counted = !frame_immortal(m, old);
            if (counted) rss_uncharge(m, p, old);
            u64 f = frame_alloc_for(m, p, va >> PAGE_SHIFT);
            if (f == NO_FRAME) {
                if (counted) rss_charge(m, p, old);
                return 0;
            }
            frame_copy(m, f, old);
            *e = (f << 12) | (*e & PTE_PERM) | PTE_P;
            frame_unref(m, old);
            // The Core's entry for the page named the old frame; code on it now runs
            // from the copy, decoded afresh (a private copy has no decode cache).
            tlb_drop(c, va);
        }
    }
    return e;
}

/// mm_fault_in_pte's frame, or NO_FRAME.
GFN u64 mm_fault_in(Core& c, u64 va, u64 acc) {
    u64* e = mm_fault_in_pte(c, va, acc);
    return e ? PTE_FRAME(*e) : NO_FRAME;
}

/// A fault-in failed at va: SIGKILL when for want of a frame (the process reached its
/// resident limit, or the pool is exhausted: the one that asks is killed, as by Linux's
/// OOM killer, and `Proc::kill_cause` says why), else SIGSEGV.
GFN_NOINLINE void mm_fault_failed(Core& c, u64 va) {
    if (c.bus) {
        raise_signal(c, SIG_BUS, va);
    } else if (c.mm->oom) {
        c.p->kill_cause = c.mm->oom;
        raise_signal(c, SIG_KILL, va);
    } else {
        raise_signal(c, SIG_SEGV, va);
    }
}

/// A spare lane's page walk (user mode, kernel/proc/spare.h): the entry of va's page
/// when it is present with permission `acc` as it stands (not copy-on-write nor in a
/// shared leaf table for a write), else 0; `c.pte_ro` as mm_fault_in_pte sets it. It
/// changes nothing: the task's own lane faults pages in.
GFN_NOINLINE u64* mm_user_pte(Core& c, u64 va, u64 acc) {
    int level;
    bool ro;
    u64* e = pt_lookup(c.m, c.mm->pt_root, va, &level, &ro);
    if (!e || level != 3) return 0;
    u64 v = *(volatile u64*)e;
    bool ok = (v & PTE_P) && (v & acc) && !(v & PTE_BUS) && !(acc == PTE_W && ((v & PTE_COW) || ro));
    c.pte_ro = ro;
    return ok ? e : 0;
}

/// TLB miss: walk the page table, fault the page in, fill the TLB entry. Kept out of
/// line so that the fast path stays small at each of the many call sites. In a spare
/// lane's user mode a page that is not ready stops the instruction (a trap without a
/// signal: `raise_signal` with 0), which the task's lane then runs.
GFN_NOINLINE u8* mm_translate_slow(Core& c, u64 va, u64 acc) {
    u64 vpn = va >> PAGE_SHIFT;
    TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
    u64* e = c.user ? mm_user_pte(c, va, acc) : mm_fault_in_pte(c, va, acc);  // one walk: its entry gives the permissions
    if (!e) {
        if (c.user) raise_signal(c, 0, va);
        else mm_fault_failed(c, va);
        return 0;
    }
    u64 f = PTE_FRAME(*e);
    t.vpn = vpn + 1;
    t.il = frame_il(c.m, f);
    t.host = frame_base(c.m, f, t.il);
    t.perm = (u32)(*e & PTE_PERM);
    if ((*e & PTE_COW) || c.pte_ro) t.perm &= ~(u32)PTE_W;  // written only after a fault
    return page_at(t.host, t.il, va & (PAGE_SZ - 1));
}

/// Translate va for an access of kind acc; returns the host/device pointer of the byte,
/// or 0 after raising SIGSEGV (SIGKILL when out of memory).
GFN u8* mm_translate(Core& c, u64 va, u64 acc) {
    u64 vpn = va >> PAGE_SHIFT;
    TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
    if (t.vpn == vpn + 1 && (t.perm & acc)) return page_at(t.host, t.il, va & (PAGE_SZ - 1));
    return mm_translate_slow(c, va, acc);
}

// ---- guest loads and stores ------------------------------------------------------------

/// A load of `size` (1, 2, 4, 8) bytes at p, aligned to its size.
GFN u64 load_aligned(const u8* p, int size) {
    switch (size) {
    case 1: return *p;
    case 2: return *(const u16*)p;
    case 4: return *(const u32*)p;
    default: return *(const u64*)p;
    }
}
/// A store of `size` (1, 2, 4, 8) bytes at p, aligned to its size.
GFN void store_aligned(u8* p, int size, u64 v) {
    switch (size) {
    case 1: *p = (u8)v; return;
    case 2: *(u16*)p = (u16)v; return;
    case 4: *(u32*)p = (u32)v; return;
    default: *(u64*)p = v; return;
    }
}
GFN u64 load_le(const u8* p, int size) {
    if (((uintptr_t)p & (size - 1)) == 0) return load_aligned(p, size);
    u64 v = 0;
    for (int i = size - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
GFN void store_le(u8* p, int size, u64 v) {
    if (((uintptr_t)p & (size - 1)) == 0) {
        store_aligned(p, size, v);
        return;
    }
    for (int i = 0; i < size; i++) { p[i] = (u8)v; v >>= 8; }
}

/// A read that crosses a page boundary: byte by byte.
GFN_NOINLINE u64 mem_read_cross(Core& c, u64 va, int size) {
    u64 v = 0;
    for (int i = size - 1; i >= 0; i--) {
        u8* p = mm_translate(c, va + i, PTE_R);
        if (!p) return 0;
        v = (v << 8) | *p;
    }
    return v;
}

/// mem_read after a soft-TLB miss, or for bytes that are not one run of memory (across
/// pages, or across words of an interleaved frame).
GFN_NOINLINE u64 mem_read_slow(Core& c, u64 va, int size) {
    u64 off = va & (PAGE_SZ - 1);
    if (off + size <= PAGE_SZ) {
        u8* p = mm_translate(c, va, PTE_R);
        if (!p) return 0;
        if (page_run(c.tlb[(va >> PAGE_SHIFT) & (TLB_ENTRIES - 1)].il, off, size)) return load_le(p, size);
    }
    return mem_read_cross(c, va, size);
}

/// Read `size` (1, 2, 4, 8) bytes at va, little-endian. 0 after a fault.
GFN u64 mem_read(Core& c, u64 va, int size) {
    u64 vpn = va >> PAGE_SHIFT, off = va & (PAGE_SZ - 1);
    TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
    if (t.vpn == vpn + 1 && (t.perm & PTE_R) && page_run(t.il, off, size)) return load_le(page_at(t.host, t.il, off), size);
    return mem_read_slow(c, va, size);
}

/// A write that crosses a page boundary: check every page first, so no partial store.
GFN_NOINLINE void mem_write_cross(Core& c, u64 va, int size, u64 v) {
    for (int i = 0; i < size; i++) {  // check every page first: no partial store
        if (!mm_translate(c, va + i, PTE_W)) return;
    }
    for (int i = 0; i < size; i++) { *mm_translate(c, va + i, PTE_W) = (u8)v; v >>= 8; }
}

/// mem_write after a soft-TLB miss, or for bytes that are not one run of memory.
GFN_NOINLINE void mem_write_slow(Core& c, u64 va, int size, u64 v) {
    u64 off = va & (PAGE_SZ - 1);
    if (off + size <= PAGE_SZ) {
        u8* p = mm_translate(c, va, PTE_W);
        if (!p) return;
        if (page_run(c.tlb[(va >> PAGE_SHIFT) & (TLB_ENTRIES - 1)].il, off, size)) {
            store_le(p, size, v);
            return;
        }
    }
    mem_write_cross(c, va, size, v);
}

/// Write `size` (1, 2, 4, 8) bytes at va, little-endian.
GFN void mem_write(Core& c, u64 va, int size, u64 v) {
    u64 vpn = va >> PAGE_SHIFT, off = va & (PAGE_SZ - 1);
    TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
    if (t.vpn == vpn + 1 && (t.perm & PTE_W) && page_run(t.il, off, size)) {
        store_le(page_at(t.host, t.il, off), size, v);
        return;
    }
    mem_write_slow(c, va, size, v);
}

/// Whether another lane may write c's memory while it runs: its address space has held
/// a MAP_SHARED file mapping (`Proc::shm_mapped`), or its threads have run on spare
/// lanes beside each other (`Proc::lanes_shared`, kernel/proc/spare.h). Until then
/// the exclusives, acquire/release and barriers need neither coherent loads, atomics
/// nor fences, which cost hundreds of cycles each on the GPU (C++'s shared_ptr counts
/// and static-local guards run them all the time).
GFN bool mem_shared(Core& c) { return (c.mm->shm_mapped | c.mm->lanes_shared) != 0; }

/// A device-scope fence where another lane may see this lane's memory (mem_shared).
GFN void fence_shared(Core& c) {
    if (mem_shared(c)) atomic_fence_dev();
}

GFN u64 ld8(Core& c, u64 va) { return mem_read(c, va, 1); }
GFN u64 ld16(Core& c, u64 va) { return mem_read(c, va, 2); }
GFN u64 ld32(Core& c, u64 va) { return mem_read(c, va, 4); }
GFN u64 ld64(Core& c, u64 va) { return mem_read(c, va, 8); }
GFN void st8(Core& c, u64 va, u64 v) { mem_write(c, va, 1, v); }
GFN void st16(Core& c, u64 va, u64 v) { mem_write(c, va, 2, v); }
GFN void st32(Core& c, u64 va, u64 v) { mem_write(c, va, 4, v); }
GFN void st64(Core& c, u64 va, u64 v) { mem_write(c, va, 8, v); }
/// 128-bit access as two 64-bit halves (lo at va, hi at va+8).
GFN void ld128(Core& c, u64 va, u64* lo, u64* hi) { *lo = ld64(c, va); *hi = ld64(c, va + 8); }
GFN void st128(Core& c, u64 va, u64 lo, u64 hi) {
    // Check both halves first so that a fault leaves memory unchanged.
    if (!mm_translate(c, va, PTE_W) || !mm_translate(c, va + 15, PTE_W)) return;
    st64(c, va, lo);
    st64(c, va + 8, hi);
}

/// MachineHdr::dcache_map: a frame of the page cache that never changes (a file
/// version's page), without decode-cache entries yet.
#define DCODE_CACHEABLE 1u

/// Mark frame f, just cached under a file version's identity (immutable: private
/// mappings copy before writing), as one whose decoded instructions may be kept.
GFN void dcode_mark(MachineHdr* m, u64 f) {
    if (m->dcache_map) atomic_cas_u32_dev((u32*)(uintptr_t)m->dcache_map + f, 0, DCODE_CACHEABLE);
}

/// Undo dcode_mark for frame f, which did not become the cache's (another lane cached
/// the page first, or the cache is full): no lane has seen or executed it.
GFN void dcode_unmark(MachineHdr* m, u64 f) {
    if (m->dcache_map) atomic_cas_u32_dev((u32*)(uintptr_t)m->dcache_map + f, DCODE_CACHEABLE, 0);
}

/// The decode-cache entries of page-cache frame f (MachineHdr::dcache_map), made the
/// first time a lane executes it: a never-used frame of the pool (frame_bump), zeroed
/// and published once its zeros are visible; a lane that loses the race frees its own.
/// A never-used frame because lanes on every SM read the entries with plain loads, with
/// no fence on this path (it runs at every change of code page): no SM's L1 can hold
/// lines of such a frame's earlier contents, and its zeros reach L2 before its number.
/// 0 for a frame that is not an immutable page-cache frame, or when no never-used
/// frame is left (the page is then decoded every time, as before).
GFN_NOINLINE u16* dcode_slab(MachineHdr* m, u64 f) {
    u32* e = (u32*)(uintptr_t)m->dcache_map + f;
    u32 v = load_relaxed_u32(e);
    if (v == DCODE_CACHEABLE) {
        u64 s = frame_bump(m);
        if (s == NO_FRAME) return 0;
        *frame_refcnt(m, s) = 1;
        rt_memset(frame_ptr(m, s), 0, PAGE_SZ);
        atomic_fence_dev();  // release: the zeros before the slab's number
        v = atomic_cas_u32_dev(e, DCODE_CACHEABLE, (u32)s + 2);
        if (v == DCODE_CACHEABLE) v = (u32)s + 2;
        else frame_unref(m, s);
    }
    return v < 2 ? 0 : (u16*)frame_ptr(m, v - 2);
}

/// The decode-cache entries of the code page at frame pointer p (frame_base): the
/// template frame's (MachineHdr::dcache), an immutable page-cache frame's (shared
/// libraries, dcode_slab), or 0 for any other frame (private copies, contiguous or
/// interleaved, and shared-writable file pages are decoded afresh).
GFN u16* code_ids_of(Core& c, const u8* p) {
    u64 f = (u64)(p - (u8*)(uintptr_t)c.m->frames) >> PAGE_SHIFT;
    if (f < c.m->tmpl_frames) return c.m->dcache ? (u16*)(uintptr_t)c.m->dcache + (f << (PAGE_SHIFT - 2)) : 0;
    return c.m->dcache_map && f < c.m->nframes ? dcode_slab(c.m, f) : 0;
}

/// Whether frame pointer p is a frame of the image template: the frames whose profile
/// tier 2 keeps (MachineHdr::t2_counts) and which it translates.
GFN bool code_tmpl(Core& c, const u8* p) {
    return (u64)(p - (u8*)(uintptr_t)c.m->frames) >> PAGE_SHIFT < c.m->tmpl_frames;
}

/// Make p (frame_base of the frame holding pc's page; `il`: interleaved) the current
/// code page.
GFN void set_code_page(Core& c, u64 pc, u8* p, bool il) {
    c.code = p;
    c.code_il = il;
    c.code_vpn = (pc >> PAGE_SHIFT) + 1;
    c.code_ids = code_ids_of(c, p);
    c.code_t2 = c.code_ids && code_tmpl(c, p);
}

/// Make the page of pc the current code page (c.code, c.code_ids). Returns false after
/// raising SIGBUS (pc not 4-aligned) or SIGSEGV (not mapped executable).
GFN_NOINLINE bool fetch_page(Core& c, u64 pc) {
    if (pc & 3) {  // PC alignment fault
        raise_signal(c, SIG_BUS, pc);
        return false;
    }
    u8* p = mm_translate(c, pc & ~(PAGE_SZ - 1), PTE_X);
    if (!p) return false;
    set_code_page(c, pc, p, c.tlb[(pc >> PAGE_SHIFT) & (TLB_ENTRIES - 1)].il);
    return true;
}

// ---- bulk copies between guest memory and a flat buffer (syscall marshalling) -------

/// A copy between guest memory and a buffer could not fault in va: for want of a frame,
/// the process is killed (SIGKILL, as `mm_fault_failed`); a bad address raises nothing
/// (the syscall returns EFAULT). Returns false.
GFN_NOINLINE bool mm_copy_failed(Core& c, u64 va) {
    if (c.mm->oom) mm_fault_failed(c, va);
    return false;
}

/// Copy n bytes from guest va to dst. Returns false on a bad address (no signal raised)
/// or when out of memory (the process is killed).
GFN_NOINLINE bool copy_from_guest(Core& c, u8* dst, u64 va, u64 n) {
    while (n) {
        u64 chunk = PAGE_SZ - (va & (PAGE_SZ - 1));
        if (chunk > n) chunk = n;
        u64 f = mm_fault_in(c, va, PTE_R);
        if (f == NO_FRAME) return mm_copy_failed(c, va);
        page_copy(c.m, f, va & (PAGE_SZ - 1), dst, chunk, false);
        dst += chunk; va += chunk; n -= chunk;
    }
    return true;
}

/// Copy n bytes from src to guest va. Returns false on a bad address.
GFN_NOINLINE bool copy_to_guest(Core& c, u64 va, const u8* src, u64 n) {
    bool ok = true;
    while (n) {
        u64 chunk = PAGE_SZ - (va & (PAGE_SZ - 1));
        if (chunk > n) chunk = n;
        u64 f = mm_fault_in(c, va, PTE_W);
        if (f == NO_FRAME) { ok = mm_copy_failed(c, va); break; }
        page_copy(c.m, f, va & (PAGE_SZ - 1), (u8*)src, chunk, true);
        src += chunk; va += chunk; n -= chunk;
    }
#ifdef GPUOS_COPY_TLB_FLUSH  // a variant to measure: the whole soft TLB, as before
    tlb_flush(c);  // (a copy-on-write break drops its page's entry: mm_fault_in_pte)
#endif
    return ok;
}

/// Copy n bytes between guest memory at va and b on a spare lane (user mode,
/// kernel/proc/spare.h): only through pages present with the access as they stand
/// (`mm_user_pte`: no fault-in, no copy-on-write break); false at the first page that
/// is not, which the task's lane then faults in. `from_guest`: into b.
GFN_NOINLINE bool user_copy(Core& c, u8* b, u64 va, u64 n, bool from_guest) {
    NO_UNROLL while (n) {
        u64 chunk = PAGE_SZ - (va & (PAGE_SZ - 1));
        if (chunk > n) chunk = n;
        u64* e = mm_user_pte(c, va, from_guest ? PTE_R : PTE_W);
        if (!e) return false;
        page_copy(c.m, PTE_FRAME(*(volatile u64*)e), va & (PAGE_SZ - 1), b, chunk, !from_guest);
        b += chunk, va += chunk, n -= chunk;
    }
    return true;
}

/// Copy a NUL-terminated string (at most max bytes including the NUL). Returns its
/// length without the NUL, -1 on a bad address, -2 when too long.
GFN_NOINLINE i64 copy_str_from_guest(Core& c, u8* dst, u64 va, u64 max) {
    for (u64 i = 0; i < max; i++) {
        u64 f = mm_fault_in(c, va + i, PTE_R);
        if (f == NO_FRAME) { mm_copy_failed(c, va + i); return -1; }
        u8 b;
        page_copy(c.m, f, (va + i) & (PAGE_SZ - 1), &b, 1, false);
        dst[i] = b;
        if (b == 0) return (i64)i;
    }
    return -2;
}

// ---- mapping ranges (mmap, munmap, mprotect, madvise, brk, the template) ---------------
// One walker over the page tables of [va, end): it visits each entry whose span meets
// the range at the highest level where the entry is not a table, so an absent or lazily
// reserved 512 GiB, 1 GiB or 2 MiB span costs one step, and an operation costs steps in
// proportion to the tables it touches, not to the pages in the range. An interior entry
// may hold a lazy reservation (PTE_LAZY and permissions, no P: every page of its span is
// reserved so); the walker splits one into a table only where an operation changes part
// of its span, and frees the tables under a span that an operation replaces whole.

/// What `pt_range` does to [va, end).
enum RangeOp : u32 {
    RANGE_MAP_LAZY = 0,  // reserve with permissions `perm`, replacing what was mapped
    RANGE_UNMAP = 1,     // remove every mapping
    RANGE_PROTECT = 2,   // set the permissions of what is mapped to `perm`
    RANGE_DISCARD = 3,   // drop present pages' frames (they read as zeros again)
    RANGE_COUNT = 4,     // change nothing
};

struct RangeWalk {
    u32 op;     // a RangeOp
    u64 perm;   // PTE_R | PTE_W | PTE_X for RANGE_MAP_LAZY and RANGE_PROTECT
    Proc* p;    // charged for tables, and for the frames released (0: the template)
    u64 pages;  // out: pages of the range that were mapped before the operation
    bool ok;    // out: false when a table could not be had (`p->oom` says why)
    FreeBatch b;
};

/// The leaf entry *e gets permissions `perm`. Adding write permission to a present page
/// whose frame is shared (an image-template frame, or one a forked relative also maps)
/// makes it copy-on-write: the next write copies it (mm_fault_in), as Linux does, so
/// the other processes never see the write, and template frames, whose decoded
/// instructions are cached, are never written.
GFN void pte_protect(MachineHdr* m, u64* e, u64 perm) {
    u64 n = (*e & ~PTE_PERM) | perm;
    if (n & PTE_SHARED) {  // a MAP_SHARED file page: writable in place, clean until written
        if ((perm & PTE_W) && !(n & PTE_DIRTY)) n |= PTE_COW;
        *e = n;
        return;
    }
    if ((n & PTE_P) && (perm & PTE_W) && !(n & PTE_COW)) {
        u64 f = PTE_FRAME(n);
        if (frame_immortal(m, f) || load_relaxed_u32(frame_refcnt(m, f)) > 1) n |= PTE_COW;
    }
    *e = n;
}

/// Whether the operation, meeting the non-table interior entry e on part of its span
/// only, needs a table there (split a lazy reservation, or a new table to map into).
GFN bool range_needs_table(const RangeWalk& w, u64 e) {
    switch (w.op) {
    case RANGE_MAP_LAZY: return !(e & PTE_LAZY) || (e & PTE_PERM) != w.perm;
    case RANGE_UNMAP: return (e & PTE_LAZY) != 0;
    case RANGE_PROTECT: return (e & PTE_LAZY) && (e & PTE_PERM) != w.perm;
    default: return false;
    }
}

/// Apply the operation to the entry *e (a leaf, or an interior entry that is not a
/// table), `pages` of whose span lie in the range; `whole`: its whole span does.
GFN void range_entry(MachineHdr* m, u64* e, u64 pages, bool whole, RangeWalk& w) {
    u64 v = *e;
    if (pte_mapped(v)) w.pages += pages;
    switch (w.op) {
    case RANGE_MAP_LAZY:
    case RANGE_UNMAP:
        if (!whole) return;  // partial: a lazy reservation already as asked, or empty
        if (v & PTE_P) frame_release_into(m, w.b, w.p, PTE_FRAME(v));
        *e = w.op == RANGE_UNMAP ? 0 : PTE_LAZY | w.perm;
        return;
    case RANGE_PROTECT:
        if (pte_mapped(v)) pte_protect(m, e, w.perm);
        return;
    case RANGE_DISCARD:
        // A MAP_SHARED file page stays: its bytes are the file's, not zeros (Linux
        // drops the mapping and the next touch finds the same page in the page cache).
        if ((v & PTE_P) && !(v & PTE_SHARED)) {
            frame_release_into(m, w.b, w.p, PTE_FRAME(v));
            *e = PTE_LAZY | (v & PTE_PERM);
        }
        return;
    default: return;
    }
}

/// Run the operation `w` over [va, end) (page aligned, end <= 2^48) of the tables at
/// `root`. The caller flushes the TLB when it changed something.
GFN_NOINLINE void pt_range(MachineHdr* m, u64 root, u64 va, u64 end, RangeWalk& w) {
    w.pages = 0;
    w.ok = true;
    w.b.n = 0;
    u64 a = va;
    NO_UNROLL for (; a < end && w.ok;) {
        u64 t = root;
        NO_UNROLL for (int level = 0;; level++) {
            u64* tab = pt_table(m, t);
            u64* e = tab + pt_index(a, level);
            u64 span = 1ull << pt_span_shift(level);
            u64 next = (a & ~(span - 1)) + span;
            bool whole = (a & (span - 1)) == 0 && next <= end;
            if (level == 3) {  // the leaf table: every page of the range in it
                u64 table_end = (a | ((512ull << PAGE_SHIFT) - 1)) + 1;
                u64 stop = end < table_end ? end : table_end;
                NO_UNROLL for (; a < stop; a += PAGE_SZ) range_entry(m, tab + pt_index(a, 3), 1, true, w);
                break;
            }
            if (*e & PTE_P) {
                if (whole && (w.op == RANGE_MAP_LAZY || w.op == RANGE_UNMAP)) {
                    // The whole span goes: its tables with it.
                    pt_free_tree(m, PTE_FRAME(*e), level + 1, w.b, w.p, &w.pages);
                    *e = w.op == RANGE_UNMAP ? 0 : PTE_LAZY | w.perm;
                    a = next;
                    break;
                }
                // A shared leaf table (fork) the operation changes: p's own first.
                if (level == 2 && (*e & PTE_TSHARED) && w.op != RANGE_COUNT && !pt_unshare(m, w.p, e)) {
                    w.ok = false;
                    break;
                }
                t = PTE_FRAME(*e);
                continue;
            }
            if (!whole && range_needs_table(w, *e)) {
                if (!pt_split(m, e, w.p)) { w.ok = false; break; }
                t = PTE_FRAME(*e);
                continue;
            }
            u64 stop = end < next ? end : next;
            range_entry(m, e, (stop - a) >> PAGE_SHIFT, whole, w);
            a = next;
            break;
        }
    }
    free_batch_flush(m, w.b);
}

/// Run operation `op` (permissions `perm`) over [va, va+len) of c's process. Returns
/// the walk (its `pages` and `ok`).
GFN_NOINLINE RangeWalk mm_range(Core& c, u32 op, u64 va, u64 len, u64 perm) {
    RangeWalk w;
    w.op = op;
    w.perm = perm & (PTE_PERM | PTE_BUS);
    w.p = c.mm;
    pt_range(c.m, c.mm->pt_root, va, va + len, w);
    if (op != RANGE_COUNT && len) tlb_drop_range(c, va, len);
    return w;
}

/// Pages mapped (present or reserved) in [va, va+len).
GFN u64 mm_mapped_pages(Core& c, u64 va, u64 len) { return mm_range(c, RANGE_COUNT, va, len, 0).pages; }

/// True when every page of [va, va+len) is unmapped.
GFN bool mm_range_free(Core& c, u64 va, u64 len) { return mm_mapped_pages(c, va, len) == 0; }

/// Remove the mappings of [va, va+len). Returns false when a lazy reservation that
/// straddles an end could not be split (no frame for the table).
GFN_NOINLINE bool mm_unmap(Core& c, u64 va, u64 len) {
    RangeWalk w = mm_range(c, RANGE_UNMAP, va, len, 0);
    c.mm->vm_pages -= w.pages;
    return w.ok;
}

/// Reserve [va, va+len) as lazily allocated anonymous memory with permissions `perm`,
/// replacing whatever was mapped there. Returns false when out of frames for tables
/// (the range is then left unmapped).
GFN_NOINLINE bool mm_map_lazy(Core& c, u64 va, u64 len, u64 perm) {
    u64 before = mm_mapped_pages(c, va, len);
    if (mm_range(c, RANGE_MAP_LAZY, va, len, perm).ok) {
        c.mm->vm_pages += (len >> PAGE_SHIFT) - before;
        return true;
    }
    mm_range(c, RANGE_UNMAP, va, len, 0);
    c.mm->vm_pages -= before;
    return false;
}

/// Change the permissions of the pages in [va, va+len). Returns false, changing
/// nothing, when some page of the range is not mapped (mprotect's ENOMEM; qemu checks
/// the whole range first too), or when a reservation could not be split.
GFN_NOINLINE bool mm_protect(Core& c, u64 va, u64 len, u64 perm) {
    if (mm_mapped_pages(c, va, len) != len >> PAGE_SHIFT) return false;
    return mm_range(c, RANGE_PROTECT, va, len, perm).ok;
}

/// madvise(MADV_DONTNEED): drop the frames; the next touch sees zeros.
GFN void mm_discard(Core& c, u64 va, u64 len) { mm_range(c, RANGE_DISCARD, va, len, 0); }

/// The start of the highest mapped page in [lo, hi) (page aligned), or NO_FRAME when
/// none is: a walk down from hi that skips absent spans whole.
GFN_NOINLINE u64 pt_highest_mapped(MachineHdr* m, u64 root, u64 lo, u64 hi) {
    u64 a = hi;  // everything in [a, hi) is unmapped
    NO_UNROLL for (; a > lo;) {
        u64 x = a - 1;
        u64 t = root;
        NO_UNROLL for (int level = 0;; level++) {
            u64* e = pt_table(m, t) + pt_index(x, level);
            u64 base = x & ~((1ull << pt_span_shift(level)) - 1);
            if (level < 3 && (*e & PTE_P)) {
                t = PTE_FRAME(*e);
                continue;
            }
            if (pte_mapped(*e)) {
                u64 page = x & ~(PAGE_SZ - 1);
                return page >= lo ? page : NO_FRAME;
            }
            a = base;
            break;
        }
    }
    return NO_FRAME;
}
