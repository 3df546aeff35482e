// The family scheduler: one lane runs its family (its first process and every
// descendant, kernel/proc/family.h) in turn on its one GPU thread. Each call of
// `lane_run` picks the next runnable member round robin and runs it for a slice; a
// member that blocks (wait4 with no zombie yet, a pipe the host found would block, a
// vfork parent) is parked, and the others run. A lane has at most one host request in
// flight, whoever posted it: the backends' loops wait for it and then call
// `lane_complete`. When nothing is runnable but something is blocked, `lane_run` makes
// the retry-blocked members runnable again and reports LANE_IDLE, and the backend backs
// off before the next call (their syscalls then run again). The lane is done when
// every member has ended; its result is its first process's.
#pragma once
#include "exec.h"

/// Result of `lane_run`.
enum LaneResult : u32 {
    LANE_BUDGET = 0,   // ran a slice; call again
    LANE_HOSTWAIT = 1, // a host request was posted (the lane's SysReq); wait, then lane_complete
    LANE_DONE = 2,     // every member of the family has ended
    LANE_IDLE = 3,     // nothing runnable; blocked members will retry: back off, call again
    LANE_AWAY = 4,     // nothing runnable here, members run on spare lanes: call again soon
};

/// Make q the process loaded in c. A full load (TLB flushed) unless c still holds q,
/// the last process it ran (its state saved back, nothing else run since): a lone
/// process keeps its TLB across its host requests, as before families. Callers set
/// `c.p = 0` before c's first use, and `sched_end` clears it when a process ends (its
/// slot may come back as a new process).
GFN void core_resume(Core& c, MachineHdr* m, Proc* q) {
    if (c.p == q && c.m == m) {
        c.exc = EXC_NONE;
        c.sig = 0;
        c.fault_addr = 0;
        c.sig_entered = 0;
        return;
    }
    core_load(c, m, q);
}

/// Make every member parked with BLOCK_RETRY runnable: each runs its syscall again.
/// Walks the family only when a member may be parked so (`Proc::retry_blocked`, which
/// a signal's wake-up leaves as an over-estimate: harmless).
GFN_NOINLINE void sched_wake_retry(MachineHdr* m, Proc* lp) {
    if (!lp->retry_blocked || lp->fam_cur == NO_SLOT) return;
    lp->retry_blocked = 0;
    Proc* start = proc_at(m, lp->fam_cur);
    Proc* q = start;
    NO_UNROLL for (u64 i = 0; i < m->nslots; i++) {
        if (q->status == PROC_BLOCKED && q->block == BLOCK_RETRY) q->status = PROC_RUNNABLE;
        q = proc_at(m, q->fam_next);
        if (q == start) break;
    }
}

/// q's children become orphans (ppid 1, as if reparented to init; they run on), and
/// those already ended, whom nobody will reap now, are freed. O(children).
GFN_NOINLINE void sched_orphan_kids(MachineHdr* m, Proc* lp, Proc* q) {
    u32 first = q->kids;
    q->kids = NO_SLOT;
    u32 k = first;
    NO_UNROLL for (u64 i = 0; first != NO_SLOT && i < m->nslots; i++) {
        Proc* r = proc_at(m, k);
        k = r->sib_next;
        r->parent = NO_SLOT;
        r->ppid = 1;
        if (proc_ended(r) && !r->end_pending) fam_release(m, lp, r);
        if (k == first) break;
    }
}

/// If process g's ITIMER_REAL is due (setitimer(2); `*now`, the device clock, read once
/// per scan), post SIGALRM to it and re-arm an interval timer (missed periods are not
/// signalled twice: one SIGALRM is pending at most).
GFN_NOINLINE void itimer_due(MachineHdr* m, Proc* g, u64* now) {
    if (!*now) *now = now_ns();
    if (*now < g->itimer_at) return;
    u64 next = g->itimer_interval ? g->itimer_at + g->itimer_interval : 0;
    if (next && next <= *now) next = *now + g->itimer_interval;
    g->itimer_at = next;
    sig_post_process(m, g, SIG_ALRM, SI_KERNEL);
}

