//! One run on the GPU, in steps: set up the machine in device and pinned memory
//! ([`DeviceMachine::new`]), start the processes ([`start_processes`]), drain the lanes'
//! requests until every process has ended ([`drain_persistent`], [`drain_quantum`]),
//! collect the lanes' results ([`collect`]).

use super::compile::{compile_for_run, load_module, CoreStep, Module};
use super::launch::{launch, launch_grid, launch_lanes, sync, watch_kernel, with_panic};
use super::memory::{DevBuf, Pinned, Streams};
use super::relaunch::{Counters, Decision, LaunchPolicy};
use super::rings::{CompRings, CompView, SubRings};
use super::service::{publish, serve_one, service_loop, service_thread_count, PopLock, Shared};
use super::{err, instructions_from_env, open_device, BLOCK, PERSISTENT_SLICE, QUANTUM};
use crate::abi::{MachineHdr, PanicRecord, Proc, RingHdr, SysReq, FREE_HEADS, PAGE_SIZE};
use crate::backend::{map_in_order, report_round_trips, stop_requested, HostTimes};
use crate::lane::finish_lane;
use crate::layout::{MachineArrays, MachineLayout, Template};
use crate::machine::Translate;
use crate::machine::{BackendError, LaneResult, RunConfig, RunError, RunReport};
use crate::prepare::Prepared;
use crate::service::policy::Held;
use crate::service::Procs;
use crate::translate::{GpuProfile, ProfileReader, Tier2};
use cudarc::driver::{result as cu, sys};
use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Instructions a spare lane runs a task between looks at its recall flag (and the most
/// a lane runs while some of its tasks are away) on the GPU, where one lane runs a few
/// million instructions a second: a lane waiting for its tasks to come home waits about
/// this long.
const GPU_SPARE_SLICE: u64 = 1 << 12;

/// GPU threads that fit beside `lanes` lanes (their blocks) for spare lanes: a spare
/// lane loops until every process has ended, so its block must not hold a place a
/// lanes' block waits for. `interim`: `module` is a quick core (see
/// `module_resident_lanes`).
fn room_for_spares(module: &Module, interim: bool, lanes: usize) -> Result<usize, RunError> {
    Ok(super::module_resident_lanes(module, interim)?
        .saturating_sub(lanes.next_multiple_of(BLOCK as usize)))
}

/// Spare lanes a run of `lanes` lanes asks for when `--spare-lanes` is not given: for
/// one lane (one program run alone), `SPARES_ALONE`, each in a warp of its own where the
/// GPU has room (`spare_stride`: a warp's threads at different instructions take turns;
/// 16 threads of one process ran 4.6x one thread on one warp's lanes, 9.5x on lanes of
/// different warps; H200, twenty-second session); for more lanes none. Measured on an
/// H100 (forty-sixth session): at one lane with 16 spare lanes the whole conformance
/// suite passed and `spare compute 16` ran at 14x one thread; at 1,000 lanes with 4,192
/// spare lanes (one per warp of the room) most threaded cases passed, but threads-mutex
/// did not end in 120 s and cxx-threads-sync took 82 s: threads of 1,000 processes
/// contending for their mutexes on thousands of GPU threads at once are far slower than
/// each process's threads taking turns on its lane. Lanes are what parallelise a
/// many-lane run; spare lanes there stay opt-in.
fn default_spares(lanes: usize) -> usize {
    if lanes == 1 {
        SPARES_ALONE
    } else {
        0
    }
}

/// Spare lanes of a run of one lane by default: what a 16-thread program needs to run
/// its threads at once (sched_getaffinity then reports 17 CPUs).
const SPARES_ALONE: usize = 16;

/// Threads from one spare lane to the next (`MachineHdr::spare_stride`): as far apart
/// as `room` threads allow, at most a warp, so that `spares` tasks at different
/// instructions run in different warps (the lanes of one warp take turns).
fn spare_stride(spares: usize, room: usize) -> usize {
    if spares == 0 {
        return 1;
    }
    (room / spares).clamp(1, 32)
}

/// Run `cfg.lanes` copies of the prepared program on the GPU.
pub fn run(cfg: &RunConfig, prep: &Prepared) -> Result<RunReport, RunError> {
    let layout = MachineLayout::gpu(cfg);
    let t_setup = Instant::now();
    let (name, arch, free) = open_device()?;
    let t_compile = Instant::now();
    let (bin, upgrade) = compile_for_run(&arch, cfg.verbose)?;
    let module = load_module(&bin)?;
    if cfg.verbose {
        eprintln!(
            "gpuos: {name} ({arch}), {} MiB free; module ready in {:.2} s",
            free >> 20,
            t_compile.elapsed().as_secs_f64()
        );
    }
    let mut m = DeviceMachine::new(cfg, prep, &module, !upgrade.is_empty(), &layout)?;
    let t2 = Tier2Run::new(cfg, prep, &m, &arch, upgrade)?;
    let cores = Cores::new(module);
    // A cached translation: the lanes start translated.
    t2.swap_in(&cores, cfg.verbose)?;
    let hosts = Procs::new(cfg, prep, layout.lanes, layout.slots - layout.lanes);
    for l in 0..layout.lanes {
        hosts.start_lane(l)?;
    }
    // The lanes' kernels; stop-flag writes and debug reads beside them; the poller.
    let streams = Streams::new(3)?;
    let (stream, ctl, poll_stream) = (streams.0[0], streams.0[1], streams.0[2]);
    let start = start_processes(cfg, &cores.current(), &m, stream, t_setup)?;
    t2.start();
    let sh = m.shared(cfg.strace);
    let stop = StopFlag {
        mdev: m.mdev.0,
        ctl,
    };
    // Host time spent on requests, for the timing report.
    let host_times = HostTimes::default();
    let lanes_run = LanesRun {
        cores: &cores,
        t2: &t2,
        m: &m,
        hosts: &hosts,
        sh,
        stream,
        host_times: &host_times,
        verbose: cfg.verbose,
    };
    let drained = match cfg.mode {
        crate::machine::Mode::Persistent => drain_persistent(cfg, &lanes_run, &stop, poll_stream),
        crate::machine::Mode::Quantum => drain_quantum(&lanes_run),
    };
    let lanes_end = start.elapsed();
    let t2_stats = t2.finish(drained.is_ok());
    drained?;
    sync(stream, "the kernel").map_err(|e| m.explain(e))?;
    // The lanes' time, without tier 2's compile at the end of an `always` run.
    let seconds = lanes_end.as_secs_f64();
    let mut report = collect(
        cfg,
        &m,
        hosts,
        seconds,
        &host_times,
        format!("{name} ({arch})"),
    )?;
    let mut h = MachineHdr::default();
    // SAFETY: reads the device MachineHdr back (every kernel has ended).
    unsafe { cu::memcpy_dtoh_sync(std::slice::from_mut(&mut h), m.mdev.0) }
        .map_err(|e| err("read back", e))?;
    report.interleaved_groups = crate::layout::interleaved_groups(&h);
    report.pool_frames = crate::layout::pool_frames(&h);
    report.cache_frames = h.pcache_frames;
    report.spawns = h.spawns;
    report.spawn_ns = h.spawn_ns;
    if cfg.verbose {
        super::super::report_spawns(&h);
    }
    if cfg.verbose && h.run_groups > 0 {
        eprintln!(
            "gpuos: warps entered the run loop {} times, {:.1} lanes together on average",
            h.run_groups,
            h.run_group_lanes as f64 / h.run_groups as f64
        );
    }
    if cfg.verbose && h.t2_insns > 0 {
        eprintln!(
            "gpuos: {:.3} split steps per 1000 translated instructions (lanes of a warp going different ways)",
            h.split_steps as f64 * 1000.0 / h.t2_insns as f64
        );
        super::super::report_t2_misses(&h);
        if h.t2_group_insns > 0 {
            eprintln!(
                "gpuos: {:.2} lanes together per translated instruction (-DGPUOS_T2_GROUP_STATS)",
                h.t2_insns as f64 / h.t2_group_insns as f64
            );
        }
    }
    if let Some(st) = t2_stats? {
        report.translated = h.t2_insns;
        if cfg.verbose {
            crate::translate::report(&st, h.t2_insns, report.instructions());
        }
    }
    Ok(report)
}

/// The cores of one run: the plain one, then each translated core swapped in (tier 2);
/// the newest runs the lanes. Every one stays loaded until the run ends.
struct Cores(RefCell<Vec<Module>>);

impl Cores {
    fn new(first: Module) -> Cores {
        Cores(RefCell::new(vec![first]))
    }
    fn current(&self) -> std::cell::Ref<'_, Module> {
        std::cell::Ref::map(self.0.borrow(), |v| v.last().expect("a core"))
    }
    fn push(&self, m: Module) {
        self.0.borrow_mut().push(m);
    }
}

