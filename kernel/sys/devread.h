// Reads of the sysroot's read-only files served on the device, from the page cache
// (issue 15: "page-cache hits need no host round trip"). python3 starts by opening,
// stat'ing, reading and closing a hundred files of its library in every lane: about
// 190 of its 460 host requests a lane were the reads, seeks, fstats and isatty ioctls
// of those descriptors.
//
// When the host answers an openat(2) of a regular file whose lookup stayed in the
// read-only sysroot, opened for reading only (host/mapfile.rs `sys_openat_devread`), it
// marks the answer lasting (OUT_LASTING) and puts a record in the output area: the file
// version's identity (the page cache's key, host/mapfile.rs), its size and its struct
// stat. The process keeps the descriptor in one of its `Proc::devread` slots with the
// description's offset, and then serves on the device, as Linux's generic file
// operations do for a regular file (fs/read_write.c):
//   read, pread64  from the page cache's frames of the file; a page the cache lacks is
//                  read from the host with the file's next pages (`gpuos_file_read`,
//                  readahead up to a request buffer's worth) and cached for every
//                  process and lane, then the call runs again;
//   lseek          SEEK_SET, SEEK_CUR, SEEK_END (SEEK_DATA and SEEK_HOLE: the host);
//   fstat, newfstatat(fd, "", AT_EMPTY_PATH)  from the stat the host gave at the open,
//                  kept in the page cache under a page index no file reaches;
//   ioctl TCGETS, TIOCGWINSZ  ENOTTY (isatty(3) of a regular file).
// A directory of the sysroot opened so (python3 lists each directory of its path) gets
// a slot too, whose record's size is its listing's (the records of the host's
// getdents64 from the start, which the page cache keeps under its identity): its
// getdents64, fstat and isatty are served here; its reads and seeks go to the host,
// which frees the slot first as for any other call (handing back the host's position of
// the next record, the last one given's d_off).
// The host's description keeps offset 0 meanwhile. Before any other host call names the
// descriptor (an `f` argument of the syscall table, or close_range's range), and before
// a fork, a thread's creation or an execve, the device hands the offset back
// (`gpuos_fd_seek`, when it moved) and frees the slot; the call then runs again and
// the host serves it as before. close(2) only frees the slot. A process whose
// descriptor table other tasks share (threads, CLONE_FILES: `Proc::fd_shared`) keeps
// no slot, so that every offset has one owner. A file larger than DEVREAD_MAX_SIZE, or
// one opened while every slot is taken, is read through the host as before; so is a
// file whose pages cannot be cached (the frame pool or the cache's table full).
#pragma once
#include "marshal.h"
#include "../mm/pcache.h"

GFN bool family_note(MachineHdr* m, Proc* q, u64 what, u32 slot, u32 pid);  // kernel/sys/process.h

/// `Proc::devread_op`: the request in flight reads pages into the cache, or hands an
/// offset back to the host.
#define DEVREAD_FILL 1u
#define DEVREAD_SEEK 2u
/// (kernel/sys/dpipe.h) A pipe's bytes go back to the host.
#define DEVREAD_PIPE 3u
/// Larger files are read through the host: the page cache keeps what it holds for the
/// whole run.
#define DEVREAD_MAX_SIZE (4ull << 20)
/// The page index of a file's struct stat in the page cache (no file reaches it: 16 TiB).
#define DEVREAD_STAT_PAGE 0xffffffffull
/// The most bytes one read(2) moves (Linux's MAX_RW_COUNT).
#define DEVREAD_MAX_COUNT 0x7ffff000ull
#define DEVREAD_TCGETS 0x5401u
#define DEVREAD_TIOCGWINSZ 0x5413u

/// Whether c's process may serve reads on the device: it is its thread group's leader
/// and no other task shares its descriptor table.
GFN bool devread_on(Core& c) { return c.p == c.mm && !c.mm->fd_shared; }

/// The slot of descriptor fd of c's process, or null.
GFN DevRead* devread_slot(Core& c, u64 fd) {
    if (fd >> 31 || !devread_on(c)) return 0;
    NO_UNROLL for (int k = 0; k < DEVREAD_SLOTS; k++)
        if (c.p->devread[k].fd == fd + 1) return &c.p->devread[k];
    return 0;
}

