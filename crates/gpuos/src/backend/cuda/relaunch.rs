//! When the persistent kernel is stopped and launched again although no translated core
//! waits to be swapped in: the launch policy of persistent mode.
//!
//! Measured on an H200 (docs/BENCHMARKS.md, eighteenth session), translated code whose
//! lanes run one path together (bench_int, 16,384 lanes) ran at 42 G instructions/s in
//! one long launch and at 70-78 G/s in launches of 10-15 ms (quantum launches of 16 K
//! instructions per slice, or the persistent kernel relaunched every 10 ms with 64 K
//! slices); in launches of 245 ms, 43 G/s. What a launch resets that long launches lose
//! is not known yet (neither a reload of each lane's core state nor a flush of its soft
//! TLB per slice recovered any of it). Lanes whose programs part (a seed per lane) go
//! the other way: 10.6 G/s with the default slice of 1 M instructions, 2.0 G/s with
//! 16 K-instruction slices, since every slice ends with the lanes that fell behind
//! running alone, and a relaunch waits for the slowest lane of the whole grid.
//!
//! The policy: a run starts with long slices and no relaunch. Every period the host
//! reads the machine's counters: once a window shows translated code running with
//! almost no split steps (`MachineHdr::split_steps` per translated instruction), the
//! kernels are relaunched with short slices, and again every period while that holds;
//! a window with splits sends them back to long slices.
//!
//! Off unless `GPUOS_RELAUNCH_MS` gives the period (10 is what was measured): its parts
//! were measured on the GPU (the relaunches, the slices), the whole (the split counter
//! telling the two kinds of run apart) not yet; it becomes the default once it has been.

use std::time::Duration;

/// Instructions per slice while the lanes are relaunched every period: a slice of a
/// converged 16,384-lane run takes about 15 ms, so a stop waits at most that long.
pub(super) const SHORT_SLICE: u64 = 1 << 16;
/// The relaunch period measured: launches of 10-15 ms.
#[cfg(test)]
const PERIOD: Duration = Duration::from_millis(10);
/// Fewest lanes for which the policy applies: below about 16 blocks the measured runs
/// lost nothing in long launches (32 to 512 lanes: within 6 %), and every relaunch costs
/// a one-lane run about 1-2 %.
const MIN_LANES: usize = 2048;
/// Fewest translated instructions in a window for it to say anything.
const MIN_SAMPLE: u64 = 1_000_000;
/// Most split steps per this many translated instructions for lanes that run together.
const SPLIT_PER: u64 = 1000;

/// The counters of one look: `MachineHdr::t2_insns` and `split_steps` (cumulative).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counters {
    pub t2_insns: u64,
    pub split_steps: u64,
}

/// What to do after a look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Decision {
    /// Let the kernels run on.
    RunOn,
    /// Stop them and launch them again; `short`: with short slices.
    Relaunch { short: bool },
}

/// The policy's state between looks.
#[derive(Debug)]
pub(super) struct LaunchPolicy {
    /// The period, or None: never relaunch (too few lanes, no translation, turned off).
    period: Option<Duration>,
    /// Whether the running launch has short slices.
    short: bool,
    /// The counters at the previous look.
    last: Counters,
    /// Relaunches so far, and how many of them had short slices.
    pub relaunches: u64,
    pub short_launches: u64,
}

impl LaunchPolicy {
    /// The policy of a run of `lanes` lanes; `translating`: whether tier 2 may run.
    /// `GPUOS_RELAUNCH_MS`: the period in milliseconds (unset or 0: no relaunches).
    pub fn new(lanes: usize, translating: bool) -> LaunchPolicy {
        let period = std::env::var("GPUOS_RELAUNCH_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|&ms| ms > 0)
            .map(Duration::from_millis);
        LaunchPolicy {
            period: period.filter(|_| translating && lanes >= MIN_LANES),
            short: false,
            last: Counters::default(),
            relaunches: 0,
            short_launches: 0,
        }
    }

    /// How long after a launch the counters are first looked at (None: never).
    pub fn period(&self) -> Option<Duration> {
        self.period
    }

    /// The slice of the next launch: `long`, or SHORT_SLICE while relaunching.
    pub fn slice(&self, long: u64) -> u64 {
        if self.short {
            SHORT_SLICE.min(long)
        } else {
            long
        }
    }

    /// A look at the counters `now` (read at least a period after the launch).
    pub fn look(&mut self, now: Counters) -> Decision {
        let t2 = now.t2_insns.saturating_sub(self.last.t2_insns);
        let split = now.split_steps.saturating_sub(self.last.split_steps);
        if t2 < MIN_SAMPLE {
            // Nothing ran translated since the last look (lanes waiting for the host,
            // or long slices not yet ended): wait for more.
            return Decision::RunOn;
        }
        self.last = now;
        let together = split.saturating_mul(SPLIT_PER) <= t2;
        if !self.short && !together {
            return Decision::RunOn;
        }
        Decision::Relaunch { short: together }
    }

    /// The kernels were relaunched after `d`.
    pub fn relaunched(&mut self, d: Decision) {
        if let Decision::Relaunch { short } = d {
            self.short = short;
            self.relaunches += 1;
            self.short_launches += short as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> LaunchPolicy {
        LaunchPolicy {
            period: Some(PERIOD),
            short: false,
            last: Counters::default(),
            relaunches: 0,
            short_launches: 0,
        }
    }

    fn at(t2_insns: u64, split_steps: u64) -> Counters {
        Counters {
            t2_insns,
            split_steps,
        }
    }

    #[test]
    fn lanes_together_get_short_slices_and_periodic_relaunches() {
        let mut p = policy();
        assert_eq!(p.slice(1 << 20), 1 << 20);
        let d = p.look(at(50_000_000, 10));
        assert_eq!(d, Decision::Relaunch { short: true });
        p.relaunched(d);
        assert_eq!(p.slice(1 << 20), SHORT_SLICE);
        // Still together: relaunched again, every period.
        assert_eq!(
            p.look(at(90_000_000, 20)),
            Decision::Relaunch { short: true }
        );
    }

    #[test]
    fn lanes_apart_keep_long_slices_and_leave_short_ones() {
        let mut p = policy();
        assert_eq!(p.look(at(50_000_000, 400_000)), Decision::RunOn);
        assert_eq!(p.slice(1 << 20), 1 << 20);
        let d = p.look(at(100_000_000, 400_010));
        p.relaunched(d);
        assert_eq!(p.slice(1 << 20), SHORT_SLICE);
        // The lanes part: one more relaunch, back to long slices, then none.
        let d = p.look(at(150_000_000, 900_000));
        assert_eq!(d, Decision::Relaunch { short: false });
        p.relaunched(d);
        assert_eq!(p.slice(1 << 20), 1 << 20);
        assert_eq!(p.look(at(200_000_000, 1_500_000)), Decision::RunOn);
        assert_eq!((p.relaunches, p.short_launches), (2, 1));
    }

    #[test]
    fn a_window_with_little_translated_code_says_nothing() {
        let mut p = policy();
        assert_eq!(p.look(at(10_000, 0)), Decision::RunOn);
        // The small window is not lost: it counts with the next.
        assert_eq!(
            p.look(at(MIN_SAMPLE + 10_000, 0)),
            Decision::Relaunch { short: true }
        );
    }

    #[test]
    fn few_lanes_or_no_translation_never_relaunch() {
        // Whatever GPUOS_RELAUNCH_MS says.
        assert!(LaunchPolicy::new(1, true).period().is_none());
        assert!(LaunchPolicy::new(16_384, false).period().is_none());
    }
}
