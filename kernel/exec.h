// The interpreter loop: fetch, decode (generated from the table), execute, and handle
// the events that stop a lane (syscall to the host, signal, exit, instruction budget).
#pragma once
#include "proc/proc.h"
#include "proc/spare.h"
#include "a64/handlers.h"
#include "sys/marshal.h"
#include "sys/proc_sys.h"
#include "sys/mm_sys.h"
#include "sys/time_sys.h"
#include "sys/stat_sys.h"
#include "sys/ptimer.h"
#include "sys/procfs.h"
#include "sys/ioctl.h"
#include "sys/random.h"
#include "syscall_dispatch.gen.h"
#include "a64_decode.gen.h"
#include "tier2/tier2.h"
// A core built with its translation compiled in (the GPU's tier 2: with -DGPUOS_TIER2=1,
// the generated blocks and `t2_enter` of crates/gpuos/src/translate/gen.rs replace the
// marker line below in the amalgamated source); the CPU backend loads its translation
// as a shared object instead and calls it through MachineHdr::t2_enter.
#if GPUOS_TIER2
// @GPUOS_T2_BLOCKS@
#endif

/// Run result of `core_run`.
enum RunResult : u32 {
    RUN_BUDGET = 0,   // the instruction budget of this call ran out; runnable
    RUN_HOSTWAIT = 1, // waiting for the host to serve SysReq
    RUN_DONE = 2,     // the process ended (exited or killed)
    RUN_TRAP = 3,     // user mode (a spare lane): stopped before an instruction that
                      // the task's own lane must run (kernel/proc/spare.h)
};

/// SVC #0: the syscall number is in X8, arguments in X0..X5, result in X0.
GFN void sys_dispatch(Core& c) {
    c.sig_entered = 0;
    sys_dispatch_nr(c, c.s.x[8]);
}

// Decode-cache entries are written by whichever lane decodes first; every writer
// stores the same value, so a relaxed access is enough (atomic on the host, where
// lanes are threads).
#if GPUOS_DEVICE
// A plain (L1-cached) load: a volatile one goes to L2 on every instruction, which cost
// 13 % of single-lane speed on an H100 (docs/BENCHMARKS.md). A stale 0 only means
// one more walk of the tree.
GFN u32 dcache_get(const u16* e) { return *e; }
GFN void dcache_put(u16* e, u32 id) { *(volatile u16*)e = (u16)id; }
#else
GFN u32 dcache_get(const u16* e) { return __atomic_load_n(e, __ATOMIC_RELAXED); }
GFN void dcache_put(u16* e, u32 id) { __atomic_store_n(e, (u16)id, __ATOMIC_RELAXED); }
#endif

/// Whether this lane takes the next step of core_run now, where the lanes of `mask`
/// meet (see core_run): the lanes at the least PC step first. When those enter the
/// translation (tier 2), every lane of mask waiting at the start of a translated block
/// enters with them, whatever its PC: the translation's own meeting points (the least
/// region, then the least block first) let the lanes behind catch up inside it. Without
/// that, a lane waiting here at a block start is passed by the others inside the
/// translated code, which only return at its exits: the two groups leapfrog at every
/// exit and never run together again (a warp split by host answers that came back at
/// different times ran CoreMark at a third of the speed of a converged one). `entry`:
/// the lane's next instruction starts a block. Costs nothing while all are together.
GFN bool step_now(Core& c, u32 mask, bool entry) {
    u32 pcw = (u32)(c.s.pc >> 2), least = T2_MIN(mask, pcw);
    bool lead = pcw == least;
#if GPUOS_TIER2
    if (T2_BALLOT(mask, lead) != mask) {
        c.split++;
        u64 pc = c.s.pc;
        bool here = entry && c.code_t2 && !(pc & 3) && c.code_vpn == (pc >> PAGE_SHIFT) + 1 && t2_block_at(c, pc);
        // A lane at the least PC enters the translation; every lane that can, joins it.
        if (T2_BALLOT(mask, lead && here)) return here;
    }
#else
    (void)c;
    (void)entry;
#endif
    return lead;
}

