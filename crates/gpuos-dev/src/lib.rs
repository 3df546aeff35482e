//! gpuos's development tools, kept out of the library: the differential instruction
//! fuzzer ([`fuzz`]), which `gpuos fuzz` runs.

pub mod fuzz;
