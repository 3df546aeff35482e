// Process slots and families.
//
// The process table (`MachineHdr::procs`) holds `nslots` slots: slot l < nprocs is
// lane l's first process, the rest are a pool shared by every lane for forked
// children. A lane runs a *family*: its first process and all its descendants, linked
// into a circular list through `Proc::fam_next`, run in turn on the lane's one GPU
// thread (kernel/sched.h). Each process also heads a list of its children (`kids`,
// `sib_next`, `sib_prev`), so fork, wait4, an end and a reap cost O(1) or O(children),
// never a walk of the whole family (16,384 children took 46 s with such walks;
// docs/BENCHMARKS.md). Only the lane's thread touches these links, so they need no
// atomics. The free slots are SLOT_SHARDS lock-free stacks shared by all lanes, lane n
// using stack n mod SLOT_SHARDS first, as the frame pool's lists (kernel/mm/mm.h): with
// one stack for the GPU, every spawn and every end of 8,192 lanes waited for the one
// compare-and-swap on its head (669,000 thread spawns/s on an H100, 711 us of device
// time each against 16 us at one lane).
#pragma once
#include "proc.h"

/// Head of free-slot stack `shard` (after the frame lists in `free_heads`).
GFN u64* slot_head(MachineHdr* m, u32 shard) { return free_head(m, (u32)(FREE_SHARDS + IL_GROUP) + shard); }

/// The free-slot stack this thread (a lane's) uses first (-DGPUOS_SLOT_ONE_STACK: stack
/// 0 for all, the former single stack, to measure against).
GFN u32 slot_shard() {
#ifdef GPUOS_SLOT_ONE_STACK
    return 0;
#else
    return frame_shard() & (u32)(SLOT_SHARDS - 1);
#endif
}

/// Pop a slot from free-slot stack `shard`; NO_SLOT when it is empty.
GFN_NOINLINE u32 slot_pop(MachineHdr* m, u32 shard) {
    u32 top = tstack_pop(slot_head(m, shard), [m](u32 s) { return &proc_at(m, s)->fam_next; });
    return top ? top - 1 : NO_SLOT;
}

/// Take a free child slot: from this lane's stack, else one never used, else from the
/// other stacks; NO_SLOT when the pool is exhausted (fork then fails with EAGAIN, as
/// Linux does at RLIMIT_NPROC).
GFN_NOINLINE u32 slot_alloc(MachineHdr* m) {
    u32 shard = slot_shard();
    u32 s = slot_pop(m, shard);
    if (s != NO_SLOT) return s;
    if (load_relaxed_u64(&m->slot_bump) < m->nslots) {
        u64 b = atomic_add_u64(&m->slot_bump, 1);
        if (b < m->nslots) return (u32)b;
    }
    NO_UNROLL for (u32 i = 1; s == NO_SLOT && i < SLOT_SHARDS; i++) s = slot_pop(m, (shard + i) & (u32)(SLOT_SHARDS - 1));
    return s;
}

/// A child slot for the family of lane lp (a fork, a vfork, a thread), or NO_SLOT: the
/// pool is exhausted, or it is nearly so (7/8 in use) and the family already holds its
/// fair share (the pool divided among the lanes, at least 4), so that the last slots
/// stay for lanes under theirs: one lane's fork bomb or thread storm cannot leave the
/// others without (as RLIMIT_NPROC bounds one user). fork and clone then fail with
/// EAGAIN. Slots a lane holds are counted in `Proc::slots_held` of its first process.
GFN_NOINLINE u32 slot_take(MachineHdr* m, Proc* lp) {
    u64 pool = m->nslots - m->nprocs;
    u64 fair = m->nprocs ? pool / m->nprocs : pool;
    if (fair < 4) fair = 4;
    if (lp->slots_held >= fair && load_relaxed_u64(&m->slots_used) * 8 >= pool * 7) return NO_SLOT;
    u32 s = slot_alloc(m);
    if (s == NO_SLOT) return NO_SLOT;
    lp->slots_held++;
    atomic_add_u64(&m->slots_used, 1);
    return s;
}

/// Return child slot s to the pool (the stack this lane uses first); its lane holds one slot fewer.
GFN_NOINLINE void slot_release(MachineHdr* m, u32 s) {
    Proc* p = proc_at(m, s);
    proc_at(m, p->lane)->slots_held--;
    atomic_add_u64(&m->slots_used, ~0ull);
    tstack_push(slot_head(m, slot_shard()), s, &p->fam_next);
}

/// Child slot s is free (its process has been reaped, or its thread ended): back to
/// the pool, or, while its lane has notes the host has not applied yet (which may name
/// the slot: kernel/sys/process.h `family_note`), onto the lane's deferred list
/// (`Proc::defer_free`), which `slot_free_deferred` empties once they are applied. A
/// slot another lane took at once could be forked into there before the host saw its
/// end here, and the late note would then end the wrong process's host state.
GFN_NOINLINE void slot_free(MachineHdr* m, u32 s) {
    Proc* p = proc_at(m, s);
    Proc* lp = proc_at(m, p->lane);
    p->status = PROC_FREE;
    if (!lp->notes) {
        slot_release(m, s);
        return;
    }
    p->fam_next = lp->defer_free - 1;  // NO_SLOT when the list was empty
    lp->defer_free = s + 1;
}

