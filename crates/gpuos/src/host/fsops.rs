//! Descriptor and file calls beyond open/read/write: flock, fadvise64, fallocate,
//! close_range, memfd_create, copy_file_range, splice and the extended-attribute reads. Semantics from their
//! Linux man pages; each is a `host` row of kernel/sys/syscalls.table whose
//! `HostCalls` function (host/calls.rs) calls the one here.

use std::ffi::{CString, OsString};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;
use std::sync::Arc;

use super::errno::{self, Errno};
use super::fd::{self, FileKind, HostFd, HostFile, OpenFile};
use super::file::{AT_FDCWD, AT_SYMLINK_NOFOLLOW};
use super::mapfile::MappedFiles;
use super::oflag::{O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_RDWR};
use super::pipe::PIPE_CAPACITY;
use super::{ok, sys, ProcHost, Ret};

const LOCK_SH: i32 = 1;
const LOCK_EX: i32 = 2;
const LOCK_NB: i32 = 4;
const LOCK_UN: i32 = 8;
const CLOSE_RANGE_UNSHARE: u32 = 2;
const CLOSE_RANGE_CLOEXEC: u32 = 4;
const MFD_CLOEXEC: u32 = 1;
const MFD_ALLOW_SEALING: u32 = 2;
const MFD_NOEXEC_SEAL: u32 = 8;
const MFD_EXEC: u32 = 0x10;
/// memfd_create(2): the longest name, 249 bytes (NAME_MAX less "memfd:").
const MFD_NAME_MAX: usize = 249;
/// The longest extended attribute name (XATTR_NAME_MAX).
const XATTR_NAME_MAX: usize = 255;

impl ProcHost {
    /// flock(2) on the description's host file. A lock that is held elsewhere makes a
    /// blocking request wait without a host thread waiting: the host tries with LOCK_NB
    /// and answers RETRY (the process is parked and the call runs again). Pipes and the
    /// standard streams without a host file have nobody to conflict with: granted.
    /// Read-only opens of one file share a host descriptor (host/shared.rs), so their
    /// locks do not conflict with each other. EINVAL for an unknown operation.
    pub(crate) fn sys_flock(&mut self, fd: i32, op: i32) -> Ret {
        let f = self.fds.get(fd)?;
        if !matches!(op & !LOCK_NB, LOCK_SH | LOCK_EX | LOCK_UN) {
            return Err(errno::EINVAL);
        }
        let Some(h) = f.host_fd()? else {
            return ok(0);
        };
        match sys::flock(h.raw(), op | LOCK_NB) {
            Err(errno::EAGAIN) if op & LOCK_NB == 0 => Err(errno::RETRY),
            r => r.map(|()| (0, 0)),
        }
    }

    /// fadvise64(2): the host's advice call on the description's host file (its checks
    /// are Linux's: EINVAL for unknown advice or a negative length); gpuos's pipes and
    /// captured streams: ESPIPE. EBADF for a fd that is not open.
    pub(crate) fn sys_fadvise64(&mut self, fd: i32, off: i64, len: i64, advice: i32) -> Ret {
        let f = self.fds.get(fd)?;
        match &f.kind {
            FileKind::Host(h) => sys::fadvise(h.fd()?.as_raw_fd(), off, len, advice)?,
            _ => match f.host_fd()? {
                Some(h) => sys::fadvise(h.raw(), off, len, advice)?,
                None => return Err(errno::ESPIPE),
            },
        }
        ok(0)
    }

    /// fallocate(2) on the description's host file (its errors: EBADF when not open
    /// for writing, EINVAL for a bad range, EOPNOTSUPP for a mode the file system lacks,
    /// ENODEV for what is not a regular file). gpuos's pipes: ESPIPE.
    pub(crate) fn sys_fallocate(&mut self, fd: i32, mode: i32, off: i64, len: i64) -> Ret {
        let f = self.fds.get(fd)?;
        if let FileKind::Pipe(_) = f.kind {
            return Err(errno::ESPIPE);
        }
        let h = f.host_fd()?.ok_or(errno::ESPIPE)?;
        sys::fallocate(h.raw(), mode, off, len)?;
        ok(0)
    }

