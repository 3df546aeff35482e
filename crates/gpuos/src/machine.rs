//! The Machine API: what to run ([`RunConfig`]), what happened ([`RunReport`]), and
//! the preparation both backends share (loading the image, building its template and
//! the initial stacks, the per-process host services).

use crate::abi::{MachineHdr, FREE_SHARDS, PAGE_SIZE};
use crate::ffi;
use crate::host::output::{LaneFile, OutStream};
use crate::host::{Mount, ProcHost, Sandbox, SandboxConfig, Sink, Source};
use crate::loader::{self, Image, LoadError, StackImage};
use crate::mem::HostRegion;
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::Arc;

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
    /// Keep every lane's stdout and stderr as `DIR/lane-N.stdout|stderr`.
    pub output_dir: Option<PathBuf>,
    /// Each lane's own working directory: this path with `{lane}` replaced by the
    /// lane's index, relative to the working directory and inside it (so in its
    /// writable mount), created if missing. None: every lane starts in the working
    /// directory. See [`Prepared::lane_cwd`].
    pub lane_dir: Option<OsString>,
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
    /// Host threads for the CPU backend (0 = every core).
    pub threads: usize,
    /// Process slots for forked children, shared by all lanes (0 = the default,
    /// `abi::default_child_slots`); fork fails with EAGAIN when none is free.
    pub child_slots: usize,
    /// Per-process memory limit in bytes (0 = the default, [`mem_limits`]): the
    /// resident limit and RLIMIT_AS (soft and hard) of every process.
    pub mem_per_process: u64,
    /// Tier 2: translate the image's hot code (docs/ARCHITECTURE.md, "Tier 2").
    pub translate: crate::translate::Translate,
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
            output_dir: None,
            lane_dir: None,
            backend: BackendKind::Auto,
            mode: Mode::Persistent,
            verbose: false,
            passthrough: true,
            hash_every_lane: false,
            threads: 0,
            child_slots: 0,
            mem_per_process: 0,
            translate: crate::translate::Translate::default(),
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
    /// Frames it owned privately at its peak (page tables and written pages).
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
    /// Lane 0's stdout when it was not passed through (its first [`STDOUT0_KEEP`]
    /// bytes; the hash covers it all).
    pub stdout0: Vec<u8>,
    /// Every process's resident limit, in bytes (0 = none).
    pub rss_limit: u64,
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
    Sandbox(String),
    /// Memory for the machine could not be reserved.
    #[error("out of memory: {0}")]
    Memory(String),
    /// The backend failed (no GPU, CUDA error...).
    #[error("{0}")]
    Backend(String),
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

/// Loaded program, template-ready, with the stack images of every lane.
pub struct Prepared {
    /// The ELF image.
    pub image: Image,
    /// Stack images; lane `l` uses `stacks[l % stacks.len()]`.
    pub stacks: Vec<StackImage>,
    /// The sandbox shared by all lanes.
    pub sandbox: Arc<Sandbox>,
    /// stdin contents for lanes other than a passed-through lane 0.
    pub stdin_bytes: Option<Arc<Vec<u8>>>,
}

