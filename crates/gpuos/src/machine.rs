//! The Machine API: what to run ([`RunConfig`]), what happened ([`RunReport`]), and
//! the errors of a run, and the small helpers that describe them.

use crate::host::{HostError, Mount};
use crate::loader::LoadError;
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::str::FromStr;

/// Which execution backend runs the lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// CUDA when a usable GPU is present, else the CPU backend.
    Auto,
    /// Host threads.
    Cpu,
    /// NVIDIA GPU through CUDA.
    Cuda,
}

/// How the CUDA backend schedules lanes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One resident kernel; host syscalls through the submission ring.
    Persistent,
    /// Bounded launches; the host serves syscalls between them.
    Quantum,
}

/// `gpuos run --translate`: whether the image's hot code is translated (tier 2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Translate {
    /// Interpret only.
    Never,
    /// Translate blocks entered `translate::AUTO_THRESHOLD` times, in the background: on
    /// the GPU with NVRTC (quick first, then optimised), on the CPU backend when a C++
    /// compiler is installed and the run has gone on for `translate::AUTO_HOST_AFTER`;
    /// otherwise interpret. The default.
    #[default]
    Auto,
    /// Translate every block entered at all: in the background while the run goes on,
    /// and at its end whatever is still new, so that the next run of the image starts
    /// with all of it translated. Errors without a C++ compiler.
    Always,
}

impl FromStr for Translate {
    type Err = String;
    fn from_str(s: &str) -> Result<Translate, String> {
        match s {
            "never" => Ok(Translate::Never),
            "auto" => Ok(Translate::Auto),
            "always" => Ok(Translate::Always),
            _ => Err(format!(
                "--translate must be auto, never or always, not {s:?}"
            )),
        }
    }
}

/// Everything needed to run a program in one or more lanes.
#[derive(Clone, Debug)]
pub struct RunConfig {
    /// Host path of the AArch64 ELF program.
    pub program: PathBuf,
    /// argv, including argv[0]; `{lane}` is replaced by each lane's index.
    pub argv: Vec<OsString>,
    /// Environment strings `NAME=value`.
    pub envp: Vec<OsString>,
    /// Number of copies to run (lanes, each running its first process and the
    /// processes it forks), at least 1.
    pub lanes: usize,
    /// Stop each process after this many guest instructions (0 = no limit).
    pub max_insns: u64,
    /// Print every syscall to stderr.
    pub strace: bool,
    /// Extra mounts (the working directory is always mounted read-write).
    pub mounts: Vec<Mount>,
    /// Host paths the guest must not see (`--hide`): ENOENT for each and everything
    /// below it (`host::SandboxConfig::hide`).
    pub hide: Vec<PathBuf>,
    /// Absolute guest paths name this directory's entries first, read-only
    /// (`--sysroot`, qemu-user's `-L`; `host::SandboxConfig::sysroot`).
    pub sysroot: Option<PathBuf>,
    /// Keep every lane's stdout and stderr as `DIR/lane-N.stdout|stderr`.
    pub output_dir: Option<PathBuf>,
    /// Each lane's own working directory: this path with `{lane}` replaced by the
    /// lane's index, relative to the working directory and inside it (so in its
    /// writable mount), created if missing. None: every lane starts in the working
    /// directory. See [`crate::prepare::Prepared::lane_cwd`].
    pub lane_dir: Option<OsString>,
    /// A job list (`--jobs FILE`): lane i runs job i, its own command line as its own
    /// process tree; `program` and `argv` are then unused and `lanes` is the number of
    /// jobs. Empty: every lane runs `program` with `argv`.
    pub jobs: Vec<Job>,
    /// Give the guests a /tmp of their own, writable, made for the run and removed at
    /// its end (`--private-tmp`; see [`crate::prepare`]): what a system root's programs
    /// expect of /tmp (`sort`, `tac`, python's tempfile), without writing the host's.
    pub private_tmp: bool,
    /// Backend choice.
    pub backend: BackendKind,
    /// CUDA scheduling mode.
    pub mode: Mode,
    /// Report compilation, cache and memory details on stderr.
    pub verbose: bool,
    /// Lane 0's stdout/stderr go to the real stdout/stderr (else captured).
    pub passthrough: bool,
    /// Hash every lane's stdout and stderr, lane 0's included
    /// ([`LaneResult::stdout_hash`], [`LaneResult::stderr_hash`]): lane 0's output is
    /// then streamed to the real stdout/stderr and hashed on the way (as with
    /// `output_dir`); its guest sees a pipe on fd 1 and 2.
    pub hash_every_lane: bool,
    /// Host threads: the CPU backend's lanes (0 = every core), or the CUDA backend's
    /// service threads in persistent mode (0 = `service_threads`: half the cores, 4 to 8).
    pub threads: usize,
    /// Spare lanes: GPU threads (host threads on the CPU backend) beyond the lanes'
    /// families, which run the families' other runnable tasks (threads, forked
    /// processes) beside them (kernel/proc/spare.h). `None`: the backend's default (the
    /// CPU backend: the threads that run no lane, and every thread once the lanes run
    /// out; the GPU in persistent mode: 16 for a run of one lane, none for more).
    pub spare_lanes: Option<usize>,
    /// Process slots for forked children, shared by all lanes (0 = the default,
    /// `abi::default_child_slots`); fork fails with EAGAIN when none is free.
    pub child_slots: usize,
    /// Per-process memory limit in bytes (0 = the default, [`crate::layout::mem_limits`]): the
    /// resident limit and RLIMIT_AS (soft and hard) of every process.
    pub mem_per_process: u64,
    /// Tier 2: translate the image's hot code (docs/ARCHITECTURE.md, "Tier 2").
    pub translate: Translate,
    /// Tier 2 on the CPU backend builds its translation for this GPU architecture
    /// ("sm_90") instead of the host: NVRTC compiles the core with the blocks the run
    /// entered into the cache, where a GPU run of the image finds it (`gpuos run
    /// --translate-for`).
    pub translate_for: Option<String>,
}

