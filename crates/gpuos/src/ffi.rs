//! The execution core's C entry points (kernel/cpu_api.cpp), compiled into this crate
//! by build.rs. All pointers must point at host memory laid out as in [`crate::abi`].

use crate::abi::{MachineHdr, RingHdr};

extern "C" {
    /// New empty page-table root in the template; `u64::MAX` when out of frames.
    pub fn gpuos_tmpl_new(m: *mut MachineHdr) -> u64;
    /// Map a segment into the template (see kernel/proc/template.h `tmpl_map`).
    pub fn gpuos_tmpl_map(
        m: *mut MachineHdr,
        root: u64,
        va: u64,
        data: *const u8,
        filesz: u64,
        memsz: u64,
        perm: u64,
    ) -> bool;
    /// Reserve lazily allocated memory in the template (the stack).
    pub fn gpuos_tmpl_reserve(m: *mut MachineHdr, root: u64, va: u64, len: u64, perm: u64) -> bool;
    /// Start process `lane` from the template (kernel/proc/proc.h `proc_start`).
    pub fn gpuos_proc_start(m: *mut MachineHdr, lane: u32) -> bool;
    /// Run process `lane` for up to `budget` instructions; returns a `RunResult`.
    pub fn gpuos_proc_run(m: *mut MachineHdr, lane: u32, budget: u64) -> u32;
    /// Producer side of the submission ring (kernel/ring.h).
    pub fn gpuos_ring_push(r: *mut RingHdr, lane: u64) -> bool;
    /// Consumer side of the submission ring.
    pub fn gpuos_ring_pop(r: *mut RingHdr, lane: *mut u64) -> bool;
    /// Reset the ring's cells and counters.
    pub fn gpuos_ring_init(r: *mut RingHdr);
}

/// `gpuos_proc_run` result: the budget ran out.
pub const RUN_BUDGET: u32 = 0;
/// `gpuos_proc_run` result: a host request is posted.
pub const RUN_HOSTWAIT: u32 = 1;
/// `gpuos_proc_run` result: the process ended.
pub const RUN_DONE: u32 = 2;
/// PTE permission bits (kernel/mm/mm.h).
pub const PTE_R: u64 = 2;
/// Writable.
pub const PTE_W: u64 = 4;
/// Executable.
pub const PTE_X: u64 = 8;
