// Signals of one process: dispositions (rt_sigaction), the blocked mask and pending set
// (rt_sigprocmask, rt_sigpending), delivery to a guest handler through a signal frame
// laid out as Linux arm64 builds it (arch/arm64/kernel/signal.c: rt_sigframe with
// siginfo, ucontext, sigcontext and an fpsimd_context record), and rt_sigreturn.
// Synchronous faults (SIGSEGV, SIGBUS, SIGILL, SIGTRAP) go to a handler when one is
// installed and the signal is not blocked; otherwise their default action ends the
// process, as Linux's force_sig_fault does.
#pragma once
#include "../proc/family.h"
#include "errno.h"

#define SA_ONSTACK 0x08000000ull
#define SA_NODEFER 0x40000000ull
#define SA_RESETHAND 0x80000000ull
#define SA_RESTORER 0x04000000ull
#define SI_USER 0
#define SI_TKILL (-6)
#define SI_TIMER (-2)
#define SI_KERNEL 0x80
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2

// Offsets in the signal frame (struct rt_sigframe, arm64).
#define SF_INFO 0                     // struct siginfo, 128 bytes
#define SF_UC 128                     // struct ucontext
#define UC_SIGMASK 40                 // uc_sigmask within ucontext
#define UC_MCONTEXT 176               // struct sigcontext within ucontext (16-aligned)
#define MC_REGS 8                     // regs[31] within sigcontext
#define MC_SP 256
#define MC_PC 264
#define MC_PSTATE 272
#define MC_RESERVED 288               // __reserved[4096]: fpsimd_context, then a terminator
#define FPSIMD_MAGIC 0x46508001u
#define FPSIMD_SIZE 528u
#define SIGFRAME_SIZE (SF_UC + UC_MCONTEXT + MC_RESERVED + 4096)

GFN u64 sig_bit(i32 sig) { return 1ull << (sig - 1); }

// sigaltstack(2): stack_t's ss_flags.
#define SS_ONSTACK 1u
#define SS_DISABLE 2u
#define SS_AUTODISARM (1u << 31)
/// The smallest alternate stack (arm64's MINSIGSTKSZ).
#define MINSIGSTKSZ 5120ull

/// Whether sp is on p's alternate signal stack (Linux's on_sig_stack: above its base,
/// at most at its top).
GFN bool sas_on(const Proc* p, u64 sp) { return p->sas_size && sp > p->sas_sp && sp - p->sas_sp <= p->sas_size; }

/// The ss_flags sigaltstack(2) reports for p at sp: SS_DISABLE when there is no stack,
/// SS_ONSTACK while on it, with SS_AUTODISARM when set.
GFN u64 sas_state(const Proc* p, u64 sp) {
    if (!p->sas_size) return SS_DISABLE;
    return (sas_on(p, sp) ? SS_ONSTACK : 0) | (p->sas_flags & SS_AUTODISARM);
}

/// Set p's alternate stack from stack_t {ss_sp, ss_flags, ss_size} as sigaltstack(2):
/// EPERM while p runs on it (sp), EINVAL for an unknown mode, ENOMEM when smaller than
/// MINSIGSTKSZ. Returns 0 or -errno.
GFN i64 sas_set(Proc* p, u64 sp, const u64* ss) {
    if (sas_on(p, sp)) return err(E_PERM);
    u32 flags = (u32)ss[1], mode = flags & ~SS_AUTODISARM;
    if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK) return err(E_INVAL);
    if (mode == SS_DISABLE) {
        p->sas_sp = p->sas_size = p->sas_flags = 0;
        return 0;
    }
    if (ss[2] < MINSIGSTKSZ) return err(E_NOMEM);
    p->sas_sp = ss[0];
    p->sas_size = ss[2];
    p->sas_flags = flags & SS_AUTODISARM;
    return 0;
}

/// Default action of signal sig (signal(7)): true when it terminates the process.
GFN bool sig_default_kills(i32 sig) {
    return !(sig == SIG_CHLD || sig == SIG_CONT || sig == 23 /* SIGURG */ || sig == 28 /* SIGWINCH */ ||
             sig == SIG_STOP || sig == 20 || sig == 21 || sig == 22);
}

/// Build the signal frame on the stack and enter the handler. Returns false when the
/// frame cannot be written (the process is then killed with SIGSEGV).

GFN_NOINLINE bool ptimer_post(MachineHdr* m, Proc* g, PTimer* t);  // kernel/sys/ptimer.h