    /// close_range(2): close (or with CLOSE_RANGE_CLOEXEC mark close-on-exec) the open
    /// fds from `first` to `last`. CLOSE_RANGE_UNSHARE changes nothing: a process's fd
    /// table is its own. EINVAL for unknown flags or first > last.
    pub(crate) fn sys_close_range(&mut self, first: u32, last: u32, flags: u32) -> Ret {
        if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
            return Err(errno::EINVAL);
        }
        let open = self.fds.open_fds();
        for fd in open
            .into_iter()
            .filter(|&fd| (first..=last).contains(&(fd as u32)))
        {
            if flags & CLOSE_RANGE_CLOEXEC != 0 {
                self.fds.set_cloexec(fd, true)?;
            } else {
                self.sys_close(fd)?;
            }
        }
        ok(0)
    }

    /// memfd_create(2): an anonymous file, a host memfd, open read/write (read, write,
    /// lseek, ftruncate, fstat, mmap-free use). EINVAL for unknown flags or a name
    /// longer than 249 bytes.
    pub(crate) fn sys_memfd_create(&mut self, name: &[u8], flags: u32) -> Ret {
        let known = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC;
        if flags & !known != 0 || name.len() > MFD_NAME_MAX {
            return Err(errno::EINVAL);
        }
        let cname = CString::new(name).map_err(|_| errno::EINVAL)?;
        let hfd = sys::memfd_create(&cname, flags & MFD_ALLOW_SEALING)?;
        let mut guest = b"/memfd:".to_vec();
        guest.extend_from_slice(name);
        guest.extend_from_slice(b" (deleted)");
        let guest = PathBuf::from(OsString::from_vec(guest));
        let file = HostFile::new(HostFd::Own(Arc::new(hfd)), guest, None, false, false);
        let f = OpenFile {
            kind: FileKind::Host(file),
            flags: O_RDWR,
        };
        ok(self.fds.install(f, 0, flags & MFD_CLOEXEC != 0)? as i64)
    }

    /// A read-only file holding `data`, open at offset 0 as the guest's `path`: a host
    /// memfd, so it reads, seeks, stats and maps as a regular file. The device's
    /// `gpuos_open_bytes` (kernel/sys/procfs.h: the guest's /proc/self/status and maps,
    /// written on the device) and /proc/cpuinfo use it; `flags` are the guest's open
    /// flags (O_CLOEXEC is kept). The file lines of maps come with the file's identity
    /// where its device, inode and path go, which the host writes ([`map_names`]).
    pub(crate) fn open_bytes(&mut self, path: &[u8], data: &[u8], flags: u32) -> Ret {
        use std::io::{Seek, Write};
        let hfd = sys::memfd_create(c"gpuos-proc", 0)?;
        let mut f = std::fs::File::from(hfd);
        f.write_all(&map_names(self.sb.mapped_files(), data))
            .and_then(|_| f.rewind())
            .map_err(|e| errno::from_io(&e))?;
        let guest = PathBuf::from(OsString::from_vec(path.to_vec()));
        let file = HostFile::new(HostFd::Own(Arc::new(f.into())), guest, None, false, false);
        let f = OpenFile {
            kind: FileKind::Host(file),
            flags: O_RDONLY,
        };
        ok(self.fds.install(f, 0, flags & O_CLOEXEC != 0)? as i64)
    }

    /// open of /proc/cpuinfo: what an arm64 Linux shows (arch/arm64/kernel/cpuinfo.c),
    /// one processor (a process runs on one lane, as sched_getaffinity(2) reports) with
    /// the features AT_HWCAP gives (loader::HWCAP: fp, asimd, crc32) and an implementer
    /// and part that name no real core. Not the host's, an x86 machine's.
    pub(crate) fn open_cpuinfo(&mut self, flags: u32) -> Ret {
        const CPUINFO: &[u8] = b"processor\t: 0\nBogoMIPS\t: 2000.00\nFeatures\t: fp asimd crc32 cpuid\n\
CPU implementer\t: 0x00\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0x000\nCPU revision\t: 0\n\n";
        self.open_bytes(b"/proc/cpuinfo", CPUINFO, flags)
    }

    /// getxattr(2), lgetxattr (`nofollow`): gpuos's files have no extended attributes,
    /// as a file system without them: ENODATA once the path resolves (its own errors:
    /// ENOENT, ENOTDIR, ELOOP...) and the name is valid (ERANGE for an empty name or one
    /// over 255 bytes).
    pub(crate) fn sys_getxattr(&mut self, path: &[u8], name: &[u8], nofollow: bool) -> Ret {
        self.xattr_path(path, nofollow)?;
        check_xattr_name(name)?;
        Err(errno::ENODATA)
    }

    /// listxattr(2), llistxattr (`nofollow`): an empty list (0 bytes) once the path
    /// resolves.
    pub(crate) fn sys_listxattr(&mut self, path: &[u8], nofollow: bool) -> Ret {
        self.xattr_path(path, nofollow)?;
        ok(0)
    }

    /// fgetxattr(2): ENODATA for an open fd (EBADF otherwise), as getxattr.
    pub(crate) fn sys_fgetxattr(&mut self, fd: i32, name: &[u8]) -> Ret {
        drop(self.fds.get(fd)?);
        check_xattr_name(name)?;
        Err(errno::ENODATA)
    }

    /// flistxattr(2): an empty list for an open fd (EBADF otherwise).
    pub(crate) fn sys_flistxattr(&mut self, fd: i32) -> Ret {
        drop(self.fds.get(fd)?);
        ok(0)
    }

    /// The path of an xattr call exists (following a final symlink unless `nofollow`).
    fn xattr_path(&mut self, path: &[u8], nofollow: bool) -> Result<(), Errno> {
        let flags = if nofollow { AT_SYMLINK_NOFOLLOW } else { 0 };
        self.sys_faccessat(AT_FDCWD, path, 0, flags).map(drop)
    }
}

