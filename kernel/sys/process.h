// Device-served process syscalls that create, replace and reap processes: clone (fork
// and vfork), execve, wait4. A child runs on its parent's lane (kernel/proc/family.h,
// kernel/sched.h). Semantics from fork(2), vfork(2), clone(2), execve(2), wait4(2).
//
// clone and execve each have a device part (here: the new process, the gathered
// arguments) and a host part (the fd table copied to the child's slot; the new stack
// built by the loader, close-on-exec fds closed). execve's is posted as a host request,
// and the device finishes the call when that request completes (`exec_complete`,
// called by the scheduler). A fork's host part cannot fail and needs nothing back, so
// the device finishes the fork at once and notes it for the host (`family_note`), which
// forks the host state with the lane's next request, before serving it: the parent's
// host state cannot change before then, as every change comes in a request of the same
// lane (issue 16: the host learns of a new process with the next request, no round trip
// before the child runs). With --strace, or when the notes are full, the fork is
// posted as a clone request and finished when it completes (`fork_complete`).
#pragma once
#include "../proc/family.h"
#include "marshal.h"
#include "signal.h"
#include "fmap.h"
#include "dpipe.h"

#define WAIT_NOHANG 1u
#define WAIT_OPTIONS (1u | 2u | 8u | 0x20000000u | 0x40000000u | 0x80000000u)
#define SA_NOCLDWAIT 2ull
/// execve: the most argv plus envp strings gathered.
#define EXEC_MAX_STRINGS 4096u

/// Leave a note about member q for the host in its lane's `SysReq::notes`: `what` (a
/// fork's parent slot, or NOTE_END) about process `slot` with `pid`. The notes go with
/// the lane's next request: none is in flight while the lane runs its family, and the
/// host applies them before it serves that request (crates/gpuos/src/service/mod.rs
/// `apply_notes`). False under --strace (the request is the trace line) or when the
/// notes are full: post the request instead.
GFN bool family_note(MachineHdr* m, Proc* q, u64 what, u32 slot, u32 pid) {
    Proc* lp = lane_proc(m, q);
    if (q->strace || lp->notes >= FAMILY_NOTES) return false;
    if (!lp->notes) lp->notes_at = now_ns();
    u64* note = lane_req_of(m, q)->notes + 2 * lp->notes++;
    note[0] = what;
    note[1] = (u64)slot | (u64)pid << 32;
    return true;
}

/// The fork of child q is done (the parent's X0 is the child's pid): the child runs,
/// and a vfork parent (c's task) waits for it to exec or end. Whether the parent waits.
GFN bool fork_run(Core& c, Proc* q) {
    q->status = PROC_RUNNABLE;
    if (!q->vfork) return false;
    c.p->status = PROC_BLOCKED;
    c.p->block = BLOCK_VFORK;
    return true;
}

GFN_NOINLINE bool devread_release_all(Core& c);  // kernel/sys/devread.h

/// A spawn the device completed, which began at `t0` (device clock, ns): counted with
/// its time in `MachineHdr::spawns` and `spawn_ns` (`gpuos run -v`, `gpuos bench`).
GFN void spawn_counted(MachineHdr* m, u64 t0) {
    atomic_add_u64(&m->spawn_ns, now_ns() - t0);
    atomic_add_u64(&m->spawns, 1);
}

