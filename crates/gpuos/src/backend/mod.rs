//! Execution backends: the CPU backend (host threads) and the CUDA backend (one GPU
//! thread per process). Both run the same execution core (kernel/).

mod clock;
pub mod cpu;
pub mod cuda;
pub mod stopped;

use crate::abi::Proc;
pub use crate::machine::RoundTrips;
pub use crate::stop::{request_stop, sleep_until_or_stop, stop_requested, stop_signal};
use std::sync::atomic::{AtomicU64, Ordering};

/// `-v`'s line on translated accesses that missed their region's soft-TLB entry
/// (`MachineHdr::t2_misses`), per 1,000 translated instructions; nothing when no
/// instruction ran translated.
pub fn report_t2_misses(hdr: &crate::abi::MachineHdr) {
    if hdr.t2_insns == 0 {
        return;
    }
    eprintln!(
        "gpuos: {:.3} region soft-TLB misses per 1000 translated instructions ({} in all)",
        hdr.t2_misses as f64 * 1000.0 / hdr.t2_insns as f64,
        hdr.t2_misses
    );
}

/// `-v`'s line on the spare lanes (kernel/proc/spare.h): how many there were at the
/// end, how often they took a task, and the guest instructions they ran.
pub fn report_spares(hdr: &crate::abi::MachineHdr, total_insns: u64) {
    if hdr.spare_lanes == 0 && hdr.spare_takes == 0 {
        return;
    }
    let share = if total_insns > 0 {
        100.0 * hdr.spare_insns as f64 / total_insns as f64
    } else {
        0.0
    };
    eprintln!(
        "gpuos: {} spare lanes took tasks {} times and ran {} guest instructions ({share:.1} %)",
        hdr.spare_lanes, hdr.spare_takes, hdr.spare_insns
    );
}

/// What each of `MachineHdr::spawn_stage_ns` times (kernel/rt.h `SPAWN_*`): clone's
/// prelude (descriptors handed back, flags checked), taking the child's slot (and a
/// fork's CLONE_CHILD_SETTID), copying the Proc, a fork's page tables (with the counts
/// and the parent's soft-TLB flush), the part of those spent taking and zeroing the new
/// tables' frames, the task's fresh fields (and a fork's pipe ends), a fork's file
/// ranges, and the rest (the family's links, the host's note, made runnable).
pub const SPAWN_STAGE_NAMES: [&str; crate::abi::SPAWN_STAGES] = [
    "prelude",
    "slot",
    "proc copy",
    "tables",
    "of which frames",
    "fresh task",
    "file ranges",
    "family",
];

/// `-v`'s line on the processes and threads made on the device (`MachineHdr::spawns`):
/// how many, and the mean device time of one (nothing when none was).
pub fn report_spawns(hdr: &crate::abi::MachineHdr) {
    if hdr.spawns == 0 {
        return;
    }
    eprintln!(
        "gpuos: {} processes and threads spawned on the device, {:.2} us each (device clock, the caller's time from clone to the child runnable)",
        hdr.spawns,
        hdr.spawn_ns as f64 / hdr.spawns as f64 / 1e3
    );
    if hdr.spawn_stage_ns.iter().any(|&t| t != 0) {
        let stages: Vec<String> = SPAWN_STAGE_NAMES
            .iter()
            .zip(hdr.spawn_stage_ns)
            .map(|(name, t)| format!("{name} {:.2}", t as f64 / hdr.spawns as f64 / 1e3))
            .collect();
        eprintln!(
            "gpuos: spawn stages, device us per spawn: {}",
            stages.join(", ")
        );
    }
}

/// The host's time on requests, summed over requests (nanoseconds), for `-v`'s
/// round-trip report.
#[derive(Default)]
pub struct HostTimes {
    /// Serving: the syscall's own work.
    pub serve_ns: AtomicU64,
    /// From the pop off the submission ring to the completion's push (GPU persistent
    /// mode): serving, publishing, and waiting behind the earlier entries of the batch
    /// popped together.
    pub turn_ns: AtomicU64,
}

impl HostTimes {
    /// Add one request's serve time.
    pub fn add_serve(&self, d: std::time::Duration) {
        self.serve_ns
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }

    /// Add one request's turn (pop to completion push).
    pub fn add_turn(&self, d: std::time::Duration) {
        self.turn_ns
            .fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
}

/// Where the host requests' round trips went, as means over every request of every
/// lane (microseconds), from the stamps each Proc keeps on the core's clock (`rt_*`) and
/// the host's serve and turn times ([`HostTimes`]). None when no request was timed.
pub fn round_trips(procs: &[Proc], host: &HostTimes) -> Option<RoundTrips> {
    let n: u64 = procs.iter().map(|p| p.rt_count).sum();
    if n == 0 {
        return None;
    }
    let mean = |f: fn(&Proc) -> u64| procs.iter().map(f).sum::<u64>() as f64 / n as f64 / 1e3;
    let host_mean = |v: &AtomicU64| v.load(Ordering::Relaxed) as f64 / n as f64 / 1e3;
    Some(RoundTrips {
        requests: n,
        post_us: mean(|p| p.rt_post_ns),
        pushed_us: mean(|p| p.rt_push_ns),
        poller_us: mean(|p| p.rt_poller_ns),
        resumed_us: mean(|p| p.rt_wake_ns),
        complete_us: mean(|p| p.rt_complete_ns),
        host_serve_us: host_mean(&host.serve_ns),
        host_turn_us: host_mean(&host.turn_ns),
    })
}

/// `-v`'s line of [`round_trips`].
pub fn report_round_trips(rt: Option<&RoundTrips>) {
    let Some(r) = rt else {
        return;
    };
    eprintln!(
        "gpuos: {} host requests, mean us: post {:.2}, posted -> pushed {:.2}, posted -> poller saw completion {:.2}, posted -> lane resumed {:.2}, complete {:.2}; host serve {:.2}, host turn (pop to completion push) {:.2}",
        r.requests,
        r.post_us,
        r.pushed_us,
        r.poller_us,
        r.resumed_us,
        r.complete_us,
        r.host_serve_us,
        r.host_turn_us,
    );
}

/// `f(index, item)` for every item, on up to one thread per core (a thread for every
/// 1024 items at most), results in item order. An item whose thread panicked is
/// missing from the result.
pub fn map_in_order<T: Send, R: Send>(items: Vec<T>, f: impl Fn(usize, T) -> R + Sync) -> Vec<R> {
    let n = items.len();
    let workers = std::thread::available_parallelism()
        .map_or(1, |c| c.get())
        .min(n.div_ceil(1024))
        .max(1);
    let chunk = n.div_ceil(workers).max(1);
    let mut parts: Vec<Vec<T>> = Vec::with_capacity(workers);
    let mut rest = items;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(std::mem::replace(&mut rest, tail));
    }
    parts.push(rest);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .into_iter()
            .enumerate()
            .map(|(k, part)| {
                s.spawn(move || {
                    part.into_iter()
                        .enumerate()
                        .map(|(i, t)| f(k * chunk + i, t))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::map_in_order;

    #[test]
    fn map_in_order_keeps_order_and_indices() {
        for n in [0usize, 1, 2, 1023, 1024, 1025, 5000, 100_003] {
            let items: Vec<u64> = (0..n as u64).map(|i| i * 7 + 3).collect();
            let out = map_in_order(items, |i, v| (i, v));
            assert_eq!(out.len(), n);
            for (k, &(i, v)) in out.iter().enumerate() {
                assert_eq!(i, k);
                assert_eq!(v, k as u64 * 7 + 3);
            }
        }
    }
}
