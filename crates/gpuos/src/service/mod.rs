//! The host's service: the one place a lane's posted request enters the host. A
//! request names its process slot; [`Procs::serve`] splits its buffer once (the input
//! and the output area, layout in docs/ARCHITECTURE.md, "Syscalls") and routes it by
//! the syscall table: a process call (WHERE `proc`: clone, execve, ppoll) to its
//! handler in `procs` ([`ProcCalls`]), any other call to the process's
//! [`ProcHost`] (`host::calls`, one function per syscall). What happened comes back as
//! an [`Outcome`]; it is written to the request, traced (`--strace`, `trace`), and
//! handed to the serving thread as [`Served`], which `policy` turns into when the
//! completion is published (sleeps, requests held for host descriptors).

pub mod policy;
mod procs;
mod trace;

pub use procs::Procs;

use crate::abi::{
    SysReq, NOTE_CLOSE, NOTE_END, NOTE_KIND_MASK, NOTE_OPEN, OUT_LASTING, SYSREQ_CALL, SYSREQ_EXIT,
    SYSREQ_NOWAIT, SYSREQ_QUIET, SYSREQ_SHARED, SYSRET_RETRY,
};
use crate::host::errno;
use crate::host::{Outcome, ProcHost};
use crate::tables::{self, ArgKind};
use std::time::Instant;

/// What [`Procs::serve`] did with a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Served {
    /// `req.ret` and `req.out_len` are set; publish the completion now.
    Now,
    /// As `Now`, but the request was a sleep: publish the completion at this time.
    At(Instant),
    /// The host process is out of file descriptors (not the guest: see
    /// `host::errno::EHOSTFD`) and the caller allowed holding the request: nothing was
    /// done, no `--strace` line printed; serve it again later (`policy::Held`).
    NeedHostFd,
}

/// A process call's request, its buffer split once: what the device marshalled for
/// it (kernel/sys/process.h, kernel/sys/poll.h).
pub(crate) struct Request<'a> {
    /// The process slot that posted it.
    pub slot: usize,
    /// The arguments as posted.
    pub args: [u64; 6],
    /// The input bytes.
    pub input: &'a [u8],
    /// The output area.
    pub out: &'a mut [u8],
    /// The arguments as `--strace` shows them, when the table's kinds cannot
    /// (execve's path and argv).
    pub trace_args: Option<String>,
}

include!(concat!(env!("OUT_DIR"), "/syscall_proc.rs"));

