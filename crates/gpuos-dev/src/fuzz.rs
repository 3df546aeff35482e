//! Differential instruction fuzzer: runs random valid A64 instruction sequences under
//! gpuos and under a reference (qemu-aarch64) and compares every register and flag.
//!
//! Each test is a freestanding ELF64 AArch64 executable generated here (one RWX
//! `PT_LOAD`, no libc): a prologue loads random X0..X30, SP, V0..V31, NZCV, FPCR and
//! FPSR from a data area, the random instructions run, and an epilogue stores every
//! register back (X0 parked in TPIDR_EL0 while the base address is rebuilt, so no
//! register is reserved) and writes the area to stdout, then `exit_group(0)`. Both
//! `qemu-aarch64 -cpu cortex-a57` and `gpuos run --backend cpu` run the file and their
//! stdout bytes are compared.
//!
//! Instructions come from [`gpuos::tables::A64_TABLE`]: a random entry of the chosen
//! classes with its operand and don't-care bits random. Random fields often land on
//! unallocated encodings, so candidates are first *screened* under qemu (a program
//! with a SIGILL handler that skips and records each faulting instruction): the ones
//! qemu accepts form the sequences; a sample of the ones it rejects run alone, and gpuos
//! must then die with SIGILL too (exit status 132).

use gpuos::tables::{self, A64Entry};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------
// Random numbers

/// SplitMix64: small, seedable, good enough for test generation.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x6a09_e667_f3bc_c909)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// A random number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

// ---------------------------------------------------------------------------------
// Instruction classes

/// Instruction classes, by decode-table file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Integer data processing (kernel/a64/dp_imm, dp_reg).
    Int,
    /// Scalar floating point (kernel/a64/fp_*).
    Fp,
    /// Advanced SIMD, without loads and stores (kernel/a64/simd_* but simd_ldst).
    Simd,
}

impl Class {
    /// All classes.
    pub const ALL: [Class; 3] = [Class::Int, Class::Fp, Class::Simd];

    /// Parse `int`, `fp`, `simd` or `all` (comma-separated lists allowed).
    pub fn parse_list(s: &str) -> Result<Vec<Class>, String> {
        let mut out = BTreeSet::new();
        for w in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match w {
                "int" => {
                    out.insert(Class::Int);
                }
                "fp" => {
                    out.insert(Class::Fp);
                }
                "simd" => {
                    out.insert(Class::Simd);
                }
                "all" => out.extend(Class::ALL),
                _ => {
                    return Err(format!(
                        "unknown instruction class {w:?} (expected int, fp, simd or all)"
                    ))
                }
            }
        }
        if out.is_empty() {
            return Err("no instruction class given".into());
        }
        Ok(out.into_iter().collect())
    }
}

/// The class of a decode-table entry, or None when it must not run in straight-line
/// fuzz code (branches, system instructions, loads and stores).
pub fn class_of(e: &A64Entry) -> Option<Class> {
    let file = e.source.rsplit('/').next().unwrap_or(e.source);
    let file = file.split(':').next().unwrap_or(file);
    let stem = file.strip_suffix(".table").unwrap_or(file);
    match stem {
        "dp_imm" | "dp_reg" => Some(Class::Int),
        "simd_ldst" => None,
        s if s.starts_with("fp_") => Some(Class::Fp),
        s if s.starts_with("simd_") => Some(Class::Simd),
        _ => None,
    }
}

/// The decode-table entries of `classes`.
pub fn entries(classes: &[Class]) -> Vec<&'static A64Entry> {
    tables::A64_TABLE
        .iter()
        .filter(|e| class_of(e).is_some_and(|c| classes.contains(&c)))
        .collect()
}

