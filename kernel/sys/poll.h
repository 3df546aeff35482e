// ppoll(2), served by the host over the process's fds; a poll with nothing ready and
// time left blocks the process (the host answers SYSRET_RETRY and the call runs again
// when the family scheduler next picks it, pipe(7) style), so no host thread waits.
// A finite timeout becomes a deadline on the device clock at the first attempt
// (Proc::poll_deadline), kept across the attempts and cleared when the call completes
// (lane_complete); once it has passed, the host polls once and the call returns.
#pragma once
#include "marshal.h"
#include "dpipe.h"

/// Most pollfd entries one ppoll may pass.
#define POLL_MAX_FDS 256ull

/// ppoll(2): the pollfd array goes to the host as input (args[5] = the timeout in ns,
/// ~0 for none); the host returns the array with revents set, which `poll_complete`
/// copies back. The signal mask argument is ignored (signals are not asynchronous here).
/// The host's timeout for a poll whose guest timespec is at `ts_va` (0: none): ~0 to
/// block while nothing is ready, 0 to poll once. A finite timeout becomes a deadline
/// at the first attempt (`deadline`, the value `Proc::poll_deadline` had, 0 at the
/// first) and stays in `Proc::poll_deadline` while there is time left. Returns false
/// (X0 set: EFAULT, EINVAL) for a bad timespec.
GFN bool poll_timeout(Core& c, u64 ts_va, u64 t, u64 deadline, u64* timeout) {
    *timeout = ~0ull;
    if (!ts_va) return true;
    i64 ts[2];
    if (!copy_from_guest(c, (u8*)ts, ts_va, 16)) { setX(c, 0, err(E_FAULT)); return false; }
    u64 ns;
    if (!timespec_ns(ts, &ns)) { setX(c, 0, err(E_INVAL)); return false; }
    if (deadline == 0) deadline = t + ns;  // the first attempt
    if (ns > 0 && t < deadline) c.p->poll_deadline = deadline;  // time left: may block
    else *timeout = 0;
    return true;
}

/// Pipes the device keeps go to the host before a poll family call, whose answer needs
/// their bytes on the host (kernel/sys/dpipe.h): true when a hand-back was posted (the
/// call runs again once it is answered).
GFN bool poll_pipes_back(Core& c) { return devread_on(c) && dpipe_release(c, true); }

/// poll(2) events of a pipe (include/uapi/asm-generic/poll.h).
#define POLL_IN 0x001u
#define POLL_OUT 0x004u
#define POLL_ERR 0x008u
#define POLL_HUP 0x010u
#define POLL_RDNORM 0x040u
#define POLL_WRNORM 0x100u
/// Most pollfd entries a ppoll served on the device may pass.
#define POLL_DEV_FDS 16ull

