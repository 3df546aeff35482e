//! When the persistent kernel is stopped and launched again although no translated core
//! waits to be swapped in, and how long its lanes' slices are: the launch policy of
//! persistent mode.
//!
//! Measured on an H200 (docs/BENCHMARKS.md, eighteenth and nineteenth sessions),
//! translated code whose lanes run one path together (bench_int, 16,384 lanes) ran at
//! 42-44 G instructions/s in one long launch and at 70-78 G/s in launches of 10-15 ms
//! (quantum launches of 16 K instructions per slice, or the persistent kernel relaunched
//! every 10 ms with 64 K slices). What a launch resets is the warps' phase: quantum
//! launches whose warps were started out of step by up to 2,048 instructions ran at 37
//! G/s instead of 76. Lanes whose programs part (a seed per lane) go the other way: 10
//! G/s with the default slice of 1 M instructions, 2.0 G/s with 16 K-instruction slices,
//! since every slice ends with the lanes that fell behind running alone, and a relaunch
//! waits for the slowest lane of the whole grid; they stay at 3.3 G/s for the rest of
//! the run once they have run short slices for as little as 10-20 ms.
//!
//! The policy: a run starts with long slices and no relaunch. Every period the host
//! reads the machine's counters. Once translated code has run with almost no split steps
//! (`MachineHdr::split_steps` per translated instruction) for as many instructions as a
//! long slice of every lane (so not only a start-up that all lanes share before their
//! programs part), the slices become short, by writing `MachineHdr::slice`, which each
//! lane reads at the start of a slice: no stop, for a stop waits until every lane has
//! ended its slice (a third of a second of a draining GPU for 1 M-instruction slices at
//! 16,384 lanes, over a second when the lanes part). Each later window that still shows
//! the lanes together stops and relaunches the kernels (their slices short by then, so
//! the stop is quick); a window with splits makes the slices long again, without a stop.
//!
//! One-slice launches (the default without spare lanes; `MachineHdr::slice_once`):
//! instead of short slices and a stop, each warp leaves the kernel after its next slice
//! (of the launch's own length), so the kernel ends after about one slice and is
//! launched again at once with every warp in step, as quantum mode's launches start
//! them. A stop is seen only at a slice's end, so a relaunch by stop waited for second
//! slices that began out of step. Measured on an H100 (thirty-second session, CoreMark
//! converged, 100 iterations, 16,384 lanes, translated): relaunch by stop every 10 ms
//! 158-168 G/s (every 1 or 3 ms: 112-124), one slice per launch of 64 K instructions
//! 160, of 256 K 185, of 1 M 203; quantum launches 225-236 G/s.
//!
//! While the launches are one slice each, the looks that still find the lanes together
//! stop nothing: the kernel already ends after each slice, and a stop would also send
//! home the warps that wait for a host answer, to be launched again only for it. Until
//! the thirty-third session such a look stopped the kernels as well: CoreMark converged,
//! 16,384 lanes, H100, one command, 221-223 G/s with those stops (46-47 relaunches),
//! 245-255 without (29), quantum launches 242 (docs/BENCHMARKS.md).
//!
//! `GPUOS_RELAUNCH_MS` sets the period (default 10, the one measured; 0 turns it off),
//! `GPUOS_RELAUNCH_ONCE=0` relaunches by stop only, `GPUOS_RELAUNCH_SLICE=N` sets the
//! slice while the lanes run together, `GPUOS_RELAUNCH_ONCE_STOP=1` (to measure) stops
//! one-slice launches at each look too, as before.
use std::time::Duration;