/// clone(2) and clone3(2): a thread (CLONE_THREAD, kernel/proc/thread.h), or a process
/// as fork(2) or vfork(2). The child process gets a copy-on-write copy of the address
/// space (pt_clone with share_src), the CPU state with X0 = 0 (SP = `stack` when
/// given), the signal dispositions and mask (no pending signals), the brk and mmap
/// bookkeeping, and a new pid; it joins the family as a child of the caller's thread
/// group, runnable at once (its host state forked with the lane's next request:
/// `family_note`), or when the posted clone request completes (`fork_complete`).
///
/// vfork (CLONE_VM | CLONE_VFORK) is fork plus suspending the parent until the child
/// execs or ends: the child runs in a copy of the memory, not in the parent's, which is
/// right for children that only exec or _exit (what vfork(2) allows them). A process
/// sharing the caller's memory without being its thread (CLONE_VM alone) is not
/// provided: EINVAL, as for namespaces and the other flags gpuos does not have. The
/// descriptors whose offsets the device keeps (kernel/sys/devread.h) go back to the host
/// first: the child shares their descriptions.
GFN_NOINLINE void clone_do(Core& c, u64 flags, u64 stack, u64 ptid, u64 tls, u64 ctid) {
    MachineHdr* m = c.m;
    u64 t0 = now_ns();
    SPAWN_T0(t_stage);
    // The child shares the descriptions (or the table): their offsets go back to the
    // host first, and a shared table keeps them there.
    if (devread_release_all(c)) return;
    // A table other tasks share keeps no pipe here either (kernel/sys/dpipe.h).
    if ((flags & (CLONE_THREAD | CLONE_FILES)) && devread_on(c) && dpipe_release(c, true)) return;
    if (flags & (CLONE_THREAD | CLONE_FILES)) c.mm->fd_shared = 1;
    if (flags & CLONE_THREAD) {
        if ((flags & CLONE_THREAD_NEEDS) != CLONE_THREAD_NEEDS || (flags & ~CLONE_THREAD_SUPPORTED)) {
            setX(c, 0, err(E_INVAL));
            return;
        }
        SPAWN_STAGE(m, SPAWN_PRELUDE, t_stage);
        i64 tid = thread_create(c, flags, stack, ptid, tls, ctid);
        setX(c, 0, tid);
        if (tid > 0) spawn_counted(m, t0);
        return;
    }
    if (((flags & CLONE_VM) && !(flags & CLONE_VFORK)) || (flags & ~CLONE_SUPPORTED)) { setX(c, 0, err(E_INVAL)); return; }
    SPAWN_STAGE(m, SPAWN_PRELUDE, t_stage);
    u32 s = slot_take(m, lane_proc(m, c.p));
    if (s == NO_SLOT) { setX(c, 0, err(E_AGAIN)); return; }
    Proc* p = c.p;
    Proc* g = c.mm;
    Proc* q = proc_at(m, s);
    u32 pid = pid_for_slot(m, s, q->pid);
    SPAWN_STAGE(m, SPAWN_SLOT, t_stage);
    // The calling thread's state, with what its group shares (address space bookkeeping,
    // dispositions) from the leader: the child is a process of one thread.
    if (g != p) {
        proc_copy_task(q, p);
        proc_copy_shared(q, g);
    } else {
        rt_memcpy(q, p, sizeof(Proc));
    }
    // The child's descriptors are the parent's (the host forks the table): known when
    // the caller's own view was kept (a thread's is not: kernel/sys/devread.h).
    q->fd_known = p->fd_known && g == p && !g->fd_shared;
    q->fmaps = 0;  // not the parent's table: a copy below
    SPAWN_STAGE(m, SPAWN_PROC_COPY, t_stage);
    u64 root = pt_clone(m, g->pt_root, q, true);
    // The copy maps what the parent's tables map: its counts are the parent's (the leaf
    // tables pt_clone shares are not walked to count them; what it counted goes).
    q->frames_private = g->frames_private;
    q->frames_cached = g->frames_cached;
    q->vm_pages = g->vm_pages;
    tlb_write_protect(c);  // the parent's writable pages are copy-on-write now
    SPAWN_STAGE(m, SPAWN_TABLES, t_stage);
    if (root == NO_FRAME) {
        slot_free(m, s);
        setX(c, 0, err(E_NOMEM));
        return;
    }
    if (flags & CLONE_PARENT_SETTID) copy_to_guest(c, ptid, (const u8*)&pid, 4);
    dpipe_forked(m, q);  // the child holds the parent's pipe descriptors too
    proc_fresh_task(q, c, s, pid, flags, stack, tls, ctid);
    q->pt_root = root;
    // CLONE_CHILD_SETTID writes the child's memory: the child does, when it first runs
    // (`child_settid`).
    q->set_child_tid = (flags & CLONE_CHILD_SETTID) ? ctid : 0;
    SPAWN_STAGE(m, SPAWN_FRESH, t_stage);
    q->fmaps = fmap_clone(m, g);  // the child's file ranges are the parent's
    SPAWN_STAGE(m, SPAWN_FILE_RANGES, t_stage);
    q->status = PROC_NEW;
    q->tg_slot = s;
    q->tg_threads = 1;
    q->parent = g->slot;
    q->ppid = g->pid;
    q->vfork = (flags & CLONE_VFORK) ? p->slot + 1 : 0;
    fam_insert(m, p, g, q);
    atomic_add_u64(&m->live, 1);
    if (family_note(m, p, g->slot, s, pid)) {
        setX(c, 0, pid);
        if (fork_run(c, q)) c.exc = EXC_YIELD;  // past the SVC: the pid, once let go
        SPAWN_STAGE(m, SPAWN_FAMILY, t_stage);
        spawn_counted(m, t0);
        return;
    }
    // The host copies the fd table (fds share their open file descriptions, as after
    // fork(2)) into the child's slot; args[5] tells it the slot and the pid.
    u64 a[6] = {flags, stack, ptid, tls, ctid, (u64)s | ((u64)pid << 32)};
    sys_publish(c, SYS_clone, SYSREQ_CALL, a, 0, 0, 0, 0, now_ns(), true);
}

