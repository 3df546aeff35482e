//! The host side of the process model: one [`ProcHost`] per process slot (a lane's
//! first process, or a forked child in the shared pool; kernel/proc/family.h), and the
//! host parts of the process syscalls the device posts: clone (copy the fd table into
//! the child's slot), execve (check the file, close close-on-exec fds, build the new
//! initial stack as the loader does) and the notice that a process ended (close its
//! fds, so that pipe readers see EOF).

use crate::abi::{SysReq, SYSREQ_CALL, SYSREQ_EXIT, SYSRET_RETRY};
use crate::host::{ExecTarget, ProcHost, Sink, Source};
use crate::loader;
use crate::machine::{RunConfig, RunError};
use crate::prepare::Prepared;
use crate::service;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::sync::{Mutex, MutexGuard};

/// clone(2) (AArch64 number).
const NR_CLONE: u64 = 220;
/// execve(2).
const NR_EXECVE: u64 = 221;
/// ppoll(2).
const NR_PPOLL: u64 = 73;
/// ENOSYS, for an execve of an AArch64 program other than the run's image.
const ENOSYS: i64 = -38;
/// ENOEXEC: not a format gpuos executes (as Linux for an unknown format).
const ENOEXEC: i64 = -8;
/// E2BIG: the new stack does not fit the request buffer.
const E2BIG: i64 = -7;

/// Child slots when `RunConfig::child_slots` is 0: 32 per lane, at least 1024, at most
/// 65536, but never fewer than 4 per lane (up to 2^20 slots), so that every copy of a
/// shell can run a pipeline in a command substitution (three children at once) at
/// 100,000 lanes. A Proc is about 3.5 KiB of device memory: 1.4 GiB at 100,000 lanes.
pub fn default_child_slots(lanes: usize) -> usize {
    let per_lane_floor = lanes.saturating_mul(4).min(1 << 20);
    (lanes.saturating_mul(32))
        .clamp(1024, 65536)
        .max(per_lane_floor)
}

/// Every process slot's host state.
pub struct Procs<'a> {
    hosts: Vec<Mutex<Option<ProcHost>>>,
    lanes: usize,
    cfg: &'a RunConfig,
    prep: &'a Prepared,
    /// Host device and inode of the run's program: execve of it re-executes the image.
    exe: Option<(u64, u64)>,
}

