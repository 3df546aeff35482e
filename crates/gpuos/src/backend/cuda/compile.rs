//! Compiling the core with NVRTC and the on-disk CUBIN cache; loading it as a module.

use super::err;
use crate::machine::cache_dir;
use crate::machine::{BackendError, RunError};
use cudarc::driver::{result as cu, sys};
use sha2::{Digest, Sha256};
use std::ffi::{c_void, CString};
use std::time::Instant;

/// The core as one CUDA C++ translation unit.
static KERNEL_SRC: &str = include_str!(concat!(env!("OUT_DIR"), "/kernel_amalgamated.cu"));

/// The loaded core and its kernels; unloaded when dropped, so that a process that runs
/// many times (`gpuos bench`) does not pile up copies of it in GPU memory.
pub(super) struct Module {
    handle: sys::CUmodule,
    pub(super) start: sys::CUfunction,
    pub(super) quantum: sys::CUfunction,
    pub(super) persistent: sys::CUfunction,
    pub(super) poller: sys::CUfunction,
    pub(super) clock: sys::CUfunction,
}
impl Drop for Module {
    fn drop(&mut self) {
        // SAFETY: loaded by cuModuleLoadData and unloaded once; every launch from it
        // has ended (run synchronises, or the context has failed).
        unsafe {
            let _ = sys::cuModuleUnload(self.handle);
        }
    }
}

fn nvrtc_version() -> (i32, i32) {
    let (mut a, mut b) = (0, 0);
    // SAFETY: writes two ints.
    unsafe {
        let _ = cudarc::nvrtc::sys::nvrtcVersion(&mut a, &mut b);
    }
    (a, b)
}