/// A POSIX timer's signal (si_code SI_TIMER) is delivered: write the timer's part of the
/// siginfo at `info` (si_timerid, si_overrun, si_value, as Linux's _timer layout) and
/// keep its overrun count for timer_getoverrun(2); g is the process (kernel/sys/
/// ptimer.h). Timers sharing one signal (glibc's SIGEV_THREAD timers all use SIGTIMER)
/// share its pending bit, where Linux queues a siginfo each: another one still pending
/// posts the signal again, to be delivered next.
GFN_NOINLINE void ptimer_siginfo(MachineHdr* m, Proc* g, i32 sig, u8* info) {
    bool found = false;
    for (u32 i = 0; i < PTIMERS; i++) {
        PTimer* t = &g->ptimers[i];
        if (!t->used || !t->pending || (i32)t->signo != sig) continue;
        if (found) {
            ptimer_post(m, g, t);
            return;
        }
        found = true;
        *(i32*)(info + 16) = (i32)i;
        *(i32*)(info + 20) = (i32)t->overrun;
        *(u64*)(info + 24) = t->value;
        t->pending = 0;
        t->overrun_last = t->overrun;
        t->overrun = 0;
    }
}
GFN_NOINLINE bool sig_setup_frame(Core& c, i32 sig, i32 code, u64 addr) {
    SigAction& act = c.mm->sigact[sig - 1];
    Proc* p = c.p;
    // The stack: the alternate one for an SA_ONSTACK handler when the thread has one and
    // is not on it already (sigaltstack(2)), else the interrupted SP.
    u64 sp = c.s.x[31];
    u64 uc_stack[3] = {p->sas_sp, sas_state(p, sp), p->sas_size};  // what the handler's uc_stack says
    if ((act.flags & SA_ONSTACK) && p->sas_size && !sas_on(p, sp)) {
        sp = p->sas_sp + p->sas_size;
        if (p->sas_flags & SS_AUTODISARM) p->sas_sp = p->sas_size = p->sas_flags = 0;
    }
    // As Linux's get_sigframe lays them out: the frame record {x29, x30} just below that
    // SP, the rt_sigframe below it, where SP points in the handler: an unwinder (libgcc's,
    // for pthread_cancel or a C++ exception thrown by a handler) finds the sigcontext at
    // the SP the restorer runs with.
    u64 record = (sp - 16) & ~15ull;
    u64 frame = (record - SIGFRAME_SIZE) & ~15ull;
    u8 buf[512];
    // siginfo: si_signo, si_errno, si_code, then si_addr (faults) or si_pid/si_uid.
    rt_memset(buf, 0, 128);
    *(i32*)(buf + 0) = sig;
    *(i32*)(buf + 8) = code;
    if (code > 0) *(u64*)(buf + 16) = addr;
    else *(u32*)(buf + 16) = c.mm->pid;
    if (code == SI_TIMER) ptimer_siginfo(c.m, c.mm, sig, buf);
    if (!copy_to_guest(c, frame + SF_INFO, buf, 128)) return false;
    // ucontext header: flags, link, uc_stack {ss_sp, ss_flags, ss_size}, the mask to restore.
    rt_memset(buf, 0, UC_MCONTEXT);
    *(u64*)(buf + 16) = uc_stack[0];
    *(u32*)(buf + 16 + 8) = (u32)uc_stack[1];
    *(u64*)(buf + 16 + 16) = uc_stack[2];
    // The mask to restore: rt_sigsuspend's caller's own, not its temporary one.
    *(u64*)(buf + UC_SIGMASK) = p->restore_sigmask ? p->saved_sigmask : p->sigmask;
    p->restore_sigmask = 0;
    if (!copy_to_guest(c, frame + SF_UC, buf, UC_MCONTEXT)) return false;
    // sigcontext: fault address, X0..X30, SP, PC, PSTATE (NZCV).
    u64 mc = frame + SF_UC + UC_MCONTEXT;
    u64 regs[35];
    regs[0] = addr;
    for (int i = 0; i < 31; i++) regs[1 + i] = c.s.x[i];
    regs[32] = c.s.x[31];
    regs[33] = c.s.pc;
    regs[34] = c.s.nzcv;
    if (!copy_to_guest(c, mc, (const u8*)regs, sizeof(regs))) return false;
    // fpsimd_context: magic, size, FPSR, FPCR, V0..V31; then the terminating record.
    u32 hdr[4] = {FPSIMD_MAGIC, FPSIMD_SIZE, (u32)c.s.fpsr, (u32)c.s.fpcr};
    if (!copy_to_guest(c, mc + MC_RESERVED, (const u8*)hdr, 16)) return false;
    if (!copy_to_guest(c, mc + MC_RESERVED + 16, (const u8*)c.s.v, 512)) return false;
    u64 term[2] = {0, 0};
    if (!copy_to_guest(c, mc + MC_RESERVED + FPSIMD_SIZE, (const u8*)term, 16)) return false;
    u64 fr[2] = {c.s.x[29], c.s.x[30]};
    if (!copy_to_guest(c, record, (const u8*)fr, 16)) return false;
    // Enter the handler: X0 = signal, X1 = &siginfo, X2 = &ucontext, LR = restorer.
    c.p->sigmask |= act.mask | ((act.flags & SA_NODEFER) ? 0 : sig_bit(sig));
    c.p->sigmask &= ~(sig_bit(SIG_KILL) | sig_bit(SIG_STOP));
    c.sig_x0 = c.s.x[0];
    c.sig_entered = 1;
    c.s.x[0] = (u64)sig;
    c.s.x[1] = frame + SF_INFO;
    c.s.x[2] = frame + SF_UC;
    c.s.x[29] = record;
    c.s.x[30] = (act.flags & SA_RESTORER) ? act.restorer : c.m->sigtramp;
    c.s.x[31] = frame;
    c.s.pc = act.handler;
    if (act.flags & SA_RESETHAND) act.handler = 0;
    return true;
}

