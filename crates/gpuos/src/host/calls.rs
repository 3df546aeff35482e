//! The host syscalls, one function each, named by the syscall: the `host` and `split`
//! rows of kernel/sys/syscalls.table, whose trait ([`HostCalls`]) and dispatch match
//! build.rs generates from the table (crates/gpuos/build/syscallgen.rs). A new host
//! syscall is a table row and its function here.
//!
//! Each function decodes its arguments from the marshalled request ([`Call`]) and
//! returns what happened: an [`Outcome`], or a `Ret` (value and output length) that
//! converts to one; errors are errnos.

use super::errno::{self, Errno};
use super::fsops::Transfer;
use super::{misc, ok, sys, time, ProcHost};
use std::time::Instant;

/// What a host call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done: the syscall's value (a negative Linux errno on failure) and how many bytes
    /// of the output area go back to the guest.
    Done {
        /// The return value.
        ret: i64,
        /// Bytes of output.
        out_len: usize,
    },
    /// The call would block (an empty or full pipe on a blocking fd, a sleep of a
    /// process whose family runs on): the device parks the process and runs the call
    /// again later (`abi::SYSRET_RETRY`).
    Retry,
    /// A sleep: done (0, no output) at this time. The one serving the request decides
    /// how to wait (`service::policy`).
    SleepUntil(Instant),
    /// The host process is out of file descriptors (`errno::EHOSTFD`; not the guest's
    /// limit): nothing was done. Serve the request again later, or fail it with EMFILE.
    NeedHostFd,
    /// Done with 0 and `out_len` bytes of output that every process of the run would
    /// get for the same arguments for as long as the run lasts (a stat of an absolute
    /// path found in the read-only sysroot): the device may keep the answer and give it
    /// without asking again (`abi::OUT_LASTING`, kernel/sys/statcache.h).
    Lasting {
        /// The return value (0 for a stat; a descriptor for an open of a read-only file
        /// of the sysroot, kernel/sys/devread.h).
        ret: i64,
        /// Bytes of output.
        out_len: usize,
    },
}

impl From<(i64, usize)> for Outcome {
    fn from((ret, out_len): (i64, usize)) -> Outcome {
        Outcome::Done { ret, out_len }
    }
}

impl From<Errno> for Outcome {
    /// A failure; the two errnos that are not the guest's: RETRY and EHOSTFD.
    fn from(e: Errno) -> Outcome {
        match e {
            errno::RETRY => Outcome::Retry,
            errno::EHOSTFD => Outcome::NeedHostFd,
            e => Outcome::Done {
                ret: e.ret(),
                out_len: 0,
            },
        }
    }
}

/// A host function's result as an [`Outcome`].
pub(crate) fn outcome<T: Into<Outcome>>(r: Result<T, Errno>) -> Outcome {
    match r {
        Ok(o) => o.into(),
        Err(e) => e.into(),
    }
}

/// One marshalled host request: the syscall number, the raw guest arguments (pointers
/// kept so NULL is visible, lengths already lowered to fit), the input bytes of each
/// in-argument (path strings without their NUL; empty for other arguments) and the
/// output area.
pub(crate) struct Call<'a> {
    /// Syscall number.
    pub nr: u64,
    /// Raw arguments.
    pub a: &'a [u64; 6],
    /// Input bytes per argument.
    pub ins: &'a [&'a [u8]; 6],
    /// The output area.
    pub out: &'a mut [u8],
}

impl<'a> Call<'a> {
    /// Argument k as a file descriptor (C int: the low 32 bits of the register).
    pub fn fd(&self, k: usize) -> i32 {
        self.a[k] as i32
    }

    /// Argument k as a C int.
    pub fn int(&self, k: usize) -> i32 {
        self.a[k] as i32
    }

    /// Argument k as a C unsigned int.
    pub fn uint(&self, k: usize) -> u32 {
        self.a[k] as u32
    }

