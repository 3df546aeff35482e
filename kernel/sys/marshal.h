// Host syscalls: marshal the guest's arguments into the lane's request buffer, post the
// request, and on completion copy the output back into guest memory.
//
// The buffer holds the in-arguments in argument order (paths NUL-terminated), then,
// 8-byte aligned, the output area. The host sees the raw argument values, with lengths
// lowered to what fits in one request. The read and write family (`io_kind`) moves the
// rest in further requests, chunk after chunk, before the call returns (`io_next`):
// POSIX lets a regular file's read or write be short only at its end, on a full disk or
// a signal, and a program that writes a buffer once would lose the rest.
#pragma once
#include "../mm/mm.h"
#include "errno.h"
#include "signal.h"
#include "syscall_kinds.gen.h"  // enum ArgKind (AK_*), sys_argkind
#include "statcache.h"
#include "../ring.h"

#define MAX_PATH_BYTES 4096ull
#define MAX_IOV 1024ull

// A lane has one SysReq and one buffer, and at most one request in flight, whichever
// member of its family posted it: the sequence numbers and device copies of the
// request live in the lane's first process (`lp` below, `lane_proc`).
GFN SysReq* lane_req_of(MachineHdr* m, Proc* p) { return (SysReq*)(uintptr_t)m->reqs + p->lane; }
GFN SysReq* lane_req(Core& c) { return lane_req_of(c.m, c.p); }
GFN u8* lane_buf(Core& c) { return (u8*)(uintptr_t)c.m->bufs + (u64)c.p->lane * c.m->buf_size; }

/// Write request nr of member p to its lane's SysReq (args, result for SYSREQ_LOG, `in`
/// bytes of input already in the buffer, the output area at `off` of `ocap` bytes, the
/// family's notes) and publish it: who posted it, the device copies completion needs,
/// the sequence number. `t_entry`: when the call began (device clock, ns).
GFN_NOINLINE void req_publish(MachineHdr* m, Proc* p, u64 nr, u32 flags, const u64* args, i64 ret, u64 in, u64 off,
                              u64 ocap, u64 t_entry) {
    SysReq* r = lane_req_of(m, p);
    Proc* lp = lane_proc(m, p);
#ifdef GPUOS_RT_SPLIT
    // Measuring variant (docs/BENCHMARKS.md, thirty-ninth session): `post` then times
    // the marshalling only, and `posted -> pushed` the stores into pinned memory with
    // the ring push.
    u64 t_stores = rt_stamp();
#endif
    r->nr = nr;
    for (int i = 0; i < 6; i++) r->args[i] = args[i];
    r->ret = ret;
    r->in_len = (u32)in;
    r->out_off = (u32)off;
    r->out_cap = (u32)ocap;
    r->out_len = 0;
    // A lane with other members to run cannot wait on the host for one of them (a sleep
    // answers RETRY then, crates/gpuos/src/host/mod.rs).
    r->flags = flags | (p->fam_next != p->slot ? SYSREQ_SHARED : 0);
    r->lane = p->lane;
    r->slot = p->tg_slot;  // a thread's calls are its process's (fds, cwd): its leader's host state
    r->pid = p->pid;
    r->nnotes = lp->notes;  // the forks and ends noted since the last request go first
    lp->notes = 0;
    // Device copies of what sys_complete_host needs of the request: when the completion
    // poller delivers the result, completing reads nothing of the SysReq.
    lp->req_nr = nr;
    lp->req_flags = flags;
    lp->req_out_off = (u32)off;
    lp->req_out_cap = (u32)ocap;
    lp->req_slot = p->slot;
    lp->req_open = 1;
    // The count lives in Proc (device memory): reading r->seq or r->done back would
    // cost a round trip across PCIe.
    lp->req_seq++;
    // No fence here: the host reads the request only after what publishes it to the
    // host, whose own fence orders everything written above first: in persistent
    // mode the submission ring's push below (ring_push's release store), in quantum
    // mode the end of the kernel, on the CPU backend the same thread. One system-scope
    // fence fewer per request (a PCIe drain, about a microsecond).
    *(volatile u64*)&r->seq = lp->req_seq;
    u64 t_posted = now_ns();
    lp->rt_posted_at = t_posted;
#ifdef GPUOS_RT_SPLIT
    lp->rt_post_ns += t_stores - t_entry;
    lp->rt_push_ns += t_posted - t_stores;
#elif !defined(GPUOS_NO_RT_STAMPS)  // else t_entry is 0 and t_posted the clock
    lp->rt_post_ns += t_posted - t_entry;
#endif
    // Persistent mode (a completion poller runs: `m->comp`): onto the lane's submission
    // ring now, so that the host serves the request while the lane leaves its slice
    // (core_run, lane_run, the meeting points of its warp). Pushed once the slice had
    // unwound (kernel/cuda_main.cu `post_lane`, which now leaves these alone), it
    // waited for that: 4.4 of the 16 us of a round trip at one lane (H200, twenty-sixth
    // session), and up to the rest of the warp's slice where the lanes of a warp post at
    // different times. Only the lane's own thread posts for its family (spare lanes
    // hand host calls back to it), so each request is pushed once. The ring is never
    // closed on the GPU and never full (no_wait, a cell per lane: kernel/ring.h).
    if (m->comp) {
        ring_push(lane_ring(m, p->lane), p->lane);
        lp->rt_push_ns += rt_since(t_posted);
    }
}

