//! A process's fd table: fd numbers -> shared open file descriptions.
//!
//! Like Linux, `dup` makes a second fd for the *same* open file description (sharing the
//! offset and the status flags); `FD_CLOEXEC` belongs to the fd. Descriptions are
//! reference counted (`Arc`) across every process's table, as fork(2) shares them, and
//! dropped (closing the host fd: pipe readers then see EOF) with their last fd.

use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use super::errno::{self, Errno};
use super::pipe::PipeEnd;
use super::shared::{DirStream, SharedFd};
use super::stdio::{SinkState, SourceState};

/// The most fds a guest process may hold (its RLIMIT_NOFILE).
pub(crate) const MAX_FDS: usize = 1024;

/// A host file or directory opened by the guest.
#[derive(Debug)]
pub(crate) struct HostFile {
    /// The host descriptor: the description's own, or one shared with every read-only
    /// open of the same file (host/shared.rs); use [`HostFile::fd`].
    pub hfd: HostFd,
    /// Canonical guest path it was opened by (for `*at` calls and `fchdir`).
    pub guest: PathBuf,
    /// The mount it lives in (None: reopened through /proc/self/fd of a stream).
    pub mount: Option<usize>,
    pub is_dir: bool,
    /// Some: `fd` is shared, and this is the description's file offset, kept here
    /// (reads are preads at it); the guest's status flags are then in
    /// `OpenFile::flags`. None: the host fd's own offset and flags are the guest's.
    pub off: Option<u64>,
    /// A directory stream's position (host/shared.rs): getdents64 and lseek reopen the
    /// directory for the call.
    pub dir: Option<DirStream>,
}

impl HostFile {
    /// Whether it is a regular file or a directory (which poll(2) always finds ready,
    /// so epoll_ctl(2) refuses them with EPERM).
    pub(crate) fn is_regular_or_dir(&self) -> Result<bool, Errno> {
        if self.is_dir {
            return Ok(true);
        }
        let st = super::sys::fstat(self.fd()?.as_raw_fd())?;
        Ok(st.st_mode & libc::S_IFMT == libc::S_IFREG)
    }
}

/// A host file's descriptor.
#[derive(Debug)]
pub(crate) enum HostFd {
    /// The description's own.
    Own(Arc<OwnedFd>),
    /// Shared by the read-only opens of the file; closed while idle when the host runs
    /// short, and reopened on use.
    Shared(Arc<SharedFd>),
    /// The description's own (a regular file opened for writing), parked and reopened
    /// likewise, its offset and status flags kept across.
    Private(Arc<SharedFd>),
}

impl HostFile {
    /// A host file: a shared descriptor keeps the offset here, `path_only` is an
    /// O_PATH open (no offset, no listing: the host fd's own EBADF answers reads, seeks
    /// and getdents64).
    pub(crate) fn new(
        hfd: HostFd,
        guest: PathBuf,
        mount: Option<usize>,
        is_dir: bool,
        path_only: bool,
    ) -> Self {
        let shared = matches!(hfd, HostFd::Shared(_));
        HostFile {
            hfd,
            guest,
            mount,
            is_dir,
            off: (shared && !path_only).then_some(0),
            dir: (is_dir && !path_only).then(DirStream::default),
        }
    }

    /// The open host descriptor (a parked shared one is reopened). Keep the `Arc` while
    /// its raw fd is in use. Errors: see [`SharedFd::get`].
    pub(crate) fn fd(&self) -> Result<Arc<OwnedFd>, Errno> {
        self.hfd.get()
    }
}

impl HostFd {
    /// The open host descriptor; see [`HostFile::fd`].
    pub(crate) fn get(&self) -> Result<Arc<OwnedFd>, Errno> {
        match self {
            HostFd::Own(fd) => Ok(Arc::clone(fd)),
            HostFd::Shared(s) | HostFd::Private(s) => s.get(),
        }
    }
}

/// A host descriptor in use: held open (a file's) or borrowed (a stream's).
pub(crate) enum FdRef {
    Held(Arc<OwnedFd>),
    Raw(RawFd),
}

impl FdRef {
    pub(crate) fn raw(&self) -> RawFd {
        match self {
            FdRef::Held(fd) => fd.as_raw_fd(),
            FdRef::Raw(fd) => *fd,
        }
    }
}

