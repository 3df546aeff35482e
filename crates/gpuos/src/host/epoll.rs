//! epoll(7) over a process's fds: epoll_create1(2), epoll_ctl(2), and the host half of
//! epoll_pwait(2)/epoll_pwait2(2) (the device keeps the timeout, kernel/sys/poll.h, as
//! for ppoll). An instance is an open file description ([`FileKind::Epoll`]) holding its
//! interest list; a wait polls the listed fds once with ppoll's readiness rules
//! ([`ProcHost::ppoll`]) and answers RETRY when nothing is ready and it may block: the
//! device parks the thread and asks again later, so no host thread waits.
//!
//! Differences from Linux, kept small: an entry is its fd number and the description it
//! named (Linux keys it by the description alone, so an fd dup'd and then closed stays
//! listed there; here the entry goes once its number no longer names that description); EPOLLET reports what was not ready at the
//! previous wait, and, for gpuos's in-memory pipes, everything ready after bytes moved
//! since (a new arrival); for a host fd that stayed ready Linux also reports a new
//! arrival, which a consumer that drains each fd to EAGAIN, as edge-triggered use
//! requires, does not miss; an epoll fd in another's list is ready (EPOLLIN) when its
//! own list has an entry ready, one level deep.

use super::errno::{self, Errno};
use super::fd::{FileKind, OpenFile};
use super::stdio::SourceState;
use super::{Outcome, ProcHost};
use std::sync::{Arc, Mutex, Weak};

const EPOLL_CTL_ADD: u64 = 1;
const EPOLL_CTL_DEL: u64 = 2;
const EPOLL_CTL_MOD: u64 = 3;
const EPOLLIN: u32 = 0x1;
const EPOLLERR: u32 = 0x8;
const EPOLLHUP: u32 = 0x10;
const EPOLLEXCLUSIVE: u32 = 1 << 28;
const EPOLLWAKEUP: u32 = 1 << 29;
const EPOLLONESHOT: u32 = 1 << 30;
const EPOLLET: u32 = 1 << 31;
/// The event bits a poll(2) of the fd answers (the same values as POLL*).
const POLL_BITS: u32 = 0xffff;
/// epoll_create1's one flag.
const EPOLL_CLOEXEC: u32 = 0o2000000;
/// `struct epoll_event` on arm64: u32 events, 4 bytes of padding, u64 data (it is packed
/// only on x86-64).
pub(crate) const EVENT_SIZE: usize = 16;

/// One entry of an interest list.
#[derive(Clone, Debug)]
struct Interest {
    fd: i32,
    /// EPOLL* events asked for, with the EPOLLET/EPOLLONESHOT flags.
    events: u32,
    data: u64,
    /// EPOLLET: the readiness bits seen at the previous wait, and the fd's activity
    /// then (an in-memory pipe's moves; 0 for others).
    seen: u32,
    mark: u64,
    /// EPOLLONESHOT: reported once; off until EPOLL_CTL_MOD.
    spent: bool,
    /// The description `fd` named when it was added: an entry whose fd has since been
    /// closed (or names another description) is gone, as Linux drops a registration
    /// when its description closes.
    desc: Weak<Mutex<OpenFile>>,
}

impl Interest {
    /// A new (or changed) entry: nothing seen or reported yet.
    fn new(fd: i32, events: u32, data: u64, desc: Weak<Mutex<OpenFile>>) -> Interest {
        Interest {
            fd,
            events,
            data,
            seen: 0,
            mark: 0,
            spent: false,
            desc,
        }
    }
}

/// An epoll instance's interest list.
#[derive(Debug, Default)]
pub(crate) struct EpollSet {
    list: Vec<Interest>,
}

/// The description of an epoll instance.
pub(crate) type EpollRef = Arc<Mutex<EpollSet>>;

