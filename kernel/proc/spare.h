// Spare lanes: the tasks of a family run on other lanes beside its own (issue 16).
//
// A lane runs a family (kernel/sched.h): its first process, the processes it forks and
// their threads. With spare lanes (`MachineHdr::spare_lanes`: GPU threads, or host
// threads, beyond the families' lanes), a family's lane keeps one runnable task for
// itself and offers the others to a run queue (`MachineHdr::runq`); a spare lane takes
// one and runs its instructions, so a process's threads and a shell's children run in
// parallel.
//
// The split is the one between user and kernel mode. A spare lane runs a task in *user
// mode* (`Core::user`): guest instructions only, through page tables it only reads. At
// anything that needs the kernel (a syscall, a fault, a page not yet present or still
// copy-on-write, a signal to deliver, the instruction limit) it stops before the
// instruction, with the exact architectural state, and hands the task back to its lane
// (`Proc::handback`), which runs that instruction as it always has. So every kernel
// structure (the family's lists, the page tables' changes, the host requests, signal
// delivery) keeps its one writer, the family's lane, and the host sees nothing new.
//
// What the lane must not do while tasks of an address space run elsewhere is change a
// mapping they may hold in their soft TLBs (take a page away, move it, make it read-only:
// munmap, mprotect, fork's copy-on-write marking, a copy-on-write break) or change the
// tasks themselves (exit_group, a fatal signal, execve). Before any such step it calls
// `space_quiesce`, which takes the space's offered tasks back and waits until the
// spare lanes have brought the running ones home. Adding mappings (a lazy page's first
// frame, a new anonymous mmap, brk growing) needs no wait: no soft TLB can hold what was
// not mapped. Syscalls that do neither run beside the others (`sys_runs_beside`); any
// other syscall first brings them home.
//
// Task ownership is `Proc::task_where`, changed by compare-and-swap: HOME (the lane's),
// OFFERED (queued; the lane may take it back), AWAY (one spare lane's), PARKED (blocked
// in a futex wait a spare lane served, nobody's: whoever ends the wait offers it again,
// `task_rouse`, so that a woken thread does not wait for its lane's next pass). The
// leader's `away` counts its space's tasks that are OFFERED, AWAY or PARKED.
#pragma once
#include "proc.h"

// ---- the run queue: shards of bounded MPMC queues of slots (D. Vyukov's) -----------
//
// Cell i of a shard holds a sequence number and a slot. A producer at position pos may
// fill the cell whose sequence is pos, a consumer take it once it is pos + 1; the shard
// is full or empty when a cell is not yet there. A slot may be queued more than once (a
// task offered, taken back and offered again): the compare-and-swap on `task_where`
// decides, and a stale entry is dropped by the spare lane that takes it.
//
// `MachineHdr::runq_shards` shards (one per 16 spare lanes, up to RUNQ_MAX_SHARDS;
// crates/gpuos/src/layout.rs `RunQueue`): a task is queued in shard slot mod shards, a
// spare lane takes from its own shard (`Core::runq_home`) and, when that is empty, from
// one other shard in turn (`Core::runq_steal`). With one queue every spare lane of the
// GPU takes from one head and puts its task back to one tail after each slice while
// others wait, as every spawn once went through one free-slot stack (669,000 spawns/s
// on an H100; 1.88 M with 256 stacks). Suspected, not yet measured: that one queue is
// why threads-mutex did not end in 120 s at 1,000 lanes with 4,192 spare lanes (H100,
// forty-sixth session; `GPUOS_RUNQ_SHARDS=1` is the single queue, to compare).

/// The run queue's shards (a power of two).
GFN u64 runq_nshards(MachineHdr* m) { return m->runq_shards ? m->runq_shards : 1; }

/// Shard k's words: its tail (the next cell to fill) at word 0, its head (the next to
/// take) at word 8, then its cells.
GFN u64* runq_shard(MachineHdr* m, u64 k) {
    return (u64*)(uintptr_t)m->runq + (k & (runq_nshards(m) - 1)) * (RUNQ_SHARD_HDR + 2 * (m->runq_mask + 1));
}
GFN u64* runq_tail(u64* q) { return q; }
GFN u64* runq_head(u64* q) { return q + 8; }

/// Cell i of shard q: two u64s, sequence and slot.
GFN u64* runq_cell(MachineHdr* m, u64* q, u64 i) { return q + RUNQ_SHARD_HDR + 2 * (i & m->runq_mask); }

