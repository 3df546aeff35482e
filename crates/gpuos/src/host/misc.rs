//! sysinfo, ioctl (getrandom is the device's: kernel/sys/random.h; umask and the id calls are one-liners in the dispatcher).

use std::os::fd::AsRawFd;

use super::errno;
use super::fd::FileKind;
use super::stdio::SourceState;
use super::{sys, ProcHost, Ret};

const TCGETS: u32 = 0x5401;
const TIOCGWINSZ: u32 = 0x5413;
const FIONREAD: u32 = 0x541b;
/// ioctl FIONBIO: set or clear O_NONBLOCK (the device passes the int's value).
const FIONBIO: u32 = 0x5421;
/// sizeof the kernel's `struct termios` (the generic one, on x86-64 and AArch64 alike).
const TERMIOS_SIZE: usize = 36;

// The fields are C `unsigned long`: u64 here, but not on every host.
#[allow(clippy::unnecessary_cast)]
pub(crate) fn sysinfo(buf: u64, out: &mut [u8]) -> Ret {
    let si = sys::sysinfo()?;
    if buf == 0 || out.len() < 112 {
        return Err(errno::EFAULT);
    }
    let mut b = [0u8; 112];
    let words: [u64; 10] = [
        si.uptime as u64,
        si.loads[0] as u64,
        si.loads[1] as u64,
        si.loads[2] as u64,
        si.totalram as u64,
        si.freeram as u64,
        si.sharedram as u64,
        si.bufferram as u64,
        si.totalswap as u64,
        si.freeswap as u64,
    ];
    for (i, w) in words.iter().enumerate() {
        b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
    }
    b[80..82].copy_from_slice(&si.procs.to_le_bytes());
    b[88..96].copy_from_slice(&(si.totalhigh as u64).to_le_bytes());
    b[96..104].copy_from_slice(&(si.freehigh as u64).to_le_bytes());
    b[104..108].copy_from_slice(&si.mem_unit.to_le_bytes());
    out[..112].copy_from_slice(&b);
    Ok((0, 112))
}

impl ProcHost {
    /// ioctl: only requests whose result is a small struct we can return (the argument's
    /// input is not marshalled): TCGETS and TIOCGWINSZ on a real tty, FIONREAD; and
    /// FIONBIO, whose int the device passes as `argp` (kernel/sys/ioctl.h).
    pub(crate) fn sys_ioctl(&mut self, fd: i32, req: u32, argp: u64, out: &mut [u8]) -> Ret {
        let f = self.fds.get(fd)?;
        let (size, hreq) = match req {
            TCGETS => (TERMIOS_SIZE, libc::TCGETS),
            TIOCGWINSZ => (8, libc::TIOCGWINSZ),
            FIONBIO => {
                drop(f);
                return self.sys_fionbio(fd, argp != 0);
            }
            FIONREAD => {
                let n = match &f.kind {
                    FileKind::Source(s @ (SourceState::Bytes { .. } | SourceState::Null)) => {
                        s.available().unwrap_or(0) as i32
                    }
                    FileKind::Pipe(p) => p.available().min(i32::MAX as usize) as i32,
                    FileKind::Sock(k) => k.available().min(i32::MAX as usize) as i32,
                    // A shared descriptor's own offset is not the description's.
                    FileKind::Host(h) if h.off.is_some() && !h.is_dir => {
                        let size = sys::fstat(h.fd()?.as_raw_fd())?.st_size.max(0) as u64;
                        let left = size.saturating_sub(h.off.unwrap_or(0));
                        left.min(i32::MAX as u64) as i32
                    }
                    _ => {
                        let hfd = f.host_fd()?.ok_or(errno::ENOTTY)?;
                        let mut b = [0u8; 64];
                        sys::ioctl_get(hfd.raw(), libc::FIONREAD, &mut b)?;
                        i32::from_ne_bytes([b[0], b[1], b[2], b[3]])
                    }
                };
                if argp == 0 || out.len() < 4 {
                    return Err(errno::EFAULT);
                }
                out[..4].copy_from_slice(&n.to_le_bytes());
                return Ok((0, 4));
            }
            _ => return Err(errno::ENOTTY),
        };
        let held = f.host_fd()?.ok_or(errno::ENOTTY)?;
        let hfd = held.raw();
        if !sys::isatty(hfd) {
            return Err(errno::ENOTTY);
        }
        let mut b = [0u8; 64];
        sys::ioctl_get(hfd, hreq, &mut b)?;
        if argp == 0 || out.len() < size {
            return Err(errno::EFAULT);
        }
        out[..size].copy_from_slice(&b[..size]);
        Ok((0, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysinfo_layout() {
        let mut out = [0u8; 112];
        assert_eq!(sysinfo(1, &mut out), Ok((0, 112)));
        let total = u64::from_le_bytes(out[32..40].try_into().unwrap());
        let unit = u32::from_le_bytes(out[104..108].try_into().unwrap());
        assert!(total * unit as u64 > 1 << 20);
        assert_eq!(sysinfo(0, &mut out), Err(errno::EFAULT));
    }
}
