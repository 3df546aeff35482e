//! Preparing a run, shared by every backend: loading the program and its interpreter,
//! the initial stacks of every lane, the sandbox and stdin, building the image
//! template into a frame pool, and each lane's host side (its descriptors, streams and
//! working directory).

use crate::abi::{FileMap, MachineHdr, TMPL_FMAPS};
use crate::ffi;
use crate::host::output::{LaneFile, OutStream};
use crate::host::{ExecAt, Mount, ProcHost, Sandbox, SandboxConfig, Sink, Source};
use crate::lane::{lane_file_buffer, lane_files_fit, lane_sees_files, STDOUT0_KEEP};
use crate::loader::{self, Exec, StackImage};
use crate::machine::{MemoryError, RunConfig, RunError, SandboxError};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::Arc;

/// How a lane's first process starts.
pub enum LaneStart {
    /// From the image template, with this initial stack.
    Stack(StackImage),
    /// Another program (a job of `--jobs`): its load plan and stack
    /// (kernel/sys/exec_image.h), mapped by the device as an execve's.
    Plan(Vec<u8>),
}

/// The first word of a [`LaneStart::Plan`]'s start image (kernel/proc/proc.h,
/// START_PLAN_MAGIC: "GPUOSPLN").
const START_PLAN_MAGIC: u64 = 0x4e4c_5053_4f55_5047;

/// File ranges `v` with [lo, hi) taken out (kernel/sys/fmap.h `fmap_cut`).
fn fmap_cut(v: Vec<FileMap>, lo: u64, hi: u64) -> Vec<FileMap> {
    let mut out = Vec::with_capacity(v.len() + 1);
    for e in v {
        if e.end <= lo || e.start >= hi {
            out.push(e);
            continue;
        }
        if e.start < lo {
            out.push(FileMap { end: lo, ..e });
        }
        if e.end > hi {
            let offset = e.offset + (hi - e.start);
            out.push(FileMap {
                start: hi,
                offset,
                ..e
            });
        }
    }
    out
}

/// A job's lane: its working directory and program (`--jobs`).
struct JobLane {
    cwd: Option<PathBuf>,
    exe: Vec<u8>,
}

/// Loaded program, template-ready, with the stack images of every lane.
pub struct Prepared {
    /// The program and its interpreter.
    pub exec: Exec,
    /// Start images; lane `l` uses `stacks[l % stacks.len()]`.
    pub stacks: Vec<LaneStart>,
    /// Per lane, for a job list (`RunConfig::jobs`); empty otherwise.
    jobs: Vec<JobLane>,
    /// The sandbox shared by all lanes.
    pub sandbox: Arc<Sandbox>,
    /// stdin contents for lanes other than a passed-through lane 0.
    pub stdin_bytes: Option<Arc<Vec<u8>>>,
    /// The run's private /tmp, when it has one ([`PrivateTmp`]).
    _tmp: Option<PrivateTmp>,
}

/// With `--private-tmp`, the guests' /tmp is a directory of their own, writable, made
/// for the run (in the host's temporary directory) and removed with everything in it
/// when the run ends, as a container's tmpfs: a system root's /tmp is where its
/// programs put their scratch files (`sort`, `tac`, python's tempfile), and the host's
/// /tmp is then neither theirs to write nor to see (paths below it other than the
/// working directory and mounts are hidden). A `--mount` at /tmp takes its place.
struct PrivateTmp(PathBuf);

