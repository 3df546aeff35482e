//! ELF loading and the initial process stack.
//!
//! Accepts ELF64 AArch64 executables (System V gABI, "ELF-64 Object File Format";
//! AArch64 ELF ABI): static, static-PIE and dynamically linked ones, whose program
//! interpreter (PT_INTERP, `ld-linux-aarch64.so.1`) is loaded beside them as Linux's
//! `load_elf_binary()` does (fs/binfmt_elf.c; [`Exec`]). It builds the initial stack
//! exactly as Linux's `create_elf_tables()` lays it out: argc, argv pointers, NULL, envp
//! pointers, NULL, auxv pairs ending with AT_NULL, then the strings and AT_RANDOM bytes
//! above; SP 16-byte aligned at argc.
//!
//! The address space ([`Exec`]): an ET_EXEC program at its own addresses, an ET_DYN one
//! (PIE) at [`PIE_BASE`]; an ET_DYN interpreter at the top of the mmap area, ending at
//! [`MMAP_TOP`], where Linux's first mmap of the new process puts it
//! (`arch_get_unmapped_area_topdown()`), with the mmap area starting below it; the
//! program break after the program's segments, not the interpreter's; the stack below
//! [`STACK_TOP`]. Every base is fixed, so runs are reproducible (Linux randomises them).
//!
//! The API, for the run's program and for execve(2) of another: [`Exec::from_file`]
//! (or [`load`] / [`load_file`] then [`Exec::new`]) checks a program and its
//! interpreter and gives both images' checked segments ([`Segment`]: vaddr, offset,
//! filesz, memsz, [`Segment::prot`]), their biases and entry points, the program break
//! and the mmap area's top; [`Exec::map_segments`] places their pages; [`build_stack`]
//! builds the initial stack (argv, envp, auxv) for them.
//!
//! Loading reads the ELF header, the program headers and, when the template is built,
//! the segments' file pages, in pieces ([`Image::map_segments`]): never the whole file,
//! and never memory for a header's sizes. It refuses what Linux's `load_elf_binary()`
//! refuses (a file that is not regular, a bad program header table, a PT_LOAD with
//! p_filesz > p_memsz, file bytes past the end of the file, p_offset and p_vaddr not
//! congruent modulo the page size, addresses past the program area, a PT_INTERP entry
//! of fewer than 2 or more than PATH_MAX bytes or not NUL-terminated, an interpreter
//! that is not an AArch64 ELF executable) and images whose segments need more than
//! [`MAX_IMAGE_BYTES`] of memory.

use crate::abi::PAGE_SIZE;
use crate::host::Sandbox;
use object::elf;
use std::ffi::OsString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a static-PIE executable is placed (page aligned, like Linux's ELF_ET_DYN_BASE).
pub const PIE_BASE: u64 = 0x5555_5550_0000;
/// Top of the stack (exclusive).
pub const STACK_TOP: u64 = 0x7fff_f000_0000;
/// Stack reserved below [`STACK_TOP`], in bytes (Linux's default RLIMIT_STACK).
pub const STACK_SIZE: u64 = 8 << 20;
/// Top of the mmap area (it grows down from here).
pub const MMAP_TOP: u64 = STACK_TOP - STACK_SIZE - (1 << 20);
/// The end of the program area: segments end at or below it (relocated), leaving 2 GiB
/// below [`MMAP_TOP`] for the heap and mappings (Linux: TASK_SIZE, the 48-bit VA).
pub const IMAGE_TOP: u64 = MMAP_TOP - (2 << 30);
/// The most memory the PT_LOAD segments may take together, in bytes: the sum of their
/// page-rounded spans. A .bss costs no frame until touched, but the template's page
/// tables for it are built when loading (one table per 2 MiB), so an image is bounded
/// as Linux bounds an exec's memory by its overcommit policy.
pub const MAX_IMAGE_BYTES: u64 = 4 << 30;
/// The most address space an ET_DYN interpreter's segments may span, in bytes: it is
/// placed between [`IMAGE_TOP`] and [`MMAP_TOP`] (2 GiB; `ld-linux-aarch64.so.1` spans
/// about 200 KiB), clear of the program area.
pub const MAX_INTERP_SPAN: u64 = MMAP_TOP - IMAGE_TOP;
/// Linux PATH_MAX: the largest PT_INTERP entry, NUL included (`load_elf_binary()`).
const PATH_MAX: u64 = 4096;
/// The program header table's largest size, in bytes: Linux's `load_elf_phdrs()` reads
/// at most ELF_MIN_ALIGN (the 4 KiB page) of them, so at most 73 headers.
pub const MAX_PHDRS_BYTES: u64 = 4096;
/// sizeof(Elf64_Phdr).
const PHENT: u64 = 56;
/// sizeof(Elf64_Ehdr).
const EHDR: usize = 64;
/// File pages read at once when building the template, in bytes.
const PIECE: u64 = 1 << 20;
/// The signal return trampoline's page (see `MachineHdr::sigtramp`).
pub const SIGTRAMP: u64 = STACK_TOP + 0x1000;
/// The trampoline: `mov x8, #139` (rt_sigreturn); `svc #0`.
pub const SIGTRAMP_CODE: [u32; 2] = [0xd280_1168, 0xd400_0001];

/// AT_HWCAP: exactly what the core implements: FP, ASIMD and CRC32 (arch/arm64
/// HWCAP_FP, HWCAP_ASIMD, HWCAP_CRC32). glibc picks its string and atomic routines
/// from this, so no LSE atomics or SVE are advertised.
pub const HWCAP: u64 = (1 << 0) | (1 << 1) | (1 << 7);

/// Why a program cannot be loaded. Each message is one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The program path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A directory, FIFO, device or socket: execve(2) fails with EACCES.
    #[error("{path}: cannot execute {kind}: not a regular file")]
    NotRegular {
        /// The program path.
        path: PathBuf,
        /// What it is ("a directory", "a FIFO"...).
        kind: &'static str,
    },
    /// Not an ELF file at all.
    #[error("{0}: not an ELF executable")]
    NotElf(PathBuf),
    /// ELF, but not 64-bit little-endian.
    #[error("{0}: 32-bit or big-endian ELF; gpuos runs 64-bit little-endian AArch64 programs")]
    WrongClass(PathBuf),
    /// ELF for another machine.
    #[error("{path}: ELF for machine {machine} ({name}), not AArch64")]
    WrongMachine {
        /// The program path.
        path: PathBuf,
        /// e_machine.
        machine: u16,
        /// A readable name for e_machine.
        name: &'static str,
    },
    /// Not an executable (relocatable object, core file...).
    #[error("{0}: not an executable (e_type {1})")]
    NotExecutable(PathBuf, u16),
    /// The PT_INTERP entry is unusable: fewer than 2 or more than PATH_MAX bytes, past
    /// the end of the file, or not NUL-terminated (Linux: ENOEXEC; qemu-aarch64:
    /// "Invalid PT_INTERP entry").
    #[error("{0}: invalid PT_INTERP entry: {1}")]
    BadInterp(PathBuf, String),
    /// The interpreter cannot be opened in the sandbox (ENOENT, EACCES for a file that
    /// is not a regular executable one, ...), as execve(2) fails.
    #[error("{program}: cannot open its interpreter {interp}: {source}{hint}", hint = if source.kind() == std::io::ErrorKind::NotFound { " (AArch64 libraries: --sysroot DIR)" } else { "" })]
    InterpOpen {
        /// The program path.
        program: PathBuf,
        /// The interpreter, as PT_INTERP names it (a guest path).
        interp: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The interpreter is not an AArch64 ELF executable, or its headers are bad (Linux:
    /// ELIBBAD or EINVAL).
    #[error("{program}: interpreter {source}")]
    Interp {
        /// The program path.
        program: PathBuf,
        /// What is wrong with the interpreter (which it names by its guest path).
        source: Box<LoadError>,
    },
    /// The segments need more than `max` bytes of memory ([`MAX_IMAGE_BYTES`]; an ET_DYN
    /// interpreter's span: [`MAX_INTERP_SPAN`]).
    #[error("{path}: the segments need {mib} MiB of memory; gpuos loads at most {} MiB", max >> 20)]
    TooLarge {
        /// The file's path.
        path: PathBuf,
        /// What they need, in MiB (rounded up).
        mib: u64,
        /// The limit, in bytes.
        max: u64,
    },
    /// Malformed headers or segments.
    #[error("{0}: corrupt ELF: {1}")]
    Corrupt(PathBuf, String),
}

impl LoadError {
    /// The exit status the CLI reports: for the program, as a shell does (127: not
    /// found, 126: cannot execute); for its interpreter (PT_INTERP), 255, as
    /// qemu-aarch64 exits for any interpreter it cannot load (`exit(-1)` in
    /// linux-user/elfload.c).
    pub fn exit_status(&self) -> i32 {
        match self {
            LoadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 127,
            LoadError::BadInterp(..) | LoadError::InterpOpen { .. } | LoadError::Interp { .. } => {
                255
            }
            _ => 126,
        }
    }
}

fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

fn page_up(a: u64) -> u64 {
    page_down(a + PAGE_SIZE - 1)
}

/// One PT_LOAD segment (p_memsz > 0), relocated by the load bias, checked: its file
/// bytes lie in the file and its pages below [`IMAGE_TOP`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Guest virtual address of the first byte (p_vaddr + bias).
    pub vaddr: u64,
    /// File offset of the first byte (p_offset).
    pub offset: u64,
    /// Bytes from the file (p_filesz).
    pub filesz: u64,
    /// Size in memory (p_memsz >= p_filesz; the rest is zero).
    pub memsz: u64,
    /// PF_R | PF_W | PF_X.
    pub flags: u32,
}

impl Segment {
    /// First page's address.
    pub fn start(&self) -> u64 {
        page_down(self.vaddr)
    }
    /// End of the pages mapped from the file (`start()` when p_filesz is 0).
    pub fn file_end(&self) -> u64 {
        if self.filesz == 0 {
            self.start()
        } else {
            page_up(self.vaddr + self.filesz)
        }
    }
    /// End of the last page.
    pub fn end(&self) -> u64 {
        page_up(self.vaddr + self.memsz)
    }
    /// mmap(2)'s PROT_READ (1) | PROT_WRITE (2) | PROT_EXEC (4) for the segment's
    /// p_flags (PF_X 1, PF_W 2, PF_R 4), as binfmt_elf's `make_prot()`.
    pub fn prot(&self) -> u32 {
        let mut prot = 0;
        if self.flags & elf::PF_R != 0 {
            prot |= 1;
        }
        if self.flags & elf::PF_W != 0 {
            prot |= 2;
        }
        if self.flags & elf::PF_X != 0 {
            prot |= 4;
        }
        prot
    }
    /// File offset of the first page.
    pub fn page_offset(&self) -> u64 {
        page_down(self.offset)
    }
    /// Where the file's bytes end in the file-backed pages (zeros follow): at p_filesz
    /// when a .bss follows (Linux zeroes the rest of that page, `padzero()`), else at the
    /// end of the last page or of the file, as mmap(2) of the file maps it.
    fn file_limit(&self, file_len: u64) -> u64 {
        if self.memsz > self.filesz {
            self.vaddr + self.filesz
        } else {
            self.file_end()
                .min(self.start() + (file_len - self.page_offset()))
        }
    }
}

/// What one step of loading places in the address space ([`Image::map_segments`]).
#[derive(Debug)]
pub enum Mapping<'a> {
    /// The pages `[va, va + size)` (page aligned) with `bytes` at `va` and zeros after,
    /// replacing what was there.
    Pages {
        /// First page.
        va: u64,
        /// Contents (at most `size` bytes).
        bytes: &'a [u8],
        /// Bytes of pages.
        size: u64,
        /// PF_R | PF_W | PF_X.
        flags: u32,
    },
    /// Zero-filled pages `[va, va + len)` (page aligned), allocated on first touch,
    /// replacing what was there.
    Zero {
        /// First page.
        va: u64,
        /// Bytes of pages.
        len: u64,
        /// PF_R | PF_W | PF_X.
        flags: u32,
    },
}