/// The signal frame could not be written: killed with SIGSEGV, or with SIGKILL when
/// for want of memory (`Proc::kill_cause` set by the failed copy).
GFN void sig_frame_failed(Core& c, u64 addr) {
    proc_kill(c, c.exc == EXC_SIGNAL && c.sig == SIG_KILL ? SIG_KILL : SIG_SEGV, addr);
}

/// Deliver sig now: ignore it, take its default action, or run the handler.
GFN void sig_deliver(Core& c, i32 sig, i32 code, u64 addr) {
    u64 h = c.mm->sigact[sig - 1].handler;
    if (sig != SIG_KILL && sig != SIG_STOP && h == 1) return;  // SIG_IGN
    if (sig == SIG_KILL || sig == SIG_STOP || h == 0) {
        if (sig_default_kills(sig)) proc_kill(c, sig, addr);
        return;
    }
    if (!sig_setup_frame(c, sig, code, addr)) sig_frame_failed(c, c.s.x[31]);
}

/// The signals pending for c's thread: its own and its process's shared ones.
GFN u64 sig_pending(Core& c) { return c.p->sigpending | c.mm->sigpending_shared; }

/// Take signal sig off c's pending sets (the thread's own first); its si_code.
GFN i32 sig_take(Core& c, i32 sig) {
    u64 b = sig_bit(sig);
    if (c.p->sigpending & b) {
        c.p->sigpending &= ~b;
        return c.p->sigcode[sig - 1];
    }
    c.mm->sigpending_shared &= ~b;
    return c.mm->sigcode[sig - 1];
}

/// Deliver every pending signal that is no longer blocked (lowest number first).
GFN void sig_deliver_pending(Core& c) {
    u64 ready = sig_pending(c) & ~c.p->sigmask;
    while (ready && c.exc != EXC_EXIT) {
        i32 sig = 1 + (i32)(63 - clz64(ready & (~ready + 1)));
        i32 code = sig_take(c, sig);
        sig_deliver(c, sig, code, 0);
        ready = sig_pending(c) & ~c.p->sigmask;
    }
}

/// A synchronous fault raised by the current instruction (c.sig, c.fault_addr): to the
/// handler, with the PC of the faulting instruction, or the default action. Blocked or
/// ignored faults are fatal (Linux force_sig_fault).
GFN void sig_fault(Core& c) {
    i32 sig = c.sig;
    u64 addr = c.fault_addr;
    c.exc = EXC_NONE;
    c.s.pc = c.pc;
    u64 h = c.mm->sigact[sig - 1].handler;
    if (h <= 1 || (c.p->sigmask & sig_bit(sig))) {
        proc_kill(c, sig, addr);
        return;
    }
    i32 code = 1;  // SEGV_MAPERR, BUS_ADRALN, ILL_ILLOPC, TRAP_BRKPT
    if (sig == SIG_SEGV) {
        int level;
        u64* e = pt_lookup(c.m, c.mm->pt_root, addr, &level);
        if (e && pte_mapped(*e)) code = SEGV_ACCERR;
    }
    if (sig == SIG_ILL) addr = c.pc;
    if (!sig_setup_frame(c, sig, code, addr)) sig_frame_failed(c, addr);
}

