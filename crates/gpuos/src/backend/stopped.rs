//! `gpuos run -v` after a stop (SIGINT, SIGTERM, a timeout's kill): where the lanes that
//! had not ended were. A run that never ends is a hang or a slow program; which one, and
//! where, is what this says: each stopped lane's family (kernel/sched.h), one line a
//! process or thread (its state, what it is blocked on, the syscall its host request
//! carries, where its task runs: kernel/proc/spare.h), and a count of those states
//! over every stopped lane.

use crate::abi::{
    MachineHdr, Proc, BLOCK_FUTEX, BLOCK_GROUP, BLOCK_RETRY, BLOCK_SIGSUSPEND, BLOCK_SIGWAIT,
    BLOCK_SLEEP, BLOCK_VFORK, BLOCK_WAIT, PROC_BLOCKED, PROC_EXITED, PROC_FREE, PROC_KILLED,
    PROC_NEW, PROC_RUNNABLE, PROC_WAIT_HOST, TASK_AWAY, TASK_HOME, TASK_OFFERED, TASK_PARKED,
};
use std::collections::BTreeMap;

/// Stopped lanes listed process by process; the others only counted.
const LANES_LISTED: usize = 4;

/// The syscall's name, or its number.
fn sys_name(nr: u64) -> String {
    crate::tables::syscall(nr).map_or_else(|| format!("syscall {nr}"), |s| s.name.to_string())
}

/// What a process is doing, in words: its `PROC_*` state, the `BLOCK_*` reason or
/// the syscall it waits in. `host_nr`: the number of the host request in flight for it
/// (its lane's first process keeps the lane's copy, `Proc::req_nr`).
pub fn state_text(p: &Proc, host_nr: u64) -> String {
    let call = || sys_name(p.cpu.x[8]);
    match p.status {
        PROC_FREE => "free".into(),
        PROC_RUNNABLE => "runnable".into(),
        PROC_WAIT_HOST => format!("waiting for the host ({})", sys_name(host_nr)),
        PROC_EXITED => "exited".into(),
        PROC_KILLED => "killed".into(),
        PROC_NEW => "new (its fork not yet answered)".into(),
        PROC_BLOCKED => match p.block {
            BLOCK_RETRY => format!("blocked, retrying {}", call()),
            BLOCK_VFORK => "blocked in vfork".into(),
            BLOCK_WAIT => format!("blocked in {}", call()),
            BLOCK_FUTEX => "blocked in futex wait".into(),
            BLOCK_GROUP => "thread-group leader gone (exit)".into(),
            BLOCK_SIGSUSPEND => "blocked in rt_sigsuspend".into(),
            BLOCK_SIGWAIT => "blocked in rt_sigtimedwait".into(),
            BLOCK_SLEEP => format!("blocked in {}", call()),
            b => format!("blocked ({b})"),
        },
        s => format!("state {s}"),
    }
}

/// Where a task runs (`Proc::task_where`), in words.
fn where_text(w: u32) -> &'static str {
    match w {
        TASK_HOME => "home",
        TASK_OFFERED => "offered",
        TASK_AWAY => "on a spare lane",
        TASK_PARKED => "parked",
        _ => "?",
    }
}

/// The slots of lane's family: its first process, then the members its circular list
/// (`Proc::fam_next`, through every member) reaches, each once, so that a list a stop
/// caught in mid-change still ends. `seen` (one flag a slot, shared by the calls for
/// every lane: families are disjoint) marks the slots visited.
fn family(procs: &[Proc], lane: usize, seen: &mut [bool]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut s = lane;
    while s < procs.len() && !seen[s] {
        seen[s] = true;
        out.push(s);
        s = procs[s].fam_next as usize;
    }
    out
}

/// One line on a process of a stopped lane.
fn process_line(p: &Proc, host_nr: u64) -> String {
    format!(
        "pid {} (slot {}): {}, {}, pc {:#x}, {} instructions",
        p.pid,
        p.slot,
        state_text(p, host_nr),
        where_text(p.task_where),
        p.cpu.pc,
        p.insns
    )
}

