// mmap(2) of a file, through the page cache (kernel/mm/pcache.h).
//
// The call takes several host requests, as a large read does (Proc::fm_* keep its
// progress; the process waits, PROC_WAIT_HOST, its family runs on):
//  1. `gpuos_file_map(fd, prot, flags)`: the host checks the descriptor (EBADF, EACCES,
//     ENODEV, as mmap(2)) and names the file's version (an identity, host/mapfile.rs)
//     and its size. Nothing is mapped before, so a refused call changes nothing.
//  2. The mapping is placed and reserved as an anonymous one is (mmap_place), then each
//     page that holds file bytes gets the page cache's frame for it; runs of pages the
//     cache lacks are read with `gpuos_file_read(id, page, n)` (up to a request
//     buffer's worth), put into fresh frames (the bytes past the end of the file
//     zeroed) and cached for every other process and lane.
// A page wholly past the end of the file raises SIGBUS when touched, as on Linux
// (PTE_BUS). MAP_PRIVATE pages that may be written are copy-on-write
// (the cache's frame is shared), so the file and the other mappings never see the
// writes. MAP_SHARED mappings get the frames of the file's *shared* identity (the host
// names one per file, kept across gpuos's own write-backs), one frame per page for every
// process and lane that maps the file shared, written in place (PTE_SHARED) and
// written back to the file (kernel/sys/mm_shared.h).
#pragma once
#include "marshal.h"
#include "../mm/pcache.h"

/// The mapping in progress is MAP_SHARED (of a file's shared identity, kernel/sys/mm_shared.h).
GFN bool mmap_file_shared(Proc* p) { return (p->fm_args[3] & MAP_SHARED) != 0 && !p->fm_plan_off; }

/// Finish the mmap with ret (the address or an error) and log it under --strace; for an
/// execve's segment, keep ret in `fm_addr` for the plan's loop (kernel/sys/exec_image.h).
/// A mapping made names its file over its whole length (fmap.h), the pages past the end
/// of the file too, as Linux's VMA covers them.
GFN_NOINLINE void mmap_file_finish(Core& c, u64 ret) {
    Proc* p = c.p;
    if ((i64)ret >= 0)
        fmap_add(c, ret, ret + page_up(p->fm_args[1]), p->fm_args[5], (u32)p->fm_file,
                 mmap_file_shared(p) ? FMAP_SHARED : 0);
    p->fm_file = 0;
    if (p->fm_plan_off) { p->fm_addr = ret; return; }
    setX(c, 0, ret);
    if (p->strace) sys_post_host(c, SYS_mmap, SYSREQ_LOG, p->fm_args, ret);
}

/// Post one of the file mapping's host requests, answered at `fm_out_off` of the
/// lane's buffer (quiet under --strace: the mmap is logged once, when it ends).
GFN void mmap_file_post(Core& c, u64 nr, u64 a0, u64 a1, u64 a2) {
    u64 a[6] = {a0, a1, a2, 0, 0, 0};
    u64 off = c.p->fm_out_off;
    sys_publish(c, nr, SYSREQ_CALL | (c.p->strace ? SYSREQ_QUIET : 0), a, 0, 0, off, c.m->buf_size - off, now_ns(), true);
}

/// The file page shown at page i of the mapping in progress, or ~0 when that page is
/// wholly past the end of the file.
GFN u64 mmap_file_page(Proc* p, u64 i) {
    u64 fp = (p->fm_args[5] >> PAGE_SHIFT) + i;
    return fp < page_up(p->fm_size) >> PAGE_SHIFT ? fp : ~0ull;
}

