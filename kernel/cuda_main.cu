// The CUDA backend's kernels: the execution core compiled by NVRTC. One guest process
// per GPU thread (lane). See crates/gpuos/src/backend/cuda.rs for the host side.
#include "exec.h"
#include "ring.h"

GFN u32 lane_id() { return blockIdx.x * blockDim.x + threadIdx.x; }

// Lanes per block (BLOCK in crates/gpuos/src/backend/cuda.rs) and the blocks per
// multiprocessor the register budget must allow: 4 x 128 threads leave each lane 128
// registers (65536 per SM). Without the bound the compiler takes a few more and only
// 3 blocks fit.
#define LANES_PER_BLOCK 128
#define MIN_BLOCKS_PER_SM 4

/// Start every process: clone the template, copy in the initial stack.
extern "C" __global__ void gpuos_start(MachineHdr* m) {
    u32 lane = lane_id();
    if (lane < m->nprocs) proc_start(m, lane);
}

/// Longest sleep between two polls of a waiting lane, in nanoseconds.
#define WAIT_BACKOFF_MAX 2048u

/// Wait until the host completed this lane's latest request, or the machine stops.
/// With the completion poller running (m->comp), the lane watches its own counter in
/// device memory (an L2 read); otherwise it reads SysReq::done across PCIe.
__device__ bool wait_host(Core& c) {
    MachineHdr* m = c.m;
    Proc* p = c.p;
    u32 backoff = 32;
    for (u32 i = 1;; i++) {
        // Every 1024th poll also reads SysReq::done itself, so that a lane never
        // depends on the poller alone (a poller that could not run would otherwise
        // stall every lane forever).
        bool done = m->comp && (i & 1023) ? *(volatile u64*)&p->host_done == p->req_seq
                                          : host_req_done(c);
        if (done) break;
        if (*(volatile u32*)&m->stop) return false;
        __nanosleep(backoff);
        if (backoff < WAIT_BACKOFF_MAX) backoff *= 2;
    }
    atomic_fence();  // acquire: the host's answer (in host memory) is read after this
    return true;
}

/// Quantum mode: run each runnable lane for `budget` instructions, then return; the host
/// serves posted requests between launches.
extern "C" __global__ void __launch_bounds__(LANES_PER_BLOCK, MIN_BLOCKS_PER_SM)
gpuos_quantum(MachineHdr* m, u64 budget) {
    u32 lane = lane_id();
    if (lane >= m->nprocs) return;
    Proc* p = (Proc*)(uintptr_t)m->procs + lane;
    if (p->status != PROC_RUNNABLE && p->status != PROC_WAIT_HOST) return;
    Core c;
    core_load(c, m, p);
    if (p->status == PROC_WAIT_HOST) {
        if (!host_req_done(c)) return;
        sys_complete_host(c);
    }
    core_run(c, budget);
}

/// Persistent mode: each lane runs its process to the end; host syscalls go through the
/// submission ring and the lane waits for the completion while the others run on.
extern "C" __global__ void __launch_bounds__(LANES_PER_BLOCK, MIN_BLOCKS_PER_SM)
gpuos_persistent(MachineHdr* m, u64 slice) {
    u32 lane = lane_id();
    if (lane >= m->nprocs) return;
    Proc* p = (Proc*)(uintptr_t)m->procs + lane;
    RingHdr* ring = (RingHdr*)(uintptr_t)m->ring;
    Core c;
    core_load(c, m, p);
    while (p->status == PROC_RUNNABLE || p->status == PROC_WAIT_HOST) {
        if (p->status == PROC_WAIT_HOST) {
            if (!wait_host(c)) break;
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

/// Longest sleep of the completion poller between two empty polls, in nanoseconds.
#define POLL_BACKOFF_MAX 512u

/// The completion poller: one warp, launched before gpuos_persistent on its own stream,
/// that consumes the completion ring (m->comp) in batches of up to 32 and bumps each
/// completed lane's Proc::host_done. One warp reading 32 cells in one go replaces every
/// waiting lane polling host memory across PCIe. Ends when no process is left or the
/// machine stops.
extern "C" __global__ void gpuos_poller(MachineHdr* m) {
    RingHdr* r = (RingHdr*)(uintptr_t)m->comp;
    Proc* procs = (Proc*)(uintptr_t)m->procs;
    u32 t = threadIdx.x & 31;
    u32 backoff = 0;
    for (;;) {
        if (*(volatile u64*)&m->live == 0 || *(volatile u32*)&m->stop) return;
        u64 pos = *(volatile u64*)&r->deq + t;
        RingCell* cell = ring_cell(r, pos);
        bool ready = *(volatile u64*)&cell->seq == pos + 1;
        u32 ready_mask = __ballot_sync(0xffffffffu, ready);
        u32 n = ready_mask == 0xffffffffu ? 32 : (u32)(__ffs(~ready_mask) - 1);  // in order
        if (n == 0) {
            if (backoff) __nanosleep(backoff);
            backoff = backoff < POLL_BACKOFF_MAX ? backoff * 2 + 32 : POLL_BACKOFF_MAX;
            continue;
        }
        backoff = 0;
        atomic_fence();  // acquire: each cell's payload is read after its sequence number
        u64 lane = t < n ? *(volatile u64*)&cell->lane : 0;
        atomic_fence();  // the payload is read before the cell is handed back
        if (t < n) *(volatile u64*)&cell->seq = pos + r->capacity;
        // The hand-back reaches host memory before the lane can run and post again.
        atomic_fence();
        if (t < n) atomicAdd((unsigned long long*)&procs[lane].host_done, 1ull);
        __syncwarp();
        if (t == 0) *(volatile u64*)&r->deq = pos + n;
        __syncwarp();
    }
}