impl Prepared {
    /// Load the program and build what every backend needs.
    pub fn new(cfg: &RunConfig) -> Result<Prepared, RunError> {
        let image = loader::load(&cfg.program)?;
        let per_lane = cfg
            .argv
            .iter()
            .any(|a| a.as_bytes().windows(6).any(|w| w == b"{lane}"));
        let n = if per_lane { cfg.lanes.max(1) } else { 1 };
        let mut random = [0u8; 16];
        let _ = getrandom::getrandom(&mut random);
        let execfn = cfg
            .argv
            .first()
            .map(|a| a.as_bytes().to_vec())
            .unwrap_or_default();
        let stacks = (0..n)
            .map(|lane| {
                let argv: Vec<OsString> =
                    cfg.argv.iter().map(|a| substitute_lane(a, lane)).collect();
                loader::build_stack(&image, &argv, &cfg.envp, &execfn, random)
            })
            .collect();
        let cwd = std::env::current_dir()?;
        let exe = std::fs::canonicalize(&cfg.program).unwrap_or_else(|_| cfg.program.clone());
        let sandbox = Sandbox::new(SandboxConfig {
            mounts: cfg.mounts.clone(),
            cwd,
            exe,
            hide: cfg.hide.clone(),
        })
        .map_err(|e| RunError::Sandbox(e.to_string()))?;
        // Several copies each read their own copy of stdin; a run that does not pass
        // stdio through (the bench) gives the guests an empty stdin instead.
        let stdin_bytes = if cfg.lanes > 1 && cfg.passthrough {
            use std::io::IsTerminal;
            let v = if std::io::stdin().is_terminal() {
                Vec::new()
            } else {
                crate::host::read_host_stdin()
            };
            Some(Arc::new(v))
        } else {
            None
        };
        let prep = Prepared {
            image,
            stacks,
            sandbox: Arc::new(sandbox),
            stdin_bytes,
        };
        // A bad --lane-dir is refused before anything runs (lanes make theirs as they
        // start).
        prep.lane_cwd(cfg, 0)?;
        Ok(prep)
    }

    /// Host services for process `lane`: lane 0 passes stdio through (when asked),
    /// others read the shared stdin bytes and have their output streamed: hashed, and
    /// written to the output directory as it comes ([`crate::host::output`]).
    pub fn proc_host(&self, cfg: &RunConfig, lane: usize) -> Result<ProcHost, RunError> {
        let through = lane == 0 && cfg.lane0_live();
        let stdin = match (&self.stdin_bytes, through) {
            (Some(b), _) => Source::Bytes(b.clone()), // read once, a copy per lane
            (None, true) => Source::Inherit,
            (None, false) if cfg.passthrough => Source::Inherit,
            (None, false) => Source::Null,
        };
        let (out, err) = if through {
            (Sink::Inherit, Sink::Inherit)
        } else if let Some(dir) = cfg
            .output_dir
            .as_ref()
            .filter(|_| lane_sees_files(cfg, lane))
        {
            let file = |ext: &str| {
                let path = dir.join(format!("lane-{lane}.{ext}"));
                std::fs::File::create(&path).map_err(|e| RunError::at("--output-dir", &path, e))
            };
            (Sink::File(file("stdout")?), Sink::File(file("stderr")?))
        } else {
            (
                self.lane_stream(cfg, lane, 1)?,
                self.lane_stream(cfg, lane, 2)?,
            )
        };
        let host = ProcHost::new(self.sandbox.clone(), stdin, out, err);
        Ok(match self.lane_cwd(cfg, lane)? {
            Some(dir) => host.with_cwd(dir),
            None => host,
        })
    }

    /// Lane `lane`'s stdout (`fd` 1) or stderr (2) as a stream: hashed; lane 0's
    /// echoed to gpuos's own fd as it comes (when passed through) or its stdout's first
    /// [`STDOUT0_KEEP`] bytes kept ([`RunReport::stdout0`]); written to its
    /// `--output-dir` file, held open when every lane's files fit the open-file limit,
    /// else through a small buffer.
    fn lane_stream(&self, cfg: &RunConfig, lane: usize, fd: i32) -> Result<Sink, RunError> {
        let mut s = OutStream::hashed();
        if lane == 0 && cfg.passthrough {
            s = s.echo(fd);
        } else if lane == 0 && fd == 1 {
            s = s.keep(STDOUT0_KEEP);
        }
        if let Some(dir) = &cfg.output_dir {
            let ext = if fd == 1 { "stdout" } else { "stderr" };
            let path = dir.join(format!("lane-{lane}.{ext}"));
            s = s.to_file(if lane_files_fit(cfg.lanes) {
                LaneFile::open(path.clone()).map_err(|e| RunError::at("--output-dir", &path, e))?
            } else {
                LaneFile::buffered(path, lane_file_buffer(cfg.lanes))
            });
        }
        Ok(Sink::Stream(Box::new(s)))
    }