/// Count the lanes `mask` (the calling lanes of a warp, together) as one group that
/// entered the run loop (MachineHdr::run_groups, run_group_lanes; `gpuos run -v`
/// reports the mean): how well the warps stay together. The GPU only.
GFN void count_group(MachineHdr* m, u32 mask) {
#if GPUOS_DEVICE
    if ((u32)(__ffs(mask) - 1) == (threadIdx.x & 31)) {
        atomic_add_u64(&m->run_groups, 1);
        atomic_add_u64(&m->run_group_lanes, (u64)__popc(mask));
    }
#else
    (void)m;
    (void)mask;
#endif
}

/// Whether the syscall c stopped at (number nr, arguments in X0..X5) may run while other
/// tasks of c's address space run on spare lanes: it changes no mapping they may hold
/// and no task but c's (it may add mappings; it may wake blocked tasks, which are home).
/// Anything not listed brings them home first (`space_quiesce`).
GFN bool sys_runs_beside(Core& c, u64 nr) {
    u64 a0 = c.s.x[0];
    switch (nr) {
    case SYS_read: case SYS_write: case SYS_readv: case SYS_writev: case SYS_pread64: case SYS_pwrite64:
    case SYS_preadv: case SYS_pwritev: case SYS_preadv2: case SYS_pwritev2: case SYS_lseek:
    case SYS_openat: case SYS_close: case SYS_fstat: case SYS_newfstatat: case SYS_statx:
    case SYS_getdents64: case SYS_fcntl: case SYS_ioctl: case SYS_dup: case SYS_dup3: case SYS_pipe2:
    case SYS_readlinkat: case SYS_faccessat: case SYS_faccessat2: case SYS_getcwd: case SYS_uname:
    case SYS_ppoll: case SYS_pselect6: case SYS_epoll_pwait: case SYS_epoll_pwait2:
    case SYS_clock_gettime: case SYS_clock_getres: case SYS_gettimeofday: case SYS_nanosleep:
    case SYS_clock_nanosleep: case SYS_sched_yield: case SYS_sched_getaffinity: case SYS_getrandom:
    case SYS_getpid: case SYS_gettid: case SYS_getppid: case SYS_getuid: case SYS_geteuid:
    case SYS_getgid: case SYS_getegid: case SYS_getrusage: case SYS_times: case SYS_sysinfo:
    case SYS_getrlimit: case SYS_prlimit64: case SYS_rt_sigprocmask: case SYS_rt_sigaction:
    case SYS_rt_sigreturn: case SYS_sigaltstack: case SYS_set_robust_list: case SYS_get_robust_list:
    case SYS_set_tid_address: case SYS_rseq: case SYS_exit:
        return true;
    case SYS_futex: {  // FUTEX_WAKE_OP writes the word as one step: it waits for the others
        u64 cmd = c.s.x[1] & ~(u64)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
        return cmd != FUTEX_WAKE_OP;
    }
    case SYS_brk:  // growing adds pages; shrinking takes them away
        return a0 == 0 || a0 >= c.mm->brk_cur;
    case SYS_mmap:  // a new mapping beside the others; MAP_FIXED may replace one
        return (c.s.x[3] & 0x10) == 0;
    case SYS_clone:  // a thread: the family's lists are its lane's alone
        return (a0 & CLONE_THREAD) != 0;
    default:
        return false;
    }
}