/// What an open file description refers to.
#[derive(Debug)]
pub(crate) enum FileKind {
    Host(HostFile),
    /// An end of a pipe kept in gpuos's memory (host/pipe.rs).
    Pipe(PipeEnd),
    Source(SourceState),
    Sink(SinkState),
    /// An epoll instance's interest list (host/epoll.rs).
    Epoll(super::epoll::EpollRef),
    /// One end of a socketpair(2) (host/pipe.rs, host/sock.rs).
    Sock(super::pipe::SockEnd),
    /// An eventfd(2) counter (host/pipe.rs).
    Event(super::pipe::EventCounter),
    /// One end of a pipe the device keeps (kernel/sys/dpipe.h): its bytes are there,
    /// the device serves its reads and writes; the host answers what needs none (fstat,
    /// fcntl's flags, ESPIPE, ENOTTY) until the pipe is handed back (host/noted.rs).
    DevPipe(super::noted::DevPipeEnd),
}

/// An open file description.
#[derive(Debug)]
pub(crate) struct OpenFile {
    pub kind: FileKind,
    /// Guest status flags (access mode, O_APPEND, O_NONBLOCK...) for the streams and
    /// pipes, whose host fds are not the guest's to change (or who have none), and for
    /// host files on a shared descriptor.
    pub flags: u32,
}

impl OpenFile {
    /// The host fd behind it, if any (kept open while the `FdRef` lives). Errors: a
    /// parked shared descriptor that cannot be reopened ([`SharedFd::get`]).
    pub(crate) fn host_fd(&self) -> Result<Option<FdRef>, Errno> {
        Ok(match &self.kind {
            FileKind::Host(h) => Some(FdRef::Held(h.fd()?)),
            FileKind::Pipe(_)
            | FileKind::Epoll(_)
            | FileKind::Sock(_)
            | FileKind::Event(_)
            | FileKind::DevPipe(_) => None,
            FileKind::Source(s) => s.host_fd().map(FdRef::Raw),
            FileKind::Sink(s) => s.host_fd().map(FdRef::Raw),
        })
    }
}

/// An open file description, shared by every fd (of any process) that refers to it:
/// dup'd fds and, after fork, the parent's and the child's fds. The host fd behind it
/// closes when the last reference goes.
pub(crate) type Desc = Arc<Mutex<OpenFile>>;

/// Lock a description (a panic while it was held does not make it unusable).
pub(crate) fn lock(d: &Desc) -> MutexGuard<'_, OpenFile> {
    d.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Debug)]
struct Slot {
    ofd: Desc,
    cloexec: bool,
}

/// The fd table.
#[derive(Debug, Default)]
pub(crate) struct FdTable {
    slots: Vec<Option<Slot>>,
}

fn idx(fd: i32) -> Result<usize, Errno> {
    usize::try_from(fd)
        .ok()
        .filter(|&f| f < MAX_FDS)
        .ok_or(errno::EBADF)
}

/// The description if this was its last reference (for a final flush).
fn last(d: Desc) -> Option<Desc> {
    (Arc::strong_count(&d) == 1).then_some(d)
}

impl FdTable {
    pub(crate) fn new() -> FdTable {
        FdTable::default()
    }

    fn slot(&self, fd: i32) -> Result<&Slot, Errno> {
        self.slots
            .get(idx(fd)?)
            .and_then(Option::as_ref)
            .ok_or(errno::EBADF)
    }

    fn lowest_free(&self, min: usize) -> Result<usize, Errno> {
        (min..MAX_FDS)
            .find(|&i| !matches!(self.slots.get(i), Some(Some(_))))
            .ok_or(errno::EMFILE)
    }

    fn put(&mut self, i: usize, slot: Slot) {
        if self.slots.len() <= i {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = Some(slot);
    }

    /// Install a new open file description at the lowest free fd >= `min`.
    pub(crate) fn install(&mut self, f: OpenFile, min: usize, cloexec: bool) -> Result<i32, Errno> {
        let i = self.lowest_free(min)?;
        self.put(
            i,
            Slot {
                ofd: Arc::new(Mutex::new(f)),
                cloexec,
            },
        );
        Ok(i as i32)
    }

    /// Install a new open file description at `fd` itself, which must be free (EBUSY
    /// otherwise; EBADF past the table's limit).
    pub(crate) fn install_at(&mut self, fd: i32, f: OpenFile, cloexec: bool) -> Result<(), Errno> {
        let i = idx(fd)?;
        if matches!(self.slots.get(i), Some(Some(_))) {
            return Err(errno::EBUSY);
        }
        self.put(
            i,
            Slot {
                ofd: Arc::new(Mutex::new(f)),
                cloexec,
            },
        );
        Ok(())
    }

    /// Which of fds 0-31 are open (bit n: fd n).
    pub(crate) fn low_map(&self) -> u32 {
        let n = self.slots.len().min(32);
        (0..n)
            .filter(|&i| self.slots[i].is_some())
            .fold(0, |m, i| m | 1 << i)
    }

    /// The open file description of `fd`, locked.
    pub(crate) fn get(&self, fd: i32) -> Result<MutexGuard<'_, OpenFile>, Errno> {
        Ok(lock(&self.slot(fd)?.ofd))
    }

