//! The AArch64 Linux layouts of `struct stat` (128 bytes), `struct statx` (256 bytes,
//! arch-independent) and `struct statfs` (120 bytes), filled from the host's.

/// sizeof(struct stat) on AArch64.
pub(crate) const STAT_SIZE: usize = 128;
/// sizeof(struct statx).
pub(crate) const STATX_SIZE: usize = 256;
/// sizeof(struct statfs) on AArch64.
pub(crate) const STATFS_SIZE: usize = 120;

/// STATX_BASIC_STATS.
pub(crate) const STATX_BASIC_STATS: u32 = 0x7ff;
/// ST_RDONLY in statfs f_flags.
pub(crate) const ST_RDONLY: u64 = 1;
/// PIPEFS_MAGIC.
const PIPEFS_MAGIC: u64 = 0x5049_5045;

/// Architecture-neutral file status, the source of the guest layouts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i32,
    pub blocks: i64,
    pub atime: (i64, u64),
    pub mtime: (i64, u64),
    pub ctime: (i64, u64),
}

impl From<&libc::stat> for Stat {
    fn from(s: &libc::stat) -> Stat {
        Stat {
            dev: s.st_dev,
            ino: s.st_ino,
            mode: s.st_mode,
            nlink: s.st_nlink as u32,
            uid: s.st_uid,
            gid: s.st_gid,
            rdev: s.st_rdev,
            size: s.st_size,
            blksize: s.st_blksize as i32,
            blocks: s.st_blocks,
            atime: (s.st_atime, s.st_atime_nsec as u64),
            mtime: (s.st_mtime, s.st_mtime_nsec as u64),
            ctime: (s.st_ctime, s.st_ctime_nsec as u64),
        }
    }
}

fn put(out: &mut [u8], off: usize, bytes: &[u8]) {
    if let Some(d) = out.get_mut(off..off + bytes.len()) {
        d.copy_from_slice(bytes);
    }
}

/// Major number of a Linux dev_t (glibc encoding, which `struct stat` uses).
pub(crate) fn dev_major(d: u64) -> u32 {
    (((d >> 32) & 0xffff_f000) | ((d >> 8) & 0xfff)) as u32
}

/// Minor number of a Linux dev_t.
pub(crate) fn dev_minor(d: u64) -> u32 {
    (((d >> 12) & 0xffff_ff00) | (d & 0xff)) as u32
}

/// A dev_t from major and minor.
pub(crate) fn makedev(major: u32, minor: u32) -> u64 {
    let (ma, mi) = (major as u64, minor as u64);
    ((ma & 0xffff_f000) << 32) | ((ma & 0xfff) << 8) | ((mi & 0xffff_ff00) << 12) | (mi & 0xff)
}

impl Stat {
    /// The AArch64 `struct stat`, into `out` (at least 128 bytes). Returns 128.
    pub(crate) fn encode(&self, out: &mut [u8]) -> usize {
        let mut b = [0u8; STAT_SIZE];
        put(&mut b, 0, &self.dev.to_le_bytes());
        put(&mut b, 8, &self.ino.to_le_bytes());
        put(&mut b, 16, &self.mode.to_le_bytes());
        put(&mut b, 20, &self.nlink.to_le_bytes());
        put(&mut b, 24, &self.uid.to_le_bytes());
        put(&mut b, 28, &self.gid.to_le_bytes());
        put(&mut b, 32, &self.rdev.to_le_bytes());
        put(&mut b, 48, &self.size.to_le_bytes());
        put(&mut b, 56, &self.blksize.to_le_bytes());
        put(&mut b, 64, &self.blocks.to_le_bytes());
        put(&mut b, 72, &self.atime.0.to_le_bytes());
        put(&mut b, 80, &self.atime.1.to_le_bytes());
        put(&mut b, 88, &self.mtime.0.to_le_bytes());
        put(&mut b, 96, &self.mtime.1.to_le_bytes());
        put(&mut b, 104, &self.ctime.0.to_le_bytes());
        put(&mut b, 112, &self.ctime.1.to_le_bytes());
        let n = STAT_SIZE.min(out.len());
        out[..n].copy_from_slice(&b[..n]);
        n
    }

