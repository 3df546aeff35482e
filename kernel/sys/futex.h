// futex(2), served on the device: a wait parks the thread (BLOCK_FUTEX), a wake makes
// waiters runnable with 0 in X0. A futex keyed by address (a private one, or a shared
// one in memory no other process maps) lives in its thread group's queue
// (kernel/proc/futex_queue.h), under a lock, so that its waits and wakes run on any
// lane: the family's here, a spare lane's in user mode (`futex_user`). One keyed by a
// MAP_SHARED page is its family's, walked by the family's lane (kernel/proc/thread.h
// `futex_wake_keyed`). A timed wait keeps its deadline on the device clock
// (`Proc::block_deadline`); the family scheduler ends it with ETIMEDOUT
// (kernel/sched.h). A signal makes a waiter runnable: its handler runs, then the wait
// runs again and sees its word (glibc's callers loop on their word).
// Semantics: futex(2); the PI operations are not provided (ENOSYS).
#pragma once
#include "marshal.h"
#include "time_sys.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_PRIVATE_FLAG 128u
#define FUTEX_CLOCK_REALTIME 256u
#define FUTEX_BITSET_ANY 0xffffffffu

/// FUTEX_WAIT and FUTEX_WAIT_BITSET: EAGAIN when the word at uaddr is not val, else the
/// thread parks until a wake (0), its deadline (ETIMEDOUT) or a signal (the wait runs
/// again after the handler, with the deadline it had).
GFN_NOINLINE void futex_wait(Core& c, u64 uaddr, u32 val, u32 bitset, u64 ts_va, bool absolute, bool realtime, bool priv) {
    Proc* p = c.p;
    u32 word;
    if (!copy_from_guest(c, (u8*)&word, uaddr, 4)) { setX(c, 0, err(E_FAULT)); return; }
    // A wait run again after a signal keeps its deadline.
    u64 deadline = p->futex_uaddr == uaddr ? p->block_deadline : 0;
    p->block_deadline = 0;
    if (word != val) { setX(c, 0, err(E_AGAIN)); return; }
    if (ts_va && !deadline) {
        u64 e = 0;
        deadline = wait_deadline_of(c, ts_va, absolute, realtime, &e);
        if (e) { setX(c, 0, e); return; }
    }
    if (deadline && now_ns() >= deadline) { setX(c, 0, err(E_TIMEDOUT)); return; }
    u64 key = futex_key_of(c.m, c.mm, uaddr, priv);
    if (!key) {  // the group's queue: the word again under its lock, coherently
        const u32* w = (const u32*)mm_translate(c, uaddr, PTE_R);  // present: just read
        if (!w) return;  // cannot happen after the copy; the fault is raised
        if (!futexq_wait(c, w, uaddr, val, bitset, deadline)) { setX(c, 0, err(E_AGAIN)); return; }
    } else {  // its family's, which only this lane touches
        p->futex_uaddr = uaddr;
        p->futex_key = key;
        p->futex_bitset = bitset;
        p->block_deadline = deadline;
        p->futex_woke = 0;
        p->block = BLOCK_FUTEX;
        p->status = PROC_BLOCKED;
    }
    c.s.pc = c.pc;  // the SVC: run again after a signal's handler, past it once woken
    c.exc = EXC_YIELD;
}

/// What a syscall served on a spare lane asks of its caller (kernel/exec.h `sys_user`).
enum UserAction : u32 {
    USER_GO_ON = 0,  // the next instruction
    USER_YIELD = 1,  // end the slice (sched_yield)
    USER_PARKED = 2, // the task blocked (a futex wait): the PC stays at the SVC, the
                     // task goes home (kernel/proc/spare.h `spare_run`)
};

/// A futex wait's deadline on the device clock, in user mode (`futex_user`): the one a
/// wait at the same address interrupted by a signal kept, else from the timespec at
/// ts_va (relative, or absolute on the monotonic or realtime clock, as `futex_wait`).
/// False hands the call to the task's lane: a page not ready (an exception set), or a
/// timespec its lane answers EINVAL for.
GFN bool futex_user_deadline(Core& c, u64 uaddr, u64 ts_va, bool absolute, bool realtime, u64* deadline) {
    Proc* p = c.p;
    *deadline = p->futex_uaddr == uaddr ? p->block_deadline : 0;
    if (*deadline) return true;
    c.exc = EXC_NONE;
    i64 ts[2];
    ts[0] = (i64)mem_read(c, ts_va, 8);
    if (c.exc == EXC_NONE) ts[1] = (i64)mem_read(c, ts_va + 8, 8);
    return c.exc == EXC_NONE && timespec_deadline(c.m, ts, absolute, realtime, deadline);
}

