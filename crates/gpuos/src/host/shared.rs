//! Host descriptors shared by every read-only open of the same file or directory, and
//! directory streams that hold no descriptor of their own.
//!
//! Why: every guest fd that holds a host fd counts against the one gpuos process's
//! open-file limit (20,000 on the device machine, a hard limit there). Copies of a
//! program run in step, so at 100,000 lanes `find` (a directory per level), `ls -l` (the
//! directory and /etc/passwd) or `paste a b` all hold some descriptors while each wants
//! one more, and none can go on. A file opened without writing is therefore opened once
//! per (device, inode, host open flags) for all lanes; each open file description keeps
//! its own offset in gpuos (reads are `pread`s at it), and a directory stream its own
//! position (each getdents64 reads through a descriptor held for that call only), so the
//! shared descriptor's own offset is never used. Opening still takes one host descriptor
//! for a moment (to learn the inode); it is closed at once when an equal one is already
//! shared.
//!
//! Sharing is sound because an inode that a live descriptor holds cannot be freed, so its
//! number cannot name another file while the shared descriptor exists; a dead entry is
//! replaced.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::errno::{self, Errno};
use super::sys;

/// (st_dev, st_ino, host open flags).
type Key = (u64, u64, i32);

/// The use clock of [`SharedFd::used`]: which shared descriptor was used least lately.
static USE_CLOCK: AtomicU64 = AtomicU64::new(0);

/// Descriptors parked now, in this process (so that a rename or unlink with none
/// parked costs nothing: [`SharedFds::unpark_under`]).
static PARKED: AtomicUsize = AtomicUsize::new(0);

/// A host descriptor shared by the read-only opens of one file or directory, or a
/// regular file's own (`private`: opened for writing, one open file description). When
/// the host runs out of descriptors, gpuos closes (parks) the ones idle longest
/// ([`SharedFds::park_idle`]); the next use reopens it by its guest path and checks that
/// the path still names the same file (device and inode). A private one keeps its file
/// offset and status flags across (they live in the host descriptor).
#[derive(Debug)]
pub(crate) struct SharedFd {
    fd: Mutex<Slot>,
    private: bool,
    key: Key,
    /// Canonical guest path it was opened by (reopened by it, through the sandbox).
    guest: PathBuf,
    /// Never parked again: a guest renamed or removed a name at or above `guest`, so the
    /// path may no longer lead to the file ([`SharedFds::unpark_under`]).
    pinned: AtomicBool,
    /// What reopens it (the sandbox whose table it is in).
    sb: Weak<dyn Reopen>,
    /// USE_CLOCK at the last use.
    used: AtomicU64,
}

#[derive(Debug, Default)]
struct Slot {
    fd: Option<Arc<OwnedFd>>,
    /// A parked private descriptor's file offset and status flags (F_GETFL).
    pos: i64,
    status: i32,
}

impl SharedFd {
    fn new(
        sb: Weak<dyn Reopen>,
        fd: OwnedFd,
        key: Key,
        guest: PathBuf,
        private: bool,
    ) -> Arc<Self> {
        Arc::new(SharedFd {
            fd: Mutex::new(Slot {
                fd: Some(Arc::new(fd)),
                ..Slot::default()
            }),
            private,
            key,
            guest,
            pinned: AtomicBool::new(false),
            sb,
            used: AtomicU64::new(USE_CLOCK.fetch_add(1, Ordering::Relaxed)),
        })
    }

