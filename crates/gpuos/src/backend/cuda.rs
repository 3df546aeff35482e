//! The CUDA backend: one guest process per GPU thread.
//!
//! The execution core (kernel/, amalgamated by build.rs) is compiled at run time by
//! NVRTC for the GPU's architecture; the CUBIN is cached on disk keyed by the source
//! hash, the architecture and the NVRTC version. Guest state (processes, page tables,
//! frames) lives in device memory. Syscall requests and their buffers live in pinned,
//! device-mapped host memory (`cuMemHostAlloc` with DEVICEMAP): in persistent mode
//! lanes post their lane index to the submission ring (kernel/ring.h) and wait for the
//! completion while other lanes run on; a host thread pops the ring, serves the call
//! with the same services as the CPU backend, and publishes the completion. In quantum
//! mode the kernel runs every lane for a bounded number of instructions and returns;
//! the host serves what was posted and relaunches.

use super::clock::ClockOffsets;
use super::{finish_lane, map_in_order, report_round_trips, stop_requested};
use crate::abi::{
    MachineHdr, PanicRecord, Proc, RingCell, RingHdr, SysReq, FREE_SHARDS, PAGE_SIZE,
    PANIC_FRAME_RANGE, PANIC_REFCNT,
};
use crate::machine::{HostPool, LaneResult, Prepared, RunConfig, RunError, RunReport};
use crate::procs::Procs;
use crate::service;
use cudarc::driver::{result as cu, sys};
use sha2::{Digest, Sha256};
use std::ffi::{c_void, CString};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// The core as one CUDA C++ translation unit.
static KERNEL_SRC: &str = include_str!(concat!(env!("OUT_DIR"), "/kernel_amalgamated.cu"));

/// Threads per block.
const BLOCK: u32 = 128;
/// Instructions a lane runs between checks of the stop flag (persistent mode).
const PERSISTENT_SLICE: u64 = 1 << 20;
/// Instructions per lane per launch (quantum mode).
const QUANTUM: u64 = 1 << 16;

fn err(what: &str, e: impl std::fmt::Display) -> RunError {
    RunError::Backend(format!("CUDA: {what}: {e}"))
}

/// Whether the CUDA driver and NVRTC libraries are present and a device answers.
pub fn available() -> bool {
    why_unavailable_inner().is_none()
}

/// Why the CUDA backend cannot be used, in a few words.
pub fn why_unavailable() -> String {
    why_unavailable_inner().unwrap_or_else(|| "available".into())
}

fn why_unavailable_inner() -> Option<String> {
    // SAFETY: only probes whether the shared libraries can be opened.
    if !unsafe { sys::is_culib_present() } {
        return Some("libcuda not found".into());
    }
    // SAFETY: as above.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Some("libnvrtc not found".into());
    }
    // The persistent kernel and the completion poller must run at the same time; with
    // lazy loading (the default since CUDA 12.2) loading a kernel while another spins
    // can wait on it forever. Load every kernel of the module when it is loaded.
    if std::env::var_os("CUDA_MODULE_LOADING").is_none() {
        std::env::set_var("CUDA_MODULE_LOADING", "EAGER");
    }
    if let Err(e) = cu::init() {
        return Some(format!("cuInit failed: {e}"));
    }
    match cu::device::get_count() {
        Ok(n) if n > 0 => None,
        Ok(_) => Some("no CUDA device".into()),
        Err(e) => Some(format!("cuDeviceGetCount failed: {e}")),
    }
}

/// A device allocation freed on drop.
struct DevBuf(sys::CUdeviceptr);
impl DevBuf {
    fn new(bytes: usize) -> Result<DevBuf, RunError> {
        // SAFETY: plain device allocation; the pointer is owned by the returned value.
        unsafe { cu::malloc_sync(bytes.max(8)) }
            .map(DevBuf)
            .map_err(|e| err(&format!("allocating {bytes} bytes"), e))
    }
    fn upload<T>(&self, src: &[T]) -> Result<(), RunError> {
        // SAFETY: the allocation is at least as large as src (checked by the callers' sizing).
        unsafe { cu::memcpy_htod_sync(self.0, src) }.map_err(|e| err("copy to device", e))
    }
}
impl Drop for DevBuf {
    fn drop(&mut self) {
        // SAFETY: allocated by malloc_sync and freed once.
        unsafe {
            let _ = cu::free_sync(self.0);
        }
    }
}

/// Pinned, device-mapped host memory, freed on drop.
struct Pinned {
    ptr: *mut u8,
}
impl Pinned {
    fn new(len: usize) -> Result<Pinned, RunError> {
        let flags = sys::CU_MEMHOSTALLOC_DEVICEMAP | sys::CU_MEMHOSTALLOC_PORTABLE;
        // SAFETY: allocation call; the result is checked and zeroed before use.
        let p = unsafe { cu::malloc_host(len.max(8), flags) }
            .map_err(|e| err(&format!("pinning {len} bytes"), e))?;
        // SAFETY: p points at len writable bytes.
        unsafe { std::ptr::write_bytes(p as *mut u8, 0, len) };
        Ok(Pinned { ptr: p as *mut u8 })
    }
    /// The device address of the mapping (equal to the host address under UVA).
    fn dev(&self) -> Result<u64, RunError> {
        let mut d: sys::CUdeviceptr = 0;
        // SAFETY: ptr was allocated with DEVICEMAP.
        unsafe { sys::cuMemHostGetDevicePointer_v2(&mut d, self.ptr as *mut c_void, 0) }
            .result()
            .map_err(|e| err("cuMemHostGetDevicePointer", e))?;
        Ok(d)
    }
}
impl Drop for Pinned {
    fn drop(&mut self) {
        // SAFETY: allocated by malloc_host, freed once.
        unsafe {
            let _ = cu::free_host(self.ptr as *mut c_void);
        }
    }
}

