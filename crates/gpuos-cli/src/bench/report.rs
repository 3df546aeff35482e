//! The report of `gpuos bench`: the JSON document of the figures, and the table.

use super::measure::{Figures, QemuSide, Row};
use super::{backend_name, Plan};
use gpuos::BackendKind;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::process::{Command, Stdio};

/// The JSON document (docs/BENCHMARKS.md, "JSON") of the figures `f` and the qemu side
/// `q` of plan `p`.
pub(super) fn document(p: &Plan, commit: &str, q: &QemuSide, f: &Figures) -> Value {
    let qemu = qemu_figures(p, q, f);
    let (driver, cuda_version) = gpu_versions(p.backends.contains(&BackendKind::Cuda));
    json!({
        "device": f.device,
        "host_cpu": host_cpu(),
        "backend": p.backends.iter().map(|&b| backend_name(b)).collect::<Vec<_>>().join(","),
        "gpuos_commit": commit,
        "date": now_iso8601(),
        "driver": driver,
        "cuda": cuda_version,
        "quick": p.quick,
        "tiny": p.o.tiny,
        "repeats": p.repeats,
        "resident_lanes": p.resident,
        "results": f.results,
        "qemu": {
            "binary": p.qemu.display().to_string(),
            "cpu": "cortex-a57",
            "cores": p.cores,
            "method": "N = cores qemu processes started at once, each running the workload once (a divergent workload: process k with seed k, like gpuos's lane k); runs/s = N / wall seconds for all (median of repeats); ips = guest instructions per run as counted by gpuos (a divergent workload: the mean over lanes 0..N-1) x runs/s",
            "per_workload": qemu.per_workload,
        },
        "ratio": qemu.ratio,
        "ratio_by_backend": qemu.ratio_by_backend,
        "ratio_basis": {
            "definition": "gpuos runs/s / qemu runs/s; gpuos runs/s = lanes / wall seconds of gpuos::run (load, template and execution) at lanes = cores (CPU) or the best lane count (CUDA)",
            "lanes": qemu.ratio_basis,
        },
        "syscall": {
            "method": "guest-measured: bench_sys in timing mode brackets each write/lseek/read with clock_gettime; p50/p99 over every call of one run, median over runs (clock_gettime is served on the device, kernel/sys/time_sys.h, so a sample is the call's own round trip plus a device clock read); clock_gettime_* = back-to-back clock_gettime pairs",
            "per_backend": f.syscall,
        },
        "memory": f.memory,
        "startup": f.startup,
        "notes": f.notes,
    })
}

/// qemu's figures per workload and the gpuos/qemu ratios.
struct QemuFigures {
    per_workload: Map<String, Value>,
    /// The last backend's ratio per workload.
    ratio: Map<String, Value>,
    ratio_by_backend: Map<String, Value>,
    /// The gpuos lane count of each ratio.
    ratio_basis: Map<String, Value>,
}

fn qemu_figures(p: &Plan, q: &QemuSide, f: &Figures) -> QemuFigures {
    let mut r = QemuFigures {
        per_workload: Map::new(),
        ratio: Map::new(),
        ratio_by_backend: Map::new(),
        ratio_basis: Map::new(),
    };
    for (wi, w) in p.workloads.iter().enumerate() {
        let (wall, wmin, wmax) = q.wall[wi];
        let rps = p.cores as f64 / wall.max(1e-9);
        // Instructions per run: gpuos's count for the lanes that ran what the N
        // processes ran (lanes 0..N-1, the same arguments), their mean.
        let known = &f.lane_insns[wi];
        let same = &known[..known.len().min(p.cores)];
        let insns = same.iter().sum::<u64>() as f64 / same.len().max(1) as f64;
        let insns0 = known.first().copied().unwrap_or(0) as f64;
        r.per_workload.insert(
            w.name.to_string(),
            json!({
                "divergent": w.divergent,
                "runs_per_second": rps,
                "ips": insns * rps,
                "seconds": wall,
                "seconds_min": wmin,
                "seconds_max": wmax,
                "single_run_seconds": q.single[wi],
                "single_run_ips": insns0 / q.single[wi].max(1e-9),
            }),
        );
        for &b in &p.backends {
            let bname = backend_name(b);
            if let Some(&(g, lanes)) = f.gpuos_rps.get(&(bname, wi)) {
                // The top-level ratio is the last backend's (the only one, usually).
                r.ratio.insert(w.name.to_string(), json!(g / rps));
                r.ratio_by_backend
                    .entry(bname.to_string())
                    .or_insert_with(|| json!({}))[w.name] = json!(g / rps);
                r.ratio_basis
                    .entry(bname.to_string())
                    .or_insert_with(|| json!({}))[w.name] = json!({"gpuos_lanes": lanes});
            }
        }
    }
    r
}

