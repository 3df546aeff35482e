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

use super::{finish_lane, stop_requested};
use crate::abi::{MachineHdr, Proc, RingCell, RingHdr, SysReq, PAGE_SIZE};
use crate::machine::{HostPool, LaneResult, Prepared, RunConfig, RunError, RunReport};
use crate::service;
use cudarc::driver::{result as cu, sys};
use sha2::{Digest, Sha256};
use std::ffi::{c_void, CString};
use std::path::PathBuf;
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
struct Module {
    start: sys::CUfunction,
    quantum: sys::CUfunction,
    persistent: sys::CUfunction,
}

fn cache_dir() -> PathBuf {
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

/// Compile the core for `arch` (e.g. "sm_90") with NVRTC, or take it from the cache.
fn compile(arch: &str, verbose: bool) -> Result<Vec<u8>, RunError> {
    let (va, vb) = nvrtc_version();
    let key = {
        let mut h = Sha256::new();
        h.update(KERNEL_SRC.as_bytes());
        h.update(arch.as_bytes());
        h.update(format!("nvrtc {va}.{vb}").as_bytes());
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
    let opts = [
        format!("--gpu-architecture={arch}"),
        "-std=c++17".into(),
        "-default-device".into(),
        "--device-int128".into(),
    ];
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
        let f =
            |n: &str| cu::module::get_function(m, CString::new(n).unwrap()).map_err(|e| err(n, e));
        Ok(Module {
            start: f("gpuos_start")?,
            quantum: f("gpuos_quantum")?,
            persistent: f("gpuos_persistent")?,
        })
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

fn launch(
    f: sys::CUfunction,
    lanes: usize,
    stream: sys::CUstream,
    params: &mut [*mut c_void],
) -> Result<(), RunError> {
    let grid = lanes.div_ceil(BLOCK as usize) as u32;
    // SAFETY: params point at live values of the kernel's parameter types.
    unsafe { cu::launch_kernel(f, (grid, 1, 1), (BLOCK, 1, 1), 0, stream, params) }
        .map_err(|e| err("cuLaunchKernel", e))
}

fn sync(stream: sys::CUstream, what: &str) -> Result<(), RunError> {
    // SAFETY: stream is live.
    unsafe { cu::stream::synchronize(stream) }.map_err(|e| {
        RunError::Backend(format!(
            "CUDA error in {what}: {e} (a device-side fault of gpuos itself, not of a guest)"
        ))
    })
}

/// Run `cfg.lanes` copies of the prepared program on the GPU.
pub fn run(cfg: &RunConfig, prep: &Prepared) -> Result<RunReport, RunError> {
    let lanes = cfg.lanes.max(1);
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

    // Device memory: processes, stacks, then the frame pool from what is left.
    let procs = DevBuf::new(lanes * std::mem::size_of::<Proc>())?;
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
    let want = (lanes as u64 * 16384).max(262_144) + tmpl_frames;
    let nframes = (((free_now.saturating_sub(reserve)) * 9 / 10 / per_frame) as u64).min(want);
    if nframes < tmpl_frames + 64 {
        return Err(RunError::Memory(format!(
            "only {} MiB of GPU memory free",
            free_now >> 20
        )));
    }
    let frames = DevBuf::new((nframes * PAGE_SIZE) as usize)?;
    let refcnt = DevBuf::new((nframes * 4) as usize)?;
    let free_stack = DevBuf::new((nframes * 4) as usize)?;
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
    hdr.free_stack = free_stack.0;
    hdr.free_top = 0;
    hdr.free_lock = 0;
    hdr.bump = tmpl_frames;
    hdr.procs = procs.0;
    hdr.nprocs = lanes as u64;
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
    // SAFETY: ring and cells are pinned host memory of the right sizes.
    unsafe {
        let r = &mut *(ring.ptr as *mut RingHdr);
        r.capacity = cap;
        r.cells = cells.dev()?;
        r.enq = enq.0;
        r.deq = 0;
        r.closed = 0;
        for i in 0..cap {
            (*(cells.ptr as *mut RingCell).add(i as usize)).seq = i;
        }
    }
    hdr.ring = ring.dev()?;
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

    let mut hosts = (0..lanes)
        .map(|l| prep.proc_host(cfg, l))
        .collect::<Result<Vec<_>, _>>()?;
    let stream =
        cu::stream::create(cu::stream::StreamKind::NonBlocking).map_err(|e| err("stream", e))?;
    let ctl =
        cu::stream::create(cu::stream::StreamKind::NonBlocking).map_err(|e| err("stream", e))?;
    let mut mptr = mdev.0;
    let start = Instant::now();
    launch(
        module.start,
        lanes,
        stream,
        &mut [&mut mptr as *mut u64 as *mut c_void],
    )?;
    sync(stream, "process start")?;

    let serve_lane = |lane: usize, hosts: &mut Vec<crate::host::ProcHost>| {
        // SAFETY: the lane published this request (seq != done) and waits; the host owns
        // the request and the lane's buffer until it stores done.
        unsafe {
            let req = &mut *(reqs.ptr as *mut SysReq).add(lane);
            let buf = std::slice::from_raw_parts_mut(
                bufs.ptr.add(lane * buf_size as usize),
                buf_size as usize,
            );
            service::serve(req, buf, &mut hosts[lane], cfg.strace);
            std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
            std::ptr::write_volatile(&mut req.done, req.seq);
        }
    };
    let mut stop_sent = false;
    let send_stop = |mptr: u64| -> Result<(), RunError> {
        let one: u32 = 1;
        let off = std::mem::offset_of!(MachineHdr, stop) as u64;
        // SAFETY: writes the stop flag of the device MachineHdr on a separate stream.
        unsafe {
            sys::cuMemcpyHtoDAsync_v2(mptr + off, &one as *const u32 as *const c_void, 4, ctl)
        }
        .result()
        .map_err(|e| err("stop flag", e))?;
        // SAFETY: ctl is live.
        unsafe { cu::stream::synchronize(ctl) }.map_err(|e| err("stop flag", e))
    };

    match cfg.mode {
        crate::machine::Mode::Persistent => {
            let mut slice = PERSISTENT_SLICE;
            launch(
                module.persistent,
                lanes,
                stream,
                &mut [
                    &mut mptr as *mut u64 as *mut c_void,
                    &mut slice as *mut u64 as *mut c_void,
                ],
            )?;
            // SAFETY: ring is pinned host memory shared with the device.
            let r = unsafe { &mut *(ring.ptr as *mut RingHdr) };
            let mut idle = 0u32;
            loop {
                let mut lane = 0u64;
                // SAFETY: single consumer of the ring.
                if unsafe { crate::ffi::gpuos_ring_pop(r, &mut lane) } {
                    idle = 0;
                    serve_lane(lane as usize, &mut hosts);
                    continue;
                }
                // SAFETY: stream is live.
                match unsafe { sys::cuStreamQuery(stream) } {
                    sys::CUresult::CUDA_SUCCESS => break,
                    sys::CUresult::CUDA_ERROR_NOT_READY => {}
                    e => {
                        r.closed = 1;
                        return Err(RunError::Backend(format!(
                            "CUDA error in the persistent kernel: {e:?} (a device-side fault of gpuos itself, not of a guest)"
                        )));
                    }
                }
                if stop_requested() && !stop_sent {
                    send_stop(mptr)?;
                    stop_sent = true;
                }
                idle += 1;
                if idle > 1000 {
                    std::thread::yield_now();
                }
            }
            r.closed = 1;
        }
        crate::machine::Mode::Quantum => {
            let mut budget = QUANTUM;
            loop {
                launch(
                    module.quantum,
                    lanes,
                    stream,
                    &mut [
                        &mut mptr as *mut u64 as *mut c_void,
                        &mut budget as *mut u64 as *mut c_void,
                    ],
                )?;
                sync(stream, "quantum kernel")?;
                for lane in 0..lanes {
                    // SAFETY: reading the lane's posted request header (pinned memory, kernel idle).
                    let posted = unsafe {
                        let req = &*(reqs.ptr as *const SysReq).add(lane);
                        req.seq != req.done
                    };
                    if posted {
                        serve_lane(lane, &mut hosts);
                    }
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
    sync(stream, "the kernel")?;
    let seconds = start.elapsed().as_secs_f64();
    // SAFETY: Proc is plain old data; all-zero is valid; then filled from the device.
    let mut procs_host: Vec<Proc> = vec![unsafe { std::mem::zeroed() }; lanes];
    // SAFETY: the device array has `lanes` entries; the kernel is done.
    unsafe { cu::memcpy_dtoh_sync(&mut procs_host, procs.0) }
        .map_err(|e| err("read back processes", e))?;
    let mut results: Vec<LaneResult> = Vec::with_capacity(lanes);
    let mut stdout0 = Vec::new();
    for (lane, p) in procs_host.iter().enumerate() {
        let (r, out) = finish_lane(cfg, lane, p, &mut hosts[lane]);
        if lane == 0 {
            stdout0 = out;
        }
        results.push(r);
    }
    Ok(RunReport {
        backend: "cuda".into(),
        device: format!("{name} ({arch})"),
        lanes: results,
        seconds,
        template_frames: tmpl_frames,
        stdout0,
    })
}
