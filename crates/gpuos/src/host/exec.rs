//! execve(2) and fork(2) on the host side of one process: what the file to execute is
//! (through the sandbox, as open would find it: an AArch64 ELF, a `#!` script, or
//! neither), the load plan of a program other than the run's own image, and the fd
//! table's part of both.

use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::errno::{self, Errno};
use super::fd::FileKind;
use super::file::AT_FDCWD;
use super::fs::Resolved;
use super::oflag::{O_NOFOLLOW, O_RDONLY};
use super::{sys, ProcHost, Sandbox};
use crate::loader::{self, LoadError};

/// Bytes of a `#!` line Linux reads (BINPRM_BUF_SIZE, fs/binfmt_script.c).
const BINPRM_BUF_SIZE: usize = 256;

/// Words of the load plan's header and of each segment (kernel/sys/exec_image.h).
const PLAN_HDR_WORDS: usize = 5;
const PLAN_SEG_WORDS: usize = 8;
/// The most segments a plan holds (kernel/sys/exec_image.h, EXEC_MAX_SEGS).
const PLAN_MAX_SEGS: usize = 64;

/// ELF machine number of AArch64 (EM_AARCH64).
const EM_AARCH64: u16 = 183;

/// What execve found at the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecTarget {
    /// An AArch64 ELF file with this host device and inode.
    Aarch64 {
        /// st_dev.
        dev: u64,
        /// st_ino.
        ino: u64,
    },
    /// A `#!` script (fs/binfmt_script.c): its interpreter path and optional argument
    /// (the rest of the line after the path, one argument, blanks around it removed).
    Script {
        /// The interpreter's path.
        interp: Vec<u8>,
        /// Its optional argument.
        arg: Option<Vec<u8>>,
    },
    /// A file Linux would not run as an AArch64 program (another format or machine).
    Foreign,
}

/// Scripts whose interpreter is a script are followed this deep (Linux: 4 levels of
/// binfmt rewriting, then ELOOP).
pub(crate) const EXEC_MAX_SCRIPT_DEPTH: usize = 4;

/// Where execve(2) or execveat(2) looks its file up: the directory fd of a relative
/// path (AT_FDCWD: the working directory), and whether a symlink as the final component
/// is refused (execveat's AT_SYMLINK_NOFOLLOW: ELOOP). An empty path (execveat's
/// AT_EMPTY_PATH) names the file `dirfd` itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExecAt {
    /// The directory fd, or the file itself for an empty path.
    pub dirfd: i32,
    /// AT_SYMLINK_NOFOLLOW.
    pub nofollow: bool,
    /// AT_EMPTY_PATH: an empty path names `dirfd` (else ENOENT).
    pub empty_path: bool,
}

impl ExecAt {
    /// execve(2)'s: from the working directory, symlinks followed.
    pub(crate) const CWD: ExecAt = ExecAt {
        dirfd: AT_FDCWD,
        nofollow: false,
        empty_path: false,
    };

    /// The name Linux gives the program (bprm->filename: AT_EXECFN, a script's path in
    /// its interpreter's argv): `path` itself when absolute or from the working
    /// directory, else `/dev/fd/N` or `/dev/fd/N/path` (fs/exec.c alloc_bprm).
    pub(crate) fn filename(&self, path: &[u8]) -> Vec<u8> {
        if self.dirfd == AT_FDCWD || path.first() == Some(&b'/') {
            return path.to_vec();
        }
        let mut f = format!("/dev/fd/{}", self.dirfd).into_bytes();
        if !path.is_empty() {
            f.push(b'/');
            f.extend_from_slice(path);
        }
        f
    }
}

/// What an execve runs ([`ProcHost::exec_resolve`]).
#[derive(Clone, Debug)]
pub(crate) struct Resolve {
    /// The program's path as the guest names it (a script's interpreter's, for a
    /// script).
    pub file: Vec<u8>,
    /// Where `file` is looked up from.
    pub at: ExecAt,
    /// Its argv.
    pub argv: Vec<Vec<u8>>,
    /// Its host device and inode.
    pub id: (u64, u64),
}

