// The stat cache: answers of newfstatat(2) for absolute paths that the host found in
// the read-only sysroot, kept on the device for every process of the run. A guest that
// starts from a sysroot (python3 looking for its modules) stats the same library paths
// in every lane; each answer, the same for every process as long as the run lasts (the
// host says so: `Outcome::Lasting`, abi.rs OUT_LASTING), then crosses to the host once
// per run instead of once per lane.
//
// An open-addressed table in device memory (`MachineHdr::statc`, `statc_mask + 1`
// entries, zeroed at the start), keyed by the path's bytes and whether the final symlink
// is followed. Entries are only added, never removed. The first lane to miss a path
// claims an entry for it (STATC_BUSY while its key is written, then STATC_PENDING) and
// asks the host; lanes that miss the same path meanwhile (copies of one program run the
// same stats at the same moment) park and run the call again later instead of asking
// too (STATC_WAIT), until the answer settles the entry: STATC_READY with the answer
// when the host says it lasts, STATC_ABSENT with the error when the host says the path
// is missing for good (ENOENT or ENOTDIR below a directory of the sysroot, where no
// process of the run can create it: host/fs.rs `lookup_lasts`), STATC_HOST otherwise
// (every lane asks the host for that path from then on). A pending entry whose asker never comes back (killed while it
// waited) stops holding the others back after STATC_WAIT_NS. A full neighbourhood, or
// a path too long for an entry, only leaves that answer to the host.
//
// An answer settles the entry of the marshalled path the host resolved (the lane's
// request buffer), never of the guest's memory read again, which another thread of the
// guest could have changed meanwhile: no process can make an entry answer for a path
// other than the one the host looked up. (Such a change between the lookup and the
// marshalling leaves the claimed entry pending until its deadline: a delay, never a
// wrong answer.)
#pragma once
#include "../mm/mm.h"

/// struct stat on arm64 (the guest's `newfstatat` output), in bytes.
#define STAT_BYTES 128
/// Path bytes an entry holds, with the NUL: a longer path is not cached.
#define STATC_PATH 216
/// How long lanes wait for a pending entry's answer before asking the host themselves,
/// in nanoseconds: above a host round trip under load (10.9 ms measured at 10,000
/// lanes of python3).
#define STATC_WAIT_NS 100000000ull
/// Entries a lookup or an insert looks at from the key's home.
#define STATC_PROBES 16
/// newfstatat's flags: the final symlink not followed; no automount (no effect here).
#define STATC_AT_SYMLINK_NOFOLLOW 0x100u
#define STATC_AT_NO_AUTOMOUNT 0x800u

enum StatcState : u32 {
    STATC_FREE = 0,     // no key
    STATC_BUSY = 1,     // claimed, key being written
    STATC_PENDING = 2,  // key written, the claimer asks the host
    STATC_READY = 3,    // the answer is in `st`
    STATC_HOST = 4,     // the answer does not last: ask the host
    STATC_ABSENT = 5,   // the path is missing for good: the error (negative) in `st`'s first word
};