    /// Argument k, a path: its bytes, or EFAULT for a NULL pointer.
    pub fn path(&self, k: usize) -> Result<&'a [u8], Errno> {
        if self.a[k] == 0 {
            Err(errno::EFAULT)
        } else {
            Ok(self.ins[k])
        }
    }

    /// copy_file_range's and splice's arguments (fd_in, off_in, fd_out, off_out, len,
    /// flags; the offsets `i=8`).
    pub fn transfer(&self) -> Result<Transfer, Errno> {
        Ok(Transfer {
            fd_in: self.fd(0),
            off_in: self.loff(1)?,
            fd_out: self.fd(2),
            off_out: self.loff(3)?,
            len: self.a[4] as usize,
            flags: self.uint(5),
        })
    }

    /// Argument k, a `loff_t *` sent as `i=8`: the offset, None for a NULL pointer.
    pub fn loff(&self, k: usize) -> Result<Option<i64>, Errno> {
        if self.a[k] == 0 {
            return Ok(None);
        }
        let b: [u8; 8] = self.ins[k].try_into().map_err(|_| errno::EFAULT)?;
        Ok(Some(i64::from_le_bytes(b)))
    }

    /// The output area, up to args[k] bytes (an out buffer whose capacity is argument
    /// k; the device already lowered it to the area).
    pub fn out_upto(&mut self, k: usize) -> &mut [u8] {
        let n = usize::try_from(self.a[k]).unwrap_or(usize::MAX);
        let n = n.min(self.out.len());
        &mut self.out[..n]
    }
}

include!(concat!(env!("OUT_DIR"), "/syscall_host.rs"));

/// preadv2/pwritev2: the offset (-1: the file's own, as readv/writev) once the flags
/// (RWF_*) are 0; gpuos offers none of them: EOPNOTSUPP.
fn rwv2_offset(c: &Call<'_>) -> Result<Option<i64>, Errno> {
    if c.a[5] != 0 {
        return Err(errno::EOPNOTSUPP);
    }
    let off = c.a[3] as i64;
    Ok((off != -1).then_some(off))
}

/// readv/writev: iovcnt must be 0..=IOV_MAX.
fn check_iovcnt(n: u64) -> Result<(), Errno> {
    let n = n as i32;
    if !(0..=1024).contains(&n) {
        return Err(errno::EINVAL);
    }
    Ok(())
}

