//! Tier 2: the image's hot code translated to C++ and compiled (docs/ARCHITECTURE.md,
//! "Tier 2"). The interpreter (kernel/exec.h) counts block entries per image-template
//! instruction slot (`MachineHdr::t2_counts`); this module picks the hot block starts,
//! generates one C++ function per block calling the decode table's handlers ([`gen`]),
//! and, on the CPU backend, compiles the source with the host C++ compiler into a shared
//! object, cached on disk by the image's content, the core's source and the compiler,
//! and publishes its entry (`MachineHdr::t2_enter`), which lanes pick up at their next
//! slice; on the GPU backend, compiles the core again with the same generated source in
//! it (NVRTC, `-DGPUOS_TIER2=1`) into a CUBIN, cached likewise, which the backend swaps
//! in at a safe point ([`Tier2::take_cubin`]).

pub mod emit;
pub mod gen;
pub mod regions;

use crate::abi::MachineHdr;
use crate::ffi;
use crate::machine::{BackendError, RunError};
use crate::prepare::Prepared;
use gen::{Block, Code};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use crate::machine::Translate;

/// Entries of a block start before `--translate auto` translates it.
pub const AUTO_THRESHOLD: u32 = 1000;
/// How many direct edges (`gen::direct_successors`) away from a hot block start a
/// block is translated too, on a code page where the profile counted an entry. Copies
/// of a program with other inputs (a parameter sweep, a seed per lane) take the other
/// arm of branches the profiled run never took; interpreted, those blocks cost the
/// warp most of its time (the H200 profile of CoreMark with a seed per lane: 7 % of the
/// guest instructions interpreted, over half of the GPU's time in the interpreter).
/// `GPUOS_T2_SUCCESSOR_DEPTH` overrides it (0: the profile's blocks only), to measure;
/// it is part of the cache key.
pub const SUCCESSOR_DEPTH: u32 = 3;

/// The successor depth of this process's translations (see [`SUCCESSOR_DEPTH`]).
fn successor_depth() -> u32 {
    std::env::var("GPUOS_T2_SUCCESSOR_DEPTH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SUCCESSOR_DEPTH)
}
/// The region size of this process's translations for a GPU (`gpu`) or the host (see
/// [`regions::REGION_BLOCKS_GPU`], [`regions::REGION_BLOCKS`]); `GPUOS_T2_REGION_BLOCKS`
/// overrides both.
pub(crate) fn region_blocks(gpu: bool) -> usize {
    std::env::var("GPUOS_T2_REGION_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if gpu {
            regions::REGION_BLOCKS_GPU
        } else {
            regions::REGION_BLOCKS
        })
}

/// What a translation's key holds besides the image and its target (a GPU's or the
/// host's, `gpu`): the knobs that shape which blocks it has and how they are grouped.
fn shape_key(h: &mut Sha256, gpu: bool) {
    h.update(
        format!(
            "successor depth {}, region blocks {}",
            successor_depth(),
            region_blocks(gpu)
        )
        .as_bytes(),
    );
}
/// How often the background translator looks at the profile.
const POLL: Duration = Duration::from_millis(100);
/// With `--translate auto` on the CPU backend, how long a run goes on interpreted
/// before the translator compiles anything: the host compiler takes seconds to minutes
/// for a program's hot blocks (and takes cores from the lanes meanwhile), so only
/// runs that last longer than this gain from it. `GPUOS_T2_AUTO_AFTER_MS` overrides
/// it.
pub const AUTO_HOST_AFTER: Duration = Duration::from_secs(5);