/// A syscall a spare lane serves itself, in user mode (kernel/proc/spare.h), as Linux's
/// vDSO serves the clocks without entering the kernel: clock_gettime of the clocks the
/// device keeps and gettimeofday (the result stored through the soft TLB like any guest
/// store), the caller's ids, sched_yield (which ends the slice), and the futex waits
/// and wakes of the group's queue (kernel/sys/futex.h `futex_user`), reads and writes
/// of pipes kept on the device that need no wait (kernel/sys/dpipe.h `dpipe_user`). None under
/// --strace, whose lines the lane writes. True when served: X0 holds the result and
/// `*action` says what follows (UserAction). False hands the call to the task's lane,
/// which runs the SVC again from the start (an exception may be set: a page not ready).
GFN bool sys_user(Core& c, u64 nr, u32* action) {
    if (c.p->strace) return false;
    i64 v[2], off = c.m->clock_real_off;
    u64 va = X(c, 0), div = 1000;
    switch (nr) {
    case SYS_getpid: setX(c, 0, c.mm->pid); return true;
    case SYS_gettid: setX(c, 0, c.p->pid); return true;
    case SYS_getuid: setX(c, 0, c.m->uid); return true;
    case SYS_geteuid: setX(c, 0, c.m->euid); return true;
    case SYS_getgid: setX(c, 0, c.m->gid); return true;
    case SYS_getegid: setX(c, 0, c.m->egid); return true;
    case SYS_sched_yield: setX(c, 0, 0); *action = USER_YIELD; return true;
    case SYS_futex: return futex_user(c, action);
    case SYS_read: case SYS_write: return dpipe_user(c, nr);  // a pipe kept on the device
    case SYS_clock_gettime:
        if (!dev_clock_offset(c.m, (i64)(i32)X(c, 0), &off)) return false;
        va = X(c, 1);
        div = 1;
        break;
    case SYS_gettimeofday:
        if (X(c, 1)) return false;  // a timezone too: its lane
        if (!va) { setX(c, 0, 0); return true; }
        break;
    default:
        return false;
    }
    split_ns(now_ns() + (u64)off, div, v);
    c.exc = EXC_NONE;
    mem_write(c, va, 8, (u64)v[0]);
    if (c.exc == EXC_NONE) mem_write(c, va + 8, 8, (u64)v[1]);
    if (c.exc != EXC_NONE) return false;
    setX(c, 0, 0);
    return true;
}

#if defined(GPUOS_BLOCK_TRACE) && !GPUOS_DEVICE
/// Analysis aid, compiled in only with -DGPUOS_BLOCK_TRACE (CPU backend; build with
/// `CXXFLAGS=-DGPUOS_BLOCK_TRACE`): when the environment's GPUOS_BLOCK_TRACE names a
/// file prefix, every process appends the straight-line runs of its interpreted
/// instructions to PREFIX.<pid> as records {u64 start PC, u64 SP at
/// the start, u32 instructions} (little-endian, packed): the input of `warp_sim`
/// (crates/gpuos-dev/src/bin/warp_sim.rs), which replays lanes' paths through a warp's
/// scheduling policies. Run with `--translate never` so that every instruction passes here.
struct BlockTrace {
    FILE* f;
    u64 pid, start, sp, next;
    u32 n;
};
static __thread BlockTrace tls_trace;
GFN void block_trace_flush(BlockTrace& t) {
    if (t.f && t.n) {
        fwrite(&t.start, 8, 1, t.f);
        fwrite(&t.sp, 8, 1, t.f);
        fwrite(&t.n, 4, 1, t.f);
    }
    t.n = 0;
}
GFN void block_trace(Core& c, u64 pc) {
    BlockTrace& t = tls_trace;
    u64 pid = c.p->pid;
    if (!t.f || t.pid != pid) {
        const char* pre = getenv("GPUOS_BLOCK_TRACE");
        if (!pre) return;
        block_trace_flush(t);
        if (t.f) fclose(t.f);
        char name[512];
        snprintf(name, sizeof name, "%s.%llu", pre, (unsigned long long)pid);
        t.f = fopen(name, "ab");
        t.pid = pid;
        t.n = 0;
        if (!t.f) return;
    }
    if (t.n && pc == t.next) {
        t.n++;
    } else {
        block_trace_flush(t);
        t.start = pc;
        t.sp = c.s.x[31];
        t.n = 1;
    }
    t.next = pc + 4;
    if (t.n % 4096 == 0) fflush(t.f);
}
#define BLOCK_TRACE(c, pc) block_trace(c, pc)
#else
#define BLOCK_TRACE(c, pc)
#endif