/// Whether the struct stat at st (arm64 layout, 8-byte aligned) is a directory's
/// (st_mode, bytes 16-19: S_IFDIR).
GFN bool devread_is_dir(const void* st) { return (((const u32*)st)[4] & 0170000u) == 0040000u; }

/// A free slot of c's process, or null.
GFN DevRead* devread_free_slot(Core& c) {
    NO_UNROLL for (int k = 0; k < DEVREAD_SLOTS; k++)
        if (!c.p->devread[k].fd) return &c.p->devread[k];
    return 0;
}

/// Slot s serves descriptor fd of file version `id` (`size` bytes; a directory's: its
/// listing's), at offset 0 on both sides.
GFN void devread_keep(DevRead* s, u64 fd, u64 id, u64 size, bool dir) {
    s->fd = fd + 1;
    s->file = id;
    s->size = size;
    s->off = 0;
    s->host_off = 0;
    s->dir = dir;
    s->pos = 0;
}

/// The host answered an openat with descriptor fd and a record (`out`, olen bytes: the
/// request's output area, host memory on the GPU): keep the descriptor in a free slot,
/// its file's stat in the page cache. Nothing is kept when no slot is free, the file is
/// too large, or no frame is to be had: the host then serves the descriptor as any.
GFN_NOINLINE void devread_opened(Core& c, i64 fd, const u8* out, u64 olen) {
    if (fd < 0 || olen < DEVREAD_RECORD_BYTES || !c.m->pcache) return;
    u64 w[DEVREAD_RECORD_BYTES / 8];
    statc_copy_words((u8*)w, out, DEVREAD_RECORD_BYTES);
    // Later opens of the path, by any process, are answered on the device (devread_open).
    if (!(c.s.x[2] & OPENAT_O_NOFOLLOW)) statc_opened(c.m, lane_buf(c), lane_req(c)->in_len, w);
    if (!devread_on(c)) return;
    u64 id = (u32)w[0], size = w[1];
    bool dir = devread_is_dir(w + 2);
    // The host handed out this number, so a slot still naming it is stale (its
    // descriptor went without the device seeing it): it goes first.
    DevRead* s = devread_slot(c, (u64)fd);
    if (s) *s = DevRead{};
    if (!id || (size > DEVREAD_MAX_SIZE && !dir)) return;
    s = devread_free_slot(c);
    if (!s) return;
    u64 key = pcache_key(id, DEVREAD_STAT_PAGE);
    if (pcache_find(c.m, key) == NO_FRAME) {
        u64 f = frame_alloc(c.m);
        if (f == NO_FRAME) return;
        rt_memcpy(frame_ptr(c.m, f), (const u8*)(w + 2), STAT_BYTES);
        u64 got = pcache_insert(c.m, key, f);
        if (got == f) atomic_add_u64(&c.m->pcache_frames, 1);
        else frame_unref(c.m, f);
        if (got == NO_FRAME) return;
    }
    devread_keep(s, (u64)fd, id, size, dir);
}

/// The open flags (arm64) an openat answered on the device may have beside O_RDONLY's
/// access mode 0: none that changes what the open does to a regular file or a directory
/// of the sysroot, or that a later call could tell from the host's own open.
#define DEVREAD_OPEN_FLAGS (04000u /* O_NONBLOCK */ | 040000u /* O_DIRECTORY */ | 0400000u /* O_LARGEFILE */ | \
                            0400u /* O_NOCTTY */ | 02000000u /* O_CLOEXEC */)
#define DEVREAD_O_DIRECTORY 040000u

