// The image template: page tables and frames of a loaded ELF image, built once by the
// host and shared by every process running it (read-only pages shared outright,
// writable pages copied on first write).
#pragma once
#include "../mm/mm.h"

/// A new, empty page-table root in the template.
GFN u64 tmpl_new(MachineHdr* m) { return frame_alloc(m); }

/// Reserve [va, end) of the template lazily with permissions perm, if nothing is mapped
/// there yet. Returns false when something is (or no frame for a table was had).
GFN_NOINLINE bool tmpl_reserve_free(MachineHdr* m, u64 root, u64 va, u64 end, u64 perm) {
    RangeWalk w;
    w.op = RANGE_COUNT;
    w.p = 0;
    pt_range(m, root, va, end, w);
    if (w.pages) return false;
    w.op = RANGE_MAP_LAZY;
    w.perm = perm & PTE_PERM;
    pt_range(m, root, va, end, w);
    return w.ok;
}

/// Map [va, va+memsz) with permissions perm, filled from data[0..filesz) and zeros
/// after. Pages shared with an earlier segment keep their content and gain perm. The
/// pages wholly past the file's bytes (.bss) are reserved lazily, each process getting a
/// zero page when it touches one, so that a huge memsz costs no frames (nor the time
/// to clear them) here. Returns false when out of frames.
GFN_NOINLINE bool tmpl_map(MachineHdr* m, u64 root, u64 va, const u8* data, u64 filesz, u64 memsz, u64 perm) {
    u64 start = va & ~(PAGE_SZ - 1);
    u64 end = (va + memsz + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
    if ((va + memsz) >> VA_BITS || memsz < filesz) return false;
    u64 lazy = (va + filesz + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
    if (lazy < ((va + PAGE_SZ - 1) & ~(PAGE_SZ - 1))) lazy = (va + PAGE_SZ - 1) & ~(PAGE_SZ - 1);
    if (lazy < end && tmpl_reserve_free(m, root, lazy, end, perm)) end = lazy;
    for (u64 a = start; a < end; a += PAGE_SZ) {
        u64* e = pt_walk(m, root, a, true, 0);
        if (!e) return false;
        if (!(*e & PTE_P)) {
            u64 f = frame_alloc(m);
            if (f == NO_FRAME) return false;
            *e = (f << 12) | PTE_P;
        }
        *e |= perm & PTE_PERM;
        u8* page = frame_ptr(m, PTE_FRAME(*e));
        u64 lo = a > va ? a : va;
        u64 hi = a + PAGE_SZ < va + filesz ? a + PAGE_SZ : va + filesz;
        if (hi > lo) rt_memcpy(page + (lo - a), data + (lo - va), hi - lo);
    }
    return true;
}

/// Reserve [va, va+len) as lazily allocated memory with permissions perm (the stack):
/// whole aligned spans as interior reservations (kernel/mm/mm.h, `pt_range`).
GFN_NOINLINE bool tmpl_reserve(MachineHdr* m, u64 root, u64 va, u64 len, u64 perm) {
    if ((va | len) & (PAGE_SZ - 1) || (va + len) >> VA_BITS) return false;
    RangeWalk w;
    w.op = RANGE_MAP_LAZY;
    w.perm = perm & PTE_PERM;
    w.p = 0;
    pt_range(m, root, va, va + len, w);
    return w.ok;
}
