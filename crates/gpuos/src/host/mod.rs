//! Host services: the syscalls that the device marshals to the host (`host` rows of
//! `kernel/sys/syscalls.table`): files through the sandbox, clocks, randomness, ids.
//!
//! A [`Sandbox`] (the mount table) is shared by every process; each guest process has a
//! [`ProcHost`] (fd table, working directory, umask) whose [`ProcHost::syscall`] serves one
//! marshalled request. Results follow Linux (and so what `qemu-aarch64` gives a program),
//! with the sandbox's rules on top: writes outside writable mounts fail with `EROFS`.
//!
//! Files: `fs` (mounts, path resolution), `file` (file syscalls), `fd` (fd table),
//! `pipe` (pipes in gpuos's memory), `shared` (host descriptors shared by read-only
//! opens, directory streams), `stat` (guest struct layouts), `time`, `misc`, `stdio`,
//! `errno` (the one host-to-guest errno mapping), `sys` (the libc wrappers, where all
//! `unsafe` is).

pub(crate) mod errno;
mod exec;
mod fd;
mod file;
mod fs;
mod misc;
pub mod output;
mod pipe;
mod poll;
mod shared;
mod stat;
mod stdio;
mod sys;
pub(crate) mod time;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use exec::ExecTarget;
pub(crate) use fs::normalize;
pub use fs::{Mount, Sandbox, SandboxConfig};
pub(crate) use stdio::read_host_stdin;
pub use stdio::{Sink, Source};

use errno::Errno;
use fd::{FdTable, FileKind, OpenFile};
use stdio::{SinkState, SourceState};