/// Tier 2 of a GPU run (docs/ARCHITECTURE.md, "Tier 2"): the profile in device
/// memory, the background translator, and the translated cores it hands over.
struct Tier2Run {
    t2: Option<Arc<Tier2>>,
    /// Whether the profile's device memory may still be read (cleared before it is
    /// freed; the translator's thread may outlive the run).
    alive: Arc<Mutex<bool>>,
    /// Tells the background translator that the run has ended.
    done: Arc<AtomicBool>,
    /// A testing knob, `GPUOS_T2_SWAP_AFTER_MS`: no translated core (not even a cached
    /// one) is swapped in before this time, so that a short run exercises the swap of
    /// the running kernels without waiting for NVRTC.
    hold_until: Option<Instant>,
    /// The better cores that replace the one the run started on (a quick or step core).
    upgrade: Option<CoreUpgrade>,
    /// When the run's tier 2 was set up (`-v` says when each core was swapped in).
    started: Instant,
}

/// The better cores compiling in the background while a run goes on with a quick or
/// step one (compile.rs, `compile_for_run`), worst first: the cache files they appear
/// in, looked for at most every 200 ms; each swapped in at a safe point like a
/// translated core (a better one that is there skips the worse ones), until a
/// translated core (compiled with the optimised options) supersedes them.
struct CoreUpgrade {
    steps: Vec<CoreStep>,
    state: Mutex<UpgradeState>,
}

/// Where a [`CoreUpgrade`] stands.
struct UpgradeState {
    /// When the files were last looked for.
    looked: Option<Instant>,
    /// Steps taken or passed over (all of them: the upgrade is over).
    next: usize,
}

impl CoreUpgrade {
    fn new(steps: Vec<CoreStep>) -> Option<CoreUpgrade> {
        (!steps.is_empty()).then(|| CoreUpgrade {
            steps,
            state: Mutex::new(UpgradeState {
                looked: None,
                next: 0,
            }),
        })
    }

    /// Whether a better core than the current one is there to be swapped in.
    fn ready(&self) -> bool {
        let mut st = self.state.lock().unwrap();
        let now = Instant::now();
        if st.next == self.steps.len()
            || st
                .looked
                .is_some_and(|t| now.duration_since(t).as_millis() < 200)
        {
            return false;
        }
        st.looked = Some(now);
        self.steps[st.next..].iter().any(|s| s.path.exists())
    }

    /// The best core that is there, once, with its name (None before any is there or
    /// after the last was taken).
    fn take(&self) -> Option<(Vec<u8>, String)> {
        let mut st = self.state.lock().unwrap();
        let (i, bin) = (st.next..self.steps.len())
            .rev()
            .find_map(|i| std::fs::read(&self.steps[i].path).ok().map(|b| (i, b)))?;
        st.next = i + 1;
        Some((bin, self.steps[i].name.clone()))
    }

    /// Whether a better core is still to come (one not yet taken, passed over or
    /// superseded).
    fn pending(&self) -> bool {
        self.state.lock().unwrap().next < self.steps.len()
    }

    /// A translated core has been swapped in: it supersedes the upgrade.
    fn retire(&self) {
        self.state.lock().unwrap().next = self.steps.len();
    }
}

/// A CUDA context handed to the translator's thread.
struct SendCtx(sys::CUcontext);
// SAFETY: a context handle may be made current on any thread (cuCtxSetCurrent).
unsafe impl Send for SendCtx {}
// SAFETY: as above; the handle itself is never mutated.
unsafe impl Sync for SendCtx {}
impl SendCtx {
    fn get(&self) -> sys::CUcontext {
        self.0
    }
}