/// The arguments of copy_file_range(2) and splice(2): from `fd_in` (at `off_in`, the
/// guest's `loff_t`, or None for the descriptor's own offset) to `fd_out` (likewise),
/// at most `len` bytes, with the call's flags.
pub(crate) struct Transfer {
    pub fd_in: i32,
    pub off_in: Option<i64>,
    pub fd_out: i32,
    pub off_out: Option<i64>,
    pub len: usize,
    pub flags: u32,
}

/// Most bytes one copy_file_range moves: a host service thread serves many lanes, and
/// the call may return fewer bytes than asked (callers loop).
const COPY_RANGE_MAX: usize = 64 << 20;

impl ProcHost {
    /// copy_file_range(2) between two host files, by the host's own call: `off_in`,
    /// `off_out` are the guest's offsets (None: the descriptions' own, which move; the
    /// device advances the guest's when given, kernel/sys/marshal.h). At most
    /// COPY_RANGE_MAX bytes a call. EINVAL when either end is not a host file (gpuos's
    /// pipes, captured streams); EISDIR for a directory; the host's errors otherwise
    /// (EBADF for the wrong access mode or O_APPEND, EINVAL for flags or overlap, EXDEV).
    pub(crate) fn sys_copy_file_range(&mut self, t: Transfer) -> Ret {
        let (hin, kept_in) = self.copy_range_end(t.fd_in)?;
        let (hout, kept_out) = self.copy_range_end(t.fd_out)?;
        let mut oi = t.off_in.or(kept_in.map(|o| o as i64));
        let mut oo = t.off_out.or(kept_out.map(|o| o as i64));
        let len = t.len.min(COPY_RANGE_MAX);
        let n = sys::copy_file_range(
            hin.as_raw_fd(),
            oi.as_mut(),
            hout.as_raw_fd(),
            oo.as_mut(),
            len,
            t.flags,
        )?;
        // A description that keeps its own offset (a shared descriptor) moves it here.
        for (fd, given, kept) in [
            (t.fd_in, t.off_in, kept_in),
            (t.fd_out, t.off_out, kept_out),
        ] {
            if let (None, Some(at)) = (given, kept) {
                if let FileKind::Host(h) = &mut self.fds.get_mut(fd)?.kind {
                    h.off = Some(at + n as u64);
                }
            }
        }
        ok(n as i64)
    }

    /// One end of a copy_file_range: its host descriptor and the offset its description
    /// keeps (Some for a shared descriptor, see `HostFile::off`).
    fn copy_range_end(&self, fd: i32) -> Result<(Arc<std::os::fd::OwnedFd>, Option<u64>), Errno> {
        match &self.fds.get(fd)?.kind {
            FileKind::Host(h) if h.is_dir => Err(errno::EISDIR),
            FileKind::Host(h) => Ok((h.fd()?, h.off)),
            _ => Err(errno::EINVAL),
        }
    }
}

const SPLICE_F_NONBLOCK: u32 = 2;
/// SPLICE_F_MOVE, SPLICE_F_NONBLOCK, SPLICE_F_MORE, SPLICE_F_GIFT.
const SPLICE_FLAGS: u32 = 15;
/// Most bytes one splice moves: a pipe's capacity.
const SPLICE_MAX: usize = PIPE_CAPACITY;

