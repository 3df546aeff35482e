// newfstatat(2) (`split`): an absolute path whose answer the device keeps (the stat
// cache, statcache.h) is answered here; every other call, and every first one, goes to
// the host (host/file.rs `sys_newfstatat`), which says when its answer may be kept.
#pragma once
#include "marshal.h"

HANDLER void sys_newfstatat(Core& c) {
    u8 path[STATC_PATH];
    u8 st[STAT_BYTES];
    u64 flags = X(c, 3);
    if (c.m->statc && X(c, 1) && X(c, 2) && statc_key_len(1, flags)) {
        // A path that cannot be read or is too long is the host's to report.
        i64 n = copy_str_from_guest(c, path, X(c, 1), STATC_PATH);
        if (c.exc != EXC_NONE) return;  // out of memory: the process was killed
        if (n > 0 && statc_find(c.m, path, (u64)n, flags, st)) {
            setX(c, 0, copy_to_guest(c, X(c, 2), st, STAT_BYTES) ? 0 : err(E_FAULT));
            return;
        }
    }
    sys_post_host(c, SYS_newfstatat, SYSREQ_CALL);
}
