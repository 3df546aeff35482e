//! The host half of file mappings (mmap(2) with a file; the device half is
//! kernel/sys/mm_file.h): a mapped file's *identity*, by which the device's page cache
//! (kernel/mm/pcache.h) shares the file's pages among every process and lane that maps
//! it, and the page reads that fill the cache.
//!
//! An identity stands for one version of one file: the same device, inode, size and
//! modification time give the same id, in any lane, through any descriptor; a file
//! changed since (written, truncated) gets a new id, so no mapping made afterwards sees
//! the old pages. The registry keeps a host descriptor of each identity to read its pages
//! from (pread: no file offset is touched); ids are never reused within a run.

use super::errno::{self, Errno};
use super::fd::{FileKind, OpenFile};
use super::stat::Stat;
use super::{oflag, sys, Outcome, ProcHost, Ret};
use crate::abi::DEVREAD_RECORD_BYTES;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// mmap(2) flags and protections the host checks (asm-generic/mman-common.h).
const MAP_SHARED: u64 = 0x01;
const MAP_SHARED_VALIDATE: u64 = 0x03;
const PROT_WRITE: u64 = 0x2;

/// Page size of the guest (bytes).
const PAGE: u64 = 4096;

/// At most this many distinct file versions are mapped in one run (ids 1..=MAX_FILES);
/// more: ENFILE, as a system out of file structures.
const MAX_FILES: usize = 1 << 20;

/// A descriptor kept open to read a file's pages from (a guest file's host descriptor,
/// or the file the loader checked a program from).
type Held = Arc<dyn AsRawFd + Send + Sync>;

/// What identifies one version of a file.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    dev: u64,
    ino: u64,
    size: i64,
    mtime: (i64, u64),
}

impl Key {
    fn of(st: &libc::stat) -> Key {
        Key {
            dev: st.st_dev,
            ino: st.st_ino,
            size: st.st_size,
            mtime: (st.st_mtime, st.st_mtime_nsec as u64),
        }
    }
}

/// A file's shared identity: the one its MAP_SHARED mappings use.
struct Shared {
    id: u32,
    /// The file's version it stands for: the one it was made for, or the one gpuos's
    /// own last write-back left. Any other (the file written or truncated otherwise)
    /// gets a new shared identity, read afresh.
    key: Key,
    /// Its descriptor was open for writing (write-back needs one).
    writable: bool,
}

/// What /proc/PID/maps shows of a mapped file (proc(5)): its device, inode and the
/// guest path it was first mapped by (symlinks resolved, as Linux's d_path).
struct Named {
    dev: u64,
    ino: u64,
    path: PathBuf,
}

#[derive(Default)]
struct Inner {
    ids: HashMap<Key, u32>,
    /// Shared identities by (device, inode).
    shared: HashMap<(u64, u64), Shared>,
    /// Index id - 1: the descriptor pages are read from (and written back to).
    files: Vec<Held>,
    /// Index id - 1: the file's name in /proc/PID/maps.
    names: Vec<Named>,
    /// Directories' listings by identity (`MappedFiles::listing`).
    listings: HashMap<u32, Arc<Vec<u8>>>,
}

impl Inner {
    /// Register a new identity for the file `key` open on `fd`, mapped by `path`.
    fn add(&mut self, key: Key, fd: Held, path: &Path) -> Result<u32, Errno> {
        if self.files.len() >= MAX_FILES {
            return Err(errno::ENFILE);
        }
        self.files.push(fd);
        self.names.push(Named {
            dev: key.dev,
            ino: key.ino,
            path: path.to_path_buf(),
        });
        Ok(self.files.len() as u32)
    }
}

/// The registry of mapped file identities, one per run (shared by every lane's
/// processes through the sandbox).
#[derive(Default)]
pub(crate) struct MappedFiles {
    inner: Mutex<Inner>,
}

