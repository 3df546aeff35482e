// The guest's own /proc files, written on the device where the process's state lives:
// /proc/self/status, /proc/self/stat, /proc/self/maps and /proc/self/comm (also under
// /proc/thread-self and /proc/PID for the caller's process or another process of its
// family). openat(2) of one of them (flags read-only) gathers the text into the lane's
// buffer and posts `gpuos_open_bytes`, for which the host opens a read-only file
// holding it (a memfd: a regular file to read, seek, stat or map, as Linux's are
// seq_files read once). Every other open goes to the host as before. The formats are
// proc(5)'s, Linux 6.1's fields that gpuos keeps; maps names file mappings from the
// address space's file ranges (fmap.h), the host writing the files' paths.
#pragma once
#include "marshal.h"
#include "signal.h"
#include "fmap.h"

/// Text being written into a buffer of `cap` bytes; `n` counts past the end when it
/// overflows (the text is then cut at `cap`).
struct TextBuf {
    u8* p;
    u64 n, cap;
};
GFN void tb_ch(TextBuf& b, u8 ch) {
    if (b.n < b.cap) b.p[b.n] = ch;
    b.n++;
}
GFN void tb_str(TextBuf& b, const char* s) {
    NO_UNROLL for (; *s; s++) tb_ch(b, (u8)*s);
}
/// v in decimal.
GFN void tb_dec(TextBuf& b, u64 v) {
    u8 d[20];
    int k = 0;
    do {
        d[k++] = (u8)('0' + v % 10);
        v /= 10;
    } while (v);
    NO_UNROLL while (k) tb_ch(b, d[--k]);
}
/// v in lower-case hex, at least `width` digits (zero-padded).
GFN void tb_hex(TextBuf& b, u64 v, int width) {
    u8 d[16];
    int k = 0;
    do {
        d[k++] = (u8)"0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    NO_UNROLL for (; k < width; width--) tb_ch(b, '0');
    NO_UNROLL while (k) tb_ch(b, d[--k]);
}
/// "Name:\t" v "\n", the /proc/PID/status line of a number.
GFN void tb_field(TextBuf& b, const char* name, u64 v, const char* unit = "") {
    tb_str(b, name);
    tb_str(b, ":\t");
    tb_dec(b, v);
    tb_str(b, unit);
    tb_ch(b, '\n');
}
/// A signal set line of status: 16 hex digits.
GFN void tb_sigset(TextBuf& b, const char* name, u64 set) {
    tb_str(b, name);
    tb_str(b, ":\t");
    tb_hex(b, set, 16);
    tb_ch(b, '\n');
}

/// Which /proc file a path names.
enum ProcFile : u32 { PROCF_NONE = 0, PROCF_STATUS = 1, PROCF_MAPS = 2, PROCF_COMM = 3, PROCF_STAT = 4 };

/// Whether s starts with prefix; *rest is what follows.
GFN bool str_skip(const u8* s, const char* prefix, const u8** rest) {
    NO_UNROLL for (; *prefix; prefix++, s++)
        if (*s != (u8)*prefix) return false;
    *rest = s;
    return true;
}

/// The file a guest path names, and the thread it is about (*who): "/proc/self/F",
/// "/proc/thread-self/F" or "/proc/PID/F" with PID the caller's process or another
/// process of its family, F "status", "stat", "maps" or "comm". PROCF_NONE for anything
/// else.
GFN_NOINLINE u32 procfs_lookup(Core& c, const u8* path, Proc** who) {
    const u8* r;
    if (!str_skip(path, "/proc/", &r)) return PROCF_NONE;
    const u8* f;
    if (str_skip(r, "self/", &f)) {
        *who = c.mm;
    } else if (str_skip(r, "thread-self/", &f)) {
        *who = c.p;
    } else {
        u64 pid = 0;
        NO_UNROLL for (; *r >= '0' && *r <= '9' && pid < 0x80000000ull; r++) pid = pid * 10 + (*r - '0');
        if (*r != '/' || pid == 0) return PROCF_NONE;
        f = r + 1;
        *who = pid == c.mm->pid ? c.mm : family_find(c, (u32)pid);
        if (!*who || !sig_reachable(*who)) return PROCF_NONE;
    }
    const u8* end;
    if (str_skip(f, "status", &end) && *end == 0) return PROCF_STATUS;
    if (str_skip(f, "maps", &end) && *end == 0) return PROCF_MAPS;
    if (str_skip(f, "comm", &end) && *end == 0) return PROCF_COMM;
    if (str_skip(f, "stat", &end) && *end == 0) return PROCF_STAT;
    return PROCF_NONE;
}

/// The signals process g ignores and catches (SigIgn, SigCgt of status), as masks.
GFN void procfs_sig_dispositions(Proc* g, u64* ign, u64* cgt) {
    *ign = *cgt = 0;
    NO_UNROLL for (int i = 0; i < 64; i++) {
        if (g->sigact[i].handler == 1) *ign |= 1ull << i;
        if (g->sigact[i].handler > 1) *cgt |= 1ull << i;
    }
}

/// /proc/PID/status of thread q (proc(5)): name, state, ids (no Gid or Groups line: the
/// host answers those), memory (VmSize from the pages mapped, VmRSS from the frames
/// charged), threads, signal sets (SigIgn and SigCgt from the process's dispositions),
/// and one allowed CPU (the lane).
GFN_NOINLINE void procfs_status(Core& c, Proc* q, TextBuf& b) {
    Proc* g = proc_leader(c.m, q);
    tb_str(b, "Name:\t");
    NO_UNROLL for (int i = 0; i < 15 && q->comm[i]; i++) tb_ch(b, q->comm[i]);
    tb_str(b, "\nState:\t");
    tb_str(b, q == c.p ? "R (running)\n" : "S (sleeping)\n");
    tb_field(b, "Tgid", g->pid);
    tb_field(b, "Ngid", 0);
    tb_field(b, "Pid", q->pid);
    tb_field(b, "PPid", g->ppid);
    tb_field(b, "TracerPid", 0);
    tb_str(b, "Uid:");
    for (int i = 0; i < 4; i++) {
        tb_ch(b, '\t');
        tb_dec(b, i == 0 ? c.m->uid : c.m->euid);
    }
    tb_ch(b, '\n');
    tb_field(b, "VmSize", g->vm_pages * (PAGE_SZ / 1024), " kB");
    tb_field(b, "VmRSS", g->frames_private * (PAGE_SZ / 1024), " kB");
    tb_field(b, "Threads", g->tg_threads ? g->tg_threads : 1);
    tb_sigset(b, "SigPnd", q->sigpending);
    tb_sigset(b, "ShdPnd", g->sigpending_shared);
    tb_sigset(b, "SigBlk", q->sigmask);
    u64 ign, cgt;
    procfs_sig_dispositions(g, &ign, &cgt);
    tb_sigset(b, "SigIgn", ign);
    tb_sigset(b, "SigCgt", cgt);
    tb_str(b, "Cpus_allowed:\t1\nCpus_allowed_list:\t0\n");
    tb_field(b, "voluntary_ctxt_switches", 0);
    tb_field(b, "nonvoluntary_ctxt_switches", 0);
}

/// /proc/PID/stat of thread q (proc(5), Linux 6.1's 52 fields on one line): pid,
/// (comm), state, ppid, priority and nice, threads, vsize (bytes mapped), rss (frames
/// charged), rsslim, the signal masks (pending, blocked, ignored, caught), exit_signal
/// and start_brk from the process's state; the fields gpuos does not keep (process
/// group and session, which the host answers, tty, faults, times, start time, code
/// and argument addresses) are 0, as qemu-user writes the fields it does not emulate.
GFN_NOINLINE void procfs_stat(Core& c, Proc* q, TextBuf& b) {
    Proc* g = proc_leader(c.m, q);
    tb_dec(b, q->pid);
    tb_str(b, " (");
    NO_UNROLL for (int i = 0; i < 15 && q->comm[i]; i++) tb_ch(b, q->comm[i]);
    tb_str(b, q == c.p ? ") R " : ") S ");
    tb_dec(b, g->ppid);
    // pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime
    // cstime
    tb_str(b, " 0 0 0 0 0 0 0 0 0 0 0 0 0 ");
    i64 nice = g->nice;
    tb_dec(b, (u64)(20 + nice));  // priority: 20 + nice for a SCHED_OTHER task
    tb_ch(b, ' ');
    if (nice < 0) tb_ch(b, '-');
    tb_dec(b, (u64)(nice < 0 ? -nice : nice));
    tb_ch(b, ' ');
    tb_dec(b, g->tg_threads ? g->tg_threads : 1);
    tb_str(b, " 0 0 ");  // itrealvalue starttime
    tb_dec(b, g->vm_pages * PAGE_SZ);
    tb_ch(b, ' ');
    tb_dec(b, g->frames_private);
    tb_ch(b, ' ');
    tb_dec(b, g->rss_limit ? g->rss_limit * PAGE_SZ : ~0ull);  // RLIM_INFINITY
    // startcode endcode startstack kstkesp kstkeip
    tb_str(b, " 0 0 0 0 0 ");
    u64 ign, cgt;
    procfs_sig_dispositions(g, &ign, &cgt);
    u64 sigs[4] = {q->sigpending | g->sigpending_shared, q->sigmask, ign, cgt};
    NO_UNROLL for (int i = 0; i < 4; i++) {
        tb_dec(b, sigs[i]);
        tb_ch(b, ' ');
    }
    // wchan nswap cnswap exit_signal (SIGCHLD for a process, none for a thread)
    // processor rt_priority policy delayacct_blkio_ticks guest_time cguest_time
    // start_data end_data
    tb_str(b, q == g ? "0 0 0 17 0 0 0 0 0 0 0 0 " : "0 0 0 -1 0 0 0 0 0 0 0 0 ");
    tb_dec(b, g->brk_start);
    tb_str(b, " 0 0 0 0 0\n");  // arg_start arg_end env_start env_end exit_code
}

/// /proc/PID/comm: the thread's name and a newline.
GFN void procfs_comm(Proc* q, TextBuf& b) {
    NO_UNROLL for (int i = 0; i < 15 && q->comm[i]; i++) tb_ch(b, q->comm[i]);
    tb_ch(b, '\n');
}

/// The first mapped range at or above a in the tables at root: its start (>= a), end
/// and permissions (a lazy reservation or page, present or not). False when none.
GFN_NOINLINE bool pt_next_mapped(MachineHdr* m, u64 root, u64 a, u64* lo, u64* hi, u64* perm) {
    NO_UNROLL while (a < (1ull << VA_BITS)) {
        u64 t = root;
        NO_UNROLL for (int level = 0;; level++) {
            u64* e = pt_table(m, t) + pt_index(a, level);
            u64 span = 1ull << pt_span_shift(level);
            u64 base = a & ~(span - 1);
            if (level < 3 && (*e & PTE_P)) {
                t = PTE_FRAME(*e);
                continue;
            }
            if (pte_mapped(*e)) {
                *lo = a;
                *hi = base + span;
                *perm = *e & PTE_PERM;
                return true;
            }
            a = base + span;
            break;
        }
    }
    return false;
}

/// One line of maps (proc(5), Linux's show_map_vma): "lo-hi perms offset dev inode",
/// then the name padded to column 73. A file's line ends after the offset with a NUL
/// and the file's identity in decimal: the host writes its device, inode and path
/// there (`ProcHost::open_bytes`), which the device does not know.
GFN void procfs_map_line(TextBuf& b, u64 lo, u64 hi, u64 perm, u32 flags, u64 off, u32 file, const char* name) {
    u64 start = b.n;
    tb_hex(b, lo, 8);
    tb_ch(b, '-');
    tb_hex(b, hi, 8);
    tb_ch(b, ' ');
    tb_ch(b, (perm & PTE_R) ? 'r' : '-');
    tb_ch(b, (perm & PTE_W) ? 'w' : '-');
    tb_ch(b, (perm & PTE_X) ? 'x' : '-');
    tb_ch(b, (flags & FMAP_SHARED) ? 's' : 'p');
    tb_ch(b, ' ');
    tb_hex(b, off, 8);
    if (file) {
        tb_str(b, " ");
        tb_ch(b, 0);
        tb_dec(b, file);
        tb_ch(b, '\n');
        return;
    }
    tb_str(b, " 00:00 0 ");
    if (*name) {
        NO_UNROLL while (b.n - start < 73) tb_ch(b, ' ');
        tb_str(b, name);
    }
    tb_ch(b, '\n');
}

/// A stretch of the address space with one kind of content: a file's pages (`file`,
/// the offset at `lo`, `flags`) or anonymous ones (file 0), with permissions `perm`.
struct MapRun {
    u64 lo, hi, perm, off;
    u32 file, flags;
};

/// /proc/PID/maps of process g: its mapped ranges merged where contiguous with the same
/// permissions and the same content (anonymous, or the same file at consecutive
/// offsets, as Linux merges VMAs), file mappings with their file and offset (kernel/
/// sys/fmap.h), the heap ("[heap]", the brk area), the stack ("[stack]") and the signal
/// trampoline page ("[vdso]", the vDSO's place on Linux) named.
GFN_NOINLINE void procfs_maps(Core& c, Proc* g, TextBuf& b) {
    MachineHdr* m = c.m;
    if (g->pt_root == NO_FRAME) return;
    u64 a = 0, lo = 0, hi = 0, perm = 0;
    MapRun run;
    rt_memset(&run, 0, sizeof run);
    bool have = false;
    u64 heap_lo = page_up(g->brk_start), stack_lo = m->stack_top - m->stack_size;
    const FileMap* fm = 0;
    u64 fm_lo = 1, fm_hi = 0;  // [fm_lo, fm_hi) is all fm's (or unnamed when fm is null)
    NO_UNROLL for (u64 guard = 0; guard < (1ull << 36); guard++) {
        bool more = pt_next_mapped(m, g->pt_root, a, &lo, &hi, &perm);
        u32 file = 0, flags = 0;
        u64 off = 0;
        if (more) {
            if (lo < fm_lo || lo >= fm_hi) {
                u64 next;
                fm = fmap_at(m, g, lo, &next);
                fm_lo = lo;
                fm_hi = fm ? fm->end : next;
            }
            if (hi > fm_hi) hi = fm_hi;  // a file's range ends (or begins) within the span
            if (fm) {
                file = fm->file;
                flags = fm->flags;
                off = fm->offset + (lo - fm->start);
            }
        }
        // A new line where the permissions or the content change, or at a gap.
        bool split = !more || lo != run.hi || perm != run.perm || file != run.file || flags != run.flags ||
                     (file && off != run.off + (lo - run.lo)) || lo == heap_lo || lo == stack_lo ||
                     lo == m->sigtramp || run.hi == m->sigtramp + PAGE_SZ;
        if (have && split) {
            const char* name = run.file                                   ? ""
                               : run.lo == m->sigtramp                    ? "[vdso]"
                               : run.lo >= stack_lo && run.hi <= m->stack_top ? "[stack]"
                               : run.lo >= heap_lo && run.hi <= page_up(g->brk_cur) && run.lo < run.hi ? "[heap]"
                                                                                                     : "";
            procfs_map_line(b, run.lo, run.hi, run.perm, run.flags, run.off, run.file, name);
            have = false;
        }
        if (!more) break;
        if (!have) {
            run.lo = lo;
            run.perm = perm;
            run.file = file;
            run.flags = flags;
            run.off = off;
            have = true;
        }
        run.hi = hi;
        a = hi;
    }
}

GFN_NOINLINE bool procfs_open(Core& c, u32 flags);

GFN_NOINLINE bool devread_open(Core& c, u32 flags, const u8* st, const u64* rec);  // kernel/sys/devread.h

/// openat(2) without O_CREAT of an absolute path the stat cache knows: one missing for
/// good gets its error (ENOENT or ENOTDIR, as the lookup gives before anything else is
/// looked at: fs/namei.c); one whose open lasts (the stat cache keeps its open record)
/// is opened on the device (`devread_open`). The host says which absences and opens
/// last (an openat or a stat of the path answered OUT_LASTING: marshal.h,
/// statcache.h). False (the host answers) otherwise.
GFN_NOINLINE bool openat_cached(Core& c) {
    u32 flags = (u32)X(c, 2);
    if (!c.m->statc || !X(c, 1) || (flags & OPENAT_O_CREAT)) return false;
    u8 path[STATC_PATH];
    i64 n = copy_str_from_guest(c, path, X(c, 1), STATC_PATH);
    if (c.exc != EXC_NONE) return true;  // out of memory: the process was killed
    alignas(8) u8 st[STAT_BYTES];  // its first word read as an i64 (STATC_GONE)
    u64 sflags = flags & OPENAT_O_NOFOLLOW ? STATC_AT_SYMLINK_NOFOLLOW : 0;
    u64 open[2] = {0, 0};
    u32 got = n > 0 ? statc_find(c.m, path, (u64)n, sflags, st, false, open) : STATC_MISS;
    if (got == STATC_HIT && open[0] && !sflags) return devread_open(c, flags, st, open);
    if (got != STATC_GONE) return false;
    setX(c, 0, (u64)*(const i64*)st);
    return true;
}

/// openat(2) (`split`): the caller's /proc files are written here (see the top of this
/// file), and a path missing for good is answered from the stat cache; every other path
/// goes to the host. Writing to them: EACCES, as their mode
/// (0444) gives.
HANDLER void sys_openat(Core& c) {
    if (!procfs_open(c, (u32)X(c, 2)) && !openat_cached(c)) sys_post_host(c, SYS_openat, SYSREQ_CALL);
}

/// readlinkat(2) (`split`): /proc/self/exe of a process that runs the run's own program
/// (`Proc::exe_other` 0; busybox's applets exec it again and read the link back each
/// time) is answered from `MachineHdr::exe_path`, the bytes the host gives
/// (host/file.rs `sys_readlinkat`: up to bufsiz of them, no NUL; EINVAL for bufsiz <= 0).
/// Every other path is the host's.
HANDLER void sys_readlinkat(Core& c) {
    const u8 self_exe[14] = {'/', 'p', 'r', 'o', 'c', '/', 's', 'e', 'l', 'f', '/', 'e', 'x', 'e'};
    u8 path[16];
    u64 len = c.m->exe_len;
    if (len && !c.p->exe_other && X(c, 1)) {
        i64 n = copy_str_from_guest(c, path, X(c, 1), sizeof path);
        if (c.exc != EXC_NONE) return;  // out of memory: the process was killed
        bool is = n == (i64)sizeof self_exe;
        for (u64 k = 0; is && k < sizeof self_exe; k++) is = path[k] == self_exe[k];
        if (is) {
            i64 bufsiz = (i64)(i32)X(c, 3);
            if (bufsiz <= 0) { setX(c, 0, err(E_INVAL)); return; }
            u64 k = len < (u64)bufsiz ? len : (u64)bufsiz;
            setX(c, 0, copy_to_guest(c, X(c, 2), (const u8*)c.m->exe_path, k) ? k : err(E_FAULT));
            return;
        }
    }
    sys_post_host(c, SYS_readlinkat, SYSREQ_CALL);
}

/// struct open_how's size (include/uapi/linux/openat2.h: flags, mode, resolve) and the
/// most bytes of it openat2(2) takes (PAGE_SIZE, else E2BIG).
#define OPEN_HOW_SIZE 24u
#define OPEN_HOW_MAX 4096u

/// openat2(2): the size of struct open_how checked here (EINVAL below the first
/// version's 24 bytes, E2BIG past a page), the device's /proc files opened as openat
/// opens them when no RESOLVE_* flag is asked, the rest served by the host (which
/// checks the flags and the bytes past the struct it knows).
HANDLER void sys_openat2(Core& c) {
    u64 size = X(c, 3);
    if (size < OPEN_HOW_SIZE) { setX(c, 0, err(E_INVAL)); return; }
    if (size > OPEN_HOW_MAX) { setX(c, 0, err(E_2BIG)); return; }
    u64 how[3];
    if (!copy_from_guest(c, (u8*)how, X(c, 2), sizeof how)) { setX(c, 0, err(E_FAULT)); return; }
    bool plain = how[1] == 0 && how[2] == 0 && !(how[0] >> 32) && size == OPEN_HOW_SIZE;
    if (!plain || !procfs_open(c, (u32)how[0])) sys_post_host(c, SYS_openat2, SYSREQ_CALL);
}

/// open of the device's /proc files (the path X1, open flags `flags`): written into the
/// lane's buffer and posted as `gpuos_open_bytes`. False when the path is not one of
/// them (the caller posts the call to the host).
GFN_NOINLINE bool procfs_open(Core& c, u32 flags) {
    u8 path[40];
    i64 n = copy_str_from_guest(c, path, X(c, 1), sizeof(path));
    Proc* who = 0;
    u32 kind = n > 0 ? procfs_lookup(c, path, &who) : PROCF_NONE;
    if (kind == PROCF_NONE) return false;
    if ((flags & 3) != 0 || (flags & 0100 /* O_CREAT */)) { setX(c, 0, err(E_ACCES)); return true; }
    u64 t = now_ns();
    u8* buf = lane_buf(c);
    u64 cap = c.m->buf_size;
    u64 plen = (u64)n + 1 < sizeof(path) ? (u64)n + 1 : sizeof(path);  // with its NUL
    NO_UNROLL for (u64 i = 0; i < plen; i++) buf[i] = path[i];
    TextBuf b;
    b.p = buf + plen;
    b.n = 0;
    b.cap = cap / 2 - plen;  // half the buffer stays for the output area
    if (kind == PROCF_STATUS) procfs_status(c, who, b);
    else if (kind == PROCF_MAPS) procfs_maps(c, proc_leader(c.m, who), b);
    else if (kind == PROCF_STAT) procfs_stat(c, who, b);
    else procfs_comm(who, b);
    u64 len = b.n < b.cap ? b.n : b.cap;
    u64 in = plen + len, off = (in + 7) & ~7ull;
    u64 a[6] = {X(c, 1), 0, len, flags, 0, 0};
    sys_publish(c, SYS_gpuos_open_bytes, SYSREQ_CALL, a, 0, in, off, cap - off, t, true);
    return true;
}
