//! The `gpuos` command: run AArch64 Linux programs as GPU processes.

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};
use gpuos::host::Mount;
use gpuos::machine::signal_name;
use gpuos::{BackendKind, Job, LaneStatus, Mode, RunConfig, RunError, RunReport};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

mod bench;
mod demo;
mod fuzz_cmd;
mod fuzz_elf;
mod lane_report;

#[derive(Parser)]
#[command(
    name = "gpuos",
    version,
    about = "Run unmodified AArch64 Linux programs as processes on the GPU"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Auto,
    Cpu,
    Cuda,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Persistent,
    Quantum,
}

#[derive(clap::Args, Clone)]
struct RunOpts {
    /// Execution backend: cuda when a GPU is present (auto), or force one.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// CUDA scheduling: one resident kernel (persistent) or bounded launches (quantum).
    #[arg(long, value_enum, default_value = "persistent")]
    mode: ModeArg,
    /// Number of copies of the program to run; `{lane}` in an argument becomes the copy's index.
    #[arg(long, default_value_t = 1)]
    lanes: usize,
    /// Run a job list instead of PROGRAM: one command line per line of FILE, each on a
    /// lane of its own as its own process tree (words split as by a shell, without
    /// expansions; a first `-C DIR` runs it in DIR, below the working directory,
    /// created if missing; `{lane}` becomes the job's lane; blank lines and `#`
    /// comments skipped). Programs are looked up as execve(2) looks them up (the
    /// sysroot first for absolute paths). The exit status is the first failing job's,
    /// else 0; --lane-report names each lane's job.
    #[arg(long, value_name = "FILE", conflicts_with = "lanes")]
    jobs: Option<PathBuf>,
    /// Make HOST visible at GUEST (read-only unless `:rw`): HOST:GUEST[:rw].
    #[arg(long = "mount", value_name = "HOST:GUEST[:rw]")]
    mounts: Vec<String>,
    /// Hide host PATH (a file or a directory) from the guest: it sees ENOENT for it and
    /// everything below it (guests otherwise read what the invoking user can).
    /// Repeatable.
    #[arg(long = "hide", value_name = "PATH")]
    hide: Vec<PathBuf>,
    /// Look up absolute paths the guest opens or stats in DIR first, read-only, and on
    /// the host when DIR has no such entry, like qemu-user's `-L DIR` (QEMU_LD_PREFIX);
    /// symlinks in DIR name guest paths (they cannot leave it). PROGRAM itself and
    /// relative paths are not looked up in DIR. Default: $GPUOS_SYSROOT when set and not
    /// empty (as QEMU_LD_PREFIX).
    #[arg(long, short = 'L', value_name = "DIR")]
    sysroot: Option<PathBuf>,
    /// Give the guests a /tmp of their own, writable, made for the run and removed at
    /// its end, as a container's: where a system root's programs (sort, tac, python's
    /// tempfile) write scratch files. The host's /tmp is then hidden from the guests but
    /// for the working directory and mounts below it.
    #[arg(long)]
    private_tmp: bool,
    /// Print every syscall on stderr.
    #[arg(long)]
    strace: bool,
    /// Stop each process after N guest instructions (it ends with SIGXCPU).
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_insns: u64,
    /// Keep every lane's stdout and stderr in DIR/lane-N.stdout and .stderr.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Start each lane in its own working directory, DIR with {lane} replaced by the
    /// lane's index (e.g. runs/{lane}); relative to the working directory and inside
    /// it; created if missing. Copies that write files then do not share them.
    #[arg(long, value_name = "DIR")]
    lane_dir: Option<std::ffi::OsString>,
    /// Write one line per lane to PATH: its exit status, signal, the SHA-256 and size
    /// of its stdout and stderr, and its guest instructions (tab-separated, with a
    /// header). Lane 0's output is then printed when it ends, not as it goes.
    #[arg(long, value_name = "PATH")]
    lane_report: Option<PathBuf>,
    /// Host threads: for the CPU backend the lanes' (default: every core); for the CUDA
    /// backend's persistent mode the threads serving host syscalls (default: half the
    /// cores, 4 to 8).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Spare lanes beyond the lanes' own: they run a lane's other runnable threads and
    /// processes in parallel with it (a thread or child of any lane may run on any
    /// spare lane). Default: on the CPU backend the host threads that run no lane (and
    /// every thread once no lane is left to start); on the GPU (persistent mode) 16 for
    /// a run of one lane, none for more.
    #[arg(long, value_name = "N")]
    spare_lanes: Option<usize>,
    /// Process slots for forked children, shared by all lanes (default: 32 per lane,
    /// at least 1024, at most 65536, but at least 8 per lane); fork fails with EAGAIN
    /// when none is free.
    #[arg(long, value_name = "N", default_value_t = 0)]
    child_slots: usize,
    /// Memory limit of each process: its resident set (a page fault beyond it kills the
    /// process with SIGKILL) and its RLIMIT_AS (mmap, brk, mremap beyond it fail with
    /// ENOMEM). BYTES takes a K, M or G suffix. Default: no RLIMIT_AS, and a resident
    /// limit of the lanes' fair share of the frame pool.
    #[arg(long, value_name = "BYTES", value_parser = gpuos::machine::parse_bytes)]
    mem_per_process: Option<u64>,
    /// Tier 2: translate the image's hot code, cached on disk: on the CPU backend to
    /// C++ compiled by the host compiler, on the GPU into a copy of the core compiled by
    /// NVRTC (quick first, seconds; then optimised) and swapped in while the lanes run.
    /// never; auto (blocks entered 1000 times; on the CPU backend when a compiler is
    /// installed and the run has gone on for 5 s); always (every block entered, also at
    /// the end of the run for the next run of the image).
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    translate: String,
    /// With --backend cpu and --translate: build the translation for this GPU
    /// architecture (e.g. sm_90) instead, with NVRTC, into the cache (GPUOS_CACHE_DIR),
    /// so that a GPU run of the same program starts translated; the lanes here are
    /// interpreted. For preparing a GPU machine without spending its time compiling.
    #[arg(long, value_name = "ARCH")]
    translate_for: Option<String>,
    /// Report backend details (compilation, caches, memory) on stderr.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run PROGRAM with ARGS, like `qemu-aarch64 PROGRAM ARGS...`.
    Run {
        #[command(flatten)]
        opts: RunOpts,
        /// The AArch64 Linux ELF executable, then its arguments. As with qemu-user,
        /// gpuos's options come before PROGRAM: everything from PROGRAM on is the
        /// guest's (`gpuos run prog -v` passes `-v` to prog).
        #[arg(value_name = "PROGRAM [ARGS]", required_unless_present = "jobs", num_args = 1.., trailing_var_arg = true)]
        command: Vec<OsString>,
    },
    /// Compile the execution core for a GPU architecture into the on-disk cache (needs
    /// only NVRTC, no GPU), so the first `run --backend cuda` starts warm.
    CompileCore {
        /// Target architecture, e.g. sm_90 for H100/H200.
        #[arg(long, default_value = "sm_90")]
        arch: String,
    },
    /// Run the built-in demo program and report the backend and guest instructions per second.
    Demo {
        #[command(flatten)]
        opts: RunOpts,
    },
    /// Differential instruction fuzzer: random instruction sequences under gpuos (CPU backend) and qemu-aarch64; with --elf, the ELF loader's mutation fuzzer.
    Fuzz {
        #[command(flatten)]
        opts: fuzz_cmd::FuzzOpts,
    },
    /// Measure guest instructions/s, syscalls, memory and start-up on the benchmark
    /// workloads, checked against qemu-aarch64 (docs/BENCHMARKS.md).
    Bench {
        #[command(flatten)]
        opts: bench::BenchOpts,
    },
}

