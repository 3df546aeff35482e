// The CUDA backend's kernels: the execution core compiled by NVRTC. One GPU thread
// (lane) per family of guest processes: the lane's first process and its descendants,
// run in turn by the family scheduler (kernel/sched.h). See
// crates/gpuos/src/backend/cuda/ for the host side.
#include "sched.h"
#include "ring.h"

GFN u32 lane_id() { return blockIdx.x * blockDim.x + threadIdx.x; }

// Lanes per block (BLOCK in crates/gpuos/src/backend/cuda/mod.rs) and the blocks per
// multiprocessor the register budget must allow: 4 x 128 threads leave each lane 128
// registers (65536 per SM). Without the bound the compiler takes a few more and only
// 3 blocks fit.
// -DMIN_BLOCKS_PER_SM=N (GPUOS_NVRTC_OPTS) trades registers for resident warps, to
// measure whether more warps per SM hide more latency than the spills cost.
#define LANES_PER_BLOCK 128
#ifndef MIN_BLOCKS_PER_SM
#define MIN_BLOCKS_PER_SM 4
#endif

/// Read the device clock once into `*out`: the host brackets this kernel with its own
/// clock to measure the offsets the device clocks use (backend/clock.rs).
extern "C" __global__ void gpuos_clock(u64* out) { *out = now_ns(); }

/// Start every lane's first process: clone the template, copy in the initial stack.
extern "C" __global__ void gpuos_start(MachineHdr* m) {
    u32 lane = lane_id();
    if (lane < m->nprocs) proc_start(m, lane);
}

/// Longest sleep between two polls of a waiting lane, in nanoseconds (-D overrides it:
/// a measuring knob for the round trip's last stage, poller -> lane resumed).
#ifndef WAIT_BACKOFF_MAX
#define WAIT_BACKOFF_MAX 1024u
#endif

/// Acquire for a lane that saw its request completed: the answer (the poller's
/// Proc::host_ret/host_out_len, the host's SysReq and output bytes) is read after this.
/// `polled`: the lane saw the poller's count in device memory, not SysReq::done.
/// -DGPUOS_RT_DEV_ACQUIRE (a variant to measure) fences at device scope then: the
/// poller acquired the host's writes at system scope before its device-scope release,
/// and the PTX memory model's causality order is transitive across the two (the
/// poller observed them before its release), so what the host wrote is visible to a
/// lane that synchronises with the poller.
__device__ void lane_acquire(bool polled) {
#ifdef GPUOS_RT_DEV_ACQUIRE
    if (polled) {
        atomic_fence_dev();
        return;
    }
#else
    (void)polled;
#endif
    atomic_fence();
}

/// Wait until the host completed this lane's latest request, or the machine stops.
/// With the completion poller running (m->comp), the lane watches its own counter in
/// device memory (an L2 read); otherwise it reads SysReq::done across PCIe. `*polled`
/// tells whether the poller delivered the completion: then the result is in the lane's
/// first Proc (host_ret, host_out_len, written before host_done was bumped) and
/// sys_complete_host reads no host memory but the output bytes.
__device__ bool wait_host(MachineHdr* m, Proc* lp, bool* polled) {
    u32 backoff = 32;
    for (u32 i = 1;; i++) {
        // Every 1024th poll also reads SysReq::done itself, so that a lane never
        // depends on the poller alone (a poller that could not run would otherwise
        // stall every lane forever).
        bool via_poller = m->comp && (i & 1023);
        bool done = via_poller ? *(volatile u64*)&lp->host_done == lp->req_seq : host_req_done(m, lp);
        if (done) {
            *polled = via_poller;
            break;
        }
        if (*(volatile u32*)&m->stop) return false;
        __nanosleep(backoff);
        if (backoff < WAIT_BACKOFF_MAX) backoff *= 2;
    }
    lane_acquire(*polled);
    return true;
}

/// Longest sleep of a lane whose whole family is blocked, between two retries, in
/// nanoseconds (the blocked syscalls run again after each sleep).
#define IDLE_BACKOFF_MAX 262144u