impl Tier2Run {
    fn new(
        cfg: &RunConfig,
        prep: &Prepared,
        m: &DeviceMachine,
        arch: &str,
        upgrade: Vec<CoreStep>,
    ) -> Result<Tier2Run, RunError> {
        let upgrade = CoreUpgrade::new(upgrade);
        let alive = Arc::new(Mutex::new(true));
        let done = Arc::new(AtomicBool::new(false));
        let hold_until = std::env::var("GPUOS_T2_SWAP_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(|ms| Instant::now() + std::time::Duration::from_millis(ms));
        let Some(counts) = &m.t2_counts else {
            return Ok(Tier2Run {
                t2: None,
                alive,
                done,
                hold_until,
                upgrade,
                started: Instant::now(),
            });
        };
        let ncounts = (m.tmpl_frames * 1024) as usize;
        let mut ctx: sys::CUcontext = std::ptr::null_mut();
        // SAFETY: writes the calling thread's current context (set by open_device).
        unsafe { sys::cuCtxGetCurrent(&mut ctx) }
            .result()
            .map_err(|e| err("cuCtxGetCurrent", e))?;
        let ctx = SendCtx(ctx);
        let (dptr, live) = (counts.0, alive.clone());
        let read: ProfileReader = Box::new(move |out: &mut [u32]| {
            let live = live.lock().unwrap();
            if !*live || out.len() != ncounts {
                return false;
            }
            // SAFETY: the profile holds ncounts u32 and is not freed while `live` is
            // held true; a synchronous copy on the null stream, which does not wait
            // for the lanes' non-blocking streams.
            unsafe {
                sys::cuCtxSetCurrent(ctx.get()).result().is_ok()
                    && sys::cuMemcpyDtoH_v2(out.as_mut_ptr() as *mut c_void, dptr, ncounts * 4)
                        .result()
                        .is_ok()
            }
        });
        let gpu = GpuProfile {
            arch: arch.into(),
            core_key: crate::backend::cuda::core_key(arch),
            pages: m.t2_pages.clone(),
            ncounts,
            read,
        };
        let t2 = Tier2::new_gpu(cfg.translate, prep, gpu, cfg.verbose)?;
        Ok(Tier2Run {
            t2: t2.map(Arc::new),
            alive,
            done,
            hold_until,
            upgrade,
            started: Instant::now(),
        })
    }

    /// Start the background translator.
    fn start(&self) {
        if let Some(t2) = &self.t2 {
            t2.spawn_background(self.done.clone());
        }
    }

    /// Whether a translated core, or the optimised core replacing a quick one, waits to
    /// be swapped in.
    fn ready(&self) -> bool {
        !self.held()
            && (self.t2.as_ref().is_some_and(|t| t.cubin_ready())
                || self.upgrade.as_ref().is_some_and(|u| u.ready()))
    }

    /// Whether the run goes on with a quick or step core that a better one compiling in
    /// the background will replace.
    fn upgrade_pending(&self) -> bool {
        self.upgrade.as_ref().is_some_and(|u| u.pending())
    }

    fn held(&self) -> bool {
        self.hold_until.is_some_and(|t| Instant::now() < t)
    }

    /// Load the newest translated core, if one is ready, else the optimised core that
    /// replaces a quick one, if it is there, as the run's current core; returns whether
    /// it did.
    fn swap_in(&self, cores: &Cores, verbose: bool) -> Result<bool, RunError> {
        if self.held() {
            return Ok(false);
        }
        let (bin, what) = match self.t2.as_ref().and_then(|t| t.take_cubin()) {
            Some(bin) => {
                if let Some(u) = &self.upgrade {
                    u.retire();
                }
                (bin, "tier 2: translated core".to_string())
            }
            None => match self.upgrade.as_ref().and_then(|u| u.take()) {
                Some((bin, name)) => (bin, format!("{name}, replacing the one running,")),
                None => return Ok(false),
            },
        };
        let t = Instant::now();
        cores.push(load_module(&bin)?);
        if verbose {
            eprintln!(
                "gpuos: {what} ({} KiB) loaded in {:.3} s, {:.1} s into the run",
                bin.len() >> 10,
                t.elapsed().as_secs_f64(),
                self.started.elapsed().as_secs_f64()
            );
        }
        Ok(true)
    }

    /// The run has ended: with `always` (and a run that went well) translate what was
    /// entered, for the next run; then stop the translator and retire the profile.
    fn finish(&self, ok: bool) -> Result<Option<crate::translate::Stats>, RunError> {
        let st = match &self.t2 {
            Some(t2) if ok => Some(t2.finish(std::ptr::null_mut())),
            _ => None,
        };
        self.done.store(true, Ordering::Relaxed);
        *self.alive.lock().unwrap() = false;
        st.transpose()
    }
}

/// The machine of one run in device and pinned host memory, freed when dropped: the
/// `MachineHdr` and everything it points at.
struct DeviceMachine {
    hdr: MachineHdr,
    lanes: usize,
    /// Frames of the image template (the pool's first).
    tmpl_frames: u64,
    /// Per-lane request headers and buffers (pinned, device-mapped).
    reqs: Pinned,
    bufs: Pinned,
    buf_size: u64,
    /// The submission rings (one, or one per service thread: `sub_ring_count`).
    sub: SubRings,
    /// Every process slot (every lane's first, then the pool for children).
    procs: DevBuf,
    _stacks: DevBuf,
    _stack_offs: DevBuf,
    _frames: DevBuf,
    _refcnt: DevBuf,
    _dcache_map: DevBuf,
    /// The stat cache (kernel/sys/statcache.h).
    _statc: DevBuf,
    _free_heads: DevBuf,
    /// The interleaved groups' bitmap and the placement hints (MachineHdr::il_map, il_slots).
    _il: (DevBuf, DevBuf),
    /// The page cache (kernel/mm/pcache.h).
    _pcache: DevBuf,
    _dcache: DevBuf,
    /// Tier 2's profile (`MachineHdr::t2_counts`), when the run translates.
    t2_counts: Option<DevBuf>,
    /// (template frame, page address) of the image's executable pages.
    t2_pages: Vec<(u64, u64)>,
    comp: CompRings,
    /// Whether the completion poller runs (else lanes poll `SysReq::done`).
    use_poller: bool,
    /// Spare lanes (kernel/proc/spare.h): GPU threads of the persistent kernel's grid
    /// after the lanes' last block; 0 in quantum mode.
    spares: usize,
    /// GPU threads from one spare lane to the next (`MachineHdr::spare_stride`).
    spare_stride: usize,
    /// The spare lanes' run queue (`MachineHdr::runq`).
    runq: DevBuf,
    /// Where a lane records an internal error before it traps.
    panic_rec: Pinned,
    /// The device's copy of `hdr`.
    mdev: DevBuf,
}

/// The number of submission rings of a run: 1, or with `GPUOS_SUB_RINGS=1` one per
/// service thread in persistent mode (a measuring knob, off by default: H200,
/// twenty-sixth session, 30,000 lanes x 100 getuid 0.60 s with one ring and 8 threads
/// against 0.46 s with 8 rings and 0.34 s with 12, about 8.9 M host syscalls/s; but
/// `fdmany` at 1,000 lanes, 10 s with one ring, had done a third of its requests after
/// 40 s, its lanes resuming 14.8 ms after their posts instead of 0.3-0.4 ms, when the
/// lanes of a warp posted to different rings, `l % n`. With whole warps per ring, H100,
/// twenty-seventh session: 10,000 x 200 getuid 0.237 s against 0.46-0.50 s with one
/// ring, but `fdmany` still stalled, 8 of 1,000 lanes done in 45 s, lanes resuming
/// 16 ms after their posts; cause not known).
fn sub_ring_count(cfg: &RunConfig, lanes: usize) -> usize {
    let sharded = std::env::var("GPUOS_SUB_RINGS").is_ok_and(|v| v == "1");
    if sharded && cfg.mode == crate::machine::Mode::Persistent {
        service_thread_count(cfg.threads, lanes)
    } else {
        1
    }
}

/// Completion rings (and poller warps) a run of `lanes` lanes wants by default: a
/// poller warp takes 32 answers per crossing of PCIe (two reads and a system fence per
/// batch), about 5 M answers/s, which bounded one ring's host syscalls/s at 10,000 lanes
/// (H100, twenty-seventh session, 10,000 lanes x 200 getuid and 30,000 x 100, one
/// submission ring: 1 poller 0.463 and 0.571 s, 8 pollers 0.318 and 0.532, 16 pollers
/// 0.279-0.304 and 0.455-0.529, 32 pollers 0.337 and 0.619; fdmany at 1,000 lanes
/// 11.7-11.9 s with any). With one poller `posted -> poller saw completion` read low:
/// lanes finished through their own look at `SysReq::done`, and the poller's late stamp
/// measured from their next post.
pub const COMP_RINGS: usize = 16;

/// Most completion rings: their poller warps are one block, at most 1,024 threads
/// (64 failed to launch).
const MAX_COMP_RINGS: usize = 32;

/// The number of completion rings of a run, each with a poller warp of its own (lane
/// `l`'s answers on ring `(l / 32) % n`, whichever submission ring carried the
/// request): `GPUOS_COMP_RINGS` (a count, 1 to 32), else [`COMP_RINGS`], at most one per
/// warp of lanes. Only the host pushes to them
/// (by lane) and only the poller warps read them, so their number is independent of
/// the submission rings'.
fn comp_ring_count(cfg: &RunConfig, lanes: usize) -> usize {
    if cfg.mode != crate::machine::Mode::Persistent {
        return 1;
    }
    let want = std::env::var("GPUOS_COMP_RINGS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(COMP_RINGS);
    comp_rings_for(want, lanes)
}

/// `want` completion rings bounded for `lanes` lanes: 1 to [`MAX_COMP_RINGS`], at most
/// one per warp of lanes.
fn comp_rings_for(want: usize, lanes: usize) -> usize {
    want.clamp(1, MAX_COMP_RINGS).min(lanes.div_ceil(32).max(1))
}

impl DeviceMachine {
    /// Build the machine of `layout`: the template (built in a host staging pool, copied
    /// to the device pool's first frames), the request area, the rings, the stacks, the
    /// frame pool ([`MachineLayout::gpu_pool_frames`]); the header uploaded last.
    /// `interim`: `module` is a quick core, replaced during the run.
    fn new(
        cfg: &RunConfig,
        prep: &Prepared,
        module: &Module,
        interim: bool,
        layout: &MachineLayout,
    ) -> Result<DeviceMachine, RunError> {
        let lanes = layout.lanes;
        let staging = Template::staged(prep)?;
        let (mut hdr, tmpl_frames) = (staging.hdr, staging.frames);
        // Read while the template is in host memory.
        let t2_pages = if cfg.translate == Translate::Never {
            Vec::new()
        } else {
            crate::translate::code_pages(prep, &hdr)
        };
        let (reqs, bufs) = (
            Pinned::new(lanes * std::mem::size_of::<SysReq>())?,
            Pinned::new(lanes * layout.buf_size as usize)?,
        );
        let sub = SubRings::new(lanes, sub_ring_count(cfg, lanes))?;

        // Device memory: processes (every lane's first, then the pool for children),
        // stacks, then the frame pool from what is left.
        let procs = DevBuf::new(layout.slots * std::mem::size_of::<Proc>())?;
        let (blob, offs) = prep.stack_blob();
        let stacks = DevBuf::new(blob.len())?;
        stacks.upload(&blob)?;
        let stack_offs = DevBuf::new(offs.len() * 8)?;
        stack_offs.upload(&offs)?;
        // SAFETY: query only.
        let (free_now, _) = cu::mem_get_info().map_err(|e| err("cuMemGetInfo", e))?;
        let nframes = layout.gpu_pool_frames(tmpl_frames, free_now)?;
        let frames = DevBuf::new((nframes * PAGE_SIZE) as usize)?;
        let refcnt = DevBuf::new((nframes * 4) as usize)?;
        let free_heads = DevBuf::new((FREE_HEADS * 8) as usize)?;
        // Every list empty.
        free_heads.upload(&[0u64; FREE_HEADS as usize])?;
        // SAFETY: copies the template's frames (host staging) into the device pool.
        unsafe { cu::memcpy_htod_sync(frames.0, staging.bytes()) }
            .map_err(|e| err("template copy", e))?;
        drop(staging);
        hdr.frames = frames.0;
        hdr.nframes = nframes;
        hdr.refcnt = refcnt.0;
        hdr.free_heads = free_heads.0;
        hdr.bump = tmpl_frames;
        let dcache_len = MachineLayout::dcache_entries(tmpl_frames);
        let dcache = DevBuf::new(dcache_len * 2)?;
        dcache.upload(&vec![0u16; dcache_len])?;
        let t2_counts = if cfg.translate == Translate::Never {
            None
        } else {
            let c = DevBuf::new(dcache_len * 4)?;
            c.upload(&vec![0u32; dcache_len])?;
            hdr.t2_counts = c.0;
            Some(c)
        };
        let dcache_map = DevBuf::zeroed((nframes * 4) as usize)?;
        let statc = DevBuf::zeroed(MachineLayout::statc_bytes())?;
        let pcache = DevBuf::new(MachineLayout::pcache_entries(nframes) * 16)?;
        pcache.upload(&vec![0u64; MachineLayout::pcache_entries(nframes) * 2])?;
        // Interleaved frames: the groups' bitmap and the warps' placement hints, zeroed.
        let il = layout.interleave(true);
        let il_map = DevBuf::new(MachineLayout::il_map_words(nframes).max(1) * 4)?;
        let il_slots = DevBuf::new(layout.il_slot_count().max(1) * 8)?;
        if il {
            il_map.upload(&vec![0u32; MachineLayout::il_map_words(nframes)])?;
            il_slots.upload(&vec![0u64; layout.il_slot_count()])?;
        }
        let arrays = MachineArrays {
            pcache: pcache.0,
            statc: statc.0,
            dcache_map: dcache_map.0,
            il_map: if il { il_map.0 } else { 0 },
            il_slots: if il { il_slots.0 } else { 0 },
            procs: procs.0,
            reqs: reqs.dev()?,
            bufs: bufs.dev()?,
            stacks: stacks.0,
            stack_offs: stack_offs.0,
            dcache: dcache.0,
        };
        layout.fill(cfg, prep, &arrays, &mut hdr);
        // Spare lanes: persistent mode only (a quantum launch would leave a task away
        // at its end); by default `default_spares`.
        // A spare lane loops until every process has ended, so its block must not hold
        // a place a lanes' block waits for: lanes and spares together fit the GPU.
        let wanted = match (cfg.mode, cfg.spare_lanes) {
            (crate::machine::Mode::Persistent, Some(n)) => n,
            (crate::machine::Mode::Persistent, None) => default_spares(lanes),
            _ => 0,
        };
        let room = if wanted > 0 {
            room_for_spares(module, interim, lanes)?
        } else {
            0
        };
        if room < wanted && cfg.spare_lanes.is_some() && cfg.verbose {
            eprintln!("gpuos: {wanted} spare lanes asked, {room} fit beside the lanes on the GPU");
        }
        let spares = wanted.min(room);
        let runq_words = MachineLayout::run_queue(layout.slots, spares);
        let runq = DevBuf::new(runq_words.words.len() * 8)?;
        runq.upload(&runq_words.words)?;
        hdr.runq = runq.0;
        hdr.runq_mask = runq_words.mask;
        hdr.runq_shards = runq_words.shards;
        hdr.spare_lanes = spares as u64;
        hdr.spare_stride = spare_stride(spares, room) as u64;
        hdr.spare_slice = GPU_SPARE_SLICE;
        hdr.ring = sub.dev.0;
        hdr.nrings = sub.n as u64;
        let comp = CompRings::new(lanes, comp_ring_count(cfg, lanes))?;
        // GPUOS_NO_POLLER=1: lanes poll SysReq::done across PCIe themselves (the design
        // before the poller; kept to compare and to rule the poller out when debugging).
        let use_poller = cfg.mode == crate::machine::Mode::Persistent
            && std::env::var_os("GPUOS_NO_POLLER").is_none();
        hdr.comp = if use_poller { comp.dev.0 } else { 0 };
        hdr.ncomp = comp.n as u64;
        // Where a lane records an internal error before it traps (host memory: readable
        // after the fault has made the context unusable).
        let panic_rec = Pinned::new(std::mem::size_of::<PanicRecord>())?;
        hdr.panic = panic_rec.dev()?;
        super::launch::device_clock_offsets(module)?.apply(&mut hdr);
        let mdev = DevBuf::new(std::mem::size_of::<MachineHdr>())?;
        mdev.upload(std::slice::from_ref(&hdr))?;
        if cfg.verbose {
            eprintln!(
                "gpuos: {lanes} lanes; frame pool {} MiB ({} frames), image template {} KiB, request buffers {} KiB per lane",
                (nframes * PAGE_SIZE) >> 20,
                nframes,
                tmpl_frames * 4,
                layout.buf_size >> 10
            );
        }
        Ok(DeviceMachine {
            hdr,
            lanes,
            tmpl_frames,
            reqs,
            bufs,
            buf_size: layout.buf_size,
            sub,
            procs,
            _stacks: stacks,
            _stack_offs: stack_offs,
            _frames: frames,
            _refcnt: refcnt,
            _free_heads: free_heads,
            _dcache: dcache,
            t2_counts,
            t2_pages,
            _pcache: pcache,
            _dcache_map: dcache_map,
            _statc: statc,
            _il: (il_map, il_slots),
            comp,
            use_poller,
            spares,
            spare_stride: hdr.spare_stride as usize,
            runq,
            panic_rec,
            mdev,
        })
    }

    /// A kernel's error, with the lane and cause a lane recorded before it trapped.
    fn explain(&self, e: RunError) -> RunError {
        with_panic(e, self.panic_rec.ptr as *const PanicRecord)
    }

    /// What the service threads share (pointers into this machine's pinned memory).
    fn shared(&mut self, strace: bool) -> Shared {
        Shared {
            reqs: self.reqs.ptr as *mut SysReq,
            bufs: self.bufs.ptr,
            buf_size: self.buf_size as usize,
            lanes: self.lanes,
            sub: self.sub.view(),
            comp: if self.use_poller {
                self.comp.view()
            } else {
                CompView::none()
            },
            strace,
        }
    }
}

/// Size the context's local memory for the lanes' kernel and start every lane's first
/// process (`gpuos_start`); returns when the processes started (the run's clock).
fn start_processes(
    cfg: &RunConfig,
    module: &Module,
    m: &DeviceMachine,
    stream: sys::CUstream,
    t_setup: Instant,
) -> Result<Instant, RunError> {
    // Size the context's local memory for the lanes' kernel now, while the GPU is idle:
    // growing it at a launch waits for the running kernels, and the completion poller,
    // launched first, runs until the lanes' kernel ends. One empty launch of each
    // kernel (no processes, nothing live) does the growing.
    size_local_memory(module, stream)?;
    let mut mptr = m.mdev.0;
    let start = Instant::now();
    if cfg.verbose {
        eprintln!(
            "gpuos: host set-up {:.3} s (device, module, buffers, {} lanes' host state)",
            t_setup.elapsed().as_secs_f64(),
            m.lanes
        );
    }
    launch(
        module.start,
        m.lanes,
        stream,
        &mut [&mut mptr as *mut u64 as *mut c_void],
    )?;
    sync(stream, "process start").map_err(|e| m.explain(e))?;
    if cfg.verbose {
        eprintln!(
            "gpuos: process start (gpuos_start) {:.3} s",
            start.elapsed().as_secs_f64()
        );
    }
    Ok(start)
}

/// Size the context's local memory for the kernels of `module` while nothing runs: one
/// empty launch of each (no processes, nothing live).
fn size_local_memory(module: &Module, stream: sys::CUstream) -> Result<(), RunError> {
    let idle_hdr = DevBuf::new(std::mem::size_of::<MachineHdr>())?;
    idle_hdr.upload(std::slice::from_ref(&MachineHdr::default()))?;
    let mut ip = idle_hdr.0;
    for f in [module.persistent, module.quantum] {
        launch_lanes(f, 1, stream, ip, 0)?;
    }
    launch_grid(
        module.poller,
        1,
        32,
        stream,
        &mut [&mut ip as *mut u64 as *mut c_void],
    )?;
    sync(stream, "sizing local memory")
}

/// The stop flag and the slice length of the device's `MachineHdr`, written on the
/// control stream.
struct StopFlag {
    /// Device address of the `MachineHdr`.
    mdev: u64,
    /// The control stream, which runs beside the kernels.
    ctl: sys::CUstream,
}

impl StopFlag {
    /// Raise the flag: every lane stops at its next check, the poller once none runs.
    fn send(&self) -> Result<(), RunError> {
        self.write(1)
    }

    /// Lower it again, before the kernels are relaunched (tier 2's swap).
    fn clear(&self) -> Result<(), RunError> {
        self.write(0)
    }

    /// Set the persistent lanes' slice (`MachineHdr::slice`; 0: each launch's own) and
    /// whether each warp leaves after one (`MachineHdr::slice_once`), in one write.
    fn set_slice(&self, instructions: u64, once: bool) -> Result<(), RunError> {
        const _: () = assert!(
            std::mem::offset_of!(MachineHdr, slice_once)
                == std::mem::offset_of!(MachineHdr, slice) + 8
        );
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&instructions.to_ne_bytes());
        bytes[8..].copy_from_slice(&u64::from(once).to_ne_bytes());
        self.write_field(std::mem::offset_of!(MachineHdr, slice), &bytes)
    }

    fn write(&self, v: u32) -> Result<(), RunError> {
        self.write_field(std::mem::offset_of!(MachineHdr, stop), &v.to_ne_bytes())
    }

    /// Write `bytes` at byte `off` of the device MachineHdr, on the control stream,
    /// which runs while the kernels do; returns once they are written.
    fn write_field(&self, off: usize, bytes: &[u8]) -> Result<(), RunError> {
        // SAFETY: `off` and the length name a field of the device MachineHdr; the copy
        // is complete when the stream's synchronize returns, before `bytes` is dropped.
        unsafe {
            sys::cuMemcpyHtoDAsync_v2(
                self.mdev + off as u64,
                bytes.as_ptr() as *const c_void,
                bytes.len(),
                self.ctl,
            )
        }
        .result()
        .map_err(|e| err("machine header", e))?;
        // SAFETY: ctl is live.
        unsafe { cu::stream::synchronize(self.ctl) }.map_err(|e| err("machine header", e))
    }
}

/// What draining the lanes' requests works with.
struct LanesRun<'a> {
    /// The cores; the newest runs the lanes.
    cores: &'a Cores,
    t2: &'a Tier2Run,
    m: &'a DeviceMachine,
    hosts: &'a Procs<'a>,
    sh: Shared,
    /// The lanes' stream.
    stream: sys::CUstream,
    /// Host time spent on requests.
    host_times: &'a HostTimes,
    verbose: bool,
}