fn parse_mount(s: &str) -> Result<Mount, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (host, guest, writable) = match parts.as_slice() {
        [h, g] => (h, g, false),
        [h, g, "rw"] => (h, g, true),
        [h, g, "ro"] => (h, g, false),
        _ => return Err(format!("bad --mount {s:?}: expected HOST:GUEST[:rw]")),
    };
    if !guest.starts_with('/') {
        return Err(format!("bad --mount {s:?}: GUEST must be an absolute path"));
    }
    Ok(Mount {
        host: PathBuf::from(host),
        guest: PathBuf::from(guest),
        writable,
    })
}

fn config(opts: &RunOpts, program: PathBuf, argv: Vec<OsString>) -> Result<RunConfig, String> {
    let mut cfg = RunConfig::new(program, argv);
    cfg.backend = match opts.backend {
        BackendArg::Auto => BackendKind::Auto,
        BackendArg::Cpu => BackendKind::Cpu,
        BackendArg::Cuda => BackendKind::Cuda,
    };
    cfg.mode = match opts.mode {
        ModeArg::Persistent => Mode::Persistent,
        ModeArg::Quantum => Mode::Quantum,
    };
    if opts.lanes == 0 {
        return Err("--lanes must be at least 1".into());
    }
    cfg.lanes = opts.lanes;
    cfg.strace = opts.strace;
    cfg.max_insns = opts.max_insns;
    cfg.output_dir = opts.output_dir.clone();
    cfg.hide = opts.hide.clone();
    cfg.sysroot = opts.sysroot.clone().or_else(|| {
        std::env::var_os("GPUOS_SYSROOT")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
    });
    cfg.lane_dir = opts.lane_dir.clone();
    cfg.private_tmp = opts.private_tmp;
    cfg.hash_every_lane = opts.lane_report.is_some();
    cfg.verbose = opts.verbose;
    cfg.threads = opts.threads;
    cfg.spare_lanes = opts.spare_lanes;
    cfg.child_slots = opts.child_slots;
    cfg.mem_per_process = opts.mem_per_process.unwrap_or(0);
    cfg.translate = opts.translate.parse()?;
    cfg.translate_for = opts.translate_for.clone();
    cfg.mounts = opts
        .mounts
        .iter()
        .map(|m| parse_mount(m))
        .collect::<Result<_, _>>()?;
    Ok(cfg)
}