/// req_publish for the task loaded in c, which then stops for the host (EXC_HOSTWAIT).
/// `wait`: the task waits (PROC_WAIT_HOST); false for the notice of an ended process
/// (kernel/sched.h), whose status stays.
GFN_NOINLINE void sys_publish(Core& c, u64 nr, u32 flags, const u64* args, i64 ret, u64 in, u64 off, u64 ocap,
                              u64 t_entry, bool wait) {
    req_publish(c.m, c.p, nr, flags, args, ret, in, off, ocap, t_entry);
    if (wait) c.p->status = PROC_WAIT_HOST;
    c.exc = EXC_HOSTWAIT;
}

/// Gather (or size, when dst is 0) the iovec array at va with n entries, at most cap
/// bytes, leaving out the first `skip` bytes (moved by earlier chunks). Returns the
/// byte count, -1 on a bad address, -2 for too many entries.
GFN_NOINLINE i64 iov_walk(Core& c, u64 va, u64 n, u8* dst, u64 cap, const u8* src_scatter, u64 skip = 0) {
    if (n > MAX_IOV) return -2;
    u64 done = 0;
    for (u64 k = 0; k < n && done < cap; k++) {
        u64 iov[2];
        if (!copy_from_guest(c, (u8*)iov, va + 16 * k, 16)) return -1;
        u64 base = iov[0], len = iov[1];
        u64 gone = skip < len ? skip : len;
        skip -= gone;
        base += gone;
        len -= gone;
        if (len > cap - done) len = cap - done;
        if (dst && !copy_from_guest(c, dst + done, base, len)) return -1;
        if (src_scatter && !copy_to_guest(c, base, src_scatter + done, len)) return -1;
        done += len;
    }
    return (i64)done;
}

/// Read and write family syscalls: a call may move more than one request buffer holds.
enum IoKind : u32 { IO_NONE = 0, IO_READ = 1, IO_WRITE = 2 };
GFN u32 io_kind(u64 nr) {
    if (nr == SYS_read || nr == SYS_pread64 || nr == SYS_readv || nr == SYS_preadv || nr == SYS_preadv2) return IO_READ;
    if (nr == SYS_write || nr == SYS_pwrite64 || nr == SYS_writev || nr == SYS_pwritev || nr == SYS_pwritev2)
        return IO_WRITE;
    return IO_NONE;
}
/// Whether the read or write family call nr moves an iovec array (args[1], args[2]).
GFN bool io_vectored(u64 nr) {
    return nr == SYS_readv || nr == SYS_writev || nr == SYS_preadv || nr == SYS_pwritev || nr == SYS_preadv2 ||
           nr == SYS_pwritev2;
}
/// Whether the read or write family call nr has a file offset (args[3]); -1 (preadv2,
/// pwritev2) is the file's own, which the host moves.
GFN bool io_positioned(u64 nr) {
    return nr == SYS_pread64 || nr == SYS_pwrite64 || nr == SYS_preadv || nr == SYS_pwritev || nr == SYS_preadv2 ||
           nr == SYS_pwritev2;
}
/// Bytes of a write's buffer that a `--strace` log of the whole call carries, one more
/// than the trace shows (so it adds "...").
#define IO_LOG_PREVIEW 33ull

