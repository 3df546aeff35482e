//! `gpuos run --lane-report PATH`: one line per lane, for checking or sorting the
//! outcomes of many copies without keeping their output (at 100,000 lanes an
//! `--output-dir` means 200,000 files).
//!
//! Format: tab-separated, a header line, then one line per lane in lane order:
//!
//! ```text
//! lane  status  signal   stdout_sha256  stdout_bytes  stderr_sha256  stderr_bytes  instructions
//! 0     0       -        <64 hex>       14            <64 hex>       0             52170
//! 7     139     SIGSEGV  <64 hex>       0             <64 hex>       0             1803
//! ```
//!
//! `status` is what a shell would see (the exit code, or 128 + the signal number, as
//! wait(2)'s WIFSIGNALED status is shown by sh); `signal` is the killing signal's name or
//! `-`. A hash is `-` where the stream was passed through uncaptured (never, since the
//! option makes every lane captured; kept for library callers that do not). A run
//! stopped by SIGINT or SIGTERM has rows only for the lanes that ended. A job list
//! (`--jobs`) adds a last column, `job`: the lane's command line as written (tabs shown
//! as spaces).

use gpuos::machine::signal_name;
use gpuos::{Job, LaneResult, LaneStatus};
use std::io::Write;

/// The header line's columns.
pub const COLUMNS: [&str; 8] = [
    "lane",
    "status",
    "signal",
    "stdout_sha256",
    "stdout_bytes",
    "stderr_sha256",
    "stderr_bytes",
    "instructions",
];

fn hex(h: &Option<[u8; 32]>) -> String {
    match h {
        Some(h) => h.iter().map(|b| format!("{b:02x}")).collect(),
        None => "-".into(),
    }
}

/// Write the header and one line per lane of `lanes` (index = lane number) to `w`,
/// with each lane's job of `jobs` (a job list's; empty for none). Errors: those of `w`.
pub fn write(w: &mut impl Write, lanes: &[LaneResult], jobs: &[Job]) -> std::io::Result<()> {
    let job_col = if jobs.is_empty() { "" } else { "\tjob" };
    writeln!(w, "{}{job_col}", COLUMNS.join("\t"))?;
    // A run stopped by a signal has rows only for the lanes that ended.
    for (i, l) in lanes.iter().enumerate().filter(|(_, l)| !l.stopped) {
        let signal = match l.status {
            LaneStatus::Exited(_) => "-".to_string(),
            LaneStatus::Killed { signal, .. } => signal_name(signal),
        };
        let job = jobs
            .get(i)
            .map(|j| format!("\t{}", j.line.replace('\t', " ")))
            .unwrap_or_default();
        writeln!(
            w,
            "{i}\t{}\t{signal}\t{}\t{}\t{}\t{}\t{}{job}",
            l.status.shell_status(),
            hex(&l.stdout_hash),
            l.stdout_bytes,
            hex(&l.stderr_hash),
            l.stderr_bytes,
            l.insns
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lane(status: LaneStatus, out: Option<&[u8]>) -> LaneResult {
        LaneResult {
            status,
            stopped: false,
            insns: 99,
            stdout_hash: out.map(gpuos::machine::sha256),
            stderr_hash: out.map(|_| gpuos::machine::sha256(b"")),
            stdout_bytes: out.map_or(0, |o| o.len() as u64),
            stderr_bytes: 0,
            frames_private: 0,
        }
    }

    #[test]
    fn one_line_per_lane_with_shell_status_and_signal_name() {
        let killed = LaneStatus::Killed {
            signal: 11,
            pc: 0x400000,
            addr: 0,
            insn: 0,
            cause: 0,
        };
        let lanes = [
            lane(LaneStatus::Exited(3), Some(b"abc")),
            lane(killed, None),
        ];
        let mut v = Vec::new();
        write(&mut v, &lanes, &[]).unwrap();
        let text = String::from_utf8(v).unwrap();
        let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0], COLUMNS);
        // sha256("abc") from FIPS 180-2, appendix B.1; sha256("") likewise well known.
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(rows[1], ["0", "3", "-", abc, "3", empty, "0", "99"]);
        assert_eq!(rows[2], ["1", "139", "SIGSEGV", "-", "0", "-", "0", "99"]);
    }

    #[test]
    fn a_stopped_run_has_rows_only_for_the_lanes_that_ended() {
        let mut stopped = lane(LaneStatus::Exited(0), Some(b"partial"));
        stopped.stopped = true;
        let lanes = [
            stopped.clone(),
            lane(LaneStatus::Exited(4), Some(b"done")),
            stopped,
        ];
        let mut v = Vec::new();
        write(&mut v, &lanes, &[]).unwrap();
        let text = String::from_utf8(v).unwrap();
        let first: Vec<&str> = text
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        assert_eq!(first, ["lane", "1"], "{text}");
    }
}
