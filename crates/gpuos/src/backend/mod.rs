//! Execution backends: the CPU backend (host threads) and the CUDA backend (one GPU
//! thread per process). Both run the same execution core (kernel/).

mod clock;
pub mod cpu;
pub mod cuda;

use crate::abi::{Proc, PROC_EXITED, PROC_KILLED};
use crate::host::output::hash_file;
use crate::host::ProcHost;
use crate::machine::{lane_sees_files, LaneResult, LaneStatus, RunConfig};
use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked every running lane to stop (the CLI's SIGINT and SIGTERM
/// handlers set it), or 0.
static STOP: AtomicI32 = AtomicI32::new(0);

/// Ask every backend to stop at the next opportunity (within a second: sleeping lanes
/// and reads of gpuos's own stdin included), because of signal `sig`. Only stores to
/// an atomic: safe in a signal handler.
pub fn request_stop(sig: i32) {
    let _ = STOP.compare_exchange(0, sig.max(1), Ordering::SeqCst, Ordering::SeqCst);
}

/// True once a stop was requested.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed) != 0
}

/// The signal a stop was requested for ([`request_stop`]), if one was.
pub fn stop_signal() -> Option<i32> {
    Some(STOP.load(Ordering::Relaxed)).filter(|&s| s != 0)
}

/// Wait until `t`, in pieces, giving up early when a stop is requested. Returns whether
/// `t` was reached.
pub fn sleep_until_or_stop(t: std::time::Instant) -> bool {
    loop {
        if stop_requested() {
            return false;
        }
        let left = t.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(20)));
    }
}

/// `-v`: where the host requests' round trips went, as means over every request of
/// every lane, from the stamps each Proc keeps on the core's clock (`rt_*`: marshal and
/// post; posted -> the completion poller saw the completion (GPU persistent mode only);
/// posted -> the lane resumed; complete) and the host's serve time (`serve_ns`, in all).
pub fn report_round_trips(procs: &[Proc], serve_ns: u64) {
    let n: u64 = procs.iter().map(|p| p.rt_count).sum();
    if n == 0 {
        return;
    }
    let mean = |f: fn(&Proc) -> u64| procs.iter().map(f).sum::<u64>() as f64 / n as f64 / 1e3;
    eprintln!(
        "gpuos: {n} host requests, mean us: post {:.2}, posted -> poller saw completion {:.2}, posted -> lane resumed {:.2}, complete {:.2}; host serve {:.2}",
        mean(|p| p.rt_post_ns),
        mean(|p| p.rt_poller_ns),
        mean(|p| p.rt_wake_ns),
        mean(|p| p.rt_complete_ns),
        serve_ns as f64 / n as f64 / 1e3,
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

/// Collect a finished lane's outcome (its first process's status; the instructions of
/// its whole family) and close its host side: its streams' files are written out and
/// their hashes taken; a lane whose guest saw its `--output-dir` files themselves
/// (`machine::lane_sees_files`) is hashed from those files, read in pieces. Returns
/// the outcome and the stdout bytes kept (lane 0's, when not passed through). A file
/// that cannot be written or read is reported on stderr, naming it.
pub fn finish_lane(
    cfg: &RunConfig,
    lane: usize,
    p: &Proc,
    host: &mut ProcHost,
) -> (LaneResult, Vec<u8>) {
    host.close_all();
    let [(out, out_res), (err, err_res)] = host.finish_streams();
    for e in [out_res.err(), err_res.err()].into_iter().flatten() {
        eprintln!("gpuos: lane {lane}: {e}");
    }
    let mut ends = [(out.sha256, out.bytes), (err.sha256, err.bytes)];
    if let Some(dir) = cfg
        .output_dir
        .as_ref()
        .filter(|_| lane_sees_files(cfg, lane))
    {
        for (k, ext) in ["stdout", "stderr"].into_iter().enumerate() {
            match hash_file(&dir.join(format!("lane-{lane}.{ext}"))) {
                Ok(h) => ends[k] = h,
                Err(e) => eprintln!("gpuos: lane {lane}: {e}"),
            }
        }
    }
    let live = lane == 0 && cfg.lane0_live();
    let res = LaneResult {
        status: lane_status(p),
        stopped: lane_stopped(p),
        insns: p.insns + p.family_insns,
        stdout_hash: (!live).then_some(ends[0].0),
        stderr_hash: (!live).then_some(ends[1].0),
        stdout_bytes: if live { 0 } else { ends[0].1 },
        stderr_bytes: if live { 0 } else { ends[1].1 },
        frames_private: p.frames_private,
    };
    (res, out.kept)
}

/// Whether the process was still running when the run was stopped.
pub fn lane_stopped(p: &Proc) -> bool {
    p.status != PROC_EXITED && p.status != PROC_KILLED
}

/// The result of a lane that never started: the run was stopped first.
pub fn lane_not_started() -> LaneResult {
    LaneResult {
        status: LaneStatus::Killed {
            signal: stop_signal().unwrap_or(2),
            pc: 0,
            addr: 0,
            insn: 0,
            cause: 0,
        },
        stopped: true,
        insns: 0,
        stdout_hash: None,
        stderr_hash: None,
        stdout_bytes: 0,
        stderr_bytes: 0,
        frames_private: 0,
    }
}

/// The status of an ended (or stopped) process.
pub fn lane_status(p: &Proc) -> LaneStatus {
    if p.status == PROC_EXITED {
        LaneStatus::Exited(p.exit_code)
    } else if p.status == PROC_KILLED {
        LaneStatus::Killed {
            signal: p.signal,
            pc: p.fault_pc,
            addr: p.fault_addr,
            insn: p.fault_insn,
            cause: p.kill_cause,
        }
    } else {
        // Still running when the run was stopped: reported as killed by the signal
        // that stopped it (SIGINT, SIGTERM).
        LaneStatus::Killed {
            signal: stop_signal().unwrap_or(2),
            pc: p.cpu.pc,
            addr: 0,
            insn: 0,
            cause: 0,
        }
    }
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