/// One entry (STATC_ENTRY_BYTES, abi.rs): `key_len` is the path's length, with bit 31
/// set when the final symlink is not followed; `deadline` (device clock) ends the wait
/// for a pending entry. A READY entry of a followed path may also hold what an openat
/// of it answers (kernel/sys/devread.h `devread_open`): `open_rec` the record's first
/// word (the file's identity | the path's open token << 32; 0: not known yet, written
/// last with release order), `open_size` its size (a directory's: its listing's).
struct StatcEntry {
    u32 state;
    u32 key_len;
    u64 hash;
    u64 deadline;
    u64 open_rec;
    u64 open_size;
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

/// Whether a newfstatat with `flags` may be answered from the cache: none beyond the
/// two above (AT_EMPTY_PATH, which names an fd, among them).
GFN bool statc_flags_ok(u64 flags) { return !(flags & ~(u64)(STATC_AT_SYMLINK_NOFOLLOW | STATC_AT_NO_AUTOMOUNT)); }

/// The key length word of a path of n bytes and newfstatat flags `flags`, or 0 when
/// such a call is never cached.
GFN u32 statc_key_len(u64 n, u64 flags) {
    if (!statc_flags_ok(flags)) return 0;
    return (u32)n | (flags & STATC_AT_SYMLINK_NOFOLLOW ? 0x80000000u : 0);
}

/// openat(2)'s flags (arm64): create the file; do not follow a final symlink (whose
/// absences are kept as newfstatat's with STATC_AT_SYMLINK_NOFOLLOW).
#define OPENAT_O_CREAT 0100u
#define OPENAT_O_NOFOLLOW 0100000u

/// What a lookup found.
enum StatcFind : u32 {
    STATC_MISS = 0,     // ask the host (the path is not kept, or never will be)
    STATC_HIT = 1,      // the answer was copied out
    STATC_WAIT = 2,     // another lane asks the host for it: run the call again later
    STATC_CLAIMED = 3,  // this lane claimed the path: ask the host, whose answer settles it
    STATC_GONE = 4,     // the path is missing for good: the error (negative) in `st`'s first word
};

/// Whether entry e (state `s`, at least PENDING) is the key (h, key_len, path).
GFN bool statc_is(StatcEntry* e, u64 h, u32 key_len, const u8* path, u64 n) {
    if (e->hash != h || e->key_len != key_len) return false;
    for (u64 k = 0; k < n; k++)
        if (e->path[k] != path[k]) return false;
    return true;
}

/// Look up the n-byte absolute path `path` (flags of newfstatat): a hit copies its
/// struct stat to `st` (STAT_BYTES; a path missing for good: the error as an i64 in its
/// first 8 bytes), and with `open` its open record (`open[0]`, 0 when none, and
/// `open[1]`: StatcEntry's `open_rec`, `open_size`); a path no entry has yet is claimed
/// for this lane when `claim` (a stat, whose answer settles the entry; openat's look
/// claims nothing).
GFN_NOINLINE u32 statc_find(MachineHdr* m, const u8* path, u64 n, u64 flags, u8* st, bool claim = true,
                            u64* open = 0) {
    u32 key_len = statc_key_len(n, flags);
    if (!m->statc || !key_len || n == 0 || n >= STATC_PATH || path[0] != '/') return STATC_MISS;
    u64 h = statc_hash(path, n, key_len);
    NO_UNROLL for (u64 i = 0; i < STATC_PROBES; i++) {
        StatcEntry* e = statc_at(m, h + i);
        u32 s = load_acquire_dev_u32(&e->state);
        if (s == STATC_FREE) {
            if (!claim || atomic_cas_u32(&e->state, STATC_FREE, STATC_BUSY) != STATC_FREE) return STATC_MISS;
            e->hash = h;
            e->key_len = key_len;
            e->deadline = now_ns() + STATC_WAIT_NS;
            for (u64 k = 0; k < n; k++) e->path[k] = path[k];
            store_release_dev_u32(&e->state, STATC_PENDING);
            return STATC_CLAIMED;
        }
        if (s == STATC_BUSY || !statc_is(e, h, key_len, path, n)) continue;
        if (s == STATC_READY) {
            for (u32 k = 0; k < STAT_BYTES; k++) st[k] = e->st[k];
            if (open) {
                open[0] = load_acquire_dev_u64(&e->open_rec);
                open[1] = e->open_size;
            }
            return STATC_HIT;
        }
        if (s == STATC_ABSENT) {
            for (u32 k = 0; k < 8; k++) st[k] = e->st[k];
            return STATC_GONE;
        }
        if (s == STATC_PENDING && now_ns() < e->deadline) return STATC_WAIT;
        return STATC_MISS;
    }
    return STATC_MISS;
}

/// The host answered newfstatat for the n-byte absolute path `path` (flags of the
/// call): `st` when the answer lasts, else 0; `gone` the lasting error of a path missing
/// for good (negative; 0 otherwise, and `st` 0 with it). Settles the path's pending entry
/// (a lane other than its claimer may be the one to answer, after the wait ran out), or
/// adds a lasting answer no entry has yet. Returns the path's entry when it holds an
/// answer of `st` now (READY: settled here or before), else null.
GFN_NOINLINE StatcEntry* statc_settle(MachineHdr* m, const u8* path, u64 n, u64 flags, const u8* st, i64 gone) {
    u32 key_len = statc_key_len(n, flags);
    if (!m->statc || !key_len || n == 0 || n >= STATC_PATH || path[0] != '/') return 0;
    u64 h = statc_hash(path, n, key_len);
    NO_UNROLL for (u64 i = 0; i < STATC_PROBES; i++) {
        StatcEntry* e = statc_at(m, h + i);
        u32 s = load_acquire_dev_u32(&e->state);
        if (s == STATC_FREE) {
            if ((!st && !gone) || atomic_cas_u32(&e->state, STATC_FREE, STATC_BUSY) != STATC_FREE) return 0;
            e->hash = h;
            e->key_len = key_len;
            for (u64 k = 0; k < n; k++) e->path[k] = path[k];
        } else if (s == STATC_BUSY || !statc_is(e, h, key_len, path, n)) {
            continue;
        } else if (s != STATC_PENDING || atomic_cas_u32(&e->state, STATC_PENDING, STATC_BUSY) != STATC_PENDING) {
            // Settled already (or by another answer right now).
            return s == STATC_READY && st ? e : 0;
        }
        if (st)
            for (u32 k = 0; k < STAT_BYTES; k++) e->st[k] = st[k];
        else if (gone)
            *(i64*)e->st = gone;  // st is 8-byte aligned (StatcEntry's layout)
        store_release_dev_u32(&e->state, st ? STATC_READY : gone ? STATC_ABSENT : STATC_HOST);
        return st ? e : 0;
    }
    return 0;
}

/// Copy n bytes (a multiple of 8) from the lane's request buffer, in 8-byte words: on
/// the GPU it is host memory, where each load is a PCIe round trip.
GFN void statc_copy_words(u8* dst, const u8* src, u64 n) {
    for (u64 k = 0; k < n; k += 8) *(u64*)(dst + k) = *(const u64*)(src + k);
}

/// The marshalled path of the lane's request (`req_buf`, the first `in_len` bytes, with
/// its NUL) into `path` (STATC_PATH bytes); its length, or -1 when it is not one
/// absolute path that fits an entry.
GFN i64 statc_req_path(const u8* req_buf, u64 in_len, u8* path) {
    if (in_len < 2 || in_len > STATC_PATH) return -1;
    statc_copy_words(path, req_buf, 8);
    if (path[0] != '/') return -1;  // a relative path: never kept
    statc_copy_words(path + 8, req_buf + 8, ((in_len + 7) & ~7ull) - 8);
    if (path[in_len - 1] != 0) return -1;  // not one string: not the marshalled path
    return (i64)in_len - 1;
}

/// The host answered an openat (without O_NOFOLLOW, whose path is the lane's request's)
/// with a lasting record (`rec`: DEVREAD_RECORD_BYTES, its first word an open token in
/// the high half): the path's entry keeps the file's stat (what a stat of the path
/// answers) and the record, by which later opens are answered on the device.
GFN_NOINLINE void statc_opened(MachineHdr* m, const u8* req_buf, u64 in_len, const u64* rec) {
    u8 path[STATC_PATH];
    i64 n = m->statc && (rec[0] >> 32) ? statc_req_path(req_buf, in_len, path) : -1;
    if (n < 0) return;
    StatcEntry* e = statc_settle(m, path, (u64)n, 0, (const u8*)(rec + 2), 0);
    if (!e || load_acquire_dev_u64(&e->open_rec)) return;
    // Every lane's record of the path is the same (it lasts): a race writes one value.
    e->open_size = rec[1];
    store_release_dev_u64(&e->open_rec, rec[0]);
}

/// The host answered a newfstatat: settle its path's entry. `req_buf` is the lane's
/// request buffer, whose first `in_len` bytes are the path the host resolved (with its
/// NUL), `out` the answer of `olen` bytes, `ret` its result, `lasting` whether the host
/// said it lasts (OUT_LASTING: a result of 0 with the stat, or ENOENT/ENOTDIR for a path
/// missing for good), `flags` the call's.
GFN_NOINLINE void statc_answered(MachineHdr* m, const u8* req_buf, u64 in_len, const u8* out, u64 olen, i64 ret,
                                 bool lasting, u64 flags) {
    u8 path[STATC_PATH];
    u8 st[STAT_BYTES];
    i64 n = m->statc ? statc_req_path(req_buf, in_len, path) : -1;
    if (n < 0) return;
    bool found = lasting && ret == 0 && olen == STAT_BYTES;
    i64 gone = lasting && (ret == -E_NOENT || ret == -E_NOTDIR) ? ret : 0;
    if (found) statc_copy_words(st, out, STAT_BYTES);
    statc_settle(m, path, (u64)n, flags, found ? st : 0, gone);
}
