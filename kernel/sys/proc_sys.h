// Device-served process syscalls: exit, identity (clone, execve, wait4: process.h), signals (recorded; default actions),
// scheduling, resource limits, uname, prctl. Semantics from the Linux man pages.
#pragma once
#include "../proc/proc.h"
#include "errno.h"
#include "signal.h"
#include "process.h"
#include "poll.h"
#include "futex.h"

/// exit(2): the calling thread ends (kernel/proc/thread.h, `thread_exit`); the last
/// thread's exit ends the process, with the status the leader's own exit gave when the
/// leader ended first (as Linux reports a group that ends without exit_group).
HANDLER void sys_exit(Core& c) {
    i32 code = (i32)(X(c, 0) & 0xff);
    if (c.mm->tg_threads > 1) {
        thread_exit(c, code);
        return;
    }
    proc_exit(c, c.p == c.mm ? code : c.mm->exit_code);
}
/// exit_group(2): every thread of the process ends.
HANDLER void sys_exit_group(Core& c) { proc_exit(c, (i32)(X(c, 0) & 0xff)); }
HANDLER void sys_set_tid_address(Core& c) { c.p->clear_child_tid = X(c, 0); setX(c, 0, c.p->pid); }
/// set_robust_list(2): the thread's robust futex list head (struct robust_list_head,
/// 24 bytes), walked when it ends (`thread_end_futexes`).
HANDLER void sys_set_robust_list(Core& c) {
    if (X(c, 1) != 24) { setX(c, 0, err(E_INVAL)); return; }
    c.p->robust_list = X(c, 0);
    setX(c, 0, 0);
}
/// get_robust_list(2) of thread pid (0: the caller) of the family: its head and 24.
HANDLER void sys_get_robust_list(Core& c) {
    Proc* q = (i32)X(c, 0) == 0 ? c.p : family_find_tid(c, (u32)X(c, 0));
    if (!q || !sig_takes(q)) { setX(c, 0, err(E_SRCH)); return; }
    u64 len = 24;
    if (!copy_to_guest(c, X(c, 1), (const u8*)&q->robust_list, 8) || !copy_to_guest(c, X(c, 2), (const u8*)&len, 8)) {
        setX(c, 0, err(E_FAULT));
        return;
    }
    setX(c, 0, 0);
}
/// getpid(2): the process's id, its thread group leader's; gettid(2): the thread's own.
HANDLER void sys_getpid(Core& c) { setX(c, 0, c.mm->pid); }
HANDLER void sys_gettid(Core& c) { setX(c, 0, c.p->pid); }
HANDLER void sys_getppid(Core& c) { setX(c, 0, c.mm->ppid); }
HANDLER void sys_setsid(Core& c) { setX(c, 0, err(E_PERM)); }
/// getuid(2), geteuid(2), getgid(2), getegid(2): gpuos's own ids on the host, which
/// every guest process has (MachineHdr::uid, ...; no set*id(2) changes them).
HANDLER void sys_getuid(Core& c) { setX(c, 0, c.m->uid); }
HANDLER void sys_geteuid(Core& c) { setX(c, 0, c.m->euid); }
HANDLER void sys_getgid(Core& c) { setX(c, 0, c.m->gid); }
HANDLER void sys_getegid(Core& c) { setX(c, 0, c.m->egid); }

/// The process pid names, for the calls that take a pid (0: the caller): the caller or
/// a member of its family (kernel/sys/signal.h `family_find`), or 0 (ESRCH).
GFN Proc* proc_named(Core& c, i32 pid) {
    if (pid == 0 || (u32)pid == c.mm->pid) return c.mm;
    return pid > 0 ? family_find(c, (u32)pid) : 0;
}

/// getpgid(2): each process leads its own process group (setpgid), so its group id is
/// its pid (pid 0: the caller's); ESRCH for a pid that names no member of the family.
HANDLER void sys_getpgid(Core& c) {
    Proc* q = proc_named(c, (i32)X(c, 0));
    setX(c, 0, q ? q->pid : err(E_SRCH));
}

/// getsid(2): a family is one session, led by the lane's first process (setsid(2)
/// answers EPERM, as to a process group leader): its pid for the caller or any member
/// (pid 0: the caller); ESRCH for a pid that names none.
HANDLER void sys_getsid(Core& c) {
    Proc* q = proc_named(c, (i32)X(c, 0));
    setX(c, 0, q ? lane_proc(c.m, q)->pid : err(E_SRCH));
}

