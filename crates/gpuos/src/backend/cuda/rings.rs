//! The rings of persistent mode (kernel/ring.h): the submission rings, which the lanes
//! push their posted requests to and the host's service threads pop, and the completion
//! rings, which the service threads push results to and the device's poller warps pop.
//! One submission ring by default, with `GPUOS_SUB_RINGS=1` one per service thread (run.rs
//! `sub_ring_count`); in persistent mode up to eight completion rings, a poller warp each
//! (run.rs `comp_ring_count`); lane `l` on ring `(l / 32) % n` of each kind ([`ring_of`]).

use super::memory::{DevBuf, Pinned};
use crate::abi::{RingCell, RingHdr};
use crate::machine::RunError;

/// Bytes between two submission rings' host headers: each is written by the thread
/// popping it (`deq`), so no two share a cache line (nor its neighbour, which x86
/// prefetches in pairs).
const SUB_HDR_STRIDE: usize = 128;
/// Bytes between two submission rings' enqueue counters in device memory.
const SUB_ENQ_STRIDE: usize = 128;

/// The cells of `n` rings of `cap` cells each, one ring after another in pinned,
/// device-mapped memory; cell k of every ring free for position k (as kernel/ring.h
/// `ring_init` leaves them).
struct RingCells {
    mem: Pinned,
    /// The device address of the first cell.
    dev: u64,
    cap: u64,
}

impl RingCells {
    fn new(n: usize, cap: u64) -> Result<RingCells, RunError> {
        let mem = Pinned::new(n * cap as usize * std::mem::size_of::<RingCell>())?;
        // SAFETY: mem holds n * cap cells.
        unsafe {
            for k in 0..n * cap as usize {
                (*(mem.ptr as *mut RingCell).add(k)).seq = k as u64 % cap;
            }
        }
        let dev = mem.dev()?;
        Ok(RingCells { mem, dev, cap })
    }

    /// Byte offset of ring `i`'s first cell.
    fn offset(&self, i: usize) -> u64 {
        i as u64 * self.cap * std::mem::size_of::<RingCell>() as u64
    }

    /// Ring `i`'s first cell: the host's address.
    fn host(&self, i: usize) -> u64 {
        self.mem.ptr as u64 + self.offset(i)
    }

    /// Ring `i`'s first cell: the device's address.
    fn dev(&self, i: usize) -> u64 {
        self.dev + self.offset(i)
    }
}

/// The submission rings: `n` of them, lane `l` pushing to ring `(l / 32) % n`, a warp's
/// lanes to one ring (MachineHdr::ring, nrings). One ring with one pop lock served at
/// most about 4.6 M requests/s at 10,000 lanes however many service threads popped it
/// (H200 and H100, twenty-sixth session: 8 and 12 threads alike), each pop a read of a
/// cell the GPU wrote across PCIe; with a ring per service thread the pops run in
/// parallel (30,000 lanes: 5.0 -> 8.9 M/s), but with ring `l % n` a case of many short
/// file calls per lane (`fdmany`) ran several times slower. Each ring has its header in
/// pinned memory (the consumers' view, [`SubView::hdr`]), its cells in pinned memory,
/// its enqueue counter and a copy of its header in device memory (the lanes read the
/// header on every push: a read across PCIe saved, about a microsecond).
pub(super) struct SubRings {
    hdrs: Pinned,
    _cells: RingCells,
    _enq: DevBuf,
    /// The device copies of the headers, one after another (MachineHdr::ring).
    pub(super) dev: DevBuf,
    /// Number of rings.
    pub(super) n: usize,
}

impl SubRings {
    /// `n` rings (at least 1) for `lanes` lanes; each holds one entry per lane of its
    /// own, the most it can have (one request in flight per lane: `no_wait`).
    pub(super) fn new(lanes: usize, n: usize) -> Result<SubRings, RunError> {
        let n = n.max(1);
        let cap = (ring_lanes(lanes, n) as u64).next_power_of_two().max(64);
        let cells = RingCells::new(n, cap)?;
        let hdrs = Pinned::new(n * SUB_HDR_STRIDE)?;
        let enq = DevBuf::new(n * SUB_ENQ_STRIDE)?;
        enq.upload(&vec![0u8; n * SUB_ENQ_STRIDE])?;
        let mut dev_hdrs = Vec::with_capacity(n);
        for i in 0..n {
            let h = RingHdr {
                capacity: cap,
                cells: cells.dev(i),
                enq: enq.0 + (i * SUB_ENQ_STRIDE) as u64,
                deq: 0,
                closed: 0,
                no_wait: 1, // cap >= the ring's lanes, one request in flight per lane
            };
            // SAFETY: hdrs holds n headers SUB_HDR_STRIDE apart.
            unsafe { *(hdrs.ptr.add(i * SUB_HDR_STRIDE) as *mut RingHdr) = h };
            // What the lanes read never changes (capacity, cells, the counter's address;
            // `no_wait`, so `closed` is never read).
            dev_hdrs.push(h);
        }
        let dev = DevBuf::new(n * std::mem::size_of::<RingHdr>())?;
        dev.upload(&dev_hdrs)?;
        Ok(SubRings {
            hdrs,
            _cells: cells,
            _enq: enq,
            dev,
            n,
        })
    }

    /// The host's view of the rings (valid while `self` lives).
    pub(super) fn view(&self) -> SubView {
        SubView {
            base: self.hdrs.ptr,
            n: self.n,
        }
    }
}

/// The most lanes any of `n` submission rings takes, when ring `(l / 32) % n` takes lane
/// `l` (kernel/cuda_main.cu): whole warps of 32 lanes in turn.
fn ring_lanes(lanes: usize, n: usize) -> usize {
    if n <= 1 {
        return lanes;
    }
    lanes.div_ceil(32).div_ceil(n) * 32
}

