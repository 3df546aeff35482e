//! The correctness gate: qemu reference runs, the parallel qemu comparison, and gpuos
//! runs checked against the references (a run that differs is refused, never a figure).

use super::Workload;
use gpuos::machine::sha256;
use gpuos::machine::Translate;
use gpuos::{BackendKind, LaneStatus, RunConfig, RunReport};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Instant;

/// Lane counts up to which every lane of a divergent workload is compared with a qemu
/// run of its own seed (as scripts/conformance.sh's SAMPLE_ALL).
const SAMPLE_ALL: usize = 256;

/// The lanes of an `n`-lane run of a divergent workload whose stdout is compared with a
/// qemu run of the lane's seed: all up to [`SAMPLE_ALL`], else lanes 0..63, 64 spread
/// evenly (k (n - 1) / 65 for k = 1..64) and the last, like scripts/conformance.sh's
/// `lane_sample` for its `{lane}` cases. Every lane's exit status is checked regardless.
pub(super) fn checked_lanes(n: usize) -> BTreeSet<usize> {
    if n <= SAMPLE_ALL {
        return (0..n).collect();
    }
    let mut s: BTreeSet<usize> = (0..64).collect();
    s.extend((1..=64).map(|k| k * (n - 1) / 65));
    s.insert(n - 1);
    s
}

/// One reference output: qemu's stdout and its SHA-256.
pub(super) struct Reference {
    pub stdout: Vec<u8>,
    pub hash: [u8; 32],
}

impl Reference {
    pub fn new(stdout: Vec<u8>) -> Reference {
        let hash = sha256(&stdout);
        Reference { stdout, hash }
    }
}

/// What the lanes of a gpuos run of a workload (and its parallel qemu processes) must
/// print on stdout: the qemu reference runs' output.
pub(super) enum Expected {
    /// Every lane prints this: a convergent workload.
    Same(Reference),
    /// Lane i prints what qemu printed with seed i: a divergent workload. Holds the
    /// lanes [`checked_lanes`] picks for every lane count measured and the qemu
    /// comparison's processes; the other lanes' stdout is not compared.
    PerLane(BTreeMap<usize, Reference>),
}

impl Expected {
    /// The reference of lane `i`, if it is compared.
    pub fn lane(&self, i: usize) -> Option<&Reference> {
        match self {
            Expected::Same(r) => Some(r),
            Expected::PerLane(m) => m.get(&i),
        }
    }

    /// The lanes below `n` that are compared, with their references.
    fn compared(&self, n: usize) -> Box<dyn Iterator<Item = (usize, &Reference)> + '_> {
        match self {
            Expected::Same(r) => Box::new((0..n).map(move |i| (i, r))),
            Expected::PerLane(m) => Box::new(m.range(..n).map(|(&i, r)| (i, r))),
        }
    }

    /// Testing aid (`--corrupt-check`): alter the reference of `lane` (every lane's, for
    /// a convergent workload) so that no correct run matches it.
    pub fn corrupt(&mut self, lane: usize) {
        let r = match self {
            Expected::Same(r) => Some(r),
            Expected::PerLane(m) => m.get_mut(&lane),
        };
        if let Some(r) = r {
            let mut out = std::mem::take(&mut r.stdout);
            out.extend_from_slice(b"corrupted reference\n");
            *r = Reference::new(out);
        }
    }
}

