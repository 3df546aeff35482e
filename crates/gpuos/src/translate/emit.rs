//! Tier 2's direct code for the most frequent instructions: within a region, guest
//! registers and the NZCV flags live in C++ locals (`rN`, `nz`: GPU or host registers)
//! instead of the Core in memory, and these instructions are generated as expressions
//! over them rather than as handler calls. Every other instruction is still its
//! handler's call (the state it may read or write is written back before it and read
//! again after it). The expressions call the same Arm ARM helpers as the handlers
//! (kernel/a64/a64_common.h, core.h: `add_with_carry_w`, `shift_reg`, `cond_holds_w`,
//! `nzcv_word`), and each emitter below mirrors its handler (the comment names it), so
//! the semantics stay in one place; the differential fuzzer and the conformance suite
//! run translated to hold them equal.
//!
//! An encoding a handler would refuse (SIGILL for a reserved field value) is left to
//! the handler: direct code never raises.

use std::fmt::Write as _;

/// Bit of the NZCV flags in the masks of [`Regs`] (the local `nz`, home `c.s.nzcv`).
pub const NZCV: u32 = 32;

/// The C++ local holding state n: `rN` for Xn (n = 31: SP), `nz` for the flags.
pub fn local(n: u32) -> String {
    if n == NZCV {
        "nz".into()
    } else {
        format!("r{n}")
    }
}

/// Where state n lives in the Core: `c.s.x[n]`, or `c.s.nzcv` for the flags.
pub fn home(n: u32) -> String {
    if n == NZCV {
        "c.s.nzcv".into()
    } else {
        format!("c.s.x[{n}]")
    }
}

/// The states of mask `m`, in order.
pub fn each(m: u64) -> impl Iterator<Item = u32> {
    (0..=NZCV).filter(move |n| m & (1 << n) != 0)
}

/// The guest state of a translation held in locals: which hold the current value
/// (`loaded`) and which may differ from the Core (`dirty`); bit n for Xn, bit 31 for
/// SP, bit [`NZCV`] for the flags.
#[derive(Default, Clone)]
pub struct Regs {
    loaded: u64,
    dirty: u64,
    /// Where the flags are at this point of the block (lazy flags, below).
    flags: Flags,
    /// Every local used (declared and loaded at the translation's entry).
    pub used: u64,
    /// Every local written (stored back at the translation's exits).
    pub written: u64,
}

/// Lazy flags (the Arm ARM's NZCV computed only where read, as QEMU's `cc_op`): a
/// flag-setting ADDS, SUBS (CMP, CMN) or ANDS (TST) stores its operands in the locals
/// `fa`, `fb` and its kind in `fk` (kernel/tier2/tier2.h, `T2F_*`) instead of computing
/// NZCV; `fk == 0` means the flags are in `nz`. A condition right after a known
/// setter is one comparison of the operands (`t2_cond`); any other reader, a handler
/// that uses the flags and the translation's exits first compute them into `nz`
/// (`t2_nzcv`). What the code emitted so far knows of `fk`:
#[derive(Default, Clone, Copy, PartialEq, Debug)]
enum Flags {
    /// Not known here (a block's start: whatever the block before left).
    #[default]
    Unknown,
    /// `fk == 0`: the flags are in `nz`.
    InNz,
    /// `fk` is this kind, set by a setter of this block.
    Lazy(u32),
}

/// The `fk` value of a lazy setter (`T2F_SUB`, `T2F_ADD`, `T2F_AND` in tier2.h, times 2,
/// plus sf).
fn lazy_kind(kind: u32, sf: u32) -> u32 {
    kind << 1 | sf
}
const T2F_SUB: u32 = 1;
const T2F_ADD: u32 = 2;
const T2F_AND: u32 = 3;

impl Regs {
    /// The state at a block's start inside a translation whose blocks use the locals
    /// `used` and write `written`: every used register is in its local (loaded at the
    /// entry), and any written one may differ from the register file.
    pub fn region(used: u64, written: u64) -> Regs {
        Regs {
            loaded: used,
            dirty: written,
            flags: Flags::Unknown,
            used,
            written,
        }
    }

    /// Compute lazy flags into `nz` where they may be pending (before a reader of
    /// `nz`), at `indent`: nothing when they are known to be there already.
    fn settle_flags(&mut self, out: &mut String, indent: &str) {
        let nz = self.get(out, NZCV);
        match self.flags {
            Flags::InNz => {}
            Flags::Lazy(k) => {
                let _ = writeln!(out, "{indent}{nz} = t2_nzcv({k}u, fa, fb); fk = 0;");
            }
            Flags::Unknown => {
                let _ = writeln!(
                    out,
                    "{indent}if (fk) {{ {nz} = t2_nzcv_any(fk, fa, fb); fk = 0; }}"
                );
            }
        }
        self.flags = Flags::InNz;
    }

    /// A flag-setting operation of kind `kind` (T2F_*) on `x` and `y`, made lazy: the
    /// operands go to `fa` and `fb` (before any register is written: the destination
    /// may be an operand); the result is then computed from them.
    fn set_lazy(&mut self, out: &mut String, kind: u32, sf: u32, x: &str, y: &str) {
        let k = lazy_kind(kind, sf);
        let _ = writeln!(out, "    fa = {x}; fb = {y}; fk = {k}u;");
        self.mark(NZCV);
        self.flags = Flags::Lazy(k);
    }

    /// ConditionHolds(cond) of the Arm ARM over the current flags, as a C++ expression:
    /// straight from the operands right after a lazy setter, else from `nz`.
    fn cond(&mut self, out: &mut String, cond: u32) -> String {
        if let Flags::Lazy(k) = self.flags {
            return format!("t2_cond({k}u, fa, fb, {cond}u)");
        }
        self.settle_flags(out, "    ");
        format!("cond_holds_w({}, {cond}u)", local(NZCV))
    }

    /// The local holding register n (31: SP), loaded first if need be.
    fn get(&mut self, out: &mut String, n: u32) -> String {
        if self.loaded & (1 << n) == 0 {
            let _ = writeln!(out, "    {} = {};", local(n), home(n));
            self.loaded |= 1 << n;
            self.used |= 1 << n;
        }
        local(n)
    }

    /// The flags' local, for reading (lazy flags computed first).
    fn flags(&mut self, out: &mut String) -> String {
        self.settle_flags(out, "    ");
        local(NZCV)
    }

    /// The flags' local, about to be written (by `add_with_carry_w(..., &nz)`): any
    /// lazy flags dropped.
    fn set_flags(&mut self, out: &mut String) -> String {
        if self.flags != Flags::InNz {
            let _ = writeln!(out, "    fk = 0;");
        }
        self.flags = Flags::InNz;
        self.mark(NZCV);
        local(NZCV)
    }

    fn mark(&mut self, n: u32) {
        self.loaded |= 1 << n;
        self.dirty |= 1 << n;
        self.used |= 1 << n;
        self.written |= 1 << n;
    }

    /// Arm ARM X[n]: register 31 reads as zero.
    fn x(&mut self, out: &mut String, n: u32) -> String {
        if n == 31 {
            "0ull".into()
        } else {
            self.get(out, n)
        }
    }

    /// X[n] as 64 bits (sf = 1) or its low 32 bits zero-extended (`R` in core.h).
    fn r(&mut self, out: &mut String, sf: u32, n: u32) -> String {
        let v = self.x(out, n);
        if sf == 1 {
            v
        } else {
            format!("(u64)(u32){v}")
        }
    }

    /// Register n (31: SP) becomes `expr`.
    fn set(&mut self, out: &mut String, n: u32, expr: &str) {
        let _ = writeln!(out, "    r{n} = {expr};");
        self.mark(n);
    }

    /// `setR`: X[n] = expr as 64 or 32 bits (zero-extended); register 31 discards it
    /// (the expression is still evaluated: it may set the flags).
    fn set_r(&mut self, out: &mut String, sf: u32, n: u32, expr: &str) {
        if n == 31 {
            let _ = writeln!(out, "    (void)({expr});");
        } else if sf == 1 {
            self.set(out, n, expr);
        } else {
            self.set(out, n, &format!("(u64)(u32)({expr})"));
        }
    }
}

