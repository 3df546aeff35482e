//! File syscalls: open/close/read/write/seek, stat family, directories, links, modes.

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

use super::errno::{self, Errno};
use super::fd::{self, FileKind, HostFd, HostFile, OpenFile, MAX_FDS};
use super::fs::{HostPath, Resolved, Sandbox};
use super::oflag::{self, *};
use super::pipe::{self, PIPE_CAPACITY};
use super::shared;
use super::stat::{self, Stat, STATFS_SIZE, STATX_SIZE};
use super::stdio::{SinkState, SourceState};
use super::{ok, sys, Outcome, ProcHost, Ret};

pub(crate) const AT_FDCWD: i32 = -100;
pub(crate) const AT_SYMLINK_NOFOLLOW: i32 = 0x100;
pub(crate) const AT_REMOVEDIR: i32 = 0x200;
pub(crate) const AT_EACCESS: i32 = 0x200;
pub(crate) const AT_SYMLINK_FOLLOW: i32 = 0x400;
pub(crate) const AT_NO_AUTOMOUNT: i32 = 0x800;
pub(crate) const AT_EMPTY_PATH: i32 = 0x1000;
pub(crate) const AT_STATX_SYNC_TYPE: i32 = 0x6000;

const F_DUPFD: i32 = 0;
const F_GETFD: i32 = 1;
const F_SETFD: i32 = 2;
const F_GETFL: i32 = 3;
const F_SETFL: i32 = 4;
const F_SETLK: i32 = 6;
const F_SETLKW: i32 = 7;
const F_OFD_SETLK: i32 = 37;
const F_OFD_SETLKW: i32 = 38;
const F_DUPFD_CLOEXEC: i32 = 1030;
const F_GETPIPE_SZ: i32 = 1032;
const FD_CLOEXEC: u64 = 1;

const RENAME_NOREPLACE: u32 = 1;
const RENAME_EXCHANGE: u32 = 2;

/// Status flags F_SETFL may change.
const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME | FASYNC;

/// Inode numbers of the in-memory streams (stdin, stdout, stderr) in fstat.
const STREAM_INO: [u64; 3] = [0x6770_0000, 0x6770_0001, 0x6770_0002];

/// Character devices a guest may open (major, minor; minor None = any): the memory
/// devices, /dev/tty and the pseudo-terminals. Other device nodes are EACCES.
const ALLOWED_CHR: [(u32, Option<u32>); 7] = [
    (1, Some(3)),
    (1, Some(5)),
    (1, Some(7)),
    (1, Some(8)),
    (1, Some(9)),
    (5, Some(0)),
    (136, None),
];

fn device_allowed(rdev: u64) -> bool {
    let (ma, mi) = (stat::dev_major(rdev), stat::dev_minor(rdev));
    ALLOWED_CHR
        .iter()
        .any(|&(a, b)| a == ma && (b.is_none() || b == Some(mi)))
}

fn is_type(mode: u32, t: u32) -> bool {
    mode & libc::S_IFMT == t
}

/// The status flags F_GETFL gives the guest for a host fd whose host flags are `host`,
/// opened with guest flags `asked`. gpuos opens with O_NOFOLLOW for its own safety: it
/// shows only if the guest asked. O_LARGEFILE never shows, as under qemu-aarch64 (whose
/// flag table maps the host's O_LARGEFILE, 0 in an x86-64 libc, to nothing).
fn guest_status(host: i32, asked: u32) -> u32 {
    (oflag::to_guest(host) & !(O_LARGEFILE | O_NOFOLLOW)) | (asked & O_NOFOLLOW)
}

/// The file status of a host fd.
fn fstat_host(fd: i32) -> Result<Stat, Errno> {
    sys::fstat(fd).map(|s| Stat::from(&s))
}

impl ProcHost {
    // ---- helpers ----