    /// A `struct statx` with the basic stats (for files the host cannot statx itself).
    pub(crate) fn encode_statx(&self, out: &mut [u8]) -> usize {
        let mut b = [0u8; STATX_SIZE];
        put(&mut b, 0, &STATX_BASIC_STATS.to_le_bytes());
        put(&mut b, 4, &(self.blksize as u32).to_le_bytes());
        put(&mut b, 16, &self.nlink.to_le_bytes());
        put(&mut b, 20, &self.uid.to_le_bytes());
        put(&mut b, 24, &self.gid.to_le_bytes());
        put(&mut b, 28, &(self.mode as u16).to_le_bytes());
        put(&mut b, 32, &self.ino.to_le_bytes());
        put(&mut b, 40, &(self.size as u64).to_le_bytes());
        put(&mut b, 48, &(self.blocks as u64).to_le_bytes());
        for (off, t) in [(64, self.atime), (96, self.ctime), (112, self.mtime)] {
            put(&mut b, off, &t.0.to_le_bytes());
            put(&mut b, off + 8, &(t.1 as u32).to_le_bytes());
        }
        put(&mut b, 128, &dev_major(self.rdev).to_le_bytes());
        put(&mut b, 132, &dev_minor(self.rdev).to_le_bytes());
        put(&mut b, 136, &dev_major(self.dev).to_le_bytes());
        put(&mut b, 140, &dev_minor(self.dev).to_le_bytes());
        let n = STATX_SIZE.min(out.len());
        out[..n].copy_from_slice(&b[..n]);
        n
    }
}

/// The status of an in-memory stream (a captured stdout, a byte stdin): a pipe.
pub(crate) fn pipe_stat(ino: u64) -> Stat {
    let (_, euid, _, egid) = super::sys::ids();
    let now = super::sys::clock_gettime(libc::CLOCK_REALTIME)
        .map(|t| (t.tv_sec, t.tv_nsec as u64))
        .unwrap_or((0, 0));
    Stat {
        dev: makedev(0, 14),
        ino,
        mode: libc::S_IFIFO | 0o600,
        nlink: 1,
        uid: euid,
        gid: egid,
        blksize: 4096,
        atime: now,
        mtime: now,
        ctime: now,
        ..Stat::default()
    }
}

/// The status of an anonymous-inode file (an epoll instance): Linux's anon_inodefs,
/// mode 0600 with no file type.
pub(crate) fn anon_stat() -> Stat {
    let (_, euid, _, egid) = super::sys::ids();
    Stat {
        dev: makedev(0, 15),
        ino: 1,
        mode: 0o600,
        nlink: 1,
        uid: euid,
        gid: egid,
        blksize: 4096,
        ..Stat::default()
    }
}

/// The status of a socket (sockfs): S_IFSOCK, mode 0777.
pub(crate) fn sock_stat(ino: u64) -> Stat {
    Stat {
        mode: libc::S_IFSOCK | 0o777,
        dev: makedev(0, 8),
        ino,
        ..anon_stat()
    }
}

/// The status of a null stdin: /dev/null.
pub(crate) fn null_stat() -> Stat {
    Stat {
        dev: makedev(0, 5),
        ino: 4,
        mode: libc::S_IFCHR | 0o666,
        nlink: 1,
        rdev: makedev(1, 3),
        blksize: 4096,
        ..Stat::default()
    }
}

/// The host's `struct statfs` bytes as the guest should see them (ST_RDONLY added for a
/// read-only mount).
pub(crate) fn guest_statfs(host: [u8; STATFS_SIZE], readonly: bool) -> [u8; STATFS_SIZE] {
    let mut b = host;
    if readonly {
        let mut f = [0u8; 8];
        f.copy_from_slice(&b[80..88]);
        let flags = u64::from_ne_bytes(f) | ST_RDONLY;
        b[80..88].copy_from_slice(&flags.to_le_bytes());
    }
    b
}

