//! Types shared by the host and the execution core (kernel/).
//!
//! Every type here is `#[repr(C)]`; `build.rs` runs cbindgen over this file to produce
//! `gpuos_abi.h`, which the C++ core includes. Pointers that the device dereferences are
//! carried as `u64` so that the layout is the same for host and device.
//!
//! Every constant here reaches the core through the generated header; the host itself
//! reads only some of them, hence no dead-code warnings.
#![allow(dead_code)]

/// Size of a guest page and of a frame, in bytes (Linux AArch64 with 4 KiB granule).
pub const PAGE_SIZE: u64 = 4096;
/// Free-frame lists (`MachineHdr::free_heads`); a power of two. Lane n frees into and
/// allocates from list n mod FREE_SHARDS first, so the lanes of a warp (and of the GPU)
/// spread over many list heads instead of contending for one.
pub const FREE_SHARDS: u64 = 256;
/// Frames of one interleaved group (kernel/mm/mm.h, "interleaved frames"): a warp's
/// lanes. Column k of a group is frame `first + k`, whose bytes lie in 8-byte words
/// every `IL_GROUP * 8` bytes of the group's memory, so that the same guest address of
/// the warp's 32 lanes falls in neighbouring words.
pub const IL_GROUP: u64 = 32;
/// Placement hints per warp (`MachineHdr::il_slots`): the group a warp's lanes last
/// put a given guest page in.
pub const IL_SLOTS: u64 = 64;
/// Free child-slot lists (kernel/proc/family.h); a power of two. As with the frames,
/// lane n frees into and takes from list n mod SLOT_SHARDS first: one list for the whole
/// GPU held every spawn and every end to one compare-and-swap at a time.
pub const SLOT_SHARDS: u64 = 256;
/// Words (`u64`) before the cells of each shard of the run queue (`MachineHdr::runq`):
/// the shard's tail at word 0 and its head at word 8, each on a 64-byte line of its own.
pub const RUNQ_SHARD_HDR: u64 = 16;
/// Most shards of the run queue. The shards are `MachineHdr::runq_shards`.
pub const RUNQ_MAX_SHARDS: u64 = 64;

/// Stages of a spawn timed by the -DGPUOS_SPAWN_SPLIT core (`MachineHdr::spawn_stage_ns`).
pub const SPAWN_STAGES: usize = 8;

/// Heads in `MachineHdr::free_heads`: `FREE_SHARDS` lists of contiguous frames, then
/// one list of free interleaved frames per column, then `SLOT_SHARDS` lists of free
/// child slots.
pub const FREE_HEADS: u64 = FREE_SHARDS + IL_GROUP + SLOT_SHARDS;

/// POSIX timers per process (timer_create(2) answers EAGAIN past them, as Linux at its
/// RLIMIT_SIGPENDING).
pub const PTIMERS: usize = 4;

/// Read-only files whose reads a process serves on the device (kernel/sys/devread.h):
/// descriptors at once; a file opened while every slot is taken is read through the
/// host as before.
pub const DEVREAD_SLOTS: usize = 4;

/// The longest program path `MachineHdr::exe_path` holds, in bytes and in its u64s.
pub const EXE_PATH_MAX: usize = 256;
pub const EXE_PATH_WORDS: usize = 32;
const _: () = assert!(EXE_PATH_WORDS * 8 == EXE_PATH_MAX);

/// Descriptors of pipes in device memory a process holds at once (kernel/sys/dpipe.h);
/// a dup past them hands the pipe to the host.
pub const DPIPE_FDS: usize = 16;

/// What the host answers an openat(2) of a read-only file of the sysroot with, in the
/// request's output area, marked `OUT_LASTING` (kernel/sys/devread.h): the file
/// version's identity (host/mapfile.rs, low 32 bits) with the path's open token (high 32
/// bits: what a later `NOTE_OPEN` of the same path names; 0: none), its size (u64 each,
/// little endian), then its struct stat (128 bytes, the arm64 layout).
pub const DEVREAD_RECORD_BYTES: usize = 16 + 128;

/// One descriptor whose reads the device serves from the page cache (kernel/sys/devread.h);
/// all zero when free.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct DevRead {
    /// The guest's descriptor + 1; 0: the slot is free.
    pub fd: u64,
    /// The file version's identity (host/mapfile.rs): its pages' page-cache key.
    pub file: u64,
    /// The file's size in bytes (a version's size never changes).
    pub size: u64,
    /// The description's file offset (bytes), kept here while the device serves it.
    pub off: u64,
    /// The offset the host's description has (0 at the open): the device tells the host
    /// its own (`gpuos_fd_seek`) before a host call names the descriptor.
    pub host_off: u64,
    /// Non-zero for a directory: its getdents64 (from its listing, `size` bytes of the
    /// host's records; none when 0), fstat and isatty are served on the device, its
    /// reads and seeks are the host's.
    pub dir: u64,
    /// A directory's position in the host's terms: the d_off of the last record the
    /// device gave (0 at the start), handed back with `gpuos_fd_seek`.
    pub pos: u64,
}

/// One POSIX timer of a process (timer_create(2), timer_settime(2)); all zero when the
/// id is free.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PTimer {
    /// When it next expires, on the device clock (ns); 0 when disarmed.
    pub at: u64,
    /// it_interval (ns); 0 for a one-shot timer.
    pub interval: u64,
    /// sigev_value, handed to the signal's si_value.
    pub value: u64,
    /// Non-zero while the id is in use.
    pub used: u32,
    /// The clock (CLOCK_REALTIME, CLOCK_MONOTONIC or CLOCK_BOOTTIME).
    pub clock: u32,
    /// sigev_notify: SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID.
    pub notify: u32,
    /// sigev_signo.
    pub signo: u32,
    /// SIGEV_THREAD_ID: the thread signalled.
    pub tid: u32,
    /// Non-zero while a signal this timer sent is pending (not yet delivered).
    pub pending: u32,
    /// Expirations since that signal was sent (counted while it is pending).
    pub overrun: u32,
    /// The overrun count of the last signal delivered (timer_getoverrun(2)).
    pub overrun_last: u32,
}

/// Architectural state of one AArch64 guest thread.
///
/// Semantics of each field follow the Arm ARM (DDI 0487), chapter D1 "The AArch64
/// Application Level Programmers' Model".
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct CpuState {
    /// X0..X30 in `x[0..31]`; `x[31]` is SP (SP_EL0).
    pub x: [u64; 32],
    /// Program counter (address of the next instruction to execute).
    pub pc: u64,
    /// NZCV flags in bits 31..28, as read by `MRS Xt, NZCV`.
    pub nzcv: u64,
    /// V0..V31: `v[2n]` holds bits 63..0 of Vn, `v[2n+1]` bits 127..64.
    pub v: [u64; 64],
    /// FPCR (rounding mode in bits 23..22, FZ bit 24, DN bit 25).
    pub fpcr: u64,
    /// FPSR (cumulative exception flags, QC bit 27).
    pub fpsr: u64,
    /// TPIDR_EL0, the thread pointer.
    pub tpidr_el0: u64,
    /// Exclusive monitor: address marked by the last load-exclusive.
    pub excl_addr: u64,
    /// Exclusive monitor: access size in bytes of the marking load (0 = open state),
    /// with bit 63 set when that load was an acquiring one (LDAXR, LDAXP: kernel/a64/ldst.h,
    /// `EXCL_ACQUIRE`).
    pub excl_size: u64,
    /// Exclusive monitor: the value(s) the marking load read (`excl_val[1]`: the second
    /// word of a 16-byte pair). A store-exclusive stores only while memory still holds
    /// them (an atomic compare-and-swap): the global monitor between lanes
    /// (kernel/a64/ldst.h).
    pub excl_val: [u64; 2],
}

