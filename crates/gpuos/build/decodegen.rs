//! Generator for the A64 decoder: reads the declarative decode tables
//! (`kernel/a64/*.table`) and emits a C++ decision tree that maps an instruction word
//! to its entry's number (`a64_decode_id`), a switch that runs entry number N's handler
//! with its fields (`a64_exec_id`), plus a Rust copy of the table (disassembler names,
//! overlap test). Decoding is split from execution so that the core can cache entry
//! numbers per code page (kernel/exec.h) and skip the tree for code it has seen.

use std::fmt::Write as _;

/// One table line.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub desc: String,
    pub mask: u32,
    pub value: u32,
    /// Fields in order of first appearance: (letter, bit positions high to low).
    pub fields: Vec<(char, Vec<u32>)>,
    pub file: String,
    pub line: usize,
}

/// Parse every table line of `text` (file name used in errors).
pub fn parse(text: &str, file: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let name = parts.next().unwrap_or_default().to_string();
        let pattern = parts.next().unwrap_or_default().to_string();
        let desc = parts.collect::<Vec<_>>().join(" ");
        if pattern.len() != 32 {
            return Err(format!(
                "{file}:{}: pattern of {name} has {} bits, not 32",
                i + 1,
                pattern.len()
            ));
        }
        let (mut mask, mut value) = (0u32, 0u32);
        let mut fields: Vec<(char, Vec<u32>)> = Vec::new();
        for (k, ch) in pattern.chars().enumerate() {
            let bit = 31 - k as u32;
            match ch {
                '0' => mask |= 1 << bit,
                '1' => {
                    mask |= 1 << bit;
                    value |= 1 << bit
                }
                '-' => {}
                c if c.is_ascii_alphabetic() => match fields.iter_mut().find(|f| f.0 == c) {
                    Some(f) => f.1.push(bit),
                    None => fields.push((c, vec![bit])),
                },
                c => {
                    return Err(format!(
                        "{file}:{}: bad character {c:?} in pattern of {name}",
                        i + 1
                    ))
                }
            }
        }
        out.push(Entry {
            name,
            desc,
            mask,
            value,
            fields,
            file: file.to_string(),
            line: i + 1,
        });
    }
    Ok(out)
}

fn field_expr(bits: &[u32]) -> String {
    // Group runs of consecutive bits.
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &b in bits {
        match runs.last_mut() {
            Some((_, lo)) if *lo == b + 1 => *lo = b,
            _ => runs.push((b, b)),
        }
    }
    let mut expr = String::new();
    let mut shift_left: u32 = bits.len() as u32;
    for (hi, lo) in runs {
        let width = hi - lo + 1;
        shift_left -= width;
        let part = format!("BITS(insn, {hi}, {lo})");
        let part = if shift_left > 0 {
            format!("({part} << {shift_left})")
        } else {
            part
        };
        if !expr.is_empty() {
            expr.push_str(" | ");
        }
        expr.push_str(&part);
    }
    if expr.contains('|') {
        format!("({expr})")
    } else {
        expr
    }
}

fn call(e: &Entry) -> String {
    let mut s = format!("{}(c", e.name);
    for (_, bits) in &e.fields {
        s.push_str(", ");
        s.push_str(&field_expr(bits));
    }
    s.push(')');
    s
}

/// What a leaf of the tree does: the statement for a matching entry, and for none.
struct Leaf<'a> {
    hit: &'a dyn Fn(&Entry) -> String,
    miss: &'a str,
}

fn leaf(out: &mut String, ents: &[&Entry], ind: usize, act: &Leaf) {
    let mut v: Vec<&Entry> = ents.to_vec();
    v.sort_by_key(|e| std::cmp::Reverse(e.mask.count_ones()));
    let pad = "    ".repeat(ind);
    for e in v {
        let _ = writeln!(
            out,
            "{pad}if ((insn & 0x{:08x}u) == 0x{:08x}u) {{ {} }}  // {}",
            e.mask,
            e.value,
            (act.hit)(e),
            e.name
        );
    }
    let _ = writeln!(out, "{pad}{}", act.miss);
}