impl MappedFiles {
    /// The id of the file version `key`, registering it (keeping `fd`, named `path`)
    /// when new.
    fn identify(&self, key: Key, fd: Held, path: &Path) -> Result<u32, Errno> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&id) = g.ids.get(&key) {
            return Ok(id);
        }
        let id = g.add(key, fd, path)?;
        g.ids.insert(key, id);
        Ok(id)
    }

    /// The identity (a positive id) and size in bytes of the version of the file open
    /// on `fd` whose status is `st`, registering it when new; `path` is the guest path
    /// /proc/PID/maps names it by (the first one it was mapped by). ENFILE when a run
    /// has mapped too many.
    pub(crate) fn identify_file(
        &self,
        st: &libc::stat,
        fd: Held,
        path: &Path,
    ) -> Result<(u32, u64), Errno> {
        Ok((
            self.identify(Key::of(st), fd, path)?,
            st.st_size.max(0) as u64,
        ))
    }

    /// [`MappedFiles::identify_file`] of the file open on `fd`, its identity only (the
    /// image template's program and interpreter, kernel/sys/fmap.h).
    pub(crate) fn identify_open(&self, fd: Held, path: &Path) -> Result<u32, Errno> {
        let st = sys::fstat(fd.as_raw_fd())?;
        Ok(self.identify_file(&st, fd, path)?.0)
    }

    /// The tail of a /proc/PID/maps line of identity `id` (Linux's show_map_vma):
    /// "MAJ:MIN INODE", spaces to column 73 of the line begun with `line_len` bytes,
    /// and the path; None for an id never handed out.
    pub(crate) fn maps_tail(&self, id: u64, line_len: usize) -> Option<Vec<u8>> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let n = g.names.get(usize::try_from(id).ok()?.checked_sub(1)?)?;
        let (major, minor) = (libc::major(n.dev), libc::minor(n.dev));
        let mut t = format!("{major:02x}:{minor:02x} {} ", n.ino).into_bytes();
        let pad = 73usize.saturating_sub(line_len + t.len());
        t.extend(std::iter::repeat_n(b' ', pad));
        t.extend_from_slice(n.path.as_os_str().as_bytes());
        Some(t)
    }

    /// The shared identity (for MAP_SHARED) of the file open on `fd` whose status is
    /// `st`: the same for every shared mapping of the file while it changes only through
    /// gpuos's write-backs, so they all use one set of frames; a new one when the file
    /// changed otherwise (its pages are read afresh). `writable`: `fd` is open for
    /// writing, and becomes the identity's descriptor if its own is not.
    fn identify_shared(
        &self,
        st: &libc::stat,
        fd: Held,
        writable: bool,
        path: &Path,
    ) -> Result<u32, Errno> {
        let key = Key::of(st);
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let g = &mut *g;
        if let Some(s) = g.shared.get_mut(&(key.dev, key.ino)) {
            if s.key == key {
                if writable && !s.writable {
                    g.files[s.id as usize - 1] = fd;
                    s.writable = true;
                }
                return Ok(s.id);
            }
        }
        let id = g.add(key, fd, path)?;
        g.shared
            .insert((key.dev, key.ino), Shared { id, key, writable });
        Ok(id)
    }

    /// After a write-back to shared identity `id`: the file's version is now `st`, which
    /// the identity keeps standing for (later shared mappings share its frames).
    fn written(&self, id: u64, st: &libc::stat) {
        let key = Key::of(st);
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = g.shared.get_mut(&(key.dev, key.ino)) {
            if u64::from(s.id) == id {
                s.key = key;
            }
        }
    }

    /// The descriptor of identity `id`; EINVAL for an id never handed out.
    fn file(&self, id: u64) -> Result<Held, Errno> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let i = usize::try_from(id).ok().and_then(|i| i.checked_sub(1));
        i.and_then(|i| g.files.get(i)).cloned().ok_or(errno::EINVAL)
    }

    /// The listing of directory identity `id` open on `dir`: the records (`struct
    /// linux_dirent64`, the same layout on AArch64 and x86-64) the host's getdents64
    /// gives from the start of a description of its own, made once per identity (the
    /// device serves a directory's getdents64 from them: kernel/sys/devread.h). EFBIG
    /// past LISTING_MAX bytes; the host's errors.
    fn listing(&self, id: u32, dir: &impl AsRawFd) -> Result<Arc<Vec<u8>>, Errno> {
        if let Some(l) = self.listing_of(u64::from(id)) {
            return Ok(l);
        }
        let own = super::shared::reopen_dir(dir)?;
        let mut l = Vec::new();
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = sys::getdents64(own.as_raw_fd(), &mut buf)?;
            if n == 0 {
                break;
            }
            l.extend_from_slice(&buf[..n]);
            if l.len() > LISTING_MAX {
                return Err(errno::EFBIG);
            }
        }
        let l = Arc::new(l);
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Ok(Arc::clone(g.listings.entry(id).or_insert(l)))
    }

    /// The listing of directory identity `id`, if made.
    fn listing_of(&self, id: u64) -> Option<Arc<Vec<u8>>> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.listings.get(&u32::try_from(id).ok()?).cloned()
    }
}

/// The longest directory listing the device serves (kernel/sys/devread.h
/// DEVREAD_MAX_SIZE: what the page cache holds stays for the run).
const LISTING_MAX: usize = 4 << 20;

