//! The machine every backend builds, in one place: how many lanes and process slots, the
//! request buffers' and the frame pools' sizes, the image template staged in a host
//! pool, and the `MachineHdr` fields that follow from them. The backends differ only in
//! where the arrays live (host memory on the CPU, device and pinned memory on the GPU)
//! and in the clocks' offsets.

use crate::abi::{MachineHdr, FREE_HEADS, IL_GROUP, IL_SLOTS, PAGE_SIZE};
use crate::machine::{MemoryError, RunConfig, RunError};
use crate::mem::HostRegion;
use crate::prepare::Prepared;

/// Frames in the CPU backend's pool (address space only; 16 GiB), unless
/// `GPUOS_POOL_MIB` sets its size.
const CPU_POOL_FRAMES: u64 = 1 << 22;

/// Bytes of syscall buffer per lane on the CPU backend.
pub const CPU_BUF_SIZE: u64 = 64 << 10;

/// The smallest syscall buffer of a lane on any backend: what a lane's start image that
/// is a load plan (`gpuos run --jobs`) must fit in.
pub const MIN_BUF_SIZE: u64 = 16 << 10;

/// Bytes the GPU keeps free for the lanes' local memory (their stacks) and the driver.
const GPU_RESERVE: usize = 512 << 20;
/// Entries of the stat cache (kernel/sys/statcache.h), a power of two: 1.5 MiB. A
/// python3 start-up stats about a hundred distinct sysroot paths; a full neighbourhood
/// only leaves answers to the host.
const STATC_ENTRIES: usize = 4096;

