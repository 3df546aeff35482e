//! `gpuos demo`: run a small AArch64 program embedded in the binary (built from
//! tests/guest/demo.c by scripts/build-demo.sh) and report the backend and speed.
//!
//! Without a GPU (or with `--backend cpu`) one lane runs the whole program. On a GPU
//! the demo fills it: one lane per resident GPU thread (`--lanes` overrides), each
//! drawing its own frame of a zoom into the Mandelbrot set (`demo zoom {lane}`), then
//! runs a sample of the same frames on the CPU backend on every host core, and prints
//! both aggregate rates side by side.

use crate::{config, report, BackendArg, RunOpts};
use gpuos::{RunError, RunReport};
use std::io::Write;
use std::path::Path;

/// The prebuilt demo program (aarch64-linux-gnu-gcc -static -O2).
static DEMO_ELF: &[u8] = include_bytes!("../assets/demo.elf");

/// Lanes of the CPU backend's sample, per host core.
const CPU_SAMPLE_PER_CORE: usize = 8;

/// Run the demo; returns the exit status.
pub fn run(opts: &RunOpts) -> Result<i32, RunError> {
    let dir = std::env::temp_dir().join(format!("gpuos-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("demo");
    std::fs::File::create(&path)?.write_all(DEMO_ELF)?;
    let gpu = match opts.backend {
        BackendArg::Cpu => false,
        BackendArg::Cuda => true,
        BackendArg::Auto => gpuos::backend::cuda::available(),
    };
    let res = if gpu {
        on_gpu(opts, &path)
    } else {
        on_cpu(opts, &path)
    };
    let _ = std::fs::remove_dir_all(&dir);
    res
}

/// The whole program in `opts.lanes` lanes (one by default) of the chosen backend.
fn on_cpu(opts: &RunOpts, path: &Path) -> Result<i32, RunError> {
    let cfg = config(opts, path.to_path_buf(), vec!["demo".into()]).map_err(RunError::Config)?;
    let rep = gpuos::run(&cfg)?;
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
    Ok(status(&rep))
}

/// One zoom frame per lane on the GPU, then a sample of them on the CPU backend.
fn on_gpu(opts: &RunOpts, path: &Path) -> Result<i32, RunError> {
    let lanes = if opts.lanes > 1 {
        opts.lanes
    } else {
        gpuos::backend::cuda::resident_lanes()?
    };
    let argv = vec!["demo".into(), "zoom".into(), "{lane}".into()];
    let mut cfg = config(opts, path.to_path_buf(), argv).map_err(RunError::Config)?;
    cfg.backend = gpuos::BackendKind::Cuda;
    cfg.lanes = lanes;
    let gpu = gpuos::run(&cfg)?;
    report("demo", &gpu, opts.verbose);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cfg.backend = gpuos::BackendKind::Cpu;
    cfg.lanes = (cores * CPU_SAMPLE_PER_CORE).min(lanes);
    cfg.passthrough = false; // the sample's output is captured, not printed again
    let cpu = gpuos::run(&cfg)?;
    eprintln!(
        "gpuos demo: {} lanes on {} (cuda), one zoom frame each: {} guest instructions in {:.3} s = {:.2} G guest instructions/s",
        gpu.lanes.len(),
        gpu.device,
        gpu.instructions(),
        gpu.seconds,
        gpu.ips() / 1e9
    );
    eprintln!(
        "gpuos demo: the CPU backend on this machine ({}), frames 0-{} of the same zoom: {:.2} G guest instructions/s; the GPU is {:.1}x that",
        cpu.device,
        cpu.lanes.len().saturating_sub(1),
        cpu.ips() / 1e9,
        gpu.ips() / cpu.ips().max(1.0)
    );
    let failed = gpu
        .lanes
        .iter()
        .chain(&cpu.lanes)
        .find(|l| l.status.shell_status() != 0);
    Ok(failed.map_or(0, |l| l.status.shell_status()))
}

fn status(rep: &RunReport) -> i32 {
    rep.lanes.first().map_or(1, |l| l.status.shell_status())
}
