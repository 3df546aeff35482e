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