    /// The guest directory a relative path in `*at(dirfd, path)` starts from, and
    /// whether it is a directory of the sysroot (then the path is looked up there first,
    /// as qemu-user's host `openat` on the directory's host fd does).
    fn base(&self, dirfd: i32, path: &[u8]) -> Result<(PathBuf, bool), Errno> {
        if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
            return Ok((self.cwd.clone(), self.cwd_in_sysroot));
        }
        match &self.fds.get(dirfd)?.kind {
            FileKind::Host(h) if h.is_dir => {
                Ok((h.guest.clone(), h.mount.is_some_and(Sandbox::is_sysroot)))
            }
            _ => Err(errno::ENOTDIR),
        }
    }

    /// Resolve `path` from the working directory (sysroot-first when that is the
    /// sysroot's) in `sb` (the process's sandbox).
    fn resolve_cwd<'s>(
        &self,
        sb: &'s Sandbox,
        path: &[u8],
        follow: bool,
    ) -> Result<Resolved<'s>, Errno> {
        self.resolve_at(sb, AT_FDCWD, path, follow)
    }

    /// Resolve `path` of `*at(dirfd, path)` in `sb` (the process's sandbox).
    fn resolve_at<'s>(
        &self,
        sb: &'s Sandbox,
        dirfd: i32,
        path: &[u8],
        follow: bool,
    ) -> Result<Resolved<'s>, Errno> {
        let (base, in_sysroot) = self.base(dirfd, path)?;
        sb.resolve_from(
            &base,
            in_sysroot,
            path,
            follow,
            self.exe.as_deref(),
            Default::default(),
        )
    }

    fn is_ro(&self, mount: usize) -> bool {
        !self.sb.writable(mount)
    }

    /// Read-only, for a file that may have no mount (then it is never written through).
    fn is_ro_opt(&self, mount: Option<usize>) -> bool {
        match mount {
            Some(m) => self.is_ro(m),
            None => true,
        }
    }

    /// Install an open file description, honouring the fd limit.
    fn install(&mut self, f: OpenFile, cloexec: bool) -> Ret {
        self.fds.install(f, 0, cloexec).map(|fd| (fd as i64, 0))
    }

    /// The file status of an fd (streams included).
    fn stat_fd(&self, fd: i32) -> Result<Stat, Errno> {
        match &self.fds.get(fd)?.kind {
            FileKind::Host(h) => fstat_host(h.fd()?.as_raw_fd()),
            FileKind::Pipe(p) => Ok(stat::pipe_stat(p.ino())),
            FileKind::Source(SourceState::Inherit) => fstat_host(0),
            FileKind::Source(SourceState::Bytes { .. }) => Ok(stat::pipe_stat(STREAM_INO[0])),
            FileKind::Source(SourceState::Null) => Ok(stat::null_stat()),
            FileKind::Sink(SinkState::Capture(i)) => Ok(stat::pipe_stat(STREAM_INO[1 + *i])),
            FileKind::Sink(s) => fstat_host(s.host_fd().ok_or(errno::EBADF)?),
            FileKind::Epoll(_) => Ok(stat::anon_stat()),
            FileKind::Sock(k) => Ok(stat::sock_stat(k.ino())),
            FileKind::Event(e) => Ok(Stat {
                ino: e.ino(),
                ..stat::anon_stat()
            }),
            FileKind::DevPipe(e) => Ok(stat::pipe_stat(e.ino)),
        }
    }

    // ---- open / close / dup / fcntl ----

    pub(crate) fn sys_openat(&mut self, dirfd: i32, path: &[u8], flags: u32, mode: u32) -> Ret {
        self.openat_resolved(dirfd, path, flags, mode)
            .map(|(r, _)| r)
    }

    /// openat(2), and whether the new description may be read on the device
    /// (kernel/sys/devread.h): a regular file (or a directory, whose fstat the device
    /// answers) of the read-only sysroot, opened for reading only, whose content
    /// therefore stays the same while the run lasts.
    pub(crate) fn openat_resolved(
        &mut self,
        dirfd: i32,
        path: &[u8],
        flags: u32,
        mode: u32,
    ) -> Result<((i64, usize), bool), Errno> {
        if path == b"/proc/cpuinfo" {
            if flags & O_ACCMODE != O_RDONLY || flags & O_CREAT != 0 {
                return Err(errno::EACCES);
            }
            return Ok((self.open_cpuinfo(flags)?, false));
        }
        let creat = flags & O_CREAT != 0;
        let follow = flags & O_NOFOLLOW == 0 && !(creat && flags & O_EXCL != 0);
        let sb = Arc::clone(&self.sb);
        match self.resolve_at(&sb, dirfd, path, follow)? {
            Resolved::ProcExe => Err(errno::ELOOP),
            Resolved::ProcFd(n) => Ok((self.reopen(n, flags)?, false)),
            // The device opens the paths it knows (procfs.h); other spellings of them
            // are not found, as before.
            Resolved::ProcFile(_) => Err(errno::ENOENT),
            Resolved::Host(h) => {
                // O_TMPFILE's own bit (it includes O_DIRECTORY's, which directories may have).
                const NOT_PLAIN: u32 = O_ACCMODE
                    | O_PATH
                    | O_TRUNC
                    | O_CREAT
                    | O_APPEND
                    | O_DIRECT
                    | (O_TMPFILE & !O_DIRECTORY);
                let kind = h.kind();
                let dev = (kind == libc::S_IFREG || kind == libc::S_IFDIR)
                    && flags & NOT_PLAIN == 0
                    && (h.sysroot_only || sb.lookup_lasts(path, follow));
                Ok((self.open_host(h, flags, mode)?, dev))
            }
        }
    }

    /// openat2(2): openat with a `struct open_how` (`how`, the guest's `size` bytes: the
    /// device checked 24 <= size <= 4096): its flags checked strictly (EINVAL for unknown
    /// open or resolve flags, a mode without O_CREAT or O_TMPFILE or beyond 07777,
    /// O_PATH with flags other than O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC,
    /// RESOLVE_BENEATH with RESOLVE_IN_ROOT, O_CREAT with O_DIRECTORY), E2BIG for
    /// non-zero bytes past the struct this kernel knows, EAGAIN for RESOLVE_CACHED with
    /// O_CREAT, O_TRUNC or O_TMPFILE (fs/open.c build_open_flags). The RESOLVE_*
    /// restrictions are kept by the sandbox's own walk (`Sandbox::resolve_how`), which
    /// is where every lookup happens: RESOLVE_CACHED lookups always find what they need
    /// (gpuos's lookups never wait for I/O that the guest could tell apart).
    pub(crate) fn sys_openat2(&mut self, dirfd: i32, path: &[u8], how: &[u8]) -> Ret {
        const OPEN_HOW_SIZE: usize = 24;
        const FASYNC: u64 = 0o20000;
        const VALID_OPEN: u64 = (O_ACCMODE
            | O_CREAT
            | O_EXCL
            | O_NOCTTY
            | O_TRUNC
            | O_APPEND
            | O_NONBLOCK
            | O_SYNC
            | O_DSYNC
            | O_DIRECT
            | O_LARGEFILE
            | O_DIRECTORY
            | O_NOFOLLOW
            | O_NOATIME
            | O_CLOEXEC
            | O_PATH
            | O_TMPFILE) as u64
            | FASYNC;
        const O_PATH_FLAGS: u64 = (O_DIRECTORY | O_NOFOLLOW | O_PATH | O_CLOEXEC) as u64;
        const TMPFILE_BIT: u64 = (O_TMPFILE & !O_DIRECTORY) as u64;
        use super::fs::{ResolveHow, RESOLVE_BENEATH, RESOLVE_IN_ROOT};
        const RESOLVE_CACHED: u64 = 0x20;
        const VALID_RESOLVE: u64 = 0x3f;
        if how.len() < OPEN_HOW_SIZE {
            return Err(errno::EINVAL);
        }
        if how[OPEN_HOW_SIZE..].iter().any(|&b| b != 0) {
            return Err(errno::E2BIG);
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&how[i * 8..i * 8 + 8]);
            u64::from_le_bytes(w)
        };
        let (flags, mode, resolve) = (word(0), word(1), word(2));
        if flags & !VALID_OPEN != 0 || resolve & !VALID_RESOLVE != 0 {
            return Err(errno::EINVAL);
        }
        if resolve & RESOLVE_BENEATH != 0 && resolve & RESOLVE_IN_ROOT != 0 {
            return Err(errno::EINVAL);
        }
        let creates = flags & (O_CREAT as u64 | TMPFILE_BIT) != 0;
        if (creates && mode & !0o7777 != 0) || (!creates && mode != 0) {
            return Err(errno::EINVAL);
        }
        let dir_creat = (O_DIRECTORY | O_CREAT) as u64;
        if flags & dir_creat == dir_creat {
            return Err(errno::EINVAL);
        }
        if flags & TMPFILE_BIT != 0
            && (flags & O_DIRECTORY as u64 == 0 || flags & O_ACCMODE as u64 == O_RDONLY as u64)
        {
            return Err(errno::EINVAL);
        }
        if flags & O_PATH as u64 != 0 && flags & !O_PATH_FLAGS != 0 {
            return Err(errno::EINVAL);
        }
        if resolve & RESOLVE_CACHED != 0 && flags & ((O_TRUNC | O_CREAT) as u64 | TMPFILE_BIT) != 0
        {
            return Err(errno::EAGAIN);
        }
        let (flags, mode) = (flags as u32, mode as u32);
        if resolve == 0 {
            return self.sys_openat(dirfd, path, flags, mode);
        }
        if path.is_empty() {
            return Err(errno::ENOENT);
        }
        let creat = flags & O_CREAT != 0;
        let follow = flags & O_NOFOLLOW == 0 && !(creat && flags & O_EXCL != 0);
        let sb = Arc::clone(&self.sb);
        // RESOLVE_IN_ROOT: an absolute path is looked up from dirfd too.
        let in_root = resolve & RESOLVE_IN_ROOT != 0;
        let (base, in_sysroot) = self.base(dirfd, if in_root { b"." } else { path })?;
        let xdev_mnt = if resolve & super::fs::RESOLVE_NO_XDEV == 0 {
            None
        } else if path[0] == b'/' && !in_root {
            Some(self.mount_of_dir(AT_FDCWD, b"/")?)
        } else {
            Some(self.mount_of_dir(dirfd, b".")?)
        };
        let how = ResolveHow {
            flags: resolve,
            xdev_mnt,
        };
        match sb.resolve_from(&base, in_sysroot, path, follow, self.exe.as_deref(), how)? {
            Resolved::ProcExe => Err(errno::ELOOP),
            Resolved::ProcFd(n) => self.reopen(n, flags),
            // The device opens the paths it knows (procfs.h); other spellings of them
            // are not found, as before.
            Resolved::ProcFile(_) => Err(errno::ENOENT),
            Resolved::Host(h) => self.open_host(h, flags, mode),
        }
    }

    /// The host mount id of the directory `dir` ("." or "/") names from `dirfd` (the
    /// working directory for AT_FDCWD): where RESOLVE_NO_XDEV keeps a lookup.
    fn mount_of_dir(&self, dirfd: i32, dir: &[u8]) -> Result<u64, Errno> {
        if dirfd == AT_FDCWD {
            match self.resolve_cwd(&self.sb, dir, true)? {
                Resolved::Host(h) => super::fs::mount_id(h.dir.raw(), &h.name),
                _ => Err(errno::ENOENT),
            }
        } else {
            match &self.fds.get(dirfd)?.kind {
                FileKind::Host(h) => super::fs::mount_id(h.fd()?.as_raw_fd(), c""),
                _ => Err(errno::ENOTDIR),
            }
        }
    }

    fn open_host(&mut self, h: HostPath<'_>, flags: u32, mode: u32) -> Ret {
        let acc = flags & O_ACCMODE;
        let creat = flags & O_CREAT != 0;
        let tmpfile = flags & O_TMPFILE == O_TMPFILE;
        let path_only = flags & O_PATH != 0;
        let writes = !path_only && (acc != O_RDONLY || flags & O_TRUNC != 0);
        let ro = self.is_ro(h.mount);
        let kind = h.kind();
        let mut hflags = oflag::to_host(flags & !O_CLOEXEC) | libc::O_NOFOLLOW | libc::O_NOCTTY;
        let mut created = false;
        if tmpfile {
            match kind {
                0 => return Err(errno::ENOENT),
                libc::S_IFDIR if ro => return Err(errno::EROFS),
                libc::S_IFDIR => created = true,
                _ => return Err(errno::ENOTDIR),
            }
        } else if h.stat.is_none() {
            if !creat || path_only {
                return Err(errno::ENOENT);
            }
            if h.trailing_slash || flags & O_DIRECTORY != 0 {
                return Err(errno::EISDIR);
            }
            if ro {
                return Err(errno::EROFS);
            }
            hflags |= libc::O_EXCL;
            created = true;
        } else {
            let st = h.stat.unwrap_or_else(sys::zero_stat);
            if creat && flags & O_EXCL != 0 {
                return Err(errno::EEXIST);
            }
            if kind == libc::S_IFLNK && !path_only {
                return Err(errno::ELOOP);
            }
            if kind == libc::S_IFDIR && (acc != O_RDONLY || creat) && !path_only {
                return Err(errno::EISDIR);
            }
            if flags & O_DIRECTORY != 0 && kind != libc::S_IFDIR {
                return Err(errno::ENOTDIR);
            }
            if !path_only {
                match kind {
                    libc::S_IFBLK => return Err(errno::EACCES),
                    libc::S_IFCHR if !device_allowed(st.st_rdev) => return Err(errno::EACCES),
                    libc::S_IFCHR => {}
                    libc::S_IFIFO | libc::S_IFSOCK if ro => return Err(errno::EACCES),
                    libc::S_IFIFO | libc::S_IFSOCK => {}
                    _ if writes && ro => return Err(errno::EROFS),
                    _ => {}
                }
            }
            // The name exists: never let the host create anything.
            hflags &= !(libc::O_CREAT | libc::O_EXCL);
        }
        let want = mode & 0o7777 & !self.umask;
        let fd = sys::openat(h.dir.raw(), &h.name, hflags, want)?;
        if created && want & self.sb.host_umask() != 0 {
            let _ = sys::fchmod(fd.as_raw_fd(), want);
        }
        let st = sys::fstat(fd.as_raw_fd())?;
        let is_dir = is_type(st.st_mode, libc::S_IFDIR);
        // A file opened without writing is read through a descriptor shared by every
        // such open of it (host/shared.rs): the guest's status flags are kept here then.
        let share = !writes
            && !created
            && flags & O_DIRECT == 0
            && (is_dir || is_type(st.st_mode, libc::S_IFREG));
        let (hfd, gflags) = if share {
            let gflags = guest_status(sys::fcntl(fd.as_raw_fd(), libc::F_GETFL, 0)?, flags);
            let shared = self.sb.shared_fds();
            let fd = shared.register(&self.sb, (fd, &st), hflags, h.guest.clone(), false);
            (HostFd::Shared(fd), gflags)
        } else if !tmpfile && is_type(st.st_mode, libc::S_IFREG) {
            // Named, so it can be reopened after being parked.
            let shared = self.sb.shared_fds();
            let fd = shared.register(&self.sb, (fd, &st), hflags, h.guest.clone(), true);
            (HostFd::Private(fd), flags & O_NOFOLLOW)
        } else {
            (HostFd::Own(Arc::new(fd)), flags & O_NOFOLLOW)
        };
        let f = HostFile::new(hfd, h.guest, Some(h.mount), is_dir, path_only);
        self.install(
            OpenFile {
                kind: FileKind::Host(f),
                flags: gflags,
            },
            flags & O_CLOEXEC != 0,
        )
    }

    /// open("/proc/self/fd/N"): a new description of the same file (streams: a dup).
    fn reopen(&mut self, n: i32, flags: u32) -> Ret {
        let cloexec = flags & O_CLOEXEC != 0;
        let acc = flags & O_ACCMODE;
        let mut pipe_end = None;
        let host = match &self.fds.get(n).map_err(|_| errno::ENOENT)?.kind {
            FileKind::Host(h) => Some((h.fd()?, h.mount, h.guest.clone(), h.is_dir)),
            FileKind::Pipe(p) => {
                // A new description of the same pipe, reading and/or writing as asked
                // (fifo(7); the open does not wait for the other end here).
                pipe_end = Some(p.reopen(acc != O_WRONLY, acc != O_RDONLY));
                None
            }
            // A pipe the device keeps: it hands the pipe back before its own process
            // opens a /proc path (kernel/sys/dpipe.h); a dup here would be one it
            // never learns of.
            FileKind::DevPipe(_) => return Err(errno::ENXIO),
            _ => None,
        };
        if let Some(end) = pipe_end {
            let f = OpenFile {
                kind: FileKind::Pipe(end),
                flags: flags & (O_ACCMODE | O_NONBLOCK),
            };
            return self.install(f, cloexec);
        }
        let Some((held, mount, guest, is_dir)) = host else {
            return self.fds.dup(n, 0, cloexec).map(|fd| (fd as i64, 0));
        };
        let hostfd = held.as_raw_fd();
        let st = sys::fstat(hostfd)?;
        let writes = flags & O_PATH == 0 && (acc != O_RDONLY || flags & O_TRUNC != 0);
        let ro = self.is_ro_opt(mount);
        let special = matches!(
            st.st_mode & libc::S_IFMT,
            libc::S_IFCHR | libc::S_IFIFO | libc::S_IFSOCK
        );
        if writes && ro && !special {
            return Err(errno::EROFS);
        }
        let hflags =
            oflag::to_host(flags & !(O_CLOEXEC | O_CREAT | O_EXCL | O_NOFOLLOW)) | libc::O_NOCTTY;
        let p = CString::new(format!("/proc/self/fd/{hostfd}")).map_err(|_| errno::EINVAL)?;
        // The magic link leads exactly to the inode this fd holds.
        let fd = sys::openat(libc::AT_FDCWD, &p, hflags, 0)?;
        let path_only = flags & O_PATH != 0;
        let f = HostFile::new(HostFd::Own(Arc::new(fd)), guest, mount, is_dir, path_only);
        self.install(
            OpenFile {
                kind: FileKind::Host(f),
                flags: 0, // the open follows the magic link: no O_NOFOLLOW to show
            },
            cloexec,
        )
    }

    pub(crate) fn sys_close(&mut self, fd: i32) -> Ret {
        if let Some(d) = self.fds.close(fd)? {
            if let FileKind::Sink(s) = &mut fd::lock(&d).kind {
                s.flush();
            }
        }
        ok(0)
    }

    /// pipe2(2): a pipe kept in gpuos's memory (host/pipe.rs) whose ends become two
    /// guest fds; `out` receives int[2]. No host descriptor is used.
    pub(crate) fn sys_pipe2(&mut self, out: &mut [u8], flags: u32) -> Ret {
        if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 {
            return Err(errno::EINVAL);
        }
        if out.len() < 8 {
            return Err(errno::EFAULT);
        }
        let (r, w) = pipe::new_pipe();
        let end = |end, acc| OpenFile {
            kind: FileKind::Pipe(end),
            flags: acc | (flags & O_NONBLOCK),
        };
        let cloexec = flags & O_CLOEXEC != 0;
        let a = self.fds.install(end(r, O_RDONLY), 0, cloexec)?;
        let b = match self.fds.install(end(w, O_WRONLY), 0, cloexec) {
            Ok(b) => b,
            Err(e) => {
                let _ = self.fds.close(a);
                return Err(e);
            }
        };
        out[..4].copy_from_slice(&a.to_le_bytes());
        out[4..8].copy_from_slice(&b.to_le_bytes());
        Ok((0, 8))
    }

    pub(crate) fn sys_dup(&mut self, fd: i32) -> Ret {
        self.fds.dup(fd, 0, false).map(|f| (f as i64, 0))
    }

    pub(crate) fn sys_dup3(&mut self, old: i32, new: i32, flags: u32) -> Ret {
        if flags & !O_CLOEXEC != 0 || old == new {
            return Err(errno::EINVAL);
        }
        self.fds.desc(old)?;
        if let Some(d) = self.fds.dup_to(old, new, flags & O_CLOEXEC != 0)? {
            if let FileKind::Sink(s) = &mut fd::lock(&d).kind {
                s.flush();
            }
        }
        ok(new as i64)
    }

    pub(crate) fn sys_fcntl(&mut self, fd: i32, cmd: i32, arg: u64) -> Ret {
        let d = self.fds.desc(fd)?;
        let mut f = fd::lock(&d);
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                let min = usize::try_from(arg as i32).map_err(|_| errno::EINVAL)?;
                if min >= MAX_FDS {
                    return Err(errno::EINVAL);
                }
                self.fds
                    .dup(fd, min, cmd == F_DUPFD_CLOEXEC)
                    .map(|f| (f as i64, 0))
            }
            F_GETFD => ok(if self.fds.cloexec(fd)? {
                FD_CLOEXEC as i64
            } else {
                0
            }),
            F_SETFD => {
                self.fds.set_cloexec(fd, arg & FD_CLOEXEC != 0)?;
                ok(0)
            }
            F_GETFL => match &f.kind {
                FileKind::Host(h) if h.off.is_none() => {
                    let fl = sys::fcntl(h.fd()?.as_raw_fd(), libc::F_GETFL, 0)?;
                    ok(guest_status(fl, f.flags) as i64)
                }
                _ => ok(f.flags as i64),
            },
            F_SETFL => {
                let arg = arg as u32;
                match &f.kind {
                    FileKind::Host(h) if h.off.is_none() => {
                        let held = h.fd()?;
                        let hfd = held.as_raw_fd();
                        let cur = sys::fcntl(hfd, libc::F_GETFL, 0)?;
                        let keep = cur & !oflag::to_host(SETFL_MASK);
                        sys::fcntl(
                            hfd,
                            libc::F_SETFL,
                            (keep | oflag::to_host(arg & SETFL_MASK)) as i64,
                        )?;
                    }
                    _ => f.flags = (f.flags & !SETFL_MASK) | (arg & SETFL_MASK),
                }
                ok(0)
            }
            // Record locks: one process per file in practice; granted without a lock.
            F_SETLK | F_SETLKW | F_OFD_SETLK | F_OFD_SETLKW => ok(0),
            F_GETPIPE_SZ => match &f.kind {
                FileKind::Pipe(_) => ok(PIPE_CAPACITY as i64),
                FileKind::Host(h) => {
                    ok(sys::fcntl(h.fd()?.as_raw_fd(), libc::F_GETPIPE_SZ, 0)? as i64)
                }
                FileKind::Source(SourceState::Inherit) | FileKind::Sink(SinkState::Inherit(_)) => {
                    let hfd = f.host_fd()?.ok_or(errno::EBADF)?;
                    ok(sys::fcntl(hfd.raw(), libc::F_GETPIPE_SZ, 0)? as i64)
                }
                FileKind::Source(SourceState::Bytes { .. })
                | FileKind::Sink(SinkState::Capture(_)) => ok(65536),
                _ => Err(errno::EBADF),
            },
            _ => Err(errno::EINVAL),
        }
    }

    // ---- read / write ----

    /// read/readv/pread64 (`off` Some: at that offset, not moving the file offset).
    pub(crate) fn sys_read(&mut self, fd: i32, buf: &mut [u8], off: Option<i64>) -> Ret {
        if off.is_some_and(|o| o < 0) {
            return Err(errno::EINVAL);
        }
        let mut f = self.fds.get_mut(fd)?;
        let flags = f.flags;
        let n = match (&mut f.kind, off) {
            (FileKind::Pipe(p), None) => p.read(buf, flags)?,
            (FileKind::Pipe(_), Some(_)) => return Err(errno::ESPIPE),
            // A directory is read at its getdents64 position, so the host's checks of
            // that position answer as for the guest's own descriptor (EISDIR; EINVAL
            // once a hashed directory's offset is past what a file may have).
            (
                FileKind::Host(HostFile {
                    hfd, dir: Some(d), ..
                }),
                None,
            ) => sys::pread(hfd.get()?.as_raw_fd(), buf, d.pos())?,
            (FileKind::Host(h), None) => match h.off {
                Some(at) => {
                    let n = sys::pread(h.fd()?.as_raw_fd(), buf, at as i64)?;
                    h.off = Some(at + n as u64);
                    n
                }
                None => sys::read(h.fd()?.as_raw_fd(), buf)?,
            },
            (FileKind::Host(h), Some(o)) => sys::pread(h.fd()?.as_raw_fd(), buf, o)?,
            (FileKind::Source(s), None) => s.read(buf)?,
            (FileKind::Source(SourceState::Inherit), Some(o)) => sys::pread(0, buf, o)?,
            (FileKind::Sink(SinkState::Capture(_)), _) => return Err(errno::EBADF),
            (FileKind::Sink(s), None) => sys::read(s.host_fd().ok_or(errno::EBADF)?, buf)?,
            (FileKind::Sink(s), Some(o)) => sys::pread(s.host_fd().ok_or(errno::EBADF)?, buf, o)?,
            (FileKind::Source(_), Some(_)) => return Err(errno::ESPIPE),
            (FileKind::Epoll(_), _) => return Err(errno::EINVAL),
            (FileKind::Sock(k), None) => k.read(buf, flags)?,
            (FileKind::Sock(_), Some(_)) => return Err(errno::ESPIPE),
            (FileKind::Event(e), None) => e.read(buf, flags)?,
            (FileKind::Event(_), Some(_)) => return Err(errno::ESPIPE),
            (FileKind::DevPipe(_), Some(_)) => return Err(errno::ESPIPE),
            // The device serves a pipe it keeps (or hands it back first).
            (FileKind::DevPipe(_), None) => return Err(errno::EIO),
        };
        Ok((n as i64, n))
    }

    /// write/writev/pwrite64.
    pub(crate) fn sys_write(&mut self, fd: i32, data: &[u8], off: Option<i64>) -> Ret {
        if off.is_some_and(|o| o < 0) {
            return Err(errno::EINVAL);
        }
        let mut f = self.fds.get_mut(fd)?;
        let flags = f.flags;
        let n = match (&mut f.kind, off) {
            (FileKind::Pipe(p), None) => p.write(data, flags)?,
            (FileKind::Pipe(_), Some(_)) => return Err(errno::ESPIPE),
            // On a shared descriptor (opened read-only) the host answers EBADF.
            (FileKind::Host(h), None) => sys::write(h.fd()?.as_raw_fd(), data)?,
            (FileKind::Host(h), Some(o)) => sys::pwrite(h.fd()?.as_raw_fd(), data, o)?,
            (FileKind::Sink(SinkState::Capture(_)), Some(_)) => return Err(errno::ESPIPE),
            (FileKind::Sink(s), None) => s.write(
                &mut self.streams.lock().unwrap_or_else(|e| e.into_inner()),
                data,
            )?,
            (FileKind::Sink(s), Some(o)) => sys::pwrite(s.host_fd().ok_or(errno::EBADF)?, data, o)?,
            (FileKind::Source(SourceState::Inherit), None) => sys::write(0, data)?,
            (FileKind::Source(SourceState::Inherit), Some(o)) => sys::pwrite(0, data, o)?,
            (FileKind::Source(_), _) => return Err(errno::EBADF),
            (FileKind::Epoll(_), _) => return Err(errno::EINVAL),
            (FileKind::Sock(k), None) => k.write(data, flags)?,
            (FileKind::Sock(_), Some(_)) => return Err(errno::ESPIPE),
            (FileKind::Event(e), None) => e.write(data, flags)?,
            (FileKind::Event(_), Some(_)) => return Err(errno::ESPIPE),
            (FileKind::DevPipe(_), Some(_)) => return Err(errno::ESPIPE),
            (FileKind::DevPipe(_), None) => return Err(errno::EIO),
        };
        ok(n as i64)
    }

    pub(crate) fn sys_lseek(&mut self, fd: i32, off: i64, whence: i32) -> Ret {
        if !(0..=4).contains(&whence) {
            return Err(errno::EINVAL);
        }
        let mut f = self.fds.get_mut(fd)?;
        match &mut f.kind {
            FileKind::Source(SourceState::Null) => ok(0),
            FileKind::Source(SourceState::Bytes { .. })
            | FileKind::Sink(SinkState::Capture(_))
            | FileKind::Pipe(_)
            | FileKind::Sock(_)
            | FileKind::Event(_)
            | FileKind::DevPipe(_) => Err(errno::ESPIPE),
            FileKind::Host(HostFile {
                hfd, dir: Some(d), ..
            }) => ok(d.seek(&*hfd.get()?, off, whence)?),
            FileKind::Host(HostFile {
                hfd, off: Some(at), ..
            }) => {
                *at = shared::seek(&*hfd.get()?, *at, off, whence)?;
                ok(*at as i64)
            }
            _ => ok(sys::lseek(
                f.host_fd()?.ok_or(errno::EBADF)?.raw(),
                off,
                whence,
            )?),
        }
    }

    pub(crate) fn sys_sendfile(&mut self, out_fd: i32, in_fd: i32, offp: u64, count: usize) -> Ret {
        self.fds.desc(out_fd)?;
        self.fds.desc(in_fd)?;
        if offp != 0 {
            // The device brought the offset (`i=8`: a bad pointer is EFAULT there, as
            // Linux's get_user), but a syscall has one out argument at most and the
            // updated offset would need a second way back: not done.
            return Err(errno::ENOSYS);
        }
        let count = count.min(0x7fff_f000);
        let mut buf = vec![0u8; count.min(1 << 16)];
        let mut total = 0usize;
        while total < count {
            let want = (count - total).min(buf.len());
            let n = match self.sys_read(in_fd, &mut buf[..want], None) {
                Ok((n, _)) => n as usize,
                Err(e) if total == 0 => return Err(e),
                Err(_) => break,
            };
            if n == 0 {
                break;
            }
            let mut done = 0;
            while done < n {
                match self.sys_write(out_fd, &buf[done..n], None) {
                    Ok((0, _)) => break,
                    Ok((w, _)) => done += w as usize,
                    Err(e) if total + done == 0 => {
                        let _ = self.sys_lseek(in_fd, -(n as i64), libc::SEEK_CUR);
                        return Err(e);
                    }
                    Err(_) => break,
                }
            }
            total += done;
            if done < n {
                let _ = self.sys_lseek(in_fd, -((n - done) as i64), libc::SEEK_CUR);
                break;
            }
        }
        ok(total as i64)
    }

    pub(crate) fn sys_getdents64(&mut self, fd: i32, buf: &mut [u8]) -> Ret {
        let mut f = self.fds.get_mut(fd)?;
        let n = match &mut f.kind {
            FileKind::Host(HostFile {
                hfd, dir: Some(d), ..
            }) => d.getdents(&*hfd.get()?, buf)?,
            FileKind::Host(h) => sys::getdents64(h.fd()?.as_raw_fd(), buf)?,
            _ => return Err(errno::ENOTDIR),
        };
        Ok((n as i64, n))
    }

    pub(crate) fn sys_ftruncate(&mut self, fd: i32, len: i64) -> Ret {
        if len < 0 {
            return Err(errno::EINVAL);
        }
        match &self.fds.get(fd)?.kind {
            FileKind::Host(h) => sys::ftruncate(h.fd()?.as_raw_fd(), len)?,
            FileKind::Sink(SinkState::File(f)) => sys::ftruncate(f.as_raw_fd(), len)?,
            _ => return Err(errno::EINVAL),
        }
        ok(0)
    }

    pub(crate) fn sys_fsync(&mut self, fd: i32, data_only: bool) -> Ret {
        let f = self.fds.get(fd)?;
        match &f.kind {
            FileKind::Source(SourceState::Inherit) | FileKind::Sink(SinkState::Inherit(_)) => {
                sys::fsync(f.host_fd()?.ok_or(errno::EINVAL)?.raw(), data_only)?
            }
            FileKind::Host(_) | FileKind::Sink(SinkState::File(_)) => {
                sys::fsync(f.host_fd()?.ok_or(errno::EINVAL)?.raw(), data_only)?
            }
            _ => return Err(errno::EINVAL),
        }
        ok(0)
    }

    // ---- stat family ----

    pub(crate) fn sys_fstat(&mut self, fd: i32, buf: u64, out: &mut [u8]) -> Ret {
        let st = self.stat_fd(fd)?;
        if buf == 0 {
            return Err(errno::EFAULT);
        }
        Ok((0, st.encode(out)))
    }

    /// Resolve `*at(dirfd, path)` for the stat-like calls, AT_EMPTY_PATH included:
    /// Err(fd) when the call is about an fd (AT_EMPTY_PATH or /proc/self/fd/N).
    fn stat_target<'a>(
        &self,
        sb: &'a super::Sandbox,
        dirfd: i32,
        path: &[u8],
        flags: i32,
    ) -> Result<Result<HostPath<'a>, StatFd>, Errno> {
        if path.is_empty() {
            if flags & AT_EMPTY_PATH == 0 {
                return Err(errno::ENOENT);
            }
            if dirfd != AT_FDCWD {
                return Ok(Err(StatFd::Fd(dirfd)));
            }
        }
        let p: &[u8] = if path.is_empty() { b"." } else { path };
        let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
        match self.resolve_at(sb, dirfd, p, follow)? {
            Resolved::Host(h) if h.stat.is_none() => Err(errno::ENOENT),
            Resolved::Host(h) => Ok(Ok(h)),
            Resolved::ProcFd(n) if follow => Ok(Err(StatFd::Fd(n))),
            Resolved::ProcFd(_) => Ok(Err(StatFd::Virtual(Self::link_stat(
                b"/proc/self/fd".len() as i64 + 8,
            )))),
            Resolved::ProcExe => Ok(Err(StatFd::Virtual(Self::link_stat(
                self.exe_path(sb).as_os_str().len() as i64,
            )))),
            Resolved::ProcFile(mode) => Ok(Err(StatFd::Virtual(Self::proc_file_stat(mode)))),
        }
    }

    /// The stat of a /proc file the device writes (proc(5)): a regular file of size 0
    /// with permission bits `mode`, owned by the process's effective ids.
    fn proc_file_stat(mode: u32) -> Stat {
        let (_, euid, _, egid) = sys::ids();
        Stat {
            mode: libc::S_IFREG | mode,
            nlink: 1,
            uid: euid,
            gid: egid,
            blksize: 1024,
            ..Stat::default()
        }
    }

    /// access(2) of a virtual /proc file with stat `st` (a magic link: 0777): its
    /// permission bits for the owner, which the process is; write allowed to root
    /// whatever they say, execute only where some x bit is set (path_resolution(7)).
    fn access_virtual(st: &Stat, mode: i32) -> Ret {
        let (_, euid, _, _) = sys::ids();
        let bits = st.mode & 0o700;
        let denied = (mode & libc::R_OK != 0 && bits & 0o400 == 0 && euid != 0)
            || (mode & libc::W_OK != 0 && bits & 0o200 == 0 && euid != 0)
            || (mode & libc::X_OK != 0 && st.mode & 0o111 == 0);
        if denied {
            Err(errno::EACCES)
        } else {
            ok(0)
        }
    }

    /// A magic /proc link's lstat.
    fn link_stat(size: i64) -> Stat {
        let (_, uid, _, gid) = sys::ids();
        Stat {
            mode: libc::S_IFLNK | 0o777,
            nlink: 1,
            uid,
            gid,
            size,
            blksize: 1024,
            ..Stat::default()
        }
    }

    /// newfstatat(2). An absolute path whose lookup stayed in the read-only sysroot
    /// answers `Outcome::Lasting`: the device keeps the answer for every process
    /// (kernel/sys/statcache.h), which python3's start-up, a third of whose host calls
    /// are stats of its library's files, then asks once per run instead of once per lane.
    /// So does an ENOENT or ENOTDIR that no process of the run can change
    /// ([`Sandbox::lookup_lasts`]), with no output; so does a stat of a path found
    /// outside the sysroot that lasts as well (a read-only directory of the host's below
    /// one the sysroot provides).
    pub(crate) fn sys_newfstatat(
        &mut self,
        dirfd: i32,
        pathp: u64,
        path: &[u8],
        buf: u64,
        flags: i32,
        out: &mut [u8],
    ) -> Result<Outcome, Errno> {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH) != 0 {
            return Err(errno::EINVAL);
        }
        if pathp == 0 {
            return Err(errno::EFAULT);
        }
        let sb = Arc::clone(&self.sb);
        let mut lasting = false;
        let target = match self.stat_target(&sb, dirfd, path, flags) {
            // A path no process of the run can make appear: the device keeps its absence
            // too (kernel/sys/statcache.h).
            Err(e)
                if (e == errno::ENOENT || e == errno::ENOTDIR)
                    && flags & AT_EMPTY_PATH == 0
                    && sb.lookup_lasts(path, flags & AT_SYMLINK_NOFOLLOW == 0) =>
            {
                return Ok(Outcome::Lasting {
                    ret: e.ret(),
                    out_len: 0,
                });
            }
            r => r?,
        };
        let st = match target {
            Ok(h) => {
                lasting = path.first() == Some(&b'/')
                    && flags & AT_EMPTY_PATH == 0
                    && (h.sysroot_only || sb.lookup_lasts(path, flags & AT_SYMLINK_NOFOLLOW == 0));
                Stat::from(&h.stat.unwrap_or_else(sys::zero_stat))
            }
            Err(StatFd::Fd(fd)) => self.stat_fd(fd)?,
            Err(StatFd::Virtual(st)) => st,
        };
        if buf == 0 {
            return Err(errno::EFAULT);
        }
        let out_len = st.encode(out);
        Ok(if lasting {
            Outcome::Lasting { ret: 0, out_len }
        } else {
            Outcome::Done { ret: 0, out_len }
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn sys_statx(
        &mut self,
        dirfd: i32,
        pathp: u64,
        path: &[u8],
        flags: i32,
        mask: u32,
        buf: u64,
        out: &mut [u8],
    ) -> Ret {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE)
            != 0
            || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
            || mask & 0x8000_0000 != 0
        {
            return Err(errno::EINVAL);
        }
        if pathp == 0 {
            return Err(errno::EFAULT);
        }
        let sb = Arc::clone(&self.sb);
        let hflags = (flags & (AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE)) | libc::AT_SYMLINK_NOFOLLOW;
        let mut b = [0u8; STATX_SIZE];
        match self.stat_target(&sb, dirfd, path, flags)? {
            Ok(h) => b = sys::statx(h.dir.raw(), &h.name, hflags, mask)?,
            Err(StatFd::Fd(fd)) => {
                // The description is unlocked again before stat_fd below locks it.
                let (hfd, null) = {
                    let f = self.fds.get(fd)?;
                    let null = matches!(f.kind, FileKind::Source(SourceState::Null));
                    (f.host_fd()?, null)
                };
                match (hfd, null) {
                    (Some(hfd), false) => {
                        b = sys::statx(hfd.raw(), c"", hflags | libc::AT_EMPTY_PATH, mask)?
                    }
                    _ => {
                        self.stat_fd(fd)?.encode_statx(&mut b);
                    }
                }
            }
            Err(StatFd::Virtual(st)) => {
                st.encode_statx(&mut b);
            }
        }
        if buf == 0 {
            return Err(errno::EFAULT);
        }
        let n = STATX_SIZE.min(out.len());
        out[..n].copy_from_slice(&b[..n]);
        Ok((0, n))
    }

    pub(crate) fn sys_statfs(&mut self, path: &[u8], buf: u64, out: &mut [u8]) -> Ret {
        let sb = Arc::clone(&self.sb);
        let b = match self.resolve_cwd(&sb, path, true)? {
            Resolved::Host(h) => {
                if h.stat.is_none() {
                    return Err(errno::ENOENT);
                }
                let fd = sys::openat(h.dir.raw(), &h.name, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
                stat::guest_statfs(sys::fstatfs(fd.as_raw_fd())?, self.is_ro(h.mount))
            }
            Resolved::ProcFd(n) => self.statfs_fd(n)?,
            Resolved::ProcExe | Resolved::ProcFile(_) => return Err(errno::ENOENT),
        };
        if buf == 0 {
            return Err(errno::EFAULT);
        }
        let n = STATFS_SIZE.min(out.len());
        out[..n].copy_from_slice(&b[..n]);
        Ok((0, n))
    }

    fn statfs_fd(&self, fd: i32) -> Result<[u8; STATFS_SIZE], Errno> {
        let f = self.fds.get(fd)?;
        Ok(match &f.kind {
            FileKind::Host(h) => {
                let ro = self.is_ro_opt(h.mount);
                stat::guest_statfs(sys::fstatfs(h.fd()?.as_raw_fd())?, ro)
            }
            FileKind::Source(SourceState::Inherit)
            | FileKind::Sink(SinkState::Inherit(_) | SinkState::File(_)) => stat::guest_statfs(
                sys::fstatfs(f.host_fd()?.ok_or(errno::EBADF)?.raw())?,
                false,
            ),
            _ => stat::pipe_statfs(),
        })
    }

    pub(crate) fn sys_fstatfs(&mut self, fd: i32, buf: u64, out: &mut [u8]) -> Ret {
        let b = self.statfs_fd(fd)?;
        if buf == 0 {
            return Err(errno::EFAULT);
        }
        let n = STATFS_SIZE.min(out.len());
        out[..n].copy_from_slice(&b[..n]);
        Ok((0, n))
    }

    pub(crate) fn sys_readlinkat(
        &mut self,
        dirfd: i32,
        path: &[u8],
        bufsiz: i32,
        out: &mut [u8],
    ) -> Ret {
        if bufsiz <= 0 {
            return Err(errno::EINVAL);
        }
        let sb = Arc::clone(&self.sb);
        let target: Vec<u8> = match self.resolve_at(&sb, dirfd, path, false)? {
            Resolved::ProcExe => self.exe_path(&sb).as_os_str().as_bytes().to_vec(),
            Resolved::ProcFd(n) => self.fd_link(n)?,
            Resolved::ProcFile(_) => return Err(errno::EINVAL),
            Resolved::Host(h) => match h.kind() {
                0 => return Err(errno::ENOENT),
                libc::S_IFLNK => sys::readlinkat(h.dir.raw(), &h.name)?,
                _ => return Err(errno::EINVAL),
            },
        };
        let n = target.len().min(bufsiz as usize).min(out.len());
        out[..n].copy_from_slice(&target[..n]);
        Ok((n as i64, n))
    }

    /// What /proc/self/fd/N reads as.
    fn fd_link(&self, n: i32) -> Result<Vec<u8>, Errno> {
        let f = self.fds.get(n).map_err(|_| errno::ENOENT)?;
        Ok(match &f.kind {
            FileKind::Host(h) => h.guest.as_os_str().as_bytes().to_vec(),
            FileKind::Pipe(p) => format!("pipe:[{}]", p.ino()).into_bytes(),
            FileKind::DevPipe(p) => format!("pipe:[{}]", p.ino).into_bytes(),
            FileKind::Sock(k) => format!("socket:[{}]", k.ino()).into_bytes(),
            FileKind::Epoll(_) => b"anon_inode:[eventpoll]".to_vec(),
            FileKind::Event(_) => b"anon_inode:[eventfd]".to_vec(),
            FileKind::Source(SourceState::Null) => b"/dev/null".to_vec(),
            FileKind::Source(SourceState::Bytes { .. }) => {
                format!("pipe:[{}]", STREAM_INO[0]).into_bytes()
            }
            FileKind::Sink(SinkState::Capture(i)) => {
                format!("pipe:[{}]", STREAM_INO[1 + i]).into_bytes()
            }
            _ => {
                let held = f.host_fd()?.ok_or(errno::ENOENT)?;
                let p = CString::new(format!("/proc/self/fd/{}", held.raw()))
                    .map_err(|_| errno::ENOENT)?;
                sys::readlinkat(libc::AT_FDCWD, &p)?
            }
        })
    }

    // ---- directories and names ----

    pub(crate) fn sys_getcwd(&mut self, out: &mut [u8], size: usize) -> Ret {
        let mut b = self.cwd.as_os_str().as_bytes().to_vec();
        b.push(0);
        if size < b.len() || out.len() < b.len() {
            return Err(errno::ERANGE);
        }
        out[..b.len()].copy_from_slice(&b);
        Ok((b.len() as i64, b.len()))
    }

    pub(crate) fn sys_chdir(&mut self, path: &[u8]) -> Ret {
        let sb = Arc::clone(&self.sb);
        match self.resolve_cwd(&sb, path, true)? {
            Resolved::Host(h) => {
                match h.kind() {
                    0 => return Err(errno::ENOENT),
                    libc::S_IFDIR => {}
                    _ => return Err(errno::ENOTDIR),
                }
                sys::faccessat(h.dir.raw(), &h.name, libc::X_OK, libc::AT_SYMLINK_NOFOLLOW)?;
                self.cwd = h.guest;
                self.cwd_in_sysroot = Sandbox::is_sysroot(h.mount);
                ok(0)
            }
            Resolved::ProcFd(n) => self.sys_fchdir(n),
            Resolved::ProcExe | Resolved::ProcFile(_) => Err(errno::ENOTDIR),
        }
    }

    pub(crate) fn sys_fchdir(&mut self, fd: i32) -> Ret {
        match &self.fds.get(fd)?.kind {
            FileKind::Host(h) if h.is_dir => {
                self.cwd = h.guest.clone();
                self.cwd_in_sysroot = h.mount.is_some_and(Sandbox::is_sysroot);
                ok(0)
            }
            _ => Err(errno::ENOTDIR),
        }
    }

    /// Resolve a name about to be created or removed (final symlink not followed).
    fn resolve_entry<'a>(
        &self,
        sb: &'a super::Sandbox,
        dirfd: i32,
        path: &[u8],
    ) -> Result<HostPath<'a>, Errno> {
        match self.resolve_at(sb, dirfd, path, false)? {
            Resolved::Host(h) => Ok(h),
            _ => Err(errno::EACCES),
        }
    }

    /// After creating `name` in `dir` with mode `want`, undo the host's umask.
    fn fix_mode(&self, dir: i32, name: &CStr, want: u32) {
        if want & self.sb.host_umask() != 0 {
            if let Ok(fd) = sys::openat(dir, name, libc::O_PATH | libc::O_NOFOLLOW, 0) {
                let _ = sys::chmod_opath(fd.as_raw_fd(), want);
            }
        }
    }

    pub(crate) fn sys_mkdirat(&mut self, dirfd: i32, path: &[u8], mode: u32) -> Ret {
        let sb = Arc::clone(&self.sb);
        let h = match self.resolve_at(&sb, dirfd, path, false)? {
            Resolved::Host(h) => h,
            _ => return Err(errno::EEXIST),
        };
        if h.stat.is_some() {
            return Err(errno::EEXIST);
        }
        if self.is_ro(h.mount) {
            return Err(errno::EROFS);
        }
        let want = mode & 0o7777 & !self.umask;
        sys::mkdirat(h.dir.raw(), &h.name, want)?;
        self.fix_mode(h.dir.raw(), &h.name, want);
        ok(0)
    }

    pub(crate) fn sys_mknodat(&mut self, dirfd: i32, path: &[u8], mode: u32, _dev: u64) -> Ret {
        let kind = mode & libc::S_IFMT;
        let kind = if kind == 0 { libc::S_IFREG } else { kind };
        match kind {
            libc::S_IFREG | libc::S_IFIFO | libc::S_IFSOCK => {}
            libc::S_IFCHR | libc::S_IFBLK => return Err(errno::EPERM),
            _ => return Err(errno::EINVAL),
        }
        let sb = Arc::clone(&self.sb);
        let h = self.resolve_entry(&sb, dirfd, path)?;
        if h.stat.is_some() {
            return Err(errno::EEXIST);
        }
        if self.is_ro(h.mount) {
            return Err(errno::EROFS);
        }
        let want = mode & 0o7777 & !self.umask;
        sys::mknodat(h.dir.raw(), &h.name, kind | want, 0)?;
        self.fix_mode(h.dir.raw(), &h.name, want);
        ok(0)
    }

    pub(crate) fn sys_unlinkat(&mut self, dirfd: i32, path: &[u8], flags: i32) -> Ret {
        if flags & !AT_REMOVEDIR != 0 {
            return Err(errno::EINVAL);
        }
        let rmdir = flags & AT_REMOVEDIR != 0;
        let sb = Arc::clone(&self.sb);
        let h = self.resolve_entry(&sb, dirfd, path)?;
        if h.is_self() {
            if !rmdir {
                return Err(errno::EISDIR);
            }
            let last = path
                .rsplit(|&b| b == b'/')
                .find(|c| !c.is_empty())
                .unwrap_or(b"/");
            return Err(match last {
                b"." => errno::EINVAL,
                b".." => errno::ENOTEMPTY,
                _ => errno::EBUSY,
            });
        }
        let kind = h.kind();
        if kind == 0 {
            return Err(errno::ENOENT);
        }
        if rmdir && kind != libc::S_IFDIR {
            return Err(errno::ENOTDIR);
        }
        if !rmdir && kind == libc::S_IFDIR {
            return Err(errno::EISDIR);
        }
        if self.is_ro(h.mount) {
            return Err(errno::EROFS);
        }
        // Parked descriptors are reopened by path: not after their name is gone.
        sb.shared_fds().unpark_under(&h.guest);
        sys::unlinkat(
            h.dir.raw(),
            &h.name,
            if rmdir { libc::AT_REMOVEDIR } else { 0 },
        )?;
        ok(0)
    }

    pub(crate) fn sys_renameat2(
        &mut self,
        od: i32,
        op: &[u8],
        nd: i32,
        np: &[u8],
        flags: u32,
    ) -> Ret {
        if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE) != 0
            || flags == RENAME_NOREPLACE | RENAME_EXCHANGE
        {
            return Err(errno::EINVAL);
        }
        let sb = Arc::clone(&self.sb);
        let o = self.resolve_entry(&sb, od, op)?;
        let n = self.resolve_entry(&sb, nd, np)?;
        if o.stat.is_none() || (flags & RENAME_EXCHANGE != 0 && n.stat.is_none()) {
            return Err(errno::ENOENT);
        }
        if o.is_self() || n.is_self() {
            return Err(errno::EBUSY);
        }
        if o.mount != n.mount {
            return Err(errno::EXDEV);
        }
        if self.is_ro(o.mount) {
            return Err(errno::EROFS);
        }
        // Parked descriptors are reopened by path: not after their name has moved.
        sb.shared_fds().unpark_under(&o.guest);
        sb.shared_fds().unpark_under(&n.guest);
        sys::renameat2(o.dir.raw(), &o.name, n.dir.raw(), &n.name, flags)?;
        ok(0)
    }

    pub(crate) fn sys_linkat(&mut self, od: i32, op: &[u8], nd: i32, np: &[u8], flags: i32) -> Ret {
        if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(errno::EINVAL);
        }
        if op.is_empty() {
            // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH, which the guest does not have.
            return Err(errno::ENOENT);
        }
        let sb = Arc::clone(&self.sb);
        let o = match self.resolve_at(&sb, od, op, flags & AT_SYMLINK_FOLLOW != 0)? {
            Resolved::Host(h) => h,
            _ => return Err(errno::EXDEV),
        };
        let n = self.resolve_entry(&sb, nd, np)?;
        match o.kind() {
            0 => return Err(errno::ENOENT),
            libc::S_IFDIR => return Err(errno::EPERM),
            _ => {}
        }
        if n.stat.is_some() {
            return Err(errno::EEXIST);
        }
        if o.mount != n.mount {
            return Err(errno::EXDEV);
        }
        if self.is_ro(n.mount) {
            return Err(errno::EROFS);
        }
        sys::linkat(o.dir.raw(), &o.name, n.dir.raw(), &n.name, 0)?;
        ok(0)
    }

    pub(crate) fn sys_symlinkat(&mut self, target: &[u8], dirfd: i32, path: &[u8]) -> Ret {
        if target.is_empty() {
            return Err(errno::ENOENT);
        }
        if target.len() >= super::fs::PATH_MAX {
            return Err(errno::ENAMETOOLONG);
        }
        let sb = Arc::clone(&self.sb);
        let h = self.resolve_entry(&sb, dirfd, path)?;
        if h.stat.is_some() {
            return Err(errno::EEXIST);
        }
        if self.is_ro(h.mount) {
            return Err(errno::EROFS);
        }
        let t = CString::new(target).map_err(|_| errno::EINVAL)?;
        sys::symlinkat(&t, h.dir.raw(), &h.name)?;
        ok(0)
    }

    pub(crate) fn sys_faccessat(&mut self, dirfd: i32, path: &[u8], mode: i32, flags: i32) -> Ret {
        if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(errno::EINVAL);
        }
        let sb = Arc::clone(&self.sb);
        let h = match self.stat_target(&sb, dirfd, path, flags)? {
            Ok(h) => h,
            Err(StatFd::Fd(fd)) => {
                let mount = match &self.fds.get(fd)?.kind {
                    FileKind::Host(HostFile { mount: Some(m), .. }) => Some(*m),
                    _ => None,
                };
                if let (true, Some(m)) = (mode & libc::W_OK != 0, mount) {
                    let st = self.stat_fd(fd)?;
                    let k = st.mode & libc::S_IFMT;
                    if self.is_ro(m) && matches!(k, libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK) {
                        return Err(errno::EROFS);
                    }
                }
                return ok(0);
            }
            Err(StatFd::Virtual(st)) => return Self::access_virtual(&st, mode),
        };
        if mode & libc::W_OK != 0
            && self.is_ro(h.mount)
            && matches!(h.kind(), libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK)
        {
            return Err(errno::EROFS);
        }
        sys::faccessat(
            h.dir.raw(),
            &h.name,
            mode,
            libc::AT_SYMLINK_NOFOLLOW | (flags & AT_EACCESS),
        )?;
        ok(0)
    }

    pub(crate) fn sys_truncate(&mut self, path: &[u8], len: i64) -> Ret {
        if len < 0 {
            return Err(errno::EINVAL);
        }
        let sb = Arc::clone(&self.sb);
        let h = match self.resolve_cwd(&sb, path, true)? {
            Resolved::Host(h) => h,
            _ => return Err(errno::EINVAL),
        };
        match h.kind() {
            0 => return Err(errno::ENOENT),
            libc::S_IFDIR => return Err(errno::EISDIR),
            libc::S_IFREG => {}
            _ => return Err(errno::EINVAL),
        }
        if self.is_ro(h.mount) {
            return Err(errno::EROFS);
        }
        let fd = sys::openat(
            h.dir.raw(),
            &h.name,
            libc::O_WRONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
            0,
        )?;
        sys::ftruncate(fd.as_raw_fd(), len)?;
        ok(0)
    }

    // ---- modes, owners, times ----

    /// The host fd (held open) and whether its mount is read-only, of a host file, for
    /// the fd-based metadata calls.
    fn host_file(&self, fd: i32) -> Result<Option<(Arc<OwnedFd>, bool)>, Errno> {
        Ok(match &self.fds.get(fd)?.kind {
            FileKind::Host(h) => Some((h.fd()?, self.is_ro_opt(h.mount))),
            // The streams are not the guest's to change: accepted, nothing done.
            _ => None,
        })
    }

    pub(crate) fn sys_fchmod(&mut self, fd: i32, mode: u32) -> Ret {
        match self.host_file(fd)? {
            Some((hfd, ro)) => {
                if ro {
                    return Err(errno::EROFS);
                }
                sys::fchmod(hfd.as_raw_fd(), mode & 0o7777)?;
                ok(0)
            }
            None => ok(0),
        }
    }

    pub(crate) fn sys_fchmodat(&mut self, dirfd: i32, path: &[u8], mode: u32) -> Ret {
        let sb = Arc::clone(&self.sb);
        let h = match self.stat_target(&sb, dirfd, path, 0)? {
            Ok(h) => h,
            // /proc/self/fd/N: the file itself, also for an O_PATH descriptor (whose
            // fchmod(2) is EBADF), as Linux follows the magic link to the inode.
            Err(StatFd::Fd(fd)) => {
                return match self.host_file(fd)? {
                    Some((_, true)) => Err(errno::EROFS),
                    Some((hfd, false)) => {
                        sys::chmod_opath(hfd.as_raw_fd(), mode & 0o7777).map(|()| (0, 0))
                    }
                    None => ok(0),
                }
            }
            Err(StatFd::Virtual(_)) => return Err(errno::EPERM),
        };
        if self.is_ro(h.mount) {
            return Err(errno::EROFS);
        }
        let fd = sys::openat(h.dir.raw(), &h.name, libc::O_PATH | libc::O_NOFOLLOW, 0)?;
        if is_type(sys::fstat(fd.as_raw_fd())?.st_mode, libc::S_IFLNK) {
            return Err(errno::ELOOP);
        }
        sys::chmod_opath(fd.as_raw_fd(), mode & 0o7777)?;
        ok(0)
    }

    pub(crate) fn sys_fchown(&mut self, fd: i32, uid: u32, gid: u32) -> Ret {
        match self.host_file(fd)? {
            Some((_, true)) => Err(errno::EROFS),
            Some((hfd, false)) => {
                sys::fchown(hfd.as_raw_fd(), uid, gid)?;
                ok(0)
            }
            None => ok(0),
        }
    }

    pub(crate) fn sys_fchownat(
        &mut self,
        dirfd: i32,
        path: &[u8],
        uid: u32,
        gid: u32,
        flags: i32,
    ) -> Ret {
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(errno::EINVAL);
        }
        let sb = Arc::clone(&self.sb);
        let h = match self.stat_target(&sb, dirfd, path, flags)? {
            Ok(h) => h,
            Err(StatFd::Fd(fd)) => return self.sys_fchown(fd, uid, gid),
            Err(StatFd::Virtual(_)) => return Err(errno::EPERM),
        };
        if self.is_ro(h.mount) {
            return Err(errno::EROFS);
        }
        sys::fchownat(h.dir.raw(), &h.name, uid, gid, libc::AT_SYMLINK_NOFOLLOW)?;
        ok(0)
    }

    pub(crate) fn sys_utimensat(
        &mut self,
        dirfd: i32,
        pathp: u64,
        path: &[u8],
        timesp: u64,
        times: &[u8],
        flags: i32,
    ) -> Ret {
        const UTIME_NOW: i64 = (1 << 30) - 1;
        const UTIME_OMIT: i64 = (1 << 30) - 2;
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return Err(errno::EINVAL);
        }
        let ts = if timesp == 0 {
            None
        } else {
            let t = times.get(..32).ok_or(errno::EFAULT)?;
            let w = |i: usize| i64::from_le_bytes(t[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
            let ts = [
                libc::timespec {
                    tv_sec: w(0),
                    tv_nsec: w(1),
                },
                libc::timespec {
                    tv_sec: w(2),
                    tv_nsec: w(3),
                },
            ];
            for t in &ts {
                if !(0..1_000_000_000).contains(&t.tv_nsec)
                    && t.tv_nsec != UTIME_NOW
                    && t.tv_nsec != UTIME_OMIT
                {
                    return Err(errno::EINVAL);
                }
            }
            if ts.iter().all(|t| t.tv_nsec == UTIME_OMIT) {
                return ok(0);
            }
            Some(ts)
        };
        // NULL path: the fd itself (futimens).
        let fd_target = if pathp == 0 {
            if dirfd == AT_FDCWD {
                return Err(errno::EFAULT);
            }
            Some(dirfd)
        } else {
            None
        };
        let sb = Arc::clone(&self.sb);
        let target = match fd_target {
            Some(fd) => Err(StatFd::Fd(fd)),
            None => self.stat_target(&sb, dirfd, path, flags)?,
        };
        match target {
            Ok(h) => {
                if self.is_ro(h.mount) {
                    return Err(errno::EROFS);
                }
                sys::utimensat(
                    h.dir.raw(),
                    Some(&h.name),
                    ts.as_ref(),
                    libc::AT_SYMLINK_NOFOLLOW,
                )?;
            }
            Err(StatFd::Fd(fd)) => match self.host_file(fd)? {
                Some((_, true)) => return Err(errno::EROFS),
                Some((hfd, false)) => sys::utimensat(hfd.as_raw_fd(), None, ts.as_ref(), 0)?,
                None => {}
            },
            Err(StatFd::Virtual(_)) => return Err(errno::EPERM),
        }
        ok(0)
    }

    pub(crate) fn sys_umask(&mut self, mask: u32) -> Ret {
        let old = self.umask;
        self.umask = mask & 0o777;
        ok(old as i64)
    }
}