/// `Proc::status`: slot unused.
pub const PROC_FREE: u32 = 0;
/// `Proc::status`: ready to execute instructions.
pub const PROC_RUNNABLE: u32 = 1;
/// `Proc::status`: waiting for the host to serve the lane's `SysReq`.
pub const PROC_WAIT_HOST: u32 = 2;
/// `Proc::status`: exited normally; `Proc::exit_code` holds the status.
pub const PROC_EXITED: u32 = 3;
/// `Proc::status`: killed by a signal; `Proc::signal` holds it.
pub const PROC_KILLED: u32 = 4;
/// `Proc::status`: blocked; the lane's family scheduler (kernel/sched.h) runs the
/// other members of the family meanwhile. `Proc::block` says on what.
pub const PROC_BLOCKED: u32 = 5;
/// `Proc::status`: a forked child whose parent's clone is still being served by the host
/// (its fd table copied); not runnable yet.
pub const PROC_NEW: u32 = 6;

/// `Proc::block`: the syscall is re-executed when the process is next scheduled (a
/// pipe read or write or a ppoll the host found would block); woken after any host
/// call of its family completes, or when the whole family is blocked.
pub const BLOCK_RETRY: u32 = 1;
/// `Proc::block`: a vfork parent, until its child (`Proc::vfork_child`) execs or ends.
pub const BLOCK_VFORK: u32 = 2;
/// `Proc::block`: wait4 found no zombie yet; the call is re-executed after a member of
/// the family has ended (or a signal arrived).
pub const BLOCK_WAIT: u32 = 3;
/// `Proc::block`: a futex wait (`Proc::futex_uaddr`), until a FUTEX_WAKE of the word,
/// its timeout, or a signal.
pub const BLOCK_FUTEX: u32 = 4;
/// `Proc::block`: a thread group's leader that called exit(2) while other threads of the
/// group run: never runnable again; it ends, and is reported to its parent, with the
/// group's last thread (kernel/proc/thread.h).
pub const BLOCK_GROUP: u32 = 5;
/// `Proc::block`: rt_sigsuspend(2), until a signal it does not block is delivered (its
/// handler runs, then the call returns EINTR).
pub const BLOCK_SIGSUSPEND: u32 = 6;
/// `Proc::block`: rt_sigtimedwait(2), until a signal of `Proc::sigwait_set` is pending
/// (the call runs again and takes it), its deadline (EAGAIN) or another signal.
pub const BLOCK_SIGWAIT: u32 = 7;
/// `Proc::block`: nanosleep(2) or clock_nanosleep(2) of a member whose lane runs others
/// (kernel/sys/time_sys.h), until `Proc::block_deadline` (0), or a signal whose handler
/// runs (EINTR, the time left written).
pub const BLOCK_SLEEP: u32 = 8;
/// No process slot (`Proc::parent` of a lane's first process or of an orphan).
pub const NO_SLOT: u32 = 0xFFFF_FFFF;
/// `SysReq::ret` from the host: the call would block and the guest's descriptor is
/// blocking; the device parks the process (`BLOCK_RETRY`) and re-executes the syscall
/// later. Never a guest-visible value.
pub const SYSRET_RETRY: i64 = -1_099_511_627_776;

/// Child slots when `RunConfig::child_slots` is 0: 32 per lane, at least 1024, at most
/// 65536, but never fewer than 8 per lane (up to 2^20 slots), so that every copy of a
/// program with a pool of eight threads (threads.c's mutex section; zstd -T8) or a
/// shell running a pipeline in a command substitution finds its slots at 100,000
/// lanes. With 4 per lane, 100,000 copies of the eight-thread case failed
/// pthread_create with EAGAIN in two lanes of three (H100, thirty-second session).
/// A Proc is about 3.5 KiB of device memory: 2.7 GiB at 100,000 lanes; Linux's own
/// default `threads-max` on a 128 GiB host is about a million tasks.
pub fn default_child_slots(lanes: usize) -> usize {
    let per_lane_floor = lanes.saturating_mul(8).min(1 << 20);
    (lanes.saturating_mul(32))
        .clamp(1024, 65536)
        .max(per_lane_floor)
}