/// clone(2): arm64's argument order (flags, stack, parent_tid, tls, child_tid).
HANDLER void sys_clone(Core& c) { clone_do(c, X(c, 0), X(c, 1), X(c, 2), X(c, 3), X(c, 4)); }

/// clone3(2): struct clone_args (flags, pidfd, child_tid, parent_tid, exit_signal,
/// stack, stack_size, tls, set_tid, set_tid_size, cgroup; u64 each) of `size` bytes (at
/// least CLONE_ARGS_SIZE_VER0, 64; bytes past what gpuos knows must be zero: E2BIG).
/// The child's SP is stack + stack_size. CLONE_PIDFD, set_tid and cgroup: EINVAL.
HANDLER void sys_clone3(Core& c) {
    u64 size = X(c, 1);
    u64 a[11];
    rt_memset(a, 0, sizeof(a));
    if (size < 64 || size > PAGE_SZ) { setX(c, 0, err(E_INVAL)); return; }
    if (!copy_from_guest(c, (u8*)a, X(c, 0), size < sizeof(a) ? size : sizeof(a))) { setX(c, 0, err(E_FAULT)); return; }
    NO_UNROLL for (u64 off = sizeof(a); off < size; off += 8) {
        u64 extra = 0;
        if (!copy_from_guest(c, (u8*)&extra, X(c, 0) + off, size - off < 8 ? size - off : 8)) { setX(c, 0, err(E_FAULT)); return; }
        if (extra) { setX(c, 0, err(E_2BIG)); return; }
    }
    u64 flags = a[0], exit_signal = a[4], stack = a[5], stack_size = a[6];
    bool bad = (flags & (CSIGNAL | CLONE_PIDFD)) || exit_signal > 64 || a[8] || a[9] || a[10] ||
               ((stack == 0) != (stack_size == 0));
    if (bad) { setX(c, 0, err(E_INVAL)); return; }
    clone_do(c, flags | exit_signal, stack ? stack + stack_size : 0, a[3], a[7], a[2]);
}