/// The interpreter line of a file whose first bytes are `head` (starting with `#!`),
/// as fs/binfmt_script.c reads it: ENOEXEC when the line names no interpreter or does
/// not end within BINPRM_BUF_SIZE bytes while the name would be cut.
fn parse_shebang(head: &[u8]) -> Result<ExecTarget, Errno> {
    let body = &head[2..];
    let line = match body.iter().position(|&b| b == b'\n') {
        Some(n) => &body[..n],
        None => body,
    };
    let blank = |b: &u8| *b == b' ' || *b == b'\t';
    let start = line.iter().position(|b| !blank(b)).unwrap_or(line.len());
    let line = &line[start..];
    let end = line.iter().position(blank).unwrap_or(line.len());
    let interp = &line[..end];
    let truncated = !body.contains(&b'\n') && head.len() == BINPRM_BUF_SIZE && end == line.len();
    if interp.is_empty() || truncated {
        return Err(errno::ENOEXEC);
    }
    let rest = &line[end..];
    let a = rest.iter().position(|b| !blank(b));
    let arg = a.map(|a| {
        let r = &rest[a..];
        let e = r.iter().rposition(|b| !blank(b)).map_or(0, |e| e + 1);
        r[..e].to_vec()
    });
    Ok(ExecTarget::Script {
        interp: interp.to_vec(),
        arg,
    })
}

/// The errno execve(2) gives for a program the loader refuses.
fn load_errno(e: &LoadError) -> Errno {
    match e {
        LoadError::Io { .. } => errno::EIO,
        LoadError::NotRegular { .. } => errno::EACCES,
        LoadError::TooLarge { .. } => errno::ENOMEM,
        LoadError::InterpOpen { source, .. } => errno::from_io(source),
        LoadError::Interp { .. } => errno::ELIBBAD,
        _ => errno::ENOEXEC,
    }
}

impl ProcHost {
    /// What execve(2) of `path` with `argv` runs: the AArch64 program's path (as the
    /// guest names it), its argv, and its host device and inode. A `#!` script becomes
    /// its interpreter with argv = the interpreter, its argument, the script's path, the
    /// script's arguments after argv[0] (fs/binfmt_script.c); an interpreter that is a
    /// script is followed [`EXEC_MAX_SCRIPT_DEPTH`] levels deep, then ELOOP. Errors:
    /// those of [`ProcHost::exec_target`], ENOEXEC for another format or machine.
    pub(crate) fn exec_resolve(&mut self, path: &[u8], argv: &[Vec<u8>]) -> Result<Resolve, Errno> {
        self.exec_resolve_at(ExecAt::CWD, path, argv)
    }

    /// [`ProcHost::exec_resolve`] of execveat(2): `path` looked up from `at`. A script
    /// reached through a close-on-exec directory fd (or that fd itself) cannot be read
    /// by its interpreter: ENOENT, as Linux (BINPRM_FLAGS_PATH_INACCESSIBLE).
    pub(crate) fn exec_resolve_at(
        &mut self,
        at: ExecAt,
        path: &[u8],
        argv: &[Vec<u8>],
    ) -> Result<Resolve, Errno> {
        let (mut file, mut argv, mut at) = (path.to_vec(), argv.to_vec(), at);
        let inaccessible = at.dirfd != AT_FDCWD
            && path.first() != Some(&b'/')
            && self.fds.cloexec(at.dirfd).unwrap_or(false);
        for _ in 0..=EXEC_MAX_SCRIPT_DEPTH {
            match self.exec_target(at, &file)? {
                ExecTarget::Foreign => return Err(errno::ENOEXEC),
                ExecTarget::Script { .. } if inaccessible => return Err(errno::ENOENT),
                ExecTarget::Script { interp, arg } => {
                    let mut v = vec![interp.clone()];
                    v.extend(arg);
                    v.push(at.filename(&file));
                    v.extend(argv.iter().skip(1).cloned());
                    (file, argv, at) = (interp, v, ExecAt::CWD);
                }
                ExecTarget::Aarch64 { dev, ino } => {
                    return Ok(Resolve {
                        file,
                        at,
                        argv,
                        id: (dev, ino),
                    })
                }
            }
        }
        Err(errno::ELOOP)
    }