/// Quantum mode: run each lane's family for about `budget` instructions, then return;
/// the host serves posted requests between launches.
extern "C" __global__ void __launch_bounds__(LANES_PER_BLOCK, MIN_BLOCKS_PER_SM)
gpuos_quantum(MachineHdr* m, u64 budget) {
    u32 lane = lane_id();
    // Threads past the last lane only vote (below).
    bool live = lane < m->nprocs;
    Proc* lp = proc_at(m, live ? lane : 0);
    Core c;
    c.p = 0;
    // A few slices, so that a member that blocks at once leaves the rest of the quantum
    // to the others.
    for (int k = 0; k < 4; k++) {
        if (live && lp->req_open) {
            if (host_req_done(m, lp)) lane_complete(c, m, lane, false);
            else live = false;
        }
        // The warp's lanes that go on enter the slice together, as the persistent
        // kernel's do: without the vote a lane whose last slice ended apart from the
        // others' (lanes with a seed each) entered the next one alone, core_run's group
        // was that lane only, and it ran its whole slice so (ncu, CoreMark a seed per
        // lane, 16,384 lanes: 1.16 active threads per warp instruction).
        u32 go = __ballot_sync(0xffffffffu, live);
        if (!go) return;
        if (!live) continue;
        __syncwarp(go);
        u64 b = budget;
#ifdef GPUOS_STAGGER_INSNS
        // Measuring aid (docs/BENCHMARKS.md, eighteenth session): each warp's first slice
        // of a launch is shorter by an amount of its own, below GPUOS_STAGGER_INSNS, so
        // that the warps of the grid drift out of phase over the launches, as they do
        // within a long one. If short launches then lose what long ones lose, the warps'
        // phase is what a launch resets.
        // With GPUOS_STAGGER_BY_BLOCK the four warps of a block (of an SM, at 16,384 lanes)
        // keep one phase and only the blocks drift apart; with GPUOS_STAGGER_IN_BLOCK the
        // blocks keep one phase and the warps of each drift apart: whether what the phase
        // shares is the SM's (its instruction cache) or the GPU's (L2).
#if defined(GPUOS_STAGGER_BY_BLOCK)
        u32 who = blockIdx.x;
#elif defined(GPUOS_STAGGER_IN_BLOCK)
        u32 who = threadIdx.x / 32;
#else
        u32 who = blockIdx.x * 4 + threadIdx.x / 32;
#endif
        if (k == 0) b -= (who * 2654435761u) % (u32)(GPUOS_STAGGER_INSNS) % budget;
#endif
        u32 r = lane_run(c, m, lane, b);
        if (r != LANE_BUDGET) live = false;
    }
}

/// One look, without waiting, at whether the host completed the lane's latest request
/// (the `i`-th look since the lane started). With the completion poller running
/// (m->comp) the lane reads its own counter in device memory (an L2 read), except every
/// 1024th look, which reads SysReq::done across PCIe itself, so that a lane never
/// depends on the poller alone. `*polled` tells whether the poller delivered the
/// completion (see wait_host).
__device__ bool host_done_now(MachineHdr* m, Proc* lp, u32 i, bool* polled) {
    bool via_poller = m->comp && (i & 1023);
    bool done = via_poller ? *(volatile u64*)&lp->host_done == lp->req_seq : host_req_done(m, lp);
    if (!done) return false;
    *polled = via_poller;
#ifdef GPUOS_RT_SPLIT
    u64 t0 = now_ns();
#endif
    lane_acquire(via_poller);
#ifdef GPUOS_RT_SPLIT
    lp->rt_complete_ns += now_ns() - t0;
#endif
    return true;
}

/// How long, in nanoseconds, the lanes of a warp that are ready to run wait for the
/// warp's other live lanes to get their host requests answered, so that all of them
/// run the next stretch together (GATHER_NS in GPUOS_NVRTC_OPTS overrides it). Above
/// the round trip (about 20 us), below what a lane blocked in a slow host call (a
/// sleep, a read of a terminal) should cost the others per request.
#ifndef GATHER_NS
#define GATHER_NS 50000u
#endif

