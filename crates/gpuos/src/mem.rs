//! Large zero-initialised host allocations that cost only what is touched
//! (anonymous `mmap` with MAP_NORESERVE), for the CPU backend's frame pool.

/// An anonymous private mapping, unmapped on drop.
pub struct HostRegion {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the region is plain memory owned by this value; access is synchronised by
// the users (the execution core's own locks and atomics).
unsafe impl Send for HostRegion {}
// SAFETY: as above.
unsafe impl Sync for HostRegion {}

impl HostRegion {
    /// Reserve `len` bytes of zeroed memory. Errors: the mmap error.
    pub fn new(len: usize) -> std::io::Result<HostRegion> {
        let len = len.max(4096);
        // SAFETY: anonymous mapping with no address hint; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(HostRegion {
            ptr: p as *mut u8,
            len,
        })
    }
    /// Base address.
    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }
    /// Base address as the `u64` the ABI carries.
    pub fn addr(&self) -> u64 {
        self.ptr as u64
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True when empty (never, by construction).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Give the pages of `[off, off+len)` back to the OS (they read as zero after).
    pub fn discard(&self, off: usize, len: usize) {
        if off + len <= self.len && len > 0 {
            // SAFETY: the range lies inside this mapping.
            unsafe {
                libc::madvise(
                    self.ptr.add(off) as *mut libc::c_void,
                    len,
                    libc::MADV_DONTNEED,
                )
            };
        }
    }
}

impl Drop for HostRegion {
    fn drop(&mut self) {
        // SAFETY: ptr/len come from a successful mmap and are unmapped once.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.len) };
    }
}