/// Print (stderr) where the lanes that had not ended were when the run stopped.
/// `procs`: the whole process table (`MachineHdr::nslots` entries, the lanes' first
/// processes first), read after the run's kernel stopped; `lanes`: how many lanes.
/// Nothing when every lane ended.
pub fn report_stopped(procs: &[Proc], lanes: usize, hdr: &MachineHdr, runq_waiting: u64) {
    let lanes = lanes.min(procs.len());
    let unstarted = (0..lanes).filter(|&l| procs[l].status == PROC_FREE).count();
    let stopped: Vec<usize> = (0..lanes)
        .filter(|&l| !matches!(procs[l].status, PROC_EXITED | PROC_KILLED | PROC_FREE))
        .collect();
    if unstarted > 0 {
        eprintln!("gpuos: {unstarted} lanes had not started");
    }
    if stopped.is_empty() {
        return;
    }
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = vec![false; procs.len()];
    for (k, &lane) in stopped.iter().enumerate() {
        let lp = &procs[lane];
        let members = family(procs, lane, &mut seen);
        if k < LANES_LISTED {
            let host = if lp.req_open != 0 {
                format!(", a host request in flight for slot {}", lp.req_slot)
            } else {
                String::new()
            };
            eprintln!(
                "gpuos: stopped lane {lane}: {} processes and threads{host}",
                members.len()
            );
        }
        for &s in &members {
            let p = &procs[s];
            // The request in flight is the lane's (one at a time): its number is in the
            // lane's first process; another member waiting names its own call.
            let host_nr = if lp.req_open != 0 && lp.req_slot == p.slot {
                lp.req_nr
            } else {
                p.cpu.x[8]
            };
            if k < LANES_LISTED && p.status != PROC_FREE {
                eprintln!("gpuos:   {}", process_line(p, host_nr));
            }
            if !matches!(p.status, PROC_EXITED | PROC_KILLED | PROC_FREE) {
                let key = format!("{}, {}", state_text(p, host_nr), where_text(p.task_where));
                *states.entry(key).or_default() += 1;
            }
        }
    }
    eprintln!(
        "gpuos: {} stopped lanes; their live processes and threads by state:",
        stopped.len()
    );
    for (state, n) in &states {
        eprintln!("gpuos:   {n:>6}  {state}");
    }
    if hdr.spare_lanes > 0 {
        eprintln!(
            "gpuos: run queue: {runq_waiting} entries waiting (spare lanes: {})",
            hdr.spare_lanes
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::NO_SLOT;

    fn proc_at(slot: u32) -> Proc {
        // SAFETY: Proc is plain old data; all-zero is valid.
        let mut p: Proc = unsafe { std::mem::zeroed() };
        p.slot = slot;
        p.pid = slot + 100;
        p.fam_cur = NO_SLOT;
        p
    }

    /// A family ring 0 -> 3 -> 5 -> 0 lists the leader first, then 3 and 5, once each.
    #[test]
    fn family_follows_the_ring_once() {
        let mut t: Vec<Proc> = (0..8).map(proc_at).collect();
        t[0].fam_next = 3;
        t[3].fam_next = 5;
        t[5].fam_next = 0;
        assert_eq!(family(&t, 0, &mut [false; 8]), vec![0, 3, 5]);
        // A ring damaged mid-change (5 -> 6 -> 6 ...) still ends.
        t[5].fam_next = 6;
        t[6].fam_next = 6;
        assert_eq!(family(&t, 0, &mut [false; 8]), vec![0, 3, 5, 6]);
    }

    #[test]
    fn states_in_words() {
        let mut p = proc_at(1);
        p.status = PROC_BLOCKED;
        p.block = BLOCK_WAIT;
        p.cpu.x[8] = 260; // wait4
        assert_eq!(state_text(&p, 260), "blocked in wait4");
        p.status = PROC_WAIT_HOST;
        assert_eq!(state_text(&p, 63), "waiting for the host (read)");
    }
}