impl PrivateTmp {
    /// The run's /tmp and its mount, for `cfg` (None: not asked for, or a mount at /tmp).
    /// The working directory and the mounts below /tmp stay where they are: their
    /// parent directories are made in the private /tmp, so that the guest's path walk
    /// reaches them.
    fn for_run(
        cfg: &RunConfig,
        cwd: &std::path::Path,
    ) -> Result<Option<(PrivateTmp, Mount)>, RunError> {
        let tmp = std::path::Path::new("/tmp");
        if !cfg.private_tmp || cfg.mounts.iter().any(|m| m.guest == tmp) {
            return Ok(None);
        }
        let mut r = [0u8; 8];
        let _ = getrandom::getrandom(&mut r);
        let name = format!(
            "gpuos-tmp-{}-{:016x}",
            std::process::id(),
            u64::from_le_bytes(r)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir(&dir).map_err(|e| RunError::at("private /tmp", &dir, e))?;
        let below = cfg.mounts.iter().map(|m| m.guest.as_path()).chain([cwd]);
        for rel in below.filter_map(|g| g.strip_prefix(tmp).ok()) {
            std::fs::create_dir_all(dir.join(rel))
                .map_err(|e| RunError::at("private /tmp", &dir, e))?;
        }
        let mount = Mount {
            host: dir.clone(),
            guest: tmp.to_path_buf(),
            writable: true,
        };
        Ok(Some((PrivateTmp(dir), mount)))
    }
}

impl Drop for PrivateTmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The run's mounts: `cfg`'s and its private /tmp ([`PrivateTmp`]).
fn run_mounts(
    cfg: &RunConfig,
    cwd: &std::path::Path,
) -> Result<(Vec<Mount>, Option<PrivateTmp>), RunError> {
    let mut mounts = cfg.mounts.clone();
    let tmp = PrivateTmp::for_run(cfg, cwd)?.map(|(t, m)| {
        mounts.push(m);
        t
    });
    Ok((mounts, tmp))
}

impl Prepared {
    /// Whether lanes run jobs of a `--jobs` list (each lane its own program).
    pub(crate) fn has_jobs(&self) -> bool {
        !self.jobs.is_empty()
    }

