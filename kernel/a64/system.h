// System instructions available at EL0 under Linux: hints, barriers, CLREX, DC/IC cache
// maintenance (SYS), MRS/MSR of the EL0-accessible system registers and of the ID
// registers that Linux emulates for user space.
// Arm ARM (DDI 0487) chapters C5 and C6.
#pragma once
#include "../mm/mm.h"
#include "a64_common.h"
#if !defined(__CUDACC_RTC__) && !defined(__CUDA_ARCH__)
#include <time.h>
#endif

/// Monotonic nanoseconds: CLOCK_MONOTONIC on the host, %globaltimer on the GPU.
GFN u64 host_clock_ns(Core& c) {
    (void)c;
#if defined(__CUDA_ARCH__)
    u64 t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
#endif
}

// Values reported for the identification registers: a Cortex-A57 r1p0, like
// `qemu-aarch64 -cpu cortex-a57`, as Linux shows them to user space.
#define SYSREG_MIDR 0x411fd070ull      // MIDR_EL1: Arm, Cortex-A57 r1p0
#define SYSREG_MPIDR 0x80000000ull     // MPIDR_EL1 as Linux emulates it (RES1 only)
#define SYSREG_CTR 0x8444c004ull       // CTR_EL0: 64-byte lines, VIPT, IDC/DIC 0
#define SYSREG_DCZID 4ull              // DCZID_EL0: DC ZVA permitted, 64-byte blocks
#define SYSREG_CNTFRQ 62500000ull      // CNTFRQ_EL0: 62.5 MHz (CNTVCT = ns / 16)
#define SYSREG_ID_AA64PFR0 0x11ull     // EL0/EL1 AArch64, FP and AdvSIMD implemented
#define SYSREG_ID_AA64ISAR0 0x10000ull // CRC32 only (no AES/SHA/atomics)
#define FPCR_MASK 0x07f70000ull        // AHP DN FZ RMode Stride Len; trap enables RAZ/WI (as A57)
#define FPSR_MASK 0xf800009full        // NZCV QC IDC IXC UFC OFC DZC IOC

/// System register key: o0:op1:CRn:CRm:op2 (bits 19..5 of MRS/MSR), op0 = 2 + o0.
#define SYSREG(op0, op1, crn, crm, op2) \
    ((((op0) & 1) << 14) | ((op1) << 11) | ((crn) << 7) | ((crm) << 3) | (op2))

/// Arm ARM HINT space (NOP, YIELD, WFE, WFI, SEV, SEVL, ESB, PSB, CSDB,
/// PACIASP/AUTIASP and the other PAuth hints, BTI, ...): all execute as NOP, which is
/// what an Armv8.0 core does with them.
HANDLER void HINT(Core& c, u32 crm, u32 op2) { (void)c; (void)crm; (void)op2; }

/// Arm ARM CLREX, DSB, DMB, ISB.
/// Lanes share writable memory (MAP_SHARED pages, kernel/a64/ldst.h), so DMB and DSB
/// are a device-scope fence where they do (`fence_shared`): this lane's accesses
/// before it are seen by every other lane before those after it. ISB drops the cached code page so that new code is
/// fetched afresh.
HANDLER void BARRIER(Core& c, u32 crm, u32 op2) {
    (void)crm;
    switch (op2) {
    case 2: c.s.excl_addr = 0; c.s.excl_size = 0; return;  // CLREX: ClearExclusiveLocal
    case 4: fence_shared(c); return;                        // DSB (also SSBB, PSSBB)
    case 5: fence_shared(c); return;                        // DMB
    case 6: c.code_vpn = 0; return;                         // ISB
    default: undef(c); return;                              // SB (v8.5), DSB nXS, ...
    }
}

