// The futex queue of a thread group (issue 16): the group's threads blocked in a futex
// wait keyed by address (Linux's get_futex_key keys a private futex, and a shared one in
// memory that no other process maps, by the mm and the address), in the order they came,
// under a spinlock in the leader's slot (`Proc::futex_head`, `futex_lock`).
//
// With the queue a futex wait or wake runs on whichever lane runs the thread: the
// family's lane (kernel/sys/futex.h) or a spare lane in user mode (`futex_user`, called
// by kernel/exec.h `sys_user`). Before it, every futex call of a thread on a spare lane
// went home to the family's lane, one at a time, so a contended mutex of threads on
// spare lanes ran at the pace of those hand-backs.
//
// Rules:
// - A waiter is linked, and BLOCKED with BLOCK_FUTEX, only under the lock, after the
//   lock holder read its word coherently and found the expected value. A waker changes
//   the word before it takes the lock, so the two cannot miss each other (futex(2)).
// - Every end of such a wait happens under the lock and unlinks the waiter: a wake
//   (`FUTEX_WOKEN`), the family scheduler's timeout (`FUTEX_TIMED_OUT`), a signal (the
//   wait runs again after its handler), the thread's end.
// - An end never writes the waiter's registers, which the lane that parked it may still
//   be saving: it leaves `Proc::futex_woke` and makes the waiter runnable last (a
//   release). Whoever next loads the task applies it (`futex_resumed`), after the fence
//   that follows seeing it runnable (kernel/sched.h `lane_run`, kernel/proc/spare.h
//   `spare_take`).
// Futexes keyed by a MAP_SHARED page (processes that map it meet there) are not queued:
// their waits and wakes stay with the family's lane, which walks its family for them
// (kernel/proc/thread.h `futex_wake`).
#pragma once
#include "family.h"

/// Offer q, parked by a spare lane (TASK_PARKED), to the spare lanes again, or send it
/// home (kernel/proc/spare.h); nothing for a task at home or elsewhere.
GFN_NOINLINE void task_rouse(MachineHdr* m, Proc* q);

/// `Proc::futex_woke`: the wait ended by a wake (X0 = 0) ...
#define FUTEX_WOKEN 1u
/// ... or by its timeout (X0 = -ETIMEDOUT).
#define FUTEX_TIMED_OUT 2u

/// Take the futex queue's lock of the group led by g (its holder runs a few dozen
/// instructions and never waits for anything: spinning ends).
GFN void futexq_lock(Proc* g) {
    u32 spins = 0;
    NO_UNROLL while (atomic_cas_u32_dev(&g->futex_lock, 0, 1) != 0) {
        // On the CPU backend the holder may be a host thread the OS took off its core.
        if (++spins < 64) cpu_relax();
        else rt_yield();
    }
    atomic_fence_dev();  // acquire: the queue and the waiters' state as last left
}

/// Give the lock back (release: everything written under it first).
GFN void futexq_unlock(Proc* g) {
    atomic_fence_dev();
    *(volatile u32*)&g->futex_lock = 0;
}

/// Append q to the queue of the group led by g (lock held). O(waiters).
GFN void futexq_append(MachineHdr* m, Proc* g, Proc* q) {
    q->futex_next = 0;
    q->futex_listed = 1;
    u32* link = &g->futex_head;
    NO_UNROLL for (u64 i = 0; *link && i < m->nslots; i++) link = &proc_at(m, *link - 1)->futex_next;
    *link = q->slot + 1;
}

/// Unlink q from that queue if it is there (lock held). O(waiters).
GFN void futexq_unlink(MachineHdr* m, Proc* g, Proc* q) {
    if (!q->futex_listed) return;
    q->futex_listed = 0;
    u32* link = &g->futex_head;
    NO_UNROLL for (u64 i = 0; *link && i < m->nslots; i++) {
        if (*link == q->slot + 1) {
            *link = q->futex_next;
            return;
        }
        link = &proc_at(m, *link - 1)->futex_next;
    }
}

/// End q's futex wait (`how`: FUTEX_WOKEN or FUTEX_TIMED_OUT); q is no longer queued.
/// Runnable last, so that a lane that sees it runnable sees the rest; a task a spare lane
/// parked goes back to the spare lanes' queue.
GFN void futexq_end(MachineHdr* m, Proc* q, u32 how) {
    q->block = 0;
    q->block_deadline = 0;
    q->futex_woke = how;
    store_release_dev_u32(&q->status, PROC_RUNNABLE);
    task_rouse(m, q);  // parked by a spare lane: back to them at once
}

