//! The Machine API: what to run ([`RunConfig`]), what happened ([`RunReport`]), and
//! the preparation both backends share (loading the image, building its template and
//! the initial stacks, the per-process host services).

use crate::abi::{MachineHdr, FREE_SHARDS, PAGE_SIZE};
use crate::ffi;
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
    /// then captured and written to the real stdout/stderr when its process ends,
    /// rather than as it goes (as with `output_dir`).
    pub hash_every_lane: bool,
    /// Host threads for the CPU backend (0 = every core).
    pub threads: usize,
    /// Process slots for forked children, shared by all lanes (0 = the default,
    /// `procs::default_child_slots`); fork fails with EAGAIN when none is free.
    pub child_slots: usize,
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
            crate::procs::default_child_slots(self.lanes.max(1))
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
            output_dir: None,
            lane_dir: None,
            backend: BackendKind::Auto,
            mode: Mode::Persistent,
            verbose: false,
            passthrough: true,
            hash_every_lane: false,
            threads: 0,
            child_slots: 0,
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
    /// Captured stdout of lane 0 when it was not passed through.
    pub stdout0: Vec<u8>,
}

impl RunReport {
    /// Total guest instructions.
    pub fn instructions(&self) -> u64 {
        self.lanes.iter().map(|l| l.insns).sum()
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
    /// An I/O error on the host side (output directory...).
    #[error("{0}")]
    Io(#[from] std::io::Error),
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
        })
        .map_err(|e| RunError::Sandbox(e.to_string()))?;
        // Several copies each read their own copy of stdin; a run that does not pass
        // stdio through (the bench) gives the guests an empty stdin instead.
        let stdin_bytes = if cfg.lanes > 1 && cfg.passthrough {
            use std::io::{IsTerminal, Read};
            let mut v = Vec::new();
            if !std::io::stdin().is_terminal() {
                let _ = std::io::stdin().read_to_end(&mut v);
            }
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
    /// others read the shared stdin bytes and have their output captured or written to
    /// the output directory.
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
        } else if let Some(dir) = &cfg.output_dir {
            if (lane == 0 && cfg.passthrough) || !lane_files_fit(cfg.lanes) {
                // Written to the directory when the process ends (finish_lane).
                (Sink::Capture(Vec::new()), Sink::Capture(Vec::new()))
            } else {
                let o = std::fs::File::create(dir.join(format!("lane-{lane}.stdout")))?;
                let e = std::fs::File::create(dir.join(format!("lane-{lane}.stderr")))?;
                (Sink::File(o), Sink::File(e))
            }
        } else {
            (Sink::Capture(Vec::new()), Sink::Capture(Vec::new()))
        };
        let host = ProcHost::new(self.sandbox.clone(), stdin, out, err);
        Ok(match self.lane_cwd(cfg, lane)? {
            Some(dir) => host.with_cwd(dir),
            None => host,
        })
    }

    /// Lane `lane`'s working directory under `RunConfig::lane_dir`, created if missing
    /// (`mkdir -p`). The working directory is mounted at its own path, so the host path
    /// is also the guest's. Errors: the pattern is absolute or leaves the working
    /// directory (`RunError::Sandbox`), the directory cannot be made (`RunError::Io`).
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
        std::fs::create_dir_all(&dir)?;
        Ok(Some(dir))
    }

    /// Frames the template needs (an upper bound): the segments' pages plus tables.
    pub fn template_frames_bound(&self) -> u64 {
        let pages: u64 = self
            .image
            .segments
            .iter()
            .map(|s| (s.memsz + 2 * PAGE_SIZE) / PAGE_SIZE)
            .sum();
        pages + 64
    }

    /// Build the template's page tables and frames in the pool of `m` (host memory),
    /// and fill the layout fields of `m`. Returns the number of frames used.
    pub fn build_template(&self, m: &mut MachineHdr) -> Result<u64, RunError> {
        let oom = || RunError::Memory("frame pool too small for the program image".into());
        // SAFETY: m describes host memory of nframes frames with refcnt and free_heads arrays.
        unsafe {
            let root = ffi::gpuos_tmpl_new(m);
            if root == u64::MAX {
                return Err(oom());
            }
            for s in &self.image.segments {
                let mut perm = 0;
                if s.flags & object::elf::PF_R != 0 {
                    perm |= ffi::PTE_R;
                }
                if s.flags & object::elf::PF_W != 0 {
                    perm |= ffi::PTE_W | ffi::PTE_R;
                }
                if s.flags & object::elf::PF_X != 0 {
                    perm |= ffi::PTE_X | ffi::PTE_R;
                }
                if !ffi::gpuos_tmpl_map(
                    m,
                    root,
                    s.vaddr,
                    s.data.as_ptr(),
                    s.data.len() as u64,
                    s.memsz,
                    perm,
                ) {
                    return Err(oom());
                }
            }
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

/// Whether every lane's `--output-dir` files can stay open for the whole run: two per
/// lane, within the open-file limit (getrlimit(2) RLIMIT_NOFILE, soft) less a reserve
/// for the guests' own files. When they cannot (100,000 lanes against a limit of 20,000
/// on the GPU machine), each lane's stdout and stderr are kept in memory, as without
/// `--output-dir`, and written to its files when it ends: the guest then sees a pipe,
/// not a regular file, on fd 1 and 2.
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
