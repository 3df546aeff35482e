// Base integer instructions of ARMv8.0-A A64: every handler named in dp_imm.table,
// dp_reg.table, branch.table, system.table and ldst.table. Included by handlers.h.
#pragma once
#include "a64_common.h"
#include "dp_imm.h"
#include "dp_reg.h"
#include "branch.h"
#include "system.h"
#include "ldst.h"
