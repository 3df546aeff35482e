// execve(2) of a program other than the run's own image: the device maps it from the
// load plan the host made (src/host/exec.rs, `ExecPlan`), segment by segment, through
// the page cache (mm_file.h), as Linux's load_elf_binary maps PT_LOADs with
// vm_mmap(MAP_PRIVATE | MAP_FIXED). So processes of different programs share nothing
// but the file pages they map in common, and 10,000 lanes exec'ing `sort` read its pages
// from the host once.
//
// The plan, in the output area of the execve request (u64 words): the segment count,
// the entry point, the initial break, the stack image's length, the top of the mmap
// area (below a dynamic program's interpreter); then per segment
// EXEC_SEG_WORDS words (below); then the stack image (argv, envp, auxv, built by the
// host's loader so that it ends at the stack top). The plan stays in the lane's buffer
// while the segments are mapped; their page reads are answered after it (`fm_out_off`).
#pragma once
#include "mm_file.h"

#define EXEC_PLAN_HDR 5u
#define EXEC_SEG_WORDS 8u
#define EXEC_MAX_SEGS 64u
// Per segment: the file's identity and size, the first page, the end of the file-backed
// pages, the file offset of the first page, PROT_* bits, where the file's bytes end
// (zeros follow to the end of that page when memory continues) and the end of memory.
enum { SEG_FILE, SEG_SIZE, SEG_START, SEG_FILE_END, SEG_OFFSET, SEG_PROT, SEG_ZERO_FROM, SEG_END };
/// `Proc::fm_seg` before the first segment.
#define EXEC_FIRST ~0ull

GFN const u64* exec_plan(Core& c) { return (const u64*)(lane_buf(c) + c.p->fm_plan_off); }
GFN const u64* exec_seg(Core& c, u64 i) { return exec_plan(c) + EXEC_PLAN_HDR + i * EXEC_SEG_WORDS; }

/// Past the point of no return (the old image is gone), a failure kills the process, as
/// Linux's load_elf_binary does with SIGSEGV (SIGKILL when for want of memory).
GFN_NOINLINE void exec_kill(Core& c) {
    Proc* p = c.p;
    p->fm_plan_off = p->fm_out_off = 0;
    if (c.mm->oom) {
        p->kill_cause = c.mm->oom;
        proc_kill(c, SIG_KILL, 0);
    } else {
        proc_kill(c, SIG_SEGV, 0);
    }
}

/// What follows a segment's file pages: zeros from the end of its file bytes to the end
/// of that page when it is writable (fs/binfmt_elf.c padzero), and its .bss pages, lazy.
GFN_NOINLINE bool exec_segment_rest(Core& c, const u64* s) {
    u64 zero = s[SEG_ZERO_FROM], fend = s[SEG_FILE_END], end = s[SEG_END];
    u64 perm = prot_to_pte(s[SEG_PROT]);
    if (end > zero && (zero & (PAGE_SZ - 1)) && zero < fend && (perm & PTE_W)) {
        u8 zeros[256];
        rt_memset(zeros, 0, sizeof zeros);
        NO_UNROLL for (u64 a = zero; a < fend; a += sizeof zeros) {
            u64 n = fend - a < sizeof zeros ? fend - a : sizeof zeros;
            if (!copy_to_guest(c, a, zeros, n)) return false;
        }
    }
    return end <= fend || mm_map_lazy(c, fend, end - fend, perm);
}

/// Every segment is mapped: the new program starts (X0 = 0, as Linux starts it: the
/// host requests of the mapping left their results there).
GFN void exec_finish(Core& c) {
    Proc* p = c.p;
    p->fm_plan_off = p->fm_out_off = 0;
    c.s.x[0] = 0;
    tlb_flush(c);
}

/// Map the plan's segments from `fm_seg` on (`EXEC_FIRST`: from the first; otherwise the
/// segment `fm_seg` has just been filled, `fm_addr` its result), until one waits for a
/// page read (posted: the process waits for the host) or every one is mapped.
GFN_NOINLINE void exec_map_segments(Core& c) {
    Proc* p = c.p;
    u64 nseg = exec_plan(c)[0];
    NO_UNROLL for (u64 guard = 0; guard <= EXEC_MAX_SEGS; guard++) {
        if (p->fm_seg == EXEC_FIRST) {
            p->fm_seg = 0;
        } else {
            if ((i64)p->fm_addr < 0 || !exec_segment_rest(c, exec_seg(c, p->fm_seg))) { exec_kill(c); return; }
            p->fm_seg++;
        }
        if (p->fm_seg >= nseg) { exec_finish(c); return; }
        const u64* s = exec_seg(c, p->fm_seg);
        u64 start = s[SEG_START], len = s[SEG_FILE_END] - start;
        p->fm_addr = start;
        if (!len) continue;  // no file bytes: only .bss
        u64 a[6] = {start, len, s[SEG_PROT], MAP_PRIVATE | MAP_FIXED, 0, s[SEG_OFFSET]};
        for (int i = 0; i < 6; i++) p->fm_args[i] = a[i];
        p->fm_file = s[SEG_FILE];
        p->fm_size = s[SEG_SIZE];
        p->fm_next = 0;
        p->fm_addr = mmap_place(c, start, len, MAP_PRIVATE | MAP_FIXED, prot_to_pte(s[SEG_PROT]));
        if ((i64)p->fm_addr < 0) continue;
        mmap_file_fill(c);
        if (p->status == PROC_WAIT_HOST) return;
    }
    exec_kill(c);  // more segments than a plan holds: never from the host's loader
}