/// A random instruction word: a random entry of `pool`, every non-fixed bit random.
/// Rejects words that the most specific table entry would put outside the classes.
pub fn random_insn(rng: &mut Rng, pool: &[&'static A64Entry], classes: &[Class]) -> u32 {
    loop {
        let e = pool[rng.below(pool.len() as u64) as usize];
        let w = (rng.next_u64() as u32 & !e.mask) | e.value;
        match tables::decode(w) {
            Some(d) if !class_of(d).is_some_and(|c| classes.contains(&c)) => continue,
            _ => return w,
        }
    }
}

// ---------------------------------------------------------------------------------
// A64 encodings used by the generated prologue/epilogue

/// Small A64 assembler for the fixed parts of the generated programs.
pub mod asm {
    /// MOVZ Xd, #imm16, LSL #(16*hw).
    pub fn movz(d: u32, imm: u32, hw: u32) -> u32 {
        0xd280_0000 | hw << 21 | (imm & 0xffff) << 5 | d
    }
    /// MOVK Xd, #imm16, LSL #(16*hw).
    pub fn movk(d: u32, imm: u32, hw: u32) -> u32 {
        0xf280_0000 | hw << 21 | (imm & 0xffff) << 5 | d
    }
    /// Load a 32-bit address into Xd (two instructions).
    pub fn mov_addr(d: u32, a: u64) -> [u32; 2] {
        assert!(a < 1 << 32);
        [movz(d, a as u32 & 0xffff, 0), movk(d, (a >> 16) as u32, 1)]
    }
    /// LDR Xt, [Xn, #off] (unsigned offset, multiple of 8).
    pub fn ldr_x(t: u32, n: u32, off: u32) -> u32 {
        assert!(off.is_multiple_of(8) && off / 8 < 4096);
        0xf940_0000 | (off / 8) << 10 | n << 5 | t
    }
    /// STR Xt, [Xn, #off].
    pub fn str_x(t: u32, n: u32, off: u32) -> u32 {
        assert!(off.is_multiple_of(8) && off / 8 < 4096);
        0xf900_0000 | (off / 8) << 10 | n << 5 | t
    }
    fn imm7(off: u32, scale: u32) -> u32 {
        assert!(off.is_multiple_of(scale) && off / scale < 64);
        (off / scale) << 15
    }
    /// LDP Xt1, Xt2, [Xn, #off] (0 <= off <= 504).
    pub fn ldp_x(t1: u32, t2: u32, n: u32, off: u32) -> u32 {
        0xa940_0000 | imm7(off, 8) | t2 << 10 | n << 5 | t1
    }
    /// STP Xt1, Xt2, [Xn, #off].
    pub fn stp_x(t1: u32, t2: u32, n: u32, off: u32) -> u32 {
        0xa900_0000 | imm7(off, 8) | t2 << 10 | n << 5 | t1
    }
    /// LDP Qt1, Qt2, [Xn, #off] (0 <= off <= 1008).
    pub fn ldp_q(t1: u32, t2: u32, n: u32, off: u32) -> u32 {
        0xad40_0000 | imm7(off, 16) | t2 << 10 | n << 5 | t1
    }
    /// STP Qt1, Qt2, [Xn, #off].
    pub fn stp_q(t1: u32, t2: u32, n: u32, off: u32) -> u32 {
        0xad00_0000 | imm7(off, 16) | t2 << 10 | n << 5 | t1
    }
    /// System registers for MSR/MRS: the o0:op1:CRn:CRm:op2 bits 19..5.
    pub const NZCV: u32 = 0xb_4200;
    /// FPCR.
    pub const FPCR: u32 = 0xb_4400;
    /// FPSR.
    pub const FPSR: u32 = 0xb_4420;
    /// TPIDR_EL0.
    pub const TPIDR_EL0: u32 = 0xb_d040;
    /// MSR sysreg, Xt.
    pub fn msr(reg: u32, t: u32) -> u32 {
        0xd510_0000 | reg | t
    }
    /// MRS Xt, sysreg.
    pub fn mrs(reg: u32, t: u32) -> u32 {
        0xd530_0000 | reg | t
    }
    /// ADD Xd|SP, Xn|SP, #imm12 (MOV to/from SP when imm is 0).
    pub fn add_imm(d: u32, n: u32, imm: u32) -> u32 {
        assert!(imm < 4096);
        0x9100_0000 | imm << 10 | n << 5 | d
    }
    /// SUB Xd, Xn, Xm.
    pub fn sub_reg(d: u32, n: u32, m: u32) -> u32 {
        0xcb00_0000 | m << 16 | n << 5 | d
    }
    /// LSR Xd, Xn, #sh.
    pub fn lsr(d: u32, n: u32, sh: u32) -> u32 {
        0xd340_fc00 | sh << 16 | n << 5 | d
    }
    /// STRB Wt, [Xn, Xm].
    pub fn strb_reg(t: u32, n: u32, m: u32) -> u32 {
        0x3820_6800 | m << 16 | n << 5 | t
    }
    /// SVC #0.
    pub const SVC0: u32 = 0xd400_0001;
    /// RET.
    pub const RET: u32 = 0xd65f_03c0;
}

// ---------------------------------------------------------------------------------
// ELF writer

/// Load address of the generated programs (file offset 0 maps here).
pub const BASE: u64 = 0x40_0000;
/// File offset (and BASE offset) of the data area.
pub const DATA_OFF: u64 = 0x100;

/// A freestanding ELF64 AArch64 `ET_EXEC` with one RWX `PT_LOAD` that maps the whole
/// file at [`BASE`] plus `bss` zero bytes; `image` is the file content after the
/// headers (it starts at file offset 0x78 and must leave room: callers place their
/// content at [`DATA_OFF`] through [`layout`]). `entry` is a guest address.
pub fn write_elf(body: &[u8], entry: u64, bss: u64) -> Vec<u8> {
    const EHSIZE: usize = 64;
    const PHENTSIZE: usize = 56;
    let filesz = (DATA_OFF as usize).max(EHSIZE + PHENTSIZE) + body.len();
    let mut f = Vec::with_capacity(filesz);
    // e_ident
    f.extend_from_slice(b"\x7fELF");
    f.extend_from_slice(&[2, 1, 1, 0]); // ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_SYSV
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_le_bytes()); // e_type ET_EXEC
    f.extend_from_slice(&183u16.to_le_bytes()); // e_machine EM_AARCH64
    f.extend_from_slice(&1u32.to_le_bytes()); // e_version
    f.extend_from_slice(&entry.to_le_bytes()); // e_entry
    f.extend_from_slice(&(EHSIZE as u64).to_le_bytes()); // e_phoff
    f.extend_from_slice(&0u64.to_le_bytes()); // e_shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // e_flags
    f.extend_from_slice(&(EHSIZE as u16).to_le_bytes()); // e_ehsize
    f.extend_from_slice(&(PHENTSIZE as u16).to_le_bytes()); // e_phentsize
    f.extend_from_slice(&1u16.to_le_bytes()); // e_phnum
    f.extend_from_slice(&64u16.to_le_bytes()); // e_shentsize
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shnum
    f.extend_from_slice(&0u16.to_le_bytes()); // e_shstrndx
    debug_assert_eq!(f.len(), EHSIZE);
    // PT_LOAD, RWX, whole file
    f.extend_from_slice(&1u32.to_le_bytes()); // p_type PT_LOAD
    f.extend_from_slice(&7u32.to_le_bytes()); // p_flags R|W|X
    f.extend_from_slice(&0u64.to_le_bytes()); // p_offset
    f.extend_from_slice(&BASE.to_le_bytes()); // p_vaddr
    f.extend_from_slice(&BASE.to_le_bytes()); // p_paddr
    f.extend_from_slice(&(filesz as u64).to_le_bytes()); // p_filesz
    f.extend_from_slice(&(filesz as u64 + bss).to_le_bytes()); // p_memsz
    f.extend_from_slice(&0x1000u64.to_le_bytes()); // p_align
    f.resize(DATA_OFF as usize, 0);
    f.extend_from_slice(body);
    f
}