/// Longest wait of gather_wait, in nanoseconds.
#ifndef GATHER_MAX_NS
#define GATHER_MAX_NS 20000000u
#endif

/// How long the ready lanes of a warp wait for its other live lanes' host answers (all
/// lanes of the warp call it together; `rtt`: how long this lane waited for the answer
/// that made it ready, in nanoseconds, or 0): GATHER_NS, or as long as the slowest of
/// them waited, up to GATHER_MAX_NS. A warp's lanes post their requests together, so when
/// the host is busy (tens of thousands of lanes asking at once, each answer taking
/// milliseconds) their answers come back spread over about a round trip, far longer
/// than GATHER_NS; lanes that ran on without the rest would split the warp, and the
/// late ones would wait a whole slice for it. This bound applies while one of the
/// lanes not ready waits in a call that may block (host_call_may_block); otherwise they
/// wait up to GATHER_QUICK_NS. A lane blocked in a slow call (a sleep, a read of a
/// terminal) still costs the others at most GATHER_NS after a quick answer.
__device__ u64 gather_wait(u64 rtt) {
    u32 us = (u32)min(rtt / 1000, (u64)GATHER_MAX_NS / 1000);
#if __CUDA_ARCH__ >= 800
    us = __reduce_max_sync(0xffffffffu, us);
#else
    for (u32 d = 16; d; d >>= 1) us = max(us, __shfl_xor_sync(0xffffffffu, us, d));
#endif
    return max((u64)GATHER_NS, (u64)us * 1000);
}

/// How long a warp's ready lanes wait for the others when every one of those waits for
/// a host call that comes back by itself in bounded time (`!host_call_may_block`): the
/// host is then only busy, and at 65,536 lanes it answers a burst of requests over
/// tens of milliseconds.
#ifndef GATHER_QUICK_NS
#define GATHER_QUICK_NS 200000000u
#endif

/// Whether host call `nr` (a syscall of kernel/sys/syscalls.table, or one of gpuos's own
/// requests) may wait for something outside the process: another process, a peer, a
/// terminal, a timer (reads and writes of pipes, sockets and terminals, polls, sleeps,
/// locks). The others (file metadata, opens, gpuos's own requests, ...) come back as
/// soon as the host serves them.
__device__ bool host_call_may_block(u64 nr) {
    switch (nr) {
    case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
    case SYS_sendfile: case SYS_splice: case SYS_sendto: case SYS_recvfrom:
    case SYS_pselect6: case SYS_ppoll: case SYS_epoll_pwait: case SYS_epoll_pwait2:
    case SYS_nanosleep: case SYS_clock_nanosleep:
    case SYS_fcntl: case SYS_flock:  // F_SETLKW, LOCK_EX
        return true;
    default:
        return false;
    }
}

/// After a slice in which the lane's whole family was blocked: sleep, longer each time
/// nothing moves (a pipe's other end may be the host's), so that the blocked calls
/// retry after it. `idle` is the lane's current back-off.
__device__ void family_idle(Proc* lp, u32 res, u64 progress, u32* idle) {
    if (res == LANE_AWAY) {  // its tasks run on spare lanes and hand back syscalls
        __nanosleep(1024);
    } else if (res == LANE_IDLE) {
        *idle = *idle ? (*idle < IDLE_BACKOFF_MAX ? *idle * 2 : *idle) : 1024;
        __nanosleep(*idle);
    } else if (lp->progress != progress) {
        *idle = 0;
    }
}

/// Longest sleep of a spare lane with nothing offered, in nanoseconds.
#define SPARE_BACKOFF_MAX 65536u

