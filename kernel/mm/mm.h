// Virtual memory: the frame pool, per-process page tables, the per-lane TLB, and every
// guest load and store. A guest access is always translated and permission-checked; a
// failed check raises SIGSEGV for that process (or SIGBUS for misaligned exclusives).
//
// Page tables are 4 levels of 512 64-bit entries held in frames (48-bit VA, 4 KiB
// pages, like Linux AArch64 with 4 KiB granule). Leaf entry format:
//   bit 0 P (frame present), 1 R, 2 W, 3 X, 4 COW (copy before writing), 5 LAZY
//   (reserved: a zero frame is allocated on first touch), bits 12..51 frame index.
// Interior entries: bit 0 P, bits 12..51 frame index of the next-level table.
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
#define PTE_PERM (PTE_R | PTE_W | PTE_X)
#define PTE_FRAME(e) (((e) >> 12) & 0xffffffffffull)
#define VA_BITS 48
#define NO_FRAME 0xffffffffffffffffull

/// The frame's first byte. A frame index beyond the pool is gpuos's own bug (page tables
/// hold only indices it allocated): stop with a PanicRecord rather than touch memory
/// outside the pool.
GFN u8* frame_ptr(MachineHdr* m, u64 f) {
    if (f >= m->nframes) gpuos_panic(m, PANIC_FRAME_RANGE, f);
    return (u8*)(uintptr_t)m->frames + (f << PAGE_SHIFT);
}
GFN u32* frame_refcnt(MachineHdr* m, u64 f) { return (u32*)(uintptr_t)m->refcnt + f; }
/// Frames of the image template are shared by every process and never freed.
GFN bool frame_immortal(MachineHdr* m, u64 f) { return f < m->tmpl_frames; }

// ---- the frame pool ------------------------------------------------------------------
// Frames never handed out are taken from `bump` (one atomic add). Freed frames go onto
// FREE_SHARDS lock-free stacks (Treiber stacks with a change counter in the head against
// ABA), linked through their own first 4 bytes. Lane n uses list n mod FREE_SHARDS: at
// 100,000 lanes a single locked list was the bottleneck of the whole GPU (lanes of a
// warp spinning on a lock that one of them held, docs/BENCHMARKS.md), and a lock-free
// list never waits for a thread that the scheduler does not run.

GFN u64* free_head(MachineHdr* m, u32 shard) { return (u64*)(uintptr_t)m->free_heads + shard; }
/// The link word of a free frame: index + 1 of the next free frame, 0 at the end.
GFN u32* free_link(MachineHdr* m, u64 f) { return (u32*)frame_ptr(m, f); }

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
    u64* h = free_head(m, shard);
    for (;;) {
        u64 old = *(volatile u64*)h;
        *(volatile u32*)free_link(m, last) = (u32)old;
        atomic_fence_dev();  // release: the link is visible before the head names it
        u64 head = (((old >> 32) + 1) << 32) | (first + 1);
        if (atomic_cas_u64_dev(h, old, head) == old) return;
    }
}

/// Pop one frame from list `shard`; NO_FRAME when it is empty.
GFN_NOINLINE u64 free_list_pop(MachineHdr* m, u32 shard) {
    u64* h = free_head(m, shard);
    for (;;) {
        u64 old = *(volatile u64*)h;
        u32 top = (u32)old;
        if (top == 0) return NO_FRAME;
        atomic_fence_dev();  // acquire: the link is read after the head that named it
        // If another thread takes `top` meanwhile, this link may be stale, but the head
        // has changed (its counter too), so the exchange fails and we retry.
        u32 next = *(volatile u32*)free_link(m, top - 1);
        u64 head = (((old >> 32) + 1) << 32) | next;
        if (atomic_cas_u64_dev(h, old, head) == old) return top - 1;
    }
}

