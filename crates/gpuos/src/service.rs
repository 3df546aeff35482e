//! Serving one lane's posted syscall request on the host: unmarshal the argument
//! buffer (layout in docs/ARCHITECTURE.md, "Syscalls"), call the host services, write
//! the result back, and print `--strace` lines.

use crate::abi::{SysReq, SYSREQ_CALL, SYSREQ_NOWAIT, SYSREQ_QUIET, SYSRET_RETRY};
use crate::host::ProcHost;
use crate::tables::{self, ArgKind};
use std::io::Write;

/// What [`serve`] did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// `req.ret` and `req.out_len` are set; the caller publishes the completion.
    Done,
    /// As `Done`, but the request was a sleep that the thread deferred
    /// (`host::time::defer_sleeps_on_this_thread`): publish the completion at this time.
    WakeAt(std::time::Instant),
    /// The host process is out of file descriptors (not the guest: see
    /// `host::errno::EHOSTFD`) and the caller allowed deferral: nothing was done, no
    /// `--strace` line printed; serve the request again later (after other lanes
    /// closed descriptors), with `defer` false once it has waited long enough.
    Deferred,
}

/// How long requests may wait for host file descriptors with none of them getting one
/// before the guest gets EMFILE (see [`fd_wait_over`]).
pub const HOST_FD_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The host's start of time for [`FD_PROGRESS_NS`].
static FD_EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
/// When (ns since `FD_EPOCH`) a request that had waited for a host descriptor last got
/// one: while descriptors keep coming free, a long queue drains instead of failing.
static FD_PROGRESS_NS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn fd_clock_ns() -> u64 {
    FD_EPOCH
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos() as u64
}

/// A request that was held for a host descriptor has just been served before its wait
/// was over (it got its descriptor, or failed for a reason of its own): the queue moves.
pub fn note_fd_progress() {
    FD_PROGRESS_NS.fetch_max(fd_clock_ns(), std::sync::atomic::Ordering::Relaxed);
}

/// Whether a request held for a host descriptor since `since` should now fail with
/// EMFILE: it has waited `HOST_FD_WAIT`, and so long no held request got a descriptor
/// (every holder is itself waiting for one more: nothing will free any).
pub fn fd_wait_over(since: std::time::Instant) -> bool {
    let last = FD_PROGRESS_NS.load(std::sync::atomic::Ordering::Relaxed);
    let idle = std::time::Duration::from_nanos(fd_clock_ns().saturating_sub(last));
    since.elapsed() >= HOST_FD_WAIT && idle >= HOST_FD_WAIT
}

/// Serve `req` (whose input and output live in `buf`) for the process `host`.
/// `defer`: whether the caller can serve the request again later when the host itself
/// is out of file descriptors; without it the guest gets EMFILE at once.
pub fn serve(
    req: &mut SysReq,
    buf: &mut [u8],
    host: &mut ProcHost,
    strace: bool,
    defer: bool,
) -> Served {
    let nr = req.nr;
    let entry = tables::syscall(nr);
    if req.flags & SYSREQ_CALL != 0 {
        let in_len = (req.in_len as usize).min(buf.len());
        let out_off = (req.out_off as usize).min(buf.len());
        let out_end = (out_off + req.out_cap as usize).min(buf.len());
        let (input, rest) = buf.split_at_mut(out_off);
        let input = &input[..in_len.min(out_off)];
        let out = &mut rest[..out_end - out_off];
        let ins = split_inputs(entry, &req.args, input);
        let ins_ref: [&[u8]; 6] = std::array::from_fn(|i| ins[i]);
        let (mut ret, out_len) = if req.flags & SYSREQ_NOWAIT != 0 && !read_ready(host, req.args[0])
        {
            (0, 0) // a later chunk of a read that would wait: the call has its bytes
        } else {
            host.syscall(nr, &req.args, &ins_ref, out)
        };
        if ret == crate::host::errno::EHOSTFD.ret() {
            if defer {
                return Served::Deferred;
            }
            ret = crate::host::errno::EMFILE.ret();
        }
        req.ret = ret;
        let wake = crate::host::time::take_wake();
        req.out_len = out_len.min(out.len()) as u32;
        // A call that would block is run again later: traced when it completes. A quiet
        // one (a chunk of a larger read or write) is logged whole by the device.
        if strace && ret != SYSRET_RETRY && req.flags & SYSREQ_QUIET == 0 {
            trace_line(req, entry, &ins_ref);
        }
        if let Some(t) = wake {
            return Served::WakeAt(t);
        }
    } else if strace {
        // A logged host call may carry the first bytes of its in-buffer (a write's).
        let input = &buf[..(req.in_len as usize).min(buf.len())];
        trace_line(req, entry, &split_inputs(entry, &req.args, input));
    }
    Served::Done
}

/// Whether a read of guest fd `fd` would return at once (data, end of file, or an
/// error), asked as ppoll(2) with a zero timeout does: the later chunks of a large read
/// (`SYSREQ_NOWAIT`) must not wait for a terminal or a pipe.
fn read_ready(host: &mut ProcHost, fd: u64) -> bool {
    const POLLIN: i16 = 0x1;
    let mut pollfd = [0u8; 8];
    pollfd[..4].copy_from_slice(&(fd as i32).to_le_bytes());
    pollfd[4..6].copy_from_slice(&POLLIN.to_le_bytes());
    let mut out = [0u8; 8];
    host.ppoll(&pollfd, 0, &mut out).0 > 0
}