/// The statfs of a pipe.
pub(crate) fn pipe_statfs() -> [u8; STATFS_SIZE] {
    let mut b = [0u8; STATFS_SIZE];
    put(&mut b, 0, &PIPEFS_MAGIC.to_le_bytes());
    put(&mut b, 8, &4096u64.to_le_bytes());
    put(&mut b, 64, &255u64.to_le_bytes());
    put(&mut b, 72, &4096u64.to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u64_at(b: &[u8], o: usize) -> u64 {
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
    }
    fn u32_at(b: &[u8], o: usize) -> u32 {
        u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
    }

    #[test]
    fn stat_layout() {
        let s = Stat {
            dev: 0x0102,
            ino: 77,
            mode: 0o100644,
            nlink: 3,
            uid: 1000,
            gid: 100,
            rdev: 0,
            size: 12345,
            blksize: 4096,
            blocks: 24,
            atime: (1, 2),
            mtime: (3, 4),
            ctime: (5, 6),
        };
        let mut out = [0xffu8; 200];
        assert_eq!(s.encode(&mut out), 128);
        assert_eq!(u64_at(&out, 0), 0x0102);
        assert_eq!(u64_at(&out, 8), 77);
        assert_eq!(u32_at(&out, 16), 0o100644);
        assert_eq!(u32_at(&out, 20), 3);
        assert_eq!(u32_at(&out, 24), 1000);
        assert_eq!(u32_at(&out, 28), 100);
        assert_eq!(u64_at(&out, 40), 0, "__pad1");
        assert_eq!(u64_at(&out, 48), 12345);
        assert_eq!(u32_at(&out, 56), 4096);
        assert_eq!(u64_at(&out, 64), 24);
        assert_eq!(u64_at(&out, 72), 1);
        assert_eq!(u64_at(&out, 80), 2);
        assert_eq!(u64_at(&out, 88), 3);
        assert_eq!(u64_at(&out, 96), 4);
        assert_eq!(u64_at(&out, 104), 5);
        assert_eq!(u64_at(&out, 112), 6);
        assert_eq!(u64_at(&out, 120), 0);
        assert_eq!(out[128], 0xff, "nothing past 128 bytes");
    }

    #[test]
    fn statx_layout() {
        let s = Stat {
            mode: 0o40755,
            ino: 9,
            size: 4096,
            dev: makedev(8, 1),
            mtime: (7, 8),
            ..Stat::default()
        };
        let mut out = [0u8; 256];
        assert_eq!(s.encode_statx(&mut out), 256);
        assert_eq!(u32_at(&out, 0), STATX_BASIC_STATS);
        assert_eq!(u16::from_le_bytes([out[28], out[29]]), 0o40755);
        assert_eq!(u64_at(&out, 32), 9);
        assert_eq!(u64_at(&out, 40), 4096);
        assert_eq!(u64_at(&out, 112), 7);
        assert_eq!(u32_at(&out, 120), 8);
        assert_eq!(u32_at(&out, 136), 8);
        assert_eq!(u32_at(&out, 140), 1);
    }

    #[test]
    fn dev_numbers_roundtrip() {
        for (ma, mi) in [(0, 0), (8, 1), (259, 3), (4095, 255), (0x12345, 0x6789a)] {
            let d = makedev(ma, mi);
            assert_eq!((dev_major(d), dev_minor(d)), (ma, mi));
        }
        // Agrees with the host's libc.
        assert_eq!(makedev(8, 1), libc::makedev(8, 1));
    }

    #[test]
    fn statfs_readonly_flag() {
        let b = guest_statfs([0u8; 120], true);
        assert_eq!(u64_at(&b, 80), ST_RDONLY);
        assert_eq!(u64_at(&pipe_statfs(), 0), 0x5049_5045);
    }

    #[test]
    fn host_stat_converts() {
        let st = crate::host::sys::fstat(0)
            .or_else(|_| crate::host::sys::fstatat(libc::AT_FDCWD, c"/", 0));
        let st = st.unwrap();
        let s = Stat::from(&st);
        assert_eq!(s.ino, st.st_ino);
        assert_eq!(s.mode, st.st_mode);
    }
}
