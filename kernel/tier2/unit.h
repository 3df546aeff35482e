// The prelude of a tier-2 translation compiled on the host (CPU backend): the handlers
// and what they use, inlined (GPUOS_T2_UNIT, kernel/rt.h). build.rs amalgamates this
// file into one source; crates/gpuos/src/translate/ appends the generated blocks and
// compiles the whole with the host C++ compiler into a shared object. On the GPU the same
// generated blocks join the core's own amalgamation instead (GPUOS_TIER2, kernel/exec.h).
#pragma once
#include "../a64/handlers.h"
#include "../proc/spare.h"
#include "tier2.h"