/// One guest process. Slots `0..lanes` hold each lane's first process (slot == lane);
/// the slots after them are a shared pool for forked children (`MachineHdr::nslots`).
/// The per-request fields (`req_*`, `host_*`, `rt_*`) are used in the lane's first
/// process only: a lane has at most one host request in flight, whichever member of
/// its family posted it (`req_slot`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Proc {
    /// Architectural state, saved while the lane is not executing.
    pub cpu: CpuState,
    /// One of the `PROC_*` values.
    pub status: u32,
    /// Exit status given to exit/exit_group (low 8 bits are what the parent sees).
    pub exit_code: i32,
    /// Signal number that killed the process (Linux numbering), 0 if none.
    pub signal: i32,
    /// Instruction word that raised SIGILL, or the signal's `si_code` detail.
    pub fault_insn: u32,
    /// PC of the instruction that faulted.
    pub fault_pc: u64,
    /// Faulting data address (SIGSEGV/SIGBUS).
    pub fault_addr: u64,
    /// Guest instructions retired.
    pub insns: u64,
    /// Stop when `insns` reaches this (0 = no limit); the process is killed with SIGXCPU.
    pub max_insns: u64,
    /// Frame index of the level-0 page table.
    pub pt_root: u64,
    /// Frames charged to this process, its resident set: its page tables and the pool
    /// frames its tables map (a frame shared with a forked relative counts to each, as
    /// in Linux's RSS; the image template's frames count to none). kernel/mm/mm.h.
    pub frames_private: u64,
    /// Of `frames_private`, the page cache's immutable frames this process maps (a
    /// file version's pages in private mappings: shared libraries' code and data,
    /// held by the cache for the whole run, `MachineHdr::dcache_map` nonzero). They
    /// count to the resident set, as Linux's RssFile does, but not against the
    /// resident limit: they take no frame from the pool that the process's neighbours
    /// could use. kernel/mm/mm.h `rss_full`.
    pub frames_cached: u64,
    /// Start of the heap (end of the highest ELF segment, page aligned).
    pub brk_start: u64,
    /// Current program break.
    pub brk_cur: u64,
    /// Next address handed out by mmap (allocation grows down from here).
    pub mmap_top: u64,
    /// Lowest address the mmap area may use.
    pub mmap_floor: u64,
    /// Process id: 1000 + lane for a lane's first process; a child's names its slot:
    /// 1000 + lanes + (slot - lanes), plus the number of child slots for each earlier
    /// occupant of the slot (kernel/proc/family.h `pid_for_slot`), so wait4 and kill
    /// find a process by pid at once. Unique among the processes that exist.
    pub pid: u32,
    /// Parent process id.
    pub ppid: u32,
    /// Address given to set_tid_address.
    pub clear_child_tid: u64,
    /// A forked child's CLONE_CHILD_SETTID address, where it stores its own pid when it
    /// first runs on its lane (kernel/proc/thread.h `child_settid`, as Linux's
    /// schedule_tail does); 0 when none or done.
    pub set_child_tid: u64,
    /// Blocked signal mask (rt_sigprocmask).
    pub sigmask: u64,
    /// Pending signals (bit n: signal n+1), raised while blocked.
    pub sigpending: u64,
    /// si_code of each pending signal.
    pub sigcode: [i32; 64],
    /// The disposition of each signal (rt_sigaction), index signal - 1.
    pub sigact: [SigAction; 64],
    /// Process name (prctl PR_SET_NAME), NUL-terminated.
    pub comm: [u8; 16],
    /// The lane that runs this process (its family's lane).
    pub lane: u32,
    /// Non-zero when every syscall is reported to the host for `--strace`.
    pub strace: u32,
    /// Host requests this process has posted; `SysReq::seq` of the latest one.
    pub req_seq: u64,
    /// Host requests completed, as counted on the device by the completion poller
    /// (persistent mode on the GPU): the lane waits until it equals `req_seq`, reading
    /// device memory instead of polling `SysReq::done` across PCIe.
    pub host_done: u64,
    /// Result (`SysReq::ret`, an i64) of the latest request the completion poller
    /// delivered; the poller writes it before it bumps `host_done`, so it is this
    /// request's once `host_done == req_seq`.
    pub host_ret: u64,
    /// Output bytes (`SysReq::out_len`) of that request, delivered as `host_ret`, with
    /// `SysReq::fd_low` in the high half.
    pub host_out_len: u64,
    /// Device copy of `SysReq::nr` of the latest request: with the copies below, a
    /// lane completing a request the poller delivered reads no host memory but the
    /// output bytes.
    pub req_nr: u64,
    /// Device copy of `SysReq::flags` of the latest request.
    pub req_flags: u32,
    /// Device copy of `SysReq::out_off` of the latest request.
    pub req_out_off: u32,
    /// Device copy of `SysReq::out_cap` of the latest request.
    pub req_out_cap: u32,
    /// Family lane only: the family's tasks away (offered to, run by or parked by
    /// spare lanes) after its lane's latest pass (`lane_run`, kernel/proc/spare.h
    /// `spare_offer`); while non-zero the persistent kernel runs the lane as soon as it
    /// is ready, without waiting for its warp (kernel/cuda_main.cu).
    pub fam_away: u32,
    /// Round-trip timing of host requests, on the device's clock (ns; `now_ns` in
    /// kernel/rt.h): when the latest request was posted (its SysReq written).
    pub rt_posted_at: u64,
    /// Requests timed (completed by this process).
    pub rt_count: u64,
    /// Sum over requests of the time to marshal and post (sys_post_host).
    pub rt_post_ns: u64,
    /// Sum of posted -> the completion poller saw the completion (GPU persistent mode).
    pub rt_poller_ns: u64,
    /// Sum of posted -> the lane resumed with the completion.
    pub rt_wake_ns: u64,
    /// Sum of the time to complete (copy the output to the guest, set X0).
    pub rt_complete_ns: u64,
    /// Sum of posted -> pushed to the submission ring (the slice's end and the push;
    /// GPU persistent mode).
    pub rt_push_ns: u64,
    /// This process's slot (index in the process table).
    pub slot: u32,
    /// The parent's slot, `NO_SLOT` for a lane's first process and for orphans (whose
    /// parent ended: `ppid` is then 1).
    pub parent: u32,
    /// Next member of the lane's family (a circular list through every process the lane
    /// runs); in a free slot, the next free slot + 1 (0 = none).
    pub fam_next: u32,
    /// Lane's first process only: the member the family scheduler runs next.
    pub fam_cur: u32,
    /// Lane's first process only: the slot whose host request is in flight.
    pub req_slot: u32,
    /// Lane's first process only: non-zero while a host request is in flight.
    pub req_open: u32,
    /// What a `PROC_BLOCKED` process waits for (`BLOCK_*`).
    pub block: u32,
    /// A vfork parent: the child it waits for; a vfork child: its parent + 1 until it
    /// execs or ends (0 = none).
    pub vfork: u32,
    /// Non-zero once the process ended and the scheduler has not yet handled its end
    /// (host notice, parent, orphans).
    pub end_pending: u32,
    /// Lane's first process only: instructions of the family's members that ended.
    pub family_insns: u64,
    /// Lane's first process only: counts events that may unblock a member (for the
    /// idle back-off).
    pub progress: u64,
    /// While a ppoll with a finite timeout is blocked: when it times out, on the device
    /// clock (`now_ns`, ns); 0 otherwise. Each blocked attempt runs the call again, so
    /// the timeout is kept here rather than restarted (kernel/sys/poll.h).
    pub poll_deadline: u64,
    /// Resident limit in frames (`frames_private` may not grow past it; 0 = none): a
    /// page fault that needs a frame beyond it kills the process (SIGKILL, `kill_cause`
    /// `OOM_RESIDENT`), a mapping call that needs one fails with ENOMEM.
    pub rss_limit: u64,
    /// RLIMIT_AS, soft, in bytes (`u64::MAX`: unlimited): mmap, brk and mremap that
    /// would map more fail with ENOMEM (getrlimit(2)); the guest may lower it.
    pub as_limit: u64,
    /// RLIMIT_AS, hard, in bytes: the guest may lower it, never raise it.
    pub as_limit_max: u64,
    /// Pages of address space mapped (present or reserved), counted against `as_limit`.
    pub vm_pages: u64,
    /// Why this process's latest frame allocation failed: `OOM_RESIDENT`, `OOM_POOL`,
    /// or 0.
    pub oom: u32,
    /// Why the process was killed, when gpuos killed it for want of memory (`OOM_*`,
    /// with `signal` SIGKILL); 0 otherwise.
    pub kill_cause: u32,
    /// Bytes a read or write family syscall (read, write, pread64, pwrite64, readv,
    /// writev) has moved so far in earlier host requests: one call larger than the
    /// request buffer is served in successive chunks, and a blocking pipe write that
    /// waits keeps its progress here across the parked retries (kernel/sys/marshal.h).
    /// 0 between calls.
    pub io_done: u64,
    /// The previous member of the family's circular list (`fam_next`'s reverse), so a
    /// member leaves it in O(1). The list holds the members whose end is not yet
    /// handled; an ended child waiting to be reaped is only in its parent's children.
    pub fam_prev: u32,
    /// First child (in fork order) not yet reaped, `NO_SLOT` if none: with `sib_next`
    /// and `sib_prev` a circular list of the process's children, so wait4 and the end
    /// of a parent look at its children only (kernel/proc/family.h).
    pub kids: u32,
    /// Next sibling in the parent's children list.
    pub sib_next: u32,
    /// Previous sibling in the parent's children list (the first child's is the last).
    pub sib_prev: u32,
    /// Lane's first process only: members parked with `BLOCK_RETRY`; the family's
    /// retry wake-ups walk the family only when there is one.
    pub retry_blocked: u32,
    /// Lane's first process only: getrandom(2)'s next ChaCha20 block of the lane's
    /// stream (kernel/sys/random.h).
    pub rng_ctr: u64,
    /// 1 once the process has exec'd another program than the run's own (its readlink
    /// of /proc/self/exe is then the host's to answer: kernel/sys/procfs.h); fork and
    /// clone copy it, an execve of the run's own program clears it.
    pub exe_other: u32,
    /// The nice value, -20 (most favourable) to 19, of getpriority(2)/setpriority(2);
    /// inherited by fork, kept across execve. 0 at the start. Not used for scheduling.
    pub nice: i32,
    /// A file mapping in progress (mmap(2) with a file, kernel/sys/mm_file.h): the
    /// guest's six mmap arguments, kept across its host requests.
    pub fm_args: [u64; 6],
    /// The mapped file's identity (host/mapfile.rs), 0 while none is known.
    pub fm_file: u64,
    /// The mapped file's size in bytes.
    pub fm_size: u64,
    /// The mapping's address, once placed.
    pub fm_addr: u64,
    /// Pages of the mapping filled so far.
    pub fm_next: u64,
    /// Where in the lane's request buffer the mapping's page reads are answered: 0 for
    /// a guest's mmap, after the load plan for an execve (kernel/sys/exec_image.h).
    pub fm_out_off: u64,
    /// An execve's load plan in the lane's request buffer (its offset), while its
    /// segments are mapped one after the other; 0 for a guest's mmap.
    pub fm_plan_off: u64,
    /// The plan's segment being mapped.
    pub fm_seg: u64,
    /// The slot of the thread group's leader (clone(2) CLONE_THREAD): the process whose
    /// address space (`pt_root`, `frames_private`, `vm_pages`, the brk and mmap fields,
    /// the limits), signal dispositions (`sigact`) and host state (fds, cwd) every
    /// thread of the group uses (kernel/proc/thread.h). A process's own slot.
    pub tg_slot: u32,
    /// Leader only: the threads of the group that have not ended (the leader included
    /// until it calls exit(2)); 1 for a process without threads.
    pub tg_threads: u32,
    /// While blocked with `BLOCK_FUTEX`: the futex word's address (futex(2)).
    pub futex_uaddr: u64,
    /// While blocked with `BLOCK_FUTEX`: the waiter's bitset (FUTEX_WAIT_BITSET; all
    /// ones for FUTEX_WAIT).
    pub futex_bitset: u32,
    /// The next waiter (its slot + 1; 0: the last) in its thread group's queue of
    /// private futex waiters (`futex_head`, kernel/proc/futex_queue.h), while `futex_listed`.
    pub futex_next: u32,
    /// While blocked with `BLOCK_FUTEX`: the futex's key when the word is in a
    /// MAP_SHARED page and the wait is not FUTEX_PRIVATE_FLAG's, `1 << 63 | frame << 12 |
    /// offset` (processes sharing the page meet there whatever its address); 0 keys the
    /// futex by the thread group and the address, as Linux keys a futex in private
    /// memory by its mm (kernel/proc/thread.h `futex_key_of`).
    pub futex_key: u64,
    /// While a futex wait or an rt_sigtimedwait with a timeout is blocked
    /// (`BLOCK_FUTEX`, `BLOCK_SIGWAIT`): when it times out, on the device clock
    /// (`now_ns`, ns); 0 otherwise. Kept across the wait's re-executions.
    pub block_deadline: u64,
    /// The robust futex list head set_robust_list(2) registered (0: none); its entries
    /// are released when the thread ends (futex(2) "robust futexes").
    pub robust_list: u64,
    /// The alternate signal stack (sigaltstack(2)): its lowest address, 0 when none.
    pub sas_sp: u64,
    /// Its size in bytes (0: none).
    pub sas_size: u64,
    /// SS_AUTODISARM when given; the rest of the state is `sas_size` (SS_DISABLE when 0)
    /// and whether SP is on the stack (SS_ONSTACK).
    pub sas_flags: u32,
    /// Non-zero while `saved_sigmask` is the mask to restore when the next signal
    /// handler returns (rt_sigsuspend(2) runs with a temporary mask).
    pub restore_sigmask: u32,
    /// rt_sigsuspend's caller's own mask, kept while its temporary one is in force.
    pub saved_sigmask: u64,
    /// While blocked with `BLOCK_SIGWAIT`: the signals rt_sigtimedwait(2) waits for.
    pub sigwait_set: u64,
    /// Process (leader) only: when ITIMER_REAL next fires (setitimer(2), alarm(2)), on
    /// the device clock (ns); 0 when disarmed. The family scheduler posts SIGALRM.
    pub itimer_at: u64,
    /// Process (leader) only: ITIMER_REAL's interval (ns); 0 for a one-shot timer.
    pub itimer_interval: u64,
    /// Process (leader) only: its POSIX timers (timer_create(2); kernel/sys/ptimer.h),
    /// timer id n in entry n.
    pub ptimers: [PTimer; PTIMERS],
    /// Process (leader) only: the earliest `PTimer::at` of its armed timers (device
    /// clock, ns), 0 when none is armed: the family scheduler's test.
    pub ptimer_next: u64,
    /// Lane's first process only: the child slots (processes and threads) its family
    /// holds (kernel/proc/family.h `slot_take`).
    pub slots_held: u64,
    /// Process (leader) only: signals sent to the process that every thread blocked when
    /// they came (Linux's shared pending set): the first thread to unblock one, or to
    /// wait for it in rt_sigtimedwait, takes it. Their si_codes are in the leader's
    /// `sigcode`.
    pub sigpending_shared: u64,
    /// Write-back of MAP_SHARED file pages in progress (kernel/sys/mm_shared.h): the next
    /// address to look at.
    pub wb_lo: u64,
    /// The end of the range being written back.
    pub wb_hi: u64,
    /// X0 of the syscall that waits for the write-back (run again once it is done).
    pub wb_x0: u64,
    /// The first write-back error since msync(2) last reported one (a negative errno).
    pub wb_err: i64,
    /// Leader only: the address space has held a MAP_SHARED file mapping, so its end,
    /// execve, munmap, msync and MAP_FIXED look for dirty shared pages to write back.
    pub shm_mapped: u64,
    /// Where the task runs (kernel/proc/spare.h): `TASK_HOME` (its lane's family
    /// scheduler), `TASK_OFFERED` (in the run queue for a spare lane), `TASK_AWAY` (a
    /// spare lane runs its instructions), `TASK_PARKED` (blocked in a futex wait a spare
    /// lane served: its waker offers it to the spare lanes). Changed by
    /// compare-and-swap.
    pub task_where: u32,
    /// Set by the spare lane that brought the task home stopped at an instruction that
    /// needs its lane (a syscall, a fault, a page not yet present): its lane runs it
    /// next rather than offer it again.
    pub handback: u32,
    /// Leader only: the tasks of its address space that are offered to, run by or
    /// parked by spare lanes (atomic).
    pub away: u32,
    /// Leader only: non-zero while its lane waits for those to come home before it
    /// changes the address space or the tasks (`space_quiesce`).
    pub recall: u32,
    /// Leader only: a task of the address space has run on a spare lane beside another,
    /// so its memory is shared between lanes (`mem_shared`: the global exclusive
    /// monitor, device-scope fences).
    pub lanes_shared: u64,
    /// Leader only: the first waiter (slot + 1; 0: none) of the group's queue of futex
    /// waiters keyed by address (kernel/proc/futex_queue.h), in the order they came.
    pub futex_head: u32,
    /// Leader only: the spinlock (0 free, 1 held) of that queue and of its waiters'
    /// futex state, taken by whichever lane (the family's or a spare) waits or wakes.
    pub futex_lock: u32,
    /// A wake that ended this task's futex wait and is not yet applied to its
    /// registers: `FUTEX_WOKEN` (X0 = 0) or `FUTEX_TIMED_OUT` (X0 = -ETIMEDOUT), then
    /// the PC past the SVC, when it next runs (`futex_resumed`). 0: none.
    pub futex_woke: u32,
    /// Non-zero while the task is linked in its group's futex queue.
    pub futex_listed: u32,
    /// Lane's first process only: how many notes its family left in the lane's
    /// `SysReq::notes` since the lane's last request (kernel/sys/process.h `family_note`).
    pub notes: u32,
    /// Lane's first process only: child slots its family freed while it had notes
    /// (slot + 1, linked through their `fam_next`; 0: none), kept out of the shared
    /// pool until the host has applied those notes, which may name them (another lane
    /// must not fork into a slot before the host has seen it end here).
    pub defer_free: u32,
    /// Lane's first process only: when the first of those notes was left (device clock,
    /// ns): past `NOTES_MAX_AGE_NS` the lane posts them by themselves (kernel/sched.h).
    pub notes_at: u64,
    /// Leader only: the file-backed ranges of the address space (kernel/sys/fmap.h), as
    /// /proc/PID/maps names them: 0 for none, `FMAPS_TEMPLATE` for the image template's
    /// (`MachineHdr::tmpl_fmaps`, until one changes), else the frame + 1 holding the
    /// process's own table.
    pub fmaps: u64,
    /// Read-only files of the sysroot whose reads, seeks and fstat this process serves on
    /// the device from the page cache (kernel/sys/devread.h); empty in a process whose
    /// descriptor table is shared (`fd_shared`).
    pub devread: [DevRead; DEVREAD_SLOTS],
    /// X0 of the syscall that waits for a page-cache fill or an offset hand-back of
    /// `devread` (run again once it is done).
    pub devread_x0: u64,
    /// The request of `devread` in flight: `DEVREAD_FILL`, `DEVREAD_SEEK`, or 0.
    pub devread_op: u32,
    /// Leader only: the descriptor table is shared with another task (a thread,
    /// CLONE_FILES), so no read is served on the device: the host keeps every offset.
    pub fd_shared: u32,
    /// Which of descriptors 0-31 the process holds (bit n: fd n), as the host said with
    /// its last call's completion (`SysReq::fd_low`) and the device's own opens and
    /// closes since; valid while `fd_known` (set by a completion; copied by a fork).
    pub fd_low: u32,
    /// Non-zero when `fd_low` is known.
    pub fd_known: u32,
    /// While blocked with `BLOCK_SLEEP`: the sleep was absolute (TIMER_ABSTIME), so an
    /// interruption writes no time left.
    pub sleep_abs: u32,
    /// Padding to a multiple of 8 bytes (unused).
    pub pad_sleep: u32,
    /// The process's descriptors of pipes kept in device memory (kernel/sys/dpipe.h):
    /// fd + 1 (bits 0-15), the write end (bit 16), FD_CLOEXEC (bit 17), the pipe's header
    /// frame (bits 32-63); 0: free.
    pub dpfd: [u64; DPIPE_FDS],
}