/// A child of thread group g ended: its threads blocked in wait4 or waitid run their
/// wait again (any thread of a process may wait for its children). O(family).
GFN_NOINLINE void sched_wake_waiters(MachineHdr* m, Proc* g) {
    Proc* q = g;
    NO_UNROLL for (u64 i = 0; i < m->nslots; i++) {
        if (q->tg_slot == g->slot && q->status == PROC_BLOCKED && q->block == BLOCK_WAIT) q->status = PROC_RUNNABLE;
        q = proc_at(m, q->fam_next);
        if (q == g) break;
    }
}

/// The end of q is fully handled (the host closed its fds, when told): it no longer
/// counts as live and leaves the family's list; its children become orphans, a vfork
/// parent runs on, a parent waiting in wait4 runs its wait again; q is freed at once
/// when nobody will reap it (no parent, or one ignoring SIGCHLD or with SA_NOCLDWAIT),
/// else it stays, a zombie, in its parent's children list until reaped. O(children).
GFN_NOINLINE void sched_end_finish(MachineHdr* m, Proc* lp, Proc* q) {
    q->end_pending = 0;
    lp->progress++;
    // Counted out only now: the completion poller runs while `live` is non-zero, and
    // the host's notice of this end had to come back through it.
    atomic_add_u64(&m->live, ~0ull);
    fam_unlink(m, lp, q);
    sched_orphan_kids(m, lp, q);
    vfork_release(m, q);
    if (q->parent != NO_SLOT) {
        Proc* parent = proc_at(m, q->parent);  // a thread group's leader
        sched_wake_waiters(m, parent);
        const SigAction& a = parent->sigact[SIG_CHLD - 1];
        if (a.handler == 1 || (a.flags & SA_NOCLDWAIT)) fam_release(m, lp, q);
        else if (a.handler > 1) sig_post_process(m, parent, SIG_CHLD, 1 /* CLD_EXITED */);  // a handler: deliver
    } else if (q != lp) {
        fam_release(m, lp, q);  // an orphan: nobody reaps it (init would)
    }
    sched_wake_retry(m, lp);
}

/// Member q (loaded in c) has ended: tell the host, which closes q's fds (pipe readers
/// see EOF; the files go back to the host's limited supply at once: 100,000 lanes that
/// each end with a file open would otherwise hold 100,000 host descriptors until the
/// run ends), then finish when the notice is answered (LANE_HOSTWAIT). While other
/// members of the family remain, the end is noted for the lane's next request instead
/// and finished at once (LANE_BUDGET): the host closes the fds before it serves any
/// later call of the family, which is all that could see them (a reader of a pipe q
/// wrote parks until it reads again, and that read is such a call), and the family's
/// last end is always a request of its own.
GFN_NOINLINE u32 sched_end(Core& c, Proc* q) {
    futexq_forget(c.m, q);
    if (proc_is_thread(q)) {  // a thread: nobody reaps it, the host keeps its group's state
        thread_drop(c.m, lane_proc(c.m, q), q);
        c.p = 0;
        return LANE_BUDGET;
    }
    if (q->shm_mapped && q->pt_root != NO_FRAME) {
        // Its MAP_SHARED pages reach their files before anyone sees it ended: one run
        // posted at a time (end_pending 3; lane_complete comes back here), then the
        // address space goes (kernel/sys/mm_shared.h).
        if (q->end_pending != 3) {
            q->end_pending = 3;
            q->wb_lo = 0;
            q->wb_hi = WB_ALL;
        }
        if (wb_post(c, false)) {
            c.p = 0;
            return LANE_HOSTWAIT;
        }
        proc_release(c);
    }
    dpipe_end(c.m, q);  // its pipes' descriptors here (the host closes its own)
    q->end_pending = 2;  // being handled
    if (q->fam_next != q->slot && family_note(c.m, q, NOTE_END, q->slot, q->pid)) {
        c.p = 0;
        sched_end_finish(c.m, lane_proc(c.m, q), q);
        return LANE_BUDGET;
    }
    u64 a[6] = {proc_wait_status(q), 0, 0, 0, 0, 0};
    sys_publish(c, SYS_exit_group, SYSREQ_EXIT, a, 0, 0, 0, 0, now_ns(), false);
    c.p = 0;
    return LANE_HOSTWAIT;
}

