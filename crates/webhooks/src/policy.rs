//! When to retry a delivery.

use std::time::Duration;

/// Exponential backoff with jitter, for at least `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the first retry (before jitter).
    pub base_ms: u64,
    /// Longest delay between two attempts (before jitter).
    pub max_delay_ms: u64,
    /// An event is given up (kept as failed) once its first attempt is
    /// this old and the latest attempt failed.
    pub window_ms: u64,
    /// Longest one attempt may take (connect, send, answer).
    pub timeout_ms: u64,
    /// How often an endpoint with nothing to send looks for new events.
    pub poll_ms: u64,
    /// Which addresses endpoints may be registered for and delivered to
    /// (public ones only, by default: see `network`).
    pub reach: crate::network::Reach,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_ms: 1_000,
            max_delay_ms: 3_600_000,
            window_ms: 24 * 3_600_000 + 60_000,
            timeout_ms: 10_000,
            poll_ms: 500,
            reach: crate::network::Reach::Public,
        }
    }
}

impl RetryPolicy {
    /// The delay after failed attempt number `attempt` (1 = the first):
    /// `min(base × 2^(attempt−1), max)`, then "equal jitter" — half of it
    /// fixed, half uniformly random (`unit` in [0, 1)) — so endpoints that
    /// failed together do not retry together.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = attempt.saturating_sub(1).min(40);
        let full = self.base_ms.saturating_mul(1u64 << exp).min(self.max_delay_ms);
        let half = full / 2;
        let jitter = (half as f64 * unit.clamp(0.0, 1.0)) as u64;
        Duration::from_millis(half + jitter)
    }
}

/// A uniform random number in [0, 1), from the operating system.
pub fn unit_random() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_with_jitter_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1, 0.0), Duration::from_millis(500));
        assert_eq!(p.delay(1, 0.999_999), Duration::from_millis(999));
        assert_eq!(p.delay(4, 0.0), Duration::from_millis(4_000));
        assert_eq!(p.delay(40, 0.0), Duration::from_millis(1_800_000), "capped at an hour");
        assert_eq!(p.delay(u32::MAX, 1.0), Duration::from_millis(3_600_000));
        // Retrying until the window closes takes at least 24 hours of
        // attempts: the sum of the delays before giving up covers it.
        let mut total = Duration::ZERO;
        let mut n = 0;
        while total.as_millis() < u128::from(p.window_ms) {
            n += 1;
            total += p.delay(n, 0.0);
        }
        assert!(n > 20 && n < 60, "{n} attempts");
        let u = unit_random();
        assert!((0.0..1.0).contains(&u));
    }
}