/// `Proc::fmaps`: the image template's file ranges, shared until the process changes one.
pub const FMAPS_TEMPLATE: u64 = 0xFFFF_FFFF_FFFF_FFFF;
/// Entries of `MachineHdr::tmpl_fmaps` (the program's and its interpreter's segments).
pub const TMPL_FMAPS: usize = 24;
/// `FileMap::flags`: a MAP_SHARED mapping ('s' in /proc/PID/maps).
pub const FMAP_SHARED: u32 = 1;

/// One file-backed range of an address space, what Linux's vm_area_struct keeps of a
/// mapping's file (vm_file, vm_pgoff) for /proc/PID/maps (kernel/sys/fmap.h).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileMap {
    /// First address (page aligned).
    pub start: u64,
    /// End (exclusive, page aligned).
    pub end: u64,
    /// The file offset shown at `start`, in bytes.
    pub offset: u64,
    /// The file's identity (host/mapfile.rs), which the host names (`ProcHost::open_bytes`).
    pub file: u32,
    /// `FMAP_*` flags.
    pub flags: u32,
}

/// `Proc::task_where`: the task's lane runs it (or it is blocked, or not runnable).
pub const TASK_HOME: u32 = 0;
/// `Proc::task_where`: offered to the spare lanes (in `MachineHdr::runq`).
pub const TASK_OFFERED: u32 = 1;
/// `Proc::task_where`: a spare lane runs it.
pub const TASK_AWAY: u32 = 2;
/// `Proc::task_where`: blocked in a futex wait that a spare lane served; no lane holds
/// it. Whoever makes it runnable offers it to the spare lanes (`task_rouse`), or sends
/// it home (a signal to deliver, its space recalled).
pub const TASK_PARKED: u32 = 3;

