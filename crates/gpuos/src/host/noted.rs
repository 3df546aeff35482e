//! Opens the device answered (kernel/sys/devread.h `devread_open`): the host's half.
//!
//! python3 opens about fifty files of its library in every lane, each a path of the
//! read-only sysroot that every lane opens alike. The first open of such a path crosses
//! to the host as any (`sys_openat_devread`), which answers with the file's record and
//! an *open token* for the path: [`LastingOpens`] keeps, under that token, a template of
//! the description the open made. The device keeps the record in its stat cache; a later
//! openat(2) of the same path, by any process of any lane, is answered there: the device
//! picks the lowest free descriptor (it knows the process's descriptors 0-31 from the
//! host's last completion, `SysReq::fd_low`), serves the descriptor's reads from the page
//! cache, and leaves the host a note (`NOTE_OPEN`: token, flags, fd). Before it serves
//! the lane's next request the host makes the same description at the same number
//! ([`ProcHost::open_noted`]), with no lookup when the flags are the template's: the
//! shared host descriptor (host/shared.rs) of the first open serves it too. That is
//! exact for the reasons a fork note is (docs/ARCHITECTURE.md, "Processes"): nothing
//! else can see the number before the lane's next request, and the path lasts (its
//! lookup stayed in the read-only sysroot, so it names the same file for the whole run).

use super::errno::{self, Errno};
use super::fd::{FileKind, HostFd, HostFile, OpenFile};
use super::shared::SharedFd;
use super::{oflag, ProcHost};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The most open tokens a run hands out (tokens have 30 bits in a note; the device
/// keeps one a path, so this bounds the table by the sysroot's paths opened).
const MAX_TOKENS: usize = 1 << 20;

/// The open flags a token's template is made for: the guest's, without O_CLOEXEC (the
/// descriptor's, not the description's) and the bits a note does not carry.
fn template_flags(flags: u32) -> u32 {
    flags & 0x00ff_ffff & !oflag::O_CLOEXEC
}

/// A description as a lasting open of one path made it, to be made again.
#[derive(Debug)]
struct Template {
    /// The guest path the open was asked with (a noted open with other flags looks it
    /// up again).
    path: Box<[u8]>,
    /// `template_flags` of that open.
    flags: u32,
    /// The shared host descriptor, the canonical guest path, the mount, whether a
    /// directory, and the guest's status flags, as `ProcHost::open_host` made them.
    hfd: Arc<SharedFd>,
    guest: PathBuf,
    mount: Option<usize>,
    is_dir: bool,
    gflags: u32,
}

/// The run's open tokens: path -> token (from 1), and each token's template.
#[derive(Debug, Default)]
pub(crate) struct LastingOpens {
    inner: Mutex<Tokens>,
}

#[derive(Debug, Default)]
struct Tokens {
    by_path: HashMap<Box<[u8]>, u32>,
    templates: Vec<Template>,
}

impl LastingOpens {
    /// The token of `path`, registering the description `f` (just made by an openat of
    /// `path` with `flags`) as its template when the path has none; None when `f` is not
    /// a description on a shared host descriptor (nothing the host could make again
    /// without a lookup) or the table is full.
    pub(crate) fn token(&self, path: &[u8], flags: u32, f: &OpenFile) -> Option<u32> {
        let FileKind::Host(h) = &f.kind else {
            return None;
        };
        let HostFd::Shared(hfd) = &h.hfd else {
            return None;
        };
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&t) = g.by_path.get(path) {
            return Some(t);
        }
        if g.templates.len() >= MAX_TOKENS {
            return None;
        }
        g.templates.push(Template {
            path: path.into(),
            flags: template_flags(flags),
            hfd: Arc::clone(hfd),
            guest: h.guest.clone(),
            mount: h.mount,
            is_dir: h.is_dir,
            gflags: f.flags,
        });
        let t = g.templates.len() as u32;
        g.by_path.insert(path.into(), t);
        Some(t)
    }

    /// Token t's template as a new description for `flags` (without a lookup), or its
    /// path when the flags differ from the template's (the caller opens it again).
    fn make(&self, t: u32, flags: u32) -> Result<Made, Errno> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let tp = (t as usize)
            .checked_sub(1)
            .and_then(|i| g.templates.get(i))
            .ok_or(errno::EINVAL)?;
        if tp.flags != template_flags(flags) {
            return Ok(Made::Lookup(tp.path.clone()));
        }
        let h = HostFile::new(
            HostFd::Shared(Arc::clone(&tp.hfd)),
            tp.guest.clone(),
            tp.mount,
            tp.is_dir,
            false,
        );
        Ok(Made::File(OpenFile {
            kind: FileKind::Host(h),
            flags: tp.gflags,
        }))
    }
}

enum Made {
    File(OpenFile),
    Lookup(Box<[u8]>),
}

impl ProcHost {
    /// An openat(2) the device answered (`NOTE_OPEN`): the description token `token`
    /// stands for, opened with `flags` (the guest's low 24 bits), at descriptor `fd`,
    /// which the device found free. Errors: an unknown token (EINVAL); the open's own
    /// (only where the flags differ from the template's and the path is looked up
    /// again); EBUSY when `fd` is taken here (the device's view of the table was wrong:
    /// gpuos's bug).
    pub(crate) fn open_noted(&mut self, fd: i32, flags: u32, token: u32) -> Result<(), Errno> {
        let cloexec = flags & oflag::O_CLOEXEC != 0;
        match self.sb.lasting_opens().make(token, flags)? {
            Made::File(f) => self.fds.install_at(fd, f, cloexec),
            Made::Lookup(path) => {
                let ((got, _), _) = self.openat_resolved(libc::AT_FDCWD, &path, flags, 0)?;
                let got = got as i32;
                if got == fd {
                    return Ok(());
                }
                // Not the number the device gave the guest: the device's view of the
                // table was wrong. Keep the guest's number.
                let taken = self.fds.desc(fd).is_ok();
                if !taken {
                    self.fds.dup_to(got, fd, cloexec)?;
                }
                self.fds.close(got)?;
                if taken {
                    Err(errno::EBUSY)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Which of descriptors 0-31 are taken (bit n: fd n): `SysReq::fd_low`.
    pub(crate) fn fd_low(&self) -> u32 {
        self.fds.low_map()
    }
}