/// Build a program: `data` at BASE+DATA_OFF (padded to 16 bytes), then `code`; entry
/// at the first instruction. Returns (ELF, address of the code).
pub fn layout(data: &[u8], code: &[u32], bss: u64) -> Vec<u8> {
    let mut body = data.to_vec();
    body.resize(data.len().div_ceil(16) * 16, 0);
    let entry = BASE + DATA_OFF + body.len() as u64;
    for w in code {
        body.extend_from_slice(&w.to_le_bytes());
    }
    write_elf(&body, entry, bss)
}

/// Address where [`layout`] puts the code after `data_len` bytes of data.
pub fn code_addr(data_len: usize) -> u64 {
    BASE + DATA_OFF + (data_len.div_ceil(16) * 16) as u64
}

// ---------------------------------------------------------------------------------
// Register state and the test program

/// Every register the test compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    /// X0..X30.
    pub x: [u64; 31],
    /// SP.
    pub sp: u64,
    /// V0..V31.
    pub v: [u128; 32],
    /// NZCV (bits 31..28).
    pub nzcv: u64,
    /// FPSR.
    pub fpsr: u64,
    /// FPCR.
    pub fpcr: u64,
}

// Dump layout (also the initial-value layout).
const OFF_X: u32 = 0;
const OFF_SP: u32 = 248;
const OFF_V: u32 = 256;
const OFF_NZCV: u32 = 768;
const OFF_FPSR: u32 = 776;
const OFF_FPCR: u32 = 784;
/// Size of the register dump a test program writes to stdout.
pub const DUMP_SIZE: usize = 800;

impl State {
    /// The dump bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; DUMP_SIZE];
        let mut put =
            |off: u32, v: &[u8]| b[off as usize..off as usize + v.len()].copy_from_slice(v);
        for (i, x) in self.x.iter().enumerate() {
            put(OFF_X + 8 * i as u32, &x.to_le_bytes());
        }
        put(OFF_SP, &self.sp.to_le_bytes());
        for (i, v) in self.v.iter().enumerate() {
            put(OFF_V + 16 * i as u32, &v.to_le_bytes());
        }
        put(OFF_NZCV, &self.nzcv.to_le_bytes());
        put(OFF_FPSR, &self.fpsr.to_le_bytes());
        put(OFF_FPCR, &self.fpcr.to_le_bytes());
        b
    }

    /// Decode a dump (None unless exactly [`DUMP_SIZE`] bytes).
    pub fn from_bytes(b: &[u8]) -> Option<State> {
        if b.len() != DUMP_SIZE {
            return None;
        }
        let u64_at =
            |off: u32| u64::from_le_bytes(b[off as usize..off as usize + 8].try_into().unwrap());
        let u128_at =
            |off: u32| u128::from_le_bytes(b[off as usize..off as usize + 16].try_into().unwrap());
        Some(State {
            x: std::array::from_fn(|i| u64_at(OFF_X + 8 * i as u32)),
            sp: u64_at(OFF_SP),
            v: std::array::from_fn(|i| u128_at(OFF_V + 16 * i as u32)),
            nzcv: u64_at(OFF_NZCV),
            fpsr: u64_at(OFF_FPSR),
            fpcr: u64_at(OFF_FPCR),
        })
    }

    /// One line per register that differs between `self` (reference) and `other`.
    pub fn diff(&self, other: &State, ref_name: &str, name: &str) -> Vec<String> {
        let mut d = Vec::new();
        for i in 0..31 {
            if self.x[i] != other.x[i] {
                d.push(format!(
                    "X{i}: {ref_name}={:#018x} {name}={:#018x}",
                    self.x[i], other.x[i]
                ));
            }
        }
        if self.sp != other.sp {
            d.push(format!(
                "SP: {ref_name}={:#018x} {name}={:#018x}",
                self.sp, other.sp
            ));
        }
        for i in 0..32 {
            if self.v[i] != other.v[i] {
                d.push(format!(
                    "V{i}: {ref_name}={:#034x} {name}={:#034x}",
                    self.v[i], other.v[i]
                ));
            }
        }
        for (n, a, b) in [
            ("NZCV", self.nzcv, other.nzcv),
            ("FPSR", self.fpsr, other.fpsr),
            ("FPCR", self.fpcr, other.fpcr),
        ] {
            if a != b {
                d.push(format!("{n}: {ref_name}={a:#010x} {name}={b:#010x}"));
            }
        }
        d
    }

    /// A random initial state, biased towards interesting integer and FP values.
    /// `ahp`: FPCR.AHP may be set (gpuos ignores it: half precision is always IEEE).
    pub fn random(rng: &mut Rng, ahp: bool) -> State {
        let fpcr = if rng.below(2) == 0 {
            0
        } else {
            // RMode (23:22), FZ (24), DN (25), AHP (26).
            let a = if ahp { rng.below(2) } else { 0 };
            (rng.below(4) << 22) | (rng.below(2) << 24) | (rng.below(2) << 25) | (a << 26)
        };
        State {
            x: std::array::from_fn(|_| random_int(rng)),
            sp: random_int(rng),
            v: std::array::from_fn(|_| {
                u128::from(random_half(rng)) | u128::from(random_half(rng)) << 64
            }),
            nzcv: rng.below(16) << 28,
            fpsr: 0,
            fpcr,
        }
    }
}

fn random_int(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0 => rng.below(33),
        1 => rng.below(33).wrapping_neg(),
        2 => [
            0,
            1,
            u64::MAX,
            1 << 63,
            (1 << 63) - 1,
            0xffff_ffff,
            0x8000_0000,
            0x7fff_ffff,
            0xffff_ffff_8000_0000,
        ][rng.below(9) as usize],
        3 => rng.next_u64() as u32 as u64,
        4 => (rng.next_u64() as u32 as i32) as u64,
        5 => rng.next_u64() & 0xffff,
        _ => rng.next_u64(),
    }
}

