//! gpuos: an operating system whose processes run on the GPU.
//!
//! Runs unmodified AArch64 Linux user-space programs (static ELF executables) as
//! processes, one per GPU thread ("lane"), with the execution core, page tables and the
//! device-side syscalls on the GPU, and the host serving files, clocks and stdio. The
//! same core also runs on host threads (the CPU backend). Entry point: [`run`].

mod abi;
pub mod backend;
mod ffi;
pub mod host;
mod lane;
pub mod layout;
pub mod loader;
pub mod machine;
mod mem;
pub mod prepare;
mod service;
mod stop;
pub mod tables;
mod translate;

pub use machine::{
    BackendKind, Job, LaneResult, LaneStatus, Mode, RoundTrips, RunConfig, RunError, RunReport,
};

/// Lanes a GPU lane interprets about as fast as one host core: a lane of the
/// interpreter runs about 1.5 M guest instructions/s on an H200, a host core about
/// 150 M/s on the CPU backend (docs/BENCHMARKS.md).
const LANES_PER_HOST_CORE: usize = 100;

fn host_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The fewest lanes for which `--backend auto` picks the GPU: below it, the host's
/// cores running the CPU backend finish the same work sooner.
pub fn gpu_wins_from() -> usize {
    host_cores() * LANES_PER_HOST_CORE
}

/// Load `cfg.program` and run `cfg.lanes` copies of it on the chosen backend.
///
/// `BackendKind::Auto` picks CUDA when a usable GPU is present and the run has enough
/// lanes to win there ([`gpu_wins_from`]); otherwise the CPU backend, with a one-line
/// notice on stderr saying why. Errors: [`RunError`].
pub fn run(cfg: &RunConfig) -> Result<RunReport, RunError> {
    if let Some(dir) = &cfg.output_dir {
        std::fs::create_dir_all(dir).map_err(|e| RunError::at("--output-dir", dir, e))?;
    }
    let prep = prepare::Prepared::new(cfg)?;
    let cuda = |cfg: &RunConfig, prep: &prepare::Prepared| backend::cuda::run(cfg, prep);
    match cfg.backend {
        BackendKind::Cpu => backend::cpu::run(cfg, &prep),
        BackendKind::Cuda => cuda(cfg, &prep),
        BackendKind::Auto => {
            let from = gpu_wins_from();
            if backend::cuda::available() && cfg.lanes >= from {
                cuda(cfg, &prep)
            } else if backend::cuda::available() {
                eprintln!(
                    "gpuos: {} lane(s) run faster on the CPU backend ({} host cores) than on the GPU below {from} lanes; --backend cuda uses the GPU",
                    cfg.lanes,
                    host_cores()
                );
                backend::cpu::run(cfg, &prep)
            } else {
                eprintln!(
                    "gpuos: no usable CUDA GPU ({}); using the CPU backend",
                    backend::cuda::why_unavailable()
                );
                backend::cpu::run(cfg, &prep)
            }
        }
    }
}