/// Queue slot s in shard q; false when the shard is full.
GFN_NOINLINE bool runq_push_shard(MachineHdr* m, u64* q, u32 s) {
    u64* tail = runq_tail(q);
    u64 pos = load_relaxed_u64(tail);
    for (;;) {
        u64* cell = runq_cell(m, q, pos);
        u64 seq = load_acquire_dev_u64(&cell[0]);
        i64 dif = (i64)(seq - pos);
        if (dif == 0) {
            if (atomic_cas_u64_dev(tail, pos, pos + 1) == pos) {
                cell[1] = s;
                store_release_dev_u64(&cell[0], pos + 1);
                return true;
            }
            pos = load_relaxed_u64(tail);
        } else if (dif < 0) {
            return false;
        } else {
            pos = load_relaxed_u64(tail);
        }
    }
}

/// Queue slot s: in its shard, or when that is full in the next one that is not; false
/// when every shard is full (the task then stays with its lane).
GFN_NOINLINE bool runq_push(MachineHdr* m, u32 s) {
    u64 n = runq_nshards(m);
    NO_UNROLL for (u64 i = 0; i < n; i++)
        if (runq_push_shard(m, runq_shard(m, s + i), s)) return true;
    return false;
}

/// Take the oldest slot queued in shard q; NO_SLOT when it is empty.
GFN_NOINLINE u32 runq_pop_shard(MachineHdr* m, u64* q) {
    u64* head = runq_head(q);
    u64 pos = load_relaxed_u64(head);
    for (;;) {
        u64* cell = runq_cell(m, q, pos);
        u64 seq = load_acquire_dev_u64(&cell[0]);
        i64 dif = (i64)(seq - (pos + 1));
        if (dif == 0) {
            if (atomic_cas_u64_dev(head, pos, pos + 1) == pos) {
                u32 s = (u32)load_coherent_u64(&cell[1]);
                store_release_dev_u64(&cell[0], pos + m->runq_mask + 1);
                return s;
            }
            pos = load_relaxed_u64(head);
        } else if (dif < 0) {
            return NO_SLOT;
        } else {
            pos = load_relaxed_u64(head);
        }
    }
}

/// Take a queued slot for the spare lane running c: from its own shard, else from the
/// next shard of its turn (one per call, so that an idle spare lane's look stays two
/// shards however many there are); NO_SLOT when both are empty.
GFN_NOINLINE u32 runq_pop(Core& c, MachineHdr* m) {
    u32 s = runq_pop_shard(m, runq_shard(m, c.runq_home));
    u32 mask = (u32)(runq_nshards(m) - 1);
    if (s != NO_SLOT || mask == 0) return s;
    c.runq_steal = (c.runq_steal + 1) & mask;
    if (c.runq_steal == (c.runq_home & mask)) c.runq_steal = (c.runq_steal + 1) & mask;  // not its own again
    return runq_pop_shard(m, runq_shard(m, c.runq_steal));
}

/// Whether shard k of the run queue holds an entry (maybe a stale one).
GFN bool runq_waiting(MachineHdr* m, u64 k) {
    u64* q = runq_shard(m, k);
    return load_relaxed_u64(runq_tail(q)) != load_relaxed_u64(runq_head(q));
}

// ---- the family's lane: offer, take back, quiesce -----------------------------------

/// Whether q's lane may offer it: runnable, at home, not stopped at an instruction only
/// its lane runs (a handback), not starting or ending, no signal to deliver.
GFN bool task_offerable(MachineHdr* m, Proc* q) {
    if (q->status != PROC_RUNNABLE || load_acquire_dev_u32(&q->task_where) != TASK_HOME) return false;
    if (load_relaxed_u32(&q->handback)) return false;  // after the acquire: the spare lane's latest
    if (q->end_pending || q->fm_seg == EXEC_START || q->set_child_tid) return false;  // their lane first
    return ((q->sigpending | proc_leader(m, q)->sigpending_shared) & ~q->sigmask) == 0;
}

