//! The host's side of the rings: the threads that serve the lanes' requests in
//! persistent mode, and serving and publishing one lane's request (both modes).

use crate::abi::{RingHdr, SysReq};
use crate::procs::Procs;
use crate::service;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Host threads serving syscalls in persistent mode when `--threads` is not given.
pub(super) const SERVICE_THREADS: usize = 4;
/// Most submission-ring entries a service thread takes per acquisition of the pop lock
/// (`GPUOS_POP_BATCH`, 1 to 16, sets fewer: default 4).
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
    /// Submission ring (lanes push, service threads pop under a lock).
    pub(super) sub: *mut RingHdr,
    /// Completion ring, host view (service threads push, the device's poller pops).
    pub(super) comp: *mut RingHdr,
    pub(super) strace: bool,
}
// SAFETY: the pointers refer to pinned allocations that outlive the service threads.
// A lane has at most one request in flight, so one thread at a time touches its SysReq
// and buffer (from the pop of its lane index to the store of `done`); the rings are
// built for concurrent producers, and their single consumer is serialised by a lock.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

/// Turns deferred sleeps off again for the calling thread when dropped.
pub(super) struct DeferSleepsOff;
impl Drop for DeferSleepsOff {
    fn drop(&mut self) {
        crate::host::time::defer_sleeps_on_this_thread(false);
    }
}

/// What became of a lane's posted request (`serve_one`).
pub(super) enum Outcome {
    /// Served and published (`SysReq::done = seq`): the result and output length
    /// (`SysReq::ret`, `out_len`), read before `done` was stored, since after it the
    /// lane may post its next request into the same `SysReq`.
    Done((i64, u32)),
    /// The host is out of file descriptors: nothing done; serve it again later.
    Retry,
    /// A sleep, served: publish it (`publish`) at this time.
    WakeAt(Instant),
}

/// Serve lane's posted request (made by whichever process of its family `SysReq::slot`
/// names) and, unless it is a deferred sleep, publish it. `defer`: a request that finds
/// the host out of file descriptors may be left undone (`service::Served::Deferred`).
pub(super) fn serve_one(sh: Shared, hosts: &Procs<'_>, lane: usize, defer: bool) -> Outcome {
    // SAFETY: see `Shared`: this thread owns the lane's request until it stores done.
    let served = unsafe {
        let req = &mut *sh.reqs.add(lane);
        let buf = std::slice::from_raw_parts_mut(sh.bufs.add(lane * sh.buf_size), sh.buf_size);
        hosts.serve(req, buf, sh.strace, defer)
    };
    match served {
        service::Served::Done => Outcome::Done(publish(sh, lane)),
        service::Served::Deferred => Outcome::Retry,
        service::Served::WakeAt(t) => Outcome::WakeAt(t),
    }
}

/// Mark lane's served request done (`SysReq::done = seq`); returns its result and
/// output length, read before.
pub(super) fn publish(sh: Shared, lane: usize) -> (i64, u32) {
    // SAFETY: see `Shared`: this thread owns the lane's request until it stores done.
    unsafe {
        let req = &mut *sh.reqs.add(lane);
        let result = (req.ret, req.out_len);
        std::sync::atomic::fence(Ordering::SeqCst);
        std::ptr::write_volatile(&mut req.done, req.seq);
        result
    }
}

/// Requests a service thread holds back: those that found the host out of file
/// descriptors, with when they first did (each is served again, oldest first, as long
/// as that succeeds, and given EMFILE once `service::fd_wait_over`), and sleeps,
/// served and published when due.
#[derive(Default)]
struct Held {
    retry: std::collections::VecDeque<(usize, Instant)>,
    sleeping: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, usize)>>,
}

impl Held {
    /// Serve `lane`'s new request; its result when it is published now.
    fn serve(&mut self, sh: Shared, hosts: &Procs<'_>, lane: usize) -> Option<(i64, u32)> {
        self.outcome(lane, Instant::now(), serve_one(sh, hosts, lane, true))
    }

