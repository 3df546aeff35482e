// Device-served memory syscalls: brk, mmap (a file's: mm_file.h), munmap, mremap, mprotect,
// madvise. Semantics from brk(2), mmap(2), mremap(2), mprotect(2), madvise(2).
#pragma once
#include "../mm/mm.h"
#include "errno.h"
#include "fmap.h"

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

/// page_up(x) would overflow (a length no mapping can have).
GFN bool len_too_big(u64 x) { return x > ~0ull - PAGE_SZ; }

/// Whether mapping `add` more pages keeps c's process within its RLIMIT_AS
/// (`Proc::as_limit`), as Linux's may_expand_vm.
GFN bool mm_may_expand(Core& c, u64 add) {
    Proc* p = c.mm;
    return p->as_limit == ~0ull || p->vm_pages + add <= (p->as_limit >> PAGE_SHIFT);
}

/// brk(2): the raw syscall returns the new break, or the old one on failure (the new
/// pages would overlap a mapping, exceed RLIMIT_AS, or need frames not to be had).
HANDLER void sys_brk(Core& c) {
    u64 want = X(c, 0);
    Proc* p = c.mm;
    if (want < p->brk_start || want >= p->mmap_floor) { setX(c, 0, p->brk_cur); return; }
    u64 old_end = page_up(p->brk_cur), new_end = page_up(want);
    if (new_end > old_end) {
        u64 n = new_end - old_end;
        if (!mm_range_free(c, old_end, n) || !mm_may_expand(c, n >> PAGE_SHIFT) ||
            !mm_map_lazy(c, old_end, n, PTE_R | PTE_W)) {
            setX(c, 0, p->brk_cur);
            return;
        }
    } else if (new_end < old_end && !mm_unmap(c, new_end, old_end - new_end)) {
        setX(c, 0, p->brk_cur);
        return;
    }
    p->brk_cur = want;
    setX(c, 0, want);
}

/// Find a free range of len bytes in [mmap_floor, top), the highest one (top-down, first
/// fit): each probe walks the tables of the candidate range down from its top and, at
/// the highest mapped page, moves the candidate below it. 0 when none.
GFN_NOINLINE u64 mmap_find_below(Core& c, u64 top, u64 len) {
    u64 floor = c.mm->mmap_floor;
    u64 end = top;
    NO_UNROLL for (; end >= floor && end - floor >= len;) {
        u64 a = end - len;
        u64 used = pt_highest_mapped(c.m, c.mm->pt_root, a, end);
        if (used == NO_FRAME) return a;
        end = used;
    }
    return 0;
}

/// Find a free range of len bytes for mmap: below the last one handed out first (the
/// area grows down), then anywhere below the top of the mmap area.
GFN u64 mmap_find(Core& c, u64 len) {
    u64 a = mmap_find_below(c, c.mm->mmap_top, len);
    if (!a && c.mm->mmap_top < c.m->mmap_top) a = mmap_find_below(c, c.m->mmap_top, len);
    if (a && a < c.mm->mmap_top) c.mm->mmap_top = a;
    return a;
}

/// mmap(2)'s checks of its arguments that need no file: 0, or the error.
GFN u64 mmap_check(u64 addr, u64 len, u64 flags, u64 off) {
    if (len == 0 || (addr & (PAGE_SZ - 1)) || (off & (PAGE_SZ - 1))) return err(E_INVAL);
    if (!(flags & (MAP_SHARED | MAP_PRIVATE))) return err(E_INVAL);
    if (len_too_big(len) || page_up(len) > (1ull << 46)) return err(E_NOMEM);
    return 0;
}

