//! Thin safe wrappers over the host's libc calls that the host services need.
//!
//! Every wrapper returns `Result<_, Errno>` with the *guest* (Linux generic) errno, mapped
//! through [`super::errno::from_host`]. All `unsafe` of the host module lives here.

use std::ffi::CStr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use super::errno::{self, Errno};

/// The host's current errno, mapped to the guest's numbering.
pub(crate) fn last_errno() -> Errno {
    errno::from_io(&std::io::Error::last_os_error())
}

fn cvt(r: libc::c_int) -> Result<libc::c_int, Errno> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

fn cvt_ssize(r: libc::ssize_t) -> Result<usize, Errno> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r as usize)
    }
}

fn cvt_long(r: libc::c_long) -> Result<i64, Errno> {
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

/// A zeroed `struct stat` of the host.
pub(crate) fn zero_stat() -> libc::stat {
    // SAFETY: `struct stat` is plain old data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// fstatat(dir, name, flags).
pub(crate) fn fstatat(dir: RawFd, name: &CStr, flags: i32) -> Result<libc::stat, Errno> {
    let mut st = zero_stat();
    // SAFETY: `name` is NUL-terminated and `st` is a valid out pointer.
    cvt(unsafe { libc::fstatat(dir, name.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

/// fstat(fd).
pub(crate) fn fstat(fd: RawFd) -> Result<libc::stat, Errno> {
    let mut st = zero_stat();
    // SAFETY: `st` is a valid out pointer.
    cvt(unsafe { libc::fstat(fd, &mut st) })?;
    Ok(st)
}

/// statx(dir, name, flags, mask) into the kernel's 256-byte `struct statx` (its layout is
/// the same on every architecture).
pub(crate) fn statx(dir: RawFd, name: &CStr, flags: i32, mask: u32) -> Result<[u8; 256], Errno> {
    let mut buf = [0u64; 32];
    // SAFETY: the kernel writes at most 256 bytes (sizeof struct statx) to `buf`, which
    // is 256 bytes and 8-aligned; `name` is NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_statx,
            dir as libc::c_long,
            name.as_ptr(),
            flags as libc::c_long,
            mask as libc::c_long,
            buf.as_mut_ptr(),
        )
    };
    cvt_long(r)?;
    let mut out = [0u8; 256];
    for (i, w) in buf.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    Ok(out)
}

/// openat(dir, name, flags, mode), always with O_CLOEXEC on the host side.
pub(crate) fn openat(dir: RawFd, name: &CStr, flags: i32, mode: u32) -> Result<OwnedFd, Errno> {
    // SAFETY: `name` is NUL-terminated; the mode is passed as the variadic argument.
    let fd = cvt(unsafe {
        libc::openat(
            dir,
            name.as_ptr(),
            flags | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// readlinkat(dir, name) -> the link's target bytes (any length up to PATH_MAX).
pub(crate) fn readlinkat(dir: RawFd, name: &CStr) -> Result<Vec<u8>, Errno> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: `buf` has the given capacity; `name` is NUL-terminated.
    let n = cvt_ssize(unsafe {
        libc::readlinkat(dir, name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
    })?;
    buf.truncate(n);
    Ok(buf)
}

/// mkdirat.
pub(crate) fn mkdirat(dir: RawFd, name: &CStr, mode: u32) -> Result<(), Errno> {
    // SAFETY: `name` is NUL-terminated.
    cvt(unsafe { libc::mkdirat(dir, name.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// mknodat.
pub(crate) fn mknodat(dir: RawFd, name: &CStr, mode: u32, dev: u64) -> Result<(), Errno> {
    // SAFETY: `name` is NUL-terminated.
    cvt(unsafe { libc::mknodat(dir, name.as_ptr(), mode as libc::mode_t, dev as libc::dev_t) })
        .map(drop)
}

/// unlinkat.
pub(crate) fn unlinkat(dir: RawFd, name: &CStr, flags: i32) -> Result<(), Errno> {
    // SAFETY: `name` is NUL-terminated.
    cvt(unsafe { libc::unlinkat(dir, name.as_ptr(), flags) }).map(drop)
}

/// renameat2 (raw syscall, so flags pass through).
pub(crate) fn renameat2(
    od: RawFd,
    on: &CStr,
    nd: RawFd,
    nn: &CStr,
    flags: u32,
) -> Result<(), Errno> {
    // SAFETY: both names are NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            od as libc::c_long,
            on.as_ptr(),
            nd as libc::c_long,
            nn.as_ptr(),
            flags as libc::c_long,
        )
    };
    cvt_long(r).map(drop)
}

/// linkat (no flags: both ends are resolved already).
pub(crate) fn linkat(od: RawFd, on: &CStr, nd: RawFd, nn: &CStr, flags: i32) -> Result<(), Errno> {
    // SAFETY: both names are NUL-terminated.
    cvt(unsafe { libc::linkat(od, on.as_ptr(), nd, nn.as_ptr(), flags) }).map(drop)
}

/// symlinkat.
pub(crate) fn symlinkat(target: &CStr, dir: RawFd, name: &CStr) -> Result<(), Errno> {
    // SAFETY: both strings are NUL-terminated.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dir, name.as_ptr()) }).map(drop)
}

/// faccessat (glibc's, which uses faccessat2 when flags are given).
pub(crate) fn faccessat(dir: RawFd, name: &CStr, mode: i32, flags: i32) -> Result<(), Errno> {
    // SAFETY: `name` is NUL-terminated.
    cvt(unsafe { libc::faccessat(dir, name.as_ptr(), mode, flags) }).map(drop)
}

/// fchownat.
pub(crate) fn fchownat(
    dir: RawFd,
    name: &CStr,
    uid: u32,
    gid: u32,
    flags: i32,
) -> Result<(), Errno> {
    // SAFETY: `name` is NUL-terminated.
    cvt(unsafe { libc::fchownat(dir, name.as_ptr(), uid, gid, flags) }).map(drop)
}

/// fchown.
pub(crate) fn fchown(fd: RawFd, uid: u32, gid: u32) -> Result<(), Errno> {
    // SAFETY: plain syscall on an fd.
    cvt(unsafe { libc::fchown(fd, uid, gid) }).map(drop)
}

/// fchmod.
pub(crate) fn fchmod(fd: RawFd, mode: u32) -> Result<(), Errno> {
    // SAFETY: plain syscall on an fd.
    cvt(unsafe { libc::fchmod(fd, mode as libc::mode_t) }).map(drop)
}

/// chmod of the inode behind an `O_PATH` fd (through /proc/self/fd, which never follows
/// a symlink further than the inode the fd holds).
pub(crate) fn chmod_opath(fd: RawFd, mode: u32) -> Result<(), Errno> {
    let p = std::ffi::CString::new(format!("/proc/self/fd/{fd}")).map_err(|_| errno::EINVAL)?;
    // SAFETY: `p` is NUL-terminated.
    cvt(unsafe { libc::chmod(p.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// utimensat (times None = now).
pub(crate) fn utimensat(
    dir: RawFd,
    name: Option<&CStr>,
    times: Option<&[libc::timespec; 2]>,
    flags: i32,
) -> Result<(), Errno> {
    let tp = times.map_or(std::ptr::null(), |t| t.as_ptr());
    let np = name.map_or(std::ptr::null(), |n| n.as_ptr());
    // SAFETY: raw syscall (glibc's wrapper rejects a NULL name): `np` is NULL or
    // NUL-terminated, `tp` is NULL or points to two timespecs.
    let r = unsafe {
        libc::syscall(
            libc::SYS_utimensat,
            dir as libc::c_long,
            np,
            tp,
            flags as libc::c_long,
        )
    };
    cvt_long(r).map(drop)
}

/// read(fd, buf).
pub(crate) fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    cvt_ssize(unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) })
}

/// write(fd, buf).
pub(crate) fn write(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    cvt_ssize(unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) })
}

/// poll(fds, timeout_ms).
pub(crate) fn poll(fds: &mut [libc::pollfd], timeout_ms: i32) -> Result<usize, Errno> {
    // SAFETY: `fds` is valid for `fds.len()` entries.
    cvt_ssize(unsafe {
        libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) as isize
    })
}

/// pread(fd, buf, off).
pub(crate) fn pread(fd: RawFd, buf: &mut [u8], off: i64) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    cvt_ssize(unsafe { libc::pread(fd, buf.as_mut_ptr().cast(), buf.len(), off) })
}

/// pwrite(fd, buf, off).
pub(crate) fn pwrite(fd: RawFd, buf: &[u8], off: i64) -> Result<usize, Errno> {
    // SAFETY: `buf` is valid for `buf.len()` bytes.
    cvt_ssize(unsafe { libc::pwrite(fd, buf.as_ptr().cast(), buf.len(), off) })
}

/// lseek(fd, off, whence).
pub(crate) fn lseek(fd: RawFd, off: i64, whence: i32) -> Result<i64, Errno> {
    // SAFETY: plain syscall on an fd.
    let r = unsafe { libc::lseek(fd, off, whence) };
    if r < 0 {
        Err(last_errno())
    } else {
        Ok(r)
    }
}

/// getdents64 into `buf` (the x86-64 and AArch64 `linux_dirent64` layouts are the same).
pub(crate) fn getdents64(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: the kernel writes at most `buf.len()` bytes into `buf`.
    let r = unsafe {
        libc::syscall(
            libc::SYS_getdents64,
            fd as libc::c_long,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    cvt_long(r).map(|n| n as usize)
}

/// ftruncate.
pub(crate) fn ftruncate(fd: RawFd, len: i64) -> Result<(), Errno> {
    // SAFETY: plain syscall on an fd.
    cvt(unsafe { libc::ftruncate(fd, len) }).map(drop)
}

/// fsync / fdatasync.
pub(crate) fn fsync(fd: RawFd, data_only: bool) -> Result<(), Errno> {
    // SAFETY: plain syscalls on an fd.
    cvt(unsafe {
        if data_only {
            libc::fdatasync(fd)
        } else {
            libc::fsync(fd)
        }
    })
    .map(drop)
}

/// sync.
pub(crate) fn sync() {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::sync() }
}

/// fcntl with an integer argument.
pub(crate) fn fcntl(fd: RawFd, cmd: i32, arg: i64) -> Result<i32, Errno> {
    // SAFETY: only called with integer-argument commands.
    cvt(unsafe { libc::fcntl(fd, cmd, arg as libc::c_long) })
}

/// fstatfs into the kernel's 120-byte `struct statfs` (64-bit generic layout: the same on
/// x86-64 and AArch64).
pub(crate) fn fstatfs(fd: RawFd) -> Result<[u8; 120], Errno> {
    let mut buf = [0u64; 15];
    // SAFETY: the kernel writes sizeof(struct statfs) = 120 bytes into the 120-byte buffer.
    let r = unsafe { libc::syscall(libc::SYS_fstatfs, fd as libc::c_long, buf.as_mut_ptr()) };
    cvt_long(r)?;
    let mut out = [0u8; 120];
    for (i, w) in buf.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    Ok(out)
}

/// ioctl with a pointer to a scratch buffer (only used for "get" requests whose result
/// fits in 64 bytes: TCGETS, TIOCGWINSZ, FIONREAD).
pub(crate) fn ioctl_get(fd: RawFd, req: u64, buf: &mut [u8; 64]) -> Result<i32, Errno> {
    // SAFETY: the requests used write at most 64 bytes (the kernel termios is 36).
    cvt(unsafe { libc::ioctl(fd, req as _, buf.as_mut_ptr()) })
}

/// isatty on a host fd.
pub(crate) fn isatty(fd: RawFd) -> bool {
    // SAFETY: plain call on an fd.
    unsafe { libc::isatty(fd) == 1 }
}

/// clock_gettime.
pub(crate) fn clock_gettime(clk: i32) -> Result<libc::timespec, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out pointer.
    cvt(unsafe { libc::clock_gettime(clk, &mut ts) })?;
    Ok(ts)
}

/// clock_getres.
pub(crate) fn clock_getres(clk: i32) -> Result<libc::timespec, Errno> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out pointer.
    cvt(unsafe { libc::clock_getres(clk, &mut ts) })?;
    Ok(ts)
}

/// clock_nanosleep with an absolute deadline, retried on EINTR.
#[cfg(test)]
pub(crate) fn sleep_until(clk: i32, deadline: &libc::timespec) -> Result<(), Errno> {
    loop {
        // SAFETY: `deadline` is valid; the remaining-time pointer may be NULL for
        // absolute sleeps.
        let r = unsafe {
            libc::clock_nanosleep(clk, libc::TIMER_ABSTIME, deadline, std::ptr::null_mut())
        };
        match r {
            0 => return Ok(()),
            libc::EINTR => continue,
            e => return Err(errno::from_host(e)),
        }
    }
}

/// times(): clock ticks and the `struct tms` fields.
pub(crate) fn times() -> Result<(i64, [i64; 4]), Errno> {
    let mut t = libc::tms {
        tms_utime: 0,
        tms_stime: 0,
        tms_cutime: 0,
        tms_cstime: 0,
    };
    // SAFETY: `t` is a valid out pointer.
    let r = unsafe { libc::times(&mut t) };
    if r == !0 {
        return Err(last_errno());
    }
    Ok((r, [t.tms_utime, t.tms_stime, t.tms_cutime, t.tms_cstime]))
}

/// getrusage.
pub(crate) fn getrusage(who: i32) -> Result<libc::rusage, Errno> {
    // SAFETY: all-zero is a valid `struct rusage`.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid out pointer.
    cvt(unsafe { libc::getrusage(who, &mut ru) })?;
    Ok(ru)
}

/// sysinfo.
pub(crate) fn sysinfo() -> Result<libc::sysinfo, Errno> {
    // SAFETY: all-zero is a valid `struct sysinfo`.
    let mut si: libc::sysinfo = unsafe { std::mem::zeroed() };
    // SAFETY: `si` is a valid out pointer.
    cvt(unsafe { libc::sysinfo(&mut si) })?;
    Ok(si)
}

/// The host's real user and group ids: (uid, euid, gid, egid).
pub(crate) fn ids() -> (u32, u32, u32, u32) {
    // SAFETY: these calls cannot fail.
    unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    }
}

/// Raise the soft RLIMIT_NOFILE to the hard limit (every guest process holds host fds).
pub(crate) fn raise_nofile_limit() {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `rl` is a valid in/out pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &rl);
        }
    }
}

/// flock(fd, op).
pub(crate) fn flock(fd: RawFd, op: i32) -> Result<(), Errno> {
    // SAFETY: plain syscall on an fd.
    cvt(unsafe { libc::flock(fd, op) }).map(drop)
}

/// posix_fadvise(fd, off, len, advice): returns the error number rather than setting errno.
pub(crate) fn fadvise(fd: RawFd, off: i64, len: i64, advice: i32) -> Result<(), Errno> {
    // SAFETY: plain syscall on an fd.
    match unsafe { libc::posix_fadvise(fd, off, len, advice) } {
        0 => Ok(()),
        e => Err(errno::from_io(&std::io::Error::from_raw_os_error(e))),
    }
}

/// fallocate(fd, mode, off, len).
pub(crate) fn fallocate(fd: RawFd, mode: i32, off: i64, len: i64) -> Result<(), Errno> {
    // SAFETY: plain syscall on an fd.
    cvt(unsafe { libc::fallocate(fd, mode, off, len) }).map(drop)
}

/// memfd_create(name, MFD_CLOEXEC | flags): an anonymous host file.
pub(crate) fn memfd_create(name: &CStr, flags: u32) -> Result<OwnedFd, Errno> {
    // SAFETY: `name` is NUL-terminated.
    let fd = cvt(unsafe { libc::memfd_create(name.as_ptr(), flags | libc::MFD_CLOEXEC) })?;
    // SAFETY: `fd` was just returned by memfd_create and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The host's supplementary group ids (getgroups(2)), at most `max`; EINVAL when it has more.
pub(crate) fn groups(max: usize) -> Result<Vec<u32>, Errno> {
    // Sized by their number (getgroups(0, NULL)), not by `max`: a vector of NGROUPS_MAX
    // (65,536) zeroed ids made every call cost microseconds. The list may grow between
    // the two calls (EINVAL then): ask again.
    loop {
        // SAFETY: size 0 with a null list only returns the number.
        let n = cvt(unsafe { libc::getgroups(0, std::ptr::null_mut()) })? as usize;
        let mut g = vec![0 as libc::gid_t; n.min(max)];
        // SAFETY: `g` holds `g.len()` gid_t.
        match cvt(unsafe { libc::getgroups(g.len() as libc::c_int, g.as_mut_ptr()) }) {
            Ok(k) => {
                g.truncate(k as usize);
                return Ok(g);
            }
            Err(e) if e == errno::EINVAL && n < max => continue,
            Err(e) => return Err(e),
        }
    }
}

/// copy_file_range(fd_in, off_in, fd_out, off_out, len, flags); an offset `Some` is
/// used and advanced there, `None` is the descriptor's own.
pub(crate) fn copy_file_range(
    fd_in: RawFd,
    off_in: Option<&mut i64>,
    fd_out: RawFd,
    off_out: Option<&mut i64>,
    len: usize,
    flags: u32,
) -> Result<usize, Errno> {
    let pi = off_in.map_or(std::ptr::null_mut(), |o| o as *mut i64);
    let po = off_out.map_or(std::ptr::null_mut(), |o| o as *mut i64);
    // SAFETY: the offsets are null or valid in/out pointers for the call's duration.
    cvt_ssize(unsafe { libc::copy_file_range(fd_in, pi, fd_out, po, len, flags) })
}
