//! A lane's stdout and stderr as they stream out of the guest ([`OutStream`]): hashed
//! with SHA-256 as they come, and forwarded at once to where they go (the host's own
//! fd for lane 0, a `--output-dir` file), so that gpuos holds at most a small bounded
//! amount of a guest's output, however much it writes. Two lanes writing 2 GiB each
//! once took 4 GiB of the host, when output was kept until the lane ended.
//!
//! A `--output-dir` file is either held open for the whole run or, when two files per
//! lane do not fit the open-file limit (`lane::lane_files_fit`: 100,000 lanes
//! against 20,000 descriptors), a [`LaneFile`] with a bounded buffer that is written
//! by opening the file, appending and closing it again whenever the buffer fills, and
//! when the lane ends.

use super::errno::{self, Errno};
use super::sys;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// One output stream of a lane (fd 1 or fd 2 of every process in its family).
pub struct OutStream {
    hasher: Sha256,
    bytes: u64,
    /// A host fd that gets every byte as it comes (lane 0's stdout or stderr when its
    /// output is also hashed or kept in files).
    echo: Option<i32>,
    /// Bytes kept in memory for the library caller, and how many at most.
    keep: Vec<u8>,
    keep_max: usize,
    /// The `--output-dir` file.
    file: Option<LaneFile>,
}

impl std::fmt::Debug for OutStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutStream")
            .field("bytes", &self.bytes)
            .field("echo", &self.echo)
            .field("file", &self.file.as_ref().map(|l| &l.path))
            .finish()
    }
}

/// What a stream came to when its lane ended ([`OutStream::finish`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEnd {
    /// SHA-256 of every byte written.
    pub sha256: [u8; 32],
    /// Bytes written.
    pub bytes: u64,
    /// The first bytes written, up to the stream's keep limit ([`OutStream::keep`]).
    pub kept: Vec<u8>,
}

impl Default for OutStream {
    fn default() -> OutStream {
        OutStream::hashed()
    }
}

impl OutStream {
    /// A stream that is only hashed and counted.
    pub fn hashed() -> OutStream {
        OutStream {
            hasher: Sha256::new(),
            bytes: 0,
            echo: None,
            keep: Vec::new(),
            keep_max: 0,
            file: None,
        }
    }

    /// Also copy every byte to host fd `fd` as it comes (write errors there, a closed
    /// pipe say, are the host's and do not reach the guest).
    pub fn echo(mut self, fd: i32) -> OutStream {
        self.echo = Some(fd);
        self
    }

    /// Also keep the first `max` bytes in memory ([`StreamEnd::kept`]).
    pub fn keep(mut self, max: usize) -> OutStream {
        self.keep_max = max;
        self
    }

    /// Also write every byte to `file`.
    pub fn to_file(mut self, file: LaneFile) -> OutStream {
        self.file = Some(file);
        self
    }

    /// A guest's write of `data`: to the file first (an error there, the host out of
    /// descriptors included, leaves the stream as it was), then the echo, the hash and
    /// the kept bytes. Returns the bytes written: all of them.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<usize, Errno> {
        if let Some(f) = &mut self.file {
            f.write(data).map_err(|e| errno::from_io(&e))?;
        }
        if let Some(fd) = self.echo {
            let mut rest = data;
            while !rest.is_empty() {
                match sys::write(fd, rest) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => rest = &rest[n..],
                }
            }
        }
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        let room = self.keep_max.saturating_sub(self.keep.len());
        self.keep.extend_from_slice(&data[..room.min(data.len())]);
        Ok(data.len())
    }

    /// The lane has ended: write what its file still buffers (creating it if nothing
    /// was written), and return the hash, size and kept bytes, with the file's error if
    /// writing it failed (naming it).
    pub fn finish(&mut self) -> (StreamEnd, io::Result<()>) {
        let res = match &mut self.file {
            Some(f) => f.finish(),
            None => Ok(()),
        };
        let end = StreamEnd {
            sha256: std::mem::take(&mut self.hasher).finalize().into(),
            bytes: self.bytes,
            kept: std::mem::take(&mut self.keep),
        };
        self.bytes = 0;
        (end, res)
    }
}

/// A `--output-dir` file written through a bounded buffer (see the module's notes).
pub struct LaneFile {
    path: PathBuf,
    /// Held open for the whole run, or None: opened for each flush.
    open: Option<File>,
    buf: Vec<u8>,
    cap: usize,
    /// Whether the file has been created (truncated) by this run yet.
    created: bool,
}