/// The handler call of one instruction: the fallback for instructions without direct
/// code and the slow path of loads and stores.
pub struct Call {
    /// The call, a C++ expression true when the handler raised an exception (`c.pc`,
    /// `c.npc` and `c.insn` set as the run loop sets them first: gen.rs `T2C_NAME`).
    pub invoke: String,
    /// The state the handler may read or write (bit n: Xn, bit 31: SP, bit [`NZCV`]:
    /// the flags, for every handler): every operand field's value below 32, and X30
    /// for BL/BLR. A handler touches no other general register (SVC, BRK and faults
    /// stop the translation: their registers are written back on the way out).
    pub regs: u64,
    /// The instruction's guest address.
    pub pc: u64,
    /// Its position in its block, from 1: the instructions an exception it raises
    /// returns as executed in the block.
    pub k: usize,
    /// The handler touches no guest memory and no mapping (SIMD&FP data processing):
    /// the region's soft-TLB entries stay valid across it and the code page stays
    /// current.
    pub pure: bool,
}

impl Call {
    /// The call over registers in locals: the dirty ones it may read written back,
    /// the call, on an exception the exit (`goto t2_exc`: every other written local
    /// stored, this instruction the last counted), then the ones it may have written
    /// read again.
    fn emit(&self, out: &mut String, regs: &mut Regs, indent: &str) {
        if self.regs & 1 << NZCV != 0 && regs.flags != Flags::InNz && regs.used & 1 << NZCV != 0 {
            regs.settle_flags(out, indent);
        }
        let store = regs.dirty & self.regs;
        for n in each(store) {
            let _ = writeln!(out, "{indent}{} = {};", home(n), local(n));
        }
        regs.dirty &= !store;
        let _ = writeln!(
            out,
            "{indent}if ({}) {{ xk = {}u; xskip = 0x{:x}ull; xpc = 0x{:x}ull; goto t2_exc; }}",
            self.invoke, self.k, self.regs, self.pc
        );
        // The handler may have changed a mapping or the soft TLB: the region's entries
        // go.
        if !self.pure {
            let _ = writeln!(out, "{indent}t2_drop(tlb_s, tlb_d);");
        }
        let load = regs.loaded & self.regs;
        for n in each(load) {
            let _ = writeln!(out, "{indent}{} = {};", local(n), home(n));
        }
        // Or the code page: copy-on-write of a written code page, IC IVAU and ISB clear
        // `c.code_vpn`. The block then leaves for the run loop after this instruction,
        // which fetches the page again, so that the code after a handler call always
        // runs from its own page and a block's jumps need no test of it (a region-wide
        // test of the current page at every jump of such a block kept it in two
        // registers and cost about ten moves a jump).
        if !self.pure {
            let _ = writeln!(
                out,
                "{indent}if (c.code_vpn != 0x{:x}ull) {{ done += {}u; pc = 0x{:x}ull; goto t2_out; }}",
                (self.pc >> 12) + 1,
                self.k,
                self.pc + 4
            );
        }
    }

    /// The call as a block's instruction (no direct code).
    pub fn emit_inline(&self, out: &mut String, regs: &mut Regs) {
        self.emit(out, regs, "    ");
    }

    /// The call as the slow path beside a fast one (the branch not taken of an `if`):
    /// from the registers' state before the fast path (`before`) to the one the fast
    /// path leaves in `regs` (every local it sets is one of the handler's registers,
    /// read again after the call).
    ///
    /// By default the slow path is a side exit instead (`T2_SIDE_EXIT`, kernel/tier2/tier2.h):
    /// the block leaves for the run loop at this instruction, counting the ones before
    /// it, and the interpreter runs it (the soft TLB's refill, a fault at its exact PC,
    /// copy-on-write, a store to a code page) and the rest of its block. The handler's
    /// call kept every guest register the region holds alive across an ABI call at each
    /// access (stores and loads of the registers and the moves ptxas adds around a
    /// call, about 45 SASS instructions a site beside a fast path of about 25), in the
    /// middle of the hot code; the region's misses that the soft TLB answers stay in it
    /// (`t2_load_miss`, `t2_store_miss`), so what exits is a page's first touch, an
    /// access across pages, a permission fault or copy-on-write.
    fn slow_path(&self, out: &mut String, regs: &mut Regs, before: &Regs) {
        let after = regs.clone();
        let mut slow = before.clone();
        slow.loaded = after.loaded;
        let _ = writeln!(
            out,
            "#if T2_SIDE_EXIT\n        done += {}u; pc = 0x{:x}ull; goto t2_out;\n#else",
            self.k - 1,
            self.pc
        );
        self.emit(out, &mut slow, "        ");
        let _ = writeln!(out, "#endif");
        *regs = after;
        regs.used |= slow.used;
    }
}

/// Where a block's branch goes: a constant address or a C++ expression.
pub enum Target<'a> {
    /// A known address (direct branches, the address after a block).
    Const(u64),
    /// A value known at run time (BR, BLR, RET).
    Dyn(&'a str),
}

/// Whether (size, opc) of a single-register access is a load or store (not PRFM, not
/// unallocated): `gpr_is_access` in kernel/a64/ldst.h.
fn gpr_is_access(size: u32, opc: u32) -> bool {
    !((size == 3 && opc >= 2) || (size == 2 && opc == 3))
}

/// Addressing of a single-register access: offset, pre-index or post-index.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Offset,
    Pre,
    Post,
}

/// A load or store with the soft TLB's fast path inline: `t2_load`/`t2_store`
/// (kernel/tier2/tier2.h) do the access over the locals when the region's own entry
/// for accesses based on SP (`tlb_s`) or on another register (`tlb_d`, a `T2Ways`: two
/// entries, [`tlb_of`]), or else the soft TLB, holds the page with the permission and
/// the access stays on it; otherwise
/// the block leaves for the interpreter at this instruction (`T2_SIDE_EXIT`, see
/// `Call::slow_path`; with `-DGPUOS_T2_HANDLER_SLOW` the instruction's handler, `call`,
/// runs it from the register file), which takes the slow path and raises any fault. `bytes` is the span (1, 2, 4, 8, or 16 for two words); `base` the
/// base register. A load puts the value(s) read in `v0` (and `v1`) and `then` emits
/// what uses them; a store writes `values` (the second only for 16 bytes) and `then`
/// emits its writeback.
#[allow(clippy::too_many_arguments)]
fn with_fast_path(
    out: &mut String,
    regs: &mut Regs,
    call: &Call,
    base: u32,
    prelude: &str,
    bytes: u32,
    values: Option<(String, String)>,
    then: impl FnOnce(&mut String, &mut Regs),
) {
    let tlb = tlb_of(base);
    let test = match &values {
        Some((v0, v1)) => format!("t2_store(c, {tlb}, a, {bytes}u, {v0}, {v1})"),
        None => format!("t2_load(c, {tlb}, a, {bytes}u, v0, v1)"),
    };
    let vars = if values.is_none() {
        "u64 v0 = 0, v1 = 0; "
    } else {
        ""
    };
    with_fast_test(out, regs, call, &format!("{prelude}{vars}"), &test, then);
}

/// The access `test` (a C++ expression, true when done over the locals: the fast path)
/// after `prelude`, then what `then` emits; else the instruction's handler (`call`)
/// from the register state before it.
fn with_fast_test(
    out: &mut String,
    regs: &mut Regs,
    call: &Call,
    prelude: &str,
    test: &str,
    then: impl FnOnce(&mut String, &mut Regs),
) {
    let before = regs.clone();
    let mut fast = String::new();
    then(&mut fast, regs);
    let _ = writeln!(
        out,
        "    {{ {prelude}\n    if (__builtin_expect({test}, 1)) {{"
    );
    for line in fast.lines() {
        let _ = writeln!(out, "    {line}");
    }
    let _ = writeln!(out, "    }} else {{");
    call.slow_path(out, regs, &before);
    let _ = writeln!(out, "    }} }}");
}

/// The region's soft-TLB entries (kernel/tier2/tier2.h) for accesses based on register
/// `base`: SP-based ones have their own (`tlb_s`); the others go through `T2_D(tlb_d)`,
/// a pair either of whose entries may hold the page (`T2Ways`).
fn tlb_of(base: u32) -> &'static str {
    if base == 31 {
        "tlb_s"
    } else {
        "T2_D(tlb_d)"
    }
}

