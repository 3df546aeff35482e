//! `gpuos bench`: the quick CPU run produces well-formed JSON, a divergent workload's
//! lanes are each checked against qemu with their own seed, and a wrong result is
//! refused. Needs the guest programs (tests/guest/build.sh) and qemu-aarch64.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn require_tools() {
    let qemu = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("qemu-aarch64").is_file()))
        || root().join(".deps/qemu-aarch64-static").is_file();
    assert!(
        qemu,
        "qemu-aarch64 is required for the bench tests (apt-get install qemu-user, or scripts/fetch-deps.sh)"
    );
    for w in ["bench_int", "bench_fp", "bench_mem", "bench_sys"] {
        let p = root().join("tests/guest/bin").join(w);
        assert!(
            p.is_file(),
            "{} missing: run tests/guest/build.sh",
            p.display()
        );
    }
}

fn bench(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gpuos"))
        .current_dir(root())
        .arg("bench")
        .args(args)
        .output()
        .expect("run gpuos bench")
}

fn num(v: &serde_json::Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what} is not a number: {v}"))
}

#[test]
fn quick_cpu_json() {
    require_tools();
    let dir = std::env::temp_dir().join(format!("gpuos-bench-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("out.json");
    let plot = dir.join("out.png");
    let out = bench(&[
        "--quick",
        "--backend",
        "cpu",
        "--json",
        json.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("workload"), "no table on stdout: {stdout}");
    let png = std::fs::read(&plot).expect("plot written");
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid JSON");
    let _ = std::fs::remove_dir_all(&dir);

    for k in [
        "device",
        "backend",
        "gpuos_commit",
        "date",
        "results",
        "qemu",
        "ratio",
        "syscall",
        "memory",
        "startup",
    ] {
        assert!(doc.get(k).is_some(), "missing top-level {k}");
    }
    assert_eq!(doc["backend"], "cpu");
    assert!(doc["driver"].is_null() && doc["cuda"].is_null());
    assert!(!doc["gpuos_commit"].as_str().unwrap().is_empty());

    let results = doc["results"].as_array().expect("results array");
    assert!(!results.is_empty());
    let mut per_lane: std::collections::BTreeMap<String, u64> = Default::default();
    let mut lanes_seen: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
    for r in results {
        let w = r["workload"].as_str().expect("workload").to_string();
        let lanes = r["lanes"].as_u64().expect("lanes");
        assert!(lanes >= 1);
        assert!(r["runs"].as_u64().expect("runs") >= 1);
        let insns = r["guest_instructions"]
            .as_u64()
            .expect("guest_instructions");
        assert!(insns > 0, "{w}: no instructions");
        for k in ["seconds", "ips", "seconds_min", "seconds_max"] {
            assert!(num(&r[k], k) > 0.0, "{w}: {k} not positive");
        }
        assert!(num(&r["seconds_min"], "min") <= num(&r["seconds"], "s"));
        assert!(num(&r["seconds"], "s") <= num(&r["seconds_max"], "max"));
        let (min, mean, max) = (
            r["instructions_per_lane_min"].as_u64().expect("min"),
            r["instructions_per_lane"].as_u64().expect("per lane"),
            r["instructions_per_lane_max"].as_u64().expect("max"),
        );
        assert!(min <= mean && mean <= max, "{w}: {min} {mean} {max}");
        // Up to 256 lanes every lane's stdout is compared with qemu's.
        let checked = r["stdout_checked_lanes"]
            .as_u64()
            .expect("stdout_checked_lanes");
        assert!(
            checked == lanes || (lanes > 256 && checked < lanes),
            "{w}: {checked}"
        );
        let divergent = r["divergent"].as_bool().expect("divergent");
        assert_eq!(divergent, w == "int-div", "{w}: divergent");
        assert_eq!(doc["qemu"]["per_workload"][&w]["divergent"], divergent);
        if divergent {
            // A seed per lane: its lanes' counts differ, so only their bounds hold.
            assert_eq!(r["args"].as_array().unwrap().last().unwrap(), "{lane}");
            lanes_seen.entry(w).or_default().push(lanes);
            continue;
        }
        if r["timing_dependent"].as_bool() == Some(true) {
            // Tasks that wait on one another: a few instructions more or less a run.
            assert!(
                [
                    "threads",
                    "spawn",
                    "spawn-fork",
                    "spawn-fork-big",
                    "pipeline",
                    "xargs"
                ]
                .contains(&w.as_str()),
                "{w}: timing-dependent"
            );
            per_lane.entry(w.clone()).or_insert(insns / lanes);
            lanes_seen.entry(w).or_default().push(lanes);
            continue;
        }
        // The same workload retires the same instructions per process at every lane count.
        assert_eq!(min, max, "{w}: lanes retired different instruction counts");
        assert_eq!(
            insns % lanes,
            0,
            "{w}: instructions not a multiple of lanes"
        );
        let p = *per_lane.entry(w.clone()).or_insert(insns / lanes);
        assert_eq!(
            p,
            insns / lanes,
            "{w}: instructions per process differ across lane counts"
        );
        lanes_seen.entry(w).or_default().push(lanes);
    }
    for w in ["int", "int-div", "fp", "mem", "sys"] {
        let l = lanes_seen
            .get(w)
            .unwrap_or_else(|| panic!("no results for {w}"));
        assert!(l.contains(&1), "{w}: no single-lane figure");
    }
    let q = &doc["qemu"];
    assert!(q["cores"].as_u64().expect("qemu.cores") >= 1);
    let per = q["per_workload"].as_object().expect("qemu.per_workload");
    for (w, v) in per {
        assert!(num(&v["runs_per_second"], "runs_per_second") > 0.0, "{w}");
        assert!(num(&v["ips"], "ips") > 0.0, "{w}");
        assert!(num(&doc["ratio"][w], "ratio") > 0.0, "{w}: ratio");
    }
    assert_eq!(
        per.len(),
        per_lane.len() + 1,
        "qemu figures: the workloads and int-div"
    );
    let sys = &doc["syscall"]["per_backend"]["cpu"];
    assert!(num(&sys["p50_ns"], "p50") > 0.0);
    assert!(num(&sys["p99_ns"], "p99") >= num(&sys["p50_ns"], "p50"));
    let busy = &sys["busy"];
    assert!(num(&busy["lanes"], "busy lanes") >= 2.0);
    assert!(num(&busy["p50_ns"], "busy p50") > 0.0);
    assert!(num(&busy["p99_ns"], "busy p99") >= num(&busy["p50_ns"], "busy p50"));
    let mem = doc["memory"].as_object().expect("memory");
    for (k, v) in mem {
        assert!(
            v["peak_private_bytes_per_process"].as_u64().unwrap_or(0) > 0,
            "{k}"
        );
        assert!(v["template_bytes"].as_u64().unwrap_or(0) > 0, "{k}");
    }
    assert!(num(&doc["startup"]["cpu"]["load_seconds"], "load") > 0.0);
    assert_eq!(doc["startup"]["cpu"]["compile_cold_seconds"], "n/a");
}

#[test]
fn wrong_result_is_refused() {
    require_tools();
    let out = bench(&[
        "--quick",
        "--backend",
        "cpu",
        "--workloads",
        "int",
        "--corrupt-check",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a wrong result was not refused");
    assert!(stderr.contains("refused"), "no refusal message: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("insns/s"),
        "figures reported for a wrong result: {stdout}"
    );
}

/// `gpuos bench --tiny --backend cpu --workloads int-div --lanes 3` plus `extra`.
fn int_div(extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "--tiny",
        "--backend",
        "cpu",
        "--workloads",
        "int-div",
        "--lanes",
        "3",
    ];
    args.extend_from_slice(extra);
    bench(&args)
}

#[test]
fn divergent_lanes_pass_their_own_seeds_check() {
    require_tools();
    let json = std::env::temp_dir().join(format!("gpuos-bench-div-{}.json", std::process::id()));
    let out = int_div(&["--json", json.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "int-div refused: {stderr}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid JSON");
    let _ = std::fs::remove_file(&json);
    let results = doc["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["workload"], "int-div");
    assert_eq!(r["divergent"], true);
    assert_eq!(r["lanes"], 3);
    assert_eq!(r["stdout_checked_lanes"], 3);
    // Each lane's data differs, and with it the paths it takes: the counts differ.
    let (min, max) = (
        r["instructions_per_lane_min"].as_u64().unwrap(),
        r["instructions_per_lane_max"].as_u64().unwrap(),
    );
    assert!(min < max, "lanes with different seeds retired {min}..{max}");
    // The same order of work as the convergent workload: within 1 %.
    assert!((max - min) * 100 < min, "{min}..{max}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("int-div"), "no int-div row: {stdout}");
}

#[test]
fn divergent_wrong_lane_is_refused() {
    require_tools();
    // --corrupt-check alters the reference of the last lane only (lane 2): lanes 0 and
    // 1 match theirs, so the refusal shows that lane 2 is compared with its own seed's.
    let out = int_div(&["--corrupt-check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a wrong lane was not refused");
    assert!(
        stderr.contains("refused: int-div") && stderr.contains("lane 2 stdout differs"),
        "no refusal of lane 2: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("insns/s"),
        "figures reported for a wrong result: {stdout}"
    );
}

/// `--sysroot`: the python3 workload (issue 15's start-up figure) runs Debian's python3
/// from the sysroot, every lane's output checked against `qemu-aarch64 -L`. Needs the
/// sysroot the test command builds (scripts/fetch-deps.sh); without one there is
/// nothing to run.
#[test]
fn python3_from_sysroot() {
    require_tools();
    let sysroot = root().join(".deps/sysroot");
    if !sysroot.join("usr/bin/python3").exists() {
        eprintln!("skipped: no {} (scripts/fetch-deps.sh)", sysroot.display());
        return;
    }
    let dir = std::env::temp_dir().join(format!("gpuos-bench-py-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("out.json");
    let out = bench(&[
        "--quick",
        "--backend",
        "cpu",
        "--workloads",
        "python3",
        "--lanes",
        "1,2",
        "--sysroot",
        sysroot.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bench failed: {}\n{stderr}",
        out.status
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).expect("json written")).expect("valid JSON");
    let _ = std::fs::remove_dir_all(&dir);
    let results = doc["results"].as_array().expect("results array");
    assert_eq!(results.len(), 2, "{results:?}");
    for r in results {
        assert_eq!(r["workload"], "python3");
        let lanes = r["lanes"].as_u64().expect("lanes");
        assert_eq!(r["stdout_checked_lanes"].as_u64(), Some(lanes), "{r}");
        // python3's start-up is tens of millions of instructions, the same in every lane.
        let per_lane = r["instructions_per_lane"].as_u64().expect("per lane");
        assert!(per_lane > 10_000_000, "{r}");
        assert_eq!(
            r["instructions_per_lane_min"], r["instructions_per_lane_max"],
            "{r}"
        );
        assert!(num(&r["seconds"], "seconds") > 0.0);
    }
    assert!(num(&doc["ratio"]["python3"], "ratio") > 0.0);
    // The libraries' pages are the page cache's, held once however many lanes map them:
    // two lanes cost less per lane than one.
    let pool = &doc["memory"]["cpu/python3"]["pool_high_water_bytes_per_lane"];
    let (one, two) = (num(&pool["1"], "pool at 1"), num(&pool["2"], "pool at 2"));
    assert!(
        two < one,
        "pool per lane: {one} bytes at 1 lane, {two} at 2"
    );
}