/// Persistent mode: launch the poller and the lanes' kernel, serve the rings on service
/// threads until the kernel ends, then stop the poller. When tier 2 has a translated
/// core ready, both kernels are stopped (every lane leaves its state in its Procs at a
/// slice boundary; requests in flight are answered meanwhile and picked up later) and
/// relaunched from the new core.
fn drain_persistent(
    cfg: &RunConfig,
    r: &LanesRun<'_>,
    stop: &StopFlag,
    poll_stream: sys::CUstream,
) -> Result<(), RunError> {
    let (m, sh) = (r.m, r.sh);
    // Each thread pops ring `me % rings` first (`service_loop`).
    let nthreads = service_thread_count(cfg.threads, m.lanes);
    let finished = AtomicBool::new(false);
    let pop_locks: Vec<PopLock> = (0..m.sub.n).map(|_| PopLock::default()).collect();
    let outcome = std::thread::scope(|s| {
        for me in 0..nthreads {
            let (locks, finished, hosts, times) = (&pop_locks, &finished, r.hosts, r.host_times);
            s.spawn(move || service_loop(sh, hosts, locks, me, finished, times));
        }
        let res = persistent_launches(r, stop, poll_stream);
        finished.store(true, Ordering::Release);
        res
    });
    if let Err(e) = outcome {
        // No producer waits to be released: the submission ring is `no_wait`.
        return Err(m.explain(e));
    }
    // Every process has ended (the poller sees live == 0) or the run stops; raise the
    // stop flag in any case so the poller cannot outlive the run.
    stop.send()?;
    sync(poll_stream, "the completion poller")
}

