//! `gpuos bench`: the measurement instrument.
//!
//! Runs the benchmark workloads (tests/guest/bench_*.c and a busybox job; all but
//! int-div convergent, every lane the same arguments, int-div with a seed per lane) on
//! the chosen backends at several lane counts, checks every run against the reference
//! output of `qemu-aarch64 -cpu cortex-a57` (a run whose lane output or exit status
//! differs is refused: the bench stops with an error and reports no figure), runs the same
//! workloads as parallel qemu processes for comparison, and reports guest instructions
//! per second, syscall round trips, memory and start-up times as a table, JSON and an
//! optional log-log plot.
//!
//! The steps: [`run`] chooses backends, qemu and workloads; `measure` takes the figures
//! (references and the qemu comparison, throughput, syscall round trip, start-up);
//! `report` turns them into the JSON document and the table; `plot` draws the curves.

mod gate;
mod measure;
mod plot;
mod report;

use gpuos::BackendKind;
use std::path::{Path, PathBuf};

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
    /// A Debian arm64 sysroot (as `gpuos run --sysroot`, made by scripts/fetch-deps.sh in
    /// .deps/sysroot): adds the python3 workload, the start-up of `python3 -c` from it
    /// (its one line of output is its last act, so a run's time is the time to its first
    /// output), against `qemu-aarch64 -L DIR`.
    #[arg(long, value_name = "DIR")]
    sysroot: Option<PathBuf>,
    /// Only these workloads (comma-separated: int,int-div,fp,mem,sys,spawn,spawn-fork,spawn-fork-big,threads,pipeline,busybox,xargs,python3).
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    workloads: Vec<String>,
    /// GPU architecture for the compile-time measurement (CUDA).
    #[arg(long, default_value = "sm_90")]
    arch: String,
    /// Leave out the cold NVRTC compile of the start-up figure (a minute or two of the
    /// GPU machine's time); the warm-cache start is still measured.
    #[arg(long)]
    skip_cold_compile: bool,
    /// Tier 2 in every gpuos run: never (the interpreter), auto or always, as `gpuos
    /// run --translate`; each figure gives the share of instructions that ran
    /// translated. A translation comes from the cache or is built during the runs.
    #[arg(long, value_name = "WHEN", default_value = "never")]
    translate: String,
    /// Testing aid: compare against a deliberately altered reference (must be refused).
    #[arg(long, hide = true)]
    corrupt_check: bool,
}

/// The python3 workload's script: imports a C module and a pure-Python one, prints one
/// line.
const PYTHON3_STARTUP: &str = "import json, sys; print(json.dumps({'ok': sys.version_info[0]}))";

/// In a workload's arguments, where its script runs another AArch64 program (see
/// [`Workload::argv_tail`]).
const EXEC_TOKEN: &str = "{exec}";

/// One workload: a program and its arguments.
struct Workload {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    /// Largest lane count worth running (memory-bound workloads).
    max_lanes: usize,
    /// Each lane (and each qemu process) gets a seed of its own, its index, as one more
    /// argument, so that lanes take different paths through the program (a sweep);
    /// else every lane runs the same arguments.
    divergent: bool,
    /// The sysroot the program runs from (`program` is then a path in it, as the guest
    /// sees it), for gpuos (`--sysroot`) and qemu (`-L`).
    sysroot: Option<PathBuf>,
    /// Environment variables (`NAME=VALUE`) added for gpuos's lanes and qemu.
    env: &'static [&'static str],
    /// Spare lanes per lane for gpuos on the GPU (`--spare-lanes`, kernel/proc/spare.h):
    /// a threaded workload's threads then run in parallel. 0: gpuos's default (16 for a
    /// run of one lane, else none). The CPU backend keeps its default (its spare threads
    /// are the host's cores).
    spare_per_lane: usize,
    /// Its instruction count depends on how its threads interleave (waits on a futex
    /// word or a join retry a few instructions more or less), so runs and lanes are
    /// not required to retire the same number.
    timing_dependent: bool,
}