/// One job of a job list (`gpuos run --jobs FILE`): a command line run on a lane of its
/// own, as if an init process had exec'd it there.
#[derive(Clone, Debug, Default)]
pub struct Job {
    /// The program (a guest path, looked up as execve(2) looks it up: the sysroot
    /// first for an absolute path, relative to `cwd` otherwise; a `#!` script runs its
    /// interpreter) and its arguments, argv[0] first.
    pub argv: Vec<OsString>,
    /// Its working directory (relative to the run's, inside it, created if missing),
    /// or None for the run's.
    pub cwd: Option<OsString>,
    /// The line as written, for the lane report.
    pub line: String,
}

impl Job {
    /// Parse a job list: one job per line, its words split as a POSIX shell splits
    /// them (quotes and backslashes; no expansions); a first word `-C DIR` sets its
    /// working directory (as make's and git's); blank lines and lines starting with `#`
    /// are skipped. `{lane}` in any word becomes the job's lane index. Errors name the
    /// line.
    pub fn parse_list(text: &str) -> Result<Vec<Job>, String> {
        let mut jobs = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let lane = jobs.len();
            let words =
                shlex::split(t).ok_or_else(|| format!("line {}: unbalanced quotes", n + 1))?;
            let mut words: Vec<OsString> = words
                .into_iter()
                .map(|w| crate::prepare::substitute_lane(&OsString::from(w), lane))
                .collect();
            let mut cwd = None;
            if words.first().is_some_and(|w| w == "-C") {
                if words.len() < 3 {
                    return Err(format!("line {}: -C DIR and a command", n + 1));
                }
                cwd = Some(words.remove(1));
                words.remove(0);
            }
            if words.is_empty() {
                return Err(format!("line {}: no command", n + 1));
            }
            jobs.push(Job {
                argv: words,
                cwd,
                line: t.to_string(),
            });
        }
        if jobs.is_empty() {
            return Err("no jobs".to_string());
        }
        Ok(jobs)
    }
}

impl RunConfig {
    /// Whether lane 0's stdio goes to the real stdout/stderr as it runs (uncaptured,
    /// so unhashed): passed through, with no output directory and no hash of every lane.
    pub fn lane0_live(&self) -> bool {
        self.passthrough && self.output_dir.is_none() && !self.hash_every_lane
    }

    /// Child process slots for this run (`child_slots`, or the default for the lanes).
    pub fn children(&self) -> usize {
        if self.child_slots > 0 {
            self.child_slots
        } else {
            crate::abi::default_child_slots(self.lanes.max(1))
        }
    }