/// The host served the parent's clone (its result, the child's pid or -errno, is in
/// X0): make the child runnable, and a vfork parent wait for it; or undo the child.
GFN_NOINLINE void fork_complete(Core& c) {
    MachineHdr* m = c.m;
    u32 s = (u32)*(volatile u64*)&lane_req(c)->args[5];
    if (s >= m->nslots) return;
    Proc* q = proc_at(m, s);
    if (q->status != PROC_NEW) return;
    if ((i64)c.s.x[0] < 0) {
        Proc* lp = lane_proc(m, c.p);
        dpipe_end(m, q);
        pt_free_all(m, q->pt_root);
        q->pt_root = NO_FRAME;
        fmap_free(m, q);
        q->insns = 0;
        fam_unlink(m, lp, q);
        fam_release(m, lp, q);
        atomic_add_u64(&m->live, ~0ull);
        return;
    }
    fork_run(c, q);
}

/// A vfork child execs or ends: its parent runs on.
GFN void vfork_release(MachineHdr* m, Proc* q) {
    if (!q->vfork) return;
    Proc* parent = proc_at(m, q->vfork - 1);
    q->vfork = 0;
    if (parent->status == PROC_BLOCKED && parent->block == BLOCK_VFORK) parent->status = PROC_RUNNABLE;
}

GFN_NOINLINE void exec_gather(Core& c, u64 nr, int first);
GFN_NOINLINE bool wb_begin(Core& c, u64 lo, u64 hi);  // kernel/sys/mm_shared.h

/// execve(2): gather the path, argv and envp strings into the lane's buffer (path,
/// then each string NUL-terminated; args[3] = argc, args[4] = envc) and post them. The
/// host checks the file (the run's own image: X0 = 0 and the new stack; another AArch64
/// program: X0 = 1 and its load plan, kernel/sys/exec_image.h; anything else: ENOEXEC,
/// as Linux for an unknown format), closes the close-on-exec fds and builds the new
/// initial stack as the loader does (argv, envp, auxv), returned in the output area. On
/// success `exec_complete` or `exec_plan_start` replaces the image.
HANDLER void sys_execve(Core& c) { exec_gather(c, SYS_execve, 0); }

/// execveat(2): as execve, the path looked up from the directory fd X0 (AT_FDCWD: the
/// working directory; with AT_EMPTY_PATH and an empty path, the file X0 itself), argv
/// X2, envp X3, flags X4; the host gets args[0] = dirfd and args[5] = flags.
HANDLER void sys_execveat(Core& c) { exec_gather(c, SYS_execveat, 1); }

/// execve's and execveat's device part: the path (register `first`), argv and envp
/// (the two registers after it) gathered into the lane's buffer and posted as call `nr`.
GFN_NOINLINE void exec_gather(Core& c, u64 nr, int first) {
    // The old address space goes: its dirty MAP_SHARED pages reach their files first
    // (kernel/sys/mm_shared.h; the SVC runs again once they are written).
    if (wb_begin(c, 0, 1ull << VA_BITS)) return;
    // The descriptors survive it (but for close-on-exec): their offsets go to the host.
    if (devread_release_all(c)) return;
    u64 t = now_ns();
    u8* buf = lane_buf(c);
    u64 cap = c.m->buf_size;
    u64 in = 0;
    i64 n = copy_str_from_guest(c, buf, X(c, first), cap < MAX_PATH_BYTES ? cap : MAX_PATH_BYTES);
    if (n == -1) { setX(c, 0, err(E_FAULT)); return; }
    if (n < 0) { setX(c, 0, err(E_NAMETOOLONG)); return; }
    in = (u64)n + 1;
    u64 count[2] = {0, 0};
    for (int k = 0; k < 2; k++) {
        u64 vec = X(c, first + 1 + k);
        NO_UNROLL for (u32 i = 0; vec; i++) {
            u64 ptr = 0;
            if (!copy_from_guest(c, (u8*)&ptr, vec + 8ull * i, 8)) { setX(c, 0, err(E_FAULT)); return; }
            if (!ptr) break;
            if (count[0] + count[1] >= EXEC_MAX_STRINGS || in >= cap / 2) { setX(c, 0, err(E_2BIG)); return; }
            i64 len = copy_str_from_guest(c, buf + in, ptr, cap / 2 - in);
            if (len == -1) { setX(c, 0, err(E_FAULT)); return; }
            if (len < 0) { setX(c, 0, err(E_2BIG)); return; }
            in += (u64)len + 1;
            count[k]++;
        }
    }
    u64 off = (in + 7) & ~7ull;
    u64 a[6] = {c.s.x[0], c.s.x[1], c.s.x[2], count[0], count[1], first ? c.s.x[4] : 0};
    sys_publish(c, nr, SYSREQ_CALL, a, 0, in, off, cap - off, t, true);
}