/// The C++ that computes a single-register access's address `a` from `base` and
/// `off` (at base + off, or at base for `Post`) and, with writeback, the new base `w`.
fn address(base: &str, off: &str, mode: Mode) -> String {
    match mode {
        Mode::Offset => format!("u64 a = {base} + {off}; "),
        Mode::Pre => format!("u64 a = {base} + {off}; u64 w = a; "),
        Mode::Post => format!("u64 a = {base}; u64 w = {base} + {off}; "),
    }
}

/// LDR/STR (one general register; `gpr_access` in ldst.h) of 1 << size bytes at
/// Rn + off (`Offset`, `Pre`: with writeback) or at Rn (`Post`: Rn + off written back).
#[allow(clippy::too_many_arguments)]
fn single(
    out: &mut String,
    regs: &mut Regs,
    call: &Call,
    size: u32,
    opc: u32,
    n: u32,
    t: u32,
    off: &str,
    mode: Mode,
) -> Option<Flow> {
    if !gpr_is_access(size, opc) {
        return None;
    }
    let bytes = 1u32 << size;
    let base = regs.get(out, n);
    let value = (opc == 0).then(|| regs.x(out, t));
    let prelude = address(&base, off, mode);
    let values = value.map(|v| (v, "0ull".to_string()));
    let store = values.is_some();
    with_fast_path(out, regs, call, n, &prelude, bytes, values, |f, regs| {
        if store {
            if mode != Mode::Offset {
                regs.set(f, n, "w");
            }
            return;
        }
        let bits = 8 * bytes;
        let v = match opc {
            2 => format!("(u64)sext(v0, {bits})"),
            3 => format!("(u64)(u32)sext(v0, {bits})"),
            _ => "v0".to_string(),
        };
        let _ = writeln!(f, "    rt = {v};");
        // Writeback first: with Rn == Rt the load wins (ldst.h's choice).
        if mode != Mode::Offset {
            regs.set(f, n, "w");
        }
        if t != 31 {
            regs.set(f, t, "rt");
        }
    });
    Some(Flow::Next)
}

/// The access scale (log2 of the bytes, 0 to 4) of a SIMD&FP load or store with fields
/// size:opc, and whether it loads (`simd_ldst_scale` in kernel/a64/simd_ldst.h); None
/// when unallocated (the handler raises SIGILL).
fn simd_scale(size: u32, opc: u32) -> Option<(u32, bool)> {
    let load = opc & 1 != 0;
    match (opc & 2 != 0, size) {
        (true, 0) => Some((4, load)),
        (true, _) => None,
        (false, z) => Some((z, load)),
    }
}

/// LDR/STR of one SIMD&FP register (B, H, S, D or Q; `simd_load`/`simd_store` in
/// kernel/a64/simd_ldst.h, Arm ARM C7.2 LDR/STR (SIMD&FP)) at Rn + off (`Offset`,
/// `Pre`) or at Rn (`Post`), with the TLB's fast path inline: the vector register file
/// stays in the Core (`setV`, `set_freg`, which zeroes the bits above the element, as
/// the handler's load does); writeback to Rn after the access, as the handler's.
#[allow(clippy::too_many_arguments)]
fn simd_single(
    out: &mut String,
    regs: &mut Regs,
    call: &Call,
    size: u32,
    opc: u32,
    n: u32,
    t: u32,
    off: impl FnOnce(&mut String, &mut Regs, u32) -> String,
    mode: Mode,
) -> Option<Flow> {
    let (scale, load) = simd_scale(size, opc)?;
    let bytes = 1u32 << scale;
    let base = regs.get(out, n);
    let off = off(out, regs, scale);
    let prelude = address(&base, &off, mode);
    let values = (!load).then(|| {
        let hi = if scale == 4 {
            format!("V_hi(c, {t}u)")
        } else {
            "0ull".into()
        };
        (format!("V_lo(c, {t}u)"), hi)
    });
    with_fast_path(out, regs, call, n, &prelude, bytes, values, |f, regs| {
        if load {
            let _ = if scale == 4 {
                writeln!(f, "    setV(c, {t}u, v0, v1);")
            } else {
                writeln!(f, "    set_freg(c, {t}u, {scale}u, v0);")
            };
        }
        if mode != Mode::Offset {
            regs.set(f, n, "w");
        }
    });
    Some(Flow::Next)
}

/// The C++ that computes a pair's address `a` and the written-back base `w` from
/// `base`, the scaled 7-bit offset and the mode (0 and 2 offset, 1 post-index: at base,
/// 3 pre-index), and whether the mode writes the base back.
fn pair_address(base: &str, imm7: u32, bytes: u32, mode: u32) -> (String, bool) {
    let off = sext(imm7 as u64, 7).wrapping_mul(bytes as u64);
    let addr = if mode == 1 { base } else { "w" };
    (
        format!("u64 w = {base} + 0x{off:x}ull; u64 a = {addr}; "),
        mode == 1 || mode == 3,
    )
}

/// LDP/STP/LDNP/STNP of two SIMD&FP registers of 4 or 8 bytes (S or D; `LDSTP_simd` in
/// kernel/a64/simd_ldst.h, Arm ARM C7.2 LDP/STP (SIMD&FP)), as one access of 8 or 16
/// bytes with the TLB's fast path: both read before either register is written (with
/// Vt == Vt2 the second wins, as the handler's), the base written back after. Pairs of
/// Q registers (32 bytes, memcpy's) go through `t2_load_q2`/`t2_store_q2`
/// (kernel/tier2/tier2.h), which find both halves on one page before a store pair
/// writes either, as the handler checks both before it stores.
#[allow(clippy::too_many_arguments)]
fn simd_pair(
    out: &mut String,
    regs: &mut Regs,
    call: &Call,
    o: u32,
    mode: u32,
    load: u32,
    imm7: u32,
    u: u32,
    n: u32,
    t: u32,
) -> Option<Flow> {
    let scale = match o {
        0 => 2,
        1 => 3,
        2 => 4,
        _ => return None,
    };
    let bytes = 1u32 << scale;
    let base = regs.get(out, n);
    let (prelude, wback) = pair_address(&base, imm7, bytes, mode);
    if scale == 4 {
        let tlb = tlb_of(n);
        let (vars, test) = if load == 1 {
            ("u64 q[4]; ", format!("t2_load_q2(c, {tlb}, a, q)"))
        } else {
            let v = format!("V_lo(c, {t}u), V_hi(c, {t}u), V_lo(c, {u}u), V_hi(c, {u}u)");
            ("", format!("t2_store_q2(c, {tlb}, a, {v})"))
        };
        with_fast_test(
            out,
            regs,
            call,
            &format!("{prelude}{vars}"),
            &test,
            |f, regs| {
                if load == 1 {
                    let _ = writeln!(f, "    setV(c, {t}u, q[0], q[1]);");
                    let _ = writeln!(f, "    setV(c, {u}u, q[2], q[3]);");
                }
                if wback {
                    regs.set(f, n, "w");
                }
            },
        );
        return Some(Flow::Next);
    }
    let values = (load == 0).then(|| {
        if scale == 2 {
            (
                format!("(V_lo(c, {t}u) & 0xffffffffull) | (V_lo(c, {u}u) << 32)"),
                "0ull".to_string(),
            )
        } else {
            (format!("V_lo(c, {t}u)"), format!("V_lo(c, {u}u)"))
        }
    });
    with_fast_path(
        out,
        regs,
        call,
        n,
        &prelude,
        2 * bytes,
        values,
        |f, regs| {
            if load == 1 {
                let (va, vb) = if scale == 2 {
                    ("v0 & 0xffffffffull", "v0 >> 32")
                } else {
                    ("v0", "v1")
                };
                let _ = writeln!(f, "    set_freg(c, {t}u, {scale}u, {va});");
                let _ = writeln!(f, "    set_freg(c, {u}u, {scale}u, {vb});");
            }
            if wback {
                regs.set(f, n, "w");
            }
        },
    );
    Some(Flow::Next)
}

