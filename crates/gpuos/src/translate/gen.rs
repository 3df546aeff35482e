//! Block discovery and C++ generation for tier 2 (docs/ARCHITECTURE.md, "Tier 2").
//!
//! A block is a run of guest instructions of the image's text from a start address
//! the interpreter's profile found hot, up to and including the first instruction that
//! may change the flow of control or the code cache (every entry of
//! kernel/a64/branch.table, BARRIER and SYS), the end of its 4 KiB page, or
//! [`MAX_BLOCK`] instructions; an unallocated encoding ends it before itself (the
//! interpreter raises SIGILL there). The generated C++ calls the decode table's own
//! handlers with constant operand fields, in order: no instruction has a second
//! implementation.

use super::emit::{self, each, home, local as state_local, Flow, Regs, NZCV};
use super::regions;
use crate::tables;
use std::fmt::Write as _;

/// Most instructions in one block (bounds code size and the budget check's granularity).
pub const MAX_BLOCK: usize = 64;

/// One executable segment of the image: its address and file bytes (what the template
/// frames hold; the rest of the segment is zero).
#[derive(Clone, Copy, Debug)]
pub struct Code<'a> {
    /// Guest virtual address of `bytes[0]`.
    pub vaddr: u64,
    /// The segment's file bytes.
    pub bytes: &'a [u8],
}

/// One basic block to translate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// Guest address of the first instruction.
    pub start: u64,
    /// The template frame holding the block's page (the dispatcher checks it, since a
    /// template frame may be mapped elsewhere by mremap).
    pub frame: u64,
    /// The instruction words.
    pub insns: Vec<u32>,
}

/// Whether an instruction of decode entry `e` ends a block after itself.
fn ends_block(e: &tables::A64Entry) -> bool {
    e.source.starts_with("kernel/a64/branch.table") || e.name == "BARRIER" || e.name == "SYS"
}

/// Whether the block's last instruction is a branch (or SVC, BRK): the run loop then
/// goes where it leads, not to the next address.
pub fn ends_in_branch(b: &Block) -> bool {
    b.insns
        .last()
        .and_then(|&w| tables::decode(w))
        .is_some_and(|e| e.source.starts_with("kernel/a64/branch.table"))
}

/// The addresses where control may go next after block `b` and that the instruction
/// itself names (Arm ARM C6.2: B, BL, B.cond, CBZ/CBNZ, TBZ/TBNZ, with the
/// fall-through of the conditional ones; the return address of BL and BLR, where the
/// callee's RET comes back; the instruction after SVC): the blocks a lane may enter
/// next, whatever its data. Indirect targets (BR, RET, BLR's callee) are not known.
/// A block cut short without a branch continues at its end (see `extend` in mod.rs).
pub fn direct_successors(b: &Block) -> Vec<u64> {
    let Some(&w) = b.insns.last() else {
        return Vec::new();
    };
    let pc = b.start + 4 * (b.insns.len() as u64 - 1);
    let next = pc + 4;
    // imm is a signed word offset of `bits` bits.
    let rel = |imm: u32, bits: u32| {
        let off = ((imm << (32 - bits)) as i32 >> (32 - bits)) as i64 * 4;
        pc.wrapping_add(off as u64)
    };
    if w & 0x7c00_0000 == 0x1400_0000 {
        // B, BL: imm26.
        let t = rel(w & 0x03ff_ffff, 26);
        return if w >> 31 == 1 { vec![t, next] } else { vec![t] };
    }
    if w & 0xff00_0010 == 0x5400_0000 || w & 0x7e00_0000 == 0x3400_0000 {
        // B.cond, CBZ/CBNZ: imm19 at [23:5].
        return vec![rel(w >> 5 & 0x7_ffff, 19), next];
    }
    if w & 0x7e00_0000 == 0x3600_0000 {
        // TBZ/TBNZ: imm14 at [18:5].
        return vec![rel(w >> 5 & 0x3fff, 14), next];
    }
    // BLR, SVC: back at the next instruction.
    if w & 0xffff_fc1f == 0xd63f_0000 || w & 0xffe0_001f == 0xd400_0001 {
        return vec![next];
    }
    Vec::new()
}

/// The instruction word at `va`, if some segment's file bytes hold it.
fn word_at(code: &[Code], va: u64) -> Option<u32> {
    code.iter().find_map(|s| {
        let off = va.checked_sub(s.vaddr)? as usize;
        let b = s.bytes.get(off..off.checked_add(4)?)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    })
}

/// The block starting at `start` (4-aligned) on template frame `frame`, or None when
/// its first instruction is not in the text or has no decode entry.
pub fn find_block(code: &[Code], start: u64, frame: u64) -> Option<Block> {
    if start & 3 != 0 {
        return None;
    }
    let page_end = (start | 0xfff) + 1;
    let mut insns = Vec::new();
    let mut va = start;
    while va < page_end && insns.len() < MAX_BLOCK {
        let Some(w) = word_at(code, va) else { break };
        let Some(e) = tables::decode(w) else { break };
        insns.push(w);
        if ends_block(e) {
            break;
        }
        va += 4;
    }
    (!insns.is_empty()).then_some(Block {
        start,
        frame,
        insns,
    })
}

/// The value of an operand field: its bits of insn, high to low.
fn field(insn: u32, bits: &[u32]) -> u32 {
    bits.iter().fold(0u32, |v, &b| v << 1 | (insn >> b & 1))
}