impl Procs<'_> {
    /// Serve the request `req` (input and output in `buf`) of the slot it names:
    /// a process's end (`SYSREQ_EXIT`), a call (`SYSREQ_CALL`), or a device call to
    /// log (`SYSREQ_LOG`, `--strace`). `may_hold`: whether the caller can serve the
    /// request again later when the host itself is out of file descriptors; without
    /// it the guest gets EMFILE at once.
    pub fn serve(&self, req: &mut SysReq, buf: &mut [u8], strace: bool, may_hold: bool) -> Served {
        self.apply_notes(req);
        let entry = tables::syscall(req.nr);
        if req.flags & SYSREQ_EXIT != 0 {
            self.end(req.slot as usize);
            req.ret = 0;
            req.out_len = 0;
            return Served::Now;
        }
        if req.flags & SYSREQ_CALL == 0 {
            if strace {
                // A logged call may carry the first bytes of its in-buffer (a write's).
                let input = &buf[..(req.in_len as usize).min(buf.len())];
                trace::line(req, entry, &split_inputs(entry, &req.args, input), None);
            }
            return Served::Now;
        }
        self.count_call(req.nr);
        let (input, out) = split_buffer(req, buf);
        let ins = split_inputs(entry, &req.args, input);
        let mut r = Request {
            slot: req.slot as usize,
            args: req.args,
            input,
            out,
            trace_args: None,
        };
        let o = match dispatch_proc(self, req.nr, &mut r) {
            Some(o) => o,
            None => self.host_call(req, &ins, r.out),
        };
        let lasting = matches!(o, Outcome::Lasting { .. });
        let (ret, out_len, at) = match o {
            Outcome::Done { ret, out_len } => (ret, out_len, None),
            Outcome::Lasting { ret, out_len } => (ret, out_len, None),
            Outcome::Retry => (SYSRET_RETRY, 0, None),
            Outcome::SleepUntil(t) => (0, 0, Some(t)),
            Outcome::NeedHostFd if may_hold => return Served::NeedHostFd,
            Outcome::NeedHostFd => (errno::EMFILE.ret(), 0, None),
        };
        req.ret = ret;
        req.out_len = out_len.min(r.out.len()) as u32;
        req.fd_low = self.fd_low(req.slot as usize);
        // A call that would block is run again later: traced when it completes. A quiet
        // one (a chunk of a larger read or write) is logged whole by the device.
        if strace && ret != SYSRET_RETRY && req.flags & SYSREQ_QUIET == 0 {
            trace::line(req, entry, &ins, r.trace_args.as_deref());
        }
        if lasting {
            req.out_len |= OUT_LASTING;
        }
        at.map_or(Served::Now, Served::At)
    }

    /// The forks, ends and closes the lane's family made on the device since its last
    /// request (`SysReq::notes`), in order, before anything of this request: each
    /// child's host state becomes a fork of its parent's as of that moment, each ended
    /// process's fds are closed, and each closed fd goes, since every later change comes in a later request of the same
    /// lane (a slot that ended and was forked into again sees both, in that order; an
    /// end whose slot another lane's child holds by now is that process's no more).
    /// Cleared, so that a request served again applies nothing twice. A fork note the
    /// host cannot apply is gpuos's bug: the child then has no host state and its host
    /// calls fail.
    fn apply_notes(&self, req: &mut SysReq) {
        let n = (req.nnotes as usize).min(req.notes.len() / 2);
        for note in req.notes[..2 * n].chunks_exact(2) {
            let (slot, pid) = ((note[1] & 0xffff_ffff) as usize, (note[1] >> 32) as u32);
            if note[0] == NOTE_END {
                self.end_noted(slot, pid);
            } else if note[0] & NOTE_KIND_MASK == NOTE_CLOSE {
                self.close_noted(slot, pid, note[0] as u32 as i32);
            } else if note[0] & NOTE_KIND_MASK == NOTE_OPEN {
                self.open_noted(slot, pid, note[0]);
            } else if note[0] & NOTE_KIND_MASK == NOTE_END {
                // NOTE_PIPE or NOTE_DUP (NOTE_END itself is above).
                self.fd_noted(slot, pid, note[0]);
            } else if let Err(e) = self.fork_host(note[0] as usize, slot, pid) {
                debug_assert!(false, "fork note {} -> {slot}: {e:?}", note[0]);
            }
        }
        req.nnotes = 0;
    }

    /// A call for the posting process's [`ProcHost`] (`host::calls`).
    fn host_call(&self, req: &SysReq, ins: &[&[u8]; 6], out: &mut [u8]) -> Outcome {
        self.with_host(req.slot as usize, |h| {
            h.set_caller(req.pid, req.flags & SYSREQ_SHARED != 0);
            if req.flags & SYSREQ_NOWAIT != 0 && !read_ready(h, req.args[0]) {
                // A later chunk of a read that would wait: the call has its bytes.
                return Outcome::Done { ret: 0, out_len: 0 };
            }
            policy::call(h, req.nr, &req.args, ins, out)
        })
    }
}

/// The request's input bytes and output area in `buf` (each clamped to it).
fn split_buffer<'a>(req: &SysReq, buf: &'a mut [u8]) -> (&'a [u8], &'a mut [u8]) {
    let in_len = (req.in_len as usize).min(buf.len());
    let out_off = (req.out_off as usize).min(buf.len());
    let out_end = out_off.saturating_add(req.out_cap as usize).min(buf.len());
    let (input, rest) = buf.split_at_mut(out_off);
    (
        &input[..in_len.min(out_off)],
        &mut rest[..out_end - out_off],
    )
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
    matches!(host.ppoll(&pollfd, 0, &mut out), Outcome::Done { ret, .. } if ret > 0)
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

    /// The input ends where the output area starts; both stay inside the buffer.
    #[test]
    fn splits_the_buffer_once() {
        let mut buf = [7u8; 64];
        let req = SysReq {
            in_len: 20,
            out_off: 16,
            out_cap: 100,
            ..SysReq::default()
        };
        let (input, out) = split_buffer(&req, &mut buf);
        assert_eq!((input.len(), out.len()), (16, 48));
    }
}
