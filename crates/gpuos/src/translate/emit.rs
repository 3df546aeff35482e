//! Tier 2's direct code for the most frequent instructions: within a block, guest
//! registers live in C++ locals (`rN`, GPU or host registers) instead of the Core's
//! register file in memory, and these instructions are generated as expressions over
//! them rather than as handler calls. Every other instruction is still its handler's
//! call (the registers it may read or write are written back before it and read again
//! after it). The expressions call the same Arm ARM helpers as the handlers
//! (kernel/a64/a64_common.h: `add_with_carry`, `shift_reg`, `cond_holds`, `setNZCV`),
//! and each emitter below mirrors its handler (the comment names it), so the semantics
//! stay in one place; the differential fuzzer and the conformance suite run translated
//! to hold them equal.
//!
//! An encoding a handler would refuse (SIGILL for a reserved field value) is left to
//! the handler: direct code never raises.

use std::fmt::Write as _;

/// The guest registers of one block held in locals: which hold the current value
/// (`loaded`) and which differ from the register file (`dirty`); bit n for Xn, bit 31
/// for SP.
#[derive(Default)]
pub struct Regs {
    loaded: u32,
    dirty: u32,
    /// Every local used (declared at the top of the block's function).
    pub used: u32,
}

impl Regs {
    /// The local holding register n (31: SP), loaded first if need be.
    fn get(&mut self, out: &mut String, n: u32) -> String {
        if self.loaded & (1 << n) == 0 {
            let _ = writeln!(out, "    r{n} = c.s.x[{n}];");
            self.loaded |= 1 << n;
            self.used |= 1 << n;
        }
        format!("r{n}")
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
        self.loaded |= 1 << n;
        self.dirty |= 1 << n;
        self.used |= 1 << n;
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

    /// Write the changed registers back to the register file.
    pub fn flush(&mut self, out: &mut String) {
        for n in 0..32 {
            if self.dirty & (1 << n) != 0 {
                let _ = writeln!(out, "    c.s.x[{n}] = r{n};");
            }
        }
        self.dirty = 0;
    }

    /// After a handler call: it may have changed any register.
    pub fn forget(&mut self) {
        self.loaded = 0;
    }
}

/// `dmask(sf)` as a C++ constant.
fn mask(sf: u32) -> &'static str {
    if sf == 1 {
        "~0ull"
    } else {
        "0xffffffffull"
    }
}

/// A sign-extended branch offset of `bits` bits, in bytes.
fn offset(imm: u32, bits: u32) -> i64 {
    (((imm as i64) << (64 - bits)) >> (64 - bits)) << 2
}

/// What the direct code of a block's last instruction did with the PC.
pub enum Flow {
    /// Not a branch: the block goes on (or ends) at the next instruction.
    Next,
    /// A branch: it set `c.s.pc` itself (after writing the registers back).
    Branch,
}

