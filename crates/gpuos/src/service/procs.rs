//! The host side of the process model: one [`ProcHost`] per process slot (a lane's
//! first process, or a forked child in the shared pool; kernel/proc/family.h), and the
//! host halves of the process calls (WHERE `proc` in kernel/sys/syscalls.table,
//! [`ProcCalls`]): clone (copy the fd table into the child's slot), execve (check the
//! file, close close-on-exec fds, build the new initial stack as the loader does),
//! ppoll and pselect6 (over the process's fds), and the notice that a process ended (close its fds,
//! so that pipe readers see EOF).

use super::policy::FdWaits;
use super::{trace, ProcCalls, Request};
use crate::abi::NOTE_PIPE;
use crate::host::errno::Errno;
use crate::host::{errno, ExecAt, Outcome, ProcHost, Sink, Source};
use crate::loader;
use crate::machine::{RunConfig, RunError};
use crate::prepare::Prepared;
use crate::tables;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Every process slot's host state.
pub struct Procs<'a> {
    hosts: Vec<Mutex<Option<ProcHost>>>,
    lanes: usize,
    cfg: &'a RunConfig,
    prep: &'a Prepared,
    /// Host device and inode of the run's program: execve of it re-executes the image.
    exe: Option<(u64, u64)>,
    /// The requests held for host descriptors: their progress (`policy`).
    fd_waits: FdWaits,
    /// The calls served (`SYSREQ_CALL` requests, each attempt of one the device runs
    /// again counted), by position in `tables::SYSCALLS`; the last entry counts numbers
    /// the table lacks. `-v` reports them ([`Procs::report_calls`]).
    calls: Vec<AtomicU64>,
}

impl<'a> Procs<'a> {
    /// Slots for `lanes` lanes' first processes and `children` children; no host state
    /// yet (see [`Procs::start_lane`]).
    pub fn new(cfg: &'a RunConfig, prep: &'a Prepared, lanes: usize, children: usize) -> Procs<'a> {
        let exe = std::fs::metadata(&prep.exec.program.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        Procs {
            hosts: (0..lanes + children).map(|_| Mutex::new(None)).collect(),
            lanes,
            cfg,
            prep,
            exe,
            fd_waits: FdWaits::default(),
            calls: (0..=tables::SYSCALLS.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }

    /// Count one call of syscall `nr` served ([`Procs::report_calls`]).
    pub(crate) fn count_call(&self, nr: u64) {
        let i = tables::syscall_index(nr).unwrap_or(tables::SYSCALLS.len());
        self.calls[i].fetch_add(1, Ordering::Relaxed);
    }

    /// `-v`'s line: the host calls served, by syscall, the most frequent first (up to
    /// 12), so that what still crosses to the host shows by name.
    pub fn report_calls(&self) {
        let mut v: Vec<(u64, &str)> = self
            .calls
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let name = tables::SYSCALLS.get(i).map_or("unknown", |s| s.name);
                (n.load(Ordering::Relaxed), name)
            })
            .filter(|&(n, _)| n > 0)
            .collect();
        if v.is_empty() {
            return;
        }
        v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let list: Vec<String> = v.iter().take(12).map(|(n, s)| format!("{s} {n}")).collect();
        eprintln!("gpuos: host calls by syscall: {}", list.join(", "));
    }

    /// The progress of requests held for host descriptors, shared by the threads
    /// serving this run ([`super::policy::Held::release`]).
    pub fn fd_waits(&self) -> &FdWaits {
        &self.fd_waits
    }

    pub(super) fn host(&self, slot: usize) -> Option<MutexGuard<'_, Option<ProcHost>>> {
        self.hosts
            .get(slot)
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// fork(2)'s host part: the host state of process slot `child` becomes a fork of
    /// `parent`'s (fds sharing their open file descriptions, the working directory,
    /// umask, stdio), for the child's `pid`. Errors: EINVAL when `child` is `parent`, or
    /// either slot is out of range, or `parent` has no host state (both the device's
    /// bugs, never a guest's).
    pub(super) fn fork_host(&self, parent: usize, child: usize, pid: u32) -> Result<(), Errno> {
        if child == parent || child >= self.hosts.len() {
            return Err(errno::EINVAL);
        }
        let mut forked = match self.host(parent).as_deref() {
            Some(Some(h)) => h.fork(),
            _ => return Err(errno::EINVAL),
        };
        forked.pid = pid;
        let Some(mut g) = self.host(child) else {
            return Err(errno::EINVAL);
        };
        // A previous occupant still here would be one whose end the host has not seen,
        // which the device's deferred slot frees rule out (kernel/proc/family.h
        // `slot_free`); should one be, its end is done now, before the slot changes hands.
        if let Some(old) = g.as_mut() {
            old.close_all();
        }
        *g = Some(forked);
        Ok(())
    }

