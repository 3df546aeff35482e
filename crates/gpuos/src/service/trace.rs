//! `--strace` lines, in the style of `qemu-aarch64 -strace`: `PID name(args) = result`,
//! the arguments shown by the syscall table's kinds, errnos by their names
//! (kernel/sys/errno.table).

use crate::abi::SysReq;
use crate::host::errno;
use crate::tables::{self, ArgKind};
use std::io::Write;

/// A result as `--strace` shows it.
fn ret_text(ret: i64, name: &str) -> String {
    if ret < 0 && ret > -4096 {
        let e = -ret;
        format!("-1 errno={e} ({})", errno::name(e).unwrap_or("?"))
    } else if matches!(name, "mmap" | "brk" | "mremap") {
        format!("{ret:#x}")
    } else {
        ret.to_string()
    }
}

/// One argument as `--strace` shows it: by its kind `code`, with `input` the bytes
/// the request carried for it.
fn arg_text(code: u32, a: u64, input: &[u8]) -> String {
    match ArgKind::from_code(code) {
        Some(ArgKind::Int) => (a as i64).to_string(),
        Some(ArgKind::Fd) => (a as i32).to_string(),
        Some(ArgKind::Uint) => a.to_string(),
        Some(ArgKind::Oct) => format!("0{a:o}"),
        Some(ArgKind::Str) if !input.is_empty() || a == 0 => {
            format!("{:?}", String::from_utf8_lossy(input))
        }
        Some(ArgKind::InArg(_)) if !input.is_empty() => {
            let s = &input[..input.len().min(32)];
            let more = if input.len() > 32 { "..." } else { "" };
            format!("{:?}{more}", String::from_utf8_lossy(s))
        }
        _ => format!("{a:#x}"),
    }
}

/// Print the line of a served or logged syscall: `ins` are the request's input bytes
/// per argument, `args` the arguments' text when the table's kinds cannot show them.
pub(super) fn line(
    req: &SysReq,
    entry: Option<&tables::SysEntry>,
    ins: &[&[u8]; 6],
    args: Option<&str>,
) {
    let pid = req.pid;
    let line = match entry {
        None => format!("{pid} unknown syscall {} = -1 errno=38 (ENOSYS)\n", req.nr),
        Some(e) => {
            let args = args.map(str::to_string).unwrap_or_else(|| {
                let shown: Vec<String> = (e.args.iter().enumerate().take(6))
                    .map(|(i, &code)| arg_text(code, req.args[i], ins[i]))
                    .collect();
                shown.join(",")
            });
            let ret = ret_text(req.ret, e.name);
            format!("{pid} {}({args}) = {ret}\n", e.name)
        }
    };
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// execve's arguments as `--strace` shows them: `"path",{"argv0",...,NULL}`.
pub(super) fn execve_args(path: &[u8], argv: &[Vec<u8>]) -> String {
    let mut args: Vec<String> = argv
        .iter()
        .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
        .collect();
    args.push("NULL".into());
    format!("{:?},{{{}}}", String::from_utf8_lossy(path), args.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errnos_show_by_name() {
        assert_eq!(ret_text(-2, "openat"), "-1 errno=2 (ENOENT)");
        assert_eq!(ret_text(-95, "fcntl"), "-1 errno=95 (EOPNOTSUPP)");
        assert_eq!(ret_text(0x4000, "mmap"), "0x4000");
        assert_eq!(
            execve_args(b"/bin/sh", &[b"sh".to_vec(), b"-c".to_vec()]),
            r#""/bin/sh",{"sh","-c",NULL}"#
        );
    }
}
