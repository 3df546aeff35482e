//! The sandbox: the guest's mount table and guest path resolution.
//!
//! The guest sees a namespace of mounts: each maps a guest directory onto a host directory,
//! read-only or writable. By default ([`Sandbox::new`]) the host's `/` is mounted read-only
//! at `/` and the working directory read-write at its own path; `--mount` entries come on
//! top (a later entry at the same guest path replaces an earlier one).
//!
//! Resolution walks a guest path one component at a time in the *guest* namespace:
//! - `.` and `..` are lexical on the already resolved (symlink-free) prefix, so `..` never
//!   leaves the guest root and crosses mount boundaries like Linux bind mounts;
//! - each component is looked up with `fstatat(parent_fd, name, AT_SYMLINK_NOFOLLOW)` and
//!   directories are entered with `openat(parent_fd, name, O_PATH|O_DIRECTORY|O_NOFOLLOW)`,
//!   starting from the mount roots (opened once through cap-std), so the host kernel never
//!   follows a symlink or a `..` on the guest's behalf and nothing escapes a mount root;
//! - symlinks are read and their target re-resolved as a guest path (absolute targets from
//!   the guest root through the mount table: chroot semantics), at most 40 of them (ELOOP);
//! - host paths given with `--hide` (`SandboxConfig::hide`) are ENOENT, as is everything
//!   below them: each step's host path is checked, so no way in (absolute, `..`, a
//!   symlink) reaches them; a directory listing still shows the name;
//! - with a sysroot (`SandboxConfig::sysroot`, `--sysroot`/`-L` as qemu-user's), an
//!   absolute path is walked in it first, read-only, and through the mounts where it has
//!   no such entry; its symlinks name guest paths, looked up sysroot-first again;
//! - the host's `/proc` is hidden except `/proc/cpuinfo` and `/proc/meminfo`;
//!   `/proc/self/exe` is the guest program and `/proc/self/fd/N` the guest's fd N. An
//!   open of `/proc/cpuinfo` reads an arm64 one (`ProcHost::open_cpuinfo`), and of
//!   `/proc/self/status` or `/proc/self/maps` the guest's own, written by the device
//!   (kernel/sys/procfs.h).
//!
//! The result is a parent directory fd plus one final name: every operation then uses the
//! `*at` calls with `AT_SYMLINK_NOFOLLOW`/`O_NOFOLLOW` on that pair, which cannot escape
//! either, even if the host tree changes concurrently.

use std::collections::VecDeque;
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use super::errno::{self, Errno};
use super::{sys, HostError};

/// Linux PATH_MAX: a path (with its NUL) longer than this is ENAMETOOLONG.
pub(crate) const PATH_MAX: usize = 4096;
/// Linux NAME_MAX.
const NAME_MAX: usize = 255;
/// Linux MAXSYMLINKS.
const MAX_SYMLINKS: u32 = 40;

/// openat2(2)'s `resolve` flags (include/uapi/linux/openat2.h).
pub(crate) const RESOLVE_NO_XDEV: u64 = 0x01;
pub(crate) const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub(crate) const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub(crate) const RESOLVE_BENEATH: u64 = 0x08;
pub(crate) const RESOLVE_IN_ROOT: u64 = 0x10;

/// The restrictions of one lookup (openat2(2)'s `resolve`); the default: none.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ResolveHow {
    /// RESOLVE_* flags.
    pub flags: u64,
    /// With RESOLVE_NO_XDEV: the host mount id of the lookup's directory.
    pub xdev_mnt: Option<u64>,
}

/// The host mount id (statx's stx_mnt_id) of `name` in `dir`, or of `dir` itself when
/// `name` is empty; symlinks not followed.
pub(crate) fn mount_id(dir: RawFd, name: &CStr) -> Result<u64, Errno> {
    const STATX_MNT_ID: u32 = 0x1000;
    const STX_MNT_ID_OFF: usize = 144;
    let flags = libc::AT_SYMLINK_NOFOLLOW
        | if name.is_empty() {
            libc::AT_EMPTY_PATH
        } else {
            0
        };
    let b = sys::statx(dir, name, flags, STATX_MNT_ID)?;
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[STX_MNT_ID_OFF..STX_MNT_ID_OFF + 8]);
    Ok(u64::from_le_bytes(w))
}

/// One entry of the guest's mount table.
#[derive(Clone, Debug)]
pub struct Mount {
    /// The host directory.
    pub host: PathBuf,
    /// Where the guest sees it (absolute).
    pub guest: PathBuf,
    /// Whether the guest may modify it.
    pub writable: bool,
}

/// What a [`Sandbox`] is built from.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// Mounts added to the defaults (see [`Sandbox::new`]).
    pub mounts: Vec<Mount>,
    /// The guest's working directory at start (the host's working directory; absolute).
    pub cwd: PathBuf,
    /// Host path of the guest program (what `readlinkat("/proc/self/exe")` returns).
    pub exe: PathBuf,
    /// Host paths hidden from the guest (`--hide`): it sees ENOENT for each and
    /// everything below it, wherever it is reached from (see [`Sandbox::new`]).
    pub hide: Vec<PathBuf>,
    /// A directory whose entries absolute guest paths name first, read-only
    /// (`--sysroot`, qemu-user's `-L`; see [`Sandbox::resolve`]). None, or the host
    /// `/`, is no sysroot.
    pub sysroot: Option<PathBuf>,
}

/// The mount index of files found in the sysroot: no entry of the mount table, so
/// never writable (EROFS).
const SYSROOT_MOUNT: usize = usize::MAX;

struct MountRoot {
    guest: PathBuf,
    host: PathBuf,
    writable: bool,
    dir: cap_std::fs::Dir,
}

impl MountRoot {
    /// Open the host directory `host` as a mount root seen at `guest`.
    fn open(host: &Path, guest: PathBuf, writable: bool) -> Result<MountRoot, HostError> {
        let failed = |source| HostError::Mount {
            host: host.to_path_buf(),
            source,
        };
        let canonical = std::fs::canonicalize(host).map_err(failed)?;
        if !canonical.is_dir() {
            return Err(HostError::NotADirectory(host.to_path_buf()));
        }
        let dir = cap_std::fs::Dir::open_ambient_dir(&canonical, cap_std::ambient_authority())
            .map_err(failed)?;
        Ok(MountRoot {
            guest,
            host: canonical,
            writable,
            dir,
        })
    }
}