/// `Proc::oom`, `Proc::kill_cause`: the process reached its resident limit
/// (`Proc::rss_limit`).
pub const OOM_RESIDENT: u32 = 1;
/// `Proc::oom`, `Proc::kill_cause`: the machine's frame pool was exhausted.
pub const OOM_POOL: u32 = 2;

/// A signal disposition, laid out as the kernel's `struct sigaction` for arm64
/// (sigaction(2): handler or SIG_DFL 0 / SIG_IGN 1, SA_* flags, restorer, blocked mask).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SigAction {
    /// sa_handler / sa_sigaction.
    pub handler: u64,
    /// SA_* flags.
    pub flags: u64,
    /// sa_restorer: where the handler returns (glibc's rt_sigreturn trampoline).
    pub restorer: u64,
    /// Signals blocked while the handler runs.
    pub mask: u64,
}

/// A syscall request from a lane to the host, in host-visible memory.
///
/// Protocol: the lane fills `nr`, `args`, `in_len`, the input bytes in its buffer, then
/// publishes by storing `seq = done + 1` (release). The host serves it, writes `ret`,
/// `out_len` and the output bytes, then stores `done = seq` (release). The lane waits for
/// `done == seq` (acquire).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SysReq {
    /// Request sequence number, bumped by the lane for each request.
    pub seq: u64,
    /// Sequence number of the last request the host completed.
    pub done: u64,
    /// Syscall number (AArch64 Linux numbering).
    pub nr: u64,
    /// Arguments X0..X5, with lengths lowered to what fits in the buffer.
    pub args: [u64; 6],
    /// Result: value or negative errno.
    pub ret: i64,
    /// Bytes of input at the start of the lane's buffer.
    pub in_len: u32,
    /// Capacity of the output area, which starts at `out_off` in the buffer.
    pub out_cap: u32,
    /// Offset of the output area in the buffer.
    pub out_off: u32,
    /// Bytes of output the host produced.
    pub out_len: u32,
    /// `SYSREQ_*` flags.
    pub flags: u32,
    /// Lane index (for the ring consumer).
    pub lane: u32,
    /// Process slot whose host state serves the request: the posting thread's group
    /// leader (`Proc::tg_slot`).
    pub slot: u32,
    /// The posting thread's id (for `--strace`, and to tell threads' sleeps apart).
    pub pid: u32,
    /// What the lane's family did on the device since its last request that the host's
    /// state must follow, oldest first (kernel/sys/process.h `family_note`; a request
    /// with neither `SYSREQ_CALL` nor `SYSREQ_EXIT` carries only these), note k in
    /// words 2k and 2k + 1: a fork, `(parent, child | pid << 32)` (process slots: the
    /// parent's group leader, the child), whose child's host state becomes a fork of its
    /// parent's, as a clone request would have made it; or a process's end,
    /// `(NOTE_END, slot | pid << 32)`, whose fds are closed, as its end notice
    /// (`SYSREQ_EXIT`) would have, if the slot still holds that pid (a child slot may
    /// meanwhile hold another lane's child); or a close(2) the device answered,
    /// `(NOTE_CLOSE | fd, slot | pid << 32)`, whose fd the host then closes (a
    /// descriptor whose reads the device served: kernel/sys/devread.h). The host
    /// applies them before it serves the request, then clears `nnotes` (so a request
    /// served again applies nothing twice).
    pub notes: [u64; FAMILY_NOTE_WORDS],
    /// How many of `notes` are set.
    pub nnotes: u32,
    /// Set by the host with a call's completion: which of the process's descriptors 0-31
    /// are taken after it (bit n: fd n), so that the device can pick the lowest free
    /// one itself (kernel/sys/devread.h `devread_open`). The completion ring carries the
    /// same bits in the high half of its `out_len`.
    pub fd_low: u32,
}

