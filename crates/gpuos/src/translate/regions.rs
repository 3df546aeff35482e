//! Grouping a translation's blocks into regions (docs/ARCHITECTURE.md, "Tier 2").
//!
//! A region is one generated function: the guest registers it uses live in locals (GPU
//! registers) while control stays among its blocks, and are stored to the `Core` and
//! loaded again whenever control passes to another region (through `t2_enter`). So
//! blocks that pass control to each other often belong together. Regions used to be
//! runs of [`REGION_BLOCKS`] blocks in address order, which cut a loop from the
//! function it calls whenever the two fell in different runs: bench_int on the CPU
//! backend (all 1,954 blocks entered, 49 regions) entered a region once per 37 guest
//! instructions. Here the blocks joined by their branches, fall-throughs and calls are
//! merged first (union by the edge kinds below, never past [`REGION_BLOCKS`] blocks,
//! which bounds the compilers' time), and the groups left small are then packed in
//! address order as before.

use super::gen::{direct_successors, ends_in_branch, Block};
use std::collections::HashMap;

/// Most blocks in one region function of a host translation (g++): the compiler's
/// time grows faster than the size of a function (one function of 1,129 blocks took
/// GCC 219 s). 80 since the thirtieth session (40 before): CoreMark fully translated on
/// the CPU backend (callgrind, 20 iterations) entered regions 205,166 -> 60,517 times
/// and ran 113.4 -> 89.1 M host instructions in its translation (-21 %), g++ taking
/// the same time (89 -> 92 s). `GPUOS_T2_REGION_BLOCKS` overrides it and
/// [`REGION_BLOCKS_GPU`] (part of the cache key), to measure.
pub const REGION_BLOCKS: usize = 80;

/// Most blocks in one region function of a GPU translation (NVRTC). A region switch
/// costs more on the GPU than on the host: the registers go through the `Core` in
/// local memory, and lanes of a warp in different regions take turns in `t2_enter`.
/// H100, CoreMark translated (235 blocks), 16,384 lanes (thirty-first session,
/// docs/BENCHMARKS.md): regions of 40 -> 80 -> 160 blocks ran 58.5-64.8 -> 79.8-81.1
/// -> 77.6-78.2 G guest instructions/s converged and 3.93 -> 6.80-6.86 -> 7.33-7.45
/// with a seed per lane; at 65,536 lanes 80 -> 160: 58.4 -> 60.7 and 7.31 -> 7.82.
/// NVRTC (build machine, 2 cores) compiles those 235 blocks in about the same time at
/// every size: 80 about 132 s, 160 130 s, all 235 in one region 141 s.
pub const REGION_BLOCKS_GPU: usize = 160;

/// Union-find over block indices with group sizes; a union that would make a group
/// larger than `cap` is refused.
struct Groups {
    parent: Vec<usize>,
    size: Vec<usize>,
    cap: usize,
}

impl Groups {
    fn new(n: usize, cap: usize) -> Groups {
        Groups {
            parent: (0..n).collect(),
            size: vec![1; n],
            cap,
        }
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    /// Merge the groups of `a` and `b` if they fit in `cap` together.
    fn join(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb || self.size[ra] + self.size[rb] > self.cap {
            return;
        }
        let (big, small) = if self.size[ra] >= self.size[rb] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small] = big;
        self.size[big] += self.size[small];
    }
}

/// The edges of block `b` as (target, is a call): its direct successors (Arm ARM C6.2
/// via [`direct_successors`]: a BL's callee is a call, its return address is not),
/// and the next address when the block was cut short without a branch.
fn edges(b: &Block) -> Vec<(u64, bool)> {
    let last = b.insns.last().copied().unwrap_or(0);
    let is_bl = last & 0xfc00_0000 == 0x9400_0000;
    let succ = direct_successors(b);
    let mut out: Vec<(u64, bool)> = succ
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, is_bl && i == 0))
        .collect();
    if !ends_in_branch(b) {
        out.push((b.start + 4 * b.insns.len() as u64, false));
    }
    out
}