/// A signal that the process's own syscall raised (SIGPIPE from a write to a pipe with
/// no reader, pipe(7)), after the syscall's result is in X0: pending while blocked,
/// else delivered now (a handler returns to after the SVC).
GFN void sig_raise_sync(Core& c, i32 sig) {
    if (c.p->sigmask & sig_bit(sig)) {
        c.p->sigpending |= sig_bit(sig);
        c.p->sigcode[sig - 1] = SI_USER;
        return;
    }
    c.pc = c.s.pc - 4;  // the SVC, for a report of the default action
    c.insn = 0;
    sig_deliver(c, sig, SI_USER, 0);
}

/// A signal this process sends itself (kill, tkill, tgkill): pending while blocked.
GFN void sig_send_self(Core& c, i32 sig, i32 code) {
    if (sig == 0) { setX(c, 0, 0); return; }
    if (sig < 1 || sig > 64) { setX(c, 0, err(E_INVAL)); return; }
    setX(c, 0, 0);
    if (sig != SIG_KILL && sig != SIG_STOP && (c.p->sigmask & sig_bit(sig))) {
        c.p->sigpending |= sig_bit(sig);
        c.p->sigcode[sig - 1] = code;
        return;
    }
    sig_deliver(c, sig, code, 0);
}

/// Make signal sig pending in thread q, another member of the caller's family (it is
/// delivered when q next runs): discarded when q's process ignores it or its default
/// is to ignore it; a blocked q runs again (its syscall restarts after a handler, as
/// with SA_RESTART; a futex wait sees its word again).
GFN void sig_post(MachineHdr* m, Proc* q, i32 sig, i32 code) {
    u64 h = proc_leader(m, q)->sigact[sig - 1].handler;
    bool kill = sig == SIG_KILL || sig == SIG_STOP, blocked = (q->sigmask & sig_bit(sig)) != 0;
    // A blocked signal is never ignored when sent: its disposition may change before it
    // is unblocked, or rt_sigtimedwait takes it (Linux's sig_ignored).
    if (!kill && !blocked && (h == 1 || (h == 0 && !sig_default_kills(sig)))) return;
    q->sigpending |= sig_bit(sig);
    q->sigcode[sig - 1] = code;
    if (q->status != PROC_BLOCKED || q->block == BLOCK_VFORK || q->block == BLOCK_GROUP) return;
    bool awaited = q->block == BLOCK_SIGWAIT && (q->sigwait_set & sig_bit(sig));
    if (!kill && blocked && !awaited) return;
    if (q->block == BLOCK_FUTEX) futexq_interrupt(m, q);  // its queue's lock: a wake may race
    else q->status = PROC_RUNNABLE;
}

/// Whether thread q can take a signal now: live, not parked as its group's reporter.
GFN bool sig_takes(const Proc* q) {
    bool live = q->status != PROC_EXITED && q->status != PROC_KILLED && q->status != PROC_NEW && q->status != PROC_FREE;
    return live && !(q->status == PROC_BLOCKED && q->block == BLOCK_GROUP);
}

/// A signal to the process whose leader is g (kill(2), SIGCHLD, SIGALRM), delivered to
/// one of its threads as Linux's complete_signal picks: the leader when it can take it
/// and does not block it (or waits for it in rt_sigtimedwait), else the first thread
/// that does; when every thread blocks it, it stays pending for the process
/// (`Proc::sigpending_shared`) until one unblocks or awaits it. O(family).
GFN_NOINLINE void sig_post_process(MachineHdr* m, Proc* g, i32 sig, i32 code) {
    Proc* pick = 0;
    Proc* q = g;
    NO_UNROLL for (u64 i = 0; i < m->nslots; i++) {
        if (q->tg_slot == g->slot && sig_takes(q)) {
            bool awaits = q->status == PROC_BLOCKED && q->block == BLOCK_SIGWAIT && (q->sigwait_set & sig_bit(sig));
            if (awaits || !(q->sigmask & sig_bit(sig))) { pick = q; break; }
        }
        q = proc_at(m, q->fam_next);
        if (q == g) break;
    }
    if (pick || sig == SIG_KILL || sig == SIG_STOP) {
        sig_post(m, pick ? pick : g, sig, code);
        return;
    }
    g->sigpending_shared |= sig_bit(sig);
    g->sigcode[sig - 1] = code;
}