/// futex(2) on a spare lane, in user mode (kernel/exec.h `sys_user`): FUTEX_WAIT and
/// FUTEX_WAIT_BITSET (with or without a timeout, which the family's scheduler ends),
/// FUTEX_WAKE and FUTEX_WAKE_BITSET, of a futex keyed by address (the group's queue).
/// True when served (X0 holds the result, `*action` what follows); false hands the call
/// to the task's lane: the other operations, a futex keyed by a MAP_SHARED page, an
/// argument its lane answers with an error, or a word or timespec whose page is not
/// ready (an exception is then set).
GFN bool futex_user(Core& c, u32* action) {
    u64 uaddr = X(c, 0);
    u32 op = (u32)X(c, 1), val = (u32)X(c, 2), val3 = (u32)X(c, 5);
    u32 cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    bool priv = (op & FUTEX_PRIVATE_FLAG) != 0, realtime = (op & FUTEX_CLOCK_REALTIME) != 0;
    if (uaddr & 3) return false;
    bool wait = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
    if (!wait && cmd != FUTEX_WAKE && cmd != FUTEX_WAKE_BITSET) return false;
    if (realtime && !wait) return false;
    u32 bitset = cmd == FUTEX_WAIT_BITSET || cmd == FUTEX_WAKE_BITSET ? val3 : FUTEX_BITSET_ANY;
    if (!bitset) return false;
    if (futex_key_of(c.m, c.mm, uaddr, priv)) return false;
    if (!wait) {
        setX(c, 0, futex_wake(c.m, c.p, uaddr, val, bitset, priv));
        return true;
    }
    const u32* w = (const u32*)mm_translate(c, uaddr, PTE_R);
    if (!w) return false;  // its lane brings the page in and runs the SVC
    u64 deadline = 0, ts_va = X(c, 3);
    if (ts_va && !futex_user_deadline(c, uaddr, ts_va, cmd == FUTEX_WAIT_BITSET, realtime, &deadline)) return false;
    c.p->block_deadline = 0;
    if (load_coherent_u32(w) != val) {  // as futex_wait: the word before the time
        setX(c, 0, err(E_AGAIN));
        return true;
    }
    if (deadline && now_ns() >= deadline) {
        setX(c, 0, err(E_TIMEDOUT));
        return true;
    }
    if (!futexq_wait(c, w, uaddr, val, bitset, deadline)) {
        setX(c, 0, err(E_AGAIN));
        return true;
    }
    *action = USER_PARKED;
    return true;
}

/// FUTEX_WAKE_OP's operation on the old value of the word at uaddr2 (encoded in val3:
/// op << 28 | cmp << 24 | oparg << 12 | cmparg): the new value, or false for an
/// unknown op.
GFN bool futex_op_value(u32 val3, u32 old, u32* out) {
    u32 op = (val3 >> 28) & 7;
    i32 oparg = ((i32)(val3 << 8)) >> 20;
    if ((val3 >> 31) & 1) oparg = (i32)(1u << (oparg & 31));  // FUTEX_OP_OPARG_SHIFT
    switch (op) {
    case 0: *out = (u32)oparg; return true;
    case 1: *out = old + (u32)oparg; return true;
    case 2: *out = old | (u32)oparg; return true;
    case 3: *out = old & ~(u32)oparg; return true;
    case 4: *out = old ^ (u32)oparg; return true;
    default: return false;
    }
}

/// FUTEX_WAKE_OP's comparison of the old value with cmparg; -1 for an unknown one.
GFN int futex_op_cmp(u32 val3, u32 old) {
    i32 cmparg = ((i32)(val3 << 20)) >> 20;
    i32 o = (i32)old;
    switch ((val3 >> 24) & 15) {
    case 0: return o == cmparg;
    case 1: return o != cmparg;
    case 2: return o < cmparg;
    case 3: return o <= cmparg;
    case 4: return o > cmparg;
    case 5: return o >= cmparg;
    default: return -1;
    }
}