/// Map frame f at va (a lazy page of the reservation) for the mapping in progress,
/// taking a reference to it: read-only or shared as asked, copy-on-write when private
/// and writable. False when a table or the resident limit is wanting.
GFN_NOINLINE bool mmap_file_install(Core& c, u64 va, u64 f) {
    Proc* p = c.p;
    Proc* g = c.mm;
    if (rss_full(g)) return false;
    u64* e = pt_walk(c.m, g->pt_root, va, true, g);
    if (!e) return false;
    u64 perm = prot_to_pte(p->fm_args[2]);
    atomic_add_u32(frame_refcnt(c.m, f), 1);
    rss_charge(c.m, g, f);
    // Private: copy-on-write. Shared: written in place, COW meaning "clean" (mm.h).
    u64 shared = mmap_file_shared(p) ? PTE_SHARED : 0;
    pte_publish(g, e, (f << 12) | PTE_P | perm | shared | ((perm & PTE_W) ? PTE_COW : 0));
    return true;
}

/// Give page i of the mapping frame f, freshly read (reference count 1): cache it for
/// everyone (or take the frame another lane cached first), then map it. False as
/// mmap_file_install.
GFN_NOINLINE bool mmap_file_fresh(Core& c, u64 i, u64 f) {
    Proc* p = c.p;
    u64 key = pcache_key(p->fm_file, mmap_file_page(p, i));
    // A private mapping's page is a file version's, immutable (pcache_adopt marks it);
    // a shared one's is written in place.
    bool shared = mmap_file_shared(p);
    u64 cached = shared ? pcache_insert(c.m, key, f) : pcache_adopt(c.m, key, f);
    if (shared && cached == f) atomic_add_u64(&c.m->pcache_frames, 1);
    if (shared) {
        // A shared mapping's page must be the one frame every mapper writes, and its
        // write-back must find the page it holds (the reverse entry): without room in
        // the cache for both, the mapping cannot be made.
        if (cached == NO_FRAME || (cached == f && pcache_insert(c.m, PCACHE_RMAP | f, key) != key)) {
            if (cached == NO_FRAME) frame_unref(c.m, f);
            return false;
        }
    }
    u64 use = cached == NO_FRAME ? f : cached;
    bool ok = mmap_file_install(c, p->fm_addr + (i << PAGE_SHIFT), use);
    if (use != f || cached == NO_FRAME) frame_unref(c.m, f);  // not the cache's: ours goes
    return ok;
}

/// Go on filling the mapping from page fm_next: map the cached pages, and post a read
/// for the next run of pages the cache lacks; finish when every file page is mapped.
GFN_NOINLINE void mmap_file_fill(Core& c) {
    Proc* p = c.p;
    u64 n = page_up(p->fm_args[1]) >> PAGE_SHIFT;
    u64 room = (c.m->buf_size - p->fm_out_off) >> PAGE_SHIFT;
    NO_UNROLL for (; p->fm_next < n; p->fm_next++) {
        u64 fp = mmap_file_page(p, p->fm_next);
        if (fp == ~0ull) {  // the rest is past the end of the file: SIGBUS on touch
            u64 at = p->fm_addr + (p->fm_next << PAGE_SHIFT);
            if (!mm_map_lazy(c, at, (n - p->fm_next) << PAGE_SHIFT, prot_to_pte(p->fm_args[2]) | PTE_BUS)) {
                mm_unmap(c, p->fm_addr, n << PAGE_SHIFT);
                mmap_file_finish(c, err(E_NOMEM));
                return;
            }
            break;
        }
        u64 f = pcache_find(c.m, pcache_key(p->fm_file, fp));
        if (f == NO_FRAME) {
            u64 run = 1;
            NO_UNROLL while (run < room && p->fm_next + run < n && mmap_file_page(p, p->fm_next + run) != ~0ull &&
                             pcache_find(c.m, pcache_key(p->fm_file, fp + run)) == NO_FRAME)
                run++;
            mmap_file_post(c, SYS_gpuos_file_read, p->fm_file, fp, run);
            return;
        }
        if (!mmap_file_install(c, p->fm_addr + (p->fm_next << PAGE_SHIFT), f)) {
            mm_unmap(c, p->fm_addr, n << PAGE_SHIFT);
            mmap_file_finish(c, err(E_NOMEM));
            return;
        }
    }
    tlb_drop_range(c, p->fm_addr, n << PAGE_SHIFT);  // the mapping's pages only
    mmap_file_finish(c, p->fm_addr);
}