/// The operand fields of insn (which has a decode entry), in its handler's parameter
/// order, and the entry.
fn fields(insn: u32) -> (&'static tables::A64Entry, Vec<u32>) {
    let e = tables::decode(insn).expect("blocks hold decodable instructions");
    (
        e,
        e.fields.iter().map(|(_, bits)| field(insn, bits)).collect(),
    )
}

/// Decode tables (kernel/a64/) whose handlers read and write only the SIMD&FP
/// registers, FPCR and FPSR, and (`true`) the flags: no general register, no memory,
/// no mapping. FP data processing reads the flags (FCSEL), FP compares write them;
/// the others (simd_copy's UMOV and INS, fp_cvt's FMOV and conversions to and from
/// general registers, the loads and stores) are general.
const VECTOR_TABLES: &[(&str, bool)] = &[
    ("simd_three_same", false),
    ("simd_three_diff", false),
    ("simd_indexed", false),
    ("simd_modimm", false),
    ("simd_across", false),
    ("simd_shift_imm", false),
    ("simd_two_reg_misc", false),
    ("simd_permute", false),
    ("fp_dp", true),
    ("fp_cmp", true),
];

/// Whether entry `e`'s handler is SIMD&FP data processing ([`VECTOR_TABLES`]), and
/// then whether it uses the flags.
fn vector_handler(e: &tables::A64Entry) -> Option<bool> {
    let file = table_of(e)?;
    VECTOR_TABLES
        .iter()
        .find(|(t, _)| *t == file)
        .map(|&(_, flags)| flags)
}

/// Decode tables whose handlers neither read nor write the flags: the loads and stores
/// (kernel/a64/ldst.h, simd_ldst.h), whose calls are mostly the slow paths of direct
/// code, where the flags then stay in their locals (lazy ones too).
const FLAGLESS_TABLES: &[&str] = &["ldst", "simd_ldst"];

/// The decode table (file stem) of entry `e`.
fn table_of(e: &tables::A64Entry) -> Option<&str> {
    e.source.rsplit('/').next()?.split('.').next()
}

/// The state an instruction's handler may read or write: for SIMD&FP data processing
/// at most the flags ([`vector_handler`]: its operand fields name vector registers);
/// else its operand fields' values below 32 (register numbers, and small immediates,
/// harmlessly), X30 for the branches with link, and the flags unless the table is one
/// of [`FLAGLESS_TABLES`].
fn handler_regs(e: &tables::A64Entry, f: &[u32]) -> u64 {
    if let Some(flags) = vector_handler(e) {
        return if flags { 1 << NZCV } else { 0 };
    }
    let link = if matches!(e.name, "BL" | "BLR") {
        1 << 30
    } else {
        0
    };
    let flags = if table_of(e).is_some_and(|t| FLAGLESS_TABLES.contains(&t)) {
        0
    } else {
        1 << NZCV
    };
    f.iter()
        .filter(|&&v| v < 32)
        .fold(link | flags, |m, &v| m | 1 << v)
}

/// The C++ of block `b` inside the translation's `t2_enter` (label `b_<start>`, see
/// [`gen_source`]): the budget check (`T2_BUDGET`: of `need` instructions, the block
/// and those its jumps may run before the next check, [`budget_plan`]; none where
/// `need` is 0), the instructions, then the jump to the next
/// block. The frequent instructions are direct code over the registers in locals
/// ([`emit`]); the others call their handler (through its `T2H_` name) with the
/// registers it may use written back before and read again after, `c.pc`, `c.npc` and
/// `c.insn` set as the run loop sets them, and an exception checked after. `regs` is
/// the state at the block's start; `jump(target)` the C++ that goes on at a constant
/// target (`count` first adds the block's instructions to `done`).
fn gen_block(
    out: &mut String,
    b: &Block,
    need: u32,
    regs: &mut Regs,
    local: &dyn Fn(u64) -> Option<usize>,
) {
    let n = b.insns.len();
    let _ = writeln!(
        out,
        "b_{:x}:\n    T2_BUDGET({n}u, {need}u, 0x{:x}ull)\n    T2_GROUP({n}u)",
        b.start, b.start
    );
    // After a handler call the block goes on only while the code page is still its
    // own (emit.rs `Call::emit`): its jumps to the page need no test.
    let jump = |t: emit::Target| jump_code(n, t, local);
    let mut flow = Flow::Next;
    for (i, &w) in b.insns.iter().enumerate() {
        let pc = b.start + 4 * i as u64;
        let (e, f) = fields(w);
        let _ = writeln!(out, "    // {:x}: {}", pc, tables::disassemble(w));
        let args: String = f.iter().map(|v| format!(", {v}u")).collect();
        let call = emit::Call {
            invoke: format!("T2C_{}(0x{pc:x}ull, 0x{w:08x}u, (c{args}))", e.name),
            regs: handler_regs(e, &f),
            pc,
            k: i + 1,
            pure: vector_handler(e).is_some(),
        };
        if let Some(fl) = emit::emit(out, regs, e.name, &f, pc, i + 1 == n, &call, &jump) {
            flow = fl;
            continue;
        }
        flow = Flow::Next;
        call.emit_inline(out, regs);
        if i + 1 == n {
            // A handler's branch left its target in c.npc.
            let _ = writeln!(out, "    {}", jump(emit::Target::Dyn("c.npc")));
            flow = Flow::Branch;
        }
    }
    if let Flow::Next = flow {
        let next = b.start + 4 * n as u64;
        let _ = writeln!(out, "    {}", jump(emit::Target::Const(next)));
    }
}

