// ioctl(2) (`split`): the host serves every request (crates/gpuos/src/host/misc.rs),
// marshalled by the table; FIONBIO's argument is an int the guest points to, which the
// table's marshalling does not send, so the device reads it and posts its value.
#pragma once
#include "marshal.h"
#include "devread.h"
#include "dpipe.h"

#define FIONBIO 0x5421u

HANDLER void sys_ioctl(Core& c) {
    if (devread_ioctl(c)) return;  // a tty request to a descriptor the device reads
    if ((u32)X(c, 1) != FIONBIO) {
        sys_post_host(c, SYS_ioctl, SYSREQ_CALL);
        return;
    }
    i32 on;
    if (!copy_from_guest(c, (u8*)&on, X(c, 2), 4)) { setX(c, 0, err(E_FAULT)); return; }
    // A pipe the device keeps reads its O_NONBLOCK here; the host's placeholder keeps
    // it too (F_GETFL).
    u64* pe = devread_on(c) ? dpfd_find(c.p, X(c, 0)) : 0;
    if (pe) dpipe_nonblock(c.m, *pe, on != 0);
    u64 a[6] = {X(c, 0), X(c, 1), on != 0, 0, 0, 0};
    sys_publish(c, SYS_ioctl, SYSREQ_CALL, a, 0, 0, 0, 0, now_ns(), true);
}