/// The process takes the name of the file it executes (Linux's comm: the last
/// component of `path`, NUL-terminated, its first 15 bytes), as execve(2) sets it.
GFN void comm_from_path(Proc* p, const u8* path, u64 max) {
    u64 start = 0, n = 0;
    NO_UNROLL for (; n < max && path[n]; n++)
        if (path[n] == '/') start = n + 1;
    rt_memset(p->comm, 0, sizeof(p->comm));
    NO_UNROLL for (u64 i = 0; i < 15 && start + i < n; i++) p->comm[i] = path[start + i];
}

/// What execve(2) leaves of a process for its new program: SP and PC, default signal
/// handlers (ignored signals stay ignored; the mask and pending set stay), the break at
/// `brk` with the mmap area below `mmap_top` (1 GiB kept above the break for the heap),
/// no clear_child_tid, no alternate signal stack, no POSIX timers.
GFN_NOINLINE void exec_new_state(Core& c, u64 sp, u64 entry, u64 brk, u64 mmap_top) {
    Proc* p = c.mm;  // the caller, the process's one thread since the point of no return
    c.s.x[31] = sp;
    c.s.pc = entry;
    NO_UNROLL for (int i = 0; i < 64; i++) {
        u64 h = p->sigact[i].handler;
        rt_memset(&p->sigact[i], 0, sizeof(SigAction));
        if (h == 1) p->sigact[i].handler = 1;  // SIG_IGN survives execve
    }
    p->brk_start = p->brk_cur = brk;
    p->mmap_top = mmap_top;
    p->mmap_floor = brk + (1ull << 30);
    c.p->clear_child_tid = 0;
    c.p->sas_sp = c.p->sas_size = c.p->sas_flags = 0;
    rt_memset(p->ptimers, 0, sizeof(p->ptimers));  // execve(2) deletes POSIX timers
    p->ptimer_next = 0;
}

/// The host accepted an execve: the new stack image is in the output area. Replace the
/// address space with a fresh copy of the image template, copy the stack in so that it
/// ends at the stack top, reset the registers (SP, PC = entry), signal handlers (to
/// default; ignored signals stay ignored; the mask and pending set stay), brk and mmap
/// bookkeeping, as execve(2) says. A vfork parent runs on.
GFN_NOINLINE void exec_complete(Core& c) {
    MachineHdr* m = c.m;
    Proc* p = c.p;
    p->exe_other = 0;  // the run's own program again (/proc/self/exe: procfs.h)
    Proc* lp = lane_proc(m, p);
    SysReq* r = lane_req(c);
    u64 len = *(volatile u32*)&r->out_len;
    u64 cap = lp->req_out_cap;
    if (len > cap) len = cap;
    // The caller is the process's one thread from here (other threads end even if the
    // new image cannot be had: gpuos runs out of frames for it only when the pool is).
    thread_exec_takeover(c);
    p = c.p;
    // The new image is counted from nothing: the old one is released below.
    u64 old_frames = p->frames_private, old_cached = p->frames_cached, old_vm = p->vm_pages;
    p->frames_private = p->frames_cached = p->vm_pages = 0;
    u64 root = pt_clone(m, m->tmpl_root, p);
    if (root == NO_FRAME || len == 0) {
        if (root != NO_FRAME) pt_free_all(m, root);
        p->frames_private = old_frames;
        p->frames_cached = old_cached;
        p->vm_pages = old_vm;
        setX(c, 0, err(E_NOMEM));
        return;
    }
    pt_free_all(m, p->pt_root);
    p->pt_root = root;
    p->shm_mapped = 0;
    fmap_free(m, p);
    p->fmaps = m->tmpl_nfmaps ? FMAPS_TEMPLATE : 0;  // the template's segments
    tlb_flush(c);
    u64 sp = m->stack_top - len;
    rt_memset(&c.s, 0, sizeof(CpuState));
    c.pc = m->entry;
    c.insn = 0;
    if (!copy_to_guest(c, sp, lane_buf(c) + lp->req_out_off, len)) {
        p->kill_cause = p->oom;
        proc_kill(c, SIG_KILL, sp);
        return;
    }
    exec_new_state(c, sp, m->entry, m->brk_start, m->mmap_top);
    comm_from_path(p, lane_buf(c), lp->req_out_off);  // the path the call gathered
    vfork_release(m, p);
}

