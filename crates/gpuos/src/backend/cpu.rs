//! The CPU backend: the execution core compiled as host C++ (kernel/cpu_api.cpp), one
//! family of processes per lane (its first process and the children it forks, run in
//! turn by kernel/sched.h), lanes spread over host threads. Host syscalls are
//! served inline by the thread that runs the lane.

use super::{report_round_trips, sleep_until_or_stop, stop_requested, stop_signal, HostTimes};

use crate::abi::{MachineHdr, Proc, SysReq};
use crate::ffi;
use crate::lane::{finish_lane, lane_not_started};
use crate::layout::{MachineArrays, MachineLayout, Template};
use crate::machine::{BackendError, LaneResult, MemoryError, RunConfig, RunError, RunReport};
use crate::mem::HostRegion;
use crate::prepare::Prepared;
use crate::service::{policy, Procs};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Instructions per call into the core between checks for Ctrl-C.
const SLICE: u64 = 1 << 22;

/// Raw machine pointer shared by the worker threads.
#[derive(Clone, Copy)]
struct MachinePtr(*mut MachineHdr);
// SAFETY: the core synchronises the shared fields (frame allocator, the pool of child
// slots) with atomics; each Proc, SysReq and buffer is touched by the one thread running
// the lane whose family holds it.
unsafe impl Send for MachinePtr {}
// SAFETY: as above.
unsafe impl Sync for MachinePtr {}

impl MachinePtr {
    /// The pointer (a method, so that closures capture the whole Send + Sync value).
    fn get(self) -> *mut MachineHdr {
        self.0
    }
}