    /// Open the file execve(2) or execveat(2) names, read-only: `path` from `at`, or
    /// for an empty path (AT_EMPTY_PATH) the file `at.dirfd` itself, opened anew
    /// through /proc/self/fd (an O_PATH descriptor will do, as on Linux). Returns the
    /// guest fd.
    fn exec_open(&mut self, at: ExecAt, path: &[u8]) -> Result<i32, Errno> {
        let (dirfd, path, flags) = if !path.is_empty() {
            let nofollow = if at.nofollow { O_NOFOLLOW } else { 0 };
            (at.dirfd, path.to_vec(), O_RDONLY | nofollow)
        } else if at.dirfd == AT_FDCWD {
            (AT_FDCWD, b".".to_vec(), O_RDONLY)
        } else {
            drop(self.fds.get(at.dirfd)?);
            let p = format!("/proc/self/fd/{}", at.dirfd).into_bytes();
            (AT_FDCWD, p, O_RDONLY)
        };
        let (fd, _) = self.sys_openat(dirfd, &path, flags, 0)?;
        Ok(fd as i32)
    }

    /// execve(2)'s checks of `path` (from `at`), resolved like open(2) in the sandbox:
    /// ENOENT and friends from the lookup, EACCES for a directory or a file without
    /// execute permission, then the file's format.
    pub(crate) fn exec_target(&mut self, at: ExecAt, path: &[u8]) -> Result<ExecTarget, Errno> {
        if path.is_empty() && !at.empty_path {
            return Err(errno::ENOENT);
        }
        let fd = self.exec_open(at, path)?;
        let r = self.exec_inspect(fd);
        let _ = self.sys_close(fd);
        r
    }

    fn exec_inspect(&self, fd: i32) -> Result<ExecTarget, Errno> {
        let f = self.fds.get(fd)?;
        let FileKind::Host(h) = &f.kind else {
            return Err(errno::EACCES);
        };
        let held = h.fd()?;
        let hfd = held.as_raw_fd();
        let st = sys::fstat(hfd)?;
        may_exec(&st)?;
        let mut head = [0u8; BINPRM_BUF_SIZE];
        let n = sys::pread(hfd, &mut head, 0)?;
        if head[..n].starts_with(b"#!") {
            return parse_shebang(&head[..n]);
        }
        let hdr = &head[..20];
        let machine = u16::from_le_bytes([hdr[18], hdr[19]]);
        // ELFCLASS64, little-endian, AArch64.
        if n >= hdr.len()
            && hdr[..4] == *b"\x7fELF"
            && hdr[4] == 2
            && hdr[5] == 1
            && machine == EM_AARCH64
        {
            Ok(ExecTarget::Aarch64 {
                dev: st.st_dev,
                ino: st.st_ino,
            })
        } else {
            Ok(ExecTarget::Foreign)
        }
    }

    /// The program at `path` (resolved like open(2) from `at`), opened read-only for the
    /// loader, with the guest path it was opened by (symlinks resolved: its name in
    /// /proc/PID/maps).
    pub(crate) fn open_program_at(
        &mut self,
        at: ExecAt,
        path: &[u8],
    ) -> Result<(File, PathBuf), Errno> {
        let fd = self.exec_open(at, path)?;
        let file = match &self.fds.get(fd)?.kind {
            FileKind::Host(h) => h
                .fd()
                .and_then(|f| f.try_clone().map_err(|e| errno::from_io(&e)))
                .map(|f| (f, h.guest.clone())),
            _ => Err(errno::EACCES),
        };
        let _ = self.sys_close(fd);
        let (file, guest) = file?;
        Ok((File::from(file), guest))
    }

    /// The load plan of the AArch64 program at `path` (resolved like open(2) from `at`) for the
    /// device's execve (kernel/sys/exec_image.h), written to `out`: the header (segment
    /// count, entry, initial break, stack image length, top of the mmap area or 0 for the
    /// default), the segments (file identity and
    /// size, first page, end of the file pages, file offset of the first page, PROT_*
    /// bits, end of the file bytes, end of memory) and the initial stack for `argv` and
    /// `envp` (AT_EXECFN `execfn`). Returns its length. Errors: the lookup's, ENOEXEC for
    /// what the loader refuses, E2BIG when the plan does not fit `out`.
    pub(crate) fn exec_plan(
        &mut self,
        at: ExecAt,
        path: &[u8],
        argv: &[OsString],
        envp: &[OsString],
        execfn: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let (file, guest) = self.open_program_at(at, path)?;
        self.exec_plan_file(file, guest, argv, envp, execfn, out)
    }

