//! warp-sim: replays lanes' recorded paths through a warp's scheduling policies and
//! reports SIMT efficiency (lane-instructions per warp step / 32), so that a policy for
//! lanes whose paths part (kernel/exec.h `step_now`, the regions' `t2_next`) can be
//! weighed on the build machine before it costs device time.
//!
//! Input: files of the CPU backend's block trace (kernel/exec.h, `-DGPUOS_BLOCK_TRACE`),
//! one per lane: packed little-endian records {u64 start PC, u64 SP, u32 instructions},
//! one per straight-line run. Usage: `warp_sim FILE...`: the first 32 are one warp;
//! given more, all of them are also replayed as a pool that regroups its tasks by PC.
//! Environment: WARP_SIM_POLICIES (comma-separated: min-pc, deep, majority, laggard,
//! window<N>), WARP_SIM_SYMS (`nm -n` of the program: a profile by function),
//! WARP_SIM_SLICE and WARP_SIM_STRETCH (slices, below).
//!
//! Making traces (docs/BENCHMARKS.md, thirtieth session):
//! `CXXFLAGS=-DGPUOS_BLOCK_TRACE cargo build --release --target-dir /tmp/trace`, then
//! `GPUOS_BLOCK_TRACE=/tmp/t/seed$i /tmp/trace/release/gpuos run --backend cpu
//! --translate never coremark 0x$i 0x0 0x66 5 7 1 2000` for each lane's seed.
//!
//! The model: every step the warp picks one PC by the policy; the lanes at that PC run
//! together until the first of them leaves its straight-line run (a taken branch), the
//! others wait. Cost: the instructions the group ran; efficiency: lane-instructions over
//! 32 x cost.

use std::fs;

#[derive(Clone)]
struct Run {
    pc: u64,
    sp: u64,
    n: u32,
}

struct Lane {
    runs: Vec<Run>,
    at: usize,
    off: u32,
    done: u64,
}

impl Lane {
    fn new(runs: &[Run]) -> Lane {
        Lane {
            runs: runs.to_vec(),
            at: 0,
            off: 0,
            done: 0,
        }
    }
    fn pc(&self) -> Option<u64> {
        self.runs.get(self.at).map(|r| r.pc + 4 * self.off as u64)
    }
    fn left(&self) -> u32 {
        self.runs[self.at].n - self.off
    }
    fn sp(&self) -> u64 {
        self.runs[self.at].sp
    }
    fn advance(&mut self, k: u32) {
        self.done += k as u64;
        self.off += k;
        if self.off == self.runs[self.at].n {
            self.at += 1;
            self.off = 0;
        }
    }
}

fn load(path: &str) -> Vec<Run> {
    let b = fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    b.chunks_exact(20)
        .map(|r| Run {
            pc: u64::from_le_bytes(r[0..8].try_into().unwrap()),
            sp: u64::from_le_bytes(r[8..16].try_into().unwrap()),
            n: u32::from_le_bytes(r[16..20].try_into().unwrap()),
        })
        .collect()
}

/// The PC the warp runs next among the live lanes' (pc, sp, instructions done), by policy.
fn pick(policy: &str, live: &[(u64, u64, u64)]) -> u64 {
    match policy {
        "min-pc" => live.iter().map(|l| l.0).min().unwrap(),
        // The deepest frame first (least SP), then the least PC: a callee returns before
        // its callers' code continues, wherever it lies in the image.
        "deep" => live.iter().min_by_key(|l| (l.1, l.0)).unwrap().0,
        "majority" => {
            let mut pcs: Vec<u64> = live.iter().map(|l| l.0).collect();
            pcs.sort_unstable();
            let (mut best, mut bn, mut i) = (pcs[0], 0, 0);
            while i < pcs.len() {
                let j = pcs[i..].iter().take_while(|&&p| p == pcs[i]).count();
                if j > bn {
                    (best, bn) = (pcs[i], j);
                }
                i += j;
            }
            best
        }
        // The lane furthest behind in instructions executed first.
        "laggard" => live.iter().min_by_key(|l| (l.2, l.0)).unwrap().0,
        // Among the lanes within a window of the one furthest behind, the PC most hold.
        w if w.starts_with("window") => {
            let win: u64 = w[6..].parse().unwrap();
            let least = live.iter().map(|l| l.2).min().unwrap();
            let near: Vec<(u64, u64, u64)> = live
                .iter()
                .copied()
                .filter(|l| l.2 <= least + win)
                .collect();
            let mut best = (0usize, 0u64);
            for l in &near {
                let n = live.iter().filter(|m| m.0 == l.0).count();
                if n > best.0 || (n == best.0 && l.0 < best.1) {
                    best = (n, l.0);
                }
            }
            best.1
        }
        _ => panic!("unknown policy {policy}"),
    }
}

