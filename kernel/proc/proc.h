// Process life cycle on the device: start a lane from the image template, end it.
#pragma once
#include "../mm/mm.h"

/// Load a process's state into a Core for execution.
GFN void core_load(Core& c, MachineHdr* m, Proc* p) {
    c.s = p->cpu;
    c.m = m;
    c.p = p;
    c.exc = EXC_NONE;
    c.sig = 0;
    c.fault_addr = 0;
    c.sig_entered = 0;
    tlb_flush(c);
}
GFN void core_save(Core& c) { c.p->cpu = c.s; }

/// Release the process's memory. On the host (the CPU backend, which the tests run),
/// the frames released and the pages unmapped must be exactly what `frames_private` and
/// `vm_pages` counted (the resident and address-space limits rest on them); a
/// difference is gpuos's bug (PANIC_ACCOUNT).
GFN_NOINLINE void proc_release(Core& c) {
    Proc* p = c.p;
    if (p->pt_root != NO_FRAME) {
        u64 frames = p->frames_private, pages = 0;
        FreeBatch b;
        b.n = 0;
        pt_free_tree(c.m, p->pt_root, 0, b, p, &pages);
        free_batch_flush(c.m, b);
#ifndef __CUDA_ARCH__
        if (p->frames_private != 0 || pages != p->vm_pages) gpuos_panic(c.m, PANIC_ACCOUNT, p->frames_private);
#endif
        p->frames_private = frames;  // the last count, for the report
    }
    p->pt_root = NO_FRAME;
    tlb_flush(c);
}

/// Mark the process ended (its status already set) and free its memory; the rest
/// (telling the host, its parent and children, counting it out of `live`) is left to
/// the lane's family scheduler (kernel/sched.h, `sched_end`), which runs outside
/// the interpreter.
GFN void proc_end(Core& c) {
    c.p->end_pending = 1;
    c.exc = EXC_EXIT;
    proc_release(c);
}

/// exit_group: end the process with status code.
GFN void proc_exit(Core& c, i32 code) {
    c.p->exit_code = code;
    c.p->status = PROC_EXITED;
    proc_end(c);
}

/// Terminate the process by signal sig (default action), remembering where.
GFN void proc_kill(Core& c, i32 sig, u64 addr) {
    c.p->signal = sig;
    c.p->fault_pc = c.pc;
    c.p->fault_addr = addr;
    c.p->fault_insn = c.insn;
    c.p->status = PROC_KILLED;
    proc_end(c);
}

/// The process in slot s.
GFN Proc* proc_at(MachineHdr* m, u32 s) { return (Proc*)(uintptr_t)m->procs + s; }
/// The first process of the lane that runs p: it holds the lane's per-request fields.
GFN Proc* lane_proc(MachineHdr* m, Proc* p) { return proc_at(m, p->lane); }

/// The first word of a lane's start image that is a load plan (a job of another program
/// than the template's, `gpuos run --jobs`) rather than a stack image: "GPUOSPLN".
#define START_PLAN_MAGIC 0x4e4c50534f555047ull
/// `Proc::fm_seg` of a first process whose load plan is still to be mapped
/// (kernel/sys/exec_image.h, `exec_start`).
#define EXEC_START (~0ull - 1)

/// Start process `lane`: clone the template's page tables, copy in the initial stack
/// image (argv, envp, auxv, built by the host so that it ends at stack_top), set SP and
/// PC. Returns false when out of frames (the process is then killed with SIGKILL).
GFN_NOINLINE bool proc_start(MachineHdr* m, u32 lane) {
    Proc* p = (Proc*)(uintptr_t)m->procs + lane;
    rt_memset(p, 0, sizeof(Proc));
    p->lane = lane;
    p->slot = lane;
    p->parent = NO_SLOT;
    p->fam_next = p->fam_prev = lane;  // a family of one
    p->fam_cur = lane;
    p->kids = NO_SLOT;
    p->pid = 1000 + lane;
    p->ppid = 1;
    p->strace = m->strace;
    p->max_insns = m->max_insns;
    p->brk_start = p->brk_cur = m->brk_start;
    p->mmap_top = m->mmap_top;
    p->mmap_floor = m->brk_start + (1ull << 30);  // keep 1 GiB for the heap
    p->pt_root = NO_FRAME;
    p->rss_limit = m->rss_limit;
    p->as_limit = p->as_limit_max = m->as_limit ? m->as_limit : ~0ull;
    const char name[] = "gpuos-guest";
    for (int i = 0; i < (int)sizeof(name); i++) p->comm[i] = (u8)name[i];
    Core c;
    core_load(c, m, p);
    c.pc = m->entry;
    c.insn = 0;
    u64 root = pt_clone(m, m->tmpl_root, p);
    p->pt_root = root;
    if (root == NO_FRAME) {
        p->signal = SIG_KILL;
        p->kill_cause = p->oom;
        p->status = PROC_KILLED;
        atomic_add_u64(&m->live, ~0ull);
        return false;
    }
    u64 k = lane % m->nstacks;
    const u64* offs = (const u64*)(uintptr_t)m->stack_offs;
    u64 len = offs[k + 1] - offs[k];
    const u8* start = (const u8*)(uintptr_t)m->stacks + offs[k];
    if (len >= 8 && load_le(start, 8) == START_PLAN_MAGIC) {
        // Another program: the scheduler maps its plan when the lane first runs.
        p->fm_seg = EXEC_START;
        p->status = PROC_RUNNABLE;
        core_save(c);
        return true;
    }
    u64 sp = m->stack_top - len;
    if (!copy_to_guest(c, sp, start, len)) {
        p->kill_cause = p->oom;
        proc_kill(c, SIG_KILL, sp);
        return false;
    }
    c.s.x[31] = sp;
    c.s.pc = m->entry;
    p->status = PROC_RUNNABLE;
    core_save(c);
    return true;
}