/// How long a run goes on before its first translation, by target (see
/// [`AUTO_HOST_AFTER`]): none with `always`, nor on the GPU (whose first look waits
/// for [`POLL_GPU_QUICK`] or [`POLL_GPU`]).
fn auto_after(mode: Translate, target: &Target) -> Duration {
    if mode != Translate::Auto || !matches!(target, Target::Host { .. }) {
        return Duration::ZERO;
    }
    std::env::var("GPUOS_T2_AUTO_AFTER_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(AUTO_HOST_AFTER, Duration::from_millis)
}
/// The same on the GPU, where a compile takes a minute or two (the whole core): a
/// first look after the program's start-up has had time to show its hot code.
const POLL_GPU: Duration = Duration::from_secs(2);
/// The same when the GPU's translations are compiled quick first (seconds each): a
/// translation soon, extended as more code becomes hot.
const POLL_GPU_QUICK: Duration = Duration::from_secs(1);
/// Options of every compile (part of the cache key).
const CXX_FLAGS: &[&str] = &[
    "-std=c++17",
    "-O2",
    "-fno-exceptions",
    "-fno-rtti",
    "-fno-strict-aliasing",
    "-DGPUOS_T2_UNIT",
    "-w",
    "-shared",
    "-fPIC",
];
/// Extra options of every host compile from `GPUOS_T2_CXXFLAGS` (space-separated; part
/// of the cache key): testing aids such as `-DGPUOS_T2_FORCE_SCHED`, which sends every
/// jump of a region through its warp scheduler (kernel/tier2/tier2.h), the path that a
/// lone host lane never takes otherwise.
fn extra_cxx_flags() -> Vec<String> {
    std::env::var("GPUOS_T2_CXXFLAGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect()
}
/// The handlers and what they use, amalgamated by build.rs from kernel/tier2/unit.h.
const PRELUDE: &str = include_str!(concat!(env!("OUT_DIR"), "/t2_prelude.cpp"));

/// The host C++ compiler (`$GPUOS_CXX`, else `c++`) and its `--version` line, or None
/// when it does not run.
fn compiler() -> Option<(String, String)> {
    let cxx = std::env::var("GPUOS_CXX").unwrap_or_else(|_| "c++".into());
    let out = Command::new(&cxx).arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let id = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    Some((cxx, id))
}

/// Where a translation runs, and so how it is built and loaded.
pub enum Target {
    /// The CPU backend: a shared object built by the host C++ compiler, loaded with
    /// libloading and called through `MachineHdr::t2_enter`.
    Host {
        /// The compiler's command.
        cxx: String,
    },
    /// A GPU of compute capability `arch` ("sm_90"): the core rebuilt by NVRTC with the
    /// blocks compiled in (a CUBIN); the backend launches its kernels instead of the
    /// plain core's.
    Gpu {
        /// The NVRTC architecture.
        arch: String,
    },
}

/// The profile's counters (one `u32` per template instruction slot).
enum Profile {
    /// CPU backend: in host memory, counted by the lanes' threads.
    Host(Vec<AtomicU32>),
    /// GPU: in device memory; the function copies them into the slice, or returns false
    /// once the run has ended (the memory is gone).
    Device(ProfileReader),
}

/// Reads a GPU run's profile counters into the slice (see [`Profile::Device`]).
pub type ProfileReader = Box<dyn Fn(&mut [u32]) -> bool + Send + Sync>;

/// What a run's translator did, for `--verbose`.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Blocks in the translation in use at the end.
    pub blocks: usize,
    /// Whether the run started from a cached translation.
    pub cache_hit: bool,
    /// Compiles done and their total wall time in seconds.
    pub compiles: u32,
    /// Wall seconds spent compiling.
    pub compile_s: f64,
    /// GPU: translated cores swapped in while the lanes ran.
    pub swaps: u32,
    /// GPU: of `compiles`, those with the quick core's options (`GPUOS_QUICK_CORE`):
    /// a translation in use within seconds, recompiled optimised once the profile
    /// shows nothing new.
    pub quick: u32,
}

struct State {
    /// Block starts of the published translation.
    starts: BTreeSet<u64>,
    /// Hot starts with no translatable block (an unallocated first instruction).
    rejected: BTreeSet<u64>,
    /// Every translation loaded in this run: lanes may still run any of them.
    libs: Vec<libloading::Library>,
    /// A compile failed: no more attempts in this run.
    failed: Option<String>,
    /// Number of the next compile of this run (unique file names).
    seq: u32,
    /// GPU: the published translation was compiled quick; its source and block starts,
    /// for the optimised compile that replaces it ([`Tier2::optimise`]).
    quick: Option<(String, Vec<u64>)>,
}

/// The translator of one run.
pub struct Tier2 {
    mode: Translate,
    target: Target,
    /// Cache file stem: image, core source and compiler.
    key: String,
    dir: PathBuf,
    /// The image's executable segments (address, file bytes).
    code: CodeSegments,
    /// Profile: one counter per template instruction slot (`MachineHdr::t2_counts`).
    counts: Profile,
    /// Length of the profile (template frames x 1024).
    ncounts: usize,
    /// (template frame, page address) of every executable page of the image.
    pages: Vec<(u64, u64)>,
    state: Mutex<State>,
    /// What it did; apart from `state`, which a compile holds for its whole length.
    stats: Mutex<Stats>,
    /// GPU: the newest translated core not yet taken by the backend. Apart from
    /// `state` too: the optimised compile that follows a quick one holds `state` for
    /// minutes, and the quick translation must be taken meanwhile (the twenty-sixth
    /// session found it never swapped in while it sat in `state`).
    cubin: Mutex<Option<Vec<u8>>>,
}

/// Publish a translation's entry to the lanes (read once per slice by kernel/exec.h).
///
/// # Safety
/// `m` points at the run's live MachineHdr.
unsafe fn publish(m: *mut MachineHdr, entry: u64) {
    // SAFETY: t2_enter is an aligned u64 that the lanes read atomically.
    unsafe { AtomicU64::from_ptr(&raw mut (*m).t2_enter).store(entry, Ordering::Release) };
}

/// Executable segments: (guest address, file bytes).
type CodeSegments = Vec<(u64, Vec<u8>)>;

/// A GPU run's side of its translator: where the profile is and what the translation
/// is compiled into.
pub struct GpuProfile {
    /// The NVRTC architecture ("sm_90").
    pub arch: String,
    /// What names the core (`backend::cuda::core_key`).
    pub core_key: String,
    /// (template frame, page address) of the image's executable pages ([`code_pages`]).
    pub pages: Vec<(u64, u64)>,
    /// Counters of the profile: the template's frames x 1024.
    pub ncounts: usize,
    /// Copies them from device memory.
    pub read: ProfileReader,
}

/// The image's executable segments (address, file bytes) and the SHA-256 of everything
/// that names it (entry, every segment's address, size, flags and bytes), for cache keys.
fn image_code(prep: &Prepared) -> Result<(CodeSegments, Sha256), RunError> {
    let segments: Vec<&crate::loader::Segment> =
        prep.exec.images().flat_map(|i| &i.segments).collect();
    let bytes: Vec<Vec<u8>> = prep
        .exec
        .images()
        .flat_map(|i| i.segments.iter().map(move |s| i.segment_bytes(s)))
        .collect::<Result<_, _>>()?;
    let mut h = Sha256::new();
    // The generator's own source: a translation made by another version of it may
    // differ.
    h.update(include_str!("gen.rs").as_bytes());
    h.update(include_str!("emit.rs").as_bytes());
    h.update(include_str!("regions.rs").as_bytes());
    h.update(prep.exec.entry().to_le_bytes());
    for (s, b) in segments.iter().zip(&bytes) {
        h.update(s.vaddr.to_le_bytes());
        h.update(s.memsz.to_le_bytes());
        h.update(s.flags.to_le_bytes());
        h.update((b.len() as u64).to_le_bytes());
        h.update(b);
    }
    let code = segments
        .iter()
        .zip(bytes)
        .filter(|(s, _)| s.flags & object::elf::PF_X != 0)
        .map(|(s, b)| (s.vaddr, b))
        .collect();
    Ok((code, h))
}

/// (template frame, page address) of every executable page of the image, looked up in
/// the template of `m` (built in host memory: the CPU backend's, or the GPU backend's
/// staging copy before it goes to the device).
pub fn code_pages(prep: &Prepared, m: &MachineHdr) -> Vec<(u64, u64)> {
    let mut pages = Vec::new();
    let m = m as *const MachineHdr as *mut MachineHdr;
    for s in prep
        .exec
        .images()
        .flat_map(|i| &i.segments)
        .filter(|s| s.flags & object::elf::PF_X != 0)
    {
        let mut va = s.vaddr & !0xfff;
        while va < s.vaddr + s.memsz {
            // SAFETY: m is a machine with its template built in host memory; the walk
            // only reads it.
            let f = unsafe { ffi::gpuos_tmpl_frame(m, va) };
            // SAFETY: as above.
            if f < unsafe { (*m).tmpl_frames } {
                pages.push((f, va));
            }
            va += 0x1000;
        }
    }
    pages
}

/// Complete an image's key for a GPU translation: the core it is compiled into.
/// In the forked compile child (`compile_gpu`): let go of every descriptor inherited
/// from gpuos. Its stdout and stderr become /dev/null, so that a pipe reading gpuos's
/// output (`gpuos run ... | grep`) sees its end when gpuos exits, not minutes later when
/// the child's compile does; every other descriptor (guest files, pipes, sockets, the
/// CUDA driver's) is closed (close_range(2), else one close(2) per possible descriptor),
/// so that no peer waits on the child for an end of file either.
fn detach_fds() {
    // SAFETY: plain descriptor calls in the child, on descriptors it owns.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
        }
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) != 0 {
            let mut lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            let top = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                lim.rlim_cur.min(1 << 20) as i32
            } else {
                1024
            };
            for fd in 3..top {
                libc::close(fd);
            }
        }
    }
}

