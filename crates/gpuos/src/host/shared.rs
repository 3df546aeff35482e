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

use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::{Arc, Mutex, Weak};

use super::errno::{self, Errno};
use super::sys;

/// (st_dev, st_ino, host open flags).
type Key = (u64, u64, i32);

/// The shared descriptors of one sandbox (all lanes of a run).
#[derive(Debug, Default)]
pub(crate) struct SharedFds {
    map: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    fds: HashMap<Key, Weak<OwnedFd>>,
    /// Prune dead entries when the table grows past this (twice the live count at the
    /// last prune), so the sweep costs O(1) per insert on average.
    prune_at: usize,
}

impl SharedFds {
    /// The shared descriptor of the file `fd` (opened with host flags `hflags`) is open
    /// on: an equal one already shared (then `fd` is closed now), or `fd` itself, now
    /// shared.
    pub(crate) fn share(&self, fd: OwnedFd, st: &libc::stat, hflags: i32) -> Arc<OwnedFd> {
        let key = (st.st_dev, st.st_ino, hflags);
        let mut t = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(live) = t.fds.get(&key).and_then(Weak::upgrade) {
            return live;
        }
        let fd = Arc::new(fd);
        t.fds.insert(key, Arc::downgrade(&fd));
        if t.fds.len() > t.prune_at {
            t.fds.retain(|_, w| w.strong_count() > 0);
            t.prune_at = (2 * t.fds.len()).max(64);
        }
        fd
    }

    /// How many shared descriptors are open.
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        let t = self.map.lock().unwrap_or_else(|e| e.into_inner());
        t.fds.values().filter(|w| w.strong_count() > 0).count()
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
fn reopen_dir(dir: &OwnedFd) -> Result<OwnedFd, Errno> {
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
        let p = t.path().join("f");
        std::fs::write(&p, b"0123456789").unwrap();
        let s = SharedFds::default();
        let open = || -> (OwnedFd, libc::stat) {
            let f: OwnedFd = std::fs::File::open(&p).unwrap().into();
            let st = sys::fstat(f.as_raw_fd()).unwrap();
            (f, st)
        };
        let (a, st) = open();
        let a = s.share(a, &st, libc::O_RDONLY);
        let (b, st) = open();
        let b = s.share(b, &st, libc::O_RDONLY);
        assert!(Arc::ptr_eq(&a, &b));
        let (c, st) = open();
        let c = s.share(c, &st, libc::O_RDONLY | libc::O_NOATIME);
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(s.live(), 2);
        drop((a, b, c));
        assert_eq!(s.live(), 0);
        let (d, st) = open();
        let d = s.share(d, &st, libc::O_RDONLY);
        assert_eq!(seek(&d, 4, 2, libc::SEEK_CUR), Ok(6));
        assert_eq!(seek(&d, 4, -3, libc::SEEK_END), Ok(7));
        assert_eq!(seek(&d, 4, -5, libc::SEEK_CUR), Err(errno::EINVAL));
        assert_eq!(seek(&d, 0, 1, 9), Err(errno::EINVAL));
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
