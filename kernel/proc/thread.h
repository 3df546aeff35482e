// Threads: clone(2) with CLONE_THREAD makes a new member of the caller's thread group.
//
// A thread is a process slot of its own (registers, signal mask and pending set, tid,
// clear_child_tid, futex wait) in the lane's family (kernel/proc/family.h), run in turn
// with the other members by the family scheduler (kernel/sched.h). What the group
// shares lives in its leader's slot (`Proc::tg_slot`, `Core::mm`): the address space
// (page tables and their accounting, brk, the mmap area, limits), the signal
// dispositions, the pid every thread's getpid(2) reports, and the host state (fds, cwd:
// a thread's host requests are served as its leader's, kernel/sys/marshal.h). A thread
// is never a child: nobody waits for it, its end posts nothing to the host.
//
// Ends (exit(2), exit_group(2), _exit of the process by a signal):
// - exit of a thread of a group that has others: the thread alone ends (CLONE_CHILD_
//   CLEARTID's word cleared and woken, `thread_exit`); the leader, if it is the one,
//   stays as the group's reporter (`BLOCK_GROUP`) until the last thread ends;
// - exit of the last thread, exit_group, or a signal's default action: the whole group
//   ends (`group_end`), reported by the leader with the status of that call.
// Only the lane's thread touches a family, so none of this needs atomics, but for the
// futex queue (kernel/proc/futex_queue.h), which spare lanes use too.
#pragma once
#include "family.h"
#include "../sys/errno.h"
#include "../sys/fmap.h"
#include "futex_queue.h"

// clone(2) flags (include/uapi/linux/sched.h).
#define CSIGNAL 0xffull
#define CLONE_VM 0x100ull
#define CLONE_FS 0x200ull
#define CLONE_FILES 0x400ull
#define CLONE_SIGHAND 0x800ull
#define CLONE_PIDFD 0x1000ull
#define CLONE_VFORK 0x4000ull
#define CLONE_THREAD 0x10000ull
#define CLONE_SYSVSEM 0x40000ull
#define CLONE_SETTLS 0x80000ull
#define CLONE_PARENT_SETTID 0x100000ull
#define CLONE_CHILD_CLEARTID 0x200000ull
#define CLONE_DETACHED 0x400000ull
#define CLONE_CHILD_SETTID 0x1000000ull
#define CLONE_IO 0x80000000ull
/// The flags of a new process gpuos provides: fork's and vfork's (glibc's fork() is
/// clone(CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD), vfork() clone(CLONE_VM |
/// CLONE_VFORK | SIGCHLD)), with a new stack and TLS allowed (posix_spawn).
#define CLONE_SUPPORTED (CSIGNAL | CLONE_VM | CLONE_VFORK | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_IO)
/// What a thread must share (clone(2): CLONE_THREAD needs CLONE_SIGHAND, which needs CLONE_VM).
#define CLONE_THREAD_NEEDS (CLONE_VM | CLONE_SIGHAND)
/// The flags a thread may have: what glibc, musl and Go's runtime pass. A thread shares
/// its group's fds, cwd and umask whether or not CLONE_FILES and CLONE_FS are given
/// (they live in the leader's host state).
#define CLONE_THREAD_SUPPORTED (CLONE_THREAD_NEEDS | CLONE_THREAD | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_SETTLS | \
                                CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_DETACHED | CLONE_IO)

/// Whether p is a thread other than its group's leader.
GFN bool proc_is_thread(const Proc* p) { return p->tg_slot != p->slot; }

/// Take the ended thread q (not a leader) out of its family and free its slot: its
/// instructions count to the lane; it is no longer live. Nobody reaps a thread. O(1).
GFN_NOINLINE void thread_drop(MachineHdr* m, Proc* lp, Proc* q) {
    futexq_forget(m, q);
    q->end_pending = 0;
    fam_unlink(m, lp, q);
    lp->family_insns += q->insns;
    lp->progress++;
    atomic_add_u64(&m->live, ~0ull);
    slot_free(m, q->slot);
}

