// futex(2), served on the device: a wait parks the thread in its family (BLOCK_FUTEX,
// `Proc::futex_uaddr`), a wake makes waiters runnable with 0 in X0 (kernel/proc/
// thread.h, `futex_wake`). A family runs on one lane, one member at a time, so the
// check of the word and the parking cannot race with a wake. A timed wait keeps its
// deadline on the device clock (`Proc::block_deadline`); the family scheduler ends it
// with ETIMEDOUT (kernel/sched.h). A signal makes a waiter runnable: its handler runs,
// then the wait runs again and sees its word (glibc's callers loop on their word).
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
    p->futex_uaddr = uaddr;
    p->futex_key = futex_key_of(c.m, c.mm, uaddr, priv);
    p->futex_bitset = bitset;
    p->block_deadline = deadline;
    p->status = PROC_BLOCKED;
    p->block = BLOCK_FUTEX;
    c.s.pc = c.pc;  // the SVC: run again after a signal's handler
    c.exc = EXC_YIELD;
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

/// membarrier(2): every thread of a process runs on the lane of its family, one at a
/// time, so each barrier is already in effect: MEMBARRIER_CMD_QUERY reports the
/// commands (GLOBAL, GLOBAL_EXPEDITED and PRIVATE_EXPEDITED with their REGISTER forms),
/// the others return 0; flags must be 0 (EINVAL), unknown commands EINVAL.
HANDLER void sys_membarrier(Core& c) {
    u32 cmd = (u32)X(c, 0);
    const u32 known = 1u | 2u | 4u | 8u | 16u;
    if (X(c, 1) != 0) { setX(c, 0, err(E_INVAL)); return; }
    if (cmd == 0) { setX(c, 0, known); return; }
    setX(c, 0, (cmd & (cmd - 1)) == 0 && (cmd & known) ? 0 : err(E_INVAL));
}
