// Pipes in device memory (issue 16: "a pipe whose both ends are held by processes of the
// run lives in device memory and moves bytes without the host"). A shell pipeline's
// processes are one family, run by one lane (kernel/proc/family.h), so a pipe2(2) of a
// process whose descriptor table is its own is made here: the pipe's header and its
// 64 KiB ring (Linux's default capacity, pipe(7)) are frames of the pool, and the
// process keeps its descriptors in `Proc::dpfd`. read(2), write(2), close(2), dup(2),
// dup3(2) and fcntl's F_DUPFD are served here, on the family's lane (spare lanes hand
// syscalls back to it), so one lane alone touches a pipe. The host owns descriptor
// numbers: the device picks the lowest free ones as the host would (`Proc::fd_low`,
// kernel/sys/devread.h) and leaves the host notes (NOTE_PIPE, NOTE_DUP, NOTE_CLOSE)
// by which it keeps placeholders at the same numbers before it serves the lane's next
// request (crates/gpuos/src/host/noted.rs): a fork copies them, an execve closes the
// FD_CLOEXEC ones, and the host answers what a pipe's answer needs no bytes for on
// them (fstat, statx, fstatfs, fcntl's flags, lseek and pread's ESPIPE, isatty's
// ENOTTY, /proc/self/fd). Anything else that reaches a pipe's bytes on the host (poll,
// select, epoll, splice, sendmsg, FIONREAD, an open of /proc/self/fd/N, a thread that
// would share the table) first hands the pipe back: its bytes go to the host in one
// request (`gpuos_pipe_back`), the host turns the placeholders into a pipe of its own,
// and from then on the pipe is the host's, as any.
#pragma once
#include "marshal.h"
#include "devread.h"

GFN_NOINLINE void sched_wake_retry(MachineHdr* m, Proc* lp);  // kernel/sched.h

/// Pages of a pipe's ring: 64 KiB, Linux's default capacity (pipe(7)).
#define DPIPE_PAGES 16u
#define DPIPE_CAP ((u64)DPIPE_PAGES * PAGE_SZ)
/// PIPE_BUF: a write of at most this many bytes is atomic (pipe(7)).
#define DPIPE_ATOMIC 4096u
/// `DPipe::state`: served here; being handed back (its bytes go to the host a request
/// buffer at a time); handed back (the host's pipe now: its descriptors' entries go as
/// they are next looked at).
#define DPIPE_DEV 1u
#define DPIPE_BACK 2u
#define DPIPE_HOST 3u
/// A `Proc::dpfd` entry: the descriptor + 1 (bits 0-15), the write end (bit 16),
/// FD_CLOEXEC (bit 17), the pipe's header frame (bits 32-63); 0: free.
#define DPFD_WRITE (1ull << 16)
#define DPFD_CLOEXEC (1ull << 17)
/// open(2) flags of pipe2 (arm64): O_NONBLOCK, O_CLOEXEC; O_DIRECT (packet mode) is the host's.
#define DPIPE_O_NONBLOCK 04000u
#define DPIPE_O_CLOEXEC 02000000u
/// fcntl(2) commands.
#define DPIPE_F_DUPFD 0u
#define DPIPE_F_GETFD 1u
#define DPIPE_F_SETFD 2u
#define DPIPE_F_GETFL 3u
#define DPIPE_F_SETFL 4u
#define DPIPE_F_DUPFD_CLOEXEC 1030u
#define DPIPE_CLOSE_RANGE_CLOEXEC 4u
/// ioctl(2) requests a placeholder answers on the host (isatty: ENOTTY).
#define DPIPE_TCGETS 0x5401u
#define DPIPE_TIOCGWINSZ 0x5413u
/// The host's descriptor limit (crates/gpuos/src/host/fd.rs MAX_FDS).
#define DPIPE_MAX_FD 1024u

/// A pipe's header, at the start of its frame.
struct DPipe {
    u32 state;
    u32 nonblock;   // bit 0: the read end's description has O_NONBLOCK; bit 1: the write end's
    u64 head;       // bytes read since the pipe was made
    u64 tail;       // bytes written
    u32 readers;    // descriptors of the read end, in every process of the family
    u32 writers;    // of the write end
    u32 lock;       // `dpipe_lock`: 1 while a lane moves bytes (with spare lanes only)
    u32 pad;
    u64 frames[DPIPE_PAGES];  // frame + 1 of each page of the ring; 0: none yet
    // Linux's accounting of the held bytes (fs/pipe.c): DPIPE_PAGES slots, each a page's
    // worth of one write or more (`dpipe_fits`). The bytes themselves stay contiguous
    // in the ring; only what fits and when follows the slots.
    u16 slot_len[DPIPE_PAGES];  // bytes not yet read in each slot
    u8 slot_first;  // the oldest slot
    u8 slot_used;   // slots holding bytes (0: empty)
    u16 last_end;   // where the newest slot's bytes end in its page
    u32 last_merge; // whether a write may add to the newest slot (not after a splice)
};

GFN DPipe* dpipe_at(MachineHdr* m, u64 e) { return (DPipe*)frame_ptr(m, e >> 32); }
GFN u64 dpfd_fd(u64 e) { return (e & 0xffff) - 1; }

