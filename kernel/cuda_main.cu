// The CUDA backend's kernels: the execution core compiled by NVRTC. One guest process
// per GPU thread (lane). See crates/gpuos/src/backend/cuda.rs for the host side.
#include "exec.h"
#include "ring.h"

GFN u32 lane_id() { return blockIdx.x * blockDim.x + threadIdx.x; }

/// Start every process: clone the template, copy in the initial stack.
extern "C" __global__ void gpuos_start(MachineHdr* m) {
    u32 lane = lane_id();
    if (lane < m->nprocs) proc_start(m, lane);
}

/// Wait until the host completed this lane's request, or the machine stops.
__device__ bool wait_host(MachineHdr* m, SysReq* r) {
    u32 backoff = 32;
    while (load_acquire_u64(&r->done) != r->seq) {
        if (*(volatile u32*)&m->stop) return false;
        __nanosleep(backoff);
        if (backoff < 4096) backoff *= 2;
    }
    return true;
}

/// Quantum mode: run each runnable lane for `budget` instructions, then return; the host
/// serves posted requests between launches.
extern "C" __global__ void gpuos_quantum(MachineHdr* m, u64 budget) {
    u32 lane = lane_id();
    if (lane >= m->nprocs) return;
    Proc* p = (Proc*)(uintptr_t)m->procs + lane;
    if (p->status != PROC_RUNNABLE && p->status != PROC_WAIT_HOST) return;
    Core c;
    core_load(c, m, p);
    if (p->status == PROC_WAIT_HOST) {
        SysReq* r = lane_req(c);
        if (load_acquire_u64(&r->done) != r->seq) return;
        sys_complete_host(c);
    }
    core_run(c, budget);
}

/// Persistent mode: each lane runs its process to the end; host syscalls go through the
/// submission ring and the lane waits for the completion while the others run on.
extern "C" __global__ void gpuos_persistent(MachineHdr* m, u64 slice) {
    u32 lane = lane_id();
    if (lane >= m->nprocs) return;
    Proc* p = (Proc*)(uintptr_t)m->procs + lane;
    RingHdr* ring = (RingHdr*)(uintptr_t)m->ring;
    Core c;
    core_load(c, m, p);
    while (p->status == PROC_RUNNABLE || p->status == PROC_WAIT_HOST) {
        if (p->status == PROC_WAIT_HOST) {
            SysReq* r = lane_req(c);
            if (!wait_host(m, r)) break;
            sys_complete_host(c);
        }
        if (*(volatile u32*)&m->stop) break;
        c.exc = EXC_NONE;
        u32 res = core_run(c, slice);
        if (res == RUN_HOSTWAIT) {
            if (!ring_push(ring, lane)) break;
        }
    }
    core_save(c);
}
