//! `gpuos demo`: run a small AArch64 program embedded in the binary (built from
//! tests/guest/demo.c by scripts/build-demo.sh) and report the backend and speed.

use crate::{config, report, RunOpts};
use gpuos::RunError;
use std::io::Write;

/// The prebuilt demo program (aarch64-linux-gnu-gcc -static -O2).
static DEMO_ELF: &[u8] = include_bytes!("../assets/demo.elf");

/// Run the demo; returns the exit status.
pub fn run(opts: &RunOpts) -> Result<i32, RunError> {
    let dir = std::env::temp_dir().join(format!("gpuos-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("demo");
    std::fs::File::create(&path)?.write_all(DEMO_ELF)?;
    let cfg = config(opts, path.clone(), vec!["demo".into()]).map_err(RunError::Backend)?;
    let res = gpuos::run(&cfg);
    let _ = std::fs::remove_dir_all(&dir);
    let rep = res?;
    report("demo", &rep, opts.verbose);
    eprintln!(
        "gpuos demo: backend {} on {}; {} lane(s); {} guest instructions in {:.3} s = {:.1} M guest instructions/s",
        rep.backend,
        rep.device,
        rep.lanes.len(),
        rep.instructions(),
        rep.seconds,
        rep.ips() / 1e6
    );
    Ok(rep.lanes.first().map_or(1, |l| l.status.shell_status()))
}
