//! Generator for the syscall table (`kernel/sys/syscalls.table`): the device
//! dispatcher and argument kinds (C++) and the host's copy for marshalling and
//! `--strace` (Rust).

use std::fmt::Write as _;

/// One syscall line.
pub struct Sys {
    pub nr: u32,
    pub name: String,
    /// The device runs `sys_NAME` first (WHERE `dev` or `split`).
    pub dev: bool,
    /// The host serves it, or part of it: the marshaller needs its argument kinds
    /// (WHERE `host` or `split`; a `split` handler posts the cases it leaves to the host).
    pub host: bool,
    pub args: Vec<String>,
}

/// Argument kind codes shared by C++ and Rust (kind << 16 | parameter).
pub fn kind_code(k: &str) -> Result<u32, String> {
    let (base, param) = if let Some((b, p)) = k.split_once(':') {
        (
            format!("{b}:"),
            p.parse::<u32>().map_err(|_| format!("bad kind {k}"))?,
        )
    } else if let Some((b, p)) = k.split_once('=') {
        (
            format!("{b}="),
            p.parse::<u32>().map_err(|_| format!("bad kind {k}"))?,
        )
    } else {
        (k.to_string(), 0)
    };
    let code = match base.as_str() {
        "d" => 1,
        "u" => 2,
        "x" => 3,
        "o" => 4,
        "f" => 5,
        "p" => 6,
        "s" => 7,
        // A path that may be NULL (utimensat's: futimens passes NULL and a fd): the
        // device sends an empty string, the host sees the NULL pointer in args.
        "sn" => return Ok(7 << 16 | 1),
        "i:" => 8,
        "i=" => 9,
        "o:" => 10,
        "o=" => 11,
        "vi:" => 12,
        "vo:" => 13,
        _ => return Err(format!("unknown argument kind {k}")),
    };
    Ok(code << 16 | param)
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
        let (dev, host) = match t[2] {
            "dev" => (true, false),
            "host" => (false, true),
            "split" => (true, true),
            w => {
                return Err(format!(
                    "syscalls.table:{}: WHERE must be dev, host or split, not {w}",
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
            dev,
            host,
            args,
        });
    }
    Ok(v)
}

/// Two headers: the argument kinds (needed by the marshaller) and the dispatcher.
pub fn gen_cpp(v: &[Sys]) -> (String, String) {
    let mut o = String::from("// Generated from kernel/sys/syscalls.table by crates/gpuos/build/syscallgen.rs.\n#pragma once\n\n");
    for s in v {
        let _ = writeln!(o, "#define SYS_{} {}", s.name, s.nr);
    }
    o.push_str(
        "\n/// Argument kind of argument i of syscall nr (kind << 16 | parameter), 0 = none.\n",
    );
    o.push_str("GFN u32 sys_argkind(u64 nr, int i) {\n    switch (nr) {\n");
    for s in v.iter().filter(|s| s.host) {
        let codes: Vec<String> = (0..6)
            .map(|i| {
                s.args
                    .get(i)
                    .map(|a| kind_code(a).unwrap_or(0))
                    .unwrap_or(0)
                    .to_string()
            })
            .collect();
        let _ = writeln!(
            o,
            "    case {}: {{ const u32 k[6] = {{{}}}; return k[i]; }}",
            s.nr,
            codes.join(", ")
        );
    }
    o.push_str("    default: return 0;\n    }\n}\n\n");
    let kinds = o;
    let mut o = String::from("// Generated from kernel/sys/syscalls.table by crates/gpuos/build/syscallgen.rs.\n#pragma once\n\n");
    o.push_str("/// Serve syscall nr: device syscalls run here, host syscalls are posted.\n");
    o.push_str("GFN void sys_dispatch_nr(Core& c, u64 nr) {\n    u64 args[6];\n    for (int i = 0; i < 6; i++) args[i] = c.s.x[i];\n    switch (nr) {\n");
    for s in v {
        if s.dev {
            let _ = writeln!(o, "    case {}: sys_{}(c); break;", s.nr, s.name);
        } else {
            let _ = writeln!(
                o,
                "    case {}: sys_post_host(c, nr, SYSREQ_CALL); return;",
                s.nr
            );
        }
    }
    o.push_str("    default: setX(c, 0, (u64)-38 /* ENOSYS */); break;\n    }\n    sys_after_device(c, nr, args);\n}\n");
    (kinds, o)
}

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
            s.dev,
            codes.join(", ")
        );
    }
    o.push_str("];\n");
    o
}