/// openat(2) of a path whose open lasts, answered on the device (python3 opens some fifty
/// files of its library in every lane): `st` and `rec` are what the stat cache keeps of
/// the path (its struct stat; `rec[0]` the record's first word, identity | open token <<
/// 32, and `rec[1]` its size: statc_opened). The descriptor is the lowest free one, as
/// the host would give (`Proc::fd_low`, the host's view as of the process's last call,
/// with the device's opens and closes since), kept in a slot as the host's answer would
/// have been kept (devread_opened); the host makes its own description at that number
/// before it serves the lane's next request (`NOTE_OPEN`, crates/gpuos/src/host/noted.rs).
/// False (the host answers) when the process keeps no slots, its descriptors are not
/// known or 0-31 are all taken, the flags are not plain, O_DIRECTORY names a file that is
/// not one (ENOTDIR is the host's), no slot or note is free, or the file's stat page is
/// not cached.
GFN_NOINLINE bool devread_open(Core& c, u32 flags, const u8* st, const u64* rec) {
    u32 free = ~c.p->fd_low;
    u64 id = (u32)rec[0], token = rec[0] >> 32, size = rec[1];
    bool dir = devread_is_dir(st);
    if (!devread_on(c) || !c.p->fd_known || !free || !id || !token || token >> 30 || (flags & ~DEVREAD_OPEN_FLAGS))
        return false;
    if (((flags & DEVREAD_O_DIRECTORY) && !dir) || (size > DEVREAD_MAX_SIZE && !dir)) return false;
    u32 fd = (u32)(31 - clz32(free & (0u - free)));  // the lowest free
    DevRead* s = devread_slot(c, fd);
    if (s) *s = DevRead{};  // stale (as in devread_opened)
    s = devread_free_slot(c);
    if (!s || pcache_find(c.m, pcache_key(id, DEVREAD_STAT_PAGE)) == NO_FRAME) return false;
    u64 note = NOTE_OPEN | token << 32 | (u64)(flags & 0xffffffu) << 8 | fd;
    if (!family_note(c.m, c.p, note, (u32)c.p->tg_slot, (u32)c.p->pid)) return false;
    devread_keep(s, fd, id, size, dir);
    c.p->fd_low |= 1u << fd;
    setX(c, 0, fd);
    return true;
}

/// Post request nr (args a0, a1, a2) of the slots' machinery; the guest's call (X0 kept
/// in `devread_x0`) runs again once it is answered (`devread_done`).
GFN void devread_post(Core& c, u64 nr, u32 op, u64 a0, u64 a1, u64 a2) {
    c.p->devread_x0 = c.s.x[0];
    c.p->devread_op = op;
    u64 a[6] = {a0, a1, a2, 0, 0, 0};
    sys_publish(c, nr, SYSREQ_CALL | (c.p->strace ? SYSREQ_QUIET : 0), a, 0, 0, 0, c.m->buf_size, now_ns(), true);
}

/// Free slot s, handing its offset back to the host first when it moved (a directory's:
/// the host's position of its next record, `pos`). True when that request was posted
/// (the caller returns; the call runs again).
GFN_NOINLINE bool devread_release(Core& c, DevRead* s) {
    u64 fd = s->fd - 1, off = s->dir ? s->pos : s->off;
    bool moved = s->off != s->host_off;
    *s = DevRead{};
    if (moved) devread_post(c, SYS_gpuos_fd_seek, DEVREAD_SEEK, fd, off, 0);
    return moved;
}

/// fcntl(2) commands that neither read nor make another user of the description's
/// offset: F_GETFD, F_SETFD, F_GETFL, F_SETFL (python3 asks F_GETFD of every file it
/// opens). Duplicating and locking (a lock's l_whence may be SEEK_CUR) do.
GFN bool devread_fcntl_keeps(u64 cmd) { return (u32)cmd >= 1 && (u32)cmd <= 4; }

/// Before host call nr with arguments a: every slot whose descriptor it names is freed
/// (close: at once; any other: after its offset is handed back), but for the fcntl
/// commands that leave the offset alone. True when a hand-back was posted (the call
/// runs again once it is answered) or when the call was answered here: a close(2) of a
/// slot's descriptor returns 0 at once and leaves the host a note (NOTE_CLOSE), which
/// it applies before it serves the lane's next request, so that the number is free
/// before anything can ask for it (python3 closes each file of its library it read).
GFN_NOINLINE bool devread_guard(Core& c, u64 nr, const u64* a) {
    if (nr >= SYS_ARGKIND_PRIVATE_BASE) return false;  // gpuos's own requests use no offset
    if (nr == SYS_fcntl && devread_fcntl_keeps(a[1])) return false;
    NO_UNROLL for (int k = 0; k < DEVREAD_SLOTS; k++) {
        DevRead* s = &c.p->devread[k];
        if (!s->fd) continue;
        u32 fd = (u32)(s->fd - 1);
        bool named = nr == SYS_close_range && fd >= (u32)a[0] && fd <= (u32)a[1];
        for (int i = 0; i < 6 && !named; i++) named = (sys_argkind(nr, i) >> 16) == AK_FD && (u32)a[i] == fd;
        if (!named) continue;
        if (nr == SYS_close) {
            *s = DevRead{};
            // Answered here: the host closes its descriptor before the lane's next
            // request (a note, as a fork's), when the number could next be seen.
            if (family_note(c.m, c.p, NOTE_CLOSE | fd, (u32)c.p->tg_slot, (u32)c.p->pid)) {
                if (fd < 32) c.p->fd_low &= ~(1u << fd);
                setX(c, 0, 0);
                return true;
            }
        } else if (devread_release(c, s)) {
            return true;
        }
    }
    return false;
}