/// Take pipe p's lock where spare lanes run (they move bytes of pipes too: `dpipe_user`);
/// without them only the family's lane touches a pipe and nothing is taken. Held while
/// the ring's positions, bytes and state change (a copy of at most the ring), never
/// across a wait. True when taken (give it to `dpipe_unlock`).
GFN bool dpipe_lock(MachineHdr* m, DPipe* p) {
    if (!load_relaxed_u64(&m->spare_lanes)) return false;
    NO_UNROLL while (atomic_cas_u32_dev(&p->lock, 0, 1) != 0) cpu_relax();
    atomic_fence_dev();  // acquire: the last holder's ring and positions
    return true;
}

GFN void dpipe_unlock(DPipe* p, bool held) {
    if (held) store_release_dev_u32(&p->lock, 0);
}

/// The entry of descriptor fd of process g, or null.
GFN u64* dpfd_find(Proc* g, u64 fd) {
    if (fd >= DPIPE_MAX_FD) return 0;
    NO_UNROLL for (int k = 0; k < DPIPE_FDS; k++)
        if (g->dpfd[k] && dpfd_fd(g->dpfd[k]) == fd) return &g->dpfd[k];
    return 0;
}

/// Whether process g holds a descriptor of a pipe kept here.
GFN bool dpfd_any(const Proc* g) {
    bool any = false;
    NO_UNROLL for (int k = 0; k < DPIPE_FDS; k++) any |= g->dpfd[k] != 0;
    return any;
}

GFN u64* dpfd_free(Proc* g) {
    NO_UNROLL for (int k = 0; k < DPIPE_FDS; k++)
        if (!g->dpfd[k]) return &g->dpfd[k];
    return 0;
}

/// The lowest free descriptor >= lo below 32 of c's process, as the host would give
/// (`Proc::fd_low`), or -1 (not known, or none: the host decides then).
GFN i64 dpipe_lowest(Core& c, u64 lo) {
    if (!c.p->fd_known || lo >= 32) return -1;
    u32 free = ~c.p->fd_low & (0xffffffffu << lo);
    return free ? 31 - clz32(free & (0u - free)) : -1;
}

/// Entry e's descriptor goes: its end loses a descriptor, and the pipe goes with its
/// last; members waiting on it look again (EOF, EPIPE).
GFN_NOINLINE void dpipe_put(MachineHdr* m, Proc* lp, u64 e) {
    DPipe* p = dpipe_at(m, e);
    if (e & DPFD_WRITE) p->writers--;
    else p->readers--;
    if (p->readers + p->writers == 0) {
        NO_UNROLL for (u32 i = 0; i < DPIPE_PAGES; i++)
            if (p->frames[i]) frame_unref(m, p->frames[i] - 1);
        p->state = 0;
        frame_unref(m, e >> 32);
    }
    sched_wake_retry(m, lp);
}

/// Entry *pe of c's process goes (close, dup3 over it, an execve's FD_CLOEXEC).
GFN void dpfd_drop(Core& c, u64* pe) {
    u64 e = *pe, fd = dpfd_fd(e);
    *pe = 0;
    if (fd < 32) c.p->fd_low &= ~(1u << fd);
    dpipe_put(c.m, lane_proc(c.m, c.p), e);
}

/// Process q ends (or its image goes, `cloexec_only`: an execve): its entries go.
GFN_NOINLINE void dpipe_end(MachineHdr* m, Proc* q, bool cloexec_only = false) {
    NO_UNROLL for (int k = 0; k < DPIPE_FDS; k++) {
        u64 e = q->dpfd[k];
        if (!e || (cloexec_only && !(e & DPFD_CLOEXEC))) continue;
        q->dpfd[k] = 0;
        dpipe_put(m, lane_proc(m, q), e);
    }
}

/// A fork copied q's entries from its parent: each end gains a descriptor.
GFN_NOINLINE void dpipe_forked(MachineHdr* m, Proc* q) {
    NO_UNROLL for (int k = 0; k < DPIPE_FDS; k++) {
        u64 e = q->dpfd[k];
        if (!e) continue;
        DPipe* p = dpipe_at(m, e);
        if (e & DPFD_WRITE) p->writers++;
        else p->readers++;
    }
}

/// The bytes of an n-byte write that fs/pipe.c's pipe_write adds to the pipe's newest
/// slot: at a call's start (`first`), n % PAGE_SZ of them when the pipe holds bytes, its
/// newest slot may take more (`last_merge`) and they fit behind that slot's in its page;
/// else 0 (the write takes free slots a page at a time).
GFN u64 dpipe_merge_len(const DPipe* p, u64 n, bool first) {
    u64 chars = n & (PAGE_SZ - 1);
    return first && chars && p->slot_used && p->last_merge && p->last_end + chars <= PAGE_SZ ? chars : 0;
}

/// How many bytes of an n-byte write fit now (`merged`: its dpipe_merge_len): the merged
/// part, then a page per free slot. So a write of at most PIPE_BUF bytes fits whole or
/// not at all, and writes of 1,000 bytes fill a page with four (Linux: 64,000 bytes in a
/// pipe of 16 slots, not 65,536).
GFN u64 dpipe_fits(const DPipe* p, u64 n, u64 merged) {
    u64 room = (u64)(DPIPE_PAGES - p->slot_used) * PAGE_SZ;
    return merged + (n - merged < room ? n - merged : room);
}

