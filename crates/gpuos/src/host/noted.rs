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
use super::fd::{self, FileKind, HostFd, HostFile, OpenFile};
use super::pipe::{self, PipeEnd};
use super::shared::SharedFd;
use super::{oflag, ProcHost, Ret};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};

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

/// One end of a pipe the device keeps (kernel/sys/dpipe.h): a placeholder description.
#[derive(Debug)]
pub(crate) struct DevPipeEnd {
    /// The pipe's inode number (its host pipe keeps it).
    pub ino: u64,
}

/// The run's pipes the device keeps: each one's placeholder descriptions, to turn into a
/// host pipe's ends when the device hands the pipe back (`gpuos_pipe_back`).
#[derive(Debug, Default)]
pub(crate) struct DevPipes {
    inner: Mutex<HashMap<u32, DevPipe>>,
}

#[derive(Debug)]
struct DevPipe {
    ends: [Weak<Mutex<OpenFile>>; 2],
    /// While a hand-back comes in several requests: the host pipe's own write end,
    /// which holds readers back from its end until the last bytes are in.
    filling: Option<PipeEnd>,
}

impl ProcHost {
    /// A pipe2(2) the device answered (`NOTE_PIPE`, first word `note`): placeholders
    /// at its two fds. EBUSY when one is taken here (the device's view of the table
    /// was wrong: gpuos's bug).
    pub(crate) fn pipe_noted(&mut self, note: u64) -> Result<(), Errno> {
        let (r, w) = ((note & 0x3ff) as i32, ((note >> 10) & 0x3ff) as i32);
        let (cloexec, nonblock) = (note >> 20 & 1 != 0, note >> 21 & 1 != 0);
        let id = (note >> 28) as u32;
        let ino = pipe::next_ino();
        let end = |write: bool| OpenFile {
            kind: FileKind::DevPipe(DevPipeEnd { ino }),
            flags: if write {
                oflag::O_WRONLY
            } else {
                oflag::O_RDONLY
            } | if nonblock { oflag::O_NONBLOCK } else { 0 },
        };
        self.fds.install_at(r, end(false), cloexec)?;
        self.fds.install_at(w, end(true), cloexec)?;
        let ends = [
            Arc::downgrade(&self.fds.desc(r)?),
            Arc::downgrade(&self.fds.desc(w)?),
        ];
        let pipes = self.sb.dev_pipes();
        let mut g = pipes.inner.lock().unwrap_or_else(|e| e.into_inner());
        // An id is the pipe's frame: a later pipe may reuse a freed one's. Pipes whose
        // descriptions are all gone (never handed back) leave now and then.
        if g.len() >= 1024 && g.len().is_power_of_two() {
            g.retain(|_, p| p.ends.iter().any(|e| e.strong_count() > 0));
        }
        g.insert(
            id,
            DevPipe {
                ends,
                filling: None,
            },
        );
        Ok(())
    }

    /// A dup of a pipe's fd the device answered (`NOTE_DUP`): dup3(old, new, flags).
    pub(crate) fn dup_noted(&mut self, note: u64) -> Result<(), Errno> {
        let (old, new) = ((note & 0x3ff) as i32, ((note >> 10) & 0x3ff) as i32);
        self.fds.dup_to(old, new, note >> 20 & 1 != 0).map(|_| ())
    }

    /// `gpuos_pipe_back`: the device hands pipe `id` back with its bytes `data` (the last
    /// of them when `last`): its placeholders become the ends of a host pipe holding
    /// them (the first request makes it, later ones add their bytes). EINVAL for an
    /// unknown id.
    pub(crate) fn sys_gpuos_pipe_back(&mut self, id: u64, last: bool, data: &[u8]) -> Ret {
        let pipes = self.sb.dev_pipes();
        let mut g = pipes.inner.lock().unwrap_or_else(|e| e.into_inner());
        let p = g.get_mut(&(id as u32)).ok_or(errno::EINVAL)?;
        if p.filling.is_none() {
            let descs = p.ends.each_ref().map(Weak::upgrade);
            let ino = descs
                .iter()
                .flatten()
                .find_map(|d| match &fd::lock(d).kind {
                    FileKind::DevPipe(e) => Some(e.ino),
                    _ => None,
                });
            let (r, w) = pipe::new_pipe_ino(ino.unwrap_or_else(pipe::next_ino));
            p.filling = Some(w.reopen(false, true));
            for (d, end) in descs.iter().zip([r, w]) {
                if let Some(d) = d {
                    fd::lock(d).kind = FileKind::Pipe(end);
                }
            }
        }
        if let Some(w) = &p.filling {
            // The device held at most a pipe's capacity: it all fits.
            w.write(data, oflag::O_NONBLOCK)?;
        }
        if last {
            g.remove(&(id as u32));
        }
        Ok((0, 0))
    }
}
