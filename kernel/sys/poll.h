// ppoll(2), served by the host over the process's fds; a poll with nothing ready and
// time left blocks the process (the host answers SYSRET_RETRY and the call runs again
// when the family scheduler next picks it, pipe(7) style), so no host thread waits.
// A finite timeout becomes a deadline on the device clock at the first attempt
// (Proc::poll_deadline), kept across the attempts and cleared when the call completes
// (lane_complete); once it has passed, the host polls once and the call returns.
#pragma once
#include "marshal.h"

/// Most pollfd entries one ppoll may pass.
#define POLL_MAX_FDS 256ull

/// ppoll(2): the pollfd array goes to the host as input (args[5] = the timeout in ns,
/// ~0 for none); the host returns the array with revents set, which `poll_complete`
/// copies back. The signal mask argument is ignored (signals are not asynchronous here).
HANDLER void sys_ppoll(Core& c) {
    u64 t = now_ns();
    u64 nfds = X(c, 1);
    u64 deadline = c.p->poll_deadline;
    c.p->poll_deadline = 0;  // set again below while the call may still block
    if (nfds > POLL_MAX_FDS) { setX(c, 0, err(E_INVAL)); return; }
    u64 bytes = nfds * 8;
    u8* buf = lane_buf(c);
    if (bytes && !copy_from_guest(c, buf, X(c, 0), bytes)) { setX(c, 0, err(E_FAULT)); return; }
    u64 timeout = ~0ull;  // for the host: ~0 = block while nothing is ready, 0 = poll once
    if (X(c, 2)) {
        i64 ts[2];
        if (!copy_from_guest(c, (u8*)ts, X(c, 2), 16)) { setX(c, 0, err(E_FAULT)); return; }
        if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000) { setX(c, 0, err(E_INVAL)); return; }
        u64 ns = (u64)ts[0] * 1000000000ull + (u64)ts[1];
        if (deadline == 0) deadline = t + ns;  // the first attempt
        if (ns > 0 && t < deadline) c.p->poll_deadline = deadline;  // time left: may block
        else timeout = 0;
    }
    u64 off = (bytes + 7) & ~7ull;
    u64 a[6] = {c.s.x[0], c.s.x[1], c.s.x[2], c.s.x[3], c.s.x[4], timeout};
    sys_publish(c, SYS_ppoll, SYSREQ_CALL, a, 0, bytes, off, bytes, t, true);
}

/// The host answered a ppoll: copy the pollfd array with its revents back.
GFN_NOINLINE void poll_complete(Core& c) {
    SysReq* r = lane_req(c);
    Proc* lp = lane_proc(c.m, c.p);
    u64 len = *(volatile u32*)&r->out_len;
    if (len > lp->req_out_cap) len = lp->req_out_cap;
    u64 va = *(volatile u64*)&r->args[0];
    if (len && !copy_to_guest(c, va, lane_buf(c) + lp->req_out_off, len)) setX(c, 0, err(E_FAULT));
}