/// ppoll(2) over pipes the device keeps alone (negative fds ignored), without a signal
/// mask: answered here as Linux's pipe_poll answers (fs/pipe.c: POLLIN with bytes to
/// read, POLLHUP with no writer left, POLLOUT with room for PIPE_BUF bytes, POLLERR
/// with no reader left), or, nothing ready and time left, the caller parks as a call
/// the host found would block (the deadline in `Proc::poll_deadline`, as the host's
/// RETRY). busybox sh's `read` polls its input before each byte. False when the host
/// answers (the pipes then go to it first: poll_pipes_back).
GFN_NOINLINE bool dpipe_ppoll(Core& c) {
    u64 nfds = X(c, 1);
    // (A process without such pipes, nearly every ppoll, copies nothing twice.)
    if (!devread_on(c) || !dpfd_any(c.p) || X(c, 3) || nfds == 0 || nfds > POLL_DEV_FDS) return false;
    u8 pfd[POLL_DEV_FDS * 8];
    if (!copy_from_guest(c, pfd, X(c, 0), nfds * 8)) return false;
    u64 ready = 0;
    NO_UNROLL for (u64 i = 0; i < nfds; i++) {
        i32 fd = *(i32*)(pfd + 8 * i);
        u32 ev = *(u16*)(pfd + 8 * i + 4), got = 0;
        if (fd >= 0) {
            u64* pe = dpfd_find(c.p, (u64)fd);
            if (!pe || dpipe_at(c.m, *pe)->state != DPIPE_DEV) return false;
            DPipe* p = dpipe_at(c.m, *pe);
            if (*pe & DPFD_WRITE) {
                if (p->slot_used < DPIPE_PAGES) got |= POLL_OUT | POLL_WRNORM;  // not full (fs/pipe.c pipe_poll)
                if (!p->readers) got |= POLL_ERR;
            } else {
                if (p->tail != p->head) got |= POLL_IN | POLL_RDNORM;
                if (!p->writers) got |= POLL_HUP;
            }
            got &= ev | POLL_ERR | POLL_HUP;
        }
        *(u16*)(pfd + 8 * i + 6) = (u16)got;
        ready += got != 0;
    }
    u64 t = now_ns(), deadline = c.p->poll_deadline, timeout;
    c.p->poll_deadline = 0;
    if (!poll_timeout(c, X(c, 2), t, deadline, &timeout)) return true;
    if (!ready && timeout) {
        dpipe_park(c);
        return true;
    }
    c.p->poll_deadline = 0;  // (poll_timeout may have set it)
    setX(c, 0, copy_to_guest(c, X(c, 0), pfd, nfds * 8) ? ready : err(E_FAULT));
    return true;
}

HANDLER void sys_ppoll(Core& c) {
    if (dpipe_ppoll(c) || poll_pipes_back(c)) return;
    u64 t = now_ns();
    u64 nfds = X(c, 1);
    u64 deadline = c.p->poll_deadline;
    c.p->poll_deadline = 0;  // set again below while the call may still block
    if (nfds > POLL_MAX_FDS) { setX(c, 0, err(E_INVAL)); return; }
    u64 bytes = nfds * 8;
    u8* buf = lane_buf(c);
    if (bytes && !copy_from_guest(c, buf, X(c, 0), bytes)) { setX(c, 0, err(E_FAULT)); return; }
    u64 timeout;
    if (!poll_timeout(c, X(c, 2), t, deadline, &timeout)) return;
    u64 off = (bytes + 7) & ~7ull;
    u64 a[6] = {c.s.x[0], c.s.x[1], c.s.x[2], c.s.x[3], c.s.x[4], timeout};
    sys_publish(c, SYS_ppoll, SYSREQ_CALL, a, 0, bytes, off, bytes, t, true);
}

/// The host answered a ppoll (`arg` 0: the pollfd array with its revents) or an
/// epoll_pwait (`arg` 1: the ready events): copy its output to the guest's array.
GFN_NOINLINE void poll_complete(Core& c, int arg) {
    SysReq* r = lane_req(c);
    Proc* lp = lane_proc(c.m, c.p);
    u64 len = *(volatile u32*)&r->out_len;
    if (len > lp->req_out_cap) len = lp->req_out_cap;
    u64 va = *(volatile u64*)&r->args[arg];
    if (len && !copy_to_guest(c, va, lane_buf(c) + lp->req_out_off, len)) setX(c, 0, err(E_FAULT));
}

/// Size of arm64's struct epoll_event (u32 events, padding, u64 data).
#define EPOLL_EVENT_SIZE 16ull