/// Account n bytes written (at most what `dpipe_fits` allowed; `merged` as given to it):
/// the merged part into the newest slot, the rest a page a slot. `merge`: later writes
/// may add to the newest slot (a write's may; a splice's page may not, fs/splice.c).
GFN void dpipe_slots_put(DPipe* p, u64 n, u64 merged, bool merge) {
    if (n == 0) return;  // nothing went in: the newest slot stays as it was
    if (merged > n) merged = n;
    if (merged) {
        p->slot_len[(p->slot_first + p->slot_used - 1) % DPIPE_PAGES] += (u16)merged;
        p->last_end += (u16)merged;
        n -= merged;
    }
    NO_UNROLL while (n && p->slot_used < DPIPE_PAGES) {
        u64 take = n < PAGE_SZ ? n : PAGE_SZ;
        p->slot_len[(p->slot_first + p->slot_used) % DPIPE_PAGES] = (u16)take;
        p->slot_used++;
        p->last_end = (u16)take;
        n -= take;
    }
    p->last_merge = merge;
}

/// The bytes of a file at offset pos, n of them, that a splice into the pipe (sendfile
/// from a file: fs/splice.c, filemap_splice_read) places now: a slot for each piece up
/// to the end of one of the file's pages, never merged with another, as many as there
/// are free slots. With `put` the pieces are accounted too (n at most what fits).
GFN u64 dpipe_splice_slots(DPipe* p, u64 pos, u64 n, bool put) {
    u64 fit = 0;
    NO_UNROLL for (u64 used = p->slot_used; fit < n && used < DPIPE_PAGES; used++) {
        u64 off = (pos + fit) & (PAGE_SZ - 1), piece = PAGE_SZ - off < n - fit ? PAGE_SZ - off : n - fit;
        if (put) {
            p->slot_len[(p->slot_first + used) % DPIPE_PAGES] = (u16)piece;
            p->slot_used++;
            p->last_end = (u16)(off + piece);
            p->last_merge = 0;
        }
        fit += piece;
    }
    return fit;
}

/// Account n bytes read: each slot emptied is free again.
GFN void dpipe_slots_take(DPipe* p, u64 n) {
    NO_UNROLL while (n && p->slot_used) {
        u64 left = p->slot_len[p->slot_first], t = n < left ? n : left;
        left -= t;
        n -= t;
        if (left) {
            p->slot_len[p->slot_first] = (u16)left;
        } else {
            p->slot_first = (u8)((p->slot_first + 1) % DPIPE_PAGES);
            p->slot_used--;
        }
    }
}

/// Whether c's call must wait for the family's notes to go first (they are full, and
/// a pipe call here leaves one): then its SVC runs again after the lane posted them
/// (kernel/sched.h `notes_due`), instead of the pipe going to the host for good (a
/// shell's children close a dozen pipe ends each as they start). Not under --strace,
/// where no notes are left.
GFN bool dpipe_notes_wait(Core& c) {
    if (c.p->strace || lane_proc(c.m, c.p)->notes < FAMILY_NOTES) return false;
    c.p->insns--;  // the SVC runs again: counted once
    c.s.pc = c.pc;
    c.exc = EXC_YIELD;
    return true;
}

/// pipe2(2) made here; false when the host makes it (flags beyond O_NONBLOCK and
/// O_CLOEXEC, the process's descriptors not known or fewer than two free below 32, its
/// entries or the lane's notes full, no frame).
GFN_NOINLINE bool dpipe_create(Core& c) {
    u64 flags = X(c, 1);
    if (flags & ~(u64)(DPIPE_O_NONBLOCK | DPIPE_O_CLOEXEC)) return false;
    i64 r = dpipe_lowest(c, 0);
    if (r < 0) return false;
    c.p->fd_low |= 1u << r;
    i64 w = dpipe_lowest(c, 0);
    c.p->fd_low &= ~(1u << r);
    u64* er = dpfd_free(c.p);
    if (er) *er = 1;  // held while the second is looked for
    u64* ew = er ? dpfd_free(c.p) : 0;
    if (er) *er = 0;
    if (w < 0 || !ew || c.m->pcache == 0) return false;
    if (dpipe_notes_wait(c)) return true;
    i32 fds[2] = {(i32)r, (i32)w};
    if (!copy_to_guest(c, X(c, 0), (const u8*)fds, 8)) {
        if (c.exc == EXC_NONE) setX(c, 0, err(E_FAULT));
        return true;
    }
    u64 f = frame_alloc(c.m);
    if (f == NO_FRAME) return false;
    u64 cloexec = flags & DPIPE_O_CLOEXEC ? 1 : 0, nonblock = flags & DPIPE_O_NONBLOCK ? 1 : 0;
    u64 note = NOTE_PIPE | (u64)r | (u64)w << 10 | cloexec << 20 | nonblock << 21 | f << 28;
    if (f >> 32 || !family_note(c.m, c.p, note, (u32)c.p->tg_slot, (u32)c.p->pid)) {
        frame_unref(c.m, f);
        return false;
    }
    DPipe* p = (DPipe*)frame_ptr(c.m, f);
    rt_memset(p, 0, sizeof(DPipe));
    p->state = DPIPE_DEV;
    p->nonblock = nonblock ? 3 : 0;
    p->readers = p->writers = 1;
    u64 cl = cloexec ? DPFD_CLOEXEC : 0;
    *er = f << 32 | cl | ((u64)r + 1);
    *ew = f << 32 | cl | DPFD_WRITE | ((u64)w + 1);
    c.p->fd_low |= 1u << r | 1u << w;
    setX(c, 0, 0);
    return true;
}

