//! Tier 2: the image's hot code translated to C++ and compiled (docs/ARCHITECTURE.md,
//! "Tier 2"). The interpreter (kernel/exec.h) counts block entries per image-template
//! instruction slot (`MachineHdr::t2_counts`); this module picks the hot block starts,
//! generates one C++ function per block calling the decode table's handlers ([`gen`]),
//! and, on the CPU backend, compiles the source with the host C++ compiler into a shared
//! object, cached on disk by the image's content, the core's source and the compiler,
//! and publishes its entry (`MachineHdr::t2_enter`), which lanes pick up at their next
//! slice. The GPU backend is to compile the same generated source into its core with
//! NVRTC (docs/ARCHITECTURE.md says how).

pub mod gen;

use crate::abi::MachineHdr;
use crate::ffi;
use crate::machine::{BackendError, RunError};
use crate::prepare::Prepared;
use gen::{Block, Code};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use crate::machine::Translate;

/// Entries of a block start before `--translate auto` translates it.
pub const AUTO_THRESHOLD: u32 = 1000;
/// How often the background translator looks at the profile.
const POLL: Duration = Duration::from_millis(100);
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
}

struct State {
    /// Block starts of the published translation.
    starts: BTreeSet<u64>,
    /// Hot starts with no translatable block (an unallocated first instruction).
    rejected: BTreeSet<u64>,
    /// Every translation loaded in this run: lanes may still run any of them.
    libs: Vec<libloading::Library>,
    stats: Stats,
    /// A compile failed: no more attempts in this run.
    failed: Option<String>,
    /// Number of the next compile of this run (unique file names).
    seq: u32,
}

/// The translator of one run on the CPU backend.
pub struct Tier2 {
    mode: Translate,
    cxx: String,
    /// Cache file stem: image, core source and compiler.
    key: String,
    dir: PathBuf,
    /// The image's executable segments (address, file bytes).
    code: Vec<(u64, Vec<u8>)>,
    /// Profile: one counter per template instruction slot (`MachineHdr::t2_counts`).
    counts: Vec<AtomicU32>,
    /// (template frame, page address) of every executable page of the image.
    pages: Vec<(u64, u64)>,
    state: Mutex<State>,
}

/// Publish a translation's entry to the lanes (read once per slice by kernel/exec.h).
///
/// # Safety
/// `m` points at the run's live MachineHdr.
unsafe fn publish(m: *mut MachineHdr, entry: u64) {
    // SAFETY: t2_enter is an aligned u64 that the lanes read atomically.
    unsafe { AtomicU64::from_ptr(&raw mut (*m).t2_enter).store(entry, Ordering::Release) };
}