/// How far a lane's slice stretches while other lanes of its warp are still within
/// theirs (core_run): up to SLICE_STRETCH times its budget. Lanes whose paths parted
/// (a seed each) progress unevenly, and a slice used to end lane by lane, its last
/// lanes running with fewer and fewer others: CoreMark with a seed per lane under
/// `warp_sim` (crates/gpuos-dev), 1 M-instruction slices: 4.81 lanes together, 5.42
/// without slices or with a stretch of 2. Lanes that run together reach their budgets
/// together and stretch nothing. `-DSLICE_STRETCH=1`: the former slices.
#ifndef SLICE_STRETCH
#define SLICE_STRETCH 2
#endif

/// Execute up to `budget` instructions of the process loaded in `c` (up to
/// SLICE_STRETCH times that while lanes of its warp have slice left: see above).
GFN u32 core_run(Core& c, u64 budget) {
    u64 n = 0;
    u64 limit = c.p->max_insns;
    u64 cap = budget > ~0ull / SLICE_STRETCH ? ~0ull : budget * SLICE_STRETCH;
    if (limit) {
        u64 left = limit > c.p->insns ? limit - c.p->insns : 0;
        if (left < budget) budget = left;
        if (left < cap) cap = left;
        if (left == 0 && c.user) return RUN_TRAP;  // its lane ends it
        if (left == 0) {
            c.pc = c.s.pc;
            c.insn = 0;
            proc_kill(c, SIG_XCPU, 0);
            return RUN_DONE;
        }
    }
    u32 r = RUN_BUDGET;
    c.split = 0;
    c.t2miss = 0;
#ifdef GPUOS_T2_GROUP_STATS
    c.t2grp = 0;
#endif
    // Tier 2: the profile, the translation (if any) and whether the next instruction
    // starts a block (after a branch, a conditional branch, a syscall, a signal or a block).
    u32* t2c = (u32*)(uintptr_t)c.m->t2_counts;
#if !GPUOS_DEVICE
    T2EnterFn t2 = (T2EnterFn)(uintptr_t)__atomic_load_n(&c.m->t2_enter, __ATOMIC_ACQUIRE);
#endif
    bool entry = true, stop = false;
    u64 n2 = 0;  // instructions run translated
    // The lanes of a warp that run together here (`mask`) meet at the top of every
    // step; of those whose programs went different ways, the ones at the lowest PC
    // step first while the others wait, so that lanes behind catch up with the ones
    // ahead and run with them again (thread frontiers; tier 2's regions do the same
    // between blocks, crates/gpuos/src/translate/gen.rs). Without it, lanes that part
    // (a different seed each) stay apart for the rest of the slice and the warp runs
    // their paths one after another. A lane that stops passes the meeting too.
    u32 mask = T2_ACTIVE();
    (void)mask;  // constant votes on the host
    count_group(c.m, mask);
#ifdef GPUOS_SOLO_STEP
    // A lane alone here (a one-lane run, or the only lane of its warp ready to run):
    // every vote below would be its own and step_now always true, and no lane joins
    // during the call. A variant to measure (one lane's steps without the votes and
    // the meeting point: `-DGPUOS_T2_NO_SCHED` gives their cost as an upper bound).
    const bool solo = T2_SOLO(mask);
#else
    const bool solo = false;
#endif
    for (;;) {
        bool stay = n < budget && !stop;
        if (!solo) {
            u32 within = T2_BALLOT(mask, stay);
            // Some lanes used their slice: while others have slice left, they go on.
            if (within != mask) {
                stay = stay || (within && !stop && n < cap);
                mask = T2_BALLOT(mask, stay);
            }
        }
        if (!stay) break;
        if (!solo && !step_now(c, mask, entry)) continue;
        u64 pc = c.s.pc;
        c.pc = pc;
        c.npc = pc + 4;
        c.insn = 0;
        // Fast path: pc 4-aligned and on the current code page. Otherwise fetch_page
        // makes its page current, or raises SIGBUS/SIGSEGV (c.exc, handled below).
        bool on_page = c.code_vpn == (pc >> PAGE_SHIFT) + 1 && !(pc & 3);
        if (on_page || fetch_page(c, pc)) {
            u32 slot = ((u32)pc & (u32)(PAGE_SZ - 1)) >> 2;
            if (entry && c.code_t2) {
#if GPUOS_TIER2
                u32 k = t2_enter(c, (n < budget ? budget : cap) - n);
#elif !GPUOS_DEVICE
                u32 k = t2 ? t2(c, (n < budget ? budget : cap) - n) : 0;
#else
                u32 k = 0;
#endif
                if (k) {
                    n2 += k;
                    if (c.exc == EXC_NONE) {
                        n += k;
                        continue;
                    }
                    n += k - 1;  // the last one raised c.exc: handled below, as interpreted
                    goto exc;
                }
                // Also the first instruction of a call: the program's entry, after a
                // host syscall or a signal. After a slice that ran out of budget it
                // counts a boundary of this run only, once per slice.
                if (t2c) t2_count(c, t2c, slot);
            }
            u32 insn = *(const u32*)page_at((u8*)c.code, c.code_il, (u64)slot * 4);
            u32 id = c.code_ids ? dcache_get(c.code_ids + slot) : 0;
            c.insn = insn;
            if (id == 0) {  // not seen before (or no cache for this page): walk the tree
                id = a64_decode_id(insn);
                if (c.code_ids) dcache_put(c.code_ids + slot, id);
            }
            BLOCK_TRACE(c, pc);
            a64_exec_id(c, insn, id);
            entry = t2c && (c.npc != pc + 4 || t2_cond_branch(insn));
        }
        if (c.exc == EXC_NONE) {
            c.s.pc = c.npc;
            n++;
            continue;
        }
    exc:
        entry = true;
        if (c.user && c.exc == EXC_SVC) {  // a syscall a spare lane serves itself?
            u32 action = USER_GO_ON;
            if (sys_user(c, c.s.x[8], &action)) {
                c.exc = EXC_NONE;
                c.s.pc = action == USER_PARKED ? c.pc : c.npc;  // parked: at the SVC, as its lane leaves it
                c.parked = action == USER_PARKED;
                n++;
                stop = action != USER_GO_ON;
                continue;
            }
        }
        if (c.user) {  // a spare lane: the task's lane runs this instruction (spare.h)
            c.s.pc = c.pc;
            r = RUN_TRAP;
            stop = true;
            continue;
        }
        if (c.exc == EXC_SVC) {
            // A syscall that may change what tasks on spare lanes see waits for them.
            if (c.mm->away && !sys_runs_beside(c, c.s.x[8])) space_quiesce(c.m, c.mm);
            c.s.pc = c.npc;
            n++;
            c.exc = EXC_NONE;
            sys_dispatch(c);
            if (c.exc == EXC_NONE) continue;
            if (c.exc == EXC_SIGNAL) { proc_kill(c, c.sig, c.fault_addr); r = RUN_DONE; stop = true; continue; }
            r = c.exc == EXC_HOSTWAIT ? RUN_HOSTWAIT : RUN_DONE;
            stop = true;
            continue;
        }
        if (c.exc == EXC_SIGNAL) {  // a fault of this instruction: handler or default action
            n++;
            space_quiesce(c.m, c.mm);
            sig_fault(c);
            if (c.exc == EXC_NONE) continue;
        }
        r = RUN_DONE;
        stop = true;
    }
    c.p->insns += n;
    if (n2) atomic_add_u64(&c.m->t2_insns, n2);
    if (c.split) atomic_add_u64(&c.m->split_steps, c.split);
    if (c.t2miss) atomic_add_u64(&c.m->t2_misses, c.t2miss);
#ifdef GPUOS_T2_GROUP_STATS
    if (c.t2grp) atomic_add_u64(&c.m->t2_group_insns, c.t2grp);
#endif
    if (r != RUN_DONE) core_save(c);
    else c.p->cpu = c.s;
    return r;
}