/// Where the program's bytes are read from.
#[derive(Clone, Debug)]
enum Source {
    File(Arc<File>),
    Bytes(Arc<[u8]>),
}

impl Source {
    fn len(&self) -> std::io::Result<u64> {
        match self {
            Source::File(f) => Ok(f.metadata()?.len()),
            Source::Bytes(b) => Ok(b.len() as u64),
        }
    }

    /// Fill `buf` from offset `off` (pread(2)); UnexpectedEof when the file is shorter.
    fn read_at(&self, buf: &mut [u8], off: u64) -> std::io::Result<()> {
        match self {
            Source::File(f) => f.read_exact_at(buf, off),
            Source::Bytes(b) => {
                let s = usize::try_from(off)
                    .ok()
                    .and_then(|o| b.get(o..o.checked_add(buf.len())?))
                    .ok_or(std::io::ErrorKind::UnexpectedEof)?;
                buf.copy_from_slice(s);
                Ok(())
            }
        }
    }
}

/// One checked ELF file, placed: a program or its interpreter.
#[derive(Clone, Debug)]
pub struct Image {
    /// Host path of the file (for an interpreter, its guest path: what PT_INTERP names).
    pub path: PathBuf,
    /// Where the guest sees the file, symlinks resolved: the name /proc/PID/maps gives
    /// its segments. None where the caller did not say (`path` then stands for it).
    pub guest: Option<PathBuf>,
    /// PT_LOAD segments to map, in program-header order (a later one replaces the pages
    /// it shares with an earlier one).
    pub segments: Vec<Segment>,
    /// The load bias added to every p_vaddr: 0 for ET_EXEC, the base chosen for ET_DYN
    /// ([`PIE_BASE`] for a program; for an interpreter, AT_BASE).
    pub bias: u64,
    /// Entry point (e_entry + bias).
    pub entry: u64,
    /// Address of the program headers in guest memory (AT_PHDR), as binfmt_elf
    /// computes it: in the last PT_LOAD whose file bytes hold e_phoff; 0 when none does.
    pub phdr: u64,
    /// Number of program headers (AT_PHNUM).
    pub phnum: u64,
    /// Initial program break: page-aligned end of the highest segment.
    pub brk: u64,
    /// The interpreter a program asks for (PT_INTERP, up to its first NUL: a guest
    /// path); None for a static program and for an interpreter (whose own PT_INTERP
    /// Linux and qemu ignore).
    pub interp: Option<Vec<u8>>,
    /// The file, read again when the segments are mapped.
    source: Source,
    /// The file's size when it was checked, in bytes.
    file_len: u64,
}

fn machine_name(m: u16) -> &'static str {
    match m {
        elf::EM_X86_64 => "x86-64",
        elf::EM_386 => "i386",
        elf::EM_ARM => "32-bit Arm",
        elf::EM_RISCV => "RISC-V",
        elf::EM_PPC64 => "PowerPC64",
        elf::EM_S390 => "s390",
        _ => "unknown",
    }
}

/// Open and check an executable: a regular file (execve(2): EACCES for anything else,
/// which gpuos reports before opening, so that a FIFO cannot block it) with valid ELF
/// headers. Reads the headers only. Errors: see [`LoadError`].
pub fn load(path: &Path) -> Result<Image, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    check_regular(path, &std::fs::metadata(path).map_err(io)?)?;
    // O_NONBLOCK: should the path become a FIFO after the check, open does not wait
    // for a writer; the check on the open file then refuses it.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(io)?;
    load_file(path, file)
}

/// Check a program already open as `file` (execve(2) of a file the guest named; `path`
/// names it in messages), as [`load`] does. Errors: see [`LoadError`].
pub fn load_file(path: &Path, file: File) -> Result<Image, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    check_regular(path, &file.metadata().map_err(io)?)?;
    read_image(path, Source::File(Arc::new(file)), Role::Program)
}

