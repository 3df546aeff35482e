// Write-back of MAP_SHARED file mappings (mmap(2), msync(2)): the pages a process wrote
// through a shared mapping reach the file on msync (MS_SYNC or MS_ASYNC), munmap, a
// MAP_FIXED or mremap that replaces them, execve, and the process's end (exit,
// exit_group, a fatal signal), before its parent can see it ended.
//
// A shared mapping's pages are the page cache's frames of the file's *shared identity*
// (host/mapfile.rs: one per file, kept across gpuos's own write-backs, new when the file
// changed otherwise), installed with PTE_SHARED: every process and lane that maps the
// file shared writes the same frame, so they see each other's writes at once. A
// writable page starts clean (PTE_COW); its first write sets PTE_DIRTY (mm.h,
// mm_fault_in). Write-back walks the range's page tables for dirty shared pages, finds
// each one's (identity, page) through the cache's reverse entry (PCACHE_RMAP | frame),
// copies runs of consecutive file pages into the lane's buffer, marks them clean and
// posts `gpuos_file_write(id, page, bytes)`, which the host pwrites to the file (only
// what lies within the file's current size: a mapping never extends its file).
//
// The calls that write back first (msync, munmap, mmap with MAP_FIXED, mremap,
// execve) post the writes while the process waits, then run their SVC again, which finds
// nothing dirty and goes on. A process's end keeps its address space until the
// scheduler has written it back (kernel/sched.h, `sched_end`).
#pragma once
#include "marshal.h"
#include "mm_sys.h"
#include "../mm/pcache.h"

/// Write back the next run of dirty shared pages of [p->wb_lo, p->wb_hi) of c's address
/// space (c.p the process whose lane posts): copy it into the lane's buffer, mark its
/// pages clean and post the write (`wait`: the process waits; false for an ended
/// process, whose status stays). False when no dirty page is left.
GFN_NOINLINE bool wb_post(Core& c, bool wait) {
    MachineHdr* m = c.m;
    Proc* p = c.p;
    Proc* g = c.mm;
    u8* buf = lane_buf(c);
    u64 room = (m->buf_size >> PAGE_SHIFT) - 1;  // a page of the buffer kept for the answer
    if (!room) room = 1;
    u64 n = 0, id = 0, page0 = 0, va0 = 0;
    u64 a = p->wb_lo, end = p->wb_hi < WB_ALL ? p->wb_hi : WB_ALL;
    NO_UNROLL while (a < end && n < room) {
        int level = 3;
        bool ro;
        u64* e = pt_lookup(m, g->pt_root, a, &level, &ro);
        u64 span = 1ull << pt_span_shift(level);
        u64 next = (a & ~(span - 1)) + span;
        if (level == 3 && e && (*e & (PTE_P | PTE_SHARED | PTE_DIRTY)) == (PTE_P | PTE_SHARED | PTE_DIRTY)) {
            u64 f = PTE_FRAME(*e);
            u64 key = pcache_find(m, PCACHE_RMAP | f);
            if (key != NO_FRAME) {
                u64 fid = key >> 32, fp = key & 0xffffffffull;
                // A run is consecutive pages of one file at consecutive addresses.
                if (n && (fid != id || fp != page0 + n || a != va0 + (n << PAGE_SHIFT))) break;
                if (!n) { id = fid; page0 = fp; va0 = a; }
                rt_memcpy(buf + (n << PAGE_SHIFT), frame_ptr(m, f), PAGE_SZ);  // cache frames are contiguous
                n++;
            }
            // Clean: the next write faults. In a leaf table shared since a fork (PTE_TSHARED)
            // the entry stays dirty: the page is written back again the next time.
            if (!ro) *e = (*e & ~PTE_DIRTY) | ((*e & PTE_W) ? PTE_COW : 0);
        }
        a = next;
    }
    p->wb_lo = a;
    if (!n) return false;
    tlb_flush(c);  // the cleaned pages' entries lose write permission
    u64 in = n << PAGE_SHIFT;
    u64 args[6] = {id, page0, 1, in, 0, 0};
    sys_publish(c, SYS_gpuos_file_write, SYSREQ_CALL | (p->strace ? SYSREQ_QUIET : 0), args, 0, in, in,
                m->buf_size - in, now_ns(), wait);
    return true;
}

/// Before a call that drops or replaces the mappings of [lo, hi) (or ends the address
/// space): when c's address space has held shared file mappings, post the write-back of
/// the range's dirty pages and return true; the call's SVC runs again once they are
/// written (`wb_complete`). False when nothing is dirty: the call goes on.
GFN_NOINLINE bool wb_begin(Core& c, u64 lo, u64 hi) {
    if (!c.mm->shm_mapped || lo >= hi) return false;
    Proc* p = c.p;
    p->wb_lo = lo;
    p->wb_hi = hi;
    p->wb_x0 = c.s.x[0];
    return wb_post(c, true);
}

/// The lane's write-back request is answered with `ret` (the bytes the host wrote, or an
/// error): the bytes of its run past the file's end, which the host did not write, read
/// as zeros from now on, as Linux zeroes the tail of a page straddling the end of the
/// file each time it writes it back.
GFN_NOINLINE void wb_done(Core& c, i64 ret) {
    const SysReq* r = lane_req(c);
    u64 id = *(volatile u64*)&r->args[0], page0 = *(volatile u64*)&r->args[1];
    u64 bytes = *(volatile u64*)&r->args[3];
    if (ret < 0 || (u64)ret >= bytes) return;
    NO_UNROLL for (u64 off = (u64)ret & ~(PAGE_SZ - 1); off < bytes; off += PAGE_SZ) {
        u64 f = pcache_find(c.m, pcache_key(id, page0 + (off >> PAGE_SHIFT)));
        u64 from = (u64)ret > off ? (u64)ret - off : 0;
        if (f != NO_FRAME) rt_memset(frame_ptr(c.m, f) + from, 0, PAGE_SZ - from);
    }
}

/// A write-back request completed (X0 = its result): keep the first error for msync,
/// post the next run, or, when none is left, run the waiting SVC again.
GFN_NOINLINE void wb_complete(Core& c) {
    Proc* p = c.p;
    if ((i64)c.s.x[0] < 0 && !p->wb_err) p->wb_err = (i64)c.s.x[0];
    wb_done(c, (i64)c.s.x[0]);
    if (wb_post(c, true)) return;
    setX(c, 0, p->wb_x0);
    c.s.pc -= 4;
}