/// `SysReq::notes`: how many the lane keeps between two requests; one more fork or end
/// posts its own request (a host round trip) instead.
pub const FAMILY_NOTES: usize = 16;
/// `SysReq::notes`: two words a note.
pub const FAMILY_NOTE_WORDS: usize = 32;
const _: () = assert!(FAMILY_NOTE_WORDS == 2 * FAMILY_NOTES);
/// `SysReq::notes`: the first word of a process's end.
pub const NOTE_END: u64 = 0x8000_0000_0000_0000;
/// `SysReq::notes`: the first word of a close(2) the device answered is this with the fd
/// in its low 32 bits (a fork's first word, a slot, never has these bits).
pub const NOTE_CLOSE: u64 = 0x4000_0000_0000_0000;
/// `SysReq::notes`: the first word of an openat(2) the device answered (kernel/sys/devread.h
/// `devread_open`): this | the path's open token << 32 (30 bits) | the open flags' low 24
/// bits << 8 | the fd (below 32). The host opens that path again with those flags at
/// that fd, as its own answer to the call would have.
pub const NOTE_OPEN: u64 = 0xc000_0000_0000_0000;
/// `SysReq::notes`: the first word of a pipe2(2) the device answered (kernel/sys/dpipe.h):
/// this | the read end's fd | the write end's fd << 10 | O_CLOEXEC << 20 | O_NONBLOCK << 21
/// | the pipe's id (its header frame, 32 bits) << 28. The host keeps placeholders at both
/// fds (crates/gpuos/src/host/noted.rs) until the device hands the pipe back
/// (`gpuos_pipe_back`). Never `NOTE_END` itself.
pub const NOTE_PIPE: u64 = 0xa000_0000_0000_0000;
/// `SysReq::notes`: the first word of a dup(2), dup3(2) or F_DUPFD of a pipe's fd the
/// device answered: this | the old fd | the new fd << 10 | FD_CLOEXEC << 20 (the host's
/// dup3: the new fd's former description goes).
pub const NOTE_DUP: u64 = 0x9000_0000_0000_0000;
/// `SysReq::notes`: the bits of a note's first word that tell a close from the others.
pub const NOTE_KIND_MASK: u64 = 0xc000_0000_0000_0000;
/// How long a lane keeps notes before it posts them by themselves (ns): an end's fds
/// close at most this late when the family makes no request meanwhile (another lane may
/// wait for a lock or a FIFO's end they hold).
pub const NOTES_MAX_AGE_NS: u64 = 1_000_000;

/// `SysReq::out_len` (and the completion ring's `out_len`): the answer, a result of 0
/// with the output bytes, is what every process of the run would get for the same
/// arguments while the run lasts, so the device may keep it (newfstatat of a path in
/// the read-only sysroot: kernel/sys/statcache.h). The output length is the bits below.
pub const OUT_LASTING: u32 = 0x8000_0000;

/// Bytes of one stat cache entry (kernel/sys/statcache.h `StatcEntry`).
pub const STATC_ENTRY_BYTES: usize = 384;

/// `SysReq::flags`: the request is a host syscall to perform.
pub const SYSREQ_CALL: u32 = 1;
/// `SysReq::flags`: the device already performed the call; the host only logs it
/// (`--strace`). `ret` holds the result.
pub const SYSREQ_LOG: u32 = 2;
/// `SysReq::flags`: the process ended; `args[0]` is the wait status (for host bookkeeping).
pub const SYSREQ_EXIT: u32 = 4;
/// `SysReq::flags` with `SYSREQ_CALL`: a later chunk of a read (kernel/sys/marshal.h):
/// serve it only if it need not wait (data or end of file at hand), else answer 0 bytes,
/// as read(2) returns what it has once some bytes were read.
pub const SYSREQ_NOWAIT: u32 = 8;
/// `SysReq::flags` with `SYSREQ_CALL`: print no `--strace` line; the device logs the
/// whole call (`SYSREQ_LOG`) when its last chunk is done.
pub const SYSREQ_QUIET: u32 = 16;
/// `SysReq::flags`, set by the device: the posting thread's lane has other members of
/// its family to run (threads, forked processes), so a call must not make the lane wait
/// on the host: a sleep answers RETRY until it is due (`host::ProcHost::sys_sleep`).
pub const SYSREQ_SHARED: u32 = 32;