/// Release the address space c's thread group uses (`Core::mm`). On the host (the CPU
/// backend, which the tests run), the frames released and the pages unmapped must be
/// exactly what `frames_private` and `vm_pages` counted (the resident and address-space
/// limits rest on them); a difference is gpuos's bug (PANIC_ACCOUNT).
GFN_NOINLINE void proc_release(Core& c) {
    Proc* g = c.mm;
    if (g->pt_root != NO_FRAME) {
        u64 frames = g->frames_private, cached = g->frames_cached, pages = 0;
        FreeBatch b;
        b.n = 0;
#ifdef __CUDA_ARCH__
        // The GPU counts nothing out: the counts are only checked here on the host, and
        // counting a leaf table still shared with a forked relative out reads all its
        // entries (pt_drop_leaves).
        pt_free_tree(c.m, g->pt_root, 0, b, 0, 0);
#else
        pt_free_tree(c.m, g->pt_root, 0, b, g, &pages);
#endif
        free_batch_flush(c.m, b);
#ifndef __CUDA_ARCH__
        if (g->frames_private != 0 || g->frames_cached != 0 || pages != g->vm_pages) gpuos_panic(c.m, PANIC_ACCOUNT, g->frames_private);
#endif
        g->frames_private = frames;  // the last counts, for the report
        g->frames_cached = cached;
    }
    g->pt_root = NO_FRAME;
    fmap_free(c.m, g);
    tlb_flush(c);
}

/// Every thread of c's group but c's own and the leader ends now (none is running: the
/// spare lanes bring theirs home first, kernel/proc/spare.h).
GFN_NOINLINE void thread_drop_others(Core& c) {
    MachineHdr* m = c.m;
    Proc* p = c.p;
    Proc* g = c.mm;
    space_quiesce(m, g);
    Proc* lp = lane_proc(m, p);
    Proc* q = proc_at(m, p->fam_next);
    NO_UNROLL for (u64 i = 0; q != p && i < m->nslots; i++) {
        Proc* next = proc_at(m, q->fam_next);
        if (q != g && q->tg_slot == g->slot) thread_drop(m, lp, q);
        q = next;
    }
}

/// The whole thread group of c ends, with the status c's process holds (exit_group(2),
/// or a signal's default action, `proc_exit`/`proc_kill`): the leader takes that status
/// and reports the end (the scheduler's `sched_end`); every other thread ends now (none
/// is running: those on spare lanes come home first); the address space goes.
GFN_NOINLINE void group_end(Core& c) {
    Proc* p = c.p;
    Proc* g = c.mm;
    space_quiesce(c.m, g);
    if (p != g) {
        g->status = p->status;
        g->exit_code = p->exit_code;
        g->signal = p->signal;
        g->fault_pc = p->fault_pc;
        g->fault_addr = p->fault_addr;
        g->fault_insn = p->fault_insn;
        g->kill_cause = p->kill_cause;
    }
    thread_drop_others(c);
    g->tg_threads = 0;
    g->end_pending = 1;
    p->end_pending = 1;  // a thread: dropped by the scheduler (`sched_end`)
    c.exc = EXC_EXIT;
    if (!g->shm_mapped) proc_release(c);  // else after the write-back (`sched_end`)
}