/// Run `cfg.lanes` copies of the prepared program on host threads.
pub fn run(cfg: &RunConfig, prep: &Prepared) -> Result<RunReport, RunError> {
    let layout = MachineLayout::cpu(cfg);
    let (lanes, slots) = (layout.lanes, layout.slots);
    let Template {
        mut hdr,
        pool: _pool,
        frames: tmpl_frames,
    } = Template::build(prep, MachineLayout::cpu_pool_frames())?;
    // SAFETY: Proc is plain old data (integers and arrays); all-zero is a valid value.
    let mut procs: Vec<Proc> = vec![unsafe { std::mem::zeroed() }; slots];
    let mut reqs: Vec<SysReq> = vec![SysReq::default(); lanes];
    let bufs = HostRegion::new(lanes * layout.buf_size as usize).map_err(MemoryError::Reserve)?;
    let (blob, offs) = prep.stack_blob();
    let dcache: Vec<std::sync::atomic::AtomicU16> = (0..MachineLayout::dcache_entries(tmpl_frames))
        .map(|_| std::sync::atomic::AtomicU16::new(0))
        .collect();
    let pcache = HostRegion::new(MachineLayout::pcache_entries(hdr.nframes) * 16)
        .map_err(MemoryError::Reserve)?;
    let dcache_map = HostRegion::new((hdr.nframes * 4) as usize).map_err(MemoryError::Reserve)?;
    let statc = HostRegion::new(MachineLayout::statc_bytes()).map_err(MemoryError::Reserve)?;
    let threads = if cfg.threads > 0 {
        cfg.threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    };
    // Every host thread may end up a spare lane (the lane threads once no lane is left).
    let mut runq = MachineLayout::run_queue(slots, cfg.spare_lanes.unwrap_or(threads).max(threads));
    let il = layout.interleave(false);
    let il_map = HostRegion::new(if il {
        MachineLayout::il_map_words(hdr.nframes) * 4
    } else {
        1
    })
    .map_err(MemoryError::Reserve)?;
    let il_slots = HostRegion::new(if il { layout.il_slot_count() * 8 } else { 1 })
        .map_err(MemoryError::Reserve)?;
    let arrays = MachineArrays {
        pcache: pcache.addr(),
        statc: statc.addr(),
        dcache_map: dcache_map.addr(),
        il_map: if il { il_map.addr() } else { 0 },
        il_slots: if il { il_slots.addr() } else { 0 },
        procs: procs.as_mut_ptr() as u64,
        reqs: reqs.as_mut_ptr() as u64,
        bufs: bufs.addr(),
        stacks: blob.as_ptr() as u64,
        stack_offs: offs.as_ptr() as u64,
        dcache: dcache.as_ptr() as u64,
    };
    layout.fill(cfg, prep, &arrays, &mut hdr);
    hdr.runq = runq.words.as_mut_ptr() as u64;
    hdr.runq_mask = runq.mask;
    hdr.runq_shards = runq.shards;
    hdr.spare_slice = MachineLayout::SPARE_SLICE;
    super::clock::ClockOffsets::for_host_clock().apply(&mut hdr);
    let t2 = crate::translate::Tier2::new(
        cfg.translate,
        prep,
        &mut hdr,
        cfg.translate_for.as_deref(),
        cfg.verbose,
    )?;
    let lanes_done = std::sync::atomic::AtomicBool::new(false);
    let lanes_end: Mutex<Option<std::time::Duration>> = Mutex::new(None);
    let m = MachinePtr(&mut hdr);
    // Threads that run lanes, then spare lanes (kernel/proc/spare.h): by default the
    // threads left over, and every lane thread once no lane is left to start.
    let lane_threads = threads.min(lanes);
    let spares = cfg.spare_lanes.unwrap_or(threads - lane_threads);
    let late_spares = cfg.spare_lanes.is_none();
    hdr.spare_lanes = spares as u64;
    let spare_sleep_us = spare_sleep_max_us(lane_threads + spares, threads);
    let threads = lane_threads;
    let lanes_left = AtomicUsize::new(lanes);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<LaneResult>>> = Mutex::new(vec![None; lanes]);
    let stdout0: Mutex<Vec<u8>> = Mutex::new(Vec::new());
    let first_err: Mutex<Option<RunError>> = Mutex::new(None);
    // Host time serving requests, for `-v`'s round-trip report.
    let host_times = HostTimes::default();
    let hosts = Procs::new(cfg, prep, lanes, slots - lanes);
    let start = Instant::now();
    std::thread::scope(|s| {
        // A translation for a GPU (--translate-for) is built once, at the end: NVRTC
        // cannot be interrupted, and the lanes here never run it.
        if let (Some(t2), None) = (&t2, &cfg.translate_for) {
            let lanes_done = &lanes_done;
            s.spawn(move || t2.background(m.get(), lanes_done));
        }
        let lanes_left = &lanes_left;
        let mut workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    loop {
                        let lane = next.fetch_add(1, Ordering::Relaxed);
                        if lane >= lanes || stop_requested() {
                            break;
                        }
                        let r =
                            run_lane(cfg, &hosts, m, lane, (&bufs, layout.buf_size), &host_times);
                        lanes_left.fetch_sub(1, Ordering::AcqRel);
                        match r {
                            Ok((r, out)) => {
                                if lane == 0 {
                                    *stdout0.lock().unwrap() = out;
                                }
                                results.lock().unwrap()[lane] = Some(r);
                            }
                            Err(e) => {
                                first_err.lock().unwrap().get_or_insert(e);
                            }
                        }
                    }
                    if late_spares {
                        // SAFETY: the field lives as long as the run; only atomics touch it now.
                        unsafe { AtomicU64::from_ptr(&raw mut (*m.get()).spare_lanes) }
                            .fetch_add(1, Ordering::AcqRel);
                        run_spare(m, lanes_left, spare_sleep_us);
                    }
                })
            })
            .collect();
        workers
            .extend((0..spares).map(|_| s.spawn(move || run_spare(m, lanes_left, spare_sleep_us))));
        // Join the lanes before the scope does, to stop the background translator.
        let panics: Vec<_> = workers.into_iter().filter_map(|w| w.join().err()).collect();
        *lanes_end.lock().unwrap() = Some(start.elapsed());
        lanes_done.store(true, Ordering::Relaxed);
        if let Some(p) = panics.into_iter().next() {
            std::panic::resume_unwind(p);
        }
    });
    // The lanes' time, without the end of an abandoned background compile.
    let seconds = lanes_end
        .into_inner()
        .unwrap()
        .unwrap_or_else(|| start.elapsed())
        .as_secs_f64();
    let t2_stats = match &t2 {
        Some(t2) => Some(t2.finish(m.get())?),
        None => None,
    };
    if let Some(e) = first_err.into_inner().unwrap() {
        return Err(e);
    }
    let rt = super::round_trips(&procs[..lanes], &host_times);
    if cfg.verbose {
        report_round_trips(rt.as_ref());
        hosts.report_calls();
    }
    let lanes_res: Vec<LaneResult> = results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap_or_else(lane_not_started))
        .collect();
    let total: u64 = lanes_res.iter().map(|l| l.insns).sum();
    if let (Some(st), true) = (t2_stats, cfg.verbose) {
        crate::translate::report(&st, hdr.t2_insns, total);
    }
    if cfg.verbose {
        super::report_t2_misses(&hdr);
        super::report_spares(&hdr, total);
        super::report_spawns(&hdr);
        if stop_signal().is_some() {
            let waiting =
                crate::layout::RunQueue::waiting(&runq.words, hdr.runq_shards, hdr.runq_mask);
            super::stopped::report_stopped(&procs, lanes, &hdr, waiting);
        }
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "host CPU".into());
    Ok(RunReport {
        backend: "cpu".into(),
        device: format!("{cpu} ({threads} threads)"),
        lanes: lanes_res,
        seconds,
        template_frames: tmpl_frames,
        stdout0: stdout0.into_inner().unwrap(),
        rss_limit: hdr.rss_limit * crate::abi::PAGE_SIZE,
        interrupted: stop_signal(),
        translated: hdr.t2_insns,
        interleaved_groups: crate::layout::interleaved_groups(&hdr),
        pool_frames: crate::layout::pool_frames(&hdr),
        cache_frames: hdr.pcache_frames,
        round_trips: rt,
        spawns: hdr.spawns,
        spawn_ns: hdr.spawn_ns,
    })
}