/// setpgid(2) in the process model where each process leads its own group (getpgid
/// reports its pid): making a process (the caller or a child; pid 0: the caller) the
/// leader of its own group (pgid 0 or its pid) is done already: 0. Joining another
/// group would change what getpgid reports: EPERM, as for a group that does not exist.
/// EINVAL for a negative pid or pgid; ESRCH for a pid that is neither the caller nor a
/// child.
HANDLER void sys_setpgid(Core& c) {
    i32 pid = (i32)X(c, 0), pgid = (i32)X(c, 1);
    if (pid < 0 || pgid < 0) { setX(c, 0, err(E_INVAL)); return; }
    Proc* q = proc_named(c, pid);
    if (!q || (q != c.mm && q->parent != c.mm->slot)) { setX(c, 0, err(E_SRCH)); return; }
    setX(c, 0, pgid == 0 || (u32)pgid == q->pid ? 0 : err(E_PERM));
}

#define PRIO_PROCESS 0
#define PRIO_PGRP 1
#define PRIO_USER 2
#define NICE_MIN (-20)
#define NICE_MAX 19

/// The process a get/setpriority(2) (which, who) names: PRIO_PROCESS who is a pid,
/// PRIO_PGRP a group (each process leads its own: its pid), PRIO_USER a user id (the
/// caller's, or 0 for it, names the caller: its family's processes share it). Sets *e
/// to EINVAL for an unknown which, ESRCH when none matches.
GFN Proc* prio_target(Core& c, u64 which, i32 who, u64* e) {
    Proc* q = 0;
    if (which == PRIO_PROCESS || which == PRIO_PGRP) q = proc_named(c, who);
    else if (which == PRIO_USER) q = who == 0 || (u32)who == c.m->uid ? c.mm : 0;
    else { *e = err(E_INVAL); return 0; }
    if (!q || proc_ended(q)) *e = err(E_SRCH);
    return *e ? 0 : q;
}

/// getpriority(2): the raw syscall's value, 20 - nice (1 to 40; glibc returns the nice
/// value). Errors: see `prio_target`.
HANDLER void sys_getpriority(Core& c) {
    u64 e = 0;
    Proc* q = prio_target(c, X(c, 0), (i32)X(c, 1), &e);
    setX(c, 0, q ? (u64)(i64)(20 - q->nice) : e);
}

/// setpriority(2): the nice value, clamped to -20..19. Lowering it (raising the
/// priority) needs privilege: EACCES unless the guest runs as root (`MachineHdr::euid`;
/// Linux's CAP_SYS_NICE). Errors: see `prio_target`.
HANDLER void sys_setpriority(Core& c) {
    u64 e = 0;
    Proc* q = prio_target(c, X(c, 0), (i32)X(c, 1), &e);
    if (!q) { setX(c, 0, e); return; }
    i32 nice = (i32)X(c, 2);
    nice = nice < NICE_MIN ? NICE_MIN : nice > NICE_MAX ? NICE_MAX : nice;
    if (nice < q->nice && c.m->euid != 0) { setX(c, 0, err(E_ACCES)); return; }
    q->nice = nice;
    setX(c, 0, 0);
}
/// sched_yield(2): the lane runs another member of its family (a thread spinning on a
/// lock lets its holder run).
HANDLER void sys_sched_yield(Core& c) {
    setX(c, 0, 0);
    if (c.p->fam_next != c.p->slot) c.exc = EXC_YIELD;
}
HANDLER void sys_sched_setaffinity(Core& c) { setX(c, 0, 0); }
/// sched_getaffinity(2): the CPUs a process may use are its lane and its share of the
/// spare lanes (kernel/proc/spare.h), at most 64: what a runtime sizing its thread pool
/// from it (Go's GOMAXPROCS, OpenMP, zstd -T0) can run in parallel.
HANDLER void sys_sched_getaffinity(Core& c) {
    u64 size = X(c, 1);
    if (size < 8 || (size & 7)) { setX(c, 0, err(E_INVAL)); return; }
    u64 cpus = 1 + load_relaxed_u64(&c.m->spare_lanes) / (c.m->nprocs ? c.m->nprocs : 1);
    u64 mask = cpus >= 64 ? ~0ull : (1ull << cpus) - 1;
    if (!copy_to_guest(c, X(c, 2), (const u8*)&mask, 8)) { setX(c, 0, err(E_FAULT)); return; }
    setX(c, 0, 8);
}
/// rseq(2): not provided, as under qemu-aarch64; glibc then falls back.
HANDLER void sys_rseq(Core& c) { setX(c, 0, err(E_NOSYS)); }
/// uname(2): struct utsname, six fields of 65 bytes.
HANDLER void sys_uname(Core& c) {
    const char* f[6] = {"Linux", "gpuos", "6.1.0-gpuos", "#1 SMP PREEMPT gpuos", "aarch64", "(none)"};
    u8 buf[6 * 65];
    rt_memset(buf, 0, sizeof(buf));
    for (int i = 0; i < 6; i++)
        for (int j = 0; f[i][j] && j < 64; j++) buf[i * 65 + j] = (u8)f[i][j];
    setX(c, 0, copy_to_guest(c, X(c, 0), buf, sizeof(buf)) ? 0 : err(E_FAULT));
}