/// The error of an operation on `path`, naming it.
fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl LaneFile {
    /// A file created (truncated) now and held open.
    pub fn open(path: PathBuf) -> io::Result<LaneFile> {
        let f = File::create(&path).map_err(|e| at(&path, e))?;
        Ok(LaneFile {
            path,
            open: Some(f),
            buf: Vec::new(),
            cap: 0,
            created: true,
        })
    }

    /// A file created at its first flush, written `cap` bytes at a time at most
    /// (opened, appended to, closed).
    pub fn buffered(path: PathBuf, cap: usize) -> LaneFile {
        LaneFile {
            path,
            open: None,
            buf: Vec::new(),
            cap: cap.max(1),
            created: false,
        }
    }

    /// Its host path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        if let Some(f) = &mut self.open {
            return f.write_all(data);
        }
        if self.buf.len() + data.len() <= self.cap {
            self.buf.extend_from_slice(data);
            return Ok(());
        }
        self.flush(data)
    }

    /// Open (the first time: create and truncate), write the buffer and `more`, close.
    /// A failure to open changes nothing.
    fn flush(&mut self, more: &[u8]) -> io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .append(self.created)
            .truncate(!self.created)
            .open(&self.path)?;
        self.created = true;
        let buf = std::mem::take(&mut self.buf);
        f.write_all(&buf)?;
        f.write_all(more)?;
        self.buf = buf;
        self.buf.clear();
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Some(mut f) = self.open.take() {
            return f.flush().map_err(|e| at(&self.path, e));
        }
        if self.created && self.buf.is_empty() {
            return Ok(());
        }
        let r = self.flush(&[]).map_err(|e| at(&self.path, e));
        self.buf = Vec::new();
        r
    }
}

/// SHA-256 and size of the file at `path`, read in pieces (a lane's output file that
/// the guest saw as a regular file, and may have sought in or truncated). A missing
/// file is empty.
pub fn hash_file(path: &Path) -> io::Result<([u8; 32], u64)> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Sha256::digest([]).into(), 0)),
        Err(e) => return Err(at(path, e)),
    };
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(|e| at(path, e))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((h.finalize().into(), n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_keeps_a_bounded_prefix_and_streams_to_a_buffered_file() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("lane-7.stdout");
        let mut s = OutStream::hashed()
            .keep(5)
            .to_file(LaneFile::buffered(path.clone(), 8));
        let mut all = Vec::new();
        for k in 0..100u8 {
            let piece = vec![k; (k % 13) as usize];
            assert_eq!(s.write(&piece), Ok(piece.len()));
            all.extend_from_slice(&piece);
            // Never more than the buffer's capacity left unwritten.
            let on_disk = std::fs::metadata(&path).map_or(0, |m| m.len());
            assert!(all.len() as u64 - on_disk <= 8, "{} {on_disk}", all.len());
        }
        let (end, res) = s.finish();
        res.unwrap();
        assert_eq!(end.bytes, all.len() as u64);
        assert_eq!(end.sha256, <[u8; 32]>::from(Sha256::digest(&all)));
        assert_eq!(end.kept, all[..5]);
        assert_eq!(std::fs::read(&path).unwrap(), all);
        assert_eq!(hash_file(&path).unwrap(), (end.sha256, all.len() as u64));
    }

    #[test]
    fn a_lane_that_wrote_nothing_still_gets_its_empty_file_and_old_contents_go() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("lane-0.stderr");
        std::fs::write(&path, b"from an earlier run").unwrap();
        let mut s = OutStream::hashed().to_file(LaneFile::buffered(path.clone(), 64));
        let (end, res) = s.finish();
        res.unwrap();
        assert_eq!(end.bytes, 0);
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        let mut s = OutStream::hashed().to_file(LaneFile::buffered(path.clone(), 4));
        s.write(b"abcdefgh").unwrap();
        s.write(b"ij").unwrap();
        s.finish().1.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abcdefghij");
    }

    #[test]
    fn errors_name_the_file() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("missing-dir/lane-0.stdout");
        let e = LaneFile::open(path.clone())
            .err()
            .expect("no such directory");
        assert!(e.to_string().contains("missing-dir/lane-0.stdout"), "{e}");
        let mut s = OutStream::hashed().to_file(LaneFile::buffered(path, 4));
        assert_eq!(s.write(b"12"), Ok(2));
        assert_eq!(s.write(b"345"), Err(errno::ENOENT));
        let (end, res) = s.finish();
        assert_eq!(end.bytes, 2);
        let e = res.expect_err("no such directory");
        assert!(e.to_string().contains("missing-dir/lane-0.stdout"), "{e}");
    }
}