/// Before a fork, a clone or an execve: every slot freed, one hand-back at a time (the
/// child shares the descriptions; a new image knows nothing of the slots). True when a
/// hand-back was posted: the call runs again once it is answered.
GFN_NOINLINE bool devread_release_all(Core& c) {
    NO_UNROLL for (int k = 0; k < DEVREAD_SLOTS; k++)
        if (c.p->devread[k].fd && devread_release(c, &c.p->devread[k])) return true;
    return false;
}

/// devread_copy's answer when a page was missing: its fill is posted (the call runs
/// again once it is answered).
#define DEVREAD_POSTED (~0ull)

/// Copy n bytes at position pos of slot s's file (below its size) from the page cache
/// to the guest's va, or to `dst` when given. The bytes copied (fewer when the guest's
/// memory refused, or the process was killed: c.exc), or DEVREAD_POSTED when a page was
/// missing: it is read from the host with the file's next ones, ahead of the call too
/// (sequential reads), as much as a request buffer holds.
GFN_NOINLINE u64 devread_copy(Core& c, DevRead* s, u64 va, u8* dst, u64 pos, u64 n) {
    u64 done = 0;
    NO_UNROLL while (done < n) {
        u64 at = pos + done, po = at & (PAGE_SZ - 1), pg = at >> PAGE_SHIFT;
        u64 chunk = PAGE_SZ - po < n - done ? PAGE_SZ - po : n - done;
        u64 f = pcache_find(c.m, pcache_key(s->file, pg));
        if (f == NO_FRAME) {
            // The bytes copied so far are copied again: nothing of the call is done
            // until it answers.
            u64 room = c.m->buf_size >> PAGE_SHIFT, end = (s->size - 1) >> PAGE_SHIFT, run = 1;
            NO_UNROLL while (run < room && pg + run <= end && pcache_find(c.m, pcache_key(s->file, pg + run)) == NO_FRAME)
                run++;
            devread_post(c, SYS_gpuos_file_read, DEVREAD_FILL, s->file, pg, run);
            return DEVREAD_POSTED;
        }
        if (dst) rt_memcpy(dst + done, frame_ptr(c.m, f) + po, chunk);
        else if (!copy_to_guest(c, va + done, frame_ptr(c.m, f) + po, chunk)) break;
        done += chunk;
    }
    return done;
}

/// Read `count` bytes at file position pos of slot s into the guest's buf (read: the
/// offset advances, `advance`). True when the call is answered here (X0 set) or waits
/// for the page cache; false when the host must serve it (the slot gave up).
GFN_NOINLINE bool devread_serve(Core& c, DevRead* s, u64 buf, u64 count, u64 pos, bool advance) {
    if (!s->file || s->dir) return false;
    if (count > DEVREAD_MAX_COUNT) count = DEVREAD_MAX_COUNT;
    if (count == 0 || pos >= s->size) { setX(c, 0, 0); return true; }
    u64 n = s->size - pos < count ? s->size - pos : count;
    u64 done = devread_copy(c, s, buf, 0, pos, n);
    if (done == DEVREAD_POSTED || c.exc != EXC_NONE) return true;  // waits, or killed (out of memory)
    if (!done) { setX(c, 0, err(E_FAULT)); return true; }
    if (advance) s->off = pos + done;
    setX(c, 0, done);
    return true;
}

/// struct linux_dirent64 (include/linux/dirent.h): d_ino, d_off, d_reclen, d_type, then
/// the name; the bytes before the name.
#define DIRENT64_HEAD 19u