/// Place and reserve a mapping of len bytes (page aligned) with permissions perm (PTE
/// bits): at addr with MAP_FIXED (replacing what is there) or MAP_FIXED_NOREPLACE
/// (EEXIST when something is), else where mmap_find finds room. Its pages are lazy
/// (zero-filled on first touch) and no file's (fmap.h: a file mapping names them once
/// made). Returns the address, or ENOMEM (no room, RLIMIT_AS, no frames for the
/// tables).
GFN_NOINLINE u64 mmap_place(Core& c, u64 addr, u64 len, u64 flags, u64 perm) {
    u64 replaced = 0;  // pages of an old mapping that MAP_FIXED replaces
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
        if ((addr + len) >> VA_BITS) return err(E_NOMEM);
        replaced = mm_mapped_pages(c, addr, len);
        if ((flags & MAP_FIXED_NOREPLACE) && replaced) return err(E_EXIST);
    }
    if (!mm_may_expand(c, (len >> PAGE_SHIFT) - replaced)) return err(E_NOMEM);
    if (!(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))) {
        addr = mmap_find(c, len);
        if (!addr) return err(E_NOMEM);
    }
    if (!mm_map_lazy(c, addr, len, perm)) return err(E_NOMEM);
    fmap_cut(c, addr, addr + len);
    return addr;
}

/// The top of the address space: "everything" for a write-back's range.
#define WB_ALL (1ull << VA_BITS)

GFN_NOINLINE void mmap_file_start(Core& c);
GFN_NOINLINE bool wb_begin(Core& c, u64 lo, u64 hi);

/// Before [addr, addr+len) (page aligned) is unmapped or replaced: write back its dirty
/// MAP_SHARED pages (kernel/sys/mm_shared.h). True when writes were posted: the SVC
/// runs again once they are done.
GFN bool mm_writeback_first(Core& c, u64 addr, u64 len) {
    if (addr >= WB_ALL || len >= WB_ALL) return false;
    u64 end = addr + len < WB_ALL ? addr + len : WB_ALL;
    return wb_begin(c, addr, end);
}

/// MAP_SHARED | MAP_ANONYMOUS over [va, va+len), just reserved: its pages are made now,
/// zeroed and marked PTE_SHARED (written in place, never copied on write), so that the
/// processes forked after share them, as Linux's shmem-backed mapping is shared. (A lazy
/// page faulted in after a fork would be each process's own.) False when the frames are
/// not to be had (the process's resident limit or the pool: mmap then fails with ENOMEM).
GFN_NOINLINE bool mmap_shared_anon(Core& c, u64 va, u64 len, u64 perm) {
    Proc* g = c.mm;
    // Processes that share the pages may run at once on other lanes: exclusives,
    // acquire/release and barriers go coherent (mem_shared), as for a shared file.
    g->shm_mapped = 1;
    NO_UNROLL for (u64 a = va; a < va + len; a += PAGE_SZ) {
        u64* e = pt_walk(c.m, g->pt_root, a, true, g);
        u64 f = e ? frame_alloc_for(c.m, g) : NO_FRAME;  // zeroed, contiguous
        if (f == NO_FRAME) return false;
        pte_publish(g, e, (f << 12) | PTE_P | perm | PTE_SHARED);
    }
    return true;
}

/// mmap(2): anonymous mappings here; a file's (kernel/sys/mm_file.h) asks the host
/// about the file first. MAP_FIXED writes back the shared pages it replaces first.
HANDLER void sys_mmap(Core& c) {
    u64 addr = X(c, 0), len = X(c, 1), prot = X(c, 2), flags = X(c, 3);
    u64 e = mmap_check(addr, len, flags, X(c, 5));
    if (e) { setX(c, 0, e); return; }
    if ((flags & MAP_FIXED) && mm_writeback_first(c, addr, page_up(len))) return;
    if (!(flags & MAP_ANONYMOUS)) { mmap_file_start(c); return; }
    u64 a = mmap_place(c, addr, page_up(len), flags, prot_to_pte(prot));
    if ((flags & MAP_SHARED) && (i64)a >= 0 && !mmap_shared_anon(c, a, page_up(len), prot_to_pte(prot))) {
        mm_unmap(c, a, page_up(len));
        fmap_cut(c, a, a + page_up(len));
        a = err(E_NOMEM);
    }
    setX(c, 0, a);
}

