//! The host's side of the rings: the threads that serve the lanes' requests in
//! persistent mode, and serving and publishing one lane's request (both modes).

use super::rings::{CompView, SubView};
use crate::abi::SysReq;
use crate::backend::HostTimes;
use crate::service::policy::Held;
use crate::service::{Procs, Served};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Host threads serving syscalls in persistent mode when `--threads` is not given: half
/// the host's cores, at least 4 and at most 8. Measured on the H200 machine (16 cores,
/// twenty-sixth session), 10,000 lanes x 200 getuid: 4 threads 0.70-0.79 s (2.6-2.9 M
/// host syscalls/s), 8 threads 0.467 s (4.6 M/s), 12 threads 0.50 s (the submission
/// ring's pop lock and the cores the lanes' own host work needs).
pub(super) fn service_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
    (cores / 2).clamp(4, 8)
}

/// The service threads of a persistent run of `lanes` lanes, and so its submission
/// rings: `threads` (`--threads`) when given, else [`service_threads`]; at most one per
/// lane.
pub(super) fn service_thread_count(threads: usize, lanes: usize) -> usize {
    let n = if threads > 0 {
        threads
    } else {
        service_threads()
    };
    n.min(lanes).max(1)
}

/// A submission ring's pop lock, alone on its cache lines: the service threads try
/// their own ring's lock on every turn, and locks side by side in one line would pass
/// it between all of them (false sharing) as one lock did.
#[repr(align(128))]
#[derive(Default)]
pub(super) struct PopLock(Mutex<()>);

/// A thread whose own submission ring is empty looks at the others' every this many
/// idle turns (their threads may be busy serving or blocked in a host call), rather
/// than every turn: idle threads trying every ring's lock pass the locks' lines between
/// them and slow the threads popping.
const STEAL_EVERY: u32 = 16;
/// Most submission-ring entries a service thread takes per acquisition of the pop lock
/// (`GPUOS_POP_BATCH`, 1 to 16, sets fewer: default 4). H100, twenty-seventh session,
/// fixed batches: 16 served 10,000 lanes x 200 getuid in 0.27-0.29 s against 4's
/// 0.34-0.39 s but made `fdmany` at 1,000 lanes slower (12.3 -> 14.1 s); twenty-eighth
/// session, 16 while no thread is idle and 4 while one is: `fdmany` 32.1 s against
/// 16.9 s with 4, getuid 0.51-0.63 s against 0.52 s. So 4.
const POP_BATCH: usize = 16;

