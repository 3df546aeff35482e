// Portability layer: the same source compiles under NVRTC (device) and as host C++.
//
// Under NVRTC there is no C++ standard library, so everything the core needs (fixed-width
// integers, bit tricks, float bit casts, atomics, math) is defined here once.
#pragma once

#if defined(__CUDACC__)
#define GPUOS_DEVICE 1
#define GFN __host__ __device__ __forceinline__
#define GFN_NOINLINE __host__ __device__ __noinline__
// A read-only table in the constant cache (generated tables indexed by a value that the
// lanes of a warp mostly share).
#define GCONST static __constant__ const
// Instruction handlers: called from one site each (the generated decoder's switch);
// kept out of line on the device so the interpreter loop stays a small function and
// NVRTC compiles it in seconds rather than many minutes.
#define HANDLER __host__ __device__ __noinline__
// The handlers of the most frequent instructions (branches, moves, add/sub, logic,
// loads and stores; see docs/BENCHMARKS.md): inlined into the dispatch switch, which
// saves a call, its argument moves and the reconvergence around it per guest
// instruction (+20 % single-lane speed on an H100). -DGPUOS_OUTLINE_HOT (in
// GPUOS_NVRTC_OPTS) keeps them out of line, for comparison.
#ifdef GPUOS_OUTLINE_HOT
#define HOT_HANDLER HANDLER
#else
#define HOT_HANDLER __host__ __device__ __forceinline__
#endif
#else
#define GPUOS_DEVICE 0
#define GFN static inline __attribute__((always_inline))
#define GFN_NOINLINE static __attribute__((noinline))
#define GCONST static const
#ifdef GPUOS_T2_UNIT
// A tier-2 translation compiled on the host (crates/gpuos/src/translate/): every handler
// is inlined into the block functions, so guest registers stay in host registers
// within a block.
#define HANDLER static inline __attribute__((always_inline))
#else
#define HANDLER static inline
#endif
#define HOT_HANDLER HANDLER
#include <stdint.h>
#include <string.h>
#include <math.h>
#include <fenv.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#endif

#if GPUOS_DEVICE && defined(__CUDACC_RTC__)
typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef signed char int8_t;
typedef short int16_t;
typedef int int32_t;
typedef long long int64_t;
typedef unsigned long long uintptr_t;
#endif

// Loops over whole pages or tables: never unrolled on the device (code size and
// NVRTC compile time grow with every unrolled copy).
#if GPUOS_DEVICE
#define NO_UNROLL _Pragma("unroll 1")
#else
#define NO_UNROLL
#endif
// A loop of a fixed count unrolled whole (its iterations' values kept in registers).
#if GPUOS_DEVICE
#define UNROLL_ALL _Pragma("unroll")
#else
#define UNROLL_ALL _Pragma("GCC unroll 32")
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t i8;
typedef int16_t i16;
typedef int32_t i32;
typedef int64_t i64;
typedef unsigned __int128 u128;
typedef __int128 i128;

// ---- bit manipulation ----------------------------------------------------------------

/// Bits hi..lo (inclusive) of x, shifted down.
GFN u32 BITS(u32 x, int hi, int lo) { return (x >> lo) & ((hi - lo == 31) ? 0xffffffffu : ((1u << (hi - lo + 1)) - 1)); }
/// Sign-extend the low `bits` bits of x.
GFN i64 sext(u64 x, int bits) { return (i64)(x << (64 - bits)) >> (64 - bits); }
/// Mask of the low n bits (n in 0..64).
GFN u64 ones(int n) { return n >= 64 ? ~0ull : ((1ull << n) - 1); }

#if GPUOS_DEVICE
GFN int clz64(u64 x) { return __clzll((long long)x); }
GFN int clz32(u32 x) { return __clz((int)x); }
GFN int popc64(u64 x) { return __popcll(x); }
GFN u32 rbit32(u32 x) { return __brev(x); }
GFN u64 rbit64(u64 x) { return __brevll(x); }
#else
GFN int clz64(u64 x) { return x ? __builtin_clzll(x) : 64; }
GFN int clz32(u32 x) { return x ? __builtin_clz(x) : 32; }
GFN int popc64(u64 x) { return __builtin_popcountll(x); }
GFN u32 rbit32(u32 x) {
    x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
    x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
    x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
    return __builtin_bswap32(x);
}
GFN u64 rbit64(u64 x) { return ((u64)rbit32((u32)x) << 32) | rbit32((u32)(x >> 32)); }
#endif
GFN u16 bswap16(u16 x) { return (u16)((x >> 8) | (x << 8)); }
GFN u32 bswap32(u32 x) { return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24); }
GFN u64 bswap64(u64 x) { return ((u64)bswap32((u32)x) << 32) | bswap32((u32)(x >> 32)); }