/// Emit a switch on the selector `bits` (positions, highest first). Each case gets the
/// entries whose fixed bits agree with its value; an entry that leaves a selector bit
/// open goes into every case it matches.
fn switch_on(
    out: &mut String,
    ents: &[&Entry],
    bits: &[u32],
    known: u32,
    ind: usize,
    depth: usize,
    act: &Leaf,
) {
    let pad = "    ".repeat(ind);
    let sel: u32 = bits.iter().fold(0, |m, b| m | 1 << b);
    // One shift and mask per run of adjacent bits (not one per bit): this expression
    // is evaluated for every guest instruction.
    let mut expr = String::new();
    let mut i = 0;
    while i < bits.len() {
        let mut j = i;
        while j + 1 < bits.len() && bits[j + 1] + 1 == bits[j] {
            j += 1;
        }
        let (lo, width, at) = (bits[j], j - i + 1, bits.len() - 1 - j);
        if !expr.is_empty() {
            expr.push_str(" | ");
        }
        let _ = write!(
            expr,
            "(((insn >> {lo}) & 0x{:x}u) << {at})",
            (1u32 << width) - 1
        );
        i = j + 1;
    }
    let _ = writeln!(out, "{pad}switch ({expr}) {{");
    for v in 0..(1u32 << bits.len()) {
        let mut want = 0u32;
        for (i, b) in bits.iter().enumerate() {
            if v & (1 << (bits.len() - 1 - i)) != 0 {
                want |= 1 << b;
            }
        }
        let sub: Vec<&Entry> = ents
            .iter()
            .copied()
            .filter(|e| e.value & e.mask & sel == want & e.mask & sel)
            .collect();
        if sub.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{pad}case {v}: {{");
        tree(out, &sub, known | sel, ind + 1, depth + 1, act);
        let _ = writeln!(out, "{pad}}}");
    }
    let _ = writeln!(out, "{pad}default: {}", act.miss);
    let _ = writeln!(out, "{pad}}}");
}

fn tree(out: &mut String, ents: &[&Entry], known: u32, ind: usize, depth: usize, act: &Leaf) {
    if ents.len() <= 3 || depth > 16 {
        leaf(out, ents, ind, act);
        return;
    }
    if depth == 0 {
        // The root dispatches on op0, bits 28..25 (Arm ARM C4.1 "A64 instruction set
        // encoding"): one 16-way jump instead of several levels of single-bit tests.
        switch_on(out, ents, &[28, 27, 26, 25], known, ind, depth, act);
        return;
    }
    let pad = "    ".repeat(ind);
    let common = ents.iter().fold(!0u32, |m, e| m & e.mask) & !known;
    if common != 0 {
        // Switch on up to 5 of the bits every entry fixes (highest first).
        let bits: Vec<u32> = (0..32u32)
            .rev()
            .filter(|b| common & (1 << b) != 0)
            .take(5)
            .collect();
        switch_on(out, ents, &bits, known, ind, depth, act);
        return;
    }
    // No bit common to all: split on the bit fixed in the most entries.
    let mut best = (0usize, 0u32);
    for b in 0..32u32 {
        if known & (1 << b) != 0 {
            continue;
        }
        let n = ents.iter().filter(|e| e.mask & (1 << b) != 0).count();
        if n > best.0 {
            best = (n, b);
        }
    }
    let (n, b) = best;
    let zero: Vec<&Entry> = ents
        .iter()
        .copied()
        .filter(|e| e.mask & (1 << b) == 0 || e.value & (1 << b) == 0)
        .collect();
    let one: Vec<&Entry> = ents
        .iter()
        .copied()
        .filter(|e| e.mask & (1 << b) == 0 || e.value & (1 << b) != 0)
        .collect();
    if n == 0 || zero.len() == ents.len() && one.len() == ents.len() {
        leaf(out, ents, ind, act);
        return;
    }
    let _ = writeln!(out, "{pad}if (insn & (1u << {b})) {{");
    tree(out, &one, known | 1 << b, ind + 1, depth + 1, act);
    let _ = writeln!(out, "{pad}}} else {{");
    tree(out, &zero, known | 1 << b, ind + 1, depth + 1, act);
    let _ = writeln!(out, "{pad}}}");
}

/// The C++ decoder: `a64_decode_id(u32)` gives the entry number (1-based, in table
/// order; `A64_UNDEF_ID` for no entry) and `a64_exec_id(Core&, u32, u32)` runs it.
pub fn gen_cpp(ents: &[Entry]) -> String {
    let mut out = String::new();
    out.push_str(
        "// Generated by crates/gpuos/build/decodegen.rs from kernel/a64/*.table. Do not edit.\n",
    );
    out.push_str("#pragma once\n\n");
    let undef_id = ents.len() + 1;
    let _ = writeln!(
        out,
        "/// Entry number of unallocated or unimplemented encodings.\n#define A64_UNDEF_ID {undef_id}u\n"
    );
    let id_of = |e: &Entry| ents.iter().position(|x| std::ptr::eq(x, e)).unwrap_or(0) + 1;
    out.push_str(
        "/// The decode table's entry number for insn (1-based); A64_UNDEF_ID when none.\n",
    );
    out.push_str("GFN_NOINLINE u32 a64_decode_id(u32 insn) {\n");
    let refs: Vec<&Entry> = ents.iter().collect();
    let miss = "return A64_UNDEF_ID;".to_string();
    let hit = |e: &Entry| format!("return {}u;", id_of(e));
    tree(
        &mut out,
        &refs,
        0,
        1,
        0,
        &Leaf {
            hit: &hit,
            miss: &miss,
        },
    );
    out.push_str("}\n\n");
    // One call per entry, with its operand fields taken from the word: the
    // interpreter's switch below and tier 2's handler wrappers (translate/gen.rs) use it.
    out.push_str(
        "/// `A64_CALL_NAME(c, insn)`: entry NAME's handler on insn, its fields decoded.\n",
    );
    for e in ents {
        let _ = writeln!(out, "#define A64_CALL_{}(c, insn) {}", e.name, call(e));
    }
    exec_table(&mut out, ents, undef_id);
    out.push_str("#else\n");
    out.push_str("GFN void a64_exec_id(Core& c, u32 insn, u32 id) {\n    switch (id) {\n");
    for e in ents {
        let _ = writeln!(
            out,
            "    case {}u: A64_CALL_{}(c, insn); return;",
            id_of(e),
            e.name
        );
    }
    out.push_str("    default: undef(c); return;\n    }\n}\n#endif\n\n");
    out.push_str("/// Decode and run one instruction.\n");
    out.push_str(
        "GFN void a64_exec(Core& c, u32 insn) { a64_exec_id(c, insn, a64_decode_id(insn)); }\n",
    );
    out
}

/// `a64_exec_id` under `-DGPUOS_EXEC_TABLE`: one indirect call through a table of
/// per-entry functions (`a64x_NAME`, index = entry number), instead of the switch, which
/// NVRTC compiles as a tree of compares and branches (no jump tables): about 38 of the
/// 235 SASS instructions per guest instruction of one interpreted lane, and a fifth of
/// its stalls waiting on branches (Nsight Compute, H200, twenty-sixth session). A
/// variant to measure (`GPU_CARRY_VARIANTS`, `GPUOS_NVRTC_OPTS`); the switch stays the
/// default until it is. Ids past the table run `undef`, as the switch's default.
fn exec_table(out: &mut String, ents: &[Entry], undef_id: usize) {
    out.push_str("\n/// Run entry `id` of the decode table on insn.\n#ifdef GPUOS_EXEC_TABLE\n");
    for e in ents {
        let _ = writeln!(
            out,
            "GFN_NOINLINE void a64x_{0}(Core& c, u32 insn) {{ A64_CALL_{0}(c, insn); }}",
            e.name
        );
    }
    out.push_str("GFN_NOINLINE void a64x_undef(Core& c, u32 insn) { (void)insn; undef(c); }\n");
    out.push_str("typedef void (*A64ExecFn)(Core&, u32);\n");
    out.push_str("#if GPUOS_DEVICE\nstatic __device__ const A64ExecFn A64_EXEC[] = {\n");
    out.push_str("#else\nstatic const A64ExecFn A64_EXEC[] = {\n#endif\n    a64x_undef,\n");
    for e in ents {
        let _ = writeln!(out, "    a64x_{},", e.name);
    }
    out.push_str("    a64x_undef,\n};\n");
    let _ = writeln!(
        out,
        "GFN void a64_exec_id(Core& c, u32 insn, u32 id) {{ A64_EXEC[id <= {undef_id}u ? id : {undef_id}u](c, insn); }}"
    );
}

/// The Rust table: `(name, mask, value, description)`.
pub fn gen_rust(ents: &[Entry]) -> String {
    let mut out = String::from("/// The A64 decode table, generated from kernel/a64/*.table: (name, mask, value, description, fields).\n");
    out.push_str("pub static A64_TABLE: &[A64Entry] = &[\n");
    for e in ents {
        let fields: Vec<String> = e
            .fields
            .iter()
            .map(|(ch, bits)| {
                format!(
                    "('{ch}', &[{}])",
                    bits.iter()
                        .map(|b| b.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "    A64Entry {{ name: {:?}, mask: 0x{:08x}, value: 0x{:08x}, desc: {:?}, fields: &[{}], source: {:?} }},",
            e.name,
            e.mask,
            e.value,
            e.desc,
            fields.join(", "),
            format!("{}:{}", e.file, e.line)
        );
    }
    out.push_str("];\n");
    out
}
