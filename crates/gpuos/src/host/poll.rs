//! ppoll(2) over a process's fds (the device gathers the pollfd array; kernel/sys/poll.h).

use super::calls::outcome;
use super::errno::{self, Errno};
use super::fd::FileKind;
use super::stdio::{SinkState, SourceState};
use super::{sys, Outcome, ProcHost};

const POLLIN: i16 = 0x1;
const POLLOUT: i16 = 0x4;
const POLLNVAL: i16 = 0x20;

impl ProcHost {
    /// ppoll: `fds` holds the guest's `struct pollfd` array; `timeout_ns` is 0 to poll
    /// once, anything else (the device sends `u64::MAX`) to block while nothing is
    /// ready. Writes the array with `revents` set to `out` and returns the number of
    /// ready entries, or [`Outcome::Retry`] when none is ready and the call may block: the device parks the process and polls again later, keeping a finite
    /// timeout as its own deadline (kernel/sys/poll.h). The host never waits here: a
    /// service thread serves many lanes.
    pub fn ppoll(&mut self, fds: &[u8], timeout_ns: u64, out: &mut [u8]) -> Outcome {
        let r = self.ppoll_inner(fds, timeout_ns, out);
        outcome(r.map(|n| (n as i64, fds.len().min(out.len()))))
    }

    /// [`ProcHost::ppoll`]'s work: the number of ready entries (also for epoll's waits).
    pub(super) fn ppoll_inner(
        &mut self,
        fds: &[u8],
        timeout_ns: u64,
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        if out.len() < fds.len() {
            return Err(errno::EINVAL);
        }
        let n = fds.len() / 8;
        // Host fds to ask the host, with the entry each belongs to.
        let mut host: Vec<libc::pollfd> = Vec::new();
        let mut which: Vec<usize> = Vec::new();
        let mut held = Vec::new();
        let mut revents = vec![0i16; n];
        for (i, e) in fds.chunks_exact(8).enumerate() {
            let fd = i32::from_le_bytes([e[0], e[1], e[2], e[3]]);
            let events = i16::from_le_bytes([e[4], e[5]]);
            if fd < 0 {
                continue;
            }
            let Ok(f) = self.fds.get(fd) else {
                revents[i] = POLLNVAL;
                continue;
            };
            match &f.kind {
                // In-memory streams are always ready (data or end of file; room).
                FileKind::Source(SourceState::Bytes { .. } | SourceState::Null) => {
                    revents[i] = events & POLLIN
                }
                FileKind::Sink(SinkState::Capture(_)) => revents[i] = events & POLLOUT,
                FileKind::Pipe(p) => revents[i] = p.poll(events),
                FileKind::Sock(k) => revents[i] = k.poll(events),
                FileKind::Event(e) => revents[i] = e.poll(events),
                _ => match f.host_fd() {
                    Ok(Some(h)) => {
                        host.push(libc::pollfd {
                            fd: h.raw(),
                            events,
                            revents: 0,
                        });
                        which.push(i);
                        held.push(h); // open until the poll is done
                    }
                    Ok(None) | Err(_) => revents[i] = POLLNVAL,
                },
            }
        }
        if !host.is_empty() {
            sys::poll(&mut host, 0)?;
            for (p, &i) in host.iter().zip(&which) {
                revents[i] = p.revents;
            }
        }
        if timeout_ns != 0 && revents.iter().all(|&r| r == 0) {
            return Err(errno::RETRY);
        }
        out[..fds.len()].copy_from_slice(fds);
        for (i, r) in revents.iter().enumerate() {
            out[8 * i + 6..8 * i + 8].copy_from_slice(&r.to_le_bytes());
        }
        Ok(revents.iter().filter(|&&r| r != 0).count())
    }
}