/// Errors building a [`Sandbox`].
#[derive(thiserror::Error, Debug)]
pub enum HostError {
    /// A mount's host directory cannot be opened.
    #[error("cannot mount {host}: {source}")]
    Mount {
        /// The host path given.
        host: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A mount's host path is not a directory.
    #[error("cannot mount {0}: not a directory")]
    NotADirectory(PathBuf),
    /// A mount's guest path is relative.
    #[error("mount point {0} is not an absolute path")]
    GuestNotAbsolute(PathBuf),
    /// A `--hide` path does not exist (or cannot be resolved).
    #[error("cannot hide {path}: {source}", path = path.display())]
    Hide {
        /// The host path given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The working directory is relative.
    #[error("working directory {0} is not an absolute path")]
    CwdNotAbsolute(PathBuf),
}

/// Syscall numbers (AArch64, asm-generic) of the host-served syscalls.
#[allow(missing_docs)]
pub mod nr {
    pub const GETCWD: u64 = 17;
    pub const DUP: u64 = 23;
    pub const PIPE2: u64 = 59;
    pub const DUP3: u64 = 24;
    pub const FCNTL: u64 = 25;
    pub const IOCTL: u64 = 29;
    pub const MKNODAT: u64 = 33;
    pub const MKDIRAT: u64 = 34;
    pub const UNLINKAT: u64 = 35;
    pub const SYMLINKAT: u64 = 36;
    pub const LINKAT: u64 = 37;
    pub const RENAMEAT: u64 = 38;
    pub const STATFS: u64 = 43;
    pub const FSTATFS: u64 = 44;
    pub const TRUNCATE: u64 = 45;
    pub const FTRUNCATE: u64 = 46;
    pub const FACCESSAT: u64 = 48;
    pub const CHDIR: u64 = 49;
    pub const FCHDIR: u64 = 50;
    pub const FCHMOD: u64 = 52;
    pub const FCHMODAT: u64 = 53;
    pub const FCHOWNAT: u64 = 54;
    pub const FCHOWN: u64 = 55;
    pub const OPENAT: u64 = 56;
    pub const CLOSE: u64 = 57;
    pub const GETDENTS64: u64 = 61;
    pub const LSEEK: u64 = 62;
    pub const READ: u64 = 63;
    pub const WRITE: u64 = 64;
    pub const READV: u64 = 65;
    pub const WRITEV: u64 = 66;
    pub const PREAD64: u64 = 67;
    pub const PWRITE64: u64 = 68;
    pub const SENDFILE: u64 = 71;
    pub const PSELECT6: u64 = 72;
    pub const PPOLL: u64 = 73;
    pub const READLINKAT: u64 = 78;
    pub const NEWFSTATAT: u64 = 79;
    pub const FSTAT: u64 = 80;
    pub const SYNC: u64 = 81;
    pub const FSYNC: u64 = 82;
    pub const FDATASYNC: u64 = 83;
    pub const UTIMENSAT: u64 = 88;
    pub const NANOSLEEP: u64 = 101;
    pub const CLOCK_GETTIME: u64 = 113;
    pub const CLOCK_GETRES: u64 = 114;
    pub const CLOCK_NANOSLEEP: u64 = 115;
    pub const TIMES: u64 = 153;
    pub const GETRUSAGE: u64 = 165;
    pub const UMASK: u64 = 166;
    pub const GETUID: u64 = 174;
    pub const GETEUID: u64 = 175;
    pub const GETGID: u64 = 176;
    pub const GETEGID: u64 = 177;
    pub const SYSINFO: u64 = 179;
    pub const RENAMEAT2: u64 = 276;
    pub const GETRANDOM: u64 = 278;
    pub const STATX: u64 = 291;
    pub const FACCESSAT2: u64 = 439;
}

/// Guest open(2) flags (AArch64 values).
#[allow(dead_code)]
pub(crate) mod oflag {
    pub const O_ACCMODE: u32 = 0o3;
    pub const O_RDONLY: u32 = 0;
    pub const O_WRONLY: u32 = 0o1;
    pub const O_RDWR: u32 = 0o2;
    pub const O_CREAT: u32 = 0o100;
    pub const O_EXCL: u32 = 0o200;
    pub const O_NOCTTY: u32 = 0o400;
    pub const O_TRUNC: u32 = 0o1000;
    pub const O_APPEND: u32 = 0o2000;
    pub const O_NONBLOCK: u32 = 0o4000;
    pub const O_DSYNC: u32 = 0o10000;
    pub const FASYNC: u32 = 0o20000;
    pub const O_DIRECTORY: u32 = 0o40000;
    pub const O_NOFOLLOW: u32 = 0o100000;
    pub const O_DIRECT: u32 = 0o200000;
    pub const O_LARGEFILE: u32 = 0o400000;
    pub const O_NOATIME: u32 = 0o1000000;
    pub const O_CLOEXEC: u32 = 0o2000000;
    pub const O_SYNC: u32 = 0o4010000;
    pub const O_PATH: u32 = 0o10000000;
    pub const O_TMPFILE: u32 = 0o20040000;

    /// The kernel's O_LARGEFILE of the host (libc says 0 on 64-bit hosts, but the kernel
    /// reports its own bit in F_GETFL).
    #[cfg(target_arch = "aarch64")]
    pub const HOST_O_LARGEFILE: i32 = 0o400000;
    #[cfg(not(target_arch = "aarch64"))]
    pub const HOST_O_LARGEFILE: i32 = 0o100000;

    /// Guest bit <-> host bit, for every flag whose bit may differ between architectures.
    const MAP: [(u32, i32); 16] = [
        (O_CREAT, libc::O_CREAT),
        (O_EXCL, libc::O_EXCL),
        (O_NOCTTY, libc::O_NOCTTY),
        (O_TRUNC, libc::O_TRUNC),
        (O_APPEND, libc::O_APPEND),
        (O_NONBLOCK, libc::O_NONBLOCK),
        (O_DSYNC, libc::O_DSYNC),
        (FASYNC, libc::O_ASYNC),
        (O_DIRECTORY, libc::O_DIRECTORY),
        (O_NOFOLLOW, libc::O_NOFOLLOW),
        (O_DIRECT, libc::O_DIRECT),
        (O_LARGEFILE, HOST_O_LARGEFILE),
        (O_NOATIME, libc::O_NOATIME),
        (O_CLOEXEC, libc::O_CLOEXEC),
        (O_SYNC & !O_DSYNC, libc::O_SYNC & !libc::O_DSYNC),
        (O_PATH, libc::O_PATH),
    ];

    /// Guest flags -> host flags (O_TMPFILE's own bit included; unknown bits dropped).
    pub fn to_host(g: u32) -> i32 {
        let mut h = (g & O_ACCMODE) as i32;
        for (gb, hb) in MAP {
            if g & gb == gb {
                h |= hb;
            }
        }
        if g & (O_TMPFILE & !O_DIRECTORY) != 0 {
            h |= libc::O_TMPFILE & !libc::O_DIRECTORY;
        }
        h
    }

    /// Host flags -> guest flags.
    pub fn to_guest(h: i32) -> u32 {
        let mut g = (h & libc::O_ACCMODE) as u32;
        for (gb, hb) in MAP {
            if hb != 0 && h & hb == hb {
                g |= gb;
            }
        }
        if h & (libc::O_TMPFILE & !libc::O_DIRECTORY) != 0 {
            g |= O_TMPFILE & !O_DIRECTORY;
        }
        g
    }
}

/// The host side of one guest process: its fd table (0, 1, 2 = stdin, stdout, stderr),
/// working directory and umask.
pub struct ProcHost {
    sb: Arc<Sandbox>,
    fds: FdTable,
    cwd: PathBuf,
    umask: u32,
    /// The streamed stdout and stderr ([`Sink::Stream`]), shared by the whole family
    /// (the lane's output is what any of its processes writes to them).
    streams: Arc<Mutex<[output::OutStream; 2]>>,
    /// How many of the family's processes have not ended (shared by the family).
    family: Arc<AtomicUsize>,
    /// Whether this process counts in `family` (until `close_all`, its end).
    alive: bool,
    /// A sleep in progress answered RETRY ([`ProcHost::sys_sleep`]): the call (number
    /// and arguments) and when it is due.
    sleep: Option<((u64, [u64; 4]), std::time::Instant)>,
}

impl std::fmt::Debug for ProcHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcHost")
            .field("cwd", &self.cwd)
            .field("umask", &self.umask)
            .finish()
    }
}

