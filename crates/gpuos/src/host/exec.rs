//! execve(2) and fork(2) on the host side of one process: what the file to execute is
//! (through the sandbox, as open would find it), and the fd table's part of both.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::errno::{self, Errno};
use super::fd::FileKind;
use super::fs::Resolved;
use super::oflag::O_RDONLY;
use super::{sys, ProcHost, Sandbox};

/// ELF machine number of AArch64 (EM_AARCH64).
const EM_AARCH64: u16 = 183;

/// What execve found at the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecTarget {
    /// An AArch64 ELF file with this host device and inode.
    Aarch64 {
        /// st_dev.
        dev: u64,
        /// st_ino.
        ino: u64,
    },
    /// A file Linux would not run as an AArch64 program (another format or machine, a
    /// script).
    Foreign,
}

impl ProcHost {
    /// execve(2)'s checks of `path`, resolved like open(2) in the sandbox: ENOENT and
    /// friends from the lookup, EACCES for a directory or a file without execute
    /// permission, then the file's format.
    pub fn exec_target(&mut self, path: &[u8]) -> Result<ExecTarget, i64> {
        self.exec_target_inner(path).map_err(Errno::ret)
    }

    fn exec_target_inner(&mut self, path: &[u8]) -> Result<ExecTarget, Errno> {
        if path.is_empty() {
            return Err(errno::ENOENT);
        }
        let (fd, _) = self.sys_openat(super::file::AT_FDCWD, path, O_RDONLY, 0)?;
        let fd = fd as i32;
        let r = self.exec_inspect(fd);
        let _ = self.sys_close(fd);
        r
    }

    fn exec_inspect(&self, fd: i32) -> Result<ExecTarget, Errno> {
        let f = self.fds.get(fd)?;
        let FileKind::Host(h) = &f.kind else {
            return Err(errno::EACCES);
        };
        let held = h.fd()?;
        let hfd = held.as_raw_fd();
        let st = sys::fstat(hfd)?;
        may_exec(&st)?;
        let mut hdr = [0u8; 20];
        let n = sys::pread(hfd, &mut hdr, 0)?;
        let machine = u16::from_le_bytes([hdr[18], hdr[19]]);
        // ELFCLASS64, little-endian, AArch64.
        if n == hdr.len()
            && hdr[..4] == *b"\x7fELF"
            && hdr[4] == 2
            && hdr[5] == 1
            && machine == EM_AARCH64
        {
            Ok(ExecTarget::Aarch64 {
                dev: st.st_dev,
                ino: st.st_ino,
            })
        } else {
            Ok(ExecTarget::Foreign)
        }
    }
}

/// Linux's execve(2) permission checks on a file: EACCES unless it is a regular file
/// with an execute bit (`may_open()` with MAY_EXEC; gpuos reads with its own
/// credentials, so any execute bit counts).
fn may_exec(st: &libc::stat) -> Result<(), Errno> {
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o111 == 0 {
        return Err(errno::EACCES);
    }
    Ok(())
}

impl Sandbox {
    /// Open the guest path `path` for execution as Linux's `open_exec()` (fs/exec.c)
    /// opens a program interpreter: looked up as the guest's open(2) would from the
    /// guest directory `cwd` (an absolute path in the sysroot first, symlinks
    /// followed), then opened read-only (O_NONBLOCK: a FIFO put there meanwhile does not
    /// block). Errors: those of the lookup (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG...),
    /// EACCES for a file that is not regular or has no execute bit, those of open(2).
    pub(crate) fn open_exec(&self, cwd: &Path, path: &[u8]) -> Result<File, Errno> {
        // /proc/self/fd/N: no process, so no descriptors, at load time.
        let Resolved::Host(h) = self.resolve(cwd, path, true)? else {
            return Err(errno::ENOENT);
        };
        may_exec(&h.stat.ok_or(errno::ENOENT)?)?;
        if h.trailing_slash {
            return Err(errno::ENOTDIR);
        }
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW;
        let fd = sys::openat(h.dir.raw(), &h.name, flags, 0)?;
        may_exec(&sys::fstat(fd.as_raw_fd())?)?;
        Ok(File::from(fd))
    }
}