    /// Create lane `lane`'s first process's host state (its stdio per the run's
    /// configuration).
    pub fn start_lane(&self, lane: usize) -> Result<(), RunError> {
        let h = self.prep.proc_host(self.cfg, lane)?;
        if let Some(mut g) = self.host(lane) {
            *g = Some(h);
        }
        Ok(())
    }

    /// Take lane `lane`'s first process's host state out (when the lane has ended).
    pub fn take_lane(&self, lane: usize) -> Option<ProcHost> {
        self.host(lane).and_then(|mut g| g.take())
    }

    /// Every lane's first process's host state, in lane order (after the run; one
    /// never started gets an empty one).
    pub fn into_lanes(self) -> Vec<ProcHost> {
        let lanes = self.lanes;
        let sb = self.prep.sandbox.clone();
        self.hosts
            .into_iter()
            .take(lanes)
            .map(|m| {
                m.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .unwrap_or_else(|| {
                        ProcHost::new(
                            sb.clone(),
                            Source::Null,
                            Sink::Stream(Box::default()),
                            Sink::Stream(Box::default()),
                        )
                    })
            })
            .collect()
    }

    /// The end of process `pid` in `slot`, noted by the device (`SysReq::notes`): as
    /// [`Procs::end`] while the slot still holds that process. The device keeps a slot
    /// out of the shared pool until the notes naming it are applied (kernel/proc/
    /// family.h `slot_free`), so another lane's process is never there; the pid check
    /// guards that rule (a lane's first process is not checked: its slot is its own).
    pub(super) fn end_noted(&self, slot: usize, pid: u32) {
        let Some(mut g) = self.host(slot) else { return };
        // Checked and ended under one lock: another lane's fork may be about to take it.
        if slot < self.lanes || g.as_ref().is_some_and(|h| h.pid == pid) {
            self.end_locked(slot, &mut g);
        }
    }

    /// A close(2) the device answered (`NOTE_CLOSE`): fd of the process in `slot` goes,
    /// if the slot still holds that process (as [`Procs::end_noted`] checks). The call
    /// cannot fail: the device answers it only for a descriptor it holds open.
    pub(super) fn close_noted(&self, slot: usize, pid: u32, fd: i32) {
        let Some(mut g) = self.host(slot) else { return };
        if let Some(h) = g.as_mut().filter(|h| slot < self.lanes || h.pid == pid) {
            let _ = h.sys_close(fd);
        }
    }

    /// An openat(2) the device answered (`NOTE_OPEN`, first word `note`): the process
    /// in `slot` (if the slot still holds it) gets the description at the fd the device
    /// gave (host/noted.rs). A failure is gpuos's bug (the device answers only for a
    /// path whose open lasts, at a number the host said was free): reported, once.
    pub(super) fn open_noted(&self, slot: usize, pid: u32, note: u64) {
        let Some(mut g) = self.host(slot) else { return };
        if let Some(h) = g.as_mut().filter(|h| slot < self.lanes || h.pid == pid) {
            let (fd, flags, token) = (
                note as u8 as i32,
                (note >> 8) as u32 & 0xff_ffff,
                (note >> 32) as u32 & 0x3fff_ffff,
            );
            if let Err(e) = h.open_noted(fd, flags, token) {
                static ONCE: std::sync::Once = std::sync::Once::new();
                ONCE.call_once(|| {
                    eprintln!(
                        "gpuos: internal: a noted open (fd {fd}, token {token}) failed: {e:?}"
                    )
                });
            }
        }
    }

