// The file-backed ranges of an address space, what /proc/PID/maps names (procfs.h):
// Linux keeps a mapping's file and page offset in its vm_area_struct (vm_file,
// vm_pgoff) and show_map_vma prints them; gpuos's page tables know only pages, so the
// leader of each address space keeps a small table of its file mappings beside them
// (`Proc::fmaps`): start, end, the file offset at start, the file's identity (the host
// names it: host/mapfile.rs) and whether the mapping is shared. Each file mapping made
// adds one (mmap of a file, an execve's segments); what replaces or removes pages cuts
// the ranges (mmap over them, munmap, mremap), as Linux splits and trims its VMAs; mremap
// moves them; fork copies the table, execve starts a new one. mprotect changes nothing
// here: the permissions are the page tables'.
//
// The table lives in a frame of the pool, taken when the address space first needs one
// of its own: the processes started from the image template share the template's
// ranges (`MachineHdr::tmpl_fmaps`, `FMAPS_TEMPLATE`) until one of them changes them, so
// lanes running a static program cost nothing. A table that cannot be had or is full
// loses names, never a mapping: /proc/PID/maps then shows those pages unnamed.
#pragma once
#include "../mm/mm.h"

/// A process's own table: one frame.
#define FMAP_CAP ((PAGE_SZ - 32) / sizeof(FileMap))
struct FmapTable {
    u64 n;
    u64 pad[3];
    FileMap e[FMAP_CAP];
};

/// The file ranges of address space g (its leader): *n of them, or none (0).
GFN const FileMap* fmap_entries(MachineHdr* m, const Proc* g, u64* n) {
    *n = 0;
    if (g->fmaps == 0) return 0;
    if (g->fmaps == FMAPS_TEMPLATE) {
        *n = m->tmpl_nfmaps;
        return m->tmpl_fmaps;
    }
    FmapTable* t = (FmapTable*)frame_ptr(m, g->fmaps - 1);
    *n = t->n;
    return t->e;
}

/// Give up g's table (execve, the end of the address space).
GFN void fmap_free(MachineHdr* m, Proc* g) {
    if (g->fmaps != 0 && g->fmaps != FMAPS_TEMPLATE) frame_unref(m, g->fmaps - 1);
    g->fmaps = 0;
}

/// A copy of g's table for a forked child (`Proc::fmaps`): the template's stays shared;
/// 0 (the child's file mappings unnamed) when no frame is to be had.
GFN_NOINLINE u64 fmap_clone(MachineHdr* m, const Proc* g) {
    if (g->fmaps == 0 || g->fmaps == FMAPS_TEMPLATE) return g->fmaps;
    u64 f = frame_alloc(m);
    if (f == NO_FRAME) return 0;
    rt_memcpy(frame_ptr(m, f), frame_ptr(m, g->fmaps - 1), PAGE_SZ);
    return f + 1;
}

/// g's own table, made (a copy of the template's, or empty) when it has none; null
/// when no frame is to be had.
GFN_NOINLINE FmapTable* fmap_own(MachineHdr* m, Proc* g) {
    if (g->fmaps != 0 && g->fmaps != FMAPS_TEMPLATE) return (FmapTable*)frame_ptr(m, g->fmaps - 1);
    u64 f = frame_alloc(m);  // zeroed: an empty table
    if (f == NO_FRAME) return 0;
    FmapTable* t = (FmapTable*)frame_ptr(m, f);
    if (g->fmaps == FMAPS_TEMPLATE) {
        u64 n = m->tmpl_nfmaps < FMAP_CAP ? m->tmpl_nfmaps : FMAP_CAP;
        NO_UNROLL for (u64 i = 0; i < n; i++) t->e[i] = m->tmpl_fmaps[i];
        t->n = n;
    }
    g->fmaps = f + 1;
    return t;
}

/// Append a range to table t (dropped when it is full: those pages go unnamed).
GFN void fmap_push(FmapTable* t, u64 start, u64 end, u64 offset, u32 file, u32 flags) {
    if (t->n >= FMAP_CAP) return;
    FileMap* e = &t->e[t->n++];
    e->start = start;
    e->end = end;
    e->offset = offset;
    e->file = file;
    e->flags = flags;
}