/// Global state of one machine, as seen by the execution core.
///
/// All pointers are device addresses on the GPU and host addresses on the CPU backend.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MachineHdr {
    /// Base of the frame pool (`nframes * PAGE_SIZE` bytes).
    pub frames: u64,
    /// Number of frames in the pool.
    pub nframes: u64,
    /// Frames `0..tmpl_frames` hold the image template: shared, never freed.
    pub tmpl_frames: u64,
    /// Per-frame reference counts (`u32[nframes]`).
    pub refcnt: u64,
    /// Free frames and free child slots: `u64[FREE_HEADS]` heads of lock-free stacks
    /// (kernel/mm/mm.h, kernel/proc/family.h). A head is `tag << 32 | (index + 1)`, 0
    /// when empty; the tag counts every change (against ABA); free frames are linked
    /// through their first 4 bytes, free slots through `Proc::fam_next`.
    pub free_heads: u64,
    /// Frames never yet handed out: the low 32 bits count those taken from the bottom
    /// of the pool (contiguous frames, the template's first), the high 32 bits those
    /// taken from the top in groups of `IL_GROUP` (interleaved frames).
    pub bump: u64,
    /// Process table (`Proc[nprocs]`).
    pub procs: u64,
    /// Number of processes.
    pub nprocs: u64,
    /// Requests (`SysReq[nprocs]`), host-visible memory.
    pub reqs: u64,
    /// Request buffers (`buf_size` bytes per lane), host-visible memory.
    pub bufs: u64,
    /// Bytes of buffer per lane.
    pub buf_size: u64,
    /// Level-0 page-table frame of the image template.
    pub tmpl_root: u64,
    /// Pages the template maps (present or lazily reserved): a new process's
    /// `Proc::vm_pages` (kernel/mm/mm.h `pt_clone` shares the template's leaf tables
    /// without reading them).
    pub tmpl_pages: u64,
    /// Initial stack images: bytes (device memory).
    pub stacks: u64,
    /// Per-lane offset into `stacks` of that lane's stack image (`u64[nstacks + 1]`).
    pub stack_offs: u64,
    /// Number of stack images; lane `l` uses image `l % nstacks`.
    pub nstacks: u64,
    /// Highest address of the stack (exclusive); the image ends here.
    pub stack_top: u64,
    /// Size of the stack area reserved below `stack_top`.
    pub stack_size: u64,
    /// Initial PC of every process.
    pub entry: u64,
    /// Initial program break.
    pub brk_start: u64,
    /// Top of the mmap area.
    pub mmap_top: u64,
    /// Instruction limit per process (0 = none).
    pub max_insns: u64,
    /// Non-zero: every syscall is reported for `--strace`.
    pub strace: u32,
    /// Non-zero: the host asks every lane to stop (Ctrl-C).
    pub stop: u32,
    /// Submission rings: `nrings` device copies of their `RingHdr`s, one after another
    /// (cells in host-visible memory); lane `l` pushes to ring `(l / 32) % nrings`, which one
    /// host service thread pops first (backend/cuda/rings.rs). 0 on the CPU backend.
    pub ring: u64,
    /// Number of submission rings at `ring` (at least 1 where `ring` is set).
    pub nrings: u64,
    /// Decode cache: a `u16` decode-table entry number (kernel/a64 tables, 1-based;
    /// 0 = not decoded yet) for each instruction slot of each image-template frame,
    /// `tmpl_frames * 1024` entries. Template frames are never written after loading
    /// (writes go to copies), so an entry stays valid for the whole run. 0 = no cache.
    pub dcache: u64,
    /// Completion ring (`RingHdr` in device memory, cells in host-visible memory): the
    /// host pushes the lane, result and output length of each served request, one
    /// device warp (the completion poller) pops them, stores the result in the lane's
    /// `Proc::host_ret` and `host_out_len` and bumps `Proc::host_done`. 0 when lanes poll
    /// `SysReq::done` themselves (quantum mode, CPU backend). With several submission
    /// rings (`nrings`), as many completion rings, one after another, and a poller warp
    /// for each: lane `l`'s answers go to ring `(l / 32) % ncomp` (backend/cuda/rings.rs).
    pub comp: u64,
    /// Number of completion rings at `comp` (0 means 1).
    pub ncomp: u64,
    /// Processes not yet ended: one per lane at the start, one more per fork, one less
    /// when the family scheduler has handled an end (kernel/sched.h).
    pub live: u64,
    /// Address of the signal return trampoline (`mov x8, #139; svc #0`), the analog of
    /// the vDSO's `__kernel_rt_sigreturn`, where handlers return without SA_RESTORER.
    pub sigtramp: u64,
    /// `PanicRecord` in host memory (pinned, device-mapped on the GPU), or 0.
    pub panic: u64,
    /// Process slots in `procs`: `nprocs` lanes' first processes, then the child pool.
    pub nslots: u64,
    /// Child slots never yet used start here (bump allocation, from `nprocs`).
    pub slot_bump: u64,
    /// Child slots in use (taken and not yet returned), for the fair-share rule of
    /// kernel/proc/family.h `slot_take`.
    pub slots_used: u64,
    /// Nanoseconds to add to the device clock (`now_ns`: the GPU's global timer, or
    /// CLOCK_MONOTONIC on the CPU backend) for CLOCK_MONOTONIC, measured by the host at
    /// the start of the run (kernel/sys/time_sys.h serves the clocks on the device).
    pub clock_mono_off: i64,
    /// The same for CLOCK_REALTIME.
    pub clock_real_off: i64,
    /// The same for CLOCK_BOOTTIME.
    pub clock_boot_off: i64,
    /// Every process's resident limit in frames (`Proc::rss_limit`; 0 = none).
    pub rss_limit: u64,
    /// Every process's initial RLIMIT_AS, soft and hard, in bytes (0 = unlimited).
    pub as_limit: u64,
    /// Tier 2 profile (docs/ARCHITECTURE.md, "Tier 2"): one `u32` per instruction slot of
    /// each image-template frame, parallel to `dcache`, counting how often the
    /// interpreter entered a block at that slot (after a branch, a syscall or a block).
    /// Shared by all lanes of the image; counts are relaxed and may lose increments.
    /// 0 = no profiling (`--translate never`).
    pub t2_counts: u64,
    /// Tier 2 on the CPU backend: the host address of the loaded translation's
    /// `gpuos_t2_enter` (kernel/tier2/tier2.h), or 0 for none. Replaced at any time by
    /// the host (a newer translation); the core reads it once per call. Unused on the GPU,
    /// where the translation is compiled into the core.
    pub t2_enter: u64,
    /// Guest instructions retired inside translated blocks, summed over lanes.
    pub t2_insns: u64,
    /// Warp groups that entered the run loop (`core_run`) on the GPU: each call counts
    /// once per set of lanes of a warp executing it together (`__activemask()`), and
    /// `run_group_lanes` sums those sets' sizes. Their ratio, in 1..=32, says how well
    /// a warp's lanes stay together between slices and host calls (32: the whole warp
    /// each time). Zero on the CPU backend.
    pub run_groups: u64,
    /// See `run_groups`.
    pub run_group_lanes: u64,
    /// Steps at which lanes of a warp that ran together went different ways, summed
    /// over lanes: a lane waiting in `core_run` while others of its group stepped, or a
    /// translated region's jump taken through its scheduler because not every lane of
    /// the region was there (kernel/tier2/tier2.h `T2_GOTO`). Per translated
    /// instruction (`t2_insns`) it tells lanes running one path (about 0) from lanes
    /// whose programs part (the persistent kernel's relaunch policy,
    /// backend/cuda/run.rs). Zero on the CPU backend.
    pub split_steps: u64,
    /// Translated loads and stores that missed their region's own soft-TLB entry and
    /// went to the Core's soft TLB (kernel/tier2/tier2.h `t2_load_miss`,
    /// `t2_store_miss`, `t2_quad`), summed over lanes: per translated instruction, what
    /// the region's entries (`T2Ways`) cost.
    pub t2_misses: u64,
    /// Translated instructions counted once per group of lanes that executed them
    /// together (each block's first active lane counts it), summed: `t2_insns` over this
    /// is the mean number of lanes per executed translated instruction. Only the
    /// measuring core `-DGPUOS_T2_GROUP_STATS` counts (kernel/tier2/tier2.h `T2_GROUP`);
    /// 0 otherwise.
    pub t2_group_insns: u64,
    /// Instructions per slice of the persistent kernel's lanes, set by the host while
    /// the kernel runs (0: the launch's own `slice` argument). Each lane reads it when it
    /// starts a slice, so the relaunch policy (backend/cuda/relaunch.rs) changes the
    /// slice length without stopping the kernel: a stop waits for every lane to end its
    /// slice, which for a 1 M-instruction slice of 16,384 lanes is a third of a second
    /// (lanes that part: over a second) of a draining GPU.
    pub slice: u64,
    /// Nonzero: each warp of the persistent kernel leaves once one of its lanes has used
    /// up a slice (`LANE_BUDGET`), so that the kernel ends after about one slice and the
    /// host launches it again with every warp in step, as quantum mode's launches start
    /// them (the launch policy while the lanes run together, backend/cuda/relaunch.rs).
    /// Written by the host together with `slice`, read by each warp after a slice.
    pub slice_once: u64,
    /// The stat cache (kernel/sys/statcache.h): `statc_mask + 1` entries of
    /// `STATC_ENTRY_BYTES`, zeroed at the start; newfstatat answers for paths in the
    /// read-only sysroot, kept for every process of the run.
    pub statc: u64,
    /// Entries of the stat cache minus one (a power of two minus one).
    pub statc_mask: u64,
    /// The host's real user id, which the guest's processes have (getuid(2), answered
    /// on the device; it also reports it in waitid's siginfo).
    pub uid: u32,
    /// The host's effective user id: 0 gives the guest's processes the privileges
    /// Linux gives root where the device checks them (setpriority(2) raising priority).
    pub euid: u32,
    /// The host's real group id, which the guest's processes have (getgid(2), served
    /// on the device as getuid(2), geteuid(2) and getegid(2) are: gpuos has no
    /// set*id(2), so the four never change during a run).
    pub gid: u32,
    /// The host's effective group id (getegid(2)).
    pub egid: u32,
    /// getrandom(2)'s ChaCha20 key for this run (kernel/sys/random.h): 32 bytes of the
    /// host's getrandom, drawn at the start.
    pub rng_key: [u64; 4],
    /// What readlink of /proc/self/exe gives a process that runs the run's own program
    /// (the guest path of PROGRAM, host/file.rs `sys_readlinkat`), `exe_len` bytes;
    /// `exe_len` 0 when it does not fit or lanes run jobs of their own: the host answers.
    /// kernel/sys/procfs.h `sys_readlinkat` answers on the device. (Bytes in u64s: a
    /// derived Default stops at arrays of 32.)
    pub exe_path: [u64; EXE_PATH_WORDS],
    pub exe_len: u64,
    /// The page cache (kernel/mm/pcache.h): `pcache_mask + 1` entries of two u64s
    /// (key, frame + 1), zeroed at the start; file pages read from the host once and
    /// shared by every process and lane that maps them.
    pub pcache: u64,
    /// Entries of the page cache minus one (a power of two minus one).
    pub pcache_mask: u64,
    /// Frames the page cache took (file pages read from the host and cached, each one
    /// copy for every process that maps it), counted by the device; the run's report.
    pub pcache_frames: u64,
    /// Interleaved frames (kernel/mm/mm.h): a bitmap (`u32` words) of the pool's groups
    /// of `IL_GROUP` frames, bit set for a group handed out interleaved; 0 when the run
    /// has no interleaved frames (all frames contiguous).
    pub il_map: u64,
    /// Placement hints, `IL_SLOTS` `u64`s per warp of lanes (lane / `IL_GROUP`),
    /// zeroed at the start: `(group + 1) << 36 | vpn`, a group where the warp's lanes
    /// put guest page `vpn` (36 bits of a 48-bit address space).
    pub il_slots: u64,
    /// The name a process of the run's program starts with (`Proc::comm`: the program
    /// file's name, at most 15 bytes, NUL-padded), as Linux names a process after the
    /// file it executes.
    pub comm: [u8; 16],
    /// Decode cache of the page cache's frames (kernel/mm/mm.h `code_ids_of`): one `u32`
    /// per frame of the pool, zeroed at the start. 0: no decode cache for the frame (a
    /// private or a shared-writable one, whose bytes may change); `DCODE_CACHEABLE` (1):
    /// a frame of the page cache under a file version's identity, immutable for the
    /// whole run; `slab + 2`: the same, with frame `slab` holding its 1,024 decode-cache
    /// entries (`u16`, as `dcache`), allocated from the pool the first time a lane
    /// executes the frame. Shared libraries' code (libc, libpython) is then decoded
    /// once per run, not at every execution. 0 = none.
    pub dcache_map: u64,
    /// Spinlocks (0 free, 1 held) of the 16-byte store-exclusives (STXP of two X
    /// registers, kernel/a64/ldst.h), one per granule address's hash: the pair is
    /// compared and stored under the lock, as one step for every lane and module.
    pub excl_locks: [u32; EXCL_LOCKS],
    /// Spare lanes (GPU threads or host threads beyond the lanes' families) that run
    /// tasks offered by the families' lanes (kernel/proc/spare.h); 0: none, and the
    /// lanes offer nothing.
    pub spare_lanes: u64,
    /// GPU threads from one spare lane to the next (1 to 32; 0 reads as 1): spare lanes
    /// spread one per warp where the GPU has room, since the tasks of one warp's lanes
    /// run one after another whenever they are at different instructions.
    pub spare_stride: u64,
    /// The run queue of offered tasks: `runq_shards` shards, each a bounded
    /// multi-producer multi-consumer queue (Vyukov's) of `RUNQ_SHARD_HDR` words (its tail
    /// and head) and `runq_mask + 1` cells of two `u64`s (sequence, slot); 0 when there
    /// are no spare lanes.
    pub runq: u64,
    /// Cells of one shard of the run queue minus one (a power of two minus one).
    pub runq_mask: u64,
    /// Shards of the run queue (a power of two, at most `RUNQ_MAX_SHARDS`; 0 reads as
    /// 1). A task is queued in shard slot mod shards; a spare lane takes from its own
    /// shard first.
    pub runq_shards: u64,
    /// Instructions a spare lane runs a task between looks at its recall flag, pending
    /// signals and the queue.
    pub spare_slice: u64,
    /// Tasks taken from the run queue by spare lanes (a count for `-v`).
    pub spare_takes: u64,
    /// Guest instructions retired on spare lanes (a count for `-v`).
    pub spare_insns: u64,
    /// Processes and threads the device made without the host (fork, vfork, clone,
    /// clone3 answered on the device: kernel/sys/process.h `clone_do`), for `-v` and
    /// `gpuos bench` (issue 16's "under 1 us device-side per spawn").
    pub spawns: u64,
    /// Device nanoseconds those spawns took, summed: each from the clone call's entry
    /// to the child's task made runnable and the parent's result set (the caller's own
    /// time, on the device clock; its wait for a free child slot or lane not included).
    pub spawn_ns: u64,
    /// -DGPUOS_SPAWN_SPLIT (a core variant to measure): device nanoseconds of the
    /// spawns' stages, summed (backend/mod.rs `SPAWN_STAGE_NAMES`; kernel/proc/thread.h); zero in the
    /// default core. `gpuos run -v` prints each stage's mean per spawn.
    pub spawn_stage_ns: [u64; SPAWN_STAGES],
    /// The image template's file-backed ranges (the program's and its interpreter's
    /// segments, as the template maps them), which its processes start with
    /// (`Proc::fmaps`).
    pub tmpl_fmaps: [FileMap; TMPL_FMAPS],
    /// Entries of `tmpl_fmaps` in use.
    pub tmpl_nfmaps: u64,
}

