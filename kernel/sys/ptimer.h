// POSIX per-process timers, kept on the device as ITIMER_REAL is (kernel/sys/time_sys.h):
// timer_create(2), timer_settime(2), timer_gettime(2), timer_getoverrun(2),
// timer_delete(2). A timer counts on the wall, monotonic or boot clock (the device
// clock plus the host-measured offsets); the family scheduler (kernel/sched.h
// `lane_run`) sees a process's earliest expiry (`Proc::ptimer_next`) and posts the
// timer's signal with si_code SI_TIMER, to the process (SIGEV_SIGNAL) or to one of its
// threads (SIGEV_THREAD_ID, which glibc's SIGEV_THREAD uses for its helper thread), or
// none (SIGEV_NONE). An expiry while the timer's last signal is still pending counts an
// overrun instead, as Linux does; the signal's siginfo carries the timer id, the
// overrun count and sigev_value (kernel/sys/signal.h `ptimer_siginfo`). Like SIGALRM,
// an expiry is seen when the scheduler looks at the lane: not while the lane's one
// process waits for the host (a read of a terminal, a sleep the host serves).
#pragma once
#include "signal.h"
#include "time_sys.h"

#define SIGEV_SIGNAL 0
#define SIGEV_NONE 1
#define SIGEV_THREAD_ID 4
#define TIMER_ABSTIME 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define CLOCK_TAI 11

/// Recompute g's earliest expiry (`Proc::ptimer_next`).
GFN void ptimer_next_of(Proc* g) {
    u64 next = 0;
    for (u32 i = 0; i < PTIMERS; i++) {
        u64 at = g->ptimers[i].at;
        if (at && (!next || at < next)) next = at;
    }
    g->ptimer_next = next;
}

/// The timer with id `id` of c's process, or 0 (no such timer: EINVAL).
GFN PTimer* ptimer_of(Core& c, u64 id) {
    if (id >= PTIMERS || !c.mm->ptimers[id].used) return 0;
    return &c.mm->ptimers[id];
}

/// Whether clock `clk` can carry a timer here; `*e` the error when not: the CPU-time
/// clocks and TAI are not kept on the device (EOPNOTSUPP, Linux's answer for a clock
/// without timers), the alarm clocks need CAP_WAKE_ALARM (EPERM), others EINVAL.
GFN bool ptimer_clock_ok(MachineHdr* m, i64 clk, u64* e) {
    i64 off;
    if ((clk == CLOCK_REALTIME || clk == CLOCK_MONOTONIC || clk == CLOCK_BOOTTIME) && dev_clock_offset(m, clk, &off)) return true;
    if (clk == CLOCK_REALTIME_ALARM || clk == CLOCK_BOOTTIME_ALARM) *e = err(E_PERM);
    else if (clk < 0 || clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID || clk == CLOCK_TAI ||
             clk == CLOCK_MONOTONIC_RAW || clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE)
        *e = err(E_OPNOTSUPP);
    else *e = err(E_INVAL);
    return false;
}