/// The NVIDIA driver and CUDA versions nvidia-smi reports (null without CUDA).
fn gpu_versions(cuda: bool) -> (Value, Value) {
    if !cuda {
        return (Value::Null, Value::Null);
    }
    let driver = command_line(
        "nvidia-smi",
        &["--query-gpu=driver_version", "--format=csv,noheader"],
    )
    .map(Value::from)
    .unwrap_or(Value::Null);
    let cuda_version = command_line("nvidia-smi", &[])
        .and_then(|s| {
            s.split("CUDA Version:")
                .nth(1)
                .and_then(|r| r.split_whitespace().next().map(str::to_string))
        })
        .map(Value::from)
        .unwrap_or(Value::Null);
    (driver, cuda_version)
}

/// Civil UTC date and time of the system clock, ISO 8601.
fn now_iso8601() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

pub(super) fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let o = Command::new(cmd)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !o.status.success() {
        return None;
    }
    let s = String::from_utf8_lossy(&o.stdout).trim().to_string();
    (!s.is_empty()).then_some(s)
}

pub(super) fn host_cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "host CPU".into())
}

pub(super) fn mem_available_bytes() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let l = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = l.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

pub(super) fn fmt_si(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2} G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2} M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.2} k", x / 1e3)
    } else {
        format!("{x:.2} ")
    }
}

pub(super) fn print_table(doc: &Value, rows: &[Row]) {
    println!(
        "gpuos bench on {} (commit {}, {})",
        doc["device"].as_str().unwrap_or("?"),
        doc["gpuos_commit"].as_str().unwrap_or("?"),
        doc["date"].as_str().unwrap_or("?")
    );
    let head = [
        "workload",
        "backend",
        "lanes",
        "guest insns",
        "insns/lane",
        "seconds",
        "min..max",
        "insns/s",
        "per lane/s",
        "translated",
    ];
    let mut w = head.map(str::len);
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.len());
        }
    }
    let line = |r: &[&str]| {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < 2 {
                    format!("{c:<0$}", w[i])
                } else {
                    format!("{c:>0$}", w[i])
                }
            })
            .collect();
        println!("{}", cells.join("  "));
    };
    line(&head);
    for r in rows {
        line(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let q = &doc["qemu"];
    let divergent: Vec<&str> = (q["per_workload"].as_object().into_iter().flatten())
        .filter(|(_, v)| v["divergent"] == true)
        .map(|(k, _)| k.as_str())
        .collect();
    if !divergent.is_empty() {
        println!(
            "divergent ({}): lane k and qemu process k run with seed k; stdout checked against qemu for every lane up to 256 lanes, for a sample above",
            divergent.join(", ")
        );
    }
    println!(
        "\nqemu-aarch64 (-cpu cortex-a57), {} parallel processes:",
        q["cores"]
    );
    if let Some(m) = q["per_workload"].as_object() {
        for (k, v) in m {
            println!(
                "  {k:<8} {:>10.2} runs/s  {:>10}insns/s   ratio gpuos/qemu = {}",
                v["runs_per_second"].as_f64().unwrap_or(0.0),
                fmt_si(v["ips"].as_f64().unwrap_or(0.0)),
                doc["ratio"][k]
                    .as_f64()
                    .map_or("n/a".into(), |r| format!("{r:.3}"))
            );
        }
    }
    if let Some(m) = doc["syscall"]["per_backend"].as_object() {
        for (k, v) in m {
            println!(
                "syscall round trip ({k}, guest-measured): p50 {} ns, p99 {} ns; clock_gettime p50 {} ns, p99 {} ns; with {} lanes busy: p50 {} ns, p99 {} ns",
                v["p50_ns"], v["p99_ns"], v["clock_gettime_p50_ns"], v["clock_gettime_p99_ns"],
                v["busy"]["lanes"], v["busy"]["p50_ns"], v["busy"]["p99_ns"]
            );
            let s = &v["stages_us"];
            if s.is_object() {
                let f = |k: &str| s[k].as_f64().unwrap_or(0.0);
                println!(
                    "  stages ({k}, 1 lane, mean us): post {:.2}, posted -> pushed {:.2}, -> poller saw {:.2}, -> lane resumed {:.2}, complete {:.2}; host serve {:.2}, turn {:.2}",
                    f("post"), f("posted_to_pushed"), f("posted_to_poller"), f("posted_to_resumed"),
                    f("complete"), f("host_serve"), f("host_turn")
                );
            }
        }
    }
    print_host_requests(doc);
    print_spawn_rates(doc);
    if let Some(m) = doc["memory"].as_object() {
        for (k, v) in m {
            let pool: Vec<String> = v["pool_high_water_bytes_per_lane"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(n, b)| format!("{} KiB at {n}", b.as_u64().unwrap_or(0) / 1024))
                        .collect()
                })
                .unwrap_or_default();
            println!(
                "memory {k}: peak {} KiB private per process, {} KiB shared template; frame pool high-water per lane: {}",
                v["peak_private_bytes_per_process"].as_u64().unwrap_or(0) / 1024,
                v["template_bytes"].as_u64().unwrap_or(0) / 1024,
                pool.join(", ")
            );
        }
    }
    if let Some(m) = doc["startup"].as_object() {
        for (k, v) in m {
            println!(
                "startup {k}: load {:.4} s, template {:.4} s, compile cold {}, warm {}",
                v["load_seconds"].as_f64().unwrap_or(0.0),
                v["template_seconds"].as_f64().unwrap_or(0.0),
                v["compile_cold_seconds"],
                v["compile_warm_seconds"]
            );
        }
    }
    if let Some(n) = doc["notes"].as_array() {
        for n in n {
            println!("note: {}", n.as_str().unwrap_or(""));
        }
    }
}