    /// The open file description of `fd`, locked (for changes).
    pub(crate) fn get_mut(&mut self, fd: i32) -> Result<MutexGuard<'_, OpenFile>, Errno> {
        Ok(lock(&self.slot(fd)?.ofd))
    }

    /// The description of `fd` itself (to hold it while the table changes).
    pub(crate) fn desc(&self, fd: i32) -> Result<Desc, Errno> {
        Ok(self.slot(fd)?.ofd.clone())
    }

    /// Close `fd`; returns the description if this was its last fd anywhere.
    pub(crate) fn close(&mut self, fd: i32) -> Result<Option<Desc>, Errno> {
        self.slot(fd)?;
        let s = self.slots[fd as usize].take().ok_or(errno::EBADF)?;
        Ok(last(s.ofd))
    }

    /// dup / F_DUPFD: a new fd >= `min` for the same description.
    pub(crate) fn dup(&mut self, fd: i32, min: usize, cloexec: bool) -> Result<i32, Errno> {
        let ofd = self.slot(fd)?.ofd.clone();
        if min >= MAX_FDS {
            return Err(errno::EINVAL);
        }
        let i = self.lowest_free(min)?;
        self.put(i, Slot { ofd, cloexec });
        Ok(i as i32)
    }

    /// dup2/dup3: make `new` refer to `old`'s description, closing `new` first. Returns the
    /// description `new` dropped, if it was its last fd.
    pub(crate) fn dup_to(
        &mut self,
        old: i32,
        new: i32,
        cloexec: bool,
    ) -> Result<Option<Desc>, Errno> {
        let ofd = self.slot(old)?.ofd.clone();
        let n = idx(new)?;
        let dropped = if self.slot(new).is_ok() {
            self.close(new)?
        } else {
            None
        };
        self.put(n, Slot { ofd, cloexec });
        Ok(dropped)
    }

    /// FD_CLOEXEC of `fd`.
    pub(crate) fn cloexec(&self, fd: i32) -> Result<bool, Errno> {
        Ok(self.slot(fd)?.cloexec)
    }

    /// Set FD_CLOEXEC of `fd`.
    pub(crate) fn set_cloexec(&mut self, fd: i32, on: bool) -> Result<(), Errno> {
        let i = idx(fd)?;
        match self.slots.get_mut(i) {
            Some(Some(s)) => {
                s.cloexec = on;
                Ok(())
            }
            _ => Err(errno::EBADF),
        }
    }

    /// Close every fd; returns the descriptions that were dropped for good.
    pub(crate) fn close_all(&mut self) -> Vec<Desc> {
        let all: Vec<Desc> = self.slots.drain(..).flatten().map(|s| s.ofd).collect();
        // A description held by several fds of this table is last once they are all gone.
        let mut out: Vec<Desc> = Vec::new();
        for d in all {
            if !out.iter().any(|o| Arc::ptr_eq(o, &d)) {
                out.push(d);
            }
        }
        out.into_iter()
            .filter(|d| Arc::strong_count(d) == 1)
            .collect()
    }

    /// execve(2): close every fd marked close-on-exec; returns the descriptions dropped
    /// for good.
    pub(crate) fn close_on_exec(&mut self) -> Vec<Desc> {
        let mut out = Vec::new();
        for s in self.slots.iter_mut() {
            if s.as_ref().is_some_and(|s| s.cloexec) {
                if let Some(d) = s.take().and_then(|s| last(s.ofd)) {
                    out.push(d);
                }
            }
        }
        out
    }

    /// fork(2): the child's table, every fd sharing the parent's description.
    pub(crate) fn fork(&self) -> FdTable {
        FdTable {
            slots: self.slots.clone(),
        }
    }

    /// Every open fd (ascending).
    #[allow(dead_code)]
    pub(crate) fn open_fds(&self) -> Vec<i32> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_some())
            .map(|(i, _)| i as i32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::host::stdio::Source;

    fn bytes(b: &[u8]) -> OpenFile {
        OpenFile {
            kind: FileKind::Source(SourceState::new(Source::Bytes(Arc::new(b.to_vec())))),
            flags: 0,
        }
    }

    fn read(t: &mut FdTable, fd: i32, n: usize) -> Vec<u8> {
        let mut buf = vec![0; n];
        let mut g = t.get_mut(fd).unwrap();
        let FileKind::Source(s) = &mut g.kind else {
            panic!()
        };
        let k = s.read(&mut buf).unwrap();
        buf.truncate(k);
        buf
    }

    /// What the device picks a noted open's number from (`SysReq::fd_low`), and the
    /// placement at that number (host/noted.rs).
    #[test]
    fn low_map_and_install_at() {
        let mut t = FdTable::new();
        assert_eq!(t.low_map(), 0);
        for _ in 0..3 {
            t.install(bytes(b"x"), 0, false).unwrap();
        }
        assert_eq!(t.dup(0, 40, false), Ok(40));
        t.close(1).unwrap();
        assert_eq!(t.low_map(), 0b101);
        assert_eq!(t.install_at(1, bytes(b"y"), true), Ok(()));
        assert_eq!(t.install_at(2, bytes(b"z"), false), Err(errno::EBUSY));
        assert_eq!(
            t.install_at(MAX_FDS as i32, bytes(b"z"), false),
            Err(errno::EBADF)
        );
        assert_eq!((t.low_map(), t.cloexec(1)), (0b111, Ok(true)));
        assert_eq!(read(&mut t, 1, 4), b"y");
        assert_eq!(t.install_at(31, bytes(b"w"), false), Ok(()));
        assert_eq!(t.low_map(), 0x8000_0007);
    }

    #[test]
    fn install_dup_close() {
        let mut t = FdTable::new();
        assert_eq!(t.install(bytes(b"abcdef"), 0, false), Ok(0));
        assert_eq!(t.install(bytes(b"xyz"), 0, true), Ok(1));
        assert_eq!(t.dup(0, 0, false), Ok(2));
        assert_eq!(t.dup(0, 10, true), Ok(10));
        assert_eq!(t.cloexec(10), Ok(true));
        assert_eq!(t.cloexec(1), Ok(true));
        // Dups share the offset.
        assert_eq!(read(&mut t, 0, 2), b"ab");
        assert_eq!(read(&mut t, 2, 2), b"cd");
        assert_eq!(read(&mut t, 10, 9), b"ef");
        // Closing one keeps the others.
        assert!(t.close(0).unwrap().is_none());
        assert!(t.close(2).unwrap().is_none());
        assert_eq!(t.close(2).unwrap_err(), errno::EBADF);
        assert!(t.close(10).unwrap().is_some());
        assert_eq!(t.get(10).unwrap_err(), errno::EBADF);
        // Lowest free fd is reused.
        assert_eq!(t.install(bytes(b""), 0, false), Ok(0));
        assert_eq!(t.get(-1).unwrap_err(), errno::EBADF);
        assert_eq!(t.get(1 << 20).unwrap_err(), errno::EBADF);
        assert_eq!(t.dup(1, MAX_FDS, false).unwrap_err(), errno::EINVAL);
        assert_eq!(t.dup(5, 0, false).unwrap_err(), errno::EBADF);
    }

    #[test]
    fn dup_to_replaces() {
        let mut t = FdTable::new();
        t.install(bytes(b"111"), 0, false).unwrap();
        t.install(bytes(b"222"), 0, false).unwrap();
        let dropped = t.dup_to(0, 1, true).unwrap();
        assert!(dropped.is_some());
        assert_eq!(read(&mut t, 1, 1), b"1");
        assert_eq!(read(&mut t, 0, 5), b"11");
        assert_eq!(t.cloexec(1), Ok(true));
        assert!(t.dup_to(0, 7, false).unwrap().is_none());
        assert_eq!(t.open_fds(), vec![0, 1, 7]);
        assert_eq!(
            t.dup_to(0, MAX_FDS as i32, false).unwrap_err(),
            errno::EBADF
        );
        assert_eq!(t.close_all().len(), 1);
        assert!(t.open_fds().is_empty());
    }

    #[test]
    fn table_fills_up() {
        let mut t = FdTable::new();
        t.install(bytes(b""), 0, false).unwrap();
        for _ in 1..MAX_FDS {
            t.dup(0, 0, false).unwrap();
        }
        assert_eq!(t.dup(0, 0, false).unwrap_err(), errno::EMFILE);
    }
}
