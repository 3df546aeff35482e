// The running lane: a local copy of one process's architectural state plus the
// per-lane caches the interpreter needs. Handlers in a64/ take `Core& c`.
#pragma once
#include "rt.h"
#include "gpuos_abi.h"

#ifndef __CUDA_ARCH__
/// Host only: the lane this thread is running (set by kernel/cpu_api.cpp), for reports.
static __thread u64 tls_lane;
#endif
/// The lane (process index) the calling thread runs: on the GPU, its thread index.
GFN u64 current_lane() {
#ifdef __CUDA_ARCH__
    return (u64)blockIdx.x * blockDim.x + threadIdx.x;
#else
    return tls_lane;
#endif
}

/// Stop on a broken invariant of gpuos itself (never a guest's doing: guests get
/// signals). On the GPU the first detecting lane fills the MachineHdr's PanicRecord in
/// host memory, then traps, which ends the kernel with a CUDA error; the host names
/// the lane and the cause. On the host, report and abort.
GFN_NOINLINE void gpuos_panic(MachineHdr* m, u32 code, u64 arg) {
    PanicRecord* r = (PanicRecord*)(uintptr_t)m->panic;
#ifdef __CUDA_ARCH__
    if (r && atomicCAS_system((unsigned int*)&r->set, 0u, 1u) == 0u) {
        *(volatile u32*)&r->code = code;
        *(volatile u64*)&r->lane = current_lane();
        *(volatile u64*)&r->arg = arg;
        __threadfence_system();
    }
    __trap();
#else
    (void)r;
    fprintf(stderr, "gpuos: internal error %u (value %llu) in lane %llu: a bug of gpuos, not of the guest\n",
            code, (unsigned long long)arg, (unsigned long long)current_lane());
    abort();
#endif
}

// Linux signal numbers (asm-generic/signal.h).
enum {
    SIG_HUP = 1, SIG_INT = 2, SIG_QUIT = 3, SIG_ILL = 4, SIG_TRAP = 5, SIG_ABRT = 6,
    SIG_BUS = 7, SIG_FPE = 8, SIG_KILL = 9, SIG_USR1 = 10, SIG_SEGV = 11, SIG_USR2 = 12,
    SIG_PIPE = 13, SIG_ALRM = 14, SIG_TERM = 15, SIG_CHLD = 17, SIG_CONT = 18, SIG_STOP = 19,
    SIG_XCPU = 24,
};

// Why the lane stopped executing instructions (Core::exc).
enum Exc : u32 {
    EXC_NONE = 0,
    EXC_SVC = 1,      // SVC #0: a syscall
    EXC_SIGNAL = 2,   // a synchronous signal (c.sig, c.fault_addr)
    EXC_HOSTWAIT = 3, // the syscall was posted to the host; the lane waits
    EXC_EXIT = 4,     // the process ended
    EXC_YIELD = 5,    // back to the family scheduler (blocked, forked, exec'd): see Proc::status
};

// Per-lane translation cache (soft TLB): direct mapped on the virtual page number; a
// power of two. python3 missed a 16-entry one every 12 guest instructions (code, heap,
// and the libraries' data all in play); each miss is a four-level page walk.
#ifndef TLB_ENTRIES
#define TLB_ENTRIES 64
#endif
struct TlbEntry {
    u64 vpn;   // virtual page number + 1 (0 = invalid)
    u8* host;  // the frame's first byte or word (frame_base in mm.h)
    u32 perm;  // PTE_R | PTE_W | PTE_X actually granted (W only when not COW)
    u32 il;    // the frame is interleaved (page_at in mm.h finds its bytes)
};

struct Core {
    CpuState s;      // architectural state (copied in and out of Proc)
    u64 pc;          // address of the instruction being executed
    u64 npc;         // address of the next instruction
    u32 insn;        // the instruction word being executed
    u32 exc;         // Exc: set to stop after the current instruction
    i32 sig;         // signal for EXC_SIGNAL
    u64 fault_addr;  // data address for SIGSEGV/SIGBUS
    MachineHdr* m;   // machine globals
    Proc* p;         // the process or thread running (its registers, signals, syscalls)
    Proc* mm;        // its thread group's leader: the address space, dispositions, host state
    TlbEntry tlb[TLB_ENTRIES];
    u64 sig_x0;      // X0 just before a signal handler was entered (for --strace)
    u32 sig_entered; // a handler was entered during the current syscall
    u32 bus;         // the last failed fault-in touched a page past a mapped file's end
    u32 pte_ro;      // the last fault-in's entry is in a shared leaf table: no write through it
    u64 code_vpn;    // page of the cached code pointer + 1 (0 = invalid)
    const u8* code;  // host pointer to the current code page (frame_base)
    u32 code_il;     // ... whose frame is interleaved
    u16* code_ids;   // decode-cache entries of the current code page, or 0 (MachineHdr::dcache, dcache_map)
    u32 code_t2;     // ... which is a template frame: profiled and translated (tier 2)
    u32 split;       // steps of this core_run call at which the lanes running together
                     // went different ways (MachineHdr::split_steps)
    u32 t2miss;      // translated accesses of this core_run call that missed their
                     // region's soft-TLB entry (MachineHdr::t2_misses)
    u64 t2grp;       // -DGPUOS_T2_GROUP_STATS: translated instructions of this core_run
                     // call counted once per group of lanes (tier2.h T2_GROUP)
    u32 user;        // a spare lane's user mode: stop before anything the task's own
                     // lane must do (kernel/proc/spare.h)
    u32 parked;      // user mode: the task blocked in a futex wait served here, at the
                     // end of the last core_run (kernel/sys/futex.h `futex_user`)
    u32 runq_home;   // a spare lane's own shard of the run queue (mod the shards) ...
    u32 runq_steal;  // ... and the other shard it last took from (kernel/proc/spare.h)
};