const F64_SPECIAL: [u64; 16] = [
    0,
    0x8000_0000_0000_0000,
    0x3ff0_0000_0000_0000, // 1.0
    0xbff0_0000_0000_0000, // -1.0
    0x7ff0_0000_0000_0000, // inf
    0xfff0_0000_0000_0000, // -inf
    0x7ff8_0000_0000_0000, // default qNaN
    0x7ff4_0000_0000_0001, // sNaN
    0xfff8_0000_0000_1234, // -qNaN with payload
    0x0000_0000_0000_0001, // smallest denormal
    0x000f_ffff_ffff_ffff, // largest denormal
    0x0010_0000_0000_0000, // smallest normal
    0x7fef_ffff_ffff_ffff, // largest finite
    0x3fe0_0000_0000_0000, // 0.5
    0x43e0_0000_0000_0000, // 2^63
    0x41e0_0000_0000_0000, // 2^31
];

const F32_SPECIAL: [u32; 16] = [
    0,
    0x8000_0000,
    0x3f80_0000,
    0xbf80_0000,
    0x7f80_0000,
    0xff80_0000,
    0x7fc0_0000,
    0x7fa0_0001,
    0xffc0_1234,
    0x0000_0001,
    0x007f_ffff,
    0x0080_0000,
    0x7f7f_ffff,
    0x3f00_0000,
    0x5f00_0000,
    0x4f00_0000,
];

fn random_f64(rng: &mut Rng) -> u64 {
    // Sign, exponent near the middle or anywhere, random mantissa.
    let sign = rng.below(2) << 63;
    let exp = if rng.below(2) == 0 {
        1023 - 40 + rng.below(80)
    } else {
        rng.below(2048)
    };
    let mant = if rng.below(4) == 0 {
        rng.next_u64() & 0xf_0000_0000_0000
    } else {
        rng.next_u64() & 0xf_ffff_ffff_ffff
    };
    sign | exp << 52 | mant
}

fn random_f32(rng: &mut Rng) -> u32 {
    let sign = (rng.below(2) as u32) << 31;
    let exp = if rng.below(2) == 0 {
        127 - 20 + rng.below(40)
    } else {
        rng.below(256)
    } as u32;
    let mant = if rng.below(4) == 0 {
        rng.next_u64() as u32 & 0x70_0000
    } else {
        rng.next_u64() as u32 & 0x7f_ffff
    };
    sign | exp << 23 | mant
}

fn random_half(rng: &mut Rng) -> u64 {
    match rng.below(8) {
        0 => F64_SPECIAL[rng.below(16) as usize],
        1 | 2 => random_f64(rng),
        3 => u64::from(F32_SPECIAL[rng.below(16) as usize]) | u64::from(random_f32(rng)) << 32,
        4 | 5 => u64::from(random_f32(rng)) | u64::from(random_f32(rng)) << 32,
        6 => random_int(rng),
        _ => rng.next_u64(),
    }
}

/// The test program: load `init`, run `insns`, dump every register to stdout.
pub fn test_program(init: &State, insns: &[u32]) -> Vec<u8> {
    let data = init.to_bytes();
    let da = BASE + DATA_OFF;
    let mut c: Vec<u32> = Vec::new();
    // Prologue: X0 = data area.
    c.extend(asm::mov_addr(0, da));
    for (reg, off) in [
        (asm::FPCR, OFF_FPCR),
        (asm::FPSR, OFF_FPSR),
        (asm::NZCV, OFF_NZCV),
    ] {
        c.push(asm::ldr_x(1, 0, off));
        c.push(asm::msr(reg, 1));
    }
    c.push(asm::ldr_x(1, 0, OFF_SP));
    c.push(asm::add_imm(31, 1, 0)); // mov sp, x1
    for i in (0..32).step_by(2) {
        c.push(asm::ldp_q(i, i + 1, 0, OFF_V + 16 * i));
    }
    for i in (2..30).step_by(2) {
        c.push(asm::ldp_x(i, i + 1, 0, OFF_X + 8 * i));
    }
    c.push(asm::ldr_x(30, 0, OFF_X + 240));
    c.push(asm::ldr_x(1, 0, OFF_X + 8));
    c.push(asm::ldr_x(0, 0, OFF_X));
    // The instructions under test.
    c.extend_from_slice(insns);
    // Epilogue: park X0 in TPIDR_EL0, rebuild the base in X0, store everything.
    c.push(asm::msr(asm::TPIDR_EL0, 0));
    c.extend(asm::mov_addr(0, da));
    for i in (1..31).step_by(2) {
        c.push(asm::stp_x(i, i + 1, 0, OFF_X + 8 * i));
    }
    c.push(asm::mrs(asm::TPIDR_EL0, 1));
    c.push(asm::str_x(1, 0, OFF_X));
    c.push(asm::add_imm(1, 31, 0)); // mov x1, sp
    c.push(asm::str_x(1, 0, OFF_SP));
    for (reg, off) in [
        (asm::FPCR, OFF_FPCR),
        (asm::FPSR, OFF_FPSR),
        (asm::NZCV, OFF_NZCV),
    ] {
        c.push(asm::mrs(reg, 1));
        c.push(asm::str_x(1, 0, off));
    }
    for i in (0..32).step_by(2) {
        c.push(asm::stp_q(i, i + 1, 0, OFF_V + 16 * i));
    }
    // write(1, data, DUMP_SIZE); exit_group(0)
    c.push(asm::add_imm(1, 0, 0));
    c.push(asm::movz(0, 1, 0));
    c.push(asm::movz(2, DUMP_SIZE as u32, 0));
    c.push(asm::movz(8, 64, 0));
    c.push(asm::SVC0);
    c.push(asm::movz(0, 0, 0));
    c.push(asm::movz(8, 94, 0));
    c.push(asm::SVC0);
    layout(&data, &c, 0)
}

/// Offset of `uc_mcontext.pc` in the AArch64 Linux `ucontext_t`.
const UC_PC: u32 = 440;
const ALTSTACK: usize = 32 << 10;

