//! The execution core's C entry points (kernel/cpu_api.cpp), compiled into this crate
//! by build.rs. All pointers must point at host memory laid out as in [`crate::abi`].

use crate::abi::{MachineHdr, RingHdr};

extern "C" {
    /// New empty page-table root in the template; `u64::MAX` when out of frames.
    pub fn gpuos_tmpl_new(m: *mut MachineHdr) -> u64;
    /// Map the pages `[va, va + size)` into the template, filled from `data[..len]` and
    /// zeros after (see kernel/proc/template.h `tmpl_map`).
    pub fn gpuos_tmpl_map(
        m: *mut MachineHdr,
        root: u64,
        va: u64,
        data: *const u8,
        len: u64,
        size: u64,
        perm: u64,
    ) -> bool;
    /// Reserve lazily allocated, zero-filled memory in the template (the stack, a .bss).
    pub fn gpuos_tmpl_reserve(m: *mut MachineHdr, root: u64, va: u64, len: u64, perm: u64) -> bool;
    /// Pages the template of root `root` maps, present or reserved (kernel/cpu_api.cpp).
    pub fn gpuos_tmpl_pages(m: *mut MachineHdr, root: u64) -> u64;
    /// The template frame mapped at `va`, or `u64::MAX` (kernel/cpu_api.cpp).
    pub fn gpuos_tmpl_frame(m: *mut MachineHdr, va: u64) -> u64;
    /// Start lane `lane`'s first process from the template (kernel/proc/proc.h
    /// `proc_start`).
    pub fn gpuos_proc_start(m: *mut MachineHdr, lane: u32) -> bool;
    /// Run lane `lane`'s family for a slice of up to `budget` instructions, first
    /// completing its served host request (kernel/sched.h); returns a `LANE_*`.
    pub fn gpuos_lane_run(m: *mut MachineHdr, lane: u32, budget: u64) -> u32;
    /// One step of a spare lane on this host thread (kernel/proc/spare.h `spare_run`):
    /// run an offered task for up to `budget` instructions; returns a `SPARE_*`.
    pub fn gpuos_spare_run(m: *mut MachineHdr, budget: u64) -> u32;
    /// The spare lane on this host thread stops: the task it holds goes home.
    pub fn gpuos_spare_drop(m: *mut MachineHdr);
    /// Producer side of the completion ring (kernel/ring.h `ring_push_result`): publish
    /// `lane` with its served request's result `ret` (an i64 as u64) and `out_len`, the
    /// bytes of output in the lane's buffer. Returns false when the ring is closed.
    pub fn gpuos_ring_push_result(r: *mut RingHdr, lane: u64, ret: u64, out_len: u64) -> bool;
    /// Consumer side of the submission ring.
    pub fn gpuos_ring_pop(r: *mut RingHdr, lane: *mut u64) -> bool;
    /// The Arm ARM's DecodeBitMasks (kernel/a64/a64_common.h `decode_bit_masks`):
    /// false for a reserved encoding, else the masks in `wmask` and `tmask`.
    pub fn gpuos_decode_bit_masks(
        n: u32,
        imms: u32,
        immr: u32,
        immediate: bool,
        datasize: u32,
        wmask: *mut u64,
        tmask: *mut u64,
    ) -> bool;
}