impl Tier2 {
    /// Set up translation for a run whose template is built in `m` (`tmpl_frames`
    /// frames): the profile, and a cached translation when there is one. None for
    /// `--translate never`, or `auto` without a compiler. Errors: `always` without a
    /// C++ compiler.
    pub fn new(
        mode: Translate,
        prep: &Prepared,
        m: &mut MachineHdr,
        verbose: bool,
    ) -> Result<Option<Tier2>, RunError> {
        if mode == Translate::Never {
            return Ok(None);
        }
        let Some((cxx, cxx_id)) = compiler() else {
            if mode == Translate::Always {
                return Err(BackendError::NoCompiler.into());
            }
            if verbose {
                eprintln!("gpuos: tier 2: no C++ compiler (c++, or $GPUOS_CXX): interpreting");
            }
            return Ok(None);
        };
        // Every segment's file bytes (the program's and its interpreter's): the
        // executable ones are translated, all of them name the translation in the cache.
        let segments: Vec<&crate::loader::Segment> =
            prep.exec.images().flat_map(|i| &i.segments).collect();
        let bytes: Vec<Vec<u8>> = prep
            .exec
            .images()
            .flat_map(|i| i.segments.iter().map(move |s| i.segment_bytes(s)))
            .collect::<Result<_, _>>()?;
        let code: Vec<(u64, Vec<u8>)> = segments
            .iter()
            .zip(&bytes)
            .filter(|(s, _)| s.flags & object::elf::PF_X != 0)
            .map(|(s, b)| (s.vaddr, b.clone()))
            .collect();
        let mut pages = Vec::new();
        for s in segments.iter().filter(|s| s.flags & object::elf::PF_X != 0) {
            let mut va = s.vaddr & !0xfff;
            while va < s.vaddr + s.memsz {
                // SAFETY: m is the run's machine with its template built.
                let f = unsafe { ffi::gpuos_tmpl_frame(m, va) };
                if f < m.tmpl_frames {
                    pages.push((f, va));
                }
                va += 0x1000;
            }
        }
        let key = {
            let mut h = Sha256::new();
            h.update(PRELUDE.as_bytes());
            h.update(CXX_FLAGS.join(" ").as_bytes());
            h.update(cxx_id.as_bytes());
            h.update(prep.exec.entry().to_le_bytes());
            for (s, b) in segments.iter().zip(&bytes) {
                h.update(s.vaddr.to_le_bytes());
                h.update(s.memsz.to_le_bytes());
                h.update(s.flags.to_le_bytes());
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            }
            let d = h.finalize();
            d.iter()
                .take(12)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let counts: Vec<AtomicU32> = (0..m.tmpl_frames * 1024)
            .map(|_| AtomicU32::new(0))
            .collect();
        m.t2_counts = counts.as_ptr() as u64;
        let t = Tier2 {
            mode,
            cxx,
            key,
            dir: crate::machine::cache_dir().join("t2"),
            code,
            counts,
            pages,
            state: Mutex::new(State {
                starts: BTreeSet::new(),
                rejected: BTreeSet::new(),
                libs: Vec::new(),
                stats: Stats::default(),
                failed: None,
                seq: 0,
            }),
        };
        let cached = t.dir.join(format!("{}.so", t.key));
        if cached.exists() {
            let mut st = t.state.lock().unwrap();
            match t.load(&mut st, &cached, m) {
                Ok(()) => st.stats.cache_hit = true,
                Err(e) if verbose => eprintln!("gpuos: tier 2: cached {}: {e}", cached.display()),
                Err(_) => {}
            }
        }
        Ok(Some(t))
    }

    /// Load the shared object at `path`, publish its entry and take its block starts.
    fn load(&self, st: &mut State, path: &Path, m: *mut MachineHdr) -> Result<(), String> {
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
            st.stats.blocks = n as usize;
            st.libs.push(lib);
            publish(m, entry);
        }
        Ok(())
    }

    /// Block starts entered at least `threshold` times and not translated yet.
    fn hot(&self, st: &State, threshold: u32) -> Vec<u64> {
        let mut out = Vec::new();
        for &(f, va) in &self.pages {
            let base = (f * 1024) as usize;
            for slot in 0..1024u64 {
                if self.counts[base + slot as usize].load(Ordering::Relaxed) >= threshold {
                    let pc = va + slot * 4;
                    if !st.starts.contains(&pc) && !st.rejected.contains(&pc) {
                        out.push(pc);
                    }
                }
            }
        }
        out
    }