/// The lane's host request has completed (the backend waited for it): finish it for
/// the member that posted it (result, output, and clone's or execve's device part), or
/// finish the end of the member the request was a notice about.
GFN_NOINLINE void lane_complete(Core& c, MachineHdr* m, u32 lane, bool polled) {
    Proc* lp = proc_at(m, lane);
    lp->req_open = 0;
    slot_free_deferred(m, lp);  // the notes that named them are applied
    Proc* q = proc_at(m, lp->req_slot);
    if (q->status != PROC_WAIT_HOST) {
        if (q->end_pending == 2) sched_end_finish(m, lp, q);
        if (q->end_pending == 3) {  // an ended process's write-back: the next run, or its end
            core_load(c, m, q);
            wb_done(c, *(volatile i64*)&lane_req(c)->ret);
            sched_end(c, q);
        }
        return;
    }
    core_resume(c, m, q);
    u64 nr = lp->req_nr;
    bool call = (lp->req_flags & SYSREQ_CALL) != 0;
    sys_complete_host(c, polled);
    if (q->status == PROC_RUNNABLE && call) {
        // The host closed the FD_CLOEXEC descriptors: so go the pipes' (kernel/sys/dpipe.h).
        if ((nr == SYS_execve || nr == SYS_execveat) && c.s.x[0] <= 1) dpipe_end(m, c.p, true);
        if (nr == SYS_clone) fork_complete(c);
        else if ((nr == SYS_execve || nr == SYS_execveat) && c.s.x[0] == 0) exec_complete(c);
        else if ((nr == SYS_execve || nr == SYS_execveat) && c.s.x[0] == 1) exec_plan_start(c);
        else if (nr == SYS_gpuos_fd_seek || nr == SYS_gpuos_pipe_back || (nr == SYS_gpuos_file_read && q->devread_op))
            devread_done(c, nr);
        else if (nr == SYS_gpuos_file_map || nr == SYS_gpuos_file_read) mmap_file_completed(c, nr);
        else if (nr == SYS_gpuos_file_write) wb_complete(c);
        else if ((nr == SYS_copy_file_range || nr == SYS_splice) && (i64)c.s.x[0] > 0) io_offsets_complete(c, c.s.x[0]);
        else if (nr == SYS_ppoll || nr == SYS_pselect6 || nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2) {
            u64 deadline = q->poll_deadline;
            q->poll_deadline = 0;  // the call is over (kernel/sys/poll.h)
            if ((i64)c.s.x[0] >= 0 && nr == SYS_ppoll) poll_complete(c, 0);
            if ((i64)c.s.x[0] >= 0 && nr != SYS_ppoll && nr != SYS_pselect6) poll_complete(c, 1);
            if ((i64)c.s.x[0] >= 0 && nr == SYS_pselect6) select_complete(c, deadline);
        }
    }
    // What blocked another member may have changed: the call is done, or one chunk of
    // it (the next is posted: PROC_WAIT_HOST), but not when it was parked.
    if (call && q->status != PROC_BLOCKED) sched_wake_retry(m, lp);
    core_save(c);
}

/// Post the family's notes (kernel/sys/process.h `family_note`) by themselves: a request
/// that is neither a call nor an end notice, which the host completes once it applied
/// them. Returns LANE_HOSTWAIT.
GFN_NOINLINE u32 notes_flush(MachineHdr* m, Proc* lp) {
    const u64 none[6] = {0, 0, 0, 0, 0, 0};
    req_publish(m, lp, 0, 0, none, 0, 0, 0, 0, now_ns());
    return LANE_HOSTWAIT;
}