/// Instructions per slice while the lanes are relaunched every period: a slice of a
/// converged 16,384-lane run takes about 15 ms, so a stop waits at most that long.
const SHORT_SLICE: u64 = 1 << 16;
/// The period, in milliseconds, unless `GPUOS_RELAUNCH_MS` says otherwise: launches of
/// 10-15 ms are what ran fastest.
const PERIOD_MS: u64 = 10;
/// Fewest lanes for which the policy applies: below about 16 blocks the measured runs
/// lost nothing in long launches (32 to 512 lanes: within 6 %); at 4,096 lanes the
/// policy lost 5 % (16.4 -> 15.5 G/s, nineteenth session), at 16,384 it gained 50 %.
const MIN_LANES: usize = 8192;
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
    /// Let them run on with short (`true`) or long slices from each lane's next slice
    /// (`MachineHdr::slice`).
    Slices { short: bool },
    /// Stop them and launch them again (their slices short).
    Relaunch,
}

/// The policy's state between looks.
#[derive(Debug)]
pub(super) struct LaunchPolicy {
    /// The period, or None: never relaunch (too few lanes, no translation, turned off).
    period: Option<Duration>,
    /// Translated instructions that must run together before the slices become short:
    /// a long slice of every lane.
    evidence: u64,
    /// Translated instructions of the windows in a row that showed the lanes together.
    together: u64,
    /// Whether the lanes have been told to run short slices.
    short: bool,
    /// Whether short slices are one per launch (`header_once`).
    once: bool,
    /// Whether a look that finds the lanes together stops one-slice launches too
    /// (`GPUOS_RELAUNCH_ONCE_STOP=1`, the former policy, to measure).
    once_stop: bool,
    /// Instructions of a slice while the lanes run together (0: the launch's own, the
    /// default of one-slice launches; SHORT_SLICE when relaunched by stop;
    /// `GPUOS_RELAUNCH_SLICE`).
    short_slice: u64,
    /// The launch's own slice, for the report.
    long_slice: u64,
    /// The counters at the previous look.
    last: Counters,
    /// Relaunches so far, and how often the slices changed length.
    pub relaunches: u64,
    pub slice_changes: u64,
}