fn pop_batch() -> usize {
    std::env::var("GPUOS_POP_BATCH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(4)
        .clamp(1, POP_BATCH)
}

/// What the service threads share: pinned host memory laid out as in `abi`.
#[derive(Clone, Copy)]
pub(super) struct Shared {
    pub(super) reqs: *mut SysReq,
    pub(super) bufs: *mut u8,
    pub(super) buf_size: usize,
    /// Number of lanes (ring entries are lane indices).
    pub(super) lanes: usize,
    /// Submission rings (lanes push, service threads pop, each ring under its lock).
    pub(super) sub: SubView,
    /// Completion rings, host view (service threads push, the device's poller warps pop).
    pub(super) comp: CompView,
    pub(super) strace: bool,
}
// SAFETY: the pointers refer to pinned allocations that outlive the service threads.
// A lane has at most one request in flight, so one thread at a time touches its SysReq
// and buffer (from the pop of its lane index to the store of `done`); the rings are
// built for concurrent producers, and their single consumer is serialised by a lock.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

/// Serve lane's posted request (made by whichever process of its family `SysReq::slot`
/// names), without publishing it. `may_hold`: a request that finds the host out of file
/// descriptors may be left undone (`Served::NeedHostFd`; `service::policy`).
pub(super) fn serve_one(sh: Shared, hosts: &Procs<'_>, lane: usize, may_hold: bool) -> Served {
    // SAFETY: see `Shared`: this thread owns the lane's request until it stores done.
    unsafe {
        let req = &mut *sh.reqs.add(lane);
        let buf = std::slice::from_raw_parts_mut(sh.bufs.add(lane * sh.buf_size), sh.buf_size);
        hosts.serve(req, buf, sh.strace, may_hold)
    }
}

/// Mark lane's served request done (`SysReq::done = seq`); returns its result and
/// the completion ring's output length word (the output length, with `SysReq::fd_low`
/// in its high half), read before.
pub(super) fn publish(sh: Shared, lane: usize) -> (i64, u64) {
    // SAFETY: see `Shared`: this thread owns the lane's request until it stores done.
    unsafe {
        let req = &mut *sh.reqs.add(lane);
        let result = (
            req.ret,
            u64::from(req.out_len) | u64::from(req.fd_low) << 32,
        );
        std::sync::atomic::fence(Ordering::SeqCst);
        std::ptr::write_volatile(&mut req.done, req.seq);
        result
    }
}

/// One service thread of persistent mode, number `me`: pop lanes from its own
/// submission ring (`me % rings`: with one ring, every thread's), or when that is empty
/// now and then from the others', serve
/// them, push each with its result and output length to the completion ring (the poller
/// hands those to the lane in device memory); spin while idle, then yield, then nap.
/// `pop_locks`: one per ring.
pub(super) fn service_loop(
    sh: Shared,
    hosts: &Procs<'_>,
    pop_locks: &[PopLock],
    me: usize,
    finished: &AtomicBool,
    times: &HostTimes,
) {
    let mut idle = 0u32;
    // Sleeps and requests waiting for host descriptors, held back (`service::policy`).
    let mut held = Held::default();
    let mut batch = [0u64; POP_BATCH];
    let most = pop_batch();
    let nrings = sh.sub.n.min(pop_locks.len());
    // Up to `most` entries of ring `i` per acquisition of its lock (served outside it).
    // try_lock: a thread that finds the lock taken leaves that ring to its holder and
    // spins on, instead of sleeping in the mutex and waking late. (Looking at the ring's
    // head before the lock, so that idle threads read instead of trying the lock, was
    // slower: H100, twenty-sixth session, 10,000 lanes x 200 getuid, 8 threads
    // 0.47-0.49 -> 0.50 s, 12 threads 0.46 -> 0.77-0.80 s; every idle thread then read
    // the cell the GPU writes across PCIe.)
    let pop_ring = |i: usize, batch: &mut [u64; POP_BATCH]| {
        let _g = match pop_locks[i].0.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return 0,
        };
        let (r, mut n) = (sh.sub.hdr(i), 0);
        // SAFETY: the ring's one consumer at a time (this thread holds its lock).
        while n < most && unsafe { crate::ffi::gpuos_ring_pop(r, &mut batch[n]) } {
            n += 1;
        }
        n
    };
    let own = me % nrings.max(1);
    // This thread's share of `times`, added to it at the end: atomics on lines every
    // service thread writes, twice a request, would pass those lines between them.
    let (mut serve_ns, mut turn_ns) = (0u64, 0u64);
    loop {
        let mut got = pop_ring(own, &mut batch);
        if got == 0 && idle % STEAL_EVERY == STEAL_EVERY - 1 {
            for k in 1..nrings {
                got = pop_ring((own + k) % nrings, &mut batch);
                if got > 0 {
                    break;
                }
            }
        }
        // When the batch was popped (the clock only read for a batch: the idle loop spins).
        let popped = (got > 0).then(Instant::now);
        if got > 0 {
            idle = 0;
        }
        // Publish lane's request and push it with its result to its completion ring.
        let complete = |lane: usize| {
            let (ret, out_len) = publish(sh, lane);
            if !sh.comp.is_none() {
                // SAFETY: host view of the completion ring; producers may run
                // concurrently.
                unsafe {
                    crate::ffi::gpuos_ring_push_result(
                        sh.comp.for_lane(lane),
                        lane as u64,
                        ret as u64,
                        out_len,
                    )
                };
            }
        };
        for &lane in &batch[..got] {
            let lane = lane as usize;
            if lane < sh.lanes {
                let t = Instant::now();
                let served = serve_one(sh, hosts, lane, true);
                serve_ns += t.elapsed().as_nanos() as u64;
                if held.admit(lane, t, served) {
                    complete(lane);
                    if let Some(p) = popped {
                        turn_ns += p.elapsed().as_nanos() as u64;
                    }
                }
            }
        }
        if !held.is_empty() {
            let serve = |lane, may_hold| serve_one(sh, hosts, lane, may_hold);
            held.release(hosts.fd_waits(), 64, serve, complete);
        }
        if got > 0 {
            continue;
        }
        if finished.load(Ordering::Acquire) {
            times.add_serve(std::time::Duration::from_nanos(serve_ns));
            times.add_turn(std::time::Duration::from_nanos(turn_ns));
            return;
        }
        idle = idle.saturating_add(1);
        if idle < 20_000 || !held.is_empty() {
            std::hint::spin_loop();
        } else if idle < 200_000 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(std::time::Duration::from_micros(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{service_thread_count, service_threads};

    /// `--threads` wins; never more threads (nor rings) than lanes, never none.
    #[test]
    fn service_threads_follow_the_option_and_the_lanes() {
        let auto = service_threads();
        assert!((4..=8).contains(&auto), "{auto}");
        assert_eq!(service_thread_count(0, 100_000), auto);
        assert_eq!(service_thread_count(12, 100_000), 12);
        assert_eq!(service_thread_count(12, 3), 3);
        assert_eq!(service_thread_count(0, 1), 1);
        assert_eq!(service_thread_count(0, 0), 1);
    }
}
