//! Host services: the syscalls that the device marshals to the host (`host` rows of
//! `kernel/sys/syscalls.table`): files through the sandbox, clocks, randomness, ids.
//!
//! A [`Sandbox`] (the mount table) is shared by every process; each guest process has a
//! [`ProcHost`] (fd table, working directory, umask) whose [`ProcHost::call`] serves one
//! marshalled request. Results follow Linux (and so what `qemu-aarch64` gives a program),
//! with the sandbox's rules on top: writes outside writable mounts fail with `EROFS`.
//!
//! Files: `calls` (one function per host syscall, named by it, dispatched by the
//! generated match; [`Outcome`]), `fs` (mounts, path resolution), `file` (file
//! syscalls), `fd` (fd table),
//! `pipe` (pipes in gpuos's memory), `shared` (host descriptors shared by read-only
//! opens, directory streams), `stat` (guest struct layouts), `time`, `misc`, `stdio`,
//! `errno` (the one host-to-guest errno mapping), `sys` (the libc wrappers, where all
//! `unsafe` is).

mod calls;
mod epoll;
pub(crate) mod errno;
mod exec;
mod fd;
mod file;
mod fs;
mod fsops;
mod mapfile;
mod misc;
mod noted;
pub mod output;
mod pipe;
mod poll;
mod shared;
mod sock;
mod stat;
mod stdio;
mod sys;
pub(crate) mod time;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use calls::Outcome;
pub(crate) use exec::ExecAt;
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
    /// The sysroot cannot be used: missing, not a directory, unreadable.
    #[error("cannot use sysroot {path}: {source}", path = path.display())]
    Sysroot {
        /// The directory given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The working directory is relative.
    #[error("working directory {0} is not an absolute path")]
    CwdNotAbsolute(PathBuf),
}

pub use crate::tables::nr;

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
    /// The working directory was found in the sysroot (chdir to an absolute path the
    /// sysroot has): relative paths are then looked up there first, as under a chroot
    /// into it, so `cd /usr/lib; cat python3.11/os.py` reads the sysroot's file.
    cwd_in_sysroot: bool,
    umask: u32,
    /// The streamed stdout and stderr ([`Sink::Stream`]), shared by the whole family
    /// (the lane's output is what any of its processes writes to them).
    streams: Arc<Mutex<[output::OutStream; 2]>>,
    /// How many of the family's processes have not ended (shared by the family).
    family: Arc<AtomicUsize>,
    /// Whether this process counts in `family` (until `close_all`, its end).
    alive: bool,
    /// The sleeps in progress answered RETRY ([`ProcHost::sys_sleep`]), one per thread
    /// of the process that sleeps: its id, the call (number and arguments) and when it
    /// is due. At most [`SLEEPS_KEPT`].
    sleeps: Vec<Sleep>,
    /// The request being served: the posting thread's id and whether its lane runs
    /// other members of its family ([`ProcHost::set_caller`]).
    caller: (u32, bool),
    /// The process's pid when the device made it by a fork (0 for a lane's first
    /// process): which occupant of a child slot this is, as the device's notes of a
    /// process's end name it (`service::Procs::apply_notes`).
    pub(crate) pid: u32,
    /// The guest path of the program the process runs since an execve of a program other
    /// than the run's own (what `/proc/self/exe` names); None: the run's program.
    exe: Option<PathBuf>,
}

/// A sleep answered RETRY, kept until it is due ([`ProcHost::sys_sleep`]).
#[derive(Clone, Copy, Debug)]
struct Sleep {
    /// The sleeping thread.
    tid: u32,
    /// The call: its number and first four arguments.
    call: (u64, [u64; 4]),
    /// When it is done.
    due: std::time::Instant,
}

/// The most sleeps in progress a process keeps (one per sleeping thread).
const SLEEPS_KEPT: usize = 1024;

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

/// The host's real and effective user ids, which the guest's processes have
/// (`MachineHdr::uid`, `euid`).
pub(crate) fn host_ids() -> (u32, u32, u32, u32) {
    sys::ids()
}

