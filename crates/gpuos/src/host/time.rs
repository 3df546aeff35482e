//! Clocks, sleeps and resource usage, passed through to the host (the wall and
//! monotonic clocks and gettimeofday are served on the device: kernel/sys/time_sys.h).
//!
//! `times`, `getrusage` and the CPU-time clocks report the host process (the whole
//! machine, or the serving thread for the per-thread ones), as qemu reports itself.

use super::errno::{self, Errno};
use super::{ok, sys, Ret};
use std::time::{Duration, Instant};

/// A sleep's end: host clock and absolute time on it.
pub(crate) type Deadline = (i32, libc::timespec);

/// Sleep until `deadline` on host clock `clk` (the tests' blocking sleeps; a served
/// sleep is an `Outcome::SleepUntil`).
#[cfg(test)]
fn sleep_until((clk, deadline): Deadline) -> Result<(), Errno> {
    sys::sleep_until(clk, &deadline)
}

/// When `deadline` comes, on the monotonic `Instant` clock (now, if it has passed).
pub(crate) fn instant_of((clk, deadline): Deadline) -> Result<Instant, Errno> {
    let now = sys::clock_gettime(clk)?;
    let ns = (deadline.tv_sec as i128 - now.tv_sec as i128) * 1_000_000_000
        + (deadline.tv_nsec as i128 - now.tv_nsec as i128);
    Ok(Instant::now() + Duration::from_nanos(ns.clamp(0, u64::MAX as i128) as u64))
}

const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
const TIMER_ABSTIME: i32 = 1;

/// The clock ids a guest may name: REALTIME, MONOTONIC, PROCESS_CPUTIME_ID,
/// THREAD_CPUTIME_ID, MONOTONIC_RAW, REALTIME_COARSE, MONOTONIC_COARSE, BOOTTIME,
/// REALTIME_ALARM, BOOTTIME_ALARM, TAI. (Negative ids name other processes' CPU clocks or
/// host fds of dynamic clocks: never passed through.)
fn valid_clock(c: i32) -> Result<i32, Errno> {
    match c {
        0..=9 | 11 => Ok(c),
        _ => Err(errno::EINVAL),
    }
}

fn put_timespec(out: &mut [u8], sec: i64, nsec: i64) -> usize {
    if out.len() < 16 {
        return 0;
    }
    out[..8].copy_from_slice(&sec.to_le_bytes());
    out[8..16].copy_from_slice(&nsec.to_le_bytes());
    16
}

/// A guest `struct timespec` from 16 input bytes, validated.
fn get_timespec(b: &[u8]) -> Result<libc::timespec, Errno> {
    let b = b.get(..16).ok_or(errno::EFAULT)?;
    let sec = i64::from_le_bytes(b[..8].try_into().map_err(|_| errno::EFAULT)?);
    let nsec = i64::from_le_bytes(b[8..].try_into().map_err(|_| errno::EFAULT)?);
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(errno::EINVAL);
    }
    Ok(libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    })
}

fn add(a: libc::timespec, b: libc::timespec) -> libc::timespec {
    let mut s = a.tv_sec.saturating_add(b.tv_sec);
    let mut n = a.tv_nsec + b.tv_nsec;
    if n >= 1_000_000_000 {
        n -= 1_000_000_000;
        s = s.saturating_add(1);
    }
    libc::timespec {
        tv_sec: s,
        tv_nsec: n,
    }
}

pub(crate) fn clock_gettime(clk: i32, tp: u64, out: &mut [u8]) -> Ret {
    let ts = sys::clock_gettime(valid_clock(clk)?)?;
    if tp == 0 {
        return Err(errno::EFAULT);
    }
    Ok((0, put_timespec(out, ts.tv_sec, ts.tv_nsec)))
}

pub(crate) fn clock_getres(clk: i32, tp: u64, out: &mut [u8]) -> Ret {
    let ts = sys::clock_getres(valid_clock(clk)?)?;
    if tp == 0 {
        return ok(0);
    }
    Ok((0, put_timespec(out, ts.tv_sec, ts.tv_nsec)))
}

/// nanosleep, slept here, uninterrupted, so `rem` is never written.
#[cfg(test)]
pub(crate) fn nanosleep(req: u64, reqb: &[u8]) -> Ret {
    sleep_until(nanosleep_deadline(req, reqb)?)?;
    ok(0)
}

/// nanosleep(2)'s end, from its arguments. Errors: EFAULT (NULL), EINVAL (a bad
/// timespec), as nanosleep(2).
pub(crate) fn nanosleep_deadline(req: u64, reqb: &[u8]) -> Result<Deadline, Errno> {
    if req == 0 {
        return Err(errno::EFAULT);
    }
    let d = get_timespec(reqb)?;
    let now = sys::clock_gettime(libc::CLOCK_MONOTONIC)?;
    Ok((libc::CLOCK_MONOTONIC, add(now, d)))
}

/// clock_nanosleep: as [`nanosleep`].
#[cfg(test)]
pub(crate) fn clock_nanosleep(clk: i32, flags: i32, req: u64, reqb: &[u8]) -> Ret {
    sleep_until(clock_nanosleep_deadline(clk, flags, req, reqb)?)?;
    ok(0)
}

