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

#define SA_NODEFER 0x40000000ull
#define SA_RESETHAND 0x80000000ull
#define SA_RESTORER 0x04000000ull
#define SI_USER 0
#define SI_TKILL (-6)
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

/// Default action of signal sig (signal(7)): true when it terminates the process.
GFN bool sig_default_kills(i32 sig) {
    return !(sig == SIG_CHLD || sig == SIG_CONT || sig == 23 /* SIGURG */ || sig == 28 /* SIGWINCH */ ||
             sig == SIG_STOP || sig == 20 || sig == 21 || sig == 22);
}

/// Build the signal frame on the stack and enter the handler. Returns false when the
/// frame cannot be written (the process is then killed with SIGSEGV).
GFN_NOINLINE bool sig_setup_frame(Core& c, i32 sig, i32 code, u64 addr) {
    SigAction& act = c.p->sigact[sig - 1];
    u64 frame = (c.s.x[31] - SIGFRAME_SIZE) & ~15ull;
    u64 record = frame - 16;  // frame record {x29, x30} for unwinders, below the frame
    u8 buf[512];
    // siginfo: si_signo, si_errno, si_code, then si_addr (faults) or si_pid/si_uid.
    rt_memset(buf, 0, 128);
    *(i32*)(buf + 0) = sig;
    *(i32*)(buf + 8) = code;
    if (code > 0) *(u64*)(buf + 16) = addr;
    else *(u32*)(buf + 16) = c.p->pid;
    if (!copy_to_guest(c, frame + SF_INFO, buf, 128)) return false;
    // ucontext header: flags, link, uc_stack (disabled), the mask to restore.
    rt_memset(buf, 0, UC_MCONTEXT);
    *(u32*)(buf + 16 + 8) = 2;  // ss_flags = SS_DISABLE
    *(u64*)(buf + UC_SIGMASK) = c.p->sigmask;
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
    c.s.x[31] = record;
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
    u64 h = c.p->sigact[sig - 1].handler;
    if (sig != SIG_KILL && sig != SIG_STOP && h == 1) return;  // SIG_IGN
    if (sig == SIG_KILL || sig == SIG_STOP || h == 0) {
        if (sig_default_kills(sig)) proc_kill(c, sig, addr);
        return;
    }
    if (!sig_setup_frame(c, sig, code, addr)) sig_frame_failed(c, c.s.x[31]);
}