/// FUTEX_WAKE_OP: *uaddr2 = op(*uaddr2), wake up to val waiters on uaddr, and, when the
/// old value of *uaddr2 passes the comparison, up to val2 on uaddr2. Returns the count.
GFN_NOINLINE void futex_wake_op(Core& c, u64 uaddr, u32 val, u32 val2, u64 uaddr2, u32 val3, bool priv) {
    u32 old, nv;
    int cmp = futex_op_cmp(val3, 0);
    if (!futex_op_value(val3, 0, &nv) || cmp < 0) { setX(c, 0, err(E_NOSYS)); return; }
    if ((uaddr2 & 3) || !copy_from_guest(c, (u8*)&old, uaddr2, 4)) { setX(c, 0, err(E_FAULT)); return; }
    futex_op_value(val3, old, &nv);
    if (!copy_to_guest(c, uaddr2, (const u8*)&nv, 4)) { setX(c, 0, err(E_FAULT)); return; }
    u32 n = futex_wake(c.m, c.p, uaddr, val, FUTEX_BITSET_ANY, priv);
    if (futex_op_cmp(val3, old) == 1) n += futex_wake(c.m, c.p, uaddr2, val2, FUTEX_BITSET_ANY, priv);
    setX(c, 0, n);
}

/// futex(2): uaddr, futex_op, val, timeout (or val2), uaddr2, val3.
HANDLER void sys_futex(Core& c) {
    u64 uaddr = X(c, 0), uaddr2 = X(c, 4);
    u32 op = (u32)X(c, 1), val = (u32)X(c, 2), val2 = (u32)X(c, 3), val3 = (u32)X(c, 5);
    u32 cmd = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    bool priv = (op & FUTEX_PRIVATE_FLAG) != 0, realtime = (op & FUTEX_CLOCK_REALTIME) != 0;
    if (realtime && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_WAIT) { setX(c, 0, err(E_NOSYS)); return; }
    if (uaddr & 3) { setX(c, 0, err(E_INVAL)); return; }
    switch (cmd) {
    case FUTEX_WAIT: futex_wait(c, uaddr, val, FUTEX_BITSET_ANY, X(c, 3), false, false, priv); return;
    case FUTEX_WAIT_BITSET:
        if (!val3) { setX(c, 0, err(E_INVAL)); return; }
        futex_wait(c, uaddr, val, val3, X(c, 3), true, realtime, priv);
        return;
    case FUTEX_WAKE: setX(c, 0, futex_wake(c.m, c.p, uaddr, val, FUTEX_BITSET_ANY, priv)); return;
    case FUTEX_WAKE_BITSET:
        if (!val3) { setX(c, 0, err(E_INVAL)); return; }
        setX(c, 0, futex_wake(c.m, c.p, uaddr, val, val3, priv));
        return;
    case FUTEX_CMP_REQUEUE:
    case FUTEX_REQUEUE: {
        if ((i32)val < 0 || (i32)val2 < 0 || (uaddr2 & 3)) { setX(c, 0, err(E_INVAL)); return; }
        if (cmd == FUTEX_CMP_REQUEUE) {
            u32 word;
            if (!copy_from_guest(c, (u8*)&word, uaddr, 4)) { setX(c, 0, err(E_FAULT)); return; }
            if (word != val3) { setX(c, 0, err(E_AGAIN)); return; }
        }
        setX(c, 0, futex_wake(c.m, c.p, uaddr, val, FUTEX_BITSET_ANY, priv, uaddr2, val2));
        return;
    }
    case FUTEX_WAKE_OP: futex_wake_op(c, uaddr, val, val2, uaddr2, val3, priv); return;
    default: setX(c, 0, err(E_NOSYS)); return;
    }
}

/// membarrier(2): the threads of a process that run on spare lanes are brought home
/// before this call runs (it is not `sys_runs_beside`'s), each through a device-scope
/// fence, and the others take turns on this lane, so each barrier is in effect when it
/// returns: MEMBARRIER_CMD_QUERY reports the
/// commands (GLOBAL, GLOBAL_EXPEDITED and PRIVATE_EXPEDITED with their REGISTER forms),
/// the others return 0; flags must be 0 (EINVAL), unknown commands EINVAL.
HANDLER void sys_membarrier(Core& c) {
    u32 cmd = (u32)X(c, 0);
    const u32 known = 1u | 2u | 4u | 8u | 16u;
    if (X(c, 1) != 0) { setX(c, 0, err(E_INVAL)); return; }
    if (cmd == 0) { setX(c, 0, known); return; }
    setX(c, 0, (cmd & (cmd - 1)) == 0 && (cmd & known) ? 0 : err(E_INVAL));
}
