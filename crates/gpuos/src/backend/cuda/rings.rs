//! The rings of persistent mode (kernel/ring.h): the submission rings, which the lanes
//! push their posted requests to and the host's service threads pop, and the completion
//! ring, which the service threads push results to and the device's poller warp pops.

use super::memory::{DevBuf, Pinned};
use crate::abi::{RingCell, RingHdr};
use crate::machine::RunError;

/// Bytes between two submission rings' host headers: each is written by the thread
/// popping it (`deq`), so no two share a cache line (nor its neighbour, which x86
/// prefetches in pairs).
const SUB_HDR_STRIDE: usize = 128;
/// Bytes between two submission rings' enqueue counters in device memory.
const SUB_ENQ_STRIDE: usize = 128;

/// The submission rings: `n` of them, lane `l` pushing to ring `(l / 32) % n`, a warp's
/// lanes to one ring (MachineHdr::ring, nrings); one unless `GPUOS_SUB_RINGS=1` (run.rs `sub_ring_count`). One ring with one
/// pop lock served at most about 4.6 M requests/s at 10,000 lanes however many service
/// threads popped it (H200 and H100, twenty-sixth session: 8 and 12 threads alike), each
/// pop a read of a cell the GPU wrote across PCIe; with a ring per service thread the
/// pops run in parallel (30,000 lanes: 5.0 -> 8.9 M/s), but a case of many short file
/// calls per lane (`fdmany`) ran several times slower, not yet understood. Each ring has its header in pinned memory (the
/// consumers' view, [`SubRings::hdr`]), its cells in pinned memory, its enqueue counter
/// and a copy of its header in device memory (the lanes read the header on every push:
/// a read across PCIe saved, about a microsecond).
pub(super) struct SubRings {
    hdrs: Pinned,
    _cells: Pinned,
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
        let cells = Pinned::new(n * cap as usize * std::mem::size_of::<RingCell>())?;
        let hdrs = Pinned::new(n * SUB_HDR_STRIDE)?;
        let enq = DevBuf::new(n * SUB_ENQ_STRIDE)?;
        enq.upload(&vec![0u8; n * SUB_ENQ_STRIDE])?;
        let cells_dev = cells.dev()?;
        let mut dev_hdrs = Vec::with_capacity(n);
        for i in 0..n {
            let h = RingHdr {
                capacity: cap,
                cells: cells_dev + (i as u64 * cap) * std::mem::size_of::<RingCell>() as u64,
                enq: enq.0 + (i * SUB_ENQ_STRIDE) as u64,
                deq: 0,
                closed: 0,
                no_wait: 1, // cap >= the ring's lanes, one request in flight per lane
            };
            // SAFETY: hdrs holds n headers SUB_HDR_STRIDE apart; cells holds n * cap cells.
            unsafe {
                *(hdrs.ptr.add(i * SUB_HDR_STRIDE) as *mut RingHdr) = h;
                let first = (cells.ptr as *mut RingCell).add(i * cap as usize);
                for k in 0..cap {
                    (*first.add(k as usize)).seq = k;
                }
            }
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

/// The completion ring: host service threads push (counter in host memory), the
/// device's poller warp pops (its header, with the read position, in device memory).
pub(super) struct CompletionRing {
    _cells: Pinned,
    /// The enqueue counter the host view points at.
    pub(super) enq: Box<u64>,
    /// The host's view of the ring.
    pub(super) host: Box<RingHdr>,
    /// The device's view.
    pub(super) dev: DevBuf,
}

impl CompletionRing {
    /// A ring of `cap` cells.
    pub(super) fn new(cap: u64) -> Result<CompletionRing, RunError> {
        let cells = Pinned::new(cap as usize * std::mem::size_of::<RingCell>())?;
        let enq = Box::new(0u64);
        // SAFETY: cells holds cap cells.
        unsafe {
            for i in 0..cap {
                (*(cells.ptr as *mut RingCell).add(i as usize)).seq = i;
            }
        }
        let host = Box::new(RingHdr {
            capacity: cap,
            enq: &*enq as *const u64 as u64,
            deq: 0,
            cells: cells.ptr as u64,
            closed: 0,
            no_wait: 1,
        });
        let dev = DevBuf::new(std::mem::size_of::<RingHdr>())?;
        dev.upload(std::slice::from_ref(&RingHdr {
            cells: cells.dev()?,
            enq: 0,
            ..*host
        }))?;
        Ok(CompletionRing {
            _cells: cells,
            enq,
            host,
            dev,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ring_lanes;

    /// Each ring has a cell for every lane that may push to it (`no_wait` needs that):
    /// counted lane by lane as the kernel picks rings.
    #[test]
    fn every_ring_has_room_for_its_lanes() {
        for lanes in [1usize, 31, 32, 33, 100, 1000, 1024, 10_000, 30_000, 100_000] {
            for n in 1..=16usize {
                let mut per = vec![0usize; n];
                for l in 0..lanes {
                    per[if n > 1 { (l / 32) % n } else { 0 }] += 1;
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