// ---- float bit casts -----------------------------------------------------------------

#if GPUOS_DEVICE
GFN u32 f32_bits(float f) { return __float_as_uint(f); }
GFN float bits_f32(u32 u) { return __uint_as_float(u); }
GFN u64 f64_bits(double d) { return (u64)__double_as_longlong(d); }
GFN double bits_f64(u64 u) { return __longlong_as_double((long long)u); }
#else
GFN u32 f32_bits(float f) { u32 u; memcpy(&u, &f, 4); return u; }
GFN float bits_f32(u32 u) { float f; memcpy(&f, &u, 4); return f; }
GFN u64 f64_bits(double d) { u64 u; memcpy(&u, &d, 8); return u; }
GFN double bits_f64(u64 u) { double d; memcpy(&d, &u, 8); return d; }
#endif

// ---- memory helpers ------------------------------------------------------------------

/// Ask for the n bytes at p ahead of a walk or a copy by this one thread: on the GPU
/// each 128-byte line into the multiprocessor's L1 (PTX `prefetch.L1`, generic
/// addressing), all of them in flight at once, so that the walk's groups of loads,
/// which each wait for their data, find it there instead of each waiting a latency of
/// L2 or HBM. A hint: no register is written and nothing waits for it. The host:
/// nothing (its prefetchers follow a sequential walk). -DGPUOS_NO_PREFETCH (a variant
/// to measure): nothing on the GPU either.
GFN void rt_prefetch(const void* p, u64 n) {
#if GPUOS_DEVICE && !defined(GPUOS_NO_PREFETCH)
    const u8* end = (const u8*)p + n;
    NO_UNROLL for (const u8* a = (const u8*)((uintptr_t)p & ~(uintptr_t)127); a < end; a += 128)
        asm volatile("prefetch.L1 [%0];" ::"l"(a));
#else
    (void)p;
    (void)n;
#endif
}

/// Copy the first n & ~255 bytes (8-byte aligned) in groups of 256: thirty-two loads
/// issued before their stores. A copy by one GPU thread waits a memory latency per
/// group (the next group's loads may not pass this one's stores: the buffers may
/// overlap as far as the compiler knows), so a 4 KiB page (a copy-on-write break) or a
/// process's Proc (a fork, a thread's creation) waits 16 latencies instead of 64 in
/// groups of eight. Out of line: its 32 live registers stay out of its callers.
/// Returns the bytes copied.
GFN_NOINLINE u64 rt_copy_groups256(u64* d, const u64* s, u64 n) {
    u64 i = 0;
    // The source 4 KiB ahead of the group being copied is asked for (`rt_prefetch`).
    rt_prefetch(s, n < 4096 ? n : 4096);
    NO_UNROLL for (; i + 32 <= n / 8; i += 32) {
        if ((i + 32) * 8 + 4096 <= n) rt_prefetch(s + i + 512, 256);
        u64 a[32];
        UNROLL_ALL for (int k = 0; k < 32; k++) a[k] = s[i + k];
        UNROLL_ALL for (int k = 0; k < 32; k++) d[i + k] = a[k];
    }
    return i * 8;
}