/// The guest status flags of a host fd standing for a stream (its access mode and
/// O_APPEND/O_NONBLOCK), or `default` if it has none.
fn stream_flags(host: Option<i32>, default: u32) -> u32 {
    host.and_then(|fd| sys::fcntl(fd, libc::F_GETFL, 0).ok())
        .map_or(default, |fl| oflag::to_guest(fl) & !oflag::O_LARGEFILE)
}

/// Flush the sinks among descriptions closed for good.
fn flush_all(ds: Vec<fd::Desc>) {
    for d in ds {
        if let FileKind::Sink(s) = &mut fd::lock(&d).kind {
            s.flush();
        }
    }
}

/// The result of one handler: (return value, bytes of output).
type Ret = Result<(i64, usize), Errno>;

/// A success with no output.
fn ok(v: i64) -> Ret {
    Ok((v, 0))
}

impl ProcHost {
    /// A new process's host side with the given standard streams.
    pub fn new(sandbox: Arc<Sandbox>, stdin: Source, stdout: Sink, stderr: Sink) -> ProcHost {
        let mut streams: [output::OutStream; 2] = Default::default();
        let mut fds = FdTable::new();
        let src = SourceState::new(stdin);
        let flags = stream_flags(src.host_fd(), oflag::O_RDONLY);
        let _ = fds.install(
            OpenFile {
                kind: FileKind::Source(src),
                flags,
            },
            0,
            false,
        );
        for (i, sink) in [stdout, stderr].into_iter().enumerate() {
            let st = match sink {
                Sink::Inherit => SinkState::Inherit(i as i32 + 1),
                Sink::Stream(s) => {
                    streams[i] = *s;
                    SinkState::Capture(i)
                }
                Sink::File(f) => SinkState::File(f),
            };
            let flags = stream_flags(st.host_fd(), oflag::O_WRONLY);
            let _ = fds.install(
                OpenFile {
                    kind: FileKind::Sink(st),
                    flags,
                },
                0,
                false,
            );
        }
        let cwd = sandbox.initial_cwd().to_path_buf();
        let umask = sandbox.host_umask();
        ProcHost {
            sb: sandbox,
            fds,
            cwd,
            umask,
            streams: Arc::new(Mutex::new(streams)),
            family: Arc::new(AtomicUsize::new(1)),
            alive: true,
            sleep: None,
        }
    }