impl<'a> Procs<'a> {
    /// Slots for `lanes` lanes' first processes and `children` children; no host state
    /// yet (see [`Procs::start_lane`]).
    pub fn new(cfg: &'a RunConfig, prep: &'a Prepared, lanes: usize, children: usize) -> Procs<'a> {
        let exe = std::fs::metadata(&prep.image.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        Procs {
            hosts: (0..lanes + children).map(|_| Mutex::new(None)).collect(),
            lanes,
            cfg,
            prep,
            exe,
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.hosts.len()
    }

    fn host(&self, slot: usize) -> Option<MutexGuard<'_, Option<ProcHost>>> {
        self.hosts
            .get(slot)
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
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

    /// Serve the request `req` (input and output in `buf`) of the slot it names;
    /// `defer` and the result as for [`service::serve`].
    pub fn serve(
        &self,
        req: &mut SysReq,
        buf: &mut [u8],
        strace: bool,
        defer: bool,
    ) -> service::Served {
        let slot = req.slot as usize;
        if req.flags & SYSREQ_EXIT != 0 {
            self.end(slot);
            req.ret = 0;
            req.out_len = 0;
            return service::Served::Done;
        }
        if req.flags & SYSREQ_CALL != 0 && req.nr == NR_CLONE {
            req.ret = self.fork(slot, req.args[5]);
            req.out_len = 0;
            if strace {
                service::trace(req, &[&[]; 6]);
            }
            return service::Served::Done;
        }
        if req.flags & SYSREQ_CALL != 0 && req.nr == NR_EXECVE {
            self.execve(req, buf, strace);
            return service::Served::Done;
        }
        if req.flags & SYSREQ_CALL != 0 && req.nr == NR_PPOLL {
            self.ppoll(req, buf, strace);
            return service::Served::Done;
        }
        if let Some(mut g) = self.host(slot) {
            if let Some(h) = g.as_mut() {
                return service::serve(req, buf, h, strace, defer);
            }
        }
        req.ret = ENOSYS;
        service::Served::Done
    }

    /// ppoll: the input is the pollfd array, args[5] the timeout (kernel/sys/poll.h).
    fn ppoll(&self, req: &mut SysReq, buf: &mut [u8], strace: bool) {
        let in_len = (req.in_len as usize).min(buf.len());
        let off = (req.out_off as usize).clamp(in_len, buf.len());
        let cap = (req.out_cap as usize).min(buf.len() - off);
        let (input, rest) = buf.split_at_mut(off);
        let (ret, n) = match self.host(req.slot as usize).as_deref_mut() {
            Some(Some(h)) => h.ppoll(&input[..in_len], req.args[5], &mut rest[..cap]),
            _ => (ENOSYS, 0),
        };
        req.ret = ret;
        req.out_len = n as u32;
        if strace && ret != SYSRET_RETRY {
            service::trace(req, &[&[]; 6]);
        }
    }

    /// A process ended: close its fds (its descriptions close with their last fd,
    /// anywhere); a child's host state goes (a lane's first keeps its captured output).
    fn end(&self, slot: usize) {
        let Some(mut g) = self.host(slot) else { return };
        if let Some(h) = g.as_mut() {
            h.close_all();
        }
        if slot >= self.lanes {
            *g = None;
        }
    }

    /// clone: the child's host state, a fork of the parent's, in the child's slot
    /// (`arg`: slot | pid << 32). Returns the child's pid.
    fn fork(&self, parent: usize, arg: u64) -> i64 {
        let child = (arg & 0xffff_ffff) as usize;
        let pid = (arg >> 32) as i64;
        if child == parent || child >= self.hosts.len() {
            return -22;
        }
        let forked = match self.host(parent).as_deref() {
            Some(Some(h)) => h.fork(),
            _ => return -22,
        };
        match self.host(child) {
            Some(mut g) => *g = Some(forked),
            None => return -22,
        }
        pid
    }

    /// execve: the input holds the path, then args[3] argv and args[4] envp strings,
    /// each NUL-terminated (kernel/sys/process.h). Executes only the run's own image.
    fn execve(&self, req: &mut SysReq, buf: &mut [u8], strace: bool) {
        let in_len = (req.in_len as usize).min(buf.len());
        let mut parts = buf[..in_len].split(|&b| b == 0);
        let path = parts.next().unwrap_or(&[]).to_vec();
        let argc = req.args[3] as usize;
        let envc = req.args[4] as usize;
        let strs: Vec<Vec<u8>> = parts.take(argc + envc).map(|s| s.to_vec()).collect();
        let (ret, out_len) = if strs.len() < argc + envc {
            (-22, 0)
        } else {
            self.exec_stack(
                req.slot as usize,
                &path,
                &strs[..argc],
                &strs[argc..],
                req,
                buf,
            )
        };
        req.ret = ret;
        req.out_len = out_len as u32;
        if strace {
            let args: Vec<&[u8]> = strs[..argc.min(strs.len())]
                .iter()
                .map(|s| &s[..])
                .collect();
            service::trace_execve(req, &path, &args);
        }
    }

    fn exec_stack(
        &self,
        slot: usize,
        path: &[u8],
        argv: &[Vec<u8>],
        envp: &[Vec<u8>],
        req: &SysReq,
        buf: &mut [u8],
    ) -> (i64, usize) {
        let Some(mut g) = self.host(slot) else {
            return (ENOSYS, 0);
        };
        let Some(h) = g.as_mut() else {
            return (ENOSYS, 0);
        };
        match h.exec_target(path) {
            Err(e) => return (e, 0),
            Ok(ExecTarget::Foreign) => return (ENOEXEC, 0),
            Ok(ExecTarget::Aarch64 { dev, ino }) if Some((dev, ino)) != self.exe => {
                return (ENOSYS, 0)
            }
            Ok(_) => {}
        }
        let os = |v: &[Vec<u8>]| -> Vec<OsString> {
            v.iter().map(|s| OsString::from_vec(s.clone())).collect()
        };
        let mut random = [0u8; 16];
        let _ = getrandom::getrandom(&mut random);
        let st = loader::build_stack(&self.prep.image, &os(argv), &os(envp), path, random);
        let off = (req.out_off as usize).min(buf.len());
        let cap = (req.out_cap as usize).min(buf.len() - off);
        if st.bytes.len() > cap {
            return (E2BIG, 0);
        }
        buf[off..off + st.bytes.len()].copy_from_slice(&st.bytes);
        h.close_on_exec();
        (0, st.bytes.len())
    }
}
