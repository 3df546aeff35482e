// Rings of lane indices (with a result, for completions): D. Vyukov's bounded queue
// with a sequence number per cell.
// A producer reserves a position with a fetch-add on a counter only producers touch,
// waits until the cell is free for that position, writes the payload, and publishes it
// by storing seq = pos + 1 with release order. The one consumer reads cells in order,
// and frees a cell for the producer one lap later by storing seq = pos + capacity. Only
// plain loads and stores with system-scope fences cross PCIe: no atomics on memory of
// the other side. The capacity must be a power of two and at least 2 (with one cell,
// "full" and "free for the next lap" would be the same sequence number).
//
// Two rings use this code on the GPU:
//  - submission: lanes produce (counter in device memory), a host thread consumes;
//  - completion: host service threads produce (counter in host memory), one device
//    warp consumes (kernel/cuda_main.cu, gpuos_poller). Its cells also carry the
//    served request's result and output length (ring_push_result), which the poller
//    hands to the lane in device memory: the lane then reads nothing of its SysReq.
// The submission ring holds at most one entry per lane, and its capacity is at least
// the number of lanes, so a reserved cell is always free (`no_wait`): a cell of the
// previous lap that is not yet consumed would mean `capacity` entries ahead of ours,
// more than there are lanes. The completion ring has two cells per lane: a lane whose
// own poll of SysReq::done (wait_host's fallback) saw a completion before the poller
// did may post and be answered again while its first entry waits. More than one such
// entry per lane needs the poller stalled for milliseconds while the host serves on;
// a lapped cell would then stop the poller, and lanes would finish through their own
// (slow, every 1024th) polls.
// With `no_wait` no producer ever reads `seq` to wait, so the consumer of such a ring
// may skip handing cells back (gpuos_poller does, saving a write across PCIe and two
// system fences): the readiness test `seq == pos + 1` stays exact, because a cell not
// handed back still holds `pos + 1 - capacity` from the previous lap, never `pos + 1`.
#pragma once
#include "rt.h"
#include "gpuos_abi.h"

GFN RingCell* ring_cell(RingHdr* r, u64 pos) { return (RingCell*)(uintptr_t)r->cells + (pos & (r->capacity - 1)); }

/// Reserve the next position and wait until its cell is free; returns the cell, or 0
/// when the consumer has closed the ring (it died or the machine is stopping).
GFN RingCell* ring_reserve(RingHdr* r, u64* pos_out) {
    // Device scope is enough: each ring's producers are all on one side (lanes for the
    // submission ring, whose counter is in device memory; host threads for the
    // completion ring), and the other side never touches the counter.
    u64 pos = atomic_add_u64_dev((u64*)(uintptr_t)r->enq, 1);
    RingCell* cell = ring_cell(r, pos);
    while (!r->no_wait && load_acquire_u64(&cell->seq) != pos) {
        if (load_relaxed_u32(&r->closed)) return 0;
        cpu_relax();
    }
    *pos_out = pos;
    return cell;
}

/// Publish `lane`. Waits while the ring is full; returns false when the consumer has
/// closed the ring (it died or the machine is stopping).
GFN bool ring_push(RingHdr* r, u64 lane) {
    u64 pos;
    RingCell* cell = ring_reserve(r, &pos);
    if (!cell) return false;
    cell->lane = lane;
    store_release_u64(&cell->seq, pos + 1);
    return true;
}

/// Publish `lane` with a completed request's result `ret` and output length `out_len`
/// (the completion ring). The payload is written before the release store of `seq`,
/// so a consumer that saw `seq == pos + 1` and then fenced reads all three intact.
GFN bool ring_push_result(RingHdr* r, u64 lane, u64 ret, u64 out_len) {
    u64 pos;
    RingCell* cell = ring_reserve(r, &pos);
    if (!cell) return false;
    cell->lane = lane;
    cell->ret = ret;
    cell->out_len = out_len;
    store_release_u64(&cell->seq, pos + 1);
    return true;
}

/// Take the next entry, if one is published (single consumer); also its result and
/// output length when `ret` and `out_len` are given (entries of ring_push_result).
GFN bool ring_pop(RingHdr* r, u64* lane, u64* ret = 0, u64* out_len = 0) {
    u64 pos = r->deq;
    RingCell* cell = ring_cell(r, pos);
    if (load_acquire_u64(&cell->seq) != pos + 1) return false;
    *lane = cell->lane;
    if (ret) *ret = cell->ret;
    if (out_len) *out_len = cell->out_len;
    store_release_u64(&cell->seq, pos + r->capacity);
    r->deq = pos + 1;
    return true;
}

/// The submission ring of `lane` (`MachineHdr::ring`): with several, whole warps take
/// them in turn, lane `l` on ring `(l / 32) % nrings`, so that the requests a warp posts
/// together stay in one ring, in order (backend/cuda/rings.rs).
GFN RingHdr* lane_ring(MachineHdr* m, u32 lane) {
    return (RingHdr*)(uintptr_t)m->ring + (m->nrings > 1 ? (lane / 32) % m->nrings : 0);
}

/// Prepare cells: cell i is free for position i.
GFN void ring_init(RingHdr* r) {
    for (u64 i = 0; i < r->capacity; i++) {
        RingCell* cell = (RingCell*)(uintptr_t)r->cells + i;
        cell->seq = i;
        cell->lane = 0;
        cell->ret = 0;
        cell->out_len = 0;
    }
    r->deq = 0;
    r->closed = 0;
    *(u64*)(uintptr_t)r->enq = 0;
}