/// Park the caller: its SVC runs again when a member's pipe call or host call has
/// moved something (kernel/sched.h `sched_wake_retry`), as a call the host found would
/// block.
GFN void dpipe_park(Core& c) {
    c.p->status = PROC_BLOCKED;
    c.p->block = BLOCK_RETRY;
    lane_proc(c.m, c.p)->retry_blocked++;
    c.p->insns--;  // the SVC runs again: counted once
    c.s.pc = c.pc;
    c.exc = EXC_YIELD;
}

/// A pipe call on the family's lane moved bytes: members parked on a pipe run their
/// calls again. With spare lanes, when one was parked, the caller's slice ends after
/// this call (its result stands, as sched_yield's), so that the scheduler offers the
/// woken members at once: a pipeline's stages then run side by side on spare lanes
/// instead of one after the other through whole slices.
GFN void dpipe_moved(Core& c) {
    Proc* lp = lane_proc(c.m, c.p);
    bool parked = lp->retry_blocked != 0;
    sched_wake_retry(c.m, lp);
    if (parked && load_relaxed_u64(&c.m->spare_lanes) && c.exc == EXC_NONE) c.exc = EXC_YIELD;
}

/// The ring's bytes at byte position pos (mod the capacity), at most `left` of them up
/// to the end of their page (*chunk); the page is taken from the pool first when `take`
/// (a write) and the ring has none there yet. Null when it has none (or none was to be
/// had).
GFN u8* dpipe_bytes(MachineHdr* m, DPipe* p, u64 pos, u64 left, u64* chunk, bool take) {
    u64 at = pos % DPIPE_CAP, pg = at >> PAGE_SHIFT, po = at & (PAGE_SZ - 1);
    *chunk = PAGE_SZ - po < left ? PAGE_SZ - po : left;
    if (!p->frames[pg]) {
        u64 f = take ? frame_alloc(m) : NO_FRAME;
        if (f == NO_FRAME) return 0;
        p->frames[pg] = f + 1;
    }
    return frame_ptr(m, p->frames[pg] - 1) + po;
}

/// Copy n bytes between the guest's va and the ring at byte position pos; `in`: into
/// the ring. The bytes moved (short when the guest's memory refused, or a page of the
/// ring could not be had).
GFN_NOINLINE u64 dpipe_copy(Core& c, DPipe* p, u64 va, u64 pos, u64 n, bool in) {
    u64 done = 0, chunk;
    NO_UNROLL while (done < n) {
        u8* b = dpipe_bytes(c.m, p, pos + done, n - done, &chunk, in);
        if (!b || !(in ? copy_from_guest(c, b, va + done, chunk) : copy_to_guest(c, va + done, b, chunk))) break;
        done += chunk;
    }
    return done;
}

/// Move n bytes between the ring at position pos and the guest: its buffer at X1
/// (read, write) or, for readv and writev (`vec`), its X2 iovecs at X1, `skip` bytes in
/// (the bytes an earlier part of the call moved); `in`: into the ring. The bytes moved.
GFN_NOINLINE u64 dpipe_move(Core& c, DPipe* p, bool vec, u64 skip, u64 pos, u64 n, bool in) {
    if (!vec) return dpipe_copy(c, p, X(c, 1) + skip, pos, n, in);
    u64 done = 0;
    NO_UNROLL for (u64 k = 0; k < X(c, 2) && done < n; k++) {
        u64 iov[2];
        if (!copy_from_guest(c, (u8*)iov, X(c, 1) + 16 * k, 16)) break;
        u64 base = iov[0], len = iov[1];
        if (skip >= len) {
            skip -= len;
            continue;
        }
        base += skip;
        len -= skip;
        skip = 0;
        if (len > n - done) len = n - done;
        u64 got = dpipe_copy(c, p, base, pos + done, len, in);
        done += got;
        if (got < len) break;
    }
    return done;
}

/// The bytes read, write, readv or writev (nr) asks to move, -1 for iovecs the host
/// should judge (a bad address, too many, a sum past the limit), or -2 for a buffer
/// past the user address space: EFAULT before anything (access_ok, fs/read_write.c).
GFN i64 dpipe_count(Core& c, u64 nr) {
    // read(2) moves at most MAX_RW_COUNT bytes a call.
    u64 top = 1ull << VA_BITS;
    if (!io_vectored(nr)) {
        if (X(c, 2) > top || X(c, 1) > top - X(c, 2)) return -2;
        return (i64)(X(c, 2) < DEVREAD_MAX_COUNT ? X(c, 2) : DEVREAD_MAX_COUNT);
    }
    if (X(c, 2) > MAX_IOV) return -1;
    i64 n = iov_walk(c, X(c, 1), X(c, 2), 0, ~0ull, 0);
    return n < 0 || n > (i64)DEVREAD_MAX_COUNT ? -1 : n;
}