/// Instructions of a persistent-mode slice while the run goes on with a core that a
/// better one will replace (the quick core, about 12 times slower than the optimised
/// one: some 20,000 instructions a second per lane when 67,584 lanes run), so that a
/// swap comes within about a second of the better core's arrival. A slice's end costs
/// a lane a few microseconds.
const UPGRADE_SLICE: u64 = 1 << 14;

/// Launch the poller and the lanes' kernel from the current core and watch them; again
/// from a translated core whenever tier 2 has one ready, until the lanes' kernel ends
/// with no core to swap in.
fn persistent_launches(
    r: &LanesRun<'_>,
    stop: &StopFlag,
    poll_stream: sys::CUstream,
) -> Result<(), RunError> {
    let m = r.m;
    let mut mptr = m.mdev.0;
    let long_slice = instructions_from_env("GPUOS_PERSISTENT_SLICE", PERSISTENT_SLICE);
    let policy = RefCell::new(LaunchPolicy::new(
        m.lanes,
        long_slice,
        m.t2_counts.is_some(),
        m.spares == 0,
    ));
    // The policy looks at the counters once per period, across launches (in one-slice
    // launches a launch is shorter than the period).
    let next_look = std::cell::Cell::new(policy.borrow().period().map(|p| Instant::now() + p));
    let say_relaunches = || {
        if let Some(line) = policy.borrow().summary().filter(|_| r.verbose) {
            eprintln!("gpuos: {line}");
        }
    };
    loop {
        let (poller, persistent) = {
            let k = r.cores.current();
            (k.poller, k.persistent)
        };
        // The poller first, so that its warp is resident before the lanes' blocks fill
        // the GPU.
        if m.use_poller {
            // One block of a warp per completion ring (at most 32: a block holds 1,024
            // threads), which takes the place of one lanes' block at most, where
            // a block per warp could take one on each of several SMs.
            launch_grid(
                poller,
                1,
                32 * m.comp.n as u32,
                poll_stream,
                &mut [&mut mptr as *mut u64 as *mut c_void],
            )?;
        }
        // The spare lanes are whole blocks after the lanes' last (kernel/cuda_main.cu),
        // `spare_stride` threads apart.
        let threads = if m.spares > 0 {
            m.lanes.next_multiple_of(BLOCK as usize) + m.spares * m.spare_stride
        } else {
            m.lanes
        };
        // While a better core compiles, short slices: a swap waits for the lanes' slices
        // to end, and on the quick core a lane's 1 M-instruction slice took longer than
        // the whole cold demo (67,584 lanes at 1.38 G/s: about 50 s; the step core,
        // ready within seconds, was swapped in 34 s into the run, at its end; H100,
        // thirty-fourth session).
        let slice = if r.t2.upgrade_pending() {
            long_slice.min(UPGRADE_SLICE)
        } else {
            long_slice
        };
        if let Err(e) = launch_lanes(persistent, threads, r.stream, mptr, slice) {
            // The poller would otherwise wait for lanes that never start.
            let _ = stop.send();
            return Err(e);
        }
        let report = || report_rings(m, stop.ctl, r.sh);
        let debug = std::env::var_os("GPUOS_DEBUG_RINGS").is_some();
        let send_stop = || stop.send();
        let swap = || {
            if stop_requested() {
                return false;
            }
            if r.t2.ready() {
                return true;
            }
            let (Some(_), Some(period)) = (
                next_look.get().filter(|&t| Instant::now() >= t),
                policy.borrow().period(),
            ) else {
                return false;
            };
            next_look.set(Some(Instant::now() + period));
            let Ok(h) = read_hdr(m) else { return false };
            let mut p = policy.borrow_mut();
            match p.look(Counters {
                t2_insns: h.t2_insns,
                split_steps: h.split_steps,
            }) {
                Decision::RunOn => false,
                Decision::Slices { .. } => {
                    // A failed write leaves the slices as they were: only slower.
                    let _ = stop.set_slice(p.header_slice(), p.header_once());
                    false
                }
                Decision::Relaunch => true,
            }
        };
        let swapping = watch_kernel(
            r.stream,
            &send_stop,
            debug.then_some(&report as &dyn Fn()),
            Some(&swap),
        )?;
        // The lanes' kernel ended by itself: every lane's family ended, or, in one-slice
        // launches, each warp used a slice.
        let once = !swapping && policy.borrow().header_once();
        if !swapping && !once {
            say_relaunches();
            return Ok(());
        }
        // Stop both kernels, swap, and go on from the Procs unless everything ended.
        stop.send()?;
        sync(r.stream, "the kernel").map_err(|e| m.explain(e))?;
        sync(poll_stream, "the completion poller")?;
        if read_hdr(m)?.live == 0 || stop_requested() {
            say_relaunches();
            return Ok(());
        }
        if once {
            policy.borrow_mut().relaunches += 1;
        }
        let swapped = r.t2.swap_in(r.cores, r.verbose)?;
        stop.clear()?;
        if swapped {
            size_local_memory(&r.cores.current(), r.stream)?;
        }
    }
}