/// The direct code of instruction `name` at `pc` with operand fields `f` (in the
/// handler's parameter order), or None to call the handler. Branches are emitted
/// only as a block's last instruction (`last`), where they write the registers back
/// and set `c.s.pc`.
pub fn emit(
    out: &mut String,
    regs: &mut Regs,
    name: &str,
    f: &[u32],
    pc: u64,
    last: bool,
) -> Option<Flow> {
    let next = pc.wrapping_add(4);
    let target = |imm: u32, bits: u32| pc.wrapping_add(offset(imm, bits) as u64);
    match (name, f) {
        // ADDSUB_imm: Rn SP-capable; Rd SP-capable unless S.
        ("ADDSUB_imm", &[sf, op, s, sh, imm12, n, d]) => {
            let imm = (imm12 as u64) << if sh == 1 { 12 } else { 0 };
            let x = format!("({} & {})", regs.get(out, n), mask(sf));
            let (y, carry) = if op == 1 { (!imm, 1) } else { (imm, 0) };
            let r = format!(
                "add_with_carry(c, {sf}u, {x}, 0x{y:x}ull, {carry}u, {})",
                s == 1
            );
            if s == 1 {
                regs.set_r(out, sf, d, &r);
            } else {
                regs.set(out, d, &format!("{r} & {}", mask(sf)));
            }
            Some(Flow::Next)
        }
        // ADDSUB_shift: shift type 3 and (32-bit) amounts of 32 and more are reserved.
        ("ADDSUB_shift", &[sf, op, s, shift, m, imm6, n, d])
            if shift != 3 && (sf == 1 || imm6 < 32) =>
        {
            let op2 = format!("shift_reg({}, {shift}u, {imm6}u, {sf}u)", regs.x(out, m));
            let x = regs.r(out, sf, n);
            let r = if op == 1 {
                format!("add_with_carry(c, {sf}u, {x}, ~{op2}, 1u, {})", s == 1)
            } else {
                format!("add_with_carry(c, {sf}u, {x}, {op2}, 0u, {})", s == 1)
            };
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
            let op = ["&", "|", "^", "&"][opc as usize];
            if opc == 3 {
                let top = if sf == 1 { 63 } else { 31 };
                let _ = writeln!(
                    out,
                    "    rt = {x} {op} {op2};\n    setNZCV(c, ((rt >> {top}) & 1) != 0, rt == 0, false, false);"
                );
                regs.set_r(out, sf, d, "rt");
            } else {
                regs.set_r(out, sf, d, &format!("{x} {op} {op2}"));
            }
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
            regs.set_r(out, sf, d, &format!("cond_holds(c, {cond}u) ? {xn} : {xm}"));
            Some(Flow::Next)
        }
        _ if !last => None,
        // Branches, as the block's last instruction.
        ("B", &[imm26]) => {
            regs.flush(out);
            let _ = writeln!(out, "    c.s.pc = 0x{:x}ull;", target(imm26, 26));
            Some(Flow::Branch)
        }
        ("BL", &[imm26]) => {
            regs.set(out, 30, &format!("0x{next:x}ull"));
            regs.flush(out);
            let _ = writeln!(out, "    c.s.pc = 0x{:x}ull;", target(imm26, 26));
            Some(Flow::Branch)
        }
        ("B_cond", &[imm19, cond]) => {
            regs.flush(out);
            let _ = writeln!(
                out,
                "    c.s.pc = cond_holds(c, {cond}u) ? 0x{:x}ull : 0x{next:x}ull;",
                target(imm19, 19)
            );
            Some(Flow::Branch)
        }
        ("CBZ", &[sf, nonzero, imm19, t]) => {
            let v = regs.r(out, sf, t);
            regs.flush(out);
            let _ = writeln!(
                out,
                "    c.s.pc = (({v} == 0) != {}) ? 0x{:x}ull : 0x{next:x}ull;",
                nonzero == 1,
                target(imm19, 19)
            );
            Some(Flow::Branch)
        }
        ("TBZ", &[bit, nonzero, imm14, t]) => {
            let v = regs.x(out, t);
            regs.flush(out);
            let _ = writeln!(
                out,
                "    c.s.pc = (((u32)({v} >> {bit}) & 1u) == {nonzero}u) ? 0x{:x}ull : 0x{next:x}ull;",
                target(imm14, 14)
            );
            Some(Flow::Branch)
        }
        ("BR" | "RET", &[n]) => {
            let v = regs.x(out, n);
            regs.flush(out);
            let _ = writeln!(out, "    c.s.pc = {v};");
            Some(Flow::Branch)
        }
        ("BLR", &[n]) => {
            // The target is read before X30 is written (BLR X30).
            let v = regs.x(out, n);
            let _ = writeln!(out, "    {{ u64 target = {v};");
            regs.set(out, 30, &format!("0x{next:x}ull"));
            regs.flush(out);
            let _ = writeln!(out, "    c.s.pc = target; }}");
            Some(Flow::Branch)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_stay_in_locals_until_written_back() {
        let mut out = String::new();
        let mut r = Regs::default();
        // ADD X0, X1, #1 then ADD X0, X0, #2: X1 loaded once, X0 never read back.
        emit(
            &mut out,
            &mut r,
            "ADDSUB_imm",
            &[1, 0, 0, 0, 1, 1, 0],
            0x1000,
            false,
        )
        .unwrap();
        emit(
            &mut out,
            &mut r,
            "ADDSUB_imm",
            &[1, 0, 0, 0, 2, 0, 0],
            0x1004,
            false,
        )
        .unwrap();
        assert_eq!(out.matches("c.s.x[1]").count(), 1, "{out}");
        assert!(!out.contains("c.s.x[0]"), "{out}");
        r.flush(&mut out);
        assert!(out.ends_with("    c.s.x[0] = r0;\n"), "{out}");
    }

    #[test]
    fn reserved_encodings_and_mid_block_branches_go_to_the_handler() {
        let (mut out, mut r) = (String::new(), Regs::default());
        assert!(emit(&mut out, &mut r, "MOVZ", &[0, 2, 1, 0], 0, false).is_none());
        assert!(emit(
            &mut out,
            &mut r,
            "ADDSUB_shift",
            &[1, 0, 0, 3, 1, 0, 2, 3],
            0,
            false
        )
        .is_none());
        assert!(emit(&mut out, &mut r, "B", &[4], 0, false).is_none());
        assert!(emit(&mut out, &mut r, "B", &[4], 0, true).is_some());
    }

    #[test]
    fn branch_targets_are_sign_extended() {
        let (mut out, mut r) = (String::new(), Regs::default());
        // B.NE .-4 (imm19 = all ones).
        emit(&mut out, &mut r, "B_cond", &[0x7ffff, 1], 0x400010, true).unwrap();
        assert!(out.contains("? 0x40000cull : 0x400014ull"), "{out}");
    }
}
