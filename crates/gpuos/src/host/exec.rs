//! execve(2) and fork(2) on the host side of one process: what the file to execute is
//! (through the sandbox, as open would find it: an AArch64 ELF, a `#!` script, or
//! neither), the load plan of a program other than the run's own image, and the fd
//! table's part of both.

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::errno::{self, Errno};
use super::fd::FileKind;
use super::oflag::O_RDONLY;
use super::{sys, ProcHost};
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
        LoadError::TooLarge(..) => errno::ENOMEM,
        _ => errno::ENOEXEC,
    }
}

impl ProcHost {
    /// execve(2)'s checks of `path`, resolved like open(2) in the sandbox: ENOENT and
    /// friends from the lookup, EACCES for a directory or a file without execute
    /// permission, then the file's format.
    pub fn exec_target(&mut self, path: &[u8]) -> Result<ExecTarget, i64> {
        self.exec_target_inner(path).map_err(Errno::ret)
    }

    fn exec_target_inner(&mut self, path: &[u8]) -> Result<ExecTarget, Errno> {
        if path.is_empty() {
            return Err(errno::ENOENT);
        }
        let (fd, _) = self.sys_openat(super::file::AT_FDCWD, path, O_RDONLY, 0)?;
        let fd = fd as i32;
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
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_mode & 0o111 == 0 {
            return Err(errno::EACCES);
        }
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

    /// The load plan of the AArch64 program at `path` (resolved like open(2)) for the
    /// device's execve (kernel/sys/exec_image.h), written to `out`: the header (segment
    /// count, entry, initial break, stack image length, top of the mmap area or 0 for the
    /// default), the segments (file identity and
    /// size, first page, end of the file pages, file offset of the first page, PROT_*
    /// bits, end of the file bytes, end of memory) and the initial stack for `argv` and
    /// `envp` (AT_EXECFN `execfn`). Returns its length. Errors: the lookup's, ENOEXEC for
    /// what the loader refuses, E2BIG when the plan does not fit `out`.
    pub(crate) fn exec_plan(
        &mut self,
        path: &[u8],
        argv: &[OsString],
        envp: &[OsString],
        execfn: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let (fd, _) = self.sys_openat(super::file::AT_FDCWD, path, O_RDONLY, 0)?;
        let r = self.exec_plan_fd(fd as i32, argv, envp, execfn, out);
        let _ = self.sys_close(fd as i32);
        r
    }

    fn exec_plan_fd(
        &self,
        fd: i32,
        argv: &[OsString],
        envp: &[OsString],
        execfn: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        let f = self.fds.get(fd)?;
        let FileKind::Host(h) = &f.kind else {
            return Err(errno::EACCES);
        };
        let held = h.fd()?;
        let st = sys::fstat(held.as_raw_fd())?;
        let proc_path = format!("/proc/self/fd/{}", held.as_raw_fd());
        let img = loader::load(Path::new(&proc_path)).map_err(|e| load_errno(&e))?;
        if img.segments.len() > PLAN_MAX_SEGS {
            return Err(errno::ENOEXEC);
        }
        let (id, size) = self.sb.mapped_files().identify_file(&st, &held)?;
        let mut w: Vec<u64> = vec![img.segments.len() as u64, img.entry, img.brk, 0, 0];
        for s in &img.segments {
            let prot =
                ((s.flags & 4) >> 2) as u64 | (s.flags & 2) as u64 | (((s.flags & 1) as u64) << 2);
            w.extend_from_slice(&[
                u64::from(id),
                size,
                s.start(),
                s.file_end(),
                s.page_offset(),
                prot,
                s.vaddr + s.filesz,
                s.end(),
            ]);
        }
        debug_assert_eq!(
            w.len(),
            PLAN_HDR_WORDS + PLAN_SEG_WORDS * img.segments.len()
        );
        let mut random = [0u8; 16];
        let _ = getrandom::getrandom(&mut random);
        let stack = loader::build_stack(&img, argv, envp, execfn, random);
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
