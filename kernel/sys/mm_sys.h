// Device-served memory syscalls: brk, mmap (anonymous), munmap, mremap, mprotect,
// madvise. Semantics from brk(2), mmap(2), mremap(2), mprotect(2), madvise(2).
#pragma once
#include "../mm/mm.h"
#include "errno.h"

#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FIXED_NOREPLACE 0x100000

GFN u64 page_up(u64 x) { return (x + PAGE_SZ - 1) & ~(PAGE_SZ - 1); }
GFN u64 prot_to_pte(u64 prot) {
    u64 e = 0;
    if (prot & PROT_READ) e |= PTE_R;
    if (prot & PROT_WRITE) e |= PTE_W | PTE_R;  // AArch64 has no write-only pages
    if (prot & PROT_EXEC) e |= PTE_X | PTE_R;
    return e;
}

/// brk(2): the raw syscall returns the new break, or the old one on failure.
HANDLER void sys_brk(Core& c) {
    u64 want = X(c, 0);
    Proc* p = c.p;
    if (want < p->brk_start || want >= p->mmap_floor) { setX(c, 0, p->brk_cur); return; }
    u64 old_end = page_up(p->brk_cur), new_end = page_up(want);
    if (new_end > old_end) {
        if (!mm_range_free(c, old_end, new_end - old_end) || !mm_map_lazy(c, old_end, new_end - old_end, PTE_R | PTE_W)) {
            setX(c, 0, p->brk_cur);
            return;
        }
    } else if (new_end < old_end) {
        mm_unmap(c, new_end, old_end - new_end);
    }
    p->brk_cur = want;
    setX(c, 0, want);
}

/// Find a free range of len bytes below the mmap top (top-down, first fit).
GFN u64 mmap_find(Core& c, u64 len) {
    u64 a = (c.p->mmap_top - len) & ~(PAGE_SZ - 1);
    while (a >= c.p->mmap_floor) {
        if (mm_range_free(c, a, len)) {
            if (a < c.p->mmap_top) c.p->mmap_top = a;
            return a;
        }
        if (a < c.p->mmap_floor + len) break;
        a -= len;
    }
    return 0;
}

HANDLER void sys_mmap(Core& c) {
    u64 addr = X(c, 0), len = X(c, 1), prot = X(c, 2), flags = X(c, 3);
    i64 fd = (i64)X(c, 4);
    if (len == 0 || (addr & (PAGE_SZ - 1)) || (X(c, 5) & (PAGE_SZ - 1))) { setX(c, 0, err(E_INVAL)); return; }
    if (!(flags & (MAP_SHARED | MAP_PRIVATE))) { setX(c, 0, err(E_INVAL)); return; }
    if (!(flags & MAP_ANONYMOUS)) {
        (void)fd;
        setX(c, 0, err(E_NODEV));  // file mappings are not provided yet
        return;
    }
    len = page_up(len);
    if (len > (1ull << 46)) { setX(c, 0, err(E_NOMEM)); return; }
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if ((addr + len) >> VA_BITS) { setX(c, 0, err(E_NOMEM)); return; }
        if ((flags & MAP_FIXED_NOREPLACE) && !mm_range_free(c, addr, len)) { setX(c, 0, err(E_EXIST)); return; }
        mm_unmap(c, addr, len);
    } else {
        addr = mmap_find(c, len);
        if (!addr) { setX(c, 0, err(E_NOMEM)); return; }
    }
    if (!mm_map_lazy(c, addr, len, prot_to_pte(prot))) { setX(c, 0, err(E_NOMEM)); return; }
    setX(c, 0, addr);
}

HANDLER void sys_munmap(Core& c) {
    u64 addr = X(c, 0), len = page_up(X(c, 1));
    if ((addr & (PAGE_SZ - 1)) || len == 0 || (addr + len) >> VA_BITS) { setX(c, 0, err(E_INVAL)); return; }
    mm_unmap(c, addr, len);
    setX(c, 0, 0);
}

HANDLER void sys_mprotect(Core& c) {
    u64 addr = X(c, 0), len = page_up(X(c, 1));
    if (addr & (PAGE_SZ - 1)) { setX(c, 0, err(E_INVAL)); return; }
    setX(c, 0, mm_protect(c, addr, len, prot_to_pte(X(c, 2))) ? 0 : err(E_NOMEM));
}

/// madvise(2): MADV_DONTNEED (4) drops private pages; other advice is accepted.
HANDLER void sys_madvise(Core& c) {
    u64 addr = X(c, 0), len = page_up(X(c, 1));
    if (addr & (PAGE_SZ - 1)) { setX(c, 0, err(E_INVAL)); return; }
    if (X(c, 2) == 4) mm_discard(c, addr, len);
    setX(c, 0, 0);
}

/// mremap(2): shrink in place, grow in place when the pages after are free, or move
/// (MREMAP_MAYMOVE) by moving the page-table entries.
HANDLER void sys_mremap(Core& c) {
    u64 old = X(c, 0), olen = page_up(X(c, 1)), nlen = page_up(X(c, 2)), flags = X(c, 3);
    if ((old & (PAGE_SZ - 1)) || nlen == 0 || (flags & ~3ull)) { setX(c, 0, err(E_INVAL)); return; }
    u64* first = pt_walk(c.m, c.p->pt_root, old, false, 0);
    if (!first || !(*first & (PTE_P | PTE_LAZY))) { setX(c, 0, err(14 /* EFAULT */)); return; }
    u64 perm = *first & PTE_PERM;
    if (nlen <= olen) {
        mm_unmap(c, old + nlen, olen - nlen);
        setX(c, 0, old);
        return;
    }
    if (mm_range_free(c, old + olen, nlen - olen) && ((old + nlen) >> VA_BITS) == 0 &&
        !(old + nlen > c.p->mmap_floor && old < c.p->brk_cur)) {
        if (!mm_map_lazy(c, old + olen, nlen - olen, perm)) { setX(c, 0, err(E_NOMEM)); return; }
        setX(c, 0, old);
        return;
    }
    if (!(flags & 1)) { setX(c, 0, err(E_NOMEM)); return; }
    u64 dst = mmap_find(c, nlen);
    if (!dst || !mm_map_lazy(c, dst, nlen, perm)) { setX(c, 0, err(E_NOMEM)); return; }
    for (u64 off = 0; off < olen; off += PAGE_SZ) {
        u64* s = pt_walk(c.m, c.p->pt_root, old + off, false, 0);
        u64* d = pt_walk(c.m, c.p->pt_root, dst + off, true, &c.p->frames_private);
        if (s && d) { *d = *s; *s = 0; }
    }
    tlb_flush(c);
    setX(c, 0, dst);
}
