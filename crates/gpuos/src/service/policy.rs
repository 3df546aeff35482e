//! When a served request's completion is published: THE policy for sleeps and for
//! requests that find the host out of file descriptors, used by every backend (the
//! CPU backend's lane threads, the CUDA backend's service threads in persistent mode
//! and its host loop in quantum mode).
//!
//! A call that finds the host out of descriptors first closes the shared descriptors
//! idle longest and tries once more ([`call`]). A thread that serves many lanes
//! ([`Held`]) must not block on one: a sleep
//! ([`Served::At`]) is published when due, and a request that found the host process
//! out of descriptors ([`Served::NeedHostFd`]) is served again, oldest first, as other
//! lanes close theirs; the guest gets EMFILE only once no held request got a
//! descriptor for [`HOST_FD_WAIT`] ([`FdWaits`]). A thread that runs its lanes one
//! after another ([`serve_inline`], the CPU backend) waits for a sleep itself, and a
//! host EMFILE reaches the guest at once: the lanes that could close descriptors run
//! on that same thread.

use super::{Procs, Served};
use crate::abi::SysReq;
use crate::host::{Outcome, ProcHost};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long requests may wait for host file descriptors with none of them getting one
/// before the guest gets EMFILE (see [`FdWaits::over`]).
pub const HOST_FD_WAIT: Duration = Duration::from_secs(10);

/// When a request that had waited for a host descriptor last got one, shared by the
/// threads serving a run: while descriptors keep coming free, a long queue drains
/// instead of failing.
#[derive(Debug)]
pub struct FdWaits {
    epoch: Instant,
    /// ns since `epoch` of the last such request.
    progress_ns: AtomicU64,
}

impl Default for FdWaits {
    fn default() -> FdWaits {
        FdWaits {
            epoch: Instant::now(),
            progress_ns: AtomicU64::new(0),
        }
    }
}

impl FdWaits {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// A request held for a host descriptor has just been served before its wait was
    /// over (it got its descriptor, or failed for a reason of its own): the queue moves.
    fn note_progress(&self) {
        self.progress_ns.fetch_max(self.now_ns(), Ordering::Relaxed);
    }

    /// Whether a request held for a host descriptor since `since` should now fail with
    /// EMFILE: it has waited `HOST_FD_WAIT`, and so long no held request got a
    /// descriptor (every holder is itself waiting for one more: nothing will free any).
    fn over(&self, since: Instant) -> bool {
        let last = self.progress_ns.load(Ordering::Relaxed);
        let idle = Duration::from_nanos(self.now_ns().saturating_sub(last));
        since.elapsed() >= HOST_FD_WAIT && idle >= HOST_FD_WAIT
    }
}

/// Serve one call for the process `h` ([`ProcHost::call`]): when the host is out of
/// descriptors, close the shared ones idle longest and try once more (a call that
/// fails for want of a descriptor has had no effect).
pub(super) fn call(
    h: &mut ProcHost,
    nr: u64,
    args: &[u64; 6],
    ins: &[&[u8]; 6],
    out: &mut [u8],
) -> Outcome {
    let o = h.call(nr, args, ins, out);
    if o == Outcome::NeedHostFd && h.park_idle_fds() > 0 {
        return h.call(nr, args, ins, out);
    }
    o
}

/// Serve `req` (input and output in `buf`) on a thread that runs its lanes one after
/// another: never held for descriptors. Returns when to publish the completion: now
/// (`None`) or, for a sleep, at the time given, which the caller waits for.
pub fn serve_inline(
    procs: &Procs<'_>,
    req: &mut SysReq,
    buf: &mut [u8],
    strace: bool,
) -> Option<Instant> {
    match procs.serve(req, buf, strace, false) {
        Served::At(t) => Some(t),
        Served::Now | Served::NeedHostFd => None,
    }
}

/// The requests a thread serving many lanes holds back: those that found the host out
/// of file descriptors, with when they first did, and sleeps, with when they are due.
/// A lane has one request in flight, so lanes name them.
#[derive(Default)]
pub struct Held {
    retry: VecDeque<(usize, Instant)>,
    sleeping: BinaryHeap<Reverse<(Instant, usize)>>,
    lanes: HashSet<usize>,
}