/// FUTEX_WAIT of the task c runs on a futex keyed by address: under the lock, read the
/// word at host pointer w (guest uaddr, aligned) and, when it holds val, queue the task
/// BLOCKED with BLOCK_FUTEX (`bitset`, `deadline` on the device clock or 0). False when
/// the word differs (the caller answers EAGAIN). The caller leaves the PC at the SVC.
GFN_NOINLINE bool futexq_wait(Core& c, const u32* w, u64 uaddr, u32 val, u32 bitset, u64 deadline) {
    Proc* p = c.p;
    Proc* g = c.mm;
    futexq_lock(g);
    if (load_coherent_u32(w) != val) {
        futexq_unlock(g);
        return false;
    }
    futexq_unlink(c.m, g, p);  // never queued here; cheap insurance against a double link
    p->futex_uaddr = uaddr;
    p->futex_key = 0;
    p->futex_bitset = bitset;
    p->block_deadline = deadline;
    p->futex_woke = 0;
    p->block = BLOCK_FUTEX;
    futexq_append(c.m, g, p);
    p->status = PROC_BLOCKED;
    futexq_unlock(g);
    return true;
}

/// FUTEX_WAKE (and REQUEUE) on the queue of the group led by g: wake up to n waiters on
/// uaddr whose bitset meets `bitset`, oldest first; with `to` non-zero, move up to
/// `requeue` of the others to wait on `to` (`to_key` non-zero: a futex keyed by its
/// MAP_SHARED page, which is not queued). Returns how many were woken plus moved.
GFN_NOINLINE u32 futexq_wake(MachineHdr* m, Proc* g, u64 uaddr, u32 n, u32 bitset, u64 to, u64 to_key,
                             u32 requeue) {
    u32 woken = 0, moved = 0;
    futexq_lock(g);
    u32* link = &g->futex_head;
    NO_UNROLL for (u64 i = 0; *link && i < m->nslots; i++) {
        Proc* q = proc_at(m, *link - 1);
        if (q->status != PROC_BLOCKED || q->block != BLOCK_FUTEX) {  // cannot happen: drop it
            *link = q->futex_next;
            q->futex_listed = 0;
            continue;
        }
        if (q->futex_uaddr != uaddr || !(q->futex_bitset & bitset)) {
            link = &q->futex_next;
            continue;
        }
        if (woken < n) {
            *link = q->futex_next;
            q->futex_listed = 0;
            futexq_end(m, q, FUTEX_WOKEN);
            woken++;
        } else if (to && moved < requeue) {
            q->futex_uaddr = to;
            moved++;
            if (to_key) {  // leaves the queue: the family's walk finds it by its key
                q->futex_key = to_key;
                *link = q->futex_next;
                q->futex_listed = 0;
            } else {
                link = &q->futex_next;
            }
        } else {
            break;
        }
    }
    futexq_unlock(g);
    return woken + moved;
}

/// The family scheduler found q's futex wait past its deadline: end it with ETIMEDOUT
/// unless a wake or a signal ended it first (a queued or a keyed wait alike).
GFN_NOINLINE void futexq_timeout(MachineHdr* m, Proc* q) {
    Proc* g = proc_leader(m, q);
    futexq_lock(g);
    if (q->status == PROC_BLOCKED && q->block == BLOCK_FUTEX) {
        futexq_unlink(m, g, q);
        futexq_end(m, q, FUTEX_TIMED_OUT);
    }
    futexq_unlock(g);
}

/// A signal for q, blocked in a futex wait: it runs again, to run the handler, after
/// which the wait runs again (its word, its deadline: `futex_uaddr`, `block_deadline`).
GFN_NOINLINE void futexq_interrupt(MachineHdr* m, Proc* q) {
    Proc* g = proc_leader(m, q);
    futexq_lock(g);
    if (q->status == PROC_BLOCKED && q->block == BLOCK_FUTEX) {
        futexq_unlink(m, g, q);
        store_release_dev_u32(&q->status, PROC_RUNNABLE);
        task_rouse(m, q);  // parked by a spare lane: home, where the signal is delivered
    }
    futexq_unlock(g);
}

/// q ends (or its slot changes hands): out of its group's queue.
GFN void futexq_forget(MachineHdr* m, Proc* q) {
    if (!q->futex_listed) return;
    Proc* g = proc_leader(m, q);
    futexq_lock(g);
    futexq_unlink(m, g, q);
    futexq_unlock(g);
}

/// The task loaded in c is about to run: a wake that ended its futex wait while it was
/// parked takes effect now (X0, the PC past the SVC).
GFN void futex_resumed(Core& c) {
    Proc* q = c.p;
    u32 how = q->futex_woke;
    if (!how) return;
    q->futex_woke = 0;
    c.s.x[0] = how == FUTEX_WOKEN ? 0 : (u64)err(E_TIMEDOUT);
    c.s.pc += 4;
}