/// Arm ARM SYS: the EL0 cache maintenance operations. DC ZVA zeroes the
/// aligned 64-byte block (a store: permission-checked). DC CVAC/CVAU/CVAP/CVADP/CIVAC
/// and IC IVAU are no-ops (memory is coherent); IC IVAU also drops the code page cache.
HANDLER void SYS(Core& c, u32 op1, u32 crn, u32 crm, u32 op2, u32 t) {
    if (op1 != 3 || crn != 7 || op2 != 1) { undef(c); return; }
    switch (crm) {
    case 4: {  // DC ZVA
        u64 a = X(c, t) & ~63ull;
        for (int i = 0; i < 8 && !faulted(c); i++) st64(c, a + 8 * i, 0);
        return;
    }
    case 5: c.code_vpn = 0; return;  // IC IVAU
    case 10: case 11: case 12: case 13: case 14: return;  // DC CVAC/CVAU/CVAP/CVADP/CIVAC
    default: undef(c); return;
    }
}

/// Arm ARM MSR (register): NZCV, FPCR, FPSR, TPIDR_EL0. Everything else is
/// UNDEFINED at EL0 (or read-only).
HANDLER void MSR_reg(Core& c, u32 sr, u32 t) {
    u64 v = X(c, t);
    switch (sr) {
    case SYSREG(3, 3, 4, 2, 0): c.s.nzcv = v & 0xf0000000ull; return;
    case SYSREG(3, 3, 4, 4, 0): c.s.fpcr = v & FPCR_MASK; return;
    case SYSREG(3, 3, 4, 4, 1): c.s.fpsr = v & FPSR_MASK; return;
    case SYSREG(3, 3, 13, 0, 2): c.s.tpidr_el0 = v; return;
    default: undef(c); return;
    }
}

/// Arm ARM MRS. The ID register space (op0=3, op1=0, CRn=0, CRm=0 or 2..7) is
/// emulated as Linux does (arch/arm64/kernel/cpufeature.c: emulate_sys_reg): MIDR,
/// MPIDR, REVIDR (0), the tracked ID_AA64* registers, and 0 for the other ones.
HANDLER void MRS(Core& c, u32 sr, u32 t) {
    u64 v;
    switch (sr) {
    case SYSREG(3, 3, 4, 2, 0): v = c.s.nzcv & 0xf0000000ull; break;
    case SYSREG(3, 3, 4, 4, 0): v = c.s.fpcr; break;
    case SYSREG(3, 3, 4, 4, 1): v = c.s.fpsr; break;
    case SYSREG(3, 3, 13, 0, 2): v = c.s.tpidr_el0; break;
    case SYSREG(3, 3, 13, 0, 3): v = 0; break;  // TPIDRRO_EL0: Linux keeps 0 for user space
    case SYSREG(3, 3, 0, 0, 1): v = SYSREG_CTR; break;
    case SYSREG(3, 3, 0, 0, 7): v = SYSREG_DCZID; break;
    case SYSREG(3, 3, 14, 0, 0): v = SYSREG_CNTFRQ; break;
    case SYSREG(3, 3, 14, 0, 1):                       // CNTPCT_EL0
    case SYSREG(3, 3, 14, 0, 2): v = host_clock_ns(c) >> 4; break;  // CNTVCT_EL0
    case SYSREG(3, 0, 0, 0, 0): v = SYSREG_MIDR; break;
    case SYSREG(3, 0, 0, 0, 5): v = SYSREG_MPIDR; break;
    case SYSREG(3, 0, 0, 0, 6): v = 0; break;  // REVIDR_EL1
    case SYSREG(3, 0, 0, 4, 0): v = SYSREG_ID_AA64PFR0; break;
    case SYSREG(3, 0, 0, 6, 0): v = SYSREG_ID_AA64ISAR0; break;
    default:
        // Other ID registers of CRm 2..7: not tracked or reserved, read as zero.
        if ((sr >> 14) == 1 && ((sr >> 11) & 7) == 0 && ((sr >> 7) & 15) == 0) {
            u32 crm = (sr >> 3) & 15;
            if (crm >= 2 && crm <= 7) { v = 0; break; }
        }
        undef(c);
        return;
    }
    setX(c, t, v);
}