impl Held {
    /// Take lane's request, served at `since` with result `s` (held allowed): returns
    /// whether to publish it now; else it is held.
    pub fn admit(&mut self, lane: usize, since: Instant, s: Served) -> bool {
        match s {
            Served::Now => return true,
            Served::NeedHostFd => self.retry.push_back((lane, since)),
            Served::At(t) => self.sleeping.push(Reverse((t, lane))),
        }
        self.lanes.insert(lane);
        false
    }

    /// Publish the sleeps that are due, then serve held requests again with `serve`
    /// (lane, whether it may be held again), oldest first, until one still finds no
    /// descriptor (at most `most`); `publish` gets each lane to publish.
    pub fn release(
        &mut self,
        fds: &FdWaits,
        most: usize,
        mut serve: impl FnMut(usize, bool) -> Served,
        mut publish: impl FnMut(usize),
    ) {
        let now = Instant::now();
        while let Some(&Reverse((t, lane))) = self.sleeping.peek() {
            if t > now {
                break;
            }
            self.sleeping.pop();
            self.lanes.remove(&lane);
            publish(lane);
        }
        for _ in 0..most {
            let Some((lane, since)) = self.retry.pop_front() else {
                return;
            };
            let may_hold = !fds.over(since);
            let s = serve(lane, may_hold);
            if s == Served::NeedHostFd {
                self.retry.push_front((lane, since));
                return;
            }
            if may_hold {
                fds.note_progress(); // it got its descriptor, not EMFILE
            }
            self.lanes.remove(&lane);
            if self.admit(lane, since, s) {
                publish(lane);
            }
        }
    }

    /// Whether lane's request is held.
    pub fn holds(&self, lane: usize) -> bool {
        self.lanes.contains(&lane)
    }

    /// Whether no request is held.
    pub fn is_empty(&self) -> bool {
        self.lanes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held requests: a sleep is published when due; requests waiting for descriptors
    /// are served again oldest first, stopping at the first that still finds none.
    #[test]
    fn held_requests_are_released_in_order() {
        let fds = FdWaits::default();
        let mut h = Held::default();
        let t0 = Instant::now();
        assert!(h.admit(0, t0, Served::Now));
        assert!(!h.admit(1, t0, Served::At(t0 + Duration::from_millis(30))));
        assert!(!h.admit(2, t0, Served::NeedHostFd));
        assert!(!h.admit(3, t0, Served::NeedHostFd));
        assert!(h.holds(1) && h.holds(2) && h.holds(3) && !h.holds(0));
        let mut published = Vec::new();
        // Lane 2 still finds no descriptor: lane 3 is not tried.
        let mut tried = Vec::new();
        h.release(
            &fds,
            8,
            |l, may_hold| {
                tried.push((l, may_hold));
                Served::NeedHostFd
            },
            |l| published.push(l),
        );
        assert_eq!(tried, [(2, true)]);
        assert!(published.is_empty());
        std::thread::sleep(Duration::from_millis(35));
        h.release(&fds, 8, |_, _| Served::Now, |l| published.push(l));
        assert_eq!(published, [1, 2, 3]);
        assert!(h.is_empty());
    }

    /// A held request fails with EMFILE only once it has waited HOST_FD_WAIT and no
    /// held request got a descriptor for as long.
    #[test]
    fn fd_waits_end_only_without_progress() {
        let now = Instant::now();
        let long_ago = now
            .checked_sub(HOST_FD_WAIT * 2)
            .expect("the monotonic clock is older than 20 s");
        let fds = FdWaits {
            epoch: long_ago,
            progress_ns: AtomicU64::new(0),
        };
        assert!(!fds.over(now), "a request just held");
        assert!(fds.over(long_ago), "held 20 s, no progress for 20 s");
        fds.note_progress();
        assert!(
            !fds.over(long_ago),
            "another held request just got a descriptor"
        );
    }
}