HANDLER void sys_munmap(Core& c) {
    u64 addr = X(c, 0), len = X(c, 1);
    if ((addr & (PAGE_SZ - 1)) || len == 0 || len_too_big(len)) { setX(c, 0, err(E_INVAL)); return; }
    len = page_up(len);
    if ((addr + len) >> VA_BITS) { setX(c, 0, err(E_INVAL)); return; }
    if (mm_writeback_first(c, addr, len)) return;
    bool ok = mm_unmap(c, addr, len);
    if (ok) fmap_cut(c, addr, addr + len);
    setX(c, 0, ok ? 0 : err(E_NOMEM));
}

/// mprotect(2): ENOMEM, changing nothing, when part of the range is not mapped.
HANDLER void sys_mprotect(Core& c) {
    u64 addr = X(c, 0), len = X(c, 1);
    if (addr & (PAGE_SZ - 1)) { setX(c, 0, err(E_INVAL)); return; }
    if (len_too_big(len)) { setX(c, 0, err(E_NOMEM)); return; }
    len = page_up(len);
    if ((addr + len) >> VA_BITS) { setX(c, 0, err(E_NOMEM)); return; }
    setX(c, 0, mm_protect(c, addr, len, prot_to_pte(X(c, 2))) ? 0 : err(E_NOMEM));
}

/// madvise(2): MADV_DONTNEED (4) drops private pages; other advice is accepted.
HANDLER void sys_madvise(Core& c) {
    u64 addr = X(c, 0), len = X(c, 1);
    if ((addr & (PAGE_SZ - 1)) || len_too_big(len)) { setX(c, 0, err(E_INVAL)); return; }
    len = page_up(len);
    if ((addr + len) >> VA_BITS) { setX(c, 0, err(E_INVAL)); return; }
    if (X(c, 2) == 4) mm_discard(c, addr, len);
    setX(c, 0, 0);
}

/// Whether every page of [va, va+len) (page aligned) is mapped, present or reserved:
/// what Linux's calls on existing mappings require (else ENOMEM).
GFN bool mm_range_mapped(Core& c, u64 va, u64 len) {
    if ((va + len) >> VA_BITS) return false;
    return mm_mapped_pages(c, va, len) == len >> PAGE_SHIFT;
}

/// mlock(2), munlock(2): accepted once the range, rounded out to pages, is mapped
/// (ENOMEM otherwise, EINVAL when it wraps). gpuos never swaps, so every page is as
/// good as locked; the pages are not faulted in (mincore(2) still reports the ones not
/// touched) and RLIMIT_MEMLOCK is not counted.
GFN u64 mlock_check(Core& c) {
    u64 addr = X(c, 0), len = X(c, 1);
    u64 start = addr & ~(PAGE_SZ - 1);
    if (len_too_big(len + (addr - start))) return err(E_INVAL);
    len = page_up(len + (addr - start));
    if (start + len < start) return err(E_INVAL);
    if (len == 0) return 0;
    return mm_range_mapped(c, start, len) ? 0 : err(E_NOMEM);
}
HANDLER void sys_mlock(Core& c) { setX(c, 0, mlock_check(c)); }
HANDLER void sys_munlock(Core& c) { setX(c, 0, mlock_check(c)); }

#define MS_ASYNC 1ull
#define MS_INVALIDATE 2ull
#define MS_SYNC 4ull