/// The guest's access mode (`O_RDONLY`, `O_WRONLY`, `O_RDWR`) of a host file
/// description: its own host flags for a private descriptor, the recorded guest flags
/// for a shared one (`shared`). EBADF for an O_PATH descriptor, as mmap(2) on Linux.
fn access_mode(f: &OpenFile, fd: &OwnedFd, shared: bool) -> Result<u32, Errno> {
    let host = sys::fcntl(fd.as_raw_fd(), libc::F_GETFL, 0)?;
    if host & libc::O_PATH != 0 {
        return Err(errno::EBADF);
    }
    let flags = if shared {
        f.flags
    } else {
        oflag::to_guest(host)
    };
    Ok(flags & oflag::O_ACCMODE)
}

impl ProcHost {
    /// The file half of mmap(2) (`gpuos_file_map`, posted by the device before it maps
    /// anything): check that the guest's `fd` may be mapped with `prot` and `flags` and
    /// return the file version's identity (a positive id) with its size in bytes (8
    /// bytes, little endian, in `out`). Errors as mmap(2): EBADF (not open, or an
    /// O_PATH descriptor), EACCES (not open for reading; MAP_SHARED with PROT_WRITE
    /// without O_RDWR), ENODEV (not a regular file: pipes, terminals, directories,
    /// gpuos's captured streams).
    pub(crate) fn sys_gpuos_file_map(
        &mut self,
        fd: i32,
        prot: u64,
        flags: u64,
        out: &mut [u8],
    ) -> Ret {
        let f = self.fds.get(fd)?;
        let FileKind::Host(h) = &f.kind else {
            return Err(errno::ENODEV);
        };
        let hfd = h.fd()?;
        let mode = access_mode(&f, &hfd, h.off.is_some())?;
        let st = sys::fstat(hfd.as_raw_fd())?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(errno::ENODEV);
        }
        if mode == oflag::O_WRONLY {
            return Err(errno::EACCES);
        }
        let shared = matches!(
            flags & MAP_SHARED_VALIDATE,
            MAP_SHARED | MAP_SHARED_VALIDATE
        );
        if shared && prot & PROT_WRITE != 0 && mode != oflag::O_RDWR {
            return Err(errno::EACCES);
        }
        let files = self.sb.mapped_files();
        let (id, size) = if shared {
            let id = files.identify_shared(&st, hfd.clone(), mode == oflag::O_RDWR, &h.guest)?;
            (id, st.st_size.max(0) as u64)
        } else {
            files.identify_file(&st, hfd.clone(), &h.guest)?
        };
        let size = size.to_le_bytes();
        let n = out.len().min(8);
        out[..n].copy_from_slice(&size[..n]);
        Ok((i64::from(id), n))
    }

    /// openat(2) as the guest's call (`openat`): a regular file (or a directory) of the
    /// read-only sysroot opened for reading only answers `Outcome::Lasting` with the
    /// descriptor and, in `out`, the record the device serves its reads, seeks and fstat from
    /// (`abi::DEVREAD_RECORD_BYTES`: identity, size, struct stat; kernel/sys/devread.h).
    /// Its host description's offset then stays 0 until the device hands its own back
    /// (`gpuos_fd_seek`). An ENOENT or ENOTDIR without O_CREAT that no process of the
    /// run can change (`Sandbox::lookup_lasts`) answers lasting with no output (the
    /// device's stat cache keeps it). Every other open, or one whose file cannot be
    /// identified, answers as `sys_openat`.
    pub(crate) fn sys_openat_devread(
        &mut self,
        dirfd: i32,
        path: &[u8],
        flags: u32,
        mode: u32,
        out: &mut [u8],
    ) -> Result<Outcome, Errno> {
        let ((fd, n), dev) = match self.openat_resolved(dirfd, path, flags, mode) {
            // A path no process of the run can make appear, opened without O_CREAT: the
            // device keeps its absence in the stat cache (kernel/sys/statcache.h).
            // (ENOTDIR from O_DIRECTORY on a file that is not one says nothing of the
            // path: only of this call.)
            Err(e)
                if (e == errno::ENOENT
                    || (e == errno::ENOTDIR && flags & oflag::O_DIRECTORY == 0))
                    && flags & oflag::O_CREAT == 0
                    && self.sb.lookup_lasts(path, flags & oflag::O_NOFOLLOW == 0) =>
            {
                return Ok(Outcome::Lasting {
                    ret: e.ret(),
                    out_len: 0,
                });
            }
            r => r?,
        };
        if dev && out.len() >= DEVREAD_RECORD_BYTES {
            if let Ok(len) = self.devread_record(fd as i32, path, flags, out) {
                return Ok(Outcome::Lasting {
                    ret: fd,
                    out_len: len,
                });
            }
        }
        Ok(Outcome::Done {
            ret: fd,
            out_len: n,
        })
    }

    /// The device's record of the regular file open on `fd` (see `sys_openat_devread`),
    /// into `out`; its length. `path` and `flags` are the open's: an absolute path gets
    /// an open token, by which the device may answer its later opens (host/noted.rs).
    fn devread_record(
        &self,
        fd: i32,
        path: &[u8],
        flags: u32,
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let f = self.fds.get(fd)?;
        let FileKind::Host(h) = &f.kind else {
            return Err(errno::ENODEV);
        };
        let hfd = h.fd()?;
        let st = sys::fstat(hfd.as_raw_fd())?;
        if !matches!(st.st_mode & libc::S_IFMT, libc::S_IFREG | libc::S_IFDIR) {
            return Err(errno::ENODEV);
        }
        let files = self.sb.mapped_files();
        let (id, mut size) = files.identify_file(&st, hfd.clone(), &h.guest)?;
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            // A directory's size is its listing's (0: too long, or the host could not
            // list it: its getdents64 stays the host's).
            size = files.listing(id, &*hfd).map_or(0, |l| l.len() as u64);
        }
        let token = match path.first() {
            Some(b'/') => self.sb.lasting_opens().token(path, flags, &f).unwrap_or(0),
            _ => 0,
        };
        out[..8].copy_from_slice(&(u64::from(id) | u64::from(token) << 32).to_le_bytes());
        out[8..16].copy_from_slice(&size.to_le_bytes());
        Ok(16 + Stat::from(&st).encode(&mut out[16..]))
    }

    /// Write back pages of a MAP_SHARED mapping (`gpuos_file_write`, kernel/sys/mm_shared.h):
    /// `data` holds whole pages of shared identity `id` from page `page` on; what lies
    /// within the file's current size is written there (a shared mapping never extends
    /// its file: bytes past the end stay in memory only, as on Linux). Returns the bytes
    /// written. EINVAL for an unknown id; the host's write errors (EBADF when the file
    /// was mapped without a descriptor open for writing).
    pub(crate) fn sys_gpuos_file_write(&mut self, id: u64, page: u64, data: &[u8]) -> Ret {
        let files = self.sb.mapped_files();
        let file = files.file(id)?;
        let fd = file.as_raw_fd();
        let off = page.checked_mul(PAGE).ok_or(errno::EINVAL)?;
        let size = sys::fstat(fd)?.st_size.max(0) as u64;
        let n = size.saturating_sub(off).min(data.len() as u64) as usize;
        let off = i64::try_from(off).map_err(|_| errno::EINVAL)?;
        let mut done = 0;
        while done < n {
            let w = sys::pwrite(fd, &data[done..n], off + done as i64)?;
            if w == 0 {
                break;
            }
            done += w;
        }
        files.written(id, &sys::fstat(fd)?);
        Ok((done as i64, 0))
    }

    /// Read pages for the device's page cache (`gpuos_file_read`): up to `npages`
    /// pages of file identity `id` from page `page` on, as many as the output area
    /// holds; bytes past the end of the file are not sent (the device zeroes them).
    /// Returns the bytes read. EINVAL for an unknown id; the host's read errors.
    pub(crate) fn sys_gpuos_file_read(
        &mut self,
        id: u64,
        page: u64,
        npages: u64,
        out: &mut [u8],
    ) -> Ret {
        let want = npages.saturating_mul(PAGE).min(out.len() as u64) as usize;
        if let Some(l) = self.sb.mapped_files().listing_of(id) {
            // A directory's pages are its listing's.
            let from =
                usize::try_from(page.saturating_mul(PAGE)).map_or(l.len(), |f| f.min(l.len()));
            let n = (l.len() - from).min(want);
            out[..n].copy_from_slice(&l[from..from + n]);
            return Ok((n as i64, n));
        }
        let file = self.sb.mapped_files().file(id)?;
        let off = i64::try_from(page.saturating_mul(PAGE)).map_err(|_| errno::EINVAL)?;
        let mut done = 0;
        while done < want {
            let n = sys::pread(file.as_raw_fd(), &mut out[done..want], off + done as i64)?;
            if n == 0 {
                break;
            }
            done += n;
        }
        Ok((done as i64, done))
    }
}
