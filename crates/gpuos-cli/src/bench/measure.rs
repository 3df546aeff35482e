//! The measurement steps of `gpuos bench`: the qemu references and comparison, each
//! workload's throughput at each lane count, the syscall round trip and the start-up,
//! gathered into [`Figures`] for `report`.

use super::gate::{
    checked_lanes, gpuos_run, qemu_once, qemu_parallel, qemu_references, Expected, How, Reference,
};
use super::{backend_name, report, stats, Plan, Workload};
use gpuos::layout::Template;
use gpuos::prepare::Prepared;
use gpuos::{BackendKind, RunConfig, RunReport};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::IsTerminal;
use std::time::Instant;

/// Frames in the CPU backend's pool (crates/gpuos/src/backend/cpu.rs, CPU_POOL_FRAMES).
const CPU_POOL_FRAMES: u64 = 1 << 22;

/// One line of the table: workload, backend, lanes, guest instructions, instructions
/// per lane (min..max for a divergent workload), seconds, min..max, instructions/s,
/// instructions/s per lane.
pub(super) type Row = [String; 10];

/// The qemu side: each workload's reference stdout and the parallel comparison.
pub(super) struct QemuSide {
    /// What the lanes must print, per workload.
    pub refs: Vec<Expected>,
    /// Seconds of the single reference run per workload.
    pub single: Vec<f64>,
    /// Wall seconds of `cores` parallel processes per workload: median, min, max.
    pub wall: Vec<(f64, f64, f64)>,
}

/// What the steps gather, for the JSON document and the table.
pub(super) struct Figures {
    /// One JSON object per (backend, workload, lane count).
    pub results: Vec<Value>,
    pub rows: Vec<Row>,
    /// Guest instructions each lane retired, by lane index, per workload (as many
    /// lanes as the largest run so far; a lane runs the same arguments in every run).
    pub lane_insns: Vec<Vec<u64>>,
    /// The device of the last run (GPU name or host CPU).
    pub device: String,
    /// "backend/workload" -> memory figures.
    pub memory: Map<String, Value>,
    /// backend -> syscall round trip figures.
    pub syscall: Map<String, Value>,
    /// backend -> start-up figures ("backend/workload" while being gathered).
    pub startup: Map<String, Value>,
    /// gpuos runs/s (wall) and lane count per (backend, workload): the ratio's basis.
    pub gpuos_rps: BTreeMap<(&'static str, usize), (f64, usize)>,
    pub notes: Vec<String>,
}

/// What the runs of one lane count gave.
#[derive(Default)]
struct Repeats {
    /// Execution seconds of each run.
    secs: Vec<f64>,
    /// Wall seconds of each `gpuos::run` call.
    walls: Vec<f64>,
    /// Instructions each lane retired (the same in every run).
    insns: Vec<u64>,
    /// Lanes whose stdout was compared with a qemu reference.
    stdout_checked: usize,
    /// Instructions that ran translated, of the last run.
    translated: u64,
    /// Host requests (syscalls and gpuos's own) the last run's lanes posted.
    host_requests: u64,
    /// Processes and threads the last run made on the device, and their device
    /// nanoseconds summed (`RunReport::spawns`, `spawn_ns`).
    spawns: u64,
    spawn_ns: u64,
}

/// Peak private frames of one process and the template's frames, over a workload's runs.
#[derive(Default)]
struct Frames {
    peak_private: u64,
    template: u64,
    /// Per lane count: the most frames of the pool held at once in any of its runs
    /// (`RunReport::pool_frames`: shared pages, the page cache's, counted once).
    pool: BTreeMap<usize, u64>,
}

/// A plan being measured, with its progress bar.
struct Meter<'a> {
    p: &'a Plan<'a>,
    pb: ProgressBar,
}

/// Take every figure of the plan and report them (table on stdout); the JSON document.
pub(super) fn measure(p: &Plan, commit: &str, notes: Vec<String>) -> Result<Value, String> {
    let m = Meter {
        p,
        pb: progress_bar(p),
    };
    let q = m.qemu_side()?;
    let mut f = Figures {
        results: Vec::new(),
        rows: Vec::new(),
        lane_insns: vec![Vec::new(); p.workloads.len()],
        device: report::host_cpu(),
        memory: Map::new(),
        syscall: Map::new(),
        startup: Map::new(),
        gpuos_rps: BTreeMap::new(),
        notes,
    };
    for &b in &p.backends {
        for (wi, w) in p.workloads.iter().enumerate() {
            m.throughput(b, wi, &p.lane_counts(b, w), &q.refs[wi], &mut f)?;
        }
        m.syscall_round_trip(b, &q.refs, &mut f)?;
        m.startup(b, &mut f)?;
    }
    m.pb.finish_and_clear();
    let doc = report::document(p, commit, &q, &f);
    report::print_table(&doc, &f.rows);
    Ok(doc)
}