/// LDP/STP/LDNP/STNP of general registers (`gpr_pair` in ldst.h): mode 0 offset
/// (non-temporal), 1 post-index, 2 offset, 3 pre-index.
#[allow(clippy::too_many_arguments)]
fn pair(
    out: &mut String,
    regs: &mut Regs,
    call: &Call,
    sf: u32,
    mode: u32,
    load: u32,
    imm7: u32,
    t2: u32,
    n: u32,
    t: u32,
) -> Option<Flow> {
    let bytes: u32 = if sf == 1 { 8 } else { 4 };
    let base = regs.get(out, n);
    let values = (load == 0).then(|| (regs.x(out, t), regs.x(out, t2)));
    let (prelude, wback) = pair_address(&base, imm7, bytes, mode);
    // A pair of W registers is one 8-byte access; of X registers two words.
    let span = if bytes == 4 { 8 } else { 16 };
    let values = values.map(|(a, b)| {
        if bytes == 4 {
            (
                format!("({a} & 0xffffffffull) | ({b} << 32)"),
                "0ull".to_string(),
            )
        } else {
            (a, b)
        }
    });
    let store = values.is_some();
    with_fast_path(out, regs, call, n, &prelude, span, values, |f, regs| {
        if store {
            if wback {
                regs.set(f, n, "w");
            }
            return;
        }
        let (va, vb) = if bytes == 4 {
            ("v0 & 0xffffffffull", "v0 >> 32")
        } else {
            ("v0", "v1")
        };
        let _ = writeln!(f, "    {{ u64 va = {va}, vb = {vb};");
        if wback {
            regs.set(f, n, "w");
        }
        if t != 31 {
            regs.set(f, t, "va");
        }
        if t2 != 31 {
            regs.set(f, t2, "vb");
        }
        let _ = writeln!(f, "    }}");
    });
    Some(Flow::Next)
}

/// DecodeBitMasks of an encoding (the core's own, `decode_bit_masks`): (wmask,
/// tmask), or None for a reserved one (the handler then raises SIGILL).
fn bit_masks(nn: u32, imms: u32, immr: u32, immediate: bool, datasize: u32) -> Option<(u64, u64)> {
    let (mut w, mut t) = (0u64, 0u64);
    // SAFETY: a pure function of its arguments; writes the two masks.
    let ok = unsafe {
        crate::ffi::gpuos_decode_bit_masks(nn, imms, immr, immediate, datasize, &mut w, &mut t)
    };
    ok.then_some((w, t))
}

/// AddWithCarry of an ADD or SUB (op 1: x + NOT(y) + 1) of registers; ADDS and SUBS
/// (`s`) set the flags lazily ([`Flags`]) and compute the sum from their operands.
fn add_sub(
    out: &mut String,
    regs: &mut Regs,
    sf: u32,
    op: u32,
    s: u32,
    x: &str,
    y: &str,
) -> String {
    if s == 1 {
        let (kind, sign) = if op == 1 {
            (T2F_SUB, "-")
        } else {
            (T2F_ADD, "+")
        };
        regs.set_lazy(out, kind, sf, x, y);
        return format!("((fa {sign} fb) & {})", mask(sf));
    }
    if op == 1 {
        format!("add_with_carry_w({sf}u, {x}, ~{y}, 1u, 0)")
    } else {
        format!("add_with_carry_w({sf}u, {x}, {y}, 0u, 0)")
    }
}

/// Rd = x AND/ORR/EOR/ANDS y (opc 0-3); ANDS (and BICS, TST) also sets N and Z from
/// the result and clears C and V. `sp`: register 31 is SP (the immediate forms but
/// ANDS, `setXSP`), else XZR.
#[allow(clippy::too_many_arguments)]
fn logic(out: &mut String, regs: &mut Regs, sf: u32, opc: u32, d: u32, x: &str, y: &str, sp: bool) {
    let op = ["&", "|", "^", "&"][opc as usize];
    if opc != 3 {
        let v = format!("{x} {op} {y}");
        if sp {
            regs.set(out, d, &v);
        } else {
            regs.set_r(out, sf, d, &v);
        }
        return;
    }
    let _ = writeln!(out, "    rt = {x} & {y};");
    regs.set_lazy(out, T2F_AND, sf, "rt", "0ull");
    regs.set_r(out, sf, d, "rt");
}

/// MRS's system register field (`SYSREG` in kernel/a64/system.h: o0:op1:CRn:CRm:op2)
/// of TPIDR_EL0 (3, 3, 13, 0, 2) and NZCV (3, 3, 4, 2, 0).
const SYSREG_TPIDR_EL0: u32 = 1 << 14 | 3 << 11 | 13 << 7 | 2;
const SYSREG_NZCV: u32 = 1 << 14 | 3 << 11 | 4 << 7 | 2 << 3;

/// `dmask(sf)` as a C++ constant.
fn mask(sf: u32) -> &'static str {
    if sf == 1 {
        "~0ull"
    } else {
        "0xffffffffull"
    }
}

/// The low `bits` bits of v, sign-extended (the Arm ARM's SignExtend).
fn sext(v: u64, bits: u32) -> u64 {
    (((v << (64 - bits)) as i64) >> (64 - bits)) as u64
}

/// What the direct code of a block's last instruction did with the PC.
pub enum Flow {
    /// Not a branch: the block goes on (or ends) at the next instruction.
    Next,
    /// A branch: its code ends in the jumps `jump` gave for its targets.
    Branch,
}

