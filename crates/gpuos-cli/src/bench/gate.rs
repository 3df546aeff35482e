//! The correctness gate: qemu reference runs, the parallel qemu comparison, and gpuos
//! runs checked against the references (a run that differs is refused, never a figure).

use super::Workload;
use gpuos::machine::sha256;
use gpuos::{BackendKind, LaneStatus, RunConfig, RunReport};
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Run the qemu reference of a workload: its stdout (and stderr), refusing a failure.
pub(super) fn qemu_once(
    qemu: &Path,
    w: &Workload,
    extra: &[&str],
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let o = Command::new(qemu)
        .args(["-cpu", "cortex-a57"])
        .arg(&w.program)
        .args(&w.args)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", qemu.display()))?;
    if !o.status.success() {
        return Err(format!(
            "the qemu reference run of {} failed ({}): {}",
            w.name,
            o.status,
            String::from_utf8_lossy(&o.stdout).trim()
        ));
    }
    Ok((o.stdout, o.stderr))
}

/// N parallel qemu processes of the workload; returns the wall seconds for all.
pub(super) fn qemu_parallel(
    qemu: &Path,
    w: &Workload,
    n: usize,
    reference: &[u8],
) -> Result<f64, String> {
    let t = Instant::now();
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(qemu)
                .args(["-cpu", "cortex-a57"])
                .arg(&w.program)
                .args(&w.args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot run {}: {e}", qemu.display()))
        })
        .collect::<Result<_, _>>()?;
    for c in children {
        let o = c.wait_with_output().map_err(|e| e.to_string())?;
        if !o.status.success() || o.stdout != reference {
            return Err(format!(
                "a parallel qemu run of {} differed from its reference",
                w.name
            ));
        }
    }
    Ok(t.elapsed().as_secs_f64())
}

/// One gpuos run, validated: every lane exited 0 with the reference stdout.
pub(super) struct Checked {
    pub report: RunReport,
    /// Wall seconds of the whole `gpuos::run` call.
    pub wall: f64,
    /// Guest instructions lane 0 retired.
    pub per_lane_insns: u64,
}

/// Run workload `w` (with `extra` arguments) on `lanes` lanes and check it: every lane
/// exits 0 with the qemu reference's stdout, and (unless `mixed`, where lanes do
/// different work by design) every lane retires the same number of instructions.
pub(super) fn gpuos_run(
    w: &Workload,
    backend: BackendKind,
    lanes: usize,
    reference: &[u8],
    extra: &[&str],
    output_dir: Option<&Path>,
    mixed: bool,
) -> Result<Checked, String> {
    let mut argv: Vec<OsString> = vec![w.program.clone().into_os_string()];
    argv.extend(w.args.iter().map(OsString::from));
    argv.extend(extra.iter().map(OsString::from));
    let mut cfg = RunConfig::new(&w.program, argv);
    cfg.backend = backend;
    cfg.lanes = lanes;
    cfg.passthrough = false;
    cfg.output_dir = output_dir.map(Path::to_path_buf);
    let t = Instant::now();
    let report = gpuos::run(&cfg).map_err(|e| format!("{}: gpuos: {e}", w.name))?;
    let wall = t.elapsed().as_secs_f64();
    let stdout0 = match output_dir {
        Some(d) => std::fs::read(d.join("lane-0.stdout")).unwrap_or_default(),
        None => report.stdout0.clone(),
    };
    let refuse = |why: String| {
        Err(format!(
            "refused: {} on {} with {lanes} lanes: {why}; no figure is reported for a wrong result",
            w.name, report.backend
        ))
    };
    for (i, l) in report.lanes.iter().enumerate() {
        if l.status != LaneStatus::Exited(0) {
            return refuse(format!(
                "lane {i} ended with status {}",
                l.status.shell_status()
            ));
        }
    }
    if stdout0 != reference {
        return refuse(format!(
            "lane 0 stdout {:?} differs from the qemu reference {:?}",
            String::from_utf8_lossy(&stdout0),
            String::from_utf8_lossy(reference)
        ));
    }
    let want = sha256(reference);
    let lane_ok = |i: usize, h: Option<[u8; 32]>| match output_dir {
        // With an output directory the lanes' stdout went to files.
        Some(d) => std::fs::read(d.join(format!("lane-{i}.stdout"))).is_ok_and(|o| o == reference),
        None => h.is_none() || h == Some(want),
    };
    if let Some(i) = (0..report.lanes.len()).find(|&i| !lane_ok(i, report.lanes[i].stdout_hash)) {
        return refuse(format!("lane {i} stdout differs from the qemu reference"));
    }
    let per_lane_insns = report.lanes[0].insns;
    if let Some(i) = report
        .lanes
        .iter()
        .position(|l| !mixed && l.insns != per_lane_insns)
    {
        return refuse(format!(
            "lane {i} retired {} instructions, lane 0 {per_lane_insns}",
            report.lanes[i].insns
        ));
    }
    Ok(Checked {
        report,
        wall,
        per_lane_insns,
    })
}