/// The screening program: installs a SIGILL handler (on an alternate stack) that marks
/// the faulting instruction in a flag array and skips it, runs `cands`, and writes one
/// byte per candidate (1 = SIGILL) to stdout.
pub fn screen_program(cands: &[u32]) -> Vec<u8> {
    // Data: stack_t at 0, sigaction at 32, flags at 64, alternate stack after them.
    let flags_off = 64usize;
    let alt_off = (flags_off + cands.len()).div_ceil(16) * 16;
    let data_len = alt_off + ALTSTACK;
    let da = BASE + DATA_OFF;
    let code = code_addr(data_len);
    let mut c: Vec<u32> = Vec::new();
    // sigaltstack(&ss, NULL)
    c.extend(asm::mov_addr(0, da));
    c.push(asm::movz(1, 0, 0));
    c.push(asm::movz(8, 132, 0));
    c.push(asm::SVC0);
    // rt_sigaction(SIGILL, &act, NULL, 8)
    c.push(asm::movz(0, 4, 0));
    c.extend(asm::mov_addr(1, da + 32));
    c.push(asm::movz(2, 0, 0));
    c.push(asm::movz(3, 8, 0));
    c.push(asm::movz(8, 134, 0));
    c.push(asm::SVC0);
    let cand_start = code + 4 * c.len() as u64;
    c.extend_from_slice(cands);
    // write(1, flags, n); exit_group(0)
    c.extend(asm::mov_addr(1, da + flags_off as u64));
    c.push(asm::movz(0, 1, 0));
    c.extend(asm::mov_addr(2, cands.len() as u64));
    c.push(asm::movz(8, 64, 0));
    c.push(asm::SVC0);
    c.push(asm::movz(0, 0, 0));
    c.push(asm::movz(8, 94, 0));
    c.push(asm::SVC0);
    // handler(sig, info, uc)
    let handler = code + 4 * c.len() as u64;
    c.push(asm::ldr_x(9, 2, UC_PC));
    c.extend(asm::mov_addr(10, cand_start));
    c.push(asm::sub_reg(11, 9, 10));
    c.push(asm::lsr(11, 11, 2));
    c.extend(asm::mov_addr(10, da + flags_off as u64));
    c.push(asm::movz(12, 1, 0));
    c.push(asm::strb_reg(12, 10, 11));
    c.push(asm::add_imm(9, 9, 4));
    c.push(asm::str_x(9, 2, UC_PC));
    c.push(asm::RET);
    // restorer: rt_sigreturn
    let restorer = code + 4 * c.len() as u64;
    c.push(asm::movz(8, 139, 0));
    c.push(asm::SVC0);

    let mut data = vec![0u8; data_len];
    data[0..8].copy_from_slice(&(da + alt_off as u64).to_le_bytes()); // ss_sp
    data[16..24].copy_from_slice(&(ALTSTACK as u64).to_le_bytes()); // ss_size
    const SA_SIGINFO: u64 = 4;
    const SA_ONSTACK: u64 = 0x0800_0000;
    const SA_RESTORER: u64 = 0x0400_0000;
    const SA_NODEFER: u64 = 0x4000_0000;
    data[32..40].copy_from_slice(&handler.to_le_bytes());
    data[40..48]
        .copy_from_slice(&(SA_SIGINFO | SA_ONSTACK | SA_RESTORER | SA_NODEFER).to_le_bytes());
    data[48..56].copy_from_slice(&restorer.to_le_bytes());
    layout(&data, &c, 0)
}

// ---------------------------------------------------------------------------------
// Running

/// How a run of one program ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exited with status 0 and wrote this register dump.
    Dump(Box<State>),
    /// Killed by SIGILL (qemu: the signal; gpuos: exit status 132).
    Sigill,
    /// Anything else: a description.
    Other(String),
}

/// Fuzzer settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Seed of the whole run.
    pub seed: u64,
    /// Number of instruction sequences.
    pub count: usize,
    /// Instructions per sequence.
    pub len: usize,
    /// Instruction classes.
    pub classes: Vec<Class>,
    /// The reference emulator.
    pub qemu: PathBuf,
    /// The gpuos executable (run as `gpuos run --backend cpu PROG`).
    pub gpuos: PathBuf,
    /// Keep every generated ELF here (otherwise a temporary directory is removed).
    pub keep: Option<PathBuf>,
    /// Parallel jobs (0: every core).
    pub threads: usize,
    /// Also run this many of the encodings qemu rejects, alone, expecting SIGILL
    /// (None: count / 4).
    pub undef_checks: Option<usize>,
    /// FPSR bits left out of the comparison. gpuos does not track OFC, UFC and IXC of
    /// FP arithmetic (kernel/fp.h), so the default is [`FPSR_UNTRACKED`].
    pub fpsr_ignore: u64,
    /// Also set FPCR.AHP in the random initial states (gpuos ignores AHP: kernel/fp.h).
    pub strict: bool,
    /// Print progress on stderr.
    pub verbose: bool,
    /// Run gpuos through the translation tier (`--translate always`): each program runs
    /// twice, the first run profiling it and caching its translation, the second, which
    /// is compared, starting with every block the first entered translated.
    pub translate: bool,
}

/// FPSR cumulative flags that gpuos does not track for FP arithmetic: OFC, UFC, IXC.
pub const FPSR_UNTRACKED: u64 = 0x1c;

/// One mismatch.
#[derive(Clone, Debug)]
pub struct Failure {
    /// Index of the test.
    pub index: usize,
    /// The instruction words.
    pub insns: Vec<u32>,
    /// Index into `insns` of the first instruction after which the states differ, when
    /// the prefix search found one.
    pub culprit: Option<usize>,
    /// Human-readable description.
    pub text: String,
}

/// Result of a fuzz run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Sequences whose dumps matched.
    pub matched: usize,
    /// Tests where both died with SIGILL (rejected encodings run alone, or sequences).
    pub sigill_both: usize,
    /// Candidate words screened, and how many qemu rejected.
    pub screened: usize,
    /// Words qemu rejected (SIGILL).
    pub rejected: usize,
    /// Mismatches.
    pub failures: Vec<Failure>,
    /// With `translate`: guest instructions of the compared gpuos runs, and how many of
    /// them ran translated (from `--verbose`'s tier-2 line).
    pub insns: u64,
    /// See `insns`.
    pub translated: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