/// Whether q is a live member that signals can reach (not ended, not still being forked).
GFN bool sig_reachable(const Proc* q) {
    return q->status != PROC_EXITED && q->status != PROC_KILLED && q->status != PROC_NEW && q->status != PROC_FREE;
}

/// The thread of c's family with thread id tid (a process's pid is its leader's tid),
/// a zombie included, or 0: found at once, an id names its slot (kernel/proc/family.h,
/// `pid_slot`).
GFN_NOINLINE Proc* family_find_tid(Core& c, u32 tid) {
    u32 s = pid_slot(c.m, tid);
    if (s == NO_SLOT || s >= c.m->nslots) return 0;
    Proc* q = proc_at(c.m, s);
    bool exists = q->status != PROC_FREE && q->status != PROC_NEW;
    return q->pid == tid && q->lane == c.p->lane && exists ? q : 0;
}

/// The process of c's family other than c's own with process id pid (its leader), a
/// zombie included, or 0.
GFN_NOINLINE Proc* family_find(Core& c, u32 pid) {
    Proc* q = family_find_tid(c, pid);
    return q && !proc_is_thread(q) && q != c.mm ? q : 0;
}

/// Post sig to every live process of c's family other than the caller's (sig 0: none
/// is signalled). Returns how many there are.
GFN_NOINLINE u32 family_post_others(Core& c, i32 sig) {
    u32 n = 0;
    Proc* q = (Proc*)(uintptr_t)c.m->procs + c.p->fam_next;
    NO_UNROLL for (u64 i = 0; q != c.p && i < c.m->nslots; i++) {
        if (!proc_is_thread(q) && q != c.mm && sig_reachable(q)) {
            if (sig) sig_post_process(c.m, q, sig, SI_USER);
            n++;
        }
        q = (Proc*)(uintptr_t)c.m->procs + q->fam_next;
    }
    return n;
}

/// kill(2) within the caller's family (the processes it can see; a family is one
/// process group): pid > 0 that process (a zombie: 0, nothing sent, as Linux; others:
/// ESRCH); 0, or -pgid where pgid is a
/// member's pid (getpgid reports each process as its group's leader), the whole family,
/// the caller included, last; -1 every member but the caller (kill(2): "except for
/// process 1 (init)", and Linux's kill_something_info also skips the caller), ESRCH
/// when there is none.
HANDLER void sys_kill(Core& c) {
    i32 pid = (i32)X(c, 0);  // pid_t: the upper half of X0 is not the caller's
    i32 sig = (i32)X(c, 1);
    if (sig < 0 || sig > 64) { setX(c, 0, err(E_INVAL)); return; }
    if (pid > 0 && (u32)pid == c.mm->pid) {
        // The caller's own process: the caller takes it at once unless it blocks it and
        // another thread can (Linux's complete_signal prefers the current thread).
        bool others = c.mm->tg_threads > 1 || c.p != c.mm;
        if (sig > 0 && others && (c.p->sigmask & sig_bit(sig))) {
            sig_post_process(c.m, c.mm, sig, SI_USER);
            setX(c, 0, 0);
            return;
        }
        sig_send_self(c, sig, SI_USER);
        return;
    }
    if (pid > 0) {
        Proc* q = family_find(c, (u32)pid);
        if (!q) { setX(c, 0, err(E_SRCH)); return; }
        if (sig && sig_reachable(q)) sig_post_process(c.m, q, sig, SI_USER);  // a zombie takes none
        setX(c, 0, 0);
        return;
    }
    if (pid == -1) {
        setX(c, 0, family_post_others(c, sig) ? 0 : err(E_SRCH));
        return;
    }
    u32 pgid = 0u - (u32)pid;
    if (pid < -1 && pgid != c.mm->pid && !family_find(c, pgid)) { setX(c, 0, err(E_SRCH)); return; }
    family_post_others(c, sig);
    sig_send_self(c, sig, SI_USER);
}
/// A signal to thread tid of c's family (tkill(2), tgkill(2); tgid, when not 0, must
/// be its process's pid): pending in that thread, or sent to the caller itself. EINVAL
/// for a bad signal or id, ESRCH when no such thread lives.
GFN_NOINLINE void sig_send_thread(Core& c, i64 tgid, i64 tid, i64 sig) {
    if (sig < 0 || sig > 64 || tid <= 0 || tgid < 0 || tid > 0x7fffffff || tgid > 0x7fffffff) { setX(c, 0, err(E_INVAL)); return; }
    if ((u32)tid == c.p->pid && (!tgid || (u32)tgid == c.mm->pid)) { sig_send_self(c, (i32)sig, SI_TKILL); return; }
    Proc* q = family_find_tid(c, (u32)tid);
    if (!q || (tgid && proc_leader(c.m, q)->pid != (u32)tgid) || !sig_takes(q)) { setX(c, 0, err(E_SRCH)); return; }
    if (sig) sig_post(c.m, q, (i32)sig, SI_TKILL);
    setX(c, 0, 0);
}
HANDLER void sys_tkill(Core& c) { sig_send_thread(c, 0, (i32)X(c, 0), (i32)X(c, 1)); }
HANDLER void sys_tgkill(Core& c) {
    if ((i32)X(c, 0) <= 0) { setX(c, 0, err(E_INVAL)); return; }
    sig_send_thread(c, (i32)X(c, 0), (i32)X(c, 1), (i32)X(c, 2));
}