/// The C++ that ends a block of `n` instructions at target `t`: the block counted,
/// then `goto` its label when the target is block number `k` of the region on the
/// same page (`local`) and the lanes that run the region together are all here
/// (`T2_TOGETHER`); when they are not all here (their branches went different
/// ways), the region's scheduler (`t2_next`) with `k` set; other targets through
/// `t2_chain`.
fn jump_code(n: usize, t: emit::Target, local: &dyn Fn(u64) -> Option<usize>) -> String {
    let count = format!("done += {n}u;");
    match t {
        emit::Target::Const(t) => match local(t) {
            Some(k) => format!("{{ {count} T2_GOTO(b_{t:x}, {k}u) }}"),
            None => format!("{{ {count} pc = 0x{t:x}ull; goto t2_chain; }}"),
        },
        emit::Target::Dyn(e) => format!("{{ {count} pc = {e}; goto t2_chain; }}"),
    }
}

/// How the blocks call the handlers: `T2C_NAME(pc, insn, (c, fields...))`, true when
/// the handler raised an exception, with `c.pc`, `c.npc` and `c.insn` set first as the
/// run loop sets them. On the GPU each handler used gets one out-of-line wrapper,
/// `t2w_NAME(c, pc, insn)`, that sets them and calls the handler with the operand
/// fields taken from the word by the decoder's own `A64_CALL_NAME` (build/decodegen.rs): a call
/// site then passes two constants instead of a store of each of the three and every
/// field, which kept a tenth of the translated code out of the SM's instruction cache
/// (docs/BENCHMARKS.md, twentieth session). The interpreter inlines the frequent
/// handlers (`HOT_HANDLER`) into its dispatch switch; inlined into every block on the
/// GPU they made NVRTC take many minutes and gigabytes for a program's thousand
/// blocks, so the wrapper is their one out-of-line copy. `-DGPUOS_T2_INLINE` calls the
/// handlers from the blocks with constant fields instead, as the host always does
/// (GPUOS_T2_UNIT inlines every handler there); `-DGPUOS_T2_SITE_FIELDS` (a measuring
/// aid) the former call sites: the three stores and every field at the site, the
/// handler through a wrapper of its fields.
fn gen_wrappers(out: &mut String, blocks: &[Block]) {
    let mut used = std::collections::BTreeMap::new();
    for w in blocks.iter().flat_map(|b| &b.insns) {
        if let Some(e) = tables::decode(*w) {
            used.insert(e.name, e);
        }
    }
    for (name, e) in used {
        let params: String = (0..e.fields.len()).map(|i| format!(", u32 a{i}")).collect();
        let args: String = (0..e.fields.len()).map(|i| format!(", a{i}")).collect();
        let _ = writeln!(
            out,
            "#if GPUOS_DEVICE && defined(GPUOS_T2_SITE_FIELDS)
__device__ __noinline__ void t2f_{name}(Core& c{params}) {{ {name}(c{args}); }}
#define T2C_{name}(PC_, W_, ARGS_) (c.pc = (PC_), c.npc = (PC_) + 4, c.insn = (W_), t2f_{name} ARGS_, c.exc != EXC_NONE)
#elif GPUOS_DEVICE && !defined(GPUOS_T2_INLINE)
__device__ __noinline__ bool t2w_{name}(Core& c, u64 pc, u32 w) {{
    c.pc = pc; c.npc = pc + 4; c.insn = w;
    A64_CALL_{name}(c, w);
    return c.exc != EXC_NONE;
}}
#define T2C_{name}(PC_, W_, ARGS_) t2w_{name}(c, PC_, W_)
#else
#define T2C_{name}(PC_, W_, ARGS_) (c.pc = (PC_), c.npc = (PC_) + 4, c.insn = (W_), {name} ARGS_, c.exc != EXC_NONE)
#endif"
        );
    }
}

/// Multiplier of the block-start hash (2^64 / golden ratio).
const HASH_MUL: u64 = 0x9e37_79b9_7f4a_7c15;

/// `t2_find(pc)`: the block number (1-based, in `blocks` order) starting at pc, or 0:
/// an open-addressing table of the starts (linear probing, at most half full; 1 marks
/// an empty slot, never a start since starts are 4-aligned).
fn gen_find(out: &mut String, blocks: &[Block]) {
    let bits = (2 * blocks.len())
        .next_power_of_two()
        .trailing_zeros()
        .max(1);
    let size = 1usize << bits;
    let mut keys = vec![1u64; size];
    let mut vals = vec![0u32; size];
    for (i, b) in blocks.iter().enumerate() {
        let mut h = ((b.start >> 2).wrapping_mul(HASH_MUL) >> (64 - bits)) as usize;
        while keys[h] != 1 {
            h = (h + 1) & (size - 1);
        }
        keys[h] = b.start;
        vals[h] = i as u32 + 1;
    }
    let list = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(",");
    let _ = writeln!(
        out,
        "T2_DATA u64 t2_keys[{size}] = {{{}}};\nT2_DATA u32 t2_vals[{size}] = {{{}}};",
        list(&mut keys.iter().map(|k| format!("0x{k:x}ull"))),
        list(&mut vals.iter().map(|v| v.to_string()))
    );
    let _ = writeln!(
        out,
        "GFN u32 t2_find(u64 pc) {{
    u32 h = (u32)(((pc >> 2) * 0x{HASH_MUL:x}ull) >> {});
    NO_UNROLL for (;;) {{
        u64 k = t2_keys[h];
        if (k == pc) return t2_vals[h];
        if (k == 1) return 0;
        h = (h + 1) & {}u;
    }}
}}",
        64 - bits,
        size - 1
    );
}