/// `qemu-aarch64 -cpu cortex-a57` running workload `w` as process (lane) `lane`.
fn qemu_command(qemu: &Path, w: &Workload, lane: usize) -> Command {
    let mut c = Command::new(qemu);
    c.args(["-cpu", "cortex-a57"]);
    // From a sysroot: the program is a path in it, and qemu finds the interpreter there.
    let program = match &w.sysroot {
        Some(dir) => {
            c.arg("-L").arg(dir);
            dir.join(w.program.strip_prefix("/").unwrap_or(&w.program))
        }
        None => w.program.clone(),
    };
    for kv in w.env {
        if let Some((k, v)) = kv.split_once('=') {
            c.env(k, v);
        }
    }
    c.arg(program)
        .args(w.argv_tail(Some(lane), &format!("{} -cpu cortex-a57 ", qemu.display())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    c
}

fn spawn(qemu: &Path, w: &Workload, lane: usize) -> Result<Child, String> {
    qemu_command(qemu, w, lane)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", qemu.display()))
}

/// The stdout of a qemu reference run of `w` as lane `lane`, refusing a failure.
fn reference_stdout(w: &Workload, lane: usize, o: Output) -> Result<Vec<u8>, String> {
    if !o.status.success() {
        let seed = if w.divergent {
            format!(" with seed {lane}")
        } else {
            String::new()
        };
        return Err(format!(
            "the qemu reference run of {}{seed} failed ({}): {}",
            w.name,
            o.status,
            String::from_utf8_lossy(&o.stdout).trim()
        ));
    }
    Ok(o.stdout)
}

/// Run the qemu reference of workload `w` as lane `lane` alone: its stdout, refusing a
/// failure.
pub(super) fn qemu_once(qemu: &Path, w: &Workload, lane: usize) -> Result<Vec<u8>, String> {
    let o = qemu_command(qemu, w, lane)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", qemu.display()))?;
    reference_stdout(w, lane, o)
}

/// The qemu reference runs of workload `w` as each of `lanes`, `width` processes at a
/// time: their stdout by lane, refusing a failure.
pub(super) fn qemu_references(
    qemu: &Path,
    w: &Workload,
    lanes: &[usize],
    width: usize,
) -> Result<BTreeMap<usize, Vec<u8>>, String> {
    let mut out = BTreeMap::new();
    for chunk in lanes.chunks(width.max(1)) {
        let children: Vec<Child> = chunk
            .iter()
            .map(|&l| spawn(qemu, w, l))
            .collect::<Result<_, _>>()?;
        for (&l, c) in chunk.iter().zip(children) {
            let o = c.wait_with_output().map_err(|e| e.to_string())?;
            out.insert(l, reference_stdout(w, l, o)?);
        }
    }
    Ok(out)
}

/// N parallel qemu processes of the workload (process k as lane k: a divergent
/// workload's seed k), each checked against its reference; the wall seconds for all.
pub(super) fn qemu_parallel(
    qemu: &Path,
    w: &Workload,
    n: usize,
    expected: &Expected,
) -> Result<f64, String> {
    let t = Instant::now();
    let children: Vec<Child> = (0..n)
        .map(|k| spawn(qemu, w, k))
        .collect::<Result<_, _>>()?;
    for (k, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().map_err(|e| e.to_string())?;
        let ok = expected.lane(k).is_some_and(|r| r.stdout == o.stdout);
        if !o.status.success() || !ok {
            return Err(format!(
                "a parallel qemu run of {} (process {k}) differed from its reference",
                w.name
            ));
        }
    }
    Ok(t.elapsed().as_secs_f64())
}

/// One gpuos run, validated: every lane exited 0, and every compared lane printed its
/// reference stdout.
pub(super) struct Checked {
    pub report: RunReport,
    /// Wall seconds of the whole `gpuos::run` call.
    pub wall: f64,
    /// How many lanes' stdout was compared with a qemu reference.
    pub stdout_checked: usize,
}

/// How [`gpuos_run`] runs a workload.
pub(super) struct How<'a> {
    /// Arguments after the workload's own.
    pub extra: &'a [&'a str],
    /// Each lane's stdout and stderr go to files there (`--lane-dir`).
    pub output_dir: Option<&'a Path>,
    /// Lanes do different work by design: their instruction counts may differ.
    pub mixed: bool,
    /// Tier 2 (`bench --translate`).
    pub translate: Translate,
}

/// Run workload `w` on `lanes` lanes as `how` says and check it: every lane exits 0,
/// every lane `expected` holds prints its reference, and (unless `how.mixed` or `w` is
/// divergent) every lane retires the same number of instructions.
pub(super) fn gpuos_run(
    w: &Workload,
    backend: BackendKind,
    lanes: usize,
    expected: &Expected,
    how: &How,
) -> Result<Checked, String> {
    let (extra, output_dir, mixed) = (how.extra, how.output_dir, how.mixed);
    let mut argv: Vec<OsString> = vec![w.program.clone().into_os_string()];
    argv.extend(w.argv_tail(None, "").into_iter().map(OsString::from));
    argv.extend(extra.iter().map(OsString::from));
    let mut cfg = RunConfig::new(&w.program, argv);
    cfg.backend = backend;
    cfg.lanes = lanes;
    cfg.passthrough = false;
    cfg.hash_every_lane = true;
    cfg.output_dir = output_dir.map(Path::to_path_buf);
    cfg.translate = how.translate;
    cfg.sysroot = w.sysroot.clone();
    cfg.envp.extend(w.env.iter().map(OsString::from));
    if w.spare_per_lane > 0 && backend == BackendKind::Cuda {
        cfg.spare_lanes = Some(lanes * w.spare_per_lane);
    }
    let t = Instant::now();
    let report = gpuos::run(&cfg).map_err(|e| format!("{}: gpuos: {e}", w.name))?;
    let wall = t.elapsed().as_secs_f64();
    let equal = !mixed && !w.divergent && !w.timing_dependent;
    let why = wrong_lane(&report, expected, output_dir, equal);
    if let Some(why) = why {
        return Err(format!(
            "refused: {} on {} with {lanes} lanes: {why}; no figure is reported for a wrong result",
            w.name, report.backend
        ));
    }
    Ok(Checked {
        stdout_checked: expected.compared(lanes).count(),
        report,
        wall,
    })
}