impl LaunchPolicy {
    /// The policy of a run of `lanes` lanes whose launches have slices of `long_slice`
    /// instructions; `translating`: whether tier 2 may run; `once_ok`: whether short
    /// slices may also be one per launch (not with spare lanes, whose loop leaves only
    /// at a stop). `GPUOS_RELAUNCH_MS`: the period in milliseconds (0: never relaunch;
    /// unset: PERIOD_MS); `GPUOS_RELAUNCH_ONCE=0`: relaunch by stop only.
    pub fn new(lanes: usize, long_slice: u64, translating: bool, once_ok: bool) -> LaunchPolicy {
        let ms = match std::env::var("GPUOS_RELAUNCH_MS") {
            Ok(v) => v.trim().parse::<u64>().unwrap_or(PERIOD_MS),
            Err(_) => PERIOD_MS,
        };
        let period =
            Some(Duration::from_millis(ms)).filter(|_| ms > 0 && translating && lanes >= MIN_LANES);
        let once =
            once_ok && std::env::var("GPUOS_RELAUNCH_ONCE").map_or(true, |v| v.trim() != "0");
        let mut p = LaunchPolicy::with(period, (lanes as u64).saturating_mul(long_slice));
        p.once = once;
        p.once_stop = std::env::var("GPUOS_RELAUNCH_ONCE_STOP").is_ok_and(|v| v.trim() == "1");
        // One-slice launches keep the launch's own (long) slice: they reset the warps'
        // phase at every launch, and a launch of long slices wastes less of the GPU on
        // its last warps (CoreMark converged, 16,384 lanes, H100: 160, 185 and 203 G/s
        // with one slice of 64 K, 256 K and 1 M instructions per launch).
        let env_slice = std::env::var("GPUOS_RELAUNCH_SLICE")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&n| n > 0);
        p.short_slice = env_slice.unwrap_or(if once { 0 } else { SHORT_SLICE });
        p.long_slice = long_slice;
        p
    }

    /// A policy that looks every `period` (None: never) and makes the slices short once
    /// `evidence` translated instructions ran together.
    fn with(period: Option<Duration>, evidence: u64) -> LaunchPolicy {
        LaunchPolicy {
            period,
            evidence,
            together: 0,
            short: false,
            once: true,
            once_stop: false,
            short_slice: SHORT_SLICE,
            long_slice: 0,
            last: Counters::default(),
            relaunches: 0,
            slice_changes: 0,
        }
    }

    /// What to write to `MachineHdr::slice_once` with `header_slice`: whether each
    /// warp leaves after its slice, so that the kernel ends and is launched again with
    /// its warps in step (while the slices are short and `once`).
    pub fn header_once(&self) -> bool {
        self.short && self.once
    }

    /// The verbose report's line: how often the kernels were relaunched, when the
    /// slices ever changed length.
    pub fn summary(&self) -> Option<String> {
        (self.slice_changes > 0).then(|| {
            format!(
                "the persistent kernels were relaunched {} times (lanes running together, {}-instruction slices{}); slices changed length {} times",
                self.relaunches,
                if self.short_slice > 0 { self.short_slice } else { self.long_slice },
                if self.once { ", one per launch" } else { "" },
                self.slice_changes
            )
        })
    }

    /// How long after a launch the counters are first looked at (None: never).
    pub fn period(&self) -> Option<Duration> {
        self.period
    }

    /// The slice to write to `MachineHdr::slice` after `Decision::Slices`: 0 (each
    /// launch's own, the long one) or, while the lanes run together, the short slice
    /// (also 0 in one-slice launches).
    pub fn header_slice(&self) -> u64 {
        if self.short {
            self.short_slice
        } else {
            0
        }
    }

    /// A look at the counters `now` (read at least a period after the launch).
    pub fn look(&mut self, now: Counters) -> Decision {
        let t2 = now.t2_insns.saturating_sub(self.last.t2_insns);
        let split = now.split_steps.saturating_sub(self.last.split_steps);
        if t2 < MIN_SAMPLE {
            // Nothing ran translated since the last look (lanes waiting for the host,
            // or long slices not yet ended: the counters grow when a slice ends): wait
            // for more.
            return Decision::RunOn;
        }
        self.last = now;
        let together = split.saturating_mul(SPLIT_PER) <= t2;
        self.together = if together {
            self.together.saturating_add(t2)
        } else {
            0
        };
        let d = match (self.short, together) {
            (false, false) => Decision::RunOn,
            (false, true) if self.together < self.evidence => Decision::RunOn,
            // One-slice launches end by themselves.
            (true, true) if self.once && !self.once_stop => Decision::RunOn,
            (true, true) => Decision::Relaunch,
            (_, short) => Decision::Slices { short },
        };
        match d {
            Decision::Slices { short } => {
                self.short = short;
                self.slice_changes += 1;
            }
            Decision::Relaunch => self.relaunches += 1,
            Decision::RunOn => {}
        }
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 lanes with slices of 1 M instructions: 10 M together make the slices short.
    fn policy() -> LaunchPolicy {
        LaunchPolicy::with(Some(Duration::from_millis(PERIOD_MS)), 10_000_000)
    }

    fn at(t2_insns: u64, split_steps: u64) -> Counters {
        Counters {
            t2_insns,
            split_steps,
        }
    }

    #[test]
    fn lanes_together_get_short_slices_of_one_launch_each() {
        let mut p = policy();
        assert_eq!(p.header_slice(), 0);
        assert!(!p.header_once());
        // Long slices until a long slice of every lane ran together.
        assert_eq!(p.look(at(4_000_000, 1)), Decision::RunOn);
        assert_eq!(p.look(at(8_000_000, 2)), Decision::RunOn);
        // Then short slices, without a stop.
        assert_eq!(p.look(at(12_000_000, 3)), Decision::Slices { short: true });
        assert_eq!(p.header_slice(), SHORT_SLICE);
        // Each warp leaves after one of them: the kernel ends and is launched again
        // by itself, so the looks stop nothing.
        assert!(p.header_once());
        assert_eq!(p.look(at(16_000_000, 4)), Decision::RunOn);
        assert_eq!(p.look(at(20_000_000, 5)), Decision::RunOn);
        assert_eq!((p.relaunches, p.slice_changes), (0, 1));
    }

    #[test]
    fn short_slices_relaunched_by_stop_get_periodic_stops() {
        let mut p = policy();
        p.once = false;
        assert_eq!(p.look(at(12_000_000, 3)), Decision::Slices { short: true });
        assert!(!p.header_once());
        assert_eq!(p.look(at(16_000_000, 4)), Decision::Relaunch);
        assert_eq!(p.look(at(20_000_000, 5)), Decision::Relaunch);
        assert_eq!((p.relaunches, p.slice_changes), (2, 1));
        // The former policy for one-slice launches (GPUOS_RELAUNCH_ONCE_STOP=1) too.
        let mut p = policy();
        p.once_stop = true;
        assert_eq!(p.look(at(12_000_000, 3)), Decision::Slices { short: true });
        assert_eq!(p.look(at(16_000_000, 4)), Decision::Relaunch);
    }

    #[test]
    fn lanes_apart_keep_long_slices_and_leave_short_ones() {
        let mut p = policy();
        assert_eq!(p.look(at(50_000_000, 400_000)), Decision::RunOn);
        assert_eq!(p.header_slice(), 0);
        // Together for a while: short slices.
        assert_eq!(
            p.look(at(100_000_000, 400_010)),
            Decision::Slices { short: true }
        );
        // The lanes part: back to long slices, never stopped, then nothing.
        assert_eq!(
            p.look(at(150_000_000, 900_000)),
            Decision::Slices { short: false }
        );
        assert_eq!(p.header_slice(), 0);
        assert!(!p.header_once());
        assert_eq!(p.look(at(200_000_000, 1_500_000)), Decision::RunOn);
        // Together once more: it takes a long slice of every lane again.
        assert_eq!(p.look(at(205_000_000, 1_500_001)), Decision::RunOn);
        assert_eq!((p.relaunches, p.slice_changes), (0, 2));
    }

    #[test]
    fn a_split_window_starts_the_count_again() {
        let mut p = policy();
        assert_eq!(p.look(at(9_000_000, 0)), Decision::RunOn);
        assert_eq!(p.look(at(11_000_000, 1_000_000)), Decision::RunOn);
        assert_eq!(p.look(at(13_000_000, 1_000_000)), Decision::RunOn);
        assert_eq!(p.together, 2_000_000);
    }

    #[test]
    fn a_window_with_little_translated_code_says_nothing() {
        let mut p = policy();
        assert_eq!(p.look(at(10_000, 0)), Decision::RunOn);
        assert_eq!(p.together, 0);
        // The small window is not lost: it counts with the next.
        assert_eq!(p.look(at(MIN_SAMPLE + 10_000, 0)), Decision::RunOn);
        assert_eq!(p.together, MIN_SAMPLE + 10_000);
    }

    #[test]
    fn one_slice_launches_keep_the_long_slice() {
        if std::env::var_os("GPUOS_RELAUNCH_SLICE").is_some()
            || std::env::var_os("GPUOS_RELAUNCH_ONCE").is_some()
        {
            return; // the knobs change what is checked here
        }
        let mut p = LaunchPolicy::new(16_384, 1 << 20, true, true);
        p.period = Some(Duration::from_millis(PERIOD_MS));
        assert_eq!(p.look(at(1 << 34, 0)), Decision::Slices { short: true });
        assert_eq!((p.header_slice(), p.header_once()), (0, true));
        // With spare lanes: relaunched by stop, short slices.
        let mut p = LaunchPolicy::new(16_384, 1 << 20, true, false);
        assert_eq!(p.look(at(1 << 34, 0)), Decision::Slices { short: true });
        assert_eq!((p.header_slice(), p.header_once()), (SHORT_SLICE, false));
    }

    #[test]
    fn few_lanes_or_no_translation_never_relaunch() {
        // Whatever GPUOS_RELAUNCH_MS says.
        assert!(LaunchPolicy::new(1, 1 << 20, true, true).period().is_none());
        assert!(LaunchPolicy::new(16_384, 1 << 20, false, true)
            .period()
            .is_none());
    }
}