/// mmap_file_complete for a file mapping's request, then, in an execve, the next
/// segments once the current one is done.
GFN_NOINLINE void mmap_file_completed(Core& c, u64 nr) {
    mmap_file_complete(c, nr);
    if (c.p->fm_plan_off && c.p->status != PROC_WAIT_HOST && !c.p->end_pending) exec_map_segments(c);
}

/// Begin an execve of another program from its load plan, `len` bytes at `off` of the
/// lane's buffer (the host's answer to an execve, or a job's start image). Past the checks, the old address space goes (a failure after
/// that kills the process); the new one gets the stack (reserved, the image copied in so
/// that it ends at the stack top), the signal trampoline page, the registers (SP, PC =
/// entry), default signal handlers (ignored ones stay ignored), brk and mmap
/// bookkeeping, as execve(2) says; then its segments are mapped. A vfork parent runs on.
GFN_NOINLINE bool exec_plan_begin(Core& c, u64 off, u64 len) {
    c.p->exe_other = 1;  // /proc/self/exe is another program's now (procfs.h)
    MachineHdr* m = c.m;
    Proc* p = c.p;
    const u64* w = (const u64*)(lane_buf(c) + off);
    u64 nseg = len >= EXEC_PLAN_HDR * 8 ? w[0] : 0, stack_len = len >= EXEC_PLAN_HDR * 8 ? w[3] : 0;
    u64 plan = (EXEC_PLAN_HDR + nseg * EXEC_SEG_WORDS) * 8;
    u64 root = frame_alloc(m);
    if (!nseg || nseg > EXEC_MAX_SEGS || plan + stack_len > len || stack_len > m->stack_size || root == NO_FRAME) {
        if (root != NO_FRAME) frame_unref(m, root);
        setX(c, 0, err(E_NOMEM));
        return false;
    }
    // The point of no return: the caller is the process's one thread from here.
    thread_exec_takeover(c);
    p = c.p;
    pt_free_all(m, p->pt_root);
    p->pt_root = root;
    p->shm_mapped = 0;
    fmap_free(m, p);  // the segments name their files as they are mapped
    p->frames_private = 1;
    p->frames_cached = 0;
    p->vm_pages = 0;
    tlb_flush(c);
    vfork_release(m, p);
    p->fm_plan_off = off;
    p->fm_out_off = (off + plan + 7) & ~7ull;
    p->fm_seg = EXEC_FIRST;
    p->oom = 0;
    rt_memset(&c.s, 0, sizeof(CpuState));
    c.pc = w[1];
    c.insn = 0;
    u64 sp = m->stack_top - stack_len;
    u64* tramp = pt_walk(m, m->tmpl_root, m->sigtramp, false, 0);
    u64* mine = tramp ? pt_walk(m, root, m->sigtramp, true, p) : 0;
    if (!mm_map_lazy(c, m->stack_top - m->stack_size, m->stack_size, PTE_R | PTE_W) || (tramp && !mine) ||
        !copy_to_guest(c, sp, (const u8*)w + plan, stack_len)) {
        exec_kill(c);
        return true;
    }
    if (mine) {
        *mine = *tramp;  // a template frame: immortal, shared by every process
        p->vm_pages++;
    }
    exec_new_state(c, sp, w[1], w[2], w[4] && w[4] < m->mmap_top ? w[4] : m->mmap_top);
    exec_map_segments(c);
    return true;
}

/// The host accepted an execve of another program (X0 = 1 from the host): its load plan
/// is in the output area.
GFN_NOINLINE void exec_plan_start(Core& c) {
    Proc* lp = lane_proc(c.m, c.p);
    u64 len = *(volatile u32*)&lane_req(c)->out_len;
    if (exec_plan_begin(c, lp->req_out_off, len < lp->req_out_cap ? len : lp->req_out_cap))
        comm_from_path(c.p, lane_buf(c), lp->req_out_off);  // the path the call gathered
}

/// A job's first process whose program is not the template's (`EXEC_START`, set by
/// proc_start): copy its start image's plan into the lane's buffer (after a first word
/// left free: a plan's offset is never 0) and map it as an execve would. A plan that
/// does not fit or cannot be begun kills the process with SIGKILL (the host made it to
/// fit: gpuos's bug, not the guest's).
GFN_NOINLINE void exec_start(Core& c) {
    MachineHdr* m = c.m;
    Proc* p = c.p;
    u64 k = p->lane % m->nstacks;
    const u64* offs = (const u64*)(uintptr_t)m->stack_offs;
    u64 len = offs[k + 1] - offs[k] - 8;
    p->fm_seg = 0;
    if (len + 8 > m->buf_size) {
        proc_kill(c, SIG_KILL, 0);
        return;
    }
    rt_memcpy(lane_buf(c) + 8, (const u8*)(uintptr_t)m->stacks + offs[k] + 8, len);
    if (!exec_plan_begin(c, 8, len)) proc_kill(c, SIG_KILL, 0);
}
