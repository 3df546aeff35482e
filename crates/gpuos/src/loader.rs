//! ELF loading and the initial process stack.
//!
//! Accepts static and static-PIE ELF64 AArch64 executables (System V gABI, "ELF-64
//! Object File Format"; AArch64 ELF ABI) and builds the initial stack exactly as Linux's
//! `create_elf_tables()` (fs/binfmt_elf.c) lays it out: argc, argv pointers, NULL, envp
//! pointers, NULL, auxv pairs ending with AT_NULL, then the strings and AT_RANDOM bytes
//! above; SP 16-byte aligned at argc.

use object::elf;
use object::read::elf::{FileHeader, ProgramHeader};
use object::Endianness;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Where a static-PIE executable is placed (page aligned, like Linux's ELF_ET_DYN_BASE).
pub const PIE_BASE: u64 = 0x5555_5550_0000;
/// Top of the stack (exclusive).
pub const STACK_TOP: u64 = 0x7fff_f000_0000;
/// Stack reserved below [`STACK_TOP`], in bytes (Linux's default RLIMIT_STACK).
pub const STACK_SIZE: u64 = 8 << 20;
/// Top of the mmap area (it grows down from here).
pub const MMAP_TOP: u64 = STACK_TOP - STACK_SIZE - (1 << 20);
/// The page holding the signal return trampoline (see `MachineHdr::sigtramp`).
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
    /// Needs a dynamic linker.
    #[error("{0}: dynamically linked programs are not supported yet (link with -static)")]
    Dynamic(PathBuf),
    /// Malformed headers or segments.
    #[error("{0}: corrupt ELF: {1}")]
    Corrupt(PathBuf, String),
}

impl LoadError {
    /// The exit status the CLI reports (127: not found, 126: cannot execute), as a shell does.
    pub fn exit_status(&self) -> i32 {
        match self {
            LoadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => 127,
            _ => 126,
        }
    }
}

/// One PT_LOAD segment, already relocated by the load bias.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Guest virtual address of the first byte.
    pub vaddr: u64,
    /// File bytes (filesz of them).
    pub data: Vec<u8>,
    /// Size in memory (>= data.len(); the rest is zero).
    pub memsz: u64,
    /// PF_R | PF_W | PF_X.
    pub flags: u32,
}

/// A loaded executable image.
#[derive(Clone, Debug)]
pub struct Image {
    /// Host path of the program.
    pub path: PathBuf,
    /// Segments to map.
    pub segments: Vec<Segment>,
    /// Entry point (relocated).
    pub entry: u64,
    /// Address of the program headers in guest memory (AT_PHDR).
    pub phdr: u64,
    /// Number of program headers (AT_PHNUM).
    pub phnum: u64,
    /// Initial program break: page-aligned end of the highest segment.
    pub brk: u64,
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

/// Read and check an executable. Errors: see [`LoadError`].
pub fn load(path: &Path) -> Result<Image, LoadError> {
    let data = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &data)
}