/// One stderr line per killed lane 0, then a summary when several lanes ran.
fn report(program: &str, rep: &RunReport, verbose: bool) {
    if let Some(l0) = rep.lanes.first() {
        if let LaneStatus::Killed {
            signal,
            pc,
            addr,
            insn,
            cause,
        } = l0.status
        {
            let name = signal_name(signal);
            if let Some(why) = gpuos::machine::kill_cause_text(cause, rep.rss_limit) {
                eprintln!("gpuos: {program} killed by {name} ({why})");
                return report_summary(rep, verbose);
            }
            match signal {
                4 => eprintln!(
                    "gpuos: {program} killed by {name} at pc={pc:#x} insn={insn:#010x} ({})",
                    gpuos::tables::disassemble(insn)
                ),
                7 | 11 => {
                    eprintln!("gpuos: {program} killed by {name} at pc={pc:#x} addr={addr:#x}")
                }
                _ => eprintln!("gpuos: {program} killed by {name} at pc={pc:#x}"),
            }
        }
    }
    report_summary(rep, verbose);
}

/// Distinct stdouts the summary names, most common first.
const SUMMARY_OUTPUTS: usize = 8;

/// The summary of a run of several lanes (or with -v): lanes per status and per stdout,
/// instructions, memory.
fn report_summary(rep: &RunReport, verbose: bool) {
    if rep.lanes.len() > 1 || verbose {
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_out: BTreeMap<[u8; 32], usize> = BTreeMap::new();
        for l in &rep.lanes {
            let k = match l.status {
                LaneStatus::Exited(c) => format!("exit {c}"),
                LaneStatus::Killed { signal, .. } => format!("killed by {}", signal_name(signal)),
            };
            *by_status.entry(k).or_default() += 1;
            if let Some(h) = l.stdout_hash {
                *by_out.entry(h).or_default() += 1;
            }
        }
        let st: Vec<String> = by_status.iter().map(|(k, n)| format!("{n} {k}")).collect();
        eprintln!(
            "gpuos: {} lanes on {} ({}): {}",
            rep.lanes.len(),
            rep.backend,
            rep.device,
            st.join(", ")
        );
        // The most common first; one line whatever the lane count (every lane's hash is
        // in --lane-report).
        let mut common: Vec<(&[u8; 32], &usize)> = by_out.iter().collect();
        common.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let mut outs: Vec<String> = common
            .iter()
            .take(SUMMARY_OUTPUTS)
            .map(|(h, n)| format!("{n}x {}", hex8(h)))
            .collect();
        if common.len() > SUMMARY_OUTPUTS {
            outs.push(format!(
                "and {} more (see --lane-report)",
                common.len() - SUMMARY_OUTPUTS
            ));
        }
        let note = match rep.lanes.first() {
            Some(l) if l.stdout_hash.is_none() => " (lane 0 passed through, not counted)",
            _ => "",
        };
        eprintln!(
            "gpuos: {} distinct stdout{note} (sha256 prefix): {}",
            by_out.len(),
            outs.join(", ")
        );
        let peak = rep
            .lanes
            .iter()
            .map(|l| l.frames_private)
            .max()
            .unwrap_or(0);
        eprintln!(
            "gpuos: {} guest instructions in {:.3} s = {:.2} M instructions/s; memory: {} KiB shared image + {} KiB page cache (one copy for every process) + up to {} KiB per process; {} interleaved groups",
            rep.instructions(),
            rep.seconds,
            rep.ips() / 1e6,
            rep.template_frames * 4,
            rep.cache_frames * 4,
            peak * 4,
            rep.interleaved_groups
        );
        report_pool(rep);
    }
}