    /// The open host descriptor, reopened if it was parked. Hold the `Arc` while the
    /// raw descriptor is in use: a parked descriptor closes when its last `Arc` goes.
    /// Errors: the host's (EMFILE...) and ESTALE when the guest path no longer names
    /// the file (renamed or removed while parked, by something other than the guests,
    /// whose renames and unlinks reopen first: [`SharedFds::unpark_under`]).
    pub(crate) fn get(&self) -> Result<Arc<OwnedFd>, Errno> {
        self.used
            .store(USE_CLOCK.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        let mut g = self.fd.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(fd) = g.fd.as_ref() {
            return Ok(Arc::clone(fd));
        }
        let fd = self.reopen()?;
        if self.private {
            let raw = fd.as_raw_fd();
            sys::fcntl(raw, libc::F_SETFL, g.status as i64)?;
            sys::lseek(raw, g.pos, libc::SEEK_SET)?;
        }
        let fd = Arc::new(fd);
        g.fd = Some(Arc::clone(&fd));
        PARKED.fetch_sub(1, Ordering::Relaxed);
        Ok(fd)
    }

    /// Whether `st` is this file.
    fn is(&self, st: &libc::stat) -> bool {
        (st.st_dev, st.st_ino) == (self.key.0, self.key.1)
    }

    fn reopen(&self) -> Result<OwnedFd, Errno> {
        let sb = self.sb.upgrade().ok_or(errno::ESTALE)?;
        // Reopened, never created or truncated again.
        let flags = self.key.2 & !(libc::O_CREAT | libc::O_EXCL | libc::O_TRUNC);
        let fd = sb.reopen(&self.guest, flags, &|st| self.is(st))?;
        if !self.is(&sys::fstat(fd.as_raw_fd())?) {
            return Err(errno::ESTALE);
        }
        Ok(fd)
    }

    /// Close the descriptor if it is open and not in use; whether it was. One that
    /// its guest path may no longer name (renamed, or unlinked) stays open: it could
    /// not be reopened.
    fn park(&self) -> bool {
        if self.pinned.load(Ordering::Relaxed) {
            return false;
        }
        let Ok(mut g) = self.fd.try_lock() else {
            return false;
        };
        let Some(fd) = g.fd.as_ref().filter(|fd| Arc::strong_count(fd) == 1) else {
            return false;
        };
        let raw = fd.as_raw_fd();
        if self.private {
            // Its data would be lost with it if its last name is gone (removed by
            // something other than the guests, which pin what they remove).
            let (Ok(st), Ok(pos), Ok(status)) = (
                sys::fstat(raw),
                sys::lseek(raw, 0, libc::SEEK_CUR),
                sys::fcntl(raw, libc::F_GETFL, 0),
            ) else {
                return false;
            };
            if st.st_nlink == 0 {
                return false;
            }
            (g.pos, g.status) = (pos, status);
        }
        g.fd = None;
        PARKED.fetch_add(1, Ordering::Relaxed);
        true
    }
}

impl Drop for SharedFd {
    fn drop(&mut self) {
        let g = self.fd.get_mut().unwrap_or_else(|e| e.into_inner());
        if g.fd.is_none() {
            PARKED.fetch_sub(1, Ordering::Relaxed); // closed while parked
        }
    }
}

/// What reopens a parked descriptor by the guest path it was opened by: the sandbox
/// (host/fs.rs), which resolves guest paths; held weakly, so that a descriptor outliving
/// its sandbox fails with ESTALE.
pub(crate) trait Reopen: Send + Sync {
    /// Open `guest` (a canonical guest path) again with host open flags `flags`, if it
    /// still names a file that `is_same` accepts (by its stat). Errors: the host's;
    /// ESTALE when the path names another file or none.
    fn reopen(
        &self,
        guest: &Path,
        flags: i32,
        is_same: &dyn Fn(&libc::stat) -> bool,
    ) -> Result<OwnedFd, Errno>;
}

/// The shared descriptors of one sandbox (all lanes of a run).
#[derive(Debug, Default)]
pub(crate) struct SharedFds {
    map: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    fds: HashMap<Key, Weak<SharedFd>>,
    /// The private ones (not shared, so not in `fds`), for parking.
    private: Vec<Weak<SharedFd>>,
    /// Every one by the guest path it was opened by (the names below a directory sort
    /// right after it), for [`SharedFds::unpark_under`].
    by_path: BTreeMap<PathBuf, Vec<Weak<SharedFd>>>,
    /// See [`Table::prune`].
    prune_at: usize,
}

impl SharedFds {
    /// Register the host descriptor `fd` of a file opened by the guest path `guest` with
    /// host flags `hflags`, for parking. Shared (`private` false): the one of an equal
    /// open already registered is returned instead (and `fd` is closed now). Private: a
    /// regular file's own, opened for writing. `sb` is the sandbox this table belongs
    /// to, for reopening by path.
    pub(crate) fn register(
        &self,
        sb: &Arc<impl Reopen + 'static>,
        (fd, st): (OwnedFd, &libc::stat),
        hflags: i32,
        guest: PathBuf,
        private: bool,
    ) -> Arc<SharedFd> {
        let key = (st.st_dev, st.st_ino, hflags);
        let mut t = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if !private {
            if let Some(live) = t.fds.get(&key).and_then(Weak::upgrade) {
                return live;
            }
        }
        let sb: Weak<dyn Reopen> = Arc::downgrade(sb) as Weak<_>;
        let new = SharedFd::new(sb, fd, key, guest, private);
        if private {
            t.private.push(Arc::downgrade(&new));
        } else {
            t.fds.insert(key, Arc::downgrade(&new));
        }
        t.index(&new);
        t.prune();
        new
    }