    /// The same process starting in the guest directory `cwd` instead (an absolute,
    /// normalized path; `RunConfig::lane_dir`).
    pub fn with_cwd(mut self, cwd: PathBuf) -> ProcHost {
        self.cwd = cwd;
        self
    }

    /// fork(2): the child's host side: a copy of the fd table whose fds share the
    /// parent's open file descriptions (offsets, status flags), the same working
    /// directory and umask, and the family's streams.
    pub fn fork(&self) -> ProcHost {
        ProcHost {
            sb: self.sb.clone(),
            fds: self.fds.fork(),
            cwd: self.cwd.clone(),
            umask: self.umask,
            streams: self.streams.clone(),
            family: {
                self.family.fetch_add(1, Ordering::Relaxed);
                self.family.clone()
            },
            alive: true,
            sleep: None,
        }
    }

    /// execve(2): close the fds marked close-on-exec.
    pub fn close_on_exec(&mut self) {
        flush_all(self.fds.close_on_exec());
    }

    fn streams(&self) -> MutexGuard<'_, [output::OutStream; 2]> {
        self.streams.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The family's streamed stdout and stderr ([`Sink::Stream`]) at the lane's end:
    /// their files written out, their hashes, sizes and kept bytes, each with its
    /// file's error, naming it ([`output::OutStream::finish`]).
    pub fn finish_streams(&mut self) -> [(output::StreamEnd, std::io::Result<()>); 2] {
        let mut s = self.streams();
        [s[0].finish(), s[1].finish()]
    }

    /// The stdout kept so far ([`Sink::kept`]), taken out (tests).
    #[cfg(test)]
    pub(crate) fn take_stdout(&mut self) -> Vec<u8> {
        self.streams()[0].finish().0.kept
    }

    /// The stderr kept so far ([`Sink::kept`]), taken out (tests).
    #[cfg(test)]
    pub(crate) fn take_stderr(&mut self) -> Vec<u8> {
        self.streams()[1].finish().0.kept
    }

    /// Close every fd, flushing files (process exit); the process no longer counts in
    /// its family.
    pub fn close_all(&mut self) {
        if std::mem::take(&mut self.alive) {
            self.family.fetch_sub(1, Ordering::Relaxed);
        }
        flush_all(self.fds.close_all());
    }

    /// The guest's working directory.
    pub fn cwd(&self) -> &std::path::Path {
        &self.cwd
    }