/// `--verbose`: the device memory the run held (one copy of what processes share), in
/// MiB and per lane; also after an interrupted run, whose lanes held it too.
fn report_pool(rep: &RunReport) {
    eprintln!(
        "gpuos: frame pool high-water {:.1} MiB = {:.1} KiB per lane ({} lanes)",
        (rep.pool_frames * 4) as f64 / 1024.0,
        (rep.pool_frames * 4) as f64 / rep.lanes.len().max(1) as f64,
        rep.lanes.len()
    );
}

/// With `--lane-report PATH`, write the lanes' table there (see [`lane_report`]).
fn write_lane_report(opts: &RunOpts, rep: &RunReport, jobs: &[Job]) -> Result<(), RunError> {
    let Some(path) = &opts.lane_report else {
        return Ok(());
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    lane_report::write(&mut f, &rep.lanes, jobs)?;
    f.into_inner().map_err(|e| e.into_error())?;
    Ok(())
}

fn hex8(h: &[u8; 32]) -> String {
    h[..6].iter().map(|b| format!("{b:02x}")).collect()
}

fn exit_code(rep: &RunReport) -> i32 {
    rep.lanes.first().map_or(1, |l| l.status.shell_status())
}

/// A job list's exit status: the first failing job's (in lane order), else 0.
fn jobs_exit_code(rep: &RunReport) -> i32 {
    rep.lanes
        .iter()
        .map(|l| l.status.shell_status())
        .find(|&s| s != 0)
        .unwrap_or(0)
}

/// The run's configuration: PROGRAM and its arguments, or the job list of `--jobs`.
fn run_config(opts: &RunOpts, command: Vec<OsString>) -> Result<RunConfig, String> {
    let Some(file) = &opts.jobs else {
        return config(opts, PathBuf::from(&command[0]), command);
    };
    if !command.is_empty() {
        return Err("--jobs FILE runs the job list: no PROGRAM".into());
    }
    let text =
        std::fs::read_to_string(file).map_err(|e| format!("--jobs {}: {e}", file.display()))?;
    let jobs = Job::parse_list(&text).map_err(|e| format!("--jobs {}: {e}", file.display()))?;
    let mut cfg = config(opts, PathBuf::from(&jobs[0].argv[0]), jobs[0].argv.clone())?;
    cfg.lanes = jobs.len();
    cfg.jobs = jobs;
    Ok(cfg)
}

/// SIGINT and SIGTERM stop the run (`gpuos::backend::request_stop`): every lane stops
/// within a second, what the guests wrote is written out, one line says so, and gpuos
/// exits with 128 + the signal, as a shell reports a program the signal ended. A second
/// such signal, while the first is being handled, ends gpuos at once with that status.
fn install_stop_signals() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let pending = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        // Registered first, so it runs before the flag is set by the same signal: it
        // exits only when an earlier signal has set it.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, pending.clone());
        let _ = signal_hook::flag::register(sig, pending.clone());
        // SAFETY: the action only stores to an atomic, which is async-signal-safe.
        let _ = unsafe {
            signal_hook::low_level::register(sig, move || gpuos::backend::request_stop(sig))
        };
    }
}