/// A progress bar over every run the plan makes (drawn only on a terminal).
fn progress_bar(p: &Plan) -> ProgressBar {
    let repeats = p.repeats as u64;
    let mut steps = p.workloads.len() as u64 * (1 + repeats); // references + qemu
    for &b in &p.backends {
        for w in &p.workloads {
            steps += p.lane_counts(b, w).len() as u64 * repeats;
        }
        steps += 2 * repeats; // syscall timing, idle and busy
    }
    let pb = ProgressBar::with_draw_target(
        Some(steps),
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

impl Meter<'_> {
    /// References and the qemu comparison: per workload one reference run (timed
    /// alone; a divergent workload's with seed 0, then those of the other seeds its
    /// checks and the comparison need, `cores` at a time), then `repeats` times `cores`
    /// qemu processes at once.
    fn qemu_side(&self) -> Result<QemuSide, String> {
        let (p, pb, cores) = (self.p, &self.pb, self.p.cores);
        let mut q = QemuSide {
            refs: Vec::new(),
            single: Vec::new(),
            wall: Vec::new(),
        };
        for w in &p.workloads {
            pb.set_message(format!("qemu reference: {}", w.name));
            let t = Instant::now();
            let out = qemu_once(&p.qemu, w, 0)?;
            q.single.push(t.elapsed().as_secs_f64());
            let mut expected = if w.divergent {
                let lanes: Vec<usize> = self.reference_lanes(w).into_iter().skip(1).collect();
                let mut m = qemu_references(&p.qemu, w, &lanes, cores)?;
                m.insert(0, out);
                Expected::PerLane(m.into_iter().map(|(l, o)| (l, Reference::new(o))).collect())
            } else {
                Expected::Same(Reference::new(out))
            };
            pb.inc(1);
            pb.set_message(format!("qemu x{cores}: {}", w.name));
            let mut walls = Vec::new();
            for _ in 0..p.repeats {
                walls.push(qemu_parallel(&p.qemu, w, cores, &expected)?);
                pb.inc(1);
            }
            q.wall.push(stats(&walls));
            if p.o.corrupt_check {
                // Testing aid: a reference no correct run can match, the last lane's
                // of the largest run (each lane's, for a convergent workload).
                let last = p.backends.iter().flat_map(|&b| p.lane_counts(b, w)).max();
                expected.corrupt(last.unwrap_or(1) - 1);
            }
            q.refs.push(expected);
        }
        Ok(q)
    }

    /// The lanes of divergent workload `w` that need a qemu reference: those
    /// `checked_lanes` picks at every lane count measured, and the qemu comparison's
    /// processes 0..cores (lane 0 first).
    fn reference_lanes(&self, w: &Workload) -> BTreeSet<usize> {
        let p = self.p;
        let mut s: BTreeSet<usize> = (0..p.cores).collect();
        for &b in &p.backends {
            for n in p.lane_counts(b, w) {
                s.extend(checked_lanes(n));
            }
        }
        s
    }

    /// Workload `wi` on backend `b` at each of `counts` lanes: a result and a table row
    /// per count, then its memory figure.
    fn throughput(
        &self,
        b: BackendKind,
        wi: usize,
        counts: &[usize],
        expected: &Expected,
        f: &mut Figures,
    ) -> Result<(), String> {
        let mut frames = Frames::default();
        for &lanes in counts {
            self.lane_count(b, wi, lanes, expected, f, &mut frames)?;
        }
        let w = &self.p.workloads[wi];
        let fig = memory_figure(b, counts, &frames);
        f.memory
            .insert(format!("{}/{}", backend_name(b), w.name), fig);
        Ok(())
    }

    /// Workload `wi` on backend `b` with `lanes` lanes, `repeats` times: each run
    /// checked, each lane's instructions recorded (a lane whose count changes from run
    /// to run is refused), the device, the frames and the single-lane run overhead on
    /// the way; then its figure.
    fn lane_count(
        &self,
        b: BackendKind,
        wi: usize,
        lanes: usize,
        expected: &Expected,
        f: &mut Figures,
        frames: &mut Frames,
    ) -> Result<(), String> {
        let (w, bname) = (&self.p.workloads[wi], backend_name(b));
        self.pb.set_message(format!("{bname} {} x{lanes}", w.name));
        let mut r = Repeats::default();
        for _ in 0..self.p.repeats {
            let how = How {
                extra: &[],
                output_dir: None,
                mixed: false,
                translate: self.p.translate,
            };
            let c = gpuos_run(w, b, lanes, expected, &how)?;
            self.pb.inc(1);
            record_insns(&mut f.lane_insns[wi], w, &c.report)?;
            r.insns = c.report.lanes.iter().map(|l| l.insns).collect();
            r.stdout_checked = c.stdout_checked;
            r.translated = c.report.translated;
            r.host_requests = c.report.round_trips.as_ref().map_or(0, |rt| rt.requests);
            (r.spawns, r.spawn_ns) = (c.report.spawns, c.report.spawn_ns);
            f.device = c.report.device.clone();
            r.secs.push(c.report.seconds);
            r.walls.push(c.wall);
            let peak = c.report.lanes.iter().map(|l| l.frames_private).max();
            frames.peak_private = frames.peak_private.max(peak.unwrap_or(0));
            frames.template = c.report.template_frames;
            let pool = frames.pool.entry(lanes).or_default();
            *pool = (*pool).max(c.report.pool_frames);
            let key = format!("{bname}/{}", w.name);
            if lanes == 1 && !f.startup.contains_key(&key) {
                let overhead = (c.wall - c.report.seconds).max(0.0);
                f.startup
                    .insert(key, json!({"run_overhead_seconds": overhead}));
            }
        }
        self.figure(b, wi, lanes, &r, f);
        Ok(())
    }

    /// The result (median, min, max seconds; instructions per lane) and table row of
    /// workload `wi`'s runs `r` on backend `b` with `lanes` lanes.
    fn figure(&self, b: BackendKind, wi: usize, lanes: usize, r: &Repeats, f: &mut Figures) {
        let (p, w, bname) = (self.p, &self.p.workloads[wi], backend_name(b));
        let (s, smin, smax) = stats(&r.secs);
        let (wall, _, _) = stats(&r.walls);
        let total = r.insns.iter().sum::<u64>();
        let (imin, imax) = (r.insns.iter().min(), r.insns.iter().max());
        let (imin, imax) = (imin.copied().unwrap_or(0), imax.copied().unwrap_or(0));
        let ips = total as f64 / s.max(1e-9);
        let share = r.translated as f64 / total.max(1) as f64;
        ratio_basis(f, b, wi, lanes, lanes as f64 / wall.max(1e-9), p.cores);
        f.results.push(json!({
            "workload": w.name,
            "backend": bname,
            "args": w.argv_tail(None, ""),
            "divergent": w.divergent,
            "timing_dependent": w.timing_dependent,
            "lanes": lanes,
            "runs": p.repeats,
            "guest_instructions": total,
            "instructions_per_lane": total / lanes as u64,
            "instructions_per_lane_min": imin,
            "instructions_per_lane_max": imax,
            "stdout_checked_lanes": r.stdout_checked,
            "seconds": s,
            "seconds_min": smin,
            "seconds_max": smax,
            "ips": ips,
            "ips_min": total as f64 / smax.max(1e-9),
            "ips_max": total as f64 / smin.max(1e-9),
            "wall_seconds": wall,
            "translate": p.o.translate,
            "translated_share": share,
            "host_requests": r.host_requests,
            "host_requests_per_second": r.host_requests as f64 / s.max(1e-9),
            "device_spawns": r.spawns,
            "device_spawn_us": if r.spawns > 0 { r.spawn_ns as f64 / r.spawns as f64 / 1e3 } else { 0.0 },
        }));
        let row = [
            w.name.to_string(),
            bname.to_string(),
            lanes.to_string(),
            total.to_string(),
            if imin == imax {
                imin.to_string()
            } else {
                format!("{imin}..{imax}")
            },
            format!("{s:.3}"),
            format!("{:.3}..{:.3}", smin, smax),
            report::fmt_si(ips),
            report::fmt_si(ips / lanes as f64),
            format!("{:.1}%", 100.0 * share),
        ];
        self.announce(&row);
        f.rows.push(row);
    }

    /// Each figure as soon as it is measured (above the progress bar, or as a line on
    /// stderr), so that a run cut off early still reports it.
    fn announce(&self, row: &Row) {
        let line = format!("gpuos bench: measured: {}", row.join(" "));
        if std::io::stderr().is_terminal() {
            self.pb.println(line);
        } else {
            eprintln!("{line}");
        }
    }

    /// Syscall round trip on backend `b`: bench_sys in timing mode, guest-measured,
    /// idle (one lane) and busy (lane 0 times while every other lane computes).
    fn syscall_round_trip(
        &self,
        b: BackendKind,
        refs: &[Expected],
        f: &mut Figures,
    ) -> Result<(), String> {
        let p = self.p;
        let Some(wi) = p.workloads.iter().position(|x| x.name == "sys") else {
            return Ok(());
        };
        let w = &p.workloads[wi];
        // Busy: bench_sys's busy mode, 1024 lanes on a GPU, one per core on the CPU.
        let busy_lanes = if b == BackendKind::Cpu {
            p.cores.max(2)
        } else {
            w.max_lanes.min(1024)
        };
        let [idle, busy] = self.timing_samples(b, w, &refs[wi], busy_lanes)?;
        let median = |v: &[Value], key: &str| {
            stats(
                &v.iter()
                    .map(|t| t[key].as_f64().unwrap_or(0.0))
                    .collect::<Vec<_>>(),
            )
            .0
        };
        f.syscall.insert(
            backend_name(b).to_string(),
            json!({
                "p50_ns": median(&idle, "p50_ns"),
                "p99_ns": median(&idle, "p99_ns"),
                "clock_gettime_p50_ns": median(&idle, "clock_gettime_p50_ns"),
                "clock_gettime_p99_ns": median(&idle, "clock_gettime_p99_ns"),
                "stages_us": stage_medians(&idle),
                "busy": {
                    "lanes": busy_lanes,
                    "p50_ns": median(&busy, "p50_ns"),
                    "p99_ns": median(&busy, "p99_ns"),
                    "note": "lane 0 times its syscalls while every other lane computes (bench_sys N timing busy {lane})",
                },
                "runs": p.repeats,
                "path": if b == BackendKind::Cpu {
                    "function call into the host services on the running thread (no ring)"
                } else {
                    "submission ring in pinned device-mapped memory, served by a host thread"
                },
            }),
        );
        Ok(())
    }

    /// bench_sys's timing figures of each repeat: idle (one lane) and busy
    /// (`busy_lanes`), each read from lane 0's stderr.
    fn timing_samples(
        &self,
        b: BackendKind,
        w: &Workload,
        expected: &Expected,
        busy_lanes: usize,
    ) -> Result<[Vec<Value>; 2], String> {
        let bname = backend_name(b);
        let mut figs: [Vec<Value>; 2] = [Vec::new(), Vec::new()];
        for r in 0..self.p.repeats {
            for (k, lanes) in [(0, 1), (1, busy_lanes)] {
                self.pb.set_message(format!(
                    "{bname} syscall timing, {}",
                    if k == 0 { "idle" } else { "busy" }
                ));
                let dir = self.p.tmp.join(format!("timing-{bname}-{r}-{k}"));
                let extra: &[&str] = if k == 0 {
                    &["timing"]
                } else {
                    &["timing", "busy", "{lane}"]
                };
                let how = How {
                    extra,
                    output_dir: Some(&dir),
                    mixed: k == 1,
                    translate: self.p.translate,
                };
                let c = gpuos_run(w, b, lanes, expected, &how)?;
                self.pb.inc(1);
                let err = std::fs::read(dir.join("lane-0.stderr")).unwrap_or_default();
                let _ = std::fs::remove_dir_all(&dir);
                let mut fig =
                    timing_figures(&err).ok_or("bench_sys printed no timing line under gpuos")?;
                if let Some(rt) = &c.report.round_trips {
                    fig["stages_us"] = stages_json(rt);
                }
                drop(c);
                figs[k].push(fig);
            }
        }
        Ok(figs)
    }

    /// Start-up on backend `b`: loading and the template of the first workload, the
    /// compile times on CUDA, and the single-lane run overheads gathered so far.
    fn startup(&self, b: BackendKind, f: &mut Figures) -> Result<(), String> {
        let Some(w) = self.p.workloads.first() else {
            return Ok(());
        };
        let bname = backend_name(b);
        let mut cfg = RunConfig::new(&w.program, vec![w.program.clone().into_os_string()]);
        cfg.sysroot = w.sysroot.clone();
        let t = Instant::now();
        let prep = Prepared::new(&cfg).map_err(|e| e.to_string())?;
        let load = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let template = Template::staged(&prep).map_err(|e| e.to_string())?;
        let tmpl = t.elapsed().as_secs_f64();
        drop(template);
        let (cold, warm) = self.compile_times(b, &mut f.notes);
        let mut s = Map::new();
        s.insert("load_seconds".into(), json!(load));
        s.insert("template_seconds".into(), json!(tmpl));
        s.insert("load_program".into(), json!(w.name));
        s.insert("compile_cold_seconds".into(), cold);
        s.insert("compile_warm_seconds".into(), warm);
        if b == BackendKind::Cuda {
            s.insert("compile_arch".into(), json!(self.p.o.arch));
        }
        for (k, v) in f.startup.clone() {
            if let Some(rest) = k.strip_prefix(&format!("{bname}/")) {
                s.insert(
                    format!("run_overhead_seconds/{rest}"),
                    v["run_overhead_seconds"].clone(),
                );
                f.startup.remove(&k);
            }
        }
        f.startup.insert(bname.to_string(), Value::Object(s));
        Ok(())
    }

    /// Compile seconds of the execution core, cold (empty cache) and warm: on CUDA
    /// `precompile` twice with a cache directory of its own (or, with
    /// `--skip-cold-compile`, only warm from the run's own cache); "n/a" on the CPU.
    fn compile_times(&self, b: BackendKind, notes: &mut Vec<String>) -> (Value, Value) {
        let o = self.p.o;
        if b != BackendKind::Cuda {
            return (json!("n/a"), json!("n/a"));
        }
        if o.skip_cold_compile {
            // The warm start: the module from the run's own cache (GPUOS_CACHE_DIR).
            let t = Instant::now();
            return match gpuos::backend::cuda::precompile(&o.arch, false) {
                Ok(_) => (
                    json!("not measured (--skip-cold-compile)"),
                    json!(t.elapsed().as_secs_f64()),
                ),
                Err(e) => {
                    notes.push(format!("compile time not measured: {e}"));
                    (Value::Null, Value::Null)
                }
            };
        }
        let cache = self.p.tmp.join("nvrtc-cache");
        let old = std::env::var_os("GPUOS_CACHE_DIR");
        std::env::set_var("GPUOS_CACHE_DIR", &cache);
        let t = Instant::now();
        let r1 = gpuos::backend::cuda::precompile(&o.arch, false);
        let cold = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r2 = gpuos::backend::cuda::precompile(&o.arch, false);
        let warm = t.elapsed().as_secs_f64();
        match old {
            Some(v) => std::env::set_var("GPUOS_CACHE_DIR", v),
            None => std::env::remove_var("GPUOS_CACHE_DIR"),
        }
        match (r1, r2) {
            (Ok(_), Ok(_)) => (json!(cold), json!(warm)),
            (Err(e), _) | (_, Err(e)) => {
                notes.push(format!("compile time not measured: {e}"));
                (Value::Null, Value::Null)
            }
        }
    }
}

/// Record the instructions each lane of a checked run of `w` retired in `known` (by
/// lane index), refusing a lane that retired a different count in an earlier run: a
/// lane runs the same program with the same arguments in every run (but a
/// timing-dependent workload's threads may wait a few instructions more or less: its
/// first run's counts are kept).
fn record_insns(known: &mut Vec<u64>, w: &Workload, report: &RunReport) -> Result<(), String> {
    for (i, l) in report.lanes.iter().enumerate() {
        match known.get(i) {
            Some(&k) if k != l.insns && !w.timing_dependent => {
                return Err(format!(
                    "refused: {} lane {i} retired {} instructions in one run and {k} in another",
                    w.name, l.insns
                ))
            }
            Some(_) => {}
            None => known.push(l.insns),
        }
    }
    Ok(())
}

/// Offer `rps` runs/s at `lanes` lanes as the basis of workload `wi`'s qemu ratio on
/// backend `b`: lanes == cores on the CPU backend (equal total work to the N = cores
/// qemu processes), the best runs/s on CUDA.
fn ratio_basis(f: &mut Figures, b: BackendKind, wi: usize, lanes: usize, rps: f64, cores: usize) {
    let e = f
        .gpuos_rps
        .entry((backend_name(b), wi))
        .or_insert((rps, lanes));
    let take = if b == BackendKind::Cpu {
        lanes.abs_diff(cores) < e.1.abs_diff(cores)
    } else {
        rps > e.0
    };
    if take {
        *e = (rps, lanes);
    }
}

/// A workload's memory figure on backend `b`: peak private bytes per process, the
/// template, and how many processes fit (estimates on the CPU, the largest run on CUDA).
fn memory_figure(b: BackendKind, counts: &[usize], frames: &Frames) -> Value {
    let per_proc = frames.peak_private * 4096;
    let fit = if b == BackendKind::Cpu {
        let pool = CPU_POOL_FRAMES / frames.peak_private.max(1);
        let ram = report::mem_available_bytes().map(|m| m / per_proc.max(1));
        json!({
            "bounded": false,
            "estimate_from_pool": pool,
            "estimate_from_available_ram": ram,
            "note": "the CPU backend has no fixed process limit: its frame pool reserves 16 GiB of address space (4 Mi frames); estimates = pool or MemAvailable / peak private bytes per process",
        })
    } else {
        json!({
            "bounded": true,
            "largest_run": counts.iter().max().copied(),
            "note": "largest lane count that ran; the device frame pool bounds it",
        })
    };
    // Device memory per lane as a whole run held it: what a lane costs with the
    // shared pages (the template, the page cache's libraries) divided among the lanes.
    let pool: Map<String, Value> = frames
        .pool
        .iter()
        .map(|(&lanes, &f)| (lanes.to_string(), json!(f * 4096 / lanes.max(1) as u64)))
        .collect();
    json!({
        "peak_private_bytes_per_process": per_proc,
        "template_bytes": frames.template * 4096,
        "pool_high_water_bytes_per_lane": pool,
        "most_processes": fit,
    })
}

fn parse_kv(line: &str, key: &str) -> Option<f64> {
    line.split_whitespace()
        .find_map(|t| t.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

/// The median over repeats of each round-trip stage (`stages_us` of each figure), with
/// what the stages mean; null when no repeat timed a request.
fn stage_medians(figs: &[Value]) -> Value {
    let keys = [
        "post",
        "posted_to_pushed",
        "posted_to_poller",
        "posted_to_resumed",
        "complete",
        "host_serve",
        "host_turn",
    ];
    if figs.iter().all(|f| f["stages_us"].is_null()) {
        return Value::Null;
    }
    let mut m = Map::new();
    for k in keys {
        let v: Vec<f64> = figs
            .iter()
            .filter_map(|f| f["stages_us"][k].as_f64())
            .collect();
        m.insert(k.into(), json!(stats(&v).0));
    }
    m.insert(
        "note".into(),
        json!("means over the idle run's host requests on the core's clock (gpuos run -v): post = syscall entry to the request written; posted_to_* from then; pushed and poller: GPU persistent mode only"),
    );
    Value::Object(m)
}

/// A run's round-trip stages (means, microseconds), as JSON.
fn stages_json(rt: &gpuos::RoundTrips) -> Value {
    json!({
        "requests": rt.requests,
        "post": rt.post_us,
        "posted_to_pushed": rt.pushed_us,
        "posted_to_poller": rt.poller_us,
        "posted_to_resumed": rt.resumed_us,
        "complete": rt.complete_us,
        "host_serve": rt.host_serve_us,
        "host_turn": rt.host_turn_us,
    })
}

/// Syscall round trip from bench_sys's timing mode (its stderr).
fn timing_figures(stderr: &[u8]) -> Option<Value> {
    let s = String::from_utf8_lossy(stderr);
    let l = s.lines().find(|l| l.starts_with("bench_sys timing"))?;
    Some(json!({
        "samples": parse_kv(l, "samples")?,
        "p50_ns": parse_kv(l, "p50_ns")?,
        "p99_ns": parse_kv(l, "p99_ns")?,
        "clock_gettime_p50_ns": parse_kv(l, "clock_p50_ns")?,
        "clock_gettime_p99_ns": parse_kv(l, "clock_p99_ns")?,
    }))
}
