//! Tier 2 (`gpuos run --translate`) on the CPU backend: a run that starts with its
//! image's blocks translated must end exactly as the interpreter does, lane by lane:
//! exit status, signal, stdout and stderr (hashes and sizes), and guest instruction
//! counts; faults inside translated blocks report the same PC.
//!
//! Each test keeps its translations in a cache directory of its own. Needs the guest
//! programs (`tests/guest/build.sh`) and a host C++ compiler (`c++`). Signal delivery,
//! fork and more programs run translated in scripts/test.sh's conformance-translate
//! step (against qemu).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn guest(name: &str) -> String {
    let p = root().join("tests/guest/bin").join(name);
    assert!(
        p.exists(),
        "{} is missing: run tests/guest/build.sh",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gpuos-t2-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `gpuos run --backend cpu --lanes 2 --lane-report R --translate WHEN -v ARGS` in `d`,
/// with the translation cache in `d/cache`; (output, report rows without the lane
/// column).
fn run(d: &Path, when: &str, args: &[&str]) -> (Output, Vec<String>) {
    let report = d.join(format!("lanes-{when}.tsv"));
    let o = Command::new(env!("CARGO_BIN_EXE_gpuos"))
        .current_dir(d)
        .env("GPUOS_CACHE_DIR", d.join("cache"))
        .args([
            "run",
            "--backend",
            "cpu",
            "--lanes",
            "2",
            "--threads",
            "2",
            "-v",
        ])
        .args(["--translate", when, "--lane-report"])
        .arg(&report)
        .args(args)
        .output()
        .expect("gpuos runs");
    let text = std::fs::read_to_string(&report).unwrap_or_default();
    let rows = text
        .lines()
        .skip(1)
        .map(|l| l.split_once('\t').map_or(l, |x| x.1).to_string())
        .collect();
    (o, rows)
}

/// The share of guest instructions that ran translated, from `-v`'s tier-2 line.
fn translated_pct(o: &Output) -> f64 {
    let err = String::from_utf8_lossy(&o.stderr);
    let line = err
        .lines()
        .find(|l| l.starts_with("gpuos: tier 2:"))
        .unwrap_or_else(|| panic!("no tier-2 line in: {err}"));
    let pct = line.split_whitespace().rev().nth(6).unwrap();
    pct.trim_end_matches('%').parse().unwrap()
}

/// The guest's own stderr lines and gpuos's `killed by` lines (the fault's PC).
fn guest_lines(o: &Output) -> Vec<String> {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.starts_with("gpuos: ") || l.contains("killed by"))
        .map(String::from)
        .collect()
}

/// Interpreted, then profiled with `always`, then run from the cached translation:
/// every lane's outcome and instruction count agree, and the last run is mostly
/// translated.
fn same_as_interpreter(name: &str, args: &[&str], min_pct: f64) {
    let d = tmp(name);
    let (o0, r0) = run(&d, "never", args);
    assert_eq!(r0.len(), 2, "{}", String::from_utf8_lossy(&o0.stderr));
    let (o1, r1) = run(&d, "always", args);
    let (o2, r2) = run(&d, "always", args);
    for (o, r) in [(&o1, &r1), (&o2, &r2)] {
        assert_eq!(
            o.status.code(),
            o0.status.code(),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(o.stdout, o0.stdout);
        assert_eq!(
            r, &r0,
            "lane reports (status, signal, hashes, sizes, instructions)"
        );
        assert_eq!(guest_lines(o), guest_lines(&o0));
    }
    let pct = translated_pct(&o2);
    assert!(pct >= min_pct, "only {pct}% ran translated");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn int_arith_translated_is_exact() {
    same_as_interpreter("int_arith", &[&guest("int_arith")], 90.0);
}

#[test]
fn neon_translated_is_exact() {
    same_as_interpreter("neon", &[&guest("neon")], 90.0);
}

/// A load that faults inside a translated block: SIGSEGV at the same PC and address.
#[test]
fn fault_in_a_translated_block_has_the_exact_pc() {
    same_as_interpreter("crash_null", &[&guest("crash_null")], 50.0);
}

/// `--max-insns` stops at the same instruction: blocks are entered only when the rest
/// of the budget covers them.
#[test]
fn max_insns_is_exact_when_translated() {
    same_as_interpreter("spin", &["--max-insns", "123457", &guest("spin")], 90.0);
}

#[test]
fn bad_translate_value_is_refused() {
    let o = Command::new(env!("CARGO_BIN_EXE_gpuos"))
        .args([
            "run",
            "--backend",
            "cpu",
            "--translate",
            "sometimes",
            &guest("hello"),
        ])
        .output()
        .expect("gpuos runs");
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("--translate must be"));
}