impl ProcHost {
    /// splice(2) with gpuos's pipes (kept in its memory, host/pipe.rs): from a pipe to
    /// any fd, or from any fd into a pipe, at most what the pipe holds or has room for,
    /// so nothing read is left unwritten. An empty source pipe or a full destination
    /// pipe waits (RETRY: the process is parked) unless SPLICE_F_NONBLOCK or the pipe's
    /// O_NONBLOCK says EAGAIN. `off_in`, `off_out`: the guest's offsets for a non-pipe
    /// end (the device advances them); ESPIPE for an offset on a pipe, EINVAL when
    /// neither end is a pipe or for unknown flags; EBADF, EPIPE as read and write. No
    /// SIGPIPE is raised.
    pub(crate) fn sys_splice(&mut self, t: Transfer) -> Ret {
        let (din, dout) = (self.fds.desc(t.fd_in)?, self.fds.desc(t.fd_out)?);
        let pipe_flags = |d: &fd::Desc| {
            let g = fd::lock(d);
            matches!(g.kind, FileKind::Pipe(_)).then_some(g.flags)
        };
        let (fin, fout) = (pipe_flags(&din), pipe_flags(&dout));
        if t.flags & !SPLICE_FLAGS != 0 || (fin.is_none() && fout.is_none()) {
            return Err(errno::EINVAL);
        }
        if (fin.is_some() && t.off_in.is_some()) || (fout.is_some() && t.off_out.is_some()) {
            return Err(errno::ESPIPE);
        }
        let nonblock = |f: u32| {
            if t.flags & SPLICE_F_NONBLOCK != 0 {
                f | O_NONBLOCK
            } else {
                f
            }
        };
        let mut n = t.len.min(SPLICE_MAX);
        if n == 0 {
            return ok(0);
        }
        if let (Some(f), FileKind::Pipe(w)) = (fout, &fd::lock(&dout).kind) {
            n = n.min(w.room(nonblock(f))?);
        }
        let mut buf = vec![0u8; n];
        let got = match fin {
            Some(f) => {
                self.sys_write(t.fd_out, &[], t.off_out)?; // EBADF before anything is taken
                match &fd::lock(&din).kind {
                    FileKind::Pipe(r) => r.read(&mut buf, nonblock(f))?,
                    _ => return Err(errno::EBADF),
                }
            }
            None => self.sys_read(t.fd_in, &mut buf, t.off_in)?.0 as usize,
        };
        if let Some(f) = fout {
            return match &fd::lock(&dout).kind {
                FileKind::Pipe(w) => ok(w.write(&buf[..got], nonblock(f))? as i64),
                _ => Err(errno::EBADF),
            };
        }
        self.sys_write(t.fd_out, &buf[..got], t.off_out)
    }
}

/// An extended attribute name must have 1 to 255 bytes: ERANGE otherwise.
fn check_xattr_name(name: &[u8]) -> Result<(), Errno> {
    if name.is_empty() || name.len() > XATTR_NAME_MAX {
        return Err(errno::ERANGE);
    }
    Ok(())
}

/// The device's /proc/PID/maps text with its files named (kernel/sys/procfs.h
/// `procfs_map_line`): a line that ends in a NUL and a file identity in decimal gets
/// the file's "MAJ:MIN INODE", spaces to column 73 and its path there instead, as
/// Linux's show_map_vma writes them ([`MappedFiles::maps_tail`]; an unknown identity
/// reads as an anonymous mapping's "00:00 0"). Text without a NUL is returned as it is.
fn map_names<'a>(files: &MappedFiles, data: &'a [u8]) -> std::borrow::Cow<'a, [u8]> {
    if !data.contains(&0) {
        return data.into();
    }
    let mut out = Vec::with_capacity(data.len() * 2);
    for line in data.split_inclusive(|&b| b == b'\n') {
        let Some(nul) = line.iter().position(|&b| b == 0) else {
            out.extend_from_slice(line);
            continue;
        };
        let start = out.len();
        out.extend_from_slice(&line[..nul]);
        let rest = &line[nul + 1..];
        let digits = rest.strip_suffix(b"\n").unwrap_or(rest);
        let id = std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse().ok());
        let tail = id.and_then(|id| files.maps_tail(id, out.len() - start));
        out.extend_from_slice(tail.as_deref().unwrap_or(b"00:00 0 "));
        if rest.ends_with(b"\n") {
            out.push(b'\n');
        }
    }
    out.into()
}