/// A run's key for getrandom(2) on the device (kernel/sys/random.h): 32 bytes of the
/// host's getrandom. Should that fail (it does not, once the host's pool is
/// initialised), the clocks and the process id stand in, with a warning: the guests'
/// random bytes then differ from run to run but are not secret.
pub(crate) fn rng_key() -> [u64; 4] {
    let mut b = [0u8; 32];
    if getrandom::getrandom(&mut b).is_err() {
        eprintln!("gpuos: warning: the host's getrandom failed: guest random bytes are not secret in this run");
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b[..16].copy_from_slice(&t.to_le_bytes());
        b[16..20].copy_from_slice(&std::process::id().to_le_bytes());
    }
    std::array::from_fn(|i| u64::from_le_bytes(b[8 * i..8 * i + 8].try_into().unwrap_or([0; 8])))
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
            cwd_in_sysroot: false,
            umask,
            streams: Arc::new(Mutex::new(streams)),
            family: Arc::new(AtomicUsize::new(1)),
            alive: true,
            sleeps: Vec::new(),
            caller: (0, false),
            pid: 0,
            exe: None,
        }
    }

    /// The same process starting in the guest directory `cwd` instead (an absolute,
    /// normalized path; `RunConfig::lane_dir`).
    pub fn with_cwd(mut self, cwd: PathBuf) -> ProcHost {
        self.cwd = cwd;
        self.cwd_in_sysroot = false;
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
            cwd_in_sysroot: self.cwd_in_sysroot,
            umask: self.umask,
            streams: self.streams.clone(),
            family: {
                self.family.fetch_add(1, Ordering::Relaxed);
                self.family.clone()
            },
            alive: true,
            sleeps: Vec::new(),
            caller: (0, false),
            pid: 0,
            exe: self.exe.clone(),
        }
    }

    /// The program `/proc/self/exe` names for this process (see [`ProcHost::set_exe`]).
    pub(crate) fn exe_path<'a>(&'a self, sb: &'a Sandbox) -> &'a std::path::Path {
        self.exe.as_deref().unwrap_or(sb.exe())
    }

    /// After an execve: the process runs the program at guest path `exe` (made
    /// absolute from the working directory, `.` and `..` taken lexically), or the run's
    /// own program (None).
    pub(crate) fn set_exe(&mut self, exe: Option<&[u8]>) {
        self.exe = exe.map(|e| {
            let mut out = PathBuf::from("/");
            let joined = self
                .cwd
                .join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(e));
            for c in joined.components() {
                match c {
                    std::path::Component::ParentDir => {
                        out.pop();
                    }
                    std::path::Component::Normal(n) => out.push(n),
                    _ => {}
                }
            }
            out
        });
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

    /// Serve one host syscall by its function (`calls`, [`Outcome`]).
    ///
    /// `args` are the raw guest arguments (pointers kept so NULL is visible, lengths already
    /// lowered to fit), `ins[k]` the input bytes of argument k (path strings without their
    /// NUL; empty for other arguments), `out` the output area. A done call's output
    /// length is at most `out.len()`; a panic in a host function is EIO.
    pub(crate) fn call(
        &mut self,
        nr: u64,
        args: &[u64; 6],
        ins: &[&[u8]; 6],
        out: &mut [u8],
    ) -> Outcome {
        let o = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            calls::dispatch(
                self,
                nr,
                &mut calls::Call {
                    nr,
                    a: args,
                    ins,
                    out,
                },
            )
        }))
        .unwrap_or(errno::EIO.into());
        match o {
            Outcome::Done { ret, out_len } => Outcome::Done {
                ret,
                out_len: out_len.min(out.len()),
            },
            Outcome::Lasting { ret, out_len } => Outcome::Lasting {
                ret,
                out_len: out_len.min(out.len()),
            },
            o => o,
        }
    }

    /// Close the host descriptors of read-only opens idle longest, shared by every
    /// process (`shared::SharedFds::park_idle`; they reopen on their next use). Returns
    /// how many were closed.
    pub(crate) fn park_idle_fds(&self) -> usize {
        self.sb.shared_fds().park_idle()
    }

    /// [`ProcHost::call`] as a thread that serves one process would: a sleep is slept
    /// here; returns the syscall's value (`SYSRET_RETRY` for a call that would block;
    /// EHOSTFD's for one that found the host out of descriptors) and the output length.
    #[cfg(test)]
    pub(crate) fn syscall(
        &mut self,
        nr: u64,
        args: &[u64; 6],
        ins: &[&[u8]; 6],
        out: &mut [u8],
    ) -> (i64, usize) {
        match self.call(nr, args, ins, out) {
            Outcome::Done { ret, out_len } => (ret, out_len),
            Outcome::Lasting { ret, out_len } => (ret, out_len),
            Outcome::Retry => (crate::abi::SYSRET_RETRY, 0),
            Outcome::SleepUntil(t) => {
                std::thread::sleep(t.saturating_duration_since(std::time::Instant::now()));
                (0, 0)
            }
            Outcome::NeedHostFd => (errno::EHOSTFD.ret(), 0),
        }
    }
}