    /// [`ProcHost::exec_plan`] of the program open as `file`, which the guest sees at
    /// `guest`.
    fn exec_plan_file(
        &self,
        file: File,
        guest: PathBuf,
        argv: &[OsString],
        envp: &[OsString],
        execfn: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let name = Path::new(std::ffi::OsStr::from_bytes(execfn));
        let mut img = loader::load_file(name, file).map_err(|e| load_errno(&e))?;
        img.guest = Some(guest);
        let exec = loader::Exec::new(img, &self.sb, &self.cwd).map_err(|e| load_errno(&e))?;
        let nseg: usize = exec.images().map(|i| i.segments.len()).sum();
        if nseg > PLAN_MAX_SEGS {
            return Err(errno::ENOEXEC);
        }
        let mut w: Vec<u64> = vec![nseg as u64, exec.entry(), exec.brk(), 0, exec.mmap_top()];
        for img in exec.images() {
            let file = img.file().ok_or(errno::EIO)?;
            let st = sys::fstat(file.as_raw_fd())?;
            let name = img.guest.as_deref().unwrap_or(&img.path);
            let (id, size) = self
                .sb
                .mapped_files()
                .identify_file(&st, file.clone(), name)?;
            for s in &img.segments {
                w.extend_from_slice(&[
                    u64::from(id),
                    size,
                    s.start(),
                    s.file_end(),
                    s.page_offset(),
                    u64::from(s.prot()),
                    s.vaddr + s.filesz,
                    s.end(),
                ]);
            }
        }
        debug_assert_eq!(w.len(), PLAN_HDR_WORDS + PLAN_SEG_WORDS * nseg);
        let mut random = [0u8; 16];
        let _ = getrandom::getrandom(&mut random);
        let stack = loader::build_stack(&exec, argv, envp, execfn, random);
        w[3] = stack.bytes.len() as u64;
        let plan_len = w.len() * 8;
        let total = plan_len + stack.bytes.len();
        let dst = out.get_mut(..total).ok_or(errno::E2BIG)?;
        for (d, v) in dst.chunks_exact_mut(8).zip(&w) {
            d.copy_from_slice(&v.to_le_bytes());
        }
        dst[plan_len..].copy_from_slice(&stack.bytes);
        Ok(total)
    }
}

/// Linux's execve(2) permission checks on a file: EACCES unless it is a regular file
/// with an execute bit (`may_open()` with MAY_EXEC; gpuos reads with its own
/// credentials, so any execute bit counts).
fn may_exec(st: &libc::stat) -> Result<(), Errno> {
    if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o111 == 0 {
        return Err(errno::EACCES);
    }
    Ok(())
}

impl Sandbox {
    /// Open the guest path `path` for execution as Linux's `open_exec()` (fs/exec.c)
    /// opens a program interpreter: looked up as the guest's open(2) would from the
    /// guest directory `cwd` (an absolute path in the sysroot first, symlinks
    /// followed), then opened read-only (O_NONBLOCK: a FIFO put there meanwhile does not
    /// block). Errors: those of the lookup (ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG...),
    /// EACCES for a file that is not regular or has no execute bit, those of open(2).
    /// Returns the file and the guest path the lookup found it at (symlinks resolved:
    /// its name in /proc/PID/maps).
    pub(crate) fn open_exec(&self, cwd: &Path, path: &[u8]) -> Result<(File, PathBuf), Errno> {
        // /proc/self/fd/N: no process, so no descriptors, at load time.
        let Resolved::Host(h) = self.resolve(cwd, path, true)? else {
            return Err(errno::ENOENT);
        };
        may_exec(&h.stat.ok_or(errno::ENOENT)?)?;
        if h.trailing_slash {
            return Err(errno::ENOTDIR);
        }
        let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOFOLLOW;
        let fd = sys::openat(h.dir.raw(), &h.name, flags, 0)?;
        may_exec(&sys::fstat(fd.as_raw_fd())?)?;
        Ok((File::from(fd), h.guest))
    }
}