    /// A configuration running `program` with `argv` once, with the host environment.
    pub fn new(program: impl Into<PathBuf>, argv: Vec<OsString>) -> RunConfig {
        RunConfig {
            program: program.into(),
            argv,
            envp: std::env::vars_os()
                .map(|(k, v)| {
                    let mut s = k.into_vec();
                    s.push(b'=');
                    s.extend_from_slice(v.as_bytes());
                    OsString::from_vec(s)
                })
                .collect(),
            lanes: 1,
            max_insns: 0,
            strace: false,
            mounts: Vec::new(),
            hide: Vec::new(),
            sysroot: None,
            output_dir: None,
            lane_dir: None,
            jobs: Vec::new(),
            private_tmp: false,
            backend: BackendKind::Auto,
            mode: Mode::Persistent,
            verbose: false,
            passthrough: true,
            hash_every_lane: false,
            threads: 0,
            spare_lanes: None,
            child_slots: 0,
            mem_per_process: 0,
            translate: Translate::default(),
            translate_for: None,
        }
    }
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LaneStatus {
    /// exit/exit_group with this status (0..255).
    Exited(i32),
    /// Killed by a signal.
    Killed {
        /// Linux signal number.
        signal: i32,
        /// PC of the faulting instruction.
        pc: u64,
        /// Faulting data address (SIGSEGV, SIGBUS).
        addr: u64,
        /// Instruction word (SIGILL).
        insn: u32,
        /// Why gpuos killed it, when for want of memory (`abi::OOM_RESIDENT`,
        /// `abi::OOM_POOL`; see [`kill_cause_text`]); 0 otherwise.
        cause: u32,
    },
}

impl LaneStatus {
    /// The exit status a shell would see: the code, or 128 + signal.
    pub fn shell_status(&self) -> i32 {
        match *self {
            LaneStatus::Exited(c) => c,
            LaneStatus::Killed { signal, .. } => 128 + signal,
        }
    }
}

/// Outcome of one lane.
#[derive(Clone, Debug)]
pub struct LaneResult {
    /// How it ended.
    pub status: LaneStatus,
    /// It had not ended when the run was stopped (SIGINT, SIGTERM); `status` then
    /// says killed by that signal.
    pub stopped: bool,
    /// Guest instructions retired.
    pub insns: u64,
    /// SHA-256 of its stdout; None when it was passed through uncaptured (lane 0).
    pub stdout_hash: Option<[u8; 32]>,
    /// SHA-256 of its stderr; None when it was passed through uncaptured (lane 0).
    pub stderr_hash: Option<[u8; 32]>,
    /// Bytes it wrote to stdout and to stderr (0 when passed through uncaptured).
    pub stdout_bytes: u64,
    /// See `stdout_bytes`.
    pub stderr_bytes: u64,
    /// Frames it owned privately at its end (page tables and written pages; not the
    /// page cache's frames it mapped, `Proc::frames_cached`).
    pub frames_private: u64,
}

/// Outcome of a run.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// "cpu" or "cuda".
    pub backend: String,
    /// Device description (GPU name or host CPU).
    pub device: String,
    /// One entry per lane.
    pub lanes: Vec<LaneResult>,
    /// Wall seconds of execution (after loading and compilation).
    pub seconds: f64,
    /// Frames of the shared image template.
    pub template_frames: u64,
    /// The signal that stopped the run before every lane ended (SIGINT, SIGTERM; see
    /// `backend::request_stop`), if one did.
    pub interrupted: Option<i32>,
    /// Lane 0's stdout when it was not passed through (its first `lane::STDOUT0_KEEP`
    /// bytes; the hash covers it all).
    pub stdout0: Vec<u8>,
    /// Every process's resident limit, in bytes (0 = none).
    pub rss_limit: u64,
    /// Guest instructions that ran translated (tier 2; 0 without a translation), of
    /// [`RunReport::instructions`].
    pub translated: u64,
    /// Groups of interleaved frames the run made (kernel/mm/mm.h; each holds one page
    /// of up to `IL_GROUP` lanes of a warp); 0 when its frames were all contiguous.
    pub interleaved_groups: u64,
    /// Frames of the pool that the run ever handed out, the template's included
    /// (`MachineHdr::bump`, both ends): the high-water mark of the guest memory it held,
    /// pages shared between processes (the template, the page cache's file pages, a
    /// fork's copy-on-write pages) counted once.
    pub pool_frames: u64,
    /// Of `pool_frames`, the page cache's (`MachineHdr::pcache_frames`): file pages
    /// read once and mapped by every process that maps the file (shared libraries).
    pub cache_frames: u64,
    /// Where the host requests' round trips went (means), when any was timed.
    pub round_trips: Option<RoundTrips>,
    /// Processes and threads made on the device (fork, vfork, clone, clone3 answered
    /// there: `MachineHdr::spawns`).
    pub spawns: u64,
    /// Device nanoseconds those spawns took, summed (`MachineHdr::spawn_ns`): the
    /// caller's time from the clone call's entry to the child made runnable.
    pub spawn_ns: u64,
}

