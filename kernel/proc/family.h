// Process slots and families.
//
// The process table (`MachineHdr::procs`) holds `nslots` slots: slot l < nprocs is
// lane l's first process, the rest are a pool shared by every lane for forked
// children. A lane runs a *family*: its first process and all its descendants, linked
// into a circular list through `Proc::fam_next`, run in turn on the lane's one GPU
// thread (kernel/proc/sched.h). Only that thread touches the family's links, so they
// need no atomics; the pool of free slots is a lock-free stack shared by all lanes.
#pragma once
#include "proc.h"

/// The free-slot stack head's slot + 1 (0: empty) and change counter.
GFN u32 slot_head_top(u64 h) { return (u32)h; }

/// Take a free child slot; NO_SLOT when the pool is exhausted (fork then fails with
/// EAGAIN, as Linux does at RLIMIT_NPROC).
GFN_NOINLINE u32 slot_alloc(MachineHdr* m) {
    for (;;) {
        u64 old = load_relaxed_u64(&m->slot_free);
        u32 top = slot_head_top(old);
        if (top == 0) break;
        u32 next = *(volatile u32*)&proc_at(m, top - 1)->fam_next;
        u64 head = (((old >> 32) + 1) << 32) | next;
        if (atomic_cas_u64_dev(&m->slot_free, old, head) == old) return top - 1;
    }
    if (load_relaxed_u64(&m->slot_bump) >= m->nslots) return NO_SLOT;
    u64 s = atomic_add_u64(&m->slot_bump, 1);
    return s < m->nslots ? (u32)s : NO_SLOT;
}

/// Return child slot s to the pool (its process has been reaped).
GFN_NOINLINE void slot_free(MachineHdr* m, u32 s) {
    Proc* p = proc_at(m, s);
    p->status = PROC_FREE;
    for (;;) {
        u64 old = load_relaxed_u64(&m->slot_free);
        *(volatile u32*)&p->fam_next = slot_head_top(old);
        atomic_fence_dev();  // release: the link is visible before the head names it
        u64 head = (((old >> 32) + 1) << 32) | (u64)(s + 1);
        if (atomic_cas_u64_dev(&m->slot_free, old, head) == old) return;
    }
}

/// True when p has ended (exited or killed).
GFN bool proc_ended(const Proc* p) { return p->status == PROC_EXITED || p->status == PROC_KILLED; }

/// The member before q in its family's circular list.
GFN_NOINLINE Proc* fam_prev(MachineHdr* m, Proc* q) {
    Proc* prev = q;
    NO_UNROLL for (u64 i = 0; i < m->nslots; i++) {
        Proc* n = proc_at(m, prev->fam_next);
        if (n == q) return prev;
        prev = n;
    }
    return q;  // a broken list: unreachable
}

/// Take ended child q out of the family `lp` leads and free its slot; its instructions
/// count to the lane.
GFN_NOINLINE void fam_release(MachineHdr* m, Proc* lp, Proc* q) {
    Proc* prev = fam_prev(m, q);
    prev->fam_next = q->fam_next;
    if (lp->fam_cur == q->slot) lp->fam_cur = q->fam_next;
    lp->family_insns += q->insns;
    slot_free(m, q->slot);
}

/// Insert child into parent's family, after the parent.
GFN void fam_insert(Proc* parent, Proc* child) {
    child->fam_next = parent->fam_next;
    parent->fam_next = child->slot;
}

/// The Linux wait status of an ended process (wait4(2): exit code << 8, or the signal).
GFN u32 proc_wait_status(const Proc* p) {
    return p->status == PROC_EXITED ? ((u32)p->exit_code & 0xff) << 8 : ((u32)p->signal & 0x7f);
}