/// Deliver every pending signal that is no longer blocked (lowest number first).
GFN void sig_deliver_pending(Core& c) {
    u64 ready = c.p->sigpending & ~c.p->sigmask;
    while (ready && c.exc != EXC_EXIT) {
        i32 sig = 1 + (i32)(63 - clz64(ready & (~ready + 1)));
        c.p->sigpending &= ~sig_bit(sig);
        sig_deliver(c, sig, c.p->sigcode[sig - 1], 0);
        ready = c.p->sigpending & ~c.p->sigmask;
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
    u64 h = c.p->sigact[sig - 1].handler;
    if (h <= 1 || (c.p->sigmask & sig_bit(sig))) {
        proc_kill(c, sig, addr);
        return;
    }
    i32 code = 1;  // SEGV_MAPERR, BUS_ADRALN, ILL_ILLOPC, TRAP_BRKPT
    if (sig == SIG_SEGV) {
        int level;
        u64* e = pt_lookup(c.m, c.p->pt_root, addr, &level);
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

/// Make signal sig pending in process q, another member of the caller's family (it is
/// delivered when q next runs): discarded when q ignores it or its default is to ignore
/// it; a blocked q runs again (its syscall restarts after a handler, as with
/// SA_RESTART).
GFN void sig_post(Proc* q, i32 sig, i32 code) {
    u64 h = q->sigact[sig - 1].handler;
    bool kill = sig == SIG_KILL || sig == SIG_STOP;
    if (!kill && (h == 1 || (h == 0 && !sig_default_kills(sig)))) return;
    q->sigpending |= sig_bit(sig);
    q->sigcode[sig - 1] = code;
    if (q->status == PROC_BLOCKED && q->block != BLOCK_VFORK && (kill || !(q->sigmask & sig_bit(sig))))
        q->status = PROC_RUNNABLE;
}

/// Whether q is a live member that signals can reach (not ended, not still being forked).
GFN bool sig_reachable(const Proc* q) {
    return q->status != PROC_EXITED && q->status != PROC_KILLED && q->status != PROC_NEW && q->status != PROC_FREE;
}

/// The member of c's family other than c's process with process id pid, a zombie
/// included, or 0: found at once, a pid names its slot (kernel/proc/family.h,
/// `pid_slot`).
GFN_NOINLINE Proc* family_find(Core& c, u32 pid) {
    u32 s = pid_slot(c.m, pid);
    if (s == NO_SLOT || s >= c.m->nslots) return 0;
    Proc* q = proc_at(c.m, s);
    bool exists = q->status != PROC_FREE && q->status != PROC_NEW;
    return q != c.p && q->pid == pid && q->lane == c.p->lane && exists ? q : 0;
}

/// Post sig to every live member of c's family other than the caller (sig 0: none is
/// signalled). Returns how many there are.
GFN_NOINLINE u32 family_post_others(Core& c, i32 sig) {
    u32 n = 0;
    Proc* q = (Proc*)(uintptr_t)c.m->procs + c.p->fam_next;
    NO_UNROLL for (u64 i = 0; q != c.p && i < c.m->nslots; i++) {
        if (sig_reachable(q)) {
            if (sig) sig_post(q, sig, SI_USER);
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
    if (pid > 0 && (u32)pid == c.p->pid) { sig_send_self(c, sig, SI_USER); return; }
    if (pid > 0) {
        Proc* q = family_find(c, (u32)pid);
        if (!q) { setX(c, 0, err(E_SRCH)); return; }
        if (sig && sig_reachable(q)) sig_post(q, sig, SI_USER);  // a zombie takes none
        setX(c, 0, 0);
        return;
    }
    if (pid == -1) {
        setX(c, 0, family_post_others(c, sig) ? 0 : err(E_SRCH));
        return;
    }
    u32 pgid = 0u - (u32)pid;
    if (pid < -1 && pgid != c.p->pid && !family_find(c, pgid)) { setX(c, 0, err(E_SRCH)); return; }
    family_post_others(c, sig);
    sig_send_self(c, sig, SI_USER);
}
HANDLER void sys_tkill(Core& c) {
    if (X(c, 0) == c.p->pid) sig_send_self(c, (i32)X(c, 1), SI_TKILL);
    else setX(c, 0, err(E_SRCH));
}
HANDLER void sys_tgkill(Core& c) {
    if (X(c, 1) == c.p->pid) sig_send_self(c, (i32)X(c, 2), SI_TKILL);
    else setX(c, 0, err(E_SRCH));
}

/// sigaltstack(2): alternate stacks are not provided; reports the stack as disabled.
HANDLER void sys_sigaltstack(Core& c) {
    if (X(c, 1)) {
        u64 ss[3] = {0, 2 /* SS_DISABLE */, 0};
        if (!copy_to_guest(c, X(c, 1), (const u8*)ss, 24)) { setX(c, 0, err(E_FAULT)); return; }
    }
    setX(c, 0, 0);
}

/// rt_sigaction(2) with the kernel's struct sigaction (32 bytes on arm64).
HANDLER void sys_rt_sigaction(Core& c) {
    i32 sig = (i32)X(c, 0);
    if (sig < 1 || sig > 64 || X(c, 3) != 8) { setX(c, 0, err(E_INVAL)); return; }
    SigAction old = c.p->sigact[sig - 1];
    if (X(c, 1)) {
        if (sig == SIG_KILL || sig == SIG_STOP) { setX(c, 0, err(E_INVAL)); return; }
        SigAction a;
        if (!copy_from_guest(c, (u8*)&a, X(c, 1), 32)) { setX(c, 0, err(E_FAULT)); return; }
        a.mask &= ~(sig_bit(SIG_KILL) | sig_bit(SIG_STOP));
        c.p->sigact[sig - 1] = a;
        if (a.handler == 1) c.p->sigpending &= ~sig_bit(sig);  // SIG_IGN discards pending
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
    u64 pend = c.p->sigpending & c.p->sigmask;
    if (X(c, 1) != 8) { setX(c, 0, err(E_INVAL)); return; }
    setX(c, 0, copy_to_guest(c, X(c, 0), (const u8*)&pend, 8) ? 0 : err(E_FAULT));
}

/// rt_sigreturn(2): restore the state saved in the signal frame at SP (+16 for the
/// frame record below it), including the blocked mask; X0 comes from the frame too.
HANDLER void sys_rt_sigreturn(Core& c) {
    u64 frame = c.s.x[31] + 16;
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
    sig_deliver_pending(c);
}