    /// Load the program (a host path) and its interpreter (looked up in the sandbox,
    /// from the working directory), and build what every backend needs.
    pub fn new(cfg: &RunConfig) -> Result<Prepared, RunError> {
        if !cfg.jobs.is_empty() {
            return Prepared::for_jobs(cfg);
        }
        let cwd = std::env::current_dir()?;
        // With a sysroot, an absolute PROGRAM is looked up as the guest's execve would
        // look it up (the sysroot first): `--sysroot DIR /usr/bin/python3` runs DIR's
        // python3 with argv[0] /usr/bin/python3 (qemu-user's -L would run the host's).
        let in_sandbox = cfg.sysroot.is_some() && cfg.program.is_absolute();
        let exe = if in_sandbox {
            cfg.program.clone()
        } else {
            std::fs::canonicalize(&cfg.program).unwrap_or_else(|_| cfg.program.clone())
        };
        let (mounts, tmp) = run_mounts(cfg, &cwd)?;
        let sandbox = Sandbox::new(SandboxConfig {
            mounts,
            cwd,
            exe,
            hide: cfg.hide.clone(),
            sysroot: cfg.sysroot.clone(),
        })
        .map_err(SandboxError::Setup)?;
        let program = if in_sandbox {
            let (file, guest) = sandbox
                .open_exec(sandbox.initial_cwd(), cfg.program.as_os_str().as_bytes())
                .map_err(|e| loader::LoadError::Io {
                    path: cfg.program.clone(),
                    source: std::io::Error::from_raw_os_error(e.0),
                })?;
            let mut program = loader::load_file(&cfg.program, file)?;
            program.guest = Some(guest);
            program
        } else {
            let mut program = loader::load(&cfg.program)?;
            program.guest = Some(sandbox.exe().to_path_buf());
            program
        };
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
                LaneStart::Stack(loader::build_stack(
                    &exec, &argv, &cfg.envp, &execfn, random,
                ))
            })
            .collect();
        let prep = Prepared {
            exec,
            stacks,
            jobs: Vec::new(),
            sandbox: Arc::new(sandbox),
            stdin_bytes: stdin_bytes(cfg),
            _tmp: tmp,
        };
        // A bad --lane-dir is refused before anything runs (lanes make theirs as they
        // start).
        prep.lane_cwd(cfg, 0)?;
        Ok(prep)
    }

    /// A job list (`RunConfig::jobs`): lane i runs job i. Each job's program is looked
    /// up as execve(2) looks it up, from the job's working directory (the sysroot first
    /// for an absolute path; a `#!` script runs its interpreter). The first job's
    /// program is the image template: the lanes of jobs that run the same file start
    /// from it, the others from a load plan that the device maps as an execve's
    /// (kernel/sys/exec_image.h), so every job shares only the file pages it has in
    /// common with others. Errors name the job's line.
    fn for_jobs(cfg: &RunConfig) -> Result<Prepared, RunError> {
        let cwd = std::env::current_dir()?;
        let (mounts, tmp) = run_mounts(cfg, &cwd)?;
        let sandbox = Arc::new(
            Sandbox::new(SandboxConfig {
                mounts,
                cwd: cwd.clone(),
                exe: cwd.join(&cfg.jobs[0].argv[0]),
                hide: cfg.hide.clone(),
                sysroot: cfg.sysroot.clone(),
            })
            .map_err(SandboxError::Setup)?,
        );
        let bytes =
            |v: &[OsString]| -> Vec<Vec<u8>> { v.iter().map(|a| a.as_bytes().to_vec()).collect() };
        let os = |v: &[Vec<u8>]| -> Vec<OsString> {
            v.iter().map(|a| OsString::from_vec(a.clone())).collect()
        };
        let mut random = [0u8; 16];
        let _ = getrandom::getrandom(&mut random);
        let mut template: Option<(Exec, (u64, u64))> = None;
        let mut stacks = Vec::with_capacity(cfg.jobs.len());
        let mut jobs = Vec::with_capacity(cfg.jobs.len());
        for (lane, job) in cfg.jobs.iter().enumerate() {
            let fail =
                |why: String| RunError::Config(format!("job {} ({}): {why}", lane + 1, job.line));
            let dir = match &job.cwd {
                Some(p) => Some(lane_dir(&sandbox, p, lane).map_err(|e| fail(e.to_string()))?),
                None => None,
            };
            let mut h = ProcHost::new(sandbox.clone(), Source::Null, Sink::kept(), Sink::kept());
            if let Some(d) = &dir {
                h = h.with_cwd(d.clone());
            }
            let argv0 = job.argv[0].as_bytes();
            let cannot = |e: crate::host::errno::Errno| {
                fail(format!(
                    "cannot execute {}: {}",
                    job.argv[0].to_string_lossy(),
                    crate::host::errno::name(i64::from(e.0)).unwrap_or("error")
                ))
            };
            let run = h.exec_resolve(argv0, &bytes(&job.argv)).map_err(cannot)?;
            let (argv, execfn) = (os(&run.argv), argv0);
            if template.is_none() {
                let (file, guest) = h.open_program_at(ExecAt::CWD, &run.file).map_err(cannot)?;
                let name = PathBuf::from(OsString::from_vec(run.file.clone()));
                let mut program = loader::load_file(&name, file)?;
                program.guest = Some(guest);
                let base = dir.clone().unwrap_or_else(|| cwd.clone());
                template = Some((Exec::new(program, &sandbox, &base)?, run.id));
            }
            let Some((exec, id)) = &template else {
                unreachable!()
            };
            let start = if run.id == *id {
                LaneStart::Stack(loader::build_stack(exec, &argv, &cfg.envp, execfn, random))
            } else {
                let mut out = vec![0u8; (crate::layout::MIN_BUF_SIZE - 8) as usize];
                let n = h
                    .exec_plan(run.at, &run.file, &argv, &cfg.envp, execfn, &mut out)
                    .map_err(cannot)?;
                out.truncate(n);
                LaneStart::Plan(out)
            };
            stacks.push(start);
            jobs.push(JobLane {
                cwd: dir,
                exe: run.file,
            });
        }
        let Some((exec, _)) = template else {
            return Err(RunError::Config("no jobs".into()));
        };
        Ok(Prepared {
            exec,
            stacks,
            jobs,
            sandbox,
            stdin_bytes: stdin_bytes(cfg),
            _tmp: tmp,
        })
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
        let mut host = ProcHost::new(self.sandbox.clone(), stdin, out, err);
        if let Some(job) = self.jobs.get(lane) {
            if let Some(dir) = &job.cwd {
                host = host.with_cwd(dir.clone());
            }
            host.set_exe(Some(&job.exe));
            return Ok(host);
        }
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
        lane_dir(&self.sandbox, pattern, lane).map(Some)
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
            m.tmpl_pages = ffi::gpuos_tmpl_pages(m, root);
        }
        m.tmpl_frames = m.bump;
        self.template_fmaps(m);
        m.stack_top = loader::STACK_TOP;
        m.stack_size = loader::STACK_SIZE;
        m.entry = self.exec.entry();
        m.comm = comm_of(&self.exec.program.path);
        m.brk_start = self.exec.brk();
        m.mmap_top = self.exec.mmap_top();
        Ok(m.bump)
    }

    /// The template's file ranges (`MachineHdr::tmpl_fmaps`, kernel/sys/fmap.h): each
    /// segment's file pages, named by the file's identity (registered here, as an
    /// execve's load plan registers its files), in the order the template maps them, a
    /// later one replacing what an earlier one named on the pages they share. A file
    /// that cannot be registered, or ranges past `TMPL_FMAPS`, go unnamed.
    fn template_fmaps(&self, m: &mut MachineHdr) {
        let mut v: Vec<FileMap> = Vec::new();
        for img in self.exec.images() {
            let Some(file) = img.file() else { continue };
            let name = img.guest.as_deref().unwrap_or(&img.path);
            let files = self.sandbox.mapped_files();
            let Ok(id) = files.identify_open(file.clone(), name) else {
                continue;
            };
            for s in img.segments.iter().filter(|s| s.file_end() > s.start()) {
                let (lo, hi) = (s.start(), s.file_end());
                v = fmap_cut(v, lo, hi);
                v.push(FileMap {
                    start: lo,
                    end: hi,
                    offset: s.page_offset(),
                    file: id,
                    flags: 0,
                });
            }
        }
        v.truncate(TMPL_FMAPS);
        m.tmpl_fmaps[..v.len()].copy_from_slice(&v);
        m.tmpl_nfmaps = v.len() as u64;
    }

    /// The stack images concatenated, with offsets (`nstacks + 1` entries).
    pub fn stack_blob(&self) -> (Vec<u8>, Vec<u64>) {
        let mut blob = Vec::new();
        let mut offs = vec![0u64];
        for s in &self.stacks {
            match s {
                LaneStart::Stack(st) => blob.extend_from_slice(&st.bytes),
                LaneStart::Plan(plan) => {
                    blob.extend_from_slice(&START_PLAN_MAGIC.to_le_bytes());
                    blob.extend_from_slice(plan.as_slice());
                }
            }
            offs.push(blob.len() as u64);
        }
        (blob, offs)
    }
}

