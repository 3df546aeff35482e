//! Stopping a run: the CLI's SIGINT and SIGTERM handlers ask, every backend and the
//! host services that wait (sleeps, reads of gpuos's own stdin) look.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked every running lane to stop (the CLI's SIGINT and SIGTERM
/// handlers set it), or 0.
static STOP: AtomicI32 = AtomicI32::new(0);

/// Ask every backend to stop at the next opportunity (within a second: sleeping lanes
/// and reads of gpuos's own stdin included), because of signal `sig`. Only stores to
/// an atomic: safe in a signal handler.
pub fn request_stop(sig: i32) {
    let _ = STOP.compare_exchange(0, sig.max(1), Ordering::SeqCst, Ordering::SeqCst);
}

/// True once a stop was requested.
pub fn stop_requested() -> bool {
    STOP.load(Ordering::Relaxed) != 0
}

/// The signal a stop was requested for ([`request_stop`]), if one was.
pub fn stop_signal() -> Option<i32> {
    Some(STOP.load(Ordering::Relaxed)).filter(|&s| s != 0)
}

/// Wait until `t`, in pieces, giving up early when a stop is requested. Returns whether
/// `t` was reached.
pub fn sleep_until_or_stop(t: std::time::Instant) -> bool {
    loop {
        if stop_requested() {
            return false;
        }
        let left = t.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(20)));
    }
}