/// The ended child a wait call may reap: pid > 0 that child, else any child, the
/// oldest first (Linux's do_wait walks them so). Returns false when there is no such
/// child (ECHILD); *zombie is the one that ended, 0 when none has yet.
GFN_NOINLINE bool wait_find(Core& c, i32 pid, Proc** zombie) {
    MachineHdr* m = c.m;
    Proc* me = c.mm;  // any thread waits for the process's children
    *zombie = 0;
    bool any = false;
    if (pid > 0) {  // that child, found by its pid at once
        u32 s = pid_slot(m, (u32)pid);
        Proc* q = s != NO_SLOT ? proc_at(m, s) : 0;
        if (q && q->status != PROC_FREE && q->pid == (u32)pid && q->parent == me->slot) {
            any = true;
            if (proc_ended(q) && !q->end_pending) *zombie = q;
        }
    } else {  // the caller's children, oldest first
        u32 first = me->kids;
        Proc* q = first != NO_SLOT ? proc_at(m, first) : me;
        NO_UNROLL for (u64 i = 0; first != NO_SLOT && i < m->nslots; i++) {
            any = true;
            if (proc_ended(q) && !q->end_pending) { *zombie = q; break; }
            q = proc_at(m, q->sib_next);
            if (q->slot == first) break;
        }
    }
    return any;
}

/// Write a zeroed struct rusage (144 bytes) at va: gpuos keeps no per-child usage.
GFN bool wait_rusage(Core& c, u64 va) {
    u8 zero[144];
    rt_memset(zero, 0, sizeof(zero));
    return copy_to_guest(c, va, zero, sizeof(zero));
}

/// A wait call found no ended child and may block: the caller waits (the SVC runs
/// again when the scheduler next picks it, after a member of the family ended or made
/// a host call).
GFN void wait_block(Core& c) {
    c.p->status = PROC_BLOCKED;
    c.p->block = BLOCK_WAIT;
    c.s.pc = c.pc;  // run the SVC again when woken
    c.exc = EXC_YIELD;
}

/// wait4(2): reap an ended child (pid -1: any, the oldest first, as Linux; pid > 0: that
/// one; 0 and < -1, process groups, count as any: a family is one group), writing its status (exit code << 8,
/// or the signal number) and a zeroed rusage. No child: ECHILD; none ended yet: 0 with
/// WAIT_NOHANG, else the caller blocks (`wait_block`).
HANDLER void sys_wait4(Core& c) {
    MachineHdr* m = c.m;
    i32 pid = (i32)X(c, 0);
    u64 st = X(c, 1), ru = X(c, 3);
    u32 opt = (u32)X(c, 2);
    if (opt & ~WAIT_OPTIONS) { setX(c, 0, err(E_INVAL)); return; }
    Proc* me = c.p;
    Proc* zombie = 0;
    if (!wait_find(c, pid, &zombie)) { setX(c, 0, err(E_CHILD)); return; }
    if (!zombie) {
        if (opt & WAIT_NOHANG) { setX(c, 0, 0); return; }
        wait_block(c);
        return;
    }
    u32 status = proc_wait_status(zombie);
    if (st && !copy_to_guest(c, st, (const u8*)&status, 4)) { setX(c, 0, err(E_FAULT)); return; }
    if (ru && !wait_rusage(c, ru)) { setX(c, 0, err(E_FAULT)); return; }
    setX(c, 0, zombie->pid);
    fam_release(m, lane_proc(m, me), zombie);
}

