//! The guest's standard streams: where fd 0 reads from and fds 1 and 2 write to.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use super::errno::{self, Errno};
use super::output::OutStream;
use super::sys;

/// Where a guest's stdout or stderr goes.
#[derive(Debug)]
pub enum Sink {
    /// The host's own fd 1 (stdout) or 2 (stderr).
    Inherit,
    /// Streamed as it is written: hashed, and kept, echoed or written to a file as
    /// the stream says; the guest sees a pipe. Shared by the process's family.
    Stream(Box<OutStream>),
    /// Appended to a host file.
    File(std::fs::File),
}

impl Sink {
    /// A stream kept in memory in full (tests, small library runs); see
    /// [`OutStream::keep`].
    pub fn kept() -> Sink {
        Sink::Stream(Box::new(OutStream::hashed().keep(usize::MAX)))
    }
}

/// Where a guest's stdin comes from.
#[derive(Debug)]
pub enum Source {
    /// The host's own fd 0.
    Inherit,
    /// These bytes (each process reads its own copy from offset 0), then end of file.
    Bytes(Arc<Vec<u8>>),
    /// End of file at once (like `/dev/null`).
    Null,
}

/// An output stream as held in an open file description.
#[derive(Debug)]
pub(crate) enum SinkState {
    /// Host fd 1 or 2.
    Inherit(i32),
    /// Index into the family's streams (0 stdout, 1 stderr).
    Capture(usize),
    /// A host file.
    File(std::fs::File),
}

/// An input stream as held in an open file description.
#[derive(Debug)]
pub(crate) enum SourceState {
    Inherit,
    Bytes { data: Arc<Vec<u8>>, pos: usize },
    Null,
}

impl SourceState {
    pub(crate) fn new(s: Source) -> SourceState {
        match s {
            Source::Inherit => SourceState::Inherit,
            Source::Bytes(data) => SourceState::Bytes { data, pos: 0 },
            Source::Null => SourceState::Null,
        }
    }

    /// The host fd behind it, if any.
    pub(crate) fn host_fd(&self) -> Option<i32> {
        matches!(self, SourceState::Inherit).then_some(0)
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> Result<usize, Errno> {
        match self {
            SourceState::Inherit => {
                wait_readable(0)?;
                sys::read(0, buf)
            }
            SourceState::Bytes { data, pos } => {
                let rest = data.get(*pos..).unwrap_or(&[]);
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                *pos += n;
                Ok(n)
            }
            SourceState::Null => Ok(0),
        }
    }

    /// Bytes readable without blocking (FIONREAD), if known.
    pub(crate) fn available(&self) -> Option<usize> {
        match self {
            SourceState::Bytes { data, pos } => Some(data.len().saturating_sub(*pos)),
            SourceState::Null => Some(0),
            SourceState::Inherit => None,
        }
    }
}

/// Wait until host fd `fd` (gpuos's own stdin) is readable, at its end or in error,
/// looking again every 100 ms, so that a read nobody answers (a terminal) does not hold
/// up a stop of the run (SIGINT, SIGTERM; `backend::request_stop`). A non-blocking fd
/// is not waited for. Errors: EINTR once a stop is requested (the lane is ending).
fn wait_readable(fd: i32) -> Result<(), Errno> {
    if sys::fcntl(fd, libc::F_GETFL, 0).is_ok_and(|fl| fl & libc::O_NONBLOCK != 0) {
        return Ok(());
    }
    loop {
        if crate::stop::stop_requested() {
            return Err(errno::EINTR);
        }
        let mut p = [libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        }];
        match sys::poll(&mut p, 100) {
            Ok(0) => {}
            Err(e) if e == errno::EINTR => {}
            // Readable, or an error the read itself will report.
            _ => return Ok(()),
        }
    }
}

/// All of gpuos's own stdin (fd 0) until its end, for the copies every lane reads
/// (`Prepared::stdin_bytes`); cut short, with what came so far, when a stop of the run
/// is requested (a pipe nobody closes must not hold up SIGINT).
pub(crate) fn read_host_stdin() -> Vec<u8> {
    let mut v = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    while wait_readable(0).is_ok() {
        match sys::read(0, &mut buf) {
            Ok(0) => break,
            Ok(n) => v.extend_from_slice(&buf[..n]),
            Err(e) if e == errno::EINTR => {}
            Err(e) if e == errno::EAGAIN => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Err(_) => break,
        }
    }
    v
}

impl SinkState {
    /// The host fd behind it, if any.
    pub(crate) fn host_fd(&self) -> Option<i32> {
        match self {
            SinkState::Inherit(fd) => Some(*fd),
            SinkState::File(f) => Some(f.as_raw_fd()),
            SinkState::Capture(_) => None,
        }
    }

    pub(crate) fn write(
        &mut self,
        streams: &mut [OutStream; 2],
        buf: &[u8],
    ) -> Result<usize, Errno> {
        match self {
            SinkState::Inherit(fd) => sys::write(*fd, buf),
            SinkState::Capture(i) => streams[*i].write(buf),
            SinkState::File(f) => f.write(buf).map_err(errno::Errno::from),
        }
    }

    pub(crate) fn flush(&mut self) {
        if let SinkState::File(f) = self {
            let _ = f.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_source_reads_then_eof() {
        let mut s = SourceState::new(Source::Bytes(Arc::new(b"hello".to_vec())));
        let mut b = [0u8; 3];
        assert_eq!(s.read(&mut b), Ok(3));
        assert_eq!(&b, b"hel");
        assert_eq!(s.available(), Some(2));
        assert_eq!(s.read(&mut b), Ok(2));
        assert_eq!(s.read(&mut b), Ok(0));
        let mut n = SourceState::new(Source::Null);
        assert_eq!(n.read(&mut b), Ok(0));
    }

    #[test]
    fn capture_sink_appends() {
        let mut cap = [OutStream::hashed().keep(9), OutStream::hashed().keep(9)];
        let mut s = SinkState::Capture(1);
        assert_eq!(s.write(&mut cap, b"ab"), Ok(2));
        assert_eq!(s.write(&mut cap, b"c"), Ok(1));
        assert_eq!(cap[1].finish().0.kept, b"abc");
        assert_eq!(cap[0].finish().0.bytes, 0);
    }
}