/// A stat-like call that turned out to be about an fd, or about a magic /proc link.
enum StatFd {
    Fd(i32),
    /// A magic /proc link or a /proc file the device writes: what stat(2) shows of it.
    Virtual(Stat),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{nr, Mount, Sandbox, SandboxConfig, Sink, Source};
    use std::path::Path;

    /// A process over a tempdir (the cwd, writable) with `/` read-only.
    struct T {
        p: ProcHost,
        dir: PathBuf,
        _t: tempfile::TempDir,
    }

    const P: u64 = 0x1000; // any non-NULL guest pointer

    impl T {
        fn new() -> T {
            let t = tempfile::tempdir().unwrap();
            let dir = t.path().canonicalize().unwrap();
            let sb = crate::host::fs::tests::default_sandbox(&dir);
            let p = ProcHost::new(
                sb,
                Source::Bytes(Arc::new(b"input".to_vec())),
                Sink::kept(),
                Sink::kept(),
            );
            T { p, dir, _t: t }
        }

        fn with_sandbox(sb: Sandbox, t: tempfile::TempDir) -> T {
            let dir = t.path().canonicalize().unwrap();
            let p = ProcHost::new(Arc::new(sb), Source::Null, Sink::kept(), Sink::kept());
            T { p, dir, _t: t }
        }

