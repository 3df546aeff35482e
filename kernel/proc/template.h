// The image template: page tables and frames of a loaded ELF image (the program's
// segments, then its interpreter's when it is dynamically linked, the signal trampoline
// and the stack; prepare.rs), built once by the host and shared by every process running
// it (read-only pages shared outright, writable pages copied on first write).
//
// Segments are mapped in program-header order and a later one replaces the pages it
// shares with an earlier one, as Linux's mmap(MAP_FIXED) does when fs/binfmt_elf.c maps
// them. A later segment's file pages reuse a page's frame, so duplicated segments take
// no more frames than one; a .bss (tmpl_reserve) over a page with a frame leaves that
// frame unused (the host builds the template with every frame immortal: nothing goes
// onto a free list), at most one per file page of the earlier segments.
#pragma once
#include "../mm/mm.h"

/// A new, empty page-table root in the template.
GFN u64 tmpl_new(MachineHdr* m) { return frame_alloc(m); }

/// Map the pages [va, va+size) (va and size page aligned) with permissions perm, filled
/// from data[0..len) and with zeros after (len <= size), replacing whatever was mapped
/// there. Returns false when out of frames.
GFN_NOINLINE bool tmpl_map(MachineHdr* m, u64 root, u64 va, const u8* data, u64 len, u64 size, u64 perm) {
    NO_UNROLL for (u64 a = va; a < va + size; a += PAGE_SZ) {
        u64* e = pt_walk(m, root, a, true, 0);
        if (!e) return false;
        if (!(*e & PTE_P)) {
            u64 f = frame_alloc(m);  // zeroed
            if (f == NO_FRAME) return false;
            *e = (f << 12) | PTE_P;
        } else {
            rt_memset(frame_ptr(m, PTE_FRAME(*e)), 0, PAGE_SZ);
        }
        *e = (*e & ~(PTE_PERM | PTE_LAZY)) | (perm & PTE_PERM);
        u64 off = a - va;
        if (off < len) rt_memcpy(frame_ptr(m, PTE_FRAME(*e)), data + off, len - off < PAGE_SZ ? len - off : PAGE_SZ);
    }
    return true;
}

/// Pages the template of root `root` maps (present or reserved): every process starts
/// with that many (`MachineHdr::tmpl_pages`).
GFN_NOINLINE u64 tmpl_pages(MachineHdr* m, u64 root) {
    RangeWalk w;
    w.op = RANGE_COUNT;
    w.perm = 0;
    w.p = 0;
    pt_range(m, root, 0, 1ull << VA_BITS, w);
    return w.pages;
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