/// Whether GPU translations are compiled quick first by default (see
/// [`Tier2::background`]), with the step core's options (NVRTC `-Ofc=mid
/// -split-compile=0`: seconds instead of minutes; its interpreter within 5 % of the
/// optimised core's on the H100, twenty-fifth session; the fastest level, `-Ofc=max`, the quick core's, ran it 11.8x
/// slower). On: H100, twenty-sixth session, 16,384 x bench_int 1500 from no
/// translation: the quick one (178 blocks, 26.7 s of NVRTC on the GPU machine) ran
/// from 30 s on, the run took 77.1 s instead of 100.4 s, every lane's output qemu's.
/// `GPUOS_T2_QUICK=0` compiles the optimised translation at once.
pub const QUICK_FIRST: bool = true;

/// The NVRTC options of a GPU translation's quick compile, or None to compile it
/// optimised at once: `GPUOS_T2_QUICK` "1"/"on" or "0"/"off", else [`QUICK_FIRST`];
/// the options are the step core's (`backend::cuda::step_opts`), or the quick core's
/// where the step core is off.
fn quick_first() -> Option<Vec<String>> {
    crate::backend::cuda::env_switch("GPUOS_T2_QUICK", QUICK_FIRST)
        .then(|| crate::backend::cuda::step_opts().unwrap_or_else(crate::backend::cuda::fast_opts))
}

/// Take the compile lock at `path` (a file holding the compiling process's pid): at most
/// one background GPU compile of an image at a time across runs, since one that has not
/// finished when its run ends goes on for the cache (many short runs of one program
/// would otherwise each leave an NVRTC process of a gigabyte or more behind). False
/// while a live process holds it; a holder that died leaves a stale lock, taken over.
/// A lock that cannot be made at all (an unwritable cache) does not stop the compile.
/// The core's compiles use it too (backend/cuda/compile.rs).
pub(crate) fn take_lock(path: &Path) -> bool {
    for _ in 0..2 {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
        {
            Ok(mut f) => {
                use std::io::Write;
                let _ = write!(f, "{}", std::process::id());
                return true;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if lock_held(path) {
                    return false;
                }
                let _ = std::fs::remove_file(path);
            }
            Err(_) => return true,
        }
    }
    false
}

/// Whether a live process holds the compile lock at `path` (see [`take_lock`]).
fn lock_held(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    match text.trim().parse::<i32>() {
        // SAFETY: signal 0 only probes whether the process exists.
        Ok(p) => p > 0 && unsafe { libc::kill(p, 0) } == 0,
        // Made but not yet written by its taker: held, unless it is old.
        Err(_) => std::fs::metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|e| e < Duration::from_secs(60))),
    }
}

/// Lower this process's scheduling priority to the least (nice 19): a translation is
/// compiled with the cores the run leaves idle (on a machine of few cores, lanes of the
/// CPU backend keep theirs; a GPU run's host service threads keep theirs).
fn background_priority() {
    // SAFETY: nice(2) changes only this process's priority; its result is not needed.
    unsafe {
        libc::nice(19);
    }
}

fn gpu_key(h: &mut Sha256, core_key: &str) {
    h.update(b"tier 2 on the GPU");
    h.update(core_key.as_bytes());
}