/// Mark c's process ended (its status already set) and free its memory; the rest
/// (telling the host, its parent and children, counting it out of `live`) is left to
/// the lane's family scheduler (kernel/sched.h, `sched_end`), which runs outside the
/// interpreter. A process with threads ends as a group (`group_end`).
GFN void proc_end(Core& c) {
    if (c.p != c.mm || c.mm->tg_threads > 1) {
        group_end(c);
        return;
    }
    c.p->end_pending = 1;
    c.exc = EXC_EXIT;
    // With shared file mappings, the scheduler writes their dirty pages back before it
    // releases the address space (`sched_end`, kernel/sys/mm_shared.h).
    if (!c.mm->shm_mapped) proc_release(c);
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

/// A new task's own fields in slot s (a process or a thread made by clone from c's
/// running one, whose Proc q already copies): registers (X0 = 0, SP = `stack` when
/// given, TPIDR_EL0 = `tls` with CLONE_SETTLS, no exclusive reservation), its id,
/// nothing pending, running, blocked or counted.
GFN void proc_fresh_task(Proc* q, Core& c, u32 s, u32 pid, u64 flags, u64 stack, u64 tls, u64 ctid) {
    q->cpu = c.s;
    q->cpu.x[0] = 0;
    if (stack) q->cpu.x[31] = stack;
    if (flags & CLONE_SETTLS) q->cpu.tpidr_el0 = tls;
    q->cpu.excl_addr = q->cpu.excl_size = 0;
    q->slot = s;
    q->pid = pid;
    q->insns = 0;
    q->sigpending = 0;
    q->clear_child_tid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;
    q->set_child_tid = 0;  // a fork's, set by clone_do (a thread's is stored at once)
    q->kids = NO_SLOT;
    q->vfork = 0;
    q->block = 0;
    q->end_pending = 0;
    q->family_insns = 0;
    q->progress = 0;
    q->req_open = 0;
    q->io_done = 0;
    q->retry_blocked = 0;
    q->poll_deadline = 0;
    q->futex_uaddr = q->block_deadline = q->futex_key = 0;
    q->futex_bitset = 0;
    q->futex_next = q->futex_listed = q->futex_woke = 0;
    q->futex_head = q->futex_lock = 0;  // a new process's queue (a thread's is its leader's)
    q->robust_list = 0;
    q->restore_sigmask = 0;
    q->sigwait_set = 0;
    q->itimer_at = q->itimer_interval = 0;  // fork(2): the child's timers are disarmed
    rt_memset(q->ptimers, 0, sizeof(q->ptimers));  // ... and it has no POSIX timers
    q->ptimer_next = 0;
    q->sigpending_shared = 0;
    q->slots_held = 0;  // counted in the lane's first process only
    q->fm_file = q->fm_plan_off = 0;
    q->rt_count = q->rt_post_ns = q->rt_poller_ns = q->rt_wake_ns = q->rt_complete_ns = q->rt_push_ns = 0;
    q->task_where = TASK_HOME;  // its creator's lane runs it until it offers it
    q->handback = q->away = q->recall = 0;
    q->lanes_shared = 0;
}

/// What a thread group shares, from its leader g into q (a process forked by one of
/// g's threads gets the group's address-space bookkeeping and dispositions).
GFN void proc_copy_shared(Proc* q, const Proc* g) {
    q->pt_root = g->pt_root;
    q->frames_private = g->frames_private;
    q->frames_cached = g->frames_cached;
    q->vm_pages = g->vm_pages;
    q->brk_start = g->brk_start;
    q->brk_cur = g->brk_cur;
    q->mmap_top = g->mmap_top;
    q->mmap_floor = g->mmap_floor;
    q->rss_limit = g->rss_limit;
    q->as_limit = g->as_limit;
    q->as_limit_max = g->as_limit_max;
    rt_memcpy(q->sigact, g->sigact, sizeof(q->sigact));
}

/// Copy task p's Proc into q but for its signal dispositions (`sigact`, 2 KiB of the
/// Proc's 4.5): a thread's are never read (its group's are the leader's, `Core::mm`),
/// and a fork from a thread takes the leader's (`proc_copy_shared`). Less work, not a
/// faster spawn: a thread spawn at one H100 lane stayed at 17 us (forty-fifth session).
GFN void proc_copy_task(Proc* q, const Proc* p) {
    const u64 a = (u64)((const u8*)p->sigact - (const u8*)p), b = a + sizeof(p->sigact);  // NVRTC has no offsetof
    rt_memcpy(q, p, a);
    rt_memcpy((u8*)q + b, (const u8*)p + b, sizeof(Proc) - b);
}

/// clone(2) with CLONE_THREAD (glibc's pthread_create passes CLONE_VM | CLONE_FS |
/// CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS |
/// CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID): a new thread of c's group in a free
/// slot, runnable at once, made on the device alone (the host learns nothing: the
/// group's host state is its leader's). Its tid names its slot as a child's pid does
/// (`pid_for_slot`); CLONE_PARENT_SETTID and CLONE_CHILD_SETTID store it (the memory is
/// shared). It inherits the signal mask, nothing pending. Returns the tid, or -EAGAIN
/// when no slot is to be had (`slot_take`; as Linux at RLIMIT_NPROC).
GFN_NOINLINE i64 thread_create(Core& c, u64 flags, u64 stack, u64 ptid, u64 tls, u64 ctid) {
    MachineHdr* m = c.m;
    Proc* p = c.p;
    Proc* g = c.mm;
    SPAWN_T0(t_stage);
    u32 s = slot_take(m, lane_proc(m, p));
    if (s == NO_SLOT) return err(E_AGAIN);
    Proc* q = proc_at(m, s);
    u32 tid = pid_for_slot(m, s, q->pid);
    SPAWN_STAGE(m, SPAWN_SLOT, t_stage);
    proc_copy_task(q, p);
    SPAWN_STAGE(m, SPAWN_PROC_COPY, t_stage);
    proc_fresh_task(q, c, s, tid, flags, stack, tls, ctid);
    SPAWN_STAGE(m, SPAWN_FRESH, t_stage);
    q->status = PROC_RUNNABLE;
    q->tg_slot = g->slot;
    q->tg_threads = 0;
    q->parent = NO_SLOT;  // not a child: nobody waits for a thread
    q->ppid = g->ppid;
    q->pt_root = NO_FRAME;  // the group's address space is the leader's (`Core::mm`)
    q->fmaps = 0;           // ... and so are its file ranges
    q->frames_private = q->frames_cached = q->vm_pages = 0;
    q->sas_sp = q->sas_size = q->sas_flags = 0;  // no alternate signal stack (clone(2))
    fam_link(m, p, q);
    g->tg_threads++;
    atomic_add_u64(&m->live, 1);
    if (flags & CLONE_PARENT_SETTID) copy_to_guest(c, ptid, (const u8*)&tid, 4);
    if (flags & CLONE_CHILD_SETTID) copy_to_guest(c, ctid, (const u8*)&tid, 4);
    SPAWN_STAGE(m, SPAWN_FAMILY, t_stage);
    return tid;
}

/// A forked child's first run on its lane: it stores its pid at its CLONE_CHILD_SETTID
/// address in its own memory, as Linux's schedule_tail does (a bad address is ignored,
/// as put_user's failure is; out of frames, the process is killed as for any copy).
/// Stored by the child, the copy-on-write break is the child's, whose glibc writes the
/// same page (its TCB) next anyway; the parent stored it before the fork's copy once
/// and put its own value back after it, which broke copy-on-write on the parent's side
/// too: a page and a leaf table copied more per fork. The task is not offered to spare
/// lanes before (`task_offerable`): they cannot break copy-on-write.
GFN void child_settid(Core& c) {
    Proc* q = c.p;
    u64 at = q->set_child_tid;
    if (!at) return;
    q->set_child_tid = 0;
    u32 tid = q->pid;
    copy_to_guest(c, at, (const u8*)&tid, 4);  // false (a bad address): ignored
}

/// The key of the futex word at uaddr of the address space led by g (Linux's
/// get_futex_key): for an operation without FUTEX_PRIVATE_FLAG on a word in a MAP_SHARED
/// page, the page's frame and the offset (`Proc::futex_key`), so that processes
/// sharing the page meet; else 0: the futex is the thread group's, at that address
/// (forked processes have the same addresses but not the same futexes: a copy-on-write
/// page is private memory).
GFN u64 futex_key_of(MachineHdr* m, Proc* g, u64 uaddr, bool priv) {
    if (priv || g->pt_root == NO_FRAME) return 0;
    int level;
    u64* e = pt_lookup(m, g->pt_root, uaddr, &level);
    if (!e || level != 3 || !(*e & PTE_P) || !(*e & PTE_SHARED)) return 0;
    return (1ull << 63) | (PTE_FRAME(*e) << 12) | (uaddr & (PAGE_SZ - 1));
}

/// Whether q is blocked in a futex wait on the futex keyed by MAP_SHARED page `key`
/// (`futex_key_of`) that a wake of `bitset` reaches.
GFN bool futex_waits_keyed(const Proc* q, u64 key, u32 bitset) {
    return q->status == PROC_BLOCKED && q->block == BLOCK_FUTEX && (q->futex_bitset & bitset) && q->futex_key == key;
}

/// End q's rt_sigtimedwait: its call returns ret (-EAGAIN on its timeout) after the
/// SVC. (A futex wait ends through `futexq_end`.)
GFN void block_resume(Proc* q, i64 ret) {
    q->status = PROC_RUNNABLE;
    q->block = 0;
    q->cpu.x[0] = (u64)ret;
    q->cpu.pc += 4;  // the wait saved the SVC's address, to run it again after a signal
    q->block_deadline = 0;
}

/// FUTEX_WAKE on the futex keyed by MAP_SHARED page `key`, from `from` on its family's
/// lane: its family's waiters, which are not queued (kernel/proc/futex_queue.h). A
/// waiter moved to a futex keyed by address joins its group's queue, when it is the
/// waker's group; a waiter of another process is woken instead (a spurious wake-up,
/// which futex(2)'s callers allow for). O(family).
GFN_NOINLINE u32 futex_wake_keyed(MachineHdr* m, Proc* from, u64 key, u32 n, u32 bitset, u64 to, u64 to_key,
                                  u32 requeue) {
    u32 woken = 0, moved = 0;
    Proc* q = proc_at(m, from->fam_next);
    NO_UNROLL for (u64 i = 0; q != from && i < m->nslots; i++) {
        Proc* next = proc_at(m, q->fam_next);
        if (futex_waits_keyed(q, key, bitset)) {
            bool joins = to && moved < requeue && !to_key;
            if (woken < n || (joins && q->tg_slot != from->tg_slot)) {
                futexq_end(m, q, FUTEX_WOKEN);
                woken++;
            } else if (joins) {
                Proc* g = proc_leader(m, q);
                futexq_lock(g);
                q->futex_uaddr = to;
                q->futex_key = 0;
                futexq_append(m, g, q);
                futexq_unlock(g);
                moved++;
            } else if (to && moved < requeue) {
                q->futex_uaddr = to;
                q->futex_key = to_key;
                moved++;
            } else {
                break;
            }
        }
        q = next;
    }
    return woken + moved;
}

/// FUTEX_WAKE from `from`: wake up to n waiters on uaddr whose bitset meets `bitset`;
/// with `to` non-zero, move up to `requeue` of the others to wait on `to` instead
/// (FUTEX_REQUEUE). A futex keyed by address is its group's queue, which any lane may
/// wake (`futexq_wake`); one keyed by a MAP_SHARED page only `from`'s family's lane
/// (`futex_wake_keyed`). Returns how many were woken plus moved.
GFN_NOINLINE u32 futex_wake(MachineHdr* m, Proc* from, u64 uaddr, u32 n, u32 bitset, bool priv, u64 to = 0,
                            u32 requeue = 0) {
    Proc* g = proc_leader(m, from);
    u64 key = futex_key_of(m, g, uaddr, priv), to_key = to ? futex_key_of(m, g, to, priv) : 0;
    u32 r = key ? futex_wake_keyed(m, from, key, n, bitset, to, to_key, requeue)
                : futexq_wake(m, g, uaddr, n, bitset, to, to_key, requeue);
    // Its lane's back-off starts again (atomic: a spare lane may wake too).
    if (r) atomic_add_u64(&lane_proc(m, from)->progress, 1);
    return r;
}

#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK 0x3fffffffu
/// Robust list entries walked at a thread's end at most (Linux's ROBUST_LIST_LIMIT).
#define ROBUST_LIST_LIMIT 2048

/// At a thread's end, a robust futex it holds (the word at uaddr names its tid) is
/// marked FUTEX_OWNER_DIED and one waiter woken (futex(2), "robust futexes";
/// Linux's handle_futex_death).
GFN void robust_release(Core& c, u64 uaddr) {
    u32 w;
    if ((uaddr & 3) || !copy_from_guest(c, (u8*)&w, uaddr, 4) || (w & FUTEX_TID_MASK) != c.p->pid) return;
    u32 nw = (w & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
    if (!copy_to_guest(c, uaddr, (const u8*)&nw, 4)) return;
    if (w & FUTEX_WAITERS) futex_wake(c.m, c.p, uaddr, 1, ~0u, false);
}

/// What a thread's end does to memory its group keeps: the robust futexes it holds
/// are released (its set_robust_list(2) list: {next, futex_offset, list_op_pending},
/// each entry's word at entry + futex_offset), then CLONE_CHILD_CLEARTID's word
/// (set_tid_address(2)) becomes 0 and one waiter on it is woken: what pthread_join
/// waits for.
GFN_NOINLINE void thread_end_futexes(Core& c) {
    Proc* p = c.p;
    u64 head[3];
    if (p->robust_list && copy_from_guest(c, (u8*)head, p->robust_list, 24)) {
        u64 e = head[0];
        i64 off = (i64)head[1];
        NO_UNROLL for (u32 i = 0; e != p->robust_list && e && i < ROBUST_LIST_LIMIT; i++) {
            u64 next = 0;
            if (!copy_from_guest(c, (u8*)&next, e & ~1ull, 8)) break;
            if (e != head[2]) robust_release(c, (e & ~1ull) + (u64)off);
            e = next;
        }
        if (head[2]) robust_release(c, (head[2] & ~1ull) + (u64)off);
    }
    p->robust_list = 0;
    u64 ctid = p->clear_child_tid;
    p->clear_child_tid = 0;
    const u32 zero = 0;
    if (ctid && copy_to_guest(c, ctid, (const u8*)&zero, 4)) futex_wake(c.m, p, ctid, 1, ~0u, false);
}

/// exit(2) of c's thread while other threads of its group run on: its futex duties
/// (`thread_end_futexes`); a thread other than the leader ends (dropped by the
/// scheduler, `sched_end`); the leader stays, never runnable (`BLOCK_GROUP`), to
/// report the group's end when the last thread ends (Linux reports the leader's exit
/// status then, unless the group ended by exit_group or a signal).
GFN_NOINLINE void thread_exit(Core& c, i32 code) {
    Proc* p = c.p;
    thread_end_futexes(c);
    c.mm->tg_threads--;
    p->exit_code = code;
    if (p == c.mm) {
        p->status = PROC_BLOCKED;
        p->block = BLOCK_GROUP;
        c.exc = EXC_YIELD;
        return;
    }
    p->status = PROC_EXITED;
    p->end_pending = 1;
    c.exc = EXC_EXIT;
}

/// execve(2) by a thread of a group that has others, at the point of no return: the
/// other threads end, and a thread other than the leader takes the leader's place (its
/// pid, parent, children and host state: Linux's de_thread). c then runs the leader's
/// slot, with the caller's registers and signal state.
GFN_NOINLINE void thread_exec_takeover(Core& c) {
    MachineHdr* m = c.m;
    Proc* p = c.p;
    Proc* g = c.mm;
    if (p == g && g->tg_threads <= 1) return;
    Proc* lp = lane_proc(m, p);
    thread_drop_others(c);
    g->tg_threads = 1;
    futexq_forget(m, g);
    futexq_forget(m, p);
    g->futex_woke = 0;
    if (p == g) return;
    core_save(c);
    g->cpu = p->cpu;
    g->status = p->status;
    g->block = 0;
    g->sigmask = p->sigmask;
    g->sigpending = p->sigpending;
    rt_memcpy(g->sigcode, p->sigcode, sizeof(g->sigcode));
    g->io_done = 0;
    g->block_deadline = g->poll_deadline = 0;
    g->robust_list = 0;
    p->end_pending = 0;
    thread_drop(m, lp, p);
    core_load(c, m, g);
}
