//! Device memory, pinned host memory and streams, each released when dropped.

use super::err;
use crate::machine::RunError;
use cudarc::driver::{result as cu, sys};
use std::ffi::c_void;

/// A device allocation freed on drop.
pub(super) struct DevBuf(pub(super) sys::CUdeviceptr);
impl DevBuf {
    pub(super) fn new(bytes: usize) -> Result<DevBuf, RunError> {
        // SAFETY: plain device allocation; the pointer is owned by the returned value.
        unsafe { cu::malloc_sync(bytes.max(8)) }
            .map(DevBuf)
            .map_err(|e| err(&format!("allocating {bytes} bytes"), e))
    }
    /// A device allocation of `bytes` bytes, all zero.
    pub(super) fn zeroed(bytes: usize) -> Result<DevBuf, RunError> {
        let b = DevBuf::new(bytes)?;
        // SAFETY: b holds at least `bytes` bytes (DevBuf::new).
        unsafe { cu::memset_d8_sync(b.0, 0, bytes) }
            .map_err(|e| err("clearing device memory", e))?;
        Ok(b)
    }
    pub(super) fn upload<T>(&self, src: &[T]) -> Result<(), RunError> {
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
pub(super) struct Pinned {
    pub(super) ptr: *mut u8,
}
impl Pinned {
    pub(super) fn new(len: usize) -> Result<Pinned, RunError> {
        let flags = sys::CU_MEMHOSTALLOC_DEVICEMAP | sys::CU_MEMHOSTALLOC_PORTABLE;
        // SAFETY: allocation call; the result is checked and zeroed before use.
        let p = unsafe { cu::malloc_host(len.max(8), flags) }
            .map_err(|e| err(&format!("pinning {len} bytes"), e))?;
        // SAFETY: p points at len writable bytes.
        unsafe { std::ptr::write_bytes(p as *mut u8, 0, len) };
        Ok(Pinned { ptr: p as *mut u8 })
    }
    /// The device address of the mapping (equal to the host address under UVA).
    pub(super) fn dev(&self) -> Result<u64, RunError> {
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

/// Streams of one run, destroyed when dropped (work still queued on one completes
/// first, as cuStreamDestroy documents).
pub(super) struct Streams(pub(super) Vec<sys::CUstream>);
impl Streams {
    pub(super) fn new(n: usize) -> Result<Streams, RunError> {
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