/// Offer q to the spare lanes (its lane holds it: TASK_HOME). A Core still holding q
/// (`c.p`, the lane's, which may run q again from its saved state) lets go of it: the
/// spare lane changes that state. False when the queue is full.
GFN_NOINLINE bool task_offer(Core& c, MachineHdr* m, Proc* q) {
    Proc* g = proc_leader(m, q);
    if (c.p == q) c.p = 0;
    if (g->tg_threads > 1) g->lanes_shared = 1;
    atomic_add_u32_dev(&g->away, 1);
    store_release_dev_u32(&q->task_where, TASK_OFFERED);
    if (runq_push(m, q->slot)) return true;
    store_release_dev_u32(&q->task_where, TASK_HOME);
    atomic_add_u32_dev(&g->away, ~0u);
    return false;
}

/// Take q back from the run queue if no spare lane has it yet. True when it is home.
GFN bool task_reclaim(MachineHdr* m, Proc* q) {
    if (atomic_cas_u32_dev(&q->task_where, TASK_OFFERED, TASK_HOME) != TASK_OFFERED) return false;
    atomic_add_u32_dev(&proc_leader(m, q)->away, ~0u);
    return true;
}

/// Whether a signal q does not block is pending for it or its process, read while other
/// lanes may post one (a spare lane's look: the lane delivers it).
GFN bool task_signal_pending(MachineHdr* m, Proc* q) {
    Proc* g = proc_leader(m, q);
    return ((load_relaxed_u64(&q->sigpending) | load_relaxed_u64(&g->sigpending_shared)) & ~q->sigmask) != 0;
}

/// Bring q home from `from` (OFFERED or PARKED) unless someone else moved it first.
GFN void task_home_from(MachineHdr* m, Proc* q, u32 from) {
    if (atomic_cas_u32_dev(&q->task_where, from, TASK_HOME) == from) atomic_add_u32_dev(&proc_leader(m, q)->away, ~0u);
}

/// q, parked by a spare lane (TASK_PARKED), may have to move: home when its lane must
/// have it (its space recalled, a signal to deliver), else into the run queue for the
/// spare lanes once it is runnable (its futex wait ended; home when the queue is full);
/// still blocked, it stays parked. Nothing for a task that is not parked. Whoever ends
/// a parked wait calls it after making the task runnable, and the spare lane that parks
/// a task calls it after parking it (`spare_park`), each with a fence between: one of
/// them sees the other's change and moves it.
GFN_NOINLINE void task_rouse(MachineHdr* m, Proc* q) {
    atomic_fence_dev();  // after the status (or recall) the caller wrote
    if (load_relaxed_u32(&q->task_where) != TASK_PARKED) return;
    if (load_relaxed_u32(&proc_leader(m, q)->recall) || task_signal_pending(m, q)) {
        task_home_from(m, q, TASK_PARKED);
        return;
    }
    if (load_relaxed_u32(&q->status) != PROC_RUNNABLE) return;
    if (atomic_cas_u32_dev(&q->task_where, TASK_PARKED, TASK_OFFERED) != TASK_PARKED) return;
    if (!runq_push(m, q->slot)) task_home_from(m, q, TASK_OFFERED);  // full: its lane runs it
}

/// The family scheduler's pass over the family of lp (between slices; `run`: the task
/// the lane runs next, or 0): offered tasks nobody took come home (a task must not
/// wait in the queue while its lane could run it), then every other task that can run
/// elsewhere is offered. Returns how many of the family's tasks are away (offered or
/// on a spare lane) afterwards. O(family).
GFN_NOINLINE u32 spare_offer(Core& c, MachineHdr* m, Proc* lp, Proc* run) {
    if (lp->fam_cur == NO_SLOT) return 0;
    Proc* start = proc_at(m, lp->fam_cur);
    Proc* q = start;
    u32 away = 0;
    NO_UNROLL for (u64 i = 0; i < m->nslots; i++) {
        if (q != run && task_offerable(m, q) && task_offer(c, m, q)) away++;
        else if (load_acquire_dev_u32(&q->task_where) != TASK_HOME) away++;
        q = proc_at(m, q->fam_next);
        if (q == start) break;
    }
    return away;
}

/// Take every offered task of the family of lp home (the lane has nothing else to run).
GFN_NOINLINE void spare_reclaim_all(MachineHdr* m, Proc* lp) {
    if (lp->fam_cur == NO_SLOT) return;
    Proc* start = proc_at(m, lp->fam_cur);
    Proc* q = start;
    NO_UNROLL for (u64 i = 0; i < m->nslots; i++) {
        if (load_relaxed_u32(&q->task_where) == TASK_OFFERED) task_reclaim(m, q);
        q = proc_at(m, q->fam_next);
        if (q == start) break;
    }
}