    /// Serve one host syscall.
    ///
    /// `args` are the raw guest arguments (pointers kept so NULL is visible, lengths already
    /// lowered to fit), `ins[k]` the input bytes of argument k (path strings without their
    /// NUL; empty for other arguments), `out` the output area. Returns the syscall's value
    /// (a negative Linux errno on failure) and how many bytes of `out` go back to the guest.
    pub fn syscall(
        &mut self,
        nr: u64,
        args: &[u64; 6],
        ins: &[&[u8]; 6],
        out: &mut [u8],
    ) -> (i64, usize) {
        let mut r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.dispatch(nr, args, ins, out)
        }));
        // The host is out of descriptors: close the shared ones idle longest and try
        // once more (a call that fails for want of a descriptor has had no effect).
        if matches!(r, Ok(Err(e)) if e == errno::EHOSTFD) && self.sb.shared_fds().park_idle() > 0 {
            r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.dispatch(nr, args, ins, out)
            }));
        }
        match r {
            Ok(Ok((v, n))) => (v, n.min(out.len())),
            Ok(Err(e)) => (e.ret(), 0),
            Err(_) => (errno::EIO.ret(), 0),
        }
    }

    fn dispatch(&mut self, nr: u64, a: &[u64; 6], ins: &[&[u8]; 6], out: &mut [u8]) -> Ret {
        // Arguments of C type int are the low 32 bits of the register.
        let fd = |k: usize| a[k] as i32;
        let int = |k: usize| a[k] as i32;
        let uint = |k: usize| a[k] as u32;
        let path = |k: usize| {
            if a[k] == 0 {
                Err(errno::EFAULT)
            } else {
                Ok(ins[k])
            }
        };
        // An out buffer of args[k] bytes (already lowered to the output area).
        let olen = out.len();
        let cap = |k: usize| usize::try_from(a[k]).unwrap_or(usize::MAX).min(olen);
        match nr {
            nr::GETCWD => self.sys_getcwd(out, a[1] as usize),
            nr::DUP => self.sys_dup(fd(0)),
            nr::PIPE2 => self.sys_pipe2(out, uint(1)),
            nr::DUP3 => self.sys_dup3(fd(0), fd(1), uint(2)),
            nr::FCNTL => self.sys_fcntl(fd(0), int(1), a[2]),
            nr::IOCTL => self.sys_ioctl(fd(0), uint(1), a[2], out),
            nr::MKNODAT => self.sys_mknodat(fd(0), path(1)?, uint(2), a[3]),
            nr::MKDIRAT => self.sys_mkdirat(fd(0), path(1)?, uint(2)),
            nr::UNLINKAT => self.sys_unlinkat(fd(0), path(1)?, int(2)),
            nr::SYMLINKAT => self.sys_symlinkat(path(0)?, fd(1), path(2)?),
            nr::LINKAT => self.sys_linkat(fd(0), path(1)?, fd(2), path(3)?, int(4)),
            nr::RENAMEAT => self.sys_renameat2(fd(0), path(1)?, fd(2), path(3)?, 0),
            nr::RENAMEAT2 => self.sys_renameat2(fd(0), path(1)?, fd(2), path(3)?, uint(4)),
            nr::STATFS => self.sys_statfs(path(0)?, a[1], out),
            nr::FSTATFS => self.sys_fstatfs(fd(0), a[1], out),
            nr::TRUNCATE => self.sys_truncate(path(0)?, a[1] as i64),
            nr::FTRUNCATE => self.sys_ftruncate(fd(0), a[1] as i64),
            nr::FACCESSAT => self.sys_faccessat(fd(0), path(1)?, int(2), 0),
            nr::FACCESSAT2 => self.sys_faccessat(fd(0), path(1)?, int(2), int(3)),
            nr::CHDIR => self.sys_chdir(path(0)?),
            nr::FCHDIR => self.sys_fchdir(fd(0)),
            nr::FCHMOD => self.sys_fchmod(fd(0), uint(1)),
            nr::FCHMODAT => self.sys_fchmodat(fd(0), path(1)?, uint(2)),
            nr::FCHOWNAT => self.sys_fchownat(fd(0), path(1)?, uint(2), uint(3), int(4)),
            nr::FCHOWN => self.sys_fchown(fd(0), uint(1), uint(2)),
            nr::OPENAT => self.sys_openat(fd(0), path(1)?, uint(2), uint(3)),
            nr::CLOSE => self.sys_close(fd(0)),
            nr::GETDENTS64 => self.sys_getdents64(fd(0), &mut out[..cap(2)]),
            nr::LSEEK => self.sys_lseek(fd(0), a[1] as i64, int(2)),
            nr::READ => self.sys_read(fd(0), &mut out[..cap(2)], None),
            nr::WRITE => self.sys_write(fd(0), ins[1], None),
            nr::READV => {
                check_iovcnt(a[2])?;
                self.sys_read(fd(0), out, None)
            }
            nr::WRITEV => {
                check_iovcnt(a[2])?;
                self.sys_write(fd(0), ins[1], None)
            }
            nr::PREAD64 => self.sys_read(fd(0), &mut out[..cap(2)], Some(a[3] as i64)),
            nr::PWRITE64 => self.sys_write(fd(0), ins[1], Some(a[3] as i64)),
            nr::SENDFILE => self.sys_sendfile(fd(0), fd(1), a[2], a[3] as usize),
            nr::PSELECT6 | nr::PPOLL => Err(errno::ENOSYS),
            nr::READLINKAT => self.sys_readlinkat(fd(0), path(1)?, int(3), out),
            nr::NEWFSTATAT => self.sys_newfstatat(fd(0), a[1], ins[1], a[2], int(3), out),
            nr::FSTAT => self.sys_fstat(fd(0), a[1], out),
            nr::STATX => self.sys_statx(fd(0), a[1], ins[1], int(2), uint(3), a[4], out),
            nr::SYNC => {
                sys::sync();
                ok(0)
            }
            nr::FSYNC => self.sys_fsync(fd(0), false),
            nr::FDATASYNC => self.sys_fsync(fd(0), true),
            nr::UTIMENSAT => self.sys_utimensat(fd(0), a[1], ins[1], a[2], ins[2], int(3)),
            nr::NANOSLEEP => self.sys_sleep(nr, a, time::nanosleep_deadline(a[0], ins[0])?),
            nr::CLOCK_GETTIME => time::clock_gettime(int(0), a[1], out),
            nr::CLOCK_GETRES => time::clock_getres(int(0), a[1], out),
            nr::CLOCK_NANOSLEEP => {
                let d = time::clock_nanosleep_deadline(int(0), int(1), a[2], ins[2])?;
                self.sys_sleep(nr, a, d)
            }
            nr::TIMES => time::times(a[0], out),
            nr::GETRUSAGE => time::getrusage(int(0), a[1], out),
            nr::UMASK => self.sys_umask(uint(0)),
            nr::GETUID => ok(sys::ids().0 as i64),
            nr::GETEUID => ok(sys::ids().1 as i64),
            nr::GETGID => ok(sys::ids().2 as i64),
            nr::GETEGID => ok(sys::ids().3 as i64),
            nr::SYSINFO => misc::sysinfo(a[0], out),
            nr::GETRANDOM => misc::getrandom(&mut out[..cap(1)], uint(2)),
            _ => Err(errno::ENOSYS),
        }
    }
}