/// msync(2): once the checks pass (EINVAL for unknown flags, MS_ASYNC with MS_SYNC, or
/// an unaligned address; ENOMEM when part of the range is not mapped), MS_SYNC and
/// MS_ASYNC write the range's dirty MAP_SHARED pages back to their files
/// (kernel/sys/mm_shared.h) before returning, so that read(2) sees them as Linux's
/// shared page cache would; EIO when a write-back failed since the last msync.
/// Anonymous memory has nothing to write back.
HANDLER void sys_msync(Core& c) {
    u64 addr = X(c, 0), len = X(c, 1), flags = X(c, 2);
    if ((flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) || (addr & (PAGE_SZ - 1)) ||
        ((flags & MS_ASYNC) && (flags & MS_SYNC))) {
        setX(c, 0, err(E_INVAL));
        return;
    }
    if (len_too_big(len)) { setX(c, 0, err(E_NOMEM)); return; }
    len = page_up(len);
    if (len != 0 && !mm_range_mapped(c, addr, len)) { setX(c, 0, err(E_NOMEM)); return; }
    if ((flags & (MS_SYNC | MS_ASYNC)) && mm_writeback_first(c, addr, len)) return;
    u64 ret = c.p->wb_err ? err(E_IO) : 0;
    c.p->wb_err = 0;
    setX(c, 0, ret);
}

/// Bytes of mincore's vector gathered before each copy to the guest.
#define MINCORE_CHUNK 256u

/// mincore(2): one byte per page of [addr, addr+len), 1 when the page is resident
/// (present in the process's page tables), 0 when it is mapped but not yet touched
/// (a lazy page or reservation). EINVAL for an unaligned address, ENOMEM when a page
/// is not mapped (the bytes before it are written, as Linux does), EFAULT when the
/// vector cannot be written.
HANDLER void sys_mincore(Core& c) {
    u64 addr = X(c, 0), len = X(c, 1), vec = X(c, 2);
    if (addr & (PAGE_SZ - 1)) { setX(c, 0, err(E_INVAL)); return; }
    if (len_too_big(len) || ((addr + page_up(len)) >> VA_BITS)) { setX(c, 0, err(E_NOMEM)); return; }
    u64 end = addr + page_up(len);
    u8 buf[MINCORE_CHUNK];
    u32 n = 0;
    u64 ret = 0;
    NO_UNROLL for (u64 a = addr; a < end && !ret;) {
        int level = 3;
        u64* e = pt_lookup(c.m, c.mm->pt_root, a, &level);
        u64 span = 1ull << pt_span_shift(level);
        u64 next = (a & ~(span - 1)) + span;
        if (next > end) next = end;
        if (!e || !pte_mapped(*e)) { ret = err(E_NOMEM); break; }
        u8 resident = level == 3 && (*e & PTE_P) ? 1 : 0;
        NO_UNROLL for (; a < next; a += PAGE_SZ) {
            buf[n++] = resident;
            if (n == MINCORE_CHUNK) {
                if (!copy_to_guest(c, vec, buf, n)) { ret = err(E_FAULT); n = 0; break; }
                vec += n;
                n = 0;
            }
        }
    }
    if (n && !copy_to_guest(c, vec, buf, n) && !ret) ret = err(E_FAULT);
    setX(c, 0, ret);
}

/// Move the mappings of [from, from+len) to [to, to+len) (a free range): present and
/// lazy pages entry by entry, lazy reservations of whole spans as reservations (the
/// source keeps those; the caller unmaps it). Returns the bytes moved: len, or less
/// when a table for the destination could not be had.
GFN_NOINLINE u64 mm_move(Core& c, u64 from, u64 len, u64 to) {
    MachineHdr* m = c.m;
    Proc* p = c.mm;
    u64 a = from, end = from + len;
    NO_UNROLL for (; a < end;) {
        int level;
        u64* s = pt_lookup_own(m, p, a, &level);  // its entries move out: p's own table
        if (!s) return a - from;
        u64 span = 1ull << pt_span_shift(level);
        u64 stop = (a & ~(span - 1)) + span;
        if (stop > end) stop = end;
        if (pte_mapped(*s)) {
            if (level < 3) {
                RangeWalk w;
                w.op = RANGE_MAP_LAZY;
                w.perm = *s & PTE_PERM;
                w.p = p;
                pt_range(m, p->pt_root, to + (a - from), to + (stop - from), w);
                if (!w.ok) return a - from;
            } else {
                u64* d = pt_walk(m, p->pt_root, to + (a - from), true, p);
                if (!d) return a - from;
                *d = *s;
                *s = 0;
            }
        }
        a = stop;
    }
    return len;
}

