// newfstatat(2) (`split`): an absolute path whose answer the device keeps (the stat
// cache, statcache.h) is answered here; a path another lane is asking the host about
// parks the caller, which runs the call again later; every other call goes to the host
// (host/file.rs `sys_newfstatat`), which says when its answer may be kept.
#pragma once
#include "marshal.h"
#include "devread.h"

HANDLER void sys_newfstatat(Core& c) {
    u8 path[STATC_PATH];
    alignas(8) u8 st[STAT_BYTES];  // its first word read as an i64 (STATC_GONE)
    u64 flags = X(c, 3);
    if (devread_fstatat(c)) return;  // fstat of a descriptor the device reads
    if (c.m->statc && X(c, 1) && X(c, 2) && statc_flags_ok(flags)) {
        // A path that cannot be read or is too long is the host's to report.
        i64 n = copy_str_from_guest(c, path, X(c, 1), STATC_PATH);
        if (c.exc != EXC_NONE) return;  // out of memory: the process was killed
        switch (n > 0 ? statc_find(c.m, path, (u64)n, flags, st) : (u32)STATC_MISS) {
        case STATC_HIT:
            setX(c, 0, copy_to_guest(c, X(c, 2), st, STAT_BYTES) ? 0 : err(E_FAULT));
            return;
        case STATC_GONE:  // the lookup fails before anything is written (fs/stat.c)
            setX(c, 0, (u64)*(const i64*)st);
            return;
        case STATC_WAIT:
            // Parked as a call that would block: the family scheduler runs it again
            // once a member's host call completes or nothing else can run.
            c.p->status = PROC_BLOCKED;
            c.p->block = BLOCK_RETRY;
            lane_proc(c.m, c.p)->retry_blocked++;
            // The SVC runs again: core_run counted it already, so this attempt must not
            // count (instruction counts stay exact; u64 arithmetic wraps back).
            c.p->insns--;
            c.s.pc = c.pc;
            c.exc = EXC_YIELD;
            return;
        default: break;
        }
    }
    sys_post_host(c, SYS_newfstatat, SYSREQ_CALL);
}
