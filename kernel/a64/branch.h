// Branches and exception generation: unconditional branch (immediate and register),
// conditional branch, compare and branch, test and branch, SVC, BRK.
//
// Arm ARM (DDI 0487) chapter C6, A64 base instructions.
#pragma once
#include "../mm/mm.h"
#include "a64_common.h"

/// Arm ARM B: PC + SignExtend(imm26:'00').
HOT_HANDLER void B(Core& c, u32 imm26) { c.npc = c.pc + ((u64)sext(imm26, 26) << 2); }

/// Arm ARM BL: X30 = PC + 4, then branch.
HOT_HANDLER void BL(Core& c, u32 imm26) {
    setX(c, 30, c.pc + 4);
    c.npc = c.pc + ((u64)sext(imm26, 26) << 2);
}

/// Arm ARM B.cond; shared/functions/system/ConditionHolds.
HOT_HANDLER void B_cond(Core& c, u32 imm19, u32 cond) {
    if (cond_holds(c, cond)) c.npc = c.pc + ((u64)sext(imm19, 19) << 2);
}

/// Arm ARM CBZ, CBNZ.
HOT_HANDLER void CBZ(Core& c, u32 sf, u32 nonzero, u32 imm19, u32 t) {
    bool zero = R(c, sf, t) == 0;
    if (zero != (nonzero != 0)) c.npc = c.pc + ((u64)sext(imm19, 19) << 2);
}

/// Arm ARM TBZ, TBNZ: test bit b5:b40 of Rt.
HOT_HANDLER void TBZ(Core& c, u32 bit, u32 nonzero, u32 imm14, u32 t) {
    u32 v = (u32)(X(c, t) >> bit) & 1;
    if (v == nonzero) c.npc = c.pc + ((u64)sext(imm14, 14) << 2);
}

/// Arm ARM BR.
HOT_HANDLER void BR(Core& c, u32 n) { c.npc = X(c, n); }

/// Arm ARM BLR (the target is read before X30 is written: BLR X30 works).
HOT_HANDLER void BLR(Core& c, u32 n) {
    u64 target = X(c, n);
    setX(c, 30, c.pc + 4);
    c.npc = target;
}

/// Arm ARM RET.
HOT_HANDLER void RET(Core& c, u32 n) { c.npc = X(c, n); }

/// Arm ARM SVC: supervisor call. The run loop serves the syscall (X8 = number)
/// and resumes at npc = PC + 4. The immediate is ignored, as Linux does.
HANDLER void SVC(Core& c, u32 imm16) {
    (void)imm16;
    if (c.exc == EXC_NONE) c.exc = EXC_SVC;
}

/// Arm ARM BRK: breakpoint; Linux delivers SIGTRAP (TRAP_BRKPT) at this PC.
HANDLER void BRK(Core& c, u32 imm16) {
    (void)imm16;
    raise_signal(c, SIG_TRAP, c.pc);
}
