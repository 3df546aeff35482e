//! Preparing a run, shared by every backend: loading the program and its interpreter,
//! the initial stacks of every lane, the sandbox and stdin, building the image
//! template into a frame pool, and each lane's host side (its descriptors, streams and
//! working directory).

use crate::abi::MachineHdr;
use crate::ffi;
use crate::host::output::{LaneFile, OutStream};
use crate::host::{ProcHost, Sandbox, SandboxConfig, Sink, Source};
use crate::lane::{lane_file_buffer, lane_files_fit, lane_sees_files, STDOUT0_KEEP};
use crate::loader::{self, Exec, StackImage};
use crate::machine::{MemoryError, RunConfig, RunError, SandboxError};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::Arc;

/// Loaded program, template-ready, with the stack images of every lane.
pub struct Prepared {
    /// The program and its interpreter.
    pub exec: Exec,
    /// Stack images; lane `l` uses `stacks[l % stacks.len()]`.
    pub stacks: Vec<StackImage>,
    /// The sandbox shared by all lanes.
    pub sandbox: Arc<Sandbox>,
    /// stdin contents for lanes other than a passed-through lane 0.
    pub stdin_bytes: Option<Arc<Vec<u8>>>,
}

impl Prepared {
    /// Load the program (a host path) and its interpreter (looked up in the sandbox,
    /// from the working directory), and build what every backend needs.
    pub fn new(cfg: &RunConfig) -> Result<Prepared, RunError> {
        let program = loader::load(&cfg.program)?;
        let cwd = std::env::current_dir()?;
        let exe = std::fs::canonicalize(&cfg.program).unwrap_or_else(|_| cfg.program.clone());
        let sandbox = Sandbox::new(SandboxConfig {
            mounts: cfg.mounts.clone(),
            cwd,
            exe,
            hide: cfg.hide.clone(),
            sysroot: cfg.sysroot.clone(),
        })
        .map_err(SandboxError::Setup)?;
        let exec = Exec::new(program, &sandbox, sandbox.initial_cwd())?;
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
                loader::build_stack(&exec, &argv, &cfg.envp, &execfn, random)
            })
            .collect();
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
            exec,
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
            return Err(SandboxError::LaneDirOutside(rel).into());
        }
        let rel = dir.strip_prefix(cwd).unwrap_or(&rel).to_path_buf();
        let made = self
            .sandbox
            .make_dir_below_cwd(&rel)
            .map_err(|why| SandboxError::LaneDir {
                path: rel.clone(),
                why,
            })?;
        Ok(Some(made))
    }

    /// Frames the template needs (an upper bound): the program's and the interpreter's
    /// file pages and page tables (`Exec::frames_bound`), plus the root, the stack's
    /// and the signal trampoline's tables and page. Not the .bss: its pages are lazily
    /// allocated.
    pub fn template_frames_bound(&self) -> u64 {
        self.exec.frames_bound() + 64
    }

    /// Build the template's page tables and frames in the pool of `m` (host memory):
    /// the program's segments, then the interpreter's, the signal trampoline and the
    /// stack; and fill the layout fields of `m` (the entry is the interpreter's when
    /// there is one, the break after the program, the mmap area below the
    /// interpreter). Returns the number of frames used.
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
        let oom = || RunError::from(MemoryError::TemplateTooLarge);
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
            self.exec.map_segments(|map| {
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
        m.entry = self.exec.entry();
        m.brk_start = self.exec.brk();
        m.mmap_top = self.exec.mmap_top();
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