/// The host has applied the notes of lane lp's family (its request completed): the
/// slots freed meanwhile go back to the pool.
GFN void slot_free_deferred(MachineHdr* m, Proc* lp) {
    NO_UNROLL while (lp->defer_free) {
        u32 s = lp->defer_free - 1;
        lp->defer_free = proc_at(m, s)->fam_next + 1;  // 0 after NO_SLOT
        slot_release(m, s);
    }
}

/// Children's pids stay below Linux's PID_MAX_LIMIT (4,194,304 on 64-bit), which
/// programs may take as the bound of a pid; past it a slot's pids start again.
#define PID_LIMIT 4194304ull

/// The pid of the next process in child slot s, whose last occupant had pid `old` (or
/// none: then `old` is whatever the slot's memory held). A child's pid names its slot,
/// `1000 + nprocs + (slot - nprocs)` modulo the number of child slots, and each new
/// occupant of a slot gets the last one's pid plus that number: unique among the
/// processes that exist (a slot holds one at a time), found by `pid_slot` in O(1).
GFN u32 pid_for_slot(MachineHdr* m, u32 s, u32 old) {
    u64 base = 1000 + m->nprocs, children = m->nslots - m->nprocs, idx = s - m->nprocs;
    if (old >= base && (old - base) % children == idx && old + children < PID_LIMIT) return (u32)(old + children);
    return (u32)(base + idx);
}

/// The slot a process with this pid occupies if it exists (the caller checks that the
/// slot's process has the pid), or NO_SLOT.
GFN u32 pid_slot(MachineHdr* m, u32 pid) {
    if (pid < 1000) return NO_SLOT;
    u64 base = 1000 + m->nprocs, children = m->nslots - m->nprocs;
    if (pid < base) return pid - 1000;  // a lane's first process
    if (!children) return NO_SLOT;
    return (u32)(m->nprocs + (pid - base) % children);
}

/// True when p has ended (exited or killed).
GFN bool proc_ended(const Proc* p) { return p->status == PROC_EXITED || p->status == PROC_KILLED; }

/// Link q into the family's circular list after member p (it runs after p). O(1).
GFN void fam_link(MachineHdr* m, Proc* p, Proc* q) {
    Proc* next = proc_at(m, p->fam_next);
    q->fam_next = next->slot;
    q->fam_prev = p->slot;
    next->fam_prev = q->slot;
    p->fam_next = q->slot;
}

/// A new child: into the family after p (the thread that forked it) and at the end of
/// its parent's children (fork order, as Linux keeps them; the parent is p's thread
/// group, whose leader is `parent`). O(1).
GFN void fam_insert(MachineHdr* m, Proc* p, Proc* parent, Proc* child) {
    fam_link(m, p, child);
    child->kids = NO_SLOT;
    if (parent->kids == NO_SLOT) {
        parent->kids = child->sib_next = child->sib_prev = child->slot;
        return;
    }
    Proc* first = proc_at(m, parent->kids);
    Proc* last = proc_at(m, first->sib_prev);
    child->sib_next = first->slot;
    child->sib_prev = last->slot;
    last->sib_next = child->slot;
    first->sib_prev = child->slot;
}

/// Take q out of its family's circular list (its end is handled, or its fork failed):
/// the scheduler no longer sees it; the family's current member moves on (NO_SLOT once
/// the list is empty). O(1).
GFN void fam_unlink(MachineHdr* m, Proc* lp, Proc* q) {
    Proc* prev = proc_at(m, q->fam_prev);
    Proc* next = proc_at(m, q->fam_next);
    if (lp->fam_cur == q->slot) lp->fam_cur = next == q ? NO_SLOT : next->slot;
    prev->fam_next = next->slot;
    next->fam_prev = prev->slot;
    q->fam_next = q->fam_prev = q->slot;
}

/// Take q out of its parent's children list. O(1).
GFN void kid_remove(MachineHdr* m, Proc* parent, Proc* q) {
    if (q->sib_next == q->slot) {
        parent->kids = NO_SLOT;
        return;
    }
    Proc* next = proc_at(m, q->sib_next);
    proc_at(m, q->sib_prev)->sib_next = next->slot;
    next->sib_prev = q->sib_prev;
    if (parent->kids == q->slot) parent->kids = next->slot;
}

/// Free the slot of child q, which is out of the family's list (reaped, or nobody will
/// reap it): out of its parent's children; its instructions count to the lane. O(1).
GFN_NOINLINE void fam_release(MachineHdr* m, Proc* lp, Proc* q) {
    if (q->parent != NO_SLOT) kid_remove(m, proc_at(m, q->parent), q);
    lp->family_insns += q->insns;
    slot_free(m, q->slot);
}

/// The Linux wait status of an ended process (wait4(2): exit code << 8, or the signal).
GFN u32 proc_wait_status(const Proc* p) {
    return p->status == PROC_EXITED ? ((u32)p->exit_code & 0xff) << 8 : ((u32)p->signal & 0x7f);
}