/// The regions of `blocks` (sorted by start, starts unique): each a list of indices into
/// `blocks` in increasing order (so a region's blocks stay in address order, which the
/// region's scheduler relies on), the regions ordered by their first block, every
/// block in exactly one, none larger than `cap` (at least 1).
///
/// First the edges inside functions (branches, fall-throughs, a call's return address)
/// join groups, in address order; then calls (caller with callee), the most frequent
/// first: by `weights[i]`, how often the profile entered the calling block (as
/// Pettis and Hansen order procedures by call counts), in address order among equal
/// weights (and for blocks past the end of `weights`, which count 0). Groups in
/// address order of their first block are then packed together while they fit in
/// `cap`. Without weights, a cap reached by the calls of code early in the address
/// space kept a hot loop from its callee: CoreMark's `core_bench_state` and the
/// `core_state_transition` it calls for every input byte fell in different regions of
/// 160 blocks, so every call crossed regions, and on the GPU lanes in different regions
/// take turns (a seed per lane ran at half the speed; docs/BENCHMARKS.md, thirty-first
/// session).
pub fn partition(blocks: &[Block], weights: &[u64], cap: usize) -> Vec<Vec<usize>> {
    let cap = cap.max(1);
    let at: HashMap<u64, usize> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (b.start, i))
        .collect();
    let mut g = Groups::new(blocks.len(), cap);
    let all: Vec<Vec<(u64, bool)>> = blocks.iter().map(edges).collect();
    let weight = |i: usize| weights.get(i).copied().unwrap_or(0);
    // Callers, the most frequent first (a stable sort keeps address order among equals).
    let mut callers: Vec<usize> = (0..blocks.len()).collect();
    callers.sort_by_key(|&i| std::cmp::Reverse(weight(i)));
    for (calls, order) in [(false, (0..blocks.len()).collect()), (true, callers)] {
        for i in order {
            for &(t, call) in &all[i] {
                if call == calls {
                    if let Some(&j) = at.get(&t) {
                        g.join(i, j);
                    }
                }
            }
        }
    }
    // Each group's members in address order, groups by their first block.
    let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..blocks.len() {
        let r = g.root(i);
        by_root.entry(r).or_default().push(i);
    }
    let mut groups: Vec<Vec<usize>> = by_root.into_values().collect();
    groups.sort_by_key(|v| v[0]);
    // Pack: a group joins the region being filled while both fit in cap.
    let mut regions: Vec<Vec<usize>> = Vec::new();
    for grp in groups {
        match regions.last_mut() {
            Some(r) if r.len() + grp.len() <= cap => r.extend(grp),
            _ => regions.push(grp),
        }
    }
    for r in &mut regions {
        r.sort_unstable();
    }
    regions
}

#[cfg(test)]
mod tests {
    use super::partition;
    use crate::translate::gen::Block;

    const NOP: u32 = 0xd503201f;
    const RET: u32 = 0xd65f03c0;

    /// BL with a word offset to `to` from `from`.
    fn bl(from: u64, to: u64) -> u32 {
        0x9400_0000 | (((to as i64 - from as i64) / 4) as u32 & 0x03ff_ffff)
    }

    /// B with a word offset to `to` from `from`.
    fn b(from: u64, to: u64) -> u32 {
        0x1400_0000 | (((to as i64 - from as i64) / 4) as u32 & 0x03ff_ffff)
    }

    fn blk(start: u64, insns: Vec<u32>) -> Block {
        Block {
            start,
            frame: 1,
            insns,
        }
    }