/// Copy n bytes. Loads are issued in groups (of 32 words, `rt_copy_groups256`, then of
/// eight) before their stores, so that a copy out of host memory (a syscall's answer,
/// read across PCIe by a lane) keeps reads in flight instead of waiting a round trip
/// for each, and a copy within device memory a latency per group.
/// -DGPUOS_MEMCPY_NARROW (a variant to measure): groups of eight only.
GFN void rt_memcpy(void* dst, const void* src, u64 n) {
    u8* d = (u8*)dst;
    const u8* s = (const u8*)src;
    u64 i = 0;
    if ((((uintptr_t)d | (uintptr_t)s) & 7) == 0) {
#ifndef GPUOS_MEMCPY_NARROW
        if (n >= 256) i = rt_copy_groups256((u64*)d, (const u64*)s, n);
#endif
        NO_UNROLL for (; i + 64 <= n; i += 64) {
            const u64* q = (const u64*)(s + i);
            u64 a0 = q[0], a1 = q[1], a2 = q[2], a3 = q[3], a4 = q[4], a5 = q[5], a6 = q[6], a7 = q[7];
            u64* o = (u64*)(d + i);
            o[0] = a0; o[1] = a1; o[2] = a2; o[3] = a3; o[4] = a4; o[5] = a5; o[6] = a6; o[7] = a7;
        }
        NO_UNROLL for (; i + 8 <= n; i += 8) *(u64*)(d + i) = *(const u64*)(s + i);
    } else {
        NO_UNROLL for (; i + 8 <= n; i += 8) {
            u8 b0 = s[i], b1 = s[i + 1], b2 = s[i + 2], b3 = s[i + 3];
            u8 b4 = s[i + 4], b5 = s[i + 5], b6 = s[i + 6], b7 = s[i + 7];
            d[i] = b0; d[i + 1] = b1; d[i + 2] = b2; d[i + 3] = b3;
            d[i + 4] = b4; d[i + 5] = b5; d[i + 6] = b6; d[i + 7] = b7;
        }
    }
    NO_UNROLL for (; i < n; i++) d[i] = s[i];
}
GFN void rt_memset(void* dst, int v, u64 n) {
    u8* d = (u8*)dst;
#if GPUOS_DEVICE
    // 16-byte stores on the GPU (a new table's or page's zeroing): half the store
    // instructions of one thread, which issues them one after another.
    if ((((uintptr_t)d | n) & 15) == 0) {
        u64 w = 0x0101010101010101ull * (u8)v;
        ulonglong2 w2 = make_ulonglong2(w, w);
        NO_UNROLL for (u64 i = 0; i < n; i += 16) *(ulonglong2*)(d + i) = w2;
        return;
    }
#endif
    if ((((uintptr_t)d | n) & 7) == 0) {
        u64 w = 0x0101010101010101ull * (u8)v;
        NO_UNROLL for (u64 i = 0; i < n; i += 8) *(u64*)(d + i) = w;
        return;
    }
    NO_UNROLL for (u64 i = 0; i < n; i++) d[i] = (u8)v;
}

// ---- atomics (system scope: visible to the host and to every lane) ------------------

#if GPUOS_DEVICE
GFN u32 atomic_cas_u32(u32* p, u32 expect, u32 desired) { return atomicCAS_system((unsigned int*)p, expect, desired); }
GFN u64 atomic_add_u64(u64* p, u64 v) { return (u64)atomicAdd_system((unsigned long long*)p, (unsigned long long)v); }
GFN u32 atomic_add_u32(u32* p, u32 v) { return atomicAdd_system((unsigned int*)p, v); }
GFN u32 atomic_sub_u32(u32* p, u32 v) { return atomicSub_system((unsigned int*)p, v); }
GFN void atomic_fence() { __threadfence_system(); }
GFN u64 load_acquire_u64(const u64* p) { u64 v = *(volatile const u64*)p; __threadfence_system(); return v; }
GFN void store_release_u64(u64* p, u64 v) { __threadfence_system(); *(volatile u64*)p = v; }
GFN u32 load_acquire_u32(const u32* p) { u32 v = *(volatile const u32*)p; __threadfence_system(); return v; }
GFN void store_release_u32(u32* p, u32 v) { __threadfence_system(); *(volatile u32*)p = v; }
GFN u32 load_relaxed_u32(const u32* p) { return *(volatile const u32*)p; }
GFN u64 load_relaxed_u64(const u64* p) { return *(volatile const u64*)p; }
GFN void cpu_relax() { __nanosleep(100); }
/// A clock in nanoseconds for timing (the GPU's global timer; CLOCK_MONOTONIC on the host).
GFN u64 now_ns() {
    u64 t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}