// Entry points only the tests below call.
#[cfg(test)]
extern "C" {
    /// Allocate one zeroed frame from the pool (kernel/mm/mm.h `frame_alloc`); its index,
    /// or `u64::MAX` when the pool is empty.
    pub fn gpuos_frame_alloc(m: *mut MachineHdr) -> u64;
    /// An interleaved frame for guest page `vpn` of a process on `lane` (kernel/mm/mm.h
    /// `il_alloc`), zeroed; `u64::MAX` when interleaving is off or no group is left.
    pub fn gpuos_il_alloc(m: *mut MachineHdr, lane: u32, vpn: u64) -> u64;
    /// Whether frame `f` is a column of an interleaved group.
    pub fn gpuos_frame_il(m: *mut MachineHdr, f: u64) -> bool;
    /// Copy `n` bytes at page offset `off` of frame `f` to `buf`, or from it with
    /// `to_page` (either layout; `page_copy`).
    pub fn gpuos_page_copy(
        m: *mut MachineHdr,
        f: u64,
        off: u64,
        buf: *mut u8,
        n: u64,
        to_page: bool,
    );
    /// Make this host thread allocate from and free into list `shard` first (tests).
    pub fn gpuos_frame_shard_set(shard: u32);
    /// Drop one reference to each of the `n` frames at `f`, in batches as at exit.
    pub fn gpuos_frames_unref(m: *mut MachineHdr, f: *const u64, n: u64);
    /// Producer side of the submission ring (kernel/ring.h).
    pub fn gpuos_ring_push(r: *mut RingHdr, lane: u64) -> bool;
    /// Consumer side with the payload of `gpuos_ring_push_result` (on the GPU the
    /// completion ring's consumer is the poller warp in kernel/cuda_main.cu; this one
    /// is for tests).
    pub fn gpuos_ring_pop_result(
        r: *mut RingHdr,
        lane: *mut u64,
        ret: *mut u64,
        out_len: *mut u64,
    ) -> bool;
    /// Reset the ring's cells and counters.
    pub fn gpuos_ring_init(r: *mut RingHdr);
    /// getrandom(2)'s ChaCha20 block (kernel/sys/random.h `chacha20_block`): 16 words
    /// of key `key` (4 u64s), 64-bit block counter `ctr` and nonce `nonce` into `out`.
    pub fn gpuos_chacha20_block(key: *const u64, ctr: u64, nonce: u64, out: *mut u32);
}

/// `gpuos_lane_run` result: a slice ran; call again (the CPU backend does so for every
/// value it does not name).
#[allow(dead_code)]
pub const LANE_BUDGET: u32 = 0;
/// `gpuos_lane_run` result: a host request is posted (the lane's `SysReq`).
pub const LANE_HOSTWAIT: u32 = 1;
/// `gpuos_lane_run` result: every process of the lane's family has ended.
pub const LANE_DONE: u32 = 2;
/// `gpuos_lane_run` result: every live process of the family is blocked; back off,
/// then call again (the blocked calls are retried).
pub const LANE_IDLE: u32 = 3;
/// `gpuos_lane_run` result: nothing of the family is runnable on its lane, but members
/// run on spare lanes (kernel/proc/spare.h): call again soon (they hand back syscalls).
pub const LANE_AWAY: u32 = 4;
/// `gpuos_spare_run` result: nothing was offered; back off, call again (any other
/// result: a task ran or was handed back; call again).
pub const SPARE_IDLE: u32 = 1;
/// PTE permission bits (kernel/mm/mm.h).
pub const PTE_R: u64 = 2;
/// Writable.
pub const PTE_W: u64 = 4;
/// Executable.
pub const PTE_X: u64 = 8;

/// The rings' protocol, exercised on the host with the same C++ code the device runs
/// (kernel/ring.h).
#[cfg(test)]
mod ring_tests {
    use super::*;
    use crate::abi::RingCell;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    struct Ring {
        hdr: Box<RingHdr>,
        _cells: Vec<RingCell>,
        _enq: Box<u64>,
    }
    // SAFETY: the ring is designed for concurrent producers and one consumer; all
    // shared fields are accessed with atomics or fences in kernel/ring.h.
    unsafe impl Send for Ring {}
    // SAFETY: as above.
    unsafe impl Sync for Ring {}

    fn ring(cap: u64) -> Arc<Ring> {
        let mut cells = vec![RingCell::default(); cap as usize];
        let mut enq = Box::new(0u64);
        let mut hdr = Box::new(RingHdr {
            capacity: cap,
            cells: cells.as_mut_ptr() as u64,
            enq: &mut *enq as *mut u64 as u64,
            ..Default::default()
        });
        // SAFETY: hdr points at cap cells and the counter.
        unsafe { gpuos_ring_init(&mut *hdr) };
        Arc::new(Ring {
            hdr,
            _cells: cells,
            _enq: enq,
        })
    }
    fn hdr(r: &Ring) -> *mut RingHdr {
        &*r.hdr as *const RingHdr as *mut RingHdr
    }
    fn pop(r: &Ring) -> Option<u64> {
        let mut v = 0;
        // SAFETY: single consumer in each test.
        unsafe { gpuos_ring_pop(hdr(r), &mut v) }.then_some(v)
    }