/// The direct code of instruction `name` at `pc` with operand fields `f` (in the
/// handler's parameter order), or None to call the handler. Branches are emitted
/// only as a block's last instruction (`last`), ending in `jump(target)` for each
/// target (C++ that counts the block and goes there). `call` is the instruction's
/// handler call, for the slow paths of loads and stores.
#[allow(clippy::too_many_arguments)]
pub fn emit(
    out: &mut String,
    regs: &mut Regs,
    name: &str,
    f: &[u32],
    pc: u64,
    last: bool,
    call: &Call,
    jump: &dyn Fn(Target) -> String,
) -> Option<Flow> {
    let next = pc.wrapping_add(4);
    let target = |imm: u32, bits: u32| pc.wrapping_add(sext(imm as u64, bits) << 2);
    match (name, f) {
        // ADDSUB_imm: Rn SP-capable; Rd SP-capable unless S.
        ("ADDSUB_imm", &[sf, op, s, sh, imm12, n, d]) => {
            let imm = (imm12 as u64) << if sh == 1 { 12 } else { 0 };
            let x = format!("({} & {})", regs.get(out, n), mask(sf));
            if s == 1 {
                let r = add_sub(out, regs, sf, op, s, &x, &format!("0x{imm:x}ull"));
                regs.set_r(out, sf, d, &r);
                return Some(Flow::Next);
            }
            let (y, carry) = if op == 1 { (!imm, 1) } else { (imm, 0) };
            let r = format!("add_with_carry_w({sf}u, {x}, 0x{y:x}ull, {carry}u, 0)");
            regs.set(out, d, &format!("{r} & {}", mask(sf)));
            Some(Flow::Next)
        }
        // ADDSUB_shift: shift type 3 and (32-bit) amounts of 32 and more are reserved.
        ("ADDSUB_shift", &[sf, op, s, shift, m, imm6, n, d])
            if shift != 3 && (sf == 1 || imm6 < 32) =>
        {
            let op2 = format!("shift_reg({}, {shift}u, {imm6}u, {sf}u)", regs.x(out, m));
            let x = regs.r(out, sf, n);
            let r = add_sub(out, regs, sf, op, s, &x, &op2);
            regs.set_r(out, sf, d, &r);
            Some(Flow::Next)
        }
        // LOGIC_shift: AND, BIC, ORR, ORN, EOR, EON, ANDS, BICS.
        ("LOGIC_shift", &[sf, opc, shift, inv, m, imm6, n, d]) if sf == 1 || imm6 < 32 => {
            let mut op2 = format!("shift_reg({}, {shift}u, {imm6}u, {sf}u)", regs.x(out, m));
            if inv == 1 {
                op2 = format!("(~{op2} & {})", mask(sf));
            }
            let x = regs.r(out, sf, n);
            logic(out, regs, sf, opc, d, &x, &op2, false);
            Some(Flow::Next)
        }
        // LOGIC_imm: AND, ORR, EOR, ANDS (immediate), the mask a constant; Rd is
        // SP-capable unless ANDS (setXSP).
        ("LOGIC_imm", &[sf, opc, nn, immr, imms, n, d]) if sf == 1 || nn == 0 => {
            let (imm, _) = bit_masks(nn, imms, immr, true, if sf == 1 { 64 } else { 32 })?;
            let x = regs.r(out, sf, n);
            logic(out, regs, sf, opc, d, &x, &format!("0x{imm:x}ull"), true);
            Some(Flow::Next)
        }
        // ADDSUB_ext: Rn and (unless S) Rd SP-capable; shifts above 4 reserved.
        ("ADDSUB_ext", &[sf, op, s, m, option, imm3, n, d]) if imm3 <= 4 => {
            let m_ = mask(sf);
            let op2 = format!(
                "(extend_reg({}, {option}u, {imm3}u) & {m_})",
                regs.x(out, m)
            );
            let x = format!("({} & {m_})", regs.get(out, n));
            let r = add_sub(out, regs, sf, op, s, &x, &op2);
            if s == 1 {
                regs.set_r(out, sf, d, &r);
            } else {
                regs.set(out, d, &format!("{r} & {m_}"));
            }
            Some(Flow::Next)
        }
        // ADC, ADCS, SBC, SBCS: the carry in from the flags' local.
        ("ADDSUB_carry", &[sf, op, s, m, n, d]) => {
            let mut y = regs.r(out, sf, m);
            if op == 1 {
                y = format!("~{y}");
            }
            let x = regs.r(out, sf, n);
            let carry = format!("(u32)(({} >> 29) & 1)", regs.flags(out));
            let nz = if s == 1 {
                format!("&{}", regs.set_flags(out))
            } else {
                "0".into()
            };
            regs.set_r(
                out,
                sf,
                d,
                &format!("add_with_carry_w({sf}u, {x}, {y}, {carry}, {nz})"),
            );
            Some(Flow::Next)
        }
        // CCMN, CCMP (`ccmp_nzcv`, the handlers' own).
        ("CCMP_reg" | "CCMP_imm", &[sf, op, mi, cond, n, nzcv]) => {
            let y = if name == "CCMP_reg" {
                regs.r(out, sf, mi)
            } else {
                format!("{mi}ull")
            };
            let x = regs.r(out, sf, n);
            let old = regs.flags(out);
            let nz = regs.set_flags(out);
            let _ = writeln!(
                out,
                "    {nz} = ccmp_nzcv({old}, {sf}u, {op}u, {cond}u, {x}, {y}, {nzcv}u);"
            );
            Some(Flow::Next)
        }
        // LSLV, LSRV, ASRV, RORV: the amount is Rm mod the data size.
        ("SHIFTV", &[sf, m, ty, n, d]) => {
            let amount = format!(
                "(u32)({} & {})",
                regs.x(out, m),
                if sf == 1 { 63 } else { 31 }
            );
            let v = format!("shift_reg({}, {ty}u, {amount}, {sf}u)", regs.x(out, n));
            regs.set_r(out, sf, d, &v);
            Some(Flow::Next)
        }
        // CLZ, RBIT: the core's 64- or 32-bit helper (rt.h).
        ("CLZ" | "RBIT", &[sf, n, d]) => {
            let (wide, narrow) = if name == "CLZ" {
                ("(u64)clz64(", "(u64)clz32((u32)")
            } else {
                ("rbit64(", "(u64)rbit32((u32)")
            };
            let f = if sf == 1 { wide } else { narrow };
            let v = format!("{f}{})", regs.x(out, n));
            regs.set_r(out, sf, d, &v);
            Some(Flow::Next)
        }
        ("REV64", &[n, d]) => {
            let v = format!("bswap64({})", regs.x(out, n));
            regs.set_r(out, 1, d, &v);
            Some(Flow::Next)
        }
        // UDIV, SDIV; SMADDL and friends; SMULH, UMULH; EXTR (the handlers' own
        // value functions).
        ("DIV", &[sf, m, signed, n, d]) => {
            let v = format!(
                "div_value({sf}u, {signed}u, {}, {})",
                regs.r(out, sf, n),
                regs.r(out, sf, m)
            );
            regs.set_r(out, sf, d, &v);
            Some(Flow::Next)
        }
        ("MADDL", &[u, m, sub, a, n, d]) => {
            let p = format!("mull_value({u}u, {}, {})", regs.x(out, n), regs.x(out, m));
            let op = if sub == 1 { "-" } else { "+" };
            let v = format!("{} {op} {p}", regs.x(out, a));
            regs.set_r(out, 1, d, &v);
            Some(Flow::Next)
        }
        ("MULH", &[u, m, n, d]) => {
            let v = format!("mulh_value({u}u, {}, {})", regs.x(out, n), regs.x(out, m));
            regs.set_r(out, 1, d, &v);
            Some(Flow::Next)
        }
        ("EXTR", &[sf, nn, m, lsb, n, d]) if sf == nn && (sf == 1 || lsb & 0x20 == 0) => {
            let v = format!(
                "extr_value({sf}u, {}, {}, {lsb}u)",
                regs.x(out, n),
                regs.x(out, m)
            );
            regs.set_r(out, 1, d, &v);
            Some(Flow::Next)
        }
        // The hint space (NOP, BTI, PACIASP, ...) executes as NOP (`HINT`).
        ("HINT", _) => Some(Flow::Next),
        // MRS of TPIDR_EL0 (thread pointer reads) and NZCV (the flags' local).
        ("MRS", &[sr, t]) if sr == SYSREG_TPIDR_EL0 || sr == SYSREG_NZCV => {
            let v = if sr == SYSREG_NZCV {
                format!("({} & 0xf0000000ull)", regs.flags(out))
            } else {
                "c.s.tpidr_el0".into()
            };
            regs.set_r(out, 1, t, &v);
            Some(Flow::Next)
        }
        // FMOV (general), Arm ARM C7.2 (`FMOV_gen` in kernel/a64/fp_cvt.h): W <-> S,
        // X <-> D, X <-> V.D[1] between a local and the vector register file in the Core
        // (set_freg zeroes the bits above the element, as the handler does); FP16 and
        // unallocated combinations go to the handler (SIGILL).
        ("FMOV_gen", &[sf, ftype, rmode, o, n, d]) => {
            let kind = sf << 3 | ftype << 1 | rmode;
            if !matches!(kind, 0 | 0xa | 0xd) {
                return None;
            }
            if o == 0 {
                let v = match kind {
                    0 => format!("(u64)(u32)V_lo(c, {n}u)"),
                    0xa => format!("V_lo(c, {n}u)"),
                    _ => format!("V_hi(c, {n}u)"),
                };
                regs.set_r(out, 1, d, &v);
            } else {
                let x = regs.r(out, sf, n);
                let _ = match kind {
                    0 => writeln!(out, "    set_freg(c, {d}u, 2u, {x});"),
                    0xa => writeln!(out, "    set_freg(c, {d}u, 3u, {x});"),
                    _ => writeln!(out, "    setV(c, {d}u, V_lo(c, {d}u), {x});"),
                };
            }
            Some(Flow::Next)
        }
        // MUL, MLA, MLS (by element) of H or S elements, Arm ARM C7.2: `t2_mla_el`
        // (kernel/tier2/tier2.h) over the vector register file; the element index is
        // H:L:M with Vm < 16 for H, H:L with M:Vm for S (`vec_idx`, the handler's); size
        // 0 and 3 are reserved (the handler's SIGILL).
        ("MLA_el" | "MLS_el" | "MUL_el", &[q, z, l, x, m, h, n, d]) if z == 1 || z == 2 => {
            let (idx, vm) = if z == 1 {
                (h << 2 | l << 1 | x, m)
            } else {
                (h << 1 | l, x << 4 | m)
            };
            let op = match name {
                "MUL_el" => 0,
                "MLA_el" => 1,
                _ => 2,
            };
            let _ = writeln!(
                out,
                "    t2_mla_el(c, {q}u, {z}u, {idx}u, {vm}u, {n}u, {d}u, {op}u);"
            );
            Some(Flow::Next)
        }
        // SADDW, UADDW, SSUBW, USUBW (and their '2' forms), Arm ARM C7.2: `t2_addw`
        // (kernel/tier2/tier2.h); size 3 is reserved (the handler's SIGILL).
        ("SADDW_v" | "UADDW_v" | "SSUBW_v" | "USUBW_v", &[q, z, m, n, d]) if z < 3 => {
            let u = name.starts_with('U');
            let sub = name.contains("SUB");
            let _ = writeln!(
                out,
                "    t2_addw(c, {q}u, {z}u, {m}u, {n}u, {d}u, {u}, {sub});"
            );
            Some(Flow::Next)
        }
        // MOVZ, MOVN, MOVK: hw 2 and 3 are reserved for 32 bits.
        ("MOVZ" | "MOVN", &[sf, hw, imm16, d]) if sf == 1 || hw < 2 => {
            let mut v = (imm16 as u64) << (hw * 16);
            if name == "MOVN" {
                v = !v;
            }
            if sf == 0 {
                v &= 0xffff_ffff;
            }
            if d != 31 {
                regs.set(out, d, &format!("0x{v:x}ull"));
            }
            Some(Flow::Next)
        }
        ("MOVK", &[sf, hw, imm16, d]) if sf == 1 || hw < 2 => {
            let pos = hw * 16;
            let old = regs.r(out, sf, d);
            let keep = !(0xffffu64 << pos);
            let v = (imm16 as u64) << pos;
            regs.set_r(out, sf, d, &format!("({old} & 0x{keep:x}ull) | 0x{v:x}ull"));
            Some(Flow::Next)
        }
        // CSEL, CSINC, CSINV, CSNEG.
        ("CSEL", &[sf, op, m, cond, o2, n, d]) => {
            let xn = regs.x(out, n);
            let mut xm = regs.x(out, m);
            if op == 1 {
                xm = format!("~{xm}");
            }
            if o2 == 1 {
                xm = format!("({xm} + 1)");
            }
            let holds = regs.cond(out, cond);
            regs.set_r(out, sf, d, &format!("{holds} ? {xn} : {xm}"));
            Some(Flow::Next)
        }
        // Loads and stores: the TLB's fast path inline, the handler for the rest.
        ("LDST_uimm", &[size, opc, imm12, n, t]) => single(
            out,
            regs,
            call,
            size,
            opc,
            n,
            t,
            &format!("0x{:x}ull", (imm12 as u64) << size),
            Mode::Offset,
        ),
        ("LDST_unscaled", &[size, opc, imm9, n, t]) => {
            let off = format!("0x{:x}ull", sext(imm9 as u64, 9));
            single(out, regs, call, size, opc, n, t, &off, Mode::Offset)
        }
        // Register offset: option must be UXTW, LSL, SXTW or SXTX (bit 1 set).
        ("LDST_reg", &[size, opc, m, option, s, n, t]) if option & 2 != 0 => {
            let shift = if s == 1 { size } else { 0 };
            let off = format!("extend_reg({}, {option}u, {shift}u)", regs.x(out, m));
            single(out, regs, call, size, opc, n, t, &off, Mode::Offset)
        }
        ("LDST_pre" | "LDST_post", &[size, opc, imm9, n, t]) => {
            let off = format!("0x{:x}ull", sext(imm9 as u64, 9));
            let mode = if name == "LDST_pre" {
                Mode::Pre
            } else {
                Mode::Post
            };
            single(out, regs, call, size, opc, n, t, &off, mode)
        }
        ("LDSTP", &[sf, mode, load, imm7, t2, n, t]) => {
            pair(out, regs, call, sf, mode, load, imm7, t2, n, t)
        }
        ("LDSTP_simd", &[o, x, l, imm7, u, n, t]) => {
            simd_pair(out, regs, call, o, x, l, imm7, u, n, t)
        }
        // SIMD&FP registers: unsigned offset, register offset (option UXTW, LSL, SXTW
        // or SXTX), unscaled and pre/post-index (x 00, 11, 01; 10 is unallocated).
        ("LDST_simd_uimm", &[z, o, imm12, n, t]) => {
            let off = |_: &mut String, _: &mut Regs, scale: u32| {
                format!("0x{:x}ull", (imm12 as u64) << scale)
            };
            simd_single(out, regs, call, z, o, n, t, off, Mode::Offset)
        }
        ("LDST_simd_reg", &[z, o, m, option, s, n, t]) if option & 2 != 0 => {
            let off = |out: &mut String, regs: &mut Regs, scale: u32| {
                let shift = if s == 1 { scale } else { 0 };
                format!("extend_reg({}, {option}u, {shift}u)", regs.x(out, m))
            };
            simd_single(out, regs, call, z, o, n, t, off, Mode::Offset)
        }
        ("LDST_simd_imm9", &[z, o, imm9, x, n, t]) if x != 2 => {
            let off =
                |_: &mut String, _: &mut Regs, _: u32| format!("0x{:x}ull", sext(imm9 as u64, 9));
            let mode = match x {
                0 => Mode::Offset,
                1 => Mode::Post,
                _ => Mode::Pre,
            };
            simd_single(out, regs, call, z, o, n, t, off, mode)
        }
        // ADR, ADRP: PC-relative constants (register 31 is XZR: nothing).
        ("ADR" | "ADRP", &[immlo, immhi, d]) => {
            let imm = sext((immhi as u64) << 2 | immlo as u64, 21);
            let v = if name == "ADR" {
                pc.wrapping_add(imm)
            } else {
                (pc & !0xfff).wrapping_add(imm << 12)
            };
            if d != 31 {
                regs.set(out, d, &format!("0x{v:x}ull"));
            }
            Some(Flow::Next)
        }
        // MADD, MSUB (MUL, MNEG).
        ("MADD", &[sf, m, sub, a, n, d]) => {
            let p = format!("({} * {})", regs.x(out, n), regs.x(out, m));
            let xa = regs.x(out, a);
            let op = if sub == 1 { "-" } else { "+" };
            regs.set_r(out, sf, d, &format!("{xa} {op} {p}"));
            Some(Flow::Next)
        }
        // SBFM, BFM, UBFM (`bitfield_op`): with sf == N and, for 32 bits, immr and
        // imms below 32 (else the handler's SIGILL), DecodeBitMasks cannot fail (its
        // length is 6, or 5 from NOT(imms) with bit 5 clear).
        ("SBFM" | "BFM" | "UBFM", &[sf, nn, immr, imms, n, d])
            if sf == nn && (sf == 1 || (immr | imms) & 0x20 == 0) =>
        {
            let ds = if sf == 1 { 64 } else { 32 };
            let (wm, tm) = bit_masks(nn, imms, immr, false, ds)?;
            let dst = if name == "BFM" {
                regs.r(out, sf, d)
            } else {
                "0ull".into()
            };
            let src = regs.r(out, sf, n);
            let top = if name == "SBFM" {
                format!("((({src} >> {imms}) & 1) ? {} : 0ull)", mask(sf))
            } else {
                "dst".into()
            };
            let _ = writeln!(
                out,
                "    {{ const u64 wm = 0x{wm:x}ull, tm = 0x{tm:x}ull;\n      u64 dst = {dst}; u64 bot = (dst & ~wm) | (ror_n({src}, {immr}u, {ds}u) & wm);\n      rt = ({top} & ~tm) | (bot & tm); }}"
            );
            regs.set_r(out, sf, d, "rt");
            Some(Flow::Next)
        }
        _ if !last => None,
        // Branches, as the block's last instruction.
        ("B", &[imm26]) => {
            let _ = writeln!(out, "    {}", jump(Target::Const(target(imm26, 26))));
            Some(Flow::Branch)
        }
        ("BL", &[imm26]) => {
            regs.set(out, 30, &format!("0x{next:x}ull"));
            let _ = writeln!(out, "    {}", jump(Target::Const(target(imm26, 26))));
            Some(Flow::Branch)
        }
        ("B_cond", &[imm19, cond]) => {
            let cond = regs.cond(out, cond);
            two_way(out, &cond, target(imm19, 19), next, jump)
        }
        ("CBZ", &[sf, nonzero, imm19, t]) => {
            let v = regs.r(out, sf, t);
            let cond = format!("(({v} == 0) != {})", nonzero == 1);
            two_way(out, &cond, target(imm19, 19), next, jump)
        }
        ("TBZ", &[bit, nonzero, imm14, t]) => {
            let v = regs.x(out, t);
            let cond = format!("(((u32)({v} >> {bit}) & 1u) == {nonzero}u)");
            two_way(out, &cond, target(imm14, 14), next, jump)
        }
        ("BR" | "RET", &[n]) => {
            let v = regs.x(out, n);
            let _ = writeln!(out, "    {}", jump(Target::Dyn(&v)));
            Some(Flow::Branch)
        }
        ("BLR", &[n]) => {
            // The target is read before X30 is written (BLR X30).
            let v = regs.x(out, n);
            let _ = writeln!(out, "    {{ u64 target = {v};");
            regs.set(out, 30, &format!("0x{next:x}ull"));
            let _ = writeln!(out, "    {} }}", jump(Target::Dyn("target")));
            Some(Flow::Branch)
        }
        _ => None,
    }
}

