//! A lane's output and outcome: where its stdout and stderr go (`--output-dir` files
//! or streams), and, when it has ended, its status, instruction count and the hashes of
//! its output ([`finish_lane`]).

use crate::abi::{Proc, PROC_EXITED, PROC_KILLED};
use crate::host::output::hash_file;
use crate::host::ProcHost;
use crate::machine::{LaneResult, LaneStatus, RunConfig};
use crate::stop::stop_signal;

/// Bytes of lane 0's stdout kept in memory for [`RunReport::stdout0`] when it is not
/// passed through (a library caller's check of a small output: `gpuos bench`).
pub const STDOUT0_KEEP: usize = 16 << 20;

/// Whether lane `lane`'s guest sees its `--output-dir` files themselves on fd 1 and 2
/// (regular files, held open for the whole run): when every lane's files fit
/// ([`lane_files_fit`]), except lane 0 when it is passed through (its output also goes
/// to gpuos's own stdout and stderr, through a stream).
pub fn lane_sees_files(cfg: &RunConfig, lane: usize) -> bool {
    cfg.output_dir.is_some() && !(lane == 0 && cfg.passthrough) && lane_files_fit(cfg.lanes)
}

/// Bytes a `--output-dir` stream buffers when the files are opened for each write
/// ([`LaneFile::buffered`]): 256 MiB over every lane's two streams, 4 to 64 KiB each.
pub(crate) fn lane_file_buffer(lanes: usize) -> usize {
    ((256usize << 20) / lanes.max(1) / 2).clamp(4 << 10, 64 << 10)
}

/// Whether every lane's `--output-dir` files can stay open for the whole run: two per
/// lane, within the open-file limit (getrlimit(2) RLIMIT_NOFILE, soft) less a reserve
/// for the guests' own files. When they cannot (100,000 lanes against a limit of 20,000
/// on the GPU machine), each lane's stdout and stderr are streams whose files are
/// opened, appended to and closed whenever a small buffer fills and when the lane ends
/// ([`LaneFile::buffered`]): the guest then sees a pipe, not a regular file, on fd 1
/// and 2.
pub fn lane_files_fit(lanes: usize) -> bool {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills a local struct.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return false;
    }
    (lanes as u64).saturating_mul(2).saturating_add(1024) <= r.rlim_cur
}

/// Collect a finished lane's outcome (its first process's status; the instructions of
/// its whole family) and close its host side: its streams' files are written out and
/// their hashes taken; a lane whose guest saw its `--output-dir` files themselves
/// ([`lane_sees_files`]) is hashed from those files, read in pieces. Returns
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
        // Its own frames: the page cache's that it maps are counted once, in the pool.
        frames_private: p.frames_private - p.frames_cached,
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