/// The generated source of a translation: `t2_enter` in a core built with its
/// translation (`-DGPUOS_TIER2=1`, the source in place of exec.h's
/// `// @GPUOS_T2_BLOCKS@` line: the GPU's way) or else the exported `gpuos_t2_enter`
/// of a host shared object, with the list of block starts (`gpuos_t2_starts`,
/// `gpuos_t2_nstarts`) that the host reads back from a cached translation. `blocks`
/// sorted by start, starts unique.
///
/// The blocks are grouped into regions of at most `region_blocks` blocks
/// ([`super::region_blocks`]: [`regions::REGION_BLOCKS`] for the host,
/// [`regions::REGION_BLOCKS_GPU`] for a GPU; `weights`: the profile's entry count of
/// each block, hot calls joined first, or empty) that pass
/// control to each other ([`regions::partition`]), each one function (`t2_r<N>`), so
/// that the guest registers stay in locals (GPU registers) from block to block of a
/// region: loaded at its entry, stored at its exits. Blocks are numbered region by
/// region, in address order within each. A block jumps straight to its successor when
/// that is in the region on the same page (`goto`); other targets go through the
/// region's `t2_chain`, which makes a target on another page current through the soft
/// TLB (`t2_code_page`) and finds its block by `t2_find`: in the region, a jump; in
/// another, a return to `t2_enter`, which calls that region. The translation returns
/// to the run loop when the budget cannot cover the next block, at an instruction that
/// raised an exception (`t2_exc`), or at a target without a block.
pub fn gen_source(blocks: &[Block], weights: &[u64], region_blocks: usize) -> String {
    let mut out = String::from(
        "// Generated by crates/gpuos/src/translate/gen.rs: tier-2 blocks of one image.\n",
    );
    let sorted = blocks;
    let parts = regions::partition(sorted, weights, region_blocks);
    let blocks: Vec<Block> = parts.iter().flatten().map(|&i| sorted[i].clone()).collect();
    let blocks = &blocks[..];
    // Region r holds blocks first[r] .. first[r] + parts[r].len() of `blocks`.
    let first: Vec<usize> = parts
        .iter()
        .scan(0, |at, p| {
            let f = *at;
            *at += p.len();
            Some(f)
        })
        .collect();
    let region_of: Vec<usize> = parts
        .iter()
        .enumerate()
        .flat_map(|(r, p)| std::iter::repeat_n(r, p.len()))
        .collect();
    gen_wrappers(&mut out, blocks);
    gen_find(&mut out, blocks);
    // Each block's budget: whether it checks when jumped to, and how many instructions
    // it and the blocks its jumps reach may run before the next check (what a block
    // entered through its region's scheduler checks: `t2_need`).
    let scans: Vec<Scan> = parts
        .iter()
        .enumerate()
        .map(|(r, p)| scan_region(&blocks[first[r]..first[r] + p.len()], first[r]))
        .collect();
    let plan: Vec<Budget> = parts
        .iter()
        .enumerate()
        .flat_map(|(r, p)| budget_plan(&blocks[first[r]..first[r] + p.len()], &scans[r].succ))
        .collect();
    let need: Vec<u32> = plan
        .iter()
        .map(|b| if b.check { b.reach } else { 0 })
        .collect();
    let entry_need: Vec<u32> = plan.iter().map(|b| b.reach).collect();
    let list = |v: &mut dyn Iterator<Item = String>| v.collect::<Vec<_>>().join(",");
    let _ = writeln!(
        out,
        "T2_DATA u64 t2_frames[{}] = {{{}}};\nT2_DATA u16 t2_regions[{}] = {{{}}};\nT2_DATA u64 t2_pcs[{}] = {{{}}};\nT2_DATA u16 t2_need[{}] = {{{}}};\n#define T2_NBLOCKS {}u",
        blocks.len(),
        list(&mut blocks.iter().map(|b| format!("{}u", b.frame))),
        blocks.len(),
        list(&mut region_of.iter().map(|r| r.to_string())),
        blocks.len(),
        list(&mut blocks.iter().map(|b| format!("0x{:x}ull", b.start))),
        blocks.len(),
        list(&mut entry_need.iter().map(|n| format!("{n}u"))),
        blocks.len(),
    );
    out.push_str(
        "/// The block (1-based) starting at pc on the current code page, or 0.
GFN u32 t2_block_at(Core& c, u64 pc) {
    u32 k = t2_find(pc);
    return k && t2_frames[k - 1] == t2_code_frame(c) ? k : 0;
}
",
    );
    for (r, p) in parts.iter().enumerate() {
        let at = first[r]..first[r] + p.len();
        gen_region(
            &mut out,
            r,
            first[r],
            &blocks[at.clone()],
            &scans[r],
            &need[at],
        );
    }
    out.push_str(
        "#if GPUOS_TIER2\nGFN_NOINLINE u32 t2_enter(Core& c, u64 left) {\n#else\nextern \"C\" u32 gpuos_t2_enter(Core& c, u64 left) {\n#endif\n",
    );
    out.push_str(
        "    u64 done = 0;
    u32 k = t2_block_at(c, c.s.pc), mask = T2_ACTIVE();
    T2Carry cy = {};  // no entries (tag 0), no lazy flags (fk 0)
    // The lanes that entered together meet here after each region (see gen_region):
    // those in the lowest-numbered region run it while the others wait.
    NO_UNROLL for (;;) {
        u32 in = T2_BALLOT(mask, k != 0);
#if T2_FRONTIER
        // A lane went back to the run loop: the others follow (see tier2.h).
        if (in != mask) break;
#endif
        mask = in;
        if (!k) break;
        u32 r = t2_regions[k - 1];
        if (r != T2_MIN(mask, r)) continue;
        bool on;
        switch (r) {
",
    );
    for r in 0..parts.len() {
        let _ = writeln!(
            out,
            "        case {r}: on = t2_r{r}(c, left - done, done, k, cy); break;"
        );
    }
    out.push_str(
        "        default: on = false;
        }
        // on: a region's block jumped to a block of another region (c.s.pc, current page).
        k = on ? t2_block_at(c, c.s.pc) : 0;
    }
    // The flags the last region left unsettled (T2Carry), for the run loop.
    if (cy.fk) c.s.nzcv = t2_nzcv_any(cy.fk, cy.fa, cy.fb);
    return (u32)done;
}
#if !GPUOS_TIER2
extern \"C\" const u64 gpuos_t2_starts[] = {",
    );
    for b in sorted {
        let _ = write!(out, "0x{:x}ull, ", b.start);
    }
    let _ = writeln!(
        out,
        "0}};\nextern \"C\" const u64 gpuos_t2_nstarts = {};\n#endif",
        blocks.len()
    );
    out
}