/// sigaltstack(2): the thread's alternate signal stack, for handlers with SA_ONSTACK
/// (Go's and Rust's runtimes take stack overflows there). The old one is reported
/// before the new one is set (see `sas_set`); EFAULT for an unreadable or unwritable
/// stack_t.
HANDLER void sys_sigaltstack(Core& c) {
    Proc* p = c.p;
    u64 sp = c.s.x[31];
    u64 old[3] = {p->sas_sp, sas_state(p, sp), p->sas_size};
    if (X(c, 0)) {
        u64 ss[3];
        if (!copy_from_guest(c, (u8*)ss, X(c, 0), 24)) { setX(c, 0, err(E_FAULT)); return; }
        ss[1] &= 0xffffffffull;  // int ss_flags, then padding
        i64 r = sas_set(p, sp, ss);
        if (r) { setX(c, 0, r); return; }
    }
    if (X(c, 1) && !copy_to_guest(c, X(c, 1), (const u8*)old, 24)) { setX(c, 0, err(E_FAULT)); return; }
    setX(c, 0, 0);
}

/// Longest time in seconds a timeout or timer setting counts: about Linux's KTIME_MAX
/// (292 years), to which it clamps longer ones; beyond it the nanoseconds would overflow.
#define TIME_MAX_SEC 9000000000ll

/// A struct timespec {tv_sec, tv_nsec} as nanoseconds (at most TIME_MAX_SEC seconds),
/// or false for a bad one (negative, or tv_nsec not below 10^9).
GFN bool timespec_ns(const i64* ts, u64* ns) {
    if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000) return false;
    *ns = (u64)(ts[0] < TIME_MAX_SEC ? ts[0] : TIME_MAX_SEC) * 1000000000ull + (u64)ts[1];
    return true;
}

/// The deadline, on the device clock, of a wait with timespec ts: relative to now
/// (FUTEX_WAIT, rt_sigtimedwait), or absolute on CLOCK_MONOTONIC or, with `realtime`,
/// CLOCK_REALTIME (FUTEX_WAIT_BITSET). False for a bad timespec (EINVAL).
GFN bool timespec_deadline(MachineHdr* m, const i64* ts, bool absolute, bool realtime, u64* deadline) {
    u64 ns;
    if (!timespec_ns(ts, &ns)) return false;
    u64 now = now_ns();
    if (!absolute) {
        *deadline = now + ns;
        return true;
    }
    i64 dev = (i64)ns - (realtime ? m->clock_real_off : m->clock_mono_off);
    *deadline = dev > (i64)now ? (u64)dev : now;
    return true;
}

/// `timespec_deadline` of the timespec at ts_va. 0 with *e set: EFAULT or EINVAL.
GFN u64 wait_deadline_of(Core& c, u64 ts_va, bool absolute, bool realtime, u64* e) {
    i64 ts[2];
    if (!copy_from_guest(c, (u8*)ts, ts_va, 16)) { *e = err(E_FAULT); return 0; }
    u64 deadline;
    if (!timespec_deadline(c.m, ts, absolute, realtime, &deadline)) { *e = err(E_INVAL); return 0; }
    return deadline;
}