/// clock_nanosleep(2)'s end, from its arguments. Errors as clock_nanosleep(2): EINVAL
/// (a bad clock or timespec), EOPNOTSUPP (the process CPU clock), EFAULT (NULL).
pub(crate) fn clock_nanosleep_deadline(
    clk: i32,
    flags: i32,
    req: u64,
    reqb: &[u8],
) -> Result<Deadline, Errno> {
    match clk {
        0 | 1 | 7 | 8 | 9 | 11 => {}
        CLOCK_PROCESS_CPUTIME_ID => return Err(errno::EOPNOTSUPP),
        CLOCK_THREAD_CPUTIME_ID => return Err(errno::EINVAL),
        _ => return Err(errno::EINVAL),
    }
    if req == 0 {
        return Err(errno::EFAULT);
    }
    let d = get_timespec(reqb)?;
    // The alarm clocks sleep like their plain twins (no wake-up of a suspended host).
    let hclk = match clk {
        8 => libc::CLOCK_REALTIME,
        9 => libc::CLOCK_BOOTTIME,
        c => c,
    };
    let deadline = if flags & TIMER_ABSTIME != 0 {
        d
    } else {
        add(sys::clock_gettime(hclk)?, d)
    };
    Ok((hclk, deadline))
}

pub(crate) fn times(buf: u64, out: &mut [u8]) -> Ret {
    let (ticks, t) = sys::times()?;
    if buf == 0 || out.len() < 32 {
        return ok(ticks);
    }
    for (i, v) in t.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    Ok((ticks, 32))
}

pub(crate) fn getrusage(who: i32, buf: u64, out: &mut [u8]) -> Ret {
    let who = match who {
        0 => libc::RUSAGE_SELF,
        -1 => libc::RUSAGE_CHILDREN,
        1 => libc::RUSAGE_THREAD,
        _ => return Err(errno::EINVAL),
    };
    let r = sys::getrusage(who)?;
    if buf == 0 {
        return Err(errno::EFAULT);
    }
    let words: [i64; 18] = [
        r.ru_utime.tv_sec,
        r.ru_utime.tv_usec,
        r.ru_stime.tv_sec,
        r.ru_stime.tv_usec,
        r.ru_maxrss,
        r.ru_ixrss,
        r.ru_idrss,
        r.ru_isrss,
        r.ru_minflt,
        r.ru_majflt,
        r.ru_nswap,
        r.ru_inblock,
        r.ru_oublock,
        r.ru_msgsnd,
        r.ru_msgrcv,
        r.ru_nsignals,
        r.ru_nvcsw,
        r.ru_nivcsw,
    ];
    if out.len() < 144 {
        return Err(errno::EFAULT);
    }
    for (i, v) in words.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
    }
    Ok((0, 144))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(out: &[u8]) -> (i64, i64) {
        (
            i64::from_le_bytes(out[..8].try_into().unwrap()),
            i64::from_le_bytes(out[8..16].try_into().unwrap()),
        )
    }

    #[test]
    fn clocks() {
        let mut out = [0u8; 16];
        assert_eq!(clock_gettime(0, 1, &mut out), Ok((0, 16)));
        let (s, ns) = ts(&out);
        assert!(s > 1_600_000_000 && (0..1_000_000_000).contains(&ns));
        assert_eq!(clock_gettime(1, 1, &mut out), Ok((0, 16)));
        for c in [2, 3, 4, 5, 6, 7, 11] {
            assert_eq!(clock_gettime(c, 1, &mut out), Ok((0, 16)), "clock {c}");
        }
        assert_eq!(clock_gettime(10, 1, &mut out), Err(errno::EINVAL));
        assert_eq!(clock_gettime(-6, 1, &mut out), Err(errno::EINVAL));
        assert_eq!(clock_gettime(1, 0, &mut out), Err(errno::EFAULT));
        assert_eq!(clock_getres(1, 0, &mut out), Ok((0, 0)));
        assert_eq!(clock_getres(1, 1, &mut out), Ok((0, 16)));
        assert_eq!(ts(&out).0, 0);
    }

    #[test]
    fn sleeps() {
        let mut req = [0u8; 16];
        req[8..].copy_from_slice(&20_000_000i64.to_le_bytes());
        let t0 = std::time::Instant::now();
        assert_eq!(nanosleep(1, &req), Ok((0, 0)));
        assert!(t0.elapsed() >= std::time::Duration::from_millis(20));
        assert_eq!(clock_nanosleep(1, 0, 1, &req), Ok((0, 0)));
        // Absolute deadline in the past: returns at once.
        assert_eq!(clock_nanosleep(1, TIMER_ABSTIME, 1, &req), Ok((0, 0)));
        let mut bad = req;
        bad[8..].copy_from_slice(&1_000_000_000i64.to_le_bytes());
        assert_eq!(nanosleep(1, &bad), Err(errno::EINVAL));
        assert_eq!(nanosleep(0, &req), Err(errno::EFAULT));
        assert_eq!(clock_nanosleep(3, 0, 1, &req), Err(errno::EINVAL));
    }

    #[test]
    fn usage() {
        let mut out = [0u8; 144];
        let (ticks, n) = times(1, &mut out).unwrap();
        assert!(ticks > 0);
        assert_eq!(n, 32);
        assert_eq!(getrusage(0, 1, &mut out), Ok((0, 144)));
        assert!(
            i64::from_le_bytes(out[32..40].try_into().unwrap()) > 0,
            "maxrss"
        );
        assert_eq!(getrusage(5, 1, &mut out), Err(errno::EINVAL));
    }
}