/// mremap(2): shrink in place, grow in place when the pages after are free, or move
/// (MREMAP_MAYMOVE) by moving the page-table entries. The old range must be mapped
/// (EFAULT); growing is bounded by RLIMIT_AS (ENOMEM). A file's range is cut, grown or
/// moved with the pages (fmap.h).
HANDLER void sys_mremap(Core& c) {
    u64 old = X(c, 0), olen = X(c, 1), nlen = X(c, 2), flags = X(c, 3);
    if ((old & (PAGE_SZ - 1)) || nlen == 0 || (flags & ~3ull) || len_too_big(olen) || len_too_big(nlen)) {
        setX(c, 0, err(E_INVAL));
        return;
    }
    olen = page_up(olen);
    nlen = page_up(nlen);
    if (olen == 0) { setX(c, 0, err(E_INVAL)); return; }  // only shared mappings may be duplicated
    if ((old + olen) >> VA_BITS || mm_mapped_pages(c, old, olen) != olen >> PAGE_SHIFT) {
        setX(c, 0, err(E_FAULT));
        return;
    }
    if (nlen < olen && mm_writeback_first(c, old + nlen, olen - nlen)) return;
    int level;
    u64 perm = *pt_lookup(c.m, c.mm->pt_root, old, &level) & PTE_PERM;
    if (nlen <= olen) {
        if (nlen < olen && !mm_unmap(c, old + nlen, olen - nlen)) { setX(c, 0, err(E_NOMEM)); return; }
        fmap_cut(c, old + nlen, old + olen);
        setX(c, 0, old);
        return;
    }
    if (nlen > (1ull << 46) || !mm_may_expand(c, (nlen - olen) >> PAGE_SHIFT)) { setX(c, 0, err(E_NOMEM)); return; }
    if (((old + nlen) >> VA_BITS) == 0 && !(old + nlen > c.mm->mmap_floor && old < c.mm->brk_cur) &&
        mm_range_free(c, old + olen, nlen - olen)) {
        if (!mm_map_lazy(c, old + olen, nlen - olen, perm)) { setX(c, 0, err(E_NOMEM)); return; }
        fmap_grow(c, old + olen, old + nlen);
        setX(c, 0, old);
        return;
    }
    if (!(flags & 1)) { setX(c, 0, err(E_NOMEM)); return; }
    u64 dst = mmap_find(c, nlen);
    if (!dst) { setX(c, 0, err(E_NOMEM)); return; }
    u64 vm = c.mm->vm_pages;
    u64 moved = mm_move(c, old, olen, dst);
    bool ok = moved == olen && mm_map_lazy(c, dst + olen, nlen - olen, perm);
    if (!ok) {
        mm_move(c, dst, moved, old);  // back where they were: the old tables still exist
        mm_range(c, RANGE_UNMAP, dst, nlen, 0);
        c.mm->vm_pages = vm;
        setX(c, 0, err(E_NOMEM));
        return;
    }
    mm_range(c, RANGE_UNMAP, old, olen, 0);
    fmap_move(c, old, olen, dst);
    fmap_grow(c, dst + olen, dst + nlen);
    c.mm->vm_pages = vm + ((nlen - olen) >> PAGE_SHIFT);
    // The TLB: the old range's entries went with its unmap (mm_range); the new range
    // was unmapped before, so none of its pages had any.
    setX(c, 0, dst);
}

#include "mm_file.h"