impl Workload {
    /// Its arguments after the program name, for lane (or qemu process) `lane`: `args`,
    /// then for a divergent workload the lane's seed: `lane`, or with None `{lane}`,
    /// which gpuos replaces by each lane's index.
    ///
    /// `exec_prefix` takes the place of [`EXEC_TOKEN`] in the arguments: what the
    /// workload's shell puts before a program it runs (empty for gpuos, which runs the
    /// AArch64 program itself; qemu's command for the qemu side, whose emulated
    /// programs can exec only host programs).
    fn argv_tail(&self, lane: Option<usize>, exec_prefix: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .args
            .iter()
            .map(|a| a.replace(EXEC_TOKEN, exec_prefix))
            .collect();
        if self.divergent {
            v.push(lane.map_or("{lane}".into(), |l| l.to_string()));
        }
        v
    }
}

/// What the measurement reads: the options and what [`run`] chose from them.
struct Plan<'a> {
    o: &'a BenchOpts,
    /// `--quick` or `--tiny`.
    quick: bool,
    /// Runs per figure.
    repeats: usize,
    /// Host cores: qemu processes run at once, and the CPU backend's lane counts.
    cores: usize,
    backends: Vec<BackendKind>,
    /// The qemu-aarch64 binary (absolute).
    qemu: PathBuf,
    workloads: Vec<Workload>,
    /// The temporary working directory of every run.
    tmp: PathBuf,
    /// All lanes the GPU runs at once (when CUDA is measured and it is known).
    resident: Option<usize>,
    /// `--translate`.
    translate: gpuos::machine::Translate,
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

/// Deterministic content for the busybox and xargs jobs: `bytes` bytes of xorshift64
/// output, from a start of its own for each `seed`.
fn make_data_file(path: &Path, bytes: usize, seed: u64) -> std::io::Result<()> {
    let mut v = Vec::with_capacity(bytes);
    let mut s: u64 = 0x2545_F491_4F6C_DD1D ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    while v.len() < bytes {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        v.extend_from_slice(&s.to_le_bytes());
    }
    v.truncate(bytes);
    std::fs::write(path, v)
}

fn backend_name(b: BackendKind) -> &'static str {
    match b {
        BackendKind::Cuda => "cuda",
        _ => "cpu",
    }
}