/// Raise the limit on open files as far as allowed (getrlimit(2), setrlimit(2)): on the
/// CUDA backend every lane's host state, with its `--output-dir` files, exists at once,
/// so 100,000 lanes hold 200,000 open files, and guests' own files come on top. First
/// both limits to the kernel's ceiling (/proc/sys/fs/nr_open; needs CAP_SYS_RESOURCE,
/// and not with GPUOS_NOFILE_KEEP=1, which the tests of the out-of-descriptors paths
/// set), else the soft limit to the hard one.
fn raise_nofile_limit() {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let keep = std::env::var_os("GPUOS_NOFILE_KEEP").is_some_and(|v| v == "1");
    let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<libc::rlim_t>().ok())
        .filter(|_| !keep);
    // SAFETY: plain syscalls on local structs.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) != 0 {
            return;
        }
        if let Some(c) = ceiling.filter(|&c| c > r.rlim_max) {
            let up = libc::rlimit {
                rlim_cur: c,
                rlim_max: c,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &up) == 0 {
                return;
            }
        }
        if r.rlim_cur < r.rlim_max {
            r.rlim_cur = r.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &r);
        }
    }
}

fn main() {
    let cli = Cli::parse();
    install_stop_signals();
    raise_nofile_limit();
    let code = match cli.cmd {
        Cmd::Run { opts, command } => {
            let cfg = match run_config(&opts, command) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("gpuos: {e}");
                    std::process::exit(2);
                }
            };
            let program = cfg.program.clone();
            match gpuos::run(&cfg) {
                Ok(rep) => {
                    if let Some(sig) = rep.interrupted {
                        let n = rep.stopped();
                        let lanes = if n == 1 { "lane" } else { "lanes" };
                        eprintln!(
                            "gpuos: interrupted by {}; {n} {lanes} stopped",
                            signal_name(sig)
                        );
                        if opts.verbose {
                            report_pool(&rep);
                        }
                    } else {
                        report(&program.display().to_string(), &rep, opts.verbose);
                    }
                    match (write_lane_report(&opts, &rep, &cfg.jobs), rep.interrupted) {
                        (Err(e), _) => fail(e),
                        (Ok(()), Some(sig)) => 128 + sig,
                        (Ok(()), None) if !cfg.jobs.is_empty() => jobs_exit_code(&rep),
                        (Ok(()), None) => exit_code(&rep),
                    }
                }
                Err(e) => fail(e),
            }
        }
        Cmd::CompileCore { arch } => match gpuos::backend::cuda::precompile(&arch, true) {
            Ok(n) => {
                eprintln!(
                    "gpuos: core compiled for {arch} ({} KiB) and cached",
                    n / 1024
                );
                0
            }
            Err(e) => fail(e),
        },
        Cmd::Demo { opts } => demo::run(&opts).unwrap_or_else(fail),
        Cmd::Fuzz { opts } => fuzz_cmd::run(&opts),
        Cmd::Bench { opts } => match bench::run(&opts) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("gpuos bench: {e}");
                1
            }
        },
    };
    std::process::exit(code);
}

fn fail(e: RunError) -> i32 {
    eprintln!("gpuos: {e}");
    match &e {
        RunError::Load(l) => l.exit_status(),
        _ => 1,
    }
}