    /// A pipe2(2) or a dup of a pipe's fd the device answered (`NOTE_PIPE`, `NOTE_DUP`,
    /// first word `note`; kernel/sys/dpipe.h), for the process in `slot` if the slot
    /// still holds it. A failure is gpuos's bug: reported, once.
    pub(super) fn fd_noted(&self, slot: usize, pid: u32, note: u64) {
        let Some(mut g) = self.host(slot) else { return };
        if let Some(h) = g.as_mut().filter(|h| slot < self.lanes || h.pid == pid) {
            let r = if note & NOTE_PIPE == NOTE_PIPE {
                h.pipe_noted(note)
            } else {
                h.dup_noted(note)
            };
            if let Err(e) = r {
                static ONCE: std::sync::Once = std::sync::Once::new();
                ONCE.call_once(|| {
                    eprintln!("gpuos: internal: a noted pipe or dup ({note:#x}) failed: {e:?}")
                });
            }
        }
    }

    /// The descriptors 0-31 the process in `slot` holds (`SysReq::fd_low`); 0 when the
    /// slot has no host state.
    pub(super) fn fd_low(&self, slot: usize) -> u32 {
        self.host(slot)
            .and_then(|g| g.as_ref().map(|h| h.fd_low()))
            .unwrap_or(0)
    }

    /// A process ended: close its fds (its descriptions close with their last fd,
    /// anywhere); a child's host state goes (a lane's first keeps its captured output).
    pub(super) fn end(&self, slot: usize) {
        if let Some(mut g) = self.host(slot) {
            self.end_locked(slot, &mut g);
        }
    }

    /// [`Procs::end`] with the slot's lock held (`g`).
    fn end_locked(&self, slot: usize, g: &mut Option<ProcHost>) {
        if let Some(h) = g.as_mut() {
            h.close_all();
        }
        if slot >= self.lanes {
            *g = None;
        }
    }

    /// The process in `slot` gets `f` applied to its host state; ENOSYS when the slot
    /// has none.
    pub(super) fn with_host(
        &self,
        slot: usize,
        f: impl FnOnce(&mut ProcHost) -> Outcome,
    ) -> Outcome {
        match self.host(slot).as_deref_mut() {
            Some(Some(h)) => f(h),
            _ => errno::ENOSYS.into(),
        }
    }

    /// execve's new initial stack for `r`'s process, in `r.out`; its length.
    fn exec_stack(
        &self,
        r: &mut Request<'_>,
        at: ExecAt,
        path: &[u8],
        argv: &[Vec<u8>],
        envp: &[Vec<u8>],
    ) -> Outcome {
        let exe = self.exe;
        let prep = self.prep;
        let out = &mut *r.out;
        let os = |v: &[Vec<u8>]| -> Vec<OsString> {
            v.iter().map(|s| OsString::from_vec(s.clone())).collect()
        };
        self.with_host(r.slot, |h| {
            let run = match h.exec_resolve_at(at, path, argv) {
                Ok(r) => r,
                Err(e) => return e.into(),
            };
            let (argv, envp) = (os(&run.argv), os(envp));
            // AT_EXECFN: the name execve(2) was given (execveat's /dev/fd/N...).
            let execfn = at.filename(path);
            if Some(run.id) != exe {
                // Another program: its load plan, mapped by the device (X0 = 1).
                return match h.exec_plan(run.at, &run.file, &argv, &envp, &execfn, out) {
                    Ok(n) => {
                        h.close_on_exec();
                        h.set_exe(Some(&run.file));
                        (1, n).into()
                    }
                    Err(e) => e.into(),
                };
            }
            let mut random = [0u8; 16];
            let _ = getrandom::getrandom(&mut random);
            let st = loader::build_stack(&prep.exec, &argv, &envp, &execfn, random);
            // E2BIG: the new stack does not fit the request buffer.
            let Some(dst) = out.get_mut(..st.bytes.len()) else {
                return errno::E2BIG.into();
            };
            dst.copy_from_slice(&st.bytes);
            h.close_on_exec();
            h.set_exe(None);
            (0, st.bytes.len()).into()
        })
    }
}