/// The guest's mount table, shared by every process of a machine (`Arc<Sandbox>`).
pub struct Sandbox {
    mounts: Vec<MountRoot>,
    cwd: PathBuf,
    exe: PathBuf,
    host_umask: u32,
    /// Hidden host paths (canonical; `SandboxConfig::hide`).
    hidden: Vec<PathBuf>,
    /// The sysroot's root (`SandboxConfig::sysroot`).
    sysroot: Option<MountRoot>,
    /// Host descriptors shared by every read-only open of a file, across all lanes.
    shared: super::shared::SharedFds,
    /// The identities of mapped files (host/mapfile.rs), across all lanes.
    mapped: super::mapfile::MappedFiles,
    /// The templates of the opens the device answers (host/noted.rs).
    noted: super::noted::LastingOpens,
    /// The pipes the device keeps (host/noted.rs).
    dev_pipes: super::noted::DevPipes,
}

impl super::shared::Reopen for Sandbox {
    fn reopen(
        &self,
        guest: &Path,
        flags: i32,
        is_same: &dyn Fn(&libc::stat) -> bool,
    ) -> Result<OwnedFd, Errno> {
        let path = guest.as_os_str().as_bytes();
        let Resolved::Host(h) = self.resolve(Path::new("/"), path, false)? else {
            return Err(errno::ESTALE);
        };
        if !h.stat.as_ref().is_some_and(is_same) {
            return Err(errno::ESTALE);
        }
        sys::openat(h.dir.raw(), &h.name, flags, 0)
    }
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut l = f.debug_list();
        for m in &self.mounts {
            l.entry(&(&m.guest, &m.host, m.writable));
        }
        l.finish()
    }
}

/// Lexically normalize an absolute path (`.` dropped, `..` pops, never above `/`).
pub(crate) fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

impl Sandbox {
    /// The default sandbox: the host `/` read-only at `/`, `cfg.cwd` read-write at the same
    /// path, then `cfg.mounts` (a later mount at the same guest path replaces an earlier).
    pub fn new(cfg: SandboxConfig) -> Result<Sandbox, HostError> {
        let mut mounts = vec![
            Mount {
                host: "/".into(),
                guest: "/".into(),
                writable: false,
            },
            Mount {
                host: cfg.cwd.clone(),
                guest: cfg.cwd.clone(),
                writable: true,
            },
        ];
        mounts.extend(cfg.mounts.iter().cloned());
        Self::build(mounts, cfg)
    }

    /// A sandbox with exactly `cfg.mounts` and nothing else (no default `/` or cwd mount).
    pub fn new_exact(cfg: SandboxConfig) -> Result<Sandbox, HostError> {
        let mounts = cfg.mounts.clone();
        Self::build(mounts, cfg)
    }