impl ProcHost {
    /// Who posts the request about to be served: thread `tid` of this process, whose
    /// lane has other members of its family to run when `shared` (`abi::SYSREQ_SHARED`).
    pub(crate) fn set_caller(&mut self, tid: u32, shared: bool) {
        self.caller = (tid, shared);
    }

    /// nanosleep/clock_nanosleep until `deadline`. A process with others in its family
    /// (or a thread with other threads) must not hold them up: the lane runs its family
    /// on one thread (and has one host request in flight), so a sleep served by waiting
    /// would run eight forked children's one-second sleeps one after another. Such a
    /// sleep answers RETRY until it is due: the device parks the thread and runs the
    /// others, and runs the call again later (its first deadline kept, keyed by the
    /// thread and the call's arguments, as `Proc::poll_deadline` for ppoll). A lone
    /// thread's sleep is done at the deadline ([`Outcome::SleepUntil`]): the one
    /// serving it decides how to wait.
    fn sys_sleep(
        &mut self,
        c: &calls::Call<'_>,
        deadline: time::Deadline,
    ) -> Result<Outcome, Errno> {
        let a = c.a;
        let (tid, shared) = self.caller;
        let key = (c.nr, [a[0], a[1], a[2], a[3]]);
        let at = self.sleeps.iter().position(|s| s.tid == tid);
        let kept = at.map(|i| self.sleeps.swap_remove(i));
        if self.family_size() <= 1 && !shared {
            return Ok(Outcome::SleepUntil(time::instant_of(deadline)?));
        }
        let due = match kept {
            Some(s) if s.call == key => s.due,
            _ => time::instant_of(deadline)?,
        };
        if std::time::Instant::now() >= due {
            return Ok(Outcome::Done { ret: 0, out_len: 0 });
        }
        if self.sleeps.len() >= SLEEPS_KEPT {
            // A thread that ended while it slept leaves its entry: the one due first goes.
            if let Some(i) = (0..self.sleeps.len()).min_by_key(|&i| self.sleeps[i].due) {
                self.sleeps.swap_remove(i);
            }
        }
        self.sleeps.push(Sleep {
            tid,
            call: key,
            due,
        });
        Ok(Outcome::Retry)
    }

    /// The processes of this one's family that have not ended (itself included).
    fn family_size(&self) -> usize {
        self.family.load(Ordering::Relaxed)
    }
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

    /// A lone process's nanosleep and clock_nanosleep (relative and absolute) are done
    /// at once with their wake-up time ([`Outcome::SleepUntil`]), not slept.
    #[test]
    fn sleeps_return_their_wake_up_time() {
        use std::time::{Duration, Instant};
        let t = tempfile::tempdir().unwrap();
        let sb = fs::tests::default_sandbox(&t.path().canonicalize().unwrap());
        let mut p = ProcHost::new(sb, Source::Null, Sink::kept(), Sink::kept());
        let mut req = [0u8; 16];
        req[..8].copy_from_slice(&1i64.to_le_bytes()); // 1 s
        let ins: [&[u8]; 6] = [&req, &[], &[], &[], &[], &[]];
        let t0 = Instant::now();
        let Outcome::SleepUntil(w) = p.call(nr::NANOSLEEP, &[1, 0, 0, 0, 0, 0], &ins, &mut [])
        else {
            panic!("nanosleep: no wake-up time");
        };
        assert!(t0.elapsed() < Duration::from_millis(500));
        assert!(
            w >= t0 + Duration::from_millis(990) && w <= Instant::now() + Duration::from_secs(1)
        );
        // clock_nanosleep(CLOCK_MONOTONIC, 0 or TIMER_ABSTIME, req, NULL).
        let ins2: [&[u8]; 6] = [&[], &[], &req, &[], &[], &[]];
        let rel = p.call(nr::CLOCK_NANOSLEEP, &[1, 0, 1, 0, 0, 0], &ins2, &mut []);
        assert!(matches!(rel, Outcome::SleepUntil(w) if w > Instant::now()));
        // An absolute deadline in the past wakes at once.
        let abs = p.call(nr::CLOCK_NANOSLEEP, &[1, 1, 1, 0, 0, 0], &ins2, &mut []);
        assert!(matches!(abs, Outcome::SleepUntil(w) if w <= Instant::now()));
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