/// Extra NVRTC options from `GPUOS_NVRTC_OPTS` (space-separated), for measuring
/// variants of the core (e.g. `-DGPUOS_OUTLINE_HOT`); part of the cache key.
fn extra_opts() -> Vec<String> {
    std::env::var("GPUOS_NVRTC_OPTS")
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// What names a compiled core: the SHA-256 (hex) of its source, the architecture, the
/// NVRTC version and the extra options. Tier 2's GPU translations add it to their keys.
pub fn core_key(arch: &str) -> String {
    core_key_with(arch, &[])
}

/// The key of the core compiled with `more` options after the extra ones (a step core:
/// the key a `gpuos compile-core` child given `GPUOS_NVRTC_OPTS` = extra + more makes).
fn core_key_with(arch: &str, more: &[String]) -> String {
    let (va, vb) = nvrtc_version();
    let mut h = Sha256::new();
    h.update(KERNEL_SRC.as_bytes());
    h.update(arch.as_bytes());
    h.update(format!("nvrtc {va}.{vb} lineinfo").as_bytes());
    let mut opts = extra_opts();
    opts.extend(more.iter().cloned());
    h.update(opts.join(" ").as_bytes());
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// The line of kernel/exec.h that a translation's blocks replace (GPUOS_TIER2).
const T2_MARKER: &str = "// @GPUOS_T2_BLOCKS@";

/// Where the compiled core for `arch` is cached.
fn core_path(arch: &str) -> std::path::PathBuf {
    core_path_with(arch, &[])
}

/// Where the core compiled with `more` options after the extra ones is cached.
fn core_path_with(arch: &str, more: &[String]) -> std::path::PathBuf {
    let key = core_key_with(arch, more);
    cache_dir().join(format!("core-{arch}-{}.cubin", &key[..24]))
}

/// NVRTC options of the step core: compiled beside the optimised core on a cold cache,
/// ready within seconds, swapped in over the quick core and then replaced by the
/// optimised one (`GPUOS_STEP_CORE`: the options, space-separated, or "off"). Also tier
/// 2's quick translations'. NVRTC's middle fast-compile level: on the H100 (twenty-fifth
/// session) its interpreter ran 0-5 % slower than the optimised core's (16,384 lanes of
/// bench_int, converged and a seed per lane), `-Ofc=min` 3-11 % slower, and it compiled
/// in 12 s on the 2-core build machine (`-Ofc=min` 25 s, the optimised core 167 s).
/// `-split-compile=0` runs NVRTC's optimisations on every host thread (thirty-fourth
/// session, 2-core build machine: 9.0 -> 6.9 s; the seventh session measured the
/// optimised core on the GPU machine's 16 threads: 86.7 -> 56.6 s, its code 9 % slower
/// at one lane, which matters little in a core the optimised one replaces). The cold
/// demo waited about 30 s for the step core on the H200 (twenty-sixth session).
pub const STEP_CORE: &str = "-Ofc=mid -split-compile=0";

/// The step core's NVRTC options ([`STEP_CORE`], `GPUOS_STEP_CORE`), or None when off.
pub fn step_opts() -> Option<Vec<String>> {
    let v = std::env::var("GPUOS_STEP_CORE").unwrap_or_else(|_| STEP_CORE.to_string());
    let opts: Vec<String> = v.split_whitespace().map(String::from).collect();
    (!opts.is_empty() && v != "off" && v != "0").then_some(opts)
}

/// Whether a run on a cold cache starts on a quick core by default (see
/// [`compile_for_run`]). On the H100 (twenty-fourth session) the quick core compiled in
/// 0.82 s and ran 16,384 lanes of bench_int correctly, 11.8x slower than the optimised
/// core (1.15 against 13.5 G guest instructions/s, interpreted): a first run starts at
/// once and does some work while the optimised core compiles (about 90 s), instead of
/// waiting for it.
pub const QUICK_CORE: bool = true;

/// NVRTC's fastest-compile options, for the quick core (and tier 2's quick translations
/// where the step core is off):
/// `GPUOS_QUICK_CORE` when it names options, else `-Ofc=max`.
pub fn fast_opts() -> Vec<String> {
    match std::env::var("GPUOS_QUICK_CORE") {
        Ok(v) if v.trim_start().starts_with('-') => {
            v.split_whitespace().map(String::from).collect()
        }
        _ => vec!["-Ofc=max".into()],
    }
}

/// NVRTC options of the quick core, or None to wait for the optimised core
/// (`GPUOS_QUICK_CORE`: "1" or "on", or the options to use, space-separated; "0" or
/// "off", none; unset, [`QUICK_CORE`]).
pub fn quick_opts() -> Option<Vec<String>> {
    env_switch("GPUOS_QUICK_CORE", QUICK_CORE).then(fast_opts)
}

/// An on/off environment switch: unset gives `default`; "0", "off" or empty, off;
/// anything else ("1", "on", a list of options), on.
pub fn env_switch(name: &str, default: bool) -> bool {
    match std::env::var(name) {
        Err(_) => default,
        Ok(v) => !(v == "0" || v == "off" || v.trim().is_empty()),
    }
}

/// A better core a run swaps in when its cache file appears: the step core, then the
/// optimised one (the last).
#[derive(Clone, Debug)]
pub(super) struct CoreStep {
    /// Where the background compile writes it.
    pub(super) path: std::path::PathBuf,
    /// What `-v` calls it.
    pub(super) name: String,
}

/// The core a run starts with: the optimised core from the cache; else, on a cold cache
/// (when `GPUOS_QUICK_CORE` allows), the step core (`GPUOS_STEP_CORE`, NVRTC's
/// `-Ofc=mid`) if it is cached, or a quick core compiled with NVRTC's fastest options
/// (`-Ofc=max`: under a second instead of 90-170 s, the same source and semantics,
/// slower code), while what is missing of the step and optimised cores compiles in the
/// background, each in its own process (NVRTC uses one core). Returns the CUBIN and the
/// better cores still to come, worst first (the run swaps each in at a safe point once
/// its file is there, as it does a translated core). Errors: NVRTC missing or failing.
pub(super) fn compile_for_run(
    arch: &str,
    verbose: bool,
) -> Result<(Vec<u8>, Vec<CoreStep>), RunError> {
    let path = core_path(arch);
    let quick = match quick_opts() {
        Some(q) if !path.exists() => q,
        _ => return Ok((compile(arch, verbose)?, Vec::new())),
    };
    let step = step_opts().map(|o| (core_path_with(arch, &o), o));
    let mut steps: Vec<CoreStep> = Vec::new();
    if let Some((p, o)) = &step {
        steps.push(CoreStep {
            path: p.clone(),
            name: format!("the step core ({})", o.join(" ")),
        });
    }
    steps.push(CoreStep {
        path: path.clone(),
        name: "the optimised core".into(),
    });
    // One starting core and one set of background compiles per process and
    // architecture (the demo and the bench size their runs with a core first).
    static QUICK: std::sync::Mutex<Vec<(String, Vec<u8>)>> = std::sync::Mutex::new(Vec::new());
    if let Some((_, bin)) = QUICK.lock().unwrap().iter().find(|(a, _)| a == arch) {
        return Ok((bin.clone(), steps));
    }
    let t = Instant::now();
    background_compile(arch, &[]);
    let (bin, what) = match step.as_ref().and_then(|(p, _)| std::fs::read(p).ok()) {
        Some(bin) => {
            steps.remove(0);
            (bin, "took the step core from the cache".to_string())
        }
        None => {
            if let Some((_, o)) = &step {
                background_compile(arch, o);
            }
            let bin = nvrtc(KERNEL_SRC, arch, &quick)?;
            (
                bin,
                format!(
                    "NVRTC compiled a quick one ({}) in {:.2} s",
                    quick.join(" "),
                    t.elapsed().as_secs_f64()
                ),
            )
        }
    };
    QUICK.lock().unwrap().push((arch.to_string(), bin.clone()));
    if verbose {
        eprintln!(
            "gpuos: no cached core for {arch}: {what}; {} compile in the background and are swapped in when ready",
            steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(" and ")
        );
    }
    Ok((bin, steps))
}

/// Compile the core for `arch` with `more` NVRTC options into the cache in the
/// background: a child `gpuos compile-core` (it outlives a short run, so the next run
/// starts warm), or a thread where this program is not gpuos's command line (a test
/// binary).
fn background_compile(arch: &str, more: &[String]) {
    let exe = std::env::current_exe().ok();
    let is_cli = exe
        .as_ref()
        .and_then(|e| e.file_stem())
        .is_some_and(|n| n == "gpuos");
    let mut opts = extra_opts();
    opts.extend(more.iter().cloned());
    if let (true, Some(exe)) = (is_cli, exe) {
        let child = std::process::Command::new(exe)
            .args(["compile-core", "--arch", arch])
            .env("GPUOS_NVRTC_OPTS", opts.join(" "))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if let Ok(mut child) = child {
            // Reaped when it ends, if this process is still there.
            std::thread::spawn(move || child.wait());
            return;
        }
    }
    let arch = arch.to_string();
    let more = more.to_vec();
    std::thread::spawn(move || compile_with(&arch, &more, false));
}

/// A compile lock this process holds: removed when dropped (the compile ended, well or
/// not).
struct LockFile(std::path::PathBuf);
impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Compile the core for `arch` (e.g. "sm_90") with NVRTC, or take it from the cache.
pub(super) fn compile(arch: &str, verbose: bool) -> Result<Vec<u8>, RunError> {
    compile_with(arch, &[], verbose)
}

/// `compile` with `more` NVRTC options after the extra ones (a step core). One compile of
/// a core at a time across processes (`{file}.compiling`, tier 2's lock): a process that
/// finds another compiling it waits for its file instead of compiling it too (runs on a
/// cold cache each start background compiles: a gigabyte or more each), and compiles it
/// itself if that process ends without one.
fn compile_with(arch: &str, more: &[String], verbose: bool) -> Result<Vec<u8>, RunError> {
    let path = core_path_with(arch, more);
    let _ = std::fs::create_dir_all(cache_dir());
    let lock = path.with_extension("compiling");
    let _held = loop {
        if let Ok(bin) = std::fs::read(&path) {
            if verbose {
                eprintln!("gpuos: CUDA module cache hit {}", path.display());
            }
            return Ok(bin);
        }
        if crate::translate::take_lock(&lock) {
            break LockFile(lock);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    // Another process may have finished it between the look and the lock.
    if let Ok(bin) = std::fs::read(&path) {
        return Ok(bin);
    }
    let t = Instant::now();
    let bin = nvrtc(KERNEL_SRC, arch, more)?;
    if verbose {
        let (va, vb) = nvrtc_version();
        eprintln!(
            "gpuos: NVRTC {va}.{vb} compiled the core for {arch} in {:.2} s ({} KiB)",
            t.elapsed().as_secs_f64(),
            bin.len() / 1024
        );
    }
    let _ = std::fs::create_dir_all(cache_dir());
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, &bin).is_ok() {
        let _ = std::fs::rename(&tmp, &path);
    }
    Ok(bin)
}

/// The core for `arch` with a tier-2 translation compiled in: `blocks` (the source of
/// crates/gpuos/src/translate/gen.rs) in place of exec.h's marker line, built with
/// `-DGPUOS_TIER2=1`, and with `quick` (a quick translation's options, `step_opts`) when
/// given: seconds instead of minutes, slower code. Errors: NVRTC missing or failing, as
/// text (the translator reports it).
pub fn compile_translated(arch: &str, blocks: &str, quick: &[String]) -> Result<Vec<u8>, String> {
    // SAFETY: only probes whether the shared library can be opened.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err("libnvrtc not found".into());
    }
    if !KERNEL_SRC.contains(T2_MARKER) {
        return Err("the core's source has no tier-2 marker".into());
    }
    let src = KERNEL_SRC.replacen(T2_MARKER, blocks, 1);
    let mut opts = vec!["-DGPUOS_TIER2=1".to_string()];
    opts.extend(quick.iter().cloned());
    nvrtc(&src, arch, &opts).map_err(|e| e.to_string())
}

/// Compile `src` for `arch` with NVRTC (the core's options, `GPUOS_NVRTC_OPTS`, then
/// `more`) into a CUBIN.
fn nvrtc(src: &str, arch: &str, more: &[String]) -> Result<Vec<u8>, RunError> {
    use cudarc::nvrtc::{result as nv, sys as nvs};
    let src = CString::new(src).map_err(|e| err("kernel source", e))?;
    let prog = nv::create_program(&src, Some(c"gpuos_core.cu"))
        .map_err(|e| err("nvrtcCreateProgram", e))?;
    let mut opts = vec![
        format!("--gpu-architecture={arch}"),
        "-std=c++17".into(),
        "-default-device".into(),
        "--device-int128".into(),
        // Line tables only (no change to the code): lets Nsight Compute attribute
        // samples to kernel/ source lines.
        "--generate-line-info".into(),
    ];
    opts.extend(extra_opts());
    opts.extend(more.iter().cloned());
    // SAFETY: prog is a live program.
    let res = unsafe { nv::compile_program(prog, &opts) };
    if let Err(e) = res {
        // SAFETY: prog is live; the log is a C string.
        let log = unsafe { nv::get_program_log(prog) }.unwrap_or_default();
        let log: Vec<u8> = log
            .iter()
            .map(|&c| c as u8)
            .take_while(|&c| c != 0)
            .collect();
        // SAFETY: destroyed once.
        unsafe {
            let _ = nv::destroy_program(prog);
        }
        return Err(BackendError::Nvrtc {
            code: e.to_string(),
            log: String::from_utf8_lossy(&log).into_owned(),
        }
        .into());
    }
    let mut size = 0usize;
    // SAFETY: prog compiled; size then data.
    let bin = unsafe {
        nvs::nvrtcGetCUBINSize(prog, &mut size)
            .result()
            .map_err(|e| err("nvrtcGetCUBINSize", e))?;
        let mut bin = vec![0u8; size];
        nvs::nvrtcGetCUBIN(prog, bin.as_mut_ptr() as *mut std::ffi::c_char)
            .result()
            .map_err(|e| err("nvrtcGetCUBIN", e))?;
        let _ = nv::destroy_program(prog);
        bin
    };
    Ok(bin)
}

/// Compile the core for `arch` (e.g. "sm_90") into the on-disk cache without a GPU
/// (only NVRTC is needed), so that a later run starts warm. Returns the CUBIN size.
/// Errors: NVRTC missing or failing.
pub fn precompile(arch: &str, verbose: bool) -> Result<usize, RunError> {
    // SAFETY: only probes whether the shared library can be opened.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(BackendError::NoNvrtc.into());
    }
    compile(arch, verbose).map(|b| b.len())
}

pub(super) fn load_module(bin: &[u8]) -> Result<Module, RunError> {
    // SAFETY: bin is a complete CUBIN image; function names exist in it (extern "C").
    unsafe {
        let m = cu::module::load_data(bin.as_ptr() as *const c_void)
            .map_err(|e| err("cuModuleLoadData", e))?;
        // Load each kernel now (cuFuncLoad): under lazy loading a kernel is loaded at
        // its first launch, which waits for the kernels already running, and the
        // completion poller runs until the lanes' kernel ends: a deadlock.
        let f = |n: &str| {
            let f = cu::module::get_function(m, CString::new(n).unwrap()).map_err(|e| err(n, e))?;
            sys::cuFuncLoad(f)
                .result()
                .map_err(|e| err(&format!("cuFuncLoad {n}"), e))?;
            Ok::<_, RunError>(f)
        };
        let kernels = || -> Result<[sys::CUfunction; 5], RunError> {
            Ok([
                f("gpuos_start")?,
                f("gpuos_quantum")?,
                f("gpuos_persistent")?,
                f("gpuos_poller")?,
                f("gpuos_clock")?,
            ])
        };
        match kernels() {
            Ok([start, quantum, persistent, poller, clock]) => Ok(Module {
                handle: m,
                start,
                quantum,
                persistent,
                poller,
                clock,
            }),
            Err(e) => {
                let _ = sys::cuModuleUnload(m);
                Err(e)
            }
        }
    }
}