    fn build(list: Vec<Mount>, cfg: SandboxConfig) -> Result<Sandbox, HostError> {
        if !cfg.cwd.is_absolute() {
            return Err(HostError::CwdNotAbsolute(cfg.cwd));
        }
        let cwd = normalize(&cfg.cwd);
        let exe = if cfg.exe.is_absolute() {
            cfg.exe.clone()
        } else {
            cwd.join(&cfg.exe)
        };
        let mut mounts: Vec<MountRoot> = Vec::new();
        for m in list {
            if !m.guest.is_absolute() {
                return Err(HostError::GuestNotAbsolute(m.guest));
            }
            let root = MountRoot::open(&m.host, normalize(&m.guest), m.writable)?;
            mounts.retain(|o| o.guest != root.guest);
            mounts.push(root);
        }
        let sysroot = match &cfg.sysroot {
            Some(d) => Some(MountRoot::open(d, "/".into(), false).map_err(|e| {
                let source = match e {
                    HostError::Mount { source, .. } => source,
                    _ => std::io::Error::from_raw_os_error(libc::ENOTDIR),
                };
                HostError::Sysroot {
                    path: d.clone(),
                    source,
                }
            })?),
            None => None,
        }
        .filter(|s| s.host != Path::new("/"));
        let hidden = cfg
            .hide
            .iter()
            .map(|h| {
                std::fs::canonicalize(h).map_err(|source| HostError::Hide {
                    path: h.clone(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        sys::raise_nofile_limit();
        Ok(Sandbox {
            mounts,
            cwd,
            exe,
            hidden,
            sysroot,
            host_umask: read_host_umask(),
            shared: Default::default(),
            mapped: Default::default(),
            noted: Default::default(),
            dev_pipes: Default::default(),
        })
    }

    /// The guest's working directory at start.
    pub(crate) fn initial_cwd(&self) -> &Path {
        &self.cwd
    }

    /// The guest program path (for /proc/self/exe).
    pub(crate) fn exe(&self) -> &Path {
        &self.exe
    }

    /// The host process's umask (the kernel applies it to files the host creates).
    pub(crate) fn host_umask(&self) -> u32 {
        self.host_umask
    }

    /// The identities of mapped files (host/mapfile.rs).
    pub(crate) fn mapped_files(&self) -> &super::mapfile::MappedFiles {
        &self.mapped
    }

    /// The open tokens of the paths whose opens the device answers (host/noted.rs).
    pub(crate) fn lasting_opens(&self) -> &super::noted::LastingOpens {
        &self.noted
    }

    /// The pipes the device keeps, by id (host/noted.rs).
    pub(crate) fn dev_pipes(&self) -> &super::noted::DevPipes {
        &self.dev_pipes
    }

    /// The host descriptors shared by read-only opens (host/shared.rs).
    pub(crate) fn shared_fds(&self) -> &super::shared::SharedFds {
        &self.shared
    }

    /// Whether mount index `m` (`HostPath::mount`) is the sysroot's.
    pub(crate) fn is_sysroot(m: usize) -> bool {
        m == SYSROOT_MOUNT
    }

    /// Whether mount `m` is writable.
    pub(crate) fn writable(&self, m: usize) -> bool {
        self.mounts.get(m).is_some_and(|m| m.writable)
    }

    /// Whether the host path `host` (symlink-free: resolution builds it component by
    /// component) is at or below a `--hide` path. Hiding is by name: a hard link to a
    /// hidden file from elsewhere, or a `--mount` of a directory below a hidden one,
    /// stays visible.
    fn is_hidden(&self, host: &Path) -> bool {
        self.hidden.iter().any(|h| host.starts_with(h))
    }

    fn mount_exact(&self, guest: &Path) -> Option<usize> {
        self.mounts.iter().position(|m| m.guest == guest)
    }

    fn has_mount_below(&self, guest: &Path) -> bool {
        self.mounts
            .iter()
            .any(|m| m.guest != guest && m.guest.starts_with(guest))
    }

    fn root_fd(&self, m: usize) -> BorrowedFd<'_> {
        self.mounts[m].dir.as_fd()
    }

    fn root_level(&self) -> Level<'_> {
        match self.mount_exact(Path::new("/")) {
            Some(m) => Level {
                name: Vec::new(),
                fd: Some(DirRef::Mount(self.root_fd(m))),
                mount: Some(m),
                host: self.mounts[m].host.clone(),
            },
            None => Level {
                name: Vec::new(),
                fd: None,
                mount: None,
                host: PathBuf::new(),
            },
        }
    }

    /// `mkdir -p` of the directory `rel` below the working directory (`rel` relative and
    /// normalized, without `..`), in the working directory's mount, never following a
    /// symlink: each component is made (mkdirat) if missing and entered with
    /// O_NOFOLLOW from the one before, starting at the mount's root, so a symlink
    /// planted by an earlier run's guest (`runs -> /elsewhere`) cannot take the
    /// creation outside, even if it appears while this runs. Returns the directory's
    /// host path (also its guest path: the working directory is mounted at its own
    /// path). Errors: a component that is a symlink or not a directory, naming it;
    /// those of mkdirat and openat.
    pub(crate) fn make_dir_below_cwd(&self, rel: &Path) -> Result<PathBuf, String> {
        let m = self
            .mount_exact(&self.cwd)
            .ok_or_else(|| "the working directory is not mounted".to_string())?;
        let mut dir: Option<OwnedFd> = None;
        let mut done = PathBuf::new();
        for c in rel.components() {
            let Component::Normal(name) = c else {
                return Err(format!("{}: not a plain relative path", rel.display()));
            };
            done.push(name);
            let at = dir
                .as_ref()
                .map_or(self.root_fd(m).as_raw_fd(), |d| d.as_raw_fd());
            let cname = CString::new(name.as_bytes()).map_err(|_| "a NUL in the path")?;
            let why = |e: Errno| {
                let link = sys::fstatat(at, &cname, libc::AT_SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK);
                let what = match e {
                    _ if link => "is a symbolic link (not followed)".to_string(),
                    e if e == errno::ENOTDIR => "is not a directory".to_string(),
                    e => std::io::Error::from_raw_os_error(e.0).to_string(),
                };
                format!("{} {what}", done.display())
            };
            match sys::mkdirat(at, &cname, 0o777) {
                Ok(()) => {}
                Err(e) if e == errno::EEXIST => {}
                Err(e) => return Err(why(e)),
            }
            let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW;
            dir = Some(sys::openat(at, &cname, flags, 0).map_err(why)?);
        }
        Ok(self.cwd.join(rel))
    }

    /// Resolve the guest path `path` relative to the guest directory `base` (absolute,
    /// canonical). `follow`: follow a symlink in the final component.
    ///
    /// With a sysroot, an absolute path (and a symlink's target, which is a guest path
    /// again) is looked up in the sysroot first and in the mount table when the sysroot
    /// has no such entry, as qemu-user's `-L` (its `path()`, util/path.c); a relative
    /// path is not redirected (qemu: relative to the host working directory).
    pub(crate) fn resolve(
        &self,
        base: &Path,
        path: &[u8],
        follow: bool,
    ) -> Result<Resolved<'_>, Errno> {
        self.resolve_from(base, false, path, follow, None, ResolveHow::default())
    }

    /// [`Sandbox::resolve`], where a relative `path` is looked up sysroot-first too when
    /// `base_in_sysroot` (`base` is a directory the guest holds open in the sysroot), and
    /// a followed `/proc/self/exe` leads to `exe` when given (the guest path of the
    /// program a process exec'd) instead of the run's program, under openat2(2)'s
    /// restrictions `how` (RESOLVE_*; none by default): symlinks or magic links refused
    /// (ELOOP), the lookup kept below `base` (RESOLVE_BENEATH: EXDEV for an absolute
    /// path or symlink or a `..` above it) or with `base` as its root
    /// (RESOLVE_IN_ROOT), or on `base`'s host mount (RESOLVE_NO_XDEV: EXDEV). `base` is
    /// the guest path of the lookup's directory (dirfd's, or the working directory),
    /// whose components the walk takes first.
    pub(crate) fn resolve_from(
        &self,
        base: &Path,
        base_in_sysroot: bool,
        path: &[u8],
        follow: bool,
        exe: Option<&Path>,
        how: ResolveHow,
    ) -> Result<Resolved<'_>, Errno> {
        let mut trace = WalkTrace::default();
        self.resolve_walks(base, base_in_sysroot, path, follow, exe, how, &mut trace)
    }

    /// Whether what the absolute guest `path` names stays what it is for as long as the
    /// run lasts, whatever its processes do: the file it names (the same version) or its
    /// absence (ENOENT, ENOTDIR, or a final name not found). So when its lookup began in
    /// a directory of the sysroot (the first component is the sysroot's, so the path
    /// lies below one of the system directories it provides: /usr, /etc, /lib), and
    /// neither that lookup nor the one through the mount table where the sysroot lacks a
    /// name entered a writable mount, where a guest could change it. As the sysroot's
    /// own files (`HostPath::sysroot_only`), the host's read-only directories are taken
    /// not to change during a run, but for those where the host's own processes make and
    /// remove entries as they run ([`VOLATILE_DIRS`]: /tmp, /proc, /run, ...), which never
    /// last. python3's start-up stats a dozen missing paths in every lane
    /// (`/usr/lib/python311.zip`), and reads what the sysroot lacks from the host
    /// (`/etc/ld.so.cache`, the locale files, `/usr/lib/python3/dist-packages`).
    pub(crate) fn lookup_lasts(&self, path: &[u8], follow: bool) -> bool {
        if path.first() != Some(&b'/') || self.sysroot.is_none() {
            return false;
        }
        let first = path[1..].split(|&b| b == b'/').find(|c| !c.is_empty());
        if first.is_some_and(|c| VOLATILE_DIRS.contains(&c)) {
            return false;
        }
        let mut w = WalkTrace::default();
        let r = self.resolve_walks(
            Path::new("/"),
            false,
            path,
            follow,
            None,
            Default::default(),
            &mut w,
        );
        let settled = match r {
            Err(e) => e == errno::ENOENT || e == errno::ENOTDIR,
            Ok(Resolved::Host(_)) => true,
            Ok(_) => false,
        };
        settled && !w.writable_used && w.sysroot_depth >= 2
    }

    /// [`Sandbox::resolve_from`], recording in `trace` where its walks went.
    #[allow(clippy::too_many_arguments)]
    fn resolve_walks(
        &self,
        base: &Path,
        base_in_sysroot: bool,
        path: &[u8],
        follow: bool,
        exe: Option<&Path>,
        how: ResolveHow,
        trace: &mut WalkTrace,
    ) -> Result<Resolved<'_>, Errno> {
        if path.is_empty() {
            return Err(errno::ENOENT);
        }
        if path.len() >= PATH_MAX {
            return Err(errno::ENAMETOOLONG);
        }
        if path[0] == b'/' && how.flags & RESOLVE_BENEATH != 0 {
            return Err(errno::EXDEV);
        }
        // RESOLVE_IN_ROOT: an absolute path starts at `base`, as a relative one does.
        let relative = path[0] != b'/' || how.flags & RESOLVE_IN_ROOT != 0;
        let base_comps = split(base.as_os_str().as_bytes());
        let scoped = how.flags & (RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0;
        let mut walk = Walk {
            exe: exe.map(Path::to_path_buf),
            follow,
            trailing_slash: path.len() > 1 && path.ends_with(b"/"),
            links: 0,
            how: how.flags,
            floor: if scoped { base_comps.len() + 1 } else { 0 },
            xdev: how.xdev_mnt,
            check_from: if relative { base_comps.len() + 1 } else { 1 },
            base: base_comps.clone(),
            mounts_used: false,
            writable_used: false,
            sysroot_depth: 0,
        };
        let mut queue: VecDeque<Vec<u8>> = VecDeque::new();
        if relative {
            queue.extend(base_comps);
        }
        queue.extend(split(path));
        let mut absolute = !relative || base_in_sysroot;
        let r = loop {
            // Where this lookup of the path (or of a symlink's target) began.
            walk.sysroot_depth = 0;
            if absolute && self.sysroot.is_some() && !host_only(&queue) {
                match self.walk(&mut walk, queue.clone(), true) {
                    Ok(Step::Found(r)) => break Ok(r),
                    Ok(Step::Restart(q)) => {
                        queue = q;
                        continue;
                    }
                    // Not in the sysroot (or not usable there): the mount table.
                    Err(_) => {}
                }
            }
            match self.walk(&mut walk, queue, false) {
                Ok(Step::Found(r)) => break Ok(r),
                Ok(Step::Restart(q)) => {
                    queue = q;
                    absolute = true;
                }
                Err(e) => break Err(e),
            }
        };
        trace.writable_used = walk.writable_used;
        trace.sysroot_depth = walk.sysroot_depth;
        r
    }

    /// One walk of the components in `queue` from the guest root: in the sysroot
    /// (`in_sysroot`; any failure, a missing final name included, means "not in the
    /// sysroot") or through the mount table. A symlink whose target is to be looked up
    /// sysroot-first again ends the walk with the rest of the path as a new absolute
    /// guest path ([`Step::Restart`]).
    fn walk(
        &self,
        w: &mut Walk,
        mut queue: VecDeque<Vec<u8>>,
        in_sysroot: bool,
    ) -> Result<Step<'_>, Errno> {
        w.mounts_used |= !in_sysroot;
        let mut stack: Vec<Level<'_>> = vec![match (&self.sysroot, in_sysroot) {
            (Some(s), true) => Level {
                name: Vec::new(),
                fd: Some(DirRef::Mount(s.dir.as_fd())),
                mount: Some(SYSROOT_MOUNT),
                host: s.host.clone(),
            },
            _ => self.root_level(),
        }];
        w.entered(self, &stack, in_sysroot);
        w.xdev_check(&stack)?;

        while let Some(c) = queue.pop_front() {
            let is_last = queue.is_empty();
            if c == b"." {
                continue;
            }
            if c == b".." {
                if stack.len() <= w.floor {
                    // At the scope's root: RESOLVE_BENEATH refuses to leave it,
                    // RESOLVE_IN_ROOT stays there (as `..` at `/`).
                    if w.how & RESOLVE_BENEATH != 0 {
                        return Err(errno::EXDEV);
                    }
                    continue;
                }
                if stack.len() > 1 {
                    stack.pop();
                    w.xdev_check(&stack)?;
                }
                continue;
            }
            if c.len() > NAME_MAX {
                return Err(errno::ENAMETOOLONG);
            }
            let child_guest = guest_of(&stack, Some(&c));

            // The virtual /proc/self, and /proc/thread-self (the calling thread's task
            // directory: the same fd, exe, status, maps and comm).
            if !in_sysroot
                && stack.len() == 2
                && stack[1].name == b"proc"
                && (c == b"self" || c == b"thread-self")
            {
                w.proc_self_allowed(&queue)?;
                match self.proc_self(&mut queue, w.follow, w.exe.as_deref())? {
                    Some(r) => return Ok(Step::Found(r)),
                    None => {
                        w.count_link()?;
                        stack.truncate(1);
                        continue;
                    }
                }
            }

            // A mount point: enter its root whatever lies below it in the parent mount
            // (a mount also hides what the sysroot has at its path).
            if let Some(m) = self.mount_exact(&child_guest) {
                if in_sysroot {
                    return Err(errno::ENOENT);
                }
                stack.push(Level {
                    name: c,
                    fd: Some(DirRef::Mount(self.root_fd(m))),
                    mount: Some(m),
                    host: self.mounts[m].host.clone(),
                });
                w.entered(self, &stack, in_sysroot);
                w.xdev_check(&stack)?;
                continue;
            }

            let top = stack.last().ok_or(errno::ENOENT)?;
            let Some(dir) = &top.fd else {
                // Outside every mount: only the way to a mount point exists.
                if self.has_mount_below(&child_guest) {
                    stack.push(Level {
                        name: c,
                        fd: None,
                        mount: None,
                        host: PathBuf::new(),
                    });
                    continue;
                }
                return Err(errno::ENOENT);
            };
            let host = top.host.join(OsStr::from_bytes(&c));
            if proc_blocked(&host) || self.is_hidden(&host) {
                return Err(errno::ENOENT);
            }
            let cname = CString::new(c.clone()).map_err(|_| errno::ENOENT)?;
            let st = match sys::fstatat(dir.raw(), &cname, libc::AT_SYMLINK_NOFOLLOW) {
                Ok(st) => Some(st),
                Err(e) if e == errno::ENOENT && is_last && !in_sysroot => None,
                Err(e) => return Err(e),
            };
            let mode = st.map_or(0, |s| s.st_mode & libc::S_IFMT);
            if mode == libc::S_IFLNK && (!is_last || w.follow || w.trailing_slash) {
                if w.how & RESOLVE_NO_SYMLINKS != 0 {
                    return Err(errno::ELOOP);
                }
                w.count_link()?;
                let target = sys::readlinkat(dir.raw(), &cname)?;
                if target.is_empty() {
                    return Err(errno::ENOENT);
                }
                let abs = target[0] == b'/';
                if abs && w.how & RESOLVE_BENEATH != 0 {
                    return Err(errno::EXDEV);
                }
                // RESOLVE_IN_ROOT: an absolute target starts again at the scope's root.
                let in_root = abs && w.how & RESOLVE_IN_ROOT != 0;
                if in_sysroot || (abs && self.sysroot.is_some()) {
                    // The target is a guest path: looked up sysroot-first again.
                    let mut next: VecDeque<Vec<u8>> = VecDeque::new();
                    if !abs {
                        next.extend(split(guest_of(&stack, None).as_os_str().as_bytes()));
                    } else if in_root {
                        next.extend(w.base.iter().cloned());
                    } else {
                        w.check_from = 1;
                    }
                    next.extend(split(&target));
                    next.extend(queue);
                    return Ok(Step::Restart(next));
                }
                if in_root {
                    stack.truncate(w.floor);
                } else if abs {
                    stack.truncate(1);
                    w.check_from = 1;
                    w.xdev_check(&stack)?;
                }
                for t in split(&target).into_iter().rev() {
                    queue.push_front(t);
                }
                continue;
            }
            if is_last {
                if w.trailing_slash && st.is_some() && mode != libc::S_IFDIR {
                    return Err(errno::ENOTDIR);
                }
                if st.is_some() {
                    w.xdev_check_name(stack.len() + 1, dir.raw(), &cname)?;
                }
                let Some(Level {
                    fd: Some(dir),
                    mount: Some(mount),
                    ..
                }) = stack.pop()
                else {
                    return Err(errno::ENOENT);
                };
                return Ok(Step::Found(Resolved::Host(HostPath {
                    dir,
                    name: cname,
                    mount,
                    guest: child_guest,
                    host,
                    stat: st,
                    trailing_slash: w.trailing_slash,
                    sysroot_only: in_sysroot && !w.mounts_used,
                })));
            }
            if mode != libc::S_IFDIR {
                return Err(errno::ENOTDIR);
            }
            let fd = sys::openat(
                dir.raw(),
                &cname,
                libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                0,
            )?;
            let mount = top.mount;
            stack.push(Level {
                name: c,
                fd: Some(DirRef::Owned(fd)),
                mount,
                host,
            });
            w.entered(self, &stack, in_sysroot);
            w.xdev_check(&stack)?;
        }

        let sysroot_only = in_sysroot && !w.mounts_used;
        held_dir(stack, w.trailing_slash, sysroot_only).map(Step::Found)
    }

    /// The rest of a path below the virtual /proc/self, taken from `queue`: /proc/self/fd/N,
    /// the device's status, maps and comm and, unless followed, /proc/self/exe resolve
    /// here (`Some`); a followed
    /// /proc/self/exe is a symlink to the executable, whose components are put back in
    /// front of `queue` (`None`: the caller counts the link and restarts from the root).
    fn proc_self(
        &self,
        queue: &mut VecDeque<Vec<u8>>,
        follow: bool,
        exe: Option<&Path>,
    ) -> Result<Option<Resolved<'_>>, Errno> {
        match queue.pop_front().as_deref() {
            Some(b"exe") => {
                if queue.is_empty() && !follow {
                    return Ok(Some(Resolved::ProcExe));
                }
                let exe = exe.unwrap_or(&self.exe);
                for t in split(exe.as_os_str().as_bytes()).into_iter().rev() {
                    queue.push_front(t);
                }
                Ok(None)
            }
            // The files the device writes (kernel/sys/procfs.h, which also opens them):
            // here for stat(2) and access(2), with proc(5)'s modes.
            Some(name @ (b"status" | b"stat" | b"maps" | b"comm")) => {
                if !queue.is_empty() {
                    return Err(errno::ENOTDIR);
                }
                Ok(Some(Resolved::ProcFile(if name == b"comm" {
                    0o644
                } else {
                    0o444
                })))
            }
            Some(b"fd") => {
                let n = queue.pop_front().ok_or(errno::ENOENT)?;
                let fd = parse_fd(&n).ok_or(errno::ENOENT)?;
                if !queue.is_empty() {
                    return Err(errno::ENOTDIR);
                }
                Ok(Some(Resolved::ProcFd(fd)))
            }
            _ => Err(errno::ENOENT),
        }
    }
}