/// A spare lane of the persistent kernel (kernel/proc/spare.h): run the tasks the lanes
/// offer until no process is left, or the machine stops (a task it holds goes home
/// first: a relaunch finds every task with its lane). `id`: the spare lane's number,
/// which picks its shard of the run queue.
__device__ void spare_loop(MachineHdr* m, u32 id) {
    Core c;
    c.p = 0;
    c.user = 1;
    c.runq_home = c.runq_steal = id;
    u32 backoff = 0;
    for (;;) {
        if (*(volatile u64*)&m->live == 0) break;
        if (*(volatile u32*)&m->stop && !c.p) break;
        if (spare_run(c, m, m->spare_slice) == SPARE_IDLE) {
            backoff = backoff ? min(backoff * 2, SPARE_BACKOFF_MAX) : 256;
            __nanosleep(backoff);
        } else {
            backoff = 0;
        }
    }
}

/// Push lane's posted request to the submission ring, timing posted -> pushed in its
/// first Proc (rt_push_ns, reported by `gpuos run -v`). False when the ring is closed.
/// With the completion poller (`m->comp`) the request was pushed when it was posted
/// (kernel/sys/marshal.h `req_publish`): nothing to do.
__device__ bool post_lane(RingHdr* ring, MachineHdr* m, u32 lane) {
    if (m->comp) return true;
    bool ok = ring_push(ring, lane);
    Proc* lp = proc_at(m, lane);
    lp->rt_push_ns += rt_since(lp->rt_posted_at);
    return ok;
}