    /// Lane `lane`'s working directory under `RunConfig::lane_dir`, created if missing
    /// (`mkdir -p`) through the sandbox, never following a symlink
    /// (`Sandbox::make_dir_below_cwd`). The working directory is mounted at its own
    /// path, so the host path is also the guest's. Errors (`RunError::Sandbox`, naming
    /// the path): the pattern is absolute or leaves the working directory, a component
    /// is a symlink or not a directory, the directory cannot be made.
    pub fn lane_cwd(&self, cfg: &RunConfig, lane: usize) -> Result<Option<PathBuf>, RunError> {
        let Some(pattern) = &cfg.lane_dir else {
            return Ok(None);
        };
        let rel = PathBuf::from(substitute_lane(pattern, lane));
        let cwd = self.sandbox.initial_cwd();
        let dir = crate::host::normalize(&cwd.join(&rel));
        if rel.is_absolute() || !dir.starts_with(cwd) || dir == cwd {
            return Err(RunError::Sandbox(format!(
                "--lane-dir {}: must be a directory below the working directory",
                rel.display()
            )));
        }
        let rel = dir.strip_prefix(cwd).unwrap_or(&rel).to_path_buf();
        let made = self
            .sandbox
            .make_dir_below_cwd(&rel)
            .map_err(|e| RunError::Sandbox(format!("--lane-dir {}: {e}", rel.display())))?;
        Ok(Some(made))
    }

    /// Frames the template needs (an upper bound): the segments' file pages and page
    /// tables (`Image::frames_bound`), plus the root, the stack's and the signal
    /// trampoline's tables and page. Not the .bss: its pages are lazily allocated.
    pub fn template_frames_bound(&self) -> u64 {
        self.image.frames_bound() + 64
    }

    /// Build the template's page tables and frames in the pool of `m` (host memory),
    /// and fill the layout fields of `m`. Returns the number of frames used.
    pub fn build_template(&self, m: &mut MachineHdr) -> Result<u64, RunError> {
        /// Page permissions for ELF segment flags (PF_R, PF_W, PF_X); AArch64 has no
        /// write-only or execute-only user pages here, so W and X imply R.
        fn pte_perm(flags: u32) -> u64 {
            let mut perm = 0;
            if flags & object::elf::PF_R != 0 {
                perm |= ffi::PTE_R;
            }
            if flags & object::elf::PF_W != 0 {
                perm |= ffi::PTE_W | ffi::PTE_R;
            }
            if flags & object::elf::PF_X != 0 {
                perm |= ffi::PTE_X | ffi::PTE_R;
            }
            perm
        }
        let oom = || RunError::Memory("frame pool too small for the program image".into());
        // While the template is built every frame counts as the template's (immortal):
        // a frame that a later segment's mapping replaces is left unused, never put on a
        // free list below `tmpl_frames`, where a process could take it as its own.
        m.tmpl_frames = u64::MAX;
        // SAFETY: m describes host memory of nframes frames with refcnt and free_heads arrays.
        unsafe {
            let root = ffi::gpuos_tmpl_new(m);
            if root == u64::MAX {
                return Err(oom());
            }
            self.image.map_segments(|map| {
                let done = match map {
                    loader::Mapping::Pages {
                        va,
                        bytes,
                        size,
                        flags,
                    } => ffi::gpuos_tmpl_map(
                        m,
                        root,
                        va,
                        bytes.as_ptr(),
                        bytes.len() as u64,
                        size,
                        pte_perm(flags),
                    ),
                    loader::Mapping::Zero { va, len, flags } => {
                        ffi::gpuos_tmpl_reserve(m, root, va, len, pte_perm(flags))
                    }
                };
                if done {
                    Ok(())
                } else {
                    Err(oom())
                }
            })?;
            let tramp: Vec<u8> = loader::SIGTRAMP_CODE
                .iter()
                .flat_map(|w| w.to_le_bytes())
                .collect();
            if !ffi::gpuos_tmpl_map(
                m,
                root,
                loader::SIGTRAMP,
                tramp.as_ptr(),
                tramp.len() as u64,
                4096,
                ffi::PTE_R | ffi::PTE_X,
            ) {
                return Err(oom());
            }
            m.sigtramp = loader::SIGTRAMP;
            let stack_lo = loader::STACK_TOP - loader::STACK_SIZE;
            if !ffi::gpuos_tmpl_reserve(
                m,
                root,
                stack_lo,
                loader::STACK_SIZE,
                ffi::PTE_R | ffi::PTE_W,
            ) {
                return Err(oom());
            }
            m.tmpl_root = root;
        }
        m.tmpl_frames = m.bump;
        m.stack_top = loader::STACK_TOP;
        m.stack_size = loader::STACK_SIZE;
        m.entry = self.image.entry;
        m.brk_start = self.image.brk;
        m.mmap_top = loader::MMAP_TOP;
        Ok(m.bump)
    }