/// timer_create(2): a timer on clock X0 notifying as struct sigevent {sigev_value,
/// sigev_signo, sigev_notify, sigev_notify_thread_id} at X1 says (none: SIGALRM to the
/// process with the timer id as its value); its id (an int) goes to X2. EINVAL for a
/// bad notification, signal or thread, EAGAIN when the process has PTIMERS timers.
HANDLER void sys_timer_create(Core& c) {
    u64 e = 0;
    if (!ptimer_clock_ok(c.m, (i64)(i32)X(c, 0), &e)) { setX(c, 0, e); return; }
    u32 id = 0;
    while (id < PTIMERS && c.mm->ptimers[id].used) id++;
    u8 ev[20];
    if (X(c, 1) && !copy_from_guest(c, ev, X(c, 1), sizeof(ev))) { setX(c, 0, err(E_FAULT)); return; }
    u64 value = X(c, 1) ? *(u64*)ev : id;
    u32 signo = X(c, 1) ? *(u32*)(ev + 8) : (u32)SIG_ALRM, notify = X(c, 1) ? *(u32*)(ev + 12) : (u32)SIGEV_SIGNAL;
    u32 tid = X(c, 1) ? *(u32*)(ev + 16) : 0;
    if (notify != SIGEV_SIGNAL && notify != SIGEV_NONE && notify != SIGEV_THREAD_ID) { setX(c, 0, err(E_INVAL)); return; }
    if (notify != SIGEV_NONE && (signo < 1 || signo > 64)) { setX(c, 0, err(E_INVAL)); return; }
    if (notify == SIGEV_THREAD_ID) {
        Proc* q = family_find_tid(c, tid);
        if (!q || q->tg_slot != c.mm->slot || !sig_reachable(q)) { setX(c, 0, err(E_INVAL)); return; }
    }
    if (id == PTIMERS) { setX(c, 0, err(E_AGAIN)); return; }
    u32 out = id;
    if (!copy_to_guest(c, X(c, 2), (const u8*)&out, 4)) { setX(c, 0, err(E_FAULT)); return; }
    PTimer* t = &c.mm->ptimers[id];
    rt_memset(t, 0, sizeof(PTimer));
    t->used = 1;
    t->clock = (u32)X(c, 0);
    t->notify = notify;
    t->signo = notify == SIGEV_NONE ? 0 : signo;
    t->tid = tid;
    t->value = value;
    setX(c, 0, 0);
}

/// Timer t's struct itimerspec {it_interval, it_value} into v (timespecs): the
/// interval and the time to the next expiry, 0 when disarmed (or a one-shot timer that
/// has expired and not been looked at yet).
GFN void ptimer_value(const PTimer* t, i64* v) {
    u64 now = now_ns(), left = 0;
    if (t->at > now) left = t->at - now;
    else if (t->at && t->interval) left = t->interval - (now - t->at) % t->interval;
    split_ns(t->interval, 1, v);
    split_ns(left, 1, v + 2);
}

/// timer_gettime(2): timer X0's setting into the itimerspec at X1.
HANDLER void sys_timer_gettime(Core& c) {
    PTimer* t = ptimer_of(c, X(c, 0));
    if (!t) { setX(c, 0, err(E_INVAL)); return; }
    i64 v[4];
    ptimer_value(t, v);
    setX(c, 0, copy_to_guest(c, X(c, 1), (const u8*)v, 32) ? 0 : err(E_FAULT));
}

/// timer_settime(2): arm timer X0 with the itimerspec at X2 (it_value 0 disarms it;
/// with TIMER_ABSTIME in X1 it_value is a time of the timer's clock, one already past
/// expires at once), after writing the old setting to X3 when given. EINVAL without a
/// new setting, as Linux.
HANDLER void sys_timer_settime(Core& c) {
    PTimer* t = ptimer_of(c, X(c, 0));
    if (!t) { setX(c, 0, err(E_INVAL)); return; }
    i64 nv[4];
    u64 interval, value;
    if (!X(c, 2)) { setX(c, 0, err(E_INVAL)); return; }
    if (!copy_from_guest(c, (u8*)nv, X(c, 2), 32)) { setX(c, 0, err(E_FAULT)); return; }
    if (!timespec_ns(nv, &interval) || !timespec_ns(nv + 2, &value)) { setX(c, 0, err(E_INVAL)); return; }
    if (X(c, 3)) {
        i64 old[4];
        ptimer_value(t, old);
        if (!copy_to_guest(c, X(c, 3), (const u8*)old, 32)) { setX(c, 0, err(E_FAULT)); return; }
    }
    u64 now = now_ns();
    u64 at = 0;
    if (value && (X(c, 1) & TIMER_ABSTIME)) {
        i64 off = 0;
        dev_clock_offset(c.m, t->clock, &off);
        i64 dev = (i64)value - off;
        at = dev > (i64)now ? (u64)dev : now;
    } else if (value) {
        at = now + value;
    }
    t->at = at;
    t->interval = at ? interval : 0;
    t->overrun = 0;
    ptimer_next_of(c.mm);
    setX(c, 0, 0);
}