/// read(2) or readv(2) (nr) of entry e, its pipe p held: what the ring holds, up to the count; 0 when
/// no writer is left; EAGAIN (O_NONBLOCK) or a wait while it is empty. False when the
/// host should answer (the pipe is handed back).
GFN_NOINLINE bool dpipe_read_held(Core& c, DPipe* p, u64 e, u64 nr) {
    i64 want = dpipe_count(c, nr);
    if (want == -2) { setX(c, 0, err(E_FAULT)); return true; }
    if (want < 0) return false;
    if (e & DPFD_WRITE) { setX(c, 0, err(E_BADF)); return true; }
    u64 n = (u64)want, avail = p->tail - p->head;
    if (n == 0) { setX(c, 0, 0); return true; }
    if (!avail) {
        if (!p->writers) setX(c, 0, 0);
        else if (p->nonblock & 1) setX(c, 0, err(E_AGAIN));
        else dpipe_park(c);
        return true;
    }
    if (n > avail) n = avail;
    u64 got = dpipe_move(c, p, io_vectored(nr), 0, p->head, n, false);
    if (c.exc != EXC_NONE) return true;  // killed
    if (!got) { setX(c, 0, err(E_FAULT)); return true; }
    p->head += got;
    dpipe_slots_take(p, got);
    setX(c, 0, got);
    dpipe_moved(c);
    return true;
}

/// write(2) or writev(2) (nr) of entry e, its pipe p held: EPIPE and SIGPIPE with no reader left; a write of at most
/// PIPE_BUF bytes goes in whole or waits; a larger one moves what fits and, blocking,
/// waits for room for the rest (`Proc::io_done`, as a host pipe's write: marshal.h),
/// non-blocking returns what it moved (EAGAIN for none).
GFN_NOINLINE bool dpipe_write_held(Core& c, DPipe* p, u64 e, u64 nr) {
    i64 total = dpipe_count(c, nr);
    if (total == -2) { setX(c, 0, err(E_FAULT)); return true; }
    if (total < 0) return false;
    if (!(e & DPFD_WRITE)) { setX(c, 0, err(E_BADF)); return true; }
    u64 n = (u64)total, done = c.p->io_done;
    if (!p->readers) {
        c.p->io_done = 0;
        setX(c, 0, done ? done : err(E_PIPE));
        if (!done) sig_raise_sync(c, SIG_PIPE);
        return true;
    }
    if (n == 0) { setX(c, 0, 0); return true; }
    u64 want = n - done, merged = dpipe_merge_len(p, want, done == 0), room = dpipe_fits(p, want, merged);
    bool nonblock = p->nonblock & 2;
    if (room == 0 || (n <= DPIPE_ATOMIC && room < n)) {
        if (!nonblock) { dpipe_park(c); return true; }
        c.p->io_done = 0;
        setX(c, 0, done ? done : err(E_AGAIN));
        return true;
    }
    if (want > room) want = room;
    u64 put = dpipe_move(c, p, io_vectored(nr), done, p->tail, want, true);
    if (c.exc != EXC_NONE) return true;  // killed
    p->tail += put;
    dpipe_slots_put(p, put, merged, true);
    done += put;
    if (put) dpipe_moved(c);
    if (put < want || done == n || nonblock) {  // finished, or the guest's memory refused
        c.p->io_done = 0;
        setX(c, 0, done ? done : err(put < want ? E_FAULT : E_AGAIN));
        return true;
    }
    c.p->io_done = done;
    dpipe_park(c);  // the rest when a reader made room
    return true;
}

/// read, readv, write or writev (nr) of entry e on the family's lane, under the pipe's
/// lock. False when the host should answer (the pipe is handed back).
GFN_NOINLINE bool dpipe_rw(Core& c, u64 e, u64 nr) {
    DPipe* p = dpipe_at(c.m, e);
    bool held = dpipe_lock(c.m, p);
    bool write = nr == SYS_write || nr == SYS_writev;
    bool r = write ? dpipe_write_held(c, p, e, nr) : dpipe_read_held(c, p, e, nr);
    dpipe_unlock(p, held);
    return r;
}

/// Move n bytes between the ring at position pos and guest memory at va on a spare lane
/// (`user_copy`); `in`: into the ring. False when a page of either is not there.
GFN_NOINLINE bool dpipe_user_move(Core& c, DPipe* p, u64 va, u64 pos, u64 n, bool in) {
    for (u64 done = 0, chunk; done < n; done += chunk) {
        u8* b = dpipe_bytes(c.m, p, pos + done, n - done, &chunk, false);
        if (!b || !user_copy(c, b, va + done, chunk, in)) return false;
    }
    return true;
}