/// rt_sigsuspend(2): wait with the signal mask at X0 in force until a signal it does
/// not block is delivered: its handler runs (entered with that mask; its frame keeps
/// the caller's own, which rt_sigreturn restores), then the call returns EINTR. A
/// signal whose action ends the process ends it.
HANDLER void sys_rt_sigsuspend(Core& c) {
    Proc* p = c.p;
    u64 mask;
    if (X(c, 1) != 8) { setX(c, 0, err(E_INVAL)); return; }
    if (!copy_from_guest(c, (u8*)&mask, X(c, 0), 8)) { setX(c, 0, err(E_FAULT)); return; }
    p->saved_sigmask = p->sigmask;
    p->restore_sigmask = 1;
    p->sigmask = mask & ~(sig_bit(SIG_KILL) | sig_bit(SIG_STOP));
    setX(c, 0, err(E_INTR));  // what the call returns once a handler has run
    if (sig_pending(c) & ~p->sigmask) {
        sig_deliver_pending(c);
    } else {
        // Parked past the SVC: the scheduler delivers the signal that wakes it, whose
        // handler returns to after the call.
        p->status = PROC_BLOCKED;
        p->block = BLOCK_SIGSUSPEND;
        c.exc = EXC_YIELD;
        return;
    }
    if (p->restore_sigmask) {  // no handler was entered: the caller's mask again
        p->sigmask = p->saved_sigmask;
        p->restore_sigmask = 0;
    }
}

/// rt_sigtimedwait(2) (sigwaitinfo, sigtimedwait, sigwait): take the lowest pending
/// signal of the set at X0 (blocked ones included: that is what it is for), writing its
/// siginfo {si_signo, si_errno, si_code, si_pid, si_uid} when X1 is given, and return
/// it; with none pending wait for one until the timeout (EAGAIN; a zero timeout polls).
/// A signal outside the set that is not blocked runs its handler, then the call runs
/// again (Linux returns EINTR there). EINVAL for a bad set size or timespec.
HANDLER void sys_rt_sigtimedwait(Core& c) {
    Proc* p = c.p;
    u64 set;
    if (X(c, 3) != 8) { setX(c, 0, err(E_INVAL)); return; }
    if (!copy_from_guest(c, (u8*)&set, X(c, 0), 8)) { setX(c, 0, err(E_FAULT)); return; }
    set &= ~(sig_bit(SIG_KILL) | sig_bit(SIG_STOP));
    u64 deadline = p->sigwait_set == set ? p->block_deadline : 0;  // a wait run again keeps it
    p->block_deadline = 0;
    p->sigwait_set = 0;
    u64 ready = sig_pending(c) & set;
    if (ready) {
        i32 sig = 1 + (i32)(63 - clz64(ready & (~ready + 1)));
        i32 code = sig_take(c, sig);
        i32 si[8] = {sig, 0, code, 0, (i32)c.mm->pid, (i32)c.m->uid, 0, 0};
        u8 info[128];
        rt_memset(info, 0, sizeof(info));
        rt_memcpy(info, si, 12);
        rt_memcpy(info + 16, si + 4, 8);
        if (code == SI_TIMER) ptimer_siginfo(c.m, c.mm, sig, info);
        if (X(c, 1) && !copy_to_guest(c, X(c, 1), info, sizeof(info))) { setX(c, 0, err(E_FAULT)); return; }
        setX(c, 0, (u64)sig);
        return;
    }
    if (X(c, 2) && !deadline) {
        u64 e = 0;
        deadline = wait_deadline_of(c, X(c, 2), false, false, &e);
        if (e) { setX(c, 0, e); return; }
    }
    if (X(c, 2) && now_ns() >= deadline) { setX(c, 0, err(E_AGAIN)); return; }
    p->sigwait_set = set;
    p->block_deadline = deadline;
    p->status = PROC_BLOCKED;
    p->block = BLOCK_SIGWAIT;
    c.s.pc = c.pc;  // the SVC: runs again when a signal of the set arrives
    c.exc = EXC_YIELD;
}

