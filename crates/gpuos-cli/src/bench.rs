//! `gpuos bench`: the measurement instrument.
//!
//! Runs the benchmark workloads (tests/guest/bench_*.c and a busybox job) on the chosen
//! backends at several lane counts, checks every run against the reference output of
//! `qemu-aarch64 -cpu cortex-a57` (a run whose lane output or exit status differs is
//! refused: the bench stops with an error and reports no figure), runs the same
//! workloads as parallel qemu processes for comparison, and reports guest instructions
//! per second, syscall round trips, memory and start-up times as a table, JSON and an
//! optional log-log plot.

use gpuos::machine::{sha256, HostPool, Prepared};
use gpuos::{BackendKind, LaneStatus, RunConfig, RunReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Map, Value};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Frames in the CPU backend's pool (crates/gpuos/src/backend/cpu.rs, CPU_POOL_FRAMES).
const CPU_POOL_FRAMES: u64 = 1 << 22;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchBackend {
    /// CUDA when a usable GPU is present, else the CPU backend.
    Auto,
    /// Host threads.
    Cpu,
    /// NVIDIA GPU.
    Cuda,
}

#[derive(clap::Args, Clone, Debug)]
pub struct BenchOpts {
    /// Small workloads, fewer lane counts, one repeat (well under a minute on the CPU backend).
    #[arg(long)]
    quick: bool,
    /// Like --quick with workloads a tenth of its size or less (about 1 M guest
    /// instructions per process), for lane sweeps to 100,000 on a GPU within minutes.
    #[arg(long)]
    tiny: bool,
    /// Backends to measure (comma-separated: cpu,cuda measures both).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "auto")]
    backend: Vec<BenchBackend>,
    /// Write the results as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
    /// Draw aggregate guest instructions/s against lanes (log-log) into PATH (PNG).
    #[arg(long, value_name = "PATH.png")]
    plot: Option<PathBuf>,
    /// qemu-aarch64 binary (default: qemu-aarch64 on PATH, else .deps/qemu-aarch64-static).
    #[arg(long, value_name = "PATH")]
    qemu: Option<PathBuf>,
    /// Directory holding the bench_* guest programs.
    #[arg(long, value_name = "DIR", default_value = "tests/guest/bin")]
    bin_dir: PathBuf,
    /// busybox binary for the sha256sum workload (skipped with a note when absent).
    #[arg(long, value_name = "PATH", default_value = ".deps/busybox")]
    busybox: PathBuf,
    /// Repeats per figure (median, min, max); default 3, or 1 with --quick.
    #[arg(long, value_name = "N")]
    repeats: Option<usize>,
    /// Lane counts to measure (comma-separated), instead of the defaults.
    #[arg(long, value_name = "N,N,...", value_delimiter = ',')]
    lanes: Vec<usize>,
    /// Only these workloads (comma-separated: int,fp,mem,sys,busybox).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    workloads: Vec<String>,
    /// GPU architecture for the compile-time measurement (CUDA).
    #[arg(long, default_value = "sm_90")]
    arch: String,
    /// Leave out the cold NVRTC compile of the start-up figure (a minute or two of the
    /// GPU machine's time); the warm-cache start is still measured.
    #[arg(long)]
    skip_cold_compile: bool,
    /// Testing aid: compare against a deliberately altered reference (must be refused).
    #[arg(long, hide = true)]
    corrupt_check: bool,
}

/// One workload: a program and its arguments.
struct Workload {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    /// Largest lane count worth running (memory-bound workloads).
    max_lanes: usize,
}

/// Median, min, max of some samples.
fn stats(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let med = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    (med, s[0], s[n - 1])
}

fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// Deterministic content for the busybox job (xorshift64 bytes).
fn make_data_file(path: &Path, bytes: usize) -> std::io::Result<()> {
    let mut v = Vec::with_capacity(bytes);
    let mut s: u64 = 0x2545_F491_4F6C_DD1D;
    while v.len() < bytes {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.extend_from_slice(&s.to_le_bytes());
    }
    v.truncate(bytes);
    std::fs::write(path, v)
}

/// Civil UTC date and time of the system clock, ISO 8601.
fn now_iso8601() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(cmd)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !o.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn host_cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "host CPU".into())
}

fn mem_available_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let l = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = l.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Run the qemu reference of a workload: its stdout (and stderr), refusing a failure.
fn qemu_once(qemu: &Path, w: &Workload, extra: &[&str]) -> Result<(Vec<u8>, Vec<u8>), String> {
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
fn qemu_parallel(qemu: &Path, w: &Workload, n: usize, reference: &[u8]) -> Result<f64, String> {
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
struct Checked {
    report: RunReport,
    wall: f64,
    per_lane_insns: u64,
}

/// Run workload `w` (with `extra` arguments) on `lanes` lanes and check it: every lane
/// exits 0 with the qemu reference's stdout, and (unless `mixed`, where lanes do
/// different work by design) every lane retires the same number of instructions.
fn gpuos_run(
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

fn parse_kv(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|t| t.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

/// Syscall round trip from bench_sys's timing mode (its stderr).
fn timing_figures(stderr: &[u8]) -> Option<Value> {
    let s = String::from_utf8_lossy(stderr);
    let l = s.lines().find(|l| l.starts_with("bench_sys timing"))?;
    Some(json!({
        "samples": parse_kv(l, "samples")?,
        "p50_ns": parse_kv(l, "p50_ns")?,
        "p99_ns": parse_kv(l, "p99_ns")?,
        "clock_gettime_p50_ns": parse_kv(l, "clock_p50_ns")?,
        "clock_gettime_p99_ns": parse_kv(l, "clock_p99_ns")?,
    }))
}

fn backend_name(b: BackendKind) -> &'static str {
    match b {
        BackendKind::Cuda => "cuda",
        _ => "cpu",
    }
}

fn fmt_si(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2} G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.2} k", x / 1e3)
    } else {
        format!("{x:.2} ")
    }
}