    /// The host is out of descriptors: close the shared ones idle longest (an eighth of
    /// those open, at least 16), skipping any in use. Returns how many were closed.
    pub(crate) fn park_idle(&self) -> usize {
        let mut open: Vec<(u64, Arc<SharedFd>)> = {
            let t = self.map.lock().unwrap_or_else(|e| e.into_inner());
            t.fds
                .values()
                .chain(&t.private)
                .filter_map(Weak::upgrade)
                .map(|s| (s.used.load(Ordering::Relaxed), s))
                .collect()
        };
        open.sort_unstable_by_key(|(used, _)| *used);
        let want = (open.len() / 8).max(16);
        let mut parked = 0;
        for (_, s) in &open {
            if parked == want {
                break;
            }
            parked += s.park() as usize;
        }
        parked
    }

    /// Before the name `path` (and what is below it) is renamed, replaced or removed by
    /// a guest: the descriptors opened by such a path are pinned (never parked again:
    /// the path may not lead to their files any more), and the parked ones among them
    /// reopened while it still does. A lookup in the path index, so cheap.
    pub(crate) fn unpark_under(&self, path: &Path) {
        let under: Vec<Arc<SharedFd>> = {
            let t = self.map.lock().unwrap_or_else(|e| e.into_inner());
            t.by_path
                .range(path.to_path_buf()..)
                .take_while(|(p, _)| p.starts_with(path))
                .flat_map(|(_, v)| v.iter().filter_map(Weak::upgrade))
                .collect()
        };
        for s in under {
            s.pinned.store(true, Ordering::Relaxed);
            if PARKED.load(Ordering::Relaxed) > 0 {
                let _ = s.get();
            }
        }
    }

    /// How many shared descriptors are open.
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        let t = self.map.lock().unwrap_or_else(|e| e.into_inner());
        t.fds
            .values()
            .chain(&t.private)
            .filter_map(Weak::upgrade)
            .filter(|s| s.fd.lock().is_ok_and(|g| g.fd.is_some()))
            .count()
    }
}

impl Table {
    fn index(&mut self, s: &Arc<SharedFd>) {
        let at = self.by_path.entry(s.guest.clone()).or_default();
        at.retain(|w| w.strong_count() > 0);
        at.push(Arc::downgrade(s));
    }

    /// Drop dead entries when the table has grown past `prune_at` (then twice the live
    /// count), so the sweep costs O(1) per insert on average.
    fn prune(&mut self) {
        if self.fds.len() + self.private.len() > self.prune_at {
            self.fds.retain(|_, w| w.strong_count() > 0);
            self.private.retain(|w| w.strong_count() > 0);
            self.by_path.retain(|_, v| {
                v.retain(|w| w.strong_count() > 0);
                !v.is_empty()
            });
            self.prune_at = (2 * (self.fds.len() + self.private.len())).max(64);
        }
    }
}

/// Offset arithmetic of lseek(2) on a description whose offset gpuos keeps: `cur` the
/// offset now, `size` the file's size (for SEEK_END). SEEK_DATA and SEEK_HOLE are asked
/// of the host fd (its own offset moves, but nothing reads it). Errors: EINVAL (unknown
/// whence, a negative result), EOVERFLOW, ENXIO (SEEK_DATA/SEEK_HOLE past the end).
pub(crate) fn seek(fd: &OwnedFd, cur: u64, off: i64, whence: i32) -> Result<u64, Errno> {
    let base = match whence {
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => cur as i64,
        libc::SEEK_END => sys::fstat(fd.as_raw_fd())?.st_size,
        libc::SEEK_DATA | libc::SEEK_HOLE => {
            return sys::lseek(fd.as_raw_fd(), off, whence).map(|p| p as u64)
        }
        _ => return Err(errno::EINVAL),
    };
    let to = base.checked_add(off).ok_or(errno::EOVERFLOW)?;
    u64::try_from(to).map_err(|_| errno::EINVAL)
}

/// A directory stream's position, kept per open file description. Each getdents64 or
/// lseek opens the directory afresh (a descriptor held only for the call), moves it to
/// the position and asks the host, so the host's own rules answer (d_off cookies, EINVAL
/// for a bad offset) and nothing is held between calls: a listing held per description
/// would cost 100,000 lanes, each holding its directory streams at once, the whole
/// directory each.
#[derive(Debug, Default)]
pub(crate) struct DirStream {
    /// The directory offset: 0 at the start, then the host's (a d_off cookie).
    pos: i64,
}