/// The first 12 bytes of a digest in hex: a cache file's stem.
fn stem(h: Sha256) -> String {
    h.finalize()
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Tier2 {
    /// Set up translation for a run on the CPU backend whose template is built in `m`
    /// (`tmpl_frames` frames): the profile, and a cached translation when there is one.
    /// With `gpu_arch` the translation is built for that GPU instead (NVRTC, into the
    /// cache, for a later GPU run of the image; the lanes here stay interpreted). None
    /// for `--translate never`, or `auto` without a compiler. Errors: `always` without
    /// a C++ compiler.
    pub fn new(
        mode: Translate,
        prep: &Prepared,
        m: &mut MachineHdr,
        gpu_arch: Option<&str>,
        verbose: bool,
    ) -> Result<Option<Tier2>, RunError> {
        if mode == Translate::Never {
            return Ok(None);
        }
        let (code, mut h) = image_code(prep)?;
        shape_key(&mut h, gpu_arch.is_some());
        let target = match gpu_arch {
            Some(arch) => {
                gpu_key(&mut h, &crate::backend::cuda::core_key(arch));
                Target::Gpu { arch: arch.into() }
            }
            None => {
                let Some((cxx, cxx_id)) = compiler() else {
                    if mode == Translate::Always {
                        return Err(BackendError::NoCompiler.into());
                    }
                    if verbose {
                        eprintln!(
                            "gpuos: tier 2: no C++ compiler (c++, or $GPUOS_CXX): interpreting"
                        );
                    }
                    return Ok(None);
                };
                h.update(PRELUDE.as_bytes());
                h.update(CXX_FLAGS.join(" ").as_bytes());
                h.update(extra_cxx_flags().join(" ").as_bytes());
                h.update(cxx_id.as_bytes());
                Target::Host { cxx }
            }
        };
        let ncounts = (m.tmpl_frames * 1024) as usize;
        let counts: Vec<AtomicU32> = (0..ncounts).map(|_| AtomicU32::new(0)).collect();
        m.t2_counts = counts.as_ptr() as u64;
        let gpu = gpu_arch.is_some();
        let t = Tier2::with(
            mode,
            target,
            stem(h),
            code,
            Profile::Host(counts),
            ncounts,
            code_pages(prep, m),
        );
        // For a GPU (--translate-for) the cached translation's block starts are taken
        // too, so that a new one extends it: a shorter run of the image would otherwise
        // replace a translation of many blocks with one of its own few.
        t.load_cached(if gpu { std::ptr::null_mut() } else { m }, verbose);
        Ok(Some(t))
    }

    /// Set up translation for a GPU run (`gpu` says where its profile is). A cached
    /// translated core, if any, is ready at once ([`Tier2::take_cubin`]). None for
    /// `--translate never`.
    pub fn new_gpu(
        mode: Translate,
        prep: &Prepared,
        gpu: GpuProfile,
        verbose: bool,
    ) -> Result<Option<Tier2>, RunError> {
        if mode == Translate::Never {
            return Ok(None);
        }
        let (code, mut h) = image_code(prep)?;
        shape_key(&mut h, true);
        gpu_key(&mut h, &gpu.core_key);
        let t = Tier2::with(
            mode,
            Target::Gpu { arch: gpu.arch },
            stem(h),
            code,
            Profile::Device(gpu.read),
            gpu.ncounts,
            gpu.pages,
        );
        t.load_cached(std::ptr::null_mut(), verbose);
        Ok(Some(t))
    }

    fn with(
        mode: Translate,
        target: Target,
        key: String,
        code: CodeSegments,
        counts: Profile,
        ncounts: usize,
        pages: Vec<(u64, u64)>,
    ) -> Tier2 {
        Tier2 {
            mode,
            target,
            key,
            dir: crate::machine::cache_dir().join("t2"),
            code,
            counts,
            ncounts,
            pages,
            stats: Mutex::new(Stats::default()),
            cubin: Mutex::new(None),
            state: Mutex::new(State {
                starts: BTreeSet::new(),
                rejected: BTreeSet::new(),
                libs: Vec::new(),
                failed: None,
                seq: 0,
                quick: None,
            }),
        }
    }

    /// The file extension of this target's translations.
    fn ext(&self) -> &'static str {
        match self.target {
            Target::Host { .. } => "so",
            Target::Gpu { .. } => "cubin",
        }
    }

    /// Load the cached translation of the image, if there is one.
    fn load_cached(&self, m: *mut MachineHdr, verbose: bool) {
        let cached = self.dir.join(format!("{}.{}", self.key, self.ext()));
        if !cached.exists() {
            return;
        }
        let mut st = self.state.lock().unwrap();
        match self.load(&mut st, &cached, m) {
            Ok(()) => self.stats.lock().unwrap().cache_hit = true,
            Err(e) if verbose => eprintln!("gpuos: tier 2: cached {}: {e}", cached.display()),
            Err(_) => {}
        }
    }

    /// Load the translation at `path`, take its block starts and publish it: on the
    /// host, load the shared object and store its entry in `m`; on the GPU, keep the
    /// CUBIN for [`Tier2::take_cubin`] (its starts are in the `.starts` file beside it).
    fn load(&self, st: &mut State, path: &Path, m: *mut MachineHdr) -> Result<(), String> {
        if let Target::Gpu { .. } = self.target {
            let cubin = std::fs::read(path).map_err(|e| e.to_string())?;
            let starts = std::fs::read_to_string(path.with_extension("starts"))
                .map_err(|e| format!("its block starts: {e}"))?;
            st.starts = starts
                .split_whitespace()
                .map(|w| u64::from_str_radix(w, 16).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?;
            self.stats.lock().unwrap().blocks = st.starts.len();
            *self.cubin.lock().unwrap() = Some(cubin);
            return Ok(());
        }
        // SAFETY: a translation of this image and this core (the key says so); its
        // initialisers only define constant tables.
        unsafe {
            let lib = libloading::Library::new(path).map_err(|e| e.to_string())?;
            let entry = *lib
                .get::<unsafe extern "C" fn()>(b"gpuos_t2_enter\0")
                .map_err(|e| e.to_string())? as usize as u64;
            let starts = *lib
                .get::<*const u64>(b"gpuos_t2_starts\0")
                .map_err(|e| e.to_string())?;
            let n = **lib
                .get::<*const u64>(b"gpuos_t2_nstarts\0")
                .map_err(|e| e.to_string())?;
            st.starts = std::slice::from_raw_parts(starts, n as usize)
                .iter()
                .copied()
                .collect();
            self.stats.lock().unwrap().blocks = n as usize;
            st.libs.push(lib);
            publish(m, entry);
        }
        Ok(())
    }

    /// GPU: the newest translated core, once, to be swapped in by the backend at its
    /// next safe point (a quantum boundary, or a stop and relaunch of the persistent
    /// kernel); counts the swap.
    pub fn take_cubin(&self) -> Option<Vec<u8>> {
        let c = self.cubin.lock().unwrap().take();
        if c.is_some() {
            self.stats.lock().unwrap().swaps += 1;
        }
        c
    }

    /// Whether a translated core waits for [`Tier2::take_cubin`] (also while the next
    /// compile runs).
    pub fn cubin_ready(&self) -> bool {
        self.cubin.lock().unwrap().is_some()
    }

    /// The profile's counters now, or None once the run has ended (GPU).
    fn snapshot(&self) -> Option<Vec<u32>> {
        match &self.counts {
            Profile::Host(c) => Some(c.iter().map(|c| c.load(Ordering::Relaxed)).collect()),
            Profile::Device(read) => {
                let mut v = vec![0u32; self.ncounts];
                read(&mut v).then_some(v)
            }
        }
    }

    /// How often the profile counted an entry at each of `blocks`' starts (0 where it
    /// has none; the profile's slot of a start is its template frame's, as in
    /// [`Tier2::hot`]): the weights by which [`regions::partition`] joins callers with
    /// callees.
    fn entry_counts(&self, blocks: &[Block]) -> Vec<u64> {
        let counts = self.snapshot().unwrap_or_default();
        blocks
            .iter()
            .map(|b| {
                let slot = b.frame * 1024 + ((b.start & 0xfff) >> 2);
                counts.get(slot as usize).map_or(0, |&n| u64::from(n))
            })
            .collect()
    }

    /// Block starts entered at least `threshold` times and not translated yet, and the
    /// code pages (their guest addresses) where the profile counted any entry.
    fn hot(&self, st: &State, threshold: u32) -> (Vec<u64>, BTreeSet<u64>) {
        let Some(counts) = self.snapshot() else {
            return (Vec::new(), BTreeSet::new());
        };
        let mut out = Vec::new();
        let mut entered = BTreeSet::new();
        for &(f, va) in &self.pages {
            let base = (f * 1024) as usize;
            for slot in 0..1024u64 {
                let n = counts.get(base + slot as usize).copied().unwrap_or(0);
                if n > 0 {
                    entered.insert(va);
                }
                if n >= threshold {
                    let pc = va + slot * 4;
                    if !st.starts.contains(&pc) && !st.rejected.contains(&pc) {
                        out.push(pc);
                    }
                }
            }
        }
        (out, entered)
    }

    /// Translate the block starts entered `threshold` times or more, with the ones
    /// already translated, and publish the result; on the GPU with `quick` (the quick
    /// core's NVRTC options, when `GPUOS_QUICK_CORE` allows) a translation that is
    /// not cached, for this run only. Returns whether it compiled.
    fn extend(
        &self,
        m: *mut MachineHdr,
        threshold: u32,
        cancel: Option<&AtomicBool>,
        quick: Option<&[String]>,
    ) -> Result<bool, String> {
        let mut st = self.state.lock().unwrap();
        if let Some(e) = &st.failed {
            return Err(e.clone());
        }
        let (hot, entered) = self.hot(&st, threshold);
        if hot.is_empty() {
            return Ok(false);
        }
        let code: Vec<Code> = self
            .code
            .iter()
            .map(|(va, b)| Code {
                vaddr: *va,
                bytes: b,
            })
            .collect();
        let frame_of = |va: u64| self.pages.iter().find(|p| p.1 == va & !0xfff).map(|p| p.0);
        let mut blocks: Vec<Block> = Vec::new();
        // (start, how many direct edges from a hot start: 0 for the profile's own).
        let mut wanted: Vec<(u64, u32)> = st.starts.iter().chain(&hot).map(|&pc| (pc, 0)).collect();
        let mut seen: BTreeSet<u64> = wanted.iter().map(|w| w.0).collect();
        let hot_new: BTreeSet<u64> = hot.iter().copied().collect();
        let max_depth = successor_depth();
        while let Some((pc, depth)) = wanted.pop() {
            match frame_of(pc).and_then(|f| gen::find_block(&code, pc, f)) {
                Some(b) => {
                    // A block cut short (its page, its length, a barrier) continues in
                    // a block of its own: the run loop enters it right after this one,
                    // where the interpreter saw no block boundary to count.
                    let next = b.start + 4 * b.insns.len() as u64;
                    if !gen::ends_in_branch(&b) && seen.insert(next) {
                        wanted.push((next, depth));
                    }
                    // The paths the profile did not take (see SUCCESSOR_DEPTH), from
                    // the new hot starts only, so that each translation's closure
                    // stays bounded.
                    if depth < max_depth && (depth > 0 || hot_new.contains(&pc)) {
                        for t in gen::direct_successors(&b) {
                            if entered.contains(&(t & !0xfff)) && seen.insert(t) {
                                wanted.push((t, depth + 1));
                            }
                        }
                    }
                    blocks.push(b);
                }
                None => {
                    st.rejected.insert(pc);
                }
            }
        }
        blocks.sort_by_key(|b| b.start);
        if blocks.len() == st.starts.len() {
            return Ok(false); // only rejected starts were new
        }
        let starts: Vec<u64> = blocks.iter().map(|b| b.start).collect();
        if cancel.is_none() && matches!(self.target, Target::Gpu { .. }) {
            // The end of the run (`finish`) waits for this compile: say why.
            eprintln!(
                "gpuos: tier 2: compiling {} blocks for the next run (NVRTC; the run's output is complete)",
                blocks.len()
            );
        }
        let gpu = matches!(self.target, Target::Gpu { .. });
        let weights = self.entry_counts(&blocks);
        let source = gen::gen_source(&blocks, &weights, region_blocks(gpu));
        self.build(&mut st, m, source, starts, cancel, quick)
    }

    /// Compile `source` (the blocks at `starts`) and publish it; with `quick`, keep the
    /// source for [`Tier2::optimise`]. Returns whether it compiled.
    fn build(
        &self,
        st: &mut State,
        m: *mut MachineHdr,
        source: String,
        starts: Vec<u64>,
        cancel: Option<&AtomicBool>,
        quick: Option<&[String]>,
    ) -> Result<bool, String> {
        // Another run compiles this image for the cache: no compile, none counted.
        if self.needs_lock(cancel, quick) && lock_held(&self.lock_path()) {
            return Ok(false);
        }
        let t = Instant::now();
        let res = self.compile(st, &source, &starts, cancel, quick);
        {
            let mut stats = self.stats.lock().unwrap();
            stats.compiles += 1;
            stats.quick += u32::from(quick.is_some());
            stats.compile_s += t.elapsed().as_secs_f64();
        }
        let so = match res {
            Ok(Some(so)) => so,
            Ok(None) => {
                // Cancelled: the run ended first. A quick compile's blocks are then
                // compiled optimised for the cache (`background`'s last `optimise`), as
                // they were before quick translations: else a program whose runs are all
                // shorter than a quick compile would never start translated.
                if quick.is_some() {
                    st.quick = Some((source, starts));
                }
                return Ok(false);
            }
            Err(e) => {
                st.failed = Some(e.clone());
                return Err(e);
            }
        };
        let loaded = self.load(st, &so, m);
        if quick.is_some() {
            // This run's only: the cache keeps optimised translations alone.
            let _ = std::fs::remove_file(so.with_extension("starts"));
            let _ = std::fs::remove_file(&so);
            st.quick = Some((source, starts));
        } else {
            self.store(&so);
            st.quick = None;
        }
        match loaded {
            Ok(()) => Ok(true),
            Err(e) => {
                st.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// GPU: replace a quick translation in use with the same blocks compiled optimised
    /// (cached for the next run of the image too). Returns whether it compiled.
    fn optimise(&self, m: *mut MachineHdr, cancel: Option<&AtomicBool>) -> Result<bool, String> {
        let mut st = self.state.lock().unwrap();
        let Some((source, starts)) = st.quick.take() else {
            return Ok(false);
        };
        self.build(&mut st, m, source, starts, cancel, None)
    }

    /// Compile `blocks` (the generated source of `starts`) into a translation file of
    /// its own name, with the NVRTC options `quick` when given (GPU); returns its path,
    /// or None when `cancel` was set first.
    fn compile(
        &self,
        st: &mut State,
        blocks: &str,
        starts: &[u64],
        cancel: Option<&AtomicBool>,
        quick: Option<&[String]>,
    ) -> Result<Option<PathBuf>, String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        st.seq += 1;
        let stem = format!("{}-{}-{}", self.key, std::process::id(), st.seq);
        match &self.target {
            Target::Host { cxx } => self.compile_host(cxx, &stem, blocks, cancel),
            Target::Gpu { arch } => self.compile_gpu(arch, &stem, blocks, starts, cancel, quick),
        }
    }

    /// Compile the core with `blocks` for the GPU `arch` in a child process (forked:
    /// NVRTC cannot be interrupted, and a process that exits while NVRTC runs in one of
    /// its threads can crash in NVRTC's static destructors). The child stores the CUBIN
    /// and its block starts under the image's key itself and exits; the parent waits
    /// for it and returns that path, or None when `cancel` was set first: the child
    /// then finishes for the cache on its own, and the next run of the image starts
    /// translated. With `quick` (NVRTC options) the child stores nothing under the key
    /// and the path returned is the CUBIN's own (a `.starts` file beside it).
    fn compile_gpu(
        &self,
        arch: &str,
        stem: &str,
        blocks: &str,
        starts: &[u64],
        cancel: Option<&AtomicBool>,
        quick: Option<&[String]>,
    ) -> Result<Option<PathBuf>, String> {
        let tmp = self.dir.join(format!("{stem}.cubin"));
        if std::env::var_os("GPUOS_T2_KEEP_SOURCE").is_some() {
            let _ = std::fs::write(tmp.with_extension("cu"), blocks);
        }
        let list: String = starts.iter().map(|s| format!("{s:x}\n")).collect();
        let errf = tmp.with_extension("err");
        // The background's optimised compile, which may outlive the run: one at a time
        // per image, across runs.
        let lock = self.needs_lock(cancel, quick).then(|| self.lock_path());
        if lock.as_ref().is_some_and(|l| !take_lock(l)) {
            return Ok(None);
        }
        // SAFETY: the child only compiles (NVRTC, no CUDA driver call), writes files
        // and leaves with _exit, running no destructor or atexit handler of the parent.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            if let Some(l) = &lock {
                let _ = std::fs::remove_file(l);
            }
            return Err(format!("fork: {}", std::io::Error::last_os_error()));
        }
        if pid > 0 {
            if let Some(l) = &lock {
                let _ = std::fs::write(l, pid.to_string()); // the compiling process's
            }
        }
        if pid == 0 {
            detach_fds();
            if cancel.is_some() {
                background_priority(); // the background translator's, not finish's
            }
            let code = match crate::backend::cuda::compile_translated(
                arch,
                blocks,
                quick.unwrap_or(&[]),
            ) {
                Ok(cubin) => {
                    let stored = std::fs::write(tmp.with_extension("starts"), &list)
                        .and_then(|()| std::fs::write(&tmp, cubin))
                        .is_ok()
                        && (quick.is_some() || self.store_gpu(&tmp));
                    if stored {
                        0
                    } else {
                        2
                    }
                }
                Err(e) => {
                    let _ = std::fs::write(&errf, e);
                    1
                }
            };
            if let Some(l) = &lock {
                let _ = std::fs::remove_file(l);
            }
            // SAFETY: ends the child at once (see above).
            unsafe { libc::_exit(code) }
        }
        loop {
            let mut status = 0;
            // SAFETY: waits for our own child without blocking.
            let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
            if r == pid {
                if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                    return Ok(Some(match quick {
                        Some(_) => tmp,
                        None => self.dir.join(format!("{}.cubin", self.key)),
                    }));
                }
                let err = std::fs::read_to_string(&errf).unwrap_or_default();
                let _ = std::fs::remove_file(&errf);
                return Err(format!("NVRTC (child process, status {status:#x}): {err}"));
            }
            if r < 0 {
                return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
            }
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                if quick.is_some() {
                    // Worth nothing once the run has ended (nothing of it is cached).
                    // SAFETY: our own child, reaped at once.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                        libc::waitpid(pid, &mut status, 0);
                    }
                    for e in ["cubin", "starts", "err"] {
                        let _ = std::fs::remove_file(tmp.with_extension(e));
                    }
                }
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Compile prelude + `blocks` with the host compiler into a shared object named
    /// `stem` (a library is loaded by path once per process); returns its path, or None
    /// when `cancel` was set first (the compiler is killed).
    fn compile_host(
        &self,
        cxx: &str,
        stem: &str,
        blocks: &str,
        cancel: Option<&AtomicBool>,
    ) -> Result<Option<PathBuf>, String> {
        let src = self.dir.join(format!("{stem}.cpp"));
        let so = self.dir.join(format!("{stem}.so"));
        std::fs::write(&src, format!("{PRELUDE}\n{blocks}"))
            .map_err(|e| format!("{}: {e}", src.display()))?;
        let errf = self.dir.join(format!("{stem}.err"));
        let mut cmd = Command::new(cxx);
        // A process group of its own, so that a cancel reaches the compiler proper
        // (cc1plus), not only the driver: killed alone, the driver leaves it running on,
        // orphaned, for minutes. A stop of gpuos (SIGINT, SIGTERM) cancels through `done`.
        cmd.process_group(0);
        if cancel.is_some() {
            // The background translator's compile (finish's, at the end, runs alone).
            // SAFETY: the hook only calls nice(2), async-signal-safe, in the forked child.
            unsafe {
                cmd.pre_exec(|| {
                    background_priority();
                    Ok(())
                })
            };
        }
        let mut child = cmd
            .args(CXX_FLAGS)
            .args(extra_cxx_flags())
            .arg("-x")
            .arg("c++")
            .arg(&src)
            .arg("-o")
            .arg(&so)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&errf).map_err(|e| format!("{}: {e}", errf.display()))?)
            .spawn()
            .map_err(|e| format!("{cxx}: {e}"))?;
        let status = loop {
            if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                break Some(s);
            }
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                // SAFETY: signals the compiler's own process group (see above).
                unsafe {
                    libc::kill(-(child.id() as i32), libc::SIGKILL);
                }
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let err = std::fs::read(&errf).unwrap_or_default();
        let _ = std::fs::remove_file(&errf);
        if std::env::var_os("GPUOS_T2_KEEP_SOURCE").is_none() {
            let _ = std::fs::remove_file(&src);
        }
        let Some(status) = status else {
            let _ = std::fs::remove_file(&so);
            return Ok(None);
        };
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            let tail: String = err
                .chars()
                .rev()
                .take(2000)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return Err(format!("{cxx} failed ({status}):\n{tail}"));
        }
        Ok(Some(so))
    }

    /// Make the shared object `so` the image's cached translation (atomically
    /// replacing an older one) and remove its own name. (A GPU translation is stored by
    /// its compiling child: [`Tier2::store_gpu`].)
    fn store(&self, so: &Path) {
        if matches!(self.target, Target::Gpu { .. }) {
            return;
        }
        let cached = self.dir.join(format!("{}.so", self.key));
        let tmp = so.with_extension("tmp");
        if std::fs::copy(so, &tmp).is_ok() {
            let _ = std::fs::rename(&tmp, &cached);
        }
        let _ = std::fs::remove_file(so);
    }

    /// Whether a compile takes the image's lock: the background's optimised GPU
    /// compile, which may outlive its run.
    fn needs_lock(&self, cancel: Option<&AtomicBool>, quick: Option<&[String]>) -> bool {
        matches!(self.target, Target::Gpu { .. }) && cancel.is_some() && quick.is_none()
    }

    /// The image's GPU compile lock (see [`take_lock`]).
    fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{}.compiling", self.key))
    }

    /// Store the CUBIN `file` and its `.starts` list under the image's key (renames,
    /// starts first: a reader that finds a CUBIN finds its list); whether both went.
    fn store_gpu(&self, file: &Path) -> bool {
        [
            ("starts", file.with_extension("starts")),
            ("cubin", file.to_path_buf()),
        ]
        .iter()
        .all(|(e, f)| std::fs::rename(f, self.dir.join(format!("{}.{e}", self.key))).is_ok())
    }

    /// The background translator: until `done`, look at the profile every [`POLL`] and
    /// translate what became hot; a compile still running when `done` is set is
    /// abandoned. Compile errors are reported once and end it. On the GPU, with the
    /// quick core's options allowed (`GPUOS_QUICK_CORE`), what became hot is compiled
    /// quick (seconds: the lanes run it while the optimised compile, minutes, goes on),
    /// and a look that finds nothing new compiles the quick translation in use again,
    /// optimised, for this run and the cache.
    pub fn background(&self, m: *mut MachineHdr, done: &AtomicBool) {
        let threshold = self.threshold();
        let quick = match self.target {
            Target::Gpu { .. } => quick_first(),
            Target::Host { .. } => None,
        };
        let mut last = Instant::now();
        let first = last + auto_after(self.mode, &self.target);
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
            if Instant::now() < first {
                continue;
            }
            let poll = match (&self.target, &quick) {
                (Target::Host { .. }, _) => POLL,
                (Target::Gpu { .. }, Some(_)) => POLL_GPU_QUICK,
                (Target::Gpu { .. }, None) => POLL_GPU,
            };
            if last.elapsed() < poll {
                continue;
            }
            last = Instant::now();
            let res = self
                .extend(m, threshold, Some(done), quick.as_deref())
                .and_then(|new| {
                    if new {
                        Ok(true)
                    } else {
                        self.optimise(m, Some(done))
                    }
                });
            if let Err(e) = res {
                eprintln!("gpuos: tier 2: {e}");
                return;
            }
        }
        // The run ended on a quick translation, or during its compile: the optimised
        // compile of its blocks starts for the cache (the child finishes on its own), so
        // that the next run starts on it.
        if quick.is_some() {
            let _ = self.optimise(m, Some(done));
        }
    }

    /// The GPU's background translator: [`Tier2::background`] on a thread of its own,
    /// not joined, since an NVRTC compile cannot be interrupted: one still running when
    /// the run ends (`done`) completes for the cache and the thread ends.
    pub fn spawn_background(self: &std::sync::Arc<Self>, done: std::sync::Arc<AtomicBool>) {
        let t = self.clone();
        std::thread::spawn(move || t.background(std::ptr::null_mut(), &done));
    }

    fn threshold(&self) -> u32 {
        match self.mode {
            Translate::Always => 1,
            _ => AUTO_THRESHOLD,
        }
    }

    /// At the end of the run: with `always`, translate every block entered and not yet
    /// translated, for the next run of the image (the cache). Returns the run's stats.
    /// Errors: the compiler failed.
    pub fn finish(&self, m: *mut MachineHdr) -> Result<Stats, RunError> {
        // A GPU translation built on the CPU backend (--translate-for) is built here
        // only, with the mode's threshold.
        let built_here =
            matches!(self.target, Target::Gpu { .. }) && matches!(self.counts, Profile::Host(_));
        if self.mode == Translate::Always || built_here {
            self.extend(m, self.threshold(), None, None)
                .map_err(|e| BackendError::Tier2(e.to_string()))?;
        }
        // Not the state: a GPU translator's compile may still hold it (it goes on for the
        // cache without this run).
        Ok(self.stats.lock().unwrap().clone())
    }
}