/// timer_getoverrun(2): the overrun count of timer X0's last delivered signal.
HANDLER void sys_timer_getoverrun(Core& c) {
    PTimer* t = ptimer_of(c, X(c, 0));
    setX(c, 0, t ? (u64)t->overrun_last : err(E_INVAL));
}

/// timer_delete(2): disarm timer X0 and free its id; a signal it sent that is still
/// pending is taken back.
HANDLER void sys_timer_delete(Core& c) {
    PTimer* t = ptimer_of(c, X(c, 0));
    if (!t) { setX(c, 0, err(E_INVAL)); return; }
    if (t->pending) {
        Proc* g = c.mm;
        u64 b = sig_bit((i32)t->signo);
        if ((g->sigpending_shared & b) && g->sigcode[t->signo - 1] == SI_TIMER) g->sigpending_shared &= ~b;
        // The thread it went to: the one it names, or any of the process's.
        Proc* r = g;
        NO_UNROLL for (u64 i = 0; i < c.m->nslots; i++) {
            bool target = r->tg_slot == g->slot && (t->notify != SIGEV_THREAD_ID || r->pid == t->tid);
            if (target && (r->sigpending & b) && r->sigcode[t->signo - 1] == SI_TIMER) {
                r->sigpending &= ~b;
                break;
            }
            r = proc_at(c.m, r->fam_next);
            if (r == g) break;
        }
    }
    rt_memset(t, 0, sizeof(PTimer));
    ptimer_next_of(c.mm);
    setX(c, 0, 0);
}

/// Post timer t's signal (g its process): to the thread it names or to the process.
/// Whether the signal is now pending (an ignored one is discarded).
GFN_NOINLINE bool ptimer_post(MachineHdr* m, Proc* g, PTimer* t) {
    i32 sig = (i32)t->signo;
    Proc* q = 0;
    if (t->notify == SIGEV_THREAD_ID) {
        u32 s = pid_slot(m, t->tid);
        q = s < m->nslots ? proc_at(m, s) : 0;
        if (q && (q->pid != t->tid || q->tg_slot != g->slot || !sig_reachable(q))) q = 0;  // ended: the process
    }
    if (q) sig_post(m, q, sig, SI_TIMER);
    else sig_post_process(m, g, sig, SI_TIMER);
    u64 b = sig_bit(sig);
    if (g->sigpending_shared & b) return true;
    Proc* r = q ? q : g;
    NO_UNROLL for (u64 i = 0; i < m->nslots; i++) {
        if (r->tg_slot == g->slot && (r->sigpending & b)) return true;
        if (q) return false;
        r = proc_at(m, r->fam_next);
        if (r == g) break;
    }
    return false;
}

/// Process g's timers that are due (`*now`, the device clock, read once per scan): each
/// sends its signal, or counts an overrun while its last one is still pending, and an
/// interval timer is armed again (the periods it missed count as overruns).
GFN_NOINLINE void ptimer_due(MachineHdr* m, Proc* g, u64* now) {
    if (!*now) *now = now_ns();
    if (*now < g->ptimer_next) return;
    for (u32 i = 0; i < PTIMERS; i++) {
        PTimer* t = &g->ptimers[i];
        if (!t->at || t->at > *now) continue;
        u64 n = 1;
        if (t->interval) {
            n += (*now - t->at) / t->interval;
            t->at += n * t->interval;
        } else {
            t->at = 0;
        }
        if (t->notify == SIGEV_NONE) continue;
        u32 add = n > 0x7fffffffull ? 0x7fffffffu : (u32)n;
        if (t->pending) {
            t->overrun = t->overrun + add > 0x7fffffffu ? 0x7fffffffu : t->overrun + add;
            continue;
        }
        t->pending = 1;
        t->overrun = add - 1;
        if (!ptimer_post(m, g, t)) t->pending = 0;
    }
    ptimer_next_of(g);
}