/// getdents64(2) of a directory slot whose listing the host gave (its records as the
/// host's getdents64 returns them, `size` bytes, cached under the slot's identity as a
/// file's pages are): the whole records from the slot's offset that fit in `count`
/// bytes, into the guest's buf; 0 at the end; EINVAL when the next record does not fit
/// (fs/readdir.c). The slot keeps the host's position of the next record (`pos`: the
/// last record's d_off) for its hand-back. True when answered here or waiting for the
/// page cache; false when the host must serve it (no listing, or one the device cannot
/// read).
GFN_NOINLINE bool devread_dirents(Core& c, DevRead* s, u64 buf, u64 count) {
    if (!s->file || !s->dir || !s->size) return false;
    if (s->off >= s->size) { setX(c, 0, 0); return true; }
    u64 at = s->off, n = 0, next = s->pos;
    // The page the last header was read from: the next ones on it are read in place,
    // without a page-cache lookup each (a 32 KiB listing holds hundreds of records).
    u64 cur = ~0ull;
    const u8* frame = 0;
    NO_UNROLL while (at < s->size) {
        u8 h[DIRENT64_HEAD];
        u64 po = at & (PAGE_SZ - 1), pg = at >> PAGE_SHIFT, got;
        bool whole = po + DIRENT64_HEAD <= PAGE_SZ && s->size - at >= DIRENT64_HEAD;
        if (whole && pg == cur) {
            for (u32 k = 0; k < DIRENT64_HEAD; k++) h[k] = frame[po + k];
            got = DIRENT64_HEAD;
        } else {
            got = devread_copy(c, s, 0, h, at, s->size - at < DIRENT64_HEAD ? s->size - at : DIRENT64_HEAD);
            if (got == DEVREAD_POSTED) return true;
            u64 f = whole ? pcache_find(c.m, pcache_key(s->file, pg)) : NO_FRAME;
            if (f != NO_FRAME) {  // cached pages stay for the run
                cur = pg;
                frame = frame_ptr(c.m, f);
            }
        }
        u64 reclen = (u64)h[16] | (u64)h[17] << 8;
        if (got != DIRENT64_HEAD || reclen < DIRENT64_HEAD + 1 || reclen > s->size - at) {
            s->file = 0;  // not a listing the device can walk: the host's from here
            return false;
        }
        if (n + reclen > count) break;
        next = 0;
        for (int k = 7; k >= 0; k--) next = next << 8 | h[8 + k];
        n += reclen;
        at += reclen;
    }
    if (!n) { setX(c, 0, err(E_INVAL)); return true; }
    u64 done = devread_copy(c, s, buf, 0, s->off, n);
    if (done == DEVREAD_POSTED || c.exc != EXC_NONE) return true;
    if (done != n) { setX(c, 0, err(E_FAULT)); return true; }
    s->off = at;
    s->pos = next;
    setX(c, 0, n);
    return true;
}

/// The stat of slot s's file into the guest's statbuf; X0 set.
GFN_NOINLINE void devread_stat(Core& c, DevRead* s, u64 statbuf) {
    u64 f = pcache_find(c.m, pcache_key(s->file, DEVREAD_STAT_PAGE));
    bool ok = f != NO_FRAME && copy_to_guest(c, statbuf, frame_ptr(c.m, f), STAT_BYTES);
    if (c.exc == EXC_NONE) setX(c, 0, ok ? 0 : err(E_FAULT));
}

/// The pages a fill read (`got` bytes from page args[1] of file args[0]): fresh frames,
/// cached for every process and lane. False when one could not be cached.
GFN_NOINLINE bool devread_take(Core& c, u64 got) {
    const SysReq* r = lane_req(c);
    u64 id = *(volatile u64*)&r->args[0], page0 = *(volatile u64*)&r->args[1];
    const u8* data = lane_buf(c) + lane_proc(c.m, c.p)->req_out_off;
    NO_UNROLL for (u64 off = 0; off < got; off += PAGE_SZ) {
        u64 f = frame_alloc(c.m);  // zeroed: the bytes past the end of the file read as 0
        if (f == NO_FRAME) return false;
        rt_memcpy(frame_ptr(c.m, f), data + off, got - off < PAGE_SZ ? got - off : PAGE_SZ);
        u64 cached = pcache_adopt(c.m, pcache_key(id, page0 + (off >> PAGE_SHIFT)), f);
        if (cached != f) frame_unref(c.m, f);
        if (cached == NO_FRAME) return false;
    }
    return true;
}