fn tmp_dir(cfg: &Config) -> std::io::Result<(PathBuf, bool)> {
    if let Some(k) = &cfg.keep {
        std::fs::create_dir_all(k)?;
        return Ok((k.clone(), false));
    }
    let d = std::env::temp_dir().join(format!("gpuos-fuzz-{}-{}", std::process::id(), cfg.seed));
    std::fs::create_dir_all(&d)?;
    Ok((d, true))
}

/// Run `cmd` with stdout to a file and a timeout. Returns (status, stdout, stderr).
/// Write an executable file (qemu-user refuses files without execute permission).
fn write_exec(p: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(p, bytes)
        .and_then(|()| std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("{}: {e}", p.display()))
}

fn run_cmd(
    mut cmd: Command,
    out: &Path,
    timeout: Duration,
) -> Result<(ExitStatus, Vec<u8>, String), String> {
    use std::os::unix::process::CommandExt;
    let f = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let errp = out.with_extension("stderr");
    let ef = std::fs::File::create(&errp).map_err(|e| format!("{}: {e}", errp.display()))?;
    cmd.stdin(Stdio::null()).stdout(f).stderr(ef);
    // SAFETY: setrlimit is async-signal-safe; no allocation happens in the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &lim);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {:?}: {e}", cmd.get_program()))?;
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{:?} timed out after {timeout:?}",
                cmd.get_program()
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stdout = std::fs::read(out).map_err(|e| e.to_string())?;
    let stderr = std::fs::read_to_string(&errp).unwrap_or_default();
    let _ = std::fs::remove_file(out);
    let _ = std::fs::remove_file(&errp);
    Ok((status, stdout, stderr))
}

fn outcome(status: ExitStatus, stdout: &[u8], stderr: &str, is_gpuos: bool) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    if status.signal() == Some(4) || (is_gpuos && status.code() == Some(132)) {
        return Outcome::Sigill;
    }
    if status.code() == Some(0) {
        if let Some(s) = State::from_bytes(stdout) {
            return Outcome::Dump(Box::new(s));
        }
        return Outcome::Other(format!(
            "exit 0 with {} bytes of output instead of {DUMP_SIZE}",
            stdout.len()
        ));
    }
    let last = stderr.lines().last().unwrap_or("").trim();
    Outcome::Other(format!(
        "{status}{}{last}",
        if last.is_empty() { "" } else { ": " }
    ))
}

struct Runner<'a> {
    cfg: &'a Config,
    dir: PathBuf,
    /// Guest instructions of the compared translated runs, and those run translated.
    insns: AtomicUsize,
    translated: AtomicUsize,
}

/// From `gpuos run --verbose`'s tier-2 line ("... P% of N guest instructions ran
/// translated"): (instructions run translated, all instructions), rounded.
fn translated_share(stderr: &str) -> Option<(u64, u64)> {
    let l = stderr.lines().find(|l| l.starts_with("gpuos: tier 2:"))?;
    let mut w = l.split_whitespace().rev().skip(4);
    let n: u64 = w.next()?.parse().ok()?;
    w.next(); // "of"
    let pct: f64 = w.next()?.trim_end_matches('%').parse().ok()?;
    Some(((pct / 100.0 * n as f64).round() as u64, n))
}

impl Runner<'_> {
    fn qemu(&self, elf: &Path) -> Result<(ExitStatus, Vec<u8>, String), String> {
        let mut cmd = Command::new(&self.cfg.qemu);
        cmd.arg("-cpu")
            .arg("cortex-a57")
            .arg(elf)
            .current_dir(&self.dir);
        run_cmd(
            cmd,
            &elf.with_extension("qemu.out"),
            Duration::from_secs(60),
        )
    }

    fn gpuos_cmd(&self, elf: &Path, translate: bool) -> Command {
        let mut cmd = Command::new(&self.cfg.gpuos);
        cmd.arg("run")
            .arg("--backend")
            .arg("cpu")
            .arg("--threads")
            .arg("1")
            .arg("--max-insns")
            .arg("100000");
        if translate {
            // The translations of throw-away programs go to the fuzzer's own directory.
            cmd.arg("--translate")
                .arg("always")
                .arg("--verbose")
                .env("GPUOS_CACHE_DIR", self.dir.join("cache"));
        }
        cmd.arg(elf).current_dir(&self.dir);
        cmd
    }

    fn gpuos(&self, elf: &Path) -> Result<(ExitStatus, Vec<u8>, String), String> {
        let out = elf.with_extension("gpuos.out");
        if self.cfg.translate {
            // The profiling run; its translation lands in the cache for the next one.
            run_cmd(self.gpuos_cmd(elf, true), &out, Duration::from_secs(120))?;
            let (st, o, e) = run_cmd(self.gpuos_cmd(elf, true), &out, Duration::from_secs(120))?;
            if let Some((t, n)) = translated_share(&e) {
                self.insns.fetch_add(n as usize, Ordering::Relaxed);
                self.translated.fetch_add(t as usize, Ordering::Relaxed);
            }
            // Without the verbose lines, so that a failure shows gpuos's own last words.
            let e: String = e
                .lines()
                .filter(|l| !l.starts_with("gpuos: "))
                .map(|l| format!("{l}\n"))
                .collect();
            return Ok((st, o, e));
        }
        run_cmd(self.gpuos_cmd(elf, false), &out, Duration::from_secs(60))
    }

    /// Run one program under both; (qemu, gpuos).
    fn both(&self, name: &str, elf: &[u8]) -> Result<(Outcome, Outcome), String> {
        let p = self.dir.join(format!("{name}.elf"));
        write_exec(&p, elf)?;
        let (qs, qo, qe) = self.qemu(&p)?;
        let (gs, go, ge) = self.gpuos(&p)?;
        if self.cfg.keep.is_none() {
            let _ = std::fs::remove_file(&p);
        }
        let mask = |mut o: Outcome| {
            if let Outcome::Dump(s) = &mut o {
                s.fpsr &= !self.cfg.fpsr_ignore;
            }
            o
        };
        Ok((
            mask(outcome(qs, &qo, &qe, false)),
            mask(outcome(gs, &go, &ge, true)),
        ))
    }

    /// Screen candidates under qemu: true = qemu raised SIGILL.
    fn screen(&self, name: &str, cands: &[u32]) -> Result<Vec<bool>, String> {
        let p = self.dir.join(format!("{name}.elf"));
        write_exec(&p, &screen_program(cands))?;
        let (s, out, err) = self.qemu(&p)?;
        if self.cfg.keep.is_none() {
            let _ = std::fs::remove_file(&p);
        }
        if !s.success() || out.len() != cands.len() {
            return Err(format!(
                "screening program under qemu: {s}, {} bytes of output (want {}): {}",
                out.len(),
                cands.len(),
                err.trim()
            ));
        }
        Ok(out.iter().map(|&b| b != 0).collect())
    }
}