/// Stages of a host request's round trip, means over every request of a run, in
/// microseconds on the core's clock (the GPU's global timer, or CLOCK_MONOTONIC on the
/// CPU backend): see `gpuos run -v` and docs/BENCHMARKS.md. The pushed and poller
/// stages are the GPU's persistent mode's (0 elsewhere); the host's turn likewise.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RoundTrips {
    /// Requests timed.
    pub requests: u64,
    /// Syscall entry to the request written (marshalling).
    pub post_us: f64,
    /// Written -> pushed to the submission ring (the slice's end and the push).
    pub pushed_us: f64,
    /// Written -> the completion poller saw the answer.
    pub poller_us: f64,
    /// Written -> the lane resumed with the answer.
    pub resumed_us: f64,
    /// Completing (the output copied to the guest, X0 set).
    pub complete_us: f64,
    /// The host's serving.
    pub host_serve_us: f64,
    /// The host's turn: pop off the submission ring to the completion's push.
    pub host_turn_us: f64,
}

impl RunReport {
    /// Total guest instructions.
    pub fn instructions(&self) -> u64 {
        self.lanes.iter().map(|l| l.insns).sum()
    }
    /// Lanes that had not ended when the run was stopped.
    pub fn stopped(&self) -> usize {
        self.lanes.iter().filter(|l| l.stopped).count()
    }
    /// Guest instructions per second.
    pub fn ips(&self) -> f64 {
        self.instructions() as f64 / self.seconds.max(1e-9)
    }
}

/// Errors of a run that are not the guest's doing.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The program could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The sandbox configuration is invalid.
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    /// Memory for the machine could not be reserved.
    #[error("out of memory: {0}")]
    Memory(#[from] MemoryError),
    /// The backend failed (no GPU, CUDA error...).
    #[error("{0}")]
    Backend(#[from] BackendError),
    /// The options of the run do not fit together (a front end's check, its message).
    #[error("{0}")]
    Config(String),
    /// An I/O error on the host side.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// An I/O error on a path the user gave (an option's).
    #[error("{what} {}: {source}", path.display())]
    Path {
        /// The option, e.g. `--output-dir`.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Why the sandbox could not be set up ([`RunError::Sandbox`]).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A mount or a hidden path is unusable.
    #[error(transparent)]
    Setup(#[from] HostError),
    /// `--lane-dir` names no directory below the working directory.
    #[error("--lane-dir {}: must be a directory below the working directory", .0.display())]
    LaneDirOutside(PathBuf),
    /// `--lane-dir`'s directory could not be made.
    #[error("--lane-dir {}: {why}", path.display())]
    LaneDir {
        /// The directory, relative to the working directory.
        path: PathBuf,
        /// Why (the host's words).
        why: String,
    },
}

/// Why memory for the machine could not be reserved ([`RunError::Memory`]).
#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    /// The image template does not fit the frame pool.
    #[error("frame pool too small for the program image")]
    TemplateTooLarge,
    /// Too little GPU memory is free for the template and a minimal pool; the free bytes.
    #[error("only {} MiB of GPU memory free", .0 >> 20)]
    GpuFree(usize),
    /// The host refused to reserve address space (mmap(2)).
    #[error(transparent)]
    Reserve(#[from] std::io::Error),
}

/// Why a backend failed ([`RunError::Backend`]).
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// A CUDA driver or NVRTC call failed: the call (or what it did) and the error.
    #[error("CUDA: {what}: {detail}")]
    Cuda {
        /// The call or its purpose.
        what: String,
        /// The driver's error.
        detail: String,
    },
    /// The CUDA backend cannot run here.
    #[error("the CUDA backend is not available: {0}")]
    Unavailable(String),
    /// NVRTC's library is missing.
    #[error("libnvrtc not found")]
    NoNvrtc,
    /// NVRTC could not compile the core.
    #[error("NVRTC failed ({code}):\n{log}")]
    Nvrtc {
        /// NVRTC's result.
        code: String,
        /// The compile log.
        log: String,
    },
    /// A kernel of gpuos faulted on the device.
    #[error(
        "CUDA error in {what}: {detail} (a device-side fault of gpuos itself, not of a guest)"
    )]
    Fault {
        /// The kernel or step.
        what: String,
        /// The driver's error.
        detail: String,
    },
    /// A kernel fault with what the lanes recorded before it (`PanicRecord`).
    #[error("{fault}; {cause}")]
    Explained {
        /// The fault.
        fault: Box<BackendError>,
        /// Which lane stopped the kernel and why, or that none is known.
        cause: String,
    },
    /// Lanes' results went missing while they were read back.
    #[error("lost the results of {0} lanes while reading them back")]
    ResultsLost(usize),
    /// A lane's host side went missing.
    #[error("lane {0} lost its host state")]
    LaneLost(usize),
    /// `--translate always` without a C++ compiler.
    #[error("--translate always needs a C++ compiler (c++, or $GPUOS_CXX)")]
    NoCompiler,
    /// Tier 2's compiler failed.
    #[error("tier 2: {0}")]
    Tier2(String),
}

