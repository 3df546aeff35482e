//! Sockets: AF_UNIX stream pairs (socketpair(2)) kept in gpuos's memory ([`SockEnd`],
//! two pipes), with send/recv, shutdown, their names and options; and eventfd(2)
//! counters, the other in-memory descriptor event loops wake each other with. gpuos has no network:
//! socket(2) itself is not provided. Semantics: socketpair(2), send(2), recv(2),
//! shutdown(2), getsockopt(2), unix(7).

use super::errno;
use super::fd::{FileKind, OpenFile};
use super::oflag::{O_CLOEXEC, O_NONBLOCK, O_RDWR};
use super::pipe::{new_sock_pair, EventCounter, PIPE_CAPACITY};
use super::{ProcHost, Ret};

const AF_UNIX: u64 = 1;
const SOCK_STREAM: u64 = 1;
const SOCK_NONBLOCK: u64 = 0o4000;
const SOCK_CLOEXEC: u64 = 0o2000000;
const SOL_SOCKET: i32 = 1;
const SO_TYPE: i32 = 3;
const SO_ERROR: i32 = 4;
const SO_SNDBUF: i32 = 7;
const SO_RCVBUF: i32 = 8;
const SO_DOMAIN: i32 = 39;
const SO_ACCEPTCONN: i32 = 30;
const SO_PROTOCOL: i32 = 38;
/// recv/send flags: MSG_DONTWAIT answers EAGAIN instead of waiting.
const MSG_DONTWAIT: u64 = 0x40;
/// send flags: no SIGPIPE (the device raises it only for write(2) family calls).
const MSG_NOSIGNAL: u64 = 0x4000;

impl ProcHost {
    /// socketpair(2): AF_UNIX SOCK_STREAM only (EAFNOSUPPORT for other domains,
    /// EPROTONOSUPPORT for other types or a protocol), with SOCK_NONBLOCK and
    /// SOCK_CLOEXEC; the two fds go to `out` (int sv[2]).
    pub(crate) fn sys_socketpair(
        &mut self,
        domain: u64,
        ty: u64,
        proto: u64,
        out: &mut [u8],
    ) -> Ret {
        if domain != AF_UNIX {
            return Err(errno::EAFNOSUPPORT);
        }
        if ty & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != SOCK_STREAM || proto != 0 {
            return Err(errno::EPROTONOSUPPORT);
        }
        if out.len() < 8 {
            return Err(errno::EFAULT);
        }
        let flags = O_RDWR
            | if ty & SOCK_NONBLOCK != 0 {
                O_NONBLOCK
            } else {
                0
            };
        let cloexec = ty & SOCK_CLOEXEC != 0;
        let (a, b) = new_sock_pair();
        let fa = self.fds.install(
            OpenFile {
                kind: FileKind::Sock(a),
                flags,
            },
            0,
            cloexec,
        )?;
        let fb = match self.fds.install(
            OpenFile {
                kind: FileKind::Sock(b),
                flags,
            },
            0,
            cloexec,
        ) {
            Ok(fb) => fb,
            Err(e) => {
                let _ = self.fds.close(fa);
                return Err(e);
            }
        };
        out[..4].copy_from_slice(&fa.to_le_bytes());
        out[4..8].copy_from_slice(&fb.to_le_bytes());
        Ok((0, 8))
    }

    /// The guest status flags for a send or recv with `msg` flags on `f`.
    fn sock_flags(f: &OpenFile, msg: u64) -> u32 {
        f.flags
            | if msg & MSG_DONTWAIT != 0 {
                O_NONBLOCK
            } else {
                0
            }
    }

    /// sendto(2) on a connected pair end (`to` must be NULL: EISCONN otherwise);
    /// ENOTSOCK for other fds.
    pub(crate) fn sys_sendto(&mut self, fd: i32, data: &[u8], msg: u64, to: u64) -> Ret {
        let f = self.fds.get(fd)?;
        let FileKind::Sock(k) = &f.kind else {
            return Err(errno::ENOTSOCK);
        };
        if to != 0 {
            return Err(errno::EISCONN);
        }
        let _ = msg & MSG_NOSIGNAL; // send never raises SIGPIPE here
        let n = k.write(data, Self::sock_flags(&f, msg))?;
        Ok((n as i64, 0))
    }

    /// recvfrom(2) on a pair end (no address is written: an unnamed peer).
    pub(crate) fn sys_recvfrom(&mut self, fd: i32, buf: &mut [u8], msg: u64) -> Ret {
        let f = self.fds.get(fd)?;
        let FileKind::Sock(k) = &f.kind else {
            return Err(errno::ENOTSOCK);
        };
        let n = k.read(buf, Self::sock_flags(&f, msg))?;
        Ok((n as i64, n))
    }