// Descriptors whose reads the device serves (kernel/sys/devread.h).
GFN_NOINLINE bool devread_guard(Core& c, u64 nr, const u64* a);
GFN_NOINLINE bool dpipe_guard(Core& c, u64 nr, const u64* a);  // kernel/sys/dpipe.h
GFN_NOINLINE void devread_opened(Core& c, i64 fd, const u8* out, u64 olen);

/// Post syscall nr to the host (flags SYSREQ_CALL or SYSREQ_LOG) and make the lane wait.
/// `orig`, when given, holds the arguments as they were at the call and `logret` the
/// result (for SYSREQ_LOG).
///
/// A read or write family call (`io_kind`) continues after the `Proc::io_done` bytes
/// its earlier requests moved: the buffer pointer, the count, the iovec position and
/// (pread64, pwrite64) the file offset advance by that much. With `--strace` its
/// requests are quiet and the whole call is logged when it ends (`io_finish`).
GFN_NOINLINE void sys_post_host(Core& c, u64 nr, u32 flags, const u64* orig = 0, u64 logret = 0) {
    // A descriptor the call names whose offset the device keeps goes back to the host
    // first (the call runs again after).
    // (A pipe's first: its sendfile from such a descriptor is served on the device.)
    if ((flags & SYSREQ_CALL) && !orig && (dpipe_guard(c, nr, c.s.x) || devread_guard(c, nr, c.s.x))) return;
    u64 t_entry = rt_stamp();
    u8* buf = lane_buf(c);
    u64 cap = c.m->buf_size;
    u64 a[6];
    for (int i = 0; i < 6; i++) a[i] = orig ? orig[i] : c.s.x[i];
    // The six argument kinds, loaded once: six independent loads of the table instead
    // of one in each step of each loop below, where every load waited for the branch
    // before it (H100, a getuid's marshalling: 2.46 us of the 13.3 us round trip).
    u32 kind[6];
    for (int i = 0; i < 6; i++) kind[i] = sys_argkind(nr, i);
    u64 in = 0;
    u32 io = io_kind(nr);
    u64 done = (flags & SYSREQ_CALL) && io ? c.p->io_done : 0;
    if ((flags & SYSREQ_CALL) && io) {
        if (c.p->strace) flags |= SYSREQ_QUIET;
        if (io == IO_READ && done) flags |= SYSREQ_NOWAIT;
        if (io_positioned(nr) && (i64)a[3] != -1) a[3] += done;
    }
    // In-data may fill the buffer when the call has no output area.
    u64 in_cap = cap;
    for (int i = 0; i < 6; i++) {
        u32 k = kind[i] >> 16;
        if (k == AK_OUT_ARG || k == AK_OUT_FIX || k == AK_VOUT) in_cap = cap / 2;
    }
    if (flags & SYSREQ_LOG) {  // a log shows a write's first bytes and the paths
        for (int i = 0; i < 6; i++) {
            u32 k = kind[i];
            if (k >> 16 == AK_STR && a[i]) {
                // A path served on the device (the stat cache); one that cannot be read
                // whole ends the previews, which the host takes in argument order.
                i64 n = copy_str_from_guest(c, buf + in, a[i], cap - in > MAX_PATH_BYTES ? MAX_PATH_BYTES : cap - in);
                if (n < 0) break;
                in += (u64)n + 1;
                continue;
            }
            if (k >> 16 != AK_IN_ARG || !a[i]) continue;
            u64 n = a[k & 0xffff] < IO_LOG_PREVIEW ? a[k & 0xffff] : IO_LOG_PREVIEW;
            if (copy_from_guest(c, buf + in, a[i], n)) in += n;
        }
    }
    if (flags & SYSREQ_CALL) {
        for (int i = 0; i < 6; i++) {
            u32 k = kind[i];
            u32 what = k >> 16, par = k & 0xffff;
            if (what == AK_STR) {
                u64 room = cap - in > MAX_PATH_BYTES ? MAX_PATH_BYTES : cap - in;
                if (!a[i] && par && room) { buf[in++] = 0; continue; }  // `sn`: NULL allowed (utimensat)
                i64 n = a[i] ? copy_str_from_guest(c, buf + in, a[i], room) : -1;
                if (n == -1) { setX(c, 0, err(E_FAULT)); return; }
                if (n < 0) { setX(c, 0, err(E_NAMETOOLONG)); return; }
                in += (u64)n + 1;
            } else if (what == AK_IN_ARG) {
                u64 room = in < in_cap ? in_cap - in : 0;  // keep room for an output area
                a[i] += done;
                u64 n = a[par] - done < room ? a[par] - done : room;
                a[par] = n;
                if (!copy_from_guest(c, buf + in, a[i], n)) { setX(c, 0, err(E_FAULT)); return; }
                in += n;
            } else if (what == AK_IN_FIX) {
                if (a[i] && !copy_from_guest(c, buf + in, a[i], par)) { setX(c, 0, err(E_FAULT)); return; }
                if (a[i]) in += par;
            } else if (what == AK_VIN) {
                i64 n = iov_walk(c, a[i], a[par], buf + in, in < in_cap ? in_cap - in : 0, 0, done);
                if (n == -1) { setX(c, 0, err(E_FAULT)); return; }
                if (n < 0) { setX(c, 0, err(E_INVAL)); return; }
                in += (u64)n;
            }
        }
    }
    u64 off = (in + 7) & ~7ull;
    u64 ocap = cap - off;
    for (int i = 0; i < 6 && (flags & SYSREQ_CALL); i++) {
        u32 k = kind[i];
        u32 what = k >> 16, par = k & 0xffff;
        if (what == AK_OUT_ARG) {
            if (a[par] - done < ocap) ocap = a[par] - done;
            a[par] = ocap;
        } else if (what == AK_OUT_FIX) {
            ocap = a[i] ? (par < ocap ? par : ocap) : 0;
        } else if (what == AK_VOUT) {
            i64 n = iov_walk(c, a[i], a[par], 0, ocap, 0, done);
            if (n == -1) { setX(c, 0, err(E_FAULT)); return; }
            if (n < 0) { setX(c, 0, err(E_INVAL)); return; }
            ocap = (u64)n;
        }
    }
    sys_publish(c, nr, flags, a, (i64)(orig ? logret : c.s.x[0]), in, off, ocap, t_entry, true);
}