/// Run the bench; Err is printed by the caller and gives a nonzero exit status.
pub fn run(o: &BenchOpts) -> Result<(), String> {
    let quick = o.quick || o.tiny;
    let repeats = o.repeats.unwrap_or(if quick { 1 } else { 3 }).max(1);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let commit =
        report::command_line("git", &["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let backends = select_backends(o)?;
    let qemu = find_qemu(o)?;
    let mut notes: Vec<String> = Vec::new();
    let tmp = std::env::temp_dir().join(format!("gpuos-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let workloads = match workloads(o, quick, &tmp, &mut notes) {
        Ok(w) => w,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let json_path = o.json.as_deref().map(absolute);
    let plot_path = o.plot.as_deref().map(absolute);
    // Every run happens in the temporary directory (the guests' writable cwd).
    let cwd0 = std::env::current_dir().map_err(|e| e.to_string())?;
    std::env::set_current_dir(&tmp).map_err(|e| e.to_string())?;
    let translate = o.translate.parse()?;
    let plan = Plan {
        o,
        translate,
        quick,
        repeats,
        cores,
        resident: resident_lanes(&backends, &mut notes),
        backends,
        qemu,
        workloads,
        tmp: tmp.clone(),
    };
    let result = measure::measure(&plan, &commit, notes);
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

/// The backends `--backend` names (auto: CUDA when usable, else the CPU), each once;
/// Err when CUDA is asked for and unusable.
fn select_backends(o: &BenchOpts) -> Result<Vec<BackendKind>, String> {
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
    Ok(backends)
}

/// The qemu-aarch64 binary: `--qemu`, else qemu-aarch64 on PATH, else
/// .deps/qemu-aarch64-static; Err when none is a file.
fn find_qemu(o: &BenchOpts) -> Result<PathBuf, String> {
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
    Ok(qemu)
}

/// The workloads at the size `--tiny`/`--quick` ask for, those `--workloads` selects;
/// the busybox job's data file is made in `tmp` (a note when busybox is absent).
fn workloads(
    o: &BenchOpts,
    quick: bool,
    tmp: &Path,
    notes: &mut Vec<String>,
) -> Result<Vec<Workload>, String> {
    let bin_dir = absolute(&o.bin_dir);
    let prog = |n: &str| bin_dir.join(n);
    let (int_it, fp_steps, mem_args, sys_it, bb_bytes, spawn_rounds) = if o.tiny {
        (20, 2_000, ["1", "1"], 300, 32 << 10, 5)
    } else if quick {
        (200, 20_000, ["1", "8"], 3000, 256 << 10, 50)
    } else {
        (2000, 200_000, ["2", "64"], 20_000, 16 << 20, 500)
    };
    let thread_rounds = if o.tiny {
        20
    } else if quick {
        200
    } else {
        2000
    };
    // bench_pipe: items through 4 stages of 1,000 LCG steps each (about 16,000 guest
    // instructions per item).
    let pipe_items = if o.tiny {
        60
    } else if quick {
        600
    } else {
        6000
    };
    // bench_spawn: each lane holds up to 8 child slots of the shared pool at once. Its
    // children run beside their parent wherever there are spare lanes (the CPU
    // backend's idle host threads), so the parent's waits (a join's futex, wait4)
    // retry more or fewer times from run to run.
    let spawn = |name: &'static str, args: Vec<String>| Workload {
        name,
        program: prog("bench_spawn"),
        args,
        max_lanes: 8192,
        divergent: false,
        sysroot: None,
        env: &[],
        spare_per_lane: 0,
        timing_dependent: true,
    };
    let mut workloads = vec![
        Workload {
            name: "int",
            program: prog("bench_int"),
            args: vec![int_it.to_string()],
            max_lanes: usize::MAX,
            divergent: false,
            sysroot: None,
            env: &[],
            spare_per_lane: 0,
            timing_dependent: false,
        },
        Workload {
            name: "int-div",
            program: prog("bench_int"),
            args: vec![int_it.to_string()],
            max_lanes: usize::MAX,
            divergent: true,
            sysroot: None,
            env: &[],
            spare_per_lane: 0,
            timing_dependent: false,
        },
        Workload {
            name: "fp",
            program: prog("bench_fp"),
            args: vec![fp_steps.to_string()],
            max_lanes: usize::MAX,
            divergent: false,
            sysroot: None,
            env: &[],
            spare_per_lane: 0,
            timing_dependent: false,
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
            divergent: false,
            sysroot: None,
            env: &[],
            spare_per_lane: 0,
            timing_dependent: false,
        },
        Workload {
            name: "sys",
            program: prog("bench_sys"),
            args: vec![sys_it.to_string()],
            // 4 host syscalls per iteration: 1024 lanes already make 12 M (quick) or
            // 80 M requests, more than the host serves in a few seconds.
            max_lanes: 1024,
            divergent: false,
            sysroot: None,
            env: &[],
            spare_per_lane: 0,
            timing_dependent: false,
        },
        // Thread spawns (8 threads a round, made and joined on the device), and process
        // spawns (8 children a round, forked on the device, each ending with _exit and
        // reaped by wait4): spawns/s = lanes * 8 * rounds / time.
        spawn("spawn", vec![spawn_rounds.to_string()]),
        spawn("spawn-fork", vec![spawn_rounds.to_string(), "fork".into()]),
        // The same forks from a parent holding 8 MiB of data of its own (as a shell with
        // a large environment or an interpreter): what a fork copies or shares grows
        // with the parent's pages. 8 MiB a lane.
        Workload {
            max_lanes: 2048,
            ..spawn(
                "spawn-fork-big",
                vec![spawn_rounds.to_string(), "fork".into(), "8".into()],
            )
        },
        Workload {
            // 16 threads of one process computing (issue 16): with 15 spare lanes per
            // lane on the GPU they run in parallel; qemu runs them on the host's cores.
            name: "threads",
            program: prog("bench_threads"),
            args: vec!["16".into(), thread_rounds.to_string()],
            // 16 tasks per lane: the child-slot pool and the spare lanes bound it.
            max_lanes: 1024,
            divergent: false,
            sysroot: None,
            env: &[],
            spare_per_lane: 15,
            timing_dependent: true,
        },
        Workload {
            // A shell-like pipeline (issue 16): a feeder, 4 computing stages and the
            // summing parent, connected by pipes; with 5 spare lanes per lane on the GPU
            // the stages can run side by side; qemu runs them on the host's cores.
            name: "pipeline",
            program: prog("bench_pipe"),
            args: vec!["4".into(), pipe_items.to_string(), "1000".into()],
            // 5 children per lane from the shared child-slot pool.
            max_lanes: 8192,
            divergent: false,
            sysroot: None,
            env: &[],
            spare_per_lane: 5,
            // Blocked pipe reads and writes are retried a varying number of times.
            timing_dependent: true,
        },
    ];
    let busybox = absolute(&o.busybox);
    if busybox.is_file() {
        make_data_file(&tmp.join("data.bin"), bb_bytes, 0).map_err(|e| e.to_string())?;
        workloads.push(Workload {
            name: "busybox",
            program: busybox.clone(),
            args: vec!["sha256sum".into(), "data.bin".into()],
            // Every lane reads the whole file through the host.
            max_lanes: if quick { 10_000 } else { 1024 },
            divergent: false,
            sysroot: None,
            env: &[],
            spare_per_lane: 0,
            timing_dependent: false,
        });
        workloads.push(xargs_workload(o, quick, tmp, &busybox)?);
    } else {
        let n = format!(
            "busybox and xargs workloads skipped: {} not found (scripts/fetch-deps.sh fetches it)",
            busybox.display()
        );
        eprintln!("gpuos bench: {n}");
        notes.push(n);
    }
    if let Some(dir) = &o.sysroot {
        let dir = absolute(dir);
        if !dir.join("usr/bin/python3").exists() {
            return Err(format!(
                "--sysroot {}: no usr/bin/python3 in it",
                dir.display()
            ));
        }
        workloads.push(Workload {
            name: "python3",
            program: PathBuf::from("/usr/bin/python3"),
            // -P: no working directory on sys.path. Else the start-up lists the run's
            // directory, whose entries change from run to run, and with them the
            // instructions retired (which the bench requires to be the same).
            args: vec!["-P".into(), "-c".into(), PYTHON3_STARTUP.into()],
            // About 10 MiB per process (its heap and the libraries' private pages).
            max_lanes: 10_000,
            divergent: false,
            sysroot: Some(dir),
            // str hashing unseeded: every run and lane retires the same instructions
            // (the bench refuses a run whose lanes differ).
            env: &["PYTHONHASHSEED=0"],
            spare_per_lane: 0,
            timing_dependent: false,
        });
    }
    if !o.workloads.is_empty() {
        workloads.retain(|w| o.workloads.iter().any(|n| n == w.name));
        if workloads.is_empty() {
            return Err(
                "--workloads selects nothing (int, int-div, fp, mem, sys, spawn, spawn-fork, spawn-fork-big, threads, pipeline, busybox, xargs, python3)"
                    .into(),
            );
        }
    }
    // The programs of the workloads measured (python3's is a path in its sysroot).
    for w in workloads.iter().filter(|w| w.sysroot.is_none()) {
        if !w.program.is_file() {
            return Err(format!(
                "{} not found (build the guest programs with tests/guest/build.sh, or pass --bin-dir)",
                w.program.display()
            ));
        }
    }
    Ok(workloads)
}

/// Files the xargs workload hashes, one process each (full, `--quick`, `--tiny`), and
/// their size in bytes.
const XARGS_FILES: [(usize, usize); 3] = [(64, 64 << 10), (16, 16 << 10), (8, 4 << 10)];
/// Processes xargs runs at once (`xargs -P`).
const XARGS_PARALLEL: usize = 8;

/// `xargs -P` (issue 16: "shell pipelines and xargs -P run their processes in
/// parallel"): busybox sh runs `xargs -P 8 -n 1 busybox sha256sum < list | sort`, a
/// process (fork and exec of busybox) per file of the list, 8 at a time, the lines
/// sorted (the processes finish in any order). With 8 spare lanes per lane on the GPU
/// the hashing processes run side by side; qemu's xargs runs each as a qemu process of
/// its own (its emulated exec can only start host programs), as binfmt_misc would.
/// The files are made here, in the run's directory.
fn xargs_workload(
    o: &BenchOpts,
    quick: bool,
    tmp: &Path,
    busybox: &Path,
) -> Result<Workload, String> {
    let (files, bytes) = XARGS_FILES[if o.tiny {
        2
    } else if quick {
        1
    } else {
        0
    }];
    let dir = tmp.join("xargs");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut list = String::new();
    for k in 0..files {
        let name = format!("xargs/f{k:03}");
        make_data_file(&tmp.join(&name), bytes, k as u64 + 1).map_err(|e| e.to_string())?;
        list.push_str(&name);
        list.push('\n');
    }
    std::fs::write(tmp.join("xargs.list"), list).map_err(|e| e.to_string())?;
    let script = format!(
        "xargs -P {XARGS_PARALLEL} -n 1 {EXEC_TOKEN}{} sha256sum < xargs.list | sort",
        busybox.display()
    );
    Ok(Workload {
        name: "xargs",
        program: busybox.to_path_buf(),
        args: vec!["sh".into(), "-c".into(), script],
        // Up to 10 children a lane at once (xargs, sort and 8 hashing) from the shared
        // child-slot pool.
        max_lanes: 4096,
        divergent: false,
        sysroot: None,
        env: &[],
        spare_per_lane: XARGS_PARALLEL,
        // Waits (wait4, pipe reads) retry a varying number of times.
        timing_dependent: true,
    })
}

/// All lanes the GPU runs at once when CUDA is measured (a note when unknown).
fn resident_lanes(backends: &[BackendKind], notes: &mut Vec<String>) -> Option<usize> {
    if !backends.contains(&BackendKind::Cuda) {
        return None;
    }
    match gpuos::backend::cuda::resident_lanes() {
        Ok(n) => Some(n),
        Err(e) => {
            notes.push(format!("resident lane count unknown: {e}"));
            None
        }
    }
}

impl Plan<'_> {
    /// The lane counts to measure workload `w` at on backend `b`, those up to its
    /// `max_lanes`: `--lanes`, or on CUDA 1, 32, 1024, 10,000, 100,000 and `resident`
    /// (all lanes the GPU runs at once; `--quick` without `--tiny`: 1, 32, 1024), on
    /// the CPU 1x, 2x, 4x the cores (`--quick` without `--tiny`: 1, cores).
    fn lane_counts(&self, b: BackendKind, w: &Workload) -> Vec<usize> {
        let (o, cores) = (self.o, self.cores);
        let mut v = if !o.lanes.is_empty() {
            o.lanes.clone()
        } else {
            match (b, self.quick && !o.tiny) {
                (BackendKind::Cuda, false) => {
                    let mut v = vec![1, 32, 1024, 10_000, 100_000];
                    v.extend(self.resident);
                    v
                }
                (BackendKind::Cuda, true) => vec![1, 32, 1024],
                (_, false) => vec![1, cores, 2 * cores, 4 * cores],
                (_, true) => vec![1, cores],
            }
        };
        v.retain(|&n| n > 0 && n <= w.max_lanes);
        v.sort_unstable();
        v.dedup();
        v
    }
}
