// Clocks served on the device, the job Linux's vDSO does for user space: the wall and
// monotonic clocks are the device clock (`now_ns`: the GPU's global timer, or
// CLOCK_MONOTONIC on the CPU backend) plus offsets that the host measured against its
// own clocks when the run started (`MachineHdr::clock_*_off`). A host round trip costs
// tens of microseconds on the GPU; these cost a few instructions. The CPU-time clocks
// (PROCESS_CPUTIME_ID, THREAD_CPUTIME_ID), the alarm clocks and TAI are the host's, as
// is every clock's resolution (clock_getres). Semantics: clock_gettime(2),
// gettimeofday(2).
#pragma once
#include "marshal.h"
#include "signal.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7

/// The offset to add to `now_ns()` for clock `clk`, or false when the device does not
/// keep that clock (the host serves it).
GFN bool dev_clock_offset(MachineHdr* m, i64 clk, i64* off) {
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE: *off = m->clock_real_off; return true;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE: *off = m->clock_mono_off; return true;
    case CLOCK_BOOTTIME: *off = m->clock_boot_off; return true;
    default: return false;
    }
}

/// Nanoseconds as {seconds, remainder / div} (timespec: div 1; timeval: div 1000).
GFN void split_ns(u64 ns, u64 div, i64 out[2]) {
    out[0] = (i64)(ns / 1000000000ull);
    out[1] = (i64)((ns % 1000000000ull) / div);
}

/// clock_gettime(2) (`split`): the clocks above here, the others from the host.
HANDLER void sys_clock_gettime(Core& c) {
    i64 off;
    if (!dev_clock_offset(c.m, (i64)(i32)X(c, 0), &off)) {
        sys_post_host(c, SYS_clock_gettime, SYSREQ_CALL);
        return;
    }
    i64 ts[2];
    split_ns(now_ns() + (u64)off, 1, ts);
    setX(c, 0, copy_to_guest(c, X(c, 1), (const u8*)ts, 16) ? 0 : err(E_FAULT));
}

/// gettimeofday(2): CLOCK_REALTIME in microseconds; a timezone, when asked for, is
/// UTC with no daylight saving ({0, 0}), as Linux reports without `settimeofday`.
HANDLER void sys_gettimeofday(Core& c) {
    if (X(c, 0)) {
        i64 tv[2];
        split_ns(now_ns() + (u64)c.m->clock_real_off, 1000, tv);
        if (!copy_to_guest(c, X(c, 0), (const u8*)tv, 16)) { setX(c, 0, err(E_FAULT)); return; }
    }
    const i32 tz[2] = {0, 0};
    if (X(c, 1) && !copy_to_guest(c, X(c, 1), (const u8*)tz, 8)) { setX(c, 0, err(E_FAULT)); return; }
    setX(c, 0, 0);
}

#define ITIMER_REAL 0
#define ITIMER_VIRTUAL 1
#define ITIMER_PROF 2

/// A struct timeval {tv_sec, tv_usec} as nanoseconds (at most TIME_MAX_SEC seconds),
/// or false for a bad one.
GFN bool timeval_ns(const i64* tv, u64* ns) {
    if (tv[0] < 0 || tv[1] < 0 || tv[1] >= 1000000) return false;
    *ns = (u64)(tv[0] < TIME_MAX_SEC ? tv[0] : TIME_MAX_SEC) * 1000000000ull + (u64)tv[1] * 1000ull;
    return true;
}

/// ITIMER_REAL of c's process as struct itimerval {it_interval, it_value} (timevals):
/// the interval and the time left, 0 when disarmed.
GFN void itimer_value(Core& c, i64* v) {
    Proc* g = c.mm;
    u64 now = now_ns();
    u64 left = g->itimer_at > now ? g->itimer_at - now : (g->itimer_at ? 1000 : 0);
    split_ns(g->itimer_interval, 1000, v);
    split_ns(left, 1000, v + 2);
    if (g->itimer_at && v[2] == 0 && v[3] == 0) v[3] = 1;  // armed: never reads as 0
}

/// getitimer(2): ITIMER_REAL, kept on the device (the family scheduler posts SIGALRM,
/// kernel/sched.h `itimer_due`). The CPU-time timers, ITIMER_VIRTUAL and ITIMER_PROF,
/// are not kept: EINVAL, as for an unknown timer.
HANDLER void sys_getitimer(Core& c) {
    if (X(c, 0) != ITIMER_REAL) { setX(c, 0, err(E_INVAL)); return; }
    i64 v[4];
    itimer_value(c, v);
    setX(c, 0, copy_to_guest(c, X(c, 1), (const u8*)v, 32) ? 0 : err(E_FAULT));
}