/// A descriptor of the directory `dir` is open on, of its own (the shared one's offset
/// belongs to no one), through the magic link: no search permission is needed on the
/// directory, as for getdents64 on the guest's own descriptor.
pub(crate) fn reopen_dir(dir: &impl AsRawFd) -> Result<OwnedFd, Errno> {
    let p = std::ffi::CString::new(format!("/proc/self/fd/{}", dir.as_raw_fd()))
        .map_err(|_| errno::EBADF)?;
    sys::openat(
        libc::AT_FDCWD,
        &p,
        libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )
}

impl DirStream {
    /// The directory offset (telldir's answer; where a read of the directory is).
    pub(crate) fn pos(&self) -> i64 {
        self.pos
    }

    /// getdents64(2) into `buf` from the position: the host's records (`struct
    /// linux_dirent64`, the same layout on AArch64 and x86-64) and errors (EINVAL: the
    /// next record does not fit).
    pub(crate) fn getdents(&mut self, dir: &OwnedFd, buf: &mut [u8]) -> Result<usize, Errno> {
        let own = reopen_dir(dir)?;
        if self.pos != 0 {
            sys::lseek(own.as_raw_fd(), self.pos, libc::SEEK_SET)?;
        }
        let n = sys::getdents64(own.as_raw_fd(), buf)?;
        self.pos = sys::lseek(own.as_raw_fd(), 0, libc::SEEK_CUR)?;
        Ok(n)
    }

    /// lseek(2) on the directory, answered by the host from the position.
    pub(crate) fn seek(&mut self, dir: &OwnedFd, off: i64, whence: i32) -> Result<i64, Errno> {
        let own = reopen_dir(dir)?;
        if whence == libc::SEEK_CUR && self.pos != 0 {
            sys::lseek(own.as_raw_fd(), self.pos, libc::SEEK_SET)?;
        }
        self.pos = sys::lseek(own.as_raw_fd(), off, whence)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn open_dir(p: &std::path::Path) -> OwnedFd {
        std::fs::File::open(p).unwrap().into()
    }

    fn reclen(r: &[u8], at: usize) -> usize {
        u16::from_le_bytes([r[at + 16], r[at + 17]]) as usize
    }

    fn names(b: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < b.len() {
            let len = reclen(b, at);
            let name = &b[at + 19..at + len];
            let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
            out.push(String::from_utf8_lossy(&name[..end]).into_owned());
            at += len;
        }
        out
    }

    #[test]
    fn one_descriptor_per_file_and_flags() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().canonicalize().unwrap();
        let p = dir.join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        let sb = crate::host::fs::tests::default_sandbox(&dir);
        let s = sb.shared_fds();
        let share = |hflags: i32| {
            let f: OwnedFd = std::fs::File::open(&p).unwrap().into();
            let st = sys::fstat(f.as_raw_fd()).unwrap();
            s.register(&sb, (f, &st), hflags, p.clone(), false)
        };
        let (a, b) = (share(libc::O_RDONLY), share(libc::O_RDONLY));
        assert!(Arc::ptr_eq(&a, &b));
        let c = share(libc::O_RDONLY | libc::O_NOATIME);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(s.live(), 2);
        drop((a, b, c));
        assert_eq!(s.live(), 0);
        let d = share(libc::O_RDONLY).get().unwrap();
        assert_eq!(seek(&d, 4, 2, libc::SEEK_CUR), Ok(6));
        assert_eq!(seek(&d, 4, -3, libc::SEEK_END), Ok(7));
        assert_eq!(seek(&d, 4, -5, libc::SEEK_CUR), Err(errno::EINVAL));
        assert_eq!(seek(&d, 0, 1, 9), Err(errno::EINVAL));
    }