/// The directory `pattern` with `{lane}` replaced by `lane`, below the sandbox's
/// working directory, created if missing (see [`Prepared::lane_cwd`]).
fn lane_dir(sandbox: &Sandbox, pattern: &OsString, lane: usize) -> Result<PathBuf, RunError> {
    let rel = PathBuf::from(substitute_lane(pattern, lane));
    let cwd = sandbox.initial_cwd();
    let dir = crate::host::normalize(&cwd.join(&rel));
    if rel.is_absolute() || !dir.starts_with(cwd) || dir == cwd {
        return Err(SandboxError::LaneDirOutside(rel).into());
    }
    let rel = dir.strip_prefix(cwd).unwrap_or(&rel).to_path_buf();
    sandbox.make_dir_below_cwd(&rel).map_err(|why| {
        SandboxError::LaneDir {
            path: rel.clone(),
            why,
        }
        .into()
    })
}

/// stdin contents for lanes other than a passed-through lane 0: several copies each
/// read their own copy of stdin; a run that does not pass stdio through (the bench)
/// gives the guests an empty stdin instead.
fn stdin_bytes(cfg: &RunConfig) -> Option<Arc<Vec<u8>>> {
    if cfg.lanes > 1 && cfg.passthrough {
        use std::io::IsTerminal;
        let v = if std::io::stdin().is_terminal() {
            Vec::new()
        } else {
            crate::host::read_host_stdin()
        };
        Some(Arc::new(v))
    } else {
        None
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

/// A process's name for the program file at `path` (Linux's comm: the file name's first
/// 15 bytes, NUL-padded; "gpuos-guest" for a path without one).
fn comm_of(path: &std::path::Path) -> [u8; 16] {
    use std::os::unix::ffi::OsStrExt;
    let name = path
        .file_name()
        .map_or(&b"gpuos-guest"[..], |n| n.as_bytes());
    let mut c = [0u8; 16];
    let n = name.len().min(15);
    c[..n].copy_from_slice(&name[..n]);
    c
}