/// Longest sleep of a lane whose whole family is blocked (a pipe with nobody to move
/// it yet), in microseconds.
const IDLE_SLEEP_MAX_US: u64 = 1000;
/// Longest sleep of a lane whose runnable members all run on spare lanes (what they
/// hand back, their syscalls, waits for it), in microseconds.
const AWAY_SLEEP_MAX_US: u64 = 100;
/// Longest sleep of a spare lane with nothing offered, in microseconds, while the run's
/// threads fit the host's cores: an offered task waits at most this long (its lane runs
/// it meanwhile if it has nothing else).
const SPARE_SLEEP_MAX_US: u64 = 500;
/// The most it grows to with more threads than cores.
const SPARE_SLEEP_CAP_US: u64 = 20_000;

/// The longest idle sleep of a spare lane when the run has `threads` host threads on
/// `cores` cores: SPARE_SLEEP_MAX_US times the oversubscription, so that idle spare
/// threads' wake-ups do not take the cores from the busy ones (`--spare-lanes 400`
/// beside 100 lanes on 2 cores spent most of its time in the kernel's scheduler: a
/// 48-lane shell pipeline script 7.4 s with the default spares, 18.4 s with 192).
fn spare_sleep_max_us(threads: usize, cores: usize) -> u64 {
    let over = (threads / cores.max(1)).max(1) as u64;
    SPARE_SLEEP_MAX_US
        .saturating_mul(over)
        .min(SPARE_SLEEP_CAP_US)
}