/// epoll_pwait(2) and epoll_pwait2(2) (`ts_va`: its timespec; `ms`: epoll_pwait's
/// timeout in milliseconds, -1 for none): the host polls the instance's list
/// (crates/gpuos/src/host/epoll.rs) and answers the ready events, or RETRY while none
/// is and time is left, as for ppoll (the deadline in `Proc::poll_deadline`). maxevents
/// is lowered to what the output area holds; EINVAL when it is not positive. The
/// signal mask argument is ignored, as ppoll's.
GFN_NOINLINE void epoll_wait_post(Core& c, u64 nr, i64 ms, u64 ts_va) {
    u64 t = now_ns();
    u64 deadline = c.p->poll_deadline;
    c.p->poll_deadline = 0;
    i32 maxev = (i32)X(c, 2);
    if (maxev <= 0) { setX(c, 0, err(E_INVAL)); return; }
    u64 timeout = ~0ull;
    if (nr == SYS_epoll_pwait2) {
        if (!poll_timeout(c, ts_va, t, deadline, &timeout)) return;
    } else if (ms == 0) {
        timeout = 0;
    } else if (ms > 0) {
        if (deadline == 0) deadline = t + (u64)ms * 1000000ull;
        if (t < deadline) c.p->poll_deadline = deadline;
        else timeout = 0;
    }
    u64 cap = c.m->buf_size / EPOLL_EVENT_SIZE * EPOLL_EVENT_SIZE;
    u64 n = (u64)maxev < cap / EPOLL_EVENT_SIZE ? (u64)maxev : cap / EPOLL_EVENT_SIZE;
    u64 a[6] = {c.s.x[0], c.s.x[1], n, c.s.x[3], c.s.x[4], timeout};
    sys_publish(c, nr, SYSREQ_CALL, a, 0, 0, 0, n * EPOLL_EVENT_SIZE, t, true);
}
HANDLER void sys_epoll_pwait(Core& c) {
    if (!poll_pipes_back(c)) epoll_wait_post(c, SYS_epoll_pwait, (i64)(i32)X(c, 3), 0);
}
HANDLER void sys_epoll_pwait2(Core& c) {
    if (!poll_pipes_back(c)) epoll_wait_post(c, SYS_epoll_pwait2, 0, X(c, 3));
}

#define POLLIN 1
#define POLLPRI 2
#define POLLOUT 4
#define POLLERR 8
#define POLLHUP 16
#define POLLNVAL 32
/// The most descriptors a select may name (FD_SETSIZE); a larger nfds counts as this.
#define SELECT_MAX_FDS 1024u
#define SELECT_WORDS (SELECT_MAX_FDS / 64)

/// Read select's three fd sets (readfds, writefds, exceptfds: args 1 to 3, NULL for
/// none) of nfds bits into `sets` (zero where NULL). Returns false on EFAULT.
GFN bool select_sets_in(Core& c, u32 nfds, u64 (*sets)[SELECT_WORDS]) {
    u64 bytes = (u64)(nfds + 63) / 64 * 8;
    NO_UNROLL for (int k = 0; k < 3; k++) {
        rt_memset(sets[k], 0, sizeof(sets[k]));
        if (X(c, 1 + k) && !copy_from_guest(c, (u8*)sets[k], X(c, 1 + k), bytes)) return false;
    }
    return true;
}