fn lock(s: &EpollRef) -> std::sync::MutexGuard<'_, EpollSet> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl ProcHost {
    /// epoll_create1(2): a new instance; EINVAL for flags other than EPOLL_CLOEXEC.
    pub(crate) fn sys_epoll_create1(&mut self, flags: u32) -> Result<(i64, usize), Errno> {
        if flags & !EPOLL_CLOEXEC != 0 {
            return Err(errno::EINVAL);
        }
        let f = OpenFile {
            kind: FileKind::Epoll(EpollRef::default()),
            flags: super::oflag::O_RDWR,
        };
        Ok((
            self.fds.install(f, 0, flags & EPOLL_CLOEXEC != 0)? as i64,
            0,
        ))
    }

    /// The instance behind `epfd`: EBADF when it is not open, EINVAL when it is not an
    /// epoll fd.
    fn epoll_of(&self, epfd: i32) -> Result<EpollRef, Errno> {
        match &self.fds.get(epfd)?.kind {
            FileKind::Epoll(s) => Ok(Arc::clone(s)),
            _ => Err(errno::EINVAL),
        }
    }

    /// epoll_ctl(2): add, change or remove `fd`'s entry; `event` is the guest's struct
    /// epoll_event (empty for EPOLL_CTL_DEL). Errors as Linux gives them: EBADF (either
    /// fd), EINVAL (epfd not an epoll fd, fd == epfd, an unknown op, EPOLLEXCLUSIVE with
    /// MOD), EPERM (a regular file or directory: always ready, not pollable), EEXIST,
    /// ENOENT, EFAULT (no event where one is needed).
    pub(crate) fn sys_epoll_ctl(
        &mut self,
        epfd: i32,
        op: u64,
        fd: i32,
        event: &[u8],
    ) -> Result<(i64, usize), Errno> {
        let set = self.epoll_of(epfd)?;
        let pollable = match &self.fds.get(fd)?.kind {
            FileKind::Host(h) => !h.is_regular_or_dir()?,
            FileKind::Source(SourceState::Null) => false, // /dev/null has no poll
            _ => true,
        };
        if fd == epfd {
            return Err(errno::EINVAL);
        }
        if !pollable {
            return Err(errno::EPERM);
        }
        let ev = if op == EPOLL_CTL_DEL {
            None
        } else {
            let e = event.get(..EVENT_SIZE).ok_or(errno::EFAULT)?;
            let events = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
            let data = u64::from_le_bytes(e[8..16].try_into().map_err(|_| errno::EFAULT)?);
            Some((events & !EPOLLWAKEUP, data))
        };
        let desc = Arc::downgrade(&self.fds.desc(fd)?);
        self.epoll_prune(&set);
        let mut s = lock(&set);
        let at = s.list.iter().position(|i| i.fd == fd);
        match (op, at, ev) {
            (EPOLL_CTL_ADD, Some(_), _) => Err(errno::EEXIST),
            (EPOLL_CTL_ADD, None, Some((events, data))) => {
                s.list.push(Interest::new(fd, events, data, desc));
                Ok((0, 0))
            }
            (EPOLL_CTL_MOD | EPOLL_CTL_DEL, None, _) => Err(errno::ENOENT),
            (EPOLL_CTL_MOD, Some(_), Some((events, _))) if events & EPOLLEXCLUSIVE != 0 => {
                Err(errno::EINVAL)
            }
            (EPOLL_CTL_MOD, Some(i), Some((events, data))) => {
                s.list[i] = Interest::new(fd, events, data, desc);
                Ok((0, 0))
            }
            (EPOLL_CTL_DEL, Some(i), _) => {
                s.list.remove(i);
                Ok((0, 0))
            }
            _ => Err(errno::EINVAL),
        }
    }

    /// Drop the entries of `set` whose fd no longer names the description it was added
    /// with (closed, or its number reused).
    fn epoll_prune(&self, set: &EpollRef) {
        let live: Vec<bool> = lock(set)
            .list
            .iter()
            .map(|e| {
                self.fds
                    .desc(e.fd)
                    .is_ok_and(|d| Weak::ptr_eq(&e.desc, &Arc::downgrade(&d)))
            })
            .collect();
        let mut it = live.iter();
        lock(set).list.retain(|_| *it.next().unwrap_or(&false));
    }

    /// The activity mark of `fd` for edge-triggered waits: an in-memory pipe's moves;
    /// 0 for others (whose edges are readiness changes alone).
    fn activity(&self, fd: i32) -> u64 {
        match self.fds.get(fd).as_deref() {
            Ok(OpenFile {
                kind: FileKind::Pipe(p),
                ..
            }) => p.activity(),
            Ok(OpenFile {
                kind: FileKind::Sock(k),
                ..
            }) => k.activity(),
            Ok(OpenFile {
                kind: FileKind::Event(e),
                ..
            }) => e.activity(),
            _ => 0,
        }
    }

    /// The readiness (POLL* bits, POLLNVAL for a closed fd) of each fd, polled once.
    fn readiness(&mut self, fds: &[(i32, u32)], depth: u32) -> Result<Vec<u32>, Errno> {
        let mut ask = Vec::with_capacity(fds.len() * 8);
        let mut nested = Vec::new();
        for (i, &(fd, events)) in fds.iter().enumerate() {
            let inner = self
                .fds
                .get(fd)
                .map(|f| match &f.kind {
                    FileKind::Epoll(s) => Some(Arc::clone(s)),
                    _ => None,
                })
                .unwrap_or_default();
            if let Some(s) = inner {
                nested.push((i, s));
                ask.extend_from_slice(&(-1i32).to_le_bytes()); // ppoll skips it
            } else {
                ask.extend_from_slice(&fd.to_le_bytes());
            }
            ask.extend_from_slice(&((events & POLL_BITS) as u16).to_le_bytes());
            ask.extend_from_slice(&[0, 0]);
        }
        let mut out = vec![0u8; ask.len()];
        self.ppoll_inner(&ask, 0, &mut out)?;
        let mut r: Vec<u32> = out
            .chunks_exact(8)
            .map(|e| u16::from_le_bytes([e[6], e[7]]) as u32)
            .collect();
        for (i, s) in nested {
            let list: Vec<(i32, u32)> = lock(&s).list.iter().map(|e| (e.fd, e.events)).collect();
            let ready = depth == 0
                && self
                    .readiness(&list, depth + 1)?
                    .iter()
                    .any(|&b| b != 0 && b != 0x20);
            r[i] = if ready { fds[i].1 & EPOLLIN } else { 0 };
        }
        Ok(r)
    }

    /// The host half of epoll_pwait/epoll_pwait2: up to `max` ready entries of `epfd`'s
    /// list into `out` as struct epoll_event, their count; RETRY when none is ready and
    /// `timeout_ns` (0: poll once; the device sends u64::MAX to block) lets it wait.
    pub fn epoll_wait(
        &mut self,
        epfd: i32,
        max: usize,
        timeout_ns: u64,
        out: &mut [u8],
    ) -> Outcome {
        let r = self.epoll_wait_inner(epfd, max, timeout_ns, out);
        super::calls::outcome(r.map(|n| (n as i64, n * EVENT_SIZE)))
    }

    fn epoll_wait_inner(
        &mut self,
        epfd: i32,
        max: usize,
        timeout_ns: u64,
        out: &mut [u8],
    ) -> Result<usize, Errno> {
        if max == 0 {
            return Err(errno::EINVAL);
        }
        let set = self.epoll_of(epfd)?;
        self.epoll_prune(&set);
        let list: Vec<Interest> = lock(&set).list.clone();
        let asked: Vec<(i32, u32)> = list.iter().map(|e| (e.fd, e.events)).collect();
        let ready = self.readiness(&asked, 0)?;
        let marks: Vec<u64> = list.iter().map(|e| self.activity(e.fd)).collect();
        let mut s = lock(&set);
        let mut n = 0;
        for ((e, &now), &mark) in list.iter().zip(&ready).zip(&marks) {
            let Some(cur) = s.list.iter_mut().find(|c| c.fd == e.fd) else {
                continue;
            };
            let now = if now == 0x20 { 0 } else { now }; // a closed fd reports nothing
            let wanted = now & ((cur.events & POLL_BITS) | EPOLLERR | EPOLLHUP);
            // Edge-triggered: what became ready, or all that is ready after a new move.
            let fresh = match cur.events & EPOLLET != 0 {
                true if mark != cur.mark => wanted,
                true => wanted & !cur.seen,
                false => wanted,
            };
            if fresh == 0 || cur.spent {
                cur.seen = wanted; // what went unready may be reported again later
                cur.mark = mark;
                continue;
            }
            if n == max || out.len() < (n + 1) * EVENT_SIZE {
                continue; // no room: reported by a later wait
            }
            cur.seen = wanted;
            cur.mark = mark;
            if cur.events & EPOLLONESHOT != 0 {
                cur.spent = true;
            }
            let o = &mut out[n * EVENT_SIZE..(n + 1) * EVENT_SIZE];
            o[..4].copy_from_slice(&fresh.to_le_bytes());
            o[4..8].fill(0);
            o[8..16].copy_from_slice(&cur.data.to_le_bytes());
            n += 1;
        }
        if n == 0 && timeout_ns != 0 {
            return Err(errno::RETRY);
        }
        Ok(n)
    }
}