impl ProcHost {
    /// nanosleep/clock_nanosleep until `deadline`. A process with others in its family
    /// must not hold them up: the lane runs its family on one thread (and has one host
    /// request in flight), so a sleep served by waiting would run eight forked
    /// children's one-second sleeps one after another. Such a sleep answers RETRY
    /// until it is due: the device parks the process and runs the others, and runs
    /// the call again later (its first deadline kept, keyed by the call's arguments, as
    /// `Proc::poll_deadline` for ppoll). A lone process sleeps as the thread serving it
    /// decides (`time::sleep_until`: waits, or the wake-up time is noted).
    fn sys_sleep(&mut self, nr: u64, a: &[u64; 6], deadline: time::Deadline) -> Ret {
        let key = (nr, [a[0], a[1], a[2], a[3]]);
        if self.family_size() <= 1 {
            self.sleep = None;
            time::sleep_until(deadline)?;
            return ok(0);
        }
        let due = match self.sleep {
            Some((k, due)) if k == key => due,
            _ => time::instant_of(deadline)?,
        };
        if std::time::Instant::now() < due {
            self.sleep = Some((key, due));
            return Err(errno::RETRY);
        }
        self.sleep = None;
        ok(0)
    }

    /// The processes of this one's family that have not ended (itself included).
    fn family_size(&self) -> usize {
        self.family.load(Ordering::Relaxed)
    }
}