/// Cost and work per function: `syms` sorted by address (`nm -n` of the program).
type Profile = std::collections::BTreeMap<String, (u64, u64)>;

fn simulate(
    policy: &str,
    traces: &[Vec<Run>],
    syms: &[(u64, String)],
    prof: &mut Profile,
) -> (u64, u64, u64) {
    let mut lanes: Vec<Lane> = traces.iter().map(|r| Lane::new(r)).collect();
    let (mut cost, mut work, mut steps) = (0u64, 0u64, 0u64);
    // Steps whose group is the previous step's while lanes wait (a scheduler pass that
    // a group running on below the others' least PC could skip), and steps with lanes
    // waiting at all.
    let (mut same, mut apart) = (0u64, 0u64);
    let mut prev: Vec<usize> = Vec::new();
    // WARP_SIM_SLICE: instructions per lane per slice (the run loop's budget; 0: no
    // slices). A lane that used its slice waits until every lane of the warp has; with
    // WARP_SIM_STRETCH=s (>= 1) it goes on while another lane has not, up to s slices.
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let slice = match env("WARP_SIM_SLICE", 0) {
        0 => u64::MAX / 8,
        s => s,
    };
    let stretch = env("WARP_SIM_STRETCH", 1).max(1);
    let mut start = vec![0u64; lanes.len()];
    loop {
        let under = |i: usize| lanes[i].pc().is_some() && lanes[i].done - start[i] < slice;
        let any_under = (0..lanes.len()).any(under);
        let cap = if any_under { slice * stretch } else { slice };
        let runs = |i: usize| lanes[i].pc().is_some() && lanes[i].done - start[i] < cap;
        let live: Vec<(u64, u64, u64)> = (0..lanes.len())
            .filter(|&i| runs(i))
            .map(|i| (lanes[i].pc().unwrap(), lanes[i].sp(), lanes[i].done))
            .collect();
        if live.is_empty() {
            if lanes.iter().any(|l| l.pc().is_some()) {
                for (i, l) in lanes.iter().enumerate() {
                    start[i] = l.done;
                }
                prev.clear();
                continue;
            }
            break;
        }
        let pc = pick(policy, &live);
        let group: Vec<usize> = (0..lanes.len())
            .filter(|&i| runs(i) && lanes[i].pc() == Some(pc))
            .collect();
        let k = group
            .iter()
            .map(|&i| {
                lanes[i]
                    .left()
                    .min((start[i] + cap - lanes[i].done).min(u32::MAX as u64) as u32)
            })
            .min()
            .unwrap();
        if group.len() < live.len() {
            apart += 1;
            if group == prev {
                same += 1;
            }
        }
        for &i in &group {
            lanes[i].advance(k);
        }
        cost += k as u64;
        work += k as u64 * group.len() as u64;
        if !syms.is_empty() {
            let f = syms.partition_point(|s| s.0 <= pc);
            let name = if f == 0 { "?" } else { &syms[f - 1].1 };
            let e = prof.entry(name.to_string()).or_default();
            e.0 += k as u64;
            e.1 += k as u64 * group.len() as u64;
        }
        steps += 1;
        prev = group;
    }
    eprintln!(
        "  {policy}: {apart} groups while lanes wait, {same} of them the previous group again"
    );
    (cost, work, steps)
}

