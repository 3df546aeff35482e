//! Launching the core's kernels, waiting for them, and explaining their faults.

use super::compile::Module;
use super::memory::DevBuf;
use super::{err, BLOCK};
use crate::abi::{PanicRecord, PANIC_FRAME_RANGE, PANIC_REFCNT};
use crate::backend::clock::ClockOffsets;
use crate::backend::stop_requested;
use crate::machine::{BackendError, RunError};
use cudarc::driver::{result as cu, sys};
use std::ffi::c_void;
use std::time::Instant;

/// Launch `f` over `lanes` threads in blocks of BLOCK.
pub(super) fn launch(
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

pub(super) fn launch_grid(
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
pub(super) fn launch_lanes(
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
pub(super) fn device_clock_offsets(module: &Module) -> Result<ClockOffsets, RunError> {
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

pub(super) fn sync(stream: sys::CUstream, what: &str) -> Result<(), RunError> {
    // SAFETY: stream is live.
    unsafe { cu::stream::synchronize(stream) }.map_err(|e| {
        BackendError::Fault {
            what: what.into(),
            detail: e.to_string(),
        }
        .into()
    })
}

/// A kernel's error, with the lane and the cause when a lane recorded an internal error
/// (`PanicRecord`, kernel/core.h `gpuos_panic`) before it trapped.
pub(super) fn with_panic(e: RunError, rec: *const PanicRecord) -> RunError {
    // SAFETY: rec points at a live pinned PanicRecord; the kernel has failed, so no lane
    // writes it any more.
    let r = unsafe { std::ptr::read_volatile(rec) };
    let RunError::Backend(fault) = e else {
        return e;
    };
    let cause = if r.set == 0 {
        "no gpuos check fired before it, so the lane is not known".to_string()
    } else {
        let what = match r.code {
            PANIC_FRAME_RANGE => format!("frame index {} beyond the frame pool", r.arg),
            PANIC_REFCNT => format!("the reference count of frame {} went below zero", r.arg),
            c => format!("internal error {c} (value {})", r.arg),
        };
        format!("lane {} stopped the kernel: {what}", r.lane)
    };
    BackendError::Explained {
        fault: Box::new(fault),
        cause,
    }
    .into()
}

/// Wait for the persistent kernel to end, forwarding a stop request (Ctrl-C) to it;
/// returns false when it ended, true as soon as `swap` says to stop it for another core
/// (it is still running then).
pub(super) fn watch_kernel(
    stream: sys::CUstream,
    send_stop: &dyn Fn() -> Result<(), RunError>,
    report: Option<&dyn Fn()>,
    swap: Option<&dyn Fn() -> bool>,
) -> Result<bool, RunError> {
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
            sys::CUresult::CUDA_SUCCESS => return Ok(false),
            sys::CUresult::CUDA_ERROR_NOT_READY => {}
            e => {
                return Err(BackendError::Fault {
                    what: "the persistent kernel".into(),
                    detail: format!("{e:?}"),
                }
                .into())
            }
        }
        if swap.is_some_and(|f| f()) {
            return Ok(true);
        }
        if stop_requested() && !stop_sent {
            send_stop()?;
            stop_sent = true;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_errors_name_the_lane_that_recorded_an_internal_error() {
        let fault = || {
            RunError::from(BackendError::Fault {
                what: "the kernel".into(),
                detail: "unspecified launch failure".into(),
            })
        };
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