/// Spawns per second of the spawn workloads (issue 16's "spawns/s device-wide"):
/// lanes x 8 spawns a round (tests/guest/bench_spawn.c) x rounds (the workload's first
/// argument) over the run's execution seconds, the best per workload and backend. The
/// process start and every guest instruction of the spawns are included.
fn print_spawn_rates(doc: &Value) {
    let mut best: BTreeMap<(String, String), (f64, u64, f64)> = BTreeMap::new();
    for r in doc["results"].as_array().into_iter().flatten() {
        let w = r["workload"].as_str().unwrap_or("");
        if !w.starts_with("spawn") {
            continue;
        }
        let rounds: f64 = r["args"][0]
            .as_str()
            .and_then(|a| a.parse().ok())
            .unwrap_or(0.0);
        let (lanes, secs) = (
            r["lanes"].as_u64().unwrap_or(0),
            r["seconds"].as_f64().unwrap_or(0.0),
        );
        if secs <= 0.0 {
            continue;
        }
        let rate = lanes as f64 * 8.0 * rounds / secs;
        let key = (
            w.to_string(),
            r["backend"].as_str().unwrap_or("?").to_string(),
        );
        let device_us = r["device_spawn_us"].as_f64().unwrap_or(0.0);
        if rate > best.get(&key).map_or(0.0, |x| x.0) {
            best.insert(key, (rate, lanes, device_us));
        }
    }
    for ((w, b), (rate, lanes, device_us)) in best {
        let what = if w == "spawn" { "thread" } else { "process" };
        println!(
            "{what} spawns/s ({b}, best): {} ({w} x{lanes}); {device_us:.2} us device-side per spawn",
            fmt_si(rate)
        );
    }
}

/// Host requests per second (issue 14's "host syscalls/s served"): the most any
/// workload's run reached, per backend, over the run's execution seconds.
fn print_host_requests(doc: &Value) {
    let mut best: BTreeMap<String, (f64, String)> = BTreeMap::new();
    for r in doc["results"].as_array().into_iter().flatten() {
        let rate = r["host_requests_per_second"].as_f64().unwrap_or(0.0);
        let b = r["backend"].as_str().unwrap_or("?").to_string();
        if rate > best.get(&b).map_or(0.0, |x| x.0) {
            let at = format!("{} x{}", r["workload"].as_str().unwrap_or("?"), r["lanes"]);
            best.insert(b, (rate, at));
        }
    }
    for (b, (rate, at)) in best {
        println!("host requests/s ({b}, best): {} ({at})", fmt_si(rate));
    }
}