    /// The stack images concatenated, with offsets (`nstacks + 1` entries).
    pub fn stack_blob(&self) -> (Vec<u8>, Vec<u64>) {
        let mut blob = Vec::new();
        let mut offs = vec![0u64];
        for s in &self.stacks {
            blob.extend_from_slice(&s.bytes);
            offs.push(blob.len() as u64);
        }
        (blob, offs)
    }
}

/// The per-process memory limits of a run whose frame pool has `nframes` frames, of
/// which `tmpl_frames` hold the image template, set in `m` (`MachineHdr::rss_limit` in
/// frames, `as_limit` in bytes). With `--mem-per-process BYTES` both are BYTES. By
/// default the resident limit is the lanes' fair share of the pool, (nframes -
/// tmpl_frames) / lanes frames, so that no lane's first process can take the frames
/// its neighbours need (children of a family have shares of their own), and RLIMIT_AS
/// is unlimited, as on Linux: lazy reservations cost no frames until touched.
pub fn mem_limits(cfg: &RunConfig, m: &mut MachineHdr, nframes: u64, tmpl_frames: u64) {
    let lanes = cfg.lanes.max(1) as u64;
    if cfg.mem_per_process > 0 {
        m.rss_limit = cfg.mem_per_process.div_ceil(PAGE_SIZE).max(1);
        m.as_limit = cfg.mem_per_process;
    } else {
        m.rss_limit = (nframes.saturating_sub(tmpl_frames) / lanes).max(1);
        m.as_limit = 0;
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

/// Replace `{lane}` in an argument by the lane index.
pub fn substitute_lane(arg: &OsString, lane: usize) -> OsString {
    let b = arg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"{lane}") {
            out.extend_from_slice(lane.to_string().as_bytes());
            i += 6;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    OsString::from_vec(out)
}

/// Reserve a host frame pool for `nframes` frames and point `m` at it.
pub struct HostPool {
    /// Frame bytes.
    pub frames: HostRegion,
    /// Reference counts.
    pub refcnt: HostRegion,
    /// Free-list heads (`u64[FREE_SHARDS]`).
    pub free: HostRegion,
}

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
fn lane_file_buffer(lanes: usize) -> usize {
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

impl HostPool {
    /// Reserve the pool (address space only; pages appear when touched).
    pub fn new(nframes: u64, m: &mut MachineHdr) -> Result<HostPool, RunError> {
        let err = |e: std::io::Error| RunError::Memory(e.to_string());
        let frames = HostRegion::new((nframes * PAGE_SIZE) as usize).map_err(err)?;
        let refcnt = HostRegion::new((nframes * 4) as usize).map_err(err)?;
        let free = HostRegion::new((FREE_SHARDS * 8) as usize).map_err(err)?;
        m.frames = frames.addr();
        m.nframes = nframes;
        m.refcnt = refcnt.addr();
        m.free_heads = free.addr(); // zeroed: every list empty
        m.bump = 0;
        Ok(HostPool {
            frames,
            refcnt,
            free,
        })
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
