//! Generator for the syscall table (`kernel/sys/syscalls.table`) and the errno table
//! (`kernel/sys/errno.table`): the device dispatcher, argument kinds and errnos (C++),
//! and the host's side (Rust): the syscall numbers, the table for marshalling and
//! `--strace`, the argument kinds, the dispatch of host and process calls to one
//! function each, named by the syscall, and the guest errnos with their names.

use std::fmt::Write as _;

/// Who serves a syscall (the WHERE column).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Where {
    /// The device alone (`sys_NAME(Core&)`, kernel/sys/*.h).
    Dev,
    /// The host alone: the device marshals by the row's argument kinds and posts it;
    /// the host's `HostCalls::NAME` serves it.
    Host,
    /// The device first (`sys_NAME`), which posts what it leaves to the host,
    /// marshalled by the row's argument kinds, for `HostCalls::NAME` (clock_gettime).
    Split,
    /// A process call: the device half (`sys_NAME`) marshals its own request and the
    /// host half, `ProcCalls::NAME` in the service, works on the process table
    /// (clone, execve) or on the request whole (ppoll).
    Proc,
    /// A request of gpuos's own kernel, never a guest's syscall (the guest's SVC with
    /// this number answers ENOSYS): device code posts it, marshalled by the row's
    /// argument kinds, for `HostCalls::NAME` (file mappings: gpuos_file_map,
    /// gpuos_file_read). Its output stays in the request buffer for the device.
    Kernel,
}

/// One syscall line.
pub struct Sys {
    pub nr: u32,
    pub name: String,
    pub at: Where,
    pub args: Vec<String>,
}

impl Sys {
    /// The device runs `sys_NAME` first.
    fn dev(&self) -> bool {
        !matches!(self.at, Where::Host | Where::Kernel)
    }

    /// The device marshals it by its argument kinds for a host function.
    fn marshalled(&self) -> bool {
        matches!(self.at, Where::Host | Where::Split | Where::Kernel)
    }
}

/// One argument kind: its spelling in the table, its code, its C++ enumerator and its
/// Rust `ArgKind` variant (with a parameter when the spelling ends in `:` or `=`).
struct Kind {
    spell: &'static str,
    code: u32,
    cpp: &'static str,
    rust: &'static str,
    doc: &'static str,
}

/// The argument kinds, THE list for C++ (`enum ArgKind`) and Rust (`tables::ArgKind`).
const KINDS: &[Kind] = &[
    Kind {
        spell: "d",
        code: 1,
        cpp: "AK_D",
        rust: "Int",
        doc: "Signed integer.",
    },
    Kind {
        spell: "u",
        code: 2,
        cpp: "AK_U",
        rust: "Uint",
        doc: "Unsigned integer.",
    },
    Kind {
        spell: "x",
        code: 3,
        cpp: "AK_X",
        rust: "Hex",
        doc: "Hexadecimal flags.",
    },
    Kind {
        spell: "o",
        code: 4,
        cpp: "AK_O",
        rust: "Oct",
        doc: "Octal mode.",
    },
    Kind {
        spell: "f",
        code: 5,
        cpp: "AK_FD",
        rust: "Fd",
        doc: "File descriptor.",
    },
    Kind {
        spell: "p",
        code: 6,
        cpp: "AK_PTR",
        rust: "Ptr",
        doc: "Pointer, not dereferenced.",
    },
    Kind {
        spell: "s",
        code: 7,
        cpp: "AK_STR",
        rust: "Str",
        doc: "In: NUL-terminated path (parameter 1: NULL allowed, `sn`).",
    },
    Kind {
        spell: "i:",
        code: 8,
        cpp: "AK_IN_ARG",
        rust: "InArg",
        doc: "In: buffer whose length is argument N.",
    },
    Kind {
        spell: "i=",
        code: 9,
        cpp: "AK_IN_FIX",
        rust: "InFix",
        doc: "In: buffer of K bytes.",
    },
    Kind {
        spell: "o:",
        code: 10,
        cpp: "AK_OUT_ARG",
        rust: "OutArg",
        doc: "Out: buffer of capacity argument N.",
    },
    Kind {
        spell: "o=",
        code: 11,
        cpp: "AK_OUT_FIX",
        rust: "OutFix",
        doc: "Out: buffer of K bytes.",
    },
    Kind {
        spell: "vi:",
        code: 12,
        cpp: "AK_VIN",
        rust: "VecIn",
        doc: "In: iovec array with argument N entries.",
    },
    Kind {
        spell: "vo:",
        code: 13,
        cpp: "AK_VOUT",
        rust: "VecOut",
        doc: "Out: iovec array with argument N entries.",
    },
];