    fn outcome(&mut self, lane: usize, since: Instant, o: Outcome) -> Option<(i64, u32)> {
        match o {
            Outcome::Done(r) => Some(r),
            Outcome::Retry => {
                self.retry.push_back((lane, since));
                None
            }
            Outcome::WakeAt(t) => {
                self.sleeping.push(std::cmp::Reverse((t, lane)));
                None
            }
        }
    }

    /// Publish the sleeps that are due, then serve waiting requests again, oldest
    /// first, until one still finds no descriptor (at most `most`); `done` gets each
    /// published lane with its result.
    fn release(
        &mut self,
        sh: Shared,
        hosts: &Procs<'_>,
        most: usize,
        mut done: impl FnMut(usize, (i64, u32)),
    ) {
        let now = Instant::now();
        while let Some(&std::cmp::Reverse((t, lane))) = self.sleeping.peek() {
            if t > now {
                break;
            }
            self.sleeping.pop();
            done(lane, publish(sh, lane));
        }
        for _ in 0..most {
            let Some((lane, since)) = self.retry.pop_front() else {
                return;
            };
            let defer = !service::fd_wait_over(since);
            let o = serve_one(sh, hosts, lane, defer);
            if matches!(o, Outcome::Retry) {
                self.retry.push_front((lane, since));
                return;
            }
            if defer {
                service::note_fd_progress(); // it got its descriptor, not EMFILE
            }
            if let Some(r) = self.outcome(lane, since, o) {
                done(lane, r);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.retry.is_empty() && self.sleeping.is_empty()
    }
}

/// One service thread of persistent mode: pop a lane from the submission ring, serve
/// it, push it with its result and output length to the completion ring (the poller
/// hands those to the lane in device memory); spin while idle, then yield, then nap.
pub(super) fn service_loop(
    sh: Shared,
    hosts: &Procs<'_>,
    pop_lock: &Mutex<()>,
    finished: &AtomicBool,
    serve_ns: &AtomicU64,
) {
    let mut idle = 0u32;
    let mut held = Held::default();
    crate::host::time::defer_sleeps_on_this_thread(true);
    let mut batch = [0u64; POP_BATCH];
    let most = pop_batch();
    // Up to `most` entries per lock acquisition (served outside the lock).
    let pop_all = |batch: &mut [u64; POP_BATCH]| {
        let mut n = 0;
        // SAFETY: the ring's one consumer at a time (the caller holds the lock).
        while n < most && unsafe { crate::ffi::gpuos_ring_pop(sh.sub, &mut batch[n]) } {
            n += 1;
        }
        n
    };
    loop {
        // try_lock: a thread that finds the lock taken leaves the polling to its holder
        // and spins on, instead of sleeping in the mutex and waking late.
        let got = match pop_lock.try_lock() {
            Ok(_g) => pop_all(&mut batch),
            Err(std::sync::TryLockError::Poisoned(p)) => {
                let _g = p.into_inner();
                pop_all(&mut batch)
            }
            Err(std::sync::TryLockError::WouldBlock) => 0,
        };
        if got > 0 {
            idle = 0;
        }
        let complete = |lane: usize, (ret, out_len): (i64, u32)| {
            if !sh.comp.is_null() {
                // SAFETY: host view of the completion ring; producers may run
                // concurrently.
                unsafe {
                    crate::ffi::gpuos_ring_push_result(
                        sh.comp,
                        lane as u64,
                        ret as u64,
                        out_len as u64,
                    )
                };
            }
        };
        for &lane in &batch[..got] {
            let lane = lane as usize;
            if lane < sh.lanes {
                let t = Instant::now();
                if let Some(r) = held.serve(sh, hosts, lane) {
                    complete(lane, r);
                }
                serve_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
        }
        held.release(sh, hosts, 64, complete);
        if got > 0 {
            continue;
        }
        if finished.load(Ordering::Acquire) {
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