/// The total bytes of a read or write family call: its count, or its iovecs' sum.
GFN u64 io_total(Core& c, u64 nr) {
    if (!io_vectored(nr)) return c.s.x[2];
    i64 n = iov_walk(c, c.s.x[1], c.s.x[2], 0, ~0ull, 0);
    return n < 0 ? 0 : (u64)n;
}

/// One chunk of a read or write family call (c's process) is done with result *ret,
/// which had room for `room` bytes of output. Counts its bytes in `Proc::io_done`, and
/// when the call has more to move posts the next chunk and returns true. Else ends the
/// call: *ret becomes the bytes moved in all, or the chunk's error (or 0) when none were,
/// as read(2) and write(2) return. A write goes on after a short chunk (the next one
/// fails, blocks on a full pipe, or moves more: a blocking write moves everything,
/// pipe(7)); a read goes on only after a full chunk, and its later chunks never wait
/// (SYSREQ_NOWAIT): a read returns what is at hand once it has some bytes.
GFN_NOINLINE bool io_next(Core& c, u64 nr, i64* ret, u64 room) {
    Proc* p = c.p;
    i64 r = *ret;
    if (r > 0) p->io_done += (u64)r;
    bool more = r > 0 && p->io_done < io_total(c, nr) && (io_kind(nr) == IO_WRITE || (u64)r == room);
    if (more) {
        sys_post_host(c, nr, SYSREQ_CALL);
        if (p->status == PROC_WAIT_HOST) return true;
        // The next chunk's buffer is not readable or writable: the call returns the
        // bytes it moved (below).
    }
    if (p->io_done) *ret = (i64)p->io_done;
    p->io_done = 0;
    return false;
}

