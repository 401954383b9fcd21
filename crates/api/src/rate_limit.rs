//! Per-key rate limiting: one token bucket per API key, checked right after
//! the key is authenticated (so a caller who does not hold a key cannot
//! spend another key's budget by naming its id).
//!
//! A bucket holds at most `burst` requests and refills at `per_s` requests
//! a second (`governor`'s GCRA, exact to the nanosecond, so frequent small
//! refills add up instead of rounding to nothing). An empty bucket answers
//! `429 rate_limited` with `Retry-After` (whole seconds, rounded up), before
//! the request reaches idempotency or any handler: a refused request writes
//! nothing.
//!
//! The buckets live in this process; several servers behind a balancer each
//! allow the full rate (put a shared limiter in front when that matters).
//! Their number is bounded by the keys that authenticated.

use std::num::NonZeroU32;

use governor::clock::{Clock, MonotonicClock, Reference};
use governor::state::keyed::DashMapStateStore;
use governor::Quota;

/// Per-key limits; `per_s == 0` turns limiting off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained requests per second per key.
    pub per_s: u32,
    /// Requests a key may send at once after being idle.
    pub burst: u32,
}

impl RateLimit {
    pub const OFF: RateLimit = RateLimit { per_s: 0, burst: 0 };

    pub fn is_off(&self) -> bool {
        self.per_s == 0
    }
}

type Keyed<C> = governor::RateLimiter<
    String,
    DashMapStateStore<String>,
    C,
    governor::middleware::NoOpMiddleware<<C as Clock>::Instant>,
>;

/// The buckets: `governor`'s GCRA (exact to the nanosecond, so fractions of
/// a request are never lost), one cell per API key id.
pub struct RateLimiter<C: Clock = MonotonicClock> {
    keyed: Option<Keyed<C>>,
    clock: C,
}

impl std::fmt::Debug for RateLimiter<MonotonicClock> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("on", &self.keyed.is_some()).finish()
    }
}

impl RateLimiter<MonotonicClock> {
    pub fn new(limit: RateLimit) -> Self {
        Self::with_clock(limit, MonotonicClock)
    }
}

impl<C: Clock + Clone> RateLimiter<C> {
    pub fn with_clock(limit: RateLimit, clock: C) -> Self {
        let keyed = NonZeroU32::new(limit.per_s).map(|per_s| {
            let burst = NonZeroU32::new(limit.burst).unwrap_or(NonZeroU32::MIN);
            Keyed::dashmap_with_clock(Quota::per_second(per_s).allow_burst(burst), clock.clone())
        });
        RateLimiter { keyed, clock }
    }

    /// Takes one request from `key_id`'s bucket: `Ok`, or
    /// `Err(retry_after_ms)` when the bucket is empty.
    pub fn take(&self, key_id: &str) -> Result<(), u64> {
        let Some(keyed) = &self.keyed else { return Ok(()) };
        keyed.check_key(&key_id.to_owned()).map_err(|not_until| {
            let wait = not_until.earliest_possible().duration_since(self.clock.now());
            u64::try_from(std::time::Duration::from(wait).as_millis()).unwrap_or(u64::MAX).max(1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;
    use std::time::Duration;

    fn limiter(per_s: u32, burst: u32) -> (RateLimiter<FakeRelativeClock>, FakeRelativeClock) {
        let clock = FakeRelativeClock::default();
        (RateLimiter::with_clock(RateLimit { per_s, burst }, clock.clone()), clock)
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let (limiter, clock) = limiter(10, 3);
        for _ in 0..3 {
            assert_eq!(limiter.take("k"), Ok(()));
        }
        // Empty: one request refills in 100 ms.
        assert_eq!(limiter.take("k"), Err(100));
        clock.advance(Duration::from_millis(40));
        assert_eq!(limiter.take("k"), Err(60));
        clock.advance(Duration::from_millis(60));
        assert_eq!(limiter.take("k"), Ok(()));
        assert!(limiter.take("k").is_err());
        // Another key has its own bucket.
        assert_eq!(limiter.take("other"), Ok(()));
        // Idle for long: back to the burst, never more.
        clock.advance(Duration::from_secs(3_600));
        for _ in 0..3 {
            assert_eq!(limiter.take("k"), Ok(()));
        }
        assert!(limiter.take("k").is_err());
    }

    #[test]
    fn fractions_of_a_request_are_not_lost() {
        // 3 a second, each 111 ms step refills 0.333 of a request: over 30
        // steps (3.33 s) that is 9.99, so 9 requests, not 0 (as whole-request
        // refills per step would give).
        let (limiter, clock) = limiter(3, 10);
        for _ in 0..10 {
            assert_eq!(limiter.take("k"), Ok(()));
        }
        let mut granted = 0;
        for _ in 1..=30u64 {
            clock.advance(Duration::from_millis(111));
            if limiter.take("k").is_ok() {
                granted += 1;
            }
        }
        assert_eq!(granted, 9, "3.33 s at 3/s once the burst is spent");
    }

    #[test]
    fn off_never_refuses() {
        let (limiter, _) = limiter(0, 0);
        assert!((0..10_000).all(|_| limiter.take("k").is_ok()));
    }
}
