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

mod compile;
mod launch;
mod memory;
mod relaunch;
mod rings;
mod run;
mod service;

use crate::machine::{BackendError, RunError};
use cudarc::driver::{result as cu, sys};

pub use compile::{compile_translated, core_key, env_switch, fast_opts, precompile, step_opts};
pub use run::run;

/// Threads per block.
const BLOCK: u32 = 128;
/// Instructions a lane runs between checks of the stop flag (persistent mode).
const PERSISTENT_SLICE: u64 = 1 << 20;
/// Instructions per lane per launch (quantum mode).
const QUANTUM: u64 = 1 << 16;

/// `default`, or the instruction count in the environment variable `var` (a testing
/// knob for measuring the modes' slice lengths: GPUOS_PERSISTENT_SLICE, GPUOS_QUANTUM).
fn instructions_from_env(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// A CUDA call's error as a run error naming the call.
fn err(what: &str, e: impl std::fmt::Display) -> RunError {
    BackendError::Cuda {
        what: what.into(),
        detail: e.to_string(),
    }
    .into()
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

/// Device name, architecture, free memory.
fn open_device() -> Result<(String, String, usize), RunError> {
    if let Some(why) = why_unavailable_inner() {
        return Err(BackendError::Unavailable(why).into());
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
    let (bin, upgrade) = compile::compile_for_run(&arch, false)?;
    let module = compile::load_module(&bin)?;
    module_resident_lanes(&module, !upgrade.is_empty())
}

/// Blocks of BLOCK lanes that every core keeps resident on a multiprocessor: its
/// persistent kernel's `__launch_bounds__` minimum (MIN_BLOCKS_PER_SM, kernel/cuda_main.cu),
/// for which the compiler limits registers, spilling if it must.
const MIN_RESIDENT_BLOCKS_PER_SM: usize = 4;

/// How many threads of `module`'s persistent kernel the GPU runs at once (see
/// [`resident_lanes`]). The device's primary context must be current. `interim`: the
/// module is a quick core that a differently compiled one replaces during the run, so
/// only what every core keeps resident counts (MIN_RESIDENT_BLOCKS_PER_SM).
fn module_resident_lanes(module: &compile::Module, interim: bool) -> Result<usize, RunError> {
    let dev = cu::device::get(0).map_err(|e| err("cuDeviceGet", e))?;
    // SAFETY: dev is valid and its primary context current; the module is loaded.
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
        let blocks = if interim {
            (blocks.max(0) as usize).min(MIN_RESIDENT_BLOCKS_PER_SM)
        } else {
            blocks.max(0) as usize
        };
        Ok(sms.max(0) as usize * blocks * BLOCK as usize)
    }
}
