// The stat cache: answers of newfstatat(2) for absolute paths that the host found in
// the read-only sysroot, kept on the device for every process of the run. A guest that
// starts from a sysroot (python3 looking for its modules) stats the same library paths
// in every lane; each answer, the same for every process as long as the run lasts (the
// host says so: `Outcome::Lasting`, abi.rs OUT_LASTING), then crosses to the host once
// per run instead of once per lane.
//
// An open-addressed table in device memory (`MachineHdr::statc`, `statc_mask + 1`
// entries, zeroed at the start), keyed by the path's bytes and whether the final symlink
// is followed. Entries are only added, never changed or removed: a claimed entry
// (STATC_BUSY) is filled and then published (STATC_READY, release order); readers take
// only published ones. A full neighbourhood, or a path too long for an entry, only
// leaves that answer to the host. The key is the marshalled path the host resolved
// (the lane's request buffer), never the guest's memory again, which another thread of
// the guest could have changed meanwhile: no process can make an entry answer for a
// path other than its own.
#pragma once
#include "../mm/mm.h"

/// struct stat on arm64 (the guest's `newfstatat` output), in bytes.
#define STAT_BYTES 128
/// Path bytes an entry holds, with the NUL: a longer path is not cached.
#define STATC_PATH 240
/// Entries a lookup or an insert looks at from the key's home.
#define STATC_PROBES 16
/// newfstatat's flags: the final symlink not followed; no automount (no effect here).
#define STATC_AT_SYMLINK_NOFOLLOW 0x100u
#define STATC_AT_NO_AUTOMOUNT 0x800u

enum StatcState : u32 { STATC_FREE = 0, STATC_BUSY = 1, STATC_READY = 2 };

/// One entry (STATC_ENTRY_BYTES, abi.rs): `key_len` is the path's length, with bit 31
/// set when the final symlink is not followed.
struct StatcEntry {
    u32 state;
    u32 key_len;
    u64 hash;
    u8 st[STAT_BYTES];
    u8 path[STATC_PATH];
};
static_assert(sizeof(StatcEntry) == STATC_ENTRY_BYTES, "StatcEntry must match abi.rs");

/// FNV-1a of the n bytes at p, with the follow flag mixed in.
GFN u64 statc_hash(const u8* p, u64 n, u32 key_len) {
    u64 h = 0xcbf29ce484222325ull ^ (key_len >> 31);
    for (u64 i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

GFN StatcEntry* statc_at(MachineHdr* m, u64 i) { return (StatcEntry*)(uintptr_t)m->statc + (i & m->statc_mask); }

/// The key length word of a path of n bytes and newfstatat flags `flags`, or 0 when
/// such a call is never cached (flags beyond the two above, AT_EMPTY_PATH among them).
GFN u32 statc_key_len(u64 n, u64 flags) {
    if (flags & ~(u64)(STATC_AT_SYMLINK_NOFOLLOW | STATC_AT_NO_AUTOMOUNT)) return 0;
    return (u32)n | (flags & STATC_AT_SYMLINK_NOFOLLOW ? 0x80000000u : 0);
}

/// Look up the n-byte absolute path `path` (flags of newfstatat); on a hit copy its
/// struct stat to `st` and return true.
GFN_NOINLINE bool statc_find(MachineHdr* m, const u8* path, u64 n, u64 flags, u8* st) {
    u32 key_len = statc_key_len(n, flags);
    if (!m->statc || !key_len || n == 0 || path[0] != '/') return false;
    u64 h = statc_hash(path, n, key_len);
    NO_UNROLL for (u64 i = 0; i < STATC_PROBES; i++) {
        StatcEntry* e = statc_at(m, h + i);
        u32 s = load_acquire_u32(&e->state);
        if (s == STATC_FREE) return false;
        if (s != STATC_READY || e->hash != h || e->key_len != key_len) continue;
        bool same = true;
        for (u64 k = 0; k < n && same; k++) same = e->path[k] == path[k];
        if (!same) continue;
        for (u32 k = 0; k < STAT_BYTES; k++) st[k] = e->st[k];
        return true;
    }
    return false;
}

/// Keep the answer `st` for the n-byte absolute path `path` (flags of newfstatat).
/// Gives up (harmlessly: the host answers again next time) when the path is too long,
/// the neighbourhood is full, or another lane is filling an entry on the way.
GFN_NOINLINE void statc_insert(MachineHdr* m, const u8* path, u64 n, u64 flags, const u8* st) {
    u32 key_len = statc_key_len(n, flags);
    if (!m->statc || !key_len || n == 0 || n >= STATC_PATH || path[0] != '/') return;
    u64 h = statc_hash(path, n, key_len);
    NO_UNROLL for (u64 i = 0; i < STATC_PROBES; i++) {
        StatcEntry* e = statc_at(m, h + i);
        u32 s = load_acquire_u32(&e->state);
        if (s == STATC_BUSY) return;
        if (s == STATC_READY) {
            if (e->hash == h && e->key_len == key_len) return;  // most likely this path
            continue;
        }
        if (atomic_cas_u32(&e->state, STATC_FREE, STATC_BUSY) != STATC_FREE) return;
        e->hash = h;
        e->key_len = key_len;
        for (u64 k = 0; k < n; k++) e->path[k] = path[k];
        for (u32 k = 0; k < STAT_BYTES; k++) e->st[k] = st[k];
        store_release_u32(&e->state, STATC_READY);
        return;
    }
}

/// Copy n bytes (a multiple of 8) from the lane's request buffer, in 8-byte words: on
/// the GPU it is host memory, where each load is a PCIe round trip.
GFN void statc_copy_words(u8* dst, const u8* src, u64 n) {
    for (u64 k = 0; k < n; k += 8) *(u64*)(dst + k) = *(const u64*)(src + k);
}

/// A newfstatat the host answered `OUT_LASTING`: keep it. `req_buf` is the lane's
/// request buffer, whose first `in_len` bytes are the path the host resolved (with its
/// NUL), `out` its answer of `olen` bytes, `flags` the call's.
GFN_NOINLINE void statc_keep(MachineHdr* m, const u8* req_buf, u64 in_len, const u8* out, u64 olen, u64 flags) {
    if (!m->statc || olen != STAT_BYTES || in_len < 2 || in_len > STATC_PATH) return;
    u8 path[STATC_PATH];
    u8 st[STAT_BYTES];
    statc_copy_words(path, req_buf, (in_len + 7) & ~7ull);
    statc_copy_words(st, out, STAT_BYTES);
    if (path[in_len - 1] != 0) return;  // not one string: not the marshalled path
    statc_insert(m, path, in_len - 1, flags, st);
}