#else
GFN u32 atomic_cas_u32(u32* p, u32 expect, u32 desired) { __atomic_compare_exchange_n(p, &expect, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE); return expect; }
GFN u64 atomic_add_u64(u64* p, u64 v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
GFN u32 atomic_add_u32(u32* p, u32 v) { return __atomic_fetch_add(p, v, __ATOMIC_ACQ_REL); }
GFN u32 atomic_sub_u32(u32* p, u32 v) { return __atomic_fetch_sub(p, v, __ATOMIC_ACQ_REL); }
GFN void atomic_fence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
GFN u64 load_acquire_u64(const u64* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
GFN void store_release_u64(u64* p, u64 v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
GFN u32 load_acquire_u32(const u32* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
GFN void store_release_u32(u32* p, u32 v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
GFN u32 load_relaxed_u32(const u32* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
GFN u64 load_relaxed_u64(const u64* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
GFN void cpu_relax() { __builtin_ia32_pause(); }
GFN u64 now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (u64)ts.tv_sec * 1000000000ull + (u64)ts.tv_nsec;
}
#endif

/// The device clock for the round trip's stage stamps (`gpuos run -v`'s means), which
/// nothing else reads. -DGPUOS_NO_RT_STAMPS (a variant to measure what the stamps cost:
/// five clock reads a round trip) makes them 0.
GFN u64 rt_stamp() {
#ifdef GPUOS_NO_RT_STAMPS
    return 0;
#else
    return now_ns();
#endif
}

/// The nanoseconds since `t`, a stage's start, for the round trip's means: 0 under
/// -DGPUOS_NO_RT_STAMPS, where `t` may still be a clock reading (`Proc::rt_posted_at`,
/// which the lane's poll back-off reads too) that a stamp of 0 would turn into garbage.
GFN u64 rt_since(u64 t) {
#ifdef GPUOS_NO_RT_STAMPS
    (void)t;
    return 0;
#else
    return now_ns() - t;
#endif
}

// Device-scope atomics, fences, acquire loads and release stores: for data that only
// lanes touch while kernels run (the frame pool, the run queue and tasks' places, futex
// queues, the page and stat caches, all in device memory). A system-scope fence also
// waits for the lane's writes across PCIe to land, which these do not need; the host
// reads them only after the kernels have ended.
#if GPUOS_DEVICE
GFN u64 atomic_cas_u64_dev(u64* p, u64 expect, u64 desired) {
    return (u64)atomicCAS((unsigned long long*)p, (unsigned long long)expect, (unsigned long long)desired);
}
GFN u32 atomic_cas_u32_dev(u32* p, u32 expect, u32 desired) { return atomicCAS((unsigned int*)p, expect, desired); }
GFN u32 atomic_or_u32_dev(u32* p, u32 v) { return atomicOr((unsigned int*)p, v); }
GFN u32 atomic_add_u32_dev(u32* p, u32 v) { return atomicAdd((unsigned int*)p, v); }
GFN u64 atomic_add_u64_dev(u64* p, u64 v) { return (u64)atomicAdd((unsigned long long*)p, (unsigned long long)v); }
GFN void atomic_fence_dev() { __threadfence(); }
GFN u64 load_acquire_dev_u64(const u64* p) { u64 v = *(volatile const u64*)p; __threadfence(); return v; }
GFN void store_release_dev_u64(u64* p, u64 v) { __threadfence(); *(volatile u64*)p = v; }
GFN u32 load_acquire_dev_u32(const u32* p) { u32 v = *(volatile const u32*)p; __threadfence(); return v; }
GFN void store_release_dev_u32(u32* p, u32 v) { __threadfence(); *(volatile u32*)p = v; }
/// Let other threads run while this one waits for them (a spare lane to come home).
GFN void rt_yield() { __nanosleep(1000); }
/// A load that another lane's latest store reaches (the GPU's L1 is not coherent
/// between multiprocessors: a volatile load is served by L2).
GFN u64 load_coherent_u64(const u64* p) { return *(volatile const u64*)p; }
GFN u32 load_coherent_u32(const u32* p) { return *(volatile const u32*)p; }
#else
GFN u64 atomic_cas_u64_dev(u64* p, u64 expect, u64 desired) {
    __atomic_compare_exchange_n(p, &expect, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    return expect;
}
GFN u32 atomic_cas_u32_dev(u32* p, u32 expect, u32 desired) { return atomic_cas_u32(p, expect, desired); }
GFN u32 atomic_or_u32_dev(u32* p, u32 v) { return __atomic_fetch_or(p, v, __ATOMIC_ACQ_REL); }
GFN u32 atomic_add_u32_dev(u32* p, u32 v) { return atomic_add_u32(p, v); }
GFN u64 atomic_add_u64_dev(u64* p, u64 v) { return atomic_add_u64(p, v); }
GFN void atomic_fence_dev() { atomic_fence(); }
GFN u64 load_acquire_dev_u64(const u64* p) { return load_acquire_u64(p); }
GFN void store_release_dev_u64(u64* p, u64 v) { store_release_u64(p, v); }
GFN u32 load_acquire_dev_u32(const u32* p) { return load_acquire_u32(p); }
GFN void store_release_dev_u32(u32* p, u32 v) { store_release_u32(p, v); }
/// Let other threads run while this one waits for them (a spare lane to come home):
/// the machine may have fewer cores than busy threads.
GFN void rt_yield() {
    struct timespec ts = {0, 1000};
    nanosleep(&ts, 0);
}
GFN u64 load_coherent_u64(const u64* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
GFN u32 load_coherent_u32(const u32* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
#endif

/// -DGPUOS_SPAWN_SPLIT, a variant to measure where a spawn's device time goes: the
/// stages of clone_do, thread_create and a fork's pt_clone add their device time to
/// `MachineHdr::spawn_stage_ns[k]` (the SPAWN_* indices below, named for `gpuos run -v`
/// in crates/gpuos/src/backend/mod.rs `SPAWN_STAGE_NAMES`), whose means per spawn `-v`
/// prints (SPAWN_TABLE_FRAMES is the part of SPAWN_TABLES spent taking and zeroing
/// the new tables' frames; the other stages do not overlap). `SPAWN_STAGE(m, k, t)`
/// adds the time since `t` to stage k and restarts `t`.
#define SPAWN_PRELUDE 0
#define SPAWN_SLOT 1
#define SPAWN_PROC_COPY 2
#define SPAWN_TABLES 3
#define SPAWN_TABLE_FRAMES 4
#define SPAWN_FRESH 5
#define SPAWN_FILE_RANGES 6
#define SPAWN_FAMILY 7
#ifdef GPUOS_SPAWN_SPLIT
#define SPAWN_T0(t) u64 t = now_ns()
#define SPAWN_STAGE(m, k, t) \
    do { \
        u64 t_ = now_ns(); \
        atomic_add_u64_dev(&(m)->spawn_stage_ns[k], t_ - (t)); \
        (t) = t_; \
    } while (0)
#else
#define SPAWN_T0(t) (void)0
#define SPAWN_STAGE(m, k, t) (void)0
#endif

// ---- lock-free stacks ------------------------------------------------------------------
// Treiber stacks of u32 indices, linked through a u32 word of each element (index + 1 of
// the next, 0 at the end). The head holds a change counter in its high half, against
// ABA, and the top's index + 1 in its low half (0: empty). The frame pool's free lists
// (kernel/mm/mm.h) and the free child slots (kernel/proc/family.h) are such stacks.

/// Push the chain first..last, already linked, onto the stack with head `h`; `last_link`
/// is the link word of `last`.
GFN void tstack_push(u64* h, u32 first, u32* last_link) {
    for (;;) {
        u64 old = load_coherent_u64(h);
        *(volatile u32*)last_link = (u32)old;
        atomic_fence_dev();  // release: the link is visible before the head names it
        u64 head = (((old >> 32) + 1) << 32) | ((u64)first + 1);
        if (atomic_cas_u64_dev(h, old, head) == old) return;
    }
}

/// Pop an element from the stack with head `h`: its index + 1, or 0 when the stack is
/// empty. `link(i)` is the address of element i's link word.
template <typename Link>
GFN u32 tstack_pop(u64* h, Link link) {
    for (;;) {
        u64 old = load_coherent_u64(h);
        u32 top = (u32)old;
        if (top == 0) return 0;
        atomic_fence_dev();  // acquire: the link is read after the head that named it
        // If another thread takes `top` meanwhile, this link may be stale, but the head
        // has changed (its counter too), so the exchange fails and we retry.
        u32 next = *(volatile u32*)link(top - 1);
        u64 head = (((old >> 32) + 1) << 32) | next;
        if (atomic_cas_u64_dev(h, old, head) == old) return top;
    }
}
