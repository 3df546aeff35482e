//! Differential instruction fuzzing against qemu-aarch64: fixed seeds, bounded counts.
//! Needs `qemu-aarch64` on PATH (scripts/test.sh installs it).

use std::process::Command;

fn qemu() -> String {
    let q = std::env::var("GPUOS_QEMU").unwrap_or_else(|_| "qemu-aarch64".into());
    match Command::new(&q).arg("--version").output() {
        Ok(o) if o.status.success() => q,
        _ => panic!(
            "the differential fuzz test needs the reference emulator `{q}` (qemu-user) on PATH: \
             install it (apt-get install qemu-user, as scripts/test.sh does) or set GPUOS_QEMU"
        ),
    }
}

fn fuzz(class: &str, seed: u64, count: usize) {
    fuzz_with(class, seed, count, "never");
}

/// `gpuos fuzz` with `--translate when`; returns its stdout.
fn fuzz_with(class: &str, seed: u64, count: usize, when: &str) -> String {
    let q = qemu();
    let out = Command::new(env!("CARGO_BIN_EXE_gpuos"))
        .args([
            "fuzz",
            "--class",
            class,
            "--seed",
            &seed.to_string(),
            "--count",
            &count.to_string(),
            "--len",
            "8",
            "--translate",
            when,
        ])
        .arg("--qemu")
        .arg(&q)
        .output()
        .expect("run gpuos fuzz");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "gpuos fuzz --class {class} --seed {seed} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains(" 0 mismatches"),
        "unexpected summary: {stdout}"
    );
    stdout.into_owned()
}

/// The sequences through tier 2: each program's second run starts with its blocks
/// translated, and most of its instructions must run so.
#[test]
fn fuzz_int_translated() {
    let out = fuzz_with("int,fp", 4, 40, "always");
    let line = out
        .lines()
        .find(|l| l.contains("guest instructions ran translated"))
        .unwrap_or_else(|| panic!("no translated share in: {out}"));
    let nums: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(nums.len() == 2 && nums[0] * 2 > nums[1], "{line}");
}

#[test]
fn fuzz_int() {
    fuzz("int", 1, 300);
}

#[test]
fn fuzz_fp() {
    fuzz("fp", 2, 200);
}

#[test]
fn fuzz_simd() {
    fuzz("simd", 3, 300);
}
