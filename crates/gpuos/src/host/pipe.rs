//! Pipes kept in gpuos's memory: pipe2(2) makes no host descriptor, nor does
//! socketpair(2) (two pipes, [`SockEnd`]) or eventfd(2) ([`EventCounter`]).
//!
//! Why not host pipes: every guest fd that is a host fd counts against the one gpuos
//! process's open-file limit (20,000 on the device machine, a hard limit there). Copies
//! of a shell run in step, so at 10,000 lanes all of them hold their pipes at once and
//! the next `pipe2` of every lane waits for descriptors that never come back. A pipe
//! here is a bounded byte queue shared by its ends; it never blocks a host service
//! thread: a read of an empty pipe or a write to a full one on a blocking guest fd is
//! `RETRY` (the device parks the process and runs the call again later), as the host
//! pipes were.
//!
//! Semantics follow pipe(7) and fs/pipe.c: 16 slots of a page (65,536 bytes), filled as
//! Linux fills them ([`Slots`]: writes of 1,000 bytes put four in a page, so 64,000 bytes
//! fill the pipe); writes of at most PIPE_BUF (4,096) bytes are atomic; a read of an empty pipe with no writer left is end of file; a write
//! with no reader left is EPIPE (the device raises SIGPIPE, kernel/sys/marshal.h).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::errno::{self, Errno};
use super::oflag::O_NONBLOCK;

/// The capacity of a pipe in bytes (pipe(7): 16 pages since Linux 2.6.11).
pub(crate) const PIPE_CAPACITY: usize = PIPE_SLOTS * PAGE;
/// Writes of at most this many bytes are atomic (pipe(7), PIPE_BUF): a page, so
/// [`Slots::fits`] gives such a write whole or not at all.
#[cfg(test)]
const PIPE_BUF: usize = 4096;
/// A pipe's slots (fs/pipe.c `pipe_buffer`s: PIPE_DEF_BUFFERS), each up to a page.
const PIPE_SLOTS: usize = 16;
/// A page (the guest's and the host's): a slot's most bytes.
const PAGE: usize = crate::abi::PAGE_SIZE as usize;

/// Linux's accounting of a pipe's held bytes (fs/pipe.c pipe_write and pipe_read), which
/// decides what fits: each slot holds a page's worth of one write or more. At a write's
/// start its last `len % PAGE` bytes' worth goes into the newest slot when the pipe holds
/// bytes and they fit behind that slot's in its page; the rest takes free slots a page
/// at a time; a read frees each slot it empties. (The device's pipes keep the same
/// account: kernel/sys/dpipe.h `dpipe_fits`.)
#[derive(Debug, Default)]
struct Slots {
    /// Bytes not yet read in each slot in use, oldest first.
    lens: VecDeque<usize>,
    /// Where the newest slot's bytes end in its page.
    last_end: usize,
}

impl Slots {
    /// The part of an n-byte write that goes into the newest slot.
    fn merge_len(&self, n: usize) -> usize {
        let chars = n % PAGE;
        if chars != 0 && !self.lens.is_empty() && self.last_end + chars <= PAGE {
            chars
        } else {
            0
        }
    }

    /// How many bytes of an n-byte write fit now.
    fn fits(&self, n: usize) -> usize {
        let m = self.merge_len(n);
        m + (n - m).min((PIPE_SLOTS - self.lens.len()) * PAGE)
    }

    /// Account `n` bytes of a `len`-byte write (n at most `fits(len)`).
    fn put(&mut self, len: usize, mut n: usize) {
        let m = self.merge_len(len).min(n);
        if m > 0 {
            if let Some(last) = self.lens.back_mut() {
                *last += m;
            }
            self.last_end += m;
            n -= m;
        }
        while n > 0 && self.lens.len() < PIPE_SLOTS {
            let take = n.min(PAGE);
            self.lens.push_back(take);
            self.last_end = take;
            n -= take;
        }
    }

    /// Account n bytes read.
    fn take(&mut self, mut n: usize) {
        while n > 0 {
            let Some(first) = self.lens.front_mut() else {
                break;
            };
            let t = n.min(*first);
            *first -= t;
            n -= t;
            if *first == 0 {
                self.lens.pop_front();
            }
        }
    }

    /// Whether no slot is free (pipe_full: no POLLOUT).
    fn full(&self) -> bool {
        self.lens.len() == PIPE_SLOTS
    }
}

