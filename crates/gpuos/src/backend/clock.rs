//! The device clocks' offsets: what to add to the core's clock (`now_ns` in
//! kernel/rt.h: the GPU's global timer, or CLOCK_MONOTONIC on the CPU backend) to get
//! the host's CLOCK_MONOTONIC, CLOCK_REALTIME and CLOCK_BOOTTIME. The device serves
//! those clocks from them (kernel/sys/time_sys.h), as Linux's vDSO does from the data
//! page the kernel keeps for it.

use crate::abi::MachineHdr;

/// Host clock in nanoseconds (clock_gettime(2)).
fn host_ns(clk: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out pointer; the clock ids used here always exist.
    unsafe { libc::clock_gettime(clk, &mut ts) };
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

/// Nanoseconds from the core's clock to each host clock.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockOffsets {
    /// To CLOCK_MONOTONIC.
    pub mono: i64,
    /// To CLOCK_REALTIME.
    pub real: i64,
    /// To CLOCK_BOOTTIME.
    pub boot: i64,
}

impl ClockOffsets {
    /// Measure against a device clock read by `probe` (nanoseconds). Each probe is
    /// bracketed by two CLOCK_MONOTONIC reads and taken to have happened halfway
    /// between them; of `tries` probes the tightest bracket wins, so the error is at
    /// most half of it (a kernel launch and synchronize on the GPU: about 5 us).
    pub fn measure<E>(tries: u32, mut probe: impl FnMut() -> Result<u64, E>) -> Result<Self, E> {
        let mut best: Option<(i128, i128)> = None; // (bracket width, mono - device)
        for _ in 0..tries.max(1) {
            let t0 = host_ns(libc::CLOCK_MONOTONIC);
            let dev = probe()? as i128;
            let t1 = host_ns(libc::CLOCK_MONOTONIC);
            let cand = (t1 - t0, (t0 + t1) / 2 - dev);
            if best.is_none_or(|b| cand.0 < b.0) {
                best = Some(cand);
            }
        }
        let mono = best.map_or(0, |b| b.1);
        Ok(Self {
            mono: mono as i64,
            real: (mono + host_offset(libc::CLOCK_REALTIME)) as i64,
            boot: (mono + host_offset(libc::CLOCK_BOOTTIME)) as i64,
        })
    }

    /// The CPU backend: the core's clock is CLOCK_MONOTONIC itself.
    pub fn for_host_clock() -> Self {
        Self {
            mono: 0,
            real: host_offset(libc::CLOCK_REALTIME) as i64,
            boot: host_offset(libc::CLOCK_BOOTTIME) as i64,
        }
    }

    /// Store the offsets in the machine header the core reads.
    pub fn apply(&self, hdr: &mut MachineHdr) {
        hdr.clock_mono_off = self.mono;
        hdr.clock_real_off = self.real;
        hdr.clock_boot_off = self.boot;
    }
}

/// `clk` minus CLOCK_MONOTONIC, with the monotonic reads on both sides of `clk`'s.
fn host_offset(clk: libc::clockid_t) -> i128 {
    let a = host_ns(libc::CLOCK_MONOTONIC);
    let v = host_ns(clk);
    let b = host_ns(libc::CLOCK_MONOTONIC);
    v - (a + b) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_clock_offsets_give_the_host_clocks() {
        let o = ClockOffsets::for_host_clock();
        assert_eq!(o.mono, 0);
        let mono = host_ns(libc::CLOCK_MONOTONIC);
        let real = host_ns(libc::CLOCK_REALTIME);
        assert!((mono + o.real as i128 - real).abs() < 50_000_000);
        let boot = host_ns(libc::CLOCK_BOOTTIME);
        assert!((mono + o.boot as i128 - boot).abs() < 50_000_000);
    }

    #[test]
    fn a_probe_is_placed_inside_its_bracket() {
        // A device clock 1 s behind the host's monotonic clock.
        let o = ClockOffsets::measure::<()>(5, || {
            Ok((host_ns(libc::CLOCK_MONOTONIC) - 1_000_000_000) as u64)
        })
        .unwrap();
        assert!((o.mono - 1_000_000_000).abs() < 10_000_000, "{o:?}");
        assert!((o.real - o.mono - ClockOffsets::for_host_clock().real).abs() < 50_000_000);
    }
}