/// Run a spare lane on this thread (kernel/proc/spare.h) until every lane has ended or
/// the run stops, sleeping up to `sleep_max_us` between looks at an empty run queue.
fn run_spare(m: MachinePtr, lanes_left: &AtomicUsize, sleep_max_us: u64) {
    let mut idle = 0u32;
    while lanes_left.load(Ordering::Acquire) > 0 && !stop_requested() {
        // SAFETY: m points at the live MachineHdr; the core synchronises the run queue
        // and the tasks it hands over with atomics.
        let r = unsafe { ffi::gpuos_spare_run(m.get(), MachineLayout::SPARE_SLICE) };
        if r == ffi::SPARE_IDLE {
            idle = idle.saturating_add(1);
            back_off(idle, sleep_max_us);
        } else {
            idle = 0;
        }
    }
    // SAFETY: as above; a task this thread holds goes home, so no lane waits for it.
    unsafe { ffi::gpuos_spare_drop(m.get()) };
}

/// The `n`th wait in a row for other threads' work: yield the core a few times, then
/// sleep longer each time, up to `max_us` microseconds.
fn back_off(n: u32, max_us: u64) {
    if n < 32 {
        std::thread::yield_now();
    } else {
        let us = (1u64 << (n - 32).min(15)).min(max_us);
        std::thread::sleep(std::time::Duration::from_micros(us));
    }
}

/// Run one lane's family to its end, serving its host syscalls.
fn run_lane(
    cfg: &RunConfig,
    hosts: &Procs<'_>,
    m: MachinePtr,
    lane: usize,
    (bufs, buf_size): (&HostRegion, u64),
    host_times: &HostTimes,
) -> Result<(LaneResult, Vec<u8>), RunError> {
    let buf_size = buf_size as usize;
    hosts.start_lane(lane)?;
    let l = lane as u32;
    // SAFETY: m points at a live MachineHdr whose arrays have `lanes` entries (Procs:
    // `nslots`); this thread is the only one touching lane `l`'s first Proc, SysReq and
    // buffer.
    unsafe {
        let hdr = m.0;
        ffi::gpuos_proc_start(hdr, l);
        let proc_ptr = ((*hdr).procs as *mut Proc).add(lane);
        let req_ptr = ((*hdr).reqs as *mut SysReq).add(lane);
        let buf = std::slice::from_raw_parts_mut(bufs.ptr().add(lane * buf_size), buf_size);
        let mut idle_us = 0u64;
        let mut away = 0u32;
        loop {
            let progress = (*proc_ptr).progress;
            let r = ffi::gpuos_lane_run(hdr, l, SLICE);
            if r != ffi::LANE_AWAY {
                away = 0;
            }
            match r {
                ffi::LANE_HOSTWAIT => {
                    let req = &mut *req_ptr;
                    let t = Instant::now();
                    // Lanes of this thread run one after another (`policy`): a sleep
                    // is waited for here, in pieces, so that a stop (SIGINT, SIGTERM)
                    // ends it.
                    if let Some(w) = policy::serve_inline(hosts, req, buf, cfg.strace) {
                        if !sleep_until_or_stop(w) {
                            break;
                        }
                    }
                    host_times.add_serve(t.elapsed());
                    std::sync::atomic::fence(Ordering::Release);
                    req.done = req.seq;
                }
                ffi::LANE_DONE => break,
                ffi::LANE_AWAY => {
                    // Its runnable members run on spare lanes: look again soon.
                    away = away.saturating_add(1);
                    back_off(away, AWAY_SLEEP_MAX_US);
                }
                ffi::LANE_IDLE => {
                    // The whole family is blocked: sleep, longer while nothing moves.
                    idle_us = (idle_us * 2).clamp(10, IDLE_SLEEP_MAX_US);
                    std::thread::sleep(std::time::Duration::from_micros(idle_us));
                }
                _ => {}
            }
            if (*proc_ptr).progress != progress {
                idle_us = 0;
            }
            if stop_requested() {
                break;
            }
        }
        bufs.discard(lane * buf_size, buf_size);
        let mut host = hosts.take_lane(lane).ok_or(BackendError::LaneLost(lane))?;
        Ok(finish_lane(cfg, lane, &*proc_ptr, &mut host))
    }
}