/// Persistent mode: each lane runs its family to the end; host syscalls go through the
/// submission ring and the lane waits for the completion while the others run on.
///
/// The lanes of a warp run together (converged): a warp executes one instruction
/// stream for all its lanes at once, so 32 copies of a program in step cost what one
/// costs, while lanes that drift apart are executed one after another. Copies of one
/// program drift apart at every host syscall, whose answers come back at different
/// times. So the warp decides together (votes over all 32 threads, the ended ones
/// included) and runs its ready lanes only when every live lane is ready, or when the
/// ready ones have waited GATHER_NS for the rest. Lanes whose programs really differ
/// lose at most that wait per request. -DGPUOS_INDEPENDENT_LANES is the former loop,
/// where each lane runs as soon as its own answer is in, for comparison.
extern "C" __global__ void __launch_bounds__(LANES_PER_BLOCK, MIN_BLOCKS_PER_SM)
gpuos_persistent(MachineHdr* m, u64 slice) {
    u32 lane = lane_id();
    // Spare lanes: whole blocks after the lanes' last (backend/cuda/run.rs), so that no
    // warp mixes lanes, which vote together below, with spare lanes.
    u32 spare_base = (u32)((m->nprocs + LANES_PER_BLOCK - 1) / LANES_PER_BLOCK * LANES_PER_BLOCK);
    if (m->spare_lanes && lane >= spare_base) {
        // One spare lane every spare_stride threads (one per warp where there is room):
        // the threads between return at once and leave their warp's issue slots to it.
        u32 k = lane - spare_base, stride = m->spare_stride ? (u32)m->spare_stride : 1u;
        if (k % stride == 0 && k / stride < m->spare_lanes) spare_loop(m, k / stride);
        return;
    }
    // The lane's submission ring (backend/cuda/rings.rs): with several, the rings take
    // whole warps in turn, so that the requests a warp posts together stay in one ring,
    // in order, and are answered about together (its ready lanes wait for its last).
    RingHdr* ring = lane_ring(m, lane);
    Core c;
    c.p = 0;  // nothing loaded yet (core_resume)
    u32 idle = 0;
#ifdef GPUOS_INDEPENDENT_LANES
    if (lane >= m->nprocs) return;
    Proc* lp = proc_at(m, lane);
    for (;;) {
        if (lp->req_open) {
            bool polled = false;
            if (!wait_host(m, lp, &polled)) break;
            lane_complete(c, m, lane, polled);
        }
        if (*(volatile u32*)&m->stop) break;
        u64 progress = lp->progress;
        u32 res = lane_run(c, m, lane, slice);
        if (res == LANE_DONE) break;
        if (res == LANE_HOSTWAIT && !post_lane(ring, m, lane)) break;
        family_idle(lp, res, progress, &idle);
    }
#else
    const u32 all = 0xffffffffu;
    bool live = lane < m->nprocs;  // threads past the last lane only vote
    Proc* lp = proc_at(m, live ? lane : 0);
    u32 looks = 0, backoff = 32;
    u64 gather_from = 0, gather_ns = GATHER_NS, rtt = 0;
    for (;;) {
        bool ready = live;
        if (live && lp->req_open) {
            bool polled = false;
            ready = host_done_now(m, lp, ++looks, &polled);
            if (ready) {
                u64 posted = *(volatile u64*)&lp->rt_posted_at;  // completing may post again
                u64 t = now_ns();
                rtt = t > posted ? t - posted : 0;
                lane_complete(c, m, lane, polled);
                // A call of several requests (a file mapping's reads, a large write's
                // chunks, an execve's plan) posted its next one while completing: send
                // it now. Left for lane_run, it would wait unsent while this lane waits
                // for the warp's others, and they for it.
                if (lp->req_open) {
                    ready = false;
                    if (!post_lane(ring, m, lane)) live = false;
                }
            }
        }
        u32 live_mask = __ballot_sync(all, live);
        u32 ready_mask = __ballot_sync(all, ready);
        if (live_mask == 0 || __any_sync(all, *(volatile u32*)&m->stop != 0)) break;
        bool go = ready_mask == live_mask;
        if (!go && ready_mask) {
            u64 now = __shfl_sync(all, now_ns(), 0);  // one clock for the whole warp
            if (gather_from == 0) {
                gather_from = now;
                gather_ns = gather_wait(rtt);
            }
            // The lanes not ready are live and wait for a host call.
            bool slow = live && !ready && host_call_may_block(lp->req_nr);
            go = now - gather_from >= (__any_sync(all, slow) ? gather_ns : (u64)GATHER_QUICK_NS);
        }
        // A lane whose family has tasks on spare lanes runs as soon as it is ready,
        // without the warp: what it runs there (the syscalls its tasks hand back, each
        // stopping a spare lane until served) is never in step with the other lanes,
        // and the gather held each hand-back up to GATHER_QUICK_NS while a warp-mate
        // waited for an open or an exec (bb-sh-devpipe at 100 lanes, H100: 7 of 18
        // lines in 50 s with 400 spare lanes, 16 without).
        // -DGPUOS_SPARE_GATHER: the former rule (they gather too), to measure against.
#ifdef GPUOS_SPARE_GATHER
        bool run_now = ready && go;
#else
        bool run_now = ready && (go || lp->fam_away != 0);
#endif
        u32 run_mask = __ballot_sync(all, run_now);
        if (!run_mask) {
            __nanosleep(backoff);
            if (backoff < WAIT_BACKOFF_MAX) backoff *= 2;
            continue;
        }
        if (go) {  // the warp gathered; else only lanes with tasks away run, the rest wait on
            backoff = 32;
            gather_from = 0;
            rtt = 0;
        }
        bool slice_used = false;
        if (run_now) {
            // Together into the slice: the votes above leave the warp converged only as
            // far as the compiler's reconvergence points do, and core_run's meeting
            // points take the lanes that enter together (__activemask) as the group.
            __syncwarp(run_mask);
            u64 progress = lp->progress;
            u64 host_slice = *(volatile u64*)&m->slice;  // the host's, while it runs (abi.rs)
            u32 res = lane_run(c, m, lane, host_slice ? host_slice : slice);
            slice_used = res == LANE_BUDGET;
            if (res == LANE_DONE || (res == LANE_HOSTWAIT && !post_lane(ring, m, lane))) live = false;
            else family_idle(lp, res, progress, &idle);
        }
        // One slice per launch (MachineHdr::slice_once): the warp leaves after a slice,
        // its requests in flight left for the next launch as at a stop. A stop is only
        // seen at a slice's end, so a relaunch by stop waited for second slices begun
        // out of step (CoreMark converged, 16,384 lanes, H100: 166 G/s against 236 in
        // quantum launches of one slice).
        if (__any_sync(all, slice_used) && *(volatile u64*)&m->slice_once) break;
    }
#endif
}