/// The device's MachineHdr, read back.
fn read_hdr(m: &DeviceMachine) -> Result<MachineHdr, RunError> {
    let mut h = MachineHdr::default();
    // SAFETY: a device-to-host copy of the MachineHdr on the null stream, which the
    // non-blocking streams of the kernels do not wait for.
    unsafe { cu::memcpy_dtoh_sync(std::slice::from_mut(&mut h), m.mdev.0) }
        .map_err(|e| err("read back", e))?;
    Ok(h)
}

/// GPUOS_DEBUG_RINGS=1: once a second, the rings' positions and lane 0's state, read
/// while the kernels run (for diagnosing a stall).
fn report_rings(m: &DeviceMachine, ctl: sys::CUstream, sh: Shared) {
    let mut h = MachineHdr::default();
    let mut cr = vec![RingHdr::default(); m.comp.n];
    // SAFETY: Proc is plain old data.
    let mut p0: Proc = unsafe { std::mem::zeroed() };
    // SAFETY: device-to-host copies on the control stream, which runs beside the
    // kernels; the values may be a moment old.
    unsafe {
        let _ = cu::memcpy_dtoh_async(std::slice::from_mut(&mut h), m.mdev.0, ctl);
        let _ = cu::memcpy_dtoh_async(&mut cr[..], m.comp.dev.0, ctl);
        let _ = cu::memcpy_dtoh_async(std::slice::from_mut(&mut p0), m.procs.0, ctl);
        let _ = cu::stream::synchronize(ctl);
    }
    let sub_deq: u64 = (0..sh.sub.n)
        // SAFETY: host views of the rings, read racily for the report only.
        .map(|i| unsafe { (*sh.sub.hdr(i)).deq })
        .sum();
    let comp_enq = m.comp.pushed();
    let polled: u64 = cr.iter().map(|r| r.deq).sum();
    eprintln!(
        "gpuos: rings: submission popped {sub_deq}; completions pushed {comp_enq}, polled {}; live {} stop {}; lane 0 status {} requests {} done {} insns {} pc {:#x}",
        polled, h.live, h.stop, p0.status, p0.req_seq, p0.host_done, p0.insns, p0.cpu.pc
    );
}

