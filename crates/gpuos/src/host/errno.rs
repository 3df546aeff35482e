//! Linux errno numbers as the guest sees them (asm-generic/errno-base.h, errno.h) and THE
//! one mapping from host errors to them.
//!
//! The host is Linux too, so the numbers usually coincide, but the mapping is written out
//! through the host's libc constants so that it stays right on any host.

use std::io;

/// A guest errno (positive Linux number). Syscalls return its negation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Errno(pub i32);

/// Not an errno: the call would block on a blocking guest fd (an empty or full pipe);
/// the device parks the process and runs the call again later
/// ([`crate::abi::SYSRET_RETRY`]).
pub(crate) const RETRY: Errno = Errno(i32::MIN);

impl Errno {
    /// The syscall return value for this error.
    pub(crate) fn ret(self) -> i64 {
        if self == RETRY {
            return crate::abi::SYSRET_RETRY;
        }
        -(self.0 as i64)
    }
}

macro_rules! errnos {
    ($($name:ident = $num:expr),* $(,)?) => {
        $( #[allow(dead_code)] pub(crate) const $name: Errno = Errno($num); )*
        /// Host errno (libc value) -> guest errno. The host process running out of
        /// descriptors (EMFILE, ENFILE) is not the guest's doing: it is [`EHOSTFD`].
        pub(crate) fn from_host(e: i32) -> Errno {
            if e == libc::EMFILE || e == libc::ENFILE {
                return EHOSTFD;
            }
            $( if e == libc::$name { return $name; } )*
            EIO
        }
        /// The Linux name of guest errno `e` (`ENOENT`), for `--strace`.
        pub(crate) fn name(e: i64) -> Option<&'static str> {
            $( if e == $num { return Some(stringify!($name)); } )*
            None
        }
    };
}

// The errnos of kernel/sys/errno.table (the device's kernel/sys/errno.h is generated
// from it too).
include!(concat!(env!("OUT_DIR"), "/errno_table.rs"));

/// Internal, never returned to a guest: the host process itself is out of file
/// descriptors (its EMFILE or ENFILE), while the guest is within its own limit. Every
/// lane's open files are host descriptors of one process, so 100,000 lanes that each
/// hold a pipe need 200,000 of them, more than a host allows (20,000 on the GPU
/// machine). The request is served again once other lanes have closed theirs
/// (`service::policy`); only after a long wait does the guest get EMFILE.
/// The number is Linux's ERESTARTNOINTR, which also never reaches user space.
pub(crate) const EHOSTFD: Errno = Errno(513);

/// A host `std::io::Error` -> guest errno. Errors without an OS code map by kind.
pub(crate) fn from_io(e: &io::Error) -> Errno {
    if let Some(raw) = e.raw_os_error() {
        return from_host(raw);
    }
    match e.kind() {
        io::ErrorKind::NotFound => ENOENT,
        io::ErrorKind::PermissionDenied => EACCES,
        io::ErrorKind::AlreadyExists => EEXIST,
        io::ErrorKind::InvalidInput => EINVAL,
        io::ErrorKind::WouldBlock => EAGAIN,
        io::ErrorKind::BrokenPipe => EPIPE,
        io::ErrorKind::Interrupted => EINTR,
        io::ErrorKind::Unsupported => EOPNOTSUPP,
        io::ErrorKind::OutOfMemory => ENOMEM,
        _ => EIO,
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        from_io(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_host_errnos() {
        assert_eq!(from_host(libc::ENOENT), ENOENT);
        assert_eq!(from_host(libc::EROFS), EROFS);
        assert_eq!(from_host(libc::ELOOP), ELOOP);
        assert_eq!(from_host(libc::ENOTEMPTY), ENOTEMPTY);
        assert_eq!(from_host(libc::EOPNOTSUPP), EOPNOTSUPP);
        assert_eq!(from_host(99999), EIO);
        assert_eq!(ENOENT.ret(), -2);
    }

    #[test]
    fn maps_io_errors() {
        assert_eq!(from_io(&io::Error::from_raw_os_error(libc::EACCES)), EACCES);
        assert_eq!(
            from_io(&io::Error::new(io::ErrorKind::NotFound, "x")),
            ENOENT
        );
        assert_eq!(from_io(&io::Error::other("x")), EIO);
    }
}
