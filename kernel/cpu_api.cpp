// The CPU backend's entry points: the execution core compiled as host C++ and called
// from Rust (crates/gpuos/src/backend/cpu.rs) through these extern "C" functions.
#include "sched.h"
#include "ring.h"
#include "proc/template.h"

extern "C" {

u64 gpuos_tmpl_new(MachineHdr* m) { return tmpl_new(m); }
bool gpuos_tmpl_map(MachineHdr* m, u64 root, u64 va, const u8* data, u64 len, u64 size, u64 perm) {
    return tmpl_map(m, root, va, data, len, size, perm);
}
bool gpuos_tmpl_reserve(MachineHdr* m, u64 root, u64 va, u64 len, u64 perm) {
    return tmpl_reserve(m, root, va, len, perm);
}
u64 gpuos_tmpl_pages(MachineHdr* m, u64 root) { return tmpl_pages(m, root); }
/// The template frame mapped at va (its page table entry's frame), or ~0 when none: the
/// tier-2 translator's key from code address to decode-cache and profile slots.
u64 gpuos_tmpl_frame(MachineHdr* m, u64 va) {
    u64* e = pt_walk(m, m->tmpl_root, va, false, 0);
    return e && (*e & PTE_P) ? PTE_FRAME(*e) : ~0ull;
}
/// The Core of the lane this host thread runs, kept from slice to slice as the
/// persistent kernel keeps each GPU lane's (a thread runs one lane from
/// gpuos_proc_start to its end: backend/cpu.rs run_lane), so that what holds on the GPU
/// holds here: a process whose saved state changes while a Core still holds it must be
/// reloaded (core_resume), which a fresh Core per slice would hide.
static __thread Core tls_core;

bool gpuos_proc_start(MachineHdr* m, u32 lane) {
    tls_lane = lane;
    tls_core.p = 0;  // nothing loaded (core_resume)
    return proc_start(m, lane);
}

/// Run lane's family for one slice (kernel/sched.h); first completes the lane's
/// served host request. Returns a LaneResult. The lane's gpuos_proc_start ran on this
/// thread.
u32 gpuos_lane_run(MachineHdr* m, u32 lane, u64 budget) {
    tls_lane = lane;
    Proc* lp = proc_at(m, lane);
    Core& c = tls_core;
    if (lp->req_open) {
        if (!host_req_done(m, lp)) return LANE_HOSTWAIT;
        lane_complete(c, m, lane, false);
    }
    return lane_run(c, m, lane, budget);
}

/// The Core of a spare lane on this host thread (kernel/proc/spare.h): the task it
/// holds between calls (`c.p`), 0 at first.
static __thread Core tls_spare;
/// Whether tls_spare's shard of the run queue has been picked.
static __thread bool tls_spare_homed;

/// One step of a spare lane (kernel/proc/spare.h `spare_run`); returns a SpareResult.
u32 gpuos_spare_run(MachineHdr* m, u64 budget) {
    if (!tls_spare_homed) {  // the shard: this thread's, as its free lists (frame_shard)
        tls_spare.runq_home = tls_spare.runq_steal = frame_shard();
        tls_spare_homed = true;
    }
    return spare_run(tls_spare, m, budget);
}
/// The spare lane on this host thread stops (kernel/proc/spare.h `spare_drop`).
void gpuos_spare_drop(MachineHdr* m) { spare_drop(tls_spare, m); }

/// DecodeBitMasks for tier 2's translator (crates/gpuos/src/translate/emit.rs), which
/// makes the masks of logical immediates and bitfield moves constants of the code.
bool gpuos_decode_bit_masks(u32 n, u32 imms, u32 immr, bool immediate, u32 datasize, u64* wmask, u64* tmask) {
    return decode_bit_masks(n, imms, immr, immediate, datasize, wmask, tmask);
}

u64 gpuos_frame_alloc(MachineHdr* m) { return frame_alloc(m); }
u64 gpuos_il_alloc(MachineHdr* m, u32 lane, u64 vpn) { return il_alloc(m, lane, vpn); }
bool gpuos_frame_il(MachineHdr* m, u64 f) { return frame_il(m, f); }
void gpuos_page_copy(MachineHdr* m, u64 f, u64 off, u8* buf, u64 n, bool to_page) {
    page_copy(m, f, off, buf, n, to_page);
}
void gpuos_frame_shard_set(u32 shard) { tls_frame_shard = shard + 1; }
/// Drop one reference to each of the n frames, freeing them in batches as an exiting
/// process does.
void gpuos_frames_unref(MachineHdr* m, const u64* f, u64 n) {
    FreeBatch b;
    b.n = 0;
    for (u64 i = 0; i < n; i++) frame_unref_into(m, b, f[i]);
    free_batch_flush(m, b);
}

bool gpuos_ring_push(RingHdr* r, u64 lane) { return ring_push(r, lane); }
bool gpuos_ring_push_result(RingHdr* r, u64 lane, u64 ret, u64 out_len) {
    return ring_push_result(r, lane, ret, out_len);
}
bool gpuos_ring_pop(RingHdr* r, u64* lane) { return ring_pop(r, lane); }
bool gpuos_ring_pop_result(RingHdr* r, u64* lane, u64* ret, u64* out_len) {
    return ring_pop(r, lane, ret, out_len);
}
void gpuos_ring_init(RingHdr* r) { ring_init(r); }
void gpuos_chacha20_block(const u64* key, u64 ctr, u64 nonce, u32* out) { chacha20_block(key, ctr, nonce, out); }

}  // extern "C"