/// Argument kind codes shared by C++ and Rust (kind << 16 | parameter).
pub fn kind_code(k: &str) -> Result<u32, String> {
    // A path that may be NULL (utimensat's: futimens passes NULL and a fd): the
    // device sends an empty string, the host sees the NULL pointer in args.
    if k == "sn" {
        return Ok(7 << 16 | 1);
    }
    let (base, param) = match k.find([':', '=']) {
        Some(i) => (
            &k[..=i],
            k[i + 1..]
                .parse::<u32>()
                .map_err(|_| format!("bad kind {k}"))?,
        ),
        None => (k, 0),
    };
    KINDS
        .iter()
        .find(|d| d.spell == base)
        .map(|d| d.code << 16 | param)
        .ok_or_else(|| format!("unknown argument kind {k}"))
}

pub fn parse(text: &str) -> Result<Vec<Sys>, String> {
    let mut v = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        if t.len() < 3 {
            return Err(format!("syscalls.table:{}: too few columns", i + 1));
        }
        let nr = t[0]
            .parse()
            .map_err(|_| format!("syscalls.table:{}: bad number", i + 1))?;
        let at = match t[2] {
            "dev" => Where::Dev,
            "host" => Where::Host,
            "split" => Where::Split,
            "proc" => Where::Proc,
            "kernel" => Where::Kernel,
            w => {
                return Err(format!(
                    "syscalls.table:{}: WHERE must be dev, host, split, proc or kernel, not {w}",
                    i + 1
                ))
            }
        };
        let args: Vec<String> = t[3..].iter().map(|s| s.to_string()).collect();
        for a in &args {
            kind_code(a).map_err(|e| format!("syscalls.table:{}: {e}", i + 1))?;
        }
        v.push(Sys {
            nr,
            name: t[1].to_string(),
            at,
            args,
        });
    }
    Ok(v)
}

/// First number of gpuos's own requests (kernel/sys/syscalls.table).
const PRIVATE_BASE: u32 = 4096;

const CPP_HEAD: &str =
    "// Generated from kernel/sys/syscalls.table by crates/gpuos/build/syscallgen.rs.\n#pragma once\n\n";

/// Two headers: the argument kinds (needed by the marshaller) and the dispatcher.
pub fn gen_cpp(v: &[Sys]) -> (String, String) {
    let mut o = String::from(CPP_HEAD);
    o.push_str("/// Argument kinds (kind << 16 | parameter in `sys_argkind`).\nenum ArgKind : u32 {\n    AK_NONE = 0,\n");
    for k in KINDS {
        let _ = writeln!(o, "    {} = {},", k.cpp, k.code);
    }
    o.push_str("};\n\n");
    for s in v {
        let _ = writeln!(o, "#define SYS_{} {}", s.name, s.nr);
    }
    // One row per syscall number in a table (the device's constant memory): a post looks
    // up each argument's kind a dozen times, and a switch with an array per case built
    // that array in local memory at every lookup.
    // Linux's numbers from 0, then gpuos's own requests from PRIVATE_BASE, each range
    // as long as its highest marshalled number (the table must fit the 64 KiB constant
    // bank).
    let top = |private: bool| {
        v.iter()
            .filter(|s| s.marshalled() && (s.nr >= PRIVATE_BASE) == private)
            .map(|s| s.nr + 1 - if private { PRIVATE_BASE } else { 0 })
            .max()
            .unwrap_or(0)
    };
    let (low, high) = (top(false), top(true));
    let mut table = vec![[0u32; 6]; (low + high) as usize];
    for s in v.iter().filter(|s| s.marshalled()) {
        let row = if s.nr >= PRIVATE_BASE {
            low + s.nr - PRIVATE_BASE
        } else {
            s.nr
        };
        for (i, a) in s.args.iter().take(6).enumerate() {
            table[row as usize][i] = kind_code(a).unwrap_or(0);
        }
    }
    let _ = writeln!(
        o,
        "\n#define SYS_ARGKIND_LOW {low}\n#define SYS_ARGKIND_PRIVATE_BASE {PRIVATE_BASE}\n#define SYS_ARGKIND_HIGH {high}"
    );
    o.push_str("/// Argument kinds: a row per syscall number below SYS_ARGKIND_LOW, then one per gpuos\n/// request from SYS_ARGKIND_PRIVATE_BASE (see sys_argkind).\nGCONST u32 SYS_ARGKINDS[SYS_ARGKIND_LOW + SYS_ARGKIND_HIGH][6] = {\n");
    for row in &table {
        let codes: Vec<String> = row.iter().map(|c| c.to_string()).collect();
        let _ = writeln!(o, "    {{{}}},", codes.join(", "));
    }
    o.push_str("};\n");
    o.push_str(
        "\n/// Argument kind of argument i of syscall nr (kind << 16 | parameter), 0 = none.\n",
    );
    o.push_str(
        "GFN u32 sys_argkind(u64 nr, int i) {\n    if (nr < SYS_ARGKIND_LOW) return SYS_ARGKINDS[nr][i];\n    u64 p = nr - SYS_ARGKIND_PRIVATE_BASE;  // wraps for numbers below the base\n    return p < SYS_ARGKIND_HIGH ? SYS_ARGKINDS[SYS_ARGKIND_LOW + p][i] : 0;\n}\n\n",
    );
    let kinds = o;
    let mut o = String::from(CPP_HEAD);
    o.push_str("/// Serve syscall nr: device syscalls run here, host syscalls are posted.\n");
    o.push_str("GFN void sys_dispatch_nr(Core& c, u64 nr) {\n    u64 args[6];\n    for (int i = 0; i < 6; i++) args[i] = c.s.x[i];\n    switch (nr) {\n");
    for s in v.iter().filter(|s| s.at != Where::Kernel) {
        if s.dev() {
            let _ = writeln!(o, "    case {}: sys_{}(c); break;", s.nr, s.name);
        } else {
            let _ = writeln!(
                o,
                "    case {}: sys_post_host(c, nr, SYSREQ_CALL); return;",
                s.nr
            );
        }
    }
    o.push_str("    default: setX(c, 0, err(E_NOSYS)); break;\n    }\n    sys_after_device(c, nr, args);\n}\n");
    (kinds, o)
}