/// The compiled module and its kernels.
/// The loaded core and its kernels; unloaded when dropped, so that a process that runs
/// many times (`gpuos bench`) does not pile up copies of it in GPU memory.
struct Module {
    handle: sys::CUmodule,
    start: sys::CUfunction,
    quantum: sys::CUfunction,
    persistent: sys::CUfunction,
    poller: sys::CUfunction,
    clock: sys::CUfunction,
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

/// Streams of one run, destroyed when dropped (work still queued on one completes
/// first, as cuStreamDestroy documents).
struct Streams(Vec<sys::CUstream>);
impl Streams {
    fn new(n: usize) -> Result<Streams, RunError> {
        let mut v = Streams(Vec::with_capacity(n));
        for _ in 0..n {
            v.0.push(
                cu::stream::create(cu::stream::StreamKind::NonBlocking)
                    .map_err(|e| err("stream", e))?,
            );
        }
        Ok(v)
    }
}
impl Drop for Streams {
    fn drop(&mut self) {
        for &s in &self.0 {
            // SAFETY: created by cuStreamCreate, destroyed once.
            unsafe {
                let _ = sys::cuStreamDestroy_v2(s);
            }
        }
    }
}

pub(crate) fn cache_dir() -> PathBuf {
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

/// Compile the core for `arch` (e.g. "sm_90") with NVRTC, or take it from the cache.
fn compile(arch: &str, verbose: bool) -> Result<Vec<u8>, RunError> {
    let (va, vb) = nvrtc_version();
    let key = {
        let mut h = Sha256::new();
        h.update(KERNEL_SRC.as_bytes());
        h.update(arch.as_bytes());
        h.update(format!("nvrtc {va}.{vb} lineinfo").as_bytes());
        h.update(extra_opts().join(" ").as_bytes());
        h.finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let path = cache_dir().join(format!("core-{arch}-{}.cubin", &key[..24]));
    if let Ok(bin) = std::fs::read(&path) {
        if verbose {
            eprintln!("gpuos: CUDA module cache hit {}", path.display());
        }
        return Ok(bin);
    }
    let t = Instant::now();
    use cudarc::nvrtc::{result as nv, sys as nvs};
    let src = CString::new(KERNEL_SRC).map_err(|e| err("kernel source", e))?;
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
        return Err(RunError::Backend(format!(
            "NVRTC failed ({e}):\n{}",
            String::from_utf8_lossy(&log)
        )));
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
    if verbose {
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

/// Compile the core for `arch` (e.g. "sm_90") into the on-disk cache without a GPU
/// (only NVRTC is needed), so that a later run starts warm. Returns the CUBIN size.
/// Errors: NVRTC missing or failing.
pub fn precompile(arch: &str, verbose: bool) -> Result<usize, RunError> {
    // SAFETY: only probes whether the shared library can be opened.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(RunError::Backend("libnvrtc not found".into()));
    }
    compile(arch, verbose).map(|b| b.len())
}

fn load_module(bin: &[u8]) -> Result<Module, RunError> {
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

/// Device name, architecture, free memory.
fn open_device() -> Result<(String, String, usize), RunError> {
    if let Some(why) = why_unavailable_inner() {
        return Err(RunError::Backend(format!(
            "the CUDA backend is not available: {why}"
        )));
    }
    let dev = cu::device::get(0).map_err(|e| err("cuDeviceGet", e))?;
    // SAFETY: dev is valid; the primary context is retained for the process lifetime.
    unsafe {
        // Keep local memory at its high-water mark after a launch (see the sizing
        // launches in `run`); failing to set it only costs that guarantee.
        let _ = sys::cuDevicePrimaryCtxSetFlags_v2(
            dev,
            sys::CUctx_flags::CU_CTX_LMEM_RESIZE_TO_MAX as u32,
        );
        let ctx = cu::primary_ctx::retain(dev).map_err(|e| err("cuDevicePrimaryCtxRetain", e))?;
        cu::ctx::set_current(ctx).map_err(|e| err("cuCtxSetCurrent", e))?;
        let major = cu::device::get_attribute(
            dev,
            sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
        )
        .map_err(|e| err("attribute", e))?;
        let minor = cu::device::get_attribute(
            dev,
            sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
        )
        .map_err(|e| err("attribute", e))?;
        let name = cu::device::get_name(dev).unwrap_or_else(|_| "CUDA device".into());
        let (free, _total) = cu::mem_get_info().map_err(|e| err("cuMemGetInfo", e))?;
        Ok((name, format!("sm_{major}{minor}"), free))
    }
}

/// How many lanes the GPU runs at once: multiprocessors x the persistent kernel's
/// resident blocks per multiprocessor (`cuOccupancyMaxActiveBlocksPerMultiprocessor`,
/// which accounts for its registers) x BLOCK lanes: 67,584 on an H100 SXM (132 x 4 x
/// 128). More lanes still run, in blocks that start as earlier ones end.
///
/// Errors: no usable GPU, or the core cannot be compiled or loaded.
pub fn resident_lanes() -> Result<usize, RunError> {
    let (_, arch, _) = open_device()?;
    let module = load_module(&compile(&arch, false)?)?;
    let dev = cu::device::get(0).map_err(|e| err("cuDeviceGet", e))?;
    // SAFETY: dev is valid and its primary context current (open_device); the module
    // lives until the end of this function.
    unsafe {
        let sms = cu::device::get_attribute(
            dev,
            sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
        )
        .map_err(|e| err("attribute", e))?;
        let mut blocks = 0i32;
        sys::cuOccupancyMaxActiveBlocksPerMultiprocessor(
            &mut blocks,
            module.persistent,
            BLOCK as i32,
            0,
        )
        .result()
        .map_err(|e| err("cuOccupancyMaxActiveBlocksPerMultiprocessor", e))?;
        Ok(sms.max(0) as usize * blocks.max(0) as usize * BLOCK as usize)
    }
}

/// Launch `f` over `lanes` threads in blocks of BLOCK.
fn launch(
    f: sys::CUfunction,
    lanes: usize,
    stream: sys::CUstream,
    params: &mut [*mut c_void],
) -> Result<(), RunError> {
    launch_grid(
        f,
        lanes.div_ceil(BLOCK as usize) as u32,
        BLOCK,
        stream,
        params,
    )
}

fn launch_grid(
    f: sys::CUfunction,
    grid: u32,
    block: u32,
    stream: sys::CUstream,
    params: &mut [*mut c_void],
) -> Result<(), RunError> {
    // SAFETY: params point at live values of the kernel's parameter types.
    unsafe { cu::launch_kernel(f, (grid, 1, 1), (block, 1, 1), 0, stream, params) }
        .map_err(|e| err("cuLaunchKernel", e))
}

/// Launch one of the lanes' kernels, `(MachineHdr* m, u64 n)`: n is the instruction
/// slice (persistent) or budget (quantum), over `lanes` threads.
fn launch_lanes(
    f: sys::CUfunction,
    lanes: usize,
    stream: sys::CUstream,
    mut m: u64,
    mut n: u64,
) -> Result<(), RunError> {
    launch(
        f,
        lanes,
        stream,
        &mut [
            &mut m as *mut u64 as *mut c_void,
            &mut n as *mut u64 as *mut c_void,
        ],
    )
}

/// The device clocks' offsets (backend/clock.rs), measured with the `gpuos_clock`
/// kernel on the null stream before any other kernel runs.
fn device_clock_offsets(module: &Module) -> Result<ClockOffsets, RunError> {
    let out = DevBuf::new(8)?;
    ClockOffsets::measure(5, || {
        let mut p = out.0;
        launch_grid(
            module.clock,
            1,
            1,
            std::ptr::null_mut(),
            &mut [&mut p as *mut u64 as *mut c_void],
        )?;
        let mut t = [0u64];
        // SAFETY: `out` holds one u64; the copy on the null stream follows the launch.
        unsafe { cu::memcpy_dtoh_sync(&mut t, out.0) }.map_err(|e| err("clock probe", e))?;
        Ok(t[0])
    })
}

fn sync(stream: sys::CUstream, what: &str) -> Result<(), RunError> {
    // SAFETY: stream is live.
    unsafe { cu::stream::synchronize(stream) }.map_err(|e| {
        RunError::Backend(format!(
            "CUDA error in {what}: {e} (a device-side fault of gpuos itself, not of a guest)"
        ))
    })
}

/// Host threads serving syscalls in persistent mode when `--threads` is not given.
const SERVICE_THREADS: usize = 4;
/// Most submission-ring entries a service thread takes per acquisition of the pop lock
/// (`GPUOS_POP_BATCH`, 1 to 16, sets fewer: default 4).
const POP_BATCH: usize = 16;

fn pop_batch() -> usize {
    std::env::var("GPUOS_POP_BATCH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(4)
        .clamp(1, POP_BATCH)
}

/// What the service threads share: pinned host memory laid out as in `abi`.
#[derive(Clone, Copy)]
struct Shared {
    reqs: *mut SysReq,
    bufs: *mut u8,
    buf_size: usize,
    /// Number of lanes (ring entries are lane indices).
    lanes: usize,
    /// Submission ring (lanes push, service threads pop under a lock).
    sub: *mut RingHdr,
    /// Completion ring, host view (service threads push, the device's poller pops).
    comp: *mut RingHdr,
    strace: bool,
}
// SAFETY: the pointers refer to pinned allocations that outlive the service threads.
// A lane has at most one request in flight, so one thread at a time touches its SysReq
// and buffer (from the pop of its lane index to the store of `done`); the rings are
// built for concurrent producers, and their single consumer is serialised by a lock.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

/// Turns deferred sleeps off again for the calling thread when dropped.
struct DeferSleepsOff;
impl Drop for DeferSleepsOff {
    fn drop(&mut self) {
        crate::host::time::defer_sleeps_on_this_thread(false);
    }
}

/// What became of a lane's posted request (`serve_one`).
enum Outcome {
    /// Served and published (`SysReq::done = seq`): the result and output length
    /// (`SysReq::ret`, `out_len`), read before `done` was stored, since after it the
    /// lane may post its next request into the same `SysReq`.
    Done((i64, u32)),
    /// The host is out of file descriptors: nothing done; serve it again later.
    Retry,
    /// A sleep, served: publish it (`publish`) at this time.
    WakeAt(Instant),
}

/// Serve lane's posted request (made by whichever process of its family `SysReq::slot`
/// names) and, unless it is a deferred sleep, publish it. `defer`: a request that finds
/// the host out of file descriptors may be left undone (`service::Served::Deferred`).
fn serve_one(sh: Shared, hosts: &Procs<'_>, lane: usize, defer: bool) -> Outcome {
    // SAFETY: see `Shared`: this thread owns the lane's request until it stores done.
    let served = unsafe {
        let req = &mut *sh.reqs.add(lane);
        let buf = std::slice::from_raw_parts_mut(sh.bufs.add(lane * sh.buf_size), sh.buf_size);
        hosts.serve(req, buf, sh.strace, defer)
    };
    match served {
        service::Served::Done => Outcome::Done(publish(sh, lane)),
        service::Served::Deferred => Outcome::Retry,
        service::Served::WakeAt(t) => Outcome::WakeAt(t),
    }
}

/// Mark lane's served request done (`SysReq::done = seq`); returns its result and
/// output length, read before.
fn publish(sh: Shared, lane: usize) -> (i64, u32) {
    // SAFETY: see `Shared`: this thread owns the lane's request until it stores done.
    unsafe {
        let req = &mut *sh.reqs.add(lane);
        let result = (req.ret, req.out_len);
        std::sync::atomic::fence(Ordering::SeqCst);
        std::ptr::write_volatile(&mut req.done, req.seq);
        result
    }
}

/// Requests a service thread holds back: those that found the host out of file
/// descriptors, with when they first did (each is served again, oldest first, as long
/// as that succeeds, and given EMFILE once `service::fd_wait_over`), and sleeps,
/// served and published when due.
#[derive(Default)]
struct Held {
    retry: std::collections::VecDeque<(usize, Instant)>,
    sleeping: std::collections::BinaryHeap<std::cmp::Reverse<(Instant, usize)>>,
}

impl Held {
    /// Serve `lane`'s new request; its result when it is published now.
    fn serve(&mut self, sh: Shared, hosts: &Procs<'_>, lane: usize) -> Option<(i64, u32)> {
        self.outcome(lane, Instant::now(), serve_one(sh, hosts, lane, true))
    }

    fn outcome(&mut self, lane: usize, since: Instant, o: Outcome) -> Option<(i64, u32)> {
        match o {
            Outcome::Done(r) => Some(r),
            Outcome::Retry => {
                self.retry.push_back((lane, since));
                None
            }
            Outcome::WakeAt(t) => {
                self.sleeping.push(std::cmp::Reverse((t, lane)));
                None
            }
        }
    }

    /// Publish the sleeps that are due, then serve waiting requests again, oldest
    /// first, until one still finds no descriptor (at most `most`); `done` gets each
    /// published lane with its result.
    fn release(
        &mut self,
        sh: Shared,
        hosts: &Procs<'_>,
        most: usize,
        mut done: impl FnMut(usize, (i64, u32)),
    ) {
        let now = Instant::now();
        while let Some(&std::cmp::Reverse((t, lane))) = self.sleeping.peek() {
            if t > now {
                break;
            }
            self.sleeping.pop();
            done(lane, publish(sh, lane));
        }
        for _ in 0..most {
            let Some((lane, since)) = self.retry.pop_front() else {
                return;
            };
            let defer = !service::fd_wait_over(since);
            let o = serve_one(sh, hosts, lane, defer);
            if matches!(o, Outcome::Retry) {
                self.retry.push_front((lane, since));
                return;
            }
            if defer {
                service::note_fd_progress(); // it got its descriptor, not EMFILE
            }
            if let Some(r) = self.outcome(lane, since, o) {
                done(lane, r);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.retry.is_empty() && self.sleeping.is_empty()
    }
}

/// One service thread of persistent mode: pop a lane from the submission ring, serve
/// it, push it with its result and output length to the completion ring (the poller
/// hands those to the lane in device memory); spin while idle, then yield, then nap.
fn service_loop(
    sh: Shared,
    hosts: &Procs<'_>,
    pop_lock: &Mutex<()>,
    finished: &AtomicBool,
    serve_ns: &AtomicU64,
) {
    let mut idle = 0u32;
    let mut held = Held::default();
    crate::host::time::defer_sleeps_on_this_thread(true);
    let mut batch = [0u64; POP_BATCH];
    let most = pop_batch();
    // Up to `most` entries per lock acquisition (served outside the lock).
    let pop_all = |batch: &mut [u64; POP_BATCH]| {
        let mut n = 0;
        // SAFETY: the ring's one consumer at a time (the caller holds the lock).
        while n < most && unsafe { crate::ffi::gpuos_ring_pop(sh.sub, &mut batch[n]) } {
            n += 1;
        }
        n
    };
    loop {
        // try_lock: a thread that finds the lock taken leaves the polling to its holder
        // and spins on, instead of sleeping in the mutex and waking late.
        let got = match pop_lock.try_lock() {
            Ok(_g) => pop_all(&mut batch),
            Err(std::sync::TryLockError::Poisoned(p)) => {
                let _g = p.into_inner();
                pop_all(&mut batch)
            }
            Err(std::sync::TryLockError::WouldBlock) => 0,
        };
        if got > 0 {
            idle = 0;
        }
        let complete = |lane: usize, (ret, out_len): (i64, u32)| {
            if !sh.comp.is_null() {
                // SAFETY: host view of the completion ring; producers may run
                // concurrently.
                unsafe {
                    crate::ffi::gpuos_ring_push_result(
                        sh.comp,
                        lane as u64,
                        ret as u64,
                        out_len as u64,
                    )
                };
            }
        };
        for &lane in &batch[..got] {
            let lane = lane as usize;
            if lane < sh.lanes {
                let t = Instant::now();
                if let Some(r) = held.serve(sh, hosts, lane) {
                    complete(lane, r);
                }
                serve_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
        }
        held.release(sh, hosts, 64, complete);
        if got > 0 {
            continue;
        }
        if finished.load(Ordering::Acquire) {
            return;
        }
        idle = idle.saturating_add(1);
        if idle < 20_000 || !held.is_empty() {
            std::hint::spin_loop();
        } else if idle < 200_000 {
            std::thread::yield_now();
        } else {
            std::thread::sleep(std::time::Duration::from_micros(20));
        }
    }
}

/// A kernel's error, with the lane and the cause when a lane recorded an internal error
/// (`PanicRecord`, kernel/core.h `gpuos_panic`) before it trapped.
fn with_panic(e: RunError, rec: *const PanicRecord) -> RunError {
    // SAFETY: rec points at a live pinned PanicRecord; the kernel has failed, so no lane
    // writes it any more.
    let r = unsafe { std::ptr::read_volatile(rec) };
    let RunError::Backend(msg) = e else { return e };
    if r.set == 0 {
        return RunError::Backend(format!(
            "{msg}; no gpuos check fired before it, so the lane is not known"
        ));
    }
    let what = match r.code {
        PANIC_FRAME_RANGE => format!("frame index {} beyond the frame pool", r.arg),
        PANIC_REFCNT => format!("the reference count of frame {} went below zero", r.arg),
        c => format!("internal error {c} (value {})", r.arg),
    };
    RunError::Backend(format!("{msg}; lane {} stopped the kernel: {what}", r.lane))
}

/// Wait for the persistent kernel to end, forwarding a stop request (Ctrl-C) to it.
fn watch_kernel(
    stream: sys::CUstream,
    send_stop: &dyn Fn() -> Result<(), RunError>,
    report: Option<&dyn Fn()>,
) -> Result<(), RunError> {
    let mut stop_sent = false;
    let mut last = Instant::now();
    loop {
        if let Some(report) = report {
            if last.elapsed().as_secs() >= 1 {
                report();
                last = Instant::now();
            }
        }
        // SAFETY: stream is live.
        match unsafe { sys::cuStreamQuery(stream) } {
            sys::CUresult::CUDA_SUCCESS => return Ok(()),
            sys::CUresult::CUDA_ERROR_NOT_READY => {}
            e => {
                return Err(RunError::Backend(format!(
                    "CUDA error in the persistent kernel: {e:?} (a device-side fault of gpuos itself, not of a guest)"
                )))
            }
        }
        if stop_requested() && !stop_sent {
            send_stop()?;
            stop_sent = true;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

/// Run `cfg.lanes` copies of the prepared program on the GPU.
pub fn run(cfg: &RunConfig, prep: &Prepared) -> Result<RunReport, RunError> {
    let lanes = cfg.lanes.max(1);
    let slots = lanes + cfg.children();
    let t_setup = Instant::now();
    let (name, arch, free) = open_device()?;
    let t_compile = Instant::now();
    let module = load_module(&compile(&arch, cfg.verbose)?)?;
    if cfg.verbose {
        eprintln!(
            "gpuos: {name} ({arch}), {} MiB free; module ready in {:.2} s",
            free >> 20,
            t_compile.elapsed().as_secs_f64()
        );
    }

    // Template in a host staging pool, copied to the device pool's first frames.
    let mut hdr = MachineHdr::default();
    let staging = HostPool::new(prep.template_frames_bound(), &mut hdr)?;
    let tmpl_frames = prep.build_template(&mut hdr)?;

    // Host-visible request area: buffers sized so that all lanes fit in about 2 GiB.
    let buf_size: u64 = ((2u64 << 30) / lanes as u64).clamp(16 << 10, 64 << 10) & !4095;
    let reqs = Pinned::new(lanes * std::mem::size_of::<SysReq>())?;
    let bufs = Pinned::new(lanes * buf_size as usize)?;
    let cap = (lanes as u64).next_power_of_two().max(64);
    let cells = Pinned::new(cap as usize * std::mem::size_of::<RingCell>())?;
    let ring = Pinned::new(std::mem::size_of::<RingHdr>())?;
    let enq = DevBuf::new(8)?;
    enq.upload(&[0u64])?;

    // Device memory: processes (every lane's first, then the pool for children),
    // stacks, then the frame pool from what is left.
    let procs = DevBuf::new(slots * std::mem::size_of::<Proc>())?;
    let (blob, offs) = prep.stack_blob();
    let stacks = DevBuf::new(blob.len())?;
    stacks.upload(&blob)?;
    let stack_offs = DevBuf::new(offs.len() * 8)?;
    stack_offs.upload(&offs)?;
    // SAFETY: query only.
    let (free_now, _) = cu::mem_get_info().map_err(|e| err("cuMemGetInfo", e))?;
    let reserve = 512usize << 20; // local memory for the lanes' stacks, driver needs
    let per_frame = PAGE_SIZE as usize + 8;
    // Enough for every lane's likely peak (64 MiB each, at least 1 GiB), but never more
    // than 90% of what is free, so that several gpuos processes can share one GPU.
    // GPUOS_POOL_MIB sets the pool's size instead (several gpuos runs sharing one GPU,
    // as the conformance script's parallel jobs do).
    let want = match std::env::var("GPUOS_POOL_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(mib) => (mib << 20) / PAGE_SIZE,
        None => (lanes as u64 * 16384).max(262_144) + tmpl_frames,
    };
    let nframes = (((free_now.saturating_sub(reserve)) * 9 / 10 / per_frame) as u64).min(want);
    if nframes < tmpl_frames + 64 {
        return Err(RunError::Memory(format!(
            "only {} MiB of GPU memory free",
            free_now >> 20
        )));
    }
    let frames = DevBuf::new((nframes * PAGE_SIZE) as usize)?;
    let refcnt = DevBuf::new((nframes * 4) as usize)?;
    let free_heads = DevBuf::new((FREE_SHARDS * 8) as usize)?;
    // Every list empty.
    free_heads.upload(&[0u64; FREE_SHARDS as usize])?;
    // SAFETY: copies the template's frames (host staging) into the device pool.
    unsafe {
        let tbytes =
            std::slice::from_raw_parts(staging.frames.ptr(), (tmpl_frames * PAGE_SIZE) as usize);
        cu::memcpy_htod_sync(frames.0, tbytes).map_err(|e| err("template copy", e))?;
    }
    drop(staging);
    hdr.frames = frames.0;
    hdr.nframes = nframes;
    hdr.refcnt = refcnt.0;
    hdr.free_heads = free_heads.0;
    hdr.bump = tmpl_frames;
    let dcache = DevBuf::new((tmpl_frames * 1024 * 2) as usize)?;
    dcache.upload(&vec![0u16; (tmpl_frames * 1024) as usize])?;
    hdr.dcache = dcache.0;
    hdr.procs = procs.0;
    hdr.nprocs = lanes as u64;
    hdr.nslots = slots as u64;
    hdr.slot_bump = lanes as u64;
    hdr.reqs = reqs.dev()?;
    hdr.bufs = bufs.dev()?;
    hdr.buf_size = buf_size;
    hdr.stacks = stacks.0;
    hdr.stack_offs = stack_offs.0;
    hdr.nstacks = prep.stacks.len() as u64;
    hdr.max_insns = cfg.max_insns;
    hdr.strace = cfg.strace as u32;
    hdr.stop = 0;
    hdr.live = lanes as u64;
    crate::machine::mem_limits(cfg, &mut hdr, nframes, tmpl_frames);
    // SAFETY: ring and cells are pinned host memory of the right sizes.
    unsafe {
        let r = &mut *(ring.ptr as *mut RingHdr);
        r.capacity = cap;
        r.cells = cells.dev()?;
        r.enq = enq.0;
        r.deq = 0;
        r.closed = 0;
        r.no_wait = 1; // cap >= lanes, one request in flight per lane
        for i in 0..cap {
            (*(cells.ptr as *mut RingCell).add(i as usize)).seq = i;
        }
    }
    hdr.ring = ring.dev()?;
    // Completion ring: host service threads push (counter in host memory), the device's
    // poller warp pops (its header, with the read position, in device memory). Twice the
    // submission ring's cells: a lane that saw its completion through its own poll of
    // SysReq::done (wait_host's fallback) may post and be answered again before the
    // poller consumed the first entry, so a lane can have two entries here.
    let comp_cap = 2 * cap;
    let comp_cells = Pinned::new(comp_cap as usize * std::mem::size_of::<RingCell>())?;
    let comp_enq = Box::new(0u64);
    // SAFETY: comp_cells holds comp_cap cells.
    unsafe {
        for i in 0..comp_cap {
            (*(comp_cells.ptr as *mut RingCell).add(i as usize)).seq = i;
        }
    }
    let mut comp_host = Box::new(RingHdr {
        capacity: comp_cap,
        enq: &*comp_enq as *const u64 as u64,
        deq: 0,
        cells: comp_cells.ptr as u64,
        closed: 0,
        no_wait: 1,
    });
    let comp_dev = DevBuf::new(std::mem::size_of::<RingHdr>())?;
    comp_dev.upload(std::slice::from_ref(&RingHdr {
        cells: comp_cells.dev()?,
        enq: 0,
        ..*comp_host
    }))?;
    // GPUOS_NO_POLLER=1: lanes poll SysReq::done across PCIe themselves (the design
    // before the poller; kept to compare and to rule the poller out when debugging).
    let use_poller = cfg.mode == crate::machine::Mode::Persistent
        && std::env::var_os("GPUOS_NO_POLLER").is_none();
    hdr.comp = if use_poller { comp_dev.0 } else { 0 };
    // Where a lane records an internal error before it traps (host memory: readable
    // after the fault has made the context unusable).
    let panic_rec = Pinned::new(std::mem::size_of::<PanicRecord>())?;
    hdr.panic = panic_rec.dev()?;
    let panic_ptr = panic_rec.ptr as *const PanicRecord;
    let explain = |e: RunError| with_panic(e, panic_ptr);
    let comp_enq_addr = &*comp_enq as *const u64 as usize;
    device_clock_offsets(&module)?.apply(&mut hdr);
    let mdev = DevBuf::new(std::mem::size_of::<MachineHdr>())?;
    mdev.upload(std::slice::from_ref(&hdr))?;
    if cfg.verbose {
        eprintln!(
            "gpuos: {lanes} lanes; frame pool {} MiB ({} frames), image template {} KiB, request buffers {} KiB per lane",
            (nframes * PAGE_SIZE) >> 20,
            nframes,
            tmpl_frames * 4,
            buf_size >> 10
        );
    }

    let hosts = Procs::new(cfg, prep, lanes, slots - lanes);
    for l in 0..lanes {
        hosts.start_lane(l)?;
    }
    // The lanes' kernels; stop-flag writes and debug reads beside them; the poller.
    let streams = Streams::new(3)?;
    let (stream, ctl, poll_stream) = (streams.0[0], streams.0[1], streams.0[2]);
    // Size the context's local memory for the lanes' kernel now, while the GPU is idle:
    // growing it at a launch waits for the running kernels, and the completion poller,
    // launched first, runs until the lanes' kernel ends. One empty launch of each
    // kernel (no processes, nothing live) does the growing.
    {
        let idle_hdr = DevBuf::new(std::mem::size_of::<MachineHdr>())?;
        idle_hdr.upload(std::slice::from_ref(&MachineHdr::default()))?;
        let mut ip = idle_hdr.0;
        for f in [module.persistent, module.quantum] {
            launch_lanes(f, 1, stream, ip, 0)?;
        }
        launch_grid(
            module.poller,
            1,
            32,
            stream,
            &mut [&mut ip as *mut u64 as *mut c_void],
        )?;
        sync(stream, "sizing local memory")?;
    }
    let mut mptr = mdev.0;
    let start = Instant::now();
    if cfg.verbose {
        eprintln!(
            "gpuos: host set-up {:.3} s (device, module, buffers, {lanes} lanes' host state)",
            t_setup.elapsed().as_secs_f64()
        );
    }
    launch(
        module.start,
        lanes,
        stream,
        &mut [&mut mptr as *mut u64 as *mut c_void],
    )?;
    sync(stream, "process start").map_err(explain)?;
    if cfg.verbose {
        eprintln!(
            "gpuos: process start (gpuos_start) {:.3} s",
            start.elapsed().as_secs_f64()
        );
    }

    let sh = Shared {
        reqs: reqs.ptr as *mut SysReq,
        bufs: bufs.ptr,
        buf_size: buf_size as usize,
        lanes,
        sub: ring.ptr as *mut RingHdr,
        comp: if use_poller {
            &mut *comp_host as *mut RingHdr
        } else {
            std::ptr::null_mut()
        },
        strace: cfg.strace,
    };
    let mdev_addr = mdev.0;
    let send_stop = move || -> Result<(), RunError> {
        let one: u32 = 1;
        let off = std::mem::offset_of!(MachineHdr, stop) as u64;
        // SAFETY: writes the stop flag of the device MachineHdr on a separate stream,
        // which runs while the kernels do.
        unsafe {
            sys::cuMemcpyHtoDAsync_v2(mdev_addr + off, &one as *const u32 as *const c_void, 4, ctl)
        }
        .result()
        .map_err(|e| err("stop flag", e))?;
        // SAFETY: ctl is live.
        unsafe { cu::stream::synchronize(ctl) }.map_err(|e| err("stop flag", e))
    };

    // Host time spent serving requests (pop to completion push), for the timing report.
    let serve_ns = AtomicU64::new(0);
    match cfg.mode {
        crate::machine::Mode::Persistent => {
            // The poller first, so that its warp is resident before the lanes' blocks
            // fill the GPU.
            if use_poller {
                launch_grid(
                    module.poller,
                    1,
                    32,
                    poll_stream,
                    &mut [&mut mptr as *mut u64 as *mut c_void],
                )?;
            }
            if let Err(e) = launch_lanes(module.persistent, lanes, stream, mptr, PERSISTENT_SLICE) {
                // The poller would otherwise wait for lanes that never start.
                let _ = send_stop();
                return Err(e);
            }
            let nthreads = if cfg.threads > 0 {
                cfg.threads
            } else {
                SERVICE_THREADS
            }
            .min(lanes);
            let finished = AtomicBool::new(false);
            let pop_lock = Mutex::new(());
            let outcome = std::thread::scope(|s| {
                for _ in 0..nthreads {
                    s.spawn(|| service_loop(sh, &hosts, &pop_lock, &finished, &serve_ns));
                }
                // GPUOS_DEBUG_RINGS=1: once a second, the rings' positions and lane
                // 0's state, read while the kernels run (for diagnosing a stall).
                let report = || {
                    let mut h = MachineHdr::default();
                    let mut cr = RingHdr::default();
                    // SAFETY: Proc is plain old data.
                    let mut p0: Proc = unsafe { std::mem::zeroed() };
                    // SAFETY: device-to-host copies on the control stream, which runs
                    // beside the kernels; the values may be a moment old.
                    unsafe {
                        let _ = cu::memcpy_dtoh_async(std::slice::from_mut(&mut h), mdev_addr, ctl);
                        let _ =
                            cu::memcpy_dtoh_async(std::slice::from_mut(&mut cr), comp_dev.0, ctl);
                        let _ = cu::memcpy_dtoh_async(std::slice::from_mut(&mut p0), procs.0, ctl);
                        let _ = cu::stream::synchronize(ctl);
                    }
                    // SAFETY: host views of the rings, read racily for the report only.
                    let (sub_deq, comp_enq) =
                        unsafe { ((*sh.sub).deq, *(comp_enq_addr as *const u64)) };
                    eprintln!(
                        "gpuos: rings: submission popped {sub_deq}; completions pushed {comp_enq}, polled {}; live {} stop {}; lane 0 status {} requests {} done {} insns {} pc {:#x}",
                        cr.deq, h.live, h.stop, p0.status, p0.req_seq, p0.host_done, p0.insns, p0.cpu.pc
                    );
                };
                let debug = std::env::var_os("GPUOS_DEBUG_RINGS").is_some();
                let r = watch_kernel(stream, &send_stop, debug.then_some(&report as &dyn Fn()));
                finished.store(true, Ordering::Release);
                r
            });
            if let Err(e) = outcome {
                // SAFETY: the submission ring header is pinned host memory; closing it
                // releases producers that might still wait.
                unsafe { std::ptr::write_volatile(&mut (*sh.sub).closed, 1) };
                return Err(explain(e));
            }
            // Every process has ended (the poller sees live == 0) or the run stops;
            // raise the stop flag in any case so the poller cannot outlive the run.
            send_stop()?;
            sync(poll_stream, "the completion poller")?;
        }
        crate::machine::Mode::Quantum => {
            // Lanes whose request waits for host file descriptors, with since when;
            // lanes asleep, with when they wake.
            let mut waiting: std::collections::HashMap<usize, Instant> = Default::default();
            let mut sleeping: std::collections::HashMap<usize, Instant> = Default::default();
            crate::host::time::defer_sleeps_on_this_thread(true);
            let _sleep_again = DeferSleepsOff;
            loop {
                launch_lanes(module.quantum, lanes, stream, mptr, QUANTUM)?;
                sync(stream, "quantum kernel").map_err(explain)?;
                for lane in 0..lanes {
                    // SAFETY: reading the lane's posted request header (pinned memory,
                    // kernel idle).
                    let posted = unsafe {
                        let req = &*sh.reqs.add(lane);
                        req.seq != req.done
                    };
                    if !posted {
                        continue;
                    }
                    // A sleep is published when due; a request that finds the host out
                    // of file descriptors stays posted and is served again after the
                    // next launch.
                    let t = Instant::now();
                    if let Some(&wake) = sleeping.get(&lane) {
                        if wake <= t {
                            sleeping.remove(&lane);
                            publish(sh, lane);
                        }
                        continue;
                    }
                    let since = waiting.get(&lane).copied();
                    let defer = since.is_none_or(|s| !service::fd_wait_over(s));
                    match serve_one(sh, &hosts, lane, defer) {
                        Outcome::Retry => {
                            waiting.entry(lane).or_insert(t);
                        }
                        o => {
                            if waiting.remove(&lane).is_some() && defer {
                                service::note_fd_progress(); // not EMFILE
                            }
                            if let Outcome::WakeAt(w) = o {
                                sleeping.insert(lane, w);
                            }
                        }
                    }
                    serve_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                let mut h = MachineHdr::default();
                // SAFETY: reads the device MachineHdr back (kernel idle).
                unsafe { cu::memcpy_dtoh_sync(std::slice::from_mut(&mut h), mdev.0) }
                    .map_err(|e| err("read back", e))?;
                if h.live == 0 || stop_requested() {
                    break;
                }
            }
        }
    }
    sync(stream, "the kernel").map_err(explain)?;
    let seconds = start.elapsed().as_secs_f64();
    let t_results = Instant::now();
    // SAFETY: Proc is plain old data; all-zero is valid; then filled from the device.
    let mut procs_host: Vec<Proc> = vec![unsafe { std::mem::zeroed() }; lanes];
    // SAFETY: the device array has `lanes` entries; the kernel is done.
    unsafe { cu::memcpy_dtoh_sync(&mut procs_host, procs.0) }
        .map_err(|e| err("read back processes", e))?;
    if cfg.verbose {
        report_round_trips(&procs_host, serve_ns.load(Ordering::Relaxed));
    }
    // Every lane's outcome, its output hashed and (with --output-dir) written: spread
    // over the host's cores (100,000 lanes can mean 200,000 files).
    let finished = map_in_order(hosts.into_lanes(), |lane, mut host| {
        let (r, out) = finish_lane(cfg, lane, &procs_host[lane], &mut host);
        (r, if lane == 0 { out } else { Vec::new() })
    });
    let mut results: Vec<LaneResult> = Vec::with_capacity(lanes);
    let mut stdout0 = Vec::new();
    for (r, out) in finished {
        if results.is_empty() {
            stdout0 = out;
        }
        results.push(r);
    }
    if results.len() != lanes {
        return Err(RunError::Backend(format!(
            "lost the results of {} lanes while reading them back",
            lanes - results.len()
        )));
    }
    if cfg.verbose {
        eprintln!(
            "gpuos: start and run {seconds:.3} s; results read back and lanes' files closed in {:.3} s",
            t_results.elapsed().as_secs_f64()
        );
    }
    Ok(RunReport {
        backend: "cuda".into(),
        device: format!("{name} ({arch})"),
        lanes: results,
        seconds,
        template_frames: tmpl_frames,
        stdout0,
        rss_limit: hdr.rss_limit * PAGE_SIZE,
        interrupted: super::stop_signal(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errors_name_the_lane_that_recorded_an_internal_error() {
        let fault =
            || RunError::Backend("CUDA error in the kernel: unspecified launch failure".into());
        let mut rec = PanicRecord::default();
        let msg = with_panic(fault(), &rec).to_string();
        assert!(msg.contains("unspecified launch failure"), "{msg}");
        assert!(msg.contains("lane is not known"), "{msg}");
        rec = PanicRecord {
            set: 1,
            code: PANIC_FRAME_RANGE,
            lane: 4711,
            arg: 1 << 40,
        };
        let msg = with_panic(fault(), &rec).to_string();
        assert!(msg.contains("lane 4711 stopped the kernel"), "{msg}");
        assert!(
            msg.contains(&format!("frame index {}", 1u64 << 40)),
            "{msg}"
        );
        rec.code = PANIC_REFCNT;
        let msg = with_panic(fault(), &rec).to_string();
        assert!(msg.contains("reference count of frame"), "{msg}");
    }
}