/// Bring the tasks of g's address space home from the spare lanes before a change they
/// must not see (kernel/proc/spare.h).
GFN_NOINLINE void space_quiesce(MachineHdr* m, Proc* g);

// ---- general registers (Arm ARM: X[], SP[]; register 31 is XZR or SP by context) ----

GFN u64 X(Core& c, u32 n) { return n == 31 ? 0 : c.s.x[n]; }
GFN u32 W(Core& c, u32 n) { return (u32)X(c, n); }
GFN u64 XSP(Core& c, u32 n) { return c.s.x[n]; }
GFN void setX(Core& c, u32 n, u64 v) { if (n != 31) c.s.x[n] = v; }
GFN void setW(Core& c, u32 n, u32 v) { if (n != 31) c.s.x[n] = v; }
GFN void setXSP(Core& c, u32 n, u64 v) { c.s.x[n] = v; }
/// Read register n as a 64-bit (sf=1) or 32-bit zero-extended (sf=0) value, XZR for 31.
GFN u64 R(Core& c, u32 sf, u32 n) { return sf ? X(c, n) : (u64)W(c, n); }
/// Write register n as 64-bit or 32-bit (zero-extended), XZR for 31.
GFN void setR(Core& c, u32 sf, u32 n, u64 v) { setX(c, n, sf ? v : (u64)(u32)v); }

// ---- flags ---------------------------------------------------------------------------

#define NZCV_N (1ull << 31)
#define NZCV_Z (1ull << 30)
#define NZCV_C (1ull << 29)
#define NZCV_V (1ull << 28)
GFN bool flagN(Core& c) { return (c.s.nzcv & NZCV_N) != 0; }
GFN bool flagZ(Core& c) { return (c.s.nzcv & NZCV_Z) != 0; }
GFN bool flagC(Core& c) { return (c.s.nzcv & NZCV_C) != 0; }
GFN bool flagV(Core& c) { return (c.s.nzcv & NZCV_V) != 0; }
/// The NZCV word (bits 31..28, as `MRS Xt, NZCV` reads it) of four flags.
GFN u64 nzcv_word(bool n, bool z, bool cf, bool v) {
    return (n ? NZCV_N : 0) | (z ? NZCV_Z : 0) | (cf ? NZCV_C : 0) | (v ? NZCV_V : 0);
}
GFN void setNZCV(Core& c, bool n, bool z, bool cf, bool v) { c.s.nzcv = nzcv_word(n, z, cf, v); }
/// ConditionHolds() from the Arm ARM (shared/functions/system/ConditionHolds) over an
/// NZCV word (tier 2 keeps one in a local).
GFN bool cond_holds_w(u64 nzcv, u32 cond) {
    bool n = (nzcv & NZCV_N) != 0, z = (nzcv & NZCV_Z) != 0;
    bool cf = (nzcv & NZCV_C) != 0, v = (nzcv & NZCV_V) != 0;
    bool r;
    switch (cond >> 1) {
    case 0: r = z; break;
    case 1: r = cf; break;
    case 2: r = n; break;
    case 3: r = v; break;
    case 4: r = cf && !z; break;
    case 5: r = n == v; break;
    case 6: r = n == v && !z; break;
    default: r = true; break;
    }
    if ((cond & 1) && cond != 15) r = !r;
    return r;
}
/// ConditionHolds() over the flags of c.
GFN bool cond_holds(Core& c, u32 cond) { return cond_holds_w(c.s.nzcv, cond); }

// ---- vector registers ------------------------------------------------------------------

GFN u64 V_lo(Core& c, u32 n) { return c.s.v[2 * n]; }
GFN u64 V_hi(Core& c, u32 n) { return c.s.v[2 * n + 1]; }
GFN void setV(Core& c, u32 n, u64 lo, u64 hi) { c.s.v[2 * n] = lo; c.s.v[2 * n + 1] = hi; }

// ---- exceptions ------------------------------------------------------------------------

/// Raise a synchronous signal for the current instruction; the lane stops after it.
GFN void raise_signal(Core& c, i32 sig, u64 addr) {
    if (c.exc == EXC_NONE || c.exc == EXC_SVC) {
        c.exc = EXC_SIGNAL;
        c.sig = sig;
        c.fault_addr = addr;
    }
}
/// Unallocated or unimplemented encoding: SIGILL (Arm ARM: UNDEFINED).
GFN void undef(Core& c) { raise_signal(c, SIG_ILL, c.pc); }