/// read(2) or write(2) of a pipe kept here, by a task on a spare lane (kernel/exec.h
/// `sys_user`), when it needs neither a wait nor the kernel: a read of a pipe that holds
/// bytes (up to the count), a write that fits the ring's room whole, to and from pages
/// present as they stand, into ring pages a write on the lane already took. Anything
/// else (an empty or full pipe, the other end gone, a page to fault in, a pipe handed
/// back, a write parked part way, errors) goes to the task's lane, which runs the call
/// from the start: false. So a pipeline's processes on spare lanes pass their bytes
/// without going home; members parked on the pipe at home are retried by their lane's
/// scheduler when it has nothing else to run, or after a slice (kernel/sched.h).
GFN_NOINLINE bool dpipe_user(Core& c, u64 nr) {
    u64* pe = dpfd_find(c.p, X(c, 0));
    if (!pe || c.p->io_done) return false;
    u64 e = *pe, n = X(c, 2), va = X(c, 1), top = 1ull << VA_BITS;
    bool write = nr == SYS_write;
    if (write != ((e & DPFD_WRITE) != 0) || n == 0 || n > DPIPE_CAP || va > top || n > top - va) return false;
    DPipe* p = dpipe_at(c.m, e);
    if (!dpipe_lock(c.m, p)) return false;
    bool ok = false;
    if (p->state == DPIPE_DEV) {
        u64 held = p->tail - p->head;
        u64 merged = dpipe_merge_len(p, n, true);
        if (!write && held) {
            if (n > held) n = held;
            ok = dpipe_user_move(c, p, va, p->head, n, false);
            if (ok) p->head += n, dpipe_slots_take(p, n);
        } else if (write && load_relaxed_u32(&p->readers) && dpipe_fits(p, n, merged) == n) {
            ok = dpipe_user_move(c, p, va, p->tail, n, true);
            if (ok) p->tail += n, dpipe_slots_put(p, n, merged, true);
        }
    }
    dpipe_unlock(p, true);
    if (!ok) return false;
    atomic_add_u64(&lane_proc(c.m, c.p)->progress, 1);  // its lane's back-off starts again
    setX(c, 0, n);
    return true;
}

/// sendfile(2) from a file whose reads the device serves (kernel/sys/devread.h) into
/// entry e's write end (busybox cat writes a file so): up to the count and what the
/// ring has room for, from the page cache (a page it lacks is read first, and the call
/// runs again), the file's offset or *offset moved past. False when the host should
/// serve it (the pipe is handed back).
GFN_NOINLINE bool dpipe_sendfile_held(Core& c, DPipe* p, u64 e, const u64* a) {
    DevRead* s = devread_slot(c, a[1]);
    if (!(e & DPFD_WRITE) || !s || s->dir || !s->file) return false;
    if (!p->readers) {
        setX(c, 0, err(E_PIPE));
        sig_raise_sync(c, SIG_PIPE);
        return true;
    }
    i64 pos = (i64)s->off;
    if (a[2] && !copy_from_guest(c, (u8*)&pos, a[2], 8)) { setX(c, 0, err(E_FAULT)); return true; }
    if (pos < 0) { setX(c, 0, err(E_INVAL)); return true; }
    u64 n = a[3] < DEVREAD_MAX_COUNT ? a[3] : DEVREAD_MAX_COUNT;
    u64 left = (u64)pos < s->size ? s->size - (u64)pos : 0;
    if (n > left) n = left;
    if (n == 0) { setX(c, 0, 0); return true; }
    u64 room = dpipe_splice_slots(p, (u64)pos, n, false);
    if (room == 0) {
        if (p->nonblock & 2) setX(c, 0, err(E_AGAIN));
        else dpipe_park(c);
        return true;
    }
    n = room;
    for (u64 done = 0, chunk; done < n;) {
        u8* b = dpipe_bytes(c.m, p, p->tail + done, n - done, &chunk, true);
        if (!b) return false;
        u64 got = devread_copy(c, s, 0, b, (u64)pos + done, chunk);
        if (got == DEVREAD_POSTED) return true;  // the page is read first; the call runs again
        if (got != chunk) return c.exc != EXC_NONE;  // killed (else the host's to serve)
        done += got;
    }
    p->tail += n;
    dpipe_splice_slots(p, (u64)pos, n, true);
    if (a[2]) {
        i64 np = pos + (i64)n;
        if (!copy_to_guest(c, a[2], (const u8*)&np, 8)) { setX(c, 0, err(E_FAULT)); return true; }
    } else {
        s->off = (u64)pos + n;
    }
    setX(c, 0, n);
    dpipe_moved(c);
    return true;
}

GFN_NOINLINE bool dpipe_sendfile(Core& c, u64 e, const u64* a) {
    DPipe* p = dpipe_at(c.m, e);
    bool held = dpipe_lock(c.m, p);
    bool r = dpipe_sendfile_held(c, p, e, a);
    dpipe_unlock(p, held);
    return r;
}

/// dup(2), dup3(2), F_DUPFD: entry e's pipe end at descriptor `to` too (closing what
/// `to` named: the host's own descriptor by the note, an entry here).
GFN_NOINLINE bool dpipe_dup(Core& c, u64 e, u64 to, bool cloexec) {
    u64* old = dpfd_find(c.p, to);
    u64* ne = old ? old : dpfd_free(c.p);
    if (!ne) return false;
    if (dpipe_notes_wait(c)) return true;
    u64 note = NOTE_DUP | dpfd_fd(e) | to << 10 | (cloexec ? 1ull << 20 : 0);
    if (!family_note(c.m, c.p, note, (u32)c.p->tg_slot, (u32)c.p->pid)) return false;
    if (old) dpfd_drop(c, old);
    DevRead* s = devread_slot(c, to);
    if (s) *s = DevRead{};  // the host's dup closes it (its offset is moot)
    *ne = (e & ~(DPFD_CLOEXEC | 0xffffull)) | (cloexec ? DPFD_CLOEXEC : 0) | (to + 1);
    DPipe* p = dpipe_at(c.m, e);
    if (e & DPFD_WRITE) p->writers++;
    else p->readers++;
    if (to < 32) c.p->fd_low |= 1u << to;
    setX(c, 0, to);
    return true;
}