/// pselect6(2), served as ppoll: the descriptors in the sets become a pollfd array
/// (readfds asks POLLIN, writefds POLLOUT, exceptfds POLLPRI) for the host's ppoll; the
/// answer becomes the sets again (`select_complete`). The timeout is ppoll's; the
/// signal mask argument is ignored, as ppoll's. EINVAL for a negative nfds or more than
/// POLL_MAX_FDS descriptors in the sets; nfds above FD_SETSIZE counts as FD_SETSIZE.
HANDLER void sys_pselect6(Core& c) {
    if (poll_pipes_back(c)) return;
    u64 t = now_ns();
    i32 n = (i32)X(c, 0);
    u64 deadline = c.p->poll_deadline;
    c.p->poll_deadline = 0;
    if (n < 0) { setX(c, 0, err(E_INVAL)); return; }
    u32 nfds = (u32)n < SELECT_MAX_FDS ? (u32)n : SELECT_MAX_FDS;
    u64 sets[3][SELECT_WORDS];
    if (!select_sets_in(c, nfds, sets)) { setX(c, 0, err(E_FAULT)); return; }
    u8* buf = lane_buf(c);
    u64 count = 0;
    NO_UNROLL for (u32 fd = 0; fd < nfds; fd++) {
        u64 bit = 1ull << (fd & 63);
        u32 w = fd >> 6;
        i16 ev = (sets[0][w] & bit ? POLLIN : 0) | (sets[1][w] & bit ? POLLOUT : 0) | (sets[2][w] & bit ? POLLPRI : 0);
        if (!ev) continue;
        if (count == POLL_MAX_FDS) { setX(c, 0, err(E_INVAL)); return; }
        i32 pfd[2] = {(i32)fd, (i32)(u16)ev};  // struct pollfd: fd, events, revents 0
        rt_memcpy(buf + count * 8, pfd, 8);
        count++;
    }
    u64 timeout;
    if (!poll_timeout(c, X(c, 4), t, deadline, &timeout)) return;
    u64 bytes = count * 8, off = (bytes + 7) & ~7ull;
    u64 a[6] = {c.s.x[0], c.s.x[1], c.s.x[2], c.s.x[3], c.s.x[4], timeout};
    sys_publish(c, SYS_pselect6, SYSREQ_CALL, a, 0, bytes, off, bytes, t, true);
}

/// The host answered a pselect6 (X0 its ppoll count): write the sets of the ready
/// descriptors back (a descriptor counts once per set it is ready in, as select(2)
/// counts), X0 the total; EBADF when a descriptor in the sets is not open. The
/// timeout, when given, gets the time that was left (`deadline`: the call's
/// `Proc::poll_deadline`, 0 when it did not block), as Linux's pselect6 writes it.
GFN_NOINLINE void select_complete(Core& c, u64 deadline) {
    SysReq* r = lane_req(c);
    Proc* lp = lane_proc(c.m, c.p);
    u64 len = *(volatile u32*)&r->out_len;
    if (len > lp->req_out_cap) len = lp->req_out_cap;
    i32 n = (i32)*(volatile u64*)&r->args[0];
    u32 nfds = (u32)n < SELECT_MAX_FDS ? (u32)n : SELECT_MAX_FDS;
    u64 sets[3][SELECT_WORDS];
    rt_memset(sets, 0, sizeof(sets));
    const u8* out = lane_buf(c) + lp->req_out_off;
    u64 ready = 0;
    NO_UNROLL for (u64 i = 0; i + 8 <= len; i += 8) {
        i32 fd;
        i16 ev[2];
        rt_memcpy(&fd, out + i, 4);
        rt_memcpy(ev, out + i + 4, 4);
        if (ev[1] & POLLNVAL) { setX(c, 0, err(E_BADF)); return; }
        if (fd < 0 || (u32)fd >= nfds) continue;
        u64 bit = 1ull << (fd & 63);
        u32 w = (u32)fd >> 6;
        i16 want[3] = {POLLIN | POLLHUP | POLLERR, POLLOUT | POLLERR, POLLPRI};
        i16 asked[3] = {POLLIN, POLLOUT, POLLPRI};
        NO_UNROLL for (int k = 0; k < 3; k++)
            if ((ev[0] & asked[k]) && (ev[1] & want[k])) { sets[k][w] |= bit; ready++; }
    }
    u64 bytes = (u64)(nfds + 63) / 64 * 8;
    NO_UNROLL for (int k = 0; k < 3; k++)
        if (X(c, 1 + k) && !copy_to_guest(c, X(c, 1 + k), (const u8*)sets[k], bytes)) { setX(c, 0, err(E_FAULT)); return; }
    if (X(c, 4)) {
        u64 now = now_ns(), left = deadline > now ? deadline - now : 0;
        i64 ts[2] = {(i64)(left / 1000000000ull), (i64)(left % 1000000000ull)};
        if (!copy_to_guest(c, X(c, 4), (const u8*)ts, 16)) { setX(c, 0, err(E_FAULT)); return; }
    }
    setX(c, 0, ready);
}