/// Allocate one zeroed frame with reference count 1; NO_FRAME when the pool is empty.
/// Order: this thread's list, never-used frames, then the other lists.
GFN_NOINLINE u64 frame_alloc(MachineHdr* m) {
    u32 shard = frame_shard();
    u64 f = free_list_pop(m, shard);
    if (f == NO_FRAME && load_relaxed_u64(&m->bump) < m->nframes) {
        u64 b = atomic_add_u64(&m->bump, 1);
        if (b < m->nframes) f = b;
    }
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

/// Drop one reference; when none remain, the frame goes into the batch `b`.
GFN void frame_unref_into(MachineHdr* m, FreeBatch& b, u64 f) {
    if (frame_immortal(m, f)) return;
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

/// Find the leaf entry for va; with `create`, allocate missing tables (counted in
/// `*private_frames`). Returns 0 when absent (or out of frames).
GFN_NOINLINE u64* pt_walk(MachineHdr* m, u64 root, u64 va, bool create, u64* private_frames) {
    if (va >> VA_BITS) return 0;
    u64 t = root;
    for (int level = 0; level < 3; level++) {
        u64* e = pt_table(m, t) + pt_index(va, level);
        if (!(*e & PTE_P)) {
            if (!create) return 0;
            u64 f = frame_alloc(m);
            if (f == NO_FRAME) return 0;
            if (private_frames) (*private_frames)++;
            *e = (f << 12) | PTE_P;
        }
        t = PTE_FRAME(*e);
    }
    return pt_table(m, t) + pt_index(va, 3);
}

/// Release every frame reachable from the tables of `root` (the process exits).
GFN_NOINLINE void pt_free_all(MachineHdr* m, u64 root) {
    FreeBatch b;
    b.n = 0;
    u64* l0 = pt_table(m, root);
    NO_UNROLL for (int i0 = 0; i0 < 512; i0++) {
        if (!(l0[i0] & PTE_P)) continue;
        u64* l1 = pt_table(m, PTE_FRAME(l0[i0]));
        NO_UNROLL for (int i1 = 0; i1 < 512; i1++) {
            if (!(l1[i1] & PTE_P)) continue;
            u64* l2 = pt_table(m, PTE_FRAME(l1[i1]));
            NO_UNROLL for (int i2 = 0; i2 < 512; i2++) {
                if (!(l2[i2] & PTE_P)) continue;
                u64* l3 = pt_table(m, PTE_FRAME(l2[i2]));
                NO_UNROLL for (int i3 = 0; i3 < 512; i3++)
                    if (l3[i3] & PTE_P) frame_unref_into(m, b, PTE_FRAME(l3[i3]));
                frame_unref_into(m, b, PTE_FRAME(l2[i2]));
            }
            frame_unref_into(m, b, PTE_FRAME(l1[i1]));
        }
        frame_unref_into(m, b, PTE_FRAME(l0[i0]));
    }
    frame_unref_into(m, b, root);
    free_batch_flush(m, b);
}

/// Copy the page-table tree of `src_root` into fresh tables; leaf frames are shared and
/// their writable entries marked COW in the copy. With `share_src` (fork(2): the source
/// is a running process, not the immortal template) the source's writable entries are
/// marked COW too, so that neither side writes the shared frame; the caller flushes the
/// source's TLB. Returns the new root, or NO_FRAME when out of frames (whatever was
/// copied so far is released again). Interior tables are private to the new process.
GFN_NOINLINE u64 pt_clone(MachineHdr* m, u64 src_root, u64* private_frames, bool share_src = false) {
    u64 root = frame_alloc(m);
    if (root == NO_FRAME) return NO_FRAME;
    (*private_frames)++;
    bool ok = true;
    u64* s0 = pt_table(m, src_root);
    u64* d0 = pt_table(m, root);
    NO_UNROLL for (int i0 = 0; ok && i0 < 512; i0++) {
        if (!(s0[i0] & PTE_P)) continue;
        u64 f1 = frame_alloc(m);
        if (f1 == NO_FRAME) { ok = false; break; }
        (*private_frames)++;
        d0[i0] = (f1 << 12) | PTE_P;
        u64* s1 = pt_table(m, PTE_FRAME(s0[i0]));
        u64* d1 = pt_table(m, f1);
        NO_UNROLL for (int i1 = 0; ok && i1 < 512; i1++) {
            if (!(s1[i1] & PTE_P)) continue;
            u64 f2 = frame_alloc(m);
            if (f2 == NO_FRAME) { ok = false; break; }
            (*private_frames)++;
            d1[i1] = (f2 << 12) | PTE_P;
            u64* s2 = pt_table(m, PTE_FRAME(s1[i1]));
            u64* d2 = pt_table(m, f2);
            NO_UNROLL for (int i2 = 0; i2 < 512; i2++) {
                if (!(s2[i2] & PTE_P)) continue;
                u64 f3 = frame_alloc(m);
                if (f3 == NO_FRAME) { ok = false; break; }
                (*private_frames)++;
                d2[i2] = (f3 << 12) | PTE_P;
                u64* s3 = pt_table(m, PTE_FRAME(s2[i2]));
                u64* d3 = pt_table(m, f3);
                NO_UNROLL for (int i3 = 0; i3 < 512; i3++) {
                    u64 e = s3[i3];
                    if (e & PTE_P) {
                        if (!frame_immortal(m, PTE_FRAME(e))) atomic_add_u32(frame_refcnt(m, PTE_FRAME(e)), 1);
                        if (e & PTE_W) e |= PTE_COW;  // shared now: copy before writing
                        if (share_src) s3[i3] = e;
                    }
                    d3[i3] = e;
                }
            }
        }
    }
    if (!ok) {
        pt_free_all(m, root);  // the partial copy is a consistent tree
        return NO_FRAME;
    }
    return root;
}

GFN void tlb_flush(Core& c) {
    for (int i = 0; i < TLB_ENTRIES; i++) c.tlb[i].vpn = 0;
    c.code_vpn = 0;
}

/// Make the page at va accessible for `acc` (PTE_R, PTE_W or PTE_X): allocate lazy
/// pages, break copy-on-write. Returns the frame pointer or 0 (no permission, unmapped,
/// or out of frames).
GFN_NOINLINE u8* mm_fault_in(Core& c, u64 va, u64 acc) {
    MachineHdr* m = c.m;
    u64* e = pt_walk(m, c.p->pt_root, va, false, 0);
    if (!e || !(*e & (PTE_P | PTE_LAZY)) || !(*e & acc)) return 0;
    if (!(*e & PTE_P)) {
        // LAZY: first touch of reserved anonymous memory.
        u64 f = frame_alloc(m);
        if (f == NO_FRAME) return 0;
        c.p->frames_private++;
        *e = (f << 12) | (*e & PTE_PERM) | PTE_P;
    }
    if (acc == PTE_W && (*e & PTE_COW)) {
        u64 old = PTE_FRAME(*e);
        if (!frame_immortal(m, old) && load_relaxed_u32(frame_refcnt(m, old)) == 1) {
            *e &= ~PTE_COW;  // last user: take the frame over
        } else {
            u64 f = frame_alloc(m);
            if (f == NO_FRAME) return 0;
            rt_memcpy(frame_ptr(m, f), frame_ptr(m, old), PAGE_SZ);
            c.p->frames_private++;
            *e = (f << 12) | (*e & PTE_PERM) | PTE_P;
            frame_unref(m, old);
        }
    }
    return frame_ptr(m, PTE_FRAME(*e));
}

/// TLB miss: walk the page table, fault the page in, fill the TLB entry. Kept out of
/// line so that the fast path stays small at each of the many call sites.
GFN_NOINLINE u8* mm_translate_slow(Core& c, u64 va, u64 acc) {
    u64 vpn = va >> PAGE_SHIFT;
    TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
    u8* page = mm_fault_in(c, va, acc);
    if (!page) {
        raise_signal(c, SIG_SEGV, va);
        return 0;
    }
    u64* e = pt_walk(c.m, c.p->pt_root, va, false, 0);
    t.vpn = vpn + 1;
    t.host = page;
    t.perm = (u32)(*e & PTE_PERM);
    if (*e & PTE_COW) t.perm &= ~(u32)PTE_W;
    return page + (va & (PAGE_SZ - 1));
}

/// Translate va for an access of kind acc; returns the host/device pointer of the byte,
/// or 0 after raising SIGSEGV.
GFN u8* mm_translate(Core& c, u64 va, u64 acc) {
    u64 vpn = va >> PAGE_SHIFT;
    TlbEntry& t = c.tlb[vpn & (TLB_ENTRIES - 1)];
    if (t.vpn == vpn + 1 && (t.perm & acc)) return t.host + (va & (PAGE_SZ - 1));
    return mm_translate_slow(c, va, acc);
}

// ---- guest loads and stores ------------------------------------------------------------

GFN u64 load_le(const u8* p, int size) {
    if (((uintptr_t)p & (size - 1)) == 0) {
        switch (size) {
        case 1: return *p;
        case 2: return *(const u16*)p;
        case 4: return *(const u32*)p;
        default: return *(const u64*)p;
        }
    }
    u64 v = 0;
    for (int i = size - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
GFN void store_le(u8* p, int size, u64 v) {
    if (((uintptr_t)p & (size - 1)) == 0) {
        switch (size) {
        case 1: *p = (u8)v; return;
        case 2: *(u16*)p = (u16)v; return;
        case 4: *(u32*)p = (u32)v; return;
        default: *(u64*)p = v; return;
        }
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

/// Read `size` (1, 2, 4, 8) bytes at va, little-endian. 0 after a fault.
GFN u64 mem_read(Core& c, u64 va, int size) {
    if ((va & (PAGE_SZ - 1)) + size <= PAGE_SZ) {
        u8* p = mm_translate(c, va, PTE_R);
        return p ? load_le(p, size) : 0;
    }
    return mem_read_cross(c, va, size);
}

/// A write that crosses a page boundary: check every page first, so no partial store.
GFN_NOINLINE void mem_write_cross(Core& c, u64 va, int size, u64 v) {
    for (int i = 0; i < size; i++) {  // check every page first: no partial store
        if (!mm_translate(c, va + i, PTE_W)) return;
    }
    for (int i = 0; i < size; i++) { *mm_translate(c, va + i, PTE_W) = (u8)v; v >>= 8; }
}

/// Write `size` (1, 2, 4, 8) bytes at va, little-endian.
GFN void mem_write(Core& c, u64 va, int size, u64 v) {
    if ((va & (PAGE_SZ - 1)) + size <= PAGE_SZ) {
        u8* p = mm_translate(c, va, PTE_W);
        if (p) store_le(p, size, v);
        return;
    }
    mem_write_cross(c, va, size, v);
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

/// Make the page of pc the current code page (c.code, c.code_ids). Returns false after
/// raising SIGBUS (pc not 4-aligned) or SIGSEGV (not mapped executable).
GFN_NOINLINE bool fetch_page(Core& c, u64 pc) {
    if (pc & 3) {  // PC alignment fault
        raise_signal(c, SIG_BUS, pc);
        return false;
    }
    u8* p = mm_translate(c, pc & ~(PAGE_SZ - 1), PTE_X);
    if (!p) return false;
    c.code = p;
    c.code_vpn = (pc >> PAGE_SHIFT) + 1;
    u64 f = (u64)(p - (u8*)(uintptr_t)c.m->frames) >> PAGE_SHIFT;
    c.code_ids = c.m->dcache && f < c.m->tmpl_frames ? (u16*)(uintptr_t)c.m->dcache + (f << (PAGE_SHIFT - 2)) : 0;
    return true;
}

// ---- bulk copies between guest memory and a flat buffer (syscall marshalling) -------

/// Copy n bytes from guest va to dst. Returns false (no signal raised) on a bad address.
GFN_NOINLINE bool copy_from_guest(Core& c, u8* dst, u64 va, u64 n) {
    while (n) {
        u64 chunk = PAGE_SZ - (va & (PAGE_SZ - 1));
        if (chunk > n) chunk = n;
        u8* p = mm_fault_in(c, va, PTE_R);
        if (!p) return false;
        rt_memcpy(dst, p + (va & (PAGE_SZ - 1)), chunk);
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
        u8* p = mm_fault_in(c, va, PTE_W);
        if (!p) { ok = false; break; }
        rt_memcpy(p + (va & (PAGE_SZ - 1)), src, chunk);
        src += chunk; va += chunk; n -= chunk;
    }
    tlb_flush(c);  // COW may have moved pages
    return ok;
}

/// Copy a NUL-terminated string (at most max bytes including the NUL). Returns its
/// length without the NUL, -1 on a bad address, -2 when too long.
GFN_NOINLINE i64 copy_str_from_guest(Core& c, u8* dst, u64 va, u64 max) {
    for (u64 i = 0; i < max; i++) {
        u8* p = mm_fault_in(c, va + i, PTE_R);
        if (!p) return -1;
        u8 b = p[(va + i) & (PAGE_SZ - 1)];
        dst[i] = b;
        if (b == 0) return (i64)i;
    }
    return -2;
}

// ---- mapping ranges (mmap, munmap, mprotect, brk, loader) -------------------------------

/// Reserve [va, va+len) as lazily allocated anonymous memory with permissions `perm`,
/// replacing whatever was mapped there. Returns false when out of frames.
GFN_NOINLINE bool mm_map_lazy(Core& c, u64 va, u64 len, u64 perm) {
    NO_UNROLL for (u64 a = va; a < va + len; a += PAGE_SZ) {
        u64* e = pt_walk(c.m, c.p->pt_root, a, true, &c.p->frames_private);
        if (!e) return false;
        if (*e & PTE_P) frame_unref(c.m, PTE_FRAME(*e));
        *e = PTE_LAZY | (perm & PTE_PERM);
    }
    tlb_flush(c);
    return true;
}

/// Remove the mappings of [va, va+len).
GFN_NOINLINE void mm_unmap(Core& c, u64 va, u64 len) {
    NO_UNROLL for (u64 a = va; a < va + len; a += PAGE_SZ) {
        u64* e = pt_walk(c.m, c.p->pt_root, a, false, 0);
        if (!e) continue;
        if (*e & PTE_P) {
            u64 f = PTE_FRAME(*e);
            if (!frame_immortal(c.m, f) && load_relaxed_u32(frame_refcnt(c.m, f)) == 1) c.p->frames_private--;
            frame_unref(c.m, f);
        }
        *e = 0;
    }
    tlb_flush(c);
}

/// Change the permissions of mapped pages in [va, va+len). Returns false if some page in
/// the range is not mapped (mprotect's ENOMEM).
GFN_NOINLINE bool mm_protect(Core& c, u64 va, u64 len, u64 perm) {
    bool all = true;
    NO_UNROLL for (u64 a = va; a < va + len; a += PAGE_SZ) {
        u64* e = pt_walk(c.m, c.p->pt_root, a, false, 0);
        if (!e || !(*e & (PTE_P | PTE_LAZY))) { all = false; continue; }
        *e = (*e & ~PTE_PERM) | (perm & PTE_PERM);
    }
    tlb_flush(c);
    return all;
}

/// madvise(MADV_DONTNEED): drop the frames; the next touch sees zeros.
GFN_NOINLINE void mm_discard(Core& c, u64 va, u64 len) {
    NO_UNROLL for (u64 a = va; a < va + len; a += PAGE_SZ) {
        u64* e = pt_walk(c.m, c.p->pt_root, a, false, 0);
        if (!e || !(*e & PTE_P)) continue;
        u64 perm = *e & PTE_PERM;
        u64 f = PTE_FRAME(*e);
        if (!frame_immortal(c.m, f) && load_relaxed_u32(frame_refcnt(c.m, f)) == 1) c.p->frames_private--;
        frame_unref(c.m, f);
        *e = PTE_LAZY | perm;
    }
    tlb_flush(c);
}

/// True when every page of [va, va+len) is unmapped.
GFN_NOINLINE bool mm_range_free(Core& c, u64 va, u64 len) {
    NO_UNROLL for (u64 a = va; a < va + len; a += PAGE_SZ) {
        u64* e = pt_walk(c.m, c.p->pt_root, a, false, 0);
        if (e && (*e & (PTE_P | PTE_LAZY))) return false;
    }
    return true;
}
