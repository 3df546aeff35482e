//! The CUDA backend (being written): see docs/ARCHITECTURE.md.

use crate::machine::{Prepared, RunConfig, RunError, RunReport};

/// Whether a usable CUDA driver and NVRTC are present.
pub fn available() -> bool {
    false
}

/// Why the CUDA backend cannot be used, in a few words.
pub fn why_unavailable() -> String {
    "not built in".into()
}

/// Run on the GPU.
pub fn run(_cfg: &RunConfig, _prep: &Prepared) -> Result<RunReport, RunError> {
    Err(RunError::Backend("gpuos: the CUDA backend is not available in this build".into()))
}