/// copy_file_range(2) or splice(2) moved n > 0 bytes: the offsets the guest gave (args 1 and 3,
/// loff_t*, sent to the host as `i=8`) advance by n, as the kernel writes them back:
/// the marshalling has no in-out arguments. EFAULT when one cannot be written.
GFN_NOINLINE void io_offsets_complete(Core& c, u64 n) {
    NO_UNROLL for (int k = 1; k <= 3; k += 2) {
        u64 va = c.s.x[k], off = 0;
        if (!va) continue;
        bool ok = copy_from_guest(c, (u8*)&off, va, 8);
        off += n;
        if (!ok || !copy_to_guest(c, va, (const u8*)&off, 8)) { setX(c, 0, err(E_FAULT)); return; }
    }
}

/// A write parked while its pipe was full, with `Proc::io_done` bytes already written,
/// is interrupted by a signal that will run a handler: it returns the bytes written,
/// as write(2) says, instead of restarting (the PC moves past the SVC). With --strace
/// the call is logged first: returns true when that log is posted (the signal is
/// delivered when the process next runs).
GFN_NOINLINE bool io_interrupt(Core& c) {
    if (!c.p->io_done) return false;
    u64 args[6];
    for (int i = 0; i < 6; i++) args[i] = c.s.x[i];
    u64 ret = c.p->io_done;
    setX(c, 0, ret);
    c.p->io_done = 0;
    c.s.pc += 4;
    if (!c.p->strace) return false;
    sys_post_host(c, c.s.x[8], SYSREQ_LOG, args, ret);
    return true;
}

/// Whether the host has completed the lane's latest request (it stores `done = seq`).
GFN bool host_req_done(MachineHdr* m, Proc* lp) {
    SysReq* r = (SysReq*)(uintptr_t)m->reqs + lp->slot;
    return load_acquire_u64(&r->done) == lp->req_seq;
}