/// Hand pipe e back to the host: its bytes, a request buffer's worth a request (the
/// last says so: args[1]); the call runs again once each is answered (devread_done),
/// and goes on handing back until the pipe is the host's. Entries naming it go as they
/// are next looked at.
GFN_NOINLINE void dpipe_hand_back(Core& c, u64 e) {
    DPipe* p = dpipe_at(c.m, e);
    bool held = dpipe_lock(c.m, p);  // no spare lane moves its bytes from here on
    u64 n = p->tail - p->head;
    bool last = n <= c.m->buf_size;
    if (!last) n = c.m->buf_size;
    u8* buf = lane_buf(c);
    for (u64 done = 0, chunk; done < n; done += chunk) {
        const u8* b = dpipe_bytes(c.m, p, p->head + done, n - done, &chunk, false);  // held bytes: there
        rt_memcpy(buf + done, b, chunk);
    }
    p->head += n;
    dpipe_slots_take(p, n);
    p->state = last ? DPIPE_HOST : DPIPE_BACK;
    dpipe_unlock(p, held);
    c.p->devread_x0 = c.s.x[0];
    c.p->devread_op = DEVREAD_PIPE;
    u64 a[6] = {e >> 32, last, 0, n, 0, 0};  // the bytes are the input (args[2], i:3)
    sys_publish(c, SYS_gpuos_pipe_back, SYSREQ_CALL | (c.p->strace ? SYSREQ_QUIET : 0), a, 0, n, (n + 7) & ~7ull,
                0, now_ns(), true);
}

/// Entries of pipes handed back go (the host's descriptors now), and a hand-back under
/// way goes on; then, with `all`, the first pipe the process still holds is handed
/// back. True when a hand-back request was posted.
GFN_NOINLINE bool dpipe_release(Core& c, bool all) {
    NO_UNROLL for (int k = 0; k < DPIPE_FDS; k++) {
        u64 e = c.p->dpfd[k];
        u32 st = e ? dpipe_at(c.m, e)->state : 0;
        if (st == DPIPE_BACK) {
            dpipe_hand_back(c, e);
            return true;
        }
        if (st == DPIPE_HOST) {
            c.p->dpfd[k] = 0;
            dpipe_put(c.m, lane_proc(c.m, c.p), e);
        }
    }
    if (!all) return false;
    NO_UNROLL for (int k = 0; k < DPIPE_FDS; k++)
        if (c.p->dpfd[k]) {
            dpipe_hand_back(c, c.p->dpfd[k]);
            return true;
        }
    return false;
}

/// Whether host call nr with arguments a may reach a pipe's bytes through something
/// other than its descriptor arguments: the poll family, epoll, an open of a /dev or
/// /proc path (/dev/fd/N, /dev/stdin, /proc/self/fd/N). (A copy of the path that kills
/// the process, out of memory, leaves c.exc set.)
GFN_NOINLINE bool dpipe_reaches_all(Core& c, u64 nr, const u64* a) {
    if (nr == SYS_ppoll || nr == SYS_pselect6 || nr == SYS_epoll_ctl || nr == SYS_epoll_pwait ||
        nr == SYS_epoll_pwait2)
        return true;
    if (nr != SYS_openat && nr != SYS_openat2) return false;
    u8 path[8] = {0};
    if (copy_str_from_guest(c, path, a[1], sizeof path) == -1) return false;  // the host reports it (-2: longer)
    bool dev = path[0] == '/' && path[1] == 'd' && path[2] == 'e' && path[3] == 'v' && path[4] == '/';
    bool proc = path[0] == '/' && path[1] == 'p' && path[2] == 'r' && path[3] == 'o' && path[4] == 'c' && path[5] == '/';
    return dev || proc;
}

/// Whether the host answers call nr on a placeholder itself (no bytes needed), after
/// the device has noted what it changes: fstat, statx, fstatfs, a path relative to it
/// (ENOTDIR), lseek, pread64, pwrite64, fadvise64 (ESPIPE), ioctl's isatty requests
/// (ENOTTY), fcntl's descriptor and status flags (kept here too).
GFN bool dpipe_host_answers(u64 nr, const u64* a) {
    switch (nr) {
    case SYS_fstat: case SYS_newfstatat: case SYS_statx: case SYS_fstatfs: case SYS_lseek: case SYS_pread64:
    case SYS_pwrite64: case SYS_fadvise64: case SYS_faccessat: case SYS_faccessat2: case SYS_readlinkat:
        return true;
    case SYS_ioctl: return (u32)a[1] == DPIPE_TCGETS || (u32)a[1] == DPIPE_TIOCGWINSZ;
    case SYS_fcntl:
        return (u32)a[1] == DPIPE_F_GETFD || (u32)a[1] == DPIPE_F_SETFD || (u32)a[1] == DPIPE_F_GETFL ||
               (u32)a[1] == DPIPE_F_SETFL;
    default: return false;
    }
}