fn listing(insns: &[u32], mark: Option<usize>) -> String {
    let mut s = String::new();
    for (i, w) in insns.iter().enumerate() {
        let m = if Some(i) == mark {
            " <== first difference"
        } else {
            ""
        };
        let _ = writeln!(s, "    [{i}] {w:08x}  {}{m}", tables::disassemble(*w));
    }
    s
}

fn describe(q: &Outcome, g: &Outcome) -> String {
    match (q, g) {
        (Outcome::Dump(a), Outcome::Dump(b)) => {
            let d = a.diff(b, "qemu", "gpuos");
            format!(
                "    registers differ:\n{}",
                d.iter().map(|l| format!("      {l}\n")).collect::<String>()
            )
        }
        (Outcome::Sigill, other) => format!("    qemu: SIGILL, gpuos: {}\n", short(other)),
        (other, Outcome::Sigill) => format!(
            "    qemu: {}, gpuos: SIGILL (not implemented?)\n",
            short(other)
        ),
        (a, b) => format!("    qemu: {}, gpuos: {}\n", short(a), short(b)),
    }
}

fn short(o: &Outcome) -> String {
    match o {
        Outcome::Dump(_) => "exit 0 with a register dump".into(),
        Outcome::Sigill => "SIGILL".into(),
        Outcome::Other(s) => s.clone(),
    }
}

/// One comparison job.
struct Job {
    insns: Vec<u32>,
    init: State,
}

/// Compare one job; on a mismatch of a sequence, search the shortest differing prefix.
fn check(r: &Runner, index: usize, job: &Job) -> Result<Result<bool, Failure>, String> {
    let (q, g) = r.both(&format!("t{index}"), &test_program(&job.init, &job.insns))?;
    let sigill = q == Outcome::Sigill;
    if q == g && !matches!(q, Outcome::Other(_)) {
        return Ok(Ok(sigill));
    }
    let mut culprit = None;
    let mut detail = describe(&q, &g);
    if job.insns.len() > 1 {
        for k in 1..job.insns.len() {
            let (q2, g2) = r.both(
                &format!("t{index}p{k}"),
                &test_program(&job.init, &job.insns[..k]),
            )?;
            if q2 != g2 {
                culprit = Some(k - 1);
                detail = describe(&q2, &g2);
                break;
            }
        }
        if culprit.is_none() {
            culprit = Some(job.insns.len() - 1);
        }
    } else {
        culprit = Some(0);
    }
    let mut text = format!("test {index}:\n{}", listing(&job.insns, culprit));
    if let Some(c) = culprit {
        let _ = writeln!(
            text,
            "  after instruction [{c}] {:08x} ({}):",
            job.insns[c],
            tables::disassemble(job.insns[c])
        );
    }
    text.push_str(&detail);
    Ok(Err(Failure {
        index,
        insns: job.insns.clone(),
        culprit,
        text,
    }))
}

/// Run the fuzzer. Errors: the reference or gpuos could not be run.
pub fn run(cfg: &Config) -> Result<Report, String> {
    let start = Instant::now();
    let (dir, remove) = tmp_dir(cfg).map_err(|e| format!("temporary directory: {e}"))?;
    let runner = Runner {
        cfg,
        dir: dir.clone(),
        insns: AtomicUsize::new(0),
        translated: AtomicUsize::new(0),
    };
    let threads = if cfg.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        cfg.threads
    };
    let result = run_in(cfg, &runner, threads);
    if remove {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut rep = result?;
    rep.seconds = start.elapsed().as_secs_f64();
    rep.insns = runner.insns.load(Ordering::Relaxed) as u64;
    rep.translated = runner.translated.load(Ordering::Relaxed) as u64;
    Ok(rep)
}