/// The host completed the lane's request: copy the output to the guest, set X0.
/// `polled`: the completion poller delivered it (the lane saw `Proc::host_done ==
/// req_seq`, then fenced), so the result and output length are in `Proc::host_ret` and
/// `host_out_len`, and the rest is taken from the lane's own copies in the Proc: no read
/// of host memory but the output bytes. Otherwise (quantum mode, the CPU backend, or
/// the lane's own poll of `SysReq::done` saw the completion first) everything comes
/// from the SysReq.
GFN void sys_complete_request(Core& c, bool polled) {
    Proc* p = lane_proc(c.m, c.p);
    c.p->status = PROC_RUNNABLE;
    i64 ret;
    u64 olen, ooff, nr, hlen;
    u32 fd_low;
    if (polled) {
        if (!(p->req_flags & SYSREQ_CALL)) return;
        // Written by the poller warp: volatile, so never from a stale L1 line.
        ret = (i64)*(volatile u64*)&p->host_ret;
        hlen = *(volatile u64*)&p->host_out_len;  // SysReq::fd_low in the high half
        fd_low = (u32)(hlen >> 32);
        hlen = (u32)hlen;
        ooff = p->req_out_off;
        nr = p->req_nr;
    } else {
        SysReq* r = lane_req(c);
        if (!(r->flags & SYSREQ_CALL)) return;
        ret = r->ret;
        hlen = r->out_len;
        fd_low = r->fd_low;
        ooff = r->out_off;
        nr = r->nr;
    }
    // The host's view of the descriptors after the call (devread_open picks from it).
    c.p->fd_low = fd_low;
    c.p->fd_known = c.p == c.mm && !c.mm->fd_shared;  // devread_on: its own table
    // OUT_LASTING: an answer every process would get while the run lasts (statcache.h).
    bool lasting = hlen & OUT_LASTING;
    hlen &= ~(u64)OUT_LASTING;
    u64 cap = polled ? p->req_out_cap : lane_req(c)->out_cap;
    olen = hlen < cap ? hlen : cap;
    u32 io = io_kind(nr);
    u64 done = io ? c.p->io_done : 0;
    if (ret == SYSRET_RETRY) {
        // A later chunk of a read would wait: the call returns what it has (read(2)).
        if (io == IO_READ && done) ret = 0;
        else {  // would block: park, and run the SVC again later (a write keeps io_done)
            c.p->status = PROC_BLOCKED;
            c.p->block = BLOCK_RETRY;
            p->retry_blocked++;
            c.s.pc -= 4;
            return;
        }
    }
    p->progress++;
    i64 host_ret = ret;  // the host's answer, before a copy-out may fail
    const u8* out = lane_buf(c) + ooff;
    for (int i = 0; i < 6 && olen; i++) {
        u32 k = sys_argkind(nr, i);
        u32 kind = k >> 16, par = k & 0xffff;
        u64 ptr = c.s.x[i];
        if ((kind == AK_OUT_ARG || kind == AK_OUT_FIX) && ptr) {
            if (!copy_to_guest(c, ptr + done, out, olen) && ret >= 0) ret = -E_FAULT;
        } else if (kind == AK_VOUT) {
            if (iov_walk(c, ptr, c.s.x[par], 0, olen, out, done) < 0 && ret >= 0) ret = -E_FAULT;
        }
    }
    if (nr == SYS_newfstatat && c.m->statc)
        statc_answered(c.m, lane_buf(c), lane_req(c)->in_len, out, olen, host_ret, lasting, c.s.x[3]);
    if (nr == SYS_openat && lasting && ret >= 0) devread_opened(c, ret, out, olen);
    if (nr == SYS_openat && lasting && host_ret < 0 && c.m->statc)  // missing for good
        statc_answered(c.m, lane_buf(c), lane_req(c)->in_len, out, 0, host_ret, true,
                       c.s.x[2] & OPENAT_O_NOFOLLOW ? STATC_AT_SYMLINK_NOFOLLOW : 0);
    i64 chunk = ret;
    if (io && io_next(c, nr, &ret, p->req_out_cap)) return;  // the next chunk is posted
    u64 args[6];
    for (int i = 0; i < 6; i++) args[i] = c.s.x[i];
    setX(c, 0, (u64)ret);
    // With --strace the chunks were quiet: log the whole call, with its own arguments.
    if (io && c.p->strace) sys_post_host(c, nr, SYSREQ_LOG, args, (u64)ret);
    // pipe(7): writing to a pipe whose read ends are all closed raises SIGPIPE (the host
    // ignores its own and gets EPIPE, which the guest also sees when it survives, or the
    // bytes written before; Linux's pipe_write raises it then too).
    if (chunk == -E_PIPE && (io_kind(nr) == IO_WRITE || nr == SYS_sendfile))
        sig_raise_sync(c, SIG_PIPE);
}

/// Complete the lane's request (sys_complete_request), timing the round trip's last
/// stages in the Proc (rt_* fields, reported by `gpuos run -v` on the GPU).
GFN_NOINLINE void sys_complete_host(Core& c, bool polled = false) {
    u64 t_wake = rt_stamp();
    Proc* p = lane_proc(c.m, c.p);
    u64 posted = p->rt_posted_at;  // completing may post the call's next chunk
    sys_complete_request(c, polled);
#ifndef GPUOS_NO_RT_STAMPS  // else t_wake is 0 and posted the clock
    p->rt_wake_ns += t_wake - posted;
#endif
#ifndef GPUOS_RT_SPLIT  // there the column times the lane's acquire (cuda_main.cu)
    p->rt_complete_ns += rt_stamp() - t_wake;
#endif
    p->rt_count++;
}

/// After a device-served syscall: report it to the host when tracing, with the
/// arguments as they were at the call (`args`) and the result in X0.
GFN void sys_after_device(Core& c, u64 nr, const u64* args) {
    u64 ret = c.sig_entered ? c.sig_x0 : c.s.x[0];  // a handler entered: its X0 is not the result
    c.sig_entered = 0;
    if (!c.p->strace || c.exc != EXC_NONE) return;
    sys_post_host(c, nr, SYSREQ_LOG, args, ret);
}