/// Quantum mode: launch the lanes for a bounded number of instructions, serve what they
/// posted, relaunch, until no process is live or a stop is requested.
fn drain_quantum(r: &LanesRun<'_>) -> Result<(), RunError> {
    let (m, sh) = (r.m, r.sh);
    // Sleeps and requests waiting for host descriptors stay posted, held
    // (`service::policy`): published when due, served again after the next launch.
    let mut held = Held::default();
    let budget = instructions_from_env("GPUOS_QUANTUM", QUANTUM);
    let serve = |lane, may_hold| serve_one(sh, r.hosts, lane, may_hold);
    let done = |lane| {
        publish(sh, lane);
    };
    loop {
        // A translated core takes over at the quantum boundary.
        r.t2.swap_in(r.cores, r.verbose)?;
        let quantum = r.cores.current().quantum;
        launch_lanes(quantum, m.lanes, r.stream, m.mdev.0, budget)?;
        sync(r.stream, "quantum kernel").map_err(|e| m.explain(e))?;
        for lane in 0..m.lanes {
            // SAFETY: reading the lane's posted request header (pinned memory, kernel
            // idle).
            let posted = unsafe {
                let req = &*sh.reqs.add(lane);
                req.seq != req.done
            };
            if !posted || held.holds(lane) {
                continue;
            }
            let t = Instant::now();
            if held.admit(lane, t, serve(lane, true)) {
                done(lane);
            }
            r.host_times.add_serve(t.elapsed());
        }
        held.release(r.hosts.fd_waits(), usize::MAX, serve, done);
        if read_hdr(m)?.live == 0 || stop_requested() {
            return Ok(());
        }
    }
}

/// `-v` after a stop: where the lanes that had not ended were (backend/stopped.rs),
/// from the whole process table read back.
fn report_stopped(m: &DeviceMachine, h: &MachineHdr) {
    // SAFETY: Proc is plain old data; all-zero is valid; then filled from the device.
    let mut all: Vec<Proc> = vec![unsafe { std::mem::zeroed() }; h.nslots as usize];
    // SAFETY: the device table has `nslots` entries; the kernel is done.
    match unsafe { cu::memcpy_dtoh_sync(&mut all, m.procs.0) } {
        Ok(()) => crate::backend::stopped::report_stopped(&all, m.lanes, h, runq_waiting(m, h)),
        Err(e) => eprintln!("gpuos: reading the process table back: {e:?}"),
    }
}