#define P_ALL 0
#define P_PID 1
#define P_PGID 2
#define WAIT_STOPPED 2u
#define WAIT_EXITED 4u
#define WAIT_CONTINUED 8u
#define WAIT_NOWAIT 0x1000000u
#define CLD_EXITED 1
#define CLD_KILLED 2

/// waitid(2): wait for a child to end, P_PID (that child; id > 0), P_ALL or P_PGID
/// (any child: a family is one group; id >= 0), with WEXITED required (WSTOPPED and
/// WCONTINUED find nothing: no process stops), WNOHANG and WNOWAIT (the child stays
/// reapable). The siginfo gets si_signo SIGCHLD, si_code CLD_EXITED (si_status the
/// exit code) or CLD_KILLED (the signal), si_pid, si_uid; with WNOHANG and no ended
/// child they are all 0, as Linux writes them. rusage, when given, is zeroed. EINVAL
/// for an unknown idtype or option; ECHILD when there is no such child.
HANDLER void sys_waitid(Core& c) {
    MachineHdr* m = c.m;
    u32 idtype = (u32)X(c, 0), opt = (u32)X(c, 3);
    i32 id = (i32)X(c, 1);
    u64 info = X(c, 2), ru = X(c, 4);
    u32 known = WAIT_NOHANG | WAIT_STOPPED | WAIT_EXITED | WAIT_CONTINUED | WAIT_NOWAIT | 0xe0000000u;
    bool bad_id = idtype == P_PID ? id <= 0 : idtype == P_PGID ? id < 0 : idtype != P_ALL;
    if ((opt & ~known) || !(opt & (WAIT_EXITED | WAIT_STOPPED | WAIT_CONTINUED)) || bad_id) {
        setX(c, 0, err(E_INVAL));
        return;
    }
    Proc* zombie = 0;
    if (!wait_find(c, idtype == P_PID ? id : -1, &zombie)) { setX(c, 0, err(E_CHILD)); return; }
    if (zombie && !(opt & WAIT_EXITED)) zombie = 0;  // only stops or continues wanted
    if (!zombie && !(opt & WAIT_NOHANG)) { wait_block(c); return; }
    i32 si[6] = {0, 0, 0, 0, 0, 0};  // signo, errno, code, pid, uid, status
    if (zombie) {
        bool exited = zombie->status == PROC_EXITED;
        si[0] = SIG_CHLD;
        si[2] = exited ? CLD_EXITED : CLD_KILLED;
        si[3] = (i32)zombie->pid;
        si[4] = (i32)m->uid;
        si[5] = exited ? (zombie->exit_code & 0xff) : zombie->signal;
    }
    // arm64 siginfo: si_signo, si_errno, si_code at 0, 4, 8; si_pid, si_uid, si_status
    // at 16, 20, 24.
    if (zombie && ru && !wait_rusage(c, ru)) { setX(c, 0, err(E_FAULT)); return; }
    if (info && (!copy_to_guest(c, info, (const u8*)si, 12) || !copy_to_guest(c, info + 16, (const u8*)(si + 3), 12))) {
        setX(c, 0, err(E_FAULT));
        return;
    }
    setX(c, 0, 0);
    if (zombie && !(opt & WAIT_NOWAIT)) fam_release(m, lane_proc(m, c.p), zombie);
}