/// readv/writev: iovcnt must be 0..=IOV_MAX.
fn check_iovcnt(n: u64) -> Result<(), Errno> {
    let n = n as i32;
    if !(0..=1024).contains(&n) {
        return Err(errno::EINVAL);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_flags_translate() {
        use oflag::*;
        let g = O_WRONLY | O_CREAT | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_LARGEFILE;
        let h = to_host(g);
        assert_eq!(
            h,
            libc::O_WRONLY
                | libc::O_CREAT
                | libc::O_DIRECTORY
                | libc::O_NOFOLLOW
                | libc::O_CLOEXEC
                | HOST_O_LARGEFILE
        );
        assert_eq!(to_guest(h), g);
        assert_eq!(to_guest(to_host(O_SYNC)), O_SYNC);
        assert_eq!(to_guest(to_host(O_DSYNC)), O_DSYNC);
        assert_eq!(to_host(O_TMPFILE | O_RDWR), libc::O_TMPFILE | libc::O_RDWR);
        assert_eq!(to_guest(to_host(O_PATH)), O_PATH);
        assert_eq!(to_host(O_DIRECT), libc::O_DIRECT);
    }

    #[test]
    fn thread_safety() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Sandbox>();
        send::<ProcHost>();
    }

    /// A lone process's sleep is slept; with a forked child alive, the parent's sleep
    /// answers RETRY (the family runs on) until its first deadline, then 0.
    #[test]
    fn sleeps_in_a_family_do_not_hold_it_up() {
        let t = tempfile::tempdir().unwrap();
        let sb = fs::tests::default_sandbox(&t.path().canonicalize().unwrap());
        let mut p = ProcHost::new(sb, Source::Null, Sink::kept(), Sink::kept());
        let mut req = [0u8; 16];
        req[8..].copy_from_slice(&50_000_000i64.to_le_bytes()); // 50 ms
        let args = [0x1000, 0, 0, 0, 0, 0];
        let ins: [&[u8]; 6] = [&req, &[], &[], &[], &[], &[]];
        let t0 = std::time::Instant::now();
        assert_eq!(p.syscall(nr::NANOSLEEP, &args, &ins, &mut []), (0, 0));
        assert!(t0.elapsed() >= std::time::Duration::from_millis(50));
        let mut child = p.fork();
        let t0 = std::time::Instant::now();
        let retry = (crate::abi::SYSRET_RETRY, 0);
        assert_eq!(p.syscall(nr::NANOSLEEP, &args, &ins, &mut []), retry);
        assert!(t0.elapsed() < std::time::Duration::from_millis(40));
        assert_eq!(p.syscall(nr::NANOSLEEP, &args, &ins, &mut []), retry);
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert_eq!(p.syscall(nr::NANOSLEEP, &args, &ins, &mut []), (0, 0));
        // The child has ended: the parent is alone again and sleeps.
        child.close_all();
        let t0 = std::time::Instant::now();
        assert_eq!(p.syscall(nr::NANOSLEEP, &args, &ins, &mut []), (0, 0));
        assert!(t0.elapsed() >= std::time::Duration::from_millis(50));
    }

    #[test]
    fn unknown_syscall_is_enosys() {
        let t = tempfile::tempdir().unwrap();
        let sb = fs::tests::default_sandbox(&t.path().canonicalize().unwrap());
        let mut p = ProcHost::new(sb, Source::Null, Sink::kept(), Sink::kept());
        let mut out = [0u8; 8];
        assert_eq!(p.syscall(9999, &[0; 6], &[&[]; 6], &mut out), (-38, 0));
        assert_eq!(p.syscall(nr::PPOLL, &[0; 6], &[&[]; 6], &mut out), (-38, 0));
    }
}
