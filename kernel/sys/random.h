// getrandom(2) on the device (issue 14: serve on the device what needs no host).
//
// The bytes are ChaCha20's keystream (RFC 8439 section 2.3's block function, 20 rounds,
// in D. J. Bernstein's original layout: a 64-bit block counter and a 64-bit nonce), keyed
// per run by 32 bytes the host drew from its own getrandom (`MachineHdr::rng_key`), the
// nonce the lane's index, the counter the lane's own (`Proc::rng_ctr` of its first
// process: one lane alone serves its family's calls, spare lanes hand them back). So
// every lane of every run draws a stream of its own and never a block twice, as a
// stream cipher's keystream is used; nothing of it is kept after it is copied out.
// Semantics: getrandom(2) once the kernel's pool is initialised (it never blocks:
// GRND_NONBLOCK, GRND_RANDOM and GRND_INSECURE change nothing); drivers/char/random.c.
#pragma once
#include "marshal.h"

#define GRND_NONBLOCK 1u
#define GRND_RANDOM 2u
#define GRND_INSECURE 4u
/// The most one call returns (INT_MAX >> 6, as the host handler and Linux before 5.18).
#define GETRANDOM_MAX 33554431ull

GFN u32 chacha_rotl(u32 v, int n) { return v << n | v >> (32 - n); }

/// ChaCha's quarter round on words a, b, c, d of x (RFC 8439 section 2.1).
GFN void chacha_qr(u32* x, int a, int b, int c, int d) {
    x[a] += x[b]; x[d] = chacha_rotl(x[d] ^ x[a], 16);
    x[c] += x[d]; x[b] = chacha_rotl(x[b] ^ x[c], 12);
    x[a] += x[b]; x[d] = chacha_rotl(x[d] ^ x[a], 8);
    x[c] += x[d]; x[b] = chacha_rotl(x[b] ^ x[c], 7);
}

/// One 64-byte ChaCha20 block of key (8 words), block counter ctr and nonce, into out
/// (16 little-endian words: on both backends the bytes are the words' in memory).
GFN_NOINLINE void chacha20_block(const u64* key, u64 ctr, u64 nonce, u32* out) {
    u32 s[16] = {0x61707865u, 0x3320646eu, 0x79622d32u, 0x6b206574u};  // "expand 32-byte k"
    NO_UNROLL for (int i = 0; i < 4; i++) {
        s[4 + 2 * i] = (u32)key[i];
        s[5 + 2 * i] = (u32)(key[i] >> 32);
    }
    s[12] = (u32)ctr, s[13] = (u32)(ctr >> 32), s[14] = (u32)nonce, s[15] = (u32)(nonce >> 32);
    NO_UNROLL for (int i = 0; i < 16; i++) out[i] = s[i];
    NO_UNROLL for (int r = 0; r < 10; r++) {  // a column round and a diagonal round each
        chacha_qr(out, 0, 4, 8, 12), chacha_qr(out, 1, 5, 9, 13), chacha_qr(out, 2, 6, 10, 14), chacha_qr(out, 3, 7, 11, 15);
        chacha_qr(out, 0, 5, 10, 15), chacha_qr(out, 1, 6, 11, 12), chacha_qr(out, 2, 7, 8, 13), chacha_qr(out, 3, 4, 9, 14);
    }
    NO_UNROLL for (int i = 0; i < 16; i++) out[i] += s[i];
}

/// getrandom(2): buflen bytes (at most GETRANDOM_MAX) of the lane's keystream at buf;
/// EINVAL for unknown flags or GRND_RANDOM with GRND_INSECURE; the bytes stored before
/// a bad page, EFAULT when there are none (as Linux since 5.18).
HANDLER void sys_getrandom(Core& c) {
    u64 buf = X(c, 0), n = X(c, 1);
    u32 flags = (u32)X(c, 2);
    if ((flags & ~(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE)) ||
        (flags & (GRND_RANDOM | GRND_INSECURE)) == (GRND_RANDOM | GRND_INSECURE)) {
        setX(c, 0, err(E_INVAL));
        return;
    }
    if (n > GETRANDOM_MAX) n = GETRANDOM_MAX;
    Proc* lp = lane_proc(c.m, c.p);
    u64 done = 0;
    u32 block[16];
    NO_UNROLL while (done < n) {
        chacha20_block(c.m->rng_key, lp->rng_ctr++, lp->slot, block);
        u64 k = n - done < 64 ? n - done : 64, stored = 0;
        NO_UNROLL while (stored < k) {  // up to each page's end: a bad page stops it there
            u64 va = buf + done + stored, room = PAGE_SZ - (va & (PAGE_SZ - 1));
            u64 part = k - stored < room ? k - stored : room;
            bool ok = copy_to_guest(c, va, (const u8*)block + stored, part);
            if (c.exc != EXC_NONE) return;  // killed (out of memory)
            if (!ok) break;
            stored += part;
        }
        done += stored;
        if (stored < k) break;
    }
    rt_memset(block, 0, sizeof block);
    setX(c, 0, done || n == 0 ? done : (u64)err(E_FAULT));
}