/// The block number (1-based, over the whole translation) of a jump target `t` from
/// block `b` that stays in the region (`blocks`, numbers `first + 1`..): a block of it
/// on b's page and frame, where the jump is a `goto` (gen.rs `jump_code`); else None.
fn local_targets<'a>(
    blocks: &'a [Block],
    first: usize,
    b: &Block,
) -> impl Fn(u64) -> Option<usize> + 'a {
    let (start, frame) = (b.start, b.frame);
    move |t: u64| {
        if t >> 12 != start >> 12 {
            return None;
        }
        let i = blocks.binary_search_by_key(&t, |x| x.start).ok()?;
        (blocks[i].frame == frame).then_some(first + i + 1)
    }
}

/// What a first pass over a region's code finds (`scan_region`): the registers its
/// blocks use and write (the locals the region loads at its entry and stores at its
/// exits), and each block's jumps that stay in the region (the targets its `goto`s
/// take, as indices into the region's blocks, sorted).
struct Scan {
    used: u64,
    written: u64,
    succ: Vec<Vec<usize>>,
}

/// The first pass over region `blocks` (numbers `first + 1`..): each block's code
/// generated once and thrown away, for the registers and the jumps ([`Scan`]).
fn scan_region(blocks: &[Block], first: usize) -> Scan {
    let mut scan = Scan {
        used: 0,
        written: 0,
        succ: Vec::with_capacity(blocks.len()),
    };
    for b in blocks {
        let base = local_targets(blocks, first, b);
        let seen = std::cell::RefCell::new(Vec::new());
        let rec = |t: u64| {
            let k = base(t);
            if let Some(k) = k {
                seen.borrow_mut().push(k - first - 1);
            }
            k
        };
        let mut regs = Regs::default();
        gen_block(&mut String::new(), b, 0, &mut regs, &rec);
        scan.used |= regs.used;
        scan.written |= regs.written;
        let mut v = seen.into_inner();
        v.sort_unstable();
        v.dedup();
        scan.succ.push(v);
    }
    scan
}

/// Most instructions that a budget check covers ([`budget_plan`]): when the budget
/// left is below a check's count the lane leaves the translation there and the run
/// loop interprets the rest of its slice, so a large count would send the end of
/// every slice to the interpreter (slices are 16 K instructions while a better core
/// compiles, kernel/exec.h).
pub const BUDGET_REACH: u32 = 256;

/// A block's budget check ([`budget_plan`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Whether the block checks the budget when a jump reaches it (`T2_BUDGET`).
    pub check: bool,
    /// How many instructions the block and the blocks its jumps reach without a check
    /// may run: what its check compares with the budget left.
    pub reach: u32,
}

/// Where the blocks of a region (`blocks`, in address order, numbers `first + 1`..)
/// check the instruction budget. Every block checked its own before (`left - done <
/// n`: a compare, a branch and the exit's constant PC, about six SASS instructions a
/// block on the GPU, and every exit a merge point of the registers). A lane enters a
/// region only through its scheduler (`t2_next`, which checks the entered block's
/// `reach`, `t2_need`) and goes on by the blocks' jumps (`goto`), so a check is
/// needed only where a jump may close a cycle: a block that a jump reaches from itself
/// or a later block (a loop's head; blocks are in address order, so the other jumps
/// go forward and form no cycle). Every other block is covered by the checks before
/// it: each check compares the budget left with the most instructions any path of
/// forward jumps from it runs before the next check (its `reach`), so a block is still
/// entered only when the budget covers it and instruction counts stay exact. A reach
/// above [`BUDGET_REACH`] makes the heaviest covered successor check too.
/// The plan is used by `-DGPUOS_T2_LOOP_BUDGET`, a measuring variant: by default every
/// block checks its own count (a seed per lane ran 14 % faster so on the H100,
/// docs/BENCHMARKS.md, thirty-eighth session).
/// `succ`: each block's jumps within the region ([`Scan`]).
fn budget_plan(blocks: &[Block], succ: &[Vec<usize>]) -> Vec<Budget> {
    let mut check = vec![false; blocks.len()];
    for (i, s) in succ.iter().enumerate() {
        for &j in s.iter().filter(|&&j| j <= i) {
            check[j] = true;
        }
    }
    let mut reach = vec![0u32; blocks.len()];
    for i in (0..blocks.len()).rev() {
        let n = blocks[i].insns.len() as u32;
        reach[i] = loop {
            let next = succ[i]
                .iter()
                .filter(|&&j| j > i && !check[j])
                .max_by_key(|&&j| reach[j]);
            match next {
                Some(&j) if n + reach[j] > BUDGET_REACH => check[j] = true,
                Some(&j) => break n + reach[j],
                None => break n,
            }
        };
    }
    check
        .into_iter()
        .zip(reach)
        .map(|(check, reach)| Budget { check, reach })
        .collect()
}