/// Read the host's umask without changing it (race-free, unlike umask(2)).
fn read_host_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

fn split(p: &[u8]) -> Vec<Vec<u8>> {
    p.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn parse_fd(s: &[u8]) -> Option<i32> {
    if s.is_empty() || s.len() > 10 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// Host paths under /proc are hidden but for a few harmless files.
fn proc_blocked(host: &Path) -> bool {
    host.starts_with("/proc")
        && host != Path::new("/proc")
        && host != Path::new("/proc/cpuinfo")
        && host != Path::new("/proc/meminfo")
}

fn guest_of(stack: &[Level<'_>], extra: Option<&[u8]>) -> PathBuf {
    let mut p = PathBuf::from("/");
    for l in stack.iter().skip(1) {
        p.push(OsStr::from_bytes(&l.name));
    }
    if let Some(e) = extra {
        p.push(OsStr::from_bytes(e));
    }
    p
}

/// A directory fd: a mount root (borrowed from the sandbox) or one opened while walking.
#[derive(Debug)]
pub(crate) enum DirRef<'a> {
    Owned(OwnedFd),
    Mount(BorrowedFd<'a>),
}

impl DirRef<'_> {
    /// The raw fd.
    pub(crate) fn raw(&self) -> RawFd {
        match self {
            DirRef::Owned(f) => f.as_raw_fd(),
            DirRef::Mount(f) => f.as_raw_fd(),
        }
    }
}

/// Whether the absolute guest path of `queue` (its components) lies in a directory a
/// sysroot never shadows: /tmp, /var/tmp (the host's scratch space: a Debian root has
/// empty ones, read-only here, where `tac` and `sort` put their temporary files) and
/// /dev (the host's devices). They are looked up on the host only.
fn host_only(queue: &VecDeque<Vec<u8>>) -> bool {
    let mut it = queue.iter().filter(|c| c.as_slice() != b".");
    let first = it.next().map(Vec::as_slice);
    let second = it.next().map(Vec::as_slice);
    matches!(
        (first, second),
        (Some(b"tmp" | b"dev"), _) | (Some(b"var"), Some(b"tmp"))
    )
}

/// The state of one resolution that lasts across its walks.
struct Walk {
    /// Where a followed `/proc/self/exe` leads, if not to the run's program.
    exe: Option<PathBuf>,
    /// Follow a symlink in the final component.
    follow: bool,
    /// The guest path ended in '/'.
    trailing_slash: bool,
    /// Symlinks followed so far.
    links: u32,
    /// openat2(2)'s RESOLVE_* flags.
    how: u64,
    /// RESOLVE_BENEATH and RESOLVE_IN_ROOT: the depth of the walk's stack at the
    /// scope's root (`..` does not go above it); 0 without a scope.
    floor: usize,
    /// RESOLVE_NO_XDEV: the host mount id every directory and the final name must be on.
    xdev: Option<u64>,
    /// RESOLVE_NO_XDEV: stack depths below this (the way to the lookup's directory) are
    /// not checked.
    check_from: usize,
    /// The components of the lookup's directory (RESOLVE_IN_ROOT's root).
    base: Vec<Vec<u8>>,
    /// A walk through the mount table was taken (the answer may then change while the
    /// run lasts; one that stayed in the read-only sysroot cannot).
    mounts_used: bool,
    /// A directory of a writable mount was entered (a guest may change what lies there).
    writable_used: bool,
    /// The deepest stack a walk in the sysroot reached (1: its root only; 2: the first
    /// component is the sysroot's).
    sysroot_depth: usize,
}

/// The top-level directories whose entries the host's own processes make and remove
/// while a run lasts (temporary files, processes, devices, sockets, spools): an absence
/// there never lasts ([`Sandbox::lookup_lasts`]).
const VOLATILE_DIRS: &[&[u8]] = &[
    b"tmp", b"proc", b"sys", b"dev", b"run", b"var", b"mnt", b"media", b"home", b"root",
];

/// What a lookup's walks passed through ([`Sandbox::lookup_lasts`]).
#[derive(Default)]
struct WalkTrace {
    /// A directory of a writable mount was entered.
    writable_used: bool,
    /// [`Walk::sysroot_depth`] of the lookup that gave the answer.
    sysroot_depth: usize,
}

impl Walk {
    /// The walk entered the directory on top of `stack` (in the sysroot when
    /// `in_sysroot`): noted for [`Sandbox::lookup_lasts`].
    fn entered(&mut self, sb: &Sandbox, stack: &[Level<'_>], in_sysroot: bool) {
        if in_sysroot {
            self.sysroot_depth = self.sysroot_depth.max(stack.len());
        } else if let Some(m) = stack.last().and_then(|l| l.mount) {
            self.writable_used |= sb.writable(m);
        }
    }

    /// RESOLVE_NO_XDEV: the directory on top of `stack` must be on the lookup's mount.
    fn xdev_check(&self, stack: &[Level<'_>]) -> Result<(), Errno> {
        if self.xdev.is_none() || stack.len() < self.check_from {
            return Ok(());
        }
        match stack.last().and_then(|l| l.fd.as_ref()) {
            Some(fd) => self.xdev_check_name(stack.len(), fd.raw(), c""),
            None => Ok(()),
        }
    }

    /// RESOLVE_NO_XDEV: `name` in `dir` (the directory itself when empty), at stack
    /// depth `depth`, must be on the lookup's mount (EXDEV).
    fn xdev_check_name(&self, depth: usize, dir: RawFd, name: &CStr) -> Result<(), Errno> {
        let Some(want) = self.xdev else { return Ok(()) };
        if depth < self.check_from {
            return Ok(());
        }
        if mount_id(dir, name)? != want {
            return Err(errno::EXDEV);
        }
        Ok(())
    }

    /// The virtual /proc/self is a symlink and what lies below it (`fd/N`, a followed
    /// `exe`) magic links: ELOOP under RESOLVE_NO_SYMLINKS or RESOLVE_NO_MAGICLINKS,
    /// EXDEV under RESOLVE_NO_XDEV (another mount) or a scope, as Linux's nd_jump_link.
    fn proc_self_allowed(&self, rest: &VecDeque<Vec<u8>>) -> Result<(), Errno> {
        if self.how & RESOLVE_NO_SYMLINKS != 0 {
            return Err(errno::ELOOP);
        }
        let magic = match rest.front().map(Vec::as_slice) {
            Some(b"fd") => true,
            Some(b"exe") => rest.len() > 1 || self.follow,
            _ => false,
        };
        if magic && self.how & RESOLVE_NO_MAGICLINKS != 0 {
            return Err(errno::ELOOP);
        }
        if magic && self.how & (RESOLVE_NO_XDEV | RESOLVE_BENEATH | RESOLVE_IN_ROOT) != 0 {
            return Err(errno::EXDEV);
        }
        Ok(())
    }

    /// Count one followed symlink: ELOOP past Linux's MAXSYMLINKS.
    fn count_link(&mut self) -> Result<(), Errno> {
        self.links += 1;
        if self.links > MAX_SYMLINKS {
            return Err(errno::ELOOP);
        }
        Ok(())
    }
}

/// How one walk of a resolution ended (a transient value, as `Resolved`).
#[allow(clippy::large_enum_variant)]
enum Step<'a> {
    /// The path's end.
    Found(Resolved<'a>),
    /// A symlink's target, with the rest of the path: a new absolute guest path.
    Restart(VecDeque<Vec<u8>>),
}

struct Level<'a> {
    name: Vec<u8>,
    fd: Option<DirRef<'a>>,
    mount: Option<usize>,
    host: PathBuf,
}

/// The end of a path that named a directory the walk holds (the root, a mount point,
/// `.`, `..`): the top of `stack`, as "." in itself.
fn held_dir(
    mut stack: Vec<Level<'_>>,
    trailing_slash: bool,
    sysroot_only: bool,
) -> Result<Resolved<'_>, Errno> {
    let guest = guest_of(&stack, None);
    let Some(Level {
        fd: Some(dir),
        mount: Some(mount),
        host,
        ..
    }) = stack.pop()
    else {
        return Err(errno::ENOENT);
    };
    let st = sys::fstat(dir.raw())?;
    Ok(Resolved::Host(HostPath {
        dir,
        name: CString::from(c"."),
        mount,
        guest,
        host,
        stat: Some(st),
        trailing_slash,
        sysroot_only,
    }))
}

/// A resolved host path: a parent directory fd and one final name in it.
#[derive(Debug)]
pub(crate) struct HostPath<'a> {
    /// The directory holding the final name.
    pub dir: DirRef<'a>,
    /// The final name (no slash), or "." when the path named `dir` itself.
    pub name: CString,
    /// The mount the final name lives in.
    pub mount: usize,
    /// Canonical guest path of the final name.
    pub guest: PathBuf,
    /// Host path of the final name (informational: never used to access it).
    #[allow(dead_code)]
    pub host: PathBuf,
    /// lstat of the final name, None if it does not exist.
    pub stat: Option<libc::stat>,
    /// The guest path ended in '/'.
    pub trailing_slash: bool,
    /// Every walk of the resolution was in the sysroot (read-only, never changed while
    /// the run lasts): the same guest path names the same file for every process for
    /// as long as the run lasts.
    pub sysroot_only: bool,
}

impl HostPath<'_> {
    /// The final name's file type bits (S_IFMT), 0 if it does not exist.
    pub(crate) fn kind(&self) -> u32 {
        self.stat.map_or(0, |s| s.st_mode & libc::S_IFMT)
    }

    /// The path named a directory itself (mount root, ".").
    pub(crate) fn is_self(&self) -> bool {
        self.name.as_bytes() == b"."
    }
}