        fn call(&mut self, nr: u64, args: [u64; 6], ins: [&[u8]; 6], cap: usize) -> (i64, Vec<u8>) {
            let mut out = vec![0u8; cap];
            let (r, n) = self.p.syscall(nr, &args, &ins, &mut out);
            out.truncate(n);
            (r, out)
        }

        fn open(&mut self, path: &str, flags: u32, mode: u32) -> i64 {
            self.openat(AT_FDCWD, path, flags, mode)
        }

        fn openat(&mut self, dirfd: i32, path: &str, flags: u32, mode: u32) -> i64 {
            let a = [dirfd as u32 as u64, P, flags as u64, mode as u64, 0, 0];
            self.call(nr::OPENAT, a, [&[], path.as_bytes(), &[], &[], &[], &[]], 0)
                .0
        }

        fn write(&mut self, fd: i64, data: &[u8]) -> i64 {
            self.call(
                nr::WRITE,
                [fd as u64, P, data.len() as u64, 0, 0, 0],
                [&[], data, &[], &[], &[], &[]],
                0,
            )
            .0
        }

        fn read(&mut self, fd: i64, n: usize) -> (i64, Vec<u8>) {
            self.call(nr::READ, [fd as u64, P, n as u64, 0, 0, 0], [&[]; 6], n)
        }