impl RunError {
    /// The error `source` of option `what`'s path `path`.
    pub fn at(what: &'static str, path: &std::path::Path, source: std::io::Error) -> RunError {
        RunError::Path {
            what,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The words `gpuos run` adds to a kill message for a process gpuos killed for want of
/// memory (`LaneStatus::Killed::cause`), given the resident limit in bytes; None for
/// other kills.
pub fn kill_cause_text(cause: u32, rss_limit: u64) -> Option<String> {
    match cause {
        crate::abi::OOM_RESIDENT => Some(format!(
            "out of memory: resident limit {} reached",
            human_bytes(rss_limit)
        )),
        crate::abi::OOM_POOL => Some("out of memory: frame pool exhausted".into()),
        _ => None,
    }
}

/// Bytes as `N GiB`, `N MiB`, `N KiB` when a whole multiple, else `N bytes`.
pub fn human_bytes(b: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if b >= 1 << shift && b.is_multiple_of(1 << shift) {
            return format!("{} {unit}", b >> shift);
        }
    }
    format!("{b} bytes")
}

/// Parse a byte count with an optional K, M or G suffix (powers of 1024; `KiB`, `MB`
/// and the like are accepted too): `64M` is 67108864. Errors: not a number, zero, or
/// too large.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let digits = t.find(|ch: char| !ch.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad size {s:?}: expected a number of bytes, e.g. 64M"))?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("bad size {s:?}: the suffix is K, M or G")),
    };
    let v = n
        .checked_mul(1u64 << shift)
        .ok_or_else(|| format!("bad size {s:?}: too large"))?;
    if v == 0 {
        return Err(format!("bad size {s:?}: must be more than 0"));
    }
    Ok(v)
}

/// Where gpuos caches what it compiles (the CUDA core's CUBINs, tier 2's translations):
/// `GPUOS_CACHE_DIR`, else `$XDG_CACHE_HOME/gpuos`, else `~/.cache/gpuos`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GPUOS_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("gpuos");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".cache/gpuos"),
        None => std::env::temp_dir().join("gpuos-cache"),
    }
}

/// SHA-256 of a byte string.
pub fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// Signal names (signal(7)).
pub fn signal_name(sig: i32) -> String {
    let n = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        _ => return format!("signal {sig}"),
    };
    n.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::MachineHdr;
    use crate::layout::mem_limits;

    #[test]
    fn parse_bytes_takes_suffixes_and_refuses_the_rest() {
        assert_eq!(parse_bytes("4096"), Ok(4096));
        assert_eq!(parse_bytes("64K"), Ok(64 << 10));
        assert_eq!(parse_bytes("32M"), Ok(32 << 20));
        assert_eq!(parse_bytes("2g"), Ok(2 << 30));
        assert_eq!(parse_bytes("1GiB"), Ok(1 << 30));
        for bad in [
            "",
            "M",
            "0",
            "12Q",
            "-1M",
            "99999999999999999999G",
            "20000000000G",
        ] {
            assert!(parse_bytes(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn default_limits_share_the_pool_and_leave_rlimit_as_unlimited() {
        let mut cfg = RunConfig::new("prog", Vec::new());
        cfg.lanes = 4;
        let mut m = MachineHdr::default();
        mem_limits(&cfg, &mut m, 16384 + 100, 100);
        assert_eq!((m.rss_limit, m.as_limit), (4096, 0));
        cfg.mem_per_process = 32 << 20;
        mem_limits(&cfg, &mut m, 16384 + 100, 100);
        assert_eq!((m.rss_limit, m.as_limit), (8192, 32 << 20));
        assert_eq!(human_bytes(32 << 20), "32 MiB");
        assert_eq!(human_bytes(15864 << 10), "15864 KiB");
        assert_eq!(
            kill_cause_text(crate::abi::OOM_RESIDENT, 64 << 20).as_deref(),
            Some("out of memory: resident limit 64 MiB reached")
        );
        assert_eq!(kill_cause_text(0, 64 << 20), None);
    }
}