/// What a guest path resolved to (a transient value: its size does not matter).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Resolved<'a> {
    /// A host file (existing or not).
    Host(HostPath<'a>),
    /// `/proc/self/exe` itself (only when not following).
    ProcExe,
    /// `/proc/self/fd/N`.
    ProcFd(i32),
    /// `/proc/self/status`, `maps` or `comm`, which the device writes and opens
    /// (kernel/sys/procfs.h): their permission bits (proc(5): 0444, comm 0644).
    ProcFile(u32),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Arc;

    /// A tempdir with a sandbox over it: `/` read-only and the tempdir read-write (as cwd).
    pub(crate) fn default_sandbox(dir: &Path) -> Arc<Sandbox> {
        Arc::new(
            Sandbox::new(SandboxConfig {
                mounts: vec![],
                cwd: dir.to_path_buf(),
                exe: "/bin/true".into(),
                hide: vec![],
                sysroot: None,
            })
            .unwrap(),
        )
    }

    fn host<'a>(r: Resolved<'a>) -> HostPath<'a> {
        match r {
            Resolved::Host(h) => h,
            other => panic!("not a host path: {other:?}"),
        }
    }

    /// `--lane-dir`'s directories: made below the working directory, an existing one
    /// reused, a symlink at any level refused by name and nothing made beyond it.
    #[test]
    fn lane_dirs_are_made_without_following_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().canonicalize().unwrap();
        let work = d.join("work");
        let outside = d.join("outside");
        std::fs::create_dir_all(&work).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        let sb = default_sandbox(&work);
        assert_eq!(
            sb.make_dir_below_cwd(Path::new("runs/0")).unwrap(),
            work.join("runs/0")
        );
        assert!(work.join("runs/0").is_dir());
        assert_eq!(
            sb.make_dir_below_cwd(Path::new("runs/0")).unwrap(),
            work.join("runs/0")
        );
        std::os::unix::fs::symlink(&outside, work.join("runs/1")).unwrap();
        let e = sb.make_dir_below_cwd(Path::new("runs/1/x")).unwrap_err();
        assert_eq!(e, "runs/1 is a symbolic link (not followed)");
        std::os::unix::fs::symlink("../outside", work.join("top")).unwrap();
        let e = sb.make_dir_below_cwd(Path::new("top/2")).unwrap_err();
        assert_eq!(e, "top is a symbolic link (not followed)");
        std::fs::write(work.join("file"), b"").unwrap();
        let e = sb.make_dir_below_cwd(Path::new("file/3")).unwrap_err();
        assert_eq!(e, "file is not a directory");
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    }

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
        assert_eq!(normalize(Path::new("/../..")), PathBuf::from("/"));
    }

    #[test]
    fn resolves_relative_and_dotdot() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().canonicalize().unwrap();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/f"), b"x").unwrap();
        let sb = default_sandbox(&d);
        let h = host(sb.resolve(&d, b"sub/../sub/./f", true).unwrap());
        assert_eq!(h.guest, d.join("sub/f"));
        assert!(sb.writable(h.mount));
        assert_eq!(h.kind(), libc::S_IFREG);
        // `..` out of the cwd mount lands in the read-only root mount.
        let h = host(sb.resolve(&d, b"..", true).unwrap());
        assert!(!sb.writable(h.mount));
        assert_eq!(h.guest, d.parent().unwrap());
        // `..` above / stays at /.
        let h = host(sb.resolve(&d, b"/../../etc/passwd", true).unwrap());
        assert_eq!(h.guest, PathBuf::from("/etc/passwd"));
        assert!(h.stat.is_some());
        // Missing intermediate vs missing final.
        assert_eq!(sb.resolve(&d, b"nope/x", true).unwrap_err(), errno::ENOENT);
        assert!(host(sb.resolve(&d, b"nope", true).unwrap()).stat.is_none());
        assert_eq!(
            sb.resolve(&d, b"sub/f/x", true).unwrap_err(),
            errno::ENOTDIR
        );
        assert_eq!(sb.resolve(&d, b"sub/f/", true).unwrap_err(), errno::ENOTDIR);
        assert_eq!(sb.resolve(&d, b"", true).unwrap_err(), errno::ENOENT);
        let long = vec![b'a'; 300];
        assert_eq!(
            sb.resolve(&d, &long, true).unwrap_err(),
            errno::ENAMETOOLONG
        );
        let long = vec![b'a'; 5000];
        assert_eq!(
            sb.resolve(&d, &long, true).unwrap_err(),
            errno::ENAMETOOLONG
        );
    }

    #[test]
    fn absolute_symlink_goes_through_mount_table() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().canonicalize().unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("pw")).unwrap();
        // Mount the tempdir at /data only (plus the root read-only).
        let sb = Sandbox::new_exact(SandboxConfig {
            mounts: vec![
                Mount {
                    host: "/".into(),
                    guest: "/".into(),
                    writable: false,
                },
                Mount {
                    host: d.clone(),
                    guest: "/data".into(),
                    writable: true,
                },
            ],
            cwd: "/".into(),
            exe: "/bin/true".into(),
            hide: vec![],
            sysroot: None,
        })
        .unwrap();
        let h = host(sb.resolve(Path::new("/"), b"/data/pw", true).unwrap());
        assert_eq!(h.guest, PathBuf::from("/etc/passwd"));
        assert!(!sb.writable(h.mount));
        // Not following: the link itself, in the writable mount.
        let h = host(sb.resolve(Path::new("/"), b"/data/pw", false).unwrap());
        assert_eq!(h.kind(), libc::S_IFLNK);
        assert!(sb.writable(h.mount));
    }

    #[test]
    fn symlinks_cannot_leave_a_mount_only_tree() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().canonicalize().unwrap();
        std::fs::create_dir(d.join("inner")).unwrap();
        std::fs::write(t.path().join("secret"), b"s").unwrap();
        std::fs::create_dir(d.join("m")).unwrap();
        let m = d.join("m");
        std::os::unix::fs::symlink("../../../../../../..", m.join("up")).unwrap();
        std::os::unix::fs::symlink("../secret", m.join("sec")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", m.join("abs")).unwrap();
        std::os::unix::fs::symlink("loop", m.join("loop")).unwrap();
        let sb = Sandbox::new_exact(SandboxConfig {
            mounts: vec![Mount {
                host: m.clone(),
                guest: "/data".into(),
                writable: true,
            }],
            cwd: "/data".into(),
            exe: "/bin/true".into(),
            hide: vec![],
            sysroot: None,
        })
        .unwrap();
        let base = Path::new("/data");
        // Leaves to the guest root, which has no mount: nothing there.
        assert_eq!(
            sb.resolve(base, b"up/etc/passwd", true).unwrap_err(),
            errno::ENOENT
        );
        assert_eq!(sb.resolve(base, b"up", true).unwrap_err(), errno::ENOENT);
        // The host file next to the mount root is never reached.
        assert_eq!(sb.resolve(base, b"sec", true).unwrap_err(), errno::ENOENT);
        assert_eq!(sb.resolve(base, b"abs", true).unwrap_err(), errno::ENOENT);
        assert_eq!(
            sb.resolve(base, b"/etc/passwd", true).unwrap_err(),
            errno::ENOENT
        );
        assert_eq!(
            sb.resolve(base, b"../../secret", true).unwrap_err(),
            errno::ENOENT
        );
        assert_eq!(sb.resolve(base, b"loop", true).unwrap_err(), errno::ELOOP);
        // The way to the mount point exists, and the mount root resolves.
        let h = host(sb.resolve(base, b"../data/./", true).unwrap());
        assert!(h.is_self());
        assert_eq!(h.guest, PathBuf::from("/data"));
    }

    #[test]
    fn proc_is_hidden() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().canonicalize().unwrap();
        let sb = default_sandbox(&d);
        let r = |p: &[u8], f| sb.resolve(&d, p, f);
        assert_eq!(r(b"/proc/1/environ", true).unwrap_err(), errno::ENOENT);
        assert_eq!(r(b"/proc/self/environ", true).unwrap_err(), errno::ENOENT);
        assert_eq!(r(b"/proc/self/root/etc", true).unwrap_err(), errno::ENOENT);
        assert!(matches!(
            r(b"/proc/self/exe", false).unwrap(),
            Resolved::ProcExe
        ));
        assert!(matches!(
            r(b"/proc/self/fd/7", false).unwrap(),
            Resolved::ProcFd(7)
        ));
        assert!(matches!(
            r(b"/proc/thread-self/fd/3", false).unwrap(),
            Resolved::ProcFd(3)
        ));
        // The files the device writes, with proc(5)'s modes; nothing below them.
        assert!(matches!(
            r(b"/proc/self/status", true).unwrap(),
            Resolved::ProcFile(0o444)
        ));
        assert!(matches!(
            r(b"/proc/self/comm", true).unwrap(),
            Resolved::ProcFile(0o644)
        ));
        assert!(matches!(
            r(b"/proc/self/stat", true).unwrap(),
            Resolved::ProcFile(0o444)
        ));
        assert_eq!(r(b"/proc/self/maps/x", true).unwrap_err(), errno::ENOTDIR);
        assert!(matches!(
            r(b"/dev/stdout", true).unwrap(),
            Resolved::ProcFd(1)
        ));
        let h = host(r(b"/proc/self/exe", true).unwrap());
        assert_eq!(
            h.guest,
            PathBuf::from("/bin/true")
                .canonicalize()
                .unwrap_or(h.guest.clone())
        );
        if Path::new("/proc/cpuinfo").exists() {
            assert!(host(r(b"/proc/cpuinfo", true).unwrap()).stat.is_some());
        }
    }

    #[test]
    fn bad_mounts_are_errors() {
        let cfg = |host: &str, guest: &str| SandboxConfig {
            mounts: vec![Mount {
                host: host.into(),
                guest: guest.into(),
                writable: false,
            }],
            cwd: "/".into(),
            exe: "/bin/true".into(),
            hide: vec![],
            sysroot: None,
        };
        assert!(matches!(
            Sandbox::new(cfg("/nonexistent-xyz", "/x")),
            Err(HostError::Mount { .. })
        ));
        assert!(matches!(
            Sandbox::new(cfg("/etc/passwd", "/x")),
            Err(HostError::NotADirectory(_))
        ));
        assert!(matches!(
            Sandbox::new(cfg("/etc", "rel")),
            Err(HostError::GuestNotAbsolute(_))
        ));
        let mut c = cfg("/etc", "/x");
        c.cwd = "rel".into();
        assert!(matches!(Sandbox::new(c), Err(HostError::CwdNotAbsolute(_))));
        for (dir, e) in [
            ("/nonexistent-xyz", libc::ENOENT),
            ("/etc/passwd", libc::ENOTDIR),
        ] {
            let mut c = cfg("/etc", "/x");
            c.sysroot = Some(dir.into());
            match Sandbox::new(c) {
                Err(HostError::Sysroot { source, .. }) => {
                    assert_eq!(source.raw_os_error(), Some(e), "{dir}")
                }
                other => panic!("{dir}: {other:?}"),
            }
        }
    }

    /// A sysroot: absolute paths find its entries first, read-only; what it lacks is
    /// the host's; a relative path is not redirected; its symlinks name guest paths
    /// (an absolute target is looked up sysroot-first again, `..` stops at its root),
    /// so none reaches the host directory beside it.
    #[test]
    fn sysroot_entries_come_first_and_stay_inside() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().canonicalize().unwrap();
        let sr = d.join("sysroot");
        std::fs::create_dir_all(sr.join("etc")).unwrap();
        std::fs::create_dir(d.join("work")).unwrap();
        std::fs::write(sr.join("etc/probe"), b"in").unwrap();
        std::fs::write(d.join("beside"), b"host").unwrap();
        std::os::unix::fs::symlink("/etc/probe", sr.join("etc/abs")).unwrap();
        std::os::unix::fs::symlink("../../../../../../beside", sr.join("etc/up")).unwrap();
        let beside = format!("/..{}", d.join("beside").display());
        std::os::unix::fs::symlink(&beside, sr.join("etc/up-abs")).unwrap();
        let sb = Sandbox::new(SandboxConfig {
            mounts: vec![],
            cwd: d.join("work"),
            exe: "/bin/true".into(),
            hide: vec![],
            sysroot: Some(sr.clone()),
        })
        .unwrap();
        let work = d.join("work");
        for p in [&b"/etc/probe"[..], b"/etc/abs", b"/etc/./abs"] {
            let h = host(sb.resolve(&work, p, true).unwrap());
            assert_eq!(h.guest, PathBuf::from("/etc/probe"), "{p:?}");
            assert_eq!(h.kind(), libc::S_IFREG);
            assert!(!sb.writable(h.mount));
        }
        // Not following: the link itself, in the sysroot.
        let h = host(sb.resolve(&work, b"/etc/abs", false).unwrap());
        assert_eq!(h.kind(), libc::S_IFLNK);
        // `..` stops at the guest root: /beside is in neither.
        let h = host(sb.resolve(&work, b"/etc/up", true).unwrap());
        assert_eq!(h.guest, PathBuf::from("/beside"));
        assert!(h.stat.is_none());
        // An absolute target is a guest path: the host file, found through the mounts.
        let h = host(sb.resolve(&work, b"/etc/up-abs", true).unwrap());
        assert_eq!(h.guest, d.join("beside"));
        // Missing from the sysroot: the host's (here /etc/passwd, a new name in the
        // writable working directory).
        let h = host(sb.resolve(&work, b"/etc/passwd", true).unwrap());
        assert!(h.stat.is_some());
        assert_eq!(h.host, PathBuf::from("/etc/passwd"));
        let new = work.join("new");
        let h = host(sb.resolve(&work, new.as_os_str().as_bytes(), true).unwrap());
        assert!(h.stat.is_none() && sb.writable(h.mount));
        // The root is the sysroot's; a relative path is not redirected.
        let h = host(sb.resolve(&work, b"/", true).unwrap());
        assert_eq!(h.host, sr);
        let r = sb.resolve(Path::new("/"), b"etc/probe", true).unwrap();
        assert!(host(r).stat.is_none());
    }
}