/// rt_sigaction(2) with the kernel's struct sigaction (32 bytes on arm64).
HANDLER void sys_rt_sigaction(Core& c) {
    i32 sig = (i32)X(c, 0);
    if (sig < 1 || sig > 64 || X(c, 3) != 8) { setX(c, 0, err(E_INVAL)); return; }
    SigAction old = c.mm->sigact[sig - 1];
    if (X(c, 1)) {
        if (sig == SIG_KILL || sig == SIG_STOP) { setX(c, 0, err(E_INVAL)); return; }
        SigAction a;
        if (!copy_from_guest(c, (u8*)&a, X(c, 1), 32)) { setX(c, 0, err(E_FAULT)); return; }
        a.mask &= ~(sig_bit(SIG_KILL) | sig_bit(SIG_STOP));
        c.mm->sigact[sig - 1] = a;
        if (a.handler == 1) {  // SIG_IGN discards it pending
            c.p->sigpending &= ~sig_bit(sig);
            c.mm->sigpending_shared &= ~sig_bit(sig);
        }
    }
    if (X(c, 2) && !copy_to_guest(c, X(c, 2), (const u8*)&old, 32)) { setX(c, 0, err(E_FAULT)); return; }
    setX(c, 0, 0);
}

/// rt_sigprocmask(2); signals unblocked here are delivered before it returns.
HANDLER void sys_rt_sigprocmask(Core& c) {
    if (X(c, 3) != 8) { setX(c, 0, err(E_INVAL)); return; }
    u64 old = c.p->sigmask;
    if (X(c, 1)) {
        u64 set = 0;
        if (!copy_from_guest(c, (u8*)&set, X(c, 1), 8)) { setX(c, 0, err(E_FAULT)); return; }
        u64 how = X(c, 0);
        if (how == 0) c.p->sigmask |= set;
        else if (how == 1) c.p->sigmask &= ~set;
        else if (how == 2) c.p->sigmask = set;
        else { setX(c, 0, err(E_INVAL)); return; }
        c.p->sigmask &= ~(sig_bit(SIG_KILL) | sig_bit(SIG_STOP));
    }
    if (X(c, 2) && !copy_to_guest(c, X(c, 2), (const u8*)&old, 8)) { setX(c, 0, err(E_FAULT)); return; }
    setX(c, 0, 0);
    sig_deliver_pending(c);
}

/// rt_sigpending(2).
HANDLER void sys_rt_sigpending(Core& c) {
    u64 pend = sig_pending(c) & c.p->sigmask;
    if (X(c, 1) != 8) { setX(c, 0, err(E_INVAL)); return; }
    setX(c, 0, copy_to_guest(c, X(c, 0), (const u8*)&pend, 8) ? 0 : err(E_FAULT));
}

/// rt_sigreturn(2): restore the state saved in the signal frame at SP, including the
/// blocked mask; X0 comes from the frame too.
HANDLER void sys_rt_sigreturn(Core& c) {
    u64 frame = c.s.x[31];
    u64 mc = frame + SF_UC + UC_MCONTEXT;
    u64 regs[35];
    u64 mask;
    u32 hdr[4];
    if (!copy_from_guest(c, (u8*)regs, mc, sizeof(regs)) || !copy_from_guest(c, (u8*)&mask, frame + SF_UC + UC_SIGMASK, 8) ||
        !copy_from_guest(c, (u8*)hdr, mc + MC_RESERVED, 16)) {
        proc_kill(c, SIG_SEGV, frame);
        return;
    }
    if (hdr[0] == FPSIMD_MAGIC) {
        if (!copy_from_guest(c, (u8*)c.s.v, mc + MC_RESERVED + 16, 512)) { proc_kill(c, SIG_SEGV, frame); return; }
        c.s.fpsr = hdr[2];
        c.s.fpcr = hdr[3];
    }
    for (int i = 0; i < 31; i++) c.s.x[i] = regs[1 + i];
    c.s.x[31] = regs[32];
    c.s.pc = regs[33];
    c.s.nzcv = regs[34] & 0xf0000000ull;
    c.p->sigmask = mask & ~(sig_bit(SIG_KILL) | sig_bit(SIG_STOP));
    // uc_stack as the handler left it (Linux's restore_altstack: refused changes, such as
    // one made while on the stack, are ignored).
    u64 ss[3];
    if (copy_from_guest(c, (u8*)ss, frame + SF_UC + 16, 24)) {
        ss[1] &= 0xffffffffull;
        sas_set(c.p, c.s.x[31], ss);
    }
    sig_deliver_pending(c);
}