/// Entries waiting in the run queue, read back from the device (0 when it cannot be).
fn runq_waiting(m: &DeviceMachine, h: &MachineHdr) -> u64 {
    if h.spare_lanes == 0 {
        return 0;
    }
    let stride = crate::layout::RunQueue::shard_words(h.runq_mask);
    let mut words = vec![0u64; h.runq_shards.max(1) as usize * stride];
    // SAFETY: the device queue has those words (`run_queue`); the kernel is done.
    match unsafe { cu::memcpy_dtoh_sync(&mut words, m.runq.0) } {
        Ok(()) => crate::layout::RunQueue::waiting(&words, h.runq_shards, h.runq_mask),
        Err(_) => 0,
    }
}

/// Read the lanes' processes back and finish every lane (its outcome, its output hashed
/// and, with --output-dir, written).
fn collect(
    cfg: &RunConfig,
    m: &DeviceMachine,
    hosts: Procs<'_>,
    seconds: f64,
    host_times: &HostTimes,
    device: String,
) -> Result<RunReport, RunError> {
    let lanes = m.lanes;
    let t_results = Instant::now();
    // SAFETY: Proc is plain old data; all-zero is valid; then filled from the device.
    let mut procs_host: Vec<Proc> = vec![unsafe { std::mem::zeroed() }; lanes];
    // SAFETY: the device array has `lanes` entries; the kernel is done.
    unsafe { cu::memcpy_dtoh_sync(&mut procs_host, m.procs.0) }
        .map_err(|e| err("read back processes", e))?;
    let rt = crate::backend::round_trips(&procs_host, host_times);
    if cfg.verbose {
        report_round_trips(rt.as_ref());
        hosts.report_calls();
        if let Ok(h) = read_hdr(m) {
            let total = procs_host.iter().map(|p| p.insns + p.family_insns).sum();
            crate::backend::report_spares(&h, total);
            if crate::backend::stop_signal().is_some() {
                report_stopped(m, &h);
            }
        }
    }
    // Spread over the host's cores (100,000 lanes can mean 200,000 files).
    let finished = map_in_order(hosts.into_lanes(), |lane, mut host| {
        let (r, out) = finish_lane(cfg, lane, &procs_host[lane], &mut host);
        (r, if lane == 0 { out } else { Vec::new() })
    });
    let mut results: Vec<LaneResult> = Vec::with_capacity(lanes);
    let mut stdout0 = Vec::new();
    for (r, out) in finished {
        if results.is_empty() {
            stdout0 = out;
        }
        results.push(r);
    }
    if results.len() != lanes {
        return Err(BackendError::ResultsLost(lanes - results.len()).into());
    }
    if cfg.verbose {
        eprintln!(
            "gpuos: start and run {seconds:.3} s; results read back and lanes' files closed in {:.3} s",
            t_results.elapsed().as_secs_f64()
        );
    }
    Ok(RunReport {
        backend: "cuda".into(),
        device,
        lanes: results,
        seconds,
        template_frames: m.tmpl_frames,
        stdout0,
        rss_limit: m.hdr.rss_limit * PAGE_SIZE,
        interrupted: crate::backend::stop_signal(),
        translated: 0,
        interleaved_groups: 0,
        pool_frames: 0,
        cache_frames: 0,
        round_trips: rt,
        spawns: 0,
        spawn_ns: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::{
        comp_rings_for, default_spares, CoreStep, CoreUpgrade, COMP_RINGS, MAX_COMP_RINGS,
    };

    /// Default spare lanes: 16 for a run of one lane, none for more lanes.
    #[test]
    fn default_spares_only_for_one_lane() {
        assert_eq!(default_spares(1), 16);
        assert_eq!(default_spares(2), 0);
        assert_eq!(default_spares(1_000), 0);
        assert_eq!(default_spares(0), 0);
    }

    /// Completion rings: never more than the lanes' warps (a poller warp without lanes
    /// would only read PCIe), nor than one block of pollers holds, nor fewer than one.
    #[test]
    fn completion_rings_fit_the_lanes_and_one_block() {
        assert_eq!(comp_rings_for(COMP_RINGS, 1), 1);
        assert_eq!(comp_rings_for(COMP_RINGS, 32), 1);
        assert_eq!(comp_rings_for(COMP_RINGS, 33), 2);
        assert_eq!(comp_rings_for(COMP_RINGS, 100_000), COMP_RINGS);
        assert_eq!(comp_rings_for(64, 100_000), MAX_COMP_RINGS);
        assert_eq!(comp_rings_for(0, 100_000), 1);
        const { assert!(32 * MAX_COMP_RINGS <= 1024) };
    }

    fn step(dir: &std::path::Path, name: &str) -> CoreStep {
        CoreStep {
            path: dir.join(name),
            name: name.into(),
        }
    }

    /// The ladder of better cores: nothing before a file appears; the best file there
    /// is taken, passing over worse ones; the last ends it; a translated core retires it.
    #[test]
    fn core_upgrade_takes_the_best_core_there() {
        let dir = std::env::temp_dir().join(format!("gpuos-upgrade-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let up = CoreUpgrade::new(vec![step(&dir, "step"), step(&dir, "optimised")]).unwrap();
        assert!(!up.ready());
        assert!(up.take().is_none());
        std::fs::write(dir.join("step"), b"s").unwrap();
        assert!(up.pending());
        assert_eq!(up.take(), Some((b"s".to_vec(), "step".to_string())));
        assert!(up.pending(), "the optimised core is still to come");
        assert!(up.take().is_none(), "the step core is taken once");
        std::fs::write(dir.join("optimised"), b"o").unwrap();
        assert_eq!(up.take().unwrap().1, "optimised");
        assert!(
            !up.ready() && up.take().is_none() && !up.pending(),
            "the optimised core ends the ladder"
        );

        let up = CoreUpgrade::new(vec![step(&dir, "step"), step(&dir, "optimised")]).unwrap();
        assert_eq!(
            up.take().unwrap().1,
            "optimised",
            "a better core passes over the step"
        );
        assert!(up.take().is_none());
        let up = CoreUpgrade::new(vec![step(&dir, "step")]).unwrap();
        up.retire();
        assert!(
            !up.ready() && up.take().is_none(),
            "retired by a translated core"
        );
        assert!(CoreUpgrade::new(Vec::new()).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