/// Entries of `MachineHdr::excl_locks`.
pub const EXCL_LOCKS: usize = 32;

/// An internal error of gpuos itself (a broken invariant, never a guest's doing),
/// recorded by the first lane that detects one before it stops the kernel (`__trap`).
/// It lives in host memory, so the host can still read it after the fault has made the
/// CUDA context unusable, and name the lane in its error.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PanicRecord {
    /// Non-zero once recorded (the first detector wins).
    pub set: u32,
    /// What broke: a `PANIC_*` code.
    pub code: u32,
    /// The lane (process index) that detected it.
    pub lane: u64,
    /// The offending value (a frame index).
    pub arg: u64,
}

/// `PanicRecord::code`: a frame index beyond the frame pool (a corrupt page table).
pub const PANIC_FRAME_RANGE: u32 = 1;
/// `PanicRecord::code`: a frame's reference count dropped below zero.
pub const PANIC_REFCNT: u32 = 2;
/// `PanicRecord::code`: a process's resident or mapped-page count did not match its
/// page tables when it ended (checked on the host only; kernel/proc/proc.h).
pub const PANIC_ACCOUNT: u32 = 3;

/// Submission ring from lanes to the host: a bounded multi-producer queue of lane
/// indices with per-cell sequence numbers (D. Vyukov's bounded MPMC queue).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RingHdr {
    /// Number of cells, a power of two, at least 2.
    pub capacity: u64,
    /// Address of the `u64` counter of the next position producers reserve (fetch-add).
    /// It lives in device memory on the GPU: only lanes touch it, and atomics across
    /// PCIe are not guaranteed.
    pub enq: u64,
    /// Next position the consumer reads.
    pub deq: u64,
    /// Cells: `RingCell[capacity]`.
    pub cells: u64,
    /// Non-zero once the consumer is gone; producers stop waiting and fail.
    pub closed: u32,
    /// Non-zero when `capacity` is at least the number of entries that can ever be in
    /// the ring at once (each producer has at most one in flight): a reserved cell is
    /// then always free, and producers skip the wait for it (a read across PCIe).
    pub no_wait: u32,
}

/// One cell of a ring (submission or completion).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RingCell {
    /// Sequence number: `pos` when free for the producer at `pos`, `pos + 1` when full.
    pub seq: u64,
    /// Payload: the lane index.
    pub lane: u64,
    /// Completion ring only: the served request's result (`SysReq::ret`, an i64).
    /// The submission ring leaves it alone.
    pub ret: u64,
    /// Completion ring only: bytes of output in the lane's buffer (`SysReq::out_len`),
    /// with `SysReq::fd_low` in the high half.
    pub out_len: u64,
}