/// Lanes regrouped into warps by PC (dynamic warp formation over a pool of tasks):
/// each step the least PC of any live task (or, with `majority`, the PC most tasks are
/// at) runs with up to 32 of the tasks there. Returns (warp steps, lane-instructions).
fn simulate_pool(traces: &[Vec<Run>], majority: bool) -> (u64, u64) {
    use std::collections::BTreeMap;
    let mut lanes: Vec<Lane> = traces.iter().map(|r| Lane::new(r)).collect();
    // Tasks by their PC.
    let mut at: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, l) in lanes.iter().enumerate() {
        if let Some(pc) = l.pc() {
            at.entry(pc).or_default().push(i);
        }
    }
    let (mut cost, mut work) = (0u64, 0u64);
    loop {
        let pc = if majority {
            match at
                .iter()
                .max_by_key(|(p, v)| (v.len().min(32), std::cmp::Reverse(**p)))
            {
                Some((&p, _)) => p,
                None => break,
            }
        } else {
            match at.keys().next() {
                Some(&p) => p,
                None => break,
            }
        };
        let mut here = at.remove(&pc).unwrap();
        let rest = if here.len() > 32 {
            here.split_off(32)
        } else {
            Vec::new()
        };
        if !rest.is_empty() {
            at.insert(pc, rest);
        }
        let k = here.iter().map(|&i| lanes[i].left()).min().unwrap();
        for &i in &here {
            lanes[i].advance(k);
            if let Some(p) = lanes[i].pc() {
                at.entry(p).or_default().push(i);
            }
        }
        cost += k as u64;
        work += k as u64 * here.len() as u64;
    }
    (cost, work)
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: warp_sim TRACE... (block traces, one per lane: the first 32 are one warp, all a pool)");
        std::process::exit(2);
    }
    let all: Vec<Vec<Run>> = files.iter().map(|f| load(f)).collect();
    if all.len() > 32 {
        for majority in [false, true] {
            let (cost, work) = simulate_pool(&all, majority);
            println!(
                "pool of {} ({}): tasks regrouped by PC, efficiency {:.1} % ({:.2} lanes together)",
                all.len(),
                if majority {
                    "the PC most tasks are at"
                } else {
                    "least PC"
                },
                100.0 * work as f64 / (32.0 * cost as f64),
                work as f64 / cost as f64
            );
        }
    }
    let traces = &all[..all.len().min(32)];
    // WARP_SIM_SYMS: `nm -n` output of the program, for a profile by function.
    let syms: Vec<(u64, String)> = std::env::var("WARP_SIM_SYMS")
        .ok()
        .and_then(|p| fs::read_to_string(p).ok())
        .map(|t| {
            t.lines()
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    let a = u64::from_str_radix(w.next()?, 16).ok()?;
                    Some((a, w.last()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let total: u64 = traces.iter().flatten().map(|r| r.n as u64).sum();
    println!("{} lanes, {} guest instructions", traces.len(), total);
    let policies =
        std::env::var("WARP_SIM_POLICIES").unwrap_or("min-pc,deep,majority,laggard".into());
    for policy in policies.split(',') {
        let mut prof = Profile::new();
        let (cost, work, steps) = simulate(policy, traces, &syms, &mut prof);
        println!(
            "{policy:>9}: {cost} warp steps of instructions, {steps} groups, efficiency {:.1} % ({:.2} lanes together)",
            100.0 * work as f64 / (32.0 * cost as f64),
            work as f64 / cost as f64
        );
        let mut top: Vec<_> = prof.into_iter().collect();
        top.sort_by_key(|e| std::cmp::Reverse(e.1 .0));
        for (name, (c, w)) in top.iter().take(12) {
            println!(
                "    {name:<28} {:5.1} % of steps, {:5.2} lanes together, {:5.1} % of lane-instructions",
                100.0 * *c as f64 / cost as f64,
                *w as f64 / *c as f64,
                100.0 * *w as f64 / work as f64
            );
        }
    }
}