/// Run the bench; Err is printed by the caller and gives a nonzero exit status.
pub fn run(o: &BenchOpts) -> Result<(), String> {
    let quick = o.quick || o.tiny;
    let repeats = o.repeats.unwrap_or(if quick { 1 } else { 3 }).max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let commit = command_line("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());

    // Backends.
    let mut backends: Vec<BackendKind> = Vec::new();
    for b in &o.backend {
        let k = match b {
            BenchBackend::Cpu => BackendKind::Cpu,
            BenchBackend::Cuda => BackendKind::Cuda,
            BenchBackend::Auto => {
                if gpuos::backend::cuda::available() {
                    BackendKind::Cuda
                } else {
                    eprintln!(
                        "gpuos bench: no usable CUDA GPU ({}); using the CPU backend",
                        gpuos::backend::cuda::why_unavailable()
                    );
                    BackendKind::Cpu
                }
            }
        };
        if !backends.contains(&k) {
            backends.push(k);
        }
    }
    if backends.contains(&BackendKind::Cuda) && !gpuos::backend::cuda::available() {
        return Err(format!(
            "the CUDA backend is not available: {}",
            gpuos::backend::cuda::why_unavailable()
        ));
    }

    // qemu.
    let qemu = match &o.qemu {
        Some(q) => absolute(q),
        None => which("qemu-aarch64")
            .or_else(|| {
                let p = absolute(Path::new(".deps/qemu-aarch64-static"));
                p.is_file().then_some(p)
            })
            .ok_or("qemu-aarch64 not found (install qemu-user, run scripts/fetch-deps.sh, or pass --qemu PATH): it gives the reference results")?,
    };
    if !qemu.is_file() {
        return Err(format!("qemu-aarch64 not found at {}", qemu.display()));
    }

    // Workloads.
    let bin_dir = absolute(&o.bin_dir);
    let prog = |n: &str| bin_dir.join(n);
    let (int_it, fp_steps, mem_args, sys_it, bb_bytes) = if o.tiny {
        (20, 2_000, ["1", "1"], 300, 32 << 10)
    } else if quick {
        (200, 20_000, ["1", "8"], 3000, 256 << 10)
    } else {
        (2000, 200_000, ["2", "64"], 20_000, 16 << 20)
    };
    let mut workloads = vec![
        Workload {
            name: "int",
            program: prog("bench_int"),
            args: vec![int_it.to_string()],
            max_lanes: usize::MAX,
        },
        Workload {
            name: "fp",
            program: prog("bench_fp"),
            args: vec![fp_steps.to_string()],
            max_lanes: usize::MAX,
        },
        Workload {
            name: "mem",
            program: prog("bench_mem"),
            args: mem_args.iter().map(|s| s.to_string()).collect(),
            // 64 MiB per process (quick: 8 MiB, tiny: 1 MiB): at most 64 GiB (32, 10).
            max_lanes: if o.tiny {
                10_000
            } else if quick {
                4096
            } else {
                1024
            },
        },
        Workload {
            name: "sys",
            program: prog("bench_sys"),
            args: vec![sys_it.to_string()],
            // 4 host syscalls per iteration: 1024 lanes already make 12 M (quick) or
            // 80 M requests, more than the host serves in a few seconds.
            max_lanes: 1024,
        },
    ];
    for w in &workloads {
        if !w.program.is_file() {
            return Err(format!(
                "{} not found (build the guest programs with tests/guest/build.sh, or pass --bin-dir)",
                w.program.display()
            ));
        }
    }
    let busybox = absolute(&o.busybox);
    let mut notes: Vec<String> = Vec::new();
    let tmp = std::env::temp_dir().join(format!("gpuos-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    if busybox.is_file() {
        make_data_file(&tmp.join("data.bin"), bb_bytes).map_err(|e| e.to_string())?;
        workloads.push(Workload {
            name: "busybox",
            program: busybox.clone(),
            args: vec!["sha256sum".into(), "data.bin".into()],
            // Every lane reads the whole file through the host.
            max_lanes: if quick { 10_000 } else { 1024 },
        });
    } else {
        let n = format!(
            "busybox workload skipped: {} not found (scripts/fetch-deps.sh fetches it)",
            busybox.display()
        );
        eprintln!("gpuos bench: {n}");
        notes.push(n);
    }
    if !o.workloads.is_empty() {
        workloads.retain(|w| o.workloads.iter().any(|n| n == w.name));
        if workloads.is_empty() {
            return Err("--workloads selects nothing (int, fp, mem, sys, busybox)".into());
        }
    }
    let json_path = o.json.as_deref().map(absolute);
    let plot_path = o.plot.as_deref().map(absolute);
    // Every run happens in the temporary directory (the guests' writable cwd).
    let cwd0 = std::env::current_dir().map_err(|e| e.to_string())?;
    std::env::set_current_dir(&tmp).map_err(|e| e.to_string())?;
    let result = measure(
        o, quick, repeats, cores, &commit, &backends, &qemu, &workloads, notes, &tmp,
    );
    let _ = std::env::set_current_dir(&cwd0);
    let _ = std::fs::remove_dir_all(&tmp);
    let doc = result?;
    if let Some(p) = json_path {
        let s = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
        std::fs::write(&p, s + "\n").map_err(|e| format!("{}: {e}", p.display()))?;
        eprintln!("gpuos bench: JSON written to {}", p.display());
    }
    if let Some(p) = plot_path {
        plot::draw(&doc, &p).map_err(|e| format!("plot {}: {e}", p.display()))?;
        eprintln!("gpuos bench: plot written to {}", p.display());
    }
    Ok(())
}

/// The lane counts to measure: `--lanes`, or per backend: on CUDA 1, 32, 1024, 10,000,
/// 100,000 and `resident` (all lanes the GPU runs at once; `--quick` without `--tiny`:
/// 1, 32, 1024), on the CPU 1x, 2x, 4x the cores (`--quick`: 1, cores).
fn lane_counts(
    o: &BenchOpts,
    quick: bool,
    b: BackendKind,
    cores: usize,
    resident: Option<usize>,
) -> Vec<usize> {
    let mut v = if !o.lanes.is_empty() {
        o.lanes.clone()
    } else {
        match (b, quick && !o.tiny) {
            (BackendKind::Cuda, false) => {
                let mut v = vec![1, 32, 1024, 10_000, 100_000];
                v.extend(resident);
                v
            }
            (BackendKind::Cuda, true) => vec![1, 32, 1024],
            (_, false) => vec![1, cores, 2 * cores, 4 * cores],
            (_, true) => vec![1, cores],
        }
    };
    v.retain(|&n| n > 0);
    v.sort_unstable();
    v.dedup();
    v
}

#[allow(clippy::too_many_arguments)]
fn measure(
    o: &BenchOpts,
    quick: bool,
    repeats: usize,
    cores: usize,
    commit: &str,
    backends: &[BackendKind],
    qemu: &Path,
    workloads: &[Workload],
    mut notes: Vec<String>,
    tmp: &Path,
) -> Result<Value, String> {
    // All lanes the GPU runs at once: a lane count of its own ("the most that fit").
    let resident = if backends.contains(&BackendKind::Cuda) {
        match gpuos::backend::cuda::resident_lanes() {
            Ok(n) => Some(n),
            Err(e) => {
                notes.push(format!("resident lane count unknown: {e}"));
                None
            }
        }
    } else {
        None
    };
    // Plan, for the progress bar.
    let mut steps = workloads.len() as u64 * (1 + repeats as u64); // references + qemu
    for &b in backends {
        for w in workloads {
            let n = lane_counts(o, quick, b, cores, resident)
                .iter()
                .filter(|&&l| l <= w.max_lanes)
                .count();
            steps += (n * repeats) as u64;
        }
        steps += 2 * repeats as u64; // syscall timing, idle and busy
    }
    let pb = ProgressBar::with_draw_target(
        Some(steps),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    // References and the qemu comparison.
    let mut refs: Vec<Vec<u8>> = Vec::new();
    let mut qemu_single: Vec<f64> = Vec::new();
    let mut qemu_wall: Vec<(f64, f64, f64)> = Vec::new();
    for w in workloads {
        pb.set_message(format!("qemu reference: {}", w.name));
        let t = Instant::now();
        let (mut out, _) = qemu_once(qemu, w, &[])?;
        qemu_single.push(t.elapsed().as_secs_f64());
        pb.inc(1);
        pb.set_message(format!("qemu x{cores}: {}", w.name));
        let mut walls = Vec::new();
        for _ in 0..repeats {
            walls.push(qemu_parallel(qemu, w, cores, &out)?);
            pb.inc(1);
        }
        qemu_wall.push(stats(&walls));
        if o.corrupt_check {
            // Testing aid: a reference no correct run can match.
            out.extend_from_slice(b"corrupted reference\n");
        }
        refs.push(out);
    }

    let mut results: Vec<Value> = Vec::new();
    let mut rows: Vec<[String; 8]> = Vec::new();
    let mut per_lane_insns: Vec<u64> = vec![0; workloads.len()];
    let mut device = host_cpu();
    let mut memory = Map::new();
    let mut syscall = Map::new();
    let mut startup = Map::new();
    let mut ratio_basis = Map::new();
    // gpuos runs/s (wall) and lane count, per (backend, workload): the ratio's basis.
    let mut gpuos_rps: std::collections::BTreeMap<(&str, usize), (f64, usize)> =
        std::collections::BTreeMap::new();

    for &b in backends {
        let bname = backend_name(b);
        let counts = lane_counts(o, quick, b, cores, resident);
        for (wi, w) in workloads.iter().enumerate() {
            let mut mem_peak_frames = 0u64;
            let mut tmpl_frames = 0u64;
            for &lanes in counts.iter().filter(|&&l| l <= w.max_lanes) {
                pb.set_message(format!("{bname} {} x{lanes}", w.name));
                let mut secs = Vec::new();
                let mut walls = Vec::new();
                let mut total_insns = 0u64;
                for _ in 0..repeats {
                    let c = gpuos_run(w, b, lanes, &refs[wi], &[], None, false)?;
                    pb.inc(1);
                    if per_lane_insns[wi] == 0 {
                        per_lane_insns[wi] = c.per_lane_insns;
                    } else if per_lane_insns[wi] != c.per_lane_insns {
                        return Err(format!(
                            "refused: {} retired {} instructions per process in one run and {} in another",
                            w.name, c.per_lane_insns, per_lane_insns[wi]
                        ));
                    }
                    total_insns = c.report.instructions();
                    device = c.report.device.clone();
                    secs.push(c.report.seconds);
                    walls.push(c.wall);
                    mem_peak_frames = mem_peak_frames.max(
                        c.report
                            .lanes
                            .iter()
                            .map(|l| l.frames_private)
                            .max()
                            .unwrap_or(0),
                    );
                    tmpl_frames = c.report.template_frames;
                    if lanes == 1 && !startup.contains_key(&format!("{bname}/{}", w.name)) {
                        startup.insert(
                            format!("{bname}/{}", w.name),
                            json!({"run_overhead_seconds": (c.wall - c.report.seconds).max(0.0)}),
                        );
                    }
                }
                let (s, smin, smax) = stats(&secs);
                let (wall, _, _) = stats(&walls);
                let ips = total_insns as f64 / s.max(1e-9);
                let rps = lanes as f64 / wall.max(1e-9);
                // Basis of the qemu ratio: lanes == cores on the CPU backend (equal
                // total work to the N = cores qemu processes), the best runs/s on CUDA.
                let e = gpuos_rps.entry((bname, wi)).or_insert((rps, lanes));
                let take = if b == BackendKind::Cpu {
                    lanes.abs_diff(cores) < e.1.abs_diff(cores)
                } else {
                    rps > e.0
                };
                if take {
                    *e = (rps, lanes);
                }
                results.push(json!({
                    "workload": w.name,
                    "backend": bname,
                    "args": w.args,
                    "lanes": lanes,
                    "runs": repeats,
                    "guest_instructions": total_insns,
                    "instructions_per_lane": total_insns / lanes as u64,
                    "seconds": s,
                    "seconds_min": smin,
                    "seconds_max": smax,
                    "ips": ips,
                    "ips_min": total_insns as f64 / smax.max(1e-9),
                    "ips_max": total_insns as f64 / smin.max(1e-9),
                    "wall_seconds": wall,
                }));
                let row = [
                    w.name.to_string(),
                    bname.to_string(),
                    lanes.to_string(),
                    total_insns.to_string(),
                    format!("{s:.3}"),
                    format!("{:.3}..{:.3}", smin, smax),
                    fmt_si(ips),
                    fmt_si(ips / lanes as f64),
                ];
                // Each figure as soon as it is measured (above the progress bar, or as
                // a line on stderr), so that a run cut off early still reports it.
                let line = format!("gpuos bench: measured: {}", row.join(" "));
                if std::io::stderr().is_terminal() {
                    pb.println(line);
                } else {
                    eprintln!("{line}");
                }
                rows.push(row);
            }
            let per_proc = mem_peak_frames * 4096;
            let fit = if b == BackendKind::Cpu {
                let pool = CPU_POOL_FRAMES / mem_peak_frames.max(1);
                let ram = mem_available_bytes().map(|m| m / per_proc.max(1));
                json!({
                    "bounded": false,
                    "estimate_from_pool": pool,
                    "estimate_from_available_ram": ram,
                    "note": "the CPU backend has no fixed process limit: its frame pool reserves 16 GiB of address space (4 Mi frames); estimates = pool or MemAvailable / peak private bytes per process",
                })
            } else {
                let most = counts.iter().filter(|&&l| l <= w.max_lanes).max().copied();
                json!({
                    "bounded": true,
                    "largest_run": most,
                    "note": "largest lane count that ran; the device frame pool bounds it",
                })
            };
            memory.insert(
                format!("{bname}/{}", w.name),
                json!({
                    "peak_private_bytes_per_process": per_proc,
                    "template_bytes": tmpl_frames * 4096,
                    "most_processes": fit,
                }),
            );
        }

        // Syscall round trip: bench_sys in timing mode, guest-measured.
        if let Some(w) = workloads.iter().find(|w| w.name == "sys") {
            let wi = workloads.iter().position(|x| x.name == "sys").unwrap_or(0);
            // Idle: one lane. Busy: lane 0 times while every other lane computes
            // (bench_sys's busy mode), 1024 lanes on a GPU, one per core on the CPU.
            let busy_lanes = if b == BackendKind::Cpu {
                cores.max(2)
            } else {
                w.max_lanes.min(1024)
            };
            let mut figs: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
            for r in 0..repeats {
                for (k, lanes) in [(0, 1), (1, busy_lanes)] {
                    pb.set_message(format!(
                        "{bname} syscall timing, {}",
                        if k == 0 { "idle" } else { "busy" }
                    ));
                    let dir = tmp.join(format!("timing-{bname}-{r}-{k}"));
                    let extra: &[&str] = if k == 0 {
                        &["timing"]
                    } else {
                        &["timing", "busy", "{lane}"]
                    };
                    let c = gpuos_run(w, b, lanes, &refs[wi], extra, Some(&dir), k == 1)?;
                    pb.inc(1);
                    let err = std::fs::read(dir.join("lane-0.stderr")).unwrap_or_default();
                    let _ = std::fs::remove_dir_all(&dir);
                    drop(c);
                    figs[k].push(
                        timing_figures(&err)
                            .ok_or("bench_sys printed no timing line under gpuos")?,
                    );
                }
            }
            let median = |v: &[Value], key: &str| {
                stats(
                    &v.iter()
                        .map(|t| t[key].as_f64().unwrap_or(0.0))
                        .collect::<Vec<_>>(),
                )
                .0
            };
            let [idle, busy] = &figs;
            syscall.insert(
                bname.to_string(),
                json!({
                    "p50_ns": median(idle, "p50_ns"),
                    "p99_ns": median(idle, "p99_ns"),
                    "clock_gettime_p50_ns": median(idle, "clock_gettime_p50_ns"),
                    "clock_gettime_p99_ns": median(idle, "clock_gettime_p99_ns"),
                    "busy": {
                        "lanes": busy_lanes,
                        "p50_ns": median(busy, "p50_ns"),
                        "p99_ns": median(busy, "p99_ns"),
                        "note": "lane 0 times its syscalls while every other lane computes (bench_sys N timing busy {lane})",
                    },
                    "runs": repeats,
                    "path": if b == BackendKind::Cpu {
                        "function call into the host services on the running thread (no ring)"
                    } else {
                        "submission ring in pinned device-mapped memory, served by a host thread"
                    },
                }),
            );
        }

        // Start-up: loading (and compilation on CUDA).
        if let Some(w) = workloads.first() {
            let cfg = RunConfig::new(&w.program, vec![w.program.clone().into_os_string()]);
            let t = Instant::now();
            let prep = Prepared::new(&cfg).map_err(|e| e.to_string())?;
            let load = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let mut hdr = gpuos::abi::MachineHdr::default();
            let pool =
                HostPool::new(prep.template_frames_bound(), &mut hdr).map_err(|e| e.to_string())?;
            prep.build_template(&mut hdr).map_err(|e| e.to_string())?;
            let tmpl = t.elapsed().as_secs_f64();
            drop(pool);
            let (cold, warm) = if b == BackendKind::Cuda && o.skip_cold_compile {
                // The warm start: the module from the run's own cache (GPUOS_CACHE_DIR).
                let t = Instant::now();
                match gpuos::backend::cuda::precompile(&o.arch, false) {
                    Ok(_) => (
                        json!("not measured (--skip-cold-compile)"),
                        json!(t.elapsed().as_secs_f64()),
                    ),
                    Err(e) => {
                        notes.push(format!("compile time not measured: {e}"));
                        (Value::Null, Value::Null)
                    }
                }
            } else if b == BackendKind::Cuda {
                let cache = tmp.join("nvrtc-cache");
                let old = std::env::var_os("GPUOS_CACHE_DIR");
                std::env::set_var("GPUOS_CACHE_DIR", &cache);
                let t = Instant::now();
                let r1 = gpuos::backend::cuda::precompile(&o.arch, false);
                let cold = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let r2 = gpuos::backend::cuda::precompile(&o.arch, false);
                let warm = t.elapsed().as_secs_f64();
                match old {
                    Some(v) => std::env::set_var("GPUOS_CACHE_DIR", v),
                    None => std::env::remove_var("GPUOS_CACHE_DIR"),
                }
                match (r1, r2) {
                    (Ok(_), Ok(_)) => (json!(cold), json!(warm)),
                    (Err(e), _) | (_, Err(e)) => {
                        notes.push(format!("compile time not measured: {e}"));
                        (Value::Null, Value::Null)
                    }
                }
            } else {
                (json!("n/a"), json!("n/a"))
            };
            let mut s = Map::new();
            s.insert("load_seconds".into(), json!(load));
            s.insert("template_seconds".into(), json!(tmpl));
            s.insert("load_program".into(), json!(w.name));
            s.insert("compile_cold_seconds".into(), cold);
            s.insert("compile_warm_seconds".into(), warm);
            if b == BackendKind::Cuda {
                s.insert("compile_arch".into(), json!(o.arch));
            }
            for (k, v) in startup.clone() {
                if let Some(rest) = k.strip_prefix(&format!("{bname}/")) {
                    s.insert(
                        format!("run_overhead_seconds/{rest}"),
                        v["run_overhead_seconds"].clone(),
                    );
                    startup.remove(&k);
                }
            }
            startup.insert(bname.to_string(), Value::Object(s));
        }
    }
    pb.finish_and_clear();

    // qemu figures and ratios.
    let mut per_workload = Map::new();
    let mut ratio = Map::new();
    let mut ratio_by_backend = Map::new();
    for (wi, w) in workloads.iter().enumerate() {
        let (wall, wmin, wmax) = qemu_wall[wi];
        let rps = cores as f64 / wall.max(1e-9);
        per_workload.insert(
            w.name.to_string(),
            json!({
                "runs_per_second": rps,
                "ips": per_lane_insns[wi] as f64 * rps,
                "seconds": wall,
                "seconds_min": wmin,
                "seconds_max": wmax,
                "single_run_seconds": qemu_single[wi],
                "single_run_ips": per_lane_insns[wi] as f64 / qemu_single[wi].max(1e-9),
            }),
        );
        for &b in backends {
            let bname = backend_name(b);
            if let Some(&(g, lanes)) = gpuos_rps.get(&(bname, wi)) {
                // The top-level ratio is the last backend's (the only one, usually).
                ratio.insert(w.name.to_string(), json!(g / rps));
                ratio_by_backend
                    .entry(bname.to_string())
                    .or_insert_with(|| json!({}))[w.name] = json!(g / rps);
                ratio_basis
                    .entry(bname.to_string())
                    .or_insert_with(|| json!({}))[w.name] = json!({"gpuos_lanes": lanes});
            }
        }
    }
    let cuda = backends.contains(&BackendKind::Cuda);
    let driver = if cuda {
        command_line(
            "nvidia-smi",
            &["--query-gpu=driver_version", "--format=csv,noheader"],
        )
        .map(Value::from)
        .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let cuda_version = if cuda {
        command_line("nvidia-smi", &[])
            .and_then(|s| {
                s.split("CUDA Version:")
                    .nth(1)
                    .and_then(|r| r.split_whitespace().next().map(str::to_string))
            })
            .map(Value::from)
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let doc = json!({
        "device": device,
        "host_cpu": host_cpu(),
        "backend": backends.iter().map(|&b| backend_name(b)).collect::<Vec<_>>().join(","),
        "gpuos_commit": commit,
        "date": now_iso8601(),
        "driver": driver,
        "cuda": cuda_version,
        "quick": quick,
        "tiny": o.tiny,
        "repeats": repeats,
        "resident_lanes": resident,
        "results": results,
        "qemu": {
            "binary": qemu.display().to_string(),
            "cpu": "cortex-a57",
            "cores": cores,
            "method": "N = cores qemu processes started at once, each running the workload once; runs/s = N / wall seconds for all (median of repeats); ips = guest instructions per run as counted by gpuos x runs/s",
            "per_workload": per_workload,
        },
        "ratio": ratio,
        "ratio_by_backend": ratio_by_backend,
        "ratio_basis": {
            "definition": "gpuos runs/s / qemu runs/s; gpuos runs/s = lanes / wall seconds of gpuos::run (load, template and execution) at lanes = cores (CPU) or the best lane count (CUDA)",
            "lanes": ratio_basis,
        },
        "syscall": {
            "method": "guest-measured: bench_sys in timing mode brackets each write/lseek/read with clock_gettime; p50/p99 over every call of one run, median over runs (clock_gettime is served on the device, kernel/sys/time_sys.h, so a sample is the call's own round trip plus a device clock read); clock_gettime_* = back-to-back clock_gettime pairs",
            "per_backend": syscall,
        },
        "memory": memory,
        "startup": startup,
        "notes": notes,
    });
    print_table(&doc, &rows);
    Ok(doc)
}

fn print_table(doc: &Value, rows: &[[String; 8]]) {
    println!(
        "gpuos bench on {} (commit {}, {})",
        doc["device"].as_str().unwrap_or("?"),
        doc["gpuos_commit"].as_str().unwrap_or("?"),
        doc["date"].as_str().unwrap_or("?")
    );
    let head = [
        "workload",
        "backend",
        "lanes",
        "guest insns",
        "seconds",
        "min..max",
        "insns/s",
        "per lane/s",
    ];
    let mut w = head.map(str::len);
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |r: &[&str]| {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < 2 {
                    format!("{c:<0$}", w[i])
                } else {
                    format!("{c:>0$}", w[i])
                }
            })
            .collect();
        println!("{}", cells.join("  "));
    };
    line(&head);
    for r in rows {
        line(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let q = &doc["qemu"];
    println!(
        "\nqemu-aarch64 (-cpu cortex-a57), {} parallel processes:",
        q["cores"]
    );
    if let Some(m) = q["per_workload"].as_object() {
        for (k, v) in m {
            println!(
                "  {k:<8} {:>10.2} runs/s  {:>10}insns/s   ratio gpuos/qemu = {}",
                v["runs_per_second"].as_f64().unwrap_or(0.0),
                fmt_si(v["ips"].as_f64().unwrap_or(0.0)),
                doc["ratio"][k]
                    .as_f64()
                    .map_or("n/a".into(), |r| format!("{r:.3}"))
            );
        }
    }
    if let Some(m) = doc["syscall"]["per_backend"].as_object() {
        for (k, v) in m {
            println!(
                "syscall round trip ({k}, guest-measured): p50 {} ns, p99 {} ns; clock_gettime p50 {} ns, p99 {} ns; with {} lanes busy: p50 {} ns, p99 {} ns",
                v["p50_ns"], v["p99_ns"], v["clock_gettime_p50_ns"], v["clock_gettime_p99_ns"],
                v["busy"]["lanes"], v["busy"]["p50_ns"], v["busy"]["p99_ns"]
            );
        }
    }
    if let Some(m) = doc["memory"].as_object() {
        for (k, v) in m {
            println!(
                "memory {k}: peak {} KiB private per process, {} KiB shared template",
                v["peak_private_bytes_per_process"].as_u64().unwrap_or(0) / 1024,
                v["template_bytes"].as_u64().unwrap_or(0) / 1024
            );
        }
    }
    if let Some(m) = doc["startup"].as_object() {
        for (k, v) in m {
            println!(
                "startup {k}: load {:.4} s, template {:.4} s, compile cold {}, warm {}",
                v["load_seconds"].as_f64().unwrap_or(0.0),
                v["template_seconds"].as_f64().unwrap_or(0.0),
                v["compile_cold_seconds"],
                v["compile_warm_seconds"]
            );
        }
    }
    if let Some(n) = doc["notes"].as_array() {
        for n in n {
            println!("note: {}", n.as_str().unwrap_or(""));
        }
    }
}

mod plot {
    //! Aggregate guest instructions/s against lanes, log-log, drawn with plotters'
    //! bitmap backend. Text uses a tiny built-in 3x5 pixel font (no system fonts).
    use plotters::prelude::*;
    use serde_json::Value;
    use std::collections::BTreeMap;
    use std::path::Path;

    const W: i32 = 900;
    const H: i32 = 600;
    const L: i32 = 110;
    const R: i32 = 30;
    const T: i32 = 50;
    const B: i32 = 70;

    /// 3x5 glyphs, rows top to bottom, 3 bits each (bit 2 = left column).
    fn glyph(c: char) -> [u8; 5] {
        match c.to_ascii_uppercase() {
            '0' => [7, 5, 5, 5, 7],
            '1' => [2, 6, 2, 2, 7],
            '2' => [7, 1, 7, 4, 7],
            '3' => [7, 1, 7, 1, 7],
            '4' => [5, 5, 7, 1, 1],
            '5' => [7, 4, 7, 1, 7],
            '6' => [7, 4, 7, 5, 7],
            '7' => [7, 1, 1, 1, 1],
            '8' => [7, 5, 7, 5, 7],
            '9' => [7, 5, 7, 1, 7],
            'A' => [2, 5, 7, 5, 5],
            'B' => [6, 5, 6, 5, 6],
            'C' => [7, 4, 4, 4, 7],
            'D' => [6, 5, 5, 5, 6],
            'E' => [7, 4, 6, 4, 7],
            'F' => [7, 4, 6, 4, 4],
            'G' => [7, 4, 5, 5, 7],
            'H' => [5, 5, 7, 5, 5],
            'I' => [7, 2, 2, 2, 7],
            'J' => [1, 1, 1, 5, 7],
            'K' => [5, 5, 6, 5, 5],
            'L' => [4, 4, 4, 4, 7],
            'M' => [5, 7, 7, 5, 5],
            'N' => [6, 5, 5, 5, 5],
            'O' => [7, 5, 5, 5, 7],
            'P' => [7, 5, 7, 4, 4],
            'Q' => [7, 5, 5, 7, 1],
            'R' => [6, 5, 6, 5, 5],
            'S' => [7, 4, 7, 1, 7],
            'T' => [7, 2, 2, 2, 2],
            'U' => [5, 5, 5, 5, 7],
            'V' => [5, 5, 5, 5, 2],
            'W' => [5, 5, 7, 7, 5],
            'X' => [5, 5, 2, 5, 5],
            'Y' => [5, 5, 2, 2, 2],
            'Z' => [7, 1, 2, 4, 7],
            '.' => [0, 0, 0, 0, 2],
            ',' => [0, 0, 0, 2, 4],
            ':' => [0, 2, 0, 2, 0],
            '-' => [0, 0, 7, 0, 0],
            '+' => [0, 2, 7, 2, 0],
            '/' => [1, 1, 2, 4, 4],
            '(' => [1, 2, 2, 2, 1],
            ')' => [4, 2, 2, 2, 4],
            '^' => [2, 5, 0, 0, 0],
            '=' => [0, 7, 0, 7, 0],
            _ => [0, 0, 0, 0, 0],
        }
    }

    fn text<DB: DrawingBackend>(
        area: &DrawingArea<DB, plotters::coord::Shift>,
        x: i32,
        y: i32,
        s: &str,
        scale: i32,
        color: &RGBColor,
    ) -> Result<(), String> {
        for (i, c) in s.chars().enumerate() {
            let g = glyph(c);
            for (row, bits) in g.iter().enumerate() {
                for col in 0..3 {
                    if bits & (4 >> col) != 0 {
                        let px = x + (i as i32 * 4 + col) * scale;
                        let py = y + row as i32 * scale;
                        area.draw(&Rectangle::new(
                            [(px, py), (px + scale, py + scale)],
                            color.filled(),
                        ))
                        .map_err(|e| e.to_string())?;
                    }
                }
            }
        }
        Ok(())
    }

    fn text_width(s: &str, scale: i32) -> i32 {
        s.chars().count() as i32 * 4 * scale
    }

    /// Curves: per backend, aggregate IPS of the whole suite at each lane count (sum of
    /// guest instructions over sum of seconds of every workload run at that count);
    /// qemu at 1 process and at `cores` processes.
    pub fn draw(doc: &Value, path: &Path) -> Result<(), String> {
        let mut curves: BTreeMap<String, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
        for r in doc["results"].as_array().into_iter().flatten() {
            let b = r["backend"].as_str().unwrap_or("?").to_string();
            let lanes = r["lanes"].as_u64().unwrap_or(1);
            let e = curves.entry(b).or_default().entry(lanes).or_default();
            e.0 += r["guest_instructions"].as_f64().unwrap_or(0.0);
            e.1 += r["seconds"].as_f64().unwrap_or(0.0);
        }
        let mut pts: Vec<(String, Vec<(f64, f64)>)> = curves
            .into_iter()
            .map(|(b, m)| {
                (
                    format!("gpuos {b}"),
                    m.into_iter()
                        .filter(|(_, (i, s))| *i > 0.0 && *s > 0.0)
                        .map(|(l, (i, s))| (l as f64, i / s))
                        .collect(),
                )
            })
            .collect();
        let cores = doc["qemu"]["cores"].as_f64().unwrap_or(1.0);
        let (mut qi, mut qs, mut q1i, mut q1s) = (0.0, 0.0, 0.0, 0.0);
        for v in doc["qemu"]["per_workload"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            let rps = v["runs_per_second"].as_f64().unwrap_or(0.0);
            let ips = v["ips"].as_f64().unwrap_or(0.0);
            if rps > 0.0 {
                qi += ips / rps * cores;
                qs += cores / rps;
            }
            let s1 = v["single_run_seconds"].as_f64().unwrap_or(0.0);
            q1i += v["single_run_ips"].as_f64().unwrap_or(0.0) * s1;
            q1s += s1;
        }
        let mut q = Vec::new();
        if q1s > 0.0 {
            q.push((1.0, q1i / q1s));
        }
        if qs > 0.0 && cores > 1.0 {
            q.push((cores, qi / qs));
        }
        pts.push(("qemu".into(), q));

        let all: Vec<(f64, f64)> = pts.iter().flat_map(|(_, p)| p.iter().copied()).collect();
        if all.is_empty() {
            return Err("no figures to plot".into());
        }
        // Decades spanned by the x (lanes) and y (instructions/s) values, at least one.
        let decades = |v: &dyn Fn(&(f64, f64)) -> f64| {
            let lo = all
                .iter()
                .map(|p| v(p).log10())
                .fold(f64::MAX, f64::min)
                .floor();
            let hi = all
                .iter()
                .map(|p| v(p).log10())
                .fold(f64::MIN, f64::max)
                .ceil();
            (lo, hi.max(lo + 1.0))
        };
        let (lx0, lx1) = decades(&|p| p.0);
        let (ly0, ly1) = decades(&|p| p.1);
        let px = |x: f64| L + ((x.log10() - lx0) / (lx1 - lx0) * (W - L - R) as f64) as i32;
        let py = |y: f64| H - B - ((y.log10() - ly0) / (ly1 - ly0) * (H - T - B) as f64) as i32;

        let root = BitMapBackend::new(path, (W as u32, H as u32)).into_drawing_area();
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        let grey = RGBColor(220, 220, 220);
        for d in (lx0 as i32)..=(lx1 as i32) {
            let x = px(10f64.powi(d));
            root.draw(&PathElement::new(vec![(x, T), (x, H - B)], grey))
                .map_err(e)?;
            let s = format!("1E{d}");
            text(&root, x - text_width(&s, 2) / 2, H - B + 8, &s, 2, &BLACK)?;
        }
        for d in (ly0 as i32)..=(ly1 as i32) {
            let y = py(10f64.powi(d));
            root.draw(&PathElement::new(vec![(L, y), (W - R, y)], grey))
                .map_err(e)?;
            let s = format!("1E{d}");
            text(&root, L - 8 - text_width(&s, 2), y - 5, &s, 2, &BLACK)?;
        }
        root.draw(&PathElement::new(
            vec![(L, T), (L, H - B), (W - R, H - B)],
            BLACK,
        ))
        .map_err(e)?;
        let title = "AGGREGATE GUEST INSTRUCTIONS/S VS LANES (LOG-LOG)";
        text(&root, (W - text_width(title, 3)) / 2, 12, title, 3, &BLACK)?;
        text(
            &root,
            (W - text_width("LANES", 2)) / 2,
            H - 30,
            "LANES",
            2,
            &BLACK,
        )?;
        text(&root, 8, T - 20, "INSNS/S", 2, &BLACK)?;
        let colors = [
            RGBColor(31, 119, 180),
            RGBColor(214, 39, 40),
            RGBColor(44, 160, 44),
            RGBColor(148, 103, 189),
        ];
        for (i, (name, p)) in pts.iter().enumerate() {
            let c = colors[i % colors.len()];
            let line: Vec<(i32, i32)> = p.iter().map(|&(x, y)| (px(x), py(y))).collect();
            root.draw(&PathElement::new(line.clone(), c.stroke_width(2)))
                .map_err(e)?;
            for &(x, y) in &line {
                root.draw(&Circle::new((x, y), 4, c.filled())).map_err(e)?;
            }
            let ly = T + 10 + i as i32 * 18;
            root.draw(&Rectangle::new(
                [(L + 15, ly), (L + 35, ly + 8)],
                c.filled(),
            ))
            .map_err(e)?;
            text(&root, L + 42, ly - 1, name, 2, &BLACK)?;
        }
        root.present().map_err(e)?;
        Ok(())
    }
}