/// Region `r`: the function `t2_r<r>(c, left, done_out, k)` over `blocks` (numbers
/// `first + 1`..), starting at block k (of this region, its frame checked). It runs
/// blocks while they jump to blocks of the region and `left` covers them, adds what
/// they executed to `done_out`,
/// and returns true when the next block is another region's (c.s.pc on the current
/// code page), false to return to the run loop.
///
/// The lanes of a warp that enter together (`mask`) go from block to block by `goto`
/// while they stay together. When their branches part, each lane's next block number
/// goes to the scheduler `t2_next`, where they all meet (a warp vote over `mask`): the
/// lanes whose next block is the lowest run it together while the others wait, so
/// lanes that fell behind (in a loop's earlier iterations, or on a longer path) catch
/// up with the ones ahead, instead of the warp running each lane's path after the
/// other's for the rest of the region (thread frontiers: blocks are numbered in address
/// order, and code runs mostly forward). The chosen group (`grp`) goes on by `goto`
/// while it stays together and its jumps stay below `lim`, the least block a waiting
/// lane is at: the scheduler would only choose it again. A lane that leaves the region passes the
/// scheduler too (k = 0; `xr` says how it leaves), so the vote always names the lanes
/// still inside. On the host (one lane) the votes are constants and the scheduler is
/// never taken.
fn gen_region(
    out: &mut String,
    r: usize,
    first: usize,
    blocks: &[Block],
    scan: &Scan,
    need: &[u32],
) {
    let local = |b: &Block| local_targets(blocks, first, b);
    // The registers the blocks use and write: the first pass over their code.
    let (used, written) = (scan.used, scan.written);
    let _ = writeln!(
        out,
        "GFN_NOINLINE bool t2_r{r}(Core& c, u64 left_in, u64& done_out, u32 k, T2Carry& cy) {{"
    );
    for n in each(used) {
        let _ = writeln!(out, "    u64 {} = {};", state_local(n), home(n));
    }
    // `done` counts in a local (a register), added to the caller's at the exits: the
    // reference lives in local memory, and every block's budget check would load it.
    out.push_str(
        "    // The budget in 32 bits: one instruction a block for its check and its count
    // instead of two (a region call runs at most 2^32 - 1 instructions; t2_enter calls
    // again for the rest).
    u32 left = left_in < 0xffffffffull ? (u32)left_in : 0xffffffffu, done = 0;
    u64 rt = 0, pc = c.s.pc, xpc = 0, xskip = 0;
    u64 fa = cy.fa, fb = cy.fb;  // lazy flags (emit.rs, `Flags`): kind fk, 0 when in nz
    // `split` counts the jumps taken through the scheduler (T2_GOTO) in a register,
    // added to c.split at the exits: an increment of the Core's field was a load and a
    // store at each of the region's few hundred jumps.
    u32 xk = 0, xr = 0, fk = cy.fk, mask = T2_ACTIVE(), split = 0;
    // The group the scheduler chose and the least block another lane waits at (T2_GOTO).
    u32 grp = mask, lim = ~0u;
    T2Tlb tlb_s = cy.s;  // the previous region's (T2Carry, tier2.h)
    T2Ways tlb_d = cy.d;
    (void)rt; (void)tlb_s; (void)tlb_d; (void)fa; (void)fb; (void)fk; (void)grp; (void)lim; (void)split;
t2_next:
#if T2_SCHED
    // k: this lane's next block of the region, or 0 when it leaves (xr: 0 to the run
    // loop at pc, 1 to another region's block at pc, 2 at an exception).
    {
        u32 in = T2_BALLOT(mask, k != 0);
#if T2_FRONTIER
        // Lanes left: the others leave too, at their next block (see tier2.h).
        if (in != mask && k) { pc = t2_pcs[k - 1]; xr = 1; goto t2_leave; }
#endif
        mask = in;
    }
    if (!k) goto t2_leave;
    {
        // The lanes at the least block run it; the others wait here for them.
        u32 least = T2_MIN(mask, k);
        grp = T2_BALLOT(mask, k == least);
        lim = grp == mask ? ~0u : T2_MIN(mask, k == least ? ~0u : k);
        if (k != least) goto t2_next;
    }
#endif
#ifdef GPUOS_T2_LOOP_BUDGET
    // Entered here, a block checks what it and the blocks its jumps reach before the
    // next check may run (t2_need, gen.rs budget_plan).
    if (k - 1u < T2_NBLOCKS && left - done < t2_need[k - 1]) { pc = t2_pcs[k - 1]; goto t2_out; }
#endif
    switch (k) {
",
    );
    for (i, b) in blocks.iter().enumerate() {
        let _ = writeln!(out, "    case {}u: goto b_{:x};", first + i + 1, b.start);
    }
    // A region that writes NZCV hands its lazy flags on unsettled at its exits to
    // `t2_enter` (T2Carry), and settles them into nz at an exception (emit.rs, `Flags`);
    // one that does not leaves the carried flags as they came.
    let (hand_on, settle) = if written & 1 << NZCV != 0 {
        (
            " cy.fa = fa; cy.fb = fb; cy.fk = fk;",
            " if (fk) nz = t2_nzcv_any(fk, fa, fb); cy.fk = 0;",
        )
    } else {
        ("", "")
    };
    let store: String = each(written)
        .map(|n| format!(" {} = {};", home(n), state_local(n)))
        .collect();
    let _ = writeln!(
        out,
        "    default: goto t2_out;
    }}
t2_chain:
    // pc: the target of a block's jump.
    if ((pc & 3) == 0 && (c.code_vpn == (pc >> PAGE_SHIFT) + 1 || t2_code_page(c, pc))) {{
        k = t2_block_at(c, pc);
        if (k && t2_regions[k - 1] == {r}) goto t2_next;
        if (k) {{ xr = 1; goto t2_exit; }}
    }}
    // Fall through: no block there.
t2_out:
    xr = 0;
t2_exit:
#if T2_SCHED
    k = 0;
    goto t2_next;
t2_exc:
    xr = 2; k = 0;
    goto t2_next;
t2_leave:
    c.split += split;
    if (xr != 2) {{
#endif
        c.s.pc = pc;
       {hand_on}{store}
        done_out += done;
        cy.s = tlb_s;
        cy.d = tlb_d;
        return xr == 1;
#if T2_SCHED
    }}
#else
t2_exc:
#endif"
    );
    let body = {
        let mut body = String::new();
        for (b, &need) in blocks.iter().zip(need) {
            gen_block(
                &mut body,
                b,
                need,
                &mut Regs::region(used, written),
                &local(b),
            );
        }
        body
    };
    let _ = writeln!(out, "   {settle}");
    for n in each(written) {
        let _ = writeln!(
            out,
            "    if (!((xskip >> {n}) & 1)) {} = {};",
            home(n),
            state_local(n)
        );
    }
    out.push_str("    c.s.pc = xpc;\n    done_out += done + xk;\n    return false;\n");
    out.push_str(&body);
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOP: u32 = 0xd503201f;
    const RET: u32 = 0xd65f03c0;
    const ADD_X0_X0_1: u32 = 0x91000400;

    fn words(w: &[u32]) -> Vec<u8> {
        w.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn direct_successors_name_the_branch_targets_and_fall_throughs() {
        let blk = |w: u32| Block {
            start: 0x400000,
            frame: 1,
            insns: vec![ADD_X0_X0_1, w],
        };
        // B .-4 (from 0x400004), BL .+8, B.NE .+8, CBZ X0, .-4, TBNZ W0 #3, .+12.
        assert_eq!(direct_successors(&blk(0x17ffffff)), vec![0x400000]);
        assert_eq!(
            direct_successors(&blk(0x94000002)),
            vec![0x40000c, 0x400008]
        );
        assert_eq!(
            direct_successors(&blk(0x54000041)),
            vec![0x40000c, 0x400008]
        );
        assert_eq!(
            direct_successors(&blk(0xb4ffffe0)),
            vec![0x400000, 0x400008]
        );
        assert_eq!(
            direct_successors(&blk(0x37180060)),
            vec![0x400010, 0x400008]
        );
        // BLR X1 and SVC #0 come back at the next instruction; RET and BR are unknown.
        assert_eq!(direct_successors(&blk(0xd63f0020)), vec![0x400008]);
        assert_eq!(direct_successors(&blk(0xd4000001)), vec![0x400008]);
        assert!(direct_successors(&blk(RET)).is_empty());
        assert!(direct_successors(&blk(0xd61f0020)).is_empty());
    }

    #[test]
    fn a_block_ends_after_its_branch() {
        let text = words(&[ADD_X0_X0_1, NOP, RET, ADD_X0_X0_1]);
        let code = [Code {
            vaddr: 0x400000,
            bytes: &text,
        }];
        let b = find_block(&code, 0x400000, 7).unwrap();
        assert_eq!(b.insns, vec![ADD_X0_X0_1, NOP, RET]);
        let b = find_block(&code, 0x40000c, 7).unwrap();
        assert_eq!(b.insns, vec![ADD_X0_X0_1]); // the text ends
    }

    #[test]
    fn a_block_ends_before_an_unallocated_word_and_at_its_page() {
        let text = words(&[ADD_X0_X0_1, 0, RET]);
        let code = [Code {
            vaddr: 0x400ffc,
            bytes: &text,
        }];
        assert_eq!(
            find_block(&code, 0x400ffc, 1).unwrap().insns,
            vec![ADD_X0_X0_1]
        );
        assert_eq!(find_block(&code, 0x401000, 1), None); // UDF #0: interpreted
        assert_eq!(find_block(&code, 0x401004, 1).unwrap().insns, vec![RET]);
        assert_eq!(find_block(&code, 0x401002, 1), None);
    }

    #[test]
    fn the_source_calls_the_handlers_with_constant_fields() {
        const LDR_X1_X0: u32 = 0xf9400001;
        let b = Block {
            start: 0x400000,
            frame: 3,
            insns: vec![ADD_X0_X0_1, LDR_X1_X0, RET],
        };
        let src = gen_source(&[b], &[], regions::REGION_BLOCKS);
        // ADD is direct code over a local loaded at the region's entry; the load has
        // the TLB's fast path, with its handler on the slow path after the registers it
        // uses are written back.
        assert!(src.contains("u64 r0 = c.s.x[0];"), "{src}");
        assert!(src.contains("c.s.x[0] = r0;"), "{src}");
        assert!(
            src.contains("T2C_LDST_uimm(0x400004ull, 0xf9400001u, (c, 3u, 1u, 0u, 0u, 1u))"),
            "{src}"
        );
        assert!(
            src.contains("bool t2w_LDST_uimm(Core& c, u64 pc, u32 w)"),
            "{src}"
        );
        // RET ends the block as direct code: counted, then to the chain with X30.
        assert!(src.contains("u64 r30 = c.s.x[30];"), "{src}");
        assert!(
            src.contains("{ done += 3u; pc = r30; goto t2_chain; }"),
            "{src}"
        );
        // One block, no loop: no check of its own; the scheduler checks its 3.
        assert!(src.contains("T2_BUDGET(3u, 0u, 0x400000ull)"), "{src}");
        assert!(src.contains("T2_DATA u16 t2_need[1] = {3u};"), "{src}");
    }

    /// Only a loop's head checks the budget, for the longest path of forward jumps
    /// from it; the blocks after it are covered; a long chain gets a check part way.
    #[test]
    fn the_budget_is_checked_at_loop_heads_for_the_paths_after_them() {
        const CBZ_X0_FWD_8: u32 = 0xb4000040; // CBZ X0, .+8
        const B_NE_BACK_8: u32 = 0x54ffffc1; // B.NE .-8
        let blk = |start: u64, insns: Vec<u32>| Block {
            start,
            frame: 3,
            insns,
        };
        let a = blk(0x400000, vec![ADD_X0_X0_1, CBZ_X0_FWD_8]); // to 0x40000c or on
        let b = blk(0x400008, vec![ADD_X0_X0_1]); // on to 0x40000c
        let c = blk(0x40000c, vec![ADD_X0_X0_1, ADD_X0_X0_1, B_NE_BACK_8]); // loops to itself
        let d = blk(0x400018, vec![ADD_X0_X0_1, RET]);
        let region = [a.clone(), b.clone(), c.clone(), d.clone()];
        let plan = budget_plan(&region, &scan_region(&region, 0).succ);
        let at = |check, reach| Budget { check, reach };
        assert_eq!(
            plan,
            vec![at(false, 3), at(false, 1), at(true, 5), at(false, 2)]
        );
        let src = gen_source(&[a, b, c, d], &[], regions::REGION_BLOCKS);
        assert!(src.contains("T2_BUDGET(3u, 5u, 0x40000cull)"), "{src}");
        assert!(src.contains("T2_BUDGET(2u, 0u, 0x400000ull)"), "{src}");
        assert!(
            src.contains("T2_DATA u16 t2_need[4] = {3u,1u,5u,2u};"),
            "{src}"
        );
        // Six blocks of 64 instructions, each falling through to the next: the third
        // checks, so that no check covers more than BUDGET_REACH (256).
        let chain: Vec<Block> = (0..6)
            .map(|i| blk(0x400000 + 0x100 * i, vec![ADD_X0_X0_1; MAX_BLOCK]))
            .collect();
        let plan = budget_plan(&chain, &scan_region(&chain, 0).succ);
        let checks: Vec<bool> = plan.iter().map(|b| b.check).collect();
        let reach: Vec<u32> = plan.iter().map(|b| b.reach).collect();
        assert_eq!(checks, vec![false, false, true, false, false, false]);
        assert_eq!(reach, vec![128, 64, 256, 192, 128, 64]);
    }

    /// A SIMD&FP data-processing handler (ADDP, scalar) is called with the general
    /// registers left in their locals and the region's soft-TLB entries kept; a load's
    /// handler after it still writes back what it uses and drops the entries.
    #[test]
    fn vector_handlers_keep_the_general_registers_and_the_tlb() {
        const ADDP_D0_V0: u32 = 0x5ef1b800; // ADDP D0, V0.2D
        const LDR_X1_X0: u32 = 0xf9400001;
        let b = Block {
            start: 0x400000,
            frame: 3,
            insns: vec![ADD_X0_X0_1, ADDP_D0_V0, LDR_X1_X0, RET],
        };
        let src = gen_source(&[b], &[], regions::REGION_BLOCKS);
        let vec = &src[src.find("// 400004:").unwrap()..src.find("// 400008:").unwrap()];
        assert!(vec.contains("T2C_ADDP_sc"), "{vec}");
        assert!(!vec.contains("c.s.x["), "{vec}");
        assert!(!vec.contains("c.s.nzcv"), "{vec}");
        assert!(!vec.contains("t2_drop(tlb_s, tlb_d);"), "{vec}");
        let ldr = &src[src.find("// 400008:").unwrap()..src.find("// 40000c:").unwrap()];
        assert!(ldr.contains("c.s.x[0] = r0;"), "{ldr}");
        assert!(ldr.contains("t2_drop(tlb_s, tlb_d);"), "{ldr}");
    }

    #[test]
    fn blocks_of_a_region_on_one_page_jump_straight_to_each_other() {
        const B_BACK_8: u32 = 0x17fffffe; // B .-8
        let a = Block {
            start: 0x400000,
            frame: 3,
            insns: vec![ADD_X0_X0_1, RET],
        };
        let b = Block {
            start: 0x400008,
            frame: 3,
            insns: vec![B_BACK_8],
        };
        // Another page: reached through the chain, not a jump.
        let far = Block {
            start: 0x401000,
            frame: 4,
            insns: vec![B_BACK_8],
        };
        let src = gen_source(&[a, b, far], &[], regions::REGION_BLOCKS);
        assert!(
            src.contains("{ done += 1u; T2_GOTO(b_400000, 1u) }"),
            "{src}"
        );
        assert!(
            src.contains("{ done += 1u; pc = 0x400ff8ull; goto t2_chain; }"),
            "{src}"
        );
    }
}