fn check_regular(path: &Path, meta: &std::fs::Metadata) -> Result<(), LoadError> {
    let t = meta.file_type();
    let kind = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "this file type"
    };
    Err(LoadError::NotRegular {
        path: path.to_path_buf(),
        kind,
    })
}

/// Check an executable already in memory (as [`load`] does a file).
pub fn parse(path: &Path, data: &[u8]) -> Result<Image, LoadError> {
    read_image(path, Source::Bytes(Arc::from(data)), Role::Program)
}

/// What a file is loaded as: it decides where an ET_DYN file goes and whether its
/// PT_INTERP is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// The program execve(2) names: ET_DYN at [`PIE_BASE`], PT_INTERP followed.
    Program,
    /// Its interpreter: ET_DYN at the top of the mmap area (see [`interp_bias`]),
    /// PT_INTERP ignored (as Linux's `load_elf_interp()`).
    Interpreter,
}

/// The fields of the ELF header that loading uses.
struct Ehdr {
    etype: u16,
    entry: u64,
    phoff: u64,
    phnum: u16,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    let mut w = [0; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut w = [0; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

impl Ehdr {
    /// Check the first (at most 64) bytes of the file as Linux's `load_elf_binary()`
    /// and `load_elf_phdrs()` do: magic, class, machine, type, e_phentsize, e_phnum.
    fn check(path: &Path, b: &[u8]) -> Result<Ehdr, LoadError> {
        let p = || path.to_path_buf();
        if b.len() < 16 || b[..4] != elf::ELFMAG {
            return Err(LoadError::NotElf(p()));
        }
        if b[4] != elf::ELFCLASS64 || b[5] != elf::ELFDATA2LSB {
            return Err(LoadError::WrongClass(p()));
        }
        if b.len() < EHDR {
            let why = format!("the ELF header is cut short ({} of {EHDR} bytes)", b.len());
            return Err(LoadError::Corrupt(p(), why));
        }
        let machine = le16(b, 18);
        if machine != elf::EM_AARCH64 {
            return Err(LoadError::WrongMachine {
                path: p(),
                machine,
                name: machine_name(machine),
            });
        }
        let etype = le16(b, 16);
        if etype != elf::ET_EXEC && etype != elf::ET_DYN {
            return Err(LoadError::NotExecutable(p(), etype));
        }
        let phentsize = le16(b, 54);
        if u64::from(phentsize) != PHENT {
            let why = format!("e_phentsize {phentsize}, not {PHENT} (sizeof(Elf64_Phdr))");
            return Err(LoadError::Corrupt(p(), why));
        }
        let phnum = le16(b, 56);
        if phnum == 0 || u64::from(phnum) * PHENT > MAX_PHDRS_BYTES {
            let why = format!(
                "e_phnum {phnum}: 1 to {} program headers are loaded (at most {MAX_PHDRS_BYTES} bytes, as Linux)",
                MAX_PHDRS_BYTES / PHENT
            );
            return Err(LoadError::Corrupt(p(), why));
        }
        Ok(Ehdr {
            etype,
            entry: le64(b, 24),
            phoff: le64(b, 32),
            phnum,
        })
    }
}

/// The fields of a program header that loading uses.
struct Phdr {
    ptype: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
}

impl Phdr {
    fn from_bytes(b: &[u8]) -> Phdr {
        Phdr {
            ptype: le32(b, 0),
            flags: le32(b, 4),
            offset: le64(b, 8),
            vaddr: le64(b, 16),
            filesz: le64(b, 32),
            memsz: le64(b, 40),
        }
    }

    /// The segment of a PT_LOAD, checked as `load_elf_binary()` and mmap(2) check it,
    /// relocated by `bias` and ending at or below `top`; None when p_memsz is 0 (nothing
    /// is mapped).
    fn segment(&self, bias: u64, file_len: u64, top: u64) -> Result<Option<Segment>, String> {
        let (va, off, filesz, memsz) = (self.vaddr, self.offset, self.filesz, self.memsz);
        if filesz > memsz {
            return Err(format!(
                "PT_LOAD at {va:#x}: p_filesz {filesz:#x} exceeds p_memsz {memsz:#x}"
            ));
        }
        if memsz == 0 {
            return Ok(None);
        }
        if filesz > 0 {
            if (off ^ va) & (PAGE_SIZE - 1) != 0 {
                return Err(format!(
                    "PT_LOAD at {va:#x}: p_offset {off:#x} is not congruent to p_vaddr modulo the page size"
                ));
            }
            if off.checked_add(filesz).is_none_or(|end| end > file_len) {
                return Err(format!(
                    "PT_LOAD at {va:#x}: {filesz:#x} bytes at offset {off:#x} run past the end of the file ({file_len} bytes)"
                ));
            }
        }
        let Some(vaddr) = va
            .checked_add(bias)
            .filter(|v| v.checked_add(memsz).is_some_and(|end| end <= top))
        else {
            return Err(format!(
                "PT_LOAD at {va:#x} ({memsz:#x} bytes) ends beyond the program area (up to {top:#x})"
            ));
        };
        Ok(Some(Segment {
            vaddr,
            offset: off,
            filesz,
            memsz,
            flags: self.flags,
        }))
    }
}

/// Where an ET_DYN interpreter goes: its segments' span (from the first page of the
/// lowest to the end of the highest, Linux's `total_mapping_size()`) placed to end at
/// [`MMAP_TOP`], page aligned, as Linux's first top-down mmap of the new process places
/// it. Returns the load bias, or why the segments cannot be placed so: a span over
/// [`MAX_INTERP_SPAN`] ([`LoadError::TooLarge`]), or addresses that do not fit
/// ([`LoadError::Corrupt`]).
fn interp_bias(path: &Path, phdrs: &[Phdr]) -> Result<u64, LoadError> {
    let loads = || {
        phdrs
            .iter()
            .filter(|ph| ph.ptype == elf::PT_LOAD && ph.memsz > 0)
    };
    let lo = loads().map(|ph| page_down(ph.vaddr)).min().unwrap_or(0);
    let Some(hi) = loads()
        .map(|ph| {
            ph.vaddr
                .checked_add(ph.memsz)
                .and_then(|e| e.checked_add(PAGE_SIZE - 1))
        })
        .try_fold(lo, |hi, end| end.map(|e| hi.max(page_down(e))))
    else {
        return Err(LoadError::Corrupt(
            path.to_path_buf(),
            "a PT_LOAD ends past the end of the address space".into(),
        ));
    };
    let span = hi - lo;
    if span > MAX_INTERP_SPAN {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            mib: span.div_ceil(1 << 20),
            max: MAX_INTERP_SPAN,
        });
    }
    let base = MMAP_TOP - span;
    if lo > base {
        return Err(LoadError::Corrupt(
            path.to_path_buf(),
            format!(
                "an ET_DYN interpreter's lowest PT_LOAD at {lo:#x} cannot be placed at {base:#x}"
            ),
        ));
    }
    Ok(base - lo)
}

/// The program's PT_INTERP entry, checked as Linux's `load_elf_binary()` checks it
/// (p_filesz from 2 to PATH_MAX, its bytes in the file, NUL-terminated): the path up
/// to its first NUL. Errors: [`LoadError::BadInterp`], [`LoadError::Io`].
fn interp_entry(
    path: &Path,
    source: &Source,
    ph: &Phdr,
    file_len: u64,
) -> Result<Vec<u8>, LoadError> {
    let bad = |why: String| LoadError::BadInterp(path.to_path_buf(), why);
    let (off, len) = (ph.offset, ph.filesz);
    if !(2..=PATH_MAX).contains(&len) {
        return Err(bad(format!(
            "p_filesz {len}: Linux takes 2 to {PATH_MAX} bytes (PATH_MAX)"
        )));
    }
    if off.checked_add(len).is_none_or(|end| end > file_len) {
        return Err(bad(format!(
            "{len} bytes at offset {off:#x} run past the end of the file ({file_len} bytes)"
        )));
    }
    let mut name = vec![0u8; len as usize];
    source
        .read_at(&mut name, off)
        .map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if name.last() != Some(&0) {
        return Err(bad("the path is not NUL-terminated".into()));
    }
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    name.truncate(end);
    Ok(name)
}

/// Read the headers from `source` and check the image, placed as `role` says.
fn read_image(path: &Path, source: Source, role: Role) -> Result<Image, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let corrupt = |why: String| LoadError::Corrupt(path.to_path_buf(), why);
    let file_len = source.len().map_err(io)?;
    let mut head = [0u8; EHDR];
    let head = &mut head[..file_len.min(EHDR as u64) as usize];
    source.read_at(head, 0).map_err(io)?;
    let eh = Ehdr::check(path, head)?;
    let table = u64::from(eh.phnum) * PHENT;
    if eh.phoff.checked_add(table).is_none_or(|end| end > file_len) {
        return Err(corrupt(format!(
            "the program headers at offset {:#x} run past the end of the file ({file_len} bytes)",
            eh.phoff
        )));
    }
    let mut raw = vec![0u8; table as usize];
    source.read_at(&mut raw, eh.phoff).map_err(io)?;
    let phdrs: Vec<Phdr> = raw
        .chunks_exact(PHENT as usize)
        .map(Phdr::from_bytes)
        .collect();
    // Linux follows the first PT_INTERP only.
    let interp = match phdrs.iter().find(|ph| ph.ptype == elf::PT_INTERP) {
        Some(ph) if role == Role::Program => Some(interp_entry(path, &source, ph, file_len)?),
        _ => None,
    };
    let (bias, top) = match (eh.etype, role) {
        (elf::ET_DYN, Role::Program) => (PIE_BASE, IMAGE_TOP),
        (elf::ET_DYN, Role::Interpreter) => (interp_bias(path, &phdrs)?, MMAP_TOP),
        _ => (0, IMAGE_TOP),
    };
    let mut segments = Vec::new();
    for ph in phdrs.iter().filter(|ph| ph.ptype == elf::PT_LOAD) {
        if let Some(s) = ph.segment(bias, file_len, top).map_err(corrupt)? {
            segments.push(s);
        }
    }
    if segments.is_empty() {
        return Err(corrupt("no loadable segment".into()));
    }
    // At most 73 segments below 2^47 each: the sum cannot overflow.
    let need: u64 = segments.iter().map(|s| s.end() - s.start()).sum();
    if need > MAX_IMAGE_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            mib: need.div_ceil(1 << 20),
            max: MAX_IMAGE_BYTES,
        });
    }
    let entry = eh.entry.wrapping_add(bias);
    if !segments
        .iter()
        .any(|s| s.vaddr <= entry && entry - s.vaddr < s.memsz && s.flags & elf::PF_X != 0)
    {
        return Err(corrupt(format!(
            "entry point {entry:#x} is not in an executable segment"
        )));
    }
    // binfmt_elf: the last PT_LOAD whose file bytes hold e_phoff maps the table.
    let phdr = segments
        .iter()
        .rev()
        .find(|s| s.offset <= eh.phoff && eh.phoff - s.offset < s.filesz)
        .map_or(0, |s| s.vaddr + (eh.phoff - s.offset));
    let brk = segments.iter().map(Segment::end).max().unwrap_or(0);
    Ok(Image {
        path: path.to_path_buf(),
        guest: None,
        segments,
        bias,
        entry,
        phdr,
        phnum: u64::from(eh.phnum),
        brk,
        interp,
        source,
        file_len,
    })
}

