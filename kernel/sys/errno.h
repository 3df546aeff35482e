// Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h), returned negated:
// E_NAME for errno ENAME, generated from kernel/sys/errno.table (which the host's
// crates/gpuos/src/host/errno.rs is generated from too).
#pragma once
#include "errno.gen.h"

/// Negated errno as the u64 a syscall returns in X0.
GFN u64 err(int e) { return (u64)(i64)-e; }