/// A request of the slots' machinery was answered (X0 its result): take a fill's pages
/// (a fill that failed or could not be cached makes its slot give up: the host serves
/// the descriptor from then on), then run the waiting call again.
GFN_NOINLINE void devread_done(Core& c, u64 nr) {
    Proc* p = c.p;
    if (nr == SYS_gpuos_file_read) {
        i64 got = (i64)c.s.x[0];
        if (got <= 0 || !devread_take(c, (u64)got)) {
            u64 id = *(volatile u64*)&lane_req(c)->args[0];
            NO_UNROLL for (int k = 0; k < DEVREAD_SLOTS; k++)
                if (p->devread[k].file == id) p->devread[k].file = 0;
        }
    }
    p->devread_op = 0;
    setX(c, 0, p->devread_x0);
    c.s.pc -= 4;
    p->insns--;  // the SVC runs again: counted once
}

/// getdents64(2) (`split`).
HANDLER void sys_getdents64(Core& c) {
    DevRead* s = devread_slot(c, X(c, 0));
    if (!s || !devread_dirents(c, s, X(c, 1), X(c, 2))) sys_post_host(c, SYS_getdents64, SYSREQ_CALL);
}

/// read(2) (`split`).
HANDLER void sys_read(Core& c) {
    DevRead* s = devread_slot(c, X(c, 0));
    if (!s || !devread_serve(c, s, X(c, 1), X(c, 2), s->off, true)) sys_post_host(c, SYS_read, SYSREQ_CALL);
}

/// pread64(2) (`split`): EINVAL for a negative position.
HANDLER void sys_pread64(Core& c) {
    DevRead* s = devread_slot(c, X(c, 0));
    if (s && s->file && !s->dir && (i64)X(c, 3) < 0) { setX(c, 0, err(E_INVAL)); return; }
    if (!s || !devread_serve(c, s, X(c, 1), X(c, 2), X(c, 3), false)) sys_post_host(c, SYS_pread64, SYSREQ_CALL);
}

/// lseek(2) (`split`): SEEK_SET, SEEK_CUR and SEEK_END of a slot's descriptor; EINVAL
/// for a position below 0 (fs/read_write.c vfs_setpos).
HANDLER void sys_lseek(Core& c) {
    DevRead* s = devread_slot(c, X(c, 0));
    u32 whence = (u32)X(c, 2);
    if (!s || !s->file || s->dir || whence > 2) { sys_post_host(c, SYS_lseek, SYSREQ_CALL); return; }
    u64 base = whence == 0 ? 0 : whence == 1 ? s->off : s->size;
    u64 to = base + X(c, 1);
    if ((i64)to < 0) { setX(c, 0, err(E_INVAL)); return; }
    s->off = to;
    setX(c, 0, to);
}

/// fstat(2) (`split`).
HANDLER void sys_fstat(Core& c) {
    DevRead* s = devread_slot(c, X(c, 0));
    if (s && s->file) devread_stat(c, s, X(c, 1));
    else sys_post_host(c, SYS_fstat, SYSREQ_CALL);
}

/// newfstatat(2) of a slot's descriptor with an empty path and AT_EMPTY_PATH (glibc's
/// fstat): answered here (true), as fstat.
GFN_NOINLINE bool devread_fstatat(Core& c) {
    u64 flags = X(c, 3);
    if (!(flags & 0x1000u /* AT_EMPTY_PATH */) || !statc_flags_ok(flags & ~0x1000ull) || !X(c, 1)) return false;
    DevRead* s = devread_slot(c, X(c, 0));
    if (!s || !s->file) return false;
    u8 first = 1;
    if (!copy_from_guest(c, &first, X(c, 1), 1) || first) return false;  // the host reports it
    devread_stat(c, s, X(c, 2));
    return true;
}

/// ioctl(2) of a slot's descriptor: the terminal requests isatty(3) and the stdio
/// buffering ask (TCGETS, TIOCGWINSZ) get ENOTTY, as for any regular file (true).
GFN bool devread_ioctl(Core& c) {
    u32 cmd = (u32)X(c, 1);
    if (cmd != DEVREAD_TCGETS && cmd != DEVREAD_TIOCGWINSZ) return false;
    DevRead* s = devread_slot(c, X(c, 0));
    if (!s || !s->file) return false;
    setX(c, 0, err(E_NOTTY));
    return true;
}