/// Parse an executable already in memory.
pub fn parse(path: &Path, data: &[u8]) -> Result<Image, LoadError> {
    let p = || path.to_path_buf();
    if data.len() < 16 || &data[..4] != b"\x7fELF" {
        return Err(LoadError::NotElf(p()));
    }
    if data[4] != elf::ELFCLASS64 || data[5] != elf::ELFDATA2LSB {
        return Err(LoadError::WrongClass(p()));
    }
    let hdr = elf::FileHeader64::<Endianness>::parse(data)
        .map_err(|e| LoadError::Corrupt(p(), e.to_string()))?;
    let endian = hdr
        .endian()
        .map_err(|e| LoadError::Corrupt(p(), e.to_string()))?;
    let machine = hdr.e_machine(endian);
    if machine != elf::EM_AARCH64 {
        return Err(LoadError::WrongMachine {
            path: p(),
            machine,
            name: machine_name(machine),
        });
    }
    let etype = hdr.e_type(endian);
    if etype != elf::ET_EXEC && etype != elf::ET_DYN {
        return Err(LoadError::NotExecutable(p(), etype));
    }
    let phdrs = hdr
        .program_headers(endian, data)
        .map_err(|e| LoadError::Corrupt(p(), e.to_string()))?;
    if phdrs.iter().any(|ph| ph.p_type(endian) == elf::PT_INTERP) {
        return Err(LoadError::Dynamic(p()));
    }
    let bias = if etype == elf::ET_DYN { PIE_BASE } else { 0 };
    let phoff = hdr.e_phoff(endian);
    let mut segments = Vec::new();
    let mut phdr_addr = None;
    let mut end = 0u64;
    for ph in phdrs {
        match ph.p_type(endian) {
            elf::PT_PHDR => phdr_addr = Some(ph.p_vaddr(endian) + bias),
            elf::PT_LOAD => {
                let (off, filesz, memsz, vaddr) = (
                    ph.p_offset(endian),
                    ph.p_filesz(endian),
                    ph.p_memsz(endian),
                    ph.p_vaddr(endian),
                );
                let bytes = off
                    .checked_add(filesz)
                    .and_then(|e| data.get(off as usize..e as usize))
                    .ok_or_else(|| {
                        LoadError::Corrupt(
                            p(),
                            format!("segment at offset {off:#x} runs past the end of the file"),
                        )
                    })?;
                let top = vaddr.checked_add(memsz).and_then(|t| t.checked_add(bias));
                if memsz < filesz || top.is_none_or(|t| t > MMAP_TOP - (2 << 30)) {
                    return Err(LoadError::Corrupt(
                        p(),
                        format!("bad segment at {vaddr:#x} (memsz {memsz:#x})"),
                    ));
                }
                if phdr_addr.is_none() && off <= phoff && phoff < off + filesz {
                    phdr_addr = Some(vaddr + bias + (phoff - off));
                }
                end = end.max(vaddr + bias + memsz);
                segments.push(Segment {
                    vaddr: vaddr + bias,
                    data: bytes.to_vec(),
                    memsz,
                    flags: ph.p_flags(endian),
                });
            }
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(LoadError::Corrupt(p(), "no loadable segment".into()));
    }
    let entry = hdr.e_entry(endian) + bias;
    if !segments
        .iter()
        .any(|s| s.vaddr <= entry && entry < s.vaddr + s.memsz && s.flags & elf::PF_X != 0)
    {
        return Err(LoadError::Corrupt(
            p(),
            format!("entry point {entry:#x} is not in an executable segment"),
        ));
    }
    Ok(Image {
        path: path.to_path_buf(),
        segments,
        entry,
        phdr: phdr_addr.unwrap_or(0),
        phnum: phdrs.len() as u64,
        brk: (end + 0xfff) & !0xfff,
    })
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

/// Build the initial stack for `argv` and `envp` (Linux fs/binfmt_elf.c
/// create_elf_tables). `execfn` is the program name as given (AT_EXECFN); `random` the
/// 16 AT_RANDOM bytes.
pub fn build_stack(
    img: &Image,
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
        (AT_PHDR, img.phdr),
        (AT_PHENT, 56),
        (AT_PHNUM, img.phnum),
        (AT_BASE, 0),
        (AT_FLAGS, 0),
        (AT_ENTRY, img.entry),
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
            segments: vec![],
            entry: 0x400000,
            phdr: 0x400040,
            phnum: 4,
            brk: 0x500000,
        }
    }

    #[test]
    fn stack_layout_matches_linux() {
        let argv: Vec<OsString> = vec!["prog".into(), "arg one".into()];
        let envp: Vec<OsString> = vec!["A=1".into()];
        let st = build_stack(&fake_image(), &argv, &envp, b"prog", [7; 16]);
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
}
