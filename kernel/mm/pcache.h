// The page cache: pages of mapped files, read from the host once and shared by every
// process and lane that maps them (the seeds' GPU page cache; Linux's page cache plays
// the same part for mmap). 100,000 lanes running one dynamically linked program hold
// one copy of libc's text.
//
// An open-addressed hash table in device memory (`MachineHdr::pcache`, `pcache_mask +
// 1` entries, zeroed at the start), keyed by (file identity, page index): the identity
// names one version of a file (host/mapfile.rs), so a cached page never goes stale.
// Entries are only added, never removed, during a run: the cache holds one reference
// to each frame it names, so a cached frame is never freed and, being shared, never
// written (mm.h: a private writable mapping of it is copy-on-write). A full table stops
// caching: the page then stays private to the mapping that read it.
#pragma once
#include "mm.h"

/// One entry: `key` 0 is free; `frame` is the frame + 1, 0 until published.
struct PcacheEntry {
    u64 key;
    u64 frame;
};

/// Keys with this bit are reverse entries: frame f of a MAP_SHARED page -> the key of its
/// (shared identity, page), for write-back (kernel/sys/mm_shared.h). Forward keys stay
/// below 2^52 (identities below 2^20).
#define PCACHE_RMAP (1ull << 63)

/// Probes before a lookup or an insert gives up (the table is kept far from full).
#define PCACHE_PROBES 64
/// Spins waiting for another lane to publish the frame of a key it claimed.
#define PCACHE_SPINS 4096

/// The key of page `page` of file identity `id` (0 for a page past 2^32: not cached).
GFN u64 pcache_key(u64 id, u64 page) { return page >> 32 ? 0 : (id << 32) | page; }

GFN PcacheEntry* pcache_at(MachineHdr* m, u64 i) { return (PcacheEntry*)(uintptr_t)m->pcache + (i & m->pcache_mask); }
GFN u64 pcache_hash(u64 key) { return (key * 0x9E3779B97F4A7C15ull) >> 20; }

/// The published frame of entry e, waiting a little for a lane that has claimed the
/// key but not yet published its frame; NO_FRAME if it does not come.
GFN_NOINLINE u64 pcache_frame(PcacheEntry* e) {
    NO_UNROLL for (u32 i = 0; i < PCACHE_SPINS; i++) {
        u64 f = load_acquire_dev_u64(&e->frame);
        if (f) return f - 1;
        cpu_relax();
    }
    return NO_FRAME;
}

/// The frame that caches `key`, or NO_FRAME. Takes no reference: cached frames live
/// as long as the run.
GFN_NOINLINE u64 pcache_find(MachineHdr* m, u64 key) {
    if (!key || !m->pcache) return NO_FRAME;
    u64 h = pcache_hash(key);
    NO_UNROLL for (u64 i = 0; i < PCACHE_PROBES; i++) {
        PcacheEntry* e = pcache_at(m, h + i);
        u64 k = load_acquire_dev_u64(&e->key);
        if (k == key) return pcache_frame(e);
        if (k == 0) return NO_FRAME;
    }
    return NO_FRAME;
}

GFN_NOINLINE u64 pcache_insert(MachineHdr* m, u64 key, u64 f);

/// Cache frame f (filled, reference count 1) as page `key` of a file version, whose
/// pages never change: marked first (dcode_mark), so that every lane that finds it in
/// the cache sees the mark; a frame that did not become the cache's loses it. Returns
/// as pcache_insert (the caller keeps f unless f is returned).
GFN_NOINLINE u64 pcache_adopt(MachineHdr* m, u64 key, u64 f) {
    dcode_mark(m, f);
    u64 cached = pcache_insert(m, key, f);
    if (cached == f) atomic_add_u64(&m->pcache_frames, 1);
    else dcode_unmark(m, f);
    return cached;
}

/// Cache frame f (filled, reference count 1) as `key`: the cache takes over that
/// reference and f is returned. When another lane cached the key first, its frame is
/// returned and f is left to the caller; NO_FRAME when the table has no room (f too).
GFN_NOINLINE u64 pcache_insert(MachineHdr* m, u64 key, u64 f) {
    if (!key || !m->pcache) return NO_FRAME;
    u64 h = pcache_hash(key);
    NO_UNROLL for (u64 i = 0; i < PCACHE_PROBES; i++) {
        PcacheEntry* e = pcache_at(m, h + i);
        u64 k = load_acquire_dev_u64(&e->key);
        if (k == 0) {
            k = atomic_cas_u64_dev(&e->key, 0, key);
            if (k == 0) {
                store_release_dev_u64(&e->frame, f + 1);
                return f;
            }
        }
        if (k == key) return pcache_frame(e);
    }
    return NO_FRAME;
}