    #[test]
    fn fifo_and_wrap_around() {
        let r = ring(4);
        for lap in 0..10u64 {
            for i in 0..3 {
                // SAFETY: live ring.
                assert!(unsafe { gpuos_ring_push(hdr(&r), lap * 10 + i) });
            }
            for i in 0..3 {
                assert_eq!(pop(&r), Some(lap * 10 + i));
            }
            assert_eq!(pop(&r), None);
        }
    }

    fn pop_result(r: &Ring) -> Option<(u64, u64, u64)> {
        let (mut lane, mut ret, mut out_len) = (0, 0, 0);
        // SAFETY: single consumer in each test.
        unsafe { gpuos_ring_pop_result(hdr(r), &mut lane, &mut ret, &mut out_len) }
            .then_some((lane, ret, out_len))
    }

    /// The completion ring's payload (lane, result, output length) arrives intact and in
    /// order across many laps, with negative results (errnos) and entries of every
    /// lap in every cell.
    #[test]
    fn results_arrive_intact_through_wrap_around() {
        let r = ring(4);
        let ret = |k: u64| {
            if k.is_multiple_of(3) {
                -(k as i64) as u64
            } else {
                k * 1000 + 7
            }
        };
        let mut k = 0u64;
        for lap in 0..25u64 {
            let n = 1 + lap % 4; // 1..=4 entries: fills the ring, and shifts the phase
            for i in 0..n {
                // SAFETY: live ring, never more than its capacity in it.
                assert!(unsafe {
                    gpuos_ring_push_result(hdr(&r), k + i, ret(k + i), (k + i) % 4097)
                });
            }
            for i in 0..n {
                let (lane, got, out_len) = pop_result(&r).expect("entry lost");
                assert_eq!(lane, k + i);
                assert_eq!(got, ret(k + i));
                assert_eq!(out_len, (k + i) % 4097);
            }
            assert_eq!(pop_result(&r), None);
            k += n;
        }
    }

    #[test]
    fn full_ring_blocks_the_producer_until_the_consumer_frees_a_cell() {
        let r = ring(2);
        // SAFETY: live ring.
        unsafe {
            assert!(gpuos_ring_push(hdr(&r), 1));
            assert!(gpuos_ring_push(hdr(&r), 2));
        }
        let done = Arc::new(AtomicBool::new(false));
        let (r2, d2) = (r.clone(), done.clone());
        let t = std::thread::spawn(move || {
            // SAFETY: live ring; this push waits for a free cell.
            let ok = unsafe { gpuos_ring_push(hdr(&r2), 3) };
            d2.store(true, Ordering::SeqCst);
            ok
        });
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(
            !done.load(Ordering::SeqCst),
            "push into a full ring did not wait"
        );
        assert_eq!(pop(&r), Some(1));
        assert!(t.join().unwrap());
        assert_eq!(pop(&r), Some(2));
        assert_eq!(pop(&r), Some(3));
    }