/// Split the input area into the bytes of each in-argument (paths without their NUL).
fn split_inputs<'a>(
    entry: Option<&tables::SysEntry>,
    args: &[u64; 6],
    input: &'a [u8],
) -> [&'a [u8]; 6] {
    let mut ins: [&[u8]; 6] = [&[]; 6];
    let Some(e) = entry else { return ins };
    let mut pos = 0usize;
    for (i, &code) in e.args.iter().enumerate().take(6) {
        let rest = &input[pos.min(input.len())..];
        let take = match ArgKind::from_code(code) {
            Some(ArgKind::Str) => {
                let n = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
                ins[i] = &rest[..n];
                pos += (n + 1).min(rest.len());
                continue;
            }
            Some(ArgKind::InArg(k)) => args[k] as usize,
            Some(ArgKind::InFix(k)) if args[i] != 0 => k,
            Some(ArgKind::VecIn(_)) => rest.len(),
            _ => continue,
        };
        let n = take.min(rest.len());
        ins[i] = &rest[..n];
        pos += n;
    }
    ins
}

/// Print the `--strace` line of a request served outside [`serve`] (clone).
pub fn trace(req: &SysReq, ins: &[&[u8]; 6]) {
    trace_line(req, tables::syscall(req.nr), ins);
}

/// Print the `--strace` line of an execve: `PID execve("path",{"argv0",...,NULL}) = r`.
pub fn trace_execve(req: &SysReq, path: &[u8], argv: &[&[u8]]) {
    let mut args: Vec<String> = argv
        .iter()
        .map(|a| format!("{:?}", String::from_utf8_lossy(a)))
        .collect();
    args.push("NULL".into());
    let line = format!(
        "{} execve({:?},{{{}}}) = {}\n",
        req.pid,
        String::from_utf8_lossy(path),
        args.join(","),
        ret_text(req.ret, "execve")
    );
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// A result as `--strace` shows it.
fn ret_text(ret: i64, name: &str) -> String {
    if ret < 0 && ret > -4096 {
        format!("-1 errno={} ({})", -ret, errno_name(-ret))
    } else if matches!(name, "mmap" | "brk" | "mremap") {
        format!("{ret:#x}")
    } else {
        ret.to_string()
    }
}

/// Print one `--strace` line for a served or logged syscall, in the style of
/// `qemu-aarch64 -strace`: `PID name(args) = result`.
fn trace_line(req: &SysReq, entry: Option<&tables::SysEntry>, ins: &[&[u8]; 6]) {
    let pid = req.pid;
    let line = match entry {
        None => format!("{pid} unknown syscall {} = -1 errno=38 (ENOSYS)\n", req.nr),
        Some(e) => {
            let mut args = Vec::new();
            for (i, &code) in e.args.iter().enumerate().take(6) {
                let a = req.args[i];
                args.push(match ArgKind::from_code(code) {
                    Some(ArgKind::Int) => (a as i64).to_string(),
                    Some(ArgKind::Fd) => (a as i32).to_string(),
                    Some(ArgKind::Uint) => a.to_string(),
                    Some(ArgKind::Oct) => format!("0{a:o}"),
                    Some(ArgKind::Str) if !ins[i].is_empty() || a == 0 => {
                        format!("{:?}", String::from_utf8_lossy(ins[i]))
                    }
                    Some(ArgKind::InArg(_)) if !ins[i].is_empty() => {
                        let s = &ins[i][..ins[i].len().min(32)];
                        let more = if ins[i].len() > 32 { "..." } else { "" };
                        format!("{:?}{more}", String::from_utf8_lossy(s))
                    }
                    _ => format!("{a:#x}"),
                });
            }
            let ret = ret_text(req.ret, e.name);
            format!("{pid} {}({}) = {ret}\n", e.name, args.join(","))
        }
    };
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Linux errno names for traces.
pub fn errno_name(e: i64) -> &'static str {
    match e {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        7 => "E2BIG",
        8 => "ENOEXEC",
        4 => "EINTR",
        5 => "EIO",
        9 => "EBADF",
        10 => "ECHILD",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        17 => "EEXIST",
        19 => "ENODEV",
        20 => "ENOTDIR",
        21 => "EISDIR",
        22 => "EINVAL",
        25 => "ENOTTY",
        28 => "ENOSPC",
        29 => "ESPIPE",
        30 => "EROFS",
        32 => "EPIPE",
        34 => "ERANGE",
        36 => "ENAMETOOLONG",
        38 => "ENOSYS",
        39 => "ENOTEMPTY",
        40 => "ELOOP",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths_and_buffers() {
        // renameat(f s f s): two paths.
        let e = tables::syscall(38);
        let input = b"old\0new\0";
        let ins = split_inputs(e, &[0; 6], input);
        assert_eq!(ins[1], b"old");
        assert_eq!(ins[3], b"new");
        // write(f i:2 u) with the length in args[2].
        let e = tables::syscall(64);
        let ins = split_inputs(e, &[1, 0x1000, 5, 0, 0, 0], b"hello");
        assert_eq!(ins[1], b"hello");
    }
}