/// A conditional branch: to `taken` when `cond` holds, else to `next`.
fn two_way(
    out: &mut String,
    cond: &str,
    taken: u64,
    next: u64,
    jump: &dyn Fn(Target) -> String,
) -> Option<Flow> {
    let _ = writeln!(
        out,
        "    if ({cond}) {{ {} }}\n    {}",
        jump(Target::Const(taken)),
        jump(Target::Const(next))
    );
    Some(Flow::Branch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handler call for instruction `k` at pc touching `regs`.
    fn call(regs: u64) -> Call {
        Call {
            invoke: "CALL".into(),
            regs,
            pc: 0x1000,
            k: 1,
            pure: false,
        }
    }

    /// Jumps as gen.rs writes them: a constant target by address, the rest by value.
    fn jump(t: Target) -> String {
        match t {
            Target::Const(a) => format!("JUMP 0x{a:x};"),
            Target::Dyn(e) => format!("JUMP {e};"),
        }
    }

    fn run(r: &mut Regs, name: &str, f: &[u32], pc: u64, last: bool) -> (String, bool) {
        let mut out = String::new();
        let c = call(f.iter().filter(|&&v| v < 32).fold(0, |m, &v| m | 1 << v) | 1 << NZCV);
        let some = emit(&mut out, r, name, f, pc, last, &c, &jump).is_some();
        (out, some)
    }

    #[test]
    fn a_load_has_the_tlb_fast_path_and_the_handler_beside_it() {
        let mut r = Regs::default();
        // LDR X1, [X0, #8]
        let (out, _) = run(&mut r, "LDST_uimm", &[3, 1, 1, 0, 1], 0x1000, false);
        assert!(
            out.contains("u64 a = r0 + 0x8ull; u64 v0 = 0, v1 = 0; \n    if (__builtin_expect(t2_load(c, T2_D(tlb_d), a, 8u, v0, v1), 1))"),
            "{out}"
        );
        assert!(out.contains("rt = v0;"), "{out}");
        // The slow path reads the locals the fast path leaves back after the call, and
        // an exception in it leaves through t2_exc with the handler's registers.
        let slow = &out[out.find("} else {").unwrap()..];
        assert!(
            slow.contains("if (CALL) {") && slow.contains("r1 = c.s.x[1];"),
            "{out}"
        );
        assert!(slow.contains("xk = 1u; xskip = 0x10000000bull"), "{out}");
        // With T2_SIDE_EXIT (the default) it leaves for the run loop at the load
        // instead, none of its block's instructions before it (the first) counted.
        assert!(
            slow.contains(
                "#if T2_SIDE_EXIT\n        done += 0u; pc = 0x1000ull; goto t2_out;\n#else"
            ),
            "{out}"
        );
    }

    /// Emit each case's instruction (name, fields) at successive addresses as direct
    /// code (not the handler alone) and check that its C++ holds every one of its
    /// strings; then that each of `refused` (name, fields) is left to its handler.
    fn emits(cases: &[(&str, &[u32], &[&str])], refused: &[(&str, &[u32])]) {
        let mut r = Regs::default();
        for (i, (name, f, want)) in cases.iter().enumerate() {
            let (out, some) = run(&mut r, name, f, 0x1000 + 4 * i as u64, false);
            assert!(some, "{name}: no direct code");
            for w in *want {
                assert!(out.contains(w), "{name}: no {w:?} in\n{out}");
            }
        }
        for (name, f) in refused {
            assert!(!run(&mut r, name, f, 0x2000, false).1, "{name} {f:?}");
        }
    }

    /// SIMD&FP loads and stores take the TLB's fast path too: a Q load fills both halves
    /// of the vector register, a narrower one goes through set_freg (upper bits
    /// zeroed), a store passes the register's halves, a post-index writes the base back;
    /// unallocated size:opc goes to the handler (its SIGILL).
    #[test]
    fn simd_loads_and_stores_have_the_tlb_fast_path() {
        emits(
            &[
                // LDR Q3, [X2, #32]: size 0, opc 3, imm12 2.
                (
                    "LDST_simd_uimm",
                    &[0, 3, 2, 2, 3],
                    &[
                        "u64 a = r2 + 0x20ull;",
                        "t2_load(c, T2_D(tlb_d), a, 16u, v0, v1)",
                        "setV(c, 3u, v0, v1);",
                    ],
                ),
                // STR D5, [SP, X1, LSL #3]: size 3, opc 0, option 3, S 1.
                (
                    "LDST_simd_reg",
                    &[3, 0, 1, 3, 1, 31, 5],
                    &[
                        "extend_reg(r1, 3u, 3u)",
                        "t2_store(c, tlb_s, a, 8u, V_lo(c, 5u), 0ull)",
                    ],
                ),
                // LDR S0, [X4], #-4: post-index, 4 bytes.
                (
                    "LDST_simd_imm9",
                    &[2, 1, 0x1fc, 1, 4, 0],
                    &[
                        "u64 a = r4; u64 w = r4 + 0xfffffffffffffffcull;",
                        "set_freg(c, 0u, 2u, v0);",
                        "r4 = w;",
                    ],
                ),
            ],
            // size 1 with opc 3: unallocated.
            &[("LDST_simd_uimm", &[1, 3, 0, 2, 3])],
        );
    }

    /// Pairs of S or D registers are one access of 8 or 16 bytes, both registers set
    /// after it; pairs of Q registers two halves found before either is used.
    #[test]
    fn simd_pairs_of_s_and_d_have_the_tlb_fast_path() {
        emits(
            &[
                // LDP D0, D1, [SP, #16]: o 1, offset (x 2), load, imm7 2, Vt2 1, SP, Vt 0.
                (
                    "LDSTP_simd",
                    &[1, 2, 1, 2, 1, 31, 0],
                    &[
                        "u64 w = r31 + 0x10ull; u64 a = w;",
                        "t2_load(c, tlb_s, a, 16u, v0, v1)",
                        "set_freg(c, 0u, 3u, v0);",
                        "set_freg(c, 1u, 3u, v1);",
                    ],
                ),
                // STP S2, S3, [X4], #-8: o 0, post-index (x 1), store, imm7 -2.
                (
                    "LDSTP_simd",
                    &[0, 1, 0, 0x7e, 3, 4, 2],
                    &[
                        "t2_store(c, T2_D(tlb_d), a, 8u, (V_lo(c, 2u) & 0xffffffffull) | (V_lo(c, 3u) << 32), 0ull)",
                        "u64 w = r4 + 0xfffffffffffffff8ull; u64 a = r4;",
                        "r4 = w;",
                    ],
                ),
                // LDP Q0, Q1, [X2]: both halves found first, then both registers set.
                (
                    "LDSTP_simd",
                    &[2, 2, 1, 0, 1, 2, 0],
                    &[
                        "u64 q[4]; \n    if (__builtin_expect(t2_load_q2(c, T2_D(tlb_d), a, q), 1))",
                        "setV(c, 0u, q[0], q[1]);",
                        "setV(c, 1u, q[2], q[3]);",
                    ],
                ),
                // STP Q4, Q5, [SP, #-32]!: pre-index.
                (
                    "LDSTP_simd",
                    &[2, 3, 0, 0x7e, 5, 31, 4],
                    &[
                        "t2_store_q2(c, tlb_s, a, V_lo(c, 4u), V_hi(c, 4u), V_lo(c, 5u), V_hi(c, 5u))",
                        "u64 w = r31 + 0xffffffffffffffe0ull; u64 a = w;",
                    ],
                ),
            ],
            // o = 3: unallocated, the handler.
            &[("LDSTP_simd", &[3, 2, 1, 0, 1, 2, 0])],
        );
    }

    #[test]
    fn registers_stay_in_locals_and_a_call_writes_back_only_its_own() {
        let mut r = Regs::default();
        // ADD X0, X1, #1 then ADD X0, X0, #2: X1 loaded once, X0 never read back.
        let (a, _) = run(&mut r, "ADDSUB_imm", &[1, 0, 0, 0, 1, 1, 0], 0x1000, false);
        let (b, _) = run(&mut r, "ADDSUB_imm", &[1, 0, 0, 0, 2, 0, 0], 0x1004, false);
        let out = a + &b;
        assert_eq!(out.matches("c.s.x[1]").count(), 1, "{out}");
        assert!(!out.contains("c.s.x[0]"), "{out}");
        assert_eq!(r.written, 1);
        // A handler of X0 and X2 only: X0 written back before it, read again after.
        let mut out = String::new();
        call(0b101).emit_inline(&mut out, &mut r);
        assert!(
            out.starts_with("    c.s.x[0] = r0;\n    if (CALL) {"),
            "{out}"
        );
        // Then, the code page changed (copy-on-write, IC IVAU), the block leaves after
        // the instruction for the run loop.
        assert!(
            out.ends_with(
                "    r0 = c.s.x[0];\n    if (c.code_vpn != 0x2ull) { done += 1u; pc = 0x1004ull; goto t2_out; }\n"
            ),
            "{out}"
        );
        assert!(!out.contains("x[1]"), "{out}");
    }

    #[test]
    fn logical_immediates_and_bitfields_have_constant_masks() {
        let mut r = Regs::default();
        // AND W0, W1, #0xff (N 0, immr 0, imms 7): the mask is a constant.
        let (out, some) = run(&mut r, "LOGIC_imm", &[0, 0, 0, 0, 7, 1, 0], 0, false);
        assert!(
            some && out.contains("r0 = (u64)(u32)r1 & 0xffull;"),
            "{out}"
        );
        // ORR X0, X1, #0x5555555555555555 (N 0, immr 0, imms 0b111100).
        let (out, _) = run(&mut r, "LOGIC_imm", &[1, 1, 0, 0, 0x3c, 1, 0], 0, false);
        assert!(out.contains("r0 = r1 | 0x5555555555555555ull;"), "{out}");
        // N:imms all ones is reserved: the handler raises SIGILL.
        assert!(!run(&mut r, "LOGIC_imm", &[1, 0, 1, 0, 0x3f, 1, 0], 0, false).1);
        // LSR W0, W1, #1 (UBFM W0, W1, #1, #31): no DecodeBitMasks at run time.
        let (out, some) = run(&mut r, "UBFM", &[0, 0, 1, 31, 1, 0], 0, false);
        assert!(
            some && out.contains("wm = 0xffffffffull, tm = 0x7fffffffull"),
            "{out}"
        );
        assert!(!out.contains("decode_bit_masks"), "{out}");
    }

    /// CMP then B.NE: the compare keeps its operands (lazy flags), the branch compares
    /// them; a handler that uses the flags gets them computed first.
    #[test]
    fn flags_are_computed_only_where_read() {
        let mut r = Regs::default();
        // CMP X0, #16 (SUBS XZR, X0, #16).
        let (cmp, _) = run(
            &mut r,
            "ADDSUB_imm",
            &[1, 1, 1, 0, 16, 0, 31],
            0x1000,
            false,
        );
        assert!(
            cmp.contains("fa = (r0 & ~0ull); fb = 0x10ull; fk = 3u;"),
            "{cmp}"
        );
        assert!(!cmp.contains("add_with_carry_w"), "{cmp}");
        // CSINC X1, X2, X3, NE (CSEL op 0, o2 1) reads them straight from the operands.
        let (csel, _) = run(&mut r, "CSEL", &[1, 0, 3, 1, 1, 2, 1], 0x1004, false);
        assert!(
            csel.contains("t2_cond(3u, fa, fb, 1u) ? r2 : (r3 + 1)"),
            "{csel}"
        );
        assert!(!csel.contains("t2_nzcv"), "{csel}");
        // A handler of the flags: computed into nz, then written back for it.
        let mut out = String::new();
        call(1 << NZCV).emit_inline(&mut out, &mut r);
        assert!(
            out.starts_with("    nz = t2_nzcv(3u, fa, fb); fk = 0;\n    c.s.nzcv = nz;\n"),
            "{out}"
        );
        // After it the flags are in nz: the branch reads them there.
        let (b, _) = run(&mut r, "B_cond", &[2, 1], 0x100c, true);
        assert!(b.contains("if (cond_holds_w(nz, 1u))"), "{b}");
        assert!(!b.contains("fk"), "{b}");
        // At a block's start the kind is not known: a reader checks fk.
        let (b, _) = run(&mut Regs::default(), "B_cond", &[2, 0], 0x2000, true);
        assert!(
            b.contains("if (fk) { nz = t2_nzcv_any(fk, fa, fb); fk = 0; }"),
            "{b}"
        );
    }

    /// FMOV (general) between a local and the vector register file, each direction and
    /// size; the FP16 forms go to the handler.
    #[test]
    fn fmov_general_moves_between_locals_and_the_vector_registers() {
        // (sf, ftype, rmode, o, n, d), then what the direct code must contain.
        let cases: &[([u32; 6], &str)] = &[
            ([1, 1, 0, 0, 0, 24], "r24 = V_lo(c, 0u);"), // FMOV X24, D0
            ([0, 0, 0, 0, 3, 2], "r2 = (u64)(u32)V_lo(c, 3u);"), // FMOV W2, S3
            ([1, 2, 1, 0, 4, 5], "r5 = V_hi(c, 4u);"),   // FMOV X5, V4.D[1]
            ([1, 1, 0, 1, 7, 1], "set_freg(c, 1u, 3u, r7);"), // FMOV D1, X7
            ([0, 0, 0, 1, 7, 1], "set_freg(c, 1u, 2u, (u64)(u32)r7);"), // FMOV S1, W7
            ([1, 2, 1, 1, 7, 1], "setV(c, 1u, V_lo(c, 1u), r7);"), // FMOV V1.D[1], X7
        ];
        for (f, want) in cases {
            let (out, some) = run(&mut Regs::default(), "FMOV_gen", f, 0, false);
            assert!(some && out.contains(want), "{f:?}: {out}");
        }
        // FMOV W0, H1 (ftype 3): FP16, the handler's SIGILL.
        assert!(
            !run(
                &mut Regs::default(),
                "FMOV_gen",
                &[0, 3, 0, 0, 1, 0],
                0,
                false
            )
            .1
        );
    }

    #[test]
    fn reserved_encodings_and_mid_block_branches_go_to_the_handler() {
        let mut r = Regs::default();
        assert!(!run(&mut r, "MOVZ", &[0, 2, 1, 0], 0, false).1);
        assert!(!run(&mut r, "ADDSUB_shift", &[1, 0, 0, 3, 1, 0, 2, 3], 0, false).1);
        assert!(!run(&mut r, "B", &[4], 0, false).1);
        assert!(run(&mut r, "B", &[4], 0, true).1);
    }

    #[test]
    fn branches_end_in_jumps_to_sign_extended_targets() {
        let mut r = Regs::default();
        // B.NE .-4 (imm19 = all ones).
        let (out, _) = run(&mut r, "B_cond", &[0x7ffff, 1], 0x400010, true);
        assert!(
            out.contains("if (cond_holds_w(nz, 1u)) { JUMP 0x40000c; }\n    JUMP 0x400014;"),
            "{out}"
        );
        // BLR X30: the target read before X30 is written.
        let (out, _) = run(&mut r, "BLR", &[30], 0x400010, true);
        assert!(
            out.contains("u64 target = r30;\n    r30 = 0x400014ull;\n    JUMP target;"),
            "{out}"
        );
    }
}