/// What is wrong with a run, if anything: a lane that did not exit 0, a compared lane
/// whose stdout (its file in `output_dir`, else its hash) differs from its reference,
/// or (`equal_insns`) a lane that retired a different number of instructions from
/// lane 0.
fn wrong_lane(
    report: &RunReport,
    expected: &Expected,
    output_dir: Option<&Path>,
    equal_insns: bool,
) -> Option<String> {
    if let Some((i, l)) =
        (report.lanes.iter().enumerate()).find(|(_, l)| l.status != LaneStatus::Exited(0))
    {
        return Some(format!(
            "lane {i} ended with status {}",
            l.status.shell_status()
        ));
    }
    if let Some(r) = expected.lane(0) {
        let stdout0 = match output_dir {
            Some(d) => std::fs::read(d.join("lane-0.stdout")).unwrap_or_default(),
            None => report.stdout0.clone(),
        };
        if stdout0 != r.stdout {
            return Some(format!(
                "lane 0 stdout {:?} differs from the qemu reference {:?}",
                String::from_utf8_lossy(&stdout0),
                String::from_utf8_lossy(&r.stdout)
            ));
        }
    }
    let lane_ok = |i: usize, r: &Reference| match output_dir {
        // With an output directory the lanes' stdout went to files.
        Some(d) => std::fs::read(d.join(format!("lane-{i}.stdout"))).is_ok_and(|o| o == r.stdout),
        None => report.lanes[i].stdout_hash == Some(r.hash),
    };
    if let Some((i, _)) = expected
        .compared(report.lanes.len())
        .find(|&(i, r)| !lane_ok(i, r))
    {
        return Some(format!("lane {i} stdout differs from the qemu reference"));
    }
    let insns0 = report.lanes[0].insns;
    let odd = report.lanes.iter().position(|l| l.insns != insns0);
    match odd {
        Some(i) if equal_insns => Some(format!(
            "lane {i} retired {} instructions, lane 0 {insns0}",
            report.lanes[i].insns
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lane_checked_up_to_256() {
        for n in [1, 2, 255, 256] {
            assert_eq!(checked_lanes(n), (0..n).collect());
        }
    }

    #[test]
    fn sample_above_256_is_conformance_shs() {
        for n in [257, 300, 1024, 100_000] {
            let s = checked_lanes(n);
            // scripts/conformance.sh lane_sample: seq 0 63; awk printf "%d", k * (n - 1) / 65
            // for k = 1..64 (floating point, truncated); the last lane.
            let mut want: BTreeSet<usize> = (0..64).collect();
            want.extend((1..=64).map(|k| (k as f64 * (n - 1) as f64 / 65.0) as usize));
            want.insert(n - 1);
            assert_eq!(s, want, "{n} lanes");
            assert!(s.iter().all(|&l| l < n));
        }
        assert_eq!(checked_lanes(300).len(), 116);
    }

    #[test]
    fn corrupt_alters_one_lane_of_a_divergent_workload() {
        let refs = |n: usize| (0..n).map(|l| (l, Reference::new(vec![l as u8]))).collect();
        let mut e = Expected::PerLane(refs(3));
        e.corrupt(2);
        assert_eq!(e.lane(0).unwrap().stdout, [0]);
        assert_eq!(e.lane(1).unwrap().stdout, [1]);
        let r = e.lane(2).unwrap();
        assert_ne!(r.stdout, [2]);
        assert_eq!(r.hash, sha256(&r.stdout));
        assert!(e.lane(3).is_none());
        assert_eq!(e.compared(2).count(), 2);
    }
}