/// Print the run's tier-2 summary (`--verbose`): blocks, cache, compiles, and the share
/// of the `total` guest instructions that ran translated (`translated`).
pub fn report(st: &Stats, translated: u64, total: u64) {
    eprintln!(
        "gpuos: tier 2: {} blocks translated (cache {}), {} compiles{} in {:.2} s,{} {:.1}% of {} guest instructions ran translated",
        st.blocks,
        if st.cache_hit { "hit" } else { "miss" },
        st.compiles,
        if st.quick > 0 { format!(" ({} quick)", st.quick) } else { String::new() },
        st.compile_s,
        if st.swaps > 0 { format!(" {} translated cores swapped in,", st.swaps) } else { String::new() },
        if total > 0 { translated as f64 * 100.0 / total as f64 } else { 0.0 },
        total
    );
}

#[cfg(test)]
mod tests {
    use super::{take_lock, Profile, Target, Tier2, Translate};

    /// A finished GPU translation can be taken while the next compile holds the
    /// translator's state (the optimised compile that follows a quick one runs for
    /// minutes; the quick translation must be swapped in meanwhile).
    #[test]
    fn gpu_translation_is_taken_while_a_compile_runs() {
        let dir = std::env::temp_dir().join(format!("gpuos-t2-take-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("k.cubin");
        std::fs::write(&path, b"CUBIN").unwrap();
        std::fs::write(path.with_extension("starts"), "400000\n400010\n").unwrap();
        let t2 = Tier2::with(
            Translate::Auto,
            Target::Gpu {
                arch: "sm_90".into(),
            },
            "k".into(),
            Vec::new(),
            Profile::Host(Vec::new()),
            0,
            Vec::new(),
        );
        let mut st = t2.state.lock().unwrap();
        t2.load(&mut st, &path, std::ptr::null_mut()).unwrap();
        // `st` stays held, as by a compile in progress.
        assert!(t2.cubin_ready());
        assert_eq!(t2.take_cubin().as_deref(), Some(&b"CUBIN"[..]));
        assert!(!t2.cubin_ready(), "taken once");
        assert_eq!(st.starts.len(), 2);
        drop(st);
        assert_eq!(t2.stats.lock().unwrap().swaps, 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The compile lock: held while its holder lives, taken over once it is gone.
    #[test]
    fn compile_lock_is_exclusive_until_its_holder_dies() {
        let dir = std::env::temp_dir().join(format!("gpuos-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lock = dir.join("k.compiling");
        assert!(take_lock(&lock));
        assert!(!take_lock(&lock), "held by this live process");
        // A child that has exited: its pid names no process once reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::write(&lock, dead.to_string()).unwrap();
        assert!(take_lock(&lock), "a dead holder's lock is stale");
        assert_eq!(
            std::fs::read_to_string(&lock).unwrap(),
            std::process::id().to_string()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