fn run_in(cfg: &Config, runner: &Runner, threads: usize) -> Result<Report, String> {
    let mut rng = Rng::new(cfg.seed);
    let pool = entries(&cfg.classes);
    if pool.is_empty() {
        return Err("no decode-table entries in the chosen classes".into());
    }
    let mut rep = Report::default();
    let need = cfg.count * cfg.len;
    let want_undef = cfg.undef_checks.unwrap_or(cfg.count / 4);
    let mut valid: Vec<u32> = Vec::new();
    let mut invalid: Vec<u32> = Vec::new();
    // Screen in parallel rounds until enough valid words.
    const CHUNK: usize = 2000;
    let mut round = 0;
    while valid.len() < need || (invalid.len() < want_undef && round < 3) {
        let missing = need.saturating_sub(valid.len()).max(64);
        let n = (missing * 3 / 2).clamp(64, CHUNK * threads);
        let cands: Vec<u32> = (0..n)
            .map(|_| random_insn(&mut rng, &pool, &cfg.classes))
            .collect();
        let chunks: Vec<&[u32]> = cands.chunks(n.div_ceil(threads).max(1)).collect();
        let results: Vec<Result<Vec<bool>, String>> = std::thread::scope(|s| {
            let hs: Vec<_> = chunks
                .iter()
                .enumerate()
                .map(|(i, ch)| s.spawn(move || runner.screen(&format!("screen{round}_{i}"), ch)))
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("screening thread panicked".into()))
                })
                .collect()
        });
        for (ch, res) in chunks.iter().zip(results) {
            let flags = res?;
            for (&w, bad) in ch.iter().zip(flags) {
                rep.screened += 1;
                if bad {
                    rep.rejected += 1;
                    invalid.push(w);
                } else {
                    valid.push(w);
                }
            }
        }
        round += 1;
        if round > 50 {
            return Err(format!(
                "qemu rejects almost every candidate ({} of {})",
                rep.rejected, rep.screened
            ));
        }
    }
    if cfg.verbose {
        eprintln!(
            "gpuos fuzz: screened {} words under qemu, {} rejected (SIGILL)",
            rep.screened, rep.rejected
        );
    }
    let mut jobs: Vec<Job> = valid
        .chunks(cfg.len)
        .take(cfg.count)
        .map(|c| Job {
            insns: c.to_vec(),
            init: State::random(&mut rng, cfg.strict),
        })
        .collect();
    jobs.extend(invalid.iter().take(want_undef).map(|&w| Job {
        insns: vec![w],
        init: State::random(&mut rng, cfg.strict),
    }));

    let next = AtomicUsize::new(0);
    let out: Mutex<(Report, Option<String>)> = Mutex::new((rep, None));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs.len() {
                    break;
                }
                let r = check(runner, i, &jobs[i]);
                let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                match r {
                    Ok(Ok(true)) => o.0.sigill_both += 1,
                    Ok(Ok(false)) => o.0.matched += 1,
                    Ok(Err(f)) => {
                        if cfg.verbose {
                            eprint!("{}", f.text);
                        }
                        o.0.failures.push(f);
                    }
                    Err(e) => {
                        o.1.get_or_insert(e);
                        next.store(jobs.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let (mut rep, err) = out.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = err {
        return Err(e);
    }
    rep.failures.sort_by_key(|f| f.index);
    Ok(rep)
}

/// Summary of the failures grouped by the culprit instruction's table entry.
pub fn summarize(rep: &Report) -> String {
    let mut by: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for f in &rep.failures {
        let name = f
            .culprit
            .and_then(|c| tables::decode(f.insns[c]))
            .map_or("(unallocated)".to_string(), |e| e.name.to_string());
        *by.entry(name).or_default() += 1;
    }
    by.iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_elf_parses() {
        let mut rng = Rng::new(7);
        let init = State::random(&mut rng, true);
        let elf = test_program(&init, &[0x8b02_0020]); // add x0, x1, x2
        let img = gpuos::loader::parse(Path::new("fuzz.elf"), &elf).expect("parse");
        assert_eq!(img.segments.len(), 1);
        let seg = &img.segments[0];
        assert_eq!(seg.vaddr, BASE);
        assert_eq!(seg.flags, 7);
        assert_eq!(seg.filesz, seg.memsz);
        let data = img.segment_bytes(seg).expect("segment bytes");
        assert_eq!(img.entry, code_addr(DUMP_SIZE));
        // The data area holds the initial state.
        let d = &data[DATA_OFF as usize..DATA_OFF as usize + DUMP_SIZE];
        assert_eq!(State::from_bytes(d).as_ref(), Some(&init));
        // The first instructions build the data address.
        let e = (img.entry - BASE) as usize;
        let w0 = u32::from_le_bytes(data[e..e + 4].try_into().unwrap());
        assert_eq!(w0, asm::movz(0, (BASE + DATA_OFF) as u32 & 0xffff, 0));

        let scr = screen_program(&[0xffff_ffff, 0x8b02_0020]);
        let img = gpuos::loader::parse(Path::new("screen.elf"), &scr).expect("parse");
        assert!(img.entry > BASE + DATA_OFF);
    }

    #[test]
    fn state_roundtrip_and_diff() {
        let mut rng = Rng::new(1);
        let a = State::random(&mut rng, true);
        let mut b = State::from_bytes(&a.to_bytes()).unwrap();
        assert_eq!(a, b);
        b.x[3] ^= 1;
        b.v[7] ^= 1 << 100;
        let d = a.diff(&b, "q", "g");
        assert_eq!(d.len(), 2);
        assert!(d[0].starts_with("X3:") && d[1].starts_with("V7:"));
    }

    #[test]
    fn prologue_encodings() {
        // Cross-checked against GNU as.
        assert_eq!(asm::movz(28, 0x1234, 0), 0xd282_469c);
        assert_eq!(asm::ldp_q(0, 1, 0, 256), 0xad48_0400);
        assert_eq!(asm::stp_x(1, 2, 0, 8), 0xa900_8801);
        assert_eq!(asm::msr(asm::NZCV, 1), 0xd51b_4201);
        assert_eq!(asm::mrs(asm::FPSR, 1), 0xd53b_4421);
        assert_eq!(asm::msr(asm::TPIDR_EL0, 0), 0xd51b_d040);
        assert_eq!(asm::add_imm(31, 1, 0), 0x9100_003f);
        assert_eq!(asm::strb_reg(12, 10, 11), 0x382b_694c);
        assert_eq!(asm::lsr(11, 11, 2), 0xd342_fd6b);
    }

    #[test]
    fn classes_cover_the_table() {
        assert!(!entries(&[Class::Int]).is_empty());
        for e in entries(&Class::ALL) {
            assert!(
                !e.source.contains("ldst")
                    && !e.source.contains("branch")
                    && !e.source.contains("system")
            );
        }
        let mut rng = Rng::new(3);
        let pool = entries(&[Class::Int]);
        for _ in 0..1000 {
            let w = random_insn(&mut rng, &pool, &[Class::Int]);
            if let Some(e) = tables::decode(w) {
                assert_eq!(class_of(e), Some(Class::Int));
            }
        }
    }
}
