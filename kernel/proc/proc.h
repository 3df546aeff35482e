// Process life cycle on the device: start a lane from the image template, end it.
#pragma once
#include "../mm/mm.h"

/// Load a process's state into a Core for execution.
GFN void core_load(Core& c, MachineHdr* m, Proc* p) {
    c.s = p->cpu;
    c.m = m;
    c.p = p;
    c.mm = (Proc*)(uintptr_t)m->procs + p->tg_slot;
    c.exc = EXC_NONE;
    c.sig = 0;
    c.fault_addr = 0;
    c.sig_entered = 0;
    c.user = 0;
    tlb_flush(c);
}
GFN void core_save(Core& c) { c.p->cpu = c.s; }

/// The process in slot s.
GFN Proc* proc_at(MachineHdr* m, u32 s) { return (Proc*)(uintptr_t)m->procs + s; }
/// The first process of the lane that runs p: it holds the lane's per-request fields.
GFN Proc* lane_proc(MachineHdr* m, Proc* p) { return proc_at(m, p->lane); }
/// The thread group's leader of p.
GFN Proc* proc_leader(MachineHdr* m, Proc* p) { return proc_at(m, p->tg_slot); }

// The ends of processes and of thread groups (proc_end, proc_exit, proc_kill) work on
// the family: kernel/proc/thread.h, which needs the functions above.
#include "thread.h"

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
    p->tg_slot = lane;
    p->tg_threads = 1;
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
    rt_memcpy(p->comm, m->comm, sizeof(p->comm));  // the program file's name
    Core c;
    core_load(c, m, p);
    c.pc = m->entry;
    c.insn = 0;
    u64 root = pt_clone(m, m->tmpl_root, p);
    p->pt_root = root;
    p->fmaps = m->tmpl_nfmaps ? FMAPS_TEMPLATE : 0;  // the template's file ranges, shared
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