/// The service threads' view of the submission rings: ring `i`'s header in pinned memory.
#[derive(Clone, Copy)]
pub(super) struct SubView {
    base: *mut u8,
    /// Number of rings.
    pub(super) n: usize,
}

impl SubView {
    /// Ring `i`'s header (`i < n`).
    pub(super) fn hdr(&self, i: usize) -> *mut RingHdr {
        assert!(i < self.n, "submission ring {i} of {}", self.n);
        // SAFETY: within the allocation of n headers SUB_HDR_STRIDE apart.
        unsafe { self.base.add(i * SUB_HDR_STRIDE) as *mut RingHdr }
    }
}

/// A counter alone on its cache lines (the service threads add to it concurrently).
#[repr(align(128))]
#[derive(Default)]
struct Counter(u64);

/// The completion rings: host service threads push (counters in host memory), the
/// device's poller warps pop (their headers, with the read positions, in device
/// memory), warp `w` ring `w`. As many as the submission rings: lane `l`'s answers go to
/// ring `(l / 32) % n` whichever thread served them, so that one warp handles all of a
/// lane's answers, in order. Each ring holds two entries per lane of its own (a lane
/// that saw an answer through its own poll of `SysReq::done`, wait_host's fallback, may
/// post and be answered again before its poller took the first). One poller warp reads
/// 32 cells per PCIe round trip and seemed to take about 5 M answers/s at most
/// (twenty-sixth session: at 10,000 lanes the lanes appeared to find most answers
/// through that fallback; not yet confirmed).
pub(super) struct CompRings {
    _cells: RingCells,
    /// The enqueue counters the host views point at.
    enqs: Box<[Counter]>,
    /// The host's views (read-only once built: the producers only add to `enq`).
    hosts: Box<[RingHdr]>,
    /// The device's views, one after another (MachineHdr::comp, ncomp).
    pub(super) dev: DevBuf,
    /// Number of rings.
    pub(super) n: usize,
}

impl CompRings {
    /// `n` rings (at least 1) for `lanes` lanes.
    pub(super) fn new(lanes: usize, n: usize) -> Result<CompRings, RunError> {
        let n = n.max(1);
        let cap = 2 * (ring_lanes(lanes, n) as u64).next_power_of_two().max(64);
        let cells = RingCells::new(n, cap)?;
        let enqs: Box<[Counter]> = (0..n).map(|_| Counter::default()).collect();
        let hosts: Box<[RingHdr]> = (0..n)
            .map(|i| RingHdr {
                capacity: cap,
                enq: &enqs[i].0 as *const u64 as u64,
                deq: 0,
                cells: cells.host(i),
                closed: 0,
                no_wait: 1,
            })
            .collect();
        let devs: Vec<RingHdr> = (0..n)
            .map(|i| RingHdr {
                cells: cells.dev(i),
                enq: 0,
                ..hosts[i]
            })
            .collect();
        let dev = DevBuf::new(n * std::mem::size_of::<RingHdr>())?;
        dev.upload(&devs)?;
        Ok(CompRings {
            _cells: cells,
            enqs,
            hosts,
            dev,
            n,
        })
    }

    /// The service threads' view (valid while `self` lives).
    pub(super) fn view(&self) -> CompView {
        CompView {
            base: self.hosts.as_ptr() as *mut RingHdr,
            n: self.n,
        }
    }

    /// Answers pushed so far, over every ring (read racily: for reports).
    pub(super) fn pushed(&self) -> u64 {
        // SAFETY: plain reads of counters other threads add to; a report's estimate.
        self.enqs
            .iter()
            .map(|c| unsafe { std::ptr::read_volatile(&c.0) })
            .sum()
    }
}

/// The service threads' view of the completion rings; `none()` when no poller runs.
#[derive(Clone, Copy)]
pub(super) struct CompView {
    base: *mut RingHdr,
    n: usize,
}

impl CompView {
    /// No completion rings (the lanes poll `SysReq::done` themselves).
    pub(super) fn none() -> CompView {
        CompView {
            base: std::ptr::null_mut(),
            n: 0,
        }
    }

    /// Whether there are none.
    pub(super) fn is_none(&self) -> bool {
        self.base.is_null()
    }

    /// The ring `lane`'s answers go to.
    pub(super) fn for_lane(&self, lane: usize) -> *mut RingHdr {
        assert!(!self.base.is_null(), "no completion rings");
        // SAFETY: ring_of(lane, n) < n, within the n headers.
        unsafe { self.base.add(ring_of(lane, self.n)) }
    }
}

/// The ring (of `n`, submission or completion) of lane `lane`: whole warps of 32 lanes
/// in turn, as kernel/cuda_main.cu picks them.
fn ring_of(lane: usize, n: usize) -> usize {
    if n <= 1 {
        0
    } else {
        (lane / 32) % n
    }
}

#[cfg(test)]
mod tests {
    use super::{ring_lanes, ring_of};

    /// Each ring has a cell for every lane that may push to it (`no_wait` needs that):
    /// counted lane by lane as the kernel picks rings.
    #[test]
    fn every_ring_has_room_for_its_lanes() {
        for lanes in [1usize, 31, 32, 33, 100, 1000, 1024, 10_000, 30_000, 100_000] {
            for n in 1..=16usize {
                let mut per = vec![0usize; n];
                for l in 0..lanes {
                    per[ring_of(l, n)] += 1;
                }
                let most = *per.iter().max().unwrap();
                assert!(
                    most <= ring_lanes(lanes, n),
                    "{lanes} lanes, {n} rings: {most}"
                );
            }
        }
    }
}