    /// shutdown(2).
    pub(crate) fn sys_shutdown(&mut self, fd: i32, how: u64) -> Ret {
        let mut f = self.fds.get_mut(fd)?;
        let FileKind::Sock(k) = &mut f.kind else {
            return Err(errno::ENOTSOCK);
        };
        k.shutdown(how)?;
        Ok((0, 0))
    }

    /// getsockname(2)/getpeername(2): an unnamed AF_UNIX address (sa_family only, 2
    /// bytes) for a pair end; ENOTSOCK for others. `out` is the sockaddr area.
    pub(crate) fn sys_sockname(&mut self, fd: i32, out: &mut [u8]) -> Ret {
        let f = self.fds.get(fd)?;
        if !matches!(f.kind, FileKind::Sock(_)) {
            return Err(errno::ENOTSOCK);
        }
        let n = out.len().min(2);
        out[..n].copy_from_slice(&(AF_UNIX as u16).to_le_bytes()[..n]);
        Ok((0, n))
    }

    /// getsockopt(2) at SOL_SOCKET of a pair end: SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
    /// SO_ERROR, SO_ACCEPTCONN, SO_SNDBUF, SO_RCVBUF as ints; ENOPROTOOPT for others.
    pub(crate) fn sys_getsockopt(&mut self, fd: i32, level: i32, name: i32, out: &mut [u8]) -> Ret {
        if !matches!(self.fds.get(fd)?.kind, FileKind::Sock(_)) {
            return Err(errno::ENOTSOCK);
        }
        let v: i32 = match (level, name) {
            (SOL_SOCKET, SO_TYPE) => SOCK_STREAM as i32,
            (SOL_SOCKET, SO_DOMAIN) => AF_UNIX as i32,
            (SOL_SOCKET, SO_PROTOCOL | SO_ERROR | SO_ACCEPTCONN) => 0,
            (SOL_SOCKET, SO_SNDBUF | SO_RCVBUF) => PIPE_CAPACITY as i32,
            _ => return Err(errno::ENOPROTOOPT),
        };
        if out.len() < 4 {
            return Err(errno::EINVAL);
        }
        out[..4].copy_from_slice(&v.to_le_bytes());
        Ok((0, 4))
    }

    /// setsockopt(2) of a pair end: the buffer sizes are accepted (gpuos's stay a
    /// pipe's), others ENOPROTOOPT.
    pub(crate) fn sys_setsockopt(&mut self, fd: i32, level: i32, name: i32) -> Ret {
        if !matches!(self.fds.get(fd)?.kind, FileKind::Sock(_)) {
            return Err(errno::ENOTSOCK);
        }
        match (level, name) {
            (SOL_SOCKET, SO_SNDBUF | SO_RCVBUF) => Ok((0, 0)),
            _ => Err(errno::ENOPROTOOPT),
        }
    }

    /// eventfd2(2): a counter starting at `init`, with EFD_SEMAPHORE (1), EFD_NONBLOCK and
    /// EFD_CLOEXEC; EINVAL for other flags.
    pub(crate) fn sys_eventfd2(&mut self, init: u64, flags: u32) -> Ret {
        const EFD_SEMAPHORE: u32 = 1;
        if flags & !(EFD_SEMAPHORE | O_NONBLOCK | O_CLOEXEC) != 0 {
            return Err(errno::EINVAL);
        }
        let kind = FileKind::Event(EventCounter::new(
            init & 0xffff_ffff,
            flags & EFD_SEMAPHORE != 0,
        ));
        let f = OpenFile {
            kind,
            flags: O_RDWR | (flags & O_NONBLOCK),
        };
        Ok((self.fds.install(f, 0, flags & O_CLOEXEC != 0)? as i64, 0))
    }

    /// ioctl FIONBIO (the device passes the int's value): O_NONBLOCK on or off, as
    /// fcntl(F_SETFL) sets it.
    pub(crate) fn sys_fionbio(&mut self, fd: i32, on: bool) -> Ret {
        let fl = self.sys_fcntl(fd, 3 /* F_GETFL */, 0)?.0 as u64;
        let want = if on {
            fl | O_NONBLOCK as u64
        } else {
            fl & !(O_NONBLOCK as u64)
        };
        self.sys_fcntl(fd, 4 /* F_SETFL */, want)?;
        Ok((0, 0))
    }
}