/// Page tables covering [lo, hi) at most need: one per 2 MiB, 1 GiB and 512 GiB
/// spanned (the last-level, middle and upper tables).
fn tables_bound(lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return 0;
    }
    [21, 30, 39]
        .iter()
        .map(|&shift| ((hi - 1) >> shift) - (lo >> shift) + 1)
        .sum()
}

impl Image {
    /// The open file the image was checked from (None for one parsed from bytes): what
    /// its pages are read from, kept open so that a rename or unlink meanwhile does not
    /// change them.
    pub fn file(&self) -> Option<&Arc<File>> {
        match &self.source {
            Source::File(f) => Some(f),
            Source::Bytes(_) => None,
        }
    }
}

impl Image {
    /// Frames that the segments can take in the image template, at most: their
    /// file-backed pages and the page tables for all their pages (a .bss takes tables
    /// only, its pages being allocated on first touch).
    pub fn frames_bound(&self) -> u64 {
        self.segments
            .iter()
            .map(|s| (s.file_end() - s.start()) / PAGE_SIZE + tables_bound(s.start(), s.end()))
            .sum()
    }

    /// Place the segments, in program-header order, as Linux's `load_elf_binary()` does
    /// (fs/binfmt_elf.c `elf_load()`): the file pages from the page of p_offset (mmap(2)
    /// of the file; bytes past the end of the file read as zeros), the rest of the last
    /// file page zeroed when a .bss follows (`padzero()`), then the .bss pages as
    /// zero-filled memory (`vm_brk_flags()`). File pages are read in pieces of
    /// [`PIECE`] bytes, so loading holds no more than one piece of the file. Errors: the
    /// file can no longer be read ([`LoadError::Io`]), or what `map` returns.
    pub fn map_segments<E: From<LoadError>>(
        &self,
        mut map: impl FnMut(Mapping<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut buf = Vec::new();
        for s in &self.segments {
            let limit = s.file_limit(self.file_len);
            let mut va = s.start();
            while va < s.file_end() {
                let size = (s.file_end() - va).min(PIECE);
                buf.resize(limit.min(va + size).saturating_sub(va) as usize, 0);
                self.source
                    .read_at(&mut buf, s.page_offset() + (va - s.start()))
                    .map_err(|source| LoadError::Io {
                        path: self.path.clone(),
                        source,
                    })?;
                map(Mapping::Pages {
                    va,
                    bytes: &buf,
                    size,
                    flags: s.flags,
                })?;
                va += size;
            }
            if s.end() > s.file_end() {
                map(Mapping::Zero {
                    va: s.file_end(),
                    len: s.end() - s.file_end(),
                    flags: s.flags,
                })?;
            }
        }
        Ok(())
    }

    /// The p_filesz bytes of segment `s` from the file.
    pub fn segment_bytes(&self, s: &Segment) -> Result<Vec<u8>, LoadError> {
        let mut v = vec![0u8; s.filesz as usize];
        self.source
            .read_at(&mut v, s.offset)
            .map_err(|source| LoadError::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(v)
    }
}

/// What execve(2) loads: the program and, for a dynamically linked one, its
/// interpreter, placed in one address space (see the module's documentation), as
/// Linux's `load_elf_binary()` does. Execution starts at the interpreter's entry when
/// there is one; the initial stack ([`build_stack`]) tells it where the program is
/// (AT_PHDR, AT_PHNUM, AT_ENTRY) and where it was itself loaded (AT_BASE).
#[derive(Clone, Debug)]
pub struct Exec {
    /// The program.
    pub program: Image,
    /// Its interpreter (PT_INTERP), when it has one.
    pub interp: Option<Image>,
}

impl Exec {
    /// Load `program`'s interpreter, if it names one: the path of its PT_INTERP is
    /// looked up in `sandbox` as the guest's open(2) would look it up from the working
    /// directory `cwd` (so a `--sysroot` is searched first; a relative path is relative
    /// to `cwd`), opened as Linux's `open_exec()` (a regular file with execute
    /// permission) and checked as an executable whose ET_DYN segments go at the top of
    /// the mmap area ([`interp_bias`]); its own PT_INTERP is ignored, as Linux does.
    /// Errors (exit status 255, as qemu-aarch64's): [`LoadError::InterpOpen`] (the
    /// errno of the lookup or open), [`LoadError::Interp`] (the file is not an AArch64
    /// ELF executable, or its headers are bad).
    pub fn new(program: Image, sandbox: &Sandbox, cwd: &Path) -> Result<Exec, LoadError> {
        let Some(name) = &program.interp else {
            return Ok(Exec {
                program,
                interp: None,
            });
        };
        let guest = PathBuf::from(std::ffi::OsStr::from_bytes(name));
        let (file, resolved) = sandbox
            .open_exec(cwd, name)
            .map_err(|e| LoadError::InterpOpen {
                program: program.path.clone(),
                interp: guest.clone(),
                source: std::io::Error::from_raw_os_error(e.0),
            })?;
        let mut interp = read_image(&guest, Source::File(Arc::new(file)), Role::Interpreter)
            .map_err(|e| LoadError::Interp {
                program: program.path.clone(),
                source: Box::new(e),
            })?;
        interp.guest = Some(resolved);
        Ok(Exec {
            program,
            interp: Some(interp),
        })
    }

    /// Check the program open as `file` ([`load_file`]: execve(2) of a file the guest
    /// named, `path` naming it in messages) and load its interpreter ([`Exec::new`]).
    pub fn from_file(
        path: &Path,
        file: File,
        sandbox: &Sandbox,
        cwd: &Path,
    ) -> Result<Exec, LoadError> {
        Exec::new(load_file(path, file)?, sandbox, cwd)
    }

    /// The images in the order they are mapped: the program, then its interpreter.
    pub fn images(&self) -> impl Iterator<Item = &Image> {
        std::iter::once(&self.program).chain(self.interp.as_ref())
    }

    /// Where execution starts: the interpreter's entry point, else the program's.
    pub fn entry(&self) -> u64 {
        self.interp.as_ref().unwrap_or(&self.program).entry
    }

    /// The initial program break: after the program's segments (not the
    /// interpreter's), as Linux's `mm->start_brk`.
    pub fn brk(&self) -> u64 {
        self.program.brk
    }

    /// AT_BASE: the interpreter's load bias (0 without one, or for an ET_EXEC one).
    pub fn base(&self) -> u64 {
        self.interp.as_ref().map_or(0, |i| i.bias)
    }

    /// The top of the mmap area (exclusive): [`MMAP_TOP`], or the first page of an
    /// interpreter placed there, so that mappings go below it as Linux's do.
    pub fn mmap_top(&self) -> u64 {
        self.interp
            .iter()
            .flat_map(|i| &i.segments)
            .map(Segment::start)
            .filter(|&a| a >= IMAGE_TOP)
            .fold(MMAP_TOP, u64::min)
    }

    /// Frames the segments of both images take in the template, at most
    /// ([`Image::frames_bound`]).
    pub fn frames_bound(&self) -> u64 {
        self.images().map(Image::frames_bound).sum()
    }

    /// Place every image's segments ([`Image::map_segments`]): the program's, then the
    /// interpreter's, which replace any pages they share (Linux maps an ET_EXEC
    /// interpreter with MAP_FIXED).
    pub fn map_segments<E: From<LoadError>>(
        &self,
        mut map: impl FnMut(Mapping<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.images().try_for_each(|img| img.map_segments(&mut map))
    }
}

// auxv types (include/uapi/linux/auxvec.h, arch/arm64/include/uapi/asm/auxvec.h).
const AT_NULL: u64 = 0;
const AT_PHDR: u64 = 3;
const AT_PHENT: u64 = 4;
const AT_PHNUM: u64 = 5;
const AT_PAGESZ: u64 = 6;
const AT_BASE: u64 = 7;
const AT_FLAGS: u64 = 8;
const AT_ENTRY: u64 = 9;
const AT_UID: u64 = 11;
const AT_EUID: u64 = 12;
const AT_GID: u64 = 13;
const AT_EGID: u64 = 14;
const AT_PLATFORM: u64 = 15;
const AT_HWCAP: u64 = 16;
const AT_CLKTCK: u64 = 17;
const AT_SECURE: u64 = 23;
const AT_RANDOM: u64 = 25;
const AT_HWCAP2: u64 = 26;
const AT_EXECFN: u64 = 31;
const AT_MINSIGSTKSZ: u64 = 51;

/// The initial stack of one process: `bytes` occupy `[sp, stack_top)`.
#[derive(Clone, Debug)]
pub struct StackImage {
    /// Initial SP (16-byte aligned), pointing at argc.
    pub sp: u64,
    /// Stack contents from `sp` up to the stack top.
    pub bytes: Vec<u8>,
}

/// Build the initial stack of `exec` for `argv` and `envp` (Linux fs/binfmt_elf.c
/// create_elf_tables). `execfn` is the program name as given (AT_EXECFN); `random` the
/// 16 AT_RANDOM bytes. AT_PHDR, AT_PHNUM and AT_ENTRY describe the program, AT_BASE
/// the interpreter's load bias (0 without one).
pub fn build_stack(
    exec: &Exec,
    argv: &[OsString],
    envp: &[OsString],
    execfn: &[u8],
    random: [u8; 16],
) -> StackImage {
    // Strings area, filled from the top down; remember each string's address.
    let mut strings: Vec<u8> = Vec::new();
    let push_str = |s: &[u8], strings: &mut Vec<u8>| -> u64 {
        let mut v = s.to_vec();
        v.push(0);
        v.extend_from_slice(strings);
        *strings = v;
        strings.len() as u64 // distance from the top
    };
    push_str(b"", &mut strings); // end marker word region (NUL)
    let execfn_d = push_str(execfn, &mut strings);
    let env_d: Vec<u64> = envp
        .iter()
        .rev()
        .map(|e| push_str(e.as_bytes(), &mut strings))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let arg_d: Vec<u64> = argv
        .iter()
        .rev()
        .map(|a| push_str(a.as_bytes(), &mut strings))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let platform_d = push_str(b"aarch64", &mut strings);
    let mut top_area = random.to_vec();
    top_area.extend_from_slice(&strings);
    let random_d = top_area.len() as u64;
    let strings_len = top_area.len() as u64;
    let addr = |d: u64| STACK_TOP - d;
    let (uid, euid, gid, egid) =
        // SAFETY: these libc calls have no preconditions and cannot fail.
        unsafe { (libc::getuid() as u64, libc::geteuid() as u64, libc::getgid() as u64, libc::getegid() as u64) };
    let auxv: Vec<(u64, u64)> = vec![
        (AT_HWCAP, HWCAP),
        (AT_PAGESZ, 4096),
        (AT_CLKTCK, 100),
        (AT_PHDR, exec.program.phdr),
        (AT_PHENT, PHENT),
        (AT_PHNUM, exec.program.phnum),
        (AT_BASE, exec.base()),
        (AT_FLAGS, 0),
        (AT_ENTRY, exec.program.entry),
        (AT_UID, uid),
        (AT_EUID, euid),
        (AT_GID, gid),
        (AT_EGID, egid),
        (AT_SECURE, 0),
        (AT_RANDOM, addr(random_d)),
        (AT_HWCAP2, 0),
        (AT_EXECFN, addr(execfn_d)),
        (AT_PLATFORM, addr(platform_d)),
        (AT_MINSIGSTKSZ, 5120),
        (AT_NULL, 0),
    ];
    let mut words: Vec<u64> = vec![argv.len() as u64];
    words.extend(arg_d.iter().map(|&d| addr(d)));
    words.push(0);
    words.extend(env_d.iter().map(|&d| addr(d)));
    words.push(0);
    for (k, v) in &auxv {
        words.push(*k);
        words.push(*v);
    }
    let table_len = words.len() as u64 * 8;
    let sp = (STACK_TOP - strings_len - table_len) & !15;
    let mut bytes = vec![0u8; (STACK_TOP - sp) as usize];
    for (i, w) in words.iter().enumerate() {
        bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    let off = (STACK_TOP - strings_len - sp) as usize;
    bytes[off..].copy_from_slice(&top_area);
    StackImage { sp, bytes }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_image() -> Image {
        Image {
            path: "p".into(),
            guest: None,
            segments: vec![],
            bias: 0,
            entry: 0x400000,
            phdr: 0x400040,
            phnum: 4,
            brk: 0x500000,
            interp: None,
            source: Source::Bytes(Arc::from(&[][..])),
            file_len: 0,
        }
    }

    #[test]
    fn stack_layout_matches_linux() {
        let argv: Vec<OsString> = vec!["prog".into(), "arg one".into()];
        let envp: Vec<OsString> = vec!["A=1".into()];
        let exec = Exec {
            program: fake_image(),
            interp: None,
        };
        let st = build_stack(&exec, &argv, &envp, b"prog", [7; 16]);
        assert_eq!(st.sp % 16, 0);
        assert_eq!(st.sp + st.bytes.len() as u64, STACK_TOP);
        let word = |i: usize| u64::from_le_bytes(st.bytes[i * 8..i * 8 + 8].try_into().unwrap());
        let cstr = |a: u64| {
            let off = (a - st.sp) as usize;
            let end = st.bytes[off..].iter().position(|&b| b == 0).unwrap();
            String::from_utf8(st.bytes[off..off + end].to_vec()).unwrap()
        };
        assert_eq!(word(0), 2);
        assert_eq!(cstr(word(1)), "prog");
        assert_eq!(cstr(word(2)), "arg one");
        assert_eq!(word(3), 0);
        assert_eq!(cstr(word(4)), "A=1");
        assert_eq!(word(5), 0);
        let mut i = 6;
        let mut seen_random = false;
        loop {
            let (k, v) = (word(i), word(i + 1));
            if k == AT_NULL {
                break;
            }
            if k == AT_RANDOM {
                let off = (v - st.sp) as usize;
                assert_eq!(&st.bytes[off..off + 16], &[7; 16]);
                seen_random = true;
            }
            if k == AT_PLATFORM {
                assert_eq!(cstr(v), "aarch64");
            }
            i += 2;
        }
        assert!(seen_random);
    }

    #[test]
    fn rejects_non_elf_and_truncated() {
        assert!(matches!(
            parse(Path::new("x"), b"#!/bin/sh\n"),
            Err(LoadError::NotElf(_))
        ));
        let mut h = vec![0u8; 20];
        h[..4].copy_from_slice(b"\x7fELF");
        h[4] = 2;
        h[5] = 1;
        assert!(matches!(
            parse(Path::new("x"), &h),
            Err(LoadError::Corrupt(..))
        ));
        h[4] = 1;
        assert!(matches!(
            parse(Path::new("x"), &h),
            Err(LoadError::WrongClass(_))
        ));
    }

    /// A program header: p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz.
    type Ph = (u32, u32, u64, u64, u64, u64);

    /// An ELF of `len` bytes (byte i of the file is `i as u8` after the headers), with
    /// these program headers at offset 64 and the entry at `entry`.
    fn elf(etype: u16, entry: u64, phdrs: &[Ph], len: usize) -> Vec<u8> {
        let mut f: Vec<u8> = (0..len).map(|i| i as u8).collect();
        f[..64].fill(0);
        f[..4].copy_from_slice(&elf::ELFMAG);
        f[4] = elf::ELFCLASS64;
        f[5] = elf::ELFDATA2LSB;
        f[6] = 1;
        f[16..18].copy_from_slice(&etype.to_le_bytes());
        f[18..20].copy_from_slice(&elf::EM_AARCH64.to_le_bytes());
        f[24..32].copy_from_slice(&entry.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, &(t, fl, off, va, filesz, memsz)) in phdrs.iter().enumerate() {
            let mut ph = [0u8; 56];
            ph[0..4].copy_from_slice(&t.to_le_bytes());
            ph[4..8].copy_from_slice(&fl.to_le_bytes());
            for (at, v) in [
                (8, off),
                (16, va),
                (24, va),
                (32, filesz),
                (40, memsz),
                (48, 4096),
            ] {
                ph[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            f[64 + 56 * i..120 + 56 * i].copy_from_slice(&ph);
        }
        f
    }

    /// A PT_LOAD: p_flags, p_offset, p_vaddr, p_filesz, p_memsz.
    const fn pt_load(flags: u32, off: u64, va: u64, filesz: u64, memsz: u64) -> Ph {
        (elf::PT_LOAD, flags, off, va, filesz, memsz)
    }

    const RX: u32 = elf::PF_R | elf::PF_X;
    const TEXT: Ph = pt_load(RX, 0, 0x40_0000, 0x1800, 0x1800);

    fn corrupt(phdrs: &[Ph], len: usize) -> String {
        match parse(Path::new("x"), &elf(elf::ET_EXEC, 0x40_0100, phdrs, len)) {
            Err(LoadError::Corrupt(_, why)) => why,
            other => panic!("expected a corrupt ELF, got {other:?}"),
        }
    }

    #[test]
    fn refuses_what_linux_refuses() {
        let data = |off, va, filesz, memsz| pt_load(elf::PF_R | elf::PF_W, off, va, filesz, memsz);
        let why = corrupt(&[TEXT, data(0x1000, 0x60_0000, 0x200, 0x100)], 0x2000);
        assert!(why.contains("exceeds p_memsz"), "{why}");
        let why = corrupt(&[TEXT, data(0x1010, 0x60_0000, 0x200, 0x400)], 0x2000);
        assert!(why.contains("not congruent"), "{why}");
        let why = corrupt(&[TEXT, data(0x1000, 0x60_0000, 0x1001, 0x2000)], 0x2000);
        assert!(why.contains("past the end of the file"), "{why}");
        let why = corrupt(
            &[
                TEXT,
                data(u64::MAX - 0xfff, 0x60_0000 - 0x1000, 0x2000, 0x2000),
            ],
            0x2000,
        );
        assert!(why.contains("past the end of the file"), "{why}");
        let why = corrupt(
            &[TEXT, data(0x1000, u64::MAX - 0xfff, 0x10, 0x2000)],
            0x2000,
        );
        assert!(why.contains("beyond the program area"), "{why}");
        let why = corrupt(
            &[TEXT, data(0x1000, IMAGE_TOP - 0x1000, 0x10, 0x1001)],
            0x2000,
        );
        assert!(why.contains("beyond the program area"), "{why}");
        // Linux's limit on the program header table: 73 headers of 56 bytes in 4 KiB.
        let many = vec![TEXT; 74];
        let why = corrupt(&many, 0x2000);
        assert!(why.contains("e_phnum 74"), "{why}");
        assert!(parse(
            Path::new("x"),
            &elf(elf::ET_EXEC, 0x40_0100, &many[..73], 0x2000)
        )
        .is_ok());
        let mut f = elf(elf::ET_EXEC, 0x40_0100, &[TEXT], 0x2000);
        f[54] = 64; // e_phentsize
        assert!(
            matches!(parse(Path::new("x"), &f), Err(LoadError::Corrupt(_, w)) if w.contains("e_phentsize 64"))
        );
        // A .bss of 1 TiB: refused, not allocated.
        let r = parse(
            Path::new("x"),
            &elf(
                elf::ET_EXEC,
                0x40_0100,
                &[TEXT, data(0x1000, 0x60_0000, 0x10, 1 << 40)],
                0x2000,
            ),
        );
        assert!(
            matches!(r, Err(LoadError::TooLarge { mib, .. }) if mib == (1 << 20) + 1),
            "{r:?}"
        );
    }

    /// Collect what map_segments places: (va, bytes, size) for file pages, (va, len) as
    /// zero pages (bytes empty, size = len).
    fn mappings(img: &Image) -> Vec<(u64, Vec<u8>, u64, bool)> {
        let mut v = Vec::new();
        img.map_segments(|m| {
            v.push(match m {
                Mapping::Pages {
                    va, bytes, size, ..
                } => (va, bytes.to_vec(), size, false),
                Mapping::Zero { va, len, .. } => (va, Vec::new(), len, true),
            });
            Ok::<(), LoadError>(())
        })
        .unwrap();
        v
    }

    #[test]
    fn bss_is_zero_pages_and_file_pages_are_mmap_pages() {
        // Data at file 0x1810 / va 0x60_0810: 0x100 file bytes, 3 MiB in memory.
        let data = pt_load(elf::PF_R | elf::PF_W, 0x1810, 0x60_0810, 0x100, 3 << 20);
        let f = elf(elf::ET_EXEC, 0x40_0100, &[TEXT, data], 0x2000);
        let img = parse(Path::new("x"), &f).unwrap();
        let m = mappings(&img);
        assert_eq!(m.len(), 3, "{m:?}");
        // Text: its last page holds the file's bytes up to the end of the page (no .bss).
        assert_eq!((m[0].0, m[0].2, m[0].3), (0x40_0000, 0x2000, false));
        assert_eq!(m[0].1, f[..0x2000]);
        // Data: the page of p_offset from its start, zero after p_filesz (padzero).
        assert_eq!((m[1].0, m[1].2, m[1].3), (0x60_0000, 0x1000, false));
        assert_eq!(m[1].1, f[0x1000..0x1910]);
        // The .bss: zero pages, taken on first touch.
        assert_eq!((m[2].0, m[2].2, m[2].3), (0x60_1000, 3 << 20, true));
        assert_eq!(img.brk, 0x60_0000 + (3 << 20) + 0x1000);
        assert_eq!(img.phdr, 0x40_0040);
        // Page tables for 3 MiB + a page, not frames for it.
        assert_eq!(img.frames_bound(), 2 + 3 + 1 + (2 + 1 + 1));
    }

    #[test]
    fn a_file_page_past_the_end_of_the_file_reads_zeros() {
        let text = pt_load(RX, 0, 0x40_0000, 0x1100, 0x1100);
        let f = elf(elf::ET_EXEC, 0x40_0100, &[text], 0x1100);
        let m = mappings(&parse(Path::new("x"), &f).unwrap());
        assert_eq!((m[0].0, m[0].2), (0x40_0000, 0x2000));
        assert_eq!(m[0].1, f);
    }

    #[test]
    fn static_pie_is_placed_at_the_pie_base() {
        let text = pt_load(RX, 0, 0, 0x1000, 0x1000);
        let img = parse(Path::new("x"), &elf(elf::ET_DYN, 0x100, &[text], 0x1000)).unwrap();
        assert_eq!(img.entry, PIE_BASE + 0x100);
        assert_eq!(img.segments[0].vaddr, PIE_BASE);
        assert_eq!(img.phdr, PIE_BASE + 64);
    }

    /// A PT_INTERP naming `name` (NUL included) at file offset 0x800.
    fn with_interp(etype: u16, entry: u64, loads: &[Ph], name: &[u8], len: usize) -> Vec<u8> {
        let mut phdrs = vec![(
            elf::PT_INTERP,
            elf::PF_R,
            0x800,
            0x800,
            name.len() as u64,
            0,
        )];
        phdrs.extend_from_slice(loads);
        let mut f = elf(etype, entry, &phdrs, len);
        f[0x800..0x800 + name.len()].copy_from_slice(name);
        f
    }

    /// The PT_INTERP entry as Linux's `load_elf_binary()` checks it (ENOEXEC for 2 >
    /// p_filesz > PATH_MAX or no NUL at its end; qemu-aarch64 exits 255 for each):
    /// the path up to its first NUL, the first PT_INTERP only.
    #[test]
    fn pt_interp_is_checked_as_linux() {
        let text = pt_load(RX, 0, 0x40_0000, 0x2000, 0x2000);
        let prog = |name: &[u8]| {
            parse(
                Path::new("p"),
                &with_interp(elf::ET_EXEC, 0x40_0100, &[text], name, 0x2000),
            )
        };
        assert_eq!(
            prog(b"/lib/ld.so\0").unwrap().interp.as_deref(),
            Some(&b"/lib/ld.so"[..])
        );
        assert_eq!(
            prog(b"/lib/a\0/b\0").unwrap().interp.as_deref(),
            Some(&b"/lib/a"[..])
        );
        // Two bytes is the least Linux takes: an empty path, which open finds nowhere.
        assert_eq!(prog(b"\0\0").unwrap().interp.as_deref(), Some(&b""[..]));
        for (name, why) in [
            (&b"\0"[..], "p_filesz 1"),
            (&b"/lib/ld.so"[..], "not NUL-terminated"),
            (&[b'/'; 4097][..], "p_filesz 4097"),
        ] {
            let mut name = name.to_vec();
            if name.len() == 4097 {
                name[4096] = 0;
            }
            let len = 0x800 + name.len().max(0x1800);
            let e = parse(
                Path::new("p"),
                &with_interp(elf::ET_EXEC, 0x40_0100, &[text], &name, len),
            );
            match e {
                Err(e @ LoadError::BadInterp(_, _)) => {
                    assert!(e.to_string().contains(why), "{e}");
                    assert_eq!(e.exit_status(), 255);
                }
                other => panic!("{why}: {other:?}"),
            }
        }
        let mut f = with_interp(elf::ET_EXEC, 0x40_0100, &[text], b"/lib/ld.so\0", 0x2000);
        f[64 + 8..64 + 16].copy_from_slice(&0x1ffcu64.to_le_bytes()); // p_offset
        let e = parse(Path::new("p"), &f).unwrap_err();
        assert!(
            matches!(e, LoadError::BadInterp(_, ref w) if w.contains("past the end of the file")),
            "{e}"
        );
        // PATH_MAX bytes exactly are taken.
        let mut name = vec![b'/'; 4096];
        name[4095] = 0;
        let img = parse(
            Path::new("p"),
            &with_interp(elf::ET_EXEC, 0x40_0100, &[text], &name, 0x2000),
        )
        .unwrap();
        assert_eq!(img.interp.map(|i| i.len()), Some(4095));
    }

    /// A sandbox over `dir` (its working directory) with `dir/sysroot` as the sysroot.
    fn sysroot_sandbox(dir: &Path) -> Sandbox {
        std::fs::create_dir_all(dir.join("sysroot/lib")).unwrap();
        Sandbox::new(crate::host::SandboxConfig {
            mounts: vec![],
            cwd: dir.to_path_buf(),
            exe: "/bin/true".into(),
            hide: vec![],
            sysroot: Some(dir.join("sysroot")),
        })
        .unwrap()
    }

    /// Write an executable file.
    fn put_exe(path: &Path, bytes: &[u8]) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, bytes).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// An ET_DYN interpreter (like ld.so: text at 0, data after it, entry in the text).
    fn interp_file() -> Vec<u8> {
        elf(
            elf::ET_DYN,
            0x120,
            &[
                pt_load(RX, 0, 0, 0x1800, 0x1800),
                pt_load(elf::PF_R | elf::PF_W, 0x1800, 0x11800, 0x100, 0x3000),
            ],
            0x2000,
        )
    }

    /// A program naming `name` as its interpreter (text and a data segment with a .bss).
    fn dyn_program_file(name: &[u8]) -> Vec<u8> {
        let text = pt_load(RX, 0, 0x40_0000, 0x2000, 0x2000);
        let data = pt_load(elf::PF_R | elf::PF_W, 0x1000, 0x61_0000, 0x100, 0x5000);
        with_interp(elf::ET_EXEC, 0x40_0100, &[text, data], name, 0x2000)
    }

    /// [`dyn_program_file`], checked.
    fn dyn_program(name: &[u8]) -> Image {
        parse(Path::new("prog"), &dyn_program_file(name)).unwrap()
    }

    /// The interpreter is found through the sandbox, the sysroot first, and placed as
    /// Linux's `load_elf_binary()` places it: an ET_DYN one at the top of the mmap
    /// area, whose start moves below it; execution starts at its entry; the stack tells
    /// it AT_BASE, and the program's AT_PHDR, AT_PHNUM and AT_ENTRY; the break follows
    /// the program.
    #[test]
    fn the_interpreter_is_found_in_the_sysroot_and_placed_at_the_top_of_the_mmap_area() {
        let d = tempfile::tempdir().unwrap();
        let sb = sysroot_sandbox(d.path());
        put_exe(&d.path().join("sysroot/lib/ld.so"), &interp_file());
        // The program as execve(2) has it: a file opened in the sandbox.
        put_exe(&d.path().join("prog"), &dyn_program_file(b"/lib/ld.so\0"));
        let (file, _) = sb.open_exec(d.path(), b"prog").unwrap();
        let exec = Exec::from_file(Path::new("prog"), file, &sb, d.path()).unwrap();
        let interp = exec.interp.as_ref().unwrap();
        assert_eq!(interp.path, Path::new("/lib/ld.so"));
        assert_eq!(interp.interp, None);
        // Its span, 0x15000 bytes (the .bss's last page included), ends at MMAP_TOP.
        let base = MMAP_TOP - 0x15000;
        assert_eq!(interp.bias, base);
        assert_eq!(exec.base(), base);
        assert_eq!(interp.segments[0].vaddr, base);
        assert_eq!(interp.segments[1].end(), MMAP_TOP);
        assert_eq!(exec.mmap_top(), base);
        assert_eq!(exec.entry(), base + 0x120);
        assert_eq!(exec.brk(), 0x61_5000);
        assert_eq!(
            exec.frames_bound(),
            exec.program.frames_bound() + interp.frames_bound()
        );
        // The template gets the program's pages, then the interpreter's.
        let mut firsts = Vec::new();
        exec.map_segments(|m| {
            if let Mapping::Pages { va, .. } = m {
                firsts.push(va);
            }
            Ok::<(), LoadError>(())
        })
        .unwrap();
        assert_eq!(firsts, [0x40_0000, 0x61_0000, base, base + 0x11000]);
        // The auxv: AT_BASE, and AT_PHDR/AT_PHNUM/AT_ENTRY of the program.
        let st = build_stack(&exec, &["prog".into()], &[], b"prog", [0; 16]);
        let auxv = auxv_of(&st);
        assert_eq!(auxv[&AT_BASE], base);
        assert_eq!(auxv[&AT_ENTRY], 0x40_0100);
        assert_eq!(auxv[&AT_PHDR], 0x40_0040);
        assert_eq!(auxv[&AT_PHNUM], 3);
        assert_eq!(auxv[&AT_PHENT], 56);
    }

    /// The auxv pairs of an initial stack (argc, argv, NULL, envp, NULL, auxv).
    fn auxv_of(st: &StackImage) -> std::collections::HashMap<u64, u64> {
        let word = |i: usize| u64::from_le_bytes(st.bytes[i * 8..i * 8 + 8].try_into().unwrap());
        let mut i = word(0) as usize + 2;
        while word(i) != 0 {
            i += 1;
        }
        let mut m = std::collections::HashMap::new();
        i += 1;
        while word(i) != AT_NULL {
            m.insert(word(i), word(i + 1));
            i += 2;
        }
        m
    }

    /// An ET_EXEC interpreter stays at its addresses (AT_BASE 0, as Linux's
    /// `load_elf_interp()` gives it) and leaves the mmap area alone; a static program
    /// has AT_BASE 0 and starts at its own entry. A relative PT_INTERP is looked up
    /// from the working directory, and not in the sysroot.
    #[test]
    fn an_et_exec_interpreter_stays_at_its_addresses() {
        let d = tempfile::tempdir().unwrap();
        let sb = sysroot_sandbox(d.path());
        let text = pt_load(RX, 0, 0x1000_0000, 0x1000, 0x1000);
        put_exe(
            &d.path().join("ld-exec"),
            &elf(elf::ET_EXEC, 0x1000_0010, &[text], 0x1000),
        );
        let exec = Exec::new(dyn_program(b"ld-exec\0"), &sb, d.path()).unwrap();
        assert_eq!(
            (exec.base(), exec.entry(), exec.mmap_top()),
            (0, 0x1000_0010, MMAP_TOP)
        );
        let text = pt_load(RX, 0, 0x40_0000, 0x2000, 0x2000);
        let prog = parse(
            Path::new("p"),
            &elf(elf::ET_EXEC, 0x40_0100, &[text], 0x2000),
        )
        .unwrap();
        let exec = Exec::new(prog, &sb, d.path()).unwrap();
        assert!(exec.interp.is_none());
        assert_eq!(
            (exec.base(), exec.entry(), exec.mmap_top()),
            (0, 0x40_0100, MMAP_TOP)
        );
    }

    /// What Linux's execve(2) and qemu-aarch64 refuse of an interpreter: one that
    /// cannot be opened (ENOENT; EACCES for a directory or a file without execute
    /// permission), that is not ELF or not AArch64 (Linux: ELIBBAD); each exits 255, as
    /// qemu-aarch64. One with a PT_INTERP of its own loads, that PT_INTERP ignored.
    #[test]
    fn interpreters_linux_refuses_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let sb = sysroot_sandbox(d.path());
        let lib = d.path().join("sysroot/lib");
        put_exe(&lib.join("text"), b"#!/bin/sh\n");
        put_exe(&d.path().join("text"), b"#!/bin/sh\n");
        let mut x86 = interp_file();
        x86[18..20].copy_from_slice(&elf::EM_X86_64.to_le_bytes());
        put_exe(&lib.join("x86"), &x86);
        std::fs::write(lib.join("noexec"), interp_file()).unwrap();
        std::fs::set_permissions(lib.join("noexec"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let text = pt_load(RX, 0, 0, 0x1000, 0x1000);
        put_exe(
            &lib.join("nested"),
            &with_interp(elf::ET_DYN, 0x10, &[text], b"/nonexistent\0", 0x1000),
        );
        let load = |name: &[u8]| Exec::new(dyn_program(name), &sb, d.path());
        let os = |e: &LoadError| match e {
            LoadError::InterpOpen { source, .. } => source.raw_os_error(),
            _ => None,
        };
        for (name, errno) in [
            (&b"/lib/missing\0"[..], libc::ENOENT),
            (b"/lib\0", libc::EACCES),
            (b"/lib/noexec\0", libc::EACCES),
            (b"text/\0", libc::ENOTDIR),
        ] {
            let e = load(name).unwrap_err();
            assert_eq!(os(&e), Some(errno), "{e}");
            assert_eq!(e.exit_status(), 255);
            let name = String::from_utf8_lossy(&name[..name.len() - 1]);
            let want = format!("prog: cannot open its interpreter {name}: ");
            assert!(e.to_string().starts_with(&want), "{e}");
        }
        let e = load(b"/lib/text\0").unwrap_err();
        assert!(
            matches!(&e, LoadError::Interp { source, .. } if matches!(**source, LoadError::NotElf(_))),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "prog: interpreter /lib/text: not an ELF executable"
        );
        assert_eq!(e.exit_status(), 255);
        let e = load(b"/lib/x86\0").unwrap_err();
        assert!(
            e.to_string()
                .contains("/lib/x86: ELF for machine 62 (x86-64)"),
            "{e}"
        );
        assert_eq!(e.exit_status(), 255);
        let exec = load(b"/lib/nested\0").unwrap();
        assert_eq!(exec.interp.as_ref().map(|i| i.interp.clone()), Some(None));
        assert_eq!(exec.entry(), MMAP_TOP - 0x1000 + 0x10);
    }

    #[test]
    fn special_files_are_refused_before_opening() {
        for (path, what) in [("/dev/zero", "a character device"), ("/", "a directory")] {
            match load(Path::new(path)) {
                Err(e @ LoadError::NotRegular { kind, .. }) if kind == what => {
                    assert_eq!(e.exit_status(), 126)
                }
                other => panic!("{path}: {other:?}"),
            }
        }
    }
}