/// The Rust table (`tables::SYSCALLS`), the argument kinds (`tables::ArgKind`) and the
/// syscall numbers (`tables::nr`).
pub fn gen_rust(v: &[Sys]) -> String {
    let mut o = String::from("/// The syscall table, generated from kernel/sys/syscalls.table.\npub static SYSCALLS: &[SysEntry] = &[\n");
    for s in v {
        let codes: Vec<String> = s
            .args
            .iter()
            .map(|a| kind_code(a).unwrap_or(0).to_string())
            .collect();
        let _ = writeln!(
            o,
            "    SysEntry {{ nr: {}, name: {:?}, dev: {}, args: &[{}] }},",
            s.nr,
            s.name,
            s.dev(),
            codes.join(", ")
        );
    }
    o.push_str("];\n\n");
    o.push_str("/// Argument kinds of the syscall table (docs/ARCHITECTURE.md, \"Syscalls\").\n#[derive(Clone, Copy, Debug, PartialEq, Eq)]\npub enum ArgKind {\n");
    for k in KINDS {
        let param = if k.spell.ends_with([':', '=']) {
            "(usize)"
        } else {
            ""
        };
        let _ = writeln!(o, "    /// {}\n    {}{param},", k.doc, k.rust);
    }
    o.push_str("}\n\nimpl ArgKind {\n    /// Decode a table code.\n    pub fn from_code(code: u32) -> Option<ArgKind> {\n        let _p = (code & 0xffff) as usize;\n        Some(match code >> 16 {\n");
    for k in KINDS {
        let param = if k.spell.ends_with([':', '=']) {
            "(_p)"
        } else {
            ""
        };
        let _ = writeln!(o, "            {} => ArgKind::{}{param},", k.code, k.rust);
    }
    o.push_str("            _ => return None,\n        })\n    }\n}\n\n");
    o.push_str("/// Syscall numbers (AArch64, asm-generic) of every syscall in the table.\n#[allow(missing_docs)]\npub mod nr {\n");
    for s in v {
        let _ = writeln!(
            o,
            "    pub const {}: u64 = {};",
            s.name.to_uppercase(),
            s.nr
        );
    }
    o.push_str("}\n");
    o
}

/// One generated dispatcher: a trait with one function per row, named by the syscall,
/// and the match over syscall numbers that calls them.
struct Dispatcher<'a> {
    /// The trait's doc comment and declaration line (without the brace).
    trait_head: &'a str,
    /// The function signature after `fn NAME`.
    sig: &'a str,
    /// The dispatch function's doc comment and signature (without the brace).
    fn_head: &'a str,
    /// The match arm's value for a row: `{}` stands for the syscall's name.
    arm: &'a str,
    /// The value of the match's default arm.
    fallback: &'a str,
}