/// Whether the family's notes must go now: they are older than NOTES_MAX_AGE_NS, or the
/// family cannot run (`idle`), so that nobody elsewhere waits on them (an ended
/// process's lock or FIFO end) longer than that, nor for ever; or they are full, and a
/// pipe call waits for room (kernel/sys/dpipe.h `dpipe_notes_wait`).
GFN bool notes_due(Proc* lp, bool idle) {
    if (!lp->notes) return false;
    return idle || lp->notes >= FAMILY_NOTES || now_ns() - lp->notes_at >= NOTES_MAX_AGE_NS;
}

/// Run the lane's family for one slice (see the top of this file).
GFN_NOINLINE u32 lane_run(Core& c, MachineHdr* m, u32 lane, u64 budget) {
    Proc* lp = proc_at(m, lane);
    if (lp->req_open) return LANE_HOSTWAIT;
    // Every member's end is handled. No notes are left: the family's last end was a
    // request of its own (sched_end), which took them.
    if (lp->fam_cur == NO_SLOT) return LANE_DONE;
    if (notes_due(lp, false)) return notes_flush(m, lp);
    bool spares = load_relaxed_u64(&m->spare_lanes) != 0;
    bool reclaimed = false;
rescan:
    Proc* cur = proc_at(m, lp->fam_cur);
    if (cur->end_pending == 1) {  // ended while completing a request (SIGPIPE, exec)
        core_load(c, m, cur);
        return sched_end(c, cur);
    }
    // The family's list holds the members whose end is not handled yet: find one to run
    // (or a thread group's leader whose group ended while another thread ran, or a
    // futex wait whose time is up).
    Proc* q = cur;
    bool found = false;
    u64 now = 0;
    NO_UNROLL for (u64 i = 0; i < m->nslots; i++) {
        if (q->itimer_at) itimer_due(m, q, &now);
        if (q->ptimer_next) ptimer_due(m, q, &now);
        if (q->status == PROC_RUNNABLE && load_relaxed_u32(&q->task_where) == TASK_HOME) { found = true; break; }
        if (q->end_pending == 1) {
            lp->fam_cur = q->slot;
            core_load(c, m, q);
            return sched_end(c, q);
        }
        bool timed = q->block == BLOCK_FUTEX || q->block == BLOCK_SIGWAIT || q->block == BLOCK_SLEEP;
        if (q->status == PROC_BLOCKED && timed && q->block_deadline) {
            if (!now) now = now_ns();
            if (now >= q->block_deadline) {
                if (q->block == BLOCK_FUTEX) {
                    futexq_timeout(m, q);  // unless a wake came first; applied when it runs
                } else {
                    block_resume(q, q->block == BLOCK_SLEEP ? 0 : err(E_AGAIN));  // a sleep's end, a sigtimedwait's timeout
                    // Its saved registers changed (the result, the PC past the SVC): a
                    // Core still holding q (the persistent kernel's, when q ran last)
                    // reloads them.
                    if (c.p == q) c.p = 0;
                }
                if (q->status == PROC_RUNNABLE && load_relaxed_u32(&q->task_where) == TASK_HOME) {
                    found = true;
                    break;
                }
            }
        }
        q = proc_at(m, q->fam_next);
        if (q == cur) break;
    }
    if (!found && spares && !reclaimed) {  // run what no spare lane took yet
        spare_reclaim_all(m, lp);
        reclaimed = true;
        goto rescan;
    }
    if (!found) {
        sched_wake_retry(m, lp);
        if (notes_due(lp, true)) return notes_flush(m, lp);
        lp->fam_away = spares ? spare_offer(c, m, lp, 0) : 0;
        return lp->fam_away ? LANE_AWAY : LANE_IDLE;
    }
    lp->fam_cur = q->slot;
    if (spares) atomic_fence_dev();  // acquire: q's state as the spare lane that ran it last saved it
    q->handback = 0;
    // The others that can run go to the spare lanes; while any is away, slices here are
    // short, so that what they hand back (their syscalls) is served soon.
    lp->fam_away = spares ? spare_offer(c, m, lp, q) : 0;
    if (lp->fam_away && budget > m->spare_slice) budget = m->spare_slice;
    core_resume(c, m, q);
    child_settid(c);   // a forked child's first run
    futex_resumed(c);  // a futex wait that ended while it was parked (before any signal)
    sleep_resumed(c);  // a sleep a signal woke: EINTR (its handler runs next)
    if (q->fm_seg == EXEC_START) {  // a job of another program: map it first
        exec_start(c);
        core_save(c);
        if (q->end_pending == 1) return sched_end(c, q);
        if (q->status == PROC_WAIT_HOST) return LANE_HOSTWAIT;
    }
    if ((q->sigpending | proc_leader(m, q)->sigpending_shared) & ~q->sigmask) {  // sent by another member (kill, SIGCHLD)
        if (io_interrupt(c)) {  // a write parked part way returns its count, logged first
            core_save(c);
            return LANE_HOSTWAIT;
        }
        c.pc = c.s.pc;
        c.insn = 0;
        space_quiesce(m, c.mm);  // a handler's frame, or the default action's end
        sig_deliver_pending(c);
        core_save(c);
        if (q->end_pending == 1) return sched_end(c, q);
    }
    u64 before = q->insns;
    u32 r = core_run(c, budget);
    if (q->insns - before > 1) lp->progress++;
    if (q->end_pending == 1) return sched_end(c, q);
    if (r == RUN_HOSTWAIT) return LANE_HOSTWAIT;
    lp->fam_cur = q->fam_next;  // round robin
    // Members parked to retry (a sleep not due yet, a pipe the host found empty) retry
    // after a slice that ran out, not only when another member's host call or end may
    // have changed what they wait for: a sibling that only computes would otherwise
    // keep a sleeper parked for ever.
    if (r == RUN_BUDGET) sched_wake_retry(m, lp);
    // Another member may run before q runs again and store to what q reserved with a
    // load-exclusive: q's reservation goes, as Linux clears the monitor when it switches
    // tasks (its next store-exclusive fails and the guest's loop loads again).
    if (q->fam_next != q->slot) q->cpu.excl_addr = q->cpu.excl_size = 0;
    return LANE_BUDGET;
}