    #[test]
    fn many_producers_deliver_every_entry_once() {
        let r = ring(64);
        let producers = 8u64;
        let per = 5000u64;
        let handles: Vec<_> = (0..producers)
            .map(|p| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for i in 0..per {
                        // SAFETY: live ring; many producers are allowed.
                        assert!(unsafe { gpuos_ring_push(hdr(&r), p * per + i) });
                    }
                })
            })
            .collect();
        let mut seen = vec![false; (producers * per) as usize];
        let mut last = vec![None::<u64>; producers as usize];
        let mut n = 0;
        while n < producers * per {
            if let Some(v) = pop(&r) {
                assert!(!seen[v as usize], "{v} delivered twice");
                seen[v as usize] = true;
                let p = (v / per) as usize;
                assert!(last[p].is_none_or(|l| l < v), "producer {p} reordered");
                last[p] = Some(v);
                n += 1;
            }
        }
        for h in handles {
            h.join().unwrap();
        }
        assert!(seen.iter().all(|&s| s));
    }

    /// The rings of the CUDA backend (`no_wait`): capacity at least the number of
    /// producers, each with one entry in flight that it re-posts only after the
    /// consumer answered it (a lane's request, a lane's completion). Every entry
    /// arrives once, in each producer's order, across many laps of the ring; with
    /// `with_result` (the completion ring's `ring_push_result`), with its own result and
    /// output length.
    fn one_entry_in_flight_per_producer(producers: usize, rounds: u64, with_result: bool) {
        use std::sync::atomic::AtomicU64;
        let r = ring(producers as u64);
        // SAFETY: set before any producer starts.
        unsafe { (*hdr(&r)).no_wait = 1 };
        let answered: Arc<Vec<AtomicU64>> =
            Arc::new((0..producers).map(|_| AtomicU64::new(0)).collect());
        let result_of = |p: usize, i: u64| -((p as i64) << 20 | i as i64);
        let handles: Vec<_> = (0..producers)
            .map(|p| {
                let (r, answered) = (r.clone(), answered.clone());
                std::thread::spawn(move || {
                    for i in 0..rounds {
                        let lane = (p as u64) << 32 | i;
                        // SAFETY: live ring; this producer has nothing else in flight.
                        let pushed = unsafe {
                            if with_result {
                                gpuos_ring_push_result(hdr(&r), lane, result_of(p, i) as u64, !lane)
                            } else {
                                gpuos_ring_push(hdr(&r), lane)
                            }
                        };
                        assert!(pushed);
                        while answered[p].load(Ordering::Acquire) != i + 1 {
                            std::hint::spin_loop();
                        }
                    }
                })
            })
            .collect();
        let mut next = vec![0u64; producers];
        for _ in 0..producers as u64 * rounds {
            let (lane, ret, out_len) = loop {
                let got = if with_result {
                    pop_result(&r)
                } else {
                    pop(&r).map(|v| (v, 0, 0))
                };
                if let Some(v) = got {
                    break v;
                }
            };
            let (p, i) = ((lane >> 32) as usize, lane & 0xffff_ffff);
            assert_eq!(i, next[p], "producer {p}: entry out of order or lost");
            if with_result {
                assert_eq!(ret as i64, result_of(p, i), "result of {p}/{i}");
                assert_eq!(out_len, !lane, "output length of {p}/{i}");
            }
            next[p] += 1;
            answered[p].store(i + 1, Ordering::Release);
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(pop(&r), None);
    }

    #[test]
    fn no_wait_ring_with_one_entry_in_flight_per_producer() {
        one_entry_in_flight_per_producer(16, 2000, false);
    }

    /// The completion ring: concurrent producers' results reach the consumer with their
    /// lane.
    #[test]
    fn concurrent_results_stay_with_their_entry() {
        one_entry_in_flight_per_producer(8, 3000, true);
    }

    #[test]
    fn producer_gives_up_when_the_consumer_is_gone() {
        let r = ring(2);
        // SAFETY: live ring.
        assert!(unsafe { gpuos_ring_push(hdr(&r), 6) && gpuos_ring_push(hdr(&r), 7) });
        let r2 = r.clone();
        let t = std::thread::spawn(move || {
            // SAFETY: live ring; full, so this waits until the ring is closed.
            unsafe { gpuos_ring_push(hdr(&r2), 8) }
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        // The consumer dies: it closes the ring (as the host does on any exit path).
        // SAFETY: `closed` is read by producers with relaxed loads.
        unsafe { std::ptr::write_volatile(&mut (*hdr(&r)).closed, 1) };
        assert!(!t.join().unwrap(), "push succeeded on a closed ring");
    }
}

/// The frame pool's lock-free free lists (kernel/mm/mm.h), exercised on the host by
/// many threads with the same C++ code the device runs.
#[cfg(test)]
mod frame_pool_tests {
    use super::*;
    use crate::abi::PAGE_SIZE;
    use crate::layout::HostPool;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Pool {
        hdr: Box<MachineHdr>,
        _mem: HostPool,
    }
    #[derive(Clone, Copy)]
    struct Hdr(*mut MachineHdr);
    // SAFETY: the pool's shared state is only touched through the core's atomics.
    unsafe impl Send for Hdr {}
    // SAFETY: as above.
    unsafe impl Sync for Hdr {}

    fn pool(nframes: u64) -> Pool {
        let mut hdr = Box::new(MachineHdr::default());
        let mem = HostPool::new(nframes, &mut hdr).expect("host pool");
        Pool { hdr, _mem: mem }
    }
    fn frame(m: Hdr, f: u64) -> *mut u64 {
        // SAFETY: reads the frames base of a live header.
        unsafe { ((*m.0).frames + f * PAGE_SIZE) as *mut u64 }
    }

    #[test]
    fn frames_are_never_handed_out_twice_and_none_is_lost() {
        const NFRAMES: u64 = 3000;
        const THREADS: u64 = 8;
        let mut p = pool(NFRAMES);
        let m = Hdr(&mut *p.hdr);
        let owner: Vec<AtomicU32> = (0..NFRAMES).map(|_| AtomicU32::new(0)).collect();
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let owner = &owner;
                s.spawn(move || {
                    // Two lists for eight threads: pops and pushes race on each head.
                    // SAFETY: sets a thread-local.
                    unsafe { gpuos_frame_shard_set(t as u32 % 2) };
                    let mut held = Vec::new();
                    for round in 0..1500u64 {
                        let want = 1 + (round * 7 + t * 13) % 45;
                        for _ in 0..want {
                            // SAFETY: m is a live pool.
                            let f = unsafe { gpuos_frame_alloc(m.0) };
                            if f == u64::MAX {
                                break; // the other threads hold the rest
                            }
                            assert!(f < NFRAMES);
                            let prev = owner[f as usize].swap(t as u32 + 1, Ordering::AcqRel);
                            assert_eq!(
                                prev,
                                0,
                                "frame {f} handed out while thread {} held it",
                                prev as i64 - 1
                            );
                            // SAFETY: the frame is ours until we free it.
                            unsafe {
                                let w = frame(m, f);
                                assert!((0..512).all(|i| *w.add(i) == 0), "frame {f} not zeroed");
                                for i in 0..512 {
                                    *w.add(i) = (t << 32) | f;
                                }
                            }
                            held.push(f);
                        }
                        for &f in &held {
                            let w = frame(m, f);
                            // SAFETY: the frame is ours until we free it.
                            assert!((0..512).all(|i| unsafe { *w.add(i) } == (t << 32) | f));
                            owner[f as usize].store(0, Ordering::Release);
                        }
                        // SAFETY: m is live; each frame has one reference, ours.
                        unsafe { gpuos_frames_unref(m.0, held.as_ptr(), held.len() as u64) };
                        held.clear();
                    }
                });
            }
        });
        // Every frame is free again, exactly once: the pool hands out each index once.
        let mut seen = vec![false; NFRAMES as usize];
        for _ in 0..NFRAMES {
            // SAFETY: m is live; no other thread runs.
            let f = unsafe { gpuos_frame_alloc(m.0) };
            assert!(f < NFRAMES, "pool ran dry early");
            assert!(
                !std::mem::replace(&mut seen[f as usize], true),
                "frame {f} twice"
            );
        }
        // SAFETY: as above.
        assert_eq!(unsafe { gpuos_frame_alloc(m.0) }, u64::MAX);
    }

    /// A pool with interleaved frames for `lanes` lanes (the bitmap and the hints).
    fn il_pool(nframes: u64, lanes: u64) -> (Pool, Vec<u32>, Vec<u64>) {
        let mut p = pool(nframes);
        let mut map = vec![0u32; crate::layout::MachineLayout::il_map_words(nframes)];
        let mut slots =
            vec![0u64; (lanes.div_ceil(crate::abi::IL_GROUP) * crate::abi::IL_SLOTS) as usize];
        p.hdr.il_map = map.as_mut_ptr() as u64;
        p.hdr.il_slots = slots.as_mut_ptr() as u64;
        (p, map, slots)
    }

    fn page_bytes(m: Hdr, f: u64) -> Vec<u8> {
        let mut v = vec![0u8; PAGE_SIZE as usize];
        // SAFETY: f is a frame of the live pool; v holds a page.
        unsafe { gpuos_page_copy(m.0, f, 0, v.as_mut_ptr(), PAGE_SIZE, false) };
        v
    }

    /// Interleaved frames: the lanes of a warp put one guest page in columns of one
    /// group (lane mod 32), their bytes never overlap each other's or any contiguous
    /// frame's, and frees are reused.
    #[test]
    fn interleaved_frames_share_groups_by_page_and_never_overlap() {
        const NFRAMES: u64 = 4096;
        const LANES: u64 = 64;
        let (mut p, _map, _slots) = il_pool(NFRAMES, LANES);
        let m = Hdr(&mut *p.hdr);
        // Lane-major: every lane faults pages 0x400..0x408 in turn.
        let mut frames = vec![vec![0u64; 8]; LANES as usize];
        for (l, fl) in frames.iter_mut().enumerate() {
            for (k, f) in fl.iter_mut().enumerate() {
                // SAFETY: m is a live pool with interleaving on.
                *f = unsafe { gpuos_il_alloc(m.0, l as u32, 0x400 + k as u64) };
                assert_ne!(*f, u64::MAX);
                // SAFETY: as above.
                assert!(unsafe { gpuos_frame_il(m.0, *f) });
                assert_eq!(*f % 32, l as u64 % 32, "lane {l} not in its column");
            }
        }
        for (l, fl) in frames.iter().enumerate() {
            let warp0 = &frames[l - l % 32];
            for (k, f) in fl.iter().enumerate() {
                assert_eq!(f / 32, warp0[k] / 32, "page {k}: lane {l} in another group");
                assert_ne!(
                    f / 32,
                    frames[(l + 32) % 64][k] / 32,
                    "two warps share a group"
                );
            }
        }
        // Contiguous frames come from below every group.
        // SAFETY: m is live.
        let c = unsafe { gpuos_frame_alloc(m.0) };
        assert!(c < frames.iter().flatten().min().copied().unwrap());
        // SAFETY: m is live.
        assert!(!unsafe { gpuos_frame_il(m.0, c) });
        // Each page holds its own bytes: write a pattern to all, unaligned runs included.
        for (l, fl) in frames.iter().enumerate() {
            for (k, &f) in fl.iter().enumerate() {
                assert!(
                    page_bytes(m, f).iter().all(|&b| b == 0),
                    "frame {f} not zeroed"
                );
                let pat: Vec<u8> = (0..PAGE_SIZE)
                    .map(|i| (i as usize * 7 + l * 31 + k) as u8)
                    .collect();
                for (off, n) in [(0u64, 3u64), (3, 1000), (1003, 5), (1008, 3088)] {
                    let mut chunk = pat[off as usize..(off + n) as usize].to_vec();
                    // SAFETY: f is ours; the chunk lies in the page.
                    unsafe { gpuos_page_copy(m.0, f, off, chunk.as_mut_ptr(), n, true) };
                }
            }
        }
        // SAFETY: c is ours.
        unsafe { std::ptr::write_bytes(frame(m, c) as *mut u8, 0xee, PAGE_SIZE as usize) };
        for (l, fl) in frames.iter().enumerate() {
            for (k, &f) in fl.iter().enumerate() {
                let want: Vec<u8> = (0..PAGE_SIZE)
                    .map(|i| (i as usize * 7 + l * 31 + k) as u8)
                    .collect();
                assert!(
                    page_bytes(m, f) == want,
                    "lane {l} page {k}: bytes overwritten"
                );
            }
        }
        // A freed frame goes back to its column: the same lane gets it again, zeroed.
        let f = frames[5][3];
        // SAFETY: one reference, ours.
        unsafe { gpuos_frames_unref(m.0, &f, 1) };
        // SAFETY: m is live.
        let g = unsafe { gpuos_il_alloc(m.0, 5, 0x999) };
        assert_eq!(g, f, "the freed column was not reused");
        assert!(
            page_bytes(m, g).iter().all(|&b| b == 0),
            "reused frame not zeroed"
        );
    }

    /// getrandom's keystream is ChaCha20's: RFC 8439 section 2.3.2's test vector (key
    /// 00..1f, block counter 1, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, which in the
    /// 64-bit counter layout is counter word 1 and 0x09000000, nonce 0x4a000000).
    #[test]
    fn chacha20_block_rfc8439() {
        let mut k = [0u64; 4];
        for (i, w) in k.iter_mut().enumerate() {
            *w = u64::from_le_bytes(std::array::from_fn(|j| (8 * i + j) as u8));
        }
        let mut out = [0u32; 16];
        // SAFETY: a 4-word key and a 16-word output.
        unsafe {
            gpuos_chacha20_block(
                k.as_ptr(),
                1 | 0x0900_0000 << 32,
                0x4a00_0000,
                out.as_mut_ptr(),
            )
        };
        let bytes: Vec<u8> = out.iter().flat_map(|w| w.to_le_bytes()).collect();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e\
             d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e"
        );
    }
}