impl Dispatcher<'_> {
    fn gen(&self, rows: &[&Sys]) -> String {
        let mut o = String::from(
            "// Generated from kernel/sys/syscalls.table by crates/gpuos/build/syscallgen.rs.\n\n",
        );
        let _ = writeln!(o, "{} {{", self.trait_head);
        for s in rows {
            let _ = writeln!(
                o,
                "    /// {}(2), syscall {}.\n    fn {}{};",
                s.name, s.nr, s.name, self.sig
            );
        }
        let _ = writeln!(o, "}}\n\n{} {{\n    match nr {{", self.fn_head);
        for s in rows {
            let _ = writeln!(
                o,
                "        {} => {},",
                s.nr,
                self.arm.replace("{}", &s.name)
            );
        }
        let _ = writeln!(o, "        _ => {},\n    }}\n}}", self.fallback);
        o
    }
}

/// The host's dispatch (included in `host/calls.rs`): the trait `HostCalls` with one
/// function per `host` or `split` row, named by the syscall, and `dispatch`, the match
/// that calls them.
pub fn gen_host_dispatch(v: &[Sys]) -> String {
    let rows: Vec<&Sys> = v.iter().filter(|s| s.marshalled()).collect();
    Dispatcher {
        trait_head: "/// The host syscalls (WHERE `host` or `split`): one function each, named by the\n/// syscall, serving one marshalled request ([`Call`]).\npub(crate) trait HostCalls",
        sig: "(&mut self, c: &mut Call<'_>) -> Result<impl Into<Outcome>, Errno>",
        fn_head: "/// Serve host syscall `nr` by its [`HostCalls`] function; ENOSYS for any other.\npub(crate) fn dispatch<H: HostCalls>(h: &mut H, nr: u64, c: &mut Call<'_>) -> Outcome",
        arm: "outcome(HostCalls::{}(h, c))",
        fallback: "errno::ENOSYS.into()",
    }
    .gen(&rows)
}

/// The service's process calls (included in `service/mod.rs`): the trait `ProcCalls`
/// with one function per `proc` row, named by the syscall, and `dispatch_proc`.
pub fn gen_proc_dispatch(v: &[Sys]) -> String {
    let rows: Vec<&Sys> = v.iter().filter(|s| s.at == Where::Proc).collect();
    Dispatcher {
        trait_head: "/// The host halves of the process calls (WHERE `proc`): one function each, named\n/// by the syscall, given the request whole ([`Request`]).\npub(crate) trait ProcCalls",
        sig: "(&self, r: &mut Request<'_>) -> Outcome",
        fn_head: "/// Serve process call `nr` by its [`ProcCalls`] function; `None` when `nr` is not one.\npub(crate) fn dispatch_proc<P: ProcCalls>(p: &P, nr: u64, r: &mut Request<'_>) -> Option<Outcome>",
        arm: "Some(ProcCalls::{}(p, r))",
        fallback: "None",
    }
    .gen(&rows)
}

/// The errno table: (NAME, number) pairs.
pub fn parse_errnos(text: &str) -> Result<Vec<(String, u32)>, String> {
    let mut v = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let t: Vec<&str> = line.split_whitespace().collect();
        match t[..] {
            [name, num] if name.starts_with('E') => v.push((
                name.to_string(),
                num.parse()
                    .map_err(|_| format!("errno.table:{}: bad number", i + 1))?,
            )),
            _ => return Err(format!("errno.table:{}: want NAME NUMBER", i + 1)),
        }
    }
    Ok(v)
}

/// The errnos for C++ (`E_NOENT`: the name without its leading E) and Rust (the
/// `errnos!` invocation of host/errno.rs: constants, the host mapping and the names).
pub fn gen_errnos(v: &[(String, u32)]) -> (String, String) {
    let mut c = String::from("// Generated from kernel/sys/errno.table by crates/gpuos/build/syscallgen.rs.\n#pragma once\n\nenum {\n");
    for (name, num) in v {
        let _ = writeln!(c, "    E_{} = {num},", &name[1..]);
    }
    c.push_str("};\n");
    let mut r = String::from("// Generated from kernel/sys/errno.table by crates/gpuos/build/syscallgen.rs.\nerrnos! {\n");
    for (name, num) in v {
        let _ = writeln!(r, "    {name} = {num},");
    }
    r.push_str("}\n");
    (c, r)
}