/// Bring every task of the address space led by g home before its lane changes the
/// space's mappings or its tasks (see the top of this file): the offered and parked
/// ones are taken back at once (a spare lane that parks one after this looks at
/// `recall` and sends it home itself: `spare_park`), the running ones are asked to come
/// home (`recall`, which the spare lanes look at between slices of
/// `MachineHdr::spare_slice` instructions) and waited for. Free when nothing is away. The spare lanes never wait for a family's lane, so
/// the wait ends.
GFN_NOINLINE void space_quiesce(MachineHdr* m, Proc* g) {
    if (!load_relaxed_u32(&g->away)) return;
    store_release_dev_u32(&g->recall, 1);
    atomic_fence_dev();  // a spare lane that takes a task from now on sees the recall
    Proc* q = g;
    NO_UNROLL for (u64 i = 0; i < m->nslots; i++) {
        u32 where = load_relaxed_u32(&q->task_where);
        if (q->tg_slot == g->slot && (where == TASK_OFFERED || where == TASK_PARKED)) task_home_from(m, q, where);
        q = proc_at(m, q->fam_next);
        if (q == g) break;
    }
    while (load_acquire_dev_u32(&g->away)) rt_yield();
    atomic_fence_dev();  // acquire: the spare lanes' saved states and memory
    store_release_dev_u32(&g->recall, 0);
}

// ---- the spare lanes -----------------------------------------------------------------

/// Result of `spare_run`.
enum SpareResult : u32 {
    SPARE_RAN = 0,  // ran or handled a task; call again
    SPARE_IDLE = 1, // nothing offered: back off, call again
};

/// Give the task the spare lane running c holds back to its lane: its state is saved
/// (core_run did), `handback` says whether its next instruction is the lane's to run.
GFN_NOINLINE void spare_release(Core& c, MachineHdr* m, bool handback) {
    Proc* q = c.p;
    Proc* g = proc_leader(m, q);
    q->handback = handback;
    c.p = 0;
    atomic_fence_dev();  // release: the task's state and the guest's stores first
    store_release_dev_u32(&q->task_where, TASK_HOME);
    atomic_add_u32_dev(&g->away, ~0u);
}

/// The task the spare lane running c holds blocked in a futex wait served here
/// (`Core::parked`; its state saved): it stays with the spare lanes, parked, so that the
/// wake offers it to them at once (`task_rouse`). Woken already, or its space recalled
/// meanwhile: it goes on now.
GFN_NOINLINE void spare_park(Core& c, MachineHdr* m) {
    Proc* q = c.p;
    q->handback = 0;
    c.p = 0;
    atomic_fence_dev();  // release: the task's state and the guest's stores first
    store_release_dev_u32(&q->task_where, TASK_PARKED);
    task_rouse(m, q);  // its fence, then its status and recall: see task_rouse
}

/// Whether the task the spare lane holds must go home now: its lane asks for it, a
/// signal is to be delivered, it is no longer runnable, or the run stops.
GFN bool spare_must_return(MachineHdr* m, Proc* q) {
    Proc* g = proc_leader(m, q);
    if (load_relaxed_u32(&g->recall) || load_relaxed_u32(&m->stop)) return true;
    if (load_relaxed_u32(&q->status) != PROC_RUNNABLE) return true;
    return task_signal_pending(m, q);
}

/// The spare lane running c stops: the task it holds, if any, goes home (its state was
/// saved at the end of its last slice), so that its lane never waits for it.
GFN_NOINLINE void spare_drop(Core& c, MachineHdr* m) {
    if (c.p) spare_release(c, m, false);
}

/// Take an offered task from the run queue into c (user mode); false when none.
GFN_NOINLINE bool spare_take(Core& c, MachineHdr* m) {
    for (;;) {
        u32 s = runq_pop(c, m);
        if (s == NO_SLOT) return false;
        Proc* q = proc_at(m, s);
        if (atomic_cas_u32_dev(&q->task_where, TASK_OFFERED, TASK_AWAY) != TASK_OFFERED) continue;  // stale
        atomic_fence_dev();  // acquire: the lane's last save of q, its recall flag
        core_load(c, m, q);
        c.user = 1;
        futex_resumed(c);  // a futex wait that ended since it last ran
        atomic_add_u64(&m->spare_takes, 1);
        return true;
    }
}