impl HostCalls for ProcHost {
    fn getxattr(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_getxattr(c.path(0)?, c.path(1)?, false)
    }
    fn lgetxattr(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_getxattr(c.path(0)?, c.path(1)?, true)
    }
    fn fgetxattr(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fgetxattr(c.fd(0), c.path(1)?)
    }
    fn listxattr(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_listxattr(c.path(0)?, false)
    }
    fn llistxattr(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_listxattr(c.path(0)?, true)
    }
    fn flistxattr(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_flistxattr(c.fd(0))
    }
    fn getcwd(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_getcwd(c.out, c.a[1] as usize)
    }
    fn dup(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_dup(c.fd(0))
    }
    fn dup3(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_dup3(c.fd(0), c.fd(1), c.uint(2))
    }
    fn fcntl(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fcntl(c.fd(0), c.int(1), c.a[2])
    }
    fn ioctl(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_ioctl(c.fd(0), c.uint(1), c.a[2], c.out)
    }
    fn flock(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_flock(c.fd(0), c.int(1))
    }
    fn mknodat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_mknodat(c.fd(0), c.path(1)?, c.uint(2), c.a[3])
    }
    fn mkdirat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_mkdirat(c.fd(0), c.path(1)?, c.uint(2))
    }
    fn unlinkat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_unlinkat(c.fd(0), c.path(1)?, c.int(2))
    }
    fn symlinkat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_symlinkat(c.path(0)?, c.fd(1), c.path(2)?)
    }
    fn linkat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_linkat(c.fd(0), c.path(1)?, c.fd(2), c.path(3)?, c.int(4))
    }
    fn renameat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_renameat2(c.fd(0), c.path(1)?, c.fd(2), c.path(3)?, 0)
    }
    fn statfs(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_statfs(c.path(0)?, c.a[1], c.out)
    }
    fn fstatfs(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fstatfs(c.fd(0), c.a[1], c.out)
    }
    fn truncate(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_truncate(c.path(0)?, c.a[1] as i64)
    }
    fn ftruncate(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_ftruncate(c.fd(0), c.a[1] as i64)
    }
    fn fallocate(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fallocate(c.fd(0), c.int(1), c.a[2] as i64, c.a[3] as i64)
    }
    fn faccessat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_faccessat(c.fd(0), c.path(1)?, c.int(2), 0)
    }
    fn chdir(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_chdir(c.path(0)?)
    }
    fn fchdir(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fchdir(c.fd(0))
    }
    fn fchmod(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fchmod(c.fd(0), c.uint(1))
    }
    fn fchmodat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fchmodat(c.fd(0), c.path(1)?, c.uint(2))
    }
    fn fchownat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fchownat(c.fd(0), c.path(1)?, c.uint(2), c.uint(3), c.int(4))
    }
    fn fchown(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fchown(c.fd(0), c.uint(1), c.uint(2))
    }
    fn openat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_openat_devread(c.fd(0), c.path(1)?, c.uint(2), c.uint(3), c.out)
    }
    fn openat2(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_openat2(c.fd(0), c.path(1)?, c.ins[2])
    }
    fn close(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_close(c.fd(0))
    }
    fn pipe2(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_pipe2(c.out, c.uint(1))
    }
    fn getdents64(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        let fd = c.fd(0);
        self.sys_getdents64(fd, c.out_upto(2))
    }
    fn lseek(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_lseek(c.fd(0), c.a[1] as i64, c.int(2))
    }
    fn read(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        let fd = c.fd(0);
        self.sys_read(fd, c.out_upto(2), None)
    }
    fn write(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_write(c.fd(0), c.ins[1], None)
    }
    fn readv(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        check_iovcnt(c.a[2])?;
        self.sys_read(c.fd(0), c.out, None)
    }
    fn writev(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        check_iovcnt(c.a[2])?;
        self.sys_write(c.fd(0), c.ins[1], None)
    }
    fn pread64(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        let (fd, off) = (c.fd(0), c.a[3] as i64);
        self.sys_read(fd, c.out_upto(2), Some(off))
    }
    fn pwrite64(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_write(c.fd(0), c.ins[1], Some(c.a[3] as i64))
    }
    fn sendfile(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_sendfile(c.fd(0), c.fd(1), c.a[2], c.a[3] as usize)
    }
    fn preadv(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        check_iovcnt(c.a[2])?;
        self.sys_read(c.fd(0), c.out, Some(c.a[3] as i64))
    }
    fn pwritev(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        check_iovcnt(c.a[2])?;
        self.sys_write(c.fd(0), c.ins[1], Some(c.a[3] as i64))
    }
    fn preadv2(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        check_iovcnt(c.a[2])?;
        let off = rwv2_offset(c)?;
        self.sys_read(c.fd(0), c.out, off)
    }
    fn pwritev2(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        check_iovcnt(c.a[2])?;
        self.sys_write(c.fd(0), c.ins[1], rwv2_offset(c)?)
    }
    fn readlinkat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_readlinkat(c.fd(0), c.path(1)?, c.int(3), c.out)
    }
    fn newfstatat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_newfstatat(c.fd(0), c.a[1], c.ins[1], c.a[2], c.int(3), c.out)
    }
    fn fstat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fstat(c.fd(0), c.a[1], c.out)
    }
    fn sync(&mut self, _c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        sys::sync();
        ok(0)
    }
    fn fsync(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fsync(c.fd(0), false)
    }
    fn fdatasync(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_fsync(c.fd(0), true)
    }
    fn utimensat(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        let (a, ins) = (c.a, c.ins);
        self.sys_utimensat(c.fd(0), a[1], ins[1], a[2], ins[2], c.int(3))
    }
    fn nanosleep(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        time::nanosleep_deadline(c.a[0], c.ins[0]).and_then(|d| self.sys_sleep(c, d))
    }
    fn clock_gettime(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        time::clock_gettime(c.int(0), c.a[1], c.out)
    }
    fn clock_getres(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        time::clock_getres(c.int(0), c.a[1], c.out)
    }
    fn clock_nanosleep(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        time::clock_nanosleep_deadline(c.int(0), c.int(1), c.a[2], c.ins[2])
            .and_then(|d| self.sys_sleep(c, d))
    }
    fn times(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        time::times(c.a[0], c.out)
    }
    fn getrusage(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        time::getrusage(c.int(0), c.a[1], c.out)
    }
    fn umask(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_umask(c.uint(0))
    }
    /// getgroups(2): the host's supplementary groups (as getuid(2) gives the host's
    /// uid, on the device), at most the 64 the output area holds. size 0: their number; EINVAL for a
    /// negative size or one below their number.
    fn getgroups(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        let size = c.int(0);
        let max = c.out.len() / 4;
        let mut g = sys::groups(65536)?;
        g.truncate(max);
        if size < 0 || (size != 0 && (size as usize) < g.len()) {
            return Err(errno::EINVAL);
        }
        if size == 0 {
            return ok(g.len() as i64);
        }
        for (i, id) in g.iter().enumerate() {
            c.out[i * 4..i * 4 + 4].copy_from_slice(&id.to_le_bytes());
        }
        Ok((g.len() as i64, g.len() * 4))
    }
    fn sysinfo(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        misc::sysinfo(c.a[0], c.out)
    }
    /// syncfs(2): flushes every filesystem, as sync(2) does (a superset of the one the
    /// fd is on); EBADF for a fd that is not open.
    fn syncfs(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        drop(self.fds.get(c.fd(0))?);
        sys::sync();
        ok(0)
    }
    fn renameat2(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_renameat2(c.fd(0), c.path(1)?, c.fd(2), c.path(3)?, c.uint(4))
    }
    fn fadvise64(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        let (off, len) = (c.a[1] as i64, c.a[2] as i64);
        self.sys_fadvise64(c.fd(0), off, len, c.int(3))
    }
    fn memfd_create(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_memfd_create(c.path(0)?, c.uint(1))
    }
    fn statx(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        let (a, ins) = (c.a, c.ins);
        self.sys_statx(c.fd(0), a[1], ins[1], c.int(2), c.uint(3), a[4], c.out)
    }
    fn copy_file_range(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_copy_file_range(c.transfer()?)
    }
    fn splice(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_splice(c.transfer()?)
    }
    fn close_range(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_close_range(c.uint(0), c.uint(1), c.uint(2))
    }
    fn faccessat2(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_faccessat(c.fd(0), c.path(1)?, c.int(2), c.int(3))
    }
    fn gpuos_file_map(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_gpuos_file_map(c.fd(0), c.a[1], c.a[2], c.out)
    }
    fn gpuos_file_read(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_gpuos_file_read(c.a[0], c.a[1], c.a[2], c.out)
    }
    fn gpuos_file_write(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_gpuos_file_write(c.a[0], c.a[1], c.ins[2])
    }
    fn gpuos_fd_seek(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_lseek(c.fd(0), c.a[1] as i64, 0)
    }
    fn gpuos_pipe_back(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_gpuos_pipe_back(c.a[0], c.a[1] != 0, c.ins[2])
    }
    fn epoll_create1(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_epoll_create1(c.uint(0))
    }
    fn epoll_ctl(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_epoll_ctl(c.fd(0), c.a[1], c.fd(2), c.ins[3])
    }
    fn gpuos_open_bytes(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.open_bytes(c.path(0)?, c.ins[1], c.uint(3))
    }
    fn getsockname(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_sockname(c.fd(0), c.out)
    }
    fn getpeername(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_sockname(c.fd(0), c.out)
    }
    fn eventfd2(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_eventfd2(c.a[0], c.uint(1))
    }
    fn socketpair(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_socketpair(c.a[0], c.a[1], c.a[2], c.out)
    }
    fn sendto(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_sendto(c.fd(0), c.ins[1], c.a[3], c.a[4])
    }
    fn recvfrom(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        let (fd, msg) = (c.fd(0), c.a[3]);
        self.sys_recvfrom(fd, c.out_upto(2), msg)
    }
    fn setsockopt(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_setsockopt(c.fd(0), c.int(1), c.int(2))
    }
    fn getsockopt(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        let (fd, level, name) = (c.fd(0), c.int(1), c.int(2));
        self.sys_getsockopt(fd, level, name, c.out)
    }
    fn shutdown(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno> {
        self.sys_shutdown(c.fd(0), c.a[1])
    }
}
