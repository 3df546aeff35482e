//! gpuos: an operating system whose processes run on the GPU.
//!
//! Runs unmodified AArch64 Linux user-space programs (static ELF executables) as
//! processes, one per GPU thread ("lane"), with the execution core, page tables and the
//! device-side syscalls on the GPU, and the host serving files, clocks and stdio. The
//! same core also runs on host threads (the CPU backend). Entry point: [`run`].

pub mod abi;
pub mod backend;
pub mod ffi;
pub mod fuzz;
pub mod host;
pub mod loader;
pub mod machine;
pub mod mem;
pub mod procs;
pub mod service;
pub mod tables;

pub use machine::{BackendKind, LaneResult, LaneStatus, Mode, RunConfig, RunError, RunReport};

/// Load `cfg.program` and run `cfg.lanes` copies of it on the chosen backend.
///
/// `BackendKind::Auto` picks CUDA when a usable GPU is present and otherwise falls back
/// to the CPU backend with a one-line notice on stderr. Errors: [`RunError`].
pub fn run(cfg: &RunConfig) -> Result<RunReport, RunError> {
    if let Some(dir) = &cfg.output_dir {
        std::fs::create_dir_all(dir).map_err(|e| RunError::at("--output-dir", dir, e))?;
    }
    let prep = machine::Prepared::new(cfg)?;
    match cfg.backend {
        BackendKind::Cpu => backend::cpu::run(cfg, &prep),
        BackendKind::Cuda => backend::cuda::run(cfg, &prep),
        BackendKind::Auto => {
            if backend::cuda::available() {
                backend::cuda::run(cfg, &prep)
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