    /// Every block in exactly one region, each region in address order and within the
    /// cap, the regions ordered by their first block.
    fn check(blocks: &[Block], regions: &[Vec<usize>], cap: usize) {
        let mut seen = vec![false; blocks.len()];
        for r in regions {
            assert!(!r.is_empty() && r.len() <= cap, "{regions:?}");
            assert!(r.windows(2).all(|w| w[0] < w[1]), "{regions:?}");
            for &i in r {
                assert!(!seen[i], "{regions:?}");
                seen[i] = true;
            }
        }
        assert!(seen.iter().all(|&s| s), "{regions:?}");
        assert!(regions.windows(2).all(|w| w[0][0] < w[1][0]), "{regions:?}");
    }

    /// A loop that calls a function far away in address order shares its region, where
    /// runs of `cap` blocks in address order would have put the blocks between them
    /// with the loop and the callee in a region of its own.
    #[test]
    fn a_loop_and_its_callee_share_a_region() {
        let (lp, callee) = (0x400000u64, 0x400800u64);
        let mut blocks = vec![
            blk(lp, vec![NOP, bl(lp + 4, callee)]),
            blk(lp + 8, vec![b(lp + 8, lp)]),
        ];
        // Unrelated straight-line code between them, each block ending in a RET.
        for k in 0..6u64 {
            blocks.push(blk(0x400100 + 8 * k, vec![NOP, RET]));
        }
        blocks.push(blk(callee, vec![NOP, RET]));
        blocks.sort_by_key(|b| b.start);
        let regions = partition(&blocks, &[], 3);
        check(&blocks, &regions, 3);
        let of = |start: u64| {
            let i = blocks.iter().position(|b| b.start == start).unwrap();
            regions.iter().position(|r| r.contains(&i)).unwrap()
        };
        assert_eq!(of(lp), of(lp + 8));
        assert_eq!(of(lp), of(callee));
        // Address order alone: [lp, lp+8, 0x400100], ..., [.., callee].
        assert_ne!(of(lp), of(0x400100));
    }

    /// Groups never grow past the cap, however the edges run, and small groups are packed.
    #[test]
    fn regions_stay_within_the_cap_and_are_packed() {
        // A chain of 10 blocks, each branching to the next, and 5 lone blocks.
        let mut blocks: Vec<Block> = (0..10u64)
            .map(|k| {
                let s = 0x400000 + 8 * k;
                blk(s, vec![NOP, b(s + 4, s + 8)])
            })
            .collect();
        for k in 0..5u64 {
            blocks.push(blk(0x401000 + 8 * k, vec![NOP, RET]));
        }
        for cap in 1..=16 {
            let regions = partition(&blocks, &[], cap);
            check(&blocks, &regions, cap);
            assert_eq!(
                regions.len(),
                blocks.len().div_ceil(cap),
                "cap {cap}: {regions:?}"
            );
        }
        assert!(partition(&[], &[], 40).is_empty());
    }

    /// Of two callers of one function that cannot both join it within the cap, the one
    /// the profile entered more often does, wherever it lies in address order; without
    /// weights the first in address order does.
    #[test]
    fn the_hotter_caller_keeps_its_callee() {
        let (cold, hot, callee) = (0x400000u64, 0x401000u64, 0x402000u64);
        let blocks = vec![
            blk(cold, vec![NOP, bl(cold + 4, callee)]),
            blk(cold + 8, vec![RET]),
            blk(hot, vec![NOP, bl(hot + 4, callee)]),
            blk(hot + 8, vec![RET]),
            blk(callee, vec![RET]),
        ];
        let region_of =
            |regions: &[Vec<usize>], i: usize| regions.iter().position(|r| r.contains(&i));
        let plain = partition(&blocks, &[], 3);
        check(&blocks, &plain, 3);
        assert_eq!(region_of(&plain, 4), region_of(&plain, 0), "{plain:?}");
        let weighted = partition(&blocks, &[10, 10, 50_000, 50_000, 50_010], 3);
        check(&blocks, &weighted, 3);
        assert_eq!(
            region_of(&weighted, 4),
            region_of(&weighted, 2),
            "{weighted:?}"
        );
        assert_ne!(
            region_of(&weighted, 4),
            region_of(&weighted, 0),
            "{weighted:?}"
        );
    }
}