impl ProcCalls for Procs<'_> {
    /// clone: the child's host state, a fork of the parent's, in the child's slot
    /// (args[5]: slot | pid << 32). Returns the child's pid; EINVAL for a slot that
    /// is not a child's.
    fn clone(&self, r: &mut Request<'_>) -> Outcome {
        let child = (r.args[5] & 0xffff_ffff) as usize;
        let pid = (r.args[5] >> 32) as u32;
        match self.fork_host(r.slot, child, pid) {
            Ok(()) => (pid as i64, 0).into(),
            Err(e) => e.into(),
        }
    }

    /// execve: the input holds the path, then args[3] argv and args[4] envp strings,
    /// each NUL-terminated (kernel/sys/process.h). Executes only the run's own image:
    /// the new initial stack goes back in the output area.
    fn execve(&self, r: &mut Request<'_>) -> Outcome {
        let mut parts = r.input.split(|&b| b == 0);
        let path = parts.next().unwrap_or(&[]).to_vec();
        let argc = r.args[3] as usize;
        let envc = r.args[4] as usize;
        let strs: Vec<Vec<u8>> = parts.take(argc + envc).map(|s| s.to_vec()).collect();
        r.trace_args = Some(trace::execve_args(&path, &strs[..argc.min(strs.len())]));
        if strs.len() < argc + envc {
            return errno::EINVAL.into();
        }
        self.exec_stack(r, ExecAt::CWD, &path, &strs[..argc], &strs[argc..])
    }

    /// execveat: as execve, with args[0] the directory fd and args[5] the flags
    /// (AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW; others: EINVAL; an empty path without
    /// AT_EMPTY_PATH: ENOENT, which Linux finds first), kernel/sys/process.h.
    fn execveat(&self, r: &mut Request<'_>) -> Outcome {
        const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
        const AT_EMPTY_PATH: u64 = 0x1000;
        let mut parts = r.input.split(|&b| b == 0);
        let path = parts.next().unwrap_or(&[]).to_vec();
        let argc = r.args[3] as usize;
        let envc = r.args[4] as usize;
        let flags = r.args[5];
        let strs: Vec<Vec<u8>> = parts.take(argc + envc).map(|s| s.to_vec()).collect();
        r.trace_args = Some(trace::execve_args(&path, &strs[..argc.min(strs.len())]));
        if strs.len() < argc + envc {
            return errno::EINVAL.into();
        }
        if path.is_empty() && flags & AT_EMPTY_PATH == 0 {
            return errno::ENOENT.into();
        }
        if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
            return errno::EINVAL.into();
        }
        let at = ExecAt {
            dirfd: r.args[0] as i32,
            nofollow: flags & AT_SYMLINK_NOFOLLOW != 0,
            empty_path: flags & AT_EMPTY_PATH != 0,
        };
        self.exec_stack(r, at, &path, &strs[..argc], &strs[argc..])
    }

    /// ppoll: the input is the pollfd array, args[5] the timeout (kernel/sys/poll.h).
    fn ppoll(&self, r: &mut Request<'_>) -> Outcome {
        let (input, timeout, out) = (r.input, r.args[5], &mut *r.out);
        self.with_host(r.slot, |h| h.ppoll(input, timeout, out))
    }

    /// epoll_pwait: args[0] the epoll fd, args[2] the most events (lowered by the device
    /// to what the output area holds), args[5] the timeout as ppoll's (kernel/sys/poll.h).
    fn epoll_pwait(&self, r: &mut Request<'_>) -> Outcome {
        let (epfd, max, timeout, out) =
            (r.args[0] as i32, r.args[2] as usize, r.args[5], &mut *r.out);
        self.with_host(r.slot, |h| h.epoll_wait(epfd, max, timeout, out))
    }

    /// epoll_pwait2: as epoll_pwait (the device made its timespec a timeout).
    fn epoll_pwait2(&self, r: &mut Request<'_>) -> Outcome {
        self.epoll_pwait(r)
    }

    /// pselect6: served as ppoll; the device made the sets a pollfd array and makes the
    /// answer sets again (kernel/sys/poll.h).
    fn pselect6(&self, r: &mut Request<'_>) -> Outcome {
        self.ppoll(r)
    }
}