/// Longest sleep of the completion poller between two empty polls, in nanoseconds (-D
/// overrides it, as WAIT_BACKOFF_MAX).
#ifndef POLL_BACKOFF_MAX
#define POLL_BACKOFF_MAX 512u
#endif

/// The completion poller: one warp, launched before gpuos_persistent on its own stream,
/// that consumes the completion ring (m->comp) in batches of up to 32, stores each
/// completed request's result and output length in its lane's Proc (host_ret,
/// host_out_len) and then bumps the lane's Proc::host_done. One warp reading 32 cells
/// in one go replaces every waiting lane polling host memory across PCIe, and the lane
/// then completes its request from device memory. Ends when no process is left or the
/// machine stops.
///
/// Memory order: a host service thread writes the cell's lane, ret and out_len, then
/// stores seq = pos + 1 with release order (kernel/ring.h); the poller reads seq,
/// fences (system scope), reads the payload, stores host_ret/host_out_len, fences
/// (device scope), bumps host_done; the lane sees host_done == req_seq, fences, reads
/// host_ret/host_out_len (wait_host, sys_complete_host).
extern "C" __global__ void gpuos_poller(MachineHdr* m) {
    RingHdr* r = (RingHdr*)(uintptr_t)m->comp;
    // No ring (the empty launch that sizes local memory, or no poller): nothing to read.
    // Reading r->no_wait below first faulted in the quick core (NVRTC -Ofc=max), whose
    // code kept that load ahead of the loop's first test of m->live.
    if (!r) return;
    // With several completion rings (MachineHdr::ncomp) warp w consumes ring w; a lane's
    // answers all go to one ring, so no two warps touch one lane's Proc.
    u64 w = (blockIdx.x * (u64)blockDim.x + threadIdx.x) / 32;
    if (w >= (m->ncomp ? m->ncomp : 1)) return;
    r += w;
    Proc* procs = (Proc*)(uintptr_t)m->procs;
    u32 t = threadIdx.x & 31;
    u32 backoff = 0;
    // With no_wait (always so for this ring: two cells per lane, see kernel/ring.h) no
    // producer ever reads a cell's seq to wait for it, so the cells are not
    // handed back: that saves a write across PCIe and two system fences per batch. The
    // readiness test below stays exact: a consumed cell keeps pos + 1, which is
    // pos' + 1 - capacity for the position pos' = pos + capacity that next uses it, and
    // can never equal pos' + 1.
    bool hand_back = !r->no_wait;
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
        u64 lane = ~0ull, ret = 0, out_len = 0;  // ~0: no entry (matches no real lane)
        if (t < n) {
            lane = *(volatile u64*)&cell->lane;
            ret = *(volatile u64*)&cell->ret;
            out_len = *(volatile u64*)&cell->out_len;
        }
        if (hand_back) {
            atomic_fence();  // the payload is read before the cell is handed back
            if (t < n) *(volatile u64*)&cell->seq = pos + r->capacity;
            // The hand-back reaches host memory before the lane can run and post again.
            atomic_fence();
        }
        // One lane twice in a batch (possible only when the lane completed a request
        // through its own poll of SysReq::done before this warp got to it, then posted
        // the next): only its later entry, in ring order, stores the result.
        u32 peers = __match_any_sync(0xffffffffu, lane);
        if (t < n && (peers >> t) == 1u) {
            *(volatile u64*)&procs[lane].host_ret = ret;
            *(volatile u64*)&procs[lane].host_out_len = out_len;
            procs[lane].rt_poller_ns += rt_since(*(volatile u64*)&procs[lane].rt_posted_at);
        }
        atomic_fence_dev();  // the result is visible before the count that announces it
        if (t < n) atomicAdd((unsigned long long*)&procs[lane].host_done, 1ull);
        __syncwarp();
        if (t == 0) *(volatile u64*)&r->deq = pos + n;
        __syncwarp();
    }
}