/// [lo, hi) holds no file any more (unmapped, or replaced by a new mapping): the ranges
/// there go, those across its ends are trimmed (one across both is split in two), as
/// Linux's munmap splits VMAs.
GFN_NOINLINE void fmap_cut(Core& c, u64 lo, u64 hi) {
    u64 n;
    const FileMap* v = fmap_entries(c.m, c.mm, &n);
    bool any = false;
    NO_UNROLL for (u64 i = 0; i < n && !any; i++) any = v[i].start < hi && v[i].end > lo;
    if (!any) return;  // the template's table stays shared
    FmapTable* t = fmap_own(c.m, c.mm);
    if (!t) return;
    u64 k = 0, n0 = t->n;
    NO_UNROLL for (u64 i = 0; i < n0; i++) {
        FileMap e = t->e[i];
        if (e.start < hi && e.end > lo) {
            if (e.end > hi) fmap_push(t, hi, e.end, e.offset + (hi - e.start), e.file, e.flags);  // the part above
            if (e.start >= lo) continue;
            e.end = lo;  // the part below stays in place
        }
        t->e[k++] = e;
    }
    // The parts above were appended after the first n0 entries: move them down.
    NO_UNROLL for (u64 i = n0; i < t->n; i++) t->e[k++] = t->e[i];
    t->n = k;
}

/// A file mapping of [lo, hi) from file offset `offset` of identity `file` was made
/// (mmap(2) of a file, an execve's segment): it replaces whatever was named there.
GFN_NOINLINE void fmap_add(Core& c, u64 lo, u64 hi, u64 offset, u32 file, u32 flags) {
    fmap_cut(c, lo, hi);
    FmapTable* t = fmap_own(c.m, c.mm);
    if (t) fmap_push(t, lo, hi, offset, file, flags);
}

/// mremap(2) moved [from, from+len) to `to` (a range that was free): its file ranges go
/// with it, their offsets kept.
GFN_NOINLINE void fmap_move(Core& c, u64 from, u64 len, u64 to) {
    u64 n;
    const FileMap* v = fmap_entries(c.m, c.mm, &n);
    bool any = false;
    NO_UNROLL for (u64 i = 0; i < n && !any; i++) any = v[i].start < from + len && v[i].end > from;
    if (!any) return;
    FmapTable* t = fmap_own(c.m, c.mm);
    if (!t) return;
    u64 n0 = t->n;
    NO_UNROLL for (u64 i = 0; i < n0; i++) {
        FileMap e = t->e[i];
        if (e.start >= from + len || e.end <= from) continue;
        u64 lo = e.start > from ? e.start : from, hi = e.end < from + len ? e.end : from + len;
        fmap_push(t, lo - from + to, hi - from + to, e.offset + (lo - e.start), e.file, e.flags);
    }
    fmap_cut(c, from, from + len);
}

/// mremap(2) grew the mapping that ends at `end` in place to `new_end`: a file mapping
/// grows with it (Linux's vma_expand: the same file, the offsets going on).
GFN_NOINLINE void fmap_grow(Core& c, u64 end, u64 new_end) {
    u64 n;
    const FileMap* v = fmap_entries(c.m, c.mm, &n);
    u64 i = 0;
    NO_UNROLL for (; i < n && v[i].end != end; i++) {}
    if (i == n) return;
    FmapTable* t = fmap_own(c.m, c.mm);
    if (t && i < t->n) t->e[i].end = new_end;
}

/// The file range holding address a in g's table, or null; *next is the first range
/// start above a (~0 when none): where an unnamed stretch from a ends.
GFN_NOINLINE const FileMap* fmap_at(MachineHdr* m, const Proc* g, u64 a, u64* next) {
    u64 n;
    const FileMap* v = fmap_entries(m, g, &n);
    *next = ~0ull;
    const FileMap* hit = 0;
    NO_UNROLL for (u64 i = 0; i < n; i++) {
        if (v[i].start <= a && a < v[i].end) hit = &v[i];
        if (v[i].start > a && v[i].start < *next) *next = v[i].start;
    }
    return hit;
}