const POLLIN: i16 = 0x1;
const POLLOUT: i16 = 0x4;
const POLLERR: i16 = 0x8;
const POLLHUP: i16 = 0x10;

/// Inode numbers for fstat and `/proc/self/fd` links ("pipe:[N]"): unique per pipe.
static NEXT_INO: AtomicU64 = AtomicU64::new(0x7069_0000);

#[derive(Debug)]
struct Buffer {
    data: VecDeque<u8>,
    /// How the bytes of `data` sit in Linux's slots (what fits next).
    slots: Slots,
    /// Open file descriptions that may read (write): when none is left, readers see
    /// end of file (writers see EPIPE).
    readers: usize,
    writers: usize,
    /// Writes and reads that moved bytes so far: what edge-triggered epoll takes for a
    /// new event ([`PipeEnd::activity`]).
    moves: u64,
}

/// One pipe, shared by all its ends.
#[derive(Debug)]
struct Pipe {
    buf: Mutex<Buffer>,
    ino: u64,
}

impl Pipe {
    fn lock(&self) -> MutexGuard<'_, Buffer> {
        self.buf.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One open file description of a pipe: the read end, the write end, or (an O_RDWR
/// reopen through `/proc/self/fd`) both. It counts as a reader and/or writer until it
/// is dropped, which happens with the description's last fd in any process.
#[derive(Debug)]
pub(crate) struct PipeEnd {
    pipe: Arc<Pipe>,
    read: bool,
    write: bool,
}

/// A new pipe: (read end, write end).
pub(crate) fn new_pipe() -> (PipeEnd, PipeEnd) {
    new_pipe_ino(next_ino())
}

/// A new pipe inode number (a pipe the device keeps takes one at its making, and its
/// host pipe keeps it: host/noted.rs).
pub(crate) fn next_ino() -> u64 {
    NEXT_INO.fetch_add(1, Ordering::Relaxed)
}

/// [`new_pipe`] with inode number `ino`.
pub(crate) fn new_pipe_ino(ino: u64) -> (PipeEnd, PipeEnd) {
    let pipe = Arc::new(Pipe {
        buf: Mutex::new(Buffer {
            data: VecDeque::new(),
            slots: Slots::default(),
            readers: 0,
            writers: 0,
            moves: 0,
        }),
        ino,
    });
    (
        PipeEnd::attach(&pipe, true, false),
        PipeEnd::attach(&pipe, false, true),
    )
}

/// EAGAIN for a guest O_NONBLOCK fd, else RETRY (the device waits and asks again).
fn wait_or_again(guest_flags: u32) -> Errno {
    if guest_flags & O_NONBLOCK != 0 {
        errno::EAGAIN
    } else {
        errno::RETRY
    }
}

impl PipeEnd {
    fn attach(pipe: &Arc<Pipe>, read: bool, write: bool) -> PipeEnd {
        let mut b = pipe.lock();
        b.readers += read as usize;
        b.writers += write as usize;
        drop(b);
        PipeEnd {
            pipe: Arc::clone(pipe),
            read,
            write,
        }
    }

    /// A new description of the same pipe (open("/proc/self/fd/N")), reading and/or
    /// writing as asked.
    pub(crate) fn reopen(&self, read: bool, write: bool) -> PipeEnd {
        PipeEnd::attach(&self.pipe, read, write)
    }

    /// The pipe's inode number.
    pub(crate) fn ino(&self) -> u64 {
        self.pipe.ino
    }

    /// How many writes and reads have moved bytes through the pipe: a change is a new
    /// arrival (or new room) for edge-triggered epoll.
    pub(crate) fn activity(&self) -> u64 {
        self.pipe.lock().moves
    }

    /// Bytes waiting to be read (FIONREAD).
    pub(crate) fn available(&self) -> usize {
        self.pipe.lock().data.len()
    }

    /// Bytes a write could add now (splice(2) moves no more than fit). Errors as
    /// [`PipeEnd::write`]'s: EBADF, EPIPE, EAGAIN or RETRY when there is no room.
    pub(crate) fn room(&self, guest_flags: u32) -> Result<usize, Errno> {
        if !self.write {
            return Err(errno::EBADF);
        }
        let b = self.pipe.lock();
        match (PIPE_SLOTS - b.slots.lens.len()) * PAGE {
            _ if b.readers == 0 => Err(errno::EPIPE),
            0 => Err(wait_or_again(guest_flags)),
            room => Ok(room),
        }
    }

    /// read(2): up to `buf.len()` bytes. Errors: EBADF (a write end), EAGAIN or RETRY
    /// (empty with a writer left; see [`wait_or_again`]).
    pub(crate) fn read(&self, buf: &mut [u8], guest_flags: u32) -> Result<usize, Errno> {
        if !self.read {
            return Err(errno::EBADF);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let mut b = self.pipe.lock();
        if b.data.is_empty() {
            return if b.writers == 0 {
                Ok(0)
            } else {
                Err(wait_or_again(guest_flags))
            };
        }
        let n = buf.len().min(b.data.len());
        for (d, s) in buf.iter_mut().zip(b.data.drain(..n)) {
            *d = s;
        }
        b.slots.take(n);
        b.moves += 1;
        Ok(n)
    }

    /// write(2): all of `data` if at most PIPE_BUF bytes (or nothing), else as much as
    /// fits. Errors: EBADF (a read end), EPIPE (no reader left), EAGAIN or RETRY (no
    /// room).
    pub(crate) fn write(&self, data: &[u8], guest_flags: u32) -> Result<usize, Errno> {
        if !self.write {
            return Err(errno::EBADF);
        }
        let mut b = self.pipe.lock();
        if b.readers == 0 {
            return Err(errno::EPIPE);
        }
        if data.is_empty() {
            return Ok(0);
        }
        // At most PIPE_BUF bytes fit whole or not at all (one slot, or the newest's room).
        let n = b.slots.fits(data.len());
        if n == 0 {
            return Err(wait_or_again(guest_flags));
        }
        b.data.extend(&data[..n]);
        b.slots.put(data.len(), n);
        b.moves += 1;
        Ok(n)
    }

    /// poll(2) revents for `events` (fs/pipe.c pipe_poll): readable with data, POLLHUP
    /// once no writer is left; writable while a slot is free, POLLERR once no reader is
    /// left.
    pub(crate) fn poll(&self, events: i16) -> i16 {
        let b = self.pipe.lock();
        let mut r = 0;
        if self.read {
            if !b.data.is_empty() {
                r |= POLLIN & events;
            }
            if b.writers == 0 {
                r |= POLLHUP;
            }
        }
        if self.write {
            if !b.slots.full() {
                r |= POLLOUT & events;
            }
            if b.readers == 0 {
                r |= POLLERR;
            }
        }
        r
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut b = self.pipe.lock();
        b.readers -= self.read as usize;
        b.writers -= self.write as usize;
    }
}

/// One end of a connected pair of AF_UNIX stream sockets (socketpair(2)): two pipes,
/// one each way. `rx` reads what the peer writes, `tx` writes what it reads; shutdown(2)
/// drops one or both (the peer then reads end of file, or its writes get EPIPE).
#[derive(Debug)]
pub(crate) struct SockEnd {
    rx: Option<PipeEnd>,
    tx: Option<PipeEnd>,
    ino: u64,
}

/// A connected pair of stream sockets.
pub(crate) fn new_sock_pair() -> (SockEnd, SockEnd) {
    let (a_rx, b_tx) = new_pipe();
    let (b_rx, a_tx) = new_pipe();
    let ino = NEXT_INO.fetch_add(1, Ordering::Relaxed);
    (
        SockEnd {
            rx: Some(a_rx),
            tx: Some(a_tx),
            ino,
        },
        SockEnd {
            rx: Some(b_rx),
            tx: Some(b_tx),
            ino: ino + 1,
        },
    )
}

impl SockEnd {
    /// Its inode number ("socket:[N]").
    pub(crate) fn ino(&self) -> u64 {
        self.ino
    }

    /// recv(2)/read(2): end of file once the peer is gone or this end shut down for
    /// reading; else as a pipe's read (EAGAIN or RETRY while empty).
    pub(crate) fn read(&self, buf: &mut [u8], guest_flags: u32) -> Result<usize, Errno> {
        self.rx.as_ref().map_or(Ok(0), |r| r.read(buf, guest_flags))
    }

    /// send(2)/write(2): EPIPE once this end shut down for writing or the peer is gone.
    pub(crate) fn write(&self, data: &[u8], guest_flags: u32) -> Result<usize, Errno> {
        self.tx
            .as_ref()
            .map_or(Err(errno::EPIPE), |w| w.write(data, guest_flags))
    }

    /// shutdown(2): SHUT_RD (0), SHUT_WR (1) or SHUT_RDWR (2); EINVAL otherwise.
    pub(crate) fn shutdown(&mut self, how: u64) -> Result<(), Errno> {
        match how {
            0 => self.rx = None,
            1 => self.tx = None,
            2 => (self.rx, self.tx) = (None, None),
            _ => return Err(errno::EINVAL),
        }
        Ok(())
    }

    /// Bytes waiting to be read (FIONREAD).
    pub(crate) fn available(&self) -> usize {
        self.rx.as_ref().map_or(0, PipeEnd::available)
    }

    /// poll(2) revents (net/unix/af_unix.c unix_poll): readable with data or once the
    /// peer can send no more (end of file), writable with room while the peer reads,
    /// POLLHUP when neither way is open.
    pub(crate) fn poll(&self, events: i16) -> i16 {
        let mut r = 0;
        let (mut rx_open, mut tx_open) = (false, false);
        if let Some(p) = &self.rx {
            let b = p.pipe.lock();
            rx_open = b.writers > 0;
            if !b.data.is_empty() || !rx_open {
                r |= POLLIN & events;
            }
        }
        if let Some(p) = &self.tx {
            let b = p.pipe.lock();
            tx_open = b.readers > 0;
            if !b.slots.full() || !tx_open {
                r |= POLLOUT & events;
            }
        }
        if !rx_open && !tx_open {
            r |= POLLHUP;
        }
        r
    }

    /// Bytes moved either way so far (edge-triggered epoll's new events).
    pub(crate) fn activity(&self) -> u64 {
        self.rx.as_ref().map_or(0, PipeEnd::activity)
            + self.tx.as_ref().map_or(0, PipeEnd::activity)
    }
}

/// An eventfd(2) counter (a description of its own, shared by its fds).
#[derive(Debug)]
pub(crate) struct EventCounter {
    count: u64,
    /// EFD_SEMAPHORE: a read takes 1, not the whole count.
    semaphore: bool,
    /// Reads and writes that changed the count (edge-triggered epoll's new events).
    moves: u64,
    ino: u64,
}

/// The largest count an eventfd holds (a write that would pass it waits).
const EVENTFD_MAX: u64 = u64::MAX - 1;

impl EventCounter {
    /// A counter starting at `init`.
    pub(crate) fn new(init: u64, semaphore: bool) -> EventCounter {
        EventCounter {
            count: init,
            semaphore,
            moves: 0,
            ino: NEXT_INO.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Its inode number ("anon_inode:[eventfd]" has one too).
    pub(crate) fn ino(&self) -> u64 {
        self.ino
    }

    /// read(2): the count (or 1 with EFD_SEMAPHORE) as 8 bytes, which it then lowers;
    /// EINVAL for a buffer under 8 bytes; EAGAIN or RETRY while the count is 0.
    pub(crate) fn read(&mut self, buf: &mut [u8], guest_flags: u32) -> Result<usize, Errno> {
        let out = buf.get_mut(..8).ok_or(errno::EINVAL)?;
        if self.count == 0 {
            return Err(wait_or_again(guest_flags));
        }
        let v = if self.semaphore { 1 } else { self.count };
        self.count -= v;
        self.moves += 1;
        out.copy_from_slice(&v.to_le_bytes());
        Ok(8)
    }

    /// write(2): add the 8-byte value; EINVAL for a short buffer or u64::MAX; EAGAIN or
    /// RETRY while it would pass the largest count.
    pub(crate) fn write(&mut self, data: &[u8], guest_flags: u32) -> Result<usize, Errno> {
        let b: [u8; 8] = data
            .get(..8)
            .and_then(|d| d.try_into().ok())
            .ok_or(errno::EINVAL)?;
        let v = u64::from_le_bytes(b);
        if v == u64::MAX {
            return Err(errno::EINVAL);
        }
        if v > EVENTFD_MAX - self.count {
            return Err(wait_or_again(guest_flags));
        }
        self.count += v;
        self.moves += 1;
        Ok(8)
    }

    /// poll(2): readable while the count is not 0, writable while 1 more fits.
    pub(crate) fn poll(&self, events: i16) -> i16 {
        let mut r = 0;
        if self.count > 0 {
            r |= POLLIN & events;
        }
        if self.count < EVENTFD_MAX {
            r |= POLLOUT & events;
        }
        r
    }

    /// Reads and writes so far.
    pub(crate) fn activity(&self) -> u64 {
        self.moves
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_flow_and_end_of_file() {
        let (r, w) = new_pipe();
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf, 0), Err(errno::RETRY));
        assert_eq!(r.read(&mut buf, O_NONBLOCK), Err(errno::EAGAIN));
        assert_eq!(w.write(b"hello", 0), Ok(5));
        assert_eq!(r.available(), 5);
        assert_eq!(r.read(&mut buf[..3], 0), Ok(3));
        assert_eq!(&buf[..3], b"hel");
        assert_eq!(r.read(&mut buf, 0), Ok(2));
        assert_eq!(&buf[..2], b"lo");
        assert_eq!(r.read(&mut buf, 0), Err(errno::RETRY));
        assert_eq!(r.write(b"x", 0), Err(errno::EBADF));
        assert_eq!(w.read(&mut buf, 0), Err(errno::EBADF));
        drop(w);
        assert_eq!(r.read(&mut buf, 0), Ok(0));
        assert_eq!(r.poll(POLLIN), POLLHUP);
    }

    #[test]
    fn capacity_and_atomic_writes() {
        let (r, w) = new_pipe();
        let big = vec![7u8; PIPE_CAPACITY + 100];
        // A write larger than PIPE_BUF is partial when the pipe fills.
        assert_eq!(w.write(&big, 0), Ok(PIPE_CAPACITY));
        assert_eq!(w.write(b"x", 0), Err(errno::RETRY));
        assert_eq!(w.write(b"x", O_NONBLOCK), Err(errno::EAGAIN));
        assert_eq!(w.poll(POLLOUT), 0);
        let mut buf = vec![0u8; 4096];
        assert_eq!(r.read(&mut buf[..100], 0), Ok(100));
        // The first slot still holds bytes: nothing fits (fs/pipe.c keeps it whole).
        assert_eq!(w.write(&[1u8; 100], 0), Err(errno::RETRY));
        assert_eq!(r.read(&mut buf[..3996], 0), Ok(3996));
        // A slot free: a PIPE_BUF-sized write fits whole, then nothing.
        assert_eq!(w.write(&[1u8; PIPE_BUF], 0), Ok(PIPE_BUF));
        assert_eq!(w.write(&[1u8; 100], 0), Err(errno::RETRY));
        assert_eq!(r.poll(POLLIN | POLLOUT), POLLIN);
    }

    /// Writes of 1,000 bytes: four to a page, 64 in all (64,000 bytes), as Linux; a
    /// slot read empty takes more, and small writes merge into the newest slot.
    #[test]
    fn small_writes_fill_slots_as_linux() {
        let (r, w) = new_pipe();
        let k = [3u8; 1000];
        let mut n = 0;
        while w.write(&k, O_NONBLOCK).is_ok() {
            n += 1;
        }
        assert_eq!(n, 64);
        let mut buf = vec![0u8; 4000];
        assert_eq!(r.read(&mut buf[..1000], 0), Ok(1000));
        assert_eq!(w.write(&k, O_NONBLOCK), Err(errno::EAGAIN));
        assert_eq!(r.read(&mut buf[..3000], 0), Ok(3000));
        assert_eq!(w.write(&k, O_NONBLOCK), Ok(1000));
        assert_eq!(w.write(&k, O_NONBLOCK), Ok(1000));
        assert_eq!(w.write(&[5u8; 2000], O_NONBLOCK), Ok(2000));
        assert_eq!(w.write(&[5u8; 96], O_NONBLOCK), Ok(96));
        assert_eq!(w.write(&[5u8; 1], O_NONBLOCK), Err(errno::EAGAIN));
    }

    #[test]
    fn no_reader_is_epipe_and_reopen_counts() {
        let (r, w) = new_pipe();
        let r2 = r.reopen(true, false);
        drop(r);
        assert_eq!(w.write(b"a", 0), Ok(1));
        drop(r2);
        assert_eq!(w.write(b"a", 0), Err(errno::EPIPE));
        assert_eq!(w.poll(POLLOUT), POLLOUT | POLLERR);
        let both = w.reopen(true, true);
        assert_eq!(both.ino(), w.ino());
        let mut buf = [0u8; 4];
        assert_eq!(both.read(&mut buf, 0), Ok(1));
        // Its own write end keeps the pipe from end of file.
        drop(w);
        assert_eq!(both.read(&mut buf, 0), Err(errno::RETRY));
        let (other, _) = new_pipe();
        assert_ne!(other.ino(), both.ino());
    }
}