/// One step of a spare lane (c: its own Core, `c.p` the task it holds or 0): take an
/// offered task if it holds none, run it for up to `budget` instructions in user mode,
/// then keep it, hand it back (stopped at an instruction its lane must run, or asked
/// home), or put it back in the queue when other tasks wait there (round robin among
/// the spare lanes). Returns a SpareResult.
GFN_NOINLINE u32 spare_run(Core& c, MachineHdr* m, u64 budget) {
    if (!c.p && !spare_take(c, m)) return SPARE_IDLE;
    Proc* q = c.p;
    if (spare_must_return(m, q)) {
        spare_release(c, m, false);
        return SPARE_RAN;
    }
    u64 before = q->insns;
    c.parked = 0;
    u32 r = core_run(c, budget);
    atomic_add_u64(&m->spare_insns, q->insns - before);
    c.exc = EXC_NONE;
    if (r == RUN_TRAP) {
        spare_release(c, m, true);
    } else if (c.parked) {  // blocked in a futex wait served here (the wake: futex_resumed)
        spare_park(c, m);
    } else if (spare_must_return(m, q)) {
        spare_release(c, m, false);
    } else if (runq_waiting(m, c.runq_home)) {  // others wait for this lane: to the back of the queue
        c.p = 0;
        atomic_fence_dev();
        store_release_dev_u32(&q->task_where, TASK_OFFERED);
        if (!runq_push(m, q->slot)) task_reclaim(m, q);  // full: its lane runs it
    }
    return SPARE_RAN;
}
