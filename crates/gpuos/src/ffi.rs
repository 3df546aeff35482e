//! The execution core's C entry points (kernel/cpu_api.cpp), compiled into this crate
//! by build.rs. All pointers must point at host memory laid out as in [`crate::abi`].

use crate::abi::{MachineHdr, RingHdr};

extern "C" {
    /// New empty page-table root in the template; `u64::MAX` when out of frames.
    pub fn gpuos_tmpl_new(m: *mut MachineHdr) -> u64;
    /// Map a segment into the template (see kernel/proc/template.h `tmpl_map`).
    pub fn gpuos_tmpl_map(
        m: *mut MachineHdr,
        root: u64,
        va: u64,
        data: *const u8,
        filesz: u64,
        memsz: u64,
        perm: u64,
    ) -> bool;
    /// Reserve lazily allocated memory in the template (the stack).
    pub fn gpuos_tmpl_reserve(m: *mut MachineHdr, root: u64, va: u64, len: u64, perm: u64) -> bool;
    /// Start process `lane` from the template (kernel/proc/proc.h `proc_start`).
    pub fn gpuos_proc_start(m: *mut MachineHdr, lane: u32) -> bool;
    /// Run process `lane` for up to `budget` instructions; returns a `RunResult`.
    pub fn gpuos_proc_run(m: *mut MachineHdr, lane: u32, budget: u64) -> u32;
    /// Producer side of the submission ring (kernel/ring.h).
    pub fn gpuos_ring_push(r: *mut RingHdr, lane: u64) -> bool;
    /// Consumer side of the submission ring.
    pub fn gpuos_ring_pop(r: *mut RingHdr, lane: *mut u64) -> bool;
    /// Reset the ring's cells and counters.
    pub fn gpuos_ring_init(r: *mut RingHdr);
}

/// `gpuos_proc_run` result: the budget ran out.
pub const RUN_BUDGET: u32 = 0;
/// `gpuos_proc_run` result: a host request is posted.
pub const RUN_HOSTWAIT: u32 = 1;
/// `gpuos_proc_run` result: the process ended.
pub const RUN_DONE: u32 = 2;
/// PTE permission bits (kernel/mm/mm.h).
pub const PTE_R: u64 = 2;
/// Writable.
pub const PTE_W: u64 = 4;
/// Executable.
pub const PTE_X: u64 = 8;

/// The submission ring's protocol, exercised on the host with the same C++ code the
/// device runs (kernel/ring.h).
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
    /// arrives once, in each producer's order, across many laps of the ring.
    #[test]
    fn no_wait_ring_with_one_entry_in_flight_per_producer() {
        use std::sync::atomic::AtomicU64;
        let producers = 16usize;
        let r = ring(16);
        // SAFETY: set before any producer starts.
        unsafe { (*hdr(&r)).no_wait = 1 };
        let answered: Arc<Vec<AtomicU64>> =
            Arc::new((0..producers).map(|_| AtomicU64::new(0)).collect());
        let rounds = 2000u64;
        let handles: Vec<_> = (0..producers)
            .map(|p| {
                let (r, answered) = (r.clone(), answered.clone());
                std::thread::spawn(move || {
                    for i in 0..rounds {
                        // SAFETY: live ring; this producer has nothing else in flight.
                        assert!(unsafe { gpuos_ring_push(hdr(&r), (p as u64) << 32 | i) });
                        while answered[p].load(Ordering::Acquire) != i + 1 {
                            std::hint::spin_loop();
                        }
                    }
                })
            })
            .collect();
        let mut next = vec![0u64; producers];
        for _ in 0..producers as u64 * rounds {
            let v = loop {
                if let Some(v) = pop(&r) {
                    break v;
                }
            };
            let (p, i) = ((v >> 32) as usize, v & 0xffff_ffff);
            assert_eq!(i, next[p], "producer {p}: entry out of order or lost");
            next[p] += 1;
            answered[p].store(i + 1, Ordering::Release);
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(pop(&r), None);
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