#define RLIMIT_STACK 3
#define RLIMIT_NOFILE 7
#define RLIMIT_AS 9
#define RLIM_NLIMITS 16

/// Limits reported by getrlimit/prlimit64: RLIMIT_AS is the process's own
/// (`Proc::as_limit`, `as_limit_max`: gpuos's --mem-per-process, or unlimited), the
/// stack is 8 MiB, open files 1024/4096, the rest unlimited.
GFN void rlimit_of(Proc* p, u32 res, u64* lim) {
    lim[0] = lim[1] = ~0ull;
    if (res == RLIMIT_STACK) lim[0] = 8ull << 20;
    if (res == RLIMIT_NOFILE) { lim[0] = 1024; lim[1] = 4096; }
    if (res == RLIMIT_AS) { lim[0] = p->as_limit; lim[1] = p->as_limit_max; }
}

/// Set limits `lim` (soft, hard) of resource res, as setrlimit(2): EINVAL for an unknown
/// resource or soft > hard, EPERM for a hard limit above the current one (gpuos's
/// limits are not the guest's to raise). RLIMIT_AS is kept and enforced (mmap, brk,
/// mremap); the others are accepted within their reported limits and not kept. Returns
/// 0 or -errno.
GFN i64 rlimit_set(Proc* p, u32 res, const u64* lim) {
    if (res >= RLIM_NLIMITS || lim[0] > lim[1]) return err(E_INVAL);
    u64 cur[2];
    rlimit_of(p, res, cur);
    if (lim[1] > cur[1]) return err(E_PERM);
    if (res == RLIMIT_AS) {
        p->as_limit = lim[0];
        p->as_limit_max = lim[1];
    }
    return 0;
}

/// getrlimit(2).
HANDLER void sys_getrlimit(Core& c) {
    u64 lim[2];
    if (X(c, 0) >= RLIM_NLIMITS) { setX(c, 0, err(E_INVAL)); return; }
    rlimit_of(c.mm, (u32)X(c, 0), lim);
    setX(c, 0, copy_to_guest(c, X(c, 1), (const u8*)lim, 16) ? 0 : err(E_FAULT));
}

/// setrlimit(2) (see `rlimit_set`).
HANDLER void sys_setrlimit(Core& c) {
    u64 lim[2];
    if (!copy_from_guest(c, (u8*)lim, X(c, 1), 16)) { setX(c, 0, err(E_FAULT)); return; }
    setX(c, 0, rlimit_set(c.mm, (u32)X(c, 0), lim));
}

/// prlimit64(2) on the caller itself (pid 0 or its own): the old limits, then the new.
HANDLER void sys_prlimit64(Core& c) {
    if (X(c, 0) != 0 && X(c, 0) != c.mm->pid) { setX(c, 0, err(E_SRCH)); return; }
    u32 res = (u32)X(c, 1);
    if (X(c, 1) >= RLIM_NLIMITS) { setX(c, 0, err(E_INVAL)); return; }
    u64 old[2], lim[2];
    rlimit_of(c.mm, res, old);
    if (X(c, 2)) {
        if (!copy_from_guest(c, (u8*)lim, X(c, 2), 16)) { setX(c, 0, err(E_FAULT)); return; }
        i64 r = rlimit_set(c.mm, res, lim);
        if (r) { setX(c, 0, r); return; }
    }
    if (X(c, 3) && !copy_to_guest(c, X(c, 3), (const u8*)old, 16)) { setX(c, 0, err(E_FAULT)); return; }
    setX(c, 0, 0);
}

/// prctl(2): PR_SET_NAME (15) and PR_GET_NAME (16); others EINVAL.
HANDLER void sys_prctl(Core& c) {
    u64 op = X(c, 0);
    if (op == 15) {
        u8 name[16];
        i64 n = copy_str_from_guest(c, name, X(c, 1), 16);
        if (n == -1) { setX(c, 0, err(E_FAULT)); return; }
        name[15] = 0;
        rt_memcpy(c.p->comm, name, 16);
        setX(c, 0, 0);
    } else if (op == 16) {
        setX(c, 0, copy_to_guest(c, X(c, 1), c.p->comm, 16) ? 0 : err(E_FAULT));
    } else {
        setX(c, 0, err(E_INVAL));
    }
}
