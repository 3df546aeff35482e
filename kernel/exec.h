// The interpreter loop: fetch, decode (generated from the table), execute, and handle
// the events that stop a lane (syscall to the host, signal, exit, instruction budget).
#pragma once
#include "proc/proc.h"
#include "a64/handlers.h"
#include "sys/marshal.h"
#include "sys/proc_sys.h"
#include "sys/mm_sys.h"
#include "syscall_dispatch.gen.h"
#include "a64_decode.gen.h"

/// Run result of `core_run`.
enum RunResult : u32 {
    RUN_BUDGET = 0,   // the instruction budget of this call ran out; runnable
    RUN_HOSTWAIT = 1, // waiting for the host to serve SysReq
    RUN_DONE = 2,     // the process ended (exited or killed)
};

/// SVC #0: the syscall number is in X8, arguments in X0..X5, result in X0.
GFN void sys_dispatch(Core& c) {
    c.sig_entered = 0;
    sys_dispatch_nr(c, c.s.x[8]);
}

/// Execute up to `budget` instructions of the process loaded in `c`.
GFN u32 core_run(Core& c, u64 budget) {
    u64 n = 0;
    u64 limit = c.p->max_insns;
    if (limit) {
        u64 left = limit > c.p->insns ? limit - c.p->insns : 0;
        if (left < budget) budget = left;
        if (left == 0) {
            c.pc = c.s.pc;
            c.insn = 0;
            proc_kill(c, SIG_XCPU, 0);
            return RUN_DONE;
        }
    }
    u32 r = RUN_BUDGET;
    while (n < budget) {
        c.pc = c.s.pc;
        c.npc = c.pc + 4;
        if (c.pc & 3) {  // PC alignment fault
            c.insn = 0;
            raise_signal(c, SIG_BUS, c.pc);
        } else {
            c.insn = fetch_insn(c, c.pc);
        }
        if (c.exc == EXC_NONE) a64_exec(c, c.insn);
        if (c.exc == EXC_NONE) {
            c.s.pc = c.npc;
            n++;
            continue;
        }
        if (c.exc == EXC_SVC) {
            c.s.pc = c.npc;
            n++;
            c.exc = EXC_NONE;
            sys_dispatch(c);
            if (c.exc == EXC_NONE) continue;
            if (c.exc == EXC_SIGNAL) { proc_kill(c, c.sig, c.fault_addr); r = RUN_DONE; break; }
            r = c.exc == EXC_HOSTWAIT ? RUN_HOSTWAIT : RUN_DONE;
            break;
        }
        if (c.exc == EXC_SIGNAL) {  // a fault of this instruction: handler or default action
            n++;
            sig_fault(c);
            if (c.exc == EXC_NONE) continue;
        }
        r = RUN_DONE;
        break;
    }
    c.p->insns += n;
    if (r != RUN_DONE) core_save(c);
    else c.p->cpu = c.s;
    return r;
}