/// The pages read for the mapping (`got` bytes in `data`, from page fm_next on): fresh
/// frames, cached and mapped. False when no frame is to be had.
GFN_NOINLINE bool mmap_file_take(Core& c, const u8* data, u64 got) {
    Proc* p = c.p;
    NO_UNROLL for (u64 off = 0; off < got; off += PAGE_SZ, p->fm_next++) {
        u64 f = frame_alloc(c.m);  // zeroed: bytes past the end of the file read as 0
        if (f == NO_FRAME) return false;
        rt_memcpy(frame_ptr(c.m, f), data + off, got - off < PAGE_SZ ? got - off : PAGE_SZ);
        if (!mmap_file_fresh(c, p->fm_next, f)) return false;
    }
    return true;
}

GFN DevRead* devread_slot(Core& c, u64 fd);  // kernel/sys/devread.h

/// The mapping in progress is of file identity `id` of `size` bytes: place it and fill
/// it (as `gpuos_file_map`'s answer, or the device's own record of the descriptor).
GFN_NOINLINE void mmap_file_known(Core& c, u64 id, u64 size) {
    Proc* p = c.p;
    u64 flags = p->fm_args[3];
    if (flags & MAP_SHARED) c.mm->shm_mapped = 1;  // write-back looks for dirty pages now
    p->fm_file = id;
    p->fm_size = size;
    u64 a = mmap_place(c, p->fm_args[0], page_up(p->fm_args[1]), flags, prot_to_pte(p->fm_args[2]));
    if ((i64)a < 0) { mmap_file_finish(c, a); return; }
    p->fm_addr = a;
    mmap_file_fill(c);
}

/// mmap(2) with a file (the arguments checked as for any mapping): keep the arguments
/// and ask the host about the file, unless the device reads the descriptor (a regular
/// file of the sysroot open for reading only, kernel/sys/devread.h): a private mapping
/// of it needs no question, the device knows the file's identity and size, and every
/// answer the host would give (EBADF, EACCES, ENODEV) is for other descriptors or
/// shared mappings.
GFN_NOINLINE void mmap_file_start(Core& c) {
    Proc* p = c.p;
    for (int i = 0; i < 6; i++) p->fm_args[i] = c.s.x[i];
    p->fm_file = 0;
    p->fm_next = 0;
    p->fm_out_off = 0;
    p->fm_plan_off = 0;
    DevRead* s = devread_slot(c, X(c, 4));
    if (s && s->file && !s->dir && !(X(c, 3) & MAP_SHARED)) {
        mmap_file_known(c, s->file, s->size);
        return;
    }
    mmap_file_post(c, SYS_gpuos_file_map, X(c, 4), X(c, 2), X(c, 3));
}

/// A host request of the mapping in progress completed with X0 = its result (after
/// sys_complete_host): place the mapping once the file is known, take the pages read,
/// and go on.
GFN_NOINLINE void mmap_file_complete(Core& c, u64 nr) {
    Proc* p = c.p;
    i64 ret = (i64)c.s.x[0];
    const u8* out = lane_buf(c) + lane_proc(c.m, p)->req_out_off;
    if (nr == SYS_gpuos_file_read && ret == 0) {  // the file shrank since: zeros from here
        tlb_drop_range(c, p->fm_addr, page_up(p->fm_args[1]));  // the mapping's pages only
        mmap_file_finish(c, p->fm_addr);
        return;
    }
    if (ret < 0) {
        if (nr == SYS_gpuos_file_read) mm_unmap(c, p->fm_addr, page_up(p->fm_args[1]));
        mmap_file_finish(c, (u64)ret);
        return;
    }
    if (nr == SYS_gpuos_file_map) {
        mmap_file_known(c, (u64)ret, load_le(out, 8));
        return;
    }
    if (!mmap_file_take(c, out, (u64)ret)) {
        mm_unmap(c, p->fm_addr, page_up(p->fm_args[1]));
        mmap_file_finish(c, err(E_NOMEM));
        return;
    }
    mmap_file_fill(c);
}

#include "mm_shared.h"
#include "exec_image.h"