        fn path1(&mut self, nr: u64, path: &str, a2: u64, a3: u64) -> i64 {
            let a = [AT_FDCWD as u32 as u64, P, a2, a3, 0, 0];
            self.call(nr, a, [&[], path.as_bytes(), &[], &[], &[], &[]], 0)
                .0
        }

        fn stat(&mut self, path: &str, flags: i32) -> (i64, Vec<u8>) {
            let a = [AT_FDCWD as u32 as u64, P, P, flags as u64, 0, 0];
            self.call(
                nr::NEWFSTATAT,
                a,
                [&[], path.as_bytes(), &[], &[], &[], &[]],
                128,
            )
        }

        fn close(&mut self, fd: i64) -> i64 {
            self.call(nr::CLOSE, [fd as u64, 0, 0, 0, 0, 0], [&[]; 6], 0)
                .0
        }
    }

    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }
    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }

    const EROFS: i64 = -30;
    const ENOENT: i64 = -2;
    const EBADF: i64 = -9;
    const EEXIST: i64 = -17;

    #[test]
    fn open_write_seek_read() {
        let mut t = T::new();
        let fd = t.open("f.txt", O_CREAT | O_RDWR | O_TRUNC, 0o644);
        assert_eq!(fd, 3);
        assert_eq!(t.write(fd, b"hello world"), 11);
        let (r, _) = t.call(nr::LSEEK, [fd as u64, 6, 0, 0, 0, 0], [&[]; 6], 0);
        assert_eq!(r, 6);
        assert_eq!(t.read(fd, 100), (5, b"world".to_vec()));
        assert_eq!(t.read(fd, 100), (0, vec![]));
        // pread/pwrite do not move the offset.
        let (r, out) = t.call(nr::PREAD64, [fd as u64, P, 5, 0, 0, 0], [&[]; 6], 5);
        assert_eq!((r, out.as_slice()), (5, &b"hello"[..]));
        let (r, _) = t.call(
            nr::PWRITE64,
            [fd as u64, P, 1, 0, 0, 0],
            [&[], b"J", &[], &[], &[], &[]],
            0,
        );
        assert_eq!(r, 1);
        assert_eq!(std::fs::read(t.dir.join("f.txt")).unwrap(), b"Jello world");
        // fstat: 128 bytes, size and mode at the AArch64 offsets.
        let (r, st) = t.call(nr::FSTAT, [fd as u64, P, 0, 0, 0, 0], [&[]; 6], 128);
        assert_eq!((r, st.len()), (0, 128));
        assert_eq!(u64_at(&st, 48), 11);
        assert_eq!(u32_at(&st, 16), libc::S_IFREG | 0o644 & !t.p.umask);
        // The guest umask is applied, not the host's.
        t.call(nr::UMASK, [0, 0, 0, 0, 0, 0], [&[]; 6], 0);
        let fd2 = t.open("g", O_CREAT | O_WRONLY, 0o666);
        let (_, st) = t.call(nr::FSTAT, [fd2 as u64, P, 0, 0, 0, 0], [&[]; 6], 128);
        assert_eq!(u32_at(&st, 16) & 0o7777, 0o666);
        assert_eq!(t.close(fd), 0);
        assert_eq!(t.close(fd), EBADF);
        assert_eq!(t.read(fd, 1).0, EBADF);
        // readv / writev use the gathered bytes.
        let (r, _) = t.call(
            nr::WRITEV,
            [fd2 as u64, P, 2, 0, 0, 0],
            [&[], b"abc", &[], &[], &[], &[]],
            0,
        );
        assert_eq!(r, 3);
        assert_eq!(
            t.call(nr::WRITEV, [fd2 as u64, P, 5000, 0, 0, 0], [&[]; 6], 0)
                .0,
            -22
        );
        let fd3 = t.open("g", O_RDONLY, 0);
        let (r, out) = t.call(nr::READV, [fd3 as u64, P, 2, 0, 0, 0], [&[]; 6], 2);
        assert_eq!((r, out.as_slice()), (2, &b"ab"[..]));
    }

    #[test]
    fn open_errors() {
        let mut t = T::new();
        assert_eq!(t.open("missing", O_RDONLY, 0), ENOENT);
        assert_eq!(t.open("x/", O_CREAT | O_WRONLY, 0o644), -21);
        std::fs::write(t.dir.join("e"), b"").unwrap();
        assert_eq!(t.open("e", O_CREAT | O_EXCL | O_WRONLY, 0o644), EEXIST);
        assert_eq!(t.open("e", O_RDONLY | O_DIRECTORY, 0), -20);
        assert_eq!(t.open(".", O_WRONLY, 0), -21);
        std::os::unix::fs::symlink("e", t.dir.join("l")).unwrap();
        assert_eq!(t.open("l", O_RDONLY | O_NOFOLLOW, 0), -40);
        assert!(t.open("l", O_RDONLY | O_NOFOLLOW | O_PATH, 0) >= 0);
        assert!(t.open("l", O_RDONLY, 0) >= 0);
        // A bad dirfd for a relative path; absolute paths ignore it.
        assert_eq!(t.openat(77, "e", O_RDONLY, 0), EBADF);
        assert!(t.openat(77, "/etc/passwd", O_RDONLY, 0) >= 0);
        // Dirfd that is not a directory.
        let fd = t.open("e", O_RDONLY, 0);
        assert_eq!(t.openat(fd as i32, "x", O_RDONLY, 0), -20);
        // NULL path.
        let a = [AT_FDCWD as u32 as u64, 0, 0, 0, 0, 0];
        assert_eq!(t.call(nr::OPENAT, a, [&[]; 6], 0).0, -14);
        // Device policy.
        assert!(t.open("/dev/null", O_WRONLY, 0) >= 0);
        if let Ok(m) = std::fs::metadata("/dev/loop0") {
            if std::os::unix::fs::FileTypeExt::is_block_device(&m.file_type()) {
                assert_eq!(t.open("/dev/loop0", O_RDONLY, 0), -13);
            }
        }
    }

    #[test]
    fn read_only_root_and_escapes() {
        let mut t = T::new();
        // The host filesystem reads, never writes.
        let fd = t.open("/etc/passwd", O_RDONLY, 0);
        assert!(fd >= 0);
        assert!(t.read(fd, 10).0 > 0);
        assert_eq!(t.open("/etc/passwd", O_WRONLY, 0), EROFS);
        assert_eq!(t.open("/etc/passwd", O_RDONLY | O_TRUNC, 0), EROFS);
        assert_eq!(
            t.open("/etc/gpuos-test-new", O_CREAT | O_WRONLY, 0o644),
            EROFS
        );
        assert!(t.open("/etc/passwd", O_RDONLY | O_CREAT, 0o644) >= 0);
        // `..` out of the writable cwd mount lands in the read-only root.
        let up = format!("../{}-escape", t.dir.file_name().unwrap().to_str().unwrap());
        assert_eq!(t.open(&up, O_CREAT | O_WRONLY, 0o644), EROFS);
        assert!(!t.dir.parent().unwrap().join(&up[3..]).exists());
        assert_eq!(t.path1(nr::MKDIRAT, "../newdir", 0o755, 0), EROFS);
        assert_eq!(t.path1(nr::MKDIRAT, "/etc", 0o755, 0), EEXIST);
        assert_eq!(t.path1(nr::UNLINKAT, "/etc/passwd", 0, 0), EROFS);
        assert_eq!(t.path1(nr::UNLINKAT, "/etc/no-such-file", 0, 0), ENOENT);
        assert_eq!(
            t.call(
                nr::TRUNCATE,
                [P, 0, 0, 0, 0, 0],
                [b"/etc/passwd", &[], &[], &[], &[], &[]],
                0
            )
            .0,
            EROFS
        );
        assert_eq!(t.path1(nr::FCHMODAT, "/etc/passwd", 0o777, 0), EROFS);
        // access(W_OK) on a read-only mount is EROFS; R_OK fine.
        assert_eq!(t.path1(nr::FACCESSAT, "/etc/passwd", 2, 0), EROFS);
        assert_eq!(t.path1(nr::FACCESSAT, "/etc/passwd", 4, 0), 0);
        assert_eq!(t.path1(nr::FACCESSAT, "/nonexistent", 0, 0), ENOENT);
        assert_eq!(t.path1(nr::FACCESSAT, ".", 2, 0), 0);
        // A symlink inside the writable mount pointing at /etc/passwd resolves through the
        // mount table: readable, not writable.
        std::os::unix::fs::symlink("/etc/passwd", t.dir.join("pw")).unwrap();
        assert!(t.open("pw", O_RDONLY, 0) >= 0);
        assert_eq!(t.open("pw", O_WRONLY, 0), EROFS);
        assert_eq!(t.open("pw", O_WRONLY | O_TRUNC, 0), EROFS);
        // Removing the link itself is fine (it lives in the writable mount).
        assert_eq!(t.path1(nr::UNLINKAT, "pw", 0, 0), 0);
        // statfs says read-only for /, not for the cwd.
        let (r, b) = t.call(
            nr::STATFS,
            [P, P, 0, 0, 0, 0],
            [b"/", &[], &[], &[], &[], &[]],
            120,
        );
        assert_eq!((r, b.len()), (0, 120));
        assert_eq!(u64_at(&b, 80) & 1, 1);
        let (r, b) = t.call(
            nr::STATFS,
            [P, P, 0, 0, 0, 0],
            [b".", &[], &[], &[], &[], &[]],
            120,
        );
        assert_eq!(r, 0);
        assert_eq!(u64_at(&b, 80) & 1, 0);
    }

    #[test]
    fn mount_only_tree_relative_symlink_fails() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().canonicalize().unwrap();
        std::fs::create_dir(d.join("m")).unwrap();
        std::fs::write(d.join("outside"), b"secret").unwrap();
        std::os::unix::fs::symlink("../../..", d.join("m/up")).unwrap();
        std::os::unix::fs::symlink("../outside", d.join("m/out")).unwrap();
        let sb = Sandbox::new_exact(SandboxConfig {
            mounts: vec![Mount {
                host: d.join("m"),
                guest: "/work".into(),
                writable: true,
            }],
            cwd: "/work".into(),
            exe: "/bin/true".into(),
            hide: vec![],
            sysroot: None,
        })
        .unwrap();
        let mut t = T::with_sandbox(sb, t);
        assert_eq!(t.open("up/etc/passwd", O_RDONLY, 0), ENOENT);
        assert_eq!(t.open("out", O_RDONLY, 0), ENOENT);
        assert_eq!(t.open("out", O_WRONLY | O_CREAT, 0o644), ENOENT);
        assert_eq!(t.open("/work/../outside", O_RDONLY, 0), ENOENT);
        assert!(t.dir.join("outside").exists());
        assert_eq!(std::fs::read(t.dir.join("outside")).unwrap(), b"secret");
        let fd = t.open("new", O_WRONLY | O_CREAT, 0o600);
        assert!(fd >= 0);
        assert!(t.dir.join("m/new").exists());
        // getcwd reports the guest path.
        let (r, out) = t.call(nr::GETCWD, [P, 100, 0, 0, 0, 0], [&[]; 6], 100);
        assert_eq!((r, out.as_slice()), (6, &b"/work\0"[..]));
        assert_eq!(t.call(nr::GETCWD, [P, 3, 0, 0, 0, 0], [&[]; 6], 100).0, -34);
    }

    /// A work directory (the writable cwd mount) beside `outside`, which holds a file
    /// `secret`; `outside` hidden from the guest (`--hide`) when `hide`.
    fn work_and_outside(hide: bool) -> (T, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().canonicalize().unwrap();
        std::fs::create_dir(d.join("work")).unwrap();
        std::fs::create_dir(d.join("outside")).unwrap();
        std::fs::write(d.join("outside/secret"), b"secret").unwrap();
        let sb = Sandbox::new(SandboxConfig {
            mounts: vec![],
            cwd: d.join("work"),
            exe: "/bin/true".into(),
            hide: if hide {
                vec![d.join("outside")]
            } else {
                vec![]
            },
            sysroot: None,
        })
        .unwrap();
        let mut t = T::with_sandbox(sb, t);
        t.dir = d.join("work");
        (t, d.join("outside"))
    }

    /// `--hide`: the hidden tree is ENOENT by every way in (absolute, `..`, a symlink
    /// planted in the writable mount, chdir, stat); the rest reads as before.
    #[test]
    fn hidden_paths_are_enoent_by_every_way_in() {
        let (mut t, outside) = work_and_outside(true);
        let abs = outside.join("secret");
        let abs = abs.to_str().unwrap();
        assert_eq!(t.open(abs, O_RDONLY, 0), ENOENT);
        assert_eq!(t.open("../outside/secret", O_RDONLY, 0), ENOENT);
        assert_eq!(
            t.open("../work/../outside", O_RDONLY | O_DIRECTORY, 0),
            ENOENT
        );
        std::os::unix::fs::symlink(&outside, t.dir.join("l")).unwrap();
        assert_eq!(t.open("l/secret", O_RDONLY, 0), ENOENT);
        assert_eq!(t.stat("l", 0).0, ENOENT);
        assert!(
            t.stat("l", libc::AT_SYMLINK_NOFOLLOW).0 == 0,
            "the link itself"
        );
        assert_eq!(t.path1(nr::CHDIR, outside.to_str().unwrap(), 0, 0), ENOENT);
        assert_eq!(
            t.call(
                nr::CHDIR,
                [P, 0, 0, 0, 0, 0],
                [abs.as_bytes(), &[], &[], &[], &[], &[]],
                0
            )
            .0,
            ENOENT
        );
        assert!(t.open("/etc/passwd", O_RDONLY, 0) >= 0);
        // Not hidden: the same tree reads.
        let (mut t, _) = work_and_outside(false);
        assert!(t.open("../outside/secret", O_RDONLY, 0) >= 0);
    }

    /// A host thread swaps directory `d` with a symlink to `outside` (renameat2
    /// RENAME_EXCHANGE, so `d` is each half the time) while the guest creates and reads
    /// files beneath `d`: whichever it meets, nothing is created outside the writable
    /// mount, and the hidden secret is never read.
    #[test]
    fn rename_race_between_a_directory_and_a_symlink_stays_inside() {
        let (mut t, outside) = work_and_outside(true);
        let work = t.dir.clone();
        std::fs::create_dir(work.join("d")).unwrap();
        std::os::unix::fs::symlink(&outside, work.join("l")).unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let stop = stop.clone();
            let (d, l) = (
                CString::new(work.join("d").as_os_str().as_bytes()).unwrap(),
                CString::new(work.join("l").as_os_str().as_bytes()).unwrap(),
            );
            std::thread::spawn(move || {
                let mut swaps = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && swaps < 1_000_000 {
                    // SAFETY: two NUL-terminated paths; renameat2 touches nothing else.
                    let r = unsafe {
                        libc::renameat2(
                            libc::AT_FDCWD,
                            d.as_ptr(),
                            libc::AT_FDCWD,
                            l.as_ptr(),
                            libc::RENAME_EXCHANGE,
                        )
                    };
                    assert_eq!(r, 0, "{}", std::io::Error::last_os_error());
                    swaps += 1;
                }
                swaps
            })
        };
        let (mut created, mut read) = (0, 0);
        for _ in 0..3000 {
            let fd = t.open("d/new", O_CREAT | O_WRONLY, 0o644);
            if fd >= 0 {
                created += 1;
                t.close(fd);
                t.path1(nr::UNLINKAT, "d/new", 0, 0);
            }
            let fd = t.open("d/secret", O_RDONLY, 0);
            if fd >= 0 {
                read += (t.read(fd, 16).1 == b"secret") as u32;
                t.close(fd);
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let swaps = swapper.join().unwrap();
        let names: Vec<_> = std::fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["secret"], "created outside");
        assert_eq!(read, 0, "read the hidden secret");
        assert!(
            swaps > 100 && created > 0,
            "swaps {swaps}, created {created}"
        );
    }

    #[test]
    fn getdents_records() {
        let mut t = T::new();
        for n in ["a", "bb", "ccc"] {
            std::fs::write(t.dir.join(n), b"").unwrap();
        }
        std::fs::create_dir(t.dir.join("sub")).unwrap();
        let fd = t.open(".", O_RDONLY | O_DIRECTORY, 0);
        let mut names = Vec::new();
        // A small buffer so the listing takes several calls.
        loop {
            let (r, buf) = t.call(nr::GETDENTS64, [fd as u64, P, 64, 0, 0, 0], [&[]; 6], 64);
            assert!(r >= 0, "{r}");
            if r == 0 {
                break;
            }
            let mut off = 0;
            while off < buf.len() {
                let reclen = u16::from_le_bytes([buf[off + 16], buf[off + 17]]) as usize;
                let dtype = buf[off + 18];
                let name = &buf[off + 19..off + reclen];
                let name = &name[..name.iter().position(|&c| c == 0).unwrap()];
                assert_eq!(reclen % 8, 0);
                names.push((String::from_utf8(name.to_vec()).unwrap(), dtype));
                off += reclen;
            }
        }
        names.sort();
        let want: Vec<(String, u8)> = [
            (".", 4),
            ("..", 4),
            ("a", 8),
            ("bb", 8),
            ("ccc", 8),
            ("sub", 4),
        ]
        .iter()
        .map(|(n, d)| (n.to_string(), *d))
        .collect();
        assert_eq!(names, want);
        // Rewind and read again in one go.
        assert_eq!(
            t.call(nr::LSEEK, [fd as u64, 0, 0, 0, 0, 0], [&[]; 6], 0).0,
            0
        );
        let (r, _) = t.call(
            nr::GETDENTS64,
            [fd as u64, P, 4096, 0, 0, 0],
            [&[]; 6],
            4096,
        );
        assert!(r > 0);
        // Too small for one record.
        assert_eq!(
            t.call(nr::LSEEK, [fd as u64, 0, 0, 0, 0, 0], [&[]; 6], 0).0,
            0
        );
        assert_eq!(
            t.call(nr::GETDENTS64, [fd as u64, P, 8, 0, 0, 0], [&[]; 6], 8)
                .0,
            -22
        );
        // Not a directory.
        assert_eq!(
            t.call(nr::GETDENTS64, [1, P, 64, 0, 0, 0], [&[]; 6], 64).0,
            -20
        );
        // openat relative to the directory fd.
        assert!(t.openat(fd as i32, "a", O_RDONLY, 0) >= 0);
        assert!(t.openat(fd as i32, "sub/../bb", O_RDONLY, 0) >= 0);
    }

    #[test]
    fn stat_calls() {
        let mut t = T::new();
        std::fs::write(t.dir.join("f"), b"12345").unwrap();
        std::os::unix::fs::symlink("f", t.dir.join("l")).unwrap();
        let (r, st) = t.stat("l", 0);
        assert_eq!(r, 0);
        assert_eq!(u64_at(&st, 48), 5);
        let (r, st) = t.stat("l", AT_SYMLINK_NOFOLLOW);
        assert_eq!(r, 0);
        assert_eq!(u32_at(&st, 16) & libc::S_IFMT, libc::S_IFLNK);
        assert_eq!(t.stat("nope", 0).0, ENOENT);
        assert_eq!(t.stat("", 0).0, ENOENT);
        let (r, st) = t.stat("", AT_EMPTY_PATH);
        assert_eq!(r, 0);
        assert_eq!(u32_at(&st, 16) & libc::S_IFMT, libc::S_IFDIR);
        let host = std::fs::metadata(t.dir.join("f")).unwrap();
        let (_, st) = t.stat("f", 0);
        assert_eq!(u64_at(&st, 8), std::os::unix::fs::MetadataExt::ino(&host));
        assert_eq!(u64_at(&st, 0), std::os::unix::fs::MetadataExt::dev(&host));
        // statx.
        let a = [AT_FDCWD as u32 as u64, P, 0, 0x7ff, P, 0];
        let (r, sx) = t.call(nr::STATX, a, [&[], b"f", &[], &[], &[], &[]], 256);
        assert_eq!((r, sx.len()), (0, 256));
        assert_eq!(u64_at(&sx, 40), 5);
        assert_eq!(u64_at(&sx, 32), std::os::unix::fs::MetadataExt::ino(&host));
        // fstat of the streams: captured stdout is a pipe.
        let (r, st) = t.call(nr::FSTAT, [1, P, 0, 0, 0, 0], [&[]; 6], 128);
        assert_eq!(r, 0);
        assert_eq!(u32_at(&st, 16) & libc::S_IFMT, libc::S_IFIFO);
        let a = [1, P, AT_EMPTY_PATH as u64, 0x7ff, P, 0];
        let (r, sx) = t.call(nr::STATX, a, [&[], b"", &[], &[], &[], &[]], 256);
        assert_eq!(r, 0);
        assert_eq!(
            u16::from_le_bytes([sx[28], sx[29]]) as u32 & libc::S_IFMT,
            libc::S_IFIFO
        );
        assert_eq!(
            t.call(nr::FSTAT, [99, P, 0, 0, 0, 0], [&[]; 6], 128).0,
            EBADF
        );
        // readlink.
        let a = [AT_FDCWD as u32 as u64, P, P, 100, 0, 0];
        let (r, out) = t.call(nr::READLINKAT, a, [&[], b"l", &[], &[], &[], &[]], 100);
        assert_eq!((r, out.as_slice()), (1, &b"f"[..]));
        assert_eq!(
            t.call(nr::READLINKAT, a, [&[], b"f", &[], &[], &[], &[]], 100)
                .0,
            -22
        );
        let (r, out) = t.call(
            nr::READLINKAT,
            a,
            [&[], b"/proc/self/exe", &[], &[], &[], &[]],
            100,
        );
        assert_eq!((r, out.as_slice()), (9, &b"/bin/true"[..]));
        let a2 = [AT_FDCWD as u32 as u64, P, P, 4, 0, 0];
        let (r, out) = t.call(
            nr::READLINKAT,
            a2,
            [&[], b"/proc/self/exe", &[], &[], &[], &[]],
            100,
        );
        assert_eq!((r, out.as_slice()), (4, &b"/bin"[..]));
        // The device writes /proc/self/maps; its stat is proc(5)'s: a regular file of
        // size 0, mode 0444 (arm64 struct stat: st_mode at 16, st_size at 48).
        let (r, out) = t.stat("/proc/self/maps", 0);
        assert_eq!(r, 0);
        let mode = u32::from_le_bytes(out[16..20].try_into().unwrap());
        assert_eq!(mode, libc::S_IFREG | 0o444);
        assert_eq!(&out[48..56], &[0u8; 8]);
        assert_eq!(t.stat("/proc/self/environ", 0).0, ENOENT);
    }

    #[test]
    fn dirs_links_renames() {
        let mut t = T::new();
        assert_eq!(t.path1(nr::MKDIRAT, "d", 0o755, 0), 0);
        assert_eq!(t.path1(nr::MKDIRAT, "d", 0o755, 0), EEXIST);
        assert_eq!(t.path1(nr::MKDIRAT, "x/y", 0o755, 0), ENOENT);
        let fd = t.open("d/f", O_CREAT | O_WRONLY, 0o644);
        assert!(fd >= 0);
        assert_eq!(t.path1(nr::UNLINKAT, "d", AT_REMOVEDIR as u64, 0), -39);
        assert_eq!(t.path1(nr::UNLINKAT, "d", 0, 0), -21);
        assert_eq!(t.path1(nr::UNLINKAT, "d/f", AT_REMOVEDIR as u64, 0), -20);
        assert_eq!(t.path1(nr::UNLINKAT, ".", AT_REMOVEDIR as u64, 0), -22);
        // rename within the mount, EXDEV across mounts, EROFS in the read-only one.
        let a = [AT_FDCWD as u32 as u64, P, AT_FDCWD as u32 as u64, P, 0, 0];
        assert_eq!(
            t.call(nr::RENAMEAT, a, [&[], b"d/f", &[], b"d/g", &[], &[]], 0)
                .0,
            0
        );
        assert!(t.dir.join("d/g").exists());
        assert_eq!(
            t.call(
                nr::RENAMEAT,
                a,
                [&[], b"d/g", &[], b"/tmp/gpuos-x", &[], &[]],
                0
            )
            .0,
            -18
        );
        assert_eq!(
            t.call(nr::RENAMEAT, a, [&[], b"missing", &[], b"d/h", &[], &[]], 0)
                .0,
            ENOENT
        );
        let mut a2 = a;
        a2[4] = 1; // RENAME_NOREPLACE
        std::fs::write(t.dir.join("h"), b"").unwrap();
        assert_eq!(
            t.call(nr::RENAMEAT2, a2, [&[], b"d/g", &[], b"h", &[], &[]], 0)
                .0,
            EEXIST
        );
        a2[4] = 4; // RENAME_WHITEOUT
        assert_eq!(
            t.call(nr::RENAMEAT2, a2, [&[], b"d/g", &[], b"h2", &[], &[]], 0)
                .0,
            -22
        );
        // Hard links: fine inside, EXDEV from the read-only root.
        let l = [AT_FDCWD as u32 as u64, P, AT_FDCWD as u32 as u64, P, 0, 0];
        assert_eq!(
            t.call(nr::LINKAT, l, [&[], b"h", &[], b"h.link", &[], &[]], 0)
                .0,
            0
        );
        assert_eq!(
            t.call(
                nr::LINKAT,
                l,
                [&[], b"/etc/passwd", &[], b"pw", &[], &[]],
                0
            )
            .0,
            -18
        );
        // Symlinks.
        let s = [P, AT_FDCWD as u32 as u64, P, 0, 0, 0];
        assert_eq!(
            t.call(
                nr::SYMLINKAT,
                s,
                [b"/etc/hostname", &[], b"sl", &[], &[], &[]],
                0
            )
            .0,
            0
        );
        assert_eq!(
            t.call(nr::SYMLINKAT, s, [b"x", &[], b"/etc/sl", &[], &[], &[]], 0)
                .0,
            EROFS
        );
        // chdir / fchdir / getcwd.
        assert_eq!(
            t.call(
                nr::CHDIR,
                [P, 0, 0, 0, 0, 0],
                [b"d", &[], &[], &[], &[], &[]],
                0
            )
            .0,
            0
        );
        let (_, cwd) = t.call(nr::GETCWD, [P, 4096, 0, 0, 0, 0], [&[]; 6], 4096);
        assert_eq!(
            cwd,
            [t.dir.join("d").as_os_str().as_bytes(), b"\0"].concat()
        );
        assert_eq!(
            t.call(
                nr::CHDIR,
                [P, 0, 0, 0, 0, 0],
                [b"g", &[], &[], &[], &[], &[]],
                0
            )
            .0,
            -20
        );
        let root = t.open("/", O_RDONLY | O_DIRECTORY, 0);
        assert_eq!(
            t.call(nr::FCHDIR, [root as u64, 0, 0, 0, 0, 0], [&[]; 6], 0)
                .0,
            0
        );
        assert_eq!(
            t.call(nr::GETCWD, [P, 4096, 0, 0, 0, 0], [&[]; 6], 4096).1,
            b"/\0"
        );
        assert_eq!(t.call(nr::FCHDIR, [1, 0, 0, 0, 0, 0], [&[]; 6], 0).0, -20);
    }

    #[test]
    fn modes_times_truncate() {
        let mut t = T::new();
        let fd = t.open("f", O_CREAT | O_RDWR, 0o600);
        t.write(fd, b"0123456789");
        assert_eq!(
            t.call(nr::FTRUNCATE, [fd as u64, 4, 0, 0, 0, 0], [&[]; 6], 0)
                .0,
            0
        );
        assert_eq!(std::fs::metadata(t.dir.join("f")).unwrap().len(), 4);
        assert_eq!(
            t.call(
                nr::TRUNCATE,
                [P, 2, 0, 0, 0, 0],
                [b"f", &[], &[], &[], &[], &[]],
                0
            )
            .0,
            0
        );
        assert_eq!(std::fs::metadata(t.dir.join("f")).unwrap().len(), 2);
        assert_eq!(
            t.call(nr::FCHMOD, [fd as u64, 0o640, 0, 0, 0, 0], [&[]; 6], 0)
                .0,
            0
        );
        let mode = |t: &T| {
            std::os::unix::fs::PermissionsExt::mode(
                &std::fs::metadata(t.dir.join("f")).unwrap().permissions(),
            ) & 0o7777
        };
        assert_eq!(mode(&t), 0o640);
        assert_eq!(t.path1(nr::FCHMODAT, "f", 0o604, 0), 0);
        assert_eq!(mode(&t), 0o604);
        // utimensat with explicit times.
        let mut ts = [0u8; 32];
        ts[..8].copy_from_slice(&1_000_000i64.to_le_bytes());
        ts[16..24].copy_from_slice(&2_000_000i64.to_le_bytes());
        let a = [AT_FDCWD as u32 as u64, P, P, 0, 0, 0];
        assert_eq!(
            t.call(nr::UTIMENSAT, a, [&[], b"f", &ts, &[], &[], &[]], 0)
                .0,
            0
        );
        let m = std::fs::metadata(t.dir.join("f")).unwrap();
        assert_eq!(std::os::unix::fs::MetadataExt::mtime(&m), 2_000_000);
        assert_eq!(std::os::unix::fs::MetadataExt::atime(&m), 1_000_000);
        // NULL times = now; NULL path = the fd.
        let a = [fd as u64, 0, 0, 0, 0, 0];
        assert_eq!(t.call(nr::UTIMENSAT, a, [&[]; 6], 0).0, 0);
        let m = std::fs::metadata(t.dir.join("f")).unwrap();
        assert!(std::os::unix::fs::MetadataExt::mtime(&m) > 2_000_000);
        assert_eq!(
            t.call(
                nr::UTIMENSAT,
                [AT_FDCWD as u32 as u64, P, P, 0, 0, 0],
                [&[], b"/etc/passwd", &ts, &[], &[], &[]],
                0
            )
            .0,
            EROFS
        );
        ts[8] = 0xff;
        ts[9] = 0xff;
        ts[10] = 0xff;
        ts[11] = 0x7f;
        assert_eq!(
            t.call(
                nr::UTIMENSAT,
                [AT_FDCWD as u32 as u64, P, P, 0, 0, 0],
                [&[], b"f", &ts, &[], &[], &[]],
                0
            )
            .0,
            -22
        );
    }

    #[test]
    fn pipes_block_by_retry_and_end_like_linux() {
        use crate::abi::SYSRET_RETRY;
        let mut t = T::new();
        let (r, out) = t.call(nr::PIPE2, [0x1000, 0, 0, 0, 0, 0], [&[]; 6], 8);
        assert_eq!(r, 0);
        let rd = i32::from_le_bytes(out[..4].try_into().unwrap()) as i64;
        let wr = i32::from_le_bytes(out[4..8].try_into().unwrap()) as i64;
        // An empty pipe on a blocking guest fd: retried by the device, not blocking here.
        assert_eq!(t.read(rd, 4).0, SYSRET_RETRY);
        // The guest's O_NONBLOCK: EAGAIN, and F_GETFL shows what the guest set.
        assert_eq!(
            t.call(nr::FCNTL, [rd as u64, 3, 0, 0, 0, 0], [&[]; 6], 0).0,
            O_RDONLY as i64
        );
        t.call(
            nr::FCNTL,
            [rd as u64, 4, O_NONBLOCK as u64, 0, 0, 0],
            [&[]; 6],
            0,
        );
        assert_eq!(
            t.call(nr::FCNTL, [rd as u64, 3, 0, 0, 0, 0], [&[]; 6], 0).0,
            (O_RDONLY | O_NONBLOCK) as i64
        );
        assert_eq!(t.read(rd, 4).0, -11);
        // A forked child shares the descriptions: the pipe ends at EOF only when both
        // processes' write ends are closed.
        let mut child = t.p.fork();
        assert_eq!(t.write(wr, b"abc"), 3);
        assert_eq!(t.close(wr), 0);
        assert_eq!(t.read(rd, 8), (3, b"abc".to_vec()));
        assert_eq!(t.read(rd, 8).0, -11);
        child.close_all();
        assert_eq!(t.read(rd, 8), (0, vec![]));
        // No reader left: EPIPE (the device raises SIGPIPE).
        let (_, out) = t.call(nr::PIPE2, [0x1000, 0, 0, 0, 0, 0], [&[]; 6], 8);
        let rd2 = i32::from_le_bytes(out[..4].try_into().unwrap()) as i64;
        let wr2 = i32::from_le_bytes(out[4..8].try_into().unwrap()) as i64;
        assert_eq!(t.close(rd2), 0);
        assert_eq!(t.write(wr2, b"x"), -32);
    }

    #[test]
    fn parked_files_survive_the_guests_renames_and_unlinks() {
        let mut t = T::new();
        std::fs::write(t.dir.join("a"), b"0123456789").unwrap();
        let r = t.open("a", O_RDONLY, 0);
        assert_eq!(t.read(r, 2), (2, b"01".to_vec()));
        let w = t.open("w", O_WRONLY | O_CREAT, 0o644);
        assert_eq!(t.write(w, b"ab"), 2);
        assert!(t.p.sb.shared_fds().park_idle() >= 2);
        // The guest renames one and unlinks the other while they are parked: both are
        // reopened first, and go on as on Linux.
        let a = [AT_FDCWD as u32 as u64, P, AT_FDCWD as u32 as u64, P, 0, 0];
        let (rc, _) = t.call(nr::RENAMEAT, a, [&[], b"a", &[], b"b", &[], &[]], 0);
        assert_eq!(rc, 0);
        assert_eq!(t.path1(nr::UNLINKAT, "w", 0, 0), 0);
        assert_eq!(t.read(r, 3), (3, b"234".to_vec()));
        assert_eq!(t.write(w, b"cd"), 2);
        // Neither can be parked again: no path names them now.
        assert_eq!(t.p.sb.shared_fds().park_idle(), 0);
        assert_eq!(t.read(r, 9), (5, b"56789".to_vec()));
    }

    #[test]
    fn exec_closes_cloexec_fds_only() {
        let mut t = T::new();
        let (_, out) = t.call(
            nr::PIPE2,
            [0x1000, O_CLOEXEC as u64, 0, 0, 0, 0],
            [&[]; 6],
            8,
        );
        let ce = i32::from_le_bytes(out[..4].try_into().unwrap()) as u64;
        t.p.close_on_exec();
        assert_eq!(t.call(nr::FCNTL, [ce, 1, 0, 0, 0, 0], [&[]; 6], 0).0, -9);
        assert_eq!(t.call(nr::FCNTL, [1, 1, 0, 0, 0, 0], [&[]; 6], 0).0, 0);
    }

    #[test]
    fn stdio_streams() {
        let mut t = T::new();
        assert_eq!(t.read(0, 2), (2, b"in".to_vec()));
        assert_eq!(t.write(1, b"out!"), 4);
        assert_eq!(t.write(2, b"err"), 3);
        // dup shares the stream; writing to stdin is EBADF.
        let (d, _) = t.call(nr::DUP, [1, 0, 0, 0, 0, 0], [&[]; 6], 0);
        assert_eq!(d, 3);
        assert_eq!(t.write(d, b"+"), 1);
        assert_eq!(t.write(0, b"x"), EBADF);
        assert_eq!(t.read(1, 1).0, EBADF);
        // dup3 over stderr: stderr now goes to stdout.
        assert_eq!(
            t.call(nr::DUP3, [1, 2, O_CLOEXEC as u64, 0, 0, 0], [&[]; 6], 0)
                .0,
            2
        );
        assert_eq!(t.write(2, b"#"), 1);
        assert_eq!(t.call(nr::FCNTL, [2, 1, 0, 0, 0, 0], [&[]; 6], 0).0, 1);
        assert_eq!(t.call(nr::DUP3, [1, 1, 0, 0, 0, 0], [&[]; 6], 0).0, -22);
        assert_eq!(t.call(nr::FCNTL, [1, 0, 10, 0, 0, 0], [&[]; 6], 0).0, 10);
        assert_eq!(
            t.call(nr::FCNTL, [1, 3, 0, 0, 0, 0], [&[]; 6], 0).0,
            O_WRONLY as i64
        );
        assert_eq!(
            t.call(nr::FCNTL, [1, 4, O_NONBLOCK as u64, 0, 0, 0], [&[]; 6], 0)
                .0,
            0
        );
        assert_eq!(
            t.call(nr::FCNTL, [1, 3, 0, 0, 0, 0], [&[]; 6], 0).0,
            (O_WRONLY | O_NONBLOCK) as i64
        );
        assert_eq!(t.call(nr::LSEEK, [1, 0, 0, 0, 0, 0], [&[]; 6], 0).0, -29);
        // ioctl on a pipe-like stream: not a tty.
        assert_eq!(
            t.call(nr::IOCTL, [1, 0x5401, P, 0, 0, 0], [&[]; 6], 64).0,
            -25
        );
        let (r, out) = t.call(nr::IOCTL, [0, 0x541b, P, 0, 0, 0], [&[]; 6], 64);
        assert_eq!((r, out.as_slice()), (0, &3i32.to_le_bytes()[..]));
        assert_eq!(t.p.take_stdout(), b"out!+#");
        assert_eq!(t.p.take_stderr(), b"err");
        t.p.close_all();
        assert_eq!(t.write(1, b"x"), EBADF);
    }

    #[test]
    fn sendfile_and_proc_fd() {
        let mut t = T::new();
        std::fs::write(t.dir.join("src"), b"copy me please").unwrap();
        let fd = t.open("src", O_RDONLY, 0);
        let (r, _) = t.call(nr::SENDFILE, [1, fd as u64, 0, 7, 0, 0], [&[]; 6], 0);
        assert_eq!(r, 7);
        assert_eq!(
            t.call(nr::SENDFILE, [1, fd as u64, 0, 100, 0, 0], [&[]; 6], 0)
                .0,
            7
        );
        assert_eq!(
            t.call(nr::SENDFILE, [1, fd as u64, 0, 100, 0, 0], [&[]; 6], 0)
                .0,
            0
        );
        assert_eq!(t.p.take_stdout(), b"copy me please");
        // /proc/self/fd/N and /dev/stdout reopen the guest's fds.
        let o = t.open("/dev/stdout", O_WRONLY, 0);
        assert!(o >= 0);
        assert_eq!(t.write(o, b"via /dev/stdout"), 15);
        assert_eq!(t.p.take_stdout(), b"via /dev/stdout");
        let r2 = t.open(&format!("/proc/self/fd/{fd}"), O_RDONLY, 0);
        assert!(r2 >= 0);
        assert_eq!(t.read(r2, 4), (4, b"copy".to_vec()));
        assert_eq!(t.open("/proc/self/fd/55", O_RDONLY, 0), ENOENT);
        let a = [AT_FDCWD as u32 as u64, P, P, 100, 0, 0];
        let p = format!("/proc/self/fd/{fd}");
        let (r, out) = t.call(
            nr::READLINKAT,
            a,
            [&[], p.as_bytes(), &[], &[], &[], &[]],
            100,
        );
        assert_eq!(out, t.dir.join("src").as_os_str().as_bytes());
        assert_eq!(r as usize, out.len());
        // A read-only file cannot be reopened for writing through /proc/self/fd.
        let ro = t.open("/etc/passwd", O_RDONLY, 0);
        assert_eq!(t.open(&format!("/proc/self/fd/{ro}"), O_WRONLY, 0), EROFS);
    }

    #[test]
    fn never_panics_on_garbage() {
        let mut t = T::new();
        let junk: [&[u8]; 6] = [
            b"\xff\xfe/..//",
            b"",
            b"\0\0",
            b"////",
            b"../../../../",
            b"a",
        ];
        for nr in 0..500u64 {
            for args in [
                [0u64; 6],
                [u64::MAX; 6],
                [P, P, P, P, P, P],
                [3, P, 1 << 40, 5, P, 7],
            ] {
                // Sleeps, sync and pipes (a read of an empty pipe blocks) are left out.
                if matches!(
                    nr,
                    nr::NANOSLEEP | nr::CLOCK_NANOSLEEP | nr::SYNC | nr::PIPE2
                ) {
                    continue;
                }
                let mut out = vec![0u8; 300];
                let (_, n) = t.p.syscall(nr, &args, &junk, &mut out);
                assert!(n <= out.len());
            }
        }
        let _ = Path::new("/");
    }

    /// A process whose sandbox has a sysroot (`DIR/sysroot`, holding `/etc/gpuos-probe`:
    /// "in the sysroot") and its working directory DIR, mounted writable when `mounted`
    /// (else DIR is only the working directory). Returns it, DIR and the sysroot.
    fn with_sysroot(mounted: bool) -> (T, PathBuf, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().canonicalize().unwrap();
        let sr = d.join("sysroot");
        std::fs::create_dir_all(sr.join("etc")).unwrap();
        std::fs::write(sr.join("etc/gpuos-probe"), b"in the sysroot").unwrap();
        let mounts = if mounted {
            vec![Mount {
                guest: d.clone(),
                host: d.clone(),
                writable: true,
            }]
        } else {
            vec![]
        };
        let sb = Sandbox::new(SandboxConfig {
            mounts,
            cwd: d.clone(),
            exe: "/bin/true".into(),
            hide: vec![],
            sysroot: Some(sr.clone()),
        })
        .unwrap();
        (T::with_sandbox(sb, t), d, sr)
    }

    /// A stat of a path missing below a directory of the sysroot answers its ENOENT or
    /// ENOTDIR lasting with no output (the device keeps it: kernel/sys/statcache.h), and
    /// one found in the host's read-only directories there lasting with its stat,
    /// unless the lookup entered a writable mount or the path is below a directory the
    /// host's processes change (host/fs.rs `VOLATILE_DIRS`, here /tmp).
    #[test]
    fn absences_below_the_sysroot_last() {
        let (t, d, _) = with_sysroot(true);
        let rw = d.join("rw");
        std::fs::create_dir(&rw).unwrap();
        let sb = Sandbox::new(SandboxConfig {
            mounts: vec![Mount {
                guest: "/etc/gpuos-rw".into(),
                host: rw.clone(),
                writable: true,
            }],
            cwd: d.clone(),
            exe: "/bin/true".into(),
            hide: vec![],
            sysroot: Some(d.join("sysroot")),
        })
        .unwrap();
        let T { _t, .. } = t;
        let mut t = T::with_sandbox(sb, _t);
        let stat = |t: &mut T, path: &[u8]| {
            let mut out = vec![0u8; 256];
            let a = [AT_FDCWD as u32 as u64, P, P, 0, 0, 0];
            let o = t.p.call(
                nr::NEWFSTATAT,
                &a,
                &[&[], path, &[], &[], &[], &[]],
                &mut out,
            );
            match o {
                Outcome::Lasting { ret, out_len } => (ret, out_len, true),
                Outcome::Done { ret, out_len } => (ret, out_len, false),
                _ => panic!("newfstatat: {o:?}"),
            }
        };
        let enoent = errno::ENOENT.ret();
        assert_eq!(stat(&mut t, b"/etc/nothere"), (enoent, 0, true));
        assert_eq!(stat(&mut t, b"/etc/nothere/a/b"), (enoent, 0, true));
        // (the sysroot says ENOTDIR; the host's /etc, looked at next, ENOENT)
        assert_eq!(stat(&mut t, b"/etc/gpuos-probe/x"), (enoent, 0, true));
        // Found in the sysroot: lasting with its stat, as before; so is a file the
        // sysroot lacks that the host's read-only /etc has.
        let (ret, out_len, lasting) = stat(&mut t, b"/etc/gpuos-probe");
        assert!(ret == 0 && out_len > 0 && lasting);
        let (ret, out_len, lasting) = stat(&mut t, b"/etc/passwd");
        assert!(ret == 0 && out_len > 0 && lasting);
        // In a writable mount below /etc, and below /tmp (the tempdir): not kept.
        assert_eq!(stat(&mut t, b"/etc/gpuos-rw/later"), (enoent, 0, false));
        let local = d.join("later");
        assert_eq!(
            stat(&mut t, local.as_os_str().as_bytes()),
            (enoent, 0, false)
        );
        std::fs::write(rw.join("later"), b"x").unwrap();
        let (ret, out_len, lasting) = stat(&mut t, b"/etc/gpuos-rw/later");
        assert!(ret == 0 && out_len > 0 && !lasting);
    }

    /// An open of a regular file of the read-only sysroot for reading answers lasting,
    /// with the record the device serves its reads from (kernel/sys/devread.h: the
    /// file version's identity, its size, its struct stat); the host's description
    /// keeps offset 0 until `gpuos_fd_seek` hands the device's offset back. A directory
    /// gets a record too; opens for writing, with O_PATH and outside the sysroot answer
    /// as before.
    #[test]
    fn sysroot_file_opens_hand_the_device_its_record() {
        let (mut t, d, _) = with_sysroot(true);
        std::fs::write(d.join("local"), b"outside").unwrap();
        let open = |t: &mut T, path: &[u8], flags: u32| {
            let mut out = vec![0u8; 256];
            let a = [AT_FDCWD as u32 as u64, P, u64::from(flags), 0, 0, 0];
            let o =
                t.p.call(nr::OPENAT, &a, &[&[], path, &[], &[], &[], &[]], &mut out);
            (o, out)
        };
        let (o, out) = open(&mut t, b"/etc/gpuos-probe", O_RDONLY | O_CLOEXEC);
        let Outcome::Lasting { ret: fd, out_len } = o else {
            panic!("not lasting: {o:?}");
        };
        assert!(fd >= 0, "{fd}");
        assert_eq!(out_len, crate::abi::DEVREAD_RECORD_BYTES);
        assert!(u64_at(&out, 0) > 0, "an identity");
        assert_eq!(u64_at(&out, 8), 14, "the size");
        assert_eq!(u64_at(&out, 16 + 48), 14, "struct stat's st_size");
        assert_eq!(
            u32_at(&out, 16 + 16) & libc::S_IFMT,
            libc::S_IFREG,
            "st_mode"
        );
        // The device read 3 bytes and hands its offset back: the host reads on from there.
        let seek = [fd as u64, 3, 0, 0, 0, 0];
        assert_eq!(t.call(nr::GPUOS_FD_SEEK, seek, [&[]; 6], 0).0, 3);
        assert_eq!(t.read(fd, 64).1, b"the sysroot");
        // A directory: its record too (the device answers its fstat).
        let (o, out) = open(&mut t, b"/etc", O_RDONLY | O_DIRECTORY);
        assert!(
            matches!(o, Outcome::Lasting { ret, .. } if ret >= 0),
            "{o:?}"
        );
        assert_eq!(
            u32_at(&out, 16 + 16) & libc::S_IFMT,
            libc::S_IFDIR,
            "st_mode"
        );
        // A file outside the sysroot, an O_PATH open: as before.
        for (path, flags) in [
            (d.join("local").as_os_str().as_bytes(), O_RDONLY),
            (b"/etc/gpuos-probe", O_PATH),
        ] {
            let (o, _) = open(&mut t, path, flags);
            assert!(matches!(o, Outcome::Done { ret, .. } if ret >= 0), "{o:?}");
        }
        assert_eq!(t.open("/etc/gpuos-probe", O_RDWR, 0), -(libc::EROFS as i64));
    }

    /// A directory fd opened in the sysroot looks names up there first (qemu-user's
    /// openat on the directory's host fd finds DIR's entry), while the same name
    /// relative to the working directory is not redirected; the sysroot is read-only.
    #[test]
    fn openat_from_a_sysroot_directory_reads_the_sysroot() {
        let (mut t, _, sr) = with_sysroot(false);
        let etc = t.open("/etc", O_DIRECTORY, 0);
        assert!(etc >= 0, "{etc}");
        let fd = t.openat(etc as i32, "gpuos-probe", 0, 0);
        assert!(fd >= 0, "{fd}");
        assert_eq!(t.read(fd, 64).1, b"in the sysroot");
        // Relative to the working directory: not redirected.
        assert_eq!(t.open("etc/gpuos-probe", 0, 0), -(libc::ENOENT as i64));
        // Read-only: writing, creating and removing there are EROFS.
        let erofs = -(libc::EROFS as i64);
        assert_eq!(t.open("/etc/gpuos-probe", O_WRONLY, 0), erofs);
        assert_eq!(
            t.openat(etc as i32, "new", O_CREAT | O_WRONLY, 0o644),
            erofs
        );
        assert_eq!(t.path1(nr::UNLINKAT, "/etc/gpuos-probe", 0, 0), erofs);
        assert!(sr.join("etc/gpuos-probe").exists() && !sr.join("etc/new").exists());
    }
}