    #[test]
    fn idle_descriptors_park_and_reopen_by_path() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().canonicalize().unwrap();
        let sb = crate::host::fs::tests::default_sandbox(&dir);
        let s = sb.shared_fds();
        let open = |name: &str| {
            let p = dir.join(name);
            std::fs::write(&p, name).unwrap();
            let f: OwnedFd = std::fs::File::open(&p).unwrap().into();
            let st = sys::fstat(f.as_raw_fd()).unwrap();
            s.register(&sb, (f, &st), libc::O_RDONLY | libc::O_CLOEXEC, p, false)
        };
        let files: Vec<Arc<SharedFd>> = (0..20).map(|i| open(&format!("f{i}"))).collect();
        // The one in use stays open; the others idle longest go first.
        let busy = files[0].get().unwrap();
        files[19].get().unwrap();
        assert_eq!(s.park_idle(), 16);
        assert_eq!(s.live(), 4);
        assert!(files[0].fd.lock().unwrap().fd.is_some());
        assert!(files[19].fd.lock().unwrap().fd.is_some());
        drop(busy);
        // A parked one reopens on use: the same file.
        let mut buf = [0u8; 8];
        let n = sys::pread(files[5].get().unwrap().as_raw_fd(), &mut buf, 0).unwrap();
        assert_eq!(&buf[..n], b"f5");
        // Renamed while parked: the path no longer names it.
        assert_eq!(s.park_idle(), 5);
        std::fs::rename(dir.join("f7"), dir.join("moved")).unwrap();
        assert_eq!(files[7].get().unwrap_err(), errno::ESTALE);
        std::fs::write(dir.join("f7"), b"another").unwrap();
        assert_eq!(files[7].get().unwrap_err(), errno::ESTALE);
    }

    #[test]
    fn a_private_descriptor_keeps_its_offset_and_flags_across_parking() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().canonicalize().unwrap();
        let sb = crate::host::fs::tests::default_sandbox(&dir);
        let s = sb.shared_fds();
        let p = dir.join("out");
        let hflags = libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC | libc::O_CLOEXEC;
        let fd = sys::openat(libc::AT_FDCWD, &c_path(&p), hflags, 0o644).unwrap();
        let st = sys::fstat(fd.as_raw_fd()).unwrap();
        let f = s.register(&sb, (fd, &st), hflags, p.clone(), true);
        let write = |b: &[u8]| sys::write(f.get().unwrap().as_raw_fd(), b).unwrap();
        write(b"abc");
        sys::fcntl(
            f.get().unwrap().as_raw_fd(),
            libc::F_SETFL,
            libc::O_APPEND as i64,
        )
        .unwrap();
        assert_eq!(s.park_idle(), 1);
        // Reopened without O_TRUNC, at the same offset, with O_APPEND still set.
        let fl = sys::fcntl(f.get().unwrap().as_raw_fd(), libc::F_GETFL, 0).unwrap();
        assert_ne!(fl & libc::O_APPEND, 0);
        write(b"def");
        assert_eq!(std::fs::read(&p).unwrap(), b"abcdef");
        // Unlinked: it could not be reopened, so it is not parked.
        std::fs::remove_file(&p).unwrap();
        assert_eq!(s.park_idle(), 0);
        write(b"g");
    }

    fn c_path(p: &Path) -> std::ffi::CString {
        std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap()
    }

    /// The records from the position to the end, 200 bytes per getdents64, with the
    /// position after each call pushed to `cookies`.
    fn to_end(l: &mut DirStream, d: &OwnedFd, cookies: &mut Vec<i64>) -> Vec<u8> {
        let mut all = Vec::new();
        let mut buf = [0u8; 200];
        loop {
            let n = l.getdents(d, &mut buf).unwrap();
            if n == 0 {
                return all;
            }
            all.extend_from_slice(&buf[..n]);
            cookies.push(l.seek(d, 0, libc::SEEK_CUR).unwrap());
        }
    }

    #[test]
    fn listing_in_pieces_rewind_and_seekdir() {
        let t = tempfile::tempdir().unwrap();
        for i in 0..40 {
            std::fs::write(t.path().join(format!("entry-with-a-long-name-{i:02}")), b"").unwrap();
        }
        let d = open_dir(t.path());
        let mut l = DirStream::default();
        let mut buf = [0u8; 200];
        let mut cookies = Vec::new();
        let all = to_end(&mut l, &d, &mut cookies);
        let mut got = names(&all);
        got.sort();
        assert_eq!(got.len(), 42);
        assert_eq!(got[0], ".");
        assert_eq!(got[1], "..");
        assert_eq!(got[2], "entry-with-a-long-name-00");
        // Too small for one record.
        l.seek(&d, 0, libc::SEEK_SET).unwrap();
        assert_eq!(l.getdents(&d, &mut buf[..10]), Err(errno::EINVAL));
        // seekdir to where the first call ended gives what the second call gave.
        let n1 = l.getdents(&d, &mut buf).unwrap();
        let n2 = l.getdents(&d, &mut buf).unwrap();
        let second = buf[..n2].to_vec();
        assert_eq!(l.seek(&d, cookies[0], libc::SEEK_SET), Ok(cookies[0]));
        assert_eq!(l.getdents(&d, &mut buf).unwrap(), n2);
        assert_eq!(&buf[..n2], &second[..]);
        assert!(n1 > 0);
        // rewinddir sees an entry made after the first listing.
        std::fs::write(t.path().join("late"), b"").unwrap();
        l.seek(&d, 0, libc::SEEK_SET).unwrap();
        let again = to_end(&mut l, &d, &mut Vec::new());
        assert!(names(&again).iter().any(|n| n == "late"));
        assert_eq!(l.seek(&d, -5, libc::SEEK_SET), Err(errno::EINVAL));
    }
}