    /// Translate the block starts entered `threshold` times or more, with the ones
    /// already translated, and publish the result. Returns whether it compiled.
    fn extend(
        &self,
        m: *mut MachineHdr,
        threshold: u32,
        cancel: Option<&AtomicBool>,
    ) -> Result<bool, String> {
        let mut st = self.state.lock().unwrap();
        if let Some(e) = &st.failed {
            return Err(e.clone());
        }
        let hot = self.hot(&st, threshold);
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
        let mut wanted: Vec<u64> = st.starts.iter().chain(&hot).copied().collect();
        let mut seen: BTreeSet<u64> = wanted.iter().copied().collect();
        while let Some(pc) = wanted.pop() {
            match frame_of(pc).and_then(|f| gen::find_block(&code, pc, f)) {
                Some(b) => {
                    // A block cut short (its page, its length, a barrier) continues in
                    // a block of its own: the run loop enters it right after this one,
                    // where the interpreter saw no block boundary to count.
                    let next = b.start + 4 * b.insns.len() as u64;
                    if !gen::ends_in_branch(&b) && seen.insert(next) {
                        wanted.push(next);
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
        let t = Instant::now();
        let res = self.compile(&mut st, &gen::gen_source(&blocks), cancel);
        st.stats.compiles += 1;
        st.stats.compile_s += t.elapsed().as_secs_f64();
        let so = match res {
            Ok(Some(so)) => so,
            Ok(None) => return Ok(false), // cancelled
            Err(e) => {
                st.failed = Some(e.clone());
                return Err(e);
            }
        };
        let loaded = self.load(&mut st, &so, m);
        self.store(&so);
        match loaded {
            Ok(()) => Ok(true),
            Err(e) => {
                st.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Compile prelude + `blocks` into a shared object of its own name (a library
    /// loaded by path once per process); returns its path, or None when `cancel` was
    /// set first (the compiler is killed).
    fn compile(
        &self,
        st: &mut State,
        blocks: &str,
        cancel: Option<&AtomicBool>,
    ) -> Result<Option<PathBuf>, String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        st.seq += 1;
        let stem = format!("{}-{}-{}", self.key, std::process::id(), st.seq);
        let src = self.dir.join(format!("{stem}.cpp"));
        let so = self.dir.join(format!("{stem}.so"));
        std::fs::write(&src, format!("{PRELUDE}\n{blocks}"))
            .map_err(|e| format!("{}: {e}", src.display()))?;
        let errf = self.dir.join(format!("{stem}.err"));
        let mut child = Command::new(&self.cxx)
            .args(CXX_FLAGS)
            .arg("-x")
            .arg("c++")
            .arg(&src)
            .arg("-o")
            .arg(&so)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&errf).map_err(|e| format!("{}: {e}", errf.display()))?)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.cxx))?;
        let status = loop {
            if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
                break Some(s);
            }
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                let _ = child.kill();
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
            return Err(format!("{} failed ({status}):\n{tail}", self.cxx));
        }
        Ok(Some(so))
    }

    /// Make `so` the image's cached translation (atomically replacing an older one) and
    /// remove its own name.
    fn store(&self, so: &Path) {
        let cached = self.dir.join(format!("{}.so", self.key));
        let tmp = so.with_extension("tmp");
        if std::fs::copy(so, &tmp).is_ok() {
            let _ = std::fs::rename(&tmp, &cached);
        }
        let _ = std::fs::remove_file(so);
    }

    /// The background translator: until `done`, look at the profile every [`POLL`] and
    /// translate what became hot; a compile still running when `done` is set is
    /// abandoned. Compile errors are reported once and end it.
    pub fn background(&self, m: *mut MachineHdr, done: &AtomicBool) {
        let threshold = self.threshold();
        let mut last = Instant::now();
        while !done.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
            if last.elapsed() < POLL {
                continue;
            }
            last = Instant::now();
            if let Err(e) = self.extend(m, threshold, Some(done)) {
                eprintln!("gpuos: tier 2: {e}");
                return;
            }
        }
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
        if self.mode == Translate::Always {
            self.extend(m, 1, None)
                .map_err(|e| BackendError::Tier2(e.to_string()))?;
        }
        Ok(self.state.lock().unwrap().stats.clone())
    }
}

/// Print the run's tier-2 summary (`--verbose`): blocks, cache, compiles, and the share
/// of the `total` guest instructions that ran translated (`translated`).
pub fn report(st: &Stats, translated: u64, total: u64) {
    eprintln!(
        "gpuos: tier 2: {} blocks translated (cache {}), {} compiles in {:.2} s, {:.1}% of {} guest instructions ran translated",
        st.blocks,
        if st.cache_hit { "hit" } else { "miss" },
        st.compiles,
        st.compile_s,
        if total > 0 { translated as f64 * 100.0 / total as f64 } else { 0.0 },
        total
    );
}