/// O_NONBLOCK of entry e's end set or cleared (F_SETFL, ioctl FIONBIO): its description
/// is the end's (every dup of it shares it).
GFN void dpipe_nonblock(MachineHdr* m, u64 e, bool on) {
    DPipe* p = dpipe_at(m, e);
    u32 bit = e & DPFD_WRITE ? 2 : 1;
    p->nonblock = on ? (p->nonblock | bit) : (p->nonblock & ~bit);
}

/// fcntl(2) on entry *pe: the duplicates made here; F_SETFD and F_SETFL noted here
/// and answered by the host (false: the host serves the call).
GFN_NOINLINE bool dpipe_fcntl(Core& c, u64* pe, const u64* a) {
    u32 cmd = (u32)a[1];
    if (cmd == DPIPE_F_DUPFD || cmd == DPIPE_F_DUPFD_CLOEXEC) {
        if (a[2] >= DPIPE_MAX_FD) { setX(c, 0, err(E_INVAL)); return true; }
        i64 to = dpipe_lowest(c, a[2]);
        return to >= 0 && dpipe_dup(c, *pe, (u64)to, cmd == DPIPE_F_DUPFD_CLOEXEC);
    }
    if (cmd == DPIPE_F_SETFD) *pe = (*pe & ~DPFD_CLOEXEC) | (a[2] & 1 ? DPFD_CLOEXEC : 0);
    if (cmd == DPIPE_F_SETFL) dpipe_nonblock(c.m, *pe, a[2] & DPIPE_O_NONBLOCK);
    return false;
}

/// Before host call nr with arguments a: a call on a pipe's descriptor is served here
/// (true: answered, parked, or a hand-back posted, the call then running again), or
/// noted and left to the host (false). pipe2 makes a pipe here when it can.
GFN_NOINLINE bool dpipe_guard(Core& c, u64 nr, const u64* a) {
    if (!devread_on(c)) return false;
    if (nr == SYS_pipe2) return dpipe_create(c);
    if (!dpfd_any(c.p) || nr >= SYS_ARGKIND_PRIVATE_BASE) return false;
    // A later chunk of a host read or write (marshal.h io_next) goes on as it began; a
    // pipe's own parked write comes back here with its progress.
    if (c.p->io_done && !dpfd_find(c.p, a[0])) return false;
    bool all = dpipe_reaches_all(c, nr, a);
    if (c.exc != EXC_NONE || dpipe_release(c, all)) return true;
    if (nr == SYS_close_range) {
        NO_UNROLL for (int k = 0; k < DPIPE_FDS; k++) {
            u64 e = c.p->dpfd[k], fd = dpfd_fd(e);
            if (!e || fd < (u32)a[0] || fd > (u32)a[1]) continue;
            if (a[2] & DPIPE_CLOSE_RANGE_CLOEXEC) c.p->dpfd[k] |= DPFD_CLOEXEC;
            else dpfd_drop(c, &c.p->dpfd[k]);  // the host closes its placeholder
        }
        return false;
    }
    u64* pe = dpfd_find(c.p, a[0]);
    if (nr == SYS_dup3 && !pe) {  // another descriptor onto a pipe's: the host closes its placeholder
        u64* t = a[0] != a[1] ? dpfd_find(c.p, a[1]) : 0;
        if (t && a[0] < DPIPE_MAX_FD) dpfd_drop(c, t);
        return false;
    }
    if (pe) {
        switch (nr) {
        case SYS_read: case SYS_readv: case SYS_write: case SYS_writev:
            if (dpipe_rw(c, *pe, nr)) return true;
            break;
        case SYS_close:
            if (dpipe_notes_wait(c)) return true;
            if (!family_note(c.m, c.p, NOTE_CLOSE | a[0], (u32)c.p->tg_slot, (u32)c.p->pid)) break;
            dpfd_drop(c, pe);
            setX(c, 0, 0);
            return true;
        case SYS_dup: {
            i64 to = dpipe_lowest(c, 0);
            if (to >= 0 && dpipe_dup(c, *pe, (u64)to, false)) return true;
            break;
        }
        case SYS_dup3:
            if (a[0] == a[1] || (a[2] & ~(u64)DPIPE_O_CLOEXEC)) { setX(c, 0, err(E_INVAL)); return true; }
            if (a[1] >= DPIPE_MAX_FD) { setX(c, 0, err(E_BADF)); return true; }
            if (dpipe_dup(c, *pe, a[1], a[2] & DPIPE_O_CLOEXEC)) return true;
            break;
        case SYS_sendfile:
            if (dpipe_sendfile(c, *pe, a)) return true;
            break;
        case SYS_fcntl:
            if (dpipe_fcntl(c, pe, a)) return true;
            if (dpipe_host_answers(nr, a)) return false;
            break;
        default:
            if (dpipe_host_answers(nr, a)) return false;
            break;
        }
        dpipe_hand_back(c, *pe);  // not served here: the host's pipe from now on
        return true;
    }
    // A pipe's descriptor in another argument position (splice's, sendfile's...).
    NO_UNROLL for (int i = 1; i < 6; i++) {
        if ((sys_argkind(nr, i) >> 16) != AK_FD) continue;
        u64* q = dpfd_find(c.p, a[i]);
        if (!q) continue;
        if (dpipe_host_answers(nr, a)) return false;
        dpipe_hand_back(c, *q);
        return true;
    }
    return false;
}