/// `GPUOS_POOL_MIB`: the frame pool's size in MiB when set (several gpuos runs sharing
/// one GPU, as the conformance script's parallel jobs do).
fn pool_mib() -> Option<u64> {
    std::env::var("GPUOS_POOL_MIB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
}

/// The shape of one run's machine.
#[derive(Clone, Copy, Debug)]
pub struct MachineLayout {
    /// Lanes (each lane's first process has the slot of the lane's index).
    pub lanes: usize,
    /// Process slots: the lanes' first processes, then the pool for children.
    pub slots: usize,
    /// Bytes of request buffer per lane.
    pub buf_size: u64,
}

/// Where a backend put the machine's arrays, as addresses the core dereferences.
pub struct MachineArrays {
    /// `Proc[slots]`.
    pub procs: u64,
    /// `SysReq[lanes]`.
    pub reqs: u64,
    /// `lanes` request buffers of `buf_size` bytes.
    pub bufs: u64,
    /// The stack images, concatenated ([`Prepared::stack_blob`]).
    pub stacks: u64,
    /// Their offsets (`nstacks + 1` entries).
    pub stack_offs: u64,
    /// The decode cache: [`MachineLayout::dcache_entries`] `u16`s.
    pub dcache: u64,
    /// The page cache, zeroed: [`MachineLayout::pcache_entries`] entries of 16 bytes.
    pub pcache: u64,
    /// The stat cache, zeroed: [`STATC_ENTRIES`] entries of `abi::STATC_ENTRY_BYTES`.
    pub statc: u64,
    /// The page cache's decode-cache map, zeroed: one `u32` per frame of the pool
    /// (`MachineHdr::dcache_map`).
    pub dcache_map: u64,
    /// The interleaved groups' bitmap, zeroed: [`MachineLayout::il_map_words`] `u32`s;
    /// 0 without interleaved frames ([`MachineLayout::interleave`]).
    pub il_map: u64,
    /// The placement hints, zeroed: [`MachineLayout::il_slot_count`] `u64`s (0 likewise).
    pub il_slots: u64,
}

impl MachineLayout {
    /// The layout of `cfg`'s run with request buffers of `buf_size` bytes.
    pub fn new(cfg: &RunConfig, buf_size: u64) -> MachineLayout {
        let lanes = cfg.lanes.max(1);
        MachineLayout {
            lanes,
            slots: lanes + cfg.children(),
            buf_size,
        }
    }

    /// The CPU backend's layout: [`CPU_BUF_SIZE`] per lane.
    pub fn cpu(cfg: &RunConfig) -> MachineLayout {
        MachineLayout::new(cfg, CPU_BUF_SIZE)
    }

    /// The GPU's layout: request buffers (pinned host memory) sized so that all lanes'
    /// fit in about 2 GiB, 16 to 64 KiB each, whole pages.
    pub fn gpu(cfg: &RunConfig) -> MachineLayout {
        let lanes = cfg.lanes.max(1) as u64;
        MachineLayout::new(
            cfg,
            ((2u64 << 30) / lanes).clamp(MIN_BUF_SIZE, 64 << 10) & !4095,
        )
    }

    /// Frames of the CPU backend's pool: `GPUOS_POOL_MIB` MiB (at least 1 MiB), else
    /// `CPU_POOL_FRAMES` (16 GiB).
    pub fn cpu_pool_frames() -> u64 {
        pool_mib()
            .filter(|&mib| mib > 0)
            .map_or(CPU_POOL_FRAMES, |mib| (mib << 20) / PAGE_SIZE)
    }

    /// Frames of the GPU's pool when `free` bytes of device memory are free: enough for
    /// every lane's likely peak (64 MiB each, at least 1 GiB) beside the template's
    /// `tmpl_frames`, but never more than 90% of what is free less `GPU_RESERVE` (512
    /// MiB), so that several gpuos processes can share one GPU; `GPUOS_POOL_MIB` sets the
    /// size instead. Errors: [`RunError::Memory`] when fewer than the template's frames
    /// and 64 more fit.
    pub fn gpu_pool_frames(&self, tmpl_frames: u64, free: usize) -> Result<u64, RunError> {
        let per_frame = PAGE_SIZE as usize + 12; // the frame, its count, its page-cache share, dcache_map
        let want = match pool_mib() {
            Some(mib) => (mib << 20) / PAGE_SIZE,
            None => (self.lanes as u64 * 16384).max(262_144) + tmpl_frames,
        };
        let nframes = ((free.saturating_sub(GPU_RESERVE) * 9 / 10 / per_frame) as u64).min(want);
        if nframes < tmpl_frames + 64 {
            return Err(MemoryError::GpuFree(free).into());
        }
        Ok(nframes)
    }

    /// Entries (`u16`) of the decode cache for a template of `tmpl_frames` frames: one
    /// per instruction slot of each frame.
    pub fn dcache_entries(tmpl_frames: u64) -> usize {
        (tmpl_frames * 1024) as usize
    }

    /// The spare lanes' run queue (kernel/proc/spare.h) for `slots` process slots and
    /// `spares` spare lanes. `GPUOS_RUNQ_SHARDS=N` sets the shards (a power of two, 1 to
    /// `RUNQ_MAX_SHARDS`: to measure against one queue).
    pub fn run_queue(slots: usize, spares: usize) -> RunQueue {
        let shards = std::env::var("GPUOS_RUNQ_SHARDS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or_else(|| RunQueue::shards_for(spares));
        RunQueue::new(slots, shards)
    }

    /// Instructions a spare lane runs a task between looks at its recall flag, its
    /// pending signals and the run queue, and the most a family's lane runs while some
    /// of its tasks are away (their handed-back syscalls wait for it).
    pub const SPARE_SLICE: u64 = 1 << 16;

    /// Bytes of the stat cache (kernel/sys/statcache.h).
    pub fn statc_bytes() -> usize {
        STATC_ENTRIES * crate::abi::STATC_ENTRY_BYTES
    }

    /// Entries (16 bytes each) of the page cache (kernel/mm/pcache.h) for a pool of
    /// `nframes` frames: a power of two, about one for every four frames of the pool
    /// (a full table only stops caching: pages then stay private to their mapping),
    /// from 4,096 to 4 Mi (64 MiB).
    pub fn pcache_entries(nframes: u64) -> usize {
        (nframes / 4).clamp(4096, 1 << 22).next_power_of_two() as usize
    }

    /// Whether the lanes' private pages go in interleaved frames (kernel/mm/mm.h,
    /// "interleaved frames"): by default (`GPUOS_INTERLEAVE` unset or `auto`) on the
    /// GPU (`gpu`) when there is at least a warp's worth of lanes, as fewer would gain
    /// nothing and spread each page of theirs over a whole group's memory, and never on
    /// the CPU, whose threads have no warps to coalesce; `GPUOS_INTERLEAVE=0` never (to
    /// compare), `always` on either backend at any lane count (to test the layout's
    /// paths on the CPU backend).
    pub fn interleave(&self, gpu: bool) -> bool {
        match std::env::var("GPUOS_INTERLEAVE").as_deref() {
            Ok("0") => false,
            Ok("always") => true,
            _ => gpu && self.lanes as u64 >= IL_GROUP,
        }
    }

    /// `u32` words of the interleaved groups' bitmap of a pool of `nframes` frames.
    pub fn il_map_words(nframes: u64) -> usize {
        nframes.div_ceil(IL_GROUP).div_ceil(32) as usize
    }

    /// Placement hints (`u64`): [`IL_SLOTS`] per warp of lanes.
    pub fn il_slot_count(&self) -> usize {
        ((self.lanes as u64).div_ceil(IL_GROUP) * IL_SLOTS) as usize
    }

    /// Fill the fields of `hdr` that every backend sets alike: the arrays, the lanes and
    /// slots, the limits of `cfg` (instructions, memory: [`mem_limits`] for the pool
    /// and template `hdr` already describes), `--strace`, every lane live.
    pub fn fill(&self, cfg: &RunConfig, prep: &Prepared, a: &MachineArrays, hdr: &mut MachineHdr) {
        hdr.dcache = a.dcache;
        hdr.pcache = a.pcache;
        hdr.statc = a.statc;
        hdr.statc_mask = STATC_ENTRIES as u64 - 1;
        // GPUOS_NO_LIB_DCACHE=1: shared libraries' code decoded at every execution, as
        // before their decode cache (to measure it).
        hdr.dcache_map = if std::env::var_os("GPUOS_NO_LIB_DCACHE").is_some() {
            0
        } else {
            a.dcache_map
        };
        hdr.il_map = a.il_map;
        hdr.il_slots = a.il_slots;
        hdr.pcache_mask = MachineLayout::pcache_entries(hdr.nframes) as u64 - 1;
        hdr.procs = a.procs;
        hdr.nprocs = self.lanes as u64;
        hdr.nslots = self.slots as u64;
        hdr.slot_bump = self.lanes as u64;
        hdr.reqs = a.reqs;
        hdr.bufs = a.bufs;
        hdr.buf_size = self.buf_size;
        hdr.stacks = a.stacks;
        hdr.stack_offs = a.stack_offs;
        hdr.nstacks = prep.stacks.len() as u64;
        hdr.max_insns = cfg.max_insns;
        hdr.strace = cfg.strace as u32;
        (hdr.uid, hdr.euid, hdr.gid, hdr.egid) = crate::host::host_ids();
        hdr.rng_key = crate::host::rng_key();
        // /proc/self/exe of the run's own program, for the device to answer (not with
        // jobs, whose lanes' programs the host names).
        let exe = prep.sandbox.exe().as_os_str().as_encoded_bytes();
        hdr.exe_len = 0;
        if !prep.has_jobs() && !exe.is_empty() && exe.len() <= crate::abi::EXE_PATH_MAX {
            let mut b = [0u8; crate::abi::EXE_PATH_MAX];
            b[..exe.len()].copy_from_slice(exe);
            for (w, c) in hdr.exe_path.iter_mut().zip(b.chunks_exact(8)) {
                *w = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
            }
            hdr.exe_len = exe.len() as u64;
        }
        hdr.stop = 0;
        hdr.live = self.lanes as u64;
        mem_limits(cfg, hdr, hdr.nframes, hdr.tmpl_frames);
    }
}

/// Groups of interleaved frames that the machine of `hdr` made so far: the frames
/// taken from the top of its pool (`MachineHdr::bump`'s high half), in groups.
pub fn interleaved_groups(hdr: &MachineHdr) -> u64 {
    (hdr.bump >> 32) / IL_GROUP
}

/// Frames of the pool of the machine of `hdr` handed out so far, from either end
/// (`MachineHdr::bump`): freed frames are used again before new ones, so this is the
/// high-water mark of the frames held at once, give or take the free lists' shards.
pub fn pool_frames(hdr: &MachineHdr) -> u64 {
    (hdr.bump & 0xffff_ffff) + (hdr.bump >> 32)
}

/// The image template built in a host frame pool, with the header that describes both.
pub struct Template {
    /// The header: the pool's fields and the template's (`MachineHdr::tmpl_root`, ...).
    pub hdr: MachineHdr,
    /// The pool whose first frames hold the template.
    pub pool: HostPool,
    /// Frames the template uses.
    pub frames: u64,
}

impl Template {
    /// Build `prep`'s template in a new host pool of `nframes` frames.
    pub fn build(prep: &Prepared, nframes: u64) -> Result<Template, RunError> {
        let mut hdr = MachineHdr::default();
        let pool = HostPool::new(nframes, &mut hdr)?;
        let frames = prep.build_template(&mut hdr)?;
        Ok(Template { hdr, pool, frames })
    }

    /// Build `prep`'s template in a pool just large enough (a staging pool, to copy
    /// elsewhere: the GPU's pool; or to time the build: `gpuos bench`).
    pub fn staged(prep: &Prepared) -> Result<Template, RunError> {
        Template::build(prep, prep.template_frames_bound())
    }

    /// The template's frames, as bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the pool's first `frames` frames are mapped and were written by the
        // template's build.
        unsafe {
            std::slice::from_raw_parts(self.pool.frames.ptr(), (self.frames * PAGE_SIZE) as usize)
        }
    }
}

/// The per-process memory limits of a run whose frame pool has `nframes` frames, of
/// which `tmpl_frames` hold the image template, set in `m` (`MachineHdr::rss_limit` in
/// frames, `as_limit` in bytes). With `--mem-per-process BYTES` both are BYTES. By
/// default the resident limit is the lanes' fair share of the pool, (nframes -
/// tmpl_frames) / lanes frames, so that no lane's first process can take the frames
/// its neighbours need (children of a family have shares of their own), and RLIMIT_AS
/// is unlimited, as on Linux: lazy reservations cost no frames until touched.
pub fn mem_limits(cfg: &RunConfig, m: &mut MachineHdr, nframes: u64, tmpl_frames: u64) {
    let lanes = cfg.lanes.max(1) as u64;
    if cfg.mem_per_process > 0 {
        m.rss_limit = cfg.mem_per_process.div_ceil(PAGE_SIZE).max(1);
        m.as_limit = cfg.mem_per_process;
    } else {
        m.rss_limit = (nframes.saturating_sub(tmpl_frames) / lanes).max(1);
        m.as_limit = 0;
    }
}

/// Reserve a host frame pool for `nframes` frames and point `m` at it.
pub struct HostPool {
    /// Frame bytes.
    pub frames: HostRegion,
    /// Reference counts.
    pub refcnt: HostRegion,
    /// Free-list heads (`u64[FREE_HEADS]`).
    pub free: HostRegion,
}

impl HostPool {
    /// Reserve the pool (address space only; pages appear when touched).
    pub fn new(nframes: u64, m: &mut MachineHdr) -> Result<HostPool, RunError> {
        let err = MemoryError::Reserve;
        let frames = HostRegion::new((nframes * PAGE_SIZE) as usize).map_err(err)?;
        let refcnt = HostRegion::new((nframes * 4) as usize).map_err(err)?;
        let free = HostRegion::new((FREE_HEADS * 8) as usize).map_err(err)?;
        m.frames = frames.addr();
        m.nframes = nframes;
        m.refcnt = refcnt.addr();
        m.free_heads = free.addr(); // zeroed: every list empty
        m.bump = 0;
        Ok(HostPool {
            frames,
            refcnt,
            free,
        })
    }
}

/// The spare lanes' run queue (kernel/proc/spare.h, `MachineHdr::runq`) as its initial
/// words: `shards` shards, each `RUNQ_SHARD_HDR` words (its tail at 0, its head at 8,
/// both 0) and then `mask + 1` cells of a sequence number (the cell's index) and a slot.
/// With one queue every spare lane of the GPU takes from one head and puts its task
/// back to one tail after each slice while others wait, as every spawn once went
/// through one free-slot stack; with shards a spare lane takes from its own first
/// (whether one queue is what slowed threads-mutex at 1,000 lanes with 4,192 spare
/// lanes is not yet measured: docs/BENCHMARKS.md, forty-sixth session).
pub struct RunQueue {
    /// The shards' words, one after another (`MachineHdr::runq`).
    pub words: Vec<u64>,
    /// Cells per shard minus one (`MachineHdr::runq_mask`).
    pub mask: u64,
    /// Shards, a power of two (`MachineHdr::runq_shards`).
    pub shards: u64,
}

impl RunQueue {
    /// Spare lanes per shard of the run queue by default.
    const SPARES_PER_SHARD: usize = 16;

    /// The default shards for `spares` spare lanes: one per 16 of them, a power of two,
    /// 1 to `RUNQ_MAX_SHARDS` (one queue, as before, up to 31 spare lanes).
    pub fn shards_for(spares: usize) -> usize {
        let n = (spares / Self::SPARES_PER_SHARD).clamp(1, crate::abi::RUNQ_MAX_SHARDS as usize);
        1 << n.ilog2()
    }

    /// A run queue of `shards` shards (rounded down to a power of two, 1 to
    /// `RUNQ_MAX_SHARDS`) for `slots` process slots: each shard holds at least two cells
    /// per slot queued there (a task may be queued twice: offered, taken back and
    /// offered again before a spare lane drops the stale entry); a task finding its
    /// shard full tries the others (kernel/proc/spare.h `runq_push`).
    pub fn new(slots: usize, shards: usize) -> RunQueue {
        let shards = shards.clamp(1, crate::abi::RUNQ_MAX_SHARDS as usize);
        let shards = 1usize << shards.ilog2();
        let cells = (2 * slots).div_ceil(shards).max(2).next_power_of_two();
        let hdr = crate::abi::RUNQ_SHARD_HDR as usize;
        let mut words = Vec::with_capacity(shards * (hdr + 2 * cells));
        for _ in 0..shards {
            words.extend(std::iter::repeat_n(0u64, hdr));
            words.extend((0..cells as u64).flat_map(|i| [i, 0]));
        }
        RunQueue {
            words,
            mask: cells as u64 - 1,
            shards: shards as u64,
        }
    }

    /// Words of one shard whose cells number `mask + 1` (its tail and head, its cells).
    pub fn shard_words(mask: u64) -> usize {
        (crate::abi::RUNQ_SHARD_HDR + 2 * (mask + 1)) as usize
    }

    /// Entries (some maybe stale) waiting in the queue whose words are `words`.
    pub fn waiting(words: &[u64], shards: u64, mask: u64) -> u64 {
        let stride = Self::shard_words(mask);
        (0..shards.max(1) as usize)
            .filter_map(|k| {
                Some(
                    words
                        .get(k * stride)?
                        .wrapping_sub(*words.get(k * stride + 8)?),
                )
            })
            .sum()
    }
}

#[cfg(test)]
mod run_queue_tests {
    use super::RunQueue;
    use crate::abi::RUNQ_SHARD_HDR;

    /// One shard up to 31 spare lanes, one per 16 above, at most 64, always a power of two.
    #[test]
    fn shards_follow_the_spare_lanes() {
        assert_eq!(RunQueue::shards_for(0), 1);
        assert_eq!(RunQueue::shards_for(16), 1);
        assert_eq!(RunQueue::shards_for(31), 1);
        assert_eq!(RunQueue::shards_for(32), 2);
        assert_eq!(RunQueue::shards_for(100), 4);
        assert_eq!(RunQueue::shards_for(1024), 64);
        assert_eq!(RunQueue::shards_for(4192), 64);
    }

    /// Each shard: its tail and head at 0, then its cells numbered from 0; every shard
    /// holds two cells per slot it gets.
    #[test]
    fn shards_are_laid_out_with_their_cells_numbered() {
        let q = RunQueue::new(100, 4);
        assert_eq!(q.shards, 4);
        assert_eq!(q.mask, 63);
        let stride = (RUNQ_SHARD_HDR + 2 * 64) as usize;
        assert_eq!(q.words.len(), 4 * stride);
        for k in 0..4 {
            let s = &q.words[k * stride..(k + 1) * stride];
            assert!(s[..RUNQ_SHARD_HDR as usize].iter().all(|&w| w == 0));
            assert_eq!(s[RUNQ_SHARD_HDR as usize + 2 * 5], 5);
        }
        assert_eq!(RunQueue::new(100, 1).mask, 255);
        assert_eq!(RunQueue::new(100, 3).shards, 2);
        let mut w = q.words.clone();
        w[stride] = 7; // shard 1: tail 7, head 4
        w[stride + 8] = 4;
        assert_eq!(RunQueue::waiting(&w, 4, 63), 3);
    }
}