/// setitimer(2) of ITIMER_REAL (alarm(3) is setitimer in glibc): arm it to fire after
/// it_value and then every it_interval (a zero value disarms it); the old setting goes
/// to X2 when given. The timer belongs to the process (its leader), survives execve and
/// is not inherited by fork. EINVAL for another timer or a bad timeval.
HANDLER void sys_setitimer(Core& c) {
    if (X(c, 0) != ITIMER_REAL) { setX(c, 0, err(E_INVAL)); return; }
    i64 nv[4], old[4];
    u64 interval = 0, value = 0;
    if (X(c, 1)) {
        if (!copy_from_guest(c, (u8*)nv, X(c, 1), 32)) { setX(c, 0, err(E_FAULT)); return; }
        if (!timeval_ns(nv, &interval) || !timeval_ns(nv + 2, &value)) { setX(c, 0, err(E_INVAL)); return; }
    }
    itimer_value(c, old);
    if (X(c, 2) && !copy_to_guest(c, X(c, 2), (const u8*)old, 32)) { setX(c, 0, err(E_FAULT)); return; }
    c.mm->itimer_at = value ? now_ns() + value : 0;
    c.mm->itimer_interval = value ? interval : 0;
    setX(c, 0, 0);
}

/// clock_nanosleep(2) clocks a sleep on the device may use (the device clock's offsets,
/// kernel/sys/signal.h `timespec_deadline`), and TIMER_ABSTIME.
#define SLEEP_CLOCK_REALTIME 0
#define SLEEP_CLOCK_MONOTONIC 1
#define SLEEP_CLOCK_BOOTTIME 7
#define SLEEP_TIMER_ABSTIME 1u

/// A sleep of the timespec at `ts_va` on the device (`clock`, `abs`: clock_nanosleep's),
/// for a member whose lane runs other members of its family: the host would answer it
/// RETRY until due, one request each time the lane comes back to it (busybox `sleep 1`
/// beside its waiting shell: hundreds a second). Parked until the deadline, which the
/// family scheduler's scan ends (0), or a signal whose handler runs (`sleep_resumed`:
/// EINTR, the time left at `rem_va` unless absolute). False when the host serves it (a
/// lone member, whose sleep the host holds; another clock).
GFN_NOINLINE bool sleep_on_device(Core& c, i64 clock, u64 flags, u64 ts_va) {
    Proc* p = c.p;
    if (p->fam_next == p->slot || (flags & ~(u64)SLEEP_TIMER_ABSTIME)) return false;
    if (clock != SLEEP_CLOCK_REALTIME && clock != SLEEP_CLOCK_MONOTONIC && clock != SLEEP_CLOCK_BOOTTIME) return false;
    u64 e = 0;
    u64 deadline = wait_deadline_of(c, ts_va, flags & SLEEP_TIMER_ABSTIME, clock == SLEEP_CLOCK_REALTIME, &e);
    if (e) { setX(c, 0, e); return true; }
    if (now_ns() >= deadline) { setX(c, 0, 0); return true; }
    p->sleep_abs = (u32)(flags & SLEEP_TIMER_ABSTIME);
    p->block_deadline = deadline;
    p->block = BLOCK_SLEEP;
    p->status = PROC_BLOCKED;
    c.s.pc = c.pc;  // the SVC; past it once the deadline ends the wait (block_resume)
    c.exc = EXC_YIELD;
    return true;
}

/// nanosleep(2) (`split`): on the device beside other members (`sleep_on_device`).
HANDLER void sys_nanosleep(Core& c) {
    if (!sleep_on_device(c, SLEEP_CLOCK_MONOTONIC, 0, X(c, 0))) sys_post_host(c, SYS_nanosleep, SYSREQ_CALL);
}

/// clock_nanosleep(2) (`split`): on the device beside other members (`sleep_on_device`).
HANDLER void sys_clock_nanosleep(Core& c) {
    if (!sleep_on_device(c, (i64)(i32)X(c, 0), X(c, 1), X(c, 2))) sys_post_host(c, SYS_clock_nanosleep, SYSREQ_CALL);
}

/// Task c.p runs again while parked in a sleep on the device: a signal woke it (its
/// deadline would have ended the sleep, block_resume): the call returns EINTR with the
/// time left at its rem pointer (nanosleep's X1, clock_nanosleep's X3 unless
/// TIMER_ABSTIME; nanosleep(2)), and the handler then runs.
GFN_NOINLINE void sleep_resumed(Core& c) {
    Proc* p = c.p;
    if (p->status != PROC_RUNNABLE || p->block != BLOCK_SLEEP) return;
    u64 now = now_ns(), left = p->block_deadline > now ? p->block_deadline - now : 0;
    bool clock = c.s.x[8] == SYS_clock_nanosleep;
    u64 rem = clock ? c.s.x[3] : c.s.x[1];
    p->block = 0;
    p->block_deadline = 0;
    c.s.pc += 4;
    setX(c, 0, err(E_INTR));
    if (rem && !p->sleep_abs) {
        i64 ts[2] = {(i64)(left / 1000000000ull), (i64)(left % 1000000000ull)};
        if (!copy_to_guest(c, rem, (const u8*)ts, 16)) setX(c, 0, err(E_FAULT));
    }
}
